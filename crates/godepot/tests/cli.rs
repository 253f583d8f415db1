//! The command line as a new user meets it: configuration precedence (flag > GODEPOT_*
//! variable > file > default), clear start-up errors with non-zero exit codes, useful help.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How `godepot serve` with these settings ended up: listening, or failed with its stderr.
enum Start {
    /// With its stderr up to the listening line.
    Listening {
        stderr: String,
    },
    Failed {
        code: Option<i32>,
        stderr: String,
    },
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
            text.push_str(&line);
            text.push('\n');
            if line.contains("listening on http://") {
                let _ = tx.send(Err(text.clone()));
            }
        }
        let _ = tx.send(Ok(text));
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    match first {
        Ok(Err(stderr)) => {
            let _ = child.kill();
            let _ = child.wait();
            Start::Listening { stderr }
        }
        Ok(Ok(stderr)) => Start::Failed {
            code: child.wait().expect("wait").code(),
            stderr,
        },
        Err(_) => {
            let _ = child.kill();
            panic!("godepot serve neither listened nor exited within 20 s");
        }
    }
}

/// Returns the stderr up to the listening line.
fn assert_listens<S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
    why: &str,
) -> String {
    match start(args, env) {
        Start::Failed { stderr, .. } => panic!("{why}: godepot did not start:\n{stderr}"),
        Start::Listening { stderr } => stderr,
    }
}

fn assert_fails<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)], expect: &str) {
    match start(args, env) {
        Start::Listening { .. } => {
            panic!("expected a start-up failure mentioning {expect:?}")
        }
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
    // `direct` is accepted now (the go command's meaning); a bad entry next to it is not.
    assert_fails(
        &with(&["--upstream", "direct,ftp://mirror.example"]),
        &[],
        "invalid proxy URL",
    );
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
        Start::Listening { .. } => panic!("started with no upstream configured"),
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

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A store holding one go.mod of `module`, at `dir`.
fn store_with(dir: &std::path::Path, module: &str, version: &str) {
    let v = dir.join(module).join("@v");
    std::fs::create_dir_all(&v).expect("store");
    std::fs::write(
        v.join(format!("{version}.mod")),
        format!("module {module}\n"),
    )
    .expect("go.mod");
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = common::godepot_command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run godepot");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_reads_the_config_file_with_the_same_precedence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (from_file, from_env, from_flag) = (
        tmp.path().join("file"),
        tmp.path().join("env"),
        tmp.path().join("flag"),
    );
    store_with(&from_file, "example.com/file", "v1.0.0");
    store_with(&from_env, "example.com/env", "v1.0.0");
    store_with(&from_flag, "example.com/flag", "v1.0.0");
    let config = tmp.path().join("godepot.toml");
    std::fs::write(
        &config,
        format!("data-dir = {:?}\n", from_file.to_str().expect("utf-8")),
    )
    .expect("config");
    let config = config.to_str().expect("utf-8");
    // No default store to fall back on: HOME is somewhere empty.
    let home = tmp.path().join("home");
    let home = home.to_str().expect("utf-8");
    let base_env = [("HOME", home), ("XDG_DATA_HOME", home)];
    let env = |extra: Option<(&'static str, &str)>| {
        let mut env = base_env.to_vec();
        env.extend(extra);
        env.into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let lists = |args: &[&str], env: &[(&str, String)], want: &str| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, stdout, stderr) = run(args, &env);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(
            stdout.contains(want),
            "{args:?} should list {want}:\n{stdout}"
        );
    };
    lists(&["ls", "--config", config], &env(None), "example.com/file");
    let env_dir = from_env.to_str().expect("utf-8");
    lists(
        &["ls", "--config", config],
        &env(Some(("GODEPOT_DATA_DIR", env_dir))),
        "example.com/env",
    );
    lists(
        &[
            "ls",
            "--config",
            config,
            "--data-dir",
            from_flag.to_str().expect("utf-8"),
        ],
        &env(Some(("GODEPOT_DATA_DIR", env_dir))),
        "example.com/flag",
    );
    // The other store commands take their store from the same file.
    let bundle = tmp.path().join("out.tar.zst");
    let bundle = bundle.to_str().expect("utf-8");
    let plain: Vec<(&str, &str)> = base_env.to_vec();
    let (code, _, stderr) = run(&["export", "--config", config, "--out", bundle], &plain);
    assert_eq!(code, Some(0), "export: {stderr}");
    assert!(
        stderr.contains("1 module,"),
        "export from the file's store: {stderr}"
    );
    let (code, _, stderr) = run(&["verify", "--config", config], &plain);
    assert_eq!(code, Some(0), "verify: {stderr}");
    assert!(
        stderr.contains("verified 1 artifact "),
        "verify the file's store: {stderr}"
    );
}

#[test]
fn config_file_errors_show_the_line_and_a_caret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("godepot.toml");
    std::fs::write(&file, "data-dir = \"/srv\"\nlist-ttl = 5m\n").expect("config");
    let (code, _, stderr) = run(&["ls", "--config", file.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: invalid config file"), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.contains("list-ttl = 5m"))
            && stderr
                .lines()
                .any(|l| l.trim_start().starts_with('|') && l.contains('^')),
        "the offending line with a caret under it:\n{stderr}"
    );
    // A value of the wrong form, named with its line too.
    std::fs::write(&file, "max-connections = 0\n").expect("config");
    let (code, _, stderr) = run(
        &[
            "serve",
            "--config",
            file.to_str().expect("utf-8"),
            "--offline",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("max-connections = 0") && stderr.contains('^'),
        "{stderr}"
    );
}

#[test]
fn offline_serve_refuses_a_missing_data_dir_and_warns_on_an_empty_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let typo = tmp.path().join("typo");
    let typo_str = typo.to_str().expect("utf-8");
    assert_fails(
        &[
            "--listen",
            "127.0.0.1:0",
            "--offline",
            "--data-dir",
            typo_str,
        ],
        &[],
        typo_str,
    );
    assert!(!typo.exists(), "a refused start created the data directory");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("empty store");
    let stderr = assert_listens(
        &[
            "--listen",
            "127.0.0.1:0",
            "--offline",
            "--data-dir",
            empty.to_str().expect("utf-8"),
        ],
        &[],
        "offline on an empty store",
    );
    assert!(stderr.contains("empty store"), "no warning:\n{stderr}");
}

#[test]
fn an_inherited_goproxy_that_points_here_is_skipped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let data = data.to_str().expect("utf-8");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = ["--listen", listen.as_str(), "--data-dir", data];
    // The quick start's shell: GOPROXY points at this server, then at a real proxy.
    let goproxy = format!("http://127.0.0.1:{port},http://127.0.0.1:9");
    let stderr = assert_listens(&args, &[("GOPROXY", &goproxy)], "inherited self entry");
    assert!(
        stderr.contains("$GOPROXY") && stderr.contains("itself"),
        "the warning names the variable:\n{stderr}"
    );
    // Nothing but ourselves: nothing to use (after the warning).
    let only_self = format!("http://localhost:{port}");
    match start(&args, &[("GOPROXY", &only_self)]) {
        Start::Listening { stderr } => panic!("started with only itself upstream:\n{stderr}"),
        Start::Failed { code, stderr } => {
            assert_eq!(code, Some(2), "{stderr}");
            assert!(stderr.contains("error: $GOPROXY"), "{stderr}");
            assert!(stderr.contains("no module proxy"), "{stderr}");
        }
    }
    // Configured explicitly, a loop stays an error.
    let mut explicit = args.to_vec();
    explicit.extend(["--upstream", only_self.as_str()]);
    assert_fails(&explicit, &[], "itself");
}

#[test]
fn listen_accepts_a_bare_port() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let listen = format!(":{}", free_port());
    let stderr = assert_listens(
        &[
            "--listen",
            listen.as_str(),
            "--data-dir",
            data.to_str().expect("utf-8"),
        ],
        &[("GOPROXY", "off")],
        "--listen :PORT",
    );
    assert!(
        stderr.contains(&format!("http://0.0.0.0{listen}")),
        "{stderr}"
    );
}

#[test]
fn failed_commands_leave_no_data_dir_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let typo = tmp.path().join("typo").join("data");
    let typo_str = typo.to_str().expect("utf-8");
    let junk = tmp.path().join("junk.tar.zst");
    std::fs::write(&junk, b"not a bundle").expect("junk");
    let (code, _, stderr) = run(
        &[
            "import",
            "--data-dir",
            typo_str,
            junk.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        !tmp.path().join("typo").exists(),
        "a failed import left {} behind",
        tmp.path().join("typo").display()
    );
    // A serve that cannot listen (the port is taken) after it opened the store.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("addr").to_string();
    let (code, _, stderr) = run(
        &[
            "serve",
            "--listen",
            &taken,
            "--data-dir",
            typo_str,
            "--upstream",
            "off",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen"), "{stderr}");
    assert!(
        !tmp.path().join("typo").exists(),
        "a failed serve left its data dir behind"
    );
    // A prefetch whose upstream cannot be reached stores nothing.
    let (code, _, stderr) = run(
        &[
            "prefetch",
            "--data-dir",
            typo_str,
            "--upstream",
            "http://127.0.0.1:1",
            "example.com/none@v1.0.0",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        !tmp.path().join("typo").exists(),
        "a failed prefetch left its data dir behind"
    );
    let out = tmp.path().join("out.tar.zst");
    for args in [
        vec!["ls", "--data-dir", typo_str],
        vec!["verify", "--data-dir", typo_str],
        vec![
            "export",
            "--data-dir",
            typo_str,
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ] {
        let (code, _, stderr) = run(&args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(typo_str),
            "{args:?} names the directory: {stderr}"
        );
        assert!(!typo.exists(), "{args:?} created the data directory");
    }
}

#[test]
fn ls_aligns_its_columns_and_counts_the_checksum_database_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    store_with(&data, "example.com/a", "v1.0.0");
    store_with(&data, "example.com/a", "v0.0.0-20240101000000-abcdefabcdef");
    store_with(&data, "example.com/longer/name", "v1.2.3");
    let db = data.join(".godepot/sumdb/sum.example.com");
    std::fs::create_dir_all(db.join("lookup/example.com")).expect("sumdb dir");
    std::fs::write(db.join("latest"), b"head").expect("latest");
    std::fs::write(db.join("lookup/example.com/a@v1.0.0"), b"record").expect("lookup");
    let (code, stdout, stderr) = run(&["ls", "--data-dir", data.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let rows: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("total")).collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    let files_column: Vec<usize> = rows.iter().map(|r| r.rfind(' ').unwrap_or(0)).collect();
    assert!(
        files_column.windows(2).all(|w| w[0] == w[1]),
        "columns do not line up:\n{stdout}"
    );
    let total = stdout.lines().last().unwrap_or_default();
    assert!(
        total.starts_with("total: 2 modules, 3 versions")
            && total.contains("2 checksum database answers")
            && total.contains(" in all"),
        "{total}"
    );
    // One of each: no "1 modules".
    let one = tmp.path().join("one");
    store_with(&one, "example.com/a", "v1.0.0");
    let (_, stdout, _) = run(&["ls", "--data-dir", one.to_str().expect("utf-8")], &[]);
    assert!(stdout.contains("total: 1 module, 1 version "), "{stdout}");
}
