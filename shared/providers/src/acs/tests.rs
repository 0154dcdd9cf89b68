use super::signing::{content_hash, hmac_b64, sign, string_to_sign};
use super::*;
use crate::fake_http as fake;
use crate::fixtures::{self, Case, Expect};
use base64::Engine as _;
use secrecy::SecretString;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::{
    AttachmentPolicy, ChannelId, ChannelNumber, MessageId, MessageStatus, NumberType, QueueId,
};
use time::macros::datetime;

// ---------------------------------------------------------------------------------------------------------
// The official vectors (providers.md 3.6: azure-sdk-for-python test_hmac.py, azure-sdk-for-js tests).
// ---------------------------------------------------------------------------------------------------------

const VECTOR_KEY: &str = "pw==";
const VECTOR_DATE: &str = "Wed, 13 Apr 2022 18:09:12 GMT";
const VECTOR_HOST: &str = "contoso.communicationservices.azure.com";

fn vector_key() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(VECTOR_KEY).unwrap()
}

#[test]
fn a1_hmac_of_banana() {
    assert_eq!(hmac_b64(&vector_key(), b"banana"), "88EC05aAS9iXnaimtNO78JLjiPtfWryQB/5QYEzEsu8=");
}

#[test]
fn a2_a3_content_hashes() {
    assert_eq!(content_hash(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_eq!(content_hash(b"banana"), "tJPUg2Sv5E0RwBZc9HCkFk0eJgmRHvmYvoaNRq3j3k4=");
}

#[test]
fn a4_a5_signed_requests() {
    assert_eq!(
        string_to_sign("GET", "/", VECTOR_DATE, VECTOR_HOST, &content_hash(b"")),
        "GET\n/\nWed, 13 Apr 2022 18:09:12 GMT;contoso.communicationservices.azure.com;47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    let a4 = sign(&vector_key(), "GET", "/", VECTOR_HOST, VECTOR_DATE, b"");
    assert_eq!(
        a4.authorization,
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=88MDmJhUR3m5QhFxb8ztShsSwlGrg7g/6XPnWf7QEO4="
    );
    let a5 = sign(&vector_key(), "GET", "/testPath", VECTOR_HOST, VECTOR_DATE, b"");
    assert!(a5.authorization.ends_with("&Signature=RoCrHjw7fb9fpHSbqvRUY2xa8RBS0YvI1cxI1x8AS38="));
    assert_eq!(a5.date, VECTOR_DATE);
}

// ---------------------------------------------------------------------------------------------------------
// Event Grid fixtures.
// ---------------------------------------------------------------------------------------------------------

const SECRET: &str = "eg-secret-0123456789abcdefghij";
const ACCESS_KEY: &str = "c2VjcmV0LWtleS1vZi10aGUtcmVzb3VyY2U=";
const OUR_NUMBER: &str = "+18005550199";
const CUSTOMER: &str = "+14255550123";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn url(secret: Option<&str>) -> String {
    match secret {
        Some(s) => format!("https://hooks.example.test/webhooks/acs/ch_acs?secret={s}"),
        None => "https://hooks.example.test/webhooks/acs/ch_acs".into(),
    }
}

fn creds() -> AcsCredentials {
    AcsCredentials::new(
        "https://contoso.communication.azure.com",
        SecretString::from(ACCESS_KEY),
        SecretString::from(SECRET),
    )
}

fn plugin() -> Acs {
    Acs::new(crate::http::client().expect("http client"))
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_acs"),
        name: "Support".into(),
        provider: ProviderKind::Acs,
        base_url: None,
        numbers: vec![ChannelNumber {
            number: phone(OUR_NUMBER),
            number_type: NumberType::TollFree,
            description: "main line".into(),
            queue: QueueId::new("q_support"),
            menu: None,
            send_rate: None,
        }],
        inactivity_secs: None,
        former_numbers: Vec::new(),
        public_url: None,
        language: None,
        attachments: AttachmentPolicy::default(),
        created_at: NOW,
        messaging: Default::default(),
    }
}

fn handshake() -> String {
    json!([{
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/xx/resourceGroups/rg/providers/Microsoft.Communication/CommunicationServices/contoso",
        "subject": "",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "validationUrl": "https://rp-eastus2.eventgrid.azure.net/validate?id=x"},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-11-23T12:00:00Z",
        "metadataVersion": "1",
        "dataVersion": "2"
    }])
    .to_string()
}

fn received(id: &str, to: &str, text: &str) -> String {
    json!([{
        "id": "e1", "topic": "/subscriptions/xx/.../contoso", "subject": "/phonenumber/15555555555",
        "eventType": "Microsoft.Communication.SMSReceived",
        "data": {"MessageId": id, "From": CUSTOMER.trim_start_matches('+'), "To": to, "Message": text,
                 "ReceivedTimestamp": "2026-11-23T11:59:58Z", "SegmentCount": 1},
        "eventTime": "2026-11-23T12:00:00Z", "dataVersion": "1.0", "metadataVersion": "1"
    }])
    .to_string()
}

/// A text as the CloudEvents 1.0 schema delivers it (one event, not an array).
fn cloud_event_received(id: &str, text: &str) -> String {
    json!({
        "id": "e3", "source": "/subscriptions/xx/.../contoso", "subject": "/phonenumber/18005550199",
        "type": "Microsoft.Communication.SMSReceived", "specversion": "1.0", "time": "2026-11-23T12:00:00Z",
        "data": {"messageId": id, "from": CUSTOMER, "to": OUR_NUMBER, "message": text,
                 "receivedTimestamp": "2026-11-23T11:59:58Z", "segmentCount": 1}
    })
    .to_string()
}

fn report(id: &str, status: &str, details: &str) -> String {
    json!([{
        "id": "e2", "topic": "/subscriptions/xx/.../contoso", "subject": "/phonenumber/18005550199",
        "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
        "data": {"messageId": id, "from": OUR_NUMBER, "to": CUSTOMER, "deliveryStatus": status,
                 "deliveryStatusDetails": details, "receivedTimestamp": "2026-11-23T12:00:00Z",
                 "deliveryAttempts": [{"timestamp": "2026-11-23T11:59:59Z", "segmentsSucceeded": 1, "segmentsFailed": 0}],
                 "tag": "msg_1"},
        "eventTime": "2026-11-23T12:00:00Z", "dataVersion": "1.0", "metadataVersion": "1"
    }])
    .to_string()
}

/// One Event Grid delivery of the events of several (each an array of one).
fn batch(deliveries: &[String]) -> String {
    let events: Vec<Value> =
        deliveries.iter().flat_map(|d| serde_json::from_str::<Vec<Value>>(d).unwrap()).collect();
    Value::Array(events).to_string()
}

fn text_event(id: &str, text: &str) -> InboundEvent {
    InboundEvent::Message(InboundMessage {
        channel_id: ChannelId::new("ch_acs"),
        provider_message_id: id.into(),
        from: phone(CUSTOMER),
        to: phone(OUR_NUMBER),
        text: text.into(),
        received_at: NOW,
        part: None,
        media: Vec::new(),
    })
}

fn receipt(id: &str, status: MessageStatus, code: &str, details: &str) -> InboundEvent {
    InboundEvent::Receipt(DeliveryReceipt {
        channel_id: ChannelId::new("ch_acs"),
        provider_message_id: id.into(),
        external_id: Some("msg_1".into()),
        status,
        provider_status_code: code.into(),
        description: Some(details.into()),
        at: NOW,
        opted_out: false,
    })
}

#[test]
fn event_grid_fixtures() {
    let table = vec![
        Case::post("handshake", url(Some(SECRET)), handshake())
            .header("aeg-event-type", "SubscriptionValidation")
            .expect(Expect::Reply(Vec::new(), validation_reply("512d38b6-c7b8-40c8-89fe-f46f9e9622b6"))),
        Case::post("handshake without the secret", url(None), handshake())
            .expect(Expect::Unauthorized("no Event Grid secret")),
        Case::post("handshake with another secret", url(Some("eg-secret-0123456789abcdefghiX")), handshake())
            .expect(Expect::Unauthorized("not the channel's")),
        Case::post("SMSReceived, PascalCase, number without +", url(Some(SECRET)), received("Incoming_1", "18005550199", "Where is my order?"))
            .header("aeg-event-type", "Notification")
            .expect(Expect::Events(vec![text_event("Incoming_1", "Where is my order?")])),
        Case::post("SMSReceived with the secret in a header", url(None), received("Incoming_2", "+18005550199", "hi"))
            .header("x-smsdesk-secret", SECRET)
            .expect(Expect::Events(vec![text_event("Incoming_2", "hi")])),
        // The subscription covers every number of the ACS resource: another channel's text is skipped,
        // and the rest of the batch filed (a 400 would lose the batch: Event Grid does not retry it).
        Case::post("SMSReceived to another number", url(Some(SECRET)), received("Incoming_3", "+18005550100", "hi"))
            .expect(Expect::Events(Vec::new())),
        Case::post("a batch with a text to another number", url(Some(SECRET)), batch(&[
                received("Incoming_4", "+18005550100", "not ours"),
                received("Incoming_5", "18005550199", "ours"),
                report("Outgoing_1", "Delivered", "No error."),
            ]))
            .expect(Expect::Events(vec![
                text_event("Incoming_5", "ours"),
                receipt("Outgoing_1", MessageStatus::Delivered, "Delivered", "No error."),
            ])),
        Case::post("delivered, camelCase", url(Some(SECRET)), report("Outgoing_1", "Delivered", "No error."))
            .expect(Expect::Events(vec![receipt("Outgoing_1", MessageStatus::Delivered, "Delivered", "No error.")])),
        Case::post("failed", url(Some(SECRET)), report("Outgoing_1", "Failed", "4010: Blocked"))
            .expect(Expect::Events(vec![receipt("Outgoing_1", MessageStatus::Failed, "Failed", "4010: Blocked")])),
        Case::post("another event type", url(Some(SECRET)), r#"[{"id":"x","eventType":"Microsoft.Communication.ChatMessageReceived","data":{}}]"#)
            .expect(Expect::Events(Vec::new())),
        Case::post("not JSON", url(Some(SECRET)), "hello").expect(Expect::Malformed("not JSON")),
        Case::post("not JSON and no secret", url(None), "hello").expect(Expect::Unauthorized("no Event Grid secret")),
        Case::post("SMSReceived without From", url(Some(SECRET)), r#"[{"eventType":"Microsoft.Communication.SMSReceived","data":{"MessageId":"m","To":"18005550199","Message":"x"}}]"#)
            .expect(Expect::Malformed("missing data.From")),
        Case::new("GET", "GET", url(Some(SECRET)), "").expect(Expect::MethodNotAllowed),
        // The CloudEvents schema: its handshake is an OPTIONS naming the origin that will deliver; its
        // events name their kind in `type`.
        Case::new("CloudEvents handshake", "OPTIONS", url(Some(SECRET)), "")
            .header("webhook-request-origin", "eventgrid.azure.net")
            .expect(Expect::Reply(Vec::new(), allowed_origin_reply("eventgrid.azure.net"))),
        Case::new("CloudEvents handshake without the secret", "OPTIONS", url(None), "")
            .header("webhook-request-origin", "eventgrid.azure.net")
            .expect(Expect::Unauthorized("no Event Grid secret")),
        Case::new("CloudEvents handshake without its origin", "OPTIONS", url(Some(SECRET)), "")
            .expect(Expect::Malformed("WebHook-Request-Origin")),
        Case::post("SMSReceived as a CloudEvent", url(Some(SECRET)), cloud_event_received("Incoming_6", "hi"))
            .header("content-type", "application/cloudevents+json; charset=utf-8")
            .expect(Expect::Events(vec![text_event("Incoming_6", "hi")])),
    ];
    fixtures::run(&plugin(), &channel(), &creds().to_stored(), NOW, &table);
}

#[test]
fn statuses_follow_the_one_order() {
    assert_eq!(delivery_status("Delivered"), MessageStatus::Delivered);
    assert_eq!(delivery_status("failed"), MessageStatus::Failed);
    assert_eq!(delivery_status("Expired"), MessageStatus::Undelivered);
    assert_eq!(delivery_status("Queued"), MessageStatus::Sent);
}

// ---------------------------------------------------------------------------------------------------------
// Credentials.
// ---------------------------------------------------------------------------------------------------------

#[test]
fn credentials_are_checked_and_redacted() {
    let ok = json!({"endpoint": "https://contoso.communication.azure.com/", "access_key": ACCESS_KEY, "event_grid_secret": SECRET});
    let stored = plugin().parse_credentials(Some(&ok)).unwrap();
    let back = AcsCredentials::from_stored(&stored).unwrap();
    assert_eq!(back.endpoint, "https://contoso.communication.azure.com");
    let shown = plugin().redact(&stored).to_string();
    assert!(!shown.contains(ACCESS_KEY) && !shown.contains(SECRET), "{shown}");
    let err = |v: Value| plugin().parse_credentials(Some(&v)).unwrap_err().to_string();
    assert!(
        err(json!({"endpoint": "http://x", "access_key": ACCESS_KEY, "event_grid_secret": SECRET}))
            .starts_with("credentials.endpoint")
    );
    assert!(
        err(json!({"endpoint": "https://x/path", "access_key": ACCESS_KEY, "event_grid_secret": SECRET}))
            .starts_with("credentials.endpoint")
    );
    assert!(
        err(json!({"endpoint": "https://x", "access_key": "not base64!", "event_grid_secret": SECRET}))
            .starts_with("credentials.access_key")
    );
    assert!(
        err(json!({"endpoint": "https://x", "access_key": ACCESS_KEY, "event_grid_secret": "short"}))
            .starts_with("credentials.event_grid_secret")
    );
    assert!(
        err(json!({"endpoint": "https://x", "access_key": ACCESS_KEY}))
            .contains("event_grid_secret: is required")
    );
}

// ---------------------------------------------------------------------------------------------------------
// The client against a fake ACS on loopback, which checks our HMAC signature.
// ---------------------------------------------------------------------------------------------------------

fn request() -> SendRequest {
    SendRequest {
        from: phone(OUR_NUMBER),
        to: phone(CUSTOMER),
        text: "It ships today".into(),
        external_id: MessageId::new("msg_1"),
        created_at: time::macros::datetime!(2026-11-23 11:59 UTC),
        status_callback: None,
        media_urls: Vec::new(),
    }
}

fn client_for(url: &str) -> AcsClient {
    AcsClient::new(crate::http::client().unwrap(), Some(url), creds(), Some(phone(OUR_NUMBER))).unwrap()
}

/// Recomputes the signature of a request the fake saw, as ACS does.
fn assert_signed(seen: &fake::Seen, host: &str, path_and_query: &str) {
    let key = base64::engine::general_purpose::STANDARD.decode(ACCESS_KEY).unwrap();
    let expected =
        sign(&key, &seen.method, path_and_query, host, seen.header("x-ms-date"), seen.body.as_bytes());
    assert_eq!(seen.header("x-ms-content-sha256"), content_hash(seen.body.as_bytes()));
    assert_eq!(seen.header("authorization"), expected.authorization);
    assert!(httpdate::parse_http_date(seen.header("x-ms-date")).is_ok());
}

const ACCEPTED: &str = r#"{"value":[{"to":"+14255550123","messageId":"Outgoing_20261123_abc","httpStatusCode":202,"repeatabilityResult":"accepted","successful":true}]}"#;

#[tokio::test]
async fn a_send_is_signed_and_its_message_id_kept() {
    let api = fake::start(vec![(202, ACCEPTED)]).await;
    let receipt = client_for(&api.url).send(&request()).await.unwrap();
    assert_eq!(receipt, SendReceipt::one("Outgoing_20261123_abc"));
    let seen = api.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/sms"));
    let host = api.url.trim_start_matches("http://").trim_end_matches('/');
    assert_signed(&seen, host, "/sms?api-version=2021-03-07");
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["from"], OUR_NUMBER);
    assert_eq!(body["smsRecipients"][0]["to"], CUSTOMER);
    assert_eq!(body["smsRecipients"][0]["repeatabilityRequestId"], repeatability_id("msg_1"));
    assert_eq!(body["smsSendOptions"], json!({"enableDeliveryReport": true, "tag": "msg_1"}));
}

/// ACS de-duplicates a retried send only when its `repeatabilityRequestId` and `repeatabilityFirstSent`
/// are both those of the first attempt: the first-sent time is the message's, not the attempt's.
#[test]
fn every_attempt_of_a_message_names_the_same_first_sent_time() {
    let created = std::time::SystemTime::from(request().created_at);
    let first = send_body(&request(), created + Duration::from_secs(2));
    let retry = send_body(&request(), created + Duration::from_secs(17));
    assert_eq!(first["smsRecipients"][0]["repeatabilityFirstSent"], "Mon, 23 Nov 2026 11:59:00 GMT");
    assert_eq!(first, retry);
    // Older than ACS's tracking window (5 minutes for its repeatable requests), the message's own time
    // would be refused (412): a first attempt that late names its own time.
    let late = send_body(&request(), created + Duration::from_secs(600));
    assert_eq!(late["smsRecipients"][0]["repeatabilityFirstSent"], "Mon, 23 Nov 2026 12:09:00 GMT");
}

#[tokio::test]
async fn send_errors_are_sorted() {
    let item = |code: u16, msg: &'static str| -> &'static str {
        Box::leak(format!(r#"{{"value":[{{"to":"+14255550123","httpStatusCode":{code},"successful":false,"errorMessage":"{msg}"}}]}}"#).into_boxed_str())
    };
    let throttled =
        fake::Reply { status: 429, body: "", delay: Duration::ZERO, headers: vec![("retry-after", "7")] };
    let api = fake::start(vec![
        fake::Reply::from((202, item(400, "Invalid To phone number format."))),
        fake::Reply::from((202, item(400, "The recipient has opted out"))),
        throttled,
        fake::Reply::from((503, "")),
        fake::Reply::from((
            401,
            r#"{"error":{"code":"Denied","message":"Denied by the resource provider."}}"#,
        )),
        fake::Reply::from((202, item(500, "internal"))),
    ])
    .await;
    let client = client_for(&api.url);
    let kinds: Vec<SendError> = futures_all(&client).await;
    assert!(
        matches!(&kinds[0], SendError::Permanent { reason } if reason.contains("Invalid To")),
        "{kinds:?}"
    );
    assert!(matches!(&kinds[1], SendError::OptedOut { .. }), "{kinds:?}");
    assert!(
        matches!(&kinds[2], SendError::Throttled { retry_after: Some(d), .. } if *d == Duration::from_secs(7)),
        "{kinds:?}"
    );
    assert!(matches!(&kinds[3], SendError::Transient { .. }), "{kinds:?}");
    assert!(
        matches!(&kinds[4], SendError::Unauthorized { reason } if reason.contains("Denied")),
        "{kinds:?}"
    );
    assert!(matches!(&kinds[5], SendError::Transient { .. }), "{kinds:?}");
}

async fn futures_all(client: &AcsClient) -> Vec<SendError> {
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(client.send(&request()).await.unwrap_err());
    }
    out
}

#[tokio::test]
async fn a_send_without_an_answer_is_unknown_and_a_closed_port_transient() {
    let api = fake::start(vec![(202, ACCEPTED, Duration::from_secs(5))]).await;
    let client = client_for(&api.url).with_timeout(Duration::from_millis(200));
    assert!(matches!(client.send(&request()).await, Err(SendError::Unknown { .. })));
    // Taken (202) with an answer that cannot be read: unknown too, neither retried nor failed.
    let unreadable = fake::start(vec![(202, "<html>accepted</html>")]).await;
    let got = client_for(&unreadable.url).send(&request()).await;
    assert!(matches!(&got, Err(SendError::Unknown { reason }) if reason.contains("no result")), "{got:?}");
    let (_socket, closed) = fake::closed_port();
    assert!(matches!(client_for(&closed).send(&request()).await, Err(SendError::Transient { .. })));
}

#[tokio::test]
async fn validation_reads_the_number_and_tells_invalid_from_unreachable() {
    let api = fake::start(vec![
        (200, r#"{"id":"18005550199","phoneNumber":"+18005550199","capabilities":{"calling":"none","sms":"inbound+outbound"}}"#),
        (200, r#"{"capabilities":{"sms":"inbound"}}"#),
        (404, r#"{"error":{"code":"NotFound","message":"not found"}}"#),
        (401, r#"{"error":{"code":"Denied","message":"Denied by the resource provider."}}"#),
        (503, ""),
    ])
    .await;
    let client = client_for(&api.url);
    assert_eq!(client.validate().await, Validation::Valid);
    assert!(
        matches!(client.validate().await, Validation::Invalid { reason } if reason.contains("cannot send"))
    );
    assert!(
        matches!(client.validate().await, Validation::Invalid { reason } if reason.contains("not a number of this ACS resource"))
    );
    assert!(matches!(client.validate().await, Validation::Invalid { reason } if reason.contains("Denied")));
    assert!(matches!(client.validate().await, Validation::Unreachable { .. }));
    let seen = api.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/phoneNumbers/%2B18005550199"));
    let host = api.url.trim_start_matches("http://").trim_end_matches('/');
    assert_signed(&seen, host, "/phoneNumbers/%2B18005550199?api-version=2022-12-01");
    let (_socket, closed) = fake::closed_port();
    assert!(matches!(client_for(&closed).validate().await, Validation::Unreachable { .. }));
}

#[test]
fn the_signature_report_compares_the_secret() {
    let headers = Vec::new();
    let body = handshake();
    let good = url(Some(SECRET));
    let check = |u: &str, secret: Option<&'static str>| {
        let request = WebhookRequest { method: "POST", url: u, headers: &headers, body: body.as_bytes() };
        plugin().explain_signature(&SignatureCheck {
            request,
            secret,
            signature_method: None,
            certificate: None,
            now: NOW,
        })
    };
    assert!(check(&good, Some(SECRET)).valid);
    assert!(!check(&good, Some("other-secret-0123456789abcdef")).valid);
    assert!(!check(&url(None), Some(SECRET)).valid);
}
