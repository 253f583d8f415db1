//! The HTTP front: the GOPROXY protocol over axum, as thin handlers over the depot.
//!
//! - [`request`]: path → validated [`request::Request`], before anything is touched.
//! - [`response`]: depot answers → responses (validators, ranges, cache lifetimes), and the
//!   single mapping from errors to status codes.
//! - [`access_log`]: one structured line per request, written when its body is done.
//! - [`activity`]: requests started and still in flight.
//! - [`metrics`]: `/metrics`, the Prometheus exposition of every counter.
//! - [`access`]: tokens (`--require-auth`) and the audit log of refusals.
//! - [`info`]: `GET /api/server`, what a client needs to know to use this server.
//! - [`tls`]: HTTPS (rustls, HTTP/2 by ALPN), its certificate reloadable.
//! - [`listen`]: the accept loop, with a cap on connections and deadlines on slow clients.
//! - [`zerocopy`]: large stored files sent with sendfile on plain-HTTP/1 connections.
//! - [`ui`]: the web UI (`/`, `/search`, `/module/...`) and its JSON API (`/api/...`), over
//!   the module index.
//! - [`probe`]: the client side of `/healthz` (`godepot health`, a container's healthcheck).

mod access;
mod access_log;
mod activity;
mod admin;
mod info;
mod listen;
pub mod metrics;
pub mod probe;
pub mod request;
pub mod response;
mod tls;
mod ui;
mod zerocopy;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::{Extension, Router};
use godepot_depot::VIA_HEADER;
use godepot_depot::{Answer, CacheStatus, Depot, DepotError};

pub use access::Access;
use access_log::AccessLog;
pub use activity::Activity;
pub use admin::Remover;
pub use godepot_auth::AuditLog;
pub use info::{About, SumdbAbout};
pub use listen::{ConnectionLimits, serve};
pub use metrics::{Metrics, StoreTotals};
use request::{Refusal, Request};
use response::Resource;
pub use tls::Tls;

/// Settings the HTTP layer needs beyond the depot.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Advertised lifetime of mutable answers (`Cache-Control: max-age`).
    pub list_ttl: Duration,
    /// This process's id; a request carrying it came from ourselves (a proxy loop).
    pub instance_id: String,
    /// Counts requests, for whoever wants to know when the server is quiet.
    pub activity: Arc<Activity>,
    /// With `--require-auth`: the tokens every request but the probes must bring.
    pub access: Option<Arc<Access>>,
    /// With `--audit-log`: where refusals (policy, logins) and admin actions are recorded.
    pub audit: Option<Arc<AuditLog>>,
    /// What `POST /admin/remove/...` uses to take a version out of the store.
    pub remover: Option<Arc<dyn Remover>>,
    /// What `GET /api/server` reports of the configuration.
    pub about: About,
    /// What `/metrics` shows; the server counts its requests into it.
    pub metrics: Arc<Metrics>,
    /// The module index the web UI and `/api/` read, and hits are counted in.
    pub index: Option<Arc<godepot_index::Index>>,
    /// The build, as `godepot --version` prints it (`godepot 0.1.0 (commit …, built …)`):
    /// `/healthz` answers `ok ` and this, so a probe also tells which build is running.
    pub version: String,
}

/// The client's address, put on every request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Put on every request that came over TLS by the accept loop (the web UI's `GOPROXY` line
/// says `https://` then).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

#[derive(Clone)]
struct AppState {
    depot: Depot,
    options: Arc<ServerOptions>,
    /// The last upstream failures, for the web UI.
    failures: Arc<ui::Failures>,
}

/// The whole HTTP surface, without a socket: tests drive it with `oneshot`.
pub fn router(depot: Depot, options: ServerOptions) -> Router {
    Router::new().fallback(handle).with_state(AppState {
        depot,
        options: Arc::new(options),
        failures: Arc::default(),
    })
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddr>>,
    tls: Option<Extension<OverTls>>,
) -> Response {
    let client = peer.map(|Extension(PeerAddr(addr))| addr.ip());
    let mut log = AccessLog::start(
        method.clone(),
        uri.path().to_string(),
        state.options.activity.begin(),
        Arc::clone(&state.options.metrics),
    );
    if uri.path().starts_with("/admin/") {
        let response = admin(&state, &method, uri.path(), &headers, client).await;
        return log.finish(response, None);
    }
    if method != Method::GET && method != Method::HEAD {
        return log.finish(
            response::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "only GET and HEAD are served",
            ),
            None,
        );
    }
    let from_ourselves = headers
        .get(VIA_HEADER)
        .is_some_and(|v| v.as_bytes() == state.options.instance_id.as_bytes());
    if from_ourselves {
        let message = "proxy loop: this godepot is its own upstream; check --upstream";
        return log.finish(response::text(StatusCode::LOOP_DETECTED, message), None);
    }
    if let Some(route) = ui::route(uri.path(), &headers) {
        let response = match admit_reader(&state, &headers, client) {
            Err(denied) => access::refusal(&denied),
            Ok(()) => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                ui::handle(&state, route, uri.query(), &headers, scheme).await
            }
        };
        return log.finish(response, None);
    }
    let (response, cache) = match request::parse(uri.path()) {
        Err(Refusal::Invalid(why)) => (response::text(StatusCode::BAD_REQUEST, &why), None),
        Err(Refusal::NotFound(why)) => (response::text(StatusCode::NOT_FOUND, &why), None),
        Ok(req) => {
            log.kind = metrics::Kind::of(&req);
            match admit(&state, &req, &headers, client) {
                Err(denied) => (access::refusal(&denied), None),
                Ok(token) => dispatch(&state, req, &uri, &headers, client, token).await,
            }
        }
    };
    log.finish(response, cache)
}

/// An admin request: with an admin token, answered by [`admin::handle`]; admin endpoints
/// exist only with `--require-auth`.
async fn admin(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Response {
    let Some(access) = &state.options.access else {
        let why = "admin endpoints need serve --require-auth and an admin token";
        return response::text(StatusCode::FORBIDDEN, why);
    };
    match checked(state, access, headers, client, godepot_auth::Scope::Admin) {
        Ok(by) => admin::handle(state, method, path, client, &by).await,
        Err(denied) => access::refusal(&denied),
    }
}

/// The token's name, or its refusal, which goes to the audit log.
fn checked(
    state: &AppState,
    access: &Access,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    scope: godepot_auth::Scope,
) -> Result<String, godepot_auth::Denied> {
    let ip = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    access.check(headers, ip, scope).inspect_err(|denied| {
        state.options.metrics.auth_failed(denied.cause);
        access::audit(state.options.audit.as_deref(), &denied.audit_event(client));
    })
}

/// With `--require-auth`, the token a request brings (its name), or the refusal (audited). The probes
/// need none: orchestrators ask them without credentials.
fn admit(
    state: &AppState,
    req: &Request,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<Option<String>, godepot_auth::Denied> {
    let Some(access) = &state.options.access else {
        return Ok(None);
    };
    if matches!(req, Request::Healthz | Request::Readyz) {
        return Ok(None);
    }
    checked(state, access, headers, client, godepot_auth::Scope::Read).map(Some)
}

/// With `--require-auth`, the web UI and `/api/` need a read token like the protocol does:
/// they show what the store holds.
fn admit_reader(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<(), godepot_auth::Denied> {
    match &state.options.access {
        None => Ok(()),
        Some(access) => {
            checked(state, access, headers, client, godepot_auth::Scope::Read).map(drop)
        }
    }
}

async fn dispatch(
    state: &AppState,
    req: Request,
    uri: &Uri,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    token: Option<String>,
) -> (Response, Option<CacheStatus>) {
    let depot = &state.depot;
    // A download counted in the index: a `.mod` or a `.zip` served.
    let download = match &req {
        Request::Mod(m, v) | Request::Zip(m, v) => Some((m.clone(), v.clone())),
        _ => None,
    };
    let (result, resource) = match req {
        Request::Healthz => {
            let body = format!("ok {}", state.options.version);
            return (response::text(StatusCode::OK, &body), None);
        }
        Request::Readyz => return (readyz(depot).await, None),
        Request::ServerInfo => return (info::respond(state, uri, headers), None),
        Request::Metrics => return (metrics(state).await, None),
        Request::Sumdb(name, path) => {
            let resource = match path {
                godepot_sumdb::SumdbPath::Tile(_) => Resource::Binary,
                _ => Resource::Text,
            };
            (depot.sumdb(&name, &path).await, resource)
        }
        Request::VulnDb(path) => {
            let answer = depot.vulndb(&path.file).await;
            if path.gzip {
                (answer.map(response::gzipped), Resource::Gzip)
            } else {
                (answer, Resource::Json)
            }
        }
        Request::List(m) => (depot.list(&m).await, Resource::Text),
        Request::Latest(m) => (depot.latest(&m).await, Resource::Json),
        Request::Info(m, query) => (depot.info(&m, &query).await, Resource::Json),
        Request::Mod(m, v) => (depot.go_mod(&m, &v).await, Resource::Text),
        Request::Zip(m, v) => (depot.zip(&m, &v).await, Resource::Zip),
    };
    if let Err(DepotError::Blocked(blocked)) = &result {
        state.options.metrics.blocked();
        let event = access::blocked_event(blocked, client, token);
        access::audit(state.options.audit.as_deref(), &event);
    }
    match (&result, download, &state.options.index) {
        (Ok(_), Some((m, v)), Some(index)) => index.record_hit(&m, &v),
        (Err(e), _, _) => {
            let status = response::status_of(e);
            if status == StatusCode::BAD_GATEWAY || status == StatusCode::GATEWAY_TIMEOUT {
                state
                    .failures
                    .record(uri.path(), status.as_u16(), &e.to_string());
            }
        }
        _ => {}
    }
    respond(result, resource, headers, state.options.list_ttl)
}

fn respond(
    result: Result<Answer, DepotError>,
    resource: Resource,
    headers: &HeaderMap,
    ttl: Duration,
) -> (Response, Option<CacheStatus>) {
    match result {
        Ok(answer) => {
            let cache = answer.cache;
            (
                response::answer(answer, resource, headers, ttl),
                Some(cache),
            )
        }
        Err(e) => (response::error(&e), None),
    }
}

/// The exposition, written on the blocking pool (it reads `/proc`).
async fn metrics(state: &AppState) -> Response {
    let (depot, options) = (state.depot.clone(), Arc::clone(&state.options));
    let rendered =
        tokio::task::spawn_blocking(move || options.metrics.render(&depot, &options.activity))
            .await;
    match rendered {
        Ok(body) => Response::builder()
            .header(http::header::CONTENT_TYPE, godepot_metrics::CONTENT_TYPE)
            .header(http::header::CACHE_CONTROL, "no-store")
            .body(axum::body::Body::from(body))
            .expect("valid response"),
        Err(e) => response::text(StatusCode::INTERNAL_SERVER_ERROR, &format!("metrics: {e}")),
    }
}

async fn readyz(depot: &Depot) -> Response {
    let ready = depot.readiness().await;
    let body = match &ready.store {
        Ok(()) => format!("store: writable; upstream: {}", ready.upstream),
        Err(e) => format!("store: NOT writable: {e}; upstream: {}", ready.upstream),
    };
    let status = if ready.store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    response::text(status, &body)
}
