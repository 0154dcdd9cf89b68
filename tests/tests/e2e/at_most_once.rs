//! At most once to the provider (issue 7.4): a send that TeleSign may have accepted is never made again
//! blindly; it shows `unknown` to the agent, who may resend it; a client retrying a reply or a proactive
//! text with the same `Idempotency-Key` creates one message and one send.

use crate::*;
use serde_json::{Value, json};
use std::time::Duration;

async fn conversation_with_agent(s: &Setup, reference: &str, customer: &str) -> (String, String) {
    let (_agent, token) = s.agent("Ada", 5).await;
    s.text(reference, customer, "hello").await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    (token, conversation)
}

/// Waits (longer than `message_where`: the client's own timeout is 10 s) for a message to satisfy `pred`.
async fn message_eventually(
    s: &Setup,
    token: &str,
    conversation: &str,
    secs: u64,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let pred = &pred;
    eventually(secs, what, || async move {
        let c = s.api().conversation(token, conversation).await;
        c["messages"].as_array().and_then(|ms| ms.iter().find(|m| pred(m)).cloned())
    })
    .await
}

#[tokio::test]
async fn a_reply_accepted_then_timed_out_is_not_sent_twice_and_the_agent_resends_it_once() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "S1000000000000000000000000000001", "15555550301").await;
    // TeleSign takes the text, then answers after smsdesk's 10 s timeout.
    s.fake.script([Scripted::AcceptThenDelay(Duration::from_secs(13))]);
    let path = format!("/v1/conversations/{conversation}/messages");
    let reply =
        s.api().ok("POST", &path, &token, Some(json!({"text": "your refund is on its way"})), 202).await;
    let id = reply["id"].as_str().expect("id").to_string();

    let unknown = message_eventually(&s, &token, &conversation, 40, "the reply is unknown", |m| {
        m["id"] == id.as_str() && m["status"] != "queued"
    })
    .await;
    assert_eq!(
        unknown["status"], "unknown",
        "a send TeleSign may have taken is not failed nor retried: {unknown}"
    );
    let error = unknown["error"].as_str().expect("the agent sees why");
    assert!(error.contains("may have accepted") && error.contains("not resent automatically"), "{error}");
    assert_eq!(s.fake.sends().len(), 1, "sent once, not retried blindly");
    assert_eq!(s.fake.accepted().len(), 1);

    // The agent chooses to send it again: exactly one more send, as a new message.
    let resend_path = format!("/v1/conversations/{conversation}/messages/{id}/resend");
    let resent = s.api().ok("POST", &resend_path, &token, None, 202).await;
    let again = resent["id"].as_str().expect("new id").to_string();
    assert_ne!(again, id, "a resend is a new message");
    assert_eq!(resent["resend_of"], id.as_str());
    let twice = s.api().ok("POST", &resend_path, &token, None, 202).await;
    assert_eq!(twice["id"], again.as_str(), "resending twice creates one new message");
    let sent = message_eventually(&s, &token, &conversation, 20, "the resend is sent", |m| {
        m["id"] == again.as_str() && m["status"] == "sent"
    })
    .await;
    assert_eq!(sent["text"], "your refund is on its way");
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 2, "one send, then exactly one more by the agent's choice");
    assert_eq!(sends[1].field("external_id"), Some(again.as_str()));
    assert_eq!(sends[1].field("message"), Some("your refund is on its way"));

    let c = s.api().conversation(&token, &conversation).await;
    let first = c["messages"].as_array().and_then(|ms| ms.iter().find(|m| m["id"] == id.as_str()).cloned());
    assert_eq!(first.map(|m| m["status"].clone()), Some(json!("unknown")), "the first stays unknown");
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages/{again}/resend"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("not_resendable")),
        "a sent message: {body}"
    );
}

#[tokio::test]
async fn a_reply_retried_with_the_same_idempotency_key_is_one_message_and_one_send() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "S2000000000000000000000000000001", "15555550302").await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let key = [("Idempotency-Key", "reply-7f3a9c")];
    let body = json!({"text": "We have booked your repair"});
    let (status, first) = s.api().call_with("POST", &path, Some(&token), &key, Some(body.clone())).await;
    assert_eq!(status, 202, "{first}");
    let (status, retry) = s.api().call_with("POST", &path, Some(&token), &key, Some(body.clone())).await;
    assert_eq!(status, 202, "{retry}");
    assert_eq!(retry["id"], first["id"], "the retry answers with the first reply");
    let id = first["id"].as_str().expect("id").to_string();
    s.message_where(&token, &conversation, "sent", |m| m["id"] == id.as_str() && m["status"] == "sent").await;
    let (status, late) = s.api().call_with("POST", &path, Some(&token), &key, Some(body)).await;
    assert_eq!((status, late["id"].clone(), late["status"].clone()), (202, json!(id), json!("sent")));

    let c = s.api().conversation(&token, &conversation).await;
    let copies = c["messages"]
        .as_array()
        .map_or(0, |ms| ms.iter().filter(|m| m["text"] == "We have booked your repair").count());
    assert_eq!(copies, 1, "one message in the transcript");
    assert_eq!(s.fake.sends().len(), 1, "one send");

    let (status, refused) =
        s.api().call_with("POST", &path, Some(&token), &key, Some(json!({"text": "something else"}))).await;
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (422, json!("idempotency_key_reused")),
        "{refused}"
    );
    let (status, _) = s
        .api()
        .call_with(
            "POST",
            &path,
            Some(&token),
            &[("Idempotency-Key", "has space")],
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(status, 400, "a malformed key is refused");
}

#[tokio::test]
async fn a_proactive_text_retried_with_the_same_idempotency_key_is_one_message_and_one_send() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    let key = [("Idempotency-Key", "notice-2026-11-29-0001")];
    let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550303",
                      "text": "Your parcel arrives today", "session": true});
    let (status, first) =
        s.api().call_with("POST", "/v1/messages", Some(&token), &key, Some(body.clone())).await;
    assert_eq!(status, 202, "{first}");
    let (status, retry) = s.api().call_with("POST", "/v1/messages", Some(&token), &key, Some(body)).await;
    assert_eq!(status, 202, "{retry}");
    assert_eq!(
        (retry["id"].clone(), retry["conversation_id"].clone()),
        (first["id"].clone(), first["conversation_id"].clone())
    );
    let conversation = first["conversation_id"].as_str().expect("conversation").to_string();
    let id = first["id"].as_str().expect("id").to_string();
    s.message_where(&token, &conversation, "sent", |m| m["id"] == id.as_str() && m["status"] == "sent").await;
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "one message: {c}");
    assert_eq!(s.fake.sends().len(), 1, "one send");
}
