//! Fuzz targets for everything a stranger can hand smsdesk before any check has passed: every provider's
//! webhook (its signature check on the raw request, and its parser behind a signature that verifies), the
//! SMS segment calculator and phone-number parsing.
//!
//! A target is a plain `fn(&[u8])` that must neither panic nor hang, whatever the bytes; a few also check
//! properties that must hold for any input (a parsed phone number parses again to itself, segment counts add
//! up). Each target starts from a seed corpus (valid provider payloads from the providers' documentation).
//!
//! Two engines run them: libFuzzer, coverage-guided, on the stable toolchain (the `smsdesk-libfuzzer`
//! binary, feature `libfuzzer`, built and run by `scripts/fuzz.sh`: what `scripts/test` runs); and a
//! dependency-free driver ([`run`], the `smsdesk-fuzz` binary, and `cargo test`), which mutates the seeds
//! at random from a seed, so a run repeats, and keeps inputs that reach a new outcome (accepted, or refused
//! for a new reason) as seeds for more mutations.

use secrecy::SecretString;
use smsdesk_domain::{
    AttachmentPolicy, Channel, ChannelId, ChannelNumber, NumberType, Phone, ProviderKind, QueueId,
};
use smsdesk_ports::Credentials;
use smsdesk_providers::{Provider, WebhookError, WebhookOutcome, WebhookRequest, handle_webhook};
use std::sync::OnceLock;
use time::OffsetDateTime;

mod driver;
pub use driver::{Finding, Report, RunOptions, run, run_input};

/// One fuzz target: a name, the function, and the inputs mutations start from.
pub struct Target {
    pub name: &'static str,
    pub what: &'static str,
    /// Returns a short label of the outcome (e.g. "ok", "unauthorized: ...") used to keep inputs that reach
    /// a new one; panics on a property violation.
    pub run: fn(&[u8]) -> String,
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "telesign-signature",
            what: "TeleSign callback: Authorization header (first line) and body, unsigned",
            run: telesign_signature,
            seeds: telesign_signature_seeds,
        },
        Target {
            name: "telesign-webhook",
            what: "TeleSign callback body, correctly signed: the parser",
            run: telesign_webhook,
            seeds: telesign_seeds,
        },
        Target {
            name: "twilio-signature",
            what: "Twilio webhook: X-Twilio-Signature (first line) and form body, unsigned",
            run: twilio_signature,
            seeds: twilio_signature_seeds,
        },
        Target {
            name: "twilio-webhook",
            what: "Twilio form body, correctly signed: the parser",
            run: twilio_webhook,
            seeds: twilio_seeds,
        },
        Target {
            name: "acs-signature",
            what: "ACS Event Grid delivery: secret header (first line) and body",
            run: acs_signature,
            seeds: acs_signature_seeds,
        },
        Target {
            name: "acs-webhook",
            what: "ACS Event Grid body with the channel's secret: the parser",
            run: acs_webhook,
            seeds: acs_seeds,
        },
        Target {
            name: "vonage-signature",
            what: "Vonage inbound form body with its sig, unsigned",
            run: vonage_signature,
            seeds: vonage_seeds,
        },
        Target {
            name: "vonage-webhook",
            what: "Vonage inbound form body, correctly signed: the parser",
            run: vonage_webhook,
            seeds: vonage_seeds,
        },
        Target {
            name: "aws-sns",
            what: "AWS SNS envelope: parsing and the RSA signature check",
            run: aws_sns,
            seeds: aws_sns_seeds,
        },
        Target {
            name: "aws-notification",
            what: "AWS End User Messaging event inside a verified SNS Message: the parser",
            run: aws_notification,
            seeds: aws_notification_seeds,
        },
        Target {
            name: "segments",
            what: "GSM-7/UCS-2 choice and segment count of any text",
            run: segments,
            seeds: segment_seeds,
        },
        Target { name: "phone", what: "phone-number parsing", run: phone, seeds: phone_seeds },
    ]
}

// ---- Shared fixtures ----

const NOW: OffsetDateTime = time::macros::datetime!(2026-11-23 12:00 UTC);
const OUR_NUMBER: &str = "15555550199";

fn channel(provider: ProviderKind, number_type: NumberType) -> Channel {
    Channel {
        id: ChannelId::new("ch_fuzz"),
        name: "Fuzz".into(),
        provider,
        base_url: None,
        public_url: None,
        numbers: vec![ChannelNumber {
            number: Phone::parse_digits(OUR_NUMBER).expect("a valid number"),
            number_type,
            description: "fuzz line".into(),
            queue: QueueId::new("q_fuzz"),
            send_rate: None,
            menu: None,
        }],
        language: None,
        attachments: AttachmentPolicy::default(),
        created_at: NOW,
        inactivity_secs: None,
        former_numbers: Vec::new(),
        messaging: Default::default(),
    }
}

fn http() -> reqwest::Client {
    smsdesk_providers::http::client().expect("an HTTP client (never used: webhooks are checked offline)")
}

/// Header names lower-cased, as the HTTP layer hands them over.
fn headers(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect()
}

/// The first line (as a header value: lossy UTF-8, no CR/LF) and the rest.
fn split_line(data: &[u8]) -> (String, &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).trim_end_matches('\r').to_string(), &data[i + 1..]),
        None => (String::new(), data),
    }
}

/// Outcome label; also checks what must hold for any accepted webhook.
fn outcome(result: Result<WebhookOutcome, WebhookError>) -> String {
    match result {
        Ok(outcome) => {
            for event in &outcome.events {
                // Every event is one the app can store: debug-printing walks all of it.
                let _ = format!("{event:?}");
            }
            format!("ok:{}", outcome.events.len())
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty(), "an error without a reason");
            // Keep the reason's first words only: enough to tell outcomes apart, not every varying detail.
            let head: String = text.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
            match e {
                WebhookError::Unauthorized(_) => format!("401 {head}"),
                WebhookError::Malformed(_) => format!("400 {head}"),
                WebhookError::MethodNotAllowed(_) => "405".into(),
                WebhookError::Unavailable(_) => format!("503 {head}"),
            }
        }
    }
}

fn webhook(
    provider: &dyn Provider,
    channel: &Channel,
    credentials: &Credentials,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let request = WebhookRequest { method: "POST", url, headers, body };
    outcome(handle_webhook(provider, channel, credentials, &request, NOW))
}

fn json(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("json")
}

// ---- TeleSign ----

const TS_CUSTOMER: &str = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";
/// A throwaway base64 API key (protects nothing).
const TS_KEY: &str = "dGhyb3dhd2F5LWZ1enota2V5LTAxMjM0NTY3ODlhYmNkZWY=";

struct Telesign {
    provider: smsdesk_providers::telesign::Telesign,
    channel: Channel,
    credentials: Credentials,
}

fn telesign() -> &'static Telesign {
    static CELL: OnceLock<Telesign> = OnceLock::new();
    CELL.get_or_init(|| Telesign {
        provider: smsdesk_providers::telesign::Telesign::new(http()),
        channel: channel(ProviderKind::Telesign, NumberType::Geo),
        credentials: smsdesk_providers::telesign::TelesignCredentials::new(
            TS_CUSTOMER,
            SecretString::from(TS_KEY),
        )
        .to_stored(),
    })
}

fn telesign_seeds() -> Vec<Vec<u8>> {
    vec![
        json(serde_json::json!({
            "reference_id": "0123456789ABCDEF0123456789ABCDEF", "sub_resource": "mo_sms",
            "submit_timestamp": "2026-11-23T10:15:30.123456Z", "errors": [],
            "status": {"code": 1500, "description": "Delivered", "updated_on": "2026-11-23T10:15:30Z"},
            "user_response": {"phone_number": "15555550100", "mo_message": "Hi, my order has not arrived",
                              "sender_id": OUR_NUMBER, "iso_country_code": "US"},
        })),
        json(serde_json::json!({
            "reference_id": "0123456789ABCDEF0123456789ABCDE9", "external_id": "msg_01",
            "submit_timestamp": "2026-11-23T10:00:01Z",
            "status": {"code": 200, "description": "Delivered to handset", "updated_on": "2026-11-23T10:00:05Z"},
            "additional_info": {"message_parts_count": 1},
        })),
        json(serde_json::json!({
            "reference_id": "0123456789ABCDEF0123456789ABCDE8", "sub_resource": "mo_mms",
            "status": {"code": 1500},
            "user_response": {"phone_number": "15555550100", "sender_id": OUR_NUMBER,
                              "content": {"text_1": "a photo", "url_image_1": "https://media.example/1.jpg"}},
        })),
    ]
}

fn telesign_signature_seeds() -> Vec<Vec<u8>> {
    let key = SecretString::from(TS_KEY);
    telesign_seeds()
        .into_iter()
        .map(|body| {
            let signature =
                smsdesk_providers::telesign::callback_signature(&key, &body).expect("the key is base64");
            let mut input = format!("TSA {TS_CUSTOMER}:{signature}\n").into_bytes();
            input.extend_from_slice(&body);
            input
        })
        .collect()
}

fn telesign_signature(data: &[u8]) -> String {
    let t = telesign();
    let (authorization, body) = split_line(data);
    let headers = headers(&[
        ("authorization", authorization.clone()),
        ("x-ts-authorization", authorization),
        ("content-type", "application/json".into()),
    ]);
    webhook(
        &t.provider,
        &t.channel,
        &t.credentials,
        "https://hooks.example.test/webhooks/telesign/ch_fuzz",
        &headers,
        body,
    )
}

fn telesign_webhook(data: &[u8]) -> String {
    let t = telesign();
    let signature = smsdesk_providers::telesign::callback_signature(&SecretString::from(TS_KEY), data)
        .expect("the key is base64");
    let authorization = format!("TSA {TS_CUSTOMER}:{signature}");
    let headers = headers(&[
        ("authorization", authorization.clone()),
        ("x-ts-authorization", authorization),
        ("content-type", "application/json".into()),
    ]);
    let answer = webhook(
        &t.provider,
        &t.channel,
        &t.credentials,
        "https://hooks.example.test/webhooks/telesign/ch_fuzz",
        &headers,
        data,
    );
    assert!(!answer.starts_with("401"), "a correctly signed callback was refused: {answer}");
    answer
}

// ---- Twilio ----

const TW_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TW_TOKEN: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
const TW_URL: &str = "https://hooks.example.test/webhooks/twilio/ch_fuzz";

struct Simple<P> {
    provider: P,
    channel: Channel,
    credentials: Credentials,
}

fn twilio() -> &'static Simple<smsdesk_providers::twilio::Twilio> {
    static CELL: OnceLock<Simple<smsdesk_providers::twilio::Twilio>> = OnceLock::new();
    CELL.get_or_init(|| Simple {
        provider: smsdesk_providers::twilio::Twilio::new(http()),
        channel: channel(ProviderKind::Twilio, NumberType::Geo),
        credentials: smsdesk_providers::twilio::TwilioCredentials::new(
            TW_ACCOUNT,
            SecretString::from(TW_TOKEN),
        )
        .to_stored(),
    })
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(pairs).expect("form").into_bytes()
}

fn twilio_seeds() -> Vec<Vec<u8>> {
    vec![
        form(&[
            ("ToCountry", "US"),
            ("SmsMessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("NumMedia", "0"),
            ("SmsSid", "SM0123456789abcdef0123456789abcdef"),
            ("SmsStatus", "received"),
            ("Body", "Hi, where is my order?"),
            ("To", "+15555550199"),
            ("NumSegments", "1"),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("AccountSid", TW_ACCOUNT),
            ("From", "+15555550100"),
            ("ApiVersion", "2010-04-01"),
        ]),
        form(&[
            ("MessageSid", "SM0123456789abcdef0123456789abcdee"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("AccountSid", TW_ACCOUNT),
            ("From", "+15555550199"),
            ("To", "+15555550100"),
        ]),
        form(&[
            ("MessageSid", "MM0123456789abcdef0123456789abcdef"),
            ("AccountSid", TW_ACCOUNT),
            ("From", "+15555550100"),
            ("To", "+15555550199"),
            ("Body", ""),
            ("NumMedia", "1"),
            ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM/Media/ME1"),
            ("MediaContentType0", "image/jpeg"),
        ]),
    ]
}

fn twilio_sign(body: &[u8]) -> String {
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    smsdesk_providers::twilio::signature::signature(&SecretString::from(TW_TOKEN), TW_URL, &params)
}

fn twilio_signature_seeds() -> Vec<Vec<u8>> {
    twilio_seeds()
        .into_iter()
        .map(|body| {
            let mut input = format!("{}\n", twilio_sign(&body)).into_bytes();
            input.extend_from_slice(&body);
            input
        })
        .collect()
}

fn twilio_signature(data: &[u8]) -> String {
    let t = twilio();
    let (signature, body) = split_line(data);
    let headers = headers(&[
        ("x-twilio-signature", signature),
        ("content-type", "application/x-www-form-urlencoded".into()),
    ]);
    webhook(&t.provider, &t.channel, &t.credentials, TW_URL, &headers, body)
}

fn twilio_webhook(data: &[u8]) -> String {
    let t = twilio();
    let headers = headers(&[
        ("x-twilio-signature", twilio_sign(data)),
        ("content-type", "application/x-www-form-urlencoded".into()),
    ]);
    webhook(&t.provider, &t.channel, &t.credentials, TW_URL, &headers, data)
}

// ---- Azure Communication Services ----

const ACS_SECRET: &str = "eg-secret-0123456789abcdefghij";
const ACS_URL: &str = "https://hooks.example.test/webhooks/acs/ch_fuzz";

fn acs() -> &'static Simple<smsdesk_providers::acs::Acs> {
    static CELL: OnceLock<Simple<smsdesk_providers::acs::Acs>> = OnceLock::new();
    CELL.get_or_init(|| Simple {
        provider: smsdesk_providers::acs::Acs::new(http()),
        channel: channel(ProviderKind::Acs, NumberType::TollFree),
        credentials: smsdesk_providers::acs::AcsCredentials::new(
            "https://contoso.communication.azure.com",
            SecretString::from("c2VjcmV0LWtleS1vZi10aGUtcmVzb3VyY2U="),
            SecretString::from(ACS_SECRET),
        )
        .to_stored(),
    })
}

fn acs_seeds() -> Vec<Vec<u8>> {
    vec![
        json(serde_json::json!([{
            "id": "Incoming_20261123", "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
            "subject": "/phonenumber/15555550199", "eventType": "Microsoft.Communication.SMSReceived",
            "dataVersion": "1.0", "eventTime": "2026-11-23T10:00:00Z",
            "data": {"messageId": "Incoming_20261123_1", "from": "+15555550100", "to": "+15555550199",
                     "message": "Hello from Azure", "receivedTimestamp": "2026-11-23T10:00:00Z"},
        }])),
        json(serde_json::json!([{
            "id": "dr1", "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
            "eventTime": "2026-11-23T10:00:00Z", "dataVersion": "1.0",
            "data": {"messageId": "Outgoing_1", "from": "+15555550199", "to": "+15555550100",
                     "deliveryStatus": "Delivered", "deliveryStatusDetails": "No error.",
                     "deliveryAttempts": [{"timestamp": "2026-11-23T10:00:01Z", "segmentsSucceeded": 1, "segmentsFailed": 0}],
                     "receivedTimestamp": "2026-11-23T10:00:02Z", "tag": "msg_01"},
        }])),
        json(serde_json::json!([{
            "id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": "2026-11-23T10:00:00Z", "dataVersion": "2",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "validationUrl": "https://rp.example/x"},
        }])),
    ]
}

fn acs_signature_seeds() -> Vec<Vec<u8>> {
    acs_seeds()
        .into_iter()
        .map(|body| {
            let mut input = format!("{ACS_SECRET}\n").into_bytes();
            input.extend_from_slice(&body);
            input
        })
        .collect()
}

fn acs_signature(data: &[u8]) -> String {
    let t = acs();
    let (secret, body) = split_line(data);
    let headers = headers(&[("x-smsdesk-secret", secret), ("content-type", "application/json".into())]);
    webhook(&t.provider, &t.channel, &t.credentials, ACS_URL, &headers, body)
}

fn acs_webhook(data: &[u8]) -> String {
    let t = acs();
    let headers = headers(&[("content-type", "application/json".into())]);
    let url = format!("{ACS_URL}?secret={ACS_SECRET}");
    let answer = webhook(&t.provider, &t.channel, &t.credentials, &url, &headers, data);
    assert!(!answer.starts_with("401"), "a delivery with the channel's secret was refused: {answer}");
    answer
}

// ---- Vonage ----

const VG_KEY: &str = "abcd1234";
const VG_SECRET: &str = "vonage-signature-secret-0123456789";
const VG_URL: &str = "https://hooks.example.test/webhooks/vonage/ch_fuzz";

fn vonage() -> &'static Simple<smsdesk_providers::vonage::Vonage> {
    static CELL: OnceLock<Simple<smsdesk_providers::vonage::Vonage>> = OnceLock::new();
    CELL.get_or_init(|| Simple {
        provider: smsdesk_providers::vonage::Vonage::new(http()),
        channel: channel(ProviderKind::Vonage, NumberType::Geo),
        credentials: smsdesk_providers::vonage::VonageCredentials::new(
            VG_KEY,
            SecretString::from("api-secret"),
        )
        .signed(SecretString::from(VG_SECRET), smsdesk_providers::vonage::SignatureMethod::Sha256)
        .to_stored(),
    })
}

fn vonage_sign(params: &[(String, String)]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "sig").cloned().collect();
    let sig = smsdesk_providers::vonage::signature::signature(
        smsdesk_providers::vonage::SignatureMethod::Sha256,
        &SecretString::from(VG_SECRET),
        &params,
    );
    params.push(("sig".into(), sig));
    params
}

fn vonage_seeds() -> Vec<Vec<u8>> {
    let ts = NOW.unix_timestamp().to_string();
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let mo = owned(&[
        ("msisdn", "15555550100"),
        ("to", OUR_NUMBER),
        ("messageId", "0A0000000123ABCD1"),
        ("text", "Hello from Vonage"),
        ("type", "text"),
        ("keyword", "HELLO"),
        ("api-key", VG_KEY),
        ("message-timestamp", "2026-11-23 10:00:00"),
        ("timestamp", &ts),
        ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
    ]);
    let concat = owned(&[
        ("msisdn", "15555550100"),
        ("to", OUR_NUMBER),
        ("messageId", "0A0000000123ABCD2"),
        ("text", "part one of two"),
        ("type", "text"),
        ("concat", "true"),
        ("concat-ref", "17"),
        ("concat-total", "2"),
        ("concat-part", "1"),
        ("api-key", VG_KEY),
        ("timestamp", &ts),
    ]);
    let dlr = owned(&[
        ("msisdn", "15555550100"),
        ("to", OUR_NUMBER),
        ("network-code", "310090"),
        ("messageId", "0A0000000123ABCD3"),
        ("price", "0.00570000"),
        ("status", "delivered"),
        ("scts", "2611231000"),
        ("err-code", "0"),
        ("client-ref", "msg_01"),
        ("api-key", VG_KEY),
        ("message-timestamp", "2026-11-23 10:00:05"),
        ("timestamp", &ts),
    ]);
    [mo, concat, dlr]
        .into_iter()
        .map(|p| serde_urlencoded::to_string(vonage_sign(&p)).expect("form").into_bytes())
        .collect()
}

fn vonage_signature(data: &[u8]) -> String {
    let t = vonage();
    let headers = headers(&[("content-type", "application/x-www-form-urlencoded".into())]);
    webhook(&t.provider, &t.channel, &t.credentials, VG_URL, &headers, data)
}

fn vonage_webhook(data: &[u8]) -> String {
    let t = vonage();
    // The fuzzed form's fields, with a fresh timestamp and a correct `sig`, so the parser is reached.
    let mut params: Vec<(String, String)> = serde_urlencoded::from_bytes(data).unwrap_or_default();
    params.retain(|(k, _)| k != "timestamp");
    params.push(("timestamp".into(), NOW.unix_timestamp().to_string()));
    let body = serde_urlencoded::to_string(vonage_sign(&params)).expect("form");
    let headers = headers(&[("content-type", "application/x-www-form-urlencoded".into())]);
    webhook(&t.provider, &t.channel, &t.credentials, VG_URL, &headers, body.as_bytes())
}

// ---- AWS End User Messaging (SNS) ----

const SNS_CERT: &str = include_str!("../../shared/providers/src/aws/testdata/sns-vector-cert.pem");
const SNS_CERT_URL: &str =
    "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";

fn aws() -> &'static Simple<smsdesk_providers::aws::Aws> {
    static CELL: OnceLock<Simple<smsdesk_providers::aws::Aws>> = OnceLock::new();
    CELL.get_or_init(|| Simple {
        provider: smsdesk_providers::aws::Aws::new(http(), Default::default()).with_certificate(
            SNS_CERT_URL,
            smsdesk_providers::aws::SigningCert::from_pem(SNS_CERT.as_bytes())
                .expect("the vector certificate"),
        ),
        channel: channel(ProviderKind::Aws, NumberType::TollFree),
        credentials: smsdesk_providers::aws::AwsCredentials::new("us-east-2").to_stored(),
    })
}

fn aws_sns_seeds() -> Vec<Vec<u8>> {
    // The official SNS vector S1 (aws-php-sns-message-validator), signed by the certificate above.
    vec![json(serde_json::json!({
        "Type": "Notification", "MessageId": "792cda85-518f-5dd3-9163-81d851212f3a",
        "TopicArn": "arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362",
        "Message": "Hello world", "Timestamp": "2022-07-28T21:23:58.317Z", "SignatureVersion": "1",
        "Signature": "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfnmd5VpdTKpTyiKmy1qJAZXma0w+yi7G+I33hD1Jyk1Nbym2n0kqp3fVu2aoooiN2ZeLAT2bH0/BtjLSfN1yAOKNoprco4qV9gGUZinXJdj9a1YdNhDR2jKi33ldlsVtEXAtiaDklGEk7DgRKX38GerBPiLg3FdtgY6KC7cdeGpU/dGK+4hjc83Ive1HoFkAwqhpgInM2sMytBosoiXfCmOKmU4xeGD0gHDNZTlJUJQDlzw8Eag0H9f/5zXF9d3uy0YQ==",
        "SigningCertURL": SNS_CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }))]
}

fn aws_sns(data: &[u8]) -> String {
    let t = aws();
    let headers = headers(&[("content-type", "text/plain; charset=UTF-8".into())]);
    webhook(
        &t.provider,
        &t.channel,
        &t.credentials,
        "https://hooks.example.test/webhooks/aws/ch_fuzz",
        &headers,
        data,
    )
}

fn aws_notification_seeds() -> Vec<Vec<u8>> {
    vec![
        json(serde_json::json!({
            "originationNumber": "+15555550100", "destinationNumber": "+15555550199",
            "messageKeyword": "KEYWORD_123456789012", "messageBody": "Hello from AWS",
            "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84", "previousPublishedMessageId": "wJ0vP4"
        })),
        json(serde_json::json!({
            "eventType": "TEXT_DELIVERED", "eventVersion": "1.0", "eventTimestamp": 1764000000000u64,
            "isFinal": true, "originationPhoneNumber": "+15555550199", "destinationPhoneNumber": "+15555550100",
            "messageId": "1e3b7c-aws", "messageBody": "Hi", "context": {"smsdesk_message_id": "msg_01"}
        })),
    ]
}

fn aws_notification(data: &[u8]) -> String {
    let t = aws();
    let message = String::from_utf8_lossy(data);
    outcome(smsdesk_providers::aws::parse_notification(&t.channel, &message, NOW).map(WebhookOutcome::events))
}

// ---- Segments ----

fn segment_seeds() -> Vec<Vec<u8>> {
    vec![
        b"Hello, your parcel ships today.".to_vec(),
        "Prix: 10€ [promo] {code} ~ ^ | \\".as_bytes().to_vec(),
        "Grüße aus Köln 😀 – ça va?".as_bytes().to_vec(),
        "x".repeat(161).into_bytes(),
        "€".repeat(80).into_bytes(),
        "😀".repeat(40).into_bytes(),
    ]
}

fn segments(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let info = smsdesk_domain::segment::analyze(&text);
    assert_eq!(info.characters as usize, text.chars().count(), "characters are Unicode scalar values");
    if text.is_empty() {
        assert!(info.segments <= 1, "an empty text is at most one segment: {info:?}");
    } else {
        assert!(info.segments >= 1, "a text takes at least one segment: {info:?}");
    }
    let (single, multi) = match info.encoding {
        smsdesk_domain::Encoding::Gsm7 => (160, 153),
        smsdesk_domain::Encoding::Ucs2 => (70, 67),
    };
    if info.units <= single {
        assert_eq!(info.segments, 1, "{info:?}");
    } else {
        // Each part holds at most `multi` units and never less than `multi - 1` (a pair is never split).
        assert!(info.segments >= info.units.div_ceil(multi), "{info:?}");
        assert!(info.segments <= info.units.div_ceil(multi - 1), "{info:?}");
    }
    assert_eq!(info.ucs2_characters.is_empty(), info.encoding == smsdesk_domain::Encoding::Gsm7, "{info:?}");
    format!("{:?}:{}", info.encoding, info.segments.min(4))
}

// ---- Phone numbers ----

fn phone_seeds() -> Vec<Vec<u8>> {
    [
        "+15555550100",
        "15555550100",
        "+44 20 7946 0958",
        "(555) 555-0100",
        "12345",
        "+8613800138000",
        "+",
        "00",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn phone(data: &[u8]) -> String {
    let input = String::from_utf8_lossy(data);
    let parsed = Phone::parse(&input);
    let digits = Phone::parse_digits(&input);
    if let Ok(p) = &digits {
        assert_eq!(
            parsed.as_ref().ok(),
            Some(p),
            "digits-only parse disagrees with the full parse: {input:?}"
        );
    }
    match parsed {
        Ok(p) => {
            let e164 = p.e164();
            if p.is_short_code() {
                assert!((3..=6).contains(&e164.len()), "{e164}");
            } else {
                assert!(e164.starts_with('+') && (9..=16).contains(&e164.len()), "{e164}");
                assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
            }
            assert_eq!(Phone::parse(e164).as_ref(), Ok(&p), "a parsed number parses again to itself");
            assert_eq!(Phone::parse(p.digits()).as_ref(), Ok(&p), "its digits parse to it too");
            let masked = p.masked();
            if p.digits().len() > 4 {
                assert!(!masked.contains(p.digits()), "the masked form shows the whole number: {masked}");
            }
            "ok".into()
        }
        Err(e) => {
            let text = e.to_string();
            // A customer's number never lands whole in an error message.
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            if digits.len() > 4 {
                assert!(!text.contains(&digits), "the error shows the whole number: {text}");
            }
            format!("err:{}", text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        }
    }
}
