//! Channels, work queues and agents. Each kind lives in one partition (there are few of them), so that a
//! listing is one strongly consistent query.

use async_trait::async_trait;
use smsdesk_domain::service_level::DayCounts;
use smsdesk_domain::*;
use smsdesk_ports::{
    AgentSettings, AgentStore, AgentWrite, ChannelStore, ChannelWrite, MenuStore, PortError, PortResult,
    WorkQueueStore,
};

use super::{Cond, DynamoStore, Query, keys};
use crate::attr::{Expr, Item, from_item, get_s, n, record_item, s};

/// The agent item keeps the SHA-256 of its current token, so that a pointer left by an older token of
/// a re-stored agent no longer finds it.
const TOKEN_ATTRIBUTE: &str = "token_sha256";

impl DynamoStore {
    async fn put_record<T: serde::Serialize>(&self, key: Item, entity: &str, record: &T) -> PortResult<()> {
        let mut item = record_item(record)?;
        item.extend(key);
        item.insert("entity".into(), s(entity));
        self.put(item, None).await.map(|_| ())
    }

    async fn get_record<T: serde::de::DeserializeOwned>(&self, key: Item) -> PortResult<Option<T>> {
        self.get(key).await?.map(|item| from_item(&item)).transpose()
    }

    /// A settings record read eventually consistently; an absent one is read again consistently, so that a
    /// record just created is never missed (only a change may show a few seconds late).
    async fn get_settings<T: serde::de::DeserializeOwned>(&self, key: Item) -> PortResult<Option<T>> {
        match self.get_eventually(key.clone()).await? {
            Some(item) => Ok(Some(from_item(&item)?)),
            None => self.get_record(key).await,
        }
    }

    /// DeleteItem; false when there was no such item.
    async fn delete_existing(&self, key: Item) -> PortResult<bool> {
        let condition = super::conversations::present();
        self.delete_if(key, condition).await
    }

    /// The agents of every shard, in id order (as one partition's sort key gave them).
    async fn agents_of(&self, queries: Vec<Query>) -> PortResult<Vec<Agent>> {
        let mut agents: Vec<Agent> =
            self.query_all(queries).await?.iter().flatten().map(from_item).collect::<PortResult<_>>()?;
        agents.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(agents)
    }

    async fn list_records<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
    ) -> PortResult<Vec<T>> {
        self.query(Query::prefix(pk, prefix)).await?.iter().map(from_item).collect()
    }
}

/// The channel item's revision: a fresh value at each write, so that a write conditioned on the one it read
/// knows the channel (and the numbers it claims) did not change in between.
const CHANNEL_REV: &str = "channel_rev";
/// Items of one transaction: the channel and at most this many claims taken or released.
const MAX_CLAIMS_PER_WRITE: usize = 99;

#[async_trait]
impl ChannelStore for DynamoStore {
    /// One transaction: the channel item, conditioned on its revision as read (so the claims released are
    /// those the stored channel really had), a Put of each number's claim it takes (condition: absent, or
    /// already this channel's) and a Delete of each claim it gives up (condition: absent, or this
    /// channel's). A changed channel is read again; a claim another channel holds refuses the write.
    async fn put_channel(&self, channel: &Channel) -> PortResult<ChannelWrite> {
        // Released numbers whose claim turned out to be another channel's: not this write's to delete.
        let mut foreign: Vec<Phone> = Vec::new();
        for _ in super::attempts() {
            let stored_item = self.get(keys::channel(&channel.id)).await?;
            let stored: Option<Channel> = stored_item.as_ref().map(from_item).transpose()?;
            let mut changes = channel.number_changes(stored.as_ref());
            changes.released.retain(|n| !foreign.contains(n));
            if changes.len() > MAX_CLAIMS_PER_WRITE {
                return Err(PortError::Backend(format!(
                    "put_channel: {} numbers taken or released in one write; at most {MAX_CLAIMS_PER_WRITE}",
                    changes.len()
                )));
            }
            let mut item = record_item(channel)?;
            item.extend(keys::channel(&channel.id));
            item.insert("entity".into(), s("channel"));
            item.insert(CHANNEL_REV.into(), s(uuid::Uuid::new_v4().simple().to_string()));
            let mut expr = Expr::new();
            let expression = match stored_item.as_ref().map(|i| get_s(i, CHANNEL_REV)) {
                None => format!("attribute_not_exists({})", expr.name("pk")),
                Some(Some(rev)) => expr.eq(CHANNEL_REV, s(rev)),
                // Written before claims existed.
                Some(None) => {
                    format!(
                        "attribute_exists({}) AND attribute_not_exists({})",
                        expr.name("pk"),
                        expr.name(CHANNEL_REV)
                    )
                }
            };
            let mut tx = vec![self.put_item(item, Some(Cond { expression, expr }))?];
            let mine = || {
                let mut expr = Expr::new();
                let expression = format!(
                    "attribute_not_exists({}) OR {}",
                    expr.name("pk"),
                    expr.eq("target", s(channel.id.as_str()))
                );
                Cond { expression, expr }
            };
            for number in &changes.taken {
                let claim = keys::item_with(
                    keys::number_claim(number),
                    [("target", s(channel.id.as_str())), ("entity", s("number_claim"))],
                );
                tx.push(self.put_item(claim, Some(mine()))?);
            }
            for number in &changes.released {
                tx.push(self.delete_item(keys::number_claim(number), Some(mine()))?);
            }
            let outcome = self.transact(tx).await?;
            if matches!(outcome, super::Tx::Committed) {
                return Ok(ChannelWrite::Stored);
            }
            if outcome.failed_at(0) {
                continue; // the channel changed since it was read
            }
            let taken = changes.taken.iter().enumerate().find(|(i, _)| outcome.failed_at(1 + i));
            if let Some((_, number)) = taken {
                let holder = self.get(keys::number_claim(number)).await?;
                match holder.as_ref().and_then(|h| get_s(h, "target")) {
                    Some(other) if other != channel.id.as_str() => {
                        let (number, channel) = ((*number).clone(), ChannelId::new(other));
                        return Ok(ChannelWrite::NumberTaken { number, channel });
                    }
                    _ => continue, // released since: try again
                }
            }
            let first_release = 1 + changes.taken.len();
            for (i, number) in changes.released.iter().enumerate() {
                if outcome.failed_at(first_release + i) {
                    foreign.push((*number).clone());
                }
            }
        }
        Err(super::contention("put_channel"))
    }

    async fn get_channel(&self, id: &ChannelId) -> PortResult<Option<Channel>> {
        self.get_record(keys::channel(id)).await
    }

    async fn channel_settings(&self, id: &ChannelId) -> PortResult<Option<Channel>> {
        self.get_settings(keys::channel(id)).await
    }

    async fn list_channels(&self) -> PortResult<Vec<Channel>> {
        self.list_records(keys::CHANNELS, "CHANNEL#").await
    }
}

#[async_trait]
impl WorkQueueStore for DynamoStore {
    async fn put_queue(&self, queue: &WorkQueue) -> PortResult<()> {
        self.put_record(keys::queue(&queue.id), "queue", queue).await
    }

    async fn get_queue(&self, id: &QueueId) -> PortResult<Option<WorkQueue>> {
        self.get_record(keys::queue(id)).await
    }

    async fn queue_settings(&self, id: &QueueId) -> PortResult<Option<WorkQueue>> {
        self.get_settings(keys::queue(id)).await
    }

    async fn list_queues(&self) -> PortResult<Vec<WorkQueue>> {
        self.list_records(keys::QUEUES, "QUEUE#").await
    }

    async fn delete_queue(&self, id: &QueueId) -> PortResult<bool> {
        self.delete_existing(keys::queue(id)).await
    }

    async fn record_answer(&self, queue: &QueueId, day: time::Date, within_target: bool) -> PortResult<()> {
        // ADD is atomic: concurrent answers in several Lambdas all count.
        let mut expr = Expr::new();
        let update = format!(
            "ADD {} {}, {} {} SET {}",
            expr.name("answered"),
            expr.value(n(1)),
            expr.name("within_target"),
            expr.value(n(u8::from(within_target))),
            expr.eq("entity", s("queue_answers")),
        );
        self.update(keys::answers(queue, day), update, None, expr).await.map(|_| ())
    }

    async fn answer_counts(
        &self,
        queue: &QueueId,
        first: time::Date,
        last: time::Date,
    ) -> PortResult<Vec<(time::Date, DayCounts)>> {
        let partition = keys::answers_partition(queue);
        let query = Query::between(&partition, &format!("DAY#{first}"), &format!("DAY#{last}"));
        let mut out = Vec::new();
        for item in self.query(query).await? {
            let sk = get_s(&item, "sk").unwrap_or_default();
            let day = sk
                .strip_prefix("DAY#")
                .and_then(|d| time::Date::parse(d, DAY_FORMAT).ok())
                .ok_or_else(|| PortError::Corrupt(format!("answer counts item with sort key '{sk}'")))?;
            let count = |name: &str| {
                item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            };
            out.push((day, DayCounts { answered: count("answered"), within_target: count("within_target") }));
        }
        Ok(out)
    }
}

/// How a day is written in an answer counts item's sort key (`Date`'s `Display`: `YYYY-MM-DD`).
const DAY_FORMAT: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[async_trait]
impl MenuStore for DynamoStore {
    async fn put_menu(&self, menu: &Menu) -> PortResult<()> {
        self.put_record(keys::menu(&menu.id), "menu", menu).await
    }

    async fn get_menu(&self, id: &MenuId) -> PortResult<Option<Menu>> {
        self.get_record(keys::menu(id)).await
    }

    async fn list_menus(&self) -> PortResult<Vec<Menu>> {
        self.list_records(keys::MENUS, "MENU#").await
    }

    async fn delete_menu(&self, id: &MenuId) -> PortResult<bool> {
        self.delete_existing(keys::menu(id)).await
    }
}

#[async_trait]
impl AgentStore for DynamoStore {
    async fn put_agent(&self, agent: &Agent, token_sha256: &str) -> PortResult<AgentWrite> {
        let mut item = record_item(agent)?;
        item.extend(keys::agent(&agent.id));
        item.insert("entity".into(), s("agent"));
        item.insert(TOKEN_ATTRIBUTE.into(), s(token_sha256));
        let pointer = keys::item_with(
            keys::token(token_sha256),
            [("target", s(agent.id.as_str())), ("entity", s("token"))],
        );
        let mut tx = vec![self.put_item(item, None)?, self.put_item(pointer, None)?];
        if let Some(subject) = &agent.subject {
            // The subject's pointer is new, or already this agent's: another agent's subject is refused.
            let mut expr = Expr::new();
            let expression = format!(
                "attribute_not_exists({}) OR {}",
                expr.name("pk"),
                expr.eq("target", s(agent.id.as_str()))
            );
            let pointer = keys::item_with(
                keys::subject(subject),
                [("target", s(agent.id.as_str())), ("entity", s("subject"))],
            );
            tx.push(self.put_item(pointer, Some(Cond { expression, expr }))?);
        }
        match self.transact(tx).await? {
            super::Tx::Committed => Ok(AgentWrite::Stored),
            cancelled if cancelled.failed_at(2) => Ok(AgentWrite::SubjectTaken),
            super::Tx::Cancelled(codes) => Err(smsdesk_ports::PortError::Backend(format!(
                "put_agent: unconditional write refused: {codes:?}"
            ))),
        }
    }

    async fn get_agent(&self, id: &AgentId) -> PortResult<Option<Agent>> {
        self.get_record(keys::agent(id)).await
    }

    async fn agent_by_token(&self, token_sha256: &str) -> PortResult<Option<Agent>> {
        self.follow_pointer(keys::token(token_sha256), |agent_id| async move {
            let Some(item) = self.get(keys::agent(&AgentId::new(agent_id))).await? else { return Ok(None) };
            if get_s(&item, TOKEN_ATTRIBUTE) != Some(token_sha256) {
                return Ok(None);
            }
            from_item(&item).map(Some)
        })
        .await
    }

    async fn agent_by_subject(&self, subject: &str) -> PortResult<Option<Agent>> {
        self.follow_pointer(keys::subject(subject), |agent_id| async move {
            let Some(agent) = self.get_record::<Agent>(keys::agent(&AgentId::new(agent_id))).await? else {
                return Ok(None);
            };
            // A pointer left by an agent re-stored with another subject no longer finds it.
            Ok(agent.subject.as_deref().is_some_and(|s| s == subject).then_some(agent))
        })
        .await
    }

    async fn set_presence(
        &self,
        id: &AgentId,
        presence: Presence,
        at: time::OffsetDateTime,
    ) -> PortResult<Option<Agent>> {
        for _ in super::attempts() {
            let Some(current) = self.get_agent(id).await? else { return Ok(None) };
            if current.presence == presence {
                return Ok(Some(current));
            }
            // Only from the presence read, so the time is that of the change that really happened.
            let mut expr = Expr::new();
            let update = format!(
                "SET {}, {}",
                expr.eq("presence", s(presence.as_str())),
                expr.eq("presence_changed_at", s(crate::attr::rfc3339(at)?))
            );
            let condition = format!(
                "attribute_exists({}) AND {}",
                expr.name("pk"),
                expr.eq("presence", s(current.presence.as_str()))
            );
            if let Some(item) = self.update(keys::agent(id), update, Some(condition), expr).await? {
                return from_item(&item).map(Some);
            }
        }
        Err(super::contention("set_presence"))
    }

    async fn update_agent(&self, id: &AgentId, settings: &AgentSettings) -> PortResult<Option<Agent>> {
        let mut expr = Expr::new();
        let queues: Vec<serde_json::Value> =
            settings.queues.iter().map(|q| serde_json::Value::String(q.to_string())).collect();
        let update = format!(
            "SET {}, {}, {}",
            expr.eq("name", s(settings.name.as_str())),
            expr.eq("queues", crate::attr::to_attr(&serde_json::Value::Array(queues))),
            expr.eq("capacity", n(settings.capacity)),
        );
        let condition = format!("attribute_exists({})", expr.name("pk"));
        let item = self.update(keys::agent(id), update, Some(condition), expr).await?;
        item.map(|i| from_item(&i)).transpose()
    }

    async fn agents_for_queue(&self, queue: &QueueId) -> PortResult<Vec<Agent>> {
        let queries = keys::agents_partitions().map(|pk| {
            let mut q = Query::prefix(&pk, "AGENT#");
            let filter = format!("contains({}, {})", q.expr.name("queues"), q.expr.value(s(queue.as_str())));
            q.filter = Some(filter);
            q
        });
        self.agents_of(queries.collect()).await
    }

    async fn list_agents(&self) -> PortResult<Vec<Agent>> {
        self.agents_of(keys::agents_partitions().map(|pk| Query::prefix(&pk, "AGENT#")).collect()).await
    }
}
