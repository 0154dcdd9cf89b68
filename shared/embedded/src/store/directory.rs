//! Channels, work queues and agents.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::service_level::DayCounts;
use smsdesk_domain::*;
use smsdesk_ports::{
    AgentSettings, AgentStore, AgentWrite, ChannelStore, ChannelWrite, MenuStore, PortError, PortResult,
    WorkQueueStore,
};

use super::EmbeddedStore;
use crate::db::{Cached, sql, to_json};
use crate::rows::{all, one};

#[async_trait]
impl ChannelStore for EmbeddedStore {
    async fn put_channel(&self, channel: &Channel) -> PortResult<ChannelWrite> {
        let (id, body) = (channel.id.to_string(), to_json(channel)?);
        let channel = channel.clone();
        self.db
            .tx(move |tx| {
                // One writer at a time: the claims read here are the ones the write below changes.
                let stored: Option<Channel> = one(tx, "SELECT body FROM channels WHERE id = ?1", [&id])?;
                let changes = channel.number_changes(stored.as_ref());
                for number in &changes.taken {
                    let holder: Option<String> = tx
                        .query_row_cached(
                            "SELECT channel_id FROM number_claims WHERE number = ?1",
                            [number.e164()],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(sql)?;
                    if let Some(holder) = holder.filter(|h| *h != id) {
                        let (number, channel) = ((*number).clone(), ChannelId::new(holder));
                        return Ok(ChannelWrite::NumberTaken { number, channel });
                    }
                }
                // Every claim is free or already this channel's: nothing was written before this point.
                for number in &changes.taken {
                    tx.execute_cached(
                        "INSERT OR REPLACE INTO number_claims (number, channel_id) VALUES (?1, ?2)",
                        params![number.e164(), id],
                    )
                    .map_err(sql)?;
                }
                for number in &changes.released {
                    tx.execute_cached(
                        "DELETE FROM number_claims WHERE number = ?1 AND channel_id = ?2",
                        params![number.e164(), id],
                    )
                    .map_err(sql)?;
                }
                tx.execute_cached(
                    "INSERT OR REPLACE INTO channels (id, body) VALUES (?1, ?2)",
                    params![id, body],
                )
                .map_err(sql)?;
                Ok(ChannelWrite::Stored)
            })
            .await
    }

    async fn get_channel(&self, id: &ChannelId) -> PortResult<Option<Channel>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM channels WHERE id = ?1", [id])).await
    }

    async fn list_channels(&self) -> PortResult<Vec<Channel>> {
        self.db.read(|tx| all(tx, "SELECT body FROM channels ORDER BY id", [])).await
    }
}

#[async_trait]
impl WorkQueueStore for EmbeddedStore {
    async fn put_queue(&self, queue: &WorkQueue) -> PortResult<()> {
        let (id, body) = (queue.id.to_string(), to_json(queue)?);
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO work_queues (id, body) VALUES (?1, ?2)",
                    params![id, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_queue(&self, id: &QueueId) -> PortResult<Option<WorkQueue>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM work_queues WHERE id = ?1", [id])).await
    }

    async fn list_queues(&self) -> PortResult<Vec<WorkQueue>> {
        self.db.read(|tx| all(tx, "SELECT body FROM work_queues ORDER BY id", [])).await
    }

    async fn delete_queue(&self, id: &QueueId) -> PortResult<bool> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                Ok(tx.execute_cached("DELETE FROM work_queues WHERE id = ?1", [id]).map_err(sql)? == 1)
            })
            .await
    }

    async fn record_answer(&self, queue: &QueueId, day: time::Date, within_target: bool) -> PortResult<()> {
        let (id, day, within) = (queue.to_string(), day.to_string(), i64::from(within_target));
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT INTO queue_answers (queue_id, day, answered, within_target) VALUES (?1, ?2, 1, ?3) \
                     ON CONFLICT (queue_id, day) DO UPDATE SET answered = answered + 1, \
                     within_target = within_target + excluded.within_target",
                    params![id, day, within],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn answer_counts(
        &self,
        queue: &QueueId,
        first: time::Date,
        last: time::Date,
    ) -> PortResult<Vec<(time::Date, DayCounts)>> {
        let (id, first, last) = (queue.to_string(), first.to_string(), last.to_string());
        self.db
            .read(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT day, answered, within_target FROM queue_answers \
                         WHERE queue_id = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![id, first, last], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (day, answered, within) = row.map_err(sql)?;
                    let day = time::Date::parse(&day, DAY_FORMAT)
                        .map_err(|e| PortError::Corrupt(format!("queue_answers day '{day}': {e}")))?;
                    let counts = DayCounts {
                        answered: u64::try_from(answered).unwrap_or(0),
                        within_target: u64::try_from(within).unwrap_or(0),
                    };
                    out.push((day, counts));
                }
                Ok(out)
            })
            .await
    }
}

/// How `queue_answers.day` is written (`Date`'s `Display`: `YYYY-MM-DD`).
const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[async_trait]
impl MenuStore for EmbeddedStore {
    async fn put_menu(&self, menu: &Menu) -> PortResult<()> {
        let (id, body) = (menu.id.to_string(), to_json(menu)?);
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO menus (id, body) VALUES (?1, ?2)",
                    params![id, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_menu(&self, id: &MenuId) -> PortResult<Option<Menu>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM menus WHERE id = ?1", [id])).await
    }

    async fn list_menus(&self) -> PortResult<Vec<Menu>> {
        self.db.read(|tx| all(tx, "SELECT body FROM menus ORDER BY id", [])).await
    }

    async fn delete_menu(&self, id: &MenuId) -> PortResult<bool> {
        let id = id.to_string();
        self.db
            .tx(move |tx| Ok(tx.execute_cached("DELETE FROM menus WHERE id = ?1", [id]).map_err(sql)? == 1))
            .await
    }
}

/// Reads an agent inside a transaction (assignment and close change it together with a conversation).
pub(crate) fn load_agent(tx: &rusqlite::Transaction<'_>, id: &str) -> PortResult<Option<Agent>> {
    one(tx, "SELECT body FROM agents WHERE id = ?1", [id])
}

/// Writes an agent's record back (its token and queues are unchanged).
pub(crate) fn save_agent(tx: &rusqlite::Transaction<'_>, agent: &Agent) -> PortResult<()> {
    tx.execute_cached(
        "UPDATE agents SET body = ?2 WHERE id = ?1",
        params![agent.id.as_str(), to_json(agent)?],
    )
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl AgentStore for EmbeddedStore {
    async fn put_agent(&self, agent: &Agent, token_sha256: &str) -> PortResult<AgentWrite> {
        let (agent, token, body) = (agent.clone(), token_sha256.to_string(), to_json(agent)?);
        self.db
            .tx(move |tx| {
                let id = agent.id.as_str();
                if let Some(subject) = &agent.subject {
                    let holder: Option<String> = tx
                        .query_row_cached(
                            "SELECT id FROM agents WHERE subject = ?1 AND id <> ?2",
                            params![subject, id],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(sql)?;
                    if holder.is_some() {
                        return Ok(AgentWrite::SubjectTaken);
                    }
                }
                tx.execute_cached(
                    "INSERT OR REPLACE INTO agents (id, token_sha256, body, subject) VALUES (?1, ?2, ?3, ?4)",
                    params![id, token, body, agent.subject],
                )
                .map_err(sql)?;
                tx.execute_cached("DELETE FROM agent_queues WHERE agent_id = ?1", [id]).map_err(sql)?;
                for q in &agent.queues {
                    tx.execute_cached(
                        "INSERT OR IGNORE INTO agent_queues (queue_id, agent_id) VALUES (?1, ?2)",
                        params![q.as_str(), id],
                    )
                    .map_err(sql)?;
                }
                Ok(AgentWrite::Stored)
            })
            .await
    }

    async fn get_agent(&self, id: &AgentId) -> PortResult<Option<Agent>> {
        let id = id.to_string();
        self.db.read(move |tx| load_agent(tx, &id)).await
    }

    async fn agent_by_token(&self, token_sha256: &str) -> PortResult<Option<Agent>> {
        let token = token_sha256.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM agents WHERE token_sha256 = ?1", [token])).await
    }

    async fn agent_by_subject(&self, subject: &str) -> PortResult<Option<Agent>> {
        let subject = subject.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM agents WHERE subject = ?1", [subject])).await
    }

    async fn set_presence(
        &self,
        id: &AgentId,
        presence: Presence,
        at: time::OffsetDateTime,
    ) -> PortResult<Option<Agent>> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                let Some(mut agent) = load_agent(tx, &id)? else { return Ok(None) };
                if agent.presence != presence {
                    agent.presence_changed_at = Some(at);
                }
                agent.presence = presence;
                save_agent(tx, &agent)?;
                Ok(Some(agent))
            })
            .await
    }

    async fn update_agent(&self, id: &AgentId, settings: &AgentSettings) -> PortResult<Option<Agent>> {
        let (id, settings) = (id.to_string(), settings.clone());
        self.db
            .tx(move |tx| {
                let Some(mut agent) = load_agent(tx, &id)? else { return Ok(None) };
                agent.name = settings.name;
                agent.queues = settings.queues;
                agent.capacity = settings.capacity;
                save_agent(tx, &agent)?;
                tx.execute_cached("DELETE FROM agent_queues WHERE agent_id = ?1", [&id]).map_err(sql)?;
                for queue in &agent.queues {
                    tx.execute_cached(
                        "INSERT OR IGNORE INTO agent_queues (queue_id, agent_id) VALUES (?1, ?2)",
                        params![queue.as_str(), id],
                    )
                    .map_err(sql)?;
                }
                Ok(Some(agent))
            })
            .await
    }

    async fn agents_for_queue(&self, queue: &QueueId) -> PortResult<Vec<Agent>> {
        let queue = queue.to_string();
        self.db
            .read(move |tx| {
                all(
                    tx,
                    "SELECT a.body FROM agent_queues q JOIN agents a ON a.id = q.agent_id \
                     WHERE q.queue_id = ?1 ORDER BY a.id",
                    [queue],
                )
            })
            .await
    }

    async fn list_agents(&self) -> PortResult<Vec<Agent>> {
        self.db.read(|tx| all(tx, "SELECT body FROM agents ORDER BY id", [])).await
    }
}
