//! Export and import together: round trips, determinism, increments, corruption, conflicts.

use std::path::{Path, PathBuf};

use godepot_store::{Kind, LocalStore, Store};
use godepot_testkit::tamper::rewrite_bundle as rewrite;

use super::*;
use crate::export::{ExportOptions, export};
use crate::manifest::{Manifest, read_manifest};
use crate::testutil::{go_sum_lines, key, put_version, snapshot, store, zip_of};
use crate::{NoProgress, Selection};

fn outside() -> (tempfile::TempDir, LocalStore) {
    let (dir, store) = store();
    put_version(&store, "example.com/a", "v1.0.0");
    put_version(&store, "example.com/Upper/b", "v1.0.0-Beta");
    (dir, store)
}

pub(super) fn export_all(store: &LocalStore, out: &Path) -> crate::export::ExportSummary {
    export(store.root(), &ExportOptions::default(), out, &NoProgress).unwrap()
}

fn import_ok(store: &LocalStore, source: &Path) -> ImportSummary {
    let summary = import(store, source, &ImportOptions::default(), &NoProgress).unwrap();
    assert!(summary.is_success(), "{summary:#?}");
    summary
}

#[test]
fn round_trip_gives_the_same_tree_and_is_idempotent() {
    let (dir, outside) = outside();
    let bundle = dir.path().join("all.tar.zst");
    let exported = export_all(&outside, &bundle);
    assert_eq!(
        (exported.modules, exported.versions, exported.artifacts),
        (2, 2, 8)
    );

    let (_dir2, inside) = store();
    let first = import_ok(&inside, &bundle);
    assert_eq!((first.stored, first.already_held), (8, 0));
    assert_eq!(snapshot(&inside), snapshot(&outside));
    let again = import_ok(&inside, &bundle);
    assert_eq!((again.stored, again.already_held), (0, 8));
    assert_eq!(snapshot(&inside), snapshot(&outside));
}

#[test]
fn a_bundle_is_a_goproxy_tree_led_by_its_manifest() {
    let (dir, outside) = outside();
    let bundle = dir.path().join("b.tar.zst");
    export_all(&outside, &bundle);
    let mut names = Vec::new();
    rewrite(&bundle, &dir.path().join("copy"), |entries| {
        names = entries.iter().map(|(p, _)| p.clone()).collect();
    });
    let manifest = read_manifest(&bundle).unwrap();
    assert_eq!(names[0], ".godepot/manifest.json");
    assert_eq!(
        names[1..],
        manifest
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect::<Vec<_>>()[..]
    );
    assert!(names.contains(&"example.com/!upper/b/@v/v1.0.0-!beta.zip".to_string()));
    assert!(names.contains(&"example.com/a/@v/list".to_string()));
    let zip = manifest
        .files
        .iter()
        .find(|f| f.path.ends_with("a/@v/v1.0.0.zip"))
        .unwrap();
    assert!(zip.h1.as_deref().unwrap().starts_with("h1:"));
}

#[test]
fn exports_are_deterministic() {
    let (dir, outside) = outside();
    let (one, two) = (dir.path().join("1"), dir.path().join("2"));
    export_all(&outside, &one);
    export_all(&outside, &two);
    assert_eq!(std::fs::read(one).unwrap(), std::fs::read(two).unwrap());
}

#[test]
fn incremental_bundles_add_up_to_a_full_one() {
    let (dir, outside) = outside();
    let first = dir.path().join("first");
    export_all(&outside, &first);
    put_version(&outside, "example.com/a", "v1.1.0");
    put_version(&outside, "example.com/c", "v0.0.1");
    let second = dir.path().join("second");
    let options = ExportOptions {
        since_bundles: vec![read_manifest(&first).unwrap()],
        ..ExportOptions::default()
    };
    let summary = export(outside.root(), &options, &second, &NoProgress).unwrap();
    assert_eq!((summary.versions, summary.artifacts), (2, 8));
    let manifest: Manifest = read_manifest(&second).unwrap();
    assert!(manifest.files.iter().all(|f| !f.path.contains("v1.0.0")));

    let (_d1, chained) = store();
    import_ok(&chained, &first);
    import_ok(&chained, &second);
    let full = dir.path().join("full");
    export_all(&outside, &full);
    let (_d2, whole) = store();
    import_ok(&whole, &full);
    assert_eq!(snapshot(&chained), snapshot(&whole));
}

/// Each corruption is refused, names the file, and leaves the store unchanged.
#[test]
fn corrupt_bundles_are_refused_whole() {
    let (dir, outside) = outside();
    let bundle = dir.path().join("good");
    export_all(&outside, &bundle);
    let bytes = std::fs::read(&bundle).unwrap();
    let zip_path = "example.com/a/@v/v1.0.0.zip";

    let flipped = dir.path().join("flipped");
    let mut data = bytes.clone();
    let middle = data.len() / 2;
    data[middle] ^= 0x01;
    std::fs::write(&flipped, data).unwrap();

    let truncated = dir.path().join("truncated");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();

    let swapped = dir.path().join("swapped");
    rewrite(&bundle, &swapped, |entries| {
        let zip = entries.iter_mut().find(|(p, _)| p == zip_path).unwrap();
        zip.1 = zip_of("example.com/a", "v1.1.0");
    });

    let not_in_manifest = dir.path().join("extra");
    rewrite(&bundle, &not_in_manifest, |entries| {
        entries.push((
            "example.com/z/@v/v1.0.0.mod".into(),
            b"module example.com/z\n".to_vec(),
        ));
    });

    let mut go_sum_bad = go_sum_lines("example.com/a", "v1.0.0");
    go_sum_bad = go_sum_bad.replacen("h1:", "h1:X", 1);

    let cases: Vec<(PathBuf, Option<&str>, &str)> = vec![
        (flipped, None, "refused: "),
        (truncated, None, "truncated"),
        (swapped.clone(), None, zip_path),
        (not_in_manifest, None, "example.com/z/@v/v1.0.0.mod"),
        (bundle.clone(), Some(go_sum_bad.as_str()), zip_path),
    ];
    for (source, go_sum, must_name) in cases {
        let (_d, inside) = store();
        put_version(&inside, "example.com/a", "v0.9.0");
        let before = snapshot(&inside);
        let mut options = ImportOptions::default();
        if let Some(go_sum) = go_sum {
            options.go_sums.add("go.sum", go_sum.as_bytes()).unwrap();
        }
        let err = import(&inside, &source, &options, &NoProgress).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(must_name), "{source:?}: {message}");
        assert_eq!(snapshot(&inside), before, "{source:?} changed the store");
        let tmp: Vec<_> = walkdir(&inside.root().join(".godepot/tmp"));
        assert!(
            tmp.iter().all(|p| p.ends_with(".lock")),
            "scratch left behind: {tmp:?}"
        );
    }
    // The swapped zip is caught by the go command's own rule (its entries name another
    // version) before its hash is compared with the manifest.
    let (_d, inside) = store();
    let err = import(&inside, &swapped, &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("does not have prefix"), "{err}");
}

fn walkdir(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walkdir(&entry.path()));
        } else {
            out.push(entry.path().display().to_string());
        }
    }
    out
}

#[test]
fn differing_artifacts_are_conflicts_and_never_overwritten() {
    let (dir, outside) = outside();
    let bundle = dir.path().join("b");
    export_all(&outside, &bundle);
    let (_d, inside) = store();
    let mod_key = key("example.com/a", "v1.0.0", Kind::Mod);
    inside
        .put(&mod_key, b"module example.com/a\n\n// retagged\n")
        .unwrap();
    let summary = import(&inside, &bundle, &ImportOptions::default(), &NoProgress).unwrap();
    assert!(!summary.is_success());
    assert_eq!(summary.conflicts.len(), 1, "{summary:#?}");
    assert_eq!(summary.conflicts[0].path, "example.com/a/@v/v1.0.0.mod");
    assert_eq!(summary.stored, 7);
    assert_eq!(
        inside.read(&mod_key).unwrap().unwrap(),
        "module example.com/a\n\n// retagged\n"
    );
}

#[test]
fn an_info_rewritten_by_the_go_command_is_not_a_conflict() {
    let (_d, outside) = outside();
    let (_d2, inside) = store();
    let info = key("example.com/a", "v1.0.0", Kind::Info);
    inside
        .put(
            &info,
            br#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z","Origin":{}}"#,
        )
        .unwrap();
    let summary = import_ok(&inside, outside.root());
    assert_eq!(summary.already_held, 1);
}

#[test]
fn trees_and_module_caches_are_imported_artifact_by_artifact() {
    let (dir, outside) = outside();
    // A module cache: the tree under cache/download, with the go command's extras.
    let cache = dir.path().join("modcache");
    let download = cache.join("cache/download");
    crate::testutil::copy_tree(outside.root(), &download);
    std::fs::write(download.join("example.com/a/@v/v1.0.0.lock"), b"").unwrap();
    std::fs::create_dir_all(download.join("sumdb/sum.example/lookup")).unwrap();
    std::fs::write(download.join("sumdb/sum.example/lookup/x"), b"").unwrap();
    // A bad zip for another version, with its honest .ziphash: refused, others go in.
    let bad_zip = download.join("example.com/a/@v/v2.0.0.zip");
    std::fs::write(&bad_zip, zip_of("example.com/a", "v1.0.0")).unwrap();
    std::fs::write(download.join("example.com/a/@v/v2.0.0.ziphash"), b"h1:x=").unwrap();
    // v2.0.0 is not valid for example.com/a without +incompatible: not an artifact at all.

    let (_d, inside) = store();
    let summary = import(&inside, &cache, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(summary.source_kind, "module cache");
    assert_eq!(summary.stored, 8, "{summary:#?}");
    assert!(summary.skipped >= 4, "{summary:#?}");
    assert_eq!(snapshot(&inside), snapshot(&outside));

    let bad_zip = download.join("example.com/a/@v/v1.1.0.zip");
    std::fs::write(&bad_zip, zip_of("example.com/a", "v1.0.0")).unwrap();
    std::fs::write(download.join("example.com/a/@v/v1.1.0.ziphash"), b"h1:x=").unwrap();
    std::fs::write(
        download.join("example.com/a/@v/v1.1.0.mod"),
        b"module example.com/a\n",
    )
    .unwrap();
    let summary = import(&inside, &download, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(summary.source_kind, "tree");
    assert_eq!(summary.stored, 1, "the good .mod goes in: {summary:#?}");
    let refused: Vec<&str> = summary.refused.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        refused,
        [
            "example.com/a/@v/v1.1.0.zip",
            "example.com/a/@v/v1.1.0.ziphash"
        ],
        "{summary:#?}"
    );
    assert!(
        !inside
            .contains(&key("example.com/a", "v1.1.0", Kind::Zip))
            .unwrap()
    );
}

#[test]
fn selected_exports_carry_only_the_selection() {
    let (dir, outside) = outside();
    let out = dir.path().join("sel");
    let one = (
        godepot_module::ModulePath::parse("example.com/a").unwrap(),
        godepot_module::Version::parse("v1.0.0").unwrap(),
    );
    let options = ExportOptions {
        selection: Selection::Versions([one].into()),
        ..ExportOptions::default()
    };
    let summary = export(outside.root(), &options, &out, &NoProgress).unwrap();
    assert_eq!(summary.artifacts, 4);
    let (_d, inside) = store();
    import_ok(&inside, &out);
    assert_eq!(
        inside
            .versions(&godepot_module::ModulePath::parse("example.com/a").unwrap())
            .unwrap()
            .len(),
        1
    );
}
