//! The `GOPROXY` list syntax, parsed once into a validated value.

use std::path::PathBuf;

use crate::url::{UpstreamUrl, redact};

/// Where one proxy in the list lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An `http://` or `https://` proxy; its credentials, if any, are never shown.
    Http(UpstreamUrl),
    /// A `file://` tree on this machine.
    File(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Http(url) => url.fmt(f),
            Endpoint::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

/// One proxy and what to do when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEntry {
    pub endpoint: Endpoint,
    /// True when a `|` follows this entry: any error moves on to the next one. With `,`
    /// (or at the end) only a 404/410 does.
    pub fall_through_on_error: bool,
}

/// A parsed `GOPROXY` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyList {
    pub entries: Vec<ProxyEntry>,
    /// `off` appeared: once reached, nothing further is asked.
    pub ends_off: bool,
    /// `direct` appeared somewhere in the list.
    pub has_direct: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyListError {
    #[error("GOPROXY list is empty")]
    Empty,
    /// Holds the text with any credentials replaced by `***`.
    #[error("invalid proxy URL {0:?}: use http://, https:// or file:// URLs, 'off' or 'direct'")]
    BadUrl(String),
}

impl ProxyList {
    /// Parses `GOPROXY` syntax. `direct` and `off` are recorded, not rejected: what to do
    /// with them is the caller's policy.
    pub fn parse(spec: &str) -> Result<Self, ProxyListError> {
        let mut list = ProxyList {
            entries: Vec::new(),
            ends_off: false,
            has_direct: false,
        };
        let mut rest = spec.trim();
        while !rest.is_empty() {
            let cut = rest.find([',', '|']).unwrap_or(rest.len());
            let item = rest[..cut].trim();
            let pipe = rest[cut..].starts_with('|');
            rest = rest.get(cut + 1..).unwrap_or("");
            match item {
                "" => continue,
                "off" => {
                    list.ends_off = true;
                    break;
                }
                "direct" => list.has_direct = true,
                url => list.entries.push(ProxyEntry {
                    endpoint: parse_endpoint(url)?,
                    fall_through_on_error: pipe,
                }),
            }
        }
        if list.entries.is_empty() && !list.ends_off && !list.has_direct {
            return Err(ProxyListError::Empty);
        }
        Ok(list)
    }

    /// Whether nothing can ever be fetched (`off`, or nothing but `off`).
    pub fn is_off(&self) -> bool {
        self.entries.is_empty() && !self.has_direct
    }
}

/// The list in `GOPROXY` syntax, credentials shown as `***`: for logs and messages. (Where
/// `direct` stood is not kept; it is shown after the proxies.)
impl std::fmt::Display for ProxyList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut items: Vec<(String, &str)> = self
            .entries
            .iter()
            .map(|e| {
                let sep = if e.fall_through_on_error { "|" } else { "," };
                (e.endpoint.to_string(), sep)
            })
            .collect();
        if self.has_direct {
            items.push(("direct".into(), ","));
        }
        if self.ends_off {
            items.push(("off".into(), ","));
        }
        for (i, (item, sep)) in items.iter().enumerate() {
            f.write_str(item)?;
            if i + 1 < items.len() {
                f.write_str(sep)?;
            }
        }
        Ok(())
    }
}

fn parse_endpoint(url: &str) -> Result<Endpoint, ProxyListError> {
    let bad = || ProxyListError::BadUrl(redact(url));
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(bad());
        }
        return Ok(Endpoint::File(PathBuf::from(path)));
    }
    UpstreamUrl::parse(url).map(Endpoint::Http).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, expect: &str) {
        let got = match ProxyList::parse(spec) {
            Ok(list) => {
                let mut parts: Vec<String> = list
                    .entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}{}",
                            e.endpoint,
                            if e.fall_through_on_error { "|" } else { "," }
                        )
                    })
                    .collect();
                if list.has_direct {
                    parts.push("direct".into());
                }
                if list.ends_off {
                    parts.push("off".into());
                }
                parts.join(" ")
            }
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "parse({spec:?})");
    }

    #[test]
    fn display_redacts() {
        let list = ProxyList::parse("https://u:secret@a.example|http://b,direct").unwrap();
        assert_eq!(list.to_string(), "https://***@a.example|http://b,direct");
        assert_eq!(
            ProxyList::parse("http://a,off").unwrap().to_string(),
            "http://a,off"
        );
    }

    #[test]
    fn goproxy_syntax() {
        check("http://a:1/", "http://a:1,");
        check("http://a,https://b/x", "http://a, https://b/x,");
        check(
            "http://a|http://b,http://c",
            "http://a| http://b, http://c,",
        );
        check("http://a,direct", "http://a, direct");
        check("off", "off");
        check("http://a,off,http://b", "http://a, off");
        check("file:///srv/tree", "file:///srv/tree,");
        check("https://u:secret@h.example/x/", "https://***@h.example/x,");
        check(
            "https://u:secret@h.example/?x",
            "error: invalid proxy URL \"https://***@h.example/?x\": use http://, https:// or file:// URLs, 'off' or 'direct'",
        );
        check("", "error: GOPROXY list is empty");
        check(" , ", "error: GOPROXY list is empty");
        check(
            "ftp://x",
            "error: invalid proxy URL \"ftp://x\": use http://, https:// or file:// URLs, 'off' or 'direct'",
        );
        check(
            "http://",
            "error: invalid proxy URL \"http://\": use http://, https:// or file:// URLs, 'off' or 'direct'",
        );
        check(
            "file://relative",
            "error: invalid proxy URL \"file://relative\": use http://, https:// or file:// URLs, 'off' or 'direct'",
        );
    }
}
