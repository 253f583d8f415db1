//! The last upstream failures (502/504 answers), kept in memory for the web UI: what failed
//! and when, as the client was told (messages never carry credentials: see the depot).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

/// How many failures are kept.
const KEPT: usize = 50;

/// One failed request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failure {
    /// Seconds since the epoch.
    pub(crate) at: i64,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) message: String,
}

#[derive(Debug, Default)]
pub(crate) struct Failures {
    recent: Mutex<VecDeque<Failure>>,
}

impl Failures {
    pub(crate) fn record(&self, path: &str, status: u16, message: &str) {
        let at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == KEPT {
            recent.pop_back();
        }
        recent.push_front(Failure {
            at,
            path: path.to_string(),
            status,
            message: message.lines().next().unwrap_or("").to_string(),
        });
    }

    /// Newest first.
    pub(crate) fn recent(&self) -> Vec<Failure> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_first_and_a_bounded_number() {
        let failures = Failures::default();
        for i in 0..(KEPT + 5) {
            failures.record(&format!("/m{i}"), 502, "upstream: boom\nsecond line");
        }
        let recent = failures.recent();
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0].path, format!("/m{}", KEPT + 4));
        assert_eq!(recent[0].message, "upstream: boom");
    }
}
