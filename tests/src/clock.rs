//! A controllable clock for the app under test: the system's time plus an offset the test moves forward, so
//! "a day later" (auto-close after inactivity) takes no waiting. Handed to both shapes through the app's
//! `Clock` port; time still flows, so leases, retries and ordering behave as they do for real.

use smsdesk_ports::Clock;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<Duration>,
}

impl TestClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the app's time forward by `by` (never back: the app's statuses and timestamps only move forward).
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *offset += by;
    }

    /// How far ahead of the system clock the app's time is.
    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}
