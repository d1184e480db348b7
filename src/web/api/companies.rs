//! Platform JSON API: companies.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::store::schema::CompanyStatus;
use crate::tenancy::Tenant;
use crate::tenancy::console::{self, Instance, Overview, PlatformAdminRow};
use crate::tenancy::service::{self, CompanyPatch, Contacts, NewCompany, status_str};
use crate::web::extract::{Json, PathId, PlatformAdmin};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(archive))
        .routes(routes!(restore))
        .routes(routes!(delete))
        .routes(routes!(put_logo, delete_logo))
        .routes(routes!(overview))
        .routes(routes!(instance))
        .routes(routes!(admins, add_admin))
        .routes(routes!(admin_password))
        .routes(routes!(remove_admin))
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
    pub contact_person: String,
    pub phone: String,
    pub email: String,
    pub address: String,
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
            contact_person: i.contact_person,
            phone: i.phone,
            email: i.email,
            address: i.address,
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
    /// Who the platform deals with at the company.
    pub contact_person: Option<String>,
    /// `+998…`; other forms are normalised.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
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
    /// An empty string clears a contact field.
    pub contact_person: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
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
        contacts: Contacts { contact_person: b.contact_person, phone: b.phone, email: b.email, address: b.address },
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

/// Renames a company, changes its time zone, language or contact details.
#[utoipa::path(patch, path = "/api/v1/companies/{slug}", tag = "platform", params(("slug" = String, Path)), request_body = CompanyPatchIn,
    responses((status = 200, body = CompanyOut), (status = 404), (status = 410, description = "archived: restore it (status) before other changes"), (status = 422)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
    Json(b): Json<CompanyPatchIn>,
) -> Result<axum::Json<CompanyOut>, AppError> {
    let patch = CompanyPatch {
        name: b.name,
        timezone: b.timezone,
        language: b.language,
        status: None,
        contacts: Contacts { contact_person: b.contact_person, phone: b.phone, email: b.email, address: b.address },
    };
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

/// Archives a company: its pages and API answer 410 `company_archived`, its
/// bot and scheduled jobs stop. Nothing is deleted; it can be restored.
#[utoipa::path(post, path = "/api/v1/companies/{slug}/archive", tag = "platform", params(("slug" = String, Path)),
    responses((status = 200, body = CompanyStatusOut), (status = 404)), security(("bearer" = [])))]
pub async fn archive(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
) -> Result<axum::Json<CompanyStatusOut>, AppError> {
    let t = service::archive_company(&state, &Caller::from(&admin), &slug).await?;
    Ok(axum::Json(CompanyStatusOut { slug: t.slug.clone(), status: status_str(t.info().status).into() }))
}

/// Brings an archived company back, inactive (its admins may sign in to set it up).
#[utoipa::path(post, path = "/api/v1/companies/{slug}/restore", tag = "platform", params(("slug" = String, Path)),
    responses((status = 200, body = CompanyStatusOut), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn restore(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
) -> Result<axum::Json<CompanyStatusOut>, AppError> {
    let t = service::restore_company(&state, &Caller::from(&admin), &slug).await?;
    restart_bot(&state, &t);
    Ok(axum::Json(CompanyStatusOut { slug: t.slug.clone(), status: status_str(t.info().status).into() }))
}

/// A restored company's bot runs again, as it would after a start.
pub(crate) fn restart_bot(state: &AppState, t: &Tenant) {
    if let Ok(Some(cfg)) = t.db().and_then(crate::telegram::config) {
        crate::bot::start(state, t, &cfg);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyDeleteIn {
    /// The company's slug typed again.
    pub confirm: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyDeletedOut {
    pub slug: String,
    /// Where its export was kept, relative to the data folder.
    pub backup: String,
    pub backup_bytes: u64,
}

/// Deletes a company for good, after keeping its export in
/// `backups/deleted/<slug>-<time>.tar.zst`. `confirm` must be its slug.
#[utoipa::path(post, path = "/api/v1/companies/{slug}/delete", tag = "platform", params(("slug" = String, Path)),
    request_body = CompanyDeleteIn,
    responses((status = 200, body = CompanyDeletedOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
    Json(b): Json<CompanyDeleteIn>,
) -> Result<axum::Json<CompanyDeletedOut>, AppError> {
    let d = service::delete_company(&state, &Caller::from(&admin), &slug, &b.confirm).await?;
    let backup = d.backup.strip_prefix(state.tenants.data_dir()).unwrap_or(&d.backup).display().to_string();
    Ok(axum::Json(CompanyDeletedOut { slug: d.slug, backup, backup_bytes: d.backup_bytes }))
}

/// Sets the company's logo (PNG, JPEG, WebP or GIF, at most 512 KB; the
/// body is the image) — the same logo its admin sets under branding.
#[utoipa::path(put, path = "/api/v1/companies/{slug}/logo", tag = "platform", params(("slug" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204), (status = 404), (status = 413), (status = 415)), security(("bearer" = [])))]
pub async fn put_logo(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Path(slug): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    if body.is_empty() {
        return Err(AppError::invalid("logo", "validation.required"));
    }
    service::set_company_logo(&state, &Caller::from(&admin), &slug, Some(body.to_vec())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the company's logo.
#[utoipa::path(delete, path = "/api/v1/companies/{slug}/logo", tag = "platform", params(("slug" = String, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_logo(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    service::set_company_logo(&state, &Caller::from(&admin), &slug, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Figures over every company: how many are active, inactive and archived,
/// users, tickets and tasks today, and each company's storage. A company's
/// counts are reused for up to a minute.
#[utoipa::path(get, path = "/api/v1/platform/overview", tag = "platform",
    responses((status = 200, body = Overview), (status = 401)), security(("bearer" = [])))]
pub async fn overview(State(state): State<AppState>, admin: PlatformAdmin) -> Result<axum::Json<Overview>, AppError> {
    Ok(axum::Json(console::overview(&state, &Caller::from(&admin)).await?))
}

/// This instance: version, uptime, free space of the data folder, and each
/// database's problem (what `/readyz` reports).
#[utoipa::path(get, path = "/api/v1/platform/instance", tag = "platform",
    responses((status = 200, body = InstanceOut), (status = 401)), security(("bearer" = [])))]
pub async fn instance(State(state): State<AppState>, admin: PlatformAdmin) -> Result<axum::Json<InstanceOut>, AppError> {
    let i = console::instance(&state, &Caller::from(&admin))?;
    Ok(axum::Json(InstanceOut::new(&state, i)))
}

/// The instance with its last backup.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceOut {
    #[serde(flatten)]
    pub instance: Instance,
    /// The last backup's result (`None`: none was taken since the start).
    pub last_backup: Option<BackupOut>,
}

impl InstanceOut {
    pub fn new(state: &AppState, instance: Instance) -> Self {
        InstanceOut { instance, last_backup: last_backup(state) }
    }
}

/// A backup's result, as `/readyz` and the console show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackupOut {
    /// When it ended (UTC ms).
    pub at_ms: i64,
    pub ok: bool,
    pub bytes: u64,
    pub secs: f64,
    pub error: Option<String>,
    /// The folder or bucket it went to.
    pub target: String,
}

/// The last backup's result, from the backup schedule.
pub fn last_backup(state: &AppState) -> Option<BackupOut> {
    crate::ops::backup::last_status(state).map(|b| BackupOut {
        at_ms: b.at_ms,
        ok: b.ok,
        bytes: b.bytes,
        secs: b.secs,
        error: b.error,
        target: b.target,
    })
}

/// Every platform admin.
#[utoipa::path(get, path = "/api/v1/platform/admins", tag = "platform",
    responses((status = 200, body = [PlatformAdminRow]), (status = 401)), security(("bearer" = [])))]
pub async fn admins(State(state): State<AppState>, admin: PlatformAdmin) -> Result<axum::Json<Vec<PlatformAdminRow>>, AppError> {
    Ok(axum::Json(console::list_admins(&state, &Caller::from(&admin))?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformAdminIn {
    pub username: String,
    /// At least 8 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformPasswordIn {
    pub password: String,
}

/// Adds a platform admin.
#[utoipa::path(post, path = "/api/v1/platform/admins", tag = "platform", request_body = PlatformAdminIn,
    responses((status = 201, body = PlatformAdminRow), (status = 422)), security(("bearer" = [])))]
pub async fn add_admin(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    Json(b): Json<PlatformAdminIn>,
) -> Result<(StatusCode, axum::Json<PlatformAdminRow>), AppError> {
    let row = console::add_admin(&state, &Caller::from(&admin), &b.username, b.password).await?;
    Ok((StatusCode::CREATED, axum::Json(row)))
}

/// Sets a platform admin's password (and unlocks the account).
#[utoipa::path(post, path = "/api/v1/platform/admins/{id}/password", tag = "platform", params(("id" = u64, Path)),
    request_body = PlatformPasswordIn, responses((status = 204), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn admin_password(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    PathId(id): PathId,
    Json(b): Json<PlatformPasswordIn>,
) -> Result<StatusCode, AppError> {
    console::reset_admin_password(&state, &Caller::from(&admin), id, b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a platform admin: never oneself, never the last one.
#[utoipa::path(delete, path = "/api/v1/platform/admins/{id}", tag = "platform", params(("id" = u64, Path)),
    responses((status = 204), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn remove_admin(State(state): State<AppState>, admin: PlatformAdmin, PathId(id): PathId) -> Result<StatusCode, AppError> {
    console::remove_admin(&state, &Caller::from(&admin), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
