use super::signature::{self as sig, SignatureMethod::*, string_to_sign};
use super::*;
use crate::fake_http as fake;
use crate::fixtures::{self, Case, Expect};
use secrecy::SecretString;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage, MessagePart};
use smsdesk_domain::{
    AttachmentPolicy, ChannelId, ChannelNumber, MessageId, MessageStatus, NumberType, Phone, QueueId,
};
use time::macros::datetime;

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

// ---------------------------------------------------------------------------------------------------------
// The official vectors (providers.md 4.6).
// ---------------------------------------------------------------------------------------------------------

const SET_R_SECRET: &str = "my_secret_key_for_testing";

fn set_r() -> Vec<(String, String)> {
    pairs(&[
        ("message-timestamp", "2013-11-21 15:27:30"),
        ("messageId", "020000001B0FE827"),
        ("msisdn", "14843472194"),
        ("text", "Test again"),
        ("timestamp", "1385047698"),
        ("to", "13239877404"),
        ("type", "text"),
    ])
}

#[test]
fn set_r_string_to_sign() {
    assert_eq!(
        string_to_sign(&set_r()),
        "&message-timestamp=2013-11-21 15:27:30&messageId=020000001B0FE827&msisdn=14843472194&text=Test again\
         &timestamp=1385047698&to=13239877404&type=text"
    );
}

#[test]
fn official_vectors() {
    let r = secret(SET_R_SECRET);
    assert_eq!(sig::signature(Md5Hash, &r, &set_r()), "d2e7b1dc968737c5998ad624e02f90b7", "V1");
    assert_eq!(sig::signature(Md5, &r, &set_r()), "DDEBD46008C2D4E93CCE578A332A52D5".to_lowercase(), "V2");
    assert_eq!(
        sig::signature(Sha256, &r, &set_r()),
        "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330".to_lowercase(),
        "V3"
    );
    assert_eq!(sig::signature(Md5Hash, &r, &pairs(&[("k", "&")])), "c3d6a686ab9c7e7408bb1c0506e9629a", "V4");
    let v5 = pairs(&[("a", "1"), ("b", "2"), ("timestamp", "1461605396")]);
    assert_eq!(sig::signature(Md5Hash, &secret("secret"), &v5), "6af838ef94998832dbfc29020b564830", "V5");
    let v6 = pairs(&[("param1", "value1"), ("param2", "value2"), ("timestamp", "1234567890")]);
    assert_eq!(
        sig::signature(Sha256, &secret("signature_secret"), &v6),
        "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287",
        "V6"
    );
    assert_eq!(
        sig::signature(Md5, &secret("signature_secret"), &v6),
        "724c2bf6ca423c36e20631b11d1c5753",
        "V7"
    );
}

/// Set R as a GET webhook at its own time: V1's and V2's (upper-case) signatures verify, and the outcome is
/// about the content (its `to` is not this channel's number); a minute-old clock skew passes, a stale one
/// does not.
#[test]
fn official_vectors_fixtures() {
    let r_at = OffsetDateTime::from_unix_timestamp(1_385_047_698).unwrap();
    let query = |extra: &str| format!("{URL}?{}&sig={extra}", serde_urlencoded::to_string(set_r()).unwrap());
    let not_ours = Expect::Malformed("number 13239877404 is not on this channel");
    let md5hash = VonageCredentials::new(API_KEY, secret("s")).signed(secret(SET_R_SECRET), Md5Hash);
    fixtures::run(
        &plugin(),
        &channel(),
        &md5hash.to_stored(),
        r_at + time::Duration::minutes(1),
        &[
            Case::new("V1 by GET", "GET", query("d2e7b1dc968737c5998ad624e02f90b7"), "")
                .expect(not_ours.clone()),
            Case::new("V1 tampered", "GET", query("d2e7b1dc968737c5998ad624e02f90b8"), "")
                .expect(Expect::Unauthorized("does not match (md5hash)")),
        ],
    );
    let hmac = VonageCredentials::new(API_KEY, secret("s")).signed(secret(SET_R_SECRET), Md5);
    fixtures::run(
        &plugin(),
        &channel(),
        &hmac.to_stored(),
        r_at,
        &[Case::new("V2 upper-case hex", "GET", query("DDEBD46008C2D4E93CCE578A332A52D5"), "")
            .expect(not_ours)],
    );
    fixtures::run(
        &plugin(),
        &channel(),
        &hmac.to_stored(),
        r_at + time::Duration::minutes(6),
        &[Case::new("V2, six minutes later", "GET", query("DDEBD46008C2D4E93CCE578A332A52D5"), "")
            .expect(Expect::Unauthorized("stale"))],
    );
}

// ---------------------------------------------------------------------------------------------------------
// Webhook fixtures.
// ---------------------------------------------------------------------------------------------------------

const API_KEY: &str = "abcd1234";
const SIG_SECRET: &str = "sig-secret-for-tests";
const OUR_NUMBER: &str = "15555550199";
const CUSTOMER: &str = "15555550100";
const URL: &str = "https://hooks.example.test/webhooks/vonage/ch_vg";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn plugin() -> Vonage {
    Vonage::new(crate::http::client().expect("http client"))
}

fn creds(method: SignatureMethod) -> VonageCredentials {
    VonageCredentials::new(API_KEY, secret("api-secret")).signed(secret(SIG_SECRET), method)
}

fn phone(digits: &str) -> Phone {
    Phone::parse_digits(digits).unwrap()
}

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_vg"),
        name: "Support".into(),
        provider: ProviderKind::Vonage,
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

fn inbound(id: &str, text: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let ts = NOW.unix_timestamp().to_string();
    let mut p = pairs(&[
        ("msisdn", CUSTOMER),
        ("to", OUR_NUMBER),
        ("messageId", id),
        ("text", text),
        ("type", "text"),
        ("keyword", "HI"),
        ("api-key", API_KEY),
        ("message-timestamp", "2026-11-23 11:59:58"),
        ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
    ]);
    p.push(("timestamp".into(), ts));
    p.extend(pairs(extra));
    p
}

fn receipt_params(id: &str, status: &str, err: &str) -> Vec<(String, String)> {
    let mut p = pairs(&[
        ("msisdn", CUSTOMER),
        ("to", OUR_NUMBER),
        ("network-code", "310260"),
        ("messageId", id),
        ("price", "0.00570000"),
        ("status", status),
        ("scts", "2611231201"),
        ("err-code", err),
        ("api-key", API_KEY),
        ("client-ref", "msg_out_1"),
        ("message-timestamp", "2026-11-23 12:01:00"),
    ]);
    p.push(("timestamp".into(), NOW.unix_timestamp().to_string()));
    p
}

fn signed(method: SignatureMethod, mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    let s = sig::signature(method, &secret(SIG_SECRET), &params);
    params.push(("sig".into(), s));
    params
}

fn get(name: &str, params: &[(String, String)]) -> Case {
    Case::new(name, "GET", format!("{URL}?{}", serde_urlencoded::to_string(params).unwrap()), "")
}

fn post_form(name: &str, params: &[(String, String)]) -> Case {
    Case::post(name, URL, serde_urlencoded::to_string(params).unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
}

fn post_json(name: &str, params: &[(String, String)]) -> Case {
    let map: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    Case::post(name, URL, serde_json::Value::Object(map).to_string())
        .header("content-type", "application/json")
}

fn message(id: &str, text: &str, part: Option<MessagePart>) -> InboundEvent {
    InboundEvent::Message(InboundMessage {
        channel_id: ChannelId::new("ch_vg"),
        provider_message_id: id.into(),
        from: phone(CUSTOMER),
        to: phone(OUR_NUMBER),
        text: text.into(),
        received_at: datetime!(2026-11-23 11:59:58 UTC),
        part,
        media: Vec::new(),
    })
}

fn receipt(id: &str, status: MessageStatus, code: &str, desc: Option<&str>) -> InboundEvent {
    InboundEvent::Receipt(DeliveryReceipt {
        channel_id: ChannelId::new("ch_vg"),
        provider_message_id: id.into(),
        external_id: Some("msg_out_1".into()),
        status,
        provider_status_code: code.into(),
        description: desc.map(str::to_string),
        at: datetime!(2026-11-23 12:01 UTC),
        opted_out: false,
    })
}

#[test]
fn webhook_fixtures_for_every_signature_method() {
    for method in [Md5Hash, Md5, Sha1, Sha256, Sha512] {
        let mo = signed(method, inbound("0A0000000123ABCD1", "Hi, where is my order?", &[]));
        let part = |n: &str| {
            signed(
                method,
                inbound(
                    &format!("0A000000012300{n}"),
                    "part",
                    &[("concat", "true"), ("concat-ref", "A1"), ("concat-total", "2"), ("concat-part", n)],
                ),
            )
        };
        let bad_part = signed(
            method,
            inbound(
                "0A0000000123000",
                "x",
                &[("concat", "true"), ("concat-ref", "A1"), ("concat-total", "2"), ("concat-part", "3")],
            ),
        );
        let upper: Vec<(String, String)> = mo
            .iter()
            .map(|(k, v)| (k.clone(), if k == "sig" { v.to_uppercase() } else { v.clone() }))
            .collect();
        let mut tampered = mo.clone();
        tampered[3].1 = "Hi, where is my parcel?".into();
        let unsigned: Vec<(String, String)> = mo.iter().filter(|(k, _)| k != "sig").cloned().collect();
        let mut stale = inbound("0A0000000123ABCD2", "old", &[]);
        stale.retain(|(k, _)| k != "timestamp");
        stale.push(("timestamp".into(), (NOW.unix_timestamp() - 3600).to_string()));
        let stale = signed(method, stale);
        let elsewhere = signed(
            method,
            inbound("0A0000000123ABCD3", "hi", &[])
                .into_iter()
                .map(|(k, v)| if k == "to" { (k, "15555550142".into()) } else { (k, v) })
                .collect(),
        );
        let other_account = signed(
            method,
            inbound("0A0000000123ABCD4", "hi", &[])
                .into_iter()
                .map(|(k, v)| if k == "api-key" { (k, "zzzz9999".into()) } else { (k, v) })
                .collect(),
        );
        let m = method.name();
        let table = vec![
            get(&format!("{m}: inbound by GET"), &mo).expect(Expect::Events(vec![message(
                "0A0000000123ABCD1",
                "Hi, where is my order?",
                None,
            )])),
            post_form(&format!("{m}: inbound by POST form"), &mo).expect(Expect::Events(vec![message(
                "0A0000000123ABCD1",
                "Hi, where is my order?",
                None,
            )])),
            post_json(&format!("{m}: inbound by POST JSON"), &mo).expect(Expect::Events(vec![message(
                "0A0000000123ABCD1",
                "Hi, where is my order?",
                None,
            )])),
            get(&format!("{m}: upper-case sig"), &upper).expect(Expect::Events(vec![message(
                "0A0000000123ABCD1",
                "Hi, where is my order?",
                None,
            )])),
            get(&format!("{m}: part 2 of 2 carried on the event"), &part("2")).expect(Expect::Events(vec![
                message(
                    "0A0000000123002",
                    "part",
                    Some(MessagePart { reference: "A1".into(), number: 2, total: 2 }),
                ),
            ])),
            get(&format!("{m}: part 3 of 2"), &bad_part).expect(Expect::Malformed("is not a part")),
            post_form(
                &format!("{m}: receipt delivered"),
                &signed(method, receipt_params("0B01", "delivered", "0")),
            )
            .expect(Expect::Events(vec![receipt(
                "0B01",
                MessageStatus::Delivered,
                "delivered",
                None,
            )])),
            post_form(
                &format!("{m}: receipt failed, opted out"),
                &signed(method, receipt_params("0B02", "failed", "9")),
            )
            .expect(Expect::Events(vec![receipt(
                "0B02",
                MessageStatus::Undelivered,
                "failed/9",
                Some("illegal number: the customer opted out of the service"),
            )])),
            post_form(
                &format!("{m}: receipt buffered"),
                &signed(method, receipt_params("0B03", "buffered", "0")),
            )
            .expect(Expect::Events(vec![receipt("0B03", MessageStatus::Sent, "buffered", None)])),
            get(&format!("{m}: tampered"), &tampered).expect(Expect::Unauthorized("does not match")),
            get(&format!("{m}: unsigned"), &unsigned).expect(Expect::Unauthorized("missing sig")),
            get(&format!("{m}: an hour old"), &stale).expect(Expect::Unauthorized("stale")),
            get(&format!("{m}: number not on the channel"), &elsewhere)
                .expect(Expect::Malformed("not on this channel")),
            get(&format!("{m}: another account"), &other_account).expect(Expect::Unauthorized("api-key")),
            post_form(
                &format!("{m}: neither"),
                &signed(method, pairs(&[("timestamp", &NOW.unix_timestamp().to_string())])),
            )
            .expect(Expect::Malformed("neither")),
            Case::new(format!("{m}: PUT"), "PUT", URL, "").expect(Expect::MethodNotAllowed),
        ];
        fixtures::run(&plugin(), &channel(), &creds(method).to_stored(), NOW, &table);
    }
}

#[test]
fn webhooks_are_refused_without_a_signature_secret() {
    let unsigned = VonageCredentials::new(API_KEY, secret("api-secret"));
    let mo = signed(Md5Hash, inbound("0A01", "hi", &[]));
    fixtures::run(
        &plugin(),
        &channel(),
        &unsigned.to_stored(),
        NOW,
        &[get("no signature_secret", &mo).expect(Expect::Unauthorized("no signature_secret"))],
    );
}

#[test]
fn credentials_rules_redaction_and_rotation() {
    let p = plugin();
    let err = |v: serde_json::Value| p.parse_credentials(Some(&v)).unwrap_err().to_string();
    assert_eq!(err(serde_json::json!({"api_secret": "s"})), "credentials.api_key: is required");
    assert!(
        err(serde_json::json!({"api_key": "k", "api_secret": "s", "signature_secret": "x", "signature_method": "crc32"}))
            .starts_with("credentials.signature_method: 'crc32' is not one of md5hash, md5, sha1, sha256, sha512")
    );
    assert_eq!(
        err(serde_json::json!({"api_key": "k", "api_secret": "s", "signature_method": "sha256"})),
        "credentials.signature_method: needs credentials.signature_secret"
    );
    let stored = p
        .parse_credentials(Some(&serde_json::json!({"api_key": "k", "api_secret": "s", "signature_secret": "old", "signature_method": "SHA256"})))
        .unwrap();
    assert_eq!(
        p.redact(&stored),
        serde_json::json!({"api_key": "k", "api_secret": "********", "signature_secret": "********", "signature_method": "sha256"})
    );
    let plain = p.parse_credentials(Some(&serde_json::json!({"api_key": "k", "api_secret": "s"}))).unwrap();
    assert_eq!(
        plain.to_stored_json(),
        serde_json::json!({"provider": "vonage", "api_key": "k", "api_secret": "s", "signature_secret": null, "signature_method": null})
    );
    let fresh = p
        .parse_credentials(Some(&serde_json::json!({"api_key": "k", "api_secret": "s", "signature_secret": "new", "signature_method": "sha256"})))
        .unwrap();
    let rotated = VonageCredentials::from_stored(&p.rotate(&stored, fresh, NOW)).unwrap();
    assert_eq!(rotated.webhook_secrets(NOW).len(), 2, "the old secret verifies during the grace");
    assert_eq!(rotated.webhook_secrets(NOW + crate::credentials::ROTATION_GRACE).len(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// The client against a fake Vonage.
// ---------------------------------------------------------------------------------------------------------

fn client(url: &str) -> VonageClient {
    VonageClient::new(crate::http::client().expect("http client"), Some(url), creds(Md5Hash))
}

fn send_request(text: &str) -> SendRequest {
    SendRequest {
        from: phone(OUR_NUMBER),
        to: phone(CUSTOMER),
        text: text.into(),
        external_id: MessageId::new("msg_out_9"),
        created_at: time::macros::datetime!(2026-11-23 11:59 UTC),
        status_callback: Some(URL.into()),
        media_urls: Vec::new(),
    }
}

const TWO_PARTS: &str = r#"{"message-count":"2","messages":[{"to":"15555550100","message-id":"0C01","status":"0","remaining-balance":"3.1","message-price":"0.0057","network":"310260","client-ref":"msg_out_9"},{"to":"15555550100","message-id":"0C02","status":"0"}]}"#;

#[tokio::test]
async fn send_posts_the_form_and_keeps_every_part_id() {
    let fake = fake::start(vec![(200, TWO_PARTS)]).await;
    let receipt = client(&fake.url).send(&send_request("Grüße 😀")).await.unwrap();
    assert_eq!(
        receipt,
        SendReceipt { provider_message_id: "0C01".into(), more_provider_message_ids: vec!["0C02".into()] }
    );
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/sms/json"));
    for (k, v) in [
        ("api_key", API_KEY),
        ("api_secret", "api-secret"),
        ("from", OUR_NUMBER),
        ("to", CUSTOMER),
        ("text", "Grüße 😀"),
        ("type", "unicode"),
        ("client-ref", "msg_out_9"),
        ("callback", URL),
    ] {
        assert_eq!(seen.field(k).as_deref(), Some(v), "{k}");
    }
}

/// `client-ref` is at most 40 characters (Vonage's API spec); our ids can be longer (a resend's
/// `_resend`, automated messages), so a longer one is left out rather than sent cut short or refused.
#[tokio::test]
async fn client_ref_is_sent_only_when_the_id_fits_in_40_characters() {
    let fake = fake::start(vec![(200, TWO_PARTS), (200, TWO_PARTS)]).await;
    let fits = "m".repeat(40);
    let long = format!("{}_resend", "m".repeat(36));
    for id in [&fits, &long] {
        let request = SendRequest { external_id: MessageId::new(id.as_str()), ..send_request("hi") };
        client(&fake.url).send(&request).await.unwrap();
    }
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].field("client-ref"), Some(fits));
    assert_eq!(seen[1].field("client-ref"), None, "an id of {} characters", long.len());
    assert_eq!(seen[1].field("text").as_deref(), Some("hi"));
}

#[test]
fn send_answers_are_classified() {
    assert!(matches!(
        classify_send(
            200,
            r#"{"messages":[{"status":"1","error-text":"Throughput Rate Exceeded - please wait [ 10 ] and retry"}]}"#
        ),
        Err(SendError::Throttled { .. })
    ));
    assert!(matches!(
        classify_send(200, r#"{"messages":[{"status":"5","error-text":"Internal Error"}]}"#),
        Err(SendError::Transient { .. })
    ));
    assert_eq!(
        classify_send(200, r#"{"messages":[{"status":"7","error-text":"Number barred."}]}"#),
        Err(SendError::Permanent { reason: "Vonage HTTP 200: status 7 Number barred.".into() })
    );
    assert!(
        matches!(
            classify_send(200, r#"{"messages":[{"status":"0","message-id":"A"},{"status":"5"}]}"#),
            Err(SendError::Permanent { .. })
        ),
        "a partly accepted text is not sent again, even for a refusal worth a retry"
    );
    // A 2xx that says nothing readable may have been taken: unknown, neither retried nor failed.
    assert!(matches!(classify_send(200, r#"{"messages":[]}"#), Err(SendError::Unknown { .. })));
    assert!(matches!(classify_send(429, ""), Err(SendError::Throttled { .. })));
    assert!(matches!(classify_send(503, ""), Err(SendError::Transient { .. })));
    assert!(matches!(classify_send(200, "<html>"), Err(SendError::Unknown { .. })));
}

/// providers.md 4.2: success is every part's status "0". Parts refused while others went out: the agent
/// sees a failure saying how many and why (the accepted parts reached the customer: no retry).
#[test]
fn a_partly_refused_send_fails_for_good_and_says_why() {
    let answer = r#"{"message-count":"3","messages":[
        {"to":"15555550100","message-id":"0C01","status":"0"},
        {"to":"15555550100","message-id":"0C02","status":"0"},
        {"to":"15555550100","status":"9","error-text":"Partner quota exceeded"}]}"#;
    assert_eq!(
        classify_send(200, answer),
        Err(SendError::Permanent {
            reason:
                "Vonage HTTP 200: 1 of 3 parts refused (status 9 Partner quota exceeded); the other parts \
                     were sent"
                    .into()
        })
    );
}

#[tokio::test]
async fn validate_reads_the_balance_with_basic_auth() {
    let fake = fake::start(vec![
        (200, r#"{"value": 10.17127500, "autoReload": false}"#),
        (401, r#"{"error-code":"401","error-code-label":"authentication failed"}"#),
        (503, ""),
    ])
    .await;
    let c = client(&fake.url);
    assert_eq!(c.validate().await, Validation::Valid);
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", "/account/get-balance"));
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{API_KEY}:api-secret"));
    assert_eq!(seen.header("authorization"), format!("Basic {basic}"));
    assert!(matches!(c.validate().await, Validation::Invalid { .. }));
    assert!(matches!(c.validate().await, Validation::Unreachable { .. }));
    let (_bound, closed_url) = fake::closed_port();
    let closed = VonageClient::new(crate::http::client().unwrap(), Some(&closed_url), creds(Md5Hash));
    assert!(matches!(closed.validate().await, Validation::Unreachable { .. }));
    assert!(matches!(closed.send(&send_request("hi")).await, Err(SendError::Transient { .. })));
}

/// A correctly signed webhook whose `timestamp` is any i64 (the provider's, or an attacker's who has the
/// key) is stale, never an arithmetic overflow.
#[test]
fn extreme_timestamps_are_stale_not_an_overflow() {
    let key = secret("extreme");
    for ts in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
        let mut params = pairs(&[("msisdn", "14843472194"), ("text", "hi"), ("timestamp", &ts.to_string())]);
        let sig = sig::signature(Sha256, &key, &params);
        params.push(("sig".into(), sig));
        let verdict = sig::verify(Sha256, &[&key], &params, NOW);
        assert!(matches!(verdict, Err(sig::SignatureError::Stale(_))), "{ts}: {verdict:?}");
    }
}
