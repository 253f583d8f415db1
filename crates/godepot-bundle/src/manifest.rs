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

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::BundleError;

/// Where the manifest sits in the bundle: under `.godepot/`, which no module path can
/// collide with and which GOPROXY clients never ask for.
pub const MANIFEST_PATH: &str = ".godepot/manifest.json";
pub const FORMAT: &str = "godepot-bundle/1";
/// The largest manifest read: about 700,000 files, several times the largest store seen.
/// It is parsed as it streams in, never held whole; a larger one is refused with a
/// message saying to split the export, before its records can cost memory without bound.
pub const MAX_MANIFEST: u64 = 128 << 20;

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
        manifest.checked()
    }

    /// Parses a manifest as it is read, reading at most `limit` bytes.
    pub fn from_reader(reader: impl Read, limit: u64) -> Result<Manifest, String> {
        let mut limited = Limited {
            inner: reader,
            left: limit,
            exceeded: false,
        };
        let manifest: Result<Manifest, _> =
            serde_json::from_reader(io::BufReader::new(&mut limited));
        match manifest {
            Err(_) if limited.exceeded => Err(too_large(limit)),
            Err(e) => Err(format!("invalid manifest: {e}")),
            Ok(manifest) => manifest.checked(),
        }
    }

    fn checked(self) -> Result<Manifest, String> {
        let manifest = self;
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
        return Manifest::from_reader(file, MAX_MANIFEST).map_err(bad);
    }
    let decoder = zstd::stream::read::Decoder::new(file).map_err(|e| bad(e.to_string()))?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    let entry = entries
        .next()
        .ok_or_else(|| bad("the bundle is empty".into()))?
        .map_err(|e| bad(format!("not a godepot bundle (zstd-compressed tar): {e}")))?;
    read_manifest_entry(entry, MAX_MANIFEST).map_err(bad)
}

/// A bundle's tar stream, decompressed as it is read.
pub(crate) type Archive = tar::Archive<ArchiveReader>;
pub(crate) type ArchiveReader = zstd::stream::read::Decoder<'static, io::BufReader<File>>;

/// What is wrong with a bundle, naming the file inside it (or `(bundle)`).
pub(crate) fn bad_bundle(bundle: &Path, file: &str, reason: String) -> BundleError {
    BundleError::BadBundle {
        bundle: bundle.to_path_buf(),
        file: file.to_owned(),
        reason,
    }
}

/// Opens a bundle to be read once, front to back (import, diff).
pub(crate) fn open_bundle(path: &Path) -> Result<Archive, BundleError> {
    let file = File::open(path).map_err(BundleError::io(path))?;
    let decoder = zstd::stream::read::Decoder::with_buffer(io::BufReader::new(file))
        .map_err(|e| bad_bundle(path, "(bundle)", e.to_string()))?;
    Ok(tar::Archive::new(decoder))
}

/// The entries of an opened bundle, past its first, which must be its manifest.
pub(crate) fn entries_after_manifest<'a>(
    path: &Path,
    archive: &'a mut Archive,
) -> Result<(tar::Entries<'a, ArchiveReader>, Manifest), BundleError> {
    let mut entries = archive
        .entries()
        .map_err(|e| bad_bundle(path, "(bundle)", e.to_string()))?;
    let manifest = match entries.next() {
        None => Err(bad_bundle(path, "(bundle)", "the bundle is empty".into())),
        Some(Err(e)) => Err(bad_bundle(path, MANIFEST_PATH, unreadable(&e))),
        Some(Ok(entry)) => {
            read_manifest_entry(entry, MAX_MANIFEST).map_err(|r| bad_bundle(path, MANIFEST_PATH, r))
        }
    }?;
    Ok((entries, manifest))
}

/// Why a bundle's stream could not be read.
pub(crate) fn unreadable(e: &io::Error) -> String {
    format!("cannot read it ({e}): the bundle is corrupt or truncated")
}

/// Reads and parses the first tar entry, which must be the manifest, of at most `limit`
/// bytes (refused from its tar header when larger).
pub(crate) fn read_manifest_entry<R: Read>(
    entry: tar::Entry<'_, R>,
    limit: u64,
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
    if entry.size() > limit {
        return Err(too_large(limit));
    }
    Manifest::from_reader(entry, limit)
}

fn too_large(limit: u64) -> String {
    format!(
        "the manifest is larger than {} MiB: more files than one bundle may carry (export in parts, with --since-bundle)",
        limit >> 20
    )
}

/// A reader that stops (with an error) after `left` bytes.
struct Limited<R> {
    inner: R,
    left: u64,
    exceeded: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // At the limit: fine if the source ends here too.
            if self.inner.read(&mut [0u8; 1])? == 0 {
                return Ok(0);
            }
            self.exceeded = true;
            return Err(io::Error::other("size limit reached"));
        }
        let most = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..most])?;
        self.left -= n as u64;
        Ok(n)
    }
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

    #[test]
    fn manifests_are_read_through_a_limit() {
        let manifest = Manifest {
            format: FORMAT.into(),
            selection: SelectionRecord::default(),
            files: (0..100)
                .map(|i| record(&format!("m/@v/v1.0.{i:03}.mod")))
                .collect(),
            prior: vec![],
        };
        let json = manifest.to_json();
        assert_eq!(
            Manifest::from_reader(&json[..], json.len() as u64).unwrap(),
            manifest
        );
        let err = Manifest::from_reader(&json[..], 1000).unwrap_err();
        assert!(
            err.contains("larger than") && err.contains("--since-bundle"),
            "{err}"
        );
    }
}
