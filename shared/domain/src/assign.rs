//! Which agent gets a waiting conversation: an available agent of the conversation's queue with free
//! capacity, least loaded first (fewest active conversations), ties to the one idle the longest, then by id
//! so the choice is deterministic.

use crate::ids::{AgentId, ConversationId, QueueId};
use crate::lifecycle::FieldError;
use crate::model::{Agent, WorkQueue};
use time::OffsetDateTime;

/// The agents able to take a conversation of `queue`, best first.
pub fn rank_candidates<'a>(queue: &QueueId, agents: &'a [Agent]) -> Vec<&'a Agent> {
    let mut eligible: Vec<&Agent> =
        agents.iter().filter(|a| a.has_free_capacity() && a.queues.contains(queue)).collect();
    eligible.sort_by(|a, b| {
        a.active
            .cmp(&b.active)
            .then_with(|| a.last_assigned_at.cmp(&b.last_assigned_at))
            .then_with(|| a.id.cmp(&b.id))
    });
    eligible
}

/// The best agent for a conversation of `queue`, if anyone is free.
pub fn pick_agent(queue: &QueueId, agents: &[Agent]) -> Option<AgentId> {
    rank_candidates(queue, agents).first().map(|a| a.id.clone())
}

/// The highest priority a queue may set.
pub const MAX_PRIORITY: u32 = 1_000;

/// A waiting conversation's priority after waiting `waited`: the queue's initial priority, plus
/// `escalation_add` for every full `escalation_every_secs` waited, never above `max_priority` (nor below the
/// initial priority). No escalation when either the step or the period is zero.
pub fn current_priority(queue: &WorkQueue, waited: time::Duration) -> u32 {
    let initial = queue.initial_priority;
    if queue.escalation_add == 0 || queue.escalation_every_secs == 0 {
        return initial;
    }
    let waited = u64::try_from(waited.whole_seconds()).unwrap_or(0);
    let steps = u32::try_from(waited / queue.escalation_every_secs).unwrap_or(u32::MAX);
    initial.saturating_add(steps.saturating_mul(queue.escalation_add)).min(queue.max_priority.max(initial))
}

/// The queue's priority settings: a 400 naming the field and the rule.
pub fn validate_priority(queue: &WorkQueue) -> Result<(), FieldError> {
    let field = |f: &str, rule: String| Err(FieldError { field: f.to_string(), rule });
    if queue.initial_priority > MAX_PRIORITY {
        return field("initial_priority", format!("between 0 and {MAX_PRIORITY}"));
    }
    if queue.max_priority > MAX_PRIORITY {
        return field("max_priority", format!("between 0 and {MAX_PRIORITY}"));
    }
    let escalates = queue.escalation_add > 0 || queue.escalation_every_secs > 0;
    if escalates && (queue.escalation_add == 0 || queue.escalation_every_secs == 0) {
        return field(
            if queue.escalation_add == 0 { "escalation_add" } else { "escalation_every_secs" },
            "escalation needs both escalation_add and escalation_every_secs above 0".to_string(),
        );
    }
    if escalates && queue.max_priority <= queue.initial_priority {
        return field("max_priority", "must be above initial_priority when the queue escalates".to_string());
    }
    Ok(())
}

/// A waiting conversation as distribution orders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub conversation: ConversationId,
    pub queue: QueueId,
    pub priority: u32,
    pub queued_at: OffsetDateTime,
}

/// Distribution order among the waiting conversations of several queues: highest current priority first,
/// then the oldest, then by id (deterministic).
pub fn order_waiting(waiting: &mut [Waiting]) {
    waiting.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.queued_at.cmp(&b.queued_at))
            .then_with(|| a.conversation.cmp(&b.conversation))
    });
}

/// The 1-based place of `me` in line among `waiting` (its queue's waiting conversations), in the order
/// they are distributed ([`order_waiting`]). None: `me` is not waiting.
pub fn position_in_line(mut waiting: Vec<Waiting>, me: &ConversationId) -> Option<usize> {
    order_waiting(&mut waiting);
    waiting.iter().position(|w| &w.conversation == me).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Presence;
    use time::macros::datetime;

    fn agent(id: &str, queues: &[&str], capacity: u32, active: u32, presence: Presence) -> Agent {
        Agent {
            id: AgentId::new(id),
            name: id.into(),
            queues: queues.iter().map(|q| QueueId::new(*q)).collect(),
            capacity,
            presence,
            active,
            last_assigned_at: None,
            created_at: datetime!(2026-01-01 0:00 UTC),
            subject: None,
        }
    }

    #[test]
    fn least_loaded_available_agent_of_the_queue_wins() {
        let q = QueueId::new("q_1");
        let agents = vec![
            agent("ag_a", &["q_1"], 3, 2, Presence::Available),
            agent("ag_b", &["q_1"], 3, 1, Presence::Available),
            agent("ag_c", &["q_1"], 3, 0, Presence::Away),
            agent("ag_d", &["q_2"], 3, 0, Presence::Available),
        ];
        assert_eq!(pick_agent(&q, &agents), Some(AgentId::new("ag_b")));
    }

    #[test]
    fn nobody_free_means_the_conversation_waits() {
        let q = QueueId::new("q_1");
        let agents = vec![
            agent("ag_a", &["q_1"], 1, 1, Presence::Available),
            agent("ag_b", &["q_1"], 2, 0, Presence::Offline),
            agent("ag_c", &["q_1"], 2, 0, Presence::Busy),
        ];
        assert_eq!(pick_agent(&q, &agents), None);
    }

    #[test]
    fn ties_go_to_the_longest_idle() {
        let q = QueueId::new("q_1");
        let mut a = agent("ag_a", &["q_1"], 2, 1, Presence::Available);
        a.last_assigned_at = Some(datetime!(2026-01-01 10:00 UTC));
        let mut b = agent("ag_b", &["q_1"], 2, 1, Presence::Available);
        b.last_assigned_at = Some(datetime!(2026-01-01 09:00 UTC));
        assert_eq!(pick_agent(&q, &[a, b]), Some(AgentId::new("ag_b")));
    }

    #[test]
    fn the_place_in_line_follows_the_distribution_order() {
        let w = |id: &str, priority: u32, minute: i64| Waiting {
            conversation: ConversationId::new(id),
            queue: QueueId::new("q_1"),
            priority,
            queued_at: datetime!(2026-01-01 10:00 UTC) + time::Duration::minutes(minute),
        };
        let waiting = vec![w("cv_new", 0, 9), w("cv_old", 0, 1), w("cv_urgent", 5, 10)];
        let place = |id: &str| position_in_line(waiting.clone(), &ConversationId::new(id));
        assert_eq!(place("cv_urgent"), Some(1), "a higher priority goes first");
        assert_eq!(place("cv_old"), Some(2));
        assert_eq!(place("cv_new"), Some(3));
        assert_eq!(place("cv_gone"), None, "not waiting: no place");
    }

    fn escalating(initial: u32, add: u32, every: u64, max: u32) -> WorkQueue {
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Q", datetime!(2026-01-01 0:00 UTC));
        (q.initial_priority, q.escalation_add, q.escalation_every_secs, q.max_priority) =
            (initial, add, every, max);
        q
    }

    #[test]
    fn priority_grows_by_the_step_every_period_up_to_the_maximum() {
        let q = escalating(2, 3, 60, 10);
        let at = |s: i64| current_priority(&q, time::Duration::seconds(s));
        assert_eq!((at(0), at(59), at(60), at(119), at(120), at(180), at(3600)), (2, 2, 5, 5, 8, 10, 10));
        assert_eq!(at(-5), 2, "a clock skew never lowers it");
        let flat = escalating(4, 0, 0, 0);
        assert_eq!(current_priority(&flat, time::Duration::days(3)), 4, "no escalation configured");
        let huge = escalating(1, u32::MAX, 1, MAX_PRIORITY);
        assert_eq!(current_priority(&huge, time::Duration::days(365)), MAX_PRIORITY, "no overflow");
    }

    #[test]
    fn priority_settings_name_the_field_and_rule() {
        assert_eq!(validate_priority(&escalating(2, 3, 60, 10)), Ok(()));
        assert_eq!(validate_priority(&escalating(0, 0, 0, 0)), Ok(()), "defaults");
        assert_eq!(validate_priority(&escalating(2, 3, 0, 10)).unwrap_err().field, "escalation_every_secs");
        assert_eq!(validate_priority(&escalating(2, 0, 60, 10)).unwrap_err().field, "escalation_add");
        assert_eq!(validate_priority(&escalating(5, 1, 60, 5)).unwrap_err().field, "max_priority");
        assert_eq!(
            validate_priority(&escalating(MAX_PRIORITY + 1, 0, 0, 0)).unwrap_err().field,
            "initial_priority"
        );
    }

    #[test]
    fn distribution_takes_the_highest_priority_then_the_oldest() {
        let w = |id: &str, priority: u32, minute: u8| Waiting {
            conversation: ConversationId::new(id),
            queue: QueueId::new("q"),
            priority,
            queued_at: datetime!(2026-01-01 10:00 UTC) + time::Duration::minutes(minute.into()),
        };
        let mut list =
            vec![w("cv_old_low", 1, 0), w("cv_new_high", 5, 9), w("cv_old_high", 5, 3), w("cv_tie", 5, 3)];
        order_waiting(&mut list);
        let ids: Vec<_> = list.iter().map(|w| w.conversation.as_str()).collect();
        assert_eq!(ids, vec!["cv_old_high", "cv_tie", "cv_new_high", "cv_old_low"]);
    }
}
