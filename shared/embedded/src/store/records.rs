//! Contacts and their timeline, consent, dedupe keys and the sandbox outbox.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::consent::ConsentChange;
use smsdesk_domain::*;
use smsdesk_ports::{
    ConsentStore, ContactCreate, ContactStore, DedupeStore, IdempotencyRecord, IdempotencyStore, OutboxStore,
    PortError, PortResult,
};
use std::time::Duration;
use time::OffsetDateTime;

use super::EmbeddedStore;
use crate::db::{Cached, nanos, sql, to_json, ts};
use crate::rows::{all, one};

const BY_PHONE: &str = "SELECT body FROM contacts WHERE phone = ?1 ORDER BY rowid";

#[async_trait]
impl ContactStore for EmbeddedStore {
    async fn contacts_by_phone(&self, phone: &Phone) -> PortResult<Vec<Contact>> {
        let phone = phone.e164().to_string();
        self.db.read(move |tx| all(tx, BY_PHONE, [phone])).await
    }

    async fn get_contact(&self, id: &ContactId) -> PortResult<Option<Contact>> {
        let id = id.to_string();
        self.db.read(move |tx| one(tx, "SELECT body FROM contacts WHERE id = ?1", [id])).await
    }

    async fn put_contact(&self, contact: &Contact) -> PortResult<()> {
        let (id, phone, body) = (contact.id.to_string(), contact.phone.e164().to_string(), to_json(contact)?);
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT INTO contacts (id, phone, body) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (id) DO UPDATE SET phone = excluded.phone, body = excluded.body",
                    params![id, phone, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn create_contact_if_none(&self, contact: &Contact) -> PortResult<ContactCreate> {
        let (c, body) = (contact.clone(), to_json(contact)?);
        self.db
            .tx(move |tx| {
                let existing: Vec<Contact> = all(tx, BY_PHONE, [c.phone.e164()])?;
                if !existing.is_empty() {
                    return Ok(ContactCreate::Existing(existing));
                }
                tx.execute_cached(
                    "INSERT INTO contacts (id, phone, body) VALUES (?1, ?2, ?3)",
                    params![c.id.as_str(), c.phone.e164(), body],
                )
                .map_err(sql)?;
                Ok(ContactCreate::Created(c))
            })
            .await
    }

    async fn append_timeline(&self, event: &TimelineEvent) -> PortResult<()> {
        let (id, contact, at, body) =
            (event.id.clone(), event.contact_id.to_string(), ts(event.at), to_json(event)?);
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR IGNORE INTO timeline (id, contact_id, at, body) VALUES (?1, ?2, ?3, ?4)",
                    params![id, contact, at, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn timeline(&self, contact: &ContactId) -> PortResult<Vec<TimelineEvent>> {
        let contact = contact.to_string();
        self.db
            .read(move |tx| {
                all(tx, "SELECT body FROM timeline WHERE contact_id = ?1 ORDER BY at, rowid", [contact])
            })
            .await
    }
}

#[async_trait]
impl ConsentStore for EmbeddedStore {
    async fn record_consent(&self, change: &ConsentChange) -> PortResult<bool> {
        let (id, customer, at, body) =
            (change.id.clone(), change.customer.e164().to_string(), ts(change.at), to_json(change)?);
        self.db
            .tx(move |tx| {
                let stored = tx
                    .execute_cached(
                        "INSERT OR IGNORE INTO consent_log (id, customer, at, body) VALUES (?1, ?2, ?3, ?4)",
                        params![id, customer, at, body],
                    )
                    .map_err(sql)?;
                Ok(stored == 1)
            })
            .await
    }

    async fn consent_history(&self, customer: &Phone) -> PortResult<Vec<ConsentChange>> {
        let customer = customer.e164().to_string();
        self.db
            .read(move |tx| {
                all(tx, "SELECT body FROM consent_log WHERE customer = ?1 ORDER BY at, id", [customer])
            })
            .await
    }
}

#[async_trait]
impl DedupeStore for EmbeddedStore {
    async fn remember(&self, key: &str, at: OffsetDateTime, ttl: Duration) -> PortResult<bool> {
        let (key, now) = (key.to_string(), ts(at));
        let expires = now.saturating_add(nanos(ttl));
        self.db
            .tx(move |tx| {
                // Expired keys go as new ones come (what DynamoDB's TTL does there), a few at a time so no
                // single write pays for a long backlog.
                tx.execute_cached(
                    "DELETE FROM dedupe WHERE key IN \
                     (SELECT key FROM dedupe WHERE expires_at <= ?1 ORDER BY expires_at LIMIT 16)",
                    [now],
                )
                .map_err(sql)?;
                // Insert, or take over a key whose ttl has passed; a live key changes nothing.
                let changed = tx
                    .execute_cached(
                        "INSERT INTO dedupe (key, expires_at) VALUES (?1, ?2) \
                         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
                         WHERE dedupe.expires_at <= ?3",
                        params![key, expires, now],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn seen(&self, key: &str, at: OffsetDateTime) -> PortResult<bool> {
        let (key, now) = (key.to_string(), ts(at));
        self.db
            .read(move |tx| {
                let live: Option<i64> = tx
                    .query_row_cached(
                        "SELECT 1 FROM dedupe WHERE key = ?1 AND expires_at > ?2",
                        params![key, now],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql)?;
                Ok(live.is_some())
            })
            .await
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn remember_request(
        &self,
        record: &IdempotencyRecord,
        ttl: Duration,
    ) -> PortResult<IdempotencyRecord> {
        let record = record.clone();
        let now = ts(record.at);
        let expires = now.saturating_add(nanos(ttl));
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "DELETE FROM idempotency WHERE key IN \
                     (SELECT key FROM idempotency WHERE expires_at <= ?1 ORDER BY expires_at LIMIT 16)",
                    [now],
                )
                .map_err(sql)?;
                // Insert, or take over a key whose ttl has passed; a live key keeps its first request.
                tx.execute_cached(
                    "INSERT INTO idempotency (key, fingerprint, message_id, at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, \
                     message_id = excluded.message_id, at = excluded.at, expires_at = excluded.expires_at \
                     WHERE idempotency.expires_at <= ?4",
                    params![record.key, record.fingerprint, record.message_id.as_str(), now, expires],
                )
                .map_err(sql)?;
                let (fingerprint, message_id, at): (String, String, i64) = tx
                    .query_row_cached(
                        "SELECT fingerprint, message_id, at FROM idempotency WHERE key = ?1",
                        [&record.key],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .map_err(sql)?;
                let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at))
                    .map_err(|e| PortError::Backend(format!("idempotency time out of range: {e}")))?;
                Ok(IdempotencyRecord {
                    key: record.key,
                    fingerprint,
                    message_id: MessageId::new(message_id),
                    at,
                })
            })
            .await
    }
}

#[async_trait]
impl OutboxStore for EmbeddedStore {
    async fn record_outbox(&self, entry: &OutboxEntry) -> PortResult<()> {
        let (id, at, body) = (entry.id.clone(), ts(entry.at), to_json(entry)?);
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "INSERT OR REPLACE INTO outbox (id, at, body) VALUES (?1, ?2, ?3)",
                    params![id, at, body],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn list_outbox(&self) -> PortResult<Vec<OutboxEntry>> {
        self.db.read(|tx| all(tx, "SELECT body FROM outbox ORDER BY at, rowid", [])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sql;

    #[tokio::test]
    async fn expired_dedupe_keys_are_purged_as_new_ones_arrive() {
        let store = EmbeddedStore::open_in_memory().unwrap();
        let t0 = time::macros::datetime!(2026-11-23 10:00 UTC);
        for i in 0..20 {
            assert!(store.remember(&format!("old-{i}"), t0, Duration::from_secs(1)).await.unwrap());
        }
        let later = t0 + time::Duration::minutes(1);
        assert!(store.remember("new-1", later, Duration::from_secs(60)).await.unwrap());
        assert!(store.remember("new-2", later, Duration::from_secs(60)).await.unwrap());
        let rows: i64 = store
            .db
            .tx(|tx| tx.query_row_cached("SELECT COUNT(*) FROM dedupe", [], |r| r.get(0)).map_err(sql))
            .await
            .unwrap();
        assert_eq!(rows, 2, "the 20 expired keys are gone, 16 per write");
        assert!(store.seen("new-1", later).await.unwrap());
    }
}
