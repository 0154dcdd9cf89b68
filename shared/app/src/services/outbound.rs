//! Outbound: an agent's reply is stored `queued` and put on the outbound queue; outbound-send claims it once,
//! checks consent (the one place it is checked), calls the provider from the conversation's number, and
//! records the outcome. Transient failures retry with growing delays; permanent ones fail the message with
//! the provider's reason, visible in the transcript.

use crate::App;
use crate::error::ApiError;
use crate::services::consent;
use crate::services::outcome_for;
use async_trait::async_trait;
use axum::http::StatusCode;
use smsdesk_domain::automated::AutomatedKind;
use smsdesk_domain::events::OutboundJob;
use smsdesk_domain::pacing::Slot;
use smsdesk_domain::redact::scrub;
use smsdesk_domain::retry::RetryDecision;
use smsdesk_domain::segment::{self, analyze};
use smsdesk_domain::*;
use smsdesk_ports::{
    Consumer, Outcome, PortError, PortResult, QueueKind, QueueMessage, Received, SendClaim, StatusUpdate,
};
use smsdesk_providers::{SendError, SendRequest};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Stores an outbound message as `queued` and queues it for sending.
pub async fn queue_reply(
    app: &App,
    conversation: &Conversation,
    text: MessageText,
    author: Author,
    agent: Option<&AgentId>,
) -> Result<Message, ApiError> {
    let id = MessageId::new(app.ids.new_id(MessageId::PREFIX));
    queue_reply_as(app, id, conversation, text, author, agent, Vec::new()).await
}

/// As [`queue_reply`], under a given id (an `Idempotency-Key`'s, a resend's). When a message with that id
/// exists already (a retried request), that message is the answer; if it is still `queued`, its job is put
/// on the queue again, which sends nothing twice (the queue de-duplicates by message id, the sender claims).
/// `media`: the ids of the media items the reply carries, in order, each attached to this message already
/// (none for a text): the message names them, so it goes out with all of them or not at all.
pub async fn queue_reply_as(
    app: &App,
    id: MessageId,
    conversation: &Conversation,
    text: MessageText,
    author: Author,
    agent: Option<&AgentId>,
    media: Vec<String>,
) -> Result<Message, ApiError> {
    queue_message(app, id, conversation, text, author, agent, None, media).await
}

/// A system message that is no automated message (a menu, a bot's reply, a queue's expiry message, the
/// attachments-refused text) under `id`. To a customer who opted out it is not sent: it stays in the
/// transcript, failed with the reason, as a refused reply does, and that is no error for the caller (the
/// router, the timers) to retry.
pub async fn queue_system(
    app: &App,
    id: MessageId,
    conversation: &Conversation,
    text: MessageText,
) -> Result<Message, ApiError> {
    match store_and_queue(app, id, conversation, text, Author::System, None, None, Vec::new()).await? {
        Stored::Queued(message) => Ok(message),
        Stored::Refused(message, _) => {
            tracing::info!(message_id = %message.id, "system message not sent: the customer opted out");
            Ok(message)
        }
    }
}

/// An automated message (opt-in notice, confirmation, greeting, ...): a system message under `id`.
pub async fn queue_automated(
    app: &App,
    id: MessageId,
    conversation: &Conversation,
    text: MessageText,
    kind: AutomatedKind,
) -> Result<Message, ApiError> {
    queue_message(app, id, conversation, text, Author::System, None, Some(kind), Vec::new()).await
}

/// The text as it is sent and recorded: with the channel's smart encoding, look-alikes replaced (unless
/// that would take it over the cap; [`segment::as_sent`], which the preview asks too).
fn as_sent(channel: Option<&Channel>, text: MessageText) -> String {
    let smart = channel.is_some_and(|c| c.messaging.smart_encoding);
    segment::as_sent(text.as_str(), smart).0
}

/// Stores and queues a message; a customer who opted out is answered `409 opted_out` (the message stays in
/// the transcript, failed with the reason).
#[allow(clippy::too_many_arguments)]
async fn queue_message(
    app: &App,
    id: MessageId,
    conversation: &Conversation,
    text: MessageText,
    author: Author,
    agent: Option<&AgentId>,
    automated: Option<AutomatedKind>,
    media: Vec<String>,
) -> Result<Message, ApiError> {
    match store_and_queue(app, id, conversation, text, author, agent, automated, media).await? {
        Stored::Queued(message) => Ok(message),
        Stored::Refused(message, reason) => {
            tracing::info!(message_id = %message.id, "reply refused: the customer opted out");
            Err(ApiError::conflict("opted_out", format!("message '{}' {reason}", message.id)))
        }
    }
}

/// What [`store_and_queue`] did with a message.
enum Stored {
    /// Stored `queued` and put on the outbound queue (or found so: a retried request).
    Queued(Message),
    /// Stored `failed` with the reason, not queued: the customer opted out.
    Refused(Message, String),
}

#[allow(clippy::too_many_arguments)]
async fn store_and_queue(
    app: &App,
    id: MessageId,
    conversation: &Conversation,
    text: MessageText,
    author: Author,
    agent: Option<&AgentId>,
    automated: Option<AutomatedKind>,
    media: Vec<String>,
) -> Result<Stored, ApiError> {
    if let Some(existing) = app.store.get_message(&id).await? {
        // A retry of a request refused for the customer's opt-out is refused again (409), as the first was.
        if let Some(reason) = consent::refused(&existing).map(str::to_string) {
            return Ok(Stored::Refused(existing, reason));
        }
        return resume(app, existing).await.map(Stored::Queued);
    }
    let now = app.clock.now();
    let channel = app.store.channel_settings(&conversation.channel_id).await?;
    let text = as_sent(channel.as_ref(), text);
    let info = analyze(&text);
    // A customer who opted out is not texted: the agent's text is kept in the transcript, failed with the
    // reason, and the caller is told (the same check outbound-send makes right before the provider).
    let refused = match automated {
        None => consent::refusal(app, &conversation.channel_number, &conversation.customer, None).await?,
        Some(_) => None,
    };
    let message = Message {
        id,
        conversation_id: conversation.id.clone(),
        channel_id: conversation.channel_id.clone(),
        direction: Direction::Outbound,
        author,
        agent_id: agent.cloned(),
        text,
        status: if refused.is_some() { MessageStatus::Failed } else { MessageStatus::Queued },
        encoding: info.encoding,
        segments: info.segments,
        provider_message_id: None,
        error: refused.clone(),
        attempts: 0,
        automated,
        over_limit: false,
        internal: false,
        media,
        created_at: now,
        updated_at: now,
    };
    if !app.store.insert_message(&message).await? {
        // A concurrent retry of the same request stored it first.
        let existing = app.store.get_message(&message.id).await?;
        return resume(app, existing.unwrap_or(message)).await.map(Stored::Queued);
    }
    if let Some(reason) = refused {
        return Ok(Stored::Refused(message, reason));
    }
    if let Err(e) = enqueue(app, &message).await {
        // A system message (a greeting, a confirmation, a menu, the opt-in notice) is said by the router or
        // the timers, which try again on an error: it stays `queued`, and the retry finds it and queues it
        // (`resume`; the stranded-reply sweep sends it otherwise). Failed here, it would never be said, and
        // the opt-in notice would be counted as sent.
        if author == Author::System {
            tracing::warn!(message_id = %message.id, error = %e, "system message stored but not queued; its caller tries again");
            return Err(e.into());
        }
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
    // An agent's reply marks the conversation answered in the touch's own write, which says whether it was
    // the first (the time-to-first-reply metric) without reading the transcript. The reply is stored and
    // queued by now and will go out: a failed touch is logged, not answered as a failed reply (a caller
    // told so would send it again, and the customer would get it twice).
    let touched = if author == Author::Agent {
        app.store.touch_agent_reply(&conversation.id, now).await.map(|first| {
            if first {
                crate::services::telemetry::first_reply(app, conversation, now);
            }
        })
    } else if smsdesk_domain::lifecycle::counts_as_activity(author) {
        app.store.touch(&conversation.id, now).await
    } else {
        Ok(())
    };
    if let Err(e) = touched {
        tracing::warn!(message_id = %message.id, conversation = %conversation.id, error = %e, "reply queued; moving the conversation's activity failed");
    }
    Ok(Stored::Queued(message))
}

/// Puts a message's send job on the outbound queue.
async fn enqueue(app: &App, message: &Message) -> PortResult<()> {
    let job =
        OutboundJob { message_id: message.id.clone(), conversation_id: message.conversation_id.clone() };
    let body = serde_json::to_string(&job).map_err(|e| PortError::Backend(e.to_string()))?;
    let queued = QueueMessage { body, group: Some(job.group()), dedupe_id: Some(job.dedupe_key()) };
    app.queue.send(QueueKind::Outbound, queued).await
}

/// The answer to a retried request: the message it created, queued again while it is still `queued`.
pub async fn resume(app: &App, existing: Message) -> Result<Message, ApiError> {
    if existing.status == MessageStatus::Queued && existing.direction == Direction::Outbound {
        enqueue(app, &existing).await?;
    }
    Ok(existing)
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
        // Every log line of the send names its conversation and message (X-Ray and log searches follow it).
        let span =
            tracing::info_span!("send", conversation_id = %job.conversation_id, message_id = %job.message_id);
        match send_one(&self.app, &job).instrument(span).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(message_id = %job.message_id, error = %e, "outbound send failed on storage");
                outcome_for(&e, message, QueueKind::Outbound)
            }
        }
    }
}

/// How often a write that records a send's outcome is tried in place before the caller gives up (the
/// provider has answered; losing that answer would leave the message `queued` under an expired claim).
const RECORD_ATTEMPTS: u32 = 4;

/// Records a send's outcome, trying again a few times at once on a storage error (100, 200, 400 ms apart).
async fn record(app: &App, id: &MessageId, update: &StatusUpdate) -> PortResult<()> {
    record_from(app, id, None, update).await
}

/// As [`record`], deciding the first try on `known`, the message as the caller has just read it (one
/// read less; the store still checks the move against what is stored).
async fn record_from(
    app: &App,
    id: &MessageId,
    known: Option<&Message>,
    update: &StatusUpdate,
) -> PortResult<()> {
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=RECORD_ATTEMPTS {
        let moved = match known.filter(|_| attempt == 1) {
            Some(current) => app.store.advance_status_from(current, update).await,
            None => app.store.advance_status(id, update).await,
        };
        match moved {
            Ok(_) => return Ok(()),
            Err(e) if attempt < RECORD_ATTEMPTS && e.is_retryable() => {
                tracing::warn!(message_id = %id, status = %update.status, error = %e, "recording the send failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn fail(app: &App, id: &MessageId, reason: String) -> PortResult<Outcome> {
    tracing::warn!(message_id = %id, reason = %scrub(&reason), "message failed");
    let update = StatusUpdate {
        status: MessageStatus::Failed,
        provider_message_id: None,
        error: Some(reason),
        at: app.clock.now(),
    };
    record(app, id, &update).await?;
    Ok(Outcome::Done)
}

/// Why a message whose claim was never settled is `unknown`.
const ABANDONED: &str = "an earlier attempt stopped after the request may have gone out";

/// Fails a queued message for a reason found before its send (its conversation, channel or credentials
/// gone, consent, its media): under the send's claim, so that a sender already calling the provider for it
/// (this job delivered again while that call is out) is never overruled. Held: left to that sender, looked
/// at again after the lease; no longer queued: nothing to do.
async fn refuse(app: &App, id: &MessageId, reason: String) -> PortResult<Outcome> {
    match app.store.claim_send(id, app.clock.now(), app.config.send_lease).await? {
        SendClaim::Claimed(_) => fail(app, id, reason).await,
        SendClaim::NotQueued => Ok(Outcome::Done),
        SendClaim::Held => Ok(Outcome::RetryAfter(app.config.send_lease)),
        SendClaim::Abandoned(m) => unknown(app, &m.id, ABANDONED).await,
    }
}

/// The agent sees this on a message whose send may have reached the provider; it is not sent again unless
/// the agent resends it.
pub const UNKNOWN_OUTCOME: &str = "the provider may have accepted this; not resent automatically";

/// Marks a message `unknown`: the provider may have accepted it, so it is never sent again on its own.
pub(crate) async fn unknown(app: &App, id: &MessageId, why: &str) -> PortResult<Outcome> {
    tracing::warn!(message_id = %id, why = %scrub(why), "send outcome unknown; not resent");
    let update = StatusUpdate {
        status: MessageStatus::Unknown,
        provider_message_id: None,
        error: Some(format!("{UNKNOWN_OUTCOME} ({why})")),
        at: app.clock.now(),
    };
    record(app, id, &update).await?;
    Ok(Outcome::Done)
}

/// Sends one queued message, at most once: a send that may have reached the provider is never made again
/// (the message becomes `unknown`), unless the provider de-duplicates resends of the same message.
pub async fn send_one(app: &App, job: &OutboundJob) -> PortResult<Outcome> {
    let Some(message) = app.store.get_message(&job.message_id).await? else {
        tracing::warn!(message_id = %job.message_id, "outbound job for an unknown message; dropped");
        return Ok(Outcome::Done);
    };
    if message.status != MessageStatus::Queued {
        return Ok(Outcome::Done); // already sent, failed or unknown: a redelivery changes nothing
    }
    let Some(conversation) = app.store.get_conversation(&message.conversation_id).await? else {
        return refuse(app, &message.id, "conversation no longer exists".into()).await;
    };
    let Some(channel) = app.store.channel_settings(&conversation.channel_id).await? else {
        return refuse(app, &message.id, "channel no longer exists".into()).await;
    };
    // The channel's credentials from this process's short-lived copy (Secrets Manager is billed per read;
    // issue 12.4), read again once below when the provider refuses them (a key rotated elsewhere).
    let Some(credentials) = app.webhook_keys.get(app.secrets.as_ref(), &channel.id, app.clock.now()).await?
    else {
        return refuse(app, &message.id, "channel has no credentials".into()).await;
    };
    let provider = match app.providers.for_channel(&channel, &credentials) {
        Ok(p) => p,
        Err(e) => return refuse(app, &message.id, e.to_string()).await,
    };
    // Pacing (issue 9.10): the number's next send slot, shared by every sender; a slot further out than
    // the configured wait sends the message back to its queue until it is near.
    let rate = channel.number(&conversation.channel_number).map_or_else(
        // A number taken off its channel keeps its conversations; pace it as the slowest type.
        || NumberType::Geo.default_send_rate(),
        ChannelNumber::send_rate,
    );
    let interval = smsdesk_domain::pacing::interval(rate);
    let now = app.clock.now();
    match app
        .store
        .reserve_send_slot(&conversation.channel_number, interval, app.config.pacing_wait, now)
        .await?
    {
        Slot::Granted { wait, .. } if !wait.is_zero() => tokio::time::sleep(wait).await,
        Slot::Granted { .. } => {}
        Slot::Busy { retry_after } => {
            tracing::info!(message_id = %message.id, ?retry_after, "the number's send rate is used up; sending later");
            return Ok(Outcome::RetryAfter(retry_after));
        }
    }
    // The one consent check, right before the provider (every provider, every author): after the wait for
    // the send slot, so that a STOP recorded while this reply waited for its number's pace stops it.
    if let Some(reason) =
        consent::refusal(app, &conversation.channel_number, &conversation.customer, message.automated).await?
    {
        return refuse(app, &message.id, reason).await;
    }
    // Links to the message's media, made before the claim: nothing after the claim may fail but the call.
    let media_urls = match crate::services::media::send_links(app, &channel, &message).await? {
        Ok(links) => links,
        Err(reason) => return refuse(app, &message.id, reason).await,
    };
    // The claim comes last, right before the call: a claim that is never released nor settled means the
    // call may have gone out.
    let message = match app.store.claim_send(&message.id, app.clock.now(), app.config.send_lease).await? {
        SendClaim::Claimed(m) => m,
        SendClaim::NotQueued => return Ok(Outcome::Done),
        // Another sender is at it; if it crashed, its claim is abandoned when this delivery comes back.
        SendClaim::Held => return Ok(Outcome::RetryAfter(app.config.send_lease)),
        SendClaim::Abandoned(m) => return unknown(app, &m.id, ABANDONED).await,
    };
    let request = SendRequest {
        from: conversation.channel_number.clone(),
        to: conversation.customer.clone(),
        text: message.text.clone(),
        external_id: message.id.clone(),
        created_at: message.created_at,
        status_callback: Some(crate::services::channels::callback_url(app, &channel)),
        media_urls,
    };
    crate::services::telemetry::send_attempt(app, channel.provider);
    // The provider's API call is a span of its own (an X-Ray subsegment in AWS: the remote call).
    let call = || tracing::info_span!("provider", provider = %channel.provider);
    let mut sent = provider.send(&request).instrument(call()).await;
    if matches!(sent, Err(SendError::Unauthorized { .. })) {
        // The copy in memory may predate a key rotation; the refusal sent nothing, so one more call with
        // the stored credentials cannot reach the customer twice. Nothing here may fail the attempt (the
        // claim is held): a failed read makes the refusal a transient failure (released, tried again later).
        match app.webhook_keys.reread(app.secrets.as_ref(), &channel.id, app.clock.now()).await {
            Ok(Some(fresh)) => {
                if let Ok(renewed) = app.providers.for_channel(&channel, &fresh) {
                    tracing::info!(message_id = %message.id, "credentials refused; sending again with the stored ones");
                    sent = renewed.send(&request).instrument(call()).await;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(message_id = %message.id, error = %e, "credentials refused; reading the stored ones failed");
                sent = Err(SendError::Transient {
                    reason: format!("credentials refused, and reading the stored ones failed: {e}"),
                });
            }
        }
    }
    crate::services::telemetry::send_outcome(app, &channel.id, channel.provider, &sent);
    let (reason, safe_to_retry, at_least) = match sent {
        Ok(receipt) => {
            let update = StatusUpdate {
                status: MessageStatus::Sent,
                provider_message_id: Some(receipt.provider_message_id.clone()),
                error: None,
                at: app.clock.now(),
            };
            if let Err(e) = record_from(app, &message.id, Some(&message), &update).await {
                // The customer has the text; the claim stays, so a redelivery marks it `unknown` rather than
                // sending it again, and the provider's delivery report (by our id) can still settle it.
                tracing::error!(message_id = %message.id, reference = %receipt.provider_message_id, error = %e, "sent, but recording it failed");
                return Err(e);
            }
            tracing::info!(message_id = %message.id, reference = %receipt.provider_message_id, "sent");
            return Ok(Outcome::Done);
        }
        Err(SendError::Permanent { reason } | SendError::Unauthorized { reason }) => {
            return fail(app, &message.id, reason).await;
        }
        Err(SendError::OptedOut { reason }) => {
            // The provider knows the customer opted out (e.g. a STOP we never saw): record it, so consent
            // refuses the next send before it reaches the provider, and fail this one for good.
            consent::provider_opt_out(app, &conversation, &message.id, &reason).await?;
            let why = format!("not sent: the customer opted out at the provider ({reason})");
            return fail(app, &message.id, why).await;
        }
        Err(SendError::Throttled { reason, retry_after }) => (reason, true, retry_after.unwrap_or_default()),
        Err(SendError::Transient { reason }) => (reason, true, Duration::ZERO),
        Err(SendError::Unknown { reason }) => (reason, provider.deduplicates_resends(), Duration::ZERO),
    };
    if !safe_to_retry {
        return unknown(app, &message.id, &reason).await;
    }
    match app.config.retry.after_failure(message.attempts) {
        RetryDecision::RetryAfter(delay) => {
            // No sooner than the provider asked (Retry-After).
            let delay = delay.max(at_least);
            tracing::info!(message_id = %message.id, attempt = message.attempts, reason = %scrub(&reason), ?delay, "transient send error; will retry");
            release(app, &message.id, &reason).await?;
            Ok(Outcome::RetryAfter(delay))
        }
        RetryDecision::GiveUp => {
            fail(app, &message.id, format!("gave up after {} attempts: {reason}", message.attempts)).await
        }
    }
}

/// Drops the claim after a failure that sent nothing, trying again in place on a storage error (a claim
/// left behind would make the next delivery take the message for `unknown`).
async fn release(app: &App, id: &MessageId, reason: &str) -> PortResult<()> {
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=RECORD_ATTEMPTS {
        match app.store.release_send(id, reason, app.clock.now()).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < RECORD_ATTEMPTS && e.is_retryable() => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
