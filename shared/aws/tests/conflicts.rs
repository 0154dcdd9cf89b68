//! What DynamoDB Local never does: cancel a transaction because another one touched the same item
//! (`TransactionConflict`), or throttle. A scripted fake DynamoDB on loopback answers with those errors, to
//! check that the store retries conflicts itself, tells a failed condition apart, and maps throttling to a
//! retryable error. No emulator needed.

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use smsdesk_aws::DynamoStore;
use smsdesk_domain::{Agent, AgentId, ConversationId, Presence};
use smsdesk_ports::{AgentStore, ConversationStore, PortError};
use std::sync::{Arc, Mutex};
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
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (script, seen) = (script.clone(), seen_by_server.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let Some((target, consumed)) = read_request(&mut conn, &mut buf).await else { return };
                    let body: serde_json::Value =
                        serde_json::from_slice(&buf[consumed.1..consumed.0]).unwrap_or_default();
                    buf.drain(..consumed.0);
                    let token = body["ClientRequestToken"].as_str().map(str::to_string);
                    seen.lock().unwrap().push((target, token));
                    let (status, body) = script.lock().unwrap().next().unwrap_or((200, "{}".into()));
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
