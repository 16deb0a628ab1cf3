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
/// Kinds whose writes invalidate cached custom-field definitions.
pub(crate) const CUSTOM_FIELD_KINDS: &[&str] = &["custom_field"];
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

/// Single flight: at most one caller at a time runs the work behind a key; the others wait for
/// it and then find its result in the cache (32 identical first requests run one count).
pub(crate) struct Flights<K> {
    map: Mutex<HashMap<K, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl<K: Hash + Eq + Clone> Default for Flights<K> {
    fn default() -> Self {
        Flights { map: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone> Flights<K> {
    /// Waits until no other caller is in flight for `key`; the flight lasts while the returned
    /// value lives.
    pub async fn enter(&self, key: &K) -> Flight<'_, K> {
        let slot = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        // Made before waiting, so a caller that gives up while waiting still cleans up.
        let mut flight = Flight { flights: self, key: key.clone(), slot: slot.clone(), _turn: None };
        flight._turn = Some(slot.lock_owned().await);
        flight
    }
}

pub(crate) struct Flight<'a, K: Hash + Eq + Clone> {
    flights: &'a Flights<K>,
    key: K,
    slot: std::sync::Arc<tokio::sync::Mutex<()>>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<K: Hash + Eq + Clone> Drop for Flight<'_, K> {
    fn drop(&mut self) {
        self._turn = None;
        let mut map = self.flights.map.lock().unwrap_or_else(|p| p.into_inner());
        // The map's handle and this one: nobody else waits for the key.
        if map.get(&self.key).is_some_and(|s| std::sync::Arc::ptr_eq(s, &self.slot))
            && std::sync::Arc::strong_count(&self.slot) == 2
        {
            map.remove(&self.key);
        }
    }
}

#[derive(Default)]
pub(crate) struct Caches {
    /// By key hash.
    pub auth: TtlCache<String, Actor>,
    /// By account id.
    pub lookups: TtlCache<i64, std::sync::Arc<Lookups>>,
    /// Custom-field definitions by account and kind of record.
    pub custom_fields: TtlCache<(i64, String), std::sync::Arc<Vec<crate::model::CustomFieldDefinition>>>,
    /// Row counts (list totals) by account and query.
    pub counts: TtlCache<(i64, String), u64>,
    /// Counts in flight, by the same keys.
    pub count_flights: Flights<(i64, String)>,
    /// Accounts' cursor-signing secrets (they never change once made).
    pub cursor_secrets: Mutex<HashMap<i64, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_flight_per_key_at_a_time() {
        let flights: std::sync::Arc<Flights<u32>> = Default::default();
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (flights, running, most) = (flights.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    let _f = flights.enter(&1).await;
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(flights.map.lock().unwrap().is_empty(), "finished flights leave nothing behind");
    }

    #[test]
    fn entries_expire_with_their_generation() {
        let c: TtlCache<&str, u32> = TtlCache::default();
        c.put("a", 1, 7);
        assert_eq!(c.get(&"a", 7), Some(1));
        assert_eq!(c.get(&"a", 8), None, "a write since the read makes the entry stale");
        assert_eq!(c.get(&"b", 7), None);
    }
}
