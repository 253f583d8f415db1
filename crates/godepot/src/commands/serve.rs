//! `godepot serve`.

use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::Arc;

use godepot_depot::{Depot, DepotOptions};
use godepot_server::ServerOptions;
use godepot_store::LocalStore;
use godepot_upstream::{Upstream, UpstreamOptions};

use crate::cli::ServeArgs;
use crate::config::{FileConfig, ServeConfig};
use crate::discover;
use crate::failure::Failure;
use crate::logging;

pub(crate) fn run(config_file: Option<&Path>, args: ServeArgs) -> Result<(), Failure> {
    let config = ServeConfig::merge(args, FileConfig::load(config_file)?)?;
    logging::init(config.log_format, &config.log_level)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(config))
}

async fn serve(config: ServeConfig) -> Result<(), Failure> {
    let instance_id = instance_id();
    let upstream = if config.offline {
        None
    } else {
        let resolved = discover::upstream(config.upstream.as_deref(), config.listen)?;
        if resolved.list.is_off() {
            tracing::info!("upstream is 'off': serving from the store only");
            None
        } else {
            let options = UpstreamOptions {
                timeout: config.upstream_timeout,
                instance_id: instance_id.clone(),
                ..UpstreamOptions::default()
            };
            let upstream = Upstream::new(&resolved.list, options)
                .map_err(|e| Failure::runtime(format!("cannot set up the upstream client: {e}")))?;
            tracing::info!(upstream = %upstream.describe(), from = resolved.source, "upstream");
            Some(upstream)
        }
    };
    let store = LocalStore::open(&config.data_dir).map_err(|e| {
        Failure::runtime(format!(
            "cannot open data directory {}: {e}",
            config.data_dir.display()
        ))
        .hint("pass --data-dir with a writable directory")
    })?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            Failure::runtime(format!("cannot listen on {}: {e}", config.listen))
                .hint("pick another address with --listen, e.g. --listen 127.0.0.1:3001")
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot read the listening address: {e}")))?;
    let depot = Depot::new(
        Arc::new(store),
        upstream,
        DepotOptions {
            offline: config.offline,
            list_ttl: config.list_ttl,
            ..DepotOptions::default()
        },
    );
    let mode = if depot.is_offline() {
        "offline"
    } else {
        "online"
    };
    let router = godepot_server::router(
        depot,
        ServerOptions {
            list_ttl: config.list_ttl,
            instance_id,
        },
    );
    tracing::info!(data_dir = %config.data_dir.display(), mode, "listening on http://{addr}");
    godepot_server::serve(listener, router, shutdown_signal(), config.shutdown_timeout)
        .await
        .map_err(|e| Failure::runtime(format!("server failed: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

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

/// A random id for this process, sent upstream so that a request reaching ourselves is
/// recognised as a loop. std's hasher is seeded randomly per process: no crate needed.
fn instance_id() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}
