//! How busy the server is: requests started, and requests whose response is still going out
//! (a large zip can stream for many seconds after its handler returned).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Activity {
    started: AtomicU64,
    in_flight: AtomicU64,
}

impl Activity {
    /// Requests started since the process began.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Requests whose response has not ended yet.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

/// One request in flight, until dropped with the end of its response.
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_until_dropped() {
        let activity = Arc::new(Activity::default());
        let a = activity.begin();
        let b = activity.begin();
        assert_eq!((activity.started(), activity.in_flight()), (2, 2));
        drop(a);
        assert_eq!((activity.started(), activity.in_flight()), (2, 1));
        drop(b);
        assert_eq!((activity.started(), activity.in_flight()), (2, 0));
    }
}
