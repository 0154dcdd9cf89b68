//! Outbound: an agent's reply is stored `queued` and put on the outbound queue; outbound-send claims it once,
//! checks consent (the one place it is checked), calls the provider from the conversation's number, and
//! records the outcome. Transient failures retry with growing delays; permanent ones fail the message with
//! the provider's reason, visible in the transcript.

use crate::App;
use crate::error::ApiError;
use crate::services::outcome_for;
use async_trait::async_trait;
use axum::http::StatusCode;
use smsdesk_domain::events::OutboundJob;
use smsdesk_domain::retry::RetryDecision;
use smsdesk_domain::segment::analyze;
use smsdesk_domain::*;
use smsdesk_ports::{
    Consumer, Outcome, PortError, PortResult, QueueKind, QueueMessage, Received, StatusUpdate,
};
use smsdesk_providers::{SendError, SendRequest};
use std::sync::Arc;
use std::time::Duration;

/// Stores an outbound message as `queued` and queues it for sending.
pub async fn queue_reply(
    app: &App,
    conversation: &Conversation,
    text: MessageText,
    author: Author,
    agent: Option<&AgentId>,
) -> Result<Message, ApiError> {
    let now = app.clock.now();
    let info = analyze(text.as_str());
    let message = Message {
        id: MessageId::new(app.ids.new_id(MessageId::PREFIX)),
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        direction: Direction::Outbound,
        author,
        agent_id: agent.cloned(),
        text: text.into_string(),
        status: MessageStatus::Queued,
        encoding: info.encoding,
        segments: info.segments,
        provider_message_id: None,
        error: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    };
    app.store.insert_message(&message).await?;
    let job = OutboundJob { message_id: message.id.clone(), conversation_id: conversation.id.clone() };
    let queued = match serde_json::to_string(&job) {
        Ok(body) => {
            app.queue
                .send(
                    QueueKind::Outbound,
                    QueueMessage { body, group: Some(job.group()), dedupe_id: Some(job.dedupe_key()) },
                )
                .await
        }
        Err(e) => Err(PortError::Backend(e.to_string())),
    };
    if let Err(e) = queued {
        // Never leave a `queued` message that nothing will send: fail it visibly, and tell the caller.
        let update = StatusUpdate {
            status: MessageStatus::Failed,
            provider_message_id: None,
            error: Some(format!("could not be queued for sending: {e}")),
            at: now,
        };
        app.store.advance_status(&message.id, &update).await?;
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the reply could not be queued; retry",
        ));
    }
    app.store.touch(&conversation.id, now).await?;
    Ok(message)
}

pub struct OutboundConsumer {
    app: Arc<App>,
}

impl OutboundConsumer {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[async_trait]
impl Consumer for OutboundConsumer {
    async fn consume(&self, message: &Received) -> Outcome {
        let job: OutboundJob = match serde_json::from_str(&message.body) {
            Ok(j) => j,
            Err(e) => return Outcome::Failed(format!("outbound job is not valid JSON: {e}")),
        };
        match send_one(&self.app, &job).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(message = %job.message_id, error = %e, "outbound send failed on storage");
                outcome_for(&e)
            }
        }
    }
}

async fn fail(app: &App, id: &MessageId, reason: String) -> PortResult<Outcome> {
    tracing::warn!(message = %id, %reason, "message failed");
    let update = StatusUpdate {
        status: MessageStatus::Failed,
        provider_message_id: None,
        error: Some(reason),
        at: app.clock.now(),
    };
    app.store.advance_status(id, &update).await?;
    Ok(Outcome::Done)
}

/// Sends one queued message, at most once per claim.
pub async fn send_one(app: &App, job: &OutboundJob) -> PortResult<Outcome> {
    let Some(message) = app.store.get_message(&job.message_id).await? else {
        tracing::warn!(message = %job.message_id, "outbound job for an unknown message; dropped");
        return Ok(Outcome::Done);
    };
    if message.status != MessageStatus::Queued {
        return Ok(Outcome::Done); // already sent or failed: a redelivery changes nothing
    }
    let Some(message) = app.store.claim_send(&message.id, app.clock.now(), app.config.send_lease).await?
    else {
        // Another sender holds a live claim; if it crashed, the claim expires and this delivery tries again.
        return Ok(Outcome::RetryAfter(app.config.send_lease));
    };
    let Some(conversation) = app.store.get_conversation(&message.conversation_id).await? else {
        return fail(app, &message.id, "conversation no longer exists".into()).await;
    };
    if app.store.is_opted_out(&conversation.channel_id, &conversation.customer).await? {
        return fail(app, &message.id, "not sent: the customer opted out (STOP) on this channel".into())
            .await;
    }
    let Some(channel) = app.store.get_channel(&conversation.channel_id).await? else {
        return fail(app, &message.id, "channel no longer exists".into()).await;
    };
    let Some(credentials) = app.secrets.get_credentials(&channel.id).await? else {
        return fail(app, &message.id, "channel has no credentials".into()).await;
    };
    let provider = match app.providers.for_channel(&channel, &credentials) {
        Ok(p) => p,
        Err(e) => return fail(app, &message.id, e.to_string()).await,
    };
    let request = SendRequest {
        from: conversation.channel_number.clone(),
        to: conversation.customer.clone(),
        text: message.text.clone(),
        external_id: message.id.clone(),
        status_callback: Some(crate::services::channels::callback_url(app, &channel)),
    };
    match provider.send(&request).await {
        Ok(receipt) => {
            let update = StatusUpdate {
                status: MessageStatus::Sent,
                provider_message_id: Some(receipt.provider_message_id.clone()),
                error: None,
                at: app.clock.now(),
            };
            app.store.advance_status(&message.id, &update).await?;
            tracing::info!(message = %message.id, reference = %receipt.provider_message_id, "sent");
            Ok(Outcome::Done)
        }
        Err(SendError::Permanent { reason }) => fail(app, &message.id, reason).await,
        Err(SendError::OptedOut { reason }) => {
            // The provider knows the customer opted out (e.g. a STOP we never saw): record it, so consent
            // refuses the next send before it reaches the provider, and fail this one for good.
            app.store.set_opted_out(&channel.id, &conversation.customer, true, app.clock.now()).await?;
            fail(app, &message.id, format!("not sent: the customer opted out at the provider ({reason})"))
                .await
        }
        Err(SendError::Throttled { reason, retry_after }) => {
            retry_later(app, &message, reason, retry_after.unwrap_or_default()).await
        }
        Err(SendError::Transient { reason }) => retry_later(app, &message, reason, Duration::ZERO).await,
    }
}

/// A send that may succeed later: released for another try after the policy's delay (and no sooner than
/// the provider asked), or failed once the attempts run out.
async fn retry_later(
    app: &App,
    message: &Message,
    reason: String,
    at_least: Duration,
) -> PortResult<Outcome> {
    match app.config.retry.after_failure(message.attempts) {
        RetryDecision::RetryAfter(delay) => {
            let delay = delay.max(at_least);
            tracing::info!(message = %message.id, attempt = message.attempts, %reason, ?delay, "transient send error; will retry");
            app.store.release_send(&message.id, &reason, app.clock.now()).await?;
            Ok(Outcome::RetryAfter(delay))
        }
        RetryDecision::GiveUp => {
            fail(app, &message.id, format!("gave up after {} attempts: {reason}", message.attempts)).await
        }
    }
}
