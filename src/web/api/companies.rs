//! Platform JSON API: companies.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::store::schema::CompanyStatus;
use crate::tenancy::Tenant;
use crate::tenancy::service::{self, CompanyPatch, NewCompany, status_str};
use crate::web::extract::{Json, PlatformAdmin};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update)).routes(routes!(activate)).routes(routes!(deactivate))
}

impl From<&PlatformAdmin> for Caller {
    fn from(a: &PlatformAdmin) -> Caller {
        Caller::Platform { id: a.id, name: a.account.username.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyOut {
    pub slug: String,
    pub name: String,
    pub status: String,
    pub timezone: String,
    pub language: String,
    pub created_at: String,
}

impl CompanyOut {
    pub fn new(t: &Tenant) -> Self {
        let i = t.info();
        CompanyOut {
            slug: t.slug.clone(),
            name: i.name,
            status: status_str(i.status).into(),
            timezone: i.timezone,
            language: i.language,
            created_at: crate::clock::from_ms(i.created_at).to_string(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyIn {
    pub name: String,
    /// `^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`, not a reserved word.
    pub slug: String,
    /// IANA name; default `Asia/Tashkent`.
    pub timezone: Option<String>,
    /// `uz`, `ru` or `en`; default `uz`.
    pub language: Option<String>,
    pub admin_username: String,
    /// The first admin's full name.
    pub admin_full_name: Option<String>,
    /// Leave out to have one generated and returned once; the admin must
    /// then choose their own at their first sign-in.
    pub admin_password: Option<String>,
    /// The first account's role: `admin` (default) or `owner` (the founder).
    pub admin_role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyCreated {
    pub slug: String,
    pub name: String,
    pub status: String,
    pub admin_username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatchIn {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyStatusOut {
    pub slug: String,
    pub status: String,
}

/// Every company on this box.
#[utoipa::path(get, path = "/api/v1/companies", tag = "platform",
    responses((status = 200, body = [CompanyOut]), (status = 401)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, _admin: PlatformAdmin) -> axum::Json<Vec<CompanyOut>> {
    axum::Json(state.tenants.all().iter().map(CompanyOut::new).collect())
}

/// Creates a company with its own database file and first admin. It starts inactive.
#[utoipa::path(post, path = "/api/v1/companies", tag = "platform", request_body = CompanyIn,
    responses((status = 201, body = CompanyCreated), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Json(b): Json<CompanyIn>,
) -> Result<(StatusCode, axum::Json<CompanyCreated>), AppError> {
    let input = NewCompany {
        name: b.name,
        slug: b.slug,
        timezone: b.timezone,
        language: b.language,
        admin_username: b.admin_username,
        admin_full_name: b.admin_full_name,
        admin_password: b.admin_password,
        admin_role: b.admin_role,
    };
    let c = service::create_company(&state, &Caller::from(&admin), input).await?;
    let info = c.tenant.info();
    Ok((
        StatusCode::CREATED,
        axum::Json(CompanyCreated {
            slug: c.tenant.slug.clone(),
            name: info.name,
            status: status_str(info.status).into(),
            admin_username: c.admin_username,
            admin_password: c.generated_password,
        }),
    ))
}

/// Renames a company or changes its time zone or language.
#[utoipa::path(patch, path = "/api/v1/companies/{slug}", tag = "platform", params(("slug" = String, Path)), request_body = CompanyPatchIn,
    responses((status = 200, body = CompanyOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
    Json(b): Json<CompanyPatchIn>,
) -> Result<axum::Json<CompanyOut>, AppError> {
    let patch = CompanyPatch { name: b.name, timezone: b.timezone, language: b.language, status: None };
    let t = service::update_company(&state, &Caller::from(&admin), &slug, patch).await?;
    Ok(axum::Json(CompanyOut::new(&t)))
}

async fn set_status(
    state: &AppState,
    admin: &PlatformAdmin,
    slug: &str,
    status: CompanyStatus,
) -> Result<axum::Json<CompanyStatusOut>, AppError> {
    let patch = CompanyPatch { status: Some(status), ..Default::default() };
    let t = service::update_company(state, &Caller::from(admin), slug, patch).await?;
    Ok(axum::Json(CompanyStatusOut { slug: t.slug.clone(), status: status_str(t.info().status).into() }))
}

/// Opens a company's public pages (portal, kiosk) and lets all its users in.
#[utoipa::path(post, path = "/api/v1/companies/{slug}/activate", tag = "platform", params(("slug" = String, Path)),
    responses((status = 200, body = CompanyStatusOut), (status = 404)), security(("bearer" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
) -> Result<axum::Json<CompanyStatusOut>, AppError> {
    set_status(&state, &admin, &slug, CompanyStatus::Active).await
}

/// Closes a company's public pages; only those who set it up may log in.
#[utoipa::path(post, path = "/api/v1/companies/{slug}/deactivate", tag = "platform", params(("slug" = String, Path)),
    responses((status = 200, body = CompanyStatusOut), (status = 404)), security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
) -> Result<axum::Json<CompanyStatusOut>, AppError> {
    set_status(&state, &admin, &slug, CompanyStatus::Inactive).await
}
