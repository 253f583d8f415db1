//! The web UI and its JSON API: pages for people over the module index, beside the protocol.
//!
//! Routes (none can be a module path, whose first element always has a dot):
//!
//! | path | answers |
//! |---|---|
//! | `/` with `Accept: text/html` | the home page (without it: the protocol's 404, as before) |
//! | `/search?q=TEXT&page=N` | modules whose path contains `TEXT`, prefix matches first |
//! | `/module/<module path>` | its versions, newest first, with the go.mod and the `go get` line |
//! | `/api/stats`, `/api/search?q=&page=`, `/api/module/<path>` | the same data as JSON |
//!
//! - [`view`]: the data, gathered once for both renderings.
//! - [`pages`]: HTML (maud).
//! - [`failures`]: the recent upstream failures shown on `/`.

mod failures;
mod pages;
mod view;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use godepot_module::ModulePath;
use maud::Markup;
use percent_encoding::percent_decode_str;
use serde::Serialize;

pub(crate) use failures::Failures;
use view::Unanswered;

use crate::AppState;

/// The longest search text taken.
const MAX_QUERY: usize = 256;

/// A UI or API request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Home,
    Search,
    Module(String),
    ApiStats,
    ApiSearch,
    ApiModule(String),
}

/// Which UI route `path` is, if any. `/` is one only for a browser (`Accept: text/html`).
/// The doctor's `/api/server` is not ours.
pub(crate) fn route(path: &str, headers: &HeaderMap) -> Option<Route> {
    match path {
        "/" if wants_html(headers) => Some(Route::Home),
        "/search" => Some(Route::Search),
        "/api/stats" => Some(Route::ApiStats),
        "/api/search" => Some(Route::ApiSearch),
        _ => {
            if let Some(module) = path.strip_prefix("/module/") {
                Some(Route::Module(module.to_string()))
            } else {
                path.strip_prefix("/api/module/")
                    .map(|module| Route::ApiModule(module.to_string()))
            }
        }
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Answers a UI or API request.
pub(crate) async fn handle(
    state: &AppState,
    route: Route,
    query: Option<&str>,
    headers: &HeaderMap,
    scheme: &str,
) -> Response {
    let index = state.options.index.as_deref();
    match route {
        Route::Home => {
            let stats = view::stats(&state.depot, index, &state.failures);
            html(
                StatusCode::OK,
                pages::home(&stats, &goproxy_url(headers, scheme)),
            )
        }
        Route::ApiStats => json(
            StatusCode::OK,
            &view::stats(&state.depot, index, &state.failures),
        ),
        Route::Search => search(state, query, false).await,
        Route::ApiSearch => search(state, query, true).await,
        Route::Module(raw) => module(state, &raw, false).await,
        Route::ApiModule(raw) => module(state, &raw, true).await,
    }
}

async fn search(state: &AppState, query: Option<&str>, api: bool) -> Response {
    let (q, page) = match search_params(query) {
        Ok(params) => params,
        Err(why) => return refusal(api, StatusCode::BAD_REQUEST, &why),
    };
    let index = state.options.index.clone();
    let found = tokio::task::spawn_blocking(move || {
        let found = view::search(index.as_deref(), &q, page);
        let rebuilding = index.is_some_and(|i| i.needs_rebuild().unwrap_or(false));
        (found, rebuilding)
    })
    .await;
    match found {
        Err(e) => unanswered(api, Unanswered::Failed(e.to_string())),
        Ok((Err(e), _)) => unanswered(api, e),
        Ok((Ok(found), _)) if api => json(StatusCode::OK, &found),
        Ok((Ok(found), rebuilding)) => html(StatusCode::OK, pages::search(&found, rebuilding)),
    }
}

async fn module(state: &AppState, raw: &str, api: bool) -> Response {
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    let path = match ModulePath::parse(&decoded) {
        Ok(path) => path,
        Err(e) => {
            let why = format!("invalid module path: {e}");
            return refusal(api, StatusCode::BAD_REQUEST, &why);
        }
    };
    match view::module(&state.depot, state.options.index.as_deref(), &path).await {
        Err(e) => unanswered(api, e),
        Ok(None) => {
            let why = format!("{path}: no version held here");
            refusal(api, StatusCode::NOT_FOUND, &why)
        }
        Ok(Some(view)) if api => json(StatusCode::OK, &view),
        Ok(Some(view)) => html(StatusCode::OK, pages::module(&view)),
    }
}

/// `q` (at most [`MAX_QUERY`] bytes) and `page` (from 1) of a query string.
fn search_params(query: Option<&str>) -> Result<(String, u64), String> {
    let mut q = String::new();
    let mut page = 1;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(&value.replace('+', " "))
            .decode_utf8()
            .map_err(|_| format!("{name}: not UTF-8"))?
            .into_owned();
        match name {
            "q" => q = value.trim().to_string(),
            "page" => {
                page = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&p| (1..=1_000_000).contains(&p))
                    .ok_or_else(|| format!("page: {value:?} is not a page number"))?;
            }
            _ => {}
        }
    }
    if q.len() > MAX_QUERY {
        return Err(format!("q: longer than {MAX_QUERY} bytes"));
    }
    Ok((q, page))
}

/// The `GOPROXY` value for this server, as the browser reached it (`scheme`: `https` over TLS).
fn goproxy_url(headers: &HeaderMap, scheme: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("this-server:port");
    format!("{scheme}://{host}")
}

fn unanswered(api: bool, e: Unanswered) -> Response {
    let why = match e {
        Unanswered::NoIndex => "the module index is unavailable on this server".to_string(),
        Unanswered::Failed(e) => format!("the module index failed: {e}"),
    };
    refusal(api, StatusCode::SERVICE_UNAVAILABLE, &why)
}

/// A one-line reason, as a page or as JSON `{"error": ...}`.
fn refusal(api: bool, status: StatusCode, why: &str) -> Response {
    #[derive(Serialize)]
    struct Error<'a> {
        error: &'a str,
    }
    match api {
        true => json(status, &Error { error: why }),
        false => html(
            status,
            pages::message(status.canonical_reason().unwrap_or("error"), why),
        ),
    }
}

/// The pages say which resources they may use: none but their own inline style, so even a
/// markup bug could neither run a script nor load anything from elsewhere.
const PAGE_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'";

fn html(status: StatusCode, page: Markup) -> Response {
    let mut response = respond(status, "text/html; charset=utf-8", page.into_string());
    let policy = HeaderValue::from_static(PAGE_POLICY);
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy);
    response
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".to_string());
    respond(status, "application/json", body)
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(body))
        .expect("valid response")
}

#[cfg(test)]
mod tests;
