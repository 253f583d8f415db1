//! Mutable answers: `list`, `@latest`, and `.info` of queries (branches, commits, `v1.2`).
//!
//! Each is fetched from upstream at most once per time-to-live, shared by all askers. When
//! upstream fails, the last good answer is served (stale-if-error), from memory or, after a
//! restart, from its copy under `.godepot/mutable/`. Offline, answers come from the store.
//!
//! Lists and `@latest` are asked again conditionally: upstream's last answer is kept with its
//! validators ([`Known`]), so an unchanged answer costs a 304 and no body, whether the asker
//! is a client after the time-to-live or `godepot sync` ([`revalidate`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_upstream::Validators;

use crate::answer::{Answer, CacheStatus};
use crate::ingest::check_query_info;
use crate::{DepotError, Fetcher, Inner, Mutable, Revalidated, offline};

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
    /// Upstream's answer and its validators, when it gave some.
    known: Option<Known>,
}

/// Upstream's last answer to a list or `@latest`, exactly as sent, with what identifies it
/// there: a 304 to a conditional request means "these bytes". Kept with the cached answer,
/// and under `.godepot/mutable/<rel>.validators` (derived data), so that after a restart,
/// and in a `godepot sync` run by another process, the question is asked conditionally too.
/// One file holds both, so validators are never paired with bytes they do not describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Known {
    validators: Validators,
    raw: Bytes,
}

/// [`Known`] on disk. Lists and `@latest` answers are text (both are checked to be).
#[derive(serde::Serialize, serde::Deserialize)]
struct KnownFile {
    source: String,
    etag: Option<String>,
    last_modified: Option<String>,
    body: String,
}

impl Known {
    fn meta_name(rel: &str) -> String {
        format!("mutable/{rel}.validators")
    }

    fn to_json(&self) -> Option<Vec<u8>> {
        let file = KnownFile {
            source: self.validators.source.clone(),
            etag: self.validators.etag.clone(),
            last_modified: self.validators.last_modified.clone(),
            body: String::from_utf8(self.raw.to_vec()).ok()?,
        };
        serde_json::to_vec(&file).ok()
    }

    /// A file that does not parse is as good as none: the next request asks in full.
    fn from_json(data: &[u8]) -> Option<Known> {
        let file: KnownFile = serde_json::from_slice(data).ok()?;
        Some(Known {
            validators: Validators {
                source: file.source,
                etag: file.etag,
                last_modified: file.last_modified,
            },
            raw: Bytes::from(file.body),
        })
    }
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

    /// What is known of upstream's last answer, when an entry is held at all (`None`: ask
    /// the disk).
    fn known(&self, rel: &str) -> Option<Option<Known>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(rel).map(|e| e.known.clone())
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
        known: Option<Known>,
    ) {
        let entry = Entry {
            checked: Instant::now(),
            answer,
            status,
            known,
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

    /// Lists and `@latest` are asked conditionally on what is `known` of them.
    async fn ask(
        &self,
        fetcher: &dyn Fetcher,
        module: &ModulePath,
        known: Option<&Known>,
    ) -> Result<Revalidated, DepotError> {
        let unknown = Validators::default();
        let validators = known.map_or(&unknown, |k| &k.validators);
        match self {
            Question::List => fetcher.revalidate(module, Mutable::List, validators).await,
            Question::Latest => {
                fetcher
                    .revalidate(module, Mutable::Latest, validators)
                    .await
            }
            Question::Query(q) => fetcher.info(module, q).await.map(Revalidated::Changed),
        }
    }

    fn is_conditional(&self) -> bool {
        !matches!(self, Question::Query(_))
    }
}

/// A mutable answer as just asked of upstream.
#[derive(Clone)]
pub(crate) struct Refreshed {
    /// The answer to serve (a list merged with the versions held).
    pub(crate) data: Bytes,
    /// Upstream answered 304: the answer held is current.
    pub(crate) unchanged: bool,
    /// Upstream's answer differs from the one held before (none held counts as a change).
    pub(crate) changed: bool,
    known: Option<Known>,
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
    let cache = &inner.mutable;
    if let Some(entry) = cache.fresh(&rel, inner.options.list_ttl) {
        let status = match entry.status {
            CacheStatus::Stale => CacheStatus::Stale,
            _ => CacheStatus::Hit,
        };
        return entry.answer.map(|data| (data, status));
    }
    let meta = format!("mutable/{rel}");
    match refresh(inner, module, fetcher, &rel, check, question).await {
        Ok(refreshed) => Ok((refreshed.data, CacheStatus::Miss)),
        Err(e) if e.is_not_found() => Err(e),
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
                    let known = cache.known(&rel).flatten();
                    cache.remember(&rel, Ok(data.clone()), CacheStatus::Stale, known);
                    Ok((data, CacheStatus::Stale))
                }
                None => Err(e),
            }
        }
    }
}

/// Asks upstream now (conditionally on what is known of a list or `@latest`), checks the
/// answer, merges a list with the versions held, keeps the copies under `.godepot/mutable/`
/// and remembers the answer. One flight per answer, shared by all who ask at once.
async fn refresh(
    inner: &Inner,
    module: &ModulePath,
    fetcher: Arc<dyn Fetcher>,
    rel: &str,
    check: Check,
    question: Question,
) -> Result<Refreshed, DepotError> {
    let known = match question.is_conditional() {
        true => known(inner, rel).await,
        false => None,
    };
    let health = inner.mutable.health_handle();
    let store = Arc::clone(&inner.store);
    let module_c = module.clone();
    let rel_c = rel.to_string();
    let coord = inner.coord.clone();
    let (result, _) = inner
        .mutable_flights
        .run(rel, || async move {
            // Across replicas, one at a time writes the copies (see `coordinate`).
            let turn = coord.mutable_lease(&rel_c).await;
            let result = question.ask(fetcher.as_ref(), &module_c, known.as_ref()).await;
            health.record(&result);
            let (raw, now_known, unchanged) = match (result?, known.clone()) {
                (Revalidated::Unchanged, Some(known)) => (known.raw.clone(), Some(known), true),
                (Revalidated::Unchanged, None) => {
                    return Err(DepotError::refused(
                        module_c.to_string(),
                        "upstream answered 304 (not modified) to a question that was not conditional",
                    ));
                }
                (Revalidated::Changed(fetched), _) => {
                    check(&fetched.data, &module_c, question.query())?;
                    let validators = fetched.validators;
                    let now_known = (!validators.is_empty()).then(|| Known {
                        validators,
                        raw: fetched.data.clone(),
                    });
                    (fetched.data, now_known, false)
                }
            };
            let is_list = matches!(question, Question::List);
            // Upstream's answer as it was, when known; else the copy kept is compared.
            let differs = known.as_ref().map(|before| match &now_known {
                Some(after) => before.raw != after.raw,
                None => before.raw != raw,
            });
            let write_known = now_known.clone().filter(|k| known.as_ref() != Some(k));
            let write = turn.may_write().await;
            // Merged here, once per fetch, so that serving a cached list touches no file.
            let copies = tokio::task::spawn_blocking(move || {
                let data = match is_list {
                    true => merge_list(raw, &store.versions(&module_c)?),
                    false => raw,
                };
                let copy_changed =
                    persist(store.as_ref(), &rel_c, &data, write_known.as_ref(), write);
                Ok((data, copy_changed))
            })
            .await;
            turn.release().await;
            let (data, copy_changed) = copies
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)?;
            let changed = !unchanged && differs.unwrap_or(copy_changed);
            Ok(Refreshed {
                data,
                unchanged,
                changed,
                known: now_known,
            })
        })
        .await;
    let cache = &inner.mutable;
    match &result {
        Ok(refreshed) => cache.remember(
            rel,
            Ok(refreshed.data.clone()),
            CacheStatus::Miss,
            refreshed.known.clone(),
        ),
        Err(e) if e.is_not_found() => cache.remember(rel, Err(e.clone()), CacheStatus::Miss, None),
        Err(_) => {}
    }
    result
}

/// What is known of upstream's last answer at `rel`: from memory, else from disk.
async fn known(inner: &Inner, rel: &str) -> Option<Known> {
    if let Some(known) = inner.mutable.known(rel) {
        return known;
    }
    let name = Known::meta_name(rel);
    let data = inner.blocking(move |s| s.get_meta(&name)).await.ok()??;
    Known::from_json(&data)
}

/// Keeps a copy of the answer, so that stale-if-error survives a restart, and of upstream's
/// answer with its validators when they are new. Each is written only when it changed;
/// says whether the answer's copy did (no copy before counts). A failure to write costs
/// only the copy: it is logged, and the answer is served all the same. Without `may_write`
/// (another replica writes them, or this one's lease expired) nothing is written, and the
/// copy is only compared.
fn persist(
    store: &dyn godepot_store::Store,
    rel: &str,
    data: &Bytes,
    known: Option<&Known>,
    may_write: bool,
) -> bool {
    let meta = format!("mutable/{rel}");
    let write = || -> Result<bool, godepot_store::StoreError> {
        let changed = store.get_meta(&meta)?.as_ref() != Some(data);
        if !may_write {
            return Ok(changed);
        }
        if changed {
            store.put_meta(&meta, data)?;
        }
        if let Some(json) = known.and_then(Known::to_json) {
            store.put_meta(&Known::meta_name(rel), &json)?;
        }
        Ok(changed)
    };
    write().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not keep a copy of a mutable answer");
        true
    })
}

/// Asks upstream for `module`'s list or `@latest` now, whatever the time-to-live
/// (conditionally, when its validators are known), and keeps what it says: for
/// `godepot sync`. No stale answer stands in for a failure: the failure is the answer.
pub(crate) async fn revalidate(
    inner: &Inner,
    module: &ModulePath,
    which: Mutable,
) -> Result<Refreshed, DepotError> {
    let Some(fetcher) = inner.fetcher_for(module) else {
        return Err(DepotError::NotFound(format!(
            "{module}: no upstream to ask (offline)"
        )));
    };
    let (rel, check, question) = match which {
        Mutable::List => (list_rel(module), check_list as Check, Question::List),
        Mutable::Latest => (
            latest_rel(module),
            check_query_info as Check,
            Question::Latest,
        ),
    };
    refresh(inner, module, fetcher, &rel, check, question).await
}

fn list_rel(module: &ModulePath) -> String {
    format!("{}/@v/list", module.escaped())
}

fn latest_rel(module: &ModulePath) -> String {
    format!("{}/@latest", module.escaped())
}

pub(crate) async fn list(inner: &Inner, module: &ModulePath) -> Result<Answer, DepotError> {
    let Some(fetcher) = inner.fetcher_for(module) else {
        return offline::list(inner, module).await;
    };
    let rel = list_rel(module);
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
    let rel = latest_rel(module);
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
