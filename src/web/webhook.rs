//! The webhook Telegram posts a company bot's updates to, when Idora is
//! reachable over HTTPS (`public_url`). Not in the OpenAPI document: only
//! Telegram calls it, and a wrong secret is not found.

use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/telegram/{slug}/{secret}", axum::routing::post(webhook))
}

/// An update: the path's secret and Telegram's secret-token header must
/// both be the bot's.
async fn webhook(
    State(state): State<AppState>,
    Path((slug, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok());
    if crate::bot::poll::webhook_update(&state, &slug, &secret, header, &body).await { StatusCode::OK } else { StatusCode::NOT_FOUND }
}
