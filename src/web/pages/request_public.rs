//! The client's request pages, no login: `/c/{slug}/request` (pick a
//! category, fill its form with files, leave a phone or an e-mail) and the
//! status page `/r/{slug}-{token}` (the status and what it means, the
//! answers as filed, the public conversation with its files, the updates,
//! a box to write back, the rating when resolved), kept current by
//! `assets/request.js` from the request's live stream.
//!
//! Plain multipart forms (they work on any phone, with or without the
//! script); the uploads go through the same core as the public API.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::requests::service::{self as svc, ClientInput, NewRequest, PublicView};
use crate::requests::{number, status_code, status_label};
use crate::store::schema::{FieldKind, FormField, RequestCategoryV1, RequestStatus};
use crate::tenancy::Tenant;
use crate::web::api::public_requests::store_part;
use crate::web::assets;
use crate::web::errors::form_again;
use crate::web::extract::Page;
use crate::web::layout::{self, FormError, Shell, form_alert};
use crate::web::limits::ClientIp;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new().route("/request", get(form_page).post(form_submit).layer(DefaultBodyLimit::disable()))
}

/// Routes outside a company's prefix: the status page `/r/{slug}-{token}`.
pub fn platform_router() -> Router<AppState> {
    Router::new()
        .route("/r/{public}", get(status_page))
        .route("/r/{public}/reply", post(reply_submit).layer(DefaultBodyLimit::disable()))
        .route("/r/{public}/rate", post(rate_submit))
}

// ---------- small parts ----------

/// The shell of these pages (the language switch comes back to `path`).
fn shell<'a>(tenant: &'a Tenant, lang: Lang, csrf: &'a str, title: &'a str, path: &'a str) -> Shell<'a> {
    Shell { lang, title, tenant: Some(tenant), csrf, signed_in: None, nav: vec![], path, notice: None }
}

fn assets_links() -> Markup {
    html! {
        link rel="stylesheet" href=(assets::url("request.css"));
        script src=(assets::url("request.js")) defer {}
    }
}

/// A category's picture: a few simple line icons by name, a speech bubble otherwise.
fn icon(name: &str) -> Markup {
    let path = match name {
        "card" => "M3 6h18v12H3z M3 10h18 M6 15h4",
        "loan" | "money" | "credit" => "M12 3v18 M16 7.5c0-1.7-1.8-2.5-4-2.5s-4 1-4 2.7 1.8 2.3 4 2.8 4 1.2 4 3-1.8 2.8-4 2.8-4-.9-4-2.6",
        "complaint" | "warning" => "M12 3l10 18H2z M12 10v5 M12 18v.5",
        "document" | "doc" => "M6 3h8l4 4v14H6z M14 3v4h4 M9 12h6 M9 16h6",
        "phone" => "M7 3h4l1 5-2 1a11 11 0 005 5l1-2 5 1v4a2 2 0 01-2 2A17 17 0 015 5a2 2 0 012-2z",
        "question" => "M9 9a3 3 0 116 0c0 2-3 2-3 4 M12 17v.5 M12 21a9 9 0 110-18 9 9 0 010 18z",
        _ => "M4 5h16v11H9l-5 4z",
    };
    html! {
        svg.rq-icon viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" {
            path d=(path) {}
        }
    }
}

/// A `#rrggbb` colour or none (the page script paints with it).
fn color(c: &str) -> Option<&str> {
    (c.len() == 7 && c.starts_with('#') && c.bytes().skip(1).all(|b| b.is_ascii_hexdigit())).then_some(c)
}

fn when(ms: i64, tenant: &Tenant) -> String {
    crate::clock::from_ms(ms).to_zoned(tenant.timezone()).strftime("%d.%m.%Y %H:%M").to_string()
}

fn not_open(tenant: &Tenant, page: &Page) -> Markup {
    let lang = page.lang;
    let title = t(lang, "request_public.title");
    layout::render(
        shell(tenant, lang, &page.csrf, title, &page.path),
        html! {
            section.rq-hero {
                h1 { (tenant.info().name) }
                p.closed role="status" {
                    strong { (t(lang, "visit.not_open_title")) }
                    br;
                    (t(lang, "visit.not_open_text"))
                }
            }
        },
    )
}

// ---------- the form ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct FormQuery {
    category: String,
}

/// What was typed, kept when the form comes back with a mistake.
#[derive(Default)]
struct Typed {
    category: u64,
    subject: String,
    text: String,
    fields: BTreeMap<String, String>,
    name: String,
    phone: String,
    email: String,
    website: String,
    /// Files this form already uploaded: (signed ref, name).
    kept: Vec<(String, String)>,
}

/// `GET /c/{slug}/request`: the categories; with `?category=`, its form.
async fn form_page(State(_state): State<AppState>, tenant: Tenant, page: Page, Query(q): Query<FormQuery>) -> Result<Markup, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page));
    }
    let cats = svc::public_categories(tenant.db()?)?;
    let chosen = q.category.trim().parse::<u64>().ok().and_then(|id| cats.iter().find(|(cid, _)| *cid == id));
    Ok(match chosen {
        Some((id, c)) => form_view(&tenant, &page, *id, c, &Typed { category: *id, ..Typed::default() }, None),
        None => categories_view(&tenant, &page, &cats),
    })
}

fn categories_view(tenant: &Tenant, page: &Page, cats: &[(u64, RequestCategoryV1)]) -> Markup {
    let lang = page.lang;
    let title = t(lang, "request_public.title");
    let path = page.path.clone();
    layout::render(
        shell(tenant, lang, &page.csrf, title, &path),
        html! {
            (assets_links())
            section.rq-hero {
                h1 { (title) }
                p.lead { (t(lang, "request_public.lead")) }
            }
            @if cats.is_empty() {
                p.empty { (t(lang, "request_public.no_categories")) }
            }
            nav.rq-cats aria-label=(t(lang, "request_public.choose")) {
                @for (id, c) in cats {
                    a.rq-cat href=(format!("/c/{}/request?category={id}", tenant.slug)) data-color=[color(&c.color)] {
                        span.rq-cat-icon { (icon(&c.icon)) }
                        span.rq-cat-name { (c.names.get(lang)) }
                        span.rq-cat-go aria-hidden="true" { "›" }
                    }
                }
            }
        },
    )
}

fn field_error<'a>(err: Option<&'a FormError>, name: &str) -> Option<&'a str> {
    err.and_then(|e| e.on(name))
}

/// One field of the category's form, with the input its kind wants.
fn form_field(lang: Lang, f: &FormField, typed: &Typed, err: Option<&FormError>) -> Markup {
    let name = format!("fields.{}", f.key);
    let id = format!("f-{}", f.key);
    let value = typed.fields.get(&f.key).map(String::as_str).unwrap_or("");
    let bad = field_error(err, &name);
    let label = f.labels.get(lang);
    html! {
        @if f.kind == FieldKind::Choice {
            fieldset.field.rq-choice.invalid[bad.is_some()] aria-invalid=[bad.map(|_| "true")] {
                legend { (label) @if f.required { " " span.req aria-hidden="true" { "*" } } }
                @if f.options.len() <= 6 {
                    div.rq-options {
                        @for o in &f.options {
                            label.rq-option {
                                input type="radio" name=(name) value=(o.key) checked[value == o.key] required[f.required];
                                span { (o.labels.get(lang)) }
                            }
                        }
                    }
                } @else {
                    select id=(id) name=(name) required[f.required] {
                        option value="" { (t(lang, "request_public.choose_option")) }
                        @for o in &f.options {
                            option value=(o.key) selected[value == o.key] { (o.labels.get(lang)) }
                        }
                    }
                }
                @if let Some(m) = bad { small.field-error { (m) } }
            }
        } @else {
            div.field.invalid[bad.is_some()] {
                label for=(id) { (label) @if f.required { " " span.req aria-hidden="true" { "*" } } }
                @match f.kind {
                    FieldKind::LongText => {
                        textarea id=(id) name=(name) rows="4" maxlength="5000" required[f.required] aria-invalid=[bad.map(|_| "true")] { (value) }
                    }
                    FieldKind::Number => {
                        input id=(id) type="text" name=(name) value=(value) inputmode="decimal" required[f.required] aria-invalid=[bad.map(|_| "true")];
                    }
                    FieldKind::Date => {
                        input id=(id) type="date" name=(name) value=(value) required[f.required] aria-invalid=[bad.map(|_| "true")];
                    }
                    FieldKind::Phone => {
                        input id=(id) type="tel" name=(name) value=(value) inputmode="tel" autocomplete="tel" placeholder="+998 90 123 45 67"
                            required[f.required] aria-invalid=[bad.map(|_| "true")];
                    }
                    FieldKind::File => {
                        input id=(id) type="file" name=(name) required[f.required && value.is_empty()] aria-invalid=[bad.map(|_| "true")];
                        @if !value.is_empty() {
                            input type="hidden" name=(format!("kept.{}", f.key)) value=(value);
                            small.hint { (t(lang, "request_public.file_kept")) }
                        }
                    }
                    _ => {
                        input id=(id) type="text" name=(name) value=(value) maxlength="500" required[f.required] aria-invalid=[bad.map(|_| "true")];
                    }
                }
                @if let Some(m) = bad { small.field-error { (m) } }
            }
        }
    }
}

fn form_view(tenant: &Tenant, page: &Page, id: u64, cat: &RequestCategoryV1, typed: &Typed, err: Option<&FormError>) -> Markup {
    let lang = page.lang;
    let title = cat.names.get(lang);
    let path = format!("{}?category={id}", page.path);
    let known: Vec<String> = ["subject", "text", "client.name", "client.phone", "client.email", "file_ids"]
        .into_iter()
        .map(String::from)
        .chain(cat.fields.iter().map(|f| format!("fields.{}", f.key)))
        .collect();
    // An error not about one of the inputs is said above the form.
    let general = err.filter(|e| e.field.is_none_or(|f| !known.iter().any(|k| k == f)));
    let action = format!("/c/{}/request?_csrf={}", tenant.slug, page.csrf);
    html! {
        (layout::render(shell(tenant, lang, &page.csrf, title, &path), html! {
            (assets_links())
            a.rq-back href=(format!("/c/{}/request", tenant.slug)) { "‹ " (t(lang, "request_public.other_category")) }
            section.rq-hero.rq-hero-form data-color=[color(&cat.color)] {
                span.rq-cat-icon { (icon(&cat.icon)) }
                h1 { (title) }
            }
            form.rq-form method="post" action=(action) enctype="multipart/form-data" data-rq-form {
                input type="hidden" name="category" value=(id);
                (form_alert(general))
                @if !cat.fields.is_empty() {
                    @for f in &cat.fields {
                        (form_field(lang, f, typed, err))
                    }
                }
                div.field.invalid[field_error(err, "subject").is_some()] {
                    label for="rq-subject" { (t(lang, "request_public.subject")) " " span.muted { (t(lang, "request_public.optional")) } }
                    input #rq-subject type="text" name="subject" value=(typed.subject) maxlength="200";
                    @if let Some(m) = field_error(err, "subject") { small.field-error { (m) } }
                }
                div.field.invalid[field_error(err, "text").is_some()] {
                    label for="rq-text" { (t(lang, "request_public.text")) }
                    textarea #rq-text name="text" rows="5" maxlength="5000" placeholder=(t(lang, "request_public.text_hint"))
                        aria-invalid=[field_error(err, "text").map(|_| "true")] { (typed.text) }
                    @if let Some(m) = field_error(err, "text") { small.field-error { (m) } }
                }
                div.field.invalid[field_error(err, "file_ids").is_some()] {
                    label for="rq-files" { (t(lang, "request_public.files")) " " span.muted { (t(lang, "request_public.optional")) } }
                    @for (r, name) in &typed.kept {
                        label.rq-kept {
                            input type="checkbox" name="kept" value=(format!("{r}/{name}")) checked;
                            span { (name) }
                        }
                    }
                    input #rq-files type="file" name="files" multiple;
                    small.hint { (tf(lang, "request_public.files_hint", &[("max", "10")])) }
                    @if let Some(m) = field_error(err, "file_ids") { small.field-error { (m) } }
                }
                h2.rq-sub { (t(lang, "request_public.contact")) }
                div.field.invalid[field_error(err, "client.name").is_some()] {
                    label for="rq-name" { (t(lang, "request_public.name")) " " span.req aria-hidden="true" { "*" } }
                    input #rq-name type="text" name="client.name" value=(typed.name) maxlength="100" autocomplete="name" required
                        aria-invalid=[field_error(err, "client.name").map(|_| "true")];
                    @if let Some(m) = field_error(err, "client.name") { small.field-error { (m) } }
                }
                div.field.invalid[field_error(err, "client.phone").is_some()] {
                    label for="rq-phone" { (t(lang, "request_public.phone")) }
                    input #rq-phone type="tel" name="client.phone" value=(typed.phone) inputmode="tel" autocomplete="tel" placeholder="+998 90 123 45 67"
                        aria-invalid=[field_error(err, "client.phone").map(|_| "true")] aria-describedby="rq-phone-hint";
                    small.hint #rq-phone-hint { (t(lang, "request_public.phone_hint")) }
                    @if let Some(m) = field_error(err, "client.phone") { small.field-error { (m) } }
                }
                div.field.invalid[field_error(err, "client.email").is_some()] {
                    label for="rq-email" { (t(lang, "request_public.email")) }
                    input #rq-email type="email" name="client.email" value=(typed.email) autocomplete="email" inputmode="email"
                        aria-invalid=[field_error(err, "client.email").map(|_| "true")];
                    @if let Some(m) = field_error(err, "client.email") { small.field-error { (m) } }
                }
                // A field people do not see; bots fill it.
                div.rq-hp aria-hidden="true" {
                    label for="rq-website" { "Website" }
                    input #rq-website type="text" name="website" value=(typed.website) tabindex="-1" autocomplete="off";
                }
                button.primary.wide.rq-submit type="submit" data-busy=(t(lang, "request_public.sending")) { (t(lang, "request_public.submit")) }
                p.muted.small { (t(lang, "request_public.privacy")) }
            }
        }))
    }
}

/// Reads the form's parts: the texts, and each chosen file stored as the client's.
async fn read_form(state: &AppState, tenant: &Tenant, mut form: Multipart) -> Result<(Typed, Vec<u64>, BTreeMap<String, u64>), AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text());
    let mut typed = Typed::default();
    let mut files = Vec::new();
    let mut field_files = BTreeMap::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some();
        if is_file {
            if field.file_name().is_none_or(str::is_empty) {
                continue;
            }
            if name == "files" {
                if files.len() >= crate::files::MAX_PER_MESSAGE {
                    return Err(AppError::invalid("file_ids", "files.too_many").with_arg("max", crate::files::MAX_PER_MESSAGE));
                }
                let meta = store_part(state, tenant, field).await?;
                if meta.size > 0 {
                    typed.kept.push((svc::file_ref(state, &tenant.slug, meta.id), meta.name.clone()));
                    files.push(meta.id);
                }
            } else if let Some(key) = name.strip_prefix("fields.") {
                let key = key.to_string();
                let meta = store_part(state, tenant, field).await?;
                if meta.size > 0 {
                    typed.fields.insert(key.clone(), svc::file_ref(state, &tenant.slug, meta.id));
                    field_files.insert(key, meta.id);
                }
            }
            continue;
        }
        let value = field.text().await.map_err(bad)?;
        match name.as_str() {
            "category" => typed.category = value.trim().parse().unwrap_or(0),
            "subject" => typed.subject = value,
            "text" => typed.text = value,
            "client.name" => typed.name = value,
            "client.phone" => typed.phone = value,
            "client.email" => typed.email = value,
            "website" => typed.website = value,
            "kept" => {
                // `{ref}/{name}`: the file this form uploaded before, and its name to show.
                let (r, shown) = value.trim().split_once('/').unwrap_or((value.trim(), ""));
                let id = svc::check_file_ref(state, &tenant.slug, r)?;
                if !files.contains(&id) && files.len() < crate::files::MAX_PER_MESSAGE {
                    typed.kept.push((r.to_string(), shown.to_string()));
                    files.push(id);
                }
            }
            n if n.starts_with("kept.") => {
                let key = n.trim_start_matches("kept.").to_string();
                if !typed.fields.contains_key(&key)
                    && let Ok(id) = svc::check_file_ref(state, &tenant.slug, value.trim())
                {
                    typed.fields.insert(key.clone(), value.trim().to_string());
                    field_files.insert(key, id);
                }
            }
            n if n.starts_with("fields.") => {
                typed.fields.insert(n.trim_start_matches("fields.").to_string(), value);
            }
            _ => {}
        }
    }
    Ok((typed, files, field_files))
}

/// `POST /c/{slug}/request`: files the request, then the status page.
async fn form_submit(
    State(state): State<AppState>,
    tenant: Tenant,
    page: Page,
    ClientIp(ip, limits): ClientIp,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page).into_response());
    }
    let lang = page.lang;
    let form = form.map_err(|e| AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text()))?;
    let cats = svc::public_categories(tenant.db()?)?;
    let mut typed = Typed::default();
    let result = async {
        limits.check_request(ip).map_err(|e| e.with_message("request_public.error.too_many"))?;
        // Every post may carry uploads, a refused one too: those are limited per address as well.
        limits.check_client_write(ip).map_err(|e| e.with_message("request_public.error.too_many"))?;
        let (t, files, field_files) = read_form(&state, &tenant, form).await?;
        typed = t;
        if !typed.website.trim().is_empty() {
            tracing::info!(company = %tenant.slug, "a request's honeypot was filled: nothing filed");
            limits.request_filed(ip);
            return Ok(None);
        }
        // A file field names only a file this form sent (or kept by its ref), never an id typed in.
        let file_keys: Vec<&str> = cats
            .iter()
            .find(|(id, _)| *id == typed.category)
            .map(|(_, c)| c.fields.iter().filter(|f| f.kind == FieldKind::File).map(|f| f.key.as_str()).collect())
            .unwrap_or_default();
        let mut fields = typed.fields.clone();
        fields.retain(|k, _| !file_keys.contains(&k.as_str()));
        for (k, id) in &field_files {
            fields.insert(k.clone(), id.to_string());
        }
        let input = NewRequest {
            category_id: typed.category,
            subject: typed.subject.clone(),
            text: typed.text.clone(),
            fields,
            file_ids: files,
            client: ClientInput {
                name: typed.name.clone(),
                phone: Some(typed.phone.clone()),
                email: Some(typed.email.clone()),
                lang: Some(lang),
                ..ClientInput::default()
            },
            channel: Some(crate::store::schema::RequestChannel::Web),
            priority: None,
        };
        let filed = svc::create(&state, &tenant, &Caller::Public, input).await?;
        limits.request_filed(ip);
        Ok::<_, AppError>(Some(filed))
    }
    .await;
    match result {
        Ok(Some(filed)) => Ok(Redirect::to(&filed.tracking_path).into_response()),
        // The honeypot: a page like a success, nothing filed.
        Ok(None) => Ok(Redirect::to(&format!("/c/{}/request?sent=1", tenant.slug)).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let err = FormError::new(lang, &e);
            let chosen = cats.iter().find(|(id, _)| *id == typed.category);
            match chosen {
                Some((id, c)) => Ok(form_again(form_view(&tenant, &page, *id, c, &typed, Some(&err)))),
                None if e.kind == ErrorKind::Validation => Ok(form_again(categories_view(&tenant, &page, &cats))),
                None => Err(e),
            }
        }
    }
}

// ---------- the status page ----------

fn resolve(state: &AppState, public: &str) -> Result<(Tenant, String), AppError> {
    let nf = || AppError::new(ErrorKind::NotFound).with_message("error.request_not_found");
    let (slug, token) = svc::split_public_token(public).ok_or_else(nf)?;
    let tenant = state.tenants.resolve(slug).map_err(|_| nf())?;
    if tenant.is_archived() {
        return Err(ErrorKind::CompanyArchived.into());
    }
    svc::by_token(tenant.db()?, token).map_err(|_| nf())?;
    Ok((tenant, token.to_string()))
}

/// The reader's language: the one they chose on this site, else the one they filed in.
fn reader_lang(headers: &HeaderMap, v: &PublicView) -> Lang {
    crate::web::cookies::get(headers, crate::web::cookies::LANG).and_then(|c| Lang::parse(&c)).unwrap_or(v.lang)
}

fn meaning_key(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::New => "request_public.meaning.new",
        RequestStatus::Assigned => "request_public.meaning.assigned",
        RequestStatus::InProgress => "request_public.meaning.in_progress",
        RequestStatus::PendingReview => "request_public.meaning.pending_review",
        RequestStatus::WaitingClient => "request_public.meaning.waiting_client",
        RequestStatus::Reopened => "request_public.meaning.reopened",
        RequestStatus::Done => "request_public.meaning.done",
        RequestStatus::Rejected => "request_public.meaning.rejected",
    }
}

/// The words of a status page's problem with a form (a reply, a rating).
#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusQuery {
    sent: String,
    rated: String,
}

/// `GET /r/{slug}-{token}`: the client's request, live.
async fn status_page(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    Path(public): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Markup, AppError> {
    let (tenant, token) = resolve(&state, &public)?;
    let v = svc::public_view(tenant.db()?, &token, state.now_ms())?;
    let lang = reader_lang(&headers, &v);
    let notice = if q.sent == "1" {
        Some(t(lang, "request_public.sent_reply"))
    } else if q.rated == "1" {
        Some(t(lang, "request_public.thanks_rating"))
    } else {
        None
    };
    Ok(status_view(&tenant, &page, lang, &public, &token, &v, notice, None, ""))
}

#[allow(clippy::too_many_arguments)]
fn status_view(
    tenant: &Tenant,
    page: &Page,
    lang: Lang,
    public: &str,
    token: &str,
    v: &PublicView,
    notice: Option<&str>,
    err: Option<&FormError>,
    typed: &str,
) -> Markup {
    let r = &v.request;
    let num = number(v.id);
    let title = tf(lang, "request_public.status_title", &[("number", &num)]);
    let path = format!("/r/{public}");
    let files_base = format!("/c/{}/api/v1/public/requests/{token}/files", tenant.slug);
    let events = format!("/c/{}/api/v1/public/requests/{token}/events", tenant.slug);
    let code = status_code(r.status);
    let mut sh = shell(tenant, lang, &page.csrf, &title, &path);
    sh.notice = notice;
    layout::render(
        sh,
        html! {
            (assets_links())
            div.rq-status data-rq-live=(events) {
                (form_alert(err.filter(|e| !matches!(e.field, Some("text" | "file_ids" | "rating")))))
                section.card.rq-head data-part="head" id="rq-head" {
                    p.rq-number { (num) }
                    @if let Some(c) = &v.category {
                        p.rq-cat-line { (c.names.get(lang)) }
                    }
                    p { span class=(format!("rq-badge rq-st-{code}")) data-status=(code) { (status_label(lang, r.status)) } }
                    p.rq-meaning { (t(lang, meaning_key(r.status))) }
                    @if let Some(reason) = r.reject_reason.as_ref().filter(|_| r.status == RequestStatus::Rejected) {
                        p.rq-reason { strong { (t(lang, "request_public.reason")) ": " } (reason) }
                    }
                    p.rq-live hidden data-live-note { span.rq-dot aria-hidden="true" {} (t(lang, "request_public.live")) }
                }
                @if v.may_rate {
                    section.card.rq-rate #rq-rate data-part="rate" {
                        h2 { (t(lang, "request_public.rate_title")) }
                        form method="post" action=(format!("/r/{public}/rate")) {
                            (layout::csrf_field(&page.csrf))
                            fieldset.rq-stars {
                                legend.visually-hidden { (t(lang, "request_public.rate_title")) }
                                @for n in 1..=5u8 {
                                    label.rq-star {
                                        input type="radio" name="rating" value=(n) required;
                                        span { (n) }
                                    }
                                }
                            }
                            p.muted.small { (t(lang, "request_public.rate_hint")) }
                            @if let Some(m) = field_error(err, "rating") { small.field-error { (m) } }
                            div.field {
                                label for="rq-comment" { (t(lang, "request_public.rate_comment")) " " span.muted { (t(lang, "request_public.optional")) } }
                                textarea #rq-comment name="comment" rows="2" maxlength="2000" {}
                            }
                            button.primary.wide type="submit" { (t(lang, "request_public.rate_submit")) }
                        }
                    }
                } @else if let Some(n) = r.rating {
                    section.card.rq-rated #rq-rate data-part="rate" {
                        p { (tf(lang, "request_public.rated", &[("rating", &n.to_string())])) }
                    }
                } @else {
                    div #rq-rate data-part="rate" {}
                }
                section.card.rq-thread #rq-thread data-part="thread" {
                    h2 { (t(lang, "request_public.conversation")) }
                    @if v.messages.is_empty() {
                        p.muted { (t(lang, "request_public.no_messages")) }
                    }
                    ol.rq-messages {
                        @for m in &v.messages {
                            li.rq-msg.mine[m.mine] data-message=(m.id) {
                                p.rq-msg-head {
                                    strong { @if m.mine { (t(lang, "request_public.you")) } @else { (m.author_name) } }
                                    " · "
                                    time { (when(m.created_at_ms, tenant)) }
                                }
                                @if !m.text.is_empty() {
                                    p.rq-msg-text { (m.text) }
                                }
                                @if !m.files.is_empty() {
                                    ul.rq-files {
                                        @for f in &m.files {
                                            li {
                                                @let href = format!("{files_base}/{}", f.id);
                                                @if f.mime.starts_with("image/") {
                                                    a href=(href) target="_blank" rel="noopener" {
                                                        img.rq-thumb src=(href) alt=(f.name) loading="lazy";
                                                    }
                                                } @else {
                                                    a.rq-file href=(href) target="_blank" rel="noopener" {
                                                        (f.name) " " span.muted { "(" (crate::files::human_size(f.size)) ")" }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if v.may_write {
                    section.card.rq-write #rq-write data-part="write" data-keep {
                        h2 { (t(lang, "request_public.write")) }
                        @if r.status == RequestStatus::Done {
                            p.muted.small { (t(lang, "request_public.write_reopens")) }
                        }
                        form method="post" action=(format!("/r/{public}/reply?_csrf={}", page.csrf)) enctype="multipart/form-data" {
                            div.field.invalid[field_error(err, "text").is_some()] {
                                label.visually-hidden for="rq-reply" { (t(lang, "request_public.write")) }
                                textarea #rq-reply name="text" rows="3" maxlength="4000" placeholder=(t(lang, "request_public.write_hint"))
                                    aria-invalid=[field_error(err, "text").map(|_| "true")] { (typed) }
                                @if let Some(m) = field_error(err, "text") { small.field-error { (m) } }
                            }
                            div.field.invalid[field_error(err, "file_ids").is_some()] {
                                label for="rq-reply-files" { (t(lang, "request_public.attach")) }
                                input #rq-reply-files type="file" name="files" multiple;
                                @if let Some(m) = field_error(err, "file_ids") { small.field-error { (m) } }
                            }
                            button.primary.wide type="submit" data-busy=(t(lang, "request_public.sending")) { (t(lang, "request_public.send")) }
                        }
                    }
                } @else {
                    section.card.rq-closed #rq-write data-part="write" {
                        p.muted { (t(lang, "request_public.closed")) }
                        a.button href=(format!("/c/{}/request", tenant.slug)) { (t(lang, "request_public.new_request")) }
                    }
                }
                section.card.rq-details {
                    h2 { (t(lang, "request_public.details")) }
                    dl.rq-answers {
                        div { dt { (t(lang, "request_public.subject")) } dd { (r.subject) } }
                        div { dt { (t(lang, "request_public.filed_at")) } dd { (when(r.created_at, tenant)) } }
                        @for f in &r.fields {
                            div {
                                dt { (f.labels.get(lang)) }
                                dd {
                                    @if f.kind == FieldKind::File {
                                        a href=(format!("{files_base}/{}", f.value)) target="_blank" rel="noopener" { (t(lang, "request_public.open_file")) }
                                    } @else {
                                        (svc::shown_value(f, lang))
                                    }
                                }
                            }
                        }
                    }
                }
                section.card.rq-updates #rq-updates data-part="updates" {
                    h2 { (t(lang, "request_public.updates")) }
                    ol.rq-notices {
                        @for n in v.notices.iter().rev() {
                            li {
                                time { (when(n.at, tenant)) }
                                p { (notice_text(&n.text, &path, &num)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A notice as the status page shows it: the link to this very page (the
/// templates' `{link}`, with or without the site's address) becomes a short
/// link named by the request's number instead of a long address.
fn notice_text(text: &str, path: &str, num: &str) -> Markup {
    let Some(at) = text.find(path) else { return html! { (text) } };
    let head = text.get(..at).unwrap_or("");
    let start = head.char_indices().rev().find(|(_, c)| c.is_whitespace()).map(|(i, c)| i + c.len_utf8()).unwrap_or(0);
    let end = at + path.len();
    let (before, after) = (text.get(..start).unwrap_or(""), text.get(end..).unwrap_or(""));
    html! { (before) a href=(path) { (num) } (after) }
}

/// Takes a reply's parts: its text and files (stored as the client's).
async fn read_reply(state: &AppState, tenant: &Tenant, mut form: Multipart) -> Result<(String, Vec<u64>), AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text());
    let mut text = String::new();
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.file_name().is_some() {
            if field.file_name().is_none_or(str::is_empty) || field.name() != Some("files") {
                continue;
            }
            if files.len() >= crate::files::MAX_PER_MESSAGE {
                return Err(AppError::invalid("file_ids", "files.too_many").with_arg("max", crate::files::MAX_PER_MESSAGE));
            }
            let meta = store_part(state, tenant, field).await?;
            if meta.size > 0 {
                files.push(meta.id);
            }
        } else if field.name() == Some("text") {
            text = field.text().await.map_err(bad)?;
        }
    }
    Ok((text, files))
}

/// `POST /r/{slug}-{token}/reply`: the client writes back.
async fn reply_submit(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    ClientIp(ip, limits): ClientIp,
    Path(public): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let (tenant, token) = resolve(&state, &public)?;
    let form = form.map_err(|e| AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text()))?;
    let mut typed = String::new();
    let result = async {
        limits.check_client_write(ip).map_err(|e| e.with_message("request_public.error.too_many"))?;
        let (text, files) = read_reply(&state, &tenant, form).await?;
        typed = text.clone();
        svc::client_reply(&state, &tenant, &token, &text, files).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/r/{public}?sent=1#rq-thread")).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let v = svc::public_view(tenant.db()?, &token, state.now_ms())?;
            let lang = reader_lang(&headers, &v);
            let err = FormError::new(lang, &e);
            Ok(form_again(status_view(&tenant, &page, lang, &public, &token, &v, None, Some(&err), &typed)))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RateForm {
    rating: String,
    comment: String,
}

/// `POST /r/{slug}-{token}/rate`: 1–5 with a comment, once.
async fn rate_submit(
    State(state): State<AppState>,
    page: Page,
    headers: HeaderMap,
    ClientIp(ip, limits): ClientIp,
    Path(public): Path<String>,
    axum::Form(f): axum::Form<RateForm>,
) -> Result<Response, AppError> {
    let (tenant, token) = resolve(&state, &public)?;
    let result = async {
        limits.check_client_write(ip).map_err(|e| e.with_message("request_public.error.too_many"))?;
        let rating: u8 = f.rating.trim().parse().map_err(|_| AppError::invalid("rating", "validation.rating"))?;
        let comment = Some(f.comment.as_str()).filter(|c| !c.trim().is_empty());
        svc::rate(&state, &tenant, &token, rating, comment).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/r/{public}?rated=1")).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let v = svc::public_view(tenant.db()?, &token, state.now_ms())?;
            let lang = reader_lang(&headers, &v);
            let err = FormError::new(lang, &e);
            Ok(form_again(status_view(&tenant, &page, lang, &public, &token, &v, None, Some(&err), "")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::STATUSES;

    /// Keys chosen at run time (not seen by the i18n scanner) exist too.
    #[test]
    fn a_notice_links_this_page_by_its_number() {
        let path = "/r/demo-0123456789abcdef0123456789abcdef";
        let shown = notice_text(&format!("Follow it here: https://bank.uz{path}"), path, "R-000007").into_string();
        assert_eq!(shown, format!("Follow it here: <a href=\"{path}\">R-000007</a>"));
        let shown = notice_text(&format!("See {path}."), path, "R-000007").into_string();
        assert_eq!(shown, format!("See <a href=\"{path}\">R-000007</a>."));
        assert_eq!(notice_text("Done, thank you!", path, "R-000007").into_string(), "Done, thank you!");
    }

    #[test]
    fn every_status_has_a_meaning() {
        for lang in Lang::ALL {
            for s in STATUSES {
                assert_ne!(t(lang, meaning_key(s)), meaning_key(s), "{}", lang.code());
            }
        }
    }
}
