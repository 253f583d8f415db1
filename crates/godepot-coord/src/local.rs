//! Leases in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use crate::{CoordError, Coordinator, Token};

/// Leases in memory, with the same expiry rules as the shared ones. The default: within one
/// process the depot's own single-flight already makes one fetch of each artifact, so these
/// leases never make anyone wait; they keep one code path for one replica and many.
#[derive(Debug, Default)]
pub struct InProcess {
    /// std's mutex: held only for a lookup or an insert.
    leases: Mutex<HashMap<String, (Token, Instant)>>,
}

impl InProcess {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, (Token, Instant)>) -> T) -> T {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        leases.retain(|_, (_, until)| *until > now);
        f(&mut leases)
    }

    fn acquire(&self, name: &str, ttl: Duration) -> Option<Token> {
        self.with(|leases| {
            if leases.contains_key(name) {
                return None;
            }
            let token = Token::generate();
            leases.insert(name.to_string(), (token.clone(), Instant::now() + ttl));
            Some(token)
        })
    }

    fn extend(&self, name: &str, token: &Token, ttl: Duration) -> bool {
        self.with(|leases| match leases.get_mut(name) {
            Some((held, until)) if held == token => {
                *until = Instant::now() + ttl;
                true
            }
            _ => false,
        })
    }

    fn held_by(&self, name: &str, token: &Token) -> bool {
        self.with(|leases| leases.get(name).is_some_and(|(held, _)| held == token))
    }

    fn give_up(&self, name: &str, token: &Token) {
        self.with(|leases| {
            if leases.get(name).is_some_and(|(held, _)| held == token) {
                leases.remove(name);
            }
        })
    }
}

impl Coordinator for InProcess {
    fn try_acquire<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Token>, CoordError>> {
        Box::pin(async move { Ok(self.acquire(name, ttl)) })
    }

    fn renew<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move { Ok(self.extend(name, token, ttl)) })
    }

    fn holds<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move { Ok(self.held_by(name, token)) })
    }

    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<(), CoordError>> {
        Box::pin(async move {
            self.give_up(name, token);
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "this process".to_string()
    }

    fn is_shared(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_expire_and_only_their_token_renews_or_releases() {
        let c = InProcess::default();
        let ttl = Duration::from_millis(40);
        let a = c.acquire("x", ttl).unwrap();
        assert!(c.acquire("x", ttl).is_none());
        let other = Token::generate();
        assert!(!c.extend("x", &other, ttl));
        c.give_up("x", &other);
        assert!(c.held_by("x", &a));
        std::thread::sleep(ttl * 2);
        assert!(!c.held_by("x", &a));
        assert!(!c.extend("x", &a, ttl));
        let b = c.acquire("x", ttl).unwrap();
        c.give_up("x", &a);
        assert!(c.held_by("x", &b));
        c.give_up("x", &b);
        assert!(c.acquire("x", ttl).is_some());
    }
}
