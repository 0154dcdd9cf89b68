//! Which agent gets a waiting conversation: an available agent of the conversation's queue with free
//! capacity, least loaded first (fewest active conversations), ties to the one idle the longest, then by id
//! so the choice is deterministic.

use crate::ids::{AgentId, QueueId};
use crate::model::Agent;

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
}
