//! Platform pages: the public portal that lists open companies, and the
//! platform console where platform admins create, edit, activate and
//! deactivate companies.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::store::schema::CompanyStatus;
use crate::tenancy::Tenant;
use crate::tenancy::service::{self, CompanyPatch, DEFAULT_TIMEZONE, NewCompany};
use crate::web::errors::form_again;
use crate::web::extract::{Page, PlatformAdmin};
use crate::web::layout::{self, FormError, Input, NavItem, Shell, SignedIn, csrf_field, form_alert, post_button, select};
use axum::extract::{Path, Query, State};
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

fn shell<'a>(page: &'a Page, admin: &'a PlatformAdmin, title: &'a str, notice: Option<&'a str>) -> Shell<'a> {
    Shell {
        lang: page.lang,
        title,
        tenant: None,
        csrf: &page.csrf,
        signed_in: Some(SignedIn { name: &admin.account.username, profile_href: None, logout_action: "/admin/logout".into() }),
        nav: vec![NavItem { href: "/admin".into(), label: "platform.nav.companies", active: true, badge: None }],
        path: &page.path,
        notice,
    }
}

fn status_badge(lang: Lang, status: CompanyStatus) -> Markup {
    match status {
        CompanyStatus::Active => html! { span.badge.ok { (t(lang, "platform.status.active")) } },
        CompanyStatus::Inactive => html! { span.badge.off { (t(lang, "platform.status.inactive")) } },
    }
}

pub(crate) fn lang_options() -> Vec<(String, String)> {
    Lang::ALL.iter().map(|l| (l.code().to_string(), l.native_name().to_string())).collect()
}

fn lang_name(code: &str) -> &'static str {
    Lang::parse(code).map(Lang::native_name).unwrap_or("")
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
    slug: Option<String>,
}

fn done_notice(state: &AppState, lang: Lang, q: &DoneQuery) -> Option<String> {
    let slug = q.slug.as_deref().unwrap_or("");
    // The company as people know it; the address only if it is gone.
    let name = state.tenants.get(slug).map(|t| t.info().name).unwrap_or_else(|| slug.to_string());
    let key = match q.done.as_deref()? {
        "created" => "platform.notice.created",
        "saved" => "platform.notice.saved",
        "activated" => "platform.notice.activated",
        "deactivated" => "platform.notice.deactivated",
        _ => return None,
    };
    Some(tf(lang, key, &[("name", &name)]))
}

/// `GET /admin`: every company on this box.
async fn console(State(state): State<AppState>, admin: PlatformAdmin, page: Page, Query(q): Query<DoneQuery>) -> Markup {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let mut companies = state.tenants.all();
    companies.sort_by_key(|t| t.info().name.to_lowercase());
    let notice = done_notice(&state, lang, &q);
    let title = t(lang, "platform.companies.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
            a.button.primary href="/admin/companies/new" { (t(lang, "platform.companies.new")) }
        }
        @if companies.is_empty() {
            p.empty { (t(lang, "platform.companies.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack {
                    thead {
                        tr {
                            th { (t(lang, "platform.field.name")) }
                            th { (t(lang, "platform.field.slug")) }
                            th { (t(lang, "platform.field.status")) }
                            th { (t(lang, "platform.field.timezone")) }
                            th { (t(lang, "platform.field.language")) }
                            th { (t(lang, "platform.field.created")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for c in &companies {
                            @let info = c.info();
                            tr {
                                td data-label=(t(lang, "platform.field.name")) {
                                    a href=(format!("/admin/companies/{}", c.slug)) { strong { (info.name) } }
                                }
                                td data-label=(t(lang, "platform.field.slug")) {
                                    a.mono href=(format!("/c/{}/", c.slug)) { (c.slug) }
                                }
                                td data-label=(t(lang, "platform.field.status")) { (status_badge(lang, info.status)) }
                                td data-label=(t(lang, "platform.field.timezone")) { (info.timezone) }
                                td data-label=(t(lang, "platform.field.language")) { (lang_name(&info.language)) }
                                td data-label=(t(lang, "platform.field.created")) { (layout::local_time(info.created_at, &c.timezone())) }
                                td.actions {
                                    a.button.small href=(format!("/admin/companies/{}", c.slug)) { (t(lang, "admin.common.edit")) }
                                    (status_button(lang, &page.csrf, &c.slug, info.status, &info.name))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::render(shell(&page, &admin, title, notice.as_deref()), body)
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

fn new_company_form(page: &Page, admin: &PlatformAdmin, f: &NewCompanyForm, err: Option<&FormError>) -> Markup {
    let lang = page.lang;
    let title = t(lang, "platform.new.title");
    let tz = if f.timezone.is_empty() { DEFAULT_TIMEZONE } else { f.timezone.as_str() };
    let language = if f.language.is_empty() { "uz" } else { f.language.as_str() };
    let body = html! {
        p.back { a href="/admin" { "← " (t(lang, "platform.companies.title")) } }
        section.card.form-card {
            h1 { (title) }
            p.muted { (t(lang, "platform.new.lead")) }
            (form_alert(err))
            form method="post" action="/admin/companies/new" {
                (csrf_field(&page.csrf))
                fieldset {
                    legend { (t(lang, "platform.new.company")) }
                    (Input::new(t(lang, "platform.field.name"), "name").value(&f.name).required().maxlength(120).error(err))
                    (Input::new(t(lang, "platform.field.slug"), "slug").value(&f.slug).required().maxlength(32)
                        .pattern("[a-z0-9][a-z0-9\\-]{1,30}[a-z0-9]").hint(t(lang, "platform.new.slug_hint")).error(err))
                    (timezone_select(lang, tz, err))
                    (select(t(lang, "platform.field.language"), "language", &lang_options(), language, err))
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

async fn new_company_submit(State(state): State<AppState>, admin: PlatformAdmin, page: Page, Form(f): Form<NewCompanyForm>) -> Response {
    let page = page.with_lang(admin.lang);
    let lang = page.lang;
    let input = NewCompany {
        name: f.name.clone(),
        slug: f.slug.trim().to_string(),
        timezone: Some(f.timezone.clone()).filter(|s| !s.trim().is_empty()),
        language: Some(f.language.clone()).filter(|s| !s.is_empty()),
        admin_username: f.admin_username.clone(),
        admin_full_name: Some(f.admin_full_name.clone()),
        admin_password: Some(f.admin_password.clone()).filter(|s| !s.is_empty()),
        admin_role: Some(f.admin_role.clone()).filter(|s| !s.is_empty()),
    };
    match service::create_company(&state, &Caller::from(&admin), input).await {
        Ok(c) => match c.generated_password {
            None => Redirect::to(&format!("/admin?done=created&slug={}", c.tenant.slug)).into_response(),
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
                layout::render(shell(&page, &admin, title, None), body).into_response()
            }
        },
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => e.into_response(),
        Err(e) => {
            // The first admin's fields are named for the form, not the service.
            let err = FormError::new(lang, &e).moved("username", "admin_username").moved("password", "admin_password");
            form_again(new_company_form(&page, &admin, &f, Some(&err)))
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
}

fn edit_company_form(page: &Page, admin: &PlatformAdmin, tenant: &Tenant, f: &EditCompanyForm, err: Option<&FormError>) -> Markup {
    let lang = page.lang;
    let info = tenant.info();
    let title = t(lang, "platform.edit.title");
    let action = format!("/admin/companies/{}", tenant.slug);
    let body = html! {
        p.back { a href="/admin" { "← " (t(lang, "platform.companies.title")) } }
        section.card.form-card {
            div.page-head {
                h1 { (title) }
                (status_badge(lang, info.status))
            }
            dl.facts {
                dt { (t(lang, "platform.field.slug")) }
                dd { a.mono href=(format!("/c/{}/", tenant.slug)) { (format!("/c/{}/", tenant.slug)) } }
                dt { (t(lang, "platform.field.created")) }
                dd { (layout::local_time(info.created_at, &tenant.timezone())) }
            }
            (form_alert(err))
            form method="post" action=(action) {
                (csrf_field(&page.csrf))
                (Input::new(t(lang, "platform.field.name"), "name").value(&f.name).required().maxlength(120).error(err))
                (timezone_select(lang, &f.timezone, err))
                (select(t(lang, "platform.field.language"), "language", &lang_options(), &f.language, err))
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.common.save")) }
                    a.button href="/admin" { (t(lang, "admin.common.cancel")) }
                }
            }
        }
        section.card.form-card {
            h2 { (t(lang, "platform.edit.status_title")) }
            p.muted {
                @match info.status {
                    CompanyStatus::Active => { (t(lang, "platform.edit.active_text")) }
                    CompanyStatus::Inactive => { (t(lang, "platform.edit.inactive_text")) }
                }
            }
            (status_button(lang, &page.csrf, &tenant.slug, info.status, &info.name))
        }
    };
    layout::render(shell(page, admin, title, None), body)
}

async fn edit_company_page(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    page: Page,
    Path(slug): Path<String>,
) -> Result<Markup, AppError> {
    let page = page.with_lang(admin.lang);
    let tenant = state.tenants.resolve(&slug)?;
    let info = tenant.info();
    let f = EditCompanyForm { name: info.name, timezone: info.timezone, language: info.language };
    Ok(edit_company_form(&page, &admin, &tenant, &f, None))
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
    let patch =
        CompanyPatch { name: Some(f.name.clone()), timezone: Some(f.timezone.clone()), language: Some(f.language.clone()), status: None };
    match service::update_company(&state, &Caller::from(&admin), &slug, patch).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin?done=saved&slug={slug}")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = FormError::new(page.lang, &e);
            Ok(form_again(edit_company_form(&page, &admin, &tenant, &f, Some(&err))))
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
