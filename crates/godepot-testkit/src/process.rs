//! `GodepotProcess`: runs the real `godepot` binary as a child process.
//!
//! The server binds `127.0.0.1:0` and the tests learn the port from its start-up log line
//! (`... listening on http://127.0.0.1:41234`), which avoids pick-a-free-port races. Stderr is
//! captured line by line so tests can assert on the per-request JSON log. Signals are sent with
//! the `kill` command (no libc, `unsafe` is forbidden in this workspace).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How long start-up and graceful stop may take before the helper gives up: a safety net
/// against hangs, not a performance assertion.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `godepot serve`. Killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct GodepotProcess {
    child: Option<Child>,
    addr: String,
    logs: Arc<Mutex<Vec<String>>>,
    bin: PathBuf,
    args: Vec<String>,
}

/// Extracts `host:port` after `listening on http://` in a log line (text or JSON).
pub fn parse_listen_line(line: &str) -> Option<String> {
    const NEEDLE: &str = "listening on http";
    let i = line.find(NEEDLE)?;
    let rest = &line[i + NEEDLE.len()..];
    let rest = rest
        .strip_prefix("s://")
        .or_else(|| rest.strip_prefix("://"))?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    (!addr.is_empty()).then_some(addr)
}

impl GodepotProcess {
    /// Runs `<bin> serve --listen 127.0.0.1:0 <args>` and waits for its listen line.
    /// Panics (with the captured log) if it exits or never prints it.
    pub fn start(bin: &Path, args: &[&str]) -> GodepotProcess {
        GodepotProcess::start_with_env(bin, args, &[])
    }

    /// As [`start`](Self::start), with these environment variables set on top of the
    /// hermetic ones (say `NETRC`).
    pub fn start_with_env(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> GodepotProcess {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG");
        // Hermetic: no GODEPOT_* setting of the machine leaks in, and should the binary ever
        // fall back to GOPROXY for its upstream (or GOSUMDB for its checksum databases), it
        // finds `off` rather than a real proxy or database.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("GODEPOT_") {
                cmd.env_remove(&k);
            }
        }
        // No credentials from the machine's `~/.netrc` either.
        cmd.env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "")
            .env("GOENV", "off")
            .env("NETRC", "/dev/null")
            // Nor the machine's vulnerability database (the default of --vulndb).
            .env_remove("GOVULNDB")
            .envs(env.iter().copied());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = logs.clone();
        std::thread::Builder::new()
            .name("godepot-stderr".into())
            .spawn(move || {
                let mut sent = false;
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if !sent && let Some(addr) = parse_listen_line(&line) {
                        let _ = tx.send(addr);
                        sent = true;
                    }
                    sink.lock().expect("lock").push(line);
                }
            })
            .expect("spawn log reader");

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout)
                | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        std::thread::sleep(Duration::from_millis(100));
                        let log = logs.lock().expect("lock").join("\n");
                        panic!(
                            "godepot exited during start-up ({status}) with args {args:?}; its stderr:\n{log}"
                        );
                    }
                    if Instant::now() > deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        let log = logs.lock().expect("lock").join("\n");
                        panic!(
                            "godepot printed no `listening on http://` line within {STARTUP_TIMEOUT:?}; its stderr:\n{log}"
                        );
                    }
                }
            }
        };
        GodepotProcess {
            child: Some(child),
            addr,
            logs,
            bin: bin.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Starts another process with the same binary and arguments (e.g. after [`stop`](Self::stop)).
    pub fn start_again(&self) -> GodepotProcess {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        GodepotProcess::start(&self.bin, &args)
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The child's pid (while running).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Captured stderr lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("lock").clone()
    }

    /// Captured stderr lines that parse as JSON objects (the `--log-format json` records).
    pub fn json_logs(&self) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(serde_json::Value::is_object)
            .collect()
    }

    /// Waits (bounded by `timeout`) until a JSON log record satisfies `pred`; returns it.
    /// Request logs may be written just after the response, hence the wait.
    pub fn wait_for_json_log(
        &self,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = self.json_logs().into_iter().find(|v| pred(v)) {
                return Some(v);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits (bounded by `timeout`) until a captured stderr line contains `needle`; returns the
    /// line. Logs reach the test through a reader thread, so a line written just before a
    /// response may arrive just after it: assert on presence with this, never with `logs()`.
    pub fn wait_for_log(&self, timeout: Duration, needle: &str) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| l.contains(needle)) {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Graceful stop: SIGTERM, then wait (SIGKILL after a generous timeout). Returns the exit
    /// status, or `None` if it had to be killed.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GodepotProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_listen_line;

    #[test]
    fn parses_text_and_json_listen_lines() {
        assert_eq!(
            parse_listen_line("INFO godepot: listening on http://127.0.0.1:41234").as_deref(),
            Some("127.0.0.1:41234")
        );
        assert_eq!(
            parse_listen_line(
                r#"{"level":"INFO","message":"listening on http://127.0.0.1:5 (offline)"}"#
            )
            .as_deref(),
            Some("127.0.0.1:5")
        );
        assert_eq!(
            parse_listen_line("listening on http://127.0.0.1:9\x1b[0m").as_deref(),
            Some("127.0.0.1:9")
        );
        assert_eq!(parse_listen_line("starting"), None);
    }
}
