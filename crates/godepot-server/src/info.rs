//! `GET /api/server`: what a client needs to know to use this server right (`godepot
//! doctor` reads it): the version, the mode, the checksum databases proxied, the private
//! patterns, the base URL as this server sees the request, whether tokens are required.
//!
//! Nothing secret: no token, no upstream URL (it may carry credentials), no checksum
//! database URL; a database's verifier key is public by design (developers put it in
//! `GOSUMDB`). Behind `--require-auth` it needs a token like every protocol request, so
//! nobody outside learns even the private patterns.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde::Serialize;

use crate::AppState;

/// What the binary tells the router about its own configuration, for `/api/server`.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// godepot's version.
    pub version: String,
    /// Whether the listener speaks TLS: the scheme of the base URL.
    pub tls: bool,
    /// The `--private` patterns (modules fetched from their repositories).
    pub private: Vec<String>,
    /// The checksum databases proxied under `/sumdb/<name>/`.
    pub sumdb: Vec<SumdbAbout>,
}

/// One proxied checksum database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SumdbAbout {
    pub name: String,
    /// `name+hash+key`, when configured with its key (then godepot verifies it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The JSON document. Field names are a contract: `godepot doctor` of other versions reads
/// them, and ignores fields it does not know.
#[derive(Debug, Serialize)]
struct ServerInfo<'a> {
    godepot: &'a str,
    mode: &'static str,
    sumdb: &'a [SumdbAbout],
    private: &'a [String],
    /// `scheme://host[:port]` from the request's authority; absent when it sent none a URL
    /// can be made of.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    require_auth: bool,
}

/// The answer to `GET /api/server` (already admitted).
pub(crate) fn respond(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Response {
    let about = &state.options.about;
    let scheme = if about.tls { "https" } else { "http" };
    let info = ServerInfo {
        godepot: &about.version,
        mode: if state.depot.is_offline() {
            "offline"
        } else {
            "online"
        },
        sumdb: &about.sumdb,
        private: &about.private,
        base_url: authority(uri, headers).map(|host| format!("{scheme}://{host}")),
        require_auth: state.options.access.is_some(),
    };
    let body = serde_json::to_vec_pretty(&info).expect("plain data serializes");
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("valid response")
}

/// The host (and port) the client addressed: HTTP/2's `:authority`, else `Host`. Only the
/// characters of a host name, an IP literal and a port: anything else is no URL.
fn authority(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let host = match uri.authority() {
        Some(authority) => authority.as_str().to_string(),
        None => headers.get(header::HOST)?.to_str().ok()?.to_string(),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
    (!host.is_empty() && host.chars().all(plain)).then_some(host)
}
