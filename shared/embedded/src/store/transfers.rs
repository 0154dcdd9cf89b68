//! Transfers (issue 11.5): each move one transaction over the conversation and the agents' counts.

use async_trait::async_trait;
use rusqlite::Transaction;
use smsdesk_domain::transfer::{Transfer, TransferTarget};
use smsdesk_domain::*;
use smsdesk_ports::{PortResult, TransferStore};
use time::OffsetDateTime;

use super::EmbeddedStore;
use super::conversations::{load, save};
use super::directory::{load_agent, save_agent};

/// Gives `agent` one `active` back (never below zero).
fn release(tx: &Transaction<'_>, agent: &AgentId) -> PortResult<()> {
    if let Some(mut a) = load_agent(tx, agent.as_str())? {
        a.active = a.active.saturating_sub(1);
        save_agent(tx, &a)?;
        super::teams::release_team_slot(tx, &a)?;
    }
    Ok(())
}

/// A conversation leaving for good (close, requeue) while a transfer is under way: the first agent's held
/// slot comes back too.
pub(super) fn release_transferring(tx: &Transaction<'_>, c: &Conversation) -> PortResult<()> {
    match &c.transfer {
        Some(t) => release(tx, &t.from_agent),
        None => Ok(()),
    }
}

fn started(c: &Conversation, at: OffsetDateTime) -> bool {
    c.transfer.as_ref().is_some_and(|t| t.started_at == at)
}

#[async_trait]
impl TransferStore for EmbeddedStore {
    async fn start_transfer(
        &self,
        conversation: &ConversationId,
        transfer: &Transfer,
    ) -> PortResult<Option<Conversation>> {
        let (cid, transfer) = (conversation.to_string(), transfer.clone());
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if !smsdesk_domain::transfer::may_start_from(c.state)
                    || c.agent_id.as_ref() != Some(&transfer.from_agent)
                    || c.transfer.is_some()
                {
                    return Ok(None);
                }
                if let TransferTarget::Queue(q) = &transfer.target {
                    c.queue_id = q.clone();
                }
                c.state = ConversationState::Open;
                c.agent_id = None;
                c.queued_at = transfer.started_at;
                c.state_changed_at = Some(transfer.started_at);
                c.offer = None;
                c.refused_by.clear();
                c.declined_at = None;
                c.declined_by.clear();
                c.transfer = Some(transfer);
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn fail_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let cid = conversation.to_string();
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                if !started(&c, started_at)
                    || !matches!(c.state, ConversationState::Open | ConversationState::Offered)
                {
                    return Ok(None);
                }
                let Some(t) = c.transfer.take() else { return Ok(None) };
                if c.state == ConversationState::Offered
                    && let Some(offered) = &c.agent_id
                {
                    release(tx, offered)?;
                }
                c.state = ConversationState::Active;
                c.agent_id = Some(t.from_agent);
                c.queue_id = t.from_queue;
                c.state_changed_at = Some(at);
                c.offer = None;
                c.refused_by.clear();
                c.declined_at = None;
                c.declined_by.clear();
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn finish_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>> {
        let cid = conversation.to_string();
        self.db
            .tx(move |tx| {
                let Some(mut c) = load(tx, &cid)? else { return Ok(None) };
                let landed = c.state.holds_agent()
                    && c.transfer.as_ref().is_some_and(|t| c.agent_id.as_ref() != Some(&t.from_agent));
                if !started(&c, started_at) || !landed {
                    return Ok(None);
                }
                let Some(t) = c.transfer.take() else { return Ok(None) };
                release(tx, &t.from_agent)?;
                save(tx, &c)?;
                Ok(Some(c))
            })
            .await
    }

    async fn pending_transfers_from(&self, agent: &AgentId) -> PortResult<Vec<Conversation>> {
        let id = agent.clone();
        let listed = self
            .db
            .read(move |tx| {
                crate::rows::all(
                    tx,
                    "SELECT body FROM conversations WHERE state IN ('open', 'offered') \
                     AND json_extract(body, '$.transfer.from_agent') = ?1 \
                     ORDER BY last_message_at DESC, id DESC",
                    [id.to_string()],
                )
            })
            .await?;
        Ok(listed
            .into_iter()
            .filter(|c: &Conversation| smsdesk_domain::transfer::pending_sender(c) == Some(agent))
            .collect())
    }
}
