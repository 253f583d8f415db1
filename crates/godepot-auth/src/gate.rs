//! The whole answer to "may this request in?", for `serve --require-auth`: the
//! limiter, the header, the token and its scope, in that order. The server maps the
//! outcome to a status and writes the audit event; nothing here knows HTTP.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use crate::audit::{AuditEvent, LoginRefusal};
use crate::header::parse_authorization;
use crate::limiter::{FailureLimiter, SlowDown};
use crate::token::{Refused, Scope, TokenInfo, Tokens};

/// The value of `WWW-Authenticate` on a 401: Basic, which the go command answers
/// from `.netrc` or `GOAUTH`.
pub const WWW_AUTHENTICATE: &str = "Basic realm=\"godepot\"";

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub cause: LoginRefusal,
    /// The user name of Basic auth, if any (never the secret).
    pub user: Option<String>,
    /// The token's name when the secret was a known token (expired, wrong scope).
    pub token_name: Option<String>,
    /// Set for [`LoginRefusal::RateLimited`]: the `Retry-After`.
    pub slow_down: Option<SlowDown>,
}

impl Denied {
    /// 401 (with [`WWW_AUTHENTICATE`]) for missing, unknown or expired credentials;
    /// 403 for a valid token without the scope; 429 (with `Retry-After`) when slowed.
    pub fn status(&self) -> u16 {
        match self.cause {
            LoginRefusal::Missing | LoginRefusal::Unknown | LoginRefusal::Expired => 401,
            LoginRefusal::WrongScope => 403,
            LoginRefusal::RateLimited => 429,
        }
    }

    /// The event for the audit log.
    pub fn audit_event(&self, client: Option<IpAddr>) -> AuditEvent {
        AuditEvent::LoginRefused {
            client,
            user: self.user.clone(),
            token_name: self.token_name.clone(),
            cause: self.cause,
        }
    }
}

/// Checks one request. `authorization` is the raw header value, if any. Only a
/// presented secret that matches no token (or an expired one) counts as a failure
/// for the limiter: a client's first request without credentials is normal, and a
/// valid token with too small a scope is not guessing.
pub fn authenticate(
    tokens: &Tokens,
    limiter: &FailureLimiter,
    authorization: Option<&[u8]>,
    client: IpAddr,
    required: Scope,
    now: SystemTime,
    clock: Instant,
) -> Result<TokenInfo, Denied> {
    let deny = |cause, user: Option<String>, token_name: Option<String>| Denied {
        cause,
        user,
        token_name,
        slow_down: None,
    };
    if let Err(slow_down) = limiter.check(client, clock) {
        return Err(Denied {
            slow_down: Some(slow_down),
            ..deny(LoginRefusal::RateLimited, None, None)
        });
    }
    let Some(credentials) = authorization.and_then(parse_authorization) else {
        return Err(deny(LoginRefusal::Missing, None, None));
    };
    let user = credentials.user;
    match tokens.check(&credentials.secret, now) {
        Ok(info) if info.scope.allows(required) => {
            limiter.success(client);
            Ok(info)
        }
        Ok(info) => Err(deny(LoginRefusal::WrongScope, user, Some(info.name))),
        Err(refused) => {
            limiter.failure(client, clock);
            Err(match refused {
                Refused::Unknown => deny(LoginRefusal::Unknown, user, None),
                Refused::Expired(info) => deny(LoginRefusal::Expired, user, Some(info.name)),
            })
        }
    }
}
