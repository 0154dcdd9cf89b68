//! What the handlers do, over the ports. HTTP handlers and queue consumers call these.

pub mod assignment;
pub mod channels;
pub mod conversations;
pub mod crm;
pub mod idempotency;
pub mod intake;
pub mod outbound;
pub mod routing;
pub mod timers;

use smsdesk_ports::{Outcome, PortError};
use std::time::Duration;

/// How a consumer turns a storage error into a queue outcome: transient errors come back soon; others go
/// through the visibility timeout and, if they persist, to the dead-letter queue.
pub(crate) fn outcome_for(error: &PortError) -> Outcome {
    if error.is_retryable() {
        Outcome::RetryAfter(Duration::from_secs(5))
    } else {
        Outcome::Failed(error.to_string())
    }
}
