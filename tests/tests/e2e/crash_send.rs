//! A sender that dies after TeleSign took the text (SIGKILL while waiting for TeleSign's answer): when the
//! job comes back after the claim's lease, the text is not sent again; the agent sees it `unknown`.
//! Embedded shape only (it kills the `smsdesk dev` process).

use crate::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn a_sender_killed_after_telesign_took_the_text_does_not_send_it_again() {
    let binary = smsdesk_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("smsdesk.db");
    let fake = FakeTelesign::start().await;
    // TeleSign takes the text and answers only long after the process is gone.
    fake.script([Scripted::AcceptThenDelay(Duration::from_secs(60))]);
    let fast = [
        ("SMSDESK_RETRY_BASE_MS", "200"),
        ("SMSDESK_VISIBILITY_SECS", "2"),
        ("SMSDESK_SEND_LEASE_SECS", "2"),
    ];
    let first = DevProcess::spawn(&binary, &data, &fast).await;
    let api = first.api.clone();
    let queue = api.create_queue("Support").await;
    let channel = api
        .telesign_channel_with(
            &fake,
            &[OUR_NUMBER],
            &queue,
            serde_json::json!({"automated_messages_enabled": false}),
        )
        .await;
    let webhook = format!("/webhooks/telesign/{}", channel["id"].as_str().expect("id"));
    let (agent, token) = api.create_agent("Ada", &[&queue], 5).await;
    api.presence(&agent, &token, "available").await;
    let raw = telesign_mo("C1000000000000000000000000000001", "15555550311", OUR_NUMBER, "hello");
    assert_eq!(api.webhook(&webhook, &raw, Some(&fake.sign_callback(&raw))).await.0, 200);
    let conversation = eventually(30, "conversation assigned", || async {
        api.work_items(&token).await.first().and_then(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let reply = api.ok("POST", &path, &token, Some(json!({"text": "sent just before the crash"})), 202).await;
    let id = reply["id"].as_str().expect("id").to_string();
    eventually(30, "TeleSign took the text", || async { (fake.accepted().len() == 1).then_some(()) }).await;
    first.kill();

    let second = DevProcess::spawn(&binary, &data, &fast).await;
    let api = second.api.clone();
    let m = eventually(30, "the reply is settled after the restart", || async {
        let c = api.conversation(&token, &conversation).await;
        c["messages"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["id"] == id.as_str() && m["status"] != "queued").cloned())
    })
    .await;
    assert_eq!(m["status"], "unknown", "not resent after the crash: {m}");
    assert!(m["error"].as_str().is_some_and(|e| e.contains("may have accepted")), "{m}");
    assert_eq!(fake.sends().len(), 1, "TeleSign got it once");
}
