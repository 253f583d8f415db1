//! Pseudo-versions and version-control tags as the go command turns them into module
//! versions (`golang.org/x/mod/module` pseudo.go, and the tag rules of cmd/go's
//! `modfetch/coderepo.go`).
//!
//! A fetcher that reads a repository itself (instead of asking a proxy) must name untagged
//! commits exactly as the go command does, or the same commit gets two names and two
//! go.sum lines. Everything here is string arithmetic on versions, tags and commit times;
//! the repository walking stays with the caller.

use crate::path::check_path_major;
use crate::semver;
use crate::version::is_pseudo_version;

/// The pseudo-version for commit `rev` (its 12-hex short hash) made at `timestamp`
/// (see [`pseudo_timestamp`]), after the tag version `older` (`""` when no tag precedes
/// it), for a module whose path major prefix is `major` (`""`, `"v2"`, ...)
/// (`module.PseudoVersion`). The three forms:
///
/// - no tag: `vX.0.0-yyyymmddhhmmss-abcdefabcdef` (`X` from `major`, else 0);
/// - after a release `vX.Y.Z`: `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef`;
/// - after a pre-release `vX.Y.Z-pre`: `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef`.
///
/// A build suffix of `older` (`+incompatible`) is carried over.
pub fn pseudo_version(major: &str, older: &str, timestamp: &str, rev: &str) -> String {
    let major = if major.is_empty() { "v0" } else { major };
    let segment = format!("{timestamp}-{rev}");
    let build = semver::build(older).unwrap_or("");
    let Some(older) = semver::canonical(older) else {
        return format!("{major}.0.0-{segment}");
    };
    if semver::prerelease(&older).is_some() {
        return format!("{older}.0.{segment}{build}");
    }
    let dot = older.rfind('.').map_or(0, |i| i + 1);
    let (head, patch) = older.split_at(dot);
    format!("{head}{}-0.{segment}{build}", inc_decimal(patch))
}

/// The parts of a pseudo-version: (base, timestamp, revision, build), where base is
/// `vX.0.0`, `vX.Y.(Z+1)-0` or `vX.Y.Z-pre.0` (`parsePseudoVersion`).
fn parse_pseudo(v: &str) -> Option<(&str, &str, &str, &str)> {
    if !is_pseudo_version(v) {
        return None;
    }
    let build = semver::build(v).unwrap_or("");
    let v = &v[..v.len() - build.len()];
    let (v, rev) = v.rsplit_once('-')?;
    let dash = v.rfind('-')?;
    let (base, timestamp) = match v.rfind('.') {
        Some(dot) if dot > dash => (&v[..dot], &v[dot + 1..]),
        _ => (&v[..dash], &v[dash + 1..]),
    };
    Some((base, timestamp, rev, build))
}

/// The revision (short commit hash) a pseudo-version names (`module.PseudoVersionRev`).
pub fn pseudo_version_rev(v: &str) -> Option<&str> {
    parse_pseudo(v).map(|(_, _, rev, _)| rev)
}

/// The tag version a pseudo-version was derived from (`module.PseudoVersionBase`):
/// `Ok(None)` for the no-tag form, `Err(reason)` for one no tag could have produced.
pub fn pseudo_version_base(v: &str) -> Result<Option<String>, String> {
    let (base, _, _, build) = parse_pseudo(v).ok_or_else(|| "syntax error".to_owned())?;
    match semver::prerelease(base) {
        None if build.is_empty() => Ok(None),
        None => Err(format!(
            "lacks base version, but has build metadata {build:?}"
        )),
        Some("-0") => {
            let base = base.strip_suffix("-0").unwrap_or(base);
            let dot = base.rfind('.').map_or(0, |i| i + 1);
            let patch = dec_decimal(&base[dot..])
                .ok_or_else(|| format!("version before {base} would have negative patch number"))?;
            Ok(Some(format!("{}{patch}{build}", &base[..dot])))
        }
        Some(_) => {
            let base = base.strip_suffix(".0").unwrap_or(base);
            Ok(Some(format!("{base}{build}")))
        }
    }
}

/// `yyyymmddhhmmss` for a commit time in seconds since the Unix epoch, in UTC: the
/// go command formats the commit time in UTC whatever zone the commit recorded.
pub fn pseudo_timestamp(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_civil(unix_secs);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// `yyyy-mm-ddThh:mm:ssZ`: the `Time` of a `.info` answer, as the go command writes it.
pub fn info_time(unix_secs: i64) -> String {
    let (y, mo, d, h, mi, s) = utc_civil(unix_secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The UTC calendar date and clock of a Unix time (proleptic Gregorian; the days-from-civil
/// inverse of Howard Hinnant's algorithm).
fn utc_civil(unix_secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs / 3600, secs / 60 % 60, secs % 60)
}

/// The version a tag names for a module whose tags carry `prefix` (`""` at the repository
/// root, `"sub/"` for a module in `sub/`), and whether the tag is spelled canonically
/// (coderepo's `tagToVersion`). Pseudo-version tags and shorthand tags (`v1`, `v1.2`)
/// name nothing; an explicit `+incompatible` in a tag is dropped (the suffix is decided
/// from the repository, never taken from a tag).
pub fn tag_to_version(tag: &str, prefix: &str) -> Option<(String, bool)> {
    let trimmed = tag.strip_prefix(prefix)?;
    if is_pseudo_version(tag) {
        return None;
    }
    let v = semver::canonical(trimmed)?;
    if !trimmed.starts_with(v.as_str()) {
        return None;
    }
    let canonical = v == trimmed;
    Some((v, canonical))
}

/// The version a tag contributes to a module's version list (coderepo's `Versions`):
/// only tags that are exactly canonical after the prefix, never pseudo-versions.
pub fn tag_list_version<'a>(tag: &'a str, prefix: &str) -> Option<&'a str> {
    let v = tag.strip_prefix(prefix)?;
    let canonical = semver::canonical(v)?;
    (!v.is_empty() && canonical == v && !is_pseudo_version(v)).then_some(v)
}

/// `module.MatchPathMajor`: whether version `v` fits a module path ending in `path_major`.
pub fn match_path_major(v: &str, path_major: &str) -> bool {
    check_path_major(v, path_major).is_ok()
}

/// `module.PathMajorPrefix`: `"v2"` for `"/v2"` or `".v2"` (and `".v2-unstable"`),
/// `""` for no suffix.
pub fn path_major_prefix(path_major: &str) -> &str {
    let m = path_major.strip_suffix("-unstable").unwrap_or(path_major);
    m.get(1..).unwrap_or("")
}

/// Whether a go.mod declaring module path `mpath` serves a module whose path ends in
/// `path_major` (coderepo's `isMajor`): with no suffix, only v0/v1 paths qualify.
pub fn is_major(mpath: &str, path_major: &str) -> bool {
    if mpath.is_empty() {
        return false;
    }
    let Some((_, mpath_major)) = crate::path::split_path_version(mpath) else {
        return false;
    };
    if path_major.is_empty() {
        return matches!(path_major_prefix(mpath_major), "" | "v0" | "v1");
    }
    !mpath_major.is_empty() && path_major.get(1..) == mpath_major.get(1..)
}

fn inc_decimal(decimal: &str) -> String {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'9' {
        digits[i - 1] = b'0';
        i -= 1;
    }
    if i > 0 {
        digits[i - 1] += 1;
    } else {
        digits.insert(0, b'1');
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// `None` when the decimal is zero (there is no version before it).
fn dec_decimal(decimal: &str) -> Option<String> {
    let mut digits = decimal.as_bytes().to_vec();
    let mut i = digits.len();
    while i > 0 && digits[i - 1] == b'0' {
        digits[i - 1] = b'9';
        i -= 1;
    }
    if i == 0 {
        return None;
    }
    if i == 1 && digits[0] == b'1' && digits.len() > 1 {
        digits.remove(0);
    } else {
        digits[i - 1] -= 1;
    }
    String::from_utf8(digits).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_version_forms() {
        let t = "20191109021931";
        let r = "daa7c04131f5";
        let check = |major: &str, older: &str, expect: &str| {
            assert_eq!(
                pseudo_version(major, older, t, r),
                expect,
                "{major} {older}"
            );
        };
        check("", "", "v0.0.0-20191109021931-daa7c04131f5");
        check("v2", "", "v2.0.0-20191109021931-daa7c04131f5");
        check("", "v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5");
        check("", "v1.2.9", "v1.2.10-0.20191109021931-daa7c04131f5");
        check("", "v1.2.99", "v1.2.100-0.20191109021931-daa7c04131f5");
        check("", "v1.2.3-pre", "v1.2.3-pre.0.20191109021931-daa7c04131f5");
        check(
            "",
            "v2.0.0+incompatible",
            "v2.0.1-0.20191109021931-daa7c04131f5+incompatible",
        );
    }

    #[test]
    fn base_and_rev_round_trip() {
        let check = |v: &str, base: Result<Option<&str>, ()>| {
            let got = pseudo_version_base(v).map_err(drop);
            assert_eq!(
                got.as_ref().map(Option::as_deref),
                base.as_ref().copied(),
                "{v}"
            );
        };
        check("v0.0.0-20191109021931-daa7c04131f5", Ok(None));
        check("v1.2.4-0.20191109021931-daa7c04131f5", Ok(Some("v1.2.3")));
        check("v1.2.10-0.20191109021931-daa7c04131f5", Ok(Some("v1.2.9")));
        check(
            "v1.2.100-0.20191109021931-daa7c04131f5",
            Ok(Some("v1.2.99")),
        );
        check(
            "v1.2.3-pre.0.20191109021931-daa7c04131f5",
            Ok(Some("v1.2.3-pre")),
        );
        check(
            "v2.0.1-0.20191109021931-daa7c04131f5+incompatible",
            Ok(Some("v2.0.0+incompatible")),
        );
        check("v1.0.0-0.20191109021931-daa7c04131f5", Err(()));
        check("v0.0.0-20191109021931-daa7c04131f5+incompatible", Err(()));
        check("v1.2.3", Err(()));
        assert_eq!(
            pseudo_version_rev("v1.2.4-0.20191109021931-daa7c04131f5"),
            Some("daa7c04131f5")
        );
    }

    #[test]
    fn times_in_utc() {
        assert_eq!(pseudo_timestamp(0), "19700101000000");
        assert_eq!(pseudo_timestamp(1_573_265_971), "20191109021931");
        assert_eq!(info_time(1_573_265_971), "2019-11-09T02:19:31Z");
        assert_eq!(info_time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn tags_to_versions() {
        assert_eq!(tag_to_version("v1.2.3", ""), Some(("v1.2.3".into(), true)));
        assert_eq!(
            tag_to_version("sub/v1.2.3", "sub/"),
            Some(("v1.2.3".into(), true))
        );
        assert_eq!(tag_to_version("v1.2.3", "sub/"), None);
        assert_eq!(tag_to_version("v1.2", ""), None);
        assert_eq!(
            tag_to_version("v1.2.3+meta", ""),
            Some(("v1.2.3".into(), false))
        );
        assert_eq!(
            tag_to_version("v0.0.0-20191109021931-daa7c04131f5", ""),
            None
        );
        assert_eq!(tag_list_version("sub/v0.3.0", "sub/"), Some("v0.3.0"));
        assert_eq!(tag_list_version("v1.2", ""), None);
        assert_eq!(tag_list_version("release-1", ""), None);
    }

    #[test]
    fn majors() {
        assert!(is_major("example.com/m", ""));
        assert!(!is_major("example.com/m/v2", ""));
        assert!(is_major("example.com/m/v2", "/v2"));
        assert!(!is_major("example.com/m", "/v2"));
        assert!(!is_major("", ""));
        assert_eq!(path_major_prefix("/v2"), "v2");
        assert_eq!(path_major_prefix(""), "");
        assert!(match_path_major("v2.0.0", "/v2"));
        assert!(!match_path_major("v2.0.0", ""));
        assert!(match_path_major("v2.0.0+incompatible", ""));
    }
}
