//! The conversation's lifecycle (issue 10.2, 11.6): an agent sets a conversation aside (`waiting`) and the
//! customer's next text brings it back to them (or to the queue when they are away); an agent ends it
//! (`wrap_up`), picks a disposition and tags from the queue's lists, and the slot is released when the
//! wrap-up is submitted or when the queue's wrap-up limit passes (test clock).

use crate::*;
use serde_json::json;
use std::time::Duration;

/// A queue whose wrap-up needs a disposition.
fn wrap_up_queue(limit_secs: u64) -> serde_json::Value {
    json!({
        "name": "Support",
        "dispositions": ["resolved", "callback"],
        "tags": ["billing", "vip"],
        "disposition_required": true,
        "wrap_up_limit_secs": limit_secs,
    })
}

#[tokio::test]
async fn a_set_aside_conversation_keeps_the_slot_and_the_customers_text_brings_it_back_to_the_agent() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("L1000000000000000000000000000001", "15555550601", "my order?").await;
    let first = s.work_item_for(&token, "+15555550601").await;

    let waiting = s.act(&token, &first, "wait", None, 200).await;
    assert_eq!((&waiting["state"], &waiting["agent_id"]), (&json!("waiting"), &json!(ada)), "{waiting}");
    let items = s.api().work_items(&token).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["state"], "waiting", "the agent still sees it, set aside: {items:?}");
    let (status, body) =
        s.api().call("POST", &format!("/v1/conversations/{first}/wait"), Some(&token), None).await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("invalid_state")), "twice: {body}");

    // The slot stays with the set-aside conversation: a second customer waits in the queue.
    s.text("L1000000000000000000000000000002", "15555550602", "hello?").await;
    let second = eventually(30, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550602")
    })
    .await;
    assert_eq!(second["state"], "open", "{second}");
    assert_eq!(s.active_of(&ada).await, 1);

    // The first customer writes again: back with Ada, in the same conversation.
    s.text("L1000000000000000000000000000003", "15555550601", "still there?").await;
    let back = s.conversation_where(&first, "back with Ada", |c| c["state"] == "active").await;
    assert_eq!(back["agent_id"], json!(ada), "{back}");
    let texts: Vec<_> =
        back["messages"].as_array().expect("messages").iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, vec![json!("my order?"), json!("still there?")], "one conversation: {back}");
    assert_eq!(s.active_of(&ada).await, 1, "the same slot, not a second one");
}

#[tokio::test]
async fn a_set_aside_conversation_goes_to_the_queue_when_its_agent_is_away() {
    let Some(s) = Setup::new().await else { return };
    let (ada, ada_token) = s.agent("Ada", 1).await;
    s.text("L2000000000000000000000000000001", "15555550611", "question").await;
    let conversation = s.work_item_for(&ada_token, "+15555550611").await;
    s.act(&ada_token, &conversation, "wait", None, 200).await;
    s.api().presence(&ada, &ada_token, "away").await;
    let (brook, brook_token) = s.agent("Brook", 1).await;

    s.text("L2000000000000000000000000000002", "15555550611", "anyone?").await;
    let moved = s.conversation_where(&conversation, "with Brook", |c| c["agent_id"] == json!(brook)).await;
    assert_eq!(moved["state"], "active", "{moved}");
    assert_eq!(s.active_of(&ada).await, 0, "Ada's slot was released");
    assert_eq!(s.work_item_for(&brook_token, "+15555550611").await, conversation);
    assert!(s.api().work_items(&ada_token).await.is_empty(), "Ada no longer holds it");
}

#[tokio::test]
async fn wrap_up_needs_the_queues_disposition_keeps_it_and_releases_the_slot() {
    let Some(s) = Setup::with_queue(wrap_up_queue(600)).await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("L3000000000000000000000000000001", "15555550621", "refund please").await;
    let first = s.work_item_for(&token, "+15555550621").await;
    s.text("L3000000000000000000000000000002", "15555550622", "me next").await;

    // The queue requires a disposition: closing directly is refused for the agent.
    let (status, body) =
        s.api().call("POST", &format!("/v1/conversations/{first}/close"), Some(&token), None).await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("wrap_up_required")), "{body}");
    let (status, body) = s
        .api()
        .call("POST", &format!("/v1/conversations/{first}/wrap-up"), Some(&token), Some(json!({})))
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("invalid_state")), "not ended yet: {body}");

    let ended = s.act(&token, &first, "end", None, 200).await;
    assert_eq!(ended["state"], "wrap_up", "{ended}");
    assert_eq!(s.active_of(&ada).await, 1, "wrap-up holds the slot");
    let second = eventually(30, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550622")
    })
    .await;
    assert_eq!(second["state"], "open", "still waiting while Ada wraps up: {second}");

    for (body, field) in [
        (json!({"tags": ["vip"]}), "disposition"),
        (json!({"disposition": "shrug"}), "disposition"),
        (json!({"disposition": "resolved", "tags": ["gold"]}), "tags[0]"),
    ] {
        let (status, answer) = s
            .api()
            .call("POST", &format!("/v1/conversations/{first}/wrap-up"), Some(&token), Some(body))
            .await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{field}: ")), "names {field}: {answer}");
    }

    let body = json!({"disposition": "resolved", "tags": ["vip", "billing"], "notes": "refund sent"});
    let done = s.act(&token, &first, "wrap-up", Some(body), 200).await;
    assert_eq!((&done["state"], &done["close_reason"]), (&json!("closed"), &json!("wrapped up")), "{done}");
    let kept = s.api().conversation(ADMIN_TOKEN, &first).await;
    assert_eq!(kept["wrap_up"]["disposition"], "resolved", "{kept}");
    assert_eq!(kept["wrap_up"]["tags"], json!(["vip", "billing"]), "{kept}");
    assert_eq!(kept["wrap_up"]["notes"], "refund sent", "{kept}");

    // The slot went back: the second customer is Ada's now.
    s.work_item_for(&token, "+15555550622").await;

    // The disposition and tags are on the CRM timeline.
    let contact = kept["contact_id"].as_str().map(str::to_string);
    let contact = match contact {
        Some(c) => c,
        None => s.conversation_where(&first, "linked", |c| c["contact_id"].is_string()).await["contact_id"]
            .as_str()
            .expect("contact id")
            .to_string(),
    };
    let api = s.api().clone();
    let event = eventually(30, "wrap_up on the timeline", || {
        let (api, contact, first) = (api.clone(), contact.clone(), first.clone());
        async move {
            let c = api.ok("GET", &format!("/v1/contacts/{contact}"), ADMIN_TOKEN, None, 200).await;
            c["timeline"].as_array().and_then(|t| {
                t.iter().find(|e| e["kind"] == "wrap_up" && e["conversation_id"] == first.as_str()).cloned()
            })
        }
    })
    .await;
    assert_eq!(event["detail"]["disposition"], "resolved", "{event}");
    assert_eq!(event["detail"]["tags"], json!(["vip", "billing"]), "{event}");
    assert!(event["detail"].get("notes").is_none(), "notes stay internal: {event}");
}

#[tokio::test]
async fn a_wrap_up_left_past_the_queues_limit_closes_and_frees_the_agent() {
    let Some(s) = Setup::with_queue(wrap_up_queue(60)).await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("L4000000000000000000000000000001", "15555550631", "thanks, bye").await;
    let first = s.work_item_for(&token, "+15555550631").await;
    s.act(&token, &first, "end", None, 200).await;
    s.text("L4000000000000000000000000000002", "15555550632", "hi").await;
    let waiting = eventually(30, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550632")
    })
    .await;
    assert_eq!(waiting["state"], "open", "{waiting}");

    // Under the limit, the wrap-up stays; past it, the conversation closes and the slot goes back.
    s.app.clock.advance(Duration::from_secs(30));
    s.app.settled().await;
    assert_eq!(s.api().conversation(ADMIN_TOKEN, &first).await["state"], "wrap_up");
    s.app.clock.advance(Duration::from_secs(31));
    let closed =
        s.conversation_where(&first, "closed by the wrap-up limit", |c| c["state"] == "closed").await;
    assert_eq!(closed["close_reason"], "wrap-up limit reached", "{closed}");
    assert_eq!(closed["wrap_up"], json!(null), "nothing was submitted: {closed}");
    s.work_item_for(&token, "+15555550632").await;
    assert_eq!(s.active_of(&ada).await, 1, "the freed slot went to the second customer");
}

#[tokio::test]
async fn a_customer_text_during_wrap_up_brings_the_conversation_back_to_the_agent() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("L5000000000000000000000000000001", "15555550641", "bye").await;
    let first = s.work_item_for(&token, "+15555550641").await;
    s.act(&token, &first, "end", None, 200).await;
    s.text("L5000000000000000000000000000002", "15555550641", "wait, one more thing").await;
    let back = s.conversation_where(&first, "back with Ada", |c| c["state"] == "active").await;
    assert_eq!(back["agent_id"], json!(ada), "{back}");
    // No disposition is required on this queue: the agent may close directly.
    let closed = s.act(&token, &first, "close", None, 200).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(s.active_of(&ada).await, 0);
}

/// A STOP into a conversation in wrap-up opts the customer out and is confirmed, and leaves the agent's
/// wrap-up where it is: a consent keyword brings nothing back to an agent, who could not answer anyway.
#[tokio::test]
async fn a_stop_during_wrap_up_opts_out_and_leaves_the_wrap_up_alone() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("L5100000000000000000000000000001", "15555550643", "thanks, bye").await;
    let first = s.work_item_for(&token, "+15555550643").await;
    s.act(&token, &first, "end", None, 200).await;
    s.text("L5100000000000000000000000000002", "15555550643", "STOP").await;
    s.app.settled().await;
    let c = s.api().conversation(&token, &first).await;
    assert_eq!((&c["state"], &c["agent_id"]), (&json!("wrap_up"), &json!(ada)), "{c}");
    assert!(c["messages"].as_array().into_iter().flatten().any(|m| m["text"] == "STOP"), "filed: {c}");
    let closed = s.act(&token, &first, "close", None, 200).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(s.active_of(&ada).await, 0);
}

/// Once the agent ended the conversation (wrap-up: the customer conversation is over), a reply or a
/// proactive text into it is refused with a 409, as for a closed conversation, and nothing reaches the
/// customer; the customer's own text brings it back, and replies go out again.
#[tokio::test]
async fn a_reply_during_wrap_up_is_refused_and_never_reaches_the_customer() {
    let Some(s) = Setup::new().await else { return };
    let (_ada, token) = s.agent("Ada", 1).await;
    s.text("L6000000000000000000000000000001", "15555550642", "thanks, bye").await;
    let conversation = s.work_item_for(&token, "+15555550642").await;
    s.act(&token, &conversation, "end", None, 200).await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, answer) =
        s.api().call("POST", &path, Some(&token), Some(json!({"text": "one more thing"}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("conversation_ended")), "{answer}");
    let proactive = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550642",
                           "text": "one more thing", "session": true});
    let (status, answer) = s.api().call("POST", "/v1/messages", Some(&token), Some(proactive)).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("conversation_ended")), "{answer}");
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["state"], "wrap_up", "{c}");
    assert!(!c["messages"].as_array().into_iter().flatten().any(|m| m["text"] == "one more thing"), "{c}");

    s.text("L6000000000000000000000000000002", "15555550642", "actually, one question").await;
    s.conversation_where(&conversation, "back with Ada", |c| c["state"] == "active").await;
    let id = s.reply(&token, &conversation, "Sure, go ahead").await;
    s.message_status(&token, &conversation, &id, "sent").await;
    s.app.settled().await;
    let sends = s.fake.sends();
    assert!(!sends.iter().any(|m| m.field("message") == Some("one more thing")), "{sends:?}");
}

#[tokio::test]
async fn queue_wrap_up_settings_are_validated_naming_the_field() {
    let Some(s) = Setup::new().await else { return };
    for (body, field) in [
        (json!({"name": "Q1", "disposition_required": true}), "disposition_required"),
        (json!({"name": "Q2", "dispositions": ["a", "a"]}), "dispositions[1]"),
        (json!({"name": "Q3", "tags": [""]}), "tags[0]"),
        (json!({"name": "Q4", "wrap_up_limit_secs": 0}), "wrap_up_limit_secs"),
    ] {
        let (status, answer) = s.api().admin("POST", "/v1/queues", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{field}: ")), "names {field}: {answer}");
    }
    let created = s.api().ok("POST", "/v1/queues", ADMIN_TOKEN, Some(wrap_up_queue(90)), 201).await;
    assert_eq!(created["dispositions"], json!(["resolved", "callback"]), "{created}");
    assert_eq!(
        (&created["disposition_required"], &created["wrap_up_limit_secs"]),
        (&json!(true), &json!(90))
    );
    let plain = s.api().ok("POST", "/v1/queues", ADMIN_TOKEN, Some(json!({"name": "Plain"})), 201).await;
    assert_eq!((&plain["disposition_required"], &plain["wrap_up_limit_secs"]), (&json!(false), &json!(120)));
}
