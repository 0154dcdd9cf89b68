//! Hostile HTTP input (issue 12.7): malformed JSON, wrong content types, huge headers, deep nesting, invalid
//! UTF-8 and oversize bodies, on the webhooks and on the agent/admin API. Each gets a clear 4xx (with a
//! reason in the body wherever the app, not the HTTP server, answers) and leaves the store as it was.

use crate::*;
use serde_json::{Value, json};
use smsdesk_ports::QueueKind;

/// One raw request: method, path, headers, body.
struct Raw {
    what: &'static str,
    content_type: Option<&'static str>,
    extra_header: Option<(&'static str, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn new(what: &'static str, content_type: Option<&'static str>, body: impl Into<Vec<u8>>) -> Self {
        Self { what, content_type, extra_header: None, body: body.into() }
    }
}

/// Sends `raw` to `path`; returns the status and the body (JSON when it is).
async fn send(
    api: &Api,
    path: &str,
    token: Option<&str>,
    authorization: Option<String>,
    raw: &Raw,
) -> (u16, Value) {
    let mut req = api.http.post(format!("{}{path}", api.base)).body(raw.body.clone());
    if let Some(ct) = raw.content_type {
        req = req.header("content-type", ct);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(a) = authorization {
        req = req.header("authorization", a.clone()).header("x-ts-authorization", a);
    }
    if let Some((name, value)) = &raw.extra_header {
        req = req.header(*name, value.clone());
    }
    let resp = req.send().await.expect("the app answers");
    smsdesk_tests::aws_shape::check_faults();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
    )
}

/// The app's error answer says what is wrong.
fn assert_reason(what: &str, status: u16, body: &Value) {
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let code = body["error"]["code"].as_str().unwrap_or_default();
    assert!(!message.is_empty() && !code.is_empty(), "{what}: {status} without a reason: {body}");
}

fn deep(open: char, depth: usize) -> String {
    std::iter::repeat_n(open, depth).collect()
}

fn huge_header() -> (&'static str, String) {
    // Past API Gateway's 10 KiB and smsdesk's 16 KiB, within hyper's own buffer (which answers with no reason).
    ("x-padding", "a".repeat(64 * 1024))
}

#[tokio::test]
async fn hostile_webhooks_get_a_clear_4xx_and_queue_nothing() {
    let Some(s) = Setup::new().await else { return };
    let path = s.webhook_path();
    let valid = telesign_mo("H1000000000000000000000000000001", "15555550701", OUR_NUMBER, "hello");
    let mut invalid_utf8 = valid.clone();
    let at = invalid_utf8.windows(5).position(|w| w == b"hello").expect("the text");
    invalid_utf8.splice(at..at + 5, [0xff, 0xfe, 0xc3, b'h', 0x80]);
    let nested = format!(r#"{{"reference_id":"H2","user_response":{}}}"#, deep('[', 20_000));
    let cases = [
        (Raw::new("malformed JSON", Some("application/json"), &valid[..valid.len() / 2]), 400),
        (Raw::new("invalid UTF-8", Some("application/json"), invalid_utf8), 400),
        (Raw::new("deep nesting", Some("application/json"), nested), 400),
        (
            Raw::new(
                "a form instead of JSON",
                Some("application/x-www-form-urlencoded"),
                "reference_id=H3&x=y",
            ),
            400,
        ),
        (Raw::new("not JSON at all", Some("text/plain"), "hello there"), 400),
        (Raw::new("an array", Some("application/json"), "[1,2,3]"), 400),
        (Raw::new("a JSON null", Some("application/json"), "null"), 400),
        (Raw::new("empty", Some("application/json"), ""), 400),
    ];
    for (raw, expect) in &cases {
        // Signed as TeleSign signs: the body reaches the parser, which must refuse it.
        let (status, body) = send(s.api(), &path, None, Some(s.fake.sign_callback(&raw.body)), raw).await;
        assert_eq!(status, *expect, "{}: {body}", raw.what);
        assert_reason(raw.what, status, &body);
        // Unsigned: refused at the signature.
        let (status, body) = send(s.api(), &path, None, None, raw).await;
        assert_eq!(status, 401, "{} unsigned: {body}", raw.what);
        assert_reason(raw.what, status, &body);
    }
    // Over the webhook limit (64 KiB): 413 with the limit, signed or not.
    let mut oversize = valid.clone();
    oversize.splice(at..at, std::iter::repeat_n(b'x', 200 * 1024));
    let raw = Raw::new("oversize", Some("application/json"), oversize);
    let (status, body) = send(s.api(), &path, None, Some(s.fake.sign_callback(&raw.body)), &raw).await;
    assert_eq!(status, 413, "oversize: {body}");
    assert_reason("oversize", status, &body);
    // A huge header on an otherwise valid, signed text: 431 with the limit.
    let mut raw = Raw::new("huge header", Some("application/json"), valid.clone());
    raw.extra_header = Some(huge_header());
    let (status, body) = send(s.api(), &path, None, Some(s.fake.sign_callback(&raw.body)), &raw).await;
    assert_eq!(status, 431, "huge header: {body}");
    assert_reason("huge header", status, &body);

    // Nothing was queued, nothing reached a conversation.
    s.app.settled().await;
    for kind in QueueKind::ALL {
        assert_eq!(s.app.app().queue.depth(kind).await.expect("depth"), 0, "{}", kind.name());
    }
    assert!(s.api().work_items(ADMIN_TOKEN).await.is_empty(), "no conversation from hostile webhooks");
    // And the channel still works: the valid text goes through.
    s.text("H1000000000000000000000000000001", "15555550701", "hello").await;
    let (_agent, token) = s.agent("Ada", 1).await;
    let conversation = s.work_item_for(&token, "+15555550701").await;
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "{c}");
}

/// What the admin sees of the store: queues, agents, channels, conversations.
async fn snapshot(api: &Api) -> Vec<Value> {
    let mut all = Vec::new();
    for path in ["/v1/queues", "/v1/agents", "/v1/channels", "/v1/work-items"] {
        all.push(api.ok("GET", path, ADMIN_TOKEN, None, 200).await);
    }
    all
}

#[tokio::test]
async fn hostile_api_requests_get_a_clear_4xx_and_change_nothing() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("H3000000000000000000000000000001", "15555550702", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550702").await;
    let reply_path = format!("/v1/conversations/{conversation}/messages");
    s.app.settled().await; // the CRM link of the first text lands before the store is read
    let before = snapshot(s.api()).await;
    let transcript = s.api().conversation(&token, &conversation).await;

    let queue = br#"{"name":"Billing"}"#.to_vec();
    let mut invalid_utf8 = br#"{"name":"Bill"#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xc3, 0x28]);
    invalid_utf8.extend_from_slice(br#"ing"}"#);
    let oversize = format!(r#"{{"name":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let cases = || {
        [
            (Raw::new("malformed JSON", Some("application/json"), &br#"{"name": "Bill"#[..]), 400),
            (Raw::new("invalid UTF-8", Some("application/json"), invalid_utf8.clone()), 400),
            (
                Raw::new(
                    "deep nesting",
                    Some("application/json"),
                    format!(r#"{{"name":{}}}"#, deep('[', 100_000)),
                ),
                400,
            ),
            (Raw::new("deep objects", Some("application/json"), deep_objects(5000)), 400),
            (Raw::new("text/plain", Some("text/plain"), queue.clone()), 415),
            (Raw::new("a form", Some("application/x-www-form-urlencoded"), "name=Billing"), 415),
            (Raw::new("no content type", None, queue.clone()), 415),
            (Raw::new("an array", Some("application/json"), "[]"), 400),
            (Raw::new("a string", Some("application/json"), r#""Billing""#), 400),
            (Raw::new("oversize", Some("application/json"), oversize.clone()), 413),
        ]
    };
    let targets: [(&str, &str); 4] = [
        ("/v1/queues", ADMIN_TOKEN),
        ("/v1/agents", ADMIN_TOKEN),
        ("/v1/channels", ADMIN_TOKEN),
        (&reply_path, &token),
    ];
    for (path, who) in targets {
        for (raw, expect) in cases() {
            let (status, body) = send(s.api(), path, Some(who), None, &raw).await;
            assert_eq!(status, expect, "{path} {}: {body}", raw.what);
            assert_reason(raw.what, status, &body);
        }
        let mut raw = Raw::new("huge header", Some("application/json"), queue.clone());
        raw.extra_header = Some(huge_header());
        let (status, body) = send(s.api(), path, Some(who), None, &raw).await;
        assert_eq!(status, 431, "{path} huge header: {body}");
        assert_reason("huge header", status, &body);
    }

    s.app.settled().await;
    assert_eq!(snapshot(s.api()).await, before, "the store is as it was");
    let after = s.api().conversation(&token, &conversation).await;
    assert_eq!(after["messages"], transcript["messages"], "no message from hostile replies");
    assert!(s.fake.sends().is_empty(), "nothing was sent");
    // A well-formed request still works.
    s.api().ok("POST", "/v1/queues", ADMIN_TOKEN, Some(json!({"name": "Billing"})), 201).await;
}

fn deep_objects(depth: usize) -> String {
    let mut s = String::new();
    for _ in 0..depth {
        s.push_str(r#"{"a":"#);
    }
    s.push('1');
    s.push_str(&deep('}', depth));
    s
}
