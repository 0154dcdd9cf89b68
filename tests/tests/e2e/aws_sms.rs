//! An AWS End User Messaging SMS channel end to end: the SNS subscription confirmed once its signature
//! verifies, a customer's two-way text in through SNS, the agent's reply out through a fake End User
//! Messaging API on loopback that checks our SigV4 signature with the SDK's own signer, and the delivery
//! event moving the reply to delivered.

use crate::*;
use serde_json::{Value, json};
use smsdesk_tests::fake_providers::{AWS_KEY_ID, AWS_REGION, AWS_SECRET, FakeAws, SNS_TOPIC};

const AWS_NUMBER: &str = "18005550177";
const CUSTOMER: &str = "+14255550124";

async fn sns(api: &Api, path: &str, body: String, kind: &str) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}{path}", api.base))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", kind)
        .header("x-amz-sns-topic-arn", SNS_TOPIC)
        .body(body)
        .send()
        .await
        .expect("webhook reaches the app");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn aws_text_in_reply_out_sigv4_and_delivery_event() {
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeAws::start().await;
    let api = &app.api;
    let queue = api.create_queue("AWS-support").await;
    let channel = api
        .ok(
            "POST",
            "/v1/channels",
            ADMIN_TOKEN,
            Some(json!({
                "name": "AWS", "provider": "aws",
                "credentials": {"region": AWS_REGION, "access_key_id": AWS_KEY_ID, "secret_access_key": AWS_SECRET, "topic_arn": SNS_TOPIC},
                "base_url": fake.url,
                "numbers": [{"number": AWS_NUMBER, "type": "toll_free", "description": "support", "queue": queue}],
                // This test counts what reaches the provider for the agent's reply: no automated messages.
                "automated_messages_enabled": false,
            })),
            201,
        )
        .await;
    let id = channel["id"].as_str().expect("channel id").to_string();
    assert_eq!(channel["credentials"]["secret_access_key"], "********", "{channel}");
    let path = format!("/webhooks/aws/{id}");

    // SNS asks to confirm the subscription: confirmed once, after its signature verified.
    let (status, answer) = sns(api, &path, fake.confirmation(), "SubscriptionConfirmation").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(*fake.confirmations.lock().unwrap(), 1);
    let forged = fake.confirmation().replace("You have chosen", "You have not chosen");
    let (status, _) = sns(api, &path, forged, "SubscriptionConfirmation").await;
    assert_eq!(status, 401);
    assert_eq!(*fake.confirmations.lock().unwrap(), 1, "a forged confirmation is never followed");

    let (agent, token) = api.create_agent("Ada", &[&queue], 2).await;
    api.presence(&agent, &token, "available").await;

    // The customer texts; the conversation reaches Ada.
    let two_way = json!({"originationNumber": CUSTOMER, "destinationNumber": format!("+{AWS_NUMBER}"), "messageKeyword": "KEYWORD_111122223333",
                         "messageBody": "Where is my order?", "inboundMessageId": "in-e2e-1", "previousPublishedMessageId": "none"});
    let (status, answer) =
        sns(api, &path, fake.notification("b1a2c3d4-0000-4000-8000-000000000001", &two_way), "Notification")
            .await;
    assert_eq!(status, 200, "{answer}");
    let conversation = api.first_conversation(&token, "the text reaches Ada").await;
    let c = api.conversation(&token, &conversation).await;
    assert_eq!(
        (c["customer"].as_str(), c["messages"][0]["text"].as_str()),
        (Some(CUSTOMER), Some("Where is my order?"))
    );

    // Ada answers: End User Messaging receives one SigV4-signed SendTextMessage from our number.
    let reply = api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "It ships today!"})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("reply id").to_string();
    let message = |status: &'static str| {
        let (api, token, conversation, reply_id) =
            (api.clone(), token.clone(), conversation.clone(), reply_id.clone());
        async move {
            let c = api.conversation(&token, &conversation).await;
            c["messages"]
                .as_array()?
                .iter()
                .find(|m| m["id"] == reply_id.as_str() && m["status"] == status)
                .cloned()
        }
    };
    let sent = eventually(30, "the reply is sent", || message("sent")).await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert!(sends[0].auth_ok, "the SigV4 signature verifies: {:?}", sends[0].auth_problem);
    assert_eq!(sends[0].body["OriginationIdentity"], format!("+{AWS_NUMBER}"));
    assert_eq!(sends[0].body["DestinationPhoneNumber"], CUSTOMER);
    assert_eq!(sends[0].body["MessageBody"], "It ships today!");
    assert_eq!(sends[0].body["Context"]["smsdesk_message"], reply_id.as_str());
    assert_eq!(sent["provider_message_id"], sends[0].provider_id.as_str());

    // The configuration set's delivery event arrives through SNS: the reply moves to delivered.
    let event = json!({"eventType": "TEXT_DELIVERED", "eventVersion": "1.0", "eventTimestamp": 1764000005000u64, "isFinal": true,
                       "originationPhoneNumber": format!("+{AWS_NUMBER}"), "destinationPhoneNumber": CUSTOMER, "messageId": sends[0].provider_id,
                       "messageStatus": "DELIVERED", "messageStatusDescription": "Message has been accepted by phone",
                       "context": {"smsdesk_message": reply_id}});
    let (status, answer) =
        sns(api, &path, fake.notification("b1a2c3d4-0000-4000-8000-000000000002", &event), "Notification")
            .await;
    assert_eq!(status, 200, "{answer}");
    eventually(30, "the reply is delivered", || message("delivered")).await;
}

/// An upload for a reply on `conversation`: (status, answer).
async fn upload(api: &Api, token: &str, conversation: &str, bytes: Vec<u8>) -> (u16, Value) {
    let r = api
        .http
        .post(format!("{}/v1/conversations/{conversation}/media", api.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload reaches the app");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The bytes of an MP4 (an `ftyp` box, as the type sniffer reads it) of `len` bytes.
fn mp4_of(len: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    v.resize(len, 0);
    v
}

/// Issue 14 on AWS End User Messaging: an agent's picture goes out by `SendMediaMessage` naming the object
/// in the stack's S3 media bucket (End User Messaging reads it there with the sender's role), and its limits
/// (one file per message, 600 KB for video) are 422s naming them. The embedded shape keeps media in a
/// folder, which End User Messaging cannot read: there the upload is a 422 that says so, and nothing is sent.
#[tokio::test]
async fn an_agent_sends_an_image_through_aws_end_user_messaging_from_the_s3_bucket() {
    use smsdesk_domain::media::samples::PNG_1X1;
    let Some(app) = crate::spawn_app().await else { return };
    let fake = FakeAws::start().await;
    let api = &app.api;
    let queue = api.create_queue("AWS-mms").await;
    let channel = api
        .ok(
            "POST",
            "/v1/channels",
            ADMIN_TOKEN,
            Some(json!({
                "name": "AWS MMS", "provider": "aws",
                "credentials": {"region": AWS_REGION, "access_key_id": AWS_KEY_ID, "secret_access_key": AWS_SECRET, "topic_arn": SNS_TOPIC},
                "base_url": fake.url,
                "numbers": [{"number": AWS_NUMBER, "type": "toll_free", "description": "support", "queue": queue}],
                "attachments": {"customer": true, "agent": true},
                "automated_messages_enabled": false,
            })),
            201,
        )
        .await;
    assert_eq!(channel["media"]["outbound"], true, "{channel}");
    let path = format!("/webhooks/aws/{}", channel["id"].as_str().expect("channel id"));
    let (agent, token) = api.create_agent("Ada", &[&queue], 2).await;
    api.presence(&agent, &token, "available").await;
    let two_way = json!({"originationNumber": CUSTOMER, "destinationNumber": format!("+{AWS_NUMBER}"),
                         "messageBody": "What does it look like?", "inboundMessageId": "in-mms-1"});
    let (status, answer) =
        sns(api, &path, fake.notification("b1a2c3d4-0000-4000-8000-0000000000a1", &two_way), "Notification")
            .await;
    assert_eq!(status, 200, "{answer}");
    let conversation = api.first_conversation(&token, "the text reaches Ada").await;

    let (status, uploaded) = upload(api, &token, &conversation, PNG_1X1.to_vec()).await;
    if app.aws.is_none() {
        // Embedded: the folder is no S3 bucket.
        assert_eq!(status, 422, "{uploaded}");
        assert_eq!(uploaded["error"]["code"], "attachments_unsupported", "{uploaded}");
        let message = uploaded["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("S3 media bucket"), "says why: {uploaded}");
        app.settled().await;
        assert!(fake.sends().is_empty(), "nothing went out: {:?}", fake.sends());
        return;
    }
    assert_eq!(status, 201, "{uploaded}");
    let media_id = uploaded["id"].as_str().expect("media id").to_string();

    // Limits, before anything is sent: a video over 600 KB, two files in one message.
    let (status, body) = upload(api, &token, &conversation, mp4_of(600_001)).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("video/mp4 is over its limit of 600000 bytes")),
        "names the limit: {body}"
    );
    let (status, second) = upload(api, &token, &conversation, mp4_of(2_000)).await;
    assert_eq!(status, 201, "a small video is taken: {second}");
    let (status, body) = api
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token),
            Some(json!({"text": "two", "media": [media_id, second["id"]]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("the limit is 1 per message")),
        "names the limit: {body}"
    );

    // The picture goes out: one SigV4-signed SendMediaMessage naming the object in our bucket.
    let reply = api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "Like this", "media": [media_id]})),
            202,
        )
        .await;
    let reply_id = reply["id"].as_str().expect("reply id").to_string();
    let send =
        eventually(30, "End User Messaging got the MMS", || async { fake.sends().into_iter().next() }).await;
    assert!(send.auth_ok, "the SigV4 signature verifies: {:?}", send.auth_problem);
    assert_eq!(send.target, "SendMediaMessage", "{send:?}");
    assert_eq!(send.body["OriginationIdentity"], format!("+{AWS_NUMBER}"));
    assert_eq!(send.body["DestinationPhoneNumber"], CUSTOMER);
    assert_eq!(send.body["MessageBody"], "Like this");
    assert_eq!(send.body["Context"]["smsdesk_message"], reply_id.as_str());
    let urls = send.body["MediaUrls"].as_array().cloned().unwrap_or_default();
    assert_eq!(urls.len(), 1, "{send:?}");
    let store = app.app().media().expect("the AWS shape has a media store");
    let key = format!("{conversation}/{media_id}");
    assert_eq!(urls[0].as_str(), store.s3_location(&key).as_deref(), "the object in our bucket");
    let object = store.get_object(&key).await.expect("read").expect("the object is in the bucket");
    assert_eq!(object.bytes, PNG_1X1, "the bucket holds the picture End User Messaging reads");
    let c = api.conversation(&token, &conversation).await;
    let sent =
        c["messages"].as_array().and_then(|m| m.iter().find(|m| m["id"] == reply_id.as_str()).cloned());
    let sent = sent.expect("the reply is in the transcript");
    assert_eq!(sent["media"][0]["id"], media_id.as_str(), "{sent}");
    app.settled().await;
    assert_eq!(fake.sends().len(), 1, "sent once");
}
