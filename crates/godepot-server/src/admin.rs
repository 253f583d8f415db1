//! The admin endpoints (an `admin` token; only with `--require-auth`, so they are never open
//! to anyone who can reach the server):
//!
//! - `GET /admin/policy`: the policy in force, as an equivalent policy file;
//! - `POST /admin/refresh/<module>`: ask upstream for the module's list now;
//! - `POST /admin/remove/<module>@<version>`: take a version out of the store, to the
//!   quarantine. Never silent: a served version changing breaks reproducible builds, so the
//!   answer, the log and the audit log say so.
//!
//! Paths are escaped as in the module protocol (`!x` for `X`).

use std::net::IpAddr;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use godepot_auth::AuditEvent;
use godepot_module::{ModulePath, Version};

use crate::{AppState, access, response};

/// Takes a module version out of the store; supplied by the binary, since the store's
/// upkeep (the quarantine) lives beside the store, not in the HTTP layer. `Ok` describes what
/// was moved where.
pub trait Remover: Send + Sync + std::fmt::Debug {
    fn remove(&self, module: &ModulePath, version: &Version) -> Result<String, String>;
}

/// One admin request, already authenticated with an admin token named `by`.
pub(crate) async fn handle(
    state: &AppState,
    method: &Method,
    path: &str,
    client: Option<IpAddr>,
    by: &str,
) -> Response {
    let depot = &state.depot;
    let action = |action: &str, target: &str, outcome: &str| {
        let event = AuditEvent::AdminAction {
            action: action.into(),
            target: target.into(),
            by: by.into(),
            client,
            outcome: outcome.into(),
        };
        access::audit(state.options.audit.as_deref(), &event);
    };
    let rest = path.strip_prefix("/admin/").unwrap_or("");
    match (method, rest) {
        (&Method::GET, "policy") => {
            action("show_policy", "", "ok");
            full_text(StatusCode::OK, depot.policy().to_string())
        }
        (&Method::POST, rest) if rest.starts_with("refresh/") => {
            let escaped = &rest["refresh/".len()..];
            let module = match ModulePath::from_escaped(escaped) {
                Ok(m) => m,
                Err(e) => return response::text(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            let target = module.to_string();
            match depot.refresh_list(&module).await {
                Ok(answer) => {
                    action("refresh", &target, "ok");
                    let body = match answer.body {
                        godepot_depot::Body::Bytes(data) => data,
                        _ => Default::default(),
                    };
                    full_text(StatusCode::OK, String::from_utf8_lossy(&body).into_owned())
                }
                Err(e) => {
                    action("refresh", &target, &format!("failed: {e}"));
                    response::error(&e)
                }
            }
        }
        (&Method::POST, rest) if rest.starts_with("remove/") => {
            remove(state, &rest["remove/".len()..], &action)
        }
        _ => response::text(
            StatusCode::NOT_FOUND,
            "unknown admin request (GET /admin/policy, POST /admin/refresh/<module>, POST /admin/remove/<module>@<version>)",
        ),
    }
}

fn remove(state: &AppState, target: &str, action: &dyn Fn(&str, &str, &str)) -> Response {
    let parsed = target.rsplit_once('@').and_then(|(m, v)| {
        let module = ModulePath::from_escaped(m).ok()?;
        let version = Version::from_escaped(v).ok()?;
        Version::for_module(&module, version.as_str()).ok()?;
        Some((module, version))
    });
    let Some((module, version)) = parsed else {
        return response::text(
            StatusCode::BAD_REQUEST,
            "want /admin/remove/<module>@<version>",
        );
    };
    let Some(remover) = &state.options.remover else {
        return response::text(
            StatusCode::NOT_IMPLEMENTED,
            "this server cannot remove versions",
        );
    };
    let what = format!("{module}@{version}");
    match remover.remove(&module, &version) {
        Ok(moved) => {
            state.depot.forget_version(&module, &version);
            tracing::warn!(version = %what, %moved, "removed a served version: builds that need it will fetch it again (or fail offline)");
            action("remove", &what, &format!("quarantined: {moved}"));
            response::text(
                StatusCode::OK,
                &format!(
                    "removed {what}, a version this server served: builds that need it will fetch it again, and may get different bytes; {moved}"
                ),
            )
        }
        Err(why) => {
            action("remove", &what, &format!("failed: {why}"));
            response::text(StatusCode::NOT_FOUND, &format!("{what}: {why}"))
        }
    }
}

/// A plain-text answer of several lines (the policy, a list).
fn full_text(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .expect("valid response")
}
