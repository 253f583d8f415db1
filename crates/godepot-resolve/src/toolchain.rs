//! Which Go toolchain a go.mod or go.work makes the go command switch to.
//!
//! With `GOTOOLCHAIN=auto` (the default), the go command runs the newer of its own release
//! and the one the main module (or workspace) asks for: the `toolchain` line, or the `go`
//! line when that is newer (cmd/go `toolchain.Select`). Prefetch cannot know the local
//! release of the machines inside, so it gathers the release asked for, whenever one is
//! named exactly: a `toolchain goX` line, and a `go` line that names a release (`go 1.22.6`,
//! `go 1.23rc1`), not a language version (`go 1.22`: the go command would then look for the
//! newest 1.22.x, which only an online proxy can say). Of the two, the newer, as the go
//! command picks. Go before 1.21 never switches.

use std::cmp::Ordering;

/// The release (`go1.22.6`) to gather for a file with these `go` and `toolchain` lines.
pub(crate) fn wanted(go: Option<&str>, toolchain: Option<&str>) -> Option<String> {
    let from_go = go.and_then(Release::parse).filter(|r| r.is_release());
    let from_toolchain = toolchain
        .and_then(|t| t.strip_prefix("go"))
        // `go1.22.6-custom` and the like name builds no proxy serves.
        .filter(|t| !t.contains('-'))
        .and_then(Release::parse);
    let newest = match (from_go, from_toolchain) {
        (Some(a), Some(b)) => Some(if b.cmp(&a) == Ordering::Greater { b } else { a }),
        (a, b) => a.or(b),
    }?;
    (newest >= Release::FIRST_SWITCHING).then(|| format!("go{}", newest.text))
}

/// A Go version as the go command orders them (`gover`): 1.21 < 1.21rc1 < 1.21.0 < 1.21.1.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Release {
    text: String,
    /// Major, minor, then a kind (0: language version, 1: beta, 2: rc, 3: release) and its
    /// number (the patch of a release, the N of betaN/rcN).
    key: (u64, u64, u8, u64),
}

impl Release {
    const FIRST_SWITCHING: Release = Release {
        text: String::new(),
        key: (1, 21, 0, 0),
    };

    fn parse(text: &str) -> Option<Release> {
        let (major, rest) = text.split_once('.')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (minor, tail) = rest.split_at(digits);
        let number = |s: &str| s.parse::<u64>().ok().filter(|_| !s.starts_with('+'));
        let (kind, n) = if tail.is_empty() {
            (0, 0)
        } else if let Some(patch) = tail.strip_prefix('.') {
            (3, number(patch)?)
        } else if let Some(n) = tail.strip_prefix("rc") {
            (2, number(n)?)
        } else if let Some(n) = tail.strip_prefix("beta") {
            (1, number(n)?)
        } else {
            return None;
        };
        Some(Release {
            text: text.to_owned(),
            key: (number(major)?, number(minor)?, kind, n),
        })
    }

    /// A release the go command can download, not a language version.
    fn is_release(&self) -> bool {
        self.key.2 != 0
    }
}

impl PartialOrd for Release {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Release {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn the_release_a_file_makes_the_go_command_switch_to() {
        for (go, toolchain, want) in [
            // A language version names no release; a release does.
            (Some("1.22"), None, None),
            (Some("1.22.6"), None, Some("go1.22.6")),
            (Some("1.23rc1"), None, Some("go1.23rc1")),
            (Some("1.21.0"), None, Some("go1.21.0")),
            // The toolchain line, unless the go line is newer.
            (Some("1.22"), Some("go1.22.6"), Some("go1.22.6")),
            (Some("1.22.0"), Some("go1.23.1"), Some("go1.23.1")),
            (Some("1.23.2"), Some("go1.23.1"), Some("go1.23.2")),
            (Some("1.23.0"), Some("go1.23rc2"), Some("go1.23.0")),
            (None, Some("go1.22.3"), Some("go1.22.3")),
            // Not a release one can download.
            (Some("1.22"), Some("default"), None),
            (Some("1.22"), Some("local"), None),
            (Some("1.22"), Some("go1.22.6-custom"), None),
            (Some("junk"), Some("gojunk"), None),
            // Before 1.21 the go command never switches.
            (Some("1.20.3"), None, None),
            (Some("1.16"), None, None),
            (None, None, None),
        ] {
            assert_eq!(
                wanted(go, toolchain).as_deref(),
                want,
                "go {go:?} toolchain {toolchain:?}"
            );
        }
    }
}
