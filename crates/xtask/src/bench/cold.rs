//! Cold path: nothing in godepot's store, an upstream 20 ms away.

use std::net::SocketAddr;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::httpc::{self, Timed};
use super::report::{Report, Target};
use super::servers::{GodepotSpec, Server, Store, start_godepot};
use super::{Ctx, median};

/// Added by the fixture upstream to every request, like a far-away proxy.
pub(crate) const UPSTREAM_LATENCY: Duration = Duration::from_millis(20);
const TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    ctx.upstream.set_latency(UPSTREAM_LATENCY);
    let f = ctx.fixture;
    let zip = f
        .big_zip_paths()
        .into_iter()
        .next()
        .ok_or("the plan has no big zips")?;
    let (mut first, mut last, mut direct_first, mut direct_last) = (vec![], vec![], vec![], vec![]);
    let (mut zip_fetches, mut all_fetches) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        let direct = httpc::get_ok(ctx.upstream.addr(), &zip, TIMEOUT)?;
        let mut godepot = fresh_godepot(ctx, &format!("cold-zip-{rep}"))?;
        ctx.upstream.reset_hits();
        let through = httpc::get_ok(godepot.addr, &zip, TIMEOUT)?;
        godepot.check_alive()?;
        whole_zip(&[&direct, &through], f.big_zip_bytes)?;
        direct_first.push(ms(direct.first_byte));
        direct_last.push(ms(direct.last_byte));
        first.push(ms(through.first_byte));
        last.push(ms(through.last_byte));
        zip_fetches.push(ctx.upstream.hits(".zip") as f64);
        all_fetches.push(ctx.upstream.total_hits() as f64);
    }
    let name = format!("cold {} MiB zip", ctx.plan.big_zip_mib);
    let up = "upstream direct";
    report.add(
        &format!("{name}: first byte"),
        "ms",
        median(&first),
        Some((median(&direct_first), up)),
        Some(Target::WithinPlus { x: 5.0 }),
    );
    report.add(
        &format!("{name}: last byte"),
        "ms",
        median(&last),
        Some((median(&direct_last), up)),
        None,
    );
    report.add(
        &format!("{name}: upstream .zip fetches"),
        "count",
        median(&zip_fetches),
        Some((1.0, "ideal")),
        Some(Target::Equal),
    );
    report.add(
        &format!("{name}: upstream requests of any kind"),
        "count",
        median(&all_fetches),
        None,
        None,
    );

    // The burst: many clients at once over fewer zips, all cold.
    let paths = f.lib_zip_paths(ctx.plan.cold_modules);
    let n = ctx.plan.cold_requests;
    let direct = burst(ctx.upstream.addr(), &paths, n)?;
    let mut godepot = fresh_godepot(ctx, "cold-burst")?;
    ctx.upstream.reset_hits();
    let through = burst(godepot.addr, &paths, n)?;
    godepot.check_alive()?;
    let name = format!("{n} concurrent cold requests over {} zips", paths.len());
    report.add(
        &format!("{name}: total time"),
        "ms",
        ms(through),
        Some((ms(direct), up)),
        None,
    );
    report.add(
        &format!("{name}: upstream .zip fetches"),
        "count",
        ctx.upstream.hits(".zip") as f64,
        Some((paths.len() as f64, "distinct zips")),
        Some(Target::Equal),
    );
    report.add(
        &format!("{name}: upstream requests of any kind"),
        "count",
        ctx.upstream.total_hits() as f64,
        None,
        None,
    );
    ctx.upstream.set_latency(Duration::ZERO);
    Ok(())
}

/// godepot on an empty data directory, upstream = the fixture upstream.
pub(crate) fn fresh_godepot(ctx: &Ctx<'_>, name: &str) -> Result<Server, String> {
    let data = ctx.work.join(format!("{name}-store"));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let (server, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        store: Store::Dir(&data),
        upstream: Some(&ctx.upstream.url()),
        cpus: None,
        log: &ctx.work.join(format!("{name}.log")),
        extra: &[],
        env: &[],
    })?;
    Ok(server)
}

/// `n` simultaneous GETs (one thread and connection each) cycling over `paths`; the time
/// until the last one has finished. Every answer must be a 200.
fn burst(addr: SocketAddr, paths: &[String], n: usize) -> Result<Duration, String> {
    let barrier = Barrier::new(n + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, path) = (&barrier, &paths[i % paths.len()]);
                s.spawn(move || -> Result<Timed, String> {
                    barrier.wait();
                    httpc::get_ok(addr, path, TIMEOUT)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join()
                .map_err(|_| "a burst client panicked".to_owned())??;
        }
        Ok(start.elapsed())
    })
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every transfer of a cold zip carried the whole file.
pub(super) fn whole_zip(transfers: &[&Timed], bytes: u64) -> Result<(), String> {
    match transfers.iter().find(|t| t.body_bytes != bytes) {
        Some(t) => Err(format!(
            "cold zip: got {} body bytes, the file has {bytes}",
            t.body_bytes
        )),
        None => Ok(()),
    }
}
