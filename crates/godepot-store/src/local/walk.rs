//! Enumerating what a `GOPROXY=file://` tree holds, by walking it. Works on any such tree: a
//! store's data directory, an extracted bundle, or the go command's `cache/download`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};

use super::META_DIR;
use crate::{ArtifactKey, Kind, StoreError};

/// One regular file found in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Relative to the tree's root, `/`-separated.
    pub rel_path: String,
    pub size: u64,
    pub modified: SystemTime,
    pub file: TreeFile,
}

/// What a file in the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeFile {
    /// A per-version artifact at its canonical place.
    Artifact(ArtifactKey),
    /// A module's `@v/list`.
    List(ModulePath),
    /// Anything else (lock files, partial downloads, stray files), with why it is not an
    /// artifact.
    Other(String),
}

/// Every regular file under `root` except godepot's own `.godepot/`, sorted by relative path
/// (bytewise), so that callers get a deterministic order. Symlinks are reported as `Other`
/// and never followed: a tree must not make us read outside it.
///
/// Directories are read on every core (a large store holds hundreds of thousands of files,
/// and each needs a `stat` for its size and time); file types come from the directory
/// entries, and each `stat` is taken relative to its directory, not by a full path.
pub fn walk_tree(root: &Path) -> Result<Vec<TreeEntry>, StoreError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let queue = DirQueue::new((root.to_path_buf(), String::new()));
    let found: Mutex<Vec<TreeEntry>> = Mutex::new(Vec::new());
    let failed: Mutex<Option<StoreError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                while let Some((dir, rel)) = queue.next() {
                    match read_dir_entries(&dir, &rel, &mut mine) {
                        Ok(subdirs) => queue.done(subdirs),
                        Err(e) => {
                            queue.abort();
                            failed
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                        }
                    }
                }
                found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .append(&mut mine);
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut out = found.into_inner().unwrap_or_else(|p| p.into_inner());
    out.sort_unstable_by(|a, b| a.rel_path.as_bytes().cmp(b.rel_path.as_bytes()));
    Ok(out)
}

/// A directory to read: its path, and its path relative to the root.
type DirJob = (PathBuf, String);

/// The directories still to be read, shared by the walking threads. The walk is over when
/// none is pending and none is being read (a directory being read may add more).
struct DirQueue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

struct QueueState {
    pending: Vec<DirJob>,
    reading: usize,
    aborted: bool,
}

impl DirQueue {
    fn new(first: DirJob) -> Self {
        DirQueue {
            state: Mutex::new(QueueState {
                pending: vec![first],
                reading: 0,
                aborted: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next directory to read, or `None` when the walk is over.
    fn next(&self) -> Option<DirJob> {
        let mut state = self.lock();
        loop {
            if state.aborted {
                return None;
            }
            if let Some(job) = state.pending.pop() {
                state.reading += 1;
                return Some(job);
            }
            if state.reading == 0 {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// One directory read, with the directories found in it.
    fn done(&self, subdirs: Vec<DirJob>) {
        let mut state = self.lock();
        state.reading -= 1;
        let wake = !subdirs.is_empty() || state.reading == 0;
        state.pending.extend(subdirs);
        drop(state);
        if wake {
            self.changed.notify_all();
        }
    }

    /// A directory could not be read: every thread stops.
    fn abort(&self) {
        let mut state = self.lock();
        state.reading -= 1;
        state.aborted = true;
        drop(state);
        self.changed.notify_all();
    }
}

/// Reads one directory: its files go to `out`, its subdirectories are returned.
fn read_dir_entries(
    dir: &Path,
    rel: &str,
    out: &mut Vec<TreeEntry>,
) -> Result<Vec<DirJob>, StoreError> {
    let mut subdirs = Vec::new();
    // The files of a `@v/` directory share its module: parsed once, not once a file.
    let module = rel.strip_suffix("/@v").map(parse_module);
    let entries = fs::read_dir(dir).map_err(StoreError::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir)(e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if rel.is_empty() && name == META_DIR {
            continue;
        }
        let failed = |e| StoreError::io(entry.path())(e);
        let child_rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let file_type = entry.file_type().map_err(failed)?;
        if file_type.is_dir() {
            subdirs.push((entry.path(), child_rel));
            continue;
        }
        // Relative to the open directory, and not following a symlink.
        let meta = entry.metadata().map_err(failed)?;
        let file = if !file_type.is_file() {
            TreeFile::Other("not a regular file".into())
        } else if let Some(module) = &module {
            // The file's name: what follows `<rel>/`.
            classify_in(module, &child_rel[rel.len() + 1..])
        } else {
            classify(&child_rel)
        };
        out.push(TreeEntry {
            rel_path: child_rel,
            size: meta.len(),
            modified: meta.modified().map_err(failed)?,
            file,
        });
    }
    Ok(subdirs)
}

/// The modules under `root` that have a `@v/` directory (held in any part), sorted by path.
/// Directories are walked, never the files in `@v/`; symlinks are not followed, and
/// directories whose path is not a valid escaped module path (nor a prefix of one) are
/// skipped.
pub(crate) fn module_dirs(root: &Path) -> Result<Vec<ModulePath>, StoreError> {
    let mut modules = Vec::new();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(StoreError::io(&dir))?;
        for entry in entries {
            let entry = entry.map_err(StoreError::io(&dir))?;
            if !entry.file_type().map_err(StoreError::io(&dir))?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let godepots_own = rel.is_empty() && name == META_DIR;
            if name == "@v" {
                if let Ok(module) = ModulePath::from_escaped(&rel) {
                    modules.push(module);
                }
            } else if !godepots_own && !name.starts_with('@') {
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                pending.push((entry.path(), child));
            }
        }
    }
    modules.sort();
    Ok(modules)
}

/// Decides what a relative path names: `<escaped module>/@v/list` or
/// `<escaped module>/@v/<escaped version>.<info|mod|zip|ziphash>`, with the module path, the
/// version and the version's major-version suffix all valid.
pub fn classify(rel_path: &str) -> TreeFile {
    let Some((module, file)) = rel_path.rsplit_once("/@v/") else {
        return TreeFile::Other("not under a module's @v/ directory".into());
    };
    classify_in(&parse_module(module), file)
}

/// The module of a `<escaped module>/@v/` directory, or why it is not one.
fn parse_module(escaped: &str) -> Result<ModulePath, String> {
    ModulePath::from_escaped(escaped).map_err(|e| format!("invalid module path: {e}"))
}

/// [`classify`] of the file `file` in the `@v/` directory of `module`.
pub(crate) fn classify_in(module: &Result<ModulePath, String>, file: &str) -> TreeFile {
    let module = match module {
        Ok(m) => m.clone(),
        Err(e) => return TreeFile::Other(e.clone()),
    };
    if file == "list" {
        return TreeFile::List(module);
    }
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return TreeFile::Other("not an artifact file name".into());
    };
    let kind = match ext {
        "info" => Kind::Info,
        "mod" => Kind::Mod,
        "zip" => Kind::Zip,
        "ziphash" => Kind::ZipHash,
        _ => return TreeFile::Other(format!("unknown artifact kind .{ext}")),
    };
    let version = match Version::from_escaped(stem) {
        Ok(v) => v,
        Err(e) => return TreeFile::Other(format!("invalid version: {e}")),
    };
    if let Err(e) = godepot_module::check(module.as_str(), version.as_str()) {
        return TreeFile::Other(e.to_string());
    }
    TreeFile::Artifact(ArtifactKey::new(module, version, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let artifact = |m: &str, v: &str, k| {
            TreeFile::Artifact(ArtifactKey::new(
                ModulePath::parse(m).unwrap(),
                Version::parse(v).unwrap(),
                k,
            ))
        };
        let cases = [
            (
                "example.com/a/@v/v1.0.0.zip",
                Some(artifact("example.com/a", "v1.0.0", Kind::Zip)),
            ),
            (
                "example.com/a/@v/v1.0.0.ziphash",
                Some(artifact("example.com/a", "v1.0.0", Kind::ZipHash)),
            ),
            (
                "example.com/!upper/@v/v1.1.0-!beta.info",
                Some(artifact("example.com/Upper", "v1.1.0-Beta", Kind::Info)),
            ),
            (
                "example.com/a/@v/list",
                Some(TreeFile::List(ModulePath::parse("example.com/a").unwrap())),
            ),
            ("example.com/a/@v/v1.0.0.lock", None),
            ("example.com/a/@v/v1.0.0.partial", None),
            ("example.com/a/@v/list.lock", None),
            ("example.com/a/@v/v1.0.zip", None),
            ("example.com/a/v2/@v/v1.0.0.mod", None),
            ("example.com/Upper/@v/v1.0.0.mod", None),
            ("sumdb/sum.example/lookup/x@v1.0.0", None),
            ("README", None),
        ];
        for (path, want) in cases {
            let got = classify(path);
            match want {
                Some(want) => assert_eq!(got, want, "{path}"),
                None => assert!(matches!(got, TreeFile::Other(_)), "{path}: {got:?}"),
            }
        }
    }

    #[test]
    fn module_dirs_are_every_module_with_a_version_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "example.com/b/@v/v1.0.0.mod",
            "example.com/a/@v/list",
            "example.com/a/v2/@v/v2.0.0.info",
            "example.com/!upper/@v/v1.0.0.mod",
            ".godepot/mutable/example.com/c/@v/list",
            "stray/readme.txt",
        ] {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, rel).unwrap();
        }
        let modules: Vec<String> = module_dirs(root)
            .unwrap()
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(
            modules,
            [
                "example.com/Upper",
                "example.com/a",
                "example.com/a/v2",
                "example.com/b"
            ]
        );
    }

    #[test]
    fn walk_of_many_directories_finds_every_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for m in 0..40 {
            for v in 0..5 {
                let rel = format!("example.com/m{m}/sub{}/@v/v1.0.{v}.mod", m % 3);
                let path = dir.path().join(&rel);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, "module x\n").unwrap();
                want.push(rel);
            }
        }
        for rel in [
            "example.com/m1/sub1/@v/v1.0.0.lock",
            "example.com/m1/sub1/@v/list",
            "example.com/m1/sub1/@v/nested/v1.0.0.mod",
            "example.com/Bad/@v/v1.0.0.mod",
            "example.com/m2/v3/@v/v1.0.0.mod",
            "@v/v1.0.0.mod",
        ] {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "module x\n").unwrap();
            want.push(rel.to_owned());
        }
        want.sort();
        let walked = walk_tree(dir.path()).unwrap();
        let got: Vec<&str> = walked.iter().map(|e| e.rel_path.as_str()).collect();
        assert_eq!(got, want);
        // Each file's module parsed once for its directory: the same as from its path.
        for entry in &walked {
            assert_eq!(entry.file, classify(&entry.rel_path), "{}", entry.rel_path);
        }
    }

    #[test]
    fn walk_of_a_missing_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(walk_tree(&dir.path().join("absent")).is_err());
    }

    #[test]
    fn walk_is_sorted_and_skips_the_meta_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in [
            "example.com/b/@v/v1.0.0.mod",
            "example.com/a/@v/v1.0.0.zip",
            "example.com/a/@v/list",
            ".godepot/tmp/1.tmp",
            "stray.txt",
        ] {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, rel).unwrap();
        }
        let walked = walk_tree(root).unwrap();
        let paths: Vec<&str> = walked.iter().map(|e| e.rel_path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "example.com/a/@v/list",
                "example.com/a/@v/v1.0.0.zip",
                "example.com/b/@v/v1.0.0.mod",
                "stray.txt",
            ]
        );
        assert_eq!(walked[1].size, "example.com/a/@v/v1.0.0.zip".len() as u64);
        assert!(matches!(walked[3].file, TreeFile::Other(_)));
    }
}
