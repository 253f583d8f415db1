//! The database's file layout, and the paths a client may ask for.

use std::fmt;

/// Directory of the entries.
pub const ID_DIR: &str = "ID";
/// Directory of the indexes.
pub const INDEX_DIR: &str = "index";
/// Where a copy is kept among a store's metadata files (`.godepot/vulndb/…` on disk): the
/// same layout under this prefix.
pub const META_PREFIX: &str = "vulndb";
/// The largest id accepted (the Go database's are 13 characters: `GO-2023-1234`).
pub const MAX_ID_LEN: usize = 128;

/// One file of the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DbFile {
    /// `index/db.json`.
    DbIndex,
    /// `index/modules.json`.
    ModulesIndex,
    /// `index/vulns.json` (optional in a copy).
    VulnsIndex,
    /// `ID/<id>.json`.
    Entry(String),
}

impl DbFile {
    /// The file for an entry id, if the id is acceptable ([`is_valid_id`]).
    pub fn entry(id: &str) -> Result<Self, PathError> {
        if is_valid_id(id) {
            Ok(Self::Entry(id.to_owned()))
        } else {
            Err(PathError::BadId(id.to_owned()))
        }
    }

    /// The path inside the database, `/`-separated, with the `.json` extension.
    pub fn rel(&self) -> String {
        match self {
            Self::DbIndex => "index/db.json".into(),
            Self::ModulesIndex => "index/modules.json".into(),
            Self::VulnsIndex => "index/vulns.json".into(),
            Self::Entry(id) => format!("{ID_DIR}/{id}.json"),
        }
    }

    /// The file's name among a store's metadata files (`vulndb/index/db.json`).
    pub fn meta_name(&self) -> String {
        format!("{META_PREFIX}/{}", self.rel())
    }

    /// The file a metadata name (as [`DbFile::meta_name`] makes them) stands for.
    pub fn from_meta_name(name: &str) -> Option<Self> {
        Self::parse(name.strip_prefix(META_PREFIX)?.strip_prefix('/')?).ok()
    }

    /// Whether the file is one of the indexes (which change; entries change less often).
    pub fn is_index(&self) -> bool {
        !matches!(self, Self::Entry(_))
    }

    /// The largest size accepted for this file (indexes of the whole Go database are a few
    /// hundred KiB; an entry a few KiB).
    pub fn max_size(&self) -> u64 {
        match self {
            Self::DbIndex => 64 * 1024,
            Self::ModulesIndex | Self::VulnsIndex => 64 * 1024 * 1024,
            Self::Entry(_) => 4 * 1024 * 1024,
        }
    }

    /// Parses a `.json` path inside the database (`index/db.json`, `ID/GO-2023-0001.json`).
    pub fn parse(rel: &str) -> Result<Self, PathError> {
        match rel {
            "index/db.json" => Ok(Self::DbIndex),
            "index/modules.json" => Ok(Self::ModulesIndex),
            "index/vulns.json" => Ok(Self::VulnsIndex),
            _ => {
                let Some(file) = rel.strip_prefix("ID/") else {
                    return Err(PathError::Unknown(rel.to_owned()));
                };
                let Some(id) = file.strip_suffix(".json") else {
                    return Err(PathError::Unknown(rel.to_owned()));
                };
                Self::entry(id)
            }
        }
    }
}

impl fmt::Display for DbFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rel())
    }
}

/// What a client asked for: a file, plain or gzip-compressed (`.json.gz`, which is what
/// govulncheck requests over HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbPath {
    /// The file.
    pub file: DbFile,
    /// Asked for as `.json.gz`.
    pub gzip: bool,
}

impl DbPath {
    /// Parses a request path relative to the database root (no leading `/`).
    pub fn parse(rel: &str) -> Result<Self, PathError> {
        match rel.strip_suffix(".gz") {
            Some(json) => Ok(Self {
                file: DbFile::parse(json)?,
                gzip: true,
            }),
            None => Ok(Self {
                file: DbFile::parse(rel)?,
                gzip: false,
            }),
        }
    }
}

/// Why a path names no file of the database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not a file of the layout.
    #[error(
        "{0:?} is not a file of the vulnerability database (index/db.json, index/modules.json, index/vulns.json, ID/<id>.json, each also as .json.gz)"
    )]
    Unknown(String),
    /// An entry path whose id is not acceptable.
    #[error(
        "{0:?} is not a valid entry id (letters, digits, '-', '_', '.', starting with a letter or digit, at most 128 characters)"
    )]
    BadId(String),
}

/// Whether `id` is acceptable as an entry id (and so as a file name): OSV ids such as
/// `GO-2023-1234`; ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit.
pub fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let cases: &[(&str, Option<(DbFile, bool)>)] = &[
            ("index/db.json", Some((DbFile::DbIndex, false))),
            ("index/db.json.gz", Some((DbFile::DbIndex, true))),
            ("index/modules.json.gz", Some((DbFile::ModulesIndex, true))),
            ("index/vulns.json", Some((DbFile::VulnsIndex, false))),
            (
                "ID/GO-2023-0001.json",
                Some((DbFile::Entry("GO-2023-0001".into()), false)),
            ),
            (
                "ID/GO-2023-0001.json.gz",
                Some((DbFile::Entry("GO-2023-0001".into()), true)),
            ),
            ("ID/../x.json", None),
            ("ID/.json", None),
            ("ID/a/b.json", None),
            ("ID/GO-2023-0001", None),
            ("ID/GO-2023-0001.json.gz.gz", None),
            ("index/other.json", None),
            ("index/db", None),
            ("", None),
            ("/index/db.json", None),
            ("ID/.hidden.json", None),
            ("ID/%2e%2e.json", None),
        ];
        for (path, want) in cases {
            let got = DbPath::parse(path).ok().map(|p| (p.file, p.gzip));
            assert_eq!(&got, want, "{path:?}");
        }
        assert_eq!(DbFile::Entry("GO-1".into()).rel(), "ID/GO-1.json");
        assert_eq!(
            DbFile::parse("index/modules.json").unwrap().rel(),
            "index/modules.json"
        );
        let e = DbFile::Entry("GO-2024-0001".into());
        assert_eq!(e.meta_name(), "vulndb/ID/GO-2024-0001.json");
        assert_eq!(DbFile::from_meta_name(&e.meta_name()), Some(e));
        assert_eq!(DbFile::from_meta_name("vulndbx/index/db.json"), None);
    }
}
