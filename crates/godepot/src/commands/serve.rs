//! `godepot serve`.

use std::path::Path;
use std::sync::Arc;

use godepot_server::{Activity, ServerOptions};

use crate::cli::ServeArgs;
use crate::commands::depot::{self, DepotSettings, instance_id};
use crate::config::{FileConfig, ServeConfig};
use crate::failure::Failure;
use crate::{logging, memory};

pub(crate) fn run(config_file: Option<&Path>, args: ServeArgs) -> Result<(), Failure> {
    let config = ServeConfig::merge(args, FileConfig::load(config_file)?)?;
    logging::init(config.log_format, &config.log_level)?;
    depot::runtime()?.block_on(serve(config))
}

async fn serve(config: ServeConfig) -> Result<(), Failure> {
    let instance_id = instance_id();
    let settings = DepotSettings {
        data_dir: &config.data_dir,
        upstream: config.upstream.as_deref(),
        offline: config.offline,
        list_ttl: config.list_ttl,
        upstream_timeout: config.upstream_timeout,
        instance_id: instance_id.clone(),
        listen: config.listen,
    };
    let sumdb = depot::sumdb_options(
        config.sumdb.as_deref(),
        config.nosumdb.as_deref(),
        &settings,
    )?;
    let built = depot::build_with_sumdb(&settings, sumdb)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            Failure::runtime(format!("cannot listen on {}: {e}", config.listen))
                .hint("pick another address with --listen, e.g. --listen 127.0.0.1:3001")
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::runtime(format!("cannot read the listening address: {e}")))?;
    let depot = built.depot;
    let mode = if depot.is_offline() {
        "offline"
    } else {
        "online"
    };
    let activity = Arc::new(Activity::default());
    tokio::spawn(memory::release_when_idle(Arc::clone(&activity)));
    let router = godepot_server::router(
        depot,
        ServerOptions {
            list_ttl: config.list_ttl,
            instance_id,
            activity,
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
