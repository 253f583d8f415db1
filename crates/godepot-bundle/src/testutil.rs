//! Small stores with real module zips, for the unit tests.

use std::io::Write;

use godepot_module::{ModulePath, Version, hash_go_mod};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};

pub(crate) fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

/// A module zip with a go.mod and one file.
pub(crate) fn zip_of(module: &str, version: &str) -> Vec<u8> {
    zip_with_go_mod(module, version, &format!("module {module}\n"))
}

/// A module zip with the given go.mod and one file.
pub(crate) fn zip_with_go_mod(module: &str, version: &str, go_mod: &str) -> Vec<u8> {
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().last_modified_time(zip::DateTime::default());
    for (name, data) in [
        ("go.mod", go_mod.to_owned()),
        ("a.go", format!("package a // {version}\n")),
    ] {
        zw.start_file(format!("{module}@{version}/{name}"), opts)
            .unwrap();
        zw.write_all(data.as_bytes()).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

/// Puts a complete version (info, mod, zip, ziphash) into the store.
pub(crate) fn put_version(store: &LocalStore, module: &str, version: &str) {
    let zip = zip_of(module, version);
    let h1 = godepot_module::inspect_zip(
        std::io::Cursor::new(&zip),
        &ModulePath::parse(module).unwrap(),
        &Version::parse(version).unwrap(),
    )
    .unwrap()
    .h1;
    let info = format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}\n");
    store
        .put(&key(module, version, Kind::Info), info.as_bytes())
        .unwrap();
    store
        .put(
            &key(module, version, Kind::Mod),
            format!("module {module}\n").as_bytes(),
        )
        .unwrap();
    store.put(&key(module, version, Kind::Zip), &zip).unwrap();
    store
        .put(&key(module, version, Kind::ZipHash), h1.as_bytes())
        .unwrap();
}

/// A go.sum line pair for a version as [`put_version`] writes it.
pub(crate) fn go_sum_lines(module: &str, version: &str) -> String {
    let zip = zip_of(module, version);
    let h1 = godepot_module::inspect_zip(
        std::io::Cursor::new(&zip),
        &ModulePath::parse(module).unwrap(),
        &Version::parse(version).unwrap(),
    )
    .unwrap()
    .h1;
    let mod_h1 = hash_go_mod(format!("module {module}\n").as_bytes());
    format!("{module} {version} {h1}\n{module} {version}/go.mod {mod_h1}\n")
}

pub(crate) fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path().join("data")).unwrap();
    (dir, store)
}

/// Every file outside `.godepot/` with its bytes.
pub(crate) fn snapshot(store: &LocalStore) -> Vec<(String, Vec<u8>)> {
    store
        .walk()
        .unwrap()
        .into_iter()
        .map(|e| {
            let data = std::fs::read(store.root().join(&e.rel_path)).unwrap();
            (e.rel_path, data)
        })
        .collect()
}

/// Copies a directory tree (skipping `.godepot/`).
pub(crate) fn copy_tree(src: &std::path::Path, dest: &std::path::Path) {
    for entry in godepot_store::walk_tree(src).unwrap() {
        let to = dest.join(&entry.rel_path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&entry.rel_path), to).unwrap();
    }
}
