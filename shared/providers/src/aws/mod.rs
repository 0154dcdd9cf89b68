//! AWS End User Messaging SMS (pinpoint-sms-voice-v2): send with `SendTextMessage` through the AWS SDK
//! (SigV4 by the SDK), check credentials with a read-only call, and take two-way SMS and delivery events
//! from an SNS topic subscribed to the channel's webhook over HTTPS: the SNS signature (versions 1 and 2)
//! checked against the signing certificate, fetched only from an SNS host and kept; subscriptions
//! confirmed only once verified.

#[cfg(feature = "aws-sms")]
mod client;
mod credentials;
pub mod sns;

pub use credentials::{AwsCredentials, is_region};
pub use sns::{Envelope, SigningCert, SnsError};

use crate::credentials::CredentialsError;
use crate::{
    Provider, ProviderOptions, SignatureCheck, SignatureReport, SmsProvider, WebhookError, WebhookOutcome,
    WebhookRequest,
};
#[cfg(not(feature = "aws-sms"))]
use crate::{SendError, SendReceipt, SendRequest, Validation};
use async_trait::async_trait;
use serde_json::Value;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::{Channel, MessageStatus, Phone, ProviderKind};
use smsdesk_ports::Credentials;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// How long fetching a certificate or confirming a subscription may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Certificates kept (SNS rotates them rarely; a bound keeps a flood of forged URLs harmless).
const CERT_CACHE_SIZE: usize = 32;
/// The `Context` key of our message id in `SendTextMessage` (echoed in delivery events).
pub const CONTEXT_MESSAGE_ID: &str = "smsdesk_message";

/// The AWS plug-in.
pub struct Aws {
    http: reqwest::Client,
    options: ProviderOptions,
    certs: Arc<Mutex<HashMap<String, Arc<SigningCert>>>>,
    #[cfg(feature = "aws-sms")]
    sdk_http: std::sync::OnceLock<aws_smithy_runtime_api::client::http::SharedHttpClient>,
}

impl Aws {
    pub fn new(http: reqwest::Client, options: ProviderOptions) -> Self {
        Self {
            http,
            options,
            certs: Arc::default(),
            #[cfg(feature = "aws-sms")]
            sdk_http: std::sync::OnceLock::new(),
        }
    }

    /// Puts a certificate in the cache as if fetched from `url` (tests; the official vectors' expired one).
    pub fn with_certificate(self, url: &str, cert: SigningCert) -> Self {
        self.remember(url, Arc::new(cert));
        self
    }

    fn cached(&self, url: &str) -> Option<Arc<SigningCert>> {
        self.certs.lock().ok().and_then(|c| c.get(url).cloned())
    }

    fn remember(&self, url: &str, cert: Arc<SigningCert>) {
        if let Ok(mut certs) = self.certs.lock() {
            if certs.len() >= CERT_CACHE_SIZE {
                certs.clear();
            }
            certs.insert(url.to_string(), cert);
        }
    }

    /// The certificate at `url` (checked to be an SNS URL first), from the cache or fetched.
    async fn certificate(&self, url: &str) -> Result<Arc<SigningCert>, WebhookError> {
        sns::check_cert_url(url, self.options.allow_loopback_http).map_err(refused)?;
        if let Some(cert) = self.cached(url) {
            return Ok(cert);
        }
        let fetch = async {
            let response = self.http.get(url).timeout(FETCH_TIMEOUT).send().await?.error_for_status()?;
            crate::http::read_capped(response, crate::http::MAX_ANSWER_BYTES).await
        };
        let pem = fetch.await.map_err(|e| {
            WebhookError::Unavailable(format!(
                "could not fetch the SNS signing certificate: {}",
                crate::http::chain(&e)
            ))
        })?;
        let cert = Arc::new(SigningCert::from_pem(pem.as_bytes()).map_err(refused)?);
        self.remember(url, cert.clone());
        Ok(cert)
    }

    /// Verifies an envelope with a certificate; checks the topic.
    fn verified(creds: &AwsCredentials, envelope: &Envelope, cert: &SigningCert) -> Result<(), WebhookError> {
        sns::verify(envelope, cert).map_err(refused)?;
        if let Some(topic) = &creds.topic_arn
            && topic != &envelope.topic_arn
        {
            return Err(WebhookError::Unauthorized(format!(
                "TopicArn {} is not the channel's topic",
                envelope.topic_arn
            )));
        }
        Ok(())
    }

    /// GETs a verified confirmation's SubscribeURL (an SNS URL only).
    async fn confirm(&self, envelope: &Envelope) -> Result<(), WebhookError> {
        let url = envelope.subscribe_url.as_deref().unwrap_or_default();
        sns::check_sns_url(url, "SubscribeURL", self.options.allow_loopback_http).map_err(refused)?;
        let result =
            self.http.get(url).timeout(FETCH_TIMEOUT).send().await.and_then(|r| r.error_for_status());
        match result {
            Ok(_) => {
                tracing::info!(topic = %envelope.topic_arn, "SNS subscription confirmed");
                Ok(())
            }
            // Without the URL: it carries the subscription's confirmation token.
            Err(e) => Err(WebhookError::Unavailable(format!(
                "could not confirm the SNS subscription: {}",
                crate::http::chain(&e.without_url())
            ))),
        }
    }
}

fn refused(e: SnsError) -> WebhookError {
    match e {
        SnsError::Malformed(m) => WebhookError::Malformed(m),
        SnsError::Refused(m) => WebhookError::Unauthorized(m),
    }
}

fn creds_for_webhook(credentials: &Credentials) -> Result<AwsCredentials, WebhookError> {
    AwsCredentials::from_stored(credentials)
        .map_err(|e| WebhookError::Unauthorized(format!("cannot verify: {e}")))
}

#[async_trait]
impl Provider for Aws {
    fn media_support(&self) -> crate::MediaSupport {
        crate::MediaSupport {
            inbound: false,
            outbound: true,
            note: Some(
                "AWS End User Messaging two-way SMS delivers no inbound MMS; outbound MMS goes by \
                 SendMediaMessage from the stack's S3 media bucket (the AWS shape only: one file per message, \
                 gif/jpeg/png up to 2 MB, audio/video/PDF up to 600 KB)",
            ),
        }
    }

    fn media_from_s3(&self) -> bool {
        true
    }

    /// One file per message (AWS "MMS file types, size and character limits"): the largest, an image, is
    /// 2 MB; audio, video and PDF files are held to 600 KB each by `smsdesk_domain::media_send`.
    fn media_bytes_per_message(&self) -> Option<u64> {
        Some(smsdesk_domain::media_send::AWS_IMAGE_MAX_BYTES)
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Aws
    }

    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        Ok(AwsCredentials::from_input(input)?.to_stored())
    }

    fn redact(&self, credentials: &Credentials) -> Value {
        AwsCredentials::from_stored(credentials).map(|c| c.redacted()).unwrap_or(Value::Null)
    }

    /// Offline: only a certificate already kept verifies; a subscription cannot be confirmed.
    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = creds_for_webhook(credentials)?;
        let envelope = Envelope::parse(request.body).map_err(refused)?;
        sns::check_cert_url(&envelope.signing_cert_url, self.options.allow_loopback_http).map_err(refused)?;
        let cert = self.cached(&envelope.signing_cert_url).ok_or_else(|| {
            WebhookError::Unavailable("the SNS signing certificate has not been fetched".into())
        })?;
        Self::verified(&creds, &envelope, &cert)?;
        match envelope.kind.as_str() {
            "SubscriptionConfirmation" => {
                Err(WebhookError::Unavailable("confirming a subscription needs the network".into()))
            }
            _ => after_verification(channel, &envelope, now),
        }
    }

    async fn receive_webhook_online(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let creds = creds_for_webhook(credentials)?;
        let envelope = Envelope::parse(request.body).map_err(refused)?;
        let cert = self.certificate(&envelope.signing_cert_url).await?;
        Self::verified(&creds, &envelope, &cert)?;
        if envelope.kind == "SubscriptionConfirmation" {
            self.confirm(&envelope).await?;
            return Ok(WebhookOutcome::default());
        }
        after_verification(channel, &envelope, now)
    }

    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        let creds = AwsCredentials::from_stored(credentials)?;
        #[cfg(feature = "aws-sms")]
        {
            let http = self.sdk_http.get_or_init(client::https_client).clone();
            Ok(Box::new(client::AwsSmsClient::new(http, channel, creds)?))
        }
        #[cfg(not(feature = "aws-sms"))]
        {
            let _ = (channel, creds);
            Ok(Box::new(NotLinked))
        }
    }

    fn explain_signature(&self, check: &SignatureCheck<'_>) -> SignatureReport {
        let mut report = SignatureReport::default();
        let envelope = match Envelope::parse(check.request.body) {
            Ok(e) => e,
            Err(e) => {
                report.notes.push(e.to_string());
                return report;
            }
        };
        report
            .checked
            .push(format!("Type {}, SignatureVersion {}", envelope.kind, envelope.signature_version));
        match sns::check_cert_url(&envelope.signing_cert_url, false) {
            Ok(()) => {
                report.checked.push(format!("SigningCertURL {} is an SNS URL", envelope.signing_cert_url))
            }
            Err(e) => report.notes.push(format!("{e}: smsdesk would not fetch it")),
        }
        if let Ok(sts) = envelope.string_to_sign() {
            report.checked.push(format!("string signed: {sts:?}"));
        }
        let Some(pem) = check.certificate else {
            report.notes.push(format!("no --cert-file: download {} and give it", envelope.signing_cert_url));
            return report;
        };
        let cert = match SigningCert::from_pem(pem) {
            Ok(c) => c,
            Err(e) => {
                report.notes.push(e.to_string());
                return report;
            }
        };
        report.checked.push(format!("certificate {}", cert.subject));
        if cert.expired(check.now) {
            report.notes.push(format!("the certificate expired on {}", cert.not_after));
        }
        match sns::verify(&envelope, &cert) {
            Ok(_) => {
                report.valid = true;
                report.checked.push("the signature matches".into());
            }
            Err(e) => report.checked.push(e.to_string()),
        }
        report
    }
}

/// A verified Notification (or UnsubscribeConfirmation): its Message into events.
fn after_verification(
    channel: &Channel,
    envelope: &Envelope,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    if envelope.kind != "Notification" {
        tracing::info!(channel = %channel.id, kind = %envelope.kind, "SNS message acknowledged");
        return Ok(WebhookOutcome::default());
    }
    parse_notification(channel, &envelope.message, now).map(WebhookOutcome::events)
}

/// The Message of a Notification: a two-way SMS (`inboundMessageId`, `originationNumber`,
/// `destinationNumber`, `messageBody`) or a delivery event (`eventType`, `messageId`); anything else is
/// acknowledged and ignored.
pub fn parse_notification(
    channel: &Channel,
    message: &str,
    now: OffsetDateTime,
) -> Result<Vec<InboundEvent>, WebhookError> {
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(message) else {
        tracing::info!(channel = %channel.id, "SNS notification whose Message is not a JSON object ignored");
        return Ok(Vec::new());
    };
    let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let need = |k: &str| get(k).ok_or_else(|| WebhookError::Malformed(format!("Message: missing {k}")));
    let phone = |k: &str| -> Result<Phone, WebhookError> {
        Phone::parse(need(k)?).map_err(|e| WebhookError::Malformed(format!("Message: {k} {e}")))
    };
    if get("inboundMessageId").is_some() {
        let to = phone("destinationNumber")?;
        if !channel.takes_webhooks_for(&to, now) {
            return Err(WebhookError::Malformed(format!("number {} is not on this channel", to.digits())));
        }
        return Ok(vec![InboundEvent::Message(InboundMessage {
            channel_id: channel.id.clone(),
            provider_message_id: need("inboundMessageId")?.to_string(),
            from: phone("originationNumber")?,
            to,
            text: m.get("messageBody").and_then(Value::as_str).unwrap_or_default().to_string(),
            received_at: now,
            part: None,
            media: Vec::new(),
        })]);
    }
    if let Some(event_type) = get("eventType") {
        let external_id = m
            .get("context")
            .and_then(|c| c.get(CONTEXT_MESSAGE_ID))
            .and_then(Value::as_str)
            .map(str::to_string);
        let description = get("messageStatusDescription").or(get("messageStatus")).map(str::to_string);
        return Ok(vec![InboundEvent::Receipt(DeliveryReceipt {
            channel_id: channel.id.clone(),
            provider_message_id: need("messageId")?.to_string(),
            external_id,
            status: delivery_status(event_type, is_final(m.get("isFinal"))),
            provider_status_code: event_type.to_string(),
            description,
            at: now,
            opted_out: false,
        })]);
    }
    tracing::info!(channel = %channel.id, "SNS notification of another kind ignored");
    Ok(Vec::new())
}

/// `isFinal` as a JSON boolean (or, leniently, the string `"true"` / `"false"`); `None` when absent or
/// anything else.
fn is_final(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Delivery events to our statuses, driven by `isFinal` (providers.md 5.3): an event that is not final
/// claims no more than `sent`, whatever its type (a carrier's first `TEXT_SUCCESSFUL` may be followed by a
/// final `TEXT_BLOCKED`; a `TEXT_CARRIER_UNREACHABLE` AWS still retries may end delivered). A final one
/// decides: `TEXT_SUCCESSFUL` and `TEXT_DELIVERED` (used alike by country) delivered, the refusals failed,
/// the unreachable and expired undelivered, `TEXT_UNKNOWN` (no final word after 72 h) still `sent`. An
/// event without `isFinal` is judged by its type.
pub fn delivery_status(event_type: &str, is_final: Option<bool>) -> MessageStatus {
    if is_final == Some(false) {
        return MessageStatus::Sent;
    }
    match event_type {
        "TEXT_DELIVERED" | "TEXT_SUCCESSFUL" => MessageStatus::Delivered,
        "TEXT_INVALID"
        | "TEXT_INVALID_MESSAGE"
        | "TEXT_BLOCKED"
        | "TEXT_CARRIER_BLOCKED"
        | "TEXT_SPAM"
        | "TEXT_PROTECT_BLOCKED" => MessageStatus::Failed,
        "TEXT_UNREACHABLE" | "TEXT_CARRIER_UNREACHABLE" | "TEXT_TTL_EXPIRED" => MessageStatus::Undelivered,
        _ => MessageStatus::Sent,
    }
}

/// A build without the SDK client (feature `aws-sms`): sends fail for good with the reason.
#[cfg(not(feature = "aws-sms"))]
struct NotLinked;

#[cfg(not(feature = "aws-sms"))]
#[async_trait]
impl SmsProvider for NotLinked {
    async fn send(&self, _request: &SendRequest) -> Result<SendReceipt, SendError> {
        Err(SendError::Permanent { reason: "this build has no AWS SMS client (feature aws-sms)".into() })
    }

    async fn validate(&self) -> Validation {
        Validation::Unreachable { reason: "this build has no AWS SMS client (feature aws-sms)".into() }
    }
}

#[cfg(test)]
mod tests;
