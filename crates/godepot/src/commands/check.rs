//! `godepot check`: is this store ready to build these projects offline?

use godepot_prefetch::{Readiness, check};
use godepot_resolve::Problem;

use crate::commands::depot;
use crate::commands::gather::GatherArgs;
use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::progress::count;
use crate::settings::StoreSettings;
use crate::storage::{self, Access};

/// Resolve exactly what `godepot prefetch` would gather for these projects, from the store
/// alone (no network), and report every file of it the store lacks (module@version and
/// .info, .mod or .zip), and every line of the projects' go.sum files (beside each go.mod,
/// go.work.sum, go.sum inputs) whose hash differs from the held file's. Exits 0 when the
/// store is ready, 1 when not, 2 on a usage or I/O error.
///
/// Examples:
///   godepot check --data-dir /srv/godepot ./go.mod
///   godepot check --data-dir /srv/godepot --json ~/src      # every go.mod and go.work below
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) gather: GatherArgs,

    // The store to check; it must exist.
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: CheckArgs) -> Result<(), Failure> {
    let location = file.merge(args.store)?.location()?;
    let store = storage::open(&location, Access::Read)?.store;
    let inputs = args.gather.inputs()?;
    // No fetcher is involved: the private patterns and the download jobs do not apply.
    let options = args.gather.options(String::new(), 8)?;
    let readiness = depot::runtime()?.block_on(check(store, &inputs, &options));
    if args.json {
        println!("{}", json(&readiness));
    } else {
        print_text(&readiness);
    }
    eprintln!(
        "check: {} ({}) needed: {} missing, {} go.sum {} mismatched, {}{}",
        count(readiness.versions as u64, "module version"),
        count(readiness.files as u64, "file"),
        readiness.missing.len(),
        readiness.mismatches.len(),
        if readiness.mismatches.len() == 1 {
            "line"
        } else {
            "lines"
        },
        count(readiness.problems.len() as u64, "other problem"),
        match readiness.warnings.len() {
            0 => String::new(),
            n => format!(", {} (versions no build needs)", count(n as u64, "warning")),
        }
    );
    if readiness.is_ready() {
        eprintln!("ready: the go command needs nothing this store does not hold");
        return Ok(());
    }
    let failure = Failure::runtime(format!("{location} is not ready for these projects"));
    Err(if readiness.mismatches.is_empty() {
        failure.hint("fill it: godepot prefetch --data-dir DIR INPUT…, then export and import")
    } else {
        failure.hint(
            "a go.sum that disagrees with the store: the go command refuses the file; find out which is right before building",
        )
    })
}

/// One line per finding, tab-separated: what, module@version and file, detail.
fn print_text(readiness: &Readiness) {
    for artifact in &readiness.missing {
        println!("missing\t{artifact}");
    }
    for m in &readiness.mismatches {
        println!(
            "mismatch\t{}\t{}: {}, the store's hashes to {}",
            m.artifact,
            m.go_sum.display(),
            m.go_sum_hash,
            m.store_hash
        );
    }
    for problem in &readiness.problems {
        println!("problem\t{}\t{}", problem.subject, problem.message);
    }
    for warning in &readiness.warnings {
        eprintln!("warning\t{}\t{}", warning.subject, warning.message);
    }
}

fn json(readiness: &Readiness) -> serde_json::Value {
    let problems = |problems: &[Problem]| -> Vec<serde_json::Value> {
        problems
            .iter()
            .map(|p| serde_json::json!({ "what": p.subject, "error": p.message }))
            .collect()
    };
    let missing: Vec<_> = readiness
        .missing
        .iter()
        .map(|a| {
            serde_json::json!({
                "module": a.module.as_str(),
                "version": a.version.as_str(),
                "file": a.ext,
            })
        })
        .collect();
    let mismatches: Vec<_> = readiness
        .mismatches
        .iter()
        .map(|m| {
            serde_json::json!({
                "go_sum": m.go_sum.display().to_string(),
                "module": m.artifact.module.as_str(),
                "version": m.artifact.version.as_str(),
                "file": m.artifact.ext,
                "go_sum_hash": m.go_sum_hash,
                "store_hash": m.store_hash,
            })
        })
        .collect();
    let go_sums: Vec<String> = readiness
        .go_sums
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    serde_json::json!({
        "ready": readiness.is_ready(),
        "versions": readiness.versions,
        "files": readiness.files,
        "missing": missing,
        "mismatches": mismatches,
        "problems": problems(&readiness.problems),
        "warnings": problems(&readiness.warnings),
        "go_sums": go_sums,
    })
}
