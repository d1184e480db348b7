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
    Router::new().route("/brand.css", get(brand_css)).route("/logo", get(logo)).route("/manifest.webmanifest", get(manifest))
}

/// `GET /c/<slug>/manifest.webmanifest`: lets a phone put the company's
/// Idora on its home screen, opening at the company's home page.
pub async fn manifest(tenant: Tenant) -> Response {
    use crate::web::assets::url;
    let name = tenant.info().name;
    let body = serde_json::json!({
        "name": format!("{name} · Idora"),
        "short_name": name,
        "start_url": format!("/c/{}/", tenant.slug),
        "scope": format!("/c/{}/", tenant.slug),
        "display": "standalone",
        "background_color": "#f4f6f8",
        "theme_color": "#1f6feb",
        "icons": [
            {"src": url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url("icons/favicon.svg"), "sizes": "any", "type": "image/svg+xml"}
        ]
    });
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/manifest+json"))], body.to_string()).into_response()
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
