//! Warm store: godepot and nginx serving the same directory, under the same load.

use std::time::Duration;

use super::Ctx;
use super::httpc;
use super::report::{Report, Target};
use super::rss::{self, Sampler};
use super::servers::{GodepotSpec, Server, start_godepot, start_nginx};
use super::wrk::{WrkResult, write_paths};

/// Concurrency levels for small-file hits.
const HIT_CONNS: [usize; 3] = [1, 64, 256];
/// Concurrency levels for zip throughput.
const ZIP_CONNS: [usize; 2] = [1, 16];
/// Connections of the zip run that measures memory under load.
const ZIP_MEMORY_CONNS: usize = 256;

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    let kinds = [
        (
            ".info",
            write_paths(&ctx.work.join("info.paths"), &f.info_paths())?,
        ),
        (
            ".mod",
            write_paths(&ctx.work.join("mod.paths"), &f.mod_paths())?,
        ),
        (
            "list",
            write_paths(&ctx.work.join("list.paths"), &f.list_paths())?,
        ),
    ];
    let zips = write_paths(&ctx.work.join("zip.paths"), &f.big_zip_paths())?;

    ctx.upstream.set_latency(Duration::ZERO);
    f.warm_page_cache();
    let server_cpus = ctx.pinning.server.as_deref();
    let (mut godepot, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        data_dir: &f.universe.root,
        upstream: Some(&ctx.upstream.url()),
        cpus: server_cpus,
        log: &ctx.work.join("godepot-warm.log"),
    })?;
    // Let the runtime's threads settle before calling it idle.
    std::thread::sleep(Duration::from_millis(300));
    let idle_start = rss::rss_mib(&godepot.pids);
    let mut nginx = start_nginx(
        ctx.nginx,
        &ctx.work.join("nginx"),
        &f.universe.root,
        server_cpus,
    )?;

    // Warm-up, not measured: every path once through each server (godepot's first `list`
    // of each module goes upstream; after that it is a hit), and each zip once.
    for server in [&godepot, &nginx] {
        for (_, paths) in &kinds {
            ctx.wrk
                .run(server.addr, paths, 16, Duration::from_secs(1))?;
        }
        for p in f.big_zip_paths() {
            httpc::get_ok(server.addr, &p, Duration::from_secs(60))?;
        }
    }

    for (kind, paths) in &kinds {
        for conns in HIT_CONNS {
            let name = format!("{kind} hits c={conns}");
            let (g, n) = pair(ctx, &mut godepot, &mut nginx, paths, conns, ctx.plan.run)?;
            let at64 = conns == 64;
            let nb = |v: f64| Some((v, "nginx"));
            report.add(
                &format!("{name}: req/s"),
                "req/s",
                g.0.rps,
                nb(n.0.rps),
                at64.then_some(Target::RatioAtLeast { x: 0.9 }),
            );
            report.add(
                &format!("{name}: p50"),
                "ms",
                g.0.p50_ms,
                nb(n.0.p50_ms),
                None,
            );
            report.add(
                &format!("{name}: p99"),
                "ms",
                g.0.p99_ms,
                nb(n.0.p99_ms),
                at64.then_some(Target::AtMost { x: 2.0 }),
            );
            report.add(
                &format!("{name}: p99.9"),
                "ms",
                g.0.p999_ms,
                nb(n.0.p999_ms),
                None,
            );
            report.add(&format!("{name}: peak RSS"), "MiB", g.1, nb(n.1), None);
        }
    }

    for conns in ZIP_CONNS {
        let name = format!("{} MiB zips c={conns}", ctx.plan.big_zip_mib);
        let (g, n) = pair(ctx, &mut godepot, &mut nginx, &zips, conns, ctx.plan.run)?;
        report.add(
            &format!("{name}: throughput"),
            "MiB/s",
            g.0.mib_s,
            Some((n.0.mib_s, "nginx")),
            Some(Target::RatioAtLeast { x: 0.95 }),
        );
        report.add(
            &format!("{name}: peak RSS"),
            "MiB",
            g.1,
            Some((n.1, "nginx")),
            None,
        );
    }
    let name = format!("{} MiB zips c={ZIP_MEMORY_CONNS}", ctx.plan.big_zip_mib);
    let run = ctx.plan.zip_memory_run;
    let (g, n) = pair(ctx, &mut godepot, &mut nginx, &zips, ZIP_MEMORY_CONNS, run)?;
    report.add(
        &format!("{name}: throughput"),
        "MiB/s",
        g.0.mib_s,
        Some((n.0.mib_s, "nginx")),
        None,
    );
    report.add(
        &format!("{name}: peak RSS"),
        "MiB",
        g.1,
        Some((n.1, "nginx")),
        Some(Target::AtMost { x: 64.0 }),
    );

    // Idle means a few quiet seconds: godepot hands freed memory back after one second with
    // nothing in flight, and the last downloads of the run above are still draining.
    std::thread::sleep(Duration::from_secs(3));
    let nginx_idle = rss::rss_mib(&nginx.pids);
    report.add(
        "idle RSS after start-up",
        "MiB",
        idle_start,
        None,
        Some(Target::AtMost { x: 15.0 }),
    );
    report.add(
        "idle RSS after the load above",
        "MiB",
        rss::rss_mib(&godepot.pids),
        Some((nginx_idle, "nginx")),
        Some(Target::AtMost { x: 15.0 }),
    );
    let hwm = rss::status_kib(godepot.pid(), "VmHWM").unwrap_or(0) as f64 / 1024.0;
    report.add("VmHWM over the whole warm section", "MiB", hwm, None, None);
    godepot.check_alive()?;
    nginx.check_alive()?;
    Ok(())
}

/// A wrk run and the server's peak RSS (MiB) during it.
type Measured = (WrkResult, f64);

/// One run against godepot, then the same against nginx, each with its peak RSS (MiB).
/// Back to back, so that whatever else the machine is doing weighs on both alike.
fn pair(
    ctx: &Ctx<'_>,
    godepot: &mut Server,
    nginx: &mut Server,
    paths: &std::path::Path,
    conns: usize,
    duration: Duration,
) -> Result<(Measured, Measured), String> {
    let g = measured(ctx, godepot, paths, conns, duration)?;
    let n = measured(ctx, nginx, paths, conns, duration)?;
    eprintln!(
        "[bench]   {} c={conns}: godepot {:.0} req/s {:.1} MiB/s p99 {:.3} ms | nginx {:.0} req/s {:.1} MiB/s p99 {:.3} ms",
        paths.file_stem().and_then(|s| s.to_str()).unwrap_or("?"),
        g.0.rps,
        g.0.mib_s,
        g.0.p99_ms,
        n.0.rps,
        n.0.mib_s,
        n.0.p99_ms
    );
    Ok((g, n))
}

fn measured(
    ctx: &Ctx<'_>,
    server: &mut Server,
    paths: &std::path::Path,
    conns: usize,
    duration: Duration,
) -> Result<Measured, String> {
    let sampler = Sampler::start(server.pids.clone());
    let result = ctx.wrk.run(server.addr, paths, conns, duration);
    let peak = sampler.finish();
    server.check_alive()?;
    let result = result.map_err(|e| format!("{} c={conns}: {e}", server.name))?;
    if result.requests == 0 && result.bytes == 0 {
        return Err(format!("{} c={conns}: no response at all", server.name));
    }
    Ok((result, peak))
}
