//! The domain service: every dialect calls these. Each call is scoped to the caller's account.

use kith_store::{Filter, ListPage, ListQuery, Store, Tx, Visibility};

use crate::entity::Entity;
use crate::error::{DomainError, Result};
use crate::model::User;

/// Who is calling: an account and one of its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub account_id: i64,
    pub user_id: i64,
}

/// The CRM over one store.
#[derive(Clone)]
pub struct Crm {
    store: Store,
    pub(crate) caches: std::sync::Arc<crate::cache::Caches>,
    pub(crate) files: Option<crate::files::Files>,
}

impl Crm {
    pub fn new(store: Store) -> Self {
        Crm { store, caches: Default::default(), files: None }
    }

    /// Where stored files (attachments, photos, logos) go.
    pub fn with_files(mut self, files: crate::files::Files) -> Self {
        self.files = Some(files);
        self
    }

    /// The store under the rules. Only for what works beneath them: the binary's bulk seed
    /// loader, the webhook outbox worker and tests. Dialects go through `Crm`'s methods (their
    /// `clippy.toml` refuses this one).
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// The connection pool's size and idle connections.
    pub fn pool_stats(&self) -> (u32, usize) {
        self.store.pool_stats()
    }

    /// Which database the CRM runs on.
    pub fn backend(&self) -> kith_store::Backend {
        self.store.backend()
    }

    /// Whether the database holds any account yet.
    pub async fn has_accounts(&self) -> Result<bool> {
        Ok(self.store.has_accounts().await?)
    }

    /// Closes the database's connections (at shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Creates the schema, or brings it up to date.
    pub async fn migrate(&self) -> Result<u32> {
        Ok(self.store.migrate(&crate::model::specs()).await?)
    }

    pub(crate) async fn begin(&self, actor: Actor) -> Result<Tx> {
        Ok(self.store.begin(actor.account_id, Some(actor.user_id)).await?)
    }

    /// One live record, or `NotFound` (also for records of other accounts).
    pub async fn get<E: Entity>(&self, actor: Actor, id: i64) -> Result<E> {
        self.find::<E>(actor, id).await?.ok_or(DomainError::NotFound { kind: E::SPEC.kind })
    }

    /// A record whether live or soft-deleted (what a change event is about may be gone).
    pub async fn find_any<E: Entity>(&self, actor: Actor, id: i64) -> Result<Option<E>> {
        self.store.get(actor.account_id, E::SPEC, id, Visibility::All).await?.map(E::from_row).transpose()
    }

    pub async fn find<E: Entity>(&self, actor: Actor, id: i64) -> Result<Option<E>> {
        self.store.get(actor.account_id, E::SPEC, id, Visibility::Live).await?.map(E::from_row).transpose()
    }

    /// A page of records; its total, when asked for, may come from a cache that any write
    /// committed by this process clears, and that is at most `cache::TTL` old.
    pub async fn list<E: Entity>(&self, actor: Actor, q: &ListQuery) -> Result<ListPage<E>> {
        if !q.with_total {
            return self.store.list(actor.account_id, E::SPEC, q).await?.try_map(E::from_row);
        }
        let generation = self.store.generation_all();
        let key = (actor.account_id, format!("{}|{:?}|{:?}", E::SPEC.table, q.visibility, q.filter));
        let total = match self.caches.counts.get(&key, generation) {
            Some(n) => n,
            None => {
                let n = self.store.count(actor.account_id, E::SPEC, q).await?;
                self.caches.counts.put(key, n, generation);
                n
            }
        };
        let page = ListQuery { with_total: false, ..q.clone() };
        let mut out = self.store.list(actor.account_id, E::SPEC, &page).await?.try_map(E::from_row)?;
        out.total = Some(total);
        Ok(out)
    }

    /// Every live record matching `filter` (for small reference lists: statuses, fields…).
    pub async fn all<E: Entity>(&self, actor: Actor, filter: Option<Filter>) -> Result<Vec<E>> {
        let mut q = ListQuery::all().sort(kith_store::Sort::asc("id"));
        q.filter = filter;
        Ok(self.list::<E>(actor, &q).await?.rows)
    }

    /// Creates a record as given (after normalising). For entities without rules of their own.
    pub async fn create<E: Entity>(&self, actor: Actor, record: E) -> Result<E> {
        let mut tx = self.begin(actor).await?;
        let record = insert_in(&mut tx, record).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Replaces the writable fields of a record with `record`'s.
    pub async fn save<E: Entity>(&self, actor: Actor, mut record: E) -> Result<E> {
        record.normalize();
        let mut tx = self.begin(actor).await?;
        let saved = save_in(&mut tx, &record).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Soft-deletes (or deletes) a record. `NotFound` when there is no live record.
    pub async fn delete<E: Entity>(&self, actor: Actor, id: i64) -> Result<()> {
        let mut tx = self.begin(actor).await?;
        if !tx.delete(E::SPEC, id).await? {
            return Err(DomainError::NotFound { kind: E::SPEC.kind });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Restores a soft-deleted record. `NotFound` when there is no deleted record.
    pub async fn restore<E: Entity>(&self, actor: Actor, id: i64) -> Result<E> {
        let mut tx = self.begin(actor).await?;
        if !tx.restore(E::SPEC, id).await? {
            return Err(DomainError::NotFound { kind: E::SPEC.kind });
        }
        let row = tx.get(E::SPEC, id, Visibility::Live).await?.ok_or(DomainError::NotFound { kind: E::SPEC.kind })?;
        tx.commit().await?;
        E::from_row(row)
    }

    /// The calling user.
    pub async fn me(&self, actor: Actor) -> Result<User> {
        self.get::<User>(actor, actor.user_id).await
    }
}

/// Writes every column of `record` over the live row with its id, inside `tx`.
pub(crate) async fn save_in<E: Entity>(tx: &mut Tx, record: &E) -> Result<E> {
    let spec = E::SPEC;
    let changes: Vec<(&str, kith_store::Value)> = spec.columns.iter().map(|c| c.name).zip(record.values()).collect();
    let row = tx.update(spec, record.id(), &changes).await?.ok_or(DomainError::NotFound { kind: spec.kind })?;
    keep_taggings(tx, &row, spec).await?;
    E::from_row(row)
}

/// A record with a `tags` column keeps its taggings (what tag filters, renames and deletions
/// go through) in step with it on every write.
async fn keep_taggings(tx: &mut Tx, row: &kith_store::Row, spec: &kith_store::EntitySpec) -> Result<()> {
    let Some(pos) = spec.position("tags") else { return Ok(()) };
    let tags: Vec<String> = match row.values.get(pos) {
        Some(kith_store::Value::Json(v)) => serde_json::from_value(v.clone()).unwrap_or_default(),
        _ => Vec::new(),
    };
    // Boxed: setting taggings inserts rows through `insert_in` again.
    Box::pin(crate::contacts::set_taggings(tx, spec.kind, row.id, &tags)).await
}

/// A live record inside a transaction, or `NotFound`.
pub(crate) async fn get_in<E: Entity>(tx: &mut Tx, id: i64) -> Result<E> {
    let row = tx.get(E::SPEC, id, Visibility::Live).await?.ok_or(DomainError::NotFound { kind: E::SPEC.kind })?;
    E::from_row(row)
}

/// Inserts a normalised record inside a transaction.
pub(crate) async fn insert_in<E: Entity>(tx: &mut Tx, mut record: E) -> Result<E> {
    record.normalize();
    let row = tx.insert(E::SPEC, record.values()).await?;
    keep_taggings(tx, &row, E::SPEC).await?;
    E::from_row(row)
}
