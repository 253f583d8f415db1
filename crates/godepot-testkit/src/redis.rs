//! `RedisServer`: a real `redis-server` on 127.0.0.1, for the coordination tests.
//!
//! Started with no persistence (`--save '' --appendonly no`), so a restart is a Redis that has
//! forgotten every key, as after a crash of an unpersisted one. It can be stopped and started
//! again on the same port (the replicas keep their `--coordination` URL), and it is killed on
//! drop. A machine without `redis-server` fails the test with how to install it: never a skip.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long start-up may take: a safety net against hangs.
const STARTUP: Duration = Duration::from_secs(20);

/// A running (or stopped, restartable) `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    password: Option<String>,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port.
    pub fn start() -> RedisServer {
        RedisServer::start_with_password(None)
    }

    /// Starts one that requires `password` (`requirepass`), for tests that a password in the
    /// URL is never shown.
    pub fn start_with_password(password: Option<&str>) -> RedisServer {
        let port = free_port();
        let mut server = RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir for redis"),
            password: password.map(str::to_string),
        };
        server.launch();
        server
    }

    fn binary() -> PathBuf {
        RedisServer::find_binary().unwrap_or_else(|| {
            panic!(
                "redis-server is required by the coordination tests but is not on PATH; \
                 install it (Debian: apt-get install redis-server) or let .ci/run do it"
            )
        })
    }

    /// `redis-server` on `PATH`, if there is one.
    pub fn find_binary() -> Option<PathBuf> {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("redis-server"))
                .find(|p| p.is_file())
        })
    }

    fn launch(&mut self) {
        let mut cmd = Command::new(RedisServer::binary());
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(password) = &self.password {
            cmd.args(["--requirepass", password]);
        }
        let mut child = cmd.spawn().expect("cannot start redis-server");
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
        let deadline = Instant::now() + STARTUP;
        while !self.ping() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "redis-server exited during start-up ({status}) on port {}",
                    self.port
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("redis-server did not answer PING within {STARTUP:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// Sends PING (after AUTH when a password is set); true on PONG.
    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut request = String::new();
        if let Some(password) = &self.password {
            request.push_str(&format!(
                "*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n",
                password.len()
            ));
        }
        request.push_str("*1\r\n$4\r\nPING\r\n");
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut reader = BufReader::new(s);
        let mut line = String::new();
        for _ in 0..2 {
            line.clear();
            if reader.read_line(&mut line).is_err() {
                return false;
            }
            if line.starts_with("+PONG") {
                return true;
            }
        }
        false
    }

    /// The server's process id while it runs (the bench pins it to the server's CPUs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:<port>` (with the password as userinfo when one is set).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Kills the server (SIGKILL): every key is lost, as nothing is persisted.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
