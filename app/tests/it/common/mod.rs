//! Starts the real server on a random loopback port over a fresh database, once per backend:
//! SQLite on a temp file always, PostgreSQL when `KITH_TEST_DATABASE_URL` is set.
#![allow(dead_code)]

pub mod apideck;
pub mod openapi;
pub mod process;
pub mod sell;
pub mod upsales;

use kith_domain::{Crm, NewAccount};
use kith_onepage::wire::hex_id;
use kith_store::testing::{PG_ENV, PgTestDatabase, pg_url};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct App {
    pub label: &'static str,
    pub base: String,
    pub crm: Crm,
    pub owner: NewAccount,
    pub client: reqwest::Client,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// Where stored files go.
    pub files_dir: tempfile::TempDir,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgTestDatabase>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

/// The settings the tests' servers run with: a small JSON body limit, default connection limits.
pub fn test_config() -> kith::ServeConfig {
    kith::ServeConfig::from(kith::Config { json_body_limit: 64 * 1024, ..Default::default() })
}

impl App {
    async fn start(
        label: &'static str,
        url: String,
        dir: Option<tempfile::TempDir>,
        pg: Option<PgTestDatabase>,
        config: kith::ServeConfig,
    ) -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let files_dir = tempfile::tempdir().expect("files dir");
        let crm = kith::open(&url, 4, kith::local_files(files_dir.path(), &base)).await.expect("open database");
        let owner = crm.create_account("Acme", "owner@acme.test").await.expect("create account");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_crm = crm.clone();
        let server = tokio::spawn(async move {
            let _ = kith::serve(listener, server_crm, config, async {
                let _ = rx.await;
            })
            .await;
        });
        App {
            label,
            base,
            crm,
            owner,
            client: reqwest::Client::new(),
            database_url: url,
            shutdown: Some(tx),
            server: Some(server),
            files_dir,
            _dir: dir,
            pg,
        }
    }

    /// Stops the server and drops the test's PostgreSQL database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        self.crm.store().close().await;
        drop(self.pg.take());
    }

    /// Another account with its owner and key.
    pub async fn other_account(&self) -> NewAccount {
        self.crm.create_account("Rival", "owner@rival.test").await.expect("create account")
    }

    /// A OnePage request as `who`.
    /// Every response is checked against the OpenAPI document's schema for its operation and status.
    pub async fn op_as(&self, who: &NewAccount, method: Method, path: &str, body: Option<Value>) -> Reply {
        let req = self
            .client
            .request(method.clone(), format!("{}/api/v3{path}", self.base))
            .basic_auth(hex_id(who.user_id), Some(&who.key.secret));
        let reply = self.send(req, body).await;
        if let Err(e) = openapi::ONEPAGE.check(method.as_str(), path, reply.status.as_u16(), &reply.body) {
            panic!("{}: {e}\nbody: {}", self.label, reply.body);
        }
        reply
    }

    /// A OnePage request as the first account's owner.
    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.op_as(&self.owner, method, path, body).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder, body: Option<Value>) -> Reply {
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, body, headers }
    }
}

/// The server on each configured backend.
pub async fn apps() -> Vec<App> {
    apps_with(test_config()).await
}

/// The server on each configured backend, with these settings.
pub async fn apps_with(config: kith::ServeConfig) -> Vec<App> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("kith.db").display());
    let mut out = vec![App::start("sqlite", url, Some(dir), None, config.clone()).await];
    match pg_url() {
        Some(admin) => {
            let db = PgTestDatabase::create(&admin).await;
            out.push(App::start("postgres", db.url.clone(), None, Some(db), config).await);
        }
        None => eprintln!("note: {PG_ENV} is not set; running on SQLite only"),
    }
    out
}

/// Asserts a OnePage error body with the given HTTP status.
pub fn assert_error(r: &Reply, status: u16, error_name: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.body["status"], status, "body: {}", r.body);
    assert_eq!(r.body["error_name"], error_name, "body: {}", r.body);
    assert!(r.body["message"].is_string() && r.body["error_message"].is_string(), "body: {}", r.body);
}
