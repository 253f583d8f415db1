//! The module index: what the store holds, as derived data that answers listing, search and
//! totals without walking the store.
//!
//! The index is one SQLite database (through `rusqlite` with the bundled library; see
//! `docs/index.md` for why) in a directory the caller chooses: `<data-dir>/.godepot/index/`
//! for a data directory ([`local_dir`]), a replica's own directory for a bucket. Files stay
//! the truth: every row is computed from a version's files, read through the
//! [`godepot_store::Store`] trait ([`files`]), so deleting the directory loses nothing but
//! hit counts, and [`Index::rebuild`] brings it back.
//!
//! - [`schema`]: the tables, the triggers that keep per-module sums, the format version.
//! - [`files`]: one version's row, read from its files.
//! - [`writers`]: the marker by which a crashed writer is detected at the next open.
//! - [`query`]: search, module detail, totals.
//! - [`hits`]: downloads counted in memory, written in batches.
//! - [`scans`]: zips' licences found by a worker thread, off the store's `put`.
//!
//! It is kept current by [`StoreObserver`]: the store tells it of every version stored or
//! quarantined, after the files changed, and the index re-reads that version's files. A crash
//! between the two is caught by [`writers`]: the next process to open the index finds the dead
//! writer's marker and marks the index for a rebuild. What the store cannot tell it of
//! (another replica's writes to a shared bucket) reaches it by [`Index::refresh`].

mod error;
mod files;
mod hits;
mod query;
mod rebuild;
mod scans;
mod schema;
mod writers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use godepot_module::{ModulePath, Version};
use godepot_store::{Store, StoreObserver};
use rusqlite::Connection;

pub use error::IndexError;
pub use query::{ModuleDetail, ModuleSummary, SearchPage, Totals, VersionRow};
pub use rebuild::{Rebuilt, walk_versions};

/// Where the index of a data directory lives, under it.
pub const INDEX_DIR: &str = ".godepot/index";
const DB_FILE: &str = "index.sqlite3";

/// The index directory of the data directory `root`.
pub fn local_dir(root: &Path) -> PathBuf {
    root.join(INDEX_DIR)
}

/// An open module index. Cheap to share (`Arc`); all methods are synchronous and short but
/// for [`Index::rebuild`]; async callers run them on the blocking pool.
pub struct Index {
    /// The index's own directory (the database and the writers' markers).
    dir: PathBuf,
    /// Every write goes through this connection, in `BEGIN IMMEDIATE` transactions that read
    /// the files while holding SQLite's write lock, so the last writer always saw the files
    /// as they are (see [`files`]). Shared with the licence scans' worker.
    writer: Arc<Mutex<Connection>>,
    /// Reads (search, detail, totals) on their own connection: WAL lets them run beside a
    /// rebuild's batches.
    reader: Mutex<Connection>,
    hits: hits::Hits,
    scans: Arc<scans::Scans>,
    _marker: writers::Marker,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Opens (creating if needed) the index kept in the directory `dir` ([`local_dir`] for a
    /// data directory). O(1) when the index is current: it reads a few rows of metadata and
    /// looks into the markers directory, whose size is the number of processes that crashed
    /// since. An index that is missing, of another format, or was left behind by a crashed
    /// writer is marked for a rebuild ([`Index::needs_rebuild`]), which the caller starts
    /// (the server does so in the background).
    pub fn open_at(dir: &Path) -> Result<Index, IndexError> {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(IndexError::io(&dir))?;
        let (marker, crashed) = writers::claim(&dir)?;
        let db = dir.join(DB_FILE);
        let (writer, fresh) = match schema::connect(&db).and_then(|mut c| {
            let fresh = schema::prepare(&mut c)?;
            Ok((c, fresh))
        }) {
            Ok(opened) => opened,
            // Derived data: a database SQLite cannot read is thrown away and rebuilt.
            Err(IndexError::Sqlite(e)) if schema::is_damaged(&e) => {
                tracing::warn!(index = %db.display(), error = %e, "the module index is damaged: starting it afresh");
                schema::remove(&db)?;
                let mut c = schema::connect(&db)?;
                schema::prepare(&mut c)?;
                (c, true)
            }
            Err(e) => return Err(e),
        };
        if crashed && !fresh {
            tracing::warn!(
                index = %dir.display(),
                "a process writing this store stopped without finishing: the index will be rebuilt"
            );
            schema::mark_dirty(&writer)?;
        }
        let reader = schema::connect(&db)?;
        Ok(Index {
            dir,
            writer: Arc::new(Mutex::new(writer)),
            reader: Mutex::new(reader),
            hits: hits::Hits::default(),
            scans: scans::Scans::new(),
            _marker: marker,
        })
    }

    /// Opens the index kept in `dir` and has `store` tell it of every change from now on.
    pub fn attach(store: &dyn Store, dir: &Path) -> Result<Arc<Index>, IndexError> {
        let index = Arc::new(Index::open_at(dir)?);
        let observer: Arc<dyn StoreObserver> = index.clone();
        if store.observe(observer).is_err() {
            return Err(IndexError::AlreadyAttached);
        }
        Ok(index)
    }

    /// Whether the index may not match the files (missing, older format, a crashed writer,
    /// a rebuild that did not finish): until a rebuild completes, answers may miss versions.
    pub fn needs_rebuild(&self) -> Result<bool, IndexError> {
        schema::is_dirty(&self.read())
    }

    /// Brings the row of `module@version` in step with its files in `store` (inserted,
    /// updated, or removed when none is held any more). A new zip's licence, when the zip is
    /// a local file, is found by a worker after this returns ([`scans`]); readers of
    /// licences wait for it.
    pub fn sync_version(
        &self,
        store: &dyn Store,
        module: &ModulePath,
        version: &Version,
    ) -> Result<(), IndexError> {
        let later = files::Licences::Later {
            scans: &self.scans,
            writer: &self.writer,
        };
        self.sync_one(store, module, version, later)
    }

    /// One version's row, in a transaction of its own.
    fn sync_one(
        &self,
        store: &dyn Store,
        module: &ModulePath,
        version: &Version,
        licences: files::Licences<'_>,
    ) -> Result<(), IndexError> {
        let mut conn = self.write();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        files::sync(&tx, store, module, version, licences)?;
        tx.commit()?;
        Ok(())
    }

    /// Finds now the licence of each held zip of `module` whose row has none, and writes it:
    /// for a reader in another process than the store's writer (`godepot ls` beside a
    /// server), which cannot wait for that writer's scans, and finds none when the writer
    /// was killed before its queue was done. Says how many rows it looked at.
    pub fn find_missing_licences(
        &self,
        store: &dyn Store,
        module: &ModulePath,
    ) -> Result<usize, IndexError> {
        let versions: Vec<String> = {
            let conn = self.read();
            let mut stmt = conn.prepare_cached(
                "SELECT version FROM versions
                 WHERE module = ?1 AND zip_size IS NOT NULL AND license IS NULL",
            )?;
            let rows = stmt.query_map([module.as_str()], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for version in &versions {
            let Ok(version) = Version::parse(version) else {
                continue;
            };
            self.sync_one(store, module, &version, files::Licences::Now)?;
        }
        Ok(versions.len())
    }

    /// Counts a download of `module@version` (a `.zip`, `.mod` or `.info` served). Kept in
    /// memory; [`Index::flush_hits`] writes the counts.
    pub fn record_hit(&self, module: &ModulePath, version: &Version) {
        self.hits.record(module.as_str(), version.as_str());
    }

    /// Writes the hits counted since the last flush, in one transaction.
    pub fn flush_hits(&self) -> Result<(), IndexError> {
        let pending = self.hits.take();
        if pending.is_empty() {
            return Ok(());
        }
        let mut conn = self.write();
        hits::write(&mut conn, &pending)
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frees the pages SQLite caches on both connections (up to 2 MiB each), for after a
    /// walk of every row, and for a server gone quiet (searches of a large store fill the
    /// reader's): it then idles at its working set, not at two full caches. Queries refill
    /// what they use.
    pub fn release_caches(&self) {
        // One lock at a time.
        for conn in [&self.writer, &self.reader] {
            let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = conn.execute_batch("PRAGMA shrink_memory") {
                tracing::debug!(error = %e, "module index: cache not released");
            }
        }
    }
}

impl StoreObserver for Index {
    fn version_changed(&self, store: &dyn Store, module: &ModulePath, version: &Version) {
        // The file change already happened; a failed index update must not fail it. The
        // index is marked dirty instead, so the next start rebuilds it.
        if let Err(e) = self.sync_version(store, module, version) {
            tracing::warn!(module = %module, version = %version, error = %e, "the module index could not be updated; it will be rebuilt");
            if let Err(e) = schema::mark_dirty(&self.write()) {
                tracing::warn!(error = %e, "the module index could not be marked for a rebuild");
            }
        }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        // The licences still queued are found before the marker goes: a process that exits
        // cleanly leaves a complete index.
        self.scans.close();
        if let Err(e) = self.flush_hits() {
            tracing::warn!(error = %e, "download counts not written to the module index");
        }
    }
}

#[cfg(test)]
mod tests;
