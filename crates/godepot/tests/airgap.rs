//! Issue 4's air gap, end to end, as a user runs it, with the real `go` command as the oracle.
//!
//! "Outside": `godepot prefetch` of a project and a workspace from the fixture upstream, then
//! `godepot export`. "Inside": `godepot import` of the bundle into a fresh store, then
//! `godepot serve --offline` with the upstream stopped (no route), and every go command a
//! build needs from a clean module cache. The fixture (replace, exclude, a test-only
//! dependency, a version needed only for its go.mod, a two-module go.work) is shared with
//! `prefetch.rs`, in `common/project.rs`.
//!
//! Covered elsewhere, not repeated here: `bundle.rs` refuses a bundle with one byte flipped,
//! one truncated and one with a zip swapped for another version's (naming the file, store
//! unchanged), reports conflicts, checks that two exports are byte-identical, that `tar -x`
//! alone gives a usable tree, and `verify --repair`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::bin;
use common::godepot_ok as ok;
use common::project::{
    Fixture, P, check_project_offline, check_workspace_offline, fixture, withhold,
};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, fsutil, serde_json};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `godepot prefetch` of the project's go.mod and the workspace's go.work; returns the
/// `--json` summary.
fn prefetch(f: &Fixture, upstream: &FixtureUpstream, data: &Path) -> serde_json::Value {
    let (go_mod, go_work) = (f.project.join("go.mod"), f.work.join("go.work"));
    let url = upstream.url();
    let out = ok(&[
        "prefetch",
        "--json",
        "--data-dir",
        s(data),
        "--upstream",
        &url,
        s(&go_mod),
        s(&go_work),
    ]);
    serde_json::from_str(&out).expect("prefetch --json")
}

/// `godepot serve --offline --log-format json` on `data`.
fn serve_offline(data: &Path) -> GodepotProcess {
    GodepotProcess::start(
        bin(),
        &["--offline", "--log-format", "json", "--data-dir", s(data)],
    )
}

/// The server answered everything the go commands asked from what it holds: no request
/// logged as a cache miss, none answered 5xx, and no 404 for a version's `.info`, `.mod` or
/// `.zip` (which would mean the bundle lacked something a go command tried to fetch).
fn assert_served_from_store(server: &GodepotProcess) {
    // The request logs of the go commands are written before this one's.
    common::get(server, "/healthz");
    let synced = server.wait_for_json_log(std::time::Duration::from_secs(30), |r| {
        r["path"] == "/healthz"
    });
    assert!(
        synced.is_some(),
        "no log of /healthz:\n{}",
        common::tail(server)
    );
    let requests: Vec<serde_json::Value> = server
        .json_logs()
        .into_iter()
        .filter(|r| r["message"] == "request" && r["path"] != "/healthz")
        .collect();
    assert!(
        requests
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.ends_with(".zip"))),
        "the go commands fetched no zip through godepot: {requests:?}"
    );
    for r in &requests {
        let path = r["path"].as_str().unwrap_or_default();
        let status = r["status"].as_u64().unwrap_or_default();
        let artifact = [".info", ".mod", ".zip"].iter().any(|e| path.ends_with(e));
        assert!(
            r["cache"] != "miss" && status < 500 && !(artifact && status == 404),
            "offline godepot could not answer from its store: {r}"
        );
    }
}

/// Every file outside `.godepot/`, with its bytes; with `sort_lists`, `@v/list` files as
/// sorted lines, because a list's order records when versions arrived (prefetch stores them
/// as they come, an import in order), which the go command ignores.
fn store_content(root: &Path, sort_lists: bool) -> BTreeMap<String, Vec<u8>> {
    fsutil::tree(root)
        .into_keys()
        .filter(|p| !p.starts_with(".godepot/"))
        .map(|p| {
            let mut bytes = std::fs::read(root.join(&p)).expect("read store file");
            if sort_lists && p.ends_with("/@v/list") {
                let mut lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
                lines.sort_unstable();
                bytes = lines.concat();
            }
            (p, bytes)
        })
        .collect()
}

/// Both stores hold the same files with the same bytes (outside `.godepot/`); names the
/// files that differ.
fn assert_same_store(a: &Path, b: &Path, sort_lists: bool) {
    let (a_files, b_files) = (store_content(a, sort_lists), store_content(b, sort_lists));
    let differ: Vec<&String> = a_files
        .keys()
        .chain(b_files.keys())
        .filter(|p| a_files.get(*p) != b_files.get(*p))
        .collect();
    assert!(
        differ.is_empty(),
        "{} and {} differ in {differ:?}",
        a.display(),
        b.display()
    );
}

/// The paths a bundle carries, but the `@v/list` files (derived: the importing store keeps
/// its own).
fn bundle_artifacts(bundle: &Path) -> Vec<String> {
    let manifest = godepot_bundle::manifest::read_manifest(bundle).expect("read manifest");
    manifest
        .files
        .into_iter()
        .map(|f| f.path)
        .filter(|p| !p.ends_with("/@v/list"))
        .collect()
}

#[test]
fn a_prefetched_bundle_builds_the_project_and_workspace_with_no_route_out() {
    let f = fixture();
    let upstream = FixtureUpstream::start(&f.universe.root);
    let root = f.data.parent().expect("fixture dir");
    let (outside, inside) = (root.join("outside"), root.join("inside"));
    let bundle = root.join("depot.tar.zst");

    let summary = prefetch(&f, &upstream, &outside);
    assert_eq!(summary["failed"], 0, "{summary}");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&bundle)]);

    upstream.stop();
    let imported = ok(&["import", "--json", "--data-dir", s(&inside), s(&bundle)]);
    let imported: serde_json::Value = serde_json::from_str(&imported).expect("import --json");
    assert!(imported["stored"].as_u64() > Some(0), "{imported}");
    assert_same_store(&inside, &outside, true);

    let server = serve_offline(&inside);
    check_project_offline(&server.url(), &f.project);
    check_workspace_offline(&server.url(), &f.work);
    assert_served_from_store(&server);
}

#[test]
fn an_incremental_bundle_carries_only_a_new_dependency_version() {
    let f = fixture();
    let root = f.data.parent().expect("fixture dir").to_path_buf();
    let new = format!("{P}/shared@v1.2.0");
    let not_yet = withhold(
        &f.universe.root,
        &format!("{P}/shared"),
        "v1.2.0",
        &root.join("later"),
    );
    let upstream = FixtureUpstream::start(&f.universe.root);
    let outside = root.join("outside");
    let (first, second) = (root.join("first.tar.zst"), root.join("second.tar.zst"));
    prefetch(&f, &upstream, &outside);
    ok(&["export", "--data-dir", s(&outside), "--out", s(&first)]);

    // Upstream publishes shared v1.2.0; the developer upgrades to it.
    not_yet.publish();
    let developer = GoEnv::new(&f.universe.proxy_url());
    developer.ok(&f.project, ["get", &new]);
    developer.ok(&f.project, ["mod", "tidy"]);
    let again = prefetch(&f, &upstream, &outside);
    assert_eq!(again["fetched"], 3, "{again}");
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
    let exported: serde_json::Value = serde_json::from_str(&json).expect("export --json");
    assert_eq!(exported["versions"], 1, "{exported}");
    let new_files: Vec<String> = ["info", "mod", "zip", "ziphash"]
        .iter()
        .map(|ext| format!("{P}/shared/@v/v1.2.0.{ext}"))
        .collect();
    assert_eq!(bundle_artifacts(&second), new_files);

    // Both bundles, in order, make the same store as one full bundle of the final store.
    let full = root.join("full.tar.zst");
    ok(&["export", "--data-dir", s(&outside), "--out", s(&full)]);
    let (chained, whole) = (root.join("chained"), root.join("whole"));
    ok(&["import", "--data-dir", s(&chained), s(&first)]);
    ok(&["import", "--data-dir", s(&chained), s(&second)]);
    ok(&["import", "--data-dir", s(&whole), s(&full)]);
    assert_same_store(&chained, &whole, false);

    upstream.stop();
    let server = serve_offline(&chained);
    check_project_offline(&server.url(), &f.project);
    assert_served_from_store(&server);
}

#[test]
fn a_module_cache_filled_by_go_mod_download_seeds_an_offline_store() {
    let f = fixture();
    let developer = GoEnv::new(&f.universe.proxy_url());
    developer.ok(&f.project, ["mod", "download", "all"]);
    let seeded = f.data.parent().expect("fixture dir").join("seeded");
    let json = ok(&[
        "import",
        "--json",
        "--data-dir",
        s(&seeded),
        s(&developer.modcache()),
        "--go-sum",
        s(&f.project.join("go.sum")),
    ]);
    let summary: serde_json::Value = serde_json::from_str(&json).expect("import --json");
    assert_eq!(summary["source_kind"], "module cache", "{summary}");

    let server = serve_offline(&seeded);
    check_project_offline(&server.url(), &f.project);
    assert_served_from_store(&server);
}

/// Copies a version set aside by [`withhold`] into a `GOPROXY=file://` tree at `tree`, with
/// only the files named by `exts`.
fn tree_of(aside: &Path, module: &str, version: &str, exts: &[&str], tree: &Path) {
    let dir = tree
        .join(godepot_testkit::semver::escape(module))
        .join("@v");
    std::fs::create_dir_all(&dir).expect("mkdir tree");
    for ext in exts {
        let name = format!("{version}.{ext}");
        std::fs::copy(aside.join(&name), dir.join(&name)).expect("copy into tree");
    }
}

fn offered(server: &GodepotProcess, module: &str) -> (u16, String) {
    let list = common::get(server, &format!("/{module}/@v/list"));
    (list.status, list.text())
}

#[test]
fn inside_the_gap_latest_offers_only_what_is_downloadable_and_imports_show_at_once() {
    let f = fixture();
    let root = f.data.parent().expect("fixture dir").to_path_buf();
    let lib = format!("{P}/lib");
    let shared = format!("{P}/shared");
    // shared v1.2.0 arrives inside by a later import.
    let later_shared = withhold(
        &f.universe.root,
        &shared,
        "v1.2.0",
        &root.join("shared-aside"),
    );
    let upstream = FixtureUpstream::start(&f.universe.root);
    let (outside, inside) = (root.join("outside"), root.join("inside"));
    let bundle = root.join("depot.tar.zst");
    prefetch(&f, &upstream, &outside);
    ok(&["export", "--data-dir", s(&outside), "--out", s(&bundle)]);
    upstream.stop();
    ok(&["import", "--data-dir", s(&inside), s(&bundle)]);
    // lib v1.3.0, newer than any lib held whole, is held only for its go.mod (as versions
    // gathered for module-graph pruning are).
    let graph_only = root.join("graph-only");
    common::project::write(
        &graph_only,
        &[(
            &format!("{lib}/@v/v1.3.0.mod"),
            format!("module {lib}\n\ngo 1.21\n"),
        )],
    );
    ok(&["import", "--data-dir", s(&inside), s(&graph_only)]);
    assert!(inside.join(format!("{lib}/@v/v1.3.0.mod")).is_file());

    let server = serve_offline(&inside);
    let (status, list) = offered(&server, &lib);
    assert_eq!(status, 200, "{list}");
    assert!(
        list.contains("v1.1.0") && !list.contains("v1.3.0"),
        "the graph-only version is offered: {list:?}"
    );
    let list_file = std::fs::read_to_string(inside.join(format!("{lib}/@v/list"))).unwrap();
    assert!(
        !list_file.contains("v1.3.0"),
        "GOPROXY=file:// would offer it: {list_file:?}"
    );
    // The go command picks what list offers, then needs its .info, .mod and zip.
    let go = GoEnv::new(&server.url());
    let client = root.join("client");
    common::project::write(
        &client,
        &[(
            "go.mod",
            "module example.com/client\n\ngo 1.21\n".to_string(),
        )],
    );
    go.ok(&client, ["get", &format!("{lib}@latest")]);
    let go_mod = std::fs::read_to_string(client.join("go.mod")).unwrap();
    let picked = godepot_testkit::semver::latest(list.lines());
    assert!(
        go_mod.contains(&format!("{lib} {}", picked.unwrap_or("?"))),
        "{go_mod}"
    );

    // An import into the data directory of the running server shows at once.
    let (_, before) = offered(&server, &shared);
    assert!(!before.contains("v1.2.0"), "{before}");
    let arrived = root.join("arrived");
    tree_of(
        &root.join("shared-aside"),
        &shared,
        "v1.2.0",
        &["info", "mod", "zip"],
        &arrived,
    );
    ok(&["import", "--data-dir", s(&inside), s(&arrived)]);
    let (_, after) = offered(&server, &shared);
    assert!(after.contains("v1.2.0"), "not visible at once: {after:?}");
    let latest = common::get(&server, &format!("/{shared}/@latest")).text();
    assert!(latest.contains("v1.2.0"), "{latest}");
    assert_served_from_store(&server);
    drop(later_shared);
}
