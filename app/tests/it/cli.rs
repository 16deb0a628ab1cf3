//! The `kith` binary: first start on an empty directory, account administration, shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kith_store::testing::{PgTestDatabase, pg_url};

use crate::common::process::{BIN, free_port, kith_on};

/// Runs the binary on the SQLite database of a data directory: success, stdout, stderr.
fn run_on(data: &str, args: &[&str]) -> (bool, String, String) {
    kith_on(std::path::Path::new(data), args)
}

/// Runs `kith serve` on `args`, reads the printed user id and key, lists contacts with them,
/// then stops the server with SIGTERM and expects a clean exit.
async fn first_start_serves_contacts(args: &[&str]) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(args)
        .args(["serve", "--listen", &listen])
        .env_remove("KITH_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kith");
    let stdout = child.stdout.take().expect("stdout");
    // Read the first-start banner up to its curl line; the server keeps stdout open.
    let mut lines: Vec<String> = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let done = line.contains("curl -u");
        lines.push(line);
        if done || lines.len() > 20 {
            break;
        }
    }
    let field = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
    };
    let (user, key) = (field("user_id:"), field("api_key:"));
    assert_eq!(key.len(), 64);
    assert!(lines.iter().any(|l| l.contains("curl -u")), "{lines:?}");
    let client = reqwest::Client::new();
    let url = format!("http://{listen}/api/v3/contacts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let res = loop {
        match client.get(&url).basic_auth(&user, Some(&key)).send().await {
            Ok(r) => break r,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("server did not answer: {e}"),
        }
    };
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["data"]["total_count"], 0);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "kith exited with {exit:?}");
}

#[tokio::test]
async fn serve_on_an_empty_directory_prints_a_working_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    first_start_serves_contacts(&["--data-dir", data.to_str().expect("utf-8 path")]).await;
    assert!(data.join("kith.db").exists());
}

#[tokio::test]
async fn serve_on_an_empty_postgres_database_prints_a_working_key() {
    let Some(admin) = pg_url() else {
        eprintln!("note: KITH_TEST_DATABASE_URL is not set; skipping");
        return;
    };
    let db = PgTestDatabase::create(&admin).await;
    first_start_serves_contacts(&["--database", &db.url]).await;
}

#[test]
fn account_user_and_key_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let run = |args: &[&str]| run_on(&data, args);
    let (ok, out, err) = run(&["account", "create", "--name", "Acme", "--owner-email", "boss@acme.test", "--json"]);
    assert!(ok, "{err}");
    let acc: serde_json::Value = serde_json::from_str(out.trim()).expect("json output");
    let account = acc["account_id"].as_i64().expect("account_id").to_string();
    let user = acc["user_id"].as_str().expect("user_id");
    assert_eq!(user.len(), 24, "user_id is OnePage's 24-hex form");
    assert_eq!(acc["api_key"].as_str().map(str::len), Some(64));

    let (ok, out, err) = run(&["user", "add", "--account", &account, "--email", "rep@acme.test", "--json"]);
    assert!(ok, "{err}");
    let rep: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_ne!(rep["user_id"], acc["user_id"]);
    // The same email twice is refused.
    let (ok, _, _) = run(&["user", "add", "--account", &account, "--email", "rep@acme.test"]);
    assert!(!ok);

    let (ok, out, err) = run(&["key", "create", "--account", &account, "--user", user, "--label", "ci", "--json"]);
    assert!(ok, "{err}");
    let key: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let key_id = key["key_id"].as_i64().expect("key_id").to_string();
    let (ok, out, err) = run(&["key", "rotate", "--account", &account, "--key", &key_id, "--json"]);
    assert!(ok, "{err}");
    let rotated: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_ne!(rotated["api_key"], key["api_key"]);
    let (ok, out, _) = run(&["key", "list", "--account", &account, "--user", user]);
    assert!(ok);
    assert!(out.lines().any(|l| l.starts_with(&key_id) && l.ends_with("revoked")), "{out}");
    // Revoking an already revoked key fails; a key of another account is not found.
    assert!(!run(&["key", "revoke", "--account", &account, "--key", &key_id]).0);
    assert!(!run(&["key", "revoke", "--account", "1", "--key", &key_id]).0);
    let (ok, out, _) = run(&["migrate"]);
    assert!(ok && out.contains("schema at version"), "{out}");

    // Saved filters: conditions are checked when the filter is saved.
    let (ok, out, err) = run(&[
        "filter",
        "create",
        "--account",
        &account,
        "--name",
        "Hot leads",
        "--condition",
        "status eq lead",
        "--condition",
        "tag eq hot",
    ]);
    assert!(ok, "{err}");
    let filter_id = out.trim().to_owned();
    assert_eq!(filter_id.len(), 24);
    let (ok, _, err) =
        run(&["filter", "create", "--account", &account, "--name", "Bad", "--condition", "status eq nope"]);
    assert!(!ok && err.contains("nope"), "{err}");
    let (ok, _, _) = run(&["filter", "create", "--account", &account, "--name", "Bad", "--condition", "colour"]);
    assert!(!ok);
    let (ok, out, _) = run(&["filter", "list", "--account", &account]);
    assert!(ok && out.contains("Hot leads") && out.contains("status eq lead AND tag eq hot"), "{out}");
    assert!(run(&["filter", "delete", "--account", &account, "--id", &filter_id]).0);
    assert!(!run(&["filter", "delete", "--account", &account, "--id", &filter_id]).0);
}

#[test]
fn field_commands_define_list_and_delete_custom_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let run = |args: &[&str]| run_on(&data, args);
    let (ok, out, err) = run(&["account", "create", "--name", "Acme", "--owner-email", "boss@acme.test", "--json"]);
    assert!(ok, "{err}");
    let acc: serde_json::Value = serde_json::from_str(out.trim()).expect("json output");
    let account = acc["account_id"].as_i64().expect("account_id").to_string();
    let field = |args: &[&str]| {
        let mut all = vec!["field"];
        all.extend_from_slice(args);
        run(&all)
    };

    let (ok, out, err) =
        field(&["create", "--account", &account, "--entity", "contact", "--name", "Tier", "--type", "text"]);
    assert!(ok, "{err}");
    let tier = out.trim().to_owned();
    assert!(tier.parse::<i64>().is_ok(), "{out}");
    // Sell's type names are taken too; choices come in order.
    let (ok, out, err) = field(&[
        "create",
        "--account",
        &account,
        "--entity",
        "deal",
        "--name",
        "Colours",
        "--type",
        "multi_select_list",
        "--choice",
        "Red",
        "--choice",
        "Blue",
        "--json",
    ]);
    assert!(ok, "{err}");
    let colours: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(colours["type"], "multi_select");
    assert_eq!(colours["entity"], "deal");
    assert_eq!(colours["choices"], serde_json::json!(["Red", "Blue"]));
    let colours_id = colours["id"].as_i64().expect("id").to_string();

    // Refused: a type Kith has no kind for, list types without choices, a name taken for the
    // entity, an unknown entity, another account.
    let (ok, _, err) =
        field(&["create", "--account", &account, "--entity", "lead", "--name", "X", "--type", "datetime"]);
    assert!(!ok && err.contains("datetime"), "{err}");
    let (ok, _, err) =
        field(&["create", "--account", &account, "--entity", "lead", "--name", "X", "--type", "dropdown"]);
    assert!(!ok && err.contains("choices"), "{err}");
    let (ok, _, _) =
        field(&["create", "--account", &account, "--entity", "contact", "--name", "TIER", "--type", "number"]);
    assert!(!ok);
    let (ok, _, _) = field(&["create", "--account", &account, "--entity", "task", "--name", "X", "--type", "text"]);
    assert!(!ok);
    let (ok, _, _) = field(&["create", "--account", "999999", "--entity", "lead", "--name", "X", "--type", "text"]);
    assert!(!ok);

    let (ok, out, _) = field(&["list", "--account", &account]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [format!("{tier}\tcontact\tTier\ttext\t"), format!("{colours_id}\tdeal\tColours\tmulti_select\tRed, Blue")]
    );
    let (ok, out, _) = field(&["list", "--account", &account, "--entity", "deal"]);
    assert!(ok && out.lines().count() == 1 && out.contains("Colours"), "{out}");

    assert!(!field(&["delete", "--account", "999999", "--id", &tier]).0);
    assert!(field(&["delete", "--account", &account, "--id", &tier]).0);
    assert!(!field(&["delete", "--account", &account, "--id", &tier]).0);
    let (_, out, _) = field(&["list", "--account", &account]);
    assert!(!out.contains("Tier"), "{out}");
}
