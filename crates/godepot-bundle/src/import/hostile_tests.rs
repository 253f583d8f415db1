//! Bundles and trees made by an attacker (or a bad disk): each must be refused before it
//! costs disk or memory in proportion to what it claims, leaving the store as it was.

use std::io::{self, Read, Write};
use std::path::Path;

use godepot_store::{Kind, LocalStore, Store};

use super::tests::export_all;
use super::*;
use crate::export::{ExportOptions, export};
use crate::manifest::{FORMAT, FileRecord, MANIFEST_PATH, Manifest, SelectionRecord};
use crate::testutil::{key, put_version, snapshot, store};
use crate::{BundleError, NoProgress};

/// One hand-made tar entry: its path, its size (what its header states, truthfully), and
/// its content, streamed so that large entries never sit in the test's memory.
type Entry = (String, u64, Box<dyn Read>);

fn zeros(size: u64) -> Box<dyn Read> {
    Box::new(io::repeat(0).take(size))
}

fn bytes(data: &[u8]) -> (u64, Box<dyn Read>) {
    (data.len() as u64, Box::new(io::Cursor::new(data.to_vec())))
}

fn write_bundle(out: &Path, manifest: &Manifest, entries: Vec<Entry>) {
    let file = std::fs::File::create(out).unwrap();
    let mut tar = tar::Builder::new(zstd::stream::write::Encoder::new(file, 1).unwrap());
    let json = manifest.to_json();
    let mut all: Vec<Entry> = vec![(
        MANIFEST_PATH.into(),
        json.len() as u64,
        Box::new(io::Cursor::new(json)),
    )];
    all.extend(entries);
    for (path, size, data) in all {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

fn manifest(files: Vec<FileRecord>) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        selection: SelectionRecord::default(),
        files,
        prior: vec![],
    }
}

fn record(path: &str, size: u64) -> FileRecord {
    FileRecord {
        path: path.into(),
        size,
        sha256: "00".into(),
        h1: None,
    }
}

/// Imports `bundle` into a store holding one version; the import must fail naming
/// `must_name` and leave the store, its metadata and its scratch space as they were.
fn refused(bundle: &Path, must_name: &[&str]) -> BundleError {
    let (_d, inside) = store();
    put_version(&inside, "example.com/a", "v0.9.0");
    let before = snapshot(&inside);
    let err = import(&inside, bundle, &ImportOptions::default(), &NoProgress).unwrap_err();
    let message = err.to_string();
    for part in must_name {
        assert!(message.contains(part), "{bundle:?}: {message}");
    }
    assert_eq!(snapshot(&inside), before);
    assert!(
        !inside.root().join(".godepot/sumdb").exists(),
        "kept answers"
    );
    let scratch: Vec<_> = std::fs::read_dir(inside.root().join(".godepot/tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .collect();
    assert!(scratch.is_empty(), "scratch left behind: {scratch:?}");
    err
}

/// Refuses a bundle of one entry of `size` zeros that the manifest says has `stated` bytes.
fn refused_zeros(path: &str, stated: u64, size: u64, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("zeros");
    write_bundle(
        &bundle,
        &manifest(vec![record(path, stated)]),
        vec![(path.into(), size, zeros(size))],
    );
    refused(&bundle, &[path, why]);
}

#[test]
fn an_entry_larger_than_the_manifest_says_is_refused_before_it_is_copied() {
    let path = "example.com/a/@v/v1.0.0.info";
    let why = "tar header says 67108864 bytes, the manifest says 24";
    refused_zeros(path, 24, 64 << 20, why);
}

#[test]
fn a_truthful_entry_beyond_the_limit_for_its_kind_is_refused_before_it_is_copied() {
    let size = godepot_module::MAX_GO_MOD + 1;
    let why = "more than the 16777216 a file of its kind may have";
    refused_zeros("example.com/a/@v/v1.0.0.mod", size, size, why);
}

#[test]
fn oversized_checksum_database_tiles_are_refused_without_being_buffered() {
    // Fifty "data tiles" of 4 MiB of zeros: the first is refused from its header alone.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("tiles");
    let paths: Vec<String> = (0..50)
        .map(|i| format!("sumdb/sum.example/tile/8/data/{i:03}"))
        .collect();
    let size = 4 << 20;
    write_bundle(
        &bundle,
        &manifest(paths.iter().map(|p| record(p, size)).collect()),
        paths
            .iter()
            .map(|p| (p.clone(), size, zeros(size)))
            .collect(),
    );
    refused(
        &bundle,
        &[
            &paths[0],
            "no checksum database answer of its kind has more than",
        ],
    );
}

#[test]
fn checksum_database_answers_of_the_wrong_shape_are_refused() {
    let head = "go.sum database tree\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "sumdb/sum.example/tile/8/0/000.p/2",
            vec![0; 65],
            "65 bytes, but no checksum database answer of its kind has more than 64",
        ),
        (
            "sumdb/sum.example/tile/8/data/000.p/2",
            vec![0; 1000],
            "data tile",
        ),
        (
            "sumdb/sum.example/latest",
            format!("{head}\u{2014} other.example AAAA\n").into_bytes(),
            "no valid signature by sum.example",
        ),
        ("sumdb/sum.example/supported", b"x".to_vec(), "supported"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (path, data, why) in cases {
        let bundle = dir.path().join("shape");
        let (size, reader) = bytes(&data);
        write_bundle(
            &bundle,
            &manifest(vec![record(path, size)]),
            vec![(path.into(), size, reader)],
        );
        refused(&bundle, &[path, why]);
    }
}

#[test]
fn an_unkeyed_tree_head_never_displaces_a_verified_one() {
    let note = "go.sum database tree\n99999999\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} sum.example AAAA\n";
    let path = "sumdb/sum.example/latest";
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("forged-latest");
    let mut record = record(path, note.len() as u64);
    record.sha256 = crate::hashing::sha256_hex(note.as_bytes());
    let (size, reader) = bytes(note.as_bytes());
    write_bundle(
        &bundle,
        &manifest(vec![record]),
        vec![(path.into(), size, reader)],
    );

    let (_d, inside) = store();
    let verified = "go.sum database tree\n5\nBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n";
    inside
        .put_meta("sumdb/sum.example/verified-tree", verified.as_bytes())
        .unwrap();
    let summary = import(&inside, &bundle, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!((summary.sumdb_stored, summary.sumdb_left_out), (0, 1));
    assert!(
        inside
            .get_meta("sumdb/sum.example/latest")
            .unwrap()
            .is_none()
    );

    // Where no head was ever held or verified, an unkeyed air gap keeps it.
    let (_d, fresh) = store();
    let summary = import(&fresh, &bundle, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(summary.sumdb_stored, 1);
}

/// Replaces one entry of an exported bundle, keeping its manifest record consistent.
fn replace_entry(bundle: &Path, out: &Path, path: &str, data: &[u8]) {
    godepot_testkit::tamper::rewrite_bundle(bundle, out, |entries| {
        let mut manifest = Manifest::from_json(&entries[0].1).unwrap();
        let record = manifest.files.iter_mut().find(|f| f.path == path).unwrap();
        record.size = data.len() as u64;
        record.sha256 = crate::hashing::sha256_hex(data);
        entries[0].1 = manifest.to_json();
        entries.iter_mut().find(|(p, _)| p == path).unwrap().1 = data.to_vec();
    });
}

/// A bundle of a store holding example.com/a v1.0.0 (in the returned directory).
fn exported_a() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, outside) = store();
    put_version(&outside, "example.com/a", "v1.0.0");
    let bundle = dir.path().join("a.tar.zst");
    export_all(&outside, &bundle);
    (dir, bundle)
}

#[test]
fn a_go_mod_that_is_not_one_or_names_another_module_refuses_the_bundle() {
    let (dir, good) = exported_a();
    let path = "example.com/a/@v/v1.0.0.mod";
    let cases: [(&[u8], &str); 2] = [
        (
            b"<html><body>Please log in</body></html>\n",
            "invalid go.mod: parsing go.mod",
        ),
        (
            b"module example.com/b\n",
            "module declares its path as: example.com/b but was required as: example.com/a",
        ),
    ];
    for (data, why) in cases {
        let bad = dir.path().join("bad");
        replace_entry(&good, &bad, path, data);
        refused(&bad, &[path, why]);
    }
}

#[test]
fn a_version_left_unlisted_by_a_crash_is_listed_by_the_next_import() {
    let (_dir, bundle) = exported_a();
    let (_d, inside) = store();
    put_version(&inside, "example.com/a", "v1.0.0");
    // The crash: the files went in, the list was never rewritten.
    let list = inside.root().join("example.com/a/@v/list");
    std::fs::remove_file(&list).unwrap();
    let summary = import(&inside, &bundle, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!((summary.stored, summary.relisted), (0, 1), "{summary:#?}");
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.0.0\n");
}

#[test]
fn a_directory_with_nothing_to_import_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README"), b"not a module\n").unwrap();
    let (_d, inside) = store();
    let err = import(&inside, dir.path(), &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(err, BundleError::NothingToImport(_)), "{err}");
    assert!(err.to_string().contains("holds nothing to import"), "{err}");
}

/// Unmounts the file system on drop.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_write_error_naming_the_path_not_a_corrupt_bundle() {
    // A real full disk: a 1 MiB tmpfs as the data directory. This needs root (mount -t
    // tmpfs); without it the test fails rather than pretending (`copy_hashing`'s own test
    // covers the distinction with a fault-injecting writer).
    let (dir, outside) = store();
    let big = format!("module example.com/big\n{}", "// padding\n".repeat(200_000));
    let module = "example.com/big";
    for (kind, data) in [
        (Kind::Info, br#"{"Version":"v1.0.0"}"#.to_vec()),
        (Kind::Mod, big.into_bytes()),
    ] {
        outside.put(&key(module, "v1.0.0", kind), &data).unwrap();
    }
    let bundle = dir.path().join("big.tar.zst");
    export_all(&outside, &bundle);

    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&disk)
        .status()
        .expect("run mount");
    assert!(
        status.success(),
        "mounting a 1 MiB tmpfs failed: this test needs root (mount -t tmpfs)"
    );
    let _mounted = Mounted(disk.clone());
    let inside = LocalStore::open(disk.join("data")).unwrap();
    let err = import(&inside, &bundle, &ImportOptions::default(), &NoProgress).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, BundleError::Write { .. }), "{message}");
    assert!(
        message.contains("cannot write") && message.contains(disk.to_str().unwrap()),
        "{message}"
    );
    assert!(!message.contains("corrupt"), "{message}");
    drop(inside);
}

#[test]
fn an_export_into_a_missing_directory_names_the_directory() {
    let (dir, outside) = store();
    put_version(&outside, "example.com/a", "v1.0.0");
    let missing = dir.path().join("no-such-dir");
    let out = missing.join("b.tar.zst");
    let err = export(outside.root(), &ExportOptions::default(), &out, &NoProgress).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{message}"
    );
}
