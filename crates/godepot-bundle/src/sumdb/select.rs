//! Which cached database answers go into a bundle.

use std::collections::{BTreeSet, HashSet};
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_sumdb::SumdbPath;

use super::BUNDLE_PREFIX;
use super::cache::CachedFile;

/// The answers a bundle carries: the lookup answers of the versions it carries (all of them
/// when `versions` is `None`, i.e. everything is exported), and every tile and `latest`,
/// which proofs of those records may need and which are small. Like artifacts, they are
/// left out when older than `since` or carried by an earlier bundle of the chain, except
/// `latest`, which changes.
pub(crate) fn select(
    cached: Vec<CachedFile>,
    versions: Option<&HashSet<(&ModulePath, &Version)>>,
    since: Option<SystemTime>,
    prior: &BTreeSet<String>,
) -> Vec<CachedFile> {
    cached
        .into_iter()
        .filter(|f| match (&f.endpoint, versions) {
            (SumdbPath::Lookup(m, v), Some(versions)) => versions.contains(&(m, v)),
            _ => true,
        })
        .filter(|f| {
            f.endpoint == SumdbPath::Latest
                || (since.is_none_or(|s| f.modified >= s) && !prior.contains(&bundle_path(f)))
        })
        .collect()
}

/// Where a cached answer goes in a bundle.
pub(crate) fn bundle_path(file: &CachedFile) -> String {
    format!("{BUNDLE_PREFIX}{}/{}", file.database, file.rel)
}

/// The `supported` markers of the databases whose answers a bundle carries: with them, the
/// unpacked bundle answers the go command's `<proxy>/sumdb/<name>/supported`.
pub(crate) fn markers(files: &[CachedFile]) -> Vec<String> {
    let names: HashSet<&str> = files.iter().map(|f| f.database.as_str()).collect();
    let mut out: Vec<String> = names
        .into_iter()
        .map(|n| format!("{BUNDLE_PREFIX}{n}/supported"))
        .collect();
    out.sort();
    out
}
