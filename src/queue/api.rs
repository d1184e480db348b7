//! JSON API for queue setup: services and operators.

use super::service::{self, Names, ServiceInput};
use crate::app::AppState;
use crate::audit::Actor;
use crate::error::AppError;
use crate::store::schema::{OperatorV1, ServiceV1};
use crate::web::extract::{CurrentUser, Json, PathId};
use crate::web::i18n::Lang;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/services", get(list_services).post(create_service))
        .route("/api/v1/services/{id}", axum::routing::patch(patch_service))
        .route("/api/v1/operators", get(list_operators))
        .route("/api/v1/operators/{user_id}", put(put_operator))
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct NamesJson {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

/// A name: one string for every language, or `{"uz","ru","en"}`.
#[derive(Debug, Deserialize, ToSchema, Clone)]
#[serde(untagged)]
pub enum NameIn {
    One(String),
    Each(NamesJson),
}

impl From<NameIn> for Names {
    fn from(n: NameIn) -> Names {
        match n {
            NameIn::One(s) => Names::same(&s),
            NameIn::Each(e) => Names { uz: e.uz, ru: e.ru, en: e.en },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    pub id: u64,
    /// In the caller's language.
    pub name: String,
    pub names: NamesJson,
    pub minutes: u16,
    pub target_wait_minutes: u16,
    pub branch_ids: Vec<u64>,
    pub active: bool,
}

impl ServiceOut {
    fn new(id: u64, s: ServiceV1, lang: Lang) -> Self {
        ServiceOut {
            id,
            name: service::service_name(&s, lang).to_string(),
            names: NamesJson { uz: s.name_uz, ru: s.name_ru, en: s.name_en },
            minutes: s.minutes,
            target_wait_minutes: s.target_wait_minutes,
            branch_ids: s.branch_ids,
            active: s.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    pub name: NameIn,
    /// Expected minutes per visit (1–480).
    pub minutes: u16,
    /// Call within this many minutes (the service level); default 15.
    pub target_wait_minutes: Option<u16>,
    #[serde(default)]
    pub branch_ids: Vec<u64>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ServicePatchIn {
    pub name: Option<NameIn>,
    pub minutes: Option<u16>,
    pub target_wait_minutes: Option<u16>,
    pub branch_ids: Option<Vec<u64>>,
    pub active: Option<bool>,
}

/// Queue services.
#[utoipa::path(get, path = "/c/{slug}/api/v1/services", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = [ServiceOut])), security(("bearer" = [])))]
pub async fn list_services(user: CurrentUser) -> Result<axum::Json<Vec<ServiceOut>>, AppError> {
    let all = service::list_services(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, s)| ServiceOut::new(id, s, user.lang)).collect()))
}

/// Creates a queue service offered at some branches.
#[utoipa::path(post, path = "/c/{slug}/api/v1/services", tag = "queue", params(("slug" = String, Path)), request_body = ServiceIn,
    responses((status = 201, body = ServiceOut), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_service(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<ServiceIn>,
) -> Result<(StatusCode, axum::Json<ServiceOut>), AppError> {
    let input = ServiceInput {
        names: Some(b.name.into()),
        minutes: Some(b.minutes),
        target_wait_minutes: b.target_wait_minutes,
        branch_ids: Some(b.branch_ids),
        active: None,
    };
    let (id, s) = service::create_service(&state, &user.tenant, &Actor::from(&user), input).await?;
    Ok((StatusCode::CREATED, axum::Json(ServiceOut::new(id, s, user.lang))))
}

/// Changes a queue service: names, minutes, target, branches, active.
#[utoipa::path(patch, path = "/c/{slug}/api/v1/services/{id}", tag = "queue", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = ServicePatchIn, responses((status = 200, body = ServiceOut), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_service(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<ServicePatchIn>,
) -> Result<axum::Json<ServiceOut>, AppError> {
    let input = ServiceInput {
        names: b.name.map(Names::from),
        minutes: b.minutes,
        target_wait_minutes: b.target_wait_minutes,
        branch_ids: b.branch_ids,
        active: b.active,
    };
    let s = service::update_service(&state, &user.tenant, &Actor::from(&user), id, input).await?;
    Ok(axum::Json(ServiceOut::new(id, s, user.lang)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorOut {
    pub user_id: u64,
    pub branch_id: u64,
    pub window: u16,
    pub service_ids: Vec<u64>,
}

impl OperatorOut {
    fn new(user_id: u64, o: OperatorV1) -> Self {
        OperatorOut { user_id, branch_id: o.branch_id, window: o.window, service_ids: o.service_ids }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorIn {
    pub branch_id: u64,
    /// The window number shown on the display board (1–999).
    pub window: u16,
    pub service_ids: Vec<u64>,
}

/// Where each operator works.
#[utoipa::path(get, path = "/c/{slug}/api/v1/operators", tag = "queue", params(("slug" = String, Path)),
    responses((status = 200, body = [OperatorOut]), (status = 403)), security(("bearer" = [])))]
pub async fn list_operators(user: CurrentUser) -> Result<axum::Json<Vec<OperatorOut>>, AppError> {
    if !(user.can("queue.manage") || user.can("queue.operate")) {
        return Err(crate::error::ErrorKind::Forbidden.into());
    }
    let all = service::list_operators(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, o)| OperatorOut::new(id, o)).collect()))
}

/// Puts an operator at a branch's window with the services they serve.
#[utoipa::path(put, path = "/c/{slug}/api/v1/operators/{user_id}", tag = "queue", params(("slug" = String, Path), ("user_id" = u64, Path)),
    request_body = OperatorIn, responses((status = 200, body = OperatorOut), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn put_operator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, user_id)): Path<(String, String)>,
    Json(b): Json<OperatorIn>,
) -> Result<axum::Json<OperatorOut>, AppError> {
    let user_id: u64 = user_id.parse().map_err(|_| AppError::new(crate::error::ErrorKind::NotFound))?;
    let op = service::set_operator(&state, &user.tenant, &Actor::from(&user), user_id, b.branch_id, b.window, b.service_ids).await?;
    Ok(axum::Json(OperatorOut::new(user_id, op)))
}
