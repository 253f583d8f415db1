//! Checking artifacts and database answers against the records of one keyed database, with
//! every file (lookup answers, tiles) taken from what is at hand: answers arriving in a
//! bundle first, then the store's cache. Nothing is fetched: what is missing fails the check.

use godepot_store::{ClosedSpool, Store};
use godepot_sumdb::check::{VERIFIED_TREE, check_consistent, check_hash, verify_lookup};
use godepot_sumdb::{SumdbPath, Tile, TreeHead, VerifierKey};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::cache;

/// Why an artifact could not be vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordProblem {
    /// The database records another hash: the artifact is not what was published.
    Mismatch(String),
    /// No record at hand, or one that does not verify: the artifact is unproven either way.
    Unverified(String),
}

impl RecordProblem {
    pub(crate) fn reason(&self) -> &str {
        match self {
            RecordProblem::Mismatch(r) | RecordProblem::Unverified(r) => r,
        }
    }
}

/// The records of one database.
pub(crate) struct Records<'a> {
    store: &'a dyn Store,
    database: &'a str,
    key: &'a VerifierKey,
    /// Answers arriving with the bundle (spooled on disk), by path under the database's root.
    incoming: &'a BTreeMap<String, ClosedSpool>,
    /// Tiles read so far: a store's proofs share their upper tiles.
    tiles: RefCell<HashMap<Tile, Option<Vec<u8>>>>,
}

impl<'a> Records<'a> {
    pub(crate) fn new(
        store: &'a dyn Store,
        database: &'a str,
        key: &'a VerifierKey,
        incoming: &'a BTreeMap<String, ClosedSpool>,
    ) -> Self {
        Records {
            store,
            database,
            key,
            incoming,
            tiles: RefCell::new(HashMap::new()),
        }
    }

    /// An answer: the bundle's, else the store's. An unreadable cache file counts as absent.
    fn file(&self, rel: &str) -> Option<Vec<u8>> {
        if let Some(spool) = self.incoming.get(rel) {
            return std::fs::read(spool.path()).ok();
        }
        cache::read(self.store, self.database, rel).ok().flatten()
    }

    fn tile(&self, tile: &Tile) -> Option<Vec<u8>> {
        let mut tiles = self.tiles.borrow_mut();
        tiles
            .entry(*tile)
            .or_insert_with(|| self.file(&tile.path()))
            .clone()
    }

    /// Checks that the database records `h1` for the zip (or, with `go_mod`, the go.mod) of
    /// `module@version`, with a lookup answer that is signed and in its tree.
    pub(crate) fn check_artifact(
        &self,
        module: &godepot_module::ModulePath,
        version: &godepot_module::Version,
        go_mod: bool,
        h1: &str,
    ) -> Result<(), RecordProblem> {
        let rel = SumdbPath::Lookup(module.clone(), version.clone()).rel();
        let Some(answer) = self.file(&rel) else {
            return Err(RecordProblem::Unverified(format!(
                "checksum database {}: no record of {module}@{version} at hand ({rel} is neither in the bundle nor held; list private modules in --nosumdb)",
                self.database
            )));
        };
        let (record, _) = verify_lookup(&answer, self.key, |t| self.tile(t)).map_err(|e| {
            RecordProblem::Unverified(format!("checksum database {}: {rel}: {e}", self.database))
        })?;
        check_hash(&record, module.as_str(), version.as_str(), go_mod, h1).map_err(|want| {
            RecordProblem::Mismatch(format!(
                "checksum mismatch: the file hashes to {h1}, checksum database {} records {}",
                self.database,
                want.unwrap_or("no hash for it")
            ))
        })
    }

    /// Verifies every answer arriving in the bundle: lookups signed and in their trees,
    /// `latest` signed, and all their tree heads (and the one verified before, if any)
    /// consistent with the largest. Returns that largest verified tree head. `Err` names
    /// the file (under the database's root) and why.
    pub(crate) fn verify_incoming(&self) -> Result<Option<TreeHead>, (String, String)> {
        let mut heads: Vec<(String, TreeHead)> = Vec::new();
        for (rel, spool) in self.incoming {
            let fail = |e: godepot_sumdb::SumdbError| (rel.clone(), e.to_string());
            if rel != "latest" && !rel.starts_with("lookup/") {
                continue;
            }
            let data = &std::fs::read(spool.path())
                .map_err(|e| (rel.clone(), format!("reading its spooled copy: {e}")))?;
            if rel == "latest" {
                heads.push((
                    rel.clone(),
                    godepot_sumdb::check::verified_head(data, self.key).map_err(fail)?,
                ));
            } else if rel.starts_with("lookup/") {
                let (_, head) = verify_lookup(data, self.key, |t| self.tile(t)).map_err(fail)?;
                heads.push((rel.clone(), head));
            }
        }
        if let Some(known) = self.verified_before() {
            heads.push((VERIFIED_TREE.to_string(), known));
        }
        let Some((_, largest)) = heads.iter().max_by_key(|(_, h)| h.size).cloned() else {
            return Ok(None);
        };
        let mut checked: Vec<TreeHead> = vec![largest];
        for (rel, head) in &heads {
            if checked.contains(head) {
                continue;
            }
            check_consistent(head, &largest, |t| self.tile(t)).map_err(|e| {
                (
                    rel.clone(),
                    format!(
                        "its tree head (size {}) is not consistent with the tree of size {}: {e}",
                        head.size, largest.size
                    ),
                )
            })?;
            checked.push(*head);
        }
        Ok(Some(largest))
    }

    /// The largest tree head this store verified before (written by the depot and imports).
    pub(crate) fn verified_before(&self) -> Option<TreeHead> {
        let data = cache::read(self.store, self.database, VERIFIED_TREE).ok()??;
        TreeHead::parse(std::str::from_utf8(&data).ok()?).ok()
    }
}
