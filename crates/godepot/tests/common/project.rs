//! The fixture the prefetch and air-gap tests share: a project whose module graph has every
//! shape prefetch must get right (replace by another path, version-specific replace, a
//! local-path replacement, exclude, a test-only dependency, a version needed only for its
//! go.mod), a `go.work` joining two modules, and the go commands that must then succeed
//! offline from a clean module cache.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use godepot_testkit::semver::escape;
use godepot_testkit::universe::Universe;
use godepot_testkit::{GoEnv, UniverseBuilder, fsutil};

pub(crate) const P: &str = "example.com/pf";

/// The modules the project and the workspace depend on.
pub(crate) fn universe(root: &Path) -> Universe {
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
        // v1.2.0 is the new version the air-gap test's incremental bundle carries: it is
        // withheld from the upstream until then (see `withhold`).
        .version("v1.2.0")
        .file("shared.go", pkg("shared", "// V is the version.\nconst V = \"v1.2.0\""))
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

pub(crate) fn write(dir: &Path, files: &[(&str, String)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write fixture file");
    }
}

/// The main project: replace (path and version-specific and local), exclude, test-only dep.
pub(crate) fn write_project(dir: &Path) {
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
pub(crate) fn write_workspace(dir: &Path) {
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
pub(crate) fn tidy_online(universe: &Universe, project: &Path, work: &Path) {
    let go = GoEnv::new(&universe.proxy_url());
    go.ok(project, ["mod", "tidy"]);
    for m in ["a", "b"] {
        go.ok(&work.join(m), ["mod", "tidy"]);
    }
}

/// `module@version` of every stored file with this extension.
pub(crate) fn stored(data: &Path, ext: &str) -> BTreeSet<String> {
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

pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| format!("{P}/{s}")).collect()
}

pub(crate) struct Fixture {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) universe: Universe,
    pub(crate) project: PathBuf,
    pub(crate) work: PathBuf,
    pub(crate) data: PathBuf,
}

pub(crate) fn fixture() -> Fixture {
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

/// A go command as a developer runs it: default GOFLAGS (so `-mod=readonly`: a go.mod or
/// go.sum that needs changing is an error, not silently rewritten), clean module cache.
fn developer_go(proxy: &str) -> GoEnv {
    let mut go = GoEnv::new(proxy);
    go.set_env("GOFLAGS", "");
    go
}

/// Reads these files; `None` for one that does not exist.
fn snapshot(paths: &[PathBuf]) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    paths
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).ok()))
        .collect()
}

fn assert_unchanged(before: &[(PathBuf, Option<Vec<u8>>)], what: &str) {
    for (path, bytes) in before {
        assert!(
            std::fs::read(path).ok() == *bytes,
            "{what} changed {}",
            path.display()
        );
    }
}

/// Every go command a build needs, through `proxy`, from a clean module cache; `go mod tidy`
/// must leave go.mod and go.sum byte for byte as they were.
pub(crate) fn check_project_offline(proxy: &str, project: &Path) {
    let go = developer_go(proxy);
    let before = snapshot(&[project.join("go.mod"), project.join("go.sum")]);
    go.ok(project, ["mod", "download", "all"]);
    go.ok(project, ["build", "./..."]);
    go.ok(project, ["test", "-run", "^$", "all"]);
    go.ok(project, ["mod", "tidy"]);
    assert_unchanged(&before, "go mod tidy");
    go.ok(project, ["mod", "verify"]);
}

/// The same for the workspace, in workspace mode, from each of its modules.
pub(crate) fn check_workspace_offline(proxy: &str, work: &Path) {
    let mut go = developer_go(proxy);
    go.set_env("GOWORK", work.join("go.work").to_str().unwrap());
    let modules = [work.join("a"), work.join("b")];
    let mut files = vec![work.join("go.work"), work.join("go.work.sum")];
    for m in &modules {
        files.extend([m.join("go.mod"), m.join("go.sum")]);
    }
    let before = snapshot(&files);
    go.ok(&modules[0], ["mod", "download", "all"]);
    for m in &modules {
        go.ok(m, ["build", "./..."]);
        go.ok(m, ["test", "-run", "^$", "all"]);
        go.ok(m, ["mod", "tidy"]);
        go.ok(m, ["mod", "verify"]);
    }
    assert_unchanged(&before, "go mod tidy in the workspace");
    let listed = go.ok(&modules[0], ["list", "-m", "all"]);
    assert!(listed.contains(&format!("{P}/lib v1.1.0")), "{listed}");
}

/// A version taken out of a `file://` tree, as if it were not published yet.
pub(crate) struct Withheld {
    module_dir: PathBuf,
    aside: PathBuf,
    version: String,
    list: Vec<u8>,
}

/// Moves `module@version`'s files out of the tree at `root` into `aside` and drops it from
/// the module's list, until [`Withheld::publish`].
pub(crate) fn withhold(root: &Path, module: &str, version: &str, aside: &Path) -> Withheld {
    let module_dir = root.join(escape(module)).join("@v");
    let list_path = module_dir.join("list");
    let list = std::fs::read(&list_path).expect("read list");
    let kept: String = String::from_utf8_lossy(&list)
        .lines()
        .filter(|v| *v != version)
        .map(|v| format!("{v}\n"))
        .collect();
    std::fs::write(&list_path, kept).expect("write list");
    std::fs::create_dir_all(aside).expect("mkdir aside");
    for ext in ["info", "mod", "zip"] {
        let name = format!("{}.{ext}", escape(version));
        std::fs::rename(module_dir.join(&name), aside.join(&name)).expect("move aside");
    }
    Withheld {
        module_dir,
        aside: aside.to_path_buf(),
        version: version.to_owned(),
        list,
    }
}

impl Withheld {
    /// Puts the version back: the upstream now has it.
    pub(crate) fn publish(self) {
        for ext in ["info", "mod", "zip"] {
            let name = format!("{}.{ext}", escape(&self.version));
            std::fs::rename(self.aside.join(&name), self.module_dir.join(&name))
                .expect("move back");
        }
        std::fs::write(self.module_dir.join("list"), &self.list).expect("restore list");
    }
}
