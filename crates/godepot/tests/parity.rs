//! Parity with the go command's own view of the fixture: the same battery of `go` commands
//! (see `godepot_testkit::oracle`) run against `GOPROXY=file://<fixture>` and against godepot
//! must give identical checksums, versions, go.mod and go.sum files, in four situations:
//! (a) godepot online, (b) upstream down, (c) godepot restarted `--offline` on the same data
//! dir, (d) godepot's data dir read directly as `GOPROXY=file://`.

mod common;

use std::time::Duration;

use common::Rig;
use godepot_testkit::GoEnv;
use godepot_testkit::oracle::{assert_same, fetch_everything, run_oracle};

#[test]
fn go_sees_the_same_universe_through_godepot_online_down_offline_and_from_disk() {
    let rig = Rig::standard();
    let u = &rig.universe;
    let work = rig.tmp.path();

    let direct_go = GoEnv::new(&u.proxy_url());
    let direct = run_oracle(&direct_go, u, &work.join("direct"));
    let everything = fetch_everything(&direct_go, u, &work.join("all-direct"));

    // (a) online, cold. A 1s list TTL so that phase (b) really exercises stale lists.
    let mut gd = rig.godepot(&["--list-ttl", "1s"]);
    let mut go = GoEnv::new(&gd.url());
    let online = run_oracle(&go, u, &work.join("a"));
    assert_same(&direct, &online, "(a) godepot online");
    // An offline godepot can only answer `list`/`@latest` from what it holds, and `go list -m
    // -versions` is compared in (b)-(d) too. So the online phase fetches every version of every
    // module (listed or not) now; the later phases are then expected to be identical.
    assert_eq!(
        everything,
        fetch_everything(&go, u, &work.join("all-a")),
        "(a) every version through godepot"
    );

    // (b) upstream down (connections refused), lists past their TTL: godepot must serve what
    // it holds, including stale lists, rather than fail.
    rig.upstream.stop();
    std::thread::sleep(Duration::from_millis(1500));
    go.clean_modcache();
    let down = run_oracle(&go, u, &work.join("b"));
    assert_same(&direct, &down, "(b) upstream stopped");
    let stale_lists = gd
        .json_logs()
        .iter()
        .filter(|r| {
            r["path"].as_str().is_some_and(|p| p.ends_with("/@v/list")) && r["cache"] == "stale"
        })
        .count();
    assert!(
        stale_lists > 0,
        "(b) expected lists served with cache=stale while upstream is down"
    );

    // (c) restart with --offline on the same data dir; the upstream is back up but must not
    // be contacted at all.
    gd.stop();
    rig.upstream.restart();
    rig.upstream.reset_hits();
    let gd = rig.godepot(&["--offline"]);
    go.set_proxy(&gd.url());
    go.clean_modcache();
    let offline = run_oracle(&go, u, &work.join("c"));
    assert_same(&direct, &offline, "(c) godepot --offline");
    assert_eq!(
        rig.upstream.total_hits(),
        0,
        "--offline contacted upstream: {:?}",
        rig.upstream.all_hits()
    );
    let misses: Vec<_> = gd
        .json_logs()
        .into_iter()
        .filter(|r| r["cache"] == "miss")
        .collect();
    assert!(
        misses.is_empty(),
        "(c) an offline server has no misses to fill: {misses:?}"
    );
    drop(gd);

    // (d) the data dir is itself a GOPROXY=file:// tree.
    go.set_proxy(&format!("file://{}", rig.data.display()));
    go.clean_modcache();
    let from_disk = run_oracle(&go, u, &work.join("d"));
    assert_same(&direct, &from_disk, "(d) GOPROXY=file://<data dir>");
}
