//! `godepot verify`: re-check everything the store holds.

use std::path::PathBuf;
use std::sync::Arc;

use godepot_bundle::GoSums;
use godepot_bundle::verify::{VerifyOptions, VerifyReport, verify};
use godepot_store::Store;

use crate::commands::depot::Reach;
use crate::commands::import::sumdb_check;
use crate::commands::verify_sumdb::{self, Online};
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{Bar, count, human_bytes};
use crate::settings::{OfflineSettings, StoreSettings, SumdbSettings, UpstreamSettings};
use crate::storage::StoreLocation;

/// Re-hash every held zip and go.mod, compare with the stored .ziphash and, when given,
/// go.sum files; report mismatches, unreadable files, orphans (files that are not
/// artifacts, a .ziphash without its zip), `@v/list` files out of step with the versions
/// held whole (unlisted), and versions held with their zip but without their .mod or
/// .info, or with their .info but without their .mod (incomplete). With --sumdb
/// name+hash+key, also check every zip and go.mod against the checksum database's records:
/// those held in the store's cache, and (unless --offline) those it lacks, fetched through
/// the upstream or the database's URL.
/// Exits 1 when anything is wrong, 2 when the store cannot be read.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// A go.sum file every matching artifact must agree with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) go_sum: Vec<PathBuf>,

    /// Move every bad or orphaned file to .godepot/quarantine/<time>/, so that it is fetched
    /// again instead of served, and rewrite every @v/list to match the files.
    #[arg(long)]
    pub(crate) repair: bool,

    // Check zips and go.mod files against this checksum database (a key is needed).
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,

    // With --sumdb: --offline uses only the records the store holds.
    #[command(flatten)]
    pub(crate) offline: OfflineSettings,

    // With --sumdb: where missing records are fetched through, as for `serve`.
    #[command(flatten)]
    pub(crate) upstream: UpstreamSettings,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: VerifyArgs) -> Result<(), Failure> {
    let go_sums =
        GoSums::load(&args.go_sum).map_err(|e| Failure::config(format!("--go-sum: {e}")))?;
    let location = file.merge(args.store)?.location()?;
    let sumdb_settings = file.merge(args.sumdb)?;
    let upstream = file.merge(args.upstream)?;
    let reach = Reach::new(file, &upstream)?;
    let mut sumdb = sumdb_check(&sumdb_settings)?;
    // Private modules are in no checksum database: never asked about, never "unverified".
    sumdb.skip = format!("{},{}", sumdb.skip, reach.private);
    let (store, _index, sources): (Arc<dyn Store>, _, _) = match &location {
        StoreLocation::Dir(dir) => {
            let root = datadir::existing_dir(dir)?;
            // --repair quarantines: the module index hears of it.
            let (store, index) =
                crate::commands::depot::open_indexed_store(&root).map_err(Failure::into_io)?;
            let sources = match &sumdb_settings.sumdb {
                None => None,
                Some(list) => {
                    let online = (!file.merge(args.offline)?.offline()).then(|| Online {
                        upstream: upstream.upstream.as_deref(),
                        upstream_timeout: upstream.upstream_timeout(),
                        list,
                        nosumdb: sumdb_settings.nosumdb.as_deref(),
                        reach: &reach,
                    });
                    Some(verify_sumdb::gather(&store, &sumdb, online)?)
                }
            };
            (Arc::new(store), index, sources)
        }
        StoreLocation::Bucket(url) => {
            if sumdb_settings.sumdb.is_some() {
                return Err(Failure::config(format!(
                    "verify --sumdb works on a data directory only, not on {url}"
                ))
                .hint("verify the bucket without --sumdb, or copy its tree to a directory and verify that with --sumdb"));
            }
            let access = match args.repair {
                true => crate::storage::Access::Write,
                false => crate::storage::Access::Read,
            };
            (crate::storage::open_bucket(url, access)?, None, None)
        }
    };
    let options = VerifyOptions {
        go_sums,
        repair: args.repair,
        sumdb,
    };
    let report = verify(&*store, &options, &Bar::new())
        .map_err(|e| Failure::io(format!("verify failed: {e}")))?;
    print(&report, args.json);
    if let Some(v) = &report.vulndb {
        eprintln!(
            "vulnerability database: consistent (modified {}, {} entries)",
            v.modified, v.entries
        );
    }
    if let Some(sources) = &sources {
        eprintln!(
            "{}; {} match it",
            verify_sumdb::describe(sources),
            count(report.sumdb_matched as u64, "artifact")
        );
    }
    if report.is_clean() {
        return Ok(());
    }
    let failure = Failure::runtime(format!(
        "{} found",
        count(report.findings.len() as u64, "problem")
    ));
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
        eprintln!(
            "quarantined {} in {dir}",
            count(report.quarantined.len() as u64, "file")
        );
    }
    eprintln!(
        "verified {} ({}): {}",
        count(report.checked as u64, "artifact"),
        human_bytes(report.bytes),
        count(report.findings.len() as u64, "problem")
    );
}
