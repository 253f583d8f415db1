//! The repositories of the go-command oracle tests for git fetching, written once: both the
//! fetcher's own tests (`godepot-git/tests/direct.rs`) and the end-to-end tests through
//! godepot (`godepot/tests/private.rs`) build them, each with its own server.

use std::path::Path;

use crate::GoEnv;
use crate::git::{GitServer, TestRepo};
use crate::serde_json::{self, Value};

/// A new repository `root/name`, served by `server` as `<host>/<name>`.
pub fn repo(server: &GitServer, root: &Path, name: &str) -> TestRepo {
    let repo = TestRepo::init(&root.join(name));
    server.add_repo(name, &repo);
    repo
}

/// The oracle: the go command with `GOPROXY=direct`, the server's host private and insecure,
/// reaching it through the server's proxy (it runs `git` itself, never prompting).
pub fn direct_go(server: &GitServer) -> GoEnv {
    let mut direct = GoEnv::new("direct");
    for (k, v) in server.client_env() {
        direct.set_env(&k, &v);
    }
    direct.set_env("GOPRIVATE", server.host());
    direct.set_env("GOINSECURE", server.host());
    direct.set_env("GIT_TERMINAL_PROMPT", "0");
    direct
}

/// What `go mod download -json` reports, reduced to what must agree between two sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub version: String,
    pub sum: String,
    pub go_mod_sum: String,
    /// The `.info` Time.
    pub time: String,
}

/// `go mod download -json module@query` in `dir`.
pub fn download(env: &GoEnv, dir: &Path, module: &str, query: &str) -> Download {
    let out = env.ok(
        dir,
        ["mod", "download", "-json", &format!("{module}@{query}")],
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let info: Value =
        serde_json::from_slice(&std::fs::read(field("Info")).expect("read .info")).expect("json");
    Download {
        version: field("Version"),
        sum: field("Sum"),
        go_mod_sum: field("GoModSum"),
        time: info["Time"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Module `m` at the root of `r`: `v1.0.0`, a pre-release, an annotated tag, a tag that is
/// no canonical version (`v1.3`), a branch `feature`, and work after the last tag on `main`.
/// Returns the first two commits' hashes.
pub fn tags(r: &mut TestRepo, m: &str) -> [String; 2] {
    r.write("go.mod", &format!("module {m}\n\ngo 1.21\n"))
        .write("a.go", "package a\n");
    let first = r.commit("one");
    r.tag("v1.0.0");
    r.write("b.go", "package a\n// two\n");
    let second = r.commit("two");
    r.tag("v1.1.0-rc.1");
    r.write("c.go", "package a\n// three\n");
    r.commit("three");
    r.annotated_tag("v1.2.0");
    r.write("c.go", "package a\n// four\n");
    r.commit("four");
    r.tag("v1.2.1").tag("v1.3").tag("release-1");
    r.checkout("feature", true).write("f.go", "package a\n");
    r.commit("feature work");
    r.checkout("main", false)
        .write("d.go", "package a\n// after the last tag\n");
    r.commit("work after the last tag");
    [first, second]
}

/// Module `m` in the `sub/` directory of `r`, tagged `sub/v0.3.0`: a root LICENSE, and a
/// vendor directory, a nested module and a symbolic link, none of which the zip holds.
pub fn subdirectory(r: &mut TestRepo, m: &str) {
    r.write("LICENSE", "root license\n")
        .write("README", "root\n")
        .write("sub/go.mod", &format!("module {m}\n\ngo 1.21\n"))
        .write("sub/s.go", "package sub\n")
        .write("sub/vendor/example.com/x/x.go", "package x\n")
        .write("sub/vendor/modules.txt", "# example.com/x v1.0.0\n")
        .write("sub/nested/go.mod", &format!("module {m}/nested\n"))
        .write("sub/nested/n.go", "package nested\n")
        .write("sub/real.txt", "data\n")
        .symlink("sub/link.txt", "real.txt");
    r.commit("monorepo");
    r.tag("sub/v0.3.0").tag("v0.9.0");
}

/// `<base>` at `v1.0.0` and `<base>/v2` in the `v2/` directory at `v2.0.0`, one commit.
pub fn major_subdirectory(r: &mut TestRepo, base: &str) {
    r.write("go.mod", &format!("module {base}\n"))
        .write("m.go", "package m\n")
        .write("v2/go.mod", &format!("module {base}/v2\n"))
        .write("v2/m.go", "package m\n");
    r.commit("v1 and v2");
    r.tag("v1.0.0").tag("v2.0.0");
}

/// `<base>/v2` declared by the root go.mod, tagged `v2.0.0`, with a commit after it.
pub fn major_root(r: &mut TestRepo, base: &str) {
    r.write("go.mod", &format!("module {base}/v2\n"))
        .write("m.go", "package m\n");
    r.commit("v2 at the root");
    r.tag("v2.0.0");
    r.write("m.go", "package m\n// next\n");
    r.commit("next");
}

/// No go.mod: `v1.0.0`, `v2.0.0` (so `+incompatible`), and a commit after them.
pub fn no_go_mod(r: &mut TestRepo) {
    r.write("l.go", "package legacy\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("l.go", "package legacy\n// two\n");
    r.commit("two");
    r.tag("v2.0.0");
    r.write("l.go", "package legacy\n// three\n");
    r.commit("three");
}

/// Module `m`: `v1.0.0`, `v1.1.0`, a branch `side` on top of `v1.1.0`, and `v1.2.0`, whose
/// go.mod retracts `v1.1.0`.
pub fn retraction(r: &mut TestRepo, m: &str) {
    r.write("go.mod", &format!("module {m}\n\ngo 1.21\n"))
        .write("r.go", "package r\n");
    r.commit("one");
    r.tag("v1.0.0");
    r.write("r.go", "package r\n// two\n");
    r.commit("two");
    r.tag("v1.1.0");
    r.checkout("side", true).write("s.go", "package r\n");
    r.commit("on top of the retracted tag");
    r.checkout("main", false).write(
        "go.mod",
        &format!("module {m}\n\ngo 1.21\n\nretract v1.1.0 // broken\n"),
    );
    r.commit("retract v1.1.0");
    r.tag("v1.2.0");
}
