//! The one way godepot writes files: into a temporary file on the same file system, flushed
//! to disk, then moved into place in a single step. A reader, or a restart after `kill -9`,
//! sees either no file or the whole file, never a prefix of it.
//!
//! Batch writers (import) publish many files at once with [`publish_new_batch`] and
//! [`write_replace_batch`]: the same steps in the same order, but each step done for the
//! whole batch before the next, so that the flushes (the slow part) run together: the file
//! system commits concurrent flushes in one journal transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a fresh, uniquely named file in `dir`, open for reading and writing.
pub fn temp_file(dir: &Path) -> io::Result<(PathBuf, File)> {
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{n}.tmp"));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Flushes a finished temporary file and publishes it at `dest` unless `dest` exists.
/// Returns `false` (and discards the temporary file) when `dest` was already there.
///
/// A hard link is the portable "create if absent" for a whole file: it fails instead of
/// replacing, so two writers racing for one immutable artifact can never swap its bytes.
pub fn publish_new(tmp: &Path, file: &File, dest: &Path) -> io::Result<bool> {
    file.sync_all()?;
    ensure_parent(dest)?;
    let created = link_new(tmp, dest).map_err(|(_, e)| e)?;
    if created {
        sync_parent(dest)?;
    }
    Ok(created)
}

/// Flushes a finished temporary file and moves it to `dest`, replacing what was there.
pub fn publish_replace(tmp: &Path, file: &File, dest: &Path) -> io::Result<()> {
    file.sync_all()?;
    ensure_parent(dest)?;
    fs::rename(tmp, dest)?;
    sync_parent(dest)
}

/// Writes `data` to `dest` atomically, replacing any previous content.
pub fn write_replace(tmp_dir: &Path, dest: &Path, data: &[u8]) -> io::Result<()> {
    let (tmp, mut file) = temp_file(tmp_dir)?;
    let result = file
        .write_all(data)
        .and_then(|()| publish_replace(&tmp, &file, dest));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `data` to `dest` atomically unless `dest` exists; `Ok(false)` if it did.
pub fn write_new(tmp_dir: &Path, dest: &Path, data: &[u8]) -> io::Result<bool> {
    let (tmp, mut file) = temp_file(tmp_dir)?;
    let result = file
        .write_all(data)
        .and_then(|()| publish_new(&tmp, &file, dest));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Moves an existing file to `dest` (same file system), refusing to replace anything there:
/// used to set bad files aside without ever copying or rewriting them.
pub fn move_new(src: &Path, dest: &Path) -> io::Result<()> {
    ensure_parent(dest)?;
    if dest.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", dest.display()),
        ));
    }
    fs::rename(src, dest)?;
    sync_parent(src)?;
    sync_parent(dest)
}

/// How many flushes a batch keeps in flight. A flush mostly waits on the disk, so this is
/// not bounded by the cores: on the project machines' ext4, one at a time flushes ~1,200 small
/// files a second, 32 at a time ~8,000.
const FLUSHES_IN_FLIGHT: usize = 32;

/// A failed step of a batch: the path it failed on, and why.
pub type BatchError = (PathBuf, io::Error);

/// Publishes finished temporary files (`(tmp, dest)` pairs, closed, on the same file system as
/// their destinations) as [`publish_new`] does each: a file is created at `dest` unless one is
/// there, and never replaces it. Returns, in order, whether each was created. The temporary
/// files are removed.
///
/// The order is what makes it durable, and it is the order of `publish_new`, step by step
/// for the whole batch: (1) every temporary file is flushed (data and size), (2) then linked
/// at its destination (the files of one directory in the order given, so that a reader on
/// the same tree sees them appear in that order), (3) then every directory that gained an entry is flushed, with the parent
/// of every directory created on the way. So a power cut never leaves a visible name for a
/// torn file (no link is made before its file is durable), and once this returns every new
/// name is durable: a caller that records them afterwards (a module's `@v/list`) never names a
/// file that could still be lost. A failure part-way leaves the files linked so far in
/// place, whole.
pub fn publish_new_batch(files: &[(PathBuf, PathBuf)]) -> Result<Vec<bool>, BatchError> {
    for_each_parallel(files, |(tmp, _)| {
        File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| (tmp.clone(), e))
    })?;
    let dirs = ensure_parents(files.iter().map(|(_, dest)| dest.as_path()))?;
    // A directory at a time on several threads (file systems lock a directory, not the
    // tree), each directory's files in the order given.
    let mut by_dir: BTreeMap<Option<&Path>, Vec<usize>> = BTreeMap::new();
    for (i, (_, dest)) in files.iter().enumerate() {
        by_dir.entry(dest.parent()).or_default().push(i);
    }
    let by_dir: Vec<Vec<usize>> = by_dir.into_values().collect();
    let created: Vec<AtomicBool> = files.iter().map(|_| AtomicBool::new(false)).collect();
    for_each_parallel(&by_dir, |indices| {
        for &i in indices {
            let (tmp, dest) = &files[i];
            created[i].store(link_new(tmp, dest)?, Ordering::Relaxed);
        }
        Ok(())
    })?;
    sync_dirs(&dirs)?;
    Ok(created.into_iter().map(AtomicBool::into_inner).collect())
}

/// Links `tmp` at `dest` unless something is there, then removes `tmp`: the middle of
/// [`publish_new`], without its flushes.
fn link_new(tmp: &Path, dest: &Path) -> Result<bool, BatchError> {
    let created = match fs::hard_link(tmp, dest) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        // File systems without hard links, as in `publish_new`.
        Err(_) if !dest.exists() => {
            fs::rename(tmp, dest).map_err(|e| (dest.to_path_buf(), e))?;
            return Ok(true);
        }
        Err(_) => false,
    };
    fs::remove_file(tmp).map_err(|e| (tmp.to_path_buf(), e))?;
    Ok(created)
}

/// Writes each `(dest, data)` atomically, replacing what was there, as [`write_replace`]
/// does one: every temporary file written and flushed, then each renamed into place, then
/// every directory involved flushed once.
pub fn write_replace_batch(tmp_dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), BatchError> {
    let mut temps = Vec::with_capacity(files.len());
    let result = (|| {
        for (_, data) in files {
            let (tmp, mut file) = temp_file(tmp_dir).map_err(|e| (tmp_dir.to_path_buf(), e))?;
            temps.push(tmp);
            file.write_all(data)
                .map_err(|e| (tmp_dir.to_path_buf(), e))?;
        }
        for_each_parallel(&temps, |tmp| {
            File::open(tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| (tmp.clone(), e))
        })?;
        let dirs = ensure_parents(files.iter().map(|(dest, _)| dest.as_path()))?;
        for (tmp, (dest, _)) in temps.iter().zip(files) {
            fs::rename(tmp, dest).map_err(|e| (dest.clone(), e))?;
        }
        sync_dirs(&dirs)
    })();
    if result.is_err() {
        for tmp in &temps {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

/// Creates the parent directory of every destination. Returns the directories to flush once
/// the new entries are made: each parent, and the parent of each directory created here
/// (which gained that directory's entry).
fn ensure_parents<'a>(
    dests: impl Iterator<Item = &'a Path>,
) -> Result<BTreeSet<PathBuf>, BatchError> {
    let parents: BTreeSet<&Path> = dests.filter_map(Path::parent).collect();
    let mut dirs = BTreeSet::new();
    for parent in parents {
        let mut missing = parent;
        while !missing.exists() {
            let Some(up) = missing.parent() else { break };
            dirs.insert(up.to_path_buf());
            missing = up;
        }
        fs::create_dir_all(parent).map_err(|e| (parent.to_path_buf(), e))?;
        dirs.insert(parent.to_path_buf());
    }
    Ok(dirs)
}

fn sync_dirs(dirs: &BTreeSet<PathBuf>) -> Result<(), BatchError> {
    let dirs: Vec<&PathBuf> = dirs.iter().collect();
    for_each_parallel(&dirs, |dir| {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| (dir.to_path_buf(), e))
    })
}

/// Runs `f` on every item, [`FLUSHES_IN_FLIGHT`] at a time; stops at the first error, which
/// it returns.
fn for_each_parallel<T: Sync>(
    items: &[T],
    f: impl Fn(&T) -> Result<(), BatchError> + Sync,
) -> Result<(), BatchError> {
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<BatchError>> = Mutex::new(None);
    let threads = FLUSHES_IN_FLIGHT.min(items.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    if let Err(e) = f(item) {
                        next.store(items.len(), Ordering::Relaxed);
                        failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn ensure_parent(dest: &Path) -> io::Result<()> {
    match dest.parent() {
        Some(parent) => fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Makes the new directory entry itself durable: without it a power cut can lose a rename
/// that the caller was already told had happened.
fn sync_parent(dest: &Path) -> io::Result<()> {
    match dest.parent() {
        Some(parent) => File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}
