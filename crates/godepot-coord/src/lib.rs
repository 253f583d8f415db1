//! Coordination across replicas: named leases with fencing tokens.
//!
//! Several `godepot serve` replicas on one store fetch each artifact once between them: the
//! replica that takes the artifact's lease fetches it, the others wait for it to appear in the
//! store. A lease expires unless renewed, so a replica that dies mid-fetch (kill -9, a lost
//! machine) hands the work on after at most one lease time; a replica whose lease has gone must
//! not publish, which it checks with its token just before writing ([`Lease::fence`]).
//!
//! - [`Coordinator`]: the seam the depot is written against (take, renew, check, release).
//! - [`InProcess`]: leases in this process's memory, the default: one replica needs no more,
//!   since its own single-flight already joins every request for one artifact.
//! - [`Redis`]: leases in a Redis server (`--coordination redis://HOST:PORT`): `SET NX PX`
//!   to take, Lua compare-and-renew and compare-and-delete with the token.
//! - [`Lease`]: a lease held, renewed by its own task until released or dropped.
//!
//! Nothing here knows what is being fetched: names are the caller's.

mod local;
mod redis_leases;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

pub use local::InProcess;
pub use redis_leases::Redis;

/// A lease holder's proof: random, different for every take of a lease. Whoever shows the
/// token the lease was taken with is its holder; any other token is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// A fresh random token (128 bits, hex).
    pub fn generate() -> Token {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            // Only uniqueness matters; time and a counter give it where no entropy is.
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos() as u64;
            bytes[..8].copy_from_slice(&t.to_le_bytes());
            bytes[8..].copy_from_slice(&(n ^ u64::from(std::process::id())).to_le_bytes());
        }
        Token(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The coordinator could not be asked (Redis down, a timeout). The message never holds the
/// coordinator's credentials: it names the coordinator by [`Coordinator::describe`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("coordination through {coordinator} failed: {reason}")]
pub struct CoordError {
    pub coordinator: String,
    pub reason: String,
}

/// Named leases, shared by every replica that uses the same coordinator.
pub trait Coordinator: Send + Sync + 'static {
    /// Takes the lease `name` for `ttl` unless someone holds it: `Some(token)` when taken.
    fn try_acquire<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Token>, CoordError>>;

    /// Extends the lease to `ttl` from now, if `token` still holds it; `false` when it does not
    /// (it expired, and maybe another took it).
    fn renew<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, CoordError>>;

    /// Whether `token` holds the lease right now (the fencing check before a write).
    fn holds<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<bool, CoordError>>;

    /// Gives the lease up, if `token` still holds it (compare-and-delete: a lease that
    /// expired and was taken by another is left to that other).
    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<(), CoordError>>;

    /// Where the leases live, for logs and errors; never a credential.
    fn describe(&self) -> String;

    /// Whether other processes share these leases (false for [`InProcess`]).
    fn is_shared(&self) -> bool;
}

/// What [`Lease::fence`] found just before a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fence {
    /// The lease is still ours: write.
    Held,
    /// The lease expired (and may be another's now): do not write.
    Lost,
    /// The coordinator could not be asked: the caller decides (an immutable artifact may be
    /// written, since the store's write-once put keeps whichever copy came first).
    Unknown(CoordError),
}

/// A lease held by this process, renewed every third of its time by a task of its own until
/// it is released or dropped. A renewal that finds the lease gone, or no renewal for a whole
/// lease time (the coordinator unreachable), marks it lost for good.
pub struct Lease {
    coordinator: Arc<dyn Coordinator>,
    name: String,
    token: Token,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    released: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("name", &self.name)
            .field("lost", &self.lost.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Takes the lease `name` for `ttl` and starts renewing it; `None` when another holds it.
    /// Must be called within a tokio runtime.
    pub async fn try_take(
        coordinator: &Arc<dyn Coordinator>,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, CoordError> {
        let Some(token) = coordinator.try_acquire(name, ttl).await? else {
            return Ok(None);
        };
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            Arc::clone(coordinator),
            name.to_string(),
            token.clone(),
            ttl,
            Arc::clone(&lost),
        ));
        Ok(Some(Lease {
            coordinator: Arc::clone(coordinator),
            name: name.to_string(),
            token,
            lost,
            renewer,
            released: false,
        }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// Whether a renewal already found the lease gone.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The fencing check, just before a write: is the lease still ours?
    pub async fn fence(&self) -> Fence {
        if self.is_lost() {
            return Fence::Lost;
        }
        match self.coordinator.holds(&self.name, &self.token).await {
            Ok(true) => Fence::Held,
            Ok(false) => {
                self.lost.store(true, Ordering::SeqCst);
                Fence::Lost
            }
            Err(e) => Fence::Unknown(e),
        }
    }

    /// Stops renewing and gives the lease up (if it is still ours).
    pub async fn release(mut self) {
        self.released = true;
        self.renewer.abort();
        if let Err(e) = self.coordinator.release(&self.name, &self.token).await {
            tracing::debug!(lease = %self.name, error = %e, "could not release a lease; it expires by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
        if self.released {
            return;
        }
        // Dropped without release (a task cancelled, a panic): give it up in the background,
        // so that waiters need not sit out the lease time.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let (coordinator, name, token) = (
                Arc::clone(&self.coordinator),
                std::mem::take(&mut self.name),
                self.token.clone(),
            );
            handle.spawn(async move {
                let _ = coordinator.release(&name, &token).await;
            });
        }
    }
}

async fn renew(
    coordinator: Arc<dyn Coordinator>,
    name: String,
    token: Token,
    ttl: Duration,
    lost: Arc<AtomicBool>,
) {
    let every = (ttl / 3).max(Duration::from_millis(10));
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match coordinator.renew(&name, &token, ttl).await {
            Ok(true) => last_ok = Instant::now(),
            Ok(false) => {
                tracing::warn!(lease = %name, "lease expired before it was renewed; another replica may take over");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::warn!(lease = %name, error = %e, "could not renew a lease");
                if last_ok.elapsed() >= ttl {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lease_is_exclusive_renewed_and_released() {
        let coordinator: Arc<dyn Coordinator> = Arc::new(InProcess::default());
        let ttl = Duration::from_millis(150);
        let lease = Lease::try_take(&coordinator, "a", ttl)
            .await
            .unwrap()
            .unwrap();
        assert!(
            Lease::try_take(&coordinator, "a", ttl)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            Lease::try_take(&coordinator, "b", ttl)
                .await
                .unwrap()
                .is_some()
        );
        // Renewed past its first lease time.
        tokio::time::sleep(ttl * 3).await;
        assert_eq!(lease.fence().await, Fence::Held);
        assert!(
            Lease::try_take(&coordinator, "a", ttl)
                .await
                .unwrap()
                .is_none()
        );
        lease.release().await;
        assert!(
            Lease::try_take(&coordinator, "a", ttl)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_dropped_lease_is_given_up() {
        let coordinator: Arc<dyn Coordinator> = Arc::new(InProcess::default());
        let ttl = Duration::from_secs(30);
        drop(
            Lease::try_take(&coordinator, "a", ttl)
                .await
                .unwrap()
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            Lease::try_take(&coordinator, "a", ttl)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(Token::generate(), Token::generate());
        assert_eq!(Token::generate().as_str().len(), 32);
    }
}
