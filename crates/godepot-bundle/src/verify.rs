//! Re-checking what a store holds: every zip re-hashed with the go command's rules and
//! compared with its `.ziphash`, every go.mod and zip compared with go.sum files when given,
//! every `.info` parsed; files that are not artifacts, or a `.ziphash` without its zip, are
//! orphans. With a keyed checksum database, every zip and go.mod must also match the
//! database's records held in the store's cache (proven with the tiles held there): a
//! different hash is a mismatch, a missing or unprovable record leaves it unverified.
//! `repair` moves every file involved in a problem to the quarantine, so that a
//! server fetches it again instead of serving it.

use std::collections::BTreeMap;
use std::fs::File;
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, LocalStore, TreeEntry, TreeFile};
use serde::Serialize;

use crate::check::{Facts, check_expected, check_ziphash, inspect};
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
}

pub fn verify(
    store: &LocalStore,
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Result<VerifyReport, BundleError> {
    let entries = store.walk()?;
    let mut report = VerifyReport::default();
    let mut versions: BTreeMap<(ModulePath, Version), Vec<(&TreeEntry, &ArtifactKey)>> =
        BTreeMap::new();
    for entry in &entries {
        match &entry.file {
            TreeFile::Artifact(key) => versions
                .entry((key.module.clone(), key.version.clone()))
                .or_default()
                .push((entry, key)),
            TreeFile::List(_) => {}
            TreeFile::Other(reason) => report.findings.push(Finding {
                path: entry.rel_path.clone(),
                problem: FindingKind::Orphan,
                detail: format!("not an artifact: {reason}"),
                involves: vec![entry.rel_path.clone()],
            }),
        }
    }
    let total = versions.values().flatten().map(|(e, _)| e.size).sum();
    progress.phase("verifying", total);
    let empty = Default::default();
    let records = options.sumdb.keyed().map(|db| {
        let key = db.key.as_ref().expect("keyed");
        Records::new(store.root(), &db.name, key, &empty)
    });
    let against = Against {
        go_sums: &options.go_sums,
        sumdb: &options.sumdb,
        records: records.as_ref(),
    };
    for files in versions.values() {
        verify_version(store, files, &against, progress, &mut report);
    }
    progress.finish_phase();
    report.findings.sort_by(|a, b| a.path.cmp(&b.path));
    if options.repair && !report.findings.is_empty() {
        repair(store, &mut report)?;
    }
    Ok(report)
}

/// What artifacts are compared with, beyond their own rules.
struct Against<'a> {
    go_sums: &'a GoSums,
    sumdb: &'a SumdbCheck,
    records: Option<&'a Records<'a>>,
}

fn verify_version(
    store: &LocalStore,
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
        let path = store.root().join(&entry.rel_path);
        let facts = File::open(&path)
            .map_err(|e| e.to_string())
            .map(|mut file| inspect(key, &mut file));
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

fn repair(store: &LocalStore, report: &mut VerifyReport) -> Result<(), BundleError> {
    let batch = crate::time::format_compact(SystemTime::now());
    let mut paths: Vec<&String> = report.findings.iter().flat_map(|f| &f.involves).collect();
    paths.sort();
    paths.dedup();
    let mut moved = Vec::new();
    for path in paths {
        store.quarantine(path, &batch)?;
        moved.push(path.clone());
    }
    report.quarantine = Some(
        store
            .root()
            .join(".godepot/quarantine")
            .join(&batch)
            .display()
            .to_string(),
    );
    report.quarantined = moved;
    Ok(())
}
