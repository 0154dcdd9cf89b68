//! A fake Vonage SMS API on loopback. It checks every send the way Vonage does: `api_key` and `api_secret`
//! in the form (status 4 "Bad Credentials" otherwise; HTTP Basic for the balance read), and answers like
//! Vonage (one `message-id` per part). Its webhooks are signed as Vonage's signed webhooks are (`sig`:
//! HMAC-SHA256 in hex over `&name=value` pairs sorted by name, `&` and `=` in values replaced by `_`, with a
//! fresh `timestamp`), computed here independently of smsdesk's own code.

use crate::fake_provider::{FakeProvider, Sent, Webhook, path_of};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct FakeVonage {
    pub addr: SocketAddr,
    pub api_key: String,
    pub api_secret: String,
    /// The account's signature secret (the dashboard's "signed webhooks"), method SHA-256 HMAC.
    pub signature_secret: String,
    sends: Arc<Mutex<Vec<Sent>>>,
}

struct Shared {
    api_key: String,
    api_secret: String,
    sends: Arc<Mutex<Vec<Sent>>>,
}

impl FakeVonage {
    pub async fn start() -> Self {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let api_key = hex[..8].to_string();
        let api_secret = hex[8..24].to_string();
        let signature_secret = uuid::Uuid::new_v4().simple().to_string();
        let sends = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            api_key: api_key.clone(),
            api_secret: api_secret.clone(),
            sends: sends.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake vonage");
        let addr = listener.local_addr().expect("fake vonage addr");
        let app = Router::new().fallback(handle).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, api_key, api_secret, signature_secret, sends }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `params` with `timestamp`, `nonce` and `sig` added, as Vonage signs a webhook at `now`.
    pub fn signed(&self, mut params: Vec<(String, String)>, now: OffsetDateTime) -> Vec<(String, String)> {
        params.push(("timestamp".into(), now.unix_timestamp().to_string()));
        params.push(("nonce".into(), uuid::Uuid::new_v4().to_string()));
        let sig = vonage_signature(&self.signature_secret, &params);
        params.push(("sig".into(), sig));
        params
    }

    /// A signed form POST to `url`.
    pub fn form_webhook(&self, url: &str, params: Vec<(String, String)>, now: OffsetDateTime) -> Webhook {
        let params = self.signed(params, now);
        Webhook {
            method: "POST",
            path_and_query: path_of(url),
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: serde_urlencoded::to_string(&params).expect("form").into_bytes(),
        }
    }
}

/// Vonage's `sig` with the SHA-256 HMAC method.
pub fn vonage_signature(secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = String::new();
    for (k, v) in sorted {
        data.push('&');
        data.push_str(k);
        data.push('=');
        data.push_str(&v.replace(['&', '='], "_"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn pairs(items: &[(&str, String)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

impl FakeProvider for FakeVonage {
    fn name(&self) -> &'static str {
        "vonage"
    }

    fn channel_fields(&self) -> Value {
        json!({
            "provider": "vonage",
            "credentials": {
                "api_key": self.api_key, "api_secret": self.api_secret,
                "signature_secret": self.signature_secret, "signature_method": "sha256",
            },
            "base_url": self.base_url(),
        })
    }

    fn inbound(&self, url: &str, id: &str, from: &str, to: &str, text: &str, now: OffsetDateTime) -> Webhook {
        let stamp =
            now.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"));
        let params = pairs(&[
            ("msisdn", from.to_string()),
            ("to", to.to_string()),
            ("messageId", id.to_string()),
            ("text", text.to_string()),
            ("type", "text".into()),
            ("keyword", text.split_whitespace().next().unwrap_or_default().to_uppercase()),
            ("api-key", self.api_key.clone()),
            ("message-timestamp", stamp.expect("timestamp formats")),
        ]);
        self.form_webhook(url, params, now)
    }

    fn delivered(&self, url: &str, sent: &Sent, now: OffsetDateTime) -> Webhook {
        self.receipt(url, sent, now)
    }

    fn sends(&self) -> Vec<Sent> {
        self.sends.lock().expect("lock").clone()
    }
}

impl FakeVonage {
    /// Part `number` of `total` of a long text (Vonage delivers each part on its own, `concat-*` set).
    #[allow(clippy::too_many_arguments)]
    pub fn inbound_part(
        &self,
        url: &str,
        id: &str,
        from: &str,
        to: &str,
        text: &str,
        (reference, number, total): (&str, u32, u32),
        now: OffsetDateTime,
    ) -> Webhook {
        let stamp =
            now.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"));
        let params = pairs(&[
            ("msisdn", from.to_string()),
            ("to", to.to_string()),
            ("messageId", id.to_string()),
            ("text", text.to_string()),
            ("type", "text".into()),
            ("api-key", self.api_key.clone()),
            ("message-timestamp", stamp.expect("timestamp formats")),
            ("concat", "true".into()),
            ("concat-ref", reference.to_string()),
            ("concat-part", number.to_string()),
            ("concat-total", total.to_string()),
        ]);
        self.form_webhook(url, params, now)
    }

    fn receipt(&self, url: &str, sent: &Sent, now: OffsetDateTime) -> Webhook {
        let stamp =
            now.format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"));
        let mut params = pairs(&[
            ("msisdn", sent.to.clone()),
            ("to", sent.from.clone()),
            ("network-code", "310090".into()),
            ("messageId", sent.provider_id.clone()),
            ("price", "0.00570000".into()),
            ("status", "delivered".into()),
            ("scts", "2611231000".into()),
            ("err-code", "0".into()),
            ("api-key", self.api_key.clone()),
            ("message-timestamp", stamp.expect("timestamp formats")),
        ]);
        if let Some(ours) = &sent.external_id {
            params.push(("client-ref".into(), ours.clone()));
        }
        self.form_webhook(sent.callback.as_deref().unwrap_or(url), params, now)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if method == Method::GET && path == "/account/get-balance" {
        let expected =
            format!("Basic {}", STANDARD.encode(format!("{}:{}", shared.api_key, shared.api_secret)));
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return (axum::http::StatusCode::UNAUTHORIZED, "").into_response();
        }
        return axum::Json(json!({"value": 10.5, "autoReload": false})).into_response();
    }
    if method != Method::POST || path != "/sms/json" {
        return (axum::http::StatusCode::NOT_FOUND, "").into_response();
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let auth_ok = field("api_key").as_deref() == Some(shared.api_key.as_str())
        && field("api_secret").as_deref() == Some(shared.api_secret.as_str());
    let mut sent = Sent {
        provider_id: String::new(),
        from: field("from").unwrap_or_default(),
        to: field("to").unwrap_or_default(),
        text: field("text").unwrap_or_default(),
        external_id: field("client-ref"),
        callback: field("callback"),
        auth_ok,
        at: std::time::Instant::now(),
    };
    let answer = if auth_ok {
        let id = uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase();
        sent.provider_id = id.clone();
        json!({"message-count": "1", "messages": [{
            "to": sent.to, "message-id": id, "status": "0", "remaining-balance": "10.5",
            "message-price": "0.0057", "network": "310090", "client-ref": sent.external_id,
        }]})
    } else {
        json!({"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]})
    };
    shared.sends.lock().expect("lock").push(sent);
    axum::Json(answer).into_response()
}
