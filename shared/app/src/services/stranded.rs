//! Replies stranded `queued`: the timers find outbound messages still `queued` past
//! [`StrandedPolicy`](smsdesk_domain::stranded::StrandedPolicy)'s windows and either put a new job for them
//! on the outbound queue (their queue message was lost or dead-lettered; a duplicate job is harmless, the
//! send is claimed once) or fail them with a reason the agent sees in the transcript.

use crate::App;
use smsdesk_domain::events::OutboundJob;
use smsdesk_domain::stranded::StrandedAction;
use smsdesk_domain::*;
use smsdesk_ports::{PortError, PortResult, QueueKind, QueueMessage, SendClaim, StatusUpdate};

/// Replies looked at per sweep.
const BATCH: usize = 100;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub requeued: usize,
    pub failed: usize,
}

pub async fn sweep(app: &App) -> PortResult<Swept> {
    let now = app.clock.now();
    let policy = app.config.stranded;
    let mut swept = Swept::default();
    for message in app.store.queued_before(now - policy.requeue_after, BATCH).await? {
        match policy.decide(now, message.created_at, message.updated_at) {
            StrandedAction::Leave => {}
            StrandedAction::Requeue => {
                requeue(app, &message).await?;
                swept.requeued += 1;
            }
            StrandedAction::Fail(reason) => {
                if fail(app, &message, reason).await? {
                    swept.failed += 1;
                }
            }
        }
    }
    Ok(swept)
}

/// A new job for the message, deduplicated per requeue window (so sweeps in one window queue it once).
async fn requeue(app: &App, message: &Message) -> PortResult<()> {
    let job =
        OutboundJob { message_id: message.id.clone(), conversation_id: message.conversation_id.clone() };
    let body = serde_json::to_string(&job).map_err(|e| PortError::Backend(e.to_string()))?;
    let window = app.config.stranded.requeue_after.as_millis().max(1);
    let slot = u128::try_from(app.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0) / window;
    let dedupe_id = format!("{}:sweep:{slot}", job.dedupe_key());
    tracing::warn!(message_id = %message.id, "reply stranded queued: queued again");
    app.queue
        .send(
            QueueKind::Outbound,
            QueueMessage { body, group: Some(job.group()), dedupe_id: Some(dedupe_id) },
        )
        .await
}

/// Fails the message, but only under the send claim: a sender in the middle of a provider call is never
/// contradicted (the next sweep looks again). True when it was failed here.
async fn fail(app: &App, message: &Message, reason: String) -> PortResult<bool> {
    let now = app.clock.now();
    match app.store.claim_send(&message.id, now, app.config.send_lease).await? {
        SendClaim::Claimed(_) => {}
        // An earlier sender took the claim and never settled it: it may have reached the provider, so the
        // reply becomes `unknown` (the agent decides whether to resend), never `failed`.
        SendClaim::Abandoned(_) => {
            crate::services::outbound::unknown(app, &message.id, "its sender stopped mid-send").await?;
            return Ok(true);
        }
        SendClaim::Held | SendClaim::NotQueued => return Ok(false),
    }
    tracing::warn!(message_id = %message.id, %reason, "reply stranded queued: failed");
    let update = StatusUpdate {
        status: MessageStatus::Failed,
        provider_message_id: None,
        error: Some(reason),
        at: now,
    };
    Ok(app.store.advance_status(&message.id, &update).await?.is_some())
}
