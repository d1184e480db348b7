//! JSON API for tasks, categories, the calendar and notifications.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::store::schema::{CategoryV2, TaskEventV1, TaskV1};
use crate::tasks::service::{self, Filter, NewTask, TaskPatch};
use crate::tasks::{parse_status, status_code};
use crate::web::api::org::double_option;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    use crate::web::api::ical;
    OpenApiRouter::new()
        .routes(routes!(create_task, list_tasks))
        .routes(routes!(get_task, patch_task, delete_task))
        .routes(routes!(set_status))
        .routes(routes!(approve))
        .routes(routes!(decline))
        .routes(routes!(extension))
        .routes(routes!(calendar))
        .routes(routes!(search_tasks))
        .routes(routes!(ical::my_feed))
        .routes(routes!(ical::feed))
        .routes(routes!(list_categories, create_category))
        .routes(routes!(patch_category))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notifications))
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadlineRequestOut {
    pub deadline: String,
    pub requested_by: u64,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: u64,
    pub title: String,
    pub description: String,
    /// `awaiting_approval`, `new`, `in_progress`, `pending_review`, `redo`,
    /// `completed`, `rejected`, `overdue` or `declined`.
    pub status: String,
    pub creator_id: u64,
    pub assignee_id: u64,
    pub department_id: Option<u64>,
    pub category_id: Option<u64>,
    pub points: u32,
    /// Points given on completion (0 until then).
    pub points_awarded: u32,
    pub start_at: Option<String>,
    pub deadline: String,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    /// When the task was found late, if ever.
    pub overdue_at: Option<String>,
    pub redo_count: u32,
    /// Seconds spent in progress so far.
    pub time_spent_seconds: i64,
    /// A deadline change waiting for a decision.
    pub deadline_request: Option<DeadlineRequestOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryOut>>,
    /// Ids of attached files (the task page and `GET /tasks/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<u64>>,
    /// What the caller may do with the task now (`GET /tasks/{id}` only):
    /// `start`, `submit`, `complete`, `redo`, `reject`, `approve`, `decline`,
    /// `approve_deadline`, `decline_deadline`, `set_deadline`,
    /// `request_deadline`, `edit`, `delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_moves: Option<Vec<&'static str>>,
}

impl TaskOut {
    pub fn new(id: u64, t: TaskV1, now: i64) -> TaskOut {
        TaskOut {
            id,
            time_spent_seconds: service::time_spent_secs(&t, now),
            title: t.title,
            description: t.description,
            status: status_code(t.status).to_string(),
            creator_id: t.creator_id,
            assignee_id: t.assignee_id,
            department_id: t.department_id,
            category_id: t.category_id,
            points: t.points,
            points_awarded: t.points_awarded,
            start_at: t.start_at.map(rfc3339),
            deadline: rfc3339(t.deadline),
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
            completed_at: t.completed_at.map(rfc3339),
            overdue_at: t.overdue_at.map(rfc3339),
            redo_count: t.redo_count,
            deadline_request: t.deadline_request.map(|r| DeadlineRequestOut {
                deadline: rfc3339(r.deadline),
                requested_by: r.by,
                comment: r.comment,
            }),
            history: None,
            attachments: None,
            allowed_moves: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub at: String,
    pub actor_id: u64,
    pub actor_name: String,
    /// `created`, `status`, `field`, `approved`, `declined`,
    /// `extension_requested`, `extension_approved`, `extension_declined`.
    pub kind: String,
    pub field: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub comment: Option<String>,
}

impl From<TaskEventV1> for HistoryOut {
    fn from(e: TaskEventV1) -> Self {
        HistoryOut {
            at: rfc3339(e.at),
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            kind: e.kind,
            field: e.field,
            from: e.from,
            to: e.to,
            comment: e.comment,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub title: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub description: String,
    pub assignee_id: u64,
    /// RFC 3339, e.g. `2026-12-01T18:00:00+05:00`.
    #[schema(format = DateTime)]
    pub deadline: String,
    #[schema(format = DateTime)]
    pub start_at: Option<String>,
    #[serde(default)]
    #[schema(maximum = 1000)]
    pub points: u32,
    pub category_id: Option<u64>,
}

/// Creates a task. A manager assigning outside their department gets
/// `awaiting_approval` until a director approves.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", params(("slug" = String, Path)), request_body = TaskIn,
    responses((status = 201, body = TaskOut), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn create_task(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<TaskIn>,
) -> Result<(StatusCode, axum::Json<TaskOut>), AppError> {
    let input = NewTask {
        title: b.title,
        description: b.description,
        assignee_id: b.assignee_id,
        deadline: b.deadline,
        start_at: b.start_at,
        points: b.points,
        category_id: b.category_id,
    };
    let (id, task) = service::create(&state, &user.tenant, &Caller::from(&user), input).await?;
    Ok((StatusCode::CREATED, axum::Json(TaskOut::new(id, task, state.now_ms()))))
}

/// An RFC 3339 time, or the empty string a form sends for "any".
fn time_or_empty() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))))
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(0)))
        .into()
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(pattern = r"^(awaiting_approval|new|in_progress|pending_review|redo|completed|rejected|overdue|declined)?$")]
    pub status: Option<String>,
    pub assignee_id: Option<u64>,
    pub creator_id: Option<u64>,
    pub department_id: Option<u64>,
    pub category_id: Option<u64>,
    /// RFC 3339, or empty for none.
    #[param(schema_with = time_or_empty)]
    pub due_from: Option<String>,
    /// RFC 3339, or empty for none.
    #[param(schema_with = time_or_empty)]
    pub due_to: Option<String>,
    pub cursor: Option<u64>,
    /// 1–200, default 50.
    pub limit: Option<usize>,
    /// `approval` or `review`: only the tasks waiting for the caller's
    /// decision, newest first, on one page (the other filters do not apply).
    #[param(pattern = r"^(approval|review)?$")]
    pub inbox: Option<String>,
}

impl ListQuery {
    pub fn filter(&self) -> Result<Filter, AppError> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(parse_status(s).ok_or_else(|| AppError::invalid("status", "validation.task_status"))?),
            None => None,
        };
        Ok(Filter {
            status,
            assignee_id: self.assignee_id,
            creator_id: self.creator_id,
            department_id: self.department_id,
            category_id: self.category_id,
            due_from: self.due_from.as_deref().filter(|s| !s.is_empty()).map(|s| service::parse_time("due_from", s)).transpose()?,
            due_to: self.due_to.as_deref().filter(|s| !s.is_empty()).map(|s| service::parse_time("due_to", s)).transpose()?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskOut>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<u64>,
}

/// Tasks the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(("slug" = String, Path), ListQuery),
    responses((status = 200, body = TaskPage), (status = 422)), security(("bearer" = [])))]
pub async fn list_tasks(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<TaskPage>, AppError> {
    let filter = q.filter()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let (items, next_cursor) = match q.inbox.as_deref().filter(|s| !s.is_empty()) {
        Some(code) => {
            let inbox = service::Inbox::parse(code).ok_or_else(|| AppError::invalid("inbox", "validation.inbox"))?;
            (service::inbox(user.tenant.db()?, &Caller::from(&user), inbox, limit)?, None)
        }
        None => service::list(user.tenant.db()?, &Caller::from(&user), &filter, q.cursor, limit)?,
    };
    let now = state.now_ms();
    Ok(axum::Json(TaskPage { items: items.into_iter().map(|(id, t)| TaskOut::new(id, t, now)).collect(), next_cursor }))
}

/// One task with its history.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = TaskOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_task(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<axum::Json<TaskOut>, AppError> {
    let db = user.tenant.db()?;
    let who = Caller::from(&user);
    let task = service::get(db, &who, id)?;
    let moves = service::moves_of(db, &who, id, &task)?.into_iter().map(|m| m.code()).collect();
    let mut out = TaskOut::new(id, task, state.now_ms());
    out.allowed_moves = Some(moves);
    out.history = Some(service::history_of(db, &who, id)?.into_iter().map(HistoryOut::from).collect());
    out.attachments = Some(service::attachments_of(db, &who, id)?);
    Ok(axum::Json(out))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TaskPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub title: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub description: Option<String>,
    /// A late task's new deadline waits for a director unless a director sets it.
    #[schema(format = DateTime)]
    pub deadline: Option<String>,
    #[schema(maximum = 1000)]
    pub points: Option<u32>,
    pub assignee_id: Option<u64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub category_id: Option<Option<u64>>,
}

/// Changes a task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = TaskPatchIn, responses((status = 200, body = TaskOut), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_task(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<TaskPatchIn>,
) -> Result<axum::Json<TaskOut>, AppError> {
    let patch = TaskPatch {
        title: b.title,
        description: b.description,
        deadline: b.deadline,
        points: b.points,
        assignee_id: b.assignee_id,
        category_id: b.category_id,
    };
    let task = service::update(&state, &user.tenant, &Caller::from(&user), id, patch).await?;
    Ok(axum::Json(TaskOut::new(id, task, state.now_ms())))
}

/// Deletes a task that has not been started (directors: any task).
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn delete_task(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<StatusCode, AppError> {
    service::delete(&state, &user.tenant, &Caller::from(&user), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// `in_progress`, `pending_review`, `completed`, `redo` or `rejected`.
    #[schema(pattern = r"^(in_progress|pending_review|completed|redo|rejected)$")]
    pub status: String,
    /// Required for `redo` and `rejected`.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

/// Moves a task along the workflow.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/status", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = StatusIn, responses((status = 200, body = TaskOut), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<StatusIn>,
) -> Result<axum::Json<TaskOut>, AppError> {
    let to = parse_status(&b.status).ok_or_else(|| AppError::invalid("status", "validation.task_status"))?;
    let task = service::change_status(&state, &user.tenant, &Caller::from(&user), id, to, b.comment).await?;
    Ok(axum::Json(TaskOut::new(id, task, state.now_ms())))
}

/// A body that may be left out entirely.
fn optional_body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::new(crate::error::ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.to_string())
    })
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

/// A director approves a cross-department task or a deadline request.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/approve", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = CommentIn, responses((status = 200, body = TaskOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    body: Bytes,
) -> Result<axum::Json<TaskOut>, AppError> {
    let comment = optional_body::<CommentIn>(&body)?.comment;
    let task = service::approve(&state, &user.tenant, &Caller::from(&user), id, comment).await?;
    Ok(axum::Json(TaskOut::new(id, task, state.now_ms())))
}

/// A director declines a cross-department task or a deadline request.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/decline", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = CommentIn, responses((status = 200, body = TaskOut), (status = 403), (status = 409)), security(("bearer" = [])))]
pub async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    body: Bytes,
) -> Result<axum::Json<TaskOut>, AppError> {
    let comment = optional_body::<CommentIn>(&body)?.comment;
    let task = service::decline(&state, &user.tenant, &Caller::from(&user), id, comment).await?;
    Ok(axum::Json(TaskOut::new(id, task, state.now_ms())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionIn {
    #[schema(format = DateTime)]
    pub deadline: String,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

/// Asks for a later deadline; a director's request is applied at once.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/extension", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = ExtensionIn, responses((status = 200, body = TaskOut), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn extension(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<ExtensionIn>,
) -> Result<axum::Json<TaskOut>, AppError> {
    let task = service::extension(&state, &user.tenant, &Caller::from(&user), id, &b.deadline, b.comment).await?;
    Ok(axum::Json(TaskOut::new(id, task, state.now_ms())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// RFC 3339.
    #[param(format = DateTime)]
    pub from: String,
    /// RFC 3339.
    #[param(format = DateTime)]
    pub to: String,
}

/// Tasks with a deadline in a range, by deadline.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "tasks", params(("slug" = String, Path), RangeQuery),
    responses((status = 200, body = [TaskOut]), (status = 422)), security(("bearer" = [])))]
pub async fn calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RangeQuery>,
) -> Result<axum::Json<Vec<TaskOut>>, AppError> {
    let from = service::parse_time("from", &q.from)?;
    let to = service::parse_time("to", &q.to)?;
    if to < from || to - from > 62 * 24 * 3600 * 1000 {
        return Err(AppError::invalid("to", "validation.range"));
    }
    let now = state.now_ms();
    let items = service::calendar(user.tenant.db()?, &Caller::from(&user), from, to, 2000)?;
    Ok(axum::Json(items.into_iter().map(|(id, t)| TaskOut::new(id, t, now)).collect()))
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words of the title or description; Latin or Cyrillic.
    #[serde(default)]
    pub q: String,
    /// A name of the assignee (Latin or Cyrillic).
    #[serde(default)]
    pub assignee: String,
    /// A name of the creator.
    #[serde(default)]
    pub creator: String,
    /// The list searched, as the task tabs: `all` (default: every task the caller may see),
    /// `mine` (assigned to the caller), `given` (by the caller), `approval` or `review` (what
    /// waits in the caller's inbox).
    #[serde(default)]
    #[param(pattern = r"^(all|mine|given|approval|review)?$")]
    pub within: String,
    #[param(pattern = r"^(awaiting_approval|new|in_progress|pending_review|redo|completed|rejected|overdue|declined)?$")]
    pub status: Option<String>,
    pub department_id: Option<u64>,
    /// RFC 3339, or empty for none.
    #[param(schema_with = time_or_empty)]
    pub due_from: Option<String>,
    /// RFC 3339, or empty for none.
    #[param(schema_with = time_or_empty)]
    pub due_to: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    pub items: Vec<TaskOut>,
    /// How many tasks match in all.
    pub total: usize,
}

/// Searches the tasks the caller may see.
#[utoipa::path(get, path = "/api/v1/search/tasks", tag = "tasks", params(("slug" = String, Path), SearchParams),
    responses((status = 200, body = SearchResult), (status = 422)), security(("bearer" = [])))]
pub async fn search_tasks(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<SearchParams>,
) -> Result<axum::Json<SearchResult>, AppError> {
    let lq = ListQuery { status: p.status.clone(), due_from: p.due_from.clone(), due_to: p.due_to.clone(), ..Default::default() };
    let f = lq.filter()?;
    let too_long = |field: &'static str, s: &str| {
        if s.chars().count() > 200 { Err(AppError::invalid(field, "validation.text_too_long").with_arg("max", 200)) } else { Ok(()) }
    };
    too_long("q", &p.q)?;
    too_long("assignee", &p.assignee)?;
    too_long("creator", &p.creator)?;
    let query = crate::search::SearchQuery {
        text: p.q,
        assignee: p.assignee,
        creator: p.creator,
        status: f.status,
        department_id: p.department_id,
        due_from: f.due_from,
        due_to: f.due_to,
        ..Default::default()
    };
    let limit = p.limit.unwrap_or(50).clamp(1, 200);
    let within = service::Within::parse(&p.within)?;
    let (found, total) = service::search_within(&state, &user.tenant, &Caller::from(&user), &query, within, limit)?;
    let now = state.now_ms();
    let items = found.into_iter().map(|(id, t)| TaskOut::new(id, t, now)).collect();
    Ok(axum::Json(SearchResult { items, total }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub active: bool,
    /// The name in Russian and English (empty: `name` is used).
    pub name_ru: String,
    pub name_en: String,
}

impl CategoryOut {
    fn new(id: u64, c: CategoryV2) -> Self {
        CategoryOut { id, name: c.name, color: c.color, active: c.active, name_ru: c.name_ru, name_en: c.name_en }
    }
}

/// Task categories.
#[utoipa::path(get, path = "/api/v1/categories", tag = "tasks", params(("slug" = String, Path)),
    responses((status = 200, body = [CategoryOut])), security(("bearer" = [])))]
pub async fn list_categories(user: CurrentUser) -> Result<axum::Json<Vec<CategoryOut>>, AppError> {
    let all = service::categories(user.tenant.db()?)?;
    Ok(axum::Json(all.into_iter().map(|(id, c)| CategoryOut::new(id, c)).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// `#rrggbb`
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*#[0-9A-Fa-f]{6}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub color: String,
    /// The name in Russian and English; left out, `name` is used.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
}

/// Creates a task category (admins and directors).
#[utoipa::path(post, path = "/api/v1/categories", tag = "tasks", params(("slug" = String, Path)), request_body = CategoryIn,
    responses((status = 201, body = CategoryOut), (status = 403), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create_category(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<CategoryIn>,
) -> Result<(StatusCode, axum::Json<CategoryOut>), AppError> {
    let input = service::CategoryInput { name: Some(b.name), color: Some(b.color), name_ru: b.name_ru, name_en: b.name_en, active: None };
    let id = service::create_category(&state, &user.tenant, &Caller::from(&user), input).await?;
    let c = service::categories(user.tenant.db()?)?.into_iter().find(|(i, _)| *i == id).ok_or(crate::error::ErrorKind::NotFound)?;
    Ok((StatusCode::CREATED, axum::Json(CategoryOut::new(c.0, c.1))))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*#[0-9A-Fa-f]{6}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub color: Option<String>,
    /// `false` retires the category: tasks keep it, new tasks cannot take it.
    pub active: Option<bool>,
    /// `""` clears a translation (the one name is used).
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_ru: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name_en: Option<String>,
}

/// Changes or retires a task category.
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "tasks", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = CategoryPatchIn, responses((status = 200, body = CategoryOut), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_category(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<CategoryPatchIn>,
) -> Result<axum::Json<CategoryOut>, AppError> {
    let input = service::CategoryInput { name: b.name, color: b.color, name_ru: b.name_ru, name_en: b.name_en, active: b.active };
    let c = service::update_category(&state, &user.tenant, &Caller::from(&user), id, input).await?;
    Ok(axum::Json(CategoryOut::new(id, c)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: u64,
    pub kind: String,
    pub task_id: Option<u64>,
    /// The chat it is about (messages, mentions, files).
    pub thread_id: Option<u64>,
    /// The sentence, in the reader's language.
    pub text: String,
    pub read: bool,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationOut>,
    pub unread: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "tasks", params(("slug" = String, Path), NotificationQuery),
    responses((status = 200, body = NotificationPage)), security(("bearer" = [])))]
pub async fn list_notifications(user: CurrentUser, Query(q): Query<NotificationQuery>) -> Result<axum::Json<NotificationPage>, AppError> {
    let db = user.tenant.db()?;
    let items = crate::notify::list(db, user.id, q.unread, 100)?
        .into_iter()
        .map(|(id, n)| NotificationOut {
            id,
            text: crate::notify::text(user.lang, &n),
            thread_id: crate::notify::thread_of(&n),
            kind: n.kind,
            task_id: n.task_id,
            read: n.read,
            at: rfc3339(n.at),
        })
        .collect();
    Ok(axum::Json(NotificationPage { items, unread: crate::notify::unread_count(db, user.id)? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadIn {
    /// Empty: all of them.
    #[serde(default)]
    pub ids: Vec<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadOut {
    pub marked: usize,
    pub unread: usize,
}

/// Marks notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "tasks", params(("slug" = String, Path)), request_body = ReadIn,
    responses((status = 200, body = ReadOut)), security(("bearer" = [])))]
pub async fn read_notifications(user: CurrentUser, Json(b): Json<ReadIn>) -> Result<axum::Json<ReadOut>, AppError> {
    if b.ids.len() > 1000 {
        return Err(AppError::invalid("ids", "validation.text_too_long").with_arg("max", 1000));
    }
    let db = user.tenant.db()?;
    let marked = crate::notify::mark_read(db, user.id, b.ids).await?;
    Ok(axum::Json(ReadOut { marked, unread: crate::notify::unread_count(db, user.id)? }))
}
