//! The eight functions of infra/template.yaml, each as a value: its name (package = binary = the template's
//! `BuildProperties.Binary`) and what it serves, built from its app. A function's `main.rs` is
//! [`run_function`]`(env!("CARGO_PKG_NAME"))`, and the AWS-shape tests (tests/src/aws_shape.rs) build every
//! function through [`Function::handler`] too, so what they exercise is what each function deploys: its own
//! router, consumer or schedule, on an app that has only the adapters its Cargo.toml features link.

use crate::failures::{CountFailures, Failures, HttpService};
use crate::{SqsBatchResponse, SqsEvent};
use smsdesk_app::App;
use smsdesk_app::services::crm::CrmConsumer;
use smsdesk_app::services::offer_timers::OfferTimerConsumer;
use smsdesk_app::services::outbound::OutboundConsumer;
use smsdesk_app::services::routing::RouterConsumer;
use smsdesk_app::services::timers::{self, SweepReport};
use smsdesk_ports::{Consumer, MessageQueue, Outcome, PortResult, QueueKind, Received};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    InboundWebhook,
    Router,
    OutboundSend,
    ValidateCredentials,
    CrmUpsert,
    AgentApi,
    Timers,
    Live,
}

impl Function {
    pub const ALL: [Function; 8] = [
        Function::InboundWebhook,
        Function::Router,
        Function::OutboundSend,
        Function::ValidateCredentials,
        Function::CrmUpsert,
        Function::AgentApi,
        Function::Timers,
        Function::Live,
    ];

    /// The package, binary and directory name (`functions/<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Function::InboundWebhook => "inbound-webhook",
            Function::Router => "router",
            Function::OutboundSend => "outbound-send",
            Function::ValidateCredentials => "validate-credentials",
            Function::CrmUpsert => "crm-upsert",
            Function::AgentApi => "agent-api",
            Function::Timers => "timers",
            Function::Live => "live",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What the function serves, on `app`; its failures counted into `app`'s metrics
    /// ([`crate::failures`]).
    pub fn handler(self, app: Arc<App>) -> Handler {
        use smsdesk_app::http;
        let failures = Failures::of_app(app.clone(), self.name());
        let queue = |consumer: Arc<dyn Consumer>, kind| {
            let failures = failures.clone();
            Handler::Queue(QueueHandler { consumer, queue: app.queue.clone(), kind, failures })
        };
        let served = |router: axum::Router| Handler::Http(CountFailures::new(router, failures.clone()));
        match self {
            Function::InboundWebhook => served(http::webhook_router(app.clone())),
            Function::ValidateCredentials => served(http::validate_router(app.clone())),
            Function::AgentApi => served(http::api_router(app.clone())),
            Function::Router => queue(Arc::new(RouterConsumer::new(app.clone())), QueueKind::Inbound),
            Function::OutboundSend => {
                queue(Arc::new(OutboundConsumer::new(app.clone())), QueueKind::Outbound)
            }
            Function::CrmUpsert => queue(Arc::new(CrmConsumer::new(app.clone())), QueueKind::Crm),
            Function::Timers => {
                let timers = QueueHandler {
                    consumer: Arc::new(OfferTimerConsumer::new(app.clone())),
                    queue: app.queue.clone(),
                    kind: QueueKind::Timers,
                    failures: failures.clone(),
                };
                Handler::Schedule(ScheduleHandler { app, timers })
            }
            Function::Live => Handler::Live(app, failures),
        }
    }
}

/// A function's handler: an HTTP API integration, an SQS event source mapping's target, or a schedule's.
pub enum Handler {
    /// Served behind API Gateway (payload 2.0) by [`crate::run_http`]: the function's router, its failed
    /// answers counted.
    Http(HttpService),
    Queue(QueueHandler),
    Schedule(ScheduleHandler),
    /// The live updates (WebSocket routes and the table's stream) on this app, its failures counted; the
    /// DynamoDB store and the WebSocket API's endpoint come from the environment when it runs
    /// ([`crate::live::LiveHandler`]).
    Live(Arc<App>, Failures),
}

impl Handler {
    /// Serves Lambda's invocations until the environment shuts down.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        match self {
            Handler::Http(router) => crate::run_http(router).await,
            Handler::Queue(handler) => handler.run().await,
            Handler::Schedule(handler) => handler.run().await,
            Handler::Live(app, failures) => run_live(app, failures).await,
        }
    }
}

/// The `live` function's handler on the adapters of the environment (feature `live`).
#[cfg(feature = "live")]
async fn run_live(app: Arc<App>, failures: Failures) -> Result<(), lambda_runtime::Error> {
    use crate::live::LiveHandler;
    let sdk = smsdesk_aws::sdk_config_from_env()?;
    let cfg = smsdesk_aws::AwsConfig::from_env()?;
    let store = smsdesk_aws::AwsAdapters::new(&sdk, &cfg).store;
    let endpoint = std::env::var(smsdesk_aws::WEBSOCKET_ENDPOINT_VAR)
        .map_err(|_| format!("{} is not set", smsdesk_aws::WEBSOCKET_ENDPOINT_VAR))?;
    let poster = smsdesk_aws::WebSocketPoster::new(&sdk, &endpoint);
    let tokens = LiveHandler::token_check(&app, crate::clients::http_client_builder().build()?);
    LiveHandler::new(app, store, poster, tokens).counting(failures).run().await
}

#[cfg(not(feature = "live"))]
async fn run_live(_app: Arc<App>, _failures: Failures) -> Result<(), lambda_runtime::Error> {
    Err("this build has no live updates: build the live function with the smsdesk-lambda feature `live`"
        .into())
}

/// Sees each message's outcome (see [`QueueHandler::observed`]).
pub type Observer = Arc<dyn Fn(&Received, &Outcome) + Send + Sync>;

/// A queue consumer fed SQS batches.
#[derive(Clone)]
pub struct QueueHandler {
    consumer: Arc<dyn Consumer>,
    queue: Arc<dyn MessageQueue>,
    kind: QueueKind,
    failures: Failures,
}

impl QueueHandler {
    /// The queue this consumer is written for.
    pub fn kind(&self) -> QueueKind {
        self.kind
    }

    /// The same handler, calling `observe` with each message's outcome as the consumer gives it (the
    /// AWS-shape tests fail on a consumer's errors with this, instead of waiting for a time-out).
    pub fn observed(mut self, observe: Observer) -> Self {
        self.consumer = Arc::new(Observed { inner: self.consumer, observe });
        self
    }

    /// One invocation: a batch in, the partial batch response out (its failed messages counted).
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let (consumer, queue) = (self.consumer.as_ref(), self.queue.as_ref());
        crate::process_batch_until(consumer, queue, self.kind, event, None, &self.failures).await
    }

    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        crate::run_sqs(self.consumer, self.queue, self.kind, self.failures).await
    }
}

struct Observed {
    inner: Arc<dyn Consumer>,
    observe: Observer,
}

#[async_trait::async_trait]
impl Consumer for Observed {
    async fn consume(&self, message: &Received) -> Outcome {
        let outcome = self.inner.consume(message).await;
        (self.observe)(message, &outcome);
        outcome
    }
}

/// The timers function: the sweep, invoked by the schedule, and the timers queue's consumer (offer
/// timeouts, delivered by SQS when they run out), invoked by its event source mapping. One function, told
/// apart by the event: an SQS batch has `Records`.
#[derive(Clone)]
pub struct ScheduleHandler {
    app: Arc<App>,
    timers: QueueHandler,
}

impl ScheduleHandler {
    /// The timers queue's consumer, which the same function runs for SQS events.
    pub fn queue(&self) -> QueueHandler {
        self.timers.clone()
    }

    /// One invocation of any kind: an SQS batch of timers, or the schedule's tick.
    pub async fn invoke(
        &self,
        event: serde_json::Value,
        deadline_ms: u64,
    ) -> Result<serde_json::Value, lambda_runtime::Error> {
        if event.get("Records").is_some() {
            let batch: SqsEvent = serde_json::from_value(event)?;
            let deadline = crate::last_start(deadline_ms, crate::app::PROVIDER_TIMEOUT);
            let t = &self.timers;
            let response = crate::process_batch_until(
                t.consumer.as_ref(),
                t.queue.as_ref(),
                t.kind,
                batch,
                Some(deadline),
                &t.failures,
            )
            .await;
            return Ok(serde_json::to_value(response)?);
        }
        Ok(serde_json::json!(self.handle().await?))
    }

    /// One invocation: one sweep.
    pub async fn handle(&self) -> PortResult<SweepReport> {
        let report = timers::sweep(&self.app).await?;
        tracing::info!(assigned = report.assigned, auto_closed = report.auto_closed, "timers sweep");
        Ok(report)
    }

    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        use lambda_runtime::{LambdaEvent, service_fn};
        lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let handler = self.clone();
            async move { handler.invoke(event.payload, event.context.deadline).await }
        }))
        .await
    }
}

/// A function's whole `main`: tracing, its app on the adapters its build links, and its handler, chosen
/// by the package name (`env!("CARGO_PKG_NAME")`).
pub async fn run_function(name: &str) -> Result<(), lambda_runtime::Error> {
    crate::init_tracing();
    let function = Function::from_name(name).ok_or_else(|| format!("no smsdesk function is named {name}"))?;
    let app = crate::aws_app().await?;
    function.handler(app).run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_directory_name() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(Function::from_name("hello"), None);
    }
}
