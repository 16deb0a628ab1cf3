//! Webhooks end to end, against a real HTTP receiver on loopback: signed bodies in OnePage's
//! format, retries after 500s with the same body, per-webhook order, timeouts, the address
//! guard, disabling after the retry window, a `kill -9` in the middle of a delivery, and two
//! senders on one PostgreSQL database.

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{App, apps, assert_error};
use kith_domain::webhooks::NewWebhook;
use kith_onepage::wire::hex_id;
use reqwest::Method;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
    /// The status the receiver answered (0: it never answered, the sender was gone).
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(&name.to_ascii_lowercase()).map_or("", String::as_str)
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    fn delivery(&self) -> i64 {
        self.header("kith-delivery-id").parse().unwrap_or(-1)
    }
    fn event(&self) -> i64 {
        self.header("kith-event-id").parse().unwrap_or(-1)
    }
}

#[derive(Default)]
struct Script {
    /// Answer 500 to this many requests first.
    fail_first: AtomicUsize,
    /// Answer 500 to every request while set.
    always_fail: std::sync::atomic::AtomicBool,
    /// Hold this many first requests for `hold` before answering.
    hold_first: AtomicUsize,
    hold: Mutex<Duration>,
}

#[derive(Clone, Default)]
struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Script>,
}

impl Receiver {
    /// Starts on a random loopback port; returns its base URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new().route("/{*path}", post(receive)).with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn acknowledged(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.answered)).collect()
    }

    async fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.received()) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; received: {:#?}", self.received());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(State(rx): State<Receiver>, uri: axum::http::Uri, headers: HeaderMap, body: String) -> StatusCode {
    let headers: HashMap<String, String> =
        headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
    let index = {
        let mut log = rx.log.lock().expect("log");
        log.push(Received { path: uri.path().to_owned(), headers, body, answered: 0 });
        log.len() - 1
    };
    let take = |n: &AtomicUsize| n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok();
    if take(&rx.script.hold_first) {
        let hold = *rx.script.hold.lock().expect("hold");
        tokio::time::sleep(hold).await;
    }
    let status = if rx.script.always_fail.load(Ordering::SeqCst) || take(&rx.script.fail_first) {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    if let Ok(mut log) = rx.log.lock() {
        log[index].answered = status.as_u16();
    }
    status
}

fn quick_settings(allow_loopback: bool) -> kith_webhooks::Settings {
    kith_webhooks::Settings {
        timeout: Duration::from_secs(2),
        retry_base: Duration::from_millis(40),
        retry_max: Duration::from_millis(200),
        retry_for: Duration::from_secs(3600),
        poll: Duration::from_millis(20),
        lease_margin: Duration::from_millis(500),
        addresses: kith_webhooks::AddressPolicy {
            allow: if allow_loopback { vec!["127.0.0.0/8".parse().expect("cidr")] } else { Vec::new() },
        },
        ..Default::default()
    }
}

/// Runs a sender until the returned guard is dropped.
struct Running(Option<tokio::sync::oneshot::Sender<()>>, Option<tokio::task::JoinHandle<()>>);

impl Running {
    fn start(app: &App, settings: kith_webhooks::Settings) -> Running {
        Running::start_on(app.crm.clone(), settings)
    }

    /// A sender over its own handle to the database: another replica.
    fn start_on(crm: kith_domain::Crm, settings: kith_webhooks::Settings) -> Running {
        let sender = kith::webhook_sender(crm, settings).expect("sender");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(sender.run(async {
            let _ = rx.await;
        }));
        Running(Some(tx), Some(task))
    }
    async fn stop(mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.1.take() {
            let _ = t.await;
        }
    }
}

const SECRET: &str = "a-signing-secret-of-some-length";

async fn webhook(app: &App, url: String, events: &[&str]) -> kith_domain::webhooks::Webhook {
    let new = NewWebhook {
        name: "Receiver".into(),
        url,
        secret: Some(SECRET.into()),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        format: "onepage".into(),
    };
    app.crm.create_webhook(app.owner.account_id, new).await.expect("create webhook")
}

fn verify_signature(r: &Received) {
    let ts: i64 = r.header("kith-timestamp").parse().expect("timestamp header");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 120, "stale timestamp {ts}");
    assert_eq!(r.header("kith-signature"), kith_webhooks::signature(SECRET, ts, &r.body), "signature of {r:?}");
    assert_eq!(r.header("content-type"), "application/json");
}

async fn create_contact(app: &App, last_name: &str) -> String {
    let r = app.op(Method::POST, "/contacts", Some(json!({ "last_name": last_name }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["data"]["contact"]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn deliveries_are_signed_retried_with_the_same_body_and_in_order() {
    for app in apps().await {
        let rx = Receiver::default();
        rx.script.fail_first.store(2, Ordering::SeqCst);
        let base = rx.start().await;
        let hook = webhook(&app, format!("{base}/hooks/crm"), &[]).await;
        let sender = Running::start(&app, quick_settings(true));

        let id = create_contact(&app, "Lovelace").await;
        let r =
            app.op(Method::PUT, &format!("/contacts/{id}?partial=true"), Some(json!({ "job_title": "Analyst" }))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app
            .op(
                Method::POST,
                "/deals",
                Some(json!({ "contact_id": id, "name": "Engine", "amount": 100, "date": "2026-11-01" })),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = app.op(Method::DELETE, &format!("/contacts/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);

        // The contact's deletion is the last change; wait for it to be acknowledged.
        rx.wait_for("the contact's deletion", Duration::from_secs(20), |log| {
            log.iter().any(|r| r.answered == 200 && r.json()["type"] == "contact" && r.json()["reason"] == "deleted")
        })
        .await;
        sender.stop().await;

        let all = rx.received();
        let acked = rx.acknowledged();
        for r in &all {
            verify_signature(r);
            assert_eq!(r.path, "/hooks/crm");
            assert_eq!(r.header("kith-webhook-id"), hook.id.to_string());
        }
        // The first delivery failed twice and was retried with the very same body.
        assert_eq!(all[0].answered, 500, "{}: {all:#?}", app.label);
        assert_eq!(all[1].answered, 500);
        assert_eq!(all[2].answered, 200);
        assert_eq!(all[0].delivery(), all[1].delivery());
        assert_eq!(all[1].delivery(), all[2].delivery());
        assert_eq!(all[0].body, all[2].body);
        assert_eq!(
            [all[0].header("kith-attempt"), all[1].header("kith-attempt"), all[2].header("kith-attempt")],
            ["1", "2", "3"]
        );
        // Each delivery acknowledged once, in the order of the events.
        let deliveries: Vec<i64> = acked.iter().map(Received::delivery).collect();
        let mut unique = deliveries.clone();
        unique.dedup();
        assert_eq!(unique, deliveries, "{}: a delivery was acknowledged twice", app.label);
        let events: Vec<i64> = acked.iter().map(Received::event).collect();
        assert!(events.windows(2).all(|w| w[0] < w[1]), "{}: out of order: {events:?}", app.label);

        // OnePage's body: timestamp, secretkey, reason, type and the record as the API shows it.
        let first = acked[0].json();
        assert_eq!(first["type"], "contact");
        assert_eq!(first["reason"], "created");
        assert_eq!(first["secretkey"], SECRET);
        assert!(first["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000), "{first}");
        assert_eq!(first["data"]["contact"]["id"], id.as_str());
        assert_eq!(first["data"]["contact"]["last_name"], "Lovelace");
        let kinds: Vec<(String, String)> = acked
            .iter()
            .map(|r| {
                let j = r.json();
                (j["type"].as_str().unwrap_or("").to_owned(), j["reason"].as_str().unwrap_or("").to_owned())
            })
            .collect();
        let position = |t: &str, reason: &str| {
            kinds
                .iter()
                .position(|(a, b)| a == t && b == reason)
                .unwrap_or_else(|| panic!("{}: no {t} {reason} in {kinds:?}", app.label))
        };
        assert!(position("contact", "created") < position("contact", "updated"));
        assert!(position("contact", "updated") < position("deal", "created"));
        assert!(position("deal", "created") < position("contact", "deleted"));
        let updated = &acked[position("contact", "updated")].json();
        assert_eq!(updated["data"]["contact"]["job_title"], "Analyst");
        let deal = &acked[position("deal", "created")].json();
        assert_eq!(deal["data"]["deal"]["name"], "Engine");

        // The delivery log: everything delivered, the first delivery after three attempts.
        let log = app.crm.webhook_deliveries(app.owner.account_id, hook.id, 100).await.expect("deliveries");
        assert_eq!(log.len(), acked.len());
        assert!(log.iter().all(|d| d.status == "delivered"), "{log:#?}");
        let first_delivery = log.iter().find(|d| d.id == all[0].delivery()).expect("first delivery");
        assert_eq!(first_delivery.attempts, 3);
        let attempts = app.crm.delivery_attempts(app.owner.account_id, first_delivery.id).await.expect("attempts");
        let codes: Vec<Option<i64>> = attempts.iter().map(|a| a.status_code).collect();
        assert_eq!(codes, [Some(500), Some(500), Some(200)]);
        app.finish().await;
    }
}

#[tokio::test]
async fn webhooks_api_lists_gets_and_deletes_within_the_account() {
    for app in apps().await {
        let rx = Receiver::default();
        let base = rx.start().await;
        let hook = webhook(&app, format!("{base}/a"), &["deal"]).await;
        let hex = hex_id(hook.id);

        let r = app.op(Method::GET, "/webhooks", None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["total_count"], 1);
        let listed = &r.body["data"]["webhooks"][0]["webhook"];
        assert_eq!(listed["id"], hex.as_str());
        assert_eq!(listed["name"], "Receiver");
        assert_eq!(listed["hook_url"], format!("{base}/a"));
        assert_eq!(listed["secretkey"], SECRET);
        let r = app.op(Method::GET, &format!("/webhooks/{hex}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["data"]["hook_url"], format!("{base}/a"));

        // Another account sees none of it.
        let rival = app.other_account().await;
        let r = app.op_as(&rival, Method::GET, "/webhooks", None).await;
        assert_eq!(r.body["data"]["total_count"], 0);
        assert_error(
            &app.op_as(&rival, Method::GET, &format!("/webhooks/{hex}"), None).await,
            404,
            "resource_not_found",
        );
        assert_error(
            &app.op_as(&rival, Method::DELETE, &format!("/webhooks/{hex}"), None).await,
            404,
            "resource_not_found",
        );
        assert_error(&app.op(Method::GET, "/webhooks/not-an-id", None).await, 404, "resource_not_found");

        // A webhook for deals only: a contact makes no delivery, a deal does.
        let id = create_contact(&app, "Hopper").await;
        let r =
            app.op(Method::POST, "/deals", Some(json!({ "contact_id": id, "name": "Compiler", "amount": 1 }))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let log = app.crm.webhook_deliveries(app.owner.account_id, hook.id, 100).await.expect("deliveries");
        assert!(!log.is_empty() && log.iter().all(|d| d.entity_kind == "deal"), "{log:#?}");

        // Deleting it drops what it had not received, and nothing more is queued for it.
        let r = app.op(Method::DELETE, &format!("/webhooks/{hex}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_error(&app.op(Method::GET, &format!("/webhooks/{hex}"), None).await, 404, "resource_not_found");
        let r = app.op(Method::POST, "/deals", Some(json!({ "contact_id": id, "name": "Second", "amount": 1 }))).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let sender = Running::start(&app, quick_settings(true));
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender.stop().await;
        assert!(rx.received().is_empty(), "{:#?}", rx.received());
        app.finish().await;
    }
}

#[tokio::test]
async fn a_webhook_failing_past_the_retry_window_is_disabled_and_resumes_when_enabled() {
    for app in apps().await {
        let rx = Receiver::default();
        rx.script.always_fail.store(true, Ordering::SeqCst);
        let base = rx.start().await;
        let hook = webhook(&app, format!("{base}/down"), &["contact"]).await;
        let settings = kith_webhooks::Settings { retry_for: Duration::from_millis(700), ..quick_settings(true) };
        let sender = Running::start(&app, settings.clone());
        create_contact(&app, "First").await;
        let account = app.owner.account_id;
        let deadline = Instant::now() + Duration::from_secs(20);
        let disabled = loop {
            let w = app.crm.webhook(account, hook.id).await.expect("webhook");
            if !w.active {
                break w;
            }
            assert!(Instant::now() < deadline, "{}: never disabled", app.label);
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let reason = disabled.disabled_reason.clone().unwrap_or_default();
        assert!(reason.contains("500"), "{reason}");
        assert!(disabled.disabled_at.is_some());
        let tries = rx.received().len();
        assert!(tries >= 3, "retried only {tries} times");
        let log = app.crm.webhook_deliveries(account, hook.id, 10).await.expect("deliveries");
        assert_eq!(log[0].status, "failed");

        // While disabled, changes wait; nothing is sent.
        create_contact(&app, "Second").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(rx.received().len(), tries);

        // Enabled again with a working receiver, what waited goes out.
        rx.script.always_fail.store(false, Ordering::SeqCst);
        app.crm.set_webhook_active(account, hook.id, true).await.expect("enable");
        rx.wait_for("the waiting delivery", Duration::from_secs(20), |log| {
            log.iter().any(|r| r.answered == 200 && r.json()["data"]["contact"]["last_name"] == "Second")
        })
        .await;
        sender.stop().await;
        app.finish().await;
    }
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed_and_slow_receivers_time_out() {
    for app in apps().await {
        let rx = Receiver::default();
        let base = rx.start().await;
        let account = app.owner.account_id;
        // By default a loopback receiver is refused, whether named by address or by name.
        let by_ip = webhook(&app, format!("{base}/x"), &["contact"]).await;
        let by_name = webhook(&app, base.replace("127.0.0.1", "localhost") + "/y", &["contact"]).await;
        let sender = Running::start(&app, quick_settings(false));
        create_contact(&app, "Guarded").await;
        let deadline = Instant::now() + Duration::from_secs(20);
        for hook in [&by_ip, &by_name] {
            loop {
                let w = app.crm.webhook(account, hook.id).await.expect("webhook");
                if !w.active {
                    let reason = w.disabled_reason.unwrap_or_default();
                    assert!(reason.contains("may not reach") || reason.contains("may reach"), "{reason}");
                    break;
                }
                assert!(Instant::now() < deadline, "{}: {} not refused", app.label, w.url);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        sender.stop().await;
        assert!(rx.received().is_empty(), "{:#?}", rx.received());

        // A receiver slower than the timeout: the attempt is logged as timed out and retried.
        *rx.script.hold.lock().expect("hold") = Duration::from_secs(3);
        rx.script.hold_first.store(1, Ordering::SeqCst);
        let slow = webhook(&app, format!("{base}/slow"), &["contact"]).await;
        let settings = kith_webhooks::Settings { timeout: Duration::from_millis(300), ..quick_settings(true) };
        let sender = Running::start(&app, settings);
        create_contact(&app, "Patient").await;
        rx.wait_for("the retried delivery", Duration::from_secs(20), |log| log.iter().any(|r| r.answered == 200)).await;
        sender.stop().await;
        let log = app.crm.webhook_deliveries(account, slow.id, 10).await.expect("deliveries");
        let attempts = app.crm.delivery_attempts(account, log[0].id).await.expect("attempts");
        assert_eq!(log[0].status, "delivered");
        assert!(attempts[0].error.as_deref().unwrap_or("").contains("timed out"), "{attempts:#?}");
        app.finish().await;
    }
}

#[tokio::test]
async fn two_senders_on_one_postgres_database_deliver_each_event_once_in_order() {
    let Some(admin) = kith_store::testing::pg_url() else {
        eprintln!("note: KITH_TEST_DATABASE_URL is not set; skipping");
        return;
    };
    let _ = admin;
    let apps = apps().await;
    for app in apps {
        if app.label != "postgres" {
            app.finish().await;
            continue;
        }
        let rx = Receiver::default();
        let base = rx.start().await;
        let hooks = [webhook(&app, format!("{base}/one"), &[]).await, webhook(&app, format!("{base}/two"), &[]).await];
        // Two replicas: separate connection pools, separate senders.
        let files = kith::local_files(app.files_dir.path(), &app.base);
        let replica = kith::open(&app.database_url, 4, files).await.expect("second replica");
        let first = Running::start(&app, quick_settings(true));
        let second = Running::start_on(replica.clone(), quick_settings(true));
        for i in 0..20 {
            create_contact(&app, &format!("Replica{i:02}")).await;
        }
        rx.wait_for("40 deliveries", Duration::from_secs(30), |log| {
            log.iter().filter(|r| r.answered == 200).count() >= 40
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.stop().await;
        second.stop().await;
        let received = rx.received();
        let mut per_delivery: HashMap<i64, usize> = HashMap::new();
        for r in &received {
            *per_delivery.entry(r.delivery()).or_default() += 1;
        }
        assert!(per_delivery.values().all(|n| *n == 1), "sent twice: {per_delivery:?}");
        assert_eq!(received.len(), 40);
        for (hook, path) in hooks.iter().zip(["/one", "/two"]) {
            let events: Vec<i64> = received.iter().filter(|r| r.path == path).map(Received::event).collect();
            assert_eq!(events.len(), 20);
            assert!(events.windows(2).all(|w| w[0] < w[1]), "out of order: {events:?}");
            let log = app.crm.webhook_deliveries(app.owner.account_id, hook.id, 100).await.expect("deliveries");
            assert!(log.iter().all(|d| d.status == "delivered" && d.attempts == 1), "{log:#?}");
        }
        replica.store().close().await;
        app.finish().await;
    }
}

use crate::common::process::kith;

/// A server whose webhook sender may reach loopback receivers and retries quickly.
fn spawn_server(data: &std::path::Path, listen: &str) -> std::process::Child {
    crate::common::process::spawn_server(
        data,
        listen,
        &[
            ("KITH_WEBHOOK_ALLOW_NETS", "127.0.0.0/8"),
            ("KITH_WEBHOOK_TIMEOUT_MS", "3000"),
            ("KITH_WEBHOOK_LEASE_MARGIN_MS", "0"),
            ("KITH_WEBHOOK_RETRY_BASE_MS", "50"),
            ("KITH_WEBHOOK_POLL_MS", "20"),
        ],
    )
}

#[tokio::test]
async fn a_sender_killed_mid_delivery_loses_and_repeats_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let account: Value = serde_json::from_str(&kith(
        &data,
        &["account", "create", "--name", "Crash", "--owner-email", "o@crash.test", "--json"],
    ))
    .expect("account json");
    let account_id = account["account_id"].as_i64().expect("account id").to_string();
    let (user, key) = (account["user_id"].as_str().expect("user"), account["api_key"].as_str().expect("key"));
    let rx = Receiver::default();
    // The first request is held far longer than it takes to kill the server.
    *rx.script.hold.lock().expect("hold") = Duration::from_secs(600);
    rx.script.hold_first.store(1, Ordering::SeqCst);
    let base = rx.start().await;
    let hook_url = format!("{base}/crash");
    kith(
        &data,
        &["webhook", "create", "--account", &account_id, "--url", &hook_url, "--name", "Crash", "--secret", SECRET],
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = spawn_server(&data, &listen);
    let client = reqwest::Client::new();
    let create = |name: String| {
        let client = client.clone();
        let url = format!("http://{listen}/api/v3/contacts");
        let (user, key) = (user.to_owned(), key.to_owned());
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match client.post(&url).basic_auth(&user, Some(&key)).json(&json!({ "last_name": name })).send().await {
                    Ok(r) => {
                        assert_eq!(r.status(), 201);
                        return;
                    }
                    Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(e) => panic!("server did not answer: {e}"),
                }
            }
        }
    };
    for i in 0..5 {
        create(format!("Before{i}")).await;
    }
    // The first delivery is in flight (the receiver holds it): kill -9 the server.
    rx.wait_for("the first request", Duration::from_secs(20), |log| !log.is_empty()).await;
    server.kill().expect("kill -9");
    let _ = server.wait();
    assert!(rx.acknowledged().is_empty());

    // A new process takes over once the lease has run out, and the rest follow.
    let mut server = spawn_server(&data, &listen);
    for i in 0..3 {
        create(format!("After{i}")).await;
    }
    rx.wait_for("all eight contacts", Duration::from_secs(60), |log| {
        log.iter().filter(|r| r.answered == 200).count() >= 8
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();

    let acked = rx.acknowledged();
    let names: Vec<String> =
        acked.iter().map(|r| r.json()["data"]["contact"]["last_name"].as_str().unwrap_or("").to_owned()).collect();
    let expected: Vec<String> =
        (0..5).map(|i| format!("Before{i}")).chain((0..3).map(|i| format!("After{i}"))).collect();
    assert_eq!(names, expected, "every change once, in order");
    let received = rx.received();
    // The interrupted delivery was sent again, with the same body; nothing acknowledged was.
    assert_eq!(received[0].answered, 0);
    assert_eq!(received[0].delivery(), acked[0].delivery());
    assert_eq!(received[0].body, acked[0].body);
    assert_eq!(received.len(), 9, "{received:#?}");
}

#[tokio::test]
async fn onepage_webhooks_skip_records_onepage_does_not_show() {
    for app in apps().await {
        let rx = Receiver::default();
        let base = rx.start().await;
        let hook = webhook(&app, format!("{base}/notes"), &["note"]).await;
        let sender = Running::start(&app, quick_settings(true));
        // A note made over Sell on an organisation has no person: OnePage has no page for it.
        let sell = |path: &'static str, data: serde_json::Value| {
            let app = &app;
            async move { common::sell::created(app, path, data).await["id"].as_i64().unwrap_or_default() }
        };
        let org = sell("/contacts", json!({ "is_organization": true, "name": "Engines" })).await;
        let person = sell("/contacts", json!({ "last_name": "Lovelace" })).await;
        let hidden =
            sell("/notes", json!({ "content": "On the organisation", "resource_type": "contact", "resource_id": org }))
                .await;
        let shown =
            sell("/notes", json!({ "content": "On the person", "resource_type": "contact", "resource_id": person }))
                .await;
        rx.wait_for("the person's note", Duration::from_secs(20), |log| {
            log.iter().any(|r| r.answered == 200 && r.json()["data"]["note"]["id"] == hex_id(shown).as_str())
        })
        .await;
        sender.stop().await;
        assert_eq!(rx.received().len(), 1, "{:#?}", rx.received());
        let log = app.crm.webhook_deliveries(app.owner.account_id, hook.id, 100).await.expect("deliveries");
        let of = |id: i64| log.iter().find(|d| d.entity_id == id).map(|d| d.status.clone());
        assert_eq!(of(hidden).as_deref(), Some("skipped"), "{log:#?}");
        assert_eq!(of(shown).as_deref(), Some("delivered"), "{log:#?}");
        app.finish().await;
    }
}

#[tokio::test]
async fn apideck_webhooks_get_unified_events_with_apideck_headers() {
    for app in apps().await {
        let rx = Receiver::default();
        let base = rx.start().await;
        let new = NewWebhook {
            name: "Unify".into(),
            url: format!("{base}/apideck"),
            secret: Some(SECRET.into()),
            events: Vec::new(),
            format: "apideck".into(),
        };
        app.crm.create_webhook(app.owner.account_id, new).await.expect("create webhook");
        let sender = Running::start(&app, quick_settings(true));
        let contact = common::apideck::created(&app, "/contacts", json!({"last_name": "Lovelace"})).await;
        let r = common::apideck::apideck(
            &app,
            Method::PATCH,
            &format!("/contacts/{contact}"),
            Some(json!({"title": "Countess"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let lead = common::apideck::created(&app, "/leads", json!({"name": "Charles Babbage"})).await;
        let task = common::apideck::created(&app, "/activities", json!({"type": "task", "title": "Call back"})).await;
        let r = common::apideck::apideck(&app, Method::DELETE, &format!("/contacts/{contact}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let wanted = [
            ("crm.contact.created", contact.clone()),
            ("crm.contact.updated", contact.clone()),
            ("crm.lead.created", lead.clone()),
            ("crm.activity.created", task.clone()),
            ("crm.contact.deleted", contact.clone()),
        ];
        let seen = |log: &[Received]| -> Vec<(String, String)> {
            log.iter()
                .filter(|r| r.answered == 200)
                .map(|r| {
                    let p = &r.json()["payload"];
                    (
                        p["event_type"].as_str().unwrap_or("").to_owned(),
                        p["entity_id"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        };
        rx.wait_for("the Apideck events", Duration::from_secs(20), |log| {
            let got = seen(log);
            wanted.iter().all(|(t, id)| got.iter().any(|(gt, gid)| gt == t && gid == id))
        })
        .await;
        sender.stop().await;
        for r in rx.acknowledged() {
            let p = &r.json()["payload"];
            let kind = p["event_type"].as_str().unwrap_or_default().to_owned();
            assert_eq!(r.header("x-apideck-event-type"), kind, "{r:?}");
            assert_eq!(r.header("x-apideck-idempotency-key"), r.header("kith-delivery-id"));
            assert_eq!(r.header("x-apideck-signature"), kith_apideck::webhooks::signature(SECRET, &r.body));
            verify_signature(&r);
            assert_eq!(p["unified_api"], "crm");
            assert_eq!(p["service_id"], "kith");
            assert_eq!(p["consumer_id"], app.owner.account_id.to_string());
            assert!(p["occurred_at"].as_str().is_some_and(|t| t.ends_with('Z')));
            assert!(p["event_id"].is_string());
            let entity = p["entity_type"].as_str().unwrap_or_default();
            assert!(["contact", "lead", "activity"].contains(&entity), "{p}");
            assert!(p["entity_url"].as_str().is_some_and(|u| u.contains("/crm/")), "{p}");
        }
        app.finish().await;
    }
}
