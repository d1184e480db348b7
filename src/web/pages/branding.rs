//! The company's branding as files: `/c/<slug>/brand.css` and `/c/<slug>/logo`.

use crate::app::AppState;
use crate::error::AppError;
use crate::org::branding;
use crate::tenancy::Tenant;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> Router<AppState> {
    Router::new().route("/brand.css", get(brand_css)).route("/logo", get(logo))
}

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");

/// `GET /c/<slug>/brand.css`: the company's colour as CSS variables.
pub async fn brand_css(tenant: Tenant) -> Result<Response, AppError> {
    let mut r = branding::css(tenant.db()?)?.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, IMMUTABLE);
    Ok(r)
}

/// `GET /c/<slug>/logo`: the logo image.
pub async fn logo(tenant: Tenant) -> Result<Response, AppError> {
    let (ct, bytes) = branding::logo(tenant.db()?)?;
    let mut r = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, IMMUTABLE);
    Ok(r)
}
