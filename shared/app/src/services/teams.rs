//! Teams in distribution (issue 11.3): a team's members serve its queues besides their own, and a member
//! of a full team gets nothing new (the store enforces both capacities atomically; this only keeps
//! distribution from asking in vain). One place resolves who serves what, for every caller.

use crate::App;
use smsdesk_domain::team::{self, Team};
use smsdesk_domain::{Agent, QueueId};
use smsdesk_ports::PortResult;

/// The agent as distribution and access see it: its own queues and its team's.
pub async fn serving(app: &App, agent: Agent) -> PortResult<Agent> {
    let Some(team_id) = &agent.team_id else { return Ok(agent) };
    let team = app.store.get_team(team_id).await?;
    Ok(team::serving(&agent, team.as_ref()))
}

/// The queues `agent` serves: its own and its team's.
pub async fn queues_of(app: &App, agent: Agent) -> PortResult<Vec<QueueId>> {
    Ok(serving(app, agent).await?.queues)
}

/// Every agent serving `queue` (directly, or as a member of a team in `teams` that serves it), each with
/// its team's queues added ([`team::serving`]).
pub async fn agents_serving(app: &App, queue: &QueueId, teams: &[Team]) -> PortResult<Vec<Agent>> {
    let mut agents = app.store.agents_for_queue(queue).await?;
    let via_team: Vec<&Team> = teams.iter().filter(|t| t.queues.contains(queue)).collect();
    if !via_team.is_empty() {
        for a in app.store.list_agents().await? {
            let member = a.team_id.as_ref().is_some_and(|t| via_team.iter().any(|x| &x.id == t));
            if member && !agents.iter().any(|x| x.id == a.id) {
                agents.push(a);
            }
        }
    }
    Ok(agents
        .into_iter()
        .map(|a| {
            let t = a.team_id.as_ref().and_then(|id| teams.iter().find(|t| &t.id == id));
            team::serving(&a, t)
        })
        .collect())
}
