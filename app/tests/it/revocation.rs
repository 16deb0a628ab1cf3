//! When a revoked API key stops working. The process that revokes a key refuses it from the
//! moment the revocation returns (the commit drops the cached caller); another process (the
//! command line revoking while `kith serve` runs, another replica) may still accept it from its
//! cache, but for no longer than `kith_domain::cache::TTL` after it last checked the key.

use std::process::Command;
use std::time::{Duration, Instant};

use kith_domain::cache::TTL;
use kith_onepage::wire::hex_id;

use crate::common::{self, App};

const BIN: &str = env!("CARGO_BIN_EXE_kith");

/// `GET /api/v3/contacts` with the owner's user id and `key`: the status.
async fn status_with(app: &App, key: &str) -> u16 {
    let res = app
        .client
        .get(format!("{}/api/v3/contacts", app.base))
        .basic_auth(hex_id(app.owner.user_id), Some(key))
        .send()
        .await
        .expect("request");
    res.status().as_u16()
}

#[tokio::test]
async fn a_key_revoked_by_the_server_is_refused_at_once() {
    for app in common::apps().await {
        let (account, user) = (app.owner.account_id, app.owner.user_id);
        let key = app.crm.create_key(account, user, "same-process").await.expect("key");
        // Checked once, so the server caches the caller behind it.
        assert_eq!(status_with(&app, &key.secret).await, 200, "{}", app.label);
        // `app.crm` is the server's own: revoking through it is revoking in the serving process.
        app.crm.revoke_key(account, key.key_id).await.expect("revoke");
        assert_eq!(status_with(&app, &key.secret).await, 401, "{}: refused the moment revoke returns", app.label);
        app.finish().await;
    }
}

#[tokio::test]
async fn a_key_revoked_by_another_process_is_refused_within_the_cache_ttl() {
    for app in common::apps().await {
        let (account, user) = (app.owner.account_id, app.owner.user_id);
        let key = app.crm.create_key(account, user, "other-process").await.expect("key");
        assert_eq!(status_with(&app, &key.secret).await, 200, "{}", app.label);
        // The server cached the key no later than now.
        let cached = Instant::now();

        let dir = tempfile::tempdir().expect("tempdir");
        let args: Vec<String> = vec![
            "--database".into(),
            app.database_url.clone(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "key".into(),
            "revoke".into(),
            "--account".into(),
            account.to_string(),
            "--key".into(),
            key.key_id.to_string(),
        ];
        let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output())
            .await
            .expect("join")
            .expect("run kith key revoke");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        // Until the server's entry expires it may still accept the key; once it has, it must not.
        let give_up = cached + TTL + Duration::from_secs(10);
        let mut accepted_after_revoke = 0;
        loop {
            let sent = Instant::now();
            match status_with(&app, &key.secret).await {
                401 => break,
                200 => {
                    assert!(
                        sent < cached + TTL,
                        "{}: accepted {:?} after the server last checked the key, longer than the cache keeps it",
                        app.label,
                        sent - cached
                    );
                    accepted_after_revoke += 1;
                }
                other => panic!("{}: status {other}", app.label),
            }
            assert!(Instant::now() < give_up, "{}: a revoked key still accepted", app.label);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("{}: accepted {accepted_after_revoke} time(s) after the revocation, within {TTL:?}", app.label);
        // And refused from then on.
        assert_eq!(status_with(&app, &key.secret).await, 401, "{}", app.label);
        app.finish().await;
    }
}

#[test]
fn the_revoke_help_states_the_cache_window() {
    let window = format!("within {} seconds", TTL.as_secs());
    for command in ["revoke", "rotate"] {
        let out = Command::new(BIN).args(["key", command, "--help"]).output().expect("run kith");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(&window), "`kith key {command} --help` should say {window:?}:\n{help}");
        assert!(!help.contains("stops working at once"), "{help}");
    }
}
