//! The data directory of every command (from [`StoreSettings`]): reading commands need it to
//! exist; writing commands create it, and take it away again ([`Created`]) when they fail
//! having stored nothing.

use std::path::{Path, PathBuf};

use godepot_store::StoreError;
use godepot_store::local::META_DIR;

use crate::failure::Failure;

/// A data directory that must already exist (reading commands never create one), of a
/// format this godepot reads.
pub(crate) fn existing_dir(dir: &Path) -> Result<PathBuf, Failure> {
    let dir = dir.to_path_buf();
    if !dir.is_dir() {
        return Err(missing(&dir));
    }
    check_format(&dir)?;
    Ok(dir)
}

/// The store in an existing data directory, for the commands that read it through the
/// `Store` trait (`check`, `audit`).
pub(crate) fn open_store(root: &Path) -> Result<std::sync::Arc<dyn godepot_store::Store>, Failure> {
    match godepot_store::LocalStore::open(root) {
        Ok(store) => Ok(std::sync::Arc::new(store)),
        Err(e) => Err(Failure::io(format!(
            "cannot open data directory {}: {e}",
            root.display()
        ))),
    }
}

/// Refuses a data directory written by a newer godepot (one small file read; nothing written).
pub(crate) fn check_format(dir: &Path) -> Result<(), Failure> {
    godepot_store::format::check(dir)
        .map(drop)
        .map_err(|e| store_failure(dir, &e))
}

/// The failure for a store that cannot be opened, with the hint that fits the cause.
pub(crate) fn store_failure(dir: &Path, e: &StoreError) -> Failure {
    let failure = Failure::runtime(format!("cannot open data directory {}: {e}", dir.display()));
    match e {
        StoreError::NewerFormat { .. } => failure.hint(
            "run the godepot release that wrote it, or a newer one; godepot never rewrites a newer data directory (docs/upgrading.md)",
        ),
        StoreError::BadFormat { .. } => failure.hint(
            "restore .godepot/format from a backup, or write the number of the format the directory holds (docs/upgrading.md)",
        ),
        _ => failure.hint("pass --data-dir with a writable directory"),
    }
}

/// The failure for a data directory that is not there.
pub(crate) fn missing(dir: &Path) -> Failure {
    Failure::config(format!("data directory {} does not exist", dir.display()))
        .hint("pass --data-dir with the store to work on")
}

/// Whether a store holds nothing at all: no entry beside godepot's own `.godepot/`. One
/// directory read, however large the store.
pub(crate) fn holds_nothing(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => !entries.any(|e| e.is_ok_and(|e| e.file_name() != META_DIR)),
        Err(_) => true,
    }
}

/// Taking away, if the command fails, the data directory it is about to create: a failed
/// command with a typo'd `--data-dir` leaves no trace.
pub(crate) struct Created {
    dir: PathBuf,
    /// The outermost directory that does not exist yet, until the command succeeds.
    outermost: Option<PathBuf>,
}

impl Created {
    /// Call before anything creates `dir`.
    pub(crate) fn guard(dir: &Path) -> Self {
        let outermost = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .last()
            .map(Path::to_path_buf);
        Created {
            dir: dir.to_path_buf(),
            outermost,
        }
    }

    /// The command succeeded: whatever was created stays.
    pub(crate) fn keep(mut self) {
        self.outermost = None;
    }
}

impl Drop for Created {
    /// The command failed: what was created for it goes again, unless something was stored.
    fn drop(&mut self) {
        if let Some(outermost) = self.outermost.take()
            && holds_nothing(&self.dir)
        {
            let _ = std::fs::remove_dir_all(outermost);
        }
    }
}
