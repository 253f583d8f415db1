//! Which versions an entry's ranges cover, decided exactly as govulncheck does
//! (`golang.org/x/vuln/internal/semver`: `Affects`, `ContainsSemver`, `NonSupersededFix`),
//! over the go command's semver order ([`godepot_module::semver`]).
//!
//! OSV versions carry no `v` prefix (`1.2.3`); module versions do (`v1.2.3`), the standard
//! library's are Go tags (`go1.21.3`). All three are compared after the prefix is made `v`.
//! A range is a union of left-closed, right-open intervals: an `introduced` event opens one
//! (`"0"`: from the beginning), the next `fixed` event closes it.

use std::cmp::Ordering;

use godepot_module::semver;

use crate::model::{Event, Range, SEMVER};

/// `v` plus the version without its `v` or `go` prefix (govulncheck's
/// `canonicalizeSemverPrefix`): `1.2.3`, `v1.2.3` and `go1.2.3` all become `v1.2.3`.
pub fn with_v(version: &str) -> String {
    let bare = version.strip_prefix('v').unwrap_or(version);
    let bare = bare.strip_prefix("go").unwrap_or(bare);
    format!("v{bare}")
}

/// Orders two OSV or module versions (invalid ones below every valid one).
pub fn compare(a: &str, b: &str) -> Ordering {
    semver::compare(&with_v(a), &with_v(b))
}

fn less(a: &str, b: &str) -> bool {
    compare(a, b) == Ordering::Less
}

/// Whether `version` is in any of `ranges` (govulncheck's `Affects`): no ranges at all, or
/// none of type `SEMVER`, means every version.
pub fn affects(ranges: &[Range], version: &str) -> bool {
    let mut semver_present = false;
    for r in ranges.iter().filter(|r| r.kind == SEMVER) {
        semver_present = true;
        if contains(r, version) {
            return true;
        }
    }
    !semver_present
}

/// The events of a range in govulncheck's order: `introduced: "0"` first, then by the
/// event's version (its `fixed`, else its `introduced`), stably.
fn sorted(events: &[Event]) -> Vec<&Event> {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by(|a, b| match (is_zero(a), is_zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => compare(event_version(a), event_version(b)),
    });
    sorted
}

fn is_zero(e: &Event) -> bool {
    e.introduced.as_deref() == Some("0")
}

fn event_version(e: &Event) -> &str {
    match (&e.fixed, &e.introduced) {
        (Some(f), _) if !f.is_empty() => f,
        (_, Some(i)) => i,
        _ => "",
    }
}

/// Whether `version` is in the range (govulncheck's `ContainsSemver`). A range that is not
/// `SEMVER` contains nothing; one without events contains everything.
pub fn contains(range: &Range, version: &str) -> bool {
    state(range, version).0
}

/// Whether the range contains `version`, and if so the `fixed` event that closes the
/// interval it is in (None when nothing fixes it yet).
fn state<'a>(range: &'a Range, version: &str) -> (bool, Option<&'a str>) {
    if range.kind != SEMVER {
        return (false, None);
    }
    if range.events.is_empty() {
        return (true, None);
    }
    let mut affected = false;
    let mut closing = None;
    for e in sorted(&range.events) {
        let introduced = e.introduced.as_deref().filter(|i| !i.is_empty());
        let fixed = e.fixed.as_deref().filter(|f| !f.is_empty());
        if !affected && introduced.is_some() {
            let i = introduced.unwrap_or_default();
            affected = i == "0" || !less(version, i);
        } else if affected && fixed.is_some() {
            let f = fixed.unwrap_or_default();
            affected = less(version, f);
            if affected && closing.is_none() {
                closing = Some(f);
            }
        }
    }
    (affected, if affected { closing } else { None })
}

/// The fixed version (OSV spelling) that ends the interval of `ranges` holding `version`:
/// the version to move to. None when `version` is not covered, or nothing fixes it yet.
pub fn fixed_for(ranges: &[Range], version: &str) -> Option<String> {
    ranges
        .iter()
        .filter(|r| r.kind == SEMVER)
        .map(|r| state(r, version))
        .find(|(affected, _)| *affected)
        .and_then(|(_, f)| f.map(str::to_owned))
}

/// The latest fix that no later `introduced` supersedes, over every `SEMVER` range
/// (govulncheck's `NonSupersededFix`): what `index/modules.json` records as `fixed`.
/// None when some version after every fix is affected.
pub fn non_superseded_fix(ranges: &[Range]) -> Option<String> {
    let mut latest = String::new();
    for r in ranges.iter().filter(|r| r.kind == SEMVER) {
        for f in r.events.iter().filter_map(|e| e.fixed.as_deref()) {
            if !f.is_empty() && less(&latest, f) {
                latest = f.to_owned();
            }
        }
        let reintroduced = r
            .events
            .iter()
            .filter_map(|e| e.introduced.as_deref())
            .any(|i| !i.is_empty() && i != "0" && less(&latest, i));
        if reintroduced {
            latest.clear();
        }
    }
    (!latest.is_empty()).then_some(latest)
}

/// A Go release tag as a semantic version (govulncheck's `GoTagToSemver`):
/// `go1.21.3` → `v1.21.3`, `go1.21` → `v1.21.0`, `go1.21rc2` → `v1.21.0-rc.2`,
/// `go1` → `v1.0.0`. None for what is not a release tag.
pub fn go_tag_to_semver(tag: &str) -> Option<String> {
    let tag = tag.split_whitespace().next()?;
    if tag == "go1" {
        return Some("v1.0.0".into());
    }
    let rest = tag.strip_prefix("go")?;
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    // major.minor
    let maj = digits(rest);
    let after_maj = rest.get(maj..)?.strip_prefix('.')?;
    let min = digits(after_maj);
    if maj == 0 || min == 0 {
        return None;
    }
    let major_minor = &rest[..maj + 1 + min];
    if major_minor == "1.0" {
        return None;
    }
    let mut rest = &after_maj[min..];
    let mut patch = ".0";
    if let Some(p) = rest.strip_prefix('.') {
        let n = digits(p);
        if n == 0 {
            return None;
        }
        patch = &rest[..n + 1];
        rest = &p[n..];
    }
    let mut version = format!("v{major_minor}{patch}");
    if !rest.is_empty() {
        let (kind, sep) = ["beta", "rc", "-pre"]
            .iter()
            .find_map(|k| rest.strip_prefix(k).map(|n| (*k, n)))?;
        if sep.is_empty() || digits(sep) != sep.len() {
            return None;
        }
        if !kind.starts_with('-') {
            version.push('-');
        }
        version.push_str(kind);
        version.push('.');
        version.push_str(sep);
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(events: &[(&str, &str)]) -> Range {
        Range {
            kind: SEMVER.into(),
            events: events
                .iter()
                .map(|(k, v)| Event {
                    introduced: (*k == "i").then(|| v.to_string()),
                    fixed: (*k == "f").then(|| v.to_string()),
                    ..Event::default()
                })
                .collect(),
            extra: Default::default(),
        }
    }

    #[test]
    fn table() {
        let two = range(&[("i", "0"), ("f", "1.2.0"), ("i", "1.4.0"), ("f", "1.4.3")]);
        let cases = [
            ("v0.1.0", true, Some("1.2.0")),
            ("v1.1.9", true, Some("1.2.0")),
            ("v1.2.0-rc.1", true, Some("1.2.0")),
            ("v1.2.0", false, None),
            ("v1.3.0", false, None),
            ("v1.4.0-pre", false, None),
            ("v1.4.0", true, Some("1.4.3")),
            ("v1.4.2", true, Some("1.4.3")),
            ("v1.4.3", false, None),
            ("v2.0.0", false, None),
            ("v1.4.1+incompatible", true, Some("1.4.3")),
        ];
        for (v, want, fix) in cases {
            assert_eq!(affects(std::slice::from_ref(&two), v), want, "{v}");
            assert_eq!(
                fixed_for(std::slice::from_ref(&two), v).as_deref(),
                fix,
                "{v}"
            );
        }
        // Events out of order are sorted first.
        let shuffled = range(&[("f", "1.4.3"), ("i", "1.4.0"), ("f", "1.2.0"), ("i", "0")]);
        assert!(affects(std::slice::from_ref(&shuffled), "v1.4.1"));
        assert!(!affects(&[shuffled], "v1.3.0"));
        // Open-ended.
        let open = range(&[("i", "1.5.0")]);
        assert!(affects(std::slice::from_ref(&open), "v9.0.0"));
        assert_eq!(fixed_for(std::slice::from_ref(&open), "v9.0.0"), None);
        assert!(!affects(&[open], "v1.4.9"));
        // No ranges, or none SEMVER: everything.
        assert!(affects(&[], "v1.0.0"));
        let eco = Range {
            kind: "ECOSYSTEM".into(),
            ..range(&[("i", "0"), ("f", "1.0.0")])
        };
        assert!(affects(&[eco], "v5.0.0"));
    }

    #[test]
    fn fixes() {
        assert_eq!(
            non_superseded_fix(&[range(&[
                ("i", "0"),
                ("f", "1.2.0"),
                ("i", "1.4.0"),
                ("f", "1.4.3")
            ])]),
            Some("1.4.3".into())
        );
        assert_eq!(
            non_superseded_fix(&[range(&[("i", "0"), ("f", "1.2.0"), ("i", "1.4.0")])]),
            None
        );
        assert_eq!(non_superseded_fix(&[range(&[("i", "0")])]), None);
    }

    #[test]
    fn go_tags() {
        for (tag, want) in [
            ("go1", Some("v1.0.0")),
            ("go1.0", None),
            ("go1.21", Some("v1.21.0")),
            ("go1.21.3", Some("v1.21.3")),
            ("go1.21rc2", Some("v1.21.0-rc.2")),
            ("go1.19beta1", Some("v1.19.0-beta.1")),
            ("go1.9.2rc2", Some("v1.9.2-rc.2")),
            ("go1.21x", None),
            ("1.21", None),
        ] {
            assert_eq!(go_tag_to_semver(tag).as_deref(), want, "{tag}");
        }
    }
}
