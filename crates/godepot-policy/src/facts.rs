//! What is known about a module version beyond its path and number: the advisories of
//! the held vulnerability database that affect it, and its licence. The policy is pure, so
//! the caller (the depot, import) looks these up and hands them over.

use std::fmt;

use godepot_module::{ModulePath, Version};

/// Where the advisories come from: the held vulnerability database, asked which of its
/// entries (not withdrawn) cover a module version. Implemented over `godepot_vulndb` by
/// the depot's caller; a trait here so that every user of the policy (the depot, import,
/// `audit`) asks the same way.
pub trait Advisories: Send + Sync + fmt::Debug {
    fn affecting(&self, module: &ModulePath, version: &Version) -> Vec<Advisory>;
}

/// The facts [`crate::Policy::decide_with`] decides on. The default knows nothing: no
/// advisory, licence not known yet (which is what [`crate::Policy::decide`] assumes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The entries of the vulnerability database whose ranges cover the version
    /// (withdrawn entries left out by the caller).
    pub advisories: Vec<Advisory>,
    pub license: License,
}

/// One vulnerability-database entry affecting a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// The entry's id (`GO-2099-0001`).
    pub id: String,
    /// Its aliases (`CVE-…`, `GHSA-…`).
    pub aliases: Vec<String>,
    /// Its one-line summary, when it has one (for reports; the policy does not read it).
    pub summary: Option<String>,
    /// The lowest version that fixes it above the affected one (with its `v`), if any.
    pub fixed: Option<String>,
}

/// `GO-2099-0001 (fixed in v1.2.3)`, or `(no fixed version)`.
impl fmt::Display for Advisory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            Some(fixed) => write!(f, "{} (fixed in {fixed})", self.id),
            None => write!(f, "{} (no fixed version)", self.id),
        }
    }
}

/// A version's licence, as detected from the licence files in its zip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum License {
    /// The zip is not held, so nothing is known yet: decided as the licence that would let
    /// the version in (allow rules with `licenses` match, deny rules with `licenses` do
    /// not), and `default-license` does not apply; the zip is decided when it is fetched.
    #[default]
    Pending,
    /// The zip is held and no licence was identified with enough confidence.
    Unknown,
    /// The SPDX identifiers found (one per licence file that was identified), sorted,
    /// without duplicates. Never empty.
    Identified(Vec<String>),
}

impl License {
    /// The licence in the words `ls` and the UI use: `MIT`, `Apache-2.0 AND MIT`,
    /// `unknown`, or `-` when the zip is not held.
    pub fn label(&self) -> String {
        match self {
            License::Pending => "-".into(),
            License::Unknown => "unknown".into(),
            License::Identified(ids) => ids.join(" AND "),
        }
    }

    /// The licence a [`License::label`] names (as the module index keeps it).
    pub fn from_label(label: &str) -> License {
        match label {
            "-" | "" => License::Pending,
            "unknown" => License::Unknown,
            ids => License::Identified(ids.split(" AND ").map(str::to_owned).collect()),
        }
    }
}
