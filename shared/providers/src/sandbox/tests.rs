use super::*;
use smsdesk_domain::{AttachmentPolicy, ChannelNumber, MessageId, NumberType, ProviderKind, QueueId};
use smsdesk_ports::{PortError, PortResult};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

#[derive(Default)]
struct MemoryOutbox {
    entries: Mutex<Vec<OutboxEntry>>,
    broken: bool,
}

#[async_trait]
impl OutboxStore for MemoryOutbox {
    async fn record_outbox(&self, entry: &OutboxEntry) -> PortResult<()> {
        if self.broken {
            return Err(PortError::Unavailable("disk full".into()));
        }
        self.entries.lock().unwrap().push(entry.clone());
        Ok(())
    }

    async fn list_outbox(&self) -> PortResult<Vec<OutboxEntry>> {
        Ok(self.entries.lock().unwrap().clone())
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn sandbox(outbox: Arc<MemoryOutbox>) -> SandboxProvider {
    SandboxProvider::new(ChannelId::new("ch_sbx"), outbox, Arc::new(FixedClock))
}

fn request(text: &str, id: &str) -> SendRequest {
    SendRequest {
        from: phone("+15555550199"),
        to: phone("+15555550100"),
        text: text.into(),
        external_id: MessageId::new(id),
        created_at: time::macros::datetime!(2026-11-23 11:59 UTC),
        status_callback: None,
        media_urls: Vec::new(),
    }
}

#[tokio::test]
async fn send_records_the_text_in_the_outbox() {
    let outbox = Arc::new(MemoryOutbox::default());
    let receipt = sandbox(outbox.clone()).send(&request("Hello there", "msg_1")).await.unwrap();
    assert!(receipt.provider_message_id.starts_with(ID_PREFIX));
    let entries = outbox.list_outbox().await.unwrap();
    assert_eq!(
        entries,
        vec![OutboxEntry {
            id: receipt.provider_message_id.clone(),
            channel_id: ChannelId::new("ch_sbx"),
            from: phone("+15555550199"),
            to: phone("+15555550100"),
            text: "Hello there".into(),
            external_id: Some("msg_1".into()),
            at: NOW,
        }]
    );
    let second = sandbox(outbox.clone()).send(&request("again", "msg_2")).await.unwrap();
    assert_ne!(second.provider_message_id, receipt.provider_message_id);
}

#[tokio::test]
async fn fail_marker_is_refused_for_good_and_records_nothing() {
    let outbox = Arc::new(MemoryOutbox::default());
    let provider = sandbox(outbox.clone());
    for _ in 0..2 {
        let err = provider.send(&request("please [sandbox:fail] now", "msg_f")).await.unwrap_err();
        assert_eq!(err, SendError::Permanent { reason: FAIL_REASON.into() });
    }
    assert!(outbox.list_outbox().await.unwrap().is_empty());
}

#[tokio::test]
async fn optout_marker_is_an_opt_out_and_records_nothing() {
    let outbox = Arc::new(MemoryOutbox::default());
    let err = sandbox(outbox.clone()).send(&request("hi [sandbox:optout]", "msg_o")).await.unwrap_err();
    assert!(matches!(err, SendError::OptedOut { .. }), "{err:?}");
    assert!(outbox.list_outbox().await.unwrap().is_empty());
}

#[tokio::test]
async fn flaky_marker_fails_once_per_message() {
    let outbox = Arc::new(MemoryOutbox::default());
    let provider = sandbox(outbox.clone());
    let flaky = "[sandbox:flaky] hello";
    assert!(matches!(provider.send(&request(flaky, "msg_a")).await, Err(SendError::Transient { .. })));
    assert!(matches!(provider.send(&request(flaky, "msg_b")).await, Err(SendError::Transient { .. })));
    assert!(provider.send(&request(flaky, "msg_a")).await.is_ok());
    assert!(provider.send(&request(flaky, "msg_a")).await.is_ok());
    assert!(provider.send(&request(flaky, "msg_b")).await.is_ok());
    assert_eq!(outbox.list_outbox().await.unwrap().len(), 3);
}

#[tokio::test]
async fn flaky_memory_is_shared_by_providers_built_from_one_factory() {
    let outbox = Arc::new(MemoryOutbox::default());
    let providers = crate::Providers::new(
        crate::http::client().expect("http client"),
        outbox.clone(),
        Arc::new(FixedClock),
    );
    let channel = channel();
    let creds = Credentials::empty(ProviderKind::Sandbox);
    let build = || providers.for_channel(&channel, &creds).unwrap();
    let flaky = request("[sandbox:flaky]", "msg_c");
    assert!(matches!(build().send(&flaky).await, Err(SendError::Transient { .. })));
    assert!(build().send(&flaky).await.is_ok());
}

#[test]
fn flaky_memory_stays_small() {
    let memory = FlakyMemory::default();
    for i in 0..FLAKY_MEMORY_LIMIT {
        assert!(memory.first_attempt(&format!("m{i}")));
    }
    assert!(!memory.first_attempt("m0"));
    assert!(memory.first_attempt("one more"));
    assert_eq!(memory.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn outbox_failure_is_transient() {
    let outbox = Arc::new(MemoryOutbox { broken: true, ..Default::default() });
    let err = sandbox(outbox).send(&request("hi", "msg_1")).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { ref reason } if reason.contains("disk full")), "{err:?}");
}

#[tokio::test]
async fn validate_is_always_valid() {
    assert_eq!(sandbox(Arc::default()).validate().await, Validation::Valid);
}

fn channel() -> Channel {
    Channel {
        id: ChannelId::new("ch_sbx"),
        name: "Sandbox".into(),
        provider: ProviderKind::Sandbox,
        base_url: None,
        public_url: None,
        numbers: vec![ChannelNumber {
            number: phone("+15555550199"),
            number_type: NumberType::Geo,
            description: "demo".into(),
            queue: QueueId::new("q_1"),
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

fn parse(body: &str) -> Result<Vec<InboundEvent>, WebhookError> {
    let request = WebhookRequest { method: "POST", url: "", headers: &[], body: body.as_bytes() };
    parse_webhook(&channel(), &request, NOW)
}

const WEBHOOK_URL: &str = "http://127.0.0.1:9000/webhooks/sandbox/ch_sbx";

#[test]
fn webhook_fixtures() {
    use crate::fixtures::{Case, Expect, run};
    let message = |id: &str| {
        InboundEvent::Message(InboundMessage {
            channel_id: ChannelId::new("ch_sbx"),
            provider_message_id: id.into(),
            from: phone("+15555550100"),
            to: phone("+15555550199"),
            text: "Where is my order?".into(),
            received_at: NOW,
            part: None,
            media: Vec::new(),
        })
    };
    let post = |name: &str, body: &str, expect: Expect| Case::post(name, WEBHOOK_URL, body).expect(expect);
    let receipt = |id: &str, status: MessageStatus, code: &str, description: Option<&str>| {
        InboundEvent::Receipt(DeliveryReceipt {
            channel_id: ChannelId::new("ch_sbx"),
            provider_message_id: id.into(),
            external_id: None,
            status,
            provider_status_code: code.into(),
            description: description.map(str::to_string),
            at: NOW,
            opted_out: false,
        })
    };
    let table = [
        post(
            "a text",
            r#"{"id":"demo-1","from":"+15555550100","to":"15555550199","text":"Where is my order?"}"#,
            Expect::Events(vec![message("demo-1")]),
        ),
        // The agent API may forward its whole request, channel_id included.
        post(
            "a forwarded request, channel_id included",
            r#"{"channel_id":"ch_sbx","id":"d2","from":"15555550100","to":"+15555550199","text":"Where is my order?"}"#,
            Expect::Events(vec![message("d2")]),
        ),
        post("not JSON", "nope", Expect::Malformed("body must be")),
        post("no text", r#"{"from":"+15555550100","to":"+15555550199"}"#, Expect::Malformed("text")),
        post("bad from", r#"{"from":"abc","to":"+15555550199","text":"x"}"#, Expect::Malformed("from ")),
        post(
            "number not on the channel",
            r#"{"from":"+15555550100","to":"+15555550142","text":"x"}"#,
            Expect::Malformed("number 15555550142 is not on this channel"),
        ),
        post(
            "a delivery report",
            r#"{"receipt":{"id":"sbx_1","status":"delivered"}}"#,
            Expect::Events(vec![receipt("sbx_1", MessageStatus::Delivered, "delivered", None)]),
        ),
        post(
            "a lost text, with the reason",
            r#"{"receipt":{"id":"sbx_2","status":"undelivered","error":"handset off"}}"#,
            Expect::Events(vec![receipt(
                "sbx_2",
                MessageStatus::Undelivered,
                "undelivered",
                Some("handset off"),
            )]),
        ),
        post(
            "a report with a status no provider reports",
            r#"{"receipt":{"id":"sbx_1","status":"queued"}}"#,
            Expect::Malformed("receipt.status must be one of sent, delivered, undelivered, failed"),
        ),
        post(
            "a report without id",
            r#"{"receipt":{"id":" ","status":"sent"}}"#,
            Expect::Malformed("receipt.id"),
        ),
        post(
            "a report with a field no report has: refused as a report, not as a text",
            r#"{"receipt":{"id":"sbx_1","status":"sent","reason":"x"}}"#,
            Expect::Malformed("a delivery report must be"),
        ),
        Case::new("GET", "GET", WEBHOOK_URL, "").expect(Expect::MethodNotAllowed),
    ];
    let sandbox = Sandbox::new(Arc::new(MemoryOutbox::default()), Arc::new(FixedClock));
    run(&sandbox, &channel(), &Credentials::empty(ProviderKind::Sandbox), NOW, &table);
}

#[test]
fn credentials_are_optional_and_never_shown() {
    let sandbox = Sandbox::new(Arc::new(MemoryOutbox::default()), Arc::new(FixedClock));
    assert!(sandbox.embedded_only());
    for input in [None, Some(serde_json::json!({})), Some(serde_json::json!({"anything": 1}))] {
        let creds = sandbox.parse_credentials(input.as_ref()).unwrap();
        assert_eq!(creds.provider(), ProviderKind::Sandbox);
        assert_eq!(sandbox.redact(&creds), serde_json::json!({}));
    }
    assert!(sandbox.parse_credentials(Some(&serde_json::json!("x"))).is_err());
    // null is no credentials object, and no credential field's value (`PUT .../credentials` of null).
    let refused = |input: serde_json::Value| sandbox.parse_credentials(Some(&input)).unwrap_err().field;
    assert_eq!(refused(serde_json::Value::Null), "credentials");
    assert_eq!(refused(serde_json::json!({"anything": null})), "credentials.anything");
}

#[test]
fn webhook_without_id_gets_a_fresh_one() {
    let body = r#"{"from":"+15555550100","to":"+15555550199","text":"hi"}"#;
    let ids: Vec<String> = (0..2)
        .map(|_| match parse(body).unwrap().remove(0) {
            InboundEvent::Message(m) => m.provider_message_id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(uuid::Uuid::parse_str(&ids[0]).is_ok());
    assert_ne!(ids[0], ids[1]);
}
