//! The standard `process_*` metrics every Prometheus exporter shows (CPU seconds, resident
//! memory, open file descriptors, start time), read from `/proc` on Linux. The names are the
//! common ones on purpose: dashboards and alerts written for any exporter work unchanged.
//! Elsewhere, nothing is shown.

use crate::Text;

/// `/proc` counts CPU time in clock ticks of `USER_HZ`, which the kernel fixes at 100 on
/// every architecture it exports to user space (Prometheus' own procfs reader assumes the
/// same); asking `sysconf` would take `unsafe` for a constant.
const USER_HZ: f64 = 100.0;

/// Writes what can be read now; a file that cannot be read leaves its metrics out.
pub fn collect(out: &mut Text) {
    let Some(stat) = read("/proc/self/stat").and_then(|s| Stat::parse(&s)) else {
        return;
    };
    out.counter_f64(
        "process_cpu_seconds_total",
        "User and system CPU time spent, in seconds.",
        (stat.utime + stat.stime) as f64 / USER_HZ,
    );
    if let Some(rss) = read("/proc/self/status").and_then(|s| resident_bytes(&s)) {
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            rss,
        );
    }
    out.gauge(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        stat.vsize,
    );
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.gauge(
            "process_open_fds",
            "Number of open file descriptors.",
            fds.count() as u64,
        );
    }
    if let Some(max) = read("/proc/self/limits").and_then(|s| max_open_files(&s)) {
        out.gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            max,
        );
    }
    if let Some(boot) = read("/proc/stat").and_then(|s| boot_time(&s)) {
        out.gauge(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            boot as f64 + stat.starttime as f64 / USER_HZ,
        );
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The fields of `/proc/self/stat` used here.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    /// Clock ticks after boot.
    starttime: u64,
    vsize: u64,
}

impl Stat {
    /// The command name (field 2) is in parentheses and may hold spaces and `)`: the fields
    /// are counted from after its last `)`, where field 3 begins.
    fn parse(text: &str) -> Option<Stat> {
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse().ok();
        Some(Stat {
            utime: field(14)?,
            stime: field(15)?,
            starttime: field(22)?,
            vsize: field(23)?,
        })
    }
}

fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn boot_time(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat =
            "4242 (god) depot) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 12345 987654 321 x";
        assert_eq!(
            Stat::parse(stat),
            Some(Stat {
                utime: 250,
                stime: 50,
                starttime: 12345,
                vsize: 987654
            })
        );
        assert_eq!(
            resident_bytes("Name:\tgodepot\nVmRSS:\t   2048 kB\n"),
            Some(2 << 20)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let mut text = Text::new();
        collect(&mut text);
        let text = text.finish();
        for name in [
            "process_cpu_seconds_total ",
            "process_resident_memory_bytes ",
            "process_open_fds ",
            "process_start_time_seconds ",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
