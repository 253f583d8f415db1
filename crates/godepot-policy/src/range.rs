//! The `versions` key: comparators on semantic versions, joined by commas meaning
//! "and" (`">= v1.2.0, < v1.4.2"`).
//!
//! Six operators: `=`, `!=`, `<`, `<=`, `>`, `>=`. `!=` is kept because "every v1 but
//! the one we patched" is a common exception and spelling it as two ranges would need
//! "or". There is no "or", no `~`/`^` shorthand and no bare version: a policy is read
//! by auditors, and one obvious spelling per range is worth more than brevity (two
//! rules say "or").
//!
//! Comparison is Go's semver precedence (`godepot_module::semver::compare`), exactly
//! what the go command uses to order versions, so pre-releases and pseudo-versions
//! fall where `go list -m -versions` puts them: `< v1.4.2` includes `v1.4.2-rc.1` and
//! the pseudo-versions of commits before `v1.4.2`. Build metadata takes no part in
//! precedence, so `+incompatible` versions compare as their base (`= v2.0.0` covers
//! `v2.0.0+incompatible`), and a comparator that spells build metadata is refused
//! rather than silently ignored.

use std::cmp::Ordering;
use std::fmt;

use godepot_module::{Version, semver};

/// One comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// Longest spellings first, so that `>=` is not read as `>` then `=v1`.
    const SPELLINGS: [(&'static str, Op); 6] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ];

    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// Whether `ordering` (version compared to the operand) satisfies the operator.
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
        }
    }
}

/// `op version`, e.g. `>= v1.2.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparator {
    pub op: Op,
    /// A valid semantic version in Go's dialect, without build metadata (shorthands
    /// such as `v1.2` are allowed and mean `v1.2.0`, as in Go).
    pub version: String,
}

impl Comparator {
    pub fn matches(&self, version: &Version) -> bool {
        self.op
            .holds(semver::compare(version.as_str(), &self.version))
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.version)
    }
}

/// Comparators that must all hold. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    comparators: Vec<Comparator>,
}

/// What is wrong with a range, and where: `offset` is a byte offset into the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RangeError {
    pub offset: usize,
    pub message: String,
}

impl VersionRange {
    pub fn parse(text: &str) -> Result<Self, RangeError> {
        let mut comparators = Vec::new();
        let mut start = 0;
        for piece in text.split(',') {
            comparators.push(parse_comparator(piece, start)?);
            start += piece.len() + 1;
        }
        Ok(Self { comparators })
    }

    pub fn comparators(&self) -> &[Comparator] {
        &self.comparators
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.comparators.iter().all(|c| c.matches(version))
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.comparators.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Parses one comma-separated piece that starts at byte `base` of the whole text.
fn parse_comparator(piece: &str, base: usize) -> Result<Comparator, RangeError> {
    let lead = piece.len() - piece.trim_start().len();
    let at = base + lead;
    let err = |offset: usize, message: String| Err(RangeError { offset, message });
    let trimmed = piece.trim();
    if trimmed.is_empty() {
        return err(at, "empty comparator (expected e.g. \">= v1.2.0\")".into());
    }
    let Some((spelling, op)) = Op::SPELLINGS
        .iter()
        .find(|(s, _)| trimmed.starts_with(s))
        .copied()
    else {
        return err(
            at,
            format!("{trimmed:?} has no operator (one of =, !=, <, <=, >, >=)"),
        );
    };
    let after_op = &trimmed[spelling.len()..];
    let version = after_op.trim_start();
    let version_at = at + spelling.len() + (after_op.len() - version.len());
    if version.is_empty() {
        return err(version_at, format!("a version must follow {spelling:?}"));
    }
    if !semver::is_valid(version) {
        return err(
            version_at,
            format!("{version:?} is not a semantic version (e.g. v1.2.3)"),
        );
    }
    if let Some(build) = semver::build(version) {
        return err(
            version_at,
            format!(
                "{version:?}: build metadata ({build}) takes no part in version order; leave it out"
            ),
        );
    }
    Ok(Comparator {
        op,
        version: version.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parse_and_match_table() {
        let cases: &[(&str, &str, bool)] = &[
            (">= v1.2.0, < v1.4.2", "v1.2.0", true),
            (">= v1.2.0, < v1.4.2", "v1.4.1", true),
            (">= v1.2.0, < v1.4.2", "v1.4.2", false),
            (">= v1.2.0, < v1.4.2", "v1.1.9", false),
            (">= v1.2.0, < v1.4.2", "v1.4.2-rc.1", true),
            ("< v1.4.2", "v1.4.2-0.20200101000000-abcdefabcdef", true),
            ("= v1.3.0", "v1.3.0", true),
            ("=v1.3.0", "v1.3.1", false),
            ("!= v1.3.0", "v1.3.1", true),
            ("!= v1.3.0", "v1.3.0", false),
            ("> v1", "v1.0.1", true),
            ("<= v1.2", "v1.2.0", true),
            ("= v2.0.0", "v2.0.0+incompatible", true),
            (">v1.0.0,<v2.0.0,!=v1.5.0", "v1.5.0", false),
            (">v1.0.0,<v2.0.0,!=v1.5.0", "v1.5.1", true),
        ];
        for &(range, version, expect) in cases {
            let r = VersionRange::parse(range).unwrap_or_else(|e| panic!("{range:?}: {e}"));
            assert_eq!(r.matches(&v(version)), expect, "{range:?} vs {version}");
        }
    }

    #[test]
    fn errors_name_the_offset() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 0, "empty comparator"),
            (">= v1.0.0,", 10, "empty comparator"),
            (">= v1.0.0, , < v2", 11, "empty comparator"),
            ("v1.0.0", 0, "has no operator"),
            ("~ v1.0.0", 0, "has no operator"),
            (">=", 2, "a version must follow"),
            (">= v1.0.0, <  1.2.3", 14, "not a semantic version"),
            ("== v1.0.0", 1, "not a semantic version"),
            ("= v2.0.0+incompatible", 2, "build metadata"),
            ("=> v1.0.0", 1, "not a semantic version"),
        ];
        for &(text, offset, message) in cases {
            let e = VersionRange::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text:?}: {e}");
            assert!(e.message.contains(message), "{text:?}: {e}");
        }
    }

    #[test]
    fn display_is_normal_form() {
        let r = VersionRange::parse(" >=v1.2.0 ,<  v1.4.2").unwrap();
        assert_eq!(r.to_string(), ">= v1.2.0, < v1.4.2");
    }
}
