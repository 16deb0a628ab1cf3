//! The store's own entities: accounts (tenants), the event log, the webhook outbox and the
//! Sync API's device state.

use crate::spec::{Column, EntitySpec};
use crate::value::ColumnType;

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column { name, ty, nullable, since: 1 }
}

const fn col_since(name: &'static str, ty: ColumnType, nullable: bool, since: u32) -> Column {
    Column { name, ty, nullable, since }
}

/// Tenants. For an account row, `account_id` equals `id`.
pub static ACCOUNTS: EntitySpec = EntitySpec {
    kind: "account",
    table: "accounts",
    columns: &[col("name", ColumnType::Text, false), col("settings", ColumnType::Json, false)],
    soft_delete: false,
    indexes: &[],
    unique: &[],
    global_indexes: &[],
    since: 1,
};

/// Every create, update, delete and restore, written in the same transaction as the change.
pub static EVENTS: EntitySpec = EntitySpec {
    kind: "event",
    table: "events",
    columns: &[
        col("entity_kind", ColumnType::Text, false),
        col("entity_id", ColumnType::Int, false),
        col("operation", ColumnType::Text, false),
        col("actor_id", ColumnType::Int, true),
        col("changes", ColumnType::Json, false),
    ],
    soft_delete: false,
    indexes: &[&["entity_kind", "entity_id"]],
    unique: &[],
    global_indexes: &[],
    since: 1,
};

/// Where an account's events are delivered over HTTP. `events` lists the entity kinds the
/// webhook receives (empty: all that its `format` can render); `format` names the dialect whose
/// payloads it gets.
pub static WEBHOOKS: EntitySpec = EntitySpec {
    kind: "webhook",
    table: "webhooks",
    columns: &[
        col("url", ColumnType::Text, false),
        col("events", ColumnType::Json, false),
        col("secret", ColumnType::Text, false),
        col("active", ColumnType::Bool, false),
        col("description", ColumnType::Text, true),
        col("consecutive_failures", ColumnType::Int, false),
        col("disabled_at", ColumnType::Time, true),
        col_since("name", ColumnType::Text, false, 2),
        col_since("format", ColumnType::Text, false, 2),
        col_since("disabled_reason", ColumnType::Text, true, 2),
    ],
    soft_delete: true,
    indexes: &[],
    unique: &[],
    global_indexes: &[],
    since: 1,
};

/// The outbox: one row per (event, webhook), written in the transaction that wrote the event.
/// `seq` orders a webhook's deliveries as their events were committed.
pub static WEBHOOK_DELIVERIES: EntitySpec = EntitySpec {
    kind: "webhook_delivery",
    table: "webhook_deliveries",
    columns: &[
        col("webhook_id", ColumnType::Int, false),
        col("event_id", ColumnType::Int, false),
        // `pending`, `delivered`, `failed` (gave up) or `skipped` (nothing to send).
        col("status", ColumnType::Text, false),
        col("attempts", ColumnType::Int, false),
        col("next_attempt_at", ColumnType::Time, true),
        col("last_status_code", ColumnType::Int, true),
        col("last_error", ColumnType::Text, true),
        col("delivered_at", ColumnType::Time, true),
        col_since("seq", ColumnType::Int, false, 2),
        col_since("entity_kind", ColumnType::Text, false, 2),
        col_since("entity_id", ColumnType::Int, false, 2),
        col_since("operation", ColumnType::Text, false, 2),
        col_since("actor_id", ColumnType::Int, true, 2),
        // The body as first sent: retries send the same bytes.
        col_since("payload", ColumnType::Text, true, 2),
        // Which process holds the delivery and until when: a sender that dies mid-request
        // leaves a lease that runs out, and another process takes the delivery over.
        col_since("lease_owner", ColumnType::Text, true, 2),
        col_since("lease_until", ColumnType::Time, true, 2),
    ],
    soft_delete: false,
    indexes: &[&["webhook_id", "status"], &["webhook_id", "seq"]],
    unique: &[],
    // Senders look for due deliveries across accounts.
    global_indexes: &["status"],
    since: 1,
};

/// The delivery log: one row per HTTP attempt.
pub static WEBHOOK_ATTEMPTS: EntitySpec = EntitySpec {
    kind: "webhook_attempt",
    table: "webhook_attempts",
    columns: &[
        col("webhook_id", ColumnType::Int, false),
        col("delivery_id", ColumnType::Int, false),
        col("attempt", ColumnType::Int, false),
        col("status_code", ColumnType::Int, true),
        col("error", ColumnType::Text, true),
        col("duration_ms", ColumnType::Int, false),
    ],
    soft_delete: false,
    indexes: &[&["webhook_id", "delivery_id"]],
    unique: &[],
    global_indexes: &[],
    since: 2,
};

/// A device's synchronisation session (Sell's Sync API): which device it serves, how many
/// records were waiting when it started, and where its walk through them has got to (the last
/// record handed out, in `(entity_kind, entity_id)` order). Any replica serves the next page.
/// Written without events.
pub static SYNC_SESSIONS: EntitySpec = EntitySpec {
    kind: "sync_session",
    table: "sync_sessions",
    columns: &[
        // The id clients see: a random UUID.
        col("token", ColumnType::Text, false),
        col("device", ColumnType::Text, false),
        col("user_id", ColumnType::Int, false),
        col("total_count", ColumnType::Int, false),
        // `''` and `0` before the first page.
        col("after_kind", ColumnType::Text, false),
        col("after_id", ColumnType::Int, false),
        col("finished", ColumnType::Bool, false),
    ],
    soft_delete: false,
    indexes: &[&["device", "created_at"]],
    unique: &[&["token"]],
    global_indexes: &[],
    since: 3,
};

/// What each device acknowledged of each record: the record's revision (how many events it had)
/// and whether the record was live in that revision (the device holds it). Written without
/// events.
pub static SYNC_ACKS: EntitySpec = EntitySpec {
    kind: "sync_ack",
    table: "sync_acks",
    columns: &[
        col("device", ColumnType::Text, false),
        col("entity_kind", ColumnType::Text, false),
        col("entity_id", ColumnType::Int, false),
        col("revision", ColumnType::Int, false),
        col("present", ColumnType::Bool, false),
    ],
    soft_delete: false,
    indexes: &[],
    unique: &[&["device", "entity_kind", "entity_id"]],
    global_indexes: &[],
    since: 3,
};

/// Idempotency keys of creates (`X-Unique-Transaction-ID`, `Idempotency-Key`): one row per key
/// of an account, written first as `pending` (the unique index makes a concurrent retry wait and
/// find it), then `done` with the answer to replay, until `expires_at`. Written without events.
pub static IDEMPOTENCY_KEYS: EntitySpec = EntitySpec {
    kind: "idempotency_key",
    table: "idempotency_keys",
    columns: &[
        col("idempotency_key", ColumnType::Text, false),
        // What the request was (its method, path and body), hashed: a key reused for another
        // request is refused.
        col("fingerprint", ColumnType::Text, false),
        // `pending` while the first request runs, then `done`.
        col("status", ColumnType::Text, false),
        col("response_status", ColumnType::Int, true),
        col("response_body", ColumnType::Text, true),
        col("expires_at", ColumnType::Time, false),
        // A pending key whose request died (its process stopped) is free again after this.
        col("lease_until", ColumnType::Time, true),
    ],
    soft_delete: false,
    indexes: &[&["expires_at"]],
    unique: &[&["idempotency_key"]],
    global_indexes: &[],
    since: 5,
};

pub static SPECS: &[&EntitySpec] = &[
    &ACCOUNTS,
    &EVENTS,
    &WEBHOOKS,
    &WEBHOOK_DELIVERIES,
    &WEBHOOK_ATTEMPTS,
    &SYNC_SESSIONS,
    &SYNC_ACKS,
    &IDEMPOTENCY_KEYS,
];
