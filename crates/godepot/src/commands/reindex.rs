//! `godepot reindex`: rebuild the module index from the files.

use crate::commands::depot;
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{count, human_bytes};
use crate::settings::StoreSettings;

/// Rebuild the module index (.godepot/index/) from the store's files. The index is derived
/// data: a server rebuilds it by itself, in the background, when it is missing, of an older
/// format, or was left behind by a process that crashed; this does the same now, and may run
/// beside a server on the same data directory.
///
/// Example:
///   godepot reindex --data-dir /srv/godepot
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ReindexArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// Print what was indexed as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: ReindexArgs) -> Result<(), Failure> {
    let root = datadir::existing(&file.merge(args.store)?)?;
    let (_store, index) = depot::open_indexed_store(&root)?;
    let cannot = |e: &dyn std::fmt::Display| {
        // An I/O error, exit code 2 (the ops commands' contract).
        Failure::config(format!(
            "cannot rebuild the module index of {}: {e}",
            root.display()
        ))
    };
    let index = index.ok_or_else(|| cannot(&"the index could not be opened (see the warning)"))?;
    let rebuilt = index.rebuild().map_err(|e| cannot(&e))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rebuilt).unwrap_or_default()
        );
    } else {
        let t = rebuilt.totals;
        println!(
            "indexed {}, {} ({}) in {:.1}s",
            count(t.modules, "module"),
            count(t.versions, "version"),
            human_bytes(t.bytes),
            rebuilt.seconds
        );
    }
    Ok(())
}
