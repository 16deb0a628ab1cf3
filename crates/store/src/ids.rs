//! Ids unique across the whole database, on both backends and across replicas.
//!
//! SQLite has one writer, so an id is taken from a counter row inside the writing transaction
//! (a rollback gives it back). PostgreSQL hands out blocks from a sequence; `nextval` is not
//! transactional, so a block can be used by later transactions of this process without any
//! replica waiting on another.

use std::sync::Mutex;

/// Ids per PostgreSQL sequence step (the sequence's INCREMENT BY).
pub(crate) const PG_BLOCK: i64 = 100;

#[derive(Default)]
pub(crate) struct IdBlock {
    inner: Mutex<(i64, i64)>,
}

impl IdBlock {
    /// Takes an id from the current block, if one is left.
    pub fn take(&self) -> Option<i64> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.0 < g.1 {
            g.0 += 1;
            Some(g.0 - 1)
        } else {
            None
        }
    }

    /// Keeps the ids `from..to` of a block for later `take`s.
    pub fn install(&self, from: i64, to: i64) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *g = (from, to);
    }

    /// Installs a fresh block starting at `start` and returns its first id.
    pub fn refill(&self, start: i64) -> i64 {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *g = (start + 1, start + PG_BLOCK);
        start
    }
}
