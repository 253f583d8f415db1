//! A validated database, asked which entries affect a module version.

use std::collections::HashMap;

use godepot_module::Version;

use crate::model::{DbMeta, Entry};
use crate::range::{affects, fixed_for, go_tag_to_semver, with_v};
use crate::{STDLIB, TOOLCHAIN, Timestamp};

/// A database whose copy passed [`crate::validate`], indexed by module.
#[derive(Debug, Clone)]
pub struct VulnDb {
    meta: DbMeta,
    entries: Vec<Entry>,
    /// Module path → (entry, affected) positions.
    by_module: HashMap<String, Vec<(usize, usize)>>,
    by_id: HashMap<String, usize>,
}

/// An entry that affects a module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The entry's id (`GO-2023-0001`).
    pub id: String,
    /// Its other names (CVE, GHSA ids).
    pub aliases: Vec<String>,
    /// Its one-line summary, when it has one.
    pub summary: Option<String>,
    /// The first version that fixes it, above the version asked about (as a module
    /// version, with `v`); None when no release fixes it yet.
    pub fixed: Option<Version>,
}

impl VulnDb {
    pub(crate) fn new(meta: DbMeta, entries: Vec<Entry>) -> Self {
        let mut by_module: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_id.insert(e.id.clone(), i);
            for (j, a) in e.affected.iter().enumerate() {
                by_module
                    .entry(a.package.name.clone())
                    .or_default()
                    .push((i, j));
            }
        }
        Self {
            meta,
            entries,
            by_module,
            by_id,
        }
    }

    /// `index/db.json`'s time: when the newest entry was modified.
    pub fn modified(&self) -> &Timestamp {
        &self.meta.modified
    }

    /// Every entry, in id order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// The entries (not withdrawn) whose ranges for `module` cover `version`, by id.
    ///
    /// `version` is a module version (`v1.2.3`); for the `stdlib` and `toolchain`
    /// pseudo-modules a Go release (`go1.21.3`) is accepted too. A version that is not a
    /// semantic version is covered only by entries that cover every version.
    pub fn affecting(&self, module: &str, version: &str) -> Vec<Finding> {
        let version = match module {
            STDLIB | TOOLCHAIN if version.starts_with("go") => {
                go_tag_to_semver(version).unwrap_or_else(|| version.to_owned())
            }
            _ => version.to_owned(),
        };
        let mut found: Vec<Finding> = Vec::new();
        for &(i, j) in self.by_module.get(module).into_iter().flatten() {
            let e = &self.entries[i];
            let a = &e.affected[j];
            if e.withdrawn.is_some() || !affects(&a.ranges, &version) {
                continue;
            }
            let fixed =
                fixed_for(&a.ranges, &version).and_then(|f| Version::parse(&with_v(&f)).ok());
            match found.iter_mut().find(|f| f.id == e.id) {
                // An entry naming the module twice: the earlier fix is the one to move to.
                Some(prev) => {
                    if let (Some(p), Some(n)) = (&prev.fixed, &fixed)
                        && godepot_module::semver::compare(n.as_str(), p.as_str()).is_lt()
                    {
                        prev.fixed = fixed;
                    }
                }
                None => found.push(Finding {
                    id: e.id.clone(),
                    aliases: e.aliases.clone(),
                    summary: e.summary.clone(),
                    fixed,
                }),
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }

    /// Whether any entry at all names `module` (a cheap first look for a policy gate).
    pub fn names(&self, module: &str) -> bool {
        self.by_module.contains_key(module)
    }
}
