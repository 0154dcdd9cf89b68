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

use smsdesk_ports::{Outcome, PortError, QueueKind, Received};
use std::time::Duration;

/// How a consumer of `kind` turns a storage error into a queue outcome. A transient one comes back after a
/// delay that grows with the deliveries (5 s, doubling, at most 5 minutes): an outage of the store is no
/// fault of the message. A few deliveries before the queue's own limit it is given up on, with the error as
/// its reason: the messages of its FIFO group behind it come back with it in every batch, their receives
/// counted, and the queue's limit would dead-letter them with it, never handled. Any other storage error
/// cannot succeed by retrying: the message is given up on at once.
pub(crate) fn outcome_for(error: &PortError, message: &Received, kind: QueueKind) -> Outcome {
    let last_try = kind.max_receives().saturating_sub(GIVE_UP_BEFORE_LIMIT);
    match error.is_retryable() {
        true if message.receive_count < last_try => {
            Outcome::RetryAfter(storage_retry_delay(message.receive_count))
        }
        true => Outcome::Failed(format!("gave up after {} deliveries: {error}", message.receive_count)),
        false => Outcome::Failed(error.to_string()),
    }
}

/// How many receives before the queue's limit a message that keeps failing is given up on: what the
/// messages behind it in its group have left once it is out of their way.
const GIVE_UP_BEFORE_LIMIT: u32 = 3;

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

    #[test]
    fn a_message_that_keeps_failing_is_given_up_on_before_the_queues_limit() {
        let at = |receive_count| Received {
            message_id: "m".into(),
            receipt: "r".into(),
            body: String::new(),
            group: Some("g".into()),
            receive_count,
        };
        let down = PortError::Unavailable("store down".into());
        assert!(matches!(outcome_for(&down, &at(1), QueueKind::Inbound), Outcome::RetryAfter(_)));
        assert!(matches!(outcome_for(&down, &at(16), QueueKind::Inbound), Outcome::RetryAfter(_)));
        let given_up = outcome_for(&down, &at(17), QueueKind::Inbound);
        assert!(
            matches!(&given_up, Outcome::Failed(why) if why.contains("gave up after 17 deliveries")),
            "{given_up:?}"
        );
        assert!(matches!(outcome_for(&down, &at(17), QueueKind::Outbound), Outcome::RetryAfter(_)));
        let broken = PortError::Backend("unreadable".into());
        assert!(matches!(outcome_for(&broken, &at(1), QueueKind::Crm), Outcome::Failed(_)));
    }
}
