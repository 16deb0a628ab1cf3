//! Idempotency keys on SQLite and (when `KITH_TEST_DATABASE_URL` is set) PostgreSQL: a key is
//! taken once per account, concurrent claims find the first, answers are kept, failed requests
//! free their key, and expired keys and abandoned leases are taken over.

mod common;

use chrono::{Duration, Utc};
use common::*;
use kith_store::{IdempotencyClaim, StoredAnswer};

#[tokio::test]
async fn a_key_is_taken_once_per_account_and_replays_its_answer() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("A").await.unwrap();
        let b = s.create_account("B").await.unwrap();
        let later = Utc::now() + Duration::hours(1);
        let id = match s.claim_idempotency_key(a, "k1", "f1", later, later).await.unwrap() {
            IdempotencyClaim::Claimed { id } => id,
            other => panic!("{l}: {other:?}"),
        };
        assert_eq!(
            s.claim_idempotency_key(a, "k1", "f1", later, later).await.unwrap(),
            IdempotencyClaim::Pending { fingerprint: "f1".into() },
            "{l}"
        );
        // Another account's key of the same name is another key.
        assert!(matches!(
            s.claim_idempotency_key(b, "k1", "f9", later, later).await.unwrap(),
            IdempotencyClaim::Claimed { .. }
        ));
        let answer = StoredAnswer { status: 201, body: r#"{"id":"1"}"#.into() };
        s.finish_idempotency_key(a, id, &answer).await.unwrap();
        assert_eq!(
            s.claim_idempotency_key(a, "k1", "f2", later, later).await.unwrap(),
            IdempotencyClaim::Done { fingerprint: "f1".into(), answer },
            "{l}"
        );

        // A released key is free again.
        let id = match s.claim_idempotency_key(a, "k2", "f1", later, later).await.unwrap() {
            IdempotencyClaim::Claimed { id } => id,
            other => panic!("{l}: {other:?}"),
        };
        s.release_idempotency_key(a, id).await.unwrap();
        assert!(matches!(
            s.claim_idempotency_key(a, "k2", "f1", later, later).await.unwrap(),
            IdempotencyClaim::Claimed { .. }
        ));

        // An expired key, and a pending key whose lease ran out, are taken over.
        let past = Utc::now() - Duration::seconds(5);
        let id = match s.claim_idempotency_key(a, "k3", "f1", past, later).await.unwrap() {
            IdempotencyClaim::Claimed { id } => id,
            other => panic!("{l}: {other:?}"),
        };
        s.finish_idempotency_key(a, id, &StoredAnswer { status: 201, body: "{}".into() }).await.unwrap();
        assert!(
            matches!(
                s.claim_idempotency_key(a, "k3", "f2", later, later).await.unwrap(),
                IdempotencyClaim::Claimed { .. }
            ),
            "{l}"
        );
        assert!(matches!(
            s.claim_idempotency_key(a, "k4", "f1", later, past).await.unwrap(),
            IdempotencyClaim::Claimed { .. }
        ));
        assert!(
            matches!(
                s.claim_idempotency_key(a, "k4", "f1", later, later).await.unwrap(),
                IdempotencyClaim::Claimed { .. }
            ),
            "{l}"
        );
        db.finish().await;
    }
}

#[tokio::test]
async fn concurrent_claims_of_one_key_let_one_through() {
    for db in backends().await {
        let s = db.store.clone();
        let a = s.create_account("A").await.unwrap();
        let later = Utc::now() + Duration::hours(1);
        let claims = futures_claims(&s, a, later).await;
        let winners = claims.iter().filter(|c| matches!(c, IdempotencyClaim::Claimed { .. })).count();
        assert_eq!(winners, 1, "{}: {claims:?}", db.label);
        db.finish().await;
    }
}

async fn futures_claims(s: &kith_store::Store, account: i64, later: chrono::DateTime<Utc>) -> Vec<IdempotencyClaim> {
    let mut handles = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        handles.push(tokio::spawn(async move { s.claim_idempotency_key(account, "same", "f", later, later).await }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}
