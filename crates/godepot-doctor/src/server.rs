//! The server as doctor sees it: its URL, and what `GET /api/server` says.

use godepot_upstream::UpstreamUrl;
use serde::{Deserialize, Serialize};

/// The godepot being diagnosed: an `http(s)://` URL whose credentials, if it carries any,
/// are never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(UpstreamUrl);

impl ServerUrl {
    /// `None` unless `text` is an absolute `http://` or `https://` URL.
    pub fn parse(text: &str) -> Option<ServerUrl> {
        UpstreamUrl::parse(text.trim()).map(ServerUrl)
    }

    /// The server's first `http(s)://` entry of a `GOPROXY` list: where the go command
    /// looks for a proxy, hence the default `--server`.
    pub fn from_goproxy(goproxy: &str) -> Option<ServerUrl> {
        crate::checks::goproxy_entries(goproxy)
            .into_iter()
            .find_map(ServerUrl::parse)
    }

    /// Whether a `GOPROXY` entry names this server (same URL, ignoring case and a trailing
    /// slash; a different host name for the same machine is not recognised).
    pub fn is(&self, entry: &str) -> bool {
        UpstreamUrl::parse(entry.trim())
            .is_some_and(|u| u.base().eq_ignore_ascii_case(self.0.base()))
    }

    pub fn url(&self) -> &UpstreamUrl {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.base().starts_with("https://")
    }

    /// `host:port` (the port defaulted by scheme), for `godepot serve --listen`.
    pub fn host_port(&self) -> (String, u16) {
        let host = self.0.host().unwrap_or_default();
        let rest = self.0.base().split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or("");
        let port = authority
            .rsplit_once(':')
            .filter(|(_, p)| !p.contains(']'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(if self.is_https() { 443 } else { 80 });
        (host, port)
    }
}

/// Shown with `***` for any credentials.
impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `GET /api/server`. Fields this doctor does not know are ignored, so a newer server is
/// still read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServerInfo {
    /// godepot's version.
    pub godepot: String,
    /// `online` or `offline`.
    pub mode: String,
    #[serde(default)]
    pub sumdb: Vec<ServerSumdb>,
    /// Modules the server fetches from their repositories itself.
    #[serde(default)]
    pub private: Vec<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub require_auth: bool,
}

/// A checksum database the server proxies.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServerSumdb {
    pub name: String,
    /// `name+hash+key`, when the server knows it.
    #[serde(default)]
    pub key: Option<String>,
}

impl ServerSumdb {
    /// What `GOSUMDB` should say to use it: its key when known, else its name.
    pub fn gosumdb(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.name)
    }
}

impl ServerInfo {
    pub fn is_offline(&self) -> bool {
        self.mode == "offline"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = ServerUrl::parse("http://user:secret@Godepot.corp.example:3000/").unwrap();
        assert_eq!(s.to_string(), "http://***@Godepot.corp.example:3000");
        assert!(s.is("http://godepot.corp.example:3000"));
        assert!(!s.is("http://godepot.corp.example:3001"));
        assert!(!s.is("direct"));
        assert_eq!(s.host_port(), ("godepot.corp.example".into(), 3000));
        let https = ServerUrl::parse("https://[::1]/").unwrap();
        assert_eq!(https.host_port(), ("::1".into(), 443));
        let first = ServerUrl::from_goproxy("direct,file:///x,http://127.0.0.1:9|off").unwrap();
        assert_eq!(first.to_string(), "http://127.0.0.1:9");
        assert!(ServerUrl::from_goproxy("direct").is_none());
    }

    #[test]
    fn reads_what_the_server_sends_and_ignores_the_unknown() {
        let info: ServerInfo = serde_json::from_str(
            r#"{"godepot":"0.1.0","mode":"offline","sumdb":[{"name":"sum.example"}],
                "private":["corp.example"],"base_url":"http://h:1","require_auth":false,
                "future":{"x":1}}"#,
        )
        .unwrap();
        assert!(info.is_offline());
        assert_eq!(info.sumdb[0].gosumdb(), "sum.example");
    }
}
