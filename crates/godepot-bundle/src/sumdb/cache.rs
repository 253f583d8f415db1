//! A store's cached checksum-database answers: `.godepot/sumdb/<name>/<rel>`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use godepot_store::Store;
use godepot_store::local::META_DIR;
use godepot_sumdb::SumdbPath;
use godepot_sumdb::check::{VERIFIED_TREE, cache_name};

use crate::BundleError;

/// One cached answer.
#[derive(Debug, Clone)]
pub(crate) struct CachedFile {
    pub(crate) database: String,
    /// Relative to the database's root: `latest`, `lookup/…`, `tile/…`.
    pub(crate) rel: String,
    pub(crate) endpoint: SumdbPath,
    pub(crate) path: PathBuf,
    pub(crate) modified: SystemTime,
}

/// A cached answer's bytes, if held: a file of a data directory, or a bucket's key.
pub(crate) fn read(
    store: &dyn Store,
    database: &str,
    rel: &str,
) -> Result<Option<Vec<u8>>, BundleError> {
    Ok(store
        .get_meta(&cache_name(database, rel))?
        .map(|data| data.to_vec()))
}

/// Every cached answer of every database, sorted by (database, rel). Files that are not
/// answers (the verified tree head, anything stray) are left out.
pub(crate) fn walk(root: &Path) -> Result<Vec<CachedFile>, BundleError> {
    let dir = root.join(META_DIR).join("sumdb");
    let mut out = Vec::new();
    let databases = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(BundleError::io(dir)(e)),
    };
    for entry in databases {
        let entry = entry.map_err(BundleError::io(&dir))?;
        if !entry
            .file_type()
            .map_err(BundleError::io(entry.path()))?
            .is_dir()
        {
            continue;
        }
        let database = entry.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        walk_files(&entry.path(), "", &mut files)?;
        for (rel, path, meta) in files {
            if rel == VERIFIED_TREE {
                continue;
            }
            let Ok((_, endpoint)) = SumdbPath::parse(&format!("{database}/{rel}")) else {
                continue;
            };
            out.push(CachedFile {
                database: database.clone(),
                rel,
                endpoint,
                path,
                modified: meta.modified().map_err(BundleError::io(entry.path()))?,
            });
        }
    }
    out.sort_by(|a, b| (&a.database, &a.rel).cmp(&(&b.database, &b.rel)));
    Ok(out)
}

/// Regular files below `dir` (symlinks are never followed).
fn walk_files(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, PathBuf, fs::Metadata)>,
) -> Result<(), BundleError> {
    for entry in fs::read_dir(dir).map_err(BundleError::io(dir))? {
        let entry = entry.map_err(BundleError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = fs::symlink_metadata(&path).map_err(BundleError::io(&path))?;
        if meta.is_dir() {
            walk_files(&path, &child, out)?;
        } else if meta.is_file() {
            out.push((child, path, meta));
        }
    }
    Ok(())
}
