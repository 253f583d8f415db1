//! A real project against a real upstream (opt-in, `--project DIR`): `godepot prefetch` of
//! the project into an empty store, and `go mod download all` of it through a godepot with an
//! empty store, each beside `go mod download all` straight from the same upstream into an empty
//! module cache, checksum database included on both sides.
//!
//! The upstream and the checksum database are the go command's own (`go env GOPROXY`, its
//! first proxy URL, and `go env GOSUMDB`): the harness names none. Only the project's `go.mod`
//! and `go.sum` are used (`all`, for `go mod download`, is the build list, which the go.mod
//! files alone decide). The network's noise is large: every way runs `reps` times, rotated, and
//! the medians are reported.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use godepot_testkit::GoEnv;

use super::report::{Report, Target};
use super::servers::{GodepotSpec, Store, start_godepot};
use super::{Ctx, median};

/// What the section needs from the command line and the go command.
pub(crate) struct RealUpstream {
    /// The directory holding the project's go.mod.
    project: PathBuf,
    upstream: String,
    sumdb: String,
}

impl RealUpstream {
    /// Reads the go command's upstream and checksum database; checks the project.
    pub(crate) fn from_go_env(project: &Path) -> Result<RealUpstream, String> {
        let project = project.to_path_buf();
        for f in ["go.mod", "go.sum"] {
            if !project.join(f).is_file() {
                return Err(format!("--project {}: no {f} there", project.display()));
            }
        }
        let goproxy = go_env("GOPROXY")?;
        let upstream = goproxy
            .split([',', '|'])
            .find(|p| p.starts_with("https://") || p.starts_with("http://"))
            .ok_or_else(|| {
                format!(
                    "GOPROXY ({goproxy}) names no proxy URL: the real-upstream section needs one"
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        let sumdb = go_env("GOSUMDB")?;
        Ok(RealUpstream {
            project,
            upstream,
            sumdb,
        })
    }
}

pub(crate) fn run(ctx: &Ctx<'_>, real: &RealUpstream, report: &mut Report) -> Result<(), String> {
    let name = real.project.file_name().map_or_else(
        || "project".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let parent = std::env::temp_dir();
    // One untimed run, so that the first timed one does not also warm the upstream's caches
    // (and the page cache) for the others.
    let (_, zips) = direct(real, &parent)?;
    eprintln!("[bench]   {name}: {zips} zips in the build list");
    let (mut times, mut stored) = ([vec![], vec![], vec![]], vec![]);
    for rep in 0..ctx.plan.reps {
        for i in 0..3 {
            let way = (i + rep) % 3;
            let secs = match way {
                0 => direct(real, &parent)?.0,
                1 => {
                    let (secs, n) = prefetch(ctx, real, &format!("real-prefetch-{rep}"))?;
                    stored.push(n as f64);
                    secs
                }
                _ => through(ctx, real, &parent, &format!("real-cold-{rep}"))?,
            };
            eprintln!("[bench]   {name}: way {way}, rep {rep}: {secs:.1} s");
            times[way].push(secs);
        }
    }
    let base = Some((median(&times[0]), "go mod download all, direct"));
    report.add(
        &format!("{name}: godepot prefetch ({zips} zips), empty store"),
        "s",
        median(&times[1]),
        base,
        Some(Target::RatioAtMost { x: 1.0 }),
    );
    report.add(
        &format!("{name}: zips stored by prefetch"),
        "count",
        median(&stored),
        Some((zips as f64, "go's build list")),
        None,
    );
    report.add(
        &format!("{name}: go mod download all through an empty godepot"),
        "s",
        median(&times[2]),
        base,
        Some(Target::RatioAtMost { x: 1.1 }),
    );
    Ok(())
}

/// `go mod download all` straight from the upstream: seconds and zips fetched.
fn direct(real: &RealUpstream, parent: &Path) -> Result<(f64, usize), String> {
    download(real, parent, &real.upstream)
}

/// `go mod download all` through a godepot serving an empty store.
fn through(ctx: &Ctx<'_>, real: &RealUpstream, parent: &Path, name: &str) -> Result<f64, String> {
    let data = fresh_dir(ctx, name)?;
    let (server, _) = start_godepot(&GodepotSpec {
        bin: ctx.godepot,
        store: Store::Dir(&data),
        upstream: Some(&real.upstream),
        cpus: None,
        log: &ctx.work.join(format!("{name}.log")),
        extra: &[],
        env: &[("GOSUMDB".to_owned(), real.sumdb.clone())],
    })?;
    let (secs, _) = download(real, parent, &format!("http://{}", server.addr))?;
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    Ok(secs)
}

/// `godepot prefetch` of the project's go.mod into an empty store: seconds and zips stored.
fn prefetch(ctx: &Ctx<'_>, real: &RealUpstream, name: &str) -> Result<(f64, usize), String> {
    let data = fresh_dir(ctx, name)?;
    let mut cmd = Command::new(ctx.godepot);
    cmd.arg("prefetch")
        .arg("--data-dir")
        .arg(&data)
        .args(["--upstream", &real.upstream])
        .arg(real.project.join("go.mod"))
        .stdin(Stdio::null())
        .env("GOSUMDB", &real.sumdb)
        .env("GOPROXY", "off")
        .env("GOENV", "off")
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GODEPOT_") {
            cmd.env_remove(&k);
        }
    }
    sync();
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("{}: {e}", ctx.godepot.display()))?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "godepot prefetch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let zips = zips_under(&data);
    let _ = std::fs::remove_dir_all(&data);
    Ok((secs, zips))
}

/// `go mod download all` of a fresh copy of the project's go.mod and go.sum with GOPROXY
/// `goproxy` and an empty module cache under `parent`: seconds and zips fetched.
fn download(real: &RealUpstream, parent: &Path, goproxy: &str) -> Result<(f64, usize), String> {
    let mut env = GoEnv::new_in(parent, goproxy);
    env.set_env("GOSUMDB", &real.sumdb);
    // The module cache is removed with the environment.
    env.set_env("GOFLAGS", "-mod=mod -modcacherw");
    let project = env.home().join("project");
    std::fs::create_dir_all(&project).map_err(|e| format!("{}: {e}", project.display()))?;
    for f in ["go.mod", "go.sum"] {
        std::fs::copy(real.project.join(f), project.join(f))
            .map_err(|e| format!("copy {f}: {e}"))?;
    }
    sync();
    let start = Instant::now();
    let out = env.run(&project, ["mod", "download", "all"]);
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "go mod download all (GOPROXY={goproxy}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let zips = zips_under(&env.download_cache());
    if zips == 0 {
        return Err(format!(
            "go mod download all (GOPROXY={goproxy}) fetched no zips"
        ));
    }
    Ok((secs, zips))
}

fn zips_under(dir: &Path) -> usize {
    godepot_testkit::fsutil::tree(dir)
        .keys()
        .filter(|p| p.ends_with(".zip"))
        .count()
}

fn fresh_dir(ctx: &Ctx<'_>, name: &str) -> Result<PathBuf, String> {
    let dir = ctx.work.join(format!("{name}-store"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Writes back what earlier runs left dirty, so that no run pays for another's writeback.
fn sync() {
    let _ = Command::new("sync").status();
}

fn go_env(var: &str) -> Result<String, String> {
    let out = Command::new("go")
        .args(["env", var])
        .env("GOTOOLCHAIN", "local")
        .output()
        .map_err(|e| format!("go env {var}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "go env {var}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
