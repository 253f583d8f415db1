//! The Go vulnerability database across the gap. A store keeps its copy among its metadata
//! files (`.godepot/vulndb/`, see `godepot_depot`'s mirror); a bundle carries it as
//! `vulndb/index/db.json`, `vulndb/index/modules.json`, `vulndb/ID/<id>.json` (the same
//! layout), taken whole and checked ([`godepot_vulndb::validate`]) when exported. Import
//! checks the copy it carries the same way, and replaces the copy held only with a newer one
//! (by `index/db.json`'s `modified`), entries first and `index/db.json` last.

use std::io::Read;
use std::path::Path;

use godepot_store::Store;
use godepot_vulndb::validate::modified;
use godepot_vulndb::{DbCopy, DbFile, VulnDb};
use serde::Serialize;

use crate::BundleError;

/// Where a bundle carries the database.
pub const BUNDLE_PREFIX: &str = "vulndb/";

/// What an import did with the database a bundle carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VulnDbImport {
    /// `index/db.json`'s time of the copy carried.
    pub modified: String,
    /// Of the copy held before (`None`: none was).
    pub previous: Option<String>,
    /// Entries carried.
    pub entries: usize,
    /// Whether the copy carried replaced the one held (it was newer, or none was held).
    pub replaced: bool,
}

/// A copy as `get` reads its files (metadata names).
fn read_copy(
    get: impl FnMut(&str) -> Result<Option<Vec<u8>>, BundleError>,
) -> Result<Option<DbCopy>, BundleError> {
    DbCopy::read(get)
}

/// The copy held in the store whose data directory is `root`.
pub fn held_at(root: &Path) -> Result<Option<DbCopy>, BundleError> {
    let meta = root.join(godepot_store::local::META_DIR);
    read_copy(|name| {
        let path = meta.join(name);
        match std::fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BundleError::io(path)(e)),
        }
    })
}

/// The copy held in `store`.
pub fn held(store: &dyn Store) -> Result<Option<DbCopy>, BundleError> {
    read_copy(|name| Ok(store.get_meta(name)?.map(|b| b.to_vec())))
}

/// A copy's files as a bundle carries them, in path order.
pub(crate) fn bundle_files(copy: &DbCopy) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (bundle_path(&DbFile::DbIndex), copy.db.clone()),
        (bundle_path(&DbFile::ModulesIndex), copy.modules.clone()),
    ];
    if let Some(v) = &copy.vulns {
        files.push((bundle_path(&DbFile::VulnsIndex), v.clone()));
    }
    for (id, data) in &copy.entries {
        files.push((bundle_path(&DbFile::Entry(id.clone())), data.clone()));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    files
}

fn bundle_path(file: &DbFile) -> String {
    format!("{BUNDLE_PREFIX}{}", file.rel())
}

/// The database files of a bundle being imported, held in memory until the whole bundle
/// has been read (the database is small: the whole Go database is a few MiB).
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    copy: DbCopy,
    files: usize,
    has_db: bool,
}

impl Incoming {
    /// Reads one `vulndb/…` entry of `size` bytes; the SHA-256 of what was read, or why the
    /// file is refused.
    pub(crate) fn add(
        &mut self,
        path: &str,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<Result<String, String>, std::io::Error> {
        let rel = path.strip_prefix(BUNDLE_PREFIX).unwrap_or(path);
        let file = match DbFile::parse(rel) {
            Ok(file) => file,
            Err(e) => return Ok(Err(e.to_string())),
        };
        if size > file.max_size() {
            return Ok(Err(format!(
                "{size} bytes, more than the {} a file of its kind may have",
                file.max_size()
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        Read::take(reader, size).read_to_end(&mut data)?;
        let sha256 = crate::hashing::sha256_hex(&data);
        self.files += 1;
        match file {
            DbFile::DbIndex => {
                self.copy.db = data;
                self.has_db = true;
            }
            DbFile::ModulesIndex => self.copy.modules = data,
            DbFile::VulnsIndex => self.copy.vulns = Some(data),
            DbFile::Entry(id) => {
                self.copy.entries.insert(id, data);
            }
        }
        Ok(Ok(sha256))
    }

    /// Files read.
    pub(crate) fn len(&self) -> usize {
        self.files
    }

    /// Checks the whole copy carried (before anything is published): `Err` names the
    /// problems.
    pub(crate) fn check(&self) -> Result<Option<VulnDb>, (String, String)> {
        if self.files == 0 {
            return Ok(None);
        }
        if !self.has_db {
            return Err((
                format!("{BUNDLE_PREFIX}index/db.json"),
                "the bundle carries a vulnerability database without its index/db.json".into(),
            ));
        }
        godepot_vulndb::validate(&self.copy).map(Some).map_err(|e| {
            (
                BUNDLE_PREFIX.trim_end_matches('/').to_string(),
                e.to_string(),
            )
        })
    }

    /// Keeps the copy carried unless the store holds one at least as new.
    pub(crate) fn publish(
        self,
        store: &dyn Store,
        checked: &VulnDb,
    ) -> Result<VulnDbImport, BundleError> {
        let previous = store
            .get_meta(&DbFile::DbIndex.meta_name())?
            .and_then(|b| modified(&b).ok());
        let replaced = previous.as_ref().is_none_or(|p| checked.modified() > p);
        if replaced {
            for (id, data) in &self.copy.entries {
                store.put_meta(&DbFile::Entry(id.clone()).meta_name(), data)?;
            }
            if let Some(v) = &self.copy.vulns {
                store.put_meta(&DbFile::VulnsIndex.meta_name(), v)?;
            }
            store.put_meta(&DbFile::ModulesIndex.meta_name(), &self.copy.modules)?;
            store.put_meta(&DbFile::DbIndex.meta_name(), &self.copy.db)?;
        }
        Ok(VulnDbImport {
            modified: checked.modified().to_string(),
            previous: previous.map(|p| p.to_string()),
            entries: self.copy.entries.len(),
            replaced,
        })
    }
}
