//! The one SQLite database behind every embedded adapter: opening it durably, migrating it, and running
//! port methods on it without stalling the async runtime.

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use smsdesk_ports::{PortError, PortResult};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::schema;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer smsdesk; opening it could lose data.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    NewerSchema { found: i64, known: i64 },
    /// The file could not be created or made private to its owner.
    #[error("{path}: {source}")]
    File { path: String, source: std::io::Error },
}

/// How long a writer waits for another process holding the file's lock before giving up as `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A shared handle on one connection. One connection (behind a mutex) serializes every port method in
/// this process; `BEGIN IMMEDIATE` transactions keep them atomic against other processes on the file too.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Self, EmbeddedError> {
        private_file(path)?;
        let conn = Connection::open(path)?;
        // WAL lets readers and the writer overlap; FULL syncs the WAL on every commit, so whatever a port
        // method acknowledged survives a kill -9 or a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let db = Self::init(conn)?;
        // SQLite creates the -wal and -shm files with the database file's mode; older files are tightened.
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.exists() {
                private_file(&side)?;
            }
        }
        Ok(db)
    }

    pub(crate) fn open_in_memory() -> Result<Self, EmbeddedError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, EmbeddedError> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        schema::migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on a blocking thread, committing when it returns Ok.
    pub(crate) async fn tx<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let joined = tokio::task::spawn_blocking(move || {
            // A panic in an earlier call poisons the mutex but cannot leave a transaction open (it rolls back
            // on drop), so the connection is still sound.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = guard.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(PortError::Backend(format!("embedded database task failed: {e}"))),
        }
    }
}

/// Creates `path` readable and writable by its owner only (mode 0600), or makes an existing file so: the
/// database holds customers' numbers, transcripts and channel credentials.
fn private_file(path: &Path) -> Result<(), EmbeddedError> {
    let err = |source| EmbeddedError::File { path: path.display().to_string(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(err)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    #[cfg(not(unix))]
    {
        std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(err)?;
    }
    Ok(())
}

/// Maps SQLite errors: a busy or locked database is worth retrying, anything else is not.
pub(crate) fn sql(e: rusqlite::Error) -> PortError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => PortError::Unavailable(e.to_string()),
        _ => PortError::Backend(e.to_string()),
    }
}

/// Serializes a record into its JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> PortResult<String> {
    serde_json::to_string(value).map_err(|e| PortError::Backend(format!("cannot encode record: {e}")))
}

/// Reads a record back from its JSON column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> PortResult<T> {
    // serde may quote the offending value, which may be a customer's number: masked in the message.
    serde_json::from_str(text).map_err(|e| {
        PortError::Corrupt(smsdesk_domain::redact::scrub(&format!("stored record does not decode: {e}")))
    })
}

/// A timestamp as the integer column SQLite compares and sorts: nanoseconds since the epoch (i64 covers
/// 1677..2262).
pub(crate) fn ts(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(if t.year() < 1970 { i64::MIN } else { i64::MAX })
}

/// A std duration in nanoseconds, saturating.
pub(crate) fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_locked_are_retryable() {
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
        assert!(sql(busy).is_retryable());
        let locked = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(6), None);
        assert!(sql(locked).is_retryable());
        let constraint = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(19), None);
        assert!(!sql(constraint).is_retryable());
    }

    #[test]
    fn timestamps_sort_like_times() {
        let a = time::macros::datetime!(2026-01-01 00:00 UTC);
        assert!(ts(a) < ts(a + time::Duration::nanoseconds(1)));
        assert!(ts(time::macros::datetime!(1960-01-01 00:00 UTC)) < 0);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        {
            let db = Db::open(&path).unwrap();
            db.tx(|tx| tx.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").map_err(sql))
                .await
                .unwrap();
            for name in ["t.db", "t.db-wal", "t.db-shm"] {
                let p = dir.path().join(name);
                assert!(p.exists(), "{name} exists while the database is open");
                assert_eq!(mode(&p), 0o600, "{name}");
            }
        }
        // A file left world-readable by an older version is tightened on open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _db = Db::open(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[tokio::test]
    async fn file_database_uses_wal_and_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (mode, sync) = db
            .tx(|tx| {
                let mode: String = tx.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(sql)?;
                let sync: i64 = tx.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(sql)?;
                Ok((mode, sync))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}
