//! Helpers for tests that run on both backends: a fresh PostgreSQL database per test.
//! Not used by the server itself.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// The variable naming a PostgreSQL server for tests; unset means SQLite only.
pub const PG_ENV: &str = "KITH_TEST_DATABASE_URL";

pub fn pg_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|s| !s.trim().is_empty())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("kith_t_{}_{:x}_{n}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Creates an empty database on the server at `admin_url`; returns its URL and name.
async fn create_pg_database(admin_url: &str) -> (String, String) {
    let db = unique_name();
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}={admin_url}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    (with_database(admin_url, &db), db)
}

async fn drop_pg_database(admin_url: &str, db: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")))
            .execute(&mut conn)
            .await;
        conn.close().await.ok();
    }
}

/// A PostgreSQL database made for one test, dropped with this value (also when the test
/// panics). The drop runs on its own thread so it works inside or outside a runtime.
pub struct PgTestDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl PgTestDatabase {
    pub async fn create(admin_url: &str) -> Self {
        let (url, name) = create_pg_database(admin_url).await;
        PgTestDatabase { admin: admin_url.to_owned(), name, url }
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(drop_pg_database(&admin, &name));
            }
        })
        .join();
    }
}
