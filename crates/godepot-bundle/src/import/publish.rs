//! Staging (copy + check) and publishing (put, or report held / conflict), shared by
//! bundle and tree imports.

use std::io::Read;

use godepot_store::{ArtifactKey, ClosedSpool, Kind, PutOutcome, Spool, Store};

use super::{ImportSummary, Problem};
use crate::check::{Facts, inspect};
use crate::hashing::{CopyError, copy_hashing, hash_reader};
use crate::{BundleError, Progress};

/// An artifact copied into the store's scratch space and checked, not yet visible.
#[derive(Debug)]
pub(super) struct Staged {
    pub(super) id: Identity,
    pub(super) spool: ClosedSpool,
}

/// What a staged artifact is and what its content measured.
#[derive(Debug)]
pub(super) struct Identity {
    pub(super) key: ArtifactKey,
    pub(super) rel_path: String,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) facts: Facts,
}

/// Copies `reader` into a new spool, hashing it, then inspects the copy. `Ok(Err(reason))`
/// when the artifact fails its own checks; `Err` when the source cannot be read or the
/// store cannot be written. Callers bound `reader` ([`crate::check::max_size`]).
pub(super) fn stage(
    store: &dyn Store,
    key: &ArtifactKey,
    rel_path: &str,
    reader: &mut impl Read,
    progress: &dyn Progress,
) -> Result<Result<Staged, String>, StageError> {
    let copied = copy_to_spool(store, reader, progress)?;
    Ok(copied.inspect(key.clone(), rel_path.to_owned()))
}

/// An artifact's bytes in a spool, measured, not yet inspected.
#[derive(Debug)]
pub(super) struct Copied {
    spool: Spool,
    size: u64,
    sha256: String,
}

/// The first half of [`stage`]: the copy, which reads the source (a bundle's stream is read
/// by one thread); the inspection can then run on another.
pub(super) fn copy_to_spool(
    store: &dyn Store,
    reader: &mut impl Read,
    progress: &dyn Progress,
) -> Result<Copied, StageError> {
    let mut spool = store.spool()?;
    let (size, sha256) =
        copy_hashing(reader, &mut spool.file, |n| progress.advance(n)).map_err(|e| match e {
            CopyError::Read(e) => StageError::Read(e),
            CopyError::Write(source) => StageError::Store(BundleError::Write {
                path: spool.path().to_path_buf(),
                source,
            }),
        })?;
    Ok(Copied {
        spool,
        size,
        sha256,
    })
}

impl Copied {
    /// The second half of [`stage`]: the artifact's own checks. `Err(reason)` when it fails
    /// them.
    pub(super) fn inspect(mut self, key: ArtifactKey, rel_path: String) -> Result<Staged, String> {
        let facts = inspect(&key, &mut self.spool.file)?;
        Ok(Staged {
            id: Identity {
                key,
                rel_path,
                size: self.size,
                sha256: self.sha256,
                facts,
            },
            spool: self.spool.close(),
        })
    }
}

/// Why staging failed as a whole: the source could not be read, or the store failed.
#[derive(Debug)]
pub(super) enum StageError {
    Read(std::io::Error),
    Store(BundleError),
}

impl From<godepot_store::StoreError> for StageError {
    fn from(e: godepot_store::StoreError) -> Self {
        StageError::Store(e.into())
    }
}

/// The order to publish one version's files in: `.info` last, because a version with an
/// `.info` is one clients may be told about; `.ziphash` after its zip.
pub(super) fn publish_rank(kind: Kind) -> u8 {
    match kind {
        Kind::Mod => 0,
        Kind::Zip => 1,
        Kind::ZipHash => 2,
        Kind::Info => 3,
    }
}

/// Whether the store already holds this artifact: `Some(true)` with the same content,
/// `Some(false)` with different content, `None` if not held.
pub(super) fn held_same(store: &dyn Store, staged: &Identity) -> Result<Option<bool>, BundleError> {
    let Some(held) = store.open(&staged.key)? else {
        return Ok(None);
    };
    // For errors: the file's path in a data directory, its URL in a bucket.
    let path = std::path::PathBuf::from(format!("{}/{}", store.describe(), staged.rel_path));
    let mut held = held
        .into_file(store.scratch_dir())
        .map_err(BundleError::io(&path))?;
    let (size, sha256) = hash_reader(&mut held, |_| {}).map_err(BundleError::io(&path))?;
    if size == staged.size && sha256 == staged.sha256 {
        return Ok(Some(true));
    }
    // Two `.info` files for one version are the same answer if they name the same version
    // and time: the go command rewrites the JSON it caches, so bytes differ harmlessly.
    if let Facts::Info { time } = &staged.facts
        && let Ok(Facts::Info { time: held_time }) = inspect(&staged.key, &mut held)
    {
        return Ok(Some(held_time == *time));
    }
    Ok(Some(false))
}

/// How many artifacts one `put_spools` publishes: enough that the file system commits the
/// flushes of many at once, few enough that a failure leaves little published and lists are
/// rewritten once for many versions.
const PUBLISH_BATCH: usize = 4096;

/// Makes staged artifacts visible, those not held, in the order given (callers sort them by
/// [`publish_rank`] within each version); records each outcome.
pub(super) fn publish_all(
    store: &dyn Store,
    staged: Vec<Staged>,
    summary: &mut ImportSummary,
) -> Result<(), BundleError> {
    let mut staged = staged.into_iter().peekable();
    while staged.peek().is_some() {
        let mut ids = Vec::new();
        let mut batch = Vec::new();
        for Staged { id, spool } in staged.by_ref().take(PUBLISH_BATCH) {
            match held_same(store, &id)? {
                Some(true) => summary.already_held += 1,
                Some(false) => summary.conflicts.push(conflict(&id)),
                None => {
                    batch.push((id.key.clone(), spool));
                    ids.push(id);
                }
            }
        }
        let outcomes = store.put_spools(batch)?;
        for (id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                PutOutcome::Stored => {
                    summary.stored += 1;
                    summary.stored_bytes += id.size;
                }
                // Another writer (a running server) stored it between our check and our put.
                PutOutcome::AlreadyHeld => match held_same(store, id)? {
                    Some(false) => summary.conflicts.push(conflict(id)),
                    _ => summary.already_held += 1,
                },
            }
        }
    }
    Ok(())
}

fn conflict(staged: &Identity) -> Problem {
    Problem {
        path: staged.rel_path.clone(),
        reason: format!(
            "differs from the {} already held for {}@{} (kept the held one)",
            staged.key.kind.extension(),
            staged.key.module,
            staged.key.version
        ),
    }
}

/// Brings the `@v/list` of each module in step with its files: a version an earlier,
/// crashed import or fetch left unlisted is "already held" now, so publishing it again
/// would not fix its list.
pub(super) fn repair_lists<'a>(
    store: &dyn Store,
    modules: impl Iterator<Item = &'a godepot_module::ModulePath>,
    summary: &mut ImportSummary,
) -> Result<(), BundleError> {
    for module in modules {
        let drift = store.reconcile_list(module)?;
        summary.relisted += drift.unlisted.len();
    }
    Ok(())
}
