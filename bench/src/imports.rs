//! The CSV import scenario: a generated opportunities file (about 20 MB, 150,000 rows with the
//! seed's columns, companies and owners repeated, a few rows bad) posted to
//! `POST /api/v1/admin/opportunities/upload`, then the same file again (every row an update of
//! the deal it made), on each backend. Reports seconds, rows a second and the server's peak
//! resident memory during each upload.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;

use crate::{Database, RunArgs, Server, free_port, wait_ready};

#[derive(clap::Args, Clone)]
pub struct ImportArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Rows in the generated opportunities file.
    #[arg(long, default_value_t = 150_000)]
    pub rows: usize,
    /// Import this file instead of a generated one.
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// Only write the generated file here, and import nothing.
    #[arg(long)]
    pub generate_only: Option<std::path::PathBuf>,
}

#[derive(Serialize)]
pub struct ImportResult {
    pub backend: String,
    pub scenario: String,
    pub rows: u64,
    pub imported: u64,
    pub refused: u64,
    pub bytes: usize,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub peak_rss_kib: u64,
    pub rss_before_kib: u64,
}

/// The file: `rows` opportunities over rows/10 companies and 40 owners; one row in 100 is bad
/// (no name, an amount that is not one, or an owner email that is not one).
pub fn generate(rows: usize) -> String {
    let mut rng = StdRng::seed_from_u64(7);
    let stages = ["Prospecting", "Qualified", "Develop", "Proposal", "Negotiation", "Closed Won", "Closed Lost"];
    let forecasts = ["Pipeline", "Best Case", "Commit", "Omitted"];
    let types = ["New Business", "Renewal", "Upsell", "Existing Business"];
    let steps = ["Send the proposal", "Call the buyer back", "Demo for the team", "Legal review", ""];
    let words = ["Northern", "Southern", "Atlantic", "Pacific", "Metro", "Union", "Grand", "Central", "Royal"];
    let kinds = ["Railway", "Logistics", "Foods", "Health", "Energy", "Telecom", "Bank", "Retail", "Media"];
    let companies = (rows / 10).max(1);
    let mut out = String::with_capacity(rows * 140);
    out.push_str(
        "Opportunity ID*,Opportunity Name*,Amount,Close Date,Stage,Opportunity Owner,Opportunity Owner Email,\
         Account ID,Account Name,Account URL/Website,Opportunity Type,Next Step,Forecast\r\n",
    );
    for i in 0..rows {
        let c = rng.random_range(0..companies);
        let company = format!("{} {} {c}", words[c % words.len()], kinds[(c / words.len()) % kinds.len()]);
        let owner = rng.random_range(0..40);
        let bad = i % 100 == 99;
        let name = if bad && i % 300 == 99 { String::new() } else { format!("\"{company}, deal {i}\"") };
        let amount = if bad && i % 300 == 199 {
            "lots".to_owned()
        } else {
            format!("\"{},{:03}.{:02}\"", rng.random_range(1..900), rng.random_range(0..1000), rng.random_range(0..100))
        };
        let email =
            if bad && i % 300 == 299 { "not an email".to_owned() } else { format!("rep{owner}@sales.example.com") };
        let _ = write!(
            out,
            "OPP-{i:08},{name},{amount},{}/{}/20{},{},Rep Number{owner},{email},ACC-{c:07},{company},https://www.{}.example.com,{},{},{}\r\n",
            rng.random_range(1..13),
            rng.random_range(1..29),
            rng.random_range(26..31),
            stages[rng.random_range(0..stages.len())],
            company.to_lowercase().replace(' ', "-"),
            types[rng.random_range(0..types.len())],
            steps[rng.random_range(0..steps.len())],
            forecasts[rng.random_range(0..forecasts.len())],
        );
    }
    out
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let csv = match (&args.file, &args.generate_only) {
        (Some(path), _) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        (None, Some(path)) => {
            std::fs::write(path, generate(args.rows))?;
            eprintln!("==> wrote {}", path.display());
            return Ok(());
        }
        (None, None) => generate(args.rows),
    };
    let kith = match &args.run.kith {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("kith"),
    };
    if !kith.exists() {
        bail!("{} not found: build kith first, or pass --kith", kith.display());
    }
    eprintln!("==> opportunities file: {} rows, {:.1} MB", csv.lines().count() - 1, csv.len() as f64 / 1e6);
    let work = tempfile::tempdir()?;
    std::fs::create_dir_all(&args.run.out)?;
    let mut results = Vec::new();
    for backend in &args.run.backends {
        eprintln!("==> {backend}");
        let db = Database::create(&args.run, work.path(), backend, 0).await?;
        let measured = measure(&kith, db.url(), backend, &csv).await;
        db.drop_it().await?;
        results.extend(measured?);
    }
    let md = markdown(&results);
    std::fs::write(args.run.out.join("imports.json"), serde_json::to_string_pretty(&results)? + "\n")?;
    std::fs::write(args.run.out.join("imports.md"), &md)?;
    eprintln!("==> wrote {}/imports.md and imports.json", args.run.out.display());
    print!("{md}");
    Ok(())
}

async fn measure(kith: &Path, url: &str, backend: &str, csv: &str) -> anyhow::Result<Vec<ImportResult>> {
    let out = Command::new(kith)
        .args(["--database", url, "seed", "--json", "--quiet", "--contacts", "100", "--other-accounts", "0"])
        .stderr(Stdio::inherit())
        .output()
        .context("running kith seed")?;
    if !out.status.success() {
        bail!("kith seed failed: {}", String::from_utf8_lossy(&out.stdout));
    }
    let first = String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_owned).unwrap_or_default();
    let account: Value = serde_json::from_str(&first).context("kith seed printed no account")?;
    let key = account["api_key"].as_str().context("seed output lacks api_key")?.to_owned();
    let port = free_port()?;
    let mut server = Server {
        child: Command::new(kith)
            .args(["--database", url, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("KITH_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&format!("{}/healthz", server.base), &mut server).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let mut results = Vec::new();
    for scenario in ["import_new", "import_again"] {
        let (rss_before_kib, _) = server.memory();
        server.reset_peak();
        let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("opportunities.csv");
        let started = Instant::now();
        let res = client
            .post(format!("{}/api/v1/admin/opportunities/upload", server.base))
            .header("Authorization", &key)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let seconds = started.elapsed().as_secs_f64();
        let (_, peak_rss_kib) = server.memory();
        if !status.is_success() {
            bail!("{scenario} on {backend}: {status} {body}");
        }
        let n = |k: &str| body["data"][k].as_u64().unwrap_or(0);
        let rows = n("total_original_rows");
        eprintln!("    {scenario}: {rows} rows in {seconds:.2} s, peak RSS {} MiB", peak_rss_kib / 1024);
        results.push(ImportResult {
            backend: backend.to_owned(),
            scenario: scenario.to_owned(),
            rows,
            imported: n("total_imported_rows"),
            refused: n("total_error_rows"),
            bytes: csv.len(),
            seconds,
            rows_per_second: rows as f64 / seconds.max(f64::MIN_POSITIVE),
            peak_rss_kib,
            rss_before_kib,
        });
    }
    drop(server);
    Ok(results)
}

fn markdown(results: &[ImportResult]) -> String {
    let mut md = String::from(
        "| backend | scenario | rows | imported | refused | MB | seconds | rows/s | RSS before (MiB) | peak RSS (MiB) |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in results {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {} | {} |",
            r.backend,
            r.scenario,
            r.rows,
            r.imported,
            r.refused,
            r.bytes as f64 / 1e6,
            r.seconds,
            r.rows_per_second,
            r.rss_before_kib / 1024,
            r.peak_rss_kib / 1024
        );
    }
    md
}
