//! A company's own pages: the home page (a public landing, or the staff
//! dashboard once signed in), the user's profile, and the admin console:
//! users, departments, branches with their hours, the role matrix, branding
//! and the audit log. Every change goes through `org::service` (or
//! `org::branding`); these handlers only read forms and draw pages.

use crate::app::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::auth::{password, rbac};
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, role_label, t, tf, tn};
use crate::org::branding::{self, BrandingChange};
use crate::org::service::{self, BranchInput, NewUser, UserPatch, WEEKDAYS, format_hhmm};
use crate::store::schema::{AccountV1, BranchV2, DayHours};
use crate::tenancy::Tenant;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{
    self, FormError, Input, NavItem, Shell, SignedIn, checkbox, csrf_field, form_alert, post_button, secret_box, select,
};
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/profile", get(profile_page).post(profile_submit))
        .route("/profile/password", post(profile_password))
        .route("/admin", get(admin_index))
        .route("/admin/users", get(users_page))
        .route("/admin/users/new", get(user_new_page).post(user_new_submit))
        .route("/admin/users/{id}", get(user_edit_page).post(user_edit_submit))
        .route("/admin/users/{id}/password", post(user_password_submit))
        .route("/admin/departments", get(departments_page).post(department_create))
        .route("/admin/departments/{id}", post(department_rename))
        .route("/admin/departments/{id}/activate", post(department_activate))
        .route("/admin/departments/{id}/deactivate", post(department_deactivate))
        .route("/admin/branches", get(branches_page))
        .route("/admin/branches/new", get(branch_new_page).post(branch_new_submit))
        .route("/admin/branches/{id}", get(branch_edit_page).post(branch_edit_submit))
        .route("/admin/roles", get(roles_page).post(roles_submit))
        .route("/admin/company", get(company_page).post(company_submit))
        .route("/admin/branding", get(branding_page).post(branding_color))
        .route("/admin/branding/logo", post(branding_logo))
        .route("/admin/branding/logo/remove", post(branding_logo_remove))
        .route("/admin/audit", get(audit_page))
        .route("/admin/categories", get(categories_page).post(category_create))
        .route("/admin/categories/{id}", post(category_save))
        .route("/admin/categories/{id}/activate", post(category_activate))
        .route("/admin/categories/{id}/deactivate", post(category_deactivate))
}

// ---------- the frame every signed-in page shares ----------

/// Where a signed-in page belongs, for the navigation. Other features'
/// pages (tasks, the calendar) use the same frame through [`Ctx`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Profile,
    Tasks,
    /// Client requests (the staff's list and request pages).
    Requests,
    Calendar,
    Chats,
    Notifications,
    Users,
    Departments,
    Branches,
    Roles,
    Branding,
    /// The company's own name, contacts and time zone.
    Company,
    Categories,
    Audit,
    /// The queue: an operator's window, and its setup in the admin console.
    Operator,
    QueueServices,
    QueueOperators,
    /// The queue stats (`queue::stats`), linked from the home page.
    QueueStats,
    /// Request categories and notification templates (`request_admin`).
    RequestCategories,
    RequestTemplates,
    /// The company's Telegram bot (`pages::telegram`).
    Telegram,
    /// The reports (`pages::reports`).
    Reports,
    /// Google Sheets (`pages::integrations`).
    Integrations,
    /// Reports sent on a schedule (`pages::report_schedules`).
    ReportSchedules,
    /// A page of no section (an error page in the frame).
    Other,
}

/// An admin section: where it lives, who may open it, what it is called.
struct SectionDef {
    section: Section,
    path: &'static str,
    perm: &'static str,
    label: &'static str,
}

const SECTIONS: [SectionDef; 15] = [
    SectionDef { section: Section::Company, path: "admin/company", perm: "company.setup", label: "admin.nav.company" },
    SectionDef { section: Section::Users, path: "admin/users", perm: "users.view", label: "admin.nav.users" },
    SectionDef { section: Section::Departments, path: "admin/departments", perm: "departments.manage", label: "admin.nav.departments" },
    SectionDef { section: Section::Branches, path: "admin/branches", perm: "branches.manage", label: "admin.nav.branches" },
    SectionDef { section: Section::Roles, path: "admin/roles", perm: "roles.manage", label: "admin.nav.roles" },
    SectionDef { section: Section::Branding, path: "admin/branding", perm: "branding.manage", label: "admin.nav.branding" },
    SectionDef { section: Section::Categories, path: "admin/categories", perm: "company.setup", label: "admin.nav.categories" },
    SectionDef { section: Section::QueueServices, path: "admin/queue/services", perm: "queue.manage", label: "qadmin.nav.services" },
    SectionDef { section: Section::QueueOperators, path: "admin/queue/operators", perm: "queue.manage", label: "qadmin.nav.operators" },
    SectionDef {
        section: Section::RequestCategories,
        path: "admin/request-categories",
        perm: "requests.manage",
        label: "request_admin.nav_categories",
    },
    SectionDef {
        section: Section::RequestTemplates,
        path: "admin/request-templates",
        perm: "requests.manage",
        label: "request_admin.nav_templates",
    },
    SectionDef { section: Section::Telegram, path: "admin/telegram", perm: crate::telegram::MANAGE, label: "telegram.page.nav" },
    SectionDef {
        section: Section::Integrations,
        path: "admin/integrations",
        perm: crate::reports::sheets::MANAGE,
        label: "sheets.page.nav",
    },
    SectionDef {
        section: Section::ReportSchedules,
        path: "admin/report-schedules",
        perm: "reports.view_all",
        label: "report_schedules.title",
    },
    SectionDef { section: Section::Audit, path: "admin/audit", perm: "audit.view", label: "admin.nav.audit" },
];

/// Sections of everyday work, before the admin ones (an empty `perm`: everyone's).
const STAFF_SECTIONS: [SectionDef; 4] = [
    SectionDef { section: Section::Operator, path: "operator", perm: "queue.operate", label: "operator.nav" },
    SectionDef { section: Section::Tasks, path: "tasks", perm: "", label: "tasks.nav.tasks" },
    SectionDef { section: Section::Chats, path: "chats", perm: "", label: "chat.nav" },
    SectionDef { section: Section::Calendar, path: "calendar", perm: "", label: "tasks.nav.calendar" },
];

/// Tabs on top at most: none is cut off from 1024 px.
const TOP_TABS: usize = 7;

/// Places in a phone's bottom bar besides "More": five labels fit 360 px.
const BOTTOM_PLACES: usize = 4;

/// The signed-in user and the page context, in the user's language.
pub(crate) struct Ctx {
    pub(crate) user: CurrentUser,
    pub(crate) page: Page,
    /// The reader's inbox counts, asked of the core once per page.
    inbox: std::sync::OnceLock<crate::tasks::service::InboxCounts>,
}

impl Ctx {
    pub(crate) fn new(user: CurrentUser, page: Page) -> Ctx {
        let page = page.with_lang(user.lang);
        Ctx { user, page, inbox: std::sync::OnceLock::new() }
    }

    pub(crate) fn lang(&self) -> Lang {
        self.page.lang
    }

    pub(crate) fn tenant(&self) -> &Tenant {
        &self.user.tenant
    }

    /// A path inside this company: `url("admin/users")` → `/c/<slug>/admin/users`.
    pub(crate) fn url(&self, rest: &str) -> String {
        format!("/c/{}/{}", self.user.tenant.slug, rest)
    }

    pub(crate) fn csrf(&self) -> &str {
        &self.page.csrf
    }

    fn sections(&self) -> impl Iterator<Item = &'static SectionDef> + '_ {
        SECTIONS.iter().filter(|s| self.user.can(s.perm))
    }

    fn staff_sections(&self) -> impl Iterator<Item = &'static SectionDef> + '_ {
        STAFF_SECTIONS.iter().filter(|s| s.perm.is_empty() || self.user.can(s.perm))
    }

    /// What waits for the reader's decision, for the badge on "Tasks".
    pub(crate) fn inbox_counts(&self) -> crate::tasks::service::InboxCounts {
        *self.inbox.get_or_init(|| {
            let who = Caller::from(&self.user);
            self.user.tenant.db().ok().and_then(|db| crate::tasks::service::inbox_counts(db, &who).ok()).unwrap_or_default()
        })
    }

    /// Unread chat messages, for the badge on "Chats" (`chat.js` moves it live).
    fn chat_badge(&self) -> (usize, String, &'static str) {
        let n = self.user.tenant.db().ok().and_then(|db| crate::chat::unread_total(db, self.user.id).ok()).unwrap_or(0);
        (usize::try_from(n).unwrap_or(usize::MAX), tn(self.lang(), "chat.unread", n, &[]), "chat")
    }

    fn inbox_badge(&self) -> (usize, String, &'static str) {
        let n = self.inbox_counts().total();
        (n, tn(self.lang(), "tasks.inbox.badge", n as u64, &[]), "inbox")
    }

    /// The page in the staff frame: the navigation, the notification bell
    /// with the unread count, the toasts and the live script.
    ///
    /// The top tabs are few, so that none is cut off from 1024 px: home, the
    /// everyday places, the queue stats and one "Settings" for every admin
    /// page (which then have their own side menu). On a phone the everyday
    /// places are a bottom bar, and the rest is in its "More" sheet.
    pub(crate) fn render(&self, title: &str, current: Section, notice: Option<&str>, body: Markup) -> Markup {
        let item = |path: &str, label: &'static str, active: bool| NavItem { href: self.url(path), label, active, badge: None };
        let mut bottom = vec![item("", "admin.nav.home", current == Section::Home)];
        for s in self.staff_sections() {
            let mut it = item(s.path, s.label, current == s.section);
            if s.section == Section::Tasks {
                it.badge = Some(self.inbox_badge());
            }
            if s.section == Section::Chats {
                it.badge = Some(self.chat_badge());
            }
            bottom.push(it);
        }
        let nav_places = bottom.clone();
        // A phone's bar holds four places and "More"; the rest (the calendar
        // of an operator) opens from the sheet.
        let mut more_main = if bottom.len() > BOTTOM_PLACES { bottom.split_off(BOTTOM_PLACES) } else { Vec::new() };
        // Requests, for who works them: after the everyday places on top
        // (while the top keeps at most seven tabs), in "More" on a phone
        // (its bar is full).
        let requests = crate::web::pages::requests::works_requests(&self.user).then(|| {
            let mut it = item("requests", "rs.nav", current == Section::Requests);
            it.badge = crate::web::pages::requests::nav_badge(&self.user);
            more_main.insert(0, it.clone());
            it
        });
        let mut nav = nav_places;
        // Everyone has figures of their own; the queue's stats open from there too.
        let reports = item("reports", "report_page.nav", matches!(current, Section::Reports | Section::QueueStats));
        nav.push(reports.clone());
        more_main.push(reports);
        more_main.push(item("notifications", "tasks.notifications.title", current == Section::Notifications));
        more_main.push(item("profile", "profile.title", current == Section::Profile));
        let settings: Vec<NavItem> = self.sections().map(|s| item(s.path, s.label, current == s.section)).collect();
        let in_settings = settings.iter().any(|i| i.active);
        if !settings.is_empty() {
            nav.push(item("admin", "nav.settings", in_settings));
        }
        if let Some(it) = requests
            && nav.len() < TOP_TABS
        {
            let at = nav.iter().position(|i| i.href.ends_with("/tasks")).map_or(1, |p| p + 1).min(nav.len());
            nav.insert(at, it);
        }
        let unread = self.user.tenant.db().ok().and_then(|db| crate::notify::unread_count(db, self.user.id).ok()).unwrap_or(0);
        let shell = Shell {
            lang: self.lang(),
            title,
            tenant: Some(&self.user.tenant),
            csrf: &self.page.csrf,
            signed_in: Some(SignedIn {
                name: self.user.display_name(),
                profile_href: Some(self.url("profile")),
                logout_action: self.url("logout"),
            }),
            nav,
            path: &self.page.path,
            notice,
        };
        let mut more = vec![(None, more_main)];
        let side = in_settings.then(|| settings.clone());
        if !settings.is_empty() {
            more.push((Some("nav.settings"), settings));
        }
        let live = layout::Live {
            company: &self.user.tenant.slug,
            bell_href: self.url("notifications"),
            bell_label: t(self.lang(), "tasks.notifications.title"),
            unread,
            role: role_label(self.lang(), &self.user.account.role),
            bottom,
            more,
            side,
        };
        layout::render_live(shell, Some(live), body)
    }
}

/// An error page in the signed-in frame, so that the reader keeps the menu
/// and sees where to go next.
pub(crate) fn error_frame(user: CurrentUser, page: Page, status: axum::http::StatusCode, message: &str) -> Markup {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let body = layout::error_body(lang, status, message, &c.url(""));
    c.render(layout::error_title(lang, status), Section::Other, None, body)
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

fn done_notice(lang: Lang, q: &DoneQuery) -> Option<&'static str> {
    Some(match q.done.as_deref()? {
        "saved" => t(lang, "admin.notice.saved"),
        "created" => t(lang, "admin.notice.created"),
        "password" => t(lang, "admin.notice.password"),
        "activated" => t(lang, "admin.notice.activated"),
        "deactivated" => t(lang, "admin.notice.deactivated"),
        "logo" => t(lang, "admin.notice.logo"),
        "logo_removed" => t(lang, "admin.notice.logo_removed"),
        other => return super::telegram::done_notice(lang, other),
    })
}

/// A service error for a form, with weekday codes in its arguments put in
/// the user's words.
fn form_error(lang: Lang, e: &AppError) -> FormError {
    let mut info = e.info();
    for (k, v) in info.args.iter_mut() {
        if *k == "day"
            && let Some(i) = WEEKDAYS.iter().position(|d| d == v)
        {
            *v = crate::i18n::weekday_name(lang, i).to_string();
        }
    }
    FormError { message: info.message(lang), field: e.field }
}

fn active_badge(lang: Lang, active: bool) -> Markup {
    if active {
        html! { span.badge.ok { (t(lang, "admin.common.active")) } }
    } else {
        html! { span.badge.off { (t(lang, "admin.common.inactive")) } }
    }
}

fn opt_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|v| !v.is_empty())
}

// ---------- home ----------

/// `GET /c/<slug>/`: the staff dashboard when signed in, else the public landing.
async fn home(State(state): State<AppState>, tenant: Tenant, user: Result<CurrentUser, AppError>, page: Page) -> Result<Markup, AppError> {
    match user {
        Ok(user) => super::home::page(&Ctx::new(user, page), state.now_ms()),
        // Signed in, but their own password comes first.
        Err(e) if e.kind == ErrorKind::PasswordChangeRequired => Err(e),
        Err(_) => landing(&tenant, &page),
    }
}

/// A user's points: this week, this month and in all.
fn points_card(c: &Ctx, p: &crate::tasks::service::Points) -> Markup {
    let lang = c.lang();
    html! {
        section.card.points-card aria-label=(t(lang, "tasks.points.title")) {
            h2 { (t(lang, "tasks.points.title")) }
            dl.points-figures {
                div { dt { (t(lang, "tasks.points.week")) } dd #points-week { (p.week) } }
                div { dt { (t(lang, "tasks.points.month")) } dd #points-month { (p.month) } }
                div { dt { (t(lang, "tasks.points.total")) } dd #points-total { (p.total) } }
            }
        }
    }
}

fn landing(tenant: &Tenant, page: &Page) -> Result<Markup, AppError> {
    let lang = page.lang;
    let info = tenant.info();
    let open = tenant.is_active();
    let branches: Vec<(u64, BranchV2)> =
        if open { service::list_branches(tenant.db()?)?.into_iter().filter(|(_, b)| b.active).collect() } else { Vec::new() };
    let shell = Shell {
        lang,
        title: &info.name,
        tenant: Some(tenant),
        csrf: &page.csrf,
        signed_in: None,
        nav: vec![],
        path: &page.path,
        notice: None,
    };
    let logo = branding::has_logo(tenant).then(|| format!("/c/{}/logo?v={}", tenant.slug, branding::version(tenant)));
    Ok(layout::render(
        shell,
        html! {
            section.hero.center {
                @if let Some(src) = &logo {
                    img.hero-logo src=(src) alt=(info.name);
                }
                h1 { (info.name) }
                @if open {
                    p.lead { (t(lang, "home.welcome")) }
                } @else {
                    p.closed role="status" {
                        strong { (t(lang, "home.not_open_title")) }
                        br;
                        (t(lang, "home.not_open_text"))
                    }
                }
                p { a.button.primary href=(format!("/c/{}/login", tenant.slug)) { (t(lang, "home.sign_in")) } }
            }
            @if !branches.is_empty() {
                section.branches-public {
                    h2 { (t(lang, "home.branches")) }
                    div.cards {
                        @for (_, b) in &branches {
                            article.card {
                                h3 { (b.name) }
                                @if !b.address.is_empty() { p.muted { (b.address) } }
                                p.hours { (hours_summary(lang, &b.hours)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// Hours in a few words: days with the same hours are grouped,
/// "Mon–Fri 09:00–18:00, Sat 09:00–14:00".
fn hours_summary(lang: Lang, hours: &Option<[DayHours; 7]>) -> String {
    crate::org::hours::summary(lang, hours)
}

/// `GET /c/<slug>/admin`: the first section the user may open.
async fn admin_index(user: CurrentUser) -> Response {
    let base = format!("/c/{}/", user.tenant.slug);
    match SECTIONS.iter().find(|s| user.can(s.perm)) {
        Some(s) => Redirect::to(&format!("{base}{}", s.path)).into_response(),
        None => AppError::new(ErrorKind::Forbidden).into_response(),
    }
}

// ---------- profile ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProfileForm {
    full_name: String,
    phone: String,
    language: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

fn language_options(lang: Lang) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), t(lang, "profile.language_auto").to_string())];
    v.extend(Lang::ALL.iter().map(|l| (l.code().to_string(), l.native_name().to_string())));
    v
}

fn profile_view(
    c: &Ctx,
    now: i64,
    f: &ProfileForm,
    err: Option<&FormError>,
    pw_err: Option<&FormError>,
    notice: Option<&str>,
) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let acc = &c.user.account;
    let dept = acc
        .department_id
        .and_then(|id| service::list_departments(db).ok()?.into_iter().find(|(i, _)| *i == id))
        .map(|(_, d)| service::department_name(&d, lang).to_string());
    let branch = acc.branch_id.and_then(|id| service::get_branch(db, id).ok()).map(|b| service::branch_name(&b, lang).to_string());
    let rule = tf(lang, "admin.users.password_rule", &[("min", &password::MIN_LEN.to_string())]);
    let title = t(lang, "profile.title");
    let points = crate::tasks::service::points_of(db, &Caller::from(&c.user), c.user.id, now, &c.tenant().timezone())?;
    let body = html! {
        h1 { (title) }
        (points_card(c, &points))
        div.two-col {
            section.card {
                h2 { (t(lang, "profile.details")) }
                dl.facts {
                    dt { (t(lang, "admin.users.username")) }
                    dd.mono { (acc.username) }
                    dt { (t(lang, "admin.users.role")) }
                    dd { (role_label(lang, &acc.role)) }
                    dt { (t(lang, "admin.users.department")) }
                    dd { (dept.as_deref().unwrap_or("—")) }
                    dt { (t(lang, "admin.users.branch")) }
                    dd { (branch.as_deref().unwrap_or("—")) }
                }
                (layout::form_alert_except(err, &["full_name", "phone", "language"]))
                form method="post" action=(c.url("profile")) {
                    (csrf_field(c.csrf()))
                    (Input::new(t(lang, "admin.users.full_name"), "full_name").value(&f.full_name).maxlength(120).error(err))
                    (Input::new(t(lang, "admin.users.phone"), "phone").kind("tel").value(&f.phone).inputmode("tel")
                        .hint(t(lang, "admin.users.phone_hint")).error(err))
                    (select(t(lang, "profile.language"), "language", &language_options(lang), &f.language, err))
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "admin.common.save")) }
                    }
                }
            }
            section.card {
                h2 { (t(lang, "profile.password_title")) }
                (form_alert(pw_err))
                form method="post" action=(c.url("profile/password")) {
                    (csrf_field(c.csrf()))
                    input type="text" name="username" value=(acc.username) autocomplete="username" hidden;
                    (Input::new(t(lang, "profile.current_password"), "current_password").kind("password").required()
                        .autocomplete("current-password").error(pw_err))
                    (Input::new(t(lang, "profile.new_password"), "new_password").kind("password").required()
                        .autocomplete("new-password").hint(&rule).error(pw_err))
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "profile.change_password")) }
                    }
                }
            }
        }
        (super::telegram::profile_card(c)?)
    };
    Ok(c.render(title, Section::Profile, notice, body))
}

fn profile_form_of(a: &AccountV1) -> ProfileForm {
    ProfileForm {
        full_name: a.full_name.clone(),
        phone: a.phone.clone().unwrap_or_default(),
        language: a.language.clone().unwrap_or_default(),
    }
}

async fn profile_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let f = profile_form_of(&c.user.account);
    profile_view(&c, state.now_ms(), &f, None, None, done_notice(c.lang(), &q))
}

async fn profile_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let patch = UserPatch {
        full_name: Some(f.full_name.clone()),
        phone: Some(Some(f.phone.clone()).filter(|p| !p.trim().is_empty())),
        language: Some(Some(f.language.clone()).filter(|l| !l.is_empty())),
        ..Default::default()
    };
    match service::update_profile(&state, c.tenant(), &c.user, patch, None).await {
        Ok(_) => Ok(Redirect::to(&c.url("profile?done=saved")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = form_error(c.lang(), &e);
            Ok(form_again(profile_view(&c, state.now_ms(), &f, Some(&err), None, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn profile_password(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let patch = UserPatch { password: Some(f.new_password.clone()), ..Default::default() };
    match service::update_profile(&state, c.tenant(), &c.user, patch, Some(f.current_password.clone())).await {
        Ok(_) => Ok(Redirect::to(&c.url("profile?done=password")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = form_error(c.lang(), &e).moved("password", "new_password");
            let pf = profile_form_of(&c.user.account);
            Ok(form_again(profile_view(&c, state.now_ms(), &pf, None, Some(&err), None)?))
        }
        Err(e) => Err(e),
    }
}

// ---------- users ----------

/// Branch id → its name in `lang`.
fn names_of_branches(db: &crate::store::Db, lang: Lang) -> Result<HashMap<u64, String>, AppError> {
    Ok(service::list_branches(db)?.into_iter().map(|(id, b)| (id, service::branch_name(&b, lang).to_string())).collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UsersQuery {
    q: String,
    role: String,
    department_id: String,
    branch_id: String,
    /// `yes`, `no` or empty (both).
    active: String,
    done: Option<String>,
}

async fn users_page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<UsersQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let query = service::UserQuery {
        text: q.q.trim().chars().take(200).collect(),
        role: Some(q.role.trim().to_string()).filter(|r| rbac::is_role(r)),
        department_id: opt_id(&q.department_id),
        branch_id: opt_id(&q.branch_id),
        active: match q.active.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
    };
    let users = service::find_users(db, &who, &query)?;
    let ids: Vec<u64> = users.iter().map(|(id, _)| *id).collect();
    let points: HashMap<u64, crate::tasks::service::Points> =
        crate::tasks::service::points_of_users(db, &who, &ids, state.now_ms(), &c.tenant().timezone())?.into_iter().collect();
    let depts = service::department_names(db, lang)?;
    let branches = names_of_branches(db, lang)?;
    let manage = c.user.can("users.manage");
    let title = t(lang, "admin.users.title");
    let sorted = |any: &str, names: Vec<(u64, String)>| {
        let mut v: Vec<(String, String)> = names.into_iter().map(|(id, n)| (id.to_string(), n)).collect();
        v.sort_by_key(|(_, n)| n.to_lowercase());
        v.insert(0, (String::new(), any.to_string()));
        v
    };
    let dept_options = sorted(t(lang, "admin.users.any_department"), depts.iter().map(|(id, d)| (*id, d.clone())).collect());
    let branch_options = sorted(t(lang, "admin.users.any_branch"), branches.iter().map(|(id, b)| (*id, b.clone())).collect());
    let mut role_opts = vec![(String::new(), t(lang, "admin.users.any_role").to_string())];
    role_opts.extend(role_options(lang));
    let active_opts = [("", "admin.users.any_status"), ("yes", "admin.users.only_active"), ("no", "admin.users.only_inactive")]
        .map(|(v, k)| (v.to_string(), t(lang, k).to_string()));
    let filtered = !(q.q.trim().is_empty()
        && query.role.is_none()
        && query.department_id.is_none()
        && query.branch_id.is_none()
        && query.active.is_none());
    let body = html! {
        div.page-head {
            h1 { (title) }
            @if manage {
                a.button.primary href=(c.url("admin/users/new")) { (t(lang, "admin.users.new")) }
            }
        }
        form.filters method="get" action=(c.url("admin/users")) {
            div.field.search-field {
                label for="u-q" { (t(lang, "admin.users.search")) }
                input id="u-q" type="search" name="q" value=(q.q) maxlength="200" placeholder=(t(lang, "admin.users.search_hint"));
            }
            div.filter-grid {
                (select(t(lang, "admin.users.role"), "role", &role_opts, q.role.trim(), None))
                (select(t(lang, "admin.users.department"), "department_id", &dept_options, q.department_id.trim(), None))
                (select(t(lang, "admin.users.branch"), "branch_id", &branch_options, q.branch_id.trim(), None))
                (select(t(lang, "admin.users.status"), "active", &active_opts, q.active.trim(), None))
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "admin.users.filter")) }
                @if filtered {
                    a.button href=(c.url("admin/users")) { (t(lang, "admin.users.filter_reset")) }
                }
            }
        }
        @if users.is_empty() {
            p.empty { (t(lang, "admin.users.none_found")) }
        }
        div.table-wrap {
            table.data.stack {
                thead {
                    tr {
                        th { (t(lang, "admin.users.username")) }
                        th { (t(lang, "admin.users.full_name")) }
                        th { (t(lang, "admin.users.role")) }
                        th { (t(lang, "admin.users.department")) }
                        th { (t(lang, "admin.users.branch")) }
                        th { (t(lang, "admin.users.status")) }
                        th.num { (t(lang, "tasks.points.title")) }
                    }
                }
                tbody {
                    @for (id, u) in &users {
                        tr.muted-row[!u.active] {
                            td data-label=(t(lang, "admin.users.username")) {
                                @if manage {
                                    a.mono href=(c.url(&format!("admin/users/{id}"))) { (u.username) }
                                } @else {
                                    span.mono { (u.username) }
                                }
                            }
                            td data-label=(t(lang, "admin.users.full_name")) { (u.full_name) }
                            td data-label=(t(lang, "admin.users.role")) { (role_label(lang, &u.role)) }
                            td data-label=(t(lang, "admin.users.department")) {
                                (u.department_id.and_then(|d| depts.get(&d)).map(String::as_str).unwrap_or("—"))
                            }
                            td data-label=(t(lang, "admin.users.branch")) {
                                (u.branch_id.and_then(|b| branches.get(&b)).map(String::as_str).unwrap_or("—"))
                            }
                            td data-label=(t(lang, "admin.users.status")) { (active_badge(lang, u.active)) }
                            td.num.user-points data-label=(t(lang, "tasks.points.title")) data-user=(id) {
                                @if let Some(p) = points.get(id) {
                                    strong { (p.total) }
                                    br;
                                    small.muted { (tf(lang, "tasks.points.week_month", &[("week", &p.week.to_string()), ("month", &p.month.to_string())])) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Users, done_notice(lang, &DoneQuery { done: q.done }), body))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserForm {
    username: String,
    full_name: String,
    phone: String,
    role: String,
    department_id: String,
    branch_id: String,
    language: String,
    password: String,
    active: Option<String>,
}

fn role_options(lang: Lang) -> Vec<(String, String)> {
    rbac::ROLES.iter().map(|r| (r.to_string(), role_label(lang, r).to_string())).collect()
}

/// Active departments (and the current one, even if it was switched off).
fn department_options(lang: Lang, db: &crate::store::Db, current: Option<u64>) -> Result<Vec<(String, String)>, AppError> {
    let mut v = vec![(String::new(), t(lang, "admin.common.none").to_string())];
    let mut all: Vec<(u64, bool, String)> =
        service::list_departments(db)?.into_iter().map(|(id, d)| (id, d.active, service::department_name(&d, lang).to_string())).collect();
    all.sort_by_key(|(_, _, n)| n.to_lowercase());
    for (id, active, name) in all {
        if active {
            v.push((id.to_string(), name));
        } else if Some(id) == current {
            v.push((id.to_string(), format!("{name} ({})", t(lang, "admin.common.inactive"))));
        }
    }
    Ok(v)
}

fn branch_options(lang: Lang, db: &crate::store::Db, current: Option<u64>) -> Result<Vec<(String, String)>, AppError> {
    let mut v = vec![(String::new(), t(lang, "admin.common.none").to_string())];
    let mut all: Vec<(u64, bool, String)> =
        service::list_branches(db)?.into_iter().map(|(id, b)| (id, b.active, service::branch_name(&b, lang).to_string())).collect();
    all.sort_by_key(|(_, _, n)| n.to_lowercase());
    for (id, active, name) in all {
        if active {
            v.push((id.to_string(), name));
        } else if Some(id) == current {
            v.push((id.to_string(), format!("{name} ({})", t(lang, "admin.common.inactive"))));
        }
    }
    Ok(v)
}

/// The inputs of [`user_fields`], which show their own errors.
const USER_FIELDS: &[&str] = &["full_name", "phone", "role", "department_id", "branch_id", "language"];

/// The fields a new user and an existing one share.
fn user_fields(c: &Ctx, f: &UserForm, err: Option<&FormError>, is_self: bool) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let depts = department_options(lang, db, opt_id(&f.department_id))?;
    let branches = branch_options(lang, db, opt_id(&f.branch_id))?;
    Ok(html! {
        (Input::new(t(lang, "admin.users.full_name"), "full_name").value(&f.full_name).maxlength(120).error(err))
        (Input::new(t(lang, "admin.users.phone"), "phone").kind("tel").value(&f.phone).inputmode("tel")
            .hint(t(lang, "admin.users.phone_hint")).error(err))
        @if is_self {
            div.field {
                span.label { (t(lang, "admin.users.role")) }
                p.static { (role_label(lang, &f.role)) " " small.muted { (t(lang, "admin.users.own_role")) } }
            }
        } @else {
            (select(t(lang, "admin.users.role"), "role", &role_options(lang), &f.role, err))
        }
        div.grid-2 {
            (select(t(lang, "admin.users.department"), "department_id", &depts, &f.department_id, err))
            (select(t(lang, "admin.users.branch"), "branch_id", &branches, &f.branch_id, err))
        }
        (select(t(lang, "profile.language"), "language", &language_options(lang), &f.language, err))
    })
}

fn user_new_view(c: &Ctx, f: &UserForm, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let title = t(lang, "admin.users.new_title");
    let body = html! {
        p.back { a href=(c.url("admin/users")) { "← " (t(lang, "admin.users.title")) } }
        section.card.form-card {
            h1 { (title) }
            (layout::form_alert_except(err, &[&["username"][..], USER_FIELDS].concat()))
            form method="post" action=(c.url("admin/users/new")) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "admin.users.username"), "username").value(&f.username).required().maxlength(32)
                    .autocomplete("off").hint(t(lang, "admin.users.username_hint")).error(err))
                (user_fields(c, f, err, false)?)
                (Input::new(t(lang, "admin.users.password"), "password").kind("password").autocomplete("new-password")
                    .hint(t(lang, "admin.users.password_hint")).error(err))
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.users.create")) }
                    a.button href=(c.url("admin/users")) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::Users, None, body))
}

async fn user_new_page(user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let f = UserForm { role: "employee".into(), ..Default::default() };
    user_new_view(&c, &f, None)
}

async fn user_new_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<UserForm>,
) -> Result<Response, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let input = NewUser {
        username: f.username.clone(),
        full_name: f.full_name.clone(),
        phone: Some(f.phone.clone()).filter(|p| !p.trim().is_empty()),
        role: f.role.clone(),
        department_id: opt_id(&f.department_id),
        branch_id: opt_id(&f.branch_id),
        password: Some(f.password.clone()).filter(|p| !p.is_empty()),
        language: Some(f.language.clone()).filter(|l| !l.is_empty()),
        must_change_password: false,
    };
    match service::create_user(&state, c.tenant(), &Caller::from(&c.user), input).await {
        Ok((_, None)) => Ok(Redirect::to(&c.url("admin/users?done=created")).into_response()),
        Ok((id, Some(pw))) => {
            let created = service::get_user(c.tenant().db()?, &Caller::from(&c.user), id)?;
            let title = t(lang, "admin.users.created_title");
            let body = html! {
                section.card.form-card {
                    h1 { (title) }
                    p { (tf(lang, "admin.users.created_lead", &[("name", if created.full_name.is_empty() { &created.username } else { &created.full_name })])) }
                    (secret_box(lang, &created.username, &pw))
                    div.form-actions {
                        a.button.primary href=(c.url("admin/users")) { (t(lang, "admin.users.back_to_list")) }
                        a.button href=(c.url("admin/users/new")) { (t(lang, "admin.users.new")) }
                    }
                }
            };
            Ok(c.render(title, Section::Users, None, body).into_response())
        }
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let err = form_error(lang, &e);
            Ok(form_again(user_new_view(&c, &f, Some(&err))?))
        }
        Err(e) => Err(e),
    }
}

fn user_form_of(a: &AccountV1) -> UserForm {
    UserForm {
        username: a.username.clone(),
        full_name: a.full_name.clone(),
        phone: a.phone.clone().unwrap_or_default(),
        role: a.role.clone(),
        department_id: a.department_id.map(|d| d.to_string()).unwrap_or_default(),
        branch_id: a.branch_id.map(|d| d.to_string()).unwrap_or_default(),
        language: a.language.clone().unwrap_or_default(),
        password: String::new(),
        active: a.active.then(|| "1".to_string()),
    }
}

fn user_edit_view(
    c: &Ctx,
    id: u64,
    acc: &AccountV1,
    f: &UserForm,
    err: Option<&FormError>,
    pw_err: Option<&FormError>,
    notice: Option<&str>,
) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let is_self = id == c.user.id;
    let title = t(lang, "admin.users.edit_title");
    let body = html! {
        p.back { a href=(c.url("admin/users")) { "← " (t(lang, "admin.users.title")) } }
        section.card.form-card {
            div.page-head {
                h1 { (if acc.full_name.is_empty() { &acc.username } else { &acc.full_name }) }
                (active_badge(lang, acc.active))
            }
            dl.facts {
                dt { (t(lang, "admin.users.username")) }
                dd.mono { (acc.username) }
                dt { (t(lang, "admin.users.created")) }
                dd { (layout::local_time(acc.created_at, &tz)) }
            }
            (layout::form_alert_except(err, USER_FIELDS))
            form method="post" action=(c.url(&format!("admin/users/{id}"))) {
                (csrf_field(c.csrf()))
                (user_fields(c, f, err, is_self)?)
                @if !is_self {
                    (checkbox(t(lang, "admin.users.active_label"), "active", checked(&f.active)))
                }
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.common.save")) }
                    a.button href=(c.url("admin/users")) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
        section.card.form-card {
            h2 { (t(lang, "admin.users.reset_title")) }
            p.muted { (t(lang, "admin.users.reset_lead")) }
            (form_alert(pw_err))
            form method="post" action=(c.url(&format!("admin/users/{id}/password"))) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "admin.users.new_password"), "password").kind("password").autocomplete("new-password")
                    .hint(t(lang, "admin.users.password_hint")).error(pw_err))
                div.form-actions {
                    button type="submit" data-confirm=(t(lang, "admin.users.reset_confirm")) { (t(lang, "admin.users.reset_submit")) }
                }
            }
        }
        (super::telegram::user_card(c, id, acc)?)
    };
    Ok(c.render(title, Section::Users, notice, body))
}

async fn user_edit_page(user: CurrentUser, page: Page, PathId(id): PathId, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let acc = service::get_user(c.tenant().db()?, &Caller::from(&c.user), id)?;
    user_edit_view(&c, id, &acc, &user_form_of(&acc), None, None, done_notice(c.lang(), &q))
}

async fn user_edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<UserForm>,
) -> Result<Response, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let acc = service::get_user(c.tenant().db()?, &Caller::from(&c.user), id)?;
    let is_self = id == c.user.id;
    let patch = UserPatch {
        full_name: Some(f.full_name.clone()),
        phone: Some(Some(f.phone.clone()).filter(|p| !p.trim().is_empty())),
        role: if is_self || f.role.is_empty() { None } else { Some(f.role.clone()) },
        department_id: Some(opt_id(&f.department_id)),
        branch_id: Some(opt_id(&f.branch_id)),
        active: if is_self { None } else { Some(checked(&f.active)) },
        password: None,
        language: Some(Some(f.language.clone()).filter(|l| !l.is_empty())),
    };
    match service::update_user(&state, c.tenant(), &Caller::from(&c.user), id, patch).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/users?done=saved")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let err = form_error(c.lang(), &e);
            let mut shown = f;
            shown.username = acc.username.clone();
            if is_self {
                shown.role = acc.role.clone();
            }
            Ok(form_again(user_edit_view(&c, id, &acc, &shown, Some(&err), None, None)?))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResetForm {
    password: String,
}

async fn user_password_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    user.require("users.manage")?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let acc = service::get_user(c.tenant().db()?, &Caller::from(&c.user), id)?;
    let (plain, generated) = if f.password.is_empty() {
        let p = password::generate();
        (p.clone(), Some(p))
    } else {
        (f.password.clone(), None)
    };
    let patch = UserPatch { password: Some(plain), ..Default::default() };
    match service::update_user(&state, c.tenant(), &Caller::from(&c.user), id, patch).await {
        Ok(_) => match generated {
            None => Ok(Redirect::to(&c.url(&format!("admin/users/{id}?done=password"))).into_response()),
            Some(pw) => {
                let title = t(lang, "admin.users.reset_done_title");
                let body = html! {
                    section.card.form-card {
                        h1 { (title) }
                        (secret_box(lang, &acc.username, &pw))
                        div.form-actions {
                            a.button.primary href=(c.url(&format!("admin/users/{id}"))) { (t(lang, "admin.users.back_to_user")) }
                            a.button href=(c.url("admin/users")) { (t(lang, "admin.users.back_to_list")) }
                        }
                    }
                };
                Ok(c.render(title, Section::Users, None, body).into_response())
            }
        },
        Err(e) if e.field.is_some() => {
            let err = form_error(lang, &e);
            Ok(form_again(user_edit_view(&c, id, &acc, &user_form_of(&acc), None, Some(&err), None)?))
        }
        Err(e) => Err(e),
    }
}

// ---------- departments ----------

/// A department's or a category's names as typed in its form.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NameForm {
    name: String,
    name_ru: String,
    name_en: String,
}

impl NameForm {
    fn department(&self) -> service::DepartmentInput {
        service::DepartmentInput {
            name: Some(self.name.clone()),
            name_ru: Some(self.name_ru.clone()),
            name_en: Some(self.name_en.clone()),
            active: None,
        }
    }
}

/// Which department form failed: `None` is the "new" form.
struct DeptFailure<'a> {
    row: Option<u64>,
    typed: &'a NameForm,
    err: FormError,
}

/// One field of a row's edit form, in its own cell: `form` names the row's form.
/// A translation left empty shows the main name it falls back to, greyed.
fn row_input(form: &str, name: &str, label: &str, value: &str, max: usize, fallback: Option<&str>, invalid: bool) -> Markup {
    html! {
        input type="text" form=(form) name=(name) value=(value) required[fallback.is_none()] maxlength=(max)
            placeholder=[fallback] aria-label=(label) aria-invalid=[invalid.then_some("true")];
    }
}

fn departments_view(c: &Ctx, failure: Option<&DeptFailure>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let mut depts = service::list_departments(c.tenant().db()?)?;
    let shown = |d: &crate::store::schema::DepartmentV2| service::department_name(d, lang).to_lowercase();
    depts.sort_by(|a, b| b.1.active.cmp(&a.1.active).then_with(|| shown(&a.1).cmp(&shown(&b.1))));
    let new_fail = failure.filter(|f| f.row.is_none());
    let new_err = new_fail.map(|f| &f.err);
    let typed = |f: fn(&NameForm) -> &str| new_fail.map(|x| f(x.typed)).unwrap_or("");
    let (l_name, l_ru, l_en) = (t(lang, "admin.departments.name"), t(lang, "admin.common.name_ru"), t(lang, "admin.common.name_en"));
    let title = t(lang, "admin.departments.title");
    let body = html! {
        h1 { (title) }
        section.card {
            h2 { (t(lang, "admin.departments.new")) }
            (form_alert(new_err))
            form.row-form method="post" action=(c.url("admin/departments")) {
                (csrf_field(c.csrf()))
                (Input::new(l_name, "name").value(typed(|f| &f.name)).required().maxlength(80).error(new_err))
                (Input::new(l_ru, "name_ru").value(typed(|f| &f.name_ru)).maxlength(80).error(new_err))
                (Input::new(l_en, "name_en").value(typed(|f| &f.name_en)).maxlength(80).error(new_err))
                button.primary type="submit" { (t(lang, "admin.departments.add")) }
            }
            p.muted.small { (t(lang, "admin.common.names_hint")) }
        }
        @if depts.is_empty() {
            p.empty { (t(lang, "admin.departments.empty")) }
        } @else {
            @if let Some(f) = failure.filter(|f| f.row.is_some()) {
                p.alert role="alert" { (f.err.message) }
            }
            div.table-wrap {
                table.data.stack.names-table {
                    thead {
                        tr {
                            th { (l_name) }
                            th { (t(lang, "admin.common.in_ru")) }
                            th { (t(lang, "admin.common.in_en")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for (id, d) in &depts {
                            @let failed = failure.filter(|f| f.row == Some(*id));
                            @let bad = |field: &str| failed.is_some_and(|f| f.err.field == Some(field) || f.err.field.is_none());
                            @let form = format!("dept-{id}");
                            tr.muted-row[!d.active] {
                                td.edit-cell data-label=(l_name) {
                                    (row_input(&form, "name", l_name, failed.map(|f| f.typed.name.as_str()).unwrap_or(&d.name), 80, None, bad("name")))
                                    @if !d.active { div.row-badge { (active_badge(lang, false)) } }
                                }
                                td.edit-cell data-label=(l_ru) {
                                    (row_input(&form, "name_ru", l_ru, failed.map(|f| f.typed.name_ru.as_str()).unwrap_or(&d.name_ru), 80, Some(&d.name), bad("name_ru")))
                                }
                                td.edit-cell data-label=(l_en) {
                                    (row_input(&form, "name_en", l_en, failed.map(|f| f.typed.name_en.as_str()).unwrap_or(&d.name_en), 80, Some(&d.name), bad("name_en")))
                                }
                                td.actions {
                                    form.inline id=(form) method="post" action=(c.url(&format!("admin/departments/{id}"))) {
                                        (csrf_field(c.csrf()))
                                        button.small type="submit" { (t(lang, "admin.common.save")) }
                                    }
                                    @if d.active {
                                        (post_button(&c.url(&format!("admin/departments/{id}/deactivate")), c.csrf(),
                                            t(lang, "admin.common.deactivate"), "small danger",
                                            Some(&tf(lang, "admin.departments.confirm_deactivate", &[("name", service::department_name(d, lang))]))))
                                    } @else {
                                        (post_button(&c.url(&format!("admin/departments/{id}/activate")), c.csrf(),
                                            t(lang, "admin.common.activate"), "small", None))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Departments, notice, body))
}

// ---------- task categories ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct CategoryForm {
    name: String,
    name_ru: String,
    name_en: String,
    color: String,
}

impl CategoryForm {
    fn input(&self) -> crate::tasks::service::CategoryInput {
        crate::tasks::service::CategoryInput {
            name: Some(self.name.clone()),
            color: Some(self.color.clone()),
            name_ru: Some(self.name_ru.clone()),
            name_en: Some(self.name_en.clone()),
            active: None,
        }
    }
}

struct CategoryFailure<'a> {
    row: Option<u64>,
    form: &'a CategoryForm,
    err: FormError,
}

fn categories_view(c: &Ctx, failure: Option<&CategoryFailure>, notice: Option<&str>) -> Result<Markup, AppError> {
    use crate::tasks::service::category_name;
    let lang = c.lang();
    let mut cats = crate::tasks::service::categories(c.tenant().db()?)?;
    let shown = |x: &crate::store::schema::CategoryV2| category_name(x, lang).to_lowercase();
    cats.sort_by(|a, b| b.1.active.cmp(&a.1.active).then_with(|| shown(&a.1).cmp(&shown(&b.1))));
    let new_fail = failure.filter(|f| f.row.is_none());
    let new_err = new_fail.map(|f| &f.err);
    let typed = |f: fn(&CategoryForm) -> &str| new_fail.map(|x| f(x.form)).unwrap_or("");
    let (l_name, l_ru, l_en) = (t(lang, "admin.categories.name"), t(lang, "admin.common.name_ru"), t(lang, "admin.common.name_en"));
    let title = t(lang, "admin.categories.title");
    let body = html! {
        h1 { (title) }
        p.muted { (t(lang, "admin.categories.about")) }
        section.card {
            h2 { (t(lang, "admin.categories.new")) }
            (form_alert(new_err))
            form.row-form method="post" action=(c.url("admin/categories")) {
                (csrf_field(c.csrf()))
                (Input::new(l_name, "name").value(typed(|f| &f.name)).required().maxlength(60).error(new_err))
                (Input::new(l_ru, "name_ru").value(typed(|f| &f.name_ru)).maxlength(60).error(new_err))
                (Input::new(l_en, "name_en").value(typed(|f| &f.name_en)).maxlength(60).error(new_err))
                label.field.color-field {
                    span { (t(lang, "admin.categories.color")) }
                    input type="color" name="color" value=(new_fail.map(|f| f.form.color.as_str()).unwrap_or("#1f6feb"));
                }
                button.primary type="submit" { (t(lang, "admin.categories.add")) }
            }
            p.muted.small { (t(lang, "admin.common.names_hint")) }
        }
        @if cats.is_empty() {
            p.empty { (t(lang, "admin.categories.empty")) }
        } @else {
            @if let Some(f) = failure.filter(|f| f.row.is_some()) {
                p.alert role="alert" { (f.err.message) }
            }
            div.table-wrap {
                table.data.stack.names-table {
                    thead {
                        tr {
                            th { (l_name) }
                            th { (t(lang, "admin.common.in_ru")) }
                            th { (t(lang, "admin.common.in_en")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for (id, cat) in &cats {
                            @let failed = failure.filter(|f| f.row == Some(*id));
                            @let bad = |field: &str| failed.is_some_and(|f| f.err.field == Some(field) || f.err.field.is_none());
                            @let form = format!("cat-{id}");
                            tr.muted-row[!cat.active] {
                                td.edit-cell data-label=(l_name) {
                                    span.color-and-name {
                                        input type="color" form=(form) name="color" value=(failed.map(|f| f.form.color.as_str()).unwrap_or(&cat.color))
                                            aria-label=(t(lang, "admin.categories.color"));
                                        (row_input(&form, "name", l_name, failed.map(|f| f.form.name.as_str()).unwrap_or(&cat.name), 60, None, bad("name")))
                                    }
                                    @if !cat.active { div.row-badge { (active_badge(lang, false)) } }
                                }
                                td.edit-cell data-label=(l_ru) {
                                    (row_input(&form, "name_ru", l_ru, failed.map(|f| f.form.name_ru.as_str()).unwrap_or(&cat.name_ru), 60, Some(&cat.name), bad("name_ru")))
                                }
                                td.edit-cell data-label=(l_en) {
                                    (row_input(&form, "name_en", l_en, failed.map(|f| f.form.name_en.as_str()).unwrap_or(&cat.name_en), 60, Some(&cat.name), bad("name_en")))
                                }
                                td.actions {
                                    form.inline id=(form) method="post" action=(c.url(&format!("admin/categories/{id}"))) {
                                        (csrf_field(c.csrf()))
                                        button.small type="submit" { (t(lang, "admin.categories.save")) }
                                    }
                                    @if cat.active {
                                        (post_button(&c.url(&format!("admin/categories/{id}/deactivate")), c.csrf(),
                                            t(lang, "admin.common.deactivate"), "small danger",
                                            Some(&tf(lang, "admin.categories.confirm_deactivate", &[("name", category_name(cat, lang))]))))
                                    } @else {
                                        (post_button(&c.url(&format!("admin/categories/{id}/activate")), c.csrf(),
                                            t(lang, "admin.common.activate"), "small", None))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Categories, notice, body))
}

async fn categories_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("company.setup")?;
    let c = Ctx::new(user, page);
    categories_view(&c, None, done_notice(c.lang(), &q))
}

async fn category_create(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<CategoryForm>,
) -> Result<Response, AppError> {
    user.require("company.setup")?;
    let c = Ctx::new(user, page);
    match crate::tasks::service::create_category(&state, c.tenant(), &Caller::from(&c.user), f.input()).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/categories?done=created")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let fail = CategoryFailure { row: None, form: &f, err: form_error(c.lang(), &e) };
            Ok(form_again(categories_view(&c, Some(&fail), None)?))
        }
        Err(e) => Err(e),
    }
}

async fn category_save(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<CategoryForm>,
) -> Result<Response, AppError> {
    user.require("company.setup")?;
    let c = Ctx::new(user, page);
    let actor = Caller::from(&c.user);
    match crate::tasks::service::update_category(&state, c.tenant(), &actor, id, f.input()).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/categories?done=saved")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let fail = CategoryFailure { row: Some(id), form: &f, err: form_error(c.lang(), &e) };
            Ok(form_again(categories_view(&c, Some(&fail), None)?))
        }
        Err(e) => Err(e),
    }
}

async fn category_set_active(state: &AppState, user: CurrentUser, id: u64, active: bool) -> Result<Response, AppError> {
    user.require("company.setup")?;
    let input = crate::tasks::service::CategoryInput { active: Some(active), ..Default::default() };
    crate::tasks::service::update_category(state, &user.tenant, &Caller::from(&user), id, input).await?;
    let done = if active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/c/{}/admin/categories?done={done}", user.tenant.slug)).into_response())
}

async fn category_activate(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<Response, AppError> {
    category_set_active(&state, user, id, true).await
}

async fn category_deactivate(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<Response, AppError> {
    category_set_active(&state, user, id, false).await
}

async fn departments_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("departments.manage")?;
    let c = Ctx::new(user, page);
    departments_view(&c, None, done_notice(c.lang(), &q))
}

async fn department_create(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<NameForm>,
) -> Result<Response, AppError> {
    user.require("departments.manage")?;
    let c = Ctx::new(user, page);
    match service::create_department(&state, c.tenant(), &Caller::from(&c.user), f.department()).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/departments?done=created")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let fail = DeptFailure { row: None, typed: &f, err: form_error(c.lang(), &e) };
            Ok(form_again(departments_view(&c, Some(&fail), None)?))
        }
        Err(e) => Err(e),
    }
}

async fn department_rename(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<NameForm>,
) -> Result<Response, AppError> {
    user.require("departments.manage")?;
    let c = Ctx::new(user, page);
    match service::update_department(&state, c.tenant(), &Caller::from(&c.user), id, f.department()).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/departments?done=saved")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let fail = DeptFailure { row: Some(id), typed: &f, err: form_error(c.lang(), &e) };
            Ok(form_again(departments_view(&c, Some(&fail), None)?))
        }
        Err(e) => Err(e),
    }
}

async fn department_set_active(state: &AppState, user: CurrentUser, id: u64, active: bool) -> Result<Response, AppError> {
    let input = service::DepartmentInput { active: Some(active), ..Default::default() };
    service::update_department(state, &user.tenant, &Caller::from(&user), id, input).await?;
    let done = if active { "activated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/c/{}/admin/departments?done={done}", user.tenant.slug)).into_response())
}

async fn department_activate(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<Response, AppError> {
    department_set_active(&state, user, id, true).await
}

async fn department_deactivate(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<Response, AppError> {
    department_set_active(&state, user, id, false).await
}

// ---------- branches ----------

async fn branches_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("branches.manage")?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let mut branches = service::list_branches(c.tenant().db()?)?;
    branches.sort_by(|a, b| b.1.active.cmp(&a.1.active).then_with(|| a.1.name.to_lowercase().cmp(&b.1.name.to_lowercase())));
    let title = t(lang, "admin.branches.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
            a.button.primary href=(c.url("admin/branches/new")) { (t(lang, "admin.branches.new")) }
        }
        @if branches.is_empty() {
            p.empty { (t(lang, "admin.branches.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack {
                    thead {
                        tr {
                            th { (t(lang, "admin.branches.name")) }
                            th { (t(lang, "admin.branches.address")) }
                            th { (t(lang, "admin.branches.hours")) }
                            th { (t(lang, "admin.users.status")) }
                        }
                    }
                    tbody {
                        @for (id, b) in &branches {
                            tr.muted-row[!b.active] {
                                td data-label=(t(lang, "admin.branches.name")) {
                                    a href=(c.url(&format!("admin/branches/{id}"))) { strong { (b.name) } }
                                }
                                td data-label=(t(lang, "admin.branches.address")) { (b.address) }
                                td data-label=(t(lang, "admin.branches.hours")) { (hours_summary(lang, &b.hours)) }
                                td data-label=(t(lang, "admin.users.status")) { (active_badge(lang, b.active)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Branches, done_notice(lang, &q), body))
}

/// What the branch form shows: typed values, kept as typed.
struct BranchForm {
    name: String,
    address: String,
    name_ru: String,
    name_en: String,
    /// The board's main language and its second one (`""`: none).
    board_main: String,
    board_second: String,
    always: bool,
    active: bool,
    /// Open, close, closed — Monday first.
    days: [(String, String, bool); 7],
}

impl BranchForm {
    fn blank() -> BranchForm {
        let mut days: [(String, String, bool); 7] = Default::default();
        for (i, d) in days.iter_mut().enumerate() {
            *d = ("09:00".into(), "18:00".into(), i >= 5);
        }
        BranchForm {
            name: String::new(),
            address: String::new(),
            name_ru: String::new(),
            name_en: String::new(),
            board_main: String::new(),
            board_second: String::new(),
            always: false,
            active: true,
            days,
        }
    }

    fn of(b: &BranchV2) -> BranchForm {
        let mut f = BranchForm::blank();
        f.name = b.name.clone();
        f.address = b.address.clone();
        f.name_ru = b.name_ru.clone();
        f.name_en = b.name_en.clone();
        f.board_main = b.board_langs.first().cloned().unwrap_or_default();
        f.board_second = b.board_langs.get(1).cloned().unwrap_or_default();
        f.active = b.active;
        match &b.hours {
            None => f.always = true,
            Some(days) => {
                for (d, slot) in days.iter().zip(f.days.iter_mut()) {
                    if let Some((o, c)) = d {
                        *slot = (format_hhmm(*o), format_hhmm(*c), false);
                    } else {
                        slot.2 = true;
                    }
                }
            }
        }
        f
    }

    /// From the posted pairs (`open_mon`, `close_mon`, `closed_mon`, …).
    fn parse(pairs: &[(String, String)]) -> BranchForm {
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let mut f = BranchForm::blank();
        f.name = get("name").unwrap_or_default();
        f.address = get("address").unwrap_or_default();
        f.name_ru = get("name_ru").unwrap_or_default();
        f.name_en = get("name_en").unwrap_or_default();
        f.board_main = get("board_main").unwrap_or_default();
        f.board_second = get("board_second").unwrap_or_default();
        f.always = get("always").is_some();
        f.active = get("active").is_some();
        for (code, slot) in WEEKDAYS.iter().zip(f.days.iter_mut()) {
            *slot = (
                get(&format!("open_{code}")).unwrap_or_default(),
                get(&format!("close_{code}")).unwrap_or_default(),
                get(&format!("closed_{code}")).is_some(),
            );
        }
        f
    }

    /// The hours for the service: `None` around the clock.
    fn hours(&self) -> Result<Option<[DayHours; 7]>, AppError> {
        if self.always {
            return Ok(None);
        }
        let days = self.days.clone().map(|(o, c, closed)| (!closed).then_some((o, c)));
        service::parse_hours(days).map(Some)
    }

    /// What the service is asked to store; `active` only when editing.
    fn input(&self, active: Option<bool>) -> Result<BranchInput, AppError> {
        // No main language: the company's language alone (a second one
        // needs a main one, so it then goes first).
        let langs: Vec<String> = [&self.board_main, &self.board_second].into_iter().filter(|l| !l.is_empty()).cloned().collect();
        Ok(BranchInput {
            name: Some(self.name.clone()),
            address: Some(self.address.clone()),
            hours: Some(self.hours()?),
            active,
            name_ru: Some(self.name_ru.clone()),
            name_en: Some(self.name_en.clone()),
            board_langs: Some(langs),
        })
    }
}

/// The board-language choices: the languages, and "none" or "the company's".
fn board_lang_options(lang: Lang, empty_label: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), t(lang, empty_label).to_string())];
    out.extend([Lang::Uz, Lang::Ru, Lang::En].map(|l| (l.code().to_string(), l.native_name().to_string())));
    out
}

fn time_input(name: &str, value: &str, label: &str) -> Markup {
    // A time input cannot hold 24:00 (closing at midnight): keep it as text.
    let kind = if value == "24:00" { "text" } else { "time" };
    html! {
        input type=(kind) name=(name) value=(value) aria-label=(label) pattern="[0-2][0-9]:[0-5][0-9]" step="60";
    }
}

fn branch_view(c: &Ctx, id: Option<u64>, f: &BranchForm, err: Option<&FormError>) -> Markup {
    let lang = c.lang();
    let title = if id.is_some() { t(lang, "admin.branches.edit_title") } else { t(lang, "admin.branches.new_title") };
    let action = match id {
        Some(id) => c.url(&format!("admin/branches/{id}")),
        None => c.url("admin/branches/new"),
    };
    let hours_err = err.and_then(|e| e.on("hours"));
    let body = html! {
        p.back { a href=(c.url("admin/branches")) { "← " (t(lang, "admin.branches.title")) } }
        section.card.form-card.wide {
            h1 { (title) }
            (form_alert(err))
            form method="post" action=(action) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "admin.branches.name"), "name").value(&f.name).required().maxlength(120).error(err))
                (Input::new(t(lang, "admin.branches.name_ru"), "name_ru").value(&f.name_ru).maxlength(120).error(err))
                (Input::new(t(lang, "admin.branches.name_en"), "name_en").value(&f.name_en).maxlength(120).error(err))
                (Input::new(t(lang, "admin.branches.address"), "address").value(&f.address).maxlength(300).error(err))
                fieldset {
                    legend { (t(lang, "admin.branches.board")) }
                    (select(t(lang, "admin.branches.board_main"), "board_main", &board_lang_options(lang, "admin.branches.board_company"), &f.board_main, err))
                    (select(t(lang, "admin.branches.board_second"), "board_second", &board_lang_options(lang, "admin.branches.board_none"), &f.board_second, err))
                }
                fieldset.hours-editor.invalid[hours_err.is_some()] data-hours="" {
                    legend { (t(lang, "admin.branches.hours")) }
                    label.check {
                        input type="checkbox" name="always" value="1" checked[f.always] data-hours-always="";
                        span { (t(lang, "admin.branches.always_label")) }
                    }
                    div.hours-days data-hours-days="" {
                        div.hours-row.hours-head aria-hidden="true" {
                            span { (t(lang, "admin.branches.day")) }
                            span { (t(lang, "admin.branches.opens")) }
                            span { (t(lang, "admin.branches.closes")) }
                            span { (t(lang, "admin.branches.closed")) }
                        }
                        @for (i, (code, (open, close, closed))) in WEEKDAYS.iter().zip(&f.days).enumerate() {
                            @let day = crate::i18n::weekday_name(lang, i);
                            div.hours-row data-hours-row="" {
                                span.day { (day) }
                                (time_input(&format!("open_{code}"), open, &format!("{day}: {}", t(lang, "admin.branches.opens"))))
                                (time_input(&format!("close_{code}"), close, &format!("{day}: {}", t(lang, "admin.branches.closes"))))
                                label.check.closed-toggle {
                                    input type="checkbox" name=(format!("closed_{code}")) value="1" checked[*closed] data-hours-closed="";
                                    span { (t(lang, "admin.branches.closed")) }
                                }
                            }
                        }
                    }
                    @if let Some(e) = hours_err {
                        small.field-error { (e) }
                    }
                }
                @if id.is_some() {
                    (checkbox(t(lang, "admin.branches.active_label"), "active", f.active))
                }
                div.form-actions {
                    button.primary type="submit" { (if id.is_some() { t(lang, "admin.common.save") } else { t(lang, "admin.branches.create") }) }
                    a.button href=(c.url("admin/branches")) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    c.render(title, Section::Branches, None, body)
}

async fn branch_new_page(user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    user.require("branches.manage")?;
    let c = Ctx::new(user, page);
    Ok(branch_view(&c, None, &BranchForm::blank(), None))
}

async fn branch_new_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require("branches.manage")?;
    let c = Ctx::new(user, page);
    let f = BranchForm::parse(&pairs);
    let result = match f.input(None) {
        Ok(input) => service::create_branch(&state, c.tenant(), &Caller::from(&c.user), input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&c.url("admin/branches?done=created")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let err = form_error(c.lang(), &e);
            Ok(form_again(branch_view(&c, None, &f, Some(&err))))
        }
        Err(e) => Err(e),
    }
}

async fn branch_edit_page(user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Markup, AppError> {
    user.require("branches.manage")?;
    let c = Ctx::new(user, page);
    let b = service::get_branch(c.tenant().db()?, id)?;
    Ok(branch_view(&c, Some(id), &BranchForm::of(&b), None))
}

async fn branch_edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require("branches.manage")?;
    let c = Ctx::new(user, page);
    let f = BranchForm::parse(&pairs);
    let result = match f.input(Some(f.active)) {
        Ok(input) => service::update_branch(&state, c.tenant(), &Caller::from(&c.user), id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&c.url("admin/branches?done=saved")).into_response()),
        Err(e) if e.field.is_some() || e.kind == ErrorKind::Conflict => {
            let err = form_error(c.lang(), &e);
            Ok(form_again(branch_view(&c, Some(id), &f, Some(&err))))
        }
        Err(e) => Err(e),
    }
}

// ---------- the company ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompanyForm {
    name: String,
    phone: String,
    address: String,
    email: String,
    timezone: String,
    file_limit_mb: String,
    storage_quota_mb: String,
}

/// A number of megabytes from the company form; `field` names it in the error.
fn parse_mb(field: &'static str, v: &str) -> Result<Option<u64>, AppError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let max = if field == "file_limit_mb" { crate::files::MAX_FILE_LIMIT_MB } else { crate::files::MAX_QUOTA_MB };
    v.parse().map(Some).map_err(|_| AppError::invalid(field, "files.bad_limit").with_arg("min", 1).with_arg("max", max))
}

fn company_view(c: &Ctx, f: &CompanyForm, err: Option<&FormError>, notice: Option<&str>) -> Markup {
    let lang = c.lang();
    let title = t(lang, "admin.company.title");
    let used = crate::files::usage(c.tenant()).unwrap_or(0);
    let storage_used = tf(lang, "admin.company.storage_used", &[("used", &crate::files::human_size(used))]);
    let body = html! {
        section.card.form-card.wide {
            h1 { (title) }
            p.muted { (t(lang, "admin.company.lead")) }
            (form_alert(err))
            form method="post" action=(c.url("admin/company")) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "admin.company.name"), "name").value(&f.name).required().maxlength(120).error(err))
                (Input::new(t(lang, "admin.company.phone"), "phone").kind("tel").value(&f.phone).autocomplete("tel").error(err))
                (Input::new(t(lang, "admin.company.address"), "address").value(&f.address).maxlength(200).error(err))
                (Input::new(t(lang, "admin.company.email"), "email").kind("email").value(&f.email).maxlength(120).error(err))
                (Input::new(t(lang, "admin.company.timezone"), "timezone").value(&f.timezone).required().list("timezones")
                    .hint(t(lang, "admin.company.timezone_hint")).error(err))
                (crate::web::pages::platform::timezones_datalist())
                (Input::new(t(lang, "admin.company.file_limit_mb"), "file_limit_mb").kind("number").value(&f.file_limit_mb).required().error(err))
                (Input::new(t(lang, "admin.company.storage_quota_mb"), "storage_quota_mb").kind("number").value(&f.storage_quota_mb).required()
                    .hint(&storage_used).error(err))
                p.muted { (tf(lang, "admin.company.platform_note", &[("slug", &c.tenant().slug)])) }
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.common.save")) }
                }
            }
        }
    };
    c.render(title, Section::Company, notice, body)
}

async fn company_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("company.setup")?;
    let c = Ctx::new(user, page);
    let info = c.tenant().info();
    let limits = crate::files::settings(c.tenant())?;
    let f = CompanyForm {
        name: info.name,
        phone: info.phone,
        address: info.address,
        email: info.email,
        timezone: info.timezone,
        file_limit_mb: (limits.max_file_bytes / (1024 * 1024)).to_string(),
        storage_quota_mb: (limits.quota_bytes / (1024 * 1024)).to_string(),
    };
    Ok(company_view(&c, &f, None, done_notice(c.lang(), &q)))
}

async fn company_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<CompanyForm>,
) -> Result<Response, AppError> {
    user.require("company.setup")?;
    let c = Ctx::new(user, page);
    let input = crate::tenancy::service::CompanySettings {
        name: Some(f.name.clone()),
        timezone: Some(f.timezone.clone()),
        phone: Some(f.phone.clone()),
        address: Some(f.address.clone()),
        email: Some(f.email.clone()),
    };
    let saved = async {
        let limit = parse_mb("file_limit_mb", &f.file_limit_mb)?;
        let quota = parse_mb("storage_quota_mb", &f.storage_quota_mb)?;
        crate::files::check_limits(limit, quota)?;
        crate::tenancy::service::update_company_settings(&state, &Caller::from(&c.user), c.tenant(), input).await?;
        crate::files::update_settings(&state, &c.user, limit, quota).await
    };
    match saved.await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/company?done=saved")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = form_error(c.lang(), &e);
            Ok(form_again(company_view(&c, &f, Some(&err), None)))
        }
        Err(e) => Err(e),
    }
}

// ---------- roles ----------

fn permission_label(lang: Lang, p: &str) -> &'static str {
    match p {
        "users.view" => t(lang, "admin.perm.users_view"),
        "users.manage" => t(lang, "admin.perm.users_manage"),
        "departments.manage" => t(lang, "admin.perm.departments_manage"),
        "branches.manage" => t(lang, "admin.perm.branches_manage"),
        "roles.manage" => t(lang, "admin.perm.roles_manage"),
        "branding.manage" => t(lang, "admin.perm.branding_manage"),
        "audit.view" => t(lang, "admin.perm.audit_view"),
        "tasks.create" => t(lang, "admin.perm.tasks_create"),
        "tasks.assign_any" => t(lang, "admin.perm.tasks_assign_any"),
        "tasks.approve" => t(lang, "admin.perm.tasks_approve"),
        "tasks.review" => t(lang, "admin.perm.tasks_review"),
        "tasks.view_all" => t(lang, "admin.perm.tasks_view_all"),
        "tasks.view_department" => t(lang, "admin.perm.tasks_view_department"),
        "queue.operate" => t(lang, "admin.perm.queue_operate"),
        "queue.manage" => t(lang, "admin.perm.queue_manage"),
        "requests.handle" => t(lang, "admin.perm.requests_handle"),
        "requests.manage" => t(lang, "admin.perm.requests_manage"),
        "reports.view_all" => t(lang, "admin.perm.reports_view_all"),
        "reports.view_department" => t(lang, "admin.perm.reports_view_department"),
        "company.setup" => t(lang, "admin.perm.company_setup"),
        _ => "",
    }
}

/// The heading of the group a permission starts, if it starts one.
fn permission_group(lang: Lang, p: &str) -> Option<&'static str> {
    match p {
        "users.view" => Some(t(lang, "admin.perm_group.admin")),
        "tasks.create" => Some(t(lang, "admin.perm_group.tasks")),
        "queue.operate" => Some(t(lang, "admin.perm_group.service")),
        "reports.view_all" => Some(t(lang, "admin.perm_group.reports")),
        "company.setup" => Some(t(lang, "admin.perm_group.other")),
        _ => None,
    }
}

async fn roles_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("roles.manage")?;
    let c = Ctx::new(user, page);
    let matrix = service::roles_matrix(c.tenant().db()?)?;
    Ok(roles_view(&c, &matrix, None, done_notice(c.lang(), &q)))
}

/// The role matrix with the boxes of `matrix` ticked: the saved one, or
/// after a refusal what was sent, with the reason above it.
fn roles_view(c: &Ctx, matrix: &[(&str, Vec<String>)], err: Option<&FormError>, notice: Option<&str>) -> Markup {
    let lang = c.lang();
    let title = t(lang, "admin.roles.title");
    let cols = matrix.len() + 1;
    let body = html! {
        h1 { (title) }
        p.muted { (t(lang, "admin.roles.lead")) }
        (form_alert(err))
        form method="post" action=(c.url("admin/roles")) {
            (csrf_field(c.csrf()))
            div.table-wrap.matrix-wrap {
                table.data.matrix {
                    thead {
                        tr {
                            th scope="col" { (t(lang, "admin.roles.permission")) }
                            @for (role, _) in matrix {
                                th scope="col" { (role_label(lang, role)) }
                            }
                        }
                    }
                    tbody {
                        @for perm in rbac::PERMISSIONS {
                            @if let Some(g) = permission_group(lang, perm) {
                                tr.group { th colspan=(cols) scope="colgroup" { (g) } }
                            }
                            tr {
                                th scope="row" { (permission_label(lang, perm)) }
                                @for (role, perms) in matrix {
                                    @let label = format!("{}: {}", role_label(lang, role), permission_label(lang, perm));
                                    td {
                                        @if *role == "owner" {
                                            input type="checkbox" checked disabled aria-label=(label);
                                        } @else {
                                            input type="checkbox" name="p" value=(format!("{role}:{perm}"))
                                                checked[perms.iter().any(|p| p == perm)] aria-label=(label);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.muted.small { (t(lang, "validation.owner_fixed")) }
            div.form-actions {
                // One save for the whole matrix: every role's boxes are sent together.
                button.primary type="submit" name="role" value="*" { (t(lang, "admin.roles.save_all")) }
            }
        }
    };
    c.render(title, Section::Roles, notice, body)
}

async fn roles_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    user.require("roles.manage")?;
    let c = Ctx::new(user, page);
    let which = pairs.iter().find(|(k, _)| k == "role").map(|(_, v)| v.clone()).unwrap_or_else(|| "*".into());
    let chosen: Vec<(&str, &str)> = pairs.iter().filter(|(k, _)| k == "p").filter_map(|(_, v)| v.split_once(':')).collect();
    let current = service::roles_matrix(c.tenant().db()?)?;
    let actor = Caller::from(&c.user);
    let sent = |role: &str| -> Vec<String> { chosen.iter().filter(|(r, _)| *r == role).map(|(_, p)| p.to_string()).collect() };
    let in_scope = |role: &str| role != "owner" && (which == "*" || which == role);
    for (role, before) in current {
        if !in_scope(role) {
            continue;
        }
        let perms = sent(role);
        let mut a = perms.clone();
        let mut b = before.clone();
        a.sort();
        b.sort();
        // Only a real change is written, so that the audit log stays meaningful.
        if a != b
            && let Err(e) = service::set_role_permissions(&state, c.tenant(), &actor, role, perms).await
        {
            if !(e.field.is_some() || e.kind == ErrorKind::Conflict) {
                return Err(e);
            }
            // The matrix again: what was sent for the roles being saved,
            // the store's for the others (and any role saved before this one).
            let shown: Vec<(&str, Vec<String>)> = service::roles_matrix(c.tenant().db()?)?
                .into_iter()
                .map(|(r, saved)| if in_scope(r) { (r, sent(r)) } else { (r, saved) })
                .collect();
            return Ok(form_again(roles_view(&c, &shown, Some(&form_error(c.lang(), &e)), None)));
        }
    }
    Ok(Redirect::to(&c.url("admin/roles?done=saved")).into_response())
}

// ---------- branding ----------

fn branding_view(c: &Ctx, err: Option<&FormError>, logo_err: Option<&FormError>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tenant = c.tenant();
    let b = branding::get(tenant.db()?)?;
    let color = b.primary_color.clone().unwrap_or_else(|| branding::DEFAULT_COLOR.to_string());
    let logo_url = b.logo_content_type.as_ref().map(|_| c.url(&format!("logo?v={}", b.logo_version)));
    let upload_action = format!("{}?_csrf={}", c.url("admin/branding/logo"), c.csrf());
    let title = t(lang, "admin.branding.title");
    let body = html! {
        h1 { (title) }
        div.two-col {
            section.card {
                h2 { (t(lang, "admin.branding.color_title")) }
                p.muted { (t(lang, "admin.branding.color_lead")) }
                (form_alert(err))
                form method="post" action=(c.url("admin/branding")) {
                    (csrf_field(c.csrf()))
                    div.field.color-field {
                        label for="f-primary_color" { (t(lang, "admin.branding.color")) }
                        div.color-row {
                            input id="f-primary_color" type="color" name="primary_color" value=(color) data-brand-preview="";
                            code.mono data-brand-value="" { (color) }
                        }
                    }
                    div.brand-sample aria-hidden="true" {
                        span.sample-button { (t(lang, "admin.branding.sample_button")) }
                        span.sample-link { (t(lang, "admin.branding.sample_link")) }
                        span.badge.brand { (t(lang, "admin.branding.sample_badge")) }
                    }
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "admin.common.save")) }
                        button type="submit" name="reset" value="1" { (t(lang, "admin.branding.reset")) }
                    }
                }
            }
            section.card {
                h2 { (t(lang, "admin.branding.logo_title")) }
                p.muted { (tf(lang, "admin.branding.logo_lead", &[("kb", &(branding::MAX_LOGO_BYTES / 1024).to_string())])) }
                (form_alert(logo_err))
                div.logo-preview {
                    @if let Some(src) = &logo_url {
                        img src=(src) alt=(t(lang, "admin.branding.current_logo")) data-logo-preview="";
                    } @else {
                        img src="data:," alt="" hidden data-logo-preview="";
                        span.muted data-logo-empty="" { (t(lang, "admin.branding.no_logo")) }
                    }
                }
                form method="post" action=(upload_action) enctype="multipart/form-data" {
                    div.field {
                        label for="f-logo" { (t(lang, "admin.branding.choose")) }
                        input id="f-logo" type="file" name="logo" accept="image/png,image/jpeg,image/webp,image/gif" required data-logo-input="";
                    }
                    div.form-actions {
                        button.primary type="submit" { (t(lang, "admin.branding.upload")) }
                    }
                }
                @if logo_url.is_some() {
                    (post_button(&c.url("admin/branding/logo/remove"), c.csrf(), t(lang, "admin.branding.remove"), "danger",
                        Some(t(lang, "admin.branding.remove_confirm"))))
                }
            }
        }
    };
    Ok(c.render(title, Section::Branding, notice, body))
}

async fn branding_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    user.require("branding.manage")?;
    let c = Ctx::new(user, page);
    branding_view(&c, None, None, done_notice(c.lang(), &q))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ColorForm {
    primary_color: String,
    reset: Option<String>,
}

async fn branding_color(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<ColorForm>,
) -> Result<Response, AppError> {
    user.require("branding.manage")?;
    let c = Ctx::new(user, page);
    let color = if checked(&f.reset) { None } else { Some(f.primary_color.clone()) };
    let change = BrandingChange { primary_color: Some(color), logo: None, remove_logo: false };
    match branding::update(&state, c.tenant(), &Caller::from(&c.user), change).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/branding?done=saved")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = form_error(c.lang(), &e);
            Ok(form_again(branding_view(&c, Some(&err), None, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn branding_logo(State(state): State<AppState>, user: CurrentUser, page: Page, mut form: Multipart) -> Result<Response, AppError> {
    user.require("branding.manage")?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let mut logo = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        if field.name() == Some("logo") {
            match field.bytes().await {
                Ok(b) => logo = b.to_vec(),
                Err(e) => return Err(multipart_error(e)),
            }
        }
    }
    if logo.is_empty() {
        let err = FormError { message: t(lang, "admin.branding.choose_file").to_string(), field: Some("logo") };
        return Ok(form_again(branding_view(&c, None, Some(&err), None)?));
    }
    let change = BrandingChange { primary_color: None, logo: Some(logo), remove_logo: false };
    match branding::update(&state, c.tenant(), &Caller::from(&c.user), change).await {
        Ok(_) => Ok(Redirect::to(&c.url("admin/branding?done=logo")).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::PayloadTooLarge | ErrorKind::UnsupportedMediaType) => {
            let err = form_error(lang, &e);
            Ok(form_again(branding_view(&c, None, Some(&err), None)?))
        }
        Err(e) => Err(e),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    let kind = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { ErrorKind::PayloadTooLarge } else { ErrorKind::BadRequest };
    AppError::new(kind).with_arg("detail", e.body_text())
}

async fn branding_logo_remove(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let change = BrandingChange { primary_color: None, logo: None, remove_logo: true };
    branding::update(&state, &user.tenant, &Caller::from(&user), change).await?;
    Ok(Redirect::to(&format!("/c/{}/admin/branding?done=logo_removed", user.tenant.slug)).into_response())
}

// ---------- audit ----------

#[derive(Deserialize, Default)]
struct AuditQuery {
    before: Option<u64>,
    /// A user id, `0` for the system; empty: anyone.
    who: Option<String>,
    kind: Option<String>,
    /// `YYYY-MM-DD`, in the company's time zone.
    from: Option<String>,
    to: Option<String>,
}

const AUDIT_PAGE: usize = 50;

impl AuditQuery {
    /// The filters as the query string of a link (without `before`).
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("who", &self.who), ("kind", &self.kind), ("from", &self.from), ("to", &self.to)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

fn change_item(n: &audit::Narrator, ch: &audit::ChangeText) -> Markup {
    html! {
        li {
            span.field-name { (ch.field) ": " }
            @if ch.secret {
                span.after { (n.change_words(ch)) }
            } @else if ch.list && ch.from.is_some() {
                @if !ch.added.is_empty() { span.added { "+ " (ch.added.join(", ")) } " " }
                @if !ch.removed.is_empty() { span.removed { "− " (ch.removed.join(", ")) } }
            } @else {
                @if let Some(f) = &ch.from {
                    span.before { (f) }
                    " → "
                }
                span.after { (ch.to.clone().unwrap_or_else(|| "—".into())) }
            }
        }
    }
}

async fn audit_page(user: CurrentUser, page: Page, Query(q): Query<AuditQuery>) -> Result<Markup, AppError> {
    user.require("audit.view")?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let actor_id = q.who.as_deref().and_then(|w| w.parse().ok());
    let filter = audit::Filter::lenient(actor_id, q.kind.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz);
    let mut rows = audit::list_filtered(db, &who, &filter, q.before, AUDIT_PAGE + 1)?;
    let more = rows.len() > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE);
    let n = audit::Narrator::load(db, &who, lang)?;
    let title = t(lang, "admin.audit.title");
    let filtered = q.query();
    let link = |before: Option<u64>| {
        let mut parts: Vec<String> = Vec::new();
        if !filtered.is_empty() {
            parts.push(filtered.clone());
        }
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        if parts.is_empty() { c.url("admin/audit") } else { c.url(&format!("admin/audit?{}", parts.join("&"))) }
    };
    let sel_who = q.who.clone().unwrap_or_default();
    let sel_kind = q.kind.clone().unwrap_or_default();
    let body = html! {
        h1 { (title) }
        p.muted { (tf(lang, "admin.audit.lead", &[("tz", &c.tenant().info().timezone)])) }
        form.filters.audit-filters method="get" action=(c.url("admin/audit")) {
            div.filter-grid {
            label.field {
                span { (t(lang, "admin.audit.filter.who")) }
                select name="who" {
                    option value="" selected[sel_who.is_empty()] { (t(lang, "admin.audit.filter.anyone")) }
                    @for (id, name) in n.people() {
                        option value=(id) selected[sel_who == id.to_string()] { (name) }
                    }
                    option value="0" selected[sel_who == "0"] { (t(lang, "admin.audit.system")) }
                }
            }
            label.field {
                span { (t(lang, "admin.audit.filter.kind")) }
                select name="kind" {
                    option value="" selected[sel_kind.is_empty()] { (t(lang, "admin.audit.filter.any_kind")) }
                    @for k in audit::KINDS {
                        option value=(k) selected[sel_kind == *k] { (n.kind_label(k)) }
                    }
                }
            }
            label.field {
                span { (t(lang, "admin.audit.filter.from")) }
                input type="date" name="from" value=(q.from.clone().unwrap_or_default());
            }
            label.field {
                span { (t(lang, "admin.audit.filter.to")) }
                input type="date" name="to" value=(q.to.clone().unwrap_or_default());
            }
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "admin.audit.filter.apply")) }
                @if !filtered.is_empty() {
                    a.button href=(c.url("admin/audit")) { (t(lang, "admin.audit.filter.reset")) }
                }
            }
        }
        @if rows.is_empty() {
            p.empty { (t(lang, if filtered.is_empty() { "admin.audit.empty" } else { "admin.audit.none_match" })) }
        } @else {
            ul.audit-log {
                @for (id, a) in &rows {
                    @let told = n.tell(a);
                    li.audit-entry id=(format!("audit-{id}")) {
                        p.audit-head {
                            time.muted { (layout::local_time(a.at, &tz)) }
                            " · "
                            span.who { @if a.actor_id == 0 { (t(lang, "admin.audit.system")) } @else { (a.actor_name) } }
                            " · "
                            strong.what { (told.title) }
                        }
                        p.audit-sentence { (told.sentence) }
                        @if told.changes.len() > 1 {
                            details {
                                summary { (t(lang, "admin.audit.changes")) }
                                ul.changes {
                                    @for ch in &told.changes { (change_item(&n, ch)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label=(t(lang, "admin.audit.pages")) {
            @if q.before.is_some() {
                a.button href=(link(None)) { "« " (t(lang, "admin.audit.newest")) }
            }
            @if let Some((last, _)) = rows.last().filter(|_| more) {
                a.button href=(link(Some(*last))) { (t(lang, "admin.audit.older")) " →" }
            }
        }
    };
    Ok(c.render(title, Section::Audit, None, body))
}
