//! Removing a module version from a store (`godepot rm module@version`): its files go to
//! the quarantine, never deleted, and its `@v/list` no longer offers it.
//!
//! Never silent: a version that was served changes (or disappears) for every build that
//! needs it, which breaks reproducibility, so the caller says so loudly and records it in the
//! audit log. The quarantined bytes are kept for inspection.

use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, Store};
use serde::Serialize;

use crate::BundleError;

/// What a removal did.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// `module@version`.
    pub target: String,
    /// Files moved out of the tree (relative paths in the store).
    pub quarantined: Vec<String>,
    /// Where they are now: a directory, or a bucket's URL ([`Store::quarantine_location`]).
    pub quarantine: String,
}

/// Moves every artifact of `module@version` (`.info`, `.mod`, `.zip`, `.ziphash`) to
/// `.godepot/quarantine/rm-<time>/` and brings the module's list in step. An error when the
/// store holds none of them.
pub fn remove_version(
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
) -> Result<Removed, BundleError> {
    let batch = format!("rm-{}", crate::time::format_compact(SystemTime::now()));
    quarantine_version(store, module, version, &batch)
}

/// Moves every artifact of `module@version` to `.godepot/quarantine/<batch>/` and brings
/// the module's list in step. Each file leaves the tree in one step (a rename on disk, a
/// copy then a delete in a bucket), so a reader that has it open keeps reading the whole of
/// it; the zip goes first, so the version stops being
/// downloadable (and listed) at the first step.
pub fn quarantine_version(
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
    batch: &str,
) -> Result<Removed, BundleError> {
    let quarantined = quarantine_files(store, module, version, batch)?;
    Ok(Removed {
        target: format!("{module}@{version}"),
        quarantined,
        quarantine: store.quarantine_location(batch),
    })
}

/// [`quarantine_version`] on any store (a bucket's too): the files moved, by relative path.
pub(crate) fn quarantine_files(
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
    batch: &str,
) -> Result<Vec<String>, BundleError> {
    let mut quarantined = Vec::new();
    for kind in [Kind::Zip, Kind::Info, Kind::Mod, Kind::ZipHash] {
        let key = ArtifactKey::new(module.clone(), version.clone(), kind);
        if store.contains(&key)? {
            let rel = key.rel_path();
            store.quarantine(&rel, batch)?;
            quarantined.push(rel);
        }
    }
    if quarantined.is_empty() {
        return Err(BundleError::NotHeld(vec![format!("{module}@{version}")]));
    }
    store.reconcile_list(module)?;
    Ok(quarantined)
}
