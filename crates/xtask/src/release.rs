//! `xtask release`: the static Linux binaries of a release, their SHA-256 sums and the
//! CHANGELOG section, in `target/dist/`. Reproducible: the build date comes from
//! `SOURCE_DATE_EPOCH` (else the commit's date), paths of this machine are remapped out of the
//! binary, symbols stripped; `--check-reproducible` builds everything a second time from
//! scratch and compares the bytes.
//!
//! Static binaries: musl targets with `+crt-static`. ring and zstd compile C: for this
//! machine's architecture with a musl compiler if there is one, else the system's `cc`; a
//! target of another architecture needs a C cross compiler (`aarch64-linux-gnu-gcc`, Debian's
//! `gcc-aarch64-linux-gnu`), and without one it is reported as skipped, not attempted.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use sha2::{Digest, Sha256};

use crate::cargo::{build_godepot, workspace_root};

/// What a release ships, unless `--target` says otherwise.
const DEFAULT_TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

/// The cargo profile of release binaries (the root Cargo.toml: `release`, stripped).
const PROFILE: &str = "dist";

#[derive(clap::Args)]
pub(crate) struct ReleaseArgs {
    /// Targets to build (repeatable) [default: x86_64- and aarch64-unknown-linux-musl].
    #[arg(long = "target", value_name = "TRIPLE")]
    targets: Vec<String>,
    /// Build everything twice, from scratch, and fail unless both give the same bytes.
    #[arg(long)]
    check_reproducible: bool,
    /// Where binaries, SHA256SUMS and RELEASE-NOTES.md go [default: <workspace>/target/dist].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: ReleaseArgs) -> ExitCode {
    match release(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(false) when a target failed or was skipped, or the second build differed.
fn release(args: ReleaseArgs) -> Result<bool, String> {
    let root = workspace_root();
    let out = args.out.unwrap_or_else(|| root.join("target").join("dist"));
    let version = env!("CARGO_PKG_VERSION");
    let targets: Vec<String> = match args.targets.is_empty() {
        true => DEFAULT_TARGETS.map(String::from).to_vec(),
        false => args.targets,
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let epoch = source_date_epoch(&root)?;
    let mut all_good = true;
    let mut sums = Vec::new();
    for target in &targets {
        let name = artifact_name(version, target);
        let built = match build_target(&root, target, &epoch) {
            Ok(binary) => binary,
            Err(e) => {
                eprintln!("{target}: NOT built: {e}");
                all_good = false;
                continue;
            }
        };
        let dest = out.join(&name);
        std::fs::copy(&built, &dest)
            .map_err(|e| format!("cannot copy to {}: {e}", dest.display()))?;
        let digest = sha256_file(&dest)?;
        println!("{target}: {} ({digest})", dest.display());
        sums.push((name, digest));
    }
    if args.check_reproducible {
        // Same paths, nothing reused: the second build starts from an empty target directory.
        let _ = std::fs::remove_dir_all(build_dir(&root));
        for (name, first) in &sums {
            let target = target_of(version, name);
            let again = sha256_file(&build_target(&root, target, &epoch)?)?;
            match &again == first {
                true => println!("{target}: reproducible (two builds from scratch, same SHA-256)"),
                false => {
                    eprintln!("{target}: NOT reproducible: {first} then {again}");
                    all_good = false;
                }
            }
        }
    }
    let sums_path = out.join("SHA256SUMS");
    std::fs::write(&sums_path, sums_file(&sums))
        .map_err(|e| format!("cannot write {}: {e}", sums_path.display()))?;
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))
        .map_err(|e| format!("cannot read CHANGELOG.md: {e}"))?;
    let notes = changelog_section(&changelog, version).ok_or_else(|| {
        format!("CHANGELOG.md has neither a `## {version}` nor a `## Unreleased` section")
    })?;
    let notes_path = out.join("RELEASE-NOTES.md");
    std::fs::write(&notes_path, notes)
        .map_err(|e| format!("cannot write {}: {e}", notes_path.display()))?;
    println!(
        "{} and {} written",
        sums_path.display(),
        notes_path.display()
    );
    Ok(all_good)
}

/// The one target directory of release builds (fixed, so both builds of a reproducibility
/// check see the same paths).
fn build_dir(root: &Path) -> PathBuf {
    root.join("target").join("dist-build")
}

/// One static binary for `target`, built with the flags that make it reproducible.
fn build_target(root: &Path, target: &str, epoch: &str) -> Result<PathBuf, String> {
    let mut envs: Vec<(String, OsString)> = vec![
        ("SOURCE_DATE_EPOCH".into(), epoch.into()),
        ("CARGO_TARGET_DIR".into(), build_dir(root).into()),
        ("RUSTFLAGS".into(), rustflags(root, &cargo_home()).into()),
    ];
    let (linker_var, cc_var) = toolchain_vars(target);
    let cc = c_compiler(target).ok_or_else(|| {
        format!("skipped: no C compiler for {target} on PATH (ring and zstd compile C; e.g. Debian's gcc-aarch64-linux-gnu)")
    })?;
    envs.push((cc_var, cc.clone().into()));
    if !is_host(target) {
        envs.push((linker_var, cc.into()));
    }
    build_godepot(
        root,
        &["--locked", "--profile", PROFILE, "--target", target],
        &envs,
    )
}

/// `RUSTFLAGS` of a release build: a static binary, and no path of this machine inside it
/// (panic locations name `/build/godepot/...` and `/cargo/...`). Only applied to the target,
/// not to build scripts, since `--target` is always given.
fn rustflags(root: &Path, cargo_home: &Path) -> String {
    format!(
        "-C target-feature=+crt-static --remap-path-prefix={}=/build/godepot --remap-path-prefix={}=/cargo",
        root.display(),
        cargo_home.display()
    )
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent-cargo-home"))
}

/// Whether `target` is this machine's architecture (its C compiler builds for it).
fn is_host(target: &str) -> bool {
    target.split('-').next() == Some(std::env::consts::ARCH)
}

/// cargo's linker variable and cc-rs's compiler variable for `target`.
fn toolchain_vars(target: &str) -> (String, String) {
    let upper = target.to_uppercase().replace('-', "_");
    (
        format!("CARGO_TARGET_{upper}_LINKER"),
        format!("CC_{}", target.replace('-', "_")),
    )
}

/// The first C compiler for `target` found on PATH: a musl one, else, for this machine's
/// architecture, the system's `cc` (ring's and zstd's C needs little of the C library's
/// headers, and musl's own is linked), else a cross compiler for the architecture.
fn c_compiler(target: &str) -> Option<String> {
    let arch = target.split('-').next()?;
    let candidates = match is_host(target) {
        true => vec![
            format!("{arch}-linux-musl-gcc"),
            "musl-gcc".into(),
            "cc".into(),
        ],
        false => vec![
            format!("{arch}-linux-musl-gcc"),
            format!("{arch}-linux-gnu-gcc"),
        ],
    };
    candidates.into_iter().find(|cc| {
        Command::new(cc)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// `SOURCE_DATE_EPOCH` if set, else the commit's date; a release never takes "now".
fn source_date_epoch(root: &Path) -> Result<String, String> {
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        return Ok(epoch);
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct", "HEAD"])
        .output()
        .map_err(|e| format!("cannot run git for the commit date: {e}"))?;
    let epoch = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match out.status.success() && !epoch.is_empty() {
        true => Ok(epoch),
        false => Err("not a git checkout: set SOURCE_DATE_EPOCH to the release's date".into()),
    }
}

/// `godepot-0.1.0-x86_64-unknown-linux-musl`.
fn artifact_name(version: &str, target: &str) -> String {
    format!("godepot-{version}-{target}")
}

/// The target an [`artifact_name`] was made for.
fn target_of<'a>(version: &str, name: &'a str) -> &'a str {
    name.strip_prefix(&format!("godepot-{version}-"))
        .unwrap_or(name)
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `SHA256SUMS` as `sha256sum -c` reads it: `<hex>  <name>` per line, sorted by name.
fn sums_file(sums: &[(String, String)]) -> String {
    let mut sorted: Vec<_> = sums.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect()
}

/// The CHANGELOG section of `version` (`## 0.1.0`, `## 0.1.0 (2026-12-01)`, `## [0.1.0]`),
/// else the `## Unreleased` one, heading included, up to the next `## ` heading.
fn changelog_section(changelog: &str, version: &str) -> Option<String> {
    let headings: Vec<(usize, &str)> = changelog
        .match_indices("\n## ")
        .map(|(at, _)| at + 1)
        .chain(changelog.starts_with("## ").then_some(0))
        .map(|at| (at, changelog[at + 3..].lines().next().unwrap_or_default()))
        .collect();
    let names = |title: &str, wanted: &str| {
        let first = title.split_whitespace().next().unwrap_or_default();
        first.trim_matches(['[', ']']).eq_ignore_ascii_case(wanted)
    };
    let start = headings
        .iter()
        .find(|(_, t)| names(t, version))
        .or_else(|| headings.iter().find(|(_, t)| names(t, "unreleased")))?
        .0;
    let end = headings
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| *at > start)
        .min()
        .unwrap_or(changelog.len());
    Some(changelog[start..end].trim_end().to_string() + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGELOG: &str = "# Changelog\n\n## Unreleased\n\n- next\n\n## 0.1.0 (2026-12-01)\n\n### Added\n- first\n\n## 0.0.9\n- old\n";

    #[test]
    fn the_version_section_else_unreleased() {
        assert_eq!(
            changelog_section(CHANGELOG, "0.1.0").unwrap(),
            "## 0.1.0 (2026-12-01)\n\n### Added\n- first\n"
        );
        assert_eq!(
            changelog_section(CHANGELOG, "0.0.9").unwrap(),
            "## 0.0.9\n- old\n"
        );
        assert_eq!(
            changelog_section(CHANGELOG, "0.2.0").unwrap(),
            "## Unreleased\n\n- next\n"
        );
        assert_eq!(changelog_section("# Changelog\n", "0.2.0"), None);
        // A `###` heading is not a section, and `0.1.0` is not `0.1.0-rc1`.
        assert_eq!(changelog_section("## 0.1.0-rc1\n- rc\n", "0.1.0"), None);
    }

    #[test]
    fn sums_are_what_sha256sum_checks() {
        let sums = [
            (
                "godepot-0.1.0-x86_64-unknown-linux-musl".to_string(),
                "bb".to_string(),
            ),
            (
                "godepot-0.1.0-aarch64-unknown-linux-musl".to_string(),
                "aa".to_string(),
            ),
        ];
        assert_eq!(
            sums_file(&sums),
            "aa  godepot-0.1.0-aarch64-unknown-linux-musl\nbb  godepot-0.1.0-x86_64-unknown-linux-musl\n"
        );
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_targets_and_variables() {
        let name = artifact_name("0.1.0", "aarch64-unknown-linux-musl");
        assert_eq!(name, "godepot-0.1.0-aarch64-unknown-linux-musl");
        assert_eq!(target_of("0.1.0", &name), "aarch64-unknown-linux-musl");
        assert_eq!(
            toolchain_vars("aarch64-unknown-linux-musl"),
            (
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER".to_string(),
                "CC_aarch64_unknown_linux_musl".to_string()
            )
        );
        let flags = rustflags(Path::new("/src/godepot"), Path::new("/home/u/.cargo"));
        assert!(flags.contains("+crt-static"), "{flags}");
        assert!(
            flags.contains("--remap-path-prefix=/src/godepot=/build/godepot"),
            "{flags}"
        );
        assert!(
            flags.contains("--remap-path-prefix=/home/u/.cargo=/cargo"),
            "{flags}"
        );
    }
}
