//! `kill -9` at any moment never leaves a partial or corrupt artifact visible: whatever the
//! data dir shows after a crash is complete and correct, the dead process's scratch files are
//! cleaned at the next start, and the next requests succeed.

mod common;

use std::time::Duration;

use common::{Rig, get};
use godepot_testkit::fsutil;

const ARTIFACTS: [(&str, &str); 3] = [
    ("example.com/big", "v1.0.0"),
    ("example.com/f", "v1.0.0"),
    ("example.com/f", "v1.1.0"),
];

#[test]
fn a_crash_mid_fetch_leaves_nothing_partial_behind() {
    // Several moments: before, during and after the fetches have landed.
    for kill_after in [
        Duration::from_millis(2),
        Duration::from_millis(15),
        Duration::from_millis(60),
    ] {
        let rig = Rig::small();
        // Slow enough that some fetches are still under way when the process dies.
        rig.upstream.set_latency(Duration::from_millis(10));
        let mut gd = rig.godepot(&[]);
        let url = gd.url();
        let clients: Vec<_> = ARTIFACTS
            .iter()
            .flat_map(|(m, v)| ["mod", "zip", "info"].map(|ext| format!("{url}/{m}/@v/{v}.{ext}")))
            .map(|u| {
                std::thread::spawn(move || godepot_testkit::http::try_http_request("GET", &u, &[]))
            })
            .collect();
        std::thread::sleep(kill_after);
        gd.kill();
        for c in clients {
            let _ = c.join();
        }

        let context = format!("killed after {kill_after:?}");
        assert_visible_artifacts_are_complete(&rig, &context);

        let gd = rig.godepot(&[]);
        let scratch: Vec<String> = fsutil::tree(&rig.data.join(".godepot/tmp"))
            .into_keys()
            .filter(|p| p.ends_with(".tmp"))
            .collect();
        assert!(
            scratch.is_empty(),
            "{context}: scratch files survived a restart: {scratch:?}"
        );
        for (m, v) in ARTIFACTS {
            for ext in ["mod", "zip", "info"] {
                let r = get(&gd, &format!("/{m}/@v/{v}.{ext}"));
                assert_eq!(
                    r.status,
                    200,
                    "{context}: {m}@{v}.{ext} after restart: {}",
                    r.text()
                );
                assert!(
                    r.body == rig.fixture(m, v, ext),
                    "{context}: {m}@{v}.{ext} differs after restart"
                );
            }
        }
        assert_visible_artifacts_are_complete(&rig, &context);
    }
}

/// Every artifact file in the tree (outside `.godepot/`) is byte-identical to the fixture's.
fn assert_visible_artifacts_are_complete(rig: &Rig, context: &str) {
    for (m, v) in ARTIFACTS {
        for ext in ["mod", "zip", "info"] {
            let path = rig.data.join(format!("{m}/@v/{v}.{ext}"));
            if let Ok(held) = std::fs::read(&path) {
                assert!(
                    held == rig.fixture(m, v, ext),
                    "{context}: {} is visible but not the fixture's bytes ({} bytes)",
                    path.display(),
                    held.len()
                );
            }
        }
    }
    let strays: Vec<String> = fsutil::tree(&rig.data)
        .into_keys()
        .filter(|p| !p.starts_with(".godepot"))
        .filter(|p| {
            !(p.ends_with("/list")
                || [".info", ".mod", ".zip", ".ziphash"]
                    .iter()
                    .any(|e| p.ends_with(e)))
        })
        .collect();
    assert!(
        strays.is_empty(),
        "{context}: unexpected files in the tree: {strays:?}"
    );
}
