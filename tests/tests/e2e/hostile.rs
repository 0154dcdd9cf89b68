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

/// `method path` with a raw JSON body (bytes as given) as `token`: the status, the Content-Type and the body.
async fn raw_json(api: &Api, method: &str, path: &str, token: &str, body: &str) -> (u16, String, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let resp = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the app answers");
    smsdesk_tests::aws_shape::check_faults();
    let status = resp.status().as_u16();
    let content_type =
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let bytes = resp.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, content_type, body)
}

/// A 400 `invalid_request` in the API's JSON error body whose message starts with `field`.
fn refused(what: &str, (status, content_type, body): &(u16, String, Value), field: &str) {
    assert_eq!(*status, 400, "{what}: {body}");
    assert!(content_type.starts_with("application/json"), "{what}: {content_type}");
    assert_eq!(body["error"]["code"], "invalid_request", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(field), "{what}: {message:?} should name {field}");
}

#[tokio::test]
async fn a_body_with_content_after_its_json_or_a_key_twice_is_a_400_on_every_kind_of_route() {
    let Some(s) = Setup::new().await else { return };
    let (agent, token) = s.agent("Ada", 1).await;
    s.text("H4000000000000000000000000000001", "15555550703", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550703").await;
    s.app.settled().await;
    let before = snapshot(s.api()).await;
    let (queue, channel) = (&s.queue, &s.channel);
    let notes = format!("/v1/conversations/{conversation}/notes");
    let reply = format!("/v1/conversations/{conversation}/messages");
    // Routes that read the body as a type, and routes that read it as any JSON (merge patches).
    let routes: Vec<(&str, String, &str, &str)> = vec![
        ("POST", "/v1/queues".into(), ADMIN_TOKEN, r#"{"name":"Trail"}"#),
        ("PATCH", format!("/v1/queues/{queue}"), ADMIN_TOKEN, r#"{"name":"Renamed"}"#),
        ("PATCH", format!("/v1/agents/{agent}"), ADMIN_TOKEN, r#"{"capacity":7}"#),
        ("PATCH", format!("/v1/channels/{channel}"), ADMIN_TOKEN, r#"{"name":"Renamed"}"#),
        ("POST", "/v1/contacts".into(), ADMIN_TOKEN, r#"{"name":"Zoe","phone":"+15555550704"}"#),
        ("POST", notes.clone(), &token, r#"{"text":"a note"}"#),
        ("POST", reply.clone(), &token, r#"{"text":"a reply"}"#),
    ];
    for (method, path, who, valid) in &routes {
        for (what, body) in [
            ("text after the JSON", format!("{valid} this is not json")),
            ("a second JSON value", format!("{valid}{valid}")),
            ("closing brackets after the JSON", format!("{valid}]]]")),
        ] {
            let answer = raw_json(s.api(), method, path, who, &body).await;
            refused(&format!("{method} {path}: {what}"), &answer, "body");
            let message = answer.2["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("trailing"), "{method} {path}: {what}: {message}");
        }
        // The same key twice: ambiguous, refused whatever the route reads the body as.
        let field = valid.trim_start_matches("{\"").split('"').next().expect("a key");
        let twice = valid.replacen('{', &format!("{{\"{field}\":\"first\","), 1);
        let answer = raw_json(s.api(), method, path, who, &twice).await;
        refused(&format!("{method} {path}: {field} twice"), &answer, field);
    }
    // In a nested object too, naming where.
    let nested = format!(
        r#"{{"name":"Dup","provider":"telesign","credentials":{{"customer_id":"a","api_key":"b"}},
        "numbers":[{{"number":"15555550705","number":"15555550706","type":"geo","queue":"{queue}"}}]}}"#
    );
    let answer = raw_json(s.api(), "POST", "/v1/channels", ADMIN_TOKEN, &nested).await;
    refused("a number's key twice", &answer, "numbers[0].number");
    let provider_twice = r#"{"name":"Dup","provider":"twilio","provider":"telesign"}"#;
    refused(
        "provider twice",
        &raw_json(s.api(), "POST", "/v1/channels", ADMIN_TOKEN, provider_twice).await,
        "provider",
    );

    s.app.settled().await;
    assert_eq!(snapshot(s.api()).await, before, "nothing was created or changed");
    let c = s.api().conversation(&token, &conversation).await;
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "no reply: {c}");
    // The same bodies without the extra content are taken.
    for (method, path, who, valid) in &routes {
        let (status, _, body) = raw_json(s.api(), method, path, who, valid).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {body}");
    }
}

#[tokio::test]
async fn bad_path_and_query_parameters_and_unknown_methods_answer_the_json_error_body() {
    let Some(s) = Setup::new().await else { return };
    let get = |path: &str| {
        let api = s.api().clone();
        let path = path.to_string();
        async move { raw_json(&api, "GET", &path, ADMIN_TOKEN, "").await }
    };
    refused("an id that is not UTF-8", &get("/v1/conversations/%FF").await, "id");
    refused("a phone that is not UTF-8", &get("/v1/customers/%FF/language").await, "phone");
    refused("a channel id that is not UTF-8", &get("/v1/channels/%FF%FE").await, "id");
    let message =
        raw_json(s.api(), "POST", "/v1/conversations/cv_1/messages/%FF/resend", ADMIN_TOKEN, "{}").await;
    refused("a message id that is not UTF-8", &message, "message_id");
    // An id far longer than any (in AWS it would reach the table's key size limit: a 500), on an API route
    // and on a webhook, which anyone may call: 404, JSON, nothing stored.
    let long = "a".repeat(1100);
    for (method, path) in
        [("GET", format!("/v1/conversations/cv_{long}")), ("POST", format!("/webhooks/twilio/{long}"))]
    {
        let (status, content_type, body) = raw_json(s.api(), method, &path, ADMIN_TOKEN, "{}").await;
        assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")), "{method} {path}: {body}");
        assert!(content_type.starts_with("application/json"), "{method}: {content_type}");
    }
    // Names are one line of at most 200 characters; a preview at most four messages' worth.
    let (status, body) = s
        .api()
        .call(
            "POST",
            "/v1/contacts",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "n".repeat(201), "phone": "+15555550777"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("at most 200")), "{body}");
    let (status, body) = s
        .api()
        .call(
            "POST",
            "/v1/messages/preview",
            Some(ADMIN_TOKEN),
            Some(json!({"text": "\u{1F600}".repeat(6401)})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (422, &json!("invalid_text")), "{body}");
    let (status, body) = s
        .api()
        .call("POST", "/v1/messages/preview", Some(ADMIN_TOKEN), Some(json!({"text": "a".repeat(1700)})))
        .await;
    assert_eq!(
        (status, &body["over_limit"]),
        (200, &json!(true)),
        "a draft over the cap is still previewed: {body}"
    );
    // A query field twice (API Gateway joins repeated fields with commas: the value is then refused).
    for path in
        ["/v1/contacts?phone=%2B15555550123&phone=%2B15555550124", "/v1/consent?phone=%2B1555&phone=%2B1556"]
    {
        let (status, content_type, body) = get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(content_type.starts_with("application/json"), "{path}: {content_type}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("phone")), "{path}: {body}");
    }
    // A method a route does not take: 405 with the methods it does take (API Gateway itself answers an
    // unrouted method in the AWS shape, before any function).
    if s.app.aws.is_none() {
        for (method, path) in
            [("DELETE", "/v1/queues"), ("PUT", "/v1/conversations/cv_1"), ("OPTIONS", "/v1/agents")]
        {
            let resp = s
                .api()
                .http
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{}{path}", s.api().base),
                )
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .expect("the app answers");
            assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
            assert!(resp.headers().get("allow").is_some(), "{method} {path}: the Allow header");
            let content_type =
                resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert!(content_type.starts_with("application/json"), "{method} {path}: {content_type}");
            let body: Value = resp.json().await.expect("a JSON body");
            assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {path}: {body}");
        }
    }
}

/// Control characters (issue: NUL accepted in names): names people read (agents, channels, numbers'
/// descriptions, contacts, dispositions, quick replies' titles) refuse every control character, newlines
/// included; free texts (replies, notes, automated messages, quick replies' texts) keep newline, carriage
/// return and tab and refuse the others. Each refusal is a 400 naming the field, and changes nothing. A
/// customer's text is never refused for what it holds: a NUL from the provider is kept and shown as it came.
#[tokio::test]
async fn control_characters_in_names_and_texts_are_a_400_naming_the_field_but_a_customers_text_is_kept() {
    let Some(s) = Setup::new().await else { return };
    let (agent, token) = s.agent("Ada", 2).await;
    // The customer's text with a NUL, an escape and a C1 control: taken, filed and shown whole.
    let customer_text = "hi\u{0}there \u{1b}[31m red\u{85}";
    s.text("H5000000000000000000000000000001", "15555550704", customer_text).await;
    let conversation = s.work_item_for(&token, "+15555550704").await;
    let transcript = s.api().conversation(&token, &conversation).await;
    assert_eq!(transcript["messages"][0]["text"], customer_text, "{transcript}");
    s.app.settled().await;
    let before = snapshot(s.api()).await;

    let (q, c) = (s.queue.as_str(), s.channel.as_str());
    let notes = format!("/v1/conversations/{conversation}/notes");
    let reply = format!("/v1/conversations/{conversation}/messages");
    let transfer = format!("/v1/conversations/{conversation}/transfer");
    let new_channel = |name: &str, description: &str| {
        json!({"name": name, "provider": "telesign",
               "credentials": {"customer_id": s.fake.customer_id, "api_key": s.fake.api_key},
               "base_url": s.fake.base_url(),
               "numbers": [{"number": "15555550198", "type": "geo", "description": description, "queue": q}]})
    };
    let cases: Vec<(&str, String, &str, Value, &str)> = vec![
        (
            "POST",
            "/v1/agents".into(),
            ADMIN_TOKEN,
            json!({"name": "Bob\u{0}", "queues": [q], "capacity": 1}),
            "name",
        ),
        (
            "POST",
            "/v1/agents".into(),
            ADMIN_TOKEN,
            json!({"name": "Bob\nSmith", "queues": [q], "capacity": 1}),
            "name",
        ),
        ("PATCH", format!("/v1/agents/{agent}"), ADMIN_TOKEN, json!({"name": "Ada\u{7}"}), "name"),
        ("POST", "/v1/channels".into(), ADMIN_TOKEN, new_channel("Tele\u{0}Sign", "Support"), "name"),
        (
            "POST",
            "/v1/channels".into(),
            ADMIN_TOKEN,
            new_channel("TeleSign 2", "Support\nline"),
            "numbers[0].description",
        ),
        ("PATCH", format!("/v1/channels/{c}"), ADMIN_TOKEN, json!({"name": "Main\u{9f}"}), "name"),
        (
            "PATCH",
            format!("/v1/channels/{c}"),
            ADMIN_TOKEN,
            json!({"automated_messages": {"en": {"greeting": "Hi\u{0}"}}}),
            "automated_messages.en.greeting",
        ),
        (
            "PATCH",
            format!("/v1/channels/{c}"),
            ADMIN_TOKEN,
            json!({"attachments": {"customer": true, "agent": true, "refused_text": "No\u{1b}"}}),
            "attachments.refused_text",
        ),
        (
            "POST",
            "/v1/queues".into(),
            ADMIN_TOKEN,
            json!({"name": "Billing", "expiry_message": "Bye\u{1b}[2J"}),
            "expiry_message",
        ),
        (
            "PATCH",
            format!("/v1/queues/{q}"),
            ADMIN_TOKEN,
            json!({"dispositions": ["Sol\tved"]}),
            "dispositions[0]",
        ),
        (
            "POST",
            "/v1/contacts".into(),
            ADMIN_TOKEN,
            json!({"name": "Zoe\u{0}", "phone": "+15555550799"}),
            "name",
        ),
        (
            "POST",
            "/v1/quick-replies".into(),
            ADMIN_TOKEN,
            json!({"shortcut": "hi", "title": "Hi\nthere", "text": "Hello"}),
            "title",
        ),
        (
            "POST",
            "/v1/quick-replies".into(),
            ADMIN_TOKEN,
            json!({"shortcut": "hi", "title": "Hi", "text": "Hello\u{0}"}),
            "text",
        ),
        (
            "POST",
            "/v1/consent".into(),
            ADMIN_TOKEN,
            json!({"phone": "+15555550799", "opted_out": true, "note": "by phone\u{0}"}),
            "note",
        ),
        ("POST", notes.clone(), &token, json!({"text": "call back\u{0}"}), "text"),
        ("POST", reply.clone(), &token, json!({"text": "hello\u{0}"}), "text"),
        ("POST", reply.clone(), &token, json!({"text": "bell\u{7}"}), "text"),
        ("POST", transfer.clone(), &token, json!({"queue_id": q, "note": "vip\u{0}"}), "note"),
        (
            "POST",
            "/v1/messages".into(),
            &token,
            json!({"channel_id": c, "from": OUR_NUMBER, "to": "+15555550799", "text": "hi\u{0}"}),
            "text",
        ),
    ];
    for (method, path, who, body, field) in &cases {
        let (status, answer) = s.api().call(method, path, Some(who), Some(body.clone())).await;
        let what = format!("{method} {path} {body}");
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_request", "{what}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains("control characters"),
            "{what}: {message:?} should name {field} and the rule"
        );
    }
    s.app.settled().await;
    assert_eq!(snapshot(s.api()).await, before, "nothing was created or changed");
    let after = s.api().conversation(&token, &conversation).await;
    assert_eq!(after["messages"], transcript["messages"], "no reply, note or transfer: {after}");
    assert!(s.fake.sends().is_empty(), "nothing was sent");

    // An over-long reply is still a 422, and free texts keep their newlines, carriage returns and tabs.
    let (status, answer) =
        s.api().call("POST", &reply, Some(&token), Some(json!({"text": "x".repeat(1601)}))).await;
    assert_eq!((status, &answer["error"]["code"]), (422, &json!("invalid_text")), "{answer}");
    s.api().ok("POST", &notes, &token, Some(json!({"text": "line one\nline two\tdone"})), 201).await;
    s.api().ok("POST", &reply, &token, Some(json!({"text": "Hello,\r\nyour order:\tshipped"})), 202).await;
    s.api()
        .ok(
            "PATCH",
            &format!("/v1/channels/{c}"),
            ADMIN_TOKEN,
            Some(json!({"automated_messages": {"en": {"greeting": "Hi!\nWe are here."}}})),
            200,
        )
        .await;
}
