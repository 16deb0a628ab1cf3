//! `kith backup` and `kith restore`: a backup taken while clients write holds every write
//! acknowledged before it began, each record whole, and a restore puts it back under a server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::process::{
    all_contacts, create_account, free_port, kith, kith_on, spawn_server, stop, wait_until_up,
};

/// A contact a client was told was created: its id, its first name, and when the answer came.
type Acked = (String, String, Instant);

#[tokio::test]
async fn a_backup_taken_under_write_load_restores_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, backup) = (dir.path().join("data"), dir.path().join("backup"));
    let (user, key) = create_account(&data, "Backup");
    // A stored file, as an upload leaves one: the backup carries the files too.
    let stored = data.join("files").join("1").join("a-stored-file");
    std::fs::create_dir_all(stored.parent().expect("parent")).expect("files dir");
    std::fs::write(&stored, b"the bytes of a stored file").expect("write a stored file");

    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let server = spawn_server(&data, &listen, &[("KITH_NO_WEBHOOKS", "true")]);
    let client = reqwest::Client::new();
    wait_until_up(&client, &format!("{base}/healthz")).await;

    // Four clients create contacts until told to stop, each noting what was acknowledged.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let stopping = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, url, user, key) = (client.clone(), format!("{base}/api/v3/contacts"), user.clone(), key.clone());
        let (acked, stopping) = (acked.clone(), stopping.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stopping.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("W{w}n{n}");
                let body = json!({ "first_name": name, "last_name": format!("{name}-last") });
                let res = client.post(&url).basic_auth(&user, Some(&key)).json(&body).send().await.expect("create");
                assert_eq!(res.status(), 201);
                let created: Value = res.json().await.expect("json");
                let id = created["data"]["contact"]["id"].as_str().expect("id").to_owned();
                acked.lock().expect("acked").push((id, name, Instant::now()));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let began = Instant::now();
    let target = backup.clone();
    let data_dir = data.clone();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || kith_on(&data_dir, &["backup", target.to_str().expect("utf-8 path")]))
            .await
            .expect("backup");
    let finished = Instant::now();
    assert!(ok, "backup failed: {stderr}");
    assert!(stdout.contains("1 account(s)") && stdout.contains("1 stored file(s)"), "{stdout}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stopping.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    let acked = acked.lock().expect("acked").clone();
    let before: Vec<&Acked> = acked.iter().filter(|(_, _, at)| *at < began).collect();
    let after: Vec<&Acked> = acked.iter().filter(|(_, _, at)| *at > finished).collect();
    assert!(!before.is_empty() && !after.is_empty(), "the writes must go on around the backup");

    // A restore waits for the server to stop, and keeps a database that is there unless forced.
    let backup_arg = backup.to_str().expect("utf-8 path");
    let (ok, _, stderr) = kith_on(&data, &["restore", backup_arg]);
    assert!(!ok && stderr.contains("stop it before restoring"), "{stderr}");
    assert!(stop(server).success());
    let (ok, _, stderr) = kith_on(&data, &["restore", backup_arg]);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    let live_before_restore = std::fs::read_dir(&data).expect("data dir").count();
    let out = kith(&data, &["restore", "--force", backup_arg]);
    assert!(out.contains("1 stored file(s)"), "{out}");
    let kept = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("kith.db.before-restore-"));
    assert!(kept, "the replaced database is kept ({live_before_restore} entries before)");
    assert_eq!(std::fs::read(&stored).expect("restored file"), b"the bytes of a stored file");

    // The restored database, served: every write acknowledged before the backup, none made after
    // it, and every contact in it whole.
    let server = spawn_server(&data, &listen, &[("KITH_NO_WEBHOOKS", "true")]);
    wait_until_up(&client, &format!("{base}/healthz")).await;
    let restored = all_contacts(&client, &base, &user, &key).await;
    for (id, name, _) in &before {
        let (first, last) = restored
            .get(id)
            .unwrap_or_else(|| panic!("contact {id} ({name}) was acknowledged before the backup and is missing"));
        assert_eq!((first.as_str(), last.as_str()), (name.as_str(), format!("{name}-last").as_str()));
    }
    for (id, name, _) in &after {
        assert!(!restored.contains_key(id), "contact {id} ({name}) was made after the backup finished");
    }
    for (id, (first, last)) in &restored {
        assert_eq!(last, &format!("{first}-last"), "contact {id} is not whole");
    }
    assert!(stop(server).success());
}

#[test]
fn a_restore_refuses_what_is_not_a_whole_kith_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let refused = |source: &std::path::Path| {
        let (ok, _, stderr) = kith_on(&data, &["restore", "--force", source.to_str().expect("utf-8 path")]);
        assert!(!ok, "{} was restored", source.display());
        stderr
    };
    assert!(refused(&dir.path().join("missing.db")).contains("no such file"));
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).expect("write");
    assert!(refused(&garbage).contains("not a readable SQLite database"));
    let other = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&other).expect("open");
    conn.execute_batch("CREATE TABLE notes (body TEXT)").expect("create");
    drop(conn);
    assert!(refused(&other).contains("not a Kith database"));
    // Nothing was written where the database would go.
    assert!(!data.join("kith.db").exists());
}

#[test]
fn postgres_is_backed_up_with_its_own_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = "postgres://postgres@127.0.0.1:5432/kith";
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::common::process::BIN)
            .args(["--database", url])
            .args(args)
            .output()
            .expect("run kith");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let target = dir.path().join("b");
    let (ok, stderr) = run(&["backup", target.to_str().expect("utf-8 path")]);
    assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
    let (ok, stderr) = run(&["restore", target.to_str().expect("utf-8 path")]);
    assert!(!ok && stderr.contains("pg_restore"), "{stderr}");
}
