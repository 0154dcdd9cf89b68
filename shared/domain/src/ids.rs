//! Typed identifiers. Each id is an opaque string with a short prefix that tells what it names
//! (`ch_`, `q_`, `ag_`, `cv_`, `msg_`, `ct_`), so a log line or a URL says what it points at.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// Wraps an id read from storage, a URL or a queue message.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(/// A provider account and its numbers.
    ChannelId, "ch_");
id_type!(/// A queue of work that agents serve.
    QueueId, "q_");
id_type!(/// An agent (or supervisor) who works conversations.
    AgentId, "ag_");
id_type!(/// A conversation with one customer on one of our numbers.
    ConversationId, "cv_");
id_type!(/// One message of a transcript.
    MessageId, "msg_");
id_type!(/// A CRM contact.
    ContactId, "ct_");
id_type!(/// A keyword menu that lets the customer pick a queue (or a nested menu).
    MenuId, "mnu_");
id_type!(/// A private note on a conversation.
    NoteId, "nt_");
id_type!(/// A quick reply: a predefined text an agent inserts by its shortcut.
    QuickReplyId, "qr_");
id_type!(/// A team: a named group of agents with a capacity of its own and the queues it serves.
    TeamId, "tm_");

impl MessageId {
    /// The id of an inbound message is derived from the provider's own id, so a replayed webhook or a
    /// redelivered queue message maps to the same transcript entry (idempotency by construction).
    pub fn for_inbound(channel: &ChannelId, provider_message_id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(channel.as_str().as_bytes());
        h.update([0u8]);
        h.update(provider_message_id.as_bytes());
        let digest = h.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("msg_in_{hex}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_message_id_is_stable_and_channel_scoped() {
        let a = ChannelId::new("ch_a");
        let b = ChannelId::new("ch_b");
        assert_eq!(MessageId::for_inbound(&a, "ref1"), MessageId::for_inbound(&a, "ref1"));
        assert_ne!(MessageId::for_inbound(&a, "ref1"), MessageId::for_inbound(&b, "ref1"));
        assert_ne!(MessageId::for_inbound(&a, "ref1"), MessageId::for_inbound(&a, "ref2"));
        assert!(MessageId::for_inbound(&a, "x").as_str().starts_with("msg_in_"));
    }
}
