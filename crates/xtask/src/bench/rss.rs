//! Resident memory from `/proc/<pid>/status`, sampled in the background during a run.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Often enough to catch short peaks, rarely enough to cost nothing next to the server.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Sum of `VmRSS` over `pids` (nginx: master plus workers), in MiB.
pub(crate) fn rss_mib(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|&p| status_kib(p, "VmRSS"))
        .sum::<u64>() as f64
        / 1024.0
}

/// Samples the summed `VmRSS` of a set of processes until [`Sampler::finish`].
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<f64>>,
}

impl Sampler {
    pub(crate) fn start(pids: Vec<u32>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut peak = rss_mib(&pids);
            // Bounded by the caller: every run it wraps has a fixed duration.
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(rss_mib(&pids));
                thread::sleep(SAMPLE_EVERY);
            }
            peak.max(rss_mib(&pids))
        });
        Sampler {
            stop,
            handle: Some(handle),
        }
    }

    /// The peak in MiB.
    pub(crate) fn finish(mut self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Sampler {
    /// A run that failed half-way must not leave the sampling thread behind.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
