//! Transfers (issue 11.5) in the store: the three moves of a transfer, each atomic, each keeping the agents'
//! `active` counts exact (`smsdesk_domain::transfer` says who holds which slot when).

use async_trait::async_trait;
use smsdesk_domain::transfer::Transfer;
use smsdesk_domain::{AgentId, Conversation, ConversationId};
use time::OffsetDateTime;

use crate::PortResult;

#[async_trait]
pub trait TransferStore: Send + Sync {
    /// Atomically: if the conversation holds `transfer.from_agent` (`active`, `waiting` or `wrap_up` with that
    /// agent) and has no transfer under way, it goes `open` with no agent, in the target queue (a transfer
    /// to an agent: its own queue) with `queued_at = transfer.started_at`, no offer and no refusals, and
    /// carries `transfer`. The first agent keeps its slot (its `active` count does not change). Returns the
    /// updated conversation, or None when any condition failed.
    async fn start_transfer(
        &self,
        conversation: &ConversationId,
        transfer: &Transfer,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation carries the transfer that started at `started_at` and is `open` or
    /// `offered` (nobody took it), it goes back `active` with the transfer's first agent in its first queue
    /// (`state_changed_at = at`), without the transfer, offer or refusals; an agent it was offered to gets its
    /// slot back. The first agent's slot was held all along. Returns the updated conversation, or None.
    async fn fail_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// Atomically: if the conversation carries the transfer that started at `started_at` and is with another
    /// agent than the first one (it landed: accepted, or assigned by an auto-accepting queue), the transfer is
    /// dropped and the first agent gets its slot back. Returns the updated conversation, or None.
    async fn finish_transfer(
        &self,
        conversation: &ConversationId,
        started_at: OffsetDateTime,
    ) -> PortResult<Option<Conversation>>;
    /// The conversations `agent` sent away in a transfer nobody took yet (`open` in the target queue, or
    /// `offered` to the target agent, carrying a transfer from `agent`: see
    /// `smsdesk_domain::transfer::pending_sender`), most recent activity first. The sender still sees them
    /// among its work items.
    async fn pending_transfers_from(&self, agent: &AgentId) -> PortResult<Vec<Conversation>>;
}
