//! Message statuses and the rule that they only move forward:
//! `received` (inbound) and `queued < unknown < sent < delivered` (outbound); `failed` and `undelivered` are
//! terminal.
//!
//! `unknown` is where a send lands when the provider may have accepted it but we do not know (the request went
//! out and no answer came back, or the sender stopped before recording the answer). It is never sent again
//! automatically; a delivery report can still move it forward (`sent`, `delivered`, `failed`,
//! `undelivered`), and the agent may choose to resend it as a new message.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// An inbound message, stored.
    Received,
    /// An outbound message waiting for the outbound function.
    Queued,
    /// The provider may have accepted it (no answer came back after the request went out); not resent
    /// automatically. A delivery report settles it; the agent may resend it.
    Unknown,
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
            MessageStatus::Unknown => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Received | MessageStatus::Delivered => 3,
            MessageStatus::Failed | MessageStatus::Undelivered => 4,
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

    /// Whether a move to `self` says the provider took the message (`sent`, `delivered`): an error an earlier
    /// attempt left (a 429 retried, an outcome that was `unknown`) no longer describes it, and goes.
    pub fn clears_error(self) -> bool {
        matches!(self, MessageStatus::Sent | MessageStatus::Delivered)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Queued => "queued",
            MessageStatus::Unknown => "unknown",
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
            "unknown" => MessageStatus::Unknown,
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
    fn unknown_sits_between_queued_and_sent() {
        // A send whose outcome is unknown never goes back to `queued` (that would send it again) ...
        assert!(Queued.can_advance_to(Unknown));
        assert!(!Unknown.can_advance_to(Queued));
        assert!(!Unknown.can_advance_to(Unknown));
        // ... and a delivery report (or the provider's late answer) still settles it.
        for settled in [Sent, Delivered, Failed, Undelivered] {
            assert!(Unknown.can_advance_to(settled), "unknown -> {settled}");
        }
        // Once the provider's answer is known, it is never unknown again.
        for known in [Sent, Delivered, Failed, Undelivered, Received] {
            assert!(!known.can_advance_to(Unknown), "{known} -> unknown");
        }
        assert!(!Unknown.is_terminal());
    }

    #[test]
    fn names_round_trip() {
        for s in [Received, Queued, Unknown, Sent, Delivered, Failed, Undelivered] {
            assert_eq!(super::MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(super::MessageStatus::parse("nope"), None);
    }
}
