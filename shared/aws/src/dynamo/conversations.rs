//! Conversations: one open per (channel, number, customer) through a pointer item written in the same
//! transaction; assignment, close and requeue as transactions that keep the agent's `active` count exact.
//!
//! The agent's share of a conversation is a `WORK#<agent>` / `CONV#<id>` membership item: assignment
//! creates it together with `active + 1`, close and requeue delete it together with `active - 1`, and the
//! delete is conditional on its existence, so capacity goes back exactly once however many racers try.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::TransactWriteItem;
use smsdesk_domain::offer::Refusal;
use smsdesk_domain::*;
use smsdesk_ports::{AgentStore, ConversationStore, OpenOutcome, PortResult};
use time::OffsetDateTime;

use super::{Cond, DynamoStore, Query, Tx, attempts, contention, keys};
use crate::attr::{Expr, Item, from_item, get_s, n, record_item, rfc3339, s, sortable, to_attr};

/// The mark of a conversation's first agent reply (N: its time in ns), set once by `touch_agent_reply`.
const FIRST_REPLY: &str = "first_reply_ns";

impl DynamoStore {
    /// The writes that open a new conversation: its open pointer (absent: no other conversation is open for
    /// the customer on this number) unless it is closed, and its item (absent: the id is new).
    pub(super) fn opening(&self, c: &Conversation) -> PortResult<Vec<TransactWriteItem>> {
        let mut tx = Vec::new();
        if c.state != ConversationState::Closed {
            let pointer = keys::item_with(
                keys::open_pointer(&c.channel_id, &c.channel_number, &c.customer),
                [("target", s(c.id.as_str())), ("entity", s("open_pointer"))],
            );
            tx.push(self.put_item(pointer, Some(absent()))?);
        }
        tx.push(self.put_item(conversation_item(c)?, Some(absent()))?);
        Ok(tx)
    }
}

/// Index sort key: time first (fixed width), then the id so that equal times stay distinct.
pub(crate) fn order_key(at: OffsetDateTime, id: &ConversationId) -> String {
    format!("{}#{id}", sortable(at))
}

/// The full item of a conversation: its fields, keys, and the index attributes its state calls for.
fn conversation_item(c: &Conversation) -> PortResult<Item> {
    let mut item = record_item(c)?;
    item.extend(keys::conversation(&c.id));
    item.insert("entity".into(), s("conversation"));
    item.insert("activity".into(), s(order_key(c.last_message_at, &c.id)));
    if c.state != ConversationState::Closed {
        item.insert("open_flag".into(), s(keys::open_flag(&c.id)));
    }
    if c.state == ConversationState::Open {
        item.insert("wait_queue".into(), s(c.queue_id.as_str()));
        item.insert("wait_order".into(), s(order_key(c.queued_at, &c.id)));
    }
    Ok(item)
}

/// `attribute_not_exists(pk)`: the item is new.
pub(crate) fn absent() -> Cond {
    let mut expr = Expr::new();
    Cond { expression: format!("attribute_not_exists({})", expr.name("pk")), expr }
}

/// `attribute_exists(pk)`: the item is there.
pub(crate) fn present() -> Cond {
    let mut expr = Expr::new();
    Cond { expression: format!("attribute_exists({})", expr.name("pk")), expr }
}

/// The condition that the conversation is still in the state and with the agent it was read with.
pub(crate) fn unchanged(expr: &mut Expr, current: &Conversation) -> String {
    let state = expr.eq("state", s(current.state.as_str()));
    let agent = match &current.agent_id {
        Some(a) => expr.eq("agent_id", s(a.as_str())),
        None => {
            let name = expr.name("agent_id");
            format!("(attribute_not_exists({name}) OR attribute_type({name}, {}))", expr.value(s("NULL")))
        }
    };
    format!("{state} AND {agent}")
}

/// The condition that the conversation is `routing` at the step that began at `since`.
fn routing_at(expr: &mut Expr, since: OffsetDateTime) -> PortResult<String> {
    let state = expr.eq("state", s(ConversationState::Routing.as_str()));
    let path = format!("{}.{}", expr.name("routing"), expr.name("since"));
    Ok(format!(
        "attribute_exists({}) AND {state} AND {path} = {}",
        expr.name("pk"),
        expr.value(s(rfc3339(since)?))
    ))
}

/// What close and requeue do to a conversation.
enum Leave<'a> {
    /// With `idle_before`, only while the last message is older than it (auto-close).
    /// With `only_in`, only while the conversation is in that state.
    Close {
        at: OffsetDateTime,
        reason: &'a str,
        idle_before: Option<OffsetDateTime>,
        only_in: Option<ConversationState>,
    },
    /// With `held_by`, only while that agent holds the conversation in a state that is handed back
    /// (offline hand-back); with `as_read`, only while it is in that state with that agent.
    Requeue {
        queue: &'a QueueId,
        at: OffsetDateTime,
        held_by: Option<&'a AgentId>,
        as_read: Option<(ConversationState, Option<&'a AgentId>)>,
    },
}

impl Leave<'_> {
    fn apply(&self, current: &Conversation) -> Conversation {
        match self {
            Leave::Close { at, reason, .. } => Conversation {
                state: ConversationState::Closed,
                // Never before its last message: a text filed just before the close was there first.
                closed_at: Some((*at).max(current.last_message_at)),
                close_reason: Some(reason.to_string()),
                offer: None,
                transfer: None,
                ..current.clone()
            },
            Leave::Requeue { queue, at, .. } => Conversation {
                state: ConversationState::Open,
                agent_id: None,
                queue_id: (*queue).clone(),
                queued_at: *at,
                offer: None,
                refused_by: Vec::new(),
                declined_at: None,
                declined_by: Vec::new(),
                transfer: None,
                ..current.clone()
            },
        }
    }

    /// The update expression that turns `current` into `self.apply(current)`.
    fn update(&self, expr: &mut Expr, current: &Conversation) -> PortResult<String> {
        Ok(match self {
            Leave::Close { at, reason, .. } => format!(
                "SET {}, {}, {} REMOVE {}, {}, {}, {}",
                expr.eq("state", s(ConversationState::Closed.as_str())),
                expr.eq("closed_at", s(rfc3339((*at).max(current.last_message_at))?)),
                expr.eq("close_reason", s(*reason)),
                expr.name("wait_queue"),
                expr.name("open_flag"),
                expr.name("offer"),
                expr.name("transfer"),
            ),
            Leave::Requeue { queue, at, .. } => format!(
                "SET {}, {}, {}, {}, {}, {} REMOVE {}, {}, {}, {}, {}",
                expr.eq("state", s(ConversationState::Open.as_str())),
                expr.eq("agent_id", to_attr(&serde_json::Value::Null)),
                expr.eq("queue_id", s(queue.as_str())),
                expr.eq("queued_at", s(rfc3339(*at)?)),
                expr.eq("wait_queue", s(queue.as_str())),
                expr.eq("wait_order", s(order_key(*at, &current.id))),
                expr.name("offer"),
                expr.name("refused_by"),
                expr.name("declined_at"),
                expr.name("declined_by"),
                expr.name("transfer"),
            ),
        })
    }
}

/// `agents` with `agent` added (once), as the attribute a list of agents is stored as.
fn with_agent(agents: &[AgentId], agent: &AgentId, what: &str) -> PortResult<AttributeValue> {
    let mut agents = agents.to_vec();
    if !agents.contains(agent) {
        agents.push(agent.clone());
    }
    let value = serde_json::to_value(&agents)
        .map_err(|e| smsdesk_ports::PortError::Backend(format!("{what}: {e}")))?;
    Ok(to_attr(&value))
}

/// Which optional parts a close or requeue transaction carries; a part whose condition failed is left out
/// on the next round (the membership already gone means the capacity was already given back).
#[derive(Default)]
struct Parts {
    skip_pointer: bool,
    /// The slot of the conversation's agent.
    holder: super::transfers::GiveBack,
    /// The slot a transfer's first agent held (`transfers.rs`).
    transferring: super::transfers::GiveBack,
}

impl DynamoStore {
    /// Close and requeue: one transaction moves the conversation and gives the agent's capacity back.
    async fn leave(&self, id: &ConversationId, change: Leave<'_>) -> PortResult<Option<Conversation>> {
        let mut parts = Parts::default();
        for _ in attempts() {
            let Some(current) = self.get_conversation(id).await? else { return Ok(None) };
            if current.state == ConversationState::Closed {
                return Ok(None);
            }
            if let Leave::Close { only_in: Some(state), .. } = &change
                && current.state != *state
            {
                return Ok(None); // `unchanged` below keeps this true until the transaction commits
            }
            if let Leave::Requeue { held_by: Some(agent), .. } = &change
                && (current.agent_id.as_ref() != Some(*agent)
                    || !smsdesk_domain::handback::handed_back_in(current.state))
            {
                return Ok(None); // as above: `unchanged` keeps state and agent as read
            }
            if let Leave::Requeue { as_read: Some((state, agent)), .. } = &change
                && (current.state != *state || current.agent_id.as_ref() != *agent)
            {
                return Ok(None); // likewise
            }
            let idle_before = match &change {
                Leave::Close { idle_before, .. } => *idle_before,
                Leave::Requeue { .. } => None,
            };
            if idle_before.is_some_and(|cutoff| current.last_message_at >= cutoff) {
                return Ok(None); // a message came after the cut-off: not idle any more
            }
            let mut expr = Expr::new();
            let update = change.update(&mut expr, &current)?;
            let mut condition = unchanged(&mut expr, &current);
            if let Leave::Close { .. } = change {
                // `closed_at` is computed from the last message read: no message may land in between. And
                // the open pointer deleted is the one under the channel read: a number moved meanwhile
                // (`move_conversation`) put it under another, which would stay naming a closed conversation.
                let read = order_key(current.last_message_at, &current.id);
                condition = format!(
                    "{condition} AND {} AND {}",
                    expr.eq("activity", s(read)),
                    expr.eq("channel_id", s(current.channel_id.as_str()))
                );
            }
            if let Some(cutoff) = idle_before {
                // `activity` is the last message time (fixed width) then `#id`: below the bare cut-off time
                // exactly when the last message is older than the cut-off.
                condition = format!(
                    "{condition} AND {} < {}",
                    expr.name("activity"),
                    expr.value(s(sortable(cutoff)))
                );
            }
            let mut tx = vec![self.update_item(keys::conversation(id), update, Some(condition), expr)?];
            let pointer_at = if matches!(change, Leave::Close { .. }) && !parts.skip_pointer {
                tx.push(self.delete_open_pointer(&current)?);
                Some(tx.len() - 1)
            } else {
                None
            };
            let holder = match &current.agent_id {
                Some(agent) => {
                    Some((agent, self.give_back_slot(&mut tx, agent, &current.id, &parts.holder)?))
                }
                None => None,
            };
            let mut from = match &current.transfer {
                Some(t) => Some((
                    &t.from_agent,
                    self.give_back_slot(&mut tx, &t.from_agent, &current.id, &parts.transferring)?,
                )),
                None => None,
            };
            // A transfer between two members of one team: both slots go back to the team in one update (a
            // transaction names an item once; two updates of it would be refused whole).
            if let (Some((_, held)), Some((_, sent))) = (&holder, &mut from)
                && let (Some(first), Some(second)) = (held.team, sent.team)
                && second + 1 == tx.len()
                && parts.holder.team == parts.transferring.team
                && let Some(team) = parts.holder.team.as_ref()
            {
                tx.remove(second);
                tx[first] = self.release_team_slots(team, 2)?;
                sent.team = Some(first);
            }
            match self.transact(tx).await? {
                Tx::Committed => return Ok(Some(change.apply(&current))),
                outcome => {
                    parts.skip_pointer |= pointer_at.is_some_and(|i| outcome.failed_at(i));
                    if let Some((agent, placed)) = holder {
                        self.settle(&mut parts.holder, agent, placed, &outcome).await?;
                    }
                    if let Some((agent, placed)) = from {
                        self.settle(&mut parts.transferring, agent, placed, &outcome).await?;
                    }
                }
            }
        }
        Err(contention("close/requeue"))
    }

    /// Assignment (`offer` None: straight to `active`) or an offer (`offered`): one transaction moves the
    /// conversation from `open` to the agent, takes one of the agent's slots while it is available with free
    /// capacity, and writes the agent's membership item.
    async fn take(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
        offer: Option<&Offer>,
    ) -> PortResult<Option<Conversation>> {
        // Most agents are in no team: the first round assumes none and reads nothing more; when the agent's
        // condition refuses, the agent is read, and a member's team joins the transaction (its `active`
        // below its capacity, + 1) on the next round.
        let mut team: Option<TeamId> = None;
        for _ in 0..3 {
            let mut conv = Expr::new();
            let state = if offer.is_some() { ConversationState::Offered } else { ConversationState::Active };
            let mut set = format!(
                "SET {}, {}",
                conv.eq("state", s(state.as_str())),
                conv.eq("agent_id", s(agent.as_str())),
            );
            if let Some(offer) = offer {
                let value = serde_json::to_value(offer)
                    .map_err(|e| smsdesk_ports::PortError::Backend(format!("offer: {e}")))?;
                set = format!("{set}, {}", conv.eq("offer", to_attr(&value)));
            }
            let update = format!("{set} REMOVE {}", conv.name("wait_queue"));
            let condition = conv.eq("state", s(ConversationState::Open.as_str()));
            let conv_update =
                self.update_item(keys::conversation(conversation), update, Some(condition), conv)?;

            let mut ag = Expr::new();
            let active = ag.name("active");
            let update = format!(
                "SET {active} = {active} + {}, {}",
                ag.value(n(1)),
                ag.eq("last_assigned_at", s(rfc3339(at)?))
            );
            let condition = format!(
                "{} AND {active} < {} AND {}",
                ag.eq("presence", s(Presence::Available.as_str())),
                ag.name("capacity"),
                super::teams::team_is(&mut ag, team.as_ref())
            );
            let agent_update = self.update_item(keys::agent(agent), update, Some(condition), ag)?;

            let membership = keys::item_with(
                keys::work(agent, conversation),
                [("target", s(conversation.as_str())), ("entity", s("work"))],
            );
            let mut tx = vec![conv_update, agent_update, self.put_item(membership, None)?];
            if let Some(t) = &team {
                tx.push(self.take_team_slot(t)?);
            }
            match self.transact(tx).await? {
                Tx::Committed => return self.get_conversation(conversation).await,
                outcome if outcome.failed_at(1) => {
                    let Some(read) = self.get_agent(agent).await? else { return Ok(None) };
                    if read.team_id == team {
                        return Ok(None); // away, or at its own capacity
                    }
                    team = read.team_id;
                }
                Tx::Cancelled(_) => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Deletes the open pointer if it still names this conversation.
    fn delete_open_pointer(&self, c: &Conversation) -> PortResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let expression =
            format!("attribute_not_exists({}) OR {}", expr.name("pk"), expr.eq("target", s(c.id.as_str())));
        let key = keys::open_pointer(&c.channel_id, &c.channel_number, &c.customer);
        self.delete_item(key, Some(Cond { expression, expr }))
    }

    /// The conversations `agent` has a `WORK#` membership item of (those it holds a slot for), as stored.
    pub(crate) async fn memberships(&self, agent: &AgentId) -> PortResult<Vec<Conversation>> {
        let members = self.query(Query::prefix(&keys::work_partition(agent), "CONV#")).await?;
        let wanted = members
            .iter()
            .filter_map(|m| get_s(m, "target"))
            .map(|id| keys::conversation(&ConversationId::new(id)));
        let items = self.batch_get(wanted.collect()).await?;
        Self::conversations(&items)
    }

    /// Conversations from index or membership items, re-read whole where needed.
    fn conversations(items: &[Item]) -> PortResult<Vec<Conversation>> {
        items.iter().map(from_item).collect()
    }

    /// Every shard of the open-conversations index, merged, most recent `activity` first. The index is keyed
    /// by conversation, not by activity, so each shard is read whole and the order is made here.
    async fn open_items(&self) -> PortResult<Vec<Item>> {
        let queries = keys::open_flags().map(Self::open_query).collect();
        let mut items: Vec<Item> = self.query_all(queries).await?.into_iter().flatten().collect();
        items.sort_by(|a, b| get_s(b, "activity").cmp(&get_s(a, "activity")));
        Ok(items)
    }

    /// A query of one whole shard of the open-conversations index.
    fn open_query(flag: String) -> Query {
        let mut expr = Expr::new();
        let key_condition = expr.eq("open_flag", s(flag));
        Query { index: Some(keys::OPEN_INDEX), key_condition, filter: None, expr, forward: true, max: None }
    }
}

#[async_trait]
impl ConversationStore for DynamoStore {
    async fn open_conversation(
        &self,
        channel: &ChannelId,
        number: &Phone,
        customer: &Phone,
    ) -> PortResult<Option<Conversation>> {
        self.follow_pointer(keys::open_pointer(channel, number, customer), |target| async move {
            let found = self.get_conversation(&ConversationId::new(target)).await?;
            // Still open, and still the one this pointer's key names (a moved conversation left this key).
            Ok(found.filter(|c| {
                c.state != ConversationState::Closed
                    && &c.channel_id == channel
                    && &c.channel_number == number
                    && &c.customer == customer
            }))
        })
        .await
    }

    async fn create_conversation(&self, conversation: &Conversation) -> PortResult<OpenOutcome> {
        let c = conversation;
        for _ in attempts() {
            if let Tx::Committed = self.transact(self.opening(c)?).await? {
                return Ok(OpenOutcome::Created(c.clone()));
            }
            if let Some(open) = self.open_conversation(&c.channel_id, &c.channel_number, &c.customer).await? {
                return Ok(OpenOutcome::Existing(open));
            }
            // The id itself was taken (a retried create whose conversation has closed since).
            if let Some(same) = self.get_conversation(&c.id).await? {
                return Ok(OpenOutcome::Existing(same));
            }
            // The open one closed between our write and our read: try again.
        }
        Err(contention("create_conversation"))
    }

    async fn get_conversation(&self, id: &ConversationId) -> PortResult<Option<Conversation>> {
        self.get(keys::conversation(id)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn work_items(&self, agent: &AgentId) -> PortResult<Vec<Conversation>> {
        let mut list: Vec<Conversation> = self
            .memberships(agent)
            .await?
            .into_iter()
            .filter(|c| c.state != ConversationState::Closed && c.agent_id.as_ref() == Some(agent))
            .collect();
        list.sort_by(|a, b| (b.last_message_at, &b.id).cmp(&(a.last_message_at, &a.id)));
        Ok(list)
    }

    async fn open_conversations(&self) -> PortResult<Vec<Conversation>> {
        let items = self.open_items().await?;
        let list = Self::conversations(&items)?;
        Ok(list.into_iter().filter(|c| c.state != ConversationState::Closed).collect())
    }

    async fn waiting_in_queue(&self, queue: &QueueId, limit: usize) -> PortResult<Vec<Conversation>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut expr = Expr::new();
        let key_condition = expr.eq("wait_queue", s(queue.as_str()));
        let q = Query {
            index: Some(keys::WAITING_INDEX),
            key_condition,
            filter: None,
            expr,
            forward: true,
            max: Some(limit),
        };
        let list = Self::conversations(&self.query(q).await?)?;
        Ok(list.into_iter().filter(|c| c.state == ConversationState::Open && &c.queue_id == queue).collect())
    }

    async fn assign(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        self.take(conversation, agent, at, None).await
    }

    async fn offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        offer: &Offer,
    ) -> PortResult<Option<Conversation>> {
        self.take(conversation, agent, offer.offered_at, Some(offer)).await
    }

    async fn accept_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let mut conv = Expr::new();
        let update = format!(
            "SET {}, {} REMOVE {}",
            conv.eq("state", s(ConversationState::Active.as_str())),
            conv.eq("state_changed_at", s(rfc3339(at)?)),
            conv.name("offer"),
        );
        let condition = format!(
            "{} AND {}",
            conv.eq("state", s(ConversationState::Offered.as_str())),
            conv.eq("agent_id", s(agent.as_str()))
        );
        let conv_update =
            self.update_item(keys::conversation(conversation), update, Some(condition), conv)?;
        let mut ag = Expr::new();
        let update = format!("SET {}", ag.eq("missed_offers", n(0)));
        let agent_update = self.update_item(keys::agent(agent), update, None, ag)?;
        match self.transact(vec![conv_update, agent_update]).await? {
            Tx::Committed => self.get_conversation(conversation).await,
            Tx::Cancelled(_) => Ok(None),
        }
    }

    async fn refuse_offer(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        how: Refusal,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        // The agent's team, as in `take`: none until the agent's condition says otherwise. A team count
        // already at 0 (drifted) is left alone rather than refusing the decline for ever, as the embedded
        // store clamps it.
        let mut team: Option<TeamId> = None;
        let mut skip_team = false;
        for _ in attempts() {
            let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
            let Some(offer) = current.offer.as_ref() else { return Ok(None) };
            if current.state != ConversationState::Offered
                || current.agent_id.as_ref() != Some(agent)
                || !smsdesk_domain::offer::may_end(offer, how, at)
            {
                return Ok(None);
            }
            let mut conv = Expr::new();
            let mut update = format!(
                "SET {}, {}, {}, {}",
                conv.eq("state", s(ConversationState::Open.as_str())),
                conv.eq("agent_id", to_attr(&serde_json::Value::Null)),
                conv.eq("wait_queue", s(current.queue_id.as_str())),
                conv.eq("wait_order", s(order_key(current.queued_at, &current.id))),
            );
            if how != Refusal::Withdrawn {
                let refused_by = with_agent(&current.refused_by, agent, "refused_by")?;
                update = format!("{update}, {}", conv.eq("refused_by", refused_by));
            }
            if how == Refusal::Declined {
                let declined_by = with_agent(&current.declined_by, agent, "declined_by")?;
                update = format!(
                    "{update}, {}, {}",
                    conv.eq("declined_at", s(rfc3339(at)?)),
                    conv.eq("declined_by", declined_by)
                );
            }
            update = format!("{update} REMOVE {}", conv.name("offer"));
            // This very offer (the same agent may have been offered it again since the read).
            let condition = format!(
                "{} AND {}.{} = {}",
                unchanged(&mut conv, &current),
                conv.name("offer"),
                conv.name("offered_at"),
                conv.value(s(rfc3339(offer.offered_at)?))
            );
            let conv_update =
                self.update_item(keys::conversation(conversation), update, Some(condition), conv)?;
            let membership = self.delete_item(keys::work(agent, conversation), Some(present()))?;
            let mut ag = Expr::new();
            let active = ag.name("active");
            let mut update = format!("SET {active} = {active} - {}", ag.value(n(1)));
            if how == Refusal::Missed {
                let missed_name = ag.name("missed_offers");
                update = format!(
                    "{update}, {missed_name} = if_not_exists({missed_name}, {}) + {}",
                    ag.value(n(0)),
                    ag.value(n(1))
                );
            }
            let condition = format!(
                "{active} > {} AND {}",
                ag.value(n(0)),
                super::teams::team_is(&mut ag, team.as_ref())
            );
            let agent_update = self.update_item(keys::agent(agent), update, Some(condition), ag)?;
            let mut tx = vec![conv_update, membership, agent_update];
            if let Some(t) = team.as_ref().filter(|_| !skip_team) {
                tx.push(self.release_team_slot(t)?);
            }
            match self.transact(tx).await? {
                Tx::Committed => return self.get_conversation(conversation).await,
                outcome if outcome.failed_at(2) => {
                    if let Some(read) = self.get_agent(agent).await? {
                        team = read.team_id;
                    }
                }
                outcome if outcome.failed_at(3) => skip_team = true,
                Tx::Cancelled(_) => {}
            }
        }
        Err(contention("refuse_offer"))
    }

    async fn close(
        &self,
        conversation: &ConversationId,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.leave(conversation, Leave::Close { at, reason, idle_before: None, only_in: None }).await
    }

    async fn close_idle(
        &self,
        conversation: &ConversationId,
        cutoff: OffsetDateTime,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.leave(conversation, Leave::Close { at, reason, idle_before: Some(cutoff), only_in: None }).await
    }

    async fn requeue(
        &self,
        conversation: &ConversationId,
        queue: &QueueId,
        as_read: (ConversationState, Option<&AgentId>),
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        self.leave(conversation, Leave::Requeue { queue, at, held_by: None, as_read: Some(as_read) }).await
    }

    async fn hand_back(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
        let queue = current.queue_id.clone();
        self.leave(conversation, Leave::Requeue { queue: &queue, at, held_by: Some(agent), as_read: None })
            .await
    }

    async fn move_waiting(
        &self,
        conversation: &ConversationId,
        from: &QueueId,
        to: &QueueId,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
        if !smsdesk_domain::assign::assignable_by_hand(&current) || &current.queue_id != from {
            return Ok(None);
        }
        // Nobody holds it and no transfer is under way: no slot to give back, one conditional write.
        let mut expr = Expr::new();
        let update =
            Leave::Requeue { queue: to, at, held_by: None, as_read: None }.update(&mut expr, &current)?;
        let as_read = unchanged(&mut expr, &current);
        let transfer = expr.name("transfer");
        let null = expr.value(s("NULL"));
        let queue = expr.eq("queue_id", s(from.as_str()));
        let condition = format!(
            "{as_read} AND (attribute_not_exists({transfer}) OR attribute_type({transfer}, {null})) AND {queue}"
        );
        let item = self.update(keys::conversation(conversation), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }

    async fn set_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        routing: &Routing,
    ) -> PortResult<Option<Conversation>> {
        let mut expr = Expr::new();
        let value = serde_json::to_value(routing)
            .map_err(|e| smsdesk_ports::PortError::Backend(format!("routing does not serialize: {e}")))?;
        let update = format!("SET {}", expr.eq("routing", to_attr(&value)));
        let condition = routing_at(&mut expr, expected)?;
        let item = self.update(keys::conversation(conversation), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }

    async fn leave_routing(
        &self,
        conversation: &ConversationId,
        expected: OffsetDateTime,
        queue: &QueueId,
        context: Option<&str>,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let mut expr = Expr::new();
        let mut update = format!(
            "SET {}, {}, {}, {}, {}",
            expr.eq("state", s(ConversationState::Open.as_str())),
            expr.eq("queue_id", s(queue.as_str())),
            expr.eq("queued_at", s(rfc3339(at)?)),
            expr.eq("wait_queue", s(queue.as_str())),
            expr.eq("wait_order", s(order_key(at, conversation))),
        );
        if let Some(context) = context {
            let path = format!("{}.{}", expr.name("routing"), expr.name("context"));
            update = format!("{update}, {path} = {}", expr.value(s(context)));
        }
        let condition = routing_at(&mut expr, expected)?;
        let item = self.update(keys::conversation(conversation), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }

    async fn transition(
        &self,
        conversation: &ConversationId,
        from: ConversationState,
        to: ConversationState,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        if !from.holds_agent() || !to.holds_agent() {
            return Err(smsdesk_ports::PortError::Backend(format!(
                "transition {} -> {}: both states must hold an agent",
                from.as_str(),
                to.as_str()
            )));
        }
        // Both states are open and not waiting in a queue: the index attributes stay as they are.
        let mut expr = Expr::new();
        let update = format!(
            "SET {}, {}",
            expr.eq("state", s(to.as_str())),
            expr.eq("state_changed_at", s(rfc3339(at)?))
        );
        let condition =
            format!("attribute_exists({}) AND {}", expr.name("pk"), expr.eq("state", s(from.as_str())));
        match self.update(keys::conversation(conversation), update, Some(condition), expr).await? {
            Some(item) => Ok(Some(from_item(&item)?)),
            None => Ok(None),
        }
    }

    async fn record_wrap_up(
        &self,
        conversation: &ConversationId,
        wrap_up: &WrapUp,
    ) -> PortResult<Option<Conversation>> {
        let value = serde_json::to_value(wrap_up)
            .map_err(|e| smsdesk_ports::PortError::Backend(format!("wrap-up does not serialize: {e}")))?;
        let mut expr = Expr::new();
        let update = format!("SET {}", expr.eq("wrap_up", to_attr(&value)));
        let condition = format!(
            "attribute_exists({}) AND {}",
            expr.name("pk"),
            expr.eq("state", s(ConversationState::WrapUp.as_str()))
        );
        match self.update(keys::conversation(conversation), update, Some(condition), expr).await? {
            Some(item) => Ok(Some(from_item(&item)?)),
            None => Ok(None),
        }
    }

    async fn close_in_state(
        &self,
        conversation: &ConversationId,
        state: ConversationState,
        at: OffsetDateTime,
        reason: &str,
    ) -> PortResult<Option<Conversation>> {
        self.leave(conversation, Leave::Close { at, reason, idle_before: None, only_in: Some(state) }).await
    }

    async fn touch(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<()> {
        let mut expr = Expr::new();
        let activity = order_key(at, conversation);
        let update = format!(
            "SET {}, {}",
            expr.eq("last_message_at", s(rfc3339(at)?)),
            expr.eq("activity", s(activity.clone()))
        );
        let condition = format!(
            "attribute_exists({}) AND {} < {}",
            expr.name("pk"),
            expr.name("activity"),
            expr.value(s(activity))
        );
        self.update(keys::conversation(conversation), update, Some(condition), expr).await.map(|_| ())
    }

    async fn touch_agent_reply(&self, conversation: &ConversationId, at: OffsetDateTime) -> PortResult<bool> {
        // The touch's own write carries the mark (`first_reply_ns`, set once): the item before it says
        // whether this was the first agent reply. Only when the touch's condition refuses (a newer message
        // moved `activity` already, or the conversation is gone) does the mark take a write of its own.
        let mut expr = Expr::new();
        let activity = order_key(at, conversation);
        let mark = expr.name(FIRST_REPLY);
        let update = format!(
            "SET {}, {}, {mark} = if_not_exists({mark}, {})",
            expr.eq("last_message_at", s(rfc3339(at)?)),
            expr.eq("activity", s(activity.clone())),
            expr.value(n(at.unix_timestamp_nanos())),
        );
        let condition = format!(
            "attribute_exists({}) AND {} < {}",
            expr.name("pk"),
            expr.name("activity"),
            expr.value(s(activity))
        );
        let key = keys::conversation(conversation);
        let returns = aws_sdk_dynamodb::types::ReturnValue::AllOld;
        if let Some(before) =
            self.update_returning(key.clone(), update, Some(condition), expr, returns).await?
        {
            return Ok(!before.contains_key(FIRST_REPLY));
        }
        let mut expr = Expr::new();
        let mark = expr.name(FIRST_REPLY);
        let update = format!("SET {mark} = {}", expr.value(n(at.unix_timestamp_nanos())));
        let condition = format!("attribute_exists({}) AND attribute_not_exists({mark})", expr.name("pk"));
        Ok(self.update(key, update, Some(condition), expr).await?.is_some())
    }

    async fn set_contact_link(&self, conversation: &ConversationId, link: &ContactLink) -> PortResult<()> {
        let value = serde_json::to_value(link).map_err(|e| {
            smsdesk_ports::PortError::Backend(format!("contact link does not serialize: {e}"))
        })?;
        let mut expr = Expr::new();
        let update = format!("SET {}", expr.eq("contact", to_attr(&value)));
        let condition = format!("attribute_exists({})", expr.name("pk"));
        self.update(keys::conversation(conversation), update, Some(condition), expr).await.map(|_| ())
    }

    async fn move_conversation(
        &self,
        conversation: &ConversationId,
        to: &ChannelId,
    ) -> PortResult<Option<Conversation>> {
        for _ in attempts() {
            let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
            if current.state == ConversationState::Closed {
                return Ok(None);
            }
            if &current.channel_id == to {
                return Ok(Some(current));
            }
            if let Some(open) = self.open_conversation(to, &current.channel_number, &current.customer).await?
                && open.id != current.id
            {
                return Ok(None);
            }
            let mut moved = current.clone();
            moved.channel_id = to.clone();
            // The conversation, still open and on the channel it was read on, changes channel; its open
            // pointer moves with it, under the new channel's key, in the same transaction.
            let mut expr = Expr::new();
            let update = format!("SET {}", expr.eq("channel_id", s(to.as_str())));
            let condition = format!(
                "{} AND attribute_exists({})",
                expr.eq("channel_id", s(current.channel_id.as_str())),
                expr.name("open_flag"),
            );
            let pointer = keys::item_with(
                keys::open_pointer(to, &current.channel_number, &current.customer),
                [("target", s(current.id.as_str())), ("entity", s("open_pointer"))],
            );
            let tx = vec![
                self.update_item(keys::conversation(conversation), update, Some(condition), expr)?,
                self.delete_open_pointer(&current)?,
                self.put_item(pointer, Some(absent()))?,
            ];
            if let Tx::Committed = self.transact(tx).await? {
                return Ok(Some(moved));
            }
        }
        Err(contention("move_conversation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(state: ConversationState) -> Conversation {
        let at = time::macros::datetime!(2026-03-01 10:00 UTC);
        let phone = |d: &str| Phone::parse_digits(d).unwrap();
        Conversation {
            id: ConversationId::new("cv_1"),
            channel_id: ChannelId::new("ch_1"),
            channel_number: phone("15551230000"),
            customer: phone("447700900123"),
            queue_id: QueueId::new("q_1"),
            agent_id: None,
            state,
            contact: ContactLink::Pending,
            language: None,
            created_at: at,
            last_message_at: at,
            queued_at: at,
            closed_at: None,
            close_reason: None,
            routing: None,
            state_changed_at: None,
            wrap_up: None,
            offer: None,
            refused_by: Vec::new(),
            declined_at: None,
            declined_by: Vec::new(),
            transfer: None,
        }
    }

    #[test]
    fn sharded_keys_are_stable_and_spread() {
        // The hash is part of the table's layout: an item must land where every other process looks.
        assert_eq!(keys::shard("ag_1", 4), keys::shard("ag_1", 4));
        assert_eq!(keys::shard("", 8), 0x811c_9dc5 % 8);
        let flag = keys::open_flag(&ConversationId::new("cv_1"));
        assert!(keys::open_flags().any(|f| f == flag), "{flag}");
        let mut used = std::collections::BTreeSet::new();
        for i in 0..64 {
            used.insert(keys::shard(&format!("cv_{i:032x}"), keys::OPEN_SHARDS));
            let agent = keys::agent(&AgentId::new(format!("ag_{i}")));
            let pk = agent["pk"].as_s().unwrap().clone();
            assert!(keys::agents_partitions().any(|p| p == pk), "{pk}");
        }
        assert_eq!(used.len(), keys::OPEN_SHARDS as usize, "64 ids reach every shard");
        // A reply's `queued` entry: in one of the shards the sweep reads, which also reads the unsharded
        // partition of tables written before.
        let mut queued = std::collections::BTreeSet::new();
        for i in 0..64 {
            let entry =
                keys::queued(time::OffsetDateTime::UNIX_EPOCH, &MessageId::new(format!("msg_{i:032x}")));
            let pk = entry["pk"].as_s().unwrap().clone();
            assert!(keys::queued_partitions().any(|p| p == pk), "{pk}");
            queued.insert(pk);
        }
        assert_eq!(queued.len(), keys::QUEUED_SHARDS as usize, "64 replies reach every shard");
        assert!(keys::queued_partitions().any(|p| p == keys::QUEUED), "the unsharded partition is read too");
    }

    #[test]
    fn index_attributes_follow_the_state() {
        let waiting = conversation_item(&conv(ConversationState::Open)).unwrap();
        assert!(waiting.contains_key("wait_queue") && waiting.contains_key("open_flag"));
        let assigned = conversation_item(&conv(ConversationState::Active)).unwrap();
        assert!(!assigned.contains_key("wait_queue") && assigned.contains_key("open_flag"));
        let closed = conversation_item(&conv(ConversationState::Closed)).unwrap();
        assert!(!closed.contains_key("wait_queue") && !closed.contains_key("open_flag"));
        assert_eq!(from_item::<Conversation>(&closed).unwrap(), conv(ConversationState::Closed));
    }

    #[test]
    fn close_keeps_the_agent_requeue_drops_it() {
        let mut c = conv(ConversationState::Active);
        c.agent_id = Some(AgentId::new("ag_1"));
        let at = c.created_at + time::Duration::minutes(5);
        let closed = Leave::Close { at, reason: "done", idle_before: None, only_in: None }.apply(&c);
        assert_eq!((closed.state, closed.agent_id.clone()), (ConversationState::Closed, c.agent_id.clone()));
        let q2 = QueueId::new("q_2");
        let requeued = Leave::Requeue { queue: &q2, at, held_by: None, as_read: None }.apply(&c);
        assert_eq!(
            (requeued.state, requeued.agent_id, requeued.queued_at),
            (ConversationState::Open, None, at)
        );
    }
}
