//! Stamps the binary with what `godepot --version` prints besides the version: the git commit
//! and the build date. Both must be the same in two builds of the same source (reproducible
//! releases), so the date is `SOURCE_DATE_EPOCH` when set, else the commit's date, never the
//! time of the build. git is asked here only, never at run time; a source tree that is not a
//! git checkout (a release tarball) builds too, with `GODEPOT_COMMIT` if the packager sets it
//! and `unknown` otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo::rerun-if-env-changed=GODEPOT_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let repo = Repo::find(&manifest_dir);
    if let Some(repo) = &repo {
        repo.watch_head();
    }
    let commit = std::env::var("GODEPOT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            repo.as_ref()
                .and_then(|r| r.git(&["rev-parse", "--short=12", "HEAD"]))
        })
        .unwrap_or_else(|| "unknown".to_string());
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| {
            repo.as_ref()
                .and_then(|r| r.git(&["log", "-1", "--format=%ct", "HEAD"]))
        })
        .and_then(|s| s.trim().parse::<u64>().ok());
    // Seconds since the epoch, or empty; the binary writes the date (src/version.rs).
    let epoch = epoch.map(|e| e.to_string()).unwrap_or_default();
    println!("cargo::rustc-env=GODEPOT_COMMIT={commit}");
    println!("cargo::rustc-env=GODEPOT_BUILD_EPOCH={epoch}");
}

/// The git checkout this crate is built from, if it is one.
struct Repo {
    root: PathBuf,
}

impl Repo {
    /// Only a checkout whose top level is this workspace: a tarball unpacked inside some
    /// other repository must not take that repository's commit.
    fn find(manifest_dir: &Path) -> Option<Repo> {
        let workspace = manifest_dir.parent()?.parent()?.canonicalize().ok()?;
        let repo = Repo {
            root: workspace.clone(),
        };
        let top = PathBuf::from(repo.git(&["rev-parse", "--show-toplevel"])?);
        (top.canonicalize().ok()? == workspace).then_some(repo)
    }

    /// Runs git in the checkout; `None` when git is missing or fails.
    fn git(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    }

    /// Builds again when HEAD moves: HEAD itself, the branch it names, and the packed refs
    /// (paths from git, since a worktree keeps them apart). Only files that exist: cargo
    /// treats a missing one as always changed.
    fn watch_head(&self) {
        let mut names = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(branch) = self.git(&["symbolic-ref", "-q", "HEAD"]) {
            names.push(branch);
        }
        for name in names {
            if let Some(path) =
                self.git(&["rev-parse", "--path-format=absolute", "--git-path", &name])
                && Path::new(&path).exists()
            {
                println!("cargo::rerun-if-changed={path}");
            }
        }
    }
}
