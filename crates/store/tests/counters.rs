//! The rate-limit counters (`Store::hit_counter`) on SQLite and PostgreSQL: counts per window,
//! a new window starts over, counters are per account and per counter, and concurrent hits from
//! two handles on one database are each counted once.

mod common;

use common::*;
use kith_store::{Column, ColumnType, EntitySpec, Store};

/// A counter table as the domain declares one.
static COUNTERS: EntitySpec = EntitySpec {
    kind: "counter",
    table: "counters",
    columns: &[
        Column { name: "window_start", ty: ColumnType::Int, nullable: false, since: 1 },
        Column { name: "hits", ty: ColumnType::Int, nullable: false, since: 1 },
    ],
    soft_delete: false,
    indexes: &[],
    unique: &[],
    global_indexes: &[],
    since: 1,
};

async fn counter_backends() -> Vec<TestDb> {
    let dbs = empty_backends().await;
    for db in &dbs {
        db.store.migrate(&[&COUNTERS]).await.expect("migrate");
    }
    dbs
}

#[tokio::test]
async fn counters_count_per_window_and_start_over() {
    for db in counter_backends().await {
        let s = &db.store;
        assert_eq!(s.hit_counter(&COUNTERS, 1, 7, 1000).await.expect("hit"), (1, 1000), "{}", db.label);
        assert_eq!(s.hit_counter(&COUNTERS, 1, 7, 1000).await.expect("hit"), (2, 1000), "{}", db.label);
        assert_eq!(
            s.hit_counter(&COUNTERS, 1, 8, 1000).await.expect("hit"),
            (1, 1000),
            "another counter: {}",
            db.label
        );
        assert_eq!(
            s.hit_counter(&COUNTERS, 2, 7, 1000).await.expect("hit"),
            (1, 1000),
            "another account: {}",
            db.label
        );
        assert_eq!(s.hit_counter(&COUNTERS, 1, 7, 1010).await.expect("hit"), (1, 1010), "a new window: {}", db.label);
        // A process whose clock is behind counts in the current window, never resets it.
        assert_eq!(s.hit_counter(&COUNTERS, 1, 7, 1000).await.expect("hit"), (2, 1010), "{}", db.label);
        assert!(s.hit_counter(&kith_store::system::ACCOUNTS, 1, 7, 1000).await.is_err(), "no counter columns");
    }
}

#[tokio::test]
async fn concurrent_hits_from_two_handles_are_exact() {
    for db in counter_backends().await {
        let other = Store::connect(&db.url, &options()).await.expect("second handle");
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = if i % 2 == 0 { db.store.clone() } else { other.clone() };
            tasks.push(tokio::spawn(async move { s.hit_counter(&COUNTERS, 1, 9, 5000).await.expect("hit").0 }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await.expect("task"));
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=40).collect::<Vec<i64>>(), "each hit counted once: {}", db.label);
        other.close().await;
    }
}
