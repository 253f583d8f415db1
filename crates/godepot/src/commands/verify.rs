//! `godepot verify`: re-check everything the store holds.

use std::path::{Path, PathBuf};

use godepot_bundle::GoSums;
use godepot_bundle::verify::{VerifyOptions, VerifyReport, verify};
use godepot_store::LocalStore;

use crate::datadir;
use crate::failure::Failure;
use crate::progress::{Bar, human_bytes};

/// Re-hash every held zip and go.mod, compare with the stored .ziphash and, when given,
/// go.sum files; report mismatches, unreadable files and orphans (files that are not
/// artifacts, a .ziphash without its zip). Exits non-zero when anything is wrong.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// A go.sum file every matching artifact must agree with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) go_sum: Vec<PathBuf>,

    /// Move every bad or orphaned file to .godepot/quarantine/<time>/, so that it is fetched
    /// again instead of served.
    #[arg(long)]
    pub(crate) repair: bool,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(_config: Option<&Path>, args: VerifyArgs) -> Result<(), Failure> {
    let go_sums =
        GoSums::load(&args.go_sum).map_err(|e| Failure::config(format!("--go-sum: {e}")))?;
    let root = datadir::existing(args.data_dir)?;
    let store = LocalStore::open(&root).map_err(|e| {
        Failure::runtime(format!(
            "cannot open data directory {}: {e}",
            root.display()
        ))
    })?;
    let options = VerifyOptions {
        go_sums,
        repair: args.repair,
    };
    let report = verify(&store, &options, &Bar::new())
        .map_err(|e| Failure::runtime(format!("verify failed: {e}")))?;
    print(&report, args.json);
    if report.is_clean() {
        return Ok(());
    }
    let failure = Failure::runtime(format!("{} problems found", report.findings.len()));
    Err(if args.repair {
        failure.hint("the files involved were quarantined and will be fetched again")
    } else {
        failure.hint("re-run with --repair to quarantine them so they are fetched again")
    })
}

fn print(report: &VerifyReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        );
    } else {
        for finding in &report.findings {
            let problem = serde_json::to_value(finding.problem)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            println!("{problem}\t{}\t{}", finding.path, finding.detail);
        }
    }
    if let Some(dir) = &report.quarantine {
        eprintln!("quarantined {} files in {dir}", report.quarantined.len());
    }
    eprintln!(
        "verified {} artifacts ({}): {} problems",
        report.checked,
        human_bytes(report.bytes),
        report.findings.len()
    );
}
