//! Detecting a writer that died between a file write and the index update.
//!
//! Every process that opens the index (and so may write the store) creates
//! `writers/<pid>-<nanos>.lock` (locked first under a `.new` name, then renamed) and holds an
//! exclusive lock on it for its life; a clean exit removes it. A marker found unlocked was left by a process that stopped without its clean
//! exit (`kill -9`, a power cut): its last store write may never have reached the index. The
//! opener then removes the marker and marks the index dirty. No journal write is added to the
//! hot path, and opening costs one look into a directory that holds one file per live or
//! crashed process.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::IndexError;

/// This process's marker; removed when dropped (a clean exit).
#[derive(Debug)]
pub(crate) struct Marker {
    path: PathBuf,
    _file: File,
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Claims a marker for this process; says whether a dead writer's marker was found (and
/// removed).
pub(crate) fn claim(index_dir: &Path) -> Result<(Marker, bool), IndexError> {
    let dir = index_dir.join("writers");
    fs::create_dir_all(&dir).map_err(IndexError::io(&dir))?;
    let crashed = clear_dead(&dir)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("{}-{nanos}", std::process::id());
    // Locked under a name no opener judges, then renamed (the lock stays with the open
    // file): a marker is never seen unlocked while its process is alive.
    let staging = dir.join(format!("{name}.new"));
    let file = File::create(&staging).map_err(IndexError::io(&staging))?;
    file.lock().map_err(IndexError::io(&staging))?;
    let path = dir.join(format!("{name}.lock"));
    fs::rename(&staging, &path).map_err(IndexError::io(&path))?;
    Ok((Marker { path, _file: file }, crashed))
}

fn clear_dead(dir: &Path) -> Result<bool, IndexError> {
    let mut crashed = false;
    for entry in fs::read_dir(dir).map_err(IndexError::io(dir))? {
        let path = entry.map_err(IndexError::io(dir))?.path();
        let Ok(file) = File::open(&path) else {
            continue; // removed by its owner meanwhile
        };
        // Locked: its process is alive. Unlocked: nobody holds it, so its process is gone;
        // one that died before renaming its marker had not attached the index to a store
        // yet, so wrote nothing.
        if file.try_lock().is_ok() {
            crashed |= path.extension().is_some_and(|e| e == "lock");
            let _ = fs::remove_file(&path);
        }
    }
    Ok(crashed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_marker_is_left_alone_and_a_dead_one_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (live, crashed) = claim(dir.path()).unwrap();
        assert!(!crashed);
        let (_other, crashed) = claim(dir.path()).unwrap();
        assert!(!crashed, "a marker locked by a live writer is not a crash");
        assert!(live.path.exists());
        // A marker nobody holds a lock on: what a killed process leaves.
        fs::write(dir.path().join("writers/1-1.lock"), b"").unwrap();
        let (_third, crashed) = claim(dir.path()).unwrap();
        assert!(crashed);
        assert!(!dir.path().join("writers/1-1.lock").exists());
        drop(live);
        let (_fourth, crashed) = claim(dir.path()).unwrap();
        assert!(!crashed, "a clean exit removes its marker");
        fs::write(dir.path().join("writers/2-2.new"), b"").unwrap();
        let (_fifth, crashed) = claim(dir.path()).unwrap();
        assert!(
            !crashed,
            "a process that died before its marker was in place wrote nothing"
        );
        assert!(!dir.path().join("writers/2-2.new").exists());
    }
}
