//! Teams (issue 11.3) and dispatch priority across an agent's queues (issue 11), on both shapes: a team's
//! members serve its queues, a team at capacity gets nothing new though its members have room, and a slot
//! freed by a decline goes to the highest-priority conversation of all the agent's queues.

use crate::*;
use serde_json::{Value, json};

async fn team(s: &Setup, body: Value) -> String {
    let created = s.api().ok("POST", "/v1/teams", ADMIN_TOKEN, Some(body), 201).await;
    created["id"].as_str().expect("team id").to_string()
}

async fn join(s: &Setup, agent: &str, team: &str) {
    let path = format!("/v1/agents/{agent}");
    let joined = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"team_id": team})), 200).await;
    assert_eq!(joined["team_id"], json!(team), "{joined}");
}

async fn team_view(s: &Setup, id: &str) -> Value {
    s.api().ok("GET", &format!("/v1/teams/{id}"), ADMIN_TOKEN, None, 200).await
}

/// The first of `token`'s work items in `state`, for `customer`.
async fn item_of(s: &Setup, token: &str, customer: &str) -> Option<Value> {
    s.api().work_items(token).await.into_iter().find(|w| w["customer"] == customer)
}

#[tokio::test]
async fn teams_are_managed_through_the_api_with_validation_naming_the_field() {
    let Some(s) = Setup::new().await else { return };
    let id = team(&s, json!({"name": "Tier-1", "capacity": 4, "queues": [s.queue]})).await;
    let read = team_view(&s, &id).await;
    assert_eq!(
        (&read["name"], &read["capacity"], &read["queues"], &read["active"], &read["members"]),
        (&json!("Tier-1"), &json!(4), &json!([s.queue]), &json!(0), &json!([])),
        "{read}"
    );
    let listed = s.api().ok("GET", "/v1/teams", ADMIN_TOKEN, None, 200).await;
    assert!(listed["items"].as_array().expect("items").iter().any(|t| t["id"] == json!(id)), "{listed}");

    for (body, field) in [
        (json!({"capacity": 2}), "name"),
        (json!({"name": "x", "capacity": 2}), "name"),
        (json!({"name": "Tier-2", "capacity": 0}), "capacity"),
        (json!({"name": "Tier-2", "capacity": 2, "queues": ["q_nope"]}), "queues[0]"),
        (json!({"name": "Tier-2", "capacity": 2, "active": 1}), "active"),
        (json!({"name": "Tier-2", "capacity": 2, "colour": "red"}), "colour"),
    ] {
        let (status, answer) = s.api().admin("POST", "/v1/teams", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(&format!("{field}: ")), "names {field}: {answer}");
    }
    // Merge patch: what is named changes, the rest stays; immutable and unknown fields are refused.
    let path = format!("/v1/teams/{id}");
    let patched = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"capacity": 6})), 200).await;
    assert_eq!((&patched["capacity"], &patched["name"]), (&json!(6), &json!("Tier-1")), "{patched}");
    for (body, field) in [
        (json!({"id": "tm_x"}), "id"),
        (json!({"capacity": -1}), "capacity"),
        (json!({"members": []}), "members"),
    ] {
        let (status, answer) = s.api().admin("PATCH", &path, Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(field), "names {field}: {answer}");
    }

    // Members: one team per agent, set on the agent; an agent reads no teams, a supervisor does.
    let (ada, ada_token) = s.api().create_agent("Ada", &[&s.queue], 2).await;
    join(&s, &ada, &id).await;
    assert_eq!(team_view(&s, &id).await["members"], json!([ada]));
    // A refused patch stores none of its fields (the capacity beside the unknown team stays as it was).
    let (status, answer) = s
        .api()
        .admin("PATCH", &format!("/v1/agents/{ada}"), Some(json!({"capacity": 7, "team_id": "tm_nope"})))
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("team_id: ")), "{answer}");
    let kept = s.api().ok("GET", &format!("/v1/agents/{ada}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!((&kept["capacity"], &kept["team_id"]), (&json!(2), &json!(id)), "unchanged: {kept}");
    let (status, _) = s.api().call("GET", "/v1/teams", Some(&ada_token), None).await;
    assert_eq!(status, 403, "an agent does not read teams");
    let (_, sup_token) = s.supervisor("Sue", &[&s.queue]).await;
    let sup_token = sup_token.as_str();
    s.api().ok("GET", &path, sup_token, None, 200).await;
    let (status, _) = s.api().call("PATCH", &path, Some(sup_token), Some(json!({"capacity": 1}))).await;
    assert_eq!(status, 403, "a supervisor reads, only an admin writes");

    // A team with members is not deleted; once they left, it is.
    let (status, answer) = s.api().admin("DELETE", &path, None).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("team_has_members")), "{answer}");
    let left = s
        .api()
        .ok("PATCH", &format!("/v1/agents/{ada}"), ADMIN_TOKEN, Some(json!({"team_id": null})), 200)
        .await;
    assert_eq!(left["team_id"], Value::Null, "{left}");
    let (status, answer) = s.api().admin("DELETE", &path, None).await;
    assert_eq!(status, 204, "{answer}");
    let (status, _) = s.api().admin("GET", &path, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_team_at_capacity_gets_nothing_new_and_its_members_serve_the_team_queue() {
    let Some(s) = Setup::new().await else { return };
    // Billing is served by nobody but the team; Ada and Bob's own queue is Support.
    let billing = s.api().create_queue("Billing").await;
    let second = s.api().telesign_channel(&s.fake, &["15555550178"], &billing).await;
    let second = second["id"].as_str().expect("channel id").to_string();
    let id = team(&s, json!({"name": "Duo", "capacity": 1, "queues": [billing]})).await;
    let (ada, ada_token) = s.agent("Ada", 2).await;
    let (bob, bob_token) = s.agent("Bob", 2).await;
    join(&s, &ada, &id).await;
    join(&s, &bob, &id).await;
    // The queue's view lists who serves it as distribution counts them: the team's members too.
    let view = s.api().ok("GET", &format!("/v1/queues/{billing}"), ADMIN_TOKEN, None, 200).await;
    let mut serving: Vec<&str> =
        view["agents"].as_array().expect("agents").iter().filter_map(|a| a["id"].as_str()).collect();
    serving.sort_unstable();
    let mut members = vec![ada.as_str(), bob.as_str()];
    members.sort_unstable();
    assert_eq!(serving, members, "{view}");

    s.text("TM100000000000000000000000000001", "15555550901", "first").await;
    let first = eventually(30, "a member holds the first conversation", || async {
        for token in [&ada_token, &bob_token] {
            if let Some(w) = item_of(&s, token, "+15555550901").await.filter(|w| w["state"] == "active") {
                return w["conversation_id"].as_str().map(|c| (token.to_string(), c.to_string()));
            }
        }
        None
    })
    .await;
    assert_eq!(team_view(&s, &id).await["active"], json!(1), "the team's one slot is taken");

    // A Billing customer: both members have room of their own, the team has none.
    let raw = telesign_mo("TM100000000000000000000000000002", "15555550902", "15555550178", "invoice?");
    let (status, answer) = s
        .api()
        .webhook(&format!("/webhooks/telesign/{second}"), &raw, Some(&s.fake.sign_callback(&raw)))
        .await;
    assert_eq!(status, 200, "{answer}");
    let waiting = eventually(30, "the Billing customer's conversation exists", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550902")
    })
    .await;
    s.app.settled().await;
    let waiting_id = waiting["conversation_id"].as_str().expect("id").to_string();
    let now = s.api().conversation(ADMIN_TOKEN, &waiting_id).await;
    assert_eq!((&now["state"], &now["agent_id"]), (&json!("open"), &Value::Null), "the team is full: {now}");
    assert_eq!(s.active_of(&ada).await + s.active_of(&bob).await, 1, "nobody took a second slot");
    // Transfer targets say so too: the other member has room of its own, but its team has none.
    let path = format!("/v1/conversations/{}/transfer-targets", first.1);
    let targets = s.api().ok("GET", &path, &first.0, None, 200).await;
    let other = if first.0 == ada_token { &bob } else { &ada };
    let listed =
        targets["agents"].as_array().and_then(|a| a.iter().find(|x| x["id"] == json!(other)).cloned());
    assert_eq!(listed.as_ref().map(|x| &x["can_take"]), Some(&json!(false)), "{targets}");

    // The first conversation closes: the team's slot comes back and a member serves Billing through it.
    s.api().ok("POST", &format!("/v1/conversations/{}/close", first.1), &first.0, None, 200).await;
    let landed = s
        .conversation_where(&waiting_id, "a member takes the Billing conversation", |c| {
            c["state"] == "active"
        })
        .await;
    assert!(landed["agent_id"] == json!(ada) || landed["agent_id"] == json!(bob), "{landed}");
    assert_eq!(team_view(&s, &id).await["active"], json!(1));
    let holder = if landed["agent_id"] == json!(ada) { &ada_token } else { &bob_token };
    s.api().ok("POST", &format!("/v1/conversations/{waiting_id}/close"), holder, None, 200).await;
    assert_eq!(team_view(&s, &id).await["active"], json!(0), "every slot back");
}

/// Ada serves Low (priority 0, offers) and High (priority 5); Bob serves Low and is busy. Ada declines a Low
/// offer: the slot it frees goes to High's waiting conversation, not to the next one of Low.
#[tokio::test]
async fn a_slot_freed_by_a_decline_goes_to_the_highest_priority_of_all_the_agents_queues() {
    // An offer Ada has all the time she needs to decline (however slow the machine): this is not about expiry.
    let low = json!({"name": "Low", "auto_accept": false, "refusal_timeout_secs": 900});
    let Some(s) = Setup::with_queue(low).await else { return };
    let high = s
        .api()
        .ok(
            "POST",
            "/v1/queues",
            ADMIN_TOKEN,
            Some(json!({"name": "High", "initial_priority": 5, "auto_accept": true})),
            201,
        )
        .await;
    let high = high["id"].as_str().expect("queue id").to_string();
    let second = s.api().telesign_channel(&s.fake, &["15555550179"], &high).await;
    let second = second["id"].as_str().expect("channel id").to_string();
    let (_bob, bob_token) = s.agent("Bob", 1).await;
    s.text("PQ100000000000000000000000000001", "15555550911", "for bob").await;
    let bobs = s.work_item_for(&bob_token, "+15555550911").await;
    s.act(&bob_token, &bobs, "accept", None, 200).await;

    let (ada, ada_token) = s.api().create_agent("Ada", &[&s.queue, &high], 1).await;
    s.api().presence(&ada, &ada_token, "available").await;
    s.text("PQ100000000000000000000000000002", "15555550912", "offered to ada").await;
    let offered = s.work_item_for(&ada_token, "+15555550912").await;
    // Then a Low customer and a High one wait: Ada's one slot is the offer's, Bob is full.
    s.text("PQ100000000000000000000000000003", "15555550913", "low").await;
    let raw = telesign_mo("PQ100000000000000000000000000004", "15555550914", "15555550179", "high");
    let (status, answer) = s
        .api()
        .webhook(&format!("/webhooks/telesign/{second}"), &raw, Some(&s.fake.sign_callback(&raw)))
        .await;
    assert_eq!(status, 200, "{answer}");
    let find = |customer: &'static str| {
        let api = s.api().clone();
        async move {
            eventually(30, "the customer's conversation exists", || async {
                api.work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == customer)
            })
            .await["conversation_id"]
                .as_str()
                .expect("id")
                .to_string()
        }
    };
    let (low, urgent) = (find("+15555550913").await, find("+15555550914").await);
    s.app.settled().await;
    for id in [&low, &urgent] {
        assert_eq!(s.api().conversation(ADMIN_TOKEN, id).await["state"], "open", "{id} waits");
    }

    s.act(&ada_token, &offered, "decline", None, 200).await;
    s.app.settled().await;
    let got = s
        .conversation_where(&urgent, "High's conversation becomes Ada's", |c| c["agent_id"] == json!(ada))
        .await;
    assert_eq!(got["state"], "active", "{got}");
    let low_now = s.api().conversation(ADMIN_TOKEN, &low).await;
    assert_eq!(
        (&low_now["state"], &low_now["agent_id"]),
        (&json!("open"), &Value::Null),
        "Low's waits: {low_now}"
    );
    let declined = s.api().conversation(ADMIN_TOKEN, &offered).await;
    assert_eq!(declined["state"], "open", "the declined one waits for Bob: {declined}");
}
