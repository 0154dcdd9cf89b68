//! Webhooks on the webhook function's own Lambda function URL (the template's `WebhookIngress=FunctionUrl`),
//! and the console and /v1 on agent-api's (`ApiIngress=FunctionUrl`). Issue 12.4: a function URL bills
//! nothing per request, API Gateway $1.00 per million webhooks or API calls. AWS shape only: `smsdesk dev`
//! has one listener.

use crate::*;
use serde_json::json;

const NUMBER: &str = "15555550161";
const CUSTOMER: &str = "15555550261";

#[tokio::test]
async fn webhooks_on_the_function_url_are_checked_at_its_host_and_every_callback_url_names_it() {
    let app = TestApp::spawn_aws_with_webhook_function_url().await;
    let front = app.aws.as_ref().and_then(|a| a.function_url.clone()).expect("the function URL");
    let s = Setup::with_queue_on(app, json!({"name": "Support"})).await;
    let (_agent, token) = s.agent("Ada", 10).await;
    let twilio = FakeTwilio::start().await;
    let mut fields = twilio.channel_fields();
    fields["name"] = json!("Twilio line");
    fields["automated_messages_enabled"] = json!(false);
    fields["numbers"] =
        json!([{"number": NUMBER, "type": "geo", "description": "support", "queue": s.queue}]);
    let channel = s.api().ok("POST", "/v1/channels", ADMIN_TOKEN, Some(fields), 201).await;
    let channel_id = channel["id"].as_str().expect("channel id");

    // The callback URL an admin pastes into the provider's portal is the function URL's.
    let callback = channel["callback_url"].as_str().expect("callback_url").to_string();
    assert_eq!(callback, format!("{}/webhooks/twilio/{channel_id}", front.url), "{channel}");

    // Twilio signs the URL it posts to: a text signed for another URL is refused at the function URL, ...
    let at_url = Api::new(front.listen.clone());
    let now = s.app.app().clock.now();
    let api_url = format!("{}/webhooks/twilio/{channel_id}", s.api().base);
    let forged = twilio.inbound(&api_url, "SMfu0", CUSTOMER, NUMBER, "Hello?", now);
    let (status, body) = at_url.deliver(&forged).await;
    assert_eq!(status, 401, "signed for another URL: {body}");

    // ... one signed for the function URL is taken there, filed and offered.
    let text = twilio.inbound(&callback, "SMfu1", CUSTOMER, NUMBER, "Where is my order?", now);
    let (status, body) = at_url.deliver(&text).await;
    assert_eq!(status, 200, "{body}");
    let conversation = s.work_item_for(&token, &format!("+{CUSTOMER}")).await;

    // The reply's status callback (outbound-send's) names the function URL; the receipt posted there
    // moves the reply to delivered.
    let reply = s.reply(&token, &conversation, "It ships today.").await;
    s.message_status(&token, &conversation, &reply, "sent").await;
    let sends = eventually(15, "the reply reaches Twilio", || async {
        let sends = twilio.sends();
        (!sends.is_empty()).then_some(sends)
    })
    .await;
    let sent = &sends[0];
    let status_callback = sent.callback.clone().unwrap_or_default();
    assert!(status_callback.starts_with(&format!("{callback}?")), "StatusCallback {status_callback:?}");
    let receipt = twilio.delivered(&callback, sent, s.app.app().clock.now());
    let (status, body) = at_url.deliver(&receipt).await;
    assert_eq!(status, 200, "{body}");
    s.message_status(&token, &conversation, &reply, "delivered").await;

    // The API's webhook route still serves a provider whose callback URL has not been moved yet (TeleSign:
    // its signature does not cover the URL).
    s.text("fu-ts-1", "15555550262", "Still here?").await;
    s.work_item_for(&token, "+15555550262").await;
    s.app.settled().await;
}

/// On agent-api's own URL there is no JWT authorizer: the function checks the issuer's tokens itself (the
/// stack's JwtIssuer and JwtAudience), reads them by the same rule (admin by group, agent by `sub`), and an
/// agent's reply sent there goes out once, as through the API.
#[tokio::test]
async fn the_api_on_agent_apis_function_url_checks_the_issuers_jwts_itself() {
    let app = TestApp::spawn_aws_with_function_urls().await;
    let api_url = app.aws.as_ref().and_then(|a| a.api_url.clone()).expect("the API function URL");
    let s = Setup::with_queue_on(app, json!({"name": "Support"})).await;
    let (agent, token) = s.agent("Ada", 10).await;
    let at_url = Api::new(api_url.front.listen.clone());

    // An admin of the issuer (group smsdesk-admin) reads the agents there; the agent is known by its `sub`.
    let admin = api_url.token(&format!("idp-admin-{}", uuid::Uuid::new_v4()), true);
    let agents = at_url.ok("GET", "/v1/agents", &admin, None, 200).await;
    let subject = agents["items"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["id"] == agent.as_str()))
        .and_then(|a| a["subject"].as_str())
        .unwrap_or_else(|| panic!("agent {agent} with its subject in {agents}"))
        .to_string();
    let jwt = api_url.token(&subject, false);
    let me = at_url.ok("GET", "/v1/me", &jwt, None, 200).await;
    assert_eq!((me["role"].as_str(), me["agent_id"].as_str()), (Some("agent"), Some(agent.as_str())), "{me}");
    let (status, body) = at_url.call("GET", "/v1/agents", Some(&jwt), None).await;
    assert_eq!(status, 403, "an agent is no admin: {body}");

    // What the issuer did not sign for this stack is refused, with our error body.
    let mut other_audience = api_url.claims(&subject, false);
    other_audience["aud"] = json!("another-app");
    let mut expired = api_url.claims(&subject, false);
    expired["exp"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() - 120);
    let mut other_issuer = api_url.claims(&subject, false);
    other_issuer["iss"] = json!("https://elsewhere.example");
    let signed = api_url.token(&format!("idp-user-{}", uuid::Uuid::new_v4()), true);
    let mut parts: Vec<&str> = signed.split('.').collect();
    let raised = {
        use base64::Engine as _;
        let claims = api_url.claims(&subject, true);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    };
    parts[1] = &raised; // an agent's token made an admin's after signing
    let refused = [
        ("no token", None),
        ("another audience", Some(api_url.sign(&other_audience))),
        ("expired", Some(api_url.sign(&expired))),
        ("another issuer", Some(api_url.sign(&other_issuer))),
        ("claims changed after signing", Some(parts.join("."))),
        ("not a JWT (the API's own agent token)", Some(token.clone())),
    ];
    for (why, bearer) in refused {
        let (status, body) = at_url.call("GET", "/v1/agents", bearer.as_deref(), None).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{why}: {body}");
    }

    // A customer's text comes in (the API's webhook route); the agent answers through the function URL.
    s.text("fa-1", "15555550263", "Is my order late?").await;
    let conversation = s.work_item_for(&token, "+15555550263").await;
    let work = at_url.ok("GET", "/v1/work-items", &jwt, None, 200).await;
    assert!(work.to_string().contains(&conversation), "{work}");
    let reply = at_url
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &jwt,
            Some(json!({"text": "It ships today."})),
            202,
        )
        .await;
    let reply = reply["id"].as_str().expect("reply id").to_string();
    s.message_status(&token, &conversation, &reply, "sent").await;
    assert_eq!(s.fake.accepted_for(&reply), 1, "sent once");

    // A method a route does not take is the API's JSON 405 there (API Gateway never sends one through).
    let resp = reqwest::Client::new()
        .delete(format!("{}/v1/queues", api_url.front.listen))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("DELETE /v1/queues");
    assert_eq!(resp.status().as_u16(), 405);
    assert!(resp.headers().get("allow").is_some(), "the methods it takes");
    let body: serde_json::Value = resp.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");

    // The console is served there too.
    let page = reqwest::get(format!("{}/", api_url.front.listen)).await.expect("GET /");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("the page");
    assert!(page.to_ascii_lowercase().contains("<html"), "{page}");

    // Channel validation is validate-credentials' (on the API): the function URL names where.
    let (status, body) =
        at_url.call("POST", &format!("/v1/channels/{}/validate", s.channel), Some(&admin), None).await;
    assert_eq!(status, 421, "{body}");
    let expected = format!("{}/v1/channels/{}/validate", s.api().base, s.channel);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(&expected)), "{body}");
    let (status, body) =
        s.api().call("POST", &format!("/v1/channels/{}/validate", s.channel), Some(ADMIN_TOKEN), None).await;
    assert_ne!(status, 421, "the API's route validates: {body}");
    s.app.settled().await;
}
