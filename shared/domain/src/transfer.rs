//! Transfers (issue 11.5): an agent hands a conversation to another agent or to a queue, with a note for
//! whoever takes it. The target gets it like an offer (accept or decline within the refusal timeout, or
//! straight away when the queue auto-accepts); a transfer to a queue whose agents are all busy waits in that
//! queue until one frees up, for as long as the queue's `transfer_timeout_secs`.
//!
//! Capacity, as a contact center expects it: the first agent stays responsible until someone takes the
//! conversation, so their slot is held for the whole transfer and released only when it lands; the target
//! agent's slot is taken when the conversation is offered to them (as any offer). A transfer that nobody
//! takes in time, or that the target agent declines, fails: the conversation goes back to the first agent
//! (still holding their slot, so they never go over capacity), who is told in the transcript.
//!
//! The transcript gets system entries ("transferred to ..." with the note, "transfer failed ...") that are
//! internal: agents read them, the customer is never sent them.

use crate::ids::{AgentId, QueueId};
use crate::model::WorkQueue;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::serde::rfc3339;

/// Where a transfer goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueId),
}

/// A transfer under way, kept on the conversation until it lands or fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The agent who asked for it; holds its slot until the transfer lands.
    pub from_agent: AgentId,
    /// The queue the conversation was in (it goes back there with the first agent when the transfer fails).
    pub from_queue: QueueId,
    pub target: TransferTarget,
    /// The target's name when the transfer started (the agent's name, or "queue <name>"), so that the sender's
    /// work item names where it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// For agents only; never sent to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(with = "rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it fails unless someone took it.
    #[serde(with = "rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Transfer {
    /// The agent a transfer is meant for, when it goes to one agent.
    pub fn target_agent(&self) -> Option<&AgentId> {
        match &self.target {
            TransferTarget::Agent(a) => Some(a),
            TransferTarget::Queue(_) => None,
        }
    }

    /// Whether `agent` may be offered the conversation during this transfer: the named agent for an agent
    /// transfer; anyone of the queue but the first agent for a queue transfer.
    pub fn may_go_to(&self, agent: &AgentId) -> bool {
        match &self.target {
            TransferTarget::Agent(a) => a == agent,
            TransferTarget::Queue(_) => agent != &self.from_agent,
        }
    }

    /// Whether the transfer ran out at `now`.
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

/// The agent who sent `c` away in a transfer that nobody took yet (it waits in the target queue, or is
/// offered to the target agent): they stay responsible (and hold their slot) until it lands, so they still
/// see it, read it, reply to the customer meanwhile, and may cancel it. None once it landed or failed.
pub fn pending_sender(c: &crate::Conversation) -> Option<&AgentId> {
    let t = c.transfer.as_ref()?;
    matches!(c.state, crate::ConversationState::Open | crate::ConversationState::Offered)
        .then_some(&t.from_agent)
        .filter(|from| c.agent_id.as_ref() != Some(*from))
}

/// The longest transfer note.
pub const MAX_NOTE_CHARS: usize = 1_000;
/// Default time a transfer waits for someone to take it: two minutes.
pub const DEFAULT_TRANSFER_TIMEOUT_SECS: u64 = 120;
/// The shortest and longest a queue may set.
pub const MIN_TRANSFER_TIMEOUT_SECS: u64 = 5;
pub const MAX_TRANSFER_TIMEOUT_SECS: u64 = 3_600;

/// Whether a conversation in `state` may be transferred: only while its agent is talking with the customer
/// (`active`) or has set it aside (`waiting`); never once it ended (wrap-up) or closed. The stores check it
/// atomically with the move, so an end or a close that lands first refuses the transfer.
pub fn may_start_from(state: crate::ConversationState) -> bool {
    matches!(state, crate::ConversationState::Active | crate::ConversationState::Waiting)
}

/// What a transfer request asks, checked: exactly one target, a note of at most [`MAX_NOTE_CHARS`] (blank:
/// none). A 400 names the field and the rule.
pub fn check_request(
    agent_id: Option<String>,
    queue_id: Option<String>,
    note: Option<String>,
) -> Result<(TransferTarget, Option<String>), FieldError> {
    let target = match (agent_id, queue_id) {
        (Some(a), None) if !a.trim().is_empty() => TransferTarget::Agent(AgentId::new(a)),
        (None, Some(q)) if !q.trim().is_empty() => TransferTarget::Queue(QueueId::new(q)),
        _ => return Err(FieldError::new("agent_id", "give exactly one of agent_id and queue_id")),
    };
    let note = note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(FieldError::new("note", format!("at most {MAX_NOTE_CHARS} characters")));
    }
    if let Some(note) = &note {
        crate::validation::check_free_text("note", note)?;
    }
    Ok((target, note))
}

/// When a transfer started at `at` fails unless taken: the target queue's transfer timeout (an agent
/// transfer: the conversation's queue's refusal timeout, the time the agent has to accept the offer).
pub fn expires_at(target: &TransferTarget, queue: Option<&WorkQueue>, at: OffsetDateTime) -> OffsetDateTime {
    let secs = match target {
        TransferTarget::Agent(_) => {
            queue.map_or(crate::model::DEFAULT_REFUSAL_TIMEOUT_SECS, |q| q.refusal_timeout_secs)
        }
        TransferTarget::Queue(_) => queue.map_or(DEFAULT_TRANSFER_TIMEOUT_SECS, |q| q.transfer_timeout_secs),
    };
    at + time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The queue's transfer timeout: a 400 naming the field and the rule.
pub fn validate(queue: &WorkQueue) -> Result<(), FieldError> {
    if !(MIN_TRANSFER_TIMEOUT_SECS..=MAX_TRANSFER_TIMEOUT_SECS).contains(&queue.transfer_timeout_secs) {
        return Err(FieldError::new(
            "transfer_timeout_secs",
            format!("between {MIN_TRANSFER_TIMEOUT_SECS} and {MAX_TRANSFER_TIMEOUT_SECS} seconds"),
        ));
    }
    Ok(())
}

/// The transcript entry when a transfer starts (`to`: the target's name).
pub fn started_entry(from: &str, to: &str, note: Option<&str>) -> String {
    match note {
        Some(note) => format!("{from} transferred the conversation to {to}. Note: {note}"),
        None => format!("{from} transferred the conversation to {to}."),
    }
}

/// The transcript entry when a transfer lands.
pub fn landed_entry(agent: &str) -> String {
    format!("{agent} took the transferred conversation.")
}

/// The transcript entry when a transfer fails and the conversation comes back to the first agent.
pub fn failed_entry(to: &str, why: &str) -> String {
    format!("Transfer to {to} failed ({why}): the conversation is back with you.")
}

/// The transcript entry when the sender (or a supervisor, an admin: `by`) cancels a transfer nobody took yet.
pub fn cancelled_entry(by: &str, to: &str, back_to: &str) -> String {
    format!("{by} cancelled the transfer to {to}: the conversation is back with {back_to}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

    #[test]
    fn a_request_names_one_target_and_a_bounded_note() {
        let (target, note) = check_request(Some("ag_b".into()), None, Some("  VIP  ".into())).expect("ok");
        assert_eq!((target, note.as_deref()), (TransferTarget::Agent(AgentId::new("ag_b")), Some("VIP")));
        let (target, note) = check_request(None, Some("q_b".into()), Some("   ".into())).expect("ok");
        assert_eq!((target, note), (TransferTarget::Queue(QueueId::new("q_b")), None), "blank: no note");
        for (a, q) in [(None, None), (Some("ag_b"), Some("q_b")), (Some(" "), None)] {
            let e = check_request(a.map(Into::into), q.map(Into::into), None).unwrap_err();
            assert_eq!(e.field, "agent_id", "{a:?} {q:?}");
        }
        let long = "n".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(check_request(Some("ag_b".into()), None, Some(long)).unwrap_err().field, "note");
    }

    #[test]
    fn an_agent_transfer_lasts_the_refusal_timeout_a_queue_transfer_the_queues_transfer_timeout() {
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Q", AT);
        q.refusal_timeout_secs = 15;
        q.transfer_timeout_secs = 300;
        let agent = TransferTarget::Agent(AgentId::new("ag_b"));
        let queue = TransferTarget::Queue(QueueId::new("q_1"));
        assert_eq!(expires_at(&agent, Some(&q), AT), AT + time::Duration::seconds(15));
        assert_eq!(expires_at(&queue, Some(&q), AT), AT + time::Duration::seconds(300));
        assert_eq!(expires_at(&queue, None, AT), AT + time::Duration::seconds(120), "the default");
        assert_eq!(validate(&q), Ok(()));
        q.transfer_timeout_secs = 4;
        assert_eq!(validate(&q).unwrap_err().field, "transfer_timeout_secs");
        q.transfer_timeout_secs = MAX_TRANSFER_TIMEOUT_SECS + 1;
        assert_eq!(validate(&q).unwrap_err().field, "transfer_timeout_secs");
    }

    #[test]
    fn a_queue_transfer_never_goes_back_to_the_first_agent_an_agent_transfer_only_to_its_agent() {
        let t = |target| Transfer {
            from_agent: AgentId::new("ag_a"),
            from_queue: QueueId::new("q_1"),
            target,
            target_name: None,
            note: None,
            started_at: AT,
            expires_at: AT + time::Duration::seconds(60),
        };
        let to_queue = t(TransferTarget::Queue(QueueId::new("q_2")));
        assert!(!to_queue.may_go_to(&AgentId::new("ag_a")));
        assert!(to_queue.may_go_to(&AgentId::new("ag_c")));
        let to_b = t(TransferTarget::Agent(AgentId::new("ag_b")));
        assert!(to_b.may_go_to(&AgentId::new("ag_b")) && !to_b.may_go_to(&AgentId::new("ag_c")));
        assert_eq!(to_b.target_agent(), Some(&AgentId::new("ag_b")));
        assert!(
            !to_b.expired(AT + time::Duration::seconds(59)) && to_b.expired(AT + time::Duration::seconds(60))
        );
    }

    #[test]
    fn the_sender_of_a_transfer_nobody_took_yet_is_pending_until_it_lands_or_fails() {
        use crate::ConversationState::*;
        let mut c = crate::access::tests::conversation("q_2", None, Open);
        assert_eq!(pending_sender(&c), None, "no transfer");
        c.transfer = Some(Transfer {
            from_agent: AgentId::new("ag_a"),
            from_queue: QueueId::new("q_1"),
            target: TransferTarget::Queue(QueueId::new("q_2")),
            target_name: Some("queue Billing".into()),
            note: None,
            started_at: AT,
            expires_at: AT + time::Duration::seconds(60),
        });
        assert_eq!(pending_sender(&c), Some(&AgentId::new("ag_a")), "waiting in the target queue");
        c.state = Offered;
        c.agent_id = Some(AgentId::new("ag_b"));
        assert_eq!(pending_sender(&c), Some(&AgentId::new("ag_a")), "offered to the target");
        c.state = Active;
        assert_eq!(pending_sender(&c), None, "landed (not settled yet): Brook has it");
        c.agent_id = Some(AgentId::new("ag_a"));
        assert_eq!(pending_sender(&c), None, "back with the sender");
    }
}
