//! Channels: creation with field-level errors, redacted credentials, callback URL, and validation against
//! the provider.

use crate::*;
use serde_json::{Value, json};

/// Rotates the fake TeleSign's API key and puts the new one on the channel (admin); the new key and the
/// answer.
async fn rotate_channel_key(s: &Setup) -> (String, Value) {
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
    (new_key, body)
}

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
    let (status, body) =
        s.api().call("GET", &format!("/v1/channels/{}", s.channel), Some(&token), None).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")), "{body}");
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
    let mut wrong = channel_body(&s.fake, json!({"number": "15555550110", "type": "geo", "queue": s.queue}));
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
    let mut down = channel_body(&s.fake, json!({"number": "15555550111", "type": "geo", "queue": s.queue}));
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
    let (new_key, body) = rotate_channel_key(&s).await;
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
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(sends[0].signature_ok, "signed with the new key: {:?}", sends[0].signature_problem);
}

/// The sender keeps a channel's credentials in memory (issue 12.4: not one Secrets Manager read per send).
/// A key rotated after the sender read the old one (in AWS by agent-api, another function) is refused by
/// the provider; the sender then reads the stored credentials again and the reply still goes out, once.
#[tokio::test]
async fn a_key_rotated_after_a_send_still_sends_the_next_reply_once() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    let raw = telesign_mo("P2000000000000000000000000000001", "15555550231", OUR_NUMBER, "hello");
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{body}");
    let conversation = s.work_item_for(&token, "+15555550231").await;
    let reply = |text: &'static str| {
        let path = format!("/v1/conversations/{conversation}/messages");
        let (api, token) = (s.api(), token.clone());
        async move { api.ok("POST", &path, &token, Some(json!({"text": text})), 202).await }
    };
    let first = reply("before the rotation").await;
    s.message_where(&token, &conversation, "first reply sent", |m| {
        m["id"] == first["id"] && m["status"] == "sent"
    })
    .await;

    rotate_channel_key(&s).await;
    let second = reply("after the rotation").await;
    s.message_where(&token, &conversation, "second reply sent with the new key", |m| {
        m["id"] == second["id"] && m["status"] == "sent"
    })
    .await;
    let second_id = second["id"].as_str().expect("id");
    let signed_ok: Vec<_> = s
        .fake
        .sends()
        .into_iter()
        .filter(|r| r.signature_ok && r.field("external_id") == Some(second_id))
        .collect();
    assert_eq!(signed_ok.len(), 1, "the second reply reached the provider once, with the new key");
}

#[tokio::test]
async fn rotating_to_another_customer_id_signs_as_the_new_account_and_refuses_the_old_one() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;
    let (old_customer, old_key) = (s.fake.customer_id.clone(), s.fake.api_key.clone());
    // The channel moves to another TeleSign account: a new customer id with its own key.
    let (new_customer, new_key) = s.fake.switch_account();
    let (status, body) = s
        .api()
        .admin(
            "PUT",
            &format!("/v1/channels/{}/credentials", s.channel),
            Some(json!({"customer_id": new_customer, "api_key": new_key})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.to_string().contains(&new_key) && !body.to_string().contains(&old_key), "{body}");
    assert_eq!(
        body["credentials"]["previous_key_valid_until"],
        json!(null),
        "another account's key is no grace for this one: {body}"
    );
    let stored = s.api().ok("GET", &format!("/v1/channels/{}", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(stored["credentials"]["customer_id"], new_customer.as_str(), "{stored}");
    // The fake now knows only the new account: a valid verdict proves the new pair is used.
    let verdict =
        s.api().ok("POST", &format!("/v1/channels/{}/validate", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(verdict["valid"], true, "{verdict}");

    // Callbacks from the new account are accepted; the old account's are refused.
    let raw = telesign_mo("AA000000000000000000000000000001", "15555550901", OUR_NUMBER, "old account");
    let old_signed = FakeTelesign::sign_callback_as(&old_customer, &old_key, &raw);
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&old_signed)).await;
    assert_eq!((status, &body["error"]["code"]), (401, &json!("unauthorized")), "{body}");
    assert_eq!(
        body["error"]["message"], "webhook signature check failed",
        "no hint of which check failed: {body}"
    );
    let raw = telesign_mo("AA000000000000000000000000000002", "15555550901", OUR_NUMBER, "new account");
    let new_signed = FakeTelesign::sign_callback_as(&new_customer, &new_key, &raw);
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&new_signed)).await;
    assert_eq!(status, 200, "{body}");

    // Replies go out as the new account.
    let conversation = s.work_item_for(&token, "+15555550901").await;
    let c = s.api().conversation(&token, &conversation).await;
    let texts: Vec<_> =
        c["messages"].as_array().expect("messages").iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts, vec![json!("new account")], "the refused callback was not filed");
    let id = s.reply(&token, &conversation, "hello from the new account").await;
    s.message_status(&token, &conversation, &id, "sent").await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(sends[0].signature_ok, "{:?}", sends[0].signature_problem);
    assert!(
        sends[0].header("authorization").is_some_and(|a| a.starts_with(&format!("TSA {new_customer}:"))),
        "{:?}",
        sends[0].header("authorization")
    );
}

#[tokio::test]
async fn a_number_listed_twice_or_already_on_another_channel_is_refused() {
    let Some(s) = Setup::new().await else { return };
    let number = |n: &str| json!({"number": n, "type": "geo", "description": "", "queue": s.queue});

    // Twice in one channel: 400 naming the second entry.
    let mut twice = channel_body(&s.fake, number("15555550300"));
    twice["numbers"] = json!([number("15555550300"), number("15555550300")]);
    let (status, body) = s.api().admin("POST", "/v1/channels", Some(twice)).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!("invalid_request")), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("numbers[1].number") && m.contains("twice")),
        "{body}"
    );

    // Already on the setup's channel: 409 naming the number and the channel that has it.
    let other = FakeTelesign::start().await;
    let mut taken = channel_body(&other, number("15555550301"));
    taken["numbers"] = json!([number("15555550301"), number(OUR_NUMBER)]);
    let (status, body) = s.api().admin("POST", "/v1/channels", Some(taken)).await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("number_in_use")), "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("numbers[1].number") && message.contains(&s.channel),
        "names the field and the channel that has the number: {body}"
    );

    // Neither was created: only the setup's channel exists, and its number still routes to it.
    let list = s.api().ok("GET", "/v1/channels", ADMIN_TOKEN, None, 200).await;
    let ids: Vec<_> = list["items"].as_array().expect("items").iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, vec![json!(s.channel)], "{list}");
}

/// The channels that list `number` (digits), by id.
async fn channels_listing(s: &Setup, number: &str) -> Vec<String> {
    let list = s.api().ok("GET", "/v1/channels", ADMIN_TOKEN, None, 200).await;
    let e164 = format!("+{number}");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| c["numbers"].as_array().is_some_and(|ns| ns.iter().any(|n| n["number"] == e164.as_str())))
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect()
}

/// Exactly one 2xx among `answers`; every other one a 409 `number_in_use` naming the field and `number`.
fn one_wins(answers: &[(u16, Value)], ok: u16, number: &str) {
    assert_eq!(
        answers.iter().filter(|(status, _)| *status == ok).count(),
        1,
        "exactly one wins: {answers:?}"
    );
    for (status, body) in answers.iter().filter(|(status, _)| *status != ok) {
        assert_eq!((*status, &body["error"]["code"]), (409, &json!("number_in_use")), "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("numbers[0].number") && message.contains(number), "{body}");
    }
}

#[tokio::test]
async fn concurrent_requests_for_one_number_give_it_to_exactly_one_channel() {
    let Some(s) = Setup::new().await else { return };
    let number = |n: &str| json!({"number": n, "type": "geo", "description": "", "queue": s.queue});

    // Eight channels created at once with the same number: one is created, the others are refused.
    let contested = "15555550310";
    let creations = (0..8).map(|i| {
        let mut body = channel_body(&s.fake, number(contested));
        body["name"] = json!(format!("Parallel {i}"));
        let api = s.api().clone();
        tokio::spawn(async move { api.admin("POST", "/v1/channels", Some(body)).await })
    });
    let answers: Vec<(u16, Value)> =
        futures::future::join_all(creations).await.into_iter().map(|r| r.expect("request")).collect();
    one_wins(&answers, 201, "+15555550310");
    let winner = answers.iter().find(|(status, _)| *status == 201).expect("the winner").1["id"].clone();
    assert_eq!(channels_listing(&s, contested).await, vec![winner.as_str().expect("id").to_string()]);

    // Eight channels given the same new number at once: one gets it.
    let mut ids = Vec::new();
    for i in 0..8 {
        let own = format!("155555503{:02}", 20 + i);
        ids.push(
            s.api()
                .ok("POST", "/v1/channels", ADMIN_TOKEN, Some(channel_body(&s.fake, number(&own))), 201)
                .await["id"]
                .clone(),
        );
    }
    let moved = "15555550311";
    let puts = ids.iter().map(|id| {
        let (api, path) = (s.api().clone(), format!("/v1/channels/{}/numbers", id.as_str().expect("id")));
        let body = json!({"numbers": [number(moved)]});
        tokio::spawn(async move { api.admin("PUT", &path, Some(body)).await })
    });
    let answers: Vec<(u16, Value)> =
        futures::future::join_all(puts).await.into_iter().map(|r| r.expect("request")).collect();
    one_wins(&answers, 200, "+15555550311");
    assert_eq!(channels_listing(&s, moved).await.len(), 1, "one channel lists it");

    // A number given up is free again: the winner of the creation drops it, another channel takes it.
    let loser = ids.iter().zip(&answers).find(|(_, (status, _))| *status == 409).expect("a refused one").0;
    let winner_path = format!("/v1/channels/{}/numbers", winner.as_str().expect("id"));
    s.api()
        .ok("PUT", &winner_path, ADMIN_TOKEN, Some(json!({"numbers": [number("15555550312")]})), 200)
        .await;
    let loser_path = format!("/v1/channels/{}/numbers", loser.as_str().expect("id"));
    s.api().ok("PUT", &loser_path, ADMIN_TOKEN, Some(json!({"numbers": [number(contested)]})), 200).await;
    assert_eq!(channels_listing(&s, contested).await, vec![loser.as_str().expect("id").to_string()]);
}

/// `PUT /v1/channels/{id}/credentials` replaces the credentials whole: `null` for the body or for any field
/// is no value, so it is a 400 naming it, and the stored key stays (sends and validation keep working).
#[tokio::test]
async fn null_credentials_or_a_null_credential_field_are_a_400_naming_it_and_keep_the_key() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/channels/{}/credentials", s.channel);
    let before = s.api().ok("GET", &format!("/v1/channels/{}", s.channel), ADMIN_TOKEN, None, 200).await;
    let (customer, key) = (s.fake.customer_id.as_str(), s.fake.api_key.as_str());
    let refused = |status: u16, answer: &Value, field: &str, what: &str| {
        assert_eq!((status, &answer["error"]["code"]), (400, &json!("invalid_request")), "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}: ")), "{what}: {message:?} should name {field}");
        assert!(message.contains("null"), "{what}: {message:?} should say null is the fault");
    };
    for (body, field) in [
        (Value::Null, "credentials"),
        (json!({"customer_id": customer, "api_key": null}), "credentials.api_key"),
        (json!({"customer_id": null, "api_key": key}), "credentials.customer_id"),
        (
            json!({"customer_id": customer, "api_key": key, "previous_api_key": null}),
            "credentials.previous_api_key",
        ),
    ] {
        let (status, answer) = s.api().admin("PUT", &path, Some(body.clone())).await;
        refused(status, &answer, field, &body.to_string());
    }
    let after = s.api().ok("GET", &format!("/v1/channels/{}", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(after, before, "the credentials are as they were");
    let verdict =
        s.api().ok("POST", &format!("/v1/channels/{}/validate", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(verdict["valid"], true, "the stored key still proves the account: {verdict}");

    // The sandbox takes any credentials object, or none, but not null (`smsdesk dev` only).
    if s.app.aws.is_none() {
        let sandbox = s
            .api()
            .ok(
                "POST",
                "/v1/channels",
                ADMIN_TOKEN,
                Some(json!({"name": "Sandbox", "provider": "sandbox",
                    "numbers": [{"number": "15555550197", "type": "geo", "queue": s.queue}]})),
                201,
            )
            .await;
        let path = format!("/v1/channels/{}/credentials", sandbox["id"].as_str().expect("id"));
        for (body, field) in
            [(Value::Null, "credentials"), (json!({"anything": null}), "credentials.anything")]
        {
            let (status, answer) = s.api().admin("PUT", &path, Some(body.clone())).await;
            refused(status, &answer, field, &format!("sandbox {body}"));
        }
        s.api().ok("PUT", &path, ADMIN_TOKEN, Some(json!({})), 200).await;
    }
}

/// `PATCH /v1/channels/{id}` is a JSON merge patch (RFC 7396): `null` removes a member, which for a setting
/// with a default is going back to that default, at any depth; `name` has none, and the 400 says so.
#[tokio::test]
async fn null_in_a_channel_patch_resets_the_setting_to_its_default() {
    let Some(s) = Setup::new().await else { return };
    let path = format!("/v1/channels/{}", s.channel);
    let defaults = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    let changed = json!({
        "smart_encoding": true,
        "automated_messages_enabled": false,
        "attachments": {"customer": true, "agent": true, "refused_text": "No pictures, please."},
        "automated_messages": {"en": {"greeting": "Hello!", "help": "Call us."}},
        "consent_keywords": {"fr": {"opt_out": ["ARRETEZ"]}},
        "language_keywords": {"fr": ["FRANCAIS"]},
        "language": "es",
        "inactivity_secs": 3600,
    });
    let patched = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(changed), 200).await;
    assert_eq!(patched["attachments"]["customer"], true, "{patched}");
    // Nested nulls: one field of an object, one text of a language.
    let nested = json!({"attachments": {"agent": null, "refused_text": null},
                        "automated_messages": {"en": {"greeting": null}}});
    let patched = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(nested), 200).await;
    assert_eq!(patched["attachments"]["customer"], true, "untouched: {patched}");
    assert_eq!(patched["attachments"]["agent"], defaults["attachments"]["agent"], "{patched}");
    assert_eq!(patched["attachments"]["refused_text"], defaults["attachments"]["refused_text"], "{patched}");
    assert_eq!(
        patched["automated_messages"]["en"]["greeting"],
        defaults["automated_messages"]["en"]["greeting"]
    );
    assert_eq!(patched["automated_messages"]["en"]["help"], "Call us.", "untouched: {patched}");
    // Every setting back to its default with null.
    let all_null = json!({
        "smart_encoding": null, "automated_messages_enabled": null, "attachments": null,
        "automated_messages": null, "consent_keywords": null, "language_keywords": null,
        "language": null, "inactivity_secs": null,
    });
    let reset = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(all_null), 200).await;
    // Setup's channel was created with automated messages off; their default is on.
    let mut defaults = defaults;
    defaults["automated_messages_enabled"] = json!(true);
    assert_eq!(reset, defaults, "null resets every setting to what a new channel has");
    assert_eq!(s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await, defaults, "and it is stored");
    // The name has no default: null is a 400 saying so, and nothing changes.
    let (status, answer) = s.api().admin("PATCH", &path, Some(json!({"name": null}))).await;
    assert_eq!((status, &answer["error"]["code"]), (400, &json!("invalid_request")), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("name: has no default"), "{message}");
    assert_eq!(s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await, defaults);
}
