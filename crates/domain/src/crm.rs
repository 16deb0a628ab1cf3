//! The domain service: every dialect calls these. Each call is scoped to the caller's account.

use kith_store::{Filter, ListPage, ListQuery, Store, Tx, Visibility};

pub use crate::actor::Actor;
use crate::entity::Entity;
use crate::error::{DomainError, Result};
use crate::model::User;
pub(crate) use crate::records::{get_in, insert_in, save_in};

/// The CRM over one store.
#[derive(Clone)]
pub struct Crm {
    store: Store,
    pub(crate) caches: std::sync::Arc<crate::cache::Caches>,
    pub(crate) files: Option<crate::blobs::Files>,
    /// The payload formats webhooks can be given: the dialects that render one.
    pub(crate) webhook_formats: std::sync::Arc<Vec<&'static str>>,
    /// Where outgoing mail goes, when the server has an SMTP server.
    pub(crate) mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
}

impl Crm {
    pub fn new(store: Store) -> Self {
        Crm { store, caches: Default::default(), files: None, webhook_formats: Default::default(), mailer: None }
    }

    /// The payload formats a webhook may name (the server passes its dialects' names).
    pub fn with_webhook_formats(mut self, formats: Vec<&'static str>) -> Self {
        self.webhook_formats = std::sync::Arc::new(formats);
        self
    }

    /// Where stored files (attachments, photos, logos) go.
    pub fn with_files(mut self, files: crate::blobs::Files) -> Self {
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
        let version = self.store.migrate(&crate::model::specs()).await?;
        // Actions from before version 4 get their stream key (once: later runs find none empty).
        let empty = kith_store::Value::Text(String::new());
        self.store
            .fill_column(crate::model::Action::SPEC, "stream_key", empty, |row| {
                let action = crate::model::Action::from_row(row.clone()).map_err(|e| e.to_string())?;
                Ok(kith_store::Value::Text(action.stream_key()))
            })
            .await?;
        Ok(version)
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
        let key = (actor.account_id, format!("{}|{:?}|{:?}", E::SPEC.table, q.visibility, q.filter));
        let total = self.cached_count(key, self.store.count(actor.account_id, E::SPEC, q)).await?;
        let page = ListQuery { with_total: false, ..q.clone() };
        let mut out = self.store.list(actor.account_id, E::SPEC, &page).await?.try_map(E::from_row)?;
        out.total = Some(total);
        Ok(out)
    }

    /// A count from the cache of totals (see `list`), or `count`'s, run by one caller per key at
    /// a time: the callers that waited find it in the cache.
    async fn cached_count(
        &self,
        key: (i64, String),
        count: impl Future<Output = kith_store::Result<u64>>,
    ) -> Result<u64> {
        let generation = self.store.generation_all();
        if let Some(n) = self.caches.counts.get(&key, generation) {
            return Ok(n);
        }
        let _flight = self.caches.count_flights.enter(&key).await;
        if let Some(n) = self.caches.counts.get(&key, generation) {
            return Ok(n);
        }
        let n = count.await?;
        self.caches.counts.put(key, n, generation);
        Ok(n)
    }

    /// How many records `first_per` lists for `q` over all its pages, cached like list totals.
    pub(crate) async fn count_first_per(
        &self,
        actor: Actor,
        spec: &'static kith_store::EntitySpec,
        column: &str,
        q: &ListQuery,
    ) -> Result<u64> {
        let key = (actor.account_id, format!("{}|first {column}|{:?}|{:?}", spec.table, q.visibility, q.filter));
        self.cached_count(key, self.store.count_first_per(actor.account_id, spec, column, q)).await
    }

    /// Every live record matching `filter` (for small reference lists: statuses, fields…).
    pub async fn all<E: Entity>(&self, actor: Actor, filter: Option<Filter>) -> Result<Vec<E>> {
        let mut q = ListQuery::all().sort(kith_store::Sort::asc("id"));
        q.filter = filter;
        Ok(self.list::<E>(actor, &q).await?.rows)
    }

    /// Every live record matching `filter`, in the order of `sorts` (then id): for small
    /// reference lists shown whole in an order (statuses by position, …).
    pub async fn all_sorted<E: Entity>(
        &self,
        actor: Actor,
        filter: Option<Filter>,
        sorts: Vec<kith_store::Sort>,
    ) -> Result<Vec<E>> {
        let mut q = ListQuery::all();
        q.filter = filter;
        q.sorts = sorts;
        Ok(self.list::<E>(actor, &q).await?.rows)
    }

    /// Of the live records `q` matches, the first of each value of `column` in `q`'s order
    /// (each pipeline's first stage), listed and paged as `q` says.
    pub async fn first_per<E: Entity>(&self, actor: Actor, column: &str, q: &ListQuery) -> Result<ListPage<E>> {
        self.store.list_first_per(actor.account_id, E::SPEC, column, q).await?.try_map(E::from_row)
    }

    /// A page of the live records matching `filter`, group after group: those matching
    /// `groups[0]` first, in id order, then those of `groups[1]`, and so on. Records of no group
    /// are left out; a record in two groups is listed twice.
    pub async fn list_in_groups<E: Entity>(
        &self,
        actor: Actor,
        filter: Option<Filter>,
        groups: Vec<Filter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<E>> {
        let branches = groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| kith_store::UnionBranch {
                spec: E::SPEC,
                filter: Some(Filter::and(filter.clone(), g)),
                keys: vec![kith_store::Key::Int(i as i64)],
            })
            .collect();
        let q = kith_store::UnionQuery { branches, dirs: vec![kith_store::Dir::Asc], offset, limit, with_total: false };
        let ids: Vec<i64> =
            self.store.list_union(actor.account_id, &q).await?.rows.into_iter().map(|(_, id)| id).collect();
        let mut found: std::collections::HashMap<i64, E> = std::collections::HashMap::new();
        for row in self.store.get_many(actor.account_id, E::SPEC, &ids).await? {
            let e = E::from_row(row)?;
            found.insert(e.id(), e);
        }
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
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
