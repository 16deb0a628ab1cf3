//! Request counters on fixed time windows, kept in the database so that every process serving
//! one database shares them (the API rate limit). One hit is one atomic statement: an upsert
//! that adds one to the counter, or starts it over when its window has moved on, and returns the
//! count.

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::spec::EntitySpec;
use crate::sql::bind;
use crate::value::{ColumnType, Value, now};

impl Store {
    /// Counts one hit on counter `counter` (the row id) of `account_id` in the window that
    /// starts at `window_start` (seconds since 1970), in `spec`'s table, which has the integer
    /// columns `window_start` and `hits`. Returns the window's hits so far, this one included,
    /// with the start of the window they were counted in (a later one, when another process
    /// already moved the counter on: a process whose clock is behind never resets it).
    pub async fn hit_counter(
        &self,
        spec: &EntitySpec,
        account_id: i64,
        counter: i64,
        window_start: i64,
    ) -> Result<(i64, i64)> {
        if spec.column("window_start").is_none() || spec.column("hits").is_none() {
            return Err(StoreError::Query(format!("{} has no window_start and hits columns", spec.table)));
        }
        let t = spec.table;
        let sql = format!(
            "INSERT INTO {t} (account_id, id, created_at, updated_at, window_start, hits) VALUES (?, ?, ?, ?, ?, 1) \
             ON CONFLICT (account_id, id) DO UPDATE SET \
             hits = CASE WHEN {t}.window_start >= excluded.window_start THEN {t}.hits + 1 ELSE 1 END, \
             window_start = CASE WHEN {t}.window_start > excluded.window_start \
               THEN {t}.window_start ELSE excluded.window_start END, \
             updated_at = excluded.updated_at \
             RETURNING hits, window_start"
        );
        let b = self.backend();
        let at = now();
        let values = vec![
            bind(b, ColumnType::Int, &Value::Int(account_id))?,
            bind(b, ColumnType::Int, &Value::Int(counter))?,
            bind(b, ColumnType::Time, &Value::Time(at))?,
            bind(b, ColumnType::Time, &Value::Time(at))?,
            bind(b, ColumnType::Int, &Value::Int(window_start))?,
        ];
        let mut tx = self.begin_raw().await?;
        let rows = tx.conn().fetch_raw(&sql, values, &[ColumnType::Int, ColumnType::Int]).await?;
        tx.commit().await?;
        let row = rows.into_iter().next().unwrap_or_default();
        let int = |i: usize| match row.get(i) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        Ok((int(0), int(1)))
    }
}
