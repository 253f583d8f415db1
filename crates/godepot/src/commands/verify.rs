//! `godepot verify`: re-check everything the store holds.

use std::path::{Path, PathBuf};

use godepot_bundle::GoSums;
use godepot_bundle::verify::{VerifyOptions, VerifyReport, verify};
use godepot_store::LocalStore;

use crate::commands::import::sumdb_check;
use crate::commands::verify_sumdb::{self, Online};
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{Bar, human_bytes};

/// Re-hash every held zip and go.mod, compare with the stored .ziphash and, when given,
/// go.sum files; report mismatches, unreadable files, orphans (files that are not
/// artifacts, a .ziphash without its zip), `@v/list` files out of step with the versions
/// held whole (unlisted), and versions held with their zip but without their .mod or
/// .info (incomplete). With --sumdb name+hash+key, also check every zip
/// and go.mod against the checksum database's records: those held in the store's cache, and
/// (unless --offline) those it lacks, fetched through the upstream or the database's URL.
/// Exits non-zero when anything is wrong.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// A go.sum file every matching artifact must agree with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) go_sum: Vec<PathBuf>,

    /// Move every bad or orphaned file to .godepot/quarantine/<time>/, so that it is fetched
    /// again instead of served, and rewrite every @v/list to match the files.
    #[arg(long)]
    pub(crate) repair: bool,

    /// Check zips and go.mod files against this checksum database (name+hash+key, or
    /// name+hash+key URL, as for `serve`).
    #[arg(long, env = "GODEPOT_SUMDB", value_name = "LIST")]
    pub(crate) sumdb: Option<String>,

    /// Modules not checked against the checksum database (GONOSUMDB-style patterns).
    #[arg(long, env = "GODEPOT_NOSUMDB", value_name = "PATTERNS")]
    pub(crate) nosumdb: Option<String>,

    /// With --sumdb: use only the records the store holds; fetch none.
    #[arg(long)]
    pub(crate) offline: bool,

    /// With --sumdb: where missing records are fetched through, as for `serve`
    /// [default: $GOPROXY, else `go env GOPROXY`].
    #[arg(long, env = "GODEPOT_UPSTREAM", value_name = "LIST")]
    pub(crate) upstream: Option<String>,

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
    let sumdb = sumdb_check(args.sumdb.as_deref(), args.nosumdb.as_deref())?;
    let sources = match &args.sumdb {
        None => None,
        Some(list) => {
            let online = (!args.offline).then(|| Online {
                upstream: args.upstream.as_deref(),
                list,
                nosumdb: args.nosumdb.as_deref(),
            });
            Some(verify_sumdb::gather(&store, &sumdb, online)?)
        }
    };
    let options = VerifyOptions {
        go_sums,
        repair: args.repair,
        sumdb,
    };
    let report = verify(&store, &options, &Bar::new())
        .map_err(|e| Failure::runtime(format!("verify failed: {e}")))?;
    print(&report, args.json);
    if let Some(sources) = &sources {
        eprintln!(
            "{}; {} artifacts match it",
            verify_sumdb::describe(sources),
            report.sumdb_matched
        );
    }
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
