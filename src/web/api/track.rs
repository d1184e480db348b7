//! The queue's public live edges: the display board's event stream, and a
//! ticket's tracking status, event stream, QR code and cancel — addressed by
//! the ticket's public token `/t/{slug}-{token}`, no login.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::hub::{Listener, Topic};
pub use crate::queue::tickets::resolve_public as resolve;
use crate::queue::tickets::{self, status_code};
use crate::store::schema::TicketV1;
use crate::tenancy::Tenant;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`), without the request timeout.
pub fn tenant_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(display_events))
}

/// Routes at the root: `/t/{token}/…`.
pub fn platform_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status)).routes(routes!(ticket_events)).routes(routes!(qr)).routes(routes!(cancel))
}

/// Live calls of a branch for its display board (public: numbers and windows only).
#[utoipa::path(get, path = "/display/{branch_id}/events", tag = "queue",
    params(("slug" = String, Path), ("branch_id" = u64, Path)),
    responses((status = 200, description = "text/event-stream: ticket.issued, ticket.called, ticket.changed"), (status = 403, description = "The company is not open for business"), (status = 404)))]
pub async fn display_events(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((_, branch)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let branch_id: u64 = branch.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    crate::queue::tickets::board_open(&tenant, &Caller::Public, branch_id)?;
    let mut listener = Listener::public(&tenant.slug, Caller::Public);
    listener.listen(&state.hub, Topic::QueueBranch(branch_id));
    Ok(crate::web::api::live::sse_response(&state, listener).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackOut {
    pub number: String,
    /// `booked`, `waiting`, `called`, `serving`, `done`, `no_show`, `cancelled`, `transferred`, `expired`.
    pub status: String,
    pub service_id: u64,
    pub branch_id: u64,
    pub people_ahead: u32,
    pub estimate_minutes: crate::web::api::queue::Estimate,
    pub window: Option<u16>,
    pub booked_for: Option<String>,
    /// Whether the customer may still cancel.
    pub can_cancel: bool,
}

pub fn track_out(state: &AppState, tenant: &Tenant, id: u64, t: &TicketV1) -> Result<TrackOut, AppError> {
    let (ahead, (low, high)) = tickets::position(tenant.db()?, id, t, state.now_ms())?;
    Ok(TrackOut {
        number: t.number.clone(),
        status: status_code(t.status).to_string(),
        service_id: t.service_id,
        branch_id: t.branch_id,
        people_ahead: ahead,
        estimate_minutes: crate::web::api::queue::Estimate { low, high },
        window: t.window,
        booked_for: t.booking.as_ref().map(|b| crate::clock::from_ms(b.start).to_string()),
        can_cancel: matches!(t.status, crate::store::schema::TicketStatus::Waiting | crate::store::schema::TicketStatus::Booked),
    })
}

/// A ticket's place, estimate and status now (public, by its token).
#[utoipa::path(get, path = "/t/{token}/status", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, body = TrackOut), (status = 404)))]
pub async fn status(State(state): State<AppState>, Path(token): Path<String>) -> Result<axum::Json<TrackOut>, AppError> {
    let (tenant, id, t) = resolve(&state, &token)?;
    Ok(axum::Json(track_out(&state, &tenant, id, &t)?))
}

/// Live events for a ticket's tracking page: its own changes and its
/// branch's calls (each may move its place).
#[utoipa::path(get, path = "/t/{token}/events", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, description = "text/event-stream"), (status = 404)))]
pub async fn ticket_events(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let (tenant, _, t) = resolve(&state, &token)?;
    let mut listener = Listener::public(&tenant.slug, Caller::Customer(t.token.clone()));
    listener.listen(&state.hub, Topic::Ticket(t.token.clone()));
    listener.listen(&state.hub, Topic::QueueBranch(t.branch_id));
    Ok(crate::web::api::live::sse_response(&state, listener).into_response())
}

/// The QR code of the tracking page, as SVG.
#[utoipa::path(get, path = "/t/{token}/qr.svg", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml"), (status = 404)))]
pub async fn qr(State(state): State<AppState>, headers: axum::http::HeaderMap, Path(token): Path<String>) -> Result<Response, AppError> {
    resolve(&state, &token)?;
    let url = format!("{}/t/{token}", base_url(&state, &headers));
    let svg = tickets::qr_svg(&url)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg).into_response())
}

/// Where customers reach Idora: the configured public address, else the
/// address this request came to (the kiosk's view of the box on the LAN).
pub fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// The customer cancels their ticket or booking.
#[utoipa::path(post, path = "/t/{token}/cancel", tag = "queue", params(("token" = String, Path)),
    responses((status = 200, body = TrackOut), (status = 403, description = "Without the page's CSRF token (`x-csrf-token`)"), (status = 404), (status = 409)))]
pub async fn cancel(State(state): State<AppState>, Path(token): Path<String>) -> Result<axum::Json<TrackOut>, AppError> {
    let (tenant, _, t) = resolve(&state, &token)?;
    let (id, t) = tickets::cancel(&state, &tenant, &crate::auth::Caller::Customer(t.token.clone()), None).await?;
    Ok(axum::Json(track_out(&state, &tenant, id, &t)?))
}
