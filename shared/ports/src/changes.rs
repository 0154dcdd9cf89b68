//! The change feed: what changed in conversations, messages and notes, in commit order, each change with a
//! sequence number that only grows. The console's live updates (`/v1/events`) tail it and a client resumes
//! from the last sequence it saw.
//!
//! Adapters: embedded, a `changes` table filled by triggers in the same transaction as each write (schema
//! V6). AWS: `CHG` items of the table, numbered and written by the `live` function from the table's
//! DynamoDB stream (shared/aws/src/dynamo/changes.rs; infra/TABLES.md, "Live updates").

use async_trait::async_trait;
use serde::Serialize;
use smsdesk_domain::ConversationId;

use crate::PortResult;

/// What a change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEntity {
    Conversation,
    Message,
    /// A private note added to the conversation (its author's agent id; never its text).
    Note,
}

/// One change: the entity's id, the conversation it belongs to, and the few fields that say what changed
/// (a conversation's state, queue and agent, and those before an update; a message's status). Never a
/// text or a phone number: a client reads those through the API, which checks who may see them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub seq: i64,
    pub entity: ChangeEntity,
    pub id: String,
    pub conversation_id: ConversationId,
    pub data: serde_json::Value,
    /// Milliseconds since the epoch.
    pub at: i64,
}

/// A page of the feed after some sequence number.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangePage {
    /// Oldest first, at most the limit asked for.
    pub changes: Vec<Change>,
    /// The oldest sequence number still kept (`head + 1` when none is): a client that last saw a number
    /// below `oldest - 1` missed changes that are gone and must reload.
    pub oldest: i64,
    /// The newest sequence number ever given (0 before the first change).
    pub head: i64,
}

impl ChangePage {
    /// Whether a client that last saw `after` missed changes the feed no longer keeps (or comes from
    /// another database: a number beyond the head).
    pub fn gap_after(&self, after: i64) -> bool {
        // `after` is what a client says it saw: any i64 (i64::MAX is past every head, not an overflow).
        after.saturating_add(1) < self.oldest || after > self.head
    }
}

#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Changes with a sequence number above `after`, oldest first, at most `limit`.
    async fn changes_after(&self, after: i64, limit: usize) -> PortResult<ChangePage>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_sequence_a_client_sends_is_judged_without_overflow() {
        let page = ChangePage { changes: Vec::new(), oldest: 10, head: 20 };
        assert!(!page.gap_after(9) && !page.gap_after(20), "nothing missed");
        assert!(page.gap_after(8), "changes before the oldest kept are gone");
        assert!(page.gap_after(21), "beyond the head: another database");
        assert!(page.gap_after(i64::MAX), "far beyond the head");
        assert!(page.gap_after(i64::MIN), "far before the oldest");
    }
}
