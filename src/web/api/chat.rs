//! Chat over JSON: threads, their messages, read marks and typing. The
//! rules are `chat::service`'s; a thread the caller may not read is a 404.

use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::{self, MessageOut, NewMessage, Target, ThreadOut, Window};
use crate::error::AppError;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_threads, create_thread))
        .routes(routes!(patch_thread))
        .routes(routes!(thread_messages, post_thread_message))
        .routes(routes!(task_messages, post_task_message))
        .routes(routes!(patch_message, delete_message))
        .routes(routes!(read_thread))
        .routes(routes!(typing))
        .routes(routes!(search_messages))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageSearchQuery {
    /// Words of the messages (Latin or Cyrillic; word beginnings match).
    #[param(max_length = 200)]
    pub q: String,
    /// 1–100, 20 when not given.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HitList {
    pub items: Vec<chat::Hit>,
}

/// Messages with these words, in the chats the caller may read.
#[utoipa::path(get, path = "/api/v1/search/messages", operation_id = "search_messages", tag = "chat", params(("slug" = String, Path), MessageSearchQuery),
    responses((status = 200, body = HitList), (status = 422)), security(("bearer" = [])))]
pub async fn search_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MessageSearchQuery>,
) -> Result<axum::Json<HitList>, AppError> {
    if q.q.chars().count() > 200 {
        return Err(AppError::invalid("q", "validation.text_too_long").with_arg("max", 200));
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=chat::PAGE_MAX).contains(&limit) {
        return Err(AppError::invalid("limit", "validation.chat_limit").with_arg("max", chat::PAGE_MAX));
    }
    let index = state.search.get(&user.tenant)?;
    Ok(axum::Json(HitList { items: chat::search(user.tenant.db()?, &index, &Caller::from(&user), &q.q, limit)? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadQuery {
    /// Words of a thread's title (Latin or Cyrillic).
    #[serde(default)]
    #[param(max_length = 200)]
    pub q: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadList {
    pub items: Vec<ThreadOut>,
    /// Unread messages over all of them: the navigation badge.
    pub unread: u64,
}

/// The caller's chats, the most recently active first, with unread counts.
#[utoipa::path(get, path = "/api/v1/threads", operation_id = "list_threads", tag = "chat", params(("slug" = String, Path), ThreadQuery),
    responses((status = 200, body = ThreadList), (status = 422)), security(("bearer" = [])))]
pub async fn list_threads(user: CurrentUser, Query(q): Query<ThreadQuery>) -> Result<axum::Json<ThreadList>, AppError> {
    let db = user.tenant.db()?;
    let who = Caller::from(&user);
    if q.q.chars().count() > 200 {
        return Err(AppError::invalid("q", "validation.text_too_long").with_arg("max", 200));
    }
    Ok(axum::Json(ThreadList { items: chat::threads(db, &who, &q.q)?, unread: chat::unread_total(db, user.id)? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewThreadKind {
    Direct,
    Group,
    Department,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadIn {
    /// `direct` (with `user_id`), `group` (with `name` and `member_ids`) or
    /// `department` (the caller's department's group).
    pub kind: NewThreadKind,
    pub user_id: Option<u64>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_items = 500)]
    pub member_ids: Vec<u64>,
}

/// Opens a chat: the direct chat with a colleague (the same one every
/// time), the caller's department's group, or a new named group.
#[utoipa::path(post, path = "/api/v1/threads", operation_id = "create_thread", tag = "chat", params(("slug" = String, Path)), request_body = ThreadIn,
    responses((status = 201, body = ThreadOut), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn create_thread(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<ThreadIn>,
) -> Result<(StatusCode, axum::Json<ThreadOut>), AppError> {
    let who = Caller::from(&user);
    let now = state.now_ms();
    let id = match b.kind {
        NewThreadKind::Direct => {
            let other = b.user_id.ok_or_else(|| AppError::invalid("user_id", "validation.required"))?;
            chat::open_direct(&user.tenant, &who, other, now).await?
        }
        NewThreadKind::Department => chat::open_department(&user.tenant, &who, now).await?,
        NewThreadKind::Group => chat::create_group(&state, &user.tenant, &who, b.name.as_deref().unwrap_or(""), b.member_ids).await?,
    };
    Ok((StatusCode::CREATED, axum::Json(chat::thread(user.tenant.db()?, &who, id)?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadPatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: Option<String>,
    /// The members from now on (someone left out stops receiving at once).
    #[schema(max_items = 500)]
    pub member_ids: Option<Vec<u64>>,
}

/// Renames a named group or sets its members.
#[utoipa::path(patch, path = "/api/v1/threads/{id}", operation_id = "patch_thread", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = ThreadPatchIn, responses((status = 200, body = ThreadOut), (status = 403), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn patch_thread(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<ThreadPatchIn>,
) -> Result<axum::Json<ThreadOut>, AppError> {
    let who = Caller::from(&user);
    chat::update_group(&state, &user.tenant, &who, id, b.name, b.member_ids).await?;
    Ok(axum::Json(chat::thread(user.tenant.db()?, &who, id)?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Messages before this id (scrolling back).
    pub before: Option<u64>,
    /// Messages after this id, oldest first (catching up after a reconnect).
    pub after: Option<u64>,
    /// 1–100, 50 when not given.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

impl MessageQuery {
    fn window(&self) -> Result<Window, AppError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=chat::PAGE_MAX).contains(&limit) {
            return Err(AppError::invalid("limit", "validation.chat_limit").with_arg("max", chat::PAGE_MAX));
        }
        Ok(Window { before: self.before, after: self.after, limit })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// The thread (null for a task whose discussion has not started).
    pub thread_id: Option<u64>,
    /// In the order they were sent.
    pub items: Vec<MessageOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// The text (may be empty when files are attached).
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,3998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
    pub reply_to: Option<u64>,
    /// Files uploaded by the caller with `POST /files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub file_ids: Vec<u64>,
}

impl From<MessageIn> for NewMessage {
    fn from(b: MessageIn) -> Self {
        NewMessage { text: b.text, reply_to: b.reply_to, file_ids: b.file_ids, internal: false }
    }
}

async fn page(user: &CurrentUser, target: Target, q: &MessageQuery) -> Result<axum::Json<MessagePage>, AppError> {
    let (thread_id, items) = chat::messages(user.tenant.db()?, &Caller::from(user), target, q.window()?)?;
    Ok(axum::Json(MessagePage { thread_id, items }))
}

/// A thread's messages.
#[utoipa::path(get, path = "/api/v1/threads/{id}/messages", operation_id = "thread_messages", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path), MessageQuery),
    responses((status = 200, body = MessagePage), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn thread_messages(
    user: CurrentUser,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> Result<axum::Json<MessagePage>, AppError> {
    page(&user, Target::Thread(id), &q).await
}

/// Writes in a thread.
#[utoipa::path(post, path = "/api/v1/threads/{id}/messages", operation_id = "post_thread_message", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = MessageIn, responses((status = 201, body = MessageOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn post_thread_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<MessageIn>,
) -> Result<(StatusCode, axum::Json<MessageOut>), AppError> {
    let m = chat::post(&state, &user.tenant, &Caller::from(&user), Target::Thread(id), b.into()).await?;
    Ok((StatusCode::CREATED, axum::Json(m)))
}

/// A task's discussion.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/messages", operation_id = "task_messages", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path), MessageQuery),
    responses((status = 200, body = MessagePage), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn task_messages(
    user: CurrentUser,
    PathId(id): PathId,
    Query(q): Query<MessageQuery>,
) -> Result<axum::Json<MessagePage>, AppError> {
    page(&user, Target::Task(id), &q).await
}

/// Writes in a task's discussion (its thread starts with the first message).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/messages", operation_id = "post_task_message", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = MessageIn, responses((status = 201, body = MessageOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn post_task_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<MessageIn>,
) -> Result<(StatusCode, axum::Json<MessageOut>), AppError> {
    let m = chat::post(&state, &user.tenant, &Caller::from(&user), Target::Task(id), b.into()).await?;
    Ok((StatusCode::CREATED, axum::Json(m)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagePatchIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,3998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
}

/// Changes the text of one's own message (within 15 minutes).
#[utoipa::path(patch, path = "/api/v1/messages/{id}", operation_id = "patch_message", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = MessagePatchIn, responses((status = 200, body = MessageOut), (status = 403), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn patch_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<MessagePatchIn>,
) -> Result<axum::Json<MessageOut>, AppError> {
    Ok(axum::Json(chat::edit(&state, &user.tenant, &Caller::from(&user), id, &b.text).await?))
}

/// Deletes one's own message (within 15 minutes): "deleted" stays in its place.
#[utoipa::path(delete, path = "/api/v1/messages/{id}", operation_id = "delete_message", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = MessageOut), (status = 403), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn delete_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<axum::Json<MessageOut>, AppError> {
    Ok(axum::Json(chat::delete(&state, &user.tenant, &Caller::from(&user), id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMarkIn {
    /// Read up to this message (the newest when not given).
    pub message_id: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadOut {
    /// Unread messages over every chat.
    pub unread: u64,
}

/// Marks a thread read up to a message.
#[utoipa::path(post, path = "/api/v1/threads/{id}/read", operation_id = "read_thread", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = ReadMarkIn, responses((status = 200, body = UnreadOut), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn read_thread(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<ReadMarkIn>,
) -> Result<axum::Json<UnreadOut>, AppError> {
    let unread = chat::mark_read(&state, &user.tenant, &Caller::from(&user), id, b.message_id).await?;
    Ok(axum::Json(UnreadOut { unread }))
}

/// Tells the others on a thread that the caller is typing.
#[utoipa::path(post, path = "/api/v1/threads/{id}/typing", operation_id = "thread_typing", tag = "chat", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn typing(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<StatusCode, AppError> {
    chat::typing(&state, &user.tenant, &Caller::from(&user), id)?;
    Ok(StatusCode::NO_CONTENT)
}
