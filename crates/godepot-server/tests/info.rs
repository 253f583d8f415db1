//! `GET /api/server`, through the router alone (`oneshot`, no socket).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use godepot_depot::{Depot, DepotOptions, Fetchers};
use godepot_server::{About, Access, Activity, Metrics, ServerOptions, SumdbAbout};
use godepot_store::LocalStore;
use tower::ServiceExt;

fn options(access: Option<Arc<Access>>) -> ServerOptions {
    ServerOptions {
        list_ttl: std::time::Duration::from_secs(60),
        instance_id: "test".into(),
        activity: Arc::new(Activity::default()),
        access,
        audit: None,
        remover: None,
        version: "godepot test".into(),
        index: None,
        metrics: Arc::new(Metrics::default()),
        about: About {
            version: "9.8.7".into(),
            tls: false,
            private: vec!["corp.example/*".into()],
            sumdb: vec![SumdbAbout {
                name: "sum.example".into(),
                key: None,
            }],
        },
    }
}

fn offline_depot(dir: &std::path::Path) -> Depot {
    let store = Arc::new(LocalStore::open(dir).unwrap());
    let options = DepotOptions {
        offline: true,
        ..DepotOptions::default()
    };
    Depot::with_fetchers(store, Fetchers::offline(), None, options)
}

async fn get(
    router: axum::Router,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::get(path).header(header::HOST, "godepot.corp.example:3000");
    if let Some(token) = auth {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn describes_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let router = godepot_server::router(offline_depot(dir.path()), options(None));
    let (status, info) = get(router, "/api/server", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        info,
        serde_json::json!({
            "godepot": "9.8.7",
            "mode": "offline",
            "sumdb": [{"name": "sum.example"}],
            "private": ["corp.example/*"],
            "base_url": "http://godepot.corp.example:3000",
            "require_auth": false,
        })
    );
}

#[tokio::test]
async fn a_host_that_is_no_url_gives_no_base_url() {
    let dir = tempfile::tempdir().unwrap();
    let router = godepot_server::router(offline_depot(dir.path()), options(None));
    let request = Request::get("/api/server")
        .header(header::HOST, "user:secret@host\"x")
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(info.get("base_url").is_none(), "{info}");
    assert!(!String::from_utf8_lossy(&body).contains("secret"));
}

#[tokio::test]
async fn behind_require_auth_any_valid_token_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = godepot_auth::TokenStore::new(std::sync::Arc::new(
        godepot_store::LocalStore::open(dir.path()).unwrap(),
    ));
    let now = SystemTime::now();
    let (_, secret) = tokens
        .add("dev", godepot_auth::Scope::Read, None, now)
        .unwrap();
    let access = Arc::new(Access::new(tokens).unwrap());
    let router = godepot_server::router(offline_depot(dir.path()), options(Some(access)));

    let (status, _) = get(router.clone(), "/api/server", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get(router.clone(), "/api/server", Some("gdp_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, info) = get(router, "/api/server", Some(secret.expose())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["require_auth"], true);
}
