//! What a store holds, module by module.

use std::collections::BTreeMap;
use std::path::Path;

use godepot_module::{Version, matches_glob_prefix};
use godepot_store::{Kind, TreeFile, walk_tree};
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
}

/// Whether `module` is selected by `pattern`: comma-separated globs matched against whole
/// leading path elements (as GOPRIVATE does), or a plain string prefix.
pub fn matches(pattern: &str, module: &str) -> bool {
    matches_glob_prefix(pattern, module) || module.starts_with(pattern)
}

/// Lists the artifacts of the tree at `root`, modules sorted by path and versions by
/// semantic version.
pub fn list(root: &Path, pattern: Option<&str>) -> Result<Listing, BundleError> {
    let mut modules: BTreeMap<String, BTreeMap<Version, VersionListing>> = BTreeMap::new();
    for entry in walk_tree(root)? {
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
            });
        version.files.push(key.kind.extension());
        version.bytes += entry.size;
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
        for answer in crate::sumdb::cache::walk(root)? {
            let meta = std::fs::metadata(&answer.path).map_err(BundleError::io(&answer.path))?;
            listing.sumdb_files += 1;
            listing.sumdb_bytes += meta.len();
        }
    }
    Ok(listing)
}

fn kind_rank(ext: &str) -> usize {
    [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash]
        .iter()
        .position(|k| k.extension() == ext)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::matches;

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
