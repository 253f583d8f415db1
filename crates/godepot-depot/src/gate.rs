//! The policy gate: which module versions the depot serves, lists and fetches.
//!
//! Checked at the depot's entry points rather than in the store or the fetchers, so that a
//! blocked version is refused before anything is fetched *and* when it is already held (a
//! policy written after the fact must still stop it). Mutable answers are cached as upstream
//! gave them and filtered when served, so a reloaded policy takes effect at once.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_policy::{Decision, Facts, License, Policy};

use crate::DepotError;
use crate::facts::FactSource;
use crate::ingest::info_version;

/// The policy in force, swappable while requests run (SIGHUP), and the facts it decides
/// on (see [`crate::facts`]).
pub(crate) struct Gate {
    policy: RwLock<Arc<Policy>>,
    pub(crate) facts: FactSource,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            policy: RwLock::new(Arc::new(Policy::allow_all())),
            facts: FactSource::default(),
        }
    }
}

impl Gate {
    pub(crate) fn current(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn set(&self, policy: Policy) {
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
    }

    /// `Err(Blocked)` when the policy refuses `module@version` on its path and number
    /// alone (the `.mod`: see [`crate::facts`]).
    pub(crate) fn check(&self, module: &ModulePath, version: &Version) -> Result<(), DepotError> {
        self.check_with(module, version, &Facts::default())
    }

    /// `Err(Blocked)` when the policy refuses `module@version` with the advisories that
    /// affect it, and its licence when the zip's licence is known already.
    pub(crate) fn check_advisories(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<(), DepotError> {
        let policy = self.current();
        let mut facts = self.facts.advisory_facts(&policy, module, version);
        if policy.uses_license() {
            facts.license = (self.facts.known_license(module, version)).unwrap_or_default();
        }
        decide(&policy, module, version, &facts)
    }

    /// `Err(Blocked)` when the policy refuses `module@version` with the advisories and the
    /// licence `license` (its zip's).
    pub(crate) fn check_license(
        &self,
        module: &ModulePath,
        version: &Version,
        license: License,
    ) -> Result<(), DepotError> {
        let policy = self.current();
        let mut facts = self.facts.advisory_facts(&policy, module, version);
        facts.license = license;
        decide(&policy, module, version, &facts)
    }

    fn check_with(
        &self,
        module: &ModulePath,
        version: &Version,
        facts: &Facts,
    ) -> Result<(), DepotError> {
        decide(&self.current(), module, version, facts)
    }

    /// The version an `.info` answer names, refused when the policy blocks it: a query
    /// (`v1.2`, a branch) must not resolve to a blocked (or affected) version.
    pub(crate) fn check_info(&self, module: &ModulePath, data: &[u8]) -> Result<(), DepotError> {
        match info_version(data).and_then(|v| Version::for_module(module, &v).ok()) {
            Some(version) => self.check_advisories(module, &version),
            None => Ok(()),
        }
    }

    /// The advisory facts of each version, for `Policy::latest_with`.
    pub(crate) fn advisory_facts(
        &self,
        policy: &Policy,
        module: &ModulePath,
        version: &Version,
    ) -> Facts {
        self.facts.advisory_facts(policy, module, version)
    }

    /// A `list` answer without its blocked versions, other lines kept byte for byte.
    pub(crate) fn filter_list(&self, module: &ModulePath, data: Bytes) -> Bytes {
        let policy = self.current();
        if is_allow_all(&policy) {
            return data;
        }
        let text = String::from_utf8_lossy(&data);
        let kept: String = text
            .lines()
            .filter(|line| {
                let first = line.split_whitespace().next().unwrap_or("");
                match Version::for_module(module, first) {
                    Ok(v) => {
                        let facts = self.facts.advisory_facts(&policy, module, &v);
                        policy.decide_with(module, &v, &facts).is_allowed()
                    }
                    Err(_) => true,
                }
            })
            .flat_map(|line| [line, "\n"])
            .collect();
        Bytes::from(kept)
    }
}

fn decide(
    policy: &Policy,
    module: &ModulePath,
    version: &Version,
    facts: &Facts,
) -> Result<(), DepotError> {
    match policy.decide_with(module, version, facts) {
        Decision::Allow(_) => Ok(()),
        Decision::Deny(blocked) => Err(DepotError::Blocked(Box::new(blocked))),
    }
}

/// Nothing to filter: skips parsing every list when no policy is set.
fn is_allow_all(policy: &Policy) -> bool {
    policy.is_allow_all()
}

/// The versions a `list` answer names.
pub(crate) fn listed_versions(module: &ModulePath, data: &[u8]) -> Vec<Version> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|v| Version::for_module(module, v).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> ModulePath {
        ModulePath::parse("example.com/m").unwrap()
    }

    fn gate(text: &str) -> Gate {
        let gate = Gate::default();
        gate.set(Policy::parse("p.toml", text).unwrap());
        gate
    }

    #[test]
    fn lists_lose_blocked_versions_and_keep_the_rest_verbatim() {
        let g = gate("[[deny]]\nmodule = \"example.com/m\"\nversions = \">= v1.1.0, < v1.2.0\"\n");
        let list = Bytes::from_static(b"v1.0.0 2020-01-01T00:00:00Z\nv1.1.0\nv1.1.5\nv1.2.0\n");
        assert_eq!(
            g.filter_list(&m(), list),
            "v1.0.0 2020-01-01T00:00:00Z\nv1.2.0\n"
        );
        let all = Gate::default();
        let raw = Bytes::from_static(b"v1.1.0");
        assert_eq!(all.filter_list(&m(), raw.clone()), raw);
    }

    #[test]
    fn an_info_answer_naming_a_blocked_version_is_refused() {
        let g = gate(
            "default = \"deny\"\n[[allow]]\nmodule = \"example.com/m\"\nversions = \"< v2\"\n",
        );
        assert!(g.check_info(&m(), br#"{"Version":"v1.9.0"}"#).is_ok());
        let e = g.check_info(&m(), br#"{"Version":"v1.9.0-pre"}"#);
        assert!(e.is_ok());
        let g = gate("[[deny]]\nmodule = \"example.com/m\"\nreason = \"malware\"\n");
        let e = g.check_info(&m(), br#"{"Version":"v1.0.0"}"#).unwrap_err();
        assert!(matches!(e, DepotError::Blocked(_)));
        assert!(e.to_string().contains("example.com/m@v1.0.0"), "{e}");
        assert!(e.to_string().ends_with(": malware"), "{e}");
    }
}
