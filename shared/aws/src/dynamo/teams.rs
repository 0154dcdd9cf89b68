//! Teams (issue 11.3): one item per team (`TEAMS#<shard>` / `TEAM#<id>`) with its settings and two counts,
//! `active` (the slots its members hold) and `members` (agents whose `team_id` names it). Both move only
//! inside the transactions that move an agent's own count or its `team_id`, each such write conditioned on
//! the agent's `team_id` being the team it counts against, so a member who changes team in between never
//! leaves a slot counted on the wrong team.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use smsdesk_domain::*;
use smsdesk_ports::{AgentStore, PortResult, TeamDelete, TeamJoin, TeamSettings, TeamStore};

use super::conversations::absent;
use super::{Cond, DynamoStore, Query, Tx, attempts, contention, keys};
use crate::attr::{Expr, from_item, n, record_item, s, to_attr};

/// The condition that the agent item names `team` (None: no team).
pub(crate) fn team_is(expr: &mut Expr, team: Option<&TeamId>) -> String {
    match team {
        Some(t) => expr.eq("team_id", s(t.as_str())),
        None => {
            let name = expr.name("team_id");
            format!("(attribute_not_exists({name}) OR attribute_type({name}, {}))", expr.value(s("NULL")))
        }
    }
}

impl DynamoStore {
    /// "The team's `active` grows by one while below its capacity": the team's half of taking a slot.
    pub(crate) fn take_team_slot(&self, team: &TeamId) -> PortResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let active = expr.name("active");
        let update = format!("SET {active} = {active} + {}", expr.value(n(1)));
        let condition = format!("{active} < {}", expr.name("capacity"));
        self.update_item(keys::team(team), update, Some(condition), expr)
    }

    /// "The team's `active` shrinks by one while above zero": the team's half of giving a slot back.
    pub(crate) fn release_team_slot(&self, team: &TeamId) -> PortResult<TransactWriteItem> {
        self.release_team_slots(team, 1)
    }

    /// `slots` of `team`'s `active` back, while it has that many (one update: a transaction may name an item
    /// once, so two members' slots of one team go back together).
    pub(crate) fn release_team_slots(&self, team: &TeamId, slots: u32) -> PortResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let active = expr.name("active");
        let update = format!("SET {active} = {active} - {}", expr.value(n(slots)));
        let condition = format!("{active} >= {}", expr.value(n(slots)));
        self.update_item(keys::team(team), update, Some(condition), expr)
    }

    /// Moves `slots` and one member onto (`sign` 1) or off (`sign` -1) `team`.
    fn move_counts(&self, team: &TeamId, slots: u32, sign: i8) -> PortResult<TransactWriteItem> {
        let mut expr = Expr::new();
        let (active, members) = (expr.name("active"), expr.name("members"));
        let op = if sign > 0 { "+" } else { "-" };
        let update = format!(
            "SET {active} = {active} {op} {}, {members} = {members} {op} {}",
            expr.value(n(slots)),
            expr.value(n(1))
        );
        let condition = format!("attribute_exists({})", expr.name("pk"));
        self.update_item(keys::team(team), update, Some(condition), expr)
    }
}

#[async_trait]
impl TeamStore for DynamoStore {
    async fn create_team(&self, team: &Team) -> PortResult<bool> {
        let mut item = record_item(team)?;
        item.extend(keys::team(&team.id));
        item.insert("entity".into(), s("team"));
        self.put(item, Some(absent())).await
    }

    async fn get_team(&self, id: &TeamId) -> PortResult<Option<Team>> {
        self.get(keys::team(id)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn list_teams(&self) -> PortResult<Vec<Team>> {
        let queries = keys::teams_partitions().map(|pk| Query::prefix(&pk, "TEAM#")).collect();
        let mut teams: Vec<Team> =
            self.query_all(queries).await?.iter().flatten().map(from_item).collect::<PortResult<_>>()?;
        teams.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(teams)
    }

    async fn update_team(&self, id: &TeamId, settings: &TeamSettings) -> PortResult<Option<Team>> {
        let mut expr = Expr::new();
        let queues: Vec<serde_json::Value> =
            settings.queues.iter().map(|q| serde_json::Value::String(q.to_string())).collect();
        let update = format!(
            "SET {}, {}, {}",
            expr.eq("name", s(settings.name.as_str())),
            expr.eq("capacity", n(settings.capacity)),
            expr.eq("queues", to_attr(&serde_json::Value::Array(queues))),
        );
        let condition = format!("attribute_exists({})", expr.name("pk"));
        let item = self.update(keys::team(id), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }

    async fn delete_team(&self, id: &TeamId) -> PortResult<TeamDelete> {
        let mut expr = Expr::new();
        let members = expr.name("members");
        let expression = format!(
            "attribute_exists({}) AND (attribute_not_exists({members}) OR {members} = {})",
            expr.name("pk"),
            expr.value(n(0))
        );
        if self.delete_if(keys::team(id), Cond { expression, expr }).await? {
            return Ok(TeamDelete::Deleted);
        }
        Ok(match self.get_team(id).await? {
            Some(_) => TeamDelete::HasMembers,
            None => TeamDelete::NotFound,
        })
    }

    async fn set_agent_team(&self, agent: &AgentId, team: Option<&TeamId>) -> PortResult<TeamJoin> {
        for _ in attempts() {
            let Some(current) = self.get_agent(agent).await? else { return Ok(TeamJoin::NoAgent) };
            if current.team_id.as_ref() == team {
                if let Some(t) = team
                    && self.get_team(t).await?.is_none()
                {
                    return Ok(TeamJoin::NoTeam);
                }
                return Ok(TeamJoin::Done(current));
            }
            // The agent, still with the team and the count it was read with, changes team; the counts move
            // with it in the same transaction.
            let mut expr = Expr::new();
            let update = match team {
                Some(t) => format!("SET {}", expr.eq("team_id", s(t.as_str()))),
                None => format!("REMOVE {}", expr.name("team_id")),
            };
            let condition = format!(
                "attribute_exists({}) AND {} AND {}",
                expr.name("pk"),
                expr.eq("active", n(current.active)),
                team_is(&mut expr, current.team_id.as_ref())
            );
            let mut tx = vec![self.update_item(keys::agent(agent), update, Some(condition), expr)?];
            if let Some(old) = &current.team_id {
                tx.push(self.move_counts(old, current.active, -1)?);
            }
            let joined_at = match team {
                Some(t) => {
                    tx.push(self.move_counts(t, current.active, 1)?);
                    Some(tx.len() - 1)
                }
                None => None,
            };
            match self.transact(tx).await? {
                Tx::Committed => {
                    let mut moved = current;
                    moved.team_id = team.cloned();
                    return Ok(TeamJoin::Done(moved));
                }
                outcome => {
                    if joined_at.is_some_and(|i| outcome.failed_at(i))
                        && let Some(t) = team
                        && self.get_team(t).await?.is_none()
                    {
                        return Ok(TeamJoin::NoTeam);
                    }
                }
            }
        }
        Err(contention("set_agent_team"))
    }
}
