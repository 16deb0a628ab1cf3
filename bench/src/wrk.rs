//! Drives wrk: one Lua script per scenario spreads requests over many paths (or request
//! bodies), optionally paces each connection, and prints its summary as one JSON line.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What one scenario sends.
#[derive(Debug, Clone)]
pub struct Load {
    pub method: &'static str,
    /// Paths cycled through, one per request.
    pub paths: Vec<String>,
    /// A JSON body template; `{n}` becomes a per-request counter, so creates differ.
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// wrk's numbers for one run. Latencies in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub requests: u64,
    pub duration_us: u64,
    pub rps: f64,
    pub errors: u64,
    pub non_2xx: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// How hard to push.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub threads: u32,
    pub connections: u32,
    pub seconds: u32,
    /// Requests per second to aim at in total; `None` is as fast as the server answers.
    pub rate: Option<f64>,
}

fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn script(load: &Load, pace: &Pace) -> String {
    let paths: Vec<String> = load.paths.iter().map(|p| lua_string(p)).collect();
    let headers: Vec<String> =
        load.headers.iter().map(|(k, v)| format!("wrk.headers[{}] = {}", lua_string(k), lua_string(v))).collect();
    // Each connection waits this long between its requests, so that all of them together send
    // about `rate` requests per second (wrk measures latency without the wait).
    let delay_ms = pace.rate.map(|r| (f64::from(pace.connections) * 1000.0 / r.max(1.0)).round() as u64);
    let body = match &load.body {
        Some(b) => format!("string.gsub({}, \"{{n}}\", tostring(n))", lua_string(b)),
        None => "nil".into(),
    };
    format!(
        r#"
local paths = {{ {paths} }}
{headers}
local n = 0
setup = function(thread)
  thread:set("offset", math.random(1, 1000000))
end
init = function(args)
  n = offset or 0
end
request = function()
  n = n + 1
  local body = {body}
  return wrk.format({method}, paths[(n % #paths) + 1], nil, body)
end
{delay}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'KITH_RESULT {{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
"#,
        paths = paths.join(", "),
        headers = headers.join("\n"),
        method = lua_string(load.method),
        delay = delay_ms.map(|d| format!("delay = function() return {d} end")).unwrap_or_default(),
    )
}

#[derive(Deserialize)]
struct Raw {
    requests: u64,
    duration_us: u64,
    errors: u64,
    non_2xx: u64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    max_us: u64,
}

/// Runs wrk once against `base` (scheme, host and port).
pub fn run(wrk: &Path, work_dir: &Path, base: &str, name: &str, load: &Load, pace: &Pace) -> anyhow::Result<Measured> {
    let file = work_dir.join(format!("{name}.lua"));
    std::fs::write(&file, script(load, pace))?;
    let out = Command::new(wrk)
        .arg(format!("-t{}", pace.threads))
        .arg(format!("-c{}", pace.connections))
        .arg(format!("-d{}s", pace.seconds))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&file)
        .arg(base)
        .output()
        .with_context(|| format!("running {}", wrk.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("KITH_RESULT ")) else {
        bail!("wrk printed no result for {name}: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    };
    let raw: Raw = serde_json::from_str(line).with_context(|| format!("wrk result {line}"))?;
    let seconds = raw.duration_us.max(1) as f64 / 1e6;
    Ok(Measured {
        requests: raw.requests,
        duration_us: raw.duration_us,
        rps: raw.requests as f64 / seconds,
        errors: raw.errors,
        non_2xx: raw.non_2xx,
        p50_us: raw.p50_us,
        p99_us: raw.p99_us,
        p999_us: raw.p999_us,
        max_us: raw.max_us,
    })
}
