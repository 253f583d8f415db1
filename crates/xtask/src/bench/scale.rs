//! Scale: start-up time and small-file latency with 100,000 versions in the store.

use std::path::Path;
use std::time::{Duration, Instant};

use super::report::{Report, Target};
use super::servers::{GodepotSpec, Server, Store, start_godepot};
use super::wrk::{WrkResult, write_paths};
use super::{Ctx, fixture, median};

/// Start-ups are cheap: always take several.
const STARTUP_REPS: usize = 5;
const LATENCY_CONNS: [usize; 2] = [1, 64];

/// A reported figure of a wrk run: name, unit, how to read it, target.
type Figure = (&'static str, &'static str, fn(&WrkResult) -> f64, Target);

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
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

    // The small store is measured here too, not taken from the warm section minutes earlier:
    // on a shared two-core machine, figures drift by tens of percent over minutes. Both
    // servers run at once on the same CPU, are loaded in turn, and each figure is the median
    // of several alternating runs.
    let cpus = ctx.pinning.server.as_deref();
    let (large, _) = start(ctx, &dir, "scale.log", cpus)?;
    search(&large, total, report)?;
    let (small, _) = start(ctx, &ctx.fixture.universe.root, "scale-small.log", cpus)?;
    small.wait_index_current(Duration::from_secs(300))?;
    // Idle, with each one's module index current and before any load.
    report.add(
        &format!("RSS idle, {total} versions (index current)"),
        "MiB",
        super::rss::rss_mib(&large.pids),
        Some((super::rss::rss_mib(&small.pids), "small store")),
        Some(Target::AtMost { x: 20.0 }),
    );
    let mut servers = [large, small];
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
    for server in &servers {
        for (_, paths) in &kinds {
            ctx.wrk
                .run(server.addr, paths, 16, Duration::from_secs(1))?;
        }
    }
    let each = ctx.plan.run / 2;
    for (kind, paths) in &kinds {
        for conns in LATENCY_CONNS {
            let mut runs = [vec![], vec![]];
            for rep in 0..ctx.plan.reps {
                let order = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    runs[i].push(ctx.wrk.run(servers[i].addr, paths, conns, each)?);
                    servers[i].check_alive()?;
                }
            }
            let name = format!("{kind} c={conns}, {total} versions");
            let figures: [Figure; 3] = [
                ("p50", "ms", |r| r.p50_ms, Target::RatioAtMost { x: 1.1 }),
                ("p99", "ms", |r| r.p99_ms, Target::RatioAtMost { x: 1.1 }),
                ("req/s", "req/s", |r| r.rps, Target::RatioAtLeast { x: 0.9 }),
            ];
            for (figure, unit, value, target) in figures {
                let of = |runs: &[WrkResult]| median(&runs.iter().map(value).collect::<Vec<_>>());
                report.add(
                    &format!("{name}: {figure}"),
                    unit,
                    of(&runs[0]),
                    Some((of(&runs[1]), "small store")),
                    Some(target),
                );
            }
        }
    }
    Ok(())
}

/// Searches through the web UI's JSON API (`/api/search`), over the module index the server
/// builds in the background on a store that has none: once the index is current, the median
/// time of one whole search request (connect to last byte), a substring matching ten modules.
fn search(server: &Server, total: usize, report: &mut Report) -> Result<(), String> {
    const REPS: usize = 50;
    let timeout = Duration::from_secs(30);
    // A rebuild takes about a millisecond a version on these machines.
    server.wait_index_current(Duration::from_millis(total.max(300_000) as u64))?;
    let mut times = Vec::with_capacity(REPS);
    for _ in 0..REPS {
        let t = super::httpc::get_ok(server.addr, "/api/search?q=scale/s012", timeout)?;
        times.push(t.last_byte.as_secs_f64() * 1000.0);
    }
    report.add(
        &format!("search (/api/search, 10 modules match), {total} versions"),
        "ms",
        median(&times),
        None,
        Some(Target::AtMost { x: 20.0 }),
    );
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
        store: Store::Dir(data_dir),
        upstream: Some(&ctx.upstream.url()),
        cpus,
        log: &ctx.work.join(log),
        extra: &[],
        env: &[],
    })
}
