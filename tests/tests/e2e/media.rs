//! MMS media in and out (issue 14), against a fake Twilio that serves media on loopback and records which
//! host got which `Authorization`, and a second loopback host (a CDN, or someone else's server).

use serde_json::{Value, json};
use smsdesk_domain::media::samples::{PNG_1X1, ftyp, jpeg_2x3, png_claiming};
use smsdesk_tests::*;

const OUR_NUMBER: &str = "15555550166";

struct Mms {
    app: TestApp,
    twilio: FakeTwilioMms,
    channel: String,
    callback_url: String,
    queue: String,
}

fn png() -> MediaAnswer {
    MediaAnswer::Bytes { content_type: "image/png".into(), body: PNG_1X1.to_vec() }
}

impl Mms {
    /// A Twilio channel with these attachment settings, and one available agent; returns its token.
    async fn new(attachments: Value) -> Option<(Self, String)> {
        Self::with_automated_messages(attachments, false).await
    }

    /// As [`Mms::new`], with the channel's automated messages (opt-in notice, greeting, STOP's
    /// confirmation, ...) on or off.
    async fn with_automated_messages(attachments: Value, automated: bool) -> Option<(Self, String)> {
        let app = crate::spawn_app().await?;
        let twilio = FakeTwilioMms::start().await;
        let queue = app.api.create_queue("Pictures").await;
        let body = json!({
            "name": "Twilio MMS", "provider": "twilio", "base_url": twilio.url,
            "credentials": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token},
            "numbers": [{"number": OUR_NUMBER, "type": "geo", "description": "mms", "queue": queue}],
            "attachments": attachments,
            // Most of these tests count what reaches the provider: no automated messages.
            "automated_messages_enabled": automated,
        });
        let created = app.api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
        let channel = created["id"].as_str().expect("channel id").to_string();
        let callback_url = created["callback_url"].as_str().expect("callback url").to_string();
        let (agent, token) = app.api.create_agent("Mia", &[&queue], 5).await;
        app.api.presence(&agent, &token, "available").await;
        Some((Self { app, twilio, channel, callback_url, queue }, token))
    }

    /// A customer's MMS as Twilio posts it (signed), with these media URLs and claimed types.
    async fn mms(&self, sid: &str, from: &str, text: &str, media: &[(&str, &str)]) {
        let mut params: Vec<(String, String)> = vec![
            ("MessageSid".into(), sid.into()),
            ("AccountSid".into(), self.twilio.account_sid.clone()),
            ("From".into(), from.into()),
            ("To".into(), format!("+{OUR_NUMBER}")),
            ("Body".into(), text.into()),
            ("NumMedia".into(), media.len().to_string()),
            ("SmsStatus".into(), "received".into()),
        ];
        for (n, (url, content_type)) in media.iter().enumerate() {
            params.push((format!("MediaUrl{n}"), url.to_string()));
            params.push((format!("MediaContentType{n}"), content_type.to_string()));
        }
        let token = secrecy::SecretString::from(self.twilio.auth_token.clone());
        let signature = smsdesk_providers::twilio::signature::signature(&token, &self.callback_url, &params);
        let body = serde_urlencoded::to_string(&params).expect("form");
        let answer = self
            .app
            .api
            .http
            .post(format!("{}/webhooks/twilio/{}", self.app.api.base, self.channel))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body)
            .send()
            .await
            .expect("webhook reaches the app");
        assert_eq!(answer.status().as_u16(), 200, "{:?}", answer.text().await);
    }

    /// The customer's conversation (as the agent sees it) once its message with `text` lists `count` media
    /// items.
    async fn transcript_with_media(
        &self,
        token: &str,
        customer: &str,
        text: &str,
        count: usize,
    ) -> (String, Value) {
        let api = &self.app.api;
        eventually(30, &format!("{count} media items on '{text}'"), || async {
            let items = api.work_items(token).await;
            let item = items.iter().find(|i| i["customer"] == customer)?;
            let id = item["conversation_id"].as_str()?.to_string();
            let c = api.conversation(token, &id).await;
            let m = c["messages"].as_array()?.iter().find(|m| m["text"] == text)?.clone();
            (m["media"].as_array()?.len() == count).then_some((id, m))
        })
        .await
    }

    async fn get(&self, url: &str) -> (u16, Option<String>, Vec<u8>) {
        let r = self.app.api.http.get(url).send().await.expect("link answers");
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        (status, ct, r.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }

    async fn upload(&self, token: &str, conversation: &str, bytes: Vec<u8>) -> (u16, Value) {
        let r = self
            .app
            .api
            .http
            .post(format!("{}/v1/conversations/{conversation}/media", self.app.api.base))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("upload reaches the app");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn stored(item: &Value) -> bool {
    item["status"] == "stored" && item["url"].is_string()
}

fn failed_with(item: &Value, needle: &str) -> bool {
    item["status"] == "failed"
        && item["url"].is_null()
        && item["error"].as_str().is_some_and(|e| e.contains(needle))
}

#[tokio::test]
async fn an_inbound_mms_with_two_images_is_in_the_transcript_the_crm_and_the_export() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let a = s.twilio.serve_media("/media/a.png", png());
    let jpeg = jpeg_2x3();
    // The host says PNG; the bytes are a JPEG: the bytes decide.
    let b = s
        .twilio
        .serve_media("/media/b", MediaAnswer::Bytes { content_type: "image/png".into(), body: jpeg.clone() });
    s.mms(
        "MM00000000000000000000000000000001",
        "+15555550301",
        "my receipt",
        &[(&a, "image/png"), (&b, "image/png")],
    )
    .await;
    let (conversation, message) = s.transcript_with_media(&token, "+15555550301", "my receipt", 2).await;
    let media = message["media"].as_array().unwrap();
    assert!(media.iter().all(stored), "{message}");
    assert_eq!(media[0]["content_type"], "image/png");
    assert_eq!((media[0]["width"].clone(), media[0]["kind"].clone()), (json!(1), json!("image")));
    assert_eq!(media[1]["content_type"], "image/jpeg", "the type comes from the bytes");
    assert_eq!((media[1]["width"].clone(), media[1]["height"].clone()), (json!(2), json!(3)));
    // Each link serves the bytes, with no token.
    let (status, ct, bytes) = s.get(media[0]["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_deref(), bytes.as_slice()), (200, Some("image/png"), PNG_1X1));
    let (status, _, bytes) = s.get(media[1]["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes), (200, jpeg));
    // An embedded link with another signature opens nothing.
    let url = media[0]["url"].as_str().unwrap();
    if url.contains("/v1/media/") {
        let tampered = format!("{}0", url.trim_end_matches(|c: char| c.is_ascii_hexdigit()));
        assert_eq!(s.get(&tampered).await.0, 404, "a link with a wrong signature is refused");
    }
    // The provider host got the account's credentials.
    let hits = s.twilio.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(
        hits.iter().all(|h| h.authorization.as_deref() == Some(s.twilio.basic_auth().as_str())),
        "{hits:?}"
    );

    // The CRM timeline has the media, and so has the export.
    let c = s.app.api.conversation(&token, &conversation).await;
    let contact = eventually(30, "the contact is linked", || async {
        let c = s.app.api.conversation(&token, &conversation).await;
        c["contact_id"].as_str().map(str::to_string)
    })
    .await;
    let _ = c;
    let event = eventually(30, "media_received on the timeline", || async {
        let contact = s.app.api.ok("GET", &format!("/v1/contacts/{contact}"), &token, None, 200).await;
        contact["timeline"].as_array()?.iter().find(|e| e["kind"] == "media_received").cloned()
    })
    .await;
    assert_eq!(event["conversation_id"], conversation.as_str());
    assert_eq!(event["detail"]["items"].as_array().map(Vec::len), Some(2), "{event}");
    let export =
        s.app.api.ok("GET", &format!("/v1/conversations/{conversation}/export"), &token, None, 200).await;
    let listed = export["conversation"]["media"].as_array().expect("media list");
    assert_eq!(listed.len(), 2, "{export}");
    assert!(listed.iter().all(stored));
    let events = export["conversation"]["crm_events"].as_array().expect("crm events");
    assert!(events.iter().any(|e| e["kind"] == "media_received"), "{export}");
    assert!(export["conversation"]["messages"].as_array().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn android_3gpp_video_and_iphone_m4a_audio_are_kept_in_and_taken_out() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let served = |path: &str, brand: &[u8; 4]| {
        // Hosts often say octet-stream: the bytes decide.
        let body = ftyp(brand);
        s.twilio
            .serve_media(path, MediaAnswer::Bytes { content_type: "application/octet-stream".into(), body })
    };
    let (gp, g2, m4a) = (served("/v.3gp", b"3gp5"), served("/v.3g2", b"3g2a"), served("/a.m4a", b"M4A "));
    s.mms(
        "MM00000000000000000000000000000009",
        "+15555550309",
        "recordings",
        &[(&gp, "video/3gpp"), (&g2, "video/3gpp2"), (&m4a, "audio/mp4")],
    )
    .await;
    let (conversation, message) = s.transcript_with_media(&token, "+15555550309", "recordings", 3).await;
    let media = message["media"].as_array().unwrap();
    assert!(media.iter().all(stored), "{message}");
    let types: Vec<&str> = media.iter().filter_map(|m| m["content_type"].as_str()).collect();
    assert_eq!(types, ["video/3gpp", "video/3gpp2", "audio/mp4"], "{message}");
    assert_eq!((media[0]["kind"].clone(), media[2]["kind"].clone()), (json!("video"), json!("audio")));
    // An agent's upload of the same kinds is taken too.
    eventually(30, "the conversation is the agent's", || async {
        let items = s.app.api.work_items(&token).await;
        items
            .iter()
            .find(|i| i["conversation_id"] == conversation.as_str() && i["agent_id"].is_string())
            .cloned()
    })
    .await;
    for (brand, expected) in [(b"3gp4", "video/3gpp"), (b"M4A ", "audio/mp4")] {
        let (status, uploaded) = s.upload(&token, &conversation, ftyp(brand)).await;
        assert_eq!((status, uploaded["content_type"].as_str()), (201, Some(expected)), "{uploaded}");
    }
}

#[tokio::test]
async fn credentials_go_to_the_provider_host_only() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let cdn = FakeTwilioMms::media_host().await;
    let on_cdn = cdn.serve_media("/cdn/r.png", png());
    let redirecting = s.twilio.serve_media("/media/r", MediaAnswer::Redirect(on_cdn));
    let elsewhere = cdn.serve_media("/x.png", png());
    s.mms(
        "MM00000000000000000000000000000002",
        "+15555550302",
        "two",
        &[(&redirecting, "image/png"), (&elsewhere, "image/png")],
    )
    .await;
    let (_, message) = s.transcript_with_media(&token, "+15555550302", "two", 2).await;
    let media = message["media"].as_array().unwrap();
    assert!(stored(&media[0]), "the redirect to the CDN is followed: {message}");
    assert!(failed_with(&media[1], "not on the provider's media host"), "{message}");
    let provider_hits = s.twilio.hits();
    assert_eq!(provider_hits.len(), 1);
    assert_eq!(provider_hits[0].authorization.as_deref(), Some(s.twilio.basic_auth().as_str()));
    let cdn_hits = cdn.hits();
    assert_eq!(cdn_hits.len(), 1, "the URL on another host was never requested: {cdn_hits:?}");
    assert_eq!(
        (cdn_hits[0].path.as_str(), cdn_hits[0].authorization.as_deref()),
        ("/cdn/r.png", None),
        "no credentials after a redirect"
    );
}

#[tokio::test]
async fn an_expired_provider_url_shows_as_failed_with_the_reason() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let gone = s.twilio.serve_media("/media/gone", MediaAnswer::Status(404));
    s.mms("MM00000000000000000000000000000003", "+15555550303", "late", &[(&gone, "image/jpeg")]).await;
    let (_, message) = s.transcript_with_media(&token, "+15555550303", "late", 1).await;
    assert!(
        failed_with(&message["media"][0], "answered 404 (the provider's link may have expired)"),
        "{message}"
    );
    // A host that keeps failing is tried again, then shown failed.
    let broken = s.twilio.serve_media("/media/broken", MediaAnswer::Status(503));
    s.mms("MM00000000000000000000000000000004", "+15555550303", "later", &[(&broken, "image/jpeg")]).await;
    let (_, message) = s.transcript_with_media(&token, "+15555550303", "later", 1).await;
    assert!(
        failed_with(&message["media"][0], "gave up after 3 attempts: media host answered 503"),
        "{message}"
    );
    assert_eq!(s.twilio.hits().iter().filter(|h| h.path == "/media/broken").count(), 3);
}

#[tokio::test]
async fn hostile_media_is_refused_with_a_reason_and_nothing_is_stored() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true, "max_bytes": 2000})).await else {
        return;
    };
    let mut huge = PNG_1X1.to_vec();
    huge.resize(5000, 0);
    let huge = s
        .twilio
        .serve_media("/huge.png", MediaAnswer::Bytes { content_type: "image/png".into(), body: huge });
    let html = s.twilio.serve_media(
        "/photo.jpg",
        MediaAnswer::Bytes {
            content_type: "image/jpeg".into(),
            body: b"<html><body>sign in</body></html>".to_vec(),
        },
    );
    let bomb = s.twilio.serve_media(
        "/bomb.png",
        MediaAnswer::Bytes { content_type: "image/png".into(), body: png_claiming(100_000, 100_000) },
    );
    let loop_a = format!("{}/loop-a", s.twilio.url);
    let loop_b = s.twilio.serve_media("/loop-b", MediaAnswer::Redirect(loop_a.clone()));
    s.twilio.serve_media("/loop-a", MediaAnswer::Redirect(loop_b));
    let other = FakeTwilioMms::media_host().await;
    let foreign = other.serve_media("/steal", png());
    let media = [
        (&huge, "image/png"),
        (&html, "image/jpeg"),
        (&bomb, "image/png"),
        (&loop_a, "image/png"),
        (&foreign, "image/png"),
    ];
    let media: Vec<(&str, &str)> = media.iter().map(|(u, t)| (u.as_str(), *t)).collect();
    s.mms("MM00000000000000000000000000000005", "+15555550305", "hostile", &media).await;
    let (conversation, message) = s.transcript_with_media(&token, "+15555550305", "hostile", 5).await;
    let m = message["media"].as_array().unwrap();
    assert!(failed_with(&m[0], "too large: over the limit of 2000 bytes"), "{message}");
    assert!(failed_with(&m[1], "type text/html is not accepted"), "the header said image/jpeg: {message}");
    assert!(failed_with(&m[2], "100000x100000 pixels is over the limit"), "{message}");
    assert!(failed_with(&m[3], "redirect loop"), "{message}");
    assert!(failed_with(&m[4], "not on the provider's media host"), "{message}");
    assert_eq!(other.hits(), Vec::<MediaHit>::new(), "the foreign host was never asked");
    // The store kept no bytes of any of them.
    let app = s.app.app();
    let store = app.media().expect("the app has a media store");
    for item in m {
        let key = format!("{conversation}/{}", item["id"].as_str().unwrap());
        assert_eq!(store.get_object(&key).await.expect("media store reads"), None, "{key} kept no bytes");
    }
}

#[tokio::test]
async fn an_agent_sends_an_image_through_twilio_and_limits_are_422() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true, "max_bytes": 2000})).await else {
        return;
    };
    s.mms("SM00000000000000000000000000000006", "+15555550306", "can you show me?", &[]).await;
    let conversation = eventually(30, "the conversation is the agent's", || async {
        let items = s.app.api.work_items(&token).await;
        let item = items.iter().find(|i| i["customer"] == "+15555550306" && i["agent_id"].is_string())?;
        item["conversation_id"].as_str().map(str::to_string)
    })
    .await;
    let (status, uploaded) = s.upload(&token, &conversation, PNG_1X1.to_vec()).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["content_type"], "image/png");
    let media_id = uploaded["id"].as_str().unwrap().to_string();
    s.app
        .api
        .ok(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            &token,
            Some(json!({"text": "like this", "media": [media_id]})),
            202,
        )
        .await;
    let send = eventually(30, "Twilio got the MMS", || async { s.twilio.sends().into_iter().next() }).await;
    assert!(send.auth_ok);
    assert_eq!(send.field("Body"), Some("like this"));
    assert_eq!(send.all("MediaUrl").len(), 1, "{send:?}");
    assert_eq!(send.fetched[0].0, 200, "Twilio could fetch the link: {send:?}");
    assert_eq!(send.fetched[0].1.as_deref(), Some("image/png"));
    assert_eq!(send.fetched[0].2, PNG_1X1);
    // The transcript shows the sent message with its picture.
    let c = s.app.api.conversation(&token, &conversation).await;
    let sent = c["messages"].as_array().unwrap().iter().find(|m| m["text"] == "like this").unwrap().clone();
    assert_eq!(sent["media"][0]["id"], uploaded["id"], "{sent}");

    // Too large, or not a type any provider takes: 422 naming the limit.
    let mut big = PNG_1X1.to_vec();
    big.resize(3000, 0);
    let (status, body) = s.upload(&token, &conversation, big).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("over the limit of 2000 bytes")),
        "{body}"
    );
    // Past what the route reads at all (6 MiB): 413, in the API's JSON error shape.
    let (status, body) = s.upload(&token, &conversation, vec![0u8; 7 * 1024 * 1024]).await;
    assert_eq!((status, &body["error"]["code"]), (413, &json!("payload_too_large")), "{body}");
    let (status, body) = s.upload(&token, &conversation, b"#!/bin/sh\nrm -rf /\n".to_vec()).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("image/jpeg")),
        "names the accepted types: {body}"
    );
    // A media id from elsewhere is refused, and nothing more went out.
    let (status, body) = s
        .app
        .api
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token),
            Some(json!({"text": "again", "media": ["md_0000"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(s.twilio.sends().len(), 1);
    let _ = s.queue;
}

#[tokio::test]
async fn with_attachments_off_media_is_not_kept_the_customer_is_told_once_and_agents_are_refused() {
    let Some((s, token)) =
        Mms::new(json!({"customer": false, "agent": false, "refused_text": "No pictures here, sorry."}))
            .await
    else {
        return;
    };
    let a = s.twilio.serve_media("/media/off.png", png());
    s.mms("MM00000000000000000000000000000007", "+15555550307", "look", &[(&a, "image/png")]).await;
    s.mms("MM00000000000000000000000000000008", "+15555550307", "look again", &[(&a, "image/png")]).await;
    let (conversation, message) = s.transcript_with_media(&token, "+15555550307", "look again", 0).await;
    assert_eq!(message["media"], json!([]));
    let refusal = eventually(30, "the customer was told", || async {
        let sends = s.twilio.sends();
        sends.iter().find(|x| x.field("Body") == Some("No pictures here, sorry.")).cloned()
    })
    .await;
    assert!(refusal.all("MediaUrl").is_empty());
    s.app.settled().await;
    let c = s.app.api.conversation(&token, &conversation).await;
    let told: Vec<&Value> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == "No pictures here, sorry.")
        .collect();
    assert_eq!(told.len(), 1, "once per conversation: {c}");
    assert_eq!(told[0]["author"], "system");
    assert_eq!(s.twilio.sends().len(), 1, "one refusal sent");
    assert!(s.twilio.hits().is_empty(), "nothing was fetched");
    let export =
        s.app.api.ok("GET", &format!("/v1/conversations/{conversation}/export"), &token, None, 200).await;
    assert_eq!(export["conversation"]["media"], json!([]));

    let (status, body) = s.upload(&token, &conversation, PNG_1X1.to_vec()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "attachments_disabled");
    let (status, body) = s
        .app
        .api
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token),
            Some(json!({"text": "here", "media": ["md_1"]})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn a_telesign_mms_is_fetched_from_its_api_host_without_credentials_and_agents_get_a_422_naming_why() {
    let Some(app) = crate::spawn_app().await else { return };
    // TeleSign's API host (the channel's base_url) serves its MMS media; another host does not count.
    let telesign_host = FakeTwilioMms::media_host().await;
    let other = FakeTwilioMms::media_host().await;
    let queue = app.api.create_queue("TeleSign-pictures").await;
    let (customer_id, api_key) =
        ("0C1D2E3F-0000-4000-8000-00000000AA01", "c2VjcmV0LWtleS1mb3ItbW1zLXRlc3RzLTAxMjM0NQ==");
    let number = "15555550177";
    let body = json!({
        "name": "TeleSign MMS", "provider": "telesign", "base_url": telesign_host.url,
        "credentials": {"customer_id": customer_id, "api_key": api_key},
        "numbers": [{"number": number, "type": "geo", "description": "mms", "queue": queue}],
        "attachments": {"customer": true, "agent": true},
    });
    let created = app.api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
    let channel = created["id"].as_str().expect("channel id").to_string();
    assert_eq!(created["media"]["inbound"], true, "{created}");
    assert_eq!(created["media"]["outbound"], false, "{created}");
    assert!(created["media"]["note"].as_str().is_some_and(|n| n.contains("text only")), "{created}");
    let (agent, token) = app.api.create_agent("Tess", &[&queue], 5).await;
    app.api.presence(&agent, &token, "available").await;

    let a = telesign_host.serve_media("/mms/a.png", png());
    let b = telesign_host.serve_media(
        "/mms/b",
        MediaAnswer::Bytes { content_type: "application/octet-stream".into(), body: jpeg_2x3() },
    );
    let foreign = other.serve_media("/mms/c.png", png());
    let mo = serde_json::to_vec(&json!({
        "reference_id": "0123456789ABCDEF0123456789ABCD01", "sub_resource": "mo_mms",
        "submit_timestamp": "2026-11-29T10:00:00Z", "phone_number": "15555550377", "sender_id": number,
        "content": {"text_1": "the broken part", "url_image_1": a, "url_image_2": b, "url_image_3": foreign},
    }))
    .expect("json");
    let signature = smsdesk_tests::fake_telesign::callback_signature(api_key, &mo);
    let answer = app
        .api
        .http
        .post(format!("{}/webhooks/telesign/{channel}", app.api.base))
        .header("content-type", "application/json")
        .header("authorization", format!("TSA {customer_id}:{signature}"))
        .body(mo)
        .send()
        .await
        .expect("webhook reaches the app");
    assert_eq!(answer.status().as_u16(), 200, "{:?}", answer.text().await);

    let (conversation, message) = eventually(30, "three media items on the MMS", || async {
        let items = app.api.work_items(&token).await;
        let id =
            items.iter().find(|i| i["customer"] == "+15555550377")?["conversation_id"].as_str()?.to_string();
        let c = app.api.conversation(&token, &id).await;
        let m = c["messages"].as_array()?.iter().find(|m| m["text"] == "the broken part")?.clone();
        (m["media"].as_array()?.len() == 3).then_some((id, m))
    })
    .await;
    let media = message["media"].as_array().unwrap();
    assert!(stored(&media[0]) && stored(&media[1]), "{message}");
    assert_eq!(media[1]["content_type"], "image/jpeg", "the bytes decide: {message}");
    assert!(failed_with(&media[2], "not on the provider's media host"), "{message}");
    // The media fetches (the channel's automated messages go to the same host's /v1/messaging, signed).
    let hits: Vec<MediaHit> =
        telesign_host.hits().into_iter().filter(|h| h.path != "/v1/messaging").collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(
        hits.iter().all(|h| h.authorization.is_none()),
        "no credentials sent for TeleSign media: {hits:?}"
    );
    assert_eq!(other.hits(), Vec::<MediaHit>::new(), "the foreign host was never asked");

    // TeleSign sends text only: an agent's attachment is refused, and the answer says why.
    let (status, refused) = {
        let r = app
            .api
            .http
            .post(format!("{}/v1/conversations/{conversation}/media", app.api.base))
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(PNG_1X1.to_vec())
            .send()
            .await
            .expect("upload reaches the app");
        (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
    };
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("text only")), "{refused}");
}

#[tokio::test]
async fn a_vonage_channel_says_it_carries_no_mms() {
    let Some(app) = crate::spawn_app().await else { return };
    let queue = app.api.create_queue("No-MMS").await;
    let vonage = FakeVonage::start().await;
    let mut body = FakeProvider::channel_fields(&vonage);
    body["name"] = json!("Vonage line");
    body["numbers"] = json!([{"number": "15555550178", "type": "geo", "description": "x", "queue": queue}]);
    let created = app.api.ok("POST", "/v1/channels", ADMIN_TOKEN, Some(body), 201).await;
    let read = app
        .api
        .ok("GET", &format!("/v1/channels/{}", created["id"].as_str().unwrap()), ADMIN_TOKEN, None, 200)
        .await;
    assert_eq!(
        (read["media"]["inbound"].clone(), read["media"]["outbound"].clone()),
        (json!(false), json!(false))
    );
    assert!(
        read["media"]["note"].as_str().is_some_and(|n| n.contains("Vonage SMS API carries no MMS")),
        "{read}"
    );
}

#[tokio::test]
async fn attachment_settings_outside_the_providers_limits_are_a_400_naming_the_field_and_rule() {
    let Some((s, _)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let api = &s.app.api;
    let path = format!("/v1/channels/{}", s.channel);
    let refused = |body: Value, field: &'static str, rule: &'static str| {
        let path = path.clone();
        async move {
            let (status, answer) = api.call("PATCH", &path, Some(ADMIN_TOKEN), Some(body)).await;
            let message = answer["error"]["message"].as_str().unwrap_or_default().to_string();
            assert_eq!(status, 400, "{field} was taken: {}", answer["error"]);
            assert!(message.starts_with(&format!("attachments.{field}: {rule}")), "{message}");
        }
    };
    let long = "y".repeat(1601);
    refused(json!({"attachments": {"refused_text": long}}), "refused_text", "must be 1 to 1600 characters")
        .await;
    refused(json!({"attachments": {"refused_text": " "}}), "refused_text", "must be 1 to 1600 characters")
        .await;
    refused(json!({"attachments": {"max_bytes": 0}}), "max_bytes", "must be 1 to 5242880 bytes").await;
    refused(json!({"attachments": {"max_bytes": 5242881}}), "max_bytes", "must be 1 to 5242880 bytes").await;
    refused(json!({"attachments": {"max_items": 0}}), "max_items", "must be 1 to 10").await;
    refused(json!({"attachments": {"max_items": 11}}), "max_items", "must be 1 to 10").await;
    // Nothing of them was kept; values within the limits are.
    let read = api.ok("GET", &path, ADMIN_TOKEN, None, 200).await;
    assert_eq!(read["media"]["max_items"], 10, "{read}");
    let ok = json!({"attachments": {"refused_text": "z".repeat(1600), "max_bytes": 1, "max_items": 10}});
    let changed = api.ok("PATCH", &path, ADMIN_TOKEN, Some(ok), 200).await;
    assert_eq!(
        (changed["media"]["max_bytes"].clone(), changed["media"]["max_items"].clone()),
        (json!(1), json!(10))
    );
    // The same rules at creation.
    let queue = api.create_queue("Settings").await;
    let body = json!({
        "name": "Twilio MMS 2", "provider": "twilio", "base_url": s.twilio.url,
        "credentials": {"account_sid": s.twilio.account_sid, "auth_token": s.twilio.auth_token},
        "numbers": [{"number": "15555550167", "type": "geo", "description": "mms", "queue": queue}],
        "attachments": {"customer": true, "agent": true, "refused_text": "y".repeat(2000)},
    });
    let (status, answer) = api.call("POST", "/v1/channels", Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("attachments.refused_text: ")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_reply_whose_attachments_add_up_to_more_than_twilios_5_mb_is_a_422_and_nothing_goes_out() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let read = s.app.api.ok("GET", &format!("/v1/channels/{}", s.channel), ADMIN_TOKEN, None, 200).await;
    assert_eq!(read["media"]["max_message_bytes"], 5_000_000, "{}", read["media"]);
    s.mms("SM00000000000000000000000000000010", "+15555550310", "send me both", &[]).await;
    let conversation = eventually(30, "the conversation is the agent's", || async {
        let items = s.app.api.work_items(&token).await;
        let item = items.iter().find(|i| i["customer"] == "+15555550310" && i["agent_id"].is_string())?;
        item["conversation_id"].as_str().map(str::to_string)
    })
    .await;
    // Each within the 5 MiB per item, together over 5 MB per message.
    let mut big = PNG_1X1.to_vec();
    big.resize(3_000_067, 0);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, uploaded) = s.upload(&token, &conversation, big.clone()).await;
        assert_eq!(status, 201, "{uploaded}");
        ids.push(uploaded["id"].as_str().unwrap().to_string());
    }
    let path = format!("/v1/conversations/{conversation}/messages");
    let body = json!({"text": "both", "media": ids});
    let (status, answer) = s.app.api.call("POST", &path, Some(&token), Some(body)).await;
    assert_eq!((status, &answer["error"]["code"]), (422, &json!("media_refused")), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("add up to 6000134 bytes, over twilio's limit of 5000000 bytes per message"),
        "{message}"
    );
    // Nothing was queued, and each item may still go out on its own.
    let c = s.app.api.conversation(&token, &conversation).await;
    assert!(!c["messages"].as_array().unwrap().iter().any(|m| m["text"] == "both"), "{c}");
    let one = json!({"text": "the first", "media": [ids[0]]});
    s.app.api.ok("POST", &path, &token, Some(one), 202).await;
    let send = eventually(30, "Twilio got the MMS", || async { s.twilio.sends().into_iter().next() }).await;
    assert_eq!((send.field("Body"), send.all("MediaUrl").len()), (Some("the first"), 1), "{send:?}");
    // An item that alone is over the limit per message is refused at upload.
    big.resize(5_000_001, 0);
    let (status, answer) = s.upload(&token, &conversation, big).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]["message"].as_str().is_some_and(|m| m.contains("5000000 bytes per message")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_customer_who_opted_out_is_not_told_pictures_are_not_taken_and_nothing_fails_or_retries() {
    let attachments = json!({"customer": false, "agent": true, "refused_text": "No pictures here, sorry."});
    let Some((s, token)) = Mms::with_automated_messages(attachments, true).await else { return };
    let a = s.twilio.serve_media("/media/stop.png", png());
    let customer = "+15555550311";
    // STOP with a picture, then a picture from the customer who opted out, then a plain text: the router
    // takes a customer's texts in order, so once the last is filed the others are done.
    s.mms("MM00000000000000000000000000000011", customer, "STOP", &[(&a, "image/png")]).await;
    s.mms("MM00000000000000000000000000000012", customer, "one more", &[(&a, "image/png")]).await;
    s.mms("SM00000000000000000000000000000013", customer, "last", &[]).await;
    let (conversation, _) = s.transcript_with_media(&token, customer, "last", 0).await;
    eventually(30, "STOP is confirmed", || async {
        s.twilio.sends().into_iter().find(|x| x.field("Body").is_some_and(|b| b.contains("unsubscribed")))
    })
    .await;
    s.app.settled().await;
    let c = s.app.api.conversation(&token, &conversation).await;
    let told: Vec<&Value> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["text"] == "No pictures here, sorry.")
        .collect();
    assert_eq!(told, Vec::<&Value>::new(), "no notice, not even a failed one: {c}");
    let sent: Vec<String> =
        s.twilio.sends().iter().filter_map(|x| x.field("Body").map(str::to_string)).collect();
    assert!(!sent.iter().any(|b| b.contains("No pictures")), "{sent:?}");
    assert!(s.twilio.hits().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn a_slow_media_host_delays_neither_the_opt_in_notice_nor_the_greeting_and_the_picture_joins_its_text()
{
    let Some((s, token)) = Mms::with_automated_messages(json!({"customer": true, "agent": true}), true).await
    else {
        return;
    };
    // The media host takes the request and holds it until the test lets it answer.
    let gate = MediaGate::new();
    let slow = s
        .twilio
        .serve_media("/media/slow.png", MediaAnswer::Held { gate: gate.clone(), then: Box::new(png()) });
    let customer = "+15555550314";
    s.mms("MM00000000000000000000000000000014", customer, "hi", &[(&slow, "image/png")]).await;
    eventually(30, "the picture's fetch started", || async {
        s.twilio.hits().iter().any(|h| h.path == "/media/slow.png").then_some(())
    })
    .await;
    let said = |start: &'static str| {
        let sends = s.twilio.sends();
        sends.iter().position(|x| x.field("Body").is_some_and(|b| b.starts_with(start)))
    };
    let (notice, greeting) = eventually(40, "the opt-in notice and the greeting", || async {
        Some((said("Thanks for texting us")?, said("Hi! We got your message")?))
    })
    .await;
    assert!(notice < greeting, "the opt-in notice comes first");
    // They went out while the picture was still being fetched: the text is filed, its item not yet.
    let (conversation, message) = s.transcript_with_media(&token, customer, "hi", 0).await;
    assert_eq!(message["media"], json!([]), "{message}");
    gate.open();
    let (_, message) = s.transcript_with_media(&token, customer, "hi", 1).await;
    assert!(stored(&message["media"][0]), "{message}");
    // One message, with its picture, first in the transcript.
    let c = s.app.api.conversation(&token, &conversation).await;
    let first = c["messages"].as_array().and_then(|m| m.first()).cloned().unwrap_or_default();
    assert_eq!(
        (first["text"].clone(), first["media"].as_array().map(Vec::len)),
        (json!("hi"), Some(1)),
        "{c}"
    );
}

impl Mms {
    /// The conversation of a customer who texted `text` once it is the agent's.
    async fn agents_conversation(&self, token: &str, sid: &str, customer: &str, text: &str) -> String {
        self.mms(sid, customer, text, &[]).await;
        eventually(30, "the conversation is the agent's", || async {
            let items = self.app.api.work_items(token).await;
            let item = items.iter().find(|i| i["customer"] == customer && i["agent_id"].is_string())?;
            item["conversation_id"].as_str().map(str::to_string)
        })
        .await
    }

    /// Uploads `bytes` for a reply; the media id.
    async fn uploaded(&self, token: &str, conversation: &str, bytes: Vec<u8>) -> String {
        let (status, uploaded) = self.upload(token, conversation, bytes).await;
        assert_eq!(status, 201, "{uploaded}");
        uploaded["id"].as_str().expect("media id").to_string()
    }

    /// The message `id` of the conversation, once `pred` holds for it.
    async fn message_when(
        &self,
        token: &str,
        conversation: &str,
        id: &str,
        pred: fn(&Value) -> bool,
    ) -> Value {
        eventually(20, &format!("message {id}"), || async {
            let c = self.app.api.conversation(token, conversation).await;
            c["messages"].as_array()?.iter().find(|m| m["id"] == id && pred(m)).cloned()
        })
        .await
    }

    /// A reply with `media` that Twilio refuses for good: the reply's id, once it shows `failed`.
    async fn failed_reply(&self, token: &str, conversation: &str, text: &str, media: &[&str]) -> String {
        self.twilio.refuse_next_sends(1);
        let path = format!("/v1/conversations/{conversation}/messages");
        let body = json!({"text": text, "media": media});
        let reply = self.app.api.ok("POST", &path, token, Some(body), 202).await;
        let id = reply["id"].as_str().expect("message id").to_string();
        self.message_when(token, conversation, &id, |m| m["status"] == "failed").await;
        id
    }
}

/// A failed MMS resent goes out with its attachments again (copies attached to the new message, the first
/// keeping its own); one whose attachments the retention deleted, or that the channel no longer lets agents
/// send, is refused with the reason, and nothing is sent as its text alone.
#[tokio::test]
async fn a_resend_of_a_failed_mms_carries_its_attachments_or_is_refused_with_the_reason() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let conversation =
        s.agents_conversation(&token, "SM00000000000000000000000000000012", "+15555550312", "a photo?").await;
    let api = &s.app.api;
    let png = s.uploaded(&token, &conversation, PNG_1X1.to_vec()).await;
    let jpeg = s.uploaded(&token, &conversation, jpeg_2x3()).await;
    let first = s.failed_reply(&token, &conversation, "here they are", &[&png, &jpeg]).await;
    let refused = s.twilio.sends();
    assert_eq!((refused.len(), refused[0].all("MediaUrl").len()), (1, 2), "{refused:?}");

    let resend_path = format!("/v1/conversations/{conversation}/messages/{first}/resend");
    let resent = api.ok("POST", &resend_path, &token, None, 202).await;
    assert_eq!(resent["resend_of"], first.as_str());
    let again = resent["id"].as_str().expect("resend id").to_string();
    let send = eventually(20, "Twilio got the resend", || async { s.twilio.sends().get(1).cloned() }).await;
    assert_eq!(send.field("Body"), Some("here they are"));
    assert_eq!(send.all("MediaUrl").len(), 2, "the resend carries both attachments: {send:?}");
    assert!(send.fetched.iter().all(|f| f.0 == 200), "Twilio could fetch them: {send:?}");
    assert_eq!((send.fetched[0].2.as_slice(), send.fetched[1].2.clone()), (PNG_1X1, jpeg_2x3()));
    let sent = s.message_when(&token, &conversation, &again, |m| m["status"] == "sent").await;
    let media = sent["media"].as_array().expect("media").clone();
    assert_eq!(media.len(), 2, "{sent}");
    assert!(media.iter().all(stored) && media.iter().all(|m| m["id"] != png && m["id"] != jpeg), "{sent}");
    let original = s.message_when(&token, &conversation, &first, |m| m["status"] == "failed").await;
    assert_eq!(
        (original["media"][0]["id"].as_str(), original["media"][1]["id"].as_str()),
        (Some(&*png), Some(&*jpeg))
    );
    let twice = api.ok("POST", &resend_path, &token, None, 202).await;
    assert_eq!(twice["id"], again.as_str(), "resending twice is one new message");

    // The retention deleted the attachment: the resend is refused naming it, and nothing goes out.
    let picture = s.uploaded(&token, &conversation, PNG_1X1.to_vec()).await;
    let second = s.failed_reply(&token, &conversation, "another one", &[&picture]).await;
    s.app.expire_media(&conversation, &picture).await;
    let path = format!("/v1/conversations/{conversation}/messages/{second}/resend");
    let (status, answer) = api.call("POST", &path, Some(&token), None).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("not_resendable")), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&picture) && message.contains("no longer stored"), "{message}");

    // Agents may no longer send attachments on the channel: refused as a reply with media would be.
    let third_picture = s.uploaded(&token, &conversation, PNG_1X1.to_vec()).await;
    let third = s.failed_reply(&token, &conversation, "a third", &[&third_picture]).await;
    let channel = format!("/v1/channels/{}", s.channel);
    api.ok("PATCH", &channel, ADMIN_TOKEN, Some(json!({"attachments": {"agent": false}})), 200).await;
    let path = format!("/v1/conversations/{conversation}/messages/{third}/resend");
    let (status, answer) = api.call("POST", &path, Some(&token), None).await;
    assert_eq!((status, &answer["error"]["code"]), (403, &json!("attachments_disabled")), "{answer}");

    s.app.settled().await;
    let sends = s.twilio.sends();
    let bodies: Vec<_> = sends.iter().map(|s| (s.field("Body"), s.all("MediaUrl").len())).collect();
    assert_eq!(
        bodies,
        vec![
            (Some("here they are"), 2),
            (Some("here they are"), 2),
            (Some("another one"), 1),
            (Some("a third"), 1)
        ],
        "nothing went out as text only, nor twice"
    );
}

/// Replies racing for one upload: exactly one takes it (202) and goes out with it; every other is refused
/// (409 `in_use`, naming the upload) and nothing of it is queued or sent, as text only or otherwise. A later
/// reply naming it is refused the same way.
#[tokio::test]
async fn of_replies_racing_for_one_upload_exactly_one_takes_it_and_none_goes_out_as_text_only() {
    let Some((s, token)) = Mms::new(json!({"customer": true, "agent": true})).await else { return };
    let conversation = s
        .agents_conversation(&token, "SM00000000000000000000000000000013", "+15555550313", "the receipt?")
        .await;
    let picture = s.uploaded(&token, &conversation, PNG_1X1.to_vec()).await;
    let path = format!("/v1/conversations/{conversation}/messages");
    let replies = (0..6).map(|i| {
        let body = json!({"text": format!("reply {i}"), "media": [picture]});
        let (api, path, token) = (&s.app.api, &path, &token);
        async move { api.call("POST", path, Some(token), Some(body)).await }
    });
    let answers = futures::future::join_all(replies).await;
    let accepted: Vec<&Value> = answers.iter().filter(|(status, _)| *status == 202).map(|(_, a)| a).collect();
    assert_eq!(accepted.len(), 1, "exactly one reply takes the upload: {answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != 202) {
        assert_eq!((*status, &answer["error"]["code"]), (409, &json!("in_use")), "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&picture), "the refusal names the upload: {message}");
    }
    let winner = accepted[0]["id"].as_str().expect("message id").to_string();
    let sent = s.message_when(&token, &conversation, &winner, |m| m["status"] == "sent").await;
    assert_eq!(sent["media"][0]["id"], picture.as_str(), "{sent}");

    // Later, once it went out: refused the same way.
    let body = json!({"text": "once more", "media": [picture]});
    let (status, answer) = s.app.api.call("POST", &path, Some(&token), Some(body)).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("in_use")), "{answer}");

    s.app.settled().await;
    let sends = s.twilio.sends();
    assert_eq!(sends.len(), 1, "one send, with the picture: {sends:?}");
    assert_eq!((sends[0].field("Body"), sends[0].all("MediaUrl").len()), (sent["text"].as_str(), 1));
    let c = s.app.api.conversation(&token, &conversation).await;
    let outbound: Vec<&Value> =
        c["messages"].as_array().expect("messages").iter().filter(|m| m["direction"] == "outbound").collect();
    assert_eq!(outbound.len(), 1, "nothing of the refused replies is in the transcript: {outbound:?}");
}
