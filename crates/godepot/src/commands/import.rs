//! `godepot import`: take in a bundle, a GOPROXY=file:// tree or a module cache.

use std::path::{Path, PathBuf};

use godepot_bundle::import::{ImportOptions, ImportSummary, import};
use godepot_bundle::sumdb::SumdbCheck;
use godepot_bundle::{BundleError, GoSums};

use crate::datadir;
use crate::failure::Failure;
use crate::progress::{Bar, human_bytes};

/// Take in a bundle file, any GOPROXY=file:// tree, or a module cache ($GOMODCACHE, or its
/// cache/download), checking every artifact before it becomes visible. Safe while a server
/// runs on the same data directory. A bundle goes in whole or not at all; held artifacts are
/// never replaced (a differing one is reported as a conflict). Checksum-database answers in
/// a bundle are kept for `serve`; with the database's key (--sumdb), every zip and go.mod is
/// also checked against them.
///
/// Examples:
///   godepot import --data-dir /srv/godepot all.tar.zst
///   godepot import --data-dir /srv/godepot all.tar.zst --sumdb "$GOSUMDB_KEY"
///   godepot import --data-dir /srv/godepot "$(go env GOMODCACHE)" --go-sum ./go.sum
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ImportArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// A bundle file, a GOPROXY=file:// directory, or a module cache.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: PathBuf,

    /// A go.sum file every matching artifact must agree with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) go_sum: Vec<PathBuf>,

    /// Checksum databases, as for `serve` (name+hash+key). With a key, the bundle's answers
    /// of that database must verify, and every zip and go.mod in the bundle must match its
    /// records (in the bundle or already held), or the bundle is refused whole.
    #[arg(long, env = "GODEPOT_SUMDB", value_name = "LIST")]
    pub(crate) sumdb: Option<String>,

    /// Modules not checked against the checksum database (GONOSUMDB-style patterns).
    #[arg(long, env = "GODEPOT_NOSUMDB", value_name = "PATTERNS")]
    pub(crate) nosumdb: Option<String>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The checksum databases given on the command line: explicit only (not `$GOSUMDB`), so an
/// import never starts refusing modules because of the environment it happens to run in.
pub(crate) fn sumdb_check(list: Option<&str>, skip: Option<&str>) -> Result<SumdbCheck, Failure> {
    let databases = godepot_sumdb::parse_database_list(list.unwrap_or(""))
        .map_err(|e| Failure::config(format!("--sumdb: {e}")))?;
    Ok(SumdbCheck {
        databases,
        skip: skip.unwrap_or("").to_string(),
    })
}

pub(crate) fn run(_config: Option<&Path>, args: ImportArgs) -> Result<(), Failure> {
    let go_sums =
        GoSums::load(&args.go_sum).map_err(|e| Failure::config(format!("--go-sum: {e}")))?;
    if !args.source.exists() {
        return Err(Failure::config(format!(
            "{} does not exist",
            args.source.display()
        )));
    }
    let sumdb = sumdb_check(args.sumdb.as_deref(), args.nosumdb.as_deref())?;
    let store = datadir::open_store(args.data_dir)?;
    let options = ImportOptions { go_sums, sumdb };
    let summary = import(&store, &args.source, &options, &Bar::new()).map_err(|e| match e {
        BundleError::BadBundle { .. } => {
            Failure::runtime(e.to_string()).hint("nothing was imported; the store is unchanged")
        }
        BundleError::Write { .. } => Failure::runtime(e.to_string()).hint(
            "the source is fine: free space on the data directory's file system and import again",
        ),
        BundleError::NothingToImport(_) => Failure::runtime(e.to_string()).hint(
            "give a bundle file, a GOPROXY=file:// directory, or a module cache ($GOMODCACHE)",
        ),
        e => Failure::runtime(e.to_string()),
    })?;
    report(&summary, args.json);
    if summary.is_success() {
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{} conflicts, {} refused",
        summary.conflicts.len(),
        summary.refused.len()
    )))
}

fn report(summary: &ImportSummary, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(summary).unwrap_or_default()
        );
    }
    for problem in &summary.refused {
        eprintln!("refused {}: {}", problem.path, problem.reason);
    }
    for problem in &summary.conflicts {
        eprintln!("conflict {}: {}", problem.path, problem.reason);
    }
    eprintln!(
        "imported from {} {}: {} stored ({}), {} already held, {} checksum database answers stored ({} already held), {} conflicts, {} refused, {} other files skipped",
        summary.source_kind,
        summary.source,
        summary.stored,
        human_bytes(summary.stored_bytes),
        summary.already_held,
        summary.sumdb_stored,
        summary.sumdb_already_held,
        summary.conflicts.len(),
        summary.refused.len(),
        summary.skipped
    );
    if summary.sumdb_left_out > 0 {
        eprintln!(
            "left out {} checksum database tree heads: without the database's key (--sumdb) nothing says they are genuine, and the store holds a verified one",
            summary.sumdb_left_out
        );
    }
    if summary.relisted > 0 {
        eprintln!(
            "listed {} held versions their module's @v/list was missing",
            summary.relisted
        );
    }
}
