//! Reading the policy file, and reloading it (on SIGHUP under `serve`, see [`crate::hangup`]).

use std::path::Path;

use godepot_auth::{AuditEvent, AuditLog};
use godepot_depot::Depot;
use godepot_policy::Policy;

use crate::failure::Failure;

/// Reads and parses the policy file; the error names the file (and line and column).
pub(crate) fn read(path: &Path) -> Result<Policy, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read policy file {}: {e}", path.display())))?;
    Policy::parse(&path.display().to_string(), &text).map_err(|e| {
        Failure::config(format!("bad policy file: {e}"))
            .hint("fix the file; see the README's \"Policy and access\"")
    })
}

/// Puts `policy` in force, with the vulnerability database the store holds when a rule
/// needs it (`vulnerable = true`): read now, so a `serve` started after a prefetch or an
/// import uses that copy; SIGHUP reads both again. A database that cannot be read is a
/// warning (no version counts as affected), never a refusal to start.
pub(crate) fn put_in_force(depot: &Depot, policy: Policy) {
    let needs_db = policy.uses_advisories();
    depot.set_policy(policy);
    if !needs_db {
        return;
    }
    match depot.load_advisories() {
        Ok(Some(modified)) => {
            tracing::info!(modified = %modified, "vulnerability database in force for the policy")
        }
        Ok(None) => tracing::warn!(
            "the policy has vulnerable rules but the store holds no vulnerability database: no version counts as affected (godepot prefetch --vulndb, or import one)"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the vulnerability database held: no version counts as affected")
        }
    }
}

/// Reads the policy again and puts it in force; a failure keeps the old one and says why
/// (in the log and the audit log). Requests and connections under way are not touched.
pub(crate) fn reload(depot: &Depot, path: &Path, audit: Option<&AuditLog>) {
    let (error, rules) = match read(path) {
        Ok(policy) => {
            let rules = policy.rules().len();
            put_in_force(depot, policy);
            tracing::info!(policy = %path.display(), rules, "policy reloaded");
            (None, rules)
        }
        Err(e) => {
            let why = e.message().to_string();
            tracing::error!(policy = %path.display(), error = %why, "policy reload failed; keeping the policy in force");
            (Some(why), depot.policy().rules().len())
        }
    };
    if let Some(log) = audit {
        let event = AuditEvent::PolicyReloaded {
            file: path.display().to_string(),
            error,
            rules,
        };
        if let Err(e) = log.append(&event) {
            tracing::error!(audit_log = %log.path().display(), error = %e, "cannot write the audit log");
        }
    }
}
