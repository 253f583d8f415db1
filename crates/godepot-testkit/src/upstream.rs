//! `FixtureUpstream`: serves a `file://` tree as a GOPROXY over HTTP on 127.0.0.1, with
//! request counters and fault injection settable while it runs.
//!
//! The HTTP/1.1 layer is hand-written on tokio rather than built on axum/hyper on purpose:
//! the faults must put exact bytes on the wire (a true Content-Length followed by a TCP reset;
//! a lying Content-Length followed by a clean close), which a conforming server library refuses
//! to do. Every response carries `Connection: close`, so there is no keep-alive state to get
//! wrong. The server owns a tokio runtime whose worker threads run in the background, so it
//! works from plain `#[test]` functions and from inside async tests alike (no `block_on`).
//!
//! The mutable answers (`@v/list`, `@latest`) carry an `ETag` (a hash of the bytes) and a
//! `Last-Modified` (the list file's time), and a conditional request for an unchanged one is
//! answered 304, counted apart ([`FixtureUpstream::not_modified`]), as a real proxy would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::semver;

/// A misbehaviour applied to requests whose (percent-decoded) path contains a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a short text body.
    Status(u16),
    /// Send the true Content-Length, this many body bytes, then reset the connection (RST).
    ResetAfter(u64),
    /// Send the full file's Content-Length but only this many bytes, then close cleanly (FIN).
    Truncate(u64),
    /// Answer 200 with this body instead of the file (e.g. a zip with wrong entry prefixes).
    ReplaceBody(Vec<u8>),
    /// Wait this long before sending the response head, then answer normally.
    Delay(Duration),
    /// Send the true head, then the body one byte per this interval (a dripping upstream).
    Drip(Duration),
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    hits: Mutex<BTreeMap<String, u64>>,
    /// Of those, the ones answered 304 (a conditional request for an unchanged answer).
    not_modified: Mutex<BTreeMap<String, u64>>,
    faults: Mutex<Vec<(String, Fault)>>,
    latency: Mutex<Duration>,
    /// The last `Authorization` header received for each decoded path.
    authorizations: Mutex<BTreeMap<String, String>>,
}

#[derive(Debug)]
struct Running {
    shutdown: oneshot::Sender<mpsc::Sender<()>>,
}

/// A GOPROXY server over a directory, on `127.0.0.1:<port>`. See the module docs.
#[derive(Debug)]
pub struct FixtureUpstream {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    running: Mutex<Option<Running>>,
}

impl FixtureUpstream {
    /// Serves `root` (a `GOPROXY=file://` tree) on a fresh loopback port.
    pub fn start(root: &Path) -> FixtureUpstream {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fixture-upstream")
            .enable_all()
            .build()
            .expect("fixture upstream runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let up = FixtureUpstream {
            shared: Arc::new(Shared {
                root: root.to_path_buf(),
                hits: Mutex::new(BTreeMap::new()),
                not_modified: Mutex::new(BTreeMap::new()),
                faults: Mutex::new(Vec::new()),
                latency: Mutex::new(Duration::ZERO),
                authorizations: Mutex::new(BTreeMap::new()),
            }),
            addr,
            runtime: Some(runtime),
            running: Mutex::new(None),
        };
        up.launch(listener);
        up
    }

    fn launch(&self, listener: std::net::TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        let (tx, rx) = oneshot::channel();
        let shared = self.shared.clone();
        self.runtime
            .as_ref()
            .expect("runtime")
            .spawn(accept_loop(listener, shared, rx));
        *self.running.lock().expect("lock") = Some(Running { shutdown: tx });
    }

    /// `http://127.0.0.1:<port>`, stable across [`stop`](Self::stop)/[`restart`](Self::restart).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The served directory.
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// Stops listening and drops open connections: new connections are refused. Idempotent.
    pub fn stop(&self) {
        let Some(running) = self.running.lock().expect("lock").take() else {
            return;
        };
        let (ack_tx, ack_rx) = mpsc::channel();
        if running.shutdown.send(ack_tx).is_ok() {
            ack_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("fixture upstream did not stop");
        }
    }

    /// Listens again on the same port (stopping first if needed).
    pub fn restart(&self) {
        self.stop();
        let mut last_err = None;
        for _ in 0..100 {
            match std::net::TcpListener::bind(self.addr) {
                Ok(l) => return self.launch(l),
                Err(e) => {
                    last_err = Some(e);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        panic!("could not re-bind {}: {last_err:?}", self.addr);
    }

    /// Whether it is currently listening.
    pub fn is_running(&self) -> bool {
        self.running.lock().expect("lock").is_some()
    }

    /// Applies `fault` to requests whose decoded path contains `pattern` (a suffix such as
    /// `.zip` or `/@v/list` works). The first matching fault wins; faults stay until cleared.
    pub fn set_fault(&self, pattern: &str, fault: Fault) {
        self.shared
            .faults
            .lock()
            .expect("lock")
            .push((pattern.to_owned(), fault));
    }

    /// Removes the faults registered for exactly `pattern`.
    pub fn clear_fault(&self, pattern: &str) {
        self.shared
            .faults
            .lock()
            .expect("lock")
            .retain(|(p, _)| p != pattern);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().expect("lock").clear();
    }

    /// Adds this delay to every request before its response head (zero to clear).
    pub fn set_latency(&self, latency: Duration) {
        *self.shared.latency.lock().expect("lock") = latency;
    }

    /// Requests received whose decoded path ends with `path_suffix`.
    pub fn hits(&self, path_suffix: &str) -> u64 {
        count_where(&self.shared.hits, |p| p.ends_with(path_suffix))
    }

    /// Requests received whose decoded path contains `needle`.
    pub fn hits_containing(&self, needle: &str) -> u64 {
        count_where(&self.shared.hits, |p| p.contains(needle))
    }

    /// All requests so far, path → count.
    pub fn all_hits(&self) -> BTreeMap<String, u64> {
        self.shared.hits.lock().expect("lock").clone()
    }

    /// Total number of requests so far.
    pub fn total_hits(&self) -> u64 {
        self.shared.hits.lock().expect("lock").values().sum()
    }

    /// The `Authorization` header last received for a path ending with `path_suffix`, if
    /// any request for it carried one: a test can assert that credentials arrived.
    pub fn authorization(&self, path_suffix: &str) -> Option<String> {
        self.shared
            .authorizations
            .lock()
            .expect("lock")
            .iter()
            .rev()
            .find(|(p, _)| p.ends_with(path_suffix))
            .map(|(_, a)| a.clone())
    }

    /// Every `Authorization` header received, by path.
    pub fn all_authorizations(&self) -> BTreeMap<String, String> {
        self.shared.authorizations.lock().expect("lock").clone()
    }

    /// Requests answered 304 (conditional, for an unchanged list or `@latest`) whose decoded
    /// path ends with `path_suffix`; they are counted in [`hits`](Self::hits) too.
    pub fn not_modified(&self, path_suffix: &str) -> u64 {
        count_where(&self.shared.not_modified, |p| p.ends_with(path_suffix))
    }

    /// Forgets the counters.
    pub fn reset_hits(&self) {
        self.shared.hits.lock().expect("lock").clear();
        self.shared.not_modified.lock().expect("lock").clear();
    }
}

/// The requests counted in `counts` whose path satisfies `pred`.
fn count_where(counts: &Mutex<BTreeMap<String, u64>>, pred: impl Fn(&str) -> bool) -> u64 {
    let counts = counts.lock().expect("lock");
    counts.iter().filter(|(p, _)| pred(p)).map(|(_, n)| n).sum()
}

/// Counts one more request for `path`.
fn bump(counts: &Mutex<BTreeMap<String, u64>>, path: &str) {
    *counts
        .lock()
        .expect("lock")
        .entry(path.to_owned())
        .or_insert(0) += 1;
}

impl Drop for FixtureUpstream {
    fn drop(&mut self) {
        // No blocking shutdown: dropping a runtime inside an async test would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<mpsc::Sender<()>>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            ack = &mut shutdown => {
                drop(listener);
                conns.abort_all();
                while conns.join_next().await.is_some() {}
                if let Ok(ack) = ack {
                    let _ = ack.send(());
                }
                return;
            }
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    conns.spawn(handle(stream, shared.clone()));
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Percent-decodes a request path; `None` for malformed escapes or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

async fn write_head(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    len: u64,
) -> std::io::Result<()> {
    write_head_with(stream, status, content_type, len, "").await
}

/// As [`write_head`], with `extra` header lines (each ending in CRLF).
async fn write_head_with(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    len: u64,
    extra: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n",
        reason(status)
    );
    stream.write_all(head.as_bytes()).await
}

/// The validators of a mutable answer (`@v/list`, `@latest`): an `ETag` hashing its bytes and
/// the list file's time as `Last-Modified`; `None` for every other path.
struct Validators {
    etag: String,
    last_modified: Option<std::time::SystemTime>,
}

impl Validators {
    fn of(root: &Path, path: &str, target: &Target) -> Option<Validators> {
        let rel = path.trim_start_matches('/');
        let module = rel
            .strip_suffix("/@v/list")
            .or_else(|| rel.strip_suffix("/@latest"))?;
        let bytes = match target {
            Target::File(p, _) => std::fs::read(p).ok()?,
            Target::Bytes(b, _) => b.clone(),
            Target::Missing(_) => return None,
        };
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&bytes);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let last_modified = std::fs::metadata(root.join(module).join("@v/list"))
            .and_then(|m| m.modified())
            .ok();
        Some(Validators {
            etag: format!("\"{hex}\""),
            last_modified,
        })
    }

    /// Whether the request's `If-None-Match` (else its `If-Modified-Since`, as RFC 9110
    /// orders them) says the client holds this answer.
    fn unchanged_for(&self, head: &str) -> bool {
        if let Some(tags) = header(head, "if-none-match") {
            return tags
                .split(',')
                .any(|t| t.trim() == self.etag || t.trim() == "*");
        }
        let since =
            header(head, "if-modified-since").and_then(|d| httpdate::parse_http_date(&d).ok());
        match (since, self.last_modified) {
            // HTTP dates have whole seconds: compare at that grain.
            (Some(since), Some(modified)) => {
                httpdate::HttpDate::from(modified) <= httpdate::HttpDate::from(since)
            }
            _ => false,
        }
    }

    fn header_lines(&self) -> String {
        let mut lines = format!("ETag: {}\r\n", self.etag);
        if let Some(modified) = self.last_modified {
            lines.push_str(&format!(
                "Last-Modified: {}\r\n",
                httpdate::fmt_http_date(modified)
            ));
        }
        lines
    }
}

/// The value of the first request header named `name` (lower-case).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, value) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

async fn respond_bytes(
    stream: &mut TcpStream,
    head_only: bool,
    status: u16,
    content_type: &str,
    body: &[u8],
) {
    if write_head(stream, status, content_type, body.len() as u64)
        .await
        .is_ok()
        && !head_only
    {
        let _ = stream.write_all(body).await;
    }
    let _ = stream.shutdown().await;
}

async fn respond_text(stream: &mut TcpStream, head_only: bool, status: u16, msg: &str) {
    respond_bytes(
        stream,
        head_only,
        status,
        "text/plain; charset=utf-8",
        format!("{msg}\n").as_bytes(),
    )
    .await;
}

/// What a request maps to on disk.
enum Target {
    File(PathBuf, &'static str),
    Bytes(Vec<u8>, &'static str),
    Missing(String),
}

fn resolve(root: &Path, path: &str) -> Target {
    let rel = path.trim_start_matches('/');
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || rel.contains('\0')
        || rel.contains('\\')
    {
        return Target::Missing(format!("not found: invalid path {path}"));
    }
    if let Some(module) = rel.strip_suffix("/@latest") {
        let list = std::fs::read_to_string(root.join(module).join("@v/list")).unwrap_or_default();
        return match semver::latest(list.lines().filter_map(|l| l.split_whitespace().next())) {
            Some(v) => match std::fs::read(
                root.join(module)
                    .join("@v")
                    .join(format!("{}.info", semver::escape(v))),
            ) {
                Ok(b) => Target::Bytes(b, "application/json"),
                Err(_) => Target::Missing(format!("not found: {module}@latest: no .info for {v}")),
            },
            None => Target::Missing(format!("not found: {module}@latest: no versions")),
        };
    }
    // A vulnerability database written beside the modules (see [`crate::vulndb`]).
    if rel.starts_with("vulndb/") {
        let full = root.join(rel);
        return if full.is_file() {
            Target::File(full, "application/json")
        } else {
            Target::Missing(format!("not found: {path}"))
        };
    }
    // A checksum database written beside the modules (see [`crate::sumdb`]).
    if rel.starts_with("sumdb/") {
        let full = root.join(rel);
        return if full.is_file() {
            let ct = if rel.contains("/tile/") && !rel.contains("/data/") {
                "application/octet-stream"
            } else {
                "text/plain; charset=utf-8"
            };
            Target::File(full, ct)
        } else {
            Target::Missing(format!("not found: {path}"))
        };
    }
    let Some((_, file)) = rel.rsplit_once("/@v/") else {
        return Target::Missing(format!("not found: {path}"));
    };
    let ct = if file == "list" || file.ends_with(".mod") {
        "text/plain; charset=utf-8"
    } else if file.ends_with(".info") {
        "application/json"
    } else if file.ends_with(".zip") {
        "application/zip"
    } else {
        return Target::Missing(format!("not found: {path}"));
    };
    let full = root.join(rel);
    if full.is_file() {
        Target::File(full, ct)
    } else {
        Target::Missing(format!("not found: {path}"))
    }
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let head_only = method == "HEAD";
    // Asked as an HTTP proxy (`GET http://host/path`): serve the path, whatever the host,
    // so a client configured with a made-up upstream host reaches us through HTTP_PROXY.
    let target = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let raw_path = target.split('?').next().unwrap_or("");
    let Some(path) = percent_decode(raw_path) else {
        return respond_text(
            &mut stream,
            head_only,
            400,
            "bad request: malformed percent-encoding",
        )
        .await;
    };
    bump(&shared.hits, &path);
    if let Some(value) = header(&head, "authorization") {
        shared
            .authorizations
            .lock()
            .expect("lock")
            .insert(path.clone(), value);
    }
    if method != "GET" && method != "HEAD" {
        return respond_text(&mut stream, false, 405, "method not allowed").await;
    }

    let latency = *shared.latency.lock().expect("lock");
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = shared
        .faults
        .lock()
        .expect("lock")
        .iter()
        .find(|(p, _)| path.contains(p.as_str()))
        .map(|(_, f)| f.clone());
    let target = resolve(&shared.root, &path);
    let validators = Validators::of(&shared.root, &path, &target);
    let extra = validators
        .as_ref()
        .map(Validators::header_lines)
        .unwrap_or_default();

    match fault {
        Some(Fault::Status(code)) => {
            return respond_text(
                &mut stream,
                head_only,
                code,
                &format!("injected fault: status {code}"),
            )
            .await;
        }
        Some(Fault::ReplaceBody(body)) => {
            let ct = match &target {
                Target::File(_, ct) | Target::Bytes(_, ct) => ct,
                Target::Missing(_) => "application/octet-stream",
            };
            return respond_bytes(&mut stream, head_only, 200, ct, &body).await;
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        _ => {}
    }

    if let Some(v) = &validators
        && v.unchanged_for(&head)
    {
        bump(&shared.not_modified, &path);
        if stream
            .write_all(
                format!("HTTP/1.1 304 Not Modified\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
            )
            .await
            .is_ok()
        {
            let _ = stream.shutdown().await;
        }
        return;
    }
    let (mut reader, len, ct): (Box<dyn tokio::io::AsyncRead + Unpin + Send>, u64, &str) =
        match target {
            Target::Missing(msg) => return respond_text(&mut stream, head_only, 404, &msg).await,
            Target::Bytes(b, ct) => {
                let len = b.len() as u64;
                (Box::new(std::io::Cursor::new(b)), len, ct)
            }
            Target::File(p, ct) => match tokio::fs::File::open(&p).await {
                Ok(f) => {
                    let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
                    (Box::new(f), len, ct)
                }
                Err(e) => {
                    return respond_text(
                        &mut stream,
                        head_only,
                        500,
                        &format!("fixture read error: {e}"),
                    )
                    .await;
                }
            },
        };
    if write_head_with(&mut stream, 200, ct, len, &extra)
        .await
        .is_err()
        || head_only
    {
        let _ = stream.shutdown().await;
        return;
    }
    match fault {
        Some(Fault::ResetAfter(n)) => {
            let _ = tokio::io::copy(&mut (&mut reader).take(n.min(len)), &mut stream).await;
            let _ = stream.flush().await;
            // SO_LINGER 0: close() sends RST instead of FIN, a true mid-body reset.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Some(Fault::Drip(every)) => {
            let mut byte = [0u8; 1];
            while matches!(reader.read(&mut byte).await, Ok(1)) {
                if stream.write_all(&byte).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
            let _ = stream.shutdown().await;
        }
        Some(Fault::Truncate(n)) => {
            let _ = tokio::io::copy(&mut (&mut reader).take(n.min(len)), &mut stream).await;
            let _ = stream.shutdown().await;
        }
        _ => {
            let _ = tokio::io::copy(&mut reader, &mut stream).await;
            let _ = stream.shutdown().await;
        }
    }
}
