//! What agents do to conversations: read, reply, close, transfer, pick the contact.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::idempotency::{self, IdempotencyKey};
use crate::services::{assignment, automated, consent, crm, outbound, routing};
use smsdesk_domain::access::{
    Access, Actor, ProactivePlan, ProactiveRefusal, access, check_taker, contacts_of, offered_to,
    plan_proactive, starts_contact, takes_conversation,
};
use smsdesk_domain::hours;
use smsdesk_domain::lifecycle;
use smsdesk_domain::*;
use std::collections::BTreeSet;

/// What a route needs to do with a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Read,
    /// Write into it without moving it: reply to the customer, add a note or an attachment, cancel a
    /// pending transfer. The sender of a transfer nobody took yet may ([`Access::Sender`]).
    Write,
    Act,
}

/// The agent behind a principal, as the rule needs it (None for an admin), with its team's queues among
/// its own (a member serves them). An agent that no longer exists is refused like an unknown token.
pub async fn caller(app: &App, who: &Principal) -> ApiResult<Option<Agent>> {
    match who.agent_id() {
        None => Ok(None),
        Some(id) => match app.store.get_agent(id).await? {
            Some(agent) => Ok(Some(crate::services::teams::serving(app, agent).await?)),
            None => Err(ApiError::unauthorized("the token's agent no longer exists")),
        },
    }
}

/// The actor of [`smsdesk_domain::access`] for a caller loaded by [`caller`].
pub fn actor(agent: &Option<Agent>) -> Actor<'_> {
    match agent {
        Some(a) => Actor::Agent(a),
        None => Actor::Admin,
    }
}

/// The one place every conversation route asks whether the caller may read or act on a conversation
/// ([`smsdesk_domain::access::access`]: its agent or an admin acts; an agent reads what waits in its queues).
/// No access is a 404, so ids of other agents' conversations are not confirmed; reading but needing to act
/// is a 409 `not_assigned` (the conversation becomes the agent's only through assignment).
pub async fn authorize(app: &App, who: &Principal, id: &str, need: Need) -> ApiResult<Conversation> {
    let id = ConversationId::new(id);
    let agent = caller(app, who).await?;
    let Some(conversation) = app.store.get_conversation(&id).await? else {
        return Err(ApiError::not_found(format!("no conversation '{id}'")));
    };
    let offered_to_caller = agent.as_ref().is_some_and(|a| offered_to(a, &conversation));
    match (access(actor(&agent), &conversation), need) {
        // Offered, not accepted: the agent reads it and accepts or declines, nothing else (issue 11.4).
        (Access::Act, Need::Act | Need::Write) if offered_to_caller => Err(ApiError::conflict(
            "offer_not_accepted",
            format!("conversation '{id}' is offered to you: accept it (POST /accept) before acting on it"),
        )),
        (Access::Act, _) | (Access::Read | Access::Sender, Need::Read) | (Access::Sender, Need::Write) => {
            Ok(conversation)
        }
        (Access::Sender, Need::Act) => Err(ApiError::conflict(
            "transfer_pending",
            format!(
                "conversation '{id}' is being transferred{}: reply, add a note, or cancel the transfer \
                 (POST /transfer/cancel) before anything else",
                conversation
                    .transfer
                    .as_ref()
                    .and_then(|t| t.target_name.as_deref())
                    .map(|to| format!(" to {to}"))
                    .unwrap_or_default()
            ),
        )),
        (Access::Read, Need::Act | Need::Write) => Err(ApiError::conflict(
            "not_assigned",
            format!(
                "conversation '{id}' is waiting in queue '{}': it becomes yours only through assignment",
                conversation.queue_id
            ),
        )),
        (Access::None, _) => Err(ApiError::not_found(format!("no conversation '{id}'"))),
    }
}

/// The conversation if the caller may read it.
pub async fn visible(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    authorize(app, who, id, Need::Read).await
}

/// Which contacts a caller may read: an admin all; an agent those linked to (or offered for picking by)
/// its conversations, the ones it may act on ([`Access::Act`]): its open ones, and its closed ones (found
/// through the contact's timeline, which names every conversation written to it).
pub struct ContactScope {
    agent: Option<Agent>,
    open: BTreeSet<ContactId>,
}

/// How many of a contact's timeline conversations are checked before a read is refused.
const TIMELINE_CONVERSATIONS_CHECKED: usize = 50;

impl ContactScope {
    pub async fn of(app: &App, who: &Principal) -> ApiResult<Self> {
        let Some(agent) = caller(app, who).await? else {
            return Ok(Self { agent: None, open: BTreeSet::new() });
        };
        let mine = app.store.work_items(&agent.id).await?;
        let open = contacts_of(mine.iter().filter(|c| access(Actor::Agent(&agent), c) == Access::Act));
        Ok(Self { agent: Some(agent), open })
    }

    pub async fn may_read(&self, app: &App, contact: &ContactId) -> ApiResult<bool> {
        let Some(agent) = &self.agent else { return Ok(true) };
        if self.open.contains(contact) {
            return Ok(true);
        }
        let mut checked = BTreeSet::new();
        for event in app.store.timeline(contact).await? {
            if checked.len() >= TIMELINE_CONVERSATIONS_CHECKED {
                break;
            }
            if !checked.insert(event.conversation_id.clone()) {
                continue;
            }
            if let Some(c) = app.store.get_conversation(&event.conversation_id).await?
                && access(Actor::Agent(agent), &c) == Access::Act
                && contacts_of([&c]).contains(contact)
            {
                return Ok(true);
            }
        }
        Ok(false)
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
    // The sender of a pending transfer still answers the customer (they stay responsible until it lands).
    let conversation = authorize(app, who, id, Need::Write).await?;
    let text = MessageText::parse(text).map_err(|e| {
        ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}"))
    })?;
    smsdesk_domain::validation::check_free_text("text", text.as_str())?;
    lifecycle::may_text_customer(conversation.state).map_err(|e| no_text(&conversation, e))?;
    let Some(key) = key else {
        return outbound::queue_reply(app, &conversation, text, Author::Agent, who.agent_id()).await;
    };
    let print = idempotency::fingerprint(&["reply", conversation.id.as_str(), text.as_str()]);
    let claimed = idempotency::claim(app, who, key, print).await?;
    outbound::queue_reply_as(
        app,
        claimed.message_id,
        &conversation,
        text,
        Author::Agent,
        who.agent_id(),
        Vec::new(),
    )
    .await
}

/// The agent chooses to send again a message whose send is `unknown` (the provider may have it) or
/// `failed`. It goes out as a new message (the first one keeps its status and reason in the transcript),
/// under an id derived from the first, so resending twice creates one new message.
pub async fn resend(app: &App, who: &Principal, id: &str, message_id: &str) -> ApiResult<Message> {
    // Whoever may reply may send again (a conversation the caller only reads, waiting in its queue, is not
    // theirs to text).
    let conversation = authorize(app, who, id, Need::Write).await?;
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
    lifecycle::may_text_customer(conversation.state).map_err(|e| no_text(&conversation, e))?;
    let text = MessageText::parse(original.text.clone()).map_err(|e| {
        ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}"))
    })?;
    let agent = who.agent_id().or(original.agent_id.as_ref());
    let id = MessageId::new(format!("{}{RESEND_SUFFIX}", original.id));
    if let Some(existing) = app.store.get_message(&id).await? {
        return outbound::resume(app, existing).await; // resent already: the same new message
    }
    // The first message's attachments go again (copies attached to the new message), or the resend is
    // refused with the reason: never sent as its text alone.
    let media = crate::services::media::carry_again(app, &conversation, &original, &id).await?;
    tracing::info!(message_id = %original.id, resend = %id, media = media.len(), "resent by the agent");
    outbound::queue_reply_as(app, id, &conversation, text, original.author, agent, media).await
}

/// The refusal of a text to the customer of a conversation that ended or closed: 409
/// `conversation_closed`, or `conversation_ended` in wrap-up.
fn no_text(conversation: &Conversation, why: lifecycle::NoText) -> ApiError {
    let code = match why {
        lifecycle::NoText::Closed => "conversation_closed",
        lifecycle::NoText::Ended => "conversation_ended",
    };
    ApiError::conflict(code, format!("conversation '{}' {why}", conversation.id))
}

/// What a resend's id adds to the id of the message it resends.
pub const RESEND_SUFFIX: &str = "_resend";

/// `POST /close`: resolves the conversation directly, skipping wrap-up, unless its queue requires a
/// disposition (then an agent ends it and submits the wrap-up; an admin may always close).
pub async fn close(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let conversation = authorize(app, who, id, Need::Act).await?;
    let queue = app.store.get_queue(&conversation.queue_id).await?;
    if conversation.state != ConversationState::Closed
        && !lifecycle::may_close_directly(queue.as_ref(), who.is_admin())
    {
        return Err(ApiError::conflict(
            "wrap_up_required",
            format!(
                "queue '{}' requires a disposition: end the conversation (POST /end) and submit the wrap-up \
                 (POST /wrap-up)",
                conversation.queue_id
            ),
        ));
    }
    let reason = if who.is_admin() { "closed by an admin" } else { "resolved by the agent" };
    // Closed only from the state it was authorized in, atomically: a transfer (or anything else) that
    // moved it meanwhile wins, and this close answers 409 rather than closing a conversation in flight.
    if conversation.state != ConversationState::Closed {
        let closed =
            app.store.close_in_state(&conversation.id, conversation.state, app.clock.now(), reason).await?;
        if closed.is_none() {
            let now = app.store.get_conversation(&conversation.id).await?;
            if now.as_ref().is_none_or(|c| c.state != ConversationState::Closed) {
                return Err(ApiError::conflict(
                    "conversation_moved",
                    format!(
                        "conversation '{id}' changed while it was being closed (a transfer, an offer); read it again"
                    ),
                ));
            }
        }
        after_close(app, closed, reason).await?;
    } else {
        // Closed already: what the close queues is queued again (each of it once: the ended text, the
        // transcript's parts and the closed entry have ids of their own), so a close whose follow-up failed
        // (answered 5xx after the state changed) and is retried by its client still reaches the CRM.
        let reason = conversation.close_reason.clone().unwrap_or_else(|| reason.to_string());
        follow_up_close(app, &conversation, &reason).await?;
    }
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// Closes a conversation, gives its agent the capacity back and serves that agent's queues.
pub async fn close_and_free(app: &App, id: &ConversationId, reason: &str) -> ApiResult<bool> {
    let closed = app.store.close(id, app.clock.now(), reason).await?;
    after_close(app, closed, reason).await
}

/// As [`close_and_free`], only while the conversation still waits in its queue (a sweep's listing and
/// reads may be stale: an agent may have been offered it or taken it since), with `last_word` (the queue's
/// expiry message) queued to the customer once it closed, before what the close says.
pub async fn close_waiting_and_free(
    app: &App,
    id: &ConversationId,
    last_word: Option<(MessageId, MessageText)>,
    reason: &str,
) -> ApiResult<bool> {
    let closed = app.store.close_in_state(id, ConversationState::Open, app.clock.now(), reason).await?;
    if let (Some(closed), Some((message, text))) = (&closed, last_word) {
        outbound::queue_system(app, message, closed, text).await?;
    }
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

/// The refusal of an action that does not fit the conversation's state: 409 `invalid_state`.
fn not_now(e: lifecycle::NotNow) -> ApiError {
    ApiError::conflict("invalid_state", e.to_string())
}

/// Moves the caller's conversation as `action` asks (`wait`, `end`): the agent and its slot stay.
async fn move_by_agent(
    app: &App,
    who: &Principal,
    id: &str,
    action: lifecycle::AgentAction,
) -> ApiResult<Conversation> {
    let conversation = authorize(app, who, id, Need::Act).await?;
    let to = lifecycle::transition(conversation.state, action).map_err(not_now)?;
    let now = app.clock.now();
    match app.store.transition(&conversation.id, conversation.state, to, now).await? {
        Some(moved) => Ok(moved),
        // It moved meanwhile (a customer text, the timers): answer from where it is now.
        None => {
            let current = app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation);
            let to = lifecycle::transition(current.state, action).map_err(not_now)?;
            app.store.transition(&current.id, current.state, to, now).await?.ok_or_else(|| {
                ApiError::conflict(
                    "invalid_state",
                    format!("conversation '{}' changed meanwhile", current.id),
                )
            })
        }
    }
}

/// `POST /wait`: the agent sets the conversation aside (keeping the slot) until the customer writes.
pub async fn set_aside(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let moved = move_by_agent(app, who, id, lifecycle::AgentAction::Wait).await?;
    tracing::info!(conversation = %moved.id, "conversation set aside");
    Ok(moved)
}

/// `POST /end`: the customer conversation ended; wrap-up starts (the slot is held until the wrap-up is
/// submitted or the queue's wrap-up limit passes).
pub async fn end(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let moved = move_by_agent(app, who, id, lifecycle::AgentAction::End).await?;
    tracing::info!(conversation = %moved.id, "conversation ended; wrap-up");
    automated::conversation_ended(app, &moved).await?;
    crm::timeline(app, &moved.id, "conversation_ended", serde_json::json!({"agent_id": moved.agent_id}))
        .await?;
    Ok(moved)
}

/// `POST /wrap-up`: disposition, tags and notes, checked against the queue's lists; the conversation closes
/// and the slot is released. The CRM timeline gets the disposition and tags (the notes stay internal).
pub async fn wrap_up(
    app: &App,
    who: &Principal,
    id: &str,
    request: lifecycle::WrapUpRequest,
) -> ApiResult<Conversation> {
    let conversation = authorize(app, who, id, Need::Act).await?;
    lifecycle::transition(conversation.state, lifecycle::AgentAction::SubmitWrapUp).map_err(not_now)?;
    let queue = app.store.get_queue(&conversation.queue_id).await?.unwrap_or_else(|| {
        WorkQueue::new(
            conversation.queue_id.clone(),
            conversation.queue_id.to_string(),
            conversation.created_at,
        )
    });
    let agent = who.agent_id().cloned().or_else(|| conversation.agent_id.clone());
    let record = lifecycle::check_wrap_up(&queue, request, agent, app.clock.now())
        .map_err(|e| ApiError::field(e.field, e.rule))?;
    if app.store.record_wrap_up(&conversation.id, &record).await?.is_none() {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("conversation '{}' is no longer in wrap-up", conversation.id),
        ));
    }
    crm::timeline(
        app,
        &conversation.id,
        "wrap_up",
        serde_json::json!({"disposition": record.disposition, "tags": record.tags, "agent_id": record.agent_id}),
    )
    .await?;
    let closed = app
        .store
        .close_in_state(&conversation.id, ConversationState::WrapUp, app.clock.now(), "wrapped up")
        .await?;
    after_close(app, closed, "wrapped up").await?;
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// Closes a conversation still in wrap-up (the timers, past the queue's wrap-up limit), frees the slot.
pub async fn close_wrap_up_and_free(app: &App, id: &ConversationId, reason: &str) -> ApiResult<bool> {
    let closed = app.store.close_in_state(id, ConversationState::WrapUp, app.clock.now(), reason).await?;
    after_close(app, closed, reason).await
}

/// Why a conversation a proactive text opened without a session closes at once.
const PROACTIVE_WITHOUT_SESSION: &str = "proactive message without a session";

async fn after_close(app: &App, closed: Option<Conversation>, reason: &str) -> ApiResult<bool> {
    let Some(closed) = closed else { return Ok(false) };
    tracing::info!(conversation = %closed.id, reason, "conversation closed");
    follow_up_close(app, &closed, reason).await?;
    Ok(true)
}

/// What a close queues: the customer's ended text, the transcript and the closed entry on the contact, and
/// the freed agent's next work. Each once, however often it runs.
async fn follow_up_close(app: &App, closed: &Conversation, reason: &str) -> ApiResult<()> {
    // The customer is told (once: `/end` may have told them already), then the whole transcript, that
    // message included, goes on the contact. Not after a one-off proactive text (a reminder, a notice): the
    // customer had no conversation to end, and a second text would only confuse (and cost).
    if reason != PROACTIVE_WITHOUT_SESSION {
        automated::conversation_ended(app, closed).await?;
    }
    crm::transcript(app, &closed.id).await?;
    crm::timeline_once(
        app,
        &closed.id,
        "closed",
        "conversation_closed",
        serde_json::json!({"reason": reason, "agent_id": closed.agent_id}),
    )
    .await?;
    if let Some(agent) = &closed.agent_id {
        assignment::dispatch_for_agent(app, agent).await?;
    }
    Ok(())
}

/// The agent picks which of several contacts sharing the customer's phone this conversation belongs to.
pub async fn pick_contact(app: &App, who: &Principal, id: &str, contact_id: &str) -> ApiResult<Conversation> {
    let conversation = authorize(app, who, id, Need::Act).await?;
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
                contact.phone.masked(),
                conversation.customer.masked()
            ),
        ));
    }
    let link = ContactLink::Linked { contact_id: contact.id.clone() };
    app.store.set_contact_link(&conversation.id, &link).await?;
    crm::started_event(app, &conversation, &contact.id).await?;
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// The agent creates a new contact with the customer's phone (several share the number and none is right)
/// and links the conversation to it.
pub async fn new_contact(app: &App, who: &Principal, id: &str, name: &str) -> ApiResult<Conversation> {
    let conversation = authorize(app, who, id, Need::Act).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("new_contact.name", "must be 1 to 200 characters"));
    }
    smsdesk_domain::validation::check_display_name("new_contact.name", name)?;
    let contact = Contact {
        id: ContactId::new(app.ids.new_id(ContactId::PREFIX)),
        name: name.to_string(),
        phone: conversation.customer.clone(),
        created_at: app.clock.now(),
    };
    app.store.put_contact(&contact).await?;
    tracing::info!(conversation = %conversation.id, contact = %contact.id, "contact created by the agent");
    let link = ContactLink::Linked { contact_id: contact.id.clone() };
    app.store.set_contact_link(&conversation.id, &link).await?;
    crm::started_event(app, &conversation, &contact.id).await?;
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// A proactive text (`POST /v1/messages`), as checked by the route.
pub struct Proactive {
    pub channel: Channel,
    pub number: ChannelNumber,
    pub to: Phone,
    pub text: MessageText,
    pub session: bool,
    /// The id the text takes (a request with an `Idempotency-Key`); None: a fresh one.
    pub message_id: Option<MessageId>,
}

/// The agent (or an admin) texts a customer first, from a number whose queue the sender serves
/// ([`plan_proactive`]). No open conversation: the send opens one; with `session` it stays with the sender
/// (through assignment), without it is closed once the text is queued. An open conversation is written into
/// only when it is the sender's (or the sender is an admin), or when it waits in the sender's queue and the
/// sender takes it through assignment (`session`); it is never closed by a send that did not open it. A
/// text that would make the conversation the sender's while the sender cannot take one now (not available,
/// or full) is refused before anything is opened or sent ([`check_taker`]).
pub async fn proactive(app: &App, who: &Principal, send: Proactive) -> ApiResult<(Conversation, Message)> {
    let agent = caller(app, who).await?;
    let actor = actor(&agent);
    let refuse = |refusal: ProactiveRefusal| match refusal {
        ProactiveRefusal::NotYourQueue => ApiError::forbidden(format!(
            "from: you do not serve queue '{}' of number {}",
            send.number.queue, send.number.number
        )),
        ProactiveRefusal::AgentUnavailable => unavailable(agent.as_ref()),
        other => ApiError::conflict(
            match other {
                ProactiveRefusal::AssignedToAnother => "conversation_assigned",
                ProactiveRefusal::OfferNotAccepted => "offer_not_accepted",
                ProactiveRefusal::TransferPending => "transfer_pending",
                _ => "conversation_waiting",
            },
            format!("to: {other}"),
        ),
    };
    // Refused before anything is written when the sender does not serve the number's queue.
    plan_proactive(actor, &send.number.queue, None, send.session).map_err(refuse)?;
    if let Some(reason) = consent::refusal(app, &send.number.number, &send.to, None).await? {
        return Err(ApiError::conflict("opted_out", format!("to: {reason}")));
    }
    // What the text would do to the customer's conversation, decided before anything is written.
    let teams = match &agent {
        Some(_) => app.store.list_teams().await?,
        None => Vec::new(),
    };
    let existing = app.store.open_conversation(&send.channel.id, &send.number.number, &send.to).await?;
    let plan = plan_proactive(actor, &send.number.queue, existing.as_ref(), send.session).map_err(refuse)?;
    check_taker(actor, plan, send.session, &teams).map_err(refuse)?;
    if let Some(c) = existing.as_ref().filter(|_| plan == ProactivePlan::Join) {
        lifecycle::may_text_customer(c.state).map_err(|e| no_text(c, e))?;
    }
    if starts_contact(plan) {
        // The queue the conversation waits in, or the number's (a new conversation, with or without a session).
        let queue = existing.as_ref().map_or(&send.number.queue, |c| &c.queue_id);
        closed_now(app, queue).await?;
    }
    let (mut conversation, created) =
        routing::find_or_open(app, &send.channel, &send.number, &send.to).await?;
    let plan = if created {
        ProactivePlan::Opened
    } else {
        plan_proactive(actor, &send.number.queue, Some(&conversation), send.session).map_err(refuse)?
    };
    check_taker(actor, plan, send.session, &teams).map_err(refuse)?;
    if plan == ProactivePlan::Join {
        lifecycle::may_text_customer(conversation.state).map_err(|e| no_text(&conversation, e))?;
    }
    let now = app.clock.now();
    if let (true, Some(agent)) = (takes_conversation(plan, send.session), &agent) {
        match app.store.assign(&conversation.id, &agent.id, now).await? {
            Some(c) => conversation = c,
            None => {
                // The agent filled up or went away since it was read: nothing is sent, and a conversation
                // this send opened is closed again, quietly (the customer never heard of it).
                if created
                    && app
                        .store
                        .close_in_state(&conversation.id, ConversationState::Open, now, PROACTIVE_NOT_TAKEN)
                        .await?
                        .is_none()
                {
                    tracing::warn!(conversation = %conversation.id, "a proactive conversation the sender could not take moved on meanwhile");
                }
                return Err(unavailable(Some(agent)));
            }
        }
    }
    if plan == ProactivePlan::Opened {
        crm::request_link(app, &conversation.id).await?;
    }
    let id = send.message_id.unwrap_or_else(|| MessageId::new(app.ids.new_id(MessageId::PREFIX)));
    // The customer's first contact with the number: the opt-in notice goes before the text.
    consent::notice_before_proactive(app, &send.channel, &conversation, &id).await?;
    let message = outbound::queue_reply_as(
        app,
        id,
        &conversation,
        send.text,
        Author::Agent,
        who.agent_id(),
        Vec::new(),
    )
    .await?;
    if plan == ProactivePlan::Opened && !send.session {
        close_and_free(app, &conversation.id, PROACTIVE_WITHOUT_SESSION).await?;
    } else if conversation.state == ConversationState::Open {
        assignment::dispatch_queue(app, &conversation.queue_id).await?;
    }
    Ok((conversation, message))
}

/// 409 `outside_operating_hours` when `queue` is closed now (its operating hours), naming when it opens
/// next. Replies are not held to the hours (a conversation under way goes on); texts that start contact are.
async fn closed_now(app: &App, queue: &QueueId) -> ApiResult<()> {
    let Some(settings) = app.store.queue_settings(queue).await? else { return Ok(()) };
    match hours::closed_now(settings.operating_hours.as_ref(), app.clock.now()) {
        Some(closed) => Err(outside_hours("to", &settings.name, &closed)),
        None => Ok(()),
    }
}

/// The refusal of something that needs a queue open now (a text starting contact, a transfer into it):
/// 409 `outside_operating_hours`, naming the field, the queue and when it opens next.
pub(crate) fn outside_hours(field: &str, queue_name: &str, closed: &hours::ClosedNow) -> ApiError {
    ApiError::conflict("outside_operating_hours", format!("{field}: queue '{queue_name}' is {closed}"))
}

/// Why a conversation a proactive text opened closes at once, unsent: its sender could not take it.
const PROACTIVE_NOT_TAKEN: &str = "proactive message not sent: its sender could not take the conversation";

/// The refusal of a text that would make a conversation the sender's while the sender cannot take one:
/// 409 `agent_unavailable`, saying why.
fn unavailable(agent: Option<&Agent>) -> ApiError {
    let why = agent.map_or(String::new(), |a| {
        format!(" ({} with {}/{} conversations)", a.presence.as_str(), a.active, a.capacity)
    });
    ApiError::conflict(
        "agent_unavailable",
        format!(
            "to: the text would make the customer's conversation yours, but you cannot take it now{why}: \
             set yourself available with a free slot, or send without a session"
        ),
    )
}
