use std::io::Write;

use super::*;

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn layout_is_a_goproxy_tree_with_case_encoding() {
    let (dir, store) = store();
    let k = key("example.com/Upper/m", "v1.0.0-Beta", Kind::Mod);
    assert_eq!(store.put(&k, b"module x\n").unwrap(), PutOutcome::Stored);
    let file = dir.path().join("example.com/!upper/m/@v/v1.0.0-!beta.mod");
    assert_eq!(fs::read(file).unwrap(), b"module x\n");
    for kind in [Kind::Info, Kind::Zip] {
        store.put(&k.with_kind(kind), b"x").unwrap();
    }
    let list = fs::read_to_string(dir.path().join("example.com/!upper/m/@v/list")).unwrap();
    assert_eq!(list, "v1.0.0-Beta\n");
}

#[test]
fn immutable_artifacts_keep_their_first_bytes() {
    let (_dir, store) = store();
    let k = key("example.com/m", "v1.0.0", Kind::Info);
    assert_eq!(store.put(&k, b"first").unwrap(), PutOutcome::Stored);
    assert_eq!(store.put(&k, b"second").unwrap(), PutOutcome::AlreadyHeld);
    assert_eq!(store.read(&k).unwrap().unwrap(), "first");
}

fn put_version(store: &LocalStore, module: &str, version: &str, kinds: &[Kind]) {
    for kind in kinds {
        store.put(&key(module, version, *kind), b"x").unwrap();
    }
}

fn listed(dir: &Path, store: &LocalStore, module: &str) -> (Vec<String>, String) {
    let m = ModulePath::parse(module).unwrap();
    let held = store
        .versions(&m)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let file = fs::read_to_string(dir.join(list_rel_path(&m))).unwrap_or_default();
    (held, file)
}

const FULL: [Kind; 3] = [Kind::Info, Kind::Mod, Kind::Zip];

#[test]
fn list_holds_each_downloadable_release_once_and_no_pseudo_versions() {
    let (dir, store) = store();
    let m = "example.com/m";
    put_version(&store, m, "v1.0.0", &FULL);
    put_version(&store, m, "v1.0.0", &[Kind::ZipHash]);
    // Graph-only (held for its go.mod), half-held, and a pseudo-version: none is offered.
    put_version(&store, m, "v1.1.0", &[Kind::Mod]);
    put_version(&store, m, "v1.2.0", &[Kind::Mod, Kind::Zip]);
    put_version(&store, m, "v0.0.0-20200101000000-abcdefabcdef", &FULL);
    let (held, file) = listed(dir.path(), &store, m);
    assert_eq!(held, ["v1.0.0"]);
    assert_eq!(file, "v1.0.0\n");
    put_version(&store, m, "v1.2.0", &[Kind::Info]);
    assert_eq!(listed(dir.path(), &store, m).1, "v1.0.0\nv1.2.0\n");
}

#[test]
fn a_list_left_behind_by_a_crash_is_repaired() {
    let (dir, store) = store();
    let m = "example.com/m";
    let module = ModulePath::parse(m).unwrap();
    put_version(&store, m, "v1.0.0", &FULL);
    // A crash after publishing v1.1.0's files but before the list was rewritten (and a
    // list from an older godepot naming a graph-only version).
    for kind in FULL {
        let k = key(m, "v1.1.0", kind);
        fs::write(dir.path().join(k.rel_path()), b"x").unwrap();
    }
    put_version(&store, m, "v0.9.0", &[Kind::Mod]);
    fs::write(dir.path().join(list_rel_path(&module)), "v1.0.0\nv0.9.0\n").unwrap();

    // Offline answers read the files, so they are right at once.
    assert_eq!(listed(dir.path(), &store, m).0, ["v1.0.0", "v1.1.0"]);
    let drift = store.list_drift(&module).unwrap();
    assert_eq!(drift.unlisted, [Version::parse("v1.1.0").unwrap()]);
    assert_eq!(drift.not_downloadable, [Version::parse("v0.9.0").unwrap()]);
    assert_eq!(
        listed(dir.path(), &store, m).1,
        "v1.0.0\nv0.9.0\n",
        "list_drift changes nothing"
    );

    // The next publish of any version of the module repairs the file.
    put_version(&store, m, "v0.8.0", &[Kind::Mod]);
    assert_eq!(listed(dir.path(), &store, m).1, "v1.0.0\nv1.1.0\n");
    assert!(store.reconcile_list(&module).unwrap().is_empty());
}

#[test]
fn spools_become_visible_only_when_put() {
    let (dir, store) = store();
    let k = key("example.com/m", "v1.0.0", Kind::Zip);
    let mut spool = store.spool().unwrap();
    spool.file.write_all(b"zip bytes").unwrap();
    assert!(!store.contains(&k).unwrap());
    let tmp = spool.path().to_path_buf();
    assert_eq!(store.put_spool(&k, spool).unwrap(), PutOutcome::Stored);
    assert!(!tmp.exists());
    assert_eq!(
        fs::read(dir.path().join("example.com/m/@v/v1.0.0.zip")).unwrap(),
        b"zip bytes"
    );
}

#[test]
fn dropped_spools_leave_nothing() {
    let (_dir, store) = store();
    let spool = store.spool().unwrap();
    let tmp = spool.path().to_path_buf();
    drop(spool);
    assert!(!tmp.exists());
}

#[test]
fn abandoned_scratch_is_cleaned_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join(".godepot/tmp/999999999");
    fs::create_dir_all(&stale).unwrap();
    fs::write(stale.join("7.tmp"), b"partial").unwrap();
    fs::write(dir.path().join(".godepot/tmp/999999999.lock"), b"").unwrap();
    let _store = LocalStore::open(dir.path()).unwrap();
    assert!(!stale.exists());
}

#[test]
fn a_live_scratch_directory_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let first = LocalStore::open(dir.path()).unwrap();
    let spool = first.spool().unwrap();
    let _second = LocalStore::open(dir.path()).unwrap();
    assert!(spool.path().exists());
}

#[test]
fn meta_names_cannot_escape_the_meta_dir() {
    let (_dir, store) = store();
    for bad in ["", "../x", "/etc/passwd", "a/../../b"] {
        assert!(store.put_meta(bad, b"x").is_err(), "{bad:?}");
    }
    store.put_meta("mutable/a/list", b"v1").unwrap();
    assert_eq!(store.get_meta("mutable/a/list").unwrap().unwrap(), "v1");
}

#[test]
fn meta_files_are_listed_under_a_prefix() {
    let (_dir, store) = store();
    assert!(store.list_meta("sumdb/db/lookup").unwrap().is_empty());
    for name in [
        "sumdb/db/lookup/a@v1",
        "sumdb/db/lookup/example.com/b@v2",
        "sumdb/db/tile/8/0/000",
        "sumdb/other/lookup/c@v3",
    ] {
        store.put_meta(name, b"x").unwrap();
    }
    assert_eq!(
        store.list_meta("sumdb/db/lookup").unwrap(),
        ["sumdb/db/lookup/a@v1", "sumdb/db/lookup/example.com/b@v2"]
    );
    assert!(store.list_meta("../escape").is_err());
}

#[test]
fn closed_spools_keep_their_bytes_until_reopened_and_put() {
    let (dir, store) = store();
    let k = key("example.com/m", "v1.0.0", Kind::Mod);
    let mut spool = store.spool().unwrap();
    spool.file.write_all(b"module m\n").unwrap();
    let closed = spool.close();
    let tmp = closed.path().to_path_buf();
    assert!(tmp.exists());
    let spool = closed.reopen().unwrap();
    assert_eq!(store.put_spool(&k, spool).unwrap(), PutOutcome::Stored);
    assert!(!tmp.exists());
    assert_eq!(
        fs::read(dir.path().join("example.com/m/@v/v1.0.0.mod")).unwrap(),
        b"module m\n"
    );

    let closed = store.spool().unwrap().close();
    let tmp = closed.path().to_path_buf();
    drop(closed);
    assert!(!tmp.exists());
}

#[test]
fn quarantine_moves_files_out_of_the_tree() {
    let (dir, store) = store();
    let k = key("example.com/m", "v1.0.0", Kind::Zip);
    store.put(&k, b"bad zip").unwrap();
    store.quarantine(&k.rel_path(), "20260102T030405Z").unwrap();
    assert!(!store.contains(&k).unwrap());
    let batch = dir.path().join(".godepot/quarantine/20260102T030405Z");
    assert_eq!(
        store.quarantine_location("20260102T030405Z"),
        batch.display().to_string()
    );
    assert_eq!(fs::read(batch.join(k.rel_path())).unwrap(), b"bad zip");
    store.purge_quarantine("20260102T030405Z").unwrap();
    assert!(!batch.exists());
    for bad in ["../x", ".godepot/tmp/1.tmp", ""] {
        assert!(store.quarantine(bad, "b").is_err(), "{bad:?}");
    }
}

/// The storage compliance suite, on local disk; two stores on one directory are two
/// replicas (as two processes on one data directory would be).
#[test]
fn compliance() {
    crate::compliance::run_all(
        &|| {
            // Owned by the opener: removed once the check is done with it.
            let dir = tempfile::tempdir().unwrap();
            Box::new(move || Arc::new(LocalStore::open(dir.path()).unwrap()) as Arc<dyn Store>)
        },
        crate::compliance::Memory::NotMeasured,
    );
}
