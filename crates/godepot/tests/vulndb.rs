//! The Go vulnerability database, mirrored and served under `/vulndb/`, with the real
//! `govulncheck` as the oracle: on a fixture project that calls a vulnerable function, it must
//! find exactly what it finds reading the fixture database straight from disk
//! (`-db file://…`), through godepot online, with the source stopped, with godepot
//! `--offline`, and inside an air gap after prefetch → export → import into a fresh store.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::{bin, get, godepot_ok, tail};
use godepot_testkit::vulndb::{FixtureVuln, Scan, scan, write_db};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, UniverseBuilder, http_request};

const VULN_GO: &str = "package vuln\n\n// Bad is the vulnerable function.\nfunc Bad() int { return 1 }\n\n// Fine is not.\nfunc Fine() int { return 2 }\n";
const SAFE_GO: &str = "package safe\n\n// OK is called; Unused (named by an entry) does not exist.\nfunc OK() int { return 3 }\n";
const MAIN_GO: &str = "package main\n\nimport (\n\t\"example.com/safe\"\n\t\"example.com/vuln\"\n)\n\nfunc main() {\n\t_ = vuln.Bad() + safe.OK()\n}\n";

struct World {
    tmp: tempfile::TempDir,
    upstream: FixtureUpstream,
    db_dir: std::path::PathBuf,
    project: std::path::PathBuf,
    modified: String,
}

/// The universe (a vulnerable module at v1.0.0, fixed in v1.1.0; another module an entry
/// names without a symbol the project reaches), the project, and the fixture database:
/// - GO-2024-0001 affects example.com/vuln before 1.1.0, symbol Bad (called);
/// - GO-2024-0002 affects every version of it, but is withdrawn;
/// - GO-2024-0003 affects it from 1.5.0 to 1.6.0 only;
/// - GO-2024-0004 affects example.com/safe before 1.0.1, symbol Unused (not reached).
fn world() -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("app");
    let universe = UniverseBuilder::new(tmp.path().join("u"))
        .module("example.com/vuln")
        .version("v1.0.0")
        .file("vuln.go", VULN_GO)
        .version("v1.1.0")
        .file("vuln.go", VULN_GO)
        .module("example.com/safe")
        .version("v1.0.0")
        .file("safe.go", SAFE_GO)
        .project(&project, "example.com/app")
        .file("main.go", MAIN_GO)
        .require("example.com/vuln", "v1.0.0")
        .require("example.com/safe", "v1.0.0")
        .build();
    let db_dir = universe.root.join("vulndb");
    let modified = write_db(
        &db_dir,
        &[
            FixtureVuln::new("GO-2024-0001", "example.com/vuln")
                .range("0", Some("1.1.0"))
                .symbols(&["Bad"])
                .alias("CVE-2024-0001")
                .modified("2024-03-02T10:00:00Z"),
            FixtureVuln::new("GO-2024-0002", "example.com/vuln")
                .range("0", None)
                .symbols(&["Bad"])
                .withdrawn(),
            FixtureVuln::new("GO-2024-0003", "example.com/vuln")
                .range("1.5.0", Some("1.6.0"))
                .symbols(&["Bad"]),
            FixtureVuln::new("GO-2024-0004", "example.com/safe")
                .range("0", Some("1.0.1"))
                .symbols(&["Unused"]),
        ],
    );
    let upstream = FixtureUpstream::start(&universe.root);
    World {
        tmp,
        upstream,
        db_dir,
        project,
        modified,
    }
}

impl World {
    fn vulndb_url(&self) -> String {
        format!("{}/vulndb", self.upstream.url())
    }

    fn serve(&self, data: &Path, extra: &[&str]) -> GodepotProcess {
        let data = data.to_str().expect("utf-8");
        let mut args = vec!["--data-dir", data, "--log-format", "json"];
        args.extend_from_slice(extra);
        GodepotProcess::start(bin(), &args)
    }

    /// govulncheck on the project, its modules through `godepot`, the database `db`.
    fn scan(&self, godepot: &GodepotProcess, db: &str) -> Scan {
        let go = GoEnv::new(&godepot.url());
        scan(&go, &self.project, db)
    }
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn govulncheck_finds_the_same_through_godepot_online_stale_offline_and_across_the_gap() {
    let w = world();
    let data = w.tmp.path().join("data");
    let vulndb = w.vulndb_url();
    let upstream = w.upstream.url();
    let godepot = w.serve(
        &data,
        &[
            "--upstream",
            &upstream,
            "--vulndb",
            &vulndb,
            "--list-ttl",
            "1s",
        ],
    );

    // The oracle: the fixture read from disk.
    let oracle = w.scan(&godepot, &format!("file://{}", w.db_dir.display()));
    assert_eq!(oracle.called, ids(&["GO-2024-0001"]), "{oracle:?}");
    assert!(oracle.all.contains("GO-2024-0004"), "{oracle:?}");
    assert!(
        !oracle.all.contains("GO-2024-0002"),
        "withdrawn: {oracle:?}"
    );
    assert!(
        !oracle.all.contains("GO-2024-0003"),
        "other range: {oracle:?}"
    );
    assert_eq!(
        oracle.db_last_modified.as_deref(),
        Some(w.modified.as_str())
    );

    let served = format!("{}/vulndb", godepot.url());
    let online = w.scan(&godepot, &served);
    assert_eq!(
        online,
        Scan { ..oracle.clone() },
        "online\n{}",
        tail(&godepot)
    );

    // Byte for byte, with validators and conditional requests.
    let r = get(&godepot, "/vulndb/ID/GO-2024-0001.json");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        std::fs::read(w.db_dir.join("ID/GO-2024-0001.json")).unwrap()
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("last-modified"),
        Some("Sat, 02 Mar 2024 10:00:00 GMT")
    );
    let etag = r.header("etag").expect("an ETag");
    let again = http_request(
        "GET",
        &format!("{}/vulndb/ID/GO-2024-0001.json", godepot.url()),
        &[("If-None-Match", etag)],
    );
    assert_eq!(again.status, 304);
    let since = http_request(
        "GET",
        &format!("{}/vulndb/index/db.json", godepot.url()),
        &[("If-Modified-Since", "Sat, 02 Mar 2024 10:00:00 GMT")],
    );
    assert_eq!(since.status, 304);
    for (path, status) in [
        ("/vulndb/ID/GO-2099-9999.json", 404),
        ("/vulndb/ID/..%2Fx.json", 400),
        ("/vulndb/ID/.hidden.json", 400),
        ("/vulndb/index/other.json", 404),
        ("/vulndb/", 404),
    ] {
        let r = get(&godepot, path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(!r.text().is_empty(), "{path}: a reason");
    }

    // The source stopped: the copy held is served (the indexes past their TTL).
    w.upstream.stop();
    std::thread::sleep(Duration::from_millis(1100));
    let stale = w.scan(&godepot, &served);
    assert_eq!(stale, oracle, "source stopped\n{}", tail(&godepot));
    assert!(
        godepot
            .wait_for_log(Duration::from_secs(5), "serving the copy held")
            .is_some(),
        "the stale answer is logged\n{}",
        tail(&godepot)
    );
    drop(godepot);

    // Offline, from the store alone.
    let offline = w.serve(&data, &["--offline"]);
    let from_store = w.scan(&offline, &format!("{}/vulndb", offline.url()));
    assert_eq!(from_store, oracle, "offline\n{}", tail(&offline));
    drop(offline);

    // Across the gap: prefetch (with the whole database) → export → import into a fresh store.
    w.upstream.restart();
    let outside = w.tmp.path().join("outside");
    let gomod = w.project.join("go.mod");
    godepot_ok(&[
        "prefetch",
        "--data-dir",
        outside.to_str().unwrap(),
        "--upstream",
        &upstream,
        &format!("--vulndb={vulndb}"),
        gomod.to_str().unwrap(),
    ]);
    let bundle = w.tmp.path().join("carry.tar.zst");
    godepot_ok(&[
        "export",
        "--data-dir",
        outside.to_str().unwrap(),
        "--out",
        bundle.to_str().unwrap(),
    ]);
    w.upstream.stop();
    let inside = w.tmp.path().join("inside");
    let out = common::godepot_cli(&[
        "import",
        "--data-dir",
        inside.to_str().unwrap(),
        bundle.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("vulnerability database: kept the copy carried"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    godepot_ok(&["verify", "--data-dir", inside.to_str().unwrap()]);
    let gap = w.serve(&inside, &["--offline"]);
    let across = w.scan(&gap, &format!("{}/vulndb", gap.url()));
    assert_eq!(
        across,
        oracle,
        "after prefetch, export, import\n{}",
        tail(&gap)
    );
}

#[test]
fn import_keeps_the_newer_copy_and_refuses_an_inconsistent_one() {
    let w = world();
    let upstream = w.upstream.url();
    let vulndb = w.vulndb_url();
    let outside = w.tmp.path().join("outside");
    let gomod = w.project.join("go.mod");
    godepot_ok(&[
        "prefetch",
        "--data-dir",
        outside.to_str().unwrap(),
        "--upstream",
        &upstream,
        &format!("--vulndb={vulndb}"),
        gomod.to_str().unwrap(),
    ]);
    let mirror = |data: &Path| {
        godepot_ok(&[
            "sync",
            "--data-dir",
            data.to_str().unwrap(),
            "--upstream",
            &upstream,
            "--vulndb",
            &vulndb,
        ])
    };
    let old = w.tmp.path().join("old.tar.zst");
    godepot_ok(&[
        "export",
        "--data-dir",
        outside.to_str().unwrap(),
        "--out",
        old.to_str().unwrap(),
    ]);

    // A newer database at the source.
    write_db(
        &w.db_dir,
        &[FixtureVuln::new("GO-2024-0001", "example.com/vuln")
            .range("0", Some("1.1.0"))
            .symbols(&["Bad"])
            .modified("2024-05-01T00:00:00Z")],
    );
    mirror(&outside);
    let new = w.tmp.path().join("new.tar.zst");
    godepot_ok(&[
        "export",
        "--data-dir",
        outside.to_str().unwrap(),
        "--out",
        new.to_str().unwrap(),
    ]);

    let inside = w.tmp.path().join("inside");
    let import = |bundle: &Path| {
        let out = common::godepot_cli(&[
            "import",
            "--data-dir",
            inside.to_str().unwrap(),
            bundle.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = import(&new);
    assert!(
        said.contains("kept the copy carried (modified 2024-05-01T00:00:00Z"),
        "{said}"
    );
    let said = import(&old);
    assert!(
        said.contains("kept the copy held (modified 2024-05-01T00:00:00Z): the one carried (modified 2024-03-02T10:00:00Z) is not newer"),
        "{said}"
    );
    let held = std::fs::read(inside.join(".godepot/vulndb/index/db.json")).unwrap();
    assert_eq!(held, br#"{"modified":"2024-05-01T00:00:00Z"}"#);

    // A bundle whose database contradicts itself is refused whole.
    let bad = w.tmp.path().join("bad.tar.zst");
    let older = br#"{"modified":"2023-01-01T00:00:00Z"}"#.to_vec();
    godepot_testkit::tamper::rewrite_bundle(&new, &bad, |entries| {
        let sha256: String = godepot_module::sha256(&older)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for (path, data) in entries.iter_mut() {
            if path == "vulndb/index/db.json" {
                *data = older.clone();
            }
        }
        // The manifest agrees with the bytes: only the database's own check can tell.
        let (_, manifest) = entries
            .iter_mut()
            .find(|(p, _)| p == ".godepot/manifest.json")
            .expect("manifest");
        let mut m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
        for f in m["files"].as_array_mut().unwrap() {
            if f["path"] == "vulndb/index/db.json" {
                f["sha256"] = serde_json::json!(sha256);
                f["size"] = serde_json::json!(older.len());
            }
        }
        *manifest = serde_json::to_vec(&m).unwrap();
    });
    let fresh = w.tmp.path().join("fresh");
    let out = common::godepot_cli(&[
        "import",
        "--data-dir",
        fresh.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("index/db.json: modified 2023-01-01T00:00:00Z, before ID/GO-2024-0001.json"),
        "{err}"
    );
    assert!(!fresh.join(".godepot/vulndb").exists(), "nothing imported");
}
