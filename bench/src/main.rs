//! `kith-bench`: Kith's load benchmark.
//!
//! `kith-bench run` seeds a fresh database per backend and size with `kith seed`, starts
//! `kith serve` on it, and drives each scenario with wrk on loopback: first as fast as the server
//! answers, then (for list pages) at half that rate, to read the latency a server sees when it is
//! not saturated. A bare axum JSON handler (`kith-bench baseline`, the same runtime and the same
//! wrk settings) is measured first, and every scenario is also given as a ratio to it. The
//! server's resident memory is read from /proc while idle and at its peak. Results are written as
//! JSON and Markdown.

mod apideck;
mod imports;
mod pages;
mod report;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Parser, Subcommand};
use serde_json::Value;

use report::{Baseline, Dataset, Report, ScenarioResult};
use wrk::{Load, Pace};

#[derive(Parser)]
#[command(version, about = "Kith's load benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the baseline: a bare axum handler answering a small JSON document.
    Baseline {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
    },
    /// Run the benchmark.
    Run(RunArgs),
    /// The CSV import scenario: a generated 20 MB opportunities file uploaded twice (new, then
    /// every row an update), per backend. Writes imports.{md,json} beside the other results.
    Imports(imports::ImportArgs),
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// The kith binary to benchmark (default: `kith` beside this binary).
    #[arg(long)]
    kith: Option<PathBuf>,
    /// The wrk binary.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// Backends to run: sqlite, postgres.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Contacts in the benchmarked account, one dataset per size.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    contacts: Vec<u64>,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// wrk connections and threads.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// An existing PostgreSQL database to connect to; each dataset creates (and drops) its own
    /// database beside it.
    #[arg(long, env = "KITH_BENCH_POSTGRES", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Where results.json and results.md go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Fail when any request failed or answered other than 2xx (the CI smoke run).
    #[arg(long)]
    strict: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Baseline { listen } => baseline(&listen),
        Cmd::Run(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(run(args))
        }
        Cmd::Imports(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(imports::run(args))
        }
    }
}

/// The reference point: the least an axum JSON endpoint can cost on this machine.
fn baseline(listen: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let app = axum::Router::new().route(
            "/contact",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({
                    "status": 0,
                    "message": "OK",
                    "data": { "contact": { "id": "0000000000000000000003ea", "first_name": "Ada", "last_name": "Lovelace" } }
                }))
            }),
        );
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// A child process killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident and peak resident memory, in KiB.
    fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Starts the peak-memory mark again from the current size (best effort: needs to own the
    /// process, which we do).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_ready(url: &str, server: &mut Server) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            bail!("the server exited ({status}) before it answered");
        }
        if client.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not answer within a minute")
}

/// Full speed uses every connection; a paced run uses about one connection per 20 requests a
/// second, so that each waits at most ~50 ms between requests and the rate holds in short runs.
/// Waits (up to two minutes) until the server answers its health check within 50 ms, that is
/// until the database pool is free again.
async fn settle(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let started = Instant::now();
        let ok = client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success());
        if ok && started.elapsed() < Duration::from_millis(50) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pace(args: &RunArgs, rate: Option<f64>) -> Pace {
    let connections = match rate {
        Some(r) => ((r / 20.0).ceil() as u32).clamp(1, args.connections.max(1)),
        None => args.connections.max(1),
    };
    Pace { threads: args.threads.clamp(1, connections), connections, seconds: args.seconds, rate }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let kith = match &args.kith {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("kith"),
    };
    if !kith.exists() {
        bail!("{} not found: build kith first, or pass --kith", kith.display());
    }
    let work = tempfile::tempdir()?;
    std::fs::create_dir_all(&args.out)?;

    // The baseline, served by this same binary in its own process.
    let port = free_port()?;
    let mut server = Server {
        child: Command::new(std::env::current_exe()?)
            .args(["baseline", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()?,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&format!("{}/contact", server.base), &mut server).await?;
    let load = Load { method: "GET", paths: vec!["/contact".into()], body: None, headers: Vec::new() };
    eprintln!("==> baseline");
    let measured = wrk::run(&args.wrk, work.path(), &server.base, "baseline", &load, &pace(&args, None))?;
    let (_, peak) = server.memory();
    let baseline = Baseline { measured, peak_rss_kib: peak };
    drop(server);

    let mut datasets = Vec::new();
    for backend in &args.backends {
        for &contacts in &args.contacts {
            eprintln!("==> {backend}, {contacts} contacts");
            let run = Run { args: &args, kith: &kith, work: work.path(), baseline: &baseline };
            datasets.push(dataset(&run, backend, contacts).await?);
            // Written after every dataset, so a long run that fails later keeps what it measured.
            write_results(
                &args,
                &Report::new(args.threads, args.connections, args.seconds, &baseline, &datasets).await,
            )?;
        }
    }
    let report = Report::new(args.threads, args.connections, args.seconds, &baseline, &datasets).await;
    write_results(&args, &report)?;
    eprintln!("==> wrote {}/results.md and results.json", args.out.display());
    print!("{}", report.markdown());
    if args.strict {
        let failed: Vec<String> = report
            .datasets
            .iter()
            .flat_map(|d| d.scenarios.iter().map(move |s| (d, s)))
            .filter(|(_, s)| {
                let bad = |m: &wrk::Measured| m.errors + m.non_2xx > 0 || m.requests == 0;
                bad(&s.peak) || s.half_load.as_ref().is_some_and(bad)
            })
            .map(|(d, s)| format!("{} on {} with {} contacts", s.name, d.backend, d.contacts))
            .collect();
        if !failed.is_empty() {
            bail!("requests failed or got no answer: {}", failed.join("; "));
        }
    }
    Ok(())
}

fn write_results(args: &RunArgs, report: &Report) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(args.out.join("results.json"), json + "\n")?;
    std::fs::write(args.out.join("results.md"), report.markdown())?;
    Ok(())
}

/// A database for one dataset, removed when dropped.
enum Database {
    Sqlite(String),
    Postgres { admin: String, name: String, url: String },
}

impl Database {
    async fn create(args: &RunArgs, work: &Path, backend: &str, contacts: u64) -> anyhow::Result<Database> {
        match backend {
            "sqlite" => Ok(Database::Sqlite(format!("sqlite://{}/kith-{contacts}.db", work.display()))),
            "postgres" => {
                let name = format!("kith_bench_{}_{contacts}", std::process::id());
                let mut admin = sqlx_connect(&args.postgres).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                    .execute(&mut admin)
                    .await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
                let url = match args.postgres.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => bail!("--postgres must end in /<database>"),
                };
                Ok(Database::Postgres { admin: args.postgres.clone(), name, url })
            }
            other => bail!("unknown backend {other:?} (sqlite or postgres)"),
        }
    }

    fn url(&self) -> &str {
        match self {
            Database::Sqlite(url) => url,
            Database::Postgres { url, .. } => url,
        }
    }

    async fn drop_it(self) -> anyhow::Result<()> {
        if let Database::Postgres { admin, name, .. } = self {
            let mut admin = sqlx_connect(&admin).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

async fn sqlx_connect(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.with_context(|| format!("connecting to {url}"))
}

/// What every dataset of a run shares.
struct Run<'a> {
    args: &'a RunArgs,
    kith: &'a Path,
    work: &'a Path,
    baseline: &'a Baseline,
}

/// Seeds, serves and measures one backend at one size, then drops its database.
async fn dataset(run: &Run<'_>, backend: &str, contacts: u64) -> anyhow::Result<Dataset> {
    let db = Database::create(run.args, run.work, backend, contacts).await?;
    let result = measure_dataset(run, backend, contacts, db.url()).await;
    db.drop_it().await?;
    result
}

async fn measure_dataset(run: &Run<'_>, backend: &str, contacts: u64, url: &str) -> anyhow::Result<Dataset> {
    let Run { args, kith, work, baseline } = *run;
    // Seed: the benchmarked account plus two smaller ones beside it.
    let started = Instant::now();
    let out = Command::new(kith)
        .args(["--database", url, "seed", "--json", "--contacts", &contacts.to_string()])
        .args(["--other-contacts", &(contacts / 10).max(100).to_string()])
        .stderr(Stdio::inherit())
        .output()
        .context("running kith seed")?;
    if !out.status.success() {
        bail!("kith seed failed: {}", String::from_utf8_lossy(&out.stdout));
    }
    let seed_seconds = started.elapsed().as_secs_f64();
    let first = String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned).unwrap_or_default();
    let account: Value = serde_json::from_str(&first).context("kith seed printed no account")?;
    let text = |k: &str| account[k].as_str().map(str::to_owned).with_context(|| format!("seed output lacks {k}"));
    let (user, key) = (text("user_id")?, text("api_key")?);
    let account_id = account["account_id"].as_i64().context("seed output lacks account_id")?;

    let port = free_port()?;
    let mut server = Server {
        child: Command::new(kith)
            .args(["--database", url, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("KITH_LOG", "warn")
            // The Upsales scenarios still count every request in the database (the cost measured),
            // without being throttled.
            .env("KITH_RATE_LIMIT", "1000000000")
            .stdout(Stdio::null())
            .spawn()?,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&format!("{}/healthz", server.base), &mut server).await?;
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}")));
    let sample = Sample::fetch(&server.base, &auth).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_rss_kib, _) = server.memory();

    let mut scenarios = Vec::new();
    let mut all = scenarios_for(&account, &sample, &auth, &key)?;
    all.extend(apideck::scenarios(&server.base, &key, sample.max_page * 100).await?);
    for s in all {
        eprintln!("    {}", s.name);
        server.reset_peak();
        let peak = wrk::run(&args.wrk, work, &server.base, s.name, &s.load, &pace(args, None))?;
        let half_load = if s.paced {
            let name = format!("{}_half", s.name);
            Some(wrk::run(&args.wrk, work, &server.base, &name, &s.load, &pace(args, Some(peak.rps / 2.0)))?)
        } else {
            None
        };
        let (_, peak_rss_kib) = server.memory();
        // Requests wrk gave up on may still be running; let them finish before the next scenario.
        settle(&server.base).await;
        scenarios.push(ScenarioResult {
            name: s.name.into(),
            description: s.description,
            ratio_to_baseline: peak.rps / baseline.measured.rps.max(f64::MIN_POSITIVE),
            peak,
            half_load,
            peak_rss_kib,
        });
    }
    let (_, peak_rss_kib) = server.memory();
    drop(server);

    let deep_pages = pages::deep_pages(url, account_id, contacts).await?;
    Ok(Dataset { backend: backend.into(), contacts, seed_seconds, idle_rss_kib, peak_rss_kib, scenarios, deep_pages })
}

/// Real ids and names read back from the seeded account, to spread requests over.
struct Sample {
    ids: Vec<String>,
    prefixes: Vec<String>,
    max_page: u64,
}

impl Sample {
    async fn fetch(base: &str, auth: &str) -> anyhow::Result<Sample> {
        let client = reqwest::Client::new();
        let get = |page: u64| {
            client.get(format!("{base}/api/v3/contacts?per_page=100&page={page}")).header("Authorization", auth).send()
        };
        let first: Value = get(1).await?.error_for_status()?.json().await?;
        let max_page = first["data"]["max_page"].as_u64().unwrap_or(1);
        let mut ids = Vec::new();
        let mut prefixes = Vec::new();
        for page in [1, max_page / 4, max_page / 2, max_page * 3 / 4, max_page] {
            let body: Value = get(page.max(1)).await?.error_for_status()?.json().await?;
            for c in body["data"]["contacts"].as_array().into_iter().flatten() {
                if let Some(id) = c["contact"]["id"].as_str() {
                    ids.push(id.to_owned());
                }
                if let Some(last) = c["contact"]["last_name"].as_str().filter(|l| l.len() >= 3) {
                    let p: String = last.chars().take(3).collect();
                    if !prefixes.contains(&p) {
                        prefixes.push(p);
                    }
                }
            }
        }
        if ids.is_empty() {
            bail!("the seeded account lists no contacts");
        }
        Ok(Sample { ids, prefixes, max_page })
    }
}

struct Scenario {
    name: &'static str,
    description: String,
    load: Load,
    /// Also measured at half its peak rate.
    paced: bool,
}

fn scenarios_for(account: &Value, sample: &Sample, auth: &str, key: &str) -> anyhow::Result<Vec<Scenario>> {
    let status = account["status_id"].as_str().context("seed output lacks status_id")?;
    let field = account["custom_field_id"].as_str().context("seed output lacks custom_field_id")?;
    let value = account["custom_field_value"].as_str().context("seed output lacks custom_field_value")?;
    let headers = vec![("Authorization".to_owned(), auth.to_owned())];
    let json_headers =
        vec![("Authorization".to_owned(), auth.to_owned()), ("Content-Type".to_owned(), "application/json".to_owned())];
    let get = |paths: Vec<String>| Load { method: "GET", paths, body: None, headers: headers.clone() };
    let deep = sample.max_page.min(5_000);
    // The same records through the Sell dialect: a Bearer key, a User-Agent, decimal ids.
    let sell_headers = vec![
        ("Authorization".to_owned(), format!("Bearer {key}")),
        ("User-Agent".to_owned(), "kith-bench/1.0".to_owned()),
    ];
    let sell = |paths: Vec<String>| Load { method: "GET", paths, body: None, headers: sell_headers.clone() };
    let sell_ids: Vec<i64> = sample.ids.iter().filter_map(|id| i64::from_str_radix(id, 16).ok()).collect();
    let upsales = |paths: Vec<String>| Load { method: "GET", paths, body: None, headers: Vec::new() };
    let upsales_field = i64::from_str_radix(field, 16).context("custom_field_id is not a hex id")?;
    Ok(vec![
        Scenario {
            name: "get_contact",
            description: "GET /api/v3/contacts/{id}, over 500 ids".into(),
            load: get(sample.ids.iter().map(|id| format!("/api/v3/contacts/{id}")).collect()),
            paced: false,
        },
        Scenario {
            name: "list_status_sorted",
            description: "100 contacts with one status, sorted by last name (pages 1-10)".into(),
            load: get(
                (1..=10)
                    .map(|p| format!("/api/v3/contacts?per_page=100&status_id={status}&sort_by=last_name&page={p}"))
                    .collect(),
            ),
            paced: true,
        },
        Scenario {
            name: "list_custom_field",
            description: "100 contacts with one custom-field value (pages 1-10)".into(),
            load: get(
                (1..=10)
                    .map(|p| {
                        format!("/api/v3/contacts?per_page=100&custom_field_id={field}&custom_field_value={value}&page={p}")
                    })
                    .collect(),
            ),
            paced: true,
        },
        Scenario {
            name: "prefix_search",
            description: "100 contacts whose last name starts with a prefix (`letter=`)".into(),
            load: get(sample.prefixes.iter().map(|p| format!("/api/v3/contacts?per_page=100&letter={p}")).collect()),
            paced: true,
        },
        Scenario {
            name: "create_contact",
            description: "POST /api/v3/contacts, each with its own name and email".into(),
            load: Load {
                method: "POST",
                paths: vec!["/api/v3/contacts".into()],
                body: Some(
                    r#"{"first_name":"Bench","last_name":"Contact {n}","company_name":"Bench Co","emails":[{"type":"work","value":"bench{n}@example.com"}]}"#
                        .into(),
                ),
                headers: json_headers.clone(),
            },
            paced: false,
        },
        Scenario {
            name: "update_contact",
            description: "PUT /api/v3/contacts/{id}?partial=true, job title, over 500 ids".into(),
            load: Load {
                method: "PUT",
                paths: sample.ids.iter().map(|id| format!("/api/v3/contacts/{id}?partial=true")).collect(),
                body: Some(r#"{"job_title":"Title {n}"}"#.into()),
                headers: json_headers,
            },
            paced: false,
        },
        Scenario {
            name: "action_stream",
            description: "GET /api/v3/action_stream, first page of 100".into(),
            load: get(vec!["/api/v3/action_stream?per_page=100".into()]),
            paced: true,
        },
        Scenario {
            name: "deep_offset_page",
            description: format!("page {deep} of 100 contacts by name (offset {})", (deep - 1) * 100),
            load: get(vec![format!("/api/v3/contacts?per_page=100&page={deep}")]),
            paced: true,
        },
        Scenario {
            name: "sell_get_contact",
            description: "GET /v2/contacts/{id} (Sell), over 500 ids".into(),
            load: sell(sell_ids.iter().map(|id| format!("/v2/contacts/{id}")).collect()),
            paced: false,
        },
        Scenario {
            name: "sell_list_sorted",
            description: "GET /v2/contacts (Sell): 100 persons sorted by last name (pages 1-10)".into(),
            load: sell(
                (1..=10).map(|p| format!("/v2/contacts?is_organization=false&per_page=100&sort_by=last_name&page={p}")).collect(),
            ),
            paced: true,
        },
        Scenario {
            name: "sell_deep_page",
            description: format!("GET /v2/contacts (Sell): page {deep} of 100 persons and organisations by id"),
            load: sell(vec![format!("/v2/contacts?per_page=100&page={deep}")]),
            paced: true,
        },
        // The same records through the Upsales dialect: `?token=`, decimal ids, and a rate-limit
        // counter hit in the database on every request.
        Scenario {
            name: "upsales_get_contact",
            description: "GET /api/v2/contacts/{id} (Upsales), over 500 ids".into(),
            load: upsales(sell_ids.iter().map(|id| format!("/api/v2/contacts/{id}?token={key}")).collect()),
            paced: false,
        },
        Scenario {
            name: "upsales_list_custom_field",
            description: "GET /api/v2/contacts (Upsales): 100 with one custom-field value, by last name (pages 1-10)".into(),
            load: upsales(
                (0..10)
                    .map(|p| {
                        format!(
                            "/api/v2/contacts?token={key}&custom=eq:{upsales_field}:{}&sort=lastName&limit=100&offset={}",
                            value.replace(' ', "%20"),
                            p * 100
                        )
                    })
                    .collect(),
            ),
            paced: true,
        },
        Scenario {
            name: "upsales_full_scan",
            description: "GET /api/v2/contacts (Upsales): 100 after an id, by id (`sort=id&id=gt:`)".into(),
            load: upsales(
                sell_ids.iter().map(|id| format!("/api/v2/contacts?token={key}&sort=id&limit=100&id=gt:{id}")).collect(),
            ),
            paced: true,
        },
    ])
}
