//! The TeleSign conversation: a text reaches an agent, the agent answers, the answer goes out signed.

use crate::*;
use serde_json::json;

#[tokio::test]
async fn text_reaches_the_least_loaded_agent_and_the_reply_goes_out_through_telesign() {
    let Some(s) = Setup::new().await else { return };
    let (busy_agent, busy_token) = s.agent("Ada", 2).await;
    let (free_agent, free_token) = s.agent("Brook", 2).await;

    // Ada takes the first customer (tie on load goes by id/idle time), so the second goes to the less loaded.
    s.text("A1000000000000000000000000000001", "15555550111", "first customer").await;
    let first = eventually(30, "first customer assigned", || async {
        for token in [&busy_token, &free_token] {
            if let Some(w) = s.api().work_items(token).await.into_iter().next() {
                return Some((token.clone(), w));
            }
        }
        None
    })
    .await;
    let (loaded_token, other_token, other_agent) = if first.0 == busy_token {
        (busy_token, free_token, free_agent)
    } else {
        (free_token, busy_token, busy_agent)
    };

    s.text("A1000000000000000000000000000002", "15555550123", "Hi, my order is late").await;
    let conversation = s.work_item_for(&other_token, "+15555550123").await;
    let loaded: Vec<_> = s.api().work_items(&loaded_token).await;
    assert_eq!(loaded.len(), 1, "the loaded agent keeps only the first customer: {loaded:?}");
    assert_eq!(loaded[0]["customer"], "+15555550111");
    assert_eq!(loaded[0]["conversation_id"], first.1["conversation_id"]);

    let c = s.api().conversation(&other_token, &conversation).await;
    assert_eq!(c["state"], "active");
    assert_eq!(c["agent_id"], other_agent.as_str());
    assert_eq!(c["channel_id"], s.channel.as_str());
    assert_eq!(c["queue_id"], s.queue.as_str());
    assert_eq!(c["customer"], "+15555550123");
    let inbound = &c["messages"][0];
    assert_eq!(inbound["direction"], "inbound");
    assert_eq!(inbound["author"], "customer");
    assert_eq!(inbound["text"], "Hi, my order is late");
    assert_eq!(inbound["status"], "received");
    assert_eq!(inbound["provider_message_id"], "A1000000000000000000000000000002");

    // The agent answers.
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &other_token,
            Some(json!({"text": "Sorry! It ships today."})),
            202,
        )
        .await;
    assert_eq!(reply["status"], "queued");
    let reply_id = reply["id"].as_str().expect("reply id").to_string();

    let sent = s
        .message_where(&other_token, &conversation, "the reply is sent", |m| {
            m["id"] == reply_id.as_str() && m["status"] == "sent"
        })
        .await;
    assert_eq!(sent["direction"], "outbound");
    assert_eq!(sent["author"], "agent");
    assert_eq!(sent["encoding"], "GSM-7");
    assert_eq!(sent["segments"], 1);

    // What TeleSign received, once everything has settled: one signed form POST from our number, with our
    // id as external id.
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "exactly one send: {sends:?}");
    let send = &sends[0];
    assert!(send.signature_ok, "TSA signature must verify: {:?}", send.signature_problem);
    assert!(!send.uses_basic_auth);
    assert_eq!(send.header("x-ts-auth-method"), Some("HMAC-SHA256"));
    assert!(send.header("x-ts-nonce").is_some_and(|n| !n.is_empty()));
    assert!(send.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")));
    assert_eq!(send.field("phone_number"), Some("15555550123"));
    assert_eq!(send.field("sender_id"), Some(OUR_NUMBER));
    assert_eq!(send.field("message"), Some("Sorry! It ships today."));
    assert_eq!(send.field("message_type"), Some("ARN"));
    assert_eq!(send.field("external_id"), Some(reply_id.as_str()));
    let reference = s.fake.accepted()[0].clone();
    assert_eq!(sent["provider_message_id"], reference.as_str());

    // Delivery reports move the status forward only.
    s.receipt(&reference, &reply_id, 200, "Delivered to handset").await;
    s.message_where(&other_token, &conversation, "delivered", |m| {
        m["id"] == reply_id.as_str() && m["status"] == "delivered"
    })
    .await;
    s.receipt(&reference, &reply_id, 203, "Delivered to gateway").await;
    s.receipt(&reference, &reply_id, 290, "Message in progress").await;
    s.app.settled().await;
    let after = s.api().conversation(&other_token, &conversation).await;
    let m = after["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == reply_id.as_str())
        .cloned()
        .expect("reply");
    assert_eq!(m["status"], "delivered", "a late intermediate report must not move the status back");
}

#[tokio::test]
async fn texts_join_the_open_conversation_and_a_closed_one_is_never_reopened() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    s.text("B1000000000000000000000000000001", "15555550123", "hello").await;
    let first = s.work_item_for(&token, "+15555550123").await;
    s.text("B1000000000000000000000000000002", "15555550123", "are you there?").await;
    let c = s.message_where(&token, &first, "second text joins", |m| m["text"] == "are you there?").await;
    assert_eq!(c["direction"], "inbound");
    assert_eq!(s.api().work_items(&token).await.len(), 1, "still one conversation");

    let closed = s.api().ok("POST", &format!("/v1/conversations/{first}/close"), &token, None, 200).await;
    assert_eq!(closed["state"], "closed");
    assert!(s.api().work_items(&token).await.is_empty(), "closed conversations leave the work items");

    s.text("B1000000000000000000000000000003", "15555550123", "one more thing").await;
    let second = s.work_item_for(&token, "+15555550123").await;
    assert_ne!(second, first, "a new text after close starts a new conversation");
    let old = s.api().ok("GET", &format!("/v1/conversations/{first}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(old["state"], "closed");
    assert_eq!(old["messages"].as_array().map(Vec::len), Some(2));
    let new = s.api().conversation(&token, &second).await;
    assert_eq!(new["messages"].as_array().map(Vec::len), Some(1));

    // Replies to a closed conversation are refused.
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{first}/messages"),
            Some(&token),
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conversation_closed");
}

#[tokio::test]
async fn with_nobody_free_the_conversation_waits_and_is_assigned_when_capacity_frees_up() {
    let Some(s) = Setup::new().await else { return };
    let (agent, token) = s.api().create_agent("Ada", &[&s.queue], 1).await;
    // Offline: the first text waits.
    s.text("C1000000000000000000000000000001", "15555550131", "first").await;
    let waiting = eventually(30, "a waiting conversation", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["state"] == "open")
    })
    .await;
    assert_eq!(waiting["customer"], "+15555550131");
    assert!(s.api().work_items(&token).await.is_empty());

    // Coming online assigns it.
    s.api().presence(&agent, &token, "available").await;
    let first = s.work_item_for(&token, "+15555550131").await;

    // Full (capacity 1): the second customer waits.
    s.text("C1000000000000000000000000000002", "15555550132", "second").await;
    eventually(30, "second customer waits", || async {
        s.api()
            .work_items(ADMIN_TOKEN)
            .await
            .into_iter()
            .find(|w| w["customer"] == "+15555550132" && w["state"] == "open")
    })
    .await;
    assert_eq!(s.api().work_items(&token).await.len(), 1);

    // Closing frees capacity: the waiting one is assigned.
    s.api().ok("POST", &format!("/v1/conversations/{first}/close"), &token, None, 200).await;
    s.work_item_for(&token, "+15555550132").await;
}

#[tokio::test]
async fn agents_see_only_their_own_conversations() {
    let Some(s) = Setup::new().await else { return };
    let (_a, token_a) = s.agent("Ada", 1).await;
    s.text("D1000000000000000000000000000001", "15555550141", "hello").await;
    let conversation = s.work_item_for(&token_a, "+15555550141").await;
    let (_b, token_b) = s.agent("Brook", 1).await;
    assert!(s.api().work_items(&token_b).await.is_empty());
    let (status, body) =
        s.api().call("GET", &format!("/v1/conversations/{conversation}"), Some(&token_b), None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token_b),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")), "{body}");
    let (status, body) =
        s.api().call("POST", &format!("/v1/conversations/{conversation}/close"), Some(&token_b), None).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")), "{body}");
    // An unknown or missing token: our 401 locally; behind API Gateway its JWT authorizer answers first.
    let refused = |body: &serde_json::Value| {
        body["error"]["code"] == "unauthorized" || body["message"] == "Unauthorized"
    };
    let (status, body) = s.api().call("GET", "/v1/work-items", Some("not-a-token"), None).await;
    assert!(status == 401 && refused(&body), "{status} {body}");
    let (status, body) = s.api().call("GET", "/v1/work-items", None, None).await;
    assert!(status == 401 && refused(&body), "{status} {body}");
    // Brook's refused reply and close changed nothing: Ada still has it open, and no reply was stored.
    let c = s.api().conversation(&token_a, &conversation).await;
    assert_eq!(c["state"], "active");
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "{c}");
}

#[tokio::test]
async fn bad_or_missing_signatures_are_401_and_change_nothing() {
    let Some(s) = Setup::new().await else { return };
    let raw = telesign_mo("E1000000000000000000000000000001", "15555550151", OUR_NUMBER, "hello");
    let path = s.webhook_path();

    let (status, body) = s.api().webhook(&path, &raw, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    assert_eq!(body["error"]["message"], "webhook signature check failed", "the one 401: {body}");
    let forged = FakeTelesign::start().await; // another account's key
    let (status, body) = s
        .api()
        .webhook(
            &path,
            &raw,
            Some(&format!(
                "TSA {}:{}",
                s.fake.customer_id,
                smsdesk_tests::fake_telesign::callback_signature(&forged.api_key, &raw)
            )),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["message"], "webhook signature check failed", "the one 401: {body}");
    let (status, body) = s.api().webhook(&path, &raw, Some(&forged.sign_callback(&raw))).await;
    assert_eq!(status, 401, "another customer id: {body}");
    assert_eq!(body["error"]["message"], "webhook signature check failed", "the one 401: {body}");
    let mut tampered = raw.clone();
    let sig = s.fake.sign_callback(&raw);
    tampered.extend_from_slice(b" ");
    let (status, body) = s.api().webhook(&path, &tampered, Some(&sig)).await;
    assert_eq!(status, 401, "a body changed after signing: {body}");
    assert_eq!(body["error"]["message"], "webhook signature check failed", "the one 401: {body}");

    s.app.settled().await;
    assert!(s.api().work_items(ADMIN_TOKEN).await.is_empty(), "nothing was queued");
    // The same text correctly signed goes through: the refusals above were about the signatures.
    let (status, body) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{body}");
    let items = eventually(30, "the signed text is filed", || async {
        let items = s.api().work_items(ADMIN_TOKEN).await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["customer"], "+15555550151");
}

#[tokio::test]
async fn a_replayed_webhook_is_acknowledged_and_makes_one_transcript_entry() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    let raw = telesign_mo("F1000000000000000000000000000001", "15555550161", OUR_NUMBER, "only once");
    let post = || async { s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await };
    // Replays on the heels of the first delivery: each is acknowledged, and either handed to the queue,
    // which drops it (its deduplication id is the first one's), or, once the router has handled the text,
    // turned away as a known duplicate.
    for attempt in 0..3 {
        let (status, body) = post().await;
        assert_eq!(status, 200, "{body}");
        let counts = (&body["queued"], &body["duplicates"]);
        match attempt {
            0 => assert_eq!(counts, (&json!(1), &json!(0)), "{body}"),
            _ => assert!(counts == (&json!(1), &json!(0)) || counts == (&json!(0), &json!(1)), "{body}"),
        }
    }
    let conversation = s.work_item_for(&token, "+15555550161").await;
    // Once the text is handled, a replay is turned away before the queue.
    let (status, body) = eventually(30, "a replay of a handled text is a known duplicate", || async {
        let (status, body) = post().await;
        (body["duplicates"] == json!(1)).then_some((status, body))
    })
    .await;
    assert_eq!((status, &body["queued"]), (200, &json!(0)), "{body}");
    s.text("F1000000000000000000000000000002", "15555550161", "marker").await;
    s.message_where(&token, &conversation, "marker arrives", |m| m["text"] == "marker").await;
    let c = s.api().conversation(&token, &conversation).await;
    let texts: Vec<&str> =
        c["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, vec!["only once", "marker"]);
}

#[tokio::test]
async fn malformed_unknown_and_oversize_webhooks_get_clear_errors() {
    let Some(s) = Setup::new().await else { return };
    let path = s.webhook_path();
    let raw = b"{not json".to_vec();
    let (status, body) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "malformed_webhook");

    let raw = serde_json::to_vec(&json!({"reference_id": "X", "user_response": {"phone_number": "15555550171", "sender_id": OUR_NUMBER}})).expect("json");
    let (status, body) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("mo_message")),
        "names the field: {body}"
    );

    let raw = telesign_mo("G1", "15555550171", "15555559999", "to a number not on the channel");
    let (status, body) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "malformed_webhook");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("15555559999") && m.contains("not on")),
        "{body}"
    );

    // An unknown channel, or a channel of another provider, answers like a bad signature (authorization.rs).
    let raw = telesign_mo("G2", "15555550171", OUR_NUMBER, "x");
    let (status, body) =
        s.api().webhook("/webhooks/telesign/ch_nope", &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["message"], "webhook signature check failed", "no hint of which check failed");
    let (status, _) = s
        .api()
        .webhook(&format!("/webhooks/twilio/{}", s.channel), &raw, Some(&s.fake.sign_callback(&raw)))
        .await;
    assert_eq!(status, 401, "the channel is not a Twilio channel");

    let big = telesign_mo("G3", "15555550171", OUR_NUMBER, &"x".repeat(100_000));
    let (status, body) = s.api().webhook(&path, &big, Some(&s.fake.sign_callback(&big))).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");

    // None of these was filed.
    s.app.settled().await;
    assert_eq!(s.api().work_items(ADMIN_TOKEN).await, Vec::<serde_json::Value>::new());
}

#[tokio::test]
async fn an_over_long_reply_is_422_and_nothing_is_sent() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("H1000000000000000000000000000001", "15555550181", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550181").await;
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token),
            Some(json!({"text": "a".repeat(1601)})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("text") && m.contains("1600")),
        "{body}"
    );
    // 1600 is fine.
    s.api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "b".repeat(1600)})),
            202,
        )
        .await;
    s.message_where(&token, &conversation, "the 1600-char reply is sent", |m| m["status"] == "sent").await;
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "only the 1600-char reply went out: {sends:?}");
    assert_eq!(sends[0].field("message").map(|m| m.chars().count()), Some(1600));
}

#[tokio::test]
async fn a_short_code_number_receives_and_replies_from_the_short_code() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeTelesign::start().await;
    let queue = app.api.create_queue("Short-code").await;
    let body = json!({
        "name": "TeleSign short code", "provider": "telesign",
        "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
        "base_url": fake.base_url(),
        "numbers": [{"number": "12345", "type": "short_code", "description": "promo replies", "queue": queue}],
    });
    let channel = app.api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
    let channel = channel["id"].as_str().expect("id").to_string();
    let stored = app.api.ok("GET", &format!("/v1/channels/{channel}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(stored["numbers"][0]["number"], "12345", "a short code is kept as it is, without a +");
    assert_eq!(stored["numbers"][0]["type"], "short_code");
    let (agent, token) = app.api.create_agent("Ada", &[&queue], 1).await;
    app.api.presence(&agent, &token, "available").await;
    let raw = telesign_mo("S1000000000000000000000000000001", "15555550211", "12345", "HELLO");
    let (status, body) = app
        .api
        .webhook(&format!("/webhooks/telesign/{channel}"), &raw, Some(&fake.sign_callback(&raw)))
        .await;
    assert_eq!(status, 200, "{body}");
    let conversation = eventually(30, "active", || async {
        app.api
            .work_items(&token)
            .await
            .first()
            .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    app.api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "Thanks!"})),
            202,
        )
        .await;
    eventually(30, "sent", || async {
        fake.sends().into_iter().find(|s| s.field("message") == Some("Thanks!"))
    })
    .await;
    app.settled().await;
    // The reply, and the channel's default automated messages (opt-in notice, greeting, agent joined):
    // every one from the short code to the customer.
    let sends = fake.sends();
    assert_eq!(sends.iter().filter(|s| s.field("message") == Some("Thanks!")).count(), 1, "{sends:?}");
    assert_eq!(sends.len(), 4, "the reply and three automated messages: {sends:?}");
    for send in &sends {
        assert_eq!(send.field("sender_id"), Some("12345"));
        assert_eq!(send.field("phone_number"), Some("15555550211"));
    }

    // A short_code must be short, and a geo number must carry its country code.
    for (number, kind) in [("15555550100", "short_code"), ("12345", "geo")] {
        let body = json!({
            "name": "x", "provider": "telesign",
            "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
            "numbers": [{"number": number, "type": kind, "queue": queue}],
        });
        let (status, answer) = app.api.admin("POST", "/v1/channels", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("numbers[0].number")),
            "{answer}"
        );
    }
}
