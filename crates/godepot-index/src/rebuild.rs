//! Rebuilding the index from the files, while the store keeps serving and taking writes.
//!
//! The versions to look at are those the walk finds and those the index holds (a row whose
//! files are gone must go). Each is brought in step by [`files::sync`], the same code a put
//! runs, in batches of write transactions that read the files under the write lock: a put or
//! a removal that lands during the rebuild is either seen by the batch or synced after it by
//! its own call, never undone. The index is current again only if nothing marked it dirty
//! after the rebuild started.
//!
//! A refresh ([`Index::refresh`]) is the incremental form, for changes the store does not
//! tell this process of (other replicas on one bucket, an import into it): the same walk,
//! but only the versions whose files the walk sees otherwise than the index holds them
//! (added, gone, an artifact more or less) are synced, so a refresh of an unchanged store
//! costs the walk (a bucket's listing) and one read of the index, and opens no file.

use std::collections::{BTreeMap, BTreeSet};

use godepot_module::{ModulePath, Version};
use godepot_store::{Kind, Store, TreeFile};
use serde::Serialize;

use crate::{Index, IndexError, Totals, files, schema};

/// Versions per write transaction: short enough that a put waiting on the lock is not held
/// up noticeably.
const BATCH: usize = 256;

/// What a rebuild (or a refresh) found.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// Versions looked at (found in the files or held by the index before; for a refresh,
    /// those that had changed).
    pub examined: u64,
    /// What the index holds now.
    pub totals: Totals,
    pub seconds: f64,
}

/// What a walk sees of one version, in the terms of its row: the sizes of its `.info`,
/// `.mod` and `.zip`, and whether it has a `.ziphash` (the row's `h1`: a `.ziphash` that
/// holds none is synced again at every refresh, a few reads for a file verify reports).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    info: Option<u64>,
    go_mod: Option<u64>,
    zip: Option<u64>,
    ziphash: bool,
}

/// Every version a walk of the files finds held (an `.info`, `.mod` or `.zip`; a lone
/// `.ziphash` is not a version): what the index must hold, O(files).
pub fn walk_versions(store: &dyn Store) -> Result<BTreeSet<(ModulePath, Version)>, IndexError> {
    Ok(walk_seen(store)?.into_keys().collect())
}

fn walk_seen(store: &dyn Store) -> Result<BTreeMap<(ModulePath, Version), Seen>, IndexError> {
    let mut seen: BTreeMap<_, Seen> = BTreeMap::new();
    for entry in store.walk()? {
        let TreeFile::Artifact(key) = entry.file else {
            continue;
        };
        let kind = key.kind;
        let version = seen.entry((key.module, key.version)).or_default();
        match kind {
            Kind::Info => version.info = Some(entry.size),
            Kind::Mod => version.go_mod = Some(entry.size),
            Kind::Zip => version.zip = Some(entry.size),
            Kind::ZipHash => version.ziphash = true,
        }
    }
    seen.retain(|_, v| v.info.is_some() || v.go_mod.is_some() || v.zip.is_some());
    Ok(seen)
}

impl Index {
    /// Rebuilds the index from the files of `store`: O(files in the store). Serving may go on
    /// meanwhile.
    pub fn rebuild(&self, store: &dyn Store) -> Result<Rebuilt, IndexError> {
        let started = std::time::Instant::now();
        let from = schema::get(&self.write(), "dirty")?.unwrap_or_default();
        let mut candidates = walk_versions(store)?;
        for (module, version) in self.indexed_versions()? {
            match (ModulePath::parse(&module), Version::parse(&version)) {
                (Ok(m), Ok(v)) => {
                    candidates.insert((m, v));
                }
                _ => self.drop_row(&module, &version)?,
            }
        }
        let candidates: Vec<_> = candidates.into_iter().collect();
        self.sync_all(store, &candidates)?;
        schema::set(&self.write(), "clean", from)?;
        let totals = self.totals()?;
        self.release_caches();
        Ok(Rebuilt {
            examined: candidates.len() as u64,
            totals,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Brings the index in step with changes it was not told of: a walk of `store`, then a
    /// sync of only the versions added, gone, or held otherwise than the index says
    /// (see the module doc). Leaves a dirty index dirty: only [`Index::rebuild`] looks at
    /// every version.
    pub fn refresh(&self, store: &dyn Store) -> Result<Rebuilt, IndexError> {
        let started = std::time::Instant::now();
        let mut walked = walk_seen(store)?;
        let mut changed = Vec::new();
        for (module, version, seen) in self.indexed_seen()? {
            let (Ok(m), Ok(v)) = (ModulePath::parse(&module), Version::parse(&version)) else {
                self.drop_row(&module, &version)?;
                continue;
            };
            let key = (m, v);
            if walked.remove(&key).as_ref() != Some(&seen) {
                changed.push(key);
            }
        }
        // What is left was walked but is not in the index.
        changed.extend(walked.into_keys());
        self.sync_all(store, &changed)?;
        let totals = self.totals()?;
        self.release_caches();
        Ok(Rebuilt {
            examined: changed.len() as u64,
            totals,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    fn sync_all(
        &self,
        store: &dyn Store,
        versions: &[(ModulePath, Version)],
    ) -> Result<(), IndexError> {
        for batch in versions.chunks(BATCH) {
            let mut conn = self.write();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for (module, version) in batch {
                files::sync(&tx, store, module, version, files::Licences::Now)?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Every `(module, version)` the index holds, in order: for a rebuild, and for tests
    /// that compare the index with a walk of the files.
    pub fn indexed_versions(&self) -> Result<Vec<(String, String)>, IndexError> {
        let conn = self.read();
        let mut stmt =
            conn.prepare("SELECT module, version FROM versions ORDER BY module, version")?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every row, as a walk would see its version if the files were as the row says.
    fn indexed_seen(&self) -> Result<Vec<(String, String, Seen)>, IndexError> {
        let conn = self.read();
        let mut stmt = conn.prepare(
            "SELECT module, version, info_size, mod_size, zip_size, h1 IS NOT NULL FROM versions",
        )?;
        let size = |s: Option<i64>| s.map(|s| s as u64);
        let rows = stmt.query_map([], |row| {
            let seen = Seen {
                info: size(row.get(2)?),
                go_mod: size(row.get(3)?),
                zip: size(row.get(4)?),
                ziphash: row.get(5)?,
            };
            Ok((row.get(0)?, row.get(1)?, seen))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn drop_row(&self, module: &str, version: &str) -> Result<(), IndexError> {
        self.write().execute(
            "DELETE FROM versions WHERE module = ?1 AND version = ?2",
            [module, version],
        )?;
        Ok(())
    }
}
