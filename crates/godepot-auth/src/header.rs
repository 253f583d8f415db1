//! The `Authorization` header to a presented token.
//!
//! The go command sends credentials from `.netrc` or `GOAUTH` as HTTP Basic auth;
//! the token is the password and the user name is whatever the developer wrote
//! (kept only for the audit log). Scripts may send `Authorization: Bearer TOKEN`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::secret::Secret;

/// What a request presented: a user name (Basic auth only) and the secret (whose
/// `Debug` is redacted).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: Option<String>,
    pub secret: Secret,
}

/// Parses an `Authorization` header value (`Basic base64(user:token)` or
/// `Bearer token`; schemes are case-insensitive, RFC 9110). `None` for a missing
/// secret, another scheme or malformed input: all of them are "no valid credentials".
pub fn parse_authorization(value: &[u8]) -> Option<Credentials> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim_start_matches(' ');
    if scheme.eq_ignore_ascii_case("bearer") {
        return nonempty(rest).map(|token| Credentials {
            user: None,
            secret: Secret::new(token),
        });
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some(Credentials {
        user: nonempty(user).map(str::to_owned),
        secret: Secret::new(nonempty(password)?),
    })
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_pass))
    }

    fn parsed(value: &str) -> Option<(Option<String>, String)> {
        parse_authorization(value.as_bytes()).map(|c| (c.user, c.secret.expose().to_owned()))
    }

    #[test]
    fn table() {
        let some = |u: Option<&str>, s: &str| Some((u.map(str::to_owned), s.to_owned()));
        assert_eq!(parsed(&basic("dev:gdp_abc")), some(Some("dev"), "gdp_abc"));
        assert_eq!(parsed(&basic(":gdp_abc")), some(None, "gdp_abc"));
        // Only the first colon splits: a password may contain colons.
        assert_eq!(parsed(&basic("dev:a:b")), some(Some("dev"), "a:b"));
        assert_eq!(
            parsed(&format!("bAsIc  {}", STANDARD.encode("u:t"))),
            some(Some("u"), "t")
        );
        assert_eq!(parsed("Bearer gdp_abc"), some(None, "gdp_abc"));
        assert_eq!(parsed("bearer   gdp_abc  "), some(None, "gdp_abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic",
            "Basic !!!",
            &basic("no-colon"),
            &basic("dev:"),
            "Digest username=\"dev\"",
            "gdp_abc",
        ] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
        assert!(parse_authorization(b"Basic \xff\xfe").is_none());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = parse_authorization(basic("dev:gdp_topsecret").as_bytes()).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("dev") && !shown.contains("topsecret"),
            "{shown}"
        );
    }
}
