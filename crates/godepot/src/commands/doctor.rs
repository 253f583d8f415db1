//! `godepot doctor`: the go command's settings on this machine, checked against the server.
//! The checks live in `godepot_doctor`; this reads the facts, and renders the report.

use std::time::Duration;

use godepot_doctor::{GoEnv, GoEnvError, Report, ServerUrl, Status};

use crate::commands::depot;
use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::progress::count;
use crate::settings::DoctorSettings;

/// How long each request to the server may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why this machine's go command does not use the server, or will fail through it.
///
/// Reads `go env -json` (so `go` must be on PATH), then checks that GOPROXY asks the
/// server first (no `direct` or other proxy before it), that /healthz and /api/server
/// answer, that GONOPROXY/GOPRIVATE, GONOSUMDB, GOSUMDB and GOINSECURE agree with what the
/// server serves (its private modules, checksum databases, offline mode), that GOFLAGS
/// does not break builds (-mod=vendor without vendor/), and that one real request works:
/// the version list of the current module's first requirement (outside a module, the Go
/// toolchain's). Each problem comes with the line that fixes it.
///
/// Exit status: 0 all well, 1 findings, 2 usage or I/O error (no `go`, no server URL).
///
/// Examples:
///   godepot doctor                                     # the server is GOPROXY's first URL
///   godepot doctor --server http://godepot.corp.example:3000 --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct DoctorArgs {
    #[command(flatten)]
    pub(crate) doctor: DoctorSettings,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: DoctorArgs) -> Result<(), Failure> {
    let settings = file.merge(args.doctor)?;
    let env = GoEnv::read().map_err(|e| {
        let hint = match e {
            GoEnvError::NoGo(_) => "doctor checks the go command's settings: put `go` on PATH",
            _ => "run `go env` to see what the go command says",
        };
        Failure::config(e.to_string()).hint(hint)
    })?;
    let server = server(settings.server.as_deref(), &env)?;
    let go_mod = env
        .go_mod()
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|data| godepot_module::parse_go_mod(&data).ok());
    let target = godepot_doctor::fetch_target(&env, go_mod.as_ref());
    let probes =
        depot::runtime()?.block_on(godepot_doctor::probe::run(&server, &target, PROBE_TIMEOUT));
    let vendor_present = env.vendor_dir().is_some_and(|dir| dir.is_dir());
    let checks = godepot_doctor::diagnose(&godepot_doctor::Facts {
        env: &env,
        server: &server,
        vendor_present,
        target: &target,
        probes: &probes,
    });
    let report = Report::new(&env, &server, checks);
    print(&report, args.json);
    if report.findings == 0 {
        eprintln!("all well: the go command uses {server}");
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{} found",
        count(report.findings as u64, "problem")
    ))
    .hint("run each fix line above, then `godepot doctor` again"))
}

/// `--server`, else GOPROXY's first http(s) URL.
fn server(given: Option<&str>, env: &GoEnv) -> Result<ServerUrl, Failure> {
    match given {
        Some(text) => ServerUrl::parse(text).ok_or_else(|| {
            Failure::config("--server: want an http:// or https:// URL")
                .hint("e.g. --server http://godepot.corp.example:3000")
        }),
        None => ServerUrl::from_goproxy(env.get("GOPROXY")).ok_or_else(|| {
            Failure::config(format!(
                "GOPROXY={} names no http(s) proxy: which server should the go command use?",
                godepot_upstream::url::redact(env.get("GOPROXY"))
            ))
            .hint("pass --server URL, e.g. --server http://godepot.corp.example:3000")
        }),
    }
}

fn print(report: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
        return;
    }
    println!(
        "checking {} against the go command here ({}; `go env -w` writes {})",
        report.server, report.go_version, report.goenv
    );
    for check in &report.checks {
        let status = match check.status {
            Status::Ok => "ok",
            Status::Finding => "FINDING",
            Status::Skipped => "skipped",
        };
        println!("{status:<8} {:<12} {}", check.name, check.summary);
        if let Some(fix) = &check.fix {
            println!("{:<21} fix: {fix}", "");
        }
    }
}
