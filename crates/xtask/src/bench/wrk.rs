//! The load generator: wrk, driven by a Lua script that cycles through a file of request
//! paths and prints its summary as one JSON line.
//!
//! Why wrk rather than oha: it is a Debian package (no compile on a 2-core machine shared
//! with other builds), and its event loop in C costs the least CPU per request of the two,
//! which matters most here because the generator shares the machine with the server.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::servers::command;

/// Prebuilds every request in `init` (after wrk has set the Host header), so the per-request
/// Lua work is one table lookup; `done` reports wrk's own histogram.
const SCRIPT: &str = r#"-- Written by `xtask bench`.
local reqs = {}
local n = 0
local i = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_PATHS")) do
    n = n + 1
    reqs[n] = wrk.format("GET", line)
  end
  -- Threads start at different offsets so they do not walk the list in lockstep.
  i = math.random(n) - 1
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
"#;

/// One wrk run's results.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WrkResult {
    pub(crate) connections: usize,
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) bytes: u64,
    pub(crate) rps: f64,
    pub(crate) mib_s: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) timeouts: u64,
}

pub(crate) struct Wrk {
    bin: PathBuf,
    script: PathBuf,
    /// CPUs the generator is pinned to, and how many that is.
    cpus: Option<String>,
    cores: usize,
}

impl Wrk {
    pub(crate) fn new(
        bin: PathBuf,
        work: &Path,
        cpus: Option<String>,
        cores: usize,
    ) -> Result<Wrk, String> {
        let script = work.join("bench.lua");
        fs::write(&script, SCRIPT).map_err(|e| format!("write wrk script: {e}"))?;
        Ok(Wrk {
            bin,
            script,
            cpus,
            cores: cores.max(1),
        })
    }

    /// Runs `connections` keep-alive connections for `duration` over the paths in
    /// `paths_file`. Any connect error or non-2xx answer fails the run.
    pub(crate) fn run(
        &self,
        addr: SocketAddr,
        paths_file: &Path,
        connections: usize,
        duration: Duration,
    ) -> Result<WrkResult, String> {
        let threads = connections.min(self.cores);
        let out = command(&self.bin, self.cpus.as_deref())
            .args(["-t", &threads.to_string()])
            .args(["-c", &connections.to_string()])
            .args(["-d", &format!("{}s", duration.as_secs().max(1))])
            // Latency beyond this counts as a timeout in wrk's summary; big zips at high
            // concurrency legitimately take many seconds each.
            .args(["--timeout", "60s"])
            .arg("-s")
            .arg(&self.script)
            .arg(format!("http://{addr}"))
            .env("BENCH_PATHS", paths_file)
            .output()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "wrk failed ({}): {}{}",
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let json = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_JSON "))
            .ok_or_else(|| format!("wrk printed no summary:\n{stdout}"))?;
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("wrk summary {json:?}: {e}"))?;
        let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
        let errors = num("connect") + num("write") + num("status");
        if errors > 0.0 {
            return Err(format!(
                "wrk against {addr} saw {} connect, {} write and {} non-2xx errors",
                num("connect"),
                num("write"),
                num("status")
            ));
        }
        let seconds = num("duration_us") / 1e6;
        let bytes = num("bytes");
        Ok(WrkResult {
            connections,
            requests: num("requests") as u64,
            seconds,
            bytes: bytes as u64,
            rps: num("requests") / seconds.max(1e-9),
            mib_s: bytes / 1048576.0 / seconds.max(1e-9),
            p50_ms: num("p50_us") / 1000.0,
            p99_ms: num("p99_us") / 1000.0,
            p999_ms: num("p999_us") / 1000.0,
            max_ms: num("max_us") / 1000.0,
            timeouts: num("timeout") as u64,
        })
    }
}

/// Writes one request path per line for the script to cycle through.
pub(crate) fn write_paths(file: &Path, paths: &[String]) -> Result<PathBuf, String> {
    let mut text = paths.join("\n");
    text.push('\n');
    fs::write(file, text).map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok(file.to_path_buf())
}
