//! Static assets embedded in the binary and served under hashed URLs, so
//! that browsers may cache them forever and still see every new version.

use crate::app::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "i18n/*"]
pub struct Assets;

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{hash}/{*path}", get(serve)).route("/favicon.ico", get(favicon))
}

/// `GET /favicon.ico`, for the browsers and tools that ask for it by name
/// (pages name their icons with `<link rel="icon">`).
async fn favicon() -> Response {
    match Assets::get("icons/icon-32.png") {
        Some(f) => {
            ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=86400")], f.data.into_owned()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn hashes() -> &'static HashMap<String, String> {
    static H: OnceLock<HashMap<String, String>> = OnceLock::new();
    H.get_or_init(|| {
        Assets::iter().filter_map(|p| Assets::get(&p).map(|f| (p.to_string(), hex::encode(&f.metadata.sha256_hash()[..6])))).collect()
    })
}

/// The URL of an embedded asset, with its content hash in the path.
pub fn url(path: &str) -> String {
    let hash = hashes().get(path).map(String::as_str).unwrap_or("0");
    format!("/assets/{hash}/{path}")
}

async fn serve(Path((hash, path)): Path<(String, String)>) -> Response {
    let Some(file) = Assets::get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = file.metadata.mimetype().to_string();
    let current = hashes().get(&path).is_some_and(|h| *h == hash);
    let mut resp = file.data.into_owned().into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
