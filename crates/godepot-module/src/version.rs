//! Parse-once newtypes for module paths and versions, and pseudo-version rules.
//!
//! Every value that crosses a crate boundary is one of these types, so the rest
//! of godepot never re-validates a path or version, and cannot forget to.

use std::cmp::Ordering;
use std::fmt;

use crate::error::ModuleError;
use crate::escape::{escape_path, escape_version, unescape_path, unescape_version};
use crate::path::{check, check_path};
use crate::semver;

/// A module path that passed [`check_path`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModulePath(String);

impl ModulePath {
    /// Validates a module path as written in go.mod (`example.com/Foo`).
    pub fn parse(s: &str) -> Result<Self, ModuleError> {
        check_path(s)?;
        Ok(Self(s.to_owned()))
    }

    /// Validates a module path given as raw bytes (e.g. a zip entry name), so that
    /// non-UTF-8 input gets the go command's message rather than a lossy one.
    pub fn parse_bytes(b: &[u8]) -> Result<Self, ModuleError> {
        let s = std::str::from_utf8(b).map_err(|_| ModuleError::NonUtf8Path {
            quoted: crate::error::go_quote(b),
        })?;
        Self::parse(s)
    }

    /// Decodes and validates a case-encoded path from a URL (`example.com/!foo`).
    pub fn from_escaped(s: &str) -> Result<Self, ModuleError> {
        unescape_path(s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-encoded form used in URLs and cache paths.
    pub fn escaped(&self) -> String {
        escape_path(&self.0).unwrap_or_else(|_| unreachable!("checked at parse: {:?}", self.0))
    }
}

impl fmt::Display for ModulePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A canonical semantic version (`v1.2.3`, `v1.2.3-pre`, `v2.0.0+incompatible`).
///
/// Only canonical spellings are accepted because the proxy protocol keys files by
/// the exact string: `v1.2` and `v1.2.0` must not become two cache entries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// Accepts exactly the canonical form, with an optional `+incompatible`.
    pub fn parse(s: &str) -> Result<Self, ModuleError> {
        let canonical = canonical_version(s).ok_or_else(|| ModuleError::MalformedVersion {
            version: s.to_owned(),
            reason: "not a semantic version".into(),
        })?;
        if canonical != s {
            return Err(ModuleError::NonCanonicalVersion {
                version: s.to_owned(),
                canonical,
            });
        }
        Ok(Self(canonical))
    }

    /// Parses `s` and checks it against `path`'s major-version suffix.
    pub fn for_module(path: &ModulePath, s: &str) -> Result<Self, ModuleError> {
        let v = Self::parse(s)?;
        check(path.as_str(), s)?;
        Ok(v)
    }

    /// Decodes a case-encoded version from a URL, then parses it.
    pub fn from_escaped(s: &str) -> Result<Self, ModuleError> {
        Self::parse(&unescape_version(s)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-encoded form used in URLs and cache paths.
    pub fn escaped(&self) -> String {
        escape_version(&self.0).unwrap_or_else(|_| unreachable!("checked at parse: {:?}", self.0))
    }

    pub fn is_prerelease(&self) -> bool {
        semver::prerelease(&self.0).is_some()
    }

    pub fn is_pseudo(&self) -> bool {
        is_pseudo_version(&self.0)
    }
}

/// Semver precedence first; the string breaks ties (`v1.0.0` vs
/// `v1.0.0+incompatible`) so that `Ord` agrees with `Eq`.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        semver::compare(&self.0, &other.0).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `module.CanonicalVersion`: semver's canonical form, but keeping `+incompatible`,
/// which is part of a module version's identity.
pub fn canonical_version(v: &str) -> Option<String> {
    let canonical = semver::canonical(v)?;
    match semver::build(v) {
        Some("+incompatible") => Some(canonical + "+incompatible"),
        _ => Some(canonical),
    }
}

/// Reports whether `v` is a pseudo-version (`module.IsPseudoVersion`), i.e. one
/// of the three forms the go command generates for untagged commits:
/// `vX.0.0-yyyymmddhhmmss-rev`, `vX.Y.(Z+1)-0.yyyymmddhhmmss-rev` and
/// `vX.Y.Z-pre.0.yyyymmddhhmmss-rev`, each optionally followed by `+build`.
pub fn is_pseudo_version(v: &str) -> bool {
    v.matches('-').count() >= 2 && semver::is_valid(v) && pseudo_parts(v).is_some()
}

/// The `yyyymmddhhmmss` commit time of a pseudo-version.
pub fn pseudo_version_time(v: &str) -> Option<String> {
    if !is_pseudo_version(v) {
        return None;
    }
    pseudo_parts(v).map(|(_, time, _)| time.to_owned())
}

/// Splits a pseudo-version into (base prefix, time, revision), or `None` if the
/// shape is wrong. The base prefix ends in `-` or `0.`.
fn pseudo_parts(v: &str) -> Option<(&str, &str, &str)> {
    let without_build = v.split('+').next().unwrap_or(v);
    let (head, rev) = without_build.rsplit_once('-')?;
    let rev_ok = !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_alphanumeric());
    let time_start = head.len().checked_sub(14)?;
    let (base, time) = (head.get(..time_start)?, head.get(time_start..)?);
    let time_ok = time.bytes().all(|b| b.is_ascii_digit());
    (rev_ok && time_ok && pseudo_base_ok(base)).then_some((base, time, rev))
}

/// `vX.0.0-` (no earlier tag), or `vX.Y.Z-` + optional `pre.` + `0.` (after a tag).
fn pseudo_base_ok(base: &str) -> bool {
    if let Some(core) = base.strip_suffix('-') {
        return core_matches(core).is_some_and(|(_, minor, patch)| minor == "0" && patch == "0");
    }
    let Some(rest) = base.strip_suffix("0.") else {
        return false;
    };
    let Some((core, pre)) = rest.split_once('-') else {
        return false;
    };
    core_matches(core).is_some() && (pre.is_empty() || pre.ends_with('.'))
}

/// Matches `v\d+\.\d+\.\d+` and returns the three numbers.
fn core_matches(core: &str) -> Option<(&str, &str, &str)> {
    let mut parts = core.strip_prefix('v')?.split('.');
    let numbers = (parts.next()?, parts.next()?, parts.next()?);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = parts.next().is_none()
        && all_digits(numbers.0)
        && all_digits(numbers.1)
        && all_digits(numbers.2);
    ok.then_some(numbers)
}

/// Go's rule for picking "latest" from a set of held versions when no upstream
/// answers: the highest release; else the highest pre-release; else the highest
/// pseudo-version. `+incompatible` versions count as releases. `None` for empty input.
pub fn pick_latest<'a>(versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
    let mut best: [Option<&Version>; 3] = [None; 3];
    for v in versions {
        let class = if v.is_pseudo() {
            2
        } else if v.is_prerelease() {
            1
        } else {
            0
        };
        let slot = &mut best[class];
        if slot.is_none_or(|b| v > b) {
            *slot = Some(v);
        }
    }
    best.into_iter().flatten().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parse_table() {
        fn check(s: &str, expect: Result<&str, &str>) {
            let got = Version::parse(s)
                .map(|v| v.to_string())
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                expect,
                "Version::parse({s:?})"
            );
        }
        check("v1.2.3", Ok("v1.2.3"));
        check("v1.2.3-pre.1", Ok("v1.2.3-pre.1"));
        check("v2.0.0+incompatible", Ok("v2.0.0+incompatible"));
        check(
            "v1.2",
            Err(r#"version "v1.2" is not canonical (should be "v1.2.0")"#),
        );
        check(
            "v1.0.0+bad",
            Err(r#"version "v1.0.0+bad" is not canonical (should be "v1.0.0")"#),
        );
        check(
            "latest",
            Err(r#"malformed version "latest": not a semantic version"#),
        );
    }

    #[test]
    fn for_module_table() {
        fn check(path: &str, v: &str, expect: Result<(), &str>) {
            let path = ModulePath::parse(path).unwrap();
            let got = Version::for_module(&path, v)
                .map(drop)
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_ref().map(|_| ()).map_err(String::as_str),
                expect,
                "{path}@{v}"
            );
        }
        check("example.com/m", "v1.0.0", Ok(()));
        check(
            "example.com/m",
            "v2.0.0",
            Err("example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2"),
        );
        check("example.com/m", "v2.0.0+incompatible", Ok(()));
        check("example.com/m/v2", "v2.0.0", Ok(()));
        check(
            "example.com/m/v2",
            "v3.0.0",
            Err("example.com/m/v2@v3.0.0: invalid version: should be v2, not v3"),
        );
    }

    #[test]
    fn escaped_round_trip_table() {
        fn check(path: &str, version: &str, expect: &str) {
            let p = ModulePath::parse(path).unwrap();
            let v = Version::parse(version).unwrap();
            assert_eq!(format!("{}/@v/{}", p.escaped(), v.escaped()), expect);
            assert_eq!(ModulePath::from_escaped(&p.escaped()).unwrap(), p);
            assert_eq!(Version::from_escaped(&v.escaped()).unwrap(), v);
        }
        check(
            "github.com/Azure/azure-sdk",
            "v1.0.0-RC.1",
            "github.com/!azure/azure-sdk/@v/v1.0.0-!r!c.1",
        );
        check("golang.org/x/mod", "v0.17.0", "golang.org/x/mod/@v/v0.17.0");
    }

    #[test]
    fn pseudo_table() {
        fn check(v: &str, expect: Option<&str>) {
            assert_eq!(
                pseudo_version_time(v).as_deref(),
                expect,
                "pseudo_version_time({v:?})"
            );
            assert_eq!(
                is_pseudo_version(v),
                expect.is_some(),
                "is_pseudo_version({v:?})"
            );
        }
        check("v0.0.0-20191109021931-daa7c04131f5", Some("20191109021931"));
        check(
            "v2.0.0-20191109021931-daa7c04131f5+incompatible",
            Some("20191109021931"),
        );
        check(
            "v1.2.4-0.20191109021931-daa7c04131f5",
            Some("20191109021931"),
        );
        check(
            "v1.2.3-pre.0.20191109021931-daa7c04131f5",
            Some("20191109021931"),
        );
        check(
            "v1.2.3-pre.x.0.20191109021931-daa7c04131f5",
            Some("20191109021931"),
        );
        check("v1.0.0-20191109021931-daa7c04131f5", Some("20191109021931"));
        check("v1.2.3-1.20191109021931-daa7c04131f5", None);
        check("v0.0.0-2019110902193-daa7c04131f5", None);
        check("v0.0.0-201911090219311-daa7c04131f5", None);
        check("v0.0.0-20191109021931-", None);
        check("v0.0.0-20191109021931-daa7c04131f5-x", None);
        check("v1.2.3", None);
        check("v1.2.3-pre", None);
    }

    #[test]
    fn pick_latest_table() {
        fn check(versions: &[&str], expect: Option<&str>) {
            let vs: Vec<Version> = versions
                .iter()
                .map(|v| Version::parse(v).unwrap())
                .collect();
            assert_eq!(
                pick_latest(&vs).map(Version::as_str),
                expect,
                "{versions:?}"
            );
        }
        check(&[], None);
        check(&["v1.0.0", "v1.1.0-rc.1", "v0.9.0"], Some("v1.0.0"));
        check(
            &[
                "v1.1.0-rc.1",
                "v1.1.0-beta",
                "v0.0.0-20191109021931-daa7c04131f5",
            ],
            Some("v1.1.0-rc.1"),
        );
        check(
            &[
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20201109021931-aaa7c04131f5",
            ],
            Some("v0.0.0-20201109021931-aaa7c04131f5"),
        );
        check(
            &["v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"],
            Some("v1.2.3"),
        );
        check(
            &["v2.0.0+incompatible", "v1.9.0"],
            Some("v2.0.0+incompatible"),
        );
    }

    #[test]
    fn ord_is_consistent_with_eq() {
        let a = Version::parse("v1.0.0").unwrap();
        let b = Version::parse("v1.0.0+incompatible").unwrap();
        assert_ne!(a.cmp(&b), Ordering::Equal);
        assert!(Version::parse("v1.10.0").unwrap() > Version::parse("v1.9.0").unwrap());
    }
}
