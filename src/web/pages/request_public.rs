//! (filled by the requests work)

use crate::app::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}

/// Routes outside a company's prefix: the status page `/r/{slug}-{token}`.
pub fn platform_router() -> Router<AppState> {
    Router::new()
}
