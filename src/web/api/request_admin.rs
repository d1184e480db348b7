//! JSON API for request categories and notification templates (admins
//! with `requests.manage`).

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::requests::categories::{self, CategoryInput, Deleted, FieldInput, NamesInput, OptionInput, SlaInput};
use crate::requests::priority_code;
use crate::requests::templates::{self, Event};
use crate::store::schema::{Names, RequestCategoryV1};
use crate::web::api::org::double_option;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_request_categories, create_request_category))
        .routes(routes!(patch_request_category, delete_request_category))
        .routes(routes!(list_notification_templates))
        .routes(routes!(get_notification_template, put_notification_template, reset_notification_template))
        .routes(routes!(preview_notification_template))
}

// ---------- categories ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestNamesOut {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

impl From<Names> for RequestNamesOut {
    fn from(n: Names) -> Self {
        RequestNamesOut { uz: n.uz, ru: n.ru, en: n.en }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOptionOut {
    pub key: String,
    pub labels: RequestNamesOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestFormFieldOut {
    pub key: String,
    /// `text`, `long_text`, `number`, `date`, `choice`, `phone` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    pub labels: RequestNamesOut,
    pub required: bool,
    /// A choice's options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<RequestOptionOut>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestSlaOut {
    pub first_response_minutes: Option<u32>,
    pub resolution_minutes: Option<u32>,
    /// `all_day` or `working_hours`.
    pub clock: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCategoryOut {
    pub id: u64,
    pub names: RequestNamesOut,
    /// `card`, `loan`, `complaint`, `account`, `transfer`, `document`, `question` or `other`.
    pub icon: String,
    /// `#rrggbb`
    pub color: String,
    pub fields: Vec<RequestFormFieldOut>,
    pub team_ids: Vec<u64>,
    pub lead_id: Option<u64>,
    pub auto_assign: bool,
    /// `low`, `normal`, `high` or `urgent`.
    pub default_priority: String,
    pub sla: RequestSlaOut,
    pub branch_id: Option<u64>,
    pub active: bool,
    pub sort: u32,
}

impl RequestCategoryOut {
    pub fn new(id: u64, c: RequestCategoryV1) -> Self {
        RequestCategoryOut {
            id,
            names: c.names.into(),
            icon: c.icon,
            color: c.color,
            fields: c
                .fields
                .into_iter()
                .map(|f| RequestFormFieldOut {
                    key: f.key,
                    kind: categories::kind_code(f.kind).to_string(),
                    labels: f.labels.into(),
                    required: f.required,
                    options: (f.kind == crate::store::schema::FieldKind::Choice)
                        .then(|| f.options.into_iter().map(|o| RequestOptionOut { key: o.key, labels: o.labels.into() }).collect()),
                })
                .collect(),
            team_ids: c.team,
            lead_id: c.lead_id,
            auto_assign: c.auto_assign,
            default_priority: priority_code(c.default_priority).to_string(),
            sla: RequestSlaOut {
                first_response_minutes: c.first_response_minutes,
                resolution_minutes: c.resolution_minutes,
                clock: categories::clock_code(c.clock).to_string(),
            },
            branch_id: c.branch_id,
            active: c.active,
            sort: c.sort,
        }
    }
}

/// A name or label: `uz` required (at most 80 characters, trimmed, no
/// control characters), `ru` and `en` optional (empty: the Uzbek one is shown).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestNamesIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub uz: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub ru: String,
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,78}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub en: String,
}

impl From<RequestNamesIn> for NamesInput {
    fn from(n: RequestNamesIn) -> Self {
        NamesInput { uz: n.uz, ru: n.ru, en: n.en }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestOptionIn {
    #[schema(pattern = r"^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    pub labels: RequestNamesIn,
}

/// One field of the form. Keys are unique within the form; only a
/// `choice` has options (1 to 50, keys unique).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestFieldIn {
    #[schema(pattern = r"^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    #[serde(rename = "type")]
    #[schema(pattern = r"^(text|long_text|number|date|choice|phone|file)$")]
    pub kind: String,
    pub labels: RequestNamesIn,
    #[serde(default)]
    pub required: bool,
    #[schema(max_items = 50)]
    pub options: Option<Vec<RequestOptionIn>>,
}

impl From<RequestFieldIn> for FieldInput {
    fn from(f: RequestFieldIn) -> Self {
        FieldInput {
            key: f.key,
            kind: f.kind,
            labels: f.labels.into(),
            required: f.required,
            options: f.options.unwrap_or_default().into_iter().map(|o| OptionInput { key: o.key, labels: o.labels.into() }).collect(),
        }
    }
}

/// The SLA targets in minutes (1 to 525600, the first response no later
/// than the resolution); a target left out or null is none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSlaIn {
    #[schema(minimum = 1, maximum = 525600)]
    pub first_response_minutes: Option<i64>,
    #[schema(minimum = 1, maximum = 525600)]
    pub resolution_minutes: Option<i64>,
    /// `all_day` (the default) or `working_hours` of the branch.
    #[schema(pattern = r"^(all_day|working_hours)$")]
    pub clock: Option<String>,
}

impl From<RequestSlaIn> for SlaInput {
    fn from(s: RequestSlaIn) -> Self {
        SlaInput { first_response_minutes: s.first_response_minutes, resolution_minutes: s.resolution_minutes, clock: s.clock }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCategoryIn {
    pub names: RequestNamesIn,
    /// `card`, `loan`, `complaint`, `account`, `transfer`, `document`, `question` or `other` (the default).
    #[schema(pattern = r"^(card|loan|complaint|account|transfer|document|question|other)$")]
    pub icon: Option<String>,
    /// `#rrggbb`
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*#[0-9A-Fa-f]{6}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub color: Option<String>,
    #[schema(max_items = 30)]
    pub fields: Option<Vec<RequestFieldIn>>,
    /// Active employees who work the category's requests.
    #[schema(max_items = 200)]
    pub team_ids: Option<Vec<u64>>,
    pub lead_id: Option<u64>,
    pub auto_assign: Option<bool>,
    /// `low`, `normal` (the default), `high` or `urgent`.
    #[schema(pattern = r"^(low|normal|high|urgent)$")]
    pub default_priority: Option<String>,
    pub sla: Option<RequestSlaIn>,
    pub branch_id: Option<u64>,
    pub active: Option<bool>,
    pub sort: Option<u32>,
}

/// Changes what it names; `null` clears `lead_id` or `branch_id`; `fields`
/// replaces the whole form (old requests keep the labels they were filed with).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestCategoryPatchIn {
    pub names: Option<RequestNamesIn>,
    #[schema(pattern = r"^(card|loan|complaint|account|transfer|document|question|other)$")]
    pub icon: Option<String>,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*#[0-9A-Fa-f]{6}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub color: Option<String>,
    #[schema(max_items = 30)]
    pub fields: Option<Vec<RequestFieldIn>>,
    #[schema(max_items = 200)]
    pub team_ids: Option<Vec<u64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub lead_id: Option<Option<u64>>,
    pub auto_assign: Option<bool>,
    #[schema(pattern = r"^(low|normal|high|urgent)$")]
    pub default_priority: Option<String>,
    pub sla: Option<RequestSlaIn>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u64>)]
    pub branch_id: Option<Option<u64>>,
    pub active: Option<bool>,
    pub sort: Option<u32>,
}

/// Every request category, active or retired, in their order.
#[utoipa::path(get, path = "/api/v1/request-categories", tag = "requests", params(("slug" = String, Path)),
    responses((status = 200, body = [RequestCategoryOut]), (status = 403)), security(("bearer" = [])))]
pub async fn list_request_categories(user: CurrentUser) -> Result<axum::Json<Vec<RequestCategoryOut>>, AppError> {
    let all = categories::list(user.tenant.db()?, &Caller::from(&user))?;
    Ok(axum::Json(all.into_iter().map(|(id, c)| RequestCategoryOut::new(id, c)).collect()))
}

/// Creates a request category with its form.
#[utoipa::path(post, path = "/api/v1/request-categories", tag = "requests", params(("slug" = String, Path)),
    request_body = RequestCategoryIn, responses((status = 201, body = RequestCategoryOut), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_request_category(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(b): Json<RequestCategoryIn>,
) -> Result<(StatusCode, axum::Json<RequestCategoryOut>), AppError> {
    let input = CategoryInput {
        names: Some(b.names.into()),
        icon: b.icon,
        color: b.color,
        team_ids: b.team_ids,
        lead_id: Some(b.lead_id),
        auto_assign: b.auto_assign,
        default_priority: b.default_priority,
        sla: b.sla.map(Into::into),
        branch_id: Some(b.branch_id),
        fields: b.fields.map(|f| f.into_iter().map(Into::into).collect()),
        active: b.active,
        sort: b.sort,
    };
    let (id, c) = categories::create(&state, &user.tenant, &Caller::from(&user), input).await?;
    Ok((StatusCode::CREATED, axum::Json(RequestCategoryOut::new(id, c))))
}

/// Changes a request category.
#[utoipa::path(patch, path = "/api/v1/request-categories/{id}", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = RequestCategoryPatchIn, responses((status = 200, body = RequestCategoryOut), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn patch_request_category(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(b): Json<RequestCategoryPatchIn>,
) -> Result<axum::Json<RequestCategoryOut>, AppError> {
    let input = CategoryInput {
        names: b.names.map(Into::into),
        icon: b.icon,
        color: b.color,
        team_ids: b.team_ids,
        lead_id: b.lead_id,
        auto_assign: b.auto_assign,
        default_priority: b.default_priority,
        sla: b.sla.map(Into::into),
        branch_id: b.branch_id,
        fields: b.fields.map(|f| f.into_iter().map(Into::into).collect()),
        active: b.active,
        sort: b.sort,
    };
    let c = categories::update(&state, &user.tenant, &Caller::from(&user), id, input).await?;
    Ok(axum::Json(RequestCategoryOut::new(id, c)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCategoryDeleted {
    /// `removed` (it had no requests) or `deactivated` (its requests keep it).
    pub result: String,
}

/// Deletes a request category; one with requests is retired instead.
#[utoipa::path(delete, path = "/api/v1/request-categories/{id}", tag = "requests", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 200, body = RequestCategoryDeleted), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn delete_request_category(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
) -> Result<axum::Json<RequestCategoryDeleted>, AppError> {
    let r = categories::delete(&state, &user.tenant, &Caller::from(&user), id).await?;
    let result = match r {
        Deleted::Removed => "removed",
        Deleted::Deactivated => "deactivated",
    };
    Ok(axum::Json(RequestCategoryDeleted { result: result.into() }))
}

// ---------- notification templates ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationTemplateOut {
    /// `received`, `assigned`, `status_changed`, `staff_replied`, `waiting_client`, `done`, `rejected` or `rate_us`.
    pub event: String,
    /// `uz`, `ru` or `en`.
    pub lang: String,
    pub text: String,
    /// The catalogue's text (the company has not changed it).
    pub is_default: bool,
}

fn template_out(event: Event, lang: Lang, text: String, is_default: bool) -> NotificationTemplateOut {
    NotificationTemplateOut { event: event.code().into(), lang: lang.code().into(), text, is_default }
}

fn event_lang(event: &str, lang: &str) -> Result<(Event, Lang), AppError> {
    let e = Event::parse(event).ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.request_template_event"))?;
    let l = Lang::ALL.into_iter().find(|l| l.code() == lang).ok_or_else(|| AppError::new(ErrorKind::NotFound))?;
    Ok((e, l))
}

/// Every event in every language, with whether it is the default text.
#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "requests", params(("slug" = String, Path)),
    responses((status = 200, body = [NotificationTemplateOut]), (status = 403)), security(("bearer" = [])))]
pub async fn list_notification_templates(user: CurrentUser) -> Result<axum::Json<Vec<NotificationTemplateOut>>, AppError> {
    let all = templates::list(user.tenant.db()?, &Caller::from(&user))?;
    Ok(axum::Json(all.into_iter().map(|e| template_out(e.event, e.lang, e.text, e.is_default)).collect()))
}

/// One template.
#[utoipa::path(get, path = "/api/v1/notification-templates/{event}/{lang}", tag = "requests",
    params(("slug" = String, Path), ("event" = String, Path), ("lang" = String, Path)),
    responses((status = 200, body = NotificationTemplateOut), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn get_notification_template(
    user: CurrentUser,
    Path((_, event, lang)): Path<(String, String, String)>,
) -> Result<axum::Json<NotificationTemplateOut>, AppError> {
    let (e, l) = event_lang(&event, &lang)?;
    let (text, is_default) = templates::get_for(user.tenant.db()?, &Caller::from(&user), e, l)?;
    Ok(axum::Json(template_out(e, l, text, is_default)))
}

/// A template's text: at most 1000 characters; placeholders only
/// `{number}`, `{status}`, `{client_name}`, `{category}`, `{assignee}`, `{link}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationTemplateIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
}

/// Saves the company's own text; an unknown placeholder or a stray brace is a 422 naming it.
#[utoipa::path(put, path = "/api/v1/notification-templates/{event}/{lang}", tag = "requests",
    params(("slug" = String, Path), ("event" = String, Path), ("lang" = String, Path)), request_body = NotificationTemplateIn,
    responses((status = 200, body = NotificationTemplateOut), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn put_notification_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, event, lang)): Path<(String, String, String)>,
    Json(b): Json<NotificationTemplateIn>,
) -> Result<axum::Json<NotificationTemplateOut>, AppError> {
    let (e, l) = event_lang(&event, &lang)?;
    let text = templates::put(&state, &user.tenant, &Caller::from(&user), e, l, &b.text).await?;
    Ok(axum::Json(template_out(e, l, text, false)))
}

/// Back to the default text; returns it.
#[utoipa::path(delete, path = "/api/v1/notification-templates/{event}/{lang}", tag = "requests",
    params(("slug" = String, Path), ("event" = String, Path), ("lang" = String, Path)),
    responses((status = 200, body = NotificationTemplateOut), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn reset_notification_template(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_, event, lang)): Path<(String, String, String)>,
) -> Result<axum::Json<NotificationTemplateOut>, AppError> {
    let (e, l) = event_lang(&event, &lang)?;
    let text = templates::reset(&state, &user.tenant, &Caller::from(&user), e, l).await?;
    Ok(axum::Json(template_out(e, l, text, true)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
    /// `uz`, `ru` or `en`: the language of the sample data.
    #[schema(pattern = r"^(uz|ru|en)$")]
    pub lang: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatePreviewOut {
    pub text: String,
}

/// A text rendered with sample data, checked as on save.
#[utoipa::path(post, path = "/api/v1/notification-templates/preview", tag = "requests", params(("slug" = String, Path)),
    request_body = TemplatePreviewIn, responses((status = 200, body = TemplatePreviewOut), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn preview_notification_template(
    user: CurrentUser,
    Json(b): Json<TemplatePreviewIn>,
) -> Result<axum::Json<TemplatePreviewOut>, AppError> {
    let lang = Lang::ALL.into_iter().find(|l| l.code() == b.lang).ok_or_else(|| AppError::invalid("lang", "validation.language"))?;
    let text = templates::preview(&Caller::from(&user), &b.text, lang)?;
    Ok(axum::Json(TemplatePreviewOut { text }))
}
