//! For the domain's own tests: a CRM over a fresh SQLite file, with one account.

use crate::{Actor, Crm};

/// A CRM over a new SQLite database in a temp folder (kept while the value lives).
pub(crate) struct TestCrm {
    pub crm: Crm,
    /// The account's owner.
    pub actor: Actor,
    _dir: tempfile::TempDir,
}

pub(crate) async fn crm() -> TestCrm {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("kith.db").display());
    let crm = crate::open(&url, &kith_store::StoreOptions::default()).await.unwrap_or_else(|e| panic!("open: {e}"));
    let acc = crm.create_account("Acme", "owner@acme.test").await.unwrap_or_else(|e| panic!("account: {e}"));
    TestCrm { crm, actor: Actor { account_id: acc.account_id, user_id: acc.user_id }, _dir: dir }
}

/// The fields of an `Invalid` error, or a panic naming what came instead.
pub(crate) fn invalid_fields<T: std::fmt::Debug>(r: crate::Result<T>) -> Vec<(String, String)> {
    match r {
        Err(crate::DomainError::Invalid(list)) => list.into_iter().map(|f| (f.field, f.message)).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}
