//! `godepot import`: take in a bundle, a GOPROXY=file:// tree or a module cache.

use std::path::PathBuf;

use godepot_bundle::import::{ImportOptions, ImportSummary, import};
use godepot_bundle::sumdb::SumdbCheck;
use godepot_bundle::{BundleError, GoSums};

use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::progress::{Bar, count, human_bytes};
use crate::settings::{PolicySettings, StoreSettings, SumdbSettings};
use crate::storage::Access;

/// Take in a bundle file, any GOPROXY=file:// tree, or a module cache ($GOMODCACHE, or its
/// cache/download), checking every artifact before it becomes visible, into a data directory
/// or a bucket. Safe while a server runs on the same store. A bundle goes in whole or not at all; held artifacts are
/// never replaced (a differing one is reported as a conflict). Checksum-database answers in
/// a bundle are kept for `serve`; with the database's key (--sumdb), every zip and go.mod is
/// also checked against them.
///
/// Examples:
///   godepot import --data-dir /srv/godepot all.tar.zst
///   godepot import --data-dir /srv/godepot all.tar.zst --sumdb "$GOSUMDB_KEY"
///   godepot import --data-dir /srv/godepot "$(go env GOMODCACHE)" --go-sum ./go.sum
///   godepot import --storage s3://modules/depot all.tar.zst
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// A bundle file, a GOPROXY=file:// directory, or a module cache.
    #[arg(value_name = "SOURCE")]
    pub(crate) source: PathBuf,

    /// A go.sum file every matching artifact must agree with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) go_sum: Vec<PathBuf>,

    // Checksum databases (name+hash+key): with a key, the bundle's answers of that
    // database must verify, and every zip and go.mod in the bundle must match its records
    // (in the bundle or already held), or the bundle is refused whole.
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    // A bundle carrying a version the policy blocks is refused whole (from a tree, that
    // version is refused), unless --skip-blocked.
    #[command(flatten)]
    pub(crate) policy: PolicySettings,

    /// Leave out the versions the policy blocks (listed in the summary) instead of refusing
    /// the bundle.
    #[arg(long)]
    pub(crate) skip_blocked: bool,
}

/// The checksum databases configured for godepot (flag, `GODEPOT_SUMDB`, file), never
/// `$GOSUMDB`, so an import never starts refusing modules because of the environment it
/// happens to run in.
pub(crate) fn sumdb_check(settings: &SumdbSettings) -> Result<SumdbCheck, Failure> {
    let databases = godepot_sumdb::parse_database_list(settings.sumdb.as_deref().unwrap_or(""))
        .map_err(|e| Failure::config(format!("--sumdb: {e}")))?;
    Ok(SumdbCheck {
        databases,
        skip: settings.nosumdb.clone().unwrap_or_default(),
    })
}

pub(crate) fn run(file: &ConfigFile, args: ImportArgs) -> Result<(), Failure> {
    let go_sums =
        GoSums::load(&args.go_sum).map_err(|e| Failure::config(format!("--go-sum: {e}")))?;
    if !args.source.exists() {
        return Err(Failure::config(format!(
            "{} does not exist",
            args.source.display()
        )));
    }
    let sumdb = sumdb_check(&file.merge(args.sumdb)?)?;
    let opened = file.merge(args.store)?.open(Access::Create)?;
    let store = &*opened.store;
    let policy = file.merge(args.policy)?.load()?;
    let advisories = match policy.uses_advisories() {
        true => held_advisories(store),
        false => None,
    };
    let options = ImportOptions {
        go_sums,
        sumdb,
        policy,
        skip_blocked: args.skip_blocked,
        advisories,
    };
    let summary = import(store, &args.source, &options, &Bar::new()).map_err(|e| match e {
        BundleError::BadBundle { .. } => {
            Failure::runtime(e.to_string()).hint("nothing was imported; the store is unchanged")
        }
        BundleError::Blocked { .. } => Failure::runtime(e.to_string()).hint(
            "nothing was imported; --skip-blocked imports the rest and lists what it left out",
        ),
        BundleError::Write { .. } => Failure::runtime(e.to_string()).hint(
            "the source is fine: free space on the data directory's file system (or check the bucket's quota and permissions) and import again",
        ),
        BundleError::NothingToImport(_) => Failure::runtime(e.to_string()).hint(
            "give a bundle file, a GOPROXY=file:// directory, or a module cache ($GOMODCACHE)",
        ),
        e => Failure::runtime(e.to_string()),
    })?;
    report(&summary, args.json);
    if summary.is_success() {
        opened.keep();
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{}, {} refused",
        count(summary.conflicts.len() as u64, "conflict"),
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
    for problem in &summary.blocked {
        eprintln!("left out {}", problem.reason);
    }
    eprintln!(
        "imported from {} {}: {} stored ({}), {} already held, {} stored ({} already held), {}, {} refused, {} skipped",
        summary.source_kind,
        summary.source,
        summary.stored,
        human_bytes(summary.stored_bytes),
        summary.already_held,
        count(summary.sumdb_stored as u64, "checksum database answer"),
        summary.sumdb_already_held,
        count(summary.conflicts.len() as u64, "conflict"),
        summary.refused.len(),
        count(summary.skipped as u64, "other file")
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
    if let Some(v) = &summary.vulndb {
        match (&v.previous, v.replaced) {
            (None, _) => eprintln!(
                "vulnerability database: kept the copy carried (modified {}, {} entries)",
                v.modified, v.entries
            ),
            (Some(previous), true) => eprintln!(
                "vulnerability database: replaced the copy held (modified {previous}) with the newer one carried (modified {}, {} entries)",
                v.modified, v.entries
            ),
            (Some(previous), false) => eprintln!(
                "vulnerability database: kept the copy held (modified {previous}): the one carried (modified {}) is not newer",
                v.modified
            ),
        }
    }
}

/// The vulnerability database held before the import, for the policy's `vulnerable` rules;
/// none (warned when it cannot be read) leaves every version unaffected.
fn held_advisories(
    store: &dyn godepot_store::Store,
) -> Option<std::sync::Arc<dyn godepot_depot::Advisories>> {
    match godepot_depot::HeldVulnDb::load(store) {
        Ok(db) => {
            db.map(|db| std::sync::Arc::new(db) as std::sync::Arc<dyn godepot_depot::Advisories>)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the vulnerability database held: no version counts as affected");
            None
        }
    }
}
