//! The ports of smsdesk: one trait per capability. Each has exactly two adapters, AWS (DynamoDB, SQS,
//! Secrets Manager) and embedded (SQLite), and one contract suite (`smsdesk-contract`) that runs against
//! both. Handlers see only these traits, so no decision depends on the adapter underneath.
//!
//! Atomicity that two Lambdas may race on (assignment, dedupe, forward-only status, a send claimed once,
//! one open conversation per customer and number, one created contact per phone) is part of each
//! method's contract, not left to callers.

pub mod changes;
pub mod credentials;
pub mod customers;
pub mod media;
pub mod metrics;
pub mod queue;
pub mod store;
pub mod system;
pub mod teams;
pub mod transfers;

pub use changes::{Change, ChangeEntity, ChangeFeed, ChangePage};
pub use credentials::{Credentials, SecretStore};
pub use customers::{CustomerLanguage, CustomerStore, QuickReplyStore, QuickReplyWrite};
pub use media::{MediaObject, MediaStore};
pub use metrics::{Metrics, NoMetrics, Sample, Unit};
pub use queue::{
    Consumer, DeadLetter, MAX_DELAY, MessageQueue, Outcome, QueueKind, QueueMessage, Received, delay_seconds,
};
pub use store::*;
pub use system::{Clock, IdGen, SystemClock, UuidIds};
pub use teams::{TeamDelete, TeamJoin, TeamSettings, TeamStore};
pub use transfers::TransferStore;

/// Errors every adapter maps its failures into, so a handler can tell retryable from permanent.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The backing service is unavailable, throttled or timed out: try again later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt item, schema drift): a bug or an operator problem.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Anything else the backend refused.
    #[error("backend error: {0}")]
    Backend(String),
}

impl PortError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, PortError::Unavailable(_))
    }
}

pub type PortResult<T> = Result<T, PortError>;
