//! The pages and the API through the router, as a client sees them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use godepot_depot::{Depot, DepotOptions};
use godepot_index::Index;
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};
use tower_service::Service;

use crate::{Activity, ServerOptions, router};

/// A go.mod whose comment is markup, as anyone publishing a module may write.
const HOSTILE_GO_MOD: &str =
    "module example.com/a\n\n// <script>alert(1)</script> & more\nretract v1.0.0 // broken\n";

struct Fixture {
    _dir: tempfile::TempDir,
    depot: Depot,
    index: Arc<Index>,
    router: axum::Router,
}

fn put(store: &LocalStore, module: &str, version: &str, kind: Kind, data: &str) {
    let key = ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    );
    store.put(&key, data.as_bytes()).unwrap();
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let index = Index::attach(&store, &godepot_index::local_dir(dir.path())).unwrap();
    for version in ["v1.0.0", "v1.1.0"] {
        let info = format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}");
        put(&store, "example.com/a", version, Kind::Info, &info);
        put(&store, "example.com/a", version, Kind::Mod, HOSTILE_GO_MOD);
        put(&store, "example.com/a", version, Kind::Zip, "PK");
        put(&store, "example.com/a", version, Kind::ZipHash, "h1:abcd=");
    }
    put(
        &store,
        "corp.example/tools",
        "v0.1.0",
        Kind::Mod,
        "module corp.example/tools\n",
    );
    let options = DepotOptions {
        offline: true,
        ..DepotOptions::default()
    };
    let depot = Depot::new(Arc::new(store), None, options);
    let router = router(
        depot.clone(),
        ServerOptions {
            list_ttl: Duration::from_secs(60),
            instance_id: "test".into(),
            activity: Arc::new(Activity::default()),
            access: None,
            audit: None,
            remover: None,
            version: "godepot test".into(),
            about: crate::About::default(),
            metrics: Arc::new(crate::Metrics::default()),
            index: Some(Arc::clone(&index)),
        },
    );
    Fixture {
        _dir: dir,
        depot,
        index,
        router,
    }
}

impl Fixture {
    async fn get(&self, path: &str, accept: &str) -> (StatusCode, String, String) {
        let request = Request::get(path)
            .header(header::ACCEPT, accept)
            .header(header::HOST, "godepot.test:3000")
            .body(Body::empty())
            .unwrap();
        let response = self.router.clone().call(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    async fn page(&self, path: &str) -> String {
        let (status, content_type, body) = self.get(path, "text/html,*/*;q=0.8").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            !body.contains("<script"),
            "{path}: a script tag in the page"
        );
        body
    }

    async fn api(&self, path: &str) -> serde_json::Value {
        let (status, content_type, body) = self.get(path, "*/*").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(content_type, "application/json");
        serde_json::from_str(&body).unwrap()
    }
}

#[tokio::test]
async fn home_is_a_page_for_browsers_and_the_protocol_404_for_others() {
    let f = fixture();
    let body = f.page("/").await;
    assert!(body.contains("GOPROXY=http://godepot.test:3000"), "{body}");
    assert!(body.contains("offline"));
    assert!(body.contains("2 modules, 3 versions"), "{body}");
    assert!(body.contains("action=\"/search\""));
    let (status, _, _) = f.get("/", "*/*").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the go command's / is unchanged"
    );
}

#[tokio::test]
async fn search_finds_a_module_and_links_its_page() {
    let f = fixture();
    let body = f.page("/search?q=EXAMPLE.com%2Fa").await;
    assert!(body.contains("href=\"/module/example.com/a\""), "{body}");
    assert!(body.contains("1 found"));
    let json = f.api("/api/search?q=example&page=1").await;
    assert_eq!(json["total"], 2);
    assert_eq!(
        json["modules"][0]["path"], "example.com/a",
        "a prefix match first"
    );
    assert_eq!(json["modules"][1]["path"], "corp.example/tools");
}

#[tokio::test]
async fn module_page_lists_versions_newest_first_marks_retracted_and_escapes_go_mod() {
    let f = fixture();
    let body = f.page("/module/example.com/a").await;
    let (newer, older) = (body.find("v1.1.0").unwrap(), body.find(">v1.0.0<").unwrap());
    assert!(newer < older, "newest first");
    assert_eq!(body.matches("class=\"tag retracted\"").count(), 1, "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
        "{body}"
    );
    assert!(body.contains("go get example.com/a@v1.1.0"));
    assert!(body.contains("h1:abcd="));
    let json = f.api("/api/module/example.com/a").await;
    assert_eq!(json["versions"][0]["version"], "v1.1.0");
    assert_eq!(json["versions"][1]["retracted"], true);
    assert_eq!(json["versions"][0]["blocked"], false);
    assert_eq!(
        json["go_mod"], HOSTILE_GO_MOD,
        "JSON carries the text as it is"
    );
}

#[tokio::test]
async fn versions_the_policy_blocks_are_marked() {
    let f = fixture();
    let policy =
        "[[deny]]\nmodule = \"example.com/a\"\nversions = \"< v1.1.0\"\nreason = \"test\"\n";
    f.depot
        .set_policy(godepot_policy::Policy::parse("policy.toml", policy).unwrap());
    let json = f.api("/api/module/example.com/a").await;
    assert_eq!(json["versions"][0]["blocked"], false);
    assert_eq!(json["versions"][1]["blocked"], true);
    let body = f.page("/module/example.com/a").await;
    assert_eq!(body.matches("class=\"tag blocked\"").count(), 1, "{body}");
}

#[tokio::test]
async fn downloads_are_counted_on_the_module_page() {
    let f = fixture();
    let (status, _, _) = f.get("/example.com/a/@v/v1.1.0.mod", "*/*").await;
    assert_eq!(status, StatusCode::OK);
    f.get("/example.com/a/@v/v1.1.0.zip", "*/*").await;
    f.index.flush_hits().unwrap();
    let json = f.api("/api/module/example.com/a").await;
    assert_eq!(json["versions"][0]["hits"], 2);
    assert!(json["versions"][0]["last_access"].is_i64());
}

#[tokio::test]
async fn stats_say_mode_store_and_index() {
    let f = fixture();
    let json = f.api("/api/stats").await;
    assert_eq!(json["mode"], "offline");
    assert_eq!(json["store"]["versions"], 3);
    assert!(json["recent_failures"].as_array().unwrap().is_empty());
    assert!(json["checksum_databases"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_reason() {
    let f = fixture();
    let (status, _, body) = f.get("/module/not%20a%20path", "text/html").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, body) = f.get("/api/module/example.com/none", "*/*").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no version held here"), "{body}");
    let (status, _, _) = f.get("/api/search?page=zero", "*/*").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let long = format!("/search?q={}", "a".repeat(300));
    let (status, _, _) = f.get(&long, "text/html").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_doctors_api_path_is_not_ours() {
    // `/api/server` is what `godepot doctor` reads (`info`), not a UI page.
    let f = fixture();
    let (status, _, body) = f.get("/api/server", "*/*").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"require_auth\""), "{body}");
}

#[tokio::test]
async fn over_tls_the_goproxy_line_says_https() {
    let f = fixture();
    let request = Request::get("/")
        .header(header::ACCEPT, "text/html")
        .header(header::HOST, "godepot.test")
        .extension(crate::OverTls)
        .body(Body::empty())
        .unwrap();
    let response = f.router.clone().call(request).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("GOPROXY=https://godepot.test"), "{body}");
}
