//! The load run's provider: a fake TeleSign on loopback that takes every send (`POST /v1/messaging`),
//! answers as TeleSign does (200, a fresh reference id, status 290 "in progress") and counts each send by
//! its `external_id` (smsdesk's message id), so that a reply sent twice or never shows on the provider's side,
//! not only in smsdesk's own records. It also signs the callbacks (texts and delivery reports) the way
//! TeleSign does: `Authorization: TSA <customer id>:base64(HMAC-SHA256(key, raw body))`.
//!
//! It checks that each send carries TeleSign's `Authorization: TSA <customer id>:...` of this account; the
//! full digest check (Date window, nonce, signature) is the black-box tests' fake TeleSign's job
//! (`tests/src/fake_telesign.rs`): the load run measures smsdesk, not the fake.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Counts {
    /// Sends taken, by `external_id`.
    by_message: HashMap<String, usize>,
    /// Sends taken in all (with or without an `external_id`).
    accepted: usize,
    /// Sends refused for a missing or foreign `Authorization`.
    unauthorized: usize,
}

struct Shared {
    customer_id: String,
    counts: Mutex<Counts>,
    next_reference: AtomicU64,
}

/// A fake TeleSign account serving on a loopback port until the value is dropped... or the process ends.
#[derive(Clone)]
pub struct LoadProvider {
    pub addr: SocketAddr,
    pub customer_id: String,
    /// The account's API key, base64 as TeleSign issues it.
    pub api_key: String,
    key: Arc<Vec<u8>>,
    shared: Arc<Shared>,
}

impl LoadProvider {
    pub async fn start() -> std::io::Result<Self> {
        let customer_id = uuid::Uuid::new_v4().to_string().to_uppercase();
        let key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let shared = Arc::new(Shared {
            customer_id: customer_id.clone(),
            counts: Mutex::new(Counts::default()),
            next_reference: AtomicU64::new(1),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, customer_id, api_key: STANDARD.encode(&key), key: Arc::new(key), shared })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `Authorization` header TeleSign puts on a callback with this body.
    pub fn sign_callback(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(body);
        format!("TSA {}:{}", self.customer_id, STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Sends taken in all.
    pub fn accepted(&self) -> usize {
        self.lock().accepted
    }

    /// Sends refused because they were not signed as this account.
    pub fn unauthorized(&self) -> usize {
        self.lock().unauthorized
    }

    /// How many times each smsdesk message id was sent.
    pub fn sends_by_message(&self) -> HashMap<String, usize> {
        self.lock().by_message.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.shared.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let signed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("TSA "))
        .and_then(|v| v.rsplit_once(':'))
        .is_some_and(|(customer, _)| customer == shared.customer_id);
    let mut counts = shared.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !signed {
        counts.unauthorized += 1;
        let body = json!({"status": {"code": 10009, "description": "Authorization missing or foreign"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    counts.accepted += 1;
    if let Some((_, id)) = form.iter().find(|(k, _)| k == "external_id") {
        *counts.by_message.entry(id.clone()).or_default() += 1;
    }
    drop(counts);
    let reference =
        format!("{:032X}", 0xB000_0000_0000u64 + shared.next_reference.fetch_add(1, Ordering::Relaxed));
    (
        StatusCode::OK,
        axum::Json(json!({
            "reference_id": reference,
            "status": {"code": 290, "description": "Message in progress", "updated_on": "2026-11-29T10:00:00Z"},
        })),
    )
        .into_response()
}

/// A TeleSign inbound text (`mo_sms`) callback body.
pub fn telesign_mo(reference: &str, from: &str, to: &str, text: &str) -> Vec<u8> {
    json!({
        "reference_id": reference,
        "sub_resource": "mo_sms",
        "submit_timestamp": "2026-11-29T10:00:00Z",
        "errors": [],
        "status": {"code": 1500, "description": "Delivered", "updated_on": "2026-11-29T10:00:00Z"},
        "user_response": {"phone_number": from, "mo_message": text, "sender_id": to, "iso_country_code": "US"},
    })
    .to_string()
    .into_bytes()
}

/// A TeleSign delivery report body for the send `reference`.
pub fn telesign_dlr(reference: &str, code: i64, description: &str) -> Vec<u8> {
    json!({
        "reference_id": reference,
        "submit_timestamp": "2026-11-29T10:00:01Z",
        "status": {"code": code, "description": description, "updated_on": "2026-11-29T10:00:05Z"},
        "additional_info": {"message_parts_count": 1},
    })
    .to_string()
    .into_bytes()
}
