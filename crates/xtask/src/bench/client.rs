//! The client's view: `go mod download all` of the project, with a clean module cache each
//! time, in the testkit's isolated `go` environment.

use std::time::{Duration, Instant};

use godepot_testkit::GoEnv;

use super::cold::{UPSTREAM_LATENCY, fresh_godepot};
use super::report::{Report, Target};
use super::servers::{GodepotSpec, start_godepot};
use super::{Ctx, median};

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    ctx.upstream.set_latency(Duration::ZERO);
    let (warm, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        data_dir: &f.universe.root,
        upstream: Some(&ctx.upstream.url()),
        cpus: None,
        log: &ctx.work.join("godepot-client-warm.log"),
    })?;
    let file_url = f.universe.proxy_url();
    let warm_url = format!("http://{}", warm.addr);
    // One untimed round so that both start with the same warm page cache and go binary.
    download(ctx, &warm_url)?;
    download(ctx, &file_url)?;
    let (mut through, mut file) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        // Alternate the order so neither side always runs second.
        if rep % 2 == 0 {
            through.push(download(ctx, &warm_url)?);
            file.push(download(ctx, &file_url)?);
        } else {
            file.push(download(ctx, &file_url)?);
            through.push(download(ctx, &warm_url)?);
        }
    }
    drop(warm);
    let name = format!(
        "go mod download all ({} requires)",
        ctx.plan.project_requires
    );
    report.add(
        &format!("{name}, warm"),
        "s",
        median(&through),
        Some((median(&file), "GOPROXY=file://")),
        Some(Target::RatioAtMost { x: 1.05 }),
    );

    ctx.upstream.set_latency(UPSTREAM_LATENCY);
    let upstream_url = ctx.upstream.url();
    let (mut through, mut direct) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        let cold = fresh_godepot(ctx, &format!("client-cold-{rep}"))?;
        through.push(download(ctx, &format!("http://{}", cold.addr))?);
        drop(cold);
        direct.push(download(ctx, &upstream_url)?);
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

/// Seconds for `go mod download all` in a fresh GOPATH and a fresh copy of the project.
fn download(ctx: &Ctx<'_>, goproxy: &str) -> Result<f64, String> {
    let env = GoEnv::new(goproxy);
    let project = ctx
        .fixture
        .universe
        .copy_project(&env.home().join("project"));
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
    Ok(secs)
}
