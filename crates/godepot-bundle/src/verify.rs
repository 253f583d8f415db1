//! Re-checking what a store holds: every zip re-hashed with the go command's rules and
//! compared with its `.ziphash`, every go.mod and zip compared with go.sum files when given,
//! every `.info` parsed; files that are not artifacts, or a `.ziphash` without its zip, are
//! orphans. With a keyed checksum database, every zip and go.mod must also match the
//! database's records held in the store's cache (proven with the tiles held there): a
//! different hash is a mismatch, a missing or unprovable record leaves it unverified.
//! Each module's `@v/list` must list exactly its downloadable versions, and a version held
//! with its zip must have its `.mod` and `.info`, one held with its `.info` its `.mod`.
//! `repair` moves every file involved in a problem to the quarantine, so that a
//! server fetches it again instead of serving it, and rewrites the lists to match.

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, Store, TreeEntry, TreeFile};
use serde::Serialize;

use crate::check::{Facts, Opened, check_expected, check_ziphash, inspect};
use crate::sumdb::SumdbCheck;
use crate::sumdb::records::{RecordProblem, Records};
use crate::{BundleError, GoSums, Progress};

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub go_sums: GoSums,
    /// Move bad and orphaned files to `.godepot/quarantine/<time>/`.
    pub repair: bool,
    /// Check zips and go.mod files against this database's cached records.
    pub sumdb: SumdbCheck,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Artifacts checked, and their bytes.
    pub checked: usize,
    pub bytes: u64,
    /// Zips and go.mod files found in the checksum database's records with their hash.
    pub sumdb_matched: usize,
    pub findings: Vec<Finding>,
    /// Where repaired files went (with `repair`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    /// Files moved to the quarantine (relative paths in the store).
    pub quarantined: Vec<String>,
    /// The vulnerability database held, when it checks out: its `index/db.json` time and
    /// entries. (Its problems are findings.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulndb: Option<VulnDbHeld>,
}

/// The vulnerability database a store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnDbHeld {
    pub modified: String,
    pub entries: usize,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub path: String,
    pub problem: FindingKind,
    pub detail: String,
    /// Files to quarantine to repair this (the path itself, and e.g. a zip's `.ziphash`).
    #[serde(skip)]
    pub(crate) involves: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// The content disagrees with a recorded hash (`.ziphash`, go.sum).
    Mismatch,
    /// The content breaks the rules for its kind (bad zip, `.info` of another version, ...).
    Invalid,
    /// The file could not be read.
    Unreadable,
    /// Not an artifact, or a `.ziphash` without its zip.
    Orphan,
    /// No checksum-database record at hand proves it (none held, or one that does not
    /// verify). Not repaired: the artifact may well be fine.
    Unverified,
    /// A module's `@v/list` out of step with its files: a downloadable version it does not
    /// list (a crash between publishing and listing), or one it lists that is not
    /// downloadable. Repaired by rewriting the list.
    Unlisted,
    /// A version held with its zip or `.info` but without its `.mod` (which the go command
    /// reads before any zip), or with its zip but without its `.info` (so it is not offered
    /// by `list` or `@latest`). Not repaired: nothing here can supply the missing file;
    /// prefetch can.
    Incomplete,
}

pub fn verify(
    store: &dyn Store,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport, BundleError> {
    let entries = store.walk()?;
    let mut report = VerifyReport::default();
    // Each version's files, in the walk's order (hashed, not ordered: comparing versions
    // by semver for every file of a large store is a good part of a second).
    let mut versions: Vec<Vec<(&TreeEntry, &ArtifactKey)>> = Vec::new();
    let mut version_of: HashMap<(&ModulePath, &Version), usize> = HashMap::new();
    for entry in &entries {
        match &entry.file {
            TreeFile::Artifact(key) => {
                let next = versions.len();
                let i = *version_of
                    .entry((&key.module, &key.version))
                    .or_insert(next);
                if i == next {
                    versions.push(Vec::new());
                }
                versions[i].push((entry, key));
            }
            TreeFile::List(_) => {}
            TreeFile::Other(reason) => report.findings.push(Finding {
                path: entry.rel_path.clone(),
                problem: FindingKind::Orphan,
                detail: format!("not an artifact: {reason}"),
                involves: vec![entry.rel_path.clone()],
            }),
        }
    }
    let total = versions.iter().flatten().map(|(e, _)| e.size).sum();
    progress.phase("verifying", total);
    let empty = Default::default();
    // The checksum database's held records are among the store's metadata. Versions are
    // checked on every core, each thread with its own records (and their cache of the tiles
    // read), and reported in the walk's order.
    let parts = crate::parallel::map_with(
        &versions,
        || {
            options.sumdb.keyed().map(|db| {
                let key = db.key.as_ref().expect("keyed");
                Records::new(store, &db.name, key, &empty)
            })
        },
        |records, files| {
            let against = Against {
                go_sums: &options.go_sums,
                sumdb: &options.sumdb,
                records: records.as_ref(),
            };
            let mut part = VerifyReport::default();
            verify_version(store, files, &against, progress, &mut part);
            check_complete(files, &mut part);
            part
        },
    );
    for part in parts {
        report.checked += part.checked;
        report.bytes += part.bytes;
        report.sumdb_matched += part.sumdb_matched;
        report.findings.extend(part.findings);
    }
    progress.finish_phase();
    let mut modules: BTreeSet<ModulePath> = versions
        .iter()
        .filter_map(|files| files.first().map(|(_, k)| k.module.clone()))
        .collect();
    modules.extend(entries.iter().filter_map(|e| match &e.file {
        TreeFile::List(m) => Some(m.clone()),
        _ => None,
    }));
    let modules: Vec<ModulePath> = modules.into_iter().collect();
    let lists = crate::parallel::map(&modules, |module| {
        let mut part = VerifyReport::default();
        check_list(store, module, &mut part).map(|()| part.findings)
    });
    for findings in lists {
        report.findings.extend(findings?);
    }
    if let Some(copy) = crate::vulndb::held(store)? {
        match godepot_vulndb::validate(&copy) {
            Ok(db) => {
                report.vulndb = Some(VulnDbHeld {
                    modified: db.modified().to_string(),
                    entries: db.entries().len(),
                });
            }
            // Not repaired: a mirror (sync, prefetch --vulndb) or an import replaces it.
            Err(invalid) => report
                .findings
                .extend(invalid.problems.iter().map(|p| Finding {
                    path: ".godepot/vulndb".into(),
                    problem: FindingKind::Invalid,
                    detail: format!("vulnerability database: {p}"),
                    involves: Vec::new(),
                })),
        }
    }
    report.findings.sort_by(|a, b| a.path.cmp(&b.path));
    if options.repair && !report.findings.is_empty() {
        repair(store, &mut report)?;
        // Lists follow the files: those quarantined are no longer offered, and those a
        // crash left unlisted are.
        for module in &modules {
            store.reconcile_list(module)?;
        }
    }
    Ok(report)
}

/// A version held for more than its go.mod must be whole enough for the go command, which
/// reads a version's `.info`, then its `.mod`, then its zip: a `.info` or zip without the
/// `.mod`, or a zip without the `.info`, is incomplete. A `.mod` alone (read for the module
/// graph only) and a `.info` with its `.mod` (what `go list -m` reads) are not.
fn check_complete(files: &[(&TreeEntry, &ArtifactKey)], report: &mut VerifyReport) {
    let has = |kind: Kind| files.iter().find(|(_, k)| k.kind == kind);
    let (zip, info, module) = (has(Kind::Zip), has(Kind::Info), has(Kind::Mod));
    let mut missing = Vec::new();
    if module.is_none() && (zip.is_some() || info.is_some()) {
        missing.push(Kind::Mod.extension());
    }
    if info.is_none() && zip.is_some() {
        missing.push(Kind::Info.extension());
    }
    let Some((entry, key)) = zip.or(info).filter(|_| !missing.is_empty()) else {
        return;
    };
    let held: Vec<&str> = [zip, info]
        .into_iter()
        .flatten()
        .map(|(_, k)| k.kind.extension())
        .collect();
    report.findings.push(Finding {
        path: entry.rel_path.clone(),
        problem: FindingKind::Incomplete,
        detail: format!(
            "{}@{} is held as .{} without its .{}: not offered by list or @latest, and not downloadable by every client (prefetch it again)",
            key.module,
            key.version,
            held.join(" and ."),
            missing.join(" and .")
        ),
        involves: Vec::new(),
    });
}

/// The module's `@v/list` must list exactly its downloadable versions.
fn check_list(
    store: &dyn Store,
    module: &ModulePath,
    report: &mut VerifyReport,
) -> Result<(), BundleError> {
    let drift = store.list_drift(module)?;
    let path = godepot_store::key::list_rel_path(module);
    let names = |vs: &[Version]| {
        vs.iter()
            .map(Version::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut finding = |detail: String| {
        report.findings.push(Finding {
            path: path.clone(),
            problem: FindingKind::Unlisted,
            detail,
            involves: Vec::new(),
        })
    };
    if !drift.unlisted.is_empty() {
        finding(format!(
            "does not list {}, held as .info, .mod and .zip",
            names(&drift.unlisted)
        ));
    }
    if !drift.not_downloadable.is_empty() {
        finding(format!(
            "lists {}, not held as .info, .mod and .zip",
            names(&drift.not_downloadable)
        ));
    }
    Ok(())
}

/// What artifacts are compared with, beyond their own rules.
struct Against<'a> {
    go_sums: &'a GoSums,
    sumdb: &'a SumdbCheck,
    records: Option<&'a Records<'a>>,
}

fn verify_version(
    store: &dyn Store,
    files: &[(&TreeEntry, &ArtifactKey)],
    against: &Against<'_>,
    progress: &dyn Progress,
    report: &mut VerifyReport,
) {
    let path_of = |kind: Kind| {
        files
            .iter()
            .find(|(_, k)| k.kind == kind)
            .map(|(e, _)| e.rel_path.clone())
    };
    let mut zip_h1: Option<String> = None;
    let mut ziphash: Option<(String, String)> = None;
    for (entry, key) in files {
        progress.file(&entry.rel_path);
        report.checked += 1;
        report.bytes += entry.size;
        let mut finding = |problem, detail: String| {
            let mut involves = vec![entry.rel_path.clone()];
            if key.kind == Kind::Zip {
                involves.extend(path_of(Kind::ZipHash));
            }
            report.findings.push(Finding {
                path: entry.rel_path.clone(),
                problem,
                detail,
                involves,
            });
        };
        let facts = match store.open_file(&entry.rel_path) {
            Ok(Some(held)) => Opened::artifact(held, store.scratch_dir())
                .map_err(|e| format!("{}: {e}", entry.rel_path))
                .map(|mut opened| inspect(key, &mut opened)),
            Ok(None) => Err(format!("{}: gone while verifying", entry.rel_path)),
            Err(e) => Err(e.to_string()),
        };
        progress.advance(entry.size);
        let facts = match facts {
            Err(e) => {
                finding(FindingKind::Unreadable, e);
                continue;
            }
            Ok(Err(reason)) => {
                finding(FindingKind::Invalid, reason);
                continue;
            }
            Ok(Ok(facts)) => facts,
        };
        // Size and SHA-256 matter only against a manifest; here go.sum is the reference.
        if let Err(reason) = check_expected(key, 0, "", &facts, None, against.go_sums) {
            finding(FindingKind::Mismatch, reason);
            continue;
        }
        if let (Some(records), Some(h1)) = (against.records, facts.h1())
            && against.sumdb.covers(key.module.as_str())
        {
            match records.check_artifact(&key.module, &key.version, key.kind == Kind::Mod, h1) {
                Ok(()) => report.sumdb_matched += 1,
                Err(RecordProblem::Mismatch(reason)) => {
                    finding(FindingKind::Mismatch, reason);
                    continue;
                }
                Err(RecordProblem::Unverified(reason)) => {
                    report.findings.push(Finding {
                        path: entry.rel_path.clone(),
                        problem: FindingKind::Unverified,
                        detail: reason,
                        involves: Vec::new(),
                    });
                }
            }
        }
        match facts {
            Facts::Zip { h1 } => zip_h1 = Some(h1),
            Facts::ZipHash { stated } => ziphash = Some((entry.rel_path.clone(), stated)),
            _ => {}
        }
    }
    let Some((ziphash_path, stated)) = ziphash else {
        return;
    };
    let zip_path = path_of(Kind::Zip);
    let problem = match (&zip_path, &zip_h1) {
        (None, _) => Some((FindingKind::Orphan, "a .ziphash without its zip".to_owned())),
        // The zip itself was found bad; that finding already covers this file.
        (Some(_), None) => None,
        (Some(_), Some(h1)) => check_ziphash(&stated, h1)
            .err()
            .map(|r| (FindingKind::Mismatch, r)),
    };
    if let Some((problem, detail)) = problem {
        // Which of the two is wrong cannot be known: both go, and both are fetched again.
        let mut involves = vec![ziphash_path.clone()];
        involves.extend(zip_path);
        report.findings.push(Finding {
            path: ziphash_path,
            problem,
            detail,
            involves,
        });
    }
}

fn repair(store: &dyn Store, report: &mut VerifyReport) -> Result<(), BundleError> {
    let batch = crate::time::format_compact(SystemTime::now());
    let mut paths: Vec<&String> = report.findings.iter().flat_map(|f| &f.involves).collect();
    paths.sort();
    paths.dedup();
    let mut moved = Vec::new();
    for path in paths {
        store.quarantine(path, &batch)?;
        moved.push(path.clone());
    }
    if moved.is_empty() {
        return Ok(());
    }
    report.quarantine = Some(store.quarantine_location(&batch));
    report.quarantined = moved;
    Ok(())
}

#[cfg(test)]
mod tests {
    use godepot_store::Store;

    use super::*;
    use crate::NoProgress;
    use crate::testutil::{key, put_version, store};

    fn problems(report: &VerifyReport) -> Vec<(FindingKind, &str)> {
        report
            .findings
            .iter()
            .map(|f| (f.problem, f.path.as_str()))
            .collect()
    }

    #[test]
    fn lists_out_of_step_and_incomplete_versions_are_found_and_lists_repaired() {
        let (_d, store) = store();
        let m = "example.com/a";
        put_version(&store, m, "v1.0.0");
        put_version(&store, m, "v1.1.0");
        // Graph-only: fine, and never listed.
        store
            .put(&key(m, "v0.9.0", Kind::Mod), b"module example.com/a\n")
            .unwrap();
        let list = store.root().join("example.com/a/@v/list");
        assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.0.0\nv1.1.0\n");
        let clean = verify(&store, &VerifyOptions::default(), &NoProgress).unwrap();
        assert!(clean.is_clean(), "{:#?}", clean.findings);

        // A crash left v1.1.0 unlisted, an older godepot listed the graph-only v0.9.0, and
        // v1.0.0 lost its .info.
        std::fs::write(&list, "v1.0.0\nv0.9.0\n").unwrap();
        std::fs::remove_file(store.root().join("example.com/a/@v/v1.0.0.info")).unwrap();
        let report = verify(&store, &VerifyOptions::default(), &NoProgress).unwrap();
        assert_eq!(
            problems(&report),
            [
                (FindingKind::Unlisted, "example.com/a/@v/list"),
                (FindingKind::Unlisted, "example.com/a/@v/list"),
                (FindingKind::Incomplete, "example.com/a/@v/v1.0.0.zip"),
            ],
            "{:#?}",
            report.findings
        );
        let details: Vec<&str> = report.findings.iter().map(|f| f.detail.as_str()).collect();
        assert!(details.iter().any(|d| d.contains("does not list v1.1.0")));
        assert!(
            details.contains(&"lists v1.0.0, v0.9.0, not held as .info, .mod and .zip"),
            "{details:?}"
        );
        assert!(details[2].contains("without its .info"), "{}", details[2]);

        let options = VerifyOptions {
            repair: true,
            ..VerifyOptions::default()
        };
        let repaired = verify(&store, &options, &NoProgress).unwrap();
        assert!(repaired.quarantined.is_empty(), "{repaired:#?}");
        assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.1.0\n");
        let after = verify(&store, &VerifyOptions::default(), &NoProgress).unwrap();
        assert_eq!(
            problems(&after),
            [(FindingKind::Incomplete, "example.com/a/@v/v1.0.0.zip")]
        );
    }

    /// Each way a version can be held short of what the go command reads, beside the two
    /// partial ways that are fine (a `.mod` alone, a `.info` with its `.mod`).
    #[test]
    fn versions_missing_their_mod_or_info_are_incomplete() {
        let (_d, store) = store();
        let m = "example.com/a";
        let cases: [(&str, &[Kind], Option<&str>); 6] = [
            (
                "v1.0.0",
                &[Kind::Info],
                Some("held as .info without its .mod"),
            ),
            (
                "v1.1.0",
                &[Kind::Info, Kind::Zip],
                Some("held as .zip and .info without its .mod"),
            ),
            (
                "v1.2.0",
                &[Kind::Mod, Kind::Zip],
                Some("held as .zip without its .info"),
            ),
            (
                "v1.3.0",
                &[Kind::Zip],
                Some("held as .zip without its .mod and .info"),
            ),
            ("v1.4.0", &[Kind::Mod], None),
            ("v1.5.0", &[Kind::Info, Kind::Mod], None),
        ];
        for (version, kinds, _) in &cases {
            put_version(&store, m, version);
            // A .ziphash goes with its zip (alone, it would be an orphan).
            let gone = [Kind::Info, Kind::Mod, Kind::Zip]
                .into_iter()
                .filter(|kind| !kinds.contains(kind))
                .chain((!kinds.contains(&Kind::Zip)).then_some(Kind::ZipHash));
            for kind in gone {
                let path = store.root().join(key(m, version, kind).rel_path());
                std::fs::remove_file(path).unwrap();
            }
        }
        store
            .reconcile_list(&ModulePath::parse(m).unwrap())
            .unwrap();
        let report = verify(&store, &VerifyOptions::default(), &NoProgress).unwrap();
        let incomplete: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| {
                assert_eq!(f.problem, FindingKind::Incomplete, "{f:?}");
                (f.path.as_str(), f.detail.as_str())
            })
            .collect();
        let want: Vec<(String, &str)> = cases
            .iter()
            .filter_map(|(version, kinds, detail)| {
                let kind = if kinds.contains(&Kind::Zip) {
                    Kind::Zip
                } else {
                    Kind::Info
                };
                Some((key(m, version, kind).rel_path(), (*detail)?))
            })
            .collect();
        assert_eq!(incomplete.len(), want.len(), "{incomplete:#?}");
        for ((path, detail), (want_path, want_detail)) in incomplete.iter().zip(&want) {
            assert_eq!(path, want_path);
            assert!(detail.contains(want_detail), "{detail}");
        }
    }
}
