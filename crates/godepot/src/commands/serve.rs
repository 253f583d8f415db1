//! `godepot serve`.

use std::path::PathBuf;
use std::sync::Arc;

use godepot_server::{Activity, ConnectionLimits, ServerOptions};
use godepot_store::access::{AccessRecorder, SystemClock};

use crate::cli::ServeArgs;
use crate::commands::depot::{self, DepotSettings, Reach, StoreAt, instance_id};
use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::settings::{CacheSettings, ServerSettings, SumdbSettings, UpstreamSettings};
use crate::storage::StoreLocation;
use crate::{datadir, logging, memory};

/// `serve`'s settings, merged.
struct Config {
    listen: std::net::SocketAddr,
    server: ServerSettings,
    /// The store; `data_dir` is its directory, `None` for a bucket.
    location: StoreLocation,
    data_dir: Option<PathBuf>,
    upstream: UpstreamSettings,
    offline: bool,
    cache: CacheSettings,
    sumdb: SumdbSettings,
    /// The vulnerability database's source, if any.
    vulndb: Option<String>,
    /// The policy file (reloaded on SIGHUP) and the policy read from it at start-up.
    policy_file: Option<PathBuf>,
    policy: godepot_policy::Policy,
    require_auth: bool,
    audit: Option<Arc<godepot_server::AuditLog>>,
    tls: Option<Arc<godepot_server::Tls>>,
    reach: Reach,
    /// `--sync-interval` (off when `None`) and what each sync fetches.
    sync_interval: Option<std::time::Duration>,
    follow: godepot_depot::Follow,
    /// `--cache-dir` and its bound.
    disk_cache: Option<(PathBuf, u64)>,
    /// `--coordination` and `--coordination-lease`, turned into the depot's in `serve`
    /// (the Redis client needs the runtime).
    coordination: crate::settings::CoordinationSettings,
}

pub(crate) fn run(file: &ConfigFile, args: ServeArgs) -> Result<(), Failure> {
    let log = file.merge(args.log)?;
    let policy = file.merge(args.policy)?;
    let upstream = file.merge(args.upstream)?;
    let config = Config {
        listen: file.merge(args.listen)?.listen(),
        server: file.merge(args.server)?,
        data_dir: None,
        location: file.merge(args.store)?.location()?,
        reach: Reach::new(file, &upstream)?,
        upstream,
        offline: file.merge(args.offline)?.offline(),
        cache: file.merge(args.cache)?,
        sumdb: file.merge(args.sumdb)?,
        vulndb: file.merge(args.vulndb)?.source(),
        policy: policy.load()?,
        policy_file: policy.policy,
        require_auth: file.merge(args.auth)?.require_auth(),
        audit: file.merge(args.audit)?.open()?.map(Arc::new),
        tls: file.merge(args.tls)?.load()?.map(Arc::new),
        sync_interval: file.merge(args.sync)?.sync_interval(),
        follow: file.merge(args.follow)?.follow(),
        disk_cache: file.merge(args.disk_cache)?.cache()?,
        coordination: file.merge(args.coordination)?,
    };
    let mut config = config;
    config.data_dir = match &config.location {
        StoreLocation::Dir(dir) => Some(dir.clone()),
        StoreLocation::Bucket(_) => None,
    };
    if let Some(data_dir) = &config.data_dir
        && config.offline
        && !data_dir.is_dir()
    {
        // Offline, an empty store answers 404 to everything: a typo, not a fresh start.
        return Err(Failure::config(format!(
            "data directory {} does not exist, and offline there is nothing to fill it",
            data_dir.display()
        ))
        .hint("pass --data-dir with the store you imported into (or drop --offline)"));
    }
    logging::init(log.log_format(), log.log_level())?;
    let runtime = depot::runtime()?;
    let result = runtime.block_on(serve(config));
    // Requests are answered and the access times flushed by now. What may still run on the
    // blocking pool is background upkeep of derived data (an index rebuild reading every
    // file held can take minutes): it must not hold the exit, and is redone at the next
    // start (the index marks itself dirty until it completes).
    runtime.shutdown_timeout(SHUTDOWN_BACKGROUND);
    result
}

/// How long a stopping server waits for background work on the blocking pool.
const SHUTDOWN_BACKGROUND: std::time::Duration = std::time::Duration::from_millis(500);

async fn serve(config: Config) -> Result<(), Failure> {
    let instance_id = instance_id();
    let upstream_metrics = Arc::new(godepot_upstream::UpstreamMetrics::default());
    let listen = config.listen;
    let coordination = config.coordination.coordination()?;
    if coordination.coordinator.is_shared() {
        tracing::info!(coordinator = %coordination.coordinator.describe(), lease = ?coordination.lease, "fetches are coordinated with the other replicas");
    }
    let settings = DepotSettings {
        store: match (&config.data_dir, &config.location) {
            (Some(dir), _) => StoreAt::Dir(dir),
            (None, StoreLocation::Bucket(url)) => StoreAt::Bucket(url),
            (None, StoreLocation::Dir(dir)) => StoreAt::Dir(dir),
        },
        upstream: config.upstream.upstream.as_deref(),
        offline: config.offline,
        list_ttl: config.cache.list_ttl(),
        upstream_timeout: config.upstream.upstream_timeout(),
        instance_id: instance_id.clone(),
        listen,
        reach: &config.reach,
        access: None,
        upstream_metrics: Some(Arc::clone(&upstream_metrics)),
        vulndb: config.vulndb.clone(),
        disk_cache: config.disk_cache.clone(),
        coordination,
    };
    let sumdb = depot::sumdb_options(
        config.sumdb.sumdb.as_deref(),
        config.sumdb.nosumdb.as_deref(),
        &settings,
    )?;
    let about = about(&config, &sumdb);
    let created = config.data_dir.as_deref().map(datadir::Created::guard);
    // A bucket's shared state (tokens, access times) goes through a handle of its own: the
    // depot's is built after the recorder it is given.
    let (recorder, bucket) = match &config.location {
        StoreLocation::Dir(dir) => (access_recorder(dir)?, None),
        StoreLocation::Bucket(url) => {
            let bucket = crate::storage::open_bucket(url, crate::storage::Access::Read)?;
            let recorder = AccessRecorder::open_bucket(
                Arc::clone(&bucket),
                &instance_id,
                Arc::new(SystemClock),
            );
            (Arc::new(recorder), Some(bucket))
        }
    };
    let settings = DepotSettings {
        access: Some(Arc::clone(&recorder)),
        ..settings
    };
    let mut built = depot::build_with_sumdb(&settings, sumdb)?;
    // On a bucket each replica keeps its own index, told of its own writes by the store
    // and refreshed from the bucket's listing for everyone else's.
    let refresh = match settings.store {
        StoreAt::Bucket(_) => {
            let cache_dir = settings.disk_cache.as_ref().map(|(dir, _)| dir.as_path());
            built.index = depot::attach_replica_index(&*built.origin, cache_dir);
            Some(INDEX_REFRESH)
        }
        StoreAt::Dir(_) => None,
    };
    if let Some(data_dir) = &config.data_dir
        && config.offline
        && datadir::holds_nothing(data_dir)
    {
        tracing::warn!(data_dir = %data_dir.display(), "offline with an empty store: every request will be answered 404; import a bundle first (godepot import)");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::runtime(format!("cannot listen on {listen}: {e}"))
            .hint("pick another address with --listen, e.g. --listen 127.0.0.1:3001")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot read the listening address: {e}")))?;
    if let Some(created) = created {
        created.keep();
    }
    if let Some(index) = &built.index {
        if index.needs_rebuild().unwrap_or(true) {
            tracing::info!(
                "module index not current: rebuilding it from the files in the background, serving meanwhile"
            );
        } else {
            tracing::info!("module index current");
        }
        tokio::spawn(keep_index(
            Arc::clone(index),
            Arc::clone(&built.origin),
            refresh,
        ));
    }
    let depot = built.depot;
    crate::policy::put_in_force(&depot, config.policy);
    #[cfg(unix)]
    tokio::spawn(crate::hangup::reload_on_hangup(crate::hangup::Reloadable {
        depot: depot.clone(),
        policy: config.policy_file.clone(),
        audit: config.audit.clone(),
        tls: config.tls.clone(),
    }));
    let access = match config.require_auth {
        false => None,
        true => {
            let (store, reload_every) = match &bucket {
                Some(bucket) => (Arc::clone(bucket), TOKENS_RELOAD_BUCKET),
                None => (
                    crate::storage::open(&config.location, crate::storage::Access::Read)?.store,
                    TOKENS_RELOAD_DIR,
                ),
            };
            let store = godepot_auth::TokenStore::new(store);
            let access = godepot_server::Access::new(store).map_err(|e| {
                Failure::config(format!("--require-auth: cannot read the tokens: {e}"))
            })?;
            let access = Arc::new(access);
            tokio::spawn(Arc::clone(&access).keep_current(reload_every, TOKENS_USES_EVERY));
            Some(access)
        }
    };
    let mode = if depot.is_offline() {
        "offline"
    } else {
        "online"
    };
    match config.sync_interval {
        Some(_) if depot.is_offline() => {
            tracing::warn!("--sync-interval is ignored: there is no upstream to follow (offline)");
        }
        Some(interval) => {
            let options = godepot_depot::SyncOptions {
                follow: config.follow,
                ..godepot_depot::SyncOptions::default()
            };
            tracing::info!(every = ?interval, follow = ?config.follow, "syncing the modules held in the background");
            tokio::spawn(crate::commands::sync::every(
                depot.clone(),
                interval,
                options,
            ));
        }
        None => {}
    }
    let activity = Arc::new(Activity::default());
    tokio::spawn(memory::release_when_idle(
        Arc::clone(&activity),
        built.index.clone(),
    ));
    tokio::spawn(Arc::clone(&recorder).flush_every(ACCESS_FLUSH));
    let mut metrics = godepot_server::Metrics::default().with_source(upstream_metrics);
    if let Some(index) = &built.index {
        // The store's size for /metrics: one query over the index's module rows a scrape.
        let index = Arc::clone(index);
        metrics = metrics.with_store_totals(Arc::new(move || {
            index.totals().ok().map(|t| (t.versions, t.bytes))
        }));
    }
    let router = godepot_server::router(
        depot,
        ServerOptions {
            list_ttl: settings.list_ttl,
            instance_id,
            activity,
            access,
            audit: config.audit.clone(),
            // Removal through the admin API: rm's quarantine, on the store served.
            remover: Some(Arc::new(crate::commands::rm::StoreRemover {
                store: Arc::clone(&built.store),
            })),
            about,
            metrics: Arc::new(metrics),
            index: built.index,
            version: format!("godepot {}", *crate::version::LINE),
        },
    );
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(
        version = crate::version::VERSION,
        commit = crate::version::COMMIT,
        built = crate::version::BUILD_DATE.as_str(),
        data_dir = %config.location,
        mode,
        "godepot {} listening on {scheme}://{addr}",
        crate::version::VERSION,
    );
    let limits = ConnectionLimits {
        header_timeout: config.server.header_timeout(),
        idle_timeout: config.server.idle_timeout(),
        max_connections: config.server.max_connections(),
    };
    let grace = config.server.shutdown_timeout();
    godepot_server::serve(
        listener,
        router,
        shutdown_signal(),
        grace,
        limits,
        config.tls,
    )
    .await
    .map_err(|e| Failure::runtime(format!("server failed: {e}")))?;
    recorder.flush_logged().await;
    tracing::info!("stopped");
    Ok(())
}

/// What `GET /api/server` says of this configuration (nothing secret: names and public
/// keys of the databases, never their URLs).
fn about(config: &Config, sumdb: &godepot_depot::SumdbOptions) -> godepot_server::About {
    godepot_server::About {
        version: env!("CARGO_PKG_VERSION").to_string(),
        tls: config.tls.is_some(),
        private: config
            .reach
            .private
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        sumdb: sumdb
            .databases
            .iter()
            .map(|db| godepot_server::SumdbAbout {
                name: db.spec.name.clone(),
                key: db.spec.key.as_ref().map(ToString::to_string),
            })
            .collect(),
    }
}

/// How often the token file is looked at for tokens added or revoked: the longest a revoked
/// token still works. A data directory's is a small local read; a bucket's a GET per replica.
const TOKENS_RELOAD_DIR: std::time::Duration = std::time::Duration::from_secs(1);
const TOKENS_RELOAD_BUCKET: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the tokens' last-use times are written back.
const TOKENS_USES_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How often the access times noted in memory are appended to the store's log (or, on a
/// bucket, written to this replica's object): what a crash can lose of them.
const ACCESS_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

/// Notes the versions served, for `godepot gc` (see `godepot_store::access`).
fn access_recorder(data_dir: &std::path::Path) -> Result<Arc<AccessRecorder>, Failure> {
    // Nothing is written into a data directory before its format is known to be ours.
    godepot_store::format::check(data_dir)
        .map_err(|e| crate::datadir::store_failure(data_dir, &e))?;
    AccessRecorder::open(data_dir, Arc::new(SystemClock))
        .map(Arc::new)
        .map_err(|e| Failure::runtime(format!("cannot start the access log: {e}")))
}

/// How often download counts are written to the index.
const HITS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a replica on a bucket refreshes its index from the bucket's listing, for the
/// versions other replicas (or an import, a prefetch) stored there: what the web UI and
/// `/metrics` may lag behind them. One refresh costs a listing of the whole bucket (a
/// request per thousand keys); see docs/scale-out.md for why five minutes.
const INDEX_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// The module index's upkeep while serving: a rebuild in the background when it is not
/// current (missing, older format, a crashed writer, an update that failed: the server
/// answers meanwhile), looked at again every few seconds, and the download counts written
/// as often. With `refresh` (a bucket), a refresh at start and then at that interval.
async fn keep_index(
    index: Arc<godepot_index::Index>,
    store: Arc<dyn godepot_store::Store>,
    refresh: Option<std::time::Duration>,
) {
    type Step<T> = fn(&godepot_index::Index, &dyn godepot_store::Store) -> IndexResult<T>;
    async fn blocking<T: Default + Send + 'static>(
        index: &Arc<godepot_index::Index>,
        store: &Arc<dyn godepot_store::Store>,
        f: Step<T>,
    ) -> IndexResult<T> {
        let (index, store) = (Arc::clone(index), Arc::clone(store));
        tokio::task::spawn_blocking(move || f(&index, &*store))
            .await
            .unwrap_or(Ok(T::default()))
    }
    // Says whether it rebuilt.
    let rebuild: Step<bool> = |index, store| {
        if !index.needs_rebuild()? {
            return Ok(false);
        }
        let rebuilt = index.rebuild(store);
        // The walk held every file of the store for a moment.
        crate::memory::release_free_memory();
        let rebuilt = rebuilt?;
        let t = rebuilt.totals;
        tracing::info!(
            modules = t.modules,
            versions = t.versions,
            bytes = t.bytes,
            seconds = rebuilt.seconds,
            "module index rebuilt"
        );
        Ok(true)
    };
    let refresh_now: Step<()> = |index, store| {
        let refreshed = index.refresh(store);
        crate::memory::release_free_memory();
        let refreshed = refreshed?;
        if refreshed.examined > 0 {
            tracing::info!(
                changed = refreshed.examined,
                versions = refreshed.totals.versions,
                seconds = refreshed.seconds,
                "module index refreshed from the store"
            );
        }
        Ok(())
    };
    let mut every = tokio::time::interval(HITS_EVERY);
    let mut failed_rebuild = false;
    let mut last_refresh: Option<std::time::Instant> = None;
    loop {
        // A rebuild that failed is not tried again in a loop: `godepot reindex` says why.
        // One that ran stands for a refresh.
        if !failed_rebuild {
            match blocking(&index, &store, rebuild).await {
                Ok(true) => last_refresh = Some(std::time::Instant::now()),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "module index rebuild failed; run godepot reindex");
                    failed_rebuild = true;
                }
            }
        }
        if let Some(interval) = refresh
            && last_refresh.is_none_or(|at| at.elapsed() >= interval)
        {
            // Tried again at the next interval, not sooner, when the store is unreachable.
            last_refresh = Some(std::time::Instant::now());
            if let Err(e) = blocking(&index, &store, refresh_now).await {
                tracing::warn!(error = %e, "module index refresh failed; tried again later");
            }
        }
        every.tick().await;
        if let Err(e) = blocking(&index, &store, |index, _| index.flush_hits()).await {
            tracing::warn!(error = %e, "download counts not written to the module index");
        }
    }
}

type IndexResult<T> = Result<T, godepot_index::IndexError>;

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing in-flight requests");
}
