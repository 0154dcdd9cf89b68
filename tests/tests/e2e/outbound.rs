//! Sending through TeleSign: transient failures retry and send once; permanent ones fail with TeleSign's reason.

use crate::*;
use serde_json::{Value, json};
use smsdesk_domain::{Author, ConversationId, Direction, Message, MessageId, MessageStatus};
use smsdesk_ports::QueueKind;

async fn conversation_with_agent(s: &Setup, reference: &str, customer: &str) -> (String, String) {
    let (_agent, token) = s.agent("Ada", 5).await;
    s.text(reference, customer, "hello").await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    (token, conversation)
}

#[tokio::test]
async fn a_provider_500_then_success_sends_exactly_once() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "I1000000000000000000000000000001", "15555550191").await;
    s.fake.script([Scripted::Error {
        http: 500,
        code: 10000,
        description: "System unavailable, please try again later.".into(),
    }]);
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "retry me"})),
            202,
        )
        .await;
    let id = reply["id"].as_str().expect("id").to_string();
    let sent = s
        .message_where(&token, &conversation, "sent after a retry", |m| {
            m["id"] == id.as_str() && m["status"] == "sent"
        })
        .await;
    assert_eq!(sent["attempts"], 2);
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 2, "one failed attempt, one success");
    assert!(sends.iter().all(|r| r.signature_ok));
    assert_eq!(s.fake.accepted().len(), 1, "the customer gets it once");
    assert_eq!(sent["provider_message_id"], s.fake.accepted()[0].as_str());
    // Nothing more is sent later: not by a stray retry, nor after a visibility timeout or a lease.
    s.app.settled().await;
    assert_eq!(s.fake.sends().len(), 2);
    s.app.assert_no_dead_letters().await;
}

#[tokio::test]
async fn throttling_retries_and_giving_up_keeps_the_reason() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "I2000000000000000000000000000001", "15555550192").await;
    let busy = || Scripted::Error { http: 429, code: 10019, description: "Rate limit exceeded".into() };
    s.fake.script([busy(), busy(), busy()]);
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "never"})),
            202,
        )
        .await;
    let id = reply["id"].as_str().expect("id").to_string();
    let failed = s
        .message_where(&token, &conversation, "gives up after 3 attempts", |m| {
            m["id"] == id.as_str() && m["status"] == "failed"
        })
        .await;
    let error = failed["error"].as_str().expect("error kept");
    assert!(error.contains("3 attempts") && error.contains("10019"), "{error}");
    assert_eq!(failed["attempts"], 3);
    s.app.settled().await;
    assert_eq!(s.fake.sends().len(), 3, "no attempt after giving up");
    assert!(s.fake.accepted().is_empty());
}

#[tokio::test]
async fn a_permanent_failure_fails_the_message_with_telesigns_reason() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "J1000000000000000000000000000001", "15555550193").await;
    s.fake.script([Scripted::Error {
        http: 400,
        code: 11000,
        description: "Invalid value for parameter phone_number.".into(),
    }]);
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "doomed"})),
            202,
        )
        .await;
    let id = reply["id"].as_str().expect("id").to_string();
    let failed = s
        .message_where(&token, &conversation, "failed", |m| m["id"] == id.as_str() && m["status"] == "failed")
        .await;
    let error = failed["error"].as_str().expect("reason in the transcript");
    assert!(error.contains("11000") && error.contains("phone_number"), "{error}");
    s.app.settled().await;
    assert_eq!(s.fake.sends().len(), 1, "a permanent failure is not retried");
    let after = s.message_where(&token, &conversation, "still failed", |m| m["id"] == id.as_str()).await;
    assert_eq!(after["status"], "failed");
}

#[tokio::test]
async fn an_undelivered_report_is_shown_with_its_reason() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "K1000000000000000000000000000001", "15555550194").await;
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "hi"})),
            202,
        )
        .await;
    let id = reply["id"].as_str().expect("id").to_string();
    s.message_where(&token, &conversation, "sent", |m| m["id"] == id.as_str() && m["status"] == "sent").await;
    let accepted = s.fake.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let reference = accepted[0].clone();
    s.receipt(&reference, &id, 237, "Message blocked by carrier").await;
    let m = s
        .message_where(&token, &conversation, "undelivered", |m| {
            m["id"] == id.as_str() && m["status"] == "undelivered"
        })
        .await;
    assert!(m["error"].as_str().is_some_and(|e| e.contains("blocked") && e.contains("237")), "{m}");
}

#[tokio::test]
async fn a_customer_who_texted_stop_is_not_sent_to() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "L1000000000000000000000000000001", "15555550195").await;
    s.text("L1000000000000000000000000000002", "15555550195", "STOP").await;
    let stop = s.message_where(&token, &conversation, "STOP arrives", |m| m["text"] == "STOP").await;
    // The opt-out held before the STOP was filed, so no agent can read it and still reach the customer.
    let consent =
        s.api().ok("GET", "/v1/consent?phone=%2B15555550195", ADMIN_TOKEN, None, 200).await["history"]
            .clone();
    let opt_out = consent.as_array().and_then(|h| h.iter().find(|c| c["event"] == "opt_out")).cloned();
    let opted_at = opt_out.as_ref().map_or(Value::Null, |c| c["at"].clone());
    assert!(time_at(&opted_at) <= time_at(&stop["created_at"]), "{consent} / {stop}");
    // Refused at once (409 opted_out), kept in the transcript, failed, with why.
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, answer) = s.api().call("POST", &path, Some(&token), Some(json!({"text": "wait!"}))).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    let m = s
        .message_where(&token, &conversation, "refused", |m| m["text"] == "wait!" && m["status"] == "failed")
        .await;
    assert!(m["error"].as_str().is_some_and(|e| e.contains("opted out")), "{m}");
    s.app.settled().await;
    assert!(s.fake.sends().is_empty(), "{:?}", s.fake.sends());
}

#[tokio::test]
async fn an_agent_texts_a_customer_first_and_the_answer_comes_back_to_them() {
    let Some(s) = Setup::new().await else { return };
    let (agent, token) = s.agent("Ada", 2).await;
    let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550231", "text": "Your appointment is tomorrow at 10. Reply to reschedule.", "session": true});
    let sent = s.api().ok("POST", "/v1/messages", &token, Some(body), 202).await;
    let conversation = sent["conversation_id"].as_str().expect("conversation").to_string();
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["agent_id"], agent.as_str(), "the session stays with the agent who wrote");
    s.message_where(&token, &conversation, "sent", |m| m["status"] == "sent").await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].field("phone_number"), Some("15555550231"));
    assert_eq!(sends[0].field("sender_id"), Some(OUR_NUMBER));
    s.text("Q1000000000000000000000000000001", "15555550231", "Can we do 11?").await;
    s.message_where(&token, &conversation, "the answer joins the session", |m| m["text"] == "Can we do 11?")
        .await;

    let preview = s
        .api()
        .ok(
            "POST",
            "/v1/messages/preview",
            &token,
            Some(json!({"channel_id": s.channel, "text": "It’s here"})),
            200,
        )
        .await;
    assert_eq!(preview["encoding"], "UCS-2");
    assert_eq!(preview["segments"], 1);
    assert_eq!(preview["ucs2_characters"], json!(["’"]));
    let (status, body) = s
        .api()
        .call(
            "POST",
            "/v1/messages",
            Some(&token),
            Some(json!({"channel_id": s.channel, "from": "+15555559999", "to": "+15555550231", "text": "x"})),
        )
        .await;
    assert_eq!(status, 400, "from must be one of the channel's numbers: {body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("from")), "{body}");
    // Nor to one of our own numbers: no customer, and its automated answers would come back in as texts.
    let to_us = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": OUR_NUMBER_E164, "text": "x"});
    let (status, body) = s.api().call("POST", "/v1/messages", Some(&token), Some(to_us)).await;
    assert_eq!(status, 400, "to must not be one of the channel's numbers: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.starts_with("to")), "{body}");
}

/// A session text from an agent who cannot take the conversation now (offline, or with every slot taken)
/// is refused as a waiting conversation is (409 `agent_unavailable`): nothing is opened, nothing is sent.
#[tokio::test]
async fn a_session_text_from_an_agent_who_cannot_take_it_is_refused_and_opens_nothing() {
    let Some(s) = Setup::new().await else { return };
    // A new agent is offline until it says otherwise.
    let (agent, token) = s.api().create_agent("Ada", &[&s.queue], 1).await;
    let body = |to: &str| {
        json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": to, "text": "Hello from us",
               "session": true})
    };
    let (status, answer) =
        s.api().call("POST", "/v1/messages", Some(&token), Some(body("+15555551923"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("agent_unavailable")), "{answer}");

    // Available, but its one slot is taken by a customer who texted.
    s.api().presence(&agent, &token, "available").await;
    s.text("Q2000000000000000000000000000001", "15555551924", "Hi").await;
    s.work_item_for(&token, "+15555551924").await;
    let (status, answer) =
        s.api().call("POST", "/v1/messages", Some(&token), Some(body("+15555551925"))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("agent_unavailable")), "{answer}");

    s.app.settled().await;
    let open = s.api().work_items(ADMIN_TOKEN).await;
    let customers: Vec<&Value> = open.iter().map(|w| &w["customer"]).collect();
    assert_eq!(customers, vec![&json!("+15555551924")], "nothing opened for the refused texts: {open:?}");
    assert!(s.fake.sends().is_empty(), "{:?}", s.fake.sends());
    // Without a session nothing is taken: the one-off text goes out.
    let mut one_off = body("+15555551923");
    one_off["session"] = json!(false);
    s.api().ok("POST", "/v1/messages", &token, Some(one_off), 202).await;
}

/// Out of its queue's operating hours, a proactive text (with a session or without) is refused with a 409
/// `outside_operating_hours` whose message names when the queue opens next; nothing is opened or sent. A
/// reply in a conversation under way still goes out.
#[tokio::test]
async fn a_proactive_text_out_of_the_queues_hours_is_refused_naming_when_it_opens() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    s.text("Q3000000000000000000000000000001", "15555550831", "Hi").await;
    let under_way = s.work_item_for(&token, "+15555550831").await;
    // Open only from 09:00 to 17:00 (UTC) the day after tomorrow, by the app's clock: closed now.
    let now = time::OffsetDateTime::now_utc() + s.app.clock.offset();
    let opens = now.date() + time::Duration::days(2);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [usize::from(opens.weekday().number_days_from_monday())];
    let mut days = serde_json::Map::new();
    days.insert(day.to_string(), json!([["09:00", "17:00"]]));
    let hours = json!({"time_zone": "UTC", "days": days});
    let path = format!("/v1/queues/{}", s.queue);
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"operating_hours": hours})), 200).await;

    for (to, session) in [("+15555550832", true), ("+15555550833", false)] {
        let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": to,
                          "text": "Your order shipped", "session": session});
        let (status, answer) = s.api().call("POST", "/v1/messages", Some(&token), Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (409, Some("outside_operating_hours")),
            "session {session}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("{opens} 09:00")), "names the next opening: {answer}");
    }
    let id = s.reply(&token, &under_way, "We are closing now, but here is your answer.").await;
    s.message_status(&token, &under_way, &id, "sent").await;
    s.app.settled().await;
    let open = s.api().work_items(ADMIN_TOKEN).await;
    assert_eq!(open.len(), 1, "nothing opened for the refused texts: {open:?}");
    let sends = s.fake.sends();
    assert!(!sends.iter().any(|m| m.field("message") == Some("Your order shipped")), "{sends:?}");
}

/// A conversation from `customer` (first text `reference`) with an agent's reply in it, sent: the agent's
/// token, the conversation, the reply's id and TeleSign's reference for it (the only send the fake took).
async fn sent_reply(s: &Setup, reference: &str, customer: &str) -> (String, String, String, String) {
    let (token, conversation) = conversation_with_agent(s, reference, customer).await;
    let id = s.reply(&token, &conversation, "hi").await;
    s.message_status(&token, &conversation, &id, "sent").await;
    let accepted = s.fake.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let sent = accepted[0].clone();
    (token, conversation, id, sent)
}

#[tokio::test]
async fn a_receipt_from_another_channel_does_not_touch_this_channels_message() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation, id, reference) =
        sent_reply(&s, "Z1000000000000000000000000000001", "15555550801").await;

    // Another channel (its own TeleSign account and number) reports on this reference and message id.
    let other_fake = FakeTelesign::start().await;
    let other = s.api().telesign_channel(&other_fake, &["15555550199"], &s.queue).await;
    let other = other["id"].as_str().expect("id").to_string();
    let raw = telesign_dlr(&reference, Some(&id), 237, "Message blocked by carrier");
    let (status, body) = s
        .api()
        .webhook(&format!("/webhooks/telesign/{other}"), &raw, Some(&other_fake.sign_callback(&raw)))
        .await;
    assert_eq!(status, 200, "acknowledged like any receipt: {body}");
    s.app.settled().await;
    let m = s.message_where(&token, &conversation, "the reply", |m| m["id"] == id.as_str()).await;
    assert_eq!(m["status"], "sent", "another channel's receipt changed nothing: {m}");
    assert_eq!(m["error"], json!(null), "{m}");

    // The channel's own report does apply.
    s.receipt(&reference, &id, 237, "Message blocked by carrier").await;
    let m = s.message_status(&token, &conversation, &id, "undelivered").await;
    assert!(m["error"].as_str().is_some_and(|e| e.contains("237")), "{m}");
}

#[tokio::test]
async fn a_receipt_is_applied_before_its_200_and_one_for_an_unknown_message_is_queued() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation, id, reference) =
        sent_reply(&s, "Z1500000000000000000000000000001", "15555550815").await;

    // Known message: the webhook itself moves it, before answering (no queue, no router).
    let raw = telesign_dlr(&reference, Some(&id), 200, "Delivered to handset");
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["applied"], &body["queued"]), (&json!(1), &json!(0)), "{body}");
    let c = s.api().conversation(&token, &conversation).await;
    let messages = c["messages"].as_array().cloned().unwrap_or_default();
    let m = messages.iter().find(|m| m["id"] == id.as_str()).expect("the reply");
    assert_eq!(m["status"], "delivered", "moved before the 200: {m}");

    // A replay changes nothing and is settled the same way.
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!((status, &body["applied"]), (200, &json!(1)), "{body}");

    // No message of ours has this reference (yet): the receipt goes on the queue for the router.
    let raw = telesign_dlr("0123456789ABCDEF0123456789ABCDEF", None, 200, "Delivered to handset");
    let (status, body) = s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["applied"], &body["queued"]), (&json!(0), &json!(1)), "{body}");
}

#[tokio::test]
async fn start_after_stop_opts_the_customer_back_in() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "Z2000000000000000000000000000001", "15555550802").await;
    s.text("Z2000000000000000000000000000002", "15555550802", "STOP").await;
    s.message_where(&token, &conversation, "STOP arrives", |m| m["text"] == "STOP").await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, _) = s.api().call("POST", &path, Some(&token), Some(json!({"text": "are you sure?"}))).await;
    assert_eq!(status, 409, "refused at once: the customer opted out");
    let m = s
        .message_where(&token, &conversation, "refused", |m| {
            m["text"] == "are you sure?" && m["status"] == "failed"
        })
        .await;
    assert!(m["error"].as_str().is_some_and(|e| e.contains("opted out")), "{m}");

    s.text("Z2000000000000000000000000000003", "15555550802", "START").await;
    s.message_where(&token, &conversation, "START arrives", |m| m["text"] == "START").await;
    let welcome = s.reply(&token, &conversation, "welcome back").await;
    s.message_status(&token, &conversation, &welcome, "sent").await;
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "only the reply after START went out: {sends:?}");
    assert_eq!(sends[0].field("message"), Some("welcome back"));
    assert_eq!(sends[0].field("phone_number"), Some("15555550802"));
}

fn date_of(send: &smsdesk_tests::fake_telesign::Seen) -> std::time::SystemTime {
    let date = send.header("date").expect("a Date header");
    httpdate::parse_http_date(date).expect("an HTTP date")
}

#[tokio::test]
async fn a_retry_after_a_telesign_5xx_is_signed_afresh_with_a_new_nonce_and_date() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "Z3000000000000000000000000000001", "15555550803").await;
    // TeleSign takes over a second to fail, so a fresh Date differs from the first attempt's.
    s.fake.script([Scripted::SlowError {
        after: std::time::Duration::from_millis(1100),
        http: 503,
        code: 10000,
        description: "System unavailable, please try again later.".into(),
    }]);
    let id = s.reply(&token, &conversation, "sign me again").await;
    let sent = s.message_status(&token, &conversation, &id, "sent").await;
    assert_eq!(sent["attempts"], 2);
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    // The fake refuses a reused nonce and a Date 15 minutes off: the retry passed both checks.
    assert!(sends.iter().all(|r| r.signature_ok), "{sends:?}");
    assert_ne!(sends[0].header("x-ts-nonce"), sends[1].header("x-ts-nonce"));
    assert_ne!(sends[0].header("authorization"), sends[1].header("authorization"));
    assert!(date_of(&sends[1]) > date_of(&sends[0]), "the retry carries its own Date: {sends:?}");
    assert_eq!(s.fake.accepted().len(), 1);
}

#[tokio::test]
async fn a_telesign_401_for_the_date_is_signed_again_at_once_and_sent_once() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "Z4000000000000000000000000000001", "15555550804").await;
    s.fake.script([Scripted::Error {
        http: 401,
        code: 10004,
        description: "Date header value is out of the tolerated range.".into(),
    }]);
    let id = s.reply(&token, &conversation, "a fresh signature").await;
    let sent = s.message_status(&token, &conversation, &id, "sent").await;
    assert_eq!(sent["attempts"], 1, "re-signed within the same attempt: {sent}");
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert!(sends.iter().all(|r| r.signature_ok), "{sends:?}");
    assert_ne!(sends[0].header("x-ts-nonce"), sends[1].header("x-ts-nonce"));
    assert_eq!(s.fake.accepted().len(), 1, "the customer gets it once");
}

async fn reply(s: &Setup, token: &str, conversation: &str, text: &str) -> String {
    let answer = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            token,
            Some(json!({"text": text})),
            202,
        )
        .await;
    answer["id"].as_str().expect("id").to_string()
}

/// Waits (up to `secs`) until the message `id` has `status`; returns it.
async fn status_of(s: &Setup, token: &str, conversation: &str, id: &str, status: &str, secs: u64) -> Value {
    let api = s.api().clone();
    let what = format!("message {id} becomes {status}");
    eventually(secs, &what, || {
        let api = api.clone();
        async move {
            let c = api.conversation(token, conversation).await;
            c["messages"]
                .as_array()
                .and_then(|ms| ms.iter().find(|m| m["id"] == id && m["status"] == status).cloned())
        }
    })
    .await
}

#[tokio::test]
async fn a_failing_reply_does_not_dead_letter_the_replies_behind_it() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "M1000000000000000000000000000001", "15555550196").await;
    // TeleSign throttles every send of the two first replies, for ever.
    let throttled = Scripted::Error { http: 429, code: 10019, description: "Rate limit exceeded".into() };
    s.fake.answer_texts_containing("[throttled]", throttled);
    let first = reply(&s, &token, &conversation, "[throttled] first").await;
    let second = reply(&s, &token, &conversation, "[throttled] second").await;
    let third = reply(&s, &token, &conversation, "third").await;
    let fourth = reply(&s, &token, &conversation, "fourth").await;

    // Each failing reply gets its own three attempts, then fails with its reason...
    for id in [&first, &second] {
        let failed = status_of(&s, &token, &conversation, id, "failed", 60).await;
        let error = failed["error"].as_str().expect("the reason is in the transcript");
        assert!(error.contains("3 attempts") && error.contains("10019"), "{error}");
        assert_eq!(failed["attempts"], 3, "three real attempts, not fewer");
    }
    // ...and the replies behind them in the conversation are still sent, once each.
    for id in [&third, &fourth] {
        status_of(&s, &token, &conversation, id, "sent", 60).await;
    }
    let sends = s.fake.sends();
    for text in ["third", "fourth"] {
        assert_eq!(sends.iter().filter(|r| r.field("message") == Some(text)).count(), 1, "{text} sent once");
    }
    assert_eq!(
        sends.iter().filter(|r| r.field("message").is_some_and(|t| t.contains("[throttled]"))).count(),
        6
    );
    assert_eq!(s.fake.accepted().len(), 2);
    // Nothing went to the dead-letter queue: the replies were given up on (or sent) by the retry policy, not
    // by receives spent while they waited behind a failing one (the timers would requeue such strays, but
    // only minutes later in production).
    let dead = s.app.app().queue.dead_letters(QueueKind::Outbound).await.expect("dead letters");
    assert!(dead.is_empty(), "dead-lettered: {:?}", dead.iter().map(|d| &d.reason).collect::<Vec<_>>());
}

/// A reply stored `queued` whose queue message never made it (lost): only the timers can find it.
async fn stranded_reply(s: &Setup, conversation: &str, text: &str, age: std::time::Duration) -> String {
    let app = s.app.app();
    let transcript = app.store.list_messages(&ConversationId::new(conversation)).await.expect("transcript");
    let like = transcript.into_iter().next().expect("the customer's first text");
    let at = app.clock.now() - age;
    let stranded = Message {
        id: MessageId::new(format!("msg_stranded_{}", uuid::Uuid::new_v4().simple())),
        direction: Direction::Outbound,
        author: Author::Agent,
        text: text.to_string(),
        status: MessageStatus::Queued,
        provider_message_id: None,
        error: None,
        attempts: 0,
        created_at: at,
        updated_at: at,
        ..like
    };
    assert!(app.store.insert_message(&stranded).await.expect("insert"), "stored");
    stranded.id.to_string()
}

#[tokio::test]
async fn a_reply_stranded_queued_is_sent_by_the_timers() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "N1000000000000000000000000000001", "15555550197").await;
    let id = stranded_reply(&s, &conversation, "lost on the way", std::time::Duration::ZERO).await;
    let sent = status_of(&s, &token, &conversation, &id, "sent", 30).await;
    assert_eq!(sent["attempts"], 1);
    let sends = s.fake.sends();
    assert_eq!(sends.iter().filter(|r| r.field("external_id") == Some(id.as_str())).count(), 1, "sent once");
}

#[tokio::test]
async fn a_reply_stranded_for_too_long_fails_with_a_reason_the_agent_sees() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "O1000000000000000000000000000001", "15555550198").await;
    let two_hours = std::time::Duration::from_secs(2 * 3600);
    let id = stranded_reply(&s, &conversation, "far too late", two_hours).await;
    let failed = status_of(&s, &token, &conversation, &id, "failed", 30).await;
    let error = failed["error"].as_str().expect("reason in the transcript");
    assert!(error.contains("not sent") && error.contains("120 minutes"), "{error}");
    assert!(s.fake.sends().is_empty(), "nothing that old is sent");
}

#[tokio::test]
async fn a_429_with_retry_after_is_sent_again_only_after_telesigns_delay_and_once() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "I3000000000000000000000000000001", "15555550196").await;
    // TeleSign asks for 2 s; smsdesk's own first retry would come after 100 ms (the tests' retry base).
    s.fake.script([Scripted::RateLimited { retry_after_secs: 2 }]);
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "after the pause"})),
            202,
        )
        .await;
    let id = reply["id"].as_str().expect("id").to_string();
    s.message_where(&token, &conversation, "sent after the rate limit", |m| {
        m["id"] == id.as_str() && m["status"] == "sent"
    })
    .await;
    s.app.settled().await;
    let sends: Vec<_> =
        s.fake.sends().into_iter().filter(|seen| seen.field("external_id") == Some(&id)).collect();
    assert_eq!(sends.len(), 2, "one refused send, one taken");
    let waited = sends[1].at.duration_since(sends[0].at);
    assert!(
        waited >= std::time::Duration::from_secs(2),
        "retried after {waited:?}, before TeleSign's Retry-After"
    );
    assert_eq!(s.fake.accepted_for(&id), 1, "taken once on TeleSign's side");
}

/// A delivery report can overtake the provider's answer to the send: it names only the provider's
/// reference, which no message carries yet. It is kept and tried again until the send has recorded the
/// reference, then applied; never dropped on the first miss.
#[tokio::test]
async fn a_report_that_overtakes_the_send_answer_is_applied_once_the_send_is_recorded() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "I1000000000000000000000000000061", "15555550196").await;
    // The fake takes the message at once and holds its answer until the report has been posted.
    let (id, reference, release) = reply_held(&s, &token, &conversation, "On its way").await;
    // The handset's report, with the provider's reference only, before the send's answer is back.
    let raw = telesign_dlr(&reference, None, 200, "Delivered to handset");
    let (status, answer) = s.api().webhook(&s.webhook_path(), &raw, Some(&s.fake.sign_callback(&raw))).await;
    assert_eq!(status, 200, "{answer}");
    let stored = s.api().conversation(&token, &conversation).await;
    let m = stored["messages"].as_array().and_then(|ms| ms.iter().find(|m| m["id"] == id.as_str())).cloned();
    assert!(m.as_ref().is_some_and(|m| m["status"] == "queued"), "the report came first: {m:?}");
    release.notify_one();
    s.message_status(&token, &conversation, &id, "delivered").await;
}

/// A reply the fake takes at once and answers only when the test says (`notify_one` on what is returned):
/// its id, the provider's reference, and that release.
async fn reply_held(
    s: &Setup,
    token: &str,
    conversation: &str,
    text: &str,
) -> (String, String, std::sync::Arc<tokio::sync::Notify>) {
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    s.fake.script([Scripted::AcceptThenHold(release.clone())]);
    let before = s.fake.accepted().len();
    let id = reply(s, token, conversation, text).await;
    let reference = eventually(30, "the fake takes the send", || {
        let accepted = s.fake.accepted();
        async move { accepted.get(before).cloned() }
    })
    .await;
    (id, reference, release)
}

/// A job delivered again while its first delivery's send is still out (its queue's visibility ran out)
/// never overrules that send: a STOP comes while the provider holds its answer, and the second delivery,
/// refused by consent, finds the send claimed and leaves it to its sender. The message ends `sent`, as the
/// customer has it, not `failed`.
#[tokio::test]
async fn a_second_delivery_of_a_send_in_flight_leaves_it_to_its_sender() {
    let Some(s) = Setup::new().await else { return };
    let (token, conversation) =
        conversation_with_agent(&s, "I1000000000000000000000000000062", "15555550198").await;
    let (id, _, release) = reply_held(&s, &token, &conversation, "Your refund is on its way").await;
    s.text("I1000000000000000000000000000063", "15555550198", "STOP").await;
    s.message_where(&token, &conversation, "STOP arrives", |m| m["text"] == "STOP").await;
    // The same job again, as a redelivery brings it while the first send waits for its answer.
    let job = smsdesk_domain::events::OutboundJob {
        message_id: MessageId::new(id.as_str()),
        conversation_id: ConversationId::new(conversation.as_str()),
    };
    smsdesk_app::services::outbound::send_one(s.app.app(), &job).await.expect("the second delivery");
    release.notify_one();
    let m = status_of(&s, &token, &conversation, &id, "sent", 30).await;
    assert!(m["error"].is_null(), "{m}");
    s.app.settled().await;
    let m = status_of(&s, &token, &conversation, &id, "sent", 5).await;
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(s.fake.accepted_for(&id), 1, "taken once");
}
