//! An Azure Communication Services channel end to end: Event Grid's validation handshake answered, a
//! customer's text in through Event Grid, the agent's reply out through a fake ACS on loopback that checks
//! our HMAC-SHA256 signature, and ACS's delivery report moving the reply to delivered.

use crate::*;
use serde_json::{Value, json};
use smsdesk_tests::fake_providers::FakeAcs;

const ACS_NUMBER: &str = "18005550142";
const CUSTOMER: &str = "+14255550123";
const SECRET: &str = "eg-secret-for-the-e2e-0123456789";

async fn event_grid(api: &Api, path: &str, body: Value, kind: &str) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}{path}", api.base))
        .header("content-type", "application/json")
        .header("aeg-event-type", kind)
        .body(body.to_string())
        .send()
        .await
        .expect("webhook reaches the app");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An ACS channel on the fake, its number in `queue`. Without automated messages: the tests count what
/// reaches the provider for the agent's reply.
async fn acs_channel(api: &Api, fake: &FakeAcs, queue: &str) -> Value {
    let body = json!({
        "name": "ACS", "provider": "acs",
        "credentials": {"endpoint": "https://contoso.communication.azure.com", "access_key": fake.access_key, "event_grid_secret": SECRET},
        "base_url": fake.url,
        "numbers": [{"number": ACS_NUMBER, "type": "toll_free", "description": "support", "queue": queue}],
        "automated_messages_enabled": false,
    });
    api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await
}

fn event(kind: &str, data: Value) -> Value {
    json!([{"id": uuid::Uuid::new_v4().to_string(), "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Communication/CommunicationServices/contoso",
            "subject": "/phonenumber/18005550142", "eventType": kind, "data": data,
            "eventTime": "2026-11-23T12:00:00Z", "dataVersion": "1.0", "metadataVersion": "1"}])
}

#[tokio::test]
async fn acs_text_in_reply_out_signed_and_delivery_report() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeAcs::start().await;
    let api = &app.api;
    let queue = api.create_queue("ACS-support").await;
    let channel = acs_channel(api, &fake, &queue).await;
    let id = channel["id"].as_str().expect("channel id").to_string();
    assert!(
        channel["callback_url"].as_str().is_some_and(|u| u.ends_with(&format!("/webhooks/acs/{id}"))),
        "{channel}"
    );
    assert_eq!(channel["credentials"]["access_key"], "********", "{channel}");
    let path = format!("/webhooks/acs/{id}?secret={SECRET}");

    // Event Grid's handshake is answered only with the channel's secret.
    let handshake = event(
        "Microsoft.EventGrid.SubscriptionValidationEvent",
        json!({"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "validationUrl": "https://eventgrid.test/validate"}),
    );
    let (status, answer) = event_grid(api, &path, handshake.clone(), "SubscriptionValidation").await;
    assert_eq!(
        (status, answer),
        (200, json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}))
    );
    let (status, _) = event_grid(
        api,
        &format!("/webhooks/acs/{id}?secret=eg-secret-for-the-e2e-0123456780"),
        handshake,
        "SubscriptionValidation",
    )
    .await;
    assert_eq!(status, 401);
    // The CloudEvents schema's handshake: an OPTIONS naming the origin that will deliver, allowed in the
    // answer's headers; refused without the secret.
    for (path, expected) in [(path.clone(), 200), (format!("/webhooks/acs/{id}"), 401)] {
        let resp = api
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", api.base))
            .header("webhook-request-origin", "eventgrid.azure.net")
            .send()
            .await
            .expect("the handshake reaches the app");
        assert_eq!(resp.status().as_u16(), expected, "OPTIONS {path}");
        let allowed = resp.headers().get("webhook-allowed-origin").and_then(|v| v.to_str().ok());
        assert_eq!(allowed, (expected == 200).then_some("eventgrid.azure.net"), "OPTIONS {path}");
    }

    let (agent, token) = api.create_agent("Ada", &[&queue], 2).await;
    api.presence(&agent, &token, "available").await;

    // The customer texts; the conversation reaches Ada.
    let text = event(
        "Microsoft.Communication.SMSReceived",
        json!({"MessageId": "Incoming_20261123_1", "From": CUSTOMER.trim_start_matches('+'), "To": ACS_NUMBER, "Message": "Where is my order?", "ReceivedTimestamp": "2026-11-23T11:59:58Z", "SegmentCount": 1}),
    );
    let (status, answer) = event_grid(api, &path, text, "Notification").await;
    assert_eq!(status, 200, "{answer}");
    let conversation = api.first_conversation(&token, "the text reaches Ada").await;
    let c = api.conversation(&token, &conversation).await;
    assert_eq!(
        (c["customer"].as_str(), c["messages"][0]["text"].as_str()),
        (Some(CUSTOMER), Some("Where is my order?"))
    );

    // Ada answers: ACS receives one signed send from our number, tagged with our message id.
    let reply = api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "It ships today!"})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("reply id").to_string();
    let message = |status: &'static str| {
        let (api, token, conversation, reply_id) =
            (api.clone(), token.clone(), conversation.clone(), reply_id.clone());
        async move {
            let c = api.conversation(&token, &conversation).await;
            c["messages"]
                .as_array()?
                .iter()
                .find(|m| m["id"] == reply_id.as_str() && m["status"] == status)
                .cloned()
        }
    };
    let sent = eventually(30, "the reply is sent", || message("sent")).await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(sends[0].auth_ok, "the HMAC signature verifies: {:?}", sends[0].auth_problem);
    assert_eq!(sends[0].body["from"], format!("+{ACS_NUMBER}"));
    assert_eq!(sends[0].body["smsRecipients"][0]["to"], CUSTOMER);
    assert_eq!(sends[0].body["message"], "It ships today!");
    assert_eq!(sends[0].body["smsSendOptions"]["tag"], reply_id.as_str());
    assert_eq!(sent["provider_message_id"], sends[0].provider_id.as_str());
    // The first-sent time is the message's own (the same on any retry), in RFC 1123 GMT.
    let created = time::OffsetDateTime::parse(
        sent["created_at"].as_str().expect("created_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("created_at is RFC 3339");
    let first_sent =
        sends[0].body["smsRecipients"][0]["repeatabilityFirstSent"].as_str().expect("first sent");
    assert_eq!(
        httpdate::parse_http_date(first_sent).expect("RFC 1123"),
        std::time::SystemTime::from(created.replace_nanosecond(0).expect("whole second")),
        "{first_sent} is the reply's creation time {created}"
    );

    // ACS reports the delivery: the reply moves to delivered.
    let report = event(
        "Microsoft.Communication.SMSDeliveryReportReceived",
        json!({"MessageId": sends[0].provider_id, "From": ACS_NUMBER, "To": CUSTOMER.trim_start_matches('+'), "DeliveryStatus": "Delivered",
               "DeliveryStatusDetails": "No error.", "ReceivedTimestamp": "2026-11-23T12:00:05Z", "Tag": reply_id}),
    );
    let (status, answer) = event_grid(api, &path, report, "Notification").await;
    assert_eq!(status, 200, "{answer}");
    eventually(30, "the reply is delivered", || message("delivered")).await;
}

/// The Event Grid subscription covers every number of the ACS resource: a batch holding a text to a
/// number of no channel of ours is acknowledged, and its other events are filed (a 400 would lose the
/// batch: Event Grid does not retry it).
#[tokio::test]
async fn a_batch_with_a_text_to_another_number_files_the_rest() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeAcs::start().await;
    let api = &app.api;
    let queue = api.create_queue("ACS-batch").await;
    let channel = acs_channel(api, &fake, &queue).await;
    let id = channel["id"].as_str().expect("channel id").to_string();
    let path = format!("/webhooks/acs/{id}?secret={SECRET}");
    let (agent, token) = api.create_agent("Ada", &[&queue], 2).await;
    api.presence(&agent, &token, "available").await;

    let text = |message_id: &str, to: &str, body: &str| {
        event(
            "Microsoft.Communication.SMSReceived",
            json!({"MessageId": message_id, "From": CUSTOMER.trim_start_matches('+'), "To": to, "Message": body,
                   "ReceivedTimestamp": "2026-11-23T11:59:58Z", "SegmentCount": 1}),
        )[0]
        .clone()
    };
    // Only another number's text: acknowledged, nothing filed.
    let (status, answer) =
        event_grid(api, &path, json!([text("Incoming_other_1", "18005550199", "not ours")]), "Notification")
            .await;
    assert_eq!(status, 200, "{answer}");
    // Another number's text first, ours after it: ours reaches Ada.
    let batch = json!([
        text("Incoming_other_2", "18005550199", "not ours either"),
        text("Incoming_ours_1", ACS_NUMBER, "Where is my order?"),
    ]);
    let (status, answer) = event_grid(api, &path, batch, "Notification").await;
    assert_eq!(status, 200, "{answer}");
    let conversation = api.first_conversation(&token, "our text reaches Ada").await;
    let c = api.conversation(&token, &conversation).await;
    let texts: Vec<&str> =
        c["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["Where is my order?"], "{c}");
}
