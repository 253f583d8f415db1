//! The go command as the oracle: for each query, what `GOPROXY=direct` makes of a test
//! repository must be exactly what godepot-git answers (same Version, same `.info` Time,
//! same `h1:` of zip and go.mod), and a `GOPROXY=file://` tree written from godepot-git's
//! answers must download with the same sums.
//!
//! Repositories are made with `git` and served by `git http-backend` as
//! `git.corp.example` behind a loopback proxy (godepot-testkit's `git` module).

use std::path::{Path, PathBuf};

use godepot_git::{Credential, GitError, GitFetcher, GitOptions, HttpConfig};
use godepot_module::{ModulePath, Version, hash_go_mod};
use godepot_testkit::GoEnv;
use godepot_testkit::git::{GitServer, TestRepo};
use godepot_testkit::gitcases::{self, Download, download};

const HOST: &str = "git.corp.example";

struct Fixture {
    server: GitServer,
    tmp: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    fetcher: GitFetcher,
    /// The direct-mode go environment.
    direct: GoEnv,
    netrc: Option<PathBuf>,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with_credentials(Vec::new())
    }

    fn with_credentials(credentials: Vec<Credential>) -> Fixture {
        let server = GitServer::start(HOST);
        let tmp = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let mut options = options_for(&server, &tmp.path().join("cache"), 0);
        options.http.credentials = credentials.clone();
        let fetcher = GitFetcher::new(options).unwrap();
        let mut direct = gitcases::direct_go(&server);
        let mut netrc = None;
        if !credentials.is_empty() {
            let path = direct.home().join(".netrc");
            let text: String = credentials
                .iter()
                .map(|c| {
                    format!(
                        "machine {} login {} password {}\n",
                        c.host, c.login, c.secret
                    )
                })
                .collect();
            std::fs::write(&path, text).unwrap();
            direct.set_env("NETRC", path.to_str().unwrap());
            netrc = Some(path);
        }
        Fixture {
            server,
            tmp,
            rt,
            fetcher,
            direct,
            netrc,
        }
    }

    fn repo(&self, name: &str) -> TestRepo {
        gitcases::repo(&self.server, &self.tmp.path().join("repos"), name)
    }

    fn workdir(&self) -> PathBuf {
        let d = self.tmp.path().join("work");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// `go mod download -json m@q` with GOPROXY=direct: (Version, Sum, GoModSum, Time).
    fn go_direct(&self, module: &str, query: &str) -> Download {
        download(&self.direct, &self.workdir(), module, query)
    }

    /// What godepot-git answers for the query, checked against the go command both ways.
    fn check(&self, module: &str, query: &str) -> Download {
        let want = self.go_direct(module, query);
        let path = ModulePath::parse(module).unwrap();
        let info = self
            .rt
            .block_on(self.fetcher.info(&path, query))
            .unwrap_or_else(|e| panic!("{module}@{query}: {e}"));
        assert_eq!(
            info.version.as_str(),
            want.version,
            "{module}@{query}: Version"
        );
        assert_eq!(info.time, want.time, "{module}@{query}: Time");
        let tree = self.tmp.path().join("tree");
        let got = self.publish(&tree, &path, &info.version);
        assert_eq!(
            got.go_mod_sum, want.go_mod_sum,
            "{module}@{query}: go.mod h1"
        );
        assert_eq!(got.sum, want.sum, "{module}@{query}: zip h1");
        // The go command itself accepts what we built, with the same sums.
        let proxied = GoEnv::new(&format!("file://{}", tree.display()));
        let via = download(&proxied, &self.workdir(), module, info.version.as_str());
        assert_eq!(via.sum, want.sum, "{module}@{query}: zip h1 via file://");
        assert_eq!(
            via.go_mod_sum, want.go_mod_sum,
            "{module}@{query}: go.mod h1 via file://"
        );
        want
    }

    /// Writes `.info`, `.mod`, `.zip` of one version into a file:// tree; returns our sums.
    fn publish(&self, tree: &Path, path: &ModulePath, version: &Version) -> Download {
        let dir = tree.join(path.escaped()).join("@v");
        std::fs::create_dir_all(&dir).unwrap();
        let info = self
            .rt
            .block_on(self.fetcher.info(path, version.as_str()))
            .unwrap();
        let go_mod = self
            .rt
            .block_on(self.fetcher.go_mod(path, version))
            .unwrap();
        let zip = dir.join(format!("{}.zip", version.escaped()));
        let summary = self
            .rt
            .block_on(self.fetcher.zip(path, version, &zip))
            .unwrap_or_else(|e| panic!("{path}@{version}: zip: {e}"));
        std::fs::write(
            dir.join(format!("{}.info", version.escaped())),
            info.to_json(),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{}.mod", version.escaped())), &go_mod).unwrap();
        let list = self.rt.block_on(self.fetcher.list(path)).unwrap();
        let list: String = list.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(dir.join("list"), list).unwrap();
        Download {
            version: version.to_string(),
            sum: summary.h1,
            go_mod_sum: hash_go_mod(&go_mod),
            time: info.time,
        }
    }

    /// `go list -m -versions -retracted` direct (the proxy list holds retracted versions
    /// too; the go command hides them itself), against our `list`.
    fn check_list(&self, module: &str) {
        let out = self.direct.ok(
            &self.workdir_with_mod(),
            ["list", "-m", "-versions", "-retracted", module],
        );
        let want: Vec<&str> = out.split_whitespace().skip(1).collect();
        let path = ModulePath::parse(module).unwrap();
        let got = self.rt.block_on(self.fetcher.list(&path)).unwrap();
        let got: Vec<&str> = got.iter().map(Version::as_str).collect();
        assert_eq!(got, want, "{module}: list");
    }

    fn workdir_with_mod(&self) -> PathBuf {
        let d = self.tmp.path().join("main");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("go.mod"), "module example.com/main\n\ngo 1.21\n").unwrap();
        d
    }

    fn err(&self, module: &str, query: &str) -> GitError {
        let path = ModulePath::parse(module).unwrap();
        match self.rt.block_on(self.fetcher.info(&path, query)) {
            Ok(info) => panic!("{module}@{query}: expected an error, got {info:?}"),
            Err(e) => e,
        }
    }
}

/// Options reaching the test server as the proxy, `HOST` insecure, the given TTL.
fn options_for(server: &GitServer, cache: &Path, ttl_secs: u64) -> GitOptions {
    let mut options = GitOptions::new(cache);
    options.http = HttpConfig {
        insecure: HOST.into(),
        proxy: Some(server.proxy_url()),
        ..HttpConfig::default()
    };
    options.ttl = std::time::Duration::from_secs(ttl_secs);
    options
}

#[test]
fn tags_prereleases_branches_hashes_and_latest() {
    let fx = Fixture::new();
    let m = format!("{HOST}/a");
    let [first, second] = gitcases::tags(&mut fx.repo("a"), &m);

    fx.check_list(&m);
    for q in [
        "v1.0.0",
        "v1.1.0-rc.1",
        "v1.2.0",
        "v1.2",
        "latest",
        "main",
        "feature",
    ] {
        fx.check(&m, q);
    }
    fx.check(&m, &first);
    fx.check(&m, &second[..7]);
    fx.check(&m, &second[..12]);
    // The pseudo-version of the head, asked for by name.
    let head = fx.check(&m, "main");
    assert!(head.version.starts_with("v1.2.2-0."), "{head:?}");
    fx.check(&m, &head.version);
    // The non-canonical tags are no versions.
    let e = fx.err(&m, "v1.4.0");
    assert!(matches!(e, GitError::NotFound { .. }), "{e}");
}

#[test]
fn subdirectory_module_with_prefixed_tags_vendor_symlink_nested_and_license() {
    let fx = Fixture::new();
    let m = format!("{HOST}/mono/sub");
    let mut r = fx.repo("mono");
    gitcases::subdirectory(&mut r, &m);
    r.write("sub/s.go", "package sub\n// more\n");
    r.commit("more");
    fx.check_list(&m);
    fx.check(&m, "v0.3.0");
    let latest = fx.check(&m, "main");
    assert!(latest.version.starts_with("v0.3.1-0."), "{latest:?}");
}

#[test]
fn major_versions_subdirectory_root_and_incompatible() {
    let fx = Fixture::new();
    // /v2 in a major subdirectory.
    gitcases::major_subdirectory(&mut fx.repo("majsub"), &format!("{HOST}/majsub"));
    fx.check(&format!("{HOST}/majsub"), "v1.0.0");
    fx.check(&format!("{HOST}/majsub/v2"), "v2.0.0");
    fx.check_list(&format!("{HOST}/majsub/v2"));

    // /v2 declared at the root.
    gitcases::major_root(&mut fx.repo("majroot"), &format!("{HOST}/majroot"));
    fx.check(&format!("{HOST}/majroot/v2"), "v2.0.0");
    fx.check(&format!("{HOST}/majroot/v2"), "latest");
    fx.check(&format!("{HOST}/majroot/v2"), "main");

    // Only pre-releases: @latest is the highest of them, not the head's pseudo-version.
    let mut r = fx.repo("pre");
    r.write("go.mod", &format!("module {HOST}/pre\n"));
    r.commit("one");
    r.tag("v0.1.0-alpha.1");
    r.write("p.go", "package pre\n");
    r.commit("two");
    r.tag("v0.1.0-alpha.2");
    r.write("p.go", "package pre\n// more\n");
    r.commit("three");
    let pre = fx.check(&format!("{HOST}/pre"), "latest");
    assert_eq!(pre.version, "v0.1.0-alpha.2");

    // No go.mod: v2+ tags are +incompatible, and go.mod is synthesized.
    gitcases::no_go_mod(&mut fx.repo("legacy"));
    let m = format!("{HOST}/legacy");
    fx.check_list(&m);
    fx.check(&m, "v1.0.0");
    fx.check(&m, "v2.0.0+incompatible");
    fx.check(&m, "latest");
    let head = fx.check(&m, "main");
    assert!(head.version.ends_with("+incompatible"), "{head:?}");
}

#[test]
fn basic_auth_from_netrc_and_refusal_without() {
    let secret = "pa55-w0rd-xyz";
    let fx = Fixture::with_credentials(vec![Credential {
        host: HOST.into(),
        login: "alice".into(),
        secret: secret.into(),
    }]);
    assert!(fx.netrc.is_some());
    let mut r = fx.repo("private");
    r.write("go.mod", &format!("module {HOST}/private\n"))
        .write("p.go", "package private\n");
    r.commit("private");
    r.tag("v1.0.0");
    fx.server.require_auth("private", "alice", secret);
    fx.check(&format!("{HOST}/private"), "v1.0.0");

    let path = ModulePath::parse(&format!("{HOST}/private")).unwrap();

    // Without credentials: an error naming the host and how to log in, never a 404.
    let anonymous =
        GitFetcher::new(options_for(&fx.server, &fx.tmp.path().join("cache2"), 0)).unwrap();
    let e = fx.rt.block_on(anonymous.info(&path, "v1.0.0")).unwrap_err();
    assert!(matches!(e, GitError::AuthRequired { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(HOST) && text.contains(".netrc"), "{text}");
    assert!(!text.contains(secret));
}

#[test]
fn unknown_repositories_revisions_and_other_vcs() {
    let fx = Fixture::new();
    let mut r = fx.repo("known");
    r.write("go.mod", &format!("module {HOST}/known\n"));
    r.commit("one");
    // No tags at all: @latest is the pseudo-version of the default branch's head.
    let latest = fx.check(&format!("{HOST}/known"), "latest");
    assert!(latest.version.starts_with("v0.0.0-"), "{latest:?}");
    let e = fx.err(&format!("{HOST}/missing"), "latest");
    assert!(matches!(e, GitError::NotFound { .. }), "{e}");
    let e = fx.err(&format!("{HOST}/known"), "no-such-branch");
    assert!(matches!(e, GitError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("unknown revision"), "{e}");
    fx.server.set_meta(
        "hg/x",
        &format!(r#"<meta name="go-import" content="{HOST}/hg/x hg http://{HOST}/hg/x">"#),
    );
    let e = fx.err(&format!("{HOST}/hg/x"), "latest");
    assert!(matches!(e, GitError::Unsupported { .. }), "{e}");
    fx.server.set_meta(
        "two",
        &format!(
            r#"<meta name="go-import" content="{HOST}/two git http://{HOST}/known">
               <meta name="go-import" content="{HOST}/two git http://{HOST}/other">"#
        ),
    );
    let e = fx.err(&format!("{HOST}/two"), "latest");
    assert!(e.to_string().contains("multiple meta tags"), "{e}");
    // A page below a root may not claim the root for a repository the root disowns.
    fx.server.set_meta(
        "known/claimed",
        &format!(r#"<meta name="go-import" content="{HOST}/known git http://{HOST}/elsewhere">"#),
    );
    let e = fx.err(&format!("{HOST}/known/claimed"), "latest");
    assert!(e.to_string().contains("disagree about go-import"), "{e}");
}

#[test]
fn retracted_tags_are_no_pseudo_version_base() {
    let fx = Fixture::new();
    let m = format!("{HOST}/retract");
    let mut r = fx.repo("retract");
    gitcases::retraction(&mut r, &m);
    fx.check_list(&m);
    let side = fx.check(&m, "side");
    assert!(side.version.starts_with("v1.0.1-0."), "{side:?}");
    fx.check(&m, "v1.1.0");
    assert_eq!(fx.check(&m, "latest").version, "v1.2.0");
    // The highest version retracts itself and its predecessor: @latest passes over them.
    r.write(
        "go.mod",
        &format!("module {m}\n\ngo 1.21\n\nretract (\n\tv1.1.0\n\t[v1.2.0, v1.3.0]\n)\n"),
    );
    r.commit("retract everything after v1.0.0");
    r.tag("v1.3.0");
    fx.check_list(&m);
    assert_eq!(fx.check(&m, "latest").version, "v1.0.0");
    assert_eq!(fx.check(&m, "v1").version, "v1.0.0");
}

#[test]
fn vcs_qualifier_in_the_path() {
    let fx = Fixture::new();
    let m = format!("{HOST}/q.git/sub");
    let mut r = fx.repo("q");
    r.write("sub/go.mod", &format!("module {m}\n"))
        .write("sub/q.go", "package q\n");
    r.commit("one");
    r.tag("sub/v1.0.0");
    fx.check(&m, "v1.0.0");
    // No discovery page was needed for the qualified path.
    let asked = fx.server.requests();
    assert!(!asked.iter().any(|l| l.contains("go-get=1")), "{asked:#?}");
}

#[test]
fn one_fetch_per_ttl_for_concurrent_requests_then_incremental() {
    let fx = Fixture::new();
    let m = format!("{HOST}/busy");
    let mut r = fx.repo("busy");
    r.write("go.mod", &format!("module {m}\n"));
    r.commit("one");
    r.tag("v1.0.0");
    let cache = fx.tmp.path().join("shared-cache");
    let fetcher = |ttl: u64| GitFetcher::new(options_for(&fx.server, &cache, ttl)).unwrap();
    let slow = fetcher(3600);
    let path = ModulePath::parse(&m).unwrap();
    let lists = fx.rt.block_on(async {
        let calls = (0..8).map(|_| {
            let (f, p) = (slow.clone(), path.clone());
            tokio::spawn(async move { f.list(&p).await })
        });
        let mut out = Vec::new();
        for c in calls {
            out.push(c.await.unwrap().unwrap());
        }
        out
    });
    assert!(lists.iter().all(|l| l.len() == 1), "{lists:?}");
    let upload_packs = |fx: &Fixture| {
        fx.server
            .requests()
            .iter()
            .filter(|l| l.starts_with("POST") && l.ends_with("/git-upload-pack"))
            .count()
    };
    // ls-refs and fetch, once, for eight callers.
    assert_eq!(upload_packs(&fx), 2, "{:#?}", fx.server.requests());

    r.write("b.go", "package busy\n");
    r.commit("two");
    r.tag("v1.1.0");
    // Within the TTL nothing is asked again.
    let again = fx.rt.block_on(slow.list(&path)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(upload_packs(&fx), 2);
    // A fetcher with no TTL on the same mirror fetches only what is new.
    let eager = fetcher(0);
    let fresh = fx.rt.block_on(eager.list(&path)).unwrap();
    let fresh: Vec<&str> = fresh.iter().map(Version::as_str).collect();
    assert_eq!(fresh, ["v1.0.0", "v1.1.0"]);
    let packs = walk_packs(&cache);
    assert_eq!(packs, 2, "one pack per fetch, the first one kept");
}

#[test]
fn moved_tag_follows_upstream_in_the_mirror() {
    let fx = Fixture::new();
    let m = format!("{HOST}/moved");
    let mut r = fx.repo("moved");
    r.write("go.mod", &format!("module {m}\n"));
    r.commit("one");
    r.tag("v1.0.0");
    let before = fx.check(&m, "v1.0.0");
    r.write("x.go", "package moved\n");
    r.commit("two");
    r.move_tag("v1.0.0");
    let path = ModulePath::parse(&m).unwrap();
    let info = fx.rt.block_on(fx.fetcher.info(&path, "v1.0.0")).unwrap();
    // The mirror follows upstream (the depot, not this crate, keeps the first answer).
    assert_ne!(info.time, before.time);
}

fn walk_packs(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            n += walk_packs(&p);
        } else if p.extension().is_some_and(|e| e == "pack") {
            n += 1;
        }
    }
    n
}

#[test]
fn unreachable_too_large_mod_entries_and_bad_pseudo_versions() {
    let fx = Fixture::new();
    let m = format!("{HOST}/limits");
    let mut r = fx.repo("limits");
    r.write("go.mod", &format!("module {m}\n"))
        .write("big.txt", &incompressible(64 << 10));
    r.commit("one");
    r.tag("v1.0.0");
    r.write("more.go", "package limits\n");
    r.commit("two");
    let path = ModulePath::parse(&m).unwrap();

    // A proxy that is not there: unreachable (502), not "not found".
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let mut options = options_for(&fx.server, &fx.tmp.path().join("dead"), 0);
    options.http.proxy = Some(dead_url);
    let e = fx
        .rt
        .block_on(GitFetcher::new(options).unwrap().list(&path))
        .unwrap_err();
    assert!(matches!(e, GitError::Unreachable { .. }), "{e}");
    assert_eq!(e.status(), 502);

    // A pack over the limit is refused, and no refs are published for it.
    let cache = fx.tmp.path().join("small");
    let mut options = options_for(&fx.server, &cache, 0);
    options.max_pack = 1024;
    let e = fx
        .rt
        .block_on(GitFetcher::new(options).unwrap().list(&path))
        .unwrap_err();
    assert!(matches!(e, GitError::TooLarge { .. }), "{e}");
    assert_eq!(walk_packs(&cache), 0);

    // A file name the zip rules refuse makes the version unusable, here as for the go command.
    let mut bad = fx.repo("badname");
    bad.write("go.mod", &format!("module {HOST}/badname\n"))
        .write("a:b.go", "package badname\n");
    bad.commit("one");
    bad.tag("v1.0.0");
    let out = fx.direct.run(
        &fx.workdir(),
        [
            "mod",
            "download",
            "-json",
            &format!("{HOST}/badname@v1.0.0"),
        ],
    );
    assert!(!out.status.success(), "the go command accepted a:b.go");
    let bad_path = ModulePath::parse(&format!("{HOST}/badname")).unwrap();
    let v = Version::parse("v1.0.0").unwrap();
    let e = fx
        .rt
        .block_on(
            fx.fetcher
                .zip(&bad_path, &v, &fx.tmp.path().join("bad.zip")),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("create zip") && e.to_string().contains("a:b.go"),
        "{e}"
    );

    // A go-import "mod" entry sends the caller to that proxy.
    fx.server.set_meta(
        "viaproxy",
        &format!(
            r#"<meta name="go-import" content="{HOST}/viaproxy mod https://proxy.corp.example">"#
        ),
    );
    let e = fx.err(&format!("{HOST}/viaproxy"), "latest");
    assert!(
        matches!(&e, GitError::ModProxy { url, .. } if url == "https://proxy.corp.example"),
        "{e}"
    );

    // Pseudo-versions must be the ones the go command would make.
    let good = fx.check(&m, "main");
    let path_ok = fx
        .rt
        .block_on(fx.fetcher.info(&path, &good.version))
        .unwrap();
    assert_eq!(path_ok.version.as_str(), good.version);
    let wrong_time = good.version.replacen("2026", "2025", 1);
    let e = fx.err(&m, &wrong_time);
    assert!(
        e.to_string()
            .contains("does not match version-control timestamp"),
        "{e}"
    );
    assert!(good.version.starts_with("v1.0.1-0."), "{good:?}");
    let no_such_base = good.version.replacen("v1.0.1-0.", "v1.5.1-0.", 1);
    let e = fx.err(&m, &no_such_base);
    assert!(
        e.to_string().contains("preceding tag (v1.5.0) not found"),
        "{e}"
    );
}

/// Text that deflate cannot shrink much (a linear congruential sequence in hex).
fn incompressible(len: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push_str(&format!("{:016x}", x));
    }
    out
}

/// Set (to `proxy|cache|module`) in the child process of `no_process_is_started`.
const CHILD_ENV: &str = "GODEPOT_GIT_TEST_CHILD";

#[test]
fn no_process_is_started_even_with_an_empty_path() {
    let fx = Fixture::new();
    let m = format!("{HOST}/nopath");
    let mut r = fx.repo("nopath");
    r.write("go.mod", &format!("module {m}\n"))
        .write("sub/x.go", "package x\n");
    r.commit("one");
    r.tag("v1.0.0");
    let cache = fx.tmp.path().join("child-cache");
    let spec = format!("{}|{}|{m}", fx.server.proxy_url(), cache.display());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fetch_in_child_with_empty_path", "--nocapture"])
        .env(CHILD_ENV, spec)
        .env("PATH", "")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("child fetched v1.0.0"), "{text}");
}

/// Runs only as the child of the test above: list, info, go.mod and zip with no PATH.
#[test]
fn fetch_in_child_with_empty_path() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (proxy, cache, module) = (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    );
    let mut options = GitOptions::new(cache.as_str());
    options.http = HttpConfig {
        insecure: HOST.into(),
        proxy: Some(proxy),
        ..HttpConfig::default()
    };
    let fetcher = GitFetcher::new(options).unwrap();
    let path = ModulePath::parse(&module).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let list = fetcher.list(&path).await.unwrap();
        let info = fetcher.info(&path, "latest").await.unwrap();
        fetcher.go_mod(&path, &info.version).await.unwrap();
        let zip = Path::new(&cache).join("out.zip");
        let summary = fetcher.zip(&path, &info.version, &zip).await.unwrap();
        assert!(summary.h1.starts_with("h1:"));
        println!("child fetched {} ({} listed)", info.version, list.len());
    });
}

#[test]
fn go_import_subdirectory_field() {
    let fx = Fixture::new();
    let m = format!("{HOST}/sd");
    let mut r = fx.repo("sdrepo");
    r.write("README", "the module lives in go/\n")
        .write("LICENSE", "license\n")
        .write("go/go.mod", &format!("module {m}\n"))
        .write("go/sd.go", "package sd\n");
    r.commit("one");
    r.tag("go/v1.0.0");
    fx.server.set_meta(
        "sd",
        &format!(r#"<meta name="go-import" content="{m} git http://{HOST}/sdrepo go">"#),
    );
    fx.check_list(&m);
    fx.check(&m, "v1.0.0");
    fx.check(&m, "latest");
}
