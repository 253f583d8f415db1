//! Writing a bundle: a zstd-compressed tar whose entries are the manifest, then a
//! `GOPROXY=file://` tree (`@v/list` files and artifacts) in path order.
//!
//! Two passes keep memory constant whatever the bundle's size: the first hashes every file
//! (the manifest must come first, so it must be complete before anything is written), the
//! second streams the files into the archive and checks they still hash the same.
//! Everything that could vary between runs is fixed (entry order, times, owners, modes,
//! compression level), so the same store and selection give the same bytes.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, Store, TreeEntry, walk_tree};
use serde::Serialize;

use crate::check::{Facts, Opened, check_ziphash, inspect};
use crate::hashing::{HashingReader, hash_reader};
use crate::manifest::{FORMAT, FileRecord, MANIFEST_PATH, Manifest, SelectionRecord};
use crate::select::{Selection, plan};
use crate::{BundleError, Progress};

/// zstd level: fixed, because the level changes the output bytes. 3 is zstd's default, a
/// good speed/size balance; module zips are already deflated, so more effort buys little.
const ZSTD_LEVEL: i32 = 3;
/// Every tar entry's modification time: 2020-01-01T00:00:00Z (fixed for determinism; not 0,
/// which some tar programs warn about).
const ENTRY_MTIME: u64 = 1_577_836_800;

#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub selection: Selection,
    /// Only artifacts stored at or after this time.
    pub since: Option<SystemTime>,
    /// Only artifacts these earlier bundles (and their chains) did not carry.
    pub since_bundles: Vec<Manifest>,
    /// Recorded in the manifest: what the user asked for, as typed.
    pub record: SelectionRecord,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub bundle: PathBuf,
    pub modules: usize,
    pub versions: usize,
    /// Artifacts (not counting `@v/list` files).
    pub artifacts: usize,
    /// Their total size, uncompressed.
    pub artifact_bytes: u64,
    pub bundle_bytes: u64,
    /// Files of the store that are not artifacts and were left out.
    pub skipped_non_artifacts: usize,
    /// Checksum-database answers carried (lookups, tiles, `latest`), under `sumdb/`.
    pub sumdb_files: usize,
    /// The vulnerability database carried (under `vulndb/`): its `index/db.json` time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulndb_modified: Option<String>,
    /// Its files.
    pub vulndb_files: usize,
}

/// A file to write, in manifest order: an artifact on disk, a cached checksum-database
/// answer, or content made here (lists, `supported` markers).
enum Source<'a> {
    Artifact(&'a TreeEntry),
    /// An artifact's bytes as pass one read and hashed them (small ones, within
    /// [`KEEP_BYTES`]), written without reading the file again.
    Kept(Vec<u8>),
    Answer(PathBuf),
    Made(Vec<u8>),
}

/// Where an export reads from: a `GOPROXY=file://` directory, or any store.
#[derive(Clone, Copy)]
enum Tree<'a> {
    Dir(&'a Path),
    Store(&'a dyn Store),
}

impl Tree<'_> {
    fn entries(&self) -> Result<Vec<TreeEntry>, BundleError> {
        Ok(match self {
            Tree::Dir(root) => walk_tree(root)?,
            Tree::Store(store) => store.walk()?,
        })
    }

    /// The vulnerability database the tree holds, if any.
    fn vulndb(&self) -> Result<Option<godepot_vulndb::DbCopy>, BundleError> {
        match self {
            Tree::Dir(root) => crate::vulndb::held_at(root),
            Tree::Store(store) => crate::vulndb::held(*store),
        }
    }

    /// What an error about `rel` names: the file's path, or the store and the path.
    fn name(&self, rel: &str) -> PathBuf {
        match self {
            Tree::Dir(root) => root.join(rel),
            Tree::Store(store) => PathBuf::from(format!("{}/{rel}", store.describe())),
        }
    }

    /// A file of the tree opened for checking (see [`Opened`]).
    fn file(&self, rel: &str) -> io::Result<Opened> {
        match self {
            Tree::Dir(root) => Opened::path(&root.join(rel)),
            Tree::Store(store) => match store.open_file(rel).map_err(io::Error::other)? {
                Some(held) => Opened::artifact(held, store.scratch_dir()),
                None => Err(io::Error::new(io::ErrorKind::NotFound, "gone")),
            },
        }
    }

    /// A file of the tree as a stream, from the start.
    fn reader(&self, rel: &str) -> io::Result<Box<dyn io::Read + Send>> {
        match self {
            Tree::Dir(root) => Ok(Box::new(File::open(root.join(rel))?)),
            Tree::Store(store) => match store.open_file(rel).map_err(io::Error::other)? {
                Some(held) => Ok(held.into_reader()),
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{rel}: gone"),
                )),
            },
        }
    }

    /// The checksum-database answers held: files under a data directory's `.godepot/`.
    /// A store without a local root holding any is refused rather than exported without
    /// them (the bundle would not prove what it carries).
    fn sumdb_answers(&self) -> Result<Vec<crate::sumdb::cache::CachedFile>, BundleError> {
        let root = match self {
            Tree::Dir(root) => *root,
            Tree::Store(store) => match store.local_root() {
                Some(root) => root,
                None => {
                    if store.list_meta("sumdb")?.is_empty() {
                        return Ok(Vec::new());
                    }
                    return Err(BundleError::Invalid(format!(
                        "{} holds checksum-database answers, which an export from object storage cannot carry yet",
                        store.describe()
                    )));
                }
            },
        };
        crate::sumdb::cache::walk(root)
    }
}

/// Exports from the `GOPROXY=file://` tree at `root` (a store's data directory) into a new
/// bundle at `out`, which appears only when complete.
pub fn export(
    root: &Path,
    options: &ExportOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<ExportSummary, BundleError> {
    export_tree(Tree::Dir(root), options, out, progress)
}

/// [`export`] from any store (a bucket): the same bundle, byte for byte, as from a data
/// directory holding the same files. Each artifact is read twice (hashed, then written).
pub fn export_store(
    store: &dyn Store,
    options: &ExportOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<ExportSummary, BundleError> {
    export_tree(Tree::Store(store), options, out, progress)
}

fn export_tree(
    tree: Tree<'_>,
    options: &ExportOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<ExportSummary, BundleError> {
    export_keeping(tree, options, out, progress, KEEP_BYTES)
}

/// [`export_tree`], keeping up to `keep` bytes of small artifacts between the passes.
fn export_keeping(
    tree: Tree<'_>,
    options: &ExportOptions,
    out: &Path,
    progress: &dyn Progress,
    keep: u64,
) -> Result<ExportSummary, BundleError> {
    // Said before any work, and naming the directory rather than the partial file.
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(BundleError::Invalid(format!(
            "cannot write the bundle {}: the directory {} does not exist",
            out.display(),
            dir.display()
        )));
    }
    let entries = tree.entries()?;
    let plan = plan(
        &entries,
        &options.selection,
        options.since,
        &options.since_bundles,
    )?;

    let mut files: Vec<(FileRecord, Source<'_>)> = Vec::new();
    let total: u64 = plan.artifacts.iter().map(|(e, _)| e.size).sum();
    progress.phase("hashing", total);
    let mut zip_h1 = std::collections::HashMap::new();
    // Checked and hashed on every core; the records come back in the plan's order.
    let budget = AtomicU64::new(keep);
    let records = crate::parallel::map(&plan.artifacts, |(entry, key)| {
        progress.file(&entry.rel_path);
        let record = describe(tree, entry, key, &budget);
        progress.advance(entry.size);
        record
    });
    for ((entry, key), record) in plan.artifacts.iter().zip(records) {
        let (record, kept) = record?;
        if let Some(h1) = record.h1.as_ref().filter(|_| key.kind == Kind::Zip) {
            zip_h1.insert((key.module.clone(), key.version.clone()), h1.clone());
        }
        let source = kept.map_or(Source::Artifact(entry), Source::Kept);
        files.push((record, source));
    }
    progress.finish_phase();
    check_ziphashes(tree, &plan.artifacts, &zip_h1)?;
    for (module, versions) in &plan.lists {
        let text: String = versions.iter().map(|v| format!("{v}\n")).collect();
        let data = text.into_bytes();
        files.push((
            made(godepot_store::key::list_rel_path(module), &data),
            Source::Made(data),
        ));
    }
    let versions: HashSet<(&ModulePath, &Version)> = plan
        .artifacts
        .iter()
        .map(|(_, k)| (&k.module, &k.version))
        .collect();
    let answers = crate::sumdb::select::select(
        tree.sumdb_answers()?,
        (!matches!(options.selection, Selection::All)).then_some(&versions),
        options.since,
        &plan.prior,
    );
    for marker in crate::sumdb::select::markers(&answers) {
        files.push((made(marker, &[]), Source::Made(Vec::new())));
    }
    for answer in &answers {
        let data = std::fs::read(&answer.path).map_err(BundleError::io(&answer.path))?;
        let path = crate::sumdb::select::bundle_path(answer);
        // `latest` may be refreshed by a running server at any time: its bytes are taken
        // now. Every other answer never changes, so it is streamed in pass two.
        let source = if answer.endpoint == godepot_sumdb::SumdbPath::Latest {
            Source::Made(data.clone())
        } else {
            Source::Answer(answer.path.clone())
        };
        files.push((made(path, &data), source));
    }
    // The vulnerability database held, whole and checked, whatever the selection: it is
    // small, and a part of it would not be a database. Its bytes are taken now.
    let mut vulndb_modified = None;
    let mut vulndb_files = 0;
    if let Some(copy) = tree.vulndb()? {
        let checked = godepot_vulndb::validate(&copy).map_err(|e| BundleError::BadStoreFile {
            file: ".godepot/vulndb".into(),
            reason: format!("{e} (mirror it again with godepot sync or godepot prefetch --vulndb)"),
        })?;
        vulndb_modified = Some(checked.modified().to_string());
        for (path, data) in crate::vulndb::bundle_files(&copy) {
            files.push((made(path, &data), Source::Made(data)));
            vulndb_files += 1;
        }
    }
    files.sort_by(|a, b| a.0.path.as_bytes().cmp(b.0.path.as_bytes()));

    let manifest = Manifest {
        format: FORMAT.into(),
        selection: options.record.clone(),
        files: files.iter().map(|(r, _)| r.clone()).collect(),
        prior: plan.prior.into_iter().collect(),
    };

    let partial = partial_path(out);
    let result = write_bundle(tree, &manifest, &files, &partial, total, progress);
    let bundle_bytes = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(BundleError::io(out))?;

    let modules: BTreeSet<&ModulePath> = versions.iter().map(|(m, _)| *m).collect();
    Ok(ExportSummary {
        bundle: out.to_path_buf(),
        modules: modules.len(),
        versions: versions.len(),
        artifacts: plan.artifacts.len(),
        artifact_bytes: total,
        bundle_bytes,
        skipped_non_artifacts: entries
            .iter()
            .filter(|e| !matches!(e.file, godepot_store::TreeFile::Artifact(_)))
            .filter(|e| !matches!(e.file, godepot_store::TreeFile::List(_)))
            .count(),
        sumdb_files: answers.len(),
        vulndb_modified,
        vulndb_files,
    })
}

/// The manifest record of a file without an `h1:` (a list, a database answer, a marker).
fn made(path: String, data: &[u8]) -> FileRecord {
    FileRecord {
        path,
        size: data.len() as u64,
        sha256: crate::hashing::sha256_hex(data),
        h1: None,
    }
}

/// The manifest record of a held artifact; refuses artifacts that fail their own checks, so
/// a bad store never produces a bundle that import would refuse. With the bytes, when they were read whole and `budget` still had room for them.
fn describe(
    tree: Tree<'_>,
    entry: &TreeEntry,
    key: &ArtifactKey,
    budget: &AtomicU64,
) -> Result<(FileRecord, Option<Vec<u8>>), BundleError> {
    let path = tree.name(&entry.rel_path);
    let bad = |reason: String| BundleError::BadStoreFile {
        file: entry.rel_path.clone(),
        reason,
    };
    let mut file = tree.file(&entry.rel_path).map_err(BundleError::io(&path))?;
    let facts = inspect(key, &mut file).map_err(bad)?;
    let (size, sha256, kept) = match file {
        Opened::Memory(data) => {
            let data = data.into_inner();
            let size = data.len() as u64;
            let sha256 = crate::hashing::sha256_hex(&data);
            let room = budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(size)
                })
                .is_ok();
            (size, sha256, room.then_some(data))
        }
        Opened::File(mut file) => {
            io::Seek::rewind(&mut file).map_err(BundleError::io(&path))?;
            let (size, sha256) = hash_reader(&mut file, |_| {}).map_err(BundleError::io(&path))?;
            (size, sha256, None)
        }
    };
    let record = FileRecord {
        path: entry.rel_path.clone(),
        size,
        sha256,
        h1: facts.h1().map(str::to_owned),
    };
    Ok((record, kept))
}

/// Every exported `.ziphash` must agree with the zip it describes.
fn check_ziphashes(
    tree: Tree<'_>,
    artifacts: &[(&TreeEntry, &ArtifactKey)],
    zip_h1: &std::collections::HashMap<(ModulePath, Version), String>,
) -> Result<(), BundleError> {
    for (entry, key) in artifacts.iter().filter(|(_, k)| k.kind == Kind::ZipHash) {
        let Some(h1) = zip_h1.get(&(key.module.clone(), key.version.clone())) else {
            continue;
        };
        let path = tree.name(&entry.rel_path);
        let mut file = tree.file(&entry.rel_path).map_err(BundleError::io(&path))?;
        let bad = |reason: String| BundleError::BadStoreFile {
            file: entry.rel_path.clone(),
            reason,
        };
        match inspect(key, &mut file).map_err(bad)? {
            Facts::ZipHash { stated } => check_ziphash(&stated, h1).map_err(bad)?,
            _ => unreachable!("a .ziphash key inspects as a ziphash"),
        }
    }
    Ok(())
}

/// `<dir>/.<name>.partial-<pid>`: next to the destination so the final rename is atomic.
fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn write_bundle(
    tree: Tree<'_>,
    manifest: &Manifest,
    files: &[(FileRecord, Source<'_>)],
    dest: &Path,
    total: u64,
    progress: &dyn Progress,
) -> Result<u64, BundleError> {
    let io_err = BundleError::io(dest);
    let out = File::create(dest).map_err(BundleError::io(dest))?;
    let write = || -> io::Result<File> {
        let mut encoder = zstd::stream::write::Encoder::new(BufWriter::new(out), ZSTD_LEVEL)?;
        encoder.include_checksum(true)?;
        // Compressed on other threads while this one reads the files (the output does not
        // depend on how many).
        encoder.multithread(compression_threads())?;
        let mut tar = tar::Builder::new(encoder);
        let data = manifest.to_json();
        tar.append_data(
            &mut header(data.len() as u64),
            MANIFEST_PATH,
            data.as_slice(),
        )?;
        progress.phase("writing", total);
        read_ahead(tree, files, |record, source, loaded| {
            progress.file(&record.path);
            match (source, loaded.as_ref()) {
                (_, Some(data)) | (Source::Made(data) | Source::Kept(data), None) => {
                    tar.append_data(&mut header(record.size), &record.path, data.as_slice())?
                }
                (Source::Answer(path), None) => {
                    append_checked(&mut tar, File::open(path)?, record)?;
                }
                (Source::Artifact(entry), None) => {
                    append_artifact(&mut tar, tree, entry, record)?;
                }
            }
            if matches!(source, Source::Artifact(_) | Source::Kept(_)) {
                progress.advance(record.size);
            }
            Ok(())
        })?;
        progress.finish_phase();
        let encoder = tar.into_inner()?;
        let mut buffered = encoder.finish()?;
        buffered.flush()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(file)
    };
    let file = write().map_err(io_err)?;
    Ok(file.metadata().map_err(BundleError::io(dest))?.len())
}

/// zstd's workers: one a core.
fn compression_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// How many bytes of small artifacts pass one keeps for pass two (most stores' small
/// artifacts fit, and are then read once).
const KEEP_BYTES: u64 = 256 << 20;

/// Small artifacts are read (and checked against pass one) this far ahead of the archive.
const READ_AHEAD_FILES: usize = 512;
const READ_AHEAD_BYTES: u64 = 16 << 20;

/// Calls `write` for every file in order, with the bytes of small artifacts already read
/// and checked on other threads (a store is mostly small files, and opening and reading
/// them one at a time is most of an export); large files and the rest are left to `write`.
/// At most two batches (of [`READ_AHEAD_FILES`] files or [`READ_AHEAD_BYTES`]) are held.
fn read_ahead(
    tree: Tree<'_>,
    files: &[(FileRecord, Source<'_>)],
    mut write: impl FnMut(&FileRecord, &Source<'_>, Option<Vec<u8>>) -> io::Result<()>,
) -> io::Result<()> {
    let small = |(record, source): &(FileRecord, Source<'_>)| {
        matches!(source, Source::Artifact(_)) && record.size <= crate::check::READ_WHOLE
    };
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, file) in files.iter().enumerate() {
        if small(file) {
            bytes += file.0.size;
        }
        if i + 1 - start == READ_AHEAD_FILES || bytes >= READ_AHEAD_BYTES {
            batches.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < files.len() {
        batches.push(start..files.len());
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        s.spawn(move || {
            for range in batches.iter() {
                let batch = &files[range.clone()];
                let load = |file: &(FileRecord, Source<'_>)| match (small(file), &file.1) {
                    (true, Source::Artifact(entry)) => {
                        read_checked(tree.reader(&entry.rel_path)?, &file.0).map(Some)
                    }
                    _ => Ok(None),
                };
                // Most batches are all kept bytes or made content: no threads for those.
                let loaded: Vec<io::Result<Option<Vec<u8>>>> = if batch.iter().any(small) {
                    crate::parallel::map(batch, load)
                } else {
                    batch.iter().map(load).collect()
                };
                if tx.send((range.clone(), loaded)).is_err() {
                    return;
                }
            }
        });
        for (range, loaded) in rx {
            for (file, data) in files[range].iter().zip(loaded) {
                write(&file.0, &file.1, data?)?;
            }
        }
        Ok(())
    })
}

/// Reads a small file whole, checking it still is what pass one hashed.
fn read_checked(file: impl io::Read, record: &FileRecord) -> io::Result<Vec<u8>> {
    let mut data = Vec::with_capacity(record.size as usize + 1);
    io::Read::take(file, record.size + 1).read_to_end(&mut data)?;
    if data.len() as u64 != record.size || crate::hashing::sha256_hex(&data) != record.sha256 {
        return Err(changed(record));
    }
    Ok(data)
}

fn changed(record: &FileRecord) -> io::Error {
    io::Error::other(format!(
        "{} changed while the bundle was being written",
        record.path
    ))
}

/// Streams one artifact into the archive, checking it still is what pass one hashed: an
/// artifact changed in between would otherwise give a bundle that contradicts its manifest.
fn append_artifact<W: Write>(
    tar: &mut tar::Builder<W>,
    tree: Tree<'_>,
    entry: &TreeEntry,
    record: &FileRecord,
) -> io::Result<()> {
    append_checked(tar, tree.reader(&entry.rel_path)?, record)
}

/// Streams one file into the archive, checking it still is what pass one hashed.
fn append_checked<W: Write>(
    tar: &mut tar::Builder<W>,
    file: impl io::Read,
    record: &FileRecord,
) -> io::Result<()> {
    let mut reader = HashingReader::new(io::Read::take(file, record.size));
    tar.append_data(&mut header(record.size), &record.path, &mut reader)?;
    let (size, sha256) = reader.finish();
    if size != record.size || sha256 != record.sha256 {
        return Err(changed(record));
    }
    Ok(())
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(ENTRY_MTIME);
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;
    use crate::testutil::{Remote, key, put_version, store};

    /// Small artifacts written from pass one's bytes, read again ahead of the archive, or
    /// streamed: the same bundle. One changed between the passes is refused.
    #[test]
    fn kept_and_reread_artifacts_give_the_same_bundle() {
        let (dir, local) = store();
        for v in 0..20 {
            put_version(&local, "example.com/a", &format!("v1.0.{v}"));
        }
        let root = local.root().to_path_buf();
        let bundle = |name: &str, keep: u64| {
            let out = dir.path().join(name);
            export_keeping(
                Tree::Dir(&root),
                &ExportOptions::default(),
                &out,
                &NoProgress,
                keep,
            )
            .unwrap();
            std::fs::read(out).unwrap()
        };
        let kept = bundle("kept.tar.zst", KEEP_BYTES);
        assert_eq!(bundle("reread.tar.zst", 0), kept);
        assert_eq!(bundle("some.tar.zst", 2000), kept);

        let record = FileRecord {
            path: "example.com/a/@v/v1.0.0.mod".into(),
            size: 3,
            sha256: crate::hashing::sha256_hex(b"abc"),
            h1: None,
        };
        assert_eq!(read_checked(&b"abc"[..], &record).unwrap(), b"abc");
        for changed in [&b"abd"[..], b"abcd", b"ab"] {
            let e = read_checked(changed, &record).unwrap_err();
            assert!(e.to_string().contains("changed while the bundle"), "{e}");
        }
    }

    /// A bucket (streams, no local root) exports the very bytes its files give from disk;
    /// a damaged artifact is refused there as here.
    #[test]
    fn a_store_without_a_local_root_exports_the_same_bundle() {
        let (dir, local) = store();
        put_version(&local, "example.com/a", "v1.0.0");
        put_version(&local, "example.com/Upper/b", "v1.0.0-Beta");
        let from_dir = dir.path().join("dir.tar.zst");
        let from_store = dir.path().join("store.tar.zst");
        let root = local.root().to_path_buf();
        let a = export(&root, &ExportOptions::default(), &from_dir, &NoProgress).unwrap();
        let remote = Remote(local);
        let b = export_store(&remote, &ExportOptions::default(), &from_store, &NoProgress).unwrap();
        assert_eq!((a.artifacts, a.versions), (b.artifacts, b.versions));
        assert_eq!(
            std::fs::read(&from_dir).unwrap(),
            std::fs::read(&from_store).unwrap()
        );

        // A checksum-database answer held there cannot be carried yet: refused, not dropped.
        remote
            .put_meta("sumdb/sum.example/latest", b"go.sum database tree\n")
            .unwrap();
        let e = export_store(
            &remote,
            &ExportOptions::default(),
            &dir.path().join("x.tar.zst"),
            &NoProgress,
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot carry"), "{e}");

        let zip = key("example.com/a", "v1.0.0", Kind::Zip);
        std::fs::write(root.join(zip.rel_path()), b"not a zip").unwrap();
        std::fs::remove_dir_all(root.join(".godepot/sumdb")).unwrap();
        let e = export_store(
            &remote,
            &ExportOptions::default(),
            &dir.path().join("y.tar.zst"),
            &NoProgress,
        )
        .unwrap_err();
        assert!(matches!(e, BundleError::BadStoreFile { .. }), "{e}");
    }
}
