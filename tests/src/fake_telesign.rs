//! A fake TeleSign REST API on loopback. It checks every request the way TeleSign documents it: the
//! `Authorization: TSA <customer id>:<signature>` digest over method, content type, Date, auth method,
//! nonce, body and resource, computed here independently of smsdesk's own signing code. It answers like
//! TeleSign (reference ids, status codes) and can be scripted to fail.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// Whether the TSA signature verified with the account's key and the customer id matched.
    pub signature_ok: bool,
    /// Why not, when it did not.
    pub signature_problem: Option<String>,
    pub uses_basic_auth: bool,
}

impl Seen {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A scripted answer to `POST /v1/messaging`.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// 200 with a fresh reference id.
    Accept,
    /// An HTTP status with TeleSign's error body.
    Error { http: u16, code: i64, description: String },
    /// Never answers in time (the client must time out).
    Hang,
    /// Takes the message (it counts in `accepted`: the customer gets it) and then holds the answer for this
    /// long, past the client's timeout: the sender cannot know that it went out.
    AcceptThenDelay(std::time::Duration),
}

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    script: VecDeque<Scripted>,
    accepted: Vec<String>,
}

#[derive(Clone)]
pub struct FakeTelesign {
    pub addr: SocketAddr,
    pub customer_id: String,
    /// Base64 API key, as TeleSign issues it (the first one; see `rotate_key`).
    pub api_key: String,
    inner: Arc<Mutex<Inner>>,
    shared: Arc<Shared>,
}

struct Shared {
    customer_id: String,
    key: Mutex<Vec<u8>>,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTelesign {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts a fresh account on a given loopback address.
    pub async fn start_on(addr: &str) -> Self {
        let customer_id = format!("{}", uuid::Uuid::new_v4()).to_uppercase();
        let key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        Self::serve(addr, customer_id, key).await
    }

    /// The same account (customer id and key) served again on `addr`: a provider that was down comes back.
    pub async fn restart_on(&self, addr: &str) -> Self {
        let key = STANDARD.decode(&self.api_key).expect("own key is base64");
        Self::serve(addr, self.customer_id.clone(), key).await
    }

    async fn serve(addr: &str, customer_id: String, key: Vec<u8>) -> Self {
        let api_key = STANDARD.encode(&key);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared =
            Arc::new(Shared { customer_id: customer_id.clone(), key: Mutex::new(key), inner: inner.clone() });
        let control = shared.clone();
        let app = Router::new().fallback(handle).with_state(shared);
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake telesign");
        let addr = listener.local_addr().expect("fake telesign addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, customer_id, api_key, inner, shared: control }
    }

    /// The account gets a new API key (as in TeleSign's portal); requests signed with the old one now fail.
    /// Returns the new key; `api_key` keeps the first one.
    pub fn rotate_key(&self) -> String {
        let key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let encoded = STANDARD.encode(&key);
        *self.shared.key.lock().expect("lock") = key;
        encoded
    }

    /// The `Authorization` header of a callback signed with a given key.
    pub fn sign_callback_with(&self, api_key_b64: &str, body: &[u8]) -> String {
        format!("TSA {}:{}", self.customer_id, callback_signature(api_key_b64, body))
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next sends with these, in order; then accepts.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.inner.lock().expect("lock").script.extend(answers);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().expect("lock").seen.clone()
    }

    pub fn sends(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.method == "POST" && s.path == "/v1/messaging").collect()
    }

    /// Reference ids of the sends accepted.
    pub fn accepted(&self) -> Vec<String> {
        self.inner.lock().expect("lock").accepted.clone()
    }

    /// The `Authorization` header TeleSign puts on a callback with this body.
    pub fn sign_callback(&self, body: &[u8]) -> String {
        format!("TSA {}:{}", self.customer_id, callback_signature(&self.api_key, body))
    }
}

/// TeleSign's callback signature: base64(HMAC-SHA256(base64decode(api key), raw body)).
pub fn callback_signature(api_key_b64: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(api_key_b64).expect("test key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn check_signature(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let auth = h("authorization").ok_or("no Authorization header")?;
    let rest = auth.strip_prefix("TSA ").ok_or_else(|| format!("Authorization is not TSA: {auth}"))?;
    let (customer, signature) = rest.rsplit_once(':').ok_or("Authorization has no ':'")?;
    if customer != shared.customer_id {
        return Err(format!("customer id {customer} is not {}", shared.customer_id));
    }
    let date = h("date").ok_or("no Date header")?;
    httpdate::parse_http_date(&date).map_err(|_| format!("Date is not RFC 2616: {date}"))?;
    let auth_method = h("x-ts-auth-method").ok_or("no x-ts-auth-method")?;
    if auth_method != "HMAC-SHA256" {
        return Err(format!("x-ts-auth-method is {auth_method}"));
    }
    let nonce = h("x-ts-nonce").ok_or("no x-ts-nonce")?;
    let content_type = if *method == Method::GET || *method == Method::DELETE {
        String::new()
    } else {
        h("content-type").ok_or("no Content-Type")?
    };
    let mut sts = format!(
        "{}\n{}\n{}\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:{}",
        method.as_str(),
        content_type,
        date,
        nonce
    );
    if !content_type.is_empty() && !body.is_empty() {
        sts.push('\n');
        sts.push_str(std::str::from_utf8(body).map_err(|_| "body is not UTF-8")?);
    }
    sts.push('\n');
    sts.push_str(path);
    let key = shared.key.lock().map_err(|e| e.to_string())?.clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(sts.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    if expected != signature {
        return Err(format!("signature {signature} is not {expected} over {sts:?}"));
    }
    Ok(())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let verdict = check_signature(&shared, &method, &path, &headers, &body);
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let uses_basic_auth =
        headers.get("authorization").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("Basic "));
    let seen = Seen {
        method: method.to_string(),
        path: path.clone(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect(),
        form,
        signature_ok: verdict.is_ok(),
        signature_problem: verdict.as_ref().err().cloned(),
        uses_basic_auth,
    };
    shared.inner.lock().expect("lock").seen.push(seen);
    if let Err(problem) = verdict {
        return error(401, 10008, &format!("Invalid signature: {problem}"));
    }
    if method == Method::GET && path.starts_with("/v1/messaging/") {
        return error(404, 10017, "Transaction not found.");
    }
    if method == Method::POST && path == "/v1/messaging" {
        let next = shared.inner.lock().expect("lock").script.pop_front().unwrap_or(Scripted::Accept);
        return match next {
            Scripted::Accept => accept(&shared, &body),
            Scripted::AcceptThenDelay(delay) => {
                let answer = accept(&shared, &body);
                tokio::time::sleep(delay).await;
                answer
            }
            Scripted::Error { http, code, description } => error(http, code, &description),
            Scripted::Hang => {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                error(504, 10000, "timeout")
            }
        };
    }
    error(404, 10001, "no such resource on the fake")
}

/// Takes a send: records a fresh reference id as accepted and answers as TeleSign does.
fn accept(shared: &Shared, body: &[u8]) -> Response {
    let reference = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    shared.inner.lock().expect("lock").accepted.push(reference.clone());
    let external = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|f| f.into_iter().find(|(k, _)| k == "external_id").map(|(_, v)| v));
    (StatusCode::OK, axum::Json(json!({
        "reference_id": reference,
        "external_id": external,
        "status": {"code": 290, "description": "Message in progress", "updated_on": "2026-11-23T10:00:00Z"},
    })))
        .into_response()
}

fn error(http: u16, code: i64, description: &str) -> Response {
    let status = StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = json!({
        "status": {"code": code, "description": description, "updated_on": "2026-11-23T10:00:00Z"},
        "errors": [{"code": code, "description": description}],
    });
    (status, axum::Json(body)).into_response()
}
