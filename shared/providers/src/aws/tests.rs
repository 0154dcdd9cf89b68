use super::sns::{check_cert_url, check_sns_url, is_sns_host};
use super::*;
use crate::fake_http as fake;
use crate::fixtures::{self, Case, Expect};
use serde_json::json;
use smsdesk_domain::{AttachmentPolicy, ChannelId, ChannelNumber, NumberType, QueueId};
use time::macros::datetime;

// ---------------------------------------------------------------------------------------------------------
// The official vectors (providers.md 5.5: aws/aws-php-sns-message-validator FunctionalValidationsTest.php),
// real SNS messages signed by the certificate in testdata/sns-vector-cert.pem (expired: ignored for them).
// ---------------------------------------------------------------------------------------------------------

const VECTOR_CERT: &str = include_str!("testdata/sns-vector-cert.pem");
const VECTOR_CERT_URL: &str =
    "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem";

struct Vector {
    name: &'static str,
    id: &'static str,
    topic: &'static str,
    subject: Option<&'static str>,
    timestamp: &'static str,
    version: &'static str,
    signature: &'static str,
}

const VECTORS: [Vector; 4] = [
    Vector {
        name: "S1 (SignatureVersion 1)",
        id: "792cda85-518f-5dd3-9163-81d851212f3a",
        topic: "arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362",
        subject: None,
        timestamp: "2022-07-28T21:23:58.317Z",
        version: "1",
        signature: "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfnmd5VpdTKpTyiKmy1qJAZXma0w+yi7G+I33hD1Jyk1Nbym2n0kqp3fVu2aoooiN2ZeLAT2bH0/BtjLSfN1yAOKNoprco4qV9gGUZinXJdj9a1YdNhDR2jKi33ldlsVtEXAtiaDklGEk7DgRKX38GerBPiLg3FdtgY6KC7cdeGpU/dGK+4hjc83Ive1HoFkAwqhpgInM2sMytBosoiXfCmOKmU4xeGD0gHDNZTlJUJQDlzw8Eag0H9f/5zXF9d3uy0YQ==",
    },
    Vector {
        name: "S2 (SignatureVersion 1, Subject)",
        id: "11405cc3-9ac7-56d5-b45d-079e8f7a8edf",
        topic: "arn:aws:sns:us-east-2:295079676684:publish-and-verify-6e11fed2-fcdf-4c52-9dc4-36ef43f37f84",
        subject: Some("Hello world"),
        timestamp: "2022-07-28T22:53:49.654Z",
        version: "1",
        signature: "AItkS26d8yvnIKJevdirIPW7eM/yKbZy3/CF2EreCHmXWB3etWaV5Fb7SYpGABMpugpDZzNyGY1wCVWaopDoQ+7Q/kI2TpDu8bw1eExbi8U3kduvc/2m2fIrI4gDEY8/v3nzoLcr8pPodqMzrX6SzQou4klfaqbNK+rFmH0LVf2Q1VyOROODoSXmo4jg2Yu12jfxccBl96Drr/ihq4MJ4OcrWh6UzXXlVYjJHx2Ui4anNwNEb+Z4C2CAF1DjQUbhDtaoajDBPY+4d9C1OwbqwQpXsd6tyVcI9nFyEsVK8lfnAV+/3GZQcdXHbIUYBRGcBa4X5TlWJku5nDH2ERtHHw==",
    },
    Vector {
        name: "S3 (SignatureVersion 2)",
        id: "17dea24b-55c2-540b-8362-f916557af765",
        topic: "arn:aws:sns:us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e",
        subject: None,
        timestamp: "2022-07-28T21:24:08.324Z",
        version: "2",
        signature: "CXVqp9PfZAL+4JHS3Zxo1PFbQsvnOjvmYhtIf17TWpwc+iIVas8kZ8GopuzVzVMdatE7rCl/O4P91Zp05Dwz8lk8dLhfp8gSu3Njlzxlyrmzo9x3va3Jb7zFnedgS2GKnZWHGBdwTXho+TosNUE+3e10OMSlwN5XGDwX7+R3WL+rn+AXmFAqp3alg27sYa55h1dLE9cGszGPjScPdtF3BmZsUDMx9wSdNKsCk+vSvE8yBjnCmUl7laSFj3LzPVrlSwgNYCF3kYnNAkah7NplK4SFhJYLwS0HCVCQJKa8rVbQLf9cBTu60U402mrgy0bN8xWoyimzbYbrOMJjalqkUg==",
    },
    Vector {
        name: "S4 (SignatureVersion 2, Subject)",
        id: "4504e649-d933-5aa9-8199-bd14ccf05f0b",
        topic: "arn:aws:sns:us-east-2:295079676684:publish-and-verify-530b26da-0687-4fe4-9f71-780bad3181e2",
        subject: Some("Hello world"),
        timestamp: "2022-07-28T22:53:55.086Z",
        version: "2",
        signature: "cETcSvmmkt+My05qCLKexyl0+RyG83mSryKPqTfS+tYcxDJWVcjPJAr+qdpElzVaBl1aTGYVWMY64i9JqZ/JES8pylNj8LGvdhuNQKO59/WCoIimZAsNhn0xEgOeeDU+W/0BU4sdpCGMNjo0S/FuIiWaRe4E0YWRVrxeQevaQ70euDdfWgd5v1eCKQz8b367b9XBmMztL/CWUFI6YaKK/MV21eyvJe3Y7CtVYiOKEYiAZnAEkynK7gUGO5TsgDjGNYhj6U3xYsWgI03bmioSl7kdFSUj+AZ7ugas5fghqxgoDsdfqsjMYKRm5KKHQWsgzI619yIzpNKUiSMHxdZXpQ==",
    },
];

/// The vector as SNS posts it to HTTPS (`SigningCertURL`), or as Lambda hands it over (`SigningCertUrl`,
/// `Subject: null`).
fn vector_body(v: &Vector, message: &str, lambda_shape: bool) -> String {
    let mut body = json!({
        "Type": "Notification", "MessageId": v.id, "TopicArn": v.topic, "Message": message,
        "Timestamp": v.timestamp, "SignatureVersion": v.version, "Signature": v.signature,
        "UnsubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    });
    let cert_key = if lambda_shape { "SigningCertUrl" } else { "SigningCertURL" };
    body[cert_key] = json!(VECTOR_CERT_URL);
    match (v.subject, lambda_shape) {
        (Some(s), _) => body["Subject"] = json!(s),
        (None, true) => body["Subject"] = Value::Null,
        (None, false) => {}
    }
    body.to_string()
}

#[test]
fn s1_string_to_sign() {
    let envelope = Envelope::parse(vector_body(&VECTORS[0], "Hello world", false).as_bytes()).unwrap();
    assert_eq!(
        envelope.string_to_sign().unwrap(),
        "Message\nHello world\nMessageId\n792cda85-518f-5dd3-9163-81d851212f3a\nTimestamp\n2022-07-28T21:23:58.317Z\nTopicArn\narn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362\nType\nNotification\n"
    );
    let s2 = Envelope::parse(vector_body(&VECTORS[1], "Hello world", true).as_bytes()).unwrap();
    assert!(
        s2.string_to_sign()
            .unwrap()
            .contains("MessageId\n11405cc3-9ac7-56d5-b45d-079e8f7a8edf\nSubject\nHello world\nTimestamp")
    );
}

fn vector_plugin() -> Aws {
    Aws::new(crate::http::client().unwrap(), ProviderOptions::default())
        .with_certificate(VECTOR_CERT_URL, SigningCert::from_pem(VECTOR_CERT.as_bytes()).unwrap())
}

/// Every vector verifies in both shapes (its Message, "Hello world", is no text: acknowledged with no
/// event); a one-character change to the Message, or another signature version, is refused.
#[test]
fn official_vectors_fixtures() {
    let mut table = Vec::new();
    for v in &VECTORS {
        for lambda_shape in [false, true] {
            let shape = if lambda_shape { "Lambda shape" } else { "HTTPS shape" };
            table.push(
                Case::post(format!("{}, {shape}", v.name), URL, vector_body(v, "Hello world", lambda_shape))
                    .expect(Expect::Events(Vec::new())),
            );
        }
        table.push(
            Case::post(
                format!("{} with the Message changed", v.name),
                URL,
                vector_body(v, "Hello world!", false),
            )
            .expect(Expect::Unauthorized("does not match")),
        );
        let other = if v.version == "1" { "2" } else { "1" };
        table.push(
            Case::post(
                format!("{} claimed as version {other}", v.name),
                URL,
                vector_body(v, "Hello world", false).replace(
                    &format!("\"SignatureVersion\":\"{}\"", v.version),
                    &format!("\"SignatureVersion\":\"{other}\""),
                ),
            )
            .expect(Expect::Unauthorized("does not match")),
        );
    }
    table.push(
        Case::post(
            "S1 claimed as version 3",
            URL,
            vector_body(&VECTORS[0], "Hello world", false)
                .replace("\"SignatureVersion\":\"1\"", "\"SignatureVersion\":\"3\""),
        )
        .expect(Expect::Unauthorized("neither 1 nor 2")),
    );
    fixtures::run(&vector_plugin(), &channel(), &AwsCredentials::new("us-east-2").to_stored(), NOW, &table);
}

#[test]
fn sns_hosts_and_urls() {
    assert!(is_sns_host("sns.us-east-1.amazonaws.com"));
    assert!(is_sns_host("sns.cn-north-1.amazonaws.com.cn"));
    for bad in [
        "sns.amazonaws.com",
        "sns.us-east-1.amazonaws.com.evil.test",
        "evil.test",
        "xsns.us-east-1.amazonaws.com",
        "sns.a_b.amazonaws.com",
    ] {
        assert!(!is_sns_host(bad), "{bad}");
    }
    assert!(check_cert_url(VECTOR_CERT_URL, false).is_ok());
    assert!(
        check_cert_url("http://sns.us-east-2.amazonaws.com/SimpleNotificationService-1.pem", false).is_err()
    );
    assert!(
        check_cert_url("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-1.txt", false).is_err()
    );
    assert!(check_cert_url("https://sns.us-east-2.amazonaws.com:8443/a.pem", false).is_err());
    assert!(check_cert_url("https://user@sns.us-east-2.amazonaws.com/a.pem", false).is_err());
    assert!(check_cert_url("https://evil.test/sns.us-east-2.amazonaws.com/a.pem", false).is_err());
    assert!(check_cert_url("http://127.0.0.1:9/a.pem", false).is_err());
    assert!(check_cert_url("http://127.0.0.1:9/a.pem", true).is_ok());
    assert!(check_cert_url("http://10.0.0.1:9/a.pem", true).is_err());
    assert!(
        check_sns_url(
            "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&Token=x",
            "SubscribeURL",
            false
        )
        .is_ok()
    );
    assert!(check_sns_url("https://169.254.169.254/latest/meta-data", "SubscribeURL", true).is_err());
}

// ---------------------------------------------------------------------------------------------------------
// Messages of smsdesk's own, signed with a key made at test time whose certificate a fake host serves on loopback.
// ---------------------------------------------------------------------------------------------------------

const TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:smsdesk-two-way";
const OUR_NUMBER: &str = "+18005550199";
const CUSTOMER: &str = "+14255550123";
const URL: &str = "https://hooks.example.test/webhooks/aws/ch_aws";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_aws"),
        name: "Support".into(),
        provider: ProviderKind::Aws,
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

fn creds() -> AwsCredentials {
    let mut c = AwsCredentials::new("us-east-1");
    c.topic_arn = Some(TOPIC.into());
    c
}

/// Signs an envelope (SignatureVersion 2) with the test-time key (`crate::test_support`).
fn sign_v2(fields: &mut Value) {
    crate::test_support::sns_signer().sign_v2(fields);
}

/// The test-time key's self-signed certificate, as a fake `SigningCertURL` host serves it.
fn cert() -> &'static str {
    crate::test_support::sns_signer().cert_pem()
}

fn notification(cert_url: &str, message: &Value) -> Value {
    let mut v = json!({
        "Type": "Notification", "MessageId": "5b3fa6c1-0000-4000-8000-000000000001", "TopicArn": TOPIC,
        "Message": message.to_string(), "Timestamp": "2026-11-23T11:59:59.000Z", "Signature": null,
        "SigningCertURL": cert_url, "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    });
    sign_v2(&mut v);
    v
}

fn two_way(id: &str, to: &str, text: &str) -> Value {
    json!({"originationNumber": CUSTOMER, "destinationNumber": to, "messageKeyword": "KEYWORD_111122223333",
           "messageBody": text, "inboundMessageId": id, "previousPublishedMessageId": "prev-1"})
}

fn delivery(id: &str, event_type: &str) -> Value {
    json!({"eventType": event_type, "eventVersion": "1.0", "eventTimestamp": 1764000000000u64, "isFinal": true,
           "originationPhoneNumber": OUR_NUMBER, "destinationPhoneNumber": CUSTOMER, "messageId": id,
           "messageStatus": "DELIVERED", "messageStatusDescription": "Message has been accepted by phone",
           "context": {CONTEXT_MESSAGE_ID: "msg_1"}, "totalMessageParts": 1})
}

fn confirmation(cert_url: &str, subscribe_url: &str) -> Value {
    let mut v = json!({
        "Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e2425c464de", "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic. To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url, "Timestamp": "2026-11-23T11:59:59.000Z", "Signature": null,
        "SigningCertURL": cert_url,
    });
    sign_v2(&mut v);
    v
}

fn loopback_plugin() -> Aws {
    Aws::new(crate::http::client().unwrap(), ProviderOptions { allow_loopback_http: true })
}

#[tokio::test]
async fn sns_fixtures_through_the_online_path() {
    let cert_host = fake::start(vec![(200, cert())]).await;
    let cert_url = format!("{}SimpleNotificationService-test.pem", cert_host.url);
    let subscribe = fake::start(vec![(200, "<ConfirmSubscriptionResponse/>")]).await;
    let subscribe_url = format!("{}?Action=ConfirmSubscription&Token=2336412f", subscribe.url);
    let mut wrong_topic = notification(&cert_url, &two_way("in-9", OUR_NUMBER, "hi"));
    wrong_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:other");
    sign_v2(&mut wrong_topic);
    let tampered = notification(&cert_url, &two_way("in-1", OUR_NUMBER, "hi"))
        .to_string()
        .replace("\\\"hi\\\"", "\\\"ho\\\"");
    let table = vec![
        Case::post(
            "two-way SMS",
            URL,
            notification(&cert_url, &two_way("in-1", OUR_NUMBER, "Where is my order?")).to_string(),
        )
        .header("x-amz-sns-message-type", "Notification")
        .header("content-type", "text/plain; charset=UTF-8")
        .expect(Expect::Events(vec![InboundEvent::Message(InboundMessage {
            channel_id: ChannelId::new("ch_aws"),
            provider_message_id: "in-1".into(),
            from: phone(CUSTOMER),
            to: phone(OUR_NUMBER),
            text: "Where is my order?".into(),
            received_at: NOW,
            part: None,
            media: Vec::new(),
        })])),
        Case::post(
            "delivery event",
            URL,
            notification(&cert_url, &delivery("out-1", "TEXT_DELIVERED")).to_string(),
        )
        .expect(Expect::Events(vec![InboundEvent::Receipt(DeliveryReceipt {
            channel_id: ChannelId::new("ch_aws"),
            provider_message_id: "out-1".into(),
            external_id: Some("msg_1".into()),
            status: MessageStatus::Delivered,
            provider_status_code: "TEXT_DELIVERED".into(),
            description: Some("Message has been accepted by phone".into()),
            at: NOW,
            opted_out: false,
        })])),
        Case::post("subscription confirmation", URL, confirmation(&cert_url, &subscribe_url).to_string())
            .header("x-amz-sns-message-type", "SubscriptionConfirmation")
            .expect(Expect::Events(Vec::new())),
        Case::post("tampered text", URL, tampered).expect(Expect::Unauthorized("does not match")),
        Case::post("another topic", URL, wrong_topic.to_string())
            .expect(Expect::Unauthorized("not the channel's topic")),
        Case::post(
            "two-way SMS to another number",
            URL,
            notification(&cert_url, &two_way("in-2", "+18005550100", "hi")).to_string(),
        )
        .expect(Expect::Malformed("not on this channel")),
        Case::post(
            "certificate on another host",
            URL,
            notification(
                "https://evil.test/SimpleNotificationService-x.pem",
                &two_way("in-3", OUR_NUMBER, "hi"),
            )
            .to_string(),
        )
        .expect(Expect::Unauthorized("not on an SNS host")),
        Case::post(
            "confirmation to a non-SNS URL",
            URL,
            confirmation(&cert_url, "https://evil.test/confirm").to_string(),
        )
        .expect(Expect::Unauthorized("SubscribeURL")),
        Case::post("not JSON", URL, "hello").expect(Expect::Malformed("not JSON")),
        Case::post("no signature fields", URL, r#"{"Type":"Notification","Message":"x"}"#)
            .expect(Expect::Malformed("missing")),
        Case::new("GET", "GET", URL, "").expect(Expect::MethodNotAllowed),
    ];
    fixtures::run_online(&loopback_plugin(), &channel(), &creds().to_stored(), NOW, &table).await;
    // The certificate was fetched once and kept; the subscription was confirmed once, only when verified.
    assert_eq!(cert_host.seen.lock().unwrap().len(), 1);
    let confirmations = subscribe.seen.lock().unwrap().clone();
    assert_eq!(confirmations.len(), 1);
    assert_eq!(confirmations[0].method, "GET");
}

#[tokio::test]
async fn an_unreachable_certificate_or_confirmation_is_retried_later() {
    let (_socket, closed) = fake::closed_port();
    let cert_host = fake::start(vec![(200, cert())]).await;
    let cert_url = format!("{}SimpleNotificationService-test.pem", cert_host.url);
    let table = vec![
        Case::post(
            "certificate host down",
            URL,
            notification(
                &format!("{closed}/SimpleNotificationService-x.pem"),
                &two_way("in-1", OUR_NUMBER, "hi"),
            )
            .to_string(),
        )
        .expect(Expect::Unavailable("could not fetch the SNS signing certificate")),
        Case::post(
            "confirmation host down",
            URL,
            confirmation(&cert_url, &format!("{closed}/?Action=ConfirmSubscription")).to_string(),
        )
        .expect(Expect::Unavailable("could not confirm")),
    ];
    fixtures::run_online(&loopback_plugin(), &channel(), &creds().to_stored(), NOW, &table).await;
}

#[tokio::test]
async fn loopback_urls_are_refused_unless_allowed() {
    let cert_host = fake::start(vec![(200, cert())]).await;
    let cert_url = format!("{}SimpleNotificationService-test.pem", cert_host.url);
    let plugin = Aws::new(crate::http::client().unwrap(), ProviderOptions::default());
    let table = vec![
        Case::post(
            "loopback certificate in production",
            URL,
            notification(&cert_url, &two_way("in-1", OUR_NUMBER, "hi")).to_string(),
        )
        .expect(Expect::Unauthorized("is not https://")),
    ];
    fixtures::run_online(&plugin, &channel(), &creds().to_stored(), NOW, &table).await;
    assert!(cert_host.seen.lock().unwrap().is_empty(), "nothing may be fetched from a refused URL");
}

#[test]
fn delivery_events_follow_the_one_order() {
    assert_eq!(delivery_status("TEXT_SUCCESSFUL", Some(true)), MessageStatus::Delivered);
    assert_eq!(delivery_status("TEXT_BLOCKED", Some(true)), MessageStatus::Failed);
    assert_eq!(delivery_status("TEXT_TTL_EXPIRED", Some(true)), MessageStatus::Undelivered);
    assert_eq!(delivery_status("TEXT_PENDING", Some(false)), MessageStatus::Sent);
    assert_eq!(delivery_status("TEXT_UNKNOWN", Some(true)), MessageStatus::Sent);
}

/// providers.md 5.3: state follows `isFinal`. A carrier's first acceptance (`TEXT_SUCCESSFUL`, not final)
/// is only `sent`, so that a final `TEXT_BLOCKED` after it still fails the message.
#[test]
fn only_a_final_delivery_event_settles_a_message() {
    let status = |event_type: &str, is_final: Option<Value>| {
        let mut event = delivery("aws-1", event_type);
        match is_final {
            Some(v) => event["isFinal"] = v,
            None => drop(event.as_object_mut().unwrap().remove("isFinal")),
        }
        match parse_notification(&channel(), &event.to_string(), NOW).unwrap().as_slice() {
            [InboundEvent::Receipt(r)] => r.status,
            other => panic!("{event_type}: {other:?}"),
        }
    };
    use MessageStatus::{Delivered, Failed, Sent, Undelivered};
    assert_eq!(status("TEXT_SUCCESSFUL", Some(json!(false))), Sent);
    assert_eq!(status("TEXT_BLOCKED", Some(json!(true))), Failed);
    assert_eq!(status("TEXT_SUCCESSFUL", Some(json!(true))), Delivered);
    assert_eq!(status("TEXT_DELIVERED", Some(json!(false))), Sent);
    assert_eq!(status("TEXT_DELIVERED", Some(json!(true))), Delivered);
    // A failure that is not final yet (AWS still tries) does not end the message either.
    assert_eq!(status("TEXT_CARRIER_UNREACHABLE", Some(json!(false))), Sent);
    assert_eq!(status("TEXT_CARRIER_UNREACHABLE", Some(json!(true))), Undelivered);
    assert_eq!(status("TEXT_SPAM", Some(json!("true"))), Failed);
    // The final word after 72 h without one: no more than `sent`.
    assert_eq!(status("TEXT_UNKNOWN", Some(json!(true))), Sent);
    assert_eq!(status("TEXT_QUEUED", Some(json!(false))), Sent);
    // An event without isFinal is judged by its type.
    assert_eq!(status("TEXT_DELIVERED", None), Delivered);
}

#[test]
fn credentials_are_checked_and_redacted() {
    let plugin = loopback_plugin();
    let full = json!({"region": "eu-west-3", "origination_identity": "phone-0123456789abcdef", "access_key_id": "AKIDEXAMPLE",
                      "secret_access_key": "wJalrXUtnFEMI/K7MDENG", "topic_arn": TOPIC, "configuration_set": "smsdesk"});
    let stored = plugin.parse_credentials(Some(&full)).unwrap();
    let shown = plugin.redact(&stored).to_string();
    assert!(!shown.contains("wJalrXUtnFEMI") && shown.contains("AKIDEXAMPLE"), "{shown}");
    assert!(plugin.parse_credentials(Some(&json!({"region": "us-east-1"}))).is_ok());
    let err = |v: Value| plugin.parse_credentials(Some(&v)).unwrap_err().to_string();
    assert!(err(json!({"region": "Virginia"})).starts_with("credentials.region"));
    assert!(err(json!({})).starts_with("credentials.region"));
    assert!(
        err(json!({"region": "us-east-1", "access_key_id": "AKID"}))
            .starts_with("credentials.secret_access_key")
    );
    assert!(
        err(json!({"region": "us-east-1", "topic_arn": "my-topic"})).starts_with("credentials.topic_arn")
    );
}

#[test]
fn the_signature_report_checks_offline_with_the_certificate_file() {
    let headers = Vec::new();
    let explain = |body: &str, cert: Option<&[u8]>| {
        let request = WebhookRequest { method: "POST", url: URL, headers: &headers, body: body.as_bytes() };
        loopback_plugin().explain_signature(&SignatureCheck {
            request,
            secret: None,
            signature_method: None,
            certificate: cert,
            now: NOW,
        })
    };
    let good = vector_body(&VECTORS[0], "Hello world", false);
    let report = explain(&good, Some(VECTOR_CERT.as_bytes()));
    assert!(report.valid, "{report:?}");
    assert!(report.checked.iter().any(|c| c.contains("Message\\nHello world")), "{report:?}");
    assert!(
        report.notes.iter().any(|n| n.contains("expired")),
        "the expiry is noted beside the verdict: {report:?}"
    );
    assert!(!explain(&vector_body(&VECTORS[0], "Hello world!", false), Some(VECTOR_CERT.as_bytes())).valid);
    let without = explain(&good, None);
    assert!(!without.valid && without.notes.iter().any(|n| n.contains("--cert-file")), "{without:?}");
}

#[cfg(not(feature = "aws-sms"))]
#[tokio::test]
async fn a_build_without_the_sdk_refuses_to_send() {
    let client = loopback_plugin().client(&channel(), &creds().to_stored()).unwrap();
    assert!(matches!(client.validate().await, crate::Validation::Unreachable { .. }));
}

// ---------------------------------------------------------------------------------------------------------
// The SDK client against a fake End User Messaging API on loopback, which checks the SigV4 header.
// ---------------------------------------------------------------------------------------------------------

#[cfg(feature = "aws-sms")]
mod sdk {
    use super::*;
    use crate::{SendError, SendReceipt, SendRequest, Validation};
    use smsdesk_domain::MessageId;
    use std::time::Duration;

    fn keyed() -> AwsCredentials {
        let mut c = creds();
        c.access_key_id = Some("AKIDEXAMPLE".into());
        c.secret_access_key = Some(secrecy::SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        c
    }

    fn client_for(url: &str, creds: AwsCredentials) -> Box<dyn SmsProvider> {
        let mut ch = channel();
        ch.base_url = Some(url.to_string());
        loopback_plugin().client(&ch, &creds.to_stored()).unwrap()
    }

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

    /// `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/<yyyymmdd>/us-east-1/sms-voice/aws4_request,
    /// SignedHeaders=...;host;...;x-amz-date;..., Signature=<64 hex>`.
    fn assert_sigv4(seen: &fake::Seen) {
        let auth = seen.header("authorization");
        let rest =
            auth.strip_prefix("AWS4-HMAC-SHA256 Credential=").unwrap_or_else(|| panic!("not SigV4: {auth}"));
        let (scope, rest) = rest.split_once(", SignedHeaders=").unwrap();
        let parts: Vec<&str> = scope.split('/').collect();
        assert_eq!(parts.len(), 5, "{scope}");
        assert_eq!(
            (parts[0], parts[2], parts[3], parts[4]),
            ("AKIDEXAMPLE", "us-east-1", "sms-voice", "aws4_request")
        );
        assert_eq!(parts[1], &seen.header("x-amz-date")[..8]);
        let (signed, signature) = rest.split_once(", Signature=").unwrap();
        let signed: Vec<&str> = signed.split(';').collect();
        assert!(
            signed.contains(&"host") && signed.contains(&"x-amz-date") && signed.contains(&"x-amz-target"),
            "{signed:?}"
        );
        assert!(signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()), "{signature}");
    }

    #[tokio::test]
    async fn a_send_is_signed_by_the_sdk_and_its_message_id_kept() {
        let api = fake::start(vec![(200, r#"{"MessageId":"e1f2a3b4-0000-4000-8000-00000000abcd"}"#)]).await;
        let receipt = client_for(&api.url, keyed()).send(&request()).await.unwrap();
        assert_eq!(receipt, SendReceipt::one("e1f2a3b4-0000-4000-8000-00000000abcd"));
        let seen = api.seen.lock().unwrap()[0].clone();
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/"));
        assert_eq!(seen.header("x-amz-target"), "PinpointSMSVoiceV2.SendTextMessage");
        assert_sigv4(&seen);
        let body: Value = serde_json::from_str(&seen.body).unwrap();
        assert_eq!(body["DestinationPhoneNumber"], CUSTOMER);
        assert_eq!(body["OriginationIdentity"], OUR_NUMBER, "the channel's number when no identity is set");
        assert_eq!(body["MessageBody"], "It ships today");
        assert_eq!(body["Context"][CONTEXT_MESSAGE_ID], "msg_1");
    }

    #[tokio::test]
    async fn send_errors_are_sorted() {
        let api = fake::start(vec![
            (400, r#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#),
            (400, r#"{"__type":"ConflictException","Message":"opted out","Reason":"DESTINATION_PHONE_NUMBER_OPTED_OUT","ResourceType":"opt-out-list","ResourceId":"x"}"#),
            (400, r#"{"__type":"ConflictException","Message":"not verified","Reason":"DESTINATION_PHONE_NUMBER_NOT_VERIFIED","ResourceType":"x","ResourceId":"x"}"#),
            (400, r#"{"__type":"ValidationException","Message":"bad number","Reason":"INVALID_PARAMETER"}"#),
            (403, r#"{"__type":"AccessDeniedException","Message":"no"}"#),
            (500, r#"{"__type":"InternalServerException","Message":"oops"}"#),
        ])
        .await;
        let client = client_for(&api.url, keyed());
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(client.send(&request()).await.unwrap_err());
        }
        assert!(matches!(&got[0], SendError::Throttled { .. }), "{got:?}");
        assert!(matches!(&got[1], SendError::OptedOut { .. }), "{got:?}");
        assert!(
            matches!(&got[2], SendError::Permanent { reason } if reason.contains("ConflictException")),
            "{got:?}"
        );
        assert!(
            matches!(&got[3], SendError::Permanent { reason } if reason.contains("bad number")),
            "{got:?}"
        );
        assert!(matches!(&got[4], SendError::Permanent { .. }), "{got:?}");
        assert!(matches!(&got[5], SendError::Transient { .. }), "{got:?}");
        assert_eq!(api.seen.lock().unwrap().len(), 6, "the SDK's own retries are off");
        let (_socket, closed) = fake::closed_port();
        let refused = client_for(&closed, keyed()).send(&request()).await.unwrap_err();
        assert!(matches!(refused, SendError::Transient { .. }), "{refused:?}");
    }

    #[tokio::test]
    async fn a_send_without_an_answer_is_unknown() {
        let api = fake::start(vec![(200, r#"{"MessageId":"late"}"#, Duration::from_secs(12))]).await;
        let got = client_for(&api.url, keyed()).send(&request()).await.unwrap_err();
        assert!(matches!(got, SendError::Unknown { .. }), "{got:?}");
    }

    /// A server that reads a whole request, then resets the connection (SO_LINGER 0) instead of
    /// answering: the request reached it. Counts the requests it read.
    async fn resetting() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let (mut got, mut buf) = (Vec::new(), vec![0u8; 16 * 1024]);
                    while !whole_request(&got) {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, SeqCst);
                    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                });
            }
        });
        (url, seen)
    }

    /// The headers and as much body as their Content-Length says.
    fn whole_request(got: &[u8]) -> bool {
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        got.len() >= end + 4 + length
    }

    #[tokio::test]
    async fn a_connection_reset_after_the_request_left_is_unknown_never_retried() {
        let (url, seen) = resetting().await;
        let got = client_for(&url, keyed()).send(&request()).await.unwrap_err();
        assert!(matches!(&got, SendError::Unknown { reason } if reason.contains("reset")), "{got:?}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1, "the request reached the server once");
    }

    #[tokio::test]
    async fn validation_tells_invalid_from_unreachable() {
        let api = fake::start(vec![
            (200, r#"{"AccountAttributes":[{"Name":"ACCOUNT_TIER","Value":"PRODUCTION"}]}"#),
            (400, r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#),
            (503, ""),
            (200, r#"{"PhoneNumbers":[{"PhoneNumberArn":"arn","PhoneNumberId":"phone-1","PhoneNumber":"+18005550199","Status":"ACTIVE","IsoCountryCode":"US","MessageType":"TRANSACTIONAL","NumberCapabilities":["SMS"],"NumberType":"TOLL_FREE","MonthlyLeasingPrice":"2","TwoWayEnabled":false,"SelfManagedOptOutsEnabled":false,"OptOutListName":"Default","DeletionProtectionEnabled":false,"CreatedTimestamp":1.7E9}]}"#),
        ])
        .await;
        let client = client_for(&api.url, keyed());
        assert_eq!(client.validate().await, Validation::Valid);
        assert!(
            matches!(client.validate().await, Validation::Invalid { reason } if reason.contains("UnrecognizedClient"))
        );
        assert!(matches!(client.validate().await, Validation::Unreachable { .. }));
        let mut with_number = keyed();
        with_number.origination_identity = Some("phone-1".into());
        let verdict = client_for(&api.url, with_number).validate().await;
        assert!(
            matches!(&verdict, Validation::Invalid { reason } if reason.contains("two-way")),
            "{verdict:?}"
        );
        let seen = api.seen.lock().unwrap().clone();
        assert_eq!(seen[0].header("x-amz-target"), "PinpointSMSVoiceV2.DescribeAccountAttributes");
        assert_eq!(seen[3].header("x-amz-target"), "PinpointSMSVoiceV2.DescribePhoneNumbers");
        assert_sigv4(&seen[0]);
    }
}
