//! The machine and the tools: installing nginx and wrk when missing, CPU pinning, building
//! the release binary, and describing the conditions of the run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

/// Finds an executable on PATH, or in the sbin directories where Debian puts nginx.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// nginx and wrk, installed from Debian with apt-get when missing.
pub(crate) fn ensure_tools() -> Result<(PathBuf, PathBuf), String> {
    let missing: Vec<&str> = ["nginx", "wrk"]
        .into_iter()
        .filter(|t| find_tool(t).is_none())
        .collect();
    if !missing.is_empty() {
        eprintln!("[bench] installing {} with apt-get", missing.join(" "));
        run_apt(&["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        run_apt(&args)?;
    }
    let get = |t: &str| find_tool(t).ok_or_else(|| format!("{t} is still missing after apt-get"));
    Ok((get("nginx")?, get("wrk")?))
}

/// MinIO and redis-server, which the objstore section starts: not installed here (MinIO is
/// built from source, minutes on this machine), so a missing one fails the run with how to
/// get it.
pub(crate) fn check_objstore_tools() -> Result<(), String> {
    if godepot_testkit::minio::find_minio_binary().is_none() {
        return Err(format!(
            "MinIO (for the objstore section) is not on PATH nor at $HOME/.cache/godepot-ci/bin/minio\n\
             hint: install it with `{}` (what .ci/run does), or leave the section out with --only",
            godepot_testkit::minio::INSTALL_MINIO
        ));
    }
    if godepot_testkit::redis::RedisServer::find_binary().is_none() {
        return Err("redis-server (for the objstore section) is not on PATH\n\
             hint: install it (Debian: apt-get install redis-server), or leave the section out with --only"
            .to_owned());
    }
    Ok(())
}

fn run_apt(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} failed ({status})", args.join(" ")))
    }
}

/// How the servers and the load generator share the CPUs (`--pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PinMode {
    /// The server under test on CPU 0, wrk on the others (when taskset and two CPUs exist).
    Split,
    /// Nothing pinned: godepot, nginx and wrk share every core, as on a real machine.
    #[value(name = "none")]
    #[serde(rename = "none")]
    Shared,
}

/// Which CPUs the servers and the load generator get.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Pinning {
    pub(crate) mode: PinMode,
    /// `taskset -c` list for the server under test, `None` when not pinned.
    pub(crate) server: Option<String>,
    pub(crate) load: Option<String>,
    /// CPUs the load generator may use (its thread count).
    pub(crate) load_cores: usize,
    pub(crate) note: String,
}

/// Split: with `taskset` and at least two CPUs, the server gets CPU 0 and wrk all the others,
/// so that neither steals the other's cycles and both servers get the same share. Shared (or
/// split without the means): everything floats over all CPUs.
pub(crate) fn pinning(mode: PinMode) -> Pinning {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let taskset = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mode == PinMode::Split && taskset && cpus >= 2 {
        Pinning {
            mode,
            server: Some("0".to_owned()),
            load: Some(format!("1-{}", cpus - 1)),
            load_cores: cpus - 1,
            note: format!(
                "{cpus} CPUs: server under test pinned to CPU 0, wrk to CPUs 1-{} (taskset)",
                cpus - 1
            ),
        }
    } else {
        let why = match mode {
            PinMode::Shared => "--pin none",
            PinMode::Split => "no taskset or one CPU",
        };
        Pinning {
            mode,
            server: None,
            load: None,
            load_cores: cpus,
            note: format!(
                "{cpus} CPU(s), no pinning ({why}): the servers and the load generator share every core"
            ),
        }
    }
}

pub(crate) use crate::cargo::workspace_root;

/// `cargo build --release -p godepot`; returns the binary cargo reports.
pub(crate) fn build_godepot(root: &Path) -> Result<PathBuf, String> {
    crate::cargo::build_godepot(root, &["--release"], &[])
}

/// What the run ran on and alongside.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) cpus: usize,
    pub(crate) cpu_model: String,
    pub(crate) mem_total: String,
    pub(crate) kernel: String,
    pub(crate) go: String,
    pub(crate) nginx: String,
    pub(crate) wrk: String,
    pub(crate) loadavg_start: String,
    pub(crate) loadavg_end: String,
    /// rustc processes of other builds at the start and the end of the run.
    pub(crate) rustc_start: usize,
    pub(crate) rustc_end: usize,
}

impl Machine {
    pub(crate) fn probe(nginx: &Path, wrk: &Path) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: field(&cpuinfo, "model name"),
            mem_total: field(&meminfo, "MemTotal"),
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            go: first_line(
                Command::new("go")
                    .arg("version")
                    .env("GOTOOLCHAIN", "local"),
            ),
            nginx: first_line(Command::new(nginx).arg("-v")),
            wrk: first_line(Command::new(wrk).arg("-v")),
            loadavg_start: loadavg(),
            loadavg_end: String::new(),
            rustc_start: rustc_count(),
            rustc_end: 0,
        }
    }

    pub(crate) fn finish(&mut self) {
        self.loadavg_end = loadavg();
        self.rustc_end = rustc_count();
    }
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix(':'))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// First line of stdout or stderr (nginx and wrk print their versions on stderr).
fn first_line(cmd: &mut Command) -> String {
    cmd.output().map_or_else(
        |e| format!("unavailable: {e}"),
        |o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text.lines().next().unwrap_or("").trim().to_owned()
        },
    )
}

pub(crate) fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Other compilations running now: they compete for the same two cores.
pub(crate) fn rustc_count() -> usize {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "rustc"))
        .count()
}
