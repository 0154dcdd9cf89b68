//! Offers (issue 11.4): assignment offers a conversation to an agent (unless its queue auto-accepts); the
//! agent accepts (`POST /v1/conversations/{id}/accept`) or declines (`/decline`); the timers let an offer
//! past its queue's refusal timeout expire. A declined or expired offer goes back in line (its place kept)
//! for another agent; an agent who misses the queue's `max_missed_offers` in a row is set away.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::{assignment, conversations};
use smsdesk_domain::offer::{self, Refusal};
use smsdesk_domain::{AgentId, Conversation, ConversationId, ConversationState, Presence};
use smsdesk_ports::PortResult;

/// The offered conversation `id`, if it is offered to the caller (an agent); otherwise the refusal.
async fn offered_to_caller(app: &App, who: &Principal, id: &str) -> ApiResult<(Conversation, AgentId)> {
    let Some(agent) = who.agent_id().cloned() else {
        return Err(ApiError::forbidden(
            "only the agent a conversation is offered to accepts or declines it",
        ));
    };
    let conversation = conversations::visible(app, who, id).await?;
    if conversation.state != ConversationState::Offered || conversation.agent_id.as_ref() != Some(&agent) {
        return Err(not_offered(&conversation.id));
    }
    Ok((conversation, agent))
}

fn not_offered(id: &ConversationId) -> ApiError {
    ApiError::conflict("not_offered", format!("conversation '{id}' is not offered to you (any more)"))
}

/// `POST /accept`: the conversation becomes the caller's (`active`); the slot the offer took stays.
pub async fn accept(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let (conversation, agent) = offered_to_caller(app, who, id).await?;
    let now = app.clock.now();
    let Some(accepted) = app.store.accept_offer(&conversation.id, &agent, now).await? else {
        return Err(not_offered(&conversation.id));
    };
    tracing::info!(conversation = %accepted.id, agent = %agent, "offer accepted");
    // The agent as accepting left it (its missed offers reset): its name announces it.
    if let Some(record) = app.store.get_agent(&agent).await? {
        assignment::became_active(app, &accepted, &record, now).await?;
    }
    Ok(accepted)
}

/// `POST /decline`: the conversation goes back in line for another agent; the slot comes back.
pub async fn decline(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let (conversation, agent) = offered_to_caller(app, who, id).await?;
    if crate::services::transfers::offer_refused(app, &conversation, false).await?.is_some() {
        return Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation));
    }
    let Some(declined) =
        app.store.refuse_offer(&conversation.id, &agent, Refusal::Declined, app.clock.now()).await?
    else {
        return Err(not_offered(&conversation.id));
    };
    tracing::info!(conversation = %declined.id, agent = %agent, "offer declined");
    assignment::dispatch_released(app, &declined.queue_id, &agent).await?;
    Ok(app.store.get_conversation(&declined.id).await?.unwrap_or(declined))
}

/// The offer of `conversation` to `agent` ran out: back in line, the agent's miss counted (and the agent set
/// away at the queue's limit), then offered to the next agent. Returns whether this call expired it.
pub async fn expire(app: &App, conversation: &ConversationId, agent: &AgentId) -> PortResult<bool> {
    let now = app.clock.now();
    if let Some(c) = app.store.get_conversation(conversation).await?
        && c.agent_id.as_ref() == Some(agent)
        && c.offer.as_ref().is_some_and(|o| offer::expired(o, now))
        && let Some(failed) = crate::services::transfers::offer_refused(app, &c, true).await?
    {
        return Ok(failed);
    }
    let Some(expired) = app.store.refuse_offer(conversation, agent, Refusal::Missed, now).await? else {
        return Ok(false);
    };
    tracing::info!(conversation = %expired.id, agent = %agent, "offer expired");
    let queue = app.store.get_queue(&expired.queue_id).await?;
    if let Some(a) = app.store.get_agent(agent).await?
        && a.presence == Presence::Available
        && offer::sets_away(queue.as_ref(), a.missed_offers)
    {
        app.store.set_presence(agent, Presence::Away, app.clock.now()).await?;
        tracing::info!(agent = %agent, missed = a.missed_offers, "agent set away after missed offers");
        withdraw_all(app, agent).await?;
    }
    assignment::dispatch_released(app, &expired.queue_id, agent).await?;
    Ok(true)
}

/// The agent stopped taking work (busy, away or offline: set by themselves, an admin, or after missed
/// offers): every offer still waiting on them is withdrawn at once and goes to the next agent, rather than
/// keeping its customer until it times out. A withdrawal is no refusal: once available again, the agent is
/// asked like anyone else, with no pause. Returns how many were withdrawn.
pub async fn withdraw_all(app: &App, agent: &AgentId) -> PortResult<usize> {
    let mut withdrawn = 0;
    for c in app.store.work_items(agent).await? {
        if c.state != ConversationState::Offered || c.agent_id.as_ref() != Some(agent) {
            continue;
        }
        if crate::services::transfers::offer_refused(app, &c, false).await?.is_some() {
            withdrawn += 1;
            continue;
        }
        if let Some(back) = app.store.refuse_offer(&c.id, agent, Refusal::Withdrawn, app.clock.now()).await? {
            tracing::info!(conversation = %back.id, agent = %agent, "offer withdrawn: the agent stopped taking work");
            assignment::dispatch_released(app, &back.queue_id, agent).await?;
            withdrawn += 1;
        }
    }
    Ok(withdrawn)
}

/// The timers' sweep over the run's listing of open conversations: every offer past its expiry expires.
/// Returns how many did.
pub async fn expire_due(app: &App, open: &[Conversation]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut expired = 0;
    for c in open {
        let (Some(o), Some(agent)) = (c.offer.as_ref(), c.agent_id.as_ref()) else { continue };
        if c.state != ConversationState::Offered || !offer::expired(o, now) {
            continue;
        }
        match expire(app, &c.id, agent).await {
            Ok(true) => expired += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(conversation = %c.id, error = %e, "expiring an offer failed"),
        }
    }
    Ok(expired)
}
