//! Live updates in AWS (the `live` function behind API Gateway's WebSocket API, fed by the table's stream;
//! tests/src/aws_live.rs): the same protocol as `smsdesk dev`'s `/v1/events` (tests/tests/e2e/live.rs).
//! An agent's connection gets the changes of its conversations and not another queue's; a client that
//! resumes from a sequence number gets what it missed (or `reset`); a connection that is gone is dropped;
//! a refused token is told so and closed.

use crate::*;
use serde_json::{Value, json};
use smsdesk_tests::aws_live::LiveShape;

const OTHER_NUMBER: &str = "15555550199";

fn live(s: &Setup) -> &LiveShape {
    s.app.aws.as_ref().and_then(|aws| aws.live.as_ref()).expect("the AWS shape deploys the live function")
}

fn is_change(m: &Value, conversation: &str) -> bool {
    m["type"] == "change" && m["conversation_id"] == conversation
}

/// A second queue, a channel on OTHER_NUMBER feeding it, and an available agent there: (agent token,
/// channel id).
async fn other_queue(s: &Setup) -> (String, String) {
    let api = s.api();
    let queue = api.create_queue("Billing").await;
    let off = json!({"automated_messages_enabled": false});
    let channel = api.telesign_channel_with(&s.fake, &[OTHER_NUMBER], &queue, off).await;
    let channel = channel["id"].as_str().expect("channel id").to_string();
    let (bob, token) = api.create_agent("Bob", &[&queue], 2).await;
    api.presence(&bob, &token, "available").await;
    (token, channel)
}

#[tokio::test]
async fn an_agents_connection_gets_its_changes_and_not_another_queues() {
    let Some(s) = Setup::new().await else { return };
    let live = live(&s);
    let (ada, ada_token) = s.agent("Ada", 2).await;
    let (bob_token, other_channel) = other_queue(&s).await;

    let (ada_socket, hello) = live.subscribe(&ada_token, None).await;
    assert_eq!((&hello["role"], &hello["agent_id"]), (&json!("agent"), &json!(ada)), "{hello}");
    let (bob_socket, _) = live.subscribe(&bob_token, None).await;
    let (admin_socket, hello) = live.subscribe(ADMIN_TOKEN, None).await;
    assert_eq!(hello["role"], "admin", "{hello}");

    s.text("L1000000000000000000000000000701", "15555550701", "Hello?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550701").await;
    let seen = live
        .until(&ada_socket, "Ada's assignment", |m| {
            is_change(m, &conversation) && m["data"]["state"] == "active"
        })
        .await;
    let body = serde_json::to_string(&seen).expect("json");
    assert!(!body.contains("5555550701") && !body.contains("Hello?"), "no number or text posted: {body}");
    live.until(&admin_socket, "the admin's copy", |m| is_change(m, &conversation)).await;

    // Bob's queue gets a text; once Bob has its change, every earlier change has been pushed (the stream is
    // handled in order), and none of Ada's conversation reached him.
    let raw = telesign_mo("L1000000000000000000000000000702", "15555550702", OTHER_NUMBER, "Bill?");
    let path = format!("/webhooks/telesign/{other_channel}");
    let (status, answer) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{answer}");
    let billing = s.work_item_for(&bob_token, "+15555550702").await;
    let bobs = live.until(&bob_socket, "Bob's assignment", |m| is_change(m, &billing)).await;
    assert!(
        !bobs.iter().any(|m| is_change(m, &conversation)),
        "Bob got a change of another queue's conversation: {bobs:?}"
    );
    live.until(&admin_socket, "the admin's copy of Bob's", |m| is_change(m, &billing)).await;
}

#[tokio::test]
async fn a_client_that_resumes_from_its_last_sequence_gets_what_it_missed() {
    let Some(s) = Setup::new().await else { return };
    let live = live(&s);
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    let (watcher, _) = live.subscribe(ADMIN_TOKEN, None).await;
    let (first, hello) = live.subscribe(&ada_token, None).await;
    let head = hello["head"].as_i64().expect("head");

    s.text("L1000000000000000000000000000711", "15555550711", "Hi").await;
    let conversation = s.work_item_for(&ada_token, "+15555550711").await;
    let seen = live
        .until(&first, "the assignment", |m| is_change(m, &conversation) && m["data"]["state"] == "active")
        .await;
    let last = seen.iter().filter_map(|m| m["seq"].as_i64()).max().expect("a sequence number");
    assert!(last > head, "changes carry numbers above the hello's head");

    // The socket drops; meanwhile Ada's reply is queued (a change she has not seen).
    live.disconnect(&first).await;
    let reply = s.reply(&ada_token, &conversation, "Hello! How can I help?").await;
    live.until(&watcher, "the reply's change", |m| m["type"] == "change" && m["id"] == reply.as_str()).await;
    assert!(
        !live.management.frames(&first).iter().any(|m| m["id"] == reply.as_str()),
        "nothing is posted to a disconnected socket"
    );

    let (second, _) = live.subscribe(&ada_token, Some(last)).await;
    let frames = live.until(&second, "caught_up", |m| m["type"] == "caught_up").await;
    let changes: Vec<&Value> = frames.iter().filter(|m| m["type"] == "change").collect();
    assert!(changes.iter().any(|m| m["id"] == reply.as_str()), "the missed reply comes back: {frames:?}");
    assert!(changes.iter().all(|m| m["seq"].as_i64() > Some(last)), "only what came after: {frames:?}");
    assert_eq!(frames.last().map(|m| &m["type"]), Some(&json!("caught_up")), "{frames:?}");

    // A number this feed never gave (another stack's): reload, then resume from the head.
    let (third, _) = live.subscribe(&ada_token, Some(last + 1_000_000)).await;
    let frames = live.until(&third, "caught_up", |m| m["type"] == "caught_up").await;
    assert!(frames.iter().any(|m| m["type"] == "reset"), "a reset: {frames:?}");
    // Any number a client sends, the largest and smallest an i64 holds included: a reset, never a failure.
    for since in [i64::MAX, i64::MIN] {
        let (socket, _) = live.subscribe(&ada_token, Some(since)).await;
        let frames = live.until(&socket, "caught_up", |m| m["type"] == "caught_up").await;
        assert!(frames.iter().any(|m| m["type"] == "reset"), "{since}: a reset: {frames:?}");
    }
}

#[tokio::test]
async fn a_connection_that_is_gone_is_dropped_and_the_others_still_hear() {
    let Some(s) = Setup::new().await else { return };
    let live = live(&s);
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    let (lost, _) = live.subscribe(&ada_token, None).await;
    let (kept, _) = live.subscribe(&ada_token, None).await;
    assert!(live.connection_ids().await.contains(&lost));

    // The browser vanished without a $disconnect: API Gateway answers 410 to posts.
    live.management.drop_connection(&lost);
    s.text("L1000000000000000000000000000721", "15555550721", "Anyone?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550721").await;
    live.until(&kept, "the change on the other socket", |m| is_change(m, &conversation)).await;
    eventually(10, "the gone connection is forgotten", || async {
        let ids = live.connection_ids().await;
        (!ids.contains(&lost) && ids.contains(&kept)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_refused_token_is_told_and_its_connection_closed() {
    let Some(s) = Setup::new().await else { return };
    let live = live(&s);
    let connection = live.connect().await;
    live.send(&connection, json!({"type": "auth", "token": "not-a-token", "since": null})).await;
    let frames = live.management.frames(&connection);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!((&frames[0]["type"], &frames[0]["code"]), (&json!("error"), &json!("unauthorized")));
    assert!(live.management.closed().contains(&connection), "the connection is closed");
    assert!(!live.connection_ids().await.contains(&connection));

    let other = live.connect().await;
    live.send(&other, json!({"hello": "there"})).await;
    assert_eq!(live.management.frames(&other).first().map(|m| m["type"].clone()), Some(json!("error")));
    assert!(live.management.closed().contains(&other), "a first message that is no auth closes too");
}

/// As `smsdesk dev` (e2e/live.rs): a note added reaches the agent's connection through the table's stream
/// (the stream's filter lets a note's insert through), naming its author, never its text.
#[tokio::test]
async fn a_note_is_heard_live_without_its_text() {
    let Some(s) = Setup::new().await else { return };
    let live = live(&s);
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    s.text("L1000000000000000000000000000791", "15555550791", "Hello?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550791").await;
    let (socket, _) = live.subscribe(&ada_token, None).await;

    let path = format!("/v1/conversations/{conversation}/notes");
    let note = s.api().ok("POST", &path, ADMIN_TOKEN, Some(json!({"text": "Refund approved"})), 201).await;
    let seen =
        live.until(&socket, "the note", |m| is_change(m, &conversation) && m["entity"] == "note").await;
    let heard = seen.last().expect("the note's change");
    assert_eq!((&heard["id"], &heard["data"]["agent_id"]), (&note["id"], &Value::Null), "{heard}");
    let body = serde_json::to_string(&seen).expect("json");
    assert!(!body.contains("Refund approved"), "no note text posted: {body}");
}
