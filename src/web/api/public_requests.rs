//! The client's side of requests, no login (`/c/{slug}/api/v1/public/…`):
//! the categories with their forms, uploads, filing a request, and the
//! status of one by its tracking token (its public messages, notices, the
//! client's replies and rating, its live stream and its files).
//!
//! Every write is limited per client address ([`crate::web::limits`]); the
//! form's `website` field is a honeypot: a filled one is answered like a
//! success and files nothing.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::files::{self, FileMeta};
use crate::hub::{Listener, Topic};
use crate::i18n::Lang;
use crate::requests::service::{self as svc, ClientInput, NewRequest, PublicMessage, PublicView};
use crate::requests::{number, status_code, status_label};
use crate::store::schema::{FieldKind, RequestCategoryV1};
use crate::tenancy::Tenant;
use crate::web::api::files::{multipart_error, nothing_after, rejection};
use crate::web::extract::{Json, Page};
use crate::web::limits::ClientIp;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(categories))
        .routes(routes!(file_request))
        .routes(routes!(status))
        .routes(routes!(reply))
        .routes(routes!(rate))
        .routes(routes!(file))
}

/// Without the request timeout: the upload (the company's file limit
/// instead of the body limit) and the status page's live stream.
pub fn streams_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload)).layer(DefaultBodyLimit::disable()).routes(routes!(events))
}

/// A field kind's API name.
pub fn kind_code(k: FieldKind) -> &'static str {
    match k {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Choice => "choice",
        FieldKind::Phone => "phone",
        FieldKind::File => "file",
    }
}

fn not_found() -> AppError {
    svc::not_found()
}

/// The request's token from the path: 32 hex digits, else not found.
fn token_of(s: &str) -> Result<&str, AppError> {
    (s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(s).ok_or_else(not_found)
}

/// An optional language code: none, or one of ours (else a 422 on `lang`).
fn lang_param(s: Option<&str>) -> Result<Option<Lang>, AppError> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(code) => {
            Lang::ALL.into_iter().find(|l| l.code() == code).map(Some).ok_or_else(|| AppError::invalid("lang", "validation.language"))
        }
    }
}

fn open_for_business(tenant: &Tenant) -> Result<(), AppError> {
    if tenant.is_active() { Ok(()) } else { Err(ErrorKind::CompanyInactive.into()) }
}

fn too_many(e: AppError) -> AppError {
    if e.kind == ErrorKind::RateLimited { e.with_message("request_public.error.too_many") } else { e }
}

// ---------- categories ----------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `uz`, `ru` or `en`; else the caller's language.
    #[param(pattern = r"^(uz|ru|en)?$")]
    pub lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestOption)]
pub struct OptionOut {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestField)]
pub struct FieldOut {
    /// The key the answer goes under in `fields`.
    pub key: String,
    /// `text`, `long_text`, `number`, `date` (yyyy-mm-dd), `choice` (an option's key), `phone`, `file` (a file's ref).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub label: String,
    pub required: bool,
    pub options: Vec<OptionOut>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestCategory)]
pub struct CategoryOut {
    pub id: u64,
    pub name: String,
    /// An icon name of the product's set (`card`, `loan`, `complaint`, …).
    pub icon: String,
    /// `#rrggbb`
    pub color: String,
    /// The form, in order.
    pub fields: Vec<FieldOut>,
}

pub fn category_out(id: u64, c: &RequestCategoryV1, lang: Lang) -> CategoryOut {
    CategoryOut {
        id,
        name: c.names.get(lang).to_string(),
        icon: c.icon.clone(),
        color: c.color.clone(),
        fields: c
            .fields
            .iter()
            .map(|f| FieldOut {
                key: f.key.clone(),
                kind: kind_code(f.kind),
                label: f.labels.get(lang).to_string(),
                required: f.required,
                options: f.options.iter().map(|o| OptionOut { key: o.key.clone(), label: o.labels.get(lang).to_string() }).collect(),
            })
            .collect(),
    }
}

/// The categories a client may file a request in, with their forms, in the
/// asked language.
#[utoipa::path(get, path = "/api/v1/public/request-categories", tag = "requests", params(("slug" = String, Path), LangQuery),
    responses((status = 200, body = Vec<CategoryOut>), (status = 403, description = "The company is not open for business"), (status = 422, description = "Not a language of ours")))]
pub async fn categories(tenant: Tenant, page: Page, Query(q): Query<LangQuery>) -> Result<axum::Json<Vec<CategoryOut>>, AppError> {
    open_for_business(&tenant)?;
    let lang = lang_param(q.lang.as_deref())?.unwrap_or(page.lang);
    let list = svc::public_categories(tenant.db()?)?;
    Ok(axum::Json(list.iter().map(|(id, c)| category_out(*id, c, lang)).collect()))
}

// ---------- uploads ----------

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicFile)]
pub struct UploadOut {
    pub id: u64,
    /// What names this file in `file_ids` (and file fields): only its uploader has it.
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    pub size: u64,
    pub mime: String,
}

/// Stores one uploaded part as the client's file (streamed, within the
/// company's file limit). Shared with the request pages' forms.
pub async fn store_part(state: &AppState, tenant: &Tenant, field: axum::extract::multipart::Field<'_>) -> Result<FileMeta, AppError> {
    crate::web::api::files::store_field(state, tenant, files::ANON_UPLOADER, field).await
}

/// A client uploads a file for a request or a reply (multipart, field
/// `file`). The answer's `ref` names it when filing or writing.
#[utoipa::path(post, path = "/api/v1/public/files", tag = "requests", params(("slug" = String, Path)),
    request_body(content = crate::web::api::files::UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadOut), (status = 400), (status = 403, description = "The company is not open for business"),
        (status = 413, description = "Over the company's file limit"), (status = 415), (status = 422), (status = 429)))]
pub async fn upload(
    State(state): State<AppState>,
    tenant: Tenant,
    ClientIp(ip, limits): ClientIp,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<UploadOut>), AppError> {
    open_for_business(&tenant)?;
    limits.check_client_write(ip).map_err(too_many)?;
    let mut form = form.map_err(rejection)?;
    let field = loop {
        let Some(field) = form.next_field().await.map_err(multipart_error)? else { return Err(AppError::invalid("file", "files.no_file")) };
        match field.name() {
            Some("file") => break field,
            Some(crate::web::csrf::FIELD) => continue,
            _ => return Err(AppError::invalid("file", "files.one_file")),
        }
    };
    let meta = store_part(&state, &tenant, field).await?;
    nothing_after(&mut form).await?;
    let reference = svc::file_ref(&state, &tenant.slug, meta.id);
    Ok((StatusCode::CREATED, axum::Json(UploadOut { id: meta.id, reference, name: meta.name, size: meta.size, mime: meta.mime })))
}

// ---------- filing ----------

/// One answer of the form: text, or a number (kept as written).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = PublicFieldAnswer)]
pub enum Answer {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl Answer {
    pub fn into_text(self) -> String {
        match self {
            Answer::Text(s) => s,
            Answer::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicRequestClient)]
pub struct ClientIn {
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x1f\x7f-\x9f]{0,98}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    /// `+998 90 123 45 67` or the like; a phone or an e-mail is needed.
    #[schema(pattern = r"^[0-9+() -]{0,30}$")]
    pub phone: Option<String>,
    #[schema(pattern = r"^([^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+)?$", max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicRequestIn)]
pub struct RequestIn {
    pub category_id: u64,
    /// Optional: the category's name when empty.
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
    /// The form's answers by field key; a file field takes a file's `ref`.
    #[serde(default)]
    pub fields: BTreeMap<String, Answer>,
    /// Refs of files uploaded with `POST /public/files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub file_ids: Vec<String>,
    pub client: ClientIn,
    /// What the client reads and is written to in (`uz`, `ru`, `en`).
    #[schema(pattern = r"^(uz|ru|en)?$")]
    pub lang: Option<String>,
    /// Leave empty (a field people do not see).
    #[serde(default)]
    pub website: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestFiled)]
pub struct FiledOut {
    pub id: u64,
    /// `R-000123`
    pub number: String,
    pub status: &'static str,
    /// The client's status page.
    pub tracking_url: String,
}

/// The file ids of signed refs, each checked (a bad one: 422 on `file_ids`).
pub fn file_ids(state: &AppState, slug: &str, refs: &[String]) -> Result<Vec<u64>, AppError> {
    if refs.len() > files::MAX_PER_MESSAGE {
        return Err(AppError::invalid("file_ids", "files.too_many").with_arg("max", files::MAX_PER_MESSAGE));
    }
    refs.iter().map(|r| svc::check_file_ref(state, slug, r)).collect()
}

/// What a filing looks like to the core: refs of file fields become file ids.
pub fn new_request(state: &AppState, tenant: &Tenant, b: RequestIn, fallback_lang: Lang) -> Result<NewRequest, AppError> {
    let cat = svc::public_categories(tenant.db()?)?.into_iter().find(|(id, _)| *id == b.category_id).map(|(_, c)| c);
    let mut fields = BTreeMap::new();
    for (k, v) in b.fields {
        let mut v = v.into_text();
        let kind = cat.as_ref().and_then(|c| c.fields.iter().find(|f| f.key == k)).map(|f| f.kind);
        if kind == Some(FieldKind::File) && !v.trim().is_empty() {
            let id = svc::check_file_ref(state, &tenant.slug, v.trim())
                .map_err(|_| AppError::invalid_field(format!("fields.{k}"), "files.unknown").with_arg("id", 0))?;
            v = id.to_string();
        }
        fields.insert(k, v);
    }
    Ok(NewRequest {
        category_id: b.category_id,
        subject: b.subject,
        text: b.text,
        fields,
        file_ids: file_ids(state, &tenant.slug, &b.file_ids)?,
        client: ClientInput {
            name: b.client.name,
            phone: b.client.phone,
            email: b.client.email,
            lang: Some(lang_param(b.lang.as_deref())?.unwrap_or(fallback_lang)),
            ..ClientInput::default()
        },
        channel: Some(crate::store::schema::RequestChannel::Web),
        priority: None,
    })
}

/// A plausible answer for a bot that filled the honeypot: nothing is filed.
pub fn decoy(base: &str, slug: &str) -> FiledOut {
    let bytes = crate::store::random_bytes::<4>();
    let id = u64::from(u32::from_le_bytes(bytes) % 900) + 100;
    let token = hex::encode(crate::store::random_bytes::<16>());
    FiledOut { id, number: number(id), status: "new", tracking_url: format!("{base}{}", svc::tracking_path(slug, &token)) }
}

/// A client files a request (no login). Limited per address (5 in 10
/// minutes, 20 a day: 429 with `Retry-After`). A missing required field
/// names it (`fields.<key>`); a choice outside its options is a 422.
#[utoipa::path(post, path = "/api/v1/public/requests", tag = "requests", params(("slug" = String, Path)), request_body = RequestIn,
    responses((status = 201, body = FiledOut), (status = 403, description = "The company is not open for business"), (status = 422), (status = 429)))]
pub async fn file_request(
    State(state): State<AppState>,
    tenant: Tenant,
    Page { lang, .. }: Page,
    ClientIp(ip, limits): ClientIp,
    headers: HeaderMap,
    Json(b): Json<RequestIn>,
) -> Result<(StatusCode, axum::Json<FiledOut>), AppError> {
    open_for_business(&tenant)?;
    limits.check_request(ip).map_err(too_many)?;
    let base = crate::web::api::track::base_url(&state, &headers);
    let honeypot = b.website.as_deref().is_some_and(|w| !w.trim().is_empty());
    let input = new_request(&state, &tenant, b, lang)?;
    if honeypot {
        // Malformed input is refused as for anyone; well-formed, it looks filed.
        svc::check_filing(&input)?;
        tracing::info!(company = %tenant.slug, "a request's honeypot was filled: nothing filed");
        limits.request_filed(ip);
        return Ok((StatusCode::CREATED, axum::Json(decoy(&base, &tenant.slug))));
    }
    let filed = svc::create(&state, &tenant, &Caller::Public, input).await?;
    limits.request_filed(ip);
    Ok((
        StatusCode::CREATED,
        axum::Json(FiledOut {
            id: filed.id,
            number: number(filed.id),
            status: status_code(filed.request.status),
            tracking_url: format!("{base}{}", filed.tracking_path),
        }),
    ))
}

// ---------- the client's status ----------

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestAnswer)]
pub struct AnswerOut {
    pub key: String,
    /// The label the form had when it was filed.
    pub label: String,
    /// `text`, `long_text`, `number`, `date`, `choice`, `phone`, `file`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// As people read it (a choice's label, a date dd.mm.yyyy).
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestNotice)]
pub struct NoticeOut {
    /// `received`, `assigned`, `status_changed`, `staff_replied`, `waiting_client`, `done`, `rejected`, `rate_us`.
    pub event: String,
    pub text: String,
    pub at_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicRequestStatus)]
pub struct StatusOut {
    pub number: String,
    /// `new`, `assigned`, `in_progress`, `pending_review`, `waiting_client`, `reopened`, `done`, `rejected`.
    pub status: &'static str,
    pub status_label: String,
    pub category: String,
    pub subject: String,
    pub created_at_ms: i64,
    pub fields: Vec<AnswerOut>,
    /// Public messages only: staff replies and the client's own.
    pub messages: Vec<PublicMessage>,
    pub notices: Vec<NoticeOut>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    pub may_write: bool,
    pub may_rate: bool,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
}

pub fn status_out(v: &PublicView, lang: Lang) -> StatusOut {
    let r = &v.request;
    StatusOut {
        number: number(v.id),
        status: status_code(r.status),
        status_label: status_label(lang, r.status).to_string(),
        category: v.category.as_ref().map(|c| c.names.get(lang).to_string()).unwrap_or_default(),
        subject: r.subject.clone(),
        created_at_ms: r.created_at,
        fields: r
            .fields
            .iter()
            .map(|f| AnswerOut {
                key: f.key.clone(),
                label: f.labels.get(lang).to_string(),
                kind: kind_code(f.kind),
                value: svc::shown_value(f, lang),
            })
            .collect(),
        messages: v.messages.clone(),
        notices: v.notices.iter().map(|n| NoticeOut { event: n.event.clone(), text: n.text.clone(), at_ms: n.at }).collect(),
        reject_reason: r.reject_reason.clone(),
        may_write: v.may_write,
        may_rate: v.may_rate,
        rating: r.rating,
        rating_comment: r.rating_comment.clone(),
    }
}

/// A request as its client sees it, by its tracking token.
#[utoipa::path(get, path = "/api/v1/public/requests/{token}", tag = "requests",
    params(("slug" = String, Path), ("token" = String, Path, pattern = r"^[0-9a-f]{32}$")),
    responses((status = 200, body = StatusOut), (status = 404)))]
pub async fn status(
    State(state): State<AppState>,
    tenant: Tenant,
    Page { lang, .. }: Page,
    Path((_, token)): Path<(String, String)>,
) -> Result<axum::Json<StatusOut>, AppError> {
    let token = token_of(&token)?;
    let v = svc::public_view(tenant.db()?, token, state.now_ms())?;
    Ok(axum::Json(status_out(&v, lang)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicRequestMessageIn)]
pub struct MessageIn {
    /// May be empty when files are attached.
    #[serde(default)]
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,3998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub text: String,
    /// Refs of files uploaded with `POST /public/files`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub file_ids: Vec<String>,
}

/// The client writes on their request: to one waiting for them, it goes
/// back to work; to a resolved one within 7 days, it reopens. A closed one
/// is a 409.
#[utoipa::path(post, path = "/api/v1/public/requests/{token}/messages", tag = "requests",
    params(("slug" = String, Path), ("token" = String, Path, pattern = r"^[0-9a-f]{32}$")), request_body = MessageIn,
    responses((status = 201, body = PublicMessage), (status = 404), (status = 409, description = "The request is closed"), (status = 422), (status = 429)))]
pub async fn reply(
    State(state): State<AppState>,
    tenant: Tenant,
    ClientIp(ip, limits): ClientIp,
    Path((_, token)): Path<(String, String)>,
    Json(b): Json<MessageIn>,
) -> Result<(StatusCode, axum::Json<PublicMessage>), AppError> {
    let token = token_of(&token)?;
    svc::by_token(tenant.db()?, token)?;
    limits.check_client_write(ip).map_err(too_many)?;
    let ids = file_ids(&state, &tenant.slug, &b.file_ids)?;
    let m = svc::client_reply(&state, &tenant, token, &b.text, ids).await?;
    Ok((StatusCode::CREATED, axum::Json(m)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublicRatingIn)]
pub struct RatingIn {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u8,
    #[schema(
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,1998}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub comment: Option<String>,
}

/// The client rates a resolved request 1–5, once.
#[utoipa::path(post, path = "/api/v1/public/requests/{token}/rating", tag = "requests",
    params(("slug" = String, Path), ("token" = String, Path, pattern = r"^[0-9a-f]{32}$")), request_body = RatingIn,
    responses((status = 200, body = StatusOut), (status = 404), (status = 409, description = "Not resolved, or rated already"), (status = 422), (status = 429)))]
pub async fn rate(
    State(state): State<AppState>,
    tenant: Tenant,
    Page { lang, .. }: Page,
    ClientIp(ip, limits): ClientIp,
    Path((_, token)): Path<(String, String)>,
    Json(b): Json<RatingIn>,
) -> Result<axum::Json<StatusOut>, AppError> {
    let token = token_of(&token)?;
    svc::by_token(tenant.db()?, token)?;
    limits.check_client_write(ip).map_err(too_many)?;
    svc::rate(&state, &tenant, token, b.rating, b.comment.as_deref()).await?;
    let v = svc::public_view(tenant.db()?, token, state.now_ms())?;
    Ok(axum::Json(status_out(&v, lang)))
}

/// Live events of the status page: `request.message` (public messages
/// only), `request.status`, `request.notice`.
#[utoipa::path(get, path = "/api/v1/public/requests/{token}/events", tag = "requests",
    params(("slug" = String, Path), ("token" = String, Path, pattern = r"^[0-9a-f]{32}$")),
    responses((status = 200, description = "text/event-stream"), (status = 404)))]
pub async fn events(State(state): State<AppState>, tenant: Tenant, Path((_, token)): Path<(String, String)>) -> Result<Response, AppError> {
    let token = token_of(&token)?;
    let (_, r) = svc::by_token(tenant.db()?, token)?;
    let mut listener = Listener::public(&tenant.slug, Caller::Customer(r.token.clone()));
    listener.listen(&state.hub, Topic::Request(r.token.clone()));
    Ok(crate::web::api::live::sse_response(&state, listener).into_response())
}

/// A file of the request's conversation: only one attached to a public
/// message of this request. Images, PDF and the like show in place; the
/// rest downloads.
#[utoipa::path(get, path = "/api/v1/public/requests/{token}/files/{id}", tag = "requests",
    params(("slug" = String, Path), ("token" = String, Path, pattern = r"^[0-9a-f]{32}$"), ("id" = u64, Path)),
    responses((status = 200, description = "The file's bytes", content_type = "*/*"), (status = 404)))]
pub async fn file(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((_, token, id)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let token = token_of(&token)?;
    let id: u64 = id.parse().map_err(|_| AppError::new(ErrorKind::NotFound).with_message("files.not_found"))?;
    let f = svc::public_file(tenant.db()?, token, id)?;
    let stream = files::read(&state, &tenant, &f.sha256, 0..f.size).await?;
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(crate::web::api::files::FILE_CSP));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size));
    if let Ok(v) = HeaderValue::from_str(&f.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let kind = if files::inline(&f.mime) { "inline" } else { "attachment" };
    if let Ok(v) = HeaderValue::from_str(&crate::web::api::files::disposition(kind, &f.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
