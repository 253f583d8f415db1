//! Leases in a Redis server, shared by every replica that names it.
//!
//! A lease is one key, `godepot:lease:<name>`, whose value is the holder's token: taken with
//! `SET NX PX` (atomic: one taker wins), renewed and released by Lua scripts that first
//! compare the token, so a replica whose lease expired (and was taken by another) can neither
//! extend nor delete the other's. Redis keeps the expiry itself, so a holder that dies lets go
//! after one lease time, with nobody to clean up.
//!
//! One connection, multiplexed and re-established by itself after a failure
//! (`ConnectionManager`); every command has a short deadline, so an unreachable Redis is an
//! error within a second or two, never a request hanging.

use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::{CoordError, Coordinator, Token};

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Leases in Redis (`--coordination redis://HOST:PORT`).
#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    /// `redis://host:port`, without any password: what logs and errors name.
    shown: String,
    renew: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("at", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// A coordinator over the Redis at `url` (`redis://[:password@]host:port[/db]`). Connects
    /// lazily, on the first lease asked for: a Redis down at start-up is the same as one that
    /// goes down later. Must be called within a tokio runtime. The error names the URL
    /// without its password.
    pub fn new(url: &str) -> Result<Redis, CoordError> {
        let shown = redact(url);
        let invalid = |e: redis::RedisError| CoordError {
            coordinator: shown.clone(),
            reason: format!("not a usable Redis URL ({:?})", e.kind()),
        };
        let client = redis::Client::open(url).map_err(invalid)?;
        let shown = format!("redis://{}", client.get_connection_info().addr());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| CoordError {
                coordinator: shown.clone(),
                reason: e.to_string(),
            })?;
        Ok(Redis {
            connection,
            shown,
            renew: redis::Script::new(RENEW),
            release: redis::Script::new(RELEASE),
        })
    }

    fn key(name: &str) -> String {
        format!("godepot:lease:{name}")
    }

    fn error(&self, e: redis::RedisError) -> CoordError {
        CoordError {
            coordinator: self.shown.clone(),
            reason: e.to_string(),
        }
    }
}

/// A lease time in whole milliseconds, at least one (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

/// `redis://host:port` of a URL, with any userinfo left out; for the one case where the URL
/// does not even parse.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = rest.split('/').next().unwrap_or("");
    format!("{scheme}://{host}")
}

impl Coordinator for Redis {
    fn try_acquire<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Token>, CoordError>> {
        Box::pin(async move {
            let token = Token::generate();
            let mut con = self.connection.clone();
            let set: Option<String> = redis::cmd("SET")
                .arg(Self::key(name))
                .arg(token.as_str())
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut con)
                .await
                .map_err(|e| self.error(e))?;
            Ok(set.map(|_| token))
        })
    }

    fn renew<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let n: i64 = self
                .renew
                .key(Self::key(name))
                .arg(token.as_str())
                .arg(millis(ttl))
                .invoke_async(&mut con)
                .await
                .map_err(|e| self.error(e))?;
            Ok(n == 1)
        })
    }

    fn holds<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let held: Option<String> = redis::cmd("GET")
                .arg(Self::key(name))
                .query_async(&mut con)
                .await
                .map_err(|e| self.error(e))?;
            Ok(held.as_deref() == Some(token.as_str()))
        })
    }

    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<(), CoordError>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let _: i64 = self
                .release
                .key(Self::key(name))
                .arg(token.as_str())
                .invoke_async(&mut con)
                .await
                .map_err(|e| self.error(e))?;
            Ok(())
        })
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn is_shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_shown_without_passwords() {
        assert_eq!(
            redact("redis://:s3cret@db.example:6379/2"),
            "redis://db.example:6379"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        let r = Redis::new("redis://:s3cret@127.0.0.1:1/0");
        let shown = match r {
            Ok(r) => format!("{r:?} {}", r.describe()),
            Err(e) => e.to_string(),
        };
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
