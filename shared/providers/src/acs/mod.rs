//! Azure Communication Services SMS: send through `POST /sms` signed with ACS's HMAC-SHA256 scheme, check
//! credentials by reading one of the channel's numbers (`GET /phoneNumbers/{number}`), and take inbound
//! texts and delivery reports from Event Grid (its validation handshake answered; every delivery
//! authenticated by the channel's Event Grid secret). ACS's SMS API carries no media (no MMS): texts only.

mod credentials;
pub mod signing;
mod webhook;

pub use credentials::{AcsCredentials, MIN_SECRET_LEN};
pub use webhook::{
    SECRET_HEADER, SECRET_PARAM, SMS_DELIVERY_REPORT, SMS_RECEIVED, VALIDATION_EVENT, allowed_origin_reply,
    authenticate, delivery_status, parse_webhook, presented_secret, validation_reply,
};

use crate::credentials::CredentialsError;
use crate::{
    Provider, SendError, SendReceipt, SendRequest, SignatureCheck, SignatureReport, SmsProvider, Validation,
    WebhookError, WebhookOutcome, WebhookRequest,
};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use smsdesk_domain::{Channel, Phone, ProviderKind};
use smsdesk_ports::Credentials;
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

/// The SMS API version smsdesk sends with (the first GA version; later ones accept the same body).
pub const SMS_API_VERSION: &str = "2021-03-07";
/// The Phone Numbers API version of the credential check.
pub const PHONE_NUMBERS_API_VERSION: &str = "2022-12-01";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The ACS plug-in: Event Grid posts JSON arrays; texts only.
pub struct Acs {
    http: reqwest::Client,
}

impl Acs {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl Provider for Acs {
    fn media_support(&self) -> crate::MediaSupport {
        crate::MediaSupport {
            inbound: false,
            outbound: false,
            note: Some(
                "Azure Communication Services SMS carries no MMS (none in its generally available API)",
            ),
        }
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Acs
    }

    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        Ok(AcsCredentials::from_input(input)?.to_stored())
    }

    fn redact(&self, credentials: &Credentials) -> Value {
        AcsCredentials::from_stored(credentials).map(|c| c.redacted()).unwrap_or(Value::Null)
    }

    /// Deliveries are POSTs; the CloudEvents schema's subscription handshake is an OPTIONS.
    fn webhook_methods(&self) -> &'static [&'static str] {
        &["POST", "OPTIONS"]
    }

    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = AcsCredentials::from_stored(credentials)
            .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))?;
        parse_webhook(channel, &creds, request, now)
    }

    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        let creds = AcsCredentials::from_stored(credentials)?;
        let number = channel.numbers.first().map(|n| n.number.clone());
        Ok(Box::new(AcsClient::new(self.http.clone(), channel.base_url.as_deref(), creds, number)?))
    }

    fn explain_signature(&self, check: &SignatureCheck<'_>) -> SignatureReport {
        let mut report = SignatureReport::default();
        let presented = presented_secret(&check.request);
        report.checked.push(format!(
            "Event Grid does not sign deliveries: smsdesk compares the '{SECRET_PARAM}' query parameter of {} (or the {SECRET_HEADER} header) with the channel's event_grid_secret",
            check.request.url
        ));
        match (presented, check.secret) {
            (None, _) => report.checked.push("the request carries no secret".into()),
            (Some(_), None) => report.checked.push("no --secret given to compare with".into()),
            (Some(p), Some(s)) => {
                report.valid = bool::from(subtle::ConstantTimeEq::ct_eq(p.as_bytes(), s.as_bytes()));
                report.checked.push(if report.valid {
                    "the secret matches".into()
                } else {
                    "the secret does not match".into()
                });
            }
        }
        report
    }
}

/// ACS's SMS and Phone Numbers APIs for one resource.
#[derive(Clone)]
pub struct AcsClient {
    http: reqwest::Client,
    /// Scheme and authority requests go to (the endpoint, or the channel's `base_url`).
    base_url: String,
    /// The authority signed as `host`.
    host: String,
    key: std::sync::Arc<secrecy::SecretBox<Vec<u8>>>,
    /// The number the credential check reads (the channel's first).
    number: Option<Phone>,
    timeout: Duration,
}

impl std::fmt::Debug for AcsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcsClient").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

impl AcsClient {
    pub fn new(
        http: reqwest::Client,
        base_url: Option<&str>,
        creds: AcsCredentials,
        number: Option<Phone>,
    ) -> Result<Self, CredentialsError> {
        let base_url = base_url
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
            .unwrap_or(&creds.endpoint)
            .to_string();
        let host = base_url.split_once("://").map_or(base_url.as_str(), |(_, rest)| rest).to_string();
        Ok(Self {
            http,
            base_url,
            host,
            key: std::sync::Arc::new(creds.key_bytes()?),
            number,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One signed call; `path_and_query` as on the wire.
    async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, reqwest::Error> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let bytes = body.unwrap_or_default();
        let signed =
            signing::sign(self.key.expose_secret(), method, path_and_query, &self.host, &date, &bytes);
        let url = format!("{}{path_and_query}", self.base_url);
        let mut request = match method {
            "POST" => self.http.post(url).header("Content-Type", "application/json").body(bytes),
            _ => self.http.get(url),
        };
        request = request
            .timeout(self.timeout)
            .header("x-ms-date", signed.date)
            .header("x-ms-content-sha256", signed.content_hash)
            .header("Authorization", signed.authorization)
            .header("Accept", "application/json");
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::twilio::parse_retry_after(v, SystemTime::now()));
        let body = crate::http::read_capped(response, crate::http::MAX_ANSWER_BYTES).await?;
        Ok(Answer { status, retry_after, body })
    }
}

/// The repeatability id of a message: a UUID made from our message id, the same on every attempt.
pub fn repeatability_id(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid().to_string()
}

/// How old a `repeatabilityFirstSent` may be: ACS tracks repeatable requests for 5 minutes and refuses
/// (412) one first sent before that (its repeatable-requests page, written for Email and Rooms; assumed for
/// SMS). A minute short of it, for the clocks' skew.
pub const REPEATABILITY_WINDOW: Duration = Duration::from_secs(4 * 60);

/// The `repeatabilityFirstSent` of an attempt made at `now`: the message's creation time, the same on every
/// attempt, so that ACS recognises a retry of a send it took and does not send it again. A first attempt
/// made after [`REPEATABILITY_WINDOW`] (a backlog, a stranded reply swept up) names its own time instead,
/// which ACS would otherwise refuse; there is then no earlier request within ACS's window to match anyway.
pub fn first_sent(request: &SendRequest, now: SystemTime) -> SystemTime {
    let created = SystemTime::from(request.created_at);
    match now.duration_since(created) {
        Ok(age) if age >= REPEATABILITY_WINDOW => now,
        _ => created,
    }
}

/// The JSON body of an attempt made at `now`.
pub fn send_body(request: &SendRequest, now: SystemTime) -> Value {
    json!({
        "from": request.from.e164(),
        "smsRecipients": [{
            "to": request.to.e164(),
            "repeatabilityRequestId": repeatability_id(request.external_id.as_str()),
            "repeatabilityFirstSent": httpdate::fmt_http_date(first_sent(request, now)),
        }],
        "message": request.text,
        "smsSendOptions": {"enableDeliveryReport": true, "tag": request.external_id.as_str()},
    })
}

#[async_trait]
impl SmsProvider for AcsClient {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        let body = send_body(request, SystemTime::now()).to_string().into_bytes();
        let path = format!("/sms?api-version={SMS_API_VERSION}");
        match self.call("POST", &path, Some(body)).await {
            Ok(answer) => classify_send(&answer),
            Err(e) => Err(crate::http::send_transport_error("ACS", &e)),
        }
    }

    async fn validate(&self) -> Validation {
        let path = match &self.number {
            Some(n) => format!(
                "/phoneNumbers/{}?api-version={PHONE_NUMBERS_API_VERSION}",
                n.e164().replace('+', "%2B")
            ),
            None => format!("/phoneNumbers?api-version={PHONE_NUMBERS_API_VERSION}"),
        };
        match self.call("GET", &path, None).await {
            Ok(answer) => classify_validation(self.number.as_ref(), answer.status, &answer.body),
            Err(e) => {
                Validation::Unreachable { reason: format!("could not reach ACS: {}", crate::http::chain(&e)) }
            }
        }
    }
}

/// ACS's error text: `{"error": {"code", "message"}}`, else the body cut short.
fn describe(status: u16, body: &str) -> String {
    let detail = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let e = v.get("error")?;
        let code = e.get("code").and_then(Value::as_str).unwrap_or_default();
        let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
        Some(format!("{code} {message}").trim().to_string())
    });
    let detail = detail.unwrap_or_else(|| body.trim().chars().take(200).collect());
    if detail.is_empty() { format!("ACS HTTP {status}") } else { format!("ACS HTTP {status}: {detail}") }
}

fn looks_opted_out(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("opted out") || t.contains("opt-out") || t.contains("optout") || t.contains("opted-out")
}

/// 202 with one item per recipient: the item decides. Whole-request 429 is throttling (after Retry-After),
/// 5xx transient, anything else refused for good; an item refused because the recipient opted out is an
/// opt-out.
fn classify_send(answer: &Answer) -> Result<SendReceipt, SendError> {
    let (status, body) = (answer.status, answer.body.as_str());
    if !(200..300).contains(&status) {
        let reason = describe(status, body);
        return Err(match status {
            429 => SendError::Throttled { reason, retry_after: answer.retry_after },
            500..=599 if answer.retry_after.is_some() => {
                SendError::Throttled { reason, retry_after: answer.retry_after }
            }
            500..=599 => SendError::Transient { reason },
            401 => SendError::Unauthorized { reason },
            _ if looks_opted_out(body) => SendError::OptedOut { reason },
            _ => SendError::Permanent { reason },
        });
    }
    let item = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("value").and_then(Value::as_array).and_then(|a| a.first().cloned()));
    // A 2xx whose result cannot be read: ACS may have taken the message, so it is unknown, not failed.
    let Some(item) = item else {
        return Err(SendError::Unknown {
            reason: format!("ACS HTTP {status}: the answer has no result (value[0])"),
        });
    };
    let successful = item.get("successful").and_then(Value::as_bool).unwrap_or(false);
    let item_status = item.get("httpStatusCode").and_then(Value::as_u64).unwrap_or(0);
    let message_id = item.get("messageId").and_then(Value::as_str).filter(|s| !s.is_empty());
    if successful && let Some(id) = message_id {
        return Ok(SendReceipt::one(id));
    }
    let error = item.get("errorMessage").and_then(Value::as_str).unwrap_or("refused");
    let reason = format!("ACS recipient status {item_status}: {error}");
    Err(match item_status {
        _ if looks_opted_out(error) => SendError::OptedOut { reason },
        429 => SendError::Throttled { reason, retry_after: answer.retry_after },
        500..=599 => SendError::Transient { reason },
        _ => SendError::Permanent { reason },
    })
}

/// Reading the number: 200 with SMS capability valid; 404 means the key is fine but the number is not
/// this resource's; 401/403 invalid; anything else no verdict.
fn classify_validation(number: Option<&Phone>, status: u16, body: &str) -> Validation {
    match status {
        200..=299 => {
            let Some(number) = number else { return Validation::Valid };
            let sms = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.pointer("/capabilities/sms").and_then(Value::as_str).map(str::to_string));
            match sms.as_deref() {
                Some("outbound" | "inbound+outbound") | None => Validation::Valid,
                Some(other) => Validation::Invalid {
                    reason: format!(
                        "ACS number {} cannot send SMS (capabilities.sms is '{other}')",
                        number.e164()
                    ),
                },
            }
        }
        404 => Validation::Invalid {
            reason: format!(
                "the access key works, but {} is not a number of this ACS resource",
                number.map_or("the number", |n| n.e164())
            ),
        },
        401 | 403 => Validation::Invalid { reason: describe(status, body) },
        _ => Validation::Unreachable { reason: format!("could not reach ACS: {}", describe(status, body)) },
    }
}

#[cfg(test)]
mod tests;
