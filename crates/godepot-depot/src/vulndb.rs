//! Mirroring the Go vulnerability database (`/vulndb/…`), so that `govulncheck -db` works
//! against godepot online, with the source unreachable, offline, and inside an air gap.
//!
//! - The source is one URL (`--vulndb`, default `$GOVULNDB`), in the database's documented
//!   layout ([`godepot_vulndb::layout`]); it is reached through godepot-upstream's client, so
//!   `file://` sources and credentials work as for proxies. No source: the copy held is
//!   all there is (as offline).
//! - Files are kept, exactly as received, among the store's metadata files under
//!   `vulndb/` (`.godepot/vulndb/` on disk), each checked first (JSON of its kind, an
//!   entry's id its file name).
//! - The indexes are asked again after the list TTL, and the copy held is served when the
//!   source fails (and not asked again for one TTL); an entry is asked again only when the
//!   modules index held says it was modified after the copy held.
//! - [`VulnMirror::mirror`] (prefetch `--vulndb`, `sync`) fetches the whole database, checks
//!   the whole copy ([`godepot_vulndb::validate`]) and only then writes it, the entries
//!   first and `index/db.json` last.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use godepot_store::{Store, StoreError};
use godepot_upstream::Upstream;
use godepot_vulndb::model::{self, parse_db_meta, parse_modules};
use godepot_vulndb::{DbCopy, DbFile, Timestamp};

use crate::DepotError;
use crate::answer::{Answer, Body, CacheStatus};
use crate::flight::Flights;
use crate::metrics::DepotMetrics;

/// Entries fetched at once while mirroring.
const ENTRY_FETCHES: usize = 8;

/// Where the vulnerability database comes from.
#[derive(Debug, Clone, Default)]
pub struct VulnDbOptions {
    /// The source (`--vulndb`); `None`: serve the copy held only.
    pub source: Option<Upstream>,
}

/// What [`VulnMirror::mirror`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorReport {
    /// `index/db.json`'s time of the copy now held.
    pub modified: String,
    /// Entries in the copy.
    pub entries: usize,
    /// Entries fetched (new or modified); the others were held already.
    pub fetched: usize,
    /// The copy held before had this time (`None`: there was none).
    pub previous: Option<String>,
}

/// The vulnerability-database side of the depot.
#[derive(Clone)]
pub(crate) struct VulnMirror {
    shared: Arc<Shared>,
}

struct Shared {
    source: Option<Upstream>,
    store: Arc<dyn Store>,
    ttl: Duration,
    flights: Flights,
    /// When each index was last fetched (or found unreachable).
    checked: Mutex<HashMap<DbFile, Instant>>,
    /// The held modules index's time for each id (loaded on first use, replaced whenever a
    /// new index is kept), to know whether a held entry is current.
    indexed: Mutex<Option<Arc<HashMap<String, Timestamp>>>>,
}

impl VulnMirror {
    pub(crate) fn new(
        options: VulnDbOptions,
        store: Arc<dyn Store>,
        offline: bool,
        ttl: Duration,
        metrics: Arc<DepotMetrics>,
    ) -> Self {
        VulnMirror {
            shared: Arc::new(Shared {
                source: options.source.filter(|_| !offline),
                store,
                ttl,
                flights: Flights::new(metrics),
                checked: Mutex::new(HashMap::new()),
                indexed: Mutex::new(None),
            }),
        }
    }

    /// Whether a source is configured (and the depot is online).
    pub(crate) fn has_source(&self) -> bool {
        self.shared.source.is_some()
    }

    /// `GET /vulndb/<file>` (uncompressed: the server compresses `.json.gz` answers). The
    /// answer's time is the file's own (`modified` in the JSON), so validators are the same
    /// in every godepot that holds the same copy.
    pub(crate) async fn serve(&self, file: &DbFile) -> Result<Answer, DepotError> {
        let held = self.get_meta(&file.meta_name()).await?;
        let Some(source) = self.shared.source.clone() else {
            return match held {
                Some(data) => answer(file, data, CacheStatus::Offline),
                None => Err(DepotError::NotFound(format!(
                    "vulnerability database: {file} is not held (no source: --vulndb is off, or offline)"
                ))),
            };
        };
        if let Some(data) = &held
            && self.is_current(file, data).await?
        {
            return answer(file, data.clone(), CacheStatus::Hit);
        }
        match self.fetch_and_keep(&source, file).await {
            Ok(data) => answer(file, data, CacheStatus::Miss),
            Err(e) if e.is_not_found() => Err(e),
            Err(e) => match held {
                Some(data) => {
                    tracing::warn!(%file, error = %e, "vulnerability database source failed; serving the copy held");
                    self.mark_checked(file);
                    answer(file, data, CacheStatus::Stale)
                }
                None => Err(e),
            },
        }
    }

    /// Whether a held file may be served without asking the source.
    async fn is_current(&self, file: &DbFile, held: &Bytes) -> Result<bool, DepotError> {
        match file {
            DbFile::Entry(id) => {
                let indexed = self.indexed().await?;
                let Some(want) = indexed.get(id) else {
                    // The index held does not name it (yet): the copy held will do.
                    return Ok(true);
                };
                let held = model::parse_entry(&file.rel(), held).ok();
                Ok(held.is_some_and(|e| e.modified >= *want))
            }
            index => {
                let checked = self
                    .shared
                    .checked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                Ok(checked
                    .get(index)
                    .is_some_and(|at| at.elapsed() < self.shared.ttl))
            }
        }
    }

    fn mark_checked(&self, file: &DbFile) {
        if file.is_index() {
            let mut checked = self
                .shared
                .checked
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            checked.insert(file.clone(), Instant::now());
        }
    }

    /// The modules index held, as id → modified.
    async fn indexed(&self) -> Result<Arc<HashMap<String, Timestamp>>, DepotError> {
        if let Some(map) = self
            .shared
            .indexed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(map);
        }
        let held = self.get_meta(&DbFile::ModulesIndex.meta_name()).await?;
        let map = Arc::new(held.map(|b| id_times(&b)).unwrap_or_default());
        *self
            .shared
            .indexed
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&map));
        Ok(map)
    }

    /// One file from the source, checked, kept (single-flight).
    async fn fetch_and_keep(&self, source: &Upstream, file: &DbFile) -> Result<Bytes, DepotError> {
        let (source, file_c, this) = (source.clone(), file.clone(), self.clone());
        let (result, _) = self
            .shared
            .flights
            .run(&file.meta_name(), || async move {
                let data = fetch(&source, &file_c).await?;
                this.put_meta(&file_c, data.clone()).await?;
                Ok(data)
            })
            .await;
        if result.is_ok() {
            self.mark_checked(file);
        }
        result
    }

    /// Fetches the whole database, checks the whole copy, and keeps it (see the module docs).
    /// Entries held with the time the new index gives are not fetched again.
    pub(crate) async fn mirror(&self) -> Result<MirrorReport, DepotError> {
        let Some(source) = self.shared.source.clone() else {
            return Err(DepotError::NotFound(
                "vulnerability database: no source to mirror (--vulndb is off, or offline)".into(),
            ));
        };
        let previous = self
            .get_meta(&DbFile::DbIndex.meta_name())
            .await?
            .and_then(|b| parse_db_meta(&b).ok())
            .map(|m| m.modified.to_string());
        let db = fetch(&source, &DbFile::DbIndex).await?;
        let modules = fetch(&source, &DbFile::ModulesIndex).await?;
        let vulns = match fetch(&source, &DbFile::VulnsIndex).await {
            Ok(data) => Some(data),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let mut wanted: Vec<(String, Timestamp)> = id_times(&modules).into_iter().collect();
        wanted.sort_by(|a, b| a.0.cmp(&b.0));
        // Each entry's bytes, and whether they were fetched (not held already).
        type Got = Result<(Bytes, bool), DepotError>;
        let results: Vec<(String, Got)> = futures_util::stream::iter(wanted)
            .map(|(id, want)| {
                let (source, this) = (source.clone(), self.clone());
                async move {
                    let result = this.held_or_fetched(&source, &id, &want).await;
                    (id, result)
                }
            })
            .buffer_unordered(ENTRY_FETCHES)
            .collect()
            .await;
        let mut copy = DbCopy {
            db: db.to_vec(),
            modules: modules.to_vec(),
            vulns: vulns.as_ref().map(|v| v.to_vec()),
            entries: BTreeMap::new(),
        };
        let mut fresh = Vec::new();
        for (id, result) in results {
            let (data, fetched) = result?;
            copy.entries.insert(id.clone(), data.to_vec());
            if fetched {
                fresh.push((DbFile::Entry(id), data));
            }
        }
        let checked = godepot_vulndb::validate(&copy)
            .map_err(|e| DepotError::rejected("vulnerability database from its source", e))?;
        let fetched = fresh.len();
        for (file, data) in fresh {
            self.put_meta(&file, data).await?;
        }
        if let Some(v) = vulns {
            self.put_meta(&DbFile::VulnsIndex, v).await?;
        }
        self.put_meta(&DbFile::ModulesIndex, modules).await?;
        self.put_meta(&DbFile::DbIndex, db).await?;
        for index in [DbFile::DbIndex, DbFile::ModulesIndex, DbFile::VulnsIndex] {
            self.mark_checked(&index);
        }
        Ok(MirrorReport {
            modified: checked.modified().to_string(),
            entries: copy.entries.len(),
            fetched,
            previous,
        })
    }

    /// An entry for a mirror: the copy held when it has the time the new index gives, else
    /// fetched; and whether it was fetched.
    async fn held_or_fetched(
        &self,
        source: &Upstream,
        id: &str,
        want: &Timestamp,
    ) -> Result<(Bytes, bool), DepotError> {
        let file = DbFile::Entry(id.to_owned());
        if let Some(held) = self.get_meta(&file.meta_name()).await?
            && model::parse_entry(&file.rel(), &held).is_ok_and(|e| e.modified == *want)
        {
            return Ok((held, false));
        }
        fetch(source, &file).await.map(|d| (d, true))
    }

    async fn get_meta(&self, name: &str) -> Result<Option<Bytes>, DepotError> {
        let (store, name) = (Arc::clone(&self.shared.store), name.to_string());
        tokio::task::spawn_blocking(move || store.get_meta(&name))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)
    }

    async fn put_meta(&self, file: &DbFile, data: Bytes) -> Result<(), DepotError> {
        if *file == DbFile::ModulesIndex {
            let map = Arc::new(id_times(&data));
            *self
                .shared
                .indexed
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(map);
        }
        let (store, name) = (Arc::clone(&self.shared.store), file.meta_name());
        tokio::task::spawn_blocking(move || store.put_meta(&name, &data))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)
    }
}

/// id → modified, from a modules index (an id under several modules has one time; an
/// index that cannot be read names nothing).
fn id_times(modules: &[u8]) -> HashMap<String, Timestamp> {
    parse_modules(modules)
        .map(|ms| {
            ms.into_iter()
                .flat_map(|m| m.vulns)
                .map(|v| (v.id, v.modified))
                .collect()
        })
        .unwrap_or_default()
}

/// One file from the source, refused unless it is what its place says.
async fn fetch(source: &Upstream, file: &DbFile) -> Result<Bytes, DepotError> {
    let what = format!("vulnerability database: {file}");
    let data = source
        .get_bytes(&file.rel(), file.max_size())
        .await
        .map_err(|e| DepotError::from_fetch(&what, e))?;
    let checked = match file {
        DbFile::DbIndex => parse_db_meta(&data).map(drop),
        DbFile::ModulesIndex => parse_modules(&data).map(drop),
        DbFile::VulnsIndex => model::parse_vulns(&data).map(drop),
        DbFile::Entry(id) => match model::parse_entry(&file.rel(), &data) {
            Ok(e) if e.id == *id => Ok(()),
            Ok(e) => {
                return Err(DepotError::refused(
                    what,
                    format!("the source's entry is named {:?}", e.id),
                ));
            }
            Err(e) => Err(e),
        },
    };
    checked.map_err(|e| DepotError::rejected(what, e))?;
    Ok(data)
}

/// The file's own time: `modified` of the entry, or of `index/db.json` for the indexes.
fn answer(file: &DbFile, data: Bytes, cache: CacheStatus) -> Result<Answer, DepotError> {
    let modified = match file {
        DbFile::Entry(_) => model::parse_entry(&file.rel(), &data)
            .map(|e| e.modified)
            .ok(),
        DbFile::DbIndex => parse_db_meta(&data).map(|m| m.modified).ok(),
        // The indexes change together; their time is the database's, taken from
        // index/db.json when it is read (here: the newest time the index names).
        DbFile::ModulesIndex => parse_modules(&data).ok().and_then(|ms| {
            ms.into_iter()
                .flat_map(|m| m.vulns)
                .map(|v| v.modified)
                .max()
        }),
        DbFile::VulnsIndex => model::parse_vulns(&data)
            .ok()
            .and_then(|vs| vs.into_iter().map(|v| v.modified).max()),
    };
    let modified = modified.map_or(UNIX_EPOCH, |t| {
        UNIX_EPOCH + Duration::from_secs(t.unix_secs().max(0) as u64)
    });
    Ok(Answer {
        body: Body::Small { data, modified },
        cache,
        immutable: false,
    })
}

/// The copy held in `store`: its indexes and the entries they name (`None`: no
/// `index/db.json`). For `verify`, `export` and the policy.
pub fn held_vulndb(store: &dyn Store) -> Result<Option<DbCopy>, StoreError> {
    DbCopy::read(|name| Ok(store.get_meta(name)?.map(|b| b.to_vec())))
}

impl std::fmt::Debug for VulnMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VulnMirror")
            .field(
                "source",
                &self.shared.source.as_ref().map(Upstream::describe),
            )
            .finish_non_exhaustive()
    }
}
