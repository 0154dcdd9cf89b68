//! What DynamoDB Local never does: cancel a transaction because another one touched the same item
//! (`TransactionConflict`), or throttle. A scripted fake DynamoDB on loopback answers with those errors, to
//! check that the store retries conflicts itself, tells a failed condition apart, and maps throttling to a
//! retryable error. No emulator needed.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use smsdesk_aws::DynamoStore;
use smsdesk_domain::{Agent, AgentId, ConversationId, MessageId, Presence};
use smsdesk_ports::{AgentStore, ConversationStore, MessageStore, PortError, SendClaim};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer: HTTP status and JSON body.
type Answer = (u16, String);

/// What the fake saw of one request: its `X-Amz-Target` and, if any, its `ClientRequestToken`.
type Seen = (String, Option<String>);

/// Serves the scripted answers in order (then `{}` with 200) and records each request.
async fn fake_dynamodb(script: Vec<Answer>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let script = Arc::new(Mutex::new(script.into_iter()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_server = seen.clone();
    let last_mark: Arc<Mutex<Option<String>>> = Arc::default();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (script, seen, last_mark) = (script.clone(), seen_by_server.clone(), last_mark.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let Some((target, consumed)) = read_request(&mut conn, &mut buf).await else { return };
                    let body: serde_json::Value =
                        serde_json::from_slice(&buf[consumed.1..consumed.0]).unwrap_or_default();
                    buf.drain(..consumed.0);
                    let token = body["ClientRequestToken"].as_str().map(str::to_string);
                    let mark = send_claim_mark(&body);
                    seen.lock().unwrap().push((target, token));
                    if mark.is_some() {
                        *last_mark.lock().unwrap() = mark;
                    }
                    let (status, body) = script.lock().unwrap().next().unwrap_or((200, "{}".into()));
                    // An answer may name the send claim's mark of the last claim the fake saw.
                    let body = body.replace(MARK, last_mark.lock().unwrap().as_deref().unwrap_or_default());
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if conn.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// Where a scripted answer says "the mark of the send claim the fake saw last".
const MARK: &str = "$CLAIM_MARK";

/// The mark a `claim_send` UpdateItem sets (`claim_token`), if `body` is one.
fn send_claim_mark(body: &serde_json::Value) -> Option<String> {
    let names = body["ExpressionAttributeNames"].as_object()?;
    let name = names.iter().find(|(_, v)| v.as_str() == Some("claim_token")).map(|(k, _)| k.clone())?;
    let expression = body["UpdateExpression"].as_str()?;
    let after = expression.split(&format!("{name} = ")).nth(1)?;
    let placeholder = after.split([',', ' ']).next()?;
    body["ExpressionAttributeValues"][placeholder]["S"].as_str().map(str::to_string)
}

/// Reads one HTTP/1.1 request; returns its `X-Amz-Target`, how many bytes it took and where its body starts.
async fn read_request(
    conn: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, (usize, usize))> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.trim().to_string())
            };
            let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some((header("x-amz-target").unwrap_or_default(), (end + 4 + length, end + 4)));
            }
        }
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn cancelled(codes: &[&str]) -> Answer {
    let reasons: Vec<_> = codes.iter().map(|c| serde_json::json!({"Code": c})).collect();
    let body = serde_json::json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
        "CancellationReasons": reasons,
    });
    (400, body.to_string())
}

async fn store(url: &str) -> DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "conflict-tests"))
        .endpoint_url(url)
        // The HTTP client every smsdesk SDK configuration carries (the SDK crates bring none of their own).
        .http_client(smsdesk_aws::LazyTls::shared())
        // Only the adapter's own retries are under test here.
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "fake")
}

fn agent() -> Agent {
    Agent {
        id: AgentId::new("ag_1"),
        name: "a".into(),
        queues: vec![],
        capacity: 1,
        presence: Presence::Available,
        active: 0,
        last_assigned_at: None,
        created_at: time::macros::datetime!(2026-01-01 00:00 UTC),
        subject: None,
        role: Default::default(),
        missed_offers: 0,
        presence_changed_at: None,
        team_id: None,
    }
}

fn transaction_tokens(seen: &Mutex<Vec<Seen>>) -> Vec<Option<String>> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t.ends_with("TransactWriteItems"))
        .map(|(_, k)| k.clone())
        .collect()
}

fn transactions(seen: &Mutex<Vec<Seen>>) -> usize {
    transaction_tokens(seen).len()
}

#[tokio::test]
async fn a_conflicting_transaction_is_tried_again_until_it_commits() {
    let conflict = cancelled(&["None", "TransactionConflict"]);
    let (url, seen) = fake_dynamodb(vec![conflict.clone(), conflict]).await;
    store(&url).await.put_agent(&agent(), "sha").await.unwrap();
    assert_eq!(transactions(&seen), 3, "two conflicts, then the commit");
}

#[tokio::test]
async fn every_attempt_of_a_transaction_carries_one_client_request_token() {
    // A commit whose answer was lost comes back as success, not as a failed condition, only when the retry
    // carries the first attempt's token; another operation carries another token.
    let conflict = cancelled(&["None", "TransactionConflict"]);
    let (url, seen) = fake_dynamodb(vec![conflict.clone(), conflict]).await;
    let store = store(&url).await;
    store.put_agent(&agent(), "sha").await.unwrap();
    let tokens = transaction_tokens(&seen);
    assert_eq!(tokens.len(), 3, "two conflicts, then the commit");
    let first = tokens[0].clone().expect("a client request token");
    assert!(!first.is_empty() && first.len() <= 36, "DynamoDB takes 1 to 36 characters: {first}");
    assert!(tokens.iter().all(|t| t.as_deref() == Some(first.as_str())), "retries reuse it: {tokens:?}");
    store.put_agent(&agent(), "sha").await.unwrap();
    let next = transaction_tokens(&seen).last().cloned().flatten();
    assert_ne!(next.as_deref(), Some(first.as_str()), "a new call is a new operation");
}

#[tokio::test]
async fn a_failed_condition_is_the_answer_not_an_error() {
    let (url, seen) = fake_dynamodb(vec![cancelled(&["None", "ConditionalCheckFailed", "None"])]).await;
    let at = time::macros::datetime!(2026-01-01 00:00 UTC);
    let outcome = store(&url).await.assign(&ConversationId::new("cv_1"), &AgentId::new("ag_1"), at).await;
    assert_eq!(outcome.unwrap(), None, "a full agent is a refusal");
    assert_eq!(transactions(&seen), 1, "a failed condition is not retried");
}

#[tokio::test]
async fn throttling_is_retryable_and_a_validation_error_is_not() {
    let throttled = (
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","Message":"slow down"}"#.into(),
    );
    let (url, _) = fake_dynamodb(vec![throttled]).await;
    let err = store(&url).await.get_agent(&AgentId::new("ag_1")).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "throttling must be retryable: {err}");

    let invalid =
        (400, r#"{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}"#.into());
    let (url, _) = fake_dynamodb(vec![invalid]).await;
    let err = store(&url).await.get_agent(&AgentId::new("ag_1")).await.unwrap_err();
    assert!(matches!(err, PortError::Backend(_)), "a validation error is permanent: {err}");
}

#[tokio::test]
async fn a_server_error_is_retryable() {
    let (url, _) =
        fake_dynamodb(vec![(500, r#"{"__type":"InternalServerError","Message":"x"}"#.into())]).await;
    let err = store(&url).await.get_agent(&AgentId::new("ag_1")).await.unwrap_err();
    assert!(err.is_retryable(), "5xx must be retryable: {err}");
}

#[tokio::test]
async fn nothing_listening_is_retryable() {
    // Bound but not listening: connections are refused, and nobody else can take the port meanwhile.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    let err = store(&url).await.get_agent(&AgentId::new("ag_1")).await.unwrap_err();
    assert!(err.is_retryable(), "a refused connection must be retryable: {err}");
}

/// A message item as the table holds it, `queued`, with a live send claim marked `claim_mark`.
fn claimed_message_item(claim_mark: &str) -> String {
    let until = (time::OffsetDateTime::now_utc() + time::Duration::minutes(2)).unix_timestamp_nanos();
    serde_json::json!({"Item": {
        "pk": {"S": "MSG#msg_1"}, "sk": {"S": "MSG"}, "entity": {"S": "message"},
        "status_rank": {"N": "0"}, "claim_until": {"N": until.to_string()}, "claim_token": {"S": claim_mark},
        "id": {"S": "msg_1"}, "conversation_id": {"S": "cv_1"}, "channel_id": {"S": "ch_1"},
        "direction": {"S": "outbound"}, "author": {"S": "agent"}, "agent_id": {"S": "ag_1"},
        "text": {"S": "On its way"}, "status": {"S": "queued"}, "encoding": {"S": "GSM-7"},
        "segments": {"N": "1"}, "attempts": {"N": "1"}, "over_limit": {"BOOL": false},
        "internal": {"BOOL": false}, "media": {"L": []},
        "created_at": {"S": "2026-01-01T00:00:00Z"}, "updated_at": {"S": "2026-01-01T00:00:00Z"}
    }})
    .to_string()
}

/// A claim whose write took but whose answer was lost: the SDK's retry of the write is refused (the first
/// try claimed it), and the read that follows shows a live claim. It is this caller's own (its mark), so
/// the send goes on; taken for another sender's, the message would wait out the lease and be marked
/// `unknown` without ever having been sent.
#[tokio::test]
async fn a_send_claim_whose_answer_was_lost_is_known_for_the_callers_own() {
    let refused = (
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","Message":"The conditional request failed"}"#.into(),
    );
    let (url, _) = fake_dynamodb(vec![refused, (200, claimed_message_item(MARK))]).await;
    let (at, id, lease) =
        (time::OffsetDateTime::now_utc(), MessageId::new("msg_1"), Duration::from_secs(120));
    let claim = store(&url).await.claim_send(&id, at, lease).await.unwrap();
    assert!(matches!(&claim, SendClaim::Claimed(m) if m.id.as_str() == "msg_1"), "{claim:?}");

    // Another sender's live claim (another mark) is held, as before.
    let refused = (
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","Message":"The conditional request failed"}"#.into(),
    );
    let (url, _) = fake_dynamodb(vec![refused, (200, claimed_message_item("someone-else"))]).await;
    let claim = store(&url).await.claim_send(&id, at, lease).await.unwrap();
    assert!(matches!(claim, SendClaim::Held), "{claim:?}");
}
