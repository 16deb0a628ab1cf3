//! The store: connection pools for each backend, reads, and write transactions that append
//! an event for every change.

use std::sync::Arc;
use std::time::Duration;

use sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, Query, QueryStatementWriter, SqliteQueryBuilder};
use sea_query_sqlx::SqlxValues;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Row as _};

use crate::error::{Result, StoreError};
pub use crate::events::Operation;
use crate::events::RecordedEvent;
use crate::ids::IdBlock;
use crate::query::{Cursor, ListPage, ListQuery, Page, UnionQuery, Visibility};
use crate::schema;
use crate::spec::{EntitySpec, Row};
use crate::sql::{Backend, Builder, bind};
use crate::sqlite::{self, Sqlite, SqliteTx};
use crate::system::EVENTS;
use crate::value::{ColumnType, Value, now};

/// Gathers SQLite's planner statistics. Without them SQLite reads "deals of contact X, by id" by
/// walking every deal in id order rather than through the contact index (70 ms instead of 0.1 ms
/// at 300,000 deals); with statistics from a small sample it picks the wrong index for the action
/// stream. A full pass costs about 3 s per million contacts. Run at every start (SQLite has no
/// background analyze) and after bulk loads.
const SQLITE_ANALYZE: &str = "PRAGMA analysis_limit = 0; ANALYZE;";
/// Hands back the pages ANALYZE read through the writer's cache (every index, once), which an
/// idle server would otherwise keep.
const SQLITE_SHRINK: &str = "PRAGMA shrink_memory;";

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
    /// SQLite: one writer connection (WAL allows one writer) and a few readers.
    Sqlite(Sqlite),
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
            Pools::Sqlite(Sqlite::connect(url, opts.max_connections, opts.acquire_timeout)?)
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

    /// The SQLite database underneath, if that is the backend (for backups).
    pub(crate) fn sqlite(&self) -> Option<&crate::sqlite::Sqlite> {
        match &self.inner.pools {
            Pools::Sqlite(db) => Some(db),
            Pools::Postgres(_) => None,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.inner.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Connections open and idle, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        match &self.inner.pools {
            Pools::Sqlite(db) => db.stats(),
            Pools::Postgres(p) => (p.size(), p.num_idle()),
        }
    }

    /// Fails when the database cannot answer a trivial query.
    pub async fn ping(&self) -> Result<()> {
        match &self.inner.pools {
            Pools::Sqlite(db) => db.read(|c| sqlite::fetch(c, "SELECT 1", &[], &[ColumnType::Int])).await.map(drop)?,
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
            Pools::Sqlite(db) => {
                db.write(|c| sqlite::execute_batch(c, SQLITE_ANALYZE)).await?;
                db.write(|c| sqlite::execute_batch(c, SQLITE_SHRINK)).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.inner.pools {
            Pools::Sqlite(db) => db.close().await,
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
        if let Pools::Sqlite(db) = &self.inner.pools {
            db.write(|c| sqlite::execute_batch(c, SQLITE_SHRINK)).await?;
        }
        Ok(std::cmp::max(latest, current))
    }

    pub(crate) async fn begin_raw(&self) -> Result<TxInner> {
        Ok(match &self.inner.pools {
            Pools::Sqlite(db) => TxInner::Sqlite(db.begin().await?),
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
        let rows = self.fetch_raw(sql, vec![t], &[ColumnType::Int]).await?;
        Ok(!rows.is_empty())
    }

    /// A hand-written query on a reading connection (see `Conn::fetch_raw`).
    pub(crate) async fn fetch_raw(
        &self,
        sql: &str,
        values: Vec<sea_query::Value>,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        let f = Fetch::raw(self.backend(), sql, values, types.to_vec());
        Ok(self.read(vec![f]).await?.pop().unwrap_or_default())
    }

    /// Runs queries on one reading connection, in order: on SQLite in one hand-off to a reader
    /// thread. One result (rows of values) per query.
    async fn read(&self, fetches: Vec<Fetch>) -> Result<Vec<Vec<Vec<Value>>>> {
        match &self.inner.pools {
            Pools::Sqlite(db) => db.read(move |c| fetches.iter().map(|f| f.run_sqlite(c)).collect()).await,
            Pools::Postgres(p) => {
                let mut conn = p.acquire().await?;
                let mut out = Vec::with_capacity(fetches.len());
                for f in fetches {
                    out.push(f.run_pg(&mut conn).await?);
                }
                Ok(out)
            }
        }
    }

    /// Runs one query on a reading connection.
    async fn read_one(&self, f: Fetch) -> Result<Vec<Vec<Value>>> {
        Ok(self.read(vec![f]).await?.pop().unwrap_or_default())
    }

    /// Whether any account exists (a fresh database has none). The one read that spans
    /// accounts, used only at start-up.
    pub async fn has_accounts(&self) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM accounts LIMIT 1) a";
        let rows = self.read_one(Fetch::raw(self.backend(), sql, Vec::new(), vec![ColumnType::Int])).await?;
        Ok(scalar(&rows) > 0)
    }

    pub async fn get(&self, account_id: i64, spec: &EntitySpec, id: i64, vis: Visibility) -> Result<Option<Row>> {
        let b = Builder { backend: self.backend(), account_id };
        let rows = self.read_one(get_fetch(&b, spec, id, vis)).await?;
        first_row(spec, rows)
    }

    pub async fn list(&self, account_id: i64, spec: &EntitySpec, q: &ListQuery) -> Result<ListPage<Row>> {
        let b = Builder { backend: self.backend(), account_id };
        let plan = PagePlan::list(&b, spec, q)?;
        let results = self.read(plan.fetches(&b, spec)).await?;
        plan.finish(spec, q, results)
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
        let plan = PagePlan::first_per(&b, spec, column, q)?;
        let results = self.read(plan.fetches(&b, spec)).await?;
        plan.finish(spec, q, results)
    }

    /// How many rows `list_first_per` would list for `q` over all its pages.
    pub async fn count_first_per(
        &self,
        account_id: i64,
        spec: &EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<u64> {
        let b = Builder { backend: self.backend(), account_id };
        let stmt = b.count_first_per(spec, column, q)?;
        let rows = self.read_one(Fetch::of(b.backend, &stmt, vec![ColumnType::Int])).await?;
        Ok(Ord::max(scalar(&rows), 0) as u64)
    }

    /// One page of a listing over several entities: the branch index and id of each row.
    pub async fn list_union(&self, account_id: i64, u: &UnionQuery) -> Result<ListPage<(usize, i64)>> {
        if u.branches.is_empty() {
            return Ok(ListPage { rows: Vec::new(), total: u.with_total.then_some(0), next: None });
        }
        let b = Builder { backend: self.backend(), account_id };
        let (stmt, count) = b.union(u)?;
        let mut fetches = vec![Fetch::of(b.backend, &stmt, vec![ColumnType::Int, ColumnType::Int])];
        if u.with_total {
            fetches.push(Fetch::of(b.backend, &count, vec![ColumnType::Int]));
        }
        let mut results = self.read(fetches).await?.into_iter();
        let mut raw = results.next().unwrap_or_default();
        raw.truncate(usize::try_from(u.limit).unwrap_or(usize::MAX));
        let rows = raw
            .into_iter()
            .map(|r| match (r.first().and_then(Value::as_int), r.get(1).and_then(Value::as_int)) {
                (Some(branch), Some(id)) => Ok((branch as usize, id)),
                _ => Err(StoreError::Decode("union row".into())),
            })
            .collect::<Result<Vec<_>>>()?;
        let total = results.next().map(|n| scalar(&n) as u64);
        Ok(ListPage { rows, total, next: None })
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
            let rows = tx.conn().fetch(&q, types).await?;
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
        let rows = self.read_one(Fetch::of(b.backend, &stmt, vec![ColumnType::Int])).await?;
        Ok(rows.into_iter().filter_map(|r| r.first().and_then(Value::as_int)).collect())
    }

    /// How many rows a query matches, ignoring its page.
    pub async fn count(&self, account_id: i64, spec: &EntitySpec, q: &ListQuery) -> Result<u64> {
        let b = Builder { backend: self.backend(), account_id };
        let stmt = b.count(spec, q)?;
        let rows = self.read_one(Fetch::of(b.backend, &stmt, vec![ColumnType::Int])).await?;
        Ok(scalar(&rows) as u64)
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
        let rows = self.read_one(Fetch::of(b.backend, &stmt, vec![ColumnType::Int, ColumnType::Int])).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.first()?.as_int()?, r.get(1)?.as_int().unwrap_or(0) as u64)))
            .collect())
    }

    /// A page of one spec and per-value counts over another (`count_by`), read together: on
    /// SQLite in one hand-off to a reader. For a page's figures beside its rows (a contact's
    /// deals and its company's size).
    pub async fn list_and_count_by(
        &self,
        account_id: i64,
        list: (&EntitySpec, &ListQuery),
        count: (&EntitySpec, &str, &crate::query::Filter),
    ) -> Result<(ListPage<Row>, std::collections::HashMap<i64, u64>)> {
        let b = Builder { backend: self.backend(), account_id };
        let (spec, q) = list;
        let plan = PagePlan::list(&b, spec, q)?;
        let mut fetches = plan.fetches(&b, spec);
        let page_fetches = fetches.len();
        let stmt = b.count_by(count.0, count.1, count.2)?;
        fetches.push(Fetch::of(b.backend, &stmt, vec![ColumnType::Int, ColumnType::Int]));
        let mut results = self.read(fetches).await?;
        let counted = results.split_off(page_fetches.min(results.len())).pop().unwrap_or_default();
        let page = plan.finish(spec, q, results)?;
        let counts = counted
            .into_iter()
            .filter_map(|r| Some((r.first()?.as_int()?, r.get(1)?.as_int().unwrap_or(0) as u64)))
            .collect();
        Ok((page, counts))
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
        let rows = self.read_one(Fetch::of(backend, &q, types)).await?;
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
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl TxInner {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        Conn { tx: self }
    }
    fn backend(&self) -> Backend {
        match self {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }
    /// Runs queries in this transaction, in order (on SQLite in one hand-off to the writer).
    async fn read(&mut self, fetches: Vec<Fetch>) -> Result<Vec<Vec<Vec<Value>>>> {
        match self {
            TxInner::Sqlite(t) => t.run(move |c| fetches.iter().map(|f| f.run_sqlite(c)).collect()).await,
            TxInner::Postgres(t) => {
                let mut out = Vec::with_capacity(fetches.len());
                for f in fetches {
                    out.push(f.run_pg(t).await?);
                }
                Ok(out)
            }
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

    pub(crate) fn touch(&mut self, spec: &'static EntitySpec) {
        if !self.touched.contains(&spec.kind) {
            self.touched.push(spec.kind);
        }
    }

    /// A new id, unique across the database.
    pub async fn next_id(&mut self) -> Result<i64> {
        match &mut self.inner {
            TxInner::Sqlite(t) => t.run(sqlite::next_ids(1)).await,
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
        let rows = self.inner.read(vec![get_fetch(&b, spec, id, vis)]).await?.pop().unwrap_or_default();
        first_row(spec, rows)
    }

    pub async fn list(&mut self, spec: &EntitySpec, q: &ListQuery) -> Result<ListPage<Row>> {
        let b = self.builder();
        let plan = PagePlan::list(&b, spec, q)?;
        let results = self.inner.read(plan.fetches(&b, spec)).await?;
        plan.finish(spec, q, results)
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
                let start = t.run(sqlite::next_ids(n as i64)).await?;
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

    /// Marks a live row changed without changing a column of it: its `updated_at` moves on and
    /// an update event names `changed` (what changed is kept elsewhere: its links). `false` when
    /// no live row has that id.
    pub async fn touch_row(&mut self, spec: &'static EntitySpec, id: i64, changed: &[&str]) -> Result<bool> {
        let backend = self.store.backend();
        let mut stmt = Query::update();
        stmt.table(Alias::new(spec.table))
            .value(Alias::new("updated_at"), Expr::val(bind(backend, ColumnType::Time, &Value::Time(now()))?))
            .and_where(Expr::col(Alias::new("account_id")).eq(self.account_id))
            .and_where(Expr::col(Alias::new("id")).eq(id));
        if spec.soft_delete {
            stmt.and_where(Expr::col(Alias::new("deleted_at")).is_null());
        }
        let n = self.inner.conn().execute(&stmt).await?;
        if n > 0 {
            self.touch(spec);
            self.record(spec.kind, id, Operation::Updated, changed).await?;
        }
        Ok(n > 0)
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

/// The connection of a transaction, of either backend; its statements go through here.
pub(crate) struct Conn<'c> {
    tx: &'c mut TxInner,
}

impl Conn<'_> {
    /// Statements without parameters (several, separated by `;`, on SQLite).
    async fn execute_sql(&mut self, sql: &str) -> Result<()> {
        match &mut *self.tx {
            TxInner::Sqlite(t) => {
                let sql = sql.to_owned();
                t.run(move |c| sqlite::execute_batch(c, &sql)).await
            }
            TxInner::Postgres(t) => {
                Ok(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut **t).await.map(drop)?)
            }
        }
    }

    async fn fetch_scalar_i64(&mut self, sql: &'static str) -> Result<i64> {
        let f = Fetch::raw(self.tx.backend(), sql, Vec::new(), vec![ColumnType::Int]);
        let rows = self.tx.read(vec![f]).await?.pop().unwrap_or_default();
        rows.first().and_then(|r| r.first()).and_then(Value::as_int).ok_or_else(|| StoreError::Decode(sql.into()))
    }

    /// A hand-written statement (`?` placeholders, numbered for PostgreSQL) with bound values.
    pub(crate) async fn execute_raw(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<u64> {
        let sql = match self.tx.backend() {
            Backend::Sqlite => sql.to_owned(),
            Backend::Postgres => numbered(sql),
        };
        self.run_execute(sql, values).await
    }

    /// A hand-written query; each row decoded as `types`.
    pub(crate) async fn fetch_raw(
        &mut self,
        sql: &str,
        values: Vec<sea_query::Value>,
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>> {
        let f = Fetch::raw(self.tx.backend(), sql, values, types.to_vec());
        Ok(self.tx.read(vec![f]).await?.pop().unwrap_or_default())
    }

    async fn execute<S: QueryStatementWriter>(&mut self, stmt: &S) -> Result<u64> {
        let (sql, values) = build(self.tx.backend(), stmt);
        self.run_execute(sql, values).await
    }

    async fn fetch<S: QueryStatementWriter>(&mut self, stmt: &S, types: Vec<ColumnType>) -> Result<Vec<Vec<Value>>> {
        let f = Fetch::of(self.tx.backend(), stmt, types);
        Ok(self.tx.read(vec![f]).await?.pop().unwrap_or_default())
    }

    async fn run_execute(&mut self, sql: String, values: Vec<sea_query::Value>) -> Result<u64> {
        match &mut *self.tx {
            TxInner::Sqlite(t) => t.run(move |c| sqlite::execute(c, &sql, &values)).await,
            TxInner::Postgres(t) => Ok(sqlx::query_with(AssertSqlSafe(sql), SqlxValues(sea_query::Values(values)))
                .execute(&mut **t)
                .await
                .map_err(StoreError::from_sqlx)?
                .rows_affected()),
        }
    }
}

/// A statement's SQL and values for `backend`.
fn build<S: QueryStatementWriter>(backend: Backend, stmt: &S) -> (String, Vec<sea_query::Value>) {
    let (sql, values) = match backend {
        Backend::Sqlite => stmt.build(SqliteQueryBuilder),
        Backend::Postgres => stmt.build(PostgresQueryBuilder),
    };
    (sql, values.0)
}

/// One query, built for one backend, with the types its columns decode as.
pub(crate) struct Fetch {
    sql: String,
    values: Vec<sea_query::Value>,
    types: Vec<ColumnType>,
}

impl Fetch {
    fn of<S: QueryStatementWriter>(backend: Backend, stmt: &S, types: Vec<ColumnType>) -> Fetch {
        let (sql, values) = build(backend, stmt);
        Fetch { sql, values, types }
    }

    /// A hand-written query with `?` placeholders.
    fn raw(backend: Backend, sql: &str, values: Vec<sea_query::Value>, types: Vec<ColumnType>) -> Fetch {
        let sql = match backend {
            Backend::Sqlite => sql.to_owned(),
            Backend::Postgres => numbered(sql),
        };
        Fetch { sql, values, types }
    }

    fn run_sqlite(&self, c: &rusqlite::Connection) -> Result<Vec<Vec<Value>>> {
        sqlite::fetch(c, &self.sql, &self.values, &self.types)
    }

    async fn run_pg(self, c: &mut PgConnection) -> Result<Vec<Vec<Value>>> {
        let rows =
            sqlx::query_with(AssertSqlSafe(self.sql), SqlxValues(sea_query::Values(self.values))).fetch_all(c).await?;
        rows.iter().map(|r| decode_pg(r, &self.types)).collect()
    }
}

/// The query reading one row by id.
fn get_fetch(b: &Builder, spec: &EntitySpec, id: i64, vis: Visibility) -> Fetch {
    let mut stmt = b.select(spec, vis);
    stmt.and_where(Expr::col((Alias::new("t0"), Alias::new("id"))).eq(id)).limit(1);
    Fetch::of(b.backend, &stmt, spec.select_columns().iter().map(|(_, t)| *t).collect())
}

fn first_row(spec: &EntitySpec, rows: Vec<Vec<Value>>) -> Result<Option<Row>> {
    rows.into_iter().next().map(|vals| decode_row(spec, vals)).transpose()
}

/// The first column of the first row, as an integer (a count); 0 when there is none.
fn scalar(rows: &[Vec<Value>]) -> i64 {
    rows.first().and_then(|r| r.first()).and_then(Value::as_int).unwrap_or(0)
}

/// A page of rows of one spec (rows, then the sort keys) and, when asked for, its count.
struct PagePlan {
    stmt: sea_query::SelectStatement,
    key_types: Vec<ColumnType>,
    count: Option<sea_query::SelectStatement>,
}

impl PagePlan {
    fn list(b: &Builder, spec: &EntitySpec, q: &ListQuery) -> Result<PagePlan> {
        let (stmt, key_types) = b.list(spec, q)?;
        let count = if q.with_total { Some(b.count(spec, q)?) } else { None };
        Ok(PagePlan { stmt, key_types, count })
    }

    fn first_per(b: &Builder, spec: &EntitySpec, column: &str, q: &ListQuery) -> Result<PagePlan> {
        let (stmt, key_types) = b.first_per(spec, column, q)?;
        let count = if q.with_total { Some(b.count_first_per(spec, column, q)?) } else { None };
        Ok(PagePlan { stmt, key_types, count })
    }

    /// The page query and the count, in this order: on SQLite they run in one hand-off.
    fn fetches(&self, b: &Builder, spec: &EntitySpec) -> Vec<Fetch> {
        let mut types: Vec<ColumnType> = spec.select_columns().iter().map(|(_, t)| *t).collect();
        types.extend_from_slice(&self.key_types);
        let mut fetches = vec![Fetch::of(b.backend, &self.stmt, types)];
        if let Some(count) = &self.count {
            fetches.push(Fetch::of(b.backend, count, vec![ColumnType::Int]));
        }
        fetches
    }

    fn finish(self, spec: &EntitySpec, q: &ListQuery, results: Vec<Vec<Vec<Value>>>) -> Result<ListPage<Row>> {
        let width = spec.select_columns().len();
        let limit = match &q.page {
            Page::Offset { limit, .. } | Page::After { limit, .. } => *limit as usize,
        };
        let mut results = results.into_iter();
        let mut raw = results.next().unwrap_or_default();
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
        let total = self.count.map(|_| scalar(&results.next().unwrap_or_default()) as u64);
        Ok(ListPage { rows, total, next })
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
