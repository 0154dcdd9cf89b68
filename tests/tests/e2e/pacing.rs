//! Send pacing per number (issue 9.10): a burst of replies from one number set to 2 messages per second
//! reaches the provider paced, across several conversations (concurrent senders share the number's
//! schedule), and none fails or goes twice.

use crate::{OUR_NUMBER, Setup};
use serde_json::json;
use smsdesk_domain::{ChannelId, ChannelNumber, Phone};
use smsdesk_ports::ChannelWrite;
use smsdesk_tests::*;
use std::time::Duration;

/// A TeleSign channel whose one number, in the setup's queue, sends `rate` messages a second; its callback
/// URL. Without automated messages: the tests count the replies' sends.
async fn paced_channel(s: &Setup, number: &str, rate: f64) -> String {
    let body = json!({
        "name": "Paced", "provider": "telesign",
        "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
        "base_url": s.fake.base_url(),
        "numbers": [{"number": number, "type": "geo", "description": "paced", "queue": s.queue, "send_rate": rate}],
        "automated_messages_enabled": false,
    });
    let channel = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
    assert_eq!(channel["numbers"][0]["send_rate"], rate, "{channel}");
    channel["callback_url"].as_str().expect("callback_url").to_string()
}

#[tokio::test]
async fn a_burst_from_a_two_per_second_number_goes_out_paced() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 5).await;
    let number = "15555550150";
    let callback = paced_channel(&s, number, 2.0).await;

    let customers = ["15555550251", "15555550252", "15555550253"];
    let mut conversations = Vec::new();
    for (i, customer) in customers.iter().enumerate() {
        let now = s.app.app().clock.now();
        let text =
            FakeProvider::inbound(&s.fake, &callback, &format!("pace-{i}"), customer, number, "Hi", now);
        let (status, answer) = s.api().deliver(&text).await;
        assert_eq!(status, 200, "{answer}");
        conversations.push(s.work_item_for(&token, &format!("+{customer}")).await);
    }
    let before = FakeProvider::sends(&s.fake).len();
    // No send slot of the number is before this: the channel is new and says nothing on its own.
    let start = std::time::Instant::now();
    let mut replies = Vec::new();
    for round in 0..2 {
        for c in &conversations {
            replies.push((c.clone(), s.reply(&token, c, &format!("Update {round}")).await));
        }
    }
    for (c, id) in &replies {
        s.message_status(&token, c, id, "sent").await;
    }
    s.app.settled().await;

    let sends: Vec<Sent> = FakeProvider::sends(&s.fake).into_iter().skip(before).collect();
    assert_eq!(sends.len(), replies.len(), "each reply reached the provider once: {sends:?}");
    assert!(sends.iter().all(|x| x.auth_ok && x.from == number), "{sends:?}");
    let mut ours: Vec<String> = sends.iter().filter_map(|x| x.external_id.clone()).collect();
    ours.sort();
    ours.dedup();
    assert_eq!(ours.len(), replies.len(), "no reply went twice");
    // Six slots at 2/s, the first not before `start`: the last send cannot reach the provider sooner than
    // 2.5 s after it, however late any send is (unpaced they take milliseconds). Measured from the first
    // send's arrival instead, a first send slowed by a loaded machine shortened the span.
    let span = sends.last().expect("sends").at.duration_since(start);
    assert!(
        span >= Duration::from_millis(2450),
        "6 sends at 2/s went out within {span:?} of the first reply"
    );
    // And never three within one interval.
    for w in sends.windows(3) {
        let gap = w[2].at.duration_since(w[0].at);
        assert!(gap >= Duration::from_millis(500), "three sends within {gap:?}");
    }
}

/// A STOP that arrives while replies wait for their number's pace stops them: consent is checked after the
/// wait, right before the provider, so no reply reaches the customer once their opt-out is recorded.
#[tokio::test]
async fn replies_waiting_for_their_pace_are_not_sent_after_a_stop() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 5).await;
    let number = "15555550160";
    let callback = paced_channel(&s, number, 0.5).await;
    let customer = "15555550261";
    let inbound = |reference: &str, text: &str| {
        FakeProvider::inbound(&s.fake, &callback, reference, customer, number, text, s.app.app().clock.now())
    };
    let (status, answer) = s.api().deliver(&inbound("stop-pace-1", "Hi")).await;
    assert_eq!(status, 200, "{answer}");
    let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
    let before = FakeProvider::sends(&s.fake).len();
    // The first reply takes the number's slot; the next ones wait for theirs, two seconds apart.
    let first = s.reply(&token, &conversation, "Update 0").await;
    s.message_status(&token, &conversation, &first, "sent").await;
    let mut replies = vec![first];
    for i in 1..4 {
        replies.push(s.reply(&token, &conversation, &format!("Update {i}")).await);
    }
    // Long enough for the sender to have taken the second reply and be waiting for its slot.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, answer) = s.api().deliver(&inbound("stop-pace-2", "STOP")).await;
    assert_eq!(status, 200, "{answer}");
    // The opt-out is recorded (the STOP is filed after it); from this instant on, nothing may go out.
    s.message_where(&token, &conversation, "the STOP filed", |m| m["text"] == "STOP").await;
    let opted_out = std::time::Instant::now();
    // Each reply ends sent (before the STOP) or failed for the opt-out.
    let mut refused = 0;
    for id in &replies {
        let m = s
            .message_where(&token, &conversation, "the reply settled", |m| {
                m["id"] == id.as_str() && (m["status"] == "sent" || m["status"] == "failed")
            })
            .await;
        if m["status"] == "failed" {
            assert!(m["error"].as_str().is_some_and(|e| e.contains("opted out")), "{m}");
            refused += 1;
        }
    }
    s.app.settled().await;
    let sends: Vec<Sent> = FakeProvider::sends(&s.fake).into_iter().skip(before).collect();
    let late: Vec<&Sent> = sends.iter().filter(|x| x.at > opted_out).collect();
    assert!(late.is_empty(), "sent after the customer's STOP was recorded: {late:?}");
    // How many the STOP overtakes depends on how fast the shape records it (on the embedded shape every
    // reply after the first: the second was waiting for its slot in the sender); what every shape must
    // keep is above, and that each reply went out once or was refused.
    assert_eq!(sends.len() + refused, replies.len(), "{sends:?}");
}

/// A send rate outside 0.01 to 1000 messages a second (one whose interval no schedule can hold, or no carrier
/// grants) is a 400 naming the number's field, at creation and when the numbers are set; nothing is stored.
#[tokio::test]
async fn send_rates_outside_a_hundredth_to_a_thousand_a_second_are_refused_naming_the_field() {
    let Some(s) = Setup::new().await else { return };
    let number = |n: &str, rate: serde_json::Value| json!({"number": n, "type": "geo", "description": "", "queue": s.queue, "send_rate": rate});
    let before = s.api().ok("GET", "/v1/channels", ADMIN_TOKEN, None, 200).await;
    for rate in [
        json!(1e-300),
        json!(1e-12),
        json!(0.001),
        json!(0),
        json!(-1),
        json!(1000.5),
        json!(1e300),
        json!("fast"),
    ] {
        let body = json!({
            "name": "Paced", "provider": "telesign",
            "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
            "base_url": s.fake.base_url(),
            "numbers": [number("15555550170", rate.clone())],
        });
        let (status, answer) = s.api().admin("POST", "/v1/channels", Some(body)).await;
        assert_eq!(status, 400, "{rate}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("numbers[0].send_rate: ") && message.contains("0.01"),
            "{rate}: {message}"
        );
        let path = format!("/v1/channels/{}/numbers", s.channel);
        let numbers = json!({"numbers": [number(OUR_NUMBER, json!(1)), number("15555550171", rate.clone())]});
        let (status, answer) = s.api().admin("PUT", &path, Some(numbers)).await;
        assert_eq!(status, 400, "{rate}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("numbers[1].send_rate: ") && message.contains("1000"),
            "{rate}: {message}"
        );
    }
    assert_eq!(s.api().ok("GET", "/v1/channels", ADMIN_TOKEN, None, 200).await, before, "nothing stored");
    // The bounds themselves are rates.
    for (n, rate) in [("15555550172", 0.01), ("15555550173", 1000.0)] {
        let body = json!({
            "name": "Paced", "provider": "telesign",
            "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
            "base_url": s.fake.base_url(),
            "numbers": [number(n, json!(rate))],
        });
        let channel = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
        assert_eq!(channel["numbers"][0]["send_rate"], rate, "{channel}");
    }
}

/// A number whose stored rate is below any an admin may set now (an earlier version accepted any rate above
/// 0) still sends, paced at the slowest rate: no arithmetic on it overflows or panics.
#[tokio::test]
async fn a_number_with_a_tiny_stored_rate_still_sends() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 5).await;
    let store = s.app.app().store.clone();
    let mut channel =
        store.get_channel(&ChannelId::new(&s.channel)).await.expect("read").expect("the channel");
    let extra = ["15555550174", "15555550175"].map(|n| ChannelNumber {
        number: Phone::parse_digits(n).expect("number"),
        ..channel.numbers[0].clone()
    });
    channel.numbers.extend(extra);
    // 1/rate seconds: more than a Duration holds (DynamoDB stores numbers down to 1e-130).
    channel.numbers[1].send_rate = Some(1e-100);
    // 1/rate seconds: a Duration, but past any date.
    channel.numbers[2].send_rate = Some(1e-12);
    assert_eq!(store.put_channel(&channel).await.expect("stored"), ChannelWrite::Stored);
    for (i, (ours, customer)) in
        [("15555550174", "15555550274"), ("15555550175", "15555550275")].into_iter().enumerate()
    {
        let raw = telesign_mo(&format!("H600000000000000000000000000000{i}"), customer, ours, "Hi");
        let path = format!("/webhooks/telesign/{}", s.channel);
        let (status, answer) = s.api().webhook(&path, &raw, Some(&s.fake.sign_callback(&raw))).await;
        assert_eq!(status, 200, "{answer}");
        let conversation = s.work_item_for(&token, &format!("+{customer}")).await;
        let reply = s.reply(&token, &conversation, "Hello!").await;
        s.message_status(&token, &conversation, &reply, "sent").await;
    }
    s.app.assert_no_dead_letters().await;
}
