//! Private modules straight from git, end to end, the go command as the oracle: godepot
//! serves `--private git.corp.example` from the repositories (served by `git http-backend`
//! behind the loopback proxy of godepot-testkit's `git` module, reached through
//! `HTTP_PROXY`), and a developer's `go` with only `GOPROXY=<godepot>` and
//! `GONOSUMDB=git.corp.example` gets exactly what `GOPROXY=direct GOPRIVATE=… GOINSECURE=…`
//! gets. No private path reaches the upstream proxy or a checksum database.
//!
//! One repository set and one git server per test keep the suite fast.

mod common;

use std::path::{Path, PathBuf};

use common::get;
use godepot_testkit::git::{GitServer, TestRepo};
use godepot_testkit::gitcases::{self, Download, download};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, UniverseBuilder};

const HOST: &str = "git.corp.example";
const SECRET: &str = "s3cret-t0ken-xyz";

/// The git server, its repositories, the fixture upstream, and the two go environments.
struct Corp {
    tmp: tempfile::TempDir,
    server: GitServer,
    upstream: FixtureUpstream,
    /// `GOPROXY=direct GOPRIVATE=HOST GOINSECURE=HOST`, through the git server's proxy.
    direct: GoEnv,
    /// The server's `.netrc` (and the direct go command's).
    netrc: PathBuf,
}

impl Corp {
    fn new() -> Corp {
        let tmp = tempfile::tempdir().expect("tempdir");
        let server = GitServer::start(HOST);
        let universe = UniverseBuilder::new(tmp.path().join("u"))
            .module("example.com/public")
            .version("v1.0.0")
            .file("p.go", "package public\n\n// P is public.\nconst P = 1\n")
            .build();
        let upstream = FixtureUpstream::start(&universe.root);
        let mut direct = gitcases::direct_go(&server);
        let netrc = tmp.path().join("netrc");
        std::fs::write(
            &netrc,
            format!("machine {HOST} login alice password {SECRET}\n"),
        )
        .expect("netrc");
        std::fs::copy(&netrc, direct.home().join(".netrc")).expect("netrc");
        direct.set_env(
            "NETRC",
            direct.home().join(".netrc").to_str().expect("utf-8"),
        );
        Corp {
            tmp,
            server,
            upstream,
            direct,
            netrc,
        }
    }

    fn repo(&self, name: &str) -> TestRepo {
        gitcases::repo(&self.server, &self.tmp.path().join("repos"), name)
    }

    /// `godepot serve` for the private host, reaching it through the git server's proxy
    /// (loopback proxies and databases directly), with `PATH` empty: neither go nor git.
    fn godepot(&self, data: &Path, upstream: &str, private: &str) -> GodepotProcess {
        let args = [
            "--data-dir",
            s(data),
            "--upstream",
            upstream,
            "--private",
            private,
            "--insecure",
            HOST,
            "--sumdb",
            "sum.example",
            "--list-ttl",
            "1s",
            "--log-format",
            "json",
        ];
        let proxy = self.server.proxy_url();
        let env = [
            ("PATH", ""),
            ("HTTP_PROXY", proxy.as_str()),
            ("HTTPS_PROXY", proxy.as_str()),
            ("NO_PROXY", "127.0.0.1,localhost"),
            ("NETRC", s(&self.netrc)),
        ];
        GodepotProcess::start_with_env(common::bin(), &args, &env)
    }

    /// A developer's go: GOPROXY and GONOSUMDB only.
    fn developer(&self, godepot: &GodepotProcess) -> GoEnv {
        let mut go = GoEnv::new(&godepot.url());
        go.set_env("GONOSUMDB", HOST);
        go
    }

    fn workdir(&self) -> PathBuf {
        let d = self.tmp.path().join("main");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("go.mod"), "module example.com/main\n\ngo 1.21\n").expect("go.mod");
        d
    }

    /// The same download through godepot as direct: Version, both h1:, .info Time.
    fn same(&self, via: &GoEnv, module: &str, query: &str) -> Download {
        let want = download(&self.direct, &self.workdir(), module, query);
        let got = download(via, &self.workdir(), module, query);
        assert_eq!(got, want, "{module}@{query}: through godepot vs direct");
        assert!(
            got.sum.starts_with("h1:") && got.go_mod_sum.starts_with("h1:") && !got.time.is_empty(),
            "{module}@{query}: {got:?}"
        );
        got
    }

    /// `go list -m -versions -retracted` the same both ways.
    fn same_list(&self, via: &GoEnv, module: &str) {
        let args = ["list", "-m", "-versions", "-retracted", module];
        let want = self.direct.ok(&self.workdir(), args);
        let got = via.ok(&self.workdir(), args);
        assert_eq!(got, want, "{module}: versions through godepot vs direct");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The repositories of the equivalence test: each case of the issue in one of them.
/// Returns the hashes of the first two commits of `a`.
fn make_repos(corp: &Corp) -> [String; 2] {
    let hashes = gitcases::tags(&mut corp.repo("a"), &format!("{HOST}/a"));
    gitcases::subdirectory(&mut corp.repo("mono"), &format!("{HOST}/mono/sub"));
    gitcases::major_subdirectory(&mut corp.repo("majsub"), &format!("{HOST}/majsub"));
    gitcases::major_root(&mut corp.repo("majroot"), &format!("{HOST}/majroot"));
    gitcases::no_go_mod(&mut corp.repo("legacy"));
    gitcases::retraction(&mut corp.repo("retract"), &format!("{HOST}/retract"));
    // Behind Basic auth, the credentials in the server's .netrc.
    let mut r = corp.repo("secret");
    r.write("go.mod", &format!("module {HOST}/secret\n"))
        .write("s.go", "package secret\n");
    r.commit("secret");
    r.tag("v1.0.0");
    corp.server.require_auth("secret", "alice", SECRET);
    hashes
}

#[test]
fn private_modules_through_godepot_are_what_direct_gets() {
    let corp = Corp::new();
    let hashes = make_repos(&corp);
    let data = corp.tmp.path().join("data");
    let godepot = corp.godepot(&data, &corp.upstream.url(), HOST);
    let go = corp.developer(&godepot);

    let a = format!("{HOST}/a");
    for q in [
        "v1.0.0",
        "v1.1.0-rc.1",
        "v1.2.0",
        "v1.2",
        "latest",
        "main",
        "feature",
    ] {
        corp.same(&go, &a, q);
    }
    corp.same(&go, &a, &hashes[0]);
    corp.same(&go, &a, &hashes[1][..12]);
    let head = corp.same(&go, &a, "main");
    assert!(head.version.starts_with("v1.2.2-0."), "{head:?}");
    corp.same_list(&go, &a);
    // A tag that is no canonical version is no version.
    let bad = go.run(&corp.workdir(), ["mod", "download", &format!("{a}@v1.4.0")]);
    assert!(!bad.status.success(), "v1.4.0 is not a version");

    let retract = format!("{HOST}/retract");
    corp.same(&go, &retract, "latest");
    corp.same(&go, &retract, "side");
    corp.same_list(&go, &retract);

    let sub = format!("{HOST}/mono/sub");
    corp.same(&go, &sub, "v0.3.0");
    corp.same_list(&go, &sub);
    corp.same(&go, &format!("{HOST}/majsub"), "v1.0.0");
    corp.same(&go, &format!("{HOST}/majsub/v2"), "v2.0.0");
    corp.same(&go, &format!("{HOST}/majroot/v2"), "v2.0.0");
    corp.same(&go, &format!("{HOST}/majroot/v2"), "main");
    let legacy = format!("{HOST}/legacy");
    corp.same(&go, &legacy, "v2.0.0+incompatible");
    corp.same(&go, &legacy, "latest");
    corp.same_list(&go, &legacy);
    corp.same(&go, &format!("{HOST}/secret"), "v1.0.0");

    // A public module still comes from the upstream proxy.
    let public = go.ok(
        &corp.workdir(),
        ["mod", "download", "-json", "example.com/public@v1.0.0"],
    );
    assert!(public.contains("\"Sum\""), "{public}");

    // No private path went to the upstream proxy, and a checksum-database lookup of one is
    // answered here.
    assert_eq!(
        corp.upstream.hits_containing("corp.example"),
        0,
        "{:?}",
        corp.upstream.all_hits()
    );
    let lookup = get(&godepot, &format!("/sumdb/sum.example/lookup/{a}@v1.0.0"));
    assert_eq!(lookup.status, 404, "{}", lookup.text());
    assert!(
        lookup.text().contains("private module: set GONOSUMDB"),
        "{}",
        lookup.text()
    );
    // The secret never shows in a log line or the store.
    assert!(!godepot.logs().join("\n").contains(SECRET));
    assert!(!holds_text(&data, SECRET), "secret in the store");
}

#[test]
fn refused_credentials_name_the_host_and_how_to_give_them() {
    let corp = Corp::new();
    let mut r = corp.repo("locked");
    r.write("go.mod", &format!("module {HOST}/locked\n"));
    r.commit("locked");
    r.tag("v1.0.0");
    corp.server
        .require_auth("locked", "bob", "not-what-the-netrc-says");
    let data = corp.tmp.path().join("data");
    let godepot = corp.godepot(&data, &corp.upstream.url(), HOST);
    let go = corp.developer(&godepot);
    let out = go.run(
        &corp.workdir(),
        ["mod", "download", "-json", &format!("{HOST}/locked@v1.0.0")],
    );
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("{HOST}: authentication required")) && text.contains(".netrc"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");

    // An unknown repository is a 404 with the reason, nothing like a refusal.
    let missing = get(&godepot, &format!("/{HOST}/nosuch/@v/v1.0.0.info"));
    assert_eq!(missing.status, 404, "{}", missing.text());
    assert!(
        !missing.text().contains("authentication"),
        "{}",
        missing.text()
    );
}

#[test]
fn direct_in_upstream_fetches_what_the_proxy_lacks_and_a_moved_tag_is_kept() {
    let corp = Corp::new();
    // Not under --private: reached through `direct` after the proxy's 404.
    let m = "git.corp.example/moved";
    let mut r = corp.repo("moved");
    r.write("go.mod", &format!("module {m}\n"));
    let first = r.commit("one");
    r.tag("v1.0.0");
    let data = corp.tmp.path().join("data");
    let upstream = format!("{},direct", corp.upstream.url());
    let godepot = corp.godepot(&data, &upstream, "none.example");
    let go = corp.developer(&godepot);
    let before = corp.same(&go, m, "v1.0.0");
    assert!(
        corp.upstream.hits_containing("moved") > 0,
        "the proxy was asked first"
    );

    // The tag moves: godepot keeps what it served, and says so when it sees the move.
    r.write("x.go", "package moved\n");
    let second = r.commit("two");
    r.move_tag("v1.0.0");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let list = get(&godepot, &format!("/{m}/@v/list"));
    assert_eq!(list.status, 200, "{}", list.text());
    let fresh = corp.developer(&godepot);
    let after = download(&fresh, &corp.workdir(), m, "v1.0.0");
    assert_eq!(after, before, "a version once served is kept");
    godepot.wait_for_log(std::time::Duration::from_secs(10), "tag moved upstream");
    let logs = godepot.logs().join("\n");
    assert!(
        logs.contains("tag moved upstream") && logs.contains(&first) && logs.contains(&second),
        "{logs}"
    );
}

/// A go-import tag of kind `mod` names a module proxy that serves the module instead of a
/// repository: godepot asks that proxy, as the go command does, and never the upstream.
#[test]
fn a_mod_go_import_tag_is_followed_to_its_module_proxy() {
    let corp = Corp::new();
    let m = "git.corp.example/viaproxy";
    let universe = UniverseBuilder::new(corp.tmp.path().join("modproxy"))
        .module(m)
        .version("v1.0.0")
        .file("v.go", "package viaproxy\n\n// V is one.\nconst V = 1\n")
        .version("v1.1.0")
        .file("v.go", "package viaproxy\n\n// V is two.\nconst V = 2\n")
        .build();
    let proxy = FixtureUpstream::start(&universe.root);
    corp.server.set_meta(
        "viaproxy",
        &format!(
            r#"<meta name="go-import" content="{m} mod {}">"#,
            proxy.url()
        ),
    );
    let data = corp.tmp.path().join("data");
    let godepot = corp.godepot(&data, &corp.upstream.url(), HOST);
    let go = corp.developer(&godepot);
    corp.same(&go, m, "v1.0.0");
    corp.same(&go, m, "latest");
    corp.same_list(&go, m);
    assert!(
        proxy.hits_containing("viaproxy") > 0,
        "the named proxy was asked"
    );
    assert_eq!(
        corp.upstream.hits_containing("viaproxy"),
        0,
        "a private path never reaches the upstream proxy"
    );
}

/// Whether any file under `dir` contains `needle`.
fn holds_text(dir: &Path, needle: &str) -> bool {
    godepot_testkit::fsutil::tree(dir).into_keys().any(|rel| {
        std::fs::read(dir.join(rel))
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

#[test]
fn upstream_proxies_are_reached_through_http_proxy() {
    let corp = Corp::new();
    let data = corp.tmp.path().join("data");
    // A made-up host no resolver knows: only the outbound proxy can reach it.
    let godepot = GodepotProcess::start_with_env(
        common::bin(),
        &[
            "--data-dir",
            s(&data),
            "--upstream",
            "http://proxy.corp.example",
        ],
        &[
            ("HTTP_PROXY", corp.upstream.url().as_str()),
            ("NO_PROXY", ""),
        ],
    );
    let go = corp.developer(&godepot);
    let out = go.ok(
        &corp.workdir(),
        ["mod", "download", "-json", "example.com/public@v1.0.0"],
    );
    assert!(out.contains("\"Sum\""), "{out}");
    assert!(corp.upstream.hits("example.com/public/@v/v1.0.0.zip") > 0);
}

/// `godepot <args>` with the git server as the outbound proxy and the server's `.netrc`.
fn run_godepot(corp: &Corp, args: &[&str]) -> String {
    let proxy = corp.server.proxy_url();
    let out = common::godepot_command(args)
        .env("HTTP_PROXY", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("NETRC", &corp.netrc)
        .output()
        .expect("run godepot");
    assert!(
        out.status.success(),
        "godepot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_project_mixing_public_and_private_modules_builds_across_the_air_gap() {
    let corp = Corp::new();
    let lib = format!("{HOST}/lib");
    let mut r = corp.repo("lib");
    r.write("go.mod", &format!("module {lib}\n\ngo 1.21\n"))
        .write("lib.go", "package lib\n\n// L is private.\nconst L = 2\n");
    r.commit("lib");
    r.tag("v1.0.0");
    corp.server.require_auth("lib", "alice", SECRET);
    let project = corp.tmp.path().join("app");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::write(
        project.join("go.mod"),
        format!(
            "module example.com/app\n\ngo 1.21\n\nrequire (\n\texample.com/public v1.0.0\n\t{lib} v1.0.0\n)\n"
        ),
    )
    .expect("go.mod");
    std::fs::write(
        project.join("main.go"),
        format!(
            "package main\n\nimport (\n\t\"example.com/public\"\n\t\"{lib}\"\n)\n\nfunc main() {{ println(public.P + lib.L) }}\n"
        ),
    )
    .expect("main.go");

    let (outside, inside) = (
        corp.tmp.path().join("outside"),
        corp.tmp.path().join("inside"),
    );
    let bundle = corp.tmp.path().join("bundle.tar");
    let upstream = corp.upstream.url();
    // A dry run neither stores nor asks the upstream proxy about the private module.
    let _ = common::godepot_command(&[
        "prefetch",
        "--dry-run",
        "--data-dir",
        s(&outside),
        "--upstream",
        &upstream,
        "--private",
        HOST,
        s(&project.join("go.mod")),
    ])
    .output()
    .expect("run godepot");
    assert_eq!(corp.upstream.hits_containing("corp.example"), 0);
    run_godepot(
        &corp,
        &[
            "prefetch",
            "--data-dir",
            s(&outside),
            "--upstream",
            &upstream,
            "--private",
            HOST,
            "--insecure",
            HOST,
            // Records are gathered for the air gap through the upstream: never a private one.
            "--sumdb",
            "sum.example",
            s(&project.join("go.mod")),
        ],
    );
    assert!(corp.upstream.hits_containing("/sumdb/sum.example/") > 0);
    assert_eq!(corp.upstream.hits_containing("corp.example"), 0);
    run_godepot(
        &corp,
        &["export", "--data-dir", s(&outside), "--out", s(&bundle)],
    );
    run_godepot(&corp, &["import", "--data-dir", s(&inside), s(&bundle)]);

    // The network is pulled: no git server, no upstream.
    let Corp {
        tmp,
        server,
        upstream,
        ..
    } = corp;
    drop(server);
    upstream.stop();
    let godepot = GodepotProcess::start_with_env(
        common::bin(),
        &["--data-dir", s(&inside), "--offline"],
        &[("PATH", "")],
    );
    let mut go = GoEnv::new(&godepot.url());
    go.set_env("GONOSUMDB", HOST);
    let built = tmp.path().join("app-bin");
    go.ok(&project, ["build", "-o", s(&built), "."]);
    assert!(built.is_file());
}
