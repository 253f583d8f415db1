//! `godepot diff`: do two environments hold the same bytes? Each side is a data directory
//! or a bundle; the answer lists the module versions only one side holds, and the
//! conflicts: the same file of the same version with different bytes, naming both hashes.
//!
//! Compared: every `.info`, `.mod` and `.zip` (the bytes the go command downloads), by
//! SHA-256 of their content. Not compared: `@v/list` files and `.ziphash` files (derived from
//! the others), and anything that is not module content. The checksum-database cache is
//! compared only when both sides hold one (a store that never proxied a database is not
//! "different" for it), and only its lookups and tiles, which never change once written;
//! `latest` moves on with every refresh. An incremental bundle holds only what its chain
//! did not carry before: against a whole store, the rest shows as held by the store only.

mod inventory;

use std::path::Path;

use godepot_store::Store;
use serde::Serialize;

pub use inventory::FileSum;
use inventory::{Files, Inventory};

use crate::{BundleError, Progress};

/// What two sides hold, compared.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub a: Side,
    pub b: Side,
    /// Module versions held by both with the same files and bytes.
    pub same: usize,
    /// Files of module versions A holds and B does not, by decoded module path and version.
    pub only_in_a: Vec<Held>,
    pub only_in_b: Vec<Held>,
    /// The same file of the same module version, with different bytes.
    pub conflicts: Vec<Conflict>,
    pub sumdb: SumdbDiff,
}

/// One side, as given.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub path: String,
    /// "store" or "bundle".
    pub kind: &'static str,
    /// Module versions it holds any file of.
    pub versions: usize,
}

/// Files of a module version one side holds and the other does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// Decoded (`example.com/CamelCase`).
    pub module: String,
    pub version: String,
    /// Extensions, in the order the go command asks for them: `info`, `mod`, `zip`.
    pub files: Vec<&'static str>,
    /// Whether the other side holds none of this version's files.
    pub whole: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub module: String,
    pub version: String,
    /// `info`, `mod` or `zip`.
    pub file: &'static str,
    /// Where both sides keep it, relative to the tree's root.
    pub path: String,
    pub a: FileSum,
    pub b: FileSum,
}

/// The checksum databases' cached answers, compared.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SumdbDiff {
    /// False when either side holds no answers: then nothing below is filled in.
    pub compared: bool,
    /// Paths as in a bundle: `sumdb/<name>/lookup/…`, `sumdb/<name>/tile/…`.
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    pub conflicts: Vec<AnswerConflict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerConflict {
    pub path: String,
    pub a: FileSum,
    pub b: FileSum,
}

impl DiffReport {
    /// Whether the two sides hold the same.
    pub fn is_same(&self) -> bool {
        self.only_in_a.is_empty()
            && self.only_in_b.is_empty()
            && self.conflicts.is_empty()
            && self.sumdb.only_in_a.is_empty()
            && self.sumdb.only_in_b.is_empty()
            && self.sumdb.conflicts.is_empty()
    }
}

/// One side to compare.
#[derive(Clone, Copy)]
pub enum Operand<'a> {
    /// A data directory (or any `GOPROXY=file://` tree), or a bundle file.
    Path(&'a Path),
    /// A store read through its trait (a bucket): compared as the same tree on disk is.
    Store(&'a dyn Store),
}

impl Operand<'_> {
    /// How the report names it.
    fn name(&self) -> String {
        match self {
            Operand::Path(path) => path.display().to_string(),
            Operand::Store(store) => store.describe(),
        }
    }
}

/// Compares `a` and `b`, each a data directory or a bundle file.
pub fn diff(a: &Path, b: &Path, progress: &dyn Progress) -> Result<DiffReport, BundleError> {
    diff_operands(Operand::Path(a), Operand::Path(b), progress)
}

/// [`diff`], where either side may also be a store (a bucket).
pub fn diff_operands(
    a: Operand<'_>,
    b: Operand<'_>,
    progress: &dyn Progress,
) -> Result<DiffReport, BundleError> {
    let left = inventory::read(a, progress)?;
    let right = inventory::read(b, progress)?;
    Ok(compare(&a.name(), &left, &b.name(), &right))
}

fn compare(a: &str, left: &Inventory, b: &str, right: &Inventory) -> DiffReport {
    let side = |path: &str, inv: &Inventory| Side {
        path: path.to_owned(),
        kind: inv.kind,
        versions: inv.versions.len(),
    };
    let mut report = DiffReport {
        a: side(a, left),
        b: side(b, right),
        same: 0,
        only_in_a: Vec::new(),
        only_in_b: Vec::new(),
        conflicts: Vec::new(),
        sumdb: SumdbDiff::default(),
    };
    let none = Files::new();
    let mut keys: Vec<_> = left.versions.keys().chain(right.versions.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (module, version) = (key.0.to_string(), key.1.to_string());
        let l = left.versions.get(key).unwrap_or(&none);
        let r = right.versions.get(key).unwrap_or(&none);
        let only = |this: &Files, other: &Files| {
            let files: Vec<&'static str> = this
                .keys()
                .filter(|ext| !other.contains_key(*ext))
                .copied()
                .collect();
            (!files.is_empty()).then(|| Held {
                module: module.clone(),
                version: version.clone(),
                files,
                whole: other.is_empty(),
            })
        };
        let (only_l, only_r) = (only(l, r), only(r, l));
        let conflicts: Vec<Conflict> = l
            .iter()
            .filter_map(|(ext, (path, a))| {
                let (_, b) = r.get(ext).filter(|(_, b)| b != a)?;
                Some(Conflict {
                    module: module.clone(),
                    version: version.clone(),
                    file: ext,
                    path: path.clone(),
                    a: a.clone(),
                    b: b.clone(),
                })
            })
            .collect();
        if only_l.is_none() && only_r.is_none() && conflicts.is_empty() {
            report.same += 1;
        }
        report.only_in_a.extend(only_l);
        report.only_in_b.extend(only_r);
        report.conflicts.extend(conflicts);
    }
    if !left.sumdb.is_empty() && !right.sumdb.is_empty() {
        report.sumdb = compare_answers(left, right);
    }
    report
}

fn compare_answers(left: &Inventory, right: &Inventory) -> SumdbDiff {
    let only = |this: &Inventory, other: &Inventory| {
        this.sumdb
            .keys()
            .filter(|p| !other.sumdb.contains_key(*p))
            .cloned()
            .collect()
    };
    let conflicts = left
        .sumdb
        .iter()
        .filter_map(|(path, a)| {
            let b = right.sumdb.get(path).filter(|b| *b != a)?;
            Some(AnswerConflict {
                path: path.clone(),
                a: a.clone(),
                b: b.clone(),
            })
        })
        .collect();
    SumdbDiff {
        compared: true,
        only_in_a: only(left, right),
        only_in_b: only(right, left),
        conflicts,
    }
}

#[cfg(test)]
mod tests;
