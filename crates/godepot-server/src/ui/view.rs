//! What the web UI and the JSON API show: gathered once here, rendered as HTML by
//! [`super::pages`] and as JSON by [`super::api`], so the two always agree.

use godepot_depot::Depot;
use godepot_index::{Index, ModuleSummary, SearchPage, Totals};
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind};
use serde::Serialize;

use super::failures::{Failure, Failures};

/// Results per search page.
pub(crate) const PER_PAGE: u64 = 25;

/// What the server is and how it is doing.
#[derive(Debug, Serialize)]
pub(crate) struct Stats {
    /// `online` or `offline`.
    pub(crate) mode: &'static str,
    /// The fetchers and the last contact with upstream.
    pub(crate) upstream: String,
    /// What the store holds (from the index).
    pub(crate) store: Option<Totals>,
    /// `current`, `rebuilding` (answers may miss versions), or `unavailable`.
    pub(crate) index: &'static str,
    pub(crate) checksum_databases: Vec<SumdbView>,
    pub(crate) recent_failures: Vec<Failure>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SumdbView {
    pub(crate) name: String,
    pub(crate) verifying: bool,
    pub(crate) verified_tree: Option<u64>,
}

/// One version on a module page.
#[derive(Debug, Serialize)]
pub(crate) struct VersionView {
    #[serde(flatten)]
    pub(crate) row: godepot_index::VersionRow,
    /// Retracted by the newest go.mod held.
    pub(crate) retracted: bool,
    /// Refused by the policy in force.
    pub(crate) blocked: bool,
}

/// A module page.
#[derive(Debug, Serialize)]
pub(crate) struct ModuleView {
    pub(crate) module: ModuleSummary,
    /// Newest first.
    pub(crate) versions: Vec<VersionView>,
    /// The version whose go.mod is shown (the newest held with one).
    pub(crate) go_mod_version: Option<String>,
    pub(crate) go_mod: Option<String>,
    /// `go get module@newest` (newest neither retracted nor blocked, when there is one).
    pub(crate) go_get: String,
}

/// Why the index could not answer.
#[derive(Debug)]
pub(crate) enum Unanswered {
    /// No index (it could not be opened at start-up).
    NoIndex,
    Failed(String),
}

pub(crate) fn stats(depot: &Depot, index: Option<&Index>, failures: &Failures) -> Stats {
    let (store, index_state) = match index {
        None => (None, "unavailable"),
        Some(index) => {
            let state = match index.needs_rebuild() {
                Ok(false) => "current",
                Ok(true) => "rebuilding",
                Err(_) => "unavailable",
            };
            (index.totals().ok(), state)
        }
    };
    Stats {
        mode: if depot.is_offline() {
            "offline"
        } else {
            "online"
        },
        upstream: depot.upstream_health(),
        store,
        index: index_state,
        checksum_databases: depot
            .checksum_databases()
            .into_iter()
            .map(|s| SumdbView {
                name: s.name,
                verifying: s.verifying,
                verified_tree: s.verified_tree,
            })
            .collect(),
        recent_failures: failures.recent(),
    }
}

pub(crate) fn search(index: Option<&Index>, q: &str, page: u64) -> Result<SearchPage, Unanswered> {
    let index = index.ok_or(Unanswered::NoIndex)?;
    index
        .search(q, page, PER_PAGE)
        .map_err(|e| Unanswered::Failed(e.to_string()))
}

/// The module page's data, or `None` when the index holds no version of `path`.
pub(crate) async fn module(
    depot: &Depot,
    index: Option<&Index>,
    path: &ModulePath,
) -> Result<Option<ModuleView>, Unanswered> {
    let index = index.ok_or(Unanswered::NoIndex)?;
    let detail = index
        .module(path.as_str())
        .map_err(|e| Unanswered::Failed(e.to_string()))?;
    let Some(detail) = detail else {
        return Ok(None);
    };
    let newest_mod = detail.versions.iter().find(|v| v.mod_size.is_some());
    let (go_mod_version, go_mod) = match newest_mod.and_then(|v| Version::parse(&v.version).ok()) {
        None => (None, None),
        Some(version) => {
            let key = ArtifactKey::new(path.clone(), version.clone(), Kind::Mod);
            let text = depot
                .held_bytes(key)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            (Some(version.as_str().to_string()), text)
        }
    };
    let retractions = go_mod
        .as_deref()
        .and_then(|text| godepot_module::parse_go_mod(text.as_bytes()).ok())
        .map(|m| m.retract)
        .unwrap_or_default();
    let versions: Vec<VersionView> = detail
        .versions
        .into_iter()
        .map(|row| {
            let license = row
                .license
                .as_deref()
                .map(godepot_policy::License::from_label);
            let blocked = Version::parse(&row.version).is_ok_and(|v| {
                !depot
                    .decide(path, &v, license.unwrap_or_default())
                    .is_allowed()
            });
            let retracted = retractions.iter().any(|r| r.contains(&row.version));
            VersionView {
                row,
                retracted,
                blocked,
            }
        })
        .collect();
    let pick = versions
        .iter()
        .find(|v| !v.retracted && !v.blocked && v.row.zip_size.is_some())
        .map_or("latest", |v| v.row.version.as_str());
    let go_get = format!("go get {path}@{pick}");
    Ok(Some(ModuleView {
        module: detail.module,
        versions,
        go_mod_version,
        go_mod,
        go_get,
    }))
}
