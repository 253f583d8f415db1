//! One side of a diff: what a data directory or a bundle holds, each file's size and
//! SHA-256, measured from its bytes. A bundle is read once, front to back, each entry hashed
//! as it streams by; a directory's files are hashed one at a time. Memory grows with the
//! number of files, never with their size.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use godepot_module::{ModulePath, Version};
use godepot_store::{Kind, Store, TreeFile, classify, walk_tree};
use godepot_sumdb::SumdbPath;
use serde::Serialize;

use super::Operand;
use crate::hashing::hash_reader;
use crate::manifest::{bad_bundle, entries_after_manifest, open_bundle, unreadable};
use crate::sumdb::BUNDLE_PREFIX;
use crate::{BundleError, Progress};

/// A file's measure: what two sides must agree on to hold "the same".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSum {
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// A module version's files: extension → (path in the tree, measure).
pub(crate) type Files = BTreeMap<&'static str, (String, FileSum)>;

/// What one side holds.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// "store" or "bundle".
    pub(crate) kind: &'static str,
    /// Each module version's `.info`, `.mod` and `.zip`: by extension (which sorts them in
    /// the order the go command asks for them), with their place in the tree.
    pub(crate) versions: BTreeMap<(ModulePath, Version), Files>,
    /// Checksum-database answers that never change (lookups and tiles), by their place in a
    /// bundle: `sumdb/<name>/<rel>`. `latest` moves on whenever a server refreshes it, so two
    /// stores following the same database differ there without disagreeing on anything;
    /// `supported` markers are empty.
    pub(crate) sumdb: BTreeMap<String, FileSum>,
}

/// Where a compared file goes in an inventory.
enum Place {
    Version(ModulePath, Version, &'static str),
    Answer,
}

/// Whether a file is compared, and as what: an artifact other than a `.ziphash` (derived
/// from its zip), or an immutable database answer (`rel` under `sumdb/`). Lists are derived
/// from the files, and anything else is not module content.
fn place(rel: &str) -> Option<Place> {
    if let Some(answer) = rel.strip_prefix(BUNDLE_PREFIX) {
        return match SumdbPath::parse(answer) {
            Ok((_, SumdbPath::Lookup(..) | SumdbPath::Tile(_))) => Some(Place::Answer),
            _ => None,
        };
    }
    match classify(rel) {
        TreeFile::Artifact(key) if key.kind != Kind::ZipHash => Some(Place::Version(
            key.module,
            key.version,
            key.kind.extension(),
        )),
        _ => None,
    }
}

impl Inventory {
    fn add(&mut self, rel: &str, place: Place, sum: FileSum) {
        match place {
            Place::Version(module, version, ext) => {
                self.versions
                    .entry((module, version))
                    .or_default()
                    .insert(ext, (rel.to_owned(), sum));
            }
            Place::Answer => {
                self.sumdb.insert(rel.to_owned(), sum);
            }
        }
    }
}

/// Reads a side: a directory is a data directory (or any `GOPROXY=file://` tree), a file a
/// bundle, and a store (a bucket) is walked through the `Store` trait.
pub(crate) fn read(
    operand: Operand<'_>,
    progress: &dyn Progress,
) -> Result<Inventory, BundleError> {
    let path = match operand {
        Operand::Path(path) => path,
        Operand::Store(store) => return of_store(store, progress),
    };
    let meta = std::fs::metadata(path).map_err(BundleError::io(path))?;
    if meta.is_dir() {
        of_dir(path, progress)
    } else {
        of_bundle(path, progress)
    }
}

fn of_dir(root: &Path, progress: &dyn Progress) -> Result<Inventory, BundleError> {
    let mut files: Vec<(String, PathBuf, u64)> = walk_tree(root)?
        .into_iter()
        .map(|e| (root.join(&e.rel_path), e))
        .map(|(path, e)| (e.rel_path, path, e.size))
        .collect();
    files.extend(
        crate::sumdb::cache::walk(root)?
            .into_iter()
            .map(|f| (crate::sumdb::select::bundle_path(&f), f.path, 0)),
    );
    let mut inventory = Inventory {
        kind: "store",
        ..Inventory::default()
    };
    let files: Vec<_> = files
        .into_iter()
        .filter_map(|(rel, path, size)| Some((place(&rel)?, rel, path, size)))
        .collect();
    progress.phase("hashing", files.iter().map(|(_, _, _, size)| size).sum());
    for (place, rel, path, _) in files {
        progress.file(&rel);
        let mut file = File::open(&path).map_err(BundleError::io(&path))?;
        let (size, sha256) =
            hash_reader(&mut file, |n| progress.advance(n)).map_err(BundleError::io(&path))?;
        inventory.add(&rel, place, FileSum { size, sha256 });
    }
    progress.finish_phase();
    Ok(inventory)
}

/// A store's files and cached database answers, as [`of_dir`] finds them on disk: the same
/// relative paths, so a bucket and the same tree on disk compare equal.
fn of_store(store: &dyn Store, progress: &dyn Progress) -> Result<Inventory, BundleError> {
    let files: Vec<(Place, String, u64)> = store
        .walk()?
        .into_iter()
        .filter_map(|e| Some((place(&e.rel_path)?, e.rel_path, e.size)))
        .collect();
    let answers: Vec<(Place, String)> = store
        .list_meta(BUNDLE_PREFIX)?
        .into_iter()
        .filter_map(|name| Some((place(&name)?, name)))
        .collect();
    let mut inventory = Inventory {
        kind: "store",
        ..Inventory::default()
    };
    progress.phase("hashing", files.iter().map(|(_, _, size)| size).sum());
    let describe = |rel: &str| PathBuf::from(format!("{}/{rel}", store.describe()));
    for (place, rel, _) in files {
        progress.file(&rel);
        let Some(artifact) = store.open_file(&rel)? else {
            // Gone since the walk (a removal): not held any more.
            continue;
        };
        let (size, sha256) = hash_reader(&mut artifact.into_reader(), |n| progress.advance(n))
            .map_err(BundleError::io(describe(&rel)))?;
        inventory.add(&rel, place, FileSum { size, sha256 });
    }
    for (place, name) in answers {
        progress.file(&name);
        let Some(data) = store.get_meta(&name)? else {
            continue;
        };
        let (size, sha256) = hash_reader(&mut &data[..], |n| progress.advance(n))
            .map_err(BundleError::io(describe(&name)))?;
        inventory.add(&name, place, FileSum { size, sha256 });
    }
    progress.finish_phase();
    Ok(inventory)
}

/// Streams a bundle once. Every entry must be the one its manifest announces, with the bytes
/// it announces: a damaged bundle is an error, not a difference.
fn of_bundle(path: &Path, progress: &dyn Progress) -> Result<Inventory, BundleError> {
    let bad = |file: &str, reason: String| bad_bundle(path, file, reason);
    let mut archive = open_bundle(path)?;
    let (mut entries, manifest) = entries_after_manifest(path, &mut archive)?;
    let mut inventory = Inventory {
        kind: "bundle",
        ..Inventory::default()
    };
    progress.phase("hashing", manifest.files.iter().map(|f| f.size).sum());
    for record in &manifest.files {
        progress.file(&record.path);
        let mut entry = match entries.next() {
            None => return Err(bad(&record.path, "the bundle ends before this file".into())),
            Some(Err(e)) => return Err(bad(&record.path, unreadable(&e))),
            Some(Ok(entry)) => entry,
        };
        let name = entry.path().map_err(|e| bad(&record.path, e.to_string()))?;
        if name.to_string_lossy() != record.path {
            return Err(bad(
                &record.path,
                format!("the bundle holds {} here instead", name.display()),
            ));
        }
        let (size, sha256) = hash_reader(&mut entry, |n| progress.advance(n))
            .map_err(|e| bad(&record.path, unreadable(&e)))?;
        if size != record.size || sha256 != record.sha256 {
            return Err(bad(
                &record.path,
                "its bytes are not those its manifest states: the bundle is damaged".into(),
            ));
        }
        if let Some(place) = place(&record.path) {
            inventory.add(&record.path, place, FileSum { size, sha256 });
        }
    }
    progress.finish_phase();
    Ok(inventory)
}
