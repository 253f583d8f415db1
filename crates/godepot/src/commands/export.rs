//! `godepot export`: write a bundle for the air gap.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use godepot_bundle::export::{ExportOptions, ExportSummary, export, export_store};
use godepot_bundle::manifest::{SelectionRecord, read_manifest};
use godepot_bundle::{BundleError, Selection};
use godepot_resolve::{Needs, ResolveOptions, StoreSource, resolve};
use godepot_store::{ArtifactKey, Kind, Store};

use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{Bar, count, human_bytes};
use crate::settings::StoreSettings;
use crate::storage::StoreLocation;

/// Write one bundle file: a zstd-compressed tar whose content is a GOPROXY=file:// tree (so
/// `tar -x` alone makes it usable), led by a manifest of every file's size, SHA-256 and h1.
///
/// Examples:
///   godepot export --out all.tar.zst                       # everything held
///   godepot export --out app.tar.zst ./app/go.mod          # what that project needs
///   godepot export --out week2.tar.zst --since-bundle week1.tar.zst
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// The bundle file to write (replaced atomically when complete).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: PathBuf,

    /// What to export: go.mod, go.work or go.sum files, directories holding them,
    /// module@version, or list files (resolved from what the store holds, as prefetch
    /// resolves them). Nothing: everything held.
    #[arg(value_name = "INPUT")]
    pub(crate) inputs: Vec<String>,

    /// Only artifacts stored on or after this date (YYYY-MM-DD, UTC) or RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub(crate) since: Option<String>,

    /// Only artifacts that this earlier bundle (or its manifest), and the bundles before it
    /// in its chain, did not carry. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) since_bundle: Vec<PathBuf>,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: ExportArgs) -> Result<(), Failure> {
    // A data directory is read in place; a bucket through its store.
    let (root, bucket) = match file.merge(args.store)?.location()? {
        StoreLocation::Dir(dir) => (Some(datadir::existing_dir(&dir)?), None),
        StoreLocation::Bucket(url) => (
            None,
            Some(crate::storage::open_bucket(
                &url,
                crate::storage::Access::Read,
            )?),
        ),
    };
    let since = args
        .since
        .as_deref()
        .map(godepot_bundle::time::parse_since)
        .transpose()
        .map_err(|e| Failure::config(format!("--since: {e}")))?;
    let since_bundles = args
        .since_bundle
        .iter()
        .map(|path| read_manifest(path))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::runtime(format!("--since-bundle: {e}")))?;
    let selection = if args.inputs.is_empty() {
        Selection::All
    } else {
        let needs = match (&root, &bucket) {
            (Some(root), _) => resolve_from_store(root, &args.inputs)?,
            (None, Some(store)) => resolve_from(Arc::clone(store), &args.inputs)?,
            (None, None) => unreachable!("a directory or a bucket"),
        };
        select(&needs)
    };
    let kind = match selection {
        Selection::All => "all",
        Selection::Versions(_) => "versions",
        Selection::Artifacts(_) => "artifacts",
    };
    let options = ExportOptions {
        selection,
        since,
        since_bundles,
        record: SelectionRecord {
            kind: kind.into(),
            since: since.map(godepot_bundle::time::format_rfc3339),
            inputs: args.inputs.clone(),
            incremental: !args.since_bundle.is_empty() || since.is_some(),
        },
    };
    let summary = match (&root, &bucket) {
        (Some(root), _) => export(root, &options, &args.out, &Bar::new()),
        (None, Some(store)) => export_store(&**store, &options, &args.out, &Bar::new()),
        (None, None) => unreachable!("a directory or a bucket"),
    }
    .map_err(|e| failure(&e))?;
    report(&summary, args.json);
    Ok(())
}

/// The exact artifacts the resolved inputs need.
fn select(needs: &Needs) -> Selection {
    let mut keys = HashSet::new();
    for (module, version) in &needs.mods {
        keys.insert(ArtifactKey::new(module.clone(), version.clone(), Kind::Mod));
    }
    for (module, version) in &needs.zips {
        for kind in [Kind::Zip, Kind::Info] {
            keys.insert(ArtifactKey::new(module.clone(), version.clone(), kind));
        }
    }
    Selection::Artifacts(keys)
}

/// What projects need (go.mod, go.work, go.sum files, directories, module@version, or list
/// files), resolved from what the store holds alone, as prefetch resolves them: for
/// `export` and `gc --keep`. A problem (something the store cannot answer) is printed and
/// fails the command.
pub(crate) fn resolve_from_store(root: &Path, inputs: &[String]) -> Result<Needs, Failure> {
    let store = crate::commands::depot::open_store(root)?;
    resolve_from(Arc::new(store), inputs)
}

/// [`resolve_from_store`], over any store.
pub(crate) fn resolve_from(store: Arc<dyn Store>, inputs: &[String]) -> Result<Needs, Failure> {
    let inputs = crate::commands::gather::parse_inputs(inputs)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let resolution = runtime.block_on(resolve(
        &inputs,
        &StoreSource::new(store),
        &ResolveOptions::default(),
    ));
    if !resolution.problems.is_empty() {
        for problem in &resolution.problems {
            eprintln!("{problem}");
        }
        return Err(Failure::runtime(format!(
            "cannot resolve the inputs from what the store holds ({})",
            count(resolution.problems.len() as u64, "problem")
        ))
        .hint("fill the store first: godepot prefetch --data-dir DIR INPUT…"));
    }
    Ok(resolution.needs)
}

fn failure(e: &BundleError) -> Failure {
    let f = Failure::runtime(e.to_string());
    match e {
        BundleError::BadStoreFile { .. } => {
            f.hint("run `godepot verify --repair` to set bad artifacts aside")
        }
        BundleError::NotHeld(_) => f.hint("fetch them first: godepot prefetch"),
        _ => f,
    }
}

fn report(summary: &ExportSummary, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(summary).unwrap_or_default()
        );
        return;
    }
    eprintln!(
        "exported {}, {}, {} ({}) and {} to {} ({} compressed)",
        count(summary.modules as u64, "module"),
        count(summary.versions as u64, "version"),
        count(summary.artifacts as u64, "artifact"),
        human_bytes(summary.artifact_bytes),
        count(summary.sumdb_files as u64, "checksum database answer"),
        summary.bundle.display(),
        human_bytes(summary.bundle_bytes)
    );
    if let Some(modified) = &summary.vulndb_modified {
        eprintln!(
            "carried the vulnerability database (modified {modified}, {})",
            count(summary.vulndb_files as u64, "file")
        );
    }
    if summary.skipped_non_artifacts > 0 {
        eprintln!(
            "left out {} that are not artifacts (see `godepot verify`)",
            count(summary.skipped_non_artifacts as u64, "file")
        );
    }
}
