//! Shared fixtures for the store's integration tests: the test entity specs, one store per
//! configured backend (SQLite always, PostgreSQL when `KITH_TEST_DATABASE_URL` is set, each
//! test on a fresh database), and small helpers for building rows and reading them back.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use kith_store::system::EVENTS;
pub use kith_store::testing::{PgTestDatabase, pg_url};
use kith_store::{
    Column, ColumnType, EntitySpec, Field, Filter, ListQuery, Row, Sort, Store, StoreOptions, Value, Visibility,
};

/// Environment variable naming the PostgreSQL server used by the tests.
pub use kith_store::testing::PG_ENV;

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column { name, ty, nullable, since: 1 }
}

/// The main test entity: every column type, nullable and not, soft-deletable, with a unique
/// email per account, a link to `PARENTS` (`parent_id`) and a link to another widget (`buddy_id`).
pub static WIDGETS: EntitySpec = EntitySpec {
    kind: "widget",
    table: "widgets",
    columns: &[
        col("ordinal", ColumnType::Int, false),
        col("name", ColumnType::Text, false),
        col("email", ColumnType::Text, true),
        col("score", ColumnType::Int, true),
        col("amount", ColumnType::Float, true),
        col("active", ColumnType::Bool, false),
        col("seen_at", ColumnType::Time, true),
        col("custom_fields", ColumnType::Json, false),
        col("parent_id", ColumnType::Int, true),
        col("buddy_id", ColumnType::Int, true),
    ],
    soft_delete: true,
    indexes: &[&["parent_id"], &["buddy_id"]],
    unique: &[&["email"]],
    global_indexes: &[],
    since: 1,
};

/// A second entity without soft delete and without custom fields.
pub static PARENTS: EntitySpec = EntitySpec {
    kind: "parent",
    table: "parents",
    columns: &[col("name", ColumnType::Text, false)],
    soft_delete: false,
    indexes: &[],
    unique: &[],
    global_indexes: &[],
    since: 1,
};

pub static SPECS: &[&EntitySpec] = &[&WIDGETS, &PARENTS];

/// One widget's values, in the order of `WIDGETS.columns`.
#[derive(Debug, Clone, PartialEq)]
pub struct W {
    pub ordinal: i64,
    pub name: String,
    pub email: Option<String>,
    pub score: Option<i64>,
    pub amount: Option<f64>,
    pub active: bool,
    pub seen_at: Option<DateTime<Utc>>,
    pub custom: serde_json::Value,
    pub parent_id: Option<i64>,
    pub buddy_id: Option<i64>,
}

impl W {
    pub fn new(ordinal: i64, name: &str) -> W {
        W {
            ordinal,
            name: name.to_owned(),
            email: None,
            score: None,
            amount: None,
            active: false,
            seen_at: None,
            custom: serde_json::json!({}),
            parent_id: None,
            buddy_id: None,
        }
    }
    pub fn email(mut self, e: &str) -> W {
        self.email = Some(e.to_owned());
        self
    }
    pub fn score(mut self, s: i64) -> W {
        self.score = Some(s);
        self
    }
    pub fn amount(mut self, a: f64) -> W {
        self.amount = Some(a);
        self
    }
    pub fn active(mut self, a: bool) -> W {
        self.active = a;
        self
    }
    pub fn seen(mut self, t: DateTime<Utc>) -> W {
        self.seen_at = Some(t);
        self
    }
    pub fn custom(mut self, c: serde_json::Value) -> W {
        self.custom = c;
        self
    }
    pub fn parent(mut self, p: i64) -> W {
        self.parent_id = Some(p);
        self
    }
    pub fn buddy(mut self, b: i64) -> W {
        self.buddy_id = Some(b);
        self
    }

    pub fn values(&self) -> Vec<Value> {
        vec![
            Value::Int(self.ordinal),
            Value::Text(self.name.clone()),
            self.email.clone().into(),
            self.score.into(),
            self.amount.map_or(Value::Null, Value::Float),
            Value::Bool(self.active),
            self.seen_at.into(),
            Value::Json(self.custom.clone()),
            self.parent_id.into(),
            self.buddy_id.into(),
        ]
    }
}

/// The value of a named column of a row of `spec`.
pub fn val<'r>(spec: &EntitySpec, row: &'r Row, name: &str) -> &'r Value {
    let pos = spec.position(name).unwrap_or_else(|| panic!("{} has no column {name}", spec.kind));
    &row.values[pos]
}

pub fn ordinal(row: &Row) -> i64 {
    val(&WIDGETS, row, "ordinal").as_int().expect("ordinal is an int")
}

pub fn ordinals(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(ordinal).collect()
}

pub fn custom(key: &str, ty: kith_store::CustomType) -> Field {
    Field::Custom { key: key.to_owned(), ty }
}

/// A fixed instant (microsecond precision) plus `hours` hours and `micros` microseconds.
pub fn at(hours: i64, micros: i64) -> DateTime<Utc> {
    kith_store::value::from_micros(1_700_000_000_000_000 + hours * 3_600_000_000 + micros)
}

/// A store on one backend, on a database of its own.
pub struct TestDb {
    pub label: &'static str,
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgTestDatabase>,
}

impl TestDb {
    /// Closes the store and drops the test's PostgreSQL database.
    pub async fn finish(mut self) {
        self.store.close().await;
        drop(self.pg.take());
    }

    /// Opens a second, independent store handle on the same database.
    pub async fn reopen(&self) -> Store {
        Store::connect(&self.url, &options()).await.expect("reopen store")
    }
}

pub fn options() -> StoreOptions {
    StoreOptions { max_connections: 4, ..StoreOptions::default() }
}

/// A fresh SQLite database in a temporary directory, migrated for `SPECS`.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/kith.db", dir.path().display());
    let store = Store::connect(&url, &options()).await.expect("connect sqlite");
    store.migrate(SPECS).await.expect("migrate sqlite");
    TestDb { label: "sqlite", store, url, _dir: Some(dir), pg: None }
}

/// A fresh PostgreSQL database, migrated for `SPECS`; `None` when no server is configured.
pub async fn postgres() -> Option<TestDb> {
    let admin = pg_url()?;
    let db = PgTestDatabase::create(&admin).await;
    let url = db.url.clone();
    let store = Store::connect(&url, &options()).await.expect("connect postgres");
    store.migrate(SPECS).await.expect("migrate postgres");
    Some(TestDb { label: "postgres", store, url, _dir: None, pg: Some(db) })
}

/// A fresh, empty database on every configured backend (SQLite first), not migrated at all.
pub async fn empty_backends() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/kith.db", dir.path().display());
    let store = Store::connect(&url, &options()).await.expect("connect sqlite");
    let mut out = vec![TestDb { label: "sqlite", store, url, _dir: Some(dir), pg: None }];
    if let Some(admin) = pg_url() {
        let db = PgTestDatabase::create(&admin).await;
        let url = db.url.clone();
        let store = Store::connect(&url, &options()).await.expect("connect postgres");
        out.push(TestDb { label: "postgres", store, url, _dir: None, pg: Some(db) });
    }
    out
}

/// Every configured backend, SQLite first.
pub async fn backends() -> Vec<TestDb> {
    let mut out = vec![sqlite().await];
    match postgres().await {
        Some(pg) => out.push(pg),
        None => eprintln!("note: {PG_ENV} is not set; skipping the PostgreSQL half of this test"),
    }
    out
}

/// Inserts widgets in one committed transaction, in order; returns the rows.
pub async fn insert_widgets(store: &Store, account: i64, ws: &[W]) -> Vec<Row> {
    let mut tx = store.begin(account, None).await.expect("begin");
    let mut rows = Vec::new();
    for w in ws {
        rows.push(tx.insert(&WIDGETS, w.values()).await.expect("insert widget"));
    }
    tx.commit().await.expect("commit");
    rows
}

pub async fn insert_parent(store: &Store, account: i64, name: &str) -> Row {
    let mut tx = store.begin(account, None).await.expect("begin");
    let row = tx.insert(&PARENTS, vec![Value::Text(name.to_owned())]).await.expect("insert parent");
    tx.commit().await.expect("commit");
    row
}

/// Ordinals of the live widgets matching `filter`, in ordinal order.
pub async fn matching(store: &Store, account: i64, filter: Filter) -> Vec<i64> {
    let q = ListQuery::all().filter(filter).sort(Sort::asc("ordinal"));
    let page = store.list(account, &WIDGETS, &q).await.unwrap_or_else(|e| panic!("list: {e}"));
    ordinals(&page.rows)
}

/// One event as (entity_kind, entity_id, operation, actor_id, changes).
pub type Event = (String, i64, String, Option<i64>, serde_json::Value);

/// The events of one entity in the account's log, oldest first.
pub async fn events_for(store: &Store, account: i64, entity_id: i64) -> Vec<Event> {
    let q = ListQuery::all().filter(Filter::eq("entity_id", entity_id)).sort(Sort::asc("id"));
    let page = store.list(account, &EVENTS, &q).await.expect("list events");
    page.rows.iter().map(event).collect()
}

/// Every event of the account, oldest first.
pub async fn all_events(store: &Store, account: i64) -> Vec<(i64, Event)> {
    let q = ListQuery::all().sort(Sort::asc("id"));
    let page = store.list(account, &EVENTS, &q).await.expect("list events");
    page.rows.iter().map(|r| (r.id, event(r))).collect()
}

fn event(r: &Row) -> Event {
    let v = &r.values;
    (
        v[0].as_text().expect("entity_kind").to_owned(),
        v[1].as_int().expect("entity_id"),
        v[2].as_text().expect("operation").to_owned(),
        v[3].as_int(),
        match &v[4] {
            Value::Json(j) => j.clone(),
            other => panic!("changes is not json: {other:?}"),
        },
    )
}

pub fn live_all() -> ListQuery {
    ListQuery::all()
}

pub fn vis(q: ListQuery, v: Visibility) -> ListQuery {
    ListQuery { visibility: v, ..q }
}
