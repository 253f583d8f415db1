//! The air-gap workflow end to end, with the real `go` command as the oracle: export a store
//! into a bundle, import it elsewhere, serve it offline, build from a clean module cache;
//! incremental bundles, determinism, corruption, conflicts, seeding from a module cache,
//! verify/repair and ls. Hermetic: loopback and temp dirs only.

mod common;

use std::path::{Path, PathBuf};

use common::bin;
use common::godepot_cli as godepot;
use common::godepot_ok as ok;
use godepot_testkit::tamper::rewrite_bundle as rewrite;
use godepot_testkit::universe::{self, Universe};
use godepot_testkit::{GoEnv, GodepotProcess, UniverseBuilder, fsutil};

/// Runs a command expected to fail; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = godepot(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "godepot {args:?} should fail: {stderr}"
    );
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file outside `.godepot/` with its bytes; `@v/list` files as sorted line sets,
/// because a list's order records when versions arrived, which the go command ignores.
fn store_content(root: &Path) -> Vec<(String, Vec<u8>)> {
    fsutil::tree(root)
        .into_keys()
        .filter(|p| !p.starts_with(".godepot/"))
        .map(|p| {
            let mut data = std::fs::read(root.join(&p)).expect("read");
            if p.ends_with("/@v/list") {
                let mut lines: Vec<&str> =
                    std::str::from_utf8(&data).expect("utf-8").lines().collect();
                lines.sort_unstable();
                data = lines.join("\n").into_bytes();
            }
            (p, data)
        })
        .collect()
}

/// A small universe: `example.com/f` v1.0.0 and v1.1.0, an upper-case module, and a project.
fn small_universe(dir: &Path) -> Universe {
    UniverseBuilder::new(dir.join("proxy"))
        .module("example.com/f")
        .version("v1.0.0")
        .file("f.go", "package f\n\n// V is the version.\nconst V = 1\n")
        .version("v1.1.0")
        .stored()
        .file("f.go", "package f\n\n// V is the version.\nconst V = 2\n")
        .module("example.com/Upper/Mod")
        .version("v1.0.0")
        .file("m.go", "package mod\n\n// M is a value.\nconst M = 3\n")
        .project(dir.join("project"), "example.com/app")
        .require("example.com/f", "v1.1.0")
        .require("example.com/Upper/Mod", "v1.0.0")
        .file(
            "main.go",
            "package main\n\nimport (\n\t\"example.com/Upper/Mod\"\n\t\"example.com/f\"\n)\n\nfunc main() { println(f.V + mod.M) }\n",
        )
        .build()
}

/// `go mod download all` and `go build ./...` of a copy of the project through `goproxy`,
/// from a clean module cache.
fn build_project(u: &Universe, goproxy: &str, work: &Path) {
    let go = GoEnv::new(goproxy);
    let project = u.copy_project(work);
    go.ok(&project, ["mod", "download", "all"]);
    go.ok(&project, ["build", "./..."]);
}

#[test]
fn a_bundle_carries_the_standard_universe_across_the_gap() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = universe::standard(&tmp.path().join("u"));
    let (outside, inside) = (tmp.path().join("outside"), tmp.path().join("inside"));
    ok(&["import", "--data-dir", s(&outside), s(&u.root)]);

    let bundle = tmp.path().join("full.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&bundle)]);
    let again = tmp.path().join("again.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&again)]);
    assert!(
        std::fs::read(&bundle).unwrap() == std::fs::read(&again).unwrap(),
        "two exports of the same store differ"
    );

    let summary = ok(&["import", "--json", "--data-dir", s(&inside), s(&bundle)]);
    let summary: serde_json::Value = serde_json::from_str(&summary).expect("json");
    assert!(summary["stored"].as_u64().unwrap() > 0, "{summary}");
    let again = ok(&["import", "--json", "--data-dir", s(&inside), s(&bundle)]);
    let again: serde_json::Value = serde_json::from_str(&again).expect("json");
    assert_eq!(
        again["stored"], 0,
        "a second import changes nothing: {again}"
    );
    assert_eq!(again["already_held"], summary["stored"]);
    assert_eq!(store_content(&inside), store_content(&outside));

    let server = GodepotProcess::start(bin(), &["--data-dir", s(&inside), "--offline"]);
    build_project(&u, &server.url(), &tmp.path().join("build"));

    // The bundle itself, unpacked by tar alone, is a GOPROXY=file:// tree.
    let unpacked = tmp.path().join("unpacked");
    untar(&bundle, &unpacked);
    build_project(
        &u,
        &format!("file://{}", unpacked.display()),
        &tmp.path().join("build2"),
    );
}

/// Unpacks a bundle the way someone without godepot would: zstd, then tar.
fn untar(bundle: &Path, dest: &Path) {
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(bundle).unwrap()).unwrap();
    tar::Archive::new(decoder).unpack(dest).expect("unpack");
}

#[test]
fn incremental_bundles_add_up_to_a_full_bundle() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = small_universe(&tmp.path().join("u"));
    // A first tree without example.com/f v1.1.0.
    let early = tmp.path().join("early");
    fsutil::copy_dir(&u.root, &early);
    for ext in ["info", "mod", "zip"] {
        std::fs::remove_file(early.join(format!("example.com/f/@v/v1.1.0.{ext}"))).unwrap();
    }
    let outside = tmp.path().join("outside");
    ok(&["import", "--data-dir", s(&outside), s(&early)]);
    let first = tmp.path().join("first.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&first)]);
    ok(&["import", "--data-dir", s(&outside), s(&u.root)]);
    let second = tmp.path().join("second.tar.zst");
    let json = ok(&[
        "export",
        "--json",
        "--data-dir",
        s(&outside),
        "--out",
        s(&second),
        "--since-bundle",
        s(&first),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(summary["versions"], 1, "{summary}");
    let manifest = godepot_bundle::manifest::read_manifest(&second).expect("manifest");
    let artifacts: Vec<&str> = manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| !p.ends_with("/list"))
        .collect();
    assert_eq!(
        artifacts,
        [
            "example.com/f/@v/v1.1.0.info",
            "example.com/f/@v/v1.1.0.mod",
            "example.com/f/@v/v1.1.0.zip"
        ]
    );

    let (chained, whole) = (tmp.path().join("chained"), tmp.path().join("whole"));
    ok(&["import", "--data-dir", s(&chained), s(&first)]);
    ok(&["import", "--data-dir", s(&chained), s(&second)]);
    let full = tmp.path().join("full.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&full)]);
    ok(&["import", "--data-dir", s(&whole), s(&full)]);
    assert_eq!(store_content(&chained), store_content(&whole));

    // ls lists what is held, filtered by pattern, with a total.
    let listing = ok(&["ls", "--data-dir", s(&whole)]);
    assert!(listing.contains("example.com/f"), "{listing}");
    assert!(listing.contains("v1.1.0"), "{listing}");
    assert!(listing.contains("example.com/Upper/Mod"), "{listing}");
    assert!(
        listing
            .lines()
            .last()
            .unwrap()
            .starts_with("total: 2 modules, 3 versions"),
        "{listing}"
    );
    let upper = ok(&["ls", "--json", "--data-dir", s(&whole), "example.com/U*"]);
    let upper: serde_json::Value = serde_json::from_str(&upper).expect("json");
    assert_eq!(upper["total_modules"], 1, "{upper}");
    assert_eq!(upper["modules"][0]["path"], "example.com/Upper/Mod");
    assert_eq!(
        upper["modules"][0]["versions"][0]["files"],
        serde_json::json!(["info", "mod", "zip"])
    );
}

#[test]
fn damaged_bundles_and_conflicts_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = small_universe(&tmp.path().join("u"));
    let outside = tmp.path().join("outside");
    ok(&["import", "--data-dir", s(&outside), s(&u.root)]);
    let bundle = tmp.path().join("good.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&bundle)]);
    let bytes = std::fs::read(&bundle).unwrap();
    let zip = "example.com/f/@v/v1.0.0.zip";

    let flipped = tmp.path().join("flipped.tar.zst");
    let mut data = bytes.clone();
    let at = data.len() / 2;
    data[at] ^= 0x20;
    std::fs::write(&flipped, data).unwrap();
    let truncated = tmp.path().join("truncated.tar.zst");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let swapped = tmp.path().join("swapped.tar.zst");
    let other = std::fs::read(u.artifact("example.com/f", "v1.1.0", "zip")).unwrap();
    rewrite(&bundle, &swapped, |entries| {
        entries.iter_mut().find(|(p, _)| p == zip).unwrap().1 = other;
    });

    let inside = tmp.path().join("inside");
    // Something held already, to prove it survives untouched.
    let early = tmp.path().join("early");
    fsutil::copy_dir(
        &u.root.join("example.com/!upper"),
        &early.join("example.com/!upper"),
    );
    ok(&["import", "--data-dir", s(&inside), s(&early)]);
    let before = store_content(&inside);
    for (bad, names) in [
        (&flipped, "refused: "),
        (&truncated, "refused: "),
        (&swapped, zip),
    ] {
        let stderr = fails(&["import", "--data-dir", s(&inside), s(bad)]);
        assert!(stderr.contains(names), "{bad:?}: {stderr}");
        assert!(
            stderr.contains(s(bad)),
            "{bad:?}: the message names the bundle: {stderr}"
        );
        assert!(
            stderr.contains("@v/") || stderr.contains("manifest"),
            "{bad:?}: the message names a file inside the bundle: {stderr}"
        );
        assert_eq!(store_content(&inside), before, "{bad:?} changed the store");
    }

    // A retagged version: the held .mod differs from the bundle's. Reported, never replaced.
    let conflicted = tmp.path().join("conflicted");
    let held_mod = conflicted.join("example.com/f/@v/v1.0.0.mod");
    std::fs::create_dir_all(held_mod.parent().unwrap()).unwrap();
    std::fs::write(&held_mod, "module example.com/f\n\n// retagged\n").unwrap();
    let stderr = fails(&["import", "--data-dir", s(&conflicted), s(&bundle)]);
    assert!(
        stderr.contains("conflict example.com/f/@v/v1.0.0.mod"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&held_mod).unwrap(),
        "module example.com/f\n\n// retagged\n"
    );
}

#[test]
fn a_module_cache_seeds_a_store_that_verify_checks_and_repairs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = small_universe(&tmp.path().join("u"));
    let developer = GoEnv::new(&u.proxy_url());
    let project = u.copy_project(&tmp.path().join("dev"));
    developer.ok(&project, ["mod", "download", "all"]);

    let seeded = tmp.path().join("seeded");
    let modcache: PathBuf = developer.modcache();
    let json = ok(&[
        "import",
        "--json",
        "--data-dir",
        s(&seeded),
        s(&modcache),
        "--go-sum",
        s(&project.join("go.sum")),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(summary["source_kind"], "module cache", "{summary}");
    {
        let server = GodepotProcess::start(bin(), &["--data-dir", s(&seeded), "--offline"]);
        build_project(&u, &server.url(), &tmp.path().join("build"));
    }

    ok(&[
        "verify",
        "--data-dir",
        s(&seeded),
        "--go-sum",
        s(&project.join("go.sum")),
    ]);
    let zip = seeded.join("example.com/f/@v/v1.1.0.zip");
    let mut data = std::fs::read(&zip).unwrap();
    // The zip is stored uncompressed: flip a byte of a file's content, which the h1 covers.
    let needle = b"const V = 2";
    let at = data
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("content in zip");
    data[at + needle.len() - 1] ^= 0x01;
    fsutil::make_writable(&zip);
    std::fs::write(&zip, data).unwrap();
    std::fs::write(seeded.join("example.com/stray.txt"), "left over").unwrap();

    let out = godepot(&["verify", "--data-dir", s(&seeded)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("example.com/f/@v/v1.1.0.zip"), "{stdout}");
    assert!(stdout.contains("orphan\texample.com/stray.txt"), "{stdout}");

    let json = godepot(&["verify", "--json", "--repair", "--data-dir", s(&seeded)]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let moved: Vec<&str> = report["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(moved.contains(&"example.com/f/@v/v1.1.0.zip"), "{report}");
    assert!(
        moved.contains(&"example.com/f/@v/v1.1.0.ziphash"),
        "{report}"
    );
    assert!(!zip.exists());
    let quarantine = PathBuf::from(report["quarantine"].as_str().unwrap());
    assert!(quarantine.join("example.com/f/@v/v1.1.0.zip").exists());
    ok(&["verify", "--data-dir", s(&seeded)]);
}

#[test]
fn a_project_bundle_carries_what_the_project_needs_and_no_more() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = small_universe(&tmp.path().join("u"));
    let outside = tmp.path().join("outside");
    ok(&["import", "--data-dir", s(&outside), s(&u.root)]);
    let bundle = tmp.path().join("project.tar.zst");
    let go_mod = u.project_dir().join("go.mod");
    ok(&[
        "export",
        "--data-dir",
        s(&outside),
        "--out",
        s(&bundle),
        s(&go_mod),
    ]);
    let manifest = godepot_bundle::manifest::read_manifest(&bundle).expect("manifest");
    let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"example.com/f/@v/v1.1.0.zip"), "{paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("v1.0.0") && p.starts_with("example.com/f/")),
        "{paths:?}"
    );

    let inside = tmp.path().join("inside");
    ok(&["import", "--data-dir", s(&inside), s(&bundle)]);
    let server = GodepotProcess::start(bin(), &["--data-dir", s(&inside), "--offline"]);
    build_project(&u, &server.url(), &tmp.path().join("build"));
}

#[test]
fn importing_nothing_and_exporting_nowhere_say_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "no modules here").unwrap();
    let data = tmp.path().join("data");
    let stderr = fails(&["import", "--data-dir", s(&data), s(&empty)]);
    assert!(
        stderr.contains("error: ") && stderr.contains("holds nothing to import"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(
        !data.exists(),
        "a failed import leaves no data directory behind"
    );

    std::fs::create_dir(&data).unwrap();
    let missing = tmp.path().join("no-such-dir");
    let stderr = fails(&[
        "export",
        "--data-dir",
        s(&data),
        "--out",
        s(&missing.join("b.tar.zst")),
    ]);
    assert!(
        stderr.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_list_left_behind_by_a_crash_is_reported_by_verify_and_repaired() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let u = small_universe(&tmp.path().join("u"));
    let data = tmp.path().join("data");
    ok(&["import", "--data-dir", s(&data), s(&u.root)]);
    ok(&["verify", "--data-dir", s(&data)]);
    // A crash between publishing v1.1.0 and rewriting the list.
    let list = data.join("example.com/f/@v/list");
    std::fs::write(&list, "v1.0.0\n").unwrap();

    let out = godepot(&["verify", "--data-dir", s(&data)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("unlisted\texample.com/f/@v/list\tdoes not list v1.1.0"),
        "{stdout}"
    );
    // Re-importing what is already held repairs it, as `verify --repair` would.
    let json = ok(&["import", "--json", "--data-dir", s(&data), s(&u.root)]);
    let summary: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        (summary["stored"].as_u64(), summary["relisted"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.0.0\nv1.1.0\n");

    std::fs::write(&list, "").unwrap();
    let repaired = godepot(&["verify", "--repair", "--data-dir", s(&data)]);
    assert_eq!(repaired.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&list).unwrap(), "v1.0.0\nv1.1.0\n");
    ok(&["verify", "--data-dir", s(&data)]);
}
