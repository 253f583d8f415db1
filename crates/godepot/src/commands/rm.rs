//! `godepot rm module@version`: take a version out of a store (to the quarantine).

use godepot_auth::AuditEvent;
use godepot_bundle::remove::remove_version;
use godepot_module::{ModulePath, Version};
use godepot_store::Store;
use std::sync::Arc;

use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::settings::{AuditSettings, StoreSettings};
use crate::storage::Access;

/// Remove a module version from the store (a data directory or a bucket): its files are
/// moved to .godepot/quarantine/rm-<time>/ (kept, not deleted) and it is no longer listed. A served
/// version changing breaks reproducible builds: this says so, and records it in the audit
/// log. A running server may answer from memory for a short while (until restarted).
///
/// Example:
///   godepot rm --data-dir /srv/godepot example.com/evil/x@v1.0.0
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct RmArgs {
    /// The version to remove, as module@version.
    #[arg(value_name = "MODULE@VERSION")]
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) store: StoreSettings,
    #[command(flatten)]
    pub(crate) audit: AuditSettings,
}

pub(crate) fn run(file: &ConfigFile, args: RmArgs) -> Result<(), Failure> {
    let (module, version) = parse_target(&args.target)?;
    let store = file.merge(args.store)?.open(Access::Write)?.store;
    let audit = file.merge(args.audit)?.open()?;
    let result = remove_version(&*store, &module, &version);
    let outcome = match &result {
        Ok(removed) => format!("quarantined {}", removed.quarantined.join(", ")),
        Err(e) => format!("failed: {e}"),
    };
    if let Some(log) = &audit
        && let Err(e) = log.append(&AuditEvent::AdminAction {
            action: "remove".into(),
            target: args.target.clone(),
            by: "cli".into(),
            client: None,
            outcome,
        })
    {
        eprintln!(
            "warning: cannot write the audit log {}: {e}",
            log.path().display()
        );
    }
    let removed = result.map_err(|e| {
        Failure::runtime(e.to_string()).hint("see what is held with `godepot ls MODULE`")
    })?;
    eprintln!(
        "warning: removed {}, a version this store served: builds that need it will fetch it again (or fail offline), and may get different bytes",
        removed.target
    );
    println!(
        "removed {}: {} file(s) moved to {}",
        removed.target,
        removed.quarantined.len(),
        removed.quarantine
    );
    Ok(())
}

/// `POST /admin/remove/...` of a running server, over the store it serves (its disk cache
/// forgets what is removed).
pub(crate) struct StoreRemover {
    pub(crate) store: Arc<dyn Store>,
}

impl std::fmt::Debug for StoreRemover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRemover")
            .field("store", &self.store.describe())
            .finish()
    }
}

impl godepot_server::Remover for StoreRemover {
    fn remove(&self, module: &ModulePath, version: &Version) -> Result<String, String> {
        let removed = remove_version(&*self.store, module, version).map_err(|e| e.to_string())?;
        Ok(format!(
            "{} file(s) moved to {}",
            removed.quarantined.len(),
            removed.quarantine
        ))
    }
}

fn parse_target(target: &str) -> Result<(ModulePath, Version), Failure> {
    let bad = |why: String| {
        Failure::config(format!("{target:?}: {why}"))
            .hint("give module@version, e.g. example.com/m@v1.2.3")
    };
    let (module, version) = target
        .rsplit_once('@')
        .ok_or_else(|| bad("not module@version".into()))?;
    let module = ModulePath::parse(module).map_err(|e| bad(e.to_string()))?;
    let version = Version::for_module(&module, version).map_err(|e| bad(e.to_string()))?;
    Ok((module, version))
}
