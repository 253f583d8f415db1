//! `godepot gc`: remove the versions no client asked for in a while.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::SystemTime;

use godepot_auth::{AuditEvent, AuditLog};
use godepot_bundle::gc::{GcOptions, GcReport, Verdict, gc};
use godepot_store::Store;

use crate::commands::{depot, export};
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{count, human_bytes};
use crate::settings::{AuditSettings, RetentionSettings, StoreSettings};
use crate::storage::StoreLocation;

/// Remove module versions no client asked for in a while, by the access times `serve`
/// records (.godepot/access/; on a bucket, every replica's merged). Always kept: the newest --keep-latest of each module, every
/// version a --keep project needs, and everything when the access times are unknown (the log
/// missing or damaged). Removed versions are deleted (a download under way still completes);
/// a later request fetches them again, or, offline, fails. With --audit-log, each removal is
/// an admin_action (as for `godepot rm`).
///
/// Without --yes this is a dry run: it lists what would go.
///
/// Examples:
///   godepot gc --data-dir /srv/godepot --unused-for 90d               # what would go
///   godepot gc --data-dir /srv/godepot --unused-for 90d --yes         # remove it
///   godepot gc --unused-for 30d --keep-latest 3 --keep ./app --modules 'example.com/*' --yes
///   godepot gc --storage s3://bucket/prefix --unused-for 90d --yes    # a bucket
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct GcArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,
    #[command(flatten)]
    pub(crate) retention: RetentionSettings,
    #[command(flatten)]
    pub(crate) audit: AuditSettings,

    /// Only modules matching: comma-separated globs (as in GOPRIVATE) or a plain prefix.
    #[arg(long, value_name = "PATTERNS")]
    pub(crate) modules: Option<String>,

    /// Keep every version this project needs (go.mod, go.work, go.sum, a directory,
    /// module@version or a list file, resolved from the store as export does). Repeatable.
    #[arg(long, value_name = "PROJECT")]
    pub(crate) keep: Vec<String>,

    /// Only list what would be removed (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    pub(crate) dry_run: bool,

    /// Remove.
    #[arg(long)]
    pub(crate) yes: bool,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: GcArgs) -> Result<(), Failure> {
    let retention = file.merge(args.retention)?;
    let unused_for = retention.unused_for()?;
    let location = file.merge(args.store)?.location()?;
    let audit = file.merge(args.audit)?.open()?;
    let store: Arc<dyn Store> = match &location {
        StoreLocation::Dir(dir) => {
            let root = datadir::existing_dir(dir)?;
            Arc::new(depot::open_store(&root).map_err(Failure::into_io)?)
        }
        StoreLocation::Bucket(_) if !args.keep.is_empty() => {
            return Err(Failure::config(format!(
                "--keep resolves projects from a data directory only, not from {location}"
            ))
            .hint("run gc on the bucket without --keep (--keep-latest still applies), or on a copy of its tree with --data-dir"));
        }
        StoreLocation::Bucket(url) => {
            crate::storage::open_bucket(url, crate::storage::Access::Write)?
        }
    };
    let keep = match &location {
        StoreLocation::Dir(root) if !args.keep.is_empty() => {
            let needs = export::resolve_from_store(root, &args.keep).map_err(Failure::into_io)?;
            needs.mods.into_iter().chain(needs.zips).collect()
        }
        _ => HashSet::new(),
    };
    let options = GcOptions {
        unused_for,
        keep_latest: retention.keep_latest(),
        modules: args.modules,
        keep,
        remove: args.yes,
        now: SystemTime::now(),
    };
    if !args.yes && !args.dry_run && !std::io::stderr().is_terminal() {
        eprintln!("note: a dry run (pass --yes to remove, --dry-run to say so)");
    }
    let report =
        gc(&*store, &options).map_err(|e| Failure::io(format!("gc of {location} failed: {e}")))?;
    if let Some(log) = &audit
        && !report.dry_run
    {
        record(log, &report);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", render(&report));
    }
    if !report.failed.is_empty() {
        return Err(Failure::io(format!(
            "{} could not be removed",
            count(report.failed.len() as u64, "version")
        )));
    }
    Ok(())
}

/// One `admin_action` per version removed, or whose removal failed.
fn record(log: &AuditLog, report: &GcReport) {
    let removed = report.removed.iter().map(|v| {
        let target = format!("{}@{}", v.module, v.version);
        (target, "deleted: unused".to_string())
    });
    let failed = report
        .failed
        .iter()
        .map(|f| (f.target.clone(), format!("failed: {}", f.error)));
    for (target, outcome) in removed.chain(failed) {
        let event = AuditEvent::AdminAction {
            action: "gc".into(),
            target,
            by: "cli".into(),
            client: None,
            outcome,
        };
        if let Err(e) = log.append(&event) {
            eprintln!(
                "warning: cannot write the audit log {}: {e}",
                log.path().display()
            );
            return;
        }
    }
}

/// The versions removed (or that would be), one a line, then why the others stay.
fn render(report: &GcReport) -> String {
    let mut out = String::new();
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for v in &report.removed {
        let last = v.last_access.as_deref().unwrap_or("never noted");
        out.push_str(&format!(
            "{verb} {}@{} ({}, last access: {last})\n",
            v.module,
            v.version,
            human_bytes(v.bytes)
        ));
    }
    for failed in &report.failed {
        out.push_str(&format!("failed {}: {}\n", failed.target, failed.error));
    }
    if let Some(why) = &report.access_unknown {
        out.push_str(&format!(
            "access times unknown, so every version is kept: {why}\n"
        ));
    }
    let kept = |verdict: Verdict| report.kept.iter().filter(|v| v.verdict == verdict).count();
    let reasons: Vec<String> = [
        (Verdict::Latest, "newest"),
        (Verdict::Needed, "needed by --keep"),
        (Verdict::Used, "used since the cutoff"),
        (Verdict::Unknown, "use unknown"),
    ]
    .iter()
    .filter(|(verdict, _)| kept(*verdict) > 0)
    .map(|(verdict, why)| format!("{} {why}", kept(*verdict)))
    .collect();
    out.push_str(&format!(
        "{verb} {} ({}); kept {} ({}){}{}\n",
        count(report.removed.len() as u64, "version"),
        human_bytes(report.removed_bytes),
        count(report.kept.len() as u64, "version"),
        human_bytes(report.kept_bytes),
        if reasons.is_empty() { "" } else { ": " },
        reasons.join(", ")
    ));
    if report.dry_run && !report.removed.is_empty() {
        out.push_str("dry run: nothing was removed; pass --yes to remove\n");
    }
    out
}
