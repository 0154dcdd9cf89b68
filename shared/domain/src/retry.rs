//! Retrying sends: growing delays, then failing for good with the reason kept.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each one after.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_secs(5), max_delay: Duration::from_secs(300) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    RetryAfter(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// After `attempts_made` failed attempts with a transient error, what to do next.
    pub fn after_failure(&self, attempts_made: u32) -> RetryDecision {
        if attempts_made >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let exp = attempts_made.saturating_sub(1).min(20);
        let delay = self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay);
        RetryDecision::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_gives_up() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(5),
        };
        assert_eq!(p.after_failure(1), RetryDecision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(p.after_failure(2), RetryDecision::RetryAfter(Duration::from_secs(4)));
        assert_eq!(p.after_failure(3), RetryDecision::RetryAfter(Duration::from_secs(5)));
        assert_eq!(p.after_failure(4), RetryDecision::GiveUp);
    }
}
