//! The requests doctor makes of the server, as the go command would make them: the same
//! URL, the URL's credentials, `.netrc`'s over HTTPS only (as the go command sends them).
//! Their outcomes are plain data, so that the checks stay pure.

use std::time::Duration;

use godepot_upstream::{
    Endpoint, FetchError, Netrc, ProxyEntry, ProxyList, Upstream, UpstreamOptions,
};
use serde::Serialize;

use crate::server::{ServerInfo, ServerUrl};

/// The largest answer doctor reads (`/api/server`, a version list).
const LIMIT: u64 = 1 << 20;

/// What one request found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Probe<T> {
    /// Not asked: an earlier probe showed the server does not answer.
    NotRun,
    Ok {
        value: T,
    },
    Failed(ProbeFailure),
}

/// Why a request failed: the HTTP status when there was an answer, and a line on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeFailure {
    pub status: Option<u16>,
    pub reason: String,
}

impl<T> Probe<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Probe::Ok { value } => Some(value),
            _ => None,
        }
    }

    pub fn failed(status: Option<u16>, reason: impl Into<String>) -> Self {
        Probe::Failed(ProbeFailure {
            status,
            reason: reason.into(),
        })
    }
}

/// The one real fetch: which request, and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The escaped protocol path, e.g. `example.com/!m/@v/list`.
    pub path: String,
    /// In words: whose list, and why it was chosen.
    pub why: String,
    /// Whether a 404/410 means trouble (a module the build needs) or only "not held"
    /// (any cheap request proves the protocol path works).
    pub must_exist: bool,
}

/// Everything asked of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probes {
    pub healthz: Probe<()>,
    pub info: Probe<ServerInfo>,
    /// The number of versions the fetched list holds.
    pub fetch: Probe<usize>,
}

/// Asks `/healthz`; if it answers, `/api/server` and the fetch of `target`.
pub async fn run(server: &ServerUrl, target: &Target, timeout: Duration) -> Probes {
    let client = match client(server, timeout) {
        Ok(client) => client,
        Err(e) => {
            let failed = Probe::failed(None, e);
            return Probes {
                healthz: failed.clone(),
                info: Probe::NotRun,
                fetch: Probe::NotRun,
            };
        }
    };
    let healthz = match client.get_bytes("healthz", LIMIT).await {
        Ok(_) => Probe::Ok { value: () },
        Err(e) => failure(&e),
    };
    if !matches!(healthz, Probe::Ok { .. }) {
        return Probes {
            healthz,
            info: Probe::NotRun,
            fetch: Probe::NotRun,
        };
    }
    let info = match client.get_bytes("api/server", LIMIT).await {
        Ok(body) => match serde_json::from_slice::<ServerInfo>(&body) {
            Ok(value) => Probe::Ok { value },
            Err(e) => Probe::failed(Some(200), format!("not a godepot's answer: {e}")),
        },
        Err(e) => failure(&e),
    };
    let fetch = match client.get_bytes(&target.path, LIMIT).await {
        Ok(body) => Probe::Ok {
            value: String::from_utf8_lossy(&body).lines().count(),
        },
        Err(e) => failure(&e),
    };
    Probes {
        healthz,
        info,
        fetch,
    }
}

fn client(server: &ServerUrl, timeout: Duration) -> Result<Upstream, String> {
    let list = ProxyList {
        entries: vec![ProxyEntry {
            endpoint: Endpoint::Http(server.url().clone()),
            fall_through_on_error: false,
        }],
        ends_off: false,
        has_direct: false,
    };
    let netrc = if server.is_https() {
        Netrc::from_environment()
    } else {
        Netrc::default()
    };
    let options = UpstreamOptions {
        timeout,
        retries: 0,
        ..UpstreamOptions::default()
    };
    Upstream::with_netrc(&list, options, netrc).map_err(|e| e.to_string())
}

/// The failure in doctor's words (the upstream client speaks of "upstream").
fn failure<T>(e: &FetchError) -> Probe<T> {
    match e {
        FetchError::NotFound { status, message }
        | FetchError::Status {
            status, message, ..
        } => Probe::failed(Some(*status), message.clone()),
        FetchError::Unreachable { reason, .. } => Probe::failed(None, reason.clone()),
        FetchError::Timeout { secs, .. } => {
            Probe::failed(None, format!("no answer within {secs:.0}s"))
        }
        other => Probe::failed(None, other.to_string()),
    }
}
