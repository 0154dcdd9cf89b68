//! Bot hand-off (issue 11.7): a queue names a bot; the customer's texts go to it first, signed with the
//! queue's secret (a real HTTP server on loopback checks the signature); its replies are system messages;
//! its hand-off (with a target queue and context) files the conversation for an agent. A bot that times out
//! hands over at once.

use crate::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use smsdesk_tests::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "bot-secret-0123456789";

/// A bot on loopback: answers the first two texts, hands over on the third (to `target`, with context);
/// or, with `stall`, answers nothing for longer than smsdesk waits.
#[derive(Clone)]
struct FakeBot {
    seen: Arc<Mutex<Vec<(Value, bool)>>>,
    /// When the first request came in.
    first_asked: Arc<std::sync::OnceLock<std::time::Instant>>,
    target: Option<String>,
    stall: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn bot_handler(State(bot): State<FakeBot>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let timestamp = headers.get("x-smsdesk-timestamp").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let signature = headers.get("x-smsdesk-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signed = signature == format!("sha256={}", hex(&mac.finalize().into_bytes()));
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    bot.first_asked.get_or_init(std::time::Instant::now);
    let n = {
        let mut seen = bot.seen.lock().expect("lock");
        seen.push((request, signed));
        seen.len()
    };
    if !signed {
        return (StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    if bot.stall {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return (StatusCode::OK, "{}".into());
    }
    let answer = match n {
        1 => json!({"replies": ["Hi, I am the bot. What is your order number?"]}),
        2 => json!({"replies": ["Thanks. Anything else?"]}),
        _ => json!({"replies": ["Passing you to a person."],
                    "handoff": {"queue": bot.target, "context": "order 1234, wants a refund"}}),
    };
    (StatusCode::OK, answer.to_string())
}

async fn start_bot(target: Option<String>, stall: bool) -> (FakeBot, String) {
    let bot = FakeBot { seen: Arc::default(), first_asked: Arc::default(), target, stall };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind bot");
    let addr = listener.local_addr().expect("bot addr");
    let app = Router::new().fallback(bot_handler).with_state(bot.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (bot, format!("http://{addr}/bot"))
}

async fn conversation_of(s: &Setup, customer: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let pred = &pred;
    eventually(20, what, || async move {
        let all = s.api().work_items(ADMIN_TOKEN).await;
        let id = all.iter().find(|w| w["customer"] == customer)?["conversation_id"].as_str()?.to_string();
        let c = s.api().conversation(ADMIN_TOKEN, &id).await;
        pred(&c).then_some(c)
    })
    .await
}

fn system_count(c: &Value) -> usize {
    c["messages"].as_array().map(|m| m.iter().filter(|m| m["author"] == "system").count()).unwrap_or(0)
}

#[tokio::test]
async fn a_bot_answers_twice_then_hands_over_with_context_to_another_queue() {
    let Some(s) = Setup::new().await else { return };
    let escalations = s.api().create_queue("Escalations").await;
    let (bot, url) = start_bot(Some(escalations.clone()), false).await;
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/queues/{}", s.queue),
            ADMIN_TOKEN,
            Some(json!({"bot": {"url": url, "secret": SECRET}})),
            200,
        )
        .await;
    let read = s.api().ok("GET", &format!("/v1/queues/{}", s.queue), ADMIN_TOKEN, None, 200).await;
    assert_eq!(read["bot"]["secret"], "[redacted]", "the secret is never shown: {read}");
    let (_support, support_token) = s.agent("Sam", 2).await;
    let (esc, esc_token) = s.api().create_agent("Eve", &[&escalations], 2).await;
    s.api().presence(&esc, &esc_token, "available").await;

    let who = "+15555550801";
    s.text("V4000000000000000000000000000001", &who[1..], "Hello").await;
    let c = conversation_of(&s, who, "the bot's first reply", |c| system_count(c) >= 1).await;
    assert_eq!(c["state"], "routing", "{c}");
    s.text("V4000000000000000000000000000002", &who[1..], "It is 1234").await;
    conversation_of(&s, who, "the bot's second reply", |c| system_count(c) >= 2).await;
    assert!(s.api().work_items(&support_token).await.is_empty(), "nobody gets it while the bot talks");
    s.text("V4000000000000000000000000000003", &who[1..], "I want a refund").await;

    let id = s.work_item_for(&esc_token, who).await;
    let c = s.api().conversation(&esc_token, &id).await;
    assert_eq!((&c["queue_id"], &c["state"]), (&json!(escalations), &json!("active")), "{c}");
    assert_eq!(c["handoff_context"], "order 1234, wants a refund", "the agent sees the bot's context");
    let transcript: Vec<(String, String)> = c["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (m["author"].as_str().unwrap_or_default().into(), m["text"].as_str().unwrap_or_default().into())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("customer", "Hello"),
        ("system", "Hi, I am the bot. What is your order number?"),
        ("customer", "It is 1234"),
        ("system", "Thanks. Anything else?"),
        ("customer", "I want a refund"),
        ("system", "Passing you to a person."),
    ]
    .iter()
    .map(|(a, t)| (a.to_string(), t.to_string()))
    .collect();
    assert_eq!(transcript, expected);
    let seen = bot.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 3, "the bot got each text once");
    assert!(seen.iter().all(|(_, signed)| *signed), "every request carried a good signature");
    assert_eq!(seen[0].0["text"], "Hello");
    assert_eq!(seen[0].0["conversation_id"], json!(id));
    eventually(30, "the bot's replies reach the customer", || async {
        s.fake.sends().iter().any(|x| x.field("message") == Some("Passing you to a person.")).then_some(())
    })
    .await;
    assert!(s.api().work_items(&support_token).await.is_empty(), "the bot's own queue got nothing");
    // After the hand-off, texts go to the agent, not the bot.
    s.text("V4000000000000000000000000000004", &who[1..], "Hello?").await;
    s.app.settled().await;
    assert_eq!(bot.seen.lock().expect("lock").len(), 3, "no text after the hand-off goes to the bot");
}

#[tokio::test]
async fn a_bot_that_times_out_hands_over_at_once() {
    let Some(s) = Setup::new().await else { return };
    let (bot, url) = start_bot(None, true).await;
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/queues/{}", s.queue),
            ADMIN_TOKEN,
            Some(json!({"bot": {"url": url, "secret": SECRET}})),
            200,
        )
        .await;
    let (_agent, token) = s.agent("Sam", 2).await;
    let who = "+15555550802";
    s.text("V4000000000000000000000000000101", &who[1..], "Hello").await;
    let id = s.work_item_for(&token, who).await;
    // Timed from the bot's request, not from the text (on a loaded machine the webhook, the queue and the
    // router took seconds of their own before it): the bot's 3-second timeout, then at once to the agent,
    // not after the text's visibility timeout and a second try (3 + 5 + 3 s, and a second request).
    let since_asked = bot.first_asked.get().expect("the bot was asked").elapsed();
    assert!(
        since_asked < Duration::from_secs(3 + 5),
        "handed over within the bot timeout, not later: {since_asked:?} after the bot was asked"
    );
    let c = s.api().conversation(&token, &id).await;
    assert_eq!((&c["state"], &c["queue_id"]), (&json!("active"), &json!(s.queue)), "{c}");
    assert!(c["handoff_context"].as_str().unwrap_or_default().contains("timed out"), "{c}");
    assert_eq!(bot.seen.lock().expect("lock").len(), 1, "the bot was asked once");
    assert!(bot.seen.lock().expect("lock")[0].1, "signed");
}
