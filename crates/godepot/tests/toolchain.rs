//! Go toolchains through godepot: `GOTOOLCHAIN=go1.99.0 go version` downloads the
//! `golang.org/toolchain` module (which always needs the checksum database) through godepot,
//! then again from an offline godepot with a clean module cache and GOPATH, and runs it.

mod common;

use godepot_testkit::universe::UniverseBuilder;
use godepot_testkit::{FixtureUpstream, GoEnv, TestSumdb, toolchain};

const DB_NAME: &str = "sum.godepot.test";
const GO_VERSION: &str = "1.99.0";

fn run_toolchain(proxy: &str, db: &TestSumdb, context: &str) {
    let mut go = GoEnv::new(proxy);
    go.set_env("GOSUMDB", &db.gosumdb());
    go.set_env("GOTOOLCHAIN", &format!("go{GO_VERSION}"));
    let out = go.ok(go.home(), ["version"]);
    assert_eq!(
        out.trim(),
        toolchain::banner(GO_VERSION),
        "{context}: the fixture toolchain did not run"
    );
}

#[test]
fn a_toolchain_downloads_through_godepot_and_then_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe =
        toolchain::add_fake_toolchain(UniverseBuilder::new(tmp.path().join("u")), GO_VERSION)
            .build();
    let db = TestSumdb::build(&universe, DB_NAME, 21);
    let upstream = FixtureUpstream::start(&universe.root);
    let data = tmp.path().join("data");
    let data_arg = data.to_str().expect("utf-8");
    let upstream_url = upstream.url();

    let mut online = godepot_testkit::GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data_arg,
            "--upstream",
            &upstream_url,
            "--sumdb",
            &db.gosumdb(),
            "--log-format",
            "json",
        ],
    );
    run_toolchain(&online.url(), &db, "online");
    let version = toolchain::version(GO_VERSION);
    assert!(
        data.join(format!("golang.org/toolchain/@v/{version}.zip"))
            .is_file(),
        "the toolchain zip was not kept"
    );
    assert!(
        upstream.hits_containing(&format!("/sumdb/{DB_NAME}/lookup/golang.org/toolchain@")) > 0,
        "the toolchain was not looked up in the checksum database"
    );
    online.stop();
    upstream.stop();

    let offline = godepot_testkit::GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data_arg,
            "--offline",
            "--sumdb",
            &db.gosumdb(),
            "--log-format",
            "json",
        ],
    );
    run_toolchain(&offline.url(), &db, "offline");
}

/// The air gap for toolchains: `prefetch --toolchain` gathers the toolchain module for the
/// host platform and its checksum-database proof; an offline godepot on that store alone lets
/// `GOTOOLCHAIN=go1.99.0 go version` download, verify and run it.
#[test]
fn prefetch_toolchain_then_serve_it_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe =
        toolchain::add_fake_toolchain(UniverseBuilder::new(tmp.path().join("u")), GO_VERSION)
            .build();
    let db = TestSumdb::build(&universe, DB_NAME, 21);
    let upstream = FixtureUpstream::start(&universe.root);
    let data = tmp.path().join("data");
    let (goos, goarch) = toolchain::host_platform();

    let (toolchain_arg, platform_arg) = (format!("go{GO_VERSION}"), format!("{goos}/{goarch}"));
    let out = common::godepot_cli(&[
        "prefetch",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--upstream",
        &upstream.url(),
        "--sumdb",
        &db.gosumdb(),
        "--toolchain",
        &toolchain_arg,
        "--platform",
        &platform_arg,
    ]);
    assert!(
        out.status.success(),
        "prefetch --toolchain failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = toolchain::version(GO_VERSION);
    assert!(
        data.join(format!("golang.org/toolchain/@v/{version}.zip"))
            .is_file(),
        "prefetch did not keep the toolchain zip"
    );
    upstream.stop();

    let offline = godepot_testkit::GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--offline",
            "--sumdb",
            &db.gosumdb(),
        ],
    );
    run_toolchain(&offline.url(), &db, "offline after prefetch --toolchain");
}

/// A project whose go.mod names a toolchain: prefetch gathers it without being told (for the
/// host platform), and inside the air gap `GOTOOLCHAIN=auto` switches to it there;
/// `--no-toolchains` gathers none.
#[test]
fn prefetch_gathers_the_toolchain_a_go_mod_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe =
        toolchain::add_fake_toolchain(UniverseBuilder::new(tmp.path().join("u")), GO_VERSION)
            .build();
    let db = TestSumdb::build(&universe, DB_NAME, 21);
    let upstream = FixtureUpstream::start(&universe.root);
    let project = tmp.path().join("app");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::write(
        project.join("go.mod"),
        format!("module example.com/app\n\ngo 1.21\n\ntoolchain go{GO_VERSION}\n"),
    )
    .expect("write go.mod");
    let go_mod = project.join("go.mod");
    let zip = format!(
        "golang.org/toolchain/@v/{}.zip",
        toolchain::version(GO_VERSION)
    );
    let (upstream_url, gosumdb) = (upstream.url(), db.gosumdb());
    let prefetch = |data: &std::path::Path, more: &[&str]| {
        let mut args = vec![
            "prefetch",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--upstream",
            &upstream_url,
            "--sumdb",
            &gosumdb,
            go_mod.to_str().expect("utf-8"),
        ];
        args.extend(more);
        let out = common::godepot_cli(&args);
        assert!(
            out.status.success(),
            "prefetch failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let without = tmp.path().join("without");
    prefetch(&without, &["--no-toolchains"]);
    assert!(
        !without.join(&zip).exists(),
        "--no-toolchains gathered a toolchain"
    );

    let data = tmp.path().join("data");
    prefetch(&data, &[]);
    assert!(
        data.join(&zip).is_file(),
        "prefetch did not gather the toolchain go.mod names"
    );
    upstream.stop();

    let offline = godepot_testkit::GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--offline",
            "--sumdb",
            &db.gosumdb(),
        ],
    );
    let mut go = GoEnv::new(&offline.url());
    go.set_env("GOSUMDB", &db.gosumdb());
    go.set_env("GOTOOLCHAIN", "auto");
    let out = go.ok(&project, ["version"]);
    assert_eq!(
        out.trim(),
        toolchain::banner(GO_VERSION),
        "GOTOOLCHAIN=auto did not switch"
    );
}
