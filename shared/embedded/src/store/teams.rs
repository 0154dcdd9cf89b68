//! Teams (issue 11.3): the team row's counts change in the same transaction as its members' slots.

use async_trait::async_trait;
use rusqlite::{Transaction, params};
use smsdesk_domain::{Agent, AgentId, Team, TeamId};
use smsdesk_ports::{PortResult, TeamDelete, TeamJoin, TeamSettings, TeamStore};

use super::EmbeddedStore;
use super::directory::{load_agent, save_agent};
use crate::db::{Cached, sql, to_json};
use crate::rows::{all, one};

fn load_team(tx: &Transaction<'_>, id: &str) -> PortResult<Option<Team>> {
    one(tx, "SELECT body FROM teams WHERE id = ?1", [id])
}

fn save_team(tx: &Transaction<'_>, team: &Team) -> PortResult<()> {
    tx.execute_cached(
        "INSERT INTO teams (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        params![team.id.as_str(), to_json(team)?],
    )
    .map_err(sql)?;
    Ok(())
}

/// Whether `agent`'s team (if any) has a free slot; the caller takes it with [`take_team_slot`] in the same
/// transaction.
pub(super) fn team_has_room(tx: &Transaction<'_>, agent: &Agent) -> PortResult<bool> {
    let Some(team) = &agent.team_id else { return Ok(true) };
    Ok(load_team(tx, team.as_str())?.is_none_or(|t| t.has_free_capacity()))
}

/// `agent` takes a slot: its team's `active` grows by one.
pub(super) fn take_team_slot(tx: &Transaction<'_>, agent: &Agent) -> PortResult<()> {
    adjust(tx, agent.team_id.as_ref(), 1, 0)
}

/// `agent` gives a slot back: its team's `active` shrinks by one (never below zero).
pub(super) fn release_team_slot(tx: &Transaction<'_>, agent: &Agent) -> PortResult<()> {
    adjust(tx, agent.team_id.as_ref(), -1, 0)
}

fn adjust(tx: &Transaction<'_>, team: Option<&TeamId>, slots: i64, members: i64) -> PortResult<()> {
    let Some(team) = team else { return Ok(()) };
    let Some(mut t) = load_team(tx, team.as_str())? else { return Ok(()) };
    let add = |v: u32, d: i64| u32::try_from((i64::from(v) + d).max(0)).unwrap_or(u32::MAX);
    t.active = add(t.active, slots);
    t.members = add(t.members, members);
    save_team(tx, &t)
}

#[async_trait]
impl TeamStore for EmbeddedStore {
    async fn create_team(&self, team: &Team) -> PortResult<bool> {
        let team = team.clone();
        self.db
            .tx(move |tx| {
                if load_team(tx, team.id.as_str())?.is_some() {
                    return Ok(false);
                }
                save_team(tx, &team)?;
                Ok(true)
            })
            .await
    }

    async fn get_team(&self, id: &TeamId) -> PortResult<Option<Team>> {
        let id = id.to_string();
        self.db.read(move |tx| load_team(tx, &id)).await
    }

    async fn list_teams(&self) -> PortResult<Vec<Team>> {
        self.db.read(|tx| all(tx, "SELECT body FROM teams ORDER BY id", [])).await
    }

    async fn update_team(&self, id: &TeamId, settings: &TeamSettings) -> PortResult<Option<Team>> {
        let (id, settings) = (id.to_string(), settings.clone());
        self.db
            .tx(move |tx| {
                let Some(mut t) = load_team(tx, &id)? else { return Ok(None) };
                t.name = settings.name;
                t.capacity = settings.capacity;
                t.queues = settings.queues;
                save_team(tx, &t)?;
                Ok(Some(t))
            })
            .await
    }

    async fn delete_team(&self, id: &TeamId) -> PortResult<TeamDelete> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                let Some(t) = load_team(tx, &id)? else { return Ok(TeamDelete::NotFound) };
                if t.members > 0 {
                    return Ok(TeamDelete::HasMembers);
                }
                tx.execute_cached("DELETE FROM teams WHERE id = ?1", [&id]).map_err(sql)?;
                Ok(TeamDelete::Deleted)
            })
            .await
    }

    async fn set_agent_team(&self, agent: &AgentId, team: Option<&TeamId>) -> PortResult<TeamJoin> {
        let (agent, team) = (agent.to_string(), team.cloned());
        self.db
            .tx(move |tx| {
                let Some(mut a) = load_agent(tx, &agent)? else { return Ok(TeamJoin::NoAgent) };
                if let Some(t) = &team
                    && load_team(tx, t.as_str())?.is_none()
                {
                    return Ok(TeamJoin::NoTeam);
                }
                if a.team_id == team {
                    return Ok(TeamJoin::Done(a));
                }
                let held = i64::from(a.active);
                adjust(tx, a.team_id.as_ref(), -held, -1)?;
                adjust(tx, team.as_ref(), held, 1)?;
                a.team_id = team;
                save_agent(tx, &a)?;
                Ok(TeamJoin::Done(a))
            })
            .await
    }
}
