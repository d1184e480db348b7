//! The caller's language, and every error rendered in it.
//!
//! [`localize`] works out the request's language (cookie, then
//! `Accept-Language`, then the company's default) before the handler runs;
//! the user extractor may refine it with the user's own setting. After the
//! handler, any 4xx/5xx becomes `{"error":{"kind","message"}}` for the API or
//! an HTML page for browsers, where a missing login redirects to the login page;
//! a refused form drawn again ([`form_again`], 422) is left as it is.

use super::cookies;
use crate::app::AppState;
use crate::error::{AppError, ErrorInfo, ErrorKind};
use crate::i18n::Lang;
use crate::tenancy::Tenant;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::{Arc, Mutex};

/// The language worked out from the request alone.
#[derive(Clone, Copy, Debug)]
pub struct ReqLang(pub Lang);

/// Where the user extractor leaves the signed-in user's language, so that
/// errors raised after it speak that language too.
#[derive(Clone, Default)]
pub struct LangSlot(Arc<Mutex<Option<Lang>>>);

impl LangSlot {
    pub fn set(&self, lang: Lang) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(lang);
    }
    fn get(&self) -> Option<Lang> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cookie, then `Accept-Language`, then the company's language, then Uzbek.
pub fn request_lang(headers: &HeaderMap, tenant: Option<&Tenant>) -> Lang {
    cookies::get(headers, cookies::LANG)
        .and_then(|c| Lang::parse(&c))
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language))
        .or_else(|| tenant.and_then(|t| Lang::parse(&t.info().language)))
        .unwrap_or(Lang::Uz)
}

pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path.contains("/api/v1/")
        || path.ends_with("/api/v1")
        || path.ends_with("/events")
        || (path.starts_with("/t/") && (path.ends_with("/status") || path.ends_with("/cancel")))
        || path.starts_with("/healthz")
        || path.starts_with("/readyz")
        || path.starts_with("/metrics")
}

fn info_from_status(status: StatusCode) -> ErrorInfo {
    let kind = match status {
        StatusCode::BAD_REQUEST => ErrorKind::BadRequest,
        StatusCode::UNAUTHORIZED => ErrorKind::Unauthorized,
        StatusCode::FORBIDDEN => ErrorKind::Forbidden,
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorKind::MethodNotAllowed,
        StatusCode::CONFLICT => ErrorKind::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorKind::Validation,
        StatusCode::REQUEST_TIMEOUT => ErrorKind::Timeout,
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Unavailable,
        StatusCode::INSUFFICIENT_STORAGE => ErrorKind::StorageFull,
        s if s.is_client_error() => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    };
    ErrorInfo { kind, field: None, message_key: None, args: Vec::new() }
}

/// The HTTP status of an error kind.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthorized | ErrorKind::InvalidCredentials | ErrorKind::TokenReused => StatusCode::UNAUTHORIZED,
        ErrorKind::AccountLocked | ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::AccountInactive
        | ErrorKind::Forbidden
        | ErrorKind::PasswordChangeRequired
        | ErrorKind::CsrfFailed
        | ErrorKind::WrongCompany
        | ErrorKind::CompanyInactive => StatusCode::FORBIDDEN,
        ErrorKind::CompanyArchived => StatusCode::GONE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Timeout => StatusCode::REQUEST_TIMEOUT,
        ErrorKind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if matches!(self.kind, ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::StorageFull) {
            tracing::error!(error = %self, "request failed");
        }
        let status = status(self.kind);
        // The renderer in web::errors replaces this body with a translated
        // one; the English JSON stays for responses that bypass it.
        let body = serde_json::json!({"error": {"kind": self.kind.code(), "message": self.kind.code()}});
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        resp.extensions_mut().insert(self.info());
        resp
    }
}

/// Marks a page that is a form shown again after the core refused it:
/// [`localize`] leaves it as the handler drew it.
#[derive(Clone, Copy, Debug)]
pub struct FormAgain;

/// A refused form, drawn again with what was typed and the reason next to
/// it: `422 Unprocessable Entity`, with the form as the body. (A browser
/// shows the body of a plain form post whatever the status; htmx swaps a
/// 422 too, see `responseHandling` in the page shell.)
pub fn form_again(page: maud::Markup) -> Response {
    let mut r = (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    r.extensions_mut().insert(FormAgain);
    r
}

pub async fn localize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let tenant = cookies::tenant_slug(&path).and_then(|s| state.tenants.get(s));
    let lang = request_lang(req.headers(), tenant.as_ref());
    let slot = LangSlot::default();
    // A company page's error keeps the signed-in frame: the cookies, to find
    // the reader again if the answer is an error (headers only, no body).
    let headers = (tenant.is_some() && !is_api_path(&path)).then(|| req.headers().clone());
    req.extensions_mut().insert(ReqLang(lang));
    req.extensions_mut().insert(slot.clone());
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || resp.extensions().get::<FormAgain>().is_some() {
        return resp;
    }
    let lang = slot.get().unwrap_or(lang);
    let info = resp.extensions().get::<ErrorInfo>().cloned().unwrap_or_else(|| info_from_status(status));
    let text = info.message(lang);
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    if is_api_path(&path) {
        let mut err = serde_json::Map::new();
        err.insert("kind".into(), info.kind.code().into());
        err.insert("message".into(), text.into());
        if let Some(f) = info.field {
            err.insert("field".into(), f.into());
        }
        if let Some((_, v)) = info.args.iter().find(|(k, _)| *k == "detail") {
            err.insert("detail".into(), v.as_str().into());
        }
        let body = serde_json::json!({ "error": err });
        let mut r = Response::from_parts(parts, Body::from(body.to_string()));
        r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
        return r;
    }
    if info.kind == ErrorKind::PasswordChangeRequired
        && let Some(t) = &tenant
    {
        // Every page leads to the one thing left to do; htmx follows
        // `HX-Redirect` instead of swapping the page into a fragment.
        let to = format!("/c/{}/password", t.slug);
        let mut r = Redirect::to(&to).into_response();
        if let Ok(v) = header::HeaderValue::from_str(&to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        return r;
    }
    if status == StatusCode::UNAUTHORIZED {
        let login = match &tenant {
            Some(t) => format!("/c/{}/login", t.slug),
            None => "/admin/login".to_string(),
        };
        let target = if method == axum::http::Method::GET {
            format!("{login}?next={}", form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>())
        } else {
            login
        };
        let mut r = Redirect::to(&target).into_response();
        for c in parts.headers.get_all(header::SET_COOKIE) {
            r.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        return r;
    }
    let page = match framed_error(&state, tenant.as_ref(), headers, &path, lang, status, &text).await {
        Some(page) => page,
        None => super::layout::error_page(lang, tenant.as_ref(), status, &text),
    };
    let mut r = Response::from_parts(parts, Body::from(page.into_string()));
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

/// The error page in the signed-in frame (navigation, bell, account menu),
/// when the request's cookies still name a valid session of this company.
async fn framed_error(
    state: &AppState,
    tenant: Option<&Tenant>,
    headers: Option<HeaderMap>,
    path: &str,
    lang: Lang,
    status: StatusCode,
    text: &str,
) -> Option<maud::Markup> {
    use axum::extract::FromRequestParts;
    let (tenant, headers) = (tenant?, headers?);
    let mut req = axum::http::Request::builder().uri(path).body(()).ok()?;
    *req.headers_mut() = headers;
    let (mut parts, ()) = req.into_parts();
    parts.extensions.insert(tenant.clone());
    parts.extensions.insert(ReqLang(lang));
    let user = super::extract::CurrentUser::from_request_parts(&mut parts, state).await.ok()?;
    let csrf = cookies::get(&parts.headers, cookies::CSRF).unwrap_or_default();
    let page = super::extract::Page { lang: user.lang, csrf, path: path.to_string() };
    Some(super::pages::org::error_frame(user, page, status, text))
}

/// The answer to a request whose handler panicked: logged with what the
/// panic said, answered as an internal error (a bug, but one request's).
pub fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    tracing::error!(panic = %what, "a request handler panicked");
    axum::response::IntoResponse::into_response(AppError::internal(anyhow::anyhow!("handler panicked: {what}")))
}

#[cfg(test)]
mod panic_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_an_internal_error() {
        async fn boom() -> &'static str {
            panic!("index out of range")
        }
        let app = Router::new().route("/boom", get(boom)).layer(tower_http::catch_panic::CatchPanicLayer::custom(super::panicked));
        let resp = app.oneshot(axum::http::Request::get("/boom").body(axum::body::Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), 500);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["kind"], "internal", "{v}");
        assert!(!String::from_utf8_lossy(&body).contains("index out of range"), "the panic's text stays in the log");
    }
}
