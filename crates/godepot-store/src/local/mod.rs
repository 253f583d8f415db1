//! The local-disk store.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use godepot_module::{ModulePath, Version};

pub use list::{HeldKinds, ListDrift};
pub use walk::{TreeEntry, TreeFile, classify, walk_tree};

use crate::atomic;
use crate::key::list_rel_path;
use crate::store::{
    Artifact, ClosedSpool, MetaTag, MetaVersion, PutOutcome, Spool, Store, StoreObserver,
};
use crate::{ArtifactKey, Kind, StoreError};

/// godepot's own metadata directory. No module path element may start with a dot, so no
/// module can ever collide with it.
pub const META_DIR: &str = ".godepot";

/// A `GOPROXY=file://` tree on local disk.
pub struct LocalStore {
    root: PathBuf,
    /// This process's scratch directory, under `.godepot/tmp/<id>/`.
    tmp: PathBuf,
    /// Held (with an exclusive file lock) for the life of the process, so that another
    /// godepot starting on the same data directory knows this scratch directory is in use.
    _tmp_lock: File,
    /// Serializes read-modify-write of `@v/list` files within this process; the file lock
    /// on `.godepot/list.lock` does the same across processes (a server and a prefetch).
    list_lock: Mutex<()>,
    /// Told of every version whose files changed (the module index), once set.
    observer: OnceLock<Arc<dyn StoreObserver>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.root)
            .field("tmp", &self.tmp)
            .field("observed", &self.observer.get().is_some())
            .finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Opens (creating if needed) a store rooted at `root`. Start-up work is proportional to
    /// the leftovers of crashed processes, never to the number of modules held.
    ///
    /// A data directory of a newer format is refused before anything in it is touched; an
    /// unmarked one is marked with the current format ([`crate::format`]).
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        crate::format::check(&root)?;
        let tmp_root = root.join(META_DIR).join("tmp");
        fs::create_dir_all(&tmp_root).map_err(StoreError::io(&tmp_root))?;
        clean_abandoned_scratch(&tmp_root);
        let (tmp, lock) = claim_scratch(&tmp_root).map_err(StoreError::io(&tmp_root))?;
        crate::format::ensure(&root, &tmp)?;
        Ok(LocalStore {
            root,
            tmp,
            _tmp_lock: lock,
            list_lock: Mutex::new(()),
            observer: OnceLock::new(),
        })
    }

    fn changed(&self, module: &ModulePath, version: &Version) {
        if let Some(observer) = self.observer.get() {
            observer.version_changed(self, module, version);
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The quarantine's copy of `rel_path` in `batch`, refusing names that could leave it.
    fn quarantine_path(&self, rel_path: &str, batch: &str) -> Result<PathBuf, StoreError> {
        if !plain(rel_path) || !plain(batch) || rel_path.starts_with(META_DIR) {
            return Err(StoreError::InvalidMetaName(format!("{batch}/{rel_path}")));
        }
        Ok(self.quarantine_dir(batch).join(rel_path))
    }

    fn quarantine_dir(&self, batch: &str) -> PathBuf {
        self.root.join(META_DIR).join("quarantine").join(batch)
    }

    fn path_of(&self, key: &ArtifactKey) -> PathBuf {
        self.root.join(key.rel_path())
    }

    fn meta_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !plain(name) {
            return Err(StoreError::InvalidMetaName(name.to_string()));
        }
        Ok(self.root.join(META_DIR).join(name))
    }

    fn sync_list(&self, module: &ModulePath, write: bool) -> Result<ListDrift, StoreError> {
        let _guard = self.list_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _lock = lock_file(&self.root.join(META_DIR).join("list.lock"))?;
        let (path, text, drift) = self.list_update(module)?;
        // A missing list drifted by every downloadable version (so a module with none
        // keeps having no list).
        if write && !drift.is_empty() {
            atomic::write_replace(&self.tmp, &path, text.as_bytes())
                .map_err(StoreError::io(&path))?;
        }
        Ok(drift)
    }

    /// Brings the lists of many modules in step, those that drifted written together (one
    /// round of flushes for all of them). The list locks are held for a few hundred modules
    /// at a time, so that a server publishing on the same tree waits at most that long.
    fn sync_lists(&self, modules: &[&ModulePath]) -> Result<(), StoreError> {
        const MODULES_PER_LOCK: usize = 256;
        for chunk in modules.chunks(MODULES_PER_LOCK) {
            let _guard = self.list_lock.lock().unwrap_or_else(|e| e.into_inner());
            let _lock = lock_file(&self.root.join(META_DIR).join("list.lock"))?;
            let mut writes = Vec::new();
            for module in chunk {
                let (path, text, drift) = self.list_update(module)?;
                if !drift.is_empty() {
                    writes.push((path, text.into_bytes()));
                }
            }
            atomic::write_replace_batch(&self.tmp, &writes)
                .map_err(|(path, e)| StoreError::io(&path)(e))?;
        }
        Ok(())
    }

    /// The module's list file, what it must say, and how it drifted from that; callers hold
    /// the list locks.
    fn list_update(&self, module: &ModulePath) -> Result<(PathBuf, String, ListDrift), StoreError> {
        let path = self.root.join(list_rel_path(module));
        let want = list::listable(&list::held_kinds(&self.root, module)?);
        let current = read_optional(&path)?;
        let (text, drift) = list::reconcile(
            &list::parse_list(current.as_deref().unwrap_or_default()),
            &want,
        );
        Ok((path, text, drift))
    }

    fn after_put(&self, key: &ArtifactKey, outcome: PutOutcome) -> Result<PutOutcome, StoreError> {
        // Any publish of the module repairs its list, should an earlier one have crashed
        // before updating it.
        if outcome == PutOutcome::Stored && key.kind != Kind::ZipHash {
            self.reconcile_list(&key.module)?;
        }
        if outcome == PutOutcome::Stored {
            self.changed(&key.module, &key.version);
        }
        Ok(outcome)
    }
}

impl Store for LocalStore {
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError> {
        open_optional(&self.path_of(key))
    }

    fn read(&self, key: &ArtifactKey) -> Result<Option<Bytes>, StoreError> {
        Ok(read_optional(&self.path_of(key))?.map(Bytes::from))
    }

    fn contains(&self, key: &ArtifactKey) -> Result<bool, StoreError> {
        Ok(self.path_of(key).is_file())
    }

    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError> {
        let dest = self.path_of(key);
        let created = atomic::write_new(&self.tmp, &dest, data).map_err(StoreError::io(&dest))?;
        self.after_put(key, outcome(created))
    }

    fn spool(&self) -> Result<Spool, StoreError> {
        let (path, file) = atomic::temp_file(&self.tmp).map_err(StoreError::io(&self.tmp))?;
        Ok(Spool {
            path,
            file,
            committed: false,
        })
    }

    fn put_spool(&self, key: &ArtifactKey, mut spool: Spool) -> Result<PutOutcome, StoreError> {
        let dest = self.path_of(key);
        let created =
            atomic::publish_new(&spool.path, &spool.file, &dest).map_err(StoreError::io(&dest))?;
        spool.committed = true;
        self.after_put(key, outcome(created))
    }

    /// Flushed together ([`atomic::publish_new_batch`]: every file, then every link, then
    /// every directory), then each module's list rewritten once. The `.info` files go in a
    /// second such round once the first is durable, so that a power cut never leaves an
    /// `.info` (what makes a version one clients are told of) without the batch's other
    /// files; and lists are written only once everything they could name is durable.
    fn put_spools(
        &self,
        batch: Vec<(ArtifactKey, ClosedSpool)>,
    ) -> Result<Vec<PutOutcome>, StoreError> {
        let (keys, temps): (Vec<ArtifactKey>, Vec<PathBuf>) = batch
            .into_iter()
            .map(|(key, spool)| (key, spool.into_path()))
            .unzip();
        let mut outcomes = vec![PutOutcome::AlreadyHeld; keys.len()];
        let published = (|| {
            for info_round in [false, true] {
                let round: Vec<usize> = (0..keys.len())
                    .filter(|&i| (keys[i].kind == Kind::Info) == info_round)
                    .collect();
                let files: Vec<(PathBuf, PathBuf)> = round
                    .iter()
                    .map(|&i| (temps[i].clone(), self.path_of(&keys[i])))
                    .collect();
                let created = atomic::publish_new_batch(&files)
                    .map_err(|(path, e)| StoreError::io(&path)(e))?;
                for (&i, created) in round.iter().zip(created) {
                    outcomes[i] = outcome(created);
                }
            }
            Ok(())
        })();
        if let Err(e) = published {
            for tmp in &temps {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
        let stored = || {
            keys.iter()
                .zip(&outcomes)
                .filter(|(_, o)| **o == PutOutcome::Stored)
                .map(|(k, _)| k)
        };
        let mut modules: Vec<&ModulePath> = stored()
            .filter(|k| k.kind != Kind::ZipHash)
            .map(|k| &k.module)
            .collect();
        modules.sort();
        modules.dedup();
        self.sync_lists(&modules)?;
        let versions: BTreeSet<(&ModulePath, &Version)> =
            stored().map(|k| (&k.module, &k.version)).collect();
        for (module, version) in versions {
            self.changed(module, version);
        }
        Ok(outcomes)
    }

    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError> {
        // From the files, not the list file: always in step, even right after a crash.
        Ok(list::listable(&list::held_kinds(&self.root, module)?))
    }

    fn modules(&self) -> Result<Vec<ModulePath>, StoreError> {
        walk::module_dirs(&self.root)
    }

    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        Ok(read_optional(&self.meta_path(name)?)?.map(Bytes::from))
    }

    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let dest = self.meta_path(name)?;
        atomic::write_replace(&self.tmp, &dest, data).map_err(StoreError::io(&dest))
    }

    fn get_meta_versioned(&self, name: &str) -> Result<Option<(Bytes, MetaVersion)>, StoreError> {
        Ok(self.get_meta(name)?.map(|data| {
            let version = MetaVersion(MetaTag::Content(data.clone()));
            (data, version)
        }))
    }

    /// Under the lock `.godepot/meta.lock` (every compare-and-swap of every process on this
    /// directory takes it), the content now is compared with the content read, then the new
    /// one is renamed into place: a reader without the lock sees the old file or the new.
    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&MetaVersion>,
    ) -> Result<bool, StoreError> {
        let dest = self.meta_path(name)?;
        let _lock = lock_file(&self.root.join(META_DIR).join("meta.lock"))?;
        let current = read_optional(&dest)?;
        let unchanged = match (expected.map(|v| &v.0), &current) {
            (None, None) => true,
            (Some(MetaTag::Content(read)), Some(now)) => read[..] == now[..],
            _ => false,
        };
        if !unchanged {
            return Ok(false);
        }
        let (tmp, mut file) = atomic::temp_file(&self.tmp).map_err(StoreError::io(&self.tmp))?;
        let written = private(&file)
            .and_then(|()| file.write_all(data))
            .and_then(|()| atomic::publish_replace(&tmp, &file, &dest));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(StoreError::io(&dest))?;
        Ok(true)
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.meta_path(prefix)?;
        let mut names = Vec::new();
        let mut pending = vec![(dir, prefix.trim_end_matches('/').to_string())];
        while let Some((dir, name)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(StoreError::io(&dir))?;
                let child = format!("{name}/{}", entry.file_name().to_string_lossy());
                if entry.file_type().map_err(StoreError::io(&dir))?.is_dir() {
                    pending.push((entry.path(), child));
                } else {
                    names.push(child);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let (path, file) = atomic::temp_file(&self.tmp).map_err(StoreError::io(&self.tmp))?;
        let result = file.sync_all().map_err(StoreError::io(&path));
        let _ = fs::remove_file(&path);
        result
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn walk(&self) -> Result<Vec<TreeEntry>, StoreError> {
        walk_tree(&self.root)
    }

    fn open_file(&self, rel_path: &str) -> Result<Option<Artifact>, StoreError> {
        if !plain(rel_path) || rel_path.starts_with(META_DIR) {
            return Err(StoreError::InvalidPath(rel_path.to_string()));
        }
        open_optional(&self.root.join(rel_path))
    }

    /// Reads the module's `@v/` directory only (see [`list`]).
    fn reconcile_list(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.sync_list(module, true)
    }

    fn list_drift(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.sync_list(module, false)
    }

    /// One rename, so a reader that has the file open keeps reading the whole of it.
    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), StoreError> {
        let dest = self.quarantine_path(rel_path, batch)?;
        let src = self.root.join(rel_path);
        atomic::move_new(&src, &dest).map_err(StoreError::io(&src))?;
        if let TreeFile::Artifact(key) = classify(rel_path) {
            self.changed(&key.module, &key.version);
        }
        Ok(())
    }

    fn quarantine_location(&self, batch: &str) -> String {
        self.quarantine_dir(batch).display().to_string()
    }

    fn purge_quarantine(&self, batch: &str) -> Result<(), StoreError> {
        if !plain(batch) {
            return Err(StoreError::InvalidMetaName(format!("quarantine/{batch}")));
        }
        let dir = self.quarantine_dir(batch);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::io(&dir)(e)),
            _ => Ok(()),
        }
    }

    /// On the store's file system, under `.godepot/tmp/<id>/`.
    fn scratch_dir(&self) -> &Path {
        &self.tmp
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) -> Result<(), Arc<dyn StoreObserver>> {
        self.observer.set(observer)
    }
}

/// A relative path of plain names only (no `..`, no root, not empty).
fn plain(s: &str) -> bool {
    !s.is_empty()
        && Path::new(s)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn open_optional(path: &Path) -> Result<Option<Artifact>, StoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path)(e)),
    };
    let meta = file.metadata().map_err(StoreError::io(path))?;
    if !meta.is_file() {
        return Ok(None);
    }
    let modified = meta.modified().map_err(StoreError::io(path))?;
    Ok(Some(Artifact::from_file(file, meta.len(), modified)))
}

/// Makes a file readable by its owner only: shared state such as the token hashes is not
/// secret, but nobody else has any business reading it.
fn private(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

fn outcome(created: bool) -> PutOutcome {
    if created {
        PutOutcome::Stored
    } else {
        PutOutcome::AlreadyHeld
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path)(e)),
    };
    let mut data = Vec::new();
    file.read_to_end(&mut data).map_err(StoreError::io(path))?;
    Ok(Some(data))
}

/// Opens (creating) the lock file at `path` and takes its exclusive lock, released when the
/// returned file is dropped: how writers in different processes take turns.
pub(crate) fn lock_file(path: &Path) -> Result<File, StoreError> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(StoreError::io(path))?;
    lock.lock().map_err(StoreError::io(path))?;
    Ok(lock)
}

/// Makes this process's scratch directory `<tmp_root>/<n>/`, guarded by an exclusive lock
/// on `<tmp_root>/<n>.lock`.
fn claim_scratch(tmp_root: &Path) -> io::Result<(PathBuf, File)> {
    for n in std::process::id().. {
        let lock_path = tmp_root.join(format!("{n}.lock"));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        if lock.try_lock().is_err() {
            continue;
        }
        let dir = tmp_root.join(n.to_string());
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir(&dir)?;
        return Ok((dir, lock));
    }
    Err(io::Error::other("no free scratch directory"))
}

/// Removes scratch directories whose owner is gone (its lock can be taken): the temporary
/// files of a process that crashed or was killed mid-write. Those files were never visible
/// as artifacts, so removing them loses nothing.
fn clean_abandoned_scratch(tmp_root: &Path) {
    let Ok(entries) = fs::read_dir(tmp_root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "lock") {
            let Ok(lock) = OpenOptions::new().write(true).open(&path) else {
                continue;
            };
            if lock.try_lock().is_ok() {
                let _ = fs::remove_dir_all(path.with_extension(""));
                let _ = fs::remove_file(&path);
            }
        } else if path.is_dir() && !path.with_extension("lock").exists() {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

pub(crate) mod list;
#[cfg(test)]
mod tests;
mod walk;
