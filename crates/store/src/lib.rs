//! Kith's store: one description of every query, run on embedded SQLite or PostgreSQL.
//!
//! Every read and write is scoped by `account_id`: the builders take the account and put it
//! first in every WHERE clause, and write transactions are opened for one account.

pub mod backup;
mod bulk;
mod counters;
mod db;
mod error;
mod events;
pub mod idempotency;
mod ids;
pub mod outbox;
pub mod query;
mod schema;
pub mod spec;
mod sql;
mod sqlite;
pub mod sync;
pub mod system;
#[doc(hidden)]
pub mod testing;
pub mod value;

pub use db::{Operation, Store, StoreOptions, Tx};
pub use error::{Result, StoreError};
pub use idempotency::{IdempotencyClaim, StoredAnswer};
pub use outbox::{ClaimedDelivery, DeliveryOutcome};
pub use query::{
    Cursor, CustomType, Dir, Field, Filter, JsonStep, Key, ListPage, ListQuery, Op, Page, Sort, UnionBranch,
    UnionQuery, Visibility,
};
pub use spec::{Column, EntitySpec, Row};
pub use sql::Backend;
pub use sync::{Ack, Acked, Pending, SyncPosition, SyncSessionRow};
pub use value::{ColumnType, FieldType, Json, Value, now};

impl Store {
    /// Creates a tenant and returns its id.
    pub async fn create_account(&self, name: &str) -> Result<i64> {
        // The account's own row is written in its own scope: allocate, then open the tx.
        let mut tx = self.begin(0, None).await?;
        let id = tx.next_id().await?;
        tx.commit().await?;
        let mut tx = self.begin(id, None).await?;
        tx.insert_with_id(
            &system::ACCOUNTS,
            id,
            vec![Value::Text(name.trim().to_owned()), Value::Json(serde_json::json!({}))],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}
