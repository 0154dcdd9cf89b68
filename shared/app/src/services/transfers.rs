//! Transfers (issue 11.5): an agent hands a conversation to another agent or to a queue, with a note. The
//! target gets it like an offer (accept or decline within the refusal timeout; straight away where the queue
//! auto-accepts); a transfer to a queue waits there until one of its agents takes it, up to the queue's
//! `transfer_timeout_secs`. The first agent holds the slot until the transfer lands; a transfer nobody takes
//! in time (or that the target agent declines) fails and the conversation comes back to the first agent,
//! who is told in the transcript and, through the change of the conversation, on the live feed. The rules
//! are in [`smsdesk_domain::transfer`]; the moves are atomic store operations ([`smsdesk_ports::TransferStore`]).
//!
//! The transcript gets internal system entries (the transfer with its note, its end): agents read them, the
//! customer is never sent them. The CRM timeline gets `transfer_started`, `transfer_ended` and
//! `transfer_failed` (without the note).
//!
//! A conversation nobody holds yet, waiting in its queue, is not transferred: a supervisor gives it to an
//! agent ([`assign_by_hand`]) or moves it to another queue ([`move_to_queue`]).

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::services::conversations::{self, Need};
use crate::services::{assignment, crm};
use smsdesk_domain::segment::analyze;
use smsdesk_domain::transfer::{self, Transfer, TransferTarget};
use smsdesk_domain::*;
use smsdesk_ports::PortResult;

/// `POST /v1/conversations/{id}/transfer`: starts a transfer of the caller's conversation (an admin's or a
/// supervisor's: of its agent) to `target`.
pub async fn start(
    app: &App,
    who: &Principal,
    id: &str,
    target: TransferTarget,
    note: Option<String>,
) -> ApiResult<Conversation> {
    let conversation = conversations::authorize(app, who, id, Need::Act).await?;
    if conversation.state == ConversationState::Closed {
        return Err(ApiError::conflict(
            "conversation_closed",
            format!("conversation '{}' is closed", conversation.id),
        ));
    }
    if conversation.transfer.is_some() {
        return Err(ApiError::conflict(
            "transfer_pending",
            format!("conversation '{}' is already being transferred", conversation.id),
        ));
    }
    let from = match (&conversation.agent_id, conversation.state) {
        (Some(agent), ConversationState::Active | ConversationState::Waiting) => agent.clone(),
        _ => {
            return Err(ApiError::conflict(
                "invalid_state",
                format!(
                    "conversation '{}' is {}: only a conversation an agent holds (active or waiting) is \
                     transferred",
                    conversation.id,
                    conversation.state.as_str()
                ),
            ));
        }
    };
    let now = app.clock.now();
    let (queue, target_name) = match &target {
        TransferTarget::Agent(agent_id) => {
            let agent = app
                .store
                .get_agent(agent_id)
                .await?
                .ok_or_else(|| ApiError::field("agent_id", format!("no agent '{agent_id}'")))?;
            if agent.id == from {
                return Err(ApiError::field(
                    "agent_id",
                    format!("the conversation is with '{agent_id}' already"),
                ));
            }
            if !agent.has_free_capacity() {
                return Err(unavailable(&agent));
            }
            (app.store.get_queue(&conversation.queue_id).await?, agent.name)
        }
        TransferTarget::Queue(queue_id) => {
            let queue = app
                .store
                .get_queue(queue_id)
                .await?
                .ok_or_else(|| ApiError::field("queue_id", format!("no queue '{queue_id}'")))?;
            // Nobody works a closed queue: refused at once (not after the whole transfer timeout), nothing
            // changed, as a proactive text into it is.
            if let Some(closed) = smsdesk_domain::hours::closed_now(queue.operating_hours.as_ref(), now) {
                return Err(conversations::outside_hours("queue_id", &queue.name, &closed));
            }
            let name = format!("queue {}", queue.name);
            (Some(queue), name)
        }
    };
    let transfer = Transfer {
        from_agent: from.clone(),
        from_queue: conversation.queue_id.clone(),
        target: target.clone(),
        target_name: Some(target_name.clone()),
        note,
        started_at: now,
        expires_at: transfer::expires_at(&target, queue.as_ref(), now),
    };
    let Some(started) = app.store.start_transfer(&conversation.id, &transfer).await? else {
        return Err(ApiError::conflict(
            "invalid_state",
            format!("conversation '{}' changed meanwhile", conversation.id),
        ));
    };
    let from_name = agent_name(app, &from).await?;
    entry(app, &started, transfer::started_entry(&from_name, &target_name, transfer.note.as_deref())).await?;
    crm::timeline(app, &started.id, "transfer_started", detail(&transfer)).await?;
    tracing::info!(conversation = %started.id, from = %from, "transfer started");
    match &target {
        TransferTarget::Agent(agent_id) => {
            let taken = if smsdesk_domain::offer::auto_accept(queue.as_ref()) {
                let assigned = app.store.assign(&started.id, agent_id, now).await?;
                if let Some(c) = &assigned
                    && let Some(agent) = app.store.get_agent(agent_id).await?
                {
                    assignment::became_active(app, c, &agent, now).await?;
                }
                assigned
            } else {
                let offer = smsdesk_domain::offer::make(queue.as_ref(), now);
                let offered = app.store.offer(&started.id, agent_id, &offer).await?;
                if offered.is_some() {
                    // Its own timer, as every offer has: it runs out at the queue's refusal timeout, not at
                    // the next sweep.
                    crate::services::offer_timers::arm(app, &started.id, agent_id, &offer).await;
                }
                offered
            };
            if taken.is_none() {
                // The agent filled up or went away since the check: the conversation comes straight back.
                let agent = app.store.get_agent(agent_id).await?;
                fail(app, &started, "the agent cannot take it now").await?;
                return Err(match agent {
                    Some(a) => unavailable(&a),
                    None => ApiError::field("agent_id", format!("no agent '{agent_id}'")),
                });
            }
        }
        TransferTarget::Queue(queue_id) => {
            assignment::dispatch_queue(app, queue_id).await?;
        }
    }
    Ok(app.store.get_conversation(&started.id).await?.unwrap_or(started))
}

/// `POST /v1/conversations/{id}/assign`: a supervisor of its queue (or an admin) gives a conversation that
/// waits in its queue to the agent they choose, as distribution would (an offer, or at once where the queue
/// auto-accepts; the store's conditional write: the conversation still waiting, the agent available with a
/// free slot, their team too), whatever the agent's queues and earlier declines. The transcript says who gave
/// it to whom. An agent may not (403); one an agent holds moves with a transfer (409 `invalid_state`).
pub async fn assign_by_hand(
    app: &App,
    who: &Principal,
    id: &str,
    agent_id: &AgentId,
) -> ApiResult<Conversation> {
    let (caller, conversation) = waiting_work(app, who, id, "given by hand").await?;
    let agent = app
        .store
        .get_agent(agent_id)
        .await?
        .ok_or_else(|| ApiError::field("agent_id", format!("no agent '{agent_id}'")))?;
    if !agent.has_free_capacity() {
        return Err(unavailable(&agent));
    }
    let queue = app.store.get_queue(&conversation.queue_id).await?;
    if !assignment::take(app, &conversation.id, &agent, queue.as_ref()).await? {
        // The agent filled up or went away, or the conversation was taken, since the checks.
        if let Some(now) = app.store.get_agent(agent_id).await?
            && !now.has_free_capacity()
        {
            return Err(unavailable(&now));
        }
        let now = app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation);
        return Err(not_waiting(&now, "given by hand"));
    }
    let by = caller.map_or_else(|| "An admin".to_string(), |a| a.name);
    let offered = !smsdesk_domain::offer::auto_accept(queue.as_ref());
    entry(app, &conversation, smsdesk_domain::assign::assigned_by_hand_entry(&by, &agent.name, offered))
        .await?;
    tracing::info!(conversation = %conversation.id, agent = %agent.id, "given to an agent by hand");
    Ok(app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation))
}

/// `POST /v1/conversations/{id}/queue`: a supervisor of its queue (or an admin) moves a conversation that
/// waits in its queue (nobody holds or is offered it, no transfer under way) to another queue, where it waits
/// from now and is distributed as any other (the old queue's declines forgotten). The store's conditional
/// write: one that was taken or moved meanwhile is a 409, and nothing changes. The transcript says who moved
/// it from where to where; the CRM timeline gets `queue_changed`. A queue closed now is refused at once, as
/// a transfer into it is. An agent may not (403); one an agent holds moves with a transfer.
pub async fn move_to_queue(
    app: &App,
    who: &Principal,
    id: &str,
    queue_id: &QueueId,
) -> ApiResult<Conversation> {
    let (caller, conversation) = waiting_work(app, who, id, "moved to another queue").await?;
    let to = app
        .store
        .get_queue(queue_id)
        .await?
        .ok_or_else(|| ApiError::field("queue_id", format!("no queue '{queue_id}'")))?;
    if to.id == conversation.queue_id {
        return Err(ApiError::field(
            "queue_id",
            format!("the conversation waits in queue '{queue_id}' already"),
        ));
    }
    let now = app.clock.now();
    if let Some(closed) = smsdesk_domain::hours::closed_now(to.operating_hours.as_ref(), now) {
        return Err(conversations::outside_hours("queue_id", &to.name, &closed));
    }
    let from = conversation.queue_id.clone();
    let Some(moved) = app.store.move_waiting(&conversation.id, &from, &to.id, now).await? else {
        // Taken, offered or moved since it was read.
        let now = app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation);
        return Err(not_waiting(&now, "moved to another queue"));
    };
    let from_name = app.store.get_queue(&from).await?.map_or_else(|| from.to_string(), |q| q.name);
    let by = caller.map_or_else(|| "An admin".to_string(), |a| a.name);
    entry(app, &moved, smsdesk_domain::assign::moved_to_queue_entry(&by, &from_name, &to.name)).await?;
    let detail = serde_json::json!({ "from_queue_id": from, "to_queue_id": to.id });
    crm::timeline(app, &moved.id, "queue_changed", detail).await?;
    tracing::info!(conversation = %moved.id, from = %from, to = %to.id, "moved to another queue");
    assignment::dispatch_queue(app, &to.id).await?;
    Ok(app.store.get_conversation(&moved.id).await?.unwrap_or(moved))
}

/// The caller (None for an admin) and conversation `id`, for a supervisor's move of work that waits in its
/// queue (giving it to an agent, moving it to another queue: `what`): an agent is refused (403), a
/// conversation the caller may not act on is a 404, one that does not wait a 409.
async fn waiting_work(
    app: &App,
    who: &Principal,
    id: &str,
    what: &str,
) -> ApiResult<(Option<Agent>, Conversation)> {
    let caller = conversations::caller(app, who).await?;
    if caller.as_ref().is_some_and(|a| a.role != Role::Supervisor) {
        return Err(ApiError::forbidden(format!(
            "a waiting conversation is {what} by a supervisor or an admin, not an agent"
        )));
    }
    let conversation = conversations::authorize(app, who, id, Need::Act).await?;
    if !smsdesk_domain::assign::assignable_by_hand(&conversation) {
        return Err(not_waiting(&conversation, what));
    }
    Ok((caller, conversation))
}

/// 409 `invalid_state` for a conversation that does not wait in its queue, so cannot be `what`.
fn not_waiting(c: &Conversation, what: &str) -> ApiError {
    ApiError::conflict(
        "invalid_state",
        format!(
            "conversation '{}' is {}: only one that waits in its queue is {what} (transfer one an agent holds)",
            c.id,
            if c.transfer.is_some() { "being transferred" } else { c.state.as_str() }
        ),
    )
}

fn unavailable(agent: &Agent) -> ApiError {
    ApiError::conflict(
        "agent_unavailable",
        format!(
            "agent '{}' is {} with {}/{} conversations",
            agent.id,
            agent.presence.as_str(),
            agent.active,
            agent.capacity
        ),
    )
}

async fn agent_name(app: &App, id: &AgentId) -> PortResult<String> {
    Ok(app.store.get_agent(id).await?.map_or_else(|| id.to_string(), |a| a.name))
}

/// The target's name as the transfer recorded it (else as it is now).
async fn target_name(app: &App, t: &Transfer) -> PortResult<String> {
    if let Some(name) = &t.target_name {
        return Ok(name.clone());
    }
    Ok(match &t.target {
        TransferTarget::Agent(a) => agent_name(app, a).await?,
        TransferTarget::Queue(q) => {
            format!("queue {}", app.store.get_queue(q).await?.map_or_else(|| q.to_string(), |q| q.name))
        }
    })
}

/// The CRM detail of a transfer (never the note: it is for agents).
fn detail(t: &Transfer) -> serde_json::Value {
    match &t.target {
        TransferTarget::Agent(a) => serde_json::json!({"from_agent_id": t.from_agent, "to_agent_id": a}),
        TransferTarget::Queue(q) => serde_json::json!({"from_agent_id": t.from_agent, "to_queue_id": q}),
    }
}

/// An internal system entry in the transcript: for agents, never sent to the customer, and not activity
/// (the conversation's `last_message_at` does not move).
async fn entry(app: &App, c: &Conversation, text: String) -> PortResult<()> {
    let now = app.clock.now();
    let info = analyze(&text);
    let message = Message {
        id: MessageId::new(app.ids.new_id(MessageId::PREFIX)),
        conversation_id: c.id.clone(),
        channel_id: c.channel_id.clone(),
        direction: Direction::Outbound,
        author: Author::System,
        agent_id: None,
        text,
        // Nothing is sent: it is where it is meant to be, in the agents' transcript.
        status: MessageStatus::Delivered,
        encoding: info.encoding,
        segments: info.segments,
        provider_message_id: None,
        error: None,
        attempts: 0,
        automated: None,
        over_limit: false,
        internal: true,
        media: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    app.store.insert_message(&message).await?;
    Ok(())
}

/// The conversation became active with `agent` while a transfer was under way (accepted, or assigned by an
/// auto-accepting queue): the transfer ends, and the first agent gets its slot back and serves its queues.
pub async fn landed(app: &App, c: &Conversation, agent: &AgentId) -> PortResult<()> {
    let Some(t) = c.transfer.clone() else { return Ok(()) };
    let Some(done) = app.store.finish_transfer(&c.id, t.started_at).await? else { return Ok(()) };
    tracing::info!(conversation = %c.id, from = %t.from_agent, to = %agent, "transfer landed");
    entry(app, &done, transfer::landed_entry(&agent_name(app, agent).await?)).await?;
    let mut detail = detail(&t);
    detail["agent_id"] = serde_json::json!(agent);
    crm::timeline(app, &c.id, "transfer_ended", detail).await?;
    // Boxed: assignment lands transfers, and the first agent's freed slot goes back to assignment.
    Box::pin(assignment::dispatch_for_agent(app, &t.from_agent)).await?;
    Ok(())
}

/// Nobody took the transfer (the target agent declined or let the offer expire; the queue's transfer
/// timeout passed): back to the first agent, who is told. Returns whether this call failed it.
pub async fn fail(app: &App, c: &Conversation, why: &str) -> PortResult<bool> {
    let Some(t) = c.transfer.clone() else { return Ok(false) };
    let to = target_name(app, &t).await?;
    Ok(give_back(app, c, why, transfer::failed_entry(&to, why)).await?.is_some())
}

/// The transfer ends without landing: the conversation goes back `active` to the first agent (who held the
/// slot all along), the agent it was offered to gets its slot back (and its next work), the transcript
/// gets `entry` and the CRM timeline `transfer_failed` with `why`. None when it was no longer pending.
async fn give_back(app: &App, c: &Conversation, why: &str, text: String) -> PortResult<Option<Conversation>> {
    let Some(t) = c.transfer.clone() else { return Ok(None) };
    let offered = (c.state == ConversationState::Offered).then(|| c.agent_id.clone()).flatten();
    let Some(back) = app.store.fail_transfer(&c.id, t.started_at, app.clock.now()).await? else {
        return Ok(None);
    };
    tracing::info!(conversation = %c.id, to = %t.from_agent, why, "transfer failed");
    entry(app, &back, text).await?;
    let mut detail = detail(&t);
    detail["reason"] = serde_json::json!(why);
    crm::timeline(app, &c.id, "transfer_failed", detail).await?;
    if let Some(agent) = offered {
        assignment::dispatch_for_agent(app, &agent).await?;
    }
    Ok(Some(back))
}

/// `POST /v1/conversations/{id}/transfer/cancel`: the sender (or a supervisor of its queue, an admin) takes
/// back a transfer nobody took yet. The conversation comes back `active` to the sender, an offer made to
/// the target is withdrawn (its slot given back), the transcript says who cancelled it, and the CRM
/// timeline gets `transfer_failed` with the reason `cancelled`. 409 `no_transfer` when none is pending
/// (it landed, failed or was cancelled meanwhile).
pub async fn cancel(app: &App, who: &Principal, id: &str) -> ApiResult<Conversation> {
    let conversation = conversations::authorize(app, who, id, Need::Write).await?;
    let none_pending = || {
        ApiError::conflict(
            "no_transfer",
            format!("conversation '{}' has no transfer waiting to be taken", conversation.id),
        )
    };
    let Some(t) = conversation.transfer.clone() else { return Err(none_pending()) };
    if transfer::pending_sender(&conversation).is_none() {
        return Err(none_pending());
    }
    let by = match who.agent_id() {
        Some(agent) => agent_name(app, agent).await?,
        None => "An admin".to_string(),
    };
    let to = target_name(app, &t).await?;
    let back_to = agent_name(app, &t.from_agent).await?;
    let text = transfer::cancelled_entry(&by, &to, &back_to);
    let Some(back) = give_back(app, &conversation, "cancelled", text).await? else {
        return Err(none_pending());
    };
    Ok(back)
}

/// An offer made for a transfer to one agent was declined or expired: the transfer fails (a transfer to a
/// queue goes on to the queue's next agent as any offer does). Returns None when `c` is no such offer.
pub async fn offer_refused(app: &App, c: &Conversation, expired: bool) -> PortResult<Option<bool>> {
    if c.state != ConversationState::Offered || c.transfer.as_ref().and_then(Transfer::target_agent).is_none()
    {
        return Ok(None);
    }
    let why = if expired { "not accepted in time" } else { "declined" };
    fail(app, c, why).await.map(Some)
}

/// The timers' sweep: transfers past their timeout fail; transfers that landed without being settled (a
/// crash between the accept and its bookkeeping) are settled, over the run's listing of open conversations.
/// Returns how many failed.
pub async fn sweep(app: &App, open: &[Conversation]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut failed = 0;
    for c in open {
        let Some(t) = &c.transfer else { continue };
        match c.state {
            ConversationState::Open | ConversationState::Offered if t.expired(now) => {
                match fail(app, c, "nobody took it in time").await {
                    Ok(true) => failed += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(conversation = %c.id, error = %e, "failing a transfer failed"),
                }
            }
            s if s.holds_agent() => {
                if let Some(agent) = c.agent_id.clone().filter(|a| a != &t.from_agent)
                    && let Err(e) = landed(app, c, &agent).await
                {
                    tracing::warn!(conversation = %c.id, error = %e, "settling a transfer failed");
                }
            }
            _ => {}
        }
    }
    Ok(failed)
}
