//! Child processes that can never outlive the harness.
//!
//! Every server the bench starts is held by a [`Guarded`], which stops it on drop: on normal
//! return, on `?` early returns and while unwinding from a panic. Signals go through the
//! `kill` command because `unsafe` (and so raw libc) is forbidden in this workspace.

use std::fs;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped process gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running child process, stopped (with its descendants) when dropped.
#[derive(Debug)]
pub(crate) struct Guarded {
    name: String,
    child: Option<Child>,
}

impl Guarded {
    pub(crate) fn spawn(name: &str, cmd: &mut Command) -> Result<Guarded, String> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Guarded {
            name: name.to_owned(),
            child: Some(child),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// An error if the process has exited.
    pub(crate) fn check_alive(&mut self) -> Result<(), String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(format!("{} exited unexpectedly ({status})", self.name)),
            Some(Err(e)) => Err(format!("cannot poll {}: {e}", self.name)),
            None => Err(format!("{} was already stopped", self.name)),
        }
    }

    /// SIGTERM, a bounded wait, then SIGKILL for it and anything it started (nginx's
    /// workers survive a SIGKILLed master, so they are collected first).
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id();
        let family = descendants(pid);
        signal("TERM", pid);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            eprintln!(
                "[bench] {} did not stop within {STOP_GRACE:?}; killing it",
                self.name
            );
            let _ = child.kill();
        }
        let _ = child.wait();
        for p in family {
            if fs::metadata(format!("/proc/{p}")).is_ok() {
                signal("KILL", p);
            }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// All live descendants of `pid`, found through the parent field of `/proc/*/stat`.
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(pp) = parent_of(p) {
                parents.push((p, pp));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    // Bounded: each pass adds only pids not yet found, and there are finitely many.
    while i < found.len() {
        let cur = found[i];
        for &(p, pp) in &parents {
            if pp == cur && !found.contains(&p) {
                found.push(p);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after the command name, so that index 0 is field 3 of
/// proc(5) (the state). The name is in parentheses and may contain spaces: parse after the
/// last ')'.
pub(crate) fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}
