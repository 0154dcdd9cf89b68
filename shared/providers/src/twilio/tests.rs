use super::signature::{body_sha256, signature, string_to_sign, url_variants};
use super::*;
use crate::fake_http as fake;
use crate::fixtures::{self, Case, Expect};
use secrecy::SecretString;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::{
    AttachmentPolicy, ChannelId, ChannelNumber, MessageId, MessageStatus, NumberType, Phone, QueueId,
};
use time::macros::datetime;

// ---------------------------------------------------------------------------------------------------------
// The official vectors (providers.md 2.6: twilio-python and twilio-ruby request validator tests).
// ---------------------------------------------------------------------------------------------------------

const VECTOR_TOKEN: &str = "12345";
const VECTOR_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const VECTOR_BODY: &str =
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
const VECTOR_JSON: &str = r#"{"property": "value", "boolean": true}"#;
const W5: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

fn token(t: &str) -> SecretString {
    SecretString::from(t.to_string())
}

fn form(body: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(body).unwrap()
}

#[test]
fn w1_string_to_sign_and_signature() {
    assert_eq!(
        string_to_sign(VECTOR_URL, &form(VECTOR_BODY)),
        "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234\
         From+14158675309To+18005551212"
    );
    assert_eq!(
        signature(&token(VECTOR_TOKEN), VECTOR_URL, &form(VECTOR_BODY)),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
}

#[test]
fn w2_repeated_params_are_deduplicated_and_sorted() {
    let params = form("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234");
    assert_eq!(signature(&token(VECTOR_TOKEN), VECTOR_URL, &params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
}

#[test]
fn w3_w4_default_ports() {
    let params = form(VECTOR_BODY);
    assert_eq!(
        signature(&token(VECTOR_TOKEN), "https://mycompany.com:443/myapp.php?foo=1&bar=2", &params),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
    assert_eq!(
        signature(&token(VECTOR_TOKEN), "http://mycompany.com:80/myapp.php?foo=1&bar=2", &params),
        "0ZXoZLH/DfblKGATFgpif+LLRf4="
    );
}

#[test]
fn w5_w6_json_body() {
    assert_eq!(body_sha256(VECTOR_JSON.as_bytes()), W5);
    let url = format!("{VECTOR_URL}&bodySHA256={W5}");
    assert_eq!(signature(&token(VECTOR_TOKEN), &url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
}

#[test]
fn url_variants_add_or_drop_the_port() {
    assert_eq!(
        url_variants("https://mycompany.com/myapp.php?foo=1"),
        vec!["https://mycompany.com/myapp.php?foo=1", "https://mycompany.com:443/myapp.php?foo=1"]
    );
    assert_eq!(url_variants("http://h.test:80"), vec!["http://h.test:80", "http://h.test"]);
    assert_eq!(url_variants("http://h.test:9000/x"), vec!["http://h.test:9000/x", "http://h.test/x"]);
    assert_eq!(
        url_variants("https://u:p@h.test/x"),
        vec!["https://u:p@h.test/x", "https://u:p@h.test:443/x"]
    );
    assert_eq!(url_variants("http://[::1]:8080/x"), vec!["http://[::1]:8080/x", "http://[::1]/x"]);
    assert_eq!(url_variants("http://[::1]/x"), vec!["http://[::1]/x", "http://[::1]:80/x"]);
    assert_eq!(url_variants("not a url"), vec!["not a url"]);
}

fn signed(url: &str, body: &str, tok: &str) -> String {
    signature(&token(tok), url, &form(body))
}

/// The official vectors as raw requests: each one's signature verifies (so the outcome is about the
/// content: none of them is a message or a status callback), and each tampered one is refused.
#[test]
fn official_vectors_fixtures() {
    let no_event = Expect::Malformed("neither Body");
    let table = vec![
        Case::post("W1", VECTOR_URL, VECTOR_BODY)
            .header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            .expect(no_event.clone()),
        Case::post("W2", VECTOR_URL, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234")
            .header("X-Twilio-Signature", "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
            .expect(no_event.clone()),
        Case::post("W3: signed with :443, received without", VECTOR_URL, VECTOR_BODY)
            .header("X-Twilio-Signature", "kvajT1Ptam85bY51eRf/AJRuM3w=")
            .expect(no_event.clone()),
        Case::post(
            "W4: signed with :80, received without",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            VECTOR_BODY,
        )
        .header("X-Twilio-Signature", "0ZXoZLH/DfblKGATFgpif+LLRf4=")
        .expect(no_event.clone()),
        Case::post("W1 received with :443", "https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_BODY)
            .header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            .expect(no_event.clone()),
        Case::post("W6: JSON body", format!("{VECTOR_URL}&bodySHA256={W5}"), VECTOR_JSON)
            .header("content-type", "application/json")
            .header("X-Twilio-Signature", "a9nBmqA0ju/hNViExpshrM61xv4=")
            .expect(no_event),
        Case::post(
            "W6 with the body changed",
            format!("{VECTOR_URL}&bodySHA256={W5}"),
            r#"{"property": "value"}"#,
        )
        .header("X-Twilio-Signature", "a9nBmqA0ju/hNViExpshrM61xv4=")
        .expect(Expect::Unauthorized("bodySHA256")),
        Case::post("W1 with a param changed", VECTOR_URL, VECTOR_BODY.replace("Digits=1234", "Digits=1235"))
            .header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            .expect(Expect::Unauthorized("does not match")),
        Case::post("W1 on another path", "https://mycompany.com/other.php?foo=1&bar=2", VECTOR_BODY)
            .header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            .expect(Expect::Unauthorized("does not match")),
    ];
    let creds = TwilioCredentials::new(ACCOUNT, token(VECTOR_TOKEN)).to_stored();
    fixtures::run(&plugin(), &channel(), &creds, NOW, &table);
}

// ---------------------------------------------------------------------------------------------------------
// Webhook fixtures: real-shaped inbound texts and status callbacks to a channel.
// ---------------------------------------------------------------------------------------------------------

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
const OUR_NUMBER: &str = "+15555550199";
const CUSTOMER: &str = "+15555550100";
const URL: &str = "https://hooks.example.test/webhooks/twilio/ch_tw";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn plugin() -> Twilio {
    Twilio::new(crate::http::client().expect("http client"))
}

fn creds() -> TwilioCredentials {
    TwilioCredentials::new(ACCOUNT, token(TOKEN))
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_tw"),
        name: "Support".into(),
        provider: ProviderKind::Twilio,
        base_url: None,
        public_url: None,
        numbers: vec![ChannelNumber {
            number: phone(OUR_NUMBER),
            number_type: NumberType::Geo,
            description: "main line".into(),
            queue: QueueId::new("q_support"),
            menu: None,
            send_rate: None,
        }],
        language: None,
        attachments: AttachmentPolicy::default(),
        created_at: NOW,
        messaging: Default::default(),
        inactivity_secs: None,
        former_numbers: Vec::new(),
    }
}

fn inbound_body(sid: &str, to: &str, text: &str) -> String {
    serde_urlencoded::to_string([
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", text),
        ("To", to),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", CUSTOMER),
        ("ApiVersion", "2010-04-01"),
    ])
    .unwrap()
}

fn status_body(sid: &str, status: &str, extra: &[(&str, &str)]) -> String {
    let mut fields = vec![
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", CUSTOMER),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT),
        ("From", OUR_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ];
    fields.extend_from_slice(extra);
    serde_urlencoded::to_string(fields).unwrap()
}

/// A POST as Twilio makes it: signed with the channel's token over `signed_url`, received at `url`.
fn twilio_post(name: &str, url: &str, signed_url: &str, body: &str) -> Case {
    Case::post(name, url, body)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signed(signed_url, body, TOKEN))
}

fn message(sid: &str, text: &str) -> InboundEvent {
    InboundEvent::Message(InboundMessage {
        channel_id: ChannelId::new("ch_tw"),
        provider_message_id: sid.into(),
        from: phone(CUSTOMER),
        to: phone(OUR_NUMBER),
        text: text.into(),
        received_at: NOW,
        part: None,
        media: Vec::new(),
    })
}

fn media_of(event: InboundEvent, media: &[(&str, Option<&str>)]) -> InboundEvent {
    match event {
        InboundEvent::Message(mut m) => {
            m.media = media
                .iter()
                .map(|(url, t)| smsdesk_domain::media::MediaRef {
                    url: url.to_string(),
                    content_type: t.map(str::to_string),
                })
                .collect();
            InboundEvent::Message(m)
        }
        other => other,
    }
}

fn receipt(
    sid: &str,
    external: Option<&str>,
    status: MessageStatus,
    code: &str,
    desc: Option<&str>,
) -> InboundEvent {
    InboundEvent::Receipt(DeliveryReceipt {
        channel_id: ChannelId::new("ch_tw"),
        provider_message_id: sid.into(),
        external_id: external.map(str::to_string),
        status,
        provider_status_code: code.into(),
        description: desc.map(str::to_string),
        at: NOW,
        opted_out: false,
    })
}

fn opted_out(event: InboundEvent) -> InboundEvent {
    match event {
        InboundEvent::Receipt(r) => InboundEvent::Receipt(DeliveryReceipt { opted_out: true, ..r }),
        other => other,
    }
}

#[test]
fn webhook_fixtures() {
    let sid = "SM0123456789abcdef0123456789abcdef";
    let mo = inbound_body(sid, OUR_NUMBER, "Hi, where is my order?");
    let twiml = |events: Vec<InboundEvent>| Expect::Reply(events, twiml_reply());
    let mms = serde_urlencoded::to_string([
        ("MessageSid", "MM0123456789abcdef0123456789abcdef"),
        ("AccountSid", ACCOUNT),
        ("From", CUSTOMER),
        ("To", OUR_NUMBER),
        ("Body", ""),
        ("NumMedia", "1"),
        ("MediaContentType0", "image/jpeg"),
        ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0"),
        ("SmsStatus", "received"),
    ])
    .unwrap();
    let with_media = mo.replace("NumMedia=0", "NumMedia=1") + "&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm";
    let get_url = format!("{URL}?{mo}");
    let callback_url = format!("{URL}?{MESSAGE_ID_PARAM}=msg_out_1");
    let delivered = status_body("SMd1", "delivered", &[]);
    let undelivered = status_body("SMu1", "undelivered", &[("ErrorCode", "30003")]);
    let stop = status_body(
        "SMs1",
        "failed",
        &[("ErrorCode", "21610"), ("ErrorMessage", "Attempt to send to unsubscribed recipient")],
    );
    let sent = status_body("SMq1", "sent", &[]);
    let other_account = mo.replace(ACCOUNT, "ACffffffffffffffffffffffffffffffff");
    let elsewhere = inbound_body("SMx", "+15555550142", "hi");
    let no_from =
        serde_urlencoded::to_string([("MessageSid", "SMnf"), ("To", OUR_NUMBER), ("Body", "hi")]).unwrap();
    let json_body =
        r#"{"MessageSid":"SMj1","From":"+15555550100","To":"+15555550199","Body":"json hi","NumSegments":1}"#;
    let json_url = format!("{URL}?bodySHA256={}", body_sha256(json_body.as_bytes()));

    let table = vec![
        twilio_post("inbound text", URL, URL, &mo)
            .expect(twiml(vec![message(sid, "Hi, where is my order?")])),
        twilio_post(
            "inbound text signed with :443",
            URL,
            "https://hooks.example.test:443/webhooks/twilio/ch_tw",
            &mo,
        )
        .expect(twiml(vec![message(sid, "Hi, where is my order?")])),
        Case::new("inbound text by GET", "GET", &get_url, "")
            .header("X-Twilio-Signature", signed(&get_url, "", TOKEN))
            .expect(twiml(vec![message(sid, "Hi, where is my order?")])),
        twilio_post("text with media: the text and the media's URL", URL, URL, &with_media).expect(twiml(
            vec![media_of(message(sid, "Hi, where is my order?"), &[("https://api.twilio.com/m", None)])],
        )),
        twilio_post("MMS without text: the media, with its claimed type", URL, URL, &mms).expect(twiml(
            vec![media_of(
                message("MM0123456789abcdef0123456789abcdef", ""),
                &[(
                    "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0",
                    Some("image/jpeg"),
                )],
            )],
        )),
        twilio_post(
            "NumMedia without its MediaUrl is malformed",
            URL,
            URL,
            &mms.replace("NumMedia=1", "NumMedia=2"),
        )
        .expect(Expect::Malformed("MediaUrl1 is missing")),
        Case::post("inbound JSON with bodySHA256", &json_url, json_body)
            .header("content-type", "application/json")
            .header("X-Twilio-Signature", signature(&token(TOKEN), &json_url, &[]))
            .expect(twiml(vec![message("SMj1", "json hi")])),
        twilio_post("status: delivered", URL, URL, &delivered).expect(twiml(vec![receipt(
            "SMd1",
            None,
            MessageStatus::Delivered,
            "delivered",
            None,
        )])),
        twilio_post("status: sent, our message id in the callback URL", &callback_url, &callback_url, &sent)
            .expect(twiml(vec![receipt("SMq1", Some("msg_out_1"), MessageStatus::Sent, "sent", None)])),
        twilio_post("status: undelivered, the code's meaning kept", URL, URL, &undelivered).expect(twiml(
            vec![receipt(
                "SMu1",
                None,
                MessageStatus::Undelivered,
                "undelivered/30003",
                Some("unreachable destination handset"),
            )],
        )),
        twilio_post("status: failed, unsubscribed (21610), Twilio's words kept, an opt-out", URL, URL, &stop)
            .expect(twiml(vec![opted_out(receipt(
                "SMs1",
                None,
                MessageStatus::Failed,
                "failed/21610",
                Some("Attempt to send to unsubscribed recipient"),
            ))])),
        Case::post("missing signature", URL, mo.as_str())
            .expect(Expect::Unauthorized("missing X-Twilio-Signature")),
        Case::post("signature by another token", URL, mo.as_str())
            .header("X-Twilio-Signature", signed(URL, &mo, "0000"))
            .expect(Expect::Unauthorized("does not match")),
        Case::post("body changed after signing", URL, mo.replace("order", "parcel"))
            .header("X-Twilio-Signature", signed(URL, &mo, TOKEN))
            .expect(Expect::Unauthorized("does not match")),
        Case::post("garbage body, bad signature", URL, &b"\xff\xfe not a form"[..])
            .header("X-Twilio-Signature", "AAAA")
            .expect(Expect::Unauthorized("")),
        twilio_post("another account's text", URL, URL, &other_account)
            .expect(Expect::Unauthorized("AccountSid")),
        twilio_post("number not on the channel", URL, URL, &elsewhere)
            .expect(Expect::Malformed("number 15555550142 is not on this channel")),
        twilio_post("no From", URL, URL, &no_from).expect(Expect::Malformed("missing From")),
        twilio_post("neither text nor status", URL, URL, "MessageSid=SM1")
            .expect(Expect::Malformed("neither Body")),
        Case::new("PUT is not Twilio", "PUT", URL, mo.as_str()).expect(Expect::MethodNotAllowed),
    ];
    fixtures::run(&plugin(), &channel(), &creds().to_stored(), NOW, &table);
}

#[test]
fn a_rotated_out_token_verifies_webhooks_until_it_expires() {
    let p = plugin();
    let old = creds().to_stored();
    let fresh = p
        .parse_credentials(Some(&serde_json::json!({"account_sid": ACCOUNT, "auth_token": "new-token"})))
        .unwrap();
    let rotated = p.rotate(&old, fresh, NOW);
    assert!(p.redact(&rotated)["previous_key_valid_until"].is_string());
    let body = inbound_body("SMr1", OUR_NUMBER, "during the change");
    let headers = vec![("x-twilio-signature".to_string(), signed(URL, &body, TOKEN))];
    let request = WebhookRequest { method: "POST", url: URL, headers: &headers, body: body.as_bytes() };
    assert!(p.receive_webhook(&channel(), &rotated, &request, NOW).is_ok(), "inside the grace");
    let later = NOW + crate::credentials::ROTATION_GRACE;
    assert!(matches!(
        p.receive_webhook(&channel(), &rotated, &request, later),
        Err(WebhookError::Unauthorized(_))
    ));
}

#[test]
fn credentials_are_checked_field_by_field_and_redacted() {
    let p = plugin();
    let err = |v: serde_json::Value| p.parse_credentials(Some(&v)).unwrap_err().to_string();
    assert_eq!(err(serde_json::json!({"auth_token": "t"})), "credentials.account_sid: is required");
    assert!(
        err(serde_json::json!({"account_sid": "SK123", "auth_token": "t"}))
            .starts_with("credentials.account_sid: must be 'AC'")
    );
    assert_eq!(err(serde_json::json!({"account_sid": ACCOUNT})), "credentials.auth_token: is required");
    assert_eq!(
        err(serde_json::json!({"account_sid": ACCOUNT, "auth_token": " "})),
        "credentials.auth_token: must not be empty"
    );
    let stored =
        p.parse_credentials(Some(&serde_json::json!({"account_sid": ACCOUNT, "auth_token": TOKEN}))).unwrap();
    assert_eq!(p.redact(&stored), serde_json::json!({"account_sid": ACCOUNT, "auth_token": "********"}));
    assert!(!stored.to_stored_json().to_string().contains("previous"), "nothing to keep on a first setting");
    assert!(!format!("{stored:?}").contains(TOKEN));
    // Another provider's credentials are refused, not misread.
    let telesign = smsdesk_ports::Credentials::empty(ProviderKind::Telesign);
    assert!(p.client(&channel(), &telesign).is_err());
}

#[test]
fn status_map_never_claims_more_than_twilio_said() {
    use MessageStatus::*;
    for (twilio, ours) in [
        ("accepted", Sent),
        ("scheduled", Sent),
        ("queued", Sent),
        ("sending", Sent),
        ("sent", Sent),
        ("partially_delivered", Sent),
        ("delivered", Delivered),
        ("read", Delivered),
        ("undelivered", Undelivered),
        ("failed", Failed),
        ("canceled", Failed),
        ("something_new", Sent),
    ] {
        assert_eq!(delivery_status(twilio), ours, "{twilio}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// The client against a fake Twilio on loopback.
// ---------------------------------------------------------------------------------------------------------

const CREATED: &str = r#"{"sid":"SM9f8e7d6c5b4a39281706f5e4d3c2b1a0","status":"queued","num_segments":"1","direction":"outbound-api","error_code":null}"#;

fn client(url: &str) -> TwilioClient {
    TwilioClient::new(crate::http::client().expect("http client"), Some(url), creds())
}

fn send_request() -> SendRequest {
    SendRequest {
        from: phone(OUR_NUMBER),
        to: phone(CUSTOMER),
        text: "Hello & welcome, 100% sure?".into(),
        external_id: MessageId::new("msg_out_9"),
        created_at: time::macros::datetime!(2026-11-23 11:59 UTC),
        status_callback: Some(URL.into()),
        media_urls: Vec::new(),
    }
}

fn assert_basic_auth(seen: &fake::Seen) {
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    assert_eq!(seen.header("authorization"), format!("Basic {expected}"));
}

fn reply(status: u16, body: &'static str, headers: Vec<(&'static str, &'static str)>) -> fake::Reply {
    fake::Reply { status, body, delay: Duration::ZERO, headers }
}

#[tokio::test]
async fn send_posts_the_form_with_basic_auth_and_returns_the_sid() {
    let fake = fake::start(vec![(201, CREATED)]).await;
    let receipt = client(&fake.url).send(&send_request()).await.unwrap();
    assert_eq!(receipt, SendReceipt::one("SM9f8e7d6c5b4a39281706f5e4d3c2b1a0"));
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", &*format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json"))
    );
    assert_basic_auth(&seen);
    assert_eq!(seen.header("content-type"), "application/x-www-form-urlencoded");
    assert_eq!(seen.field("To").as_deref(), Some(CUSTOMER));
    assert_eq!(seen.field("From").as_deref(), Some(OUR_NUMBER));
    assert_eq!(seen.field("Body").as_deref(), Some("Hello & welcome, 100% sure?"));
    assert_eq!(seen.field("StatusCallback"), Some(format!("{URL}?{MESSAGE_ID_PARAM}=msg_out_9")));
    assert!(!seen.body.contains(TOKEN));
}

#[tokio::test]
async fn send_without_a_callback_leaves_it_out() {
    let fake = fake::start(vec![(201, CREATED)]).await;
    let request = SendRequest { status_callback: None, ..send_request() };
    client(&fake.url).send(&request).await.unwrap();
    assert_eq!(fake.seen.lock().unwrap()[0].field("StatusCallback"), None);
}

#[tokio::test]
async fn send_errors_are_sorted() {
    let invalid_to = r#"{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
    let stop = r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","status":400}"#;
    let too_many = r#"{"code":20429,"message":"Too Many Requests","status":429}"#;
    let fake = fake::start(vec![
        reply(400, invalid_to, vec![]),
        reply(400, stop, vec![]),
        reply(429, too_many, vec![("retry-after", "7")]),
        reply(429, "", vec![]),
        reply(503, "", vec![]),
        reply(503, "", vec![("retry-after", "30")]),
        reply(201, r#"{"status":"queued"}"#, vec![]),
        reply(401, r#"{"code":20003,"message":"Authenticate","status":401}"#, vec![]),
    ])
    .await;
    let c = client(&fake.url);
    assert_eq!(
        c.send(&send_request()).await,
        Err(SendError::Permanent {
            reason: "Twilio HTTP 400: 21211 The 'To' number +1555 is not a valid phone number.".into()
        })
    );
    assert!(
        matches!(c.send(&send_request()).await, Err(SendError::OptedOut { reason }) if reason.contains("21610"))
    );
    assert_eq!(
        c.send(&send_request()).await,
        Err(SendError::Throttled {
            reason: "Twilio HTTP 429: 20429 Too Many Requests".into(),
            retry_after: Some(Duration::from_secs(7))
        })
    );
    assert!(matches!(c.send(&send_request()).await, Err(SendError::Throttled { retry_after: None, .. })));
    assert!(matches!(c.send(&send_request()).await, Err(SendError::Transient { .. })));
    assert!(matches!(
        c.send(&send_request()).await,
        Err(SendError::Throttled { retry_after: Some(d), .. }) if d == Duration::from_secs(30)
    ));
    assert!(
        matches!(c.send(&send_request()).await, Err(SendError::Unknown { reason }) if reason.contains("no sid"))
    );
    assert!(
        matches!(c.send(&send_request()).await, Err(SendError::Unauthorized { reason }) if reason.contains("20003"))
    );
}

#[tokio::test]
async fn a_timeout_is_unknown_and_a_refused_connection_transient() {
    // Twilio got the request and may have taken it: sending again could reach the customer twice.
    let fake = fake::start(vec![(201, CREATED, Duration::from_secs(5))]).await;
    let slow = client(&fake.url).with_timeout(Duration::from_millis(200));
    assert!(matches!(slow.send(&send_request()).await, Err(SendError::Unknown { .. })));
    // Nothing was sent: another try is safe.
    let (_bound, closed_url) = fake::closed_port();
    let closed = client(&closed_url);
    assert!(matches!(closed.send(&send_request()).await, Err(SendError::Transient { .. })));
}

#[tokio::test]
async fn validate_reads_the_account() {
    let active = r#"{"sid":"AC0123456789abcdef0123456789abcdef","status":"active","type":"Full","auth_token":"f0e1d2c3b4a5968778695a4b3c2d1e0f"}"#;
    let suspended = r#"{"sid":"AC0123456789abcdef0123456789abcdef","status":"suspended"}"#;
    let fake = fake::start(vec![
        (200, active),
        (200, suspended),
        (401, r#"{"code":20003,"message":"Authentication Error - invalid username","status":401}"#),
        (503, ""),
        (429, ""),
    ])
    .await;
    let c = client(&fake.url);
    assert_eq!(c.validate().await, Validation::Valid);
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("GET", &*format!("/2010-04-01/Accounts/{ACCOUNT}.json"))
    );
    assert_basic_auth(&seen);
    assert_eq!(c.validate().await, Validation::Invalid { reason: "the Twilio account is suspended".into() });
    assert_eq!(
        c.validate().await,
        Validation::Invalid {
            reason: "Twilio HTTP 401: 20003 Authentication Error - invalid username".into()
        }
    );
    assert!(matches!(c.validate().await, Validation::Unreachable { .. }));
    assert!(matches!(c.validate().await, Validation::Unreachable { .. }));
    let (_bound, closed_url) = fake::closed_port();
    let closed = client(&closed_url);
    assert!(
        matches!(closed.validate().await, Validation::Unreachable { reason } if reason.contains("could not reach"))
    );
}

#[test]
fn retry_after_takes_seconds_or_a_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    assert_eq!(parse_retry_after(" 12 ", now), Some(Duration::from_secs(12)));
    let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
    assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(90)));
    let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
    assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn status_callback_url_keeps_the_query_and_fragment() {
    assert_eq!(status_callback_url("https://h/w", "msg_1"), "https://h/w?smsdesk_message=msg_1");
    assert_eq!(status_callback_url("https://h/w?a=1", "msg_1"), "https://h/w?a=1&smsdesk_message=msg_1");
    assert_eq!(status_callback_url("https://h/w#rc=2", "msg_1"), "https://h/w?smsdesk_message=msg_1#rc=2");
}

#[test]
fn base_url_defaults_and_debug_hides_the_token() {
    let http = crate::http::client().expect("http client");
    assert_eq!(TwilioClient::new(http.clone(), None, creds()).base_url(), DEFAULT_BASE_URL);
    assert_eq!(
        TwilioClient::new(http, Some("https://api.dublin.ie1.twilio.com/"), creds()).base_url(),
        "https://api.dublin.ie1.twilio.com"
    );
    let text = format!("{:?}", client("http://127.0.0.1:1"));
    assert!(text.contains(ACCOUNT) && !text.contains(TOKEN));
}

#[tokio::test]
async fn media_goes_out_as_one_media_url_each() {
    let fake = fake::start(vec![(201, CREATED)]).await;
    let request = SendRequest {
        media_urls: vec!["https://media.example/a?sig=1&exp=2".into(), "https://media.example/b".into()],
        ..send_request()
    };
    client(&fake.url).send(&request).await.unwrap();
    let seen = fake.seen.lock().unwrap()[0].clone();
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&seen.body).unwrap();
    let urls: Vec<&str> = form.iter().filter(|(k, _)| k == "MediaUrl").map(|(_, v)| v.as_str()).collect();
    assert_eq!(urls, ["https://media.example/a?sig=1&exp=2", "https://media.example/b"]);
}

#[test]
fn media_is_fetched_from_the_api_host_with_basic_auth() {
    let twilio = Twilio::new(crate::http::client().unwrap());
    let mut channel = channel();
    assert_eq!(twilio.media_origins(&channel), ["https://api.twilio.com"]);
    channel.base_url = Some("http://127.0.0.1:8080/".into());
    assert_eq!(twilio.media_origins(&channel), ["http://127.0.0.1:8080"]);
    let stored = creds().to_stored();
    let auth = twilio.media_authorization(&stored).unwrap();
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    assert_eq!(secrecy::ExposeSecret::expose_secret(&auth), format!("Basic {expected}"));
    assert!(twilio.sends_media());
}
