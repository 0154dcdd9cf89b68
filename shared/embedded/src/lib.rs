//! smsdesk's embedded adapters: the store, the queues and the secrets in one file-backed SQLite database,
//! for `smsdesk dev`, demos, tests and small teams on one machine.
//!
//! Open the file once with [`EmbeddedDb::open`] and make the adapters from it: [`EmbeddedDb::store`]
//! (every store port and the secret store) and [`EmbeddedDb::queue`] (the three queues with SQS semantics).
//! They share one connection, so the store and the queues stay in the same file.
//!
//! Durability: WAL with `synchronous=FULL`, and no port method answers before the transaction holding its
//! writes is committed, so whatever a method acknowledged (a queued message, an assignment) survives a kill
//! -9. Group commit: one writer thread runs every method that is waiting in one `BEGIN IMMEDIATE`
//! transaction, each method in its own SAVEPOINT (all or nothing, alone: a failing method is undone without
//! its neighbours), and commits once, so concurrent writers share one fsync. `BEGIN IMMEDIATE` also holds
//! against a second process on the same file.

mod db;
mod media;
mod metrics;
mod queue;
mod rows;
mod schema;
mod secrets;
mod store;

pub use db::{EmbeddedError, foreground};
pub use media::FolderMedia;
pub use metrics::PrometheusMetrics;
pub use queue::{DeadLetterEntry, EmbeddedQueue};
pub use store::EmbeddedStore;

use std::path::Path;

/// An open embedded database: the handle from which the store and the queue adapters are made.
#[derive(Clone)]
pub struct EmbeddedDb {
    db: db::Db,
}

impl EmbeddedDb {
    /// Opens (creating and migrating as needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        Ok(Self { db: db::Db::open(path)? })
    }

    /// A private in-memory database, gone when the last adapter made from it is dropped (unit tests).
    pub fn open_in_memory() -> Result<Self, EmbeddedError> {
        Ok(Self { db: db::Db::open_in_memory()? })
    }

    /// Every store port and the secret store, on this database.
    pub fn store(&self) -> EmbeddedStore {
        EmbeddedStore::on(self.db.clone())
    }

    /// How many transactions (each one fsync of the WAL) this handle's writer has committed since it was
    /// opened: with group commit, fewer than the port methods that wrote.
    pub fn commits(&self) -> u64 {
        self.db.commits()
    }

    /// The queues, on this database.
    pub fn queue(&self) -> EmbeddedQueue {
        EmbeddedQueue::on(self.db.clone())
    }
}
