//! Each number's send schedule (issue 9.10): one row, read and moved in one transaction.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::Phone;
use smsdesk_domain::pacing::{Slot, decide};
use smsdesk_ports::{PortResult, SendRateStore};
use std::time::Duration;
use time::OffsetDateTime;

use super::EmbeddedStore;
use crate::db::{Cached, sql, ts};

#[async_trait]
impl SendRateStore for EmbeddedStore {
    async fn reserve_send_slot(
        &self,
        number: &Phone,
        interval: Duration,
        max_wait: Duration,
        now: OffsetDateTime,
    ) -> PortResult<Slot> {
        let number = number.e164().to_string();
        self.db
            .tx(move |tx| {
                let stored: Option<i64> = tx
                    .query_row_cached("SELECT next_free FROM send_rates WHERE number = ?1", [&number], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(sql)?;
                let next_free =
                    stored.and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).ok());
                let slot = decide(next_free, now, interval, max_wait);
                if let Slot::Granted { next_free, .. } = slot {
                    tx.execute_cached(
                        "INSERT INTO send_rates (number, next_free) VALUES (?1, ?2) \
                         ON CONFLICT (number) DO UPDATE SET next_free = excluded.next_free",
                        params![number, ts(next_free)],
                    )
                    .map_err(sql)?;
                }
                Ok(slot)
            })
            .await
    }
}
