//! The depot: godepot's caching policy, between the HTTP front and the store/upstream.
//!
//! For every protocol request it decides where the answer comes from:
//!
//! - versioned artifacts (`.info` of a canonical version, `.mod`, `.zip`) come from the store
//!   when held; otherwise they are fetched once from upstream ([`flight`], [`zipflight`]),
//!   checked ([`ingest`]), kept forever, and served;
//! - mutable answers (`list`, `@latest`, `.info` of a branch or shorthand query) are cached
//!   for a time-to-live and served stale when upstream fails ([`mutable`]);
//! - offline, everything is answered from the store alone ([`offline`]);
//! - whatever the source, the policy ([`gate`]) decides first: a blocked version is refused
//!   (403) and never fetched, and lists and `@latest` leave blocked versions out;
//! - [`sync`] (`godepot sync`) revalidates the lists and `@latest` of the modules held and
//!   fetches the new versions a [`Follow`] rule allows, through the same checks.
//!
//! The depot speaks neither HTTP nor the CLI: it returns [`Answer`]s and [`DepotError`]s.

mod answer;
mod coordinate;
mod error;
mod facts;
mod fetcher;
mod flight;
mod gate;
mod git;
mod hot;
mod ingest;
mod keep;
mod metrics;
mod mutable;
mod offline;
mod sumdb;
mod sync;
mod vulndb;
mod zipflight;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use godepot_module::{ModulePath, Version};
use godepot_policy::{License, Policy};
use godepot_store::access::AccessRecorder;
use godepot_store::{ArtifactKey, Kind, Store};
use godepot_upstream::Upstream;

pub use answer::{Answer, Body, CacheStatus, ZipStream};
pub use coordinate::Coordination;
pub use error::{Cause, DepotError, Reason};
pub use facts::HeldVulnDb;
pub use fetcher::{
    FallThrough, Fetched, FetchedZip, Fetcher, Fetchers, MAX_INFO, MAX_MUTABLE, Mutable,
    Revalidated,
};
pub use git::{GitSource, git_error, netrc_credentials};
pub use godepot_policy::Advisories;
/// The header by which a godepot recognises its own requests (a proxy loop).
pub use godepot_upstream::VIA_HEADER;
pub use keep::{Kept, Outcome};
pub use metrics::DepotMetrics;
pub use sumdb::{ProofTiles, SumdbDatabase, SumdbOptions, SumdbState};
pub use sync::{
    Follow, NoProgress, SyncFailure, SyncOptions, SyncProgress, SyncReport, SyncedVersion,
    new_versions, sync,
};
pub use vulndb::{MirrorReport, VulnDbOptions, held_vulndb};

use flight::Flights;
use hot::HotCache;
use mutable::MutableCache;
use zipflight::ZipFlights;

/// How the depot behaves.
#[derive(Debug, Clone)]
pub struct DepotOptions {
    /// Never contact upstream; answer from the store alone.
    pub offline: bool,
    /// How long a mutable answer (`list`, `@latest`, query `.info`) is served without asking
    /// upstream again.
    pub list_ttl: Duration,
    /// The largest zip accepted from upstream.
    pub max_zip: u64,
    /// The checksum databases proxied under `/sumdb/<name>/` (no other name is), and which
    /// modules are not checked against them.
    pub sumdb: SumdbOptions,
    /// Where versions served to clients (`.info`, `.mod`, `.zip`) are noted, for `gc`.
    pub access: Option<Arc<AccessRecorder>>,
    /// Where the vulnerability database served under `/vulndb/` comes from.
    pub vulndb: VulnDbOptions,
    /// Who fetches what when several replicas share one store (`--coordination`); in this
    /// process alone by default.
    pub coordination: Coordination,
}

impl Default for DepotOptions {
    fn default() -> Self {
        DepotOptions {
            offline: false,
            list_ttl: Duration::from_secs(60),
            max_zip: godepot_module::MAX_ZIP_FILE,
            sumdb: SumdbOptions::default(),
            access: None,
            vulndb: VulnDbOptions::default(),
            coordination: Coordination::default(),
        }
    }
}

/// The service. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Depot {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Where versions not held come from; none in offline mode.
    fetchers: Fetchers,
    options: DepotOptions,
    small_flights: Flights,
    mutable_flights: Flights<mutable::Refreshed>,
    zip_flights: ZipFlights,
    hot: HotCache,
    mutable: MutableCache,
    sumdb: sumdb::SumdbProxy,
    vulndb: vulndb::VulnMirror,
    gate: gate::Gate,
    metrics: Arc<DepotMetrics>,
    /// Single-flight across replicas (see [`coordinate`]).
    coord: coordinate::Coord,
}

/// What the readiness probe reports.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub store: Result<(), String>,
    pub upstream: String,
}

impl Depot {
    /// A depot that fetches every module from `upstream` (and reaches the checksum
    /// databases through it).
    pub fn new(store: Arc<dyn Store>, upstream: Option<Upstream>, options: DepotOptions) -> Self {
        let fetchers = match &upstream {
            Some(up) => Fetchers::single(Arc::new(up.clone())),
            None => Fetchers::offline(),
        };
        Depot::with_fetchers(store, fetchers, upstream, options)
    }

    /// A depot that fetches modules through `fetchers`, and reaches the checksum databases
    /// through the `sumdb_upstream` proxy when it carries them.
    pub fn with_fetchers(
        store: Arc<dyn Store>,
        fetchers: Fetchers,
        sumdb_upstream: Option<Upstream>,
        options: DepotOptions,
    ) -> Self {
        let (fetchers, upstream) = if options.offline {
            (Fetchers::offline(), None)
        } else {
            (fetchers, sumdb_upstream)
        };
        let metrics = Arc::new(DepotMetrics::default());
        let sumdb = sumdb::SumdbProxy::new(
            options.sumdb.clone(),
            upstream,
            Arc::clone(&store),
            options.offline,
            options.list_ttl,
            Arc::clone(&metrics),
        );
        let vulndb = vulndb::VulnMirror::new(
            options.vulndb.clone(),
            Arc::clone(&store),
            options.offline,
            options.list_ttl,
            Arc::clone(&metrics),
        );
        let coord = coordinate::Coord::new(
            options.coordination.clone(),
            Arc::clone(&store),
            Arc::clone(&metrics),
        );
        Depot {
            inner: Arc::new(Inner {
                store,
                fetchers,
                options,
                small_flights: Flights::new(Arc::clone(&metrics)),
                mutable_flights: Flights::new(Arc::clone(&metrics)),
                zip_flights: ZipFlights::default(),
                hot: HotCache::default(),
                mutable: MutableCache::default(),
                sumdb,
                vulndb,
                gate: gate::Gate::default(),
                metrics,
                coord,
            }),
        }
    }

    /// What this depot counts (fetches in flight, single-flight waiters, checksum-database
    /// checks, artifacts kept), for `/metrics`.
    pub fn metrics(&self) -> Arc<DepotMetrics> {
        Arc::clone(&self.inner.metrics)
    }

    pub fn is_offline(&self) -> bool {
        self.inner.fetchers.is_offline()
    }

    /// Puts `policy` in force for every request from now on (start-up, SIGHUP); requests
    /// under way finish under the policy they started with.
    pub fn set_policy(&self, policy: Policy) {
        self.inner.gate.set(policy);
    }

    /// The policy in force (allow-all unless one was set).
    pub fn policy(&self) -> Arc<Policy> {
        self.inner.gate.current()
    }

    /// What the policy decides for `module@version` with the advisories that affect it and
    /// the licence `license` (for showing, e.g. the web UI's "blocked"; requests are gated
    /// by the depot itself).
    pub fn decide(
        &self,
        module: &ModulePath,
        version: &Version,
        license: License,
    ) -> godepot_policy::Decision {
        let gate = &self.inner.gate;
        let policy = gate.current();
        let mut facts = gate.advisory_facts(&policy, module, version);
        facts.license = license;
        policy.decide_with(module, version, &facts)
    }

    /// Reads the vulnerability database the store holds and puts it in force for
    /// `vulnerable` rules (start-up, SIGHUP, after a newer copy is kept); says its
    /// `index/db.json` time, `None` when none is held (then nothing is affected). A copy
    /// that fails its checks is an error and leaves the one in force. Blocking.
    pub fn load_advisories(&self) -> Result<Option<String>, String> {
        match HeldVulnDb::load(self.inner.store.as_ref())? {
            Some(db) => {
                let modified = db.modified();
                self.set_advisories(Some(Arc::new(db)));
                Ok(Some(modified))
            }
            None => {
                self.set_advisories(None);
                Ok(None)
            }
        }
    }

    /// Puts the held vulnerability database in force for `vulnerable` rules (start-up, and
    /// whenever a newer copy is held); `None`: no database, so no version is affected.
    pub fn set_advisories(&self, advisories: Option<Arc<dyn Advisories>>) {
        self.inner.gate.facts.set_advisories(advisories);
    }

    /// Admin "refresh": forgets the cached `list` and `@latest` of `module` and asks upstream
    /// again now; the fresh list (policy-filtered) is the answer.
    pub async fn refresh_list(&self, module: &ModulePath) -> Result<Answer, DepotError> {
        let cache = &self.inner.mutable;
        cache.forget(&format!("{}/@v/list", module.escaped()));
        cache.forget(&format!("{}/@latest", module.escaped()));
        self.list(module).await
    }

    /// After a version's files were taken out of the store (admin "remove"): forgets what
    /// is held of it in memory, so it is not served from there either.
    pub fn forget_version(&self, module: &ModulePath, version: &Version) {
        for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
            let key = ArtifactKey::new(module.clone(), version.clone(), kind);
            self.inner.hot.remove(&key);
        }
        let cache = &self.inner.mutable;
        cache.forget(&format!("{}/@v/list", module.escaped()));
        cache.forget(&format!("{}/@latest", module.escaped()));
        self.inner.gate.facts.forget(module, version);
    }

    /// `GET <module>/@v/list`, without the versions the policy blocks.
    pub async fn list(&self, module: &ModulePath) -> Result<Answer, DepotError> {
        let mut answer = mutable::list(&self.inner, module).await?;
        if let Body::Bytes(data) = answer.body {
            answer.body = Body::Bytes(self.inner.gate.filter_list(module, data));
        }
        Ok(answer)
    }

    /// `GET <module>/@latest`: upstream's latest when the policy allows it, else the newest
    /// allowed version listed (the go command's preference); every version blocked is the
    /// refusal of the newest.
    pub async fn latest(&self, module: &ModulePath) -> Result<Answer, DepotError> {
        let answer = mutable::latest(&self.inner, module).await?;
        let refusal = match bytes_of(&answer).map(|data| self.inner.gate.check_info(module, data)) {
            Some(Err(refusal)) => refusal,
            _ => return Ok(answer),
        };
        let list = mutable::list(&self.inner, module).await?;
        let versions = bytes_of(&list)
            .map(|data| gate::listed_versions(module, data))
            .unwrap_or_default();
        let gate = &self.inner.gate;
        let policy = gate.current();
        let facts = |v: &Version| gate.advisory_facts(&policy, module, v);
        match policy.latest_with(module, &versions, facts) {
            Ok(Some(version)) => self.info(module, version.as_str()).await,
            Ok(None) => Err(refusal),
            Err(blocked) => Err(DepotError::Blocked(blocked)),
        }
    }

    /// `GET <module>/@v/<query>.info`: a canonical version is immutable; anything else
    /// (a branch, a commit, `v1.2`) is a query whose answer may change, and must not resolve
    /// to a blocked version.
    pub async fn info(&self, module: &ModulePath, query: &str) -> Result<Answer, DepotError> {
        match Version::for_module(module, query) {
            Ok(version) => {
                self.inner.gate.check_advisories(module, &version)?;
                let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Info);
                self.served(
                    module,
                    &version,
                    ingest::small_artifact(&self.inner, key).await,
                )
            }
            Err(e) if godepot_module::semver::canonical(query).as_deref() == Some(query) => {
                // Canonical, but wrong for this module path (say v2.0.0 without /v2).
                Err(DepotError::Invalid(e.to_string()))
            }
            Err(_) => {
                let answer = mutable::query_info(&self.inner, module, query).await?;
                if let Some(data) = bytes_of(&answer) {
                    self.inner.gate.check_info(module, data)?;
                }
                Ok(answer)
            }
        }
    }

    /// `GET <module>/@v/<version>.mod`: decided on the module and version rules alone
    /// (see [`facts`]: the module graph reads go.mod files of versions it never builds).
    pub async fn go_mod(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Answer, DepotError> {
        self.inner.gate.check(module, version)?;
        let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Mod);
        self.served(
            module,
            version,
            ingest::small_artifact(&self.inner, key).await,
        )
    }

    /// `GET <module>/@v/<version>.zip`: refused for its advisories before any fetch, and
    /// for its licence once held (a zip not held is fetched, checked and kept first, when
    /// the policy has licence rules; see [`facts`]).
    pub async fn zip(&self, module: &ModulePath, version: &Version) -> Result<Answer, DepotError> {
        self.inner.gate.check_advisories(module, version)?;
        self.check_license(module, version).await?;
        let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Zip);
        self.served(module, version, zipflight::zip(&self.inner, key).await)
    }

    /// The licence rules of the policy, for `module@version`'s zip, which is fetched and
    /// kept first when not held. Nothing to do when the policy has no licence rules.
    async fn check_license(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<(), DepotError> {
        let gate = &self.inner.gate;
        if !gate.current().uses_license() {
            return Ok(());
        }
        let license = match gate.facts.known_license(module, version) {
            Some(license) => license,
            None => {
                let mut license = self.detect_held(module, version).await?;
                if license == License::Pending {
                    let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Zip);
                    keep::keep(&self.inner, key).await?;
                    license = self.detect_held(module, version).await?;
                }
                if license != License::Pending {
                    gate.facts.remember_license(module, version, &license);
                }
                license
            }
        };
        gate.check_license(module, version, license)
    }

    async fn detect_held(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<License, DepotError> {
        let (m, v) = (module.clone(), version.clone());
        (self.inner)
            .blocking(move |store| facts::detect_held(store, &m, &v))
            .await
    }

    /// Notes a version a client is being given (in memory; see `godepot_store::access`).
    fn served(
        &self,
        module: &ModulePath,
        version: &Version,
        result: Result<Answer, DepotError>,
    ) -> Result<Answer, DepotError> {
        if let (Ok(_), Some(access)) = (&result, &self.inner.options.access) {
            access.note(module, version);
        }
        result
    }

    /// Makes the store hold `key` (an `.info`, `.mod` or `.zip` of a canonical version),
    /// fetching and checking it like any request would, and says whether it was stored now
    /// or held already; an error is the reason it was refused (a blocked version is
    /// [`DepotError::Blocked`], and is not fetched). For filling a store (prefetch), where
    /// that outcome is the point.
    /// The same facts decide as for a client's request of that kind: a zip refused for its
    /// licence is kept (it had to be fetched to be known) but reported refused.
    pub async fn keep(&self, key: ArtifactKey) -> Result<Kept, DepotError> {
        let (module, version) = (key.module.clone(), key.version.clone());
        match key.kind {
            Kind::Mod => self.inner.gate.check(&module, &version)?,
            _ => self.inner.gate.check_advisories(&module, &version)?,
        }
        let zip = key.kind == Kind::Zip;
        let kept = keep::keep(&self.inner, key).await?;
        if zip {
            self.check_license(&module, &version).await?;
        }
        Ok(kept)
    }

    /// `GET /vulndb/<file>`: the vulnerability database, mirrored from its source (uncompressed;
    /// the body's time is the file's own `modified`).
    pub async fn vulndb(&self, file: &godepot_vulndb::DbFile) -> Result<Answer, DepotError> {
        self.inner.vulndb.serve(file).await
    }

    /// Fetches the whole vulnerability database from its source, checks it and keeps it
    /// (prefetch `--vulndb`, `sync`).
    pub async fn mirror_vulndb(&self) -> Result<MirrorReport, DepotError> {
        let report = self.inner.vulndb.mirror().await?;
        // The copy just kept is the one `vulnerable` rules decide on from now on; without
        // such rules nothing reads it, so it is not parsed (as at start-up).
        if !self.inner.gate.current().uses_advisories() {
            return Ok(report);
        }
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.load_advisories()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "vulnerability database kept but not put in force")
            }
            Err(e) => {
                tracing::warn!(error = %e, "vulnerability database kept but not put in force")
            }
        }
        Ok(report)
    }

    /// Whether a vulnerability database source is configured (and the depot is online).
    pub fn has_vulndb_source(&self) -> bool {
        self.inner.vulndb.has_source()
    }

    /// `GET /sumdb/<name>/<path>`: a configured checksum database, proxied and cached.
    pub async fn sumdb(
        &self,
        name: &str,
        path: &godepot_sumdb::SumdbPath,
    ) -> Result<Answer, DepotError> {
        self.inner.sumdb.serve(name, path).await
    }

    /// After a prefetch: fetches the checksum-database tiles a go command needs to check the
    /// lookups held, in any order.
    pub async fn gather_proof_tiles(&self) -> ProofTiles {
        self.inner.sumdb.gather_proof_tiles().await
    }

    /// The bytes of a small artifact the store holds, from the store alone: never fetched,
    /// and not gated by the policy, for showing (the web UI's go.mod), never for serving.
    /// `None` when not held or unreadable.
    pub async fn held_bytes(&self, key: ArtifactKey) -> Option<Bytes> {
        let store = Arc::clone(&self.inner.store);
        match tokio::task::spawn_blocking(move || store.read(&key)).await {
            Ok(Ok(data)) => data,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read a held artifact");
                None
            }
            Err(_) => None,
        }
    }

    /// The checksum databases proxied and what has been verified of each (for the web UI).
    pub fn checksum_databases(&self) -> Vec<SumdbState> {
        self.inner.sumdb.states()
    }

    /// What is known of upstream without asking it: the fetchers and the last contact.
    pub fn upstream_health(&self) -> String {
        let fetchers = &self.inner.fetchers;
        if fetchers.is_offline() {
            "offline".to_string()
        } else {
            format!(
                "{} ({})",
                fetchers.describe(),
                self.inner.mutable.upstream_health()
            )
        }
    }

    /// Whether the store takes writes, and what is known of upstream. Never contacts
    /// upstream itself: probes must stay cheap.
    pub async fn readiness(&self) -> Readiness {
        let store = Arc::clone(&self.inner.store);
        let writable = tokio::task::spawn_blocking(move || store.check_writable())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        Readiness {
            store: writable,
            upstream: self.upstream_health(),
        }
    }
}

/// The bytes of a small answer (every mutable answer is one).
fn bytes_of(answer: &Answer) -> Option<&Bytes> {
    match &answer.body {
        Body::Bytes(data) | Body::Small { data, .. } => Some(data),
        Body::File(_) | Body::Stream { .. } => None,
    }
}

impl Inner {
    /// The fetcher for `module`; `None` offline (or when no route serves it).
    fn fetcher_for(&self, module: &ModulePath) -> Option<Arc<dyn Fetcher>> {
        self.fetchers.for_module(module).cloned()
    }

    /// The answer for an artifact not held that nothing can fetch.
    fn not_fetchable(&self, key: &ArtifactKey) -> DepotError {
        let why = if self.fetchers.is_offline() {
            "offline mode"
        } else {
            "no fetcher serves this module"
        };
        DepotError::NotFound(format!(
            "{}@{}: .{} not held ({why})",
            key.module,
            key.version,
            key.kind.extension()
        ))
    }

    /// Runs a store operation on the blocking pool: file-system calls must not stall the
    /// async workers.
    async fn blocking<T, F>(&self, f: F) -> Result<T, DepotError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, godepot_store::StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)
    }
}
