//! A fake Twilio REST API on loopback. It checks every request the way Twilio does: HTTP Basic auth with the
//! account SID and auth token (401, code 20003 otherwise), the account in the path; it answers like Twilio
//! (a message SID, error codes such as 21610 for a customer who texted STOP) and can be scripted. Its
//! webhooks are signed as Twilio signs them (`X-Twilio-Signature`: base64 HMAC-SHA1 of the URL and the
//! sorted form parameters), computed here independently of smsdesk's own code.

use crate::fake_provider::{FakeProvider, Sent, Webhook, path_of};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// A scripted answer to a send.
#[derive(Clone, Debug)]
pub enum TwilioScript {
    /// 201 with a fresh SID.
    Accept,
    /// An HTTP status with Twilio's error body (`code`, `message`).
    Error { http: u16, code: i64, message: String },
}

#[derive(Default)]
struct Inner {
    sends: Vec<Sent>,
    script: VecDeque<TwilioScript>,
    /// Requests to any path, with whether their Basic auth was the account's.
    requests: Vec<(String, String, bool)>,
}

#[derive(Clone)]
pub struct FakeTwilio {
    pub addr: SocketAddr,
    pub account_sid: String,
    pub auth_token: String,
    inner: Arc<Mutex<Inner>>,
}

struct Shared {
    account_sid: String,
    auth_token: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let hex = |u: uuid::Uuid| u.simple().to_string();
        let account_sid = format!("AC{}", hex(uuid::Uuid::new_v4()));
        let auth_token = hex(uuid::Uuid::new_v4());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Arc::new(Shared {
            account_sid: account_sid.clone(),
            auth_token: auth_token.clone(),
            inner: inner.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake twilio");
        let addr = listener.local_addr().expect("fake twilio addr");
        let app = Router::new().fallback(handle).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, account_sid, auth_token, inner }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next sends with these, in order; then accepts.
    pub fn script(&self, answers: impl IntoIterator<Item = TwilioScript>) {
        self.inner.lock().expect("lock").script.extend(answers);
    }

    /// Every request (method, path, Basic auth correct).
    pub fn requests(&self) -> Vec<(String, String, bool)> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// `X-Twilio-Signature` of a form request to `url` with `params`.
    pub fn signature(&self, url: &str, params: &[(String, String)]) -> String {
        twilio_signature(&self.auth_token, url, params)
    }

    /// A form POST to `url` with `params`, signed over `signed_url` (Twilio signs the URL it was given).
    pub fn form_webhook(&self, url: &str, signed_url: &str, params: &[(String, String)]) -> Webhook {
        Webhook {
            method: "POST",
            path_and_query: path_of(url),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("x-twilio-signature".into(), self.signature(signed_url, params)),
            ],
            body: serde_urlencoded::to_string(params).expect("form").into_bytes(),
        }
    }

    /// The parameters of an inbound text, as Twilio posts them.
    pub fn inbound_params(&self, sid: &str, from: &str, to: &str, text: &str) -> Vec<(String, String)> {
        [
            ("ToCountry", "US".to_string()),
            ("SmsMessageSid", sid.to_string()),
            ("NumMedia", "0".into()),
            ("SmsSid", sid.to_string()),
            ("SmsStatus", "received".into()),
            ("Body", text.to_string()),
            ("To", format!("+{to}")),
            ("NumSegments", "1".into()),
            ("MessageSid", sid.to_string()),
            ("AccountSid", self.account_sid.clone()),
            ("From", format!("+{from}")),
            ("ApiVersion", "2010-04-01".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// Twilio's webhook signature: base64(HMAC-SHA1(auth token, URL + each name and value, names sorted)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(&k);
        data.push_str(&v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("hmac takes any key");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

impl FakeProvider for FakeTwilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn channel_fields(&self) -> Value {
        json!({
            "provider": "twilio",
            "credentials": {"account_sid": self.account_sid, "auth_token": self.auth_token},
            "base_url": self.base_url(),
        })
    }

    fn inbound(&self, url: &str, id: &str, from: &str, to: &str, text: &str, _: OffsetDateTime) -> Webhook {
        self.form_webhook(url, url, &self.inbound_params(id, from, to, text))
    }

    /// Twilio posts status callbacks to the `StatusCallback` URL of the send (our message id in its query).
    fn delivered(&self, url: &str, sent: &Sent, _: OffsetDateTime) -> Webhook {
        let callback = sent.callback.clone().unwrap_or_else(|| url.to_string());
        let params: Vec<(String, String)> = [
            ("SmsSid", sent.provider_id.clone()),
            ("SmsStatus", "delivered".into()),
            ("MessageStatus", "delivered".into()),
            ("To", format!("+{}", sent.to)),
            ("MessageSid", sent.provider_id.clone()),
            ("AccountSid", self.account_sid.clone()),
            ("From", format!("+{}", sent.from)),
            ("ApiVersion", "2010-04-01".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        self.form_webhook(&callback, &callback, &params)
    }

    fn sends(&self) -> Vec<Sent> {
        self.inner.lock().expect("lock").sends.clone()
    }
}

fn basic_auth_ok(shared: &Shared, headers: &HeaderMap) -> bool {
    let expected =
        format!("Basic {}", STANDARD.encode(format!("{}:{}", shared.account_sid, shared.auth_token)));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn twilio_error(http: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(http).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({
        "code": code, "message": message, "status": http,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
    });
    (status, axum::Json(body)).into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let auth_ok = basic_auth_ok(&shared, &headers);
    shared.inner.lock().expect("lock").requests.push((method.to_string(), path.clone(), auth_ok));
    let account = format!("/2010-04-01/Accounts/{}", shared.account_sid);
    if !auth_ok {
        return twilio_error(401, 20003, "Authenticate");
    }
    if method == Method::GET && path == format!("{account}.json") {
        return axum::Json(json!({"sid": shared.account_sid, "status": "active", "type": "Full"}))
            .into_response();
    }
    if method != Method::POST || path != format!("{account}/Messages.json") {
        return twilio_error(404, 20404, "The requested resource was not found");
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let callback = field("StatusCallback");
    let external_id = callback.as_deref().and_then(|c| {
        let query = c.split_once('?')?.1;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
        pairs.into_iter().find(|(k, _)| k == "smsdesk_message").map(|(_, v)| v)
    });
    let digits = |v: Option<String>| v.unwrap_or_default().trim_start_matches('+').to_string();
    let mut sent = Sent {
        provider_id: String::new(),
        from: digits(field("From")),
        to: digits(field("To")),
        text: field("Body").unwrap_or_default(),
        external_id,
        callback,
        auth_ok,
        at: std::time::Instant::now(),
    };
    let mut inner = shared.inner.lock().expect("lock");
    let answer = inner.script.pop_front().unwrap_or(TwilioScript::Accept);
    match answer {
        TwilioScript::Accept => {
            let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
            sent.provider_id = sid.clone();
            let body = json!({
                "sid": sid, "account_sid": shared.account_sid, "status": "queued",
                "to": field("To"), "from": field("From"), "body": sent.text, "num_segments": "1",
            });
            inner.sends.push(sent);
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        TwilioScript::Error { http, code, message } => {
            inner.sends.push(sent);
            twilio_error(http, code, &message)
        }
    }
}
