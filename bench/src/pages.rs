//! Deep pagination in the store itself: the same page of contacts by name, reached by offset
//! and by keyset cursor, timed in this process (no HTTP dialect pages by keyset yet).

use std::time::Instant;

use anyhow::{Context, bail};
use kith_domain::Entity;
use kith_domain::model::Contact;
use kith_store::{Cursor, ListQuery, Page, Sort, Store, StoreOptions, Value};
use serde::Serialize;

const ROUNDS: usize = 50;
const PAGE: u64 = 100;

#[derive(Debug, Clone, Serialize)]
pub struct DeepPages {
    /// 1-based page number of 100 rows.
    pub page: u64,
    pub offset: Timing,
    pub keyset: Timing,
}

/// Per-page latency over `ROUNDS` sequential reads, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub p50_us: u64,
    pub p99_us: u64,
}

fn query(page: Page) -> ListQuery {
    ListQuery::new(page).sort(Sort::asc("last_name")).sort(Sort::asc("first_name"))
}

pub async fn deep_pages(url: &str, account_id: i64, contacts: u64) -> anyhow::Result<DeepPages> {
    let store = Store::connect(url, &StoreOptions::default()).await?;
    let spec = Contact::SPEC;
    // Page 5,000, or the deepest full page of a smaller account.
    let page = (contacts / PAGE).clamp(1, 5_000);
    let offset = (page - 1) * PAGE;
    let before = if offset == 0 {
        None
    } else {
        let q = query(Page::Offset { offset: offset - 1, limit: 1 });
        let row = store.list(account_id, spec, &q).await?.rows.pop().context("no row before the page")?;
        let key = |name: &str| spec.position(name).map(|i| row.values[i].clone()).unwrap_or(Value::Null);
        Some(Cursor { keys: vec![key("last_name"), key("first_name")], id: row.id })
    };
    let by_offset = query(Page::Offset { offset, limit: PAGE });
    let by_keyset = query(Page::After { after: before, limit: PAGE });

    let a: Vec<i64> = store.list(account_id, spec, &by_offset).await?.rows.iter().map(|r| r.id).collect();
    let b: Vec<i64> = store.list(account_id, spec, &by_keyset).await?.rows.iter().map(|r| r.id).collect();
    if a != b {
        bail!("offset and keyset pages differ at page {page}");
    }
    let offset_timing = time(&store, account_id, &by_offset).await?;
    let keyset_timing = time(&store, account_id, &by_keyset).await?;
    store.close().await;
    Ok(DeepPages { page, offset: offset_timing, keyset: keyset_timing })
}

async fn time(store: &Store, account_id: i64, q: &ListQuery) -> anyhow::Result<Timing> {
    let mut samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        store.list(account_id, Contact::SPEC, q).await?;
        samples.push(started.elapsed().as_micros() as u64);
    }
    samples.sort_unstable();
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    Ok(Timing { p50_us: at(0.5), p99_us: at(0.99) })
}
