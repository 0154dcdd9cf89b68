//! [`EmbeddedQueue`]: the three queues as durable tables with SQS semantics: at-least-once delivery, a
//! visibility timeout, a receive count, a dead-letter table (filled by consumers that give up, with their
//! reason, and by the `max_receives` backstop), redrive back to the queue, and for FIFO queues order
//! within a group (no message of a group is delivered while one of it is in flight) and five-minute
//! deduplication ids. Times are the wall clock in milliseconds.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};
use smsdesk_ports::{DeadLetter, MessageQueue, PortError, PortResult, QueueKind, QueueMessage, Received};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

use crate::db::{Cached, Db, sql};
use crate::{EmbeddedDb, EmbeddedError};

/// How long a FIFO deduplication id drops repeated sends (as in SQS).
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// A dead letter with what the embedded table keeps beside the port's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetterEntry {
    pub message_id: String,
    pub body: String,
    pub group: Option<String>,
    pub receive_count: u32,
    pub reason: String,
    pub at: OffsetDateTime,
}

/// The queues of smsdesk in the embedded database. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct EmbeddedQueue {
    db: Db,
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    millis(since)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A row that a receive may deliver or dead-letter.
struct Candidate {
    seq: i64,
    message_id: String,
    group: Option<String>,
    body: String,
    receive_count: u32,
}

impl EmbeddedQueue {
    pub(crate) fn on(db: Db) -> Self {
        Self { db }
    }

    /// Opens (creating and migrating as needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        Ok(EmbeddedDb::open(path)?.queue())
    }

    /// A private in-memory database (unit tests).
    pub fn open_in_memory() -> Result<Self, EmbeddedError> {
        Ok(EmbeddedDb::open_in_memory()?.queue())
    }

    /// The queue's dead letters with why they died, oldest first.
    pub async fn dead_letter_entries(&self, queue: QueueKind) -> PortResult<Vec<DeadLetterEntry>> {
        self.db
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT message_id, body, grp, receive_count, reason, at FROM dead_letters \
                         WHERE queue = ?1 ORDER BY seq",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([queue.name()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, i64>(5)?))
                    })
                    .map_err(sql)?;
                let mut out = Vec::new();
                for row in rows {
                    let (message_id, body, group, receive_count, reason, at) = row.map_err(sql)?;
                    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
                        .map_err(|e| PortError::Corrupt(format!("dead letter time: {e}")))?;
                    out.push(DeadLetterEntry { message_id, body, group, receive_count, reason, at });
                }
                Ok(out)
            })
            .await
    }
}

/// Groups with a message in flight: none of their messages may be delivered now.
fn blocked_groups(tx: &Transaction<'_>, queue: QueueKind, now: i64) -> PortResult<HashSet<String>> {
    if !queue.is_fifo() {
        return Ok(HashSet::new());
    }
    let mut stmt = tx
        .prepare_cached(
            "SELECT DISTINCT grp FROM queue_messages WHERE queue = ?1 AND visible_at > ?2 AND grp IS NOT NULL",
        )
        .map_err(sql)?;
    let rows = stmt.query_map(params![queue.name(), now], |r| r.get::<_, String>(0)).map_err(sql)?;
    rows.map(|r| r.map_err(sql)).collect()
}

/// Visible messages in send order, skipping blocked groups, until `max` are deliverable. Messages at their
/// receive limit come along too (they go to the dead-letter table instead).
fn candidates(tx: &Transaction<'_>, queue: QueueKind, now: i64, max: usize) -> PortResult<Vec<Candidate>> {
    let blocked = blocked_groups(tx, queue, now)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT seq, message_id, grp, body, receive_count FROM queue_messages \
             WHERE queue = ?1 AND visible_at <= ?2 ORDER BY seq",
        )
        .map_err(sql)?;
    let mut rows = stmt.query(params![queue.name(), now]).map_err(sql)?;
    let mut out = Vec::new();
    let mut deliverable = 0;
    while deliverable < max {
        let Some(row) = rows.next().map_err(sql)? else { break };
        let c = Candidate {
            seq: row.get(0).map_err(sql)?,
            message_id: row.get(1).map_err(sql)?,
            group: row.get(2).map_err(sql)?,
            body: row.get(3).map_err(sql)?,
            receive_count: row.get(4).map_err(sql)?,
        };
        if c.group.as_ref().is_some_and(|g| blocked.contains(g)) {
            continue;
        }
        if c.receive_count < queue.max_receives() {
            deliverable += 1;
        }
        out.push(c);
    }
    Ok(out)
}

fn dead_letter(tx: &Transaction<'_>, queue: QueueKind, c: &Candidate, now: i64) -> PortResult<()> {
    let reason =
        format!("received {} times without being acknowledged (the queue's receive limit)", c.receive_count);
    bury(tx, queue, c, &reason, now)
}

/// Moves a row to the dead-letter table with `reason`.
fn bury(tx: &Transaction<'_>, queue: QueueKind, c: &Candidate, reason: &str, now: i64) -> PortResult<()> {
    tx.execute_cached(
        "INSERT INTO dead_letters (queue, message_id, grp, body, receive_count, reason, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![queue.name(), c.message_id, c.group, c.body, c.receive_count, reason, now],
    )
    .map_err(sql)?;
    tx.execute_cached("DELETE FROM queue_messages WHERE seq = ?1", [c.seq]).map_err(sql)?;
    tracing::warn!(queue = queue.name(), message_id = %c.message_id, %reason, "message moved to dead letters");
    Ok(())
}

/// Puts a message at the end of its queue, visible now, never received.
fn enqueue(
    tx: &Transaction<'_>,
    queue: QueueKind,
    group: Option<&str>,
    body: &str,
    now: i64,
) -> PortResult<()> {
    enqueue_at(tx, queue, group, body, now, now)
}

/// A message first visible at `visible_at` (a delayed send).
fn enqueue_at(
    tx: &Transaction<'_>,
    queue: QueueKind,
    group: Option<&str>,
    body: &str,
    now: i64,
    visible_at: i64,
) -> PortResult<()> {
    let message_id = uuid::Uuid::now_v7().to_string();
    tx.execute_cached(
        "INSERT INTO queue_messages (queue, message_id, grp, body, sent_at, visible_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![queue.name(), message_id, group, body, now, visible_at],
    )
    .map_err(sql)?;
    Ok(())
}

fn deliver(tx: &Transaction<'_>, c: Candidate, visible_at: i64) -> PortResult<Received> {
    let receipt = uuid::Uuid::new_v4().simple().to_string();
    tx.execute_cached(
        "UPDATE queue_messages SET receive_count = receive_count + 1, visible_at = ?2, receipt = ?3 WHERE seq = ?1",
        params![c.seq, visible_at, receipt],
    )
    .map_err(sql)?;
    Ok(Received {
        message_id: c.message_id,
        receipt,
        body: c.body,
        group: c.group,
        receive_count: c.receive_count + 1,
    })
}

#[async_trait]
impl MessageQueue for EmbeddedQueue {
    async fn send(&self, queue: QueueKind, message: QueueMessage) -> PortResult<()> {
        let (group, dedupe) = if queue.is_fifo() {
            let Some(group) = message.group else {
                return Err(PortError::Backend(format!(
                    "{} is a FIFO queue: a message group is required",
                    queue.name()
                )));
            };
            (Some(group), message.dedupe_id)
        } else {
            (None, None)
        };
        let body = message.body;
        self.db
            .tx(move |tx| {
                let now = now_ms();
                if let Some(dedupe) = dedupe {
                    tx.execute_cached("DELETE FROM queue_dedupe WHERE expires_at <= ?1", [now]).map_err(sql)?;
                    let fresh = tx
                        .execute_cached(
                            "INSERT OR IGNORE INTO queue_dedupe (queue, dedupe_id, expires_at) VALUES (?1, ?2, ?3)",
                            params![queue.name(), dedupe, now.saturating_add(millis(DEDUPE_WINDOW))],
                        )
                        .map_err(sql)?;
                    if fresh == 0 {
                        return Ok(());
                    }
                }
                enqueue(tx, queue, group.as_deref(), &body, now)
            })
            .await
    }

    async fn send_delayed(&self, queue: QueueKind, message: QueueMessage, delay: Duration) -> PortResult<()> {
        if queue.is_fifo() {
            return Err(PortError::Backend(format!(
                "the FIFO {} queue takes no per-message delay",
                queue.name()
            )));
        }
        // As SQS: whole seconds, rounded up, at most 15 minutes.
        let seconds = smsdesk_ports::delay_seconds(delay).ok_or_else(|| {
            PortError::Backend(format!("a delay of {delay:?} is over the limit of 15 minutes"))
        })?;
        let body = message.body;
        self.db
            .tx(move |tx| {
                let now = now_ms();
                let visible_at = now.saturating_add(i64::from(seconds) * 1000);
                enqueue_at(tx, queue, None, &body, now, visible_at)
            })
            .await
    }

    async fn receive(&self, queue: QueueKind, max: usize, visibility: Duration) -> PortResult<Vec<Received>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        self.db
            .tx(move |tx| {
                let now = now_ms();
                let visible_at = now.saturating_add(millis(visibility));
                let mut out = Vec::new();
                for c in candidates(tx, queue, now, max)? {
                    if c.receive_count >= queue.max_receives() {
                        dead_letter(tx, queue, &c, now)?;
                    } else {
                        out.push(deliver(tx, c, visible_at)?);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn ack(&self, queue: QueueKind, receipt: &str) -> PortResult<()> {
        let receipt = receipt.to_string();
        self.db
            .tx(move |tx| {
                // A receipt from an earlier delivery no longer matches: the message stays (at least once).
                tx.execute_cached(
                    "DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2",
                    params![queue.name(), receipt],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn retry_after(&self, queue: QueueKind, receipt: &str, delay: Duration) -> PortResult<()> {
        let receipt = receipt.to_string();
        self.db
            .tx(move |tx| {
                let visible_at = now_ms().saturating_add(millis(delay));
                tx.execute_cached(
                    "UPDATE queue_messages SET visible_at = ?3 WHERE queue = ?1 AND receipt = ?2",
                    params![queue.name(), receipt, visible_at],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn dead_letter(&self, queue: QueueKind, message: &Received, reason: &str) -> PortResult<()> {
        let (receipt, reason) = (message.receipt.clone(), reason.to_string());
        self.db
            .tx(move |tx| {
                let row = tx
                    .query_row_cached(
                        "SELECT seq, message_id, grp, body, receive_count FROM queue_messages \
                         WHERE queue = ?1 AND receipt = ?2",
                        params![queue.name(), receipt],
                        |r| {
                            Ok(Candidate {
                                seq: r.get(0)?,
                                message_id: r.get(1)?,
                                group: r.get(2)?,
                                body: r.get(3)?,
                                receive_count: r.get(4)?,
                            })
                        },
                    )
                    .optional()
                    .map_err(sql)?;
                // A receipt from an earlier delivery no longer matches: the message stays (at least once).
                match row {
                    Some(c) => bury(tx, queue, &c, &reason, now_ms()),
                    None => Ok(()),
                }
            })
            .await
    }

    async fn dead_letters(&self, queue: QueueKind) -> PortResult<Vec<DeadLetter>> {
        Ok(self
            .dead_letter_entries(queue)
            .await?
            .into_iter()
            .map(|d| DeadLetter { message_id: d.message_id, body: d.body, group: d.group, reason: d.reason })
            .collect())
    }

    async fn redrive(&self, queue: QueueKind, ids: Option<&[String]>) -> PortResult<usize> {
        let ids: Option<HashSet<String>> = ids.map(|ids| ids.iter().cloned().collect());
        self.db
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT seq, message_id, grp, body FROM dead_letters WHERE queue = ?1 ORDER BY seq",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([queue.name()], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })
                    .map_err(sql)?;
                let mut chosen = Vec::new();
                for row in rows {
                    let row = row.map_err(sql)?;
                    if ids.as_ref().is_none_or(|ids| ids.contains(&row.1)) {
                        chosen.push(row);
                    }
                }
                drop(stmt);
                let now = now_ms();
                for (seq, _, group, body) in &chosen {
                    enqueue(tx, queue, group.as_deref(), body, now)?;
                    tx.execute_cached("DELETE FROM dead_letters WHERE seq = ?1", [seq]).map_err(sql)?;
                }
                Ok(chosen.len())
            })
            .await
    }

    async fn depth(&self, queue: QueueKind) -> PortResult<u64> {
        self.db
            .tx(move |tx| {
                let n: i64 = tx
                    .query_row_cached(
                        "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                        [queue.name()],
                        |r| r.get(0),
                    )
                    .map_err(sql)?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(body: &str, group: &str) -> QueueMessage {
        QueueMessage { body: body.into(), group: Some(group.into()), dedupe_id: None }
    }

    #[tokio::test]
    async fn fifo_send_needs_a_group() {
        let q = EmbeddedQueue::open_in_memory().unwrap();
        let msg = QueueMessage { body: "x".into(), group: None, dedupe_id: None };
        assert!(q.send(QueueKind::Inbound, msg.clone()).await.is_err());
        assert!(q.send(QueueKind::Crm, msg).await.is_ok());
    }

    #[tokio::test]
    async fn a_batch_keeps_group_order_and_skips_blocked_groups() {
        let q = EmbeddedQueue::open_in_memory().unwrap();
        for (body, group) in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("c1", "c")] {
            q.send(QueueKind::Outbound, fifo(body, group)).await.unwrap();
        }
        let first = q.receive(QueueKind::Outbound, 1, Duration::from_secs(30)).await.unwrap();
        assert_eq!(first.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(), ["a1"]);
        let rest = q.receive(QueueKind::Outbound, 10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            rest.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
            ["b1", "c1"],
            "group a is blocked"
        );
    }

    #[tokio::test]
    async fn dead_letters_keep_the_reason() {
        let q = EmbeddedQueue::open_in_memory().unwrap();
        q.send(QueueKind::Crm, QueueMessage { body: "poison".into(), group: None, dedupe_id: None })
            .await
            .unwrap();
        for _ in 0..QueueKind::Crm.max_receives() {
            let got = q.receive(QueueKind::Crm, 10, Duration::ZERO).await.unwrap();
            assert_eq!(got.len(), 1);
        }
        assert!(q.receive(QueueKind::Crm, 10, Duration::ZERO).await.unwrap().is_empty());
        let dead = q.dead_letter_entries(QueueKind::Crm).await.unwrap();
        assert_eq!(dead.len(), 1);
        let max = QueueKind::Crm.max_receives();
        assert_eq!((dead[0].body.as_str(), dead[0].receive_count), ("poison", max));
        assert!(dead[0].reason.contains(&format!("{max} times")), "{}", dead[0].reason);
        assert_eq!(q.depth(QueueKind::Crm).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_stale_receipt_does_not_delete_a_redelivered_message() {
        let q = EmbeddedQueue::open_in_memory().unwrap();
        q.send(QueueKind::Crm, QueueMessage { body: "m".into(), group: None, dedupe_id: None })
            .await
            .unwrap();
        let first = q.receive(QueueKind::Crm, 1, Duration::ZERO).await.unwrap();
        let second = q.receive(QueueKind::Crm, 1, Duration::from_secs(30)).await.unwrap();
        q.ack(QueueKind::Crm, &first[0].receipt).await.unwrap();
        assert_eq!(q.depth(QueueKind::Crm).await.unwrap(), 1);
        q.ack(QueueKind::Crm, &second[0].receipt).await.unwrap();
        assert_eq!(q.depth(QueueKind::Crm).await.unwrap(), 0);
    }
}
