//! Proxying the configured checksum databases (`/sumdb/<name>/…`), with a cache that lets
//! `go` verify modules with `GOSUMDB` on in a network with no route to the database, and
//! checking what godepot takes in from upstream against the database.
//!
//! - Only configured databases are proxied: godepot is never an open proxy to arbitrary hosts.
//! - A database is reached through the upstream proxy's own `/sumdb/<name>/` when that proxy
//!   answers `supported`, else directly (its configured URL, or `https://<name>`), as the go
//!   command does. A configured URL is always used directly.
//! - What never changes (lookup records, full tiles) is kept forever under
//!   `.godepot/sumdb/<name>/`; `latest` and partial tiles are asked again after a TTL and the
//!   last good copy is served when the database cannot be reached; offline, the copies are
//!   all there is.
//! - A partial hash tile that is not held (offline), or no longer served (it has filled up),
//!   is cut from a wider tile at its place: a partial tile of width `w` is the first `w`
//!   hashes of any wider one. So the tiles prefetch keeps for the latest head serve every
//!   client whose own head is older (see `gather_proof_tiles`).
//! - When the key is known (`name+hash+key`), godepot verifies like the go command: signed
//!   notes, each record's inclusion in its tree, and consistency of every tree head with the
//!   largest one verified so far (kept in `verified-tree`). And every `.zip`/`.mod` fetched
//!   from upstream must match the database's hashes, or it is refused and nothing is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use godepot_module::{ModulePath, Version};
use godepot_store::Store;
use godepot_sumdb::check::{MAX_TILE_ROUNDS, VERIFIED_TREE, cache_name, check_hash};
use godepot_sumdb::tile::HEIGHT;
use godepot_sumdb::{
    DatabaseSpec, LookupAnswer, SumdbError, SumdbPath, Tile, TileHashes, TreeHead,
};
use godepot_upstream::{FetchError, Upstream};

use crate::DepotError;
use crate::answer::{Answer, CacheStatus};
use crate::flight::Flights;
use crate::metrics::DepotMetrics;

/// The largest answer accepted from a database: a full data tile is far smaller.
const MAX_ANSWER: u64 = 4 << 20;

/// Tiles fetched at once while gathering proofs. Each is 8 KiB and the wait is the round
/// trip, so the phase is latency-bound: against a real upstream 120 ms away, 2,000 tiles
/// took 17 ms each at 8 in flight, 4.4 at 32, 2.3 at 64 and 2.2 at 128 (HTTP/2, one
/// connection). The go command itself fetches a proof's tiles all at once.
const TILE_FETCHES: usize = 64;

/// How many records below the latest tree head the proof tiles cover for any client's own
/// head (see [`SumdbProxy::gather_proof_tiles`]): 2,048 level-0 tiles, 16 MiB.
const SPAN_RECORDS: u64 = 2048 << HEIGHT;

/// What [`SumdbProxy::gather_proof_tiles`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProofTiles {
    /// Tiles now held (fetched or held already).
    pub held: usize,
    /// Tiles (or lookup listings) that could not be had.
    pub failed: usize,
}

/// One checksum database godepot proxies.
#[derive(Debug, Clone)]
pub struct SumdbDatabase {
    pub spec: DatabaseSpec,
    /// The database itself: its configured URL, or `https://<name>`.
    pub direct: Upstream,
}

/// Which checksum databases godepot proxies, and which modules are not looked up.
#[derive(Debug, Clone, Default)]
pub struct SumdbOptions {
    pub databases: Vec<SumdbDatabase>,
    /// `GONOSUMDB`-style comma-separated glob patterns: matching modules are not checked
    /// against the database when taken in.
    pub skip: String,
    /// The `--private` patterns: never checked (as if in `skip`), and a client's `lookup` of
    /// such a path is answered here, never forwarded: the path must not leave.
    pub private: String,
    /// Keep, for every module taken in, the lookup answer and the tiles that prove it, even
    /// for a database whose key is not known (so nothing can be verified here): prefetch for
    /// an air gap, where the go command inside will verify them with its own key.
    pub gather: bool,
}

/// What is known of one proxied checksum database, for people (the web UI, `/api/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumdbState {
    pub name: String,
    /// Its key is configured: what is taken in is checked against it.
    pub verifying: bool,
    /// The size of the largest tree verified so far (`None`: none yet, or a check is running).
    pub verified_tree: Option<u64>,
}

/// Which way requests to a database go, once found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ThroughUpstream,
    Direct,
}

struct Database {
    config: SumdbDatabase,
    route: Mutex<Option<Route>>,
    /// When each mutable answer was last fetched (or found unreachable).
    checked: Mutex<HashMap<String, Instant>>,
    /// The largest verified tree head (`None` inside: none yet), loaded on first use. An
    /// async mutex: it is held across tile fetches so that checks of one database run in turn.
    verified: tokio::sync::Mutex<Option<Option<TreeHead>>>,
}

/// The checksum-database side of the depot. Cheap to clone: zip fetches hold one to check
/// what they take in.
#[derive(Clone)]
pub(crate) struct SumdbProxy {
    shared: Arc<Shared>,
}

struct Shared {
    /// In configured order: the first one with a key checks what is taken in.
    databases: Vec<Arc<Database>>,
    /// `skip` and `private` together.
    skip: String,
    private: String,
    /// See [`SumdbOptions::gather`].
    gather: bool,
    upstream: Option<Upstream>,
    store: Arc<dyn Store>,
    offline: bool,
    ttl: Duration,
    flights: Flights,
    metrics: Arc<DepotMetrics>,
}

impl SumdbProxy {
    /// The databases proxied, in configured order; never waits on a running check.
    pub(crate) fn states(&self) -> Vec<SumdbState> {
        let state = |db: &Arc<Database>| SumdbState {
            name: db.config.spec.name.clone(),
            verifying: db.config.spec.key.is_some(),
            verified_tree: db
                .verified
                .try_lock()
                .ok()
                .and_then(|head| head.as_ref().and_then(|h| h.as_ref().map(|h| h.size))),
        };
        self.shared.databases.iter().map(state).collect()
    }

    pub(crate) fn new(
        options: SumdbOptions,
        upstream: Option<Upstream>,
        store: Arc<dyn Store>,
        offline: bool,
        ttl: Duration,
        metrics: Arc<DepotMetrics>,
    ) -> Self {
        let databases = options
            .databases
            .into_iter()
            .map(|config| {
                Arc::new(Database {
                    config,
                    route: Mutex::new(None),
                    checked: Mutex::new(HashMap::new()),
                    verified: tokio::sync::Mutex::new(None),
                })
            })
            .collect();
        SumdbProxy {
            shared: Arc::new(Shared {
                databases,
                // The matcher ignores empty patterns: either list may be empty.
                skip: format!("{},{}", options.skip, options.private),
                private: options.private,
                gather: options.gather,
                upstream,
                store,
                offline,
                ttl,
                flights: Flights::new(Arc::clone(&metrics)),
                metrics,
            }),
        }
    }

    /// `GET /sumdb/<name>/<path>`.
    pub(crate) async fn serve(&self, name: &str, path: &SumdbPath) -> Result<Answer, DepotError> {
        if let SumdbPath::Lookup(module, _) = path
            && godepot_module::matches_glob_prefix(&self.shared.private, module.as_str())
        {
            return Err(DepotError::NotFound(format!(
                "{module}: private module: set GONOSUMDB={} (it is not in any checksum database)",
                self.shared.private
            )));
        }
        let Some(db) = self.shared.databases.iter().find(|d| d.name() == name) else {
            return Err(DepotError::NotFound(format!(
                "checksum database {name:?} is not proxied here"
            )));
        };
        if *path == SumdbPath::Supported {
            return Ok(Answer::bytes(Bytes::new(), CacheStatus::Hit, false));
        }
        let (data, status) = self.obtain(db, path).await?;
        Ok(Answer::bytes(data, status, path.is_immutable()))
    }

    /// Checks an artifact taken in from upstream against the database's hashes: `h1` of the
    /// zip, or (with `go_mod`) of the go.mod. A mismatch is refused and logged as a security
    /// warning; so is a module the database does not know.
    pub(crate) async fn check_artifact(
        &self,
        module: &ModulePath,
        version: &Version,
        go_mod: bool,
        h1: &str,
    ) -> Result<(), DepotError> {
        if godepot_module::matches_glob_prefix(&self.shared.skip, module.as_str()) {
            return Ok(());
        }
        let Some(db) = self
            .shared
            .databases
            .iter()
            .find(|d| d.config.spec.key.is_some())
        else {
            if self.shared.gather {
                self.gather_unverified(module, version).await;
            }
            return Ok(());
        };
        let result = self.verify(db, module, version, go_mod, h1).await;
        self.shared.metrics.checked(&result);
        result
    }

    /// The check itself, against the keyed database `db`.
    async fn verify(
        &self,
        db: &Arc<Database>,
        module: &ModulePath,
        version: &Version,
        go_mod: bool,
        h1: &str,
    ) -> Result<(), DepotError> {
        let what = format!(
            "{module}@{version}{}",
            if go_mod { " (.mod)" } else { " (.zip)" }
        );
        let lookup = SumdbPath::Lookup(module.clone(), version.clone());
        let (answer, _) = match self.obtain(db, &lookup).await {
            Ok(found) => found,
            Err(e) if e.is_not_found() => {
                return Err(DepotError::refused(
                    what,
                    format!(
                        "not in checksum database {}: refusing to keep it unverified (list private modules in --nosumdb)",
                        db.name()
                    ),
                ));
            }
            Err(e) => {
                return Err(DepotError::Upstream {
                    what: format!(
                        "{what}: cannot check it against checksum database {}",
                        db.name()
                    ),
                    cause: Arc::new(e),
                });
            }
        };
        let answer =
            LookupAnswer::parse(&answer).map_err(|e| DepotError::rejected(what.clone(), e))?;
        match check_hash(&answer, module.as_str(), version.as_str(), go_mod, h1) {
            Ok(()) => Ok(()),
            Err(want) => {
                let want = want.unwrap_or("no hash");
                tracing::warn!(
                    security = true,
                    %module, %version, go_mod, upstream = h1, database = db.name(), expected = want,
                    "SECURITY: upstream sent a module that does not match the checksum database; refused"
                );
                Err(DepotError::refused(
                    what,
                    format!(
                        "checksum mismatch: upstream sent {h1}, checksum database {} has {want}; refused (SECURITY: upstream may have been tampered with)",
                        db.name()
                    ),
                ))
            }
        }
    }

    /// Keeps the lookup answer of `module@version` and the tiles proving it, from the first
    /// database, without a key to verify them with. Best effort: a module the database does
    /// not know (a private one) or a failure only costs the client inside a miss, so it is
    /// logged, never fatal.
    async fn gather_unverified(&self, module: &ModulePath, version: &Version) {
        let Some(db) = self.shared.databases.first() else {
            return;
        };
        let lookup = SumdbPath::Lookup(module.clone(), version.clone());
        let result = async {
            let (data, _) = self.obtain(db, &lookup).await?;
            let answer = LookupAnswer::parse(&data).map_err(|e| DepotError::rejected("", e))?;
            let head = tree_head(db, answer.note).map_err(|e| DepotError::rejected("", e))?;
            let mut tiles = TileHashes::new(HEIGHT, head.size);
            self.prove(db, &mut tiles, &head, |t| {
                t.check_record(answer.id, answer.data.as_bytes(), &head)
            })
            .await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(%module, %version, database = db.name(), error = %e, "could not keep the checksum database's records for this module");
        }
    }

    /// Fetches, for every database, the tiles a go command will read to check the lookup
    /// answers held, whichever of their tree heads it meets first (see
    /// [`godepot_sumdb::plan`]). Lookups kept over minutes, or from a caching upstream, carry
    /// many heads; without these tiles a go command inside the air gap fails on "checking
    /// tree#A against tree#B". Best effort, like gathering: failures are counted and logged.
    pub(crate) async fn gather_proof_tiles(&self) -> ProofTiles {
        let mut report = ProofTiles::default();
        for db in &self.shared.databases {
            // One trip to the blocking pool for the whole walk: thousands of small reads.
            let (store, db_c) = (Arc::clone(&self.shared.store), Arc::clone(db));
            let held = tokio::task::spawn_blocking(move || held_lookups(store.as_ref(), &db_c))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            let (ids, sizes) = match held {
                Ok(held) if !held.0.is_empty() => held,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(database = db.name(), error = %e, "cannot read the checksum database's kept lookups");
                    report.failed += 1;
                    continue;
                }
            };
            let mut sizes = sizes;
            let latest = self.latest_size(db).await;
            if let Some(latest) = latest {
                sizes.push(latest);
            } else {
                report.failed += 1;
            }
            let mut tiles = godepot_sumdb::plan::client_tiles(HEIGHT, &sizes, &ids);
            // A client inside may hold a head of its own, newer than some lookup's (it went
            // online since): the edges of every tree up to the latest cover it, one level-0
            // tile per 2^HEIGHT records. A caching upstream's lookups can be months old,
            // millions of records behind the latest, so the span is kept to its newest
            // SPAN_RECORDS; a client whose head is older than that is told so by the warning.
            if let (Some(latest), Some(&oldest)) = (latest, sizes.iter().min()) {
                let from = oldest.max(latest.saturating_sub(SPAN_RECORDS));
                if from > oldest {
                    tracing::warn!(
                        database = db.name(),
                        oldest_lookup_head = oldest,
                        latest,
                        covered_from = from,
                        "the lookups' tree heads lie far behind the latest: only the newest tree sizes are covered; a go command inside whose own head (its $GOPATH/pkg/sumdb) is older than covered_from cannot check it offline"
                    );
                }
                tiles.extend(godepot_sumdb::plan::span_tiles(HEIGHT, from, latest));
            }
            let results: Vec<_> = futures_util::stream::iter(tiles)
                .map(|tile| async move { (tile, self.obtain(db, &SumdbPath::Tile(tile)).await) })
                .buffer_unordered(TILE_FETCHES)
                .collect()
                .await;
            for (tile, result) in results {
                match result {
                    Ok(_) => report.held += 1,
                    Err(e) => {
                        tracing::warn!(database = db.name(), tile = %tile.path(), error = %e, "could not keep a tile the go command will need");
                        report.failed += 1;
                    }
                }
            }
        }
        report
    }

    /// The size of the database's current tree head, fetched (and kept) now: the newest
    /// head a client inside can have met before the prefetch. `None` (logged) when it cannot
    /// be had.
    async fn latest_size(&self, db: &Arc<Database>) -> Option<u64> {
        let head = self
            .obtain(db, &SumdbPath::Latest)
            .await
            .and_then(|(data, _)| {
                tree_head(db, &data).map_err(|e| refuse(db, &SumdbPath::Latest, e))
            });
        match head {
            Ok(head) => Some(head.size),
            Err(e) => {
                tracing::warn!(database = db.name(), error = %e, "could not keep the checksum database's latest tree head");
                None
            }
        }
    }

    /// One answer of a database. A partial hash tile that is not to be had (not held
    /// offline, or no longer served: it has filled up since) is the prefix of a wider tile
    /// at its place, held or fetched: the go command falls back to the full tile too.
    async fn obtain(
        &self,
        db: &Arc<Database>,
        path: &SumdbPath,
    ) -> Result<(Bytes, CacheStatus), DepotError> {
        let result = self.obtain_exact(db, path).await;
        match (path, result) {
            (SumdbPath::Tile(tile), Err(e))
                if e.is_not_found() && tile.level.is_some() && !tile.is_full() =>
            {
                match self.narrowed(db, *tile).await {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => Err(e),
                    Err(wider) if wider.is_not_found() => Err(e),
                    Err(wider) => Err(wider),
                }
            }
            (_, result) => result,
        }
    }

    /// `tile` cut from a wider one at its place: a held partial, else the full tile (held,
    /// or fetched and kept when online).
    async fn narrowed(
        &self,
        db: &Arc<Database>,
        tile: Tile,
    ) -> Result<Option<(Bytes, CacheStatus)>, DepotError> {
        let Some(want) = tile.hash_bytes() else {
            return Ok(None);
        };
        let full = Tile {
            width: tile.full_width(),
            ..tile
        };
        let partials = cache_name(db.name(), &format!("{}.p", full.path()));
        let (store, prefix) = (Arc::clone(&self.shared.store), partials);
        let held = tokio::task::spawn_blocking(move || store.list_meta(&prefix))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)?;
        for name in held {
            let wider = name
                .rsplit('/')
                .next()
                .and_then(|w| w.parse::<u32>().ok())
                .is_some_and(|w| w > tile.width && w < tile.full_width());
            if wider
                && let Some(data) = self.get_meta(&name).await?
                && data.len() >= want
            {
                return Ok(Some((data.slice(..want), CacheStatus::Hit)));
            }
        }
        let (data, status) = Box::pin(self.obtain_exact(db, &SumdbPath::Tile(full))).await?;
        Ok((data.len() >= want).then(|| (data.slice(..want), status)))
    }

    /// One answer of a database, exactly as asked, under the cache policy in the module
    /// docs.
    async fn obtain_exact(
        &self,
        db: &Arc<Database>,
        path: &SumdbPath,
    ) -> Result<(Bytes, CacheStatus), DepotError> {
        let shared = &self.shared;
        let rel = path.rel();
        let meta = cache_name(db.name(), &rel);
        let cached = self.get_meta(&meta).await?;
        match cached {
            Some(data) if path.is_immutable() => return Ok((data, CacheStatus::Hit)),
            Some(data) if shared.offline => return Ok((data, CacheStatus::Offline)),
            Some(data) if db.is_fresh(&rel, shared.ttl) => return Ok((data, CacheStatus::Hit)),
            None if shared.offline => {
                return Err(DepotError::NotFound(format!(
                    "checksum database {}: {rel} is not held (offline)",
                    db.name()
                )));
            }
            _ => {}
        }
        let (upstream, db_c, path_c) = (shared.upstream.clone(), Arc::clone(db), path.clone());
        let (fetched, _) = shared
            .flights
            .run(&meta, || async move {
                let data = fetch(upstream.as_ref(), &db_c, &path_c.rel()).await?;
                check_syntax(&db_c, &path_c, &data).map_err(|e| refuse(&db_c, &path_c, e))?;
                Ok(data)
            })
            .await;
        let fetched = match fetched {
            Ok(data) => self.check_tree(db, path, &data).await.map(|()| data),
            Err(e) => Err(e),
        };
        match fetched {
            Ok(data) => {
                db.mark_checked(&rel);
                self.put_meta(meta, data.clone()).await;
                Ok((data, CacheStatus::Miss))
            }
            Err(e) if e.is_not_found() => Err(e),
            Err(e) => match cached {
                Some(data) => {
                    tracing::warn!(database = db.name(), %rel, error = %e, "checksum database failed; serving the last good answer");
                    // Not asked again for one TTL, so a dead database does not slow every client.
                    db.mark_checked(&rel);
                    Ok((data, CacheStatus::Stale))
                }
                None => Err(e),
            },
        }
    }

    /// With a known key: the record of a lookup is in its tree, and every tree head is
    /// consistent with the largest verified so far.
    async fn check_tree(
        &self,
        db: &Arc<Database>,
        path: &SumdbPath,
        data: &Bytes,
    ) -> Result<(), DepotError> {
        let Some(key) = &db.config.spec.key else {
            return Ok(());
        };
        let parsed = match path {
            SumdbPath::Latest => None,
            SumdbPath::Lookup(..) => {
                Some(LookupAnswer::parse(data).map_err(|e| refuse(db, path, e))?)
            }
            _ => return Ok(()),
        };
        let note: &[u8] = parsed.as_ref().map_or(data, |a| a.note);
        let text = godepot_sumdb::verify_note(note, key).map_err(|e| refuse(db, path, e))?;
        let head = TreeHead::parse(text).map_err(|e| refuse(db, path, e))?;
        let mut tiles = TileHashes::new(HEIGHT, head.size);
        if let Some(answer) = &parsed {
            self.prove(db, &mut tiles, &head, |t| {
                t.check_record(answer.id, answer.data.as_bytes(), &head)
            })
            .await
            .map_err(|e| refuse_error(db, path, e))?;
        }
        let mut verified = db.verified.lock().await;
        if verified.is_none() {
            let meta = cache_name(db.name(), VERIFIED_TREE);
            let known = self.get_meta(&meta).await?;
            let known = known.and_then(|b| TreeHead::parse(std::str::from_utf8(&b).ok()?).ok());
            *verified = Some(known);
        }
        let known = verified.and_then(|k| k);
        match known {
            Some(old) if old.size > head.size => {
                let mut newer = TileHashes::new(HEIGHT, old.size);
                self.prove(db, &mut newer, &old, |t| t.check_consistency(&head, &old))
                    .await
                    .map_err(|e| refuse_error(db, path, e))?;
            }
            Some(old) => {
                self.prove(db, &mut tiles, &head, |t| t.check_consistency(&old, &head))
                    .await
                    .map_err(|e| refuse_error(db, path, e))?;
                if head.size > old.size {
                    *verified = Some(Some(head));
                    self.put_meta(cache_name(db.name(), VERIFIED_TREE), head.text().into())
                        .await;
                }
            }
            None => {
                *verified = Some(Some(head));
                self.put_meta(cache_name(db.name(), VERIFIED_TREE), head.text().into())
                    .await;
            }
        }
        Ok(())
    }

    /// Runs a proof check over the tree `head`, fetching the tiles it asks for until it can
    /// decide. The tiles must also hash to `head`: that is how the go command authenticates
    /// tiles, so it asks for the same ones, and the cache then holds all it needs offline.
    async fn prove(
        &self,
        db: &Arc<Database>,
        tiles: &mut TileHashes,
        head: &TreeHead,
        check: impl Fn(&TileHashes) -> Result<(), SumdbError>,
    ) -> Result<(), DepotError> {
        for _ in 0..MAX_TILE_ROUNDS {
            match tiles.check_head(head).and_then(|()| check(tiles)) {
                Ok(()) => return Ok(()),
                Err(SumdbError::MissingTile(tile)) => {
                    let (data, _) = Box::pin(self.obtain(db, &SumdbPath::Tile(tile))).await?;
                    tiles
                        .add(&tile, data.to_vec())
                        .map_err(|e| DepotError::rejected("", e))?;
                }
                Err(e) => return Err(DepotError::rejected("", e)),
            }
        }
        Err(DepotError::refused("", "proof needs too many tiles"))
    }

    async fn get_meta(&self, name: &str) -> Result<Option<Bytes>, DepotError> {
        let (store, name) = (Arc::clone(&self.shared.store), name.to_string());
        tokio::task::spawn_blocking(move || store.get_meta(&name))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)
    }

    /// Keeps an answer; a failure only costs a later refetch, so it is logged, not returned.
    async fn put_meta(&self, name: String, data: Bytes) {
        let store = Arc::clone(&self.shared.store);
        let result = tokio::task::spawn_blocking(move || store.put_meta(&name, &data)).await;
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(%error, "could not keep a checksum database answer");
    }
}

impl Database {
    fn name(&self) -> &str {
        &self.config.spec.name
    }

    fn is_fresh(&self, rel: &str, ttl: Duration) -> bool {
        let checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        checked.get(rel).is_some_and(|t| t.elapsed() < ttl)
    }

    fn mark_checked(&self, rel: &str) {
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        checked.insert(rel.to_string(), Instant::now());
    }
}

/// Fetches `rel` from the database, through the upstream proxy or directly.
async fn fetch(upstream: Option<&Upstream>, db: &Database, rel: &str) -> Result<Bytes, DepotError> {
    let what = format!("checksum database {}: {rel}", db.name());
    let result = match (route(upstream, db).await?, upstream) {
        (Route::ThroughUpstream, Some(up)) => {
            up.get_bytes(&format!("sumdb/{}/{rel}", db.name()), MAX_ANSWER)
                .await
        }
        _ => db.config.direct.get_bytes(rel, MAX_ANSWER).await,
    };
    result.map_err(|e| DepotError::from_fetch(&what, e))
}

/// Whether the upstream proxy carries this database: asked once, remembered.
async fn route(upstream: Option<&Upstream>, db: &Database) -> Result<Route, DepotError> {
    if db.config.spec.url.is_some() {
        return Ok(Route::Direct);
    }
    let Some(up) = upstream else {
        return Ok(Route::Direct);
    };
    if let Some(route) = *db.route.lock().unwrap_or_else(|e| e.into_inner()) {
        return Ok(route);
    }
    let route = match up.get(&format!("sumdb/{}/supported", db.name())).await {
        Ok(_) => Route::ThroughUpstream,
        Err(FetchError::NotFound { .. } | FetchError::Off) => Route::Direct,
        Err(e) => {
            let what = format!(
                "checksum database {}: asking upstream whether it proxies it",
                db.name()
            );
            return Err(DepotError::from_fetch(&what, e));
        }
    };
    tracing::info!(database = db.name(), route = ?route, "checksum database route");
    *db.route.lock().unwrap_or_else(|e| e.into_inner()) = Some(route);
    Ok(route)
}

/// Refuses answers that are malformed or, when the key is known, not signed by it.
fn check_syntax(db: &Database, path: &SumdbPath, data: &Bytes) -> Result<(), SumdbError> {
    match path {
        SumdbPath::Supported => Ok(()),
        SumdbPath::Latest => tree_head(db, data).map(|_| ()),
        SumdbPath::Lookup(..) => {
            LookupAnswer::parse(data).and_then(|a| tree_head(db, a.note).map(|_| ()))
        }
        SumdbPath::Tile(tile) => match tile.hash_bytes() {
            Some(want) if want != data.len() => Err(SumdbError::BadTileSize {
                path: tile.path(),
                got: data.len(),
                want,
            }),
            None if data.is_empty() => Err(SumdbError::BadRecord("empty data tile".into())),
            _ => Ok(()),
        },
    }
}

/// The record ids and tree-head sizes of a database's lookup answers held in the store (an
/// answer that does not parse is skipped: it is the go command's to refuse).
fn held_lookups(
    store: &dyn Store,
    db: &Database,
) -> Result<(Vec<u64>, Vec<u64>), godepot_store::StoreError> {
    let (mut ids, mut sizes) = (Vec::new(), Vec::new());
    for name in store.list_meta(&cache_name(db.name(), "lookup"))? {
        let Some(data) = store.get_meta(&name)? else {
            continue;
        };
        let Ok(answer) = LookupAnswer::parse(&data) else {
            continue;
        };
        if let Ok(head) = tree_head(db, answer.note) {
            ids.push(answer.id);
            sizes.push(head.size);
        }
    }
    Ok((ids, sizes))
}

/// The tree head in a signed note: verified when the key is known, else only parsed.
fn tree_head(db: &Database, note: &[u8]) -> Result<TreeHead, SumdbError> {
    let text = match &db.config.spec.key {
        Some(key) => godepot_sumdb::verify_note(note, key)?,
        None => godepot_sumdb::note::split_note(note)?.0,
    };
    TreeHead::parse(text)
}

fn refuse(db: &Database, path: &SumdbPath, e: SumdbError) -> DepotError {
    refuse_error(db, path, DepotError::rejected("", e))
}

/// Logs a refused database answer as a security warning. Failures to reach the database
/// are passed on as they are.
fn refuse_error(db: &Database, path: &SumdbPath, e: DepotError) -> DepotError {
    let DepotError::Rejected { what, cause } = &e else {
        return e;
    };
    tracing::warn!(security = true, database = db.name(), rel = %path.rel(), error = %e, "SECURITY: refused an answer of the checksum database");
    let mut context = format!("checksum database {}: {}", db.name(), path.rel());
    if !what.is_empty() {
        context = format!("{context}: {what}");
    }
    DepotError::Rejected {
        what: context,
        cause: Arc::clone(cause),
    }
}
