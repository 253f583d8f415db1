//! What a store holds, module by module.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use godepot_module::{Version, matches_glob_prefix};
use godepot_store::{Kind, Store, TreeEntry, TreeFile};
use godepot_sumdb::SumdbPath;
use serde::Serialize;

use crate::BundleError;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    pub modules: Vec<ModuleListing>,
    pub total_modules: usize,
    pub total_versions: usize,
    /// The bytes of the module versions listed.
    pub total_bytes: u64,
    /// The checksum-database answers held (lookups, tiles, `latest`): counted only when
    /// listing everything, as they belong to no one module.
    pub sumdb_files: usize,
    pub sumdb_bytes: u64,
    /// Everything counted: the versions' bytes and the checksum-database answers'.
    pub all_bytes: u64,
}

/// The orders `ls --sort` offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    /// Modules by path, versions by semantic version.
    #[default]
    Name,
    /// Largest first: modules by their bytes, versions within by theirs.
    Size,
    /// Most recently stored first: modules by their newest version, versions by theirs.
    Time,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleListing {
    pub path: String,
    pub versions: Vec<VersionListing>,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionListing {
    pub version: String,
    /// The kinds of file held, among `info`, `mod`, `zip`, `ziphash`.
    pub files: Vec<&'static str>,
    pub bytes: u64,
    /// When the version's newest file was stored (its modification time).
    #[serde(serialize_with = "crate::time::serialize_rfc3339")]
    pub stored: SystemTime,
    /// The zip's licence as the module index holds it (`MIT`, `unknown`; see
    /// `godepot_license`): filled by the caller from the index, `None` when the zip is not
    /// held or the index does not know.
    pub license: Option<String>,
}

impl VersionListing {
    /// Whether a client can download it: `.info`, `.mod` and `.zip` are all held.
    pub fn is_complete(&self) -> bool {
        [Kind::Info, Kind::Mod, Kind::Zip]
            .iter()
            .all(|k| self.files.contains(&k.extension()))
    }
}

impl ModuleListing {
    /// When its most recently stored version was.
    pub fn stored(&self) -> SystemTime {
        self.versions
            .iter()
            .map(|v| v.stored)
            .max()
            .unwrap_or(UNIX_EPOCH)
    }
}

impl Listing {
    /// Puts modules, and versions within each, in this order (stable: ties stay by name).
    pub fn sort(&mut self, by: SortBy) {
        match by {
            SortBy::Name => {}
            SortBy::Size => {
                self.modules.sort_by_key(|m| Reverse(m.bytes));
                for m in &mut self.modules {
                    m.versions.sort_by_key(|v| Reverse(v.bytes));
                }
            }
            SortBy::Time => {
                self.modules.sort_by_key(|m| Reverse(m.stored()));
                for m in &mut self.modules {
                    m.versions.sort_by_key(|v| Reverse(v.stored));
                }
            }
        }
    }
}

/// Whether `module` is selected by `pattern`: comma-separated globs matched against whole
/// leading path elements (as GOPRIVATE does), or a plain string prefix.
pub fn matches(pattern: &str, module: &str) -> bool {
    matches_glob_prefix(pattern, module) || module.starts_with(pattern)
}

/// Lists the artifacts among `entries` (a store's [`godepot_store::Store::walk`], or
/// [`godepot_store::walk_tree`] of a directory), modules sorted by path and versions by
/// semantic version.
/// `sumdb` is the sizes of the checksum-database answers held ([`sumdb_sizes`],
/// [`sumdb_sizes_in`]), counted when there is no pattern.
pub fn list(
    entries: Vec<TreeEntry>,
    sumdb: &[u64],
    pattern: Option<&str>,
) -> Result<Listing, BundleError> {
    let mut modules: BTreeMap<String, BTreeMap<Version, VersionListing>> = BTreeMap::new();
    for entry in entries {
        let TreeFile::Artifact(key) = entry.file else {
            continue;
        };
        if pattern.is_some_and(|p| !matches(p, key.module.as_str())) {
            continue;
        }
        let version = modules
            .entry(key.module.to_string())
            .or_default()
            .entry(key.version.clone())
            .or_insert_with(|| VersionListing {
                version: key.version.to_string(),
                files: Vec::new(),
                bytes: 0,
                stored: UNIX_EPOCH,
                license: None,
            });
        version.files.push(key.kind.extension());
        version.bytes += entry.size;
        version.stored = version.stored.max(entry.modified);
    }
    let mut listing = Listing::default();
    for (path, versions) in modules {
        let mut versions: Vec<VersionListing> = versions.into_values().collect();
        for v in &mut versions {
            v.files.sort_by_key(|ext| kind_rank(ext));
        }
        let bytes = versions.iter().map(|v| v.bytes).sum();
        listing.total_versions += versions.len();
        listing.total_bytes += bytes;
        listing.modules.push(ModuleListing {
            path,
            versions,
            bytes,
        });
    }
    listing.total_modules = listing.modules.len();
    if pattern.is_none() {
        listing.sumdb_files = sumdb.len();
        listing.sumdb_bytes = sumdb.iter().sum();
    }
    listing.all_bytes = listing.total_bytes + listing.sumdb_bytes;
    Ok(listing)
}

/// The sizes of the checksum-database answers under the data directory `root`.
pub fn sumdb_sizes(root: &Path) -> Result<Vec<u64>, BundleError> {
    crate::sumdb::cache::walk(root)?
        .iter()
        .map(|answer| {
            std::fs::metadata(&answer.path)
                .map(|m| m.len())
                .map_err(BundleError::io(&answer.path))
        })
        .collect()
}

/// [`sumdb_sizes`] of any store (its metadata under `sumdb/`, read through the trait).
pub fn sumdb_sizes_in(store: &dyn Store) -> Result<Vec<u64>, BundleError> {
    let mut sizes = Vec::new();
    for name in store.list_meta("sumdb")? {
        let Some(rest) = name.strip_prefix("sumdb/") else {
            continue;
        };
        let Some((_, rel)) = rest.split_once('/') else {
            continue;
        };
        if rel == godepot_sumdb::check::VERIFIED_TREE || SumdbPath::parse(rest).is_err() {
            continue;
        }
        if let Some(data) = store.get_meta(&name)? {
            sizes.push(data.len() as u64);
        }
    }
    Ok(sizes)
}

fn kind_rank(ext: &str) -> usize {
    [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash]
        .iter()
        .position(|k| k.extension() == ext)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn module(path: &str, versions: &[(&str, u64, u64)]) -> ModuleListing {
        let versions: Vec<VersionListing> = versions
            .iter()
            .map(|(version, bytes, at)| VersionListing {
                version: version.to_string(),
                files: vec!["info", "mod", "zip"],
                bytes: *bytes,
                stored: UNIX_EPOCH + Duration::from_secs(*at),
                license: None,
            })
            .collect();
        ModuleListing {
            path: path.into(),
            bytes: versions.iter().map(|v| v.bytes).sum(),
            versions,
        }
    }

    fn order(listing: &Listing) -> Vec<String> {
        listing
            .modules
            .iter()
            .flat_map(|m| {
                m.versions
                    .iter()
                    .map(|v| format!("{} {}", m.path, v.version))
            })
            .collect()
    }

    #[test]
    fn sorts_by_size_and_time() {
        let base = Listing {
            modules: vec![
                module("example.com/a", &[("v1.0.0", 10, 300), ("v1.1.0", 5, 100)]),
                module("example.com/b", &[("v1.0.0", 20, 200), ("v2.0.0", 40, 50)]),
            ],
            ..Listing::default()
        };
        let sorted = |by| {
            let mut listing = base.clone();
            listing.sort(by);
            order(&listing)
        };
        let (a10, a11) = ("example.com/a v1.0.0", "example.com/a v1.1.0");
        let (b10, b20) = ("example.com/b v1.0.0", "example.com/b v2.0.0");
        assert_eq!(sorted(SortBy::Name), [a10, a11, b10, b20]);
        assert_eq!(sorted(SortBy::Size), [b20, b10, a10, a11]);
        assert_eq!(sorted(SortBy::Time), [a10, a11, b10, b20]);
        let mut newest_b = base.clone();
        newest_b.modules[1].versions[1].stored = UNIX_EPOCH + Duration::from_secs(400);
        newest_b.sort(SortBy::Time);
        assert_eq!(order(&newest_b), [b20, b10, a10, a11]);
    }

    #[test]
    fn pattern_table() {
        let cases = [
            ("example.com", "example.com/a", true),
            ("example.com/a", "example.com/a/b", true),
            ("example.com/a", "example.com/ab", true),
            ("*.com/a", "example.com/a", true),
            ("example.com/*/c", "example.com/b/c/d", true),
            ("other.org,example.com", "example.com/a", true),
            ("example.org", "example.com/a", false),
            ("*.org", "example.com/a", false),
        ];
        for (pattern, module, want) in cases {
            assert_eq!(matches(pattern, module), want, "{pattern} {module}");
        }
    }
}
