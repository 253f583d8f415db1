//! The facts the policy decides on beyond a version's path and number (see
//! `godepot_policy::Facts`): the advisories of the held vulnerability database that affect
//! it (`godepot_policy::Advisories`, handed to the depot by whoever loads the database), and the licence
//! of its zip (detected by `godepot_license` from the held zip, remembered in memory).
//!
//! Which facts each answer is decided on (see `docs/policy.md`, "Facts"):
//! - `.mod`: none. The go command reads the go.mod of versions it never builds (the module
//!   graph); refusing them for an advisory would break builds that already moved to the
//!   fix. Module and version rules still apply.
//! - `.info`, `@v/list`, `@latest`: the advisories (lists and `@latest` skip affected
//!   versions, so `go get m@latest` moves past them). The licence only for `.info` of a
//!   version whose zip is held; otherwise it is not known yet.
//! - `.zip`: the advisories, then the licence: a zip not held is fetched and checked as
//!   always and kept, then its licence decides; a refused zip is answered 403 and never
//!   served (it stays in the store like any version a later policy blocks, and `ls` shows
//!   its licence, which says why).

use std::collections::HashMap;
use std::io::BufReader;
use std::sync::{Arc, Mutex, RwLock};

use godepot_module::{ModulePath, Version};
use godepot_policy::{Advisories, Advisory, Facts, License, Policy};
use godepot_store::{ArtifactKey, Kind, Store, StoreError};

/// How many detected licences are remembered before the memory is cleared.
const LICENSES_KEPT: usize = 16 * 1024;

/// Where the depot's facts come from.
#[derive(Default)]
pub(crate) struct FactSource {
    advisories: RwLock<Option<Arc<dyn Advisories>>>,
    /// `module@version` → the licence of its held zip.
    licenses: Mutex<HashMap<String, License>>,
}

impl FactSource {
    pub(crate) fn set_advisories(&self, advisories: Option<Arc<dyn Advisories>>) {
        *self.advisories.write().unwrap_or_else(|e| e.into_inner()) = advisories;
    }

    /// The advisories affecting `module@version` when `policy` looks at them (no
    /// database: none), with the licence not known.
    pub(crate) fn advisory_facts(
        &self,
        policy: &Policy,
        module: &ModulePath,
        version: &Version,
    ) -> Facts {
        let advisories = match policy.uses_advisories() {
            true => self.advisories(module, version),
            false => Vec::new(),
        };
        Facts {
            advisories,
            license: License::Pending,
        }
    }

    fn advisories(&self, module: &ModulePath, version: &Version) -> Vec<Advisory> {
        let db = self.advisories.read().unwrap_or_else(|e| e.into_inner());
        db.as_ref()
            .map(|db| db.affecting(module, version))
            .unwrap_or_default()
    }

    /// The licence remembered for `module@version`, if it was detected before.
    pub(crate) fn known_license(&self, module: &ModulePath, version: &Version) -> Option<License> {
        let licenses = self.licenses.lock().unwrap_or_else(|e| e.into_inner());
        licenses.get(&format!("{module}@{version}")).cloned()
    }

    pub(crate) fn remember_license(
        &self,
        module: &ModulePath,
        version: &Version,
        license: &License,
    ) {
        let mut licenses = self.licenses.lock().unwrap_or_else(|e| e.into_inner());
        if licenses.len() >= LICENSES_KEPT {
            licenses.clear();
        }
        licenses.insert(format!("{module}@{version}"), license.clone());
    }

    /// Forgets what is remembered of a version (removed from the store).
    pub(crate) fn forget(&self, module: &ModulePath, version: &Version) {
        let mut licenses = self.licenses.lock().unwrap_or_else(|e| e.into_inner());
        licenses.remove(&format!("{module}@{version}"));
    }
}

/// The licence of the zip of `module@version` as the store holds it: `Pending` when it
/// is not held, `Unknown` when it cannot be read as a zip. Blocking (reads the zip).
pub(crate) fn detect_held(
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
) -> Result<License, StoreError> {
    let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Zip);
    let Some(artifact) = store.open(&key)? else {
        return Ok(License::Pending);
    };
    let root = format!("{module}@{version}/");
    Ok(
        match godepot_license::detect_zip(
            BufReader::new(artifact.into_file(store.scratch_dir()).map_err(|source| {
                StoreError::Io {
                    path: store.scratch_dir().to_path_buf(),
                    source,
                }
            })?),
            &root,
        ) {
            Ok(detected) => detected.license(),
            Err(_) => License::Unknown,
        },
    )
}

/// The vulnerability database a store holds (`.godepot/vulndb/`, the documented layout), as
/// the policy and `godepot audit` ask it.
#[derive(Debug)]
pub struct HeldVulnDb(godepot_vulndb::VulnDb);

impl HeldVulnDb {
    /// Reads and checks the copy `store` holds; `Ok(None)` when it holds none (no
    /// `index/db.json`), an error when the copy is incomplete or inconsistent. Blocking.
    pub fn load(store: &dyn Store) -> Result<Option<HeldVulnDb>, String> {
        let Some(copy) = crate::held_vulndb(store).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        godepot_vulndb::validate(&copy)
            .map(|db| Some(HeldVulnDb(db)))
            .map_err(|e| e.to_string())
    }

    /// The database's `index/db.json` time.
    pub fn modified(&self) -> String {
        self.0.modified().to_string()
    }
}

impl Advisories for HeldVulnDb {
    fn affecting(&self, module: &ModulePath, version: &Version) -> Vec<Advisory> {
        (self
            .0
            .affecting(module.as_str(), version.as_str())
            .into_iter())
        .map(|f| Advisory {
            id: f.id,
            aliases: f.aliases,
            summary: f.summary,
            fixed: f.fixed.map(|v| v.as_str().to_owned()),
        })
        .collect()
    }
}
