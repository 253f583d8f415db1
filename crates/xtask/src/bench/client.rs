//! The client's view: `go mod download all` of the project, with a clean module cache each
//! time, in the testkit's isolated `go` environment.
//!
//! Warm, it runs three ways over the same tree: through godepot, through nginx serving the
//! tree as static files (the floor for any HTTP proxy), and `GOPROXY=file://` (no HTTP at all).
//! And in two places: the module cache on disk, as users have it, where the file system's cost
//! of creating thousands of files is shared by all three and varies run to run; and on a
//! memory file system (`/dev/shm`), which leaves only what the proxy protocol itself costs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use godepot_testkit::GoEnv;

use super::cold::{UPSTREAM_LATENCY, fresh_godepot};
use super::report::{Report, Target};
use super::servers::{GodepotSpec, Store, start_godepot, start_nginx};
use super::{Ctx, median};

/// Where the module cache goes for the in-memory runs, when it is a memory file system.
const MEMORY_FS: &str = "/dev/shm";

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    ctx.upstream.set_latency(Duration::ZERO);
    let (warm, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        store: Store::Dir(&f.universe.root),
        upstream: Some(&ctx.upstream.url()),
        cpus: None,
        log: &ctx.work.join("godepot-client-warm.log"),
        extra: &[],
        env: &[],
    })?;
    let nginx = start_nginx(
        ctx.nginx,
        &ctx.work.join("nginx-client"),
        &f.universe.root,
        None,
    )?;
    let ways = [
        format!("http://{}", warm.addr),
        format!("http://{}", nginx.addr),
        f.universe.proxy_url(),
    ];
    let name = format!(
        "go mod download all ({} requires)",
        ctx.plan.project_requires
    );
    let mut places = vec![("module cache on disk", std::env::temp_dir())];
    match memory_fs() {
        Some(dir) => places.push(("module cache in memory", dir)),
        None => eprintln!("[bench]   no memory file system at {MEMORY_FS}: on-disk runs only"),
    }
    for (place, parent) in &places {
        // Every module cache of this place is kept until all its runs are done: on ext4,
        // creating files right after deleting thousands costs several times more (the inode
        // allocator skips recently freed inodes), which would make each run slower than the
        // one before it.
        let mut kept = vec![];
        // One untimed round so that all start with the same warm page cache and go binary.
        for way in &ways {
            kept.push(download(ctx, parent, way)?.1);
        }
        let mut times = [vec![], vec![], vec![]];
        for rep in 0..ctx.plan.reps {
            // Rotate the order so that no way always runs first or last.
            for i in 0..ways.len() {
                let w = (i + rep) % ways.len();
                let (secs, env) = download(ctx, parent, &ways[w])?;
                times[w].push(secs);
                kept.push(env);
            }
        }
        drop(kept);
        let file = median(&times[2]);
        report.add(
            &format!("{name}, warm, {place}"),
            "s",
            median(&times[0]),
            Some((file, "GOPROXY=file://")),
            Some(Target::RatioAtMost { x: 1.05 }),
        );
        report.add(
            &format!("{name}, nginx static files, {place}"),
            "s",
            median(&times[1]),
            Some((file, "GOPROXY=file://")),
            None,
        );
    }
    drop(warm);
    drop(nginx);

    ctx.upstream.set_latency(UPSTREAM_LATENCY);
    let upstream_url = ctx.upstream.url();
    let disk = std::env::temp_dir();
    let (mut through, mut direct) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        let cold = fresh_godepot(ctx, &format!("client-cold-{rep}"))?;
        through.push(download(ctx, &disk, &format!("http://{}", cold.addr))?.0);
        drop(cold);
        direct.push(download(ctx, &disk, &upstream_url)?.0);
    }
    ctx.upstream.set_latency(Duration::ZERO);
    report.add(
        &format!("{name}, cold (upstream +20 ms)"),
        "s",
        median(&through),
        Some((median(&direct), "upstream direct")),
        None,
    );
    Ok(())
}

/// `/dev/shm` when it exists and is a memory file system.
fn memory_fs() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .any(|f| f.len() > 2 && f[1] == MEMORY_FS && f[2] == "tmpfs")
        .then(|| PathBuf::from(MEMORY_FS))
}

/// Seconds for `go mod download all` in a fresh GOPATH under `parent` and a fresh copy of the
/// project; and that GOPATH, removed when dropped.
fn download(ctx: &Ctx<'_>, parent: &Path, goproxy: &str) -> Result<(f64, GoEnv), String> {
    let env = GoEnv::new_in(parent, goproxy);
    let project = ctx
        .fixture
        .universe
        .copy_project(&env.home().join("project"));
    // Write back what earlier runs left dirty, so that no run pays for another's writeback.
    let _ = std::process::Command::new("sync").status();
    let start = Instant::now();
    let out = env.run(&project, ["mod", "download", "all"]);
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "go mod download all (GOPROXY={goproxy}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // A fast run that fetched nothing would be a broken measurement, not a fast proxy.
    let zips = godepot_testkit::fsutil::tree(&env.download_cache())
        .keys()
        .filter(|p| p.ends_with(".zip"))
        .count();
    if zips < ctx.plan.project_requires {
        return Err(format!(
            "go mod download all (GOPROXY={goproxy}) fetched only {zips} zips"
        ));
    }
    Ok((secs, env))
}
