//! Device synchronisation (Sell's Sync API): a device receives every live record of the kinds it
//! syncs once, then only what changed since it acknowledged what it received.
//!
//! A record's revision is its number of events (see `kith_store::sync`). A session walks the
//! records with revisions the device has not acknowledged, in `(kind, id)` order, one page at a
//! time; what it handed out it does not hand out again, so a client that never acknowledges
//! still reaches the end. What is not acknowledged comes again in the next session. An item is
//! `created` for a record the device does not hold, `updated` for one it holds, and `deleted`
//! for one it holds that is gone; a record it never held that is gone already is skipped (and
//! acknowledged for it, so it stops being pending).

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, Utc};
use kith_store::{Ack, Pending, SyncPosition};

use crate::crm::{Actor, Crm};
use crate::error::{DomainError, Result};

/// The longest device id accepted.
pub const DEVICE_MAX: usize = 255;
/// The most acknowledgement keys one call takes.
pub const MAX_ACK_KEYS: usize = 1000;
/// Sessions of a device older than this are forgotten when it starts another.
pub const SESSION_LIFETIME_HOURS: i64 = 24;

/// Whether a client's device id can be used: not blank, not too long, no control characters.
pub fn valid_device(device: &str) -> bool {
    let d = device.trim();
    !d.is_empty() && d.chars().count() <= DEVICE_MAX && !d.chars().any(char::is_control)
}

fn check_device(device: &str) -> Result<&str> {
    if valid_device(device) { Ok(device.trim()) } else { Err(DomainError::invalid("device_uuid", "is not valid")) }
}

/// A started session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSession {
    /// The id clients use (a UUID).
    pub id: String,
    /// Records with changes to hand out when the session started.
    pub total_count: u64,
}

/// What an item tells the device to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncEvent {
    Created,
    Updated,
    Deleted,
}

impl SyncEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncEvent::Created => "created",
            SyncEvent::Updated => "updated",
            SyncEvent::Deleted => "deleted",
        }
    }
}

/// One record handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncItem {
    /// The model's entity kind (`contact`, `company`, …).
    pub kind: String,
    pub id: i64,
    pub revision: i64,
    pub event: SyncEvent,
}

impl SyncItem {
    /// The key that acknowledges this item.
    pub fn ack_key(&self) -> String {
        AckKey {
            kind: self.kind.clone(),
            id: self.id,
            revision: self.revision,
            present: self.event != SyncEvent::Deleted,
        }
        .to_string()
    }
}

/// An acknowledgement key: `Contact-123-4` (kind, id, revision) for a record handed out live,
/// with `-deleted` after it for one handed out deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckKey {
    pub kind: String,
    pub id: i64,
    pub revision: i64,
    pub present: bool,
}

const DELETED_SUFFIX: &str = "-deleted";

impl std::fmt::Display for AckKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in self.kind.split('_') {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                write!(f, "{}{}", first.to_ascii_uppercase(), chars.as_str())?;
            }
        }
        write!(f, "-{}-{}{}", self.id, self.revision, if self.present { "" } else { DELETED_SUFFIX })
    }
}

impl AckKey {
    /// Reads a key of one of `kinds`; `None` for anything else.
    pub fn parse(key: &str, kinds: &[&str]) -> Option<AckKey> {
        let (rest, present) = match key.strip_suffix(DELETED_SUFFIX) {
            Some(rest) => (rest, false),
            None => (key, true),
        };
        let mut parts = rest.rsplitn(3, '-');
        let revision: i64 = parts.next()?.parse().ok().filter(|r| *r > 0)?;
        let id: i64 = parts.next()?.parse().ok().filter(|i| *i > 0)?;
        let camel = parts.next()?;
        if camel.is_empty() || !camel.chars().all(|c| c.is_ascii_alphabetic()) || !camel.starts_with(char::is_uppercase)
        {
            return None;
        }
        let mut kind = String::new();
        for c in camel.chars() {
            if c.is_ascii_uppercase() && !kind.is_empty() {
                kind.push('_');
            }
            kind.push(c.to_ascii_lowercase());
        }
        kinds.contains(&kind.as_str()).then_some(AckKey { kind, id, revision, present })
    }
}

impl Crm {
    /// Starts a session for `device` over the records of `kinds`; `None` when nothing waits.
    pub async fn start_sync(&self, actor: Actor, device: &str, kinds: &[&str]) -> Result<Option<SyncSession>> {
        let device = check_device(device)?;
        if kinds.contains(&"choice") {
            // Lists get their default values when first read: a device sees them too.
            for list in crate::choices::SYNCED_LISTS {
                self.choices(actor, list).await?;
            }
        }
        let total_count = self.store().count_pending(actor.account_id, device, kinds).await?;
        if total_count == 0 {
            return Ok(None);
        }
        let token = uuid::Uuid::new_v4().to_string();
        let mut tx = self.begin(actor).await?;
        tx.expire_sync_sessions(device, Utc::now() - Duration::hours(SESSION_LIFETIME_HOURS)).await?;
        tx.create_sync_session(&token, device, actor.user_id, total_count).await?;
        tx.commit().await?;
        Ok(Some(SyncSession { id: token, total_count }))
    }

    /// The next page (at most `limit` items) of a session of `device`, or `None` once the
    /// session has handed out everything. `NotFound` for a session of another device or
    /// account.
    pub async fn sync_page(
        &self,
        actor: Actor,
        device: &str,
        session_id: &str,
        kinds: &[&str],
        limit: usize,
    ) -> Result<Option<Vec<SyncItem>>> {
        let device = check_device(device)?;
        let not_found = || DomainError::NotFound { kind: "sync session" };
        if uuid::Uuid::parse_str(session_id).is_err() {
            return Err(not_found());
        }
        let store = self.store();
        let limit = limit.max(1) as u64;
        loop {
            let session = store.sync_session(actor.account_id, session_id).await?.ok_or_else(not_found)?;
            if session.device != device {
                return Err(not_found());
            }
            if session.finished {
                return Ok(None);
            }
            let pending = store.pending_after(actor.account_id, device, kinds, &session.after, limit).await?;
            let Some(last) = pending.last() else {
                let mut tx = self.begin(actor).await?;
                if tx.advance_sync_session(session.id, &session.after, &session.after, true).await? {
                    tx.commit().await?;
                    return Ok(None);
                }
                continue;
            };
            let to = SyncPosition { kind: last.kind.clone(), id: last.id };
            let (items, skipped) = self.classify(actor, pending).await?;
            let mut tx = self.begin(actor).await?;
            if !tx.advance_sync_session(session.id, &session.after, &to, false).await? {
                // Another request served this page: read the session again.
                continue;
            }
            tx.ack_sync(device, &skipped).await?;
            tx.commit().await?;
            if !items.is_empty() {
                return Ok(Some(items));
            }
        }
    }

    /// Items for pending records, and acknowledgements for the records to skip (gone before the
    /// device ever held them).
    async fn classify(&self, actor: Actor, pending: Vec<Pending>) -> Result<(Vec<SyncItem>, Vec<Ack>)> {
        let mut by_kind: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for p in &pending {
            by_kind.entry(p.kind.as_str()).or_default().push(p.id);
        }
        let mut live: HashSet<(String, i64)> = HashSet::new();
        for (kind, ids) in by_kind {
            let Some(spec) = crate::model::specs().into_iter().find(|s| s.kind == kind) else { continue };
            for row in self.store().get_many(actor.account_id, spec, &ids).await? {
                live.insert((kind.to_owned(), row.id));
            }
        }
        let mut items = Vec::new();
        let mut skipped = Vec::new();
        for p in pending {
            let held = p.acked.is_some_and(|a| a.present);
            let event = match (live.contains(&(p.kind.clone(), p.id)), held) {
                (true, false) => SyncEvent::Created,
                (true, true) => SyncEvent::Updated,
                (false, true) => SyncEvent::Deleted,
                (false, false) => {
                    skipped.push(Ack { kind: p.kind, id: p.id, revision: p.revision, present: false });
                    continue;
                }
            };
            items.push(SyncItem { kind: p.kind, id: p.id, revision: p.revision, event });
        }
        Ok((items, skipped))
    }

    /// Records what `device` acknowledges: each key says which revision of a record of one of
    /// `kinds` it now holds. A key that is not one of ours is invalid (`ack_keys`), and so is
    /// a list of more than `MAX_ACK_KEYS`.
    pub async fn ack_sync(&self, actor: Actor, device: &str, keys: &[String], kinds: &[&str]) -> Result<()> {
        let device = check_device(device)?;
        if keys.len() > MAX_ACK_KEYS {
            return Err(DomainError::invalid("ack_keys", format!("must have at most {MAX_ACK_KEYS} keys")));
        }
        let mut newest: BTreeMap<(String, i64), AckKey> = BTreeMap::new();
        let mut bad = Vec::new();
        for key in keys {
            match AckKey::parse(key, kinds) {
                Some(k) => {
                    let slot = (k.kind.clone(), k.id);
                    if newest.get(&slot).is_none_or(|old| old.revision < k.revision) {
                        newest.insert(slot, k);
                    }
                }
                None => bad.push(format!("{key:?}")),
            }
        }
        if !bad.is_empty() {
            bad.truncate(5);
            return Err(DomainError::invalid(
                "ack_keys",
                format!("has keys that are not acknowledgement keys: {}", bad.join(", ")),
            ));
        }
        if newest.is_empty() {
            return Ok(());
        }
        let acks: Vec<Ack> = newest
            .into_values()
            .map(|k| Ack { kind: k.kind, id: k.id, revision: k.revision, present: k.present })
            .collect();
        let mut tx = self.begin(actor).await?;
        tx.ack_sync(device, &acks).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[&str] = &["contact", "loss_reason", "user"];

    #[test]
    fn ack_keys_round_trip() {
        for (kind, present, text) in [
            ("contact", true, "Contact-123-4"),
            ("loss_reason", true, "LossReason-9-1"),
            ("user", false, "User-7-2-deleted"),
        ] {
            let key = AckKey {
                kind: kind.into(),
                id: text.split('-').nth(1).unwrap().parse().unwrap(),
                revision: 0,
                present,
            };
            let parsed = AckKey::parse(text, KINDS).expect(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!((parsed.kind.as_str(), parsed.id, parsed.present), (kind, key.id, present));
        }
    }

    #[test]
    fn malformed_ack_keys() {
        for text in [
            "",
            "Contact",
            "Contact-1",
            "Contact-x-1",
            "Contact-1-0",
            "Contact--1",
            "Contact-1-1-gone",
            "contact-1-1",
            "Tagging-1-1",
            "Con tact-1-1",
            "-1-1",
            "Contact-1-1-deleted-deleted",
            "Contact-1--1",
        ] {
            assert_eq!(AckKey::parse(text, KINDS), None, "{text}");
        }
    }

    #[test]
    fn devices() {
        assert!(valid_device("6dadcec8-6e61-4691-b318-1aab27b8fecf"));
        assert!(!valid_device("  "));
        assert!(!valid_device(&"x".repeat(DEVICE_MAX + 1)));
        assert!(!valid_device("a\nb"));
    }
}
