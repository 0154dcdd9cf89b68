//! Transfers (issue 11.5) on both shapes: to an agent or to a queue, with a note for agents only; the target
//! gets it like an offer; the first agent holds the slot until it lands; a transfer nobody takes in time,
//! or that the target declines, comes back to the first agent, who is told in the transcript.

use crate::*;
use serde_json::{Value, json};
use std::time::Duration;

const NOTE: &str = "VIP customer, wants the refund for order 77";

async fn transfer(s: &Setup, token: &str, conversation: &str, body: Value, expect: u16) -> Value {
    s.act(token, conversation, "transfer", Some(body), expect).await
}

fn internal_entries(c: &Value) -> Vec<String> {
    c["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["internal"] == json!(true) && m["author"] == "system")
                .filter_map(|m| m["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the customer's conversation is in `state` (as the admin lists open conversations); its id.
async fn conversation_of(s: &Setup, customer: &str, what: &str, state: &str) -> String {
    let api = s.api().clone();
    eventually(30, what, || {
        let api = api.clone();
        async move {
            let items = api.work_items(ADMIN_TOKEN).await;
            let item = items.into_iter().find(|w| w["customer"] == customer && w["state"] == state)?;
            item["conversation_id"].as_str().map(str::to_string)
        }
    })
    .await
}

fn ids(items: &[Value]) -> Vec<Value> {
    items.iter().map(|w| w["conversation_id"].clone()).collect()
}

#[tokio::test]
async fn a_transfer_to_an_agent_is_offered_with_the_note_and_lands_when_accepted() {
    let Some(s) = Setup::new().await else { return };
    let billing = s.api().create_offering_queue("Billing", json!({"refusal_timeout_secs": 30})).await;
    let (ada, ada_token) = s.agent("Ada", 1).await;
    // Brook serves Billing only, so nothing waiting in Support goes to him by itself.
    let (brook, brook_token) = s.api().create_agent("Brook", &[&billing], 1).await;
    s.api().presence(&brook, &brook_token, "available").await;
    let shown = s.api().ok("GET", &format!("/v1/agents/{brook}"), ADMIN_TOKEN, None, 200).await;
    assert!(shown["presence_changed_at"].is_string(), "presence shows when it changed: {shown}");
    s.text("T1000000000000000000000000000001", "15555550401", "first").await;
    let first = s.work_item_for(&ada_token, "+15555550401").await;

    // Unknown targets, ambiguous bodies and over-long notes are 400s naming the field.
    for (body, field) in [
        (json!({"agent_id": "ag_nope"}), "agent_id"),
        (json!({"queue_id": "q_nope"}), "queue_id"),
        (json!({"agent_id": brook, "queue_id": billing}), "agent_id"),
        (json!({"agent_id": ada}), "agent_id"),
        (json!({"agent_id": brook, "note": "n".repeat(1001)}), "note"),
    ] {
        let answer = transfer(&s, &ada_token, &first, body, 400).await;
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with(field)), "{answer}");
    }

    // Support offers (the conversation's queue decides): Brook gets an offer carrying the note.
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/queues/{}", s.queue),
            ADMIN_TOKEN,
            Some(json!({"auto_accept": false})),
            200,
        )
        .await;
    let moved = transfer(&s, &ada_token, &first, json!({"agent_id": brook, "note": NOTE}), 200).await;
    assert_eq!((&moved["state"], &moved["agent_id"]), (&json!("offered"), &json!(brook)), "{moved}");
    assert_eq!(moved["transfer"]["note"], NOTE, "{moved}");
    assert_eq!(moved["transfer"]["from_agent_id"], json!(ada), "{moved}");
    let brooks = s.api().work_items(&brook_token).await;
    assert_eq!(ids(&brooks), vec![json!(first)], "Brook sees the offer");
    assert_eq!(brooks[0]["transfer"]["note"], NOTE, "with the note: {brooks:?}");
    assert_eq!(
        (s.active_of(&ada).await, s.active_of(&brook).await),
        (1, 1),
        "Ada holds her slot until it lands"
    );
    let seen = s.api().conversation(&brook_token, &first).await;
    assert!(
        internal_entries(&seen).iter().any(|t| t.contains("Ada") && t.contains("Brook") && t.contains(NOTE)),
        "{seen}"
    );
    // Offered, not accepted: Brook cannot reply yet; Ada cannot act on someone else's offer.
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{first}/messages"),
            Some(&brook_token),
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("offer_not_accepted")), "{body}");
    // Ada, who sent it, still reads it (she is responsible until it lands), but it is not offered to her.
    let (status, body) =
        s.api().call("POST", &format!("/v1/conversations/{first}/accept"), Some(&ada_token), None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("not_offered")),
        "Ada does not accept Brook's offer"
    );

    s.act(&brook_token, &first, "accept", None, 200).await;
    let landed = s
        .conversation_where(&first, "the transfer lands", |c| {
            c["state"] == "active" && c["transfer"].is_null()
        })
        .await;
    assert_eq!(landed["agent_id"], json!(brook), "{landed}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&brook).await), (0, 1), "landed: Ada's slot is back");
    assert!(s.api().work_items(&ada_token).await.is_empty());
    let id = s.reply(&brook_token, &first, "Brook here, I can help").await;
    s.message_status(&brook_token, &first, &id, "sent").await;
    // The note and the transfer entries never reached the customer.
    let texts: Vec<String> =
        s.fake.sends().iter().filter_map(|m| m.field("message").map(str::to_string)).collect();
    assert!(texts.iter().any(|t| t.contains("Brook here")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("VIP") || t.contains("transferred")), "{texts:?}");

    // Brook is full: a transfer to him is a 409 that says so, and changes nothing.
    s.text("T1000000000000000000000000000002", "15555550402", "second").await;
    let second =
        conversation_of(&s, "+15555550402", "the second customer is offered to Ada", "offered").await;
    s.act(&ada_token, &second, "accept", None, 200).await;
    let answer = transfer(&s, &ada_token, &second, json!({"agent_id": brook}), 409).await;
    assert_eq!(answer["error"]["code"], "agent_unavailable", "{answer}");
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.contains(&brook) && m.contains("1/1")),
        "{answer}"
    );
    let c = s.api().conversation(&ada_token, &second).await;
    assert_eq!((&c["state"], &c["agent_id"]), (&json!("active"), &json!(ada)), "{c}");
}

#[tokio::test]
async fn a_declined_or_expired_transfer_comes_back_to_the_first_agent_who_is_told() {
    let Some(s) =
        Setup::with_queue(json!({"name": "Support", "auto_accept": false, "refusal_timeout_secs": 10})).await
    else {
        return;
    };
    let (ada, ada_token) = s.agent("Ada", 1).await;
    s.text("T2000000000000000000000000000001", "15555550411", "hello").await;
    let conversation = conversation_of(&s, "+15555550411", "offered to Ada", "offered").await;
    s.act(&ada_token, &conversation, "accept", None, 200).await;
    let (bea, bea_token) = s.agent("Bea", 1).await;

    // Bea declines: back to Ada at once, Bea's slot back, Ada told.
    transfer(&s, &ada_token, &conversation, json!({"agent_id": bea, "note": NOTE}), 200).await;
    assert_eq!(s.active_of(&bea).await, 1, "the offer takes Bea's slot");
    s.act(&bea_token, &conversation, "decline", None, 200).await;
    let back = s.conversation_where(&conversation, "back with Ada", |c| c["agent_id"] == json!(ada)).await;
    assert_eq!((&back["state"], &back["transfer"]), (&json!("active"), &Value::Null), "{back}");
    assert!(internal_entries(&back).iter().any(|t| t.contains("failed") && t.contains("declined")), "{back}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&bea).await), (1, 0));
    assert_eq!(ids(&s.api().work_items(&ada_token).await), vec![json!(conversation)], "Ada lists it again");

    // Bea lets the next one expire: back to Ada after the refusal timeout.
    transfer(&s, &ada_token, &conversation, json!({"agent_id": bea}), 200).await;
    s.app.clock.advance(Duration::from_secs(11));
    let back = s
        .conversation_where(&conversation, "back with Ada after the timeout, who is told", |c| {
            c["agent_id"] == json!(ada)
                && c["state"] == "active"
                && internal_entries(c).iter().filter(|t| t.contains("failed")).count() == 2
        })
        .await;
    let entries = internal_entries(&back);
    assert_eq!(entries.iter().filter(|t| t.contains("failed")).count(), 2, "Ada told twice: {entries:?}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&bea).await), (1, 0), "no slot leaked");
    s.reply(&ada_token, &conversation, "Still with me, sorry for the wait").await;
}

#[tokio::test]
async fn a_transfer_to_a_busy_queue_waits_then_lands_and_one_nobody_takes_comes_back() {
    let Some(s) = Setup::new().await else { return };
    let billing = s
        .api()
        .create_offering_queue("Billing", json!({"auto_accept": true, "transfer_timeout_secs": 60}))
        .await;
    let (ada, ada_token) = s.agent("Ada", 2).await;
    let (brook, brook_token) = s.api().create_agent("Brook", &[&billing], 1).await;
    s.api().presence(&brook, &brook_token, "available").await;
    s.text("T3000000000000000000000000000001", "15555550421", "one").await;
    let one = s.work_item_for(&ada_token, "+15555550421").await;
    s.text("T3000000000000000000000000000002", "15555550422", "two").await;
    let two = s.work_item_for(&ada_token, "+15555550422").await;
    // Brook takes `one` (Billing auto-accepts): he is full.
    transfer(&s, &ada_token, &one, json!({"queue_id": billing}), 200).await;
    s.conversation_where(&one, "one lands with Brook", |c| {
        c["agent_id"] == json!(brook) && c["transfer"].is_null()
    })
    .await;
    assert_eq!(s.active_of(&ada).await, 1);

    // `two` waits in Billing; Ada holds its slot meanwhile.
    let waiting = transfer(&s, &ada_token, &two, json!({"queue_id": billing, "note": NOTE}), 200).await;
    assert_eq!((&waiting["state"], &waiting["queue_id"]), (&json!("open"), &json!(billing)), "{waiting}");
    assert_eq!(s.active_of(&ada).await, 1, "Ada holds the slot while it waits");
    s.app.clock.advance(Duration::from_secs(30));
    // Brook closes `one`: his slot goes to the transfer waiting in Billing.
    s.api().ok("POST", &format!("/v1/conversations/{one}/close"), &brook_token, None, 200).await;
    let landed = s
        .conversation_where(&two, "two lands with Brook", |c| {
            c["agent_id"] == json!(brook) && c["transfer"].is_null()
        })
        .await;
    assert_eq!(landed["state"], "active", "{landed}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&brook).await), (0, 1));

    // A transfer nobody takes within Billing's transfer timeout comes back to the first agent.
    s.text("T3000000000000000000000000000003", "15555550423", "three").await;
    let three = s.work_item_for(&ada_token, "+15555550423").await;
    transfer(&s, &ada_token, &three, json!({"queue_id": billing}), 200).await;
    s.app.clock.advance(Duration::from_secs(61));
    let back = s
        .conversation_where(&three, "three comes back to Ada, who is told", |c| {
            c["agent_id"] == json!(ada)
                && c["state"] == "active"
                && internal_entries(c).iter().any(|t| t.contains("nobody took it in time"))
        })
        .await;
    assert_eq!((&back["queue_id"], &back["transfer"]), (&json!(s.queue), &Value::Null), "{back}");
    assert_eq!(s.active_of(&ada).await, 1, "the slot Ada held is the one she has");
}

#[tokio::test]
async fn the_holder_lists_every_queue_and_every_other_agent_as_transfer_targets_by_name() {
    let Some(s) = Setup::new().await else { return };
    let billing = s.api().create_queue("Billing").await;
    let (_ada, ada_token) = s.agent("Ada", 1).await;
    // Brook serves Billing and is offline (never set his presence): listed, but he cannot take it now.
    let (brook, brook_token) = s.api().create_agent("Brook", &[&billing], 1).await;
    s.text("T1000000000000000000000000000091", "15555550491", "who can help?").await;
    let conversation = s.work_item_for(&ada_token, "+15555550491").await;
    let path = format!("/v1/conversations/{conversation}/transfer-targets");

    let targets = s.api().ok("GET", &path, &ada_token, None, 200).await;
    assert_eq!(
        targets["queues"],
        json!([{"id": billing, "name": "Billing"}, {"id": s.queue, "name": "Support"}]),
        "every queue, by name"
    );
    assert_eq!(
        targets["agents"],
        json!([{"id": brook, "name": "Brook", "presence": "offline", "can_take": false}]),
        "every agent but the holder"
    );
    // An agent who may not act on the conversation learns nothing of it.
    s.api().ok("GET", &path, &brook_token, None, 404).await;
}

/// `transfer_timeout_secs` reads back from `GET /v1/queues/{id}` and the `PATCH` answer, with its default
/// (120) when unset, as the queue's other settings do.
#[tokio::test]
async fn a_queue_shows_its_transfer_timeout_with_its_default() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/queues/{}", s.queue);
    let shown = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(
        (&shown["transfer_timeout_secs"], &shown["affinity_secs"]),
        (&json!(120), &json!(0)),
        "{shown}"
    );
    let patched =
        s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"transfer_timeout_secs": 300})), 200).await;
    assert_eq!(patched["transfer_timeout_secs"], 300, "{patched}");
    let shown = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(shown["transfer_timeout_secs"], 300, "{shown}");
    let reset =
        s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"transfer_timeout_secs": null})), 200).await;
    assert_eq!(reset["transfer_timeout_secs"], 120, "unset: the default: {reset}");
}

/// A transfer to a queue that is closed now (its operating hours, its holidays) is refused at once with a
/// 409 `outside_operating_hours` naming when the queue opens, as a proactive text into it is; nothing
/// changes (it does not wait the whole transfer timeout to fail).
#[tokio::test]
async fn a_transfer_to_a_queue_closed_now_is_refused_at_once_naming_when_it_opens() {
    let Some(s) = Setup::new().await else { return };
    // Open only from 09:00 to 17:00 (UTC) the day after tomorrow, by the app's clock: closed now.
    let now = time::OffsetDateTime::now_utc() + s.app.clock.offset();
    let opens = now.date() + time::Duration::days(2);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [usize::from(opens.weekday().number_days_from_monday())];
    let mut days = serde_json::Map::new();
    days.insert(day.to_string(), json!([["09:00", "17:00"]]));
    let hours = json!({"time_zone": "UTC", "days": days});
    let billing = s.api().create_offering_queue("Billing", json!({"operating_hours": hours})).await;
    let (ada, ada_token) = s.agent("Ada", 1).await;
    let (brook, brook_token) = s.api().create_agent("Brook", &[&billing], 1).await;
    s.api().presence(&brook, &brook_token, "available").await;
    s.text("T5000000000000000000000000000001", "15555550451", "after hours").await;
    let conversation = s.work_item_for(&ada_token, "+15555550451").await;

    let answer =
        transfer(&s, &ada_token, &conversation, json!({"queue_id": billing, "note": NOTE}), 409).await;
    assert_eq!(answer["error"]["code"], "outside_operating_hours", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("queue_id")
            && message.contains("Billing")
            && message.contains(&format!("{opens} 09:00")),
        "names the field, the queue and its next opening: {answer}"
    );
    let c = s.api().conversation(&ada_token, &conversation).await;
    assert_eq!(
        (&c["state"], &c["agent_id"], &c["queue_id"], &c["transfer"]),
        (&json!("active"), &json!(ada), &json!(s.queue), &Value::Null),
        "nothing changed: {c}"
    );
    assert!(internal_entries(&c).is_empty(), "no transfer entry: {c}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&brook).await), (1, 0));
    // The queue open (no hours): the same transfer is taken.
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/queues/{billing}"),
            ADMIN_TOKEN,
            Some(json!({"operating_hours": null})),
            200,
        )
        .await;
    transfer(&s, &ada_token, &conversation, json!({"queue_id": billing}), 200).await;
}

/// The CRM events of `kind` the conversation's export lists (read by the admin), once there are `n`.
async fn crm_events(s: &Setup, conversation: &str, kind: &str, n: usize) -> Vec<Value> {
    let api = s.api().clone();
    eventually(30, &format!("{n} {kind} on the CRM timeline"), || {
        let api = api.clone();
        async move {
            let export = api
                .ok("GET", &format!("/v1/conversations/{conversation}/export"), ADMIN_TOKEN, None, 200)
                .await;
            let events: Vec<Value> = export["conversation"]["crm_events"]
                .as_array()?
                .iter()
                .filter(|e| e["kind"] == kind)
                .cloned()
                .collect();
            (events.len() >= n).then_some(events)
        }
    })
    .await
}

/// While a transfer nobody took yet is pending (waiting in a queue, or offered to an agent), its sender
/// stays responsible: it is in their work items (with the transfer, its target named), they read it and
/// answer the customer, who keeps texting, and they may cancel it (back to them, the offer withdrawn, the
/// transcript and the CRM told); anything else waits (409 `transfer_pending`). The supervisor of the queue
/// it left sees it in the team view; a colleague does not see it at all.
#[tokio::test]
async fn the_sender_of_a_pending_transfer_keeps_it_in_sight_answers_meanwhile_and_may_cancel_it() {
    let Some(s) = Setup::new().await else { return };
    // Billing has nobody available: a transfer there waits.
    let billing = s.api().create_offering_queue("Billing", json!({"transfer_timeout_secs": 600})).await;
    let (ada, ada_token) = s.agent("Ada", 1).await;
    let (_, sue_token) = s.supervisor("Sue", &[&s.queue]).await;
    s.text("T6000000000000000000000000000001", "15555550461", "my refund?").await;
    let conversation = eventually(30, "the conversation reaches Ada", || {
        let (api, token) = (s.api().clone(), ada_token.clone());
        async move {
            api.work_items(&token)
                .await
                .into_iter()
                .find(|w| w["customer"] == "+15555550461")
                .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
        }
    })
    .await;
    // Cy serves Support too (joined once Ada had the conversation).
    let (_cy, cy_token) = s.agent("Cy", 1).await;

    // To a queue: Ada still lists it, with the transfer and its target by name.
    transfer(&s, &ada_token, &conversation, json!({"queue_id": billing, "note": NOTE}), 200).await;
    let mine = s.api().work_items(&ada_token).await;
    assert_eq!(ids(&mine), vec![json!(conversation)], "Ada still lists it: {mine:?}");
    assert_eq!(
        (&mine[0]["state"], &mine[0]["transfer"]["to_queue_id"], &mine[0]["transfer"]["to_name"]),
        (&json!("open"), &json!(billing), &json!("queue Billing")),
        "{mine:?}"
    );
    assert_eq!(mine[0]["transfer"]["from_agent_id"], json!(ada), "{mine:?}");
    assert_eq!(s.active_of(&ada).await, 1, "Ada holds the slot");
    let seen = s.api().conversation(&ada_token, &conversation).await;
    assert_eq!(seen["transfer"]["to_queue_id"], json!(billing), "Ada reads it: {seen}");
    // The customer keeps texting; Ada answers meanwhile.
    s.text("T6000000000000000000000000000002", "15555550461", "hello??").await;
    let id = s.reply(&ada_token, &conversation, "Still here while Billing picks it up").await;
    s.message_status(&ada_token, &conversation, &id, "sent").await;
    // Anything else waits for the transfer.
    for action in ["close", "wait", "end"] {
        let answer = s.act(&ada_token, &conversation, action, None, 409).await;
        assert_eq!(answer["error"]["code"], "transfer_pending", "{action}: {answer}");
    }
    let answer = transfer(&s, &ada_token, &conversation, json!({"queue_id": s.queue}), 409).await;
    assert_eq!(answer["error"]["code"], "transfer_pending", "{answer}");
    // The supervisor of Support (the queue it left) sees it in the team view, held by Ada; Cy does not.
    let team = s.api().ok("GET", "/v1/work-items/team", &sue_token, None, 200).await;
    let listed = team["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids(&listed), vec![json!(conversation)], "{team}");
    assert_eq!(listed[0]["agent_name"], "Ada", "{team}");
    let (status, _) =
        s.api().call("GET", &format!("/v1/conversations/{conversation}"), Some(&cy_token), None).await;
    assert_eq!(status, 404, "a colleague learns nothing of it");
    let (status, _) = s
        .api()
        .call("POST", &format!("/v1/conversations/{conversation}/transfer/cancel"), Some(&cy_token), None)
        .await;
    assert_eq!(status, 404, "nor cancels it");

    // Ada cancels: back with her, active, the transcript and the CRM say so.
    let back = s.act(&ada_token, &conversation, "transfer/cancel", None, 200).await;
    assert_eq!(
        (&back["state"], &back["agent_id"], &back["queue_id"], &back["transfer"]),
        (&json!("active"), &json!(ada), &json!(s.queue), &Value::Null),
        "{back}"
    );
    assert_eq!(s.active_of(&ada).await, 1, "the slot she held is the one she has");
    let c = s.api().conversation(&ada_token, &conversation).await;
    assert!(
        internal_entries(&c).iter().any(|t| t.contains("Ada cancelled the transfer to queue Billing")),
        "{c}"
    );
    let answer = s.act(&ada_token, &conversation, "transfer/cancel", None, 409).await;
    assert_eq!(answer["error"]["code"], "no_transfer", "nothing left to cancel: {answer}");
    let failed = crm_events(&s, &conversation, "transfer_failed", 1).await;
    assert_eq!(failed[0]["detail"]["reason"], "cancelled", "{failed:?}");
    assert!(failed[0]["detail"]["note"].is_null(), "never the note: {failed:?}");

    // To an agent: the offer shows in Ada's list as her pending transfer; cancelling withdraws it.
    let (bea, bea_token) = s.api().create_agent("Bea", &[&billing], 1).await;
    s.api().presence(&bea, &bea_token, "available").await;
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/queues/{}", s.queue),
            ADMIN_TOKEN,
            Some(json!({"auto_accept": false})),
            200,
        )
        .await;
    transfer(&s, &ada_token, &conversation, json!({"agent_id": bea}), 200).await;
    let mine = s.api().work_items(&ada_token).await;
    assert_eq!(
        (&mine[0]["state"], &mine[0]["transfer"]["to_agent_id"], &mine[0]["transfer"]["to_name"]),
        (&json!("offered"), &json!(bea), &json!("Bea")),
        "{mine:?}"
    );
    assert_eq!(ids(&s.api().work_items(&bea_token).await), vec![json!(conversation)], "Bea has the offer");
    assert_eq!((s.active_of(&ada).await, s.active_of(&bea).await), (1, 1));
    s.act(&ada_token, &conversation, "transfer/cancel", None, 200).await;
    assert_eq!((s.active_of(&ada).await, s.active_of(&bea).await), (1, 0), "the offer's slot is back");
    assert!(s.api().work_items(&bea_token).await.is_empty(), "the offer is withdrawn");
    let (status, _) = s
        .api()
        .call("POST", &format!("/v1/conversations/{conversation}/accept"), Some(&bea_token), None)
        .await;
    assert_eq!(status, 404, "Bea cannot accept a withdrawn offer");
    crm_events(&s, &conversation, "transfer_failed", 2).await;
    s.reply(&ada_token, &conversation, "Back with me, let us sort it out").await;
}

/// A transfer to an agent is an offer with its own timer, as assignment's offers are: with the timers'
/// sweep off, one the target lets run out comes back to the first agent once the queue's refusal timeout
/// passes (the sweep, a minute apart in AWS, would otherwise be all that ends it).
#[tokio::test]
async fn an_unanswered_transfer_to_an_agent_comes_back_at_its_timeout_without_the_sweep() {
    let Some(app) = crate::spawn_app_without_sweep().await else { return };
    let s = Setup::with_queue_on(
        app,
        json!({"name": "Support", "auto_accept": false, "refusal_timeout_secs": 5, "max_missed_offers": 5}),
    )
    .await;
    let (ada, ada_token) = s.agent("Ada", 1).await;
    s.text("TT900000000000000000000000000001", "15555550971", "hello").await;
    let conversation = conversation_of(&s, "+15555550971", "offered to Ada", "offered").await;
    s.act(&ada_token, &conversation, "accept", None, 200).await;
    let (bea, _bea_token) = s.agent("Bea", 1).await;
    transfer(&s, &ada_token, &conversation, json!({"agent_id": bea}), 200).await;
    let back = s
        .conversation_where(&conversation, "back with Ada after the offer to Bea ran out", |c| {
            c["agent_id"] == json!(ada) && c["state"] == "active" && c["transfer"].is_null()
        })
        .await;
    assert!(internal_entries(&back).iter().any(|t| t.contains("failed")), "Ada is told: {back}");
    assert_eq!((s.active_of(&ada).await, s.active_of(&bea).await), (1, 0), "no slot leaked");
}
