//! Browser sessions in cookies.
//!
//! Both tokens travel as HttpOnly `SameSite=Strict` cookies. A company's
//! cookies are scoped to `/c/<slug>`, so a browser never sends one company's
//! session to another. When the short access token has run out and the
//! refresh cookie is still good, [`refresh_session`] rotates the pair before
//! the handler runs, so a page stays logged in for the refresh token's life.

use crate::app::AppState;
use crate::auth::session::{self, PLATFORM_REALM, TENANT_REALM, TokenPair};
use crate::auth::tokens::{ACCESS_TTL_SECS, PLATFORM, REFRESH_TTL_SECS};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use cookie::{Cookie, SameSite};

pub const TENANT_ACCESS: &str = "idora_at";
pub const TENANT_REFRESH: &str = "idora_rt";
pub const PLATFORM_ACCESS: &str = "idora_pat";
pub const PLATFORM_REFRESH: &str = "idora_prt";
pub const CSRF: &str = "idora_csrf";
pub const LANG: &str = "idora_lang";

/// The access token that [`refresh_session`] obtained for this request.
#[derive(Clone)]
pub struct FreshAccess(pub String);

/// The value of cookie `name`, if the request has it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_string()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Whether the request carries any cookie of ours other than the language.
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    [TENANT_ACCESS, TENANT_REFRESH, PLATFORM_ACCESS, PLATFORM_REFRESH].iter().any(|n| get(headers, n).is_some())
}

pub fn build(name: &str, value: &str, path: &str, max_age_secs: i64, http_only: bool, secure: bool) -> HeaderValue {
    let c = Cookie::build((name.to_string(), value.to_string()))
        .path(path.to_string())
        .http_only(http_only)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(time_duration(max_age_secs))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn time_duration(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs)
}

/// Which cookies and path belong to a request path: a company's under
/// `/c/<slug>`, the platform's everywhere else.
pub struct Scope {
    pub slug: Option<String>,
    pub access: &'static str,
    pub refresh: &'static str,
    pub path: String,
}

pub fn scope_of(path: &str) -> Scope {
    match tenant_slug(path) {
        Some(slug) => Scope { path: format!("/c/{slug}"), slug: Some(slug.to_string()), access: TENANT_ACCESS, refresh: TENANT_REFRESH },
        None => Scope { slug: None, access: PLATFORM_ACCESS, refresh: PLATFORM_REFRESH, path: "/".into() },
    }
}

/// The company slug of a `/c/<slug>/…` path.
pub fn tenant_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/c/")?;
    let slug = rest.split('/').next()?;
    (!slug.is_empty()).then_some(slug)
}

/// Set-Cookie headers that start a browser session.
pub fn session_cookies(scope: &Scope, pair: &TokenPair, secure: bool) -> [HeaderValue; 2] {
    [
        build(scope.access, &pair.access_token, &scope.path, ACCESS_TTL_SECS, true, secure),
        build(scope.refresh, &pair.refresh_token, &scope.path, REFRESH_TTL_SECS, true, secure),
    ]
}

/// Set-Cookie headers that end a browser session.
pub fn clear_cookies(scope: &Scope, secure: bool) -> [HeaderValue; 2] {
    [build(scope.access, "", &scope.path, 0, true, secure), build(scope.refresh, "", &scope.path, 0, true, secure)]
}

pub async fn refresh_session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    let scope = scope_of(req.uri().path());
    let access = get(req.headers(), scope.access);
    let now = state.now();
    let access_ok = access.as_deref().is_some_and(|t| state.keys.verify(t, "access", now.as_second()).is_ok());
    let refresh = get(req.headers(), scope.refresh);
    let Some(refresh) = refresh.filter(|_| !access_ok) else {
        return next.run(req).await;
    };
    let (db, ten, realm) = match &scope.slug {
        Some(slug) => match state.tenants.get(slug).map(|t| t.db().cloned()) {
            Some(Ok(db)) => (db, slug.clone(), TENANT_REALM),
            _ => return next.run(req).await,
        },
        None => (state.platform.clone(), PLATFORM.to_string(), PLATFORM_REALM),
    };
    let secure = state.config.secure_cookies;
    match refresh_once(&state, &db, realm, &ten, &refresh).await {
        Ok(pair) => {
            req.extensions_mut().insert(FreshAccess(pair.access_token.clone()));
            let mut resp = next.run(req).await;
            for c in session_cookies(&scope, &pair, secure) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Err(_) => {
            let mut resp = next.run(req).await;
            for c in clear_cookies(&scope, secure) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
    }
}

/// How long a browser may keep sending a refresh cookie that was just
/// rotated and still get the pair it was exchanged for.
const ROTATION_GRACE_MS: i64 = 30_000;

type Rotated = std::collections::HashMap<(String, [u8; 32]), (i64, TokenPair)>;

/// Rotates a refresh cookie, once. A browser sends several requests at once
/// (a page, its htmx calls, a live stream) with the same stale cookies; each
/// of them gets the pair the first one obtained, instead of the second
/// looking like a stolen token replayed, which would end the session. After
/// the grace period a replay revokes the family as before.
async fn refresh_once(
    state: &AppState,
    db: &crate::store::Db,
    realm: session::Realm,
    ten: &str,
    token: &str,
) -> Result<TokenPair, crate::error::AppError> {
    static ROTATED: std::sync::LazyLock<tokio::sync::Mutex<Rotated>> = std::sync::LazyLock::new(Default::default);
    let now_ms = state.now_ms();
    let key = (ten.to_string(), crate::auth::tokens::token_hash(token));
    let mut rotated = ROTATED.lock().await;
    rotated.retain(|_, (at, _)| (now_ms - *at).abs() < ROTATION_GRACE_MS);
    if let Some((_, pair)) = rotated.get(&key) {
        return Ok(pair.clone());
    }
    let (_, pair) = session::refresh(db, realm, &state.keys, now_ms, ten, token).await?;
    rotated.insert(key, (now_ms, pair.clone()));
    Ok(pair)
}
