//! A bounded local disk cache of immutable artifacts (`.info`, `.mod`, `.zip`) in front of
//! any store (`--cache-dir`, `--cache-size`): [`CachedStore`] implements [`Store`] over an
//! inner one, so a warm hit is a local [`File`] and costs the inner store (a bucket) nothing.
//!
//! - **Only immutable artifacts.** `@v/list`, metadata, the walk and every write go to the
//!   inner store; a `.ziphash` too (it is small and rarely read).
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
use crate::{Artifact, ArtifactKey, Kind, PutOutcome, Spool, Store, StoreError};
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
        if !cacheable(key.kind) || len > self.max_bytes {
            return Ok(None);
        }
        let rel = key.rel_path();
        let tmp_dir = self.dir.join(TMP);
        // Made again each time: the directory may have been deleted under us.
        fs::create_dir_all(&tmp_dir)?;
        let (tmp, mut file) = atomic::temp_file(&tmp_dir)?;
        let result = copy_exactly(source, &mut file, len).and_then(|()| {
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
            fs::rename(&tmp, &dest)
        });
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let evicted = {
            let mut lru = self.lock();
            lru.touch(&rel, len);
            lru.evict(self.max_bytes)
        };
        for gone in evicted {
            let _ = fs::remove_file(self.path_of(&gone));
        }
        // Our handle still reads the bytes even if the entry was evicted at once.
        let _ = file.rewind();
        Ok(Some(Hit {
            file,
            len,
            modified,
        }))
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

    /// Copies what the inner store opened into the cache; on any failure to cache (a full
    /// disk, a deleted directory), the inner store's artifact is served instead.
    fn fill_from(&self, key: &ArtifactKey, mut artifact: Artifact) -> Artifact {
        match self
            .cache
            .fill(key, artifact.len, artifact.modified, &mut artifact.file)
        {
            Ok(Some(hit)) => return hit_artifact(hit),
            Ok(None) => {}
            Err(e) => tracing::warn!(
                artifact = %key.rel_path(),
                cache = %self.cache.dir.display(),
                error = %e,
                "could not copy an artifact into the cache; serving it from the store"
            ),
        }
        let _ = artifact.file.rewind();
        artifact
    }
}

fn hit_artifact(hit: Hit) -> Artifact {
    Artifact {
        len: hit.len,
        modified: hit.modified,
        file: hit.file,
    }
}

impl Store for CachedStore {
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError> {
        if let Some(hit) = self.cache.get(key) {
            return Ok(Some(hit_artifact(hit)));
        }
        let Some(artifact) = self.inner.open(key)? else {
            return Ok(None);
        };
        if !cacheable(key.kind) {
            return Ok(Some(artifact));
        }
        Ok(Some(self.fill_from(key, artifact)))
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

    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError> {
        self.inner.put(key, data)
    }

    fn spool(&self) -> Result<Spool, StoreError> {
        self.inner.spool()
    }

    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError> {
        self.inner.put_spool(key, spool)
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

    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_meta(prefix)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        self.inner.check_writable()
    }

    fn describe(&self) -> String {
        format!(
            "{} (cached in {})",
            self.inner.describe(),
            self.cache.dir.display()
        )
    }
}
