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

use crate::answer::{Answer, CacheStatus};
use crate::ingest::check_query_info;
use crate::{DepotError, Fetcher, Inner, offline};

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

    /// "Does not exist" is an answer: the source is reachable.
    pub(crate) fn failed(&self, e: &DepotError) {
        let value = if e.is_not_found() {
            Ok(())
        } else {
            Err(e.to_string())
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }

    pub(crate) fn record<T>(&self, result: &Result<T, DepotError>) {
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

    /// Forgets a cached answer, so the next request asks upstream.
    pub(crate) fn forget(&self, rel: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(rel);
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

/// How a kind of mutable answer is checked before it is believed (with the query it
/// answers: empty for a list).
type Check = fn(&Bytes, &ModulePath, &str) -> Result<(), DepotError>;

/// Which mutable answer is asked for.
#[derive(Clone)]
enum Question {
    /// `@v/list`, which is also merged with the versions held.
    List,
    Latest,
    /// `.info` of a branch, commit or shorthand.
    Query(String),
}

impl Question {
    fn query(&self) -> &str {
        match self {
            Question::List => "",
            Question::Latest => "latest",
            Question::Query(q) => q,
        }
    }

    async fn ask(&self, fetcher: &dyn Fetcher, module: &ModulePath) -> Result<Bytes, DepotError> {
        let fetched = match self {
            Question::List => fetcher.list(module).await,
            Question::Latest => fetcher.latest(module).await,
            Question::Query(q) => fetcher.info(module, q).await,
        };
        fetched.map(|f| f.data)
    }
}

/// The shared policy: fresh cache, else one fetch, else the last good answer. `rel` names
/// the answer in the caches (its proxy path).
async fn cached(
    inner: &Inner,
    module: &ModulePath,
    fetcher: Arc<dyn Fetcher>,
    rel: String,
    check: Check,
    question: Question,
) -> Result<(Bytes, CacheStatus), DepotError> {
    let is_list = matches!(question, Question::List);
    let cache = &inner.mutable;
    if let Some(entry) = cache.fresh(&rel, inner.options.list_ttl) {
        let status = match entry.status {
            CacheStatus::Stale => CacheStatus::Stale,
            _ => CacheStatus::Hit,
        };
        return entry.answer.map(|data| (data, status));
    }
    let health = cache.health_handle();
    let store = Arc::clone(&inner.store);
    let module_c = module.clone();
    let (fetched, _) = inner
        .small_flights
        .run(&rel, || async move {
            let result = question.ask(fetcher.as_ref(), &module_c).await;
            health.record(&result);
            let data = result?;
            check(&data, &module_c, question.query())?;
            if !is_list {
                return Ok(data);
            }
            // Merged here, once per fetch, so that serving a cached list touches no file.
            let held = tokio::task::spawn_blocking(move || store.versions(&module_c))
                .await
                .map_err(|e| DepotError::internal("store task failed", e))?
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
    let Some(fetcher) = inner.fetcher_for(module) else {
        return offline::list(inner, module).await;
    };
    let rel = format!("{}/@v/list", module.escaped());
    match cached(inner, module, fetcher, rel, check_list, Question::List).await {
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
    let Some(fetcher) = inner.fetcher_for(module) else {
        return offline::latest(inner, module).await;
    };
    let rel = format!("{}/@latest", module.escaped());
    let check = check_query_info;
    let (data, status) = cached(inner, module, fetcher, rel, check, Question::Latest).await?;
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
    let Some(fetcher) = inner.fetcher_for(module) else {
        return offline::query_info(inner, module, query, format!("mutable/{rel}")).await;
    };
    let question = Question::Query(query.to_string());
    let (data, status) = cached(inner, module, fetcher, rel, check_query_info, question).await?;
    Ok(Answer::bytes(data, status, false))
}

/// A list is lines of versions (optionally followed by a timestamp). Anything else is not
/// something a proxy would send.
fn check_list(data: &Bytes, module: &ModulePath, _: &str) -> Result<(), DepotError> {
    let text = std::str::from_utf8(data).map_err(|_| {
        DepotError::refused(module.to_string(), "upstream list is not text; refusing it")
    })?;
    let bad = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find(|v| !godepot_module::semver::is_valid(v));
    match bad {
        None => Ok(()),
        Some(v) => Err(DepotError::refused(
            module.to_string(),
            format!("upstream list holds {v:?}, which is not a version; refusing it"),
        )),
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
