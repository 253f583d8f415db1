//! Building godepot from the xtasks: one place that runs cargo and finds the binary it made.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (two levels above this crate's manifest).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask has a workspace root")
        .to_path_buf()
}

/// `cargo build -p godepot <extra>` in `root` with `envs` set; returns the binary cargo
/// reports. Cargo's own diagnostics go to our stderr as they come.
pub(crate) fn build_godepot(
    root: &Path,
    extra: &[&str],
    envs: &[(String, OsString)],
) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "-p",
            "godepot",
            "--message-format=json-render-diagnostics",
        ])
        .args(extra)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p godepot {} failed ({})",
            extra.join(" "),
            out.status
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "godepot")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo reported no godepot executable".to_owned())
}
