//! SMS providers behind one trait. Each provider is one module with: its REST client (send, validate),
//! its webhook verification (on the raw bytes, in constant time, before parsing) and its webhook parser
//! (provider JSON/form in, [`InboundEvent`]s out), and a fixture table of real-shaped webhooks.

pub mod http;
pub mod sandbox;
pub mod telesign;

use async_trait::async_trait;
use smsdesk_domain::events::InboundEvent;
use smsdesk_domain::{Channel, MessageId, Phone, ProviderKind};
use smsdesk_ports::{Clock, Credentials, OutboxStore};
use std::sync::Arc;
use time::OffsetDateTime;

/// What the outbound function asks a provider to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendRequest {
    /// Our number (the channel number the conversation came in on).
    pub from: Phone,
    pub to: Phone,
    pub text: String,
    /// Our message id, passed as the provider's external / client reference so receipts can be matched.
    pub external_id: MessageId,
}

/// The provider accepted the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// TeleSign `reference_id`, Twilio SID, ...
    pub provider_message_id: String,
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

/// A webhook as it arrived, before any parsing.
#[derive(Clone, Debug)]
pub struct WebhookRequest<'a> {
    pub method: &'a str,
    /// The full public URL the provider called (Twilio and Vonage sign over it).
    pub url: &'a str,
    /// Header names lower-cased.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl WebhookRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
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
}

/// Verifies a webhook against the channel's credentials and turns it into events (an inbound text, a
/// delivery receipt). An empty list is a webhook we acknowledge and ignore (e.g. an MMS-only event with no
/// text when attachments are off).
pub fn parse_webhook(
    channel: &Channel,
    credentials: &Credentials,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<Vec<InboundEvent>, WebhookError> {
    match (channel.provider, credentials) {
        (ProviderKind::Telesign, Credentials::Telesign(creds)) => {
            telesign::parse_webhook(channel, creds, request, now)
        }
        (ProviderKind::Sandbox, Credentials::Sandbox) => sandbox::parse_webhook(channel, request, now),
        (kind, _) => Err(WebhookError::Malformed(format!("provider {kind} is not supported yet"))),
    }
}

/// Builds what the outbound and validate functions talk to. One HTTP client is shared by every provider.
#[derive(Clone)]
pub struct Providers {
    http: reqwest::Client,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    /// Lets a `[sandbox:flaky]` retry see the first failure, as a provider is built per send.
    sandbox_flaky: sandbox::FlakyMemory,
}

#[derive(Debug, thiserror::Error)]
#[error("provider {0} is not supported yet")]
pub struct UnsupportedProvider(pub ProviderKind);

impl Providers {
    pub fn new(http: reqwest::Client, outbox: Arc<dyn OutboxStore>, clock: Arc<dyn Clock>) -> Self {
        Self { http, outbox, clock, sandbox_flaky: sandbox::FlakyMemory::default() }
    }

    pub fn for_channel(
        &self,
        channel: &Channel,
        credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, UnsupportedProvider> {
        match (channel.provider, credentials) {
            (ProviderKind::Telesign, Credentials::Telesign(creds)) => Ok(Box::new(
                telesign::TelesignClient::new(self.http.clone(), channel.base_url.as_deref(), creds.clone()),
            )),
            (ProviderKind::Sandbox, _) => Ok(Box::new(sandbox::SandboxProvider::with_memory(
                channel.id.clone(),
                self.outbox.clone(),
                self.clock.clone(),
                self.sandbox_flaky.clone(),
            ))),
            (kind, _) => Err(UnsupportedProvider(kind)),
        }
    }
}
