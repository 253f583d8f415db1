//! Table tests: each case is a go environment, a server and probe outcomes, and the one
//! check's expected status and fix line.

use super::*;
use crate::server::ServerSumdb;

const SERVER: &str = "http://127.0.0.1:3000";

fn info(private: &[&str], sumdb: &[(&str, Option<&str>)], mode: &str) -> ServerInfo {
    ServerInfo {
        godepot: "0.1.0".into(),
        mode: mode.into(),
        sumdb: sumdb
            .iter()
            .map(|(name, key)| ServerSumdb {
                name: name.to_string(),
                key: key.map(str::to_string),
            })
            .collect(),
        private: private.iter().map(|p| p.to_string()).collect(),
        base_url: Some(SERVER.into()),
        require_auth: false,
    }
}

fn healthy(info: ServerInfo) -> Probes {
    Probes {
        healthz: Probe::Ok { value: () },
        info: Probe::Ok { value: info },
        fetch: Probe::Ok { value: 3 },
    }
}

fn module_target() -> Target {
    Target {
        path: "example.com/m/@v/list".into(),
        why: "example.com/m, required by this module".into(),
        must_exist: true,
    }
}

/// The default environment of a developer already set up right.
const GOOD: &[(&str, &str)] = &[
    ("GOPROXY", SERVER),
    ("GOSUMDB", "sum.example"),
    ("GONOSUMDB", "corp.example"),
    ("GOPRIVATE", ""),
    ("GONOPROXY", ""),
    ("GOINSECURE", ""),
    ("GOFLAGS", ""),
    ("GOMOD", "/src/app/go.mod"),
];

/// `GOOD` with some variables changed.
fn env(changes: &[(&str, &str)], from_os: &[&str]) -> GoEnv {
    let mut pairs: Vec<(&str, &str)> = GOOD
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .copied()
        .collect();
    pairs.extend_from_slice(changes);
    GoEnv::from_pairs(&pairs, from_os)
}

struct Case {
    what: &'static str,
    env: GoEnv,
    probes: Probes,
    vendor_present: bool,
    check: &'static str,
    status: Status,
    fix: Option<&'static str>,
}

fn case(what: &'static str, env: GoEnv, check: &'static str, status: Status) -> Case {
    Case {
        what,
        env,
        probes: healthy(info(&["corp.example"], &[("sum.example", None)], "online")),
        vendor_present: false,
        check,
        status,
        fix: None,
    }
}

impl Case {
    fn fix(mut self, line: &'static str) -> Case {
        self.fix = Some(line);
        self
    }

    fn probes(mut self, probes: Probes) -> Case {
        self.probes = probes;
        self
    }

    fn vendor(mut self) -> Case {
        self.vendor_present = true;
        self
    }
}

fn run(cases: Vec<Case>) {
    let server = ServerUrl::parse(SERVER).unwrap();
    let target = module_target();
    for c in cases {
        let facts = Facts {
            env: &c.env,
            server: &server,
            vendor_present: c.vendor_present,
            target: &target,
            probes: &c.probes,
        };
        let checks = diagnose(&facts);
        let got = checks
            .iter()
            .find(|k| k.name == c.check)
            .unwrap_or_else(|| panic!("{}: no check {}", c.what, c.check));
        assert_eq!(got.status, c.status, "{}: {got:?}", c.what);
        assert_eq!(got.fix.as_deref(), c.fix, "{}: {got:?}", c.what);
    }
}

#[test]
fn a_good_setup_has_no_finding() {
    let server = ServerUrl::parse(SERVER).unwrap();
    let env = env(&[], &[]);
    let probes = healthy(info(&["corp.example"], &[("sum.example", None)], "online"));
    let target = module_target();
    let checks = diagnose(&Facts {
        env: &env,
        server: &server,
        vendor_present: false,
        target: &target,
        probes: &probes,
    });
    let findings: Vec<_> = checks.iter().filter(|c| c.status != Status::Ok).collect();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn goproxy() {
    use Status::*;
    let fix = "go env -w GOPROXY=http://127.0.0.1:3000";
    run(vec![
        case(
            "first",
            env(&[("GOPROXY", "http://127.0.0.1:3000/,direct")], &[]),
            "goproxy",
            Ok,
        ),
        case(
            "pipe",
            env(&[("GOPROXY", "http://127.0.0.1:3000|off")], &[]),
            "goproxy",
            Ok,
        ),
        case(
            "wrong port",
            env(&[("GOPROXY", "http://127.0.0.1:3001")], &[]),
            "goproxy",
            Finding,
        )
        .fix(fix),
        case(
            "direct first",
            env(&[("GOPROXY", "direct,http://127.0.0.1:3000")], &[]),
            "goproxy",
            Finding,
        )
        .fix(fix),
        case(
            "other proxy first",
            env(
                &[(
                    "GOPROXY",
                    "https://proxy.corp.example|http://127.0.0.1:3000",
                )],
                &[],
            ),
            "goproxy",
            Finding,
        )
        .fix(fix),
        case("off", env(&[("GOPROXY", "off")], &[]), "goproxy", Finding).fix(fix),
        case(
            "off before",
            env(&[("GOPROXY", "off,http://127.0.0.1:3000")], &[]),
            "goproxy",
            Finding,
        )
        .fix(fix),
        case(
            "from the OS",
            env(&[("GOPROXY", "direct")], &["GOPROXY"]),
            "goproxy",
            Finding,
        )
        .fix("export GOPROXY=http://127.0.0.1:3000"),
    ]);
}

#[test]
fn server_probes() {
    use Status::*;
    let down = Probes {
        healthz: Probe::failed(None, "connection refused"),
        info: Probe::NotRun,
        fetch: Probe::NotRun,
    };
    let no_info = |status| Probes {
        healthz: Probe::Ok { value: () },
        info: Probe::failed(Some(status), "nope"),
        fetch: Probe::Ok { value: 1 },
    };
    let fetch = |status| Probes {
        fetch: Probe::failed(Some(status), "not found"),
        ..healthy(info(&[], &[], "offline"))
    };
    let good = env(&[], &[]);
    run(vec![
        case("down", good.clone(), "healthz", Finding)
            .probes(down.clone())
            .fix("godepot serve --listen 127.0.0.1:3000"),
        case("down: info skipped", good.clone(), "server-info", Skipped).probes(down.clone()),
        case("down: private skipped", good.clone(), "gonoproxy", Skipped).probes(down.clone()),
        case("down: fetch skipped", good.clone(), "fetch", Skipped).probes(down),
        case("not a godepot", good.clone(), "server-info", Finding).probes(no_info(404)),
        case("token over http", good.clone(), "server-info", Finding).probes(no_info(401)),
        case("module missing offline", good.clone(), "fetch", Finding)
            .probes(fetch(404))
            .fix("godepot prefetch /src/app/go.mod"),
        case("upstream trouble", good.clone(), "fetch", Finding).probes(fetch(502)),
        case("fetch works", good, "fetch", Ok),
    ]);
}

#[test]
fn private_modules() {
    use Status::*;
    run(vec![
        case(
            "GOPRIVATE covers them",
            env(
                &[("GOPRIVATE", "corp.example"), ("GONOPROXY", "corp.example")],
                &[],
            ),
            "gonoproxy",
            Finding,
        )
        .fix("go env -w GONOPROXY=none"),
        case(
            "GONOPROXY alone",
            env(&[("GONOPROXY", "*.example")], &[]),
            "gonoproxy",
            Finding,
        )
        .fix("go env -u GONOPROXY"),
        case(
            "more specific",
            env(&[("GONOPROXY", "corp.example/team,git.other.example")], &[]),
            "gonoproxy",
            Finding,
        )
        .fix("go env -w GONOPROXY=git.other.example"),
        case(
            "elsewhere",
            env(&[("GONOPROXY", "git.other.example")], &[]),
            "gonoproxy",
            Ok,
        ),
        case(
            "not in GONOSUMDB",
            env(&[("GONOSUMDB", "git.other.example")], &[]),
            "gonosumdb",
            Finding,
        )
        .fix("go env -w GONOSUMDB=git.other.example,corp.example"),
        case(
            "GONOSUMDB by glob",
            env(&[("GONOSUMDB", "*.example")], &[]),
            "gonosumdb",
            Ok,
        ),
        case(
            "no lookups at all",
            env(&[("GONOSUMDB", ""), ("GOSUMDB", "off")], &[]),
            "gonosumdb",
            Ok,
        )
        .probes(healthy(info(&["corp.example"], &[], "online"))),
        case(
            "GOINSECURE on them",
            env(&[("GOINSECURE", "corp.example/*,git.other.example")], &[]),
            "goinsecure",
            Finding,
        )
        .fix("go env -w GOINSECURE=git.other.example"),
        case(
            "GOINSECURE elsewhere",
            env(&[("GOINSECURE", "git.other.example")], &[]),
            "goinsecure",
            Ok,
        ),
    ]);
}

#[test]
fn checksum_databases() {
    use Status::*;
    let key = "sum.example+01234567+AAAA";
    let offline_keyed = healthy(info(&[], &[("sum.example", Some(key))], "offline"));
    let offline_none = healthy(info(&[], &[], "offline"));
    run(vec![
        case(
            "off, server proxies one",
            env(&[("GOSUMDB", "off")], &[]),
            "gosumdb",
            Finding,
        )
        .fix("go env -w GOSUMDB=sum.example"),
        case(
            "off, keyed",
            env(&[("GOSUMDB", "off")], &[]),
            "gosumdb",
            Finding,
        )
        .probes(offline_keyed.clone())
        .fix("go env -w GOSUMDB=sum.example+01234567+AAAA"),
        case(
            "off, none proxied",
            env(&[("GOSUMDB", "off")], &[]),
            "gosumdb",
            Ok,
        )
        .probes(offline_none.clone()),
        case(
            "other db online",
            env(&[("GOSUMDB", "other.example")], &[]),
            "gosumdb",
            Ok,
        ),
        case(
            "other db offline",
            env(&[("GOSUMDB", "other.example")], &[]),
            "gosumdb",
            Finding,
        )
        .probes(offline_keyed.clone())
        .fix("go env -w GOSUMDB=sum.example+01234567+AAAA"),
        case(
            "other db offline, none proxied",
            env(&[("GOSUMDB", "other.example")], &[]),
            "gosumdb",
            Finding,
        )
        .probes(offline_none)
        .fix("go env -w GOSUMDB=off"),
        case(
            "wrong key",
            env(&[("GOSUMDB", "sum.example+76543210+BBBB")], &[]),
            "gosumdb",
            Finding,
        )
        .probes(offline_keyed.clone())
        .fix("go env -w GOSUMDB=sum.example+01234567+AAAA"),
        case(
            "own URL offline",
            env(
                &[("GOSUMDB", "sum.example+01234567+AAAA https://sum.example")],
                &[],
            ),
            "gosumdb",
            Finding,
        )
        .probes(offline_keyed.clone())
        .fix("go env -w GOSUMDB=sum.example+01234567+AAAA"),
        case("proxied", env(&[("GOSUMDB", key)], &[]), "gosumdb", Ok).probes(offline_keyed),
    ]);
}

#[test]
fn goflags() {
    use Status::*;
    run(vec![
        case(
            "no vendor dir",
            env(&[("GOFLAGS", "-mod=vendor")], &[]),
            "goflags",
            Finding,
        )
        .fix("go env -u GOFLAGS"),
        case(
            "keeps the rest",
            env(&[("GOFLAGS", "-trimpath --mod=vendor -x")], &[]),
            "goflags",
            Finding,
        )
        .fix("go env -w 'GOFLAGS=-trimpath -x'"),
        case(
            "from the OS",
            env(&[("GOFLAGS", "-mod=vendor")], &["GOFLAGS"]),
            "goflags",
            Finding,
        )
        .fix("unset GOFLAGS"),
        case(
            "vendored",
            env(&[("GOFLAGS", "-mod=vendor")], &[]),
            "goflags",
            Ok,
        )
        .vendor(),
        case(
            "outside a module",
            env(&[("GOFLAGS", "-mod=vendor"), ("GOMOD", "/dev/null")], &[]),
            "goflags",
            Ok,
        ),
        case(
            "other flags",
            env(&[("GOFLAGS", "-mod=mod")], &[]),
            "goflags",
            Ok,
        ),
    ]);
}

#[test]
fn credentials_in_goproxy_are_never_shown() {
    let secret = "s3cret-token";
    let goproxy =
        format!("https://dev:{secret}@other.corp.example,http://ci:{secret}@127.0.0.1:3000");
    let server = ServerUrl::from_goproxy(&goproxy).unwrap();
    let env = env(&[("GOPROXY", &goproxy)], &[]);
    let probes = Probes {
        healthz: Probe::failed(None, "connection refused"),
        info: Probe::NotRun,
        fetch: Probe::NotRun,
    };
    let target = module_target();
    let checks = diagnose(&Facts {
        env: &env,
        server: &server,
        vendor_present: false,
        target: &target,
        probes: &probes,
    });
    let shown = serde_json::to_string(&checks).unwrap();
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("***@other.corp.example"), "{shown}");
}
