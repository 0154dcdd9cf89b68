//! The same handlers wired to the AWS adapters, against DynamoDB Local and moto's SQS on loopback (started
//! by `scripts/emulators.sh`, endpoints in SMSDESK_DYNAMODB_ENDPOINT / SMSDESK_SQS_ENDPOINT): the HTTP routes
//! served on port 0, and a test poller per queue that plays Lambda's event source mapping: it receives from
//! SQS, hands the consumer a real `SqsEvent` (the JSON Lambda sends, deserialized into aws_lambda_events'
//! type), and deletes what the partial batch response does not name.

use secrecy::SecretString;
use smsdesk_app::services::{crm::CrmConsumer, outbound::OutboundConsumer, routing::RouterConsumer, timers};
use smsdesk_app::{App, AuthMode, Config};
use smsdesk_aws::aws_sdk_dynamodb::config::{Credentials, Region};
use smsdesk_aws::aws_sdk_sqs::types::MessageSystemAttributeName;
use smsdesk_aws::{AwsAdapters, AwsConfig, create_queues, create_tables, dynamodb_client, sqs_client};
use smsdesk_ports::{Consumer, MessageQueue, QueueKind, SystemClock, UuidIds};
use smsdesk_providers::Providers;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The emulator endpoints, or a panic that says how to get them. `None` only when the AWS tests are skipped
/// knowingly (SMSDESK_SKIP_AWS_TESTS=1).
pub fn endpoints() -> Option<(String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("SMSDESK_DYNAMODB_ENDPOINT"), var("SMSDESK_SQS_ENDPOINT")) {
        (Some(d), Some(s)) => {
            assert!(
                d.starts_with("http://127.0.0.1:") && s.starts_with("http://127.0.0.1:"),
                "emulators must be on loopback"
            );
            Some((d, s))
        }
        _ if var("SMSDESK_SKIP_AWS_TESTS").as_deref() == Some("1") => None,
        _ => panic!(
            "SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT are not set: run the tests through scripts/test, \
             which starts DynamoDB Local and moto on loopback, or set SMSDESK_SKIP_AWS_TESTS=1 to skip them knowingly"
        ),
    }
}

pub struct AwsShape {
    pub app: Arc<App>,
    pub addr: std::net::SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Drop for AwsShape {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl AwsShape {
    pub async fn start(admin_token: &str, dynamodb: String, sqs: String) -> Self {
        // Built as the functions build it (no aws-config).
        let credentials = Credentials::new("test", "test", None, None, "smsdesk-e2e");
        let sdk = smsdesk_aws::sdk_config(Region::new("us-east-1"), credentials);
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("smsdesk-e2e-{tag}");
        let mut cfg = AwsConfig::from_lookup(|name| match name {
            "SMSDESK_TABLE" => Some(table.clone()),
            "SMSDESK_DYNAMODB_ENDPOINT" => Some(dynamodb.clone()),
            "SMSDESK_SQS_ENDPOINT" => Some(sqs.clone()),
            "SMSDESK_SECRET_PREFIX" => Some(format!("smsdesk-e2e/{tag}/")),
            _ => None,
        })
        .expect("aws config");
        create_tables(&dynamodb_client(&sdk, &cfg), &cfg).await.expect("table on DynamoDB Local");
        let sqs_client = sqs_client(&sdk, &cfg);
        cfg.queues =
            create_queues(&sqs_client, &format!("e2e-{}", &tag[..12])).await.expect("queues on moto");
        let adapters = AwsAdapters::new(&sdk, &cfg);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config::new(
            format!("http://{addr}"),
            AuthMode::Tokens { admin_token: SecretString::from(admin_token.to_string()) },
        );
        config.retry.base_delay = Duration::from_millis(200);
        config.allow_loopback_http = true; // the fake TeleSign listens on http://127.0.0.1
        let store = Arc::new(adapters.store);
        let clock = Arc::new(SystemClock);
        let http = smsdesk_providers::http::client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let providers = Providers::new(http, store.clone(), clock.clone());
        let app = App::new(
            store,
            Arc::new(adapters.queue),
            Arc::new(adapters.secrets),
            providers,
            clock,
            Arc::new(UuidIds),
            config,
        );

        let (shutdown, rx) = watch::channel(false);
        let router = smsdesk_app::http::router(app.clone());
        let mut stop = rx.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });
        let consumers: [(QueueKind, Arc<dyn Consumer>); 3] = [
            (QueueKind::Inbound, Arc::new(RouterConsumer::new(app.clone()))),
            (QueueKind::Outbound, Arc::new(OutboundConsumer::new(app.clone()))),
            (QueueKind::Crm, Arc::new(CrmConsumer::new(app.clone()))),
        ];
        for (kind, consumer) in consumers {
            let url = cfg.queues.url(kind).expect("queue url").to_string();
            tokio::spawn(event_source_mapping(
                sqs_client.clone(),
                url,
                kind,
                consumer,
                app.queue.clone(),
                rx.clone(),
            ));
        }
        let timers_app = app.clone();
        let mut stop = rx;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let _ = timers::sweep(&timers_app).await;
            }
        });
        Self { app, addr, shutdown }
    }
}

/// Lambda's SQS event source mapping, in miniature: receive, invoke with the event Lambda would send,
/// delete every message the partial batch response does not report.
async fn event_source_mapping(
    sqs: smsdesk_aws::aws_sdk_sqs::Client,
    url: String,
    kind: QueueKind,
    consumer: Arc<dyn Consumer>,
    queue: Arc<dyn MessageQueue>,
    mut stop: watch::Receiver<bool>,
) {
    let arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", url.rsplit('/').next().unwrap_or("queue"));
    loop {
        if *stop.borrow() {
            return;
        }
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(5)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        if messages.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(smsdesk::aws_local::sqs_event(&messages, &arn))
                .expect("a real SQS event shape");
        let response = smsdesk_lambda::process_batch(consumer.as_ref(), queue.as_ref(), kind, event).await;
        let failed: Vec<String> =
            response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        for m in &messages {
            let id = m.message_id.clone().unwrap_or_default();
            if failed.contains(&id) {
                continue;
            }
            if let Some(receipt) = &m.receipt_handle {
                let _ = sqs.delete_message().queue_url(&url).receipt_handle(receipt).send().await;
            }
        }
    }
}
