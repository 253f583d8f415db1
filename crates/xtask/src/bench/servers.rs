//! Starting the servers under test: godepot (the release binary) and the nginx baseline.

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
    pub(crate) data_dir: &'a Path,
    /// `None`: `--offline`.
    pub(crate) upstream: Option<&'a str>,
    pub(crate) cpus: Option<&'a str>,
    pub(crate) log: &'a Path,
}

/// Starts godepot and waits until `/healthz` answers; returns the time from spawn to that
/// first answer (the start-up time).
pub(crate) fn start_godepot(spec: &GodepotSpec<'_>) -> Result<(Server, Duration), String> {
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let log = fs::File::create(spec.log).map_err(|e| format!("{}: {e}", spec.log.display()))?;
    let mut cmd = command(spec.bin, spec.cpus);
    cmd.arg("serve")
        .args(["--listen", &addr.to_string()])
        .arg("--data-dir")
        .arg(spec.data_dir)
        .args(["--log-format", "text", "--log-level", "info"])
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
    cmd.env("GOPROXY", "off").env("GOENV", "off");
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
    fs::create_dir_all(work.join("tmp")).map_err(|e| format!("mkdir nginx work: {e}"))?;
    let port = free_port()?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let conf = work.join("nginx.conf");
    fs::write(&conf, nginx_conf(work, root, addr)).map_err(|e| format!("nginx.conf: {e}"))?;
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
    // The workers exist once it answers; their memory counts as nginx's.
    server.pids.extend(descendants(server.pid()));
    Ok(server)
}

/// The baseline's whole configuration: static files, sendfile, no caching beyond the
/// kernel's. Access logging is on, like godepot's per-request log line, so both servers
/// format and write one line per request.
fn nginx_conf(work: &Path, root: &Path, addr: SocketAddr) -> String {
    let w = work.display();
    format!(
        r#"# Written by `xtask bench`: the static-file baseline.
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
    server {{
        listen {addr};
        root {root};
        location = /healthz {{
            return 200 "ok\n";
        }}
    }}
}}
"#,
        root = root.display()
    )
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
