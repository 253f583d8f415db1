//! `godepot sync`: a mirror that follows upstream for what it holds.
//!
//! For every module the store holds (or those the patterns name), the list and `@latest`
//! are asked again now, conditionally (a 304 costs no body), and kept as the answers to
//! serve; then the versions the [`Follow`] rule allows are fetched through
//! [`Depot::keep`], so each passes every check and the policy, as any other fetch. Walking
//! the store is fine here: this is a batch command, not a request.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use godepot_module::{ModulePath, Version, semver};
use godepot_store::{ArtifactKey, Kind};
use serde::Serialize;

use crate::mutable::{self, Refreshed};
use crate::{Depot, DepotError, Mutable};

/// Which new versions of a held module are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Follow {
    /// None: the lists and `@latest` are refreshed only.
    #[default]
    None,
    /// Newer versions of a major.minor a version is held of.
    Patch,
    /// Newer versions of a major a version is held of.
    Minor,
    /// Those, and any version newer than every one held (a new major).
    All,
}

/// What to sync, and how.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Only the modules matching these comma-separated glob patterns of path prefixes
    /// (`GOPRIVATE` syntax); every module held when `None`.
    pub modules: Option<String>,
    pub follow: Follow,
    /// How many modules are worked on at once.
    pub jobs: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            modules: None,
            follow: Follow::None,
            jobs: 8,
        }
    }
}

/// Told of the work as it goes (a progress bar); every method does nothing by default.
pub trait SyncProgress: Send + Sync {
    /// This many modules are to be checked.
    fn modules(&self, _total: usize) {}
    /// One module is done.
    fn module_done(&self, _module: &ModulePath) {}
}

/// Reports nothing.
pub struct NoProgress;

impl SyncProgress for NoProgress {}

/// What a sync did. Lists are sorted, so that two runs compare.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub follow: Follow,
    /// Modules whose list and `@latest` were asked for.
    pub modules_checked: usize,
    /// Answers upstream said had not changed (304): they cost no body.
    pub not_modified: usize,
    /// Modules whose list upstream changed since the copy held (or of which none was held).
    pub lists_changed: Vec<String>,
    /// Versions fetched (`.info`, `.mod` and `.zip`), newly held.
    pub fetched: Vec<SyncedVersion>,
    /// Versions the follow rule chose that the policy blocks: not fetched.
    pub blocked: Vec<SyncFailure>,
    /// What could not be done: a module whose answers could not be had, a version that
    /// could not be fetched or was refused by a check.
    pub failures: Vec<SyncFailure>,
}

impl SyncReport {
    /// Whether everything asked for was done (blocked versions are the policy at work).
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SyncedVersion {
    pub module: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SyncFailure {
    pub module: String,
    /// The version concerned, when it is one version's failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub reason: String,
}

/// One module's part of the report.
#[derive(Default)]
struct ModuleSync {
    not_modified: usize,
    list_changed: bool,
    fetched: Vec<SyncedVersion>,
    blocked: Vec<SyncFailure>,
    failures: Vec<SyncFailure>,
}

/// Syncs the modules held. An error is the store's (it could not be listed); everything
/// else, upstream down included, is in the report.
pub async fn sync(
    depot: &Depot,
    options: &SyncOptions,
    progress: &dyn SyncProgress,
) -> Result<SyncReport, DepotError> {
    let modules: Vec<ModulePath> = depot
        .inner
        .blocking(|s| s.modules())
        .await?
        .into_iter()
        .filter(|m| match &options.modules {
            Some(patterns) => godepot_module::matches_glob_prefix(patterns, m.as_str()),
            None => true,
        })
        .collect();
    progress.modules(modules.len());
    let mut report = SyncReport {
        follow: options.follow,
        modules_checked: modules.len(),
        ..SyncReport::default()
    };
    let mut done = futures_util::stream::iter(modules)
        .map(|module| async move {
            let outcome = sync_module(depot, &module, options.follow).await;
            progress.module_done(&module);
            (module, outcome)
        })
        .buffer_unordered(options.jobs.max(1));
    while let Some((module, outcome)) = done.next().await {
        report.not_modified += outcome.not_modified;
        if outcome.list_changed {
            report.lists_changed.push(module.to_string());
        }
        report.fetched.extend(outcome.fetched);
        report.blocked.extend(outcome.blocked);
        report.failures.extend(outcome.failures);
    }
    report.lists_changed.sort();
    report.fetched.sort();
    report.blocked.sort();
    report.failures.sort();
    Ok(report)
}

async fn sync_module(depot: &Depot, module: &ModulePath, follow: Follow) -> ModuleSync {
    let mut outcome = ModuleSync::default();
    let failure = |reason: String| SyncFailure {
        module: module.to_string(),
        version: None,
        reason,
    };
    let inner = &depot.inner;
    let list = match mutable::revalidate(inner, module, Mutable::List).await {
        Ok(list) => list,
        Err(e) => {
            outcome.failures.push(failure(e.to_string()));
            return outcome;
        }
    };
    // A module may have a list and no `@latest` (nothing but pre-releases at some proxies).
    let latest = match mutable::revalidate(inner, module, Mutable::Latest).await {
        Ok(latest) => Some(latest),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            outcome.failures.push(failure(e.to_string()));
            return outcome;
        }
    };
    outcome.not_modified = [Some(&list), latest.as_ref()]
        .into_iter()
        .flatten()
        .filter(|r| r.unchanged)
        .count();
    outcome.list_changed = list.changed;
    let held_module = module.clone();
    let held = match inner.blocking(move |s| s.versions(&held_module)).await {
        Ok(held) => held,
        Err(e) => {
            outcome.failures.push(failure(e.to_string()));
            return outcome;
        }
    };
    let offered = offered_versions(module, &list, latest.as_ref());
    for version in new_versions(follow, &held, &offered) {
        match fetch_version(depot, module, &version).await {
            Ok(()) => outcome.fetched.push(SyncedVersion {
                module: module.to_string(),
                version: version.to_string(),
            }),
            Err(e) => {
                let entry = SyncFailure {
                    module: module.to_string(),
                    version: Some(version.to_string()),
                    reason: e.to_string(),
                };
                match e {
                    DepotError::Blocked(_) => outcome.blocked.push(entry),
                    _ => outcome.failures.push(entry),
                }
            }
        }
    }
    outcome
}

/// Makes the store hold all of a version a client downloads, `.zip` last: the version is
/// listed once its three files are held.
async fn fetch_version(
    depot: &Depot,
    module: &ModulePath,
    version: &Version,
) -> Result<(), DepotError> {
    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        let key = ArtifactKey::new(module.clone(), version.clone(), kind);
        depot.keep(key).await?;
    }
    Ok(())
}

/// The versions upstream offers: those its list names, and the one `@latest` names.
fn offered_versions(
    module: &ModulePath,
    list: &Refreshed,
    latest: Option<&Refreshed>,
) -> Vec<Version> {
    let text = String::from_utf8_lossy(&list.data);
    let mut offered: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Version")]
        version: String,
    }
    let latest = latest.and_then(|l| serde_json::from_slice::<Info>(&l.data).ok());
    offered.extend(latest.as_ref().map(|i| i.version.as_str()));
    offered
        .into_iter()
        .filter_map(|v| Version::for_module(module, v).ok())
        .collect()
}

/// The versions `follow` fetches, given those held and those offered, in semver order:
/// releases only (pre-releases and pseudo-versions are fetched when a client names them),
/// not held, newer than the newest held of their major.minor (`patch`) or major (`minor`),
/// or, for `all`, also newer than every version held.
pub fn new_versions(follow: Follow, held: &[Version], offered: &[Version]) -> Vec<Version> {
    let newest_held = |scope: &dyn Fn(&Version) -> bool| held.iter().filter(|h| scope(h)).max();
    let major = |v: &Version| semver::major(v.as_str()).map(str::to_owned);
    let major_minor = |v: &Version| semver::major_minor(v.as_str());
    let newer_in = |v: &Version, line: &dyn Fn(&Version) -> Option<String>| {
        let scope = line(v);
        scope.is_some()
            && newest_held(&|h: &Version| line(h) == scope).is_some_and(|newest| v > newest)
    };
    let held_set: BTreeSet<&Version> = held.iter().collect();
    let mut chosen: Vec<Version> = offered
        .iter()
        .filter(|v| !v.is_prerelease() && !held_set.contains(v))
        .filter(|v| match follow {
            Follow::None => false,
            Follow::Patch => newer_in(v, &major_minor),
            Follow::Minor => newer_in(v, &major),
            Follow::All => newer_in(v, &major) || newest_held(&|_| true).is_some_and(|n| *v > n),
        })
        .cloned()
        .collect();
    chosen.sort();
    chosen.dedup();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &str) -> Vec<Version> {
        list.split_whitespace()
            .map(|v| Version::parse(v).unwrap())
            .collect()
    }

    #[test]
    fn follow_selects_by_line() {
        // (follow, held, offered, fetched)
        let offered = "v0.1.0 v0.1.1 v0.2.0 v1.0.0 v1.0.1 v1.1.0 v1.2.0-rc.1 v2.0.0+incompatible";
        let cases = [
            (Follow::None, "v0.1.0", offered, ""),
            (Follow::Patch, "v0.1.0", offered, "v0.1.1"),
            (Follow::Minor, "v0.1.0", offered, "v0.1.1 v0.2.0"),
            (
                Follow::All,
                "v0.1.0",
                offered,
                "v0.1.1 v0.2.0 v1.0.0 v1.0.1 v1.1.0 v2.0.0+incompatible",
            ),
            // Each line held is followed on its own; older versions are not "new".
            (Follow::Patch, "v0.1.1 v1.0.0", offered, "v1.0.1"),
            (
                Follow::Minor,
                "v0.1.1 v1.0.0",
                offered,
                "v0.2.0 v1.0.1 v1.1.0",
            ),
            (Follow::All, "v1.0.1", offered, "v1.1.0 v2.0.0+incompatible"),
            // A held pre-release names its line; pre-releases are never fetched.
            (Follow::Patch, "v1.2.0-rc.1", "v1.2.0 v1.2.1-rc.1", "v1.2.0"),
            // Nothing held, nothing to follow.
            (Follow::All, "", offered, ""),
            // Nothing newer.
            (Follow::All, "v2.0.0+incompatible", offered, ""),
        ];
        for (follow, held, offered, want) in cases {
            let got = new_versions(follow, &versions(held), &versions(offered));
            assert_eq!(got, versions(want), "{follow:?} held {held:?}");
        }
    }

    #[test]
    fn a_version_offered_twice_is_fetched_once() {
        let got = new_versions(
            Follow::Patch,
            &versions("v1.0.0"),
            &versions("v1.0.1 v1.0.1"),
        );
        assert_eq!(got, versions("v1.0.1"));
    }
}
