//! [`EmbeddedStore`]: every store port of smsdesk on the embedded database.

mod changes;
mod conversations;
mod customers;
mod directory;
mod media_claims;
mod messages;
mod notes;
mod pacing;
mod parts;
mod records;
mod teams;
mod transfers;

use std::path::Path;

use crate::db::Db;
use crate::{EmbeddedDb, EmbeddedError, EmbeddedQueue};

/// Every store port ([`smsdesk_ports::Store`]) and the [`smsdesk_ports::SecretStore`], on one SQLite
/// database. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct EmbeddedStore {
    pub(crate) db: Db,
}

impl EmbeddedStore {
    pub(crate) fn on(db: Db) -> Self {
        Self { db }
    }

    /// Opens (creating and migrating as needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        Ok(EmbeddedDb::open(path)?.store())
    }

    /// A private in-memory database (unit tests).
    pub fn open_in_memory() -> Result<Self, EmbeddedError> {
        Ok(EmbeddedDb::open_in_memory()?.store())
    }

    /// The queues on the same database.
    pub fn queue(&self) -> EmbeddedQueue {
        EmbeddedQueue::on(self.db.clone())
    }
}
