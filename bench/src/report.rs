//! The results: one JSON document with every number, and a Markdown summary of it.

use std::fmt::Write;

use serde::Serialize;

use crate::pages::DeepPages;
use crate::wrk::Measured;

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub finished_at: String,
    pub commit: Option<String>,
    pub machine: Machine,
    pub wrk: WrkSettings,
    pub baseline: &'a Baseline,
    pub datasets: &'a [Dataset],
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub postgres: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WrkSettings {
    pub threads: u32,
    pub connections: u32,
    pub seconds: u32,
}

#[derive(Debug, Serialize)]
pub struct Baseline {
    pub measured: Measured,
    pub peak_rss_kib: u64,
}

#[derive(Debug, Serialize)]
pub struct Dataset {
    pub backend: String,
    pub contacts: u64,
    pub seed_seconds: f64,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
    pub scenarios: Vec<ScenarioResult>,
    pub deep_pages: DeepPages,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub description: String,
    pub peak: Measured,
    /// The same requests at half the peak rate.
    pub half_load: Option<Measured>,
    /// Peak requests/s over the baseline's.
    pub ratio_to_baseline: f64,
    pub peak_rss_kib: u64,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Machine {
    fn describe() -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let meminfo = read("/proc/meminfo");
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            postgres: None,
        }
    }
}

async fn postgres_version(url: &str) -> Option<String> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.ok()?;
    let v: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut c).await.ok()?;
    Some(v)
}

fn commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl<'a> Report<'a> {
    pub async fn new(
        threads: u32,
        connections: u32,
        seconds: u32,
        baseline: &'a Baseline,
        datasets: &'a [Dataset],
    ) -> Report<'a> {
        let mut machine = Machine::describe();
        if datasets.iter().any(|d| d.backend == "postgres") {
            let url = std::env::var("KITH_BENCH_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            machine.postgres = postgres_version(&url).await;
        }
        Report {
            finished_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit: commit(),
            machine,
            wrk: WrkSettings { threads, connections, seconds },
            baseline,
            datasets,
        }
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(s, "# Kith benchmark results\n");
        let _ = writeln!(
            s,
            "{}, commit {}. Machine: {}, {} cores, {} GiB, Linux {}{}. Load: wrk, {} threads, {} connections, {} s per run, on loopback.\n",
            self.finished_at,
            self.commit.as_deref().unwrap_or("unknown"),
            m.cpu,
            m.cores,
            m.memory_gib,
            m.kernel,
            m.postgres.as_deref().map(|v| format!(", PostgreSQL {v}")).unwrap_or_default(),
            self.wrk.threads,
            self.wrk.connections,
            self.wrk.seconds,
        );
        let b = &self.baseline.measured;
        let _ = writeln!(
            s,
            "Baseline (a bare axum JSON handler, same runtime, same load): {:.0} req/s, p50 {}, p99 {}, peak RSS {}.\n",
            b.rps,
            ms(b.p50_us),
            ms(b.p99_us),
            mib(self.baseline.peak_rss_kib)
        );
        for d in self.datasets {
            let _ = writeln!(
                s,
                "## {}, {} contacts\n\nSeeded in {:.0} s. Server memory: {} idle, {} at peak.\n",
                d.backend,
                thousands(d.contacts),
                d.seed_seconds,
                mib(d.idle_rss_kib),
                mib(d.peak_rss_kib)
            );
            let _ = writeln!(
                s,
                "| scenario | req/s | × baseline | p50 | p99 | p99.9 | errors | p99 at ½ peak rate | peak RSS |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            for r in &d.scenarios {
                let p = &r.peak;
                let half = r
                    .half_load
                    .as_ref()
                    .map(|h| format!("{} ({:.0} req/s)", ms(h.p99_us), h.rps))
                    .unwrap_or_else(|| "—".into());
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    r.name,
                    p.rps,
                    r.ratio_to_baseline,
                    ms(p.p50_us),
                    ms(p.p99_us),
                    ms(p.p999_us),
                    p.errors + p.non_2xx,
                    half,
                    mib(r.peak_rss_kib)
                );
            }
            let dp = &d.deep_pages;
            let _ = writeln!(
                s,
                "\nPage {} of 100 contacts by name, read in the store (no HTTP): offset p50 {} / p99 {}; keyset p50 {} / p99 {}.\n",
                thousands(dp.page),
                ms(dp.offset.p50_us),
                ms(dp.offset.p99_us),
                ms(dp.keyset.p50_us),
                ms(dp.keyset.p99_us)
            );
        }
        s
    }
}

fn ms(us: u64) -> String {
    if us >= 100_000 { format!("{:.0} ms", us as f64 / 1000.0) } else { format!("{:.2} ms", us as f64 / 1000.0) }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
