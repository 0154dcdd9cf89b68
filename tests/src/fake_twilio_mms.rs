//! A fake Twilio on loopback for the media tests: the Messages API (Basic auth checked, the form kept; a
//! `MediaUrl` is fetched the way Twilio fetches it, and what came back is kept), and a media host that
//! serves scripted answers and records, per request, which host was asked and the `Authorization` it got.
//! Started without an account it is just a media host (a CDN, or someone else's server).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the media host answers on a path.
#[derive(Clone, Debug)]
pub enum MediaAnswer {
    /// 200 with these bytes and this Content-Type.
    Bytes { content_type: String, body: Vec<u8> },
    /// This status, empty body.
    Status(u16),
    /// 302 to this URL.
    Redirect(String),
    /// Holds the request until the gate opens, then answers as `then` (a slow media host).
    Held { gate: MediaGate, then: Box<MediaAnswer> },
}

/// What holds [`MediaAnswer::Held`] requests until the test opens it.
#[derive(Clone, Debug)]
pub struct MediaGate(Arc<tokio::sync::watch::Sender<bool>>);

impl MediaGate {
    pub fn new() -> Self {
        Self(Arc::new(tokio::sync::watch::Sender::new(false)))
    }

    /// Lets every held request (and every later one) through.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

impl Default for MediaGate {
    fn default() -> Self {
        Self::new()
    }
}

/// A request the media host got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaHit {
    /// `http://127.0.0.1:<port>` of the host that was asked.
    pub origin: String,
    pub path: String,
    pub authorization: Option<String>,
}

/// A send the Messages API got, and what its `MediaUrl`s gave when the fake fetched them.
#[derive(Clone, Debug)]
pub struct TwilioSend {
    pub form: Vec<(String, String)>,
    pub auth_ok: bool,
    /// Per MediaUrl: (HTTP status, Content-Type, body).
    pub fetched: Vec<(u16, Option<String>, Vec<u8>)>,
}

impl TwilioSend {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

#[derive(Default)]
struct Inner {
    media: HashMap<String, MediaAnswer>,
    hits: Vec<MediaHit>,
    sends: Vec<TwilioSend>,
    /// How many of the next sends are refused (400, Twilio's 21211: a permanent failure), after being kept.
    refuse: u32,
}

#[derive(Clone)]
struct Shared {
    origin: String,
    account: Option<(String, String)>,
    inner: Arc<Mutex<Inner>>,
}

/// The fake (see the module doc).
#[derive(Clone)]
pub struct FakeTwilioMms {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`: the channel's `base_url`, and where its media lives.
    pub url: String,
    pub account_sid: String,
    pub auth_token: String,
    shared: Shared,
}

impl FakeTwilioMms {
    /// A Twilio account (fresh SID and token) and its media host.
    pub async fn start() -> Self {
        let sid = format!("AC{}", uuid::Uuid::new_v4().simple());
        let token = uuid::Uuid::new_v4().simple().to_string();
        Self::serve(Some((sid, token))).await
    }

    /// A media host only (another server: a CDN, an attacker's).
    pub async fn media_host() -> Self {
        Self::serve(None).await
    }

    async fn serve(account: Option<(String, String)>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake twilio");
        let addr = listener.local_addr().expect("addr");
        let url = format!("http://{addr}");
        let shared = Shared { origin: url.clone(), account: account.clone(), inner: Default::default() };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let (account_sid, auth_token) = account.unwrap_or_default();
        Self { addr, url, account_sid, auth_token, shared }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves `answer` on `path` (e.g. `/media/a.png`); returns the full URL.
    pub fn serve_media(&self, path: &str, answer: MediaAnswer) -> String {
        self.lock().media.insert(path.to_string(), answer);
        format!("{}{path}", self.url)
    }

    pub fn hits(&self) -> Vec<MediaHit> {
        self.lock().hits.clone()
    }

    pub fn sends(&self) -> Vec<TwilioSend> {
        self.lock().sends.clone()
    }

    /// Refuses the next `n` sends for good (400 with Twilio's code 21211), after keeping them and fetching
    /// their media as usual.
    pub fn refuse_next_sends(&self, n: u32) {
        self.lock().refuse = n;
    }

    /// `Basic base64(sid:token)`: what the account's media requests carry.
    pub fn basic_auth(&self) -> String {
        format!("Basic {}", STANDARD.encode(format!("{}:{}", self.account_sid, self.auth_token)))
    }
}

async fn handle(
    State(shared): State<Shared>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    if method == axum::http::Method::POST
        && let Some((sid, token)) = &shared.account
        && path == format!("/2010-04-01/Accounts/{sid}/Messages.json")
    {
        let expected = format!("Basic {}", STANDARD.encode(format!("{sid}:{token}")));
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        // Like Twilio: fetch each MediaUrl before accepting.
        let http = smsdesk_providers::http::client().expect("http client");
        let mut fetched = Vec::new();
        for (_, url) in form.iter().filter(|(k, _)| k == "MediaUrl") {
            match http.get(url).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let ct = r
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let bytes = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    fetched.push((status, ct, bytes));
                }
                Err(_) => fetched.push((0, None, Vec::new())),
            }
        }
        let auth_ok = authorization.as_deref() == Some(expected.as_str());
        let refused = {
            let mut inner = shared.inner.lock().unwrap_or_else(|p| p.into_inner());
            inner.sends.push(TwilioSend { form, auth_ok, fetched });
            let refused = inner.refuse > 0;
            inner.refuse = inner.refuse.saturating_sub(1);
            refused
        };
        if auth_ok && refused {
            let body = json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        if !auth_ok {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
            )
                .into_response();
        }
        let sid = format!("MM{}", uuid::Uuid::new_v4().simple());
        return (StatusCode::CREATED, axum::Json(json!({"sid": sid, "status": "queued"}))).into_response();
    }
    let mut answer = {
        let mut inner = shared.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.hits.push(MediaHit { origin: shared.origin.clone(), path: path.clone(), authorization });
        inner.media.get(&path).cloned()
    };
    while let Some(MediaAnswer::Held { gate, then }) = answer {
        gate.passed().await;
        answer = Some(*then);
    }
    match answer {
        Some(MediaAnswer::Bytes { content_type, body }) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Some(MediaAnswer::Status(code)) => {
            StatusCode::from_u16(code).unwrap_or(StatusCode::NOT_FOUND).into_response()
        }
        Some(MediaAnswer::Redirect(to)) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Some(MediaAnswer::Held { .. }) | None => StatusCode::NOT_FOUND.into_response(),
    }
}
