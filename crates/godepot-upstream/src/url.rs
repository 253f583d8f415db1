//! Upstream URLs that cannot leak their credentials.
//!
//! `--upstream https://user:secret@host` is a documented way to give an upstream credentials,
//! so the URL itself is a secret. [`UpstreamUrl`] keeps the userinfo apart from the rest:
//! requests go to [`UpstreamUrl::base`] (which has none) with the credentials added as a
//! header, and both `Display` and `Debug` show `***` in their place. Every log line, error
//! message and readiness report that names an upstream goes through one of those.

use std::fmt;

/// Credentials for HTTP Basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// An `http://` or `https://` proxy URL, kept without a trailing slash, its userinfo held
/// apart (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// The URL without userinfo: safe to show.
    base: String,
    /// Where the userinfo stood in the original text (just after `scheme://`).
    credentials: Option<Credentials>,
}

impl UpstreamUrl {
    /// Parses an absolute `http(s)://` URL. `None` when it is not one; the caller reports
    /// the problem without echoing the text (which may hold a password).
    pub fn parse(text: &str) -> Option<UpstreamUrl> {
        let (scheme, rest) = text.split_once("://")?;
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        if host.is_empty() || text.contains(['?', '#']) {
            return None;
        }
        let base = format!("{scheme}://{host}{}", path.trim_end_matches('/'));
        reqwest::Url::parse(&base).ok()?;
        let credentials = userinfo.map(|u| {
            let (login, password) = u.split_once(':').unwrap_or((u, ""));
            Credentials {
                login: percent_decode(login),
                password: percent_decode(password),
            }
        });
        Some(UpstreamUrl { base, credentials })
    }

    /// The URL without credentials, to send requests to and to show.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The credentials the URL carried, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The host name (no port), for `.netrc` look-ups.
    pub fn host(&self) -> Option<String> {
        reqwest::Url::parse(&self.base)
            .ok()?
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.credentials, self.base.split_once("://")) {
            (Some(_), Some((scheme, rest))) => write!(f, "{scheme}://***@{rest}"),
            _ => f.write_str(&self.base),
        }
    }
}

impl fmt::Debug for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UpstreamUrl({self})")
    }
}

/// `text` (a URL, or a `GOPROXY` list of them) with any userinfo replaced by `***`, for
/// messages about text that did not parse.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail.find(['/', ',', '|', ' ']).unwrap_or(tail.len());
        match tail[..end].rsplit_once('@') {
            Some((_, host)) => {
                out.push_str("***@");
                out.push_str(host);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Userinfo may be percent-encoded (`p%40ss` for `p@ss`); anything malformed is kept as is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_held_apart_and_never_shown() {
        let url = UpstreamUrl::parse("https://user:s%40cret@proxy.corp.example:8443/go/").unwrap();
        assert_eq!(url.base(), "https://proxy.corp.example:8443/go");
        assert_eq!(url.to_string(), "https://***@proxy.corp.example:8443/go");
        assert_eq!(
            format!("{url:?}"),
            "UpstreamUrl(https://***@proxy.corp.example:8443/go)"
        );
        let creds = url.credentials().unwrap();
        assert_eq!(
            (creds.login.as_str(), creds.password.as_str()),
            ("user", "s@cret")
        );
        assert!(!format!("{creds:?}").contains("cret"));
        assert_eq!(url.host().as_deref(), Some("proxy.corp.example"));
    }

    #[test]
    fn plain_urls_and_refusals() {
        let url = UpstreamUrl::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(url.to_string(), "http://127.0.0.1:3000");
        assert!(url.credentials().is_none());
        assert_eq!(
            UpstreamUrl::parse("https://token@h.example")
                .unwrap()
                .credentials()
                .map(|c| c.password.as_str()),
            Some("")
        );
        assert_eq!(redact("ftp://u:p@h/x"), "ftp://***@h/x");
        assert_eq!(redact("no scheme"), "no scheme");
        assert_eq!(
            redact("off,https://a:b@x.example|http://y,http://t@z/p"),
            "off,https://***@x.example|http://y,http://***@z/p"
        );
        for bad in [
            "ftp://x",
            "http://",
            "http:///x",
            "https://u:p@",
            "http://h/?q",
            "h.example",
        ] {
            assert!(UpstreamUrl::parse(bad).is_none(), "{bad}");
        }
    }
}
