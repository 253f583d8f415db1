use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use godepot_module::{ModulePath, Version};

use crate::{ArtifactKey, ListDrift, StoreError, TreeEntry};

/// An artifact opened for reading: its length and time (for validators and ranges), and
/// its bytes.
#[derive(Debug)]
pub struct Artifact {
    pub len: u64,
    pub modified: SystemTime,
    pub body: ArtifactBody,
}

/// Where an opened artifact's bytes come from.
///
/// A local file (the local store, or a warm local cache in front of a bucket) stays a
/// [`File`], so that readers keep positioned reads (the server's ranges, a later zero-copy
/// path) and can read it more than once. An object without a local copy is a streaming
/// [`Read`]er, read once from the start; its memory is bounded by the backend.
pub enum ArtifactBody {
    File(File),
    Reader(Box<dyn Read + Send>),
    /// Chunks as an async source delivers them (an object store's GET): an async consumer
    /// takes them without a blocking thread; [`Artifact::into_reader`] reads them blocking.
    Chunks(crate::chunks::Chunks),
}

impl std::fmt::Debug for ArtifactBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactBody::File(file) => f.debug_tuple("File").field(file).finish(),
            ArtifactBody::Reader(_) => f.write_str("Reader(..)"),
            ArtifactBody::Chunks(chunks) => chunks.fmt(f),
        }
    }
}

impl Artifact {
    /// An artifact held in a local file.
    pub fn from_file(file: File, len: u64, modified: SystemTime) -> Self {
        Artifact {
            len,
            modified,
            body: ArtifactBody::File(file),
        }
    }

    /// The bytes, from the start, whatever they come from.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        match self.body {
            ArtifactBody::File(file) => Box::new(file),
            ArtifactBody::Reader(reader) => reader,
            ArtifactBody::Chunks(chunks) => Box::new(chunks),
        }
    }

    /// The local file holding the bytes, when there is one.
    pub fn as_file(&self) -> Option<&File> {
        match &self.body {
            ArtifactBody::File(file) => Some(file),
            ArtifactBody::Reader(_) | ArtifactBody::Chunks(_) => None,
        }
    }

    /// The bytes as a local file, positioned at the start, for readers that must seek (a zip
    /// check): the file itself when there is one, else the stream copied into an unnamed
    /// temporary file in `scratch` (a store's [`Store::scratch_dir`]), gone once closed.
    pub fn into_file(self, scratch: &Path) -> std::io::Result<File> {
        match self.body {
            ArtifactBody::File(file) => Ok(file),
            body => {
                let mut reader = Artifact { body, ..self }.into_reader();
                let (path, mut file) = crate::atomic::temp_file(scratch)?;
                let _ = std::fs::remove_file(&path);
                std::io::copy(&mut reader, &mut file)?;
                std::io::Seek::rewind(&mut file)?;
                Ok(file)
            }
        }
    }

    /// Reads the whole artifact into memory (for small ones: check its `len` first).
    pub fn read_all(self) -> std::io::Result<Vec<u8>> {
        let mut data = Vec::with_capacity(self.len.min(64 << 20) as usize);
        self.into_reader().read_to_end(&mut data)?;
        Ok(data)
    }
}

/// Which version of a metadata file was read ([`Store::get_meta_versioned`]), for a
/// compare-and-swap ([`Store::put_meta_if`]). Opaque: the local store compares the content
/// itself (under its lock), object storage the ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaVersion(pub(crate) MetaTag);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetaTag {
    Content(Bytes),
    ETag(String),
}

/// What a write of an immutable artifact did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Stored,
    /// The store already held this artifact; the held bytes were kept untouched.
    AlreadyHeld,
}

/// A temporary local file, being filled with an artifact that is not yet visible: on the
/// store's own file system for the local store, in a local scratch directory for the
/// object-storage store (which uploads it in [`Store::put_spool`]). Readers may read what has been written so far through their own
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

    /// The file's path, which the caller now removes (a batch publish moves it into place).
    pub(crate) fn into_path(mut self) -> PathBuf {
        self.reopened = true;
        std::mem::take(&mut self.path)
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

/// The storage the service is written against: the local disk ([`crate::LocalStore`]) or an
/// object store (`s3://`); [`crate::open_url`] opens either.
///
/// Immutable artifacts are write-once: a second put of the same key keeps the first bytes,
/// also across processes and machines. An artifact is visible only once complete.
/// Implementations keep the module's `@v/list` up to date as versions arrive: it lists the
/// versions a client can download (held as `.info`, `.mod` and `.zip`).
///
/// Methods are synchronous on purpose (see ARCHITECTURE.md, "Decisions"): the batch tools are
/// thread-parallel synchronous code and the local store is the fast path. A method may block
/// (a disk, a network round trip), so async code calls it on the blocking pool
/// (`spawn_blocking`), never on an async worker thread. The object backend bridges to its own
/// private runtime and is safe to call from any thread.
///
/// Relative paths (`rel_path`) are `/`-separated paths from the tree's root, as
/// [`TreeEntry::rel_path`] gives them; they never name anything under `.godepot/`.
pub trait Store: Send + Sync + 'static {
    // --- serving: short, per-request operations ---

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
    /// Makes a filled spool visible as `key`, atomically, unless already held. Nothing of it
    /// is visible if this fails.
    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError>;
    /// Makes many filled spools visible, each as its key unless already held, and returns
    /// each one's outcome, in order: what [`Store::put_spool`] of each in turn does (the
    /// default), for batch writers (import) on backends that can do it faster together. Each
    /// artifact is whole or invisible, as with `put_spool`; a version's `.info` is published
    /// no sooner than the other files of the batch before it (callers put it last). On an
    /// error, some of the batch may be visible (each whole), and the rest is not.
    fn put_spools(
        &self,
        batch: Vec<(ArtifactKey, ClosedSpool)>,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        batch
            .into_iter()
            .map(|(key, spool)| self.put_spool(&key, spool.reopen()?))
            .collect()
    }
    /// The versions of a module a client can download (what its `@v/list` lists), in
    /// semver order. Versions held only as `.mod` are not among them.
    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError>;
    /// Reads a metadata file under `.godepot/`.
    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError>;
    /// Writes (replaces) a metadata file under `.godepot/`, atomically. The last writer
    /// wins: for state that several processes change, use [`Store::put_meta_if`].
    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError>;
    /// Reads a metadata file with its version, for a later [`Store::put_meta_if`].
    fn get_meta_versioned(&self, name: &str) -> Result<Option<(Bytes, MetaVersion)>, StoreError>;
    /// Replaces a metadata file only if it is still the version read (`expected`), or, with
    /// `None`, only if it does not exist: a compare-and-swap, also across processes and
    /// machines. `Ok(false)` when another writer got there first (read again, retry).
    /// On disk the file is readable by its owner only: this is how shared state such as the
    /// token file is written.
    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&MetaVersion>,
    ) -> Result<bool, StoreError>;
    /// Proves the store can take writes right now (for readiness checks).
    fn check_writable(&self) -> Result<(), StoreError>;
    /// A human-readable location, for logs. Never carries credentials.
    fn describe(&self) -> String;

    // --- batch work over the whole store: never called while serving ---

    /// Every module the store has a `@v/` directory for, sorted by path (`godepot sync`).
    fn modules(&self) -> Result<Vec<ModulePath>, StoreError>;
    /// The names of the metadata files under the directory `prefix` (recursively).
    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Every file the tree holds outside `.godepot/`, sorted by relative path (bytewise):
    /// what export, verify, ls and the index rebuild work from. Entries that are not
    /// artifacts (a list, a stray file) are reported as such, never skipped.
    fn walk(&self) -> Result<Vec<TreeEntry>, StoreError>;
    /// Opens any file of the tree by its relative path (an artifact, a `@v/list`, a stray
    /// file found by [`Store::walk`]), or `None` when it is not there.
    fn open_file(&self, rel_path: &str) -> Result<Option<Artifact>, StoreError>;
    /// Brings the module's `@v/list` in step with its files: every version held as `.info`,
    /// `.mod` and `.zip`, and no other. Returns how it had drifted; rewritten only if it did.
    fn reconcile_list(&self, module: &ModulePath) -> Result<ListDrift, StoreError>;
    /// How the module's `@v/list` differs from its files, changing nothing (`verify`).
    fn list_drift(&self, module: &ModulePath) -> Result<ListDrift, StoreError>;
    /// Moves a file of the tree (an artifact found bad, a stray file) to the quarantine batch
    /// `batch` (`.godepot/quarantine/<batch>/<rel_path>`): no longer served, fetched again
    /// when asked for, its bytes kept for inspection. The module's list is not touched (call
    /// [`Store::reconcile_list`] after a batch). Refuses to replace a quarantined file.
    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), StoreError>;
    /// Where a quarantine batch is kept, for reports (a path, or a URL without credentials).
    fn quarantine_location(&self, batch: &str) -> String;
    /// Deletes a quarantine batch for good, with every file in it (`gc --remove`). A batch
    /// that does not exist is not an error.
    fn purge_quarantine(&self, batch: &str) -> Result<(), StoreError>;

    // --- local resources ---

    /// A local directory for files built before they are kept (a zip made from a git
    /// repository): removed with what is left in it once the process is gone.
    fn scratch_dir(&self) -> &Path;
    /// The root of the tree when it is a local directory (the local store), for derived
    /// data that lives beside it (the module index, the access log); `None` for object
    /// storage, whose derived data lives in a local directory the caller chooses.
    fn local_root(&self) -> Option<&Path>;
    /// Sets the one observer told of every version stored or quarantined from now on by
    /// this process (see [`StoreObserver`]); a second call is refused, returning the
    /// observer given.
    fn observe(&self, observer: Arc<dyn StoreObserver>) -> Result<(), Arc<dyn StoreObserver>>;
}

/// Told of every change to what a store holds, after the files changed: an artifact of
/// `module@version` was stored, or moved to the quarantine. Derived data (the module index)
/// listens here and brings itself in step from the files of `store` (the store that made
/// the change, so the listener holds no handle on it), so it needs no more than the names;
/// a crash between the change and the call is the listener's to detect.
pub trait StoreObserver: Send + Sync + 'static {
    fn version_changed(&self, store: &dyn Store, module: &ModulePath, version: &Version);
}
