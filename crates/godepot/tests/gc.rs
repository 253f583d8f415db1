//! `godepot gc` end to end: access times faked through the store's access log (the derived
//! data `serve` writes), the newest versions and what `--keep` projects need kept, an
//! offline build by the real `go` command afterwards, nothing removed when the access log is
//! lost, the log written by a running server, and a download under way surviving a gc that
//! removes its file. Hermetic: loopback and temp dirs only.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::bin;
use common::godepot_cli as godepot;
use common::godepot_ok as ok;
use godepot_testkit::universe::{self, Universe};
use godepot_testkit::{GoEnv, GodepotProcess, UniverseBuilder, fsutil};

const DAY: Duration = Duration::from_secs(86_400);

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).expect("gc --json prints one JSON document")
}

fn days_ago(days: u64) -> SystemTime {
    SystemTime::now() - DAY * days as u32
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Makes every artifact of the store look stored `days` ago (the floor gc puts under a
/// version's last use).
fn age_store(data: &Path, days: u64) {
    for rel in fsutil::tree(data).into_keys() {
        if !rel.starts_with(".godepot/") {
            let file = File::options().write(true).open(data.join(&rel)).unwrap();
            file.set_modified(days_ago(days)).unwrap();
        }
    }
}

/// Writes the access log as `serve` would have: recording since `since_days` ago, and
/// these (lower-case) `module@version`s last asked for that many days ago.
fn fake_access_log(data: &Path, since_days: u64, accesses: &[(&str, u64)]) {
    let dir = data.join(".godepot/access");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = format!(
        "# godepot access times v1 since {}\n",
        unix(days_ago(since_days))
    );
    for (target, days) in accesses {
        let (module, version) = target.split_once('@').unwrap();
        text.push_str(&format!("{} {module} {version}\n", unix(days_ago(*days))));
    }
    std::fs::write(dir.join("log"), text).unwrap();
}

/// The versions of `module` the store offers.
fn listed(data: &Path, module: &str) -> Vec<String> {
    let list = std::fs::read_to_string(data.join(module).join("@v/list")).unwrap_or_default();
    let mut versions: Vec<String> = list.lines().map(str::to_string).collect();
    versions.sort();
    versions
}

fn targets(report: &serde_json::Value, field: &str) -> Vec<String> {
    common::gc_targets(report, field)
}

/// `example.com/f` at four versions, `example.com/g` at three, and a project needing
/// f v1.1.0 and g v1.0.0.
fn keep_universe(dir: &Path) -> Universe {
    let mut builder = UniverseBuilder::new(dir.join("proxy")).module("example.com/f");
    for (n, v) in ["v0.9.0", "v1.0.0", "v1.1.0", "v1.2.0"].iter().enumerate() {
        builder = builder.version(v).file(
            "f.go",
            format!("package f\n\n// V is the version.\nconst V = {n}\n"),
        );
    }
    builder = builder.module("example.com/g");
    for v in ["v0.1.0", "v1.0.0", "v1.1.0"] {
        builder = builder
            .version(v)
            .file("g.go", "package g\n\n// G is a value.\nconst G = 3\n");
    }
    builder
        .project(dir.join("project"), "example.com/app")
        .require("example.com/f", "v1.1.0")
        .require("example.com/g", "v1.0.0")
        .file(
            "main.go",
            "package main\n\nimport (\n\t\"example.com/f\"\n\t\"example.com/g\"\n)\n\nfunc main() { println(f.V + g.G) }\n",
        )
        .build()
}

#[test]
fn gc_keeps_the_newest_what_projects_need_and_what_was_used() {
    let tmp = tempfile::tempdir().unwrap();
    let u = keep_universe(tmp.path());
    let data = tmp.path().join("data");
    ok(&["import", "--data-dir", s(&data), s(&u.root)]);
    age_store(&data, 300);
    // Recording for 100 days; f v1.0.0 asked for yesterday, g v0.1.0 40 days ago.
    fake_access_log(
        &data,
        100,
        &[("example.com/f@v1.0.0", 1), ("example.com/g@v0.1.0", 40)],
    );
    let project = u.project_dir().to_path_buf();
    let gc = |extra: &[&str]| {
        let mut args = vec![
            "gc",
            "--json",
            "--data-dir",
            s(&data),
            "--unused-for",
            "30d",
        ];
        args.extend(["--keep", s(&project)]);
        args.extend(extra);
        json(&args)
    };

    // Not a terminal and no --yes: a dry run, which changes nothing.
    let dry = gc(&[]);
    assert_eq!(dry["dry_run"], true, "{dry}");
    let would = ["example.com/f@v0.9.0 unused", "example.com/g@v0.1.0 unused"];
    assert_eq!(targets(&dry, "removed"), would, "{dry}");
    assert_eq!(listed(&data, "example.com/f").len(), 4);

    let audit = tmp.path().join("audit.log");
    let done = gc(&["--yes", "--audit-log", s(&audit)]);
    assert_eq!(done["dry_run"], false, "{done}");
    assert_eq!(targets(&done, "removed"), would, "{done}");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let audited: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} {}", e["action"], e["target"], e["outcome"]).replace('"', ""))
        .collect();
    assert_eq!(
        audited,
        [
            "gc example.com/f@v0.9.0 deleted: unused",
            "gc example.com/g@v0.1.0 deleted: unused"
        ],
        "{events:?}"
    );
    assert_eq!(
        targets(&done, "kept"),
        [
            "example.com/f@v1.0.0 used",
            "example.com/f@v1.1.0 needed",
            "example.com/f@v1.2.0 latest",
            "example.com/g@v1.0.0 needed",
            "example.com/g@v1.1.0 latest",
        ],
        "{done}"
    );
    assert!(done["removed_bytes"].as_u64().unwrap() > 0, "{done}");
    assert_eq!(
        listed(&data, "example.com/f"),
        ["v1.0.0", "v1.1.0", "v1.2.0"]
    );
    assert_eq!(listed(&data, "example.com/g"), ["v1.0.0", "v1.1.0"]);
    assert!(!data.join("example.com/f/@v/v0.9.0.zip").exists());
    assert!(!data.join("example.com/f/@v/v0.9.0.mod").exists());
    // The module index heard of every removal: it holds what a walk of the files finds.
    let walked: Vec<(String, String)> =
        godepot_index::walk_versions(&godepot_store::LocalStore::open(&data).unwrap())
            .unwrap()
            .into_iter()
            .map(|(m, v)| (m.to_string(), v.to_string()))
            .collect();
    let indexed = godepot_index::Index::open_at(&godepot_index::local_dir(&data))
        .unwrap()
        .indexed_versions()
        .unwrap();
    assert_eq!(indexed, walked);
    let gone = ("example.com/f".to_string(), "v0.9.0".to_string());
    assert!(!indexed.contains(&gone), "{indexed:?}");

    // What was kept builds the project offline, from a clean module cache; the server
    // records what the build asked for.
    let mut server = GodepotProcess::start(bin(), &["--data-dir", s(&data), "--offline"]);
    let go = GoEnv::new(&server.url());
    let work = u.copy_project(&tmp.path().join("build"));
    go.ok(&work, ["mod", "download", "all"]);
    go.ok(&work, ["build", "./..."]);
    server.stop().expect("a graceful stop");
    let log = std::fs::read_to_string(data.join(".godepot/access/log")).unwrap();
    for target in ["example.com/f v1.1.0", "example.com/g v1.0.0"] {
        assert!(log.contains(target), "{target} not recorded:\n{log}");
    }

    // Losing the access log means "unknown": nothing is removed, and gc says why.
    std::fs::remove_dir_all(data.join(".godepot/access")).unwrap();
    let mut args = vec!["gc", "--json", "--yes", "--data-dir", s(&data)];
    args.extend(["--unused-for", "30d", "--keep-latest", "0"]);
    let lost = json(&args);
    assert_eq!(lost["removed"], serde_json::json!([]), "{lost}");
    assert!(lost["access_unknown"].is_string(), "{lost}");
    assert_eq!(
        listed(&data, "example.com/f"),
        ["v1.0.0", "v1.1.0", "v1.2.0"]
    );

    // ls sorts by time (showing it) and by size; a bad order is a usage error.
    let by_time = ok(&["ls", "--data-dir", s(&data), "--sort", "time"]);
    let first = by_time.lines().next().unwrap();
    assert!(
        first.contains("Z") && first.contains("info,mod,zip"),
        "{by_time}"
    );
    let by_size = ok(&["ls", "--data-dir", s(&data), "--sort", "size"]);
    assert!(by_size.starts_with("example.com/f "), "{by_size}");
    let bad = godepot(&["ls", "--data-dir", s(&data), "--sort", "colour"]);
    assert_eq!(bad.status.code(), Some(2));

    // The readable summary, and usage errors exit 2.
    let text = ok(&["gc", "--data-dir", s(&data), "--unused-for", "30d"]);
    assert!(text.contains("access times unknown"), "{text}");
    let usage = godepot(&["gc", "--data-dir", s(&data)]);
    assert_eq!(usage.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&usage.stderr);
    assert!(stderr.contains("error: gc needs --unused-for"), "{stderr}");
}

#[test]
fn a_download_under_way_survives_a_gc_that_removes_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    // 48 MiB of incompressible data: far more than the socket buffers between the server
    // and a client that stops reading.
    let u = UniverseBuilder::new(tmp.path().join("proxy"))
        .module("example.com/big")
        .version("v1.0.0")
        .stored()
        .file("big.go", "package big\n")
        .file("data.bin", universe::random_bytes(7, 48 << 20))
        .version("v1.1.0")
        .file("big.go", "package big\n")
        .build();
    let data = tmp.path().join("data");
    ok(&["import", "--data-dir", s(&data), s(&u.root)]);
    age_store(&data, 300);
    fake_access_log(&data, 100, &[]);
    let zip = std::fs::read(u.artifact("example.com/big", "v1.0.0", "zip")).unwrap();
    let server = GodepotProcess::start(bin(), &["--data-dir", s(&data), "--offline"]);

    // A client that reads the headers and a little of the body, then stops.
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        client,
        "GET /example.com/big/@v/v1.0.0.zip HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr()
    )
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0; 4096];
    let body_start = loop {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the headers");
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let headers = String::from_utf8_lossy(&head[..body_start]).into_owned();
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert!(
        headers.contains(&format!("content-length: {}", zip.len())),
        "{headers}"
    );

    // The server has noted this access only in memory: gc, going by the log, removes it.
    let report = json(&[
        "gc",
        "--json",
        "--yes",
        "--data-dir",
        s(&data),
        "--unused-for",
        "30d",
    ]);
    assert_eq!(
        targets(&report, "removed"),
        ["example.com/big@v1.0.0 unused"],
        "{report} (did the server flush its access times first? it does every 30 s)"
    );
    assert!(!data.join("example.com/big/@v/v1.0.0.zip").exists());

    // The download completes with the right bytes.
    let mut body = head[body_start..].to_vec();
    client.read_to_end(&mut body).unwrap();
    assert_eq!(body.len(), zip.len(), "the download was cut short");
    assert!(body == zip, "the download's bytes differ from the zip's");
}
