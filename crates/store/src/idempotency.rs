//! Idempotency keys: a create sent with a key is run once per key and account; a retry gets the
//! first answer. The key's row is inserted before the create runs (`pending`), so the unique index
//! on `(account_id, idempotency_key)` makes a concurrent retry wait for the first insert and then
//! find the row, on every replica; the answer is written once the create has succeeded (`done`).
//! What counts as the same request, and how long keys live, the domain decides.

use chrono::{DateTime, Utc};

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::sql::{Backend, bind};
use crate::value::{ColumnType, Value, now};

/// The answer a key's first request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free: this request holds it (row `id`) and must finish or release it.
    Claimed { id: i64 },
    /// Another request holds the key and has not finished.
    Pending { fingerprint: String },
    /// A request with the key finished with `answer`.
    Done { fingerprint: String, answer: StoredAnswer },
}

fn int(b: Backend, v: i64) -> Result<sea_query::Value> {
    bind(b, ColumnType::Int, &Value::Int(v))
}

fn text(b: Backend, v: &str) -> Result<sea_query::Value> {
    bind(b, ColumnType::Text, &Value::Text(v.to_owned()))
}

fn time(b: Backend, v: DateTime<Utc>) -> Result<sea_query::Value> {
    bind(b, ColumnType::Time, &Value::Time(v))
}

impl Store {
    /// Claims `key` for a request with `fingerprint`: inserts it as pending until `lease_until`
    /// (kept until `expires_at`), or reports what holds it. Keys of the account past their
    /// expiry, and this key when its holder's lease ran out, are removed first.
    pub async fn claim_idempotency_key(
        &self,
        account_id: i64,
        key: &str,
        fingerprint: &str,
        expires_at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<IdempotencyClaim> {
        let b = self.backend();
        let t = now();
        // The row can vanish between the insert that found it and the read (its holder gave it
        // up): then try again.
        for _ in 0..3 {
            let mut tx = self.begin(account_id, None).await?;
            tx.conn()
                .execute_raw(
                    "DELETE FROM idempotency_keys WHERE account_id = ? AND expires_at < ?",
                    vec![int(b, account_id)?, time(b, t)?],
                )
                .await?;
            tx.conn()
                .execute_raw(
                    "DELETE FROM idempotency_keys WHERE account_id = ? AND idempotency_key = ? \
                     AND status = 'pending' AND lease_until < ?",
                    vec![int(b, account_id)?, text(b, key)?, time(b, t)?],
                )
                .await?;
            let id = tx.next_id().await?;
            let inserted = tx
                .conn()
                .execute_raw(
                    "INSERT INTO idempotency_keys (account_id, id, created_at, updated_at, idempotency_key, \
                     fingerprint, status, response_status, response_body, expires_at, lease_until) \
                     VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, NULL, ?, ?) \
                     ON CONFLICT (account_id, idempotency_key) DO NOTHING",
                    vec![
                        int(b, account_id)?,
                        int(b, id)?,
                        time(b, t)?,
                        time(b, t)?,
                        text(b, key)?,
                        text(b, fingerprint)?,
                        time(b, expires_at)?,
                        time(b, lease_until)?,
                    ],
                )
                .await?;
            if inserted > 0 {
                tx.commit().await?;
                return Ok(IdempotencyClaim::Claimed { id });
            }
            let rows = tx
                .conn()
                .fetch_raw(
                    "SELECT status, fingerprint, response_status, response_body FROM idempotency_keys \
                     WHERE account_id = ? AND idempotency_key = ?",
                    vec![int(b, account_id)?, text(b, key)?],
                    &[ColumnType::Text, ColumnType::Text, ColumnType::Int, ColumnType::Text],
                )
                .await?;
            tx.commit().await?;
            let Some(row) = rows.into_iter().next() else { continue };
            let mut row = row.into_iter();
            let (status, fingerprint, code, body) = (row.next(), row.next(), row.next(), row.next());
            let fingerprint = fingerprint.as_ref().and_then(Value::as_text).unwrap_or_default().to_owned();
            return Ok(match (status.as_ref().and_then(Value::as_text), code.as_ref().and_then(Value::as_int)) {
                (Some("done"), Some(code)) => IdempotencyClaim::Done {
                    fingerprint,
                    answer: StoredAnswer {
                        status: u16::try_from(code).map_err(|_| StoreError::Decode("idempotency status".into()))?,
                        body: body.as_ref().and_then(Value::as_text).unwrap_or_default().to_owned(),
                    },
                },
                _ => IdempotencyClaim::Pending { fingerprint },
            });
        }
        Ok(IdempotencyClaim::Pending { fingerprint: fingerprint.to_owned() })
    }

    /// Keeps the answer of the request that holds key row `id`.
    pub async fn finish_idempotency_key(&self, account_id: i64, id: i64, answer: &StoredAnswer) -> Result<()> {
        let b = self.backend();
        let mut tx = self.begin(account_id, None).await?;
        tx.conn()
            .execute_raw(
                "UPDATE idempotency_keys SET status = 'done', response_status = ?, response_body = ?, \
                 lease_until = NULL, updated_at = ? WHERE account_id = ? AND id = ?",
                vec![
                    int(b, i64::from(answer.status))?,
                    text(b, &answer.body)?,
                    time(b, now())?,
                    int(b, account_id)?,
                    int(b, id)?,
                ],
            )
            .await?;
        tx.commit().await
    }

    /// Frees key row `id` (its request failed: the key may be used again).
    pub async fn release_idempotency_key(&self, account_id: i64, id: i64) -> Result<()> {
        let b = self.backend();
        let mut tx = self.begin(account_id, None).await?;
        tx.conn()
            .execute_raw(
                "DELETE FROM idempotency_keys WHERE account_id = ? AND id = ? AND status = 'pending'",
                vec![int(b, account_id)?, int(b, id)?],
            )
            .await?;
        tx.commit().await
    }
}
