//! A server and the store commands on one data directory at the same time: `prefetch`
//! filling the store while clients fetch through `serve`, then `verify` finding everything
//! whole. Every writer goes through the same write-once, atomic publishing, so neither can
//! corrupt or clean up after the other.

mod common;

use common::{Rig, get, godepot_cli};

const VERSIONS: [(&str, &str); 4] = [
    ("example.com/f", "v1.0.0"),
    ("example.com/f", "v1.1.0"),
    ("example.com/Upper/Mod", "v1.0.0"),
    ("example.com/big", "v1.0.0"),
];

#[test]
fn prefetch_and_serve_share_a_data_dir() {
    let rig = Rig::small();
    rig.upstream
        .set_latency(std::time::Duration::from_millis(5));
    let gd = rig.godepot(&[]);
    let data = rig.data.to_str().expect("utf-8").to_string();
    let upstream = rig.upstream.url();
    let prefetch = std::thread::spawn(move || {
        let mut args = vec![
            "prefetch",
            "--data-dir",
            &data,
            "--upstream",
            &upstream,
            "--no-deps",
        ];
        let inputs: Vec<String> = VERSIONS.iter().map(|(m, v)| format!("{m}@{v}")).collect();
        args.extend(inputs.iter().map(String::as_str));
        godepot_cli(&args)
    });
    for (m, v) in VERSIONS {
        for ext in ["info", "mod", "zip"] {
            let escaped = m.replace("Upper/Mod", "!upper/!mod");
            let r = get(&gd, &format!("/{escaped}/@v/{v}.{ext}"));
            assert_eq!(
                r.status,
                200,
                "{m}@{v}.{ext} while prefetch runs: {}",
                r.text()
            );
            assert!(r.body == rig.fixture(m, v, ext), "{m}@{v}.{ext} differs");
        }
    }
    let out = prefetch.join().expect("prefetch thread");
    assert!(
        out.status.success(),
        "prefetch beside a running server failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = godepot_cli(&["verify", "--data-dir", rig.data.to_str().expect("utf-8")]);
    assert!(
        verify.status.success(),
        "verify after concurrent writers:\n{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
