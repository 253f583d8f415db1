//! The air-gap commands at scale (issue 16): `export`, `import` and `verify` of a store of
//! many small versions and the universe's large zips, each timed beside the plain tools doing
//! the same I/O on the same files (`tar | zstd`, `dd`, `sha256sum`).
//!
//! The store is the scale section's size (100,000 versions in the full plan, 2,000 in the
//! quick one), written straight to disk: each version a `.info`, a `.mod` and a small zip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use godepot_testkit::universe::zip_bytes;

use super::report::{Report, Target};
use super::{Ctx, median};

/// The import rate issue 16 asks for, in small artifacts a second.
const IMPORT_FLOOR: f64 = 5_000.0;

/// What the generated store holds.
struct Store {
    root: PathBuf,
    versions: usize,
    artifacts: usize,
    /// The large zips, as files of the store.
    big_zips: Vec<PathBuf>,
    big_bytes: u64,
}

pub(crate) fn run(ctx: &Ctx<'_>, report: &mut Report) -> Result<(), String> {
    let work = ctx.work.join("airgap");
    let started = Instant::now();
    let store = build_store(&work.join("store"), ctx)?;
    eprintln!(
        "[bench]   wrote {} versions ({} artifacts) in {:.1} s",
        store.versions,
        store.artifacts,
        started.elapsed().as_secs_f64()
    );
    let name = format!("{} versions", store.versions);
    let bundle = work.join("all.tar.zst");
    let reference = work.join("reference.tar.zst");

    // Export, beside tar piped into zstd on every core, over the same tree (the plain tools
    // skip godepot's metadata directory, as export does).
    let (mut ours, mut theirs) = (vec![], vec![]);
    for _ in 0..ctx.plan.reps {
        for out in [&bundle, &reference] {
            let _ = fs::remove_file(out);
        }
        theirs.push(timed(Command::new("sh").arg("-c").arg(format!(
            "tar -cf - -C '{}' --exclude=./.godepot . | zstd -q -T0 -o '{}'",
            store.root.display(),
            reference.display()
        )))?);
        ours.push(timed(
            godepot(ctx, "export", &store.root)
                .arg("--out")
                .arg(&bundle),
        )?);
    }
    report.add(
        &format!("export, {name}: time"),
        "s",
        median(&ours),
        Some((median(&theirs), "tar | zstd -T0")),
        Some(Target::RatioAtMost { x: 1.25 }),
    );
    report.add(
        &format!("export, {name}: bundle size"),
        "MiB",
        mib(file_len(&bundle)?),
        Some((mib(file_len(&reference)?), "tar | zstd -T0")),
        None,
    );

    // Import of that bundle into an empty data directory, each run a fresh one.
    let mut times = vec![];
    for rep in 0..ctx.plan.reps {
        let dest = fresh_dir(&work.join(format!("imported-{rep}")))?;
        sync();
        times.push(timed(godepot(ctx, "import", &dest).arg(&bundle))?);
    }
    let time = median(&times);
    report.add(
        &format!("import of the bundle, {name}: time"),
        "s",
        time,
        None,
        (store.versions >= 100_000).then_some(Target::AtMost { x: 60.0 }),
    );
    report.add(
        &format!("import of the bundle, {name}: artifacts/s"),
        "artifacts/s",
        store.artifacts as f64 / time,
        Some((IMPORT_FLOOR, "issue 16's floor")),
        Some(Target::RatioAtLeast { x: 1.0 }),
    );

    // Large zips: an import of a tree holding only them, beside `dd` writing the same bytes
    // and flushing them (what the import must do at least).
    let tree = work.join("large-tree");
    copy_large(&store, &tree)?;
    let (mut ours, mut theirs) = (vec![], vec![]);
    for rep in 0..ctx.plan.reps {
        let dd = fresh_dir(&work.join(format!("dd-{rep}")))?;
        sync();
        let started = Instant::now();
        for (i, zip) in store.big_zips.iter().enumerate() {
            run_ok(
                Command::new("dd")
                    .arg(format!("if={}", zip.display()))
                    .arg(format!("of={}", dd.join(format!("{i}.zip")).display()))
                    .args(["bs=1M", "conv=fsync", "status=none"]),
            )?;
        }
        theirs.push(started.elapsed().as_secs_f64());
        let dest = fresh_dir(&work.join(format!("large-{rep}")))?;
        sync();
        ours.push(timed(godepot(ctx, "import", &dest).arg(&tree))?);
    }
    let big = mib(store.big_bytes);
    report.add(
        &format!(
            "import of {} large zips ({big:.0} MiB): throughput",
            store.big_zips.len()
        ),
        "MiB/s",
        big / median(&ours),
        Some((big / median(&theirs), "dd conv=fsync")),
        Some(Target::RatioAtLeast { x: 0.8 }),
    );

    // Verify of the store, beside sha256sum on both cores over the same files.
    let (mut ours, mut theirs) = (vec![], vec![]);
    for _ in 0..ctx.plan.reps {
        theirs.push(timed(Command::new("sh").arg("-c").arg(format!(
            "cd '{}' && find . -path ./.godepot -prune -o -type f -print0 | xargs -0 -P2 sha256sum >/dev/null",
            store.root.display()
        )))?);
        ours.push(timed(&mut godepot(ctx, "verify", &store.root))?);
    }
    report.add(
        &format!("verify, {name}: time"),
        "s",
        median(&ours),
        Some((median(&theirs), "sha256sum -P2")),
        Some(Target::RatioAtMost { x: 1.25 }),
    );
    Ok(())
}

/// `godepot <command> --data-dir <dir>`, quiet.
fn godepot(ctx: &Ctx<'_>, command: &str, data_dir: &Path) -> Command {
    let mut cmd = Command::new(ctx.godepot);
    cmd.arg(command).arg("--data-dir").arg(data_dir);
    cmd
}

/// Runs `cmd` to its end; its wall time in seconds. A failure is an error, with its output.
fn timed(cmd: &mut Command) -> Result<f64, String> {
    let started = Instant::now();
    run_ok(cmd)?;
    Ok(started.elapsed().as_secs_f64())
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(format!(
        "{:?} {:?} failed ({}): {}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>(),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    ))
}

/// Flushes what earlier steps wrote, so that no run pays for another's writes.
fn sync() {
    let _ = Command::new("sync").status();
}

fn fresh_dir(dir: &Path) -> Result<PathBuf, String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn file_len(path: &Path) -> Result<u64, String> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `scale_modules × scale_versions` small versions (`.info`, `.mod`, a zip of a go.mod and
/// one source file), a list per module, and the universe's large versions.
fn build_store(root: &Path, ctx: &Ctx<'_>) -> Result<Store, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    let write = |p: &Path, data: &[u8]| fs::write(p, data).map_err(|e| io(p, e));
    let plan = ctx.plan;
    let mut artifacts = 0;
    for m in 0..plan.scale_modules {
        let module = format!("bench.example/air/a{m:04}");
        let dir = root.join(&module).join("@v");
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let go_mod = format!("module {module}\n\ngo 1.21\n");
        let mut list = String::new();
        for v in 0..plan.scale_versions {
            let (version, info) = super::fixture::generated_version(v);
            let source = format!(
                "// Package a{m:04} is generated for the air-gap benchmark ({version}).\npackage a{m:04}\n\n// N is this version's number.\nconst N = {v}\n"
            );
            let prefix = format!("{module}@{version}/");
            let zip = zip_bytes(&[
                (&format!("{prefix}go.mod"), go_mod.as_bytes()),
                (&format!("{prefix}a.go"), source.as_bytes()),
            ]);
            write(&dir.join(format!("{version}.info")), info.as_bytes())?;
            write(&dir.join(format!("{version}.mod")), go_mod.as_bytes())?;
            write(&dir.join(format!("{version}.zip")), &zip)?;
            artifacts += 3;
            list.push_str(&version);
            list.push('\n');
        }
        write(&dir.join("list"), list.as_bytes())?;
    }
    let mut big_zips = Vec::new();
    let mut big_bytes = 0;
    for (module, version) in &ctx.fixture.big {
        let dir = root.join(module).join("@v");
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        for ext in ["info", "mod", "zip"] {
            let from = ctx.fixture.universe.artifact(module, version, ext);
            let to = dir.join(format!("{version}.{ext}"));
            fs::copy(&from, &to).map_err(|e| io(&from, e))?;
            artifacts += 1;
            if ext == "zip" {
                big_bytes += file_len(&to)?;
                big_zips.push(to);
            }
        }
        write(&dir.join("list"), format!("{version}\n").as_bytes())?;
    }
    Ok(Store {
        root: root.to_path_buf(),
        versions: plan.scale_total() + ctx.fixture.big.len(),
        artifacts,
        big_zips,
        big_bytes,
    })
}

/// A tree of the large versions only (hard links to the store's files).
fn copy_large(store: &Store, tree: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(tree);
    for zip in &store.big_zips {
        let dir = zip.parent().ok_or("a zip without a directory")?;
        let rel = dir
            .strip_prefix(&store.root)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let to = tree.join(rel);
        fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let from = entry.map_err(|e| e.to_string())?.path();
            let name = from.file_name().ok_or("a file without a name")?;
            fs::hard_link(&from, to.join(name)).map_err(|e| format!("{}: {e}", from.display()))?;
        }
    }
    Ok(())
}
