//! `/metrics` end to end: the real go command downloads through godepot, the exposition
//! passes Prometheus' own checker (`promtool check metrics`) and moves with the downloads,
//! and a real Prometheus server scrapes godepot and answers queries over the series.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Rig, get, tail};
use godepot_testkit::{GoEnv, serde_json};
use prometheus_parse::{Scrape, Value};

/// A tool the test needs, or a loud failure naming the package to install.
fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is needed by this test and was not found: install Debian's `prometheus` package (see .ci/run)"
    );
}

fn scrape(gd: &godepot_testkit::GodepotProcess) -> (String, Scrape) {
    let r = get(gd, "/metrics");
    assert_eq!(r.status, 200, "/metrics: {}", r.text());
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text();
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses");
    (text, parsed)
}

/// The sum of every sample of `name` whose labels include `labels`.
fn sum(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

/// `promtool check metrics`: the Prometheus project's parser and linter (names, units,
/// `_total` on counters, HELP on every family).
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn go_downloads_move_the_counters_and_the_exposition_passes_promtool() {
    require("promtool");
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let go = GoEnv::new(&gd.url());
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    let (_, before) = scrape(&gd);
    assert_eq!(
        sum(&before, "godepot_http_requests_total", &[("kind", "zip")]),
        0.0
    );
    go.ok(&work, ["mod", "download", "example.com/f@v1.0.0"]);
    go.clean_modcache();
    go.ok(&work, ["mod", "download", "example.com/f@v1.0.0"]);

    let (text, after) = scrape(&gd);
    promtool_check(&text);
    let requests = "godepot_http_requests_total";
    let zip = |cache| [("kind", "zip"), ("status", "2xx"), ("cache", cache)];
    assert_eq!(sum(&after, requests, &zip("miss")), 1.0, "{}", tail(&gd));
    assert_eq!(sum(&after, requests, &zip("hit")), 1.0);
    assert!(sum(&after, requests, &[("kind", "mod"), ("status", "2xx")]) >= 2.0);
    let zip_len = rig.fixture("example.com/f", "v1.0.0", "zip").len() as f64;
    let sent = sum(
        &after,
        "godepot_http_response_bytes_total",
        &[("kind", "zip")],
    );
    assert_eq!(sent, 2.0 * zip_len);
    let kept = sum(&after, "godepot_store_kept_total", &[("kind", "zip")]);
    assert_eq!(kept, 1.0);

    // Upstream, labelled by the proxy's address from configuration, never a module path.
    let upstream = rig.upstream.addr().to_string();
    let ok = [("upstream", upstream.as_str()), ("outcome", "ok")];
    assert!(
        sum(&after, "godepot_upstream_requests_total", &ok) >= 3.0,
        "{text}"
    );
    let received = "godepot_upstream_received_bytes_total";
    assert!(sum(&after, received, &[("upstream", upstream.as_str())]) >= zip_len);
    let latency = "godepot_upstream_request_duration_seconds_count";
    assert!(sum(&after, latency, &[("upstream", upstream.as_str())]) >= 3.0);
    assert!(
        !text.contains("example.com"),
        "a module path became a label"
    );
    assert_eq!(sum(&after, "godepot_fetches_in_flight", &[]), 0.0);
    assert_eq!(sum(&after, "godepot_flight_waiters", &[]), 0.0);
    assert!(sum(&after, "process_cpu_seconds_total", &[]) > 0.0);

    // The dashboard is built on names godepot shows (the store's totals come with an index).
    let names = dashboard_names();
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        let shown = text.contains(&format!("# TYPE {name} "));
        let from_index = matches!(
            name.as_str(),
            "godepot_store_versions" | "godepot_store_bytes"
        );
        assert!(
            shown || from_index,
            "the dashboard asks for {name}, which is not shown"
        );
    }
}

/// The metric names the dashboard's queries use (a histogram's `_bucket` taken off).
fn dashboard_names() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("dashboard JSON");
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr
                .match_indices("godepot_")
                .chain(expr.match_indices("process_"))
            {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.push(name.trim_end_matches("_bucket").to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// A Prometheus server on loopback, its storage in a temporary directory; killed on drop.
struct Prometheus {
    child: Child,
    url: String,
}

impl Prometheus {
    fn start(dir: &Path, target: &str) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: godepot\n    scrape_interval: 1s\n    \
                 scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The value of an instant query's single series, once there is one (bounded wait).
    fn query_until(&self, query: &str, want: impl Fn(f64) -> bool, log: &Path) -> f64 {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let url = format!("{}/api/v1/query?query={encoded}", self.url);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(r) = godepot_testkit::http::try_http_request("GET", &url, &[]) {
                last = r.text();
                let value = serde_json::from_str::<serde_json::Value>(&last)
                    .ok()
                    .and_then(|v| v["data"]["result"][0]["value"][1].as_str()?.parse().ok());
                if let Some(v) = value.filter(|&v| want(v)) {
                    return v;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "prometheus never answered {query} as wanted; last answer: {last}\nprometheus log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_godepot_and_queries_its_series() {
    require("prometheus");
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let go = GoEnv::new(&gd.url());
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    go.ok(&work, ["mod", "download", "example.com/f@v1.0.0"]);

    let dir = rig.tmp.path().join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();
    let prometheus = Prometheus::start(&dir, gd.addr());
    let log = dir.join("prometheus.log");
    prometheus.query_until("up{job=\"godepot\"}", |v| v == 1.0, &log);
    let zips = "sum(godepot_http_requests_total{kind=\"zip\",cache=\"miss\"})";
    assert_eq!(prometheus.query_until(zips, |v| v >= 1.0, &log), 1.0);
    let scrapes = "sum(godepot_http_request_duration_seconds_count{kind=\"other\"})";
    prometheus.query_until(scrapes, |v| v >= 1.0, &log);
    let upstream = "sum(godepot_upstream_requests_total{outcome=\"ok\"})";
    prometheus.query_until(upstream, |v| v >= 3.0, &log);
    prometheus.query_until(
        "process_resident_memory_bytes{job=\"godepot\"}",
        |v| v > 0.0,
        &log,
    );
    // A download made now shows in the series within a few scrapes.
    go.ok(&work, ["mod", "download", "example.com/f@v1.1.0"]);
    assert_eq!(prometheus.query_until(zips, |v| v >= 2.0, &log), 2.0);
}

#[test]
fn checksum_database_checks_are_counted_verified_and_refused() {
    let rig = Rig::small();
    let db = godepot_testkit::TestSumdb::build(&rig.universe, "sum.godepot.test", 13);
    let forged = godepot_testkit::universe::zip_bytes(&[
        ("example.com/f@v1.1.0/go.mod", b"module example.com/f\n"),
        ("example.com/f@v1.1.0/f.go", b"package f\n\nconst V = 666\n"),
    ]);
    rig.upstream.set_fault(
        "example.com/f/@v/v1.1.0.zip",
        godepot_testkit::Fault::ReplaceBody(forged),
    );
    let gd = rig.godepot(&["--sumdb", &db.gosumdb()]);

    assert_eq!(get(&gd, "/example.com/f/@v/v1.0.0.zip").status, 200);
    assert_eq!(get(&gd, "/example.com/f/@v/v1.1.0.zip").status, 502);

    let (text, after) = scrape(&gd);
    let checks = "godepot_sumdb_checks_total";
    assert_eq!(
        sum(&after, checks, &[("result", "verified")]),
        1.0,
        "{text}"
    );
    assert_eq!(sum(&after, checks, &[("result", "refused")]), 1.0);
    assert_eq!(sum(&after, checks, &[("result", "unavailable")]), 0.0);
    let failed = [("kind", "zip"), ("status", "5xx"), ("cache", "none")];
    assert_eq!(sum(&after, "godepot_http_requests_total", &failed), 1.0);
    assert_eq!(
        sum(&after, "godepot_store_kept_total", &[("kind", "zip")]),
        1.0
    );
    // The database's lookups went through the upstream proxy: counted there too.
    let upstream = rig.upstream.addr().to_string();
    let ok = [("upstream", upstream.as_str()), ("outcome", "ok")];
    assert!(sum(&after, "godepot_upstream_requests_total", &ok) >= 3.0);
}
