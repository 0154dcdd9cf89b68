//! Queue settings (issue 11.1, 11.8): read, changed by JSON merge patch with validation that names the
//! field and the rule, deleted only when nothing uses them (409 naming what does), expiry, and the service
//! level reported against the queue's target.

use crate::*;
use serde_json::json;
use smsdesk_tests::*;
use std::time::Duration;

#[tokio::test]
async fn queue_settings_are_read_and_patched_and_bad_values_name_the_field_and_rule() {
    let Some(s) = Setup::new().await else { return };
    let (agent, _) = s.agent("Ada", 2).await;
    let path = format!("/v1/queues/{}", s.queue);
    let q = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!((&q["name"], &q["hidden"]), (&json!("Support"), &json!(false)), "{q}");
    assert_eq!(q["numbers"][0]["number"], json!(OUR_NUMBER_E164), "the numbers that feed it: {q}");
    assert_eq!(q["agents"][0]["id"], json!(agent), "the agents that serve it: {q}");

    let patched = s
        .api()
        .ok(
            "PATCH",
            &path,
            ADMIN_TOKEN,
            Some(json!({"hidden": true, "service_level_seconds": 30, "name": "Support:EU"})),
            200,
        )
        .await;
    assert_eq!(
        (&patched["hidden"], &patched["service_level_seconds"]),
        (&json!(true), &json!(30)),
        "{patched}"
    );
    let back = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(back["name"], "Support:EU");
    assert_eq!(back["service_level_seconds"], 30);
    // null removes a setting (merge patch).
    let cleared =
        s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"service_level_seconds": null})), 200).await;
    assert_eq!(cleared["service_level_seconds"], serde_json::Value::Null, "{cleared}");

    let cases = [
        (json!({"name": "x"}), "name: must be 2 to 30 characters"),
        (json!({"name": "two words"}), "name: must be 2 to 30"),
        (json!({"expiry_seconds": 0}), "expiry_seconds: must be between 1 and"),
        (json!({"id": "q_other"}), "id: cannot be changed"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at: cannot be changed"),
        (json!({"bot": {"url": "https://bot.example.com/hook"}}), "bot.secret: is required"),
        (
            json!({"bot": {"url": "ftp://bot.example.com", "secret": "0123456789abcdef"}}),
            "bot.url: must be an https:// URL",
        ),
        (json!({"hidden": "yes"}), "hidden: is not valid"),
        (json!({"offline_handback_secs": -1}), "offline_handback_secs: is not valid"),
    ];
    for (body, message) in cases {
        let (status, answer) = s.api().call("PATCH", &path, Some(ADMIN_TOKEN), Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let text = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(text.starts_with(message), "{body}: {text}");
    }
    let unchanged = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(unchanged["name"], "Support:EU", "a refused patch changes nothing");
    let (status, _) =
        s.api().call("POST", "/v1/queues", Some(ADMIN_TOKEN), Some(json!({"name": "a/b"}))).await;
    assert_eq!(status, 400, "create validates the name too");
}

#[tokio::test]
async fn a_queue_in_use_is_not_deleted_and_the_409_names_what_uses_it() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/queues/{}", s.queue);
    let (status, answer) = s.api().call("DELETE", &path, Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 409, "{answer}");
    let text = answer["error"]["message"].as_str().unwrap_or_default().to_string();
    assert!(text.contains(&format!("number {OUR_NUMBER_E164}")), "{text}");

    let spare = s.api().create_queue("Spare").await;
    let (agent, _) = s.api().create_agent("Ada", &[&spare], 1).await;
    let (status, answer) =
        s.api().call("DELETE", &format!("/v1/queues/{spare}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"].as_str().unwrap_or_default().contains(&format!("agent {agent}")),
        "{answer}"
    );

    let unused = s.api().create_queue("Unused").await;
    let (status, _) = s.api().call("DELETE", &format!("/v1/queues/{unused}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 204);
    let (status, _) = s.api().call("GET", &format!("/v1/queues/{unused}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 404, "a deleted queue is gone");
    let (status, _) = s.api().call("DELETE", &format!("/v1/queues/{unused}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_conversation_waiting_past_the_queue_expiry_gets_the_expiry_message_and_closes() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/queues/{}", s.queue);
    let message = "Sorry, nobody is free. Text us again later.";
    s.api()
        .ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"expiry_seconds": 600, "expiry_message": message})), 200)
        .await;
    s.text("V3000000000000000000000000000001", "15555550701", "anyone there?").await;
    let id = eventually(30, "the conversation waits", || async {
        let all = s.api().work_items(ADMIN_TOKEN).await;
        all.into_iter().find(|w| w["customer"] == "+15555550701" && w["state"] == "open")
    })
    .await["conversation_id"]
        .as_str()
        .expect("id")
        .to_string();
    s.app.clock.advance(Duration::from_secs(599));
    s.text("V3000000000000000000000000000002", "15555550702", "me too").await; // a later one, not expired
    // Filed before the sweep that expires the first: the webhook's answer comes before the router files it.
    eventually(30, "the later one waits", || async {
        let all = s.api().work_items(ADMIN_TOKEN).await;
        all.into_iter().find(|w| w["customer"] == "+15555550702" && w["state"] == "open")
    })
    .await;
    s.app.clock.advance(Duration::from_secs(2));
    let sent = eventually(30, "the expiry message is sent", || async {
        s.fake.sends().into_iter().find(|x| x.field("message") == Some(message))
    })
    .await;
    assert_eq!(sent.field("phone_number"), Some("15555550701"));
    let c = eventually(30, "the conversation closes", || async {
        let c = s.api().conversation(ADMIN_TOKEN, &id).await;
        (c["state"] == "closed").then_some(c)
    })
    .await;
    assert_eq!(c["close_reason"], "expired in its queue");
    let last = c["messages"].as_array().and_then(|m| m.last().cloned()).unwrap_or_default();
    assert_eq!((&last["author"], &last["text"]), (&json!("system"), &json!(message)), "{c}");
    let waiting = s.api().work_items(ADMIN_TOKEN).await;
    assert!(
        waiting.iter().any(|w| w["customer"] == "+15555550702" && w["state"] == "open"),
        "the later one still waits"
    );
}

#[tokio::test]
async fn the_service_level_is_the_share_answered_within_the_queue_target() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/queues/{}", s.queue);
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"service_level_seconds": 60})), 200).await;
    let stats_path = format!("{path}/stats");
    let stats = s.api().ok("GET", &stats_path, ADMIN_TOKEN, None, 200).await;
    assert_eq!((&stats["answered"], &stats["service_level"]), (&json!(0), &json!(null)), "{stats}");

    // Ada (one slot) answers the first customer at once; the second waits 120 s for her.
    let (_ada, token) = s.agent("Ada", 1).await;
    s.text("V3000000000000000000000000000101", "15555550711", "first").await;
    let first = s.work_item_for(&token, "+15555550711").await;
    s.text("V3000000000000000000000000000102", "15555550712", "second").await;
    eventually(30, "the second customer waits", || async {
        let all = s.api().work_items(ADMIN_TOKEN).await;
        all.into_iter().find(|w| w["customer"] == "+15555550712" && w["state"] == "open")
    })
    .await;
    s.app.clock.advance(Duration::from_secs(120));
    let stats = s.api().ok("GET", &stats_path, ADMIN_TOKEN, None, 200).await;
    assert_eq!((&stats["answered"], &stats["answered_within_target"]), (&json!(1), &json!(1)), "{stats}");
    assert_eq!((&stats["service_level"], &stats["waiting"]), (&json!(1.0), &json!(1)), "{stats}");
    assert!(stats["oldest_waiting_seconds"].as_i64() >= Some(120), "{stats}");

    s.api().ok("POST", &format!("/v1/conversations/{first}/close"), &token, None, 200).await;
    s.work_item_for(&token, "+15555550712").await;
    let stats = eventually(30, "the second answer is counted", || async {
        let stats = s.api().ok("GET", &stats_path, ADMIN_TOKEN, None, 200).await;
        (stats["answered"] == 2).then_some(stats)
    })
    .await;
    assert_eq!(
        (&stats["answered_within_target"], &stats["service_level"], &stats["service_level_seconds"]),
        (&json!(1), &json!(0.5), &json!(60)),
        "the second waited past the 60 s target: {stats}"
    );
    let week = s.api().ok("GET", &format!("{stats_path}?days=7"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(week["answered"], 2, "{week}");

    let (status, answer) =
        s.api().call("GET", &format!("{stats_path}?days=0"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().starts_with("days: "), "{answer}");
    let (status, answer) =
        s.api().call("GET", &format!("{stats_path}?days=1&days=2"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or_default().starts_with("days: "), "{answer}");
    let (status, _) = s.api().call("GET", &stats_path, Some(&token), None).await;
    assert_eq!(status, 403, "an agent does not read queue stats");
}

/// `PATCH /v1/queues/{id}` is a JSON merge patch (RFC 7396): `null` resets a setting to its default and
/// removes an optional one; a field without a default (`name`, `operating_hours.time_zone`) refuses null
/// with a 400 that says so and how to go on.
#[tokio::test]
async fn null_in_a_queue_patch_resets_the_setting_to_its_default_or_says_why_it_cannot() {
    let Some(app) = spawn_app().await else { return };
    let api = &app.api;
    let created = api.ok("POST", "/v1/queues", ADMIN_TOKEN, Some(json!({"name": "Resets"})), 201).await;
    let path = format!("/v1/queues/{}", created["id"].as_str().expect("id"));
    let defaults = api.ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    let changed = json!({
        "dispositions": ["Solved"], "tags": ["vip"], "refusal_timeout_secs": 90, "max_missed_offers": 5,
        "expiry_message": "We could not get to you, sorry.", "expiry_seconds": 600, "hidden": true,
        "operating_hours": {"time_zone": "Europe/Paris", "days": {"mon": [["09:00", "17:00"]]}},
    });
    let patched = api.ok("PATCH", &path, ADMIN_TOKEN, Some(changed), 200).await;
    assert_eq!(patched["refusal_timeout_secs"], 90, "{patched}");
    let all_null = json!({
        "dispositions": null, "tags": null, "refusal_timeout_secs": null, "max_missed_offers": null,
        "expiry_message": null, "expiry_seconds": null, "hidden": null, "operating_hours": null,
    });
    let reset = api.ok("PATCH", &path, ADMIN_TOKEN, Some(all_null), 200).await;
    assert_eq!(reset, defaults, "null resets every setting to what a new queue has");
    for (patch, field) in [
        (json!({"name": null}), "name"),
        (
            json!({"operating_hours": {"time_zone": null, "days": {"mon": [["09:00", "17:00"]]}}}),
            "operating_hours.time_zone",
        ),
    ] {
        let (status, answer) = api.admin("PATCH", &path, Some(patch.clone())).await;
        assert_eq!((status, &answer["error"]["code"]), (400, &json!("invalid_request")), "{patch}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}: has no default")), "{patch}: {message}");
        assert!(message.contains("give it a value"), "{patch}: {message}");
    }
    assert_eq!(api.ok("GET", &path, ADMIN_TOKEN, None, 200).await, defaults, "nothing changed");
}
