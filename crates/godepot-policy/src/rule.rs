//! Rules, decisions and the text of a refusal.

use std::fmt;

use godepot_module::{ModulePath, Version, matches_glob_prefix};

use crate::facts::{Advisory, Facts, License};
use crate::range::VersionRange;

/// What a rule (or the default) does with the versions it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Deny,
}

impl Action {
    /// The TOML spelling: the table name of a rule, the value of `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }
}

/// A condition on a module version beyond its path, all of which must hold for the
/// rule to match.
///
/// The conditions on facts read differently in the two kinds of rule, so that an
/// exception never lets through more than it names: a `[[deny]]` rule matches when *any*
/// advisory (licence) of the version is one it names, an `[[allow]]` rule only when
/// *every* one is (and there is at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matcher {
    /// `versions = "..."`.
    Versions(VersionRange),
    /// `vulnerable = true`, optionally narrowed by `ids = [...]` and/or `aliases = [...]`
    /// (an advisory is named when its id is in `ids` or one of its aliases in `aliases`;
    /// with neither, every advisory is named).
    Vulnerable {
        ids: Vec<String>,
        aliases: Vec<String>,
    },
    /// `licenses = [...]`: SPDX identifiers. Matches versions whose licence is identified
    /// (the zip is held and detection was confident); a licence not known yet counts as a
    /// match for an allow rule and as none for a deny rule (see [`License::Pending`]).
    Licenses(Vec<String>),
}

impl Matcher {
    fn matches(&self, action: Action, version: &Version, facts: &Facts) -> bool {
        match self {
            Matcher::Versions(range) => range.matches(version),
            Matcher::Vulnerable { .. } => {
                let named = facts.advisories.iter().filter(|a| self.names(a)).count();
                match action {
                    Action::Deny => named > 0,
                    Action::Allow => named > 0 && named == facts.advisories.len(),
                }
            }
            Matcher::Licenses(names) => match &facts.license {
                License::Identified(ids) => match action {
                    Action::Deny => ids.iter().any(|id| names.contains(id)),
                    Action::Allow => ids.iter().all(|id| names.contains(id)),
                },
                // Not known yet: decided as the licence that lets the version in would be
                // (an allow rule matches, a deny rule does not), so that what comes before
                // the zip (`.info`, lists) is refused only when no licence could admit it;
                // the zip itself is decided once its licence is known.
                License::Pending => action == Action::Allow,
                License::Unknown => false,
            },
        }
    }

    /// Whether a `vulnerable` matcher names `advisory`.
    fn names(&self, advisory: &Advisory) -> bool {
        match self {
            Matcher::Vulnerable { ids, aliases } => {
                (ids.is_empty() && aliases.is_empty())
                    || ids.contains(&advisory.id)
                    || advisory.aliases.iter().any(|a| aliases.contains(a))
            }
            _ => false,
        }
    }
}

/// One `[[allow]]` or `[[deny]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub(crate) at: RuleRef,
    /// Comma-separated globs, as in GOPRIVATE.
    pub(crate) module: String,
    pub(crate) matchers: Vec<Matcher>,
    pub(crate) reason: Option<String>,
}

impl Rule {
    pub fn at(&self) -> RuleRef {
        self.at
    }

    pub fn module(&self) -> &str {
        &self.module
    }

    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    pub(crate) fn matches(&self, module: &ModulePath, version: &Version, facts: &Facts) -> bool {
        matches_glob_prefix(&self.module, module.as_str())
            && (self.matchers.iter()).all(|m| m.matches(self.at.action, version, facts))
    }

    /// Whether the rule looks at advisories / licences (so the caller knows which facts
    /// it must look up).
    pub(crate) fn uses_advisories(&self) -> bool {
        (self.matchers.iter()).any(|m| matches!(m, Matcher::Vulnerable { .. }))
    }

    pub(crate) fn uses_license(&self) -> bool {
        (self.matchers.iter()).any(|m| matches!(m, Matcher::Licenses(_)))
    }

    /// What of `facts` made this (deny) rule match, for the refusal's text.
    pub(crate) fn evidence(&self, facts: &Facts) -> (Vec<Advisory>, Vec<String>) {
        let mut advisories = Vec::new();
        let mut licenses = Vec::new();
        for m in &self.matchers {
            match m {
                Matcher::Vulnerable { .. } => {
                    advisories.extend((facts.advisories.iter()).filter(|a| m.names(a)).cloned())
                }
                Matcher::Licenses(names) => {
                    if let License::Identified(ids) = &facts.license {
                        licenses.extend(ids.iter().filter(|id| names.contains(id)).cloned());
                    }
                }
                Matcher::Versions(_) => {}
            }
        }
        (advisories, licenses)
    }
}

/// Where a rule is: its place among all rules (1-based, file order), what it does,
/// and the line of its table header, so that a refusal can be traced to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRef {
    pub index: usize,
    pub action: Action,
    pub line: usize,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            index,
            action,
            line,
        } = self;
        write!(f, "{} rule {index}, line {line}", action.as_str())
    }
}

/// What decided: a rule, or, when no rule matched, `default-license` (for a version whose
/// licence is unknown) or the file's `default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    Rule(RuleRef),
    Default,
    DefaultLicense,
}

/// `deny rule 2, line 5`, or `default`: the `rule` of an audit-log event.
impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecidedBy::Rule(at) => at.fmt(f),
            DecidedBy::Default => f.write_str("default"),
            DecidedBy::DefaultLicense => f.write_str("default-license"),
        }
    }
}

/// The outcome for one module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(DecidedBy),
    Deny(Blocked),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// A refused module version. Its `Display` is the body of the 403 answer: one line
/// of plain text that the go command prints to the developer, naming the version,
/// the rule and its reason. It never names the policy file's path (that is the
/// server's business, not the client's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub module: ModulePath,
    pub version: Version,
    pub by: DecidedBy,
    pub reason: Option<String>,
    /// The advisories that made a `vulnerable` rule match (empty otherwise), each with
    /// the version that fixes it: what the developer moves to.
    pub advisories: Vec<Advisory>,
    /// The identified licences that made a `licenses` rule match (empty otherwise).
    pub licenses: Vec<String>,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} is blocked by policy", self.module, self.version)?;
        match self.by {
            DecidedBy::Rule(at) => write!(f, " ({at})")?,
            DecidedBy::Default => f.write_str(" (no allow rule matches; default = \"deny\")")?,
            DecidedBy::DefaultLicense => {
                f.write_str(" (licence unknown, no rule matches; default-license = \"deny\")")?
            }
        }
        let mut sep = ": ";
        if !self.advisories.is_empty() {
            f.write_str(sep)?;
            f.write_str("affected by ")?;
            for (i, a) in self.advisories.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{a}")?;
            }
            sep = "; ";
        }
        if !self.licenses.is_empty() {
            write!(f, "{sep}licence {}", self.licenses.join(", "))?;
            sep = "; ";
        }
        match &self.reason {
            Some(reason) => write!(f, "{sep}{reason}"),
            None => Ok(()),
        }
    }
}
