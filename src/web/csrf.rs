//! CSRF protection for cookie-authenticated state changes.
//!
//! Every browser gets a random `idora_csrf` cookie (`SameSite=Strict`). A
//! state-changing request that a browser could send on its own — one that
//! carries our session cookies, or a form post — must repeat that value in
//! the `X-CSRF-Token` header, a `_csrf` form field or a `_csrf` query
//! parameter, and a cross-origin `Origin` is refused outright. Requests with
//! `Authorization: Bearer` carry no ambient credential and pass.

use super::cookies;
use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "_csrf";

/// The CSRF token of this browser, for pages to embed in forms.
#[derive(Clone)]
pub struct CsrfToken(pub String);

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn content_type(req: &Request) -> String {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
}

/// Content types a cross-site HTML form can send without a preflight.
fn is_simple_type(ct: &str) -> bool {
    ct.is_empty()
        || ct.starts_with("application/x-www-form-urlencoded")
        || ct.starts_with("multipart/form-data")
        || ct.starts_with("text/plain")
}

fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    if origin == "null" {
        return false;
    }
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin_host.eq_ignore_ascii_case(host)
}

fn query_token(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned())
}

fn refuse() -> Response {
    AppError::new(ErrorKind::CsrfFailed).into_response()
}

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookies::get(req.headers(), cookies::CSRF).filter(|v| v.len() >= 32);
    if is_safe(req.method()) {
        let (token, fresh) = match existing {
            Some(t) => (t, false),
            None => (hex::encode(crate::store::random_bytes::<32>()), true),
        };
        req.extensions_mut().insert(CsrfToken(token.clone()));
        let mut resp = next.run(req).await;
        if fresh {
            // Readable by scripts on purpose: htmx copies it into a header.
            let c = cookies::build(cookies::CSRF, &token, "/", 365 * 24 * 3600, false, state.config.secure_cookies);
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        return resp;
    }
    if req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let ct = content_type(&req);
    let session = cookies::has_session_cookie(req.headers());
    // An API call that carries no credential at all cannot be forged on
    // anyone's behalf: let it through, so that it is told 401 (or does what
    // the public may do) rather than blamed on a CSRF token it never needed.
    // Pages keep the check: their public forms (login, taking a ticket) are
    // guarded against cross-site posts by it, and so is the tracking page's
    // cancel button (`/t/…/cancel`).
    if !session && req.uri().path().contains("/api/v1") {
        return next.run(req).await;
    }
    let needs_check = session || is_simple_type(&ct);
    if !needs_check {
        return next.run(req).await;
    }
    if !same_origin(&req) {
        return refuse();
    }
    let Some(expected) = existing else { return refuse() };
    let mut provided = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| query_token(&req));
    if provided.is_none() && ct.starts_with("application/x-www-form-urlencoded") {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, state.config.body_limit).await {
            Ok(b) => b,
            Err(_) => return AppError::new(ErrorKind::PayloadTooLarge).into_response(),
        };
        provided = form_urlencoded::parse(&bytes).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned());
        req = Request::from_parts(parts, Body::from(bytes));
    }
    match provided {
        Some(p) if bool::from(p.as_bytes().ct_eq(expected.as_bytes())) => {
            req.extensions_mut().insert(CsrfToken(expected));
            next.run(req).await
        }
        _ => refuse(),
    }
}
