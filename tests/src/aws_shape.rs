//! The AWS shape as `infra/template.yaml` deploys it, against DynamoDB Local and moto on loopback (started by
//! `scripts/emulators.sh`, endpoints in SMSDESK_DYNAMODB_ENDPOINT / SMSDESK_SQS_ENDPOINT):
//! - each function of the template is built as its `main.rs` builds it: [`smsdesk_lambda::Function`]'s
//!   handler on an app assembled by [`smsdesk_lambda::assemble`] with the adapters that the function's
//!   `functions/<name>/Cargo.toml` turns on (its `smsdesk-lambda` features, read from the file: one test
//!   binary cannot build the crate once per feature set, so the harness hands each function exactly the
//!   adapters its features name, and an [`Unwired`](smsdesk_lambda::Unwired) refusal for the others, as its
//!   own build would);
//! - a loopback front server plays API Gateway: it picks the route by the template's route keys, answers
//!   401 for a JWT route without a token it knows, builds the HTTP API payload 2.0 event (the authorizer's
//!   claims in `requestContext.authorizer.jwt.claims`, stringified as API Gateway passes them) and invokes
//!   the function that owns the route through lambda_http's conversion ([`smsdesk_lambda::invoke_json`]);
//! - with [`Hooks::webhook_function_url`] (the template's `WebhookIngress=FunctionUrl`), a second front
//!   plays the webhook function's Lambda function URL: every request goes to the function the template's
//!   `AWS::Lambda::Url` names, as the function URL's event (route `$default`, the URL's host), and every
//!   function gets the `SMSDESK_WEBHOOK_URL` the template gives it under that condition;
//! - with [`Hooks::api_function_url`] (`ApiIngress=FunctionUrl`), a third front plays agent-api's function
//!   URL, with no authorizer: the function checks bearer JWTs itself against an identity provider on
//!   loopback ([`ApiUrlFront`] mints its tokens), told the audiences as the template tells it;
//! - a poller per event source mapping of the template plays Lambda's SQS trigger: it receives from the
//!   queue, hands the function the `SqsEvent` Lambda would send, and deletes what the partial batch response
//!   does not name; the timers function is invoked every half second, as its schedule would.
//!
//! Identities: the harness is the identity provider. The admin token's claims carry the `smsdesk-admin`
//! group; `POST /v1/agents` without a `subject` gets one (as an admin would set the user's `sub`), and the
//! agent's token then stands for a JWT with that `sub`.
//!
//! Nothing is swallowed: an error of the pollers, of the timers, of a function invocation, or a consumer's
//! `Failed` outcome is a fault; [`check_faults`] (called by `eventually` and by every API call) fails the
//! test with it at once, and so does dropping the shape.

use crate::template::{Route, Template, WebhookUrl, template_path};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use smsdesk_app::{App, AuthMode, Config};
use smsdesk_aws::aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition};
use smsdesk_aws::aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use smsdesk_aws::aws_sdk_dynamodb::config::{Credentials, Region};
use smsdesk_aws::aws_sdk_sqs::error::DisplayErrorContext;
use smsdesk_aws::aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use smsdesk_aws::aws_types::SdkConfig;
use smsdesk_aws::{AwsAdapters, AwsConfig, DynamoStore, SqsQueue, aws_sdk_dynamodb, aws_sdk_sqs};
use smsdesk_aws::{create_queues, create_tables, dynamodb_client, sqs_client, usage};
use smsdesk_lambda::{Function, Handler, QueueHandler, ScheduleHandler, Wiring};
use smsdesk_ports::{MessageQueue, Outcome, SystemClock};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// The emulator endpoints, or a panic that says how to get them. (When they are missing outside CI, the
/// e2e_aws binary is built without its tests and reports them ignored: see tests/build.rs.)
pub fn endpoints() -> (String, String) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("SMSDESK_DYNAMODB_ENDPOINT"), var("SMSDESK_SQS_ENDPOINT")) {
        (Some(d), Some(s)) => {
            assert!(
                d.starts_with("http://127.0.0.1:") && s.starts_with("http://127.0.0.1:"),
                "emulators must be on loopback"
            );
            (d, s)
        }
        _ => panic!(
            "SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT are not set: run the tests through scripts/test, \
             or start the emulators with `eval \"$(scripts/emulators.sh start)\"` in the same shell"
        ),
    }
}

// ------------------------------------------------------------------------------------------------ faults

/// What went wrong inside the shape, outside any request the test made.
#[derive(Clone, Default)]
pub struct Faults {
    list: Arc<Mutex<Vec<String>>>,
    tolerate_consumer_failures: Arc<AtomicBool>,
}

impl Faults {
    pub(crate) fn report(&self, fault: String) {
        eprintln!("AWS shape fault: {fault}");
        self.list.lock().expect("faults").push(fault);
    }

    pub fn first(&self) -> Option<String> {
        self.list.lock().expect("faults").first().cloned()
    }
}

thread_local! {
    /// The shapes started on this thread (a test's thread: `eventually` and the API calls run there).
    static WATCHED: RefCell<Vec<Weak<Mutex<Vec<String>>>>> = const { RefCell::new(Vec::new()) };
}

/// Panics with the first fault of a shape started on this thread.
pub fn check_faults() {
    let fault = WATCHED.with(|watched| {
        let mut watched = watched.borrow_mut();
        watched.retain(|w| w.strong_count() > 0);
        watched.iter().filter_map(Weak::upgrade).find_map(|list| list.lock().ok()?.first().cloned())
    });
    if let Some(fault) = fault {
        panic!("the AWS shape failed: {fault}");
    }
}

// ------------------------------------------------------------------------------------------------ identities

/// The identity provider: which bearer tokens API Gateway's JWT authorizer accepts, and their claims.
pub struct Identities {
    admin_token: String,
    /// Bearer token -> the claims of its JWT beyond the standard ones (`sub` at least).
    tokens: Mutex<HashMap<String, Value>>,
}

/// The group that makes an admin (shared/lambda/src/http.rs).
pub const ADMIN_GROUP: &str = "smsdesk-admin";

impl Identities {
    /// A bearer token that the authorizer verifies as a JWT whose `sub` is `subject`.
    pub fn token_for_subject(&self, subject: &str) -> String {
        self.token_with_claims(subject, json!({}))
    }

    /// A bearer token whose verified JWT has `sub` and these further claims (strings, as API Gateway
    /// passes them), e.g. a custom attribute the user could have set on themselves.
    pub fn token_with_claims(&self, subject: &str, claims: Value) -> String {
        let token = format!("jwt-{}", uuid::Uuid::new_v4().simple());
        let mut claims = claims;
        claims["sub"] = json!(subject);
        self.tokens.lock().expect("identities").insert(token.clone(), claims);
        token
    }

    fn register(&self, token: &str, subject: &str) {
        self.tokens.lock().expect("identities").insert(token.to_string(), json!({"sub": subject}));
    }

    /// The claims as API Gateway passes them to the function (every value a string, lists as `[a b]`).
    fn claims(&self, token: &str) -> Option<Value> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let common = |sub: &str| {
            json!({
                "sub": sub, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_e2e",
                "client_id": "e2e-client", "token_use": "access", "scope": "openid",
                "auth_time": now.to_string(), "iat": now.to_string(), "exp": (now + 3600).to_string(),
                "jti": uuid::Uuid::new_v4().to_string(), "username": sub,
            })
        };
        if token == self.admin_token {
            let mut claims = common("e2e-admin-user");
            claims["cognito:groups"] = json!(format!("[{ADMIN_GROUP}]"));
            return Some(claims);
        }
        let extra = self.tokens.lock().expect("identities").get(token).cloned()?;
        let mut claims = common(extra["sub"].as_str()?);
        for (name, value) in extra.as_object()? {
            claims[name] = value.clone();
        }
        Some(claims)
    }
}

// ------------------------------------------------------------------------------------------------ the shape

pub struct AwsShape {
    /// The tests' own view of the shape's adapters (every port; the functions' hooks), not served.
    pub app: Arc<App>,
    pub addr: SocketAddr,
    /// What the functions printed as CloudWatch embedded-metric-format lines.
    pub emf_lines: EmfLines,
    pub identities: Arc<Identities>,
    pub faults: Faults,
    /// The DynamoDB table of this shape.
    pub table: String,
    /// The media bucket of this shape (on moto), and an S3 client for it: what the bucket's lifecycle
    /// rule does (expiring media) is done by the tests through it.
    pub media_bucket: String,
    pub s3: smsdesk_aws::aws_sdk_s3::Client,
    /// The `live` function (the console's live updates: WebSocket API and the table's stream).
    pub live: Option<crate::aws_live::LiveShape>,
    /// The webhook function's URL, with [`Hooks::webhook_function_url`].
    pub function_url: Option<FunctionUrlFront>,
    /// The API function's URL, with [`Hooks::api_function_url`].
    pub api_url: Option<ApiUrlFront>,
    shutdown: watch::Sender<bool>,
}

/// The loopback stand-in for a Lambda function URL.
#[derive(Clone, Debug)]
pub struct FunctionUrlFront {
    /// Where it listens (`http://127.0.0.1:<port>`): a provider's request goes here.
    pub listen: String,
    /// The URL it stands for (`https://<id>.lambda-url.us-east-1.on.aws`, no trailing slash): what
    /// providers are told and sign. Lambda terminates TLS and passes this host on.
    pub url: String,
}

impl FunctionUrlFront {
    /// A loopback listener standing in for the function URL at `host`.
    async fn bind(host: &str) -> (tokio::net::TcpListener, Self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let listen = format!("http://{}", listener.local_addr().expect("addr"));
        (listener, Self { listen, url: format!("https://{host}") })
    }
}

/// The host of the function URL the harness stands in for.
const FUNCTION_URL_HOST: &str = "e2e0123456789abcdef0123456789ab.lambda-url.us-east-1.on.aws";
/// The host of the API function's URL the harness stands in for.
const API_URL_HOST: &str = "e2eapi56789abcdef0123456789ab.lambda-url.us-east-1.on.aws";
/// The stack's `JwtAudience` in the tests (comma-separated, as the template joins it).
const JWT_AUDIENCES: &str = "smsdesk-e2e-console,smsdesk-e2e-scripts";

/// The loopback stand-in for the API function's URL, and the identity provider whose JWTs the function
/// checks there (discovery document and JWKS on loopback, signing key made by the test process).
#[derive(Clone, Debug)]
pub struct ApiUrlFront {
    pub front: FunctionUrlFront,
    /// The issuer's URL (`http://127.0.0.1:<port>`): the stack's `JwtIssuer`.
    pub issuer: String,
}

impl ApiUrlFront {
    /// The claims of a token the issuer gives `subject` for the console's audience: an admin (group
    /// `smsdesk-admin`) or not, valid for ten minutes.
    pub fn claims(&self, subject: &str, admin: bool) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let groups: Vec<&str> = if admin { vec![smsdesk_app::claims::ADMIN_ROLE] } else { vec![] };
        let audience = JWT_AUDIENCES.split(',').next().unwrap_or_default();
        json!({"sub": subject, "iss": self.issuer, "aud": audience, "iat": now, "exp": now + 600,
               "cognito:groups": groups})
    }

    /// A signed JWT of [`Self::claims`].
    pub fn token(&self, subject: &str, admin: bool) -> String {
        self.sign(&self.claims(subject, admin))
    }

    /// `claims` signed by the issuer's key.
    pub fn sign(&self, claims: &Value) -> String {
        smsdesk_providers::test_support::jwt_issuer_key().sign(claims)
    }
}

/// Standard output of the functions' metrics, kept for the tests (CloudWatch Logs in AWS).
#[derive(Clone, Default)]
pub struct EmfLines(Arc<Mutex<Vec<u8>>>);

impl EmfLines {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for EmfLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // CloudWatch Logs bills these bytes (issue 12.4: measured, not assumed).
        usage::logged(buf.len());
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the tests replace in the AWS shape, as in the embedded one: the app's clock, and a wrapper around the
/// real SQS adapter (the fault injector).
pub struct Hooks {
    pub clock: Arc<dyn smsdesk_ports::Clock>,
    /// Whether the timers' schedule runs (every half second here): off, only what the queues deliver acts
    /// (an offer timer, not the sweep, expires an offer).
    pub sweep: bool,
    #[allow(clippy::type_complexity)]
    pub wrap_queue: Box<dyn FnOnce(Arc<dyn MessageQueue>) -> Arc<dyn MessageQueue> + Send>,
    /// Deploy as with the template's `WebhookIngress=FunctionUrl`: the webhook function also behind its own
    /// function URL ([`AwsShape::function_url`]), every function told where the webhooks are.
    pub webhook_function_url: bool,
    /// Deploy as with the template's `ApiIngress=FunctionUrl`: the API function also behind its own function
    /// URL ([`AwsShape::api_url`]), checking the issuer's JWTs there itself.
    pub api_function_url: bool,
}

/// The visibility timeout the test poller receives with.
const VISIBILITY_SECS: i32 = 5;
/// How often the timers sweep in the AWS shape. A sweep lists every open conversation, the queued replies, the
/// teams, queues and channels (about 35 requests, most of them Queries of the sharded keys): at every half
/// second, four tests' sweeps were two thirds of DynamoDB Local's requests, on its one SQLite thread.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// The test poller's long poll (see [`event_source_mapping`]).
const LONG_POLL_SECS: i32 = 1;
/// The send lease of the AWS shape under test (short, so a held claim expires within a test).
const SEND_LEASE: Duration = Duration::from_secs(3);

impl Drop for AwsShape {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if !std::thread::panicking()
            && let Some(fault) = self.faults.first()
        {
            panic!("the AWS shape failed: {fault}");
        }
        if !std::thread::panicking()
            && let Some(denied) = denied_by_the_template()
        {
            panic!("the AWS shape failed: {denied}");
        }
    }
}

/// The DynamoDB calls the functions made (in any test of this process so far) that their roles in the
/// template do not allow, action and item kind (`dynamodb:LeadingKeys`) alike: DynamoDB Local enforces no
/// IAM, AWS would refuse each with AccessDeniedException. None when every call was allowed.
pub fn denied_by_the_template() -> Option<String> {
    let template = Template::load(&template_path()).expect("infra/template.yaml reads");
    let mut denied = Vec::new();
    for (function, uses) in usage::key_uses() {
        if !template.functions.contains(&function) {
            continue; // the tests' own calls, outside any function
        }
        for call in template.denied(&function, &uses) {
            denied.push(format!("{function}: {call}"));
        }
    }
    (!denied.is_empty()).then(|| {
        format!(
            "DynamoDB calls the template's IAM does not allow (AccessDenied in AWS; add the key prefix to the \
             function's dynamodb:LeadingKeys and to infra/TABLES.md, \"Key prefixes per function\"): {}",
            denied.join("; ")
        )
    })
}

/// The adapters of one function (`who`: a function's name, or the tests' own), as `AwsAdapters::new` builds
/// them, but with SDK retry quotas of their own. In AWS every Lambda execution environment has its own
/// quota (the token bucket the standard retry mode draws each retry from). In this one process the SDK
/// would key one quota by service and region for every client of every shape the tests start at once, so a
/// burst of DynamoDB Local's lock errors in one test would leave the functions of all of them failing at
/// their first error, where AWS retries. So: a DynamoDB quota per function, and an SQS quota per shape
/// (for its queue adapter, which every function shares, see `shared_queue`, and for its triggers).
fn adapters_of(sdk: &SdkConfig, cfg: &AwsConfig, tag: &str, who: &str) -> AwsAdapters {
    let mut adapters = AwsAdapters::new(sdk, cfg);
    let dynamodb = dynamodb_client(sdk, cfg).config().to_builder();
    let dynamodb = dynamodb.retry_partition(RetryPartition::new(format!("dynamodb-e2e-{tag}-{who}")));
    adapters.store =
        DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), cfg.table.clone());
    adapters.queue = SqsQueue::new(shape_sqs_client(sdk, cfg, tag), cfg.queues.clone());
    adapters
}

/// The SDK configuration the tests make a shape's table, queues and bucket with: the functions' own, with
/// a minute per call and ten attempts.
fn setup_sdk(sdk: &SdkConfig) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    let retries = RetryConfig::standard().with_max_attempts(10).with_max_backoff(Duration::from_secs(2));
    sdk.to_builder().timeout_config(timeouts).retry_config(retries).build()
}

/// The SQS client of the shape `tag`, with its own retry quota (see [`adapters_of`]).
fn shape_sqs_client(sdk: &SdkConfig, cfg: &AwsConfig, tag: &str) -> aws_sdk_sqs::Client {
    let sqs = sqs_client(sdk, cfg).config().to_builder();
    aws_sdk_sqs::Client::from_conf(sqs.retry_partition(RetryPartition::new(format!("sqs-e2e-{tag}"))).build())
}

/// The `smsdesk-lambda` adapters a function's Cargo.toml turns on.
pub fn function_wiring(function: &str) -> Wiring {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../functions/{function}/Cargo.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dependency = manifest
        .get("dependencies")
        .and_then(|d| d.get("smsdesk-lambda"))
        .unwrap_or_else(|| panic!("{} does not depend on smsdesk-lambda", path.display()));
    let default_features = dependency.get("default-features").and_then(toml::Value::as_bool).unwrap_or(true);
    let features: Vec<&str> = dependency
        .get("features")
        .and_then(toml::Value::as_array)
        .map(|list| list.iter().filter_map(toml::Value::as_str).collect())
        .unwrap_or_default();
    Wiring::from_features(features, default_features)
        .unwrap_or_else(|e| panic!("{}: smsdesk-lambda features: {e}", path.display()))
}

impl AwsShape {
    pub async fn start(admin_token: &str, dynamodb: String, sqs: String) -> Self {
        let hooks = Hooks {
            clock: Arc::new(SystemClock),
            sweep: true,
            wrap_queue: Box::new(|q| q),
            webhook_function_url: false,
            api_function_url: false,
        };
        Self::start_with(admin_token, dynamodb, sqs, hooks).await
    }

    /// The longest delay after which queued or deferred work could still act: the visibility timeout, the
    /// send lease, the last retry delay, the CRM consumer's wait for a pending link.
    pub fn max_delay(&self) -> Duration {
        let retry = self.app.config.retry;
        let last_retry =
            retry.base_delay.saturating_mul(1u32 << retry.max_attempts.saturating_sub(2).min(20));
        [
            Duration::from_secs(VISIBILITY_SECS as u64),
            self.app.config.send_lease,
            last_retry.min(retry.max_delay),
            smsdesk_app::services::crm::LINK_WAIT,
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
    }

    pub async fn start_with(admin_token: &str, dynamodb: String, sqs: String, hooks: Hooks) -> Self {
        let template = Template::load(&template_path()).expect("infra/template.yaml");
        let sweep = hooks.sweep;
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
            "SMSDESK_MEDIA_BUCKET" => Some(format!("smsdesk-e2e-media-{tag}")),
            _ => None,
        })
        .expect("aws config");
        // The resources CloudFormation makes in AWS, made with the emulators' own patience: DynamoDB Local
        // at the start of a run, with every test creating its table at once, takes longer than the 9 s the
        // functions allow a call.
        let setup = setup_sdk(&sdk);
        create_tables(&dynamodb_client(&setup, &cfg), &cfg).await.expect("table on DynamoDB Local");
        cfg.queues = create_queues(&sqs_client(&setup, &cfg), &format!("e2e-{}", &tag[..12]))
            .await
            .expect("queues on moto");
        let sqs_client = shape_sqs_client(&sdk, &cfg, &tag);
        let media_bucket = cfg.media_bucket.clone().expect("media bucket name");
        let s3 = smsdesk_aws::s3_client(&setup, cfg.s3_endpoint.as_deref());
        smsdesk_aws::create_media_bucket(&s3, &media_bucket).await.expect("media bucket on moto");

        // The API's URL is known before any function is built (SMSDESK_PUBLIC_URL in the template).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config::new(format!("http://{addr}"), AuthMode::GatewayClaims);
        config.retry.base_delay = Duration::from_millis(200);
        config.send_lease = SEND_LEASE;
        config.stranded = crate::STRANDED_IN_TESTS;
        config.allow_loopback_http = true; // the fake TeleSign listens on http://127.0.0.1

        let faults = Faults::default();
        WATCHED.with(|w| w.borrow_mut().push(Arc::downgrade(&faults.list)));
        let (shutdown, stop) = watch::channel(false);

        // The tests' hooks: one clock, and one fault injector around the SQS adapter, for every function
        // that links the queue (the adapter holds no state of its own, so sharing it changes nothing).
        let function_url = match (hooks.webhook_function_url, &template.function_url) {
            (false, _) => None,
            (true, None) => panic!("the template makes no function URL"),
            (true, Some(url)) => {
                let (listener, front) = FunctionUrlFront::bind(FUNCTION_URL_HOST).await;
                Some((listener, url.clone(), front))
            }
        };
        let api_url = match (hooks.api_function_url, &template.api_url) {
            (false, _) => None,
            (true, None) => panic!("the template makes no API function URL"),
            (true, Some(url)) => {
                let (listener, front) = FunctionUrlFront::bind(API_URL_HOST).await;
                let issuer = identity_provider(stop.clone(), faults.clone()).await;
                Some((listener, url.clone(), ApiUrlFront { front, issuer }))
            }
        };
        let wrap_once = Mutex::new((Some(hooks.wrap_queue), None::<Arc<dyn MessageQueue>>));
        let shared_queue = move |inner: Arc<dyn MessageQueue>| -> Arc<dyn MessageQueue> {
            let mut slot = wrap_once.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(queue) = &slot.1 {
                return queue.clone();
            }
            let wrap = slot.0.take().expect("the queue is wrapped once");
            let queue = wrap(inner);
            slot.1 = Some(queue.clone());
            queue
        };
        // What the tests read and write directly (store, queue, clock): every adapter, the same hooks.
        let tests_app = smsdesk_lambda::assemble_with(
            adapters_of(&sdk, &cfg, &tag, "tests"),
            Wiring { queue: true, secrets: true, media: true },
            smsdesk_lambda::provider_http().expect("provider http client"),
            config.clone(),
            hooks.clock.clone(),
            &shared_queue,
        )
        .expect("the tests' app");

        // Every function's embedded-metric-format lines, as CloudWatch Logs would collect them.
        let emf_lines = EmfLines::default();
        let emf = Arc::new(smsdesk_aws::EmfMetrics::new(
            "smsdesk",
            Box::new(emf_lines.clone()),
            Box::new(|| time::OffsetDateTime::now_utc().unix_timestamp() * 1000),
        ));

        // Every function of the template, each on its own app.
        let mut http = HashMap::new();
        let mut queues: HashMap<String, QueueHandler> = HashMap::new();
        let mut schedules: HashMap<String, ScheduleHandler> = HashMap::new();
        let mut live_app = None;
        for name in &template.functions {
            let function = Function::from_name(name).unwrap_or_else(|| {
                panic!("the template deploys {name}, which is no smsdesk_lambda::Function")
            });
            let mut config = config.clone();
            // The function's one HTTPS client, as `aws_app` builds it.
            let http_client = smsdesk_lambda::provider_http().expect("provider http client");
            if let Some((_, url, front)) = &function_url {
                // The template's SMSDESK_WEBHOOK_URL for this function, read as the function reads it.
                let told = match url.webhook_url.get(name) {
                    Some(WebhookUrl::Literal(text)) => text.clone(),
                    // CloudFormation's FunctionUrl attribute ends in a slash.
                    Some(WebhookUrl::TheUrl) => format!("{}/", front.url),
                    None => String::new(),
                };
                config.webhook_base = smsdesk_lambda::webhook_base(Some(&told))
                    .unwrap_or_else(|e| panic!("{name}: SMSDESK_WEBHOOK_URL {told:?}: {e}"));
            }
            if let Some((_, url, front)) = &api_url
                && &url.function == name
                && url.checks_stack_jwts
            {
                // The template's SMSDESK_JWT_AUDIENCE and SMSDESK_OIDC_ISSUER, read as the function reads them.
                config.jwt =
                    smsdesk_lambda::jwt_verifier(Some(&front.issuer), Some(JWT_AUDIENCES), &http_client)
                        .unwrap_or_else(|e| panic!("{name}: SMSDESK_JWT_AUDIENCE: {e}"));
            }
            let app = smsdesk_lambda::assemble_with(
                adapters_of(&sdk, &cfg, &tag, name),
                function_wiring(name),
                http_client,
                config,
                hooks.clock.clone(),
                &shared_queue,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            // As `aws_app` does, minus standard output: the lines go where the tests can read them.
            app.set_metrics(emf.clone());
            match function.handler(app) {
                Handler::Http(router) => {
                    http.insert(name.clone(), router);
                }
                Handler::Queue(handler) => {
                    queues.insert(name.clone(), handler);
                }
                Handler::Schedule(handler) => {
                    // The timers function also consumes the timers queue (its SQS trigger).
                    queues.insert(name.clone(), handler.queue());
                    schedules.insert(name.clone(), handler);
                }
                Handler::Live(app, failures) => live_app = Some((app, failures)),
            }
        }

        // Routes go to HTTP functions only.
        for route in &template.routes {
            assert!(
                http.contains_key(&route.function),
                "the template routes {} to {}, which serves no HTTP API",
                route.route_key,
                route.function
            );
        }
        // Each trigger feeds its consumer the queue it consumes; each consumer has its trigger.
        for trigger in &template.triggers {
            let handler = queues.get(&trigger.function).unwrap_or_else(|| {
                panic!(
                    "the template feeds the {} queue to {}, which is no queue consumer",
                    trigger.queue.name(),
                    trigger.function
                )
            });
            assert_eq!(
                handler.kind(),
                trigger.queue,
                "the template feeds the {} queue to {}, which consumes the {} queue",
                trigger.queue.name(),
                trigger.function,
                handler.kind().name()
            );
            let observed = {
                let (faults, function) = (faults.clone(), trigger.function.clone());
                handler.clone().observed(Arc::new(move |message, outcome| {
                    if let Outcome::Failed(reason) = outcome
                        && !faults.tolerate_consumer_failures.load(Ordering::SeqCst)
                    {
                        faults.report(format!("{function} failed message {}: {reason}", message.message_id));
                    }
                }))
            };
            let url = cfg.queues.url(trigger.queue).expect("queue url").to_string();
            tokio::spawn(event_source_mapping(
                sqs_client.clone(),
                url,
                trigger.clone(),
                observed,
                faults.clone(),
                stop.clone(),
            ));
        }
        for name in queues.keys() {
            assert!(
                template.triggers.iter().any(|t| &t.function == name),
                "{name} consumes a queue but the template gives it no event source mapping"
            );
        }
        for (name, handler) in schedules {
            assert!(
                template.scheduled.contains(&name),
                "{name} runs on a schedule the template does not set"
            );
            if sweep {
                tokio::spawn(schedule(name, handler, faults.clone(), stop.clone()));
            }
        }

        let live = match live_app {
            Some((app, failures)) => Some(
                crate::aws_live::LiveShape::start(
                    app,
                    failures,
                    &sdk,
                    &cfg,
                    &template,
                    faults.clone(),
                    stop.clone(),
                )
                .await,
            ),
            None => None,
        };

        let serve_url = |listener, function: String, host| {
            let router = http.get(&function).cloned().unwrap_or_else(|| {
                panic!("the template's function URL {host} invokes {function}, which serves no HTTP")
            });
            let state = Arc::new(UrlFront { function, router, faults: faults.clone(), host });
            let app = axum::Router::new().fallback(function_url_front).with_state(state);
            serve(listener, app, stop.clone(), faults.clone(), "a function URL front");
        };
        let function_url = function_url.map(|(listener, url, front)| {
            serve_url(listener, url.function, FUNCTION_URL_HOST);
            front
        });
        let api_url = api_url.map(|(listener, url, front)| {
            serve_url(listener, url.function, API_URL_HOST);
            front
        });

        let identities =
            Arc::new(Identities { admin_token: admin_token.to_string(), tokens: Mutex::new(HashMap::new()) });
        let front = Arc::new(Front {
            template,
            http,
            identities: identities.clone(),
            faults: faults.clone(),
            host: addr.to_string(),
            table: cfg.table.clone(),
        });
        let app = axum::Router::new().fallback(gateway).with_state(front);
        serve(listener, app, stop, faults.clone(), "the API Gateway front");
        Self {
            app: tests_app,
            addr,
            identities,
            faults,
            emf_lines,
            live,
            function_url,
            api_url,
            shutdown,
            table: cfg.table.clone(),
            media_bucket,
            s3,
        }
    }

    /// A test that makes consumers fail on purpose (a poison message) says so; other consumer failures
    /// fail the test.
    pub fn tolerate_consumer_failures(&self) {
        self.faults.tolerate_consumer_failures.store(true, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until the shape stops; stopping early is a fault named by `what`.
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
    faults: Faults,
    what: &'static str,
) {
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            faults.report(format!("{what} stopped: {e}"));
        }
    });
}

// ------------------------------------------------------------------------------------------------ API Gateway

struct Front {
    template: Template,
    http: HashMap<String, smsdesk_lambda::HttpService>,
    identities: Arc<Identities>,
    faults: Faults,
    host: String,
    table: String,
}

/// The harness's own route beside the template's (no API Gateway route starts with `/_shape/`): the AWS
/// requests counted so far in this process ([`usage::snapshot`]) and the table's name, for `smsdesk bench
/// --aws`.
pub const USAGE_PATH: &str = "/_shape/usage";

/// API Gateway's own answers (not the function's).
fn gateway_answer(status: u16, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(json!({"message": message}).to_string()))
        .expect("response")
}

async fn gateway(State(front): State<Arc<Front>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 10 * 1024 * 1024).await else {
        return gateway_answer(413, "Request Entity Too Large");
    };
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    if method == "GET" && path == USAGE_PATH {
        let answer = json!({"table": front.table, "usage": usage::snapshot()});
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(answer.to_string()))
            .expect("response");
    }
    let Some((route, params)) = front.template.route(&method, &path) else {
        return gateway_answer(404, "Not Found");
    };
    let route: Route = route.clone();
    let claims = if route.jwt {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        match token.and_then(|t| front.identities.claims(t)) {
            Some(claims) => Some(claims),
            None => return gateway_answer(401, "Unauthorized"),
        }
    } else {
        None
    };

    // An agent created without a subject gets one, as the identity provider's user id its admin would set.
    let mut body = body.to_vec();
    let mut new_subject = None;
    if method == "POST"
        && path == "/v1/agents"
        && let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&body)
    {
        let subject = match fields.get("subject") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => String::new(),
            None => {
                let s = format!("e2e-user-{}", uuid::Uuid::new_v4());
                fields.insert("subject".into(), json!(s));
                body = serde_json::to_vec(&fields).expect("json");
                s
            }
        };
        new_subject = Some(subject);
    }

    let event = event(&front.host, &route, &params, &parts, &body, claims);
    let router = front.http[&route.function].clone();
    let invoked = smsdesk_lambda::invoke_json(router, event);
    let answer = match usage::in_function(function_name(&route.function), counted_invocation(invoked)).await {
        Ok(answer) => answer,
        Err(e) => {
            front.faults.report(format!("{} invoked for {method} {path}: {e}", route.function));
            return gateway_answer(500, "Internal Server Error");
        }
    };
    let response = match response(&answer) {
        Ok(response) => response,
        Err(e) => {
            front.faults.report(format!("{} answered {method} {path} with {answer}: {e}", route.function));
            return gateway_answer(500, "Internal Server Error");
        }
    };
    if let (Some(subject), 201) = (new_subject, response.0)
        && let Some(token) = serde_json::from_slice::<Value>(&response.2)
            .ok()
            .and_then(|v| v["token"].as_str().map(str::to_string))
    {
        front.identities.register(&token, &subject);
    }
    http_response(response)
}

/// The HTTP response of a function's answer.
fn http_response((status, headers, body): Answer) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body)).expect("response")
}

/// The HTTP API payload 2.0 event API Gateway sends for this request.
fn event(
    host: &str,
    route: &Route,
    params: &BTreeMap<String, String>,
    parts: &axum::http::request::Parts,
    body: &[u8],
    claims: Option<Value>,
) -> Value {
    let mut headers = serde_json::Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let query = parts.uri.query().unwrap_or("");
    let mut query_parameters = serde_json::Map::new();
    for (name, value) in serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default() {
        match query_parameters.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                query_parameters.insert(name, Value::String(value));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    let mut context = json!({
        "accountId": "000000000000",
        "apiId": "e2e",
        "domainName": host,
        "domainPrefix": "e2e",
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::String(String::new())),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.format(&format).unwrap_or_default(),
        "timeEpoch": (now.unix_timestamp_nanos() / 1_000_000) as i64,
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if !query_parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters);
    }
    if !params.is_empty() {
        event["pathParameters"] = json!(params);
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(STANDARD.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

// ------------------------------------------------------------------------------------------------ function URL

struct UrlFront {
    function: String,
    router: smsdesk_lambda::HttpService,
    faults: Faults,
    /// The function URL's host.
    host: &'static str,
}

/// An OpenID Connect issuer on loopback: its discovery document and its JWKS (the test process's key).
async fn identity_provider(stop: watch::Receiver<bool>, faults: Faults) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("addr"));
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
    let jwks = smsdesk_providers::test_support::jwt_issuer_key().jwks();
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(discovery) }),
        )
        .route("/jwks", axum::routing::get(move || async move { axum::Json(jwks) }));
    serve(listener, app, stop, faults, "the identity provider");
    issuer
}

/// A Lambda function URL: every method and path to its function, as the payload 2.0 event a function URL
/// sends (route key `$default`, no path parameters or authorizer, the URL's host in `Host` and
/// `domainName`); the function's answer as the caller gets it.
async fn function_url_front(State(front): State<Arc<UrlFront>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 6 * 1024 * 1024).await else {
        return gateway_answer(413, "Request Entity Too Large");
    };
    parts.headers.insert("host", axum::http::HeaderValue::from_static(front.host));
    let route = Route {
        method: "ANY".into(),
        path: "/{proxy+}".into(),
        route_key: "$default".into(),
        jwt: false,
        function: front.function.clone(),
    };
    let event = event(front.host, &route, &BTreeMap::new(), &parts, &body, None);
    let invoked = smsdesk_lambda::invoke_json(front.router.clone(), event);
    let answer = match usage::in_function(function_name(&front.function), counted_invocation(invoked)).await {
        Ok(answer) => answer,
        Err(e) => {
            front.faults.report(format!("{} invoked through its function URL: {e}", front.function));
            return gateway_answer(502, "Internal Server Error");
        }
    };
    match response(&answer) {
        Ok(answer) => http_response(answer),
        Err(e) => {
            front
                .faults
                .report(format!("{} answered through its function URL with {answer}: {e}", front.function));
            gateway_answer(502, "Internal Server Error")
        }
    }
}

/// Status, headers and body of an HTTP response.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// The function's answer (payload 2.0 response) as the HTTP response API Gateway gives the caller.
fn response(answer: &Value) -> Result<Answer, String> {
    let status = answer["statusCode"].as_u64().ok_or("no statusCode")? as u16;
    let mut headers = Vec::new();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        headers.push((name.clone(), value.as_str().ok_or("a header is not a string")?.to_string()));
    }
    for (name, values) in answer["multiValueHeaders"].as_object().into_iter().flatten() {
        if headers.iter().any(|(n, _)| n == name) {
            continue;
        }
        for value in values.as_array().into_iter().flatten() {
            headers.push((name.clone(), value.as_str().ok_or("a header is not a string")?.to_string()));
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        headers.push(("set-cookie".into(), cookie.as_str().ok_or("a cookie is not a string")?.to_string()));
    }
    let body = match answer.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if answer["isBase64Encoded"] == true => {
            STANDARD.decode(text).map_err(|e| format!("body is not base64: {e}"))?
        }
        Some(Value::String(text)) => text.as_bytes().to_vec(),
        Some(other) => return Err(format!("body is not a string: {other}")),
    };
    Ok((status, headers, body))
}

// ------------------------------------------------------------------------------------------------ usage

/// A function's name for [`usage::in_function`] (each name is kept once for the process).
pub(crate) fn function_name(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

/// One Lambda invocation of the function whose usage scope this runs in.
pub(crate) async fn counted_invocation<F: std::future::Future>(invocation: F) -> F::Output {
    let started = std::time::Instant::now();
    let out = invocation.await;
    usage::timed("lambda:Invoke", started.elapsed().as_secs_f64());
    out
}

// ------------------------------------------------------------------------------------------------ triggers

/// Lambda's SQS event source mapping, in miniature: long-poll, invoke with the event Lambda would send, delete
/// every message the partial batch response does not report. A transient SQS error
/// ([`smsdesk_aws::is_transient`]: a timeout, no connection, throttling, a 5xx) is polled again, as
/// Lambda's poller does (a batch it could not delete comes back after its visibility timeout); any other
/// error of its own is a fault.
///
/// Long polls ([`LONG_POLL_SECS`]) rather than short polls on a timer: moto answers one as soon as a message
/// is sent, and an empty queue costs it a wait on a condition, not a request every tenth of a second (with
/// four tests at once, a dozen pollers each). One exception: moto's long poll of a FIFO queue spins for its
/// whole wait while the only visible messages belong to a group with a message in flight, which is the case
/// after a batch reported a failure (the failed message stays in flight until its visibility timeout): for
/// that long, this poller polls short.
async fn event_source_mapping(
    sqs: smsdesk_aws::aws_sdk_sqs::Client,
    url: String,
    trigger: crate::template::Trigger,
    handler: QueueHandler,
    faults: Faults,
    mut stop: watch::Receiver<bool>,
) {
    let arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", url.rsplit('/').next().unwrap_or("queue"));
    let function = function_name(&trigger.function);
    let mut short_polls_until = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let wait = if tokio::time::Instant::now() < short_polls_until { 0 } else { LONG_POLL_SECS };
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(trigger.batch_size.clamp(1, 10))
            .visibility_timeout(VISIBILITY_SECS)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(e) if smsdesk_aws::is_transient(&e) => {
                tracing::warn!(error = %DisplayErrorContext(&e), "{function}'s trigger: ReceiveMessage failed; polling again");
                pause(&mut stop).await;
                continue;
            }
            Err(e) => {
                if !*stop.borrow() {
                    faults
                        .report(format!("{function}'s trigger: ReceiveMessage: {}", DisplayErrorContext(e)));
                }
                return;
            }
        };
        if *stop.borrow() {
            return; // stopped during the long poll: what it received is left to its visibility timeout
        }
        if messages.is_empty() {
            if wait == 0 {
                pause(&mut stop).await;
            }
            continue;
        }
        let event = match serde_json::from_value(smsdesk::aws_local::sqs_event(&messages, &arn)) {
            Ok(event) => event,
            Err(e) => {
                faults.report(format!("{function}'s trigger: not an SQS event: {e}"));
                return;
            }
        };
        let response = usage::in_function(function, async {
            // Lambda's poller: one receive per batch (the empty ones of its long polls are not per message),
            // one DeleteMessageBatch per batch for the messages handled (below).
            usage::count("sqs:ReceiveMessage");
            counted_invocation(handler.handle(event)).await
        })
        .await;
        let failed: Vec<&str> =
            response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        if !failed.is_empty() && trigger.queue.is_fifo() {
            short_polls_until = tokio::time::Instant::now() + Duration::from_secs(VISIBILITY_SECS as u64 + 1);
        }
        let mut entries = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            if failed.contains(&m.message_id.as_deref().unwrap_or_default()) {
                continue;
            }
            let Some(receipt) = &m.receipt_handle else {
                faults.report(format!("{function}'s trigger: a message without a receipt handle"));
                return;
            };
            match DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(receipt).build()
            {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    faults.report(format!("{function}'s trigger: DeleteMessageBatch entry: {e}"));
                    return;
                }
            }
        }
        if entries.is_empty() {
            continue;
        }
        // As Lambda's poller does: the batch's handled messages in one DeleteMessageBatch (at most 10).
        usage::in_function(function, async { usage::count("sqs:DeleteMessageBatch") }).await;
        match sqs.delete_message_batch().queue_url(&url).set_entries(Some(entries)).send().await {
            Ok(out) if out.failed.is_empty() => {}
            Ok(out) => {
                let codes: Vec<&str> = out.failed.iter().map(|f| f.code.as_str()).collect();
                faults.report(format!("{function}'s trigger: DeleteMessageBatch failed entries: {codes:?}"));
                return;
            }
            Err(e) if smsdesk_aws::is_transient(&e) => {
                tracing::warn!(error = %DisplayErrorContext(&e), "{function}'s trigger: DeleteMessageBatch failed; the batch comes back");
            }
            Err(e) => {
                faults
                    .report(format!("{function}'s trigger: DeleteMessageBatch: {}", DisplayErrorContext(e)));
                return;
            }
        }
    }
}

/// A short poll's pause after an empty answer or a transient error, cut short when the shape stops.
async fn pause(stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        _ = stop.changed() => {}
    }
}

/// The schedule (EventBridge every minute in AWS; every [`SWEEP_EVERY`] here): one sweep per invocation. A
/// sweep that fails because storage is unavailable (an emulator timing out under load) is what a timers error
/// is in AWS: its alarm counts it and the next tick sweeps again; anything else is a fault.
async fn schedule(
    function: String,
    handler: ScheduleHandler,
    faults: Faults,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match usage::in_function(function_name(&function), counted_invocation(handler.handle())).await {
            Ok(_) => {}
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "{function}: sweep failed; the next tick runs it")
            }
            Err(e) => {
                faults.report(format!("{function}: {e}"));
                return;
            }
        }
    }
}
