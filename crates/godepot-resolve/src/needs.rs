//! What resolution produces: the artifacts needed, and what could not be resolved.

use std::collections::BTreeSet;
use std::fmt;

use godepot_module::{ModulePath, Version};

/// One module version.
pub type ModVersion = (ModulePath, Version);

/// The artifacts a set of inputs needs from a module proxy.
///
/// Every version in `zips` is also in `mods`: the go command never uses a zip without the
/// go.mod beside it (it reads the `go` version there). A version in `zips` needs its `.info`
/// too: `go mod download` asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Versions whose `.mod` is needed (the module graph).
    pub mods: BTreeSet<ModVersion>,
    /// Versions whose `.zip` and `.info` are needed (what minimal version selection picks).
    pub zips: BTreeSet<ModVersion>,
}

impl Needs {
    /// Needs the `.mod` of `version`.
    pub fn add_mod(&mut self, version: ModVersion) {
        self.mods.insert(version);
    }

    /// Needs the `.zip`, `.info` and `.mod` of `version`.
    pub fn add_zip(&mut self, version: ModVersion) {
        self.mods.insert(version.clone());
        self.zips.insert(version);
    }

    pub fn extend(&mut self, other: Needs) {
        self.mods.extend(other.mods);
        self.zips.extend(other.zips);
    }

    pub fn is_empty(&self) -> bool {
        self.mods.is_empty()
    }
}

/// Something resolution could not do: `subject` names the input or module version, and
/// `message` says what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub subject: String,
    pub message: String,
}

impl Problem {
    /// A problem with `subject`. Messages from sources often start by naming their subject
    /// already; that prefix is dropped so it is not said twice.
    pub fn new(subject: impl Into<String>, message: impl Into<String>) -> Self {
        let subject = subject.into();
        let message = message.into();
        let message = without_subject(&subject, message);
        Problem { subject, message }
    }
}

/// `message` without a leading `subject: `.
pub(crate) fn without_subject(subject: &str, message: String) -> String {
    match message.strip_prefix(subject) {
        Some(rest) if rest.starts_with(": ") => rest[2..].to_owned(),
        _ => message,
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

/// The result of [`crate::resolve`]: everything that could be resolved, and the problems.
/// Resolution does not stop at the first problem, so that one bad input does not hide what
/// the others need; callers decide whether any problem is fatal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    pub needs: Needs,
    /// Sorted and without duplicates.
    pub problems: Vec<Problem>,
    /// With [`crate::ResolveOptions::full_graph`]: go.mod files that could not be read
    /// outside the graph the go command loads. Nothing any go command does needs them.
    /// Sorted and without duplicates.
    pub warnings: Vec<Problem>,
    /// The Go releases (`go1.22.6`) the go.mod and go.work inputs make the go command switch
    /// to with `GOTOOLCHAIN=auto` (their `toolchain` line, or a `go` line naming a release).
    pub toolchains: BTreeSet<String>,
    /// The checksum files that go with the inputs, where they exist: the `go.sum` beside each
    /// main module's go.mod (`x.sum` for `x.mod`), the `go.work.sum` beside a go.work, and
    /// every go.sum input. What the go command will check the downloaded files against.
    pub go_sums: BTreeSet<std::path::PathBuf>,
}
