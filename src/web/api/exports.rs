//! Reports and histories as files (being written).

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::reports::Ask;
use crate::web::extract::CurrentUser;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;

/// Routes without the request timeout: big files stream for a while.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// A report as a CSV or XLSX file.
pub async fn report_file(_state: &AppState, _user: &CurrentUser, _ask: Ask, _kind: &str, _sep: Option<&str>) -> Result<Response, AppError> {
    Err(ErrorKind::NotFound.into())
}
