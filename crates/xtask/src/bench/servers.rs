//! Starting the servers under test: godepot (the release binary), the nginx baseline and
//! nginx as a load balancer in front of godepot replicas.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::httpc;
use super::procs::{Guarded, descendants};

/// A safety net against hangs, not a performance target.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server on 127.0.0.1, stopped when dropped.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    /// Processes whose memory is summed (nginx: master and workers).
    pub(crate) pids: Vec<u32>,
    log: PathBuf,
    guard: Guarded,
}

impl Server {
    /// Waits until godepot's module index is current (`/api/stats`). A godepot on a store
    /// without an index rebuilds it in the background at start-up, reading every zip held:
    /// work a deployment does once, which must not run under a measurement.
    pub(crate) fn wait_index_current(&self, within: Duration) -> Result<(), String> {
        let timeout = Duration::from_secs(30);
        let deadline = Instant::now() + within;
        loop {
            let stats = httpc::get_text(self.addr, "/api/stats", timeout)?;
            let body = stats.split_once("\r\n\r\n").map_or("", |(_, body)| body);
            let state = serde_json::from_str::<serde_json::Value>(body).ok();
            if state.is_some_and(|s| s["index"] == "current") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}'s module index was not current {within:?} after start-up",
                    self.name
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// An error (with the end of the server's log) if it has died.
    pub(crate) fn check_alive(&mut self) -> Result<(), String> {
        self.guard
            .check_alive()
            .map_err(|e| format!("{e}; end of its log:\n{}", log_tail(&self.log)))
    }
}

/// Where a child runs: `taskset -c <cpus>` when pinning is available.
pub(crate) fn command(program: &Path, cpus: Option<&str>) -> Command {
    match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A port free right now. The tiny window before the server binds it is harmless on a
/// machine where nothing else picks loopback ports at this rate.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local addr: {e}"))
}

/// How godepot is started.
pub(crate) struct GodepotSpec<'a> {
    pub(crate) bin: &'a Path,
    pub(crate) store: Store<'a>,
    /// `None`: `--offline`.
    pub(crate) upstream: Option<&'a str>,
    pub(crate) cpus: Option<&'a str>,
    pub(crate) log: &'a Path,
    /// More `serve` flags (`--cache-dir`, `--coordination`).
    pub(crate) extra: &'a [String],
    /// More environment (a bucket's endpoint and credentials, in the `AWS_*` variables).
    pub(crate) env: &'a [(String, String)],
}

/// Where the godepot under test keeps its modules.
pub(crate) enum Store<'a> {
    /// `--data-dir`: a directory on local disk.
    Dir(&'a Path),
    /// `--storage s3://bucket/prefix`: a replica keeping nothing locally but its cache.
    Bucket(&'a str),
}

/// Starts godepot and waits until `/healthz` answers; returns the time from spawn to that
/// first answer (the start-up time).
pub(crate) fn start_godepot(spec: &GodepotSpec<'_>) -> Result<(Server, Duration), String> {
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let log = fs::File::create(spec.log).map_err(|e| format!("{}: {e}", spec.log.display()))?;
    let mut cmd = command(spec.bin, spec.cpus);
    cmd.arg("serve").args(["--listen", &addr.to_string()]);
    match spec.store {
        Store::Dir(dir) => cmd.arg("--data-dir").arg(dir),
        Store::Bucket(url) => cmd.args(["--storage", url]),
    };
    cmd.args(["--log-format", "text", "--log-level", "info"])
        .args(spec.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GODEPOT_") {
            cmd.env_remove(&k);
        }
    }
    // Should the binary ever fall back to GOPROXY for its upstream, it finds `off`.
    cmd.env("GOPROXY", "off")
        .env("GOENV", "off")
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    match spec.upstream {
        // A list's TTL (a minute by default) would expire in the middle of the longer runs
        // and put a burst of upstream refreshes into whichever run is going on: the hits
        // measured must be hits.
        Some(up) => cmd.args([
            "--upstream",
            up,
            "--upstream-timeout",
            "60s",
            "--list-ttl",
            "1h",
        ]),
        None => cmd.arg("--offline"),
    };
    let start = Instant::now();
    let guard = Guarded::spawn("godepot", &mut cmd)?;
    let mut server = Server {
        name: "godepot",
        addr,
        pids: vec![guard.pid()],
        log: spec.log.to_path_buf(),
        guard,
    };
    let startup = wait_healthy(&mut server, start)?;
    Ok((server, startup))
}

/// Starts nginx from `work` (its config, logs and temp files live there) serving `root`.
pub(crate) fn start_nginx(
    nginx: &Path,
    work: &Path,
    root: &Path,
    cpus: Option<&str>,
) -> Result<Server, String> {
    let site = format!("root {};", root.display());
    launch_nginx(nginx, work, "", &site, cpus)
}

/// Starts nginx from `work` as a load balancer in front of `backends`: round robin (nginx's
/// default), HTTP/1.1 keep-alive connections to them, responses streamed as they come rather
/// than buffered to temp files (a zip is tens of MiB).
pub(crate) fn start_nginx_balancer(
    nginx: &Path,
    work: &Path,
    backends: &[SocketAddr],
    cpus: Option<&str>,
) -> Result<Server, String> {
    let servers: String = backends
        .iter()
        .map(|b| format!("        server {b};\n"))
        .collect();
    let upstream = format!(
        r#"upstream backends {{
{servers}        keepalive 256;
        keepalive_requests 100000000;
    }}"#
    );
    let site = r#"location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            # Unbuffered relaying reads this much at a time (default: one page).
            proxy_buffer_size 256k;
            proxy_buffers 4 256k;
            proxy_busy_buffers_size 256k;
        }"#;
    launch_nginx(nginx, work, &upstream, site, cpus)
}

/// Writes the configuration, starts nginx and waits until it answers.
fn launch_nginx(
    nginx: &Path,
    work: &Path,
    http_extra: &str,
    site: &str,
    cpus: Option<&str>,
) -> Result<Server, String> {
    fs::create_dir_all(work.join("tmp")).map_err(|e| format!("mkdir nginx work: {e}"))?;
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let conf = work.join("nginx.conf");
    fs::write(&conf, nginx_conf(work, addr, http_extra, site))
        .map_err(|e| format!("nginx.conf: {e}"))?;
    let log = work.join("error.log");
    let mut cmd = command(nginx, cpus);
    cmd.arg("-p")
        .arg(work)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let guard = Guarded::spawn("nginx", &mut cmd)?;
    let mut server = Server {
        name: "nginx",
        addr,
        pids: vec![guard.pid()],
        log,
        guard,
    };
    wait_healthy(&mut server, start)?;
    // The workers exist once it answers; their memory and CPU time count as nginx's.
    server.pids.extend(descendants(server.pid()));
    Ok(server)
}

/// The baseline's whole configuration: static files (or, with `http_extra`, a proxy),
/// sendfile, no caching beyond the kernel's. Access logging is on, like godepot's
/// per-request log line, so both servers format and write one line per request.
fn nginx_conf(work: &Path, addr: SocketAddr, http_extra: &str, site: &str) -> String {
    let w = work.display();
    format!(
        r#"# Written by `xtask bench`.
daemon off;
master_process on;
worker_processes auto;
# Root runs the bench; workers must read the bench's private temp dirs.
user root root;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    # godepot (hyper) never closes a keep-alive connection on a request count.
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    access_log {w}/access.log;
    client_body_temp_path {w}/tmp/body;
    proxy_temp_path {w}/tmp/proxy;
    fastcgi_temp_path {w}/tmp/fastcgi;
    uwsgi_temp_path {w}/tmp/uwsgi;
    scgi_temp_path {w}/tmp/scgi;
    types {{
        application/json info;
        application/zip zip;
        text/plain mod;
    }}
    default_type "text/plain; charset=utf-8";
    {http_extra}
    server {{
        listen {addr};
        location = /healthz {{
            return 200 "ok\n";
        }}
        {site}
    }}
}}
"#
    )
}

/// Pins a running process and all its threads to `cpus` (servers the harness starts through
/// the testkit, which knows nothing of pinning). Threads started later inherit it.
pub(crate) fn pin_running(pid: u32, cpus: Option<&str>) -> Result<(), String> {
    let Some(cpus) = cpus else {
        return Ok(());
    };
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset -a -p -c {cpus} {pid} failed ({status})"))
    }
}

fn wait_healthy(server: &mut Server, start: Instant) -> Result<Duration, String> {
    let deadline = start + START_TIMEOUT;
    loop {
        if let Ok(t) = httpc::get(server.addr, "/healthz", Duration::from_secs(2))
            && t.status == 200
        {
            return Ok(start.elapsed());
        }
        server.check_alive()?;
        if Instant::now() > deadline {
            return Err(format!(
                "{} did not answer /healthz within {START_TIMEOUT:?}; end of its log:\n{}",
                server.name,
                log_tail(&server.log)
            ));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
