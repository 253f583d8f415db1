//! `godepot reindex`: rebuild the module index from the files.

use std::path::Path;

use godepot_index::{Index, Rebuilt};

use crate::commands::depot;
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{count, human_bytes};
use crate::settings::{DiskCacheSettings, StoreSettings};
use crate::storage::StoreLocation;

/// Rebuild the module index from the store's files. The index is derived data: a server
/// rebuilds it by itself, in the background, when it is missing, of an older format, or was
/// left behind by a process that crashed; this does the same now, and may run beside a
/// server on the same store.
///
/// A data directory's index is .godepot/index/ in it. On a bucket each replica keeps its
/// own, under its --cache-dir: give the same --cache-dir to rebuild that replica's.
///
/// Examples:
///   godepot reindex --data-dir /srv/godepot
///   godepot reindex --storage s3://bucket/prefix --cache-dir /var/cache/godepot
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ReindexArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    #[command(flatten)]
    pub(crate) disk_cache: DiskCacheSettings,

    /// Print what was indexed as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: ReindexArgs) -> Result<(), Failure> {
    // Refused only when given to this command (a flag or its variable): the config file's
    // keys are shared by every command, and its cache-size is serve's.
    if args.disk_cache.cache_size.is_some() {
        return Err(
            Failure::config("--cache-size has no meaning for reindex: the index is not bounded by it")
                .hint("drop --cache-size (or GODEPOT_CACHE_SIZE); --cache-dir names the replica whose index is rebuilt"),
        );
    }
    let cache_dir_given = args.disk_cache.cache_dir.is_some();
    let disk_cache = file.merge(args.disk_cache)?;
    let rebuilt = match file.merge(args.store)?.location()? {
        StoreLocation::Dir(dir) => {
            if cache_dir_given {
                return Err(Failure::config(
                    "--cache-dir is for a bucket: a data directory's index is in it (.godepot/index/)",
                )
                .hint("drop --cache-dir"));
            }
            let root = datadir::existing_dir(&dir)?;
            let (store, index) = depot::open_indexed_store(&root)?;
            let index = index.ok_or_else(|| {
                cannot(
                    &root.display(),
                    &"the index could not be opened (see the warning)",
                )
            })?;
            index
                .rebuild(&store)
                .map_err(|e| cannot(&root.display(), &e))?
        }
        StoreLocation::Bucket(url) => {
            let Some(cache_dir) = disk_cache.cache_dir else {
                return Err(Failure::config(format!(
                    "reindex on {url} needs --cache-dir: each replica on a bucket keeps its own index, under its --cache-dir"
                ))
                .hint("give the --cache-dir of the replica whose index to rebuild; a replica without one rebuilds its index at each start by itself"));
            };
            rebuild_replica(&url, &cache_dir)?
        }
    };
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

/// Rebuilds the index a replica on the bucket `url` with `--cache-dir cache_dir` uses. Only
/// the index is opened there, not the disk cache (which one process holds at a time), so
/// this may run beside that replica.
fn rebuild_replica(url: &crate::storage::BucketUrl, cache_dir: &Path) -> Result<Rebuilt, Failure> {
    let store = crate::storage::open_bucket(url, crate::storage::Access::Read)?;
    let dir = depot::replica_index_dir(Some(cache_dir), &*store);
    let index = Index::open_at(&dir).map_err(|e| cannot(&dir.display(), &e))?;
    index
        .rebuild(&*store)
        .map_err(|e| cannot(&format!("{url} (kept in {})", dir.display()), &e))
}

/// An I/O error, exit code 2 (the ops commands' contract).
fn cannot(what: &dyn std::fmt::Display, e: &dyn std::fmt::Display) -> Failure {
    Failure::config(format!("cannot rebuild the module index of {what}: {e}"))
}
