//! The SQLite backend on rusqlite: one writer connection and a few read-only connections. Each
//! reader is owned by a thread of its own that runs closures sent to it over a channel: a store
//! call sends all of its reads as one closure, so a read costs one hand-off between threads
//! however many statements it runs. The writer is used in place, by the task holding its lock,
//! and concurrent transactions are group-committed (see `Sqlite`). An in-memory database has no
//! readers (another connection would open another database): its reads take the writer lock.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sea_query_rusqlite::RusqliteValue;

use crate::error::{Result, StoreError};
use crate::value::{ColumnType, Value, from_micros};

/// How long a statement waits for another process's lock before failing as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;
/// Page cache per reading connection, and the writer's, in KiB (SQLite's default is 2 MiB).
/// Pages beyond it are read again from the operating system's file cache, which all the
/// connections share; a cache per connection multiplies with the readers.
const READER_CACHE_KIB: u32 = 8 * 1024;
const WRITER_CACHE_KIB: u32 = 16 * 1024;

/// Reading connections for this machine: two per core (a reader waiting on the disk leaves its
/// core to another), at most `asked`, at least one.
fn reader_threads(asked: u32) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (asked as usize).clamp(1, std::cmp::max(2, 2 * cores))
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Msg {
    Run(Job),
    /// Ends the thread that takes it, closing its connection, then answers.
    Stop(tokio::sync::oneshot::Sender<()>),
}

/// Where and how to open the database, from a `sqlite:` URL.
#[derive(Debug, Clone)]
struct Target {
    /// `None`: a private in-memory database.
    path: Option<String>,
    read_only: bool,
}

/// A `sqlite:` URL as sqlx read it: `sqlite://path`, `sqlite:path`, `sqlite::memory:`, with
/// an optional `?mode=ro|rw|rwc|memory` (`cache=` is accepted and has no effect here).
fn parse_url(url: &str) -> Result<Target> {
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| StoreError::Url(url.to_owned()))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (database, params) = match rest.split_once('?') {
        Some((d, p)) => (d, Some(p)),
        None => (rest, None),
    };
    let mut target =
        Target { path: (database != ":memory:").then(|| percent_decode(database)).transpose()?, read_only: false };
    for pair in params.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (key, value) {
            ("mode", "ro") => target.read_only = true,
            ("mode", "rw" | "rwc") => {}
            ("mode", "memory") => target.path = None,
            ("cache", "shared" | "private") => {}
            _ => return Err(StoreError::Url(format!("{url}: unsupported parameter {pair:?}"))),
        }
    }
    if target.path.as_deref() == Some("") {
        return Err(StoreError::Url(format!("{url}: no file name")));
    }
    Ok(target)
}

/// The database file a `sqlite:` URL names (`None` for an in-memory database).
pub(crate) fn file_of(url: &str) -> Result<Option<std::path::PathBuf>> {
    Ok(parse_url(url)?.path.map(std::path::PathBuf::from))
}

/// `%XX` escapes decoded (they let a file name hold `?` or `#`).
fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| StoreError::Url(format!("{s}: not UTF-8 once decoded")))
}

/// SQLite's process-wide settings, made once before its first connection: no memory statistics.
/// With them on, every allocation SQLite makes takes one global mutex to count itself, which every
/// connection's thread then contends for (no statement of Kith's reads those statistics).
fn configure_process() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `sqlite3_config` is called before this process opened any SQLite connection
        // (every connection of the store opens after this), with the one integer argument
        // SQLITE_CONFIG_MEMSTATUS takes. Should SQLite be initialised already (another library
        // of the process opened a database), it refuses with SQLITE_MISUSE and nothing changes.
        let off: std::ffi::c_int = 0;
        let rc = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, off) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite was initialised already: its memory statistics stay on");
        }
    });
}

/// Plans every statement once, whatever values are bound to it: SQLite's query planner
/// stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`). Without it, a statement whose plan could
/// use a bound value is marked to be prepared again each time a new value is bound: every
/// `LIMIT ?` (SQLite 3.51 plans with the limit's value), every equality on a column `sqlite_stat4`
/// has samples for. Kith binds every value, so nearly every statement was parsed and planned
/// again on every run and the statement cache saved nothing: 46% of the instructions of a
/// contact read by id. Plans then come from `sqlite_stat1` and the indexes alone.
fn plan_once(conn: &Connection) -> Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(error)?;
    Ok(())
}

fn open(target: &Target, reader: bool) -> Result<Connection> {
    configure_process();
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    flags |= if reader || target.read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    let conn = match &target.path {
        Some(path) => Connection::open_with_flags(path, flags),
        None => Connection::open_in_memory_with_flags(flags),
    }
    .map_err(error)?;
    plan_once(&conn)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
    if !reader && !target.read_only {
        // Returns the mode now in force (`memory` for an in-memory database).
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).map_err(error)?;
    }
    let cache_kib = if reader { READER_CACHE_KIB } else { WRITER_CACHE_KIB };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = memory; \
         PRAGMA cache_size = -{cache_kib};"
    ))
    .map_err(error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Threads that each own a connection and run the closures sent to any of them.
struct Workers {
    jobs: crossbeam_channel::Sender<Msg>,
    /// Calls sent and not yet answered (for metrics).
    busy: AtomicUsize,
}

impl Workers {
    fn start(name: &str, conns: Vec<Connection>) -> Result<Workers> {
        let (jobs, rx) = crossbeam_channel::unbounded::<Msg>();
        for (i, conn) in conns.into_iter().enumerate() {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("kith-sqlite-{name}-{i}"))
                .spawn(move || work(conn, rx))
                .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        Ok(Workers { jobs, busy: AtomicUsize::new(0) })
    }

    /// Runs `f` on one of the connections. Fails, never hangs, when the threads are gone: a
    /// closure that panics is caught on its thread (which goes on serving) and drops its reply.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.busy.fetch_add(1, Ordering::Relaxed);
        let _done = Countdown(&self.busy);
        self.jobs
            .send(Msg::Run(Box::new(move |c: &mut Connection| {
                let _ = reply.send(f(c));
            })))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Takes one off a count when dropped (however the call ends).
struct Countdown<'a>(&'a AtomicUsize);

impl Drop for Countdown<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn work(mut conn: Connection, jobs: crossbeam_channel::Receiver<Msg>) {
    while let Ok(msg) = jobs.recv() {
        let job = match msg {
            Msg::Run(job) => job,
            Msg::Stop(done) => {
                let _ = conn.execute_batch("PRAGMA optimize");
                drop(conn);
                let _ = done.send(());
                return;
            }
        };
        if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
            // The call fails (its reply is dropped) and the connection goes on serving. A
            // transaction the job was part of stays open: its owner rolls it back, or goes on,
            // as after any failed statement.
            tracing::error!("a SQLite job panicked");
        }
    }
}

fn gone() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

/// The most transactions one group commit holds; past it the group commits at the next release
/// even with more writers waiting.
const MAX_GROUP: usize = 256;
/// The longest a group stays open once its first member released.
const MAX_GROUP_WAIT: Duration = Duration::from_millis(5);
/// How often a member waiting for its group's COMMIT checks that someone will send it.
const GROUP_POLL: Duration = Duration::from_millis(2);

/// The writer connection and the group of transactions that released their savepoints into the
/// open outer transaction and wait for its COMMIT.
struct Writer {
    conn: Connection,
    group: Vec<tokio::sync::oneshot::Sender<Result<()>>>,
    /// When the group's first member released.
    since: Option<Instant>,
}

impl Writer {
    /// Commits the outer transaction, if one is open, and gives every member of the group the
    /// outcome. The outcome, for a caller that is itself the last member.
    fn flush(&mut self) -> Result<()> {
        let group = std::mem::take(&mut self.group);
        self.since = None;
        if self.conn.is_autocommit() {
            // Nothing open, or SQLite rolled the transaction back on its own (a full disk, an
            // I/O error): then the group's writes are gone.
            if group.is_empty() {
                return Ok(());
            }
            for member in group {
                let _ = member.send(Err(lost()));
            }
            return Err(lost());
        }
        let outcome = self.conn.execute_batch("COMMIT").map_err(error);
        if outcome.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for member in group {
            let _ = member.send(match &outcome {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Database(sqlx::Error::Protocol(format!("group commit failed: {e}")))),
            });
        }
        outcome
    }

    /// After a member rolled back or the outer transaction may be empty: commits what the
    /// group holds when no one else is about to join it, and closes an empty transaction.
    fn settle(&mut self, waiting: usize) {
        if self.group.is_empty() {
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
        } else if waiting == 0 {
            let _ = self.flush();
        }
    }
}

fn lost() -> StoreError {
    StoreError::Database(sqlx::Error::Protocol("the transaction was rolled back by SQLite".into()))
}

fn panicked() -> StoreError {
    gone()
}

/// Runs `f`, a panic in it becoming the call's error (the connection goes on serving).
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        tracing::error!("a SQLite job panicked");
        Err(panicked())
    })
}

/// The SQLite backend of a store.
///
/// Reads go to reader threads. Writes run on the calling task, inline, on the one writer
/// connection behind an async lock: a transaction's statements cost no hand-off between threads,
/// so a transaction holds the writer only for the time its statements take. Transactions are
/// group-committed: each runs inside a `SAVEPOINT` of one outer transaction; when it ends, its
/// savepoint is released (or rolled back to, undoing only its own writes) and, if other
/// transactions are waiting for the writer, the outer transaction stays open for them. The last
/// one of the group (no one waiting, or the group full or old) sends the one COMMIT for all, and
/// each member's `commit` returns once that COMMIT is done, with its outcome: a request never
/// hears of a commit its readers cannot yet see.
pub(crate) struct Sqlite {
    /// `None` for an in-memory database: reads then run on the writer.
    readers: Option<Workers>,
    reader_count: usize,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    /// Callers waiting for the writer lock (a group stays open while some are).
    waiting: Arc<AtomicUsize>,
    acquire_timeout: Duration,
    closed: AtomicBool,
}

impl Sqlite {
    pub(crate) fn connect(url: &str, readers: u32, acquire_timeout: Duration) -> Result<Sqlite> {
        let target = parse_url(url)?;
        // The writer first: it creates the file and turns WAL on, which readers need.
        let writer = Writer { conn: open(&target, false)?, group: Vec::new(), since: None };
        let (readers, reader_count) = match target.path {
            None => (None, 0),
            Some(_) => {
                let n = reader_threads(readers);
                let conns = (0..n).map(|_| open(&target, true)).collect::<Result<Vec<_>>>()?;
                (Some(Workers::start("reader", conns)?), n)
            }
        };
        Ok(Sqlite {
            readers,
            reader_count,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            waiting: Arc::new(AtomicUsize::new(0)),
            acquire_timeout,
            closed: AtomicBool::new(false),
        })
    }

    /// Connections open and idle, for metrics.
    pub(crate) fn stats(&self) -> (u32, usize) {
        if self.closed.load(Ordering::Relaxed) {
            return (0, 0);
        }
        let open = self.reader_count + 1;
        let writing = usize::from(self.writer.try_lock().is_err());
        let busy = self.readers.as_ref().map_or(0, |r| r.busy.load(Ordering::Relaxed)) + writing;
        (open as u32, open.saturating_sub(busy))
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        Ok(())
    }

    async fn lock_writer(&self) -> Result<tokio::sync::OwnedMutexGuard<Writer>> {
        self.check_open()?;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waited = Countdown(&self.waiting);
        tokio::time::timeout(self.acquire_timeout, self.writer.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))
    }

    /// Runs `f` on a reading connection: all of one store call's reads in one hand-off.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.check_open()?;
        match &self.readers {
            Some(readers) => readers.call(move |c| f(c)).await,
            None => {
                let mut w = self.lock_writer().await?;
                w.flush()?;
                guarded(|| f(&w.conn))
            }
        }
    }

    /// Runs `f` on the writer outside any transaction (ANALYZE), once the open group committed.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mut w = self.lock_writer().await?;
        w.flush()?;
        guarded(|| f(&mut w.conn))
    }

    /// Starts a write transaction (a savepoint in the group's transaction, which it opens with
    /// `BEGIN IMMEDIATE` when none is), holding the writer until it ends.
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let mut w = self.lock_writer().await?;
        if w.conn.is_autocommit() {
            if !w.group.is_empty() {
                // SQLite rolled the group's transaction back under its last member.
                let _ = w.flush();
            }
            w.conn.execute_batch("BEGIN IMMEDIATE").map_err(error)?;
        }
        if let Err(e) = w.conn.execute_batch("SAVEPOINT kith_tx").map_err(error) {
            w.settle(0);
            return Err(e);
        }
        Ok(SqliteTx { writer: Some(w), lock: self.writer.clone(), waiting: self.waiting.clone() })
    }

    /// Closes every connection once the transaction in progress, if any, has ended; later calls
    /// fail. Connections also close when the last handle to the store is dropped.
    pub(crate) async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut done = Vec::new();
        if let Some(r) = &self.readers {
            // A thread ends on the stop it takes, so each takes one.
            for _ in 0..self.reader_count {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                if r.jobs.send(Msg::Stop(tx)).is_ok() {
                    done.push(rx);
                }
            }
        }
        if let Ok(mut w) = tokio::time::timeout(self.acquire_timeout, self.writer.clone().lock_owned()).await {
            let _ = w.flush();
            let _ = w.conn.execute_batch("PRAGMA optimize");
            // The file's connection closes here; the closed flag keeps the stand-in unused.
            if let Ok(stand_in) = Connection::open_in_memory() {
                drop(std::mem::replace(&mut w.conn, stand_in));
            }
        }
        for rx in done {
            let _ = rx.await;
        }
    }
}

/// A write transaction: a savepoint on the writer connection, holding the writer until it ends.
/// Dropped before `commit`, it rolls back to its savepoint (its neighbours in the group keep
/// their writes).
pub(crate) struct SqliteTx {
    /// `None` once the transaction ended.
    writer: Option<tokio::sync::OwnedMutexGuard<Writer>>,
    lock: Arc<tokio::sync::Mutex<Writer>>,
    waiting: Arc<AtomicUsize>,
}

impl SqliteTx {
    /// Runs `f` on the writer, inside this transaction.
    pub(crate) async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let w = self.writer.as_mut().ok_or_else(gone)?;
        let out = guarded(|| f(&mut w.conn));
        if w.conn.is_autocommit() {
            // SQLite rolled back the whole transaction (an I/O error, a full disk): this
            // transaction's writes and its group's are gone, and it can do nothing more.
            if let Some(mut w) = self.writer.take() {
                let _ = w.flush();
            }
            return Err(out.err().unwrap_or_else(lost));
        }
        out
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut w = self.writer.take().ok_or_else(lost)?;
        if let Err(e) = w.conn.execute_batch("RELEASE kith_tx").map_err(error) {
            rollback_savepoint(&mut w);
            w.settle(self.waiting.load(Ordering::SeqCst));
            return Err(e);
        }
        let full = w.group.len() + 1 >= MAX_GROUP || w.since.is_some_and(|t| t.elapsed() >= MAX_GROUP_WAIT);
        if full || self.waiting.load(Ordering::SeqCst) == 0 {
            return w.flush();
        }
        let (member, mut outcome) = tokio::sync::oneshot::channel();
        w.group.push(member);
        w.since.get_or_insert_with(Instant::now);
        drop(w);
        loop {
            match tokio::time::timeout(GROUP_POLL, &mut outcome).await {
                Ok(answer) => return answer.map_err(|_| gone())?,
                // Whoever was waiting for the writer may have given up: if the writer is free,
                // nobody else is about to commit the group, so this member does.
                Err(_) => {
                    if let Ok(mut w) = self.lock.try_lock() {
                        let _ = w.flush();
                    }
                }
            }
        }
    }
}

/// Undoes a transaction's writes and ends its savepoint, leaving the group's transaction open.
fn rollback_savepoint(w: &mut Writer) {
    if !w.conn.is_autocommit() && w.conn.execute_batch("ROLLBACK TO kith_tx; RELEASE kith_tx").is_err() {
        // The savepoint is gone with the whole transaction; the group learns at its flush.
        tracing::error!("rolling back to a savepoint failed");
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            rollback_savepoint(&mut w);
            w.settle(self.waiting.load(Ordering::SeqCst));
        }
    }
}

/// A rusqlite error as the store reports it: database errors as sqlx reported SQLite's (so a
/// unique violation is still a `Conflict`, a busy database still a `Database` error).
pub(crate) fn error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            let message = message.unwrap_or_else(|| code.to_string());
            let db = SqliteError { code: code.extended_code, message };
            if db.code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || db.code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            {
                return StoreError::Conflict(db.message);
            }
            StoreError::Database(sqlx::Error::Database(Box::new(db)))
        }
        rusqlite::Error::FromSqlConversionFailure(index, _, source) => {
            StoreError::Database(sqlx::Error::ColumnDecode { index: index.to_string(), source })
        }
        rusqlite::Error::InvalidColumnType(index, name, ty) => StoreError::Database(sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: format!("column {name}: unexpected {ty}").into(),
        }),
        rusqlite::Error::ToSqlConversionFailure(source) => StoreError::Query(source.to_string()),
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// An error SQLite returned: its extended result code and message.
#[derive(Debug)]
pub(crate) struct SqliteError {
    code: i32,
    message: String,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteError {}

impl sqlx::error::DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                sqlx::error::ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => sqlx::error::ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => sqlx::error::ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

/// Reserves `n` ids from the allocator row; the first of them.
pub(crate) fn next_ids(n: i64) -> impl FnOnce(&mut Connection) -> Result<i64> + Send + 'static {
    move |c| {
        let sql = "UPDATE kith_ids SET next_id = next_id + ?1 WHERE name = 'global' RETURNING next_id - ?1";
        let rows = fetch(c, sql, &[sea_query::Value::BigInt(Some(n))], &[ColumnType::Int])?;
        rows.first()
            .and_then(|r| r.first())
            .and_then(Value::as_int)
            .ok_or_else(|| StoreError::Decode("kith_ids".into()))
    }
}

fn params(values: &[sea_query::Value]) -> Vec<RusqliteValue> {
    values.iter().cloned().map(RusqliteValue).collect()
}

/// Runs a statement (through the connection's cache of prepared statements); the rows changed.
pub(crate) fn execute(c: &Connection, sql: &str, values: &[sea_query::Value]) -> Result<u64> {
    let mut stmt = c.prepare_cached(sql).map_err(error)?;
    let n = stmt.execute(rusqlite::params_from_iter(params(values))).map_err(error)?;
    Ok(n as u64)
}

/// Statements without parameters, several separated by `;` (migrations).
pub(crate) fn execute_batch(c: &Connection, sql: &str) -> Result<()> {
    c.execute_batch(sql).map_err(error)
}

/// Runs a query; each row decoded as `types`.
pub(crate) fn fetch(
    c: &Connection,
    sql: &str,
    values: &[sea_query::Value],
    types: &[ColumnType],
) -> Result<Vec<Vec<Value>>> {
    let mut stmt = c.prepare_cached(sql).map_err(error)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params(values))).map_err(error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(error)? {
        let vals = types
            .iter()
            .enumerate()
            .map(|(i, ty)| decode(row.get_ref(i).map_err(error)?, i, *ty))
            .collect::<Result<Vec<_>>>()?;
        out.push(vals);
    }
    Ok(out)
}

/// One value as its column type promises, as sqlx decoded it: times are microseconds, JSON is
/// text, booleans are integers.
fn decode(v: ValueRef<'_>, index: usize, ty: ColumnType) -> Result<Value> {
    let mismatch = |found: &str| {
        StoreError::Database(sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: format!("expected {ty:?}, found {found}").into(),
        })
    };
    let text = |b: &[u8]| {
        std::str::from_utf8(b).map(str::to_owned).map_err(|e| {
            StoreError::Database(sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(e) })
        })
    };
    Ok(match (ty, v) {
        (_, ValueRef::Null) => Value::Null,
        (ColumnType::Int, ValueRef::Integer(i)) => Value::Int(i),
        (ColumnType::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (ColumnType::Float, ValueRef::Real(f)) => Value::Float(f),
        (ColumnType::Float, ValueRef::Integer(i)) => Value::Float(i as f64),
        (ColumnType::Text, ValueRef::Text(b)) => Value::Text(text(b)?),
        (ColumnType::Time, ValueRef::Integer(us)) => Value::Time(from_micros(us)),
        (ColumnType::Json, ValueRef::Text(b)) => {
            Value::Json(serde_json::from_slice(b).map_err(|e| StoreError::Decode(e.to_string()))?)
        }
        (_, ValueRef::Integer(_)) => return Err(mismatch("an integer")),
        (_, ValueRef::Real(_)) => return Err(mismatch("a real")),
        (_, ValueRef::Text(_)) => return Err(mismatch("text")),
        (_, ValueRef::Blob(_)) => return Err(mismatch("a blob")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("sqlite:///tmp/a%3Fb.db").unwrap();
        assert_eq!(t.path.as_deref(), Some("/tmp/a?b.db"));
        assert!(parse_url("sqlite::memory:").unwrap().path.is_none());
        assert!(parse_url("sqlite://:memory:").unwrap().path.is_none());
        assert!(parse_url("sqlite://x.db?mode=memory").unwrap().path.is_none());
        assert!(parse_url("sqlite:x.db?mode=ro").unwrap().read_only);
        assert_eq!(parse_url("sqlite:x.db").unwrap().path.as_deref(), Some("x.db"));
        assert!(parse_url("sqlite://x.db?foo=1").is_err());
        assert!(parse_url("sqlite://").is_err());
    }

    fn count(c: &Connection) -> Result<i64> {
        let rows = fetch(c, "SELECT COUNT(*) FROM t", &[], &[ColumnType::Int])?;
        Ok(rows[0][0].as_int().unwrap_or(-1))
    }

    async fn with_table(url: &str) -> Sqlite {
        let db = Sqlite::connect(url, 2, Duration::from_secs(2)).unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute_batch(c, "CREATE TABLE t (x INTEGER)")).await.unwrap();
        tx.commit().await.unwrap();
        db
    }

    #[tokio::test]
    async fn memory_reads_see_the_writers_database() {
        let db = with_table("sqlite::memory:").await;
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute(c, "INSERT INTO t VALUES (?)", &[sea_query::Value::BigInt(Some(1))])).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.read(count).await.unwrap(), 1);
        // A read waits for the transaction in progress, and gives up after the timeout.
        let tx = db.begin().await.unwrap();
        assert!(matches!(db.read(count).await, Err(StoreError::Database(sqlx::Error::PoolTimedOut))));
        drop(tx);
        assert_eq!(db.read(count).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn dropped_transactions_roll_back_and_panics_fail_one_call() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_table(&format!("sqlite://{}/t.db", dir.path().display())).await;
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute(c, "INSERT INTO t VALUES (1)", &[])).await.unwrap();
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute(c, "INSERT INTO t VALUES (2)", &[])).await.unwrap();
        let panicked: Result<()> = tx.run(|_| panic!("in a job")).await;
        assert!(panicked.is_err());
        drop(tx);
        assert_eq!(db.read(count).await.unwrap(), 0);
        for _ in 0..4 {
            let panicked: Result<()> = db.read(|_| panic!("in a read")).await;
            assert!(panicked.is_err());
        }
        assert_eq!(db.read(count).await.unwrap(), 0);
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute(c, "INSERT INTO t VALUES (3)", &[])).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.read(count).await.unwrap(), 1);
        db.close().await;
        assert!(db.read(count).await.is_err());
        assert!(db.begin().await.is_err());
    }

    #[tokio::test]
    async fn unique_violations_are_conflicts() {
        let db = with_table("sqlite::memory:").await;
        let mut tx = db.begin().await.unwrap();
        tx.run(|c| execute_batch(c, "CREATE UNIQUE INDEX ux ON t (x); INSERT INTO t VALUES (1)")).await.unwrap();
        let err = tx.run(|c| execute(c, "INSERT INTO t VALUES (1)", &[])).await;
        assert!(matches!(err, Err(StoreError::Conflict(_))), "{err:?}");
    }
}
