//! Teams (issue 11.3): a named group of agents with a capacity of its own (the most SMS conversations its
//! members hold together) and the queues it serves. A member serves the team's queues in addition to its
//! own, and a slot it takes counts against its own capacity and the team's: distribution gives a member
//! nothing new while either is full. The store keeps `active` (the slots the members hold, summed) and
//! `members` (how many agents name the team) in the same atomic write as the agents' own counts.

use crate::ids::{AgentId, QueueId, TeamId};
use crate::model::Agent;
use crate::model::rfc3339;
use crate::validation::{FieldError, check_name};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The largest capacity a team may have.
pub const MAX_TEAM_CAPACITY: u32 = 10_000;
/// The most queues a team may serve.
pub const MAX_TEAM_QUEUES: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// Most conversations the members hold at once, together.
    pub capacity: u32,
    /// Queues every member serves (besides each member's own queues).
    #[serde(default)]
    pub queues: Vec<QueueId>,
    /// Slots the members hold now (the sum of their `active`); kept by the store.
    #[serde(default)]
    pub active: u32,
    /// Agents whose `team_id` names this team; kept by the store.
    #[serde(default)]
    pub members: u32,
    #[serde(with = "rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Team {
    pub fn new(id: TeamId, name: impl Into<String>, capacity: u32, at: OffsetDateTime) -> Self {
        Self { id, name: name.into(), capacity, queues: Vec::new(), active: 0, members: 0, created_at: at }
    }

    pub fn has_free_capacity(&self) -> bool {
        self.active < self.capacity
    }
}

/// A team's settings: a 400 naming the field and the rule.
pub fn validate(team: &Team) -> Result<(), FieldError> {
    check_name("name", &team.name)?;
    if !(1..=MAX_TEAM_CAPACITY).contains(&team.capacity) {
        return Err(FieldError::new("capacity", format!("must be between 1 and {MAX_TEAM_CAPACITY}")));
    }
    if team.queues.len() > MAX_TEAM_QUEUES {
        return Err(FieldError::new("queues", format!("at most {MAX_TEAM_QUEUES} queues")));
    }
    for (i, q) in team.queues.iter().enumerate() {
        if team.queues[..i].contains(q) {
            return Err(FieldError::new(format!("queues[{i}]"), "each queue at most once"));
        }
    }
    Ok(())
}

/// The agent as distribution and access see it: its own queues, then those of its team not already there.
/// `team` is the agent's team (None when it has none, or the team is not the one it names).
pub fn serving(agent: &Agent, team: Option<&Team>) -> Agent {
    let mut out = agent.clone();
    if let Some(t) = team.filter(|t| agent.team_id.as_ref() == Some(&t.id)) {
        for q in &t.queues {
            if !out.queues.contains(q) {
                out.queues.push(q.clone());
            }
        }
    }
    out
}

/// Of `agents`, those who may be given something: the agent's own capacity is free (checked by the
/// ranking) and so is its team's. A member of a full team is taken out of the candidates.
pub fn within_team_capacity(agents: Vec<Agent>, teams: &[Team]) -> Vec<Agent> {
    agents.into_iter().filter(|a| team_has_room(a, teams)).collect()
}

/// Whether `agent`'s team (if it has one) has a free slot.
pub fn team_has_room(agent: &Agent, teams: &[Team]) -> bool {
    match &agent.team_id {
        Some(t) => teams.iter().find(|x| &x.id == t).is_none_or(Team::has_free_capacity),
        None => true,
    }
}

/// Dispatch priority across an agent's queues (issue 11): when a slot of `freed` comes back (a decline, an
/// expired offer, a hand-back), the queues to distribute are the conversation's own queue and every queue
/// the freed agent serves (its own and its team's, as [`serving`] gives them), so that distribution picks
/// the next conversation for it across all of them in one order (`assign::order_waiting`: highest current
/// priority, then the longest waiting) rather than the next of the one queue the slot came from.
pub fn release_scope(queue: &QueueId, freed: Option<&Agent>) -> Vec<QueueId> {
    let mut scope = vec![queue.clone()];
    for q in freed.map(|a| a.queues.as_slice()).unwrap_or(&[]) {
        if !scope.contains(q) {
            scope.push(q.clone());
        }
    }
    scope
}

/// Whether `agent` is one of `team`'s members as the agent records it.
pub fn is_member(agent: &Agent, team: &TeamId) -> bool {
    agent.team_id.as_ref() == Some(team)
}

/// The ids of `agents` that belong to `team`.
pub fn members<'a>(agents: &'a [Agent], team: &TeamId) -> Vec<&'a AgentId> {
    agents.iter().filter(|a| is_member(a, team)).map(|a| &a.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{Waiting, order_waiting, rank_candidates};
    use crate::model::Presence;
    use crate::{ConversationId, Role};
    use time::macros::datetime;

    fn at() -> OffsetDateTime {
        datetime!(2026-01-01 0:00 UTC)
    }

    fn agent(id: &str, queues: &[&str], team: Option<&str>, capacity: u32, active: u32) -> Agent {
        Agent {
            id: AgentId::new(id),
            name: id.into(),
            queues: queues.iter().map(|q| QueueId::new(*q)).collect(),
            capacity,
            presence: Presence::Available,
            active,
            last_assigned_at: None,
            created_at: at(),
            subject: None,
            role: Role::default(),
            missed_offers: 0,
            presence_changed_at: None,
            team_id: team.map(TeamId::new),
        }
    }

    fn team(id: &str, queues: &[&str], capacity: u32, active: u32) -> Team {
        let mut t = Team::new(TeamId::new(id), id, capacity, at());
        t.queues = queues.iter().map(|q| QueueId::new(*q)).collect();
        t.active = active;
        t
    }

    #[test]
    fn settings_name_the_field_and_the_rule() {
        assert_eq!(validate(&team("tm_sales", &["q_1"], 3, 0)), Ok(()));
        let mut t = team("tm_x", &[], 3, 0);
        t.name = "x".into();
        assert_eq!(validate(&t).unwrap_err().field, "name");
        let t = team("tm_ok", &[], 0, 0);
        assert_eq!(validate(&t).unwrap_err().field, "capacity");
        let t = team("tm_ok", &[], MAX_TEAM_CAPACITY + 1, 0);
        assert_eq!(validate(&t).unwrap_err().field, "capacity");
        let t = team("tm_ok", &["q_1", "q_2", "q_1"], 2, 0);
        assert_eq!(validate(&t).unwrap_err().field, "queues[2]");
    }

    #[test]
    fn a_member_serves_the_team_queues_besides_its_own() {
        let t = team("tm_1", &["q_team", "q_own"], 5, 0);
        let member = agent("ag_a", &["q_own"], Some("tm_1"), 2, 0);
        let seen = serving(&member, Some(&t));
        assert_eq!(seen.queues, vec![QueueId::new("q_own"), QueueId::new("q_team")], "no duplicate");
        let outsider = agent("ag_b", &["q_own"], None, 2, 0);
        assert_eq!(serving(&outsider, Some(&t)).queues, outsider.queues, "not a member: own queues only");
        let q = QueueId::new("q_team");
        assert_eq!(rank_candidates(&q, &[seen]).len(), 1, "the member is a candidate for the team queue");
        assert!(rank_candidates(&q, &[member]).is_empty(), "without its team it is not");
    }

    #[test]
    fn a_full_team_takes_its_members_out_of_distribution() {
        let teams = [team("tm_full", &[], 2, 2), team("tm_free", &[], 3, 1)];
        let agents = vec![
            agent("ag_a", &["q"], Some("tm_full"), 5, 1),
            agent("ag_b", &["q"], Some("tm_free"), 5, 1),
            agent("ag_c", &["q"], None, 5, 0),
        ];
        let left: Vec<_> = within_team_capacity(agents, &teams).into_iter().map(|a| a.id).collect();
        assert_eq!(left, vec![AgentId::new("ag_b"), AgentId::new("ag_c")]);
        assert_eq!(members(&[agent("ag_a", &[], Some("tm_1"), 1, 0)], &TeamId::new("tm_1")).len(), 1);
    }

    #[test]
    fn a_freed_slot_is_offered_across_every_queue_the_agent_serves() {
        let t = team("tm_1", &["q_team"], 5, 0);
        let freed = serving(&agent("ag_a", &["q_low", "q_high"], Some("tm_1"), 1, 0), Some(&t));
        let scope = release_scope(&QueueId::new("q_low"), Some(&freed));
        let ids: Vec<&str> = scope.iter().map(QueueId::as_str).collect();
        assert_eq!(ids, vec!["q_low", "q_high", "q_team"], "the slot's queue first, each once");
        assert_eq!(release_scope(&QueueId::new("q_x"), None), vec![QueueId::new("q_x")]);
        // Across that scope, distribution order puts the higher priority of the other queue first, and
        // among equal priorities the longest waiting, whichever queue the slot came from.
        let w = |id: &str, queue: &str, priority: u32, minute: i64| Waiting {
            conversation: ConversationId::new(id),
            queue: QueueId::new(queue),
            priority,
            queued_at: at() + time::Duration::minutes(minute),
        };
        let mut waiting =
            vec![w("cv_low", "q_low", 0, 0), w("cv_high", "q_high", 5, 9), w("cv_team", "q_team", 5, 3)];
        order_waiting(&mut waiting);
        let order: Vec<&str> = waiting.iter().map(|w| w.conversation.as_str()).collect();
        assert_eq!(order, vec!["cv_team", "cv_high", "cv_low"]);
    }
}
