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

/// A store that behaves as object storage does: no local root, artifacts opened as streams.
/// Over a local store, so tests can compare it with a data directory holding the same files.
pub(crate) struct Remote(pub(crate) LocalStore);

fn streamed(held: Option<godepot_store::Artifact>) -> Option<godepot_store::Artifact> {
    held.map(|a| godepot_store::Artifact {
        len: a.len,
        modified: a.modified,
        body: godepot_store::ArtifactBody::Reader(a.into_reader()),
    })
}

impl Store for Remote {
    fn open(
        &self,
        key: &ArtifactKey,
    ) -> Result<Option<godepot_store::Artifact>, godepot_store::StoreError> {
        Ok(streamed(self.0.open(key)?))
    }
    fn read(&self, key: &ArtifactKey) -> Result<Option<bytes::Bytes>, godepot_store::StoreError> {
        self.0.read(key)
    }
    fn contains(&self, key: &ArtifactKey) -> Result<bool, godepot_store::StoreError> {
        self.0.contains(key)
    }
    fn put(
        &self,
        key: &ArtifactKey,
        data: &[u8],
    ) -> Result<godepot_store::PutOutcome, godepot_store::StoreError> {
        self.0.put(key, data)
    }
    fn spool(&self) -> Result<godepot_store::Spool, godepot_store::StoreError> {
        self.0.spool()
    }
    fn put_spool(
        &self,
        key: &ArtifactKey,
        spool: godepot_store::Spool,
    ) -> Result<godepot_store::PutOutcome, godepot_store::StoreError> {
        self.0.put_spool(key, spool)
    }
    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, godepot_store::StoreError> {
        self.0.versions(module)
    }
    fn get_meta(&self, name: &str) -> Result<Option<bytes::Bytes>, godepot_store::StoreError> {
        self.0.get_meta(name)
    }
    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), godepot_store::StoreError> {
        self.0.put_meta(name, data)
    }
    fn get_meta_versioned(
        &self,
        name: &str,
    ) -> Result<Option<(bytes::Bytes, godepot_store::MetaVersion)>, godepot_store::StoreError> {
        self.0.get_meta_versioned(name)
    }
    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&godepot_store::MetaVersion>,
    ) -> Result<bool, godepot_store::StoreError> {
        self.0.put_meta_if(name, data, expected)
    }
    fn check_writable(&self) -> Result<(), godepot_store::StoreError> {
        self.0.check_writable()
    }
    fn describe(&self) -> String {
        "remote".into()
    }
    fn modules(&self) -> Result<Vec<ModulePath>, godepot_store::StoreError> {
        self.0.modules()
    }
    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, godepot_store::StoreError> {
        self.0.list_meta(prefix)
    }
    fn walk(&self) -> Result<Vec<godepot_store::TreeEntry>, godepot_store::StoreError> {
        self.0.walk()
    }
    fn open_file(
        &self,
        rel_path: &str,
    ) -> Result<Option<godepot_store::Artifact>, godepot_store::StoreError> {
        Ok(streamed(self.0.open_file(rel_path)?))
    }
    fn reconcile_list(
        &self,
        module: &ModulePath,
    ) -> Result<godepot_store::ListDrift, godepot_store::StoreError> {
        self.0.reconcile_list(module)
    }
    fn list_drift(
        &self,
        module: &ModulePath,
    ) -> Result<godepot_store::ListDrift, godepot_store::StoreError> {
        self.0.list_drift(module)
    }
    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), godepot_store::StoreError> {
        self.0.quarantine(rel_path, batch)
    }
    fn quarantine_location(&self, batch: &str) -> String {
        self.0.quarantine_location(batch)
    }
    fn purge_quarantine(&self, batch: &str) -> Result<(), godepot_store::StoreError> {
        self.0.purge_quarantine(batch)
    }
    fn scratch_dir(&self) -> &std::path::Path {
        self.0.scratch_dir()
    }
    fn local_root(&self) -> Option<&std::path::Path> {
        None
    }
    fn observe(
        &self,
        observer: std::sync::Arc<dyn godepot_store::StoreObserver>,
    ) -> Result<(), std::sync::Arc<dyn godepot_store::StoreObserver>> {
        self.0.observe(observer)
    }
}
