//! `godepot audit`: which entries of the held vulnerability database affect the module
//! versions some projects select.

use godepot_prefetch::{Audit, audit};

use crate::commands::depot;
use crate::commands::gather::GatherArgs;
use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::progress::count;
use crate::settings::StoreSettings;
use crate::storage::{self, Access};

/// Resolve the module versions these projects select, exactly as `godepot check` does (from
/// the store alone, no network), and list the entries of the vulnerability database the store
/// holds (mirrored by `prefetch --vulndb` or `sync`, or imported) that affect them, each with
/// the version that fixes it. Module level: whether the code reaches the vulnerable symbols
/// is govulncheck's analysis. Exits 0 when nothing is affected, 1 when something is, 2 when
/// the store holds no vulnerability database, the resolution is incomplete, or on a usage or
/// I/O error.
///
/// Examples:
///   godepot audit --data-dir /srv/godepot ./go.mod
///   godepot audit --data-dir /srv/godepot --json ~/src      # every go.mod and go.work below
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) gather: GatherArgs,

    // The store to audit against; it must exist.
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: AuditArgs) -> Result<(), Failure> {
    let location = file.merge(args.store)?.location()?;
    let store = storage::open(&location, Access::Read)?.store;
    let inputs = args.gather.inputs()?;
    let options = args.gather.options(String::new(), 8)?;
    let db = godepot_depot::HeldVulnDb::load(store.as_ref())
        .map_err(|e| {
            Failure::io(format!(
                "cannot read the vulnerability database held in {location}: {e}"
            ))
        })?
        .ok_or_else(|| {
            Failure::io(format!("{location} holds no vulnerability database"))
            .hint("mirror it: godepot prefetch --vulndb --data-dir DIR (online), or import a bundle that carries one")
        })?;
    let found = depot::runtime()?.block_on(audit(store, &inputs, &options, &db));
    if args.json {
        println!("{}", json(&found));
    } else {
        print_text(&found);
    }
    let advisories: usize = found.affected.iter().map(|a| a.advisories.len()).sum();
    eprintln!(
        "audit: {} audited, {} affected ({}), {}",
        count(found.versions as u64, "module version"),
        found.affected.len(),
        count(advisories as u64, "finding"),
        count(found.problems.len() as u64, "problem"),
    );
    if found.is_affected() {
        return Err(Failure::runtime(format!(
            "{} affected by the vulnerability database",
            count(found.affected.len() as u64, "module version")
        ))
        .hint("move each to its fixed version (go get MODULE@FIXED), or run govulncheck to see whether the code reaches it"));
    }
    if !found.problems.is_empty() {
        return Err(Failure::io(
            "the audit is incomplete: some go.mod files could not be resolved from the store",
        )
        .hint("godepot check --data-dir DIR INPUT… says what the store lacks"));
    }
    eprintln!("clean: no entry affects the versions these projects select");
    Ok(())
}

/// One line per finding, tab-separated: module@version, id (aliases), fixed in, summary.
fn print_text(found: &Audit) {
    for affected in &found.affected {
        for a in &affected.advisories {
            let aliases = match a.aliases.is_empty() {
                true => String::new(),
                false => format!(" ({})", a.aliases.join(", ")),
            };
            println!(
                "{}@{}\t{}{aliases}\t{}\t{}",
                affected.module,
                affected.version,
                a.id,
                a.fixed.as_deref().map_or_else(
                    || "no fixed version".to_owned(),
                    |f| format!("fixed in {f}")
                ),
                a.summary.as_deref().unwrap_or("")
            );
        }
    }
    for problem in &found.problems {
        println!("problem\t{}\t{}", problem.subject, problem.message);
    }
}

fn json(found: &Audit) -> serde_json::Value {
    let affected: Vec<_> = (found.affected.iter())
        .map(|a| {
            let advisories: Vec<_> = (a.advisories.iter())
                .map(|adv| {
                    serde_json::json!({
                        "id": adv.id,
                        "aliases": adv.aliases,
                        "summary": adv.summary,
                        "fixed": adv.fixed,
                    })
                })
                .collect();
            serde_json::json!({
                "module": a.module.as_str(),
                "version": a.version.as_str(),
                "advisories": advisories,
            })
        })
        .collect();
    let problems: Vec<_> = (found.problems.iter())
        .map(|p| serde_json::json!({ "what": p.subject, "error": p.message }))
        .collect();
    serde_json::json!({
        "affected_any": found.is_affected(),
        "versions": found.versions,
        "affected": affected,
        "problems": problems,
    })
}
