//! Git test repositories and a loopback git server standing in for a made-up host.
//!
//! Repositories are made with the real `git` binary ([`TestRepo`]), with fixed author and
//! committer dates so versions and hashes are the same on every run. [`GitServer`] serves
//! them as `http://git.corp.example/<name>` (any host name you choose): it is an HTTP
//! *proxy* on 127.0.0.1, so clients reach the host through `HTTP_PROXY`/`http_proxy`
//! without any DNS or hosts-file change. Behind it:
//!
//! - `GET /<path>?go-get=1` answers a page with the `go-import` meta tag of the repository
//!   whose name is the longest prefix of the path (or the tags set with
//!   [`GitServer::set_meta`]);
//! - everything else under a repository goes to `git http-backend` (CGI), the smart-HTTP
//!   server git ships, so the protocol is git's own;
//! - `CONNECT` (https) is refused, so clients with `GOINSECURE` fall back to http at once;
//! - a repository may require Basic auth ([`GitServer::require_auth`]).
//!
//! Every request line is logged ([`GitServer::requests`]) so tests can prove what was, or
//! was not, asked. Missing `git` or `git-http-backend` panics: tests fail, never skip.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Where Debian's `git` package puts the CGI server.
const HTTP_BACKEND_PATHS: &[&str] = &[
    "/usr/lib/git-core/git-http-backend",
    "/usr/libexec/git-core/git-http-backend",
];

/// Panics with a clear message unless `git` runs; returns its version line.
pub fn require_git() -> String {
    let out = Command::new("git")
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("the git tests need the `git` binary on PATH: {e}"));
    assert!(out.status.success(), "`git --version` failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The `git-http-backend` CGI program; panics if it is not installed.
pub fn http_backend() -> PathBuf {
    require_git();
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    exec_path
        .map(|p| p.join("git-http-backend"))
        .into_iter()
        .chain(HTTP_BACKEND_PATHS.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("the git tests need git-http-backend (Debian: the `git` package ships it)")
        })
}

/// A working repository built by running `git`, with deterministic dates.
pub struct TestRepo {
    dir: PathBuf,
    /// Seconds since the epoch for the next commit; each commit adds an hour.
    clock: i64,
}

impl TestRepo {
    /// `git init` in `dir` (created), default branch `main`.
    pub fn init(dir: &Path) -> TestRepo {
        require_git();
        std::fs::create_dir_all(dir).expect("create repo dir");
        let repo = TestRepo {
            dir: dir.to_owned(),
            clock: 1_767_225_600, // 2026-01-01T00:00:00Z
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `git args` in the repository, panicking with its stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        // The author date differs from the committer date (and the zone from UTC), so a
        // test notices which one a version or `.info` Time was taken from.
        let date = format!("@{} +0200", self.clock);
        let author_date = format!("@{} -0700", self.clock - 86_400);
        let out = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@corp.example")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@corp.example")
            .env("GIT_AUTHOR_DATE", &author_date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Writes a file (parents created).
    pub fn write(&self, path: &str, content: &str) -> &Self {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write file");
        self
    }

    /// Makes a symbolic link `path` → `target`.
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, p).expect("symlink");
        self
    }

    /// Removes a file.
    pub fn remove(&self, path: &str) -> &Self {
        std::fs::remove_file(self.dir.join(path)).expect("remove file");
        self
    }

    /// Commits everything; returns the full hash.
    pub fn commit(&mut self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.clock += 3600;
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// A lightweight tag at HEAD.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    /// An annotated tag at HEAD.
    pub fn annotated_tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-a", name, "-m", name]);
        self
    }

    /// Moves (or creates) `name` to HEAD, as a force-push of a tag would.
    pub fn move_tag(&self, name: &str) -> &Self {
        self.git(&["tag", "-f", name]);
        self
    }

    /// `git checkout -q [-b] name`.
    pub fn checkout(&self, name: &str, create: bool) -> &Self {
        if create {
            self.git(&["checkout", "-q", "-b", name]);
        } else {
            self.git(&["checkout", "-q", name]);
        }
        self
    }
}

#[derive(Default)]
struct State {
    /// Repository name (path under the host) → working directory.
    repos: HashMap<String, PathBuf>,
    /// Repository name → (user, password) required.
    auth: HashMap<String, (String, String)>,
    /// Path → raw `<meta>` tags answered for `?go-get=1` instead of the derived one.
    meta: HashMap<String, String>,
    requests: Vec<String>,
}

/// The loopback git server and proxy. Stops when dropped.
pub struct GitServer {
    addr: SocketAddr,
    host: String,
    state: Arc<Mutex<State>>,
    backend: PathBuf,
}

impl GitServer {
    /// Starts serving `host` (e.g. `git.corp.example`) on 127.0.0.1.
    pub fn start(host: &str) -> GitServer {
        let backend = http_backend();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let server = GitServer {
            addr,
            host: host.to_owned(),
            state: state.clone(),
            backend: backend.clone(),
        };
        let host = host.to_owned();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (state, backend, host) = (state.clone(), backend.clone(), host.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &state, &backend, &host);
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY`.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Serves `repo` as `http://<host>/<name>` (and `<name>.git`).
    pub fn add_repo(&self, name: &str, repo: &TestRepo) {
        let mut s = self.state.lock().expect("state");
        s.repos.insert(name.to_owned(), repo.dir().to_owned());
    }

    /// Requires Basic auth with these credentials for `name`.
    pub fn require_auth(&self, name: &str, user: &str, password: &str) {
        let mut s = self.state.lock().expect("state");
        s.auth
            .insert(name.to_owned(), (user.to_owned(), password.to_owned()));
    }

    /// Answers `?go-get=1` for exactly `path` with these `<meta>` tags.
    pub fn set_meta(&self, path: &str, tags: &str) {
        let mut s = self.state.lock().expect("state");
        s.meta.insert(path.to_owned(), tags.to_owned());
    }

    /// Request lines seen so far (`GET http://host/path?query`).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().expect("state").requests.clone()
    }

    /// The environment a client needs to reach the host through this server.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let proxy = self.proxy_url();
        vec![
            ("HTTP_PROXY".into(), proxy.clone()),
            ("http_proxy".into(), proxy.clone()),
            ("HTTPS_PROXY".into(), proxy.clone()),
            ("https_proxy".into(), proxy),
            ("NO_PROXY".into(), String::new()),
            ("no_proxy".into(), String::new()),
        ]
    }

    /// The CGI program in use, for messages.
    pub fn backend(&self) -> &Path {
        &self.backend
    }
}

struct Request {
    method: String,
    host: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        reader.read_exact(&mut body)?;
    }
    // Absolute form through a proxy (`http://host/path`), origin form otherwise.
    let (host, rest) = match target.strip_prefix("http://") {
        Some(r) => {
            let slash = r.find('/').unwrap_or(r.len());
            (r[..slash].to_owned(), r[slash..].to_owned())
        }
        None if method == "CONNECT" => (target.clone(), String::new()),
        None => (get("host").unwrap_or_default(), target.clone()),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (rest, String::new()),
    };
    Ok(Some(Request {
        method,
        host,
        path,
        query,
        headers,
        body,
    }))
}

fn respond(
    conn: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}

fn serve(conn: TcpStream, state: &Mutex<State>, backend: &Path, host: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    let Some(req) = read_request(&mut reader)? else {
        return Ok(());
    };
    state.lock().expect("state").requests.push(format!(
        "{} http://{}{}{}{}",
        req.method,
        req.host,
        req.path,
        if req.query.is_empty() { "" } else { "?" },
        req.query
    ));
    if req.method == "CONNECT" {
        return respond(&mut conn, "403 Forbidden", &[], b"no https here\n");
    }
    let host_only = req.host.split(':').next().unwrap_or_default();
    if !host_only.eq_ignore_ascii_case(host) {
        return respond(&mut conn, "502 Bad Gateway", &[], b"unknown host\n");
    }
    let trimmed = req.path.trim_start_matches('/').to_owned();
    let (repo, dir, auth, meta) = {
        let s = state.lock().expect("state");
        let found = s
            .repos
            .iter()
            .filter(|(name, _)| {
                [name.to_string(), format!("{name}.git")]
                    .iter()
                    .any(|n| trimmed == *n || trimmed.starts_with(&format!("{n}/")))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(n, d)| (n.clone(), d.clone()));
        let auth = found.as_ref().and_then(|(n, _)| s.auth.get(n).cloned());
        (
            found.as_ref().map(|(n, _)| n.clone()),
            found.map(|(_, d)| d),
            auth,
            s.meta.get(&trimmed).cloned(),
        )
    };
    if req.query.split('&').any(|q| q == "go-get=1") {
        let tags = match (meta, &repo) {
            (Some(tags), _) => tags,
            (None, Some(name)) => format!(
                r#"<meta name="go-import" content="{host}/{name} git http://{host}/{name}">"#
            ),
            (None, None) => {
                return respond(&mut conn, "404 Not Found", &[], b"no such repository\n");
            }
        };
        let page =
            format!("<!DOCTYPE html>\n<html><head>\n{tags}\n</head><body>go get</body></html>\n");
        return respond(
            &mut conn,
            "200 OK",
            &[("Content-Type", "text/html; charset=utf-8")],
            page.as_bytes(),
        );
    }
    let (Some(name), Some(dir)) = (repo, dir) else {
        return respond(&mut conn, "404 Not Found", &[], b"no such repository\n");
    };
    if let Some((user, password)) = auth {
        let expected = format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{user}:{password}")
            )
        );
        if req.header("authorization") != Some(expected.as_str()) {
            return respond(
                &mut conn,
                "401 Unauthorized",
                &[("WWW-Authenticate", "Basic realm=\"git\"")],
                b"authentication required\n",
            );
        }
    }
    let rest = trimmed
        .strip_prefix(&format!("{name}.git"))
        .or_else(|| trimmed.strip_prefix(&name))
        .unwrap_or_default();
    cgi(&mut conn, &req, backend, &dir, rest)
}

/// Runs `git http-backend` for one request and relays its answer.
fn cgi(
    conn: &mut TcpStream,
    req: &Request,
    backend: &Path,
    dir: &Path,
    rest: &str,
) -> std::io::Result<()> {
    let mut cmd = Command::new(backend);
    cmd.env_clear()
        .env("GIT_PROJECT_ROOT", dir)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH_INFO", format!("/.git{rest}"))
        .env("REQUEST_METHOD", &req.method)
        .env("QUERY_STRING", &req.query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", req.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
    ] {
        if let Some(v) = req.header(header) {
            cmd.env(var, v);
        }
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let body = req.body.clone();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut out = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut out)?;
    let _ = writer.join();
    child.wait()?;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, sep)) = split else {
        return respond(conn, "502 Bad Gateway", &[], b"bad CGI answer\n");
    };
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let body = &out[end + sep..];
    let mut status = "200 OK".to_owned();
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.eq_ignore_ascii_case("status") {
            status = v.trim().to_owned();
        } else {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    respond(conn, &status, &refs, body)
}
