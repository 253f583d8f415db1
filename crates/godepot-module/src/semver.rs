//! Semantic versions exactly as the go command understands them
//! (the rules of `golang.org/x/mod/semver`).
//!
//! Go's dialect differs from semver.org in ways that matter for a proxy:
//! versions carry a leading `v`, the shorthands `v1` and `v1.2` are valid (meaning
//! `v1.0.0` and `v1.2.0`), and build metadata is ignored by comparison and dropped by
//! [`canonical`]. Invalid strings are not errors here: they sort below every valid
//! version, which is how the go command orders a mixed list.

use std::cmp::Ordering;

/// The pieces of a valid version, borrowed from the input.
#[derive(Debug, Clone, Copy)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    /// What the input omitted: "", ".0" (for `vX.Y`) or ".0.0" (for `vX`).
    short: &'static str,
    /// Including the leading '-', or "".
    prerelease: &'a str,
    /// Including the leading '+', or "".
    build: &'a str,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let rest = v.strip_prefix('v')?;
    let (major, rest) = split_number(rest)?;
    let mut p = Parsed {
        major,
        minor: "0",
        patch: "0",
        short: ".0.0",
        prerelease: "",
        build: "",
    };
    // The shorthands may not carry a pre-release or build suffix: "v1-pre" is invalid.
    if rest.is_empty() {
        return Some(p);
    }
    let (minor, rest) = split_number(rest.strip_prefix('.')?)?;
    p.minor = minor;
    p.short = ".0";
    if rest.is_empty() {
        return Some(p);
    }
    let (patch, rest) = split_number(rest.strip_prefix('.')?)?;
    p.patch = patch;
    p.short = "";
    let (prerelease, rest) = split_suffix(rest, '-', Some('+'), true)?;
    let (build, rest) = split_suffix(rest, '+', None, false)?;
    p.prerelease = prerelease;
    p.build = build;
    rest.is_empty().then_some(p)
}

/// Splits a leading decimal number without superfluous leading zeros.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    let digits = &s[..end];
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    Some((digits, &s[end..]))
}

/// Splits an optional `-pre.release` or `+build` suffix (with its marker) that runs
/// until `stop` (or the end). Numeric pre-release identifiers may not have leading
/// zeros; build identifiers may. Returns ("", s) when `s` does not start with `marker`.
fn split_suffix(
    s: &str,
    marker: char,
    stop: Option<char>,
    numeric_rule: bool,
) -> Option<(&str, &str)> {
    if !s.starts_with(marker) {
        return Some(("", s));
    }
    let end = stop.and_then(|c| s.find(c)).unwrap_or(s.len());
    let suffix = &s[..end];
    let idents_ok = suffix[1..]
        .split('.')
        .all(|id| is_ident(id) && !(numeric_rule && is_bad_number(id)));
    idents_ok.then_some((suffix, &s[end..]))
}

fn is_ident(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_number(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

/// Numeric pre-release identifiers must not have leading zeros ("01").
fn is_bad_number(id: &str) -> bool {
    is_number(id) && id.len() > 1 && id.starts_with('0')
}

/// Reports whether `v` is a valid semantic version in Go's dialect.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// The canonical form of `v`: shorthands expanded, build metadata removed
/// (including `+incompatible`, as Go's `semver.Canonical` does).
pub fn canonical(v: &str) -> Option<String> {
    let p = parse(v)?;
    let without_build = &v[..v.len() - p.build.len()];
    Some(format!("{without_build}{}", p.short))
}

/// Orders two versions by precedence. Invalid versions sort below all valid ones
/// and are equal to each other; build metadata is ignored.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => compare_number(x.major, y.major)
            .then_with(|| compare_number(x.minor, y.minor))
            .then_with(|| compare_number(x.patch, y.patch))
            .then_with(|| compare_prerelease(x.prerelease, y.prerelease)),
    }
}

/// Compares decimal strings without leading zeros of any length.
fn compare_number(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Pre-release precedence per semver.org §11: no pre-release beats any pre-release;
/// identifiers compare numerically when both are numbers, numbers sort below
/// words, and a shorter list of equal identifiers sorts first.
fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut xs = a[1..].split('.');
    let mut ys = b[1..].split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare_ident(x, y) {
                Ordering::Equal => {}
                other => return other,
            },
        }
    }
}

fn compare_ident(x: &str, y: &str) -> Ordering {
    match (is_number(x), is_number(y)) {
        (true, true) => compare_number(x, y),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

/// The major version prefix, e.g. `"v2"` for `"v2.1.0"`.
pub fn major(v: &str) -> Option<&str> {
    let p = parse(v)?;
    Some(&v[..1 + p.major.len()])
}

/// The `vMAJOR.MINOR` prefix, e.g. `"v2.1"` for `"v2.1.0"` and `"v2.0"` for `"v2"`.
pub fn major_minor(v: &str) -> Option<String> {
    let p = parse(v)?;
    Some(format!("v{}.{}", p.major, p.minor))
}

/// The pre-release suffix including its `-`, or `None` when there is none
/// (or `v` is invalid).
pub fn prerelease(v: &str) -> Option<&str> {
    parse(v).map(|p| p.prerelease).filter(|s| !s.is_empty())
}

/// The build suffix including its `+`, or `None` when there is none
/// (or `v` is invalid).
pub fn build(v: &str) -> Option<&str> {
    parse(v).map(|p| p.build).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_table() {
        fn check(v: &str, expect: (Option<&str>, Option<&str>, Option<&str>, Option<&str>)) {
            let got = (
                major(v),
                major_minor(v).as_deref().map(str::to_owned),
                prerelease(v),
                build(v),
            );
            let got = (got.0, got.1.as_deref(), got.2, got.3);
            assert_eq!(got, expect, "parts of {v:?}");
        }
        check("v2", (Some("v2"), Some("v2.0"), None, None));
        check("v2.1", (Some("v2"), Some("v2.1"), None, None));
        check(
            "v2.1.3-beta.1+x",
            (Some("v2"), Some("v2.1"), Some("-beta.1"), Some("+x")),
        );
        check(
            "v17.0.0+incompatible",
            (Some("v17"), Some("v17.0"), None, Some("+incompatible")),
        );
        check("v01.0.0", (None, None, None, None));
        check("1.0.0", (None, None, None, None));
    }

    #[test]
    fn validity_table() {
        fn check(v: &str, expect: bool) {
            assert_eq!(is_valid(v), expect, "is_valid({v:?})");
        }
        check("v0.0.0", true);
        check("v1.2.3-0", true);
        check("v1.2.3-01", false);
        check("v1.2.3+01", true);
        check("v1.2.3-", false);
        check("v1.2.3-a..b", false);
        check("v1.2.3+", false);
        check("v1.2.3+a+b", false);
        check("v1.2.3 ", false);
        check("v", false);
        check("", false);
        check("v1.2.3.4", false);
    }

    #[test]
    fn compare_table() {
        use Ordering::*;
        fn check(a: &str, b: &str, expect: Ordering) {
            assert_eq!(compare(a, b), expect, "compare({a:?}, {b:?})");
            assert_eq!(compare(b, a), expect.reverse(), "compare({b:?}, {a:?})");
        }
        check("v1.0.0", "v1", Equal);
        check("v1.0.0+a", "v1.0.0+b", Equal);
        check("bad", "", Equal);
        check("bad", "v0.0.0", Less);
        check("v1.10.0", "v1.9.0", Greater);
        check("v1.0.0-rc.1", "v1.0.0", Less);
        check("v1.0.0-2", "v1.0.0-10", Less);
        check("v1.0.0-a", "v1.0.0-a.0", Less);
        check("v1.0.0-9", "v1.0.0-a", Less);
    }
}
