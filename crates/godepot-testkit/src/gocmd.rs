//! `GoEnv`: runs the real `go` command as the oracle, isolated per test.
//!
//! Every variable that changes where `go` looks for modules, checksums, toolchains or
//! configuration is set on *every* invocation, so neither the machine's settings nor another
//! test's leak in. GOPATH/GOMODCACHE/HOME are per-`GoEnv` temp dirs; only the build cache
//! (content-addressed and safe to share) is shared, to keep compile times down.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Panics with a clear message unless `go` runs; returns its `go version` line.
pub fn require_go() -> String {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    let v = VERSION.get_or_init(|| {
        match Command::new("go")
            .arg("version")
            .env("GOTOOLCHAIN", "local")
            .output()
        {
            Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned()),
            Ok(o) => Err(format!(
                "`go version` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => Err(format!("cannot run `go`: {e}")),
        }
    });
    match v {
        Ok(v) => v.clone(),
        Err(e) => panic!(
            "the `go` command is required by these tests (they use it as the oracle) and must be on PATH: {e}. \
             Install Go and re-run; these tests never skip."
        ),
    }
}

/// The build cache shared by all `GoEnv`s of all test processes.
fn shared_gocache() -> PathBuf {
    let dir = std::env::temp_dir().join("godepot-testkit-gocache");
    std::fs::create_dir_all(&dir).expect("create shared GOCACHE");
    dir
}

/// An isolated `go` runner. See the module docs.
#[derive(Debug)]
pub struct GoEnv {
    home: tempfile::TempDir,
    proxy: String,
    extra: Vec<(String, String)>,
    /// Variables left out of the environment (after the hermetic defaults), so that the
    /// `GOENV` file's values apply: what `go env -w` writes.
    unset: Vec<String>,
}

impl GoEnv {
    /// A fresh environment using `goproxy` (e.g. `file:///...` or `http://127.0.0.1:1234`).
    /// Panics if `go` is not on PATH.
    pub fn new(goproxy: &str) -> GoEnv {
        GoEnv::new_in(&std::env::temp_dir(), goproxy)
    }

    /// Like [`GoEnv::new`], with HOME and GOPATH under `parent` (say, a memory file system).
    pub fn new_in(parent: &Path, goproxy: &str) -> GoEnv {
        require_go();
        let home = tempfile::Builder::new()
            .prefix("godepot-goenv-")
            .tempdir_in(parent)
            .expect("temp GOPATH");
        std::fs::create_dir_all(home.path().join("gopath")).expect("mkdir gopath");
        GoEnv {
            home,
            proxy: goproxy.to_owned(),
            extra: Vec::new(),
            unset: Vec::new(),
        }
    }

    /// Changes GOPROXY for later invocations (same module cache).
    pub fn set_proxy(&mut self, goproxy: &str) {
        self.proxy = goproxy.to_owned();
    }

    /// The GOPROXY in use.
    pub fn proxy(&self) -> &str {
        &self.proxy
    }

    /// Overrides or adds an environment variable for later invocations.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra.retain(|(k, _)| k != key);
        self.unset.retain(|k| k != key);
        self.extra.push((key.to_owned(), value.to_owned()));
    }

    /// Leaves a variable out of later invocations' environment, hermetic default included:
    /// with `GOENV` set to a file, the go command then takes it from that file (where
    /// `go env -w` writes it).
    pub fn unset_env(&mut self, key: &str) {
        self.extra.retain(|(k, _)| k != key);
        self.unset.push(key.to_owned());
    }

    /// The temp HOME (also the parent of GOPATH).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `$GOPATH`.
    pub fn gopath(&self) -> PathBuf {
        self.home.path().join("gopath")
    }

    /// `$GOMODCACHE`.
    pub fn modcache(&self) -> PathBuf {
        self.gopath().join("pkg").join("mod")
    }

    /// `$GOMODCACHE/cache/download`: itself a valid `file://` GOPROXY tree.
    pub fn download_cache(&self) -> PathBuf {
        self.modcache().join("cache").join("download")
    }

    /// A `go` command with the hermetic environment, not yet run.
    pub fn command<I, S>(&self, dir: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("go");
        cmd.args(args).current_dir(dir);
        self.apply(&mut cmd);
        cmd
    }

    /// Gives `cmd` (`go`, or a program that runs `go`) this hermetic environment.
    pub fn apply(&self, cmd: &mut Command) {
        for k in [
            "GOOS",
            "GOARCH",
            "GOROOT",
            "GOEXPERIMENT",
            "GOINSECURE",
            "GOVCS",
            "GOAUTH",
            "GONOSUMCHECK",
            "XDG_CACHE_HOME",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("GOPROXY", &self.proxy)
            .env("GOSUMDB", "off")
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("GONOPROXY", "")
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off")
            .env("GOENV", "off")
            .env("GOTELEMETRY", "off")
            .env("CGO_ENABLED", "0")
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("GOPATH", self.gopath())
            .env("GOMODCACHE", self.modcache())
            .env("GOCACHE", shared_gocache());
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        for k in &self.unset {
            cmd.env_remove(k);
        }
    }

    /// Runs `go <args>` in `dir` and returns its output whatever the exit status.
    pub fn run<I, S>(&self, dir: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(dir, args);
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run go: {e}"))
    }

    /// Runs `go <args>` in `dir`, panics with the full stderr unless it succeeds; returns stdout.
    pub fn ok<I, S>(&self, dir: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<String> = args
            .into_iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        let out = self.run(dir, &args);
        if !out.status.success() {
            panic!(
                "`go {}` failed in {} (GOPROXY={}): {}\n--- stderr ---\n{}\n--- stdout ---\n{}",
                args.join(" "),
                dir.display(),
                self.proxy,
                out.status,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Empties the module cache (`go clean -modcache`), so the next command fetches again.
    pub fn clean_modcache(&self) {
        let out = self.run(self.home.path(), ["clean", "-modcache"]);
        if !out.status.success() {
            // Fall back to removing it ourselves (the go command makes it read-only).
            crate::fsutil::make_writable(&self.modcache());
            let _ = std::fs::remove_dir_all(self.modcache());
        }
        assert!(
            !self.download_cache().exists(),
            "module cache still present after clean"
        );
    }
}

impl Drop for GoEnv {
    fn drop(&mut self) {
        // The module cache is read-only; make it deletable so TempDir can clean up.
        crate::fsutil::make_writable(self.home.path());
    }
}
