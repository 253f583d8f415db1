//! Taking artifacts into a store: from a bundle (all or nothing), or from a
//! `GOPROXY=file://` tree or module cache (artifact by artifact).
//!
//! Every artifact is copied into a spool (on the store's file system for a data directory,
//! in a local scratch directory for a bucket), checked there ([`crate::check`]), and only
//! then published with `put_spool`, so a server running on the same store never sees
//! anything unchecked. Held artifacts are never replaced: one
//! that differs is reported as a conflict.

mod bundle;
mod publish;
mod sumdb;
mod tree;

use std::path::Path;
use std::sync::Arc;

use godepot_policy::{Advisories, Decision, Facts, Policy};
use godepot_store::{ArtifactKey, Store};
use serde::Serialize;

use crate::sumdb::SumdbCheck;
use crate::{BundleError, GoSums, Progress};

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// go.sum files whose lines every matching artifact must agree with.
    pub go_sums: GoSums,
    /// With a keyed database: every zip and go.mod must match its records, which must verify
    /// with the key: for a bundle, those it carries or the store holds (else the bundle is
    /// refused whole); for a tree, those the store holds (else the artifact is refused).
    pub sumdb: SumdbCheck,
    /// Which module versions may enter. A blocked version refuses a bundle whole, and is a
    /// refused artifact of a tree, unless `skip_blocked`: then it is left out and listed in
    /// [`ImportSummary::blocked`].
    pub policy: Policy,
    pub skip_blocked: bool,
    /// The vulnerability database held before the import, for the policy's `vulnerable`
    /// rules (`None`: no version is affected). Licence rules are not applied here: a
    /// version's licence is decided when its zip is served (see docs/policy.md, "Facts").
    pub advisories: Option<Arc<dyn Advisories>>,
}

/// What an import did. It succeeded only if [`ImportSummary::is_success`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub source: String,
    /// "bundle", "tree" or "module cache".
    pub source_kind: String,
    /// Artifacts newly stored, and their bytes.
    pub stored: usize,
    pub stored_bytes: u64,
    /// Artifacts the store already held, byte for byte (or, for `.info`, the same version
    /// and time).
    pub already_held: usize,
    /// Files of the source that are not artifacts (lists, lock files, ...), not imported.
    pub skipped: usize,
    /// Checksum-database answers newly kept under `.godepot/sumdb/`, and those already held.
    pub sumdb_stored: usize,
    pub sumdb_already_held: usize,
    /// `latest` tree heads not kept: without the database's key nothing says they are
    /// genuine, and the store already holds (or has verified) one.
    pub sumdb_left_out: usize,
    /// Held versions that were missing from their module's `@v/list` (a crash between
    /// publishing and listing) and are listed now.
    pub relisted: usize,
    /// Artifacts (and database answers) that differ from the ones held: never overwritten.
    pub conflicts: Vec<Problem>,
    /// Artifacts that failed a check and were not imported.
    pub refused: Vec<Problem>,
    /// Versions the policy blocks, left out (`skip_blocked`): `path` is module@version,
    /// `reason` the refusal (rule and reason).
    pub blocked: Vec<Problem>,
    /// The vulnerability database the bundle carried, checked, and whether it replaced the
    /// copy held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulndb: Option<crate::vulndb::VulnDbImport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

impl ImportSummary {
    pub fn is_success(&self) -> bool {
        self.conflicts.is_empty() && self.refused.is_empty()
    }
}

impl ImportOptions {
    /// The policy's refusal of `key`'s version, if it blocks it.
    fn blocked(&self, key: &ArtifactKey) -> Option<Problem> {
        let facts = Facts {
            advisories: match (&self.advisories, self.policy.uses_advisories()) {
                (Some(db), true) => db.affecting(&key.module, &key.version),
                _ => Vec::new(),
            },
            ..Facts::default()
        };
        match self.policy.decide_with(&key.module, &key.version, &facts) {
            Decision::Allow(_) => None,
            Decision::Deny(blocked) => Some(Problem {
                path: format!("{}@{}", key.module, key.version),
                reason: blocked.to_string(),
            }),
        }
    }
}

/// Imports `source`: a bundle file, a `GOPROXY=file://` directory, a module cache
/// (`$GOMODCACHE`, whose `cache/download` is read), or such a `cache/download` itself.
///
/// A damaged bundle is an `Err` and leaves the store unchanged; problems with single
/// artifacts of a tree are listed in the summary.
pub fn import(
    store: &dyn Store,
    source: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary, BundleError> {
    let meta = std::fs::metadata(source).map_err(BundleError::io(source))?;
    if meta.is_file() {
        return bundle::import_bundle(store, source, options, progress);
    }
    let download = source.join("cache").join("download");
    if download.is_dir() {
        return tree::import_tree(store, &download, "module cache", options, progress);
    }
    tree::import_tree(store, source, "tree", options, progress)
}

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
