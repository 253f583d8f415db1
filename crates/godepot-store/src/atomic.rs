//! The one way godepot writes files: into a temporary file on the same file system, flushed
//! to disk, then moved into place in a single step. A reader, or a restart after `kill -9`,
//! sees either no file or the whole file, never a prefix of it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
    let created = match fs::hard_link(tmp, dest) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        // File systems without hard links: fall back to a rename after an existence check.
        Err(_) if !dest.exists() => {
            fs::rename(tmp, dest)?;
            sync_parent(dest)?;
            return Ok(true);
        }
        Err(_) => false,
    };
    fs::remove_file(tmp)?;
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
