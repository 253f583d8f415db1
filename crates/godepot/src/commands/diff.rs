//! `godepot diff`: do two environments hold the same bytes?

use std::path::PathBuf;
use std::sync::Arc;

use godepot_bundle::BundleError;
use godepot_bundle::diff::{DiffReport, Operand, diff_operands};
use godepot_store::Store;

use crate::failure::Failure;
use crate::progress::{Bar, count};
use crate::storage::{self, Access, StoreLocation};

/// Compare two stores (data directories or buckets), bundles, or one of each: list the module versions (or their
/// files) only one side holds, and the conflicts, the same file of the same version with
/// different bytes, naming both SHA-256 hashes. Compared: every .info, .mod and .zip, and
/// the checksum database's cached lookups and tiles when both sides hold some. Exits 0 when
/// both hold the same, 1 when not, 2 when a side cannot be read.
///
/// Examples:
///   godepot diff /srv/godepot prod.tar.zst       # a store against the bundle it got
///   godepot diff --json dev.tar.zst prod.tar.zst
///   godepot diff s3://modules/depot prod.tar.zst  # a bucket (AWS_* variables)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct DiffArgs {
    /// A data directory (or any GOPROXY=file:// tree), a bundle file, or a store URL as
    /// --storage takes it (s3://bucket/prefix).
    #[arg(value_name = "A")]
    pub(crate) a: PathBuf,

    /// The other side: a data directory, a bundle file or a store URL.
    #[arg(value_name = "B")]
    pub(crate) b: PathBuf,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A side as given: a path (a directory or a bundle), or a store's URL, opened.
enum Given {
    Path(PathBuf),
    Store(Arc<dyn Store>),
}

impl Given {
    fn open(arg: PathBuf) -> Result<Given, Failure> {
        let Some(url) = arg.to_str().filter(|a| a.contains("://")) else {
            return Ok(Given::Path(arg));
        };
        match storage::parse(url)? {
            StoreLocation::Dir(dir) => Ok(Given::Path(dir)),
            location => Ok(Given::Store(storage::open(&location, Access::Read)?.store)),
        }
    }

    fn operand(&self) -> Operand<'_> {
        match self {
            Given::Path(path) => Operand::Path(path),
            Given::Store(store) => Operand::Store(&**store),
        }
    }
}

pub(crate) fn run(args: DiffArgs) -> Result<(), Failure> {
    let (a, b) = (Given::open(args.a)?, Given::open(args.b)?);
    let report = diff_operands(a.operand(), b.operand(), &Bar::new()).map_err(|e| match e {
        // Not "refused", as import says: nothing is being taken in.
        BundleError::BadBundle {
            bundle,
            file,
            reason,
        } => Failure::io(format!(
            "cannot compare {}: {file}: {reason}",
            bundle.display()
        ))
        .hint(
            "A and B are each a data directory, a bucket or a bundle written by `godepot export`",
        ),
        e => Failure::io(e.to_string()),
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_text(&report);
    }
    eprintln!("{}", summary(&report));
    if report.is_same() {
        return Ok(());
    }
    Err(Failure::runtime(format!(
        "{} and {} differ",
        report.a.path, report.b.path
    )))
}

/// One line per difference, tab-separated: what, module@version (or database file), detail.
fn print_text(report: &DiffReport) {
    for (side, held) in [("A", &report.only_in_a), ("B", &report.only_in_b)] {
        for h in held {
            let files: Vec<String> = h.files.iter().map(|f| format!(".{f}")).collect();
            let what = if h.whole { "only in" } else { "files only in" };
            println!(
                "{what} {side}\t{}@{}\t{}",
                h.module,
                h.version,
                files.join(" ")
            );
        }
    }
    for c in &report.conflicts {
        println!(
            "conflict\t{}@{} .{}\t{}: A sha256:{} ({} B), B sha256:{} ({} B)",
            c.module, c.version, c.file, c.path, c.a.sha256, c.a.size, c.b.sha256, c.b.size
        );
    }
    let db = &report.sumdb;
    for (side, paths) in [("A", &db.only_in_a), ("B", &db.only_in_b)] {
        for path in paths {
            println!("only in {side}\t{path}");
        }
    }
    for c in &db.conflicts {
        println!(
            "conflict\t{}\tA sha256:{}, B sha256:{}",
            c.path, c.a.sha256, c.b.sha256
        );
    }
}

fn summary(report: &DiffReport) -> String {
    let side = |s: &godepot_bundle::diff::Side| {
        format!(
            "{} ({} of {})",
            s.path,
            s.kind,
            count(s.versions as u64, "version")
        )
    };
    let db = &report.sumdb;
    let sumdb = if db.compared {
        format!(
            "; checksum database: {} only in A, {} only in B, {}",
            db.only_in_a.len(),
            db.only_in_b.len(),
            count(db.conflicts.len() as u64, "conflict")
        )
    } else {
        "; checksum database not compared (not held by both)".to_owned()
    };
    format!(
        "diff {} / {}: {} the same, {} only in A, {} only in B, {}{sumdb}",
        side(&report.a),
        side(&report.b),
        count(report.same as u64, "version"),
        report.only_in_a.len(),
        report.only_in_b.len(),
        count(report.conflicts.len() as u64, "conflict"),
    )
}
