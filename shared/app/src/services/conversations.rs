//! What agents do to conversations: read, reply, close, transfer, pick the contact.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::{assignment, crm, outbound};
use smsdesk_domain::*;

/// The conversation if the caller may see it: its agent, or an admin. Anyone else gets a 404, so ids of other
/// agents' conversations are not confirmed.
pub async fn visible(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let id = ConversationId::new(id);
    let conversation = app.store.get_conversation(&id).await?;
    match conversation {
        Some(c) if who.is_admin() || who.agent_id().is_some_and(|a| c.agent_id.as_ref() == Some(a)) => Ok(c),
        _ => Err(ApiError::not_found(format!("no conversation '{id}'"))),
    }
}

/// The agent's reply. With an `Idempotency-Key`, a retry of the same request answers with the same message.
pub async fn reply(
    app: &App,
    who: &Principal,
    id: &str,
    text: &str,
    key: Option<&IdempotencyKey>,
) -> ApiResult<Message> {
    let conversation = visible(app, who, id).await?;
    let text = MessageText::parse(text).map_err(|e| {
        ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}"))
    })?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::conflict(
            "conversation_closed",
            format!("conversation '{}' is closed", conversation.id),
        ));
    }
    let Some(key) = key else {
        return outbound::queue_reply(app, &conversation, text, Author::Agent, who.agent_id()).await;
    };
    let print = idempotency::fingerprint(&["reply", conversation.id.as_str(), text.as_str()]);
    let claimed = idempotency::claim(app, who, key, print).await?;
    outbound::queue_reply_as(app, claimed.message_id, &conversation, text, Author::Agent, who.agent_id())
        .await
}

/// The agent chooses to send again a message whose send is `unknown` (the provider may have it) or
/// `failed`. It goes out as a new message (the first one keeps its status and reason in the transcript),
/// under an id derived from the first, so resending twice creates one new message.
pub async fn resend(app: &App, who: &Principal, id: &str, message_id: &str) -> ApiResult<Message> {
    let conversation = visible(app, who, id).await?;
    let original = app
        .store
        .get_message(&MessageId::new(message_id))
        .await?
        .filter(|m| m.conversation_id == conversation.id && m.direction == Direction::Outbound)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no outbound message '{message_id}' in conversation '{}'",
                conversation.id
            ))
        })?;
    if !matches!(original.status, MessageStatus::Unknown | MessageStatus::Failed) {
        return Err(ApiError::conflict(
            "not_resendable",
            format!(
                "message '{}' is {}: only unknown or failed messages can be resent",
                original.id, original.status
            ),
        ));
    }
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::conflict(
            "conversation_closed",
            format!("conversation '{}' is closed", conversation.id),
        ));
    }
    let text = MessageText::parse(original.text.clone()).map_err(|e| {
        ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}"))
    })?;
    let agent = who.agent_id().or(original.agent_id.as_ref());
    let id = MessageId::new(format!("{}{RESEND_SUFFIX}", original.id));
    tracing::info!(message = %original.id, resend = %id, "resent by the agent");
    outbound::queue_reply_as(app, id, &conversation, text, original.author, agent).await
}

/// What a resend's id adds to the id of the message it resends.
pub const RESEND_SUFFIX: &str = "_resend";

pub async fn close(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let conversation = visible(app, who, id).await?;
    let reason = if who.is_admin() { "closed by an admin" } else { "resolved by the agent" };
    close_and_free(app, &conversation.id, reason).await?;
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// Closes a conversation, gives its agent the capacity back and serves that agent's queues.
pub async fn close_and_free(app: &App, id: &ConversationId, reason: &str) -> ApiResult<bool> {
    let closed = app.store.close(id, app.clock.now(), reason).await?;
    after_close(app, closed, reason).await
}

/// As [`close_and_free`], only if no message came since `cutoff` (auto-close: the idle listing may be
/// stale, and a text may be filed while it runs).
pub async fn close_idle_and_free(
    app: &App,
    id: &ConversationId,
    cutoff: time::OffsetDateTime,
    reason: &str,
) -> ApiResult<bool> {
    let closed = app.store.close_idle(id, cutoff, app.clock.now(), reason).await?;
    after_close(app, closed, reason).await
}

async fn after_close(app: &App, closed: Option<Conversation>, reason: &str) -> ApiResult<bool> {
    let Some(closed) = closed else { return Ok(false) };
    tracing::info!(conversation = %closed.id, reason, "conversation closed");
    crm::timeline(
        app,
        &closed.id,
        "conversation_closed",
        serde_json::json!({"reason": reason, "agent_id": closed.agent_id}),
    )
    .await?;
    if let Some(agent) = &closed.agent_id {
        assignment::dispatch_for_agent(app, agent).await?;
    }
    Ok(true)
}

pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueId),
}

pub async fn transfer(
    app: &App,
    who: &Principal,
    id: &str,
    target: TransferTarget,
) -> ApiResult<Conversation> {
    let conversation = visible(app, who, id).await?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::conflict(
            "conversation_closed",
            format!("conversation '{}' is closed", conversation.id),
        ));
    }
    let previous_agent = conversation.agent_id.clone();
    let now = app.clock.now();
    let updated = match &target {
        TransferTarget::Queue(queue) => {
            if app.store.get_queue(queue).await?.is_none() {
                return Err(ApiError::field("queue_id", format!("no queue '{queue}'")));
            }
            let updated = app.store.requeue(&conversation.id, queue, now).await?;
            assignment::dispatch_queue(app, queue).await?;
            updated
        }
        TransferTarget::Agent(agent_id) => {
            let agent = app
                .store
                .get_agent(agent_id)
                .await?
                .ok_or_else(|| ApiError::field("agent_id", format!("no agent '{agent_id}'")))?;
            if !agent.has_free_capacity() {
                return Err(ApiError::conflict(
                    "agent_unavailable",
                    format!(
                        "agent '{agent_id}' is {} with {}/{} conversations",
                        agent.presence.as_str(),
                        agent.active,
                        agent.capacity
                    ),
                ));
            }
            app.store.requeue(&conversation.id, &conversation.queue_id, now).await?;
            if app.store.assign(&conversation.id, agent_id, now).await?.is_none() {
                // The agent filled up in the meantime: the conversation waits in its queue like any other.
                assignment::dispatch_queue(app, &conversation.queue_id).await?;
            }
            app.store.get_conversation(&conversation.id).await?
        }
    };
    let detail = match &target {
        TransferTarget::Agent(a) => serde_json::json!({"from_agent_id": previous_agent, "to_agent_id": a}),
        TransferTarget::Queue(q) => serde_json::json!({"from_agent_id": previous_agent, "to_queue_id": q}),
    };
    crm::timeline(app, &conversation.id, "transferred", detail).await?;
    if let Some(agent) = &previous_agent {
        assignment::dispatch_for_agent(app, agent).await?;
    }
    Ok(updated.unwrap_or(conversation))
}

/// The agent picks which of several contacts sharing the customer's phone this conversation belongs to.
pub async fn pick_contact(app: &App, who: &Principal, id: &str, contact_id: &str) -> ApiResult<Conversation> {
    let conversation = visible(app, who, id).await?;
    let contact_id = ContactId::new(contact_id);
    let contact = app
        .store
        .get_contact(&contact_id)
        .await?
        .ok_or_else(|| ApiError::field("contact_id", format!("no contact '{contact_id}'")))?;
    if contact.phone != conversation.customer {
        return Err(ApiError::field(
            "contact_id",
            format!(
                "contact '{contact_id}' has phone {}, not the customer's {}",
                contact.phone, conversation.customer
            ),
        ));
    }
    let link = ContactLink::Linked { contact_id: contact.id.clone() };
    app.store.set_contact_link(&conversation.id, &link).await?;
    crm::started_event(app, &conversation, &contact.id).await?;
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}
