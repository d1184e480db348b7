//! JSON API for users, departments, branches, roles, branding and the audit log.

use crate::app::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::AppError;
use crate::org::branding::{self, BrandingChange};
use crate::org::service::{self, BranchInput, DepartmentInput, NewUser, UserPatch, format_hhmm};
use crate::store::schema::{AccountV1, BranchV2, DayHours, DepartmentV2};
use crate::tenancy::Tenant;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, patch_user))
        .routes(routes!(list_departments, create_department))
        .routes(routes!(patch_department))
        .routes(routes!(list_branches, create_branch))
        .routes(routes!(get_branch, patch_branch))
        .routes(routes!(list_roles))
        .routes(routes!(put_role))
        .routes(routes!(get_branding, patch_branding))
        .routes(routes!(get_company, put_company))
        .routes(routes!(list_audit))
}

/// Tells "absent" (`None`) from "null" (`Some(None)`) in a PATCH body.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

// ---------- users ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: u64,
    pub username: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub active: bool,
    pub language: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl UserOut {
    pub fn new(id: u64, a: AccountV1) -> UserOut {
        UserOut {
            id,
            username: a.username,
            full_name: a.full_name,
            phone: a.phone,
            role: a.role,
            department_id: a.department_id,
            branch_id: a.branch_id,
            active: a.active,
            language: a.language,
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserOut,
    /// Only when the password was generated: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit; stored in lower case.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[A-Za-z0-9][A-Za-z0-9._-]{2,31}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub username: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub full_name: String,
    pub phone: Option<String>,
    #[schema(pattern = r"^(owner|director|admin|manager|employee|operator)$")]
    pub role: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    /// Leave out to have one generated.
    pub password: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(uz|ru|en)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub language: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[schema(pattern = r"^(owner|director|admin|manager|employee|operator)$")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub department_id: Option<Option<u64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub branch_id: Option<Option<u64>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(uz|ru|en)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    pub language: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct UsersParams {
    /// Words each found in the username, the full name or the phone; Latin or Cyrillic; at most 200 characters.
    #[serde(default)]
    #[param(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub q: String,
    /// One role: owner, director, admin, manager, employee, operator.
    #[param(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(owner|director|admin|manager|employee|operator)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub role: Option<String>,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    /// Only active (true) or only switched-off (false) accounts.
    pub active: Option<bool>,
}

/// Users of the company, active first then by username; the query narrows them.
#[utoipa::path(get, path = "/api/v1/users", tag = "company", params(("slug" = String, Path), UsersParams),
    responses((status = 200, body = [UserOut]), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn list_users(user: CurrentUser, Query(p): Query<UsersParams>) -> Result<axum::Json<Vec<UserOut>>, AppError> {
    let q = service::UserQuery { text: p.q, role: p.role, department_id: p.department_id, branch_id: p.branch_id, active: p.active };
    let users = service::find_users(user.tenant.db()?, &Caller::from(&user), &q)?;
    Ok(axum::Json(users.into_iter().map(|(id, a)| UserOut::new(id, a)).collect()))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "company", params(("slug" = String, Path)), request_body = UserIn,
    responses((status = 201, body = CreatedUser), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<UserIn>,
) -> Result<(StatusCode, axum::Json<CreatedUser>), AppError> {
    let input = NewUser {
        username: body.username,
        full_name: body.full_name,
        phone: body.phone,
        role: body.role,
        department_id: body.department_id,
        branch_id: body.branch_id,
        password: body.password,
        language: body.language,
        must_change_password: false,
    };
    let (id, password) = service::create_user(&state, &user.tenant, &Caller::from(&user), input).await?;
    let created = service::get_user(user.tenant.db()?, &Caller::from(&user), id)?;
    Ok((StatusCode::CREATED, axum::Json(CreatedUser { user: UserOut::new(id, created), password })))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "company", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = UserOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_user(user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<UserOut>, AppError> {
    Ok(axum::Json(UserOut::new(id, service::get_user(user.tenant.db()?, &Caller::from(&user), id)?)))
}

/// Changes a user: role, active, department, branch, name, phone, password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "company", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = UserPatchIn, responses((status = 200, body = UserOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn patch_user(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<UserPatchIn>,
) -> Result<axum::Json<UserOut>, AppError> {
    let patch = UserPatch {
        full_name: b.full_name,
        phone: b.phone,
        role: b.role,
        department_id: b.department_id,
        branch_id: b.branch_id,
        active: b.active,
        password: b.password,
        language: b.language,
    };
    let updated = service::update_user(&state, &user.tenant, &Caller::from(&user), id, patch).await?;
    Ok(axum::Json(UserOut::new(id, updated)))
}

// ---------- departments ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentOut {
    pub id: u64,
    pub name: String,
    pub active: bool,
    pub created_at: String,
    /// The name in Russian and English (empty: `name` is used).
    pub name_ru: String,
    pub name_en: String,
}

impl DepartmentOut {
    fn new(id: u64, d: DepartmentV2) -> Self {
        DepartmentOut { id, name: d.name, active: d.active, created_at: rfc3339(d.created_at), name_ru: d.name_ru, name_en: d.name_en }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// The name in Russian and English; left out, `name` is used.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    pub active: Option<bool>,
    /// `""` clears a translation (the one name is used).
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
}

/// Departments of the company.
#[utoipa::path(get, path = "/api/v1/departments", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = [DepartmentOut])), security(("bearer" = [])))]
pub async fn list_departments(user: CurrentUser) -> Result<axum::Json<Vec<DepartmentOut>>, AppError> {
    let all = service::list_departments(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, d)| DepartmentOut::new(id, d)).collect()))
}

/// Creates a department.
#[utoipa::path(post, path = "/api/v1/departments", tag = "company", params(("slug" = String, Path)), request_body = DepartmentIn,
    responses((status = 201, body = DepartmentOut), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_department(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<DepartmentIn>,
) -> Result<(StatusCode, axum::Json<DepartmentOut>), AppError> {
    let input = DepartmentInput { name: Some(b.name), name_ru: b.name_ru, name_en: b.name_en, active: None };
    let id = service::create_department(&state, &user.tenant, &Caller::from(&user), input).await?;
    let d = service::list_departments(user.tenant.db()?)?.into_iter().find(|(i, _)| *i == id).map(|(_, d)| d);
    let d = d.ok_or_else(|| AppError::internal(anyhow::anyhow!("department {id} vanished")))?;
    Ok((StatusCode::CREATED, axum::Json(DepartmentOut::new(id, d))))
}

/// Renames (in any language), deactivates or reactivates a department.
#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "company", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = DepartmentPatchIn, responses((status = 200, body = DepartmentOut), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_department(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<DepartmentPatchIn>,
) -> Result<axum::Json<DepartmentOut>, AppError> {
    let input = DepartmentInput { name: b.name, name_ru: b.name_ru, name_en: b.name_en, active: b.active };
    let d = service::update_department(&state, &user.tenant, &Caller::from(&user), id, input).await?;
    Ok(axum::Json(DepartmentOut::new(id, d)))
}

// ---------- branches ----------

/// Opening hours per weekday: `["09:00","18:00"]`, or null for closed.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursJson {
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub mon: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub tue: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub wed: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub thu: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub fri: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub sat: Option<[String; 2]>,
    #[serde(default)]
    #[schema(min_items = 2, max_items = 2)]
    pub sun: Option<[String; 2]>,
}

impl HoursJson {
    fn days(self) -> [Option<(String, String)>; 7] {
        [self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun].map(|d| d.map(|[o, c]| (o, c)))
    }

    pub fn from_days(days: &[DayHours; 7]) -> HoursJson {
        let f = |i: usize| days.get(i).copied().flatten().map(|(o, c)| [format_hhmm(o), format_hhmm(c)]);
        HoursJson { mon: f(0), tue: f(1), wed: f(2), thu: f(3), fri: f(4), sat: f(5), sun: f(6) }
    }

    pub fn parse(self) -> Result<[DayHours; 7], AppError> {
        service::parse_hours(self.days())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BranchOut {
    pub id: u64,
    pub name: String,
    pub address: String,
    /// Null: open around the clock.
    pub hours: Option<HoursJson>,
    pub active: bool,
    pub created_at: String,
    /// The name in Russian and English (empty: `name` is used).
    pub name_ru: String,
    pub name_en: String,
    /// The display board's languages, main first (empty: the company's language).
    pub board_langs: Vec<String>,
}

impl BranchOut {
    pub fn new(id: u64, b: BranchV2) -> Self {
        BranchOut {
            id,
            name_ru: b.name_ru,
            name_en: b.name_en,
            board_langs: b.board_langs,
            name: b.name,
            address: b.address,
            hours: b.hours.as_ref().map(HoursJson::from_days),
            active: b.active,
            created_at: rfc3339(b.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,298}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub address: String,
    pub hours: Option<HoursJson>,
    /// The name in Russian and English; left out, `name` is used.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
    /// The display board's languages (`uz`, `ru`, `en`), main first, at most two.
    pub board_langs: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,298}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<HoursJson>)]
    pub hours: Option<Option<HoursJson>>,
    pub active: Option<bool>,
    /// `""` clears a translation (the one name is used).
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,118}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
    /// `[]`: the company's language alone.
    pub board_langs: Option<Vec<String>>,
}

/// Branches of the company.
#[utoipa::path(get, path = "/api/v1/branches", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = [BranchOut])), security(("bearer" = [])))]
pub async fn list_branches(user: CurrentUser) -> Result<axum::Json<Vec<BranchOut>>, AppError> {
    let all = service::list_branches(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, b)| BranchOut::new(id, b)).collect()))
}

/// One branch.
#[utoipa::path(get, path = "/api/v1/branches/{id}", tag = "company", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = BranchOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_branch(user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<BranchOut>, AppError> {
    Ok(axum::Json(BranchOut::new(id, service::get_branch(user.tenant.db()?, id)?)))
}

/// Creates a branch; with no `hours` it is open around the clock.
#[utoipa::path(post, path = "/api/v1/branches", tag = "company", params(("slug" = String, Path)), request_body = BranchIn,
    responses((status = 201, body = BranchOut), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_branch(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<BranchIn>,
) -> Result<(StatusCode, axum::Json<BranchOut>), AppError> {
    let hours = b.hours.map(HoursJson::parse).transpose()?;
    let input = BranchInput {
        name: Some(b.name),
        address: Some(b.address),
        hours: Some(hours),
        active: None,
        name_ru: b.name_ru,
        name_en: b.name_en,
        board_langs: b.board_langs,
    };
    let id = service::create_branch(&state, &user.tenant, &Caller::from(&user), input).await?;
    Ok((StatusCode::CREATED, axum::Json(BranchOut::new(id, service::get_branch(user.tenant.db()?, id)?))))
}

/// Changes a branch; `"hours": null` makes it open around the clock.
#[utoipa::path(patch, path = "/api/v1/branches/{id}", tag = "company", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = BranchPatchIn, responses((status = 200, body = BranchOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn patch_branch(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<BranchPatchIn>,
) -> Result<axum::Json<BranchOut>, AppError> {
    let hours = match b.hours {
        Some(Some(h)) => Some(Some(h.parse()?)),
        Some(None) => Some(None),
        None => None,
    };
    let input = BranchInput {
        name: b.name,
        address: b.address,
        hours,
        active: b.active,
        name_ru: b.name_ru,
        name_en: b.name_en,
        board_langs: b.board_langs,
    };
    let updated = service::update_branch(&state, &user.tenant, &Caller::from(&user), id, input).await?;
    Ok(axum::Json(BranchOut::new(id, updated)))
}

// ---------- roles ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    pub role: String,
    pub permissions: Vec<String>,
    /// The owner's permissions are fixed.
    pub editable: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleIn {
    pub permissions: Vec<String>,
}

/// The role → permissions matrix.
#[utoipa::path(get, path = "/api/v1/roles", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = [RoleOut])), security(("bearer" = [])))]
pub async fn list_roles(user: CurrentUser) -> Result<axum::Json<Vec<RoleOut>>, AppError> {
    let m = service::roles_matrix(user.tenant.db()?)?;
    Ok(axum::Json(m.into_iter().map(|(r, p)| RoleOut { role: r.to_string(), permissions: p, editable: r != "owner" }).collect()))
}

/// Sets a role's permissions; applies to every holder's next request.
#[utoipa::path(put, path = "/api/v1/roles/{role}", tag = "company", params(("slug" = String, Path), ("role" = String, Path)),
    request_body = RoleIn, responses((status = 200, body = RoleOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn put_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, role)): Path<(String, String)>,
    Json(b): Json<RoleIn>,
) -> Result<axum::Json<RoleOut>, AppError> {
    let perms = service::set_role_permissions(&state, &user.tenant, &Caller::from(&user), &role, b.permissions).await?;
    Ok(axum::Json(RoleOut { role, permissions: perms, editable: true }))
}

// ---------- branding ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct BrandingOut {
    pub primary_color: String,
    pub logo_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandingIn {
    /// `#rrggbb`, or null for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub primary_color: Option<Option<String>>,
}

fn branding_out(tenant: &Tenant) -> Result<BrandingOut, AppError> {
    let b = branding::get(tenant.db()?)?;
    Ok(BrandingOut {
        primary_color: b.primary_color.unwrap_or_else(|| branding::DEFAULT_COLOR.to_string()),
        logo_url: b.logo_content_type.map(|_| format!("/c/{}/logo?v={}", tenant.slug, b.logo_version)),
    })
}

/// The company's colour and logo.
#[utoipa::path(get, path = "/api/v1/branding", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = BrandingOut)), security(("bearer" = [])))]
pub async fn get_branding(user: CurrentUser) -> Result<axum::Json<BrandingOut>, AppError> {
    Ok(axum::Json(branding_out(&user.tenant)?))
}

/// Sets the primary colour (the logo is uploaded from the admin console).
#[utoipa::path(patch, path = "/api/v1/branding", tag = "company", params(("slug" = String, Path)), request_body = BrandingIn,
    responses((status = 200, body = BrandingOut), (status = 422)), security(("bearer" = [])))]
pub async fn patch_branding(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<BrandingIn>,
) -> Result<axum::Json<BrandingOut>, AppError> {
    let change = BrandingChange { primary_color: b.primary_color, logo: None, remove_logo: false };
    branding::update(&state, &user.tenant, &Caller::from(&user), change).await?;
    Ok(axum::Json(branding_out(&user.tenant)?))
}

// ---------- the company's own settings ----------

/// The company as its people see it; contact fields are empty when not given.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanySettingsOut {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub phone: String,
    pub address: String,
    pub email: String,
    /// Whether the company is open; only the platform changes it.
    pub active: bool,
    /// The largest file one may upload, in MB.
    pub file_limit_mb: u64,
    /// All the company's files together, in MB.
    pub storage_quota_mb: u64,
    /// What its files take now, in bytes.
    pub storage_used_bytes: u64,
}

fn company_out(tenant: &Tenant, c: crate::store::schema::CompanyV3) -> Result<CompanySettingsOut, AppError> {
    let limits = crate::files::settings(tenant)?;
    Ok(CompanySettingsOut {
        file_limit_mb: limits.max_file_bytes / (1024 * 1024),
        storage_quota_mb: limits.quota_bytes / (1024 * 1024),
        storage_used_bytes: crate::files::usage(tenant)?,
        slug: tenant.slug.clone(),
        active: c.status == crate::store::schema::CompanyStatus::Active,
        name: c.name,
        timezone: c.timezone,
        phone: c.phone,
        address: c.address,
        email: c.email,
    })
}

/// What a company admin may change; an absent field stays as it is, an
/// empty contact field clears it. The address (slug) and whether the company
/// is active belong to the platform and are refused here.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanySettingsIn {
    pub name: Option<String>,
    /// An IANA time zone such as `Asia/Tashkent`.
    pub timezone: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
    /// The largest file one may upload, in MB (1–10240; 50 by default).
    pub file_limit_mb: Option<u64>,
    /// All the company's files together, in MB (5120 by default).
    pub storage_quota_mb: Option<u64>,
}

/// The company's name, contact details and time zone.
#[utoipa::path(get, path = "/api/v1/company", tag = "company", params(("slug" = String, Path)),
    responses((status = 200, body = CompanySettingsOut)), security(("bearer" = [])))]
pub async fn get_company(user: CurrentUser) -> Result<axum::Json<CompanySettingsOut>, AppError> {
    Ok(axum::Json(company_out(&user.tenant, user.tenant.info())?))
}

/// Changes the company's name, contact details, time zone or file limits (permission
/// `company.setup`); audited.
#[utoipa::path(put, path = "/api/v1/company", tag = "company", params(("slug" = String, Path)), request_body = CompanySettingsIn,
    responses((status = 200, body = CompanySettingsOut), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn put_company(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<CompanySettingsIn>,
) -> Result<axum::Json<CompanySettingsOut>, AppError> {
    let input =
        crate::tenancy::service::CompanySettings { name: b.name, timezone: b.timezone, phone: b.phone, address: b.address, email: b.email };
    crate::files::check_limits(b.file_limit_mb, b.storage_quota_mb)?;
    let c = crate::tenancy::service::update_company_settings(&state, &Caller::from(&user), &user.tenant, input).await?;
    crate::files::update_settings(&state, &user, b.file_limit_mb, b.storage_quota_mb).await?;
    Ok(axum::Json(company_out(&user.tenant, c)?))
}

// ---------- audit ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: u64,
    pub at: String,
    pub actor_id: u64,
    pub actor_name: String,
    pub action: String,
    /// What the entry is about (`user`, `branch`, `operator`, …): the `kind` filter.
    pub kind: String,
    pub target: String,
    /// What happened, in the caller's language ("Operator's window changed").
    pub title: String,
    /// What changed, with names, in the caller's language ("Window 1 of
    /// Nilufar Xasanova: services Kassa, Kreditlar").
    pub summary: String,
    pub changes: Vec<ChangeOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditOut>,
    /// Pass as `before` for the next (older) page.
    pub next_cursor: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub before: Option<u64>,
    pub limit: Option<usize>,
    /// Only what this user did; `0`: the system.
    pub actor_id: Option<u64>,
    /// Only entries about this: company, user, department, branch, role,
    /// branding, category, service, operator, queue.
    #[param(
        pattern = r"^(company|user|department|branch|role|branding|category|service|operator|queue|request_category|request_template)?$"
    )]
    pub kind: Option<String>,
    /// From this day on (`YYYY-MM-DD`, the company's time zone).
    #[param(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub from: Option<String>,
    /// Up to and including this day (`YYYY-MM-DD`).
    #[param(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub to: Option<String>,
}

pub fn audit_page(
    db: &crate::store::Db,
    who: &Caller,
    lang: crate::i18n::Lang,
    tz: &jiff::tz::TimeZone,
    q: &AuditQuery,
) -> Result<AuditPage, AppError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let filter = audit::Filter::parse(q.actor_id, q.kind.as_deref(), q.from.as_deref(), q.to.as_deref(), tz)?;
    let rows = audit::list_filtered(db, who, &filter, q.before, limit)?;
    let next_cursor = if rows.len() == limit { rows.last().map(|(id, _)| *id) } else { None };
    let n = audit::Narrator::load(db, who, lang)?;
    let items = rows
        .into_iter()
        .map(|(id, a)| {
            let told = n.tell(&a);
            AuditOut {
                id,
                at: rfc3339(a.at),
                actor_id: a.actor_id,
                actor_name: a.actor_name,
                kind: audit::kind_of(&a.action).to_string(),
                action: a.action,
                target: a.target,
                title: told.title,
                summary: told.sentence,
                changes: a.changes.into_iter().map(|c| ChangeOut { field: c.field, from: c.from, to: c.to }).collect(),
            }
        })
        .collect();
    Ok(AuditPage { items, next_cursor })
}

/// Every admin action, newest first, told in the caller's language; by
/// who, what kind and date.
#[utoipa::path(get, path = "/api/v1/audit", tag = "company", params(("slug" = String, Path), AuditQuery),
    responses((status = 200, body = AuditPage), (status = 422)), security(("bearer" = [])))]
pub async fn list_audit(user: CurrentUser, Query(q): Query<AuditQuery>) -> Result<axum::Json<AuditPage>, AppError> {
    Ok(axum::Json(audit_page(user.tenant.db()?, &Caller::from(&user), user.lang, &user.tenant.timezone(), &q)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::service::WEEKDAYS;

    #[test]
    fn weekday_names_match_the_json_fields() {
        let h = HoursJson { mon: Some(["09:00".into(), "18:00".into()]), ..Default::default() };
        let v = serde_json::to_value(&h).unwrap();
        for d in WEEKDAYS {
            assert!(v.get(d).is_some(), "{d}");
        }
    }
}
