//! `--policy`, end to end, with the go command as the oracle: blocked versions answer 403 with
//! their reason (which the go command prints), are never fetched from upstream, and are left
//! out of lists and `@latest`; SIGHUP reloads the policy; prefetch does not gather them.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{get, godepot_cli, godepot_command};
use godepot_testkit::{FixtureUpstream, GoEnv, GodepotProcess, Universe, UniverseBuilder};

/// `corp.example/lib` with a CVE range and a patched exception above it, a malware prefix,
/// and a module nobody minds.
const POLICY: &str = r#"default = "allow"
[[allow]]
module = "corp.example/lib"
versions = "= v1.3.0"
reason = "patched internally"
[[deny]]
module = "corp.example/lib"
versions = ">= v1.2.0"
reason = "CVE-2099-0001"
[[deny]]
module = "example.com/evil/*"
reason = "known malware"
"#;

struct Rig {
    tmp: tempfile::TempDir,
    universe: Universe,
    upstream: FixtureUpstream,
    data: PathBuf,
}

/// The universe, and a project that needs `requires`.
fn rig(requires: &[(&str, &str)]) -> Rig {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut b = UniverseBuilder::new(tmp.path().join("u")).module("corp.example/lib");
    for v in ["v1.0.0", "v1.2.0", "v1.3.0", "v1.4.0"] {
        b = b.version(v).file("lib.go", "package lib\n");
    }
    b = b
        .module("example.com/evil/x")
        .version("v1.0.0")
        .file("x.go", "package x\n")
        .module("example.com/ok")
        .version("v1.0.0")
        .file("ok.go", "package ok\n")
        .project(tmp.path().join("project"), "example.com/project");
    for (m, v) in requires {
        b = b.require(m, v);
    }
    let universe = b.build();
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

    /// Serves with `policy`, and the audit log at `<tmp>/audit.log`.
    fn serve(&self, policy: &Path) -> GodepotProcess {
        let audit = self.audit_log();
        let args = [
            "--data-dir",
            self.data.to_str().unwrap(),
            "--upstream",
            &self.upstream.url(),
            "--sumdb",
            "off",
            "--log-format",
            "json",
            "--policy",
            policy.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ];
        GodepotProcess::start(common::bin(), &args)
    }

    fn audit_log(&self) -> PathBuf {
        self.tmp.path().join("audit.log")
    }

    /// The audit log's events of this kind.
    fn audited(&self, event: &str) -> Vec<godepot_testkit::serde_json::Value> {
        let text = std::fs::read_to_string(self.audit_log()).unwrap_or_default();
        text.lines()
            .map(|l| godepot_testkit::serde_json::from_str(l).expect("one JSON object a line"))
            .filter(|v: &godepot_testkit::serde_json::Value| v["event"] == event)
            .collect()
    }

    fn project(&self) -> PathBuf {
        self.universe.copy_project(&self.tmp.path().join("work"))
    }
}

fn hangup(gd: &GodepotProcess) {
    let pid = gd.pid().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
}

fn wait_log(gd: &GodepotProcess, needle: &str) {
    let found = gd.wait_for_json_log(Duration::from_secs(30), |r| r.to_string().contains(needle));
    assert!(
        found.is_some(),
        "no log {needle:?}:\n{}",
        gd.logs().join("\n")
    );
}

#[test]
fn latest_is_the_newest_allowed_version() {
    let r = rig(&[]);
    let gd = r.serve(&r.policy(POLICY));
    let list = get(&gd, "/corp.example/lib/@v/list");
    assert_eq!(list.status, 200);
    let mut listed: Vec<String> = list.text().lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(
        listed,
        ["v1.0.0", "v1.3.0"],
        "v1.2.0 and v1.4.0 are blocked"
    );
    let latest = get(&gd, "/corp.example/lib/@latest");
    assert_eq!(latest.status, 200, "{}", latest.text());
    assert!(latest.text().contains("v1.3.0"), "{}", latest.text());

    let go = GoEnv::new(&gd.url());
    let work = r.project();
    go.ok(&work, ["get", "corp.example/lib@latest"]);
    let go_mod = std::fs::read_to_string(work.join("go.mod")).unwrap();
    assert!(go_mod.contains("corp.example/lib v1.3.0"), "{go_mod}");

    // Every version blocked: @latest is the refusal of the newest.
    let evil = get(&gd, "/example.com/evil/x/@latest");
    assert_eq!(evil.status, 403, "{}", evil.text());
    assert!(evil.text().contains("known malware"), "{}", evil.text());
}

#[test]
fn a_blocked_version_fails_the_build_with_its_reason_and_is_never_fetched() {
    let r = rig(&[
        ("example.com/evil/x", "v1.0.0"),
        ("corp.example/lib", "v1.2.0"),
    ]);
    let gd = r.serve(&r.policy(POLICY));
    let go = GoEnv::new(&gd.url());
    let work = r.project();
    let out = go.run(&work, ["mod", "download", "example.com/evil/x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("example.com/evil/x@v1.0.0 is blocked by policy")
            && stderr.contains("known malware"),
        "go's output must carry the reason:\n{stderr}"
    );
    for ext in ["info", "mod", "zip"] {
        let resp = get(&gd, &format!("/corp.example/lib/@v/v1.2.0.{ext}"));
        assert_eq!(resp.status, 403, ".{ext}: {}", resp.text());
        assert_eq!(
            resp.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(
            resp.text().trim(),
            "corp.example/lib@v1.2.0 is blocked by policy (deny rule 2, line 6): CVE-2099-0001"
        );
    }
    assert_eq!(
        r.upstream.hits_containing("evil"),
        0,
        "{:?}",
        r.upstream.all_hits()
    );
    assert_eq!(
        r.upstream.hits_containing("v1.2.0"),
        0,
        "{:?}",
        r.upstream.all_hits()
    );
    // Each refusal is in the audit log, with its rule, reason and client.
    let blocked = r.audited("request_blocked");
    let evil = blocked
        .iter()
        .find(|e| e["module"] == "example.com/evil/x")
        .unwrap_or_else(|| panic!("{blocked:?}"));
    assert_eq!(evil["version"], "v1.0.0");
    assert_eq!(evil["rule"], "deny rule 3, line 10");
    assert_eq!(evil["reason"], "known malware");
    assert_eq!(evil["client"], "127.0.0.1");
    // The exception above the rule it punches through.
    assert_eq!(get(&gd, "/corp.example/lib/@v/v1.3.0.mod").status, 200);
}

#[test]
fn default_deny_admits_only_what_an_allow_rule_matches() {
    let r = rig(&[]);
    let gd = r.serve(&r.policy("default = \"deny\"\n[[allow]]\nmodule = \"example.com/ok\"\n"));
    let go = GoEnv::new(&gd.url());
    let work = r.project();
    go.ok(&work, ["mod", "download", "example.com/ok@v1.0.0"]);
    let out = go.run(&work, ["mod", "download", "corp.example/lib@v1.0.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("corp.example/lib@v1.0.0 is blocked by policy (no allow rule matches; default = \"deny\")"),
        "{stderr}"
    );
}

#[test]
fn sighup_reloads_the_policy_and_a_bad_reload_keeps_the_old_one() {
    let r = rig(&[]);
    let policy = r.policy("default = \"allow\"\n");
    let gd = r.serve(&policy);
    assert_eq!(get(&gd, "/example.com/evil/x/@v/v1.0.0.info").status, 200);

    std::fs::write(&policy, POLICY).unwrap();
    hangup(&gd);
    wait_log(&gd, "policy reloaded");
    let refused = get(&gd, "/example.com/evil/x/@v/v1.0.0.info");
    assert_eq!(refused.status, 403, "held already, yet blocked now");
    assert!(refused.text().contains("known malware"));

    std::fs::write(
        &policy,
        "default = \"allow\"\n[[deny]]\nmodule = \"x\"\nversion = \"v1\"\n",
    )
    .unwrap();
    hangup(&gd);
    wait_log(&gd, "policy reload failed");
    let failed = gd.logs().join("\n");
    assert!(
        failed.contains("policy.toml:4:1"),
        "the reload error names file:line:column:\n{failed}"
    );
    assert_eq!(
        get(&gd, "/example.com/evil/x/@v/v1.0.0.info").status,
        403,
        "the old policy stays"
    );
    common::assert_healthy(&gd, "after reloads");
    let reloads = r.audited("policy_reloaded");
    assert_eq!(reloads.len(), 2, "{reloads:?}");
    assert!(reloads[0]["error"].is_null());
    assert!(
        reloads[1]["error"]
            .as_str()
            .unwrap_or("")
            .contains("policy.toml:4:1"),
        "{reloads:?}"
    );
}

#[test]
fn a_bad_policy_file_stops_start_up_naming_file_line_and_column() {
    let r = rig(&[]);
    let policy = r.policy("[[deny]]\nmodule = \"corp.example/lib\"\nversions = \">= 1.2\"\n");
    let out = godepot_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        r.data.to_str().unwrap(),
        "--upstream",
        &r.upstream.url(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: bad policy file: "), "{stderr}");
    assert!(stderr.contains("policy.toml:3:"), "{stderr}");
}

#[test]
fn prefetch_does_not_gather_blocked_versions_and_names_them() {
    let r = rig(&[
        ("example.com/evil/x", "v1.0.0"),
        ("example.com/ok", "v1.0.0"),
    ]);
    let policy = r.policy(POLICY);
    let go_mod = r.universe.project_dir().join("go.mod");
    let out = godepot_command(&[
        "prefetch",
        "--upstream",
        &r.upstream.url(),
        "--sumdb",
        "off",
    ])
    .arg("--data-dir")
    .arg(&r.data)
    .arg("--policy")
    .arg(&policy)
    .arg(&go_mod)
    .arg("--json")
    .output()
    .expect("run prefetch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("known malware"),
        "the --json summary names the reason:\n{stdout}"
    );
    assert!(
        stderr.contains("example.com/evil/x@v1.0.0 is blocked by policy"),
        "{stderr}"
    );
    assert_eq!(
        r.upstream.hits_containing("evil"),
        0,
        "{:?}",
        r.upstream.all_hits()
    );
    assert!(r.upstream.hits_containing("example.com/ok/@v/v1.0.0.zip") > 0);
}

/// `godepot <args>`, hermetically: its output.
fn cli(args: &[&std::ffi::OsStr]) -> std::process::Output {
    godepot_command(args).output().expect("run godepot")
}

#[test]
fn import_refuses_a_bundle_with_a_blocked_version_unless_told_to_skip_it() {
    let r = rig(&[]);
    let policy = r.policy(POLICY);
    let outside = r.tmp.path().join("outside");
    let bundle = r.tmp.path().join("all.tar.zst");
    let o = |p: &Path| p.as_os_str().to_owned();
    let out = cli(&[
        "import".as_ref(),
        "--data-dir".as_ref(),
        &o(&outside),
        &o(&r.universe.root),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&[
        "export".as_ref(),
        "--data-dir".as_ref(),
        &o(&outside),
        "--out".as_ref(),
        &o(&bundle),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let inside = r.tmp.path().join("inside");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import".into(),
            "--json".into(),
            "--data-dir".into(),
            o(&inside),
            "--policy".into(),
            o(&policy),
        ];
        args.extend(extra.iter().map(std::ffi::OsString::from));
        args.push(o(&bundle));
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        cli(&refs)
    };
    let refused = import(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("example.com/evil/x@v1.0.0 is blocked by policy")
            && stderr.contains("known malware"),
        "{stderr}"
    );
    assert!(stderr.contains("CVE-2099-0001"), "{stderr}");
    assert!(!inside.exists(), "nothing imported");

    let skipped = import(&["--skip-blocked"]);
    let stderr = String::from_utf8_lossy(&skipped.stderr);
    assert!(skipped.status.success(), "{stderr}");
    let summary: godepot_testkit::serde_json::Value =
        godepot_testkit::serde_json::from_slice(&skipped.stdout).expect("--json");
    let left_out: Vec<&str> = summary["blocked"]
        .as_array()
        .expect("blocked")
        .iter()
        .map(|b| b["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        left_out,
        [
            "corp.example/lib@v1.2.0",
            "corp.example/lib@v1.4.0",
            "example.com/evil/x@v1.0.0"
        ]
    );
    assert!(
        stderr.contains("left out example.com/evil/x@v1.0.0 is blocked by policy"),
        "{stderr}"
    );
    assert!(inside.join("example.com/ok/@v/v1.0.0.zip").is_file());
    assert!(inside.join("corp.example/lib/@v/v1.3.0.zip").is_file());
    assert!(!inside.join("example.com/evil").exists());
    assert!(!inside.join("corp.example/lib/@v/v1.2.0.zip").exists());

    // From a tree, artifact by artifact: the blocked versions are refused, the rest taken.
    let tree_dest = r.tmp.path().join("tree");
    let out = cli(&[
        "import".as_ref(),
        "--data-dir".as_ref(),
        &o(&tree_dest),
        "--policy".as_ref(),
        &o(&policy),
        &o(&r.universe.root),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "refused example.com/evil/x@v1.0.0: example.com/evil/x@v1.0.0 is blocked by policy"
        ),
        "{stderr}"
    );
    assert!(tree_dest.join("example.com/ok/@v/v1.0.0.zip").is_file());
}

#[test]
fn rm_quarantines_a_version_and_says_so() {
    let r = rig(&[]);
    let o = |p: &Path| p.as_os_str().to_owned();
    let out = cli(&[
        "import".as_ref(),
        "--data-dir".as_ref(),
        &o(&r.data),
        &o(&r.universe.root),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = r.audit_log();
    let rm = |target: &str| {
        cli(&[
            "rm".as_ref(),
            "--data-dir".as_ref(),
            &o(&r.data),
            "--audit-log".as_ref(),
            &o(&audit),
            target.as_ref(),
        ])
    };
    let out = rm("corp.example/lib@v1.2.0");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: removed corp.example/lib@v1.2.0, a version this store served"),
        "{stderr}"
    );
    let v = r.data.join("corp.example/lib/@v");
    assert!(!v.join("v1.2.0.zip").exists() && !v.join("v1.2.0.info").exists());
    let list = std::fs::read_to_string(v.join("list")).unwrap();
    assert!(
        !list.contains("v1.2.0") && list.contains("v1.3.0"),
        "{list}"
    );
    let quarantined: Vec<String> =
        godepot_testkit::fsutil::tree(&r.data.join(".godepot/quarantine"))
            .into_keys()
            .collect();
    assert!(
        quarantined
            .iter()
            .any(|p| p.ends_with("corp.example/lib/@v/v1.2.0.zip")),
        "{quarantined:?}"
    );
    let actions = r.audited("admin_action");
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["action"], "remove");
    assert_eq!(actions[0]["target"], "corp.example/lib@v1.2.0");

    let again = rm("corp.example/lib@v1.2.0");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not held"));
    let bad = rm("corp.example/lib");
    assert_eq!(bad.status.code(), Some(2));
}
