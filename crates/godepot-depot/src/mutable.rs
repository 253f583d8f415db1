//! Mutable answers: `list`, `@latest`, and `.info` of queries (branches, commits, `v1.2`).
//!
//! Each is fetched from upstream at most once per time-to-live, shared by all askers. When
//! upstream fails, the last good answer is served (stale-if-error), from memory or, after a
//! restart, from its copy under `.godepot/mutable/`. Offline, answers come from the store.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_upstream::FetchError;

use crate::answer::{Answer, CacheStatus};
use crate::ingest::check_query_info;
use crate::{DepotError, Inner, offline};

/// The upper bound for a list or query answer.
const MAX_MUTABLE: u64 = 16 << 20;

#[derive(Default)]
pub(crate) struct MutableCache {
    /// std's mutex: held only for map lookups and inserts.
    entries: Mutex<HashMap<String, Entry>>,
    health: Health,
}

#[derive(Clone)]
pub(crate) struct Entry {
    checked: Instant,
    pub(crate) answer: Result<Bytes, DepotError>,
    status: CacheStatus,
}

/// What the last upstream contact showed, for the readiness report. Shared by every fetch.
#[derive(Clone, Default)]
pub(crate) struct Health {
    last: Arc<Mutex<Option<Result<(), String>>>>,
}

impl Health {
    pub(crate) fn ok(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(()));
    }

    pub(crate) fn failed(&self, e: &FetchError) {
        let value = match e {
            FetchError::NotFound { .. } => Ok(()),
            e => Err(e.to_string()),
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    pub(crate) fn record<T>(&self, result: &Result<T, FetchError>) {
        match result {
            Ok(_) => self.ok(),
            Err(e) => self.failed(e),
        }
    }
}

impl MutableCache {
    pub(crate) fn health_handle(&self) -> Health {
        self.health.clone()
    }

    pub(crate) fn upstream_health(&self) -> String {
        match &*self.health.last.lock().unwrap_or_else(|e| e.into_inner()) {
            None => "not contacted yet".to_string(),
            Some(Ok(())) => "reachable".to_string(),
            Some(Err(e)) => format!("last contact failed: {e}"),
        }
    }

    pub(crate) fn fresh(&self, rel: &str, ttl: std::time::Duration) -> Option<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(rel)
            .filter(|e| e.checked.elapsed() < ttl)
            .cloned()
    }

    fn last_good(&self, rel: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(rel).and_then(|e| e.answer.clone().ok())
    }

    pub(crate) fn remember(
        &self,
        rel: &str,
        answer: Result<Bytes, DepotError>,
        status: CacheStatus,
    ) {
        let entry = Entry {
            checked: Instant::now(),
            answer,
            status,
        };
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rel.to_string(), entry);
    }
}

/// How a kind of mutable answer is checked before it is believed. (`query` is empty for a
/// list, which is also merged with the versions held.)
type Check = fn(&Bytes, &ModulePath, &str) -> Result<(), DepotError>;

/// The shared policy: fresh cache, else one upstream fetch, else the last good answer.
async fn cached(
    inner: &Inner,
    module: &ModulePath,
    rel: String,
    what: String,
    check: Check,
    query: &str,
) -> Result<(Bytes, CacheStatus), DepotError> {
    let is_list = query.is_empty();
    let cache = &inner.mutable;
    if let Some(entry) = cache.fresh(&rel, inner.options.list_ttl) {
        let status = match entry.status {
            CacheStatus::Stale => CacheStatus::Stale,
            _ => CacheStatus::Hit,
        };
        return entry.answer.map(|data| (data, status));
    }
    let upstream = inner
        .upstream
        .clone()
        .expect("callers answer offline requests themselves");
    let health = cache.health_handle();
    let store = Arc::clone(&inner.store);
    let (module_c, query_c, rel_c) = (module.clone(), query.to_string(), rel.clone());
    let (fetched, _) = inner
        .small_flights
        .run(&rel, || async move {
            let result = upstream.get_bytes(&rel_c, MAX_MUTABLE).await;
            health.record(&result);
            let data = result.map_err(|e| DepotError::from_fetch(&what, e))?;
            check(&data, &module_c, &query_c)?;
            if !is_list {
                return Ok(data);
            }
            // Merged here, once per fetch, so that serving a cached list touches no file.
            let held = tokio::task::spawn_blocking(move || store.versions(&module_c))
                .await
                .map_err(|e| DepotError::Store(e.to_string()))?
                .map_err(DepotError::store)?;
            Ok(merge_list(data, &held))
        })
        .await;
    let meta = format!("mutable/{rel}");
    match fetched {
        Ok(data) => {
            cache.remember(&rel, Ok(data.clone()), CacheStatus::Miss);
            persist(inner, meta, data.clone()).await;
            Ok((data, CacheStatus::Miss))
        }
        Err(e) if e.is_not_found() => {
            cache.remember(&rel, Err(e.clone()), CacheStatus::Miss);
            Err(e)
        }
        Err(e) => {
            let last = match cache.last_good(&rel) {
                Some(data) => Some(data),
                None => inner
                    .blocking(move |s| s.get_meta(&meta))
                    .await
                    .ok()
                    .flatten(),
            };
            match last {
                Some(data) => {
                    tracing::warn!(%rel, error = %e, "upstream failed; serving the last good answer");
                    // Remembered as fresh, so a dead upstream is not asked again on every request.
                    cache.remember(&rel, Ok(data.clone()), CacheStatus::Stale);
                    Ok((data, CacheStatus::Stale))
                }
                None => Err(e),
            }
        }
    }
}

/// Keeps a copy of the last good answer, so that stale-if-error survives a restart. Written
/// only when it changed.
async fn persist(inner: &Inner, meta: String, data: Bytes) {
    let result = inner
        .blocking(move |s| {
            if s.get_meta(&meta)?.as_ref() != Some(&data) {
                s.put_meta(&meta, &data)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not keep a copy of a mutable answer");
    }
}

pub(crate) async fn list(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    if inner.upstream.is_none() {
        return offline::list(inner, module).await;
    }
    let rel = format!("{}/@v/list", module.escaped());
    let what = format!("{module}: list");
    match cached(inner, module, rel, what, check_list, "").await {
        Ok((data, status)) => Ok(Answer::bytes(data, status, false)),
        // Versions are kept forever: a module upstream no longer knows is still listed here.
        Err(e) if e.is_not_found() => {
            let held_module = module.clone();
            let held = inner.blocking(move |s| s.versions(&held_module)).await?;
            if held.is_empty() {
                return Err(e);
            }
            let merged = merge_list(Bytes::new(), &held);
            Ok(Answer::bytes(merged, CacheStatus::Hit, false))
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn latest(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    if inner.upstream.is_none() {
        return offline::latest(inner, module).await;
    }
    let rel = format!("{}/@latest", module.escaped());
    let what = format!("{module}@latest");
    let (data, status) = cached(inner, module, rel, what, check_query_info, "latest").await?;
    Ok(Answer::bytes(data, status, false))
}

pub(crate) async fn query_info(
    inner: &Inner,
    module: &ModulePath,
    query: &str,
) -> Result<Answer, DepotError> {
    let escaped =
        godepot_module::escape_version(query).map_err(|e| DepotError::Invalid(e.to_string()))?;
    let rel = format!("{}/@v/{escaped}.info", module.escaped());
    if inner.upstream.is_none() {
        return offline::query_info(inner, module, query, format!("mutable/{rel}")).await;
    }
    let what = format!("{module}@{query}");
    let (data, status) = cached(inner, module, rel, what, check_query_info, query).await?;
    Ok(Answer::bytes(data, status, false))
}

/// A list is lines of versions (optionally followed by a timestamp). Anything else is not
/// something a proxy would send.
fn check_list(data: &Bytes, module: &ModulePath, _: &str) -> Result<(), DepotError> {
    let text = std::str::from_utf8(data).map_err(|_| {
        DepotError::Rejected(format!("{module}: upstream list is not text; refusing it"))
    })?;
    let bad = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find(|v| !godepot_module::semver::is_valid(v));
    match bad {
        None => Ok(()),
        Some(v) => Err(DepotError::Rejected(format!(
            "{module}: upstream list holds {v:?}, which is not a version; refusing it"
        ))),
    }
}

/// Upstream's list, byte for byte, plus any held version it no longer lists.
fn merge_list(upstream: Bytes, held: &[Version]) -> Bytes {
    let text = String::from_utf8_lossy(&upstream);
    let listed: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let missing: Vec<&Version> = held
        .iter()
        .filter(|v| !listed.contains(v.as_str()))
        .collect();
    if missing.is_empty() {
        return upstream;
    }
    let mut merged = text.into_owned();
    if !merged.is_empty() && !merged.ends_with('\n') {
        merged.push('\n');
    }
    for v in missing {
        merged.push_str(v.as_str());
        merged.push('\n');
    }
    Bytes::from(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn merged_lists_keep_upstream_bytes_and_add_held_versions() {
        let up = Bytes::from_static(b"v1.0.0\nv1.1.0 2020-01-01T00:00:00Z\n");
        assert_eq!(merge_list(up.clone(), &[v("v1.0.0"), v("v1.1.0")]), up);
        assert_eq!(
            merge_list(up, &[v("v0.9.0")]),
            "v1.0.0\nv1.1.0 2020-01-01T00:00:00Z\nv0.9.0\n"
        );
        assert_eq!(merge_list(Bytes::new(), &[v("v1.0.0")]), "v1.0.0\n");
    }

    #[test]
    fn lists_must_hold_versions() {
        let m = ModulePath::parse("example.com/m").unwrap();
        assert!(check_list(&Bytes::from_static(b"v1.0.0\nv1.2.0-pre\n"), &m, "").is_ok());
        assert!(check_list(&Bytes::from_static(b""), &m, "").is_ok());
        assert!(check_list(&Bytes::from_static(b"<html>\n"), &m, "").is_err());
    }
}
