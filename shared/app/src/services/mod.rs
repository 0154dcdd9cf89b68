//! What the handlers do, over the ports. HTTP handlers and queue consumers call these.

pub mod assignment;
pub mod automated;
pub mod channels;
pub mod consent;
pub mod conversations;
pub mod crm;
pub mod dispatch_gate;
pub mod handback;
pub mod idempotency;
pub mod intake;
pub mod language;
pub mod live;
pub mod media;
pub mod notes;
pub mod offer_timers;
pub mod offers;
pub mod outbound;
pub mod prequeue;
pub mod receipts;
pub mod routing;
pub mod service_level;
pub mod stranded;
pub mod teams;
pub mod telemetry;
pub mod timers;
pub mod transfers;
pub mod webhook_keys;

use smsdesk_ports::{Outcome, PortError, Received};
use std::time::Duration;

/// How a consumer turns a storage error into a queue outcome. A transient one comes back after a delay that
/// grows with the deliveries (5 s, doubling, at most 5 minutes), without ever being given up on: an outage of
/// the store is no fault of the message (only the queue's receive backstop, hours away, ends it). Any other
/// storage error cannot succeed by retrying: the message is given up on, with the error as its reason.
pub(crate) fn outcome_for(error: &PortError, message: &Received) -> Outcome {
    if error.is_retryable() {
        Outcome::RetryAfter(storage_retry_delay(message.receive_count))
    } else {
        Outcome::Failed(error.to_string())
    }
}

fn storage_retry_delay(receive_count: u32) -> Duration {
    doubling(receive_count, Duration::from_secs(5), Duration::from_secs(300))
}

/// A queue consumer's backoff: `base` on the first delivery, doubled on each one after, at most `cap`.
pub(crate) fn doubling(receive_count: u32, base: Duration, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << receive_count.saturating_sub(1).min(16)).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_retries_back_off_to_five_minutes() {
        assert_eq!(storage_retry_delay(1), Duration::from_secs(5));
        assert_eq!(storage_retry_delay(2), Duration::from_secs(10));
        assert_eq!(storage_retry_delay(7), Duration::from_secs(300));
        assert_eq!(storage_retry_delay(50), Duration::from_secs(300));
    }
}
