//! What ships beside the binary, checked against the binary: the build it reports
//! (`--version`, `/healthz`, the start-up line), `godepot health` (the container's
//! healthcheck), the systemd unit (`systemd-analyze`), the example configuration, the
//! Containerfile, and the data directory's format guard. The READMEs and man pages are
//! checked inside the binary crate (`docs_tests`), where clap's command tree is at hand.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use godepot_testkit::{GodepotProcess, http_get};

fn packaging(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(packaging(file)).unwrap_or_else(|e| panic!("packaging/{file}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A server on an empty store, no upstream, JSON logs.
fn server(data: &Path) -> GodepotProcess {
    let data = data.to_str().unwrap();
    GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data,
            "--upstream",
            "off",
            "--sumdb",
            "off",
            "--log-format",
            "json",
        ],
    )
}

/// `godepot --version` without the trailing newline.
fn version_line() -> String {
    let out = common::godepot_cli(&["--version"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim_end().to_string()
}

#[test]
fn the_version_is_on_the_command_line_in_healthz_and_in_the_start_up_line() {
    let line = version_line();
    let prefix = concat!("godepot ", env!("CARGO_PKG_VERSION"), " (commit ");
    assert!(
        line.starts_with(prefix) && line.contains(", built ") && line.ends_with(')'),
        "{line}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let gd = server(&tmp.path().join("data"));
    let health = http_get(&format!("{}/healthz", gd.url()));
    assert_eq!(health.status, 200);
    assert_eq!(health.text().trim_end(), format!("ok {line}"));
    let started = gd
        .wait_for_json_log(Duration::from_secs(10), |v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("listening on"))
                || v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("listening on"))
        })
        .expect("a start-up line");
    let fields = if started["fields"].is_object() {
        &started["fields"]
    } else {
        &started
    };
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"), "{started}");
    assert!(
        line.contains(fields["commit"].as_str().unwrap()),
        "{started}"
    );
    assert!(
        line.contains(fields["built"].as_str().unwrap()),
        "{started}"
    );
}

#[test]
fn health_says_healthy_with_the_version_or_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gd = server(&tmp.path().join("data"));
    let port = gd.addr().rsplit(':').next().unwrap().to_string();
    // An unspecified address, as a container's GODEPOT_LISTEN says, is asked on loopback.
    let any = format!("0.0.0.0:{port}");
    let ok = common::godepot_command(&["health"])
        .env("GODEPOT_LISTEN", &any)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains(&version_line()),
        "{}",
        text(&ok.stdout)
    );
    let json = common::godepot_cli(&["health", "--listen", gd.addr(), "--json"]);
    assert!(json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(doc["healthy"], true, "{doc}");
    gd.stop();
    let down = common::godepot_cli(&["health", "--listen", &any]);
    assert_eq!(
        down.status.code(),
        Some(1),
        "unhealthy is a finding (and 2 is reserved by container runtimes)"
    );
    let stderr = text(&down.stderr);
    assert!(
        stderr.starts_with("error: not healthy: cannot reach 127.0.0.1:")
            && stderr.contains("\nhint: "),
        "{stderr}"
    );
    let json = common::godepot_cli(&["health", "--listen", &any, "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(
        (doc["healthy"].clone(), json.status.code()),
        (serde_json::json!(false), Some(1))
    );
}

/// The Containerfile's instructions, continuation lines joined.
fn containerfile() -> Vec<(String, String)> {
    read("Containerfile")
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (op, rest) = l.split_once(' ').unwrap_or((l, ""));
            (op.to_uppercase(), rest.trim().to_string())
        })
        .collect()
}

fn instruction(file: &[(String, String)], op: &str) -> Vec<String> {
    file.iter()
        .filter(|(o, _)| o == op)
        .map(|(_, rest)| rest.clone())
        .collect()
}

#[test]
fn the_container_image_is_empty_non_root_and_its_healthcheck_is_godepot_health() {
    let file = containerfile();
    assert_eq!(instruction(&file, "FROM"), ["scratch"]);
    let user = instruction(&file, "USER");
    assert!(
        user.len() == 1 && !user[0].starts_with('0') && !user[0].starts_with("root"),
        "{user:?}"
    );
    assert_eq!(instruction(&file, "VOLUME"), [r#"["/var/lib/godepot"]"#]);
    let env: Vec<(String, String)> = instruction(&file, "ENV")
        .iter()
        .flat_map(|rest| {
            rest.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("ENV KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect();
    assert!(
        env.contains(&("GODEPOT_DATA_DIR".into(), "/var/lib/godepot".into())),
        "{env:?}"
    );
    let check = instruction(&file, "HEALTHCHECK");
    assert_eq!(check.len(), 1, "one HEALTHCHECK");
    let exec = check[0]
        .split_once("CMD ")
        .expect("HEALTHCHECK ... CMD [...]")
        .1;
    let argv: Vec<String> = serde_json::from_str(exec).expect("exec form: no shell in the image");
    assert_eq!(
        argv[0], "/usr/local/bin/godepot",
        "the binary the image installs"
    );
    // Run that very command, with the image's environment, against a server on the port the
    // image's GODEPOT_LISTEN names (moved to a free one here).
    let tmp = tempfile::tempdir().unwrap();
    let gd = server(&tmp.path().join("data"));
    let port = gd.addr().rsplit(':').next().unwrap();
    let mut cmd = common::godepot_command(&argv[1..]);
    for (k, v) in &env {
        let v = match k.as_str() {
            "GODEPOT_LISTEN" => format!("{}:{port}", v.rsplit_once(':').unwrap().0),
            "GODEPOT_DATA_DIR" => tmp.path().join("data").display().to_string(),
            _ => v.clone(),
        };
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "HEALTHCHECK {argv:?}: {}",
        text(&out.stderr)
    );
}

fn tool(name: &str, args: &[&str]) -> Command {
    let probe = Command::new(name).arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "{name} is required by this test (Debian: systemd) but is not on PATH"
    );
    let mut cmd = Command::new(name);
    cmd.args(args);
    cmd
}

#[test]
fn the_systemd_unit_is_hardened_and_passes_systemd_analyze() {
    let unit = read("godepot.service");
    for line in [
        "User=godepot",
        "StateDirectory=godepot",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(line), "godepot.service lacks {line:?}");
    }
    // verify wants the programs to exist: the unit as installed, but for the binary's path.
    let installed = "/usr/local/bin/godepot";
    assert_eq!(
        unit.matches(installed).count(),
        2,
        "ExecStart and the install comment"
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("godepot.service");
    std::fs::write(
        &path,
        unit.replace(installed, common::bin().to_str().unwrap()),
    )
    .unwrap();
    // Documentation=man:godepot-serve(1) is checked with man: give it the generated pages.
    let man = tmp.path().join("man");
    let out = common::godepot_cli(&["man", "--out", man.join("man1").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tool("systemd-analyze", &["verify"])
        .arg(&path)
        .env("MANPATH", &man)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = tool("systemd-analyze", &["security", "--offline=true"])
        .arg(&path)
        .output()
        .unwrap();
    let report = text(&out.stdout) + &text(&out.stderr);
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default();
    assert!(
        ["PERFECT", "SAFE", "OK"]
            .iter()
            .any(|band| overall.contains(band)),
        "exposure above OK (docs/operations.md records 1.1 OK):\n{report}"
    );
}

#[test]
fn the_example_config_starts_the_server_and_the_probe() {
    let tmp = tempfile::tempdir().unwrap();
    let config = packaging("godepot.toml");
    let config = config.to_str().unwrap();
    let data = tmp.path().join("data");
    // Its own listen, data-dir and upstream are this machine's, so the flags stand in.
    let gd = GodepotProcess::start(
        common::bin(),
        &[
            "--config",
            config,
            "--data-dir",
            data.to_str().unwrap(),
            "--upstream",
            "off",
        ],
    );
    let out = common::godepot_cli(&["health", "--config", config, "--listen", gd.addr()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Runs `godepot <args>`, killing it should it still run after a generous bound (a `serve`
/// that wrongly accepted its data directory would listen for ever).
fn run_bounded(args: &[&str]) -> Output {
    let mut child = common::godepot_command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_data_directory_of_a_newer_format_is_refused_and_left_as_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fresh = server(&data);
    drop(fresh);
    assert_eq!(
        std::fs::read_to_string(data.join(".godepot/format")).unwrap(),
        "1\n"
    );

    let newer = tmp.path().join("newer");
    std::fs::create_dir_all(newer.join(".godepot")).unwrap();
    std::fs::write(newer.join(".godepot/format"), "2\n").unwrap();
    let dir = newer.to_str().unwrap();
    for args in [
        vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "off",
            "--data-dir",
            dir,
        ],
        vec!["ls", "--data-dir", dir],
        vec!["verify", "--data-dir", dir],
        vec!["export", "--data-dir", dir, "--out", "/dev/null"],
        vec!["import", "--data-dir", dir, data.to_str().unwrap()],
        vec!["token", "list", "--data-dir", dir],
    ] {
        let out = run_bounded(&args);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} accepted a newer data directory"
        );
        assert!(
            stderr.contains("has format 2")
                && stderr.contains("newer than the format 1")
                && stderr.contains("\nhint: run the godepot release that wrote it"),
            "{args:?}: {stderr}"
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(newer.join(".godepot"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["format"], "nothing created beside the marker");
    assert_eq!(
        std::fs::read_to_string(newer.join(".godepot/format")).unwrap(),
        "2\n"
    );
}
