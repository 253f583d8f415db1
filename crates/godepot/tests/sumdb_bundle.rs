//! The checksum database across the air gap: prefetch keeps the records and tiles that prove
//! each module, export carries them in the bundle, import (with the database's key) checks
//! every module against them and keeps them, and an offline godepot then lets `go` verify
//! everything with `GOSUMDB` on, from clean caches, with no route out. A bundle whose zip was
//! swapped (manifest regenerated to match) is refused because the database disagrees.
//! Hermetic: loopback and temp dirs only.

mod common;

use std::path::Path;

use common::godepot_cli as godepot;
use common::{Rig, bin, go_with_sumdb};
use godepot_bundle::manifest::{MANIFEST_PATH, Manifest};
use godepot_testkit::tamper::rewrite_bundle as rewrite;
use godepot_testkit::{GoEnv, GodepotProcess, TestSumdb, fsutil};

/// A name under the reserved `.test` top-level domain: no such host exists.
const DB_NAME: &str = "sum.godepot.test";

fn ok(args: &[&str]) -> (String, String) {
    let out = godepot(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "godepot {args:?} failed:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `go mod download all` and `go mod verify` of the project with no go.sum, so that every
/// module is checked against the database; then checks that go really consulted it.
fn download_and_verify(go: &GoEnv, rig: &Rig, go_mod: &Path, context: &str) {
    let project = rig.universe.copy_project(&go.home().join("project"));
    std::fs::copy(go_mod, project.join("go.mod")).expect("tidy go.mod");
    let _ = std::fs::remove_file(project.join("go.sum"));
    for args in [&["mod", "download", "all"][..], &["mod", "verify"]] {
        let out = go.run(&project, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{context}: go {args:?} failed:\n{stderr}"
        );
        for alarm in ["SECURITY ERROR", "verifying", "checksum mismatch"] {
            assert!(
                !stderr.contains(alarm),
                "{context}: go {args:?} reported {alarm:?}:\n{stderr}"
            );
        }
    }
    let go_sum = std::fs::read_to_string(project.join("go.sum")).unwrap_or_default();
    assert!(
        go_sum.contains("example.com/Upper/CamelCase v1.1.0-Beta h1:"),
        "{context}: go.sum lacks the upper-case module:\n{go_sum}"
    );
    let remembered = go.gopath().join("pkg/sumdb").join(DB_NAME).join("latest");
    assert!(
        remembered.is_file(),
        "{context}: go did not consult the checksum database"
    );
}

/// A tidy go.mod of the fixture project (prefetch then knows every module it needs).
fn tidy_go_mod(rig: &Rig) -> (GoEnv, std::path::PathBuf) {
    let tidy = GoEnv::new(&rig.universe.proxy_url());
    let project = rig.universe.copy_project(&tidy.home().join("tidy"));
    tidy.ok(&project, ["mod", "tidy"]);
    let go_mod = project.join("go.mod");
    (tidy, go_mod)
}

#[test]
fn go_verifies_everything_in_the_bundle_offline_with_gosumdb_on() {
    let rig = Rig::standard();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 31);
    let (_tidy, go_mod) = tidy_go_mod(&rig);
    let outside = &rig.data;
    let spec = format!("{} {}/sumdb/{DB_NAME}", db.gosumdb(), rig.upstream.url());
    ok(&[
        "prefetch",
        "--data-dir",
        s(outside),
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        &spec,
        s(&go_mod),
    ]);
    let bundle = rig.tmp.path().join("airgap.tar.zst");
    ok(&["export", "--data-dir", s(outside), "--out", s(&bundle)]);
    let manifest = godepot_bundle::manifest::read_manifest(&bundle).expect("manifest");
    let carried = |prefix: &str| {
        manifest
            .files
            .iter()
            .any(|f| f.path.starts_with(&format!("sumdb/{DB_NAME}/{prefix}")))
    };
    // (`latest` only if something asked for it: go verifies a lookup with the tree head the
    // answer carries.)
    for part in ["supported", "lookup/", "tile/8/0/", "tile/8/1/"] {
        assert!(
            carried(part),
            "the bundle carries no sumdb/{DB_NAME}/{part}"
        );
    }

    // Inside: from here on nothing may reach the fixture upstream or database.
    rig.upstream.reset_hits();
    let inside = rig.tmp.path().join("inside");
    let (summary, _) = ok(&[
        "import",
        "--json",
        "--data-dir",
        s(&inside),
        "--sumdb",
        &db.gosumdb(),
        s(&bundle),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&summary).expect("json");
    assert!(
        summary["sumdb_stored"].as_u64().unwrap_or(0) > 0,
        "{summary}"
    );
    assert!(
        inside
            .join(".godepot/sumdb")
            .join(DB_NAME)
            .join("verified-tree")
            .is_file(),
        "import did not remember the verified tree head"
    );
    let (_, verified) = ok(&[
        "verify",
        "--data-dir",
        s(&inside),
        "--sumdb",
        &db.gosumdb(),
        "--offline",
    ]);
    assert!(verified.contains("from the store's cache"), "{verified}");

    // The upstream is given, so only --offline keeps the server from it.
    let server = GodepotProcess::start(
        bin(),
        &[
            "--data-dir",
            s(&inside),
            "--offline",
            "--upstream",
            &rig.upstream.url(),
            "--sumdb",
            &db.gosumdb(),
            "--log-format",
            "json",
        ],
    );
    let go = go_with_sumdb(&server.url(), &db);
    download_and_verify(&go, &rig, &go_mod, "through the offline godepot");
    assert_eq!(
        rig.upstream.total_hits(),
        0,
        "the inside reached the upstream: {:?}",
        rig.upstream.all_hits()
    );
    let misses: Vec<String> = server
        .logs()
        .into_iter()
        .filter(|l| l.contains("\"cache\":\"miss\""))
        .collect();
    assert!(misses.is_empty(), "the offline server missed: {misses:?}");

    // The bundle unpacked by tar alone serves the database to go as well.
    let unpacked = rig.tmp.path().join("unpacked");
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(&bundle).unwrap()).unwrap();
    tar::Archive::new(decoder)
        .unpack(&unpacked)
        .expect("unpack");
    let go = go_with_sumdb(&format!("file://{}", unpacked.display()), &db);
    download_and_verify(&go, &rig, &go_mod, "from the unpacked bundle");
}

/// The usual case: godepot is told the database's name (as `go env GOSUMDB` gives it) but not
/// its key. prefetch still keeps the lookups and tiles the go command inside will need, and
/// `go` with its own key verifies everything through an offline godepot.
#[test]
fn records_are_gathered_for_the_air_gap_even_without_the_key() {
    let rig = Rig::standard();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 33);
    prefetch_unkeyed_then_verify_offline(&rig, &db, "unkeyed prefetch, offline godepot");
}

/// A real database grows while it is asked, and a caching upstream keeps answers from
/// different times: every lookup carries another tree head. The go command inside checks each
/// head against the others and each record against whichever head it took as the latest, in
/// no fixed order; prefetch must keep the tiles for all of that.
#[test]
fn records_with_many_tree_heads_verify_offline() {
    let rig = Rig::standard();
    let db = TestSumdb::build_growing(&rig.universe, DB_NAME, 34);
    prefetch_unkeyed_then_verify_offline(&rig, &db, "growing database, offline godepot");
}

fn prefetch_unkeyed_then_verify_offline(rig: &Rig, db: &TestSumdb, context: &str) {
    let inside = prefetch_unkeyed_then_serve_offline(rig, db);
    download_and_verify(&inside.go, rig, &inside.go_mod, context);
}

/// A developer machine that went online after the lookups the bundle carries were answered,
/// but before the prefetch: its `$GOPATH/pkg/sumdb` holds a tree head newer than every
/// lookup's, which it checks them against with tiles of its own tree, at edges no lookup's
/// head has. Prefetch keeps the database's latest head and every edge up to it; the offline
/// godepot cuts the client's partial tiles from them.
#[test]
fn a_client_with_a_newer_head_than_the_lookups_verifies_offline() {
    let rig = Rig::standard();
    let db = TestSumdb::build_growing(&rig.universe, DB_NAME, 35);
    let newest_lookup = db.lookup_heads.iter().copied().max().expect("lookups");
    assert!(
        newest_lookup + 600 < db.size,
        "the fixture leaves no room: {newest_lookup} of {}",
        db.size
    );
    // Between the newest lookup and the latest head, at a level-0 edge of neither.
    let client_head = (newest_lookup + db.size) / 2;
    let inside = prefetch_unkeyed_then_serve_offline(&rig, &db);
    let cache = inside.go.gopath().join("pkg/sumdb").join(DB_NAME);
    std::fs::create_dir_all(&cache).expect("mkdir sumdb cache");
    std::fs::write(cache.join("latest"), db.signed_head(client_head)).expect("client head");
    let context = "client head newer than the lookups'";
    download_and_verify(&inside.go, &rig, &inside.go_mod, context);
}

/// A database stops serving a partial tile once the tile has filled up. Checking modules
/// with the key, godepot falls back to the full tile (as the go command does) instead of
/// refusing the module as "not in the database"; inside, the partial tiles the go command
/// asks for are cut from the full ones.
#[test]
fn a_partial_tile_no_longer_served_falls_back_to_the_full_tile() {
    let rig = Rig::standard();
    let db = TestSumdb::build_growing(&rig.universe, DB_NAME, 36);
    assert!(
        remove_filled_partials(&db.dir.join("tile")) > 0,
        "no partial tile to remove"
    );
    let (_tidy, go_mod) = tidy_go_mod(&rig);
    ok(&[
        "prefetch",
        "--data-dir",
        s(&rig.data),
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        &db.gosumdb(),
        s(&go_mod),
    ]);
    rig.upstream.stop();
    let server = GodepotProcess::start(
        bin(),
        &[
            "--data-dir",
            s(&rig.data),
            "--offline",
            "--sumdb",
            &db.gosumdb(),
        ],
    );
    let go = go_with_sumdb(&server.url(), &db);
    download_and_verify(&go, &rig, &go_mod, "partial tiles no longer served");
}

/// Removes every partial tile (`N.p/W`) whose full tile `N` is served; returns how many.
fn remove_filled_partials(dir: &Path) -> usize {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).expect("read tile dir") {
        let path = entry.expect("dir entry").path();
        if !path.is_dir() {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match name.strip_suffix(".p") {
            Some(full) if path.with_file_name(full).is_file() => {
                removed += std::fs::read_dir(&path).expect("read partials").count();
                std::fs::remove_dir_all(&path).expect("remove partials");
            }
            _ => removed += remove_filled_partials(&path),
        }
    }
    removed
}

/// Inside the air gap: a go command using an offline godepot, and the project's go.mod.
struct Inside {
    go: GoEnv,
    go_mod: std::path::PathBuf,
    _server: GodepotProcess,
    /// Holds the directory of `go_mod`.
    _tidy: GoEnv,
}

/// Prefetches the fixture project with the database's name only (no key), exports, imports
/// inside and serves that offline.
fn prefetch_unkeyed_then_serve_offline(rig: &Rig, db: &TestSumdb) -> Inside {
    let (tidy, go_mod) = tidy_go_mod(rig);
    let outside = &rig.data;
    ok(&[
        "prefetch",
        "--data-dir",
        s(outside),
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        DB_NAME,
        s(&go_mod),
    ]);
    let bundle = rig.tmp.path().join("unkeyed.tar.zst");
    ok(&["export", "--data-dir", s(outside), "--out", s(&bundle)]);
    rig.upstream.stop();
    let inside = rig.tmp.path().join("inside");
    ok(&["import", "--data-dir", s(&inside), s(&bundle)]);
    // The bundle carries the database's latest head, which prefetch took.
    let latest = inside.join(".godepot/sumdb").join(DB_NAME).join("latest");
    assert!(latest.is_file(), "the bundle carried no latest head");
    let server = GodepotProcess::start(
        bin(),
        &["--data-dir", s(&inside), "--offline", "--sumdb", DB_NAME],
    );
    Inside {
        go: go_with_sumdb(&server.url(), db),
        go_mod,
        _server: server,
        _tidy: tidy,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces one file of a bundle and regenerates the manifest to match: a malicious but
/// well-formed bundle, which only the checksum database can expose.
fn replace_consistently(entries: &mut [(String, Vec<u8>)], path: &str, data: Vec<u8>, h1: &str) {
    let mut manifest = Manifest::from_json(&entries[0].1).expect("manifest");
    assert_eq!(entries[0].0, MANIFEST_PATH);
    for (p, d) in entries.iter_mut() {
        if p == path {
            *d = data.clone();
        } else if p == &path.replace(".zip", ".ziphash") {
            *d = format!("{h1}\n").into_bytes();
        }
    }
    for record in &mut manifest.files {
        if let Some((_, d)) = entries.iter().find(|(p, _)| *p == record.path) {
            record.size = d.len() as u64;
            record.sha256 = hex(&godepot_module::sha256(d));
            if record.path == path {
                record.h1 = Some(h1.to_string());
            }
        }
    }
    entries[0].1 = manifest.to_json();
}

#[test]
fn a_swapped_zip_with_a_consistent_manifest_is_refused_by_an_import_with_the_key() {
    let rig = Rig::small();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 32);
    let outside = &rig.data;
    ok(&[
        "prefetch",
        "--data-dir",
        s(outside),
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        &db.gosumdb(),
        "--no-deps",
        "example.com/f@v1.1.0",
        "example.com/f@v1.0.0",
    ]);
    let bundle = rig.tmp.path().join("good.tar.zst");
    ok(&["export", "--data-dir", s(outside), "--out", s(&bundle)]);

    let zip = "example.com/f/@v/v1.1.0.zip";
    let forged = godepot_testkit::universe::zip_bytes(&[
        ("example.com/f@v1.1.0/go.mod", b"module example.com/f\n"),
        (
            "example.com/f@v1.1.0/f.go",
            b"package f\n\n// V is not what was published.\nconst V = 666\n",
        ),
    ]);
    let forged_h1 = godepot_testkit::sumdb::zip_hash(&forged);
    let swapped = rig.tmp.path().join("swapped.tar.zst");
    rewrite(&bundle, &swapped, |entries| {
        replace_consistently(entries, zip, forged.clone(), &forged_h1);
    });

    // Well-formed: without the key, nothing tells it apart.
    let gullible = rig.tmp.path().join("gullible");
    ok(&["import", "--data-dir", s(&gullible), s(&swapped)]);
    assert_eq!(std::fs::read(gullible.join(zip)).unwrap(), forged);
    // And verify with the key, from the records the store got with the bundle, finds it.
    let out = godepot(&[
        "verify",
        "--data-dir",
        s(&gullible),
        "--sumdb",
        &db.gosumdb(),
        "--offline",
    ]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "verify --sumdb passed a forged zip: {report}"
    );
    assert!(
        report.contains(zip) && report.contains("checksum mismatch"),
        "{report}"
    );

    // With the key: refused whole, naming the file, and the store is unchanged.
    let inside = rig.tmp.path().join("inside");
    let out = godepot(&[
        "import",
        "--data-dir",
        s(&inside),
        "--sumdb",
        &db.gosumdb(),
        s(&swapped),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a swapped zip was imported");
    assert!(stderr.contains(zip), "the message names the file: {stderr}");
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    let held: Vec<String> = fsutil::tree(&inside)
        .into_keys()
        .filter(|p| !p.starts_with(".godepot/tmp"))
        .collect();
    assert!(held.is_empty(), "a refused bundle left files: {held:?}");

    // A store filled without the database: verify fetches the records it lacks, says so,
    // and finds everything genuine.
    let plain = rig.tmp.path().join("plain");
    ok(&[
        "prefetch",
        "--data-dir",
        s(&plain),
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        "off",
        "--no-deps",
        "example.com/f@v1.1.0",
    ]);
    let spec = format!("{} {}/sumdb/{DB_NAME}", db.gosumdb(), rig.upstream.url());
    let (_, said) = ok(&["verify", "--data-dir", s(&plain), "--sumdb", &spec]);
    assert!(said.contains("0 records from the store's cache"), "{said}");
    assert!(said.contains("1 fetched from http://127.0.0.1:"), "{said}");

    // The genuine bundle passes the same import.
    ok(&[
        "import",
        "--data-dir",
        s(&inside),
        "--sumdb",
        &db.gosumdb(),
        s(&bundle),
    ]);
    assert_eq!(
        std::fs::read(inside.join(zip)).unwrap(),
        rig.fixture("example.com/f", "v1.1.0", "zip")
    );
}
