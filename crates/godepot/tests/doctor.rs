//! `godepot doctor` end to end: a developer's go command whose settings live in a `GOENV`
//! file (where `go env -w` writes), a godepot in front of a fixture upstream, and for each
//! problem: doctor finds it (exit 1), the fix line it prints is run as printed, doctor then
//! passes (exit 0), and the real go command downloads through the server.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Rig, godepot_command};
use godepot_testkit::GoEnv;

/// The variables the tests set through the `GOENV` file, never the environment.
const FROM_FILE: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GOFLAGS",
];

/// A developer's machine: an isolated go whose settings come from a `GOENV` file, and a
/// module that requires `example.com/f`.
struct Dev {
    go: GoEnv,
    project: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Dev {
    /// Settings written with `go env -w`, as a developer would.
    fn new(settings: &[&str]) -> Dev {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut go = GoEnv::new("off");
        for v in FROM_FILE {
            go.unset_env(v);
        }
        go.set_env("GOENV", tmp.path().join("go.env").to_str().expect("utf-8"));
        let project = tmp.path().join("app");
        std::fs::create_dir_all(&project).expect("project dir");
        std::fs::write(
            project.join("go.mod"),
            "module example.com/app\n\ngo 1.21\n\nrequire example.com/f v1.0.0\n",
        )
        .expect("go.mod");
        let dev = Dev {
            go,
            project,
            _tmp: tmp,
        };
        let mut args = vec!["env", "-w", "GOSUMDB=off"];
        args.extend_from_slice(settings);
        dev.go.ok(&dev.project, &args);
        dev
    }

    /// `godepot doctor --json <args>` in the project.
    fn doctor(&self, args: &[&str]) -> (Output, serde_json::Value) {
        let mut all = vec!["doctor", "--json"];
        all.extend_from_slice(args);
        let mut cmd = godepot_command(&all);
        self.go.apply(&mut cmd);
        let out = cmd.current_dir(&self.project).output().expect("run doctor");
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor --json printed no JSON ({e}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out, report)
    }

    /// Runs a fix line as a developer would paste it, in their shell.
    fn run_fix(&self, line: &str) {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(line).current_dir(&self.project);
        self.go.apply(&mut cmd);
        let out = cmd.output().expect("run sh");
        assert!(
            out.status.success(),
            "fix line {line:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The real go command downloads the module the project needs.
    fn downloads(&self) {
        self.go
            .ok(&self.project, ["mod", "download", "example.com/f@v1.0.0"]);
    }
}

/// The checks doctor reports as findings, with their fix lines.
fn findings(report: &serde_json::Value) -> Vec<(String, Option<String>)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "finding")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["fix"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Doctor finds exactly `check` (exit 1); its fix line, run, makes doctor pass (exit 0).
fn found_and_fixed(dev: &Dev, args: &[&str], check: &str, fix: &str) {
    let (out, report) = dev.doctor(args);
    assert_eq!(
        findings(&report),
        vec![(check.to_string(), Some(fix.to_string()))],
        "{report:#}"
    );
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    dev.run_fix(fix);
    passes(dev, args);
}

fn passes(dev: &Dev, args: &[&str]) {
    let (out, report) = dev.doctor(args);
    assert_eq!(findings(&report), vec![], "{report:#}");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["findings"], 0);
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn goproxy_pointing_elsewhere_is_found_and_fixed() {
    let rig = Rig::small();
    let godepot = rig.godepot(&[]);
    let server = godepot.url();
    let wrong = format!("http://127.0.0.1:{}", free_port());
    let dev = Dev::new(&[&format!("GOPROXY={wrong}")]);
    found_and_fixed(
        &dev,
        &["--server", &server],
        "goproxy",
        &format!("go env -w GOPROXY={server}"),
    );
    dev.downloads();
}

#[test]
fn goproxy_bypassed_by_an_earlier_entry_is_found_and_fixed() {
    let rig = Rig::small();
    let godepot = rig.godepot(&[]);
    let server = godepot.url();
    let fix = format!("go env -w GOPROXY={server}");
    // `direct` first; --server defaults to GOPROXY's first URL, the server.
    let dev = Dev::new(&[&format!("GOPROXY=direct,{server}")]);
    found_and_fixed(&dev, &[], "goproxy", &fix);
    // Another proxy first.
    let other = format!("http://127.0.0.1:{}", free_port());
    dev.go.ok(
        &dev.project,
        ["env", "-w", &format!("GOPROXY={other},{server}")],
    );
    found_and_fixed(&dev, &["--server", &server], "goproxy", &fix);
    dev.downloads();
}

#[test]
fn goprivate_covering_the_servers_private_modules_is_found_and_fixed() {
    let rig = Rig::small();
    let godepot = rig.godepot(&["--private", "corp.example"]);
    let server = godepot.url();
    // What doctor reads of it.
    let info = common::get(&godepot, "/api/server");
    assert_eq!(info.status, 200, "{}", info.text());
    let info: serde_json::Value = serde_json::from_slice(&info.body).expect("JSON");
    assert_eq!(info["mode"], "online");
    assert_eq!(info["private"], serde_json::json!(["corp.example"]));
    assert_eq!(info["base_url"], server.as_str());
    assert_eq!(info["require_auth"], false);

    let dev = Dev::new(&[&format!("GOPROXY={server}"), "GOPRIVATE=corp.example"]);
    found_and_fixed(&dev, &[], "gonoproxy", "go env -w GONOPROXY=none");
    // GONOSUMDB still follows GOPRIVATE: private modules are not looked up.
    let out = dev.go.ok(&dev.project, ["env", "GONOPROXY", "GONOSUMDB"]);
    assert_eq!(out.lines().collect::<Vec<_>>(), ["none", "corp.example"]);
    dev.downloads();
}

#[test]
fn mod_vendor_without_a_vendor_directory_is_found_and_fixed() {
    let rig = Rig::small();
    let godepot = rig.godepot(&[]);
    let server = godepot.url();
    let dev = Dev::new(&[&format!("GOPROXY={server}"), "GOFLAGS=-mod=vendor"]);
    // The oracle agrees that builds fail as set up.
    let out = dev.go.run(&dev.project, ["list", "-m", "all"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("inconsistent vendoring"),
        "go list with -mod=vendor and no vendor/: {stderr}"
    );
    found_and_fixed(&dev, &[], "goflags", "go env -u GOFLAGS");
    dev.downloads();
}

/// Kills the server the test started from doctor's fix line.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_that_is_down_is_found_and_started_from_the_fix_line() {
    let rig = Rig::small();
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let dev = Dev::new(&[&format!("GOPROXY={server}")]);
    let (out, report) = dev.doctor(&[]);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let fix = format!("godepot serve --listen 127.0.0.1:{port}");
    assert_eq!(
        findings(&report),
        vec![("healthz".to_string(), Some(fix.clone()))],
        "{report:#}"
    );
    let skipped: Vec<_> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "skipped")
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert!(skipped.contains(&"fetch"), "{report:#}");

    // The fix line runs on the server's machine, with its own store and upstream.
    let args: Vec<&str> = fix.split_whitespace().skip(1).collect();
    let upstream = rig.upstream.url();
    let child = godepot_command(&args)
        .args(["--data-dir", rig.data.to_str().expect("utf-8")])
        .args(["--upstream", &upstream])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start godepot");
    let _server = Started(child);
    wait_until_answering(&server);
    passes(&dev, &[]);
    dev.downloads();
}

fn wait_until_answering(server: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("{server}/healthz");
    while godepot_testkit::http::try_http_request("GET", &url, &[]).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server started from the fix line never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_readable_report_prints_each_fix_line() {
    let rig = Rig::small();
    let godepot = rig.godepot(&[]);
    let server = godepot.url();
    let dev = Dev::new(&[&format!("GOPROXY=direct,{server}")]);
    let mut cmd = godepot_command(&["doctor"]);
    dev.go.apply(&mut cmd);
    let out = cmd.current_dir(&dev.project).output().expect("run doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("fix: go env -w GOPROXY={server}")),
        "{stdout}"
    );
    assert!(stderr.starts_with("error: 1 problem found"), "{stderr}");
}

#[test]
fn without_go_or_a_server_it_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = godepot_command(&["doctor"])
        .env("PATH", dir.path())
        .output()
        .expect("run doctor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: cannot run `go env -json`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");

    let dev = Dev::new(&["GOPROXY=direct"]);
    let mut cmd = godepot_command(&["doctor"]);
    dev.go.apply(&mut cmd);
    let out = cmd.current_dir(&dev.project).output().expect("run doctor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("hint: pass --server URL"), "{stderr}");
}
