//! Short-lived, per-process caches of what nearly every request reads and few requests write:
//! the actor behind an API key, an account's statuses, lead sources and contact custom fields,
//! and list totals (a count over a million rows costs more than the page it goes with). An entry is used only while the store's generation for the kinds it was read from is
//! unchanged (any write to them committed by this process moves it) and for at most `TTL`, which
//! bounds how long a write made by another process (another replica, the CLI) goes unseen.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::actor::Actor;
use crate::lookups::Lookups;

pub const TTL: Duration = Duration::from_secs(2);
const MAX_ENTRIES: usize = 10_000;

/// Kinds whose writes invalidate a cached caller.
pub(crate) const AUTH_KINDS: &[&str] = &["api_key", "user"];
/// Kinds whose writes invalidate cached lookups.
pub(crate) const LOOKUP_KINDS: &[&str] = &["status", "lead_source", "custom_field"];

pub(crate) struct TtlCache<K, V> {
    map: Mutex<HashMap<K, (V, u64, Instant)>>,
}

impl<K: Hash + Eq, V: Clone> Default for TtlCache<K, V> {
    fn default() -> Self {
        TtlCache { map: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// The value, if it was stored at `generation` less than `TTL` ago.
    pub fn get(&self, key: &K, generation: u64) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|(_, g, at)| *g == generation && at.elapsed() < TTL).map(|(v, _, _)| v.clone())
    }

    /// Stores a value read at `generation` (taken before the read, so a write committed
    /// meanwhile makes the entry stale at once).
    pub fn put(&self, key: K, value: V, generation: u64) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, _, at)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, generation, Instant::now()));
    }
}

#[derive(Default)]
pub(crate) struct Caches {
    /// By key hash.
    pub auth: TtlCache<String, Actor>,
    /// By account id.
    pub lookups: TtlCache<i64, Lookups>,
    /// Row counts (list totals) by account and query.
    pub counts: TtlCache<(i64, String), u64>,
    /// Accounts' cursor-signing secrets (they never change once made).
    pub cursor_secrets: Mutex<HashMap<i64, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_with_their_generation() {
        let c: TtlCache<&str, u32> = TtlCache::default();
        c.put("a", 1, 7);
        assert_eq!(c.get(&"a", 7), Some(1));
        assert_eq!(c.get(&"a", 8), None, "a write since the read makes the entry stale");
        assert_eq!(c.get(&"b", 7), None);
    }
}
