//! Extractors that resolve who is calling before a handler runs: the
//! company of the path, the signed-in user or platform admin, the page
//! context, and a JSON body whose errors say what was wrong.

use super::cookies::{self, FreshAccess};
use super::csrf::CsrfToken;
use super::errors::{LangSlot, ReqLang};
use crate::app::AppState;
use crate::auth::session::{self, PLATFORM_REALM, TENANT_REALM};
use crate::auth::tokens::{Claims, PLATFORM};
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::schema::AccountV1;
use crate::tenancy::Tenant;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Resolves `/c/{slug}` to its company and keeps it in the request.
pub async fn resolve_tenant(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    mut req: Request,
    next: Next,
) -> Response {
    let slug = params.get("slug").map(String::as_str).unwrap_or("");
    match state.tenants.resolve(slug) {
        // An archived company serves nothing: 410 with a clear page or message.
        Ok(t) if t.is_archived() => AppError::new(ErrorKind::CompanyArchived).into_response(),
        Ok(t) => {
            // A company whose file does not open (missing, damaged) answers
            // every route, its pages too, with 503 and the reason.
            if let Err(e) = t.db() {
                return e.into_response();
            }
            req.extensions_mut().insert(t);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        parts.extensions.get::<Tenant>().cloned().ok_or_else(|| ErrorKind::NotFound.into())
    }
}

/// The language of the request (before any user setting).
pub fn req_lang(parts: &Parts) -> Lang {
    parts.extensions.get::<ReqLang>().map(|l| l.0).unwrap_or(Lang::Uz)
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The access token of the request: bearer header, then a token the cookie
/// middleware has just refreshed, then the access cookie.
fn access_token(parts: &Parts, cookie: &str) -> Option<String> {
    bearer(parts).or_else(|| parts.extensions.get::<FreshAccess>().map(|f| f.0.clone())).or_else(|| cookies::get(&parts.headers, cookie))
}

/// A signed-in company user: the core's [`Principal`], resolved from the
/// request's token and session.
pub type CurrentUser = crate::auth::Principal;

fn user_lang(account: &AccountV1, parts: &Parts) -> Lang {
    let lang = crate::auth::account_lang(account, req_lang(parts));
    set_lang(parts, lang);
    lang
}

/// Errors and pages of this request speak `lang` from now on.
fn set_lang(parts: &Parts, lang: Lang) {
    if let Some(slot) = parts.extensions.get::<LangSlot>() {
        slot.set(lang);
    }
}

/// What a user who must choose their own password may still reach: the
/// change-password page and API, and signing out.
fn open_before_password_change(parts: &Parts) -> bool {
    let path =
        parts.extensions.get::<axum::extract::OriginalUri>().map(|u| u.path().to_string()).unwrap_or_else(|| parts.uri.path().to_string());
    // `/c/{slug}/rest`: what follows the company.
    let rest = path.strip_prefix("/c/").and_then(|p| p.split_once('/')).map(|(_, r)| r).unwrap_or("");
    matches!(rest.trim_end_matches('/'), "password" | "profile/password" | "api/v1/me/password" | "logout" | "api/v1/auth/logout")
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(u) = parts.extensions.get::<CurrentUser>() {
            return Ok(u.clone());
        }
        let tenant = Tenant::from_request_parts(parts, state).await?;
        let token = access_token(parts, cookies::TENANT_ACCESS).ok_or(ErrorKind::Unauthorized)?;
        let claims: Claims = state.keys.verify(&token, "access", state.now().as_second())?;
        if claims.ten != tenant.slug {
            return Err(ErrorKind::WrongCompany.into());
        }
        let db = tenant.db()?;
        if !session::family_alive(db, &claims.sid)? {
            return Err(ErrorKind::Unauthorized.into());
        }
        match crate::auth::Principal::load(&tenant, claims.sub, claims.sid, req_lang(parts)) {
            Ok(user) => {
                set_lang(parts, user.lang);
                if user.must_change_password && !open_before_password_change(parts) {
                    return Err(ErrorKind::PasswordChangeRequired.into());
                }
                parts.extensions.insert(user.clone());
                Ok(user)
            }
            Err(e) => {
                // A refusal (switched off, company closed) in the user's own language.
                if let Ok(Some(account)) = session::get_account(db, TENANT_REALM, claims.sub) {
                    user_lang(&account, parts);
                }
                Err(e)
            }
        }
    }
}

/// A signed-in platform admin.
#[derive(Clone)]
pub struct PlatformAdmin {
    pub id: u64,
    pub account: AccountV1,
    pub sid: String,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = access_token(parts, cookies::PLATFORM_ACCESS).ok_or(ErrorKind::Unauthorized)?;
        let claims: Claims = state.keys.verify(&token, "access", state.now().as_second())?;
        if claims.ten != PLATFORM {
            return Err(ErrorKind::WrongCompany.into());
        }
        if !session::family_alive(&state.platform, &claims.sid)? {
            return Err(ErrorKind::Unauthorized.into());
        }
        let account = session::get_account(&state.platform, PLATFORM_REALM, claims.sub)?.ok_or(ErrorKind::Unauthorized)?;
        let lang = user_lang(&account, parts);
        if !account.active {
            return Err(ErrorKind::AccountInactive.into());
        }
        Ok(PlatformAdmin { id: claims.sub, account, sid: claims.sid, lang })
    }
}

/// What every page needs: the language and the CSRF token for its forms.
#[derive(Clone)]
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    pub path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let lang = parts.extensions.get::<CurrentUser>().map(|u| u.lang).unwrap_or_else(|| req_lang(parts));
        let csrf = parts.extensions.get::<CsrfToken>().map(|c| c.0.clone()).unwrap_or_default();
        // The full path: a nested router sees its URI without the `/c/<slug>` prefix.
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map(|u| u.path()).unwrap_or(parts.uri.path()).to_string();
        Ok(Page { lang, csrf, path })
    }
}

impl Page {
    /// The same page in the user's own language.
    pub fn with_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }
}

/// A JSON body. A malformed one is a 400 `bad_request` (or 422 `validation`
/// for well-formed JSON of the wrong shape) with the parser's words as
/// `detail`, never a bare text reply. Every body is an object: an array is
/// refused (serde would otherwise read a struct from an array by position).
/// A number with a zero fraction (`208.0`) is the integer it equals, as JSON
/// Schema (and JavaScript) has it, so it fills an integer field.
pub struct Json<T>(pub T);

/// Turns every number with a zero fraction into that integer.
fn whole_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Only where the integer is exact: below 2^64 (u64) and above -2^63 (i64).
            if f.fract() == 0.0 && (-9.223_372_036_854_776e18..1.844_674_407_370_955_2e19).contains(&f) {
                *v = if f >= 0.0 { serde_json::Value::from(f as u64) } else { serde_json::Value::from(f as i64) };
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let mut value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rej) => {
                let kind = match &rej {
                    JsonRejection::JsonDataError(_) => ErrorKind::Validation,
                    JsonRejection::MissingJsonContentType(_) => ErrorKind::UnsupportedMediaType,
                    JsonRejection::BytesRejection(_) => ErrorKind::PayloadTooLarge,
                    _ => ErrorKind::BadRequest,
                };
                let msg = if kind == ErrorKind::UnsupportedMediaType { "error.unsupported_media_type" } else { "error.invalid_body" };
                return Err(AppError::new(kind).with_message(msg).with_arg("detail", rej.body_text()));
            }
        };
        let shape = |detail: String| AppError::new(ErrorKind::Validation).with_message("error.invalid_body").with_arg("detail", detail);
        if !value.is_object() {
            return Err(shape("the body must be a JSON object".into()));
        }
        whole_numbers(&mut value);
        T::deserialize(value).map(Json).map_err(|e| shape(format!("Failed to deserialize the JSON body into the target type: {e}")))
    }
}

/// The numeric `{id}` of a path.
pub struct PathId(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(params) =
            Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| AppError::new(ErrorKind::NotFound))?;
        params.get("id").and_then(|v| v.parse().ok()).map(PathId).ok_or_else(|| ErrorKind::NotFound.into())
    }
}
