//! Request counters on fixed time windows, kept in the database so that every process serving
//! one database shares them (the API rate limit). One hit is one atomic statement: an upsert
//! that adds one to the counter, or starts it over when its window has moved on, and returns the
//! count.

use crate::db::Store;
use crate::error::Result;
use crate::sql::bind;
use crate::value::{ColumnType, Value, now};

const HIT: &str = "INSERT INTO rate_counters (account_id, id, created_at, updated_at, window_start, hits) \
     VALUES (?, ?, ?, ?, ?, 1) \
     ON CONFLICT (account_id, id) DO UPDATE SET \
     hits = CASE WHEN rate_counters.window_start >= excluded.window_start THEN rate_counters.hits + 1 ELSE 1 END, \
     window_start = CASE WHEN rate_counters.window_start > excluded.window_start \
       THEN rate_counters.window_start ELSE excluded.window_start END, \
     updated_at = excluded.updated_at \
     RETURNING hits, window_start";

impl Store {
    /// Counts one hit on counter `counter` of `account_id` in the window that starts at
    /// `window_start` (seconds since 1970), and returns the window's hits so far, this one
    /// included, with the start of the window they were counted in (a later one, when another
    /// process already moved the counter on).
    pub async fn hit_counter(&self, account_id: i64, counter: i64, window_start: i64) -> Result<(i64, i64)> {
        let b = self.backend();
        let t = now();
        let values = vec![
            bind(b, ColumnType::Int, &Value::Int(account_id))?,
            bind(b, ColumnType::Int, &Value::Int(counter))?,
            bind(b, ColumnType::Time, &Value::Time(t))?,
            bind(b, ColumnType::Time, &Value::Time(t))?,
            bind(b, ColumnType::Int, &Value::Int(window_start))?,
        ];
        let mut tx = self.begin_raw().await?;
        let rows = tx.conn().fetch_raw(HIT, values, &[ColumnType::Int, ColumnType::Int]).await?;
        tx.commit().await?;
        let row = rows.into_iter().next().unwrap_or_default();
        let int = |i: usize| match row.get(i) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        Ok((int(0), int(1)))
    }
}
