//! Slowing down guessing: after `max_failures` failed logins from one client within
//! `window`, that client is answered "slow down" (429) until the window ends.
//!
//! Memory is bounded: at most `capacity` clients are tracked. When the table is
//! full of clients still inside their window, every further client shares one
//! overflow window, so an attacker spraying many addresses is limited as a group
//! instead of pushing its own entries out. IPv6 clients are counted per /64, the
//! block a single host usually controls.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The answer to a limited client: how long until it may try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowDown {
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug)]
struct State {
    clients: HashMap<IpAddr, Window>,
    overflow: Option<Window>,
    /// When the oldest tracked window ends: sweeping a full table before then would
    /// free nothing, so a spray costs one scan per window, not one per request.
    next_sweep: Option<Instant>,
}

/// Shared by all request handlers (`&self` methods, one short lock).
#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    state: Mutex<State>,
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration, capacity: usize) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            capacity: capacity.max(1),
            state: Mutex::new(State {
                clients: HashMap::new(),
                overflow: None,
                next_sweep: None,
            }),
        }
    }

    /// Before checking credentials: is this client still allowed to try?
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), SlowDown> {
        let key = key(client);
        let state = self.lock();
        let window = match state.clients.get(&key) {
            Some(w) => Some(*w),
            None if state.clients.len() >= self.capacity => state.overflow,
            None => None,
        };
        match window.filter(|w| self.live(w, now)) {
            Some(w) if w.failures >= self.max_failures => Err(SlowDown {
                retry_after: (w.start + self.window).saturating_duration_since(now),
            }),
            _ => Ok(()),
        }
    }

    /// After a failed login.
    pub fn failure(&self, client: IpAddr, now: Instant) {
        let key = key(client);
        let mut state = self.lock();
        let full = state.clients.len() >= self.capacity;
        if full && !state.clients.contains_key(&key) && state.next_sweep.is_none_or(|t| now >= t) {
            state.clients.retain(|_, w| self.live(w, now));
            state.next_sweep = state.clients.values().map(|w| w.start + self.window).min();
        }
        let slot = if state.clients.contains_key(&key) || state.clients.len() < self.capacity {
            state.clients.entry(key).or_insert(Window {
                start: now,
                failures: 0,
            })
        } else {
            state.overflow.get_or_insert(Window {
                start: now,
                failures: 0,
            })
        };
        if !self.live(slot, now) {
            *slot = Window {
                start: now,
                failures: 0,
            };
        }
        slot.failures = slot.failures.saturating_add(1);
    }

    /// After a successful login: the client's count starts again.
    pub fn success(&self, client: IpAddr) {
        self.lock().clients.remove(&key(client));
    }

    /// How many clients are tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.lock().clients.len()
    }

    fn live(&self, w: &Window, now: Instant) -> bool {
        now.saturating_duration_since(w.start) < self.window
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a cache of counters: after a panic elsewhere it is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// IPv4 (also when mapped into IPv6) as is; IPv6 by its /64.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn slows_down_after_max_failures_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, WINDOW, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limiter.check(a, t0), Ok(()));
            limiter.failure(a, t0);
        }
        let later = t0 + Duration::from_secs(20);
        assert_eq!(
            limiter.check(a, later),
            Err(SlowDown {
                retry_after: Duration::from_secs(40)
            })
        );
        // Another client is not affected.
        assert_eq!(limiter.check(ip("192.0.2.2"), later), Ok(()));
        // The window ends.
        assert_eq!(limiter.check(a, t0 + WINDOW), Ok(()));
        limiter.failure(a, t0 + WINDOW);
        assert_eq!(limiter.check(a, t0 + WINDOW), Ok(()));
    }

    #[test]
    fn success_resets_the_count() {
        let limiter = FailureLimiter::new(2, WINDOW, 100);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        limiter.failure(a, t0);
        limiter.success(a);
        limiter.failure(a, t0);
        assert_eq!(limiter.check(a, t0), Ok(()));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = FailureLimiter::new(2, WINDOW, 100);
        let t0 = Instant::now();
        limiter.failure(ip("2001:db8:1:2::1"), t0);
        limiter.failure(ip("2001:db8:1:2::ffff"), t0);
        assert!(limiter.check(ip("2001:db8:1:2:3::"), t0).is_err());
        assert!(limiter.check(ip("2001:db8:1:3::1"), t0).is_ok());
        limiter.failure(ip("::ffff:192.0.2.9"), t0);
        limiter.failure(ip("192.0.2.9"), t0);
        assert!(limiter.check(ip("192.0.2.9"), t0).is_err());
    }

    #[test]
    fn memory_is_bounded_and_a_spray_is_limited_as_a_group() {
        let limiter = FailureLimiter::new(3, WINDOW, 10);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            limiter.failure(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert_eq!(limiter.tracked(), 10);
        // A new address while the table is full of live windows shares the overflow.
        assert!(limiter.check(ip("198.51.100.7"), t0).is_err());
        // Once the windows are over, entries are reclaimed and new clients tracked.
        let later = t0 + WINDOW;
        assert!(limiter.check(ip("198.51.100.7"), later).is_ok());
        limiter.failure(ip("198.51.100.7"), later);
        assert_eq!(limiter.tracked(), 1);
        assert!(limiter.check(ip("198.51.100.8"), later).is_ok());
    }
}
