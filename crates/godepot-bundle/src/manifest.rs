//! The bundle manifest: the first entry of every bundle, describing every file after it in
//! the order they follow, so that import can check each file as it streams by.
//!
//! ```json
//! {
//!   "format": "godepot-bundle/1",
//!   "selection": { "kind": "all" },
//!   "files": [
//!     { "path": "example.com/a/@v/list", "size": 7, "sha256": "…" },
//!     { "path": "example.com/a/@v/v1.0.0.mod", "size": 30, "sha256": "…", "h1": "h1:…" }
//!   ],
//!   "prior": [ "example.com/a/@v/v0.9.0.zip" ]
//! }
//! ```
//!
//! `prior` lists the artifacts earlier bundles of an incremental chain already carried, so
//! that `--since-bundle` of this bundle excludes them too.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::BundleError;

/// Where the manifest sits in the bundle: under `.godepot/`, which no module path can
/// collide with and which GOPROXY clients never ask for.
pub const MANIFEST_PATH: &str = ".godepot/manifest.json";
pub const FORMAT: &str = "godepot-bundle/1";
/// A manifest larger than this is not one we wrote.
pub const MAX_MANIFEST: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub selection: SelectionRecord,
    pub files: Vec<FileRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior: Vec<String>,
}

/// What was asked for, for humans reading the manifest; derived from the selection only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SelectionRecord {
    /// "all", "versions" or "artifacts".
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Relative, `/`-separated, as in the tree.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// For zips and go.mod files: the hash go.sum records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h1: Option<String>,
}

impl Manifest {
    /// Every artifact path the receiver holds once this bundle (and its chain) is imported.
    pub fn delivered(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .map(|f| f.path.as_str())
            .chain(self.prior.iter().map(String::as_str))
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self)
            .unwrap_or_else(|e| unreachable!("a manifest always serializes: {e}"));
        out.push(b'\n');
        out
    }

    pub fn from_json(data: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(data).map_err(|e| format!("invalid manifest: {e}"))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "unsupported bundle format {:?} (this godepot reads {FORMAT:?})",
                manifest.format
            ));
        }
        let sorted = manifest
            .files
            .windows(2)
            .all(|w| w[0].path.as_bytes() < w[1].path.as_bytes());
        if !sorted {
            return Err("invalid manifest: file paths are not sorted and unique".into());
        }
        Ok(manifest)
    }
}

/// Reads the manifest of a bundle file, or a manifest saved on its own (`.json`): what
/// `--since-bundle` accepts.
pub fn read_manifest(path: &Path) -> Result<Manifest, BundleError> {
    let bad = |reason: String| BundleError::BadBundle {
        bundle: path.to_path_buf(),
        file: MANIFEST_PATH.into(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(BundleError::io(path))?;
    let mut head = [0u8; 1];
    let n = file.read(&mut head).map_err(BundleError::io(path))?;
    let file = std::fs::File::open(path).map_err(BundleError::io(path))?;
    if n == 1 && head[0] == b'{' {
        let mut data = Vec::new();
        file.take(MAX_MANIFEST)
            .read_to_end(&mut data)
            .map_err(BundleError::io(path))?;
        return Manifest::from_json(&data).map_err(bad);
    }
    let decoder = zstd::stream::read::Decoder::new(file).map_err(|e| bad(e.to_string()))?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    let entry = entries
        .next()
        .ok_or_else(|| bad("the bundle is empty".into()))?
        .map_err(|e| bad(format!("not a godepot bundle (zstd-compressed tar): {e}")))?;
    read_manifest_entry(entry).map_err(bad)
}

/// Reads and parses the first tar entry, which must be the manifest.
pub(crate) fn read_manifest_entry<R: Read>(
    mut entry: tar::Entry<'_, R>,
) -> Result<Manifest, String> {
    let name = entry
        .path()
        .map_err(|e| e.to_string())?
        .to_string_lossy()
        .into_owned();
    if name != MANIFEST_PATH {
        return Err(format!(
            "the first entry is {name:?}, not the manifest: not a godepot bundle"
        ));
    }
    let mut data = Vec::new();
    (&mut entry)
        .take(MAX_MANIFEST)
        .read_to_end(&mut data)
        .map_err(|e| format!("reading the manifest: {e}"))?;
    Manifest::from_json(&data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> FileRecord {
        FileRecord {
            path: path.into(),
            size: 1,
            sha256: "00".into(),
            h1: None,
        }
    }

    #[test]
    fn round_trips_and_rejects_bad_manifests() {
        let good = Manifest {
            format: FORMAT.into(),
            selection: SelectionRecord {
                kind: "all".into(),
                ..Default::default()
            },
            files: vec![record("a/@v/list"), record("a/@v/v1.0.0.mod")],
            prior: vec![],
        };
        assert_eq!(Manifest::from_json(&good.to_json()).unwrap(), good);

        let cases: [(Manifest, &str); 3] = [
            (
                Manifest {
                    format: "other/2".into(),
                    ..good.clone()
                },
                "unsupported bundle format",
            ),
            (
                Manifest {
                    files: vec![record("b"), record("a")],
                    ..good.clone()
                },
                "not sorted",
            ),
            (
                Manifest {
                    files: vec![record("a"), record("a")],
                    ..good.clone()
                },
                "not sorted",
            ),
        ];
        for (manifest, want) in cases {
            let err = Manifest::from_json(&manifest.to_json()).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        assert!(
            Manifest::from_json(b"{")
                .unwrap_err()
                .contains("invalid manifest")
        );
    }
}
