//! The sandbox provider of the embedded shape: sends land in an outbox that demos and tests read back, and
//! "inbound texts" are plain JSON posted to its webhook. Markers in a text make it fail on purpose, so a demo
//! can show a permanent failure (`[sandbox:fail]`), a retried one (`[sandbox:flaky]`) or an opt-out known
//! only to the provider (`[sandbox:optout]`). A delivery report is JSON posted to its webhook too
//! (`{"receipt": {"id", "status", "error"?}}`), so a demo or a test can show a text delivered or lost.

use crate::credentials::CredentialsError;
use crate::{
    Provider, SendError, SendReceipt, SendRequest, SmsProvider, Validation, WebhookError, WebhookOutcome,
    WebhookRequest,
};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use smsdesk_domain::events::{DeliveryReceipt, InboundEvent, InboundMessage};
use smsdesk_domain::{Channel, ChannelId, MessageStatus, OutboxEntry, Phone, ProviderKind};
use smsdesk_ports::{Clock, Credentials, OutboxStore};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// A text containing this fails for good.
pub const FAIL_MARKER: &str = "[sandbox:fail]";
/// A text containing this is refused as if the customer had opted out at the provider.
pub const OPTOUT_MARKER: &str = "[sandbox:optout]";
/// A text containing this fails once (per message id), then goes through.
pub const FLAKY_MARKER: &str = "[sandbox:flaky]";
/// The reason a `[sandbox:fail]` send is refused with.
pub const FAIL_REASON: &str = "sandbox: rejected by request";
/// The prefix of the sandbox's provider message ids (and outbox entry ids).
pub const ID_PREFIX: &str = "sbx_";

/// Past this many remembered flaky sends the memory starts over; it only has to outlive a retry or two.
const FLAKY_MEMORY_LIMIT: usize = 4096;

/// The sandbox plug-in (embedded shape only): no credentials, JSON texts on its webhook, sends to the outbox.
pub struct Sandbox {
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    /// Lets a `[sandbox:flaky]` retry see the first failure, as a client is built per send.
    flaky: FlakyMemory,
}

impl Sandbox {
    pub fn new(outbox: Arc<dyn OutboxStore>, clock: Arc<dyn Clock>) -> Self {
        Self { outbox, clock, flaky: FlakyMemory::default() }
    }
}

impl Provider for Sandbox {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    fn embedded_only(&self) -> bool {
        true
    }

    /// The sandbox has no secret: no credentials, or any object without nulls, is fine (`null` is refused as
    /// for every provider: [`crate::credentials::input_object`]).
    fn parse_credentials(&self, input: Option<&Value>) -> Result<Credentials, CredentialsError> {
        match input {
            None => Ok(Credentials::empty(ProviderKind::Sandbox)),
            Some(_) => {
                crate::credentials::input_object(input).map(|_| Credentials::empty(ProviderKind::Sandbox))
            }
        }
    }

    fn redact(&self, _credentials: &Credentials) -> Value {
        Value::Object(Default::default())
    }

    fn receive_webhook(
        &self,
        channel: &Channel,
        _credentials: &Credentials,
        request: &WebhookRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        parse_webhook(channel, request, now).map(WebhookOutcome::events)
    }

    fn client(
        &self,
        channel: &Channel,
        _credentials: &Credentials,
    ) -> Result<Box<dyn SmsProvider>, CredentialsError> {
        Ok(Box::new(SandboxProvider::with_memory(
            channel.id.clone(),
            self.outbox.clone(),
            self.clock.clone(),
            self.flaky.clone(),
        )))
    }
}

/// Which `[sandbox:flaky]` messages already failed once. Shared by every [`SandboxProvider`] built from the
/// same [`Sandbox`] plug-in, since a provider is built per send and the retry must see the first failure.
#[derive(Clone, Debug, Default)]
pub struct FlakyMemory(Arc<Mutex<HashSet<String>>>);

impl FlakyMemory {
    /// True the first time an id is seen (that send fails), false afterwards.
    fn first_attempt(&self, external_id: &str) -> bool {
        // A poisoned lock only means another send panicked mid-insert; the set itself is still usable.
        let mut seen = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(external_id) {
            return false;
        }
        if seen.len() >= FLAKY_MEMORY_LIMIT {
            seen.clear();
        }
        seen.insert(external_id.to_string())
    }
}

pub struct SandboxProvider {
    channel_id: ChannelId,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    flaky: FlakyMemory,
}

impl SandboxProvider {
    /// A sandbox with its own memory of flaky sends.
    pub fn new(channel_id: ChannelId, outbox: Arc<dyn OutboxStore>, clock: Arc<dyn Clock>) -> Self {
        Self::with_memory(channel_id, outbox, clock, FlakyMemory::default())
    }

    /// A sandbox sharing its memory of flaky sends with others (see [`FlakyMemory`]).
    pub fn with_memory(
        channel_id: ChannelId,
        outbox: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        flaky: FlakyMemory,
    ) -> Self {
        Self { channel_id, outbox, clock, flaky }
    }
}

#[async_trait]
impl SmsProvider for SandboxProvider {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        if request.text.contains(FAIL_MARKER) {
            return Err(SendError::Permanent { reason: FAIL_REASON.into() });
        }
        if request.text.contains(OPTOUT_MARKER) {
            return Err(SendError::OptedOut { reason: "sandbox: the customer opted out, by request".into() });
        }
        if request.text.contains(FLAKY_MARKER) && self.flaky.first_attempt(request.external_id.as_str()) {
            return Err(SendError::Transient { reason: "sandbox: temporary failure by request".into() });
        }
        let id = format!("{ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let entry = OutboxEntry {
            id: id.clone(),
            channel_id: self.channel_id.clone(),
            from: request.from.clone(),
            to: request.to.clone(),
            text: request.text.clone(),
            external_id: Some(request.external_id.to_string()),
            at: self.clock.now(),
        };
        self.outbox
            .record_outbox(&entry)
            .await
            .map_err(|e| SendError::Transient { reason: format!("sandbox: cannot record the send: {e}") })?;
        Ok(SendReceipt::one(id))
    }

    async fn validate(&self) -> Validation {
        Validation::Valid
    }
}

/// What the sandbox webhook takes: a customer's text, as a demo or a test posts it.
/// Unknown fields are ignored, so the agent API can forward its own request body (`channel_id` included).
#[derive(Deserialize)]
struct SandboxInbound {
    id: Option<String>,
    from: String,
    to: String,
    text: String,
}

/// What the sandbox webhook takes as a delivery report of a text it sent: `id` is the sandbox's message id
/// (the outbox entry's, `sbx_...`).
#[derive(Deserialize)]
struct SandboxReceipt {
    receipt: ReceiptFields,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptFields {
    id: String,
    status: String,
    error: Option<String>,
}

/// The statuses a sandbox delivery report may carry.
const RECEIPT_STATUSES: [(&str, MessageStatus); 4] = [
    ("sent", MessageStatus::Sent),
    ("delivered", MessageStatus::Delivered),
    ("undelivered", MessageStatus::Undelivered),
    ("failed", MessageStatus::Failed),
];

/// Turns a sandbox webhook into an inbound text (`{"id"?, "from", "to", "text"}`) or a delivery report
/// (`{"receipt": {"id", "status", "error"?}}`). Authentication is the HTTP layer's job (the admin token), as
/// the sandbox has no secret to sign with.
pub fn parse_webhook(
    channel: &Channel,
    request: &WebhookRequest<'_>,
    now: OffsetDateTime,
) -> Result<Vec<InboundEvent>, WebhookError> {
    // Read once; a body with a `receipt` is a delivery report, and its errors say so.
    let body: serde_json::Value = serde_json::from_slice(request.body)
        .map_err(|e| WebhookError::Malformed(format!("body must be a JSON text or delivery report: {e}")))?;
    if body.get("receipt").is_some() {
        let SandboxReceipt { receipt } = serde_json::from_value(body).map_err(|e| {
            WebhookError::Malformed(format!(
                "a delivery report must be {{\"receipt\": {{\"id\", \"status\", \"error\"?}}}}: {e}"
            ))
        })?;
        return parse_receipt(channel, receipt, now).map(|r| vec![InboundEvent::Receipt(r)]);
    }
    let body: SandboxInbound = serde_json::from_value(body).map_err(|e| {
        WebhookError::Malformed(format!("body must be {{\"id\"?, \"from\", \"to\", \"text\"}}: {e}"))
    })?;
    let from = Phone::parse(&body.from).map_err(|e| WebhookError::Malformed(format!("from {e}")))?;
    let to = Phone::parse(&body.to).map_err(|e| WebhookError::Malformed(format!("to {e}")))?;
    if !channel.takes_webhooks_for(&to, now) {
        return Err(WebhookError::Malformed(format!("number {} is not on this channel", to.digits())));
    }
    let provider_message_id = match body.id.map(|id| id.trim().to_string()) {
        Some(id) if !id.is_empty() => id,
        _ => uuid::Uuid::new_v4().to_string(),
    };
    Ok(vec![InboundEvent::Message(InboundMessage {
        channel_id: channel.id.clone(),
        provider_message_id,
        from,
        to,
        text: body.text,
        received_at: now,
        part: None,
        media: Vec::new(),
    })])
}

fn parse_receipt(
    channel: &Channel,
    receipt: ReceiptFields,
    now: OffsetDateTime,
) -> Result<DeliveryReceipt, WebhookError> {
    let id = receipt.id.trim();
    if id.is_empty() {
        return Err(WebhookError::Malformed("receipt.id must be the sandbox's message id".into()));
    }
    let Some((code, status)) = RECEIPT_STATUSES.iter().find(|(name, _)| *name == receipt.status) else {
        return Err(WebhookError::Malformed(format!(
            "receipt.status must be one of {}",
            RECEIPT_STATUSES.map(|(name, _)| name).join(", ")
        )));
    };
    Ok(DeliveryReceipt {
        channel_id: channel.id.clone(),
        provider_message_id: id.to_string(),
        external_id: None,
        status: *status,
        provider_status_code: (*code).to_string(),
        description: receipt.error,
        at: now,
        opted_out: false,
    })
}

#[cfg(test)]
mod tests;
