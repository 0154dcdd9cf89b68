//! The CPU cost of the hot pure paths: verifying and parsing a TeleSign callback, a Twilio, Vonage and ACS
//! (Event Grid) webhook (on every inbound text and delivery report, before the acknowledgement), each beside
//! one bare HMAC over the same bytes (the target: verify + parse within 3x of it), an SNS message (the RSA
//! signature check, reported beside them), signing a send, and segmenting a reply.
//!
//!   cargo bench -p smsdesk-providers --bench webhook

use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use smsdesk_domain::*;
use smsdesk_providers::aws::{Aws, AwsCredentials, SigningCert};
use smsdesk_providers::telesign::{TelesignCredentials, callback_signature, parse_webhook, sign_request};
use smsdesk_providers::test_support::sns_signer;
use smsdesk_providers::twilio::{self, TwilioCredentials};
use smsdesk_providers::vonage::{self, SignatureMethod, VonageCredentials};
use smsdesk_providers::{Provider, ProviderOptions, WebhookRequest};
use std::hint::black_box;
use time::macros::datetime;

const KEY: &str = "EXAMPLE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==";
const CUSTOMER: &str = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";
const MO: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDEF","sub_resource":"mo_sms","submit_timestamp":"2026-11-23T10:15:30Z","errors":[],"status":{"code":1500,"description":"Delivered","updated_on":"2026-11-23T10:15:30Z"},"user_response":{"phone_number":"15555550123","mo_message":"Hi, my order has not arrived yet. Can you check?","sender_id":"15555550100","iso_country_code":"US"}}"#;

const TWILIO_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_MO: &str = "ToCountry=US&ToState=CA&SmsMessageSid=SM0123456789abcdef0123456789abcdef&NumMedia=0&ToCity=&FromZip=94105&SmsSid=SM0123456789abcdef0123456789abcdef&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hi%2C+my+order+has+not+arrived+yet.+Can+you+check%3F&FromCountry=US&To=%2B15555550100&ToZip=&NumSegments=1&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B15555550123&ApiVersion=2010-04-01";

const VONAGE_MO: &str = "msisdn=15555550123&to=15555550100&messageId=0A0000000123ABCD1&text=Hi%2C+my+order+has+not+arrived+yet.+Can+you+check%3F&type=text&keyword=HI&api-key=abcd1234&message-timestamp=2026-11-23+10%3A15%3A30";

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_bench"),
        name: "bench".into(),
        provider: ProviderKind::Telesign,
        base_url: None,
        public_url: None,
        numbers: vec![ChannelNumber {
            number: Phone::parse_digits("15555550100").expect("number"),
            number_type: NumberType::Geo,
            description: String::new(),
            queue: QueueId::new("q_bench"),
            menu: None,
            send_rate: None,
        }],
        language: None,
        attachments: AttachmentPolicy::default(),
        created_at: datetime!(2026-11-23 0:00 UTC),
        messaging: Default::default(),
        inactivity_secs: None,
        former_numbers: Vec::new(),
    }
}

fn benches(c: &mut Criterion) {
    let key = SecretString::from(KEY.to_string());
    let creds = TelesignCredentials::new(CUSTOMER, key.clone());
    let channel = channel();
    let signature = callback_signature(&key, MO.as_bytes()).expect("signature");
    let headers = vec![("authorization".to_string(), format!("TSA {CUSTOMER}:{signature}"))];
    let now = datetime!(2026-11-23 10:16 UTC);
    c.bench_function("telesign callback: verify + parse an inbound text", |b| {
        b.iter(|| {
            let request = WebhookRequest { method: "POST", url: "", headers: &headers, body: MO.as_bytes() };
            black_box(parse_webhook(&channel, &creds, &request, now).expect("valid"))
        })
    });
    c.bench_function("telesign baseline: one HMAC-SHA256 over the callback body", |b| {
        b.iter(|| black_box(callback_signature(&key, black_box(MO.as_bytes())).expect("signature")))
    });

    let token = SecretString::from("f0e1d2c3b4a5968778695a4b3c2d1e0f".to_string());
    let twilio_creds = TwilioCredentials::new(TWILIO_ACCOUNT, token.clone());
    let twilio_channel = Channel { provider: ProviderKind::Twilio, ..channel.clone() };
    let url = "https://smsdesk.example.com/webhooks/twilio/ch_bench";
    let params: Vec<(String, String)> = serde_urlencoded::from_str(TWILIO_MO).expect("form");
    let twilio_signature = twilio::signature::signature(&token, url, &params);
    let twilio_headers = vec![("x-twilio-signature".to_string(), twilio_signature)];
    c.bench_function("twilio webhook: verify + parse an inbound text", |b| {
        b.iter(|| {
            let request =
                WebhookRequest { method: "POST", url, headers: &twilio_headers, body: TWILIO_MO.as_bytes() };
            black_box(twilio::parse_webhook(&twilio_channel, &twilio_creds, &request, now).expect("valid"))
        })
    });
    c.bench_function("twilio baseline: one HMAC-SHA1 over the URL and body", |b| {
        b.iter(|| {
            let mut signed = String::with_capacity(url.len() + TWILIO_MO.len());
            signed.push_str(url);
            signed.push_str(black_box(TWILIO_MO));
            black_box(twilio::signature::sign(&token, &signed))
        })
    });

    let vonage_secret = SecretString::from("sig-secret-for-the-bench".to_string());
    let vonage_creds = VonageCredentials::new("abcd1234", SecretString::from("s".to_string()))
        .signed(vonage_secret.clone(), SignatureMethod::Sha256);
    let vonage_channel = Channel { provider: ProviderKind::Vonage, ..channel.clone() };
    let mut vonage_params: Vec<(String, String)> = serde_urlencoded::from_str(VONAGE_MO).expect("form");
    vonage_params.push(("timestamp".into(), now.unix_timestamp().to_string()));
    let vonage_sig = vonage::signature::signature(SignatureMethod::Sha256, &vonage_secret, &vonage_params);
    vonage_params.push(("sig".into(), vonage_sig));
    let vonage_body = serde_urlencoded::to_string(&vonage_params).expect("form");
    let vonage_headers = vec![("content-type".to_string(), "application/x-www-form-urlencoded".to_string())];
    c.bench_function("vonage webhook: verify (sha256) + parse an inbound text", |b| {
        b.iter(|| {
            let request = WebhookRequest {
                method: "POST",
                url: "https://smsdesk.example.com/webhooks/vonage/ch_bench",
                headers: &vonage_headers,
                body: vonage_body.as_bytes(),
            };
            black_box(vonage::parse_webhook(&vonage_channel, &vonage_creds, &request, now).expect("valid"))
        })
    });
    c.bench_function("vonage baseline: one HMAC-SHA256 over the signed string", |b| {
        b.iter(|| {
            black_box(vonage::signature::signature(
                SignatureMethod::Sha256,
                &vonage_secret,
                black_box(&vonage_params[..vonage_params.len() - 1]),
            ))
        })
    });

    // ACS: Event Grid signs nothing; the check is the channel secret's constant-time comparison.
    let acs_secret = "eg-secret-for-the-bench-0123456789";
    let acs_creds = smsdesk_providers::acs::AcsCredentials::new(
        "https://contoso.communication.azure.com",
        SecretString::from("c2VjcmV0"),
        SecretString::from(acs_secret),
    );
    let acs_channel = Channel { provider: ProviderKind::Acs, ..channel.clone() };
    let acs_url = format!("https://smsdesk.example.com/webhooks/acs/ch_bench?secret={acs_secret}");
    let acs_body = serde_json::json!([{"id": "7b1c", "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Communication/CommunicationServices/contoso",
        "subject": "/phonenumber/15555550100", "eventType": "Microsoft.Communication.SMSReceived",
        "data": {"MessageId": "Incoming_20261123_1", "From": "15555550123", "To": "15555550100", "Message": "Hi, my order has not arrived yet. Can you check?", "ReceivedTimestamp": "2026-11-23T10:15:30Z", "SegmentCount": 1},
        "eventTime": "2026-11-23T10:15:30Z", "dataVersion": "1.0", "metadataVersion": "1"}]).to_string();
    c.bench_function("acs event grid: authenticate + parse an inbound text", |b| {
        b.iter(|| {
            let request =
                WebhookRequest { method: "POST", url: &acs_url, headers: &[], body: acs_body.as_bytes() };
            black_box(
                smsdesk_providers::acs::parse_webhook(&acs_channel, &acs_creds, &request, now)
                    .expect("valid"),
            )
        })
    });
    c.bench_function("acs baseline: one HMAC-SHA256 over the event body", |b| {
        b.iter(|| {
            black_box(smsdesk_providers::acs::signing::hmac_b64(b"bench-key", black_box(acs_body.as_bytes())))
        })
    });

    // SNS (AWS End User Messaging two-way SMS): RSA-SHA256 (SignatureVersion 2) with a cached certificate.
    let aws_channel = Channel { provider: ProviderKind::Aws, ..channel.clone() };
    let cert_url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-bench.pem";
    let cert = SigningCert::from_pem(sns_signer().cert_pem().as_bytes()).expect("cert");
    let aws = Aws::new(smsdesk_providers::http::client().expect("http"), ProviderOptions::default())
        .with_certificate(cert_url, cert);
    let sns_body = sns_notification(cert_url);
    let aws_creds = AwsCredentials::new("us-east-1").to_stored();
    c.bench_function("sns notification: RSA-SHA256 verify + parse a two-way text", |b| {
        b.iter(|| {
            let request = WebhookRequest {
                method: "POST",
                url: "https://smsdesk.example.com/webhooks/aws/ch_bench",
                headers: &[],
                body: sns_body.as_bytes(),
            };
            black_box(aws.receive_webhook(&aws_channel, &aws_creds, &request, now).expect("valid"))
        })
    });

    let body = "phone_number=15555550123&message=It+ships+today&message_type=ARN&sender_id=15555550100&external_id=msg_1";
    c.bench_function("telesign send: TSA request signature", |b| {
        b.iter(|| {
            black_box(
                sign_request(
                    CUSTOMER,
                    &key,
                    "POST",
                    "application/x-www-form-urlencoded",
                    "Wed, 14 Dec 2016 18:20:12 GMT",
                    "A1592C6F-E384-4CDB-BC42-C3AB970369E9",
                    body,
                    "/v1/messaging",
                )
                .expect("signed"),
            )
        })
    });
    let reply = "Thanks for waiting! Your order #12345 left our warehouse today and should arrive by Friday. €5 credit added. 😀".repeat(10);
    c.bench_function("segment a 1,110-character UCS-2 reply", |b| {
        b.iter(|| black_box(smsdesk_domain::segment::analyze(black_box(&reply))))
    });
}

/// A Notification carrying a two-way SMS, signed (SignatureVersion 2) with the test-time key.
fn sns_notification(cert_url: &str) -> String {
    let message = serde_json::json!({"originationNumber": "+15555550123", "destinationNumber": "+15555550100", "messageKeyword": "KEYWORD_1",
        "messageBody": "Hi, my order has not arrived yet. Can you check?", "inboundMessageId": "in-bench-1"}).to_string();
    let mut v = serde_json::json!({"Type": "Notification", "MessageId": "b1a2c3d4", "TopicArn": "arn:aws:sns:us-east-1:111122223333:t",
        "Message": message, "Timestamp": "2026-11-23T10:15:30.000Z", "SigningCertURL": cert_url});
    sns_signer().sign_v2(&mut v);
    v.to_string()
}

criterion_group!(group, benches);
criterion_main!(group);
