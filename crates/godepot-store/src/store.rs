use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;
use godepot_module::{ModulePath, Version};

use crate::{ArtifactKey, StoreError};

/// An artifact opened for reading.
#[derive(Debug)]
pub struct Artifact {
    pub len: u64,
    pub modified: SystemTime,
    pub file: File,
}

/// What a write of an immutable artifact did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Stored,
    /// The store already held this artifact; the held bytes were kept untouched.
    AlreadyHeld,
}

/// A temporary file on the store's own filesystem, being filled with an artifact that is
/// not yet visible. Readers may read what has been written so far through their own
/// handles (`try_clone` + positioned reads); [`Store::put_spool`] makes it visible
/// atomically. Dropping a spool that was never put removes it.
#[derive(Debug)]
pub struct Spool {
    pub(crate) path: PathBuf,
    pub file: File,
    pub(crate) committed: bool,
}

impl Spool {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the file handle but keeps the file, for callers that stage many artifacts
    /// before publishing any (a bundle import) and must not hold a descriptor for each.
    pub fn close(mut self) -> ClosedSpool {
        // Marked committed so that our Drop leaves the file to the ClosedSpool.
        self.committed = true;
        ClosedSpool {
            path: std::mem::take(&mut self.path),
            reopened: false,
        }
    }
}

/// A filled spool whose handle was closed; [`ClosedSpool::reopen`] turns it back into a
/// [`Spool`] to put. Dropping it removes the file.
#[derive(Debug)]
pub struct ClosedSpool {
    path: PathBuf,
    reopened: bool,
}

impl ClosedSpool {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn reopen(mut self) -> Result<Spool, StoreError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(StoreError::io(&self.path))?;
        self.reopened = true;
        Ok(Spool {
            path: std::mem::take(&mut self.path),
            file,
            committed: false,
        })
    }
}

impl Drop for ClosedSpool {
    fn drop(&mut self) {
        if !self.reopened {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The storage the service is written against. Local disk today; object storage later.
///
/// Immutable artifacts are write-once: a second put of the same key keeps the first bytes.
/// Implementations keep the module's `@v/list` up to date as versions arrive: it lists the
/// versions a client can download (held as `.info`, `.mod` and `.zip`).
///
/// Methods are synchronous on purpose: they are short file-system operations, and the
/// callers run them on the blocking pool (`spawn_blocking`) where that matters.
pub trait Store: Send + Sync + 'static {
    /// Opens an artifact, or `None` when it is not held.
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError>;
    /// Reads a small artifact whole.
    fn read(&self, key: &ArtifactKey) -> Result<Option<Bytes>, StoreError>;
    /// Whether an artifact is held.
    fn contains(&self, key: &ArtifactKey) -> Result<bool, StoreError>;
    /// Stores an artifact atomically, unless it is already held.
    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError>;
    /// A new spool for an artifact too large to hold in memory.
    fn spool(&self) -> Result<Spool, StoreError>;
    /// Makes a filled spool visible as `key`, atomically, unless already held.
    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError>;
    /// The versions of a module a client can download (what its `@v/list` lists), in
    /// semver order. Versions held only as `.mod` are not among them.
    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError>;
    /// Every module the store has a `@v/` directory for, sorted by path: for batch work
    /// over the whole store (`godepot sync`). It walks the tree; never called while serving.
    fn modules(&self) -> Result<Vec<ModulePath>, StoreError>;
    /// Reads a metadata file under `.godepot/`.
    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError>;
    /// Writes (replaces) a metadata file under `.godepot/`, atomically.
    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError>;
    /// The names of the metadata files under the directory `prefix` (recursively), for
    /// maintenance work that must see them all; never called while serving.
    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Proves the store can take writes right now (for readiness checks).
    fn check_writable(&self) -> Result<(), StoreError>;
    /// A human-readable location, for logs.
    fn describe(&self) -> String;
}

/// Told of every change to what a store holds, after the files changed: an artifact of
/// `module@version` was stored, or moved to the quarantine. Derived data (the module index)
/// listens here and brings itself in step from the files, so it needs no more than the
/// names; a crash between the change and the call is the listener's to detect.
pub trait StoreObserver: Send + Sync + 'static {
    fn version_changed(&self, module: &ModulePath, version: &Version);
}
