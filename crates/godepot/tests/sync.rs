//! `godepot sync` and `serve --sync-interval` end to end: a store holding `example.com/m`
//! v0.1.0, an upstream that then gains a patch, a minor and a major version; each `--follow`
//! fetches exactly its versions, a second sync costs only 304s, a dead upstream is reported
//! with nothing changed (exit 1), and the go command resolves what was synced from the store
//! alone.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{godepot_cli, tail};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, UniverseBuilder, fsutil};

const MOD: &str = "example.com/m";
const OTHER: &str = "example.com/other";

/// The upstream tree: `example.com/m` at `versions`, `example.com/other` at v1.0.0 (built
/// deterministically, so earlier versions keep their bytes when it is built again).
fn publish(root: &Path, versions: &[&str]) {
    let mut builder = UniverseBuilder::new(root).module(MOD);
    for v in versions {
        builder = builder.version(v).file("m.go", "package m\n");
    }
    builder.module(OTHER).version("v1.0.0").build();
}

struct Rig {
    tmp: tempfile::TempDir,
    upstream: FixtureUpstream,
    /// The store's directory.
    data: String,
}

impl Rig {
    /// Upstream with v0.1.0 only; `data` filled from it by prefetch; then upstream gains
    /// v0.1.1, v0.2.0 and v1.0.0.
    fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let served = tmp.path().join("upstream");
        publish(&served, &["v0.1.0"]);
        let upstream = FixtureUpstream::start(&served);
        let data = tmp.path().join("data").to_str().unwrap().to_owned();
        let rig = Rig {
            tmp,
            upstream,
            data,
        };
        let out = rig.run(&[
            "prefetch",
            "--no-deps",
            "--data-dir",
            rig.data(),
            "--upstream",
            &rig.upstream.url(),
            &format!("{MOD}@v0.1.0"),
            &format!("{OTHER}@v1.0.0"),
        ]);
        assert!(out.status.success(), "prefetch: {}", text(&out.stderr));
        publish(&served, &["v0.1.0", "v0.1.1", "v0.2.0", "v1.0.0"]);
        rig.upstream.reset_hits();
        rig
    }

    fn data(&self) -> &str {
        &self.data
    }

    fn run(&self, args: &[&str]) -> Output {
        godepot_cli(args)
    }

    /// `godepot sync --json` with `extra`: its exit code and report.
    fn sync(&self, extra: &[&str]) -> (i32, serde_json::Value) {
        let url = self.upstream.url();
        let mut args = vec![
            "sync",
            "--json",
            "--data-dir",
            self.data(),
            "--upstream",
            &url,
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "sync --json printed no JSON ({e}): {}\nstderr: {}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }

    /// The versions of `module` the store lists.
    fn held(&self, module: &str) -> Vec<String> {
        let list = Path::new(self.data()).join(module).join("@v/list");
        let text = std::fs::read_to_string(list).unwrap_or_default();
        let mut versions: Vec<String> = text.lines().map(str::to_owned).collect();
        versions.sort();
        versions
    }

    /// Every file of the store but this process's scratch space.
    fn tree(&self) -> BTreeMap<String, u64> {
        let mut tree = fsutil::tree(Path::new(self.data()));
        tree.retain(|rel, _| !rel.starts_with(".godepot/tmp"));
        tree
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fetched(report: &serde_json::Value) -> Vec<String> {
    let fetched = report["fetched"].as_array().expect("fetched");
    fetched
        .iter()
        .map(|f| {
            format!(
                "{}@{}",
                f["module"].as_str().unwrap(),
                f["version"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn each_follow_rule_fetches_exactly_its_versions() {
    let cases = [
        ("none", vec![]),
        ("patch", vec!["v0.1.1"]),
        ("minor", vec!["v0.1.1", "v0.2.0"]),
        ("all", vec!["v0.1.1", "v0.2.0", "v1.0.0"]),
    ];
    for (follow, want) in cases {
        let rig = Rig::new();
        let (code, report) = rig.sync(&["--follow", follow]);
        assert_eq!(code, 0, "{follow}: {report}");
        assert_eq!(report["modules_checked"], 2, "{follow}: {report}");
        assert_eq!(report["follow"], follow);
        let want_fetched: Vec<String> = want.iter().map(|v| format!("{MOD}@{v}")).collect();
        assert_eq!(fetched(&report), want_fetched, "{follow}: {report}");
        let mut want_held = vec!["v0.1.0".to_string()];
        want_held.extend(want.iter().map(|v| v.to_string()));
        assert_eq!(rig.held(MOD), want_held, "{follow}");
        assert_eq!(rig.held(OTHER), ["v1.0.0"], "{follow}");
    }
}

#[test]
fn a_second_sync_makes_conditional_requests_only_and_fetches_nothing() {
    let rig = Rig::new();
    let (code, first) = rig.sync(&["--follow", "all"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(fetched(&first).len(), 3, "{first}");
    rig.upstream.reset_hits();

    let (code, second) = rig.sync(&["--follow", "all"]);
    assert_eq!(code, 0, "{second}");
    assert_eq!(fetched(&second), Vec::<String>::new(), "{second}");
    assert_eq!(second["lists_changed"], serde_json::json!([]), "{second}");
    // A list and an @latest for each of the two modules, each answered 304; nothing else.
    assert_eq!(second["not_modified"], 4, "{second}");
    assert_eq!(rig.upstream.not_modified(""), 4);
    assert_eq!(
        rig.upstream.total_hits(),
        4,
        "{:?}",
        rig.upstream.all_hits()
    );
}

#[test]
fn upstream_down_is_reported_and_changes_nothing() {
    let rig = Rig::new();
    let before = rig.tree();
    rig.upstream.stop();
    let (code, report) = rig.sync(&["--follow", "all"]);
    assert_eq!(code, 1, "{report}");
    let failures = report["failures"].as_array().expect("failures");
    let modules: Vec<&str> = failures
        .iter()
        .map(|f| f["module"].as_str().unwrap())
        .collect();
    assert_eq!(modules, [MOD, OTHER], "{report}");
    assert_eq!(rig.tree(), before);

    // Readable without --json: one line per failure, the summary and the error on stderr.
    let url = rig.upstream.url();
    let out = rig.run(&["sync", "--data-dir", rig.data(), "--upstream", &url]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("failed\t{MOD}\t")), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("synced 2 modules (follow none)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: sync incomplete: 2 failures"),
        "{stderr}"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let rig = Rig::new();
    let url = rig.upstream.url();
    let bad_follow = rig.run(&[
        "sync",
        "--data-dir",
        rig.data(),
        "--upstream",
        &url,
        "--follow",
        "newest",
    ]);
    assert_eq!(
        bad_follow.status.code(),
        Some(2),
        "{}",
        text(&bad_follow.stderr)
    );
    let missing = rig.tmp.path().join("nowhere");
    let out = rig.run(&[
        "sync",
        "--data-dir",
        missing.to_str().unwrap(),
        "--upstream",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("error: data directory"),
        "{}",
        text(&out.stderr)
    );
    let off = rig.run(&["sync", "--data-dir", rig.data(), "--upstream", "off"]);
    assert_eq!(off.status.code(), Some(2), "{}", text(&off.stderr));
}

#[test]
fn the_go_command_resolves_the_synced_version_from_the_store_alone() {
    let rig = Rig::new();
    let (code, report) = rig.sync(&["--follow", "minor"]);
    assert_eq!(code, 0, "{report}");
    rig.upstream.stop();
    // The store is a GOPROXY=file:// tree: nothing else is asked.
    let go = GoEnv::new(&format!("file://{}", rig.data()));
    let out = go.ok(
        rig.tmp.path(),
        ["mod", "download", "-json", &format!("{MOD}@latest")],
    );
    let info: serde_json::Value = serde_json::from_str(&out).expect("go mod download -json");
    assert_eq!(info["Version"], "v0.2.0", "{out}");
    assert!(info["Error"].is_null(), "{out}");
}

#[test]
fn serve_syncs_in_the_background_and_logs_the_summary() {
    let rig = Rig::new();
    let url = rig.upstream.url();
    let server = GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            rig.data(),
            "--upstream",
            &url,
            "--log-format",
            "json",
            "--sync-interval",
            "1s",
            "--follow",
            "patch",
        ],
    );
    let summary = server.wait_for_json_log(Duration::from_secs(60), |v| {
        v["modules_checked"] == 2 && v["fetched"] == 1
    });
    assert!(
        summary.is_some(),
        "no sync summary logged:\n{}",
        tail(&server)
    );
    assert_eq!(rig.held(MOD), ["v0.1.0", "v0.1.1"]);
    // The next runs ask conditionally: 304s, nothing fetched.
    let quiet = server.wait_for_json_log(Duration::from_secs(60), |v| {
        v["not_modified"] == 4 && v["fetched"] == 0
    });
    assert!(
        quiet.is_some(),
        "no conditional sync logged:\n{}",
        tail(&server)
    );
}
