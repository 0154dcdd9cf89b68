//! The one SQLite database behind every embedded adapter: opening it durably, migrating it, and running
//! port methods on it without stalling the async runtime.

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use smsdesk_ports::{PortError, PortResult};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

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

/// Prepared statements a connection keeps (every port method's few queries stay prepared).
const STATEMENT_CACHE: usize = 256;

/// Most jobs one group commit takes; the rest wait for the next one.
const MAX_GROUP: usize = 512;

/// Most background jobs (queue consumers, timers: work nobody waits on over HTTP) one group takes beside
/// foreground jobs. A group's work is done before its fsync, so a group of hundreds of routing writes would
/// make a webhook that arrives meanwhile wait for all of them, then for its own group; with this cap its wait
/// is at most two short groups. Background work still gets this many per commit whatever the foreground
/// load, so it never starves. In `smsdesk bench` (10,000 texts, 4 pollers a queue), 32 answered webhooks at
/// ~7,400/s with a p99 near 29 ms; 96 at ~4,500/s (~45 ms); no cap at ~3,200/s (~65 ms).
const BACKGROUND_PER_GROUP: usize = 32;

/// Most background jobs a group takes when no foreground job is waiting. Each commit costs about the same
/// whatever it holds (the pages every group rewrites, the fsync), so while only background work waits,
/// larger groups route faster; a foreground job that arrives meanwhile waits for at most one such group
/// (~2 ms of work at ~15 us a job). In `smsdesk bench`, after the webhooks were answered the router ran
/// 32-job groups back to back (~850 commits/s, the writer busy all the time); with 128 it routed ~25% more
/// texts a second in the same run length, with the same ack latency.
const BACKGROUND_ALONE: usize = 128;
const _: () = assert!(BACKGROUND_PER_GROUP < BACKGROUND_ALONE && BACKGROUND_ALONE < MAX_GROUP);

/// How many of the waiting foreground and background jobs the next group takes: every foreground job (up to
/// [`MAX_GROUP`]), then background jobs up to [`BACKGROUND_PER_GROUP`] beside them, or up to
/// [`BACKGROUND_ALONE`] when there is no foreground job.
fn group_size(foreground: usize, background: usize) -> (usize, usize) {
    let fore = foreground.min(MAX_GROUP);
    let cap = if fore == 0 { BACKGROUND_ALONE } else { BACKGROUND_PER_GROUP };
    (fore, cap.min(MAX_GROUP - fore).min(background))
}

tokio::task_local! {
    static FOREGROUND: ();
}

/// Runs `work` as foreground: its writes go into the next group commit ahead of background work (see
/// [`BACKGROUND_PER_GROUP`]). `smsdesk dev` runs every HTTP request so (a provider or an agent waits on its
/// answer); queue consumers and timers run without it. Durability is the same for both: every write is
/// answered only after its group's commit.
pub async fn foreground<F: std::future::Future>(work: F) -> F::Output {
    FOREGROUND.scope((), work).await
}

/// A shared handle on the database's one writer. One connection, owned by a writer thread, serializes every
/// port method in this process; `BEGIN IMMEDIATE` transactions keep them atomic against other processes on
/// the file too.
///
/// Group commit: the writer thread takes every job that is waiting (up to [`MAX_GROUP`]), runs them one
/// after another in ONE transaction, each inside its own SAVEPOINT, commits once (one fsync under
/// `synchronous=FULL`) and only then answers each caller. A job that fails is rolled back to its savepoint
/// and answered with its own error; the others still commit. Nobody hears "done" before the commit is on
/// disk, so what a port method acknowledged survives a kill -9 exactly as with one transaction per method.
///
/// Reads ([`Db::read`]) do not queue behind the writer: on a file they run on reader connections of their
/// own (WAL lets them in beside the writer), each in one read transaction that sees everything committed
/// before it began, so a caller reads what any acknowledged write stored and never what is not yet on disk.
#[derive(Clone)]
pub(crate) struct Db {
    jobs: mpsc::Sender<Queued>,
    commits: Arc<AtomicU64>,
    /// None in memory (a second connection would be another database): reads then go through the writer.
    readers: Option<Arc<Readers>>,
}

/// Idle reader connections on the database file, opened as reads need them (at most one per thread that
/// reads at the same time) and kept with their cached statements.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn connect(&self) -> PortResult<Connection> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(sql)?;
        // A reader never writes: a port method that did by mistake fails instead of escaping group commit.
        conn.pragma_update(None, "query_only", true).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `f` in one read transaction on an idle reader (a new one when none is idle).
    fn run<T>(&self, f: impl FnOnce(&Transaction<'_>) -> PortResult<T>) -> PortResult<T> {
        let idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let out = {
            // Deferred: the snapshot is taken at the first read and held to the end (rolled back on drop).
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(sql)?;
            f(&tx)
        };
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(conn);
        out
    }
}

/// One port method's work, waiting for the writer thread, and whether a foreground caller waits on it.
struct Queued {
    job: Box<dyn Job>,
    foreground: bool,
}

/// One port method's work, waiting for the writer thread.
trait Job: Send {
    /// Runs the work inside the group's transaction; Ok if it should be kept.
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answers the caller once the group's fate is known: `Ok` when the group committed.
    fn answer(self: Box<Self>, group: Result<(), PortError>);
}

struct Pending<T, F> {
    work: Option<F>,
    out: Option<PortResult<T>>,
    reply: oneshot::Sender<PortResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else { return false };
        // A panicking job is one failed job: its savepoint is rolled back, the writer thread goes on.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(PortError::Backend("embedded database job panicked".into())));
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, group: Result<(), PortError>) {
        let result = match (self.out, group) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(e)) | (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(PortError::Backend("embedded database job was not run".into())),
        };
        // The caller may have gone away (its future dropped); the work is committed either way.
        let _ = self.reply.send(result);
    }
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Self, EmbeddedError> {
        // An existing file is only chmod-ed (see below why it is never opened outside SQLite).
        if path.exists() {
            owner_only(path)?
        } else {
            private_file(path)?
        }
        let conn = Connection::open(path)?;
        // WAL lets readers and the writer overlap; FULL syncs the WAL on every commit, so whatever a port
        // method acknowledged survives a kill -9 or a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Checkpoints (copying the WAL into the database file, then syncing that file) run on a thread of
        // their own, not in the writer's commits: under load they were a tenth of the writer's time, and
        // every group commit waited behind them.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let mut db = Self::init(conn)?;
        db.readers = Some(Arc::new(Readers { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }));
        spawn_checkpointer(path, Arc::downgrade(&db.commits))?;
        // SQLite creates the -wal and -shm files with the database file's mode; older files are tightened.
        // By path (chmod), never by opening them: closing any descriptor of a file drops every POSIX lock
        // this process holds on it, and SQLite's lock on the -shm is what tells another process (`smsdesk
        // dlq`, a reader) that the shared memory is in use. Without it, that process truncates the -shm
        // under our mapping and this one dies of SIGBUS.
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let side = std::path::PathBuf::from(side);
            if side.exists() {
                owner_only(&side)?;
            }
        }
        Ok(db)
    }

    pub(crate) fn open_in_memory() -> Result<Self, EmbeddedError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, EmbeddedError> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Each job's SAVEPOINT keeps the pages it changes in a sub-journal, to undo that job alone. On a file
        // (the default) every group wrote them out with a write call per page: a sixth of the writer's time
        // under load. They only ever undo a job inside the open transaction (a crash leaves the uncommitted
        // transaction out of the WAL, whatever they held), so memory is enough.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn)?;
        let (jobs, queue) = mpsc::channel::<Queued>();
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        // The thread ends when the last handle is dropped (the channel closes), closing the connection.
        std::thread::Builder::new()
            .name("smsdesk-db-writer".into())
            .spawn(move || writer(conn, queue, &counter))
            .map_err(|e| EmbeddedError::File { path: "writer thread".into(), source: e })?;
        Ok(Self { jobs, commits, readers: None })
    }

    /// Runs the read-only `f` on a reader connection, beside the writer (see [`Db`]): it waits for no group
    /// commit. In memory it runs as a writer job. `f` runs on the calling thread; reads are short (indexed
    /// lookups), so this is cheaper than handing them to another thread.
    pub(crate) async fn read<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        match &self.readers {
            Some(readers) => readers.run(f),
            None => self.tx(f).await,
        }
    }

    /// Runs `f` in the writer's next group transaction (inside its own savepoint) and answers once that
    /// transaction is committed: `f`'s own error if it failed (its changes undone), the commit's error if
    /// the group could not be committed.
    pub(crate) async fn tx<T, F>(&self, f: F) -> PortResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> PortResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending { work: Some(f), out: None, reply });
        let foreground = FOREGROUND.try_with(|_| ()).is_ok();
        if self.jobs.send(Queued { job, foreground }).is_err() {
            return Err(PortError::Backend("embedded database writer has stopped".into()));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(PortError::Backend("embedded database writer has stopped".into())))
    }

    /// How many transactions the writer has committed (group commit makes this fewer than the jobs).
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

/// The writer thread: waits for a job, takes every other job already waiting, and runs a group of them
/// ([`group_size`]), oldest first; background jobs left over wait, in order, for the next groups.
fn writer(mut conn: Connection, queue: mpsc::Receiver<Queued>, commits: &AtomicU64) {
    let mut foreground: Vec<Box<dyn Job>> = Vec::new();
    let mut background: VecDeque<Box<dyn Job>> = VecDeque::new();
    let take = |q: Queued, foreground: &mut Vec<_>, background: &mut VecDeque<_>| match q.foreground {
        true => foreground.push(q.job),
        false => background.push_back(q.job),
    };
    loop {
        if foreground.is_empty() && background.is_empty() {
            match queue.recv() {
                Ok(q) => take(q, &mut foreground, &mut background),
                // Every handle is gone and nothing is left to run.
                Err(_) => return,
            }
        }
        while let Ok(q) = queue.try_recv() {
            take(q, &mut foreground, &mut background);
        }
        let (fore, back) = group_size(foreground.len(), background.len());
        let mut group: Vec<Box<dyn Job>> = foreground.drain(..fore).collect();
        group.extend(background.drain(..back));
        let result = run_group(&mut conn, &mut group);
        if result.is_ok() {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        for job in group {
            job.answer(result.as_ref().map(|_| ()).map_err(copy));
        }
    }
}

/// How often the checkpointer looks for committed work to copy from the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The checkpointer: while the database is open (`commits` still has an owner), every [`CHECKPOINT_EVERY`]
/// after new commits, a PASSIVE checkpoint on a connection of its own. PASSIVE never blocks the writer or a
/// reader; it copies what no reader still needs and syncs the database file (`synchronous=FULL`). Once all
/// of the WAL is copied, the writer's next transaction starts the WAL over, so it stays small. A commit's
/// durability never depends on it: every commit is on disk in the WAL (synced) before it is answered.
fn spawn_checkpointer(path: &Path, commits: std::sync::Weak<AtomicU64>) -> Result<(), EmbeddedError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    std::thread::Builder::new()
        .name("smsdesk-db-checkpoint".into())
        .spawn(move || {
            let mut done = 0;
            while let Some(counter) = commits.upgrade() {
                let now = counter.load(Ordering::Relaxed);
                drop(counter);
                if now != done {
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        Ok(()) => done = now,
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; will retry"),
                    }
                }
                std::thread::sleep(CHECKPOINT_EVERY);
            }
        })
        .map_err(|e| EmbeddedError::File { path: "checkpoint thread".into(), source: e })?;
    Ok(())
}

/// The group's error, for each of its callers.
fn copy(e: &PortError) -> PortError {
    match e {
        PortError::Unavailable(m) => PortError::Unavailable(m.clone()),
        PortError::Corrupt(m) => PortError::Corrupt(m.clone()),
        PortError::Backend(m) => PortError::Backend(m.clone()),
    }
}

/// One transaction for the whole group, a savepoint per job; the group's fate (commit or not).
fn run_group(conn: &mut Connection, group: &mut [Box<dyn Job>]) -> Result<(), PortError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
    for job in group.iter_mut() {
        tx.execute_cached("SAVEPOINT job", []).map_err(sql)?;
        if job.run(&tx) {
            tx.execute_cached("RELEASE job", []).map_err(sql)?;
        } else if tx.is_autocommit() {
            // SQLite itself rolled the whole transaction back (an I/O error, a full disk): every job
            // of the group so far is undone, so none of them may hear "done".
            return Err(PortError::Unavailable(
                "the group transaction was rolled back by the database; nothing of it was stored".into(),
            ));
        } else {
            tx.execute_cached("ROLLBACK TO job", []).map_err(sql)?;
            tx.execute_cached("RELEASE job", []).map_err(sql)?;
        }
    }
    tx.commit().map_err(sql)
}

/// `execute` and `query_row` through the connection's statement cache. rusqlite's own compile the SQL again
/// on every call (statements on tables with change triggers compile the triggers too), which was about a
/// third of the writer thread's time under load; a cached statement is compiled once per connection.
pub(crate) trait Cached {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;
    fn query_row_cached<T, F>(&self, sql: &str, params: impl rusqlite::Params, f: F) -> rusqlite::Result<T>
    where
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, F>(&self, sql: &str, params: impl rusqlite::Params, f: F) -> rusqlite::Result<T>
    where
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Makes an existing `path` readable and writable by its owner only, without opening it.
fn owner_only(path: &Path) -> Result<(), EmbeddedError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|source| EmbeddedError::File { path: path.display().to_string(), source })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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
    fn a_group_takes_every_foreground_job_and_more_background_work_when_none_waits() {
        assert_eq!(group_size(5, 1000), (5, BACKGROUND_PER_GROUP), "background beside foreground is capped");
        assert_eq!(group_size(0, 1000), (0, BACKGROUND_ALONE), "background alone goes in larger groups");
        assert_eq!(group_size(0, 3), (0, 3));
        assert_eq!(group_size(2, 0), (2, 0));
        assert_eq!(group_size(MAX_GROUP + 10, 50), (MAX_GROUP, 0), "never more than MAX_GROUP");
        assert_eq!(group_size(MAX_GROUP - 4, 50), (MAX_GROUP - 4, 4));
    }

    #[test]
    fn timestamps_sort_like_times() {
        let a = time::macros::datetime!(2026-01-01 00:00 UTC);
        assert!(ts(a) < ts(a + time::Duration::nanoseconds(1)));
        assert!(ts(time::macros::datetime!(1960-01-01 00:00 UTC)) < 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_committed_work_into_the_database_file_and_background_work_is_not_starved()
     {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER, pad TEXT)").map_err(sql)).await.unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // Foreground and background writers at once: each of them gets its commits.
        let mut writers = Vec::new();
        for i in 0..400i64 {
            let db = db.clone();
            let write = async move {
                db.tx(move |tx| {
                    tx.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![i, "x".repeat(2000)])
                        .map_err(sql)
                })
                .await
            };
            writers.push(match i % 2 {
                0 => tokio::spawn(foreground(write)),
                _ => tokio::spawn(write),
            });
        }
        for w in writers {
            w.await.unwrap().unwrap();
        }
        // The writer itself never checkpoints (wal_autocheckpoint = 0): the rows reach the database file
        // only through the checkpointer.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < before + 400 * 2000 {
            assert!(std::time::Instant::now() < deadline, "the WAL was never checkpointed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

    /// Group commit: many concurrent callers, fewer commits than callers, every caller its own answer; a
    /// failing or panicking job is undone alone and does not poison the rest of its group.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_share_commits_and_each_caller_gets_its_own_result() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").map_err(sql)).await.unwrap();
        let before = db.commits();
        let n = 400i64;
        let mut tasks = Vec::new();
        for i in 0..n {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.tx(move |tx| {
                    tx.execute("INSERT INTO t (x) VALUES (?1)", [i]).map_err(sql)?;
                    match i % 10 {
                        3 => Err(PortError::Backend(format!("job {i} refuses"))),
                        7 => panic!("job {i} panics"),
                        // A constraint error from SQLite itself, after this job's own insert.
                        9 => tx.execute("INSERT INTO t (x) VALUES (?1)", [i]).map(|_| i).map_err(sql),
                        _ => Ok(i * 2),
                    }
                })
                .await
            }));
        }
        for (i, task) in (0..n).zip(tasks) {
            let got = task.await.unwrap();
            match i % 10 {
                3 => assert!(matches!(&got, Err(PortError::Backend(m)) if *m == format!("job {i} refuses"))),
                7 => assert!(matches!(&got, Err(PortError::Backend(m)) if m.contains("panicked")), "{got:?}"),
                9 => assert!(matches!(&got, Err(PortError::Backend(m)) if m.contains("UNIQUE")), "{got:?}"),
                _ => assert_eq!(got.unwrap(), i * 2, "caller {i} gets its own answer"),
            }
        }
        let rows: Vec<i64> = db
            .tx(|tx| {
                let mut stmt = tx.prepare("SELECT x FROM t ORDER BY x").map_err(sql)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(sql)?;
                rows.collect::<Result<_, _>>().map_err(sql)
            })
            .await
            .unwrap();
        let kept: Vec<i64> = (0..n).filter(|i| ![3, 7, 9].contains(&(i % 10))).collect();
        assert_eq!(rows, kept, "every good write landed, nothing of a failed one did");
        let commits = db.commits() - before;
        assert!(commits < n as u64, "{commits} commits for {n} concurrent writes: grouped");
        // And it is all on disk: a second connection on the file sees it.
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        let count: i64 = other.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, kept.len() as i64);
    }

    /// A read waits for no group commit: it answers while the writer is busy with a group, sees what was
    /// committed before it began and nothing of the group still open; a write's caller reads its write at
    /// once. A reader refuses to write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_run_beside_the_writer_and_see_only_what_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        db.tx(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);").map_err(sql))
            .await
            .unwrap();
        let count = |db: &Db| {
            let db = db.clone();
            async move {
                db.read(|tx| tx.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0)).map_err(sql))
                    .await
            }
        };
        // A writer job that inserts a row, then holds its group open until told to go on.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                db.tx(move |tx| {
                    tx.execute("INSERT INTO t VALUES (2)", []).map_err(sql)?;
                    let _ = started.send(());
                    wait.recv().map_err(|_| PortError::Backend("test gone".into()))
                })
                .await
            })
        };
        running.await.unwrap();
        let during = tokio::time::timeout(Duration::from_secs(5), count(&db)).await;
        go.send(()).unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(
            during.expect("the read answered while the group was open").unwrap(),
            1,
            "nothing uncommitted"
        );
        assert_eq!(count(&db).await.unwrap(), 2, "the acknowledged write is read at once");
        let refused = db.read(|tx| tx.execute("INSERT INTO t VALUES (3)", []).map_err(sql)).await;
        assert!(refused.is_err(), "a reader does not write");
        assert_eq!(count(&db).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn file_database_uses_wal_and_full_sync_and_keeps_job_journals_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let (mode, sync, temp) = db
            .tx(|tx| {
                let mode: String = tx.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(sql)?;
                let sync: i64 = tx.query_row("PRAGMA synchronous", [], |r| r.get(0)).map_err(sql)?;
                let temp: i64 = tx.query_row("PRAGMA temp_store", [], |r| r.get(0)).map_err(sql)?;
                Ok((mode, sync, temp))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
        assert_eq!(temp, 2, "temp_store=MEMORY: the savepoints' sub-journals are not written to files");
    }
}
