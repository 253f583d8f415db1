//! Checking a whole copy of the database before it is trusted (an import, `verify`, a
//! mirror's first load): every file valid JSON of its kind, every entry's id its file
//! name, the indexes consistent with the entries, the times in order.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use godepot_module::semver;

use crate::layout::{self, DbFile};
use crate::model::{self, DbMeta, Entry, ModelError, ModuleMeta, SEMVER};
use crate::range::{non_superseded_fix, with_v};
use crate::{Timestamp, VulnDb};

/// The raw files of a copy, as read. Entries are keyed by the id their file name gives.
#[derive(Debug, Clone, Default)]
pub struct DbCopy {
    /// `index/db.json`.
    pub db: Vec<u8>,
    /// `index/modules.json`.
    pub modules: Vec<u8>,
    /// `index/vulns.json`, when the copy has it.
    pub vulns: Option<Vec<u8>>,
    /// `ID/<id>.json`, by `<id>`.
    pub entries: BTreeMap<String, Vec<u8>>,
}

impl DbCopy {
    /// A copy as `get` reads its files (by metadata name, `DbFile::meta_name`): its indexes
    /// and the entries they name; `None` when there is no `index/db.json`. Names that are no
    /// valid id are left out (validation reports the index), as are entries not held.
    pub fn read<E>(
        mut get: impl FnMut(&str) -> Result<Option<Vec<u8>>, E>,
    ) -> Result<Option<DbCopy>, E> {
        let Some(db) = get(&crate::DbFile::DbIndex.meta_name())? else {
            return Ok(None);
        };
        let modules = get(&crate::DbFile::ModulesIndex.meta_name())?.unwrap_or_default();
        let vulns = get(&crate::DbFile::VulnsIndex.meta_name())?;
        let mut ids: Vec<String> = crate::model::parse_modules(&modules)
            .map(|ms| ms.into_iter().flat_map(|m| m.vulns).map(|v| v.id).collect())
            .unwrap_or_default();
        if let Some(v) = vulns
            .as_deref()
            .and_then(|v| crate::model::parse_vulns(v).ok())
        {
            ids.extend(v.into_iter().map(|v| v.id));
        }
        ids.sort();
        ids.dedup();
        let mut entries = BTreeMap::new();
        for id in ids {
            let Ok(file) = crate::DbFile::entry(&id) else {
                continue;
            };
            if let Some(data) = get(&file.meta_name())? {
                entries.insert(id, data);
            }
        }
        Ok(Some(DbCopy {
            db,
            modules,
            vulns,
            entries,
        }))
    }
}

/// One inconsistency in a copy.
#[derive(Debug)]
pub enum Problem {
    /// A file that is not valid JSON of its kind.
    Parse(ModelError),
    /// A file name that is no valid id.
    BadFileName(String),
    /// An entry whose `id` is not its file's name.
    IdMismatch { file: String, id: String },
    /// A module listed twice in `index/modules.json`.
    DuplicateModule(String),
    /// An id listed twice under one module.
    DuplicateVuln { module: String, id: String },
    /// The index lists an id that has no entry file.
    MissingEntry { index: &'static str, id: String },
    /// The index lists a module under an entry that does not name it.
    NotAffected { module: String, id: String },
    /// An entry that names a module the index does not list it under.
    NotIndexed {
        index: &'static str,
        module: String,
        id: String,
    },
    /// The index's `modified` for an entry is not the entry's.
    Modified {
        index: &'static str,
        id: String,
        indexed: String,
        entry: String,
    },
    /// The index's `fixed` for an entry is not the one its ranges give.
    Fixed {
        module: String,
        id: String,
        indexed: Option<String>,
        entry: Option<String>,
    },
    /// `index/db.json` is older than an entry.
    DbOlder {
        db: String,
        id: String,
        entry: String,
    },
    /// A `SEMVER` event whose version is not a semantic version without `v`.
    BadVersion {
        id: String,
        module: String,
        version: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "{e}"),
            Self::BadFileName(name) => write!(f, "ID/{name}: not a valid entry id"),
            Self::IdMismatch { file, id } => write!(f, "{file}: the entry's id is {id:?}"),
            Self::DuplicateModule(m) => write!(f, "index/modules.json: {m} is listed twice"),
            Self::DuplicateVuln { module, id } => {
                write!(f, "index/modules.json: {id} is listed twice under {module}")
            }
            Self::MissingEntry { index, id } => write!(f, "{index}: {id} has no file ID/{id}.json"),
            Self::NotAffected { module, id } => write!(
                f,
                "index/modules.json: lists {id} under {module}, which ID/{id}.json does not name"
            ),
            Self::NotIndexed { index, module, id } if module.is_empty() => {
                write!(f, "{index}: ID/{id}.json is not listed")
            }
            Self::NotIndexed { index, module, id } => {
                write!(
                    f,
                    "{index}: ID/{id}.json names {module}, which does not list it"
                )
            }
            Self::Modified {
                index,
                id,
                indexed,
                entry,
            } => write!(
                f,
                "{index}: {id} modified {indexed}, but ID/{id}.json says {entry}"
            ),
            Self::Fixed {
                module,
                id,
                indexed,
                entry,
            } => write!(
                f,
                "index/modules.json: {id} under {module} fixed {}, but its ranges say {}",
                indexed.as_deref().unwrap_or("(none)"),
                entry.as_deref().unwrap_or("(none)")
            ),
            Self::DbOlder { db, id, entry } => write!(
                f,
                "index/db.json: modified {db}, before ID/{id}.json (modified {entry})"
            ),
            Self::BadVersion {
                id,
                module,
                version,
            } => write!(
                f,
                "ID/{id}.json: {version:?} (for {module}) is not a semantic version without the v prefix"
            ),
        }
    }
}

/// A copy that failed its checks: every problem found.
#[derive(Debug, thiserror::Error)]
pub struct Invalid {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        let n = self.problems.len();
        write!(
            f,
            "the vulnerability database is inconsistent ({n} problem{})",
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems.iter().take(SHOWN) {
            write!(f, "; {p}")?;
        }
        if n > SHOWN {
            write!(f, "; and {} more", n - SHOWN)?;
        }
        Ok(())
    }
}

const MODULES: &str = "index/modules.json";
const VULNS: &str = "index/vulns.json";

/// Checks a whole copy; on success, the database it holds, ready for queries.
pub fn validate(copy: &DbCopy) -> Result<VulnDb, Invalid> {
    let mut problems = Vec::new();
    let meta = model::parse_db_meta(&copy.db).map_err(Problem::Parse);
    let modules = model::parse_modules(&copy.modules).map_err(Problem::Parse);
    let vulns = copy
        .vulns
        .as_deref()
        .map(|b| model::parse_vulns(b).map_err(Problem::Parse))
        .transpose();

    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for (name, bytes) in &copy.entries {
        if !layout::is_valid_id(name) {
            problems.push(Problem::BadFileName(format!("{name}.json")));
            continue;
        }
        let file = DbFile::Entry(name.clone()).rel();
        match model::parse_entry(&file, bytes) {
            Ok(e) if &e.id != name => problems.push(Problem::IdMismatch { file, id: e.id }),
            Ok(e) => {
                check_versions(&e, &mut problems);
                entries.insert(name.clone(), e);
            }
            Err(e) => problems.push(Problem::Parse(e)),
        }
    }

    let meta = keep(meta, &mut problems);
    let modules = keep(modules, &mut problems);
    let vulns = keep(vulns, &mut problems).flatten();

    if let Some(meta) = &meta {
        for e in entries.values() {
            if e.modified > meta.modified {
                problems.push(Problem::DbOlder {
                    db: meta.modified.to_string(),
                    id: e.id.clone(),
                    entry: e.modified.to_string(),
                });
            }
        }
    }
    if let Some(modules) = &modules {
        check_modules_index(modules, &entries, copy, &mut problems);
    }
    if let Some(vulns) = &vulns {
        let mut listed = BTreeSet::new();
        for v in vulns {
            listed.insert(v.id.as_str());
            match entries.get(&v.id) {
                None if !copy.entries.contains_key(&v.id) => problems.push(Problem::MissingEntry {
                    index: VULNS,
                    id: v.id.clone(),
                }),
                None => {}
                Some(e) => check_modified(VULNS, &v.id, &v.modified, e, &mut problems),
            }
        }
        for id in entries.keys().filter(|id| !listed.contains(id.as_str())) {
            problems.push(Problem::NotIndexed {
                index: VULNS,
                module: String::new(),
                id: id.clone(),
            });
        }
    }

    match (meta, problems.is_empty()) {
        (Some(meta), true) => Ok(VulnDb::new(meta, entries.into_values().collect())),
        _ => Err(Invalid { problems }),
    }
}

fn keep<T>(r: Result<T, Problem>, problems: &mut Vec<Problem>) -> Option<T> {
    r.map_err(|p| problems.push(p)).ok()
}

fn check_modified(
    index: &'static str,
    id: &str,
    indexed: &Timestamp,
    e: &Entry,
    problems: &mut Vec<Problem>,
) {
    if *indexed != e.modified {
        problems.push(Problem::Modified {
            index,
            id: id.to_owned(),
            indexed: indexed.to_string(),
            entry: e.modified.to_string(),
        });
    }
}

fn check_versions(e: &Entry, problems: &mut Vec<Problem>) {
    for a in &e.affected {
        for r in a.ranges.iter().filter(|r| r.kind == SEMVER) {
            for ev in &r.events {
                let intro = ev.introduced.as_deref().filter(|i| *i != "0");
                for v in intro.into_iter().chain(ev.fixed.as_deref()) {
                    let ok = !v.starts_with('v') && semver::is_valid(&with_v(v));
                    if !ok {
                        problems.push(Problem::BadVersion {
                            id: e.id.clone(),
                            module: a.package.name.clone(),
                            version: v.to_owned(),
                        });
                    }
                }
            }
        }
    }
}

fn check_modules_index(
    modules: &[ModuleMeta],
    entries: &BTreeMap<String, Entry>,
    copy: &DbCopy,
    problems: &mut Vec<Problem>,
) {
    // What the entries say: module -> id -> the fix the index must record.
    // (An entry naming a module twice may be indexed with the fix of either.)
    let mut expected: HashMap<&str, BTreeMap<&str, Vec<Option<String>>>> = HashMap::new();
    for e in entries.values() {
        for a in &e.affected {
            let fix = non_superseded_fix(&a.ranges);
            let slot = expected.entry(a.package.name.as_str()).or_default();
            slot.entry(e.id.as_str()).or_default().push(fix);
        }
    }
    let mut seen_modules = BTreeSet::new();
    let mut listed: BTreeSet<(&str, &str)> = BTreeSet::new();
    for m in modules {
        if !seen_modules.insert(m.path.as_str()) {
            problems.push(Problem::DuplicateModule(m.path.clone()));
        }
        let mut seen_ids = BTreeSet::new();
        for v in &m.vulns {
            if !seen_ids.insert(v.id.as_str()) {
                problems.push(Problem::DuplicateVuln {
                    module: m.path.clone(),
                    id: v.id.clone(),
                });
            }
            listed.insert((m.path.as_str(), v.id.as_str()));
            let Some(e) = entries.get(&v.id) else {
                if !copy.entries.contains_key(&v.id) {
                    problems.push(Problem::MissingEntry {
                        index: MODULES,
                        id: v.id.clone(),
                    });
                }
                continue;
            };
            check_modified(MODULES, &v.id, &v.modified, e, problems);
            match expected
                .get(m.path.as_str())
                .and_then(|ids| ids.get(v.id.as_str()))
            {
                None => problems.push(Problem::NotAffected {
                    module: m.path.clone(),
                    id: v.id.clone(),
                }),
                Some(fixes) if !fixes.contains(&v.fixed) => problems.push(Problem::Fixed {
                    module: m.path.clone(),
                    id: v.id.clone(),
                    indexed: v.fixed.clone(),
                    entry: fixes[0].clone(),
                }),
                Some(_) => {}
            }
        }
    }
    let mut missing: Vec<(&str, &str)> = expected
        .iter()
        .flat_map(|(m, ids)| ids.keys().map(move |id| (*m, *id)))
        .filter(|k| !listed.contains(k))
        .collect();
    missing.sort_unstable();
    for (module, id) in missing {
        problems.push(Problem::NotIndexed {
            index: MODULES,
            module: module.to_owned(),
            id: id.to_owned(),
        });
    }
}

/// Reads only `index/db.json`'s time: which of two copies is newer.
pub fn modified(db_json: &[u8]) -> Result<Timestamp, ModelError> {
    model::parse_db_meta(db_json).map(|m: DbMeta| m.modified)
}
