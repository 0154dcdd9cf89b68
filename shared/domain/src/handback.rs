//! Offline hand-back (issue 10.2): an agent who goes offline hands back what they hold in a queue after that
//! queue's grace period (`WorkQueue::offline_handback_secs`; None, the default: they keep it), so nothing
//! waits for someone who left. What is handed back goes to its queue (open, no agent) and is offered to
//! another agent as any waiting conversation. A conversation in wrap-up stays: the customer part is over.

use crate::model::{Agent, ConversationState, Presence, WorkQueue};
use crate::validation::FieldError;
use time::{Duration, OffsetDateTime};

/// Longest grace period: 7 days.
pub const MAX_HANDBACK_SECS: u32 = 7 * 24 * 3600;

/// The rule of `offline_handback_secs`: 0 (at once) to 7 days, or absent (keep).
pub fn validate(queue: &WorkQueue) -> Result<(), FieldError> {
    match queue.offline_handback_secs {
        Some(secs) if secs > MAX_HANDBACK_SECS => Err(FieldError::new(
            "offline_handback_secs",
            format!("must be between 0 and {MAX_HANDBACK_SECS} seconds, or null to keep conversations"),
        )),
        _ => Ok(()),
    }
}

/// Whether a conversation in `state` is handed back: offered to the agent, active or waiting with them
/// (not wrap-up: the customer part is over; the wrap-up limit releases it).
pub fn handed_back_in(state: ConversationState) -> bool {
    matches!(state, ConversationState::Offered | ConversationState::Active | ConversationState::Waiting)
}

/// Since when the agent is offline, if they are (None: not offline, or offline since before presence
/// changes were timed: never handed back, as nobody knows how long they are gone).
pub fn offline_since(agent: &Agent) -> Option<OffsetDateTime> {
    (agent.presence == Presence::Offline).then_some(agent.presence_changed_at).flatten()
}

/// Whether what `agent` holds in `queue` is due to go back at `now`: the agent is offline and has been for
/// at least the queue's grace period.
pub fn due(queue: &WorkQueue, agent: &Agent, now: OffsetDateTime) -> bool {
    match (queue.offline_handback_secs, offline_since(agent)) {
        (Some(grace), Some(since)) => now - since >= Duration::seconds(i64::from(grace)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::QueueId;
    use time::macros::datetime;

    fn agent(presence: Presence, changed: Option<OffsetDateTime>) -> Agent {
        let mut a: Agent = serde_json::from_value(serde_json::json!({
            "id": "ag_1", "name": "Ada", "queues": ["q_1"], "capacity": 2, "presence": "offline",
            "active": 1, "last_assigned_at": null, "created_at": "2026-11-29T00:00:00Z",
        }))
        .expect("an agent");
        a.presence = presence;
        a.presence_changed_at = changed;
        a
    }

    #[test]
    fn due_after_the_grace_period_of_an_offline_agent_only() {
        let t0 = datetime!(2026-11-30 00:00 UTC);
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Support", t0);
        let gone = agent(Presence::Offline, Some(t0));
        assert!(!due(&q, &gone, t0 + Duration::days(30)), "no grace period set: the agent keeps it");
        q.offline_handback_secs = Some(300);
        assert!(!due(&q, &gone, t0 + Duration::seconds(299)), "within the grace period");
        assert!(due(&q, &gone, t0 + Duration::seconds(300)), "at its end");
        assert!(!due(&q, &agent(Presence::Available, Some(t0)), t0 + Duration::hours(1)), "back online");
        assert!(!due(&q, &agent(Presence::Away, Some(t0)), t0 + Duration::hours(1)), "away is not offline");
        assert!(!due(&q, &agent(Presence::Offline, None), t0 + Duration::hours(1)), "since unknown");
        q.offline_handback_secs = Some(0);
        assert!(due(&q, &gone, t0), "0: at once");
    }

    #[test]
    fn wrap_up_and_queued_conversations_are_not_handed_back() {
        use ConversationState::*;
        let back: Vec<_> = [Routing, Open, Offered, Active, Waiting, WrapUp, Closed]
            .into_iter()
            .filter(|s| handed_back_in(*s))
            .collect();
        assert_eq!(back, vec![Offered, Active, Waiting]);
    }

    #[test]
    fn the_grace_period_is_bounded() {
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Support", datetime!(2026-11-30 00:00 UTC));
        assert_eq!(validate(&q), Ok(()));
        q.offline_handback_secs = Some(MAX_HANDBACK_SECS);
        assert_eq!(validate(&q), Ok(()));
        q.offline_handback_secs = Some(MAX_HANDBACK_SECS + 1);
        assert_eq!(validate(&q).map_err(|e| e.field), Err("offline_handback_secs".into()));
    }
}
