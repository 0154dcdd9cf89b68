//! Message statuses and the rule that they only move forward:
//! `received` (inbound) and `queued < sent < delivered` (outbound); `failed` and `undelivered` are terminal.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// An inbound message, stored.
    Received,
    /// An outbound message waiting for the outbound function.
    Queued,
    /// Accepted by the provider.
    Sent,
    /// The handset confirmed it.
    Delivered,
    /// The provider (or smsdesk) refused it for good; the reason is kept on the message.
    Failed,
    /// The provider accepted it but the carrier could not deliver it.
    Undelivered,
}

impl MessageStatus {
    /// Position in the forward-only order. Terminal states share the highest rank so that nothing moves
    /// out of them, and a late `sent` receipt cannot undo `delivered`.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Received | MessageStatus::Delivered => 2,
            MessageStatus::Failed | MessageStatus::Undelivered => 3,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            MessageStatus::Received
                | MessageStatus::Delivered
                | MessageStatus::Failed
                | MessageStatus::Undelivered
        )
    }

    /// Whether a message in `self` may move to `next`. Only strictly forward moves are allowed; a terminal
    /// status never changes. (`delivered` -> `failed` is refused: the handset already has the text.)
    pub fn can_advance_to(self, next: MessageStatus) -> bool {
        !self.is_terminal() && next.rank() > self.rank()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Undelivered => "undelivered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "received" => MessageStatus::Received,
            "queued" => MessageStatus::Queued,
            "sent" => MessageStatus::Sent,
            "delivered" => MessageStatus::Delivered,
            "failed" => MessageStatus::Failed,
            "undelivered" => MessageStatus::Undelivered,
            _ => return None,
        })
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;

    #[test]
    fn moves_forward_only() {
        assert!(Queued.can_advance_to(Sent));
        assert!(Queued.can_advance_to(Delivered));
        assert!(Sent.can_advance_to(Delivered));
        assert!(Sent.can_advance_to(Failed));
        assert!(Sent.can_advance_to(Undelivered));
        assert!(!Sent.can_advance_to(Queued));
        assert!(!Sent.can_advance_to(Sent));
        assert!(!Delivered.can_advance_to(Sent));
        assert!(!Delivered.can_advance_to(Failed));
        assert!(!Failed.can_advance_to(Delivered));
        assert!(!Undelivered.can_advance_to(Delivered));
        assert!(!Received.can_advance_to(Delivered));
    }

    #[test]
    fn names_round_trip() {
        for s in [Received, Queued, Sent, Delivered, Failed, Undelivered] {
            assert_eq!(super::MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(super::MessageStatus::parse("nope"), None);
    }
}
