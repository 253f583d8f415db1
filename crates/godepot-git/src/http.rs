//! The HTTP side of talking to repositories: one client for verified TLS and one for the
//! hosts named insecure, credentials from `.netrc` and configuration, and the mapping of
//! HTTP outcomes onto [`GitError`]. Credentials are given, not read here: the caller parses
//! `.netrc` (godepot-upstream's `Netrc`, the one parser) and adds its per-host ones.
//!
//! Outbound proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`, and the lower-case forms)
//! are reqwest's own environment handling, which is on by default; nothing here turns it
//! off. Credentials travel only in an `Authorization` header, never in a URL, so no error
//! or log line (they all format URLs through [`redact`]) can carry one.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::error::GitError;

/// A login for one host. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub host: String,
    pub login: String,
    pub secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("host", &self.host)
            .field("login", &self.login)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Everything about how godepot talks HTTP to repositories.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Comma-separated glob patterns (GOINSECURE syntax) of hosts (module path prefixes)
    /// for which plain http and unverified TLS are allowed.
    pub insecure: String,
    /// Credentials by host, first match wins (per-host configuration first, then `.netrc`);
    /// an empty host is `.netrc`'s `default`.
    pub credentials: Vec<Credential>,
    /// Limit on connecting plus receiving headers, and on any silence mid-body.
    pub timeout: Duration,
    /// One proxy for every repository connection, overriding the environment; `None`
    /// (the default) honours `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as reqwest reads them.
    pub proxy: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            insecure: String::new(),
            credentials: Vec::new(),
            timeout: Duration::from_secs(60),
            proxy: None,
        }
    }
}

impl HttpConfig {
    /// Whether `host` (and any module path under it) may use http or unverified TLS.
    pub fn is_insecure(&self, host: &str) -> bool {
        godepot_module::matches_glob_prefix(&self.insecure, host)
    }

    fn credential_for(&self, host: &str) -> Option<&Credential> {
        let host = host.to_ascii_lowercase();
        self.credentials
            .iter()
            .find(|c| c.host.eq_ignore_ascii_case(&host))
            .or_else(|| self.credentials.iter().find(|c| c.host.is_empty()))
    }
}

/// The two connection pools, and the rules for using them.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    secure: reqwest::Client,
    insecure: reqwest::Client,
    config: HttpConfig,
}

impl Http {
    pub(crate) fn new(config: HttpConfig) -> Result<Self, GitError> {
        // reqwest is built without a bundled crypto provider; choose ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client_error = |e: reqwest::Error| GitError::Unreachable {
            url: "(client)".into(),
            reason: redact(&e.to_string()),
            timed_out: false,
        };
        let proxy = match &config.proxy {
            Some(p) => Some(reqwest::Proxy::all(p).map_err(client_error)?),
            None => None,
        };
        let build = |danger: bool| {
            let mut builder = reqwest::Client::builder();
            if let Some(p) = &proxy {
                builder = builder.proxy(p.clone());
            }
            builder
                .connect_timeout(config.timeout)
                .read_timeout(config.timeout)
                .user_agent(concat!(
                    "godepot/",
                    env!("CARGO_PKG_VERSION"),
                    " git/2-compatible"
                ))
                .tls_danger_accept_invalid_certs(danger)
                .build()
                .map_err(client_error)
        };
        Ok(Http {
            secure: build(false)?,
            insecure: build(true)?,
            config,
        })
    }

    pub(crate) fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// A request to `url`, refused unless its scheme is allowed for its host, with the
    /// host's credentials attached.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, GitError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            GitError::not_found(format!("invalid repository URL {}: {e}", redact(url)))
        })?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let insecure = self.config.is_insecure(&host);
        match parsed.scheme() {
            "https" => {}
            "http" if insecure => {}
            "http" => {
                return Err(GitError::Unsupported {
                    reason: format!(
                        "refusing plain http to {host} ({}): the host is not among the insecure patterns",
                        redact(url)
                    ),
                });
            }
            other => {
                return Err(GitError::Unsupported {
                    reason: format!(
                        "repository scheme {other:?} is not supported (only https and http)"
                    ),
                });
            }
        }
        let mut clean = parsed.clone();
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        let client = if insecure {
            &self.insecure
        } else {
            &self.secure
        };
        let mut req = client.request(method, clean);
        if let Some(c) = self.config.credential_for(&host) {
            req = req.basic_auth(&c.login, Some(&c.secret));
        } else if !parsed.username().is_empty() {
            // Credentials written into a go-import URL: use them, never show them.
            req = req.basic_auth(parsed.username(), parsed.password());
        }
        Ok(req)
    }

    /// Sends `req`, mapping failures and non-success statuses onto [`GitError`].
    pub(crate) async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, GitError> {
        let shown = redact(url);
        let resp = req.send().await.map_err(|e| transport_error(&shown, &e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(status_error(&shown, status))
    }
}

/// Maps a transport failure (no HTTP status) onto an error naming the URL.
pub(crate) fn transport_error(shown_url: &str, e: &reqwest::Error) -> GitError {
    // reqwest's Display repeats the URL; its source chain says what actually failed.
    let mut reason = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    if reason.is_empty() {
        reason = e.to_string();
    }
    GitError::Unreachable {
        url: shown_url.to_owned(),
        reason: redact(&reason),
        timed_out: e.is_timeout(),
    }
}

fn status_error(shown_url: &str, status: StatusCode) -> GitError {
    let host = reqwest::Url::parse(shown_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    match status.as_u16() {
        401 | 403 => GitError::AuthRequired {
            host,
            status: status.as_u16(),
        },
        404 | 410 => GitError::not_found(format!(
            "{shown_url}: repository not found (HTTP {})",
            status.as_u16()
        )),
        504 => GitError::Unreachable {
            url: shown_url.to_owned(),
            reason: format!("HTTP {status}"),
            timed_out: true,
        },
        _ => GitError::Unreachable {
            url: shown_url.to_owned(),
            reason: format!("HTTP {status}"),
            timed_out: false,
        },
    }
}

/// `text` (a URL, or a message holding URLs, such as a transport error's) with any
/// `user:password@` of every URL removed, for messages.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == ')')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        out.push_str(
            authority
                .rfind('@')
                .map_or(authority, |at| &authority[at + 1..]),
        );
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_by_host_then_default() {
        let cred = |host: &str, login: &str| Credential {
            host: host.into(),
            login: login.into(),
            secret: "s3cret".into(),
        };
        let config = HttpConfig {
            credentials: vec![cred("git.corp.example", "alice"), cred("", "anon")],
            ..HttpConfig::default()
        };
        assert!(!format!("{:?}", config.credentials[0]).contains("s3cret"));
        assert_eq!(
            config.credential_for("GIT.corp.example").unwrap().login,
            "alice"
        );
        assert_eq!(
            config.credential_for("other.example").unwrap().login,
            "anon"
        );
    }

    #[test]
    fn redacts_userinfo() {
        assert_eq!(
            redact("https://bob:tok@git.corp.example/a/b.git"),
            "https://git.corp.example/a/b.git"
        );
        assert_eq!(
            redact("https://git.corp.example/a@b"),
            "https://git.corp.example/a@b"
        );
        assert_eq!(redact("no scheme"), "no scheme");
        assert_eq!(
            redact("error sending request for url (http://a:b@h/x): via http://c:d@p"),
            "error sending request for url (http://h/x): via http://p"
        );
    }

    #[test]
    fn insecure_patterns_are_globs_of_hosts() {
        let config = HttpConfig {
            insecure: "*.corp.example,git.local".into(),
            ..HttpConfig::default()
        };
        assert!(config.is_insecure("git.corp.example"));
        assert!(config.is_insecure("git.local"));
        assert!(!config.is_insecure("example.com"));
    }
}
