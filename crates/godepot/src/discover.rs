//! Where the upstream comes from when the configuration does not say: the environment, the
//! way the go command reads it. godepot names no public host of its own.

use std::net::SocketAddr;
use std::process::Command;

use godepot_upstream::{Endpoint, ProxyList};

use crate::failure::Failure;

/// The upstream to use, and a word on where it came from (for the start-up log).
pub(crate) struct Resolved {
    pub(crate) list: ProxyList,
    pub(crate) source: &'static str,
}

/// Resolves the upstream: configured value, else `$GOPROXY`, else `go env GOPROXY`.
///
/// `direct` has the go command's meaning, configured or inherited: modules the proxies
/// before it do not have (404/410) are fetched from their repositories.
/// An upstream that is this very server: configured, it is an error; inherited (the shell
/// where `GOPROXY` was just pointed at this server), it is skipped with a warning.
pub(crate) fn upstream(configured: Option<&str>, listen: SocketAddr) -> Result<Resolved, Failure> {
    match configured {
        Some(spec) => {
            let list = parse(spec, "--upstream")?;
            refuse_self(&list, listen)?;
            Ok(Resolved {
                list,
                source: "configuration",
            })
        }
        None => from_environment(listen),
    }
}

fn from_environment(listen: SocketAddr) -> Result<Resolved, Failure> {
    let (spec, source) = match std::env::var("GOPROXY")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(spec) => (spec, "$GOPROXY"),
        None => match go_env_goproxy() {
            Some(spec) => (spec, "`go env GOPROXY`"),
            None => {
                return Err(Failure::config("no upstream proxy configured").hint(
                    "pass --upstream URL (GOPROXY syntax), set GODEPOT_UPSTREAM or GOPROXY, or run with --offline",
                ));
            }
        },
    };
    let mut list = parse(&spec, source)?;
    list.entries.retain(|entry| {
        let ours = matches!(&entry.endpoint, Endpoint::Http(url) if points_at(url.base(), listen));
        if ours {
            tracing::warn!("ignoring the {source} entry that points at this godepot itself ({listen}): it would loop");
        }
        !ours
    });
    if list.is_off() && !list.ends_off {
        return Err(Failure::config(format!(
            "{source} is {:?}: it names no module proxy godepot can use",
            godepot_upstream::url::redact(&spec)
        ))
        .hint("pass --upstream URL, or run with --offline"));
    }
    Ok(Resolved { list, source })
}

fn parse(spec: &str, what: &str) -> Result<ProxyList, Failure> {
    ProxyList::parse(spec).map_err(|e| Failure::config(format!("{what}: {e}")))
}

/// The checksum databases to proxy when the configuration does not say: `$GOSUMDB`, else
/// `go env GOSUMDB`, else none. Returns the list and where it came from.
pub(crate) fn sumdb(configured: Option<&str>) -> (String, &'static str) {
    if let Some(spec) = configured {
        return (spec.to_string(), "--sumdb");
    }
    if let Some(spec) = std::env::var("GOSUMDB")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return (spec, "$GOSUMDB");
    }
    match go_env("GOSUMDB") {
        Some(spec) => (spec, "`go env GOSUMDB`"),
        None => ("off".to_string(), "default"),
    }
}

/// The modules not checked against the checksum database: configured, else `$GONOSUMDB`,
/// else `$GOPRIVATE` (the go command's own fallback), else none. (The `--private` patterns
/// are added by the depot, whatever this says.)
pub(crate) fn nosumdb(configured: Option<&str>) -> String {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    configured
        .map(str::to_string)
        .or_else(|| env("GONOSUMDB"))
        .or_else(|| env("GOPRIVATE"))
        .unwrap_or_default()
}

/// `go env GOPROXY`, when a go binary is on PATH.
fn go_env_goproxy() -> Option<String> {
    go_env("GOPROXY")
}

/// `go env <name>`, when a go binary is on PATH.
fn go_env(name: &str) -> Option<String> {
    let output = Command::new("go").args(["env", name]).output().ok()?;
    let value = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !value.is_empty()).then_some(value)
}

/// An upstream that is this very server would loop forever.
fn refuse_self(list: &ProxyList, listen: SocketAddr) -> Result<(), Failure> {
    for entry in &list.entries {
        let Endpoint::Http(url) = &entry.endpoint else {
            continue;
        };
        if points_at(url.base(), listen) {
            return Err(Failure::config(format!(
                "upstream {url} is this godepot itself ({listen}): it would loop"
            ))
            .hint("point --upstream at another proxy"));
        }
    }
    Ok(())
}

fn points_at(url: &str, listen: SocketAddr) -> bool {
    let Ok(parsed) = host_and_port(url) else {
        return false;
    };
    let (host, port) = parsed;
    if port != listen.port() {
        return false;
    }
    let loopback_or_any = listen.ip().is_loopback() || listen.ip().is_unspecified();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => ip == listen.ip() || (loopback_or_any && ip.is_loopback()),
        Err(_) => host.eq_ignore_ascii_case("localhost") && loopback_or_any,
    }
}

/// Host and effective port of an http(s) URL.
fn host_and_port(url: &str) -> Result<(String, u16), ()> {
    let rest = url
        .strip_prefix("http://")
        .map(|r| (r, 80))
        .or_else(|| url.strip_prefix("https://").map(|r| (r, 443)))
        .ok_or(())?;
    let (rest, default_port) = rest;
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => {
            Ok((host.to_string(), port.parse().map_err(|_| ())?))
        }
        _ => Ok((authority.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_loops_are_recognised() {
        let listen: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert!(points_at("http://127.0.0.1:3000", listen));
        assert!(points_at("http://localhost:3000/", listen));
        assert!(points_at("http://[::1]:3000", listen));
        assert!(!points_at("http://127.0.0.1:3001", listen));
        assert!(!points_at("http://proxy.corp.example:3000", listen));
        let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert!(points_at("http://localhost", any));
        assert!(!points_at("https://localhost", any));
    }

    #[test]
    fn direct_is_accepted() {
        let listen: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert!(upstream(Some("direct"), listen).is_ok_and(|r| r.list.has_direct));
        assert!(upstream(Some("http://127.0.0.1:9,direct"), listen).is_ok());
        assert!(upstream(Some("http://127.0.0.1:9"), listen).is_ok());
        assert!(upstream(Some("http://127.0.0.1:3000"), listen).is_err());
    }
}
