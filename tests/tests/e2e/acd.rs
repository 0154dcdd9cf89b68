//! Distribution (issue 11.3): among the waiting conversations of an agent's queues, the highest current
//! priority goes first, then the oldest; priority escalation (add N every M seconds of waiting, up to a
//! maximum) reorders them as time passes (test clock).

use crate::*;
use serde_json::json;
use std::time::Duration;

const SECOND_NUMBER: &str = "15555550177";

/// Ada serves a plain queue (priority 1) and an escalating one (0, +5 every hour, up to 10); she holds one
/// conversation, so both customers wait: the returned ids are (plain, escalating, Ada's first). The test
/// clock flows with real time too: an hour's step keeps a slow run (minutes under load) from escalating.
async fn two_waiting(s: &Setup, tag: &str) -> (String, String, String, String, String) {
    let escalating = s
        .api()
        .ok(
            "POST",
            "/v1/queues",
            ADMIN_TOKEN,
            Some(json!({"name": "Urgent", "escalation_add": 5, "escalation_every_secs": 3600, "max_priority": 10, "auto_accept": true})),
            201,
        )
        .await;
    let escalating = escalating["id"].as_str().expect("queue id").to_string();
    let second = s.api().telesign_channel(&s.fake, &[SECOND_NUMBER], &escalating).await;
    let second = second["id"].as_str().expect("channel id").to_string();
    let (ada, token) = s.api().create_agent("Ada", &[&s.queue, &escalating], 1).await;
    s.api().presence(&ada, &token, "available").await;

    s.text(&format!("{tag}000000000000000000000000000001"), "15555550701", "first").await;
    let busy = s.work_item_for(&token, "+15555550701").await;
    // The plain queue's customer writes first (older), the escalating queue's right after.
    s.text(&format!("{tag}000000000000000000000000000002"), "15555550702", "plain").await;
    let plain = eventually(30, "the plain customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550702")
    })
    .await;
    s.app.clock.advance(Duration::from_secs(1));
    s.text_on(
        &second,
        SECOND_NUMBER,
        &format!("{tag}000000000000000000000000000003"),
        "15555550703",
        "urgent",
    )
    .await;
    let urgent = eventually(30, "the urgent customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550703")
    })
    .await;
    assert_eq!((&plain["state"], &urgent["state"]), (&json!("open"), &json!("open")));
    // The router's work on the texts (its dispatch of the text's queue) is done before Ada gets room:
    // otherwise that one-queue dispatch may hand her the urgent conversation before the cross-queue order
    // is applied (a race the AWS shape, slower, showed).
    s.app.settled().await;
    let id = |w: &serde_json::Value| w["conversation_id"].as_str().expect("id").to_string();
    (id(&plain), id(&urgent), busy, ada, token)
}

/// Which of the `waiting` conversations becomes Ada's once she has room: polls her work items (which list
/// her queues' waiting conversations too) until one of them is active, with a generous bound (the AWS shape
/// on a loaded machine takes its time), never a fixed wait.
async fn next_for_ada(s: &Setup, token: &str, waiting: &[&str]) -> String {
    eventually(60, "a waiting conversation becomes Ada's", || async {
        s.api().work_items(token).await.into_iter().find_map(|w| {
            let id = w["conversation_id"].as_str()?;
            (waiting.contains(&id) && w["state"] == "active").then(|| id.to_string())
        })
    })
    .await
}

#[tokio::test]
async fn without_escalation_time_the_higher_initial_priority_goes_first() {
    let Some(s) = Setup::with_queue(json!({"name": "Plain", "initial_priority": 1})).await else { return };
    let (plain, urgent, busy, _ada, token) = two_waiting(&s, "P1").await;
    s.api().ok("POST", &format!("/v1/conversations/{busy}/close"), &token, None, 200).await;
    let next = next_for_ada(&s, &token, &[&plain, &urgent]).await;
    assert_eq!(next, plain, "priority 1 beats a fresh escalating conversation at 0");
    assert_eq!(s.api().conversation(ADMIN_TOKEN, &urgent).await["state"], "open");
}

#[tokio::test]
async fn priority_escalation_puts_the_longer_waiting_conversation_of_an_escalating_queue_first() {
    let Some(s) = Setup::with_queue(json!({"name": "Plain", "initial_priority": 1})).await else { return };
    let (plain, urgent, busy, _ada, token) = two_waiting(&s, "P2").await;
    // Two hours on: the escalating queue's customer is at 0 + 2 x 5 = 10, above the plain queue's 1.
    s.app.clock.advance(Duration::from_secs(2 * 3600));
    s.api().ok("POST", &format!("/v1/conversations/{busy}/close"), &token, None, 200).await;
    let next = next_for_ada(&s, &token, &[&plain, &urgent]).await;
    assert_eq!(next, urgent, "escalated to 10, it goes before the older plain one");
    assert_eq!(s.api().conversation(ADMIN_TOKEN, &plain).await["state"], "open");
    s.api().ok("POST", &format!("/v1/conversations/{urgent}/close"), &token, None, 200).await;
    assert_eq!(next_for_ada(&s, &token, &[&plain]).await, plain, "then the plain one");
}

#[tokio::test]
async fn queue_priority_settings_are_validated_naming_the_field() {
    let Some(s) = Setup::new().await else { return };
    for (body, field) in [
        (json!({"name": "Q1", "escalation_add": 5}), "escalation_every_secs"),
        (json!({"name": "Q2", "escalation_every_secs": 60}), "escalation_add"),
        (
            json!({"name": "Q3", "initial_priority": 5, "escalation_add": 1, "escalation_every_secs": 60, "max_priority": 5}),
            "max_priority",
        ),
        (json!({"name": "Q4", "initial_priority": 5000}), "initial_priority"),
    ] {
        let (status, answer) = s.api().admin("POST", "/v1/queues", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{field}: ")), "names {field}: {answer}");
    }
}

/// A burst of texts into one queue (issue 12.1: an assignment pass tries its first choices together): every
/// agent fills to its capacity and no further, the rest wait in the queue, and a slot that comes back goes
/// to one of them.
#[tokio::test]
async fn a_burst_fills_every_agent_to_its_capacity_and_no_further() {
    let Some(s) = Setup::with_queue(json!({"name": "Burst"})).await else { return };
    let mut agents = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        agents.push(s.agent(name, 3).await);
    }
    let texts: Vec<(String, String)> =
        (0..11).map(|i| (format!("BU{:030}", i + 1), format!("1555555{:04}", 2100 + i))).collect();
    futures::future::join_all(texts.iter().map(|(reference, from)| s.text(reference, from, "hello"))).await;
    let held = |items: Vec<serde_json::Value>| items.iter().filter(|w| w["state"] == "active").count();
    // A generous bound, as in `next_for_ada`: what is checked is where the conversations go, not how soon.
    // The AWS shape's router took the eleven texts in two batches (the first text alone); on a loaded
    // 2-core machine (six of these tests at once beside two busy loops) the nine took 10 to 15 s here, and
    // over 30 s in CI beside the other jobs.
    eventually(60, "nine conversations assigned", || async {
        let mut total = 0;
        for (_, token) in &agents {
            total += held(s.api().work_items(token).await);
        }
        (total == 9).then_some(())
    })
    .await;
    s.app.settled().await;
    for (id, token) in &agents {
        assert_eq!(s.active_of(id).await, 3, "each agent at its capacity");
        assert_eq!(held(s.api().work_items(token).await), 3);
    }
    let all = s.api().work_items(ADMIN_TOKEN).await;
    let waiting: Vec<&serde_json::Value> = all.iter().filter(|w| w["state"] == "open").collect();
    assert_eq!(waiting.len(), 2, "the two beyond every capacity wait: {all:?}");
    assert!(waiting.iter().all(|w| w["agent_id"].is_null()));

    // Ada closes one of hers: one of the two waiting conversations comes to her.
    let (ada, ada_token) = &agents[0];
    let hers = s.api().work_items(ada_token).await;
    let first = hers[0]["conversation_id"].as_str().expect("id").to_string();
    s.act(ada_token, &first, "close", None, 200).await;
    let ids: Vec<String> =
        waiting.iter().map(|w| w["conversation_id"].as_str().expect("id").to_string()).collect();
    eventually(60, "a waiting conversation goes to Ada", || async {
        let mut landed = 0;
        for id in &ids {
            let c = s.api().conversation(ADMIN_TOKEN, id).await;
            if c["agent_id"] == json!(ada) && c["state"] == "active" {
                landed += 1;
            }
        }
        (landed == 1).then_some(())
    })
    .await;
    s.app.settled().await;
    assert_eq!(s.active_of(ada).await, 3);
}
