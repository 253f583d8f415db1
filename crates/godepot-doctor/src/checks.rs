//! The checks: pure functions of the go environment, what the server says it serves, and
//! what the probes found. Each gives one [`Check`]; a finding carries the line that fixes it.

use godepot_module::matches_glob_prefix;
use godepot_upstream::url::redact;
use serde::Serialize;

use crate::fix::Fix;
use crate::goenv::{GoEnv, patterns};
use crate::probe::{Probe, ProbeFailure, Probes, Target};
use crate::server::{ServerInfo, ServerUrl};

/// Everything the checks look at.
#[derive(Debug)]
pub struct Facts<'a> {
    pub env: &'a GoEnv,
    pub server: &'a ServerUrl,
    /// Whether the directory `-mod=vendor` would read ([`GoEnv::vendor_dir`]) exists.
    pub vendor_present: bool,
    pub target: &'a Target,
    pub probes: &'a Probes,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Finding,
    /// Could not be checked: what it needs from the server is missing (itself a finding).
    Skipped,
}

/// One check's verdict, in words, and for a finding the line that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// A stable name, for scripts (`goproxy`, `healthz`, ...).
    pub name: &'static str,
    pub status: Status,
    pub summary: String,
    /// The exact line to run (`go env -w ...`, or a command on the server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            summary: summary.into(),
            fix: None,
        }
    }

    fn finding(name: &'static str, summary: impl Into<String>, fix: Option<Fix>) -> Check {
        Check {
            name,
            status: Status::Finding,
            summary: summary.into(),
            fix: fix.map(|f| f.line()),
        }
    }

    fn skipped(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skipped,
            summary: summary.into(),
            fix: None,
        }
    }
}

/// Every check, in the order a reader follows them.
pub fn diagnose(facts: &Facts<'_>) -> Vec<Check> {
    let info = facts.probes.info.ok();
    let with_info = |name: &'static str, check: fn(&GoEnv, &ServerInfo) -> Check| match info {
        Some(info) => check(facts.env, info),
        None => Check::skipped(name, "needs the server's /api/server"),
    };
    vec![
        goproxy(facts),
        healthz(facts),
        server_info(facts),
        with_info("gonoproxy", gonoproxy),
        with_info("gonosumdb", gonosumdb),
        with_info("gosumdb", gosumdb),
        with_info("goinsecure", goinsecure),
        goflags(facts),
        fetch(facts),
    ]
}

/// The entries of a `GOPROXY` list, in order (`,` and `|` alike).
pub(crate) fn goproxy_entries(goproxy: &str) -> Vec<&str> {
    goproxy
        .split([',', '|'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

/// The go command asks the server first: nothing before it answers in its place.
fn goproxy(facts: &Facts<'_>) -> Check {
    const NAME: &str = "goproxy";
    let server = facts.server;
    let goproxy = facts.env.get("GOPROXY");
    let entries = goproxy_entries(goproxy);
    let fix = || Some(Fix::set(facts.env, "GOPROXY", &server.to_string()));
    let shown = redact(goproxy);
    match entries.iter().position(|e| server.is(e)) {
        Some(0) => Check::ok(NAME, format!("GOPROXY asks {server} first")),
        Some(i) if entries[..i].contains(&"off") => Check::finding(
            NAME,
            format!("GOPROXY={shown}: `off` comes before {server}, so nothing is downloaded"),
            fix(),
        ),
        Some(i) => {
            let before = redact(&entries[..i].join(","));
            let why = if entries[..i].contains(&"direct") {
                "`direct` fetches every module straight from its repository"
            } else {
                "another proxy answers first, and the server is asked only for what that one lacks"
            };
            Check::finding(
                NAME,
                format!("GOPROXY={shown} asks {before} before {server}, bypassing it: {why}"),
                fix(),
            )
        }
        None if entries.first() == Some(&"off") => Check::finding(
            NAME,
            "GOPROXY=off: the go command downloads nothing".to_string(),
            fix(),
        ),
        None => Check::finding(
            NAME,
            format!("GOPROXY={shown} does not name {server}: the go command never asks it"),
            fix(),
        ),
    }
}

/// The server answers at all.
fn healthz(facts: &Facts<'_>) -> Check {
    const NAME: &str = "healthz";
    let server = facts.server;
    let failure = match &facts.probes.healthz {
        Probe::Ok { .. } => return Check::ok(NAME, format!("{server}/healthz answers")),
        Probe::NotRun => return Check::skipped(NAME, "not asked"),
        Probe::Failed(failure) => failure,
    };
    let (host, port) = server.host_port();
    let local = matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost");
    let listen = if local {
        format!("127.0.0.1:{port}")
    } else {
        format!(":{port}")
    };
    let tls = if server.is_https() {
        " --tls-cert CERT.pem --tls-key KEY.pem"
    } else {
        ""
    };
    let whom = if local {
        String::new()
    } else {
        format!("; start it on {host}")
    };
    Check::finding(
        NAME,
        format!(
            "{server}/healthz does not answer ({}){whom}",
            describe(failure)
        ),
        Some(Fix::command(format!(
            "godepot serve --listen {listen}{tls}"
        ))),
    )
}

/// `/api/server` is read: the server is a godepot, and this machine may ask it.
fn server_info(facts: &Facts<'_>) -> Check {
    const NAME: &str = "server-info";
    let failure = match &facts.probes.info {
        Probe::Ok { value } => {
            let auth = if value.require_auth {
                ", tokens required"
            } else {
                ""
            };
            return Check::ok(
                NAME,
                format!("godepot {}, {}{auth}", value.godepot, value.mode),
            );
        }
        Probe::NotRun => return Check::skipped(NAME, "not asked: the server does not answer"),
        Probe::Failed(failure) => failure,
    };
    match failure.status {
        Some(401 | 403) => refused(NAME, facts.server, failure),
        Some(404) => Check::finding(
            NAME,
            format!(
                "{} answers /healthz but not /api/server (404): not a godepot, or one older than this doctor",
                facts.server
            ),
            None,
        ),
        _ => Check::finding(NAME, format!("/api/server: {}", describe(failure)), None),
    }
}

/// A request refused for want of a token: where the go command takes one from.
fn refused(name: &'static str, server: &ServerUrl, failure: &ProbeFailure) -> Check {
    let (host, _) = server.host_port();
    if server.is_https() {
        Check::finding(
            name,
            format!(
                "{server} wants a token ({}); the go command sends the one in ~/.netrc (or $NETRC)",
                describe(failure)
            ),
            Some(Fix::command(format!(
                "printf 'machine {host} login token password %s\\n' \"$GODEPOT_TOKEN\" >> ~/.netrc"
            ))),
        )
    } else {
        Check::finding(
            name,
            format!(
                "{server} wants a token ({}), and the go command sends credentials over HTTPS only: serve it with --tls-cert and --tls-key",
                describe(failure)
            ),
            None,
        )
    }
}

/// A failure in a few words: the status when there was one, and its reason.
fn describe(failure: &ProbeFailure) -> String {
    match failure.status {
        Some(status) => format!("{status}: {}", failure.reason),
        None => failure.reason.clone(),
    }
}

/// Whether two pattern lists could match a common module: each pattern is read as a path
/// and matched by the other (`corp.example` and `corp.example/*` overlap).
fn overlaps(a: &str, b: &str) -> bool {
    matches_glob_prefix(a, b) || matches_glob_prefix(b, a)
}

/// `patterns` split into those overlapping any of `theirs` and the rest.
fn split_overlapping(patterns_list: &str, theirs: &[String]) -> (Vec<String>, Vec<String>) {
    patterns(patterns_list)
        .into_iter()
        .partition(|p| theirs.iter().any(|t| overlaps(p, t)))
}

/// `GONOPROXY` (by default `GOPRIVATE`) does not send the server's own private modules
/// around it.
fn gonoproxy(env: &GoEnv, info: &ServerInfo) -> Check {
    const NAME: &str = "gonoproxy";
    if info.private.is_empty() {
        return Check::ok(
            NAME,
            "the server fetches no private modules itself: GONOPROXY is yours to set",
        );
    }
    let theirs = info.private.join(",");
    let (bypassing, rest) = split_overlapping(env.get("GONOPROXY"), &info.private);
    if bypassing.is_empty() {
        return Check::ok(
            NAME,
            format!("the server's private modules ({theirs}) are asked of it"),
        );
    }
    // Unset, GONOPROXY falls back to GOPRIVATE; `none` matches no module.
    let value = match (rest.is_empty(), env.get("GOPRIVATE").is_empty()) {
        (false, _) => rest.join(","),
        (true, true) => String::new(),
        (true, false) => "none".to_string(),
    };
    Check::finding(
        NAME,
        format!(
            "GONOPROXY={} (GOPRIVATE={}) covers {} of the modules the server fetches from their repositories itself ({theirs}): the go command bypasses the server for them, and needs git and credentials on this machine",
            env.get("GONOPROXY"),
            env.get("GOPRIVATE"),
            bypassing.join(",")
        ),
        Some(Fix::set_or_unset(env, "GONOPROXY", &value)),
    )
}

/// The server's private modules are not looked up in a checksum database, which cannot
/// know them (the server answers such a lookup 404).
fn gonosumdb(env: &GoEnv, info: &ServerInfo) -> Check {
    const NAME: &str = "gonosumdb";
    if env.get("GOSUMDB") == "off" {
        return Check::ok(NAME, "GOSUMDB=off: nothing is looked up");
    }
    let nosumdb = env.get("GONOSUMDB");
    let missing: Vec<&String> = info
        .private
        .iter()
        .filter(|p| !matches_glob_prefix(nosumdb, p))
        .collect();
    if missing.is_empty() {
        return Check::ok(
            NAME,
            "GONOSUMDB covers the server's private modules (if any)",
        );
    }
    let mut value = patterns(nosumdb);
    value.extend(missing.iter().map(|p| p.to_string()));
    let missing: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
    Check::finding(
        NAME,
        format!(
            "GONOSUMDB does not cover {}, which the server fetches from their repositories: the go command asks the checksum database about them, which cannot know them, and fails (verifying module: 404)",
            missing.join(",")
        ),
        Some(Fix::set(env, "GONOSUMDB", &value.join(","))),
    )
}

/// `GOSUMDB` names a database the go command can reach: through the server, or (online)
/// directly.
fn gosumdb(env: &GoEnv, info: &ServerInfo) -> Check {
    const NAME: &str = "gosumdb";
    let gosumdb = env.get("GOSUMDB");
    let proxied: Vec<&str> = info.sumdb.iter().map(|db| db.name.as_str()).collect();
    let proxied = proxied.join(",");
    if gosumdb == "off" {
        return match info.sumdb.first() {
            None => Check::ok(
                NAME,
                "GOSUMDB=off, and the server proxies no checksum database",
            ),
            Some(db) => Check::finding(
                NAME,
                format!(
                    "GOSUMDB=off: downloads are not checked against {proxied}, which the server proxies"
                ),
                Some(Fix::set(env, "GOSUMDB", db.gosumdb())),
            ),
        };
    }
    let mut words = gosumdb.split_whitespace();
    let id = words.next().unwrap_or("");
    let own_url = words.next().is_some();
    let name = id.split('+').next().unwrap_or("");
    let Some(db) = info.sumdb.iter().find(|db| db.name == name) else {
        if !info.is_offline() {
            return Check::ok(
                NAME,
                format!(
                    "GOSUMDB={name} is not proxied by the server: the go command asks it directly"
                ),
            );
        }
        let (value, instead) = match info.sumdb.first() {
            Some(db) => (db.gosumdb(), format!("use {}, which it proxies", db.name)),
            None => (
                "off",
                "the server proxies none (or give it --sumdb)".to_string(),
            ),
        };
        return Check::finding(
            NAME,
            format!(
                "GOSUMDB={name} is not proxied by the server, which is offline: the go command cannot reach it, and fails on every module not in go.sum; {instead}"
            ),
            Some(Fix::set(env, "GOSUMDB", value)),
        );
    };
    if let Some(key) = &db.key
        && id.contains('+')
        && id != key
    {
        return Check::finding(
            NAME,
            format!(
                "GOSUMDB's key for {name} is not the one the server verifies it with: the go command will refuse its answers"
            ),
            Some(Fix::set(env, "GOSUMDB", key)),
        );
    }
    if own_url && info.is_offline() {
        return Check::finding(
            NAME,
            format!(
                "GOSUMDB gives {name} its own URL, so the go command asks it there rather than through the server, which is offline"
            ),
            Some(Fix::set(env, "GOSUMDB", id)),
        );
    }
    Check::ok(NAME, format!("GOSUMDB={name}: checked through the server"))
}

/// `GOINSECURE` does not relax how the server's own private modules would be fetched
/// around it: with the server fetching them, it is a leftover that only weakens a bypass.
fn goinsecure(env: &GoEnv, info: &ServerInfo) -> Check {
    const NAME: &str = "goinsecure";
    let (overlap, rest) = split_overlapping(env.get("GOINSECURE"), &info.private);
    if overlap.is_empty() {
        return Check::ok(NAME, "GOINSECURE relaxes nothing the server serves");
    }
    Check::finding(
        NAME,
        format!(
            "GOINSECURE lets the go command fetch {} over plain http or unverified TLS, modules the server fetches itself (with its own --insecure): it matters only when the go command bypasses the server",
            overlap.join(",")
        ),
        Some(Fix::set_or_unset(env, "GOINSECURE", &rest.join(","))),
    )
}

/// `GOFLAGS` does not make every build fail: `-mod=vendor` needs a vendor directory.
fn goflags(facts: &Facts<'_>) -> Check {
    const NAME: &str = "goflags";
    let env = facts.env;
    let goflags = env.get("GOFLAGS");
    let is_vendor = |f: &&str| matches!(*f, "-mod=vendor" | "--mod=vendor");
    if !goflags.split_whitespace().any(|f| is_vendor(&f)) {
        return Check::ok(NAME, "GOFLAGS changes nothing about fetching");
    }
    let Some(vendor) = env.vendor_dir() else {
        return Check::ok(NAME, "GOFLAGS has -mod=vendor; not in a module here");
    };
    if facts.vendor_present {
        return Check::ok(
            NAME,
            format!(
                "GOFLAGS has -mod=vendor: builds here read {}, not the server",
                vendor.display()
            ),
        );
    }
    let rest: Vec<&str> = goflags
        .split_whitespace()
        .filter(|f| !is_vendor(f))
        .collect();
    Check::finding(
        NAME,
        format!(
            "GOFLAGS has -mod=vendor, but there is no {}: every build in this module fails (or run `go mod vendor`)",
            vendor.display()
        ),
        Some(Fix::set_or_unset(env, "GOFLAGS", &rest.join(" "))),
    )
}

/// One real request through the protocol works.
fn fetch(facts: &Facts<'_>) -> Check {
    const NAME: &str = "fetch";
    let target = facts.target;
    let asked = format!("GET /{} ({})", target.path, target.why);
    let failure = match &facts.probes.fetch {
        Probe::Ok { value } => {
            return Check::ok(NAME, format!("{asked}: 200, {value} version(s)"));
        }
        Probe::NotRun => return Check::skipped(NAME, "not asked: the server does not answer"),
        Probe::Failed(failure) => failure,
    };
    let offline = facts.probes.info.ok().is_some_and(ServerInfo::is_offline);
    match failure.status {
        Some(404 | 410) if !target.must_exist => Check::ok(
            NAME,
            format!("{asked}: {} (the server answered)", describe(failure)),
        ),
        Some(404 | 410) if offline => Check::finding(
            NAME,
            format!(
                "{asked}: {}; the server is offline and does not hold it: gather it outside (godepot prefetch), then export and import the bundle",
                describe(failure)
            ),
            facts
                .env
                .go_mod()
                .map(|m| Fix::command(format!("godepot prefetch {}", m.display()))),
        ),
        Some(401 | 403) => refused(NAME, facts.server, failure),
        _ => Check::finding(NAME, format!("{asked}: {}", describe(failure)), None),
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
