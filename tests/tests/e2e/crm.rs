//! CRM: the customer's contact by phone: none -> created, one -> linked, several -> the agent picks.

use crate::*;
use serde_json::{Value, json};

async fn linked_contact(s: &Setup, token: &str, conversation: &str, state: &str) -> Value {
    let api = s.api().clone();
    let (token, conversation, state) = (token.to_string(), conversation.to_string(), state.to_string());
    eventually(10, "the CRM job runs", || {
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
    eventually(10, "conversation_started on the timeline", || async {
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

    // A second conversation from the same phone links the same contact; no duplicate is created.
    s.api().ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    s.text("M1000000000000000000000000000002", "15555550201", "again").await;
    let second = eventually(10, "second conversation", || async {
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
    eventually(10, "conversation_closed on the timeline", || {
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
    // The contact not picked got nothing, and is no longer the agent's to read (admin reads it).
    let not_picked = format!("/v1/contacts/{}", a["id"].as_str().expect("id"));
    let (status, _) = s.api().call("GET", &not_picked, Some(&token), None).await;
    assert_eq!(status, 404, "a contact no conversation of the agent's links or offers is not theirs");
    let other = s.api().ok("GET", &not_picked, ADMIN_TOKEN, None, 200).await;
    assert_eq!(other["timeline"], json!([]), "{other}");
}
