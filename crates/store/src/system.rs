//! The store's own entities: accounts (tenants) and the event log.

use crate::spec::{Column, EntitySpec};
use crate::value::ColumnType;

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column { name, ty, nullable, since: 1 }
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

pub static SPECS: &[&EntitySpec] = &[&ACCOUNTS, &EVENTS];
