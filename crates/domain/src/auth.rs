//! Accounts, users and API keys. Keys are 64 random alphanumeric characters (the official
//! Sell client accepts no other length), shown once and stored as SHA-256.

use chrono::Utc;
use kith_store::{Filter, Json, Store, Value, Visibility, now};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crm::{Actor, Crm, get_in, insert_in, save_in};
use crate::entity::Entity;
use crate::error::{DomainError, Errors, Result};
use crate::model::{ApiKey, User};

pub const KEY_LEN: usize = 64;

/// A key as shown once to its owner.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key_id: i64,
    pub user_id: i64,
    pub secret: String,
}

/// What `create_account` made.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub account_id: i64,
    pub user_id: i64,
    pub key: IssuedKey,
}

/// An account (tenant) as its users see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

pub fn generate_key() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(KEY_LEN).map(char::from).collect()
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn well_formed(key: &str) -> bool {
    key.len() == KEY_LEN && key.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Crm {
    /// Creates an account with its owner, the default reference data and a first key.
    pub async fn create_account(&self, name: &str, owner_email: &str) -> Result<NewAccount> {
        let mut errors = Errors::default();
        if name.trim().is_empty() {
            errors.add("name", "is required");
        }
        validate_email(&mut errors, "owner_email", owner_email);
        errors.finish()?;
        let account_id = self.store().create_account(name).await?;
        let mut tx = self.store().begin(account_id, None).await?;
        let owner = insert_in(&mut tx, new_user(owner_email, "owner")).await?;
        crate::provision::defaults(&mut tx).await?;
        let key = issue_in(&mut tx, owner.id, "default").await?;
        tx.commit().await?;
        Ok(NewAccount { account_id, user_id: owner.id, key })
    }

    /// The caller's account.
    pub async fn account(&self, actor: Actor) -> Result<Account> {
        use kith_store::system::ACCOUNTS;
        let not_found = || DomainError::NotFound { kind: "account" };
        let row = self
            .store()
            .get(actor.account_id, &ACCOUNTS, actor.account_id, Visibility::All)
            .await?
            .ok_or_else(not_found)?;
        let name = match ACCOUNTS.position("name").and_then(|i| row.values.get(i)) {
            Some(Value::Text(name)) => name.clone(),
            _ => return Err(DomainError::corrupt("account", "name", "not text".into())),
        };
        Ok(Account { id: row.id, name, created_at: row.created_at, updated_at: row.updated_at })
    }

    /// Adds a user to the account, with a first key.
    pub async fn add_user(&self, account_id: i64, email: &str, role: &str) -> Result<(User, IssuedKey)> {
        let mut errors = Errors::default();
        validate_email(&mut errors, "email", email);
        if !matches!(role, "owner" | "admin" | "user") {
            errors.add("role", "must be owner, admin or user");
        }
        errors.finish()?;
        let mut tx = self.store().begin(account_id, None).await?;
        let user = insert_in(&mut tx, new_user(email, role)).await.map_err(|e| match e {
            DomainError::Conflict(_) => DomainError::Conflict(format!("a user with email {email} exists")),
            e => e,
        })?;
        let key = issue_in(&mut tx, user.id, "default").await?;
        tx.commit().await?;
        Ok((user, key))
    }

    /// Issues a new key for a user of the account.
    pub async fn create_key(&self, account_id: i64, user_id: i64, label: &str) -> Result<IssuedKey> {
        let mut tx = self.store().begin(account_id, None).await?;
        get_in::<User>(&mut tx, user_id).await?;
        let key = issue_in(&mut tx, user_id, label).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Revokes a key. This process refuses it from the moment this returns (the commit drops
    /// the callers it cached); another process that checked the key (a replica, the server when
    /// the command line revokes) may accept it from its cache for up to `cache::TTL` more.
    pub async fn revoke_key(&self, account_id: i64, key_id: i64) -> Result<()> {
        let mut tx = self.store().begin(account_id, None).await?;
        revoke_in(&mut tx, key_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// Revokes a key and issues its replacement for the same user, atomically.
    pub async fn rotate_key(&self, account_id: i64, key_id: i64) -> Result<IssuedKey> {
        let mut tx = self.store().begin(account_id, None).await?;
        let old = revoke_in(&mut tx, key_id).await?;
        let key = issue_in(&mut tx, old.user_id, &old.label).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Replaces the key the caller authenticated with (OnePage `change_auth_key`).
    pub async fn rotate_own_key(&self, actor: Actor, presented: &str) -> Result<IssuedKey> {
        let hash = hash_key(presented);
        let found = self.store().find_unscoped(ApiKey::SPEC, "hash", Value::Text(hash)).await?;
        match found {
            Some((account, row)) if account == actor.account_id => self.rotate_key(account, row.id).await,
            _ => Err(DomainError::Unauthorized),
        }
    }

    /// The keys of a user (without secrets).
    pub async fn keys(&self, account_id: i64, user_id: i64) -> Result<Vec<ApiKey>> {
        let actor = Actor { account_id, user_id };
        self.all::<ApiKey>(actor, Some(Filter::eq("user_id", user_id))).await
    }

    /// Resolves a presented key to its account and user. `expected_user`, when given, must be
    /// the key's user (HTTP Basic `user_id:api_key`). Any failure is `Unauthorized`, and says
    /// nothing about which part was wrong.
    pub async fn authenticate(&self, presented: &str, expected_user: Option<i64>) -> Result<Actor> {
        if !well_formed(presented) {
            return Err(DomainError::Unauthorized);
        }
        let hash = hash_key(presented);
        let generation = self.store().generation(crate::cache::AUTH_KINDS);
        if let Some(actor) = self.caches.auth.get(&hash, generation) {
            return match expected_user {
                Some(u) if u != actor.user_id => Err(DomainError::Unauthorized),
                _ => Ok(actor),
            };
        }
        let found = self.store().find_unscoped(ApiKey::SPEC, "hash", Value::Text(hash.clone())).await?;
        let Some((account_id, row)) = found else {
            return Err(DomainError::Unauthorized);
        };
        let key = ApiKey::from_row(row)?;
        let hash_ok: bool = key.hash.as_bytes().ct_eq(hash.as_bytes()).into();
        if !hash_ok || key.revoked_at.is_some() || expected_user.is_some_and(|u| u != key.user_id) {
            return Err(DomainError::Unauthorized);
        }
        let user = self.store().get(account_id, User::SPEC, key.user_id, Visibility::Live).await?;
        match user.map(User::from_row).transpose()? {
            Some(u) if u.active => {
                let actor = Actor { account_id, user_id: u.id };
                self.caches.auth.put(hash, actor, generation);
                Ok(actor)
            }
            _ => Err(DomainError::Unauthorized),
        }
    }
}

pub(crate) fn new_user(email: &str, role: &str) -> User {
    let t = Utc::now();
    User {
        id: 0,
        created_at: t,
        updated_at: t,
        deleted_at: None,
        email: email.trim().to_ascii_lowercase(),
        first_name: None,
        last_name: None,
        role: role.to_owned(),
        rights: Json(Vec::new()),
        active: true,
        timezone: None,
        phone: None,
        company_name: None,
    }
}

pub(crate) fn validate_email(errors: &mut Errors, field: &str, email: &str) {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if !valid {
        errors.add(field, "is not a valid email address");
    }
}

async fn issue_in(tx: &mut kith_store::Tx, user_id: i64, label: &str) -> Result<IssuedKey> {
    let secret = generate_key();
    let t = Utc::now();
    let key = insert_in(
        tx,
        ApiKey {
            id: 0,
            created_at: t,
            updated_at: t,
            deleted_at: None,
            user_id,
            label: label.to_owned(),
            prefix: secret[..8].to_owned(),
            hash: hash_key(&secret),
            last_used_at: None,
            revoked_at: None,
        },
    )
    .await?;
    Ok(IssuedKey { key_id: key.id, user_id, secret })
}

async fn revoke_in(tx: &mut kith_store::Tx, key_id: i64) -> Result<ApiKey> {
    let mut key = get_in::<ApiKey>(tx, key_id).await?;
    if key.revoked_at.is_some() {
        return Err(DomainError::Conflict("the key is already revoked".into()));
    }
    key.revoked_at = Some(now());
    save_in(tx, &key).await
}

/// Opens a store from a URL and migrates it.
pub async fn open(url: &str, opts: &kith_store::StoreOptions) -> Result<Crm> {
    let store = Store::connect(url, opts).await?;
    let crm = Crm::new(store);
    crm.migrate().await?;
    Ok(crm)
}
