//! Live updates (`/v1/events`, `smsdesk dev` only): the console's WebSocket. The token goes in the first
//! message; an agent receives changes of the conversations it may see and nothing else; a client that
//! reconnects with the last sequence it saw gets everything it missed.

use crate::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &Setup) -> Socket {
    let url = format!("{}/v1/events", s.api().base.replacen("http", "ws", 1));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("the socket opens");
    socket
}

/// Opens a socket, authenticates with `token`, resumes after `since`; returns it and its hello.
async fn subscribe(s: &Setup, token: &str, since: Option<i64>) -> (Socket, Value) {
    let mut socket = connect(s).await;
    let auth = json!({"type": "auth", "token": token, "since": since}).to_string();
    socket.send(Message::Text(auth.into())).await.expect("auth sent");
    let hello = next(&mut socket).await.expect("a hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    (socket, hello)
}

/// The next JSON message (pings skipped); None when the socket closed.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")?;
        match msg.expect("a frame") {
            Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON")),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Reads until `wanted` matches a message; returns every message read, that one last.
async fn until(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let msg = next(socket).await.unwrap_or_else(|| panic!("socket closed before {what}: {seen:?}"));
        let done = wanted(&msg);
        seen.push(msg);
        if done {
            return seen;
        }
    }
}

fn is_change(m: &Value, conversation: &str) -> bool {
    m["type"] == "change" && m["conversation_id"] == conversation
}

#[tokio::test]
async fn an_agent_hears_new_work_and_its_statuses_live_and_catches_up_after_a_drop() {
    let Some(s) = Setup::new().await else { return };
    let (ada, ada_token) = s.agent("Ada", 2).await;
    let (mut socket, hello) = subscribe(&s, &ada_token, None).await;
    assert_eq!((&hello["role"], &hello["agent_id"]), (&json!("agent"), &json!(ada)), "{hello}");

    s.text("L1000000000000000000000000000001", "15555550501", "Hello?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550501").await;
    let seen = until(&mut socket, "the assignment", |m| {
        is_change(m, &conversation) && m["data"]["state"] == "active"
    })
    .await;
    let assigned = seen.last().expect("the assignment");
    assert_eq!(assigned["data"]["agent_id"], json!(ada), "{assigned}");
    let body = serde_json::to_string(&seen).expect("json");
    assert!(
        !body.contains("5555550501") && !body.contains("Hello?"),
        "no number or text on the socket: {body}"
    );

    let reply = s.reply(&ada_token, &conversation, "Hi! How can I help?").await;
    until(&mut socket, "the reply sent", |m| m["id"] == reply && m["data"]["status"] == "sent").await;
    let last = s.message_status(&ada_token, &conversation, &reply, "sent").await;
    let reference = last["provider_message_id"].as_str().expect("TeleSign's reference").to_string();

    // The socket drops; meanwhile the delivery report arrives. Resuming from the last sequence seen
    // brings it, and nothing from before.
    drop(socket);
    let (_, probe) = subscribe(&s, ADMIN_TOKEN, None).await;
    let resume_from = probe["head"].as_i64().expect("head");
    s.receipt(&reference, &reply, 200, "Delivered to handset").await;
    s.message_status(&ada_token, &conversation, &reply, "delivered").await;
    let (mut socket, _) = subscribe(&s, &ada_token, Some(resume_from)).await;
    let caught =
        until(&mut socket, "the missed delivery", |m| m["id"] == reply && m["data"]["status"] == "delivered")
            .await;
    assert!(
        caught.iter().filter(|m| m["type"] == "change").all(|m| m["seq"].as_i64() > Some(resume_from)),
        "only what came after the resume point: {caught:?}"
    );
    until(&mut socket, "caught up", |m| m["type"] == "caught_up").await;
}

/// A `since` the feed never gave, up to the largest number JSON carries as an i64, or below zero: a
/// `reset` to reload, then `caught_up`; never a dropped socket.
#[tokio::test]
async fn a_client_resuming_from_any_sequence_number_is_told_to_reload() {
    let Some(s) = Setup::new().await else { return };
    for since in [i64::MAX, i64::MIN] {
        let (mut socket, _) = subscribe(&s, ADMIN_TOKEN, Some(since)).await;
        let frames = until(&mut socket, "caught up", |m| m["type"] == "caught_up").await;
        assert_eq!(frames.first().map(|m| &m["type"]), Some(&json!("reset")), "{since}: {frames:?}");
    }
}

/// A team's member serves the team's queues as its own: it hears of a conversation waiting in one, as the
/// API lets it read the conversation there.
#[tokio::test]
async fn a_team_member_hears_of_what_waits_in_the_teams_queue() {
    let Some(s) = Setup::new().await else { return };
    let billing = s.api().create_queue("Billing").await;
    let channel_b = s.api().telesign_channel(&s.fake, &["15555550197"], &billing).await;
    let channel_b = channel_b["id"].as_str().expect("channel id").to_string();
    let team = s
        .api()
        .ok(
            "POST",
            "/v1/teams",
            ADMIN_TOKEN,
            Some(json!({"name": "billing-desk", "capacity": 4, "queues": [billing]})),
            201,
        )
        .await;
    // Cy serves Billing only through the team, and is offline: what reaches Billing waits.
    let (cy, cy_token) = s.api().create_agent("Cy", &[], 1).await;
    let path = format!("/v1/agents/{cy}");
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"team_id": team["id"]})), 200).await;
    let (mut socket, _) = subscribe(&s, &cy_token, None).await;

    s.text_on(&channel_b, "15555550197", "L2500000000000000000000000000001", "15555550504", "Invoice?").await;
    let waiting = s.waiting_for("+15555550504", "the text waits in Billing").await;
    let heard = until(&mut socket, "the waiting conversation", |m| is_change(m, &waiting)).await;
    assert_eq!(heard.last().map(|m| &m["data"]["queue_id"]), Some(&json!(billing)), "{heard:?}");
    s.api().ok("GET", &format!("/v1/conversations/{waiting}"), &cy_token, None, 200).await;
}

#[tokio::test]
async fn an_agent_never_hears_of_another_queues_conversation() {
    let Some(s) = Setup::new().await else { return };
    let billing = s.api().create_queue("Billing").await;
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    let (bob, bob_token) = s.api().create_agent("Bob", &[&billing], 2).await;
    s.api().presence(&bob, &bob_token, "available").await;
    let (mut bobs, _) = subscribe(&s, &bob_token, None).await;

    // A conversation in Support (Ada's queue), with a reply: nothing of it reaches Bob...
    s.text("L2000000000000000000000000000001", "15555550502", "Support question").await;
    let conversation = s.work_item_for(&ada_token, "+15555550502").await;
    let reply = s.reply(&ada_token, &conversation, "Let me check").await;
    s.message_status(&ada_token, &conversation, &reply, "sent").await;
    // ...which a marker shows: a text to Billing's own number is Bob's, and the feed is in commit order, so
    // by the time Bob hears of it he has been offered every earlier change, the Support ones included.
    let channel_b = s.api().telesign_channel(&s.fake, &["15555550198"], &billing).await;
    let channel_b = channel_b["id"].as_str().expect("channel id").to_string();
    s.text_on(
        &channel_b,
        "15555550198",
        "L2000000000000000000000000000002",
        "15555550503",
        "Billing question",
    )
    .await;
    let before = until(&mut bobs, "the Billing marker", |m| {
        m["type"] == "change" && m["conversation_id"] != conversation
    })
    .await;
    assert!(
        before.iter().all(|m| m["conversation_id"] != conversation),
        "Bob heard of Support's conversation: {before:?}"
    );
    // Ada transfers it to Billing, where Bob may see it: from then on he hears of it.
    s.api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/transfer"),
            &ada_token,
            Some(json!({"queue_id": billing})),
            200,
        )
        .await;
    until(&mut bobs, "the transfer", |m| {
        is_change(m, &conversation)
            && m["entity"] == "conversation"
            && m["data"]["queue_id"] == json!(billing)
    })
    .await;
}

#[tokio::test]
async fn a_socket_without_a_valid_token_in_its_first_message_is_closed_with_4401() {
    let Some(s) = Setup::new().await else { return };
    // A token in the URL is not read (URLs are logged): the first message must carry it.
    let url = format!("{}/v1/events?token={ADMIN_TOKEN}", s.api().base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("opens");
    socket
        .send(Message::Text(json!({"type": "auth", "token": "nope"}).to_string().into()))
        .await
        .expect("sent");
    let error = next(&mut socket).await.expect("an error message");
    assert_eq!((&error["type"], &error["code"]), (&json!("error"), &json!("unauthorized")), "{error}");
    let close = loop {
        match socket.next().await {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| u16::from(f.code)), Some(4401));

    let mut socket = connect(&s).await;
    socket.send(Message::Text("not json".into())).await.expect("sent");
    let error = next(&mut socket).await.expect("an error message");
    assert_eq!(error["code"], "unauthorized", "{error}");
}

/// A supervisor hears of every conversation of their queue, another agent's included (an agent would not:
/// `an_agent_never_hears_of_another_queues_conversation`), and the hello names the role.
#[tokio::test]
async fn a_supervisor_hears_another_agents_conversation_in_their_queue() {
    let Some(s) = Setup::new().await else { return };
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    let (sue_id, sue_token) = s.supervisor("Sue", &[&s.queue]).await;
    let (mut sues, hello) = subscribe(&s, &sue_token, None).await;
    assert_eq!(
        (hello["role"].as_str(), &hello["agent_id"]),
        (Some("supervisor"), &serde_json::json!(sue_id)),
        "{hello}"
    );

    s.text("L2000000000000000000000000000011", "15555550511", "Support question").await;
    let conversation = s.work_item_for(&ada_token, "+15555550511").await;
    let reply = s.reply(&ada_token, &conversation, "Let me check").await;
    until(&mut sues, "Ada's reply", |m| {
        is_change(m, &conversation) && m["entity"] == "message" && m["id"] == reply
    })
    .await;
}

/// A colleague's private note reaches the agent's socket as it is written: a `note` change naming its
/// author (never its text), so the console shows it without a reload.
#[tokio::test]
async fn a_note_is_heard_live_without_its_text() {
    let Some(s) = Setup::new().await else { return };
    let (_ada, ada_token) = s.agent("Ada", 2).await;
    s.text("L1000000000000000000000000000591", "15555550591", "Hello?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550591").await;
    let (mut socket, _) = subscribe(&s, &ada_token, None).await;

    let path = format!("/v1/conversations/{conversation}/notes");
    let note = s.api().ok("POST", &path, ADMIN_TOKEN, Some(json!({"text": "Refund approved"})), 201).await;
    let seen = until(&mut socket, "the note", |m| is_change(m, &conversation) && m["entity"] == "note").await;
    let heard = seen.last().expect("the note's change");
    assert_eq!((&heard["id"], &heard["data"]["agent_id"]), (&note["id"], &Value::Null), "{heard}");
    let body = serde_json::to_string(&seen).expect("json");
    assert!(!body.contains("Refund approved"), "no note text on the socket: {body}");
}
