//! Which files of a store go into a bundle.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, HeldKinds, Kind, TreeEntry, TreeFile};

use crate::BundleError;
use crate::manifest::Manifest;

/// What to export.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every artifact the store holds.
    #[default]
    All,
    /// Whole versions: every artifact held for each (`module@version` arguments).
    Versions(BTreeSet<(ModulePath, Version)>),
    /// Exactly these artifacts, e.g. what a resolver says a build needs. A `.mod` brings its
    /// `.info`, and a `.zip` its `.ziphash`, when the store holds them.
    Artifacts(HashSet<ArtifactKey>),
}

/// The files chosen, and the `@v/list` content to write for each module touched.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// Sorted by relative path.
    pub(crate) artifacts: Vec<(&'a TreeEntry, &'a ArtifactKey)>,
    pub(crate) lists: BTreeMap<ModulePath, Vec<Version>>,
    /// Artifacts earlier bundles of the chain carried.
    pub(crate) prior: BTreeSet<String>,
}

pub(crate) fn plan<'a>(
    entries: &'a [TreeEntry],
    selection: &Selection,
    since: Option<SystemTime>,
    since_bundles: &[Manifest],
) -> Result<Plan<'a>, BundleError> {
    let held: Vec<(&TreeEntry, &ArtifactKey)> = entries
        .iter()
        .filter_map(|e| match &e.file {
            TreeFile::Artifact(key) => Some((e, key)),
            _ => None,
        })
        .collect();
    let mut chosen: Vec<(&TreeEntry, &ArtifactKey)> = match selection {
        Selection::All => held.clone(),
        Selection::Versions(versions) => {
            let chosen: Vec<_> = held
                .iter()
                .copied()
                .filter(|(_, k)| versions.contains(&(k.module.clone(), k.version.clone())))
                .collect();
            let found: HashSet<(&ModulePath, &Version)> = chosen
                .iter()
                .map(|(_, k)| (&k.module, &k.version))
                .collect();
            let missing: Vec<String> = versions
                .iter()
                .filter(|(m, v)| !found.contains(&(m, v)))
                .map(|(m, v)| format!("{m}@{v}"))
                .collect();
            if !missing.is_empty() {
                return Err(BundleError::NotHeld(missing));
            }
            chosen
        }
        Selection::Artifacts(keys) => {
            let held_keys: HashSet<&ArtifactKey> = held.iter().map(|(_, k)| *k).collect();
            let mut missing: Vec<String> = keys
                .iter()
                .filter(|k| !held_keys.contains(k))
                .map(|k| format!("{}@{} (.{})", k.module, k.version, k.kind.extension()))
                .collect();
            if !missing.is_empty() {
                missing.sort();
                return Err(BundleError::NotHeld(missing));
            }
            let implied = |k: &ArtifactKey| match k.kind {
                Kind::Info => keys.contains(&k.with_kind(Kind::Mod)),
                Kind::ZipHash => keys.contains(&k.with_kind(Kind::Zip)),
                _ => false,
            };
            held.iter()
                .copied()
                .filter(|(_, k)| keys.contains(k) || implied(k))
                .collect()
        }
    };
    if let Some(since) = since {
        chosen.retain(|(e, _)| e.modified >= since);
    }
    let prior: BTreeSet<String> = since_bundles
        .iter()
        .flat_map(|m| m.delivered())
        .filter(|p| !p.ends_with("/@v/list"))
        .map(str::to_owned)
        .collect();
    chosen.retain(|(e, _)| !prior.contains(&e.rel_path));

    // A list offers only versions a client can download from the tree: held as .info,
    // .mod and .zip (as the store's own lists do). Incremental bundles list every such
    // held version, so that extracting a chain of bundles in order with plain `tar -x`
    // leaves complete lists; others list what they carry.
    let incremental = since.is_some() || !since_bundles.is_empty();
    // Hashed: ordering versions by semver for every file of a large store costs seconds.
    let mut kinds: HashMap<(&ModulePath, &Version), HeldKinds> = HashMap::new();
    let source = if incremental { &held } else { &chosen };
    for (_, key) in source {
        let k = kinds.entry((&key.module, &key.version)).or_default();
        match key.kind {
            Kind::Info => k.info = true,
            Kind::Mod => k.go_mod = true,
            Kind::Zip => k.zip = true,
            Kind::ZipHash => {}
        }
    }
    let mut lists: BTreeMap<ModulePath, BTreeSet<Version>> = BTreeMap::new();
    for (_, key) in &chosen {
        lists.entry(key.module.clone()).or_default();
    }
    for ((module, version), k) in kinds {
        if let Some(versions) = lists.get_mut(module)
            && k.is_complete()
            && !version.is_pseudo()
        {
            versions.insert(version.clone());
        }
    }
    let lists = lists
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(m, v)| (m, v.into_iter().collect()))
        .collect();
    Ok(Plan {
        artifacts: chosen,
        lists,
        prior,
    })
}

#[cfg(test)]
mod tests;
