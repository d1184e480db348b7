//! The HTTP edge: router assembly, the middleware every request passes
//! (request id, logs, metrics, security headers, limits, language, cookie
//! sessions, CSRF), error rendering, assets and the page layout.

pub mod api;
pub mod assets;
pub mod conn;
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
pub mod webhook;

use crate::app::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware::from_fn_with_state;
use std::time::Duration;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _req: &Request<B>) -> Option<RequestId> {
        let b: [u8; 8] = crate::store::random_bytes();
        hex::encode(b).parse().ok().map(RequestId::new)
    }
}

/// One group of routes, given its middleware.
pub(crate) type Routes = OpenApiRouter<AppState>;

/// Every route of the server, registered once. Each JSON API route is
/// registered with its OpenAPI entry (utoipa-axum's `routes!`), so the
/// OpenAPI document is made from these very registrations
/// ([`openapi::document`]) and lists exactly what the server answers.
///
/// `timeout` puts the request timeout on the groups that have one (not the
/// live streams); `tenant` resolves the company of the routes under
/// `/c/{slug}/` before any handler runs. The document needs neither.
pub(crate) fn routes(timeout: impl Fn(Routes) -> Routes, tenant: impl FnOnce(Routes) -> Routes) -> Routes {
    use crate::web::{api, pages};
    let tenant_plain = Routes::new()
        .merge(api::auth::tenant_router())
        .merge(pages::auth::tenant_router().into())
        .merge(api::org::router())
        .merge(pages::branding::router().into())
        .merge(pages::org::router().into())
        .merge(pages::telegram::router().into())
        .merge(api::tasks::router())
        .merge(api::chat::router())
        .merge(api::home::router())
        .merge(api::queue::router())
        .merge(pages::queue::tenant_router().into())
        .merge(pages::stats::api_router())
        .merge(pages::stats::router().into())
        .merge(pages::queue_staff::router().into())
        .merge(pages::visit::router().into())
        .merge(pages::tasks::router().into())
        .merge(pages::chat::router().into())
        .merge(api::requests::router())
        .merge(pages::requests::router().into())
        .merge(api::request_admin::router())
        .merge(pages::request_admin::router().into())
        .merge(pages::request_stats::api_router())
        .merge(pages::request_stats::router().into())
        .merge(api::public_requests::router())
        .merge(pages::request_public::router().into())
        .merge(api::files::router())
        .merge(api::telegram::router())
        .merge(api::reports::router())
        .merge(api::report_schedules::router())
        .merge(pages::report_schedules::router().into())
        .merge(pages::reports::router().into())
        .merge(pages::exports::router().into())
        .merge(api::integrations::router())
        .merge(pages::integrations::router().into());
    // Without the request timeout: live streams, and uploads (which stop on their own when they stall).
    let tenant_streams = api::live::tenant_router()
        .merge(api::track::tenant_router())
        .merge(api::files::upload_router())
        .merge(api::public_requests::streams_router())
        .merge(api::exports::router());
    let company = tenant(timeout(tenant_plain).merge(tenant_streams));

    let platform = Routes::new()
        .merge(api::auth::platform_router())
        .merge(pages::auth::platform_router().into())
        .merge(api::companies::router())
        .merge(pages::platform::router().into())
        .merge(pages::queue::platform_router().into())
        .merge(pages::request_public::platform_router().into())
        .merge(edges::router().into())
        .merge(assets::router().into());
    Routes::with_openapi(openapi::frame())
        .merge(timeout(platform))
        .merge(api::track::platform_router())
        .merge(webhook::router().into())
        // With the slash, a company's root route is `/c/<slug>/` (its home page).
        .nest("/c/{slug}/", company)
}

/// Assembles every feature's router and the middleware around them.
pub fn router(state: AppState) -> Router {
    edges::metrics_handle();
    let timeout =
        TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(state.config.request_timeout_secs));
    let resolve = from_fn_with_state(state.clone(), extract::resolve_tenant);
    let (routes, _) = routes(|r| r.layer(timeout), |r| r.layer(resolve)).split_for_parts();
    let trusted = state.config.trusted_proxies.clone();

    routes
        .fallback(edges::not_found)
        // A panic anywhere in a handler is that request's error, not a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(errors::panicked))
        .layer(axum::Extension(std::sync::Arc::new(limits::Limits::new(&state.config))))
        .layer(from_fn_with_state(state.clone(), csrf::guard))
        .layer(from_fn_with_state(state.clone(), cookies::refresh_session))
        // A live stream over the budget: refused here, inside the renderer, so in the caller's language.
        .layer(axum::middleware::from_fn(conn::refuse_spent_live_budget))
        .layer(from_fn_with_state(state.clone(), errors::localize))
        .layer(axum::middleware::from_fn(edges::one_snapshot))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(axum::middleware::from_fn(edges::security_headers))
        .layer(axum::middleware::from_fn(edges::track_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(move |req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry a CSRF token; capability
            // tokens inside the path are cut out. The client's address is the
            // one the limits use (X-Forwarded-For only from a trusted proxy).
            let client = limits::request_client(&trusted, req.extensions(), req.headers());
            tracing::info_span!("http", method = %req.method(), path = %redact_path(req.uri().path()), request_id = %id, client = %client)
        })
        // One line per request, at info, when the answer starts: the span
        // above gives the method and the path, this adds the status and the
        // time taken. Nothing when it starts, nothing more on failure.
        .on_request(())
        .on_response(|res: &axum::http::Response<_>, latency: Duration, _: &tracing::Span| {
            tracing::info!(status = res.status().as_u16(), ms = %format_args!("{:.1}", latency.as_secs_f64() * 1000.0), "request");
        })
        .on_failure(()))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeId))
        .with_state(state)
}

/// A request path as it may be logged: the capability tokens that some paths
/// carry (ticket tracking `/t/<slug>-<token>`, a booking's
/// `/c/<slug>/visit/booked/<token>`, a calendar feed's
/// `/c/<slug>/calendar/<id>-<token>.ics`) are replaced by `…`, so that a log
/// reader cannot follow a customer's ticket or subscribe to someone's tasks.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    let segs: Vec<&str> = path.split('/').collect();
    // Which segment holds a token, and how much of it is not secret.
    let secret = match segs.as_slice() {
        ["", "t", _, ..] | ["", "r", _, ..] => Some(2),
        ["", "c", _, "api", "v1", "public", "requests", _, ..] => Some(7),
        ["", "c", _, "calendar", _, ..] => Some(4),
        ["", "c", _, "visit", "booked", _, ..] => Some(5),
        _ => None,
    };
    let Some(i) = secret else { return std::borrow::Cow::Borrowed(path) };
    let mut out: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
    if let Some(seg) = segs.get(i)
        && let Some(slot) = out.get_mut(i)
    {
        *slot = redact_segment(seg);
    }
    std::borrow::Cow::Owned(out.join("/"))
}

/// `<prefix>-<token>[.ext]` keeps the prefix and extension; a bare token goes.
fn redact_segment(seg: &str) -> String {
    let (stem, ext) = match seg.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.len() <= 4 => (stem, format!(".{ext}")),
        _ => (seg, String::new()),
    };
    match stem.rsplit_once('-') {
        Some((prefix, _)) => format!("{prefix}-…{ext}"),
        None => format!("…{ext}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn capability_tokens_are_not_logged() {
        let tok = "0123456789abcdef0123456789abcdef";
        assert_eq!(redact_path(&format!("/t/demo-{tok}")), "/t/demo-…");
        assert_eq!(redact_path(&format!("/t/my-shop-{tok}/status")), "/t/my-shop-…/status");
        assert_eq!(redact_path(&format!("/t/demo-{tok}/qr.svg")), "/t/demo-…/qr.svg");
        assert_eq!(redact_path(&format!("/t/{tok}")), "/t/…");
        assert_eq!(redact_path(&format!("/c/demo/calendar/7-{tok}.ics")), "/c/demo/calendar/7-….ics");
        assert_eq!(redact_path(&format!("/c/demo/visit/booked/{tok}")), "/c/demo/visit/booked/…");
        assert_eq!(redact_path(&format!("/r/demo-{tok}/reply")), "/r/demo-…/reply");
        assert_eq!(redact_path(&format!("/c/demo/api/v1/public/requests/{tok}/events")), "/c/demo/api/v1/public/requests/…/events");
        for path in ["/t/demo-x", "/c/demo/calendar/7-secret.ics", "/c/demo/visit/booked/secret"] {
            assert!(!redact_path(path).contains("secret") && !redact_path(path).ends_with("-x"), "{path}");
        }
        // Paths without a token are logged as they are.
        for path in ["/", "/c/demo/tasks/12", "/c/demo/api/v1/tasks", "/c/demo/visit/book", "/admin/companies"] {
            assert_eq!(redact_path(path), path);
        }
    }
}
