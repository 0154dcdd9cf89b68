//! Each number's send schedule (issue 9.10): one item, `RATE#<digits>` / `RATE`, with `next_free_ns`;
//! moved by a conditional put on the value read, so concurrent Lambdas sending from one number each get
//! their own slot (a lost race reads again).

use async_trait::async_trait;
use smsdesk_domain::Phone;
use smsdesk_domain::pacing::{Slot, decide};
use smsdesk_ports::{PortResult, SendRateStore};
use std::time::Duration;
use time::OffsetDateTime;

use super::{Cond, DynamoStore, contention, keys};
use crate::attr::{Expr, n, s};

const NEXT_FREE: &str = "next_free_ns";
/// Reads and conditional writes before giving up (each lost race is another sender's slot taken: progress).
const SLOT_ATTEMPTS: u32 = 32;

#[async_trait]
impl SendRateStore for DynamoStore {
    async fn reserve_send_slot(
        &self,
        number: &Phone,
        interval: Duration,
        max_wait: Duration,
        now: OffsetDateTime,
    ) -> PortResult<Slot> {
        for _ in 0..SLOT_ATTEMPTS {
            let item = self.get(keys::send_rate(number)).await?;
            let stored: Option<i128> = item
                .as_ref()
                .and_then(|i| i.get(NEXT_FREE))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            let next_free = stored.and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok());
            let slot = decide(next_free, now, interval, max_wait);
            let Slot::Granted { next_free: moved, .. } = slot else { return Ok(slot) };
            let mut expr = Expr::new();
            let expression = match stored {
                None => format!("attribute_not_exists({})", expr.name("pk")),
                Some(read) => expr.eq(NEXT_FREE, n(read)),
            };
            let new_item = keys::item_with(
                keys::send_rate(number),
                [(NEXT_FREE, n(moved.unix_timestamp_nanos())), ("entity", s("send_rate"))],
            );
            if self.put(new_item, Some(Cond { expression, expr })).await? {
                return Ok(slot);
            }
        }
        Err(contention("reserve_send_slot"))
    }
}
