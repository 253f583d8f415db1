//! Warm store: godepot and nginx serving the same directory, under the same load.

use std::time::Duration;

use super::Ctx;
use super::cpu::cpu_seconds;
use super::httpc;
use super::report::{Report, Target};
use super::rss::{self, Sampler};
use super::servers::{GodepotSpec, Server, Store, start_godepot, start_nginx};
use super::wrk::{WrkResult, write_paths};

/// Concurrency levels for small-file hits.
const HIT_CONNS: [usize; 3] = [1, 64, 256];
/// Concurrency levels for zip throughput; the last one also measures memory under load, and
/// runs longer.
const ZIP_CONNS: [usize; 3] = [1, 16, 256];
/// Bytes in a GB, for CPU time per GB served.
const GB: f64 = 1e9;

/// The targets: issue 3's for the pinned mode; issue 16's for the unpinned one, where both
/// servers may use every core (level with nginx, not within 10 %).
struct Targets {
    hits_c64: f64,
    zips_c16: f64,
    zips_c256: Option<f64>,
}

impl Targets {
    fn for_run(ctx: &Ctx<'_>) -> Targets {
        if ctx.pinning.server.is_some() {
            Targets {
                hits_c64: 0.9,
                zips_c16: 0.95,
                zips_c256: None,
            }
        } else {
            Targets {
                hits_c64: 1.0,
                zips_c16: 1.0,
                zips_c256: Some(1.0),
            }
        }
    }
}

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    let targets = Targets::for_run(ctx);
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
        store: Store::Dir(&f.universe.root),
        upstream: Some(&ctx.upstream.url()),
        cpus: server_cpus,
        log: &ctx.work.join("godepot-warm.log"),
        extra: &[],
        env: &[],
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
    godepot.wait_index_current(Duration::from_secs(300))?;

    for (kind, paths) in &kinds {
        for conns in HIT_CONNS {
            let name = format!("{kind} hits c={conns}");
            let (g, n) = pair(ctx, &mut godepot, &mut nginx, paths, conns, ctx.plan.run)?;
            let at64 = conns == 64;
            let nb = |v: f64| Some((v, "nginx"));
            report.add(
                &format!("{name}: req/s"),
                "req/s",
                g.wrk.rps,
                nb(n.wrk.rps),
                at64.then_some(Target::RatioAtLeast {
                    x: targets.hits_c64,
                }),
            );
            report.add(
                &format!("{name}: p50"),
                "ms",
                g.wrk.p50_ms,
                nb(n.wrk.p50_ms),
                None,
            );
            report.add(
                &format!("{name}: p99"),
                "ms",
                g.wrk.p99_ms,
                nb(n.wrk.p99_ms),
                at64.then_some(Target::AtMost { x: 2.0 }),
            );
            report.add(
                &format!("{name}: p99.9"),
                "ms",
                g.wrk.p999_ms,
                nb(n.wrk.p999_ms),
                None,
            );
            report.add(
                &format!("{name}: peak RSS"),
                "MiB",
                g.peak_rss,
                nb(n.peak_rss),
                None,
            );
        }
    }

    for conns in ZIP_CONNS {
        let name = format!("{} MiB zips c={conns}", ctx.plan.big_zip_mib);
        let (run, throughput, rss) = match conns {
            1 => (ctx.plan.run, Some(0.95), None),
            16 => (ctx.plan.run, Some(targets.zips_c16), None),
            _ => (ctx.plan.zip_memory_run, targets.zips_c256, Some(64.0)),
        };
        let (g, n) = pair(ctx, &mut godepot, &mut nginx, &zips, conns, run)?;
        let nb = |v: f64| Some((v, "nginx"));
        report.add(
            &format!("{name}: throughput"),
            "MiB/s",
            g.wrk.mib_s,
            nb(n.wrk.mib_s),
            throughput.map(|x| Target::RatioAtLeast { x }),
        );
        // The zip path is where CPU per byte decides throughput once both servers have all
        // the cores (issue 16); at c=1 the figure is mostly wake-ups, so it has no target.
        report.add(
            &format!("{name}: CPU time per GB served"),
            "s/GB",
            g.cpu_per_gb(),
            nb(n.cpu_per_gb()),
            (conns > 1).then_some(Target::RatioAtMost { x: 1.1 }),
        );
        report.add(
            &format!("{name}: peak RSS"),
            "MiB",
            g.peak_rss,
            nb(n.peak_rss),
            rss.map(|x| Target::AtMost { x }),
        );
    }

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

/// A wrk run, and what the server used during it.
pub(crate) struct Measured {
    pub(crate) wrk: WrkResult,
    /// Peak RSS in MiB (summed over nginx's processes).
    pub(crate) peak_rss: f64,
    /// User and system CPU time in seconds (summed over nginx's processes).
    pub(crate) cpu_s: f64,
}

impl Measured {
    /// CPU seconds per GB of response bytes (heads included, as wrk counts them).
    pub(crate) fn cpu_per_gb(&self) -> f64 {
        self.cpu_s / (self.wrk.bytes as f64 / GB).max(1e-12)
    }
}

/// One run against godepot, then the same against nginx, each with what it used.
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
        g.wrk.rps,
        g.wrk.mib_s,
        g.wrk.p99_ms,
        n.wrk.rps,
        n.wrk.mib_s,
        n.wrk.p99_ms
    );
    Ok((g, n))
}

/// One wrk run against `server`, with its peak RSS and CPU time during the run.
pub(crate) fn measured(
    ctx: &Ctx<'_>,
    server: &mut Server,
    paths: &std::path::Path,
    conns: usize,
    duration: Duration,
) -> Result<Measured, String> {
    let sampler = Sampler::start(server.pids.clone());
    let cpu_before = cpu_seconds(&server.pids);
    let result = ctx.wrk.run(server.addr, paths, conns, duration);
    let cpu_s = cpu_seconds(&server.pids) - cpu_before;
    let peak_rss = sampler.finish();
    server.check_alive()?;
    let result = result.map_err(|e| format!("{} c={conns}: {e}", server.name))?;
    if result.requests == 0 && result.bytes == 0 {
        return Err(format!("{} c={conns}: no response at all", server.name));
    }
    Ok(Measured {
        wrk: result,
        peak_rss,
        cpu_s,
    })
}
