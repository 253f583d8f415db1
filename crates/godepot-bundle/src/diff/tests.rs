use std::path::Path;

use godepot_store::{Kind, LocalStore, Store};

use super::*;
use crate::NoProgress;
use crate::export::{ExportOptions, export};
use crate::testutil::{key, put_version, store};

const M: &str = "example.com/CamelCase";

fn two_stores() -> (tempfile::TempDir, LocalStore, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalStore::open(dir.path().join("a")).unwrap();
    let b = LocalStore::open(dir.path().join("b")).unwrap();
    for store in [&a, &b] {
        put_version(store, M, "v1.0.0");
        put_version(store, "example.com/b", "v0.1.0");
    }
    (dir, a, b)
}

fn run(a: &Path, b: &Path) -> DiffReport {
    diff(a, b, &NoProgress).unwrap()
}

fn bundle_of(store: &LocalStore, out: &Path) {
    export(store.root(), &ExportOptions::default(), out, &NoProgress).unwrap();
}

/// A checksum-database answer in a store's cache.
fn answer(store: &LocalStore, rel: &str, data: &[u8]) {
    let path = store
        .root()
        .join(".godepot/sumdb/sum.example.com")
        .join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

#[test]
fn identical_stores_are_the_same() {
    let (_d, a, b) = two_stores();
    let report = run(a.root(), b.root());
    assert!(report.is_same(), "{report:#?}");
    assert_eq!(report.same, 2);
    assert_eq!((report.a.kind, report.a.versions), ("store", 2));
}

#[test]
fn a_version_held_by_one_side_is_listed_by_decoded_path() {
    let (_d, a, b) = two_stores();
    put_version(&a, M, "v1.1.0");
    // B holds only the go.mod of v1.2.0; A holds it whole.
    put_version(&a, M, "v1.2.0");
    b.put(
        &key(M, "v1.2.0", Kind::Mod),
        format!("module {M}\n").as_bytes(),
    )
    .unwrap();
    let report = run(a.root(), b.root());
    assert!(!report.is_same());
    assert_eq!(
        report.only_in_a,
        [
            Held {
                module: M.into(),
                version: "v1.1.0".into(),
                files: vec!["info", "mod", "zip"],
                whole: true,
            },
            Held {
                module: M.into(),
                version: "v1.2.0".into(),
                files: vec!["info", "zip"],
                whole: false,
            },
        ]
    );
    assert!(report.only_in_b.is_empty() && report.conflicts.is_empty());
    let flipped = run(b.root(), a.root());
    assert_eq!(flipped.only_in_b, report.only_in_a);
}

#[test]
fn one_different_byte_is_a_conflict_naming_the_file_and_both_hashes() {
    let (_d, a, b) = two_stores();
    let info = b.root().join(key(M, "v1.0.0", Kind::Info).rel_path());
    let mut data = std::fs::read(&info).unwrap();
    let last = data.len() - 2;
    data[last] ^= 1;
    std::fs::write(&info, &data).unwrap();
    let report = run(a.root(), b.root());
    assert_eq!(report.conflicts.len(), 1, "{report:#?}");
    let conflict = &report.conflicts[0];
    assert_eq!(
        (
            conflict.module.as_str(),
            conflict.file,
            conflict.path.as_str()
        ),
        (M, "info", "example.com/!camel!case/@v/v1.0.0.info")
    );
    assert_eq!(conflict.a.size, conflict.b.size);
    assert_ne!(conflict.a.sha256, conflict.b.sha256);
    assert_eq!(report.same, 1);
    assert!(report.only_in_a.is_empty() && report.only_in_b.is_empty());
}

#[test]
fn a_bundle_holds_what_its_store_holds_and_two_bundles_compare() {
    let (dir, a, b) = two_stores();
    answer(&a, "lookup/example.com/b@v0.1.0", b"record\n");
    answer(&a, "latest", b"head one\n");
    let bundle_a = dir.path().join("a.tar.zst");
    bundle_of(&a, &bundle_a);
    let report = run(&bundle_a, a.root());
    assert!(report.is_same(), "{report:#?}");
    assert!(report.sumdb.compared);
    assert_eq!(report.a.kind, "bundle");

    // B holds one version more and another head: the bundles differ in the version only.
    put_version(&b, "example.com/b", "v0.2.0");
    answer(&b, "lookup/example.com/b@v0.1.0", b"record\n");
    answer(&b, "latest", b"head two\n");
    let bundle_b = dir.path().join("b.tar.zst");
    bundle_of(&b, &bundle_b);
    let report = run(&bundle_a, &bundle_b);
    assert_eq!(report.only_in_b.len(), 1, "{report:#?}");
    assert_eq!(report.only_in_b[0].version, "v0.2.0");
    assert!(report.sumdb.only_in_a.is_empty() && report.sumdb.conflicts.is_empty());
}

#[test]
fn database_answers_are_compared_only_when_both_sides_hold_some() {
    let (_d, a, b) = two_stores();
    answer(&a, "lookup/example.com/b@v0.1.0", b"record\n");
    let report = run(a.root(), b.root());
    assert!(report.is_same() && !report.sumdb.compared, "{report:#?}");

    answer(&b, "lookup/example.com/b@v0.1.0", b"forked\n");
    answer(&b, "lookup/example.com/!camel!case@v1.0.0", b"record\n");
    let report = run(a.root(), b.root());
    assert!(report.sumdb.compared);
    assert_eq!(
        report.sumdb.only_in_b,
        ["sumdb/sum.example.com/lookup/example.com/!camel!case@v1.0.0"]
    );
    assert_eq!(report.sumdb.conflicts.len(), 1, "{report:#?}");
    assert!(!report.is_same());
}

#[test]
fn a_damaged_bundle_is_an_error_not_a_difference() {
    let (_d, store) = store();
    put_version(&store, M, "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("x.tar.zst");
    bundle_of(&store, &bundle);
    let mut data = std::fs::read(&bundle).unwrap();
    data.truncate(data.len() / 2);
    std::fs::write(&bundle, &data).unwrap();
    let err = diff(&bundle, store.root(), &NoProgress).unwrap_err();
    assert!(matches!(err, BundleError::BadBundle { .. }), "{err}");

    let not_a_bundle = dir.path().join("notes.txt");
    std::fs::write(&not_a_bundle, "hello").unwrap();
    let err = diff(&not_a_bundle, store.root(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("corrupt or truncated"), "{err}");
    let err = diff(&dir.path().join("absent"), store.root(), &NoProgress).unwrap_err();
    assert!(matches!(err, BundleError::Io { .. }), "{err}");
}
