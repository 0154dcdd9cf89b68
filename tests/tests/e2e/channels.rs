//! Channels: creation with field-level errors, redacted credentials, callback URL, and validation against
//! the provider.

use crate::*;
use serde_json::{Value, json};

fn channel_body(fake: &FakeTelesign, number: Value) -> Value {
    json!({
        "name": "TeleSign",
        "provider": "telesign",
        "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
        "base_url": fake.base_url(),
        "numbers": [number],
    })
}

#[tokio::test]
async fn a_channel_gives_its_callback_url_and_never_returns_the_key() {
    let Some(s) = Setup::new().await else { return };
    let c = s.api().ok("GET", &format!("/v1/channels/{}", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(c["callback_url"], format!("{}/webhooks/telesign/{}", s.api().base, s.channel).as_str());
    assert_eq!(c["numbers"][0]["number"], OUR_NUMBER_E164);
    assert_eq!(c["numbers"][0]["type"], "geo");
    assert_eq!(c["numbers"][0]["queue"], s.queue.as_str());
    assert_eq!(c["credentials"]["customer_id"], s.fake.customer_id.as_str());
    let text = c.to_string();
    assert!(!text.contains(&s.fake.api_key), "the API key must never be returned: {text}");
    let list = s.api().ok("GET", "/v1/channels", ADMIN_TOKEN, None, 200).await;
    assert!(!list.to_string().contains(&s.fake.api_key));
    // Agents cannot manage channels.
    let (_a, token) = s.agent("Ada", 1).await;
    let (status, _) = s.api().call("GET", &format!("/v1/channels/{}", s.channel), Some(&token), None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn bad_channel_input_is_a_400_naming_the_field_and_the_rule() {
    let Some(s) = Setup::new().await else { return };
    let q = s.queue.as_str();
    let cases: Vec<(Value, &str)> = vec![
        (
            channel_body(
                &s.fake,
                json!({"number": "+15555550100", "type": "geo", "description": "", "queue": q}),
            ),
            "numbers[0].number",
        ),
        (
            channel_body(
                &s.fake,
                json!({"number": "1 555 555 0100", "type": "geo", "description": "", "queue": q}),
            ),
            "numbers[0].number",
        ),
        (
            channel_body(
                &s.fake,
                json!({"number": "15555550100", "type": "landline", "description": "", "queue": q}),
            ),
            "numbers[0].type",
        ),
        (
            channel_body(
                &s.fake,
                json!({"number": "15555550100", "type": "geo", "description": "", "queue": "q_nope"}),
            ),
            "numbers[0].queue",
        ),
        (channel_body(&s.fake, json!({"type": "geo", "queue": q})), "numbers[0].number"),
    ];
    for (body, field) in cases {
        let (status, answer) = s.api().admin("POST", "/v1/channels", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_request");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(field), "message {message:?} should name {field}");
    }
    let mut missing_key = channel_body(&s.fake, json!({"number": "15555550100", "type": "geo", "queue": q}));
    missing_key["credentials"].as_object_mut().map(|c| c.remove("api_key"));
    let (status, answer) = s.api().admin("POST", "/v1/channels", Some(missing_key)).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("credentials.api_key") && m.contains("required")),
        "{answer}"
    );
    let mut unknown = channel_body(&s.fake, json!({"number": "15555550100", "type": "geo", "queue": q}));
    unknown["provider"] = json!("pigeon");
    let (status, answer) = s.api().admin("POST", "/v1/channels", Some(unknown)).await;
    assert_eq!(status, 400);
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("provider")), "{answer}");
}

#[tokio::test]
async fn validate_makes_a_real_signed_call_and_tells_bad_credentials_from_an_unreachable_provider() {
    let Some(s) = Setup::new().await else { return };
    let ok =
        s.api().ok("POST", &format!("/v1/channels/{}/validate", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(ok["valid"], true);
    let seen = s.fake.seen();
    let call = seen.last().expect("a call reached TeleSign");
    assert_eq!(call.method, "GET");
    assert!(call.path.starts_with("/v1/messaging/"));
    assert!(call.signature_ok, "{:?}", call.signature_problem);

    // Same fake, wrong key: TeleSign answers 401.
    let mut wrong = channel_body(&s.fake, json!({"number": "15555550100", "type": "geo", "queue": s.queue}));
    wrong["credentials"]["api_key"] = json!(FakeTelesign::start().await.api_key);
    let wrong = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(wrong), 201).await;
    let verdict = s
        .api()
        .ok(
            "POST",
            &format!("/v1/channels/{}/validate", wrong["id"].as_str().expect("id")),
            ADMIN_TOKEN,
            None,
            200,
        )
        .await;
    assert_eq!(verdict["valid"], false);
    assert!(verdict["reason"].as_str().is_some_and(|r| !r.is_empty()), "{verdict}");

    // Nobody listening: 502 provider_unreachable, not "invalid".
    let port = ClosedPort::new();
    let closed = port.addr;
    let mut down = channel_body(&s.fake, json!({"number": "15555550100", "type": "geo", "queue": s.queue}));
    down["base_url"] = json!(format!("http://{closed}"));
    let down = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(down), 201).await;
    let (status, body) = s
        .api()
        .admin("POST", &format!("/v1/channels/{}/validate", down["id"].as_str().expect("id")), None)
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "provider_unreachable");
}

#[tokio::test]
async fn rotating_the_key_sends_with_the_new_one_and_still_accepts_callbacks_signed_with_the_old() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    let old_key = s.fake.api_key.clone();
    let new_key = s.fake.rotate_key();

    let (status, body) = s
        .api()
        .admin(
            "PUT",
            &format!("/v1/channels/{}/credentials", s.channel),
            Some(json!({"customer_id": s.fake.customer_id, "api_key": new_key})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.to_string().contains(&new_key) && !body.to_string().contains(&old_key),
        "keys are never returned"
    );
    assert!(body["credentials"]["previous_key_valid_until"].is_string(), "{body}");
    let verdict =
        s.api().ok("POST", &format!("/v1/channels/{}/validate", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(verdict["valid"], true, "validation signs with the new key");

    // A text TeleSign signed with the old key during the change-over is still accepted...
    let raw =
        telesign_mo("P1000000000000000000000000000001", "15555550221", OUR_NUMBER, "sent during rotation");
    let (status, body) =
        s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback_with(&old_key, &raw))).await;
    assert_eq!(status, 200, "{body}");
    // ... as is one signed with the new key; a made-up key is not.
    let raw = telesign_mo("P1000000000000000000000000000002", "15555550221", OUR_NUMBER, "after rotation");
    let (status, _) =
        s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback_with(&new_key, &raw))).await;
    assert_eq!(status, 200);
    let stranger = FakeTelesign::start().await.api_key;
    let (status, _) =
        s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback_with(&stranger, &raw))).await;
    assert_eq!(status, 401);

    // Replies go out signed with the new key.
    let conversation = s.work_item_for(&token, "+15555550221").await;
    s.api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "hello"})),
            202,
        )
        .await;
    s.message_where(&token, &conversation, "sent with the new key", |m| m["status"] == "sent").await;
    assert!(s.fake.sends().iter().all(|r| r.signature_ok));
}
