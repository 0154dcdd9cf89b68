//! Delivery receipts: a provider's report moves one of our outbound messages forward, never backward.
//! Applied by the webhook on arrival (its status write is the durable write before the 2xx), and by the
//! router for a receipt the webhook queued because its message was not known yet.

use crate::App;
use smsdesk_domain::events::DeliveryReceipt;
use smsdesk_domain::*;
use smsdesk_ports::{PortResult, StatusUpdate};

/// What a provider's delivery report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Settled: the message moved forward, or it was already as far or further (a replay, or reports out of
    /// order) and nothing changed.
    Applied,
    /// No message of ours has that reference (yet: the send may not have recorded the provider's id).
    UnknownMessage,
}

/// Moves an outbound message forward on a provider's delivery report (never backward).
pub async fn apply(app: &App, r: &DeliveryReceipt) -> PortResult<Receipt> {
    let by_external = match &r.external_id {
        Some(id) if id.starts_with(MessageId::PREFIX) => {
            app.store.get_message(&MessageId::new(id.clone())).await?
        }
        _ => None,
    };
    let message = match by_external.filter(|m| m.channel_id == r.channel_id) {
        Some(m) => Some(m),
        None => app.store.message_by_provider_id(&r.channel_id, &r.provider_message_id).await?,
    };
    let Some(message) = message else { return Ok(Receipt::UnknownMessage) };
    let error = match r.status {
        MessageStatus::Failed | MessageStatus::Undelivered => Some(match &r.description {
            Some(d) => format!("{} ({})", d, r.provider_status_code),
            None => format!("provider status {}", r.provider_status_code),
        }),
        _ => None,
    };
    let update = StatusUpdate {
        status: r.status,
        provider_message_id: Some(r.provider_message_id.clone()),
        error,
        at: r.at,
    };
    // Decided on the message just read (one read less per receipt); the store checks the move again.
    if app.store.advance_status_from(&message, &update).await?.is_none() {
        tracing::info!(message_id = %message.id, status = %r.status, current = %message.status, "receipt ignored: not forward");
    }
    // The provider refused it because the customer opted out with the provider (a STOP we never saw):
    // recorded, so consent refuses the next send before it reaches the provider (once per message).
    if r.opted_out
        && let Some(conversation) = app.store.get_conversation(&message.conversation_id).await?
    {
        let reason = r.description.as_deref().unwrap_or("the customer opted out at the provider");
        crate::services::consent::provider_opt_out(app, &conversation, &message.id, reason).await?;
    }
    Ok(Receipt::Applied)
}
