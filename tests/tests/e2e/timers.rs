//! Timers, on the app's clock (the test moves it forward): a conversation idle past its channel's inactivity
//! period (8 hours by default, or the channel's own) is closed, which frees its agent for whoever waits; a
//! recent one is not, nor one whose customer waits in the queue for an agent.

use crate::*;
use serde_json::json;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_conversation_idle_past_the_default_eight_hours_is_closed_and_its_agent_serves_the_next_customer() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("V1000000000000000000000000000001", "15555550501", "yesterday").await;
    let idle = s.work_item_for(&token, "+15555550501").await;

    // 7 hours later another customer writes; Ada is full, so they wait.
    s.app.clock.advance(7 * HOUR);
    s.text("V1000000000000000000000000000002", "15555550502", "today").await;
    let waiting = eventually(30, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550502")
    })
    .await;
    assert_eq!(waiting["state"], "open", "{waiting}");
    let recent = waiting["conversation_id"].as_str().expect("id").to_string();
    let before = s.api().conversation(&token, &idle).await;
    assert_eq!(before["state"], "active", "7 hours idle is within the 8 hours: {before}");

    // Two hours more: the first is 9 hours idle, the second 2.
    s.app.clock.advance(2 * HOUR);
    s.work_item_for(&token, "+15555550502").await;
    let closed = s.api().ok("GET", &format!("/v1/conversations/{idle}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["close_reason"], "closed after inactivity");
    let open = s.api().conversation(&token, &recent).await;
    assert_eq!((&open["state"], &open["agent_id"]), (&json!("active"), &json!(ada)), "{open}");
    let items: Vec<_> =
        s.api().work_items(&token).await.into_iter().map(|w| w["conversation_id"].clone()).collect();
    assert_eq!(items, vec![json!(recent)]);
}

#[tokio::test]
async fn a_channel_with_its_own_inactivity_period_closes_its_conversations_after_it() {
    let Some(s) = Setup::new().await else { return };
    let body = |secs: serde_json::Value| {
        json!({
            // Automated messages on (the default): they are no activity, whenever they are sent.
            "name": "Short", "provider": "telesign", "inactivity_secs": secs,
            "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
            "base_url": s.fake.base_url(),
            "numbers": [{"number": "15555550188", "type": "geo", "description": "short line", "queue": s.queue}],
        })
    };
    let (status, answer) = s.api().admin("POST", "/v1/channels", Some(body(json!(30)))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("inactivity_secs: ")),
        "{answer}"
    );
    let short = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body(json!(600))), 201).await;
    assert_eq!(short["inactivity_secs"], 600, "{short}");
    let short = short["id"].as_str().expect("channel id").to_string();

    let (_ada, token) = s.agent("Ada", 2).await;
    s.text("V2000000000000000000000000000001", "15555550511", "default channel").await;
    let long = s.work_item_for(&token, "+15555550511").await;
    let raw = telesign_mo("V2000000000000000000000000000002", "15555550512", "15555550188", "short channel");
    let path = format!("/webhooks/telesign/{short}");
    let (status, answer) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{answer}");
    let brief = s.work_item_for(&token, "+15555550512").await;

    s.app.clock.advance(Duration::from_secs(9 * 60));
    s.app.settled().await;
    assert_eq!(s.api().conversation(&token, &brief).await["state"], "active", "9 minutes: within 10");
    s.app.clock.advance(Duration::from_secs(2 * 60));
    let closed = eventually(30, "the short channel's conversation closes", || async {
        let c = s.api().conversation(ADMIN_TOKEN, &brief).await;
        (c["state"] == "closed").then_some(c)
    })
    .await;
    assert_eq!(closed["close_reason"], "closed after inactivity", "{closed}");
    assert_eq!(
        s.api().conversation(&token, &long).await["state"],
        "active",
        "the default channel's 8 hours hold"
    );
}

#[tokio::test]
async fn automated_messages_keep_no_conversation_alive() {
    let Some(s) = Setup::new().await else { return };
    // Ten minutes of inactivity, automated messages on: greeting, place in line, "agent joined".
    let short = json!({
        "name": "Short", "provider": "telesign", "inactivity_secs": 600,
        "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
        "base_url": s.fake.base_url(),
        "numbers": [{"number": "15555550189", "type": "geo", "description": "short line", "queue": s.queue}],
    });
    let short = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(short), 201).await;
    let short = short["id"].as_str().expect("channel id").to_string();

    // Nobody is free: the customer's text waits in line.
    let raw = telesign_mo("V2000000000000000000000000000011", "15555550513", "15555550189", "anyone there?");
    let path = format!("/webhooks/telesign/{short}");
    let (status, answer) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{answer}");
    eventually(30, "the customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550513")
    })
    .await;

    // Nine minutes later Ada comes online and takes it; "Ada has joined" is sent then, by nobody.
    s.app.clock.advance(Duration::from_secs(9 * 60));
    let (_ada, token) = s.agent("Ada", 1).await;
    let id = s.work_item_for(&token, "+15555550513").await;
    eventually(30, "the automated \"agent joined\" message", || async {
        let c = s.api().conversation(ADMIN_TOKEN, &id).await;
        let messages = c["messages"].as_array().cloned().unwrap_or_default();
        messages
            .into_iter()
            .find(|m| m["author"] == "system" && m["text"].as_str().is_some_and(|t| t.contains("Ada")))
    })
    .await;
    s.app.settled().await;

    // Two minutes more: 11 since the customer wrote, 2 since Ada was announced. Nobody wrote for 10.
    s.app.clock.advance(Duration::from_secs(2 * 60));
    let closed = eventually(30, "the conversation closes after the customer's inactivity", || async {
        let c = s.api().conversation(ADMIN_TOKEN, &id).await;
        (c["state"] == "closed").then_some(c)
    })
    .await;
    assert_eq!(closed["close_reason"], "closed after inactivity", "{closed}");
}

/// A customer waiting in the queue is waiting for us: inactivity never closes their conversation (the
/// queue's expiry does, when it has one), however long nobody is free; once an agent is, they get it.
#[tokio::test]
async fn a_customer_waiting_in_the_queue_is_never_closed_for_inactivity() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("V3000000000000000000000000000001", "15555550521", "first").await;
    let held = s.work_item_for(&token, "+15555550521").await;
    s.text("V3000000000000000000000000000002", "15555550522", "second").await;
    let waiting = eventually(30, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550522")
    })
    .await;
    let waiting = waiting["conversation_id"].as_str().expect("id").to_string();
    // Ada's reply keeps hers alive; the waiting customer says nothing for nine hours.
    s.app.clock.advance(5 * HOUR);
    s.reply(&token, &held, "Still checking, thanks for your patience").await;
    s.app.clock.advance(4 * HOUR);
    s.app.settled().await;
    let still = s.api().conversation(ADMIN_TOKEN, &waiting).await;
    assert_eq!((&still["state"], &still["close_reason"]), (&json!("open"), &json!(null)), "{still}");
    // Ada closes hers: the waiting customer is hers next.
    s.api().ok("POST", &format!("/v1/conversations/{held}/close"), &token, None, 200).await;
    let next = s
        .conversation_where(&waiting, "the waiting customer goes to Ada", |c| c["agent_id"] == json!(ada))
        .await;
    assert_eq!(next["state"], "active", "{next}");
}
