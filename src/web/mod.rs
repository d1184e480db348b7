//! The HTTP edge: router assembly, the middleware every request passes
//! (request id, logs, metrics, security headers, limits, language, cookie
//! sessions, CSRF), error rendering, assets and the page layout.

pub mod api;
pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod edges;
pub mod errors;
pub mod extract;
pub mod layout;
pub mod limits;
pub mod openapi;
pub mod pages;
pub mod server;

use crate::app::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware::from_fn_with_state;
use std::time::Duration;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _req: &Request<B>) -> Option<RequestId> {
        let b: [u8; 8] = crate::store::random_bytes();
        hex::encode(b).parse().ok().map(RequestId::new)
    }
}

/// Assembles every feature's router and the middleware around them.
pub fn router(state: AppState) -> Router {
    edges::metrics_handle();
    let timeout =
        TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(state.config.request_timeout_secs));

    // Company routes: resolved to one tenant before any handler runs.
    let tenant_plain = Router::new()
        .merge(crate::web::api::auth::tenant_router())
        .merge(crate::web::pages::auth::tenant_router())
        .merge(crate::web::api::org::router())
        .merge(crate::web::pages::org::router())
        .merge(crate::web::api::tasks::router())
        .merge(crate::web::api::queue::router())
        .merge(crate::web::pages::queue::tenant_router())
        .merge(crate::web::pages::stats::router())
        .merge(crate::web::pages::queue_staff::router())
        .merge(crate::web::pages::visit::router())
        .merge(crate::web::pages::tasks::router())
        .layer(timeout);
    let tenant_streams = crate::web::api::live::tenant_router().merge(crate::web::api::track::tenant_router());
    let tenant = tenant_plain.merge(tenant_streams).layer(from_fn_with_state(state.clone(), extract::resolve_tenant));

    let platform = Router::new()
        .merge(crate::web::api::auth::platform_router())
        .merge(crate::web::pages::auth::platform_router())
        .merge(crate::web::api::companies::router())
        .merge(crate::web::pages::platform::router())
        .merge(crate::web::pages::queue::platform_router())
        .merge(edges::router())
        .merge(assets::router())
        .layer(timeout)
        .merge(crate::web::api::track::platform_router());

    Router::new()
        .merge(platform)
        // With the slash, a company's root route is `/c/<slug>/` (its home page).
        .nest("/c/{slug}/", tenant)
        .fallback(edges::not_found)
        .layer(axum::Extension(std::sync::Arc::new(limits::Limits::new(&state.config))))
        .layer(from_fn_with_state(state.clone(), csrf::guard))
        .layer(from_fn_with_state(state.clone(), cookies::refresh_session))
        .layer(from_fn_with_state(state.clone(), errors::localize))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(axum::middleware::from_fn(edges::security_headers))
        .layer(axum::middleware::from_fn(edges::track_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry a CSRF token.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeId))
        .with_state(state)
}
