//! Issue 15's policy on facts, end to end with the go command as the oracle: a version an
//! entry of the held vulnerability database affects answers 403 naming the entry and its fix,
//! and `go get m@latest` moves past it; a module refused for its licence (detected from its
//! zip's licence files) fails the build with the reason; `ls` shows each version's licence.

mod common;

use std::path::{Path, PathBuf};

use common::{get, godepot_cli};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, Universe, UniverseBuilder};

struct Rig {
    tmp: tempfile::TempDir,
    universe: Universe,
    upstream: FixtureUpstream,
    data: PathBuf,
}

/// `example.com/mit` (an MIT LICENSE), `example.com/bare` (no licence file),
/// `example.com/vuln` v1.0.0, v1.1.0 (affected by the fixture database below v1.2.0),
/// v1.2.0; and a project.
fn rig() -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut b = UniverseBuilder::new(tmp.path().join("u"))
        .module("example.com/mit")
        .version("v1.0.0")
        .file("mit.go", "package mit\n")
        .file("LICENSE", godepot_testkit::licenses::MIT)
        .module("example.com/bare")
        .version("v1.0.0")
        .file("bare.go", "package bare\n")
        .module("example.com/vuln");
    for v in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        b = b
            .version(v)
            .file("vuln.go", "package vuln\n")
            .file("LICENSE", godepot_testkit::licenses::ISC);
    }
    let universe = b
        .project(tmp.path().join("project"), "example.com/project")
        .build();
    let upstream = FixtureUpstream::start(&universe.root);
    let data = tmp.path().join("data");
    Rig {
        tmp,
        universe,
        upstream,
        data,
    }
}

impl Rig {
    fn policy(&self, text: &str) -> PathBuf {
        let path = self.tmp.path().join("policy.toml");
        std::fs::write(&path, text).expect("write policy");
        path
    }

    fn serve(&self, policy: &Path) -> GodepotProcess {
        let args = [
            "--data-dir",
            self.data.to_str().unwrap(),
            "--upstream",
            &self.upstream.url(),
            "--sumdb",
            "off",
            "--policy",
            policy.to_str().unwrap(),
        ];
        GodepotProcess::start(common::bin(), &args)
    }

    fn project(&self) -> PathBuf {
        self.universe.copy_project(&self.tmp.path().join("work"))
    }
}

#[test]
fn a_module_refused_for_its_licence_fails_the_build_and_ls_shows_why() {
    let r = rig();
    let policy = "default-license = \"deny\"\n[[deny]]\nlicenses = [\"MIT\"]\nreason = \"not for this product\"\n";
    let gd = r.serve(&r.policy(policy));
    let go = GoEnv::new(&gd.url());
    let work = r.project();

    let out = go.run(&work, ["mod", "download", "example.com/mit@v1.0.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "example.com/mit@v1.0.0 is blocked by policy (deny rule 1, line 2): licence MIT; not for this product"
        ),
        "the go command must print the reason:\n{stderr}"
    );
    let out = go.run(&work, ["mod", "download", "example.com/bare@v1.0.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("licence unknown, no rule matches; default-license = \"deny\""),
        "{stderr}"
    );
    // An allowed licence (ISC) is served.
    go.ok(&work, ["mod", "download", "example.com/vuln@v1.2.0"]);
    // The refused zips were fetched to be known, and kept; never served.
    let zip = get(&gd, "/example.com/mit/@v/v1.0.0.zip");
    assert_eq!(zip.status, 403, "{}", zip.text());
    drop(gd);

    let ls = godepot_cli(&["ls", "--json", "--data-dir", r.data.to_str().unwrap()]);
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let ls: godepot_testkit::serde_json::Value =
        godepot_testkit::serde_json::from_slice(&ls.stdout).expect("json");
    let license = |module: &str| {
        let m = ls["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == module);
        m.map(|m| m["versions"][0]["license"].clone())
    };
    assert_eq!(license("example.com/mit").unwrap(), "MIT", "{ls}");
    assert_eq!(license("example.com/bare").unwrap(), "unknown", "{ls}");
    assert_eq!(license("example.com/vuln").unwrap(), "ISC", "{ls}");
    let text = godepot_cli(&["ls", "--data-dir", r.data.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let mit = text
        .lines()
        .find(|l| l.starts_with("example.com/mit "))
        .unwrap_or_default();
    assert!(mit.contains(" MIT "), "{text}");
}

/// A fixture vulnerability database, in the documented layout, written where the store keeps
/// its copy (`.godepot/vulndb/`): GO-2099-0001 affects `example.com/vuln` from v1.0.0 below
/// v1.2.0; GO-2099-0002 is withdrawn (and would affect every version).
fn hold_vulndb(data: &Path) {
    let db = data.join(".godepot/vulndb");
    std::fs::create_dir_all(db.join("index")).unwrap();
    std::fs::create_dir_all(db.join("ID")).unwrap();
    let t = "2099-01-02T00:00:00Z";
    std::fs::write(
        db.join("index/db.json"),
        format!("{{\"modified\":\"{t}\"}}"),
    )
    .unwrap();
    std::fs::write(
        db.join("index/modules.json"),
        format!(
            "[{{\"path\":\"example.com/vuln\",\"vulns\":[{{\"id\":\"GO-2099-0001\",\"modified\":\"{t}\",\"fixed\":\"1.2.0\"}},{{\"id\":\"GO-2099-0002\",\"modified\":\"{t}\"}}]}}]"
        ),
    )
    .unwrap();
    let entry = |id: &str, extra: &str, events: &str| {
        format!(
            "{{\"schema_version\":\"1.3.1\",\"id\":\"{id}\",\"modified\":\"{t}\",\"published\":\"{t}\",{extra}\"aliases\":[\"CVE-2099-{n}\"],\"summary\":\"A fixture vulnerability in example.com/vuln\",\"affected\":[{{\"package\":{{\"name\":\"example.com/vuln\",\"ecosystem\":\"Go\"}},\"ranges\":[{{\"type\":\"SEMVER\",\"events\":[{events}]}}],\"ecosystem_specific\":{{\"imports\":[{{\"path\":\"example.com/vuln\",\"symbols\":[\"Do\"]}}]}}}}]}}",
            n = &id[8..]
        )
    };
    std::fs::write(
        db.join("ID/GO-2099-0001.json"),
        entry(
            "GO-2099-0001",
            "",
            "{\"introduced\":\"1.0.0\"},{\"fixed\":\"1.2.0\"}",
        ),
    )
    .unwrap();
    std::fs::write(
        db.join("ID/GO-2099-0002.json"),
        entry(
            "GO-2099-0002",
            &format!("\"withdrawn\":\"{t}\","),
            "{\"introduced\":\"0\"}",
        ),
    )
    .unwrap();
}

#[test]
fn a_vulnerable_version_is_refused_naming_the_entry_and_fix_and_latest_moves_past_it() {
    let r = rig();
    std::fs::create_dir_all(&r.data).unwrap();
    hold_vulndb(&r.data);
    let policy = "[[deny]]\nvulnerable = true\nreason = \"upgrade\"\n";
    let gd = r.serve(&r.policy(policy));
    let go = GoEnv::new(&gd.url());
    let work = r.project();

    let out = go.run(&work, ["mod", "download", "example.com/vuln@v1.1.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "example.com/vuln@v1.1.0 is blocked by policy (deny rule 1, line 1): affected by GO-2099-0001 (fixed in v1.2.0); upgrade"
        ),
        "the go command must print the entry and its fix:\n{stderr}"
    );
    for ext in ["info", "zip"] {
        let resp = get(&gd, &format!("/example.com/vuln/@v/v1.1.0.{ext}"));
        assert_eq!(resp.status, 403, ".{ext}: {}", resp.text());
    }
    // The module graph may read it; the build never gets its code.
    assert_eq!(get(&gd, "/example.com/vuln/@v/v1.1.0.mod").status, 200);
    assert_eq!(r.upstream.hits_containing("v1.1.0.zip"), 0);
    let list = get(&gd, "/example.com/vuln/@v/list");
    assert_eq!(list.text(), "v1.2.0\n");

    // go get m@latest picks the newest unaffected version (v1.2.0 here: fixed).
    go.ok(&work, ["get", "example.com/vuln@latest"]);
    let go_mod = std::fs::read_to_string(work.join("go.mod")).unwrap();
    assert!(go_mod.contains("example.com/vuln v1.2.0"), "{go_mod}");
    // The withdrawn entry affects nothing: v1.2.0 and v1.0.0's .mod are fine.
    assert_eq!(get(&gd, "/example.com/vuln/@v/v1.2.0.info").status, 200);
}

#[test]
fn audit_lists_the_entries_affecting_what_a_project_selects_and_exits_1() {
    let r = rig();
    // Fill the store with what the project needs (v1.1.0, affected), no policy.
    let gd = r.serve(&r.policy(""));
    let go = GoEnv::new(&gd.url());
    let work = r.project();
    go.ok(&work, ["get", "example.com/vuln@v1.1.0"]);
    drop(gd);
    let data = r.data.to_str().unwrap();
    let go_mod = work.join("go.mod");
    let go_mod = go_mod.to_str().unwrap();

    // No database held: an error saying how to get one.
    let none = godepot_cli(&["audit", "--data-dir", data, go_mod]);
    assert_eq!(none.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.contains("holds no vulnerability database") && stderr.contains("hint:"),
        "{stderr}"
    );

    hold_vulndb(&r.data);
    let found = godepot_cli(&["audit", "--data-dir", data, go_mod]);
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert_eq!(
        found.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(
        stdout.contains("example.com/vuln@v1.1.0\tGO-2099-0001 (CVE-2099-0001)\tfixed in v1.2.0"),
        "{stdout}"
    );
    assert!(!stdout.contains("GO-2099-0002"), "withdrawn: {stdout}");
    let json = godepot_cli(&["audit", "--json", "--data-dir", data, go_mod]);
    let json: godepot_testkit::serde_json::Value =
        godepot_testkit::serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["affected"][0]["module"], "example.com/vuln", "{json}");
    assert_eq!(
        json["affected"][0]["advisories"][0]["fixed"], "v1.2.0",
        "{json}"
    );

    // Moved to the fix: clean, exit 0.
    let gd = r.serve(&r.policy(""));
    let go = GoEnv::new(&gd.url());
    go.ok(&work, ["get", "example.com/vuln@v1.2.0"]);
    drop(gd);
    let clean = godepot_cli(&["audit", "--data-dir", data, go_mod]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
}
