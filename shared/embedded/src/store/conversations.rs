//! Conversations, with assignment, close and requeue changing the conversation and the agent's count in
//! one transaction.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use smsdesk_domain::offer::Refusal;
use smsdesk_domain::*;
use smsdesk_ports::{ConversationStore, OpenOutcome, PortError, PortResult};
use time::OffsetDateTime;

use super::EmbeddedStore;
use super::directory::{load_agent, save_agent};
use crate::db::{Cached, from_json, sql, to_json, ts};
use crate::rows::{all, one};

const OPEN: &str = "SELECT body FROM conversations \
    WHERE channel_id = ?1 AND channel_number = ?2 AND customer = ?3 AND state <> 'closed'";

/// The conversation open for `c`'s channel, number and customer, if any.
pub(super) fn open_like(tx: &Transaction<'_>, c: &Conversation) -> PortResult<Option<Conversation>> {
    one(tx, OPEN, params![c.channel_id.as_str(), c.channel_number.e164(), c.customer.e164()])
}

pub(super) fn load(tx: &Transaction<'_>, id: &str) -> PortResult<Option<Conversation>> {
    one(tx, "SELECT body FROM conversations WHERE id = ?1", [id])
}

/// Inserts a new conversation row; an id already taken is an error.
pub(super) fn save_new(tx: &Transaction<'_>, c: &Conversation) -> PortResult<()> {
    if load(tx, c.id.as_str())?.is_some() {
        return Err(PortError::Backend(format!("conversation id {} is taken", c.id)));
    }
    save(tx, c)
}

/// Inserts or rewrites a conversation row: the queried fields as columns, the whole record as JSON.
pub(super) fn save(tx: &Transaction<'_>, c: &Conversation) -> PortResult<()> {
    tx.execute_cached(
        "INSERT INTO conversations (id, channel_id, channel_number, customer, queue_id, agent_id, state, \
         last_message_at, queued_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
         ON CONFLICT (id) DO UPDATE SET queue_id = excluded.queue_id, agent_id = excluded.agent_id, \
         state = excluded.state, last_message_at = excluded.last_message_at, queued_at = excluded.queued_at, \
         body = excluded.body",
        params![
            c.id.as_str(),
            c.channel_id.as_str(),
            c.channel_number.e164(),
            c.customer.e164(),
            c.queue_id.as_str(),
            c.agent_id.as_ref().map(|a| a.as_str()),
            c.state.as_str(),
            ts(c.last_message_at),
            ts(c.queued_at),
            to_json(c)?,
        ],
    )
    .map_err(sql)?;
    Ok(())
}

/// Rewrites a stored conversation of which only the record and its activity changed (the last message
/// time, the contact link, the language): state, queue, agent and queue time stay as stored, so the indexes
/// on them are left alone (`save`, an upsert of every column, rewrites all of the row's index entries).
pub(super) fn save_activity(tx: &Transaction<'_>, c: &Conversation) -> PortResult<()> {
    tx.execute_cached(
        "UPDATE conversations SET last_message_at = ?2, body = ?3 WHERE id = ?1",
        params![c.id.as_str(), ts(c.last_message_at), to_json(c)?],
    )
    .map_err(sql)?;
    Ok(())
}

/// Gives the conversation's agent, if any, one `active` back (never below zero).
fn release_agent(tx: &Transaction<'_>, c: &Conversation) -> PortResult<()> {
    let Some(agent_id) = &c.agent_id else { return Ok(()) };
    if let Some(mut agent) = load_agent(tx, agent_id.as_str())? {
        agent.active = agent.active.saturating_sub(1);
        save_agent(tx, &agent)?;
        super::teams::release_team_slot(tx, &agent)?;
    }
    Ok(())
}

/// Requeue (into `queue`, else the conversation's own) in one transaction; with `held_by`, only while that
/// agent holds it in a state that is handed back (offline hand-back).
fn requeue_in(
    tx: &Transaction<'_>,
    cid: &str,
    queue: Option<QueueId>,
    at: OffsetDateTime,
    held_by: Option<&AgentId>,
    as_read: Option<(ConversationState, Option<&AgentId>)>,
) -> PortResult<Option<Conversation>> {
    let Some(mut c) = load(tx, cid)? else { return Ok(None) };
    if c.state == ConversationState::Closed {
        return Ok(None);
    }
    if let Some((state, agent)) = as_read
        && (c.state != state || c.agent_id.as_ref() != agent)
    {
        return Ok(None);
    }
    if let Some(agent) = held_by
        && (c.agent_id.as_ref() != Some(agent) || !smsdesk_domain::handback::handed_back_in(c.state))
    {
        return Ok(None);
    }
    release_agent(tx, &c)?;
    super::transfers::release_transferring(tx, &c)?;
    c.state = ConversationState::Open;
    c.agent_id = None;
    if let Some(queue) = queue {
        c.queue_id = queue;
    }
    c.queued_at = at;
    c.offer = None;
    c.refused_by.clear();
    c.declined_at = None;
    c.declined_by.clear();
    c.transfer = None;
    save(tx, &c)?;
    Ok(Some(c))
}

/// Whether the conversation is `routing` at the step that began at `since`.
fn routing_at(c: &Conversation, since: OffsetDateTime) -> bool {
    c.state == ConversationState::Routing && c.routing.as_ref().is_some_and(|r| r.since == since)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl EmbeddedStore {
    /// Close, and with `idle_before` only while the last message is older than it; in one transaction.
    /// With `only_in`, only while the conversation is in that state.
    async fn close_unless(
        &self,
        conversation: &ConversationId,
        idle_before: Option<OffsetDateTime>,
        only_in: Option<ConversationState>,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        let (cid, reason) = (conversation.to_string(), reason.to_string());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state == ConversationState::Closed || only_in.is_some_and(|s| s != c.state) {
                    return Ok(None);
                }
                if idle_before.is_some_and(|cutoff| c.last_message_at >= cutoff) {
                    return Ok(None);
                }
                release_agent(tx, &c)?;
                super::transfers::release_transferring(tx, &c)?;
                c.state = ConversationState::Closed;
                // Never before its last message: a text filed just before the close commits was there first.
                c.closed_at = Some(at.max(c.last_message_at));
                c.close_reason = Some(reason);
                c.offer = None;
                c.transfer = None;
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }
}

#[async_trait]
impl ConversationStore for EmbeddedStore {
    async fn open_conversation(
        &self,
        channel: &ChannelId,
        number: &Phone,
        customer: &Phone,
    ) -> PortResult<Option<Conversation>> {
        let key = (channel.to_string(), number.e164().to_string(), customer.e164().to_string());
        self.db.read(move |tx| one(tx, OPEN, params![key.0, key.1, key.2])).await
    }

    async fn create_conversation(&self, conversation: &Conversation) -> PortResult<OpenOutcome> {
        let c = conversation.clone();
        self.db
            .tx(move |tx| {
                if let Some(existing) = open_like(tx, &c)? {
                    return Ok(OpenOutcome::Existing(existing));
                }
                save_new(tx, &c)?;
                Ok(OpenOutcome::Created(c))
            })
            .await
    }

    async fn get_conversation(&self, id: &ConversationId) -> PortResult<Option<Conversation>> {
        let id = id.to_string();
        self.db.read(move |tx| load(tx, &id)).await
    }

    async fn work_items(&self, agent: &AgentId) -> PortResult<Vec<Conversation>> {
        let agent = agent.to_string();
        self.db
            .read(move |tx| {
                all(
                    tx,
                    "SELECT body FROM conversations WHERE agent_id = ?1 AND state <> 'closed' \
                     ORDER BY last_message_at DESC, id DESC",
                    [agent],
                )
            })
            .await
    }

    async fn open_conversations(&self) -> PortResult<Vec<Conversation>> {
        self.db
            .read(|tx| {
                all(
                    tx,
                    "SELECT body FROM conversations WHERE state <> 'closed' ORDER BY last_message_at DESC, id DESC",
                    [],
                )
            })
            .await
    }

    async fn waiting_in_queue(&self, queue: &QueueId, max: usize) -> PortResult<Vec<Conversation>> {
        let queue = queue.to_string();
        self.db
            .read(move |tx| {
                all(
                    tx,
                    "SELECT body FROM conversations WHERE queue_id = ?1 AND state = 'open' \
                     ORDER BY queued_at, id LIMIT ?2",
                    params![queue, limit(max)],
                )
            })
            .await
    }

    async fn assign(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, aid) = (conversation.to_string(), agent.to_string());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                let Some(mut a) = load_agent(tx, &aid)? else { return Ok(None) };
                if c.state != ConversationState::Open
                    || !a.has_free_capacity()
                    || !super::teams::team_has_room(tx, &a)?
                {
                    return Ok(None);
                }
                c.state = ConversationState::Active;
                c.agent_id = Some(a.id.clone());
                a.active += 1;
                super::teams::take_team_slot(tx, &a)?;
                a.last_assigned_at = Some(at);
                save(tx, &c)?;
                save_agent(tx, &a)?;
                Ok(Some(c))
            })
            .await
    }

    async fn offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        offer: &Offer,
    ) -> PortResult<Option<Conversation>> {
        let (cid, aid, offer) = (conversation.to_string(), agent.to_string(), offer.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                let Some(mut a) = load_agent(tx, &aid)? else { return Ok(None) };
                if c.state != ConversationState::Open
                    || !a.has_free_capacity()
                    || !super::teams::team_has_room(tx, &a)?
                {
                    return Ok(None);
                }
                c.state = ConversationState::Offered;
                c.agent_id = Some(a.id.clone());
                a.active += 1;
                super::teams::take_team_slot(tx, &a)?;
                a.last_assigned_at = Some(offer.offered_at);
                c.offer = Some(offer);
                save(tx, &c)?;
                save_agent(tx, &a)?;
                Ok(Some(c))
            })
            .await
    }

    async fn accept_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, aid) = (conversation.to_string(), agent.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state != ConversationState::Offered || c.agent_id.as_ref() != Some(&aid) {
                    return Ok(None);
                }
                c.state = ConversationState::Active;
                c.offer = None;
                c.state_changed_at = Some(at);
                save(tx, &c)?;
                if let Some(mut a) = load_agent(tx, aid.as_str())? {
                    a.missed_offers = 0;
                    save_agent(tx, &a)?;
                }
                Ok(Some(c))
            })
            .await
    }

    async fn refuse_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        how: Refusal,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, aid) = (conversation.to_string(), agent.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state != ConversationState::Offered
                    || c.agent_id.as_ref() != Some(&aid)
                    || !c.offer.as_ref().is_some_and(|o| smsdesk_domain::offer::may_end(o, how, at))
                {
                    return Ok(None);
                }
                if let Some(mut a) = load_agent(tx, aid.as_str())? {
                    a.active = a.active.saturating_sub(1);
                    if how == Refusal::Missed {
                        a.missed_offers = a.missed_offers.saturating_add(1);
                    }
                    save_agent(tx, &a)?;
                    super::teams::release_team_slot(tx, &a)?;
                }
                c.state = ConversationState::Open;
                c.agent_id = None;
                c.offer = None;
                if how != Refusal::Withdrawn && !c.refused_by.contains(&aid) {
                    c.refused_by.push(aid.clone());
                }
                if how == Refusal::Declined {
                    c.declined_at = Some(at);
                    if !c.declined_by.contains(&aid) {
                        c.declined_by.push(aid);
                    }
                }
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn close(
        &self,
        conversation: &ConversationId,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.close_unless(conversation, None, None, at, reason).await
    }

    async fn close_idle(
        &self,
        conversation: &ConversationId,
        cutoff: OffsetDateTime,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.close_unless(conversation, Some(cutoff), None, at, reason).await
    }

    async fn requeue(
        &self,
        conversation: &ConversationId,
        queue: &QueueId,
        as_read: (ConversationState, Option<&AgentId>),
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, queue) = (conversation.to_string(), queue.clone());
        let (state, agent) = (as_read.0, as_read.1.cloned());
        self.db.tx(move |tx| requeue_in(tx, &cid, Some(queue), at, None, Some((state, agent.as_ref())))).await
    }

    async fn hand_back(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, agent) = (conversation.to_string(), agent.clone());
        self.db.tx(move |tx| requeue_in(tx, &cid, None, at, Some(&agent), None)).await
    }

    async fn move_waiting(
        &self,
        conversation: &ConversationId,
        from: &QueueId,
        to: &QueueId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, from, to) = (conversation.to_string(), from.clone(), to.clone());
        self.db
            .tx(move |tx| {
                let Some(c) = load(tx, &cid)? else { return Ok(None) };
                if !smsdesk_domain::assign::assignable_by_hand(&c) || c.queue_id != from {
                    return Ok(None);
                }
                // Nobody holds it and no transfer is under way: no slot to give back.
                requeue_in(tx, &cid, Some(to), at, None, None)
            })
            .await
    }

    async fn set_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        routing: &Routing,
    ) -> PortResult<Option<Conversation>> {
        let (cid, routing) = (conversation.to_string(), routing.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if !routing_at(&c, expected) {
                    return Ok(None);
                }
                c.routing = Some(routing);
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn leave_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        queue: &QueueId,
        context: Option<&str>,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let (cid, queue, context) = (conversation.to_string(), queue.clone(), context.map(str::to_string));
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if !routing_at(&c, expected) {
                    return Ok(None);
                }
                if let (Some(r), Some(context)) = (c.routing.as_mut(), context) {
                    r.context = Some(context);
                }
                c.state = ConversationState::Open;
                c.queue_id = queue;
                c.queued_at = at;
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn transition(
        &self,
        conversation: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        if !from.holds_agent() || !to.holds_agent() {
            return Err(PortError::Backend(format!(
                "transition {} -> {}: both states must hold an agent",
                from.as_str(),
                to.as_str()
            )));
        }
        let cid = conversation.to_string();
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state != from {
                    return Ok(None);
                }
                c.state = to;
                c.state_changed_at = Some(at);
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn record_wrap_up(
        &self,
        conversation: &ConversationId,
        wrap_up: &WrapUp,
    ) -> PortResult<Option<Conversation>> {
        let (cid, wrap_up) = (conversation.to_string(), wrap_up.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state != ConversationState::WrapUp {
                    return Ok(None);
                }
                c.wrap_up = Some(wrap_up);
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn close_in_state(
        &self,
        conversation: &ConversationId,
        state: ConversationState,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.close_unless(conversation, None, Some(state), at, reason).await
    }

    async fn touch(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<()> {
        let cid = conversation.to_string();
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(()) };
                if at > c.last_message_at {
                    c.last_message_at = at;
                    save_activity(tx, &c)?;
                }
                Ok(())
            })
            .await
    }

    async fn touch_agent_reply(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<bool> {
        let cid = conversation.to_string();
        self.db
            .tx(move |tx| {
                let stored: Option<(String, Option<i64>)> = tx
                    .query_row_cached(
                        "SELECT body, first_reply_at FROM conversations WHERE id = ?1",
                        [&cid],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some((body, first_reply_at)) = stored else { return Ok(false) };
                let mut c: Conversation = from_json(&body)?;
                let first = first_reply_at.is_none();
                let later = at > c.last_message_at;
                if later {
                    c.last_message_at = at;
                }
                // One write for both (the writer holds the row between the read and this write).
                if later || first {
                    let body = if later { to_json(&c)? } else { body };
                    tx.execute_cached(
                        "UPDATE conversations SET last_message_at = ?2, body = ?3, \
                         first_reply_at = COALESCE(first_reply_at, ?4) WHERE id = ?1",
                        params![cid, ts(c.last_message_at), body, ts(at)],
                    )
                    .map_err(sql)?;
                }
                Ok(first)
            })
            .await
    }

    async fn set_contact_link(&self, conversation: &ConversationId, link: &ContactLink) -> PortResult<()> {
        let (cid, link) = (conversation.to_string(), link.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(()) };
                c.contact = link;
                save_activity(tx, &c)
            })
            .await
    }

    async fn move_conversation(
        &self,
        conversation: &ConversationId,
        to: &ChannelId,
    ) -> PortResult<Option<Conversation>> {
        let (cid, to) = (conversation.to_string(), to.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if c.state == ConversationState::Closed {
                    return Ok(None);
                }
                if c.channel_id == to {
                    return Ok(Some(c));
                }
                let key = params![to.as_str(), c.channel_number.e164(), c.customer.e164()];
                if one::<Conversation>(tx, OPEN, key)?.is_some() {
                    return Ok(None);
                }
                c.channel_id = to;
                tx.execute_cached(
                    "UPDATE conversations SET channel_id = ?1, body = ?2 WHERE id = ?3",
                    params![c.channel_id.as_str(), to_json(&c)?, c.id.as_str()],
                )
                .map_err(sql)?;
                Ok(Some(c))
            })
            .await
    }
}
