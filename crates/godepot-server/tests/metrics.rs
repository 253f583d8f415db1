//! `/metrics` through the router (`oneshot`): the exposition parses, and its counters move
//! as the requests made.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use godepot_depot::{Depot, DepotOptions};
use godepot_module::{ModulePath, Version};
use godepot_server::{Access, Activity, Metrics, ServerOptions};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};
use prometheus_parse::{Scrape, Value};
use tower::ServiceExt;

const GO_MOD: &str = "module example.com/a\n\ngo 1.21\n";

struct Rig {
    tmp: tempfile::TempDir,
    depot: Depot,
}

/// An offline depot whose store holds example.com/a@v1.0.0's `.info` and `.mod`.
fn rig() -> Rig {
    let tmp = tempfile::tempdir().unwrap();
    let store = LocalStore::open(tmp.path().join("data")).unwrap();
    let key = |kind| {
        ArtifactKey::new(
            ModulePath::parse("example.com/a").unwrap(),
            Version::parse("v1.0.0").unwrap(),
            kind,
        )
    };
    let info = br#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#;
    store.put(&key(Kind::Info), info).unwrap();
    store.put(&key(Kind::Mod), GO_MOD.as_bytes()).unwrap();
    let options = DepotOptions {
        offline: true,
        ..DepotOptions::default()
    };
    let depot = Depot::new(Arc::new(store), None, options);
    Rig { tmp, depot }
}

fn options(metrics: Metrics, access: Option<Arc<Access>>) -> ServerOptions {
    ServerOptions {
        list_ttl: Duration::from_secs(60),
        instance_id: "test".into(),
        activity: Arc::new(Activity::default()),
        access,
        audit: None,
        remover: None,
        version: "godepot test".into(),
        index: None,
        metrics: Arc::new(metrics),
        about: godepot_server::About::default(),
    }
}

async fn get(router: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of the sample `name{labels}` (exactly those labels).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = scrape.samples.iter().find(|s| {
        s.metric == name
            && s.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    });
    match found.map(|s| &s.value) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        other => panic!("{name}{labels:?}: {other:?}"),
    }
}

/// `_count` of the histogram `name{labels}`.
fn count(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, &format!("{name}_count"), labels)
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the exposition parses")
}

#[tokio::test]
async fn counters_move_as_the_requests_made() {
    let rig = rig();
    let metrics = Metrics::default().with_store_totals(Arc::new(|| Some((1, 123))));
    let router = godepot_server::router(rig.depot.clone(), options(metrics, None));

    let before = parse(&get(&router, "/metrics", None).await.1);
    let mod_hits = [("kind", "mod"), ("status", "2xx"), ("cache", "hit")];
    assert_eq!(
        value(&before, "godepot_http_requests_total", &mod_hits),
        0.0
    );

    for _ in 0..2 {
        let (status, body) = get(&router, "/example.com/a/@v/v1.0.0.mod", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, GO_MOD));
    }
    assert_eq!(
        get(&router, "/example.com/a/@v/v1.0.0.info", None).await.0,
        StatusCode::OK
    );
    let missing = get(&router, "/example.com/a/@v/v1.9.0.mod", None).await.0;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    let invalid = get(&router, "/Example.com/a/@v/list", None).await.0;
    assert_eq!(invalid, StatusCode::BAD_REQUEST);

    let (status, text) = get(&router, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !text.contains("example.com"),
        "a module path became a label:\n{text}"
    );
    let after = parse(&text);
    let requests = "godepot_http_requests_total";
    assert_eq!(value(&after, requests, &mod_hits), 2.0);
    let info_hits = [("kind", "info"), ("status", "2xx"), ("cache", "hit")];
    assert_eq!(value(&after, requests, &info_hits), 1.0);
    let not_found = [("kind", "mod"), ("status", "4xx"), ("cache", "none")];
    assert_eq!(value(&after, requests, &not_found), 1.0);
    // The bad request, and the first scrape: neither is a module request.
    let other_4xx = [("kind", "other"), ("status", "4xx"), ("cache", "none")];
    assert_eq!(value(&after, requests, &other_4xx), 1.0);
    let other_2xx = [("kind", "other"), ("status", "2xx"), ("cache", "none")];
    assert_eq!(value(&after, requests, &other_2xx), 1.0);

    let bytes = value(
        &after,
        "godepot_http_response_bytes_total",
        &[("kind", "mod")],
    );
    let not_found_body = bytes - 2.0 * GO_MOD.len() as f64;
    assert!(not_found_body > 0.0, "the 404's reason counts too: {bytes}");
    let duration = "godepot_http_request_duration_seconds";
    assert_eq!(count(&after, duration, &[("kind", "mod")]), 3.0);
    assert_eq!(count(&after, duration, &[("kind", "zip")]), 0.0);

    assert_eq!(value(&after, "godepot_store_versions", &[]), 1.0);
    assert_eq!(value(&after, "godepot_store_bytes", &[]), 123.0);
    assert_eq!(value(&after, "godepot_offline", &[]), 1.0);
    assert_eq!(value(&after, "godepot_fetches_in_flight", &[]), 0.0);
    // This scrape is in flight while it is written.
    assert_eq!(value(&after, "godepot_http_requests_in_flight", &[]), 1.0);
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 0.0);
    assert!(value(&after, "process_open_fds", &[]) > 0.0);
    assert!(value(&after, "process_start_time_seconds", &[]) > 1.6e9);
}

#[tokio::test]
async fn with_require_auth_metrics_take_a_read_token_and_refusals_are_counted() {
    let rig = rig();
    let tokens = godepot_auth::TokenStore::new(std::sync::Arc::new(
        godepot_store::LocalStore::open(rig.tmp.path().join("data")).unwrap(),
    ));
    let (_, secret) = tokens
        .add(
            "prometheus",
            godepot_auth::Scope::Read,
            None,
            SystemTime::now(),
        )
        .unwrap();
    let access = Arc::new(Access::new(tokens).unwrap());
    let router =
        godepot_server::router(rig.depot.clone(), options(Metrics::default(), Some(access)));
    let text = "[[deny]]\nmodule = \"example.com/a\"\nreason = \"CVE-2099-0001\"\n";
    rig.depot
        .set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());

    assert_eq!(
        get(&router, "/metrics", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&router, "/metrics", Some("gdp_wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let token = Some(secret.expose());
    let blocked = get(&router, "/example.com/a/@v/v1.0.0.mod", token).await.0;
    assert_eq!(blocked, StatusCode::FORBIDDEN);

    let (status, text) = get(&router, "/metrics", token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!text.contains(secret.expose()), "{text}");
    let after = parse(&text);
    let failures = "godepot_auth_failures_total";
    assert_eq!(value(&after, failures, &[("reason", "missing")]), 1.0);
    assert_eq!(value(&after, failures, &[("reason", "unknown")]), 1.0);
    assert_eq!(value(&after, failures, &[("reason", "wrong_scope")]), 0.0);
    assert_eq!(value(&after, "godepot_policy_blocks_total", &[]), 1.0);
    let refused = [("kind", "other"), ("status", "4xx"), ("cache", "none")];
    assert_eq!(value(&after, "godepot_http_requests_total", &refused), 2.0);
    let blocked = [("kind", "mod"), ("status", "4xx"), ("cache", "none")];
    assert_eq!(value(&after, "godepot_http_requests_total", &blocked), 1.0);
}
