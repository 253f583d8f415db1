//! The module index (`.godepot/index/`) against the files it is derived from: kept current by
//! fetches (the go command's), imports and removals; rebuilt when deleted; repaired at the
//! next start after a `kill -9` between a file write and the index update.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Rig, get, godepot_cli, tail};
use godepot_index::{Index, walk_versions};
use godepot_testkit::GoEnv;

/// What a walk of the files says the store holds, as the index lists it.
fn walked(root: &Path) -> Vec<(String, String)> {
    let store = godepot_store::LocalStore::open(root).unwrap();
    let found = walk_versions(&store).unwrap().into_iter();
    found.map(|(m, v)| (m.to_string(), v.to_string())).collect()
}

/// What the index of `data` holds (opened as another process would).
fn indexed(data: &Path) -> Vec<(String, String)> {
    Index::open_at(&godepot_index::local_dir(data))
        .unwrap()
        .indexed_versions()
        .unwrap()
}

fn api_json(gd: &godepot_testkit::GodepotProcess, path: &str) -> serde_json::Value {
    let r = get(gd, path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice(&r.body).unwrap()
}

fn versions_of(json: &serde_json::Value) -> Vec<String> {
    json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_string())
        .collect()
}

fn cli_ok(args: &[&str]) -> String {
    let out = godepot_cli(args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "godepot {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn the_index_follows_fetches_imports_and_removals() {
    let rig = Rig::small();
    let data = rig.data.to_str().unwrap();
    let mut gd = rig.godepot(&[]);
    // The go command fetches through the server: what it stores is indexed at once.
    let go = GoEnv::new(&gd.url());
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = go.run(&work, ["mod", "download", "example.com/f@v1.1.0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = api_json(&gd, "/api/module/example.com/f");
    assert_eq!(versions_of(&json), ["v1.1.0"]);
    let v = &json["versions"][0];
    assert!(v["zip_size"].as_u64().unwrap() > 0, "{json}");
    assert!(v["h1"].as_str().unwrap().starts_with("h1:"), "{json}");
    assert!(v["hits"].as_u64().is_some());
    gd.stop();

    // An import into the same data directory (no server running).
    cli_ok(&[
        "import",
        "--data-dir",
        data,
        rig.universe.root.to_str().unwrap(),
    ]);
    assert_eq!(indexed(&rig.data), walked(&rig.data));
    assert!(indexed(&rig.data).contains(&("example.com/big".into(), "v1.0.0".into())));

    // A removal, beside a running server: both processes share the index.
    let gd = rig.godepot(&[]);
    cli_ok(&["rm", "--data-dir", data, "example.com/f@v1.0.0"]);
    let json = api_json(&gd, "/api/module/example.com/f");
    assert_eq!(versions_of(&json), ["v1.1.0"], "{}", tail(&gd));
    assert_eq!(indexed(&rig.data), walked(&rig.data));
    let stats = api_json(&gd, "/api/stats");
    assert_eq!(stats["index"], "current", "{stats}");
    assert_eq!(
        stats["store"]["versions"].as_u64().unwrap() as usize,
        walked(&rig.data).len()
    );
}

#[test]
fn a_deleted_index_is_rebuilt_by_reindex_and_by_the_server() {
    let rig = Rig::small();
    let data = rig.data.to_str().unwrap();
    cli_ok(&[
        "import",
        "--data-dir",
        data,
        rig.universe.root.to_str().unwrap(),
    ]);
    let want = walked(&rig.data);
    assert!(want.len() >= 4, "{want:?}");

    std::fs::remove_dir_all(rig.data.join(".godepot/index")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&cli_ok(&["reindex", "--json", "--data-dir", data])).unwrap();
    assert_eq!(
        json["totals"]["versions"].as_u64().unwrap() as usize,
        want.len()
    );
    let text = cli_ok(&["reindex", "--data-dir", data]);
    assert!(text.starts_with("indexed 3 modules, 4 versions"), "{text}");
    assert_eq!(indexed(&rig.data), want);

    std::fs::remove_dir_all(rig.data.join(".godepot/index")).unwrap();
    let mut gd = rig.godepot(&[]);
    gd.wait_for_log(Duration::from_secs(60), "module index rebuilt")
        .unwrap_or_else(|| panic!("no rebuild: {}", tail(&gd)));
    let json = api_json(&gd, "/api/search?q=example.com");
    assert_eq!(json["total"], 3, "{json}");
    gd.stop();
    assert_eq!(indexed(&rig.data), want);

    // A clean stop leaves it current: the next start does not rebuild (O(1)).
    let mut gd = rig.godepot(&[]);
    gd.wait_for_log(Duration::from_secs(60), "module index current")
        .unwrap_or_else(|| panic!("rebuilt after a clean stop: {}", tail(&gd)));
    gd.stop();
}

#[test]
fn a_kill_9_between_file_write_and_index_update_is_repaired_at_the_next_start() {
    let rig = Rig::small();
    rig.upstream.set_latency(Duration::from_millis(10));
    let mut gd = rig.godepot(&[]);
    let r = get(&gd, "/example.com/f/@v/v1.0.0.zip");
    assert_eq!(r.status, 200);
    // Fetches under way when the process dies...
    let url = gd.url();
    let clients: Vec<_> = ["mod", "zip", "info"]
        .into_iter()
        .map(|ext| format!("{url}/example.com/big/@v/v1.0.0.{ext}"))
        .map(|u| {
            std::thread::spawn(move || godepot_testkit::http::try_http_request("GET", &u, &[]))
        })
        .collect();
    // ...and a version whose files were written but whose index update never happened:
    // the same state a kill -9 right after the publish leaves, made certain.
    let dir = rig.data.join("example.com/f/@v");
    for ext in ["info", "mod", "zip"] {
        std::fs::write(
            dir.join(format!("v1.1.0.{ext}")),
            rig.fixture("example.com/f", "v1.1.0", ext),
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(15));
    gd.kill();
    for c in clients {
        let _ = c.join();
    }
    assert_ne!(
        indexed(&rig.data),
        walked(&rig.data),
        "the index fell behind the files"
    );

    let gd = rig.godepot(&[]);
    gd.wait_for_log(Duration::from_secs(60), "module index rebuilt")
        .unwrap_or_else(|| panic!("no repair at start: {}", tail(&gd)));
    let json = api_json(&gd, "/api/module/example.com/f");
    assert_eq!(versions_of(&json), ["v1.1.0", "v1.0.0"]);
    assert_eq!(indexed(&rig.data), walked(&rig.data));
}
