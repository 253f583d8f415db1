//! A real S3-compatible server on loopback for the tests: MinIO, started in a temporary
//! directory with generated root credentials and one bucket, killed on drop.
//!
//! The binary is found on `PATH` or at `$HOME/.cache/godepot-ci/bin/minio` (where `.ci/run`
//! installs it); when it is missing the test fails with the line that installs it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long MinIO may take to become ready (a cold start on a loaded machine).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A MinIO server on `127.0.0.1`, serving one bucket ([`MinioServer::bucket`]).
pub struct MinioServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    console_port: u16,
    user: String,
    password: String,
    bucket: String,
    child: Option<Child>,
}

impl std::fmt::Debug for MinioServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinioServer")
            .field("endpoint", &self.endpoint())
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// The command that installs MinIO where [`find_minio_binary`] looks (what `.ci/run` runs).
pub const INSTALL_MINIO: &str =
    "GOBIN=$HOME/.cache/godepot-ci/bin go install github.com/minio/minio@latest";

/// The MinIO binary, or a panic saying how to install it.
pub fn minio_binary() -> PathBuf {
    find_minio_binary().unwrap_or_else(|| {
        panic!(
            "these tests need MinIO (an S3-compatible server), which is not on PATH nor at \
             $HOME/.cache/godepot-ci/bin/minio; install it with:\n  {INSTALL_MINIO}"
        )
    })
}

/// The MinIO binary on `PATH` or at `$HOME/.cache/godepot-ci/bin/minio`, if there is one.
pub fn find_minio_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("minio"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("HOME")?;
        let candidate = Path::new(&home).join(".cache/godepot-ci/bin/minio");
        candidate.is_file().then_some(candidate)
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A random-enough lowercase token (credentials of a throwaway server; not secret).
fn token(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(len);
    out
}

impl MinioServer {
    /// Starts MinIO with a bucket named `godepot`, and waits until it is ready.
    pub fn start() -> MinioServer {
        let binary = minio_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let bucket = "godepot".to_string();
        // A directory at the top of the data directory is a bucket to MinIO.
        std::fs::create_dir_all(dir.path().join("data").join(&bucket)).expect("bucket dir");
        let mut server = MinioServer {
            binary,
            dir,
            port: free_port(),
            console_port: free_port(),
            user: format!("godepot{}", token(8)),
            password: token(24),
            bucket,
            child: None,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("minio.log"))
            .expect("log file");
        let child = Command::new(&self.binary)
            .arg("server")
            .arg(self.dir.path().join("data"))
            .arg("--address")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--console-address")
            .arg(format!("127.0.0.1:{}", self.console_port))
            .arg("--quiet")
            .env("MINIO_ROOT_USER", &self.user)
            .env("MINIO_ROOT_PASSWORD", &self.password)
            .env("MINIO_BROWSER", "off")
            .env("MINIO_UPDATE", "off")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/minio/health/live", self.endpoint());
        loop {
            if let Ok(response) = crate::http::try_http_request("GET", &url, &[])
                && response.status == 200
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "MinIO exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "MinIO was not ready within {READY_TIMEOUT:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What MinIO printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("minio.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{}", self.bucket, prefix.trim_matches('/'))
    }

    /// The environment a client (a godepot child process, an S3 client in the test) needs to
    /// reach this server: the standard `AWS_*` variables.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", self.user.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.password.clone()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The secret, for tests that check it is never printed.
    pub fn secret(&self) -> &str {
        &self.password
    }

    /// Where MinIO keeps its objects (`<dir>/data/<bucket>/<key>/...` in its own format).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's process id while it runs (the bench pins it to the server's CPUs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server (the port stops answering) until [`MinioServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, with the same data, and waits for it.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for MinioServer {
    fn drop(&mut self) {
        self.stop();
    }
}
