//! The webhook outbox. A transaction that records events also writes, before it commits, one
//! delivery row for each of the account's active webhooks that wants them: the delivery exists
//! exactly when the change does. Senders then claim deliveries under a lease (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that each is taken by one replica), one at a time
//! per webhook and in commit order, and record how each attempt went.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events::RecordedEvent;
use crate::query::ListQuery;
use crate::sql::{Backend, bind};
use crate::system::{WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, WEBHOOKS};
use crate::value::{ColumnType, Value, now};

/// Kinds whose changes are never delivered: tenants, credentials and the webhook machinery.
pub const UNDELIVERED_KINDS: &[&str] =
    &["account", "api_key", "event", "file", "webhook", "webhook_delivery", "webhook_attempt", "notification"];

/// A delivery a sender holds the lease of, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub account_id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub seq: i64,
    /// Attempts made before this one.
    pub attempts: i64,
    pub entity_kind: String,
    pub entity_id: i64,
    /// `created`, `updated`, `deleted` or `restored`.
    pub operation: String,
    pub actor_id: Option<i64>,
    /// The body of the first attempt, if one was made.
    pub payload: Option<String>,
    /// When the event was committed.
    pub created_at: DateTime<Utc>,
    pub url: String,
    pub secret: String,
    pub format: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Try again at `next_attempt_at`.
    Retry { status: Option<u16>, error: String, next_attempt_at: DateTime<Utc> },
    /// Give up on the delivery and disable the webhook, for `reason`.
    Failed { status: Option<u16>, error: String, reason: String },
    /// Nothing to send (the webhook's format has no payload for this kind of change).
    Skipped { reason: String },
}

fn int(backend: Backend, v: i64) -> Result<sea_query::Value> {
    bind(backend, ColumnType::Int, &Value::Int(v))
}

fn opt_int(backend: Backend, v: Option<i64>) -> Result<sea_query::Value> {
    bind(backend, ColumnType::Int, &v.map_or(Value::Null, Value::Int))
}

fn text(backend: Backend, v: Option<&str>) -> Result<sea_query::Value> {
    bind(backend, ColumnType::Text, &v.map_or(Value::Null, |s| Value::Text(s.to_owned())))
}

fn time(backend: Backend, v: Option<DateTime<Utc>>) -> Result<sea_query::Value> {
    bind(backend, ColumnType::Time, &v.map_or(Value::Null, Value::Time))
}

fn boolean(backend: Backend, v: bool) -> Result<sea_query::Value> {
    bind(backend, ColumnType::Bool, &Value::Bool(v))
}

const CLAIM_TYPES: &[ColumnType] = &[
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Int,
    ColumnType::Text,
    ColumnType::Int,
    ColumnType::Text,
    ColumnType::Int,
    ColumnType::Text,
    ColumnType::Time,
    ColumnType::Text,
    ColumnType::Text,
    ColumnType::Text,
];

fn claimed(row: Vec<Value>) -> Result<ClaimedDelivery> {
    let bad = |what: &str| StoreError::Decode(format!("webhook delivery: {what}"));
    let int = |i: usize, what: &str| row.get(i).and_then(Value::as_int).ok_or_else(|| bad(what));
    let text = |i: usize| match row.get(i) {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let created_at = match row.get(11) {
        Some(Value::Time(t)) => *t,
        _ => return Err(bad("created_at")),
    };
    Ok(ClaimedDelivery {
        id: int(0, "id")?,
        account_id: int(1, "account_id")?,
        webhook_id: int(2, "webhook_id")?,
        event_id: int(3, "event_id")?,
        seq: int(4, "seq")?,
        attempts: int(5, "attempts")?,
        entity_kind: text(6).ok_or_else(|| bad("entity_kind"))?,
        entity_id: int(7, "entity_id")?,
        operation: text(8).ok_or_else(|| bad("operation"))?,
        actor_id: row.get(9).and_then(Value::as_int),
        payload: text(10),
        created_at,
        url: text(12).ok_or_else(|| bad("url"))?,
        secret: text(13).unwrap_or_default(),
        format: text(14).unwrap_or_default(),
    })
}

impl Tx {
    /// Writes a delivery for each recorded event and each webhook that wants it.
    pub(crate) async fn fan_out(&mut self) -> Result<()> {
        let events: Vec<RecordedEvent> =
            std::mem::take(&mut self.events).into_iter().filter(|e| !UNDELIVERED_KINDS.contains(&e.kind)).collect();
        if events.is_empty() {
            return Ok(());
        }
        // Disabled webhooks get deliveries too: they wait, and go out when it is enabled again.
        let hooks = self.list(&WEBHOOKS, &ListQuery::all()).await?.rows;
        if hooks.is_empty() {
            return Ok(());
        }
        let events_at = WEBHOOKS.position("events").ok_or_else(|| StoreError::Query("webhooks.events".into()))?;
        let mut pairs = Vec::new();
        for e in &events {
            for h in &hooks {
                let wanted = match h.values.get(events_at) {
                    Some(Value::Json(serde_json::Value::Array(kinds))) => {
                        kinds.is_empty() || kinds.iter().any(|k| k.as_str() == Some(e.kind))
                    }
                    _ => true,
                };
                if wanted {
                    pairs.push((h.id, e));
                }
            }
        }
        if pairs.is_empty() {
            return Ok(());
        }
        let ids = self.next_ids(pairs.len()).await?;
        let seqs = match self.backend() {
            // One writer at a time: ids are already in commit order.
            Backend::Sqlite => ids.clone(),
            Backend::Postgres => {
                let n = int(Backend::Postgres, pairs.len() as i64)?;
                let rows = self
                    .conn()
                    .fetch_raw(
                        "SELECT nextval('kith_delivery_seq') FROM generate_series(1::bigint, ?::bigint)",
                        vec![n],
                        &[ColumnType::Int],
                    )
                    .await?;
                let mut seqs: Vec<i64> = rows.iter().filter_map(|r| r.first().and_then(Value::as_int)).collect();
                seqs.sort_unstable();
                seqs
            }
        };
        if seqs.len() != pairs.len() {
            return Err(StoreError::Query("delivery sequence: short".into()));
        }
        let t = now();
        let actor = self.actor().map_or(Value::Null, Value::Int);
        let rows = pairs
            .into_iter()
            .zip(ids)
            .zip(seqs)
            .map(|(((webhook_id, e), id), seq)| {
                let values = vec![
                    Value::Int(webhook_id),
                    Value::Int(e.id),
                    Value::Text("pending".into()),
                    Value::Int(0),
                    Value::Time(t),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Int(seq),
                    Value::Text(e.kind.to_owned()),
                    Value::Int(e.entity_id),
                    Value::Text(e.operation.as_str().to_owned()),
                    actor.clone(),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ];
                (id, values)
            })
            .collect();
        self.insert_rows(&WEBHOOK_DELIVERIES, rows).await
    }

    /// Marks a webhook's undelivered deliveries as skipped (the webhook is being deleted).
    pub async fn skip_pending_deliveries(&mut self, webhook_id: i64, reason: &str) -> Result<u64> {
        let b = self.backend();
        let values =
            vec![text(b, Some(reason))?, time(b, Some(now()))?, int(b, self.account_id())?, int(b, webhook_id)?];
        self.conn()
            .execute_raw(
                "UPDATE webhook_deliveries SET status = 'skipped', last_error = ?, updated_at = ?, \
                 lease_owner = NULL, lease_until = NULL \
                 WHERE account_id = ? AND webhook_id = ? AND status = 'pending'",
                values,
            )
            .await
    }

    /// Sets a webhook active (clearing its failure state) or not, without an event.
    pub async fn set_webhook_active(&mut self, webhook_id: i64, active: bool, reason: Option<&str>) -> Result<bool> {
        let b = self.backend();
        let t = now();
        let values = vec![
            boolean(b, active)?,
            time(b, (!active).then_some(t))?,
            text(b, if active { None } else { reason })?,
            time(b, Some(t))?,
            int(b, self.account_id())?,
            int(b, webhook_id)?,
        ];
        let n = self
            .conn()
            .execute_raw(
                "UPDATE webhooks SET active = ?, disabled_at = ?, disabled_reason = ?, consecutive_failures = 0, \
                 updated_at = ? WHERE account_id = ? AND id = ? AND deleted_at IS NULL",
                values,
            )
            .await?;
        Ok(n > 0)
    }
}

impl Store {
    /// Takes up to `limit` due deliveries, each the oldest undelivered one of its webhook, and
    /// leases them to `owner` for `lease`. Across all accounts: this is the sender's query.
    pub async fn claim_deliveries(&self, owner: &str, lease: Duration, limit: usize) -> Result<Vec<ClaimedDelivery>> {
        let b = self.backend();
        let t = now();
        let until = t + chrono::Duration::from_std(lease).map_err(|e| StoreError::Query(e.to_string()))?;
        if !self.deliveries_due(Value::Time(t)).await? {
            return Ok(Vec::new());
        }
        let lock = if b == Backend::Postgres { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
        let sql = format!(
            "SELECT d.id, d.account_id, d.webhook_id, d.event_id, d.seq, d.attempts, d.entity_kind, d.entity_id, \
             d.operation, d.actor_id, d.payload, d.created_at, w.url, w.secret, w.format \
             FROM webhook_deliveries d JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? \
             AND (d.lease_until IS NULL OR d.lease_until <= ?) \
             AND w.active = ? AND w.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.account_id = d.account_id \
               AND e.webhook_id = d.webhook_id AND e.status = 'pending' AND e.seq < d.seq) \
             ORDER BY d.next_attempt_at, d.seq LIMIT {limit}{lock}"
        );
        let mut tx = self.begin_raw().await?;
        let rows = tx
            .conn()
            .fetch_raw(&sql, vec![time(b, Some(t))?, time(b, Some(t))?, boolean(b, true)?], CLAIM_TYPES)
            .await?;
        let claimed: Vec<ClaimedDelivery> = rows.into_iter().map(claimed).collect::<Result<_>>()?;
        if !claimed.is_empty() {
            let ids: Vec<String> = claimed.iter().map(|d| d.id.to_string()).collect();
            let sql = format!(
                "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ? WHERE id IN ({})",
                ids.join(", ")
            );
            tx.conn().execute_raw(&sql, vec![text(b, Some(owner))?, time(b, Some(until))?]).await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Keeps the body of a delivery's first attempt, so that retries send the same bytes.
    pub async fn save_delivery_payload(&self, d: &ClaimedDelivery, owner: &str, payload: &str) -> Result<bool> {
        let b = self.backend();
        let mut tx = self.begin(d.account_id, None).await?;
        let n = tx
            .conn()
            .execute_raw(
                "UPDATE webhook_deliveries SET payload = ? \
                 WHERE account_id = ? AND id = ? AND lease_owner = ? AND payload IS NULL",
                vec![text(b, Some(payload))?, int(b, d.account_id)?, int(b, d.id)?, text(b, Some(owner))?],
            )
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Records an attempt and its outcome, and releases the lease. Returns false, changing
    /// nothing, if `owner` no longer held the lease.
    pub async fn finish_delivery(
        &self,
        d: &ClaimedDelivery,
        owner: &str,
        outcome: &DeliveryOutcome,
        duration: Duration,
    ) -> Result<bool> {
        let b = self.backend();
        let t = now();
        let (status, code, error, delivered_at, next_at, attempted) = match outcome {
            DeliveryOutcome::Delivered { status } => ("delivered", Some(*status), None, Some(t), None, true),
            DeliveryOutcome::Retry { status, error, next_attempt_at } => {
                ("pending", *status, Some(error.as_str()), None, Some(*next_attempt_at), true)
            }
            DeliveryOutcome::Failed { status, error, .. } => {
                ("failed", *status, Some(error.as_str()), None, None, true)
            }
            DeliveryOutcome::Skipped { reason } => ("skipped", None, Some(reason.as_str()), None, None, false),
        };
        let mut tx = self.begin(d.account_id, None).await?;
        let n = tx
            .conn()
            .execute_raw(
                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + ?, last_status_code = ?, \
                 last_error = ?, delivered_at = ?, next_attempt_at = COALESCE(?, next_attempt_at), \
                 lease_owner = NULL, lease_until = NULL, updated_at = ? \
                 WHERE account_id = ? AND id = ? AND lease_owner = ?",
                vec![
                    text(b, Some(status))?,
                    int(b, i64::from(attempted))?,
                    opt_int(b, code.map(i64::from))?,
                    text(b, error)?,
                    time(b, delivered_at)?,
                    time(b, next_at)?,
                    time(b, Some(t))?,
                    int(b, d.account_id)?,
                    int(b, d.id)?,
                    text(b, Some(owner))?,
                ],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        if attempted {
            let id = tx.next_id().await?;
            let row = vec![
                Value::Int(d.webhook_id),
                Value::Int(d.id),
                Value::Int(d.attempts + 1),
                code.map_or(Value::Null, |c| Value::Int(i64::from(c))),
                error.map_or(Value::Null, |e| Value::Text(e.to_owned())),
                Value::Int(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
            ];
            tx.insert_rows(&WEBHOOK_ATTEMPTS, vec![(id, row)]).await?;
        }
        let (sql, values) = match outcome {
            DeliveryOutcome::Delivered { .. } => (
                "UPDATE webhooks SET consecutive_failures = 0 WHERE account_id = ? AND id = ?",
                vec![int(b, d.account_id)?, int(b, d.webhook_id)?],
            ),
            DeliveryOutcome::Retry { .. } => (
                "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE account_id = ? AND id = ?",
                vec![int(b, d.account_id)?, int(b, d.webhook_id)?],
            ),
            DeliveryOutcome::Failed { reason, .. } => (
                "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1, active = ?, disabled_at = ?, \
                 disabled_reason = ?, updated_at = ? WHERE account_id = ? AND id = ?",
                vec![
                    boolean(b, false)?,
                    time(b, Some(t))?,
                    text(b, Some(reason))?,
                    time(b, Some(t))?,
                    int(b, d.account_id)?,
                    int(b, d.webhook_id)?,
                ],
            ),
            DeliveryOutcome::Skipped { .. } => ("", Vec::new()),
        };
        if !sql.is_empty() {
            tx.conn().execute_raw(sql, values).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
