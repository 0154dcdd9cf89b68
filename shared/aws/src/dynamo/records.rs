//! Consent, dedupe keys and the sandbox outbox.
//!
//! Dedupe items carry `expires_at` (epoch seconds), the table's TTL attribute, so DynamoDB deletes them
//! eventually; TTL deletion can lag by days, so every read and conditional write also compares the exact
//! `expires_ns` with the caller's clock.

use async_trait::async_trait;
use smsdesk_domain::consent::ConsentChange;
use smsdesk_domain::*;
use smsdesk_ports::{
    ConsentStore, DedupeStore, IdempotencyRecord, IdempotencyStore, OutboxStore, PortError, PortResult,
};
use std::time::Duration;
use time::OffsetDateTime;

use super::{Cond, DynamoStore, Query, keys};
use crate::attr::{Expr, Item, from_item, get_s, n, record_item, s};

fn get_nanos(item: &Item, name: &str) -> Option<i128> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// `attribute_not_exists(pk) OR <attribute> <= at`: the item is absent or older than `at`.
fn absent_or_not_after(attribute: &str, at: i128) -> Cond {
    let mut expr = Expr::new();
    let expression = format!(
        "attribute_not_exists({}) OR {} <= {}",
        expr.name("pk"),
        expr.name(attribute),
        expr.value(n(at))
    );
    Cond { expression, expr }
}

/// Epoch seconds for the TTL attribute, rounded up so the item never expires before `expires`.
fn ttl_seconds(expires_nanos: i128) -> i128 {
    (expires_nanos + 999_999_999).div_euclid(1_000_000_000)
}

#[async_trait]
impl ConsentStore for DynamoStore {
    async fn record_consent(&self, change: &ConsentChange) -> PortResult<bool> {
        let mut item = record_item(change)?;
        item.extend(keys::consent_change(&change.customer, &change.id));
        item.insert("entity".into(), s("consent_change"));
        let mut expr = Expr::new();
        let expression = format!("attribute_not_exists({})", expr.name("pk"));
        self.put(item, Some(Cond { expression, expr })).await
    }

    async fn consent_history(&self, customer: &Phone) -> PortResult<Vec<ConsentChange>> {
        let items = self.query(Query::prefix(&keys::consent_partition(customer), "CHANGE#")).await?;
        let mut changes: Vec<ConsentChange> = items.iter().map(from_item).collect::<PortResult<_>>()?;
        // Keyed by id (so a change is stored once whatever its time); read back in time order.
        changes.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        Ok(changes)
    }
}

#[async_trait]
impl DedupeStore for DynamoStore {
    async fn remember(&self, key: &str, at: OffsetDateTime, ttl: Duration) -> PortResult<bool> {
        let now = at.unix_timestamp_nanos();
        let expires = now.saturating_add(crate::attr::duration_nanos(ttl));
        let item = keys::item_with(
            keys::dedupe(key),
            [
                ("entity", s("dedupe")),
                ("dedupe_key", s(key)),
                ("expires_ns", n(expires)),
                ("expires_at", n(ttl_seconds(expires))),
            ],
        );
        self.put(item, Some(absent_or_not_after("expires_ns", now))).await
    }

    async fn seen(&self, key: &str, at: OffsetDateTime) -> PortResult<bool> {
        let item = self.get(keys::dedupe(key)).await?;
        let expires = item.and_then(|i| get_nanos(&i, "expires_ns"));
        Ok(expires.is_some_and(|e| e > at.unix_timestamp_nanos()))
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn remember_request(
        &self,
        record: &IdempotencyRecord,
        ttl: Duration,
    ) -> PortResult<IdempotencyRecord> {
        let now = record.at.unix_timestamp_nanos();
        let expires = now.saturating_add(crate::attr::duration_nanos(ttl));
        let item = keys::item_with(
            keys::idempotency(&record.key),
            [
                ("entity", s("idempotency")),
                ("fingerprint", s(record.fingerprint.as_str())),
                ("message_id", s(record.message_id.as_str())),
                ("at_ns", n(now)),
                ("expires_ns", n(expires)),
                ("expires_at", n(ttl_seconds(expires))),
            ],
        );
        if self.put(item, Some(absent_or_not_after("expires_ns", now))).await? {
            return Ok(record.clone());
        }
        let Some(held) = self.get(keys::idempotency(&record.key)).await? else {
            return Err(PortError::Unavailable("idempotency key vanished while read".into()));
        };
        let field = |name: &str| {
            get_s(&held, name).ok_or_else(|| PortError::Corrupt(format!("idempotency item without {name}")))
        };
        let at = get_nanos(&held, "at_ns")
            .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
            .ok_or_else(|| PortError::Corrupt("idempotency item without at_ns".into()))?;
        Ok(IdempotencyRecord {
            key: record.key.clone(),
            fingerprint: field("fingerprint")?.to_string(),
            message_id: MessageId::new(field("message_id")?),
            at,
        })
    }
}

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn record_outbox(&self, entry: &OutboxEntry) -> PortResult<()> {
        let mut item = record_item(entry)?;
        item.extend(keys::outbox(entry.at, &entry.id));
        item.insert("entity".into(), s("outbox"));
        self.put(item, None).await.map(|_| ())
    }

    async fn list_outbox(&self) -> PortResult<Vec<OutboxEntry>> {
        self.query(Query::prefix(keys::OUTBOX, "ENTRY#")).await?.iter().map(from_item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(1_000_000_000), 1);
        assert_eq!(ttl_seconds(1_000_000_001), 2);
        assert_eq!(ttl_seconds(0), 0);
    }
}
