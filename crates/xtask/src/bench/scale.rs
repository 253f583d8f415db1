//! Scale: start-up time and small-file latency with 100,000 versions in the store.

use std::path::Path;
use std::time::{Duration, Instant};

use super::report::{Report, Target};
use super::servers::{GodepotSpec, Server, start_godepot};
use super::warm::HitResults;
use super::wrk::write_paths;
use super::{Ctx, fixture, median};

/// Start-ups are cheap: always take several.
const STARTUP_REPS: usize = 5;
const LATENCY_CONNS: [usize; 2] = [1, 64];

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report, small: &HitResults) -> Result<(), String> {
    ctx.upstream.set_latency(Duration::ZERO);
    let started = Instant::now();
    let dir = fixture::scale_store(&ctx.work.join("scale-store"), ctx.fixture, ctx.plan)?;
    let total = ctx.plan.scale_total();
    eprintln!(
        "[bench]   wrote {total} versions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (mut big, mut smaller) = (vec![], vec![]);
    for _ in 0..STARTUP_REPS {
        let (_, t) = start(ctx, &dir, "scale-startup.log", None)?;
        big.push(t.as_secs_f64() * 1000.0);
        let (_, t) = start(ctx, &ctx.fixture.universe.root, "small-startup.log", None)?;
        smaller.push(t.as_secs_f64() * 1000.0);
    }
    report.add(
        &format!("start-up to /healthz, {total} versions"),
        "ms",
        median(&big),
        Some((median(&smaller), "small store")),
        Some(Target::AtMost { x: 100.0 }),
    );

    let cpus = ctx.pinning.server.as_deref();
    let (mut server, _) = start(ctx, &dir, "scale.log", cpus)?;
    let kinds = [
        (
            ".info",
            write_paths(&ctx.work.join("info.paths"), &ctx.fixture.info_paths())?,
        ),
        (
            "list",
            write_paths(&ctx.work.join("list.paths"), &ctx.fixture.list_paths())?,
        ),
    ];
    for (_, paths) in &kinds {
        ctx.wrk
            .run(server.addr, paths, 16, Duration::from_secs(1))?;
    }
    for (kind, paths) in &kinds {
        for conns in LATENCY_CONNS {
            let r = ctx.wrk.run(server.addr, paths, conns, ctx.plan.run)?;
            server.check_alive()?;
            let base = small.get(&(kind.to_string(), conns));
            let name = format!("{kind} c={conns}, {total} versions");
            let b = |v: f64| Some((v, "small store"));
            report.add(
                &format!("{name}: p50"),
                "ms",
                r.p50_ms,
                base.and_then(|s| b(s.p50_ms)),
                Some(Target::RatioAtMost { x: 1.1 }),
            );
            report.add(
                &format!("{name}: p99"),
                "ms",
                r.p99_ms,
                base.and_then(|s| b(s.p99_ms)),
                Some(Target::RatioAtMost { x: 1.1 }),
            );
            report.add(
                &format!("{name}: req/s"),
                "req/s",
                r.rps,
                base.and_then(|s| b(s.rps)),
                Some(Target::RatioAtLeast { x: 0.9 }),
            );
        }
    }
    Ok(())
}

fn start(
    ctx: &Ctx<'_>,
    data_dir: &Path,
    log: &str,
    cpus: Option<&str>,
) -> Result<(Server, Duration), String> {
    start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        data_dir,
        upstream: Some(&ctx.upstream.url()),
        cpus,
        log: &ctx.work.join(log),
    })
}
