//! Quick replies (issue 10.6) and what smsdesk keeps per customer across conversations: their language
//! (issue 10.3).

use async_trait::async_trait;
use smsdesk_domain::*;
use time::OffsetDateTime;

use crate::PortResult;

/// Outcome of [`QuickReplyStore::put_quick_reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuickReplyWrite {
    Stored,
    /// Another quick reply has the same queue, language and shortcut ([`QuickReply::scope`]); nothing was
    /// written.
    ShortcutTaken,
}

#[async_trait]
pub trait QuickReplyStore: Send + Sync {
    /// Stores or replaces `reply`, atomically unless another quick reply has its scope (queue, language,
    /// shortcut). A replaced reply's old scope is free again.
    async fn put_quick_reply(&self, reply: &QuickReply) -> PortResult<QuickReplyWrite>;
    async fn get_quick_reply(&self, id: &QuickReplyId) -> PortResult<Option<QuickReply>>;
    /// Every quick reply, in id order.
    async fn list_quick_replies(&self) -> PortResult<Vec<QuickReply>>;
    /// Removes it (its scope is free again); false when there was none.
    async fn delete_quick_reply(&self, id: &QuickReplyId) -> PortResult<bool>;
}

/// A customer's language, picked by the customer (a language keyword) or set by an admin.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerLanguage {
    pub customer: Phone,
    /// A language tag (`en`, `es`, `es-MX`).
    pub language: String,
    /// `keyword` or `admin`.
    pub source: String,
    #[serde(with = "smsdesk_domain::model::rfc3339")]
    pub at: OffsetDateTime,
}

#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Stores the customer's language, replacing an older one; a change older than the stored one (`at`)
    /// changes nothing. Returns whether it was stored.
    async fn set_customer_language(&self, language: &CustomerLanguage) -> PortResult<bool>;
    async fn customer_language(&self, customer: &Phone) -> PortResult<Option<CustomerLanguage>>;
    /// Sets the language of a conversation (the customer picked one while it was open). Returns the updated
    /// conversation, or None when it is closed or does not exist.
    async fn set_conversation_language(
        &self,
        conversation: &ConversationId,
        language: &str,
    ) -> PortResult<Option<Conversation>>;
}
