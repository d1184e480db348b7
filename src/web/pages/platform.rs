//! Platform pages: the public portal that lists open companies, and the
//! platform console where platform admins see the platform's figures,
//! create, edit, open, close, archive and delete companies, manage the
//! platform admins and look at the instance's health.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::store::schema::CompanyStatus;
use crate::tenancy::Tenant;
use crate::tenancy::console;
use crate::tenancy::service::{self, CompanyPatch, Contacts, DEFAULT_TIMEZONE, NewCompany};
use crate::web::errors::form_again;
use crate::web::extract::{Page, PlatformAdmin};
use crate::web::layout::{self, FormError, Input, NavItem, Shell, SignedIn, csrf_field, form_alert, post_button, select};
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(portal))
        .route("/c/{slug}", get(company_root))
        .route("/admin", get(console))
        .route("/admin/companies/new", get(new_company_page).post(new_company_submit))
        .route("/admin/companies/{slug}", get(edit_company_page).post(edit_company_submit))
        .route("/admin/companies/{slug}/activate", post(activate))
        .route("/admin/companies/{slug}/deactivate", post(deactivate))
        .route("/admin/companies/{slug}/archive", post(archive))
        .route("/admin/companies/{slug}/restore", post(restore))
        .route("/admin/companies/{slug}/delete", post(delete))
        .route("/admin/companies/{slug}/logo", post(logo_upload))
        .route("/admin/companies/{slug}/logo/remove", post(logo_remove))
        .route("/admin/admins", get(admins_page).post(admin_add))
        .route("/admin/admins/password", post(admin_password))
        .route("/admin/admins/{id}/remove", post(admin_remove))
        .route("/admin/system", get(system_page))
}

// ---------- portal ----------

/// `GET /`: the companies that are open, each a link to its public page
/// (`/c/{slug}/visit`: branches, a ticket now, booking a visit).
async fn portal(State(state): State<AppState>, page: Page) -> Markup {
    let lang = page.lang;
    let mut open: Vec<Tenant> = state.tenants.all().into_iter().filter(|t| t.is_active()).collect();
    open.sort_by_key(|t| t.info().name.to_lowercase());
    let shell = Shell {
        lang,
        title: t(lang, "portal.title"),
        tenant: None,
        csrf: &page.csrf,
        signed_in: None,
        nav: vec![],
        path: &page.path,
        notice: None,
    };
    layout::render(
        shell,
        html! {
            section.hero.center {
                h1 { (t(lang, "portal.heading")) }
                p.lead { (t(lang, "portal.lead")) }
            }
            @if open.is_empty() {
                p.empty { (t(lang, "portal.empty")) }
            } @else {
                ul.company-list {
                    @for c in &open {
                        li {
                            a.company-link href=(format!("/c/{}/visit", c.slug)) {
                                span.company-name { (c.info().name) }
                                span.arrow aria-hidden="true" { "→" }
                            }
                        }
                    }
                }
            }
            p.muted.small.center { a href="/admin" { (t(lang, "portal.platform_link")) } }
        },
    )
}

/// `GET /c/<slug>`: the company's home is `/c/<slug>/`.
async fn company_root(Path(slug): Path<String>) -> Redirect {
    let slug: String = form_urlencoded::byte_serialize(slug.as_bytes()).collect();
    Redirect::permanent(&format!("/c/{slug}/"))
}

// ---------- console ----------

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Companies,
    Admins,
    System,
}

fn shell<'a>(page: &'a Page, admin: &'a PlatformAdmin, title: &'a str, notice: Option<&'a str>) -> Shell<'a> {
    shell_at(page, admin, title, notice, Section::Companies)
}

fn shell_at<'a>(page: &'a Page, admin: &'a PlatformAdmin, title: &'a str, notice: Option<&'a str>, at: Section) -> Shell<'a> {
    let item = |href: &str, label: &'static str, s: Section| NavItem { href: href.into(), label, active: at == s, badge: None };
    Shell {
        lang: page.lang,
        title,
        tenant: None,
        csrf: &page.csrf,
        signed_in: Some(SignedIn { name: &admin.account.username, profile_href: None, logout_action: "/admin/logout".into() }),
        nav: vec![
            item("/admin", "platform.nav.companies", Section::Companies),
            item("/admin/admins", "console.nav.admins", Section::Admins),
            item("/admin/system", "console.nav.system", Section::System),
        ],
        path: &page.path,
        notice,
    }
}

fn status_badge(lang: Lang, status: CompanyStatus) -> Markup {
    match status {
        CompanyStatus::Active => html! { span.badge.ok { (t(lang, "platform.status.active")) } },
        CompanyStatus::Inactive => html! { span.badge.off { (t(lang, "platform.status.inactive")) } },
        CompanyStatus::Archived => html! { span.badge.warn { (t(lang, "console.status.archived")) } },
    }
}

pub(crate) fn lang_options() -> Vec<(String, String)> {
    Lang::ALL.iter().map(|l| (l.code().to_string(), l.native_name().to_string())).collect()
}

/// Bytes as people read them: `812 KB`, `3.4 MB`, `1.2 GB`.
fn bytes(lang: Lang, n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    let (v, unit) = if f < K * K {
        ((f / K).ceil(), "console.unit.kb")
    } else if f < K * K * K {
        (f / (K * K), "console.unit.mb")
    } else {
        (f / (K * K * K), "console.unit.gb")
    };
    let num = if v >= 100.0 || unit == "console.unit.kb" { format!("{v:.0}") } else { format!("{v:.1}") };
    let num = if lang == Lang::En { num } else { num.replace('.', ",") };
    tf(lang, unit, &[("n", &num)])
}

fn count(n: Option<u64>) -> String {
    n.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
    slug: Option<String>,
    name: Option<String>,
}

fn done_notice(state: &AppState, lang: Lang, q: &DoneQuery) -> Option<String> {
    let slug = q.slug.as_deref().unwrap_or("");
    // The company as people know it; the address only if it is gone.
    let name = state.tenants.get(slug).map(|t| t.info().name).unwrap_or_else(|| q.name.clone().unwrap_or_else(|| slug.to_string()));
    let key = match q.done.as_deref()? {
        "created" => "platform.notice.created",
        "saved" => "platform.notice.saved",
        "activated" => "platform.notice.activated",
        "deactivated" => "platform.notice.deactivated",
        "archived" => "console.notice.archived",
        "restored" => "console.notice.restored",
        "deleted" => "console.notice.deleted",
        "logo" => "console.notice.logo",
        "logo_removed" => "console.notice.logo_removed",
        "admin_added" => "console.notice.admin_added",
        "admin_password" => "console.notice.admin_password",
        "admin_removed" => "console.notice.admin_removed",
        _ => return None,
    };
    Some(tf(lang, key, &[("name", &name)]))
}

/// `GET /admin`: the platform's figures and every company on this box.
async fn console(State(state): State<AppState>, admin: PlatformAdmin, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let o = console::overview(&state, &Caller::from(&admin)).await?;
    let notice = done_notice(&state, lang, &q);
    let title = t(lang, "platform.companies.title");
    let figure = |label: &str, value: String, sub: Option<String>| {
        html! {
            div.stat-card {
                span.stat-label { (label) }
                span.stat-value { (value) }
                @if let Some(s) = sub { span.stat-sub { (s) } }
            }
        }
    };
    let body = html! {
        div.page-head {
            h1 { (title) }
            a.button.primary href="/admin/companies/new" { (t(lang, "platform.companies.new")) }
        }
        section aria-label=(t(lang, "console.figures.title")) {
            div.stat-cards data-figures="" {
                (figure(t(lang, "console.figures.companies"), (o.companies_active + o.companies_inactive + o.companies_archived).to_string(),
                    Some(tf(lang, "console.figures.companies_sub", &[
                        ("active", &o.companies_active.to_string()),
                        ("inactive", &o.companies_inactive.to_string()),
                        ("archived", &o.companies_archived.to_string()),
                    ]))))
                (figure(t(lang, "console.figures.users"), o.users.to_string(), None))
                (figure(t(lang, "console.figures.tickets_today"), o.tickets_today.to_string(), None))
                (figure(t(lang, "console.figures.tasks_today"), o.tasks_today.to_string(), None))
            }
        }
        @if o.companies.is_empty() {
            p.empty { (t(lang, "platform.companies.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack {
                    thead {
                        tr {
                            th { (t(lang, "platform.field.name")) }
                            th { (t(lang, "platform.field.status")) }
                            th.num { (t(lang, "console.field.users")) }
                            th.num { (t(lang, "console.field.tickets_today")) }
                            th.num { (t(lang, "console.field.tasks_today")) }
                            th.num { (t(lang, "console.field.storage")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for c in &o.companies {
                            @let info = state.tenants.get(&c.slug).map(|t| t.info());
                            @let status = info.as_ref().map(|i| i.status).unwrap_or(CompanyStatus::Inactive);
                            @let timezone = info.map(|i| i.timezone).unwrap_or_default();
                            tr data-company=(c.slug) {
                                td data-label=(t(lang, "platform.field.name")) {
                                    a href=(format!("/admin/companies/{}", c.slug)) { strong { (c.name) } }
                                    br;
                                    span.muted.small { span.mono { "/c/" (c.slug) "/" } " · " (timezone) }
                                }
                                td data-label=(t(lang, "platform.field.status")) { (status_badge(lang, status)) }
                                td.num data-label=(t(lang, "console.field.users")) { (count(c.users)) }
                                td.num data-label=(t(lang, "console.field.tickets_today")) { (count(c.tickets_today)) }
                                td.num data-label=(t(lang, "console.field.tasks_today")) { (count(c.tasks_today)) }
                                td.num.nowrap data-label=(t(lang, "console.field.storage")) {
                                    span {
                                        span title=(t(lang, "console.field.database")) { (bytes(lang, c.database_bytes)) }
                                        @if let Some(f) = c.files_bytes {
                                            " + " span title=(t(lang, "console.field.files")) { (bytes(lang, f)) }
                                        }
                                    }
                                }
                                td.actions {
                                    div.action-stack {
                                        a.button.small href=(format!("/admin/companies/{}", c.slug)) { (t(lang, "admin.common.edit")) }
                                        (status_button(lang, &page.csrf, &c.slug, status, &c.name))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted.small { (t(lang, "console.figures.note")) }
        }
    };
    Ok(layout::render(shell(&page, &admin, title, notice.as_deref()), body))
}

fn status_button(lang: Lang, csrf: &str, slug: &str, status: CompanyStatus, name: &str) -> Markup {
    match status {
        CompanyStatus::Active => {
            let confirm = tf(lang, "platform.companies.confirm_deactivate", &[("name", name)]);
            post_button(
                &format!("/admin/companies/{slug}/deactivate"),
                csrf,
                t(lang, "platform.companies.deactivate"),
                "small danger",
                Some(&confirm),
            )
        }
        CompanyStatus::Inactive => {
            post_button(&format!("/admin/companies/{slug}/activate"), csrf, t(lang, "platform.companies.activate"), "small primary", None)
        }
        CompanyStatus::Archived => {
            post_button(&format!("/admin/companies/{slug}/restore"), csrf, t(lang, "console.archive.restore"), "small primary", None)
        }
    }
}

// ---------- create ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewCompanyForm {
    name: String,
    slug: String,
    timezone: String,
    language: String,
    admin_username: String,
    admin_full_name: String,
    admin_password: String,
    admin_role: String,
    contact_person: String,
    phone: String,
    email: String,
    address: String,
}

/// The time zone as a list of the common ones (Asia/Tashkent first); a
/// zone already chosen that is not among them stays at the top.
fn timezone_select(lang: Lang, current: &str, err: Option<&FormError>) -> Markup {
    let mut options: Vec<(String, String)> = Vec::new();
    if !current.is_empty() && !service::COMMON_TIMEZONES.contains(&current) {
        options.push((current.to_string(), current.to_string()));
    }
    options.extend(service::COMMON_TIMEZONES.iter().map(|z| (z.to_string(), z.to_string())));
    select(t(lang, "platform.field.timezone"), "timezone", &options, current, err)
}

pub(crate) fn timezones_datalist() -> Markup {
    html! {
        datalist id="timezones" {
            @for tz in jiff::tz::db().available() {
                option value=(tz.as_str()) {}
            }
        }
    }
}

/// The contact fields, on the new company's form and its settings.
fn contact_fields(lang: Lang, person: &str, phone: &str, email: &str, address: &str, err: Option<&FormError>) -> Markup {
    html! {
        (Input::new(t(lang, "console.field.contact_person"), "contact_person").value(person).maxlength(120).autocomplete("off").error(err))
        (Input::new(t(lang, "console.field.phone"), "phone").kind("tel").value(phone).maxlength(32).inputmode("tel")
            .hint(t(lang, "console.field.phone_hint")).error(err))
        (Input::new(t(lang, "console.field.email"), "email").kind("email").value(email).maxlength(120).autocomplete("off").error(err))
        (Input::new(t(lang, "console.field.address"), "address").value(address).maxlength(200).autocomplete("off").error(err))
    }
}

fn logo_input(lang: Lang, required: bool) -> Markup {
    html! {
        div.field {
            label for="f-logo" { (t(lang, "console.field.logo")) }
            input id="f-logo" type="file" name="logo" accept="image/png,image/jpeg,image/webp,image/gif" required[required] data-logo-input="";
            small.hint { (tf(lang, "console.field.logo_hint", &[("kb", &(crate::org::branding::MAX_LOGO_BYTES / 1024).to_string())])) }
        }
    }
}

fn new_company_form(page: &Page, admin: &PlatformAdmin, f: &NewCompanyForm, err: Option<&FormError>) -> Markup {
    let lang = page.lang;
    let title = t(lang, "platform.new.title");
    let tz = if f.timezone.is_empty() { DEFAULT_TIMEZONE } else { f.timezone.as_str() };
    let language = if f.language.is_empty() { "uz" } else { f.language.as_str() };
    let action = format!("/admin/companies/new?_csrf={}", page.csrf);
    let body = html! {
        p.back { a href="/admin" { "← " (t(lang, "platform.companies.title")) } }
        section.card.form-card {
            h1 { (title) }
            p.muted { (t(lang, "platform.new.lead")) }
            (form_alert(err))
            form method="post" action=(action) enctype="multipart/form-data" {
                (csrf_field(&page.csrf))
                fieldset {
                    legend { (t(lang, "platform.new.company")) }
                    (Input::new(t(lang, "platform.field.name"), "name").value(&f.name).required().maxlength(120).error(err))
                    (Input::new(t(lang, "platform.field.slug"), "slug").value(&f.slug).required().maxlength(32)
                        .pattern("[a-z0-9][a-z0-9\\-]{1,30}[a-z0-9]").hint(t(lang, "platform.new.slug_hint")).error(err))
                    (timezone_select(lang, tz, err))
                    (select(t(lang, "platform.field.language"), "language", &lang_options(), language, err))
                    (logo_input(lang, false))
                }
                fieldset {
                    legend { (t(lang, "console.new.contacts")) }
                    (contact_fields(lang, &f.contact_person, &f.phone, &f.email, &f.address, err))
                }
                fieldset {
                    legend { (t(lang, "platform.new.first_admin")) }
                    (Input::new(t(lang, "platform.field.admin_full_name"), "admin_full_name").value(&f.admin_full_name).required()
                        .maxlength(120).autocomplete("off").error(err))
                    (Input::new(t(lang, "platform.field.admin_username"), "admin_username").value(&f.admin_username).required()
                        .maxlength(32).autocomplete("off").hint(t(lang, "admin.users.username_hint")).error(err))
                    (Input::new(t(lang, "platform.field.admin_password"), "admin_password").kind("password").autocomplete("new-password")
                        .hint(t(lang, "platform.new.password_hint")).error(err))
                    (select(t(lang, "platform.field.admin_role"), "admin_role", &[
                        ("admin".to_string(), t(lang, "role.admin").to_string()),
                        ("owner".to_string(), t(lang, "role.owner").to_string()),
                    ], if f.admin_role.is_empty() { "admin" } else { f.admin_role.as_str() }, err))
                    p.muted.small { (t(lang, "platform.new.role_hint")) }
                }
                div.form-actions {
                    button.primary type="submit" { (t(lang, "platform.new.submit")) }
                    a.button href="/admin" { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    layout::render(shell(page, admin, title, None), body)
}

async fn new_company_page(admin: PlatformAdmin, page: Page) -> Markup {
    let page = page.with_lang(admin.lang);
    new_company_form(&page, &admin, &NewCompanyForm::default(), None)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    let kind = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { ErrorKind::PayloadTooLarge } else { ErrorKind::BadRequest };
    AppError::new(kind).with_arg("detail", e.body_text())
}

/// A multipart form's text fields, and the file under `logo` (empty when none was chosen).
async fn read_multipart(mut form: Multipart) -> Result<(std::collections::HashMap<String, String>, Vec<u8>), AppError> {
    let mut fields = std::collections::HashMap::new();
    let mut logo = Vec::new();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "logo" {
            logo = field.bytes().await.map_err(multipart_error)?.to_vec();
        } else {
            let v = field.text().await.map_err(multipart_error)?;
            fields.insert(name, v);
        }
    }
    Ok((fields, logo))
}

/// The new company's form: multipart (with a logo) from the console's page,
/// or URL-encoded (without one) from a plain client.
async fn read_new_company(state: &AppState, req: axum::extract::Request) -> Result<(NewCompanyForm, Vec<u8>), AppError> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(f) = Form::<NewCompanyForm>::from_request(req, state).await.map_err(|_| AppError::new(ErrorKind::BadRequest))?;
        return Ok((f, Vec::new()));
    }
    let form = Multipart::from_request(req, state).await.map_err(|_| AppError::new(ErrorKind::BadRequest))?;
    let (mut m, logo) = read_multipart(form).await?;
    let mut take = |k: &str| m.remove(k).unwrap_or_default();
    let f = NewCompanyForm {
        name: take("name"),
        slug: take("slug"),
        timezone: take("timezone"),
        language: take("language"),
        admin_username: take("admin_username"),
        admin_full_name: take("admin_full_name"),
        admin_password: take("admin_password"),
        admin_role: take("admin_role"),
        contact_person: take("contact_person"),
        phone: take("phone"),
        email: take("email"),
        address: take("address"),
    };
    Ok((f, logo))
}

async fn new_company_submit(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let (f, logo) = read_new_company(&state, req).await?;
    // The logo is checked before the company is made, so a bad file leaves nothing behind.
    if !logo.is_empty() {
        let refused = if logo.len() > crate::org::branding::MAX_LOGO_BYTES {
            Some(
                AppError::new(ErrorKind::PayloadTooLarge)
                    .with_message("validation.logo_size")
                    .with_arg("kb", crate::org::branding::MAX_LOGO_BYTES / 1024),
            )
        } else if crate::org::branding::sniff_image(&logo).is_none() {
            Some(AppError::new(ErrorKind::UnsupportedMediaType).with_message("validation.logo_type"))
        } else {
            None
        };
        if let Some(e) = refused {
            let err = FormError { message: FormError::new(lang, &e).message, field: Some("logo") };
            return Ok(form_again(new_company_form(&page, &admin, &f, Some(&err))));
        }
    }
    let input = NewCompany {
        name: f.name.clone(),
        slug: f.slug.trim().to_string(),
        timezone: Some(f.timezone.clone()).filter(|s| !s.trim().is_empty()),
        language: Some(f.language.clone()).filter(|s| !s.is_empty()),
        admin_username: f.admin_username.clone(),
        admin_full_name: Some(f.admin_full_name.clone()),
        admin_password: Some(f.admin_password.clone()).filter(|s| !s.is_empty()),
        admin_role: Some(f.admin_role.clone()).filter(|s| !s.is_empty()),
        contacts: Contacts {
            contact_person: Some(f.contact_person.clone()),
            phone: Some(f.phone.clone()),
            email: Some(f.email.clone()),
            address: Some(f.address.clone()),
        },
    };
    let caller = Caller::from(&admin);
    match service::create_company(&state, &caller, input).await {
        Ok(c) => {
            if !logo.is_empty() {
                service::set_company_logo(&state, &caller, &c.tenant.slug, Some(logo)).await?;
            }
            match c.generated_password {
                None => Ok(Redirect::to(&format!("/admin?done=created&slug={}", c.tenant.slug)).into_response()),
                Some(pw) => {
                    let title = t(lang, "platform.created.title");
                    let slug = c.tenant.slug.clone();
                    let body = html! {
                        section.card.form-card {
                            h1 { (title) }
                            p { (tf(lang, "platform.created.lead", &[("name", &c.tenant.info().name), ("slug", &slug)])) }
                            (layout::secret_box(lang, &c.admin_username, &pw))
                            p.muted { (t(lang, "platform.created.inactive")) }
                            div.form-actions {
                                a.button.primary href="/admin" { (t(lang, "platform.created.back")) }
                                a.button href=(format!("/c/{slug}/login")) { (t(lang, "platform.created.open_login")) }
                            }
                        }
                    };
                    Ok(layout::render(shell(&page, &admin, title, None), body).into_response())
                }
            }
        }
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            // The first admin's fields are named for the form, not the service.
            let err = FormError::new(lang, &e).moved("username", "admin_username").moved("password", "admin_password");
            Ok(form_again(new_company_form(&page, &admin, &f, Some(&err))))
        }
    }
}

// ---------- edit ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct EditCompanyForm {
    name: String,
    timezone: String,
    language: String,
    contact_person: String,
    phone: String,
    email: String,
    address: String,
}

#[derive(Default)]
struct EditErrors<'a> {
    form: Option<&'a FormError>,
    logo: Option<&'a FormError>,
    delete: Option<&'a FormError>,
}

fn edit_company_form(page: &Page, admin: &PlatformAdmin, tenant: &Tenant, f: &EditCompanyForm, errs: EditErrors<'_>) -> Markup {
    let lang = page.lang;
    let info = tenant.info();
    let title = t(lang, "platform.edit.title");
    let action = format!("/admin/companies/{}", tenant.slug);
    let archived = info.status == CompanyStatus::Archived;
    let logo_url = (!archived && crate::org::branding::has_logo(tenant))
        .then(|| format!("/c/{}/logo?v={}", tenant.slug, crate::org::branding::version(tenant)));
    let err = errs.form;
    let body = html! {
        p.back { a href="/admin" { "← " (t(lang, "platform.companies.title")) } }
        section.card.form-card {
            div.page-head {
                h1 { (info.name) }
                (status_badge(lang, info.status))
            }
            dl.facts {
                dt { (t(lang, "platform.field.slug")) }
                dd { a.mono href=(format!("/c/{}/", tenant.slug)) { (format!("/c/{}/", tenant.slug)) } }
                dt { (t(lang, "platform.field.created")) }
                dd { (layout::local_time(info.created_at, &tenant.timezone())) }
            }
            @if archived {
                p.muted { (t(lang, "console.archive.archived_text")) }
            } @else {
                h2 { (title) }
                (form_alert(err))
                form method="post" action=(action) {
                    (csrf_field(&page.csrf))
                    (Input::new(t(lang, "platform.field.name"), "name").value(&f.name).required().maxlength(120).error(err))
                    (timezone_select(lang, &f.timezone, err))
                    (select(t(lang, "platform.field.language"), "language", &lang_options(), &f.language, err))
                    fieldset {
                        legend { (t(lang, "console.new.contacts")) }
                        (contact_fields(lang, &f.contact_person, &f.phone, &f.email, &f.address, err))
                    }
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "admin.common.save")) }
                        a.button href="/admin" { (t(lang, "admin.common.cancel")) }
                    }
                }
            }
        }
        @if !archived {
            section.card.form-card {
                h2 { (t(lang, "console.field.logo")) }
                (form_alert(errs.logo))
                div.logo-preview {
                    @if let Some(src) = &logo_url {
                        img src=(src) alt=(info.name) data-logo-preview="";
                    } @else {
                        img src="data:," alt="" hidden data-logo-preview="";
                        span.muted data-logo-empty="" { (t(lang, "admin.branding.no_logo")) }
                    }
                }
                form method="post" action=(format!("/admin/companies/{}/logo?_csrf={}", tenant.slug, page.csrf)) enctype="multipart/form-data" {
                    (logo_input(lang, true))
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "admin.branding.upload")) }
                    }
                }
                @if logo_url.is_some() {
                    (post_button(&format!("/admin/companies/{}/logo/remove", tenant.slug), &page.csrf, t(lang, "admin.branding.remove"), "danger",
                        Some(t(lang, "admin.branding.remove_confirm"))))
                }
            }
            section.card.form-card {
                h2 { (t(lang, "platform.edit.status_title")) }
                p.muted {
                    @match info.status {
                        CompanyStatus::Active => { (t(lang, "platform.edit.active_text")) }
                        _ => { (t(lang, "platform.edit.inactive_text")) }
                    }
                }
                (status_button(lang, &page.csrf, &tenant.slug, info.status, &info.name))
            }
        }
        section.card.form-card.danger-zone {
            h2 { (t(lang, "console.archive.title")) }
            @if archived {
                p.muted { (t(lang, "console.archive.restore_text")) }
                (post_button(&format!("/admin/companies/{}/restore", tenant.slug), &page.csrf, t(lang, "console.archive.restore"), "primary", None))
            } @else {
                p.muted { (t(lang, "console.archive.text")) }
                (post_button(&format!("/admin/companies/{}/archive", tenant.slug), &page.csrf, t(lang, "console.archive.button"), "danger",
                    Some(&tf(lang, "console.archive.confirm", &[("name", &info.name)]))))
            }
        }
        section.card.form-card.danger-zone {
            h2 { (t(lang, "console.delete.title")) }
            p.muted { (t(lang, "console.delete.text")) }
            (form_alert(errs.delete))
            form method="post" action=(format!("/admin/companies/{}/delete", tenant.slug)) {
                (csrf_field(&page.csrf))
                (Input::new(&tf(lang, "console.delete.confirm_label", &[("slug", &tenant.slug)]), "confirm").required().maxlength(32)
                    .autocomplete("off").error(errs.delete))
                div.form-actions {
                    button.danger type="submit" { (t(lang, "console.delete.button")) }
                }
            }
        }
    };
    layout::render(shell(page, admin, title, None), body)
}

fn edit_form_of(tenant: &Tenant) -> EditCompanyForm {
    let info = tenant.info();
    EditCompanyForm {
        name: info.name,
        timezone: info.timezone,
        language: info.language,
        contact_person: info.contact_person,
        phone: info.phone,
        email: info.email,
        address: info.address,
    }
}

async fn edit_company_page(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Path(slug): Path<String>,
) -> Result<Markup, AppError> {
    let page = page.with_lang(admin.lang);
    let tenant = state.tenants.resolve(&slug)?;
    Ok(edit_company_form(&page, &admin, &tenant, &edit_form_of(&tenant), EditErrors::default()))
}

async fn edit_company_submit(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Path(slug): Path<String>,
    Form(f): Form<EditCompanyForm>,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    let tenant = state.tenants.resolve(&slug)?;
    let patch = CompanyPatch {
        name: Some(f.name.clone()),
        timezone: Some(f.timezone.clone()),
        language: Some(f.language.clone()),
        status: None,
        contacts: Contacts {
            contact_person: Some(f.contact_person.clone()),
            phone: Some(f.phone.clone()),
            email: Some(f.email.clone()),
            address: Some(f.address.clone()),
        },
    };
    match service::update_company(&state, &Caller::from(&admin), &slug, patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin?done=saved&slug={slug}")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = FormError::new(page.lang, &e);
            Ok(form_again(edit_company_form(&page, &admin, &tenant, &f, EditErrors { form: Some(&err), ..Default::default() })))
        }
        Err(e) => Err(e),
    }
}

async fn set_status(state: &AppState, admin: &PlatformAdmin, slug: &str, status: CompanyStatus) -> Result<Response, AppError> {
    let patch = CompanyPatch { status: Some(status), ..Default::default() };
    service::update_company(state, &Caller::from(admin), slug, patch).await?;
    let done = if status == CompanyStatus::Active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/admin?done={done}&slug={slug}")).into_response())
}

async fn activate(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<Response, AppError> {
    set_status(&state, &admin, &slug, CompanyStatus::Active).await
}

async fn deactivate(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<Response, AppError> {
    set_status(&state, &admin, &slug, CompanyStatus::Inactive).await
}

async fn archive(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<Response, AppError> {
    service::archive_company(&state, &Caller::from(&admin), &slug).await?;
    Ok(Redirect::to(&format!("/admin?done=archived&slug={slug}")).into_response())
}

async fn restore(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<Response, AppError> {
    let t = service::restore_company(&state, &Caller::from(&admin), &slug).await?;
    crate::web::api::companies::restart_bot(&state, &t);
    Ok(Redirect::to(&format!("/admin?done=restored&slug={slug}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    confirm: String,
}

async fn delete(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Path(slug): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    let tenant = state.tenants.resolve(&slug)?;
    let name = tenant.info().name;
    match service::delete_company(&state, &Caller::from(&admin), &slug, &f.confirm).await {
        Ok(_) => {
            let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            Ok(Redirect::to(&format!("/admin?done=deleted&slug={slug}&name={name}")).into_response())
        }
        Err(e) if e.field.is_some() => {
            let err = FormError::new(page.lang, &e);
            let errs = EditErrors { delete: Some(&err), ..Default::default() };
            Ok(form_again(edit_company_form(&page, &admin, &tenant, &edit_form_of(&tenant), errs)))
        }
        Err(e) => Err(e),
    }
}

async fn logo_upload(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Path(slug): Path<String>,
    form: Multipart,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let tenant = state.tenants.resolve(&slug)?;
    let (_, logo) = read_multipart(form).await?;
    let refused = if logo.is_empty() {
        Some(FormError { message: t(lang, "admin.branding.choose_file").to_string(), field: Some("logo") })
    } else {
        match service::set_company_logo(&state, &Caller::from(&admin), &slug, Some(logo)).await {
            Ok(()) => None,
            Err(e) if matches!(e.kind, ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType) => {
                Some(FormError { message: FormError::new(lang, &e).message, field: Some("logo") })
            }
            Err(e) => return Err(e),
        }
    };
    match refused {
        None => Ok(Redirect::to(&format!("/admin/companies/{slug}?done=logo")).into_response()),
        Some(err) => {
            let errs = EditErrors { logo: Some(&err), ..Default::default() };
            Ok(form_again(edit_company_form(&page, &admin, &tenant, &edit_form_of(&tenant), errs)))
        }
    }
}

async fn logo_remove(State(state): State<AppState>, admin: PlatformAdmin, Path(slug): Path<String>) -> Result<Response, AppError> {
    service::set_company_logo(&state, &Caller::from(&admin), &slug, None).await?;
    Ok(Redirect::to(&format!("/admin/companies/{slug}?done=logo_removed")).into_response())
}

// ---------- platform admins ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdminForm {
    username: String,
    password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    id: String,
    new_password: String,
}

#[derive(Default)]
struct AdminErrors<'a> {
    add: Option<&'a FormError>,
    password: Option<&'a FormError>,
}

fn admins_view(
    state: &AppState,
    page: &Page,
    admin: &PlatformAdmin,
    add: &AdminForm,
    errs: AdminErrors<'_>,
    notice: Option<&str>,
) -> Result<Markup, AppError> {
    let lang = page.lang;
    let title = t(lang, "console.admins.title");
    let rows = console::list_admins(state, &Caller::from(admin))?;
    let tz = jiff::tz::TimeZone::get(DEFAULT_TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    let options: Vec<(String, String)> = rows.iter().map(|r| (r.id.to_string(), r.username.clone())).collect();
    let body = html! {
        div.page-head { h1 { (title) } }
        p.muted { (t(lang, "console.admins.lead")) }
        div.table-wrap {
            table.data.stack data-admins="" {
                thead { tr {
                    th { (t(lang, "console.admins.username")) }
                    th { (t(lang, "console.admins.added")) }
                    th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                } }
                tbody {
                    @for r in &rows {
                        tr data-admin=(r.username) {
                            td data-label=(t(lang, "console.admins.username")) {
                                strong { (r.username) }
                                @if r.you { " " span.badge.brand { (t(lang, "console.admins.you")) } }
                            }
                            td data-label=(t(lang, "console.admins.added")) { (layout::local_time(r.created_at, &tz)) }
                            td.actions {
                                @if !r.you && rows.len() > 1 {
                                    (post_button(&format!("/admin/admins/{}/remove", r.id), &page.csrf, t(lang, "console.admins.remove"), "small danger",
                                        Some(&tf(lang, "console.admins.remove_confirm", &[("name", &r.username)]))))
                                }
                            }
                        }
                    }
                }
            }
        }
        div.cards {
            section.card {
                h2 { (t(lang, "console.admins.add_title")) }
                (form_alert(errs.add))
                form method="post" action="/admin/admins" {
                    (csrf_field(&page.csrf))
                    (Input::new(t(lang, "console.admins.username"), "username").value(&add.username).required().maxlength(32)
                        .autocomplete("off").hint(t(lang, "admin.users.username_hint")).error(errs.add))
                    (Input::new(t(lang, "console.admins.password"), "password").kind("password").required().autocomplete("new-password")
                        .hint(t(lang, "console.admins.password_hint")).error(errs.add))
                    div.form-actions { button.primary type="submit" { (t(lang, "console.admins.add")) } }
                }
            }
            section.card {
                h2 { (t(lang, "console.admins.reset_title")) }
                (form_alert(errs.password))
                form method="post" action="/admin/admins/password" {
                    (csrf_field(&page.csrf))
                    (select(t(lang, "console.admins.who"), "id", &options, "", errs.password))
                    (Input::new(t(lang, "console.admins.new_password"), "new_password").kind("password").required().autocomplete("new-password")
                        .hint(t(lang, "console.admins.password_hint")).error(errs.password))
                    div.form-actions { button.primary type="submit" { (t(lang, "console.admins.reset")) } }
                }
            }
        }
    };
    Ok(layout::render(shell_at(page, admin, title, notice, Section::Admins), body))
}

async fn admins_page(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let page = page.with_lang(admin.lang);
    let notice = done_notice(&state, page.lang, &q);
    admins_view(&state, &page, &admin, &AdminForm::default(), AdminErrors::default(), notice.as_deref())
}

fn done_admin(done: &str, name: &str) -> Response {
    let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    Redirect::to(&format!("/admin/admins?done={done}&name={name}")).into_response()
}

async fn admin_add(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Form(f): Form<AdminForm>,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    match console::add_admin(&state, &Caller::from(&admin), &f.username, f.password.clone()).await {
        Ok(row) => Ok(done_admin("admin_added", &row.username)),
        Err(e) if e.field.is_some() => {
            let err = FormError::new(page.lang, &e);
            Ok(form_again(admins_view(&state, &page, &admin, &f, AdminErrors { add: Some(&err), ..Default::default() }, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn admin_password(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let page = page.with_lang(admin.lang);
    let id: u64 = f.id.trim().parse().map_err(|_| AppError::invalid("id", "validation.required"))?;
    let who = console::list_admins(&state, &Caller::from(&admin))?.into_iter().find(|r| r.id == id).map(|r| r.username).unwrap_or_default();
    match console::reset_admin_password(&state, &Caller::from(&admin), id, f.new_password.clone()).await {
        Ok(()) => Ok(done_admin("admin_password", &who)),
        Err(e) if e.field.is_some() => {
            let err = FormError::new(page.lang, &e).moved("password", "new_password");
            let errs = AdminErrors { password: Some(&err), ..Default::default() };
            Ok(form_again(admins_view(&state, &page, &admin, &AdminForm::default(), errs, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn admin_remove(State(state): State<AppState>, admin: PlatformAdmin, Path(id): Path<u64>) -> Result<Response, AppError> {
    let who = console::list_admins(&state, &Caller::from(&admin))?.into_iter().find(|r| r.id == id).map(|r| r.username).unwrap_or_default();
    console::remove_admin(&state, &Caller::from(&admin), id).await?;
    Ok(done_admin("admin_removed", &who))
}

// ---------- the instance ----------

fn uptime(lang: Lang, secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        tf(lang, "console.system.uptime_days", &[("d", &d.to_string()), ("h", &h.to_string())])
    } else {
        tf(lang, "console.system.uptime_hours", &[("h", &h.to_string()), ("m", &m.to_string())])
    }
}

async fn system_page(State(state): State<AppState>, admin: PlatformAdmin, page: Page) -> Result<Markup, AppError> {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let i = console::instance(&state, &Caller::from(&admin))?;
    let title = t(lang, "console.system.title");
    let tz = jiff::tz::TimeZone::get(DEFAULT_TIMEZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    let backup = crate::web::api::companies::last_backup(&state);
    let body = html! {
        div.page-head { h1 { (title) } }
        div.stat-cards {
            div.stat-card {
                span.stat-label { (t(lang, "console.system.version")) }
                span.stat-value.mono data-version="" { (i.version) }
            }
            div.stat-card {
                span.stat-label { (t(lang, "console.system.uptime")) }
                span.stat-value { (uptime(lang, i.uptime_secs)) }
            }
            div.stat-card {
                span.stat-label { (t(lang, "console.system.free")) }
                span.stat-value { (i.free_bytes.map(|b| bytes(lang, b)).unwrap_or_else(|| "—".into())) }
                @if let Some(total) = i.total_bytes {
                    span.stat-sub { (tf(lang, "console.system.of_total", &[("total", &bytes(lang, total))])) }
                }
            }
            @let healthy = i.problems.is_empty();
            div class=(if healthy { "stat-card good" } else { "stat-card poor" }) {
                span.stat-label { (t(lang, "console.system.health")) }
                span.stat-value data-health=(if healthy { "ok" } else { "problem" }) {
                    @if healthy { (t(lang, "console.system.healthy")) } @else { (tf(lang, "console.system.problems", &[("n", &i.problems.len().to_string())])) }
                }
            }
        }
        @if !i.problems.is_empty() {
            section.card {
                h2 { (t(lang, "console.system.problems_title")) }
                ul {
                    @for p in &i.problems {
                        li { strong.mono { (p.source) } ": " (p.detail) }
                    }
                }
            }
        }
        section.card {
            h2 { (t(lang, "console.system.backup_title")) }
            @match &backup {
                None => { p.muted { (t(lang, "console.system.backup_none")) } }
                Some(b) => {
                    dl.facts {
                        dt { (t(lang, "console.system.backup_at")) }
                        dd { (layout::local_time(b.at_ms, &tz)) }
                        dt { (t(lang, "console.system.backup_result")) }
                        dd {
                            @if b.ok { span.badge.ok { (t(lang, "console.system.backup_ok")) } }
                            @else { span.badge.warn { (t(lang, "console.system.backup_failed")) } " " (b.error.clone().unwrap_or_default()) }
                        }
                        dt { (t(lang, "console.system.backup_size")) }
                        dd { (bytes(lang, b.bytes)) }
                        dt { (t(lang, "console.system.backup_target")) }
                        dd.mono { (b.target) }
                    }
                }
            }
        }
    };
    Ok(layout::render(shell_at(&page, &admin, title, None, Section::System), body))
}
