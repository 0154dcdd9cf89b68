//! Webhooks on the webhook function's own Lambda function URL (the template's `WebhookIngress=FunctionUrl`,
//! issue 12.4: a function URL bills nothing per request, API Gateway $1.00 per million webhooks). AWS shape
//! only: `smsdesk dev` has one listener.

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
