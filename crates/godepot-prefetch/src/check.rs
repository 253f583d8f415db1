//! Is a store ready to build some projects with no network? [`check()`] resolves exactly what
//! [`crate::prefetch`] would gather (the same resolution, toolchains included), from the
//! store alone, and reports every file of it the store lacks; then every line of the
//! projects' go.sum files whose hash is not the one of the file the store holds (the go
//! command would refuse that file). Nothing is fetched, nothing is written.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use godepot_module::{ModulePath, Version, hash_go_mod, inspect_zip, parse_go_sum};
use godepot_resolve::{Input, ModSource, ModVersion, Problem, SourceError, StoreSource};
use godepot_store::{ArtifactKey, Kind, Store};

use crate::{Artifact, PrefetchOptions, needed, toolchain, versions};

/// What [`check()`] found.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// Module versions the inputs need, and the files that makes.
    pub versions: usize,
    pub files: usize,
    /// Files needed and not held. Sorted.
    pub missing: Vec<Artifact>,
    /// go.sum lines whose hash is not the held file's.
    pub mismatches: Vec<Mismatch>,
    /// What could not be resolved or read, other than a missing file (a go.mod that does not
    /// parse, an unreadable input or store file). Sorted.
    pub problems: Vec<Problem>,
    /// As [`crate::Report::warnings`]: what no build needs. Not a reason to be unready.
    pub warnings: Vec<Problem>,
    /// The go.sum files compared.
    pub go_sums: Vec<PathBuf>,
}

impl Readiness {
    /// Whether the go command can do, with this store alone, all a prefetch would prepare.
    pub fn is_ready(&self) -> bool {
        self.missing.is_empty() && self.mismatches.is_empty() && self.problems.is_empty()
    }
}

/// A go.sum line the store's file contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub go_sum: PathBuf,
    /// The zip (a `<version>` line) or the `.mod` (a `<version>/go.mod` line).
    pub artifact: Artifact,
    /// What the go.sum says, and what the held file hashes to.
    pub go_sum_hash: String,
    pub store_hash: String,
}

/// Resolves `inputs` from `store` alone and reports what it lacks for them.
pub async fn check(
    store: Arc<dyn Store>,
    inputs: &[Input],
    options: &PrefetchOptions,
) -> Readiness {
    let source = Unheld::new(StoreSource::new(store.clone()));
    let resolution = toolchain::resolve_all(inputs, &source, options).await;
    let unheld = source.take();
    let mut missing = BTreeSet::new();
    let mut problems = Vec::new();
    // A go.mod the store does not hold is a missing file, not a resolution problem. The
    // resolution leaves such a version out of its needs: it could not read the go.mod.
    for problem in resolution.problems {
        match unheld.get(&problem.subject) {
            Some((module, version)) => {
                missing.insert(Artifact::new(module, version, Kind::Mod));
            }
            None => problems.push(problem),
        }
    }
    let needed: Vec<Artifact> = needed(&resolution.needs).collect();
    let files = missing.len() + needed.len();
    // On the blocking pool: each check may be a bucket round trip.
    let held = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            needed
                .into_iter()
                .map(|artifact| {
                    let held = store.contains(&artifact.key());
                    (artifact, held)
                })
                .collect::<Vec<_>>()
        })
        .await
    };
    match held {
        Ok(held) => {
            for (artifact, held) in held {
                match held {
                    Ok(true) => {}
                    Ok(false) => {
                        missing.insert(artifact);
                    }
                    Err(e) => problems.push(Problem::new(artifact.to_string(), e.to_string())),
                }
            }
        }
        Err(e) => problems.push(Problem::new("held files", e.to_string())),
    }
    let go_sums: Vec<PathBuf> = resolution.go_sums.into_iter().collect();
    let compared = {
        let (store, go_sums) = (store.clone(), go_sums.clone());
        tokio::task::spawn_blocking(move || compare_go_sums(&*store, &go_sums)).await
    };
    let mismatches = match compared {
        Ok((mismatches, more)) => {
            problems.extend(more);
            mismatches
        }
        Err(e) => {
            problems.push(Problem::new("go.sum files", e.to_string()));
            Vec::new()
        }
    };
    problems.sort();
    problems.dedup();
    Readiness {
        versions: versions(&resolution.needs),
        files,
        missing: missing.into_iter().collect(),
        mismatches,
        problems,
        warnings: resolution.warnings,
        go_sums,
    }
}

/// Every line of these go.sum files naming a file the store holds, against that file's
/// `h1:`; each held file is hashed once, however many lines name it.
fn compare_go_sums(store: &dyn Store, go_sums: &[PathBuf]) -> (Vec<Mismatch>, Vec<Problem>) {
    let mut hashes: HashMap<ArtifactKey, Option<String>> = HashMap::new();
    let mut mismatches = Vec::new();
    let mut problems = Vec::new();
    for go_sum in go_sums {
        let label = go_sum.display().to_string();
        let lines = std::fs::read(go_sum)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|data| parse_go_sum(&data).map_err(|e| e.to_string()));
        let lines = match lines {
            Ok(lines) => lines,
            Err(message) => {
                problems.push(Problem::new(&label, message));
                continue;
            }
        };
        for line in lines {
            // A line naming no valid version is go.sum's own problem, which resolution
            // reports for go.sum inputs and the go command ignores.
            let Ok(module) = ModulePath::parse(&line.path) else {
                continue;
            };
            let Ok(version) = Version::for_module(&module, &line.version) else {
                continue;
            };
            let kind = if line.go_mod { Kind::Mod } else { Kind::Zip };
            let key = ArtifactKey::new(module, version, kind);
            let held = match hashes.get(&key) {
                Some(held) => held.clone(),
                None => {
                    let held = held_hash(store, &key).unwrap_or_else(|message| {
                        problems.push(Problem::new(key.rel_path(), message));
                        None
                    });
                    hashes.insert(key.clone(), held.clone());
                    held
                }
            };
            if let Some(held) = held.filter(|h| *h != line.hash) {
                mismatches.push(Mismatch {
                    go_sum: go_sum.clone(),
                    artifact: Artifact::new(&key.module, &key.version, kind),
                    go_sum_hash: line.hash,
                    store_hash: held,
                });
            }
        }
    }
    (mismatches, problems)
}

/// The `h1:` of a held zip or go.mod, as go.sum records it; `None` when not held.
fn held_hash(store: &dyn Store, key: &ArtifactKey) -> Result<Option<String>, String> {
    if key.kind == Kind::Mod {
        return Ok(store
            .read(key)
            .map_err(|e| e.to_string())?
            .map(|data| hash_go_mod(&data)));
    }
    let Some(artifact) = store.open(key).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let file = artifact
        .into_file(store.scratch_dir())
        .map_err(|e| format!("cannot read the held zip: {e}"))?;
    inspect_zip(file, &key.module, &key.version)
        .map(|summary| Some(summary.h1))
        .map_err(|e| format!("the held zip is invalid: {e}"))
}

/// A store source that remembers each go.mod it does not hold, by the `module@version`
/// resolution names its problem after.
struct Unheld {
    inner: StoreSource,
    seen: Mutex<HashMap<String, ModVersion>>,
}

impl Unheld {
    fn new(inner: StoreSource) -> Self {
        Unheld {
            inner,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self) -> HashMap<String, ModVersion> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl ModSource for Unheld {
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError> {
        let answer = self.inner.go_mod(module, version).await;
        if let Err(SourceError::NotFound(_)) = &answer {
            self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(
                format!("{module}@{version}"),
                (module.clone(), version.clone()),
            );
        }
        answer
    }

    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError> {
        self.inner.versions(module).await
    }
}

#[cfg(test)]
mod tests;
