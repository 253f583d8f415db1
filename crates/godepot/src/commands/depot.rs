//! Building the depot the way `serve` does, for every command that fetches: one fetch path,
//! so that validation, single-flight and atomic storage apply to all of them.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use godepot_depot::{
    Depot, DepotOptions, FallThrough, Fetcher, Fetchers, GitSource, SumdbDatabase, SumdbOptions,
    VulnDbOptions,
};
use godepot_git::{GitFetcher, GitOptions, HttpConfig};
use godepot_index::Index;
use godepot_store::access::AccessRecorder;
use godepot_store::{CachedStore, DiskCache, LocalStore, Store};
use godepot_upstream::{Credentials, Netrc, ProxyList, Upstream, UpstreamMetrics, UpstreamOptions};

use crate::config::ConfigFile;
use crate::discover;
use crate::failure::Failure;
use crate::settings::UpstreamSettings;
use crate::storage::{Access, BucketUrl, StoreLocation};

/// What is fetched from repositories rather than proxies, and the credentials for every
/// host: the `--private` and `--insecure` patterns, `[[credentials]]` and `.netrc`.
pub(crate) struct Reach {
    pub(crate) private: String,
    pub(crate) insecure: String,
    /// The config file's per-host credentials ahead of `.netrc`'s: one set for proxies and
    /// repositories alike.
    pub(crate) netrc: Netrc,
}

impl Reach {
    pub(crate) fn new(file: &ConfigFile, upstream: &UpstreamSettings) -> Result<Reach, Failure> {
        let mut netrc = Netrc::from_environment();
        netrc.prefer(file.credentials()?.into_iter().map(|c| {
            let creds = Credentials {
                login: c.username,
                password: c.token,
            };
            (c.host, creds)
        }));
        Ok(Reach {
            private: upstream.private(),
            insecure: upstream.insecure(),
            netrc,
        })
    }
}

/// What it takes to build a depot.
pub(crate) struct DepotSettings<'a> {
    /// The store: a data directory, or a bucket.
    pub(crate) store: StoreAt<'a>,
    /// As configured; `None` means "discover it" (`$GOPROXY`, `go env`).
    pub(crate) upstream: Option<&'a str>,
    pub(crate) offline: bool,
    pub(crate) list_ttl: Duration,
    pub(crate) upstream_timeout: Duration,
    pub(crate) instance_id: String,
    /// The address this process serves on, so an upstream that is ourselves is refused.
    pub(crate) listen: SocketAddr,
    pub(crate) reach: &'a Reach,
    /// Where the versions served are noted (`serve` only: prefetch is no client).
    pub(crate) access: Option<Arc<AccessRecorder>>,
    /// Where the proxy and checksum-database clients count their requests (`serve`'s
    /// `/metrics`). Not the git fetcher's: the proxies it asks are named by the modules'
    /// go-import tags, so their hosts would be an unbounded label.
    pub(crate) upstream_metrics: Option<Arc<UpstreamMetrics>>,
    /// The vulnerability database's source (`--vulndb`, else `$GOVULNDB`), if any.
    pub(crate) vulndb: Option<String>,
    /// `--cache-dir` and `--cache-size` (`serve` only): a local copy of the artifacts
    /// served, in front of the store.
    pub(crate) disk_cache: Option<(PathBuf, u64)>,
    /// Who fetches what among the replicas on one store (`--coordination`: `serve`,
    /// `prefetch`, `sync`).
    pub(crate) coordination: godepot_depot::Coordination,
}

/// Where [`DepotSettings`]' store is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoreAt<'a> {
    Dir(&'a Path),
    Bucket(&'a BucketUrl),
}

impl<'a> StoreAt<'a> {
    pub(crate) fn of(location: &'a StoreLocation) -> Self {
        match location {
            StoreLocation::Dir(dir) => StoreAt::Dir(dir),
            StoreLocation::Bucket(url) => StoreAt::Bucket(url),
        }
    }
}

/// The depot over the store and the upstream (unless offline or `off`).
pub(crate) struct Built {
    pub(crate) depot: Depot,
    /// The store as opened, without the disk cache in front: what the module index reads
    /// its rows from (a rebuild must not fill the cache with every zip held).
    pub(crate) origin: Arc<dyn Store>,
    /// The module index the store keeps current, unless it could not be opened. A data
    /// directory's, shared by every command on it; none for a bucket, whose index is each
    /// replica's own ([`attach_replica_index`], `serve`'s).
    pub(crate) index: Option<Arc<Index>>,
    /// The store the depot works on (behind the disk cache, if any), for the admin API.
    pub(crate) store: Arc<dyn Store>,
}

/// The depot, proxying (and checking modules against) these checksum databases.
///
/// Modules matching `--private` are routed to the git fetcher; every other module goes to
/// the proxy list, followed by the git fetcher when the list holds `direct` (asked after
/// the proxies say 404/410, as the go command does, wherever `direct` stood in the list).
pub(crate) fn build_with_sumdb(
    settings: &DepotSettings<'_>,
    sumdb: SumdbOptions,
) -> Result<Built, Failure> {
    // Derived local state: beside the tree for a data directory; for a bucket, git mirrors
    // under --cache-dir (else this process's scratch directory).
    let (store, index, git_dir): (Arc<dyn Store>, _, _) = match settings.store {
        StoreAt::Dir(dir) => {
            let (store, index) = open_indexed_store(dir)?;
            (
                Arc::new(store),
                index,
                dir.join(godepot_store::local::META_DIR).join("git"),
            )
        }
        StoreAt::Bucket(url) => {
            // Offline, nothing is fetched, so nothing marks the bucket.
            let access = match settings.offline {
                true => Access::Read,
                false => Access::Write,
            };
            let store = crate::storage::open_bucket(url, access)?;
            let git_dir = match &settings.disk_cache {
                Some((dir, _)) => dir.join("git"),
                None => store.scratch_dir().join("git"),
            };
            (store, None, git_dir)
        }
    };
    let scratch = store.scratch_dir().to_path_buf();
    let opened = Arc::clone(&store);
    let store = with_disk_cache(store, settings.disk_cache.as_ref())?;
    let options = DepotOptions {
        offline: settings.offline,
        list_ttl: settings.list_ttl,
        sumdb,
        access: settings.access.clone(),
        vulndb: vulndb_options(settings)?,
        coordination: settings.coordination.clone(),
        ..DepotOptions::default()
    };
    if settings.offline {
        let depot = Depot::with_fetchers(store.clone(), Fetchers::offline(), None, options);
        return Ok(Built {
            depot,
            store,
            origin: opened,
            index,
        });
    }
    let resolved = discover::upstream(settings.upstream, settings.listen)?;
    let upstream = proxies(&resolved, settings)?;
    let private = &settings.reach.private;
    let git = if resolved.list.has_direct || !private.is_empty() {
        Some(git_source(settings, git_dir, &scratch)?)
    } else {
        None
    };
    let proxy: Option<Arc<dyn Fetcher>> = upstream.clone().map(|u| Arc::new(u) as Arc<dyn Fetcher>);
    let default = match (proxy, &git) {
        (Some(proxy), Some(git)) if resolved.list.has_direct => {
            Some(Arc::new(FallThrough::new(vec![proxy, git.clone()])) as Arc<dyn Fetcher>)
        }
        (None, Some(git)) if resolved.list.has_direct => Some(git.clone()),
        (proxy, _) => proxy,
    };
    let mut fetchers = default.map_or_else(Fetchers::offline, Fetchers::single);
    if let Some(git) = git.filter(|_| !private.is_empty()) {
        tracing::info!(private = %private, "private modules are fetched from their repositories");
        fetchers = fetchers.route(private, git);
    }
    let depot = Depot::with_fetchers(store.clone(), fetchers, upstream, options);
    Ok(Built {
        depot,
        store,
        origin: opened,
        index,
    })
}

/// The git fetcher, its mirrors in `cache` (derived data: `<data-dir>/.godepot/git/`),
/// asking each repository at most once per list TTL; zips are built in the store's scratch
/// directory for this process.
fn git_source(
    settings: &DepotSettings<'_>,
    cache: PathBuf,
    scratch: &Path,
) -> Result<Arc<dyn Fetcher>, Failure> {
    let mut options = GitOptions::new(cache);
    options.ttl = settings.list_ttl;
    options.http = HttpConfig {
        insecure: settings.reach.insecure.clone(),
        credentials: godepot_depot::netrc_credentials(&settings.reach.netrc),
        timeout: settings.upstream_timeout,
        ..HttpConfig::default()
    };
    let git = GitFetcher::new(options)
        .map_err(|e| Failure::runtime(format!("cannot set up the git fetcher: {e}")))?;
    let proxies = UpstreamOptions {
        timeout: settings.upstream_timeout,
        instance_id: settings.instance_id.clone(),
        ..UpstreamOptions::default()
    };
    let netrc = settings.reach.netrc.clone();
    Ok(Arc::new(GitSource::new(git, scratch, proxies, netrc)))
}

/// The client for the proxies in the list, if it names any.
pub(crate) fn upstream_client(settings: &DepotSettings<'_>) -> Result<Option<Upstream>, Failure> {
    let resolved = discover::upstream(settings.upstream, settings.listen)?;
    proxies(&resolved, settings)
}

fn proxies(
    resolved: &discover::Resolved,
    settings: &DepotSettings<'_>,
) -> Result<Option<Upstream>, Failure> {
    if resolved.list.entries.is_empty() {
        if !resolved.list.has_direct {
            tracing::info!("upstream is 'off': serving from the store only");
        }
        return Ok(None);
    }
    let options = UpstreamOptions {
        timeout: settings.upstream_timeout,
        instance_id: settings.instance_id.clone(),
        metrics: settings.upstream_metrics.clone(),
        ..UpstreamOptions::default()
    };
    let upstream = Upstream::with_netrc(&resolved.list, options, settings.reach.netrc.clone())
        .map_err(|e| Failure::runtime(format!("cannot set up the upstream client: {e}")))?;
    tracing::info!(upstream = %resolved.list, from = resolved.source, "upstream");
    Ok(Some(upstream))
}

/// The vulnerability database's source, reached with the proxies' client settings and
/// credentials (none offline).
fn vulndb_options(settings: &DepotSettings<'_>) -> Result<VulnDbOptions, Failure> {
    let Some(url) = settings.vulndb.as_deref().filter(|_| !settings.offline) else {
        return Ok(VulnDbOptions::default());
    };
    let list = ProxyList::parse(url).map_err(|e| Failure::config(format!("--vulndb: {e}")))?;
    if list.entries.len() != 1 {
        return Err(Failure::config("--vulndb: not one URL")
            .hint("give the database's http(s):// or file:// URL, or off"));
    }
    let options = UpstreamOptions {
        timeout: settings.upstream_timeout,
        instance_id: settings.instance_id.clone(),
        metrics: settings.upstream_metrics.clone(),
        ..UpstreamOptions::default()
    };
    let source =
        Upstream::with_netrc(&list, options, settings.reach.netrc.clone()).map_err(|e| {
            Failure::runtime(format!(
                "cannot set up the vulnerability database client: {e}"
            ))
        })?;
    tracing::info!(source = %source.describe(), "mirroring the vulnerability database");
    Ok(VulnDbOptions {
        source: Some(source),
    })
}

/// The checksum databases to proxy: configured, else `$GOSUMDB` / `go env GOSUMDB`. Each gets
/// its own client for reaching it directly (its URL, else `https://<name>`, as the go
/// command does); the name comes from configuration, never from code.
pub(crate) fn sumdb_options(
    configured: Option<&str>,
    nosumdb: Option<&str>,
    settings: &DepotSettings<'_>,
) -> Result<SumdbOptions, Failure> {
    let (spec, source) = discover::sumdb(configured);
    let specs = godepot_sumdb::parse_database_list(&spec)
        .map_err(|e| Failure::config(format!("{source}: {e}")))?;
    let options = UpstreamOptions {
        timeout: settings.upstream_timeout,
        instance_id: settings.instance_id.clone(),
        metrics: settings.upstream_metrics.clone(),
        ..UpstreamOptions::default()
    };
    let mut databases = Vec::new();
    for spec in specs {
        let url = spec
            .url
            .clone()
            .unwrap_or_else(|| format!("https://{}", spec.name));
        let list = ProxyList::parse(&url)
            .map_err(|e| Failure::config(format!("{source}: checksum database URL: {e}")))?;
        let direct = Upstream::new(&list, options.clone()).map_err(|e| {
            Failure::runtime(format!("cannot set up a checksum database client: {e}"))
        })?;
        tracing::info!(database = %spec.name, verified = spec.key.is_some(), from = source, "proxying checksum database");
        databases.push(SumdbDatabase { spec, direct });
    }
    Ok(SumdbOptions {
        databases,
        skip: discover::nosumdb(nosumdb),
        private: settings.reach.private.clone(),
        gather: false,
    })
}

/// `store` behind the local disk cache, when one is configured.
pub(crate) fn with_disk_cache(
    store: Arc<dyn Store>,
    cache: Option<&(PathBuf, u64)>,
) -> Result<Arc<dyn Store>, Failure> {
    let Some((dir, max_bytes)) = cache else {
        return Ok(store);
    };
    let cache = DiskCache::open(dir, *max_bytes).map_err(|e| {
        Failure::config(format!("--cache-dir {}: {e}", dir.display()))
            .hint("give each process a writable --cache-dir of its own")
    })?;
    tracing::info!(cache_dir = %dir.display(), max_bytes, "artifacts served are kept in the local disk cache");
    Ok(Arc::new(CachedStore::new(store, cache)))
}

/// The store, its module index attached: every command that writes the store keeps the
/// index current through it.
pub(crate) fn open_store(data_dir: &Path) -> Result<LocalStore, Failure> {
    Ok(open_indexed_store(data_dir)?.0)
}

/// The store, and its module index when that could be opened.
pub(crate) fn open_indexed_store(
    data_dir: &Path,
) -> Result<(LocalStore, Option<Arc<Index>>), Failure> {
    let store =
        LocalStore::open(data_dir).map_err(|e| crate::datadir::store_failure(data_dir, &e))?;
    let index = attach_index(&store);
    Ok((store, index))
}

/// Attaches the module index to `store`. The index is derived data: when it cannot be
/// opened (an unwritable `.godepot/index/`), the command goes on without it, warned; what it
/// writes reaches the index at the next `godepot reindex`.
pub(crate) fn attach_index(store: &LocalStore) -> Option<Arc<Index>> {
    match Index::attach(store, &godepot_index::local_dir(store.root())) {
        Ok(index) => Some(index),
        Err(e) => {
            tracing::warn!(error = %e, "the module index is not kept current by this command; run godepot reindex");
            None
        }
    }
}

/// Where a replica on a bucket keeps its own module index (derived, per replica: SQLite
/// wants a local file, and replicas share nothing but the bucket): under `--cache-dir`,
/// which outlives the process, else in the store's scratch directory, gone with it.
pub(crate) fn replica_index_dir(cache_dir: Option<&Path>, store: &dyn Store) -> PathBuf {
    match cache_dir {
        Some(dir) => dir.join("index"),
        None => store.scratch_dir().join("index"),
    }
}

/// Attaches a replica's own module index to the bucket `store` (see [`replica_index_dir`]);
/// `None`, warned, when it cannot be opened: the web UI's listing and search are then empty.
pub(crate) fn attach_replica_index(
    store: &dyn Store,
    cache_dir: Option<&Path>,
) -> Option<Arc<Index>> {
    let dir = replica_index_dir(cache_dir, store);
    match Index::attach(store, &dir) {
        Ok(index) => Some(index),
        Err(e) => {
            tracing::warn!(index = %dir.display(), error = %e, "the module index is not kept: the web UI's listing and search and /metrics' store totals are empty");
            None
        }
    }
}

/// A random id for this process, sent upstream so that a request reaching ourselves is
/// recognised as a loop. std's hasher is seeded randomly per process: no crate needed.
pub(crate) fn instance_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // File reads run on the blocking pool. Tokio's default of 512 threads lets a burst of
        // downloads start hundreds of threads, each with its own stack and malloc arena, and
        // the memory stays resident long after; a queue in front of 64 costs nothing on disk
        // reads that take microseconds.
        .max_blocking_threads(64)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))
}
