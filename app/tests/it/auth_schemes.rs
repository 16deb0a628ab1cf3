//! The shared auth layer resolves each vendor's credential form to (account, user).

use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use base64::Engine;
use kith_domain::Actor;
use kith_http::{AuthFailure, Scheme, authenticate};
use kith_onepage::wire::{hex_id, parse_id};

fn auth(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
    h
}

#[tokio::test]
async fn each_scheme_resolves_to_the_keys_account_and_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("k.db").display());
    let crm = kith::open(&url, 2, kith::local_files(dir.path(), "http://127.0.0.1")).await.expect("open");
    let acc = crm.create_account("Acme", "a@acme.test").await.expect("account");
    let other = crm.create_account("Other", "o@other.test").await.expect("account");
    let me = Actor { account_id: acc.account_id, user_id: acc.user_id };
    let key = &acc.key.secret;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{key}", hex_id(acc.user_id)));
    let all = [Scheme::Basic, Scheme::Bearer, Scheme::Bare, Scheme::Token];

    for (headers, query) in [
        (auth(&format!("Basic {basic}")), None),
        (auth(&format!("Bearer {key}")), None),
        (auth(key), None),
        (HeaderMap::new(), Some(format!("token={key}"))),
    ] {
        let got = authenticate(&crm, &headers, query.as_deref(), &all, parse_id).await;
        assert_eq!(got.ok(), Some(me));
    }
    // A scheme the dialect does not accept is as good as no credentials.
    let r = authenticate(&crm, &auth(&format!("Bearer {key}")), None, &[Scheme::Basic], parse_id).await;
    assert!(matches!(r, Err(AuthFailure::Missing)));
    // Basic with another user's id, a wrong key, or a revoked key is refused.
    let wrong_user = base64::engine::general_purpose::STANDARD.encode(format!("{}:{key}", hex_id(other.user_id)));
    for h in [auth(&format!("Basic {wrong_user}")), auth(&format!("Bearer {}", "x".repeat(64))), auth("short")] {
        assert!(matches!(authenticate(&crm, &h, None, &all, parse_id).await, Err(AuthFailure::Invalid)));
    }
    crm.revoke_key(acc.account_id, acc.key.key_id).await.expect("revoke");
    let r = authenticate(&crm, &auth(&format!("Bearer {key}")), None, &all, parse_id).await;
    assert!(matches!(r, Err(AuthFailure::Invalid)));
}
