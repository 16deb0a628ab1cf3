//! The store: connection pools for each backend, reads, and write transactions that append
//! an event for every change.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row as _};

use crate::error::{Result, StoreError};
pub use crate::events::Operation;
use crate::events::RecordedEvent;
use crate::ids::IdBlock;
use crate::query::{Cursor, ListPage, ListQuery, Page, UnionQuery, Visibility};
use crate::schema;
use crate::spec::{EntitySpec, Row};
use crate::sql::{Backend, Builder, bind};
use crate::system::EVENTS;
use crate::value::{ColumnType, Value, from_micros, now};

/// Runs `$body` with `$c` bound to a reading connection of either backend.
macro_rules! with_reader {
    ($store:expr, $c:ident, $body:expr) => {
        match &$store.inner.pools {
            Pools::Sqlite { read, .. } => {
                let mut pooled = read.acquire().await?;
                let mut $c = Conn::Sqlite(&mut pooled);
                $body
            }
            Pools::Postgres(p) => {
                let mut pooled = p.acquire().await?;
                let mut $c = Conn::Postgres(&mut pooled);
                $body
            }
        }
    };
}

/// Gathers SQLite's planner statistics. Without them SQLite reads "deals of contact X, by id" by
/// walking every deal in id order rather than through the contact index (70 ms instead of 0.1 ms
/// at 300,000 deals); with statistics from a small sample it picks the wrong index for the action
/// stream. A full pass costs about 3 s per million contacts. Run at every start (SQLite has no
/// background analyze) and after bulk loads.
const SQLITE_ANALYZE: &str = "PRAGMA analysis_limit = 0; ANALYZE;";

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

enum Pools {
    /// SQLite: one writer connection (WAL allows one writer) and a pool of readers.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

struct Inner {
    pools: Pools,
    ids: IdBlock,
    /// Per entity kind, how many transactions that wrote it this process has committed: caches
    /// of rarely written data (keys, statuses) compare it to know they are still current.
    generations: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Store> {
        let pools = if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Url(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(false)
                .pragma("temp_store", "memory")
                .pragma("cache_size", "-32000");
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(base.clone())
                .await?;
            let read = if url.contains(":memory:") {
                write.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(std::cmp::max(opts.max_connections, 1))
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(base.read_only(true))
                    .await?
            };
            Pools::Sqlite { read, write }
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(std::cmp::max(opts.max_connections, 1))
                .acquire_timeout(opts.acquire_timeout)
                .connect(url)
                .await?;
            Pools::Postgres(pool)
        } else {
            return Err(StoreError::Url(format!("{url} (expected sqlite://… or postgres://…)")));
        };
        Ok(Store { inner: Arc::new(Inner { pools, ids: IdBlock::default(), generations: Default::default() }) })
    }

    pub fn backend(&self) -> Backend {
        match self.inner.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connections open and idle, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        match &self.inner.pools {
            Pools::Sqlite { read, write } => (read.size() + write.size(), read.num_idle() + write.num_idle()),
            Pools::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    /// Fails when the database cannot answer a trivial query.
    pub async fn ping(&self) -> Result<()> {
        match &self.inner.pools {
            Pools::Sqlite { read, .. } => sqlx::query("SELECT 1").execute(read).await.map(drop)?,
            Pools::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// Refreshes the planner's statistics after a bulk load. PostgreSQL plans a fresh table as
    /// if it were empty until autovacuum gets to it, which after a million inserts can make a
    /// semi-join take seconds; SQLite has no statistics until asked (see `SQLITE_ANALYZE`).
    pub async fn analyze(&self) -> Result<()> {
        match &self.inner.pools {
            Pools::Postgres(p) => {
                sqlx::raw_sql("ANALYZE").execute(p).await?;
            }
            Pools::Sqlite { write, .. } => {
                sqlx::raw_sql(SQLITE_ANALYZE).execute(write).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.inner.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(p) => p.close().await,
        }
    }

    /// Brings the schema to the latest version described by `specs` (plus the store's own
    /// tables). Safe to run from several replicas at once. Returns the schema version.
    pub async fn migrate(&self, specs: &[&'static EntitySpec]) -> Result<u32> {
        self.migrate_to(specs, u32::MAX).await
    }

    /// `migrate`, going no further than version `target`: tests make databases as an older
    /// release left them this way.
    #[doc(hidden)]
    pub async fn migrate_to(&self, specs: &[&'static EntitySpec], target: u32) -> Result<u32> {
        let mut all: Vec<&EntitySpec> = crate::system::SPECS.to_vec();
        all.extend_from_slice(specs);
        let latest = std::cmp::min(schema::latest_version(&all), target);
        let backend = self.backend();
        let mut tx = self.begin_raw().await?;
        let mut conn = tx.conn();
        let bigint = if backend == Backend::Sqlite { "INTEGER" } else { "BIGINT" };
        if backend == Backend::Postgres {
            // Replicas starting together migrate one at a time.
            conn.execute_sql("SELECT pg_advisory_xact_lock(4242001)").await?;
        }
        conn.execute_sql(&format!(
            "CREATE TABLE IF NOT EXISTS kith_migrations (version {bigint} PRIMARY KEY, applied_at {bigint} NOT NULL)"
        ))
        .await?;
        let current = conn.fetch_scalar_i64("SELECT COALESCE(MAX(version), 0) FROM kith_migrations").await? as u32;
        for version in current + 1..=latest {
            for stmt in schema::migration(backend, version, &all) {
                conn.execute_sql(&stmt)
                    .await
                    .map_err(|e| StoreError::Migration(format!("version {version}: {e}: {stmt}")))?;
            }
            conn.execute_sql(&format!(
                "INSERT INTO kith_migrations (version, applied_at) VALUES ({version}, {})",
                now().timestamp()
            ))
            .await?;
        }
        for stmt in schema::ensure_indexes(&all, latest) {
            conn.execute_sql(&stmt).await.map_err(|e| StoreError::Migration(format!("{e}: {stmt}")))?;
        }
        if backend == Backend::Sqlite {
            conn.execute_sql(SQLITE_ANALYZE).await?;
        }
        tx.commit().await?;
        Ok(std::cmp::max(latest, current))
    }

    pub(crate) async fn begin_raw(&self) -> Result<TxInner> {
        Ok(match &self.inner.pools {
            Pools::Sqlite { write, .. } => TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(p) => TxInner::Postgres(p.begin().await?),
        })
    }

    /// A number that changes whenever this process commits a write to any of `kinds`. Caches of
    /// such data keep it beside what they hold and drop the entry when it moved.
    pub fn generation(&self, kinds: &[&str]) -> u64 {
        let g = self.inner.generations.lock().unwrap_or_else(|p| p.into_inner());
        kinds.iter().map(|k| g.get(k).copied().unwrap_or(0)).sum()
    }

    /// Starts a write transaction for one account; `actor` is the user making the change.
    pub async fn begin(&self, account_id: i64, actor: Option<i64>) -> Result<Tx> {
        Ok(Tx {
            account_id,
            actor,
            inner: self.begin_raw().await?,
            store: self.clone(),
            touched: Vec::new(),
            events: Vec::new(),
        })
    }

    /// Whether some webhook delivery is due, read without taking the write lock (SQLite has one
    /// writer; an idle sender should not take it at every poll).
    pub(crate) async fn deliveries_due(&self, at: Value) -> Result<bool> {
        let t = bind(self.backend(), ColumnType::Time, &at)?;
        let sql = "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1";
        let rows = with_reader!(self, c, c.fetch_raw(sql, vec![t.clone()], &[ColumnType::Int]).await)?;
        Ok(!rows.is_empty())
    }

    /// A hand-written query on a reading connection (see `Conn::fetch_raw`).
    pub(crate) async fn fetch_raw(
        &self,
        sql: &str,
        values: Vec<sea_query::Value>,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        with_reader!(self, c, c.fetch_raw(sql, values, types).await)
    }

    /// Whether any account exists (a fresh database has none). The one read that spans
    /// accounts, used only at start-up.
    pub async fn has_accounts(&self) -> Result<bool> {
        let n =
            with_reader!(self, c, c.fetch_scalar_i64("SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) a").await)?;
        Ok(n > 0)
    }

    pub async fn get(&self, account_id: i64, spec: &EntitySpec, id: i64, vis: Visibility) -> Result<Option<Row>> {
        let b = Builder { backend: self.backend(), account_id };
        with_reader!(self, c, c.get(&b, spec, id, vis).await)
    }

    pub async fn list(&self, account_id: i64, spec: &EntitySpec, q: &ListQuery) -> Result<ListPage<Row>> {
        let b = Builder { backend: self.backend(), account_id };
        with_reader!(self, c, c.list(&b, spec, q).await)
    }

    /// Of the rows `q` matches, the first of each value of `column` in `q`'s order (one per
    /// contact: a contact's first action), listed, paged and counted as `q` says.
    pub async fn list_first_per(
        &self,
        account_id: i64,
        spec: &EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<ListPage<Row>> {
        let b = Builder { backend: self.backend(), account_id };
        with_reader!(self, c, c.list_first_per(&b, spec, column, q).await)
    }

    /// One page of a listing over several entities: the branch index and id of each row.
    pub async fn list_union(&self, account_id: i64, u: &UnionQuery) -> Result<ListPage<(usize, i64)>> {
        let b = Builder { backend: self.backend(), account_id };
        with_reader!(self, c, c.list_union(&b, u).await)
    }

    /// Fills `column`, which a migration added with `empty` in every row, with a value derived
    /// from each row, on every row of every account (soft-deleted ones too) that still holds
    /// `empty`. Records no event and leaves `updated_at` alone: what the rows say has not
    /// changed. Safe to run again and from several replicas at once. Returns the rows filled.
    pub async fn fill_column(
        &self,
        spec: &EntitySpec,
        column: &str,
        empty: Value,
        derive: impl Fn(&Row) -> std::result::Result<Value, String>,
    ) -> Result<u64> {
        const BATCH: u64 = 500;
        let backend = self.backend();
        let ty = spec.column(column).map(|c| c.ty).ok_or_else(|| StoreError::Query(format!("no column {column}")))?;
        let mut filled = 0;
        loop {
            let mut q = Query::select();
            q.column((Alias::new("t0"), Alias::new("account_id")));
            for (name, _) in spec.select_columns() {
                q.column((Alias::new("t0"), Alias::new(name)));
            }
            q.from_as(Alias::new(spec.table), Alias::new("t0"))
                .and_where(Expr::col((Alias::new("t0"), Alias::new(column))).eq(Expr::val(bind(backend, ty, &empty)?)))
                .order_by((Alias::new("t0"), Alias::new("account_id")), sea_query::Order::Asc)
                .order_by((Alias::new("t0"), Alias::new("id")), sea_query::Order::Asc)
                .limit(BATCH);
            let mut types = vec![ColumnType::Int];
            types.extend(spec.select_columns().iter().map(|(_, t)| *t));
            let mut tx = self.begin_raw().await?;
            let rows = tx.conn().fetch(&q, &types).await?;
            let n = rows.len() as u64;
            for mut vals in rows {
                let account = vals.remove(0).as_int().unwrap_or_default();
                let row = decode_row(spec, vals)?;
                let value = derive(&row).map_err(|e| StoreError::Decode(format!("{} {}: {e}", spec.kind, row.id)))?;
                if value == empty {
                    return Err(StoreError::Query(format!("{column} of {} {} derives as empty", spec.kind, row.id)));
                }
                let mut stmt = Query::update();
                stmt.table(Alias::new(spec.table))
                    .value(Alias::new(column), Expr::val(bind(backend, ty, &value)?))
                    .and_where(Expr::col(Alias::new("account_id")).eq(account))
                    .and_where(Expr::col(Alias::new("id")).eq(row.id));
                tx.conn().execute(&stmt).await?;
            }
            tx.commit().await?;
            filled += n;
            if n < BATCH {
                return Ok(filled);
            }
        }
    }

    /// The ids of the live rows matching `filter`, in no particular order: for sets too large
    /// to read whole rows of.
    pub async fn list_ids(
        &self,
        account_id: i64,
        spec: &EntitySpec,
        filter: Option<&crate::query::Filter>,
    ) -> Result<Vec<i64>> {
        let b = Builder { backend: self.backend(), account_id };
        let stmt = b.ids(spec, filter)?;
        let rows = with_reader!(self, c, c.fetch(&stmt, &[ColumnType::Int]).await)?;
        Ok(rows.into_iter().filter_map(|r| r.first().and_then(Value::as_int)).collect())
    }

    /// How many rows a query matches, ignoring its page.
    pub async fn count(&self, account_id: i64, spec: &EntitySpec, q: &ListQuery) -> Result<u64> {
        let b = Builder { backend: self.backend(), account_id };
        let stmt = b.count(spec, q)?;
        let rows = with_reader!(self, c, c.fetch(&stmt, &[ColumnType::Int]).await)?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_int).unwrap_or(0) as u64)
    }

    /// A number that changes whenever this process commits any write.
    pub fn generation_all(&self) -> u64 {
        let g = self.inner.generations.lock().unwrap_or_else(|p| p.into_inner());
        g.values().sum()
    }

    /// How many live rows matching `filter` carry each value of the integer `column`
    /// (values with no rows are absent).
    pub async fn count_by(
        &self,
        account_id: i64,
        spec: &EntitySpec,
        column: &str,
        filter: &crate::query::Filter,
    ) -> Result<std::collections::HashMap<i64, u64>> {
        let b = Builder { backend: self.backend(), account_id };
        let stmt = b.count_by(spec, column, filter)?;
        let rows = with_reader!(self, c, c.fetch(&stmt, &[ColumnType::Int, ColumnType::Int]).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.first()?.as_int()?, r.get(1)?.as_int().unwrap_or(0) as u64)))
            .collect())
    }

    /// Reads rows of one spec by id (missing ids are skipped), in no particular order.
    pub async fn get_many(&self, account_id: i64, spec: &EntitySpec, ids: &[i64]) -> Result<Vec<Row>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = ListQuery::all().filter(crate::query::Filter::In {
            field: crate::query::Field::col("id"),
            values: ids.iter().map(|i| Value::Int(*i)).collect(),
        });
        Ok(self.list(account_id, spec, &q).await?.rows)
    }

    /// Looks up one row of a spec by a unique column across all accounts. Only for resolving
    /// credentials, before an account is known.
    pub async fn find_unscoped(&self, spec: &EntitySpec, column: &str, value: Value) -> Result<Option<(i64, Row)>> {
        let backend = self.backend();
        let ty = spec.column_type(column).ok_or_else(|| StoreError::Query(format!("no column {column}")))?;
        let mut q = Query::select();
        q.column((Alias::new("t0"), Alias::new("account_id")));
        for (name, _) in spec.select_columns() {
            q.column((Alias::new("t0"), Alias::new(name)));
        }
        q.from_as(Alias::new(spec.table), Alias::new("t0"))
            .and_where(Expr::col((Alias::new("t0"), Alias::new(column))).eq(Expr::val(bind(backend, ty, &value)?)))
            .limit(1);
        let mut types = vec![ColumnType::Int];
        types.extend(spec.select_columns().iter().map(|(_, t)| *t));
        let rows = with_reader!(self, c, c.fetch(&q, &types).await)?;
        rows.into_iter()
            .next()
            .map(|mut vals| {
                let account = vals.remove(0).as_int().unwrap_or_default();
                Ok((account, decode_row(spec, vals)?))
            })
            .transpose()
    }
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl TxInner {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            TxInner::Sqlite(t) => Conn::Sqlite(t),
            TxInner::Postgres(t) => Conn::Postgres(t),
        }
    }
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// A write transaction scoped to one account. Dropped without `commit`, it rolls back.
pub struct Tx {
    account_id: i64,
    actor: Option<i64>,
    inner: TxInner,
    store: Store,
    /// Entity kinds this transaction wrote.
    touched: Vec<&'static str>,
    /// Events this transaction recorded, fanned out to webhooks at commit.
    pub(crate) events: Vec<RecordedEvent>,
}

impl Tx {
    pub fn account_id(&self) -> i64 {
        self.account_id
    }
    pub fn actor(&self) -> Option<i64> {
        self.actor
    }
    pub(crate) fn backend(&self) -> Backend {
        self.store.backend()
    }
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        self.inner.conn()
    }
    fn builder(&self) -> Builder {
        Builder { backend: self.store.backend(), account_id: self.account_id }
    }

    pub async fn commit(mut self) -> Result<()> {
        self.fan_out().await?;
        self.inner.commit().await?;
        if !self.touched.is_empty() {
            let mut g = self.store.inner.generations.lock().unwrap_or_else(|p| p.into_inner());
            for kind in self.touched {
                *g.entry(kind).or_default() += 1;
            }
        }
        Ok(())
    }

    fn touch(&mut self, spec: &'static EntitySpec) {
        if !self.touched.contains(&spec.kind) {
            self.touched.push(spec.kind);
        }
    }

    /// A new id, unique across the database.
    pub async fn next_id(&mut self) -> Result<i64> {
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                let id: i64 = sqlx::query_scalar(
                    "UPDATE kith_ids SET next_id = next_id + 1 WHERE name = 'global' RETURNING next_id - 1",
                )
                .fetch_one(&mut **t)
                .await?;
                Ok(id)
            }
            TxInner::Postgres(t) => {
                if let Some(id) = self.store.inner.ids.take() {
                    return Ok(id);
                }
                let start: i64 = sqlx::query_scalar("SELECT nextval('kith_id_seq')").fetch_one(&mut **t).await?;
                Ok(self.store.inner.ids.refill(start))
            }
        }
    }

    pub async fn get(&mut self, spec: &EntitySpec, id: i64, vis: Visibility) -> Result<Option<Row>> {
        let b = self.builder();
        self.inner.conn().get(&b, spec, id, vis).await
    }

    pub async fn list(&mut self, spec: &EntitySpec, q: &ListQuery) -> Result<ListPage<Row>> {
        let b = self.builder();
        self.inner.conn().list(&b, spec, q).await
    }

    /// Reserves `n` new ids, unique across the database. On PostgreSQL they come in blocks and
    /// need not be contiguous.
    pub async fn next_ids(&mut self, n: usize) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(n);
        if n == 0 {
            return Ok(ids);
        }
        match &mut self.inner {
            TxInner::Sqlite(t) => {
                let start: i64 = sqlx::query_scalar(
                    "UPDATE kith_ids SET next_id = next_id + ?1 WHERE name = 'global' RETURNING next_id - ?1",
                )
                .bind(n as i64)
                .fetch_one(&mut **t)
                .await?;
                ids.extend(start..start + n as i64);
            }
            TxInner::Postgres(t) => {
                while ids.len() < n {
                    match self.store.inner.ids.take() {
                        Some(id) => ids.push(id),
                        None => break,
                    }
                }
                let missing = n - ids.len();
                if missing > 0 {
                    let blocks = missing.div_ceil(crate::ids::PG_BLOCK as usize) as i64;
                    let starts: Vec<i64> =
                        sqlx::query_scalar("SELECT nextval('kith_id_seq') FROM generate_series(1, $1)")
                            .bind(blocks)
                            .fetch_all(&mut **t)
                            .await?;
                    for start in starts {
                        let end = start + crate::ids::PG_BLOCK;
                        let take = (n - ids.len()).min(crate::ids::PG_BLOCK as usize) as i64;
                        ids.extend(start..start + take);
                        if start + take < end {
                            // Keep the rest of the last block for later inserts.
                            self.store.inner.ids.install(start + take, end);
                        }
                    }
                }
            }
        }
        Ok(ids)
    }

    /// Inserts many rows with new ids in few statements, recording a `created` event for each;
    /// each row's `values` follow `spec.columns`. Returns the ids in the order of `rows`.
    /// For bulk loads: the result is the same as one `insert` per row.
    pub async fn insert_many(&mut self, spec: &'static EntitySpec, rows: Vec<Vec<Value>>) -> Result<Vec<i64>> {
        self.touch(spec);
        let ids = self.next_ids(rows.len()).await?;
        let event_ids = self.next_ids(rows.len()).await?;
        let events: Vec<(i64, Vec<Value>)> = rows
            .iter()
            .zip(&ids)
            .zip(event_ids)
            .map(|((values, id), event_id)| {
                let changed: Vec<&str> =
                    spec.columns.iter().zip(values).filter(|(_, v)| !v.is_null()).map(|(c, _)| c.name).collect();
                let event = vec![
                    Value::Text(spec.kind.to_owned()),
                    Value::Int(*id),
                    Value::Text(Operation::Created.as_str().to_owned()),
                    self.actor.map_or(Value::Null, Value::Int),
                    Value::Json(serde_json::json!(changed)),
                ];
                (event_id, event)
            })
            .collect();
        self.events.extend(ids.iter().zip(&events).map(|(id, (event_id, _))| RecordedEvent {
            id: *event_id,
            kind: spec.kind,
            entity_id: *id,
            operation: Operation::Created,
        }));
        self.insert_rows(spec, ids.iter().copied().zip(rows).collect()).await?;
        self.insert_rows(&EVENTS, events).await?;
        Ok(ids)
    }

    /// Multi-row INSERTs, sized to stay under both backends' limits on bound parameters.
    pub(crate) async fn insert_rows(&mut self, spec: &EntitySpec, rows: Vec<(i64, Vec<Value>)>) -> Result<()> {
        const MAX_PARAMS: usize = 30_000;
        let width = 4 + spec.columns.len();
        let per_statement = (MAX_PARAMS / width).clamp(1, 1000);
        let backend = self.store.backend();
        let t = bind(backend, ColumnType::Time, &Value::Time(now()))?;
        let account = bind(backend, ColumnType::Int, &Value::Int(self.account_id))?;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut stmt = Query::insert();
            stmt.into_table(Alias::new(spec.table)).columns(
                ["account_id", "id", "created_at", "updated_at"]
                    .into_iter()
                    .chain(spec.columns.iter().map(|c| c.name))
                    .map(Alias::new),
            );
            for (id, values) in rows.by_ref().take(per_statement) {
                check_width(spec, &values)?;
                let mut vals =
                    vec![account.clone(), bind(backend, ColumnType::Int, &Value::Int(id))?, t.clone(), t.clone()];
                for (c, v) in spec.columns.iter().zip(&values) {
                    vals.push(bind(backend, c.ty, v)?);
                }
                stmt.values(vals.into_iter().map(Expr::val)).map_err(|e| StoreError::Query(e.to_string()))?;
            }
            self.inner.conn().execute(&stmt).await?;
        }
        Ok(())
    }

    /// Inserts a row with a new id; `values` follow `spec.columns`.
    pub async fn insert(&mut self, spec: &'static EntitySpec, values: Vec<Value>) -> Result<Row> {
        let id = self.next_id().await?;
        self.insert_with_id(spec, id, values).await
    }

    /// Inserts a row whose id was taken beforehand with `next_id`.
    pub async fn insert_with_id(&mut self, spec: &'static EntitySpec, id: i64, values: Vec<Value>) -> Result<Row> {
        self.touch(spec);
        let row = self.insert_quiet(spec, id, values).await?;
        let changed: Vec<&str> =
            spec.columns.iter().zip(&row.values).filter(|(_, v)| !v.is_null()).map(|(c, _)| c.name).collect();
        self.record(spec.kind, id, Operation::Created, &changed).await?;
        Ok(row)
    }

    /// Inserts without an event (the event log itself, system rows).
    async fn insert_quiet(&mut self, spec: &EntitySpec, id: i64, values: Vec<Value>) -> Result<Row> {
        check_width(spec, &values)?;
        let backend = self.store.backend();
        let t = now();
        let mut cols =
            vec![Alias::new("account_id"), Alias::new("id"), Alias::new("created_at"), Alias::new("updated_at")];
        let mut vals = vec![
            bind(backend, ColumnType::Int, &Value::Int(self.account_id))?,
            bind(backend, ColumnType::Int, &Value::Int(id))?,
            bind(backend, ColumnType::Time, &Value::Time(t))?,
            bind(backend, ColumnType::Time, &Value::Time(t))?,
        ];
        for (c, v) in spec.columns.iter().zip(&values) {
            cols.push(Alias::new(c.name));
            vals.push(bind(backend, c.ty, v)?);
        }
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new(spec.table))
            .columns(cols)
            .values(vals.into_iter().map(Expr::val))
            .map_err(|e| StoreError::Query(e.to_string()))?;
        self.inner.conn().execute(&stmt).await?;
        Ok(Row { id, created_at: t, updated_at: t, deleted_at: None, values })
    }

    /// Sets the given columns of a live row. Returns the row after the change, or `None`
    /// when no live row has that id. Only columns whose value changes are written; a change
    /// that changes nothing writes nothing and records no event.
    pub async fn update(
        &mut self,
        spec: &'static EntitySpec,
        id: i64,
        changes: &[(&str, Value)],
    ) -> Result<Option<Row>> {
        let Some(mut row) = self.get(spec, id, Visibility::Live).await? else {
            return Ok(None);
        };
        let backend = self.store.backend();
        let mut stmt = Query::update();
        let mut changed = Vec::new();
        for (name, v) in changes {
            let pos =
                spec.position(name).ok_or_else(|| StoreError::Query(format!("{} has no field {name}", spec.kind)))?;
            if row.values[pos] != *v {
                stmt.value(Alias::new(spec.columns[pos].name), Expr::val(bind(backend, spec.columns[pos].ty, v)?));
                row.values[pos] = v.clone();
                changed.push(spec.columns[pos].name);
            }
        }
        if changed.is_empty() {
            return Ok(Some(row));
        }
        self.touch(spec);
        let t = now();
        stmt.table(Alias::new(spec.table))
            .value(Alias::new("updated_at"), Expr::val(bind(backend, ColumnType::Time, &Value::Time(t))?))
            .and_where(Expr::col(Alias::new("account_id")).eq(self.account_id))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        self.inner.conn().execute(&stmt).await?;
        row.updated_at = t;
        self.record(spec.kind, id, Operation::Updated, &changed).await?;
        Ok(Some(row))
    }

    /// Marks a live row deleted (or deletes it outright when the spec has no soft delete).
    pub async fn delete(&mut self, spec: &'static EntitySpec, id: i64) -> Result<bool> {
        let backend = self.store.backend();
        let n = if spec.soft_delete {
            let t = bind(backend, ColumnType::Time, &Value::Time(now()))?;
            let mut stmt = Query::update();
            stmt.table(Alias::new(spec.table))
                .value(Alias::new("deleted_at"), Expr::val(t.clone()))
                .value(Alias::new("updated_at"), Expr::val(t))
                .and_where(Expr::col(Alias::new("account_id")).eq(self.account_id))
                .and_where(Expr::col(Alias::new("id")).eq(id))
                .and_where(Expr::col(Alias::new("deleted_at")).is_null());
            self.inner.conn().execute(&stmt).await?
        } else {
            let mut stmt = Query::delete();
            stmt.from_table(Alias::new(spec.table))
                .and_where(Expr::col(Alias::new("account_id")).eq(self.account_id))
                .and_where(Expr::col(Alias::new("id")).eq(id));
            self.inner.conn().execute(&stmt).await?
        };
        if n > 0 {
            self.touch(spec);
            self.record(spec.kind, id, Operation::Deleted, &[]).await?;
        }
        Ok(n > 0)
    }

    /// Brings a soft-deleted row back. `false` when there is no deleted row with that id.
    pub async fn restore(&mut self, spec: &'static EntitySpec, id: i64) -> Result<bool> {
        if !spec.soft_delete {
            return Ok(false);
        }
        let backend = self.store.backend();
        let mut stmt = Query::update();
        stmt.table(Alias::new(spec.table))
            .value(Alias::new("deleted_at"), Expr::val(bind(backend, ColumnType::Time, &Value::Null)?))
            .value(Alias::new("updated_at"), Expr::val(bind(backend, ColumnType::Time, &Value::Time(now()))?))
            .and_where(Expr::col(Alias::new("account_id")).eq(self.account_id))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .and_where(Expr::col(Alias::new("deleted_at")).is_not_null());
        let n = self.inner.conn().execute(&stmt).await?;
        if n > 0 {
            self.touch(spec);
            self.record(spec.kind, id, Operation::Restored, &[]).await?;
        }
        Ok(n > 0)
    }

    /// Appends to the event log, in this transaction.
    pub async fn record(&mut self, kind: &'static str, entity_id: i64, op: Operation, changed: &[&str]) -> Result<()> {
        let id = self.next_id().await?;
        self.events.push(RecordedEvent { id, kind, entity_id, operation: op });
        let values = vec![
            Value::Text(kind.to_owned()),
            Value::Int(entity_id),
            Value::Text(op.as_str().to_owned()),
            self.actor.map_or(Value::Null, Value::Int),
            Value::Json(serde_json::json!(changed)),
        ];
        self.insert_quiet(&EVENTS, id, values).await.map(drop)
    }
}

/// A row's values must match the spec's columns one for one.
fn check_width(spec: &EntitySpec, values: &[Value]) -> Result<()> {
    if values.len() != spec.columns.len() {
        return Err(StoreError::Query(format!(
            "{}: {} values for {} columns",
            spec.kind,
            values.len(),
            spec.columns.len()
        )));
    }
    Ok(())
}

/// One connection of either backend; all statements go through here.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    async fn execute_sql(&mut self, sql: &str) -> Result<()> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(&mut **c).await.map(drop)?,
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(&mut **c).await.map(drop)?,
        }
        Ok(())
    }

    async fn fetch_scalar_i64(&mut self, sql: &'static str) -> Result<i64> {
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(&mut **c).await?,
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(&mut **c).await?,
        })
    }

    /// A hand-written statement (`?` placeholders, numbered for PostgreSQL) with bound values.
    pub(crate) async fn execute_raw(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<u64> {
        let values = sea_query_sqlx::SqlxValues(sea_query::Values(values));
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query_with(AssertSqlSafe(sql.to_owned()), values)
                .execute(&mut **c)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected(),
            Conn::Postgres(c) => sqlx::query_with(AssertSqlSafe(numbered(sql)), values)
                .execute(&mut **c)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected(),
        })
    }

    /// A hand-written query; each row decoded as `types`.
    pub(crate) async fn fetch_raw(
        &mut self,
        sql: &str,
        values: Vec<sea_query::Value>,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        let values = sea_query_sqlx::SqlxValues(sea_query::Values(values));
        match self {
            Conn::Sqlite(c) => {
                let rows = sqlx::query_with(AssertSqlSafe(sql.to_owned()), values).fetch_all(&mut **c).await?;
                rows.iter().map(|r| decode_sqlite(r, types)).collect()
            }
            Conn::Postgres(c) => {
                let rows = sqlx::query_with(AssertSqlSafe(numbered(sql)), values).fetch_all(&mut **c).await?;
                rows.iter().map(|r| decode_pg(r, types)).collect()
            }
        }
    }

    async fn execute<S: SqlxBinder>(&mut self, stmt: &S) -> Result<u64> {
        match self {
            Conn::Sqlite(c) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                let r = sqlx::query_with(AssertSqlSafe(sql), values).execute(&mut **c).await;
                Ok(r.map_err(StoreError::from_sqlx)?.rows_affected())
            }
            Conn::Postgres(c) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                let r = sqlx::query_with(AssertSqlSafe(sql), values).execute(&mut **c).await;
                Ok(r.map_err(StoreError::from_sqlx)?.rows_affected())
            }
        }
    }

    async fn fetch<S: SqlxBinder>(&mut self, stmt: &S, types: &[ColumnType]) -> Result<Vec<Vec<Value>>> {
        match self {
            Conn::Sqlite(c) => {
                let (sql, values) = stmt.build_sqlx(SqliteQueryBuilder);
                let rows = sqlx::query_with(AssertSqlSafe(sql), values).fetch_all(&mut **c).await?;
                rows.iter().map(|r| decode_sqlite(r, types)).collect()
            }
            Conn::Postgres(c) => {
                let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
                let rows = sqlx::query_with(AssertSqlSafe(sql), values).fetch_all(&mut **c).await?;
                rows.iter().map(|r| decode_pg(r, types)).collect()
            }
        }
    }

    async fn get(&mut self, b: &Builder, spec: &EntitySpec, id: i64, vis: Visibility) -> Result<Option<Row>> {
        let mut stmt = b.select(spec, vis);
        stmt.and_where(Expr::col((Alias::new("t0"), Alias::new("id"))).eq(id)).limit(1);
        let types: Vec<ColumnType> = spec.select_columns().iter().map(|(_, t)| *t).collect();
        let rows = self.fetch(&stmt, &types).await?;
        rows.into_iter().next().map(|vals| decode_row(spec, vals)).transpose()
    }

    async fn list(&mut self, b: &Builder, spec: &EntitySpec, q: &ListQuery) -> Result<ListPage<Row>> {
        let (stmt, key_types) = b.list(spec, q)?;
        let count = if q.with_total { Some(b.count(spec, q)?) } else { None };
        self.page(spec, q, &stmt, key_types, count).await
    }

    async fn list_first_per(
        &mut self,
        b: &Builder,
        spec: &EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<ListPage<Row>> {
        let (stmt, key_types) = b.first_per(spec, column, q)?;
        let count = if q.with_total { Some(b.count_first_per(spec, column, q)?) } else { None };
        self.page(spec, q, &stmt, key_types, count).await
    }

    /// Runs a page query of `q` (rows of `spec`, then the sort keys) and, when given, its count.
    async fn page(
        &mut self,
        spec: &EntitySpec,
        q: &ListQuery,
        stmt: &sea_query::SelectStatement,
        key_types: Vec<ColumnType>,
        count: Option<sea_query::SelectStatement>,
    ) -> Result<ListPage<Row>> {
        let mut types: Vec<ColumnType> = spec.select_columns().iter().map(|(_, t)| *t).collect();
        let width = types.len();
        types.extend(key_types);
        let limit = match &q.page {
            Page::Offset { limit, .. } | Page::After { limit, .. } => *limit as usize,
        };
        let mut raw = self.fetch(stmt, &types).await?;
        let more = raw.len() > limit;
        raw.truncate(limit);
        let mut rows = Vec::with_capacity(raw.len());
        let mut last_keys = None;
        for mut vals in raw {
            last_keys = Some(vals.split_off(width));
            rows.push(decode_row(spec, vals)?);
        }
        let next = match (&q.page, more, rows.last(), last_keys) {
            (Page::After { .. }, true, Some(last), Some(keys)) => Some(Cursor { keys, id: last.id }),
            _ => None,
        };
        let total = match count {
            Some(count) => {
                let n = self.fetch(&count, &[ColumnType::Int]).await?;
                Some(n.first().and_then(|r| r.first()).and_then(Value::as_int).unwrap_or(0) as u64)
            }
            None => None,
        };
        Ok(ListPage { rows, total, next })
    }

    async fn list_union(&mut self, b: &Builder, u: &UnionQuery) -> Result<ListPage<(usize, i64)>> {
        if u.branches.is_empty() {
            return Ok(ListPage { rows: Vec::new(), total: u.with_total.then_some(0), next: None });
        }
        let (stmt, count) = b.union(u)?;
        let mut raw = self.fetch(&stmt, &[ColumnType::Int, ColumnType::Int]).await?;
        raw.truncate(usize::try_from(u.limit).unwrap_or(usize::MAX));
        let rows = raw
            .into_iter()
            .map(|r| match (r.first().and_then(Value::as_int), r.get(1).and_then(Value::as_int)) {
                (Some(branch), Some(id)) => Ok((branch as usize, id)),
                _ => Err(StoreError::Decode("union row".into())),
            })
            .collect::<Result<Vec<_>>>()?;
        let total = if u.with_total {
            let n = self.fetch(&count, &[ColumnType::Int]).await?;
            Some(n.first().and_then(|r| r.first()).and_then(Value::as_int).unwrap_or(0) as u64)
        } else {
            None
        };
        Ok(ListPage { rows, total, next: None })
    }
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (hand-written statements hold no `?` otherwise).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

fn decode_row(spec: &EntitySpec, mut vals: Vec<Value>) -> Result<Row> {
    let fixed = if spec.soft_delete { 4 } else { 3 };
    if vals.len() < fixed {
        return Err(StoreError::Decode(format!("{}: short row", spec.kind)));
    }
    let values = vals.split_off(fixed);
    let mut it = vals.into_iter();
    let id = it.next().and_then(|v| v.as_int()).ok_or_else(|| StoreError::Decode("id".into()))?;
    let time = |v: Option<Value>| match v {
        Some(Value::Time(t)) => Ok(Some(t)),
        Some(Value::Null) | None => Ok(None),
        Some(other) => Err(StoreError::Decode(format!("expected time, found {other:?}"))),
    };
    let created_at = time(it.next())?.ok_or_else(|| StoreError::Decode("created_at".into()))?;
    let updated_at = time(it.next())?.ok_or_else(|| StoreError::Decode("updated_at".into()))?;
    let deleted_at = if spec.soft_delete { time(it.next())? } else { None };
    Ok(Row { id, created_at, updated_at, deleted_at, values })
}

fn decode_sqlite(row: &SqliteRow, types: &[ColumnType]) -> Result<Vec<Value>> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
                ColumnType::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
                ColumnType::Float => row.try_get::<Option<f64>, _>(i)?.map_or(Value::Null, Value::Float),
                ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
                ColumnType::Time => {
                    row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, |us| Value::Time(from_micros(us)))
                }
                ColumnType::Json => match row.try_get::<Option<String>, _>(i)? {
                    None => Value::Null,
                    Some(s) => Value::Json(serde_json::from_str(&s).map_err(|e| StoreError::Decode(e.to_string()))?),
                },
            })
        })
        .collect()
}

fn decode_pg(row: &PgRow, types: &[ColumnType]) -> Result<Vec<Value>> {
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            Ok(match ty {
                ColumnType::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
                ColumnType::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
                ColumnType::Float => row.try_get::<Option<f64>, _>(i)?.map_or(Value::Null, Value::Float),
                ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
                ColumnType::Time => {
                    row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?.map_or(Value::Null, Value::Time)
                }
                ColumnType::Json => row.try_get::<Option<serde_json::Value>, _>(i)?.map_or(Value::Null, Value::Json),
            })
        })
        .collect()
}
