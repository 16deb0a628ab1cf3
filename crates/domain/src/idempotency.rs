//! Idempotent creates. A client that sends a create with an idempotency key (Apideck's
//! `X-Unique-Transaction-ID`, the IETF draft's `Idempotency-Key`) may send it again — after a
//! timeout, a dropped connection — and get the first answer back, with nothing created twice.
//!
//! Rules:
//! - A key belongs to an account; other accounts' keys are other keys.
//! - A key is kept for `KEY_TTL` after its first use, then forgotten.
//! - The same key again with the same request (method, path and body: JSON bodies compared by
//!   value, so key order and spacing do not matter) replays the first answer.
//! - The same key with another request is refused (`Claim::Mismatch`), as is a retry that comes
//!   while the first request still runs (`Claim::InProgress`).
//! - Only a successful answer is kept: a request that failed frees its key, so a corrected
//!   request may use it.
//! - A request whose process died while holding the key frees it after `LEASE`.
//!
//! The key is taken in the database before the create runs (see `kith_store::idempotency`), so
//! this holds across replicas and restarts.

use chrono::{Duration, Utc};
use kith_store::{IdempotencyClaim, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::crm::{Actor, Crm};
use crate::error::{DomainError, Result};

/// How long a key is remembered after its first use.
pub const KEY_TTL: Duration = Duration::hours(24);
/// How long a request may hold a key before another may take it over (longer than any request
/// runs: the server abandons requests after 30 seconds by default).
pub const LEASE: Duration = Duration::minutes(5);
/// The longest key accepted.
pub const KEY_MAX: usize = 255;

/// What a request with a key is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Run the request, then `finish_idempotent` (success) or `release_idempotent` (failure).
    Run(Ticket),
    /// Answer this, as the first request was answered.
    Replay(StoredAnswer),
    /// The first request with the key has not finished.
    InProgress,
    /// The key was used for another request.
    Mismatch,
}

/// A key this request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    account_id: i64,
    id: i64,
}

/// The key a client sent, checked: 1 to `KEY_MAX` visible ASCII characters. `header` names it in
/// the error.
pub fn check_key(header: &str, key: &str) -> Result<String> {
    let key = key.trim();
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            header,
            format!("must be 1 to {KEY_MAX} visible ASCII characters (a UUID, for example)"),
        ));
    }
    Ok(key.to_owned())
}

/// What identifies a request for its key: `scope` (the dialect, method and path) and the body,
/// a JSON body by its value (serde_json's maps are ordered by key).
pub fn fingerprint(scope: &str, body: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => v.to_string().into_bytes(),
        Err(_) => body.to_vec(),
    };
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update(b"\n");
    h.update(&canonical);
    hex::encode(h.finalize())
}

/// The claim for a key found in the database, for a request with `fingerprint`.
fn decide(found: IdempotencyClaim, account_id: i64, fingerprint: &str) -> Claim {
    match found {
        IdempotencyClaim::Claimed { id } => Claim::Run(Ticket { account_id, id }),
        IdempotencyClaim::Done { fingerprint: f, .. } | IdempotencyClaim::Pending { fingerprint: f }
            if f != fingerprint =>
        {
            Claim::Mismatch
        }
        IdempotencyClaim::Done { answer, .. } => Claim::Replay(answer),
        IdempotencyClaim::Pending { .. } => Claim::InProgress,
    }
}

impl Crm {
    /// Takes `key` (checked with `check_key`) for a request with `fingerprint`, in the caller's
    /// account.
    pub async fn claim_idempotent(&self, actor: Actor, key: &str, fingerprint: &str) -> Result<Claim> {
        let now = Utc::now();
        let found =
            self.store().claim_idempotency_key(actor.account_id, key, fingerprint, now + KEY_TTL, now + LEASE).await?;
        Ok(decide(found, actor.account_id, fingerprint))
    }

    /// Keeps the answer of the request holding `ticket`, for retries.
    pub async fn finish_idempotent(&self, ticket: Ticket, status: u16, body: String) -> Result<()> {
        let answer = StoredAnswer { status, body };
        Ok(self.store().finish_idempotency_key(ticket.account_id, ticket.id, &answer).await?)
    }

    /// Frees the key of a request that failed.
    pub async fn release_idempotent(&self, ticket: Ticket) -> Result<()> {
        Ok(self.store().release_idempotency_key(ticket.account_id, ticket.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert_eq!(
            check_key("Idempotency-Key", " 8e03978e-40d5-43e8-bc93-6894a57f9324 ").ok().as_deref(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324")
        );
        for bad in ["", "   ", "a b", "é", &"k".repeat(KEY_MAX + 1)] {
            assert!(matches!(check_key("Idempotency-Key", bad), Err(DomainError::Invalid(_))), "{bad:?}");
        }
        assert!(check_key("Idempotency-Key", &"k".repeat(KEY_MAX)).is_ok());
    }

    #[test]
    fn json_bodies_are_compared_by_value() {
        let a = fingerprint("POST /crm/contacts", br#"{"first_name": "Ada", "last_name": "Lovelace"}"#);
        let b = fingerprint("POST /crm/contacts", br#"{"last_name":"Lovelace","first_name":"Ada"}"#);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint("POST /crm/contacts", br#"{"first_name":"Ada","last_name":"Byron"}"#));
        assert_ne!(a, fingerprint("POST /crm/leads", br#"{"first_name":"Ada","last_name":"Lovelace"}"#));
        // Not JSON: the bytes themselves.
        assert_ne!(fingerprint("p", b"a=1"), fingerprint("p", b"a=2"));
    }

    #[test]
    fn a_found_key_replays_only_the_same_request() {
        let answer = StoredAnswer { status: 201, body: "{}".into() };
        let done = || IdempotencyClaim::Done { fingerprint: "f1".into(), answer: answer.clone() };
        assert_eq!(decide(done(), 7, "f1"), Claim::Replay(answer.clone()));
        assert_eq!(decide(done(), 7, "f2"), Claim::Mismatch);
        assert_eq!(decide(IdempotencyClaim::Pending { fingerprint: "f1".into() }, 7, "f1"), Claim::InProgress);
        assert_eq!(decide(IdempotencyClaim::Pending { fingerprint: "f1".into() }, 7, "f2"), Claim::Mismatch);
        assert_eq!(decide(IdempotencyClaim::Claimed { id: 3 }, 7, "f1"), Claim::Run(Ticket { account_id: 7, id: 3 }));
    }
}
