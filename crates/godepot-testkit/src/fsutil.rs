//! File-tree helpers: copying fixtures, listing what a server stored (to prove a failed fetch
//! left nothing behind), and making the go command's read-only module cache deletable.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Recursively copies `src` into `dest` (created if missing). Symlinks are not expected.
pub fn copy_dir(src: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap_or_else(|e| panic!("mkdir {}: {e}", dest.display()));
    for entry in fs::read_dir(src).unwrap_or_else(|e| panic!("read_dir {}: {e}", src.display())) {
        let entry = entry.expect("dir entry");
        let to = dest.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// Every regular file under `root`, as `/`-separated relative path → size. An absent root is
/// an empty tree.
pub fn tree(root: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, entry.metadata().map(|m| m.len()).unwrap_or(0));
        }
    }
}

/// Files under `root` whose relative path contains `needle`.
pub fn files_containing(root: &Path, needle: &str) -> Vec<String> {
    tree(root)
        .into_keys()
        .filter(|p| p.contains(needle))
        .collect()
}

/// Gives the owner write permission on everything under `root`: the go command makes its
/// module cache read-only, which would make temp-dir cleanup fail.
pub fn make_writable(root: &Path) {
    let Ok(meta) = fs::symlink_metadata(root) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o200 == 0 {
        let _ = fs::set_permissions(root, fs::Permissions::from_mode(mode | 0o200));
    }
    if meta.is_dir()
        && let Ok(rd) = fs::read_dir(root)
    {
        for entry in rd.flatten() {
            make_writable(&entry.path());
        }
    }
}
