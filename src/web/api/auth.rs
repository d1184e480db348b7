//! Login, refresh and logout over JSON, for platform admins and company
//! users, and `GET /me`.

use crate::app::AppState;
use crate::auth::session::{self, LoginInput, PLATFORM_REALM, TENANT_REALM, TokenPair};
use crate::auth::tokens::PLATFORM;
use crate::error::{AppError, ErrorKind};
use crate::tenancy::Tenant;
use crate::web::cookies::{self, Scope};
use crate::web::extract::{CurrentUser, Json};
use crate::web::limits::{ClientIp, Limits};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn platform_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platform_login)).routes(routes!(platform_refresh)).routes(routes!(platform_logout))
}

/// Company routes (nested under `/c/{slug}/`).
pub fn tenant_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tenant_login))
        .routes(routes!(tenant_refresh))
        .routes(routes!(tenant_logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

fn with_cookies(pair: TokenPair, scope: &Scope, secure: bool) -> Response {
    let cookies = cookies::session_cookies(scope, &pair, secure);
    let mut resp = axum::Json(pair).into_response();
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn cleared(scope: &Scope, secure: bool) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for c in cookies::clear_cookies(scope, secure) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn platform_scope() -> Scope {
    cookies::scope_of("/")
}

fn tenant_scope(t: &Tenant) -> Scope {
    cookies::scope_of(&format!("/c/{}/", t.slug))
}

/// Logs a platform admin in.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "platform", request_body = LoginBody,
    responses((status = 200, body = TokenPair), (status = 401), (status = 429)))]
pub async fn platform_login(
    State(state): State<AppState>,
    ClientIp(ip, limits): ClientIp,
    Json(body): Json<LoginBody>,
) -> Result<Response, AppError> {
    let pair = platform_login_pair(&state, &limits, ip, &body.username, &body.password).await?;
    Ok(with_cookies(pair, &platform_scope(), state.config.secure_cookies))
}

pub async fn platform_login_pair(
    state: &AppState,
    limits: &Limits,
    ip: std::net::IpAddr,
    username: &str,
    password: &str,
) -> Result<TokenPair, AppError> {
    limits.check_login(ip)?;
    let _slot = limits.login_slot(ip)?;
    let input = LoginInput {
        db: &state.platform,
        realm: PLATFORM_REALM,
        keys: &state.keys,
        now_ms: state.now_ms(),
        ten: PLATFORM,
        username,
        password,
        client: ip,
        guard: &state.logins,
        // Platform admins have no notifications; the warning is logged.
        on_lock: &|_, _| {},
    };
    let (_, _, pair) = session::login(input, |_| Ok(())).await?;
    crate::tenancy::first_admin::signed_in(&state.config.data_dir);
    Ok(pair)
}

/// Exchanges a platform refresh token for a new pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "platform", request_body = RefreshBody,
    responses((status = 200, body = TokenPair), (status = 401)))]
pub async fn platform_refresh(State(state): State<AppState>, Json(body): Json<RefreshBody>) -> Result<Response, AppError> {
    let (_, pair) = session::refresh(&state.platform, PLATFORM_REALM, &state.keys, state.now_ms(), PLATFORM, &body.refresh_token).await?;
    Ok(with_cookies(pair, &platform_scope(), state.config.secure_cookies))
}

/// Ends a platform admin's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "platform", request_body = RefreshBody, responses((status = 204)))]
pub async fn platform_logout(State(state): State<AppState>, Json(body): Json<RefreshBody>) -> Result<Response, AppError> {
    session::logout(&state.platform, state.now_ms(), &body.refresh_token).await?;
    Ok(cleared(&platform_scope(), state.config.secure_cookies))
}

/// Logs a company user in. While the company is inactive only those who
/// set it up (permission `company.setup`) may enter.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "company", request_body = LoginBody,
    params(("slug" = String, Path)),
    responses((status = 200, body = TokenPair), (status = 401), (status = 403), (status = 429)))]
pub async fn tenant_login(
    State(state): State<AppState>,
    tenant: Tenant,
    ClientIp(ip, limits): ClientIp,
    Json(body): Json<LoginBody>,
) -> Result<Response, AppError> {
    let pair = tenant_login_pair(&state, &limits, &tenant, ip, &body.username, &body.password).await?;
    Ok(with_cookies(pair, &tenant_scope(&tenant), state.config.secure_cookies))
}

pub async fn tenant_login_pair(
    state: &AppState,
    limits: &Limits,
    tenant: &Tenant,
    ip: std::net::IpAddr,
    username: &str,
    password: &str,
) -> Result<TokenPair, AppError> {
    limits.check_login(ip)?;
    let _slot = limits.login_slot(ip)?;
    let db = tenant.db()?;
    let on_lock = |id: u64, until: i64| crate::notify::account_locked(state, tenant, id, until);
    let input = LoginInput {
        db,
        realm: TENANT_REALM,
        keys: &state.keys,
        now_ms: state.now_ms(),
        ten: &tenant.slug,
        username,
        password,
        client: ip,
        guard: &state.logins,
        on_lock: &on_lock,
    };
    let active = tenant.is_active();
    let (_, _, pair) = session::login(input, |acc| {
        if active {
            return Ok(());
        }
        let perms = crate::org::service::role_permissions(db, &acc.role)?;
        if perms.iter().any(|p| p == "company.setup") { Ok(()) } else { Err(ErrorKind::CompanyInactive.into()) }
    })
    .await?;
    Ok(pair)
}

/// Exchanges a company refresh token for a new pair.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "company", request_body = RefreshBody,
    params(("slug" = String, Path)), responses((status = 200, body = TokenPair), (status = 401)))]
pub async fn tenant_refresh(State(state): State<AppState>, tenant: Tenant, Json(body): Json<RefreshBody>) -> Result<Response, AppError> {
    let (_, pair) = session::refresh(tenant.db()?, TENANT_REALM, &state.keys, state.now_ms(), &tenant.slug, &body.refresh_token).await?;
    Ok(with_cookies(pair, &tenant_scope(&tenant), state.config.secure_cookies))
}

/// Ends a company user's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "company", request_body = RefreshBody,
    params(("slug" = String, Path)), responses((status = 204)))]
pub async fn tenant_logout(State(state): State<AppState>, tenant: Tenant, Json(body): Json<RefreshBody>) -> Result<Response, AppError> {
    session::logout(tenant.db()?, state.now_ms(), &body.refresh_token).await?;
    Ok(cleared(&tenant_scope(&tenant), state.config.secure_cookies))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: u64,
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub language: String,
    pub company: String,
    /// Points awarded for completed tasks.
    pub points: PointsOut,
    /// Tasks waiting for the user's decision (the navigation badge).
    pub inbox: InboxOut,
}

/// Points awarded for completed tasks: in all, this week (from Monday) and
/// this month, by the company's time zone.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsOut {
    pub total: u64,
    pub week: u64,
    pub month: u64,
}

impl From<crate::tasks::service::Points> for PointsOut {
    fn from(p: crate::tasks::service::Points) -> Self {
        PointsOut { total: p.total, week: p.week, month: p.month }
    }
}

/// How many tasks wait for the user: to approve (`GET /tasks?inbox=approval`)
/// and to review (`GET /tasks?inbox=review`).
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxOut {
    pub approval: usize,
    pub review: usize,
}

/// The signed-in user and what they may do.
#[utoipa::path(get, path = "/api/v1/me", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = Me), (status = 401)), security(("bearer" = [])))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<Me>, AppError> {
    let mut permissions: Vec<String> = user.permissions.iter().cloned().collect();
    permissions.sort();
    let db = user.tenant.db()?;
    let who = crate::auth::Caller::from(&user);
    let points = crate::tasks::service::points_of(db, &who, user.id, state.now_ms(), &user.tenant.timezone())?;
    let inbox = crate::tasks::service::inbox_counts(db, &who)?;
    Ok(axum::Json(Me {
        id: user.id,
        username: user.account.username.clone(),
        full_name: user.account.full_name.clone(),
        role: user.account.role.clone(),
        permissions,
        department_id: user.account.department_id,
        branch_id: user.account.branch_id,
        language: user.lang.code().to_string(),
        company: user.tenant.slug.clone(),
        points: points.into(),
        inbox: InboxOut { approval: inbox.approval, review: inbox.review },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    /// The password the user signed in with.
    pub current_password: String,
    pub new_password: String,
}

/// Changes the signed-in user's own password. A user whose password was
/// generated or reset by an admin gets `403 password_change_required` from
/// every other call until they have done this. Other sessions of the user end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "company", params(("slug" = String, Path)), request_body = PasswordChangeBody,
    responses((status = 204), (status = 401), (status = 422)), security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<PasswordChangeBody>,
) -> Result<StatusCode, AppError> {
    crate::org::service::change_own_password(&state, &user.tenant, &user, b.current_password, b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
