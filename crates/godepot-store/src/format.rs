//! The data directory's format version: `.godepot/format`, one line holding a number.
//!
//! It is written when a store is first opened for writing (an empty directory, or one made
//! before the marker existed, whose layout is format 1), and read, one small file, on every
//! open: no walk. A directory marked with a newer format than this build knows was written by
//! a newer godepot; it is refused before anything is touched, never rewritten (an older
//! binary cannot know what the newer one changed). Older formats are read as they are, or
//! upgraded by an explicit step; see `docs/upgrading.md`.
//!
//! A bucket keeps the same marker under its prefix (`ObjectStore::check_format`,
//! `ObjectStore::mark_format`), read with [`parse`].

use std::path::{Path, PathBuf};

use crate::StoreError;
use crate::atomic;
use crate::local::META_DIR;

/// The file, under `.godepot/`, that holds the format number.
pub const FORMAT_FILE: &str = "format";

/// The format this build writes, and the newest it reads. 1: the `GOPROXY=file://` tree and
/// `.godepot/` as described in the crate documentation.
pub const CURRENT: u32 = 1;

/// What a data directory's marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// No marker: an empty or missing directory, or one made before markers (format 1).
    Absent,
    /// `format` names this version, not newer than [`CURRENT`].
    Format(u32),
}

/// Where the marker of the store at `root` lives.
pub fn marker_path(root: &Path) -> PathBuf {
    root.join(META_DIR).join(FORMAT_FILE)
}

/// Reads the marker, refusing a format newer than [`CURRENT`] or a file that is not one.
pub fn check(root: &Path) -> Result<Marker, StoreError> {
    let path = marker_path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Marker::Absent),
        Err(e) => return Err(StoreError::Io { path, source: e }),
    };
    parse(&text, path)
}

/// A marker's content, found at `path` (a file, or a bucket's key as a URL), refusing a
/// format newer than [`CURRENT`] or a content that is not one.
pub fn parse(text: &str, path: PathBuf) -> Result<Marker, StoreError> {
    let found: u32 = text.trim().parse().map_err(|_| StoreError::BadFormat {
        path: path.clone(),
        content: text.chars().take(40).collect(),
    })?;
    if found > CURRENT {
        return Err(StoreError::NewerFormat {
            path,
            found,
            supported: CURRENT,
        });
    }
    Ok(Marker::Format(found))
}

/// [`check`], then marks an unmarked store as [`CURRENT`] (write-once, through `tmp_dir` on
/// the same file system; a concurrent opener's marker wins and is checked in turn).
pub(crate) fn ensure(root: &Path, tmp_dir: &Path) -> Result<(), StoreError> {
    if check(root)? != Marker::Absent {
        return Ok(());
    }
    let path = marker_path(root);
    let written = atomic::write_new(tmp_dir, &path, format!("{CURRENT}\n").as_bytes())
        .map_err(StoreError::io(&path))?;
    if !written {
        check(root)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalStore;

    #[test]
    fn the_first_open_marks_the_store_and_later_ones_read_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(dir.path()).unwrap(), Marker::Absent);
        drop(LocalStore::open(dir.path()).unwrap());
        assert_eq!(
            std::fs::read_to_string(marker_path(dir.path())).unwrap(),
            "1\n"
        );
        drop(LocalStore::open(dir.path()).unwrap());
        assert_eq!(check(dir.path()).unwrap(), Marker::Format(CURRENT));
    }

    #[test]
    fn a_store_made_before_markers_is_marked_as_format_1() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("example.com/m/@v/list");
        std::fs::create_dir_all(list.parent().unwrap()).unwrap();
        std::fs::write(&list, "v1.0.0\n").unwrap();
        drop(LocalStore::open(dir.path()).unwrap());
        assert_eq!(check(dir.path()).unwrap(), Marker::Format(1));
        assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.0.0\n");
    }

    #[test]
    fn a_newer_format_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join(META_DIR);
        std::fs::create_dir_all(meta.join("tmp/stale")).unwrap();
        std::fs::write(marker_path(dir.path()), "2\n").unwrap();
        let e = LocalStore::open(dir.path()).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::NewerFormat {
                    found: 2,
                    supported: CURRENT,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("format 2"), "{e}");
        assert_eq!(
            std::fs::read_to_string(marker_path(dir.path())).unwrap(),
            "2\n"
        );
        // Not even a crashed process's scratch space is cleaned up.
        assert!(meta.join("tmp/stale").is_dir());
    }

    #[test]
    fn a_marker_that_is_no_number_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(META_DIR)).unwrap();
        std::fs::write(marker_path(dir.path()), "two\n").unwrap();
        assert!(matches!(
            LocalStore::open(dir.path()),
            Err(StoreError::BadFormat { .. })
        ));
    }
}
