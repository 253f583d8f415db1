//! Validity rules for module paths, import paths and file paths inside modules
//! (the checks of `golang.org/x/mod/module`).
//!
//! The three kinds share one element grammar but differ in the characters they
//! admit: module paths must survive case-insensitive file systems and URLs, import
//! paths additionally allow `+`, and file paths allow most punctuation and any
//! Unicode letter. All three reject names that Windows cannot create, because a
//! module must be extractable everywhere.

use crate::error::ModuleError;
use crate::semver;

/// Which of the three path grammars an element is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    Import,
    File,
}

/// Device names Windows reserves regardless of extension (`aux.go` is unusable too).
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks that `path` is a valid module path (`module.CheckPath`): a valid import
/// path whose first element looks like a lower-case host name and whose final
/// `/vN` (or gopkg.in `.vN`) suffix, if any, is well formed.
pub fn check_path(path: &str) -> Result<(), ModuleError> {
    check_module_path(path).map_err(|reason| ModuleError::InvalidPath {
        path: path.to_owned(),
        reason,
    })
}

fn check_module_path(path: &str) -> Result<(), String> {
    check_generic(path, Kind::Module)?;
    let first = path.split('/').next().unwrap_or_default();
    if first.is_empty() {
        return Err("leading slash".into());
    }
    if !first.contains('.') {
        return Err("missing dot in first path element".into());
    }
    if first.starts_with('-') {
        return Err("leading dash in first path element".into());
    }
    if let Some(c) = first.chars().find(|&c| !first_element_char_ok(c)) {
        return Err(format!("invalid char {c:?} in first path element"));
    }
    if split_path_version(path).is_none() {
        return Err("invalid version".into());
    }
    Ok(())
}

/// Checks that `path` is a valid package import path (`module.CheckImportPath`).
pub fn check_import_path(path: &str) -> Result<(), ModuleError> {
    check_generic(path, Kind::Import).map_err(|reason| ModuleError::InvalidImportPath {
        path: path.to_owned(),
        reason,
    })
}

/// Checks that `path` is a valid slash-separated file path relative to a module
/// root (`module.CheckFilePath`).
pub fn check_file_path(path: &str) -> Result<(), ModuleError> {
    check_generic(path, Kind::File).map_err(|reason| ModuleError::InvalidFilePath {
        path: path.to_owned(),
        reason,
    })
}

/// The rules common to all path kinds: non-empty, no empty elements, every
/// element valid for `kind`.
fn check_generic(path: &str, kind: Kind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.starts_with('-') && kind != Kind::File {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    path.split('/')
        .try_for_each(|elem| check_element(elem, kind))
}

/// Checks one path element. Also used for versions in URLs, which must be
/// valid file-path elements.
fn check_element(elem: &str, kind: Kind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(format!("invalid path element {elem:?}"));
    }
    if elem.starts_with('.') && kind == Kind::Module {
        return Err("leading dot in path element".into());
    }
    if elem.ends_with('.') {
        return Err("trailing dot in path element".into());
    }
    if let Some(c) = elem.chars().find(|&c| !char_ok(c, kind)) {
        return Err(format!("invalid char {c:?}"));
    }
    let stem = elem.split('.').next().unwrap_or_default();
    if WINDOWS_RESERVED
        .iter()
        .any(|r| r.eq_ignore_ascii_case(stem))
    {
        return Err(format!(
            "{stem:?} disallowed as path element component on Windows"
        ));
    }
    // 8.3 short names ("PROGRA~1") could alias another directory on Windows; file
    // names are exempt because only import paths are resolved through them.
    if kind != Kind::File && looks_like_short_name(stem) {
        return Err("trailing tilde and digits in path element".into());
    }
    Ok(())
}

/// Checks a version string as a file-path element, for use in URLs.
pub(crate) fn check_version_element(v: &str) -> Result<(), String> {
    check_element(v, Kind::File)
}

fn looks_like_short_name(stem: &str) -> bool {
    match stem.rfind('~') {
        Some(i) if i + 1 < stem.len() => stem[i + 1..].bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

fn char_ok(c: char, kind: Kind) -> bool {
    match kind {
        Kind::Module => module_char_ok(c),
        Kind::Import => module_char_ok(c) || c == '+',
        Kind::File => file_char_ok(c),
    }
}

fn module_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// The first element is a host name: lower case only, so that two spellings of a
/// host cannot name different modules.
fn first_element_char_ok(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')
}

/// File names exclude shell-special characters (`" ' * < > ? `` ` `` |`), path
/// separators (`/ : \`) and control characters; non-ASCII is limited to letters.
fn file_char_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        c.is_alphabetic()
    }
}

/// Splits a module path into its prefix and major-version suffix
/// (`module.SplitPathVersion`): `("example.com/m", "/v2")`, `("gopkg.in/yaml", ".v3")`,
/// or `(path, "")` when there is no suffix. `None` when the suffix is malformed
/// (`/v0`, `/v1`, `/v2.0`, `/v02`, or a gopkg.in path without `.vN`).
pub fn split_path_version(path: &str) -> Option<(&str, &str)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let bytes = path.as_bytes();
    let digits_start = path.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
    let suffix_start = digits_start.saturating_sub(2);
    let has_suffix =
        digits_start >= 2 && digits_start < path.len() && path[suffix_start..digits_start] == *"/v";
    if !has_suffix {
        return Some((path, ""));
    }
    let (prefix, major) = path.split_at(suffix_start);
    let digits = &major[2..];
    if digits.contains('.') || digits.starts_with('0') || major == "/v1" {
        return None;
    }
    Some((prefix, major))
}

/// gopkg.in paths always end in `.vN` (optionally `-unstable`), and `.v0` is allowed.
fn split_gopkg_in(path: &str) -> Option<(&str, &str)> {
    let body = path.strip_suffix("-unstable").unwrap_or(path);
    let digits = body.bytes().rev().take_while(u8::is_ascii_digit).count();
    let vee = body.len() - digits;
    if digits == 0 || vee < 2 || &body[vee - 2..vee] != ".v" {
        return None;
    }
    let (prefix, major) = path.split_at(vee - 2);
    let number = &body[vee..];
    if number.starts_with('0') && number != "0" {
        return None;
    }
    Some((prefix, major))
}

/// Checks that version `version` may be used with a module whose path ends in
/// `path_major` (`module.CheckPathMajor`).
///
/// The error is [`ModuleError::InvalidVersion`] with an empty `path`; [`check`]
/// fills in the module path.
pub fn check_path_major(version: &str, path_major: &str) -> Result<(), ModuleError> {
    match path_major_mismatch(version, path_major) {
        None => Ok(()),
        Some(reason) => Err(ModuleError::InvalidVersion {
            path: String::new(),
            version: version.to_owned(),
            reason,
        }),
    }
}

fn path_major_mismatch(version: &str, path_major: &str) -> Option<String> {
    let path_major = match path_major.strip_suffix("-unstable") {
        Some(trimmed) if path_major.starts_with(".v") => trimmed,
        _ => path_major,
    };
    // Old pseudo-versions for gopkg.in/x.v1 were generated as v0.0.0-...; accept them.
    if version.starts_with("v0.0.0-") && path_major == ".v1" {
        return None;
    }
    let major = semver::major(version).unwrap_or_default();
    let expected = if path_major.is_empty() {
        let compatible = matches!(major, "v0" | "v1");
        if compatible || semver::build(version) == Some("+incompatible") {
            return None;
        }
        "v0 or v1"
    } else {
        let wanted = &path_major[1..];
        if major == wanted {
            return None;
        }
        wanted
    };
    Some(format!("should be {expected}, not {major}"))
}

/// Checks that `path@version` is a valid module version (`module.Check`): the path is
/// valid, the version is semver, and the major version agrees with the path suffix
/// (`+incompatible` admits v2+ for paths without a suffix).
pub fn check(path: &str, version: &str) -> Result<(), ModuleError> {
    check_path(path)?;
    let invalid = |reason: String| ModuleError::InvalidVersion {
        path: path.to_owned(),
        version: version.to_owned(),
        reason,
    };
    if !semver::is_valid(version) {
        return Err(invalid("not a semantic version".into()));
    }
    let (_, path_major) = split_path_version(path).unwrap_or((path, ""));
    path_major_mismatch(version, path_major).map_or(Ok(()), |r| Err(invalid(r)))
}

/// Reports whether any comma-separated glob in `patterns` matches a prefix of
/// `target` made of whole path elements (`module.MatchPrefixPatterns`, the matcher
/// behind GOPRIVATE, GONOPROXY and GONOSUMDB). Empty patterns are ignored.
pub fn matches_glob_prefix(patterns: &str, target: &str) -> bool {
    patterns
        .split(',')
        .map(|p| p.strip_suffix('/').unwrap_or(p))
        .filter(|p| !p.is_empty())
        .any(|pattern| glob_matches_prefix(pattern, target))
}

/// Reports whether one glob (an element of a [`matches_glob_prefix`] list) is well
/// formed. A malformed glob matches nothing, which the go command accepts silently in
/// GOPRIVATE; a policy file must refuse it instead, or a deny rule would never apply.
pub fn is_valid_glob(pattern: &str) -> bool {
    crate::glob::is_well_formed(pattern)
}

/// A pattern of N elements is matched against the first N elements of `target`;
/// a target with fewer elements never matches.
fn glob_matches_prefix(pattern: &str, target: &str) -> bool {
    let elements = pattern.split('/').count();
    // The prefix of `target` with exactly as many elements as the pattern.
    let prefix_end = target
        .match_indices('/')
        .nth(elements - 1)
        .map_or(target.len(), |(i, _)| i);
    let prefix = &target[..prefix_end];
    prefix.split('/').count() == elements && crate::glob::matches(pattern, prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_path_version_table() {
        fn check(path: &str, expect: Option<(&str, &str)>) {
            assert_eq!(split_path_version(path), expect, "split {path:?}");
        }
        check("example.com/m", Some(("example.com/m", "")));
        check("example.com/m/v2", Some(("example.com/m", "/v2")));
        check("example.com/m/v10", Some(("example.com/m", "/v10")));
        check("example.com/m/v1", None);
        check("example.com/m/v0", None);
        check("example.com/m/v02", None);
        check("example.com/m/v2.0", None);
        check("example.com/m2", Some(("example.com/m2", "")));
        check("gopkg.in/yaml.v3", Some(("gopkg.in/yaml", ".v3")));
        check("gopkg.in/yaml.v0", Some(("gopkg.in/yaml", ".v0")));
        check(
            "gopkg.in/yaml.v1-unstable",
            Some(("gopkg.in/yaml", ".v1-unstable")),
        );
        check("gopkg.in/yaml.v01", None);
        check("gopkg.in/yaml", None);
    }

    #[test]
    fn check_path_messages() {
        fn check(path: &str, expect: &str) {
            let got = check_path(path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(got, expect, "check_path({path:?})");
        }
        check("example.com/m", "");
        check(
            "cache",
            r#"malformed module path "cache": missing dot in first path element"#,
        );
        check(
            "Ex.com/m",
            r#"malformed module path "Ex.com/m": invalid char 'E' in first path element"#,
        );
        check(
            "x.y/z/v1",
            r#"malformed module path "x.y/z/v1": invalid version"#,
        );
        check(
            "x.y/com1",
            r#"malformed module path "x.y/com1": "com1" disallowed as path element component on Windows"#,
        );
        check(
            "x.y/..",
            r#"malformed module path "x.y/..": invalid path element "..""#,
        );
    }

    #[test]
    fn check_path_major_table() {
        fn check(version: &str, path_major: &str, expect: Result<(), &str>) {
            let got = check_path_major(version, path_major).map_err(|e| match e {
                ModuleError::InvalidVersion { reason, .. } => reason,
                other => other.to_string(),
            });
            assert_eq!(
                got.as_ref().map(|_| ()).map_err(String::as_str),
                expect,
                "{version} {path_major}"
            );
        }
        check("v1.0.0", "", Ok(()));
        check("v2.0.0", "", Err("should be v0 or v1, not v2"));
        check("v2.0.0+incompatible", "", Ok(()));
        check("v2.0.0", "/v2", Ok(()));
        check("v3.0.0", "/v2", Err("should be v2, not v3"));
        check("v1.0.0", ".v1-unstable", Ok(()));
        check("v0.0.0-20160102150405-abcdef123456", ".v1", Ok(()));
    }

    #[test]
    fn matches_glob_prefix_table() {
        fn check(patterns: &str, target: &str, expect: bool) {
            assert_eq!(
                matches_glob_prefix(patterns, target),
                expect,
                "{patterns:?} vs {target:?}"
            );
        }
        check("", "example.com/m", false);
        check("example.com", "example.com/m", true);
        check("example.com/", "example.com/m", true);
        check("example.com", "example.community/m", false);
        check("*.corp.example.com", "git.corp.example.com/team/repo", true);
        check("*.corp.example.com", "corp.example.com/team/repo", false);
        check("github.com/org/*", "github.com/org/repo/v2", true);
        check("github.com/org/*", "github.com/org", false);
        check("a.com,,b.com", "b.com/x", true);
        check(" b.com", "b.com/x", false);
        assert!(is_valid_glob("example.com/*/[a-z]?"));
        assert!(!is_valid_glob("example.com/[a-"));
        assert!(!is_valid_glob("example.com/x\\"));
        check("example.com/m/v2", "example.com/m", false);
        check("exa?ple.com", "example.com", true);
        check("[a-c].com", "b.com/z", true);
        check("[^a-c].com", "b.com/z", false);
        check("[a-c.com", "b.com/z", false);
        check("*", "anything/at/all", true);
    }
}
