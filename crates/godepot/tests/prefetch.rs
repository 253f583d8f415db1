//! `godepot prefetch`, end to end, with the real go command as the oracle: prefetch a project
//! (with replace, exclude, a local-path replacement, a test-only dependency and a version
//! needed only for the module graph) and a two-module go.work from a fixture upstream; then
//! stop the upstream, serve the data dir offline, and check that every go command a build
//! needs succeeds from a clean module cache. The fixture is shared with `airgap.rs`
//! (`common/project.rs`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::bin;
use common::project::{
    P, check_project_offline, check_workspace_offline, fixture, set, stored, universe, write,
};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, UniverseBuilder, serde_json};

struct Run {
    output: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "godepot prefetch failed ({}):\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.output.status,
            self.stderr(),
            self.stdout()
        );
        self
    }
}

/// `godepot prefetch --data-dir <data> --upstream <upstream> <args>`, hermetically.
fn prefetch(data: &Path, upstream: &str, args: &[&str]) -> Run {
    let mut cmd = common::godepot_command(&["prefetch", "--upstream", upstream]);
    cmd.arg("--data-dir").arg(data).args(args);
    Run {
        output: cmd.output().expect("run godepot prefetch"),
    }
}

#[test]
fn prefetched_store_serves_every_go_command_offline() {
    let f = fixture();
    let upstream = FixtureUpstream::start(&f.universe.root);
    let go_mod = f.project.join("go.mod");
    let go_work = f.work.join("go.work");
    let inputs = [
        go_mod.to_str().unwrap(),
        go_work.to_str().unwrap(),
        "--json",
    ];

    let run = prefetch(&f.data, &upstream.url(), &inputs).ok();
    let summary: serde_json::Value =
        serde_json::from_str(run.stdout().trim()).expect("--json prints one JSON object");

    let mods = set(&[
        "assert@v1.0.0",
        "fork@v1.0.1",
        "fromlocal@v1.0.0",
        "legacydep@v1.0.0",
        "lib@v1.0.0",
        "lib@v1.1.0",
        "shared@v1.0.0",
        "shared@v1.1.0",
        "testdep@v1.0.0",
        "usesnew@v1.0.0",
        "util@v1.0.2",
    ]);
    // Not shared v1.0.0 (graph only, through legacydep); never the excluded lib v1.2.0 nor
    // what the replacements replaced (old, util v1.0.0). lib v1.0.0 is not in the
    // workspace's build list (wb's requirement wins) but `go mod tidy` in wa loads wa alone.
    let zips = set(&[
        "assert@v1.0.0",
        "fork@v1.0.1",
        "fromlocal@v1.0.0",
        "legacydep@v1.0.0",
        "lib@v1.0.0",
        "lib@v1.1.0",
        "shared@v1.1.0",
        "testdep@v1.0.0",
        "usesnew@v1.0.0",
        "util@v1.0.2",
    ]);
    assert_eq!(stored(&f.data, "mod"), mods, "stored .mod files");
    assert_eq!(stored(&f.data, "zip"), zips, "stored .zip files");
    assert_eq!(stored(&f.data, "info"), zips, "stored .info files");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["zips"], zips.len(), "{summary}");
    assert_eq!(summary["mods"], mods.len(), "{summary}");
    assert_eq!(summary["already_held"], 0, "{summary}\n{}", run.stderr());
    assert_eq!(summary["fetched"], mods.len() + 2 * zips.len(), "{summary}");

    // The go command itself agrees on what is graph-only: go.sum has their go.mod hashes only.
    let go_sum = std::fs::read_to_string(f.project.join("go.sum")).expect("go.sum");
    assert!(
        go_sum.contains(&format!("{P}/shared v1.0.0/go.mod ")),
        "{go_sum}"
    );
    assert!(
        !go_sum.contains(&format!("{P}/shared v1.0.0 h1:")),
        "{go_sum}"
    );

    // A second run finds everything held and fetches nothing.
    upstream.reset_hits();
    let again = prefetch(&f.data, &upstream.url(), &inputs).ok();
    // It does not claim to be fetching what it already holds.
    let said = again.stderr();
    assert!(!said.contains("fetching"), "{said}");
    assert!(
        said.contains("(those held are not fetched again)"),
        "{said}"
    );
    let again: serde_json::Value = serde_json::from_str(again.stdout().trim()).expect("json");
    assert_eq!(again["fetched"], 0, "{again}");
    assert_eq!(again["already_held"], summary["fetched"], "{again}");
    assert_eq!(upstream.hits_containing(".zip"), 0);

    // Inside the air gap: no upstream, the store served offline, a clean module cache.
    upstream.stop();
    let data = f.data.to_str().unwrap();
    let server = GodepotProcess::start(bin(), &["--offline", "--data-dir", data]);
    check_project_offline(&server.url(), &f.project);
    check_workspace_offline(&server.url(), &f.work);
}

#[test]
fn dry_run_stores_nothing_and_lists_what_it_would_fetch() {
    let f = fixture();
    let upstream = FixtureUpstream::start(&f.universe.root);
    let go_mod = f.project.join("go.mod");
    let run = prefetch(
        &f.data,
        &upstream.url(),
        &["--dry-run", go_mod.to_str().unwrap()],
    )
    .ok();
    let listed = run.stdout();
    assert!(listed.contains(&format!("{P}/lib@v1.1.0 .zip")), "{listed}");
    assert!(
        listed.contains(&format!("{P}/shared@v1.0.0 .mod")),
        "{listed}"
    );
    assert!(
        !listed.contains(&format!("{P}/shared@v1.0.0 .zip")),
        "{listed}"
    );
    assert!(!f.data.exists(), "a dry run created the data dir");
    assert_eq!(
        upstream.hits_containing(".zip"),
        0,
        "a dry run fetched zips"
    );

    let run = prefetch(
        &f.data,
        &upstream.url(),
        &["--dry-run", "--json", go_mod.to_str().unwrap()],
    )
    .ok();
    let json: serde_json::Value = serde_json::from_str(run.stdout().trim()).expect("json");
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["zips"], 9, "{json}");
    assert!(
        json["artifacts"].as_array().is_some_and(|a| !a.is_empty()),
        "{json}"
    );
    assert_eq!(stored(&f.data, "mod"), BTreeSet::new());
}

#[test]
fn a_missing_version_fails_by_name_and_the_rest_is_fetched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe = universe(&tmp.path().join("proxy"));
    let upstream = FixtureUpstream::start(&universe.root);
    let data = tmp.path().join("data");
    let missing = format!("{P}/lib@v1.9.9");
    let present = format!("{P}/assert@v1.0.0");
    let run = prefetch(&data, &upstream.url(), &[&missing, &present, "--json"]);
    assert!(!run.output.status.success(), "a missing version must fail");
    assert!(run.stderr().contains(&missing), "{}", run.stderr());
    let json: serde_json::Value = serde_json::from_str(run.stdout().trim()).expect("json");
    assert_eq!(json["failed"], 1, "{json}");
    assert!(
        json["failures"][0]["what"]
            .as_str()
            .unwrap()
            .contains(&missing),
        "{json}"
    );
    assert_eq!(stored(&data, "zip"), set(&["assert@v1.0.0"]));
}

/// A dependency whose go.mod requires a module version no proxy serves, hidden by that
/// dependency's own `replace` (which the go command ignores outside the main module). The
/// graph the go command loads never reads that go.mod, but the version is in its build list
/// (`go mod download all` would ask for it): the default prefetch gathers what the go command
/// loads, warns of the version it cannot have, succeeds, and the project builds offline;
/// `--full-graph` walks the whole graph, with the same warning.
#[test]
fn a_go_mod_outside_the_loaded_graph_does_not_fail_prefetch() {
    const H: &str = "example.com/hx";
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe = UniverseBuilder::new(tmp.path().join("proxy"))
        .module(&format!("{H}/hides"))
        .version("v1.0.0")
        .go_mod(&format!(
            "module {H}/hides\n\ngo 1.21\n\nrequire {H}/hidden v0.0.0\n\nreplace {H}/hidden => ./hidden\n"
        ))
        .file("hides.go", "// Package hides is a fixture.\npackage hides\n\n// V is one.\nconst V = 1\n")
        .build();
    let project = tmp.path().join("app");
    write(
        &project,
        &[
            (
                "go.mod",
                format!("module {H}/app\n\ngo 1.21\n\nrequire {H}/hides v1.0.0\n"),
            ),
            (
                "main.go",
                format!(
                    "package main\n\nimport \"{H}/hides\"\n\nfunc main() {{ println(hides.V) }}\n"
                ),
            ),
        ],
    );
    GoEnv::new(&universe.proxy_url()).ok(&project, ["mod", "tidy"]);
    let upstream = FixtureUpstream::start(&universe.root);
    let go_mod = project.join("go.mod");
    let go_mod = go_mod.to_str().unwrap();

    let data = tmp.path().join("data");
    let run = prefetch(&data, &upstream.url(), &[go_mod, "--json"]).ok();
    let summary: serde_json::Value = serde_json::from_str(run.stdout().trim()).expect("json");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["warned"], 1, "{summary}");
    let warned = summary["warnings"][0]["what"].as_str().unwrap_or_default();
    assert_eq!(warned, format!("{H}/hidden@v0.0.0"), "{summary}");
    assert_eq!(
        stored(&data, "mod"),
        BTreeSet::from([format!("{H}/hides@v1.0.0")])
    );

    let full = tmp.path().join("full");
    let run = prefetch(&full, &upstream.url(), &[go_mod, "--full-graph", "--json"]).ok();
    let summary: serde_json::Value = serde_json::from_str(run.stdout().trim()).expect("json");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["warned"], 1, "{summary}");
    let warned = summary["warnings"][0]["what"].as_str().unwrap_or_default();
    assert_eq!(warned, format!("{H}/hidden@v0.0.0"), "{summary}");
    assert!(
        run.stderr().contains("1 warning (versions no build needs)"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains(&format!("{H}/hidden@v0.0.0")),
        "{}",
        run.stderr()
    );

    // Inside the air gap, from the default prefetch: the go command builds, tidies (changing
    // nothing) and verifies.
    upstream.stop();
    let server = GodepotProcess::start(bin(), &["--offline", "--data-dir", data.to_str().unwrap()]);
    let mut go = GoEnv::new(&server.url());
    go.set_env("GOFLAGS", "");
    let before = [
        std::fs::read(go_mod).unwrap(),
        std::fs::read(project.join("go.sum")).unwrap(),
    ];
    go.ok(&project, ["build", "./..."]);
    go.ok(&project, ["mod", "tidy"]);
    go.ok(&project, ["mod", "verify"]);
    let after = [
        std::fs::read(go_mod).unwrap(),
        std::fs::read(project.join("go.sum")).unwrap(),
    ];
    assert!(
        before == after,
        "go mod tidy changed go.mod or go.sum offline"
    );
}
