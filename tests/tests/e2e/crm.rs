//! CRM: the customer's contact by phone: none -> created, one -> linked, several -> the agent picks.

use crate::*;
use serde_json::{Value, json};

async fn linked_contact(s: &Setup, token: &str, conversation: &str, state: &str) -> Value {
    let api = s.api().clone();
    let (token, conversation, state) = (token.to_string(), conversation.to_string(), state.to_string());
    eventually(30, "the CRM job runs", || {
        let (api, token, conversation, state) =
            (api.clone(), token.clone(), conversation.clone(), state.clone());
        async move {
            let c = api.conversation(&token, &conversation).await;
            (c["contact_state"] == state.as_str()).then_some(c)
        }
    })
    .await
}

#[tokio::test]
async fn no_contact_creates_one_and_links_it() {
    let Some(s) = Setup::new().await else { return };
    let (_a, token) = s.agent("Ada", 2).await;
    s.text("M1000000000000000000000000000001", "15555550201", "hi").await;
    let conversation = s.work_item_for(&token, "+15555550201").await;
    let c = linked_contact(&s, &token, &conversation, "linked").await;
    let contacts = s.api().ok("GET", "/v1/contacts?phone=%2B15555550201", &token, None, 200).await;
    let items = contacts["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["phone"], "+15555550201");
    assert_eq!(c["contact_id"], items[0]["id"]);
    // The timeline records the conversation.
    // crm-upsert writes conversation_started just after it links the contact: wait for it.
    let id = items[0]["id"].as_str().expect("id");
    let started = eventually(30, "conversation_started on the timeline", || async {
        let contact = s.api().ok("GET", &format!("/v1/contacts/{id}"), &token, None, 200).await;
        contact["timeline"].as_array().and_then(|t| {
            t.iter()
                .find(|e| {
                    e["kind"] == "conversation_started" && e["conversation_id"] == conversation.as_str()
                })
                .cloned()
        })
    })
    .await;
    // The language the customer is served in: the channel's default (English, as none is set).
    assert_eq!(started["detail"]["language"], "en", "{started}");
    assert_eq!(c["language"], "en", "{c}");

    // A second conversation from the same phone links the same contact; no duplicate is created.
    s.api().ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    s.text("M1000000000000000000000000000002", "15555550201", "again").await;
    let second = eventually(30, "second conversation", || async {
        s.api()
            .work_items(&token)
            .await
            .into_iter()
            .find(|w| w["conversation_id"] != conversation.as_str())
            .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    let c2 = linked_contact(&s, &token, &second, "linked").await;
    assert_eq!(c2["contact_id"], items[0]["id"]);
    let contacts = s.api().ok("GET", "/v1/contacts?phone=15555550201", &token, None, 200).await;
    let again = contacts["items"].as_array().expect("items");
    assert_eq!(again.len(), 1, "{contacts}");
    assert_eq!(again[0]["id"], items[0]["id"]);
    // The first conversation's end is on the same contact's timeline (written by crm-upsert, so waited for).
    let api = s.api().clone();
    let (token, id, first) = (token.clone(), id.to_string(), conversation.clone());
    eventually(30, "conversation_closed on the timeline", || {
        let (api, token, id, first) = (api.clone(), token.clone(), id.clone(), first.clone());
        async move {
            let contact = api.ok("GET", &format!("/v1/contacts/{id}"), &token, None, 200).await;
            contact["timeline"].as_array().and_then(|t| {
                t.iter()
                    .find(|e| e["kind"] == "conversation_closed" && e["conversation_id"] == first.as_str())
                    .cloned()
            })
        }
    })
    .await;
}

#[tokio::test]
async fn exactly_one_contact_is_linked() {
    let Some(s) = Setup::new().await else { return };
    let existing = s
        .api()
        .ok(
            "POST",
            "/v1/contacts",
            ADMIN_TOKEN,
            Some(json!({"name": "Grace Hopper", "phone": "+15555550202"})),
            201,
        )
        .await;
    let (_a, token) = s.agent("Ada", 2).await;
    s.text("N1000000000000000000000000000001", "15555550202", "hi").await;
    let conversation = s.work_item_for(&token, "+15555550202").await;
    let c = linked_contact(&s, &token, &conversation, "linked").await;
    assert_eq!(c["contact_id"], existing["id"]);
    let contacts = s.api().ok("GET", "/v1/contacts?phone=%2B15555550202", &token, None, 200).await;
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(1), "no contact was created");
}

#[tokio::test]
async fn several_contacts_link_none_until_the_agent_picks() {
    let Some(s) = Setup::new().await else { return };
    let a = s
        .api()
        .ok(
            "POST",
            "/v1/contacts",
            ADMIN_TOKEN,
            Some(json!({"name": "Pat (home)", "phone": "+15555550203"})),
            201,
        )
        .await;
    let b = s
        .api()
        .ok(
            "POST",
            "/v1/contacts",
            ADMIN_TOKEN,
            Some(json!({"name": "Pat (work)", "phone": "+15555550203"})),
            201,
        )
        .await;
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("O1000000000000000000000000000001", "15555550203", "hi").await;
    let conversation = s.work_item_for(&token, "+15555550203").await;
    let c = linked_contact(&s, &token, &conversation, "needs_pick").await;
    assert_eq!(c["contact_id"], Value::Null);
    let mut candidates: Vec<&str> = c["contact_candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|v| v.as_str().or_else(|| v["id"].as_str()).expect("a candidate id"))
        .collect();
    candidates.sort_unstable();
    let mut expected = vec![a["id"].as_str().expect("id"), b["id"].as_str().expect("id")];
    expected.sort_unstable();
    assert_eq!(candidates, expected, "the candidates are the two contacts with the customer's phone");
    let contacts = s.api().ok("GET", "/v1/contacts?phone=%2B15555550203", &token, None, 200).await;
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(2), "none was created");

    // A contact with another phone cannot be picked.
    let other = s
        .api()
        .ok(
            "POST",
            "/v1/contacts",
            ADMIN_TOKEN,
            Some(json!({"name": "Someone", "phone": "+15555550299"})),
            201,
        )
        .await;
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/contact"),
            Some(&token),
            Some(json!({"contact_id": other["id"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.starts_with("contact_id") && m.contains("phone")),
        "{body}"
    );

    s.api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/contact"),
            &token,
            Some(json!({"contact_id": b["id"]})),
            200,
        )
        .await;
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["contact_state"], "linked");
    assert_eq!(c["contact_id"], b["id"]);
    let picked = s
        .api()
        .ok("GET", &format!("/v1/contacts/{}", b["id"].as_str().expect("id")), &token, None, 200)
        .await;
    let started: Vec<_> = picked["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "conversation_started")
        .collect();
    assert_eq!(started.len(), 1, "{picked}");
    assert_eq!(started[0]["conversation_id"], conversation.as_str());
    // The agent's assignment came before the pick: its event waited for it, and lands on the picked contact.
    let path = format!("/v1/contacts/{}", b["id"].as_str().expect("id"));
    eventually(20, "the assignment's event on the picked contact", || {
        let (api, token, path) = (s.api().clone(), token.clone(), path.clone());
        async move {
            let picked = api.ok("GET", &path, &token, None, 200).await;
            picked["timeline"].as_array()?.iter().any(|e| e["kind"] == "assigned").then_some(())
        }
    })
    .await;
    // The contact not picked got nothing, and is no longer the agent's to read (admin reads it).
    let not_picked = format!("/v1/contacts/{}", a["id"].as_str().expect("id"));
    let (status, _) = s.api().call("GET", &not_picked, Some(&token), None).await;
    assert_eq!(status, 404, "a contact no conversation of the agent's links or offers is not theirs");
    let other = s.api().ok("GET", &not_picked, ADMIN_TOKEN, None, 200).await;
    assert_eq!(other["timeline"], json!([]), "{other}");
}

/// Issue 10.7: several contacts share the number and none is right: the agent creates a new one with the
/// customer's phone; the conversation is linked to it and its timeline starts there.
#[tokio::test]
async fn the_agent_creates_a_new_contact_when_none_of_those_sharing_the_number_is_right() {
    let Some(s) = Setup::new().await else { return };
    let mut existing = Vec::new();
    for name in ["Sam (home)", "Sam (work)"] {
        let body = json!({"name": name, "phone": "+15555550204"});
        let c = s.api().ok("POST", "/v1/contacts", ADMIN_TOKEN, Some(body), 201).await;
        existing.push(c["id"].as_str().expect("id").to_string());
    }
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("O1000000000000000000000000000031", "15555550204", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550204").await;
    linked_contact(&s, &token, &conversation, "needs_pick").await;
    let path = format!("/v1/conversations/{conversation}/contact");
    for (bad, field) in [
        (json!({}), "contact_id"),
        (json!({"contact_id": existing[0], "new_contact": {"name": "Sam"}}), "contact_id"),
        (json!({"new_contact": {"name": "  "}}), "new_contact.name"),
    ] {
        let (status, body) = s.api().call("POST", &path, Some(&token), Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with(field)), "{bad} -> {body}");
    }
    let body = json!({"new_contact": {"name": "Sam (new)"}});
    s.api().ok("POST", &path, &token, Some(body), 200).await;
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["contact_state"], "linked", "{c}");
    let created = c["contact_id"].as_str().expect("a contact is linked").to_string();
    assert!(!existing.contains(&created), "a new contact, not one of the two: {c}");
    let contacts = s.api().ok("GET", "/v1/contacts?phone=%2B15555550204", ADMIN_TOKEN, None, 200).await;
    let items = contacts["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{contacts}");
    let new = items.iter().find(|i| i["id"] == created.as_str()).expect("the new contact is listed");
    assert_eq!((&new["name"], &new["phone"]), (&json!("Sam (new)"), &json!("+15555550204")), "{new}");
    let timeline = s.api().ok("GET", &format!("/v1/contacts/{created}"), &token, None, 200).await;
    let started: Vec<_> = timeline["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "conversation_started")
        .collect();
    assert_eq!(started.len(), 1, "{timeline}");
    assert_eq!(started[0]["conversation_id"], conversation.as_str());
}

/// Issue 10.7: when a conversation closes, its whole transcript, system messages included, is written on
/// the contact's timeline.
#[tokio::test]
async fn the_whole_transcript_goes_on_the_contact_when_the_conversation_closes() {
    let Some(s) = Setup::with_defaults().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("O1000000000000000000000000000041", "15555550205", "Where is my parcel?").await;
    let conversation = s.work_item_for(&token, "+15555550205").await;
    let c = linked_contact(&s, &token, &conversation, "linked").await;
    let contact = c["contact_id"].as_str().expect("contact id").to_string();
    s.reply(&token, &conversation, "It arrives tomorrow.").await;
    s.act(&token, &conversation, "close", None, 200).await;
    let api = s.api().clone();
    let transcript = eventually(30, "the transcript is on the contact's timeline", || {
        let api = api.clone();
        let path = format!("/v1/contacts/{contact}");
        async move {
            let c = api.ok("GET", &path, ADMIN_TOKEN, None, 200).await;
            c["timeline"].as_array().and_then(|t| t.iter().find(|e| e["kind"] == "transcript").cloned())
        }
    })
    .await;
    assert_eq!(transcript["conversation_id"], conversation.as_str(), "{transcript}");
    assert_eq!((&transcript["detail"]["part"], &transcript["detail"]["parts"]), (&json!(1), &json!(1)));
    let lines: Vec<(String, String)> = transcript["detail"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (m["author"].as_str().unwrap_or_default().into(), m["text"].as_str().unwrap_or_default().into())
        })
        .collect();
    let has = |author: &str, text: &str| lines.iter().any(|(a, t)| a == author && t == text);
    use smsdesk_domain::automated::{AutomatedKind, default_text};
    let en = |k| default_text("en", k).expect("English text");
    assert!(has("customer", "Where is my parcel?"), "{lines:?}");
    assert!(has("agent", "It arrives tomorrow."), "{lines:?}");
    assert!(has("system", en(AutomatedKind::OptInNotice)), "{lines:?}");
    assert!(has("system", en(AutomatedKind::ConversationEnded)), "the closing message too: {lines:?}");
    let first = lines.first().map(|(a, t)| (a.as_str(), t.as_str()));
    assert_eq!(first, Some(("customer", "Where is my parcel?")), "in transcript order: {lines:?}");
}
