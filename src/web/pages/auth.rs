//! Login and logout pages, and the language switch.

use crate::app::AppState;
use crate::auth::session;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t};
use crate::tenancy::Tenant;
use crate::web::api::auth::{platform_login_pair, tenant_login_pair};
use crate::web::cookies::{self, Scope};
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::{self, Shell, csrf_field, field};
use crate::web::limits::ClientIp;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

pub fn platform_router() -> Router<AppState> {
    Router::new()
        .route("/admin/login", get(platform_login_page).post(platform_login_submit))
        .route("/admin/logout", axum::routing::post(platform_logout))
        .route("/lang", get(switch_lang))
}

pub fn tenant_router() -> Router<AppState> {
    Router::new()
        .route("/login", get(tenant_login_page).post(tenant_login_submit))
        .route("/logout", axum::routing::post(tenant_logout))
        .route("/lang", get(switch_company_lang))
        .route("/password", get(password_change_page).post(password_change_submit))
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub next: Option<String>,
}

/// Only a local path may be a redirect target.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => fallback.to_string(),
    }
}

fn login_form(page: &Page, tenant: Option<&Tenant>, action: &str, next: Option<&str>, error: Option<&str>, username: &str) -> Markup {
    let lang = page.lang;
    let heading = match tenant {
        Some(t) => t.info().name,
        None => t(lang, "login.platform_title").to_string(),
    };
    let shell = Shell {
        lang,
        title: t(lang, "login.title"),
        tenant,
        csrf: &page.csrf,
        signed_in: None,
        nav: vec![],
        path: &page.path,
        notice: None,
    };
    layout::render(
        shell,
        html! {
            section.card.narrow {
                h1 { (heading) }
                p.muted { (t(lang, "login.subtitle")) }
                @if let Some(e) = error {
                    p.alert role="alert" { (e) }
                }
                @if let Some(t) = tenant && !t.is_active() {
                    p.hint { (crate::i18n::t(lang, "company.not_open_staff")) }
                }
                form method="post" action=(action) {
                    (csrf_field(&page.csrf))
                    @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                    (field(t(lang, "login.username"), "username", "text", Some(username), true))
                    (field(t(lang, "login.password"), "password", "password", None, true))
                    button.primary.wide type="submit" { (t(lang, "login.submit")) }
                }
            }
        },
    )
}

async fn platform_login_page(page: Page, Query(q): Query<NextQuery>) -> Markup {
    login_form(&page, None, "/admin/login", q.next.as_deref(), None, "")
}

async fn platform_login_submit(
    State(state): State<AppState>,
    page: Page,
    ClientIp(ip, limits): ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    match platform_login_pair(&state, &limits, ip, &f.username, &f.password).await {
        Ok(pair) => {
            let to = safe_next(f.next.as_deref(), "/admin");
            start_session(Redirect::to(&to).into_response(), &cookies::scope_of("/"), &pair, state.config.secure_cookies)
        }
        Err(e) => login_failed(&page, None, "/admin/login", &f, e),
    }
}

async fn tenant_login_page(page: Page, tenant: Tenant, Query(q): Query<NextQuery>) -> Markup {
    let action = format!("/c/{}/login", tenant.slug);
    login_form(&page, Some(&tenant), &action, q.next.as_deref(), None, "")
}

async fn tenant_login_submit(
    State(state): State<AppState>,
    page: Page,
    tenant: Tenant,
    ClientIp(ip, limits): ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let home = format!("/c/{}/", tenant.slug);
    match tenant_login_pair(&state, &limits, &tenant, ip, &f.username, &f.password).await {
        Ok(pair) => {
            let to = safe_next(f.next.as_deref(), &home);
            let scope = cookies::scope_of(&home);
            start_session(Redirect::to(&to).into_response(), &scope, &pair, state.config.secure_cookies)
        }
        Err(e) => {
            let action = format!("/c/{}/login", tenant.slug);
            login_failed(&page, Some(&tenant), &action, &f, e)
        }
    }
}

fn start_session(mut resp: Response, scope: &Scope, pair: &session::TokenPair, secure: bool) -> Response {
    for c in cookies::session_cookies(scope, pair, secure) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// The login form again (422), with the username typed and the reason in
/// the user's language; a lockout or rate limit keeps its `Retry-After`. A
/// failing store is an error page, not a refusal.
fn login_failed(page: &Page, tenant: Option<&Tenant>, action: &str, f: &LoginForm, e: AppError) -> Response {
    if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) {
        return e.into_response();
    }
    let text = e.info().message(page.lang);
    let mut resp = form_again(login_form(page, tenant, action, f.next.as_deref(), Some(&text), &f.username));
    if let Some(secs) = e.retry_after
        && let Ok(v) = secs.to_string().parse()
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

async fn end_session(db: &crate::store::Db, state: &AppState, headers: &axum::http::HeaderMap, scope: &Scope, to: &str) -> Response {
    if let Some(rt) = cookies::get(headers, scope.refresh) {
        let _ = session::logout(db, state.now_ms(), &rt).await;
    }
    let mut resp = Redirect::to(to).into_response();
    for c in cookies::clear_cookies(scope, state.config.secure_cookies) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn platform_logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    end_session(&state.platform.clone(), &state, &headers, &cookies::scope_of("/"), "/admin/login").await
}

async fn tenant_logout(State(state): State<AppState>, tenant: Tenant, headers: axum::http::HeaderMap) -> Result<Response, AppError> {
    let home = format!("/c/{}/", tenant.slug);
    let login = format!("/c/{}/login", tenant.slug);
    Ok(end_session(tenant.db()?, &state, &headers, &cookies::scope_of(&home), &login).await)
}

#[derive(Deserialize)]
struct LangQuery {
    set: String,
    next: Option<String>,
}

/// The language switch on a company's pages: the cookie, and for a
/// signed-in user their saved language too (it outranks the cookie).
async fn switch_company_lang(
    State(state): State<AppState>,
    tenant: Tenant,
    user: Result<crate::web::extract::CurrentUser, AppError>,
    q: Query<LangQuery>,
) -> Response {
    if let (Ok(user), Some(lang)) = (user, Lang::parse(&q.set))
        && user.account.language.as_deref() != Some(lang.code())
    {
        let patch = crate::org::service::UserPatch { language: Some(Some(lang.code().to_string())), ..Default::default() };
        if let Err(e) = crate::org::service::update_profile(&state, &tenant, &user, patch, None).await {
            tracing::warn!(error = %e, "saving the language failed");
        }
    }
    switch_lang(State(state), q).await
}

/// Remembers a language choice in a cookie and goes back.
async fn switch_lang(State(state): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let to = safe_next(q.next.as_deref(), "/");
    let mut resp = Redirect::to(&to).into_response();
    if let Some(lang) = Lang::parse(&q.set) {
        let c = cookies::build(cookies::LANG, lang.code(), "/", 365 * 24 * 3600, true, state.config.secure_cookies);
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Deserialize)]
struct PasswordChangeForm {
    current_password: String,
    new_password: String,
}

/// The page a user who signed in with a password given to them (generated,
/// or reset by an admin) is sent to from every other page until they choose
/// their own. Anyone signed in may use it.
fn password_change_form(page: &Page, user: &CurrentUser, error: Option<(Option<&str>, &str)>) -> Markup {
    let lang = page.lang;
    let action = format!("/c/{}/password", user.tenant.slug);
    let shell = Shell {
        lang,
        title: t(lang, "password_change.title"),
        tenant: Some(&user.tenant),
        csrf: &page.csrf,
        signed_in: None,
        nav: vec![],
        path: &page.path,
        notice: None,
    };
    let err_for = |name: &str| error.filter(|(f, _)| *f == Some(name)).map(|(_, m)| m.to_string());
    let general = error.filter(|(f, _)| !matches!(f, Some("current_password" | "new_password"))).map(|(_, m)| m.to_string());
    layout::render(
        shell,
        html! {
            section.card.narrow #password-change {
                h1 { (t(lang, "password_change.title")) }
                p.muted { (user.display_name()) }
                p { (t(lang, "password_change.lead")) }
                @if let Some(e) = general { p.alert role="alert" { (e) } }
                form method="post" action=(action) {
                    (csrf_field(&page.csrf))
                    (field(t(lang, "password_change.current"), "current_password", "password", None, true))
                    @if let Some(e) = err_for("current_password") { p.field-error role="alert" { (e) } }
                    (field(t(lang, "password_change.new"), "new_password", "password", None, true))
                    @if let Some(e) = err_for("new_password") { p.field-error role="alert" { (e) } }
                    button.primary.wide type="submit" { (t(lang, "password_change.submit")) }
                }
                (layout::post_button(&format!("/c/{}/logout", user.tenant.slug), &page.csrf, t(lang, "nav.logout"), "link", None))
            }
        },
    )
}

async fn password_change_page(user: CurrentUser, page: Page) -> Markup {
    let page = page.with_lang(user.lang);
    password_change_form(&page, &user, None)
}

async fn password_change_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<PasswordChangeForm>,
) -> Result<Response, AppError> {
    let page = page.with_lang(user.lang);
    match crate::org::service::change_own_password(&state, &user.tenant, &user, f.current_password, f.new_password).await {
        Ok(()) => Ok(Redirect::to(&format!("/c/{}/", user.tenant.slug)).into_response()),
        Err(e) if e.kind == ErrorKind::Validation => {
            let text = e.info().message(page.lang);
            Ok(form_again(password_change_form(&page, &user, Some((e.field, &text)))))
        }
        Err(e) => Err(e),
    }
}
