//! The live updates of the AWS shape (infra/template.yaml's `live` function): its handler built as
//! `functions/live` builds it ([`smsdesk_lambda::live::LiveHandler`] on the function's own app), fed
//! - the WebSocket API's route events (`$connect`, `$default` with a client's message, `$disconnect`), as
//!   API Gateway would send them for a connection ([`LiveShape::connect`], [`LiveShape::send`]);
//! - the table's stream, read from DynamoDB Local's own stream as Lambda's event source mapping reads it
//!   (batches of the template's size) by a poller, as long as the shape runs;
//!
//! and posting to a fake of API Gateway's management API on loopback ([`FakeManagement`]) that checks
//! each request's SigV4 signature (service `execute-api`), records the frames per connection, and answers
//! 410 Gone for a connection the test has closed.

use crate::aws_shape::Faults;
use crate::fake_providers::{SigningKey, sigv4_verify};
use crate::template::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};
use smsdesk_app::App;
use smsdesk_aws::{AwsConfig, StreamReader, WebSocketPoster};
use smsdesk_lambda::live::{LiveEvent, LiveHandler};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often the stream poller reads DynamoDB Local's stream: as Lambda reads a stream's shard, four times
/// a second.
const STREAM_POLL: Duration = Duration::from_millis(250);

// ------------------------------------------------------------------------------------------------ fake API

#[derive(Default)]
struct Connections {
    frames: HashMap<String, Vec<Value>>,
    gone: HashSet<String>,
    closed: Vec<String>,
    problems: Vec<String>,
}

/// API Gateway's management API for one stage: `POST /@connections/{id}` records a frame,
/// `DELETE /@connections/{id}` closes the connection.
#[derive(Clone)]
pub struct FakeManagement {
    state: Arc<Mutex<Connections>>,
    /// The stage's endpoint, as `SMSDESK_WEBSOCKET_ENDPOINT` names it.
    pub endpoint: String,
}

impl FakeManagement {
    pub async fn start(stop: watch::Receiver<bool>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(Connections::default()));
        let app = axum::Router::new().fallback(manage).with_state(state.clone());
        let mut stop = stop;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
        });
        Self { state, endpoint: format!("http://{addr}/live") }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The frames posted to a connection, in order.
    pub fn frames(&self, connection: &str) -> Vec<Value> {
        self.lock().frames.get(connection).cloned().unwrap_or_default()
    }

    /// The client went away: posts to it answer 410 Gone from now on.
    pub fn drop_connection(&self, connection: &str) {
        self.lock().gone.insert(connection.to_string());
    }

    /// Connections the function closed (DELETE).
    pub fn closed(&self) -> Vec<String> {
        self.lock().closed.clone()
    }

    /// Requests that were not what API Gateway accepts (a bad signature, an unknown path).
    pub fn problems(&self) -> Vec<String> {
        self.lock().problems.clone()
    }
}

fn answer(status: u16, error: Option<&str>) -> Response {
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if let Some(error) = error {
        builder = builder.header("x-amzn-ErrorType", error);
    }
    let body = error.map(|e| json!({"message": e}).to_string()).unwrap_or_default();
    builder.body(Body::from(body)).expect("response")
}

async fn manage(State(state): State<Arc<Mutex<Connections>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 256 * 1024).await.unwrap_or_default();
    let path = parts.uri.path().to_string();
    let key = SigningKey { key_id: "test", secret: "test", region: "us-east-1", service: "execute-api" };
    let signed = sigv4_verify(&parts.method, &parts.uri, &parts.headers, &body, &key);
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(problem) = signed {
        state.problems.push(format!("{} {path}: {problem}", parts.method));
        return answer(403, Some("ForbiddenException"));
    }
    let connection = path
        .strip_prefix("/live/@connections/")
        .or_else(|| path.strip_prefix("/live/%40connections/"))
        .map(str::to_string);
    let Some(connection) = connection else {
        state.problems.push(format!("{} {path}: not a connection of the stage", parts.method));
        return answer(404, Some("NotFoundException"));
    };
    if state.gone.contains(&connection) {
        return answer(410, Some("GoneException"));
    }
    match parts.method.as_str() {
        "POST" => match serde_json::from_slice::<Value>(&body) {
            Ok(frame) => {
                state.frames.entry(connection).or_default().push(frame);
                answer(200, None)
            }
            Err(e) => {
                state.problems.push(format!("POST {path}: the frame is not JSON: {e}"));
                answer(400, Some("BadRequestException"))
            }
        },
        "DELETE" => {
            state.gone.insert(connection.clone());
            state.closed.push(connection);
            answer(204, None)
        }
        other => {
            state.problems.push(format!("{other} {path}: not a management call"));
            answer(405, None)
        }
    }
}

// ------------------------------------------------------------------------------------------------ the function

/// The `live` function of the AWS shape, its WebSocket API and its stream (read from its start by the
/// poller, which the first connection starts, or [`LiveShape::start_stream`]).
pub struct LiveShape {
    handler: LiveHandler,
    store: smsdesk_aws::DynamoStore,
    pub management: FakeManagement,
    faults: Faults,
    /// The stream's poller, started by the first connection (the other tests of the shape need none).
    mapping: Mutex<Option<StreamMapping>>,
}

struct StreamMapping {
    reader: StreamReader,
    batch_size: i32,
    /// The sort keys the mapping's filter lets through (every record when empty).
    sort_keys: Vec<String>,
    max_retries: u32,
    stop: watch::Receiver<bool>,
}

impl LiveShape {
    /// The function on `app` (its own, wired by its Cargo features), posting to a fresh fake management
    /// API, and the poller that feeds it the table's stream until `stop`.
    pub async fn start(
        app: Arc<App>,
        failures: smsdesk_lambda::Failures,
        sdk: &smsdesk_aws::aws_types::SdkConfig,
        cfg: &AwsConfig,
        template: &Template,
        faults: Faults,
        stop: watch::Receiver<bool>,
    ) -> Self {
        let trigger = template
            .stream_triggers
            .iter()
            .find(|t| t.function == "live")
            .expect("the template feeds the table's stream to live");
        for route in ["$connect", "$default", "$disconnect"] {
            assert_eq!(
                template.websocket_routes.get(route).map(String::as_str),
                Some("live"),
                "the template routes the WebSocket API's {route} to live"
            );
        }
        let management = FakeManagement::start(stop.clone()).await;
        let store = smsdesk_aws::AwsAdapters::new(sdk, cfg).store;
        let poster = WebSocketPoster::new(sdk, &management.endpoint);
        let http = smsdesk_lambda::http_client_builder().build().expect("http client");
        let tokens = LiveHandler::token_check(&app, http);
        let handler = LiveHandler::new(app, store.clone(), poster, tokens).counting(failures);
        let reader =
            StreamReader::for_table(cfg.dynamodb_endpoint.as_deref().expect("DynamoDB Local"), store.table())
                .await
                .expect("the table's stream on DynamoDB Local");
        let mapping = StreamMapping {
            reader,
            batch_size: trigger.batch_size,
            sort_keys: trigger.sort_keys.clone(),
            max_retries: trigger.max_retries,
            stop,
        };
        Self { handler, store, management, faults, mapping: Mutex::new(Some(mapping)) }
    }

    async fn invoke(&self, route: &str, connection: &str, body: Option<String>) -> Value {
        let event = json!({
            "requestContext": {
                "routeKey": route, "eventType": match route { "$connect" => "CONNECT", "$disconnect" => "DISCONNECT", _ => "MESSAGE" },
                "connectionId": connection, "stage": "live", "apiId": "e2e", "domainName": "e2e.execute-api.local",
                "requestId": uuid::Uuid::new_v4().to_string(), "connectedAt": 0, "requestTimeEpoch": 0,
                "messageDirection": "IN", "identity": {}, "authorizer": {}
            },
            "body": body, "isBase64Encoded": false
        });
        let event = LiveEvent::parse(event).expect("a WebSocket event");
        let answer = self.handler.handle(event).await;
        if let Some(problem) = self.management.problems().first() {
            self.faults.report(format!("live's management call: {problem}"));
        }
        answer
    }

    /// The connections the function holds (authenticated, not gone).
    pub async fn connection_ids(&self) -> Vec<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let connections = self.store.connections(now).await.expect("the connections");
        connections.into_iter().map(|c| c.id).collect()
    }

    /// Starts the stream's poller, if it is not running yet: from then on every write of the table reaches
    /// the function as in AWS, where the mapping always runs (`smsdesk bench --aws` counts its requests).
    pub fn start_stream(&self) {
        let mapping = self.mapping.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(m) = mapping {
            tokio::spawn(stream_mapping(m, self.handler.clone(), self.faults.clone()));
        }
    }

    /// A new connection (`$connect`); its id. The first one starts the stream's poller.
    pub async fn connect(&self) -> String {
        self.start_stream();
        let id = format!("conn-{}", uuid::Uuid::new_v4().simple());
        let answer = self.invoke("$connect", &id, None).await;
        assert_eq!(answer["statusCode"], 200, "$connect: {answer}");
        id
    }

    /// A client's message on the connection (`$default`).
    pub async fn send(&self, connection: &str, message: Value) {
        let answer = self.invoke("$default", connection, Some(message.to_string())).await;
        assert_eq!(answer["statusCode"], 200, "$default: {answer}");
    }

    /// The client closed the socket (`$disconnect`).
    pub async fn disconnect(&self, connection: &str) {
        let answer = self.invoke("$disconnect", connection, None).await;
        assert_eq!(answer["statusCode"], 200, "$disconnect: {answer}");
    }

    /// A connection, authenticated with `token`, resuming after `since`; its id and its `hello`.
    pub async fn subscribe(&self, token: &str, since: Option<i64>) -> (String, Value) {
        let id = self.connect().await;
        self.send(&id, json!({"type": "auth", "token": token, "since": since})).await;
        let hello = self.management.frames(&id).first().cloned().expect("a frame after the auth message");
        assert_eq!(hello["type"], "hello", "{hello}");
        (id, hello)
    }

    /// Waits (10 s at most) until a frame of `connection` matches; returns the frames up to and including the
    /// first match (what came after it may still be arriving, so it is left out).
    pub async fn until(&self, connection: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            crate::aws_shape::check_faults();
            let mut frames = self.management.frames(connection);
            if let Some(at) = frames.iter().position(&wanted) {
                frames.truncate(at + 1);
                return frames;
            }
            assert!(tokio::time::Instant::now() < deadline, "no {what} within 10 s: {frames:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Lambda's event source mapping on the table's stream: the records its filter lets through, in batches of
/// at most `batch_size`, in order; each batch one invocation, counted as the function's (`usage`). A batch
/// the function reports failed (a request that timed out on a loaded emulator) is tried again from the
/// record it names, as Lambda does with `ReportBatchItemFailures`; one still failing after the template's
/// retries is a fault (Lambda would have sent its location to the dead-letter queue).
async fn stream_mapping(mapping: StreamMapping, handler: LiveHandler, faults: Faults) {
    let StreamMapping { reader, batch_size, sort_keys, max_retries, mut stop } = mapping;
    let size = usize::try_from(batch_size).unwrap_or(1).max(1);
    let passes = |record: &Value| {
        sort_keys.is_empty()
            || record["dynamodb"]["Keys"]["sk"]["S"]
                .as_str()
                .is_some_and(|sk| crate::template::sort_key_passes(&sort_keys, sk))
    };
    let function = crate::aws_shape::function_name("live");
    loop {
        match reader.read().await {
            Ok(records) => {
                let records: Vec<Value> = records.into_iter().filter(passes).collect();
                for batch in records.chunks(size) {
                    let mut batch = batch.to_vec();
                    for attempt in 0..=max_retries {
                        let event = match LiveEvent::parse(json!({"Records": batch})) {
                            Ok(event) => event,
                            Err(e) => {
                                faults.report(format!("live's stream event does not parse: {e}"));
                                break;
                            }
                        };
                        let invoked = crate::aws_shape::counted_invocation(handler.handle(event));
                        let answer = smsdesk_aws::usage::in_function(function, invoked).await;
                        let Some(failed) = answer["batchItemFailures"][0]["itemIdentifier"].as_str() else {
                            break;
                        };
                        if attempt == max_retries {
                            faults.report(format!(
                                "live failed a stream batch {} times: {answer}",
                                attempt + 1
                            ));
                            break;
                        }
                        let from = batch
                            .iter()
                            .position(|r| r["dynamodb"]["SequenceNumber"].as_str() == Some(failed))
                            .unwrap_or(0);
                        batch.drain(..from);
                        tokio::time::sleep(STREAM_POLL).await;
                    }
                }
            }
            Err(e) => faults.report(format!("reading the table's stream: {e}")),
        }
        tokio::select! {
            _ = tokio::time::sleep(STREAM_POLL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
