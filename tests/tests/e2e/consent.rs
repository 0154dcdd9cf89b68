//! Consent and automated messages, on a channel with the defaults a new channel has: the opt-in notice on
//! first contact, STOP / STOPALL / START / HELP with exactly one confirmation, refused replies that never
//! reach the provider, the audit trail, Spanish system messages, smart encoding, channel settings.

use crate::*;
use serde_json::{Value, json};
use smsdesk_domain::automated::{AutomatedKind, default_text};
use smsdesk_tests::*;

const CUSTOMER: &str = "15555550801";

fn en(kind: AutomatedKind) -> &'static str {
    default_text("en", kind).expect("built-in English text")
}

/// How many times `text` reached the provider.
fn sent(s: &Setup, text: &str) -> usize {
    s.fake.sends().iter().filter(|m| m.field("message") == Some(text)).count()
}

async fn until_sent(s: &Setup, text: &str, times: usize) {
    eventually(30, &format!("{text:?} reaches the provider {times} time(s)"), || async {
        (sent(s, text) >= times).then_some(())
    })
    .await;
}

/// Waits until `text` reached `fake` `times` times.
async fn fake_sent(fake: &FakeTelesign, text: &str, times: usize) {
    eventually(30, &format!("{text:?} reaches the provider {times} time(s)"), || async {
        (fake.sends().iter().filter(|m| m.field("message") == Some(text)).count() >= times).then_some(())
    })
    .await;
}

/// The first message satisfying `pred` in `customer`'s open conversation (read with the admin token), once
/// there is one.
async fn customer_message(s: &Setup, customer: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let pred = &pred;
    eventually(30, what, || async move {
        let items = s.api().work_items(ADMIN_TOKEN).await;
        let item = items.into_iter().find(|w| w["customer"] == customer)?;
        let c = s.api().conversation(ADMIN_TOKEN, item["conversation_id"].as_str()?).await;
        c["messages"].as_array()?.iter().find(|m| pred(m)).cloned()
    })
    .await
}

/// How many times `text` reached `customer`.
fn sent_to(s: &Setup, customer: &str, text: &str) -> usize {
    s.fake
        .sends()
        .iter()
        .filter(|m| m.field("phone_number") == Some(customer) && m.field("message") == Some(text))
        .count()
}

async fn consent_of(s: &Setup, phone: &str) -> Value {
    s.api().ok("GET", &format!("/v1/consent?phone=%2B{phone}"), ADMIN_TOKEN, None, 200).await
}

/// (event, cause, number) of each change in the audit trail, oldest first.
fn trail(consent: &Value) -> Vec<(String, String, Value)> {
    consent["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("event"), s("cause"), c["number"].clone())
        })
        .collect()
}

fn t(event: &str, cause: &str, number: Option<&str>) -> (String, String, Value) {
    (event.into(), cause.into(), number.map_or(Value::Null, |n| json!(n)))
}

#[tokio::test]
async fn stop_refuses_replies_with_one_confirmation_and_start_opts_back_in() {
    let Some(s) = Setup::with_defaults().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    s.text("C1000000000000000000000000000001", CUSTOMER, "Hi, is my order shipped?").await;
    let conversation = s.work_item_for(&token, &format!("+{CUSTOMER}")).await;
    // First contact: the opt-in notice, then the greeting, then the agent joined.
    until_sent(&s, "Ada has joined the conversation.", 1).await;
    let texts: Vec<String> =
        s.fake.sends().iter().filter_map(|m| m.field("message").map(str::to_string)).collect();
    assert_eq!(
        texts.first().map(String::as_str),
        Some(en(AutomatedKind::OptInNotice)),
        "notice first: {texts:?}"
    );
    // The greeting is queued by the router right after the notice; "agent joined" by whichever assignment
    // wins (the router's, or the timers' sweep in the AWS shape), so those two may come in either order.
    until_sent(&s, en(AutomatedKind::Greeting), 1).await;
    assert_eq!(s.fake.sends().len(), 3, "notice, greeting, agent joined: {:?}", s.fake.sends());
    assert_eq!(
        trail(&consent_of(&s, CUSTOMER).await),
        vec![t("notice_sent", "first_contact", Some(OUR_NUMBER_E164))]
    );

    // STOP (any case, spaces and punctuation around it): one confirmation, recorded with its cause.
    s.text("C1000000000000000000000000000002", CUSTOMER, "  stop. ").await;
    until_sent(&s, en(AutomatedKind::OptOutConfirmation), 1).await;
    let after_stop = consent_of(&s, CUSTOMER).await;
    assert_eq!(
        trail(&after_stop),
        vec![
            t("notice_sent", "first_contact", Some(OUR_NUMBER_E164)),
            t("opt_out", "keyword", Some(OUR_NUMBER_E164))
        ]
    );
    assert_eq!(after_stop["history"][1]["detail"], "STOP", "{after_stop}");
    let ours = after_stop["numbers"].as_array().expect("numbers");
    assert!(ours.iter().any(|n| n["number"] == OUR_NUMBER_E164 && n["opted_out"] == true), "{after_stop}");

    // The agent's reply is refused at once, never reaches the provider, and the transcript says why.
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, answer) = s
        .api()
        .call("POST", &path, Some(&token), Some(json!({"text": "Can I help with anything else?"})))
        .await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    let refused = s
        .message_where(&token, &conversation, "the refused reply in the transcript", |m| {
            m["text"] == "Can I help with anything else?"
        })
        .await;
    assert_eq!(refused["status"], "failed", "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("opted out (STOP)")), "{refused}");

    // A second STOP sends nothing more and changes nothing.
    s.text("C1000000000000000000000000000003", CUSTOMER, "STOP").await;
    s.message_where(&token, &conversation, "the second STOP is in the transcript", |m| {
        m["provider_message_id"] == "C1000000000000000000000000000003"
    })
    .await;
    s.app.settled().await;
    assert_eq!(sent(&s, en(AutomatedKind::OptOutConfirmation)), 1, "exactly one confirmation");
    assert!(sent(&s, "Can I help with anything else?") == 0);
    assert_eq!(trail(&consent_of(&s, CUSTOMER).await).len(), 2, "the second STOP recorded nothing");

    // HELP is answered even while opted out (carriers require it).
    s.text("C1000000000000000000000000000004", CUSTOMER, "Help").await;
    until_sent(&s, en(AutomatedKind::Help), 1).await;

    // START: opted back in, one confirmation, and replies go out again.
    s.text("C1000000000000000000000000000005", CUSTOMER, "START").await;
    until_sent(&s, en(AutomatedKind::OptInConfirmation), 1).await;
    let id = s.reply(&token, &conversation, "Welcome back!").await;
    s.message_status(&token, &conversation, &id, "sent").await;
    let back = consent_of(&s, CUSTOMER).await;
    assert_eq!(
        trail(&back),
        vec![
            t("notice_sent", "first_contact", Some(OUR_NUMBER_E164)),
            t("opt_out", "keyword", Some(OUR_NUMBER_E164)),
            t("opt_in", "keyword", Some(OUR_NUMBER_E164))
        ]
    );
    // Every keyword text is in the transcript, and every system message with its kind.
    let c = s.api().conversation(&token, &conversation).await;
    let messages = c["messages"].as_array().expect("messages");
    for keyword in ["  stop. ", "STOP", "Help", "START"] {
        assert!(messages.iter().any(|m| m["text"] == keyword && m["author"] == "customer"), "{keyword}: {c}");
    }
    let mut kinds: Vec<&str> = messages.iter().filter_map(|m| m["automated"].as_str()).collect();
    if kinds.len() > 3 {
        kinds[1..3].sort_unstable(); // greeting and agent joined: either order (above)
    }
    assert_eq!(
        kinds,
        vec![
            "opt_in_notice",
            "agent_joined",
            "greeting",
            "opt_out_confirmation",
            "help",
            "opt_in_confirmation"
        ],
        "{c}"
    );
    assert!(messages.iter().filter(|m| m["author"] == "system").all(|m| m["encoding"] == "GSM-7"));
}

#[tokio::test]
async fn stopall_stops_every_number_and_start_reopens_one() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeTelesign::start().await;
    let queue = app.api.create_queue("Support").await;
    let (a, b) = ("15555550110", "15555550111");
    let channel = app.api.telesign_channel(&fake, &[a, b], &queue).await;
    let channel = channel["id"].as_str().expect("id").to_string();
    let (agent, token) = app.api.create_agent("Ada", &[&queue], 4).await;
    app.api.presence(&agent, &token, "available").await;
    let text = |reference: &str, to: &str, body: &str| {
        let raw = telesign_mo(reference, CUSTOMER, to, body);
        let auth = fake.sign_callback(&raw);
        let path = format!("/webhooks/telesign/{channel}");
        let api = app.api.clone();
        async move {
            let (status, answer) = api.webhook(&path, &raw, Some(&auth)).await;
            assert_eq!(status, 200, "{answer}");
        }
    };
    let conversation_on = |number: &'static str| {
        let (api, token) = (app.api.clone(), token.clone());
        async move {
            eventually(30, "the conversation reaches the agent", || async {
                api.work_items(&token)
                    .await
                    .into_iter()
                    .find(|w| w["number"] == format!("+{number}"))
                    .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
            })
            .await
        }
    };
    text("D1000000000000000000000000000001", a, "Hello A").await;
    text("D1000000000000000000000000000002", b, "Hello B").await;
    let on_a = conversation_on("15555550110").await;
    let on_b = conversation_on("15555550111").await;
    let notices =
        || fake.sends().iter().filter(|m| m.field("message") == Some(en(AutomatedKind::OptInNotice))).count();
    eventually(30, "each number's first contact gets its notice", || async {
        (notices() == 2).then_some(())
    })
    .await;

    text("D1000000000000000000000000000003", a, "StopAll").await;
    eventually(30, "one confirmation", || async {
        fake.sends()
            .iter()
            .any(|m| m.field("message") == Some(en(AutomatedKind::OptOutAllConfirmation)))
            .then_some(())
    })
    .await;
    let reply = |conversation: String, body: &'static str| {
        let (api, token) = (app.api.clone(), token.clone());
        async move {
            let path = format!("/v1/conversations/{conversation}/messages");
            api.call("POST", &path, Some(&token), Some(json!({"text": body}))).await
        }
    };
    assert_eq!(reply(on_a.clone(), "to A").await.0, 409);
    assert_eq!(reply(on_b.clone(), "to B").await.0, 409, "STOPALL stops the other number too");
    let consent =
        app.api.ok("GET", &format!("/v1/consent?phone=%2B{CUSTOMER}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(consent["opted_out_everywhere"], true, "{consent}");
    let last = consent["history"].as_array().and_then(|h| h.last()).cloned().expect("a change");
    assert_eq!(
        (&last["event"], &last["cause"], &last["number"]),
        (&json!("opt_out"), &json!("keyword"), &Value::Null)
    );

    // START on B opens B again; A stays stopped.
    text("D1000000000000000000000000000004", b, "start").await;
    eventually(30, "the opt-in confirmation", || async {
        fake.sends()
            .iter()
            .any(|m| m.field("message") == Some(en(AutomatedKind::OptInConfirmation)))
            .then_some(())
    })
    .await;
    assert_eq!(reply(on_b, "to B again").await.0, 202);
    assert_eq!(reply(on_a, "to A again").await.0, 409);
    eventually(30, "the reply from B reaches the provider", || async {
        fake.sends().iter().find(|m| m.field("message") == Some("to B again")).cloned()
    })
    .await;
    app.settled().await;
    let sends = fake.sends();
    assert!(!sends.iter().any(|m| m.field("message").is_some_and(|t| t.starts_with("to A"))), "{sends:?}");
    let confirmations =
        sends.iter().filter(|m| m.field("message") == Some(en(AutomatedKind::OptOutAllConfirmation)));
    assert_eq!(confirmations.count(), 1);
}

/// A STOPALL after the customer opted back in to one number stops that number again, with one
/// confirmation, whether it is texted to that number or to one still stopped; a reply is then refused, and
/// the consent view says opted out everywhere only while no number was opted back in to.
#[tokio::test]
async fn stopall_after_opting_back_in_to_one_number_stops_every_number_again() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeTelesign::start().await;
    let queue = app.api.create_queue("Support").await;
    let (a, b) = ("15555550110", "15555550111");
    let channel = app.api.telesign_channel(&fake, &[a, b], &queue).await;
    let channel = channel["id"].as_str().expect("id").to_string();
    let (agent, token) = app.api.create_agent("Ada", &[&queue], 4).await;
    app.api.presence(&agent, &token, "available").await;
    let text = |reference: &str, to: &str, body: &str| {
        let raw = telesign_mo(reference, CUSTOMER, to, body);
        let auth = fake.sign_callback(&raw);
        let path = format!("/webhooks/telesign/{channel}");
        let api = app.api.clone();
        async move {
            let (status, answer) = api.webhook(&path, &raw, Some(&auth)).await;
            assert_eq!(status, 200, "{answer}");
        }
    };
    let count = |body: &str| fake.sends().iter().filter(|m| m.field("message") == Some(body)).count();
    let consent = || async {
        app.api.ok("GET", &format!("/v1/consent?phone=%2B{CUSTOMER}"), ADMIN_TOKEN, None, 200).await
    };
    let opted_out_of = |consent: &Value, number: &str| {
        consent["numbers"].as_array().and_then(|ns| {
            ns.iter().find(|n| n["number"] == format!("+{number}")).map(|n| n["opted_out"].clone())
        })
    };

    text("D2000000000000000000000000000001", a, "Hello A").await;
    let on_a = eventually(30, "the conversation reaches the agent", || async {
        app.api
            .work_items(&token)
            .await
            .into_iter()
            .find_map(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    let confirmation = en(AutomatedKind::OptOutAllConfirmation);
    text("D2000000000000000000000000000002", a, "stopall").await;
    fake_sent(&fake, confirmation, 1).await;
    text("D2000000000000000000000000000003", a, "START").await;
    fake_sent(&fake, en(AutomatedKind::OptInConfirmation), 1).await;
    let back = consent().await;
    assert_eq!(back["opted_out_everywhere"], false, "A takes texts again: {back}");
    assert_eq!(opted_out_of(&back, a), Some(json!(false)), "{back}");

    // STOPALL again, texted to A: recorded, confirmed once more, and A is stopped again.
    text("D2000000000000000000000000000004", a, "STOPALL").await;
    fake_sent(&fake, confirmation, 2).await;
    let path = format!("/v1/conversations/{on_a}/messages");
    let (status, answer) =
        app.api.call("POST", &path, Some(&token), Some(json!({"text": "still here?"}))).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    let stopped = consent().await;
    assert_eq!(stopped["opted_out_everywhere"], true, "{stopped}");
    assert_eq!(opted_out_of(&stopped, a), Some(json!(true)), "{stopped}");
    assert_eq!(
        trail(&stopped),
        vec![
            t("notice_sent", "first_contact", Some("+15555550110")),
            t("opt_out", "keyword", None),
            t("opt_in", "keyword", Some("+15555550110")),
            t("opt_out", "keyword", None),
        ]
    );

    // START on A, then STOPALL texted to B (still stopped): A is stopped again all the same.
    text("D2000000000000000000000000000005", a, "start").await;
    fake_sent(&fake, en(AutomatedKind::OptInConfirmation), 2).await;
    text("D2000000000000000000000000000006", b, "StopAll").await;
    fake_sent(&fake, confirmation, 3).await;
    let (status, answer) =
        app.api.call("POST", &path, Some(&token), Some(json!({"text": "still here?"}))).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    assert_eq!(consent().await["opted_out_everywhere"], true);

    // Already stopped everywhere: one more STOPALL changes nothing and sends nothing.
    text("D2000000000000000000000000000007", a, "STOPALL").await;
    eventually(30, "the last STOPALL is filed", || async {
        let c = app.api.conversation(ADMIN_TOKEN, &on_a).await;
        c["messages"]
            .as_array()?
            .iter()
            .any(|m| m["provider_message_id"] == "D2000000000000000000000000000007")
            .then_some(())
    })
    .await;
    app.settled().await;
    assert_eq!(count(confirmation), 3, "{:?}", fake.sends());
    assert_eq!(trail(&consent().await).len(), 6);
    assert_eq!(count("still here?"), 0, "no reply reached the customer");
}

/// The texts `customer` received, in order.
fn texts_to(s: &Setup, customer: &str) -> Vec<String> {
    s.fake
        .sends()
        .iter()
        .filter(|m| m.field("phone_number") == Some(customer))
        .filter_map(|m| m.field("message").map(str::to_string))
        .collect()
}

/// STOPALL gets a confirmation of its own, saying that no more messages come from us (not "from this
/// number"), in English and Spanish by default and editable like every automated message.
#[tokio::test]
async fn stopall_is_confirmed_with_its_own_text_and_an_admin_may_change_it() {
    let Some(s) = Setup::with_defaults().await else { return };
    s.text("C3000000000000000000000000000001", "15555550861", "STOPALL").await;
    let confirmation = customer_message(&s, "+15555550861", "the STOPALL confirmation", |m| {
        m["automated"] == "opt_out_all_confirmation"
    })
    .await;
    let said = confirmation["text"].as_str().unwrap_or_default().to_string();
    assert!(!said.contains("this number") && said.contains("from us"), "{confirmation}");
    until_sent(&s, &said, 1).await;
    assert!(!texts_to(&s, "15555550861").iter().any(|t| t == en(AutomatedKind::OptOutConfirmation)));

    let path = format!("/v1/channels/{}", s.channel);
    let channel = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(channel["automated_messages"]["en"]["opt_out_all_confirmation"], json!(said), "{channel}");
    let spanish =
        channel["automated_messages"]["es"]["opt_out_all_confirmation"].as_str().unwrap_or_default();
    assert!(!spanish.is_empty() && spanish != said, "{channel}");
    let ours = "You will get no more texts from Acme. Reply START to hear from this number again.";
    let patch = json!({"automated_messages": {"en": {"opt_out_all_confirmation": ours}}});
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(patch), 200).await;
    s.text("C3000000000000000000000000000002", "15555550861", "START").await;
    until_sent(&s, en(AutomatedKind::OptInConfirmation), 1).await;
    s.text("C3000000000000000000000000000003", "15555550861", "stopall").await;
    until_sent(&s, ours, 1).await;
}

/// The opt-in notice comes before anything else on a customer's first contact with a number: before the
/// answer to HELP when that is the first text, and before an agent's proactive first text.
#[tokio::test]
async fn the_opt_in_notice_comes_first_before_help_and_before_a_proactive_first_text() {
    let Some(s) = Setup::with_defaults().await else { return };
    s.text("C4000000000000000000000000000001", "15555550871", "HELP").await;
    until_sent(&s, en(AutomatedKind::Help), 1).await;
    s.text("C4000000000000000000000000000002", "15555550871", "What are your hours?").await;
    customer_message(&s, "+15555550871", "the second text is filed", |m| m["text"] == "What are your hours?")
        .await;
    s.app.settled().await;
    assert_eq!(
        texts_to(&s, "15555550871"),
        vec![en(AutomatedKind::OptInNotice), en(AutomatedKind::Help)],
        "the notice first, once"
    );

    let (_agent, token) = s.agent("Ada", 3).await;
    let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550872",
                      "text": "Your order shipped", "session": true});
    let sent = s.api().ok("POST", "/v1/messages", &token, Some(body), 202).await;
    let conversation = sent["conversation_id"].as_str().expect("conversation").to_string();
    until_sent(&s, "Your order shipped", 1).await;
    assert_eq!(texts_to(&s, "15555550872"), vec![en(AutomatedKind::OptInNotice), "Your order shipped"]);
    assert_eq!(
        trail(&consent_of(&s, "15555550872").await),
        vec![t("notice_sent", "first_contact", Some(OUR_NUMBER_E164))]
    );
    // The customer's answer joins the session; no second notice.
    s.text("C4000000000000000000000000000003", "15555550872", "Thanks!").await;
    s.message_where(&token, &conversation, "the answer", |m| m["text"] == "Thanks!").await;
    s.app.settled().await;
    assert_eq!(sent_to(&s, "15555550872", en(AutomatedKind::OptInNotice)), 1);
}

/// With smart encoding on, a text that smart encoding would take over the 1600-character cap is sent as
/// written, and the preview gives the same answer as the send (encoding, segments, characters, the cap).
#[tokio::test]
async fn the_preview_gives_the_sends_answer_when_smart_encoding_would_pass_the_cap() {
    let Some(s) =
        Setup::with_settings(json!({"smart_encoding": true, "automated_messages_enabled": false})).await
    else {
        return;
    };
    let (_agent, token) = s.agent("Ada", 2).await;
    s.text("C5000000000000000000000000000001", CUSTOMER, "Hi").await;
    let conversation = s.work_item_for(&token, &format!("+{CUSTOMER}")).await;
    for text in ["…".repeat(600), "It’s “ready” – come by".to_string()] {
        let body = json!({"channel_id": s.channel, "text": text});
        let preview = s.api().ok("POST", "/v1/messages/preview", &token, Some(body), 200).await;
        let id = s.reply(&token, &conversation, &text).await;
        let m = s.message_status(&token, &conversation, &id, "sent").await;
        assert_eq!(
            (&preview["text"], &preview["encoding"], &preview["segments"]),
            (&m["text"], &m["encoding"], &m["segments"]),
            "{preview} vs {m}"
        );
        let chars = m["text"].as_str().map_or(0, |t| t.chars().count());
        assert_eq!(
            (&preview["characters"], &preview["over_limit"]),
            (&json!(chars), &json!(false)),
            "{preview}"
        );
    }
}

#[tokio::test]
async fn the_opt_in_notice_comes_only_on_first_contact_and_an_admin_change_is_audited() {
    let Some(s) = Setup::with_defaults().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    s.text("E1000000000000000000000000000001", CUSTOMER, "first").await;
    let conversation = s.work_item_for(&token, &format!("+{CUSTOMER}")).await;
    s.text("E1000000000000000000000000000002", CUSTOMER, "second").await;
    s.message_where(&token, &conversation, "the second text is filed", |m| m["text"] == "second").await;
    s.api().ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    until_sent(&s, en(AutomatedKind::ConversationEnded), 1).await;
    // A new conversation on the same number: greeted again, no second notice.
    s.text("E1000000000000000000000000000003", CUSTOMER, "third").await;
    until_sent(&s, en(AutomatedKind::Greeting), 2).await;
    s.app.settled().await;
    assert_eq!(sent(&s, en(AutomatedKind::OptInNotice)), 1, "{:?}", s.fake.sends());

    // An admin records an opt-out received by phone: the same refusal, cause `admin` in the trail.
    let body = json!({"phone": format!("+{CUSTOMER}"), "number": OUR_NUMBER, "opted_out": true, "note": "called in"});
    let changed = s.api().ok("POST", "/v1/consent", ADMIN_TOKEN, Some(body), 201).await;
    let last = changed["history"].as_array().and_then(|h| h.last()).cloned().expect("a change");
    assert_eq!(
        (&last["event"], &last["cause"], &last["detail"]),
        (&json!("opt_out"), &json!("admin"), &json!("called in"))
    );
    let bad = json!({"phone": format!("+{CUSTOMER}"), "number": "15550000000", "opted_out": true});
    let (status, answer) = s.api().admin("POST", "/v1/consent", Some(bad)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("number:")), "{answer}");
    let (status, _) = s.api().call("GET", "/v1/consent?phone=%2B15555550801", Some(&token), None).await;
    assert_eq!(status, 403, "the audit trail is for admins");
}

#[tokio::test]
async fn a_spanish_channel_speaks_spanish_and_settings_are_patched_with_rules() {
    let Some(s) = Setup::with_settings(json!({"language": "es"})).await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    s.text("F1000000000000000000000000000001", CUSTOMER, "Hola, ¿dónde está mi pedido?").await;
    let conversation = s.work_item_for(&token, &format!("+{CUSTOMER}")).await;
    let es = |kind| default_text("es", kind).expect("built-in Spanish text");
    // The timers' sweep may assign (and announce the agent) before the router queues the notice and the
    // greeting (AWS shape): wait for each.
    until_sent(&s, "Ada se ha unido a la conversación.", 1).await;
    until_sent(&s, es(AutomatedKind::OptInNotice), 1).await;
    until_sent(&s, es(AutomatedKind::Greeting), 1).await;
    assert_eq!(sent(&s, es(AutomatedKind::OptInNotice)), 1);
    assert_eq!(sent(&s, es(AutomatedKind::Greeting)), 1);
    // BAJA is Spanish for STOP, built in.
    s.text("F1000000000000000000000000000002", CUSTOMER, "Baja").await;
    until_sent(&s, es(AutomatedKind::OptOutConfirmation), 1).await;

    // Settings: GET shows the defaults filled in; PATCH merges; a bad value is a 400 naming the field.
    let path = format!("/v1/channels/{}", s.channel);
    let channel = s.api().ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(channel["language"], "es");
    assert_eq!(channel["smart_encoding"], false);
    assert_eq!(channel["automated_messages"]["es"]["greeting"], es(AutomatedKind::Greeting));
    assert_eq!(channel["automated_messages"]["en"]["help"], en(AutomatedKind::Help));
    let patch = json!({"smart_encoding": true, "automated_messages": {"fr": {"greeting": "Bonjour !"}}});
    let patched = s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(patch), 200).await;
    assert_eq!(patched["smart_encoding"], true);
    assert_eq!(patched["automated_messages"]["fr"]["greeting"], "Bonjour !");
    assert_eq!(patched["automated_messages"]["fr"]["help"], en(AutomatedKind::Help), "English where none");
    assert_eq!(patched["language"], "es", "what the patch does not name stays");
    for (bad, field) in [
        (json!({"language": "Spanish"}), "language"),
        (json!({"smart_encoding": "yes"}), "smart_encoding"),
        (json!({"automated_messages": {"en": {"gretting": "Hi"}}}), "automated_messages"),
        (json!({"consent_keywords": {"es": {"help": ["stop"]}}}), "consent_keywords.es.help[0]"),
        // Spanish's built-in opt-in, and a word that picks a language, are no opt-out of another language.
        (json!({"consent_keywords": {"fr": {"opt_out": ["ALTA"]}}}), "consent_keywords.fr.opt_out[0]"),
        (json!({"consent_keywords": {"en": {"opt_out": ["Español"]}}}), "consent_keywords.en.opt_out[0]"),
        // Placeholders a message does not take, and one a message needs.
        (
            json!({"automated_messages": {"en": {"greeting": "Hi {customer_name}, welcome"}}}),
            "automated_messages.en.greeting",
        ),
        (
            json!({"automated_messages": {"en": {"agent_joined": "Agent {agnt_name} here"}}}),
            "automated_messages.en.agent_joined",
        ),
        (
            json!({"automated_messages": {"es": {"agent_joined": "{{agent_name}} está aquí"}}}),
            "automated_messages.es.agent_joined",
        ),
        (
            json!({"automated_messages": {"en": {"queue_position": "You are in line"}}}),
            "automated_messages.en.queue_position",
        ),
        (json!({"provider": "twilio"}), "provider"),
        (json!({"id": "ch_other"}), "id"),
        (json!({"no_such_setting": 1}), "no_such_setting"),
    ] {
        let (status, answer) = s.api().admin("PATCH", &path, Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}:")), "{bad}: {answer}");
    }
    let greeting = json!({"automated_messages": {"en": {"greeting": "Hi {customer_name}"}}});
    let (_, answer) = s.api().admin("PATCH", &path, Some(greeting)).await;
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("{customer_name}")), "{answer}");
    let (_, answer) =
        s.api().admin("PATCH", &path, Some(json!({"consent_keywords": {"fr": {"opt_out": ["ALTA"]}}}))).await;
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("opt_in")), "{answer}");
    // The same word in two languages' lists of the same kind is fine.
    let basta = json!({"consent_keywords": {"it": {"opt_out": ["BASTA"]}, "pt": {"opt_out": ["Basta"]}}});
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(basta), 200).await;

    // Smart encoding on: the curly quotes and long dash go out as GSM-7 look-alikes, and the transcript
    // shows what was sent. (The customer opted out above; START first.)
    s.text("F1000000000000000000000000000003", CUSTOMER, "ALTA").await;
    until_sent(&s, es(AutomatedKind::OptInConfirmation), 1).await;
    let id = s.reply(&token, &conversation, "It’s “ready” – come by").await;
    let m = s.message_status(&token, &conversation, &id, "sent").await;
    assert_eq!((&m["text"], &m["encoding"]), (&json!("It's \"ready\" - come by"), &json!("GSM-7")), "{m}");
    assert_eq!(sent(&s, "It's \"ready\" - come by"), 1);
    // Off again: the same text goes out as written, in UCS-2.
    s.api().ok("PATCH", &path, ADMIN_TOKEN, Some(json!({"smart_encoding": false})), 200).await;
    let id = s.reply(&token, &conversation, "It’s “ready” – come by").await;
    let m = s.message_status(&token, &conversation, &id, "sent").await;
    assert_eq!((&m["text"], &m["encoding"]), (&json!("It’s “ready” – come by"), &json!("UCS-2")), "{m}");

    // The preview says what smart encoding would change, and where the UCS-2 characters are.
    let body = json!({"channel_id": s.channel, "text": "Hi… 😀"});
    let preview = s.api().ok("POST", "/v1/messages/preview", &token, Some(body), 200).await;
    assert_eq!((&preview["encoding"], &preview["segments"]), (&json!("UCS-2"), &json!(1)), "{preview}");
    assert_eq!(
        preview["ucs2_positions"],
        json!([{"position": 2, "character": "…"}, {"position": 4, "character": "😀"}])
    );
    assert_eq!(preview["smart_encoding"]["changes"], json!([{"position": 2, "from": "…", "to": "..."}]));
    assert_eq!(preview["smart_encoding"]["text"], "Hi... 😀");
}

/// Out of the queue's hours the customer is told so instead of the greeting (once per conversation), and
/// the text waits in the queue: nobody is given work from a closed queue, even an agent who is available,
/// until it opens.
#[tokio::test]
async fn out_of_hours_in_the_queues_time_zone_answers_once_and_the_text_waits_for_the_opening() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeTelesign::start().await;
    // Tokyo (UTC+9, no daylight saving): open Monday to Friday, 09:00 to 17:00 local time.
    let spans = json!([["09:00", "17:00"]]);
    let hours = json!({"time_zone": "Asia/Tokyo",
        "days": {"mon": spans, "tue": spans, "wed": spans, "thu": spans, "fri": spans}});
    let body = json!({"name": "Tokyo-desk", "operating_hours": hours, "auto_accept": true});
    let queue = app.api.ok("POST", "/v1/queues", ADMIN_TOKEN, Some(body), 201).await;
    let queue = queue["id"].as_str().expect("queue id").to_string();
    let bad = json!({"name": "Nowhere", "operating_hours": {"time_zone": "Mars/Olympus"}});
    let (status, answer) = app.api.admin("POST", "/v1/queues", Some(bad)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("operating_hours.time_zone:")));
    let channel = app.api.telesign_channel(&fake, &[OUR_NUMBER], &queue).await;
    let channel = channel["id"].as_str().expect("id").to_string();
    // An agent who is available out of hours all the same.
    let (agent, token) = app.api.create_agent("Ada", &[&queue], 1).await;
    app.api.presence(&agent, &token, "available").await;

    // The app's clock moves to the next Monday, 08:00 in Tokyo (Sunday 23:00 UTC): closed, for one more hour.
    let now = time::OffsetDateTime::now_utc() + app.clock.offset();
    let mut sunday = now.replace_time(time::macros::time!(23:00));
    while sunday <= now || sunday.weekday() != time::Weekday::Sunday {
        sunday += time::Duration::days(1);
    }
    app.clock.advance((sunday - now).unsigned_abs());
    let text = |reference: &str, from: &str, body: &str| {
        let raw = telesign_mo(reference, from, OUR_NUMBER, body);
        let auth = fake.sign_callback(&raw);
        let (api, path) = (app.api.clone(), format!("/webhooks/telesign/{channel}"));
        async move { assert_eq!(api.webhook(&path, &raw, Some(&auth)).await.0, 200) }
    };
    let closed = en(AutomatedKind::OutOfHours);
    let count = |text: &str| fake.sends().iter().filter(|m| m.field("message") == Some(text)).count();
    text("G1000000000000000000000000000001", CUSTOMER, "Anyone there?").await;
    eventually(30, "the out-of-hours message", || async { (count(closed) == 1).then_some(()) }).await;
    text("G1000000000000000000000000000002", CUSTOMER, "Hello?").await;
    let waiting = eventually(30, "both texts wait in the queue", || async {
        let items = app.api.work_items(ADMIN_TOKEN).await;
        let item = items.into_iter().find(|w| w["customer"] == format!("+{CUSTOMER}"))?;
        let id = item["conversation_id"].as_str()?.to_string();
        let c = app.api.conversation(ADMIN_TOKEN, &id).await;
        let inbound = c["messages"].as_array()?.iter().filter(|m| m["direction"] == "inbound").count();
        (inbound == 2).then_some(c)
    })
    .await;
    let first = waiting["id"].as_str().expect("id").to_string();
    app.settled().await;
    let waiting = app.api.conversation(ADMIN_TOKEN, &first).await;
    assert_eq!((&waiting["state"], &waiting["agent_id"]), (&json!("open"), &Value::Null), "{waiting}");
    assert_eq!(count(closed), 1, "once per conversation: {:?}", fake.sends());
    let kinds: Vec<&str> = waiting["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["automated"].as_str())
        .collect();
    // The out-of-hours message instead of the greeting, and the customer's place in line.
    assert_eq!(kinds, vec!["opt_in_notice", "out_of_hours", "queue_position"], "{waiting}");
    assert_eq!(count(en(AutomatedKind::Greeting)), 0, "{:?}", fake.sends());

    // Monday 10:00 in Tokyo (01:00 UTC): open. The waiting customer goes to the agent (two hours on, well
    // within the inactivity period), and a new customer is greeted, with no out-of-hours message.
    app.clock.advance(std::time::Duration::from_secs(2 * 3600));
    text("G1000000000000000000000000000003", "15555550802", "Good morning").await;
    eventually(30, "the waiting customer reaches the agent", || async {
        let c = app.api.conversation(ADMIN_TOKEN, &first).await;
        (c["agent_id"] == json!(agent)).then_some(())
    })
    .await;
    eventually(30, "the greeting", || async { (count(en(AutomatedKind::Greeting)) == 1).then_some(()) })
        .await;
    app.settled().await;
    assert_eq!(count(closed), 1, "open hours: no out-of-hours message: {:?}", fake.sends());
}

/// Issue 10.3: a text that opens a conversation no agent can take now gets the customer's place in line,
/// once, after the greeting; a customer an agent takes at once is not told (see the test above: three sends).
#[tokio::test]
async fn with_nobody_free_the_customer_is_told_their_place_in_line() {
    let Some(s) = Setup::with_defaults().await else { return };
    let place = |n: usize| en(AutomatedKind::QueuePosition).replace("{position}", &n.to_string());
    s.text("C1000000000000000000000000000201", "15555550811", "Hello, anyone there?").await;
    until_sent(&s, &place(1), 1).await;
    s.text("C1000000000000000000000000000202", "15555550812", "Hi, a question about my bill").await;
    until_sent(&s, &place(2), 1).await;
    // The second customer heard the notice, the greeting, then their place: nothing else, in that order.
    let to_second: Vec<String> = s
        .fake
        .sends()
        .iter()
        .filter(|m| m.field("phone_number") == Some("15555550812"))
        .filter_map(|m| m.field("message").map(str::to_string))
        .collect();
    let want = [en(AutomatedKind::OptInNotice), en(AutomatedKind::Greeting), &place(2)];
    assert_eq!(to_second, want, "{to_second:?}");
    // The place is in the transcript as a system message.
    let (_agent, token) = s.agent("Ada", 2).await;
    let conversation = s.work_item_for(&token, "+15555550811").await;
    let c = s.api().conversation(&token, &conversation).await;
    let said: Vec<(&str, &str)> = c["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["author"].as_str().unwrap_or_default(), m["text"].as_str().unwrap_or_default()))
        .collect();
    assert!(said.contains(&("system", place(1).as_str())), "{said:?}");
}

/// A one-off proactive text (no session: a reminder, a notice) opens a conversation that closes at once;
/// the customer never had a conversation to end, so no "conversation ended" text follows it.
#[tokio::test]
async fn a_proactive_text_without_a_session_is_not_followed_by_a_conversation_ended_text() {
    let Some(s) = Setup::with_defaults().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550471",
                      "text": "Your appointment is tomorrow at 10.", "session": false});
    let sent = s.api().ok("POST", "/v1/messages", &token, Some(body), 202).await;
    let conversation = sent["conversation_id"].as_str().expect("conversation").to_string();
    until_sent(&s, "Your appointment is tomorrow at 10.", 1).await;
    s.app.settled().await;
    let c = s.api().conversation(ADMIN_TOKEN, &conversation).await;
    assert_eq!(c["state"], "closed", "{c}");
    let texts: Vec<String> = s
        .fake
        .sends()
        .iter()
        .filter(|m| m.field("phone_number") == Some("15555550471"))
        .filter_map(|m| m.field("message").map(str::to_string))
        .collect();
    assert!(
        !texts.iter().any(|t| t == en(AutomatedKind::ConversationEnded)),
        "no 'conversation ended' after a one-off text: {texts:?}"
    );
}
