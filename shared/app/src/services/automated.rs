//! Automated messages: what smsdesk tells the customer by itself, in the customer's language, as system
//! messages through the one outbound path (so consent and segments apply as to any send). Each is queued
//! under an id derived from what caused it, so a redelivered cause queues it once.

use crate::App;
use crate::services::outbound;
use smsdesk_domain::automated::{AutomatedKind, DEFAULT_LANGUAGE, fill, text_for};
use smsdesk_domain::*;
use smsdesk_ports::{PortError, PortResult};

/// The customer's language: the conversation's (picked by the customer or set on the contact), else the
/// channel's, else English.
pub fn language_of(channel: &Channel, conversation: &Conversation) -> String {
    conversation
        .language
        .clone()
        .or_else(|| channel.language.clone())
        .unwrap_or_else(|| DEFAULT_LANGUAGE.into())
}

/// Queues the automated message `kind` in the customer's language under the id `<cause>_<kind>`. Returns
/// whether one was queued (false: automated messages are off on the channel, or this one's text is empty).
pub async fn send(
    app: &App,
    channel: &Channel,
    conversation: &Conversation,
    kind: AutomatedKind,
    cause: &str,
    values: &[(&str, &str)],
) -> PortResult<bool> {
    if !channel.messaging.automated_messages_enabled {
        return Ok(false);
    }
    let lang = language_of(channel, conversation);
    let Some(template) = text_for(&channel.messaging.automated_messages, &lang, kind) else {
        return Ok(false);
    };
    let text = match MessageText::parse(fill(&template, values)) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(channel = %channel.id, kind = kind.as_str(), error = %e, "automated message not sent");
            return Ok(false);
        }
    };
    let id = MessageId::new(format!("{cause}_{}", kind.as_str()));
    outbound::queue_automated(app, id, conversation, text, kind)
        .await
        .map_err(|e| PortError::Unavailable(format!("automated message {}: {}", kind.as_str(), e.message)))?;
    Ok(true)
}

/// The agent joined: one call where a conversation becomes active with an agent.
pub async fn agent_joined(app: &App, conversation: &Conversation, agent: &Agent) -> PortResult<()> {
    let Some(channel) = app.store.channel_settings(&conversation.channel_id).await? else { return Ok(()) };
    // One per assignment (a transfer to another agent announces the new one).
    let cause = format!("msg_{}_{}_{}", conversation.id, agent.id, conversation.queued_at.unix_timestamp());
    send(app, &channel, conversation, AutomatedKind::AgentJoined, &cause, &[("{agent_name}", &agent.name)])
        .await
        .map(|_| ())
}

/// The conversation ended (closed by its agent, an admin or the inactivity timer).
pub async fn conversation_ended(app: &App, conversation: &Conversation) -> PortResult<()> {
    let Some(channel) = app.store.channel_settings(&conversation.channel_id).await? else { return Ok(()) };
    let cause = format!("msg_{}", conversation.id);
    send(app, &channel, conversation, AutomatedKind::ConversationEnded, &cause, &[]).await.map(|_| ())
}
