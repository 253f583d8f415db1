//! The small slice of Go module semantics the fixtures need: `!` case encoding and semantic
//! version ordering.
//!
//! Written independently of `godepot-module` on purpose: the testkit is the reference side of
//! every comparison, so it must not share code (or bugs) with the code under test.

use std::cmp::Ordering;

/// Case-encodes a module path or version the way the GOPROXY protocol requires: every
/// upper-case ASCII letter becomes `!` followed by its lower-case form.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape`]; `None` for a raw upper-case letter, `!` not followed by `a`–`z`, or a
/// trailing `!` (the cases a proxy must reject).
pub fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '!' => match chars.next() {
                Some(n) if n.is_ascii_lowercase() => out.push(n.to_ascii_uppercase()),
                _ => return None,
            },
            c if c.is_ascii_uppercase() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// A parsed `vMAJOR.MINOR.PATCH[-pre][+build]` version; `None` from [`parse`] when not canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    nums: [u64; 3],
    pre: Vec<String>,
}

impl Version {
    /// True for a pre-release (`v1.0.0-rc.1`); pseudo-versions are pre-releases too.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

/// Parses a canonical semantic version with the leading `v` Go uses.
pub fn parse(v: &str) -> Option<Version> {
    let rest = v.strip_prefix('v')?;
    let rest = rest.split_once('+').map_or(rest, |(a, _)| a);
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let mut nums = [0u64; 3];
    let mut parts = core.split('.');
    for n in &mut nums {
        let p = parts.next()?;
        if p.is_empty()
            || !p.bytes().all(|b| b.is_ascii_digit())
            || (p.len() > 1 && p.starts_with('0'))
        {
            return None;
        }
        *n = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let pre = match pre {
        None => Vec::new(),
        Some(p) if p.split('.').any(str::is_empty) => return None,
        Some(p) => p.split('.').map(str::to_owned).collect(),
    };
    Some(Version { nums, pre })
}

/// Pseudo-versions (`...-yyyymmddhhmmss-abcdefabcdef`) never appear in `list`.
pub fn is_pseudo(v: &str) -> bool {
    let base = v.split_once('+').map_or(v, |(a, _)| a);
    let Some((head, rev)) = base.rsplit_once('-') else {
        return false;
    };
    let Some(stamp) = head.rsplit(['-', '.']).next() else {
        return false;
    };
    rev.len() == 12
        && rev.bytes().all(|b| b.is_ascii_hexdigit())
        && stamp.len() == 14
        && stamp.bytes().all(|b| b.is_ascii_digit())
}

/// Semantic-version ordering (build metadata such as `+incompatible` ignored); unparsable
/// versions sort before everything else, by string.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => cmp_parsed(&x, &y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn cmp_parsed(a: &Version, b: &Version) -> Ordering {
    a.nums
        .cmp(&b.nums)
        .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (x, y) in a.pre.iter().zip(&b.pre) {
                    let o = cmp_ident(x, y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.pre.len().cmp(&b.pre.len())
            }
        })
}

fn cmp_ident(a: &str, b: &str) -> Ordering {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (num(a), num(b)) {
        (true, true) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// What `@latest` answers from a `list`: the highest release, else the highest pre-release,
/// ignoring pseudo-versions.
pub fn latest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = versions
        .into_iter()
        .filter(|v| parse(v).is_some() && !is_pseudo(v))
        .collect();
    let best = |it: &mut dyn Iterator<Item = &'a str>| it.max_by(|a, b| compare(a, b));
    best(
        &mut candidates
            .iter()
            .copied()
            .filter(|v| parse(v).is_some_and(|p| !p.is_prerelease())),
    )
    .or_else(|| best(&mut candidates.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips() {
        assert_eq!(
            escape("example.com/Upper/CamelCase"),
            "example.com/!upper/!camel!case"
        );
        assert_eq!(escape("v1.1.0-Beta"), "v1.1.0-!beta");
        assert_eq!(
            unescape("example.com/!upper/!camel!case").unwrap(),
            "example.com/Upper/CamelCase"
        );
        for bad in ["!", "a!", "!!", "!A", "Abc", "a!1"] {
            assert_eq!(unescape(bad), None, "{bad}");
        }
    }

    #[test]
    fn ordering_and_latest() {
        let mut vs = vec![
            "v1.10.0",
            "v1.2.0",
            "v1.2.0-rc.1",
            "v1.2.0-rc.10",
            "v1.2.0-rc.2",
            "v2.0.0+incompatible",
            "v0.1.0",
        ];
        vs.sort_by(|a, b| compare(a, b));
        assert_eq!(
            vs,
            [
                "v0.1.0",
                "v1.2.0-rc.1",
                "v1.2.0-rc.2",
                "v1.2.0-rc.10",
                "v1.2.0",
                "v1.10.0",
                "v2.0.0+incompatible"
            ]
        );
        assert_eq!(
            latest(["v0.1.0-alpha.1", "v0.1.0-rc.1"]),
            Some("v0.1.0-rc.1")
        );
        assert_eq!(latest(["v1.0.0", "v1.1.0-Beta"]), Some("v1.0.0"));
        assert_eq!(latest(["v1.0.1-0.20240102030405-abcdefabcdef"]), None);
        assert!(is_pseudo("v1.0.1-0.20240102030405-abcdefabcdef"));
        assert!(is_pseudo("v0.0.0-20240102030405-abcdefabcdef"));
        assert!(!is_pseudo("v1.0.0-rc.1"));
        for bad in ["v1", "1.0.0", "v1.0.0.0", "v1.0", "v01.0.0", "v1.0.0-"] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
