//! Vonage SMS API (formerly Nexmo): send through `POST /sms/json` (one message id per part), check
//! credentials with the free balance read, and verify (`sig`) and parse its webhooks: inbound texts (parts
//! of long texts carried as [`smsdesk_domain::events::MessagePart`]) and delivery receipts, by GET or POST.

mod credentials;
pub mod signature;
mod webhook;

pub use credentials::VonageCredentials;
pub use signature::SignatureMethod;
pub use webhook::{delivery_status, error_meaning, parse_webhook};

use crate::credentials::CredentialsError;
use crate::{
    Provider, SendError, SendReceipt, SendRequest, SmsProvider, Validation, WebhookError, WebhookOutcome,
    WebhookRequest,
};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::Value;
use smsdesk_domain::Encoding;
use smsdesk_domain::{Channel, ProviderKind};
use smsdesk_ports::Credentials;
use std::time::Duration;
use time::OffsetDateTime;

pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `client-ref` Vonage's API spec allows.
pub const CLIENT_REF_MAX_CHARS: usize = 40;

/// The Vonage plug-in.
pub struct Vonage {
    http: reqwest::Client,
}

impl Vonage {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl Provider for Vonage {
    fn media_support(&self) -> crate::MediaSupport {
        crate::MediaSupport {
            inbound: false,
            outbound: false,
            note: Some(
                "the Vonage SMS API carries no MMS (Vonage sends MMS only through its Messages API, which this \
                 channel does not use)",
            ),
        }
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Vonage
    }

    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        Ok(VonageCredentials::from_input(input)?.to_stored())
    }

    fn redact(&self, credentials: &Credentials) -> Value {
        VonageCredentials::from_stored(credentials).map(|c| c.redacted()).unwrap_or(Value::Null)
    }

    fn rotate(&self, old: &Credentials, fresh: Credentials, now: OffsetDateTime) -> Credentials {
        match (VonageCredentials::from_stored(&fresh), VonageCredentials::from_stored(old)) {
            (Ok(new), Ok(old)) => new.rotated_from(&old, now).to_stored(),
            _ => fresh,
        }
    }

    /// Vonage calls with GET or POST, as set in its dashboard.
    fn webhook_methods(&self) -> &'static [&'static str] {
        &["GET", "POST"]
    }

    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = VonageCredentials::from_stored(credentials)
            .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))?;
        parse_webhook(channel, &creds, request, now)
    }

    /// `sig` by the channel's method (`--signature-method`, md5hash by default); the timestamp's age is
    /// reported beside the verdict.
    fn explain_signature(&self, check: &crate::SignatureCheck<'_>) -> crate::SignatureReport {
        let mut report = crate::SignatureReport::default();
        let method = match check.signature_method {
            None => SignatureMethod::Md5Hash,
            Some(name) => match SignatureMethod::parse(name) {
                Some(m) => m,
                None => {
                    report.notes.push(format!(
                        "--signature-method '{name}' is not one of {}",
                        SignatureMethod::NAMES.join(", ")
                    ));
                    return report;
                }
            },
        };
        let params = match webhook::params(&check.request) {
            Ok(p) => p,
            Err(e) => {
                report.notes.push(e.to_string());
                return report;
            }
        };
        report.checked.push(format!(
            "string signed ({}): {:?}",
            method.name(),
            signature::string_to_sign(&params)
        ));
        let received = params.iter().find(|(k, _)| k == "sig").map(|(_, v)| v.trim().to_ascii_lowercase());
        match (check.secret, received) {
            (None, _) => report.notes.push("no --secret (the signature secret) given".into()),
            (_, None) => report.notes.push("the request has no sig parameter".into()),
            (Some(secret), Some(given)) => {
                let expected =
                    signature::signature(method, &secrecy::SecretString::from(secret.to_string()), &params);
                report.checked.push(format!("expected sig {expected}, received {given}"));
                report.valid =
                    bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()));
            }
        }
        let timestamp =
            params.iter().find(|(k, _)| k == "timestamp").and_then(|(_, v)| v.trim().parse::<i64>().ok());
        match timestamp {
            Some(t) => {
                let skew = check.now.unix_timestamp().saturating_sub(t);
                if skew.saturating_abs() > signature::MAX_SKEW.whole_seconds() {
                    report.notes.push(format!(
                        "timestamp is stale: {skew} s from now (smsdesk accepts {} s)",
                        signature::MAX_SKEW.whole_seconds()
                    ));
                }
            }
            None => report.notes.push("no timestamp parameter (smsdesk refuses such webhooks)".into()),
        }
        report
    }

    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        let creds = VonageCredentials::from_stored(credentials)?;
        Ok(Box::new(VonageClient::new(self.http.clone(), channel.base_url.as_deref(), creds)))
    }
}

/// The Vonage SMS API for one account.
#[derive(Clone)]
pub struct VonageClient {
    http: reqwest::Client,
    base_url: String,
    creds: VonageCredentials,
    timeout: Duration,
}

impl std::fmt::Debug for VonageClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VonageClient")
            .field("base_url", &self.base_url)
            .field("api_key", &self.creds.api_key)
            .finish_non_exhaustive()
    }
}

impl VonageClient {
    pub fn new(http: reqwest::Client, base_url: Option<&str>, creds: VonageCredentials) -> Self {
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
}

#[async_trait]
impl SmsProvider for VonageClient {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        let unicode = smsdesk_domain::segment::analyze(&request.text).encoding == Encoding::Ucs2;
        let mut form: Vec<(&str, &str)> = vec![
            ("api_key", self.creds.api_key.as_str()),
            ("api_secret", self.creds.api_secret.expose_secret()),
            ("from", request.from.digits()),
            ("to", request.to.digits()),
            ("text", request.text.as_str()),
            ("type", if unicode { "unicode" } else { "text" }),
        ];
        // `client-ref` takes at most 40 characters (Vonage's API spec; its Python SDK allows 100), and our
        // ids can be longer (a resend's `_resend`, automated messages' ids): a longer one is left out rather
        // than cut (it would name no message) or risked on a refusal. Delivery receipts then find the
        // message by Vonage's message id, which the store indexes once the send is recorded.
        let client_ref = request.external_id.as_str();
        if client_ref.chars().count() <= CLIENT_REF_MAX_CHARS {
            form.push(("client-ref", client_ref));
        }
        if let Some(callback) = request.status_callback.as_deref() {
            form.push(("callback", callback));
        }
        let response = self
            .http
            .post(format!("{}/sms/json", self.base_url))
            .timeout(self.timeout)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Err(crate::http::send_transport_error("Vonage", &e)),
        };
        let status = response.status().as_u16();
        let body = match crate::http::read_capped(response, crate::http::MAX_ANSWER_BYTES).await {
            Ok(body) => body,
            // Vonage answered but the answer did not arrive whole: it may have taken the text.
            Err(e) => return Err(crate::http::send_transport_error("Vonage", &e)),
        };
        classify_send(status, &body)
    }

    async fn validate(&self) -> Validation {
        let result = self
            .http
            .get(format!("{}/account/get-balance", self.base_url))
            .timeout(self.timeout)
            .basic_auth(&self.creds.api_key, Some(self.creds.api_secret.expose_secret()))
            .send()
            .await;
        match result {
            Ok(r) => match r.status().as_u16() {
                200 => Validation::Valid,
                status @ (401 | 403) => {
                    Validation::Invalid { reason: format!("Vonage HTTP {status}: authentication failed") }
                }
                status => {
                    Validation::Unreachable { reason: format!("could not reach Vonage: HTTP {status}") }
                }
            },
            Err(e) => Validation::Unreachable { reason: format!("could not reach Vonage: {e}") },
        }
    }
}

/// `/sms/json` answers 200 for processed requests, errors included, with one element per part; success is
/// every part's status "0" (providers.md 4.2). Every part accepted: the receipt carries every part's id.
/// Some parts refused while others went out: a permanent failure saying how many and why, so the agent
/// sees the text arrived incomplete; never retried, since a retry would send the accepted parts again.
/// None accepted: Vonage's status decides (1 throttled, 5 and 10 retry, the rest permanent).
fn classify_send(status: u16, body: &str) -> Result<SendReceipt, SendError> {
    let reason = |detail: &str| format!("Vonage HTTP {status}: {detail}");
    match status {
        200..=299 => {}
        429 => return Err(SendError::Throttled { reason: reason("too many requests"), retry_after: None }),
        500..=599 => return Err(SendError::Transient { reason: reason("server error") }),
        401 => return Err(SendError::Unauthorized { reason: reason(body.trim()) }),
        _ => return Err(SendError::Permanent { reason: reason(body.trim()) }),
    }
    let v: Value = serde_json::from_str(body)
        // A 2xx that cannot be read: Vonage may have taken the message, so it is unknown, not failed.
        .map_err(|_| SendError::Unknown { reason: reason("the answer is not JSON") })?;
    let parts = v.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let field = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let refusal =
        |m: &Value| format!("status {} {}", field(m, "status"), field(m, "error-text")).trim().to_string();
    let refused: Vec<&Value> = parts.iter().filter(|m| field(m, "status") != "0").collect();
    if !refused.is_empty() && refused.len() < parts.len() {
        let mut why: Vec<String> = refused.iter().map(|m| refusal(m)).collect();
        why.dedup();
        return Err(SendError::Permanent {
            reason: reason(&format!(
                "{} of {} parts refused ({}); the other parts were sent",
                refused.len(),
                parts.len(),
                why.join("; ")
            )),
        });
    }
    let accepted: Vec<String> = parts
        .iter()
        .filter(|m| field(m, "status") == "0")
        .map(|m| field(m, "message-id"))
        .filter(|id| !id.is_empty())
        .collect();
    if let Some((first, more)) = accepted.split_first() {
        return Ok(SendReceipt {
            provider_message_id: first.clone(),
            more_provider_message_ids: more.to_vec(),
        });
    }
    let Some(refused) = refused.first().copied().or_else(|| parts.first()) else {
        return Err(SendError::Unknown { reason: reason("no messages in the answer") });
    };
    let code = field(refused, "status");
    let detail = reason(&refusal(refused));
    match code.as_str() {
        "1" => Err(SendError::Throttled { reason: detail, retry_after: None }),
        "5" | "10" => Err(SendError::Transient { reason: detail }),
        _ => Err(SendError::Permanent { reason: detail }),
    }
}

#[cfg(test)]
mod tests;
