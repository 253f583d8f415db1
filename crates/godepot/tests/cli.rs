//! The command line as a new user meets it: configuration precedence (flag > GODEPOT_*
//! variable > file > default), clear start-up errors with non-zero exit codes, useful help.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How `godepot serve` with these settings ended up: listening, or failed with its stderr.
enum Start {
    Listening,
    Failed { code: Option<i32>, stderr: String },
}

fn start<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Start {
    let mut cmd = common::godepot_command(&["serve"]);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn godepot");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("listening on http://") {
                let _ = tx.send(None);
            }
            text.push_str(&line);
            text.push('\n');
        }
        let _ = tx.send(Some(text));
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    match first {
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            Start::Listening
        }
        Ok(Some(stderr)) => Start::Failed {
            code: child.wait().expect("wait").code(),
            stderr,
        },
        Err(_) => {
            let _ = child.kill();
            panic!("godepot serve neither listened nor exited within 20 s");
        }
    }
}

fn assert_listens<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)], why: &str) {
    if let Start::Failed { stderr, .. } = start(args, env) {
        panic!("{why}: godepot did not start:\n{stderr}");
    }
}

fn assert_fails<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)], expect: &str) {
    match start(args, env) {
        Start::Listening => panic!("expected a start-up failure mentioning {expect:?}"),
        Start::Failed { code, stderr } => {
            assert_eq!(code, Some(2), "configuration errors exit 2: {stderr}");
            assert!(
                stderr.starts_with("error: "),
                "one error line first: {stderr}"
            );
            assert!(
                stderr.contains(expect),
                "stderr should mention {expect:?}: {stderr}"
            );
        }
    }
}

#[test]
fn flags_beat_variables_beat_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let data = data.to_str().expect("utf-8");
    let file = tmp.path().join("godepot.toml");
    std::fs::write(&file, "list-ttl = \"soon\"\nupstream = \"off\"\n").expect("config");
    let config = file.to_str().expect("utf-8");
    let base = [
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data,
        "--config",
        config,
    ];

    // The file alone: its bad value is reported, naming the setting.
    assert_fails(&base, &[], "list-ttl");
    // A variable overrides the file's bad value...
    assert_listens(&base, &[("GODEPOT_LIST_TTL", "5s")], "variable over file");
    // ...and a flag overrides a bad variable.
    let mut with_flag = base.to_vec();
    with_flag.extend(["--list-ttl", "5s"]);
    assert_listens(
        &with_flag,
        &[("GODEPOT_LIST_TTL", "nope")],
        "flag over variable",
    );
    assert_fails(&base, &[("GODEPOT_LIST_TTL", "nope")], "list-ttl");
}

#[test]
fn startup_errors_say_what_and_how_to_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let data = data.to_str().expect("utf-8");
    let listen = ["--listen", "127.0.0.1:0", "--data-dir", data];
    let with = |extra: &[&str]| -> Vec<String> {
        listen.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    assert_fails(&with(&["--upstream", "direct"]), &[], "direct");
    assert_fails(
        &with(&["--upstream", "ftp://mirror.example"]),
        &[],
        "invalid proxy URL",
    );
    assert_fails(&with(&["--log-level", "loud=="]), &[], "--log-level");
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, "listen-port = 3000\n").expect("config");
    assert_fails(
        &with(&["--config", file.to_str().expect("utf-8")]),
        &[],
        "invalid config file",
    );
    // An upstream that is this very server would loop.
    assert_fails(
        &[
            "--listen",
            "127.0.0.1:39999",
            "--data-dir",
            data,
            "--upstream",
            "http://localhost:39999",
        ],
        &[],
        "itself",
    );
    // No upstream anywhere: a clear error with a hint (PATH without go, GOPROXY empty).
    match start(&listen, &[("GOPROXY", ""), ("PATH", "/nonexistent")]) {
        Start::Listening => panic!("started with no upstream configured"),
        Start::Failed { stderr, .. } => {
            assert!(stderr.contains("no upstream proxy configured"), "{stderr}");
            assert!(stderr.contains("hint: "), "{stderr}");
        }
    }
}

#[test]
fn help_is_useful() {
    let out = Command::new(common::bin())
        .args(["serve", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--upstream",
        "--offline",
        "--config",
        "GODEPOT_UPSTREAM",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}:\n{help}");
    }
}
