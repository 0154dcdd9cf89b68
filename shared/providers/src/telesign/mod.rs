//! TeleSign: send through `POST /v1/messaging`, check credentials with a signed read of a fake reference id,
//! and verify and parse the JSON callbacks (inbound texts and delivery reports) that TeleSign posts to us.
//!
//! Requests are signed with TeleSign's HMAC-SHA256 "TSA" scheme rather than Basic auth, so the API key never
//! travels on the wire. Callbacks are verified on the raw body bytes, in constant time, before any parsing.

mod credentials;

pub use credentials::TelesignCredentials;

use crate::credentials::CredentialsError;
use crate::{
    Provider, SendError, SendReceipt, SendRequest, SmsProvider, Validation, WebhookError, WebhookOutcome,
    WebhookRequest,
};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::media::MediaRef;
use smsdesk_domain::{Channel, MessageStatus, Phone, ProviderKind};
use smsdesk_ports::Credentials;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The self-service host the official SDKs default to; enterprise accounts set `rest-ww` as the base URL.
pub const DEFAULT_BASE_URL: &str = "https://rest-api.telesign.com";
/// TeleSign's messaging resource: sending, and reading one message's status.
pub const MESSAGING_PATH: &str = "/v1/messaging";
/// A reference id no message has: reading it costs nothing and sends nothing, yet proves the credentials.
pub const VALIDATION_PATH: &str = "/v1/messaging/00000000000000000000000000000000";
/// Bounds each call so a hung TeleSign cannot hold an outbound Lambda until its own timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The TeleSign plug-in: TSA-signed JSON callbacks on POST, answered with the app's standard acknowledgement.
pub struct Telesign {
    http: reqwest::Client,
}

impl Telesign {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl Provider for Telesign {
    /// Customers' MMS (`mo_mms`) are received; TeleSign's SMS send (`/v1/messaging`) takes text only.
    fn media_support(&self) -> crate::MediaSupport {
        crate::MediaSupport {
            inbound: true,
            outbound: false,
            note: Some(
                "TeleSign's SMS API (/v1/messaging) sends text only: agents' attachments cannot go out on a \
                 TeleSign channel (customers' MMS are received)",
            ),
        }
    }

    /// No total per message: TeleSign's SMS send carries no media, and its documents (and our provider
    /// notes) give no MMS size limit; its inbound items are held to the channel's per-item limit.
    fn media_bytes_per_message(&self) -> Option<u64> {
        None
    }

    /// TeleSign's MMS media is fetched from its API host only (the channel's regional or fake host), with no
    /// credentials: TeleSign documents none for its media links (UNCONFIRMED).
    fn media_origins(&self, channel: &Channel) -> Vec<String> {
        let base = channel.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        crate::http::origin(base.unwrap_or(DEFAULT_BASE_URL)).into_iter().collect()
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Telesign
    }

    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        Ok(TelesignCredentials::from_input(input)?.to_stored())
    }

    fn redact(&self, credentials: &Credentials) -> Value {
        TelesignCredentials::from_stored(credentials).map(|c| c.redacted()).unwrap_or_else(|_| Value::Null)
    }

    fn rotate(&self, old: &Credentials, fresh: Credentials, now: OffsetDateTime) -> Credentials {
        match (TelesignCredentials::from_stored(&fresh), TelesignCredentials::from_stored(old)) {
            (Ok(new), Ok(old)) => new.rotated_from(&old, now).to_stored(),
            _ => fresh,
        }
    }

    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = TelesignCredentials::from_stored(credentials)
            .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))?;
        parse_webhook(channel, &creds, request, now).map(WebhookOutcome::events)
    }

    /// The callback's `Authorization: TSA <customer id>:<signature>` against HMAC-SHA256 of the raw body.
    fn explain_signature(&self, check: &crate::SignatureCheck<'_>) -> crate::SignatureReport {
        let mut report = crate::SignatureReport::default();
        report.checked.push(format!(
            "string signed: the raw body, {} bytes, with the base64-decoded API key (HMAC-SHA256)",
            check.request.body.len()
        ));
        let Some(key) = check.secret else {
            report.notes.push("no --secret (the API key) given".into());
            return report;
        };
        let received = check
            .request
            .header("authorization")
            .and_then(|h| h.trim().split_once(' ').map(|(_, c)| c.to_string()))
            .and_then(|c| c.rsplit_once(':').map(|(cid, sig)| (cid.to_string(), sig.trim().to_string())));
        let Some((customer_id, signature)) = received else {
            report.notes.push("no 'Authorization: TSA <customer id>:<signature>' header".into());
            return report;
        };
        match callback_signature(&SecretString::from(key.to_string()), check.request.body) {
            Ok(expected) => {
                report.checked.push(format!(
                    "expected signature {expected}, received {signature} (customer id {customer_id})"
                ));
                report.valid = bool::from(expected.as_bytes().ct_eq(signature.as_bytes()));
            }
            Err(e) => report.notes.push(format!("the API key cannot be used: {e}")),
        }
        report
    }

    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        let creds = TelesignCredentials::from_stored(credentials)?;
        Ok(Box::new(TelesignClient::new(self.http.clone(), channel.base_url.as_deref(), creds)))
    }
}

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const AUTH_METHOD: &str = "HMAC-SHA256";
/// Alerts, reminders and notifications: the message type TeleSign asks customer service traffic to use.
const MESSAGE_TYPE: &str = "ARN";

/// Errors of the signing itself (not of TeleSign's answers). Never carries key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TelesignError {
    #[error("the TeleSign API key is empty")]
    EmptyApiKey,
    #[error("the TeleSign API key is not valid base64")]
    ApiKeyNotBase64,
}

/// Decodes the API key as TeleSign's SDKs do: characters outside the standard base64 alphabet are dropped
/// (the SDK test key carries `----`) and missing padding is tolerated.
fn decode_api_key(api_key: &SecretString) -> Result<Vec<u8>, TelesignError> {
    let cleaned: String = api_key
        .expose_secret()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
        .collect();
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let key = lenient.decode(cleaned.as_bytes()).map_err(|_| TelesignError::ApiKeyNotBase64)?;
    if key.is_empty() {
        return Err(TelesignError::EmptyApiKey);
    }
    Ok(key)
}

/// `b64(HMAC-SHA256(b64decode(api_key), message))`: the one primitive both request signing and callback
/// verification use.
fn hmac_b64(api_key: &SecretString, message: &[u8]) -> Result<String, TelesignError> {
    let key = decode_api_key(api_key)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| TelesignError::EmptyApiKey)?;
    mac.update(message);
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// The string TeleSign signs, line by line as its SDKs build it. The body line is left out when the content
/// type or the body is empty (GET, DELETE).
pub fn string_to_sign(
    method: &str,
    content_type: &str,
    date: &str,
    nonce: &str,
    body: &str,
    resource: &str,
) -> String {
    let mut lines = vec![
        method.to_ascii_uppercase(),
        content_type.to_string(),
        date.to_string(),
        format!("x-ts-auth-method:{AUTH_METHOD}"),
        format!("x-ts-nonce:{nonce}"),
    ];
    if !content_type.is_empty() && !body.is_empty() {
        lines.push(body.to_string());
    }
    lines.push(resource.to_string());
    lines.join("\n")
}

/// The `Authorization` header value for one request: `TSA {customer_id}:{signature}`. Pure, so the SDK test
/// vectors pin it down; the arguments are the lines of the string to sign, one for one.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    customer_id: &str,
    api_key: &SecretString,
    method: &str,
    content_type: &str,
    date: &str,
    nonce: &str,
    body: &str,
    resource: &str,
) -> Result<String, TelesignError> {
    let sts = string_to_sign(method, content_type, date, nonce, body, resource);
    Ok(format!("TSA {customer_id}:{}", hmac_b64(api_key, sts.as_bytes())?))
}

/// The signature TeleSign puts on a callback: over the raw body only.
pub fn callback_signature(api_key: &SecretString, body: &[u8]) -> Result<String, TelesignError> {
    hmac_b64(api_key, body)
}

/// TeleSign's REST API for one account.
#[derive(Clone)]
pub struct TelesignClient {
    http: reqwest::Client,
    base_url: String,
    creds: TelesignCredentials,
    timeout: Duration,
}

impl std::fmt::Debug for TelesignClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelesignClient")
            .field("base_url", &self.base_url)
            .field("customer_id", &self.creds.customer_id)
            .finish_non_exhaustive()
    }
}

/// Why a call produced no HTTP answer.
enum CallError {
    Signing(TelesignError),
    Http(reqwest::Error),
    /// A 2xx status whose body could not be read.
    Answered(u16, reqwest::Error),
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    /// `Retry-After` (seconds or an HTTP date), when TeleSign sent one.
    retry_after: Option<Duration>,
    body: String,
}

impl TelesignClient {
    /// `base_url` overrides the host (enterprise `rest-ww`, fake TeleSign in tests); a trailing slash is fine.
    pub fn new(http: reqwest::Client, base_url: Option<&str>, creds: TelesignCredentials) -> Self {
        let base_url = base_url.map(|u| u.trim().trim_end_matches('/')).filter(|u| !u.is_empty());
        Self {
            http,
            base_url: base_url.unwrap_or(DEFAULT_BASE_URL).to_string(),
            creds,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces the per-request timeout ([`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends one signed request. A 401 for a reused nonce (10002) or a Date out of range (10004) is signed
    /// afresh and tried once more, as TeleSign advises: the message was not accepted, so no double send.
    async fn call(
        &self,
        method: reqwest::Method,
        resource: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Answer, CallError> {
        let mut answer = self.call_once(method.clone(), resource, content_type, body).await?;
        if answer.status == 401 && error_codes(&answer.body).iter().any(|c| matches!(c, 10002 | 10004)) {
            tracing::info!(status = answer.status, "TeleSign refused the nonce or date; signing again");
            answer = self.call_once(method, resource, content_type, body).await?;
        }
        Ok(answer)
    }

    async fn call_once(
        &self,
        method: reqwest::Method,
        resource: &str,
        content_type: &str,
        body: &str,
    ) -> Result<Answer, CallError> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let nonce = uuid::Uuid::new_v4().to_string();
        let authorization = sign_request(
            &self.creds.customer_id,
            &self.creds.api_key,
            method.as_str(),
            content_type,
            &date,
            &nonce,
            body,
            resource,
        )
        .map_err(CallError::Signing)?;
        let mut request = self
            .http
            .request(method, format!("{}{resource}", self.base_url))
            .timeout(self.timeout)
            .header("Authorization", authorization)
            .header("Date", date)
            .header("x-ts-auth-method", AUTH_METHOD)
            .header("x-ts-nonce", nonce)
            .header("Accept", "application/json");
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type).body(body.to_string());
        }
        let response = request.send().await.map_err(CallError::Http)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::twilio::parse_retry_after(v, SystemTime::now()));
        let body = match crate::http::read_capped(response, crate::http::MAX_ANSWER_BYTES).await {
            Ok(body) => body,
            // TeleSign answered but the body did not arrive whole: an accepted send must not look unsent.
            Err(e) if (200..300).contains(&status) => return Err(CallError::Answered(status, e)),
            Err(_) => String::new(),
        };
        Ok(Answer { status, retry_after, body })
    }
}

#[async_trait]
impl SmsProvider for TelesignClient {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        let form = send_form(request)?;
        match self.call(reqwest::Method::POST, MESSAGING_PATH, FORM_CONTENT_TYPE, &form).await {
            Ok(answer) => classify_send(answer.status, &answer.body, answer.retry_after),
            Err(CallError::Signing(e)) => Err(SendError::Permanent { reason: e.to_string() }),
            Err(CallError::Http(e)) => Err(classify_transport_for_send(&e)),
            Err(CallError::Answered(status, e)) => Err(SendError::Unknown {
                reason: format!("TeleSign answered {status} but its answer could not be read: {}", chain(&e)),
            }),
        }
    }

    async fn validate(&self) -> Validation {
        match self.call(reqwest::Method::GET, VALIDATION_PATH, "", "").await {
            Ok(answer) => classify_validation(answer.status, &answer.body),
            Err(CallError::Signing(e)) => Validation::Invalid { reason: e.to_string() },
            Err(CallError::Http(e)) if e.is_builder() => Validation::Invalid {
                reason: format!("the credentials cannot be put in a request: {}", chain(&e)),
            },
            Err(CallError::Http(e)) | Err(CallError::Answered(_, e)) => {
                Validation::Unreachable { reason: format!("could not reach TeleSign: {}", chain(&e)) }
            }
        }
    }
}

/// The url-encoded body of a send, exactly the bytes that are signed and sent. `callback_url` (the
/// channel's webhook, when it is public https) sends this message's delivery reports there rather than to
/// the account's one portal URL, so channels sharing a TeleSign account each get their own reports.
fn send_form(request: &SendRequest) -> Result<String, SendError> {
    let mut form = vec![
        ("phone_number", request.to.digits()),
        ("message", request.text.as_str()),
        ("message_type", MESSAGE_TYPE),
        ("sender_id", request.from.digits()),
        ("external_id", request.external_id.as_str()),
    ];
    // Only a public https URL: TeleSign refuses a send whose callback it cannot take (11004), and a channel
    // without a public URL (`smsdesk dev` on loopback) keeps the account's portal URL.
    if let Some(callback) = request.status_callback.as_deref().filter(|u| u.starts_with("https://")) {
        form.push(("callback_url", callback));
    }
    serde_urlencoded::to_string(form)
        .map_err(|e| SendError::Permanent { reason: format!("cannot encode the request: {e}") })
}

/// Decides what a send answer means. Throttling (10019) and server errors are worth retrying (a 429, or a
/// 5xx with `Retry-After`, not before the delay TeleSign asked for); every other refusal is permanent and
/// carries TeleSign's own code and words so the agent sees why.
fn classify_send(status: u16, body: &str, retry_after: Option<Duration>) -> Result<SendReceipt, SendError> {
    if (200..300).contains(&status) {
        let reference_id = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("reference_id").and_then(Value::as_str).map(str::to_string))
            .filter(|id| !id.is_empty());
        // Taken, but without a reference id receipts cannot be matched: not failed (the customer may have
        // it, and a resend would send it twice), unknown.
        return reference_id.map(SendReceipt::one).ok_or_else(|| SendError::Unknown {
            reason: format!(
                "TeleSign accepted the request but returned no reference_id ({})",
                describe(status, body)
            ),
        });
    }
    let codes = error_codes(body);
    let reason = describe(status, body);
    match status {
        429 if codes.contains(&10020) => Err(SendError::Permanent { reason }),
        429 => Err(SendError::Throttled { reason, retry_after }),
        500..=599 if retry_after.is_some() => Err(SendError::Throttled { reason, retry_after }),
        500..=599 => Err(SendError::Transient { reason }),
        401 => Err(SendError::Unauthorized { reason }),
        _ => Err(SendError::Permanent { reason }),
    }
}

/// No answer at all. A request we could not even build is permanent; a connection that never opened
/// (refused, DNS, TLS handshake, connect timeout) sent nothing, so another try is safe; anything else (a
/// timeout or a dropped connection once the request may have been written) leaves TeleSign's verdict
/// unknown: it may have accepted the message, and TeleSign offers no idempotency key to retry safely.
fn classify_transport_for_send(error: &reqwest::Error) -> SendError {
    crate::http::send_transport_error("TeleSign", error)
}

/// Reads the answer to the fake-reference read: only a 401 (or 403) is a verdict against the credentials;
/// 404 and 400 mean TeleSign authenticated us and then found no such message.
fn classify_validation(status: u16, body: &str) -> Validation {
    match status {
        200..=299 | 400 | 404 => Validation::Valid,
        401 | 403 => Validation::Invalid { reason: describe(status, body) },
        _ => Validation::Unreachable {
            reason: format!("could not reach TeleSign: {}", describe(status, body)),
        },
    }
}

/// Every numeric code in a TeleSign answer: `status.code` and each `errors[].code`.
fn error_codes(body: &str) -> Vec<i64> {
    let Ok(v) = serde_json::from_str::<Value>(body) else { return Vec::new() };
    let status = v.get("status").and_then(|s| s.get("code")).and_then(code_value);
    let errors = v.get("errors").and_then(Value::as_array).into_iter().flatten();
    status.into_iter().chain(errors.filter_map(|e| e.get("code").and_then(code_value))).collect()
}

/// TeleSign sends codes as numbers; tolerate numeric strings too.
fn code_value(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// `TeleSign HTTP 400: 11000 Invalid value for parameter phone_number.`: TeleSign's codes and words, which
/// say far more than the HTTP status.
fn describe(status: u16, body: &str) -> String {
    let parts = match serde_json::from_str::<Value>(body) {
        Ok(v) => described_codes(&v),
        Err(_) if body.trim().is_empty() => Vec::new(),
        Err(_) => vec![truncate(body.trim(), 200)],
    };
    if parts.is_empty() {
        format!("TeleSign HTTP {status}")
    } else {
        format!("TeleSign HTTP {status}: {}", parts.join("; "))
    }
}

fn described_codes(v: &Value) -> Vec<String> {
    let one = |entry: &Value| -> Option<String> {
        let code = entry.get("code").and_then(code_value);
        let description = entry.get("description").and_then(Value::as_str).map(str::trim);
        match (code, description) {
            (Some(c), Some(d)) if !d.is_empty() => Some(format!("{c} {d}")),
            (Some(c), _) => Some(c.to_string()),
            (None, Some(d)) if !d.is_empty() => Some(d.to_string()),
            _ => None,
        }
    };
    let mut parts: Vec<String> = v.get("status").and_then(one).into_iter().collect();
    for entry in v.get("errors").and_then(Value::as_array).into_iter().flatten() {
        if let Some(part) = one(entry).filter(|p| !parts.contains(p)) {
            parts.push(part);
        }
    }
    parts
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

use crate::http::chain;

// ---------------------------------------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------------------------------------

/// Verifies a TeleSign callback and turns it into events: an inbound text (`mo_sms`), an inbound MMS
/// (`mo_mms`: its media announced, fetched by the router) or a delivery report.
pub fn parse_webhook(
    channel: &Channel,
    creds: &TelesignCredentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<Vec<InboundEvent>, WebhookError> {
    verify_callback(creds, request, now)?;
    let body: Value = serde_json::from_slice(request.body)
        .map_err(|e| WebhookError::Malformed(format!("body is not JSON: {e}")))?;
    if !body.is_object() {
        return Err(WebhookError::Malformed("body is not a JSON object".into()));
    }
    let sub_resource = body.get("sub_resource").and_then(Value::as_str);
    if sub_resource == Some("mo_mms") {
        return parse_inbound_mms(channel, &body, now)
            .map(|m| m.map(InboundEvent::Message).into_iter().collect());
    }
    if body.get("user_response").is_some_and(|u| !u.is_null()) || sub_resource == Some("mo_sms") {
        return parse_inbound(channel, &body, now).map(|m| vec![InboundEvent::Message(m)]);
    }
    if body.get("status").and_then(|s| s.get("code")).is_some_and(|c| !c.is_null()) {
        return parse_receipt(channel, &body, now).map(|r| vec![InboundEvent::Receipt(r)]);
    }
    Err(WebhookError::Malformed(
        "neither user_response (inbound text) nor status.code (delivery report)".into(),
    ))
}

/// `Authorization: TSA {customer_id}:{b64(HMAC-SHA256(key, raw body))}`, checked before anything is parsed.
/// After a key rotation, the retired key is tried too until it expires.
fn verify_callback(
    creds: &TelesignCredentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<(), WebhookError> {
    let unauthorized = |reason: &str| WebhookError::Unauthorized(reason.to_string());
    let header =
        request.header("authorization").ok_or_else(|| unauthorized("missing Authorization header"))?;
    let (scheme, credentials) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| unauthorized("Authorization header is not 'TSA customer_id:signature'"))?;
    if !scheme.eq_ignore_ascii_case("TSA") {
        return Err(unauthorized("Authorization scheme is not TSA"));
    }
    let (customer_id, signature) = credentials
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| unauthorized("Authorization header is not 'TSA customer_id:signature'"))?;
    if !customer_id.eq_ignore_ascii_case(creds.customer_id.trim()) {
        return Err(unauthorized("customer id does not match"));
    }
    let matches = |key: &SecretString| -> Result<bool, WebhookError> {
        let expected = callback_signature(key, request.body)
            .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))?;
        Ok(bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())))
    };
    if matches(&creds.api_key)? {
        return Ok(());
    }
    if let Some(previous) = creds.previous.as_ref().filter(|p| p.active(now))
        && matches(&previous.key)?
    {
        tracing::info!(
            "TeleSign callback verified with the key rotated out; it expires at {}",
            previous.until
        );
        return Ok(());
    }
    Err(unauthorized("signature does not match"))
}

fn malformed(reason: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(reason.into())
}

/// A required, non-empty string field; the error names it by its JSON path.
fn required_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, WebhookError> {
    let field = path.rsplit('.').next().unwrap_or(path);
    match v.get(field) {
        None | Some(Value::Null) => Err(malformed(format!("missing {path}"))),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(malformed(format!("{path} is empty"))),
        Some(_) => Err(malformed(format!("{path} is not a string"))),
    }
}

fn phone_field(v: &Value, path: &str) -> Result<Phone, WebhookError> {
    let raw = required_str(v, path)?;
    Phone::parse(raw).map_err(|e| malformed(format!("{path} {e}")))
}

/// ISO 8601 timestamps as TeleSign sends them; anything unreadable falls back to the time of receipt.
fn timestamp(v: &Value, field: &str) -> Option<OffsetDateTime> {
    v.get(field).and_then(Value::as_str).and_then(|s| OffsetDateTime::parse(s.trim(), &Rfc3339).ok())
}

fn parse_inbound(
    channel: &Channel,
    body: &Value,
    now: OffsetDateTime,
) -> Result<InboundMessage, WebhookError> {
    let provider_message_id = required_str(body, "reference_id")?;
    let user = body
        .get("user_response")
        .filter(|u| u.is_object())
        .ok_or_else(|| malformed("missing user_response"))?;
    let from = phone_field(user, "user_response.phone_number")?;
    let to = phone_field(user, "user_response.sender_id")?;
    if !channel.takes_webhooks_for(&to, now) {
        return Err(malformed(format!("number {} is not on this channel", to.digits())));
    }
    let text = match user.get("mo_message") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(malformed("missing user_response.mo_message")),
        Some(_) => return Err(malformed("user_response.mo_message is not a string")),
    };
    Ok(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: provider_message_id.to_string(),
        from,
        to,
        text,
        received_at: timestamp(body, "submit_timestamp").unwrap_or(now),
        part: None,
        media: Vec::new(),
    })
}

/// The most items read from one `mo_mms` (the channel's own limit applies when they are fetched).
const MAX_ANNOUNCED_MEDIA: usize = 20;

/// An inbound MMS (`sub_resource: "mo_mms"`, TeleSign's Messaging API): `phone_number` (the customer) and
/// `content` with `text_N`, `url_image_N`, `url_video_N`, `url_audio_N` (N from 1), at the top level or
/// inside `user_response` like a text's fields. Our number is `sender_id` when TeleSign names it; without
/// it, the channel's only number (a channel of several numbers cannot tell which one was texted).
/// Nothing to file (no text, no media): acknowledged, `None`.
fn parse_inbound_mms(
    channel: &Channel,
    body: &Value,
    now: OffsetDateTime,
) -> Result<Option<InboundMessage>, WebhookError> {
    let provider_message_id = required_str(body, "reference_id")?;
    let user = body.get("user_response").filter(|u| u.is_object());
    let field = |name: &str| user.and_then(|u| u.get(name)).or_else(|| body.get(name));
    let from = match field("phone_number").and_then(Value::as_str) {
        Some(raw) => Phone::parse(raw).map_err(|e| malformed(format!("phone_number {e}")))?,
        None => return Err(malformed("missing phone_number")),
    };
    let to = match field("sender_id").and_then(Value::as_str) {
        Some(raw) => Phone::parse(raw).map_err(|e| malformed(format!("sender_id {e}")))?,
        None => match channel.numbers.as_slice() {
            [only] => only.number.clone(),
            numbers => {
                return Err(malformed(format!(
                    "mo_mms names no sender_id and the channel has {} numbers",
                    numbers.len()
                )));
            }
        },
    };
    if !channel.takes_webhooks_for(&to, now) {
        return Err(malformed(format!("number {} is not on this channel", to.digits())));
    }
    let content = match field("content") {
        Some(Value::Object(map)) => map.clone(),
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(_) => return Err(malformed("content is not an object")),
    };
    // `kind_N` fields in N order, whatever order the JSON object has them in.
    let numbered = |prefix: &str| -> Vec<(u32, String)> {
        let mut found: Vec<(u32, String)> = content
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.parse::<u32>().ok()?;
                let v = v.as_str().map(str::trim).filter(|v| !v.is_empty())?;
                Some((n, v.to_string()))
            })
            .collect();
        found.sort();
        found
    };
    let text = numbered("text_").into_iter().map(|(_, t)| t).collect::<Vec<_>>().join("\n");
    let mut media = Vec::new();
    for (prefix, kind) in [("url_image_", "image"), ("url_video_", "video"), ("url_audio_", "audio")] {
        for (_, url) in numbered(prefix) {
            media.push(MediaRef { url, content_type: Some(format!("{kind}/*")) });
        }
    }
    if media.len() > MAX_ANNOUNCED_MEDIA {
        return Err(malformed(format!("{} media items is over {MAX_ANNOUNCED_MEDIA}", media.len())));
    }
    if text.is_empty() && media.is_empty() {
        return Ok(None);
    }
    Ok(Some(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id: provider_message_id.to_string(),
        from,
        to,
        text,
        received_at: timestamp(body, "submit_timestamp").unwrap_or(now),
        part: None,
        media,
    }))
}

fn parse_receipt(
    channel: &Channel,
    body: &Value,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    let provider_message_id = required_str(body, "reference_id")?;
    let status = body.get("status").filter(|s| s.is_object()).ok_or_else(|| malformed("missing status"))?;
    let code =
        status.get("code").and_then(code_value).ok_or_else(|| malformed("status.code is not a number"))?;
    let external_id = match body.get("external_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(malformed("external_id is not a string")),
    };
    let description = status
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    Ok(DeliveryReceipt {
        channel_id: channel.id.clone(),
        provider_message_id: provider_message_id.to_string(),
        external_id,
        status: delivery_status(code),
        provider_status_code: code.to_string(),
        description,
        at: timestamp(status, "updated_on").or_else(|| timestamp(body, "submit_timestamp")).unwrap_or(now),
        opted_out: false,
    })
}

/// TeleSign delivery codes to our statuses.
///
/// - 200 delivered to handset, 201 completed (suspicious activity flagged): `Delivered`.
/// - 290 in progress (what a send returns), 292 queued by the gateway, 203 delivered to the gateway,
///   295 status delayed: `Sent`, since the carrier has it and the outcome is still open.
/// - Final failures (207, 210, 211, 220-222, 229-231, 233, 237, 238, 286, 500-513, 515, 517-521):
///   `Undelivered`; the description travels with the receipt.
/// - Final unknown (250, 251 no handset report within 12 h, 599): `Undelivered` as well. TeleSign has given
///   up, so the message must not stay open, and nothing confirmed delivery, so it must not read `Delivered`.
/// - Any other code makes no claim and maps to `Sent`: statuses only move forward, so this cannot undo a
///   known outcome.
pub fn delivery_status(code: i64) -> MessageStatus {
    match code {
        200 | 201 => MessageStatus::Delivered,
        203 | 290 | 292 | 295 => MessageStatus::Sent,
        207
        | 210
        | 211
        | 220
        | 221
        | 222
        | 229
        | 230
        | 231
        | 233
        | 237
        | 238
        | 286
        | 500..=513
        | 515
        | 517..=521 => MessageStatus::Undelivered,
        250 | 251 | 599 => MessageStatus::Undelivered,
        _ => MessageStatus::Sent,
    }
}

#[cfg(test)]
mod tests;
