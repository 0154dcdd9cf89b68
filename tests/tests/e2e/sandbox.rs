//! The sandbox provider of `smsdesk dev` (embedded shape only): its routes and its webhook take the admin
//! token, since anyone who reaches the port could otherwise post a STOP as any customer. And the real
//! `smsdesk dev` binary's log, redirected to a file: no ANSI colour codes, no customer number, no token.

use crate::*;
use serde_json::json;

/// A sandbox channel on OUR_NUMBER feeding a new queue; returns (queue, channel).
async fn sandbox_channel(api: &Api) -> (String, String) {
    let queue = api.create_queue("Support").await;
    let body = json!({"name": "Demo", "provider": "sandbox",
        "numbers": [{"number": OUR_NUMBER, "type": "geo", "description": "Support line", "queue": queue}]});
    let channel = api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
    (queue, channel["id"].as_str().expect("channel id").to_string())
}

#[tokio::test]
async fn the_sandbox_routes_and_webhook_refuse_anyone_but_the_admin() {
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (queue, channel) = sandbox_channel(api).await;
    let (_agent, agent_token) = api.create_agent("Ada", &[&queue], 1).await;
    let text = json!({"channel_id": channel, "from": "+15555550611", "to": OUR_NUMBER_E164, "text": "STOP"});

    for (token, status) in [(None, 401), (Some(agent_token.as_str()), 403)] {
        let (got, body) = api.call("POST", "/v1/sandbox/inbound", token, Some(text.clone())).await;
        assert_eq!(got, status, "sandbox inbound with {token:?}: {body}");
        let (got, body) = api.call("GET", "/v1/sandbox/outbox", token, None).await;
        assert_eq!(got, status, "sandbox outbox with {token:?}: {body}");
    }
    let path = format!("/webhooks/sandbox/{channel}");
    let raw = serde_json::to_vec(&json!({"from": "+15555550611", "to": OUR_NUMBER_E164, "text": "STOP"}))
        .expect("json");
    let (refused, body) = api.webhook(&path, &raw, None).await;
    assert_eq!(refused, 401, "{body}");
    let as_agent = api.webhook(&path, &raw, Some(&format!("Bearer {agent_token}"))).await;
    assert_eq!(as_agent, (refused, body.clone()), "an agent's token answers like no token");
    let unknown =
        api.webhook("/webhooks/sandbox/ch_nope", &raw, Some(&format!("Bearer {ADMIN_TOKEN}"))).await;
    assert_eq!(unknown, (refused, body), "an unknown channel answers the same");

    // The admin plays the customer, both ways.
    let (status, body) = api.webhook(&path, &raw, Some(&format!("Bearer {ADMIN_TOKEN}"))).await;
    assert_eq!(status, 200, "{body}");
    api.ok("POST", "/v1/sandbox/inbound", ADMIN_TOKEN, Some(text), 202).await;
    api.ok("GET", "/v1/sandbox/outbox", ADMIN_TOKEN, None, 200).await;
}

/// The README's demo texts through `POST /v1/sandbox/inbound`: they count on `/metrics` as a webhook's do.
#[tokio::test]
async fn a_sandbox_text_counts_as_a_text_in_on_metrics() {
    use smsdesk_contract::metrics::{Observed, parse_prometheus, series};
    let app = TestApp::spawn().await;
    let api = &app.api;
    let (_queue, channel) = sandbox_channel(api).await;
    let text = json!({"channel_id": channel, "from": "+15555550612", "to": OUR_NUMBER_E164, "text": "Hello"});
    api.ok("POST", "/v1/sandbox/inbound", ADMIN_TOKEN, Some(text), 202).await;

    let scrape = api.http.get(format!("{}/metrics", api.base)).send().await.expect("/metrics answers");
    let scrape = scrape.text().await.expect("body");
    let read = parse_prometheus(&scrape);
    assert_eq!(
        series(&read, "TextsIn", &[("Channel", channel.as_str()), ("Provider", "sandbox")]),
        Some(Observed::Count(1.0)),
        "{scrape}"
    );
}

#[tokio::test]
async fn smsdesk_dev_logs_to_a_redirected_file_without_colours_numbers_or_tokens() {
    let binary = smsdesk_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("smsdesk.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let dev = DevProcess::spawn_logging_to(
        &binary,
        &dir.path().join("smsdesk.db"),
        &[("RUST_LOG", "info,smsdesk=trace,smsdesk_app=trace,smsdesk_embedded=trace")],
        log,
    )
    .await;
    let api = dev.api.clone();
    let (queue, channel) = sandbox_channel(&api).await;
    let (agent, token) = api.create_agent("Ada", &[&queue], 1).await;
    api.presence(&agent, &token, "available").await;
    let text = json!({"channel_id": channel, "from": "+15555550612", "to": OUR_NUMBER_E164, "text": "Hi"});
    api.ok("POST", "/v1/sandbox/inbound", ADMIN_TOKEN, Some(text), 202).await;
    let conversation = eventually(30, "the text reaches Ada", || async {
        api.work_items(&token).await.first().and_then(|w| w["conversation_id"].as_str().map(str::to_string))
    })
    .await;
    api.ok(
        "POST",
        &format!("/v1/conversations/{conversation}/messages"),
        &token,
        Some(json!({"text": "Hello!"})),
        202,
    )
    .await;
    eventually(30, "the reply is sent", || async {
        let c = api.conversation(&token, &conversation).await;
        c["messages"].as_array().and_then(|m| m.iter().find(|m| m["status"] == "sent").cloned())
    })
    .await;
    api.ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    dev.kill();

    let text = std::fs::read_to_string(&log_path).expect("log");
    assert!(text.contains("conversation closed"), "the log was written: {text}");
    assert!(!text.contains('\u{1b}'), "ANSI escape codes in a redirected log:\n{text}");
    assert!(!text.contains("5555550612"), "a customer's number in the log:\n{text}");
    assert!(!text.contains(ADMIN_TOKEN) && !text.contains(&token), "a token in the log:\n{text}");
}
