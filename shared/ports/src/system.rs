//! Clock and ids: the system's in production, fixed ones in tests.

use time::OffsetDateTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub trait IdGen: Send + Sync {
    /// A new unique id with the given prefix (`ch_`, `cv_`, ...). Ids sort by creation time.
    fn new_id(&self, prefix: &str) -> String;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// UUIDv7 ids: unique, and sortable by creation time.
#[derive(Clone, Copy, Debug, Default)]
pub struct UuidIds;

impl IdGen for UuidIds {
    fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", uuid::Uuid::now_v7().simple())
    }
}
