//! Every provider, black-box (issue 9.8 and 9.9, 9.3's public URL, 9.5's opt-out): the first slice's
//! conversation runs once per provider against that provider's fake on loopback, which checks our requests'
//! authentication; the webhooks are signed as each provider signs them. One table: a provider adds a row.

use crate::Setup;
use serde_json::{Value, json};
use smsdesk_tests::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type StartFake = fn() -> Pin<Box<dyn Future<Output = Arc<dyn FakeProvider>> + Send>>;

/// One row per provider: its name, our number on it, a customer, and how to start its fake.
const PROVIDERS: &[(&str, &str, &str, StartFake)] = &[
    ("telesign", "15555550111", "15555550211", || {
        Box::pin(async { Arc::new(FakeTelesign::start().await) as _ })
    }),
    ("twilio", "15555550112", "15555550212", || Box::pin(async { Arc::new(FakeTwilio::start().await) as _ })),
    ("vonage", "15555550113", "15555550213", || Box::pin(async { Arc::new(FakeVonage::start().await) as _ })),
];

/// A channel on `fake`'s account with `numbers`, all feeding `queue` (and `extra` fields); returns the
/// answer.
async fn channel_on(
    api: &Api,
    fake: &dyn FakeProvider,
    numbers: &[&str],
    queue: &str,
    extra: Value,
) -> Value {
    let mut body = fake.channel_fields();
    body["name"] = json!(format!("{} line", fake.name()));
    // These tests count what reaches the provider: no automated messages unless `extra` turns them on.
    body["automated_messages_enabled"] = json!(false);
    body["numbers"] = numbers
        .iter()
        .map(|n| json!({"number": n, "type": "geo", "description": "support", "queue": queue}))
        .collect();
    if let Value::Object(more) = extra {
        for (k, v) in more {
            body[k] = v;
        }
    }
    api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Delivers `webhook` and asserts the provider's webhook was taken (2xx).
async fn deliver_ok(api: &Api, webhook: &Webhook, what: &str) {
    let (status, body) = api.deliver(webhook).await;
    assert!((200..300).contains(&status), "{what}: webhook answered {status}: {body}");
}

async fn wait_sends(fake: &dyn FakeProvider, n: usize, what: &str) -> Vec<Sent> {
    eventually(30, what, || async {
        let sends = fake.sends();
        (sends.len() >= n).then_some(sends)
    })
    .await
}

#[tokio::test]
async fn a_conversation_runs_end_to_end_through_every_provider() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 10).await;
    for (name, number, customer, start) in PROVIDERS {
        let fake = start().await;
        let channel = channel_on(s.api(), fake.as_ref(), &[number], &s.queue, json!({})).await;
        let callback = channel["callback_url"].as_str().expect("callback_url").to_string();
        let now = s.app.app().clock.now();

        // The customer texts; the provider calls the channel's callback URL, signed.
        let text =
            fake.inbound(&callback, &format!("mo-{name}-1"), customer, number, "Where is my order?", now);
        deliver_ok(s.api(), &text, &format!("{name}: inbound text")).await;
        let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
        // The same webhook again (the provider retries): acknowledged, nothing filed twice.
        deliver_ok(s.api(), &text, &format!("{name}: replayed text")).await;

        // The agent answers; the provider receives it, authenticated as the account, from our number.
        let reply = s.reply(&token, &conversation, &format!("It ships today ({name}).")).await;
        s.message_status(&token, &conversation, &reply, "sent").await;
        let sends = wait_sends(fake.as_ref(), 1, &format!("{name}: the reply reaches the fake")).await;
        assert_eq!(sends.len(), 1, "{name}: one send: {sends:?}");
        let sent = &sends[0];
        assert!(sent.auth_ok, "{name}: the send carried the account's credentials: {sent:?}");
        assert_eq!((sent.from.as_str(), sent.to.as_str()), (*number, *customer), "{name}: {sent:?}");
        assert_eq!(sent.text, format!("It ships today ({name})."), "{name}");

        // The delivery receipt moves the reply to delivered.
        let receipt = fake.delivered(&callback, sent, s.app.app().clock.now());
        deliver_ok(s.api(), &receipt, &format!("{name}: delivery receipt")).await;
        s.message_status(&token, &conversation, &reply, "delivered").await;

        let transcript = s.api().conversation(&token, &conversation).await;
        let inbound = transcript["messages"]
            .as_array()
            .map(|ms| ms.iter().filter(|m| m["direction"] == "inbound").count())
            .unwrap_or_default();
        assert_eq!(inbound, 1, "{name}: the replayed text is filed once: {transcript}");
        assert_eq!(transcript["channel_id"], channel["id"], "{name}");
    }
    s.app.settled().await;
}

#[tokio::test]
async fn a_twilio_signature_is_checked_against_the_channel_public_url() {
    let Some(s) = Setup::new().await else { return };
    let fake = FakeTwilio::start().await;
    let public = "http://127.0.0.1:4443/edge/sms/twilio-in";
    let behind = channel_on(s.api(), &fake, &["15555550121"], &s.queue, json!({"public_url": public})).await;
    assert_eq!(behind["callback_url"], public, "the channel shows the URL to paste into Twilio");
    assert_eq!(behind["public_url"], public);
    let direct = channel_on(s.api(), &fake, &["15555550122"], &s.queue, json!({})).await;
    let rebuilt = |c: &Value| format!("{}/webhooks/twilio/{}", s.api().base, id_of(c));
    assert_eq!(direct["callback_url"], rebuilt(&direct).as_str());

    let text = |to: &str, sid: &str| fake.inbound_params(sid, "15555550221", to, "Hello");
    // Behind a proxy: the request reaches the rebuilt path, but Twilio signed the URL it was given.
    let path = rebuilt(&behind);
    let over_public = fake.form_webhook(&path, public, &text("15555550121", "SM1"));
    deliver_ok(s.api(), &over_public, "signed over the channel's public URL").await;
    let over_rebuilt = fake.form_webhook(&path, &path, &text("15555550121", "SM2"));
    assert_eq!(s.api().deliver(&over_rebuilt).await.0, 401, "the rebuilt URL is not what Twilio signed");
    // Without a public URL, the rebuilt URL is the one.
    let path = rebuilt(&direct);
    let over_rebuilt = fake.form_webhook(&path, &path, &text("15555550122", "SM3"));
    deliver_ok(s.api(), &over_rebuilt, "signed over the rebuilt URL").await;
    let over_other = fake.form_webhook(&path, public, &text("15555550122", "SM4"));
    assert_eq!(s.api().deliver(&over_other).await.0, 401, "another URL's signature is refused");
    // `smsdesk dev` with no public URL of its own: the server under whichever name its caller reached it by
    // (Twilio's SDK signs the URL it posts to, here `localhost` rather than `127.0.0.1`).
    if s.app.aws.is_none() {
        let by_name = Api::new(s.api().base.replacen("127.0.0.1", "localhost", 1));
        let signed_for = format!("{}/webhooks/twilio/{}", by_name.base, id_of(&direct));
        let over_name = fake.form_webhook(&signed_for, &signed_for, &text("15555550122", "SM5"));
        deliver_ok(&by_name, &over_name, "signed over the name the server was reached by").await;
        let over_other_name = fake.form_webhook(&signed_for, &path, &text("15555550122", "SM6"));
        assert_eq!(by_name.deliver(&over_other_name).await.0, 401, "a URL the caller did not use is refused");
    }

    // A public URL is https (plain http only to loopback here), with no query or user info.
    for bad in ["http://example.com/sms", "https://example.com/sms?x=1", "https://u:p@example.com/sms", "sms"]
    {
        let mut body = fake.channel_fields();
        body["name"] = json!("bad");
        body["public_url"] = json!(bad);
        body["numbers"] = json!([{"number": "15555550129", "type": "geo", "queue": s.queue}]);
        let (status, answer) = s.api().admin("POST", "/v1/channels", Some(body)).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("public_url")), "{answer}");
    }
    s.app.settled().await;
}

/// A Twilio channel on `number` and an agent's conversation with `customer`, opened by a text of `sid`:
/// the fake, the agent's token and the conversation.
async fn twilio_conversation(
    s: &Setup,
    number: &str,
    customer: &str,
    sid: &str,
) -> (FakeTwilio, String, String) {
    let (_agent, token) = s.agent("Ada", 2).await;
    let fake = FakeTwilio::start().await;
    let channel = channel_on(s.api(), &fake, &[number], &s.queue, json!({})).await;
    let callback = channel["callback_url"].as_str().expect("callback_url").to_string();
    let text = fake.inbound(&callback, sid, customer, number, "Hi", s.app.app().clock.now());
    deliver_ok(s.api(), &text, "inbound text").await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    (fake, token, conversation)
}

#[tokio::test]
async fn an_opt_out_reported_by_twilio_is_recorded_and_stops_the_next_reply() {
    let Some(s) = Setup::new().await else { return };
    let (fake, token, conversation) =
        twilio_conversation(&s, "15555550131", "15555550231", "SMoptout1").await;

    fake.script([TwilioScript::Error {
        http: 400,
        code: 21610,
        message: "Attempt to send to unsubscribed recipient".into(),
    }]);
    let first = s.reply(&token, &conversation, "On its way").await;
    let failed = s.message_status(&token, &conversation, &first, "failed").await;
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("opted out at the provider") && error.contains("21610"), "{failed}");

    // The next reply is refused by consent at once (409 opted_out) and kept in the transcript, failed, with why.
    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, answer) =
        s.api().call("POST", &path, Some(&token), Some(json!({"text": "Are you still there?"}))).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    let refused = s
        .message_where(&token, &conversation, "the refused reply is in the transcript", |m| {
            m["text"] == "Are you still there?" && m["status"] == "failed"
        })
        .await;
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("opted out (STOP)")), "{refused}");
    s.app.settled().await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 1, "only the refused first reply reached Twilio: {sends:?}");
}

/// Twilio may accept a send and report the opt-out later, in the status callback (`failed`, ErrorCode
/// 21610): that report fails the message and records the opt-out too, so the next reply is refused.
#[tokio::test]
async fn an_opt_out_in_twilios_status_callback_is_recorded_and_stops_the_next_reply() {
    let Some(s) = Setup::new().await else { return };
    let (fake, token, conversation) =
        twilio_conversation(&s, "15555550132", "15555550232", "SMoptout2").await;
    let first = s.reply(&token, &conversation, "On its way").await;
    s.message_status(&token, &conversation, &first, "sent").await;
    let sent = wait_sends(&fake, 1, "the first reply").await;
    let status_url = sent[0].callback.clone().expect("the send names its status callback");
    let params: Vec<(String, String)> = [
        ("MessageSid", sent[0].provider_id.as_str()),
        ("MessageStatus", "failed"),
        ("ErrorCode", "21610"),
        ("ErrorMessage", "Attempt to send to unsubscribed recipient"),
        ("To", "+15555550232"),
        ("From", "+15555550132"),
        ("AccountSid", fake.account_sid.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    deliver_ok(s.api(), &fake.form_webhook(&status_url, &status_url, &params), "status callback").await;
    s.message_status(&token, &conversation, &first, "failed").await;

    let path = format!("/v1/conversations/{conversation}/messages");
    let (status, answer) =
        s.api().call("POST", &path, Some(&token), Some(json!({"text": "Are you still there?"}))).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("opted_out")), "{answer}");
    let trail = s.api().ok("GET", "/v1/consent?phone=%2B15555550232", ADMIN_TOKEN, None, 200).await;
    assert!(
        trail["history"].as_array().into_iter().flatten().any(|c| c["cause"] == "provider_error"),
        "{trail}"
    );
    s.app.settled().await;
    assert_eq!(fake.sends().len(), 1, "only the first reply reached Twilio");
}

#[tokio::test]
async fn a_number_moved_to_another_provider_takes_its_open_conversation_along() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    let (moving, staying, twilio_own) = ("15555550141", "15555550142", "15555550143");
    let customer = "15555550241";
    let telesign = FakeTelesign::start().await;
    let old = channel_on(s.api(), &telesign, &[moving, staying], &s.queue, json!({})).await;
    let twilio = FakeTwilio::start().await;
    let new = channel_on(s.api(), &twilio, &[twilio_own], &s.queue, json!({})).await;
    let (old_id, new_id) = (id_of(&old), id_of(&new));
    let old_callback = old["callback_url"].as_str().expect("callback_url").to_string();
    let new_callback = new["callback_url"].as_str().expect("callback_url").to_string();

    let now = s.app.app().clock.now();
    deliver_ok(s.api(), &telesign.inbound(&old_callback, "ts-move-1", customer, moving, "Hi", now), "text")
        .await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;

    let numbers = |list: &[&str]| {
        let list: Vec<Value> = list
            .iter()
            .map(|n| json!({"number": n, "type": "geo", "description": "support", "queue": s.queue}))
            .collect();
        json!({ "numbers": list })
    };
    // A number is on one channel at a time: the 409 names the channel that has it.
    let (status, answer) = s
        .api()
        .admin("PUT", &format!("/v1/channels/{new_id}/numbers"), Some(numbers(&[twilio_own, moving])))
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains(&old_id)), "{answer}");

    // The move: off the TeleSign channel, onto the Twilio one; the open conversation goes along. A
    // channel's last number may leave it too (it keeps its settings and takes no text until it gets one).
    let spare =
        channel_on(s.api(), &FakeTelesign::start().await, &["15555550144"], &s.queue, json!({})).await;
    let path = format!("/v1/channels/{}/numbers", id_of(&spare));
    let emptied = s.api().ok("PUT", &path, ADMIN_TOKEN, Some(numbers(&[])), 200).await;
    assert_eq!(emptied["numbers"], json!([]), "{emptied}");
    channel_on(s.api(), &FakeTwilio::start().await, &["15555550144"], &s.queue, json!({})).await;
    s.api()
        .ok("PUT", &format!("/v1/channels/{old_id}/numbers"), ADMIN_TOKEN, Some(numbers(&[staying])), 200)
        .await;
    let moved = s
        .api()
        .ok(
            "PUT",
            &format!("/v1/channels/{new_id}/numbers"),
            ADMIN_TOKEN,
            Some(numbers(&[twilio_own, moving])),
            200,
        )
        .await;
    assert_eq!(moved["moved_conversations"], 1, "{moved}");
    let old_view = s.api().ok("GET", &format!("/v1/channels/{old_id}"), ADMIN_TOKEN, None, 200).await;
    let former = &old_view["former_numbers"];
    assert_eq!(
        former.as_array().map(Vec::len),
        Some(1),
        "the old channel shows the number that left: {old_view}"
    );
    assert_eq!(former[0]["number"], json!(format!("+{moving}")), "{old_view}");
    assert!(former[0]["late_webhooks_until"].is_string(), "{old_view}");
    let view = s.api().conversation(&token, &conversation).await;
    assert_eq!(view["channel_id"], new_id.as_str(), "{view}");

    // The agent's reply goes out through Twilio, from the moved number.
    let reply = s.reply(&token, &conversation, "Still here, now on Twilio").await;
    s.message_status(&token, &conversation, &reply, "sent").await;
    let sends = wait_sends(&twilio, 1, "the reply reaches Twilio").await;
    assert!(sends[0].auth_ok, "{:?}", sends[0]);
    assert_eq!((sends[0].from.as_str(), sends[0].to.as_str()), (moving, customer));
    assert!(FakeProvider::sends(&telesign).is_empty(), "nothing went out through the old provider");

    // The customer's next text arrives through Twilio and lands in the same conversation.
    let now = s.app.app().clock.now();
    let next = twilio.inbound(&new_callback, "SMmove2", customer, moving, "Thanks!", now);
    deliver_ok(s.api(), &next, "text through the new provider").await;
    s.message_where(&token, &conversation, "the next text joins the conversation", |m| {
        m["text"] == "Thanks!"
    })
    .await;
    let items = s.api().work_items(&token).await;
    assert_eq!(items.len(), 1, "still one conversation: {items:?}");
    s.app.settled().await;
}

#[tokio::test]
async fn late_webhooks_of_the_old_provider_after_a_number_moved_are_not_lost() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    let (moving, staying, twilio_own) = ("15555550144", "15555550145", "15555550146");
    let customer = "15555550244";
    let telesign = FakeTelesign::start().await;
    let old = channel_on(s.api(), &telesign, &[moving, staying], &s.queue, json!({})).await;
    let twilio = FakeTwilio::start().await;
    let new = channel_on(s.api(), &twilio, &[twilio_own], &s.queue, json!({})).await;
    let (old_id, new_id) = (id_of(&old), id_of(&new));
    let old_callback = old["callback_url"].as_str().expect("callback_url").to_string();

    let now = s.app.app().clock.now();
    deliver_ok(s.api(), &telesign.inbound(&old_callback, "ts-late-1", customer, moving, "Hi", now), "text")
        .await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    // A reply out through TeleSign before the move; its delivery receipt comes after.
    let before = s.reply(&token, &conversation, "Looking into it").await;
    s.message_status(&token, &conversation, &before, "sent").await;
    let sent = wait_sends(&telesign, 1, "the reply reaches TeleSign").await;

    let numbers = |list: &[&str]| {
        let list: Vec<Value> = list
            .iter()
            .map(|n| json!({"number": n, "type": "geo", "description": "support", "queue": s.queue}))
            .collect();
        json!({ "numbers": list })
    };
    s.api()
        .ok("PUT", &format!("/v1/channels/{old_id}/numbers"), ADMIN_TOKEN, Some(numbers(&[staying])), 200)
        .await;
    let moved = s
        .api()
        .ok(
            "PUT",
            &format!("/v1/channels/{new_id}/numbers"),
            ADMIN_TOKEN,
            Some(numbers(&[twilio_own, moving])),
            200,
        )
        .await;
    assert_eq!(moved["moved_conversations"], 1, "{moved}");

    // TeleSign, late: the receipt of the reply sent before the move still applies to it...
    let now = s.app.app().clock.now();
    deliver_ok(s.api(), &telesign.delivered(&old_callback, &sent[0], now), "late receipt").await;
    s.message_status(&token, &conversation, &before, "delivered").await;
    // ...and a text that was in flight to the moved number lands in the (moved) open conversation.
    let late = telesign.inbound(&old_callback, "ts-late-2", customer, moving, "Are you there?", now);
    deliver_ok(s.api(), &late, "late text through the old provider").await;
    deliver_ok(s.api(), &late, "the late text replayed").await;
    s.message_where(&token, &conversation, "the late text joins the conversation", |m| {
        m["text"] == "Are you there?"
    })
    .await;
    let items = s.api().work_items(&token).await;
    assert_eq!(items.len(), 1, "still one conversation: {items:?}");
    let view = s.api().conversation(&token, &conversation).await;
    assert_eq!(view["channel_id"], new_id.as_str(), "{view}");
    let late_copies =
        view["messages"].as_array().into_iter().flatten().filter(|m| m["text"] == "Are you there?").count();
    assert_eq!(late_copies, 1, "the replay changed nothing: {view}");

    // A number that was never on the old channel is still refused there.
    let stranger = telesign.inbound(&old_callback, "ts-late-3", customer, twilio_own, "Hello?", now);
    let (status, body) = s.api().deliver(&stranger).await;
    assert_eq!(status, 400, "{body}");
    s.app.settled().await;
}

#[tokio::test]
async fn a_multipart_text_is_filed_whole_whatever_order_its_parts_come_in_or_as_it_is_at_its_timeout() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 3).await;
    let fake = FakeVonage::start().await;
    let (number, customer) = ("15555550161", "15555550261");
    let channel = channel_on(s.api(), &fake, &[number], &s.queue, json!({})).await;
    let callback = channel["callback_url"].as_str().expect("callback_url").to_string();
    let part_of = |id: &str, text: &str, reference: &str, n: u32, total: u32| {
        fake.inbound_part(
            &callback,
            id,
            customer,
            number,
            text,
            (reference, n, total),
            s.app.app().clock.now(),
        )
    };
    let part = |id: &str, text: &str, reference: &str, n: u32| part_of(id, text, reference, n, 3);

    // Three parts, the last first: one text, in part order, once the last missing part arrives.
    let (p3, p1, p2) =
        (part("A-3", "gamma", "A7", 3), part("A-1", "alpha ", "A7", 1), part("A-2", "beta ", "A7", 2));
    deliver_ok(s.api(), &p3, "part 3").await;
    deliver_ok(s.api(), &p1, "part 1").await;
    deliver_ok(s.api(), &p1, "part 1 replayed").await;
    deliver_ok(s.api(), &p2, "part 2").await;
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    s.message_where(&token, &conversation, "the whole text", |m| m["text"] == "alpha beta gamma").await;

    // Two parts of three, and the middle one never comes: at the timeout they are filed as they are.
    deliver_ok(s.api(), &part("B-3", "three", "B8", 3), "part 3 of B").await;
    deliver_ok(s.api(), &part("B-1", "one ", "B8", 1), "part 1 of B").await;
    s.app.settled().await;
    s.app.clock.advance(s.app.app().config.multipart_timeout + std::time::Duration::from_secs(1));
    s.message_where(&token, &conversation, "the parts filed at the timeout", |m| m["text"] == "one three")
        .await;
    // The missing part, late: filed on its own, nothing lost.
    deliver_ok(s.api(), &part("B-2", "two ", "B8", 2), "late part 2 of B").await;
    s.message_where(&token, &conversation, "the late part", |m| m["text"] == "two ").await;
    s.app.settled().await;

    // A part that comes while its group's timeout is being filed: the sweep has listed parts 1 and 3 of
    // 4, part 2 comes, then the sweep files what it listed. The text it files is "1 3"; part 2, kept in
    // the group meanwhile, is filed on its own, not taken for part of that text and lost.
    deliver_ok(s.api(), &part_of("C-3", "drei ", "C9", 3, 4), "part 3 of C").await;
    deliver_ok(s.api(), &part_of("C-1", "eins ", "C9", 1, 4), "part 1 of C").await;
    s.app.settled().await;
    let app = s.app.app();
    let cutoff = app.clock.now() + app.config.multipart_timeout + std::time::Duration::from_secs(1);
    let listed = app.store.stale_part_groups(cutoff, 100).await.expect("stale groups");
    let listed =
        listed.into_iter().find(|g| g.numbers() == [1, 3]).expect("group C listed with parts 1 and 3");
    deliver_ok(s.api(), &part_of("C-2", "zwei ", "C9", 2, 4), "part 2 of C, during the filing").await;
    s.app.settled().await;
    smsdesk_app::services::routing::file_parts(app, &listed).await.expect("filed");
    s.message_where(&token, &conversation, "the listed parts", |m| m["text"] == "eins drei ").await;
    s.message_where(&token, &conversation, "the part that came meanwhile", |m| m["text"] == "zwei ").await;
    let replay = part_of("C-2", "zwei ", "C9", 2, 4);
    deliver_ok(s.api(), &replay, "part 2 of C again").await;
    s.app.settled().await;

    let transcript = s.api().conversation(&token, &conversation).await;
    let texts: Vec<&str> = transcript["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["direction"] == "inbound")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["alpha beta gamma", "one three", "two ", "eins drei ", "zwei "], "{transcript}");
}
