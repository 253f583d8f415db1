//! Answers from the store alone, for offline mode: what godepot holds is all there is.

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
/// Kept for the list TTL like an upstream answer, so hits do not read the file each time.
pub(crate) async fn list(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    let rel = format!("{}/@v/list", module.escaped());
    if let Some(entry) = inner.mutable.fresh(&rel, inner.options.list_ttl) {
        return entry
            .answer
            .map(|data| Answer::bytes(data, CacheStatus::Offline, false));
    }
    let answer = read_list(inner, module).await;
    if matches!(&answer, Ok(_) | Err(DepotError::NotFound(_))) {
        inner
            .mutable
            .remember(&rel, answer.clone(), CacheStatus::Offline);
    }
    answer.map(|data| Answer::bytes(data, CacheStatus::Offline, false))
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
    let data = inner.blocking(move |s| s.read(&key)).await?;
    // A version held only for its go.mod has no stored .info; the go command needs only the
    // Version field.
    let data = data.unwrap_or_else(|| Bytes::from(format!("{{\"Version\":\"{version}\"}}\n")));
    Ok(Answer::bytes(data, CacheStatus::Offline, false))
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
