//! Offline hand-back (issue 10.2), on the app's clock: an agent who goes offline hands back what they hold
//! after the queue's grace period (`offline_handback_secs`), and another agent gets it; an agent back online
//! in time keeps it; a queue without a grace period (the default) lets them keep it.

use crate::*;
use serde_json::json;
use smsdesk_tests::*;
use std::time::Duration;

const CUSTOMER: &str = "+15555550951";

/// A queue with `settings`; Ada holds the customer's conversation (active); Bob, free, joins afterwards.
/// Returns the setup, (Ada's id, token), (Bob's id, token) and the conversation.
async fn ada_holds_one(
    settings: serde_json::Value,
) -> Option<(Setup, (String, String), (String, String), String)> {
    let s = Setup::with_queue(settings).await?;
    let ada = s.agent("Ada", 1).await;
    s.text("H1000000000000000000000000000001", &CUSTOMER[1..], "my order?").await;
    let conversation = s.work_item_for(&ada.1, CUSTOMER).await;
    s.conversation_where(&conversation, "Ada has it", |c| c["state"] == "active").await;
    let bob = s.agent("Bob", 1).await;
    Some((s, ada, bob, conversation))
}

#[tokio::test]
async fn an_agent_gone_offline_hands_back_after_the_grace_period_and_another_agent_gets_it() {
    let settings = json!({"name": "Support", "offline_handback_secs": 600});
    let Some((s, ada, bob, conversation)) = ada_holds_one(settings).await else { return };
    s.api().presence(&ada.0, &ada.1, "offline").await;

    // Within the grace period (ten minutes) nothing moves. (The test clock still flows: margins of minutes.)
    s.app.clock.advance(Duration::from_secs(300));
    s.app.settled().await;
    let kept = s.api().conversation(ADMIN_TOKEN, &conversation).await;
    assert_eq!((&kept["state"], &kept["agent_id"]), (&json!("active"), &json!(ada.0)), "{kept}");
    assert_eq!(s.active_of(&ada.0).await, 1);

    // After it: back to the queue, then to Bob; Ada's slot comes back once; the transcript says why.
    s.app.clock.advance(Duration::from_secs(400));
    let moved = s.conversation_where(&conversation, "Bob gets it", |c| c["agent_id"] == json!(bob.0)).await;
    assert_eq!(moved["state"], "active", "{moved}");
    assert_eq!(s.active_of(&ada.0).await, 0, "Ada's slot is given back");
    assert_eq!(s.active_of(&bob.0).await, 1);
    let notes: Vec<String> = moved["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(notes.len(), 1, "{moved}");
    assert!(notes[0].starts_with("Handed back to the queue: Ada went offline"), "{notes:?}");
    assert_eq!(s.work_item_for(&bob.1, CUSTOMER).await, conversation);
    let adas = s.api().work_items(&ada.1).await;
    assert!(adas.is_empty(), "nothing left with Ada: {adas:?}");

    // Bob answers; the customer gets it once.
    let reply = s.reply(&bob.1, &conversation, "Bob here, looking into it").await;
    s.message_status(&bob.1, &conversation, &reply, "sent").await;
    s.app.settled().await;
    let again = s.api().conversation(ADMIN_TOKEN, &conversation).await;
    assert_eq!(again["notes"].as_array().map(Vec::len), Some(1), "handed back once: {again}");
}

#[tokio::test]
async fn an_agent_back_online_within_the_grace_period_keeps_the_conversation() {
    let settings = json!({"name": "Support", "offline_handback_secs": 300});
    let Some((s, ada, bob, conversation)) = ada_holds_one(settings).await else { return };
    s.api().presence(&ada.0, &ada.1, "offline").await;
    s.app.clock.advance(Duration::from_secs(200));
    s.app.settled().await;
    s.api().presence(&ada.0, &ada.1, "available").await;
    s.app.clock.advance(Duration::from_secs(200));
    s.app.settled().await;
    let kept = s.api().conversation(ADMIN_TOKEN, &conversation).await;
    assert_eq!((&kept["state"], &kept["agent_id"]), (&json!("active"), &json!(ada.0)), "{kept}");
    assert_eq!((s.active_of(&ada.0).await, s.active_of(&bob.0).await), (1, 0));
    assert_eq!(kept["notes"].as_array().map(Vec::len), Some(0), "{kept}");
}

#[tokio::test]
async fn by_default_an_offline_agent_keeps_what_they_hold_and_the_setting_has_rules() {
    let Some((s, ada, bob, conversation)) = ada_holds_one(json!({"name": "Support"})).await else { return };
    let queue = format!("/v1/queues/{}", s.queue);
    let shown = s.api().ok("GET", &queue, ADMIN_TOKEN, None, 200).await;
    assert_eq!(shown.get("offline_handback_secs"), None, "unset by default: {shown}");
    s.api().presence(&ada.0, &ada.1, "offline").await;
    s.app.clock.advance(Duration::from_secs(2 * 3600));
    s.app.settled().await;
    let kept = s.api().conversation(ADMIN_TOKEN, &conversation).await;
    assert_eq!((&kept["state"], &kept["agent_id"]), (&json!("active"), &json!(ada.0)), "{kept}");
    assert_eq!((s.active_of(&ada.0).await, s.active_of(&bob.0).await), (1, 0));

    for bad in [json!(-1), json!("soon"), json!(8 * 24 * 3600)] {
        let (status, answer) =
            s.api().admin("PATCH", &queue, Some(json!({"offline_handback_secs": bad}))).await;
        assert_eq!(status, 400, "{bad}: {answer}");
    }
    let too_long = json!({"offline_handback_secs": 8 * 24 * 3600});
    let (_, answer) = s.api().admin("PATCH", &queue, Some(too_long)).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("offline_handback_secs: must be between 0 and 604800"), "{answer}");
    let patched =
        s.api().ok("PATCH", &queue, ADMIN_TOKEN, Some(json!({"offline_handback_secs": 60})), 200).await;
    assert_eq!(patched["offline_handback_secs"], 60, "{patched}");
    // Set now, while Ada has been offline for two hours: her conversation goes to Bob at the next sweep.
    s.conversation_where(&conversation, "Bob gets it", |c| c["agent_id"] == json!(bob.0)).await;
}
