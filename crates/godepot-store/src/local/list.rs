//! A module's `@v/list`: which held versions a client may be offered.
//!
//! A version is listed when a client can actually download it: it is held as `.info`,
//! `.mod` and `.zip` (and it is not a pseudo-version, which no GOPROXY lists). A version
//! held only as `.mod` (gathered for module-graph pruning) is served when asked for by
//! name but never offered, because `go get m@latest` would pick it and then ask for the
//! `.info` and the zip that are not there.
//!
//! The file is derived from the module's `@v/` directory, never kept as a log of puts, so
//! it can always be brought back in step with the files: after any publish of the module,
//! by `import`, and by `verify --repair`. A crash between publishing an artifact and
//! rewriting the list leaves it stale until then, never wrong forever. Reading one
//! module's directory is O(versions of that module); no store walk is ever involved.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::Path;

use godepot_module::{ModulePath, Version};

use super::walk::classify_in;
use crate::{Kind, StoreError, TreeFile};

/// The kinds of file one version is held as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldKinds {
    pub info: bool,
    pub go_mod: bool,
    pub zip: bool,
}

impl HeldKinds {
    /// Whether a client can download this version: everything `go get` asks for is held.
    pub fn is_complete(&self) -> bool {
        self.info && self.go_mod && self.zip
    }
}

/// How a module's `@v/list` file differs from what its files say it should list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListDrift {
    /// Versions held completely but not listed (a crash before the list was rewritten).
    pub unlisted: Vec<Version>,
    /// Versions listed but not held completely (a graph-only `.mod`, or an older godepot
    /// that listed every version it held a file of).
    pub not_downloadable: Vec<Version>,
}

impl ListDrift {
    pub fn is_empty(&self) -> bool {
        self.unlisted.is_empty() && self.not_downloadable.is_empty()
    }
}

/// What the module's `@v/` directory holds, version by version. A missing directory holds
/// nothing; files that are not artifacts are ignored.
pub(crate) fn held_kinds(
    root: &Path,
    module: &ModulePath,
) -> Result<HashMap<Version, HeldKinds>, StoreError> {
    let escaped = module.escaped();
    let dir = root.join(&escaped).join("@v");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(StoreError::io(&dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io(&dir))?;
        if entry.file_type().map_err(StoreError::io(&dir))?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(held_from_names(module, names))
}

/// What a module's `@v/` directory holds, version by version, from the names of the files
/// in it (a directory read, or an object listing); names that are not artifacts are ignored.
/// Hashed, not ordered: a module of thousands of versions is read on every publish.
pub(crate) fn held_from_names(
    module: &ModulePath,
    names: impl IntoIterator<Item = String>,
) -> HashMap<Version, HeldKinds> {
    let module = Ok(module.clone());
    let mut held: HashMap<Version, HeldKinds> = HashMap::new();
    for name in names {
        let TreeFile::Artifact(key) = classify_in(&module, &name) else {
            continue;
        };
        let kinds = held.entry(key.version).or_default();
        match key.kind {
            Kind::Info => kinds.info = true,
            Kind::Mod => kinds.go_mod = true,
            Kind::Zip => kinds.zip = true,
            Kind::ZipHash => {}
        }
    }
    held
}

/// The versions the list must hold, in semver order.
pub(crate) fn listable(held: &HashMap<Version, HeldKinds>) -> Vec<Version> {
    let mut versions: Vec<Version> = held
        .iter()
        .filter(|(v, k)| k.is_complete() && !v.is_pseudo())
        .map(|(v, _)| v.clone())
        .collect();
    versions.sort();
    versions
}

/// The versions a list file names, in its order.
pub(crate) fn parse_list(data: &[u8]) -> Vec<Version> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|v| Version::parse(v).ok())
        .collect()
}

/// The list file's new content, keeping the order of the versions it already names (the
/// go command sorts lists itself, but rewriting less keeps diffs of a tree readable),
/// and how the old one drifted from the files.
pub(crate) fn reconcile(current: &[Version], want: &[Version]) -> (String, ListDrift) {
    let wanted: HashSet<&Version> = want.iter().collect();
    let listed: HashSet<&Version> = current.iter().collect();
    let mut drift = ListDrift::default();
    let mut text = String::new();
    let mut seen = HashSet::new();
    for v in current {
        if !seen.insert(v) {
            continue;
        }
        if wanted.contains(v) {
            text.push_str(v.as_str());
            text.push('\n');
        } else {
            drift.not_downloadable.push(v.clone());
        }
    }
    for v in want {
        if !listed.contains(v) {
            drift.unlisted.push(v.clone());
            text.push_str(v.as_str());
            text.push('\n');
        }
    }
    (text, drift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        list.iter().map(|v| Version::parse(v).unwrap()).collect()
    }

    #[test]
    fn reconcile_keeps_order_drops_and_appends() {
        let (text, drift) = reconcile(
            &versions(&["v1.1.0", "v1.0.0", "v1.2.0", "v1.0.0"]),
            &versions(&["v1.0.0", "v1.1.0", "v1.3.0"]),
        );
        assert_eq!(text, "v1.1.0\nv1.0.0\nv1.3.0\n");
        assert_eq!(drift.unlisted, versions(&["v1.3.0"]));
        assert_eq!(drift.not_downloadable, versions(&["v1.2.0"]));
    }
}
