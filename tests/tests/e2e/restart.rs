//! `smsdesk dev` killed with work in its queues (SIGKILL, as in a crash) and started again: no acknowledged
//! text and no queued send is lost, and nothing is sent twice.

use crate::*;
use serde_json::json;

#[tokio::test]
async fn a_killed_dev_server_loses_no_acknowledged_text_and_no_queued_send() {
    let binary = smsdesk_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("smsdesk.db");
    // TeleSign is down at first: its port is bound but not listening (connections are refused).
    let fake = FakeTelesign::start().await;
    let port = ClosedPort::new();
    let down = port.addr;
    let fast = [
        ("SMSDESK_RETRY_BASE_MS", "1500"),
        ("SMSDESK_SEND_ATTEMPTS", "5"),
        ("SMSDESK_VISIBILITY_SECS", "3"),
        ("SMSDESK_SEND_LEASE_SECS", "3"),
    ];

    // 1. Workers on: a conversation reaches the agent; the agent's reply cannot be sent yet.
    let first = DevProcess::spawn(&binary, &data, &fast).await;
    let api = first.api.clone();
    let queue = api.create_queue("Support").await;
    let mut body = json!({
        "name": "TeleSign", "provider": "telesign",
        "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
        "base_url": format!("http://{down}"),
        "numbers": [{"number": OUR_NUMBER, "type": "geo", "description": "", "queue": queue}],
        // This test counts the sends of the agent's reply across crashes; automated messages are off.
        "automated_messages_enabled": false,
    });
    let channel = api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body.take()), 201).await;
    let channel = channel["id"].as_str().expect("id").to_string();
    let webhook = format!("/webhooks/telesign/{channel}");
    let (agent, token) = api.create_agent("Ada", &[&queue], 5).await;
    api.presence(&agent, &token, "available").await;
    let raw = telesign_mo("R1000000000000000000000000000001", "15555550301", OUR_NUMBER, "before the crash");
    assert_eq!(api.webhook(&webhook, &raw, Some(&fake.sign_callback(&raw))).await.0, 200);
    let conversation = eventually(30, "conversation assigned", || async {
        api.work_items(&token).await.first().and_then(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    let reply = api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "queued across a crash"})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("id").to_string();
    // Killed between two attempts, with the reply queued: its first attempt was refused and recorded (the
    // claim released), the next is ~1.5 s away. A kill during an attempt would leave the reply `unknown`
    // instead, by design (the request may have gone out: `at_most_once` shows that case).
    eventually(30, "the reply's first attempt is refused and recorded", || async {
        let c = api.conversation(&token, &conversation).await;
        let messages = c["messages"].as_array().cloned().unwrap_or_default();
        let reply = messages.into_iter().find(|m| m["id"] == reply_id.as_str())?;
        (reply["status"] == "queued" && reply["attempts"].as_u64() >= Some(1) && reply["error"].is_string())
            .then_some(())
    })
    .await;
    first.kill();

    // 2. Workers off: texts are acknowledged and stay queued; then another crash.
    let second = DevProcess::spawn(&binary, &data, &[("SMSDESK_WORKERS", "false")]).await;
    for (i, text) in ["acked one", "acked two"].iter().enumerate() {
        let raw =
            telesign_mo(&format!("R200000000000000000000000000000{i}"), "15555550301", OUR_NUMBER, text);
        assert_eq!(second.api.webhook(&webhook, &raw, Some(&fake.sign_callback(&raw))).await.0, 200);
    }
    second.kill();

    // 3. TeleSign is back on its port; the server restarts with workers on.
    let back = fake.restart_on(port).await;
    let third = DevProcess::spawn(&binary, &data, &fast).await;
    let api = third.api.clone();
    let c = eventually(60, "every acknowledged text is in the transcript and the reply is sent", || async {
        let c = api.conversation(&token, &conversation).await;
        let messages = c["messages"].as_array().cloned().unwrap_or_default();
        let texts: Vec<String> = messages
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .filter_map(|m| m["text"].as_str().map(str::to_string))
            .collect();
        let sent = messages.iter().any(|m| m["id"] == reply_id.as_str() && m["status"] == "sent");
        (texts.len() == 3 && sent).then_some(c)
    })
    .await;
    let texts: Vec<&str> = c["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, vec!["before the crash", "acked one", "acked two"]);
    // Nothing is sent twice: the queues drain and stay empty past the longest delay configured above
    // (visibility and lease 3 s, the last of five retries 1.5 s x 2^3).
    settle_database(&data, std::time::Duration::from_secs(12)).await;
    let sends = back.sends();
    assert_eq!(sends.len(), 1, "sent exactly once: {sends:?}");
    assert!(sends[0].signature_ok);
    assert_eq!(sends[0].field("external_id"), Some(reply_id.as_str()));
    drop(third);
}
