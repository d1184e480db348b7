//! JSON API of client requests for staff: the list with its filters and
//! search, one request with its history, filing on a client's behalf,
//! assignment, moves, priority, the conversation (public replies and
//! internal notes), bulk changes and the caller's saved filters.

use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::{MessageOut, NewMessage, Window};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::requests::service::{self, BulkResult, ClientInput, ClientOut, Filter, NewRequest, Visit};
use crate::requests::{self as rq, SlaLevel, filters};
use crate::store::schema::RequestV1;
use crate::web::api::tasks::HistoryOut;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_requests, create_request))
        .routes(routes!(list_saved_filters, create_saved_filter))
        .routes(routes!(delete_saved_filter))
        .routes(routes!(bulk_assign))
        .routes(routes!(bulk_status))
        .routes(routes!(get_request))
        .routes(routes!(assign_request))
        .routes(routes!(request_status))
        .routes(routes!(request_priority))
        .routes(routes!(request_messages, post_request_message))
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

/// The API name of an SLA level.
pub fn level_code(l: SlaLevel) -> &'static str {
    match l {
        SlaLevel::Ok => "ok",
        SlaLevel::Soon => "soon",
        SlaLevel::Breached => "breached",
        SlaLevel::Paused => "paused",
    }
}

// ---------- the list's query ----------

/// The list's filters as the query string names them. `status` may repeat or
/// be comma-separated; dates are days in the company's time zone.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct RequestListQuery {
    /// `new`, `assigned`, `in_progress`, `pending_review`, `waiting_client`,
    /// `reopened`, `done`, `rejected`; several comma-separated (or repeated).
    #[param(
        pattern = r"^((new|assigned|in_progress|pending_review|waiting_client|reopened|done|rejected)(,(new|assigned|in_progress|pending_review|waiting_client|reopened|done|rejected))*)?$"
    )]
    pub status: Option<String>,
    pub category_id: Option<u64>,
    /// A user's id; `0` or `none`: nobody's yet.
    #[param(pattern = r"^([0-9]{1,19}|none)?$")]
    pub assignee_id: Option<String>,
    /// A user's id: the requests of the categories whose team holds them.
    pub team: Option<u64>,
    #[param(pattern = r"^(low|normal|high|urgent)?$")]
    pub priority: Option<String>,
    #[param(pattern = r"^(web|telegram|staff)?$")]
    pub channel: Option<String>,
    /// `true`: only those past an SLA target; `false`: only those that are not.
    #[param(pattern = r"^(true|false)?$")]
    pub breached: Option<String>,
    /// Filed on or after this day (`yyyy-mm-dd`, the company's time zone).
    #[param(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub from: Option<String>,
    /// Filed on or before this day.
    #[param(pattern = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$")]
    pub to: Option<String>,
    /// Words: subject, text, answers, client's name and phone (Latin finds Cyrillic).
    #[param(max_length = 200)]
    pub q: Option<String>,
    pub cursor: Option<u64>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// The list's filters read from a query string.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Filter,
    pub cursor: Option<u64>,
    pub limit: usize,
}

fn id_param(field: &'static str, v: &str) -> Result<u64, AppError> {
    v.trim().parse::<u64>().map_err(|_| AppError::invalid(field, "validation.request_whole_number"))
}

/// Reads the list's query string (`status` repeated or comma-separated;
/// unknown names are passed over, empty values mean any).
pub fn parse_list(raw: Option<&str>, tz: &jiff::tz::TimeZone) -> Result<ListParams, AppError> {
    let mut p = ListParams { limit: 50, ..ListParams::default() };
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let f = &mut p.filter;
        match k.as_ref() {
            "status" => {
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let st = rq::parse_status(s).ok_or_else(|| AppError::invalid("status", "validation.request_status"))?;
                    if !f.statuses.contains(&st) {
                        f.statuses.push(st);
                    }
                }
            }
            "category_id" => f.category_id = Some(id_param("category_id", v)?),
            "assignee_id" => f.assignee_id = Some(if v == "none" { 0 } else { id_param("assignee_id", v)? }),
            "team" => f.team_of = Some(id_param("team", v)?),
            "priority" => {
                f.priority = Some(rq::parse_priority(v).ok_or_else(|| AppError::invalid("priority", "validation.request_priority"))?)
            }
            "channel" => f.channel = Some(rq::parse_channel(v).ok_or_else(|| AppError::invalid("channel", "validation.request_channel"))?),
            "breached" => {
                f.breached = Some(match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err(AppError::invalid("breached", "validation.request_breached")),
                })
            }
            "from" => {
                f.from = Some(crate::clock::day_start_ms(v, tz, 0).ok_or_else(|| AppError::invalid("from", "validation.request_date"))?)
            }
            "to" => f.to = Some(crate::clock::day_start_ms(v, tz, 1).ok_or_else(|| AppError::invalid("to", "validation.request_date"))?),
            "q" => {
                AppError::check_text("q", v, 200, false)?;
                f.q = v.to_string();
            }
            "cursor" => p.cursor = Some(id_param("cursor", v)?),
            "limit" => {
                let n = id_param("limit", v)?;
                if !(1..=service::PAGE_MAX as u64).contains(&n) {
                    return Err(AppError::invalid("limit", "validation.request_limit").with_arg("max", service::PAGE_MAX));
                }
                p.limit = n as usize;
            }
            _ => {}
        }
    }
    Ok(p)
}

// ---------- what the list and the page show ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestItem {
    pub id: u64,
    /// `R-000123`.
    pub number: String,
    pub subject: String,
    /// `new`, `assigned`, `in_progress`, `pending_review`, `waiting_client`,
    /// `reopened`, `done` or `rejected`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `web`, `telegram` or `staff`.
    pub channel: String,
    pub category_id: u64,
    /// The category's name in the caller's language.
    pub category: String,
    /// `#rrggbb`.
    pub category_color: String,
    pub client_name: String,
    pub assignee_id: Option<u64>,
    pub assignee_name: Option<String>,
    pub created_at: String,
    /// Seconds to the nearest SLA target still to meet (negative when past);
    /// null when nothing is watched.
    pub sla_left_seconds: Option<i64>,
    /// `ok`, `soon` (an hour or less), `breached` or `paused` (waiting for the client).
    pub sla_level: Option<String>,
}

impl RequestItem {
    pub fn new(row: &service::Row, lang: Lang, now: i64) -> RequestItem {
        let r = &row.request;
        let sla = rq::sla_left(r, now);
        RequestItem {
            id: row.id,
            number: rq::number(row.id),
            subject: r.subject.clone(),
            status: rq::status_code(r.status).into(),
            priority: rq::priority_code(r.priority).into(),
            channel: rq::channel_code(r.channel).into(),
            category_id: r.category_id,
            category: row.category.as_ref().map(|c| c.names.get(lang).to_string()).unwrap_or_default(),
            category_color: row.category.as_ref().map(|c| c.color.clone()).unwrap_or_default(),
            client_name: row.client_name.clone(),
            assignee_id: r.assignee_id,
            assignee_name: r.assignee_id.map(|_| row.assignee_name.clone()),
            created_at: rfc3339(r.created_at),
            sla_left_seconds: sla.map(|(ms, _)| ms.div_euclid(1000)),
            sla_level: sla.map(|(_, l)| level_code(l).into()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<RequestItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<u64>,
}

/// Requests the caller may see, newest first: a dispatcher all, others their
/// own and their categories' teams'.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(("slug" = String, Path), RequestListQuery),
    responses((status = 200, body = RequestPage), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn list_requests(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<axum::Json<RequestPage>, AppError> {
    let p = parse_list(raw.as_deref(), &user.tenant.timezone())?;
    let db = user.tenant.db()?;
    let index = if p.filter.q.trim().is_empty() { None } else { Some(state.search.get(&user.tenant)?) };
    let (items, next_cursor) = service::list(db, index.as_deref(), &Caller::from(&user), &p.filter, p.cursor, p.limit)?;
    let now = state.now_ms();
    let items = service::rows(db, items)?.iter().map(|r| RequestItem::new(r, user.lang, now)).collect();
    Ok(axum::Json(RequestPage { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestFieldOut {
    pub key: String,
    /// The label it was filed under, in the caller's language.
    pub label: String,
    /// `text`, `long_text`, `number`, `date`, `choice`, `phone` or `file`.
    pub kind: String,
    /// As stored (a choice's key, a file's id).
    pub value: String,
    /// As people read it (a choice's label).
    pub shown: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarlierRequest {
    pub id: u64,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetailOut {
    #[serde(flatten)]
    pub item: RequestItem,
    pub text: String,
    pub fields: Vec<RequestFieldOut>,
    pub client: ClientOut,
    pub first_response_due: Option<String>,
    pub resolution_due: Option<String>,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// Why it was rejected (the client reads it).
    pub reject_reason: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    /// The request's chat thread.
    pub thread_id: u64,
    pub history: Vec<HistoryOut>,
    /// The client's other requests, newest first.
    pub earlier: Vec<EarlierRequest>,
    /// The client's queue visits, newest first.
    pub visits: Vec<Visit>,
    /// What the caller may do now: `assign`, `start`, `submit`, `done`,
    /// `wait_client`, `reject`, `reopen`, `edit`, `reply`, …
    pub allowed_moves: Vec<&'static str>,
}

fn field_kind(k: crate::store::schema::FieldKind) -> &'static str {
    use crate::store::schema::FieldKind as K;
    match k {
        K::Text => "text",
        K::LongText => "long_text",
        K::Number => "number",
        K::Date => "date",
        K::Choice => "choice",
        K::Phone => "phone",
        K::File => "file",
    }
}

/// One request as staff see it, with what the page shows around it.
pub fn detail_out(state: &AppState, user: &CurrentUser, d: service::Detail) -> Result<RequestDetailOut, AppError> {
    let who = Caller::from(user);
    let lang = user.lang;
    let visits = service::visits(state, &user.tenant, &who, d.id, lang)?;
    let row = service::Row {
        id: d.id,
        request: d.request.clone(),
        category: d.category.clone(),
        client_name: d.client.name.clone(),
        assignee_name: d.assignee_name.clone(),
    };
    let r: &RequestV1 = &d.request;
    Ok(RequestDetailOut {
        item: RequestItem::new(&row, lang, state.now_ms()),
        text: r.text.clone(),
        fields: r
            .fields
            .iter()
            .map(|f| RequestFieldOut {
                key: f.key.clone(),
                label: f.labels.get(lang).to_string(),
                kind: field_kind(f.kind).into(),
                value: f.value.clone(),
                shown: service::shown_value(f, lang),
            })
            .collect(),
        client: d.client.clone(),
        first_response_due: r.first_response_due.map(rfc3339),
        resolution_due: r.resolution_due.map(rfc3339),
        first_response_at: r.first_response_at.map(rfc3339),
        resolved_at: r.resolved_at.map(rfc3339),
        first_response_breached: r.first_response_breached,
        resolution_breached: r.resolution_breached,
        reject_reason: r.reject_reason.clone(),
        rating: r.rating,
        rating_comment: r.rating_comment.clone(),
        thread_id: r.thread_id,
        history: d.history.iter().cloned().map(HistoryOut::from).collect(),
        earlier: d
            .earlier
            .iter()
            .map(|(id, o)| EarlierRequest {
                id: *id,
                number: rq::number(*id),
                subject: o.subject.clone(),
                status: rq::status_code(o.status).into(),
                created_at: rfc3339(o.created_at),
            })
            .collect(),
        visits,
        allowed_moves: d.moves.iter().map(|m| m.code()).collect(),
    })
}

/// One request with its history, client, earlier requests and queue visits.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = RequestDetailOut), (status = 404)), security(("bearer" = [])))]
pub async fn get_request(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<axum::Json<RequestDetailOut>, AppError> {
    let d = service::get(user.tenant.db()?, &Caller::from(&user), id)?;
    Ok(axum::Json(detail_out(&state, &user, d)?))
}

// ---------- filing on a client's behalf ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffClientIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,98}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// `+998 90 123 45 67` or the like; a phone or an e-mail is needed.
    #[schema(pattern = r"^\+?[0-9 ()-]{7,20}$")]
    pub phone: Option<String>,
    #[schema(pattern = r"^[^@\s]{1,64}@[^@\s]{1,180}\.[a-z]{2,10}$")]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRequestIn {
    pub category_id: u64,
    /// The category's name when empty.
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,198}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub subject: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
    /// The form's answers by field key (a file field: the id of the caller's upload).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Files the caller uploaded with `POST /files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub file_ids: Vec<u64>,
    pub client: StaffClientIn,
    /// `low`, `normal`, `high` or `urgent`; the category's default when left out.
    #[schema(pattern = r"^(low|normal|high|urgent)$")]
    pub priority: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffRequestFiled {
    pub id: u64,
    pub number: String,
    pub status: String,
    /// The client's status page.
    pub tracking_url: String,
}

/// Files a request on a client's behalf (channel `staff`).
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", params(("slug" = String, Path)), request_body = StaffRequestIn,
    responses((status = 201, body = StaffRequestFiled), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn create_request(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<StaffRequestIn>,
) -> Result<(StatusCode, axum::Json<StaffRequestFiled>), AppError> {
    let priority = match b.priority.as_deref() {
        Some(p) => Some(rq::parse_priority(p).ok_or_else(|| AppError::invalid("priority", "validation.request_priority"))?),
        None => None,
    };
    let input = NewRequest {
        category_id: b.category_id,
        subject: b.subject,
        text: b.text,
        fields: b.fields,
        file_ids: b.file_ids,
        client: ClientInput { name: b.client.name, phone: b.client.phone, email: b.client.email, ..ClientInput::default() },
        channel: None,
        priority,
    };
    let filed = service::create(&state, &user.tenant, &Caller::from(&user), input).await?;
    let base = state.config.public_url.clone().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        axum::Json(StaffRequestFiled {
            id: filed.id,
            number: rq::number(filed.id),
            status: rq::status_code(filed.request.status).into(),
            tracking_url: format!("{}{}", base.trim_end_matches('/'), filed.tracking_path),
        }),
    ))
}

// ---------- changes ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAssignIn {
    pub assignee_id: u64,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub note: Option<String>,
}

async fn item_of(state: &AppState, user: &CurrentUser, id: u64, r: RequestV1) -> Result<axum::Json<RequestItem>, AppError> {
    let rows = service::rows(user.tenant.db()?, vec![(id, r)])?;
    let row = rows.first().ok_or_else(service::not_found)?;
    Ok(axum::Json(RequestItem::new(row, user.lang, state.now_ms())))
}

/// Assigns or reassigns a request (a dispatcher; a team member takes one for themselves).
#[utoipa::path(post, path = "/api/v1/requests/{id}/assign", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = RequestAssignIn, responses((status = 200, body = RequestItem), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn assign_request(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<RequestAssignIn>,
) -> Result<axum::Json<RequestItem>, AppError> {
    let r = service::assign(&state, &user.tenant, &Caller::from(&user), id, b.assignee_id, b.note.as_deref()).await?;
    item_of(&state, &user, id, r).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestStatusIn {
    #[schema(pattern = r"^(new|assigned|in_progress|pending_review|waiting_client|reopened|done|rejected)$")]
    pub status: String,
    /// Required for `rejected`: the reason the client reads.
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

fn status_in(s: &str) -> Result<crate::store::schema::RequestStatus, AppError> {
    rq::parse_status(s).ok_or_else(|| AppError::invalid("status", "validation.request_status"))
}

/// Moves a request along its workflow.
#[utoipa::path(post, path = "/api/v1/requests/{id}/status", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = RequestStatusIn, responses((status = 200, body = RequestItem), (status = 403), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn request_status(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<RequestStatusIn>,
) -> Result<axum::Json<RequestItem>, AppError> {
    let to = status_in(&b.status)?;
    let r = service::change_status(&state, &user.tenant, &Caller::from(&user), id, to, b.comment.as_deref()).await?;
    item_of(&state, &user, id, r).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestPriorityIn {
    #[schema(pattern = r"^(low|normal|high|urgent)$")]
    pub priority: String,
}

/// Changes a request's priority (whoever reviews its category's work).
#[utoipa::path(post, path = "/api/v1/requests/{id}/priority", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = RequestPriorityIn, responses((status = 200, body = RequestItem), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn request_priority(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<RequestPriorityIn>,
) -> Result<axum::Json<RequestItem>, AppError> {
    let p = rq::parse_priority(&b.priority).ok_or_else(|| AppError::invalid("priority", "validation.request_priority"))?;
    let r = service::set_priority(&state, &user.tenant, &Caller::from(&user), id, p).await?;
    item_of(&state, &user, id, r).await
}

// ---------- the conversation ----------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestMessageQuery {
    /// Messages before this id (scrolling back).
    pub before: Option<u64>,
    /// Messages after this id, oldest first.
    pub after: Option<u64>,
    /// 1–100, 50 when not given.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestMessagePage {
    /// In the order they were sent; `internal` marks staff-only notes,
    /// `from_client` the client's words.
    pub items: Vec<MessageOut>,
}

/// The request's conversation: public replies, the client's messages and
/// internal notes.
#[utoipa::path(get, path = "/api/v1/requests/{id}/messages", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path), RequestMessageQuery),
    responses((status = 200, body = RequestMessagePage), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn request_messages(
    user: CurrentUser,
    PathId(id): PathId,
    Query(q): Query<RequestMessageQuery>,
) -> Result<axum::Json<RequestMessagePage>, AppError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=crate::chat::PAGE_MAX).contains(&limit) {
        return Err(AppError::invalid("limit", "validation.chat_limit").with_arg("max", crate::chat::PAGE_MAX));
    }
    let items = service::messages(user.tenant.db()?, &Caller::from(&user), id, Window { before: q.before, after: q.after, limit })?;
    Ok(axum::Json(RequestMessagePage { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMessageIn {
    /// The text (may be empty when files are attached).
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,3998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
    /// `true`: a note only staff read; `false`: a reply the client reads.
    pub internal: bool,
    /// Files uploaded by the caller with `POST /files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub file_ids: Vec<u64>,
    pub reply_to: Option<u64>,
}

/// Writes in a request's conversation: a public reply (the first stops the
/// first-response clock) or an internal note.
#[utoipa::path(post, path = "/api/v1/requests/{id}/messages", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = RequestMessageIn, responses((status = 201, body = MessageOut), (status = 403), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn post_request_message(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<RequestMessageIn>,
) -> Result<(StatusCode, axum::Json<MessageOut>), AppError> {
    let m = NewMessage { text: b.text, reply_to: b.reply_to, file_ids: b.file_ids, internal: b.internal };
    let out = service::reply(&state, &user.tenant, &Caller::from(&user), id, m).await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

// ---------- bulk ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBulkAssignIn {
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<u64>,
    pub assignee_id: u64,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestBulkOut {
    /// One per id, in the order given.
    pub results: Vec<BulkResult>,
}

fn ids_in(ids: &[u64]) -> Result<(), AppError> {
    if ids.is_empty() || ids.len() > service::PAGE_MAX {
        return Err(AppError::invalid("ids", "validation.request_ids"));
    }
    Ok(())
}

/// Assigns many requests to one person (a dispatcher); each on its own.
#[utoipa::path(post, path = "/api/v1/requests/bulk/assign", tag = "requests", params(("slug" = String, Path)),
    request_body = RequestBulkAssignIn, responses((status = 200, body = RequestBulkOut), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn bulk_assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<RequestBulkAssignIn>,
) -> Result<axum::Json<RequestBulkOut>, AppError> {
    ids_in(&b.ids)?;
    // Checked once for all, so that a bad note is the request's error, not each id's.
    AppError::check_text("note", b.note.as_deref().unwrap_or(""), service::COMMENT_MAX, true)?;
    let results = service::bulk_assign(&state, &user.tenant, &Caller::from(&user), &b.ids, b.assignee_id, b.note.as_deref()).await?;
    Ok(axum::Json(RequestBulkOut { results }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestBulkStatusIn {
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<u64>,
    #[schema(pattern = r"^(new|assigned|in_progress|pending_review|waiting_client|reopened|done|rejected)$")]
    pub status: String,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

/// Moves many requests to one status (a dispatcher); each on its own.
#[utoipa::path(post, path = "/api/v1/requests/bulk/status", tag = "requests", params(("slug" = String, Path)),
    request_body = RequestBulkStatusIn, responses((status = 200, body = RequestBulkOut), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn bulk_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<RequestBulkStatusIn>,
) -> Result<axum::Json<RequestBulkOut>, AppError> {
    ids_in(&b.ids)?;
    let to = status_in(&b.status)?;
    AppError::check_text("comment", b.comment.as_deref().unwrap_or(""), service::COMMENT_MAX, true)?;
    let results = service::bulk_status(&state, &user.tenant, &Caller::from(&user), &b.ids, to, b.comment.as_deref()).await?;
    Ok(axum::Json(RequestBulkOut { results }))
}

// ---------- saved filters ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedFilterOut {
    pub id: u64,
    pub name: String,
    /// The list's query string (`status=new&category_id=2`).
    pub query: String,
}

impl From<filters::Saved> for SavedFilterOut {
    fn from(s: filters::Saved) -> Self {
        SavedFilterOut { id: s.id, name: s.name, query: s.query }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SavedFilterList {
    pub items: Vec<SavedFilterOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedFilterIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,58}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// The list's query string.
    #[schema(pattern = r"^[^\x00-\x1f\x7f-\x9f]{0,1000}$")]
    pub query: String,
}

/// The caller's saved filters of the requests list.
#[utoipa::path(get, path = "/api/v1/requests/saved-filters", tag = "requests", params(("slug" = String, Path)),
    responses((status = 200, body = SavedFilterList)), security(("bearer" = [])))]
pub async fn list_saved_filters(user: CurrentUser) -> Result<axum::Json<SavedFilterList>, AppError> {
    let items = filters::list(user.tenant.db()?, &Caller::from(&user))?.into_iter().map(SavedFilterOut::from).collect();
    Ok(axum::Json(SavedFilterList { items }))
}

/// Saves a filter of the requests list (at most 30 per person).
#[utoipa::path(post, path = "/api/v1/requests/saved-filters", tag = "requests", params(("slug" = String, Path)),
    request_body = SavedFilterIn, responses((status = 201, body = SavedFilterOut), (status = 422)), security(("bearer" = [])))]
pub async fn create_saved_filter(
    user: CurrentUser,
    Json(b): Json<SavedFilterIn>,
) -> Result<(StatusCode, axum::Json<SavedFilterOut>), AppError> {
    let s = filters::create(&user.tenant, &Caller::from(&user), &b.name, &b.query).await?;
    Ok((StatusCode::CREATED, axum::Json(s.into())))
}

/// Deletes one of the caller's saved filters.
#[utoipa::path(delete, path = "/api/v1/requests/saved-filters/{id}", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn delete_saved_filter(user: CurrentUser, PathId(id): PathId) -> Result<StatusCode, AppError> {
    filters::delete(&user.tenant, &Caller::from(&user), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
