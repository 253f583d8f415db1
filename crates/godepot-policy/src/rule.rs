//! Rules, decisions and the text of a refusal.

use std::fmt;

use godepot_module::{ModulePath, Version, matches_glob_prefix};

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
/// rule to match. One variant today; the vulnerability and licence keys of the
/// policy (`vulnerable`, `ids`, `aliases`, `licenses`) will be further variants
/// (and then the facts they need will join `Policy::decide`'s arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matcher {
    /// `versions = "..."`.
    Versions(VersionRange),
}

impl Matcher {
    fn matches(&self, version: &Version) -> bool {
        match self {
            Matcher::Versions(range) => range.matches(version),
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

    pub(crate) fn matches(&self, module: &ModulePath, version: &Version) -> bool {
        matches_glob_prefix(&self.module, module.as_str())
            && self.matchers.iter().all(|m| m.matches(version))
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

/// What decided: a rule, or the file's `default` because no rule matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidedBy {
    Rule(RuleRef),
    Default,
}

/// `deny rule 2, line 5`, or `default`: the `rule` of an audit-log event.
impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecidedBy::Rule(at) => at.fmt(f),
            DecidedBy::Default => f.write_str("default"),
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
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} is blocked by policy", self.module, self.version)?;
        match self.by {
            DecidedBy::Rule(at) => write!(f, " ({at})")?,
            DecidedBy::Default => f.write_str(" (no allow rule matches; default = \"deny\")")?,
        }
        match &self.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => Ok(()),
        }
    }
}
