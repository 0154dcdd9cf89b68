//! A fake TeleSign REST API on loopback. It checks every request the way TeleSign documents it: the
//! `Authorization: TSA <customer id>:<signature>` digest over method, content type, Date, auth method,
//! nonce, body and resource, computed here independently of smsdesk's own signing code. It answers like
//! TeleSign (reference ids, status codes) and can be scripted to fail. Like TeleSign, it refuses a request
//! whose Date is more than 15 minutes from its own clock (401, code 10004) and one whose `x-ts-nonce` it has
//! seen before (401, code 10002): a replayed signature never passes, so a retry must be signed afresh.

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
    /// When the fake received it.
    pub at: std::time::Instant,
}

impl Seen {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Longest [`Scripted::AcceptThenHold`] holds an answer: below the client's 10 s timeout, so a test that
/// forgets to release it sees a late answer, not a timed-out send.
pub const HOLD_LIMIT: std::time::Duration = std::time::Duration::from_secs(8);

/// A scripted answer to `POST /v1/messaging`.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// 200 with a fresh reference id.
    Accept,
    /// An HTTP status with TeleSign's error body.
    Error { http: u16, code: i64, description: String },
    /// Never answers in time (the client must time out).
    Hang,
    /// Waits this long, then answers with this HTTP status and TeleSign error code (a slow failure).
    SlowError { after: std::time::Duration, http: u16, code: i64, description: String },
    /// Takes the message (it counts in `accepted`: the customer gets it) and then holds the answer for this
    /// long, past the client's timeout: the sender cannot know that it went out.
    AcceptThenDelay(std::time::Duration),
    /// Takes the message and holds the answer until the test calls `notify_one` on this (for ordering
    /// tests: something else happens before the sender hears back), at most [`HOLD_LIMIT`].
    AcceptThenHold(std::sync::Arc<tokio::sync::Notify>),
    /// 429 with TeleSign's rate-limit code 10019 and a `Retry-After` of this many seconds.
    RateLimited { retry_after_secs: u64 },
    /// The connection is reset (TCP RST) instead of an answer, after the fake took the message
    /// (`accepted: true`: it counts in `accepted`) or not.
    Reset { accepted: bool },
}

/// Provider faults on a share of sends (issue 12.5), decided per send by a hash of the seed, our message id
/// (`external_id`) and how many times that id was sent before: the same seed gives the same faults to the
/// same messages whatever order the sends arrive in.
#[derive(Clone, Debug)]
pub struct FaultMix {
    pub seed: u64,
    /// Percent of sends that get a fault (0 to 100).
    pub percent: u64,
    /// The faults, picked evenly.
    pub faults: Vec<Scripted>,
}

impl FaultMix {
    /// Every kind of fault: 500, 503, 429 with Retry-After, an answer after `slow` (past the client's
    /// timeout, the message taken), and connection resets with and without the message taken.
    pub fn every_kind(seed: u64, percent: u64, slow: std::time::Duration) -> Self {
        let error = |http: u16, code: i64, description: &str| Scripted::Error {
            http,
            code,
            description: description.to_string(),
        };
        Self {
            seed,
            percent,
            faults: vec![
                error(500, 10000, "System unavailable, please try again later."),
                error(503, 10000, "Service unavailable."),
                Scripted::RateLimited { retry_after_secs: 1 },
                Scripted::AcceptThenDelay(slow),
                Scripted::Reset { accepted: true },
                Scripted::Reset { accepted: false },
            ],
        }
    }

    fn pick(&self, external_id: &str, attempt: usize) -> Option<Scripted> {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ self.seed;
        for b in external_id.bytes().chain(attempt.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        if self.faults.is_empty() || h % 100 >= self.percent {
            return None;
        }
        Some(self.faults[((h / 100) % self.faults.len() as u64) as usize].clone())
    }
}

/// The header the handler sets to ask the connection for a reset (never sent: the connection dies).
const RESET_MARKER: &str = "x-fake-reset";

/// How far a request's Date may be from the fake's clock (TeleSign's documented window: 15 minutes).
pub const DATE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Default)]
struct Inner {
    seen: Vec<Seen>,
    script: VecDeque<Scripted>,
    accepted: Vec<String>,
    /// Every nonce of a correctly signed request, to refuse its reuse.
    nonces: std::collections::HashSet<String>,
    /// Sends whose text contains the marker get this answer, every time (before the script).
    refuse_texts: Vec<(String, Scripted)>,
    /// Faults on a share of sends (after the texts' answers, before the script).
    mix: Option<FaultMix>,
    /// How many sends each `external_id` had.
    attempts: std::collections::HashMap<String, usize>,
    /// The `external_id` of each accepted send (None when it had none), beside `accepted`.
    accepted_external: Vec<Option<String>>,
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
    customer_id: Mutex<String>,
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

    /// The same account (customer id and key) served again on `port`, which was refusing connections until
    /// now: a provider that was down comes back (see [`crate::ClosedPort`]).
    pub async fn restart_on(&self, port: crate::ClosedPort) -> Self {
        let key = STANDARD.decode(&self.api_key).expect("own key is base64");
        Self::serve_on(port.listen(), self.customer_id.clone(), key)
    }

    async fn serve(addr: &str, customer_id: String, key: Vec<u8>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake telesign");
        Self::serve_on(listener, customer_id, key)
    }

    fn serve_on(listener: tokio::net::TcpListener, customer_id: String, key: Vec<u8>) -> Self {
        let api_key = STANDARD.encode(&key);
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = Arc::new(Shared {
            customer_id: Mutex::new(customer_id.clone()),
            key: Mutex::new(key),
            inner: inner.clone(),
        });
        let control = shared.clone();
        let app = Router::new().fallback(handle).with_state(shared);
        let addr = listener.local_addr().expect("fake telesign addr");
        tokio::spawn(serve_resettable(listener, app));
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

    /// The account moves to another customer id with another key (a new TeleSign account on the same host):
    /// from now on only requests signed as that account pass. Returns (customer id, base64 key).
    pub fn switch_account(&self) -> (String, String) {
        let customer_id = format!("{}", uuid::Uuid::new_v4()).to_uppercase();
        *self.shared.customer_id.lock().expect("lock") = customer_id.clone();
        (customer_id, self.rotate_key())
    }

    /// The `Authorization` header of a callback from the account `customer_id` with `api_key_b64`.
    pub fn sign_callback_as(customer_id: &str, api_key_b64: &str, body: &[u8]) -> String {
        format!("TSA {customer_id}:{}", callback_signature(api_key_b64, body))
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

    /// From now on a share of sends gets a fault (see [`FaultMix`]).
    pub fn fault_mix(&self, mix: FaultMix) {
        self.inner.lock().expect("lock").mix = Some(mix);
    }

    /// How many sends carrying `external_id` the fake took (the customer got each of them).
    pub fn accepted_for(&self, external_id: &str) -> usize {
        let inner = self.inner.lock().expect("lock");
        inner.accepted_external.iter().filter(|e| e.as_deref() == Some(external_id)).count()
    }

    /// How many sends carrying `external_id` reached the fake, taken or not.
    pub fn attempts_for(&self, external_id: &str) -> usize {
        self.inner.lock().expect("lock").attempts.get(external_id).copied().unwrap_or(0)
    }

    /// Answers every send whose text contains `marker` with `answer`, for as long as the fake runs.
    pub fn answer_texts_containing(&self, marker: &str, answer: Scripted) {
        self.inner.lock().expect("lock").refuse_texts.push((marker.to_string(), answer));
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

/// TeleSign's request signature: base64(HMAC-SHA256(key, string to sign)), the string to sign built from
/// method, content type, Date, auth method, nonce, body (when there is one) and resource.
pub fn request_signature(
    key: &[u8],
    method: &str,
    content_type: &str,
    date: &str,
    nonce: &str,
    body: &str,
    path: &str,
) -> String {
    let mut sts =
        format!("{method}\n{content_type}\n{date}\nx-ts-auth-method:HMAC-SHA256\nx-ts-nonce:{nonce}");
    if !content_type.is_empty() && !body.is_empty() {
        sts.push('\n');
        sts.push_str(body);
    }
    sts.push('\n');
    sts.push_str(path);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key");
    mac.update(sts.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Why the fake refuses a request: TeleSign's error code and words.
type Refusal = (i64, String);

fn check_signature(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Refusal> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let auth = h("authorization").ok_or((10009, "no Authorization header".to_string()))?;
    let rest =
        auth.strip_prefix("TSA ").ok_or_else(|| (10028, format!("Authorization is not TSA: {auth}")))?;
    let (customer, signature) =
        rest.rsplit_once(':').ok_or((10028, "Authorization has no ':'".to_string()))?;
    let expected_customer = shared.customer_id.lock().expect("lock").clone();
    if customer != expected_customer {
        return Err((10015, format!("customer id {customer} is not {expected_customer}")));
    }
    let date = h("date").ok_or((10007, "no Date header".to_string()))?;
    let sent_at =
        httpdate::parse_http_date(&date).map_err(|_| (10005, format!("Date is not RFC 2616: {date}")))?;
    let now = std::time::SystemTime::now();
    let skew = match now.duration_since(sent_at) {
        Ok(behind) => behind,
        Err(ahead) => ahead.duration(),
    };
    if skew > DATE_TOLERANCE {
        return Err((10004, format!("Date {date} is {}s away from the server's clock", skew.as_secs())));
    }
    let auth_method = h("x-ts-auth-method").ok_or((10006, "no x-ts-auth-method".to_string()))?;
    if auth_method != "HMAC-SHA256" {
        return Err((10006, format!("x-ts-auth-method is {auth_method}")));
    }
    let nonce = h("x-ts-nonce").ok_or((10003, "no x-ts-nonce".to_string()))?;
    let content_type = if *method == Method::GET || *method == Method::DELETE {
        String::new()
    } else {
        h("content-type").ok_or((10008, "no Content-Type".to_string()))?
    };
    let body = std::str::from_utf8(body).map_err(|_| (10008, "body is not UTF-8".to_string()))?;
    let key = shared.key.lock().expect("lock").clone();
    let expected = request_signature(&key, method.as_str(), &content_type, &date, &nonce, body, path);
    if expected != signature {
        return Err((10008, format!("signature {signature} is not {expected}")));
    }
    Ok(nonce)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let verdict = check_signature(&shared, &method, &path, &headers, &body).and_then(|nonce| {
        // A nonce is good once: a second request carrying it is a replay, whatever else it carries.
        if shared.inner.lock().expect("lock").nonces.insert(nonce.clone()) {
            Ok(())
        } else {
            Err((10002, format!("nonce {nonce} has been used before")))
        }
    });
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
        signature_problem: verdict.as_ref().err().map(|(code, problem)| format!("{code}: {problem}")),
        uses_basic_auth,
        at: std::time::Instant::now(),
    };
    shared.inner.lock().expect("lock").seen.push(seen);
    if let Err((code, problem)) = verdict {
        return error(401, code, &format!("Invalid request: {problem}"));
    }
    if method == Method::GET && path.starts_with("/v1/messaging/") {
        return error(404, 10017, "Transaction not found.");
    }
    if method == Method::POST && path == "/v1/messaging" {
        let text = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|f| f.into_iter().find(|(k, _)| k == "message").map(|(_, v)| v))
            .unwrap_or_default();
        let external = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .ok()
            .and_then(|f| f.into_iter().find(|(k, _)| k == "external_id").map(|(_, v)| v))
            .unwrap_or_default();
        let next = {
            let mut inner = shared.inner.lock().expect("lock");
            let attempt = {
                let n = inner.attempts.entry(external.clone()).or_default();
                *n += 1;
                *n - 1
            };
            let fixed =
                inner.refuse_texts.iter().find(|(m, _)| text.contains(m.as_str())).map(|(_, a)| a.clone());
            let mixed = || inner.mix.as_ref().and_then(|m| m.pick(&external, attempt));
            match fixed.or_else(mixed) {
                Some(answer) => answer,
                None => inner.script.pop_front().unwrap_or(Scripted::Accept),
            }
        };
        return match next {
            Scripted::Accept => accept(&shared, &body),
            Scripted::AcceptThenDelay(delay) => {
                let answer = accept(&shared, &body);
                tokio::time::sleep(delay).await;
                answer
            }
            Scripted::AcceptThenHold(release) => {
                let answer = accept(&shared, &body);
                let _ = tokio::time::timeout(HOLD_LIMIT, release.notified()).await;
                answer
            }
            Scripted::Error { http, code, description } => error(http, code, &description),
            Scripted::SlowError { after, http, code, description } => {
                tokio::time::sleep(after).await;
                error(http, code, &description)
            }
            Scripted::Hang => {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                error(504, 10000, "timeout")
            }
            Scripted::RateLimited { retry_after_secs } => {
                let mut answer = error(429, 10019, "Rate limit exceeded.");
                answer
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(retry_after_secs));
                answer
            }
            Scripted::Reset { accepted } => {
                if accepted {
                    let _ = accept(&shared, &body);
                }
                let mut answer = StatusCode::OK.into_response();
                answer.headers_mut().insert(RESET_MARKER, axum::http::HeaderValue::from_static("1"));
                answer
            }
        };
    }
    error(404, 10001, "no such resource on the fake")
}

/// Takes a send: records a fresh reference id as accepted and answers as TeleSign does.
fn accept(shared: &Shared, body: &[u8]) -> Response {
    let reference = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let external = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .and_then(|f| f.into_iter().find(|(k, _)| k == "external_id").map(|(_, v)| v));
    {
        let mut inner = shared.inner.lock().expect("lock");
        inner.accepted.push(reference.clone());
        inner.accepted_external.push(external.clone());
    }
    (StatusCode::OK, axum::Json(json!({
        "reference_id": reference,
        "external_id": external,
        "status": {"code": 290, "description": "Message in progress", "updated_on": "2026-11-23T10:00:00Z"},
    })))
        .into_response()
}

/// Serves `app` on `listener`, one HTTP/1 connection at a time per task, so that an answer marked with
/// [`RESET_MARKER`] can end its connection with a TCP reset (SO_LINGER 0, then close) instead of a response.
async fn serve_resettable(listener: tokio::net::TcpListener, app: Router) {
    use std::os::fd::AsFd;
    use tower::ServiceExt;
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        // A second handle on the same socket, to set SO_LINGER from the request's side.
        let Ok(handle) = stream.as_fd().try_clone_to_owned() else { continue };
        let handle = Arc::new(socket2::Socket::from(handle));
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (app, handle) = (app.clone(), handle.clone());
                    async move {
                        let answer = match app.oneshot(request.map(axum::body::Body::new)).await {
                            Ok(answer) => answer,
                            Err(never) => match never {},
                        };
                        if answer.headers().contains_key(RESET_MARKER) {
                            let _ = handle.set_linger(Some(std::time::Duration::ZERO));
                            // An error ends the connection: hyper drops the socket, which now resets.
                            return Err(std::io::Error::other("reset by the fake"));
                        }
                        Ok(answer)
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

fn error(http: u16, code: i64, description: &str) -> Response {
    let status = StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = json!({
        "status": {"code": code, "description": description, "updated_on": "2026-11-23T10:00:00Z"},
        "errors": [{"code": code, "description": description}],
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    //! The fake refuses what TeleSign refuses, so that a test passing against it means something.

    use super::*;
    use std::time::{Duration, SystemTime};

    /// A GET of the validation resource signed as `fake`'s account, with the given Date and nonce.
    async fn signed_get(fake: &FakeTelesign, date: SystemTime, nonce: &str) -> (u16, Value) {
        let key = STANDARD.decode(&fake.api_key).expect("key");
        let date = httpdate::fmt_http_date(date);
        let path = "/v1/messaging/00000000000000000000000000000000";
        let signature = request_signature(&key, "GET", "", &date, nonce, "", path);
        let response = smsdesk_providers::http::client()
            .expect("http client")
            .get(format!("{}{path}", fake.base_url()))
            .header("Authorization", format!("TSA {}:{signature}", fake.customer_id))
            .header("Date", date)
            .header("x-ts-auth-method", "HMAC-SHA256")
            .header("x-ts-nonce", nonce)
            .send()
            .await
            .expect("the fake answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    fn code(answer: &Value) -> i64 {
        answer["status"]["code"].as_i64().expect("a TeleSign code")
    }

    #[tokio::test]
    async fn a_correctly_signed_request_passes_once_and_its_replay_is_refused() {
        let fake = FakeTelesign::start().await;
        let (status, answer) = signed_get(&fake, SystemTime::now(), "nonce-1").await;
        assert_eq!((status, code(&answer)), (404, 10017), "authenticated, then no such message: {answer}");
        let (status, answer) = signed_get(&fake, SystemTime::now(), "nonce-1").await;
        assert_eq!((status, code(&answer)), (401, 10002), "a reused nonce is a replay: {answer}");
        let (status, answer) = signed_get(&fake, SystemTime::now(), "nonce-2").await;
        assert_eq!((status, code(&answer)), (404, 10017), "a fresh nonce passes again: {answer}");
    }

    #[tokio::test]
    async fn a_date_more_than_15_minutes_away_is_refused_either_way() {
        let fake = FakeTelesign::start().await;
        let minutes = |m: u64| Duration::from_secs(m * 60);
        for (date, nonce) in
            [(SystemTime::now() - minutes(16), "old"), (SystemTime::now() + minutes(16), "future")]
        {
            let (status, answer) = signed_get(&fake, date, nonce).await;
            assert_eq!((status, code(&answer)), (401, 10004), "{nonce}: {answer}");
        }
        let (status, answer) = signed_get(&fake, SystemTime::now() - minutes(14), "recent").await;
        assert_eq!((status, code(&answer)), (404, 10017), "within the window: {answer}");
    }

    #[tokio::test]
    async fn another_account_or_key_is_refused() {
        let fake = FakeTelesign::start().await;
        let (status, answer) = signed_get(&fake, SystemTime::now(), "a").await;
        assert_eq!(status, 404, "{answer}");
        fake.rotate_key();
        let (status, answer) = signed_get(&fake, SystemTime::now(), "b").await;
        assert_eq!((status, code(&answer)), (401, 10008), "the old key: {answer}");
    }
}
