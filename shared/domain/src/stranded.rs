//! Replies stranded `queued`: what the timers' sweep does with an outbound message that is still `queued`
//! long after it was stored (its queue message lost, dead-lettered, or stuck behind its group).

use std::time::Duration;
use time::OffsetDateTime;

/// When a queued reply counts as stranded, and when it is given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrandedPolicy {
    /// Untouched (no send attempt, no retry) for this long: queued again.
    pub requeue_after: Duration,
    /// Still queued this long after it was stored: failed, with a reason the agent sees.
    pub fail_after: Duration,
}

impl Default for StrandedPolicy {
    fn default() -> Self {
        Self { requeue_after: Duration::from_secs(10 * 60), fail_after: Duration::from_secs(60 * 60) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrandedAction {
    /// Moving (a send or a retry touched it recently): leave it alone.
    Leave,
    /// Put a new job for it on the outbound queue (a duplicate job is harmless: the send is claimed once).
    Requeue,
    /// Fail it with this reason.
    Fail(String),
}

impl StrandedPolicy {
    pub fn decide(
        &self,
        now: OffsetDateTime,
        created_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> StrandedAction {
        let age = now - created_at;
        if age >= self.fail_after {
            return StrandedAction::Fail(format!(
                "not sent: it was still waiting to reach the provider {} minutes after it was written \
                 (its queue message was lost or given up on); send it again if it is still wanted",
                age.whole_minutes()
            ));
        }
        if now - updated_at >= self.requeue_after { StrandedAction::Requeue } else { StrandedAction::Leave }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn recent_ones_are_left_stale_ones_requeued_old_ones_failed() {
        let p =
            StrandedPolicy { requeue_after: Duration::from_secs(600), fail_after: Duration::from_secs(3600) };
        let t0 = datetime!(2026-11-29 10:00 UTC);
        assert_eq!(p.decide(t0 + Duration::from_secs(300), t0, t0), StrandedAction::Leave);
        assert_eq!(p.decide(t0 + Duration::from_secs(600), t0, t0), StrandedAction::Requeue);
        // A retry touched it recently: still moving.
        let touched = t0 + Duration::from_secs(1500);
        assert_eq!(p.decide(t0 + Duration::from_secs(1800), t0, touched), StrandedAction::Leave);
        match p.decide(t0 + Duration::from_secs(3600), t0, touched) {
            StrandedAction::Fail(reason) => assert!(reason.contains("60 minutes"), "{reason}"),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
