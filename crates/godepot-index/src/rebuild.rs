//! Rebuilding the index from the files, while the store keeps serving and taking writes.
//!
//! The versions to look at are those the walk finds and those the index holds (a row whose
//! files are gone must go). Each is brought in step by [`files::sync`], the same code a put
//! runs, in batches of write transactions that read the files under the write lock: a put or
//! a removal that lands during the rebuild is either seen by the batch or synced after it by
//! its own call, never undone. The index is current again only if nothing marked it dirty
//! after the rebuild started.

use std::collections::BTreeSet;
use std::path::Path;

use godepot_module::{ModulePath, Version};
use godepot_store::{Kind, TreeFile, walk_tree};
use serde::Serialize;

use crate::{Index, IndexError, Totals, files, schema};

/// Versions per write transaction: short enough that a put waiting on the lock is not held
/// up noticeably.
const BATCH: usize = 256;

/// What a rebuild found.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuilt {
    /// Versions looked at (found in the files or held by the index before).
    pub examined: u64,
    /// What the index holds now.
    pub totals: Totals,
    pub seconds: f64,
}

/// Every version a walk of the files finds held (an `.info`, `.mod` or `.zip`; a lone
/// `.ziphash` is not a version): what the index must hold, O(files).
pub fn walk_versions(root: &Path) -> Result<BTreeSet<(ModulePath, Version)>, IndexError> {
    let mut versions = BTreeSet::new();
    for entry in walk_tree(root)? {
        if let TreeFile::Artifact(key) = entry.file
            && key.kind != Kind::ZipHash
        {
            versions.insert((key.module, key.version));
        }
    }
    Ok(versions)
}

impl Index {
    /// Rebuilds the index from the files: O(files in the store). Serving may go on meanwhile.
    pub fn rebuild(&self) -> Result<Rebuilt, IndexError> {
        let started = std::time::Instant::now();
        let from = schema::get(&self.write(), "dirty")?.unwrap_or_default();
        let mut candidates = walk_versions(&self.root)?;
        for (module, version) in self.indexed_versions()? {
            match (ModulePath::parse(&module), Version::parse(&version)) {
                (Ok(m), Ok(v)) => {
                    candidates.insert((m, v));
                }
                _ => self.drop_row(&module, &version)?,
            }
        }
        let candidates: Vec<_> = candidates.into_iter().collect();
        for batch in candidates.chunks(BATCH) {
            let mut conn = self.write();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for (module, version) in batch {
                files::sync(&tx, &self.root, module, version)?;
            }
            tx.commit()?;
        }
        schema::set(&self.write(), "clean", from)?;
        Ok(Rebuilt {
            examined: candidates.len() as u64,
            totals: self.totals()?,
            seconds: started.elapsed().as_secs_f64(),
        })
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

    fn drop_row(&self, module: &str, version: &str) -> Result<(), IndexError> {
        self.write().execute(
            "DELETE FROM versions WHERE module = ?1 AND version = ?2",
            [module, version],
        )?;
        Ok(())
    }
}
