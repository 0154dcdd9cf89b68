//! SMS providers as plug-ins. Each provider is one folder module that owns everything about it (as in
//! nyaruka/courier's `handlers/<provider>/`):
//! - its credentials: parsing the admin API's JSON (errors name the field), the stored form, redaction for
//!   reads, key rotation and its grace period ([`Provider::parse_credentials`], [`Provider::redact`],
//!   [`Provider::rotate`]);
//! - its REST client: send and the cheapest read-only credential check ([`SmsProvider`]);
//! - its webhooks: the HTTP methods it calls with, verification on the raw request (in constant time,
//!   before parsing), parsing into [`InboundEvent`]s, and the reply it expects ([`WebhookOutcome`]);
//! - a fixture table run by the one shared runner (`fixtures.rs`).
//!
//! [`Providers`] is the registry, keyed by the provider's name: nothing outside a provider's module names
//! a provider.

pub mod acs;
pub mod aws;
pub mod credentials;
pub mod form;
pub mod http;
pub mod media;
pub mod sandbox;
pub mod telesign;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod twilio;
pub mod vonage;

#[cfg(test)]
pub(crate) mod fake_http;
#[cfg(test)]
pub(crate) mod fixtures;

use async_trait::async_trait;
use smsdesk_domain::events::InboundEvent;
use smsdesk_domain::{Channel, MessageId, Phone, ProviderKind};
use smsdesk_ports::{Clock, Credentials, OutboxStore};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub use credentials::CredentialsError;

/// What the outbound function asks a provider to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRequest {
    /// Our number (the channel number the conversation came in on).
    pub from: Phone,
    pub to: Phone,
    pub text: String,
    /// Our message id, passed as the provider's external / client reference so receipts can be matched.
    pub external_id: MessageId,
    /// When the message was created: the same on every attempt to send it, for providers whose
    /// de-duplication of a retried send takes the time it was first made (ACS `repeatabilityFirstSent`).
    pub created_at: OffsetDateTime,
    /// Where the provider should post delivery receipts for this message (the channel's webhook URL), for
    /// providers that take it per message (Twilio `StatusCallback`, Vonage `callback`, TeleSign `callback_url`).
    pub status_callback: Option<String>,
    /// Media to send with the text (MMS): short-lived public links to our stored items, for providers that
    /// fetch media by URL ([`Provider::sends_media`]); the items' `s3://` URIs for a provider that sends
    /// from our S3 bucket ([`Provider::media_from_s3`]). Empty for a plain text.
    pub media_urls: Vec<String>,
}

/// The provider accepted the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// TeleSign `reference_id`, Twilio SID, the first part's Vonage `message-id`, ...
    pub provider_message_id: String,
    /// The ids of the further parts when the provider split a long text and gave each part its own id
    /// (Vonage); receipts may arrive for any of them.
    pub more_provider_message_ids: Vec<String>,
}

impl SendReceipt {
    /// A receipt with one provider id.
    pub fn one(provider_message_id: impl Into<String>) -> Self {
        Self { provider_message_id: provider_message_id.into(), more_provider_message_ids: Vec::new() }
    }

    /// Every provider id of the message, the first one first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.provider_message_id.as_str())
            .chain(self.more_provider_message_ids.iter().map(String::as_str))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider did not take the message (5xx or throttling answers, a connection that never opened):
    /// worth another try later.
    #[error("temporary provider error: {reason}")]
    Transient { reason: String },
    /// The request went out but no answer came back (a read timeout, a connection dropped mid-request): the
    /// provider may have accepted it. Sending again could reach the customer twice, so the caller does not,
    /// unless the provider de-duplicates ([`SmsProvider::deduplicates_resends`]).
    #[error("no answer from the provider; it may have accepted the message: {reason}")]
    Unknown { reason: String },
    /// The provider refused the message for good (bad number, bad credentials, blocked, ...).
    #[error("provider refused the message: {reason}")]
    Permanent { reason: String },
    /// The provider refused our credentials (HTTP 401): nothing was sent. The sender reads the credentials
    /// again once (a key rotated in another process) and otherwise fails the message as for `Permanent`.
    #[error("provider refused the credentials: {reason}")]
    Unauthorized { reason: String },
    /// The provider asked us to slow down; try again, not before `retry_after` when it said so.
    #[error("provider throttled the send: {reason}")]
    Throttled { reason: String, retry_after: Option<Duration> },
    /// The customer opted out at the provider (Twilio 21610, ...): never retry, record the opt-out.
    #[error("the customer opted out at the provider: {reason}")]
    OptedOut { reason: String },
}

/// Result of a read-only credential check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Validation {
    Valid,
    /// The provider answered and rejected the credentials.
    Invalid {
        reason: String,
    },
    /// No verdict: the provider could not be reached, timed out or answered 5xx/429.
    Unreachable {
        reason: String,
    },
}

/// One provider account's REST client.
#[async_trait]
pub trait SmsProvider: Send + Sync {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError>;
    /// Whether sending the same [`SendRequest`] again (same `external_id`) after [`SendError::Unknown`] is
    /// safe because the provider de-duplicates it (an idempotency key on its API). False unless a provider
    /// documents it: TeleSign has no such key.
    fn deduplicates_resends(&self) -> bool {
        false
    }
    /// The cheapest read-only call proving the credentials.
    async fn validate(&self) -> Validation;
}

/// What media (MMS) a provider carries on its channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MediaSupport {
    /// Customers' media announced on its webhooks is fetched and kept.
    pub inbound: bool,
    /// Agents' attachments go out with replies.
    pub outbound: bool,
    /// What the provider does not carry, and why, in its own terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

impl MediaSupport {
    pub const NONE: Self =
        Self { inbound: false, outbound: false, note: Some("this provider carries no media (MMS)") };
    pub const BOTH: Self = Self { inbound: true, outbound: true, note: None };

    /// Why an agent's attachment cannot go out on this provider.
    pub fn outbound_refusal(&self) -> &'static str {
        self.note.unwrap_or("this provider sends no media (MMS)")
    }
}

/// A webhook as it arrived, before any parsing.
#[derive(Clone, Debug)]
pub struct WebhookRequest<'a> {
    pub method: &'a str,
    /// The full public URL the provider called, query string included (Twilio and Vonage sign over it).
    pub url: &'a str,
    /// Header names lower-cased.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The URL's query string (after `?`, before any `#`), empty when there is none.
    pub fn query(&self) -> &'a str {
        let url: &'a str = self.url;
        let without_fragment = url.split('#').next().unwrap_or_default();
        without_fragment.split_once('?').map(|(_, q)| q).unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or bad signature: HTTP 401, and the reason goes to the log.
    #[error("signature check failed: {0}")]
    Unauthorized(String),
    /// The body is not what the provider sends: HTTP 400 with the reason.
    #[error("malformed webhook: {0}")]
    Malformed(String),
    /// The provider never calls with this HTTP method: HTTP 405.
    #[error("method {0} is not allowed on this webhook")]
    MethodNotAllowed(String),
    /// Authentic, but a step it needs failed for now (SNS: the signing certificate or the subscription
    /// confirmation could not be fetched): HTTP 503, so the provider delivers it again later.
    #[error("webhook could not be handled now: {0}")]
    Unavailable(String),
}

/// A captured webhook and what to check it with, for `smsdesk webhook verify`.
#[derive(Clone, Debug)]
pub struct SignatureCheck<'a> {
    pub request: WebhookRequest<'a>,
    /// The secret the provider signs with (auth token, API key, signature secret, Event Grid secret).
    pub secret: Option<&'a str>,
    /// Vonage's signature method (`md5hash`, `md5`, `sha1`, `sha256`, `sha512`).
    pub signature_method: Option<&'a str>,
    /// The signing certificate (PEM), given offline (SNS).
    pub certificate: Option<&'a [u8]>,
    /// For staleness and expiry notes only; never part of the verdict.
    pub now: OffsetDateTime,
}

/// What a signature check looked at. `valid` is the signature's verdict alone; a stale timestamp or an
/// expired certificate goes in `notes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureReport {
    pub valid: bool,
    /// What was checked, in order: strings signed, URL variants tried, what matched.
    pub checked: Vec<String>,
    /// Beside the verdict: stale timestamps, expired certificates, missing inputs.
    pub notes: Vec<String>,
}

/// The HTTP answer a provider expects from its webhook (Twilio: an empty TwiML `<Response/>`; Event Grid:
/// the validation handshake; SNS: an empty 200 after the subscription is confirmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: u16,
    /// Most answers are constants (TwiML's empty response): borrowed, they are never copied on the way out.
    pub content_type: std::borrow::Cow<'static, str>,
    pub body: std::borrow::Cow<'static, str>,
    /// Further response headers a handshake needs (Event Grid's `WebHook-Allowed-Origin`); usually none.
    pub headers: Vec<(&'static str, String)>,
}

/// What a verified webhook amounts to: its events, and the answer the provider expects once they are
/// durable (a text queued, a delivery receipt applied). `reply: None` is the app's standard JSON
/// acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WebhookOutcome {
    pub events: Vec<InboundEvent>,
    pub reply: Option<WebhookReply>,
}

impl WebhookOutcome {
    /// Events acknowledged with the app's standard answer.
    pub fn events(events: Vec<InboundEvent>) -> Self {
        Self { events, reply: None }
    }
}

/// One SMS provider, plugged in. Implemented once per provider module; the app reaches it through
/// [`Providers`] by the provider's name.
#[async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The name in URLs and in the API (`/webhooks/{name}/...`, `"provider": name`).
    fn name(&self) -> &'static str {
        self.kind().as_str()
    }

    /// True for a provider that exists only in the embedded shape (the sandbox).
    fn embedded_only(&self) -> bool {
        false
    }

    /// The admin API's `credentials` object (absent when the request has none) into stored credentials.
    /// Errors name the field (`credentials.api_key`) and the rule it broke.
    fn parse_credentials(&self, input: Option<&serde_json::Value>) -> Result<Credentials, CredentialsError>;

    /// The credentials as reads show them: identifiers kept, secrets replaced by [`credentials::REDACTED`].
    fn redact(&self, credentials: &Credentials) -> serde_json::Value;

    /// Key rotation: `fresh` replaces `old`. A provider that signs its webhooks with the key keeps the old
    /// one verifying webhooks for its grace period, so texts in flight during the change are not refused.
    fn rotate(&self, old: &Credentials, fresh: Credentials, now: OffsetDateTime) -> Credentials {
        let _ = (old, now);
        fresh
    }

    /// The HTTP methods the provider calls its webhook with.
    fn webhook_methods(&self) -> &'static [&'static str] {
        &["POST"]
    }

    /// Verifies a webhook on the raw request (before parsing) and turns it into events and the reply.
    /// The method was checked against [`Provider::webhook_methods`] already.
    fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError>;

    /// As [`Provider::receive_webhook`], for the HTTP handler: a provider whose webhooks need network calls
    /// of their own (SNS: fetching the signing certificate, confirming a subscription) overrides this.
    async fn receive_webhook_online(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        self.receive_webhook(channel, credentials, request, now)
    }

    /// What media the provider carries, each way: shown as `media` in a channel's view (the API and the
    /// console read it) and named in the 422 that refuses an attachment the provider cannot carry.
    fn media_support(&self) -> MediaSupport {
        MediaSupport::NONE
    }

    /// Whether the provider carries media on sends (MMS by public URL). A channel of a provider without
    /// it refuses agents' attachments (422 with [`MediaSupport::note`]).
    fn sends_media(&self) -> bool {
        self.media_support().outbound
    }

    /// The most bytes of media one outbound message may carry, its items together, where the provider limits
    /// the total as well as each item (Twilio: 5 MB per MMS). A reply whose items add up to more is refused
    /// before anything is queued, naming this limit; None: no limit beyond each item's.
    fn media_bytes_per_message(&self) -> Option<u64> {
        None
    }

    /// Whether the provider takes media as objects of the account's own S3 bucket (`s3://bucket/key`, AWS
    /// End User Messaging's `SendMediaMessage`) rather than public links it fetches. Such a provider sends
    /// media only where the media store is that bucket (the AWS shape): [`SendRequest::media_urls`] then
    /// carries the objects' S3 URIs.
    fn media_from_s3(&self) -> bool {
        false
    }

    /// Where the provider serves inbound media for this channel: the origins (`scheme://host[:port]`) a
    /// media URL it announces must start on. Its credentials go to these origins only; empty: the provider
    /// announces no media.
    fn media_origins(&self, channel: &Channel) -> Vec<String> {
        let _ = channel;
        Vec::new()
    }

    /// The `Authorization` header value for fetching this provider's media from [`Provider::media_origins`]
    /// (Twilio: Basic with the account's SID and token), if it needs one. Never sent anywhere else.
    fn media_authorization(&self, credentials: &Credentials) -> Option<secrecy::SecretString> {
        let _ = credentials;
        None
    }

    /// The REST client for one channel.
    fn client(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError>;

    /// Checks a captured webhook's signature offline and says what was checked (`smsdesk webhook verify`).
    fn explain_signature(&self, check: &SignatureCheck<'_>) -> SignatureReport {
        let _ = check;
        SignatureReport {
            valid: false,
            checked: Vec::new(),
            notes: vec![format!("{} webhooks carry no signature to check", self.name())],
        }
    }
}

/// A webhook through a provider: the method check, then the provider's own verification and parsing.
pub fn handle_webhook(
    provider: &dyn Provider,
    channel: &Channel,
    credentials: &Credentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    if !provider.webhook_methods().iter().any(|m| m.eq_ignore_ascii_case(request.method)) {
        return Err(WebhookError::MethodNotAllowed(request.method.to_string()));
    }
    if credentials.provider() != provider.kind() {
        return Err(WebhookError::Unauthorized(format!(
            "the channel's credentials are for {}, not {}",
            credentials.provider(),
            provider.name()
        )));
    }
    provider.receive_webhook(channel, credentials, request, now)
}

/// As [`handle_webhook`], through the provider's online path ([`Provider::receive_webhook_online`]).
pub async fn handle_webhook_online(
    provider: &dyn Provider,
    channel: &Channel,
    credentials: &Credentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<WebhookOutcome, WebhookError> {
    if !provider.webhook_methods().iter().any(|m| m.eq_ignore_ascii_case(request.method)) {
        return Err(WebhookError::MethodNotAllowed(request.method.to_string()));
    }
    if credentials.provider() != provider.kind() {
        return Err(WebhookError::Unauthorized(format!(
            "the channel's credentials are for {}, not {}",
            credentials.provider(),
            provider.name()
        )));
    }
    provider.receive_webhook_online(channel, credentials, request, now).await
}

/// Settings the providers share.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderOptions {
    /// Let URLs a webhook names (SNS's certificate and subscription URLs) be plain `http://` on a loopback
    /// host, for fake providers: `smsdesk dev` and the tests only, as for channels' `base_url`.
    pub allow_loopback_http: bool,
}

/// Why no client could be built for a channel.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("provider {0} is not supported yet")]
    Unsupported(ProviderKind),
    #[error("the channel's credentials are unusable: {0}")]
    Credentials(#[from] CredentialsError),
}

/// The registry of providers, keyed by name. One HTTP client is shared by every provider.
#[derive(Clone)]
pub struct Providers {
    registry: Arc<Vec<Arc<dyn Provider>>>,
}

impl Providers {
    /// Every provider smsdesk has, with default options.
    pub fn new(http: reqwest::Client, outbox: Arc<dyn OutboxStore>, clock: Arc<dyn Clock>) -> Self {
        Self::configured(http, outbox, clock, ProviderOptions::default())
    }

    /// Every provider smsdesk has.
    pub fn configured(
        http: reqwest::Client,
        outbox: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        options: ProviderOptions,
    ) -> Self {
        Self::with(vec![
            Arc::new(telesign::Telesign::new(http.clone())),
            Arc::new(twilio::Twilio::new(http.clone())),
            Arc::new(acs::Acs::new(http.clone())),
            Arc::new(vonage::Vonage::new(http.clone())),
            Arc::new(aws::Aws::new(http, options)),
            Arc::new(sandbox::Sandbox::new(outbox, clock)),
        ])
    }

    /// The providers whose webhooks carry a signature or secret (all but the sandbox), for tools that
    /// check captured webhooks offline (`smsdesk webhook verify`).
    pub fn signing(http: reqwest::Client) -> Self {
        Self::with(vec![
            Arc::new(telesign::Telesign::new(http.clone())),
            Arc::new(twilio::Twilio::new(http.clone())),
            Arc::new(acs::Acs::new(http.clone())),
            Arc::new(vonage::Vonage::new(http.clone())),
            Arc::new(aws::Aws::new(http, ProviderOptions::default())),
        ])
    }

    /// A registry of exactly these providers.
    pub fn with(providers: Vec<Arc<dyn Provider>>) -> Self {
        Self { registry: Arc::new(providers) }
    }

    /// The provider with this name (`"twilio"`), if smsdesk has it.
    pub fn get(&self, name: &str) -> Option<&dyn Provider> {
        self.registry.iter().find(|p| p.name() == name).map(|p| p.as_ref())
    }

    /// The names of the providers smsdesk has, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.registry.iter().map(|p| p.name()).collect()
    }

    pub fn for_channel(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, ClientError> {
        let provider =
            self.get(channel.provider.as_str()).ok_or(ClientError::Unsupported(channel.provider))?;
        Ok(provider.client(channel, credentials)?)
    }

    /// Verifies and parses a webhook to `channel` through its provider.
    pub fn receive_webhook(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let provider = self.get(channel.provider.as_str()).ok_or_else(|| {
            WebhookError::Malformed(format!("provider {} is not supported yet", channel.provider))
        })?;
        handle_webhook(provider, channel, credentials, request, now)
    }

    /// As [`Providers::receive_webhook`], with the network calls a provider's webhooks may need.
    pub async fn receive_webhook_online(
        &self,
        channel: &Channel,
        credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let provider = self.get(channel.provider.as_str()).ok_or_else(|| {
            WebhookError::Malformed(format!("provider {} is not supported yet", channel.provider))
        })?;
        handle_webhook_online(provider, channel, credentials, request, now).await
    }
}
