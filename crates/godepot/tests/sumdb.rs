//! The checksum database through godepot: `go` with `GOSUMDB` on verifies every module
//! through godepot (online, then offline from godepot's cache alone), and nothing but the
//! configured database is ever proxied.

mod common;

use common::{Rig, assert_healthy, go_with_sumdb};
use godepot_testkit::http::try_http_request;
use godepot_testkit::{GoEnv, TestSumdb};

/// A name under the reserved `.test` top-level domain: no such host exists.
const DB_NAME: &str = "sum.godepot.test";

/// Builds the project from scratch (no go.sum), so every module is checked against the
/// database, then checks the client really used it.
fn build_verified(go: &GoEnv, rig: &Rig, context: &str) {
    let project = go.home().join(format!("project-{context}"));
    rig.universe.copy_project(&project);
    let _ = std::fs::remove_file(project.join("go.sum"));
    go.ok(&project, ["build", "./..."]);
    go.ok(&project, ["mod", "verify"]);
    let go_sum = std::fs::read_to_string(project.join("go.sum")).expect("go.sum written");
    assert!(
        go_sum.contains("example.com/Upper/CamelCase v1.1.0-Beta h1:"),
        "{context}: go.sum lacks the upper-case module:\n{go_sum}"
    );
    let remembered = go.gopath().join("pkg/sumdb").join(DB_NAME).join("latest");
    let latest = std::fs::read_to_string(&remembered).unwrap_or_else(|e| {
        panic!(
            "{context}: go did not consult the checksum database ({}: {e})",
            remembered.display()
        )
    });
    assert!(
        latest.starts_with(&format!("go.sum database tree\n{}\n", rig_db_size(rig))),
        "{context}: unexpected tree head {latest:?}"
    );
}

fn rig_db_size(rig: &Rig) -> String {
    let latest =
        std::fs::read_to_string(rig.universe.root.join("sumdb").join(DB_NAME).join("latest"))
            .expect("test database latest");
    latest.lines().nth(1).expect("size line").to_string()
}

#[test]
fn go_verifies_through_godepot_online_and_then_offline() {
    let rig = Rig::standard();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 7);

    // Online: godepot reaches the database through the upstream proxy's /sumdb/<name>/.
    let mut gd = rig.godepot(&["--sumdb", &db.gosumdb()]);
    let go = go_with_sumdb(&gd.url(), &db);
    build_verified(&go, &rig, "online");
    assert!(
        rig.upstream
            .hits_containing(&format!("/sumdb/{DB_NAME}/lookup/"))
            > 0,
        "godepot never asked the database for a lookup"
    );
    let cached = rig.data.join(".godepot/sumdb").join(DB_NAME);
    assert!(cached.join("tile").is_dir(), "tiles not cached");
    assert!(cached.join("lookup").is_dir(), "lookup answers not cached");
    gd.stop();

    // Offline, with the database and the upstream gone: clean module cache, clean GOPATH
    // (so no remembered tree head), everything verified from godepot's cache alone.
    rig.upstream.stop();
    let offline = rig.godepot(&["--offline", "--sumdb", &db.gosumdb()]);
    assert_healthy(&offline, "offline start");
    let go = go_with_sumdb(&offline.url(), &db);
    build_verified(&go, &rig, "offline");
}

#[test]
fn only_configured_databases_are_proxied_and_path_tricks_fetch_nothing() {
    let rig = Rig::small();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 9);
    // The database's own URL given: it is reached directly (here: the fixture's sumdb files).
    let spec = format!("{} {}/sumdb/{DB_NAME}", db.gosumdb(), rig.upstream.url());
    let gd = rig.godepot(&["--sumdb", &spec]);
    rig.upstream.reset_hits();
    let upstream_port = rig.upstream.addr().port();
    let cases: Vec<(String, &[u16])> = vec![
        ("/sumdb/other.godepot.test/supported".into(), &[404]),
        ("/sumdb/other.godepot.test/latest".into(), &[404]),
        (format!("/sumdb/127.0.0.1:{upstream_port}/latest"), &[404]),
        (
            format!("/sumdb/127.0.0.1:{upstream_port}/sumdb/{DB_NAME}/latest"),
            &[400, 404],
        ),
        ("/sumdb/../example.com/f/@v/list".into(), &[400]),
        (format!("/sumdb/{DB_NAME}/%2e%2e/latest"), &[400]),
        (
            format!("/sumdb/{DB_NAME}/lookup/..%2f..%2fetc@v1.0.0"),
            &[400],
        ),
        (format!("/sumdb/{DB_NAME}/lookup/example.com/f@v1"), &[400]),
        (
            format!("/sumdb/{DB_NAME}/lookup/example.com/Upper/Mod@v1.0.0"),
            &[400],
        ),
        (format!("/sumdb/{DB_NAME}/tile/8/0/1"), &[400]),
        (format!("/sumdb/{DB_NAME}/tile/8/0/000.p/999"), &[400]),
        (format!("/sumdb/{DB_NAME}/tile/8/0/../../latest"), &[400]),
        (format!("/sumdb/{DB_NAME}//latest"), &[400]),
        (format!("/sumdb/{DB_NAME}/other"), &[404]),
        (format!("/sumdb/{DB_NAME}"), &[400, 404]),
        ("/sumdb/".into(), &[400, 404]),
    ];
    let mut failures = Vec::new();
    for (path, want) in &cases {
        match try_http_request("GET", &format!("{}{path}", gd.url()), &[]) {
            Ok(r) if want.contains(&r.status) => {}
            Ok(r) => failures.push(format!(
                "{path}: {} {:?}, want {want:?}",
                r.status,
                r.text()
            )),
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "wrong answers:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        rig.upstream.total_hits(),
        0,
        "refused requests reached the network: {:?}",
        rig.upstream.all_hits()
    );
    assert!(
        !rig.data.join(".godepot/sumdb").exists(),
        "refused requests left files behind"
    );

    // The configured database works, and what never changes is fetched once.
    let get = |path: &str| {
        try_http_request("GET", &format!("{}/sumdb/{DB_NAME}/{path}", gd.url()), &[])
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    assert_eq!(get("supported").status, 200);
    let lookup = TestSumdb::lookup_path("example.com/Upper/Mod", "v1.0.0");
    for path in [
        "latest",
        lookup.as_str(),
        "tile/8/0/000",
        "tile/8/1/000.p/1",
    ] {
        let want = std::fs::read(db.dir.join(path)).expect("database file");
        for round in 0..2 {
            let r = get(path);
            assert_eq!(r.status, 200, "{path} (round {round}): {}", r.text());
            assert_eq!(r.body, want, "{path} (round {round}): bytes differ");
        }
    }
    for immutable in [lookup.as_str(), "tile/8/0/000"] {
        assert_eq!(
            rig.upstream.hits(&format!("/sumdb/{DB_NAME}/{immutable}")),
            1,
            "{immutable} was fetched more than once"
        );
    }
    assert_eq!(
        rig.upstream.hits_containing("/supported"),
        0,
        "a database with a URL must be reached directly"
    );
}

#[test]
fn a_tree_head_signed_by_another_key_is_refused() {
    let rig = Rig::small();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 11);
    // Same name, other key: what the fixture serves is not signed by the configured key.
    let impostor_key = {
        let other = tempfile::tempdir().expect("tempdir");
        let copy = godepot_testkit::Universe {
            root: other.path().to_path_buf(),
            project: None,
            modules: Vec::new(),
        };
        TestSumdb::build(&copy, DB_NAME, 12).gosumdb()
    };
    assert_ne!(impostor_key, db.gosumdb());
    let gd = rig.godepot(&["--sumdb", &impostor_key]);
    let r = try_http_request("GET", &format!("{}/sumdb/{DB_NAME}/latest", gd.url()), &[])
        .expect("latest");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        !rig.data
            .join(".godepot/sumdb")
            .join(DB_NAME)
            .join("latest")
            .exists(),
        "a refused tree head was kept"
    );
    assert_security_warning(&gd, DB_NAME);
}

/// A `security: true` warning naming `needle` is logged (waited for: the log reader may lag
/// behind the response, which is not a timing assertion but a bounded wait).
fn assert_security_warning(gd: &godepot_testkit::GodepotProcess, needle: &str) {
    let found = gd.wait_for_json_log(std::time::Duration::from_secs(10), |v| {
        let text = v.to_string();
        text.contains("\"security\":true") && text.contains(needle)
    });
    assert!(
        found.is_some(),
        "no security warning naming {needle} logged: {:?}",
        gd.logs()
    );
}

#[test]
fn a_tampered_upstream_zip_is_refused_and_nothing_is_stored() {
    let rig = Rig::small();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 13);
    // Upstream now sends a different (well-formed) zip for a version the database knows.
    let forged = godepot_testkit::universe::zip_bytes(&[
        ("example.com/f@v1.1.0/go.mod", b"module example.com/f\n"),
        (
            "example.com/f@v1.1.0/f.go",
            b"package f\n\n// V is not what was published.\nconst V = 666\n",
        ),
    ]);
    rig.upstream.set_fault(
        "example.com/f/@v/v1.1.0.zip",
        godepot_testkit::Fault::ReplaceBody(forged),
    );
    let gd = rig.godepot(&["--sumdb", &db.gosumdb()]);

    // An untouched version passes the check.
    let good = try_http_request(
        "GET",
        &format!("{}/example.com/f/@v/v1.0.0.zip", gd.url()),
        &[],
    )
    .expect("good zip");
    assert_eq!(good.status, 200, "{}", good.text());
    assert_eq!(good.body, rig.fixture("example.com/f", "v1.0.0", "zip"));

    let r = try_http_request(
        "GET",
        &format!("{}/example.com/f/@v/v1.1.0.zip", gd.url()),
        &[],
    )
    .expect("tampered zip");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.text().contains("checksum mismatch"), "{}", r.text());
    assert!(
        !rig.data.join("example.com/f/@v/v1.1.0.zip").exists(),
        "the tampered zip was stored"
    );
    assert!(
        !rig.data.join("example.com/f/@v/v1.1.0.ziphash").exists(),
        "a hash of the tampered zip was stored"
    );
    assert_security_warning(&gd, "example.com/f");

    // go, verifying with the same database through godepot, fails with a checksum error.
    let go = go_with_sumdb(&gd.url(), &db);
    let work = go.home().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    std::fs::write(
        work.join("go.mod"),
        "module example.com/tamper\n\ngo 1.21\n",
    )
    .expect("go.mod");
    let out = go.run(&work, ["mod", "download", "example.com/f@v1.1.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "go accepted a tampered module");
    assert!(
        stderr.contains("checksum mismatch"),
        "go failed otherwise: {stderr}"
    );
    assert!(
        !rig.data.join("example.com/f/@v/v1.1.0.zip").exists(),
        "the tampered zip was stored"
    );
}

#[test]
fn a_lookup_record_outside_its_tree_is_refused() {
    let rig = Rig::small();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 14);
    let lookup = TestSumdb::lookup_path("example.com/f", "v1.0.0");
    // Keep the signed tree head, change the record: the signature still verifies, but the
    // record is not in that tree, which only the inclusion proof can tell.
    let genuine =
        String::from_utf8(std::fs::read(db.dir.join(&lookup)).expect("lookup")).expect("utf-8");
    let (id, rest) = genuine.split_once('\n').expect("id line");
    let (_, note) = rest.split_once("\n\n").expect("record");
    let forged = format!(
        "{id}\nexample.com/f v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nexample.com/f v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n{note}"
    );
    rig.upstream.set_fault(
        &format!("/sumdb/{DB_NAME}/{lookup}"),
        godepot_testkit::Fault::ReplaceBody(forged.into_bytes()),
    );
    let gd = rig.godepot(&["--sumdb", &db.gosumdb()]);
    let r = try_http_request(
        "GET",
        &format!("{}/sumdb/{DB_NAME}/{lookup}", gd.url()),
        &[],
    )
    .expect("lookup");
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        !rig.data
            .join(".godepot/sumdb")
            .join(DB_NAME)
            .join(&lookup)
            .exists(),
        "a forged record was kept"
    );
    // And the module it would have vouched for is not taken in either.
    let zip = try_http_request(
        "GET",
        &format!("{}/example.com/f/@v/v1.0.0.zip", gd.url()),
        &[],
    )
    .expect("zip");
    assert_ne!(zip.status, 200, "a module was taken in on a forged record");
    assert!(!rig.data.join("example.com/f/@v/v1.0.0.zip").exists());
}

#[test]
fn prefetch_with_a_keyed_database_keeps_what_offline_go_needs_to_verify() {
    let rig = Rig::standard();
    let db = TestSumdb::build(&rig.universe, DB_NAME, 15);
    // A complete go.mod (what `go mod tidy` writes), so that prefetch knows every module.
    let tidy = GoEnv::new(&rig.universe.proxy_url());
    let project = rig.universe.copy_project(&tidy.home().join("tidy"));
    tidy.ok(&project, ["mod", "tidy"]);
    let go_mod = project.join("go.mod");
    let mut cmd = common::godepot_command(&[
        "prefetch",
        "--upstream",
        &rig.upstream.url(),
        "--sumdb",
        &db.gosumdb(),
    ]);
    cmd.arg("--data-dir").arg(&rig.data).arg(&go_mod);
    let out = cmd.output().expect("run godepot prefetch");
    assert!(
        out.status.success(),
        "prefetch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rig.data
            .join(".godepot/sumdb")
            .join(DB_NAME)
            .join("lookup")
            .is_dir(),
        "prefetch kept no lookup answers"
    );

    // The air-gapped side: no upstream, no database, clean client caches.
    rig.upstream.stop();
    let offline = rig.godepot(&["--offline", "--sumdb", &db.gosumdb()]);
    let go = go_with_sumdb(&offline.url(), &db);
    build_verified(&go, &rig, "after-prefetch");
}
