//! `kith-soak`: a bounded soak of one Kith server. Seeds a SQLite (or PostgreSQL) database,
//! serves it with `kith serve`, and runs mixed reads and writes over every dialect from several
//! clients for a fixed time, reporting every interval's requests, errors, latency and the
//! server's resident memory. Loopback only; it stops by itself.
//!
//!     bash bench/soak                   # 10 minutes on SQLite
//!     bash bench/soak --minutes 2 --postgres postgres://postgres@127.0.0.1:5432/postgres

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// How long to run.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Seconds per reported interval.
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Contacts seeded before the run.
    #[arg(long, default_value_t = 10_000)]
    contacts: u64,
    /// The `kith` binary.
    #[arg(long, default_value = "target/release/kith")]
    kith: String,
    /// Run on this PostgreSQL server (a database is created and dropped) instead of SQLite.
    #[arg(long)]
    postgres: Option<String>,
    /// Where the report goes.
    #[arg(long, default_value = "bench/results/soak.md")]
    out: String,
}

/// What the clients saw in one interval.
#[derive(Default)]
struct Interval {
    requests: u64,
    errors: u64,
    micros: Vec<u32>,
    first_error: Option<String>,
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Creds {
    base: String,
    basic: String,
    key: String,
}

/// One client's loop: a weighted mix of every dialect's reads and writes, until `stop`.
async fn client(n: u64, creds: Arc<Creds>, stop: Arc<AtomicBool>, now: Arc<Mutex<Interval>>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
    let mut dice = StdRng::seed_from_u64(n);
    // Contacts this client made (OnePage ids), to read, change and delete.
    let mut mine: Vec<String> = Vec::new();
    let b = &creds.base;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let pick = dice.random_range(0..100);
        let (what, req) = match pick {
            0..=14 => {
                let body = json!({"first_name": format!("Soak{n}"), "last_name": format!("Client {}", dice.random_range(0..1_000_000)), "emails": [{"type": "work", "value": format!("soak{n}@example.test")}]});
                (
                    "onepage create",
                    http.post(format!("{b}/api/v3/contacts")).header("authorization", &creds.basic).json(&body),
                )
            }
            15..=29 if !mine.is_empty() => {
                let id = &mine[dice.random_range(0..mine.len())];
                ("onepage get", http.get(format!("{b}/api/v3/contacts/{id}")).header("authorization", &creds.basic))
            }
            30..=37 if !mine.is_empty() => {
                let id = &mine[dice.random_range(0..mine.len())];
                let body = json!({"job_title": format!("Title {}", dice.random_range(0..1000))});
                (
                    "onepage update",
                    http.put(format!("{b}/api/v3/contacts/{id}?partial=true"))
                        .header("authorization", &creds.basic)
                        .json(&body),
                )
            }
            38..=39 if mine.len() > 50 => {
                let id = mine.swap_remove(dice.random_range(0..mine.len()));
                (
                    "onepage delete",
                    http.delete(format!("{b}/api/v3/contacts/{id}")).header("authorization", &creds.basic),
                )
            }
            40..=54 => {
                let page = dice.random_range(1..=50);
                (
                    "onepage list",
                    http.get(format!("{b}/api/v3/contacts?per_page=100&page={page}&sort_by=last_name"))
                        .header("authorization", &creds.basic),
                )
            }
            55..=59 => (
                "onepage action stream",
                http.get(format!("{b}/api/v3/action_stream?per_page=25")).header("authorization", &creds.basic),
            ),
            60..=74 => {
                let page = dice.random_range(1..=20);
                (
                    "sell list",
                    http.get(format!("{b}/v2/contacts?per_page=100&page={page}"))
                        .bearer_auth(&creds.key)
                        .header("user-agent", "kith-soak"),
                )
            }
            75..=79 => (
                "sell deals",
                http.get(format!("{b}/v2/deals?per_page=50")).bearer_auth(&creds.key).header("user-agent", "kith-soak"),
            ),
            80..=91 => (
                "apideck list",
                http.get(format!("{b}/crm/contacts?limit=50"))
                    .bearer_auth(&creds.key)
                    .header("x-apideck-consumer-id", "soak")
                    .header("x-apideck-app-id", "soak"),
            ),
            92..=95 => (
                "apideck companies",
                http.get(format!("{b}/crm/companies?limit=20"))
                    .bearer_auth(&creds.key)
                    .header("x-apideck-consumer-id", "soak")
                    .header("x-apideck-app-id", "soak"),
            ),
            _ => ("jsend mine", http.get(format!("{b}/api/v1/opportunities/my?per_page=100")).bearer_auth(&creds.key)),
        };
        let outcome = match req.send().await {
            Ok(res) => {
                let status = res.status();
                let body = res.bytes().await.unwrap_or_default();
                if status.is_success() {
                    if what == "onepage create"
                        && let Some(id) = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v["data"]["contact"]["id"].as_str().map(str::to_owned))
                    {
                        mine.push(id);
                    }
                    Ok(())
                } else {
                    Err(format!(
                        "{what}: {status} {}",
                        String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
                    ))
                }
            }
            Err(e) => Err(format!("{what}: {e}")),
        };
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        let mut i = now.lock().unwrap_or_else(|p| p.into_inner());
        i.requests += 1;
        i.micros.push(micros);
        if let Err(e) = outcome {
            i.errors += 1;
            i.first_error.get_or_insert(e);
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[at]) / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let (database, pg_admin) = match &args.postgres {
        Some(admin) => {
            let name = format!("kith_soak_{}", std::process::id());
            let pool = sqlx::PgPool::connect(admin).await.context("connecting to PostgreSQL")?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
            pool.close().await;
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            (format!("{base}/{name}"), Some((admin.clone(), name)))
        }
        None => (format!("sqlite://{}", work.path().join("kith.db").display()), None),
    };
    let backend = if pg_admin.is_some() { "postgres" } else { "sqlite" };
    eprintln!("==> seeding {} contacts on {backend}", args.contacts);
    let out = Command::new(&args.kith)
        .args(["--database", &database, "seed", "--json", "--quiet", "--other-accounts", "1"])
        .args(["--contacts", &args.contacts.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {} (build it with cargo build --release)", args.kith))?;
    if !out.status.success() {
        bail!("kith seed failed");
    }
    let first = String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned).unwrap_or_default();
    let account: Value = serde_json::from_str(&first).context("kith seed printed no account")?;
    let (user, key) = (
        account["user_id"].as_str().context("no user_id")?.to_owned(),
        account["api_key"].as_str().context("no api_key")?.to_owned(),
    );
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let server = Server {
        child: Command::new(&args.kith)
            .args(["--database", &database, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("KITH_LOG", "warn")
            .env("KITH_NO_WEBHOOKS", "true")
            .stdout(Stdio::null())
            .spawn()?,
    };
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(60) {
            bail!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let idle_rss = rss_kib(pid);
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}")));
    let creds = Arc::new(Creds { base, basic, key });
    let stop = Arc::new(AtomicBool::new(false));
    let now = Arc::new(Mutex::new(Interval::default()));
    let clients: Vec<_> =
        (0..args.clients).map(|n| tokio::spawn(client(n as u64, creds.clone(), stop.clone(), now.clone()))).collect();

    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let started = Instant::now();
    let mut rows = Vec::new();
    let (mut requests, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
    eprintln!("==> {} clients for {:.1} minutes (idle RSS {} MiB)", args.clients, args.minutes, idle_rss / 1024);
    while started.elapsed() < total {
        let left = total.saturating_sub(started.elapsed());
        tokio::time::sleep(left.min(Duration::from_secs(args.interval))).await;
        let mut i = std::mem::take(&mut *now.lock().unwrap_or_else(|p| p.into_inner()));
        i.micros.sort_unstable();
        let at = started.elapsed().as_secs();
        let rss = rss_kib(pid);
        let row = format!(
            "| {:>4} s | {:>8} | {:>6.0} | {:>5} | {:>7.2} | {:>7.2} | {:>6.1} |",
            at,
            i.requests,
            i.requests as f64 / args.interval as f64,
            i.errors,
            percentile(&i.micros, 0.5),
            percentile(&i.micros, 0.99),
            rss as f64 / 1024.0
        );
        eprintln!("{row}");
        rows.push((row, rss));
        requests += i.requests;
        errors += i.errors;
        if first_error.is_none() {
            first_error = i.first_error;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    drop(server);
    if let Some((admin, name)) = pg_admin {
        let conn = sqlx::PgPool::connect(&admin).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&conn).await?;
    }

    // Memory is flat when the last interval holds no more than a tenth over the second (the
    // first includes the caches warming up).
    let warm = rows.get(1).or(rows.first()).map_or(0, |r| r.1);
    let last = rows.last().map_or(0, |r| r.1);
    let flat = last as f64 <= warm as f64 * 1.10;
    let mut report = format!(
        "# Soak\n\n{} clients, {:.1} minutes, {backend}, {} seeded contacts; mixed OnePage, Sell, Apideck and JSend reads and writes.\n\n\
         | at | requests | req/s | errors | p50 ms | p99 ms | RSS MiB |\n| --- | --- | --- | --- | --- | --- | --- |\n",
        args.clients, args.minutes, args.contacts
    );
    for (row, _) in &rows {
        report.push_str(row);
        report.push('\n');
    }
    report.push_str(&format!(
        "\n{requests} requests, {errors} errors; RSS idle {:.1} MiB, after warm-up {:.1} MiB, at the end {:.1} MiB: {}.\n",
        idle_rss as f64 / 1024.0,
        warm as f64 / 1024.0,
        last as f64 / 1024.0,
        if flat { "flat" } else { "growing" }
    ));
    if let Some(e) = &first_error {
        report.push_str(&format!("\nFirst error: `{e}`\n"));
    }
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &report)?;
    println!("{report}");
    if errors > 0 || !flat {
        bail!("the soak failed: {errors} errors, memory {}", if flat { "flat" } else { "growing" });
    }
    Ok(())
}
