//! Who may ask, and the record of what was refused: `serve --require-auth` and
//! `--audit-log`. Everything but the probes (`/healthz`, `/readyz`) needs a token when auth is
//! required; the decision itself is `godepot_auth::authenticate`, this is its HTTP glue.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use godepot_auth::{AuditEvent, AuditLog, Denied, FailureLimiter, Scope, TokenStore, Tokens};
use godepot_policy::Blocked;

use crate::response;

/// The tokens a server accepts, reloaded when the file changes.
pub struct Access {
    store: TokenStore,
    tokens: RwLock<Arc<Tokens>>,
    limiter: FailureLimiter,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

impl Access {
    /// Tokens from `store` (the token file of the store served), read now.
    pub fn new(store: TokenStore) -> Result<Self, godepot_auth::TokenError> {
        let tokens = store.load()?;
        Ok(Access {
            store,
            tokens: RwLock::new(Arc::new(tokens)),
            // Ten wrong secrets a minute from one address, then 429 until the minute ends.
            limiter: FailureLimiter::new(10, Duration::from_secs(60), 10_000),
        })
    }

    /// The tokens in force. No I/O: [`Access::keep_current`] replaces them.
    fn current(&self) -> Arc<Tokens> {
        Arc::clone(&self.tokens.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Looks at the token file for added or revoked tokens. A file that cannot be read
    /// keeps the tokens in force (logged).
    fn reload(&self) {
        let current = self.current();
        match self.store.reload_if_changed(&current) {
            Ok(None) => {}
            Ok(Some(fresh)) => {
                fresh.carry_uses_from(&current);
                let count = fresh.list().len();
                *self.tokens.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
                tracing::info!(tokens = count, "tokens reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot reload the tokens; keeping those in force");
            }
        }
    }

    /// Writes the last-use times noted since the last flush.
    fn flush_uses(&self, tokens: &Tokens) {
        if let Err(e) = self.store.record_uses(&tokens.take_uses()) {
            tracing::warn!(error = %e, "cannot record when tokens were last used");
        }
    }

    /// The token's name, or the refusal to answer with (and its audit event).
    pub(crate) fn check(
        &self,
        headers: &HeaderMap,
        client: IpAddr,
        required: Scope,
    ) -> Result<String, Denied> {
        let tokens = self.current();
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        godepot_auth::authenticate(
            &tokens,
            &self.limiter,
            authorization,
            client,
            required,
            SystemTime::now(),
            Instant::now(),
        )
        .map(|info| info.name)
    }

    /// For the server's lifetime (spawn it): the token file looked at every `reload_every`,
    /// on the blocking pool, never in a request (on a bucket it is a round trip), so that a
    /// token added or revoked anywhere takes effect within that time; the last-use times
    /// written back every `flush_every`.
    pub async fn keep_current(self: Arc<Self>, reload_every: Duration, flush_every: Duration) {
        let mut flushed = Instant::now();
        loop {
            tokio::time::sleep(reload_every).await;
            let access = Arc::clone(&self);
            let flush = flushed.elapsed() >= flush_every;
            if flush {
                flushed = Instant::now();
            }
            let _ = tokio::task::spawn_blocking(move || {
                access.reload();
                if flush {
                    access.flush_uses(&access.current());
                }
            })
            .await;
        }
    }
}

/// The answer to a refused request: 401 with the challenge the go command answers from
/// `.netrc` or `GOAUTH`, 403, or 429 with `Retry-After`.
pub(crate) fn refusal(denied: &Denied) -> Response {
    let status = StatusCode::from_u16(denied.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let message = match status {
        StatusCode::FORBIDDEN => "this token's scope does not cover this request",
        StatusCode::TOO_MANY_REQUESTS => "too many failed logins from this address; slow down",
        _ => "a valid token is required (HTTP Basic with the token as password, or Bearer)",
    };
    let mut response = response::text(status, message);
    let headers = response.headers_mut();
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(godepot_auth::WWW_AUTHENTICATE),
        );
    }
    if let Some(slow) = &denied.slow_down {
        let secs = slow.retry_after.as_secs().max(1);
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            headers.insert(header::RETRY_AFTER, v);
        }
    }
    response
}

/// Appends to the audit log when there is one; a failed write is logged, never fatal.
pub(crate) fn audit(log: Option<&AuditLog>, event: &AuditEvent) {
    if let Some(log) = log
        && let Err(e) = log.append(event)
    {
        tracing::error!(audit_log = %log.path().display(), error = %e, "cannot write the audit log");
    }
}

/// The audit event of a request the policy refused.
pub(crate) fn blocked_event(
    blocked: &Blocked,
    client: Option<IpAddr>,
    token_name: Option<String>,
) -> AuditEvent {
    AuditEvent::RequestBlocked {
        module: blocked.module.to_string(),
        version: blocked.version.to_string(),
        rule: blocked.by.to_string(),
        reason: blocked.reason.clone(),
        client,
        token_name,
    }
}
