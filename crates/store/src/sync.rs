//! Device synchronisation state, for Sell's Sync API.
//!
//! A record's revision is the number of its events: each committed create, update, delete or
//! restore adds one, whichever replica wrote it. (Event ids say nothing about commit order: on
//! PostgreSQL each process takes ids in blocks.) A device acknowledges revisions (`sync_acks`);
//! a record is pending for a device while it has more events than the device acknowledged. A
//! session (`sync_sessions`) walks the pending records in `(entity_kind, entity_id)` order and
//! keeps its place in the database, so any replica can serve its next page.

use chrono::{DateTime, Utc};

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::sql::{Backend, bind};
use crate::system::SYNC_SESSIONS;
use crate::value::{ColumnType, Value, now};

/// A record with changes a device has not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub kind: String,
    pub id: i64,
    /// How many events the record has.
    pub revision: i64,
    /// What the device acknowledged of it before, if anything.
    pub acked: Option<Acked>,
}

/// A device's acknowledgement of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    pub revision: i64,
    /// Whether the record was live in that revision: the device holds it.
    pub present: bool,
}

/// One acknowledgement to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub kind: String,
    pub id: i64,
    pub revision: i64,
    pub present: bool,
}

/// A walk position: the last record a session handed out (`("", 0)` before the first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncPosition {
    pub kind: String,
    pub id: i64,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSessionRow {
    pub id: i64,
    pub token: String,
    pub device: String,
    pub user_id: i64,
    pub total_count: i64,
    pub after: SyncPosition,
    pub finished: bool,
    pub created_at: DateTime<Utc>,
}

fn int(b: Backend, v: i64) -> Result<sea_query::Value> {
    bind(b, ColumnType::Int, &Value::Int(v))
}

fn text(b: Backend, v: &str) -> Result<sea_query::Value> {
    bind(b, ColumnType::Text, &Value::Text(v.to_owned()))
}

fn boolean(b: Backend, v: bool) -> Result<sea_query::Value> {
    bind(b, ColumnType::Bool, &Value::Bool(v))
}

fn time(b: Backend, v: DateTime<Utc>) -> Result<sea_query::Value> {
    bind(b, ColumnType::Time, &Value::Time(v))
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The pending records of `kinds` after a position, as `(kind, id, revision, acked revision,
/// acked present)` rows in walk order. Binds: device, account, each kind, then the position.
/// Grouped by the events index's own order (a device has at most one acknowledgement of a
/// record, so the aggregates over it just read it) and started at the position by a row-value
/// comparison, both backends read that index from the position on and stop at the page's end.
fn pending_sql(kinds: usize) -> String {
    format!(
        "SELECT e.entity_kind, e.entity_id, COUNT(*), MAX(a.revision), \
           CAST(MAX(CASE WHEN a.present THEN 1 ELSE 0 END) AS BIGINT) FROM events e \
         LEFT JOIN sync_acks a ON a.account_id = e.account_id AND a.device = ? \
           AND a.entity_kind = e.entity_kind AND a.entity_id = e.entity_id \
         WHERE e.account_id = ? AND e.entity_kind IN ({}) AND (e.entity_kind, e.entity_id) > (?, ?) \
         GROUP BY e.entity_kind, e.entity_id \
         HAVING COUNT(*) > COALESCE(MAX(a.revision), 0)",
        placeholders(kinds)
    )
}

fn pending_binds(
    b: Backend,
    account_id: i64,
    device: &str,
    kinds: &[&str],
    after: &SyncPosition,
) -> Result<Vec<sea_query::Value>> {
    let mut values = vec![text(b, device)?, int(b, account_id)?];
    for k in kinds {
        values.push(text(b, k)?);
    }
    values.extend([text(b, &after.kind)?, int(b, after.id)?]);
    Ok(values)
}

const PENDING_TYPES: &[ColumnType] =
    &[ColumnType::Text, ColumnType::Int, ColumnType::Int, ColumnType::Int, ColumnType::Int];

fn pending(row: Vec<Value>) -> Result<Pending> {
    let bad = |what: &str| StoreError::Decode(format!("pending record: {what}"));
    let mut it = row.into_iter();
    let kind = match it.next() {
        Some(Value::Text(k)) => k,
        _ => return Err(bad("entity_kind")),
    };
    let id = it.next().and_then(|v| v.as_int()).ok_or_else(|| bad("entity_id"))?;
    let revision = it.next().and_then(|v| v.as_int()).ok_or_else(|| bad("revision"))?;
    let acked = match (it.next(), it.next()) {
        (Some(Value::Int(revision)), Some(Value::Int(present))) => Some(Acked { revision, present: present == 1 }),
        _ => None,
    };
    Ok(Pending { kind, id, revision, acked })
}

const SESSION_TYPES: &[ColumnType] = &[
    ColumnType::Int,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Text,
    ColumnType::Int,
    ColumnType::Bool,
    ColumnType::Time,
];

fn session(row: Vec<Value>) -> Result<SyncSessionRow> {
    let bad = |what: &str| StoreError::Decode(format!("sync session: {what}"));
    let int = |i: usize, what: &str| row.get(i).and_then(Value::as_int).ok_or_else(|| bad(what));
    let text = |i: usize, what: &str| row.get(i).and_then(Value::as_text).map(str::to_owned).ok_or_else(|| bad(what));
    Ok(SyncSessionRow {
        id: int(0, "id")?,
        token: text(1, "token")?,
        device: text(2, "device")?,
        user_id: int(3, "user_id")?,
        total_count: int(4, "total_count")?,
        after: SyncPosition { kind: text(5, "after_kind")?, id: int(6, "after_id")? },
        finished: matches!(row.get(7), Some(Value::Bool(true))),
        created_at: match row.get(8) {
            Some(Value::Time(t)) => *t,
            _ => return Err(bad("created_at")),
        },
    })
}

impl Store {
    /// How many records of `kinds` have changes `device` has not acknowledged.
    pub async fn count_pending(&self, account_id: i64, device: &str, kinds: &[&str]) -> Result<u64> {
        if kinds.is_empty() {
            return Ok(0);
        }
        let b = self.backend();
        let sql = format!("SELECT COUNT(*) FROM ({}) p", pending_sql(kinds.len()));
        let values = pending_binds(b, account_id, device, kinds, &SyncPosition::default())?;
        let rows = self.fetch_raw(&sql, values, &[ColumnType::Int]).await?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_int).unwrap_or(0) as u64)
    }

    /// Up to `limit` records of `kinds` that `device` has changes of to acknowledge, after
    /// `after` in `(kind, id)` order.
    pub async fn pending_after(
        &self,
        account_id: i64,
        device: &str,
        kinds: &[&str],
        after: &SyncPosition,
        limit: u64,
    ) -> Result<Vec<Pending>> {
        if kinds.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let b = self.backend();
        let sql = format!("{} ORDER BY e.entity_kind, e.entity_id LIMIT {limit}", pending_sql(kinds.len()));
        let values = pending_binds(b, account_id, device, kinds, after)?;
        self.fetch_raw(&sql, values, PENDING_TYPES).await?.into_iter().map(pending).collect()
    }

    /// What `device` acknowledged of a record, if anything.
    pub async fn acked(&self, account_id: i64, device: &str, kind: &str, id: i64) -> Result<Option<Acked>> {
        let b = self.backend();
        let rows = self
            .fetch_raw(
                "SELECT revision, present FROM sync_acks \
                 WHERE account_id = ? AND device = ? AND entity_kind = ? AND entity_id = ?",
                vec![int(b, account_id)?, text(b, device)?, text(b, kind)?, int(b, id)?],
                &[ColumnType::Int, ColumnType::Bool],
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|r| match (r.first(), r.get(1)) {
            (Some(Value::Int(revision)), Some(Value::Bool(present))) => {
                Some(Acked { revision: *revision, present: *present })
            }
            _ => None,
        }))
    }

    /// A session of the account by its token.
    pub async fn sync_session(&self, account_id: i64, token: &str) -> Result<Option<SyncSessionRow>> {
        let b = self.backend();
        let rows = self
            .fetch_raw(
                "SELECT id, token, device, user_id, total_count, after_kind, after_id, finished, created_at \
                 FROM sync_sessions WHERE account_id = ? AND token = ?",
                vec![int(b, account_id)?, text(b, token)?],
                SESSION_TYPES,
            )
            .await?;
        rows.into_iter().next().map(session).transpose()
    }
}

impl Tx {
    /// Stores a new session at the start of its walk; returns its id.
    pub async fn create_sync_session(
        &mut self,
        token: &str,
        device: &str,
        user_id: i64,
        total_count: u64,
    ) -> Result<i64> {
        let id = self.next_id().await?;
        let values = vec![
            Value::Text(token.to_owned()),
            Value::Text(device.to_owned()),
            Value::Int(user_id),
            Value::Int(i64::try_from(total_count).unwrap_or(i64::MAX)),
            Value::Text(String::new()),
            Value::Int(0),
            Value::Bool(false),
        ];
        self.insert_rows(&SYNC_SESSIONS, vec![(id, values)]).await?;
        Ok(id)
    }

    /// Deletes the device's sessions started before `before`.
    pub async fn expire_sync_sessions(&mut self, device: &str, before: DateTime<Utc>) -> Result<u64> {
        let b = self.backend();
        let values = vec![int(b, self.account_id())?, text(b, device)?, time(b, before)?];
        self.conn()
            .execute_raw("DELETE FROM sync_sessions WHERE account_id = ? AND device = ? AND created_at < ?", values)
            .await
    }

    /// Moves a session from `from` to `to` (and marks it finished when its walk is done).
    /// `false`, changing nothing, when the session is no longer at `from` or already finished:
    /// another request served that page.
    pub async fn advance_sync_session(
        &mut self,
        session_id: i64,
        from: &SyncPosition,
        to: &SyncPosition,
        finished: bool,
    ) -> Result<bool> {
        let b = self.backend();
        let values = vec![
            text(b, &to.kind)?,
            int(b, to.id)?,
            boolean(b, finished)?,
            time(b, now())?,
            int(b, self.account_id())?,
            int(b, session_id)?,
            text(b, &from.kind)?,
            int(b, from.id)?,
            boolean(b, false)?,
        ];
        let n = self
            .conn()
            .execute_raw(
                "UPDATE sync_sessions SET after_kind = ?, after_id = ?, finished = ?, updated_at = ? \
                 WHERE account_id = ? AND id = ? AND after_kind = ? AND after_id = ? AND finished = ?",
                values,
            )
            .await?;
        Ok(n > 0)
    }

    /// Records acknowledgements of `device`. An acknowledgement never lowers the revision
    /// recorded for a record. Each record at most once per call.
    pub async fn ack_sync(&mut self, device: &str, acks: &[Ack]) -> Result<()> {
        // Nine values a row: well under both backends' limits on bound parameters.
        const PER_STATEMENT: usize = 500;
        let b = self.backend();
        let t = now();
        for chunk in acks.chunks(PER_STATEMENT) {
            let ids = self.next_ids(chunk.len()).await?;
            let mut values = Vec::with_capacity(chunk.len() * 9);
            for (ack, id) in chunk.iter().zip(ids) {
                values.extend([
                    int(b, self.account_id())?,
                    int(b, id)?,
                    time(b, t)?,
                    time(b, t)?,
                    text(b, device)?,
                    text(b, &ack.kind)?,
                    int(b, ack.id)?,
                    int(b, ack.revision)?,
                    boolean(b, ack.present)?,
                ]);
            }
            let rows = vec![format!("({})", placeholders(9)); chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO sync_acks \
                 (account_id, id, created_at, updated_at, device, entity_kind, entity_id, revision, present) \
                 VALUES {rows} \
                 ON CONFLICT (account_id, device, entity_kind, entity_id) DO UPDATE \
                 SET revision = excluded.revision, present = excluded.present, updated_at = excluded.updated_at \
                 WHERE excluded.revision > sync_acks.revision"
            );
            self.conn().execute_raw(&sql, values).await?;
        }
        Ok(())
    }
}
