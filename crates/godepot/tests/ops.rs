//! The consistency and readiness commands end to end: `godepot diff` between stores and
//! bundles, `godepot check` of a store against a project (each verdict confirmed by the
//! real go command, offline, through `GOPROXY=file://` of the store), and `godepot verify`
//! of a version held without its `.mod` or `.info`. Hermetic: temp dirs only.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::godepot_cli as godepot;
use godepot_testkit::universe::Universe;
use godepot_testkit::{GoEnv, UniverseBuilder, serde_json};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs godepot, expects this exit code, returns the JSON document it printed (if `--json`).
fn exits(code: i32, args: &[&str]) -> serde_json::Value {
    let out = godepot(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "godepot {args:?}: {}",
        text(&out)
    );
    if args.contains(&"--json") {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "godepot {args:?}: not one JSON document ({e}): {}",
                text(&out)
            )
        })
    } else {
        serde_json::Value::Null
    }
}

/// Moves a file aside (to `aside`), returning where it went, so it can be put back.
fn hide(file: &Path, aside: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(aside).unwrap();
    let to = aside.join(file.file_name().unwrap());
    std::fs::rename(file, &to).unwrap();
    (to, file.to_path_buf())
}

fn restore((from, to): (PathBuf, PathBuf)) {
    std::fs::rename(from, to).unwrap();
}

const UP: &str = "example.com/Upper/Mod";

#[test]
fn diff_tells_stores_and_bundles_apart_by_version_and_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let universe = UniverseBuilder::new(tmp.path().join("u"))
        .module("example.com/f")
        .version("v1.0.0")
        .file("f.go", "package f\n")
        .version("v1.1.0")
        .file("f.go", "package f\n\nconst V = 2\n")
        .module(UP)
        .version("v1.0.0")
        .file("m.go", "package mod\n")
        .build();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    exits(0, &["import", "--data-dir", s(&a), s(&universe.root)]);
    let bundle_a = tmp.path().join("a.tar.zst");
    exits(0, &["export", "--data-dir", s(&a), "--out", s(&bundle_a)]);
    exits(0, &["import", "--data-dir", s(&b), s(&bundle_a)]);

    // Identical stores; a bundle against its own store.
    let same = exits(0, &["diff", "--json", s(&a), s(&b)]);
    assert_eq!(same["same"], 3, "{same}");
    let same = exits(0, &["diff", "--json", s(&bundle_a), s(&a)]);
    assert_eq!(
        (same["a"]["kind"].as_str(), same["same"].as_u64()),
        (Some("bundle"), Some(3)),
        "{same}"
    );

    // B loses a version, by its decoded path.
    let rm = godepot(&["rm", "--data-dir", s(&b), &format!("{UP}@v1.0.0")]);
    assert!(rm.status.success(), "{}", text(&rm));
    let missing = exits(1, &["diff", "--json", s(&a), s(&b)]);
    assert_eq!(missing["only_in_a"][0]["module"], UP, "{missing}");
    assert_eq!(
        missing["only_in_a"][0]["files"],
        serde_json::json!(["info", "mod", "zip"])
    );
    assert_eq!(missing["only_in_a"][0]["whole"], true);
    let readable = godepot(&["diff", s(&a), s(&b)]);
    let stdout = String::from_utf8_lossy(&readable.stdout);
    assert!(
        stdout.contains(&format!("only in A\t{UP}@v1.0.0\t.info .mod .zip")),
        "{}",
        text(&readable)
    );

    // One byte of one file differs: the conflict names the file and both hashes.
    // (Its time, so that the .info still names its version and B can still be exported.)
    let info = b.join("example.com/f/@v/v1.1.0.info");
    let data = std::fs::read_to_string(&info).unwrap();
    let changed = data.replacen("\"Time\":\"2", "\"Time\":\"3", 1);
    assert_ne!(changed, data, "{data}");
    std::fs::write(&info, changed).unwrap();
    let conflict = exits(1, &["diff", "--json", s(&a), s(&b)]);
    let c = &conflict["conflicts"][0];
    assert_eq!(c["path"], "example.com/f/@v/v1.1.0.info", "{conflict}");
    assert_eq!(
        (c["module"].as_str(), c["file"].as_str()),
        (Some("example.com/f"), Some("info"))
    );
    assert_ne!(c["a"]["sha256"], c["b"]["sha256"]);
    assert_eq!(c["a"]["sha256"].as_str().unwrap().len(), 64);

    // Two bundles: the same differences.
    let bundle_b = tmp.path().join("b.tar.zst");
    exits(0, &["export", "--data-dir", s(&b), "--out", s(&bundle_b)]);
    let bundles = exits(1, &["diff", "--json", s(&bundle_a), s(&bundle_b)]);
    assert_eq!(bundles["only_in_a"], missing["only_in_a"], "{bundles}");
    assert_eq!(bundles["conflicts"], conflict["conflicts"], "{bundles}");

    // Something unreadable is an I/O error, not a difference.
    let out = godepot(&["diff", s(&a), s(&tmp.path().join("absent"))]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error: "),
        "{}",
        text(&out)
    );
    let truncated = tmp.path().join("truncated.tar.zst");
    let bytes = std::fs::read(&bundle_b).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = godepot(&["diff", s(&truncated), s(&b)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = format!("error: cannot compare {}", s(&truncated));
    assert!(stderr.contains(&said), "{}", text(&out));
}

const C: &str = "example.com/ck";

/// A project at `go 1.17` (so `go mod tidy` checks compatibility with Go 1.16 and loads the
/// unpruned graph) using `a`, whose go.mod requires `b`, which no package imports: a build
/// never reads b's go.mod, `go mod tidy` does. Tidied online, so its go.sum is complete.
fn check_fixture(dir: &Path) -> (Universe, PathBuf) {
    let universe = UniverseBuilder::new(dir.join("u"))
        .module(&format!("{C}/b"))
        .version("v1.0.0")
        .go_mod(&format!("module {C}/b\n\ngo 1.17\n"))
        .file("b.go", "// Package b is a fixture.\npackage b\n")
        .module(&format!("{C}/a"))
        .version("v1.0.0")
        .go_mod(&format!(
            "module {C}/a\n\ngo 1.17\n\nrequire {C}/b v1.0.0\n"
        ))
        .file(
            "a.go",
            "// Package a is a fixture.\npackage a\n\n// V is one.\nconst V = 1\n",
        )
        .build();
    let project = dir.join("app");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("go.mod"),
        format!("module {C}/app\n\ngo 1.17\n\nrequire {C}/a v1.0.0\n"),
    )
    .unwrap();
    std::fs::write(
        project.join("main.go"),
        format!("package main\n\nimport \"{C}/a\"\n\nfunc main() {{ println(a.V) }}\n"),
    )
    .unwrap();
    GoEnv::new(&universe.proxy_url()).ok(&project, ["mod", "tidy"]);
    let go_sum = std::fs::read_to_string(project.join("go.sum")).unwrap();
    assert!(
        go_sum.contains(&format!("{C}/b v1.0.0/go.mod")),
        "tidy reads b's go.mod: {go_sum}"
    );
    (universe, project)
}

/// The go command, offline against the store as a `GOPROXY=file://` tree, from a clean
/// module cache, in a copy of the project (so nothing it writes leaks into the next case).
fn go_offline(store: &Path, project: &Path, work: &Path, args: &[&str]) -> Output {
    let copy = work.join(format!(
        "p{}",
        std::fs::read_dir(work).map_or(0, |d| d.count())
    ));
    godepot_testkit::fsutil::copy_dir(project, &copy);
    GoEnv::new(&format!("file://{}", store.display())).run(&copy, args)
}

#[test]
fn check_verdicts_are_those_of_the_offline_go_command() {
    let tmp = tempfile::tempdir().unwrap();
    let (universe, project) = check_fixture(tmp.path());
    let data = tmp.path().join("data");
    exits(0, &["import", "--data-dir", s(&data), s(&universe.root)]);
    let (work, aside) = (tmp.path().join("work"), tmp.path().join("aside"));
    std::fs::create_dir_all(&work).unwrap();
    let go_mod = project.join("go.mod");
    let check = |code| {
        exits(
            code,
            &["check", "--data-dir", s(&data), "--json", s(&go_mod)],
        )
    };
    let go = |args: &[&str]| go_offline(&data, &project, &work, args);
    let go_ok = |args: &[&str]| {
        let out = go(args);
        assert!(out.status.success(), "go {args:?} offline: {}", text(&out));
    };
    let go_fails = |args: &[&str]| {
        let out = go(args);
        assert!(
            !out.status.success(),
            "go {args:?} should fail offline: {}",
            text(&out)
        );
    };

    // Ready: everything builds and tidies.
    let ready = check(0);
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        ready["go_sums"].as_array().map(Vec::len),
        Some(1),
        "{ready}"
    );
    go_ok(&["mod", "download", "all"]);
    go_ok(&["build", "./..."]);
    go_ok(&["mod", "tidy"]);

    // A missing zip: not ready, and the build fails.
    let zip = hide(&data.join(format!("{C}/a/@v/v1.0.0.zip")), &aside);
    let found = check(1);
    assert_eq!(
        found["missing"],
        serde_json::json!([{ "module": format!("{C}/a"), "version": "v1.0.0", "file": "zip" }]),
        "{found}"
    );
    go_fails(&["build", "./..."]);
    restore(zip);

    // The go.mod of b, pruned out of the build but read by `go mod tidy`: not ready; the build
    // works and tidy fails, as check says.
    let b_mod = hide(&data.join(format!("{C}/b/@v/v1.0.0.mod")), &aside);
    let found = check(1);
    assert_eq!(
        found["missing"],
        serde_json::json!([{ "module": format!("{C}/b"), "version": "v1.0.0", "file": "mod" }]),
        "{found}"
    );
    go_ok(&["build", "./..."]);
    go_fails(&["mod", "tidy"]);
    restore(b_mod);

    // A go.sum line the store contradicts: not ready, and the go command refuses the file.
    let go_sum = project.join("go.sum");
    let right = std::fs::read_to_string(&go_sum).unwrap();
    let line = right
        .lines()
        .find(|l| l.starts_with(&format!("{C}/a v1.0.0 ")))
        .expect("a's zip line")
        .to_owned();
    let wrong_hash = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let (head, held_hash) = line.rsplit_once(' ').unwrap();
    std::fs::write(
        &go_sum,
        right.replace(&line, &format!("{head} {wrong_hash}")),
    )
    .unwrap();
    let found = check(1);
    let m = &found["mismatches"][0];
    assert_eq!(
        (m["module"].as_str(), m["file"].as_str()),
        (Some(&*format!("{C}/a")), Some("zip")),
        "{found}"
    );
    assert_eq!(
        (m["go_sum_hash"].as_str(), m["store_hash"].as_str()),
        (Some(wrong_hash), Some(held_hash))
    );
    assert_eq!(found["missing"], serde_json::json!([]));
    go_fails(&["mod", "download", "all"]);
    std::fs::write(&go_sum, &right).unwrap();
    check(0);
}

#[test]
fn verify_reports_a_version_missing_its_mod_or_info() {
    let tmp = tempfile::tempdir().unwrap();
    let universe = UniverseBuilder::new(tmp.path().join("u"))
        .module("example.com/v")
        .version("v1.0.0")
        .file("v.go", "package v\n")
        .version("v1.1.0")
        .file("v.go", "package v\n")
        .build();
    let data = tmp.path().join("data");
    exits(0, &["import", "--data-dir", s(&data), s(&universe.root)]);
    exits(0, &["verify", "--data-dir", s(&data)]);
    let dir = data.join("example.com/v/@v");
    // v1.0.0 keeps only its .info; v1.1.0 loses its .info.
    for file in ["v1.0.0.mod", "v1.0.0.zip", "v1.0.0.ziphash", "v1.1.0.info"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let report = exits(1, &["verify", "--data-dir", s(&data), "--json"]);
    let incomplete: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["problem"] == "incomplete")
        .map(|f| (f["path"].as_str().unwrap(), f["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(incomplete.len(), 2, "{report}");
    assert_eq!(incomplete[0].0, "example.com/v/@v/v1.0.0.info");
    assert!(incomplete[0].1.contains("without its .mod"), "{report}");
    assert_eq!(incomplete[1].0, "example.com/v/@v/v1.1.0.zip");
    assert!(incomplete[1].1.contains("without its .info"), "{report}");
    let out = godepot(&["verify", "--data-dir", s(&tmp.path().join("absent"))]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
