//! Twilio (Programmable Messaging): send through the Messages API with Basic auth, check credentials by
//! reading the account, and verify (`X-Twilio-Signature`) and parse its webhooks: inbound texts and status
//! callbacks, both answered with an empty TwiML response.

mod credentials;
pub mod signature;
mod webhook;

pub use credentials::TwilioCredentials;
pub use webhook::{
    EMPTY_TWIML, MESSAGE_ID_PARAM, delivery_status, error_meaning, parse_webhook, twiml_reply,
};

use crate::credentials::CredentialsError;
use crate::{
    Provider, SendError, SendReceipt, SendRequest, SmsProvider, Validation, WebhookError, WebhookOutcome,
    WebhookRequest,
};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::Value;
use smsdesk_domain::{Channel, ProviderKind};
use smsdesk_ports::Credentials;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// Twilio's API host (US1). Other regions: `https://api.{edge}.{region}.twilio.com` as the base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";
/// Bounds each call so a hung Twilio cannot hold an outbound Lambda until its own timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Twilio's "unsubscribed recipient": the customer texted STOP.
pub const OPTED_OUT_CODE: i64 = 21610;
/// The combined size of an MMS's media (Twilio, "Accepted content types for media": the message and its
/// media together stay below 5 MB; error 11751 beyond). Read as 5,000,000 bytes, the lower reading.
pub const MMS_MAX_MESSAGE_BYTES: u64 = 5_000_000;
/// Twilio's "too many requests" code.
const THROTTLED_CODE: i64 = 20429;

/// The Twilio plug-in: signed form webhooks on POST (or GET, when the number is set so), TwiML replies.
pub struct Twilio {
    http: reqwest::Client,
}

impl Twilio {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl Provider for Twilio {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Twilio
    }

    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        Ok(TwilioCredentials::from_input(input)?.to_stored())
    }

    fn redact(&self, credentials: &Credentials) -> Value {
        TwilioCredentials::from_stored(credentials).map(|c| c.redacted()).unwrap_or(Value::Null)
    }

    fn rotate(&self, old: &Credentials, fresh: Credentials, now: OffsetDateTime) -> Credentials {
        match (TwilioCredentials::from_stored(&fresh), TwilioCredentials::from_stored(old)) {
            (Ok(new), Ok(old)) => new.rotated_from(&old, now).to_stored(),
            _ => fresh,
        }
    }

    fn webhook_methods(&self) -> &'static [&'static str] {
        &["POST", "GET"]
    }

    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = TwilioCredentials::from_stored(credentials)
            .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))?;
        parse_webhook(channel, &creds, request, now)
    }

    /// `X-Twilio-Signature` against each URL variant, with the strings signed.
    fn explain_signature(&self, check: &crate::SignatureCheck<'_>) -> crate::SignatureReport {
        let mut report = crate::SignatureReport::default();
        let Some(token) = check.secret else {
            report.notes.push("no --secret (the auth token) given".into());
            return report;
        };
        let token = secrecy::SecretString::from(token.to_string());
        let params = if check.request.method.eq_ignore_ascii_case("POST")
            && !check.request.query().contains(signature::BODY_HASH_PARAM)
        {
            signature::decode_form(check.request.body)
        } else {
            Vec::new()
        };
        for url in signature::url_variants(check.request.url) {
            let sts = signature::string_to_sign(&url, &params);
            report.checked.push(format!(
                "URL variant {url}: string signed {sts:?} -> {}",
                signature::sign(&token, &sts)
            ));
        }
        report.checked.push(format!(
            "received X-Twilio-Signature {}",
            check.request.header(signature::SIGNATURE_HEADER).unwrap_or("(none)")
        ));
        match signature::verify(&[&token], &check.request) {
            Ok(v) => {
                report.valid = true;
                report.checked.push(format!("matched with {}", v.url));
            }
            Err(e) => report.checked.push(e.to_string()),
        }
        report
    }

    fn media_support(&self) -> crate::MediaSupport {
        crate::MediaSupport::BOTH
    }

    fn media_bytes_per_message(&self) -> Option<u64> {
        Some(MMS_MAX_MESSAGE_BYTES)
    }

    /// Twilio's media URLs are on its API host (`api.twilio.com`, or the channel's regional or fake host);
    /// they answer with a redirect to Twilio's CDN, which is followed without credentials.
    fn media_origins(&self, channel: &Channel) -> Vec<String> {
        let base = channel.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        crate::http::origin(base.unwrap_or(DEFAULT_BASE_URL)).into_iter().collect()
    }

    /// HTTP Basic with the account SID and auth token (accounts that protect their media ask for it).
    fn media_authorization(&self, credentials: &Credentials) -> Option<secrecy::SecretString> {
        let creds = TwilioCredentials::from_stored(credentials).ok()?;
        let pair = format!("{}:{}", creds.account_sid, creds.auth_token.expose_secret());
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        Some(secrecy::SecretString::from(format!("Basic {encoded}")))
    }

    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        let creds = TwilioCredentials::from_stored(credentials)?;
        Ok(Box::new(TwilioClient::new(self.http.clone(), channel.base_url.as_deref(), creds)))
    }
}

/// Twilio's REST API for one account.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    base_url: String,
    creds: TwilioCredentials,
    timeout: Duration,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.creds.account_sid)
            .finish_non_exhaustive()
    }
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

impl TwilioClient {
    /// `base_url` overrides the host (a region or edge, a fake Twilio in tests); a trailing slash is fine.
    pub fn new(http: reqwest::Client, base_url: Option<&str>, creds: TwilioCredentials) -> Self {
        let base_url = base_url.map(|u| u.trim().trim_end_matches('/')).filter(|u| !u.is_empty());
        Self {
            http,
            base_url: base_url.unwrap_or(DEFAULT_BASE_URL).to_string(),
            creds,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn account_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}", self.creds.account_sid)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let response = request
            .timeout(self.timeout)
            .basic_auth(&self.creds.account_sid, Some(self.creds.auth_token.expose_secret()))
            .header("Accept", "application/json")
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let body = crate::http::read_capped(response, crate::http::MAX_ANSWER_BYTES).await?;
        Ok(Answer { status, retry_after, body })
    }
}

#[async_trait]
impl SmsProvider for TwilioClient {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        let mut form: Vec<(&str, String)> = vec![
            ("To", request.to.e164().to_string()),
            ("From", request.from.e164().to_string()),
            ("Body", request.text.clone()),
        ];
        if let Some(callback) = request.status_callback.as_deref() {
            form.push(("StatusCallback", status_callback_url(callback, request.external_id.as_str())));
        }
        // MMS: Twilio fetches each MediaUrl (repeatable) itself, while the link is valid.
        for url in &request.media_urls {
            form.push(("MediaUrl", url.clone()));
        }
        let url = format!("{}{}/Messages.json", self.base_url, self.account_path());
        match self.call(self.http.post(url).form(&form)).await {
            Ok(answer) => classify_send(&answer),
            Err(e) => Err(classify_transport(&e)),
        }
    }

    async fn validate(&self) -> Validation {
        let url = format!("{}{}.json", self.base_url, self.account_path());
        match self.call(self.http.get(url)).await {
            Ok(answer) => classify_validation(answer.status, &answer.body),
            Err(e) if e.is_builder() => Validation::Invalid {
                reason: format!("the credentials cannot be put in a request: {}", chain(&e)),
            },
            Err(e) => Validation::Unreachable { reason: format!("could not reach Twilio: {}", chain(&e)) },
        }
    }
}

/// Our status callback URL with our message id added, so a receipt names our message even when it
/// overtakes the send's answer. Twilio signs the URL as given, query included.
pub fn status_callback_url(callback: &str, message_id: &str) -> String {
    let (base, fragment) = match callback.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (callback, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let pair = serde_urlencoded::to_string([(MESSAGE_ID_PARAM, message_id)]).unwrap_or_default();
    match fragment {
        Some(f) => format!("{base}{separator}{pair}#{f}"),
        None => format!("{base}{separator}{pair}"),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    httpdate::parse_http_date(value).ok().map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What a send answer means: 2xx with a SID is accepted; 429 (or code 20429) is throttling, retried after
/// Twilio's Retry-After; 5xx retries (after Retry-After when given); 21610 is the customer's opt-out; every
/// other refusal is permanent, with Twilio's code and words.
fn classify_send(answer: &Answer) -> Result<SendReceipt, SendError> {
    let (status, body) = (answer.status, answer.body.as_str());
    if (200..300).contains(&status) {
        let sid = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("sid").and_then(Value::as_str).map(str::to_string))
            .filter(|s| !s.is_empty());
        // Taken, but without a SID receipts cannot be matched: not failed (the customer may have it, and a
        // resend would send it twice), unknown.
        return sid.map(SendReceipt::one).ok_or_else(|| SendError::Unknown {
            reason: format!("Twilio accepted the request but returned no sid ({})", describe(status, body)),
        });
    }
    let code = error_code(body);
    let reason = describe(status, body);
    match (status, code) {
        (_, Some(OPTED_OUT_CODE)) => Err(SendError::OptedOut { reason }),
        (429, _) | (_, Some(THROTTLED_CODE)) => {
            Err(SendError::Throttled { reason, retry_after: answer.retry_after })
        }
        (500..=599, _) if answer.retry_after.is_some() => {
            Err(SendError::Throttled { reason, retry_after: answer.retry_after })
        }
        (500..=599, _) => Err(SendError::Transient { reason }),
        (401, _) => Err(SendError::Unauthorized { reason }),
        _ => Err(SendError::Permanent { reason }),
    }
}

/// No answer: see [`crate::http::send_transport_error`] (Twilio takes no idempotency key for sends).
fn classify_transport(error: &reqwest::Error) -> SendError {
    crate::http::send_transport_error("Twilio", error)
}

/// Reading the account: 200 and `active` is valid; 401/403/404 (wrong SID or token) invalid; anything
/// else (429, 5xx, ...) no verdict. The answer carries the auth token: it is never quoted.
fn classify_validation(status: u16, body: &str) -> Validation {
    match status {
        200..=299 => {
            let account_status = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string));
            match account_status.as_deref() {
                Some("active") | None => Validation::Valid,
                Some(other) => Validation::Invalid { reason: format!("the Twilio account is {other}") },
            }
        }
        401 | 403 | 404 => Validation::Invalid { reason: describe(status, body) },
        _ => {
            Validation::Unreachable { reason: format!("could not reach Twilio: {}", describe(status, body)) }
        }
    }
}

/// Twilio's error `code`.
fn error_code(body: &str) -> Option<i64> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("code").and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.trim().parse().ok())))
}

/// `Twilio HTTP 400: 21211 The 'To' number is not a valid phone number.`
fn describe(status: u16, body: &str) -> String {
    let detail = match serde_json::from_str::<Value>(body) {
        Ok(v) => {
            let code =
                v.get("code").filter(|c| !c.is_null()).map(|c| c.to_string().trim_matches('"').to_string());
            let message = v.get("message").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty());
            match (code, message) {
                (Some(c), Some(m)) => Some(format!("{c} {m}")),
                (Some(c), None) => Some(c),
                (None, Some(m)) => Some(m.to_string()),
                (None, None) => None,
            }
        }
        Err(_) if body.trim().is_empty() => None,
        Err(_) => Some(truncate(body.trim(), 200)),
    };
    match detail {
        Some(d) => format!("Twilio HTTP {status}: {d}"),
        None => format!("Twilio HTTP {status}"),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

use crate::http::chain;

#[cfg(test)]
mod tests;
