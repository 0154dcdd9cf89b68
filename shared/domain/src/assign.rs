//! Which agent gets a waiting conversation: an available agent of the conversation's queue with free
//! capacity, least loaded first (fewest active conversations), ties to the one idle the longest, then by id
//! so the choice is deterministic.

use crate::ids::{AgentId, ConversationId, QueueId};
use crate::lifecycle::FieldError;
use crate::model::{Agent, Conversation, ConversationState, WorkQueue};
use time::OffsetDateTime;

/// Whether distribution gives out a queue's waiting conversations at `at`: only within its operating hours
/// (a queue without hours is always open). Out of hours its conversations wait, and the customer is told
/// so ("we are closed"), until it opens: nobody works a closed queue.
pub fn distributes(queue: Option<&WorkQueue>, at: OffsetDateTime) -> bool {
    crate::hours::is_open(queue.and_then(|q| q.operating_hours.as_ref()), at)
}

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

/// How long after an agent declines a conversation it may be offered to those who declined it again (when
/// nobody else of the queue can take it): a decline is an answer, so it is not asked again at once. A
/// missed offer (it expired unanswered) sets no pause: its agent may simply have been slow, and is asked
/// again at once when nobody else can take it, even while another agent's decline is fresh.
pub const ASK_AGAIN_AFTER_DECLINE: time::Duration = time::Duration::seconds(30);

/// The agents who declined a conversation or let an offer of it expire, and those of them who may not be
/// offered it again yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusals<'a> {
    pub by: &'a [AgentId],
    /// The decliners while its last decline is younger than [`ASK_AGAIN_AFTER_DECLINE`]; empty after.
    pub paused: &'a [AgentId],
}

impl<'a> Refusals<'a> {
    /// A conversation nobody refused.
    pub const NONE: Refusals<'static> = Refusals { by: &[], paused: &[] };

    /// The refusals of a conversation as they stand at `now`: its `refused_by`, and its `declined_by`
    /// paused until [`ASK_AGAIN_AFTER_DECLINE`] after `declined_at`. A conversation declined before
    /// `declined_by` was kept has only `declined_at`: all its refusers wait for the pause, as they did then.
    pub fn of(conversation: &'a crate::model::Conversation, now: OffsetDateTime) -> Self {
        let by = conversation.refused_by.as_slice();
        let paused = match conversation.declined_at {
            Some(at) if now - at < ASK_AGAIN_AFTER_DECLINE && conversation.declined_by.is_empty() => by,
            Some(at) if now - at < ASK_AGAIN_AFTER_DECLINE => conversation.declined_by.as_slice(),
            _ => &[],
        };
        Refusals { by, paused }
    }
}

/// The agents able to take a conversation of `queue` that was `refused` (declined or let expire), best
/// first: those who did not refuse it; the refusers only when no other agent of the queue is available at
/// all (then waiting would serve the customer no better than asking again), and a decliner not until
/// [`ASK_AGAIN_AFTER_DECLINE`] after the last decline.
pub fn rank_for<'a>(queue: &QueueId, refused: Refusals<'_>, agents: &'a [Agent]) -> Vec<&'a Agent> {
    let ranked = rank_candidates(queue, agents);
    let (others, refusers): (Vec<&Agent>, Vec<&Agent>) =
        ranked.into_iter().partition(|a| !refused.by.contains(&a.id));
    if !others.is_empty() {
        return others;
    }
    let another_available = agents.iter().any(|a| {
        a.presence == crate::model::Presence::Available
            && a.queues.contains(queue)
            && !refused.by.contains(&a.id)
    });
    if another_available {
        return Vec::new();
    }
    refusers.into_iter().filter(|a| !refused.paused.contains(&a.id)).collect()
}

/// Whether a conversation of `queue` that was `refused` stays in line after distribution: nobody
/// [`rank_for`] would hand it to is free. The place in line a customer is told rests on this, so that it
/// follows the same ranking as distribution itself.
pub fn waits_for_an_agent(queue: &QueueId, refused: Refusals<'_>, agents: &[Agent]) -> bool {
    rank_for(queue, refused, agents).is_empty()
}

/// The longest affinity window a queue may set: 30 days.
pub const MAX_AFFINITY_SECS: u64 = 30 * 86_400;

/// The agent who last had the customer (the latest `assigned` event of their CRM timeline naming an agent)
/// if that was within `window` before `now`.
pub fn last_agent(
    events: &[crate::model::TimelineEvent],
    now: OffsetDateTime,
    window: time::Duration,
) -> Option<AgentId> {
    events
        .iter()
        .filter(|e| e.kind == "assigned" && e.at <= now && now - e.at <= window)
        .max_by_key(|e| e.at)
        .and_then(|e| e.detail.get("agent_id").and_then(|a| a.as_str()).map(AgentId::new))
}

/// Moves `preferred` (the agent with affinity to the customer) to the front of `ranked` when it is there,
/// that is when it can take the conversation; otherwise the ranking stands.
pub fn prefer<'a>(mut ranked: Vec<&'a Agent>, preferred: Option<&AgentId>) -> Vec<&'a Agent> {
    if let Some(p) = preferred
        && let Some(i) = ranked.iter().position(|a| &a.id == p)
    {
        let agent = ranked.remove(i);
        ranked.insert(0, agent);
    }
    ranked
}

/// The queue's affinity window: a 400 naming the field and the rule.
pub fn validate_affinity(queue: &WorkQueue) -> Result<(), FieldError> {
    if queue.affinity_secs > MAX_AFFINITY_SECS {
        return Err(FieldError::new(
            "affinity_secs",
            format!("between 0 (off) and {MAX_AFFINITY_SECS} seconds"),
        ));
    }
    Ok(())
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

/// Whether a supervisor (or an admin) may hand `c` to an agent of their choosing: only while it waits in its
/// queue for distribution (open, nobody holds or is offered it, no transfer under way); one an agent holds
/// moves with a transfer.
pub fn assignable_by_hand(c: &Conversation) -> bool {
    c.state == ConversationState::Open && c.agent_id.is_none() && c.transfer.is_none()
}

/// The transcript's entry (for agents, never sent) when `by` hands a waiting conversation to `to`: given
/// (the queue auto-accepts), or offered (`to` accepts or declines it as any offer).
pub fn assigned_by_hand_entry(by: &str, to: &str, offered: bool) -> String {
    if offered {
        format!("{by} offered the conversation to {to}.")
    } else {
        format!("{by} gave the conversation to {to}.")
    }
}

/// The transcript's entry (for agents, never sent) when `by` moves a waiting conversation from the queue named
/// `from` to the one named `to`.
pub fn moved_to_queue_entry(by: &str, from: &str, to: &str) -> String {
    format!("{by} moved the conversation from queue {from} to queue {to}.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Conversation, Presence};
    use time::macros::datetime;

    #[test]
    fn a_move_between_queues_names_who_and_both_queues() {
        assert_eq!(
            moved_to_queue_entry("Sue", "Support", "Billing"),
            "Sue moved the conversation from queue Support to queue Billing."
        );
    }

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
            role: Default::default(),
            missed_offers: 0,
            presence_changed_at: None,
            team_id: None,
        }
    }

    #[test]
    fn only_a_conversation_waiting_for_distribution_is_handed_to_an_agent_by_hand() {
        use crate::access::tests::conversation;
        assert!(assignable_by_hand(&conversation("q", None, ConversationState::Open)));
        for state in [ConversationState::Offered, ConversationState::Active, ConversationState::Waiting] {
            assert!(!assignable_by_hand(&conversation("q", Some("ag_a"), state)), "{state:?}");
        }
        assert!(!assignable_by_hand(&conversation("q", None, ConversationState::Closed)));
        let mut moving = conversation("q", None, ConversationState::Open);
        moving.transfer = Some(crate::transfer::Transfer {
            from_agent: AgentId::new("ag_a"),
            from_queue: QueueId::new("q"),
            target: crate::transfer::TransferTarget::Queue(QueueId::new("q2")),
            target_name: None,
            note: None,
            started_at: datetime!(2026-01-01 0:00 UTC),
            expires_at: datetime!(2026-01-01 0:02 UTC),
        });
        assert!(!assignable_by_hand(&moving), "a transfer under way");
        assert_eq!(assigned_by_hand_entry("Sue", "Bo", false), "Sue gave the conversation to Bo.");
        assert_eq!(assigned_by_hand_entry("Sue", "Bo", true), "Sue offered the conversation to Bo.");
    }

    #[test]
    fn a_queue_is_distributed_only_within_its_operating_hours() {
        let at = time::macros::datetime!(2026-11-30 12:00 UTC); // a Monday
        let mut queue = WorkQueue::new(QueueId::new("q"), "q".to_string(), at);
        assert!(distributes(Some(&queue), at), "no hours: always open");
        assert!(distributes(None, at));
        let hours = |day: &str| crate::hours::OperatingHours {
            time_zone: "UTC".into(),
            days: [(day.to_string(), vec![["09:00".to_string(), "17:00".to_string()]])].into(),
            holidays: vec![],
        };
        queue.operating_hours = Some(hours("mon"));
        assert!(distributes(Some(&queue), at));
        queue.operating_hours = Some(hours("tue"));
        assert!(!distributes(Some(&queue), at), "closed on Mondays");
    }

    #[test]
    fn a_conversation_waits_when_distribution_would_hand_it_to_nobody() {
        let q = QueueId::new("q");
        let free_a = agent("ag_a", &["q"], 2, 0, Presence::Available);
        let full_b = agent("ag_b", &["q"], 1, 1, Presence::Available);
        let by_a = [AgentId::new("ag_a")];
        let refused = Refusals { by: &by_a, paused: &[] };
        assert!(!waits_for_an_agent(&q, Refusals::NONE, &[free_a.clone(), full_b.clone()]), "a is free");
        // a is free but refused it, and b (available, full) is who distribution waits for: it stays in line,
        // though a bare capacity check (`rank_candidates`) would count a as someone free.
        assert!(!rank_candidates(&q, &[free_a.clone(), full_b.clone()]).is_empty());
        assert!(waits_for_an_agent(&q, refused, &[free_a.clone(), full_b]));
        // a refused it but is the only one available: distribution asks a again.
        let away_b = agent("ag_b", &["q"], 1, 0, Presence::Away);
        assert!(!waits_for_an_agent(&q, refused, &[free_a.clone(), away_b.clone()]));
        // ...but not while a's decline is fresh.
        let paused = Refusals { by: &by_a, paused: &by_a };
        assert!(waits_for_an_agent(&q, paused, &[free_a, away_b]));
        let other_queue = agent("ag_c", &["other"], 5, 0, Presence::Available);
        assert!(waits_for_an_agent(&q, Refusals::NONE, &[other_queue]), "nobody of the queue");
    }

    fn refused(by: &[&str], declined_by: &[&str], declined_at: Option<OffsetDateTime>) -> Conversation {
        let mut c = crate::access::tests::conversation("q", None, crate::model::ConversationState::Open);
        c.refused_by = by.iter().map(|a| AgentId::new(*a)).collect();
        c.declined_by = declined_by.iter().map(|a| AgentId::new(*a)).collect();
        c.declined_at = declined_at;
        c
    }

    #[test]
    fn a_decliner_is_asked_again_only_after_the_pause_and_a_miss_sets_none() {
        let now = datetime!(2026-01-01 10:00 UTC);
        let a_id = [AgentId::new("ag_a")];
        let missed = refused(&["ag_a"], &[], None);
        assert!(Refusals::of(&missed, now).paused.is_empty(), "missed, never declined: at once");
        let just = now - time::Duration::seconds(1);
        let declined = refused(&["ag_a"], &["ag_a"], Some(just));
        assert_eq!(Refusals::of(&declined, now).paused, a_id, "declined a second ago");
        let edge = now - ASK_AGAIN_AFTER_DECLINE;
        let over = refused(&["ag_a"], &["ag_a"], Some(edge));
        assert!(Refusals::of(&over, now).paused.is_empty(), "the pause is over");
        // Kept before `declined_by` was: every refuser waits for the pause.
        let older = refused(&["ag_a"], &[], Some(just));
        assert_eq!(Refusals::of(&older, now).paused, a_id);
        // Others who did not refuse it are never held back by the pause.
        let q = QueueId::new("q");
        let a = agent("ag_a", &["q"], 2, 0, Presence::Available);
        let b = agent("ag_b", &["q"], 2, 0, Presence::Available);
        let both = [a.clone(), b.clone()];
        let ranked = rank_for(&q, Refusals::of(&declined, now), &both);
        assert_eq!(ranked.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["ag_b"]);
        assert!(rank_for(&q, Refusals::of(&declined, now), std::slice::from_ref(&a)).is_empty());
        assert_eq!(rank_for(&q, Refusals::of(&over, now), std::slice::from_ref(&a)).len(), 1);
        // a declined it, then b let it expire: b, who only missed it, is asked again at once; a is not.
        let both_refused = refused(&["ag_a", "ag_b"], &["ag_a"], Some(just));
        let ranked = rank_for(&q, Refusals::of(&both_refused, now), &both);
        assert_eq!(ranked.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), ["ag_b"]);
        assert!(!waits_for_an_agent(&q, Refusals::of(&both_refused, now), &both));
        let later = now + ASK_AGAIN_AFTER_DECLINE;
        assert_eq!(rank_for(&q, Refusals::of(&both_refused, later), &both).len(), 2, "both, once it is over");
    }

    #[test]
    fn affinity_prefers_the_customers_last_agent_within_the_window_when_they_can_take_it() {
        use crate::model::TimelineEvent;
        let at = datetime!(2026-01-01 10:00 UTC);
        let event = |kind: &str, agent: &str, minutes_ago: i64| TimelineEvent {
            id: format!("{kind}{minutes_ago}"),
            contact_id: crate::ContactId::new("ct_1"),
            conversation_id: ConversationId::new("cv_1"),
            kind: kind.into(),
            detail: serde_json::json!({"agent_id": agent}),
            at: at - time::Duration::minutes(minutes_ago),
        };
        let events =
            vec![event("assigned", "ag_old", 50), event("assigned", "ag_b", 20), event("closed", "ag_x", 1)];
        let window = time::Duration::hours(1);
        assert_eq!(last_agent(&events, at, window), Some(AgentId::new("ag_b")), "the latest assignment");
        assert_eq!(last_agent(&events, at, time::Duration::minutes(10)), None, "outside the window");
        let q = QueueId::new("q_1");
        let a = agent("ag_a", &["q_1"], 3, 0, Presence::Available);
        let b = agent("ag_b", &["q_1"], 3, 2, Presence::Available);
        let ids = |v: Vec<&Agent>| v.iter().map(|a| a.id.as_str().to_string()).collect::<Vec<_>>();
        let agents = [a, b];
        let preferred = Some(AgentId::new("ag_b"));
        assert_eq!(ids(prefer(rank_candidates(&q, &agents), preferred.as_ref())), vec!["ag_b", "ag_a"]);
        let full_b = [agents[0].clone(), agent("ag_b", &["q_1"], 2, 2, Presence::Available)];
        assert_eq!(ids(prefer(rank_candidates(&q, &full_b), preferred.as_ref())), vec!["ag_a"], "b is full");
        let mut long = WorkQueue::new(q.clone(), "Q", at);
        long.affinity_secs = MAX_AFFINITY_SECS + 1;
        assert_eq!(validate_affinity(&long).unwrap_err().field, "affinity_secs");
    }

    #[test]
    fn a_refused_conversation_goes_to_another_agent_and_back_only_when_nobody_else_is_there() {
        let q = QueueId::new("q_1");
        let by_a = vec![AgentId::new("ag_a")];
        let refused = Refusals { by: &by_a, paused: &[] };
        let ids = |v: Vec<&Agent>| v.iter().map(|a| a.id.as_str().to_string()).collect::<Vec<_>>();
        let a = agent("ag_a", &["q_1"], 3, 0, Presence::Available);
        let b = agent("ag_b", &["q_1"], 3, 2, Presence::Available);
        assert_eq!(ids(rank_for(&q, refused, &[a.clone(), b.clone()])), vec!["ag_b"], "a busier other first");
        let full_b = agent("ag_b", &["q_1"], 2, 2, Presence::Available);
        assert!(rank_for(&q, refused, &[a.clone(), full_b]).is_empty(), "waits for b rather than re-ask a");
        let away_b = agent("ag_b", &["q_1"], 3, 0, Presence::Away);
        assert_eq!(
            ids(rank_for(&q, refused, &[a.clone(), away_b])),
            vec!["ag_a"],
            "nobody else: ask a again"
        );
        assert_eq!(
            ids(rank_for(&q, Refusals::NONE, &[a, b])),
            vec!["ag_a", "ag_b"],
            "no refusals: least loaded first"
        );
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
