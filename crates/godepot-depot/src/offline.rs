//! Answers from the store alone, for offline mode: what godepot holds is all there is.
//!
//! `list`, `@latest` and `v1.2`-style queries offer only versions a client can download
//! (held as `.info`, `.mod` and `.zip`: `Store::versions`); a version held only as `.mod`
//! for module-graph pruning is served when named, never offered. They are read from the
//! store on every request, never cached: an import into the same data directory (by
//! another process) must be visible at once, and reading one module's `@v/` directory
//! costs less than a stale answer.

use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind};

use crate::answer::{Answer, CacheStatus};
use crate::{DepotError, Inner};

async fn held(inner: &Inner, module: &ModulePath) -> Result<Vec<Version>, DepotError> {
    let module = module.clone();
    inner.blocking(move |s| s.versions(&module)).await
}

/// The versions held. An unknown module answers 404, as a proxy that never saw it would.
pub(crate) async fn list(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    read_list(inner, module)
        .await
        .map(|data| Answer::bytes(data, CacheStatus::Offline, false))
}

async fn read_list(inner: &Inner, module: &ModulePath) -> Result<Bytes, DepotError> {
    let versions = held(inner, module).await?;
    if versions.is_empty() {
        return Err(DepotError::NotFound(format!(
            "{module}: no versions held (offline mode)"
        )));
    }
    let mut text = String::new();
    for v in &versions {
        text.push_str(v.as_str());
        text.push('\n');
    }
    Ok(Bytes::from(text))
}

/// The held version the go command would pick as latest.
pub(crate) async fn latest(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    let versions = held(inner, module).await?;
    let Some(version) = godepot_module::pick_latest(&versions).cloned() else {
        return Err(DepotError::NotFound(format!(
            "{module}@latest: no versions held (offline mode)"
        )));
    };
    info_of(inner, module, version).await
}

/// A query offline: the last answer upstream gave for it, else (for `v1.2`-style prefixes)
/// the highest held version it covers.
pub(crate) async fn query_info(
    inner: &Inner,
    module: &ModulePath,
    query: &str,
    meta: String,
) -> Result<Answer, DepotError> {
    if let Some(data) = inner.blocking(move |s| s.get_meta(&meta)).await? {
        return Ok(Answer::bytes(data, CacheStatus::Offline, false));
    }
    let versions = held(inner, module).await?;
    let best = versions
        .iter()
        .filter(|v| covers(query, v.as_str()))
        .max()
        .cloned();
    match best {
        Some(version) => info_of(inner, module, version).await,
        None => Err(DepotError::NotFound(format!(
            "{module}@{query}: not held (offline mode)"
        ))),
    }
}

/// Whether a shorthand like `v1` or `v1.2` names this version's release line.
fn covers(query: &str, version: &str) -> bool {
    let dots = query.matches('.').count();
    godepot_module::semver::is_valid(query)
        && dots < 2
        && version.starts_with(query)
        && version[query.len()..].starts_with('.')
        && godepot_module::semver::prerelease(version).is_none()
}

async fn info_of(
    inner: &Inner,
    module: &ModulePath,
    version: Version,
) -> Result<Answer, DepotError> {
    let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Info);
    // Offered versions are held with their .info; one removed since (a quarantine) is gone.
    match inner.blocking(move |s| s.read(&key)).await? {
        Some(data) => Ok(Answer::bytes(data, CacheStatus::Offline, false)),
        None => Err(DepotError::NotFound(format!(
            "{module}@{version}: .info not held (offline mode)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn shorthand_queries() {
        assert!(covers("v1", "v1.4.0"));
        assert!(covers("v1.4", "v1.4.2"));
        assert!(!covers("v1.4", "v1.40.0"));
        assert!(!covers("v1", "v10.0.0"));
        assert!(!covers("v1.4", "v1.4.3-pre"));
        assert!(!covers("master", "v1.0.0"));
        assert!(!covers("v1.4.2", "v1.4.2"));
    }
}
