//! Service edges: health, readiness, metrics, security headers, the
//! request counter and the request's read snapshot.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::time::Instant;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics_text))
}

/// The process is up and serving.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Every database can serve: the platform file and every open company file
/// read and take writes, and no company's file is missing or refused. When
/// one cannot, 503 with `detail` saying which company and what failed
/// (files named relative to the data folder; the log has the full paths).
async fn readyz(State(state): State<AppState>) -> Response {
    let mut failing = Vec::new();
    if let Some(p) = state.platform.problem() {
        failing.push(format!("platform.redb: {p}"));
    }
    let mut open = 0;
    for t in state.tenants.all() {
        if t.open_db().is_some_and(|db| db.is_open()) {
            open += 1;
        }
        if let Some(p) = t.problem() {
            failing.push(format!("company {}: {p}", t.slug));
        }
    }
    if failing.is_empty() {
        // The last backup is told, never a reason to be unready: a failed
        // one is the operator's to see (and /metrics' to alert on).
        let backup = crate::ops::backup::last_status(&state);
        Json(serde_json::json!({"status": "ready", "databases_open": open + 1, "backup": backup})).into_response()
    } else {
        tracing::error!(?failing, "readiness check failed");
        AppError::new(ErrorKind::Unavailable).with_arg("detail", failing.join("; ")).into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    // Read from the registry in memory at each scrape (no company is opened).
    let (mut open, mut by_status) = (0u64, [0u64; 3]);
    for t in state.tenants.all() {
        if t.open_db().is_some_and(|db| db.is_open()) {
            open += 1;
        }
        if let Some(n) = by_status.get_mut(crate::tenancy::service::status_index(t.info().status)) {
            *n += 1;
        }
    }
    metrics::gauge!("idora_tenants_open").set(open as f64);
    for (status, n) in ["active", "inactive", "archived"].iter().zip(by_status) {
        metrics::gauge!("idora_companies", "status" => *status).set(n as f64);
    }
    let mut r = metrics_handle().render().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

pub async fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound)
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
connect-src 'self'; media-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
frame-ancestors 'none'; form-action 'self'";

/// Serves the request with one read snapshot per database file
/// (`store::snapshot`): a page of several queries shows one state.
pub async fn one_snapshot(req: Request, next: Next) -> Response {
    crate::store::snapshot::scope(next.run(req)).await
}

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A route that set its own (a file's sandbox) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Counts each request and its time by method, status and the route's
/// template (`/c/{slug}/api/v1/tasks/{id}`, never the path itself: ids and
/// tokens would make a series each). What no route matched is `unmatched`.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = match *req.method() {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::HEAD | Method::OPTIONS => {
            req.method().to_string()
        }
        _ => "other".to_string(),
    };
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("idora_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("idora_http_request_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    resp
}

/// Buckets (seconds) of the latency histograms: Prometheus computes
/// quantiles over them (`histogram_quantile`), across instances too.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide Prometheus recorder, installed once.
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
            let builder = PrometheusBuilder::new();
            let builder = match builder
                .set_buckets_for_metric(Matcher::Full("idora_http_request_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full("idora_store_commit_seconds".into()), LATENCY_BUCKETS))
            {
                Ok(b) => b,
                // Only an empty bucket list is refused; never with the constant above.
                Err(_) => PrometheusBuilder::new(),
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests embedding
            // several apps); the handle still renders this one's figures.
            let _ = metrics::set_global_recorder(recorder);
            // The gauges a dashboard plots are there from the start, at 0.
            for g in [
                "idora_live_connections",
                "idora_connections_open",
                "idora_store_write_queue_depth",
                "idora_outbox_backlog",
                "idora_tenants_open",
            ] {
                metrics::gauge!(g).increment(0.0);
            }
            // Histograms keep every sample until rendered: drain them on a
            // timer, so memory stays flat whether or not anyone scrapes.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let upkeep = handle.clone();
                rt.spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            handle
        })
        .clone()
}
