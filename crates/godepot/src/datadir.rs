//! The data directory of every command (from [`StoreSettings`]): reading commands need it to
//! exist; writing commands create it, and take it away again when they fail having stored
//! nothing, so that a typo'd `--data-dir` leaves no trace.

use std::path::{Path, PathBuf};

use godepot_store::LocalStore;
use godepot_store::local::META_DIR;

use crate::failure::Failure;
use crate::settings::StoreSettings;

/// A data directory that must already exist (reading commands never create one).
pub(crate) fn existing(store: &StoreSettings) -> Result<PathBuf, Failure> {
    let dir = store.data_dir()?;
    if !dir.is_dir() {
        return Err(missing(&dir));
    }
    Ok(dir)
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

/// A store opened for writing, created if absent.
pub(crate) struct Writable {
    pub(crate) store: LocalStore,
    /// The outermost directory this process created, until the command succeeds.
    created: Option<PathBuf>,
}

impl Writable {
    pub(crate) fn open(dir: &Path) -> Result<Self, Failure> {
        let created = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .last()
            .map(Path::to_path_buf);
        let store = LocalStore::open(dir).map_err(|e| {
            Failure::runtime(format!("cannot open data directory {}: {e}", dir.display()))
                .hint("pass --data-dir with a writable directory")
        })?;
        Ok(Writable { store, created })
    }

    /// The command succeeded: whatever was created stays.
    pub(crate) fn keep(mut self) {
        self.created = None;
    }
}

impl Drop for Writable {
    /// The command failed: a directory created for it, still holding nothing, goes again.
    fn drop(&mut self) {
        if let Some(created) = self.created.take()
            && holds_nothing(self.store.root())
        {
            let _ = std::fs::remove_dir_all(created);
        }
    }
}
