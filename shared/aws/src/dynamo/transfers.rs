//! Transfers (issue 11.5): each move one transaction over the conversation, the agents' membership items
//! and their `active` counts (see `conversations.rs` for the membership scheme). While a transfer is under
//! way the first agent keeps its `WORK#` membership item and its count; the transfer's end (landed, failed,
//! or the conversation closed) settles it exactly once, the membership delete being conditional.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use smsdesk_domain::transfer::{Transfer, TransferTarget};
use smsdesk_domain::*;
use smsdesk_ports::{AgentStore, ConversationStore, PortError, PortResult, TransferStore};
use time::OffsetDateTime;

use super::conversations::{order_key, present, unchanged};
use super::teams::team_is;
use super::{DynamoStore, Tx, attempts, contention, keys};
use crate::attr::{Expr, n, rfc3339, s, to_attr};

/// Which parts of a give-back were already done (their condition failed on an earlier round), and the team
/// the agent is taken to be in (none until the agent's condition said otherwise: most agents are in none,
/// so the common case reads nothing more).
#[derive(Clone, Default)]
pub(crate) struct GiveBack {
    pub(crate) skip_membership: bool,
    pub(crate) skip_decrement: bool,
    pub(crate) skip_team: bool,
    pub(crate) team: Option<TeamId>,
}

/// Where a give-back's parts are in a transaction.
#[derive(Clone, Copy, Default)]
pub(crate) struct Placed {
    membership: Option<usize>,
    decrement: Option<usize>,
    pub(crate) team: Option<usize>,
}

impl DynamoStore {
    /// Adds "delete `agent`'s membership of the conversation, its `active` - 1 (while its team is
    /// `done.team`), its team's `active` - 1" to `tx`; returns the positions of the parts.
    pub(crate) fn give_back_slot(
        &self,
        tx: &mut Vec<TransactWriteItem>,
        agent: &AgentId,
        conversation: &ConversationId,
        done: &GiveBack,
    ) -> PortResult<Placed> {
        let mut placed = Placed::default();
        if done.skip_membership {
            return Ok(placed);
        }
        tx.push(self.delete_item(keys::work(agent, conversation), Some(present()))?);
        placed.membership = Some(tx.len() - 1);
        if done.skip_decrement {
            return Ok(placed);
        }
        let mut expr = Expr::new();
        let active = expr.name("active");
        let update = format!("SET {active} = {active} - {}", expr.value(n(1)));
        let condition =
            format!("{active} > {} AND {}", expr.value(n(0)), team_is(&mut expr, done.team.as_ref()));
        tx.push(self.update_item(keys::agent(agent), update, Some(condition), expr)?);
        placed.decrement = Some(tx.len() - 1);
        if let Some(team) = done.team.as_ref().filter(|_| !done.skip_team) {
            tx.push(self.release_team_slot(team)?);
            placed.team = Some(tx.len() - 1);
        }
        Ok(placed)
    }

    /// After a cancelled transaction: which parts of `agent`'s give-back to leave out next round. A refused
    /// decrement means the agent has no slot left to give, or is in another team than assumed (read it).
    pub(crate) async fn settle(
        &self,
        done: &mut GiveBack,
        agent: &AgentId,
        placed: Placed,
        outcome: &Tx,
    ) -> PortResult<()> {
        let failed = |i: Option<usize>| i.is_some_and(|i| outcome.failed_at(i));
        done.skip_membership |= failed(placed.membership);
        if failed(placed.decrement) {
            match self.get_agent(agent).await? {
                Some(a) if a.team_id != done.team && a.active > 0 => done.team = a.team_id,
                _ => done.skip_decrement = true,
            }
        } else if failed(placed.team) {
            done.skip_team = true;
        }
        Ok(())
    }
}

/// The condition that the conversation carries the transfer that started at `started_at`.
fn transfer_at(expr: &mut Expr, started_at: OffsetDateTime) -> PortResult<String> {
    Ok(format!(
        "{}.{} = {}",
        expr.name("transfer"),
        expr.name("started_at"),
        expr.value(s(rfc3339(started_at)?))
    ))
}

fn json_attr<T: serde::Serialize>(
    what: &str,
    value: &T,
) -> PortResult<aws_sdk_dynamodb::types::AttributeValue> {
    let v = serde_json::to_value(value).map_err(|e| PortError::Backend(format!("{what}: {e}")))?;
    Ok(to_attr(&v))
}

#[async_trait]
impl TransferStore for DynamoStore {
    async fn start_transfer(
        &self,
        conversation: &ConversationId,
        transfer: &Transfer,
    ) -> PortResult<Option<Conversation>> {
        for _ in attempts() {
            let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
            if !smsdesk_domain::transfer::may_start_from(current.state)
                || current.agent_id.as_ref() != Some(&transfer.from_agent)
                || current.transfer.is_some()
            {
                return Ok(None);
            }
            let queue = match &transfer.target {
                TransferTarget::Queue(q) => q.clone(),
                TransferTarget::Agent(_) => current.queue_id.clone(),
            };
            let mut expr = Expr::new();
            let update = format!(
                "SET {}, {}, {}, {}, {}, {}, {}, {} REMOVE {}, {}, {}, {}",
                expr.eq("state", s(ConversationState::Open.as_str())),
                expr.eq("agent_id", to_attr(&serde_json::Value::Null)),
                expr.eq("queue_id", s(queue.as_str())),
                expr.eq("queued_at", s(rfc3339(transfer.started_at)?)),
                expr.eq("state_changed_at", s(rfc3339(transfer.started_at)?)),
                expr.eq("wait_queue", s(queue.as_str())),
                expr.eq("wait_order", s(order_key(transfer.started_at, &current.id))),
                expr.eq("transfer", json_attr("transfer", transfer)?),
                expr.name("offer"),
                expr.name("refused_by"),
                expr.name("declined_at"),
                expr.name("declined_by"),
            );
            let condition = format!(
                "{} AND attribute_not_exists({})",
                unchanged(&mut expr, &current),
                expr.name("transfer")
            );
            if self.update(keys::conversation(conversation), update, Some(condition), expr).await?.is_some() {
                return self.get_conversation(conversation).await;
            }
        }
        Err(contention("start_transfer"))
    }

    async fn fail_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let mut done = GiveBack::default();
        for _ in attempts() {
            let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
            let Some(t) = current.transfer.as_ref().filter(|t| t.started_at == started_at) else {
                return Ok(None);
            };
            if !matches!(current.state, ConversationState::Open | ConversationState::Offered) {
                return Ok(None);
            }
            let mut expr = Expr::new();
            let update = format!(
                "SET {}, {}, {}, {} REMOVE {}, {}, {}, {}, {}, {}",
                expr.eq("state", s(ConversationState::Active.as_str())),
                expr.eq("agent_id", s(t.from_agent.as_str())),
                expr.eq("queue_id", s(t.from_queue.as_str())),
                expr.eq("state_changed_at", s(rfc3339(at)?)),
                expr.name("wait_queue"),
                expr.name("offer"),
                expr.name("refused_by"),
                expr.name("declined_at"),
                expr.name("declined_by"),
                expr.name("transfer"),
            );
            let condition =
                format!("{} AND {}", unchanged(&mut expr, &current), transfer_at(&mut expr, started_at)?);
            let mut tx =
                vec![self.update_item(keys::conversation(conversation), update, Some(condition), expr)?];
            let offered = match (&current.state, &current.agent_id) {
                (ConversationState::Offered, Some(offered)) => Some(offered),
                _ => None,
            };
            let placed = match offered {
                Some(a) => self.give_back_slot(&mut tx, a, conversation, &done)?,
                None => Placed::default(),
            };
            match self.transact(tx).await? {
                Tx::Committed => return self.get_conversation(conversation).await,
                outcome => {
                    if let Some(a) = offered {
                        self.settle(&mut done, a, placed, &outcome).await?;
                    }
                }
            }
        }
        Err(contention("fail_transfer"))
    }

    async fn finish_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let mut done = GiveBack::default();
        for _ in attempts() {
            let Some(current) = self.get_conversation(conversation).await? else { return Ok(None) };
            let Some(t) = current.transfer.as_ref().filter(|t| t.started_at == started_at) else {
                return Ok(None);
            };
            if !current.state.holds_agent() || current.agent_id.as_ref() == Some(&t.from_agent) {
                return Ok(None);
            }
            let mut expr = Expr::new();
            let update = format!("REMOVE {}", expr.name("transfer"));
            let condition = transfer_at(&mut expr, started_at)?;
            let mut tx =
                vec![self.update_item(keys::conversation(conversation), update, Some(condition), expr)?];
            let placed = self.give_back_slot(&mut tx, &t.from_agent, conversation, &done)?;
            match self.transact(tx).await? {
                Tx::Committed => return self.get_conversation(conversation).await,
                outcome => self.settle(&mut done, &t.from_agent, placed, &outcome).await?,
            }
        }
        Err(contention("finish_transfer"))
    }

    async fn pending_transfers_from(&self, agent: &AgentId) -> PortResult<Vec<Conversation>> {
        // The sender keeps its `WORK#` membership item while the transfer is under way: the same query as
        // its work items, keeping the conversations it sent away instead of those it holds.
        let mut list: Vec<Conversation> = self
            .memberships(agent)
            .await?
            .into_iter()
            .filter(|c| smsdesk_domain::transfer::pending_sender(c) == Some(agent))
            .collect();
        list.sort_by(|a, b| (b.last_message_at, &b.id).cmp(&(a.last_message_at, &a.id)));
        Ok(list)
    }
}
