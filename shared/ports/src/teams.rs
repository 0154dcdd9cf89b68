//! Teams (issue 11.3) in the store. A team's `active` is the sum of its members' `active`, kept in the same
//! atomic write as theirs: every method of the store that takes an agent's slot (`assign`, `offer`) also
//! takes one of its team's, only while the team has one free, and every one that gives an agent's slot back
//! (close, requeue, refusal, transfer settled) gives the team's back too, exactly once.

use async_trait::async_trait;
use smsdesk_domain::{Agent, AgentId, QueueId, Team, TeamId};

use crate::PortResult;

/// What an admin may change on a team (its counts are the store's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamSettings {
    pub name: String,
    pub capacity: u32,
    pub queues: Vec<QueueId>,
}

/// Outcome of [`TeamStore::delete_team`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamDelete {
    Deleted,
    NotFound,
    /// Agents still name the team: nothing was deleted.
    HasMembers,
}

/// Outcome of [`TeamStore::set_agent_team`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeamJoin {
    /// The agent as it now is.
    Done(Agent),
    NoAgent,
    /// The team to join does not exist: nothing changed.
    NoTeam,
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Stores a new team (its `active` and `members` as given, normally 0). False when the id is taken.
    async fn create_team(&self, team: &Team) -> PortResult<bool>;
    async fn get_team(&self, id: &TeamId) -> PortResult<Option<Team>>;
    /// Every team, in id order.
    async fn list_teams(&self) -> PortResult<Vec<Team>>;
    /// Atomically changes the team's settings; its counts stay. A capacity below `active` takes nothing
    /// away: the members get nothing new until the team is below it. None when there is no such team.
    async fn update_team(&self, id: &TeamId, settings: &TeamSettings) -> PortResult<Option<Team>>;
    /// Deletes the team, atomically only while no agent names it.
    async fn delete_team(&self, id: &TeamId) -> PortResult<TeamDelete>;
    /// Atomically moves the agent into `team` (or out of any team with None): its `team_id` changes, the
    /// old team loses a member and the slots the agent holds (`active`), the new team gains both (a team
    /// may go above its capacity this way: it then gets nothing new until it is below). A concurrent
    /// assignment or release of the agent is never counted against the wrong team.
    async fn set_agent_team(&self, agent: &AgentId, team: Option<&TeamId>) -> PortResult<TeamJoin>;
}
