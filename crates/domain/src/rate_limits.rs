//! The API rate limit: at most `requests` per API key in each fixed window of `window_secs`
//! seconds (200 per 10 s by default). The count lives in the database (`RateCounter` rows,
//! written by `Store::hit_counter`), so every replica serving one database shares it; one
//! request is one atomic statement.

use sha2::{Digest, Sha256};

use crate::crm::{Actor, Crm};
use crate::entity::Entity;
use crate::error::Result;
use crate::model::RateCounter;

/// How many requests a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window_secs: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { requests: 200, window_secs: 10 }
    }
}

/// Where a key stands after one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// The requests a window allows.
    pub limit: u32,
    /// The requests left in this window (0 once over).
    pub remaining: u32,
    /// Whole seconds until the window ends (at least 1).
    pub reset_secs: u32,
    /// Whether this request is within the limit.
    pub allowed: bool,
}

/// The counter of a presented key: a positive number from its SHA-256 (keys are never stored
/// in the clear, here neither).
pub fn counter_of(key: &str) -> i64 {
    let digest = Sha256::digest(key.trim().as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (i64::from_be_bytes(bytes) & i64::MAX).max(1)
}

/// The start of the window holding `now` (seconds since 1970).
pub fn window_start(now: i64, window_secs: u32) -> i64 {
    let w = i64::from(window_secs.max(1));
    now.div_euclid(w) * w
}

/// The state after `hits` requests in the window starting at `start`, at `now`.
pub fn state(limit: RateLimit, hits: i64, start: i64, now: i64) -> RateState {
    let allowed = hits <= i64::from(limit.requests);
    let remaining = (i64::from(limit.requests) - hits).clamp(0, i64::from(limit.requests)) as u32;
    let end = start + i64::from(limit.window_secs.max(1));
    let reset_secs = (end - now).clamp(1, i64::from(limit.window_secs.max(1))) as u32;
    RateState { limit: limit.requests, remaining, reset_secs, allowed }
}

impl Crm {
    /// Counts one request made with `key` by `actor` and says whether it is within `limit`.
    pub async fn hit_rate_limit(&self, actor: Actor, key: &str, limit: RateLimit) -> Result<RateState> {
        let now = chrono::Utc::now().timestamp();
        let start = window_start(now, limit.window_secs);
        let (hits, counted_in) =
            self.store().hit_counter(RateCounter::SPEC, actor.account_id, counter_of(key), start).await?;
        Ok(state(limit, hits, counted_in, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_aligned() {
        assert_eq!(window_start(1_000_009, 10), 1_000_000);
        assert_eq!(window_start(1_000_010, 10), 1_000_010);
        assert_eq!(window_start(5, 0), 5, "a zero window is one second");
    }

    #[test]
    fn the_limit_allows_exactly_its_requests() {
        let l = RateLimit { requests: 3, window_secs: 10 };
        assert_eq!(state(l, 1, 100, 103), RateState { limit: 3, remaining: 2, reset_secs: 7, allowed: true });
        assert_eq!(state(l, 3, 100, 109), RateState { limit: 3, remaining: 0, reset_secs: 1, allowed: true });
        assert_eq!(state(l, 4, 100, 100), RateState { limit: 3, remaining: 0, reset_secs: 10, allowed: false });
    }

    #[test]
    fn counters_are_positive_and_per_key() {
        assert!(counter_of("a") > 0 && counter_of("b") > 0);
        assert_ne!(counter_of("a"), counter_of("b"));
        assert_eq!(counter_of(" a "), counter_of("a"));
    }

    #[tokio::test]
    async fn hits_are_counted_in_the_database() {
        let t = crate::testing::crm().await;
        let l = RateLimit { requests: 2, window_secs: 3600 };
        let first = t.crm.hit_rate_limit(t.actor, "k", l).await.expect("hit");
        let second = t.crm.hit_rate_limit(t.actor, "k", l).await.expect("hit");
        let third = t.crm.hit_rate_limit(t.actor, "k", l).await.expect("hit");
        // A window may end between two hits (then the count starts over and the reset jumps).
        if third.reset_secs <= first.reset_secs {
            assert_eq!((first.remaining, second.remaining), (1, 0));
            assert!(second.allowed && !third.allowed);
        }
        assert!(first.allowed);
    }
}
