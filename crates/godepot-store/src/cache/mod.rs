//! A bounded local disk cache of immutable artifacts (`.info`, `.mod`, `.zip`) in front of
//! any store (`--cache-dir`, `--cache-size`): [`CachedStore`] implements [`Store`] over an
//! inner one, so a warm hit is a local [`File`] and costs the inner store (a bucket) nothing.
//!
//! - **Only immutable artifacts.** `@v/list`, metadata, the walk and every write go to the
//!   inner store; a `.ziphash` too (it is small and rarely read).
//! - **Filled on read and written through.** A read the inner store answers is copied in;
//!   so is an artifact this process stores (`put`, `put_spool`: the replica that fetched a
//!   version is the likeliest to serve it next), but only once the inner store kept those
//!   very bytes (`Stored`, not `AlreadyHeld`).
//! - **Atomic fills.** An artifact is copied into `tmp/` (fsynced, its length checked against
//!   the inner store's), then renamed into `v1/<rel path>`: a partly written cache file is
//!   never served. Two fills racing for one key rename the same bytes.
//! - **LRU within the bound.** Sizes and last uses are kept in memory ([`lru`]); after each
//!   fill the least recently used entries go until the total is within the bound. An
//!   artifact larger than the whole bound is served without being cached.
//! - **Start-up does not walk the cache.** Opening takes the directory's lock and empties
//!   `tmp/` (the leftovers of a crash); the entries of an earlier run are adopted by a
//!   background thread (oldest access first) and counted against the bound once it has
//!   seen them. A hit on a file the thread has not reached yet adopts it there and then.
//! - **The cache is derived data.** Deleting the directory (even while serving) loses
//!   nothing: a missing file is a miss, the entry is forgotten, and the next fill makes the
//!   directories again. Nothing in it is ever the only copy.
//! - **Quarantine and delete pass through it** (the cached copy is dropped first), so a
//!   `verify --repair` or `rm` through this process never leaves a bad artifact served
//!   from the cache. Other replicas' caches do not hear of it: see the README's
//!   "Object storage".

mod lru;
#[cfg(test)]
mod tests;

use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use godepot_module::{ModulePath, Version};

use crate::atomic;
use crate::{
    Artifact, ArtifactBody, ArtifactKey, Kind, ListDrift, MetaVersion, PutOutcome, Spool, Store,
    StoreError, StoreObserver, TreeEntry, TreeFile, classify,
};
use lru::{LIVE_TICKS, Lru};

/// Where the entries live under the cache directory (versioned, so a later layout can
/// start afresh beside it).
const ENTRIES: &str = "v1";
/// Fills in progress.
const TMP: &str = "tmp";
/// Taken exclusively by the one process using the directory.
const LOCK: &str = "lock";

/// Whether artifacts of this kind are cached.
pub fn cacheable(kind: Kind) -> bool {
    matches!(kind, Kind::Info | Kind::Mod | Kind::Zip)
}

/// The cache's files and bookkeeping, without the store around it.
#[derive(Debug)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Shared with the thread adopting an earlier run's entries (which does not keep the
    /// directory's lock).
    lru: Arc<Mutex<Lru>>,
    /// Held for the life of the cache: two processes filling one directory would count
    /// each other's files wrong.
    _lock: File,
}

/// A copy being made, not yet an entry ([`DiskCache::stage`]); dropped, it is removed.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    file: Option<File>,
    len: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A cache entry opened for reading.
#[derive(Debug)]
pub struct Hit {
    pub file: File,
    pub len: u64,
    pub modified: SystemTime,
}

impl DiskCache {
    /// Opens (creating) the cache in `dir`, bounded to `max_bytes`. O(leftover fills): the
    /// entries of an earlier run are adopted in the background (see the module doc).
    pub fn open(dir: impl Into<PathBuf>, max_bytes: u64) -> Result<Arc<DiskCache>, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io(&lock_path))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Io {
                path: dir.clone(),
                source: io::Error::other(
                    "the cache directory is in use by another godepot process; give each process its own --cache-dir",
                ),
            });
        }
        let tmp = dir.join(TMP);
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
        let lru = Arc::new(Mutex::new(Lru::new()));
        let (root, adopting) = (dir.join(ENTRIES), Arc::clone(&lru));
        std::thread::Builder::new()
            .name("godepot-cache-adopt".into())
            .spawn(move || adopt_earlier_entries(&root, &adopting, max_bytes))
            .map_err(StoreError::io(&dir))?;
        Ok(Arc::new(DiskCache {
            dir,
            max_bytes,
            lru,
            _lock: lock,
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Bytes held by the entries known (those of an earlier run count once adopted).
    pub fn held_bytes(&self) -> u64 {
        self.lock().total()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        lock(&self.lru)
    }

    fn path_of(&self, rel: &str) -> PathBuf {
        self.dir.join(ENTRIES).join(rel)
    }

    /// The cached copy of `key`, if there is one (and marks it used).
    pub fn get(&self, key: &ArtifactKey) -> Option<Hit> {
        if !cacheable(key.kind) {
            return None;
        }
        let rel = key.rel_path();
        let path = self.path_of(&rel);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(_) => {
                // Gone (evicted, or the directory was deleted): forget it.
                self.lock().remove(&rel);
                return None;
            }
        };
        let meta = file.metadata().ok()?;
        self.lock().touch(&rel, meta.len());
        Some(Hit {
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            file,
        })
    }

    /// Copies an artifact of `len` bytes from `source` into the cache, keeping `modified`
    /// as its modification time (what the inner store says, so a hit answers the same
    /// `Last-Modified`), and returns the cached copy. `Ok(None)` when it is not cached
    /// (not a cached kind, or larger than the bound). An error leaves nothing behind; the
    /// caller then serves from the inner store.
    pub fn fill(
        &self,
        key: &ArtifactKey,
        len: u64,
        modified: SystemTime,
        source: &mut dyn Read,
    ) -> io::Result<Option<Hit>> {
        match self.stage(key, len, source)? {
            Some(staged) => self.commit(key, staged, modified).map(Some),
            None => Ok(None),
        }
    }

    /// The first half of a fill: copies the bytes into a file under `tmp/`, not yet an
    /// entry (for a write-through, published only once the inner store has kept them).
    /// `Ok(None)` when the artifact is not cached. Dropping the result removes the file.
    pub fn stage(
        &self,
        key: &ArtifactKey,
        len: u64,
        source: &mut dyn Read,
    ) -> io::Result<Option<Staged>> {
        if !cacheable(key.kind) || len > self.max_bytes {
            return Ok(None);
        }
        let tmp_dir = self.dir.join(TMP);
        // Made again each time: the directory may have been deleted under us.
        fs::create_dir_all(&tmp_dir)?;
        let (path, mut file) = atomic::temp_file(&tmp_dir)?;
        // Removed again on any failure below, by the guard's Drop.
        let mut staged = Staged {
            path,
            file: None,
            len,
        };
        copy_exactly(source, &mut file, len)?;
        staged.file = Some(file);
        Ok(Some(staged))
    }

    /// The second half of a fill: makes a staged copy the entry for `key`, with `modified`
    /// as its time, and evicts down to the bound.
    pub fn commit(
        &self,
        key: &ArtifactKey,
        mut staged: Staged,
        modified: SystemTime,
    ) -> io::Result<Hit> {
        let rel = key.rel_path();
        let mut file = staged
            .file
            .take()
            .ok_or_else(|| io::Error::other("a staged cache file without its handle"))?;
        file.set_times(
            FileTimes::new()
                .set_modified(modified)
                .set_accessed(SystemTime::now()),
        )?;
        file.sync_all()?;
        let dest = self.path_of(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::rename(&staged.path, &dest)?;
        staged.path = PathBuf::new();
        let evicted = {
            let mut lru = self.lock();
            lru.touch(&rel, staged.len);
            lru.evict(self.max_bytes)
        };
        for gone in evicted {
            let _ = fs::remove_file(self.path_of(&gone));
        }
        // Our handle still reads the bytes even if the entry was evicted at once.
        file.rewind()?;
        Ok(Hit {
            file,
            len: staged.len,
            modified,
        })
    }

    /// Drops the cached copy of `key` (before the inner store quarantines or deletes it).
    pub fn forget(&self, key: &ArtifactKey) {
        let rel = key.rel_path();
        self.lock().remove(&rel);
        let _ = fs::remove_file(self.path_of(&rel));
    }
}

fn lock(lru: &Mutex<Lru>) -> std::sync::MutexGuard<'_, Lru> {
    lru.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adopts the entries an earlier run left under `root` (their last access time gives their
/// order), then evicts down to the bound. Runs once, in the background.
fn adopt_earlier_entries(root: &Path, lru: &Mutex<Lru>, max_bytes: u64) {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                let used = meta.accessed().or_else(|_| meta.modified());
                let rel = rel.to_string_lossy().replace('\\', "/");
                found.push((used.unwrap_or(SystemTime::UNIX_EPOCH), rel, meta.len()));
            }
        }
    }
    found.sort();
    let evicted = {
        let mut lru = lock(lru);
        for (tick, (_, rel, size)) in found.into_iter().enumerate() {
            lru.adopt(&rel, size, (tick as u64).min(LIVE_TICKS - 1));
        }
        lru.evict(max_bytes)
    };
    for gone in evicted {
        let _ = fs::remove_file(root.join(gone));
    }
}

/// Reads a file from `pos` by positioned reads, leaving the handle's own offset alone.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Copies exactly `len` bytes: a source that ends early, or goes on, is an error (the fill
/// is then discarded, never served short).
fn copy_exactly(source: &mut dyn Read, dest: &mut File, len: u64) -> io::Result<()> {
    let copied = io::copy(&mut source.take(len), dest)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the store gave {copied} of {len} bytes"),
        ));
    }
    let mut probe = [0u8; 1];
    if source.read(&mut probe)? != 0 {
        return Err(io::Error::other(format!(
            "the store gave more than the {len} bytes it announced"
        )));
    }
    dest.flush()
}

/// A store with a [`DiskCache`] in front: immutable artifacts are read from the cache when
/// it holds them, and copied into it when the inner store is asked; everything else goes
/// to the inner store untouched.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    cache: Arc<DiskCache>,
}

impl std::fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &self.inner.describe())
            .field("cache", &self.cache.dir)
            .field("max_bytes", &self.cache.max_bytes)
            .finish()
    }
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>, cache: Arc<DiskCache>) -> Self {
        CachedStore { inner, cache }
    }

    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    pub fn cache(&self) -> &Arc<DiskCache> {
        &self.cache
    }

    /// Copies what the inner store opened into the cache and serves the copy. On any
    /// failure to cache (a full disk, a deleted directory) the inner store's artifact is
    /// served instead: a file rewound, or a stream opened again (it was read).
    fn fill_from(
        &self,
        key: &ArtifactKey,
        artifact: Artifact,
    ) -> Result<Option<Artifact>, StoreError> {
        let (len, modified) = (artifact.len, artifact.modified);
        let (result, left) = match artifact.body {
            ArtifactBody::File(mut file) => {
                let result = self.cache.fill(key, len, modified, &mut file);
                (result, Some(file))
            }
            body => {
                let mut reader = Artifact {
                    len,
                    modified,
                    body,
                }
                .into_reader();
                (self.cache.fill(key, len, modified, &mut reader), None)
            }
        };
        match result {
            Ok(Some(hit)) => return Ok(Some(hit_artifact(hit))),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                artifact = %key.rel_path(),
                cache = %self.cache.dir.display(),
                error = %e,
                "could not copy an artifact into the cache; serving it from the store"
            ),
        }
        match left {
            Some(mut file) => {
                file.rewind()
                    .map_err(StoreError::io(self.cache.path_of(&key.rel_path())))?;
                Ok(Some(Artifact::from_file(file, len, modified)))
            }
            None => self.inner.open(key),
        }
    }
}

fn hit_artifact(hit: Hit) -> Artifact {
    Artifact::from_file(hit.file, hit.len, hit.modified)
}

impl Store for CachedStore {
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError> {
        if let Some(hit) = self.cache.get(key) {
            return Ok(Some(hit_artifact(hit)));
        }
        let Some(artifact) = self.inner.open(key)? else {
            return Ok(None);
        };
        if !cacheable(key.kind) || artifact.len > self.cache.max_bytes {
            return Ok(Some(artifact));
        }
        self.fill_from(key, artifact)
    }

    fn read(&self, key: &ArtifactKey) -> Result<Option<Bytes>, StoreError> {
        if let Some(mut hit) = self.cache.get(key) {
            let mut data = Vec::with_capacity(hit.len as usize);
            let path = self.cache.path_of(&key.rel_path());
            hit.file
                .read_to_end(&mut data)
                .map_err(StoreError::io(path))?;
            return Ok(Some(Bytes::from(data)));
        }
        let data = self.inner.read(key)?;
        if let Some(data) = &data
            && cacheable(key.kind)
        {
            let modified = SystemTime::now();
            if let Err(e) = self
                .cache
                .fill(key, data.len() as u64, modified, &mut data.as_ref())
            {
                tracing::warn!(artifact = %key.rel_path(), error = %e, "could not copy an artifact into the cache");
            }
        }
        Ok(data)
    }

    fn contains(&self, key: &ArtifactKey) -> Result<bool, StoreError> {
        if cacheable(key.kind) && self.cache.path_of(&key.rel_path()).is_file() {
            return Ok(true);
        }
        self.inner.contains(key)
    }

    /// Written through: what this process stores it is likely to serve next. Only when the
    /// inner store kept *these* bytes (`Stored`): had another writer won, its bytes are the
    /// truth and the next read copies them.
    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError> {
        let outcome = self.inner.put(key, data)?;
        if outcome == PutOutcome::Stored
            && let Err(e) =
                self.cache
                    .fill(key, data.len() as u64, SystemTime::now(), &mut &data[..])
        {
            tracing::warn!(artifact = %key.rel_path(), error = %e, "could not copy an artifact into the cache");
        }
        Ok(outcome)
    }

    fn spool(&self) -> Result<Spool, StoreError> {
        self.inner.spool()
    }

    /// Written through like [`Store::put`]: the spool is copied (by positioned reads, its
    /// own offset untouched) before the inner store takes it, and the copy becomes an entry
    /// only if the inner store kept it.
    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError> {
        let staged = match spool.file.metadata() {
            Ok(meta) => self
                .cache
                .stage(key, meta.len(), &mut ReadAt { file: &spool.file, pos: 0 })
                .unwrap_or_else(|e| {
                    tracing::warn!(artifact = %key.rel_path(), error = %e, "could not copy an artifact into the cache");
                    None
                }),
            Err(_) => None,
        };
        let outcome = self.inner.put_spool(key, spool)?;
        if let Some(staged) = staged.filter(|_| outcome == PutOutcome::Stored)
            && let Err(e) = self.cache.commit(key, staged, SystemTime::now())
        {
            tracing::warn!(artifact = %key.rel_path(), error = %e, "could not copy an artifact into the cache");
        }
        Ok(outcome)
    }

    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError> {
        self.inner.versions(module)
    }

    fn modules(&self) -> Result<Vec<ModulePath>, StoreError> {
        self.inner.modules()
    }

    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        self.inner.get_meta(name)
    }

    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.inner.put_meta(name, data)
    }

    fn get_meta_versioned(&self, name: &str) -> Result<Option<(Bytes, MetaVersion)>, StoreError> {
        self.inner.get_meta_versioned(name)
    }

    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&MetaVersion>,
    ) -> Result<bool, StoreError> {
        self.inner.put_meta_if(name, data, expected)
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_meta(prefix)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.inner.check_writable()
    }

    fn walk(&self) -> Result<Vec<TreeEntry>, StoreError> {
        self.inner.walk()
    }

    fn open_file(&self, rel_path: &str) -> Result<Option<Artifact>, StoreError> {
        self.inner.open_file(rel_path)
    }

    fn reconcile_list(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.inner.reconcile_list(module)
    }

    fn list_drift(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.inner.list_drift(module)
    }

    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), StoreError> {
        // The cached copy goes first: a bad artifact is never served from here afterwards.
        if let TreeFile::Artifact(key) = classify(rel_path) {
            self.cache.forget(&key);
        }
        self.inner.quarantine(rel_path, batch)
    }

    fn quarantine_location(&self, batch: &str) -> String {
        self.inner.quarantine_location(batch)
    }

    fn purge_quarantine(&self, batch: &str) -> Result<(), StoreError> {
        self.inner.purge_quarantine(batch)
    }

    fn scratch_dir(&self) -> &Path {
        self.inner.scratch_dir()
    }

    fn local_root(&self) -> Option<&Path> {
        self.inner.local_root()
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) -> Result<(), Arc<dyn StoreObserver>> {
        self.inner.observe(observer)
    }

    fn describe(&self) -> String {
        format!(
            "{} (cached in {})",
            self.inner.describe(),
            self.cache.dir.display()
        )
    }
}
