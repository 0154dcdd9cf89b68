//! An opt-out that only the provider knows of (Twilio 21610 and its like), shown with the sandbox provider's
//! `[sandbox:optout]` marker, so embedded shape only: the send fails for good with the provider's reason,
//! the opt-out is recorded, and the next reply is refused by consent before it reaches the provider.

use serde_json::{Value, json};
use smsdesk_tests::*;

async fn message_where(
    api: &Api,
    token: &str,
    conversation: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    eventually(30, what, || async {
        let c = api.conversation(token, conversation).await;
        c["messages"].as_array().and_then(|ms| ms.iter().find(|m| pred(m)).cloned())
    })
    .await
}

#[tokio::test]
async fn an_opt_out_reported_by_the_provider_fails_the_send_and_stops_the_next_one() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let queue = api.create_queue("Support").await;
    let channel = api
        .ok(
            "POST",
            "/v1/channels",
            ADMIN_TOKEN,
            Some(json!({"name": "Sandbox", "provider": "sandbox", "numbers": [
                {"number": "15555550100", "type": "geo", "description": "", "queue": queue}]})),
            201,
        )
        .await;
    let channel = channel["id"].as_str().expect("channel id").to_string();
    let (agent, token) = api.create_agent("Ada", &[&queue], 2).await;
    api.presence(&agent, &token, "available").await;
    let text = json!({"channel_id": channel, "from": "+15555550123", "to": "+15555550100", "text": "Hi"});
    api.ok("POST", "/v1/sandbox/inbound", ADMIN_TOKEN, Some(text), 202).await;
    let conversation = eventually(30, "the conversation reaches the agent", || async {
        api.work_items(&token)
            .await
            .into_iter()
            .find_map(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;

    let reply = |text: &'static str| {
        let path = format!("/v1/conversations/{conversation}/messages");
        let token = token.clone();
        async move {
            let answer = api.ok("POST", &path, &token, Some(json!({"text": text})), 202).await;
            answer["id"].as_str().expect("message id").to_string()
        }
    };
    let first = reply("On its way [sandbox:optout]").await;
    let failed = message_where(api, &token, &conversation, "the provider refuses the first reply", |m| {
        m["id"] == first.as_str() && m["status"] == "failed"
    })
    .await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("opted out at the provider")), "{failed}");

    // The next reply is refused at once (409 opted_out), and kept in the transcript, failed, with why.
    let path = format!("/v1/conversations/{conversation}/messages");
    let key = [("Idempotency-Key", "still-there-1")];
    let body = json!({"text": "Are you still there?"});
    let (status, answer) = api.call_with("POST", &path, Some(&token), &key, Some(body.clone())).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "opted_out", "{answer}");
    // The client retries the same request: refused again, as the first was (never a 202 for a text that
    // will not go).
    let (status, again) = api.call_with("POST", &path, Some(&token), &key, Some(body)).await;
    assert_eq!((status, &again["error"]["code"]), (409, &json!("opted_out")), "{again}");
    let refused = message_where(api, &token, &conversation, "consent refuses the second reply", |m| {
        m["text"] == "Are you still there?" && m["status"] == "failed"
    })
    .await;
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("opted out (STOP)")), "{refused}");
    let trail = api.ok("GET", "/v1/consent?phone=%2B15555550123", ADMIN_TOKEN, None, 200).await;
    let causes: Vec<&str> =
        trail["history"].as_array().into_iter().flatten().filter_map(|c| c["cause"].as_str()).collect();
    assert!(causes.contains(&"provider_error"), "the provider's opt-out is in the audit trail: {trail}");
    let outbox = api.ok("GET", "/v1/sandbox/outbox", ADMIN_TOKEN, None, 200).await;
    let sent: Vec<&str> =
        outbox["items"].as_array().into_iter().flatten().filter_map(|i| i["text"].as_str()).collect();
    assert!(!sent.iter().any(|t| t.contains("still there") || t.contains("On its way")), "{sent:?}");
}
