//! Object storage (issue 14): godepot replicas on a bucket (`--storage s3://…`, MinIO on
//! loopback), side by side in one run with a local-store godepot and nginx on the same files.
//!
//! The bucket is loaded the way a fresh deployment fills it: one replica pulls every path
//! through from the fixture upstream. Then warm `.info` and zip hits through a replica with
//! and without `--cache-dir`; a cold zip through a replica on the bucket; and one replica
//! versus three (one Redis for `--coordination`) behind nginx as a load balancer. MinIO and
//! Redis run on the server's CPUs: they are the replicas' storage, not the load generator.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use godepot_testkit::minio::MinioServer;
use godepot_testkit::redis::RedisServer;

use super::cold::{UPSTREAM_LATENCY, fresh_godepot, ms, whole_zip};
use super::cpu::cpu_seconds;
use super::report::{Report, Target};
use super::servers::{
    GodepotSpec, Server, Store, pin_running, start_godepot, start_nginx, start_nginx_balancer,
};
use super::warm::{Measured, measured};
use super::wrk::write_paths;
use super::{Ctx, httpc, median};

/// Connections of the warm runs: the concurrency issue 3's targets are set at.
const INFO_CONNS: usize = 64;
const ZIP_CONNS: usize = 16;
/// Clients loading the bucket and warming the servers, each over its own connections.
const FETCHERS: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(120);
const REPLICAS: usize = 3;
/// How long a replica may take to index the bucket before it is measured.
const INDEX_WAIT: Duration = Duration::from_secs(300);

/// A reported figure of a run: name, unit, how to read it.
type Figure = (&'static str, &'static str, fn(&Measured) -> f64);

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    let cpus = ctx.pinning.server.as_deref();
    ctx.upstream.set_latency(Duration::ZERO);
    let minio = MinioServer::start();
    let minio_pid = minio.pid().ok_or("MinIO is not running")?;
    pin_running(minio_pid, cpus)?;
    let bucket = Bucket {
        env: minio.env(),
        url: minio.url("warm"),
    };
    let info = write_paths(&ctx.work.join("objstore-info.paths"), &f.info_paths())?;
    let zips = write_paths(&ctx.work.join("objstore-zip.paths"), &f.big_zip_paths())?;
    let mut every = f.info_paths();
    every.extend(f.big_zip_paths());

    {
        let loader = replica(ctx, &bucket, "objstore-load", &[], cpus)?;
        fetch_all(loader.addr, &every)?;
    }
    f.warm_page_cache();
    let (mut local, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        store: Store::Dir(&f.universe.root),
        upstream: Some(&ctx.upstream.url()),
        cpus,
        log: &ctx.work.join("objstore-local.log"),
        extra: &[],
        env: &[],
    })?;
    let mut nginx = start_nginx(
        ctx.nginx,
        &ctx.work.join("nginx-objstore"),
        &f.universe.root,
        cpus,
    )?;
    let cache = cache_dir(ctx, "objstore-cached");
    let mut cached = replica(ctx, &bucket, "objstore-cached", &cache, cpus)?;
    let mut uncached = replica(ctx, &bucket, "objstore-uncached", &[], cpus)?;
    // Warm-up, not measured: every path once through each (the cache fills here).
    for server in [&local, &nginx, &cached, &uncached] {
        fetch_all(server.addr, &every)?;
    }
    for server in [&local, &cached, &uncached] {
        server.wait_index_current(INDEX_WAIT)?;
    }
    let kinds = [
        (format!(".info hits c={INFO_CONNS}"), &info, INFO_CONNS),
        (
            format!("{} MiB zips c={ZIP_CONNS}", ctx.plan.big_zip_mib),
            &zips,
            ZIP_CONNS,
        ),
    ];
    for (name, paths, conns) in &kinds {
        let zip = *conns == ZIP_CONNS;
        let (unit, value): (&str, fn(&Measured) -> f64) = if zip {
            ("MiB/s", |m| m.wrk.mib_s)
        } else {
            ("req/s", |m| m.wrk.rps)
        };
        // The four loaded in turn, round after round; each one's median round is kept (the
        // machine's noise moves a single 5-second run by 15 %).
        let run = ctx.plan.run;
        let mut rounds: [Vec<Measured>; 4] = Default::default();
        let mut minio_s_per_gb = vec![];
        for _ in 0..ctx.plan.reps {
            rounds[0].push(measured(ctx, &mut nginx, paths, *conns, run)?);
            rounds[1].push(measured(ctx, &mut local, paths, *conns, run)?);
            rounds[2].push(measured(ctx, &mut cached, paths, *conns, run)?);
            let minio_before = cpu_seconds(&[minio_pid]);
            let u = measured(ctx, &mut uncached, paths, *conns, run)?;
            let gb = u.wrk.bytes as f64 / 1e9;
            minio_s_per_gb.push((cpu_seconds(&[minio_pid]) - minio_before) / gb.max(1e-12));
            rounds[3].push(u);
        }
        let [n, l, c, u] = rounds.map(|runs| median_run(runs, value));
        eprintln!(
            "[bench]   {name}: nginx {} | local {} | bucket+cache {} | bucket {}",
            brief(&n),
            brief(&l),
            brief(&c),
            brief(&u)
        );
        let figure = if zip { "throughput" } else { "req/s" };
        let lb = Some((value(&l), "local store"));
        report.add(
            &format!("{name}, local store: {figure}"),
            unit,
            value(&l),
            Some((value(&n), "nginx")),
            None,
        );
        report.add(
            &format!("{name}, bucket + --cache-dir: {figure}"),
            unit,
            value(&c),
            lb,
            Some(Target::RatioAtLeast { x: 0.9 }),
        );
        report.add(
            &format!("{name}, bucket, no cache: {figure}"),
            unit,
            value(&u),
            lb,
            Some(Target::RatioAtLeast { x: 0.5 }),
        );
        if zip {
            // Where the time of a zip without the cache goes: godepot's CPU and MinIO's, each
            // per GB served, beside what the local store's godepot spends.
            let lb = Some((l.cpu_per_gb(), "local store"));
            report.add(
                &format!("{name}, local store: CPU time per GB served"),
                "s/GB",
                l.cpu_per_gb(),
                Some((n.cpu_per_gb(), "nginx")),
                None,
            );
            report.add(
                &format!("{name}, bucket, no cache: godepot's CPU time per GB"),
                "s/GB",
                u.cpu_per_gb(),
                lb,
                None,
            );
            report.add(
                &format!("{name}, bucket, no cache: MinIO's CPU time per GB"),
                "s/GB",
                median(&minio_s_per_gb),
                lb,
                None,
            );
        } else {
            let lb = Some((l.wrk.p99_ms, "local store"));
            report.add(
                &format!("{name}, bucket + --cache-dir: p99"),
                "ms",
                c.wrk.p99_ms,
                lb,
                None,
            );
            report.add(
                &format!("{name}, bucket, no cache: p99"),
                "ms",
                u.wrk.p99_ms,
                lb,
                None,
            );
        }
    }
    for server in [&mut local, &mut nginx, &mut cached, &mut uncached] {
        server.check_alive()?;
    }
    drop((local, nginx, cached, uncached));

    cold(ctx, &minio, report)?;
    balanced(ctx, &bucket, &info, &zips, &every, report)
}

/// The run of `runs` whose `value` is the median.
fn median_run(mut runs: Vec<Measured>, value: fn(&Measured) -> f64) -> Measured {
    runs.sort_by(|a, b| value(a).total_cmp(&value(b)));
    runs.swap_remove(runs.len() / 2)
}

/// A bucket's URL and what a replica needs to reach it.
struct Bucket {
    url: String,
    env: Vec<(String, String)>,
}

/// `serve --storage <bucket>` with the fixture upstream, plus `extra` flags.
fn replica(
    ctx: &Ctx<'_>,
    bucket: &Bucket,
    name: &str,
    extra: &[String],
    cpus: Option<&str>,
) -> Result<Server, String> {
    let (server, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        store: Store::Bucket(&bucket.url),
        upstream: Some(&ctx.upstream.url()),
        cpus,
        log: &ctx.work.join(format!("{name}.log")),
        extra,
        env: &bucket.env,
    })?;
    Ok(server)
}

/// `--cache-dir` flags for a replica's own, empty cache directory.
fn cache_dir(ctx: &Ctx<'_>, name: &str) -> Vec<String> {
    let dir = ctx.work.join(format!("{name}-cache"));
    vec!["--cache-dir".to_owned(), dir.display().to_string()]
}

/// One GET of every path (each must be a 200), by a few clients at once.
fn fetch_all(addr: SocketAddr, paths: &[String]) -> Result<(), String> {
    let chunk = paths.len().div_ceil(FETCHERS).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<(), String> {
                    for p in part {
                        httpc::get_ok(addr, p, TIMEOUT)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| "a fetching client panicked".to_owned())??;
        }
        Ok(())
    })
}

fn brief(m: &Measured) -> String {
    format!("{:.0} req/s {:.1} MiB/s", m.wrk.rps, m.wrk.mib_s)
}

/// A cold zip (upstream +20 ms, as in the cold section) through a replica on a fresh bucket
/// prefix, against the same through a local-store godepot with an empty store, and straight
/// from the upstream. The replica writes the zip into the bucket as it serves it.
fn cold(ctx: &Ctx<'_>, minio: &MinioServer, report: &mut Report) -> Result<(), String> {
    let f = ctx.fixture;
    let zip = f
        .big_zip_paths()
        .into_iter()
        .next()
        .ok_or("the plan has no big zips")?;
    ctx.upstream.set_latency(UPSTREAM_LATENCY);
    let (mut bucket_first, mut bucket_last) = (vec![], vec![]);
    let (mut local_first, mut local_last) = (vec![], vec![]);
    let (mut direct_first, mut direct_last) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        let direct = httpc::get_ok(ctx.upstream.addr(), &zip, TIMEOUT)?;
        let mut local = fresh_godepot(ctx, &format!("objstore-cold-local-{rep}"))?;
        let through_local = httpc::get_ok(local.addr, &zip, TIMEOUT)?;
        local.check_alive()?;
        let bucket = Bucket {
            env: minio.env(),
            url: minio.url(&format!("cold-{rep}")),
        };
        let mut bucketed = replica(ctx, &bucket, &format!("objstore-cold-{rep}"), &[], None)?;
        let through_bucket = httpc::get_ok(bucketed.addr, &zip, TIMEOUT)?;
        bucketed.check_alive()?;
        whole_zip(&[&direct, &through_local, &through_bucket], f.big_zip_bytes)?;
        direct_first.push(ms(direct.first_byte));
        direct_last.push(ms(direct.last_byte));
        local_first.push(ms(through_local.first_byte));
        local_last.push(ms(through_local.last_byte));
        bucket_first.push(ms(through_bucket.first_byte));
        bucket_last.push(ms(through_bucket.last_byte));
    }
    ctx.upstream.set_latency(Duration::ZERO);
    let name = format!("cold {} MiB zip, bucket", ctx.plan.big_zip_mib);
    for (figure, bucket, local, direct) in [
        ("first byte", &bucket_first, &local_first, &direct_first),
        ("last byte", &bucket_last, &local_last, &direct_last),
    ] {
        for (base, what) in [(local, "local store"), (direct, "upstream direct")] {
            report.add(
                &format!("{name}: {figure} (vs {what})"),
                "ms",
                median(bucket),
                Some((median(base), what)),
                None,
            );
        }
    }
    Ok(())
}

/// One replica versus three on the same bucket and one Redis, each set behind nginx as a
/// load balancer, each replica with its own cache. On one core (pinned) or two (unpinned)
/// this measures what the extra hop and the coordination cost, not how far replicas scale.
fn balanced(
    ctx: &Ctx<'_>,
    bucket: &Bucket,
    info: &Path,
    zips: &Path,
    every: &[String],
    report: &mut Report,
) -> Result<(), String> {
    let cpus = ctx.pinning.server.as_deref();
    let redis = RedisServer::start();
    pin_running(redis.pid().ok_or("redis-server is not running")?, cpus)?;
    let coordination = ["--coordination".to_owned(), redis.url()];
    let mut sets = vec![];
    for count in [1, REPLICAS] {
        let mut replicas = vec![];
        for i in 0..count {
            let name = format!("objstore-lb{count}-{i}");
            let mut extra = cache_dir(ctx, &name);
            extra.extend(coordination.iter().cloned());
            let r = replica(ctx, bucket, &name, &extra, cpus)?;
            // Fill each replica's cache directly: through the balancer each would see a third.
            fetch_all(r.addr, every)?;
            r.wait_index_current(INDEX_WAIT)?;
            replicas.push(r);
        }
        let addrs: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
        let work = ctx.work.join(format!("nginx-lb{count}"));
        let balancer = start_nginx_balancer(ctx.nginx, &work, &addrs, cpus)?;
        fetch_all(balancer.addr, every)?;
        sets.push((replicas, balancer));
    }
    let kinds = [
        (format!(".info hits c={INFO_CONNS}"), info, INFO_CONNS),
        (
            format!("{} MiB zips c={ZIP_CONNS}", ctx.plan.big_zip_mib),
            zips,
            ZIP_CONNS,
        ),
    ];
    for (kind, paths, conns) in &kinds {
        let mut results = vec![];
        for (replicas, balancer) in &mut sets {
            let m = measured(ctx, balancer, paths, *conns, ctx.plan.run)?;
            for r in replicas.iter_mut() {
                r.check_alive()?;
            }
            results.push(m);
        }
        let (one, three) = (&results[0], &results[1]);
        eprintln!(
            "[bench]   {kind} via nginx: 1 replica {} | {REPLICAS} replicas {}",
            brief(one),
            brief(three)
        );
        let figures: [Figure; 2] = if *conns == ZIP_CONNS {
            [
                ("throughput", "MiB/s", |m| m.wrk.mib_s),
                ("p99", "ms", |m| m.wrk.p99_ms),
            ]
        } else {
            [
                ("req/s", "req/s", |m| m.wrk.rps),
                ("p99", "ms", |m| m.wrk.p99_ms),
            ]
        };
        for (figure, unit, value) in figures {
            report.add(
                &format!("{kind}, nginx balancer, {REPLICAS} replicas: {figure}"),
                unit,
                value(three),
                Some((value(one), "1 replica")),
                None,
            );
        }
    }
    Ok(())
}
