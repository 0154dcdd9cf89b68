use super::*;
use crate::fixtures::{self, Expect};
use smsdesk_domain::{
    AttachmentPolicy, ChannelId, ChannelNumber, MessageId, NumberType, ProviderKind, QueueId,
};
use time::macros::datetime;

/// The SDK test vectors' common inputs (providers.md section 1.7).
const CUSTOMER_ID: &str = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890";
const KEY_P: &str =
    "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==";
const DATE: &str = "Wed, 14 Dec 2016 18:20:12 GMT";
const NONCE: &str = "A1592C6F-E384-4CDB-BC42-C3AB970369E9";
const RESOURCE: &str = "/v1/resource";

fn key(k: &str) -> SecretString {
    SecretString::from(k.to_string())
}

fn creds() -> TelesignCredentials {
    TelesignCredentials::new(CUSTOMER_ID, key(KEY_P))
}

#[test]
fn t1_form_post_signature() {
    let sts = string_to_sign("POST", FORM_CONTENT_TYPE, DATE, NONCE, "test=param", RESOURCE);
    assert_eq!(
        sts,
        "POST\napplication/x-www-form-urlencoded\nWed, 14 Dec 2016 18:20:12 GMT\nx-ts-auth-method:HMAC-SHA256\n\
         x-ts-nonce:A1592C6F-E384-4CDB-BC42-C3AB970369E9\ntest=param\n/v1/resource"
    );
    let auth = sign_request(
        CUSTOMER_ID,
        &key(KEY_P),
        "POST",
        FORM_CONTENT_TYPE,
        DATE,
        NONCE,
        "test=param",
        RESOURCE,
    );
    assert_eq!(
        auth.unwrap(),
        "TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890:2xVlmbrxLjYrrPun3G3WMNG6Jon4yKcTeOoK9DjXJ/Q="
    );
}

#[test]
fn t2_get_signature_leaves_out_the_body_line() {
    let sts = string_to_sign("GET", "", DATE, NONCE, "", RESOURCE);
    assert_eq!(
        sts,
        "GET\n\nWed, 14 Dec 2016 18:20:12 GMT\nx-ts-auth-method:HMAC-SHA256\n\
         x-ts-nonce:A1592C6F-E384-4CDB-BC42-C3AB970369E9\n/v1/resource"
    );
    let auth = sign_request(CUSTOMER_ID, &key(KEY_P), "GET", "", DATE, NONCE, "", RESOURCE).unwrap();
    assert_eq!(auth, "TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890:aUm7I+9GKl3ww7PNeeJntCT0iS7b+EmRKEE4LnRzChQ=");
}

#[test]
fn t4_plain_base64_key() {
    let auth = sign_request(
        CUSTOMER_ID,
        &key("VGVzdCBLZXk="),
        "POST",
        FORM_CONTENT_TYPE,
        DATE,
        NONCE,
        "test=param",
        RESOURCE,
    )
    .unwrap();
    assert_eq!(auth, "TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890:vXw/XzywdhgfEG2/zWLaFp7oXmjLB8iJDMndvDbZMjk=");
}

#[test]
fn t6_callback_signature() {
    assert_eq!(
        callback_signature(&key(KEY_P), b"{'test': 123}").unwrap(),
        "B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744="
    );
}

#[test]
fn key_decoding_is_lenient_like_the_sdks() {
    let padded = decode_api_key(&key("VGVzdCBLZXk=")).unwrap();
    assert_eq!(padded, b"Test Key");
    assert_eq!(decode_api_key(&key("VGVzdCBLZXk")).unwrap(), padded, "missing padding");
    assert_eq!(decode_api_key(&key(" VGVz-dCBL\nZXk= ")).unwrap(), padded, "stray characters");
    assert_eq!(decode_api_key(&key("")), Err(TelesignError::EmptyApiKey));
    assert_eq!(decode_api_key(&key("----")), Err(TelesignError::EmptyApiKey));
    assert_eq!(decode_api_key(&key("VGVzd")), Err(TelesignError::ApiKeyNotBase64));
}

#[test]
fn signing_errors_do_not_reveal_the_key() {
    let err = sign_request(CUSTOMER_ID, &key("VGVzd"), "GET", "", DATE, NONCE, "", RESOURCE).unwrap_err();
    assert!(!err.to_string().contains("VGVzd"));
}

#[test]
fn send_answers_are_classified() {
    let ok = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDEF","external_id":"msg_1",
        "status":{"code":290,"description":"Message in progress","updated_on":"2026-11-23T10:00:00Z"}}"#;
    assert_eq!(classify_send(200, ok, None), Ok(SendReceipt::one("0123456789ABCDEF0123456789ABCDEF")));

    let permanent = |status: u16, body: &str, needle: &str| match classify_send(status, body, None) {
        Err(SendError::Permanent { reason }) => assert!(reason.contains(needle), "{status}: {reason}"),
        other => panic!("{status} {body}: expected permanent, got {other:?}"),
    };
    let transient = |status: u16, body: &str, needle: &str| match classify_send(status, body, None) {
        Err(SendError::Transient { reason }) => assert!(reason.contains(needle), "{status}: {reason}"),
        other => panic!("{status} {body}: expected transient, got {other:?}"),
    };
    // Taken without a reference id: unknown, so that it is neither retried nor shown as failed.
    assert!(matches!(
        classify_send(200, r#"{"status":{"code":290}}"#, None),
        Err(SendError::Unknown { reason }) if reason.contains("no reference_id")
    ));
    permanent(
        400,
        r#"{"status":{"code":11000,"description":"Invalid value for parameter phone_number."},"errors":[]}"#,
        "TeleSign HTTP 400: 11000 Invalid value for parameter phone_number.",
    );
    permanent(
        400,
        r#"{"errors":[{"code":12009,"description":"Missing required parameter message."}]}"#,
        "12009",
    );
    // Our credentials refused: nothing was sent (the sender may re-read a rotated key once).
    assert!(matches!(
        classify_send(401, r#"{"status":{"code":10008,"description":"Invalid signature."}}"#, None),
        Err(SendError::Unauthorized { reason }) if reason.contains("10008 Invalid signature.")
    ));
    permanent(429, r#"{"status":{"code":10020,"description":"Hard cap reached."}}"#, "10020");
    // A 429 is throttling: retried, not before TeleSign's Retry-After when it sent one.
    let rate_limited = r#"{"status":{"code":10019,"description":"Rate limit exceeded."}}"#;
    let seven = Some(Duration::from_secs(7));
    assert!(matches!(
        classify_send(429, rate_limited, seven),
        Err(SendError::Throttled { reason, retry_after }) if reason.contains("10019") && retry_after == seven
    ));
    assert!(matches!(classify_send(429, "", None), Err(SendError::Throttled { retry_after: None, .. })));
    assert!(
        matches!(classify_send(503, "", seven), Err(SendError::Throttled { retry_after, .. }) if retry_after == seven)
    );
    permanent(429, r#"{"status":{"code":10020,"description":"Hard cap reached."}}"#, "10020");
    transient(503, r#"{"status":{"code":10000,"description":"System unavailable."}}"#, "10000");
    transient(502, "<html>Bad Gateway</html>", "<html>Bad Gateway</html>");
}

#[test]
fn reasons_combine_status_and_errors_without_repeats() {
    let body = r#"{"status":{"code":11000,"description":"Invalid value for parameter phone_number."},
        "errors":[{"code":11000,"description":"Invalid value for parameter phone_number."},
                  {"code":-30006,"description":"Invalid Signature."}]}"#;
    assert_eq!(
        describe(400, body),
        "TeleSign HTTP 400: 11000 Invalid value for parameter phone_number.; -30006 Invalid Signature."
    );
    assert_eq!(error_codes(body), vec![11000, 11000, -30006]);
    assert_eq!(describe(500, ""), "TeleSign HTTP 500");
    assert_eq!(describe(500, &"x".repeat(300)).chars().count(), "TeleSign HTTP 500: ".len() + 201);
}

#[test]
fn validation_answers_are_classified() {
    let invalid = r#"{"status":{"code":10022,"description":"Invalid API key."}}"#;
    assert_eq!(classify_validation(404, r#"{"status":{"code":10017}}"#), Validation::Valid);
    assert_eq!(classify_validation(400, r#"{"status":{"code":11011}}"#), Validation::Valid);
    assert_eq!(classify_validation(200, "{}"), Validation::Valid);
    assert_eq!(
        classify_validation(401, invalid),
        Validation::Invalid { reason: "TeleSign HTTP 401: 10022 Invalid API key.".into() }
    );
    for status in [429, 500, 503, 302] {
        assert!(matches!(classify_validation(status, ""), Validation::Unreachable { .. }), "{status}");
    }
}

#[test]
fn delivery_codes_map_to_statuses() {
    use MessageStatus::*;
    let cases = [
        (200, Delivered),
        (201, Delivered),
        (203, Sent),
        (290, Sent),
        (292, Sent),
        (295, Sent),
        (207, Undelivered),
        (210, Undelivered),
        (221, Undelivered),
        (286, Undelivered),
        (500, Undelivered),
        (513, Undelivered),
        (515, Undelivered),
        (517, Undelivered),
        (521, Undelivered),
        (250, Undelivered),
        (251, Undelivered),
        (599, Undelivered),
        (514, Sent),
        (516, Sent),
        (1500, Sent),
    ];
    for (code, status) in cases {
        assert_eq!(delivery_status(code), status, "code {code}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Callback fixtures, one table (courier style): raw body and Authorization header in, events or error out.
// ---------------------------------------------------------------------------------------------------------

const OUR_NUMBER: &str = "15555550199";
const CUSTOMER: &str = "15555550100";
const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_ts"),
        name: "Support".into(),
        provider: ProviderKind::Telesign,
        base_url: None,
        public_url: None,
        numbers: vec![ChannelNumber {
            number: Phone::parse_digits(OUR_NUMBER).unwrap(),
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

const MO: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDEF","sub_resource":"mo_sms","submit_timestamp":"2026-11-23T10:15:30.123456Z","errors":[],"status":{"code":1500,"description":"Delivered","updated_on":"2026-11-23T10:15:30.500000Z"},"user_response":{"phone_number":"15555550100","mo_message":"Hi, my order has not arrived","sender_id":"15555550199","iso_country_code":"US"}}"#;
const MO_OTHER_NUMBER: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE0","sub_resource":"mo_sms","submit_timestamp":"2026-11-23T10:15:30Z","errors":[],"status":{"code":1500,"description":"Delivered"},"user_response":{"phone_number":"15555550100","mo_message":"Hi","sender_id":"15555550142"}}"#;
const MO_NO_TEXT: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE1","sub_resource":"mo_sms","submit_timestamp":"2026-11-23T10:15:30Z","errors":[],"status":{"code":1500,"description":"Delivered"},"user_response":{"phone_number":"15555550100","sender_id":"15555550199"}}"#;
const MO_BAD_PHONE: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE2","sub_resource":"mo_sms","errors":[],"status":{"code":1500},"user_response":{"phone_number":"12AB","mo_message":"Hi","sender_id":"15555550199"}}"#;
const MO_NO_TIMESTAMP: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE3","sub_resource":"mo_sms","submit_timestamp":"yesterday","errors":[],"status":{"code":1500},"user_response":{"phone_number":"+1 555 555 0100","mo_message":"","sender_id":"15555550199"}}"#;
const MMS: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE4","sub_resource":"mo_mms","phone_number":"15555550100","content":{"url_image_1":"https://example.invalid/a.jpg"}}"#;
const MMS_FULL: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE5","sub_resource":"mo_mms","submit_timestamp":"2026-11-23T10:15:30Z","user_response":{"phone_number":"15555550100","sender_id":"15555550199","content":{"url_video_1":"https://rest-api.telesign.com/m/v1.mp4","text_2":"and the box","url_image_2":"https://rest-api.telesign.com/m/b.png","text_1":"The broken part","url_image_1":"https://rest-api.telesign.com/m/a.jpg","url_audio_1":"https://rest-api.telesign.com/m/n.amr","subject":"order 12345"}}}"#;
const MMS_EMPTY: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE6","sub_resource":"mo_mms","phone_number":"15555550100","content":{"subject":"nothing"}}"#;
const MMS_OTHER_NUMBER: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE7","sub_resource":"mo_mms","phone_number":"15555550100","sender_id":"15555550142","content":{"url_image_1":"https://rest-api.telesign.com/m/a.jpg"}}"#;
const MMS_NO_CUSTOMER: &str = r#"{"reference_id":"0123456789ABCDEF0123456789ABCDE8","sub_resource":"mo_mms","content":{"url_image_1":"https://rest-api.telesign.com/m/a.jpg"}}"#;
const DLR_DELIVERED: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456789","status":{"code":200,"description":"Delivered to handset","updated_on":"2026-11-23T10:16:02.000000Z"},"submit_timestamp":"2026-11-23T10:15:58.000000Z","external_id":"msg_out_1","additional_info":{"mcc":"310","mnc":"260","price":0.0075,"currency":"USD","message_parts_count":1}}"#;
const DLR_FAILED: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456788","status":{"code":221,"description":"Message expired","updated_on":"2026-11-23T22:16:02Z"},"submit_timestamp":"2026-11-23T10:15:58Z","external_id":null}"#;
const DLR_INTERMEDIATE: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456787","status":{"code":203,"description":"Delivered to gateway","updated_on":"2026-11-23T10:15:59Z"},"submit_timestamp":"2026-11-23T10:15:58Z","external_id":"msg_out_2"}"#;
const DLR_STRING_CODE: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456786","status":{"code":"207","description":"Invalid destination number"},"external_id":"msg_out_3"}"#;
const DLR_NO_REFERENCE: &str =
    r#"{"status":{"code":200,"description":"Delivered to handset"},"external_id":"msg_out_4"}"#;
const DLR_BAD_CODE: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456785","status":{"code":"soon"}}"#;
const NEITHER: &str = r#"{"reference_id":"ABCDEF0123456789ABCDEF0123456784","errors":[]}"#;

/// How a case's Authorization header is made.
enum Auth {
    /// Signed correctly with the channel's key over the raw body.
    Signed,
    /// Signed correctly, with the scheme written `tsa` (TeleSign may send either case).
    SignedLowercase,
    None,
    Raw(&'static str),
    /// A correct signature under another customer id.
    OtherCustomer,
}

/// One row of TeleSign's table: a body and how its Authorization header is made; [`fixture`] turns it into
/// the shared raw-request shape.
struct Case {
    name: &'static str,
    body: &'static str,
    auth: Auth,
    expect: Expect,
}

fn phone(digits: &str) -> Phone {
    Phone::parse_digits(digits).unwrap()
}

fn message(id: &str, text: &str, at: OffsetDateTime) -> InboundEvent {
    InboundEvent::Message(InboundMessage {
        channel_id: ChannelId::new("ch_ts"),
        provider_message_id: id.into(),
        from: phone(CUSTOMER),
        to: phone(OUR_NUMBER),
        text: text.into(),
        received_at: at,
        part: None,
        media: Vec::new(),
    })
}

fn mms(id: &str, text: &str, media: &[(&str, &str)], at: OffsetDateTime) -> InboundEvent {
    InboundEvent::Message(InboundMessage {
        channel_id: ChannelId::new("ch_ts"),
        provider_message_id: id.into(),
        from: phone(CUSTOMER),
        to: phone(OUR_NUMBER),
        text: text.into(),
        received_at: at,
        part: None,
        media: media
            .iter()
            .map(|(url, kind)| smsdesk_domain::media::MediaRef {
                url: url.to_string(),
                content_type: Some(kind.to_string()),
            })
            .collect(),
    })
}

fn receipt(
    id: &str,
    external: Option<&str>,
    status: MessageStatus,
    code: &str,
    desc: &str,
    at: OffsetDateTime,
) -> InboundEvent {
    InboundEvent::Receipt(DeliveryReceipt {
        channel_id: ChannelId::new("ch_ts"),
        provider_message_id: id.into(),
        external_id: external.map(str::to_string),
        status,
        provider_status_code: code.into(),
        description: Some(desc.into()),
        at,
        opted_out: false,
    })
}

fn cases() -> Vec<Case> {
    use Expect::*;
    vec![
        Case {
            name: "inbound text",
            body: MO,
            auth: Auth::Signed,
            expect: Events(vec![message(
                "0123456789ABCDEF0123456789ABCDEF",
                "Hi, my order has not arrived",
                datetime!(2026-11-23 10:15:30.123456 UTC),
            )]),
        },
        Case {
            name: "inbound text, lowercase scheme, unreadable timestamp, empty text",
            body: MO_NO_TIMESTAMP,
            auth: Auth::SignedLowercase,
            expect: Events(vec![message("0123456789ABCDEF0123456789ABCDE3", "", NOW)]),
        },
        Case {
            name: "inbound MMS without sender_id: the channel's only number, its image announced",
            body: MMS,
            auth: Auth::Signed,
            expect: Events(vec![mms(
                "0123456789ABCDEF0123456789ABCDE4",
                "",
                &[("https://example.invalid/a.jpg", "image/*")],
                NOW,
            )]),
        },
        Case {
            name: "inbound MMS: texts joined in order, images then video then audio, each in N order",
            body: MMS_FULL,
            auth: Auth::Signed,
            expect: Events(vec![mms(
                "0123456789ABCDEF0123456789ABCDE5",
                "The broken part\nand the box",
                &[
                    ("https://rest-api.telesign.com/m/a.jpg", "image/*"),
                    ("https://rest-api.telesign.com/m/b.png", "image/*"),
                    ("https://rest-api.telesign.com/m/v1.mp4", "video/*"),
                    ("https://rest-api.telesign.com/m/n.amr", "audio/*"),
                ],
                datetime!(2026-11-23 10:15:30 UTC),
            )]),
        },
        Case {
            name: "inbound MMS with neither text nor media is acknowledged, nothing filed",
            body: MMS_EMPTY,
            auth: Auth::Signed,
            expect: Events(vec![]),
        },
        Case {
            name: "inbound MMS to a number not on the channel",
            body: MMS_OTHER_NUMBER,
            auth: Auth::Signed,
            expect: Malformed("number 15555550142 is not on this channel"),
        },
        Case {
            name: "inbound MMS without the customer's number",
            body: MMS_NO_CUSTOMER,
            auth: Auth::Signed,
            expect: Malformed("missing phone_number"),
        },
        Case {
            name: "delivery report: delivered",
            body: DLR_DELIVERED,
            auth: Auth::Signed,
            expect: Events(vec![receipt(
                "ABCDEF0123456789ABCDEF0123456789",
                Some("msg_out_1"),
                MessageStatus::Delivered,
                "200",
                "Delivered to handset",
                datetime!(2026-11-23 10:16:02 UTC),
            )]),
        },
        Case {
            name: "delivery report: failed, with the reason",
            body: DLR_FAILED,
            auth: Auth::Signed,
            expect: Events(vec![receipt(
                "ABCDEF0123456789ABCDEF0123456788",
                None,
                MessageStatus::Undelivered,
                "221",
                "Message expired",
                datetime!(2026-11-23 22:16:02 UTC),
            )]),
        },
        Case {
            name: "delivery report: intermediate",
            body: DLR_INTERMEDIATE,
            auth: Auth::Signed,
            expect: Events(vec![receipt(
                "ABCDEF0123456789ABCDEF0123456787",
                Some("msg_out_2"),
                MessageStatus::Sent,
                "203",
                "Delivered to gateway",
                datetime!(2026-11-23 10:15:59 UTC),
            )]),
        },
        Case {
            name: "delivery report: code as a string, no timestamps",
            body: DLR_STRING_CODE,
            auth: Auth::Signed,
            expect: Events(vec![receipt(
                "ABCDEF0123456789ABCDEF0123456786",
                Some("msg_out_3"),
                MessageStatus::Undelivered,
                "207",
                "Invalid destination number",
                NOW,
            )]),
        },
        Case {
            name: "missing header",
            body: MO,
            auth: Auth::None,
            expect: Unauthorized("missing Authorization header"),
        },
        Case {
            name: "bad signature",
            body: MO,
            auth: Auth::Raw(
                "TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890:B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744=",
            ),
            expect: Unauthorized("signature does not match"),
        },
        Case {
            name: "wrong customer id",
            body: MO,
            auth: Auth::OtherCustomer,
            expect: Unauthorized("customer id does not match"),
        },
        Case {
            name: "Basic instead of TSA",
            body: MO,
            auth: Auth::Raw("Basic RkZGRkZGRkY6c2VjcmV0"),
            expect: Unauthorized("scheme is not TSA"),
        },
        Case {
            name: "garbled header",
            body: MO,
            auth: Auth::Raw("TSA-no-signature"),
            expect: Unauthorized("not 'TSA customer_id:signature'"),
        },
        Case {
            name: "header without a colon",
            body: MO,
            auth: Auth::Raw("TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890"),
            expect: Unauthorized("not 'TSA customer_id:signature'"),
        },
        Case {
            name: "malformed JSON",
            body: "{\"reference_id\": ",
            auth: Auth::Signed,
            expect: Malformed("not JSON"),
        },
        Case {
            name: "JSON but not an object",
            body: "[1,2]",
            auth: Auth::Signed,
            expect: Malformed("not a JSON object"),
        },
        Case {
            name: "missing mo_message",
            body: MO_NO_TEXT,
            auth: Auth::Signed,
            expect: Malformed("missing user_response.mo_message"),
        },
        Case {
            name: "customer number is not a phone number",
            body: MO_BAD_PHONE,
            auth: Auth::Signed,
            expect: Malformed("user_response.phone_number"),
        },
        Case {
            name: "number not on the channel",
            body: MO_OTHER_NUMBER,
            auth: Auth::Signed,
            expect: Malformed("number 15555550142 is not on this channel"),
        },
        Case {
            name: "receipt without reference_id",
            body: DLR_NO_REFERENCE,
            auth: Auth::Signed,
            expect: Malformed("missing reference_id"),
        },
        Case {
            name: "receipt with a non-numeric code",
            body: DLR_BAD_CODE,
            auth: Auth::Signed,
            expect: Malformed("status.code is not a number"),
        },
        Case {
            name: "neither text nor receipt",
            body: NEITHER,
            auth: Auth::Signed,
            expect: Malformed("neither"),
        },
    ]
}

fn authorization(auth: &Auth, body: &str) -> Option<String> {
    let sig = || callback_signature(&key(KEY_P), body.as_bytes()).unwrap();
    match auth {
        Auth::Signed => Some(format!("TSA {CUSTOMER_ID}:{}", sig())),
        Auth::SignedLowercase => Some(format!("tsa {CUSTOMER_ID}:{}", sig())),
        Auth::None => None,
        Auth::Raw(h) => Some((*h).to_string()),
        Auth::OtherCustomer => Some(format!("TSA 00000000-EEEE-DDDD-1234-AB1234567890:{}", sig())),
    }
}

const WEBHOOK_URL: &str = "https://hooks.example.test/webhooks/telesign/ch_ts";

fn fixture(case: Case) -> fixtures::Case {
    let mut raw = fixtures::Case::post(case.name, WEBHOOK_URL, case.body).expect(case.expect);
    if let Some(h) = authorization(&case.auth, case.body) {
        raw = raw.header("authorization", h).header("content-type", "application/json");
    }
    raw
}

#[test]
fn callback_fixtures() {
    let mut table: Vec<fixtures::Case> = cases().into_iter().map(fixture).collect();
    table.push(
        fixtures::Case::new("GET is not a TeleSign callback", "GET", WEBHOOK_URL, "")
            .expect(Expect::MethodNotAllowed),
    );
    fixtures::run(&plugin(), &channel(), &creds().to_stored(), NOW, &table);
}

fn plugin() -> Telesign {
    Telesign::new(crate::http::client().expect("http client"))
}

#[test]
fn credentials_parse_redact_and_rotate() {
    let p = plugin();
    let input = serde_json::json!({"customer_id": " C1 ", "api_key": "VGVzdCBLZXk="});
    let stored = p.parse_credentials(Some(&input)).unwrap();
    let view = p.redact(&stored);
    assert_eq!(view, serde_json::json!({"customer_id": "C1", "api_key": "********"}));
    let missing = serde_json::json!({"customer_id": "C1"});
    assert_eq!(
        p.parse_credentials(Some(&missing)).unwrap_err().to_string(),
        "credentials.api_key: is required"
    );
    assert_eq!(p.parse_credentials(None).unwrap_err().to_string(), "credentials: is required");

    let fresh =
        p.parse_credentials(Some(&serde_json::json!({"customer_id": "c1", "api_key": "bmV3"}))).unwrap();
    let rotated = TelesignCredentials::from_stored(&p.rotate(&stored, fresh.clone(), NOW)).unwrap();
    let previous = rotated.previous.expect("the old key is kept");
    assert_eq!(previous.key.expose_secret(), "VGVzdCBLZXk=");
    assert_eq!(previous.until, NOW + crate::credentials::ROTATION_GRACE);
    assert!(p.redact(&TelesignCredentials { previous: Some(previous), ..rotated }.to_stored())
        ["previous_key_valid_until"]
        .is_string());
    // The same key again, or another account: nothing to keep.
    let same = TelesignCredentials::from_stored(&p.rotate(&stored, stored.clone(), NOW)).unwrap();
    assert!(same.previous.is_none());
    let other =
        p.parse_credentials(Some(&serde_json::json!({"customer_id": "C2", "api_key": "bmV3"}))).unwrap();
    assert!(TelesignCredentials::from_stored(&p.rotate(&stored, other, NOW)).unwrap().previous.is_none());
    assert!(!format!("{stored:?}").contains("VGVzdCBLZXk="));
}

#[test]
fn signature_is_checked_before_the_body_is_read() {
    // A garbage body with a bad signature is a 401, not a 400: nothing unauthenticated gets parsed.
    let headers = vec![("authorization".to_string(), format!("TSA {CUSTOMER_ID}:AAAA"))];
    let request = WebhookRequest { method: "POST", url: "", headers: &headers, body: b"not json" };
    assert_eq!(
        parse_webhook(&channel(), &creds(), &request, NOW),
        Err(WebhookError::Unauthorized("signature does not match".into()))
    );
}

#[test]
fn a_body_changed_after_signing_fails() {
    let sig = callback_signature(&key(KEY_P), MO.as_bytes()).unwrap();
    let headers = vec![("authorization".to_string(), format!("TSA {CUSTOMER_ID}:{sig}"))];
    let tampered = MO.replace("not arrived", "arrived");
    let request = WebhookRequest { method: "POST", url: "", headers: &headers, body: tampered.as_bytes() };
    assert_eq!(
        parse_webhook(&channel(), &creds(), &request, NOW),
        Err(WebhookError::Unauthorized("signature does not match".into()))
    );
}

#[test]
fn a_rotated_out_key_verifies_callbacks_until_it_expires() {
    let new_key = key("VGVzdCBLZXk=");
    let sig_old = callback_signature(&key(KEY_P), MO.as_bytes()).unwrap();
    let headers = vec![("authorization".to_string(), format!("TSA {CUSTOMER_ID}:{sig_old}"))];
    let request = WebhookRequest { method: "POST", url: "", headers: &headers, body: MO.as_bytes() };
    let rotated = |until| TelesignCredentials {
        previous: Some(crate::credentials::RetiredKey { key: key(KEY_P), until }),
        ..TelesignCredentials::new(CUSTOMER_ID, new_key.clone())
    };
    let later = NOW + time::Duration::hours(1);
    let expected = parse_webhook(&channel(), &creds(), &request, NOW).expect("signed with the old key");
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert_eq!(
        parse_webhook(&channel(), &rotated(later), &request, NOW),
        Ok(expected),
        "old key, inside the grace: the same text"
    );
    assert_eq!(
        parse_webhook(&channel(), &rotated(NOW), &request, NOW),
        Err(WebhookError::Unauthorized("signature does not match".into())),
        "old key, grace over"
    );
    assert_eq!(
        parse_webhook(&channel(), &TelesignCredentials::new(CUSTOMER_ID, new_key), &request, NOW),
        Err(WebhookError::Unauthorized("signature does not match".into())),
        "no retired key, no grace"
    );
}

// ---------------------------------------------------------------------------------------------------------
// The client against a fake TeleSign on loopback.
// ---------------------------------------------------------------------------------------------------------

use crate::fake_http as fake;

const ACCEPTED: &str = r#"{"reference_id":"35C8B5C5A5A4A1B3A9B7A3F1D2E4C6B8","external_id":"msg_out_9","status":{"code":290,"description":"Message in progress","updated_on":"2026-11-23T10:00:00Z"}}"#;
const NO_DELAY: Duration = Duration::ZERO;

fn client(url: &str) -> TelesignClient {
    TelesignClient::new(crate::http::client().expect("http client"), Some(url), creds())
}

fn send_request() -> SendRequest {
    SendRequest {
        from: phone(OUR_NUMBER),
        to: phone(CUSTOMER),
        text: "Hello & welcome, 100% sure?".into(),
        external_id: MessageId::new("msg_out_9"),
        created_at: time::macros::datetime!(2026-11-23 11:59 UTC),
        status_callback: None,
        media_urls: Vec::new(),
    }
}

/// Recomputes the signature the way TeleSign's server does, from what actually arrived.
fn assert_signed(seen: &fake::Seen, content_type: &str) {
    let expected = sign_request(
        CUSTOMER_ID,
        &key(KEY_P),
        &seen.method,
        content_type,
        seen.header("date"),
        seen.header("x-ts-nonce"),
        &seen.body,
        &seen.path,
    )
    .unwrap();
    assert_eq!(seen.header("authorization"), expected);
    assert_eq!(seen.header("x-ts-auth-method"), "HMAC-SHA256");
    assert!(uuid::Uuid::parse_str(seen.header("x-ts-nonce")).is_ok());
    assert!(httpdate::parse_http_date(seen.header("date")).is_ok());
    assert!(!seen.header("authorization").starts_with("Basic"));
}

#[tokio::test]
async fn send_posts_a_signed_form_and_returns_the_reference_id() {
    let fake = fake::start(vec![(200, ACCEPTED, NO_DELAY)]).await;
    let receipt = client(&fake.url).send(&send_request()).await.unwrap();
    assert_eq!(receipt.provider_message_id, "35C8B5C5A5A4A1B3A9B7A3F1D2E4C6B8");

    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/v1/messaging"));
    assert_eq!(seen.header("content-type"), FORM_CONTENT_TYPE);
    assert_signed(&seen, FORM_CONTENT_TYPE);
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&seen.body).unwrap();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("phone_number"), Some(CUSTOMER));
    assert_eq!(field("message"), Some("Hello & welcome, 100% sure?"));
    assert_eq!(field("message_type"), Some("ARN"));
    assert_eq!(field("sender_id"), Some(OUR_NUMBER));
    assert_eq!(field("external_id"), Some("msg_out_9"));
    assert!(!seen.body.contains(KEY_P) && !format!("{:?}", seen.headers).contains("TE8sTgg45"));
}

/// providers.md 1.2: `callback_url` sends this message's delivery reports to the channel's webhook rather
/// than the account's one portal URL, so two channels on one TeleSign account each get their own.
#[tokio::test]
async fn send_names_the_channel_webhook_as_callback_url() {
    const CALLBACK: &str = "https://hooks.example.test/webhooks/telesign/ch_b?x=1&y=2";
    let fake = fake::start(vec![(200, ACCEPTED, NO_DELAY); 3]).await;
    let with = SendRequest { status_callback: Some(CALLBACK.into()), ..send_request() };
    client(&fake.url).send(&with).await.unwrap();
    client(&fake.url).send(&send_request()).await.unwrap();
    let loopback = "http://127.0.0.1:9000/webhooks/telesign/ch_b";
    client(&fake.url)
        .send(&SendRequest { status_callback: Some(loopback.into()), ..send_request() })
        .await
        .unwrap();
    let seen = fake.seen.lock().unwrap().clone();
    let callback = |i: usize| {
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&seen[i].body).unwrap();
        form.into_iter().find(|(k, _)| k == "callback_url").map(|(_, v)| v)
    };
    assert_eq!(callback(0).as_deref(), Some(CALLBACK));
    assert_signed(&seen[0], FORM_CONTENT_TYPE);
    // Without one, the account's portal URL applies as before; so it does for a URL TeleSign cannot reach.
    assert_eq!(callback(1), None);
    assert_eq!(callback(2), None, "no plain-http loopback callback_url");
}

#[tokio::test]
async fn send_refusal_is_permanent_with_telesign_words() {
    let body =
        r#"{"status":{"code":11000,"description":"Invalid value for parameter phone_number."},"errors":[]}"#;
    let fake = fake::start(vec![(400, body, NO_DELAY)]).await;
    let err = client(&fake.url).send(&send_request()).await.unwrap_err();
    assert_eq!(
        err,
        SendError::Permanent {
            reason: "TeleSign HTTP 400: 11000 Invalid value for parameter phone_number.".into()
        }
    );
}

#[tokio::test]
async fn send_throttled_keeps_retry_after_and_down_is_transient() {
    let throttled = r#"{"status":{"code":10019,"description":"Rate limit exceeded."}}"#;
    let fake = fake::start(vec![
        fake::Reply { status: 429, body: throttled, delay: NO_DELAY, headers: vec![("retry-after", "7")] },
        (429, throttled, NO_DELAY).into(),
        (503, "", NO_DELAY).into(),
        fake::Reply { status: 503, body: "", delay: NO_DELAY, headers: vec![("retry-after", "30")] },
    ])
    .await;
    let c = client(&fake.url);
    // TeleSign's Retry-After is kept, so the sender waits at least that long (issue 12.5).
    assert!(matches!(
        c.send(&send_request()).await,
        Err(SendError::Throttled { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
    ));
    assert!(matches!(c.send(&send_request()).await, Err(SendError::Throttled { retry_after: None, .. })));
    assert!(matches!(c.send(&send_request()).await, Err(SendError::Transient { .. })));
    assert!(matches!(
        c.send(&send_request()).await,
        Err(SendError::Throttled { retry_after: Some(d), .. }) if d == Duration::from_secs(30)
    ));
}

#[tokio::test]
async fn reused_nonce_is_signed_again_once() {
    let nonce_reused = r#"{"status":{"code":10002,"description":"Nonce reused."}}"#;
    let fake = fake::start(vec![(401, nonce_reused, NO_DELAY), (200, ACCEPTED, NO_DELAY)]).await;
    let receipt = client(&fake.url).send(&send_request()).await.expect("sent after signing again");
    assert_eq!(receipt.provider_message_id, "35C8B5C5A5A4A1B3A9B7A3F1D2E4C6B8");
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0].header("x-ts-nonce"), seen[1].header("x-ts-nonce"));
    assert_signed(&seen[1], FORM_CONTENT_TYPE);
}

#[tokio::test]
async fn bad_signature_is_not_retried() {
    let bad = r#"{"status":{"code":10008,"description":"Invalid signature."}}"#;
    let fake = fake::start(vec![(401, bad, NO_DELAY), (200, ACCEPTED, NO_DELAY)]).await;
    let err = client(&fake.url).send(&send_request()).await.unwrap_err();
    assert!(matches!(err, SendError::Unauthorized { ref reason } if reason.contains("10008")), "{err:?}");
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_timeout_after_the_request_went_out_is_unknown_not_transient() {
    // TeleSign got the request (and may have accepted it) but answered too late: sending again could
    // reach the customer twice.
    let fake = fake::start(vec![(200, ACCEPTED, Duration::from_secs(5))]).await;
    let slow = client(&fake.url).with_timeout(Duration::from_millis(200));
    let err = slow.send(&send_request()).await.unwrap_err();
    assert!(matches!(err, SendError::Unknown { .. }), "{err:?}");
    assert_eq!(fake.seen.lock().unwrap().len(), 1, "the request reached TeleSign");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // Nothing was sent: another try is safe.
    let (_bound, url) = fake::closed_port();
    let closed = client(&url);
    assert!(matches!(closed.send(&send_request()).await, Err(SendError::Transient { .. })));
}

#[tokio::test]
async fn send_with_an_undecodable_key_is_permanent_and_sends_nothing() {
    let fake = fake::start(vec![(200, ACCEPTED, NO_DELAY)]).await;
    let bad = TelesignCredentials::new(CUSTOMER_ID, key("VGVzd"));
    let c = TelesignClient::new(crate::http::client().expect("http client"), Some(&fake.url), bad);
    assert_eq!(
        c.send(&send_request()).await,
        Err(SendError::Permanent { reason: "the TeleSign API key is not valid base64".into() })
    );
    assert!(fake.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn validate_reads_the_fake_reference_signed_without_a_body() {
    let not_found = r#"{"status":{"code":10017,"description":"Reference ID not found."}}"#;
    let fake = fake::start(vec![(404, not_found, NO_DELAY)]).await;
    assert_eq!(client(&fake.url).validate().await, Validation::Valid);
    let seen = fake.seen.lock().unwrap()[0].clone();
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", VALIDATION_PATH));
    assert_eq!(seen.body, "");
    assert_signed(&seen, "");
}

#[tokio::test]
async fn validate_verdicts() {
    let bad_key = r#"{"status":{"code":10022,"description":"Invalid API key."}}"#;
    let fake = fake::start(vec![
        (401, bad_key, NO_DELAY),
        (400, r#"{"status":{"code":11011}}"#, NO_DELAY),
        (503, "", NO_DELAY),
        (429, "", NO_DELAY),
    ])
    .await;
    let c = client(&fake.url);
    assert_eq!(
        c.validate().await,
        Validation::Invalid { reason: "TeleSign HTTP 401: 10022 Invalid API key.".into() }
    );
    assert_eq!(c.validate().await, Validation::Valid);
    assert!(matches!(c.validate().await, Validation::Unreachable { .. }));
    assert!(matches!(c.validate().await, Validation::Unreachable { .. }));
    let (_bound, url) = fake::closed_port();
    let closed = client(&url);
    assert!(
        matches!(closed.validate().await, Validation::Unreachable { ref reason } if reason.contains("could not reach"))
    );
}

#[test]
fn base_url_defaults_and_tolerates_a_trailing_slash() {
    let http = crate::http::client().expect("http client");
    assert_eq!(TelesignClient::new(http.clone(), None, creds()).base_url(), DEFAULT_BASE_URL);
    assert_eq!(TelesignClient::new(http.clone(), Some(""), creds()).base_url(), DEFAULT_BASE_URL);
    assert_eq!(
        TelesignClient::new(http, Some("https://rest-ww.telesign.com/"), creds()).base_url(),
        "https://rest-ww.telesign.com"
    );
}

#[test]
fn debug_output_hides_the_key() {
    let text = format!("{:?}", client("http://127.0.0.1:1"));
    assert!(text.contains(CUSTOMER_ID) && !text.contains("TE8sTgg45"));
}

#[test]
fn telesign_receives_mms_from_its_api_host_only_and_says_why_it_sends_none() {
    let telesign = Telesign::new(crate::http::client().unwrap());
    let mut channel = channel();
    assert_eq!(telesign.media_origins(&channel), ["https://rest-api.telesign.com"]);
    channel.base_url = Some("http://127.0.0.1:8080/".into());
    assert_eq!(telesign.media_origins(&channel), ["http://127.0.0.1:8080"]);
    assert!(telesign.media_authorization(&creds().to_stored()).is_none(), "no credentials go with the fetch");
    let support = telesign.media_support();
    assert!(support.inbound && !support.outbound && !telesign.sends_media());
    assert!(support.outbound_refusal().contains("text only"), "{support:?}");
}

#[test]
fn every_provider_says_what_media_it_carries_and_why_not() {
    let providers = crate::Providers::signing(crate::http::client().unwrap());
    let support = |name: &str| providers.get(name).unwrap().media_support();
    assert_eq!(support("twilio"), crate::MediaSupport::BOTH);
    for (name, needle) in [("vonage", "Vonage SMS API carries no MMS"), ("acs", "carries no MMS")] {
        let s = support(name);
        assert!(!s.inbound && !s.outbound, "{name}: {s:?}");
        assert!(s.note.is_some_and(|n| n.contains(needle)), "{name}: {s:?}");
    }
    // AWS End User Messaging: MMS out by SendMediaMessage from the S3 bucket, none in.
    let aws = support("aws");
    assert!(!aws.inbound && aws.outbound, "aws: {aws:?}");
    assert!(aws.note.is_some_and(|n| n.contains("no inbound MMS") && n.contains("SendMediaMessage")), "aws");
}

#[test]
fn providers_that_send_media_say_how_much_one_message_may_carry() {
    let providers = crate::Providers::signing(crate::http::client().unwrap());
    let total = |name: &str| providers.get(name).unwrap().media_bytes_per_message();
    assert_eq!(total("twilio"), Some(5_000_000), "Twilio: 5 MB per MMS, its items together");
    assert_eq!(total("aws"), Some(2_000_000), "AWS: one file, an image of up to 2 MB");
    for name in ["telesign", "vonage", "acs"] {
        assert_eq!(total(name), None, "{name} sends no media");
    }
}
