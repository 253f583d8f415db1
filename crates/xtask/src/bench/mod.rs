//! `xtask bench`: godepot side by side with nginx serving the same store, in one run.
//!
//! Sections, in order (each one's failure is recorded and the others still run):
//! - [`warm`]: small-file hits and zip throughput under wrk, memory from `/proc`;
//! - [`cold`]: first/last byte of a cold zip and a burst of cold requests, upstream +20 ms;
//! - [`client`]: `go mod download all` through godepot versus `file://` and upstream direct;
//! - [`scale`]: start-up and latency with 100,000 versions in the store;
//! - [`objstore`]: replicas on a bucket (MinIO) beside the local store and nginx;
//! - [`airgap`]: export, import and verify of 100,000 versions;
//! - [`real`], only with `--project`: a real project's prefetch and cold pull-through against
//!   the go command's own upstream.
//!
//! Everything listens on 127.0.0.1; every loop is bounded; every child process is held by a
//! guard that stops it on drop. A missed target is reported, never turned into a failure.

mod airgap;
mod client;
mod cold;
mod cpu;
mod env;
mod fixture;
mod httpc;
mod objstore;
mod plan;
mod procs;
mod real;
mod report;
mod rss;
mod scale;
mod servers;
mod warm;
mod wrk;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use godepot_testkit::FixtureUpstream;
use serde::Serialize;

use env::{Machine, PinMode, Pinning};
use fixture::Fixture;
use plan::Plan;
use report::Report;

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// Tiny sizes and 1-second runs (a minute or two in all): what CI runs.
    #[arg(long)]
    quick: bool,
    /// Where bench.json and bench.txt go [default: <workspace>/target/bench].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Benchmark this godepot binary instead of building one (e.g. to compare two builds).
    #[arg(long, value_name = "FILE")]
    godepot_bin: Option<PathBuf>,
    /// Run only these sections (comma-separated), e.g. `--only client` while tuning one
    /// figure.
    #[arg(long, value_delimiter = ',', value_name = "SECTION")]
    only: Vec<Section>,
    /// `split`: the server under test on CPU 0, wrk on the others; `none`: everything shares
    /// every core (issue 16). Run both for the two sets of rows.
    #[arg(long, value_enum, default_value = "split", value_name = "MODE")]
    pin: PinMode,
    /// Versions in the generated stores of the scale and air-gap sections, a hundred a
    /// module [default: 100,000; 2,000 with --quick]. Issue 16's store-scale target is for
    /// 1,000,000 (`--only scale --scale-versions 1000000`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(100..))]
    scale_versions: Option<u64>,
    /// A real project (the directory of its go.mod and go.sum): adds the `real` section,
    /// which prefetches it and pulls it through an empty godepot from the go command's own
    /// upstream and checksum database (`go env GOPROXY`, `go env GOSUMDB`), beside `go mod
    /// download all` straight from there. Uses the network; never in `--quick`.
    #[arg(long, value_name = "DIR", conflicts_with = "quick")]
    project: Option<PathBuf>,
}

/// The sections of a run, in the order they run.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Section {
    Warm,
    Cold,
    Client,
    Scale,
    Objstore,
    Airgap,
    Real,
}

/// What every section gets.
pub(crate) struct Ctx<'a> {
    plan: &'a Plan,
    fixture: &'a Fixture,
    godepot: &'a Path,
    nginx: &'a Path,
    wrk: &'a wrk::Wrk,
    pinning: &'a Pinning,
    upstream: &'a FixtureUpstream,
    work: &'a Path,
}

#[derive(Serialize)]
struct Output<'a> {
    plan: &'a Plan,
    finished_unix: u64,
    wall_seconds: f64,
    machine: &'a Machine,
    pinning: &'a Pinning,
    notes: Vec<String>,
    #[serde(flatten)]
    report: &'a Report,
}

pub(crate) fn run(args: BenchArgs) -> ExitCode {
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(n) = args.scale_versions {
        plan.set_scale_total(n as usize);
    }
    let root = env::workspace_root();
    let out_dir = args
        .out
        .unwrap_or_else(|| root.join("target").join("bench"));
    let started = Instant::now();
    let mut report = Report::default();
    let wanted = |s: Section| args.only.is_empty() || args.only.contains(&s);
    let setup = (|| -> Result<_, String> {
        let (nginx, wrk) = env::ensure_tools()?;
        if wanted(Section::Objstore) {
            env::check_objstore_tools()?;
        }
        let real = match &args.project {
            Some(dir) if wanted(Section::Real) => Some(real::RealUpstream::from_go_env(dir)?),
            Some(_) => None,
            None if args.only.contains(&Section::Real) => {
                return Err("the real section needs --project DIR".to_owned());
            }
            None => None,
        };
        let godepot = match args.godepot_bin {
            Some(bin) => bin,
            None => {
                eprintln!("[bench] building the release godepot");
                env::build_godepot(&root)?
            }
        };
        Ok((
            Tools {
                godepot,
                nginx,
                wrk,
            },
            real,
        ))
    })();
    let (tools, real) = match setup {
        Ok(t) => t,
        Err(e) => {
            eprintln!("[bench] cannot set up: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut machine = Machine::probe(&tools.nginx, &tools.wrk);
    if machine.rustc_start > 0 {
        eprintln!(
            "[bench] note: {} rustc processes are running: figures will be noisy",
            machine.rustc_start
        );
    }
    let pinning = env::pinning(args.pin);
    eprintln!("[bench] {}", pinning.note);

    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        sections(
            &plan,
            &args.only,
            &tools,
            &pinning,
            real.as_ref(),
            &mut report,
        )
    }));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => report.fail(e),
        Err(p) => report.fail(format!("set-up panicked: {}", panic_message(&*p))),
    }
    machine.finish();

    let mut notes = vec![
        format!("plan: {} ({} module versions in the universe)", plan.name, plan.universe_versions()),
        pinning.note.clone(),
        "godepot runs online (upstream: the fixture upstream on 127.0.0.1, list TTL 1 h so that list hits stay hits) with its default info-level access log; nginx logs each request too".to_owned(),
        format!(
            "other builds: {} rustc processes at start, {} at end; load average {} at start, {} at end",
            machine.rustc_start, machine.rustc_end, machine.loadavg_start, machine.loadavg_end
        ),
    ];
    if real.is_some() {
        notes.push("the real section's upstream and checksum database are the go command's own (go env GOPROXY, GOSUMDB), over the network".to_owned());
    }
    let table = report.table();
    let mut text = String::new();
    for n in &notes {
        text.push_str(&format!("# {n}\n"));
    }
    text.push_str(&table);
    println!("{text}");
    let output = Output {
        plan: &plan,
        finished_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        wall_seconds: started.elapsed().as_secs_f64(),
        machine: &machine,
        pinning: &pinning,
        notes,
        report: &report,
    };
    if let Err(e) = write_outputs(&out_dir, &output, &text) {
        eprintln!("[bench] cannot write results: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!(
        "[bench] wrote {} ({:.0} s)",
        out_dir.join("bench.json").display(),
        started.elapsed().as_secs_f64()
    );
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The binaries a run drives.
struct Tools {
    godepot: PathBuf,
    nginx: PathBuf,
    wrk: PathBuf,
}

fn sections(
    plan: &Plan,
    only: &[Section],
    tools: &Tools,
    pinning: &Pinning,
    real: Option<&real::RealUpstream>,
    report: &mut Report,
) -> Result<(), String> {
    let work = tempfile::Builder::new()
        .prefix("godepot-bench-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    eprintln!(
        "[bench] generating the fixture universe ({} plan)",
        plan.name
    );
    let t = Instant::now();
    let fixture = fixture::build(&work.path().join("universe"), plan);
    eprintln!(
        "[bench]   {} module versions in {:.1} s",
        plan.universe_versions(),
        t.elapsed().as_secs_f64()
    );
    let wrk = wrk::Wrk::new(
        tools.wrk.clone(),
        work.path(),
        pinning.load.clone(),
        pinning.load_cores,
    )?;
    let upstream = FixtureUpstream::start(&fixture.universe.root);
    let ctx = Ctx {
        plan,
        fixture: &fixture,
        godepot: &tools.godepot,
        nginx: &tools.nginx,
        wrk: &wrk,
        pinning,
        upstream: &upstream,
        work: work.path(),
    };
    let wanted = |s: Section| only.is_empty() || only.contains(&s);
    // The two pinning modes' tables are pasted side by side: the sections that pin say which.
    let unpinned = if pinning.server.is_none() {
        " (unpinned)"
    } else {
        ""
    };
    if wanted(Section::Warm) {
        let name = format!("warm store: godepot vs nginx{unpinned}");
        section(report, &name, |r| warm::run(&ctx, r));
    }
    if wanted(Section::Cold) {
        section(report, "cold path", |r| cold::run(&ctx, r));
    }
    if wanted(Section::Client) {
        section(report, "client view", |r| client::run(&ctx, r));
    }
    if wanted(Section::Scale) {
        section(report, "scale", |r| scale::run(&ctx, r));
    }
    if wanted(Section::Objstore) {
        let name = format!("object storage: replicas on MinIO{unpinned}");
        section(report, &name, |r| objstore::run(&ctx, r));
    }
    if wanted(Section::Airgap) {
        section(report, "air gap", |r| airgap::run(&ctx, r));
    }
    if let Some(real) = real {
        section(report, "a real project, real upstream", |r| {
            real::run(&ctx, real, r)
        });
    }
    Ok(())
}

/// Runs one section; an error or a panic is recorded and the bench goes on. The servers a
/// section started are stopped by their guards as it returns or unwinds.
fn section<T>(
    report: &mut Report,
    name: &str,
    f: impl FnOnce(&mut Report) -> Result<T, String>,
) -> Option<T> {
    eprintln!("[bench] == {name}");
    report.section(name);
    match panic::catch_unwind(AssertUnwindSafe(|| f(report))) {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            report.fail(format!("{name}: {e}"));
            None
        }
        Err(p) => {
            report.fail(format!("{name}: panicked: {}", panic_message(&*p)));
            None
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

fn write_outputs(dir: &Path, output: &Output<'_>, text: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(output).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("bench.json"), json).map_err(|e| format!("bench.json: {e}"))?;
    std::fs::write(dir.join("bench.txt"), text).map_err(|e| format!("bench.txt: {e}"))
}

/// The median of a non-empty sample (0 for an empty one).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
