//! Keeping resident memory near the working set, for a server that idles most of the day.
//!
//! glibc's allocator keeps what a burst of requests freed (hundreds of download buffers) for
//! reuse, spread over one arena per thread that ever allocated (up to 8 per core). A server
//! that once served a burst would then sit idle at twice its size for ever. Two calls fix it:
//! fewer arenas from the start, and handing free memory back once the server has gone quiet.
//! Other allocators (musl's) return memory on their own, so there this is all a no-op.
//!
//! This is the workspace's only `unsafe`: two calls into the C library that take plain
//! integers and touch no Rust memory.
#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use godepot_index::Index;
use godepot_server::Activity;

/// How long the server must go without a new request before free memory is handed back.
const QUIET: Duration = Duration::from_secs(1);

/// Arenas for the whole process. Most allocations are small and served by each thread's
/// cache without touching an arena; the large ones (file buffers) are few per request, so two
/// arenas cost no measurable contention on these machines and keep fragmentation in two heaps
/// instead of sixteen.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Caps the allocator's arenas. Must run before the process starts its threads.
pub(crate) fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes two integers and only changes the allocator's tuning; it is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Runs for ever: after activity, once nothing is in flight and a quiet second passes with no
/// new request, returns the allocator's free memory to the system, and the pages the module
/// index's queries cached (a search of a million versions fills SQLite's cache), once per
/// burst, so a busy server never pays it.
pub(crate) async fn release_when_idle(activity: Arc<Activity>, index: Option<Arc<Index>>) {
    let mut seen = activity.started();
    let mut released = true;
    let mut tick = tokio::time::interval(QUIET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = activity.started();
        if now != seen || activity.in_flight() > 0 {
            seen = now;
            released = false;
        } else if !released {
            released = true;
            // Walks every arena: milliseconds, so not on an async worker.
            let index = index.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(index) = index {
                    index.release_caches();
                }
                release_free_memory();
            })
            .await;
            tracing::debug!("quiet for {QUIET:?}: free memory handed back to the system");
        }
    }
}

/// Hands the allocator's free memory back to the system now: after batch work in a server
/// (an index rebuild walks every file and holds them all for a moment; a million versions
/// left 436 MiB resident, free but kept).
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes an integer and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
