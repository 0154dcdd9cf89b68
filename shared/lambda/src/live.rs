//! The `live` function: the console's live updates in AWS, the same protocol `smsdesk dev` serves on
//! `/v1/events` (cli/src/events.rs; messages and catch-up in `smsdesk_app::services::live`). One function,
//! two event sources (infra/template.yaml):
//! - API Gateway's WebSocket API: `$connect` is accepted (the token is never in the URL: URLs get logged);
//!   `$default` takes the auth message, checks the token, posts `hello`, records the connection, posts every
//!   change after `since` the caller may see (or `reset`) and `caught_up`; `$disconnect` forgets it.
//! - The table's DynamoDB stream: each batch's writes of conversations and messages become numbered changes
//!   (`smsdesk_aws::DynamoStore::append_changes`), then each is posted to every connection whose caller may
//!   see it (`services::live::visible`, the same rule as locally). A connection that is gone (410) is
//!   forgotten; one whose post failed otherwise is closed, so that its client reconnects and catches up
//!   instead of showing a stale screen.
//!
//! The token check: under `SMSDESK_ADMIN_TOKEN` (no JWT authorizer) as `smsdesk dev` does; behind API
//! Gateway the token is a JWT, which this function has API Gateway's own authorizer verify by asking the
//! HTTP API who it is (`GET /v1/me` with the token), so no second JWT verifier exists.

use crate::failures::Failures;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use smsdesk_app::App;
use smsdesk_app::auth::{Principal, principal_of_token};
use smsdesk_app::services::live::{self, protocol::ClientMessage, protocol::ServerMessage};
use smsdesk_aws::{Connection, DynamoStore, NewChange, Posted, WebSocketPoster};
use smsdesk_domain::AgentId;
use smsdesk_ports::{Change, ChangePage, PortError, PortResult};
use std::collections::HashMap;
use std::sync::Arc;

/// How long the token check through the HTTP API may take.
const WHO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How the auth message's token is checked.
#[derive(Clone)]
pub enum TokenCheck {
    /// The admin token or an agent's token, as `smsdesk dev` checks them.
    Local,
    /// Ask the HTTP API, behind API Gateway's JWT authorizer: `GET <api>/v1/me` with the token.
    Api { api_url: String, http: reqwest::Client },
}

#[derive(Clone)]
pub struct LiveHandler {
    app: Arc<App>,
    store: DynamoStore,
    poster: WebSocketPoster,
    tokens: TokenCheck,
    failures: Failures,
}

/// What one invocation was about.
#[derive(Debug)]
pub enum LiveEvent {
    WebSocket(Box<ApiGatewayWebsocketProxyRequest>),
    Stream(StreamEvent),
}

impl LiveEvent {
    /// The event Lambda delivered: a stream batch has `Records`, a WebSocket route a `requestContext`.
    pub fn parse(value: Value) -> Result<LiveEvent, String> {
        if value.get("Records").is_some() {
            serde_json::from_value(value).map(LiveEvent::Stream).map_err(|e| format!("stream event: {e}"))
        } else {
            serde_json::from_value(value)
                .map(|r| LiveEvent::WebSocket(Box::new(r)))
                .map_err(|e| format!("WebSocket event: {e}"))
        }
    }
}

impl LiveHandler {
    pub fn new(app: Arc<App>, store: DynamoStore, poster: WebSocketPoster, tokens: TokenCheck) -> Self {
        Self { app, store, poster, tokens, failures: Failures::nowhere() }
    }

    /// The same handler, counting its failures ([`crate::failures`]): a route answered 5xx, a client
    /// dropped because of a failure on our side, the records of a stream batch not appended.
    pub fn counting(mut self, failures: Failures) -> Self {
        self.failures = failures;
        self
    }

    /// The token check the app's configuration asks for: local tokens when it checks them itself,
    /// otherwise the HTTP API at its public URL.
    pub fn token_check(app: &App, http: reqwest::Client) -> TokenCheck {
        match app.config.auth {
            smsdesk_app::AuthMode::Tokens { .. } => TokenCheck::Local,
            smsdesk_app::AuthMode::GatewayClaims => TokenCheck::Api {
                api_url: app.config.public_base_url.trim_end_matches('/').to_string(),
                http,
            },
        }
    }

    /// One invocation.
    pub async fn handle(&self, event: LiveEvent) -> Value {
        match event {
            // Boxed: the two handlers' futures are deep, and the runtime's future holds this one.
            LiveEvent::WebSocket(request) => {
                let response = Box::pin(self.route(&request)).await;
                self.failures.answered(u16::try_from(response.status_code).unwrap_or(500));
                json_of(&response)
            }
            LiveEvent::Stream(event) => json_of(&Box::pin(self.stream(event)).await),
        }
    }

    // ------------------------------------------------------------------------------------ WebSocket

    /// A WebSocket route: `$connect`, `$default` (the client's messages) or `$disconnect`.
    pub async fn route(&self, request: &ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let context = &request.request_context;
        let Some(connection) = context.connection_id.as_deref() else { return answer(400) };
        match context.route_key.as_deref() {
            Some("$connect") => answer(200),
            Some("$disconnect") => match self.store.delete_connection(connection).await {
                Ok(()) => answer(200),
                Err(e) => {
                    tracing::warn!(error = %e, "live: a closed connection could not be forgotten");
                    answer(500)
                }
            },
            _ => {
                let text = request.body.as_deref().unwrap_or_default();
                match ClientMessage::parse(text) {
                    Some(ClientMessage::Auth { token, since }) => {
                        self.authenticate(connection, token.trim(), since).await;
                    }
                    None => {
                        self.refuse(connection, "the first message must be {\"type\": \"auth\", \"token\"}")
                            .await;
                    }
                }
                answer(200)
            }
        }
    }

    async fn refuse(&self, connection: &str, message: &str) {
        let _ = self.post(connection, &ServerMessage::unauthorized(message)).await;
        let _ = self.store.delete_connection(connection).await;
        if let Err(e) = self.poster.close(connection).await {
            tracing::warn!(error = %e, "live: a refused connection could not be closed");
        }
    }

    /// The auth message: hello, then the connection is recorded (from then on the stream's changes reach
    /// it), then everything after `since` it may see, then `caught_up`. A change appended meanwhile may
    /// come twice (live and in the catch-up); none is missed.
    async fn authenticate(&self, connection: &str, token: &str, since: Option<i64>) {
        let who = match self.principal(token).await {
            Ok(Some(who)) => who,
            Ok(None) => return self.refuse(connection, "unknown token").await,
            Err(e) => {
                tracing::warn!(error = %e, "live: the token could not be checked");
                return self.fail(connection).await;
            }
        };
        let steps = async {
            let head = live::head(&self.store).await?;
            let Some(hello) = live::hello(&self.app, &who, head).await? else { return Ok(None) };
            Ok::<_, PortError>(Some((head, hello)))
        };
        let (head, hello) = match steps.await {
            Ok(Some(found)) => found,
            Ok(None) => return self.refuse(connection, "unknown token").await,
            Err(e) => {
                tracing::warn!(error = %e, "live: the feed could not be read");
                return self.fail(connection).await;
            }
        };
        if self.post(connection, &hello).await != Some(Posted::Sent) {
            return;
        }
        let record = Connection { id: connection.to_string(), agent: who.agent_id().cloned() };
        let caught_up = async {
            self.store.put_connection(&record, self.now_secs()).await?;
            live::catch_up(&self.app, &self.store, &who, since.unwrap_or(head)).await
        };
        let frames = match caught_up.await {
            Ok((frames, _)) => frames,
            Err(e) => {
                tracing::warn!(error = %e, "live: the catch-up failed");
                return self.fail(connection).await;
            }
        };
        for frame in &frames {
            if self.post(connection, frame).await != Some(Posted::Sent) {
                return;
            }
        }
    }

    /// Who the token is; None when it is nobody's.
    async fn principal(&self, token: &str) -> PortResult<Option<Principal>> {
        match &self.tokens {
            TokenCheck::Local => match principal_of_token(&self.app, token).await {
                Ok(who) => Ok(Some(who)),
                Err(e) if e.status.is_server_error() => Err(PortError::Unavailable(e.message)),
                Err(e) => {
                    tracing::info!(reason = %e.message, "live: token refused");
                    Ok(None)
                }
            },
            TokenCheck::Api { api_url, http } => {
                let answer = http
                    .get(format!("{api_url}/v1/me"))
                    .bearer_auth(token)
                    .timeout(WHO_TIMEOUT)
                    .send()
                    .await
                    .map_err(|e| PortError::Unavailable(format!("GET /v1/me: {e}")))?;
                let status = answer.status();
                if status.is_client_error() {
                    tracing::info!(status = status.as_u16(), "live: token refused by the API");
                    return Ok(None);
                }
                if !status.is_success() {
                    return Err(PortError::Unavailable(format!("GET /v1/me answered {status}")));
                }
                let me: Value =
                    answer.json().await.map_err(|e| PortError::Unavailable(format!("GET /v1/me: {e}")))?;
                Ok(match (me["role"].as_str(), me["agent_id"].as_str()) {
                    (Some("admin"), _) => Some(Principal::Admin),
                    (Some(_), Some(agent)) => Some(Principal::Agent(AgentId::new(agent))),
                    _ => None,
                })
            }
        }
    }

    /// A failure on our side: the client is told and the connection closed, so it reconnects later.
    async fn fail(&self, connection: &str) {
        // The route still answers 200 (the message was taken): counted here.
        self.failures.record(1);
        let message = ServerMessage::Error { code: "unavailable".into(), message: "try again".into() };
        let _ = self.post(connection, &message).await;
        let _ = self.store.delete_connection(connection).await;
        let _ = self.poster.close(connection).await;
    }

    /// Posts one frame; a connection that is gone is forgotten (None when the post failed otherwise).
    async fn post(&self, connection: &str, message: &ServerMessage) -> Option<Posted> {
        match self.poster.post(connection, &message.to_text()).await {
            Ok(Posted::Sent) => Some(Posted::Sent),
            Ok(Posted::Gone) => {
                if let Err(e) = self.store.delete_connection(connection).await {
                    tracing::warn!(error = %e, "live: a gone connection could not be forgotten");
                }
                Some(Posted::Gone)
            }
            Err(e) => {
                tracing::warn!(error = %e, "live: a post failed");
                None
            }
        }
    }

    fn now_secs(&self) -> i64 {
        self.app.clock.now().unix_timestamp()
    }

    // ------------------------------------------------------------------------------------ the stream

    /// A batch of the table's stream: its changes appended in one go (a failure reports the whole batch,
    /// which Lambda retries, bisecting on error), then pushed.
    pub async fn stream(&self, event: StreamEvent) -> DynamoDbEventResponse {
        let changes: Vec<NewChange> = event.records.iter().filter_map(change_of_record).collect();
        let appended = match self.store.append_changes(changes).await {
            Ok(appended) => appended,
            Err(e) => {
                tracing::warn!(error = %e, records = event.records.len(), "live: changes not appended");
                self.failures.record(event.records.len());
                let mut response = DynamoDbEventResponse::default();
                response.batch_item_failures = event
                    .records
                    .first()
                    .map(|r| {
                        let mut failure = DynamoDbBatchItemFailure::default();
                        failure.item_identifier = r.change.sequence_number.clone();
                        failure
                    })
                    .into_iter()
                    .collect();
                return response;
            }
        };
        if let Err(e) = self.push(appended).await {
            // The changes are kept: a client that missed them is closed below or catches up on reconnect.
            tracing::warn!(error = %e, "live: changes not pushed");
        }
        DynamoDbEventResponse::default()
    }

    /// Posts each change to the connections whose caller may see it.
    pub async fn push(&self, changes: Vec<Change>) -> PortResult<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let connections = self.store.connections(self.now_secs()).await?;
        let mut by_caller: HashMap<Option<AgentId>, Vec<String>> = HashMap::new();
        for c in connections {
            by_caller.entry(c.agent).or_default().push(c.id);
        }
        let page = ChangePage { changes, oldest: 0, head: 0 };
        for (agent, ids) in by_caller {
            let who = match agent {
                None => Principal::Admin,
                Some(id) => Principal::Agent(id),
            };
            let visible = live::visible(&self.app, &who, &page).await?;
            for id in ids {
                for change in &visible {
                    match self.post(&id, &ServerMessage::Change(change.clone())).await {
                        Some(Posted::Sent) => {}
                        Some(Posted::Gone) => break,
                        None => {
                            // Never a silently stale screen: the client reconnects and catches up.
                            let _ = self.store.delete_connection(&id).await;
                            let _ = self.poster.close(&id).await;
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        use lambda_runtime::{LambdaEvent, service_fn};
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            let handler = self.clone();
            async move {
                let event = LiveEvent::parse(event.payload)?;
                Ok::<_, lambda_runtime::Error>(handler.handle(event).await)
            }
        }))
        .await
    }
}

/// The change a stream record means, if any.
fn change_of_record(record: &EventRecord) -> Option<NewChange> {
    let image = |item: &serde_dynamo::Item| {
        (!item.is_empty()).then(|| Value::Object(item.iter().map(|(k, v)| (k.clone(), plain(v))).collect()))
    };
    let at = record.change.approximate_creation_date_time.timestamp_millis();
    smsdesk_aws::change_of_write(
        image(&record.change.new_image).as_ref(),
        image(&record.change.old_image).as_ref(),
        at,
    )
}

/// An attribute value as plain JSON (numbers as numbers when they are, binaries left out).
fn plain(value: &serde_dynamo::AttributeValue) -> Value {
    use serde_dynamo::AttributeValue as A;
    match value {
        A::S(s) => Value::String(s.clone()),
        A::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| n.parse::<f64>().map_or(Value::Null, Value::from)),
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) | A::B(_) | A::Bs(_) => Value::Null,
        A::M(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        A::L(items) => Value::Array(items.iter().map(plain).collect()),
        A::Ss(items) | A::Ns(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
    }
}

fn answer(status: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_record_in_lambdas_shape_is_a_change() {
        let event = serde_json::json!({"Records": [{
            "eventID": "1", "eventName": "MODIFY", "awsRegion": "us-east-1", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "ApproximateCreationDateTime": 1700000000.0, "SequenceNumber": "100", "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "Keys": {"pk": {"S": "CONV#c1"}, "sk": {"S": "CONV"}},
                "NewImage": {"pk": {"S": "CONV#c1"}, "sk": {"S": "CONV"}, "id": {"S": "c1"},
                    "state": {"S": "active"}, "queue_id": {"S": "q1"}, "agent_id": {"S": "a1"}},
                "OldImage": {"pk": {"S": "CONV#c1"}, "sk": {"S": "CONV"}, "id": {"S": "c1"},
                    "state": {"S": "open"}, "queue_id": {"S": "q1"}, "agent_id": {"NULL": true}}
            }
        }]});
        let LiveEvent::Stream(event) = LiveEvent::parse(event).expect("a stream event") else {
            panic!("a stream event")
        };
        let change = change_of_record(&event.records[0]).expect("a change");
        assert_eq!(change.data["state"], "active");
        assert_eq!(change.data["before"]["state"], "open");
        assert!(change.data["before"]["agent_id"].is_null());
        assert_eq!(change.at, 1_700_000_000_000);
    }
}
