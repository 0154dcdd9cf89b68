//! What a whole conversation logs: no customer's number whole (numbers are masked to their last four
//! digits, FIFO group ids hashed), no secret, and every line one JSON object with no key twice.

use crate::*;
use serde_json::json;
use smsdesk_tests::logs;

const CUSTOMER: &str = "15555550517";

#[tokio::test]
async fn the_logs_of_a_whole_conversation_hold_no_customer_number_and_no_secret() {
    let (buffer, _capture) = logs::capture();
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 2).await;

    // Inbound, assignment and the CRM link.
    s.text("LG000000000000000000000000000001", CUSTOMER, "Hi, it's about my order").await;
    let conversation = s.work_item_for(&token, "+15555550517").await;
    eventually(30, "the contact is linked", || async {
        let c = s.api().conversation(&token, &conversation).await;
        (c["contact_state"] == "linked").then_some(())
    })
    .await;
    s.api().ok("GET", "/v1/contacts?phone=%2B15555550517", &token, None, 200).await;

    // A reply that fails once (throttled), then goes out, and its delivery report.
    s.fake.script(vec![Scripted::Error {
        http: 429,
        code: 10019,
        description: format!("Rate limit exceeded for {CUSTOMER}"),
    }]);
    let reply = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "It ships today."})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("id").to_string();
    s.message_where(&token, &conversation, "the reply is sent", |m| m["status"] == "sent").await;
    let reference = s.fake.accepted()[0].clone();
    s.receipt(&reference, &reply_id, 200, "Delivered to handset").await;
    s.message_where(&token, &conversation, "delivered", |m| m["status"] == "delivered").await;

    // A proactive text to another customer, refused webhooks, and the close (a CRM timeline event).
    s.api()
        .ok(
            "POST",
            "/v1/messages",
            &token,
            Some(json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550518", "text": "Hello"})),
            202,
        )
        .await;
    let raw = telesign_mo("LG000000000000000000000000000002", CUSTOMER, OUR_NUMBER, "forged");
    assert_eq!(s.api().webhook(&s.webhook_path(), &raw, None).await.0, 401);
    let bad = telesign_mo("LG000000000000000000000000000003", "+1555055051x", OUR_NUMBER, "bad number");
    assert_eq!(s.api().webhook(&s.webhook_path(), &bad, Some(&s.fake.sign_callback(&bad))).await.0, 400);
    s.api().ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    let contact = s.api().conversation(&token, &conversation).await["contact_id"].clone();
    let contact = contact.as_str().expect("contact id").to_string();
    eventually(30, "the close reaches the contact's timeline", || async {
        let c = s.api().ok("GET", &format!("/v1/contacts/{contact}"), &token, None, 200).await;
        c["timeline"].as_array().and_then(|t| t.iter().find(|e| e["kind"] == "conversation_closed").cloned())
    })
    .await;
    let secrets = [s.fake.api_key.clone(), ADMIN_TOKEN.to_string(), token.clone()];
    drop(s);

    let text = buffer.text();
    for expected in ["conversation opened", "conversation assigned", "sent", "conversation closed"] {
        assert!(text.contains(expected), "the capture works: no '{expected}' in\n{text}");
    }
    for line in text.lines() {
        // The national significant number too: masked means no more than the last four digits.
        for number in ["5555550517", "5555550518", "555055051"] {
            assert!(!line.contains(number), "a customer's number in a log line: {line}");
        }
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a secret in a log line: {line}");
        }
        if let Err(problem) = logs::check_line(line) {
            panic!("{problem}: {line}");
        }
    }
}
