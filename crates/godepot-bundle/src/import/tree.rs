//! Importing a `GOPROXY=file://` tree or a module cache's `cache/download`: artifact by
//! artifact. Each is checked on its own (and against the `.ziphash` next to it, and go.sum
//! files); a bad one is refused and reported, the good ones go in. A module cache
//! legitimately holds a `.mod` without its zip, lock files and partial downloads; those are
//! not errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, Store, TreeEntry, TreeFile, walk_tree};

use super::bundle::held_zip_h1;
use super::publish::{StageError, Staged, publish_all, publish_rank, repair_lists, stage};
use super::{ImportOptions, ImportSummary, Problem};
use crate::check::{Facts, check_expected, check_ziphash, max_size};
use crate::sumdb::records::Records;
use crate::{BundleError, Progress, parallel};

pub(super) fn import_tree(
    store: &dyn Store,
    root: &Path,
    source_kind: &str,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary, BundleError> {
    let entries = walk_tree(root)?;
    let mut summary = ImportSummary {
        source: root.display().to_string(),
        source_kind: source_kind.into(),
        ..ImportSummary::default()
    };
    let mut versions: BTreeMap<(ModulePath, Version), Vec<(&TreeEntry, &ArtifactKey)>> =
        BTreeMap::new();
    for entry in &entries {
        match &entry.file {
            TreeFile::Artifact(key) => versions
                .entry((key.module.clone(), key.version.clone()))
                .or_default()
                .push((entry, key)),
            _ => summary.skipped += 1,
        }
    }
    if versions.is_empty() {
        return Err(BundleError::NothingToImport(root.to_path_buf()));
    }
    let total = versions.values().flatten().map(|(e, _)| e.size).sum();
    progress.phase("importing", total);
    let modules: BTreeSet<ModulePath> = versions.keys().map(|(m, _)| m.clone()).collect();
    let mut wanted = Vec::new();
    for mut files in versions.into_values() {
        if let Some(problem) = files.first().and_then(|(_, key)| options.blocked(key)) {
            progress.advance(files.iter().map(|(e, _)| e.size).sum());
            match options.skip_blocked {
                true => summary.blocked.push(problem),
                false => summary.refused.push(problem),
            }
            continue;
        }
        files.sort_by_key(|(_, k)| publish_rank(k.kind));
        wanted.push(files);
    }
    // Versions are checked on every core, then published together, a chunk at a time (so
    // that the spools waiting to be published stay few).
    for chunk in wanted.chunks(VERSIONS_PER_CHUNK) {
        let checked = parallel::map(chunk, |files| {
            let mut refused = Vec::new();
            import_version(store, root, files, options, progress, &mut refused)
                .map(|staged| (staged, refused))
        });
        let mut staged = Vec::new();
        for one in checked {
            let (good, refused) = one?;
            staged.extend(good);
            summary.refused.extend(refused);
        }
        publish_all(store, staged, &mut summary)?;
    }
    progress.finish_phase();
    repair_lists(store, modules.iter(), &mut summary)?;
    Ok(summary)
}

/// Versions checked before a publish.
const VERSIONS_PER_CHUNK: usize = 2048;

/// One version's files, in publish order (zip before its `.ziphash`): those that pass their
/// checks, staged; those that do not, in `refused`.
fn import_version(
    store: &dyn Store,
    root: &Path,
    files: &[(&TreeEntry, &ArtifactKey)],
    options: &ImportOptions,
    progress: &dyn Progress,
    refused: &mut Vec<Problem>,
) -> Result<Vec<Staged>, BundleError> {
    let mut good = Vec::new();
    // None: no zip in the source; Some(None): a zip that was refused.
    let mut zip_h1: Option<Option<String>> = None;
    for (entry, key) in files {
        progress.file(&entry.rel_path);
        let mut refuse = |reason: String| {
            refused.push(Problem {
                path: entry.rel_path.clone(),
                reason,
            })
        };
        if entry.size > max_size(key.kind) {
            refuse(format!(
                "{} bytes, more than the {} a .{} may have",
                entry.size,
                max_size(key.kind),
                key.kind.extension()
            ));
            continue;
        }
        let path = root.join(&entry.rel_path);
        let file = File::open(&path).map_err(BundleError::io(&path))?;
        // One byte past the limit, so that a file grown since the walk is still refused.
        let mut file = file.take(max_size(key.kind) + 1);
        let staged = match stage(store, key, &entry.rel_path, &mut file, progress) {
            Ok(Ok(staged)) => staged,
            Ok(Err(reason)) => {
                if key.kind == Kind::Zip {
                    zip_h1 = Some(None);
                }
                refuse(reason);
                continue;
            }
            Err(StageError::Read(e)) => {
                refuse(format!("cannot read it: {e}"));
                continue;
            }
            Err(StageError::Store(e)) => return Err(e),
        };
        let id = &staged.id;
        let mut verdict =
            check_expected(key, id.size, &id.sha256, &id.facts, None, &options.go_sums);
        if let (Ok(()), Some(h1)) = (&verdict, id.facts.h1()) {
            verdict = check_records(store, key, h1, options);
        }
        match &id.facts {
            Facts::Zip { h1 } => {
                zip_h1 = Some(verdict.is_ok().then(|| h1.clone()));
            }
            Facts::ZipHash { stated } => {
                verdict = match &zip_h1 {
                    Some(Some(h1)) => check_ziphash(stated, h1),
                    Some(None) => Err("its zip was refused".into()),
                    None => match held_zip_h1(store, key) {
                        Some(h1) => check_ziphash(stated, &h1),
                        None => Err("a .ziphash without its zip".into()),
                    },
                };
            }
            _ => {}
        }
        match verdict {
            Ok(()) => good.push(staged),
            Err(reason) => refuse(reason),
        }
    }
    Ok(good)
}

/// With a keyed database: the artifact must match the records the store holds (a tree
/// brings none of its own), as a bundle's artifacts must match the bundle's.
fn check_records(
    store: &dyn Store,
    key: &ArtifactKey,
    h1: &str,
    options: &ImportOptions,
) -> Result<(), String> {
    let Some(db) = options.sumdb.keyed() else {
        return Ok(());
    };
    if !options.sumdb.covers(key.module.as_str()) {
        return Ok(());
    }
    let Some(verifier) = db.key.as_ref() else {
        return Ok(());
    };
    let none = BTreeMap::new();
    Records::new(store, &db.name, verifier, &none)
        .check_artifact(&key.module, &key.version, key.kind == Kind::Mod, h1)
        .map_err(|p| p.reason().to_owned())
}
