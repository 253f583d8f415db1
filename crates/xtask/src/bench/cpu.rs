//! CPU time from `/proc/<pid>/stat`: what a server spent on a run, user and system.

use std::process::Command;
use std::sync::OnceLock;

use super::procs::stat_fields;

/// Clock ticks per second of the `stat` times (`getconf CLK_TCK`; 100 on every Linux the
/// project runs on, used when `getconf` cannot say).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// `utime + stime` summed over `pids`, in seconds. A process's times include all its
/// threads; nginx's workers are separate processes (not yet waited for, so not in the
/// master's `cutime`), which is why the caller passes the master and every worker.
pub(crate) fn cpu_seconds(pids: &[u32]) -> f64 {
    let ticks: u64 = pids
        .iter()
        .filter_map(|&p| {
            let f = stat_fields(p)?;
            // utime and stime are fields 14 and 15 of proc(5).
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    ticks as f64 / ticks_per_second()
}
