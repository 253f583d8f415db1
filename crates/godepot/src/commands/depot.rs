//! Building the depot the way `serve` does, for every command that fetches: one fetch path,
//! so that validation, single-flight and atomic storage apply to all of them.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use godepot_depot::{Depot, DepotOptions, SumdbDatabase, SumdbOptions};
use godepot_store::LocalStore;
use godepot_upstream::{ProxyList, Upstream, UpstreamOptions};

use crate::discover;
use crate::failure::Failure;

/// What it takes to build a depot.
pub(crate) struct DepotSettings<'a> {
    pub(crate) data_dir: &'a Path,
    /// As configured; `None` means "discover it" (`$GOPROXY`, `go env`).
    pub(crate) upstream: Option<&'a str>,
    pub(crate) offline: bool,
    pub(crate) list_ttl: Duration,
    pub(crate) upstream_timeout: Duration,
    pub(crate) instance_id: String,
    /// The address this process serves on, so an upstream that is ourselves is refused.
    pub(crate) listen: SocketAddr,
}

/// The depot over the store and the upstream (unless offline or `off`).
pub(crate) struct Built {
    pub(crate) depot: Depot,
}

/// The depot, proxying (and checking modules against) these checksum databases.
pub(crate) fn build_with_sumdb(
    settings: &DepotSettings<'_>,
    sumdb: SumdbOptions,
) -> Result<Built, Failure> {
    let upstream = if settings.offline {
        None
    } else {
        upstream_client(settings)?
    };
    let store = Arc::new(open_store(settings.data_dir)?);
    let depot = Depot::new(
        store,
        upstream,
        DepotOptions {
            offline: settings.offline,
            list_ttl: settings.list_ttl,
            sumdb,
            ..DepotOptions::default()
        },
    );
    Ok(Built { depot })
}

pub(crate) fn upstream_client(settings: &DepotSettings<'_>) -> Result<Option<Upstream>, Failure> {
    let resolved = discover::upstream(settings.upstream, settings.listen)?;
    if resolved.list.is_off() {
        tracing::info!("upstream is 'off': serving from the store only");
        return Ok(None);
    }
    let options = UpstreamOptions {
        timeout: settings.upstream_timeout,
        instance_id: settings.instance_id.clone(),
        ..UpstreamOptions::default()
    };
    let upstream = Upstream::new(&resolved.list, options)
        .map_err(|e| Failure::runtime(format!("cannot set up the upstream client: {e}")))?;
    tracing::info!(upstream = %upstream.describe(), from = resolved.source, "upstream");
    Ok(Some(upstream))
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
        gather: false,
    })
}

pub(crate) fn open_store(data_dir: &Path) -> Result<LocalStore, Failure> {
    LocalStore::open(data_dir).map_err(|e| {
        Failure::runtime(format!(
            "cannot open data directory {}: {e}",
            data_dir.display()
        ))
        .hint("pass --data-dir with a writable directory")
    })
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
