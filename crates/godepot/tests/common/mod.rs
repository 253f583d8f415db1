//! Shared set-up for the end-to-end tests of the `godepot` binary: a fixture universe, a
//! `FixtureUpstream` serving it on loopback, and a godepot process in front of it with its
//! own data dir. Each test builds its own, so tests never share state.
#![allow(dead_code)]

pub(crate) mod project;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use godepot_testkit::universe::{self, Universe};
use godepot_testkit::{FixtureUpstream, GodepotProcess, UniverseBuilder, fsutil, http_get};

/// The binary under test.
pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_godepot"))
}

/// A universe + upstream + godepot data dir (godepot itself is started by the test).
pub(crate) struct Rig {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) universe: Universe,
    pub(crate) upstream: FixtureUpstream,
    pub(crate) data: PathBuf,
}

impl Rig {
    /// The standard universe (with the ~30 MiB zip and the project).
    pub(crate) fn standard() -> Rig {
        let tmp = tempfile::tempdir().expect("tempdir");
        let universe = universe::standard(&tmp.path().join("u"));
        Rig::finish(tmp, universe)
    }

    /// A small universe for protocol and fault tests: `example.com/f` v1.0.0 (48 KiB stored
    /// random data so a mid-body fault is really mid-body, yet under the 64 KiB godepot checks
    /// whole before sending), v1.1.0, an upper-case module, and `example.com/big` v1.0.0 (4 MiB,
    /// which godepot streams while fetching).
    pub(crate) fn small() -> Rig {
        let tmp = tempfile::tempdir().expect("tempdir");
        let universe = UniverseBuilder::new(tmp.path().join("u"))
            .module("example.com/f")
            .version("v1.0.0")
            .stored()
            .file("f.go", "package f\n")
            .file("data.bin", universe::random_bytes(42, 48 * 1024))
            .version("v1.1.0")
            .file("f.go", "package f\n\n// V is the version.\nconst V = 2\n")
            .module("example.com/Upper/Mod")
            .version("v1.0.0")
            .file("m.go", "package mod\n")
            .module("example.com/big")
            .version("v1.0.0")
            .stored()
            .file("big.go", "package big\n")
            .file("data.bin", universe::random_bytes(43, 4 * 1024 * 1024))
            .build();
        Rig::finish(tmp, universe)
    }

    /// A universe the test built (in `tmp`).
    pub(crate) fn from_universe(tmp: tempfile::TempDir, universe: Universe) -> Rig {
        Rig::finish(tmp, universe)
    }

    fn finish(tmp: tempfile::TempDir, universe: Universe) -> Rig {
        let upstream = FixtureUpstream::start(&universe.root);
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        Rig {
            tmp,
            universe,
            upstream,
            data,
        }
    }

    /// Starts `godepot serve --data-dir <data> --upstream <fixture> --log-format json <extra>`.
    pub(crate) fn godepot(&self, extra: &[&str]) -> GodepotProcess {
        let data = self.data.to_str().expect("utf-8 path");
        let upstream = self.upstream.url();
        let mut args = vec![
            "--data-dir",
            data,
            "--upstream",
            upstream.as_str(),
            "--log-format",
            "json",
        ];
        args.extend_from_slice(extra);
        GodepotProcess::start(bin(), &args)
    }

    /// Bytes of a fixture artifact.
    pub(crate) fn fixture(&self, module: &str, version: &str, ext: &str) -> Vec<u8> {
        std::fs::read(self.universe.artifact(module, version, ext)).expect("fixture artifact")
    }
}

/// Files under the data dir that look like a stored zip (by name or by zip magic), including
/// temp files: after a failed fetch there must be none.
pub(crate) fn zip_like_files(data: &Path) -> Vec<String> {
    fsutil::tree(data)
        .into_keys()
        .filter(|rel| {
            rel.to_ascii_lowercase().contains("zip")
                || std::fs::read(data.join(rel))
                    .map(|b| b.starts_with(b"PK\x03\x04"))
                    .unwrap_or(false)
        })
        .collect()
}

/// Waits (bounded) until the data dir holds no zip-like file; panics listing them otherwise.
/// The wait tolerates a temp file removed just after the error response went out.
pub(crate) fn assert_no_zip_stored(data: &Path, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = zip_like_files(data);
        if found.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{context}: a failed fetch left zip data in the data dir: {found:?}\nfull tree: {:?}",
                fsutil::tree(data)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True if some file under the data dir has exactly these bytes.
pub(crate) fn data_dir_holds(data: &Path, bytes: &[u8]) -> bool {
    fsutil::tree(data)
        .into_iter()
        .filter(|(_, len)| *len == bytes.len() as u64)
        .any(|(rel, _)| {
            std::fs::read(data.join(rel))
                .map(|b| b == bytes)
                .unwrap_or(false)
        })
}

/// `/healthz` answers 200.
pub(crate) fn assert_healthy(godepot: &GodepotProcess, context: &str) {
    let r =
        godepot_testkit::http::try_http_request("GET", &format!("{}/healthz", godepot.url()), &[])
            .unwrap_or_else(|e| {
                panic!(
                    "{context}: /healthz failed: {e}\nlogs:\n{}",
                    godepot.logs().join("\n")
                )
            });
    assert_eq!(r.status, 200, "{context}: /healthz: {}", r.text());
}

/// GET `path` on godepot.
pub(crate) fn get(godepot: &GodepotProcess, path: &str) -> godepot_testkit::HttpResponse {
    http_get(&format!("{}{path}", godepot.url()))
}

/// The last few log lines, for failure messages.
pub(crate) fn tail(godepot: &GodepotProcess) -> String {
    let logs = godepot.logs();
    logs[logs.len().saturating_sub(15)..].join("\n")
}

/// `godepot <args>`, not yet run, with nothing of the machine's configuration leaking in: no
/// `GODEPOT_*` variables, and `GOPROXY`/`GOSUMDB` off (left unset, godepot would ask
/// `go env` for an upstream and a checksum database), `GOENV` off, no `.netrc`.
pub(crate) fn godepot_command<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env("GOENV", "off")
        .env("NETRC", "/dev/null")
        .env_remove("GOVULNDB");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GODEPOT_") {
            cmd.env_remove(&k);
        }
    }
    cmd
}

/// Runs [`godepot_command`].
pub(crate) fn godepot_cli(args: &[&str]) -> Output {
    godepot_command(args).output().expect("run godepot")
}

/// Runs [`godepot_command`], which must succeed; its stdout.
pub(crate) fn godepot_ok(args: &[&str]) -> String {
    let out = godepot_cli(args);
    assert!(
        out.status.success(),
        "godepot {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `go` against `proxy`, verifying with the test database, with a fresh GOPATH (so
/// `$GOPATH/pkg/sumdb` remembers no tree head) and a clean module cache.
pub(crate) fn go_with_sumdb(
    proxy: &str,
    db: &godepot_testkit::TestSumdb,
) -> godepot_testkit::GoEnv {
    let mut go = godepot_testkit::GoEnv::new(proxy);
    go.set_env("GOSUMDB", &db.gosumdb());
    go.set_env("GONOSUMDB", "");
    go.set_env("GOPRIVATE", "");
    go.set_env("GONOSUMCHECK", "");
    go
}

/// The `Version` and `Sum`/`GoModSum` lines of `go mod download -json`: the go.sum lines,
/// without the local paths.
pub(crate) fn go_sum_lines(json: &str) -> Vec<String> {
    json.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("\"Version\"")
                || l.starts_with("\"Sum\"")
                || l.starts_with("\"GoModSum\"")
        })
        .map(str::to_string)
        .collect()
}

/// `godepot <args>` with MinIO's environment (endpoint and credentials).
pub(crate) fn minio_cli(minio: &godepot_testkit::minio::MinioServer, args: &[&str]) -> Output {
    godepot_command(args)
        .envs(minio.env())
        .output()
        .expect("run godepot")
}

/// `godepot serve --storage <bucket> --upstream <fixture> --log-format json <extra>`, with
/// MinIO's endpoint and credentials in the standard environment.
pub(crate) fn serve_on_bucket(
    rig: &Rig,
    minio: &godepot_testkit::minio::MinioServer,
    prefix: &str,
    extra: &[&str],
) -> GodepotProcess {
    let storage = minio.url(prefix);
    let upstream = rig.upstream.url();
    let mut args = vec![
        "--storage",
        storage.as_str(),
        "--upstream",
        upstream.as_str(),
        "--log-format",
        "json",
    ];
    args.extend_from_slice(extra);
    let env = minio.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    GodepotProcess::start_with_env(bin(), &args, &env)
}

/// The versions a `gc --json` report lists under `field`, as `module@version verdict`,
/// sorted.
pub(crate) fn gc_targets(report: &serde_json::Value, field: &str) -> Vec<String> {
    let mut all: Vec<String> = report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{}@{} {}", v["module"], v["version"], v["verdict"]).replace('"', ""))
        .collect();
    all.sort();
    all
}

/// A command's stdout then stderr, for assertions and their messages.
pub(crate) fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
