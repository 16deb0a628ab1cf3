//! The `kith` binary run as its users run it: commands on a data directory, and servers as child
//! processes on loopback ports.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_kith");

/// Runs `kith --data-dir DATA ARGS…` on the data directory's SQLite database: success, stdout,
/// stderr.
pub fn kith_on(data: &Path, args: &[&str]) -> (bool, String, String) {
    let dir = data.to_str().expect("utf-8 path");
    kith_with(&["--data-dir", dir], args)
}

/// Runs `kith DATABASE_ARGS… ARGS…` (`--data-dir D` or `--database URL`): success, stdout, stderr.
pub fn kith_with(database: &[&str], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(database).args(args).env_remove("KITH_DATABASE_URL").output().expect("run kith");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kith_on` that must succeed: its stdout.
pub fn kith(data: &Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = kith_on(data, args);
    assert!(ok, "kith {args:?}: {stderr}");
    stdout
}

/// A new account on the database `database` selects (see `kith_with`): its owner's user id and
/// API key.
pub fn create_account_with(database: &[&str], name: &str) -> (String, String) {
    let email = format!("owner@{}.test", name.to_lowercase());
    let (ok, out, err) = kith_with(database, &["account", "create", "--name", name, "--owner-email", &email, "--json"]);
    assert!(ok, "account create: {err}");
    let account: Value = serde_json::from_str(&out).expect("account json");
    let field = |f: &str| account[f].as_str().unwrap_or_else(|| panic!("no {f} in {account}")).to_owned();
    (field("user_id"), field("api_key"))
}

/// A new account on the data directory's database: its owner's user id and API key.
pub fn create_account(data: &Path, name: &str) -> (String, String) {
    create_account_with(&["--data-dir", data.to_str().expect("utf-8 path")], name)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// `kith serve` on a data directory, listening on `listen`, with `env` set; its output is
/// dropped.
pub fn spawn_server(data: &Path, listen: &str, env: &[(&str, &str)]) -> Child {
    spawn_server_with(&["--data-dir", data.to_str().expect("utf-8 path")], listen, env)
}

/// `kith DATABASE_ARGS… serve` (see `kith_with`), listening on `listen`, with `env` set.
pub fn spawn_server_with(database: &[&str], listen: &str, env: &[(&str, &str)]) -> Child {
    Command::new(BIN)
        .args(database)
        .args(["serve", "--listen", listen])
        .env_remove("KITH_DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kith")
}

/// Waits (up to 20 s) until `url` answers at all.
pub async fn wait_until_up(client: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(url).send().await.is_err() {
        assert!(Instant::now() < deadline, "{url} did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a server with SIGTERM and waits for it; its exit status.
pub fn stop(mut server: Child) -> std::process::ExitStatus {
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    server.wait().expect("wait for kith")
}

/// Every contact a server lists over the OnePage API, by id: (first name, last name).
pub async fn all_contacts(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    key: &str,
) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    for page in 1.. {
        let url = format!("{base}/api/v3/contacts?per_page=100&page={page}");
        let res = client.get(&url).basic_auth(user, Some(key)).send().await.expect("list contacts");
        assert_eq!(res.status(), 200, "{url}");
        let body: Value = res.json().await.expect("json");
        let rows = body["data"]["contacts"].as_array().cloned().unwrap_or_default();
        for row in &rows {
            let c = &row["contact"];
            let text = |f: &str| c[f].as_str().unwrap_or_default().to_owned();
            out.insert(text("id"), (text("first_name"), text("last_name")));
        }
        if rows.len() < 100 {
            break;
        }
    }
    out
}
