//! The SQLite backend on rusqlite: one writer connection and a few read-only connections, each
//! owned by a thread of its own that runs closures sent to it over a channel. A store call sends
//! all of its statements as one closure, so a read costs one hand-off between threads however
//! many statements it runs (sqlx's driver hands every statement over on its own).
//!
//! The writer takes one transaction at a time: `begin` holds a lock for the transaction's
//! duration and every statement of it is a closure on the writer's thread, in order. An
//! in-memory database has no readers (another connection would open another database): its
//! reads take the writer lock and run on the writer, as sqlx's single shared connection did.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sea_query_rusqlite::RusqliteValue;

use crate::error::{Result, StoreError};
use crate::value::{ColumnType, Value, from_micros};

/// How long a statement waits for another process's lock before failing as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 256;

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

fn open(target: &Target, reader: bool) -> Result<Connection> {
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
    conn.busy_timeout(BUSY_TIMEOUT).map_err(error)?;
    if !reader && !target.read_only {
        // Returns the mode now in force (`memory` for an in-memory database).
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).map_err(error)?;
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA temp_store = memory; \
         PRAGMA cache_size = -32000;",
    )
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

/// The SQLite backend of a store.
pub(crate) struct Sqlite {
    /// `None` for an in-memory database: reads then run on the writer.
    readers: Option<Workers>,
    reader_count: usize,
    writer: Workers,
    /// Held by a transaction (and any other use of the writer) for its duration.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    acquire_timeout: Duration,
    closed: AtomicBool,
}

impl Sqlite {
    pub(crate) fn connect(url: &str, readers: u32, acquire_timeout: Duration) -> Result<Sqlite> {
        let target = parse_url(url)?;
        // The writer first: it creates the file and turns WAL on, which readers need.
        let writer = Workers::start("writer", vec![open(&target, false)?])?;
        let (readers, reader_count) = match target.path {
            None => (None, 0),
            Some(_) => {
                let n = std::cmp::max(readers, 1) as usize;
                let conns = (0..n).map(|_| open(&target, true)).collect::<Result<Vec<_>>>()?;
                (Some(Workers::start("reader", conns)?), n)
            }
        };
        Ok(Sqlite {
            readers,
            reader_count,
            writer,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
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
        let writing = usize::from(self.write_lock.try_lock().is_err());
        let busy = self.readers.as_ref().map_or(0, |r| r.busy.load(Ordering::Relaxed)) + writing;
        (open as u32, open.saturating_sub(busy))
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        Ok(())
    }

    async fn lock_writer(&self) -> Result<tokio::sync::OwnedMutexGuard<()>> {
        self.check_open()?;
        tokio::time::timeout(self.acquire_timeout, self.write_lock.clone().lock_owned())
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
                let _guard = self.lock_writer().await?;
                self.writer.call(move |c| f(c)).await
            }
        }
    }

    /// Runs `f` on the writer outside any transaction (ANALYZE).
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let _guard = self.lock_writer().await?;
        self.writer.call(f).await
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`), holding the writer until it ends.
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let guard = self.lock_writer().await?;
        // Marked open before BEGIN is sent: if this future is dropped while BEGIN runs, the
        // rollback sent on drop still closes what BEGIN opened.
        let mut tx = SqliteTx { jobs: self.writer.jobs.clone(), open: true, _guard: guard };
        match tx.run(|c| c.execute_batch("BEGIN IMMEDIATE").map_err(error)).await {
            Ok(()) => Ok(tx),
            Err(e) => {
                // BEGIN failed: there is nothing to roll back.
                tx.open = false;
                Err(e)
            }
        }
    }

    /// Closes every connection once the transaction in progress, if any, has ended; later calls
    /// fail. Connections also close when the last handle to the store is dropped.
    pub(crate) async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let _guard = tokio::time::timeout(self.acquire_timeout, self.write_lock.clone().lock_owned()).await;
        let mut done = Vec::new();
        let mut stop = |w: &Workers, n: usize| {
            // A thread ends on the stop it takes, so each of the `n` takes one.
            for _ in 0..n {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                if w.jobs.send(Msg::Stop(tx)).is_ok() {
                    done.push(rx);
                }
            }
        };
        if let Some(r) = &self.readers {
            stop(r, self.reader_count);
        }
        stop(&self.writer, 1);
        for rx in done {
            let _ = rx.await;
        }
    }
}

/// A write transaction on the writer connection. Dropped before `commit`, it rolls back.
pub(crate) struct SqliteTx {
    jobs: crossbeam_channel::Sender<Msg>,
    /// Whether a transaction may be open on the writer for this value.
    open: bool,
    /// Dropped after the rollback is queued (fields drop after `drop` runs), so the next
    /// transaction's BEGIN comes after it.
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl SqliteTx {
    /// Runs `f` on the writer, inside this transaction.
    pub(crate) async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Msg::Run(Box::new(move |c: &mut Connection| {
                let _ = reply.send(f(c));
            })))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        self.run(|c| c.execute_batch("COMMIT").map_err(error)).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            let _ = self.jobs.send(Msg::Run(Box::new(|c: &mut Connection| {
                if !c.is_autocommit() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            })));
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
