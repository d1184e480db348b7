//! The personal calendar feed over HTTP: its secret URL for the caller and
//! the `.ics` file itself (the rules live in `tasks::ical`).

use crate::app::AppState;
use crate::error::AppError;
use crate::tasks::ical::feed_path;
use crate::tenancy::Tenant;
use crate::web::extract::CurrentUser;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedOut {
    /// Path of the personal iCalendar feed; keep it secret.
    pub path: String,
}

/// The caller's personal calendar feed URL.
#[utoipa::path(get, path = "/api/v1/me/calendar-feed", tag = "tasks", params(("slug" = String, Path)),
    responses((status = 200, body = FeedOut)), security(("bearer" = [])))]
pub async fn my_feed(State(state): State<AppState>, user: CurrentUser) -> axum::Json<FeedOut> {
    axum::Json(FeedOut { path: feed_path(&state, &user.tenant, user.id) })
}

/// The personal iCalendar feed, at the secret path `my_feed` gives
/// (`<id>-<token>.ics`); no login, for calendar clients.
#[utoipa::path(get, path = "/calendar/{file}", operation_id = "calendar_feed", tag = "tasks", params(("slug" = String, Path), ("file" = String, Path)),
    responses((status = 200, description = "text/calendar"), (status = 404)))]
pub async fn feed(State(state): State<AppState>, tenant: Tenant, Path((_, file)): Path<(String, String)>) -> Result<Response, AppError> {
    let body = crate::tasks::ical::feed(&state, &tenant, &file)?;
    Ok(([(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=300")], body).into_response())
}
