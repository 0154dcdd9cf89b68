//! Messages: idempotent insert, forward-only status, and send claims with a lease.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use smsdesk_domain::*;
use smsdesk_ports::{Append, MessageStore, OpenWith, PortResult, SendClaim, StatusUpdate};
use std::time::Duration;
use time::OffsetDateTime;

use super::EmbeddedStore;
use super::conversations;
use crate::db::{Cached, from_json, nanos, sql, to_json, ts};
use crate::rows::{all, one};

/// A message and the time of its live send claim, if any.
fn load(tx: &Transaction<'_>, id: &str) -> PortResult<Option<(Message, Option<i64>)>> {
    let row: Option<(String, Option<i64>)> = tx
        .query_row_cached("SELECT body, claimed_at FROM messages WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(sql)?;
    row.map(|(body, claimed)| Ok((from_json(&body)?, claimed))).transpose()
}

/// Rewrites a stored message and its claim.
fn save(tx: &Transaction<'_>, m: &Message, claimed_at: Option<i64>) -> PortResult<()> {
    tx.execute_cached(
        "UPDATE messages SET provider_message_id = ?2, claimed_at = ?3, body = ?4 WHERE id = ?1",
        params![m.id.as_str(), m.provider_message_id, claimed_at, to_json(m)?],
    )
    .map_err(sql)?;
    Ok(())
}

/// Stores a message unless its id exists; returns whether it was stored.
fn insert(tx: &Transaction<'_>, m: &Message, body: &str) -> PortResult<bool> {
    let stored = tx
        .execute_cached(
            "INSERT OR IGNORE INTO messages (id, conversation_id, channel_id, provider_message_id, \
             created_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                m.id.as_str(),
                m.conversation_id.as_str(),
                m.channel_id.as_str(),
                m.provider_message_id,
                ts(m.created_at),
                body
            ],
        )
        .map_err(sql)?;
    Ok(stored == 1)
}

#[async_trait]
impl MessageStore for EmbeddedStore {
    async fn insert_message(&self, message: &Message) -> PortResult<bool> {
        let (m, body) = (message.clone(), to_json(message)?);
        self.db.tx(move |tx| insert(tx, &m, &body)).await
    }

    async fn append_message(&self, message: &Message) -> PortResult<Append> {
        let (m, body) = (message.clone(), to_json(message)?);
        self.db
            .tx(move |tx| {
                let conversation = conversations::load(tx, m.conversation_id.as_str())?;
                let Some(mut c) = conversation.filter(|c| c.state != ConversationState::Closed) else {
                    return Ok(Append::ConversationClosed);
                };
                if !insert(tx, &m, &body)? {
                    return Ok(Append::Duplicate);
                }
                if m.created_at > c.last_message_at {
                    c.last_message_at = m.created_at;
                    conversations::save_activity(tx, &c)?;
                }
                Ok(Append::Appended)
            })
            .await
    }

    async fn open_with_message(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> PortResult<OpenWith> {
        let (c, m, body) = (conversation.clone(), message.clone(), to_json(message)?);
        self.db
            .tx(move |tx| {
                if let Some(existing) = conversations::open_like(tx, &c)? {
                    return Ok(OpenWith::Existing(Box::new(existing)));
                }
                let taken: Option<i64> = tx
                    .query_row_cached("SELECT 1 FROM messages WHERE id = ?1", [m.id.as_str()], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                if taken.is_some() {
                    return Ok(OpenWith::Duplicate);
                }
                conversations::save_new(tx, &Conversation { last_message_at: m.created_at, ..c })?;
                insert(tx, &m, &body)?;
                Ok(OpenWith::Opened)
            })
            .await
    }

    async fn get_message(&self, id: &MessageId) -> PortResult<Option<Message>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM messages WHERE id = ?1", [id])).await
    }

    async fn list_messages(&self, conversation: &ConversationId) -> PortResult<Vec<Message>> {
        let cid = conversation.to_string();
        self.db
            .read(move |tx| {
                all(
                    tx,
                    "SELECT body FROM messages WHERE conversation_id = ?1 ORDER BY created_at, rowid",
                    [cid],
                )
            })
            .await
    }

    async fn message_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
    ) -> PortResult<Option<Message>> {
        let (channel, pid) = (channel.to_string(), provider_message_id.to_string());
        self.db
            .read(move |tx| {
                let found: Vec<Message> = all(
                    tx,
                    "SELECT body FROM messages WHERE channel_id = ?1 AND provider_message_id = ?2 ORDER BY rowid",
                    params![channel, pid],
                )?;
                Ok(found.into_iter().find(|m| m.direction == Direction::Outbound))
            })
            .await
    }

    async fn touch_message(&self, id: &MessageId, at: OffsetDateTime) -> PortResult<()> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                let Some((mut m, claimed)) = load(tx, &id)? else { return Ok(()) };
                m.updated_at = at;
                save(tx, &m, claimed)
            })
            .await
    }

    async fn advance_status(&self, id: &MessageId, update: &StatusUpdate) -> PortResult<Option<Message>> {
        let (id, update) = (id.to_string(), update.clone());
        self.db
            .tx(move |tx| {
                let Some((mut m, claimed)) = load(tx, &id)? else { return Ok(None) };
                if !m.status.can_advance_to(update.status) {
                    return Ok(None);
                }
                m.status = update.status;
                if m.provider_message_id.is_none() {
                    m.provider_message_id = update.provider_message_id;
                }
                if update.error.is_some() || update.status.clears_error() {
                    m.error = update.error;
                }
                m.updated_at = update.at;
                save(tx, &m, claimed)?;
                Ok(Some(m))
            })
            .await
    }

    async fn claim_send(&self, id: &MessageId, at: OffsetDateTime, lease: Duration) -> PortResult<SendClaim> {
        let id = id.to_string();
        self.db
            .tx(move |tx| {
                let Some((mut m, claimed)) = load(tx, &id)? else { return Ok(SendClaim::NotQueued) };
                if m.status != MessageStatus::Queued {
                    return Ok(SendClaim::NotQueued);
                }
                let now = ts(at);
                match claimed {
                    Some(c) if now.saturating_sub(c) < nanos(lease) => Ok(SendClaim::Held),
                    Some(_) => Ok(SendClaim::Abandoned(m)),
                    None => {
                        m.attempts += 1;
                        save(tx, &m, Some(now))?;
                        Ok(SendClaim::Claimed(m))
                    }
                }
            })
            .await
    }

    async fn release_send(&self, id: &MessageId, error: &str, at: OffsetDateTime) -> PortResult<()> {
        let (id, error) = (id.to_string(), error.to_string());
        self.db
            .tx(move |tx| {
                let Some((mut m, _)) = load(tx, &id)? else { return Ok(()) };
                if m.status != MessageStatus::Queued {
                    return Ok(());
                }
                m.error = Some(error);
                m.updated_at = at;
                save(tx, &m, None)
            })
            .await
    }

    async fn queued_before(&self, cutoff: OffsetDateTime, limit: usize) -> PortResult<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |tx| {
                let found: Vec<Message> = all(
                    tx,
                    "SELECT body FROM messages WHERE json_extract(body, '$.status') = 'queued' \
                     AND created_at < ?1 ORDER BY created_at, rowid LIMIT ?2",
                    params![ts(cutoff), limit],
                )?;
                Ok(found.into_iter().filter(|m| m.direction == Direction::Outbound).collect())
            })
            .await
    }
}
