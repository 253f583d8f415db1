//! Which module versions of some projects the held vulnerability database names:
//! [`audit()`] resolves the projects' builds exactly as [`crate::check()`] does (the same
//! resolution, from the store alone, nothing fetched), and asks the database about every
//! version minimal version selection picks (those whose code is built). Module level only:
//! whether the vulnerable symbols are reached is `govulncheck`'s analysis.

use std::sync::Arc;

use godepot_module::{ModulePath, Version};
use godepot_policy::{Advisories, Advisory};
use godepot_resolve::{Input, Problem, StoreSource, resolve};
use godepot_store::Store;

use crate::PrefetchOptions;

/// What [`audit()`] found.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Module versions selected by the builds, all of which were looked up.
    pub versions: usize,
    /// The selected versions that entries affect, by module path and version.
    pub affected: Vec<Affected>,
    /// What could not be resolved (a go.mod the store does not hold, one that does not
    /// parse): the audit may then have missed versions. Sorted.
    pub problems: Vec<Problem>,
}

impl Audit {
    /// Whether an entry affects a selected version.
    pub fn is_affected(&self) -> bool {
        !self.affected.is_empty()
    }
}

/// One selected version and the entries that affect it, each with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub module: ModulePath,
    pub version: Version,
    /// By id.
    pub advisories: Vec<Advisory>,
}

/// Resolves `inputs` from `store` alone and reports the entries of `db` that affect the
/// versions they select.
pub async fn audit(
    store: Arc<dyn Store>,
    inputs: &[Input],
    options: &PrefetchOptions,
    db: &dyn Advisories,
) -> Audit {
    let source = StoreSource::new(store);
    let resolution = resolve(inputs, &source, &options.resolve()).await;
    let mut affected = Vec::new();
    for (module, version) in &resolution.needs.zips {
        let mut advisories = db.affecting(module, version);
        if advisories.is_empty() {
            continue;
        }
        advisories.sort_by(|a, b| a.id.cmp(&b.id));
        affected.push(Affected {
            module: module.clone(),
            version: version.clone(),
            advisories,
        });
    }
    let mut problems = resolution.problems;
    problems.sort();
    problems.dedup();
    Audit {
        versions: resolution.needs.zips.len(),
        affected,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use godepot_store::LocalStore;
    use godepot_testkit::UniverseBuilder;

    use super::*;

    /// Affects `example.com/vuln` below v1.1.0 (fixed there), and nothing else.
    #[derive(Debug)]
    struct Fixture;

    impl Advisories for Fixture {
        fn affecting(&self, module: &ModulePath, version: &Version) -> Vec<Advisory> {
            let below = godepot_module::semver::compare(version.as_str(), "v1.1.0").is_lt();
            if module.as_str() != "example.com/vuln" || !below {
                return Vec::new();
            }
            vec![Advisory {
                id: "GO-2099-0001".into(),
                aliases: vec!["CVE-2099-0001".into()],
                summary: Some("a fixture vulnerability".into()),
                fixed: Some("v1.1.0".into()),
            }]
        }
    }

    async fn audited(requires: &str) -> Audit {
        let tmp = tempfile::tempdir().unwrap();
        let universe = UniverseBuilder::new(tmp.path().join("store"))
            .module("example.com/vuln")
            .version("v1.0.0")
            .file("v.go", "package vuln\n")
            .version("v1.1.0")
            .file("v.go", "package vuln\n")
            .module("example.com/dep")
            .version("v1.0.0")
            .file("d.go", "package dep\n")
            .require("example.com/vuln", "v1.0.0")
            .project(tmp.path().join("app"), "example.com/app")
            .require("example.com/dep", "v1.0.0")
            .require("example.com/vuln", requires)
            .build();
        let store: Arc<dyn Store> = Arc::new(LocalStore::open(&universe.root).unwrap());
        let go_mod = universe.project_dir().join("go.mod");
        let input = Input::parse_arg(go_mod.to_str().unwrap()).unwrap();
        audit(store, &[input], &PrefetchOptions::default(), &Fixture).await
    }

    #[tokio::test]
    async fn the_selected_versions_are_audited_not_every_version_in_the_graph() {
        let found = audited("v1.0.0").await;
        assert!(found.is_affected());
        assert_eq!(found.versions, 2, "{found:#?}");
        let [affected] = found.affected.as_slice() else {
            panic!("{found:#?}");
        };
        assert_eq!(
            (affected.module.as_str(), affected.version.as_str()),
            ("example.com/vuln", "v1.0.0")
        );
        assert_eq!(affected.advisories[0].fixed.as_deref(), Some("v1.1.0"));
        assert!(found.problems.is_empty(), "{:?}", found.problems);

        // The dependency still requires v1.0.0 (its go.mod is in the graph), but the build
        // selects v1.1.0: clean.
        let found = audited("v1.1.0").await;
        assert!(!found.is_affected(), "{found:#?}");
        assert_eq!(found.versions, 2);
    }
}
