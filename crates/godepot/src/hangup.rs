//! SIGHUP under `serve`: reopen the audit log (after rotation), reload the policy and the TLS
//! certificate. Each failure keeps what is in force and says why; no connection is dropped.

use std::path::PathBuf;
use std::sync::Arc;

use godepot_auth::AuditLog;
use godepot_depot::Depot;
use godepot_server::Tls;

/// What a SIGHUP reloads.
pub(crate) struct Reloadable {
    pub(crate) depot: Depot,
    pub(crate) policy: Option<PathBuf>,
    pub(crate) audit: Option<Arc<AuditLog>>,
    pub(crate) tls: Option<Arc<Tls>>,
}

impl Reloadable {
    fn reload(&self) {
        if let Some(log) = &self.audit
            && let Err(e) = log.reopen()
        {
            tracing::error!(audit_log = %log.path().display(), error = %e, "cannot reopen the audit log; writing to the old file");
        }
        if let Some(path) = &self.policy {
            crate::policy::reload(&self.depot, path, self.audit.as_deref());
        }
        if let Some(tls) = &self.tls {
            match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate reload failed; keeping the one in force")
                }
            }
        }
    }
}

/// Reloads on every SIGHUP, for the server's lifetime.
#[cfg(unix)]
pub(crate) async fn reload_on_hangup(what: Reloadable) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch for SIGHUP; nothing will be reloaded");
        return;
    };
    let what = Arc::new(what);
    while hangup.recv().await.is_some() {
        let what = Arc::clone(&what);
        let _ = tokio::task::spawn_blocking(move || what.reload()).await;
    }
}
