//! `godepot prefetch`, end to end, with the real go command as the oracle: prefetch a project
//! (with replace, exclude, a local-path replacement, a test-only dependency and a version
//! needed only for the module graph) and a two-module go.work from a fixture upstream; then
//! stop the upstream, serve the data dir offline, and check that every go command a build
//! needs succeeds from a clean module cache.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use godepot_testkit::universe::Universe;
use godepot_testkit::{
    FixtureUpstream, GoEnv, GodepotProcess, UniverseBuilder, fsutil, serde_json,
};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_godepot"))
}

const P: &str = "example.com/pf";

/// The modules the project and the workspace depend on.
fn universe(root: &Path) -> Universe {
    let pkg = |name: &str, body: &str| {
        format!("// Package {name} is a prefetch fixture.\npackage {name}\n\n{body}\n")
    };
    UniverseBuilder::new(root)
        // lib v1.2.0 is excluded by the project; usesnew requires it.
        .module(&format!("{P}/lib"))
        .version("v1.0.0")
        .file("lib.go", pkg("lib", "// Name names the version.\nfunc Name() string { return \"lib v1.0.0\" }"))
        .version("v1.1.0")
        .file("lib.go", pkg("lib", "// Name names the version.\nfunc Name() string { return \"lib v1.1.0\" }"))
        .version("v1.2.0")
        .file("lib.go", pkg("lib", "// Name names the version.\nfunc Name() string { return \"lib v1.2.0\" }"))
        .module(&format!("{P}/usesnew"))
        .version("v1.0.0")
        .require(&format!("{P}/lib"), "v1.2.0")
        .file("usesnew.go", pkg("usesnew", &format!("import \"{P}/lib\"\n\n// Name names it.\nfunc Name() string {{ return \"usesnew+\" + lib.Name() }}")))
        // shared v1.0.0 is required only by legacydep, an unpruned (go 1.16) module: the go
        // command reads its go.mod for the graph, and never needs its zip.
        .module(&format!("{P}/shared"))
        .version("v1.0.0")
        .file("shared.go", pkg("shared", "// V is the version.\nconst V = \"v1.0.0\""))
        .version("v1.1.0")
        .file("shared.go", pkg("shared", "// V is the version.\nconst V = \"v1.1.0\""))
        .module(&format!("{P}/legacydep"))
        .version("v1.0.0")
        .go_mod(&format!("module {P}/legacydep\n\ngo 1.16\n\nrequire {P}/shared v1.0.0\n"))
        .file("legacydep.go", pkg("legacydep", &format!("import \"{P}/shared\"\n\n// V is shared's version.\nfunc V() string {{ return shared.V }}")))
        // old is replaced by fork (another module path).
        .module(&format!("{P}/old"))
        .version("v1.0.0")
        .file("old.go", pkg("old", "// Forked tells which one was built.\nconst Forked = false"))
        .module(&format!("{P}/fork"))
        .version("v1.0.1")
        .file("old.go", pkg("old", "// Forked tells which one was built.\nconst Forked = true"))
        // util v1.0.0 is replaced by util v1.0.2 (a version-specific replace).
        .module(&format!("{P}/util"))
        .version("v1.0.0")
        .file("util.go", pkg("util", "// V is the version.\nconst V = \"v1.0.0\""))
        .version("v1.0.2")
        .file("util.go", pkg("util", "// V is the version.\nconst V = \"v1.0.2\""))
        // testdep is imported only by the project's test.
        .module(&format!("{P}/testdep"))
        .version("v1.0.0")
        .require(&format!("{P}/assert"), "v1.0.0")
        .file("testdep.go", pkg("testdep", &format!("import \"{P}/assert\"\n\n// Check checks.\nfunc Check() bool {{ return assert.True() }}")))
        .module(&format!("{P}/assert"))
        .version("v1.0.0")
        .file("assert.go", pkg("assert", "// True is true.\nfunc True() bool { return true }"))
        // fromlocal is required by the local-path replacement's own go.mod.
        .module(&format!("{P}/fromlocal"))
        .version("v1.0.0")
        .file("fromlocal.go", pkg("fromlocal", "// X is a number.\nconst X = 1"))
        .build()
}

fn write(dir: &Path, files: &[(&str, String)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write fixture file");
    }
}

/// The main project: replace (path and version-specific and local), exclude, test-only dep.
fn write_project(dir: &Path) {
    write(
        dir,
        &[
            (
                "go.mod",
                format!(
                    "module {P}/app\n\ngo 1.21\n\nrequire (\n\
                     \t{P}/lib v1.1.0\n\t{P}/usesnew v1.0.0\n\t{P}/legacydep v1.0.0\n\
                     \t{P}/shared v1.1.0\n\t{P}/old v1.0.0\n\t{P}/util v1.0.0\n\
                     \t{P}/testdep v1.0.0\n\t{P}/local v0.0.0\n)\n\n\
                     exclude {P}/lib v1.2.0\n\n\
                     replace {P}/old => {P}/fork v1.0.1\n\n\
                     replace {P}/util v1.0.0 => {P}/util v1.0.2\n\n\
                     replace {P}/local => ./local\n"
                ),
            ),
            (
                "main.go",
                format!(
                    "// Command app uses every fixture dependency.\npackage main\n\nimport (\n\t\"fmt\"\n\n\
                     \t\"{P}/legacydep\"\n\t\"{P}/lib\"\n\t\"{P}/local\"\n\t\"{P}/old\"\n\
                     \t\"{P}/shared\"\n\t\"{P}/usesnew\"\n\t\"{P}/util\"\n)\n\n\
                     func main() {{\n\tfmt.Println(lib.Name(), usesnew.Name(), legacydep.V(), shared.V, old.Forked, util.V, local.X)\n}}\n"
                ),
            ),
            (
                "main_test.go",
                format!(
                    "package main\n\nimport (\n\t\"testing\"\n\n\t\"{P}/testdep\"\n)\n\n\
                     func TestCheck(t *testing.T) {{\n\tif !testdep.Check() {{\n\t\tt.Fatal(\"check\")\n\t}}\n}}\n"
                ),
            ),
            (
                "local/go.mod",
                format!("module {P}/local\n\ngo 1.21\n\nrequire {P}/fromlocal v1.0.0\n"),
            ),
            (
                "local/local.go",
                format!(
                    "// Package local is a local-path replacement.\npackage local\n\n\
                     import \"{P}/fromlocal\"\n\n// X is fromlocal's.\nconst X = fromlocal.X\n"
                ),
            ),
        ],
    );
}

/// A workspace of two modules requiring different versions of lib.
fn write_workspace(dir: &Path) {
    let module = |name: &str, lib: &str| {
        (
            format!("module {P}/{name}\n\ngo 1.21\n\nrequire {P}/lib {lib}\n"),
            format!(
                "// Package {name} is a workspace module.\npackage {name}\n\n\
                 import \"{P}/lib\"\n\n// Name is lib's.\nfunc Name() string {{ return lib.Name() }}\n"
            ),
        )
    };
    let (a_mod, a_go) = module("wa", "v1.0.0");
    let (b_mod, b_go) = module("wb", "v1.1.0");
    write(
        dir,
        &[
            ("go.work", "go 1.21\n\nuse (\n\t./a\n\t./b\n)\n".to_string()),
            ("a/go.mod", a_mod),
            ("a/a.go", a_go),
            ("b/go.mod", b_mod),
            ("b/b.go", b_go),
        ],
    );
}

/// Makes the project and workspace modules tidy, with complete go.sum files, straight from
/// the fixture tree: the state a developer would prefetch from.
fn tidy_online(universe: &Universe, project: &Path, work: &Path) {
    let go = GoEnv::new(&universe.proxy_url());
    go.ok(project, ["mod", "tidy"]);
    for m in ["a", "b"] {
        go.ok(&work.join(m), ["mod", "tidy"]);
    }
}

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
    let mut cmd = Command::new(bin());
    cmd.arg("prefetch")
        .arg("--data-dir")
        .arg(data)
        .args(["--upstream", upstream])
        .args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GODEPOT_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("GOPROXY", "off").env("GOENV", "off");
    Run {
        output: cmd.output().expect("run godepot prefetch"),
    }
}

/// `module@version` of every stored file with this extension.
fn stored(data: &Path, ext: &str) -> BTreeSet<String> {
    fsutil::tree(data)
        .into_keys()
        .filter(|rel| !rel.starts_with('.'))
        .filter_map(|rel| {
            let (module, file) = rel.split_once("/@v/")?;
            let version = file.strip_suffix(&format!(".{ext}"))?;
            Some(format!("{module}@{version}"))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| format!("{P}/{s}")).collect()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    universe: Universe,
    project: PathBuf,
    work: PathBuf,
    data: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().expect("tempdir");
    let universe = universe(&tmp.path().join("proxy"));
    let project = tmp.path().join("app");
    let work = tmp.path().join("work");
    write_project(&project);
    write_workspace(&work);
    tidy_online(&universe, &project, &work);
    let data = tmp.path().join("data");
    Fixture {
        _tmp: tmp,
        universe,
        project,
        work,
        data,
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
    // Not shared v1.0.0 (graph only, through legacydep) nor lib v1.0.0 (graph only, in the
    // workspace, where wb's requirement wins); never the excluded lib v1.2.0 nor what the
    // replacements replaced (old, util v1.0.0).
    let zips = set(&[
        "assert@v1.0.0",
        "fork@v1.0.1",
        "fromlocal@v1.0.0",
        "legacydep@v1.0.0",
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

fn check_project_offline(proxy: &str, project: &Path) {
    let go = GoEnv::new(proxy);
    let go_mod = std::fs::read(project.join("go.mod")).expect("go.mod");
    let go_sum = std::fs::read(project.join("go.sum")).expect("go.sum");
    go.ok(project, ["mod", "download", "all"]);
    go.ok(project, ["build", "./..."]);
    go.ok(project, ["test", "-run", "^$", "all"]);
    go.ok(project, ["mod", "tidy"]);
    assert_eq!(
        std::fs::read(project.join("go.mod")).unwrap(),
        go_mod,
        "tidy changed go.mod"
    );
    assert_eq!(
        std::fs::read(project.join("go.sum")).unwrap(),
        go_sum,
        "tidy changed go.sum"
    );
    go.ok(project, ["mod", "verify"]);
}

fn check_workspace_offline(proxy: &str, work: &Path) {
    let mut go = GoEnv::new(proxy);
    go.set_env("GOWORK", work.join("go.work").to_str().unwrap());
    // -mod=mod is not allowed in workspace mode.
    go.set_env("GOFLAGS", "");
    let a = work.join("a");
    go.ok(&a, ["mod", "download", "all"]);
    for m in ["a", "b"] {
        go.ok(&work.join(m), ["build", "./..."]);
    }
    go.ok(&a, ["test", "-run", "^$", "all"]);
    go.ok(&a, ["mod", "verify"]);
    let listed = go.ok(&a, ["list", "-m", "all"]);
    assert!(listed.contains(&format!("{P}/lib v1.1.0")), "{listed}");
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
