//! The task pages: the lists and the department board, the task page with
//! the moves its reader may make and its history, the new-task and edit
//! forms, the calendar and the notification centre. Every change goes
//! through `tasks::service`, whose errors the pages show; these handlers
//! only read forms and draw pages, in the company's time zone.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf, tn};
use crate::org::service::Colleague;
use crate::store::schema::{TaskEventV1, TaskStatus, TaskV1};
use crate::tasks::service::{self, Filter, Move, NewTask, TaskPatch};
use crate::tasks::{STATUSES, is_final, parse_status, status_code, status_label};
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{FormError, Input, csrf_field, form_alert, local_time, post_button, select};
use crate::web::pages::org::{Ctx, Section};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list_page))
        .route("/tasks/new", get(new_page).post(new_submit))
        .route("/tasks/{id}", get(task_page))
        .route("/tasks/{id}/edit", get(edit_page).post(edit_submit))
        .route("/tasks/{id}/{action}", post(act))
        .route("/calendar", get(calendar_page))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read", post(notifications_read))
}

// ---------- small helpers ----------

/// Rows a list page shows at once.
const PAGE_SIZE: usize = 50;
/// Tasks an inbox tab shows at most (an inbox is meant to be emptied).
const INBOX_SIZE: usize = 200;
/// Cards a board column shows at most.
const COLUMN_SIZE: usize = 100;
/// The columns of the department board: the open statuses.
const BOARD: [TaskStatus; 6] = [
    TaskStatus::AwaitingApproval,
    TaskStatus::New,
    TaskStatus::InProgress,
    TaskStatus::PendingReview,
    TaskStatus::Redo,
    TaskStatus::Overdue,
];

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

fn zoned(ms: i64, tz: &TimeZone) -> jiff::Zoned {
    crate::clock::from_ms(ms).to_zoned(tz.clone())
}

fn hhmm(ms: i64, tz: &TimeZone) -> String {
    zoned(ms, tz).strftime("%H:%M").to_string()
}

/// A stored time as a `datetime-local` value in the company's time zone.
fn input_time(ms: i64, tz: &TimeZone) -> String {
    zoned(ms, tz).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// A `datetime-local` value, read in the company's time zone, as RFC 3339
/// for the service. Anything else is passed on as typed: the service says
/// what is wrong with it.
fn from_input(s: &str, tz: &TimeZone) -> String {
    let v = s.trim();
    match v.parse::<jiff::civil::DateTime>().ok().and_then(|dt| dt.to_zoned(tz.clone()).ok()) {
        Some(z) => z.timestamp().to_string(),
        None => v.to_string(),
    }
}

/// The first millisecond of a day in the company's time zone.
fn day_start(d: Date, tz: &TimeZone) -> i64 {
    d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(0)
}

fn parse_date(s: &str) -> Option<Date> {
    s.trim().parse::<Date>().ok().filter(|d| (1970..=2200).contains(&d.year()))
}

fn opt_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// Browsers send a textarea's line breaks as CRLF.
fn lines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn parse_points(s: &str) -> Result<u32, AppError> {
    let v = s.trim();
    if v.is_empty() {
        return Ok(0);
    }
    v.parse().map_err(|_| AppError::invalid("points", "validation.points").with_arg("max", service::POINTS_MAX))
}

/// "2 d 3 h" / "1 h 5 min 10 s", as the countdown script writes it.
fn span_text(lang: Lang, ms: i64) -> String {
    let units: Vec<&str> = t(lang, "tasks.units").split(',').collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or("");
    let ms = ms.abs();
    let (d, h, m, s) = (ms / 86_400_000, ms % 86_400_000 / 3_600_000, ms % 3_600_000 / 60_000, ms % 60_000 / 1000);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}\u{a0}{}", unit(0)));
    }
    if d > 0 || h > 0 {
        parts.push(format!("{h}\u{a0}{}", unit(1)));
    }
    parts.push(format!("{m}\u{a0}{}", unit(2)));
    if d == 0 {
        parts.push(format!("{s}\u{a0}{}", unit(3)));
    }
    parts.join(" ")
}

/// Time spent, to the minute.
fn spent_text(lang: Lang, secs: i64) -> String {
    let units: Vec<&str> = t(lang, "tasks.units").split(',').collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or("");
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    if h > 0 { format!("{h}\u{a0}{} {m}\u{a0}{}", unit(1), unit(2)) } else { format!("{m}\u{a0}{}", unit(2)) }
}

pub(crate) fn badge(lang: Lang, s: TaskStatus) -> Markup {
    html! { span class=(format!("badge st st-{}", status_code(s))) { (status_label(lang, status_code(s))) } }
}

fn category_chip(c: &Named) -> Markup {
    html! {
        span.cat {
            svg.dot viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" focusable="false" {
                circle cx="5" cy="5" r="5" fill=(c.color) {}
            }
            (c.name)
        }
    }
}

pub(crate) fn month_name(lang: Lang, m: i8) -> &'static str {
    match m {
        1 => t(lang, "tasks.month.jan"),
        2 => t(lang, "tasks.month.feb"),
        3 => t(lang, "tasks.month.mar"),
        4 => t(lang, "tasks.month.apr"),
        5 => t(lang, "tasks.month.may"),
        6 => t(lang, "tasks.month.jun"),
        7 => t(lang, "tasks.month.jul"),
        8 => t(lang, "tasks.month.aug"),
        9 => t(lang, "tasks.month.sep"),
        10 => t(lang, "tasks.month.oct"),
        11 => t(lang, "tasks.month.nov"),
        _ => t(lang, "tasks.month.dec"),
    }
}

/// A month as it follows a day number: "4 May", "4 мая", "4-may".
fn month_of(lang: Lang, m: i8) -> &'static str {
    match m {
        1 => t(lang, "tasks.month_of.jan"),
        2 => t(lang, "tasks.month_of.feb"),
        3 => t(lang, "tasks.month_of.mar"),
        4 => t(lang, "tasks.month_of.apr"),
        5 => t(lang, "tasks.month_of.may"),
        6 => t(lang, "tasks.month_of.jun"),
        7 => t(lang, "tasks.month_of.jul"),
        8 => t(lang, "tasks.month_of.aug"),
        9 => t(lang, "tasks.month_of.sep"),
        10 => t(lang, "tasks.month_of.oct"),
        11 => t(lang, "tasks.month_of.nov"),
        _ => t(lang, "tasks.month_of.dec"),
    }
}

fn day_month(lang: Lang, d: Date) -> String {
    tf(lang, "tasks.calendar.day_month", &[("day", &d.day().to_string()), ("month", month_of(lang, d.month()))])
}

fn done_notice(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => t(lang, "tasks.notice.created"),
        "awaiting" => t(lang, "tasks.notice.awaiting"),
        "started" => t(lang, "tasks.notice.started"),
        "submitted" => t(lang, "tasks.notice.submitted"),
        "completed" => t(lang, "tasks.notice.completed"),
        "sent_back" => t(lang, "tasks.notice.sent_back"),
        "rejected" => t(lang, "tasks.notice.rejected"),
        "approved" => t(lang, "tasks.notice.approved"),
        "declined" => t(lang, "tasks.notice.declined"),
        "deadline_set" => t(lang, "tasks.notice.deadline_set"),
        "deadline_requested" => t(lang, "tasks.notice.deadline_requested"),
        "saved" => t(lang, "tasks.notice.saved"),
        "deleted" => t(lang, "tasks.notice.deleted"),
        "read" => t(lang, "tasks.notice.read"),
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneQuery {
    done: String,
}

/// A labelled `<textarea>` with its hint and the error of its field.
struct TextArea<'a> {
    label: &'a str,
    name: &'a str,
    id: String,
    value: &'a str,
    error: Option<&'a str>,
    required: bool,
    rows: u32,
    max: usize,
    hint: Option<&'a str>,
}

impl<'a> TextArea<'a> {
    fn new(label: &'a str, name: &'a str, id: &str) -> Self {
        TextArea { label, name, id: id.to_string(), value: "", error: None, required: false, rows: 3, max: 2000, hint: None }
    }
    fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    fn error(mut self, e: Option<&'a FormError>) -> Self {
        self.error = e.and_then(|e| e.on(self.name));
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn rows(mut self, n: u32) -> Self {
        self.rows = n;
        self
    }
    fn max(mut self, n: usize) -> Self {
        self.max = n;
        self
    }
    fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }
}

impl maud::Render for TextArea<'_> {
    fn render(&self) -> Markup {
        let hint_id = format!("{}-hint", self.id);
        let err_id = format!("{}-error", self.id);
        let describedby: Vec<&str> =
            [self.hint.map(|_| hint_id.as_str()), self.error.map(|_| err_id.as_str())].into_iter().flatten().collect();
        html! {
            div.field.invalid[self.error.is_some()] {
                label for=(self.id) { (self.label) }
                textarea id=(self.id) name=(self.name) rows=(self.rows) maxlength=(self.max) required[self.required]
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[(!describedby.is_empty()).then(|| describedby.join(" "))] { (self.value) }
                @if let Some(h) = self.hint {
                    small.hint id=(hint_id) { (h) }
                }
                @if let Some(e) = self.error {
                    small.field-error id=(err_id) { (e) }
                }
            }
        }
    }
}

/// A department or a category as a page shows it: its name in the reader's
/// language (a department's colour is empty).
struct Named {
    name: String,
    color: String,
    active: bool,
}

/// Names of the people, departments and categories a page mentions.
struct Names {
    users: HashMap<u64, Colleague>,
    depts: HashMap<u64, Named>,
    cats: HashMap<u64, Named>,
}

impl Names {
    /// What the reader may know of the company: every colleague's name.
    fn load(c: &Ctx) -> Result<Names, AppError> {
        let db = c.tenant().db()?;
        let lang = c.lang();
        Ok(Names {
            users: crate::org::service::directory(db, &Caller::from(&c.user))?.into_iter().collect(),
            depts: crate::org::service::list_departments(db)?
                .into_iter()
                .map(|(id, d)| {
                    let name = crate::org::service::department_name(&d, lang).to_string();
                    (id, Named { name, color: String::new(), active: d.active })
                })
                .collect(),
            cats: service::categories(db)?
                .into_iter()
                .map(|(id, k)| (id, Named { name: service::category_name(&k, lang).to_string(), color: k.color, active: k.active }))
                .collect(),
        })
    }

    fn user(&self, id: u64) -> String {
        self.users.get(&id).map(|u| u.name.clone()).unwrap_or_else(|| format!("#{id}"))
    }

    fn dept(&self, id: Option<u64>) -> String {
        id.and_then(|d| self.depts.get(&d)).map(|d| d.name.clone()).unwrap_or_else(|| "—".into())
    }

    /// Active users to hand a task to: "Name — Department", by name; the
    /// current one too even when switched off.
    fn assignee_options(&self, lang: Lang, current: Option<u64>) -> Vec<(String, String)> {
        let mut people: Vec<(u64, String)> = self
            .users
            .iter()
            .filter(|(id, a)| a.active || Some(**id) == current)
            .map(|(id, a)| {
                let name = self.user(*id);
                let label = match a.department_id {
                    Some(_) => format!("{name} — {}", self.dept(a.department_id)),
                    None => name,
                };
                (*id, label)
            })
            .collect();
        people.sort_by_key(|(_, l)| l.to_lowercase());
        let mut v = vec![(String::new(), t(lang, "tasks.form.choose").to_string())];
        v.extend(people.into_iter().map(|(id, l)| (id.to_string(), l)));
        v
    }

    fn user_options(&self, lang: Lang) -> Vec<(String, String)> {
        let mut people: Vec<(u64, String)> = self.users.keys().map(|id| (*id, self.user(*id))).collect();
        people.sort_by_key(|(_, l)| l.to_lowercase());
        let mut v = vec![(String::new(), t(lang, "tasks.filter.anyone").to_string())];
        v.extend(people.into_iter().map(|(id, l)| (id.to_string(), l)));
        v
    }

    fn dept_options(&self, first: (String, String)) -> Vec<(String, String)> {
        let mut ds: Vec<(&u64, &Named)> = self.depts.iter().filter(|(_, d)| d.active).collect();
        ds.sort_by_key(|(_, d)| d.name.to_lowercase());
        let mut v = vec![first];
        v.extend(ds.into_iter().map(|(id, d)| (id.to_string(), d.name.clone())));
        v
    }

    fn category_options(&self, first: (String, String), current: Option<u64>) -> Vec<(String, String)> {
        let mut cs: Vec<(&u64, &Named)> = self.cats.iter().filter(|(id, c)| c.active || Some(**id) == current).collect();
        cs.sort_by_key(|(_, c)| c.name.to_lowercase());
        let mut v = vec![first];
        v.extend(cs.into_iter().map(|(id, c)| (id.to_string(), c.name.clone())));
        v
    }
}

fn status_options(lang: Lang) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), t(lang, "tasks.filter.any_status").to_string())];
    v.extend(STATUSES.iter().map(|s| (status_code(*s).to_string(), status_label(lang, status_code(*s)).to_string())));
    v
}

// ---------- the lists and the board ----------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Mine,
    Given,
    Department,
    All,
    /// Waiting for my approval (a director).
    Approval,
    /// Waiting for my review (whoever gives or reviews tasks).
    Review,
}

impl Tab {
    fn code(self) -> &'static str {
        match self {
            Tab::Mine => "mine",
            Tab::Given => "given",
            Tab::Department => "department",
            Tab::All => "all",
            Tab::Approval => "approval",
            Tab::Review => "review",
        }
    }

    /// The core's inbox behind an inbox tab.
    fn inbox(self) -> Option<service::Inbox> {
        match self {
            Tab::Approval => Some(service::Inbox::Approval),
            Tab::Review => Some(service::Inbox::Review),
            _ => None,
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Tab::Mine => t(lang, "tasks.tab.mine"),
            Tab::Given => t(lang, "tasks.tab.given"),
            Tab::Department => t(lang, "tasks.tab.department"),
            Tab::All => t(lang, "tasks.tab.all"),
            Tab::Approval => t(lang, "tasks.tab.approval"),
            Tab::Review => t(lang, "tasks.tab.review"),
        }
    }
}

/// The tabs a user has: their own tasks always; the inboxes of those who
/// approve and who give or review tasks; what they gave when they may
/// give; the board and everything by permission.
fn tabs_for(user: &CurrentUser) -> Vec<Tab> {
    let mut v = vec![Tab::Mine];
    if crate::auth::rbac::acts_as_director(|p| user.can(p)) {
        v.push(Tab::Approval);
    }
    if user.can("tasks.create") || user.can("tasks.review") {
        v.push(Tab::Review);
    }
    if user.can("tasks.create") {
        v.push(Tab::Given);
    }
    if user.can("tasks.view_department") || user.can("tasks.view_all") {
        v.push(Tab::Department);
    }
    if user.can("tasks.view_all") {
        v.push(Tab::All);
    }
    v
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    tab: String,
    status: String,
    assignee_id: String,
    department_id: String,
    category_id: String,
    due_from: String,
    due_to: String,
    q: String,
    cursor: String,
    done: String,
}

impl ListQuery {
    /// This list's address with another cursor.
    fn href(&self, c: &Ctx, tab: Tab, cursor: Option<u64>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("tab", tab.code());
        for (k, v) in [
            ("status", &self.status),
            ("assignee_id", &self.assignee_id),
            ("department_id", &self.department_id),
            ("category_id", &self.category_id),
            ("due_from", &self.due_from),
            ("due_to", &self.due_to),
            ("q", &self.q),
        ] {
            if !v.trim().is_empty() {
                s.append_pair(k, v.trim());
            }
        }
        if let Some(cur) = cursor {
            s.append_pair("cursor", &cur.to_string());
        }
        c.url(&format!("tasks?{}", s.finish()))
    }
}

async fn list_page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<ListQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let tabs = tabs_for(&c.user);
    let tab = tabs.iter().copied().find(|t| t.code() == q.tab).unwrap_or(Tab::Mine);
    let names = Names::load(&c)?;
    let counts = c.inbox_counts();
    let count = |tb: Tab| match tb {
        Tab::Approval => Some(counts.approval),
        Tab::Review => Some(counts.review),
        _ => None,
    };
    let content = match tab {
        Tab::Department if q.q.trim().is_empty() => board(&c, &names, &q, state.now_ms())?,
        _ => task_list(&state, &c, &names, tab, &q)?,
    };
    let title = t(lang, "tasks.list.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
            @if c.user.can("tasks.create") {
                a.button.primary href=(c.url("tasks/new")) { "+ " (t(lang, "tasks.new.title")) }
            }
        }
        @if tabs.len() > 1 {
            nav.subtabs aria-label=(title) {
                @for tb in &tabs {
                    a href=(c.url(&format!("tasks?tab={}", tb.code()))) class=[(*tb == tab).then_some("active")]
                        aria-current=[(*tb == tab).then_some("page")] {
                        (tb.label(lang))
                        @if let Some(n) = count(*tb) {
                            " " span class=(if n > 0 { "count has" } else { "count" }) data-inbox=(tb.code()) { (n) }
                        }
                    }
                }
            }
        }
        (content)
    };
    Ok(c.render(title, Section::Tasks, done_notice(lang, &q.done), body))
}

fn task_list(state: &AppState, c: &Ctx, names: &Names, tab: Tab, q: &ListQuery) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let mut f = Filter { status: parse_status(q.status.trim()), ..Filter::default() };
    match tab {
        Tab::Mine => {
            // The home page links "due today" here.
            f.assignee_id = Some(c.user.id);
            f.due_from = parse_date(&q.due_from).map(|d| day_start(d, &tz));
            f.due_to = parse_date(&q.due_to).and_then(|d| d.tomorrow().ok()).map(|d| day_start(d, &tz) - 1);
        }
        Tab::Given => f.creator_id = Some(c.user.id),
        _ => {
            f.assignee_id = opt_id(&q.assignee_id);
            f.department_id = opt_id(&q.department_id);
            f.category_id = opt_id(&q.category_id);
            f.due_from = parse_date(&q.due_from).map(|d| day_start(d, &tz));
            f.due_to = parse_date(&q.due_to).and_then(|d| d.tomorrow().ok()).map(|d| day_start(d, &tz) - 1);
        }
    }
    let text: String = q.q.trim().chars().take(200).collect();
    let searching = !text.is_empty();
    let cursor = opt_id(&q.cursor);
    let inbox = tab.inbox();
    // Each tab searches its own list; the core keeps it to what the caller may see.
    let within = match tab {
        Tab::Mine => service::Within::Assigned,
        Tab::Given => service::Within::Given,
        Tab::Department => board_department(c, names, q).map_or(service::Within::Visible, service::Within::Department),
        Tab::All => service::Within::Visible,
        Tab::Approval => service::Within::Inbox(service::Inbox::Approval),
        Tab::Review => service::Within::Inbox(service::Inbox::Review),
    };
    let (items, next, total) = if let Some(inbox) = inbox.filter(|_| !searching) {
        (service::inbox(db, &who, inbox, INBOX_SIZE)?, None, None)
    } else if searching {
        let query = crate::search::SearchQuery {
            text,
            status: f.status,
            department_id: f.department_id,
            due_from: f.due_from,
            due_to: f.due_to,
            ..Default::default()
        };
        let (found, total) = service::search_within(state, c.tenant(), &who, &query, within, 100)?;
        let items: Vec<(u64, TaskV1)> = found
            .into_iter()
            .filter(|(_, t)| f.assignee_id.is_none_or(|a| a == t.assignee_id) && f.category_id.is_none_or(|k| Some(k) == t.category_id))
            .collect();
        (items, None, Some(total))
    } else {
        let (items, next) = service::list(db, &who, &f, cursor, PAGE_SIZE)?;
        (items, next, None)
    };
    let now = state.now_ms();
    let filters = html! {
        form.filters.compact[tab != Tab::All] method="get" action=(c.url("tasks")) {
            input type="hidden" name="tab" value=(tab.code());
            @if tab == Tab::Department {
                input type="hidden" name="department_id" value=(q.department_id.trim());
            }
            div.field.search-field {
                label for="f-q" { (t(lang, "tasks.filter.search")) }
                input id="f-q" type="search" name="q" value=(q.q) maxlength="200" placeholder=(t(lang, "tasks.filter.search_hint"));
            }
            @if inbox.is_none() && tab != Tab::Department {
            div.filter-grid {
                (select(t(lang, "tasks.field.status"), "status", &status_options(lang), q.status.trim(), None))
                @if tab == Tab::All {
                    (select(t(lang, "tasks.field.assignee"), "assignee_id", &names.user_options(lang), q.assignee_id.trim(), None))
                    (select(t(lang, "tasks.field.department"), "department_id",
                        &names.dept_options((String::new(), t(lang, "tasks.filter.any_department").to_string())), q.department_id.trim(), None))
                    @if !names.cats.is_empty() {
                        (select(t(lang, "tasks.field.category"), "category_id",
                            &names.category_options((String::new(), t(lang, "tasks.filter.any_category").to_string()), None), q.category_id.trim(), None))
                    }
                    (Input::new(t(lang, "tasks.filter.due_from"), "due_from").kind("date").value(q.due_from.trim()))
                    (Input::new(t(lang, "tasks.filter.due_to"), "due_to").kind("date").value(q.due_to.trim()))
                }
            }
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "tasks.filter.apply")) }
                a.button href=(c.url(&format!("tasks?tab={}", tab.code()))) { (t(lang, "tasks.filter.reset")) }
            }
        }
    };
    Ok(html! {
        (filters)
        div #live-region data-live-tasks="" {
            @if let Some(total) = total {
                p.muted { (tf(lang, "tasks.list.found", &[("n", &total.to_string())])) }
            }
            @if items.is_empty() {
                p.empty { (t(lang, match tab {
                    Tab::Approval => "tasks.list.empty_approval",
                    Tab::Review => "tasks.list.empty_review",
                    Tab::Mine if f.status.is_none() => "tasks.list.empty_mine",
                    _ => "tasks.list.empty",
                })) }
            } @else {
                div.table-wrap {
                    table.data.stack.tasks {
                        thead {
                            tr {
                                th { (t(lang, "tasks.field.title")) }
                                th { (t(lang, "tasks.field.assignee")) }
                                th { (t(lang, "tasks.field.status")) }
                                th { (t(lang, "tasks.field.deadline")) }
                                th.num { (t(lang, "tasks.field.points")) }
                            }
                        }
                        tbody {
                            @for (id, task) in &items {
                                tr {
                                    td data-label=(t(lang, "tasks.field.title")) {
                                        div {
                                            a.task-link href=(c.url(&format!("tasks/{id}"))) { (task.title) }
                                            @if matches!(tab, Tab::Mine | Tab::Approval | Tab::Review) {
                                                br;
                                                small.muted { (tf(lang, "tasks.list.from", &[("name", &names.user(task.creator_id))])) }
                                            }
                                        }
                                    }
                                    td data-label=(t(lang, "tasks.field.assignee")) { (names.user(task.assignee_id)) }
                                    td data-label=(t(lang, "tasks.field.status")) { (badge(lang, task.status)) }
                                    td.nowrap data-label=(t(lang, "tasks.field.deadline")) {
                                        span class=[(!is_final(task.status) && task.deadline < now).then_some("late")] {
                                            (local_time(task.deadline, &tz))
                                        }
                                    }
                                    td.num data-label=(t(lang, "tasks.field.points")) { (task.points) }
                                }
                            }
                        }
                    }
                }
            }
            @if cursor.is_some() || next.is_some() {
                nav.pager aria-label=(t(lang, "tasks.list.pages")) {
                    @if cursor.is_some() {
                        a.button href=(q.href(c, tab, None)) { "« " (t(lang, "tasks.list.first_page")) }
                    }
                    @if let Some(n) = next {
                        a.button href=(q.href(c, tab, Some(n))) { (t(lang, "tasks.list.next_page")) " →" }
                    }
                }
            }
        }
    })
}

/// The department the board (and its search) shows: any chosen one for who
/// sees every task, else the caller's own.
fn board_department(c: &Ctx, names: &Names, q: &ListQuery) -> Option<u64> {
    let first_dept = || {
        let mut ds: Vec<(&u64, &Named)> = names.depts.iter().filter(|(_, d)| d.active).collect();
        ds.sort_by_key(|(_, d)| d.name.to_lowercase());
        ds.first().map(|(id, _)| **id)
    };
    if c.user.can("tasks.view_all") {
        opt_id(&q.department_id).or(c.user.account.department_id).or_else(first_dept)
    } else {
        c.user.account.department_id
    }
}

fn board(c: &Ctx, names: &Names, q: &ListQuery, now: i64) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let view_all = c.user.can("tasks.view_all");
    let dept = board_department(c, names, q);
    let picker = html! {
        form.filters.compact.board-pick method="get" action=(c.url("tasks")) {
            input type="hidden" name="tab" value="department";
            div.field.search-field {
                label for="f-q" { (t(lang, "tasks.filter.search")) }
                input id="f-q" type="search" name="q" value=(q.q) maxlength="200" placeholder=(t(lang, "tasks.filter.search_hint"));
            }
            @if view_all {
                div.filter-grid {
                    (select(t(lang, "tasks.field.department"), "department_id",
                        &names.dept_options((String::new(), "—".to_string())), &dept.map(|d| d.to_string()).unwrap_or_default(), None))
                }
            }
            div.filter-actions {
                button type="submit" { (t(lang, "tasks.board.show")) }
            }
        }
    };
    let Some(dept) = dept else {
        return Ok(html! { (picker) p.empty { (t(lang, "tasks.board.no_department")) } });
    };
    let mut columns = Vec::new();
    for s in BOARD {
        // One person's cards when the home page's "who is overloaded" links here.
        let f = Filter { department_id: Some(dept), status: Some(s), assignee_id: opt_id(&q.assignee_id), ..Filter::default() };
        columns.push((s, service::list(db, &who, &f, None, COLUMN_SIZE)?.0));
    }
    Ok(html! {
        (picker)
        h2.board-title { (names.dept(Some(dept))) }
        @if let Some(a) = opt_id(&q.assignee_id) {
            p.board-filter { strong { (names.user(a)) } " · " a href=(c.url("tasks?tab=department")) { (t(lang, "tasks.filter.reset")) } }
        }
        div #live-region data-live-tasks="" {
            div.board {
                @for (s, items) in &columns {
                    section class=(format!("board-col st-{}", status_code(*s))) {
                        h3.board-head {
                            (status_label(lang, status_code(*s)))
                            span.count { (items.len()) }
                        }
                        @if items.is_empty() {
                            p.board-empty { "—" }
                        } @else {
                            ul.board-cards {
                                @for (id, task) in items {
                                    li.board-card {
                                        a.task-link href=(c.url(&format!("tasks/{id}"))) { (task.title) }
                                        div.muted.small { (names.user(task.assignee_id)) }
                                        div.board-meta.small {
                                            span class=[(task.deadline < now).then_some("late")] { (local_time(task.deadline, &tz)) }
                                            @if task.points > 0 {
                                                span.points { (tn(lang, "tasks.points_short", u64::from(task.points), &[])) }
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
    })
}

// ---------- new task ----------

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct TaskForm {
    title: String,
    description: String,
    assignee_id: String,
    deadline: String,
    start_at: String,
    points: String,
    category_id: String,
}

impl TaskForm {
    fn of(task: &TaskV1, tz: &TimeZone) -> TaskForm {
        TaskForm {
            title: task.title.clone(),
            description: task.description.clone(),
            assignee_id: task.assignee_id.to_string(),
            deadline: input_time(task.deadline, tz),
            start_at: task.start_at.map(|s| input_time(s, tz)).unwrap_or_default(),
            points: task.points.to_string(),
            category_id: task.category_id.map(|c| c.to_string()).unwrap_or_default(),
        }
    }
}

/// The fields the new-task and edit forms share.
fn task_fields(c: &Ctx, names: &Names, f: &TaskForm, err: Option<&FormError>, with_start: bool) -> Markup {
    let lang = c.lang();
    let tz_hint = tf(lang, "tasks.form.tz_hint", &[("tz", &c.tenant().info().timezone)]);
    let max_points = tf(lang, "tasks.form.points_hint", &[("max", &service::POINTS_MAX.to_string())]);
    html! {
        (Input::new(t(lang, "tasks.field.title"), "title").value(&f.title).required().maxlength(service::TITLE_MAX).error(err))
        (TextArea::new(t(lang, "tasks.field.description"), "description", "f-description").value(&f.description)
            .rows(5).max(service::DESCRIPTION_MAX).error(err))
        (select(t(lang, "tasks.field.assignee"), "assignee_id", &names.assignee_options(lang, opt_id(&f.assignee_id)), &f.assignee_id, err))
        div.grid-2 {
            (Input::new(t(lang, "tasks.field.deadline"), "deadline").kind("datetime-local").value(&f.deadline).required()
                .hint(&tz_hint).error(err))
            @if with_start {
                (Input::new(t(lang, "tasks.field.start"), "start_at").kind("datetime-local").value(&f.start_at)
                    .hint(t(lang, "tasks.form.optional")).error(err))
            }
        }
        div.grid-2 {
            (Input::new(t(lang, "tasks.field.points"), "points").kind("number").value(&f.points).inputmode("numeric")
                .hint(&max_points).error(err))
            @if !names.cats.is_empty() {
                (select(t(lang, "tasks.field.category"), "category_id",
                    &names.category_options((String::new(), t(lang, "tasks.form.no_category").to_string()), opt_id(&f.category_id)),
                    &f.category_id, err))
            }
        }
    }
}

fn new_view(c: &Ctx, f: &TaskForm, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let names = Names::load(c)?;
    let title = t(lang, "tasks.new.title");
    let body = html! {
        p.back { a href=(c.url("tasks")) { "← " (t(lang, "tasks.list.title")) } }
        section.card.form-card {
            h1 { (title) }
            p.muted { (t(lang, "tasks.new.lead")) }
            (form_alert(err))
            form method="post" action=(c.url("tasks/new")) {
                (csrf_field(c.csrf()))
                (task_fields(c, &names, f, err, true))
                div.form-actions {
                    button.primary type="submit" { (t(lang, "tasks.new.submit")) }
                    a.button href=(c.url("tasks")) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::Tasks, None, body))
}

fn may_create(user: &CurrentUser) -> Result<(), AppError> {
    if user.can("tasks.create") { Ok(()) } else { Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_cannot_create")) }
}

async fn new_page(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    may_create(&user)?;
    let c = Ctx::new(user, page);
    let tz = c.tenant().timezone();
    // Tomorrow at six in the evening, company time.
    let tomorrow = state.now().to_zoned(tz.clone()).date().tomorrow().unwrap_or_else(|_| state.now().to_zoned(tz.clone()).date());
    let deadline =
        tomorrow.at(18, 0, 0, 0).to_zoned(tz.clone()).map(|z| input_time(z.timestamp().as_millisecond(), &tz)).unwrap_or_default();
    let f = TaskForm { deadline, points: "0".into(), ..TaskForm::default() };
    new_view(&c, &f, None)
}

async fn new_submit(State(state): State<AppState>, user: CurrentUser, page: Page, Form(f): Form<TaskForm>) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let created = match parse_points(&f.points) {
        Ok(points) => {
            let input = NewTask {
                title: f.title.clone(),
                description: lines(&f.description),
                assignee_id: opt_id(&f.assignee_id).unwrap_or(0),
                deadline: from_input(&f.deadline, &tz),
                start_at: Some(from_input(&f.start_at, &tz)).filter(|s| !s.is_empty()),
                points,
                category_id: opt_id(&f.category_id),
            };
            service::create(&state, c.tenant(), &Caller::from(&c.user), input).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok((id, task)) => {
            let done = if task.status == TaskStatus::AwaitingApproval { "awaiting" } else { "created" };
            Ok(Redirect::to(&c.url(&format!("tasks/{id}?done={done}"))).into_response())
        }
        Err(e) if e.kind == ErrorKind::Internal || e.kind == ErrorKind::Unavailable => Err(e),
        Err(e) => {
            let err = FormError::new(lang, &e);
            Ok(form_again(new_view(&c, &f, Some(&err))?))
        }
    }
}

// ---------- the task page ----------

/// The moves the reader may make on a task now: which buttons to show.
/// The service decides again when one is pressed.
struct Moves {
    start: bool,
    submit: bool,
    complete: bool,
    reject: bool,
    decide_task: bool,
    decide_deadline: bool,
    /// `Some(true)`: sets the deadline; `Some(false)`: asks for one.
    deadline: Option<bool>,
    edit: bool,
    delete: bool,
}

impl Moves {
    /// The buttons the page shows: exactly the core's allowed moves.
    fn of(m: Vec<Move>) -> Moves {
        let has = |x: Move| m.contains(&x);
        Moves {
            start: has(Move::Start),
            submit: has(Move::Submit),
            complete: has(Move::Complete),
            reject: has(Move::Reject),
            decide_task: has(Move::Approve),
            decide_deadline: has(Move::ApproveDeadline),
            deadline: if has(Move::SetDeadline) {
                Some(true)
            } else if has(Move::RequestDeadline) {
                Some(false)
            } else {
                None
            },
            edit: has(Move::Edit),
            delete: has(Move::Delete),
        }
    }

    fn any(&self) -> bool {
        self.start
            || self.submit
            || self.complete
            || self.reject
            || self.decide_task
            || self.decide_deadline
            || self.deadline.is_some()
            || self.edit
            || self.delete
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActionForm {
    comment: String,
    deadline: String,
}

/// A move that failed: which form, what was typed, and why.
struct Failed<'a> {
    form: &'static str,
    input: &'a ActionForm,
    error: &'a FormError,
}

impl Failed<'_> {
    fn comment_for(failed: Option<&Failed<'_>>, form: &str) -> String {
        failed.filter(|f| f.form == form).map(|f| f.input.comment.clone()).unwrap_or_default()
    }
    fn error_for<'a>(failed: Option<&'a Failed<'_>>, form: &str) -> Option<&'a FormError> {
        failed.filter(|f| f.form == form).map(|f| f.error)
    }
}

async fn task_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let db = c.tenant().db()?;
    service::get(db, &Caller::from(&c.user), id)?;
    // Opening a task reads what the bell said about it.
    let unread: Vec<u64> =
        crate::notify::list(db, c.user.id, true, 500)?.into_iter().filter(|(_, n)| n.task_id == Some(id)).map(|(n, _)| n).collect();
    if !unread.is_empty() {
        crate::notify::mark_read(db, c.user.id, unread).await?;
    }
    task_view(&state, &c, id, None, done_notice(c.lang(), &q.done))
}

fn task_view(state: &AppState, c: &Ctx, id: u64, failed: Option<&Failed<'_>>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let task = service::get(db, &who, id)?;
    let history = service::history_of(db, &who, id)?;
    let names = Names::load(c)?;
    let now = state.now_ms();
    let moves = Moves::of(service::moves_of(db, &who, id, &task)?);
    let redo = service::redo_reason(&task, &history);
    let unread = crate::notify::unread_count(db, c.user.id)?;
    let category = task.category_id.and_then(|k| names.cats.get(&k));
    let title = task.title.clone();
    let chat = super::chat::panel(state, c, crate::chat::Target::Task(id), None)?;
    let body = html! {
        p.back { a href=(c.url("tasks")) { "← " (t(lang, "tasks.list.title")) } }
        div.task-with-chat {
        div #live-region data-live-task=(id) data-live-url=(c.url(&format!("tasks/{id}"))) data-unread=(unread) {
            div.task-head {
                h1 { (task.title) }
                (badge(lang, task.status))
                a.chat-jump href="#chat" { (t(lang, "chat.thread")) " ↓" }
            }
            @if let Some(e) = redo {
                section.redo-reason role="note" {
                    strong { (tf(lang, "tasks.task.redo_reason", &[("name", &e.actor_name), ("when", &local_time(e.at, &tz))])) }
                    @if let Some(cm) = &e.comment {
                        p.redo-comment { (cm) }
                    }
                    @if moves.submit {
                        small.muted { (t(lang, "tasks.task.redo_resubmit")) }
                    }
                }
            }
            div.task-layout {
                div.task-main {
                    section.card {
                        div.deadline-box.is-late[!is_final(task.status) && task.deadline < now] {
                            span.label { (t(lang, "tasks.field.deadline")) }
                            strong.when { (local_time(task.deadline, &tz)) }
                            @if !is_final(task.status) && task.status != TaskStatus::Declined {
                                (countdown(lang, task.deadline, now))
                            }
                        }
                        @if task.description.trim().is_empty() {
                            p.muted { (t(lang, "tasks.task.no_description")) }
                        } @else {
                            div.desc { (task.description) }
                        }
                        @if let Some(r) = task.deadline_request.as_ref().filter(|_| !moves.decide_deadline) {
                            p.hint {
                                (tf(lang, "tasks.task.deadline_request", &[("name", &names.user(r.by)), ("when", &local_time(r.deadline, &tz))]))
                                @if let Some(cm) = &r.comment { br; em { "«" (cm) "»" } }
                            }
                        }
                    }
                    @if moves.any() || !is_final(task.status) || failed.is_some() {
                        (actions(c, id, &task, &moves, &names, failed))
                    }
                }
                aside.task-side {
                    section.card {
                        dl.facts {
                            dt { (t(lang, "tasks.field.from_to")) }
                            dd { (names.user(task.creator_id)) " → " strong { (names.user(task.assignee_id)) } }
                            dt { (t(lang, "tasks.field.department")) }
                            dd { (names.dept(task.department_id)) }
                            @if let Some(k) = category {
                                dt { (t(lang, "tasks.field.category")) }
                                dd { (category_chip(k)) }
                            }
                            dt { (t(lang, "tasks.field.points")) }
                            dd {
                                (task.points)
                                @if task.status == TaskStatus::Completed {
                                    " · " strong.awarded { (tf(lang, "tasks.task.awarded", &[("n", &task.points_awarded.to_string())])) }
                                }
                            }
                            @if let Some(s) = task.start_at {
                                dt { (t(lang, "tasks.field.start")) }
                                dd { (local_time(s, &tz)) }
                            }
                            dt { (t(lang, "tasks.field.created")) }
                            dd { (local_time(task.created_at, &tz)) }
                            @if service::time_spent_secs(&task, now) >= 60 || task.working_since.is_some() {
                                dt { (t(lang, "tasks.field.spent")) }
                                dd { (spent_text(lang, service::time_spent_secs(&task, now))) }
                            }
                            @if task.redo_count > 0 {
                                dt { (t(lang, "tasks.field.redo_count")) }
                                dd { (task.redo_count) }
                            }
                            @if let Some(at) = task.overdue_at {
                                dt { (t(lang, "tasks.field.overdue_at")) }
                                dd.late { (local_time(at, &tz)) }
                            }
                            @if let Some(at) = task.completed_at {
                                dt { (t(lang, "tasks.field.closed_at")) }
                                dd { (local_time(at, &tz)) }
                            }
                        }
                    }
                }
            }
            section.card.history-card {
                h2 { (t(lang, "tasks.history.title")) }
                ol.history {
                    @for e in history.iter().rev() {
                        (history_item(lang, &names, &tz, e))
                    }
                }
            }
        }
        (chat)
        }
    };
    Ok(c.render(&title, Section::Tasks, notice, body))
}

pub(crate) fn countdown(lang: Lang, deadline: i64, now: i64) -> Markup {
    let left = t(lang, "tasks.countdown.left");
    let late = t(lang, "tasks.countdown.late");
    let text = if deadline >= now { left } else { late }.replace("{time}", &span_text(lang, deadline - now));
    let rfc = rfc3339(deadline);
    html! {
        time.countdown.late[deadline < now] datetime=(rfc) data-countdown=(rfc) data-left=(left) data-late=(late)
            data-units=(t(lang, "tasks.units")) { (text) }
    }
}

fn actions(c: &Ctx, id: u64, task: &TaskV1, m: &Moves, names: &Names, failed: Option<&Failed<'_>>) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let to = |a: &str| c.url(&format!("tasks/{id}/{a}"));
    let general = failed.filter(|f| f.error.field.is_none() || f.form == "start" || f.form == "delete").map(|f| f.error);
    let deadline_err = Failed::error_for(failed, "deadline");
    let deadline_value = failed.filter(|f| f.form == "deadline").map(|f| f.input.deadline.clone()).unwrap_or_default();
    let deadline_value = if deadline_value.is_empty() { input_time(task.deadline, &tz) } else { deadline_value };
    html! {
        section.card.actions-card {
            h2 { (t(lang, "tasks.actions.title")) }
            (form_alert(general))
            @if !m.any() {
                p.muted { (t(lang, "tasks.actions.none")) }
            }
            @if m.start {
                form.action-form method="post" action=(to("start")) {
                    (csrf_field(c.csrf()))
                    button.primary type="submit" { (t(lang, "tasks.actions.start")) }
                }
            }
            @if m.submit {
                form.action-form method="post" action=(to("submit")) {
                    (csrf_field(c.csrf()))
                    (TextArea::new(t(lang, "tasks.actions.result"), "comment", "f-submit-comment")
                        .value(&Failed::comment_for(failed, "submit")).hint(t(lang, "tasks.form.optional"))
                        .error(Failed::error_for(failed, "submit")))
                    button.primary type="submit" { (t(lang, "tasks.actions.submit")) }
                }
            }
            @if m.complete {
                form.action-form method="post" action=(to("complete")) {
                    (csrf_field(c.csrf()))
                    (TextArea::new(t(lang, "tasks.actions.comment"), "comment", "f-review-comment")
                        .value(&Failed::comment_for(failed, "review")).hint(t(lang, "tasks.actions.comment_hint"))
                        .error(Failed::error_for(failed, "review")))
                    div.button-row {
                        button.primary type="submit" { (t(lang, "tasks.actions.complete")) }
                        button type="submit" formaction=(to("redo")) { (t(lang, "tasks.actions.redo")) }
                        @if m.reject {
                            button.danger type="submit" formaction=(to("reject")) data-confirm=(t(lang, "tasks.actions.reject_confirm")) {
                                (t(lang, "tasks.actions.reject"))
                            }
                        }
                    }
                }
            }
            @if m.decide_task || m.decide_deadline {
                form.action-form method="post" action=(to("approve")) {
                    (csrf_field(c.csrf()))
                    @if m.decide_task {
                        p { (t(lang, "tasks.actions.approval_lead")) }
                    } @else if let Some(r) = &task.deadline_request {
                        p.hint {
                            (tf(lang, "tasks.task.deadline_request", &[("name", &names.user(r.by)), ("when", &local_time(r.deadline, &tz))]))
                            @if let Some(cm) = &r.comment { br; em { "«" (cm) "»" } }
                        }
                    }
                    (TextArea::new(t(lang, "tasks.actions.comment"), "comment", "f-decide-comment")
                        .value(&Failed::comment_for(failed, "decide")).rows(2).hint(t(lang, "tasks.form.optional"))
                        .error(Failed::error_for(failed, "decide")))
                    div.button-row {
                        button.primary type="submit" {
                            (t(lang, if m.decide_task { "tasks.actions.approve" } else { "tasks.actions.approve_deadline" }))
                        }
                        button.danger type="submit" formaction=(to("decline")) { (t(lang, "tasks.actions.decline")) }
                    }
                }
            }
            @if let Some(direct) = m.deadline {
                details.action-more open[deadline_err.is_some()] {
                    summary { (t(lang, if direct { "tasks.actions.set_deadline" } else { "tasks.actions.ask_deadline" })) }
                    form.action-form method="post" action=(to("extension")) {
                        (csrf_field(c.csrf()))
                        (Input::new(t(lang, "tasks.actions.new_deadline"), "deadline").kind("datetime-local").value(&deadline_value)
                            .required().hint(&tf(lang, "tasks.form.tz_hint", &[("tz", &c.tenant().info().timezone)])).error(deadline_err))
                        (TextArea::new(t(lang, "tasks.actions.comment"), "comment", "f-deadline-comment")
                            .value(&Failed::comment_for(failed, "deadline")).rows(2).hint(t(lang, "tasks.form.optional"))
                            .error(deadline_err))
                        button.primary type="submit" {
                            (t(lang, if direct { "tasks.actions.set_deadline" } else { "tasks.actions.ask_deadline" }))
                        }
                    }
                }
            }
            @if m.reject && !m.complete {
                details.action-more open[Failed::error_for(failed, "review").is_some()] {
                    summary { (t(lang, "tasks.actions.reject_more")) }
                    form.action-form method="post" action=(to("reject")) {
                        (csrf_field(c.csrf()))
                        (TextArea::new(t(lang, "tasks.actions.reason"), "comment", "f-review-comment")
                            .value(&Failed::comment_for(failed, "review")).required()
                            .error(Failed::error_for(failed, "review")))
                        button.danger type="submit" { (t(lang, "tasks.actions.reject")) }
                    }
                }
            }
            @if m.edit || m.delete {
                div.button-row.secondary-actions {
                    @if m.edit {
                        a.button href=(c.url(&format!("tasks/{id}/edit"))) { (t(lang, "admin.common.edit")) }
                    }
                    @if m.delete {
                        (post_button(&to("delete"), c.csrf(), t(lang, "tasks.actions.delete"), "danger", Some(t(lang, "tasks.actions.delete_confirm"))))
                    }
                }
            }
        }
    }
}

/// A value of a history line as people read it.
fn history_value(names: &Names, tz: &TimeZone, field: &str, v: &str) -> String {
    if v.is_empty() {
        return "—".into();
    }
    match field {
        "deadline" => v.parse::<jiff::Timestamp>().map(|ts| local_time(ts.as_millisecond(), tz)).unwrap_or_else(|_| v.to_string()),
        "assignee_id" => opt_id(v).map(|id| names.user(id)).unwrap_or_else(|| v.to_string()),
        "category_id" => opt_id(v).and_then(|id| names.cats.get(&id)).map(|k| k.name.clone()).unwrap_or_else(|| "—".into()),
        _ => v.to_string(),
    }
}

fn field_label(lang: Lang, field: &str) -> &'static str {
    match field {
        "title" => t(lang, "tasks.field.title"),
        "description" => t(lang, "tasks.field.description"),
        "points" => t(lang, "tasks.field.points"),
        "deadline" => t(lang, "tasks.field.deadline"),
        "assignee_id" => t(lang, "tasks.field.assignee"),
        "category_id" => t(lang, "tasks.field.category"),
        _ => "",
    }
}

fn history_item(lang: Lang, names: &Names, tz: &TimeZone, e: &TaskEventV1) -> Markup {
    let status = |s: &Option<String>| s.as_deref().and_then(parse_status).map(|s| badge(lang, s));
    let field = e.field.as_deref().unwrap_or("");
    let from = history_value(names, tz, field, e.from.as_deref().unwrap_or(""));
    let to = history_value(names, tz, field, e.to.as_deref().unwrap_or(""));
    let what = match e.kind.as_str() {
        "created" => html! {
            @if e.to.as_deref() == Some("awaiting_approval") {
                (t(lang, "tasks.history.created_awaiting"))
            } @else {
                (t(lang, "tasks.history.created"))
            }
        },
        "status" | "approved" | "declined" => {
            let verb = match e.kind.as_str() {
                "approved" => t(lang, "tasks.history.approved"),
                "declined" => t(lang, "tasks.history.declined"),
                _ => t(lang, "tasks.history.status"),
            };
            html! {
                (verb) " "
                @if let Some(b) = status(&e.from) { (b) " → " }
                @if let Some(b) = status(&e.to) { (b) }
            }
        }
        "field" if field == "description" => html! { (t(lang, "tasks.history.description")) },
        "field" => html! {
            (tf(lang, "tasks.history.field", &[("field", field_label(lang, field))])) " "
            span.before { (from) } " → " span.after { (to) }
        },
        "extension_requested" => {
            html! { (t(lang, "tasks.history.extension_requested")) " " span.before { (from) } " → " span.after { (to) } }
        }
        "extension_approved" => {
            html! { (t(lang, "tasks.history.extension_approved")) " " span.before { (from) } " → " span.after { (to) } }
        }
        "extension_declined" => html! { (t(lang, "tasks.history.extension_declined")) " " span.after { (to) } },
        other => html! { (other) },
    };
    let who = if e.actor_id == 0 { t(lang, "tasks.history.system").to_string() } else { e.actor_name.clone() };
    html! {
        li.event {
            div.event-head {
                strong { (who) }
                time.muted datetime=(rfc3339(e.at)) { (local_time(e.at, tz)) }
            }
            div.event-body { (what) }
            @if let Some(cm) = &e.comment {
                blockquote.comment { (cm) }
            }
        }
    }
}

/// `POST /tasks/{id}/{action}`: one move, through the service.
async fn act(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(params): Path<HashMap<String, String>>,
    Form(f): Form<ActionForm>,
) -> Result<Response, AppError> {
    let id: u64 = params.get("id").and_then(|v| v.parse().ok()).ok_or(ErrorKind::NotFound)?;
    let action = params.get("action").map(String::as_str).unwrap_or("");
    let mut c = Ctx::new(user, page);
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let tenant = c.tenant().clone();
    let note = Some(f.comment.trim().to_string()).filter(|s| !s.is_empty()).map(|s| lines(&s));
    let moved = |to: TaskStatus| service::change_status(&state, &tenant, &who, id, to, note.clone());
    let (form, result): (&'static str, Result<&'static str, AppError>) = match action {
        "start" => ("start", moved(TaskStatus::InProgress).await.map(|_| "started")),
        "submit" => ("submit", moved(TaskStatus::PendingReview).await.map(|_| "submitted")),
        "complete" => ("review", moved(TaskStatus::Completed).await.map(|_| "completed")),
        "redo" => ("review", moved(TaskStatus::Redo).await.map(|_| "sent_back")),
        "reject" => ("review", moved(TaskStatus::Rejected).await.map(|_| "rejected")),
        "approve" => ("decide", service::approve(&state, &tenant, &who, id, note.clone()).await.map(|_| "approved")),
        "decline" => ("decide", service::decline(&state, &tenant, &who, id, note.clone()).await.map(|_| "declined")),
        "extension" => (
            "deadline",
            service::extension(&state, &tenant, &who, id, &from_input(&f.deadline, &tz), note.clone())
                .await
                .map(|t| if t.deadline_request.is_some() { "deadline_requested" } else { "deadline_set" }),
        ),
        "delete" => ("delete", service::delete(&state, &tenant, &who, id).await.map(|_| "deleted")),
        _ => return Err(ErrorKind::NotFound.into()),
    };
    match result {
        Ok("deleted") => Ok(Redirect::to(&c.url("tasks?done=deleted")).into_response()),
        Ok(done) => Ok(Redirect::to(&c.url(&format!("tasks/{id}?done={done}"))).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            // Shown on the task's own page, which the language switch and
            // the live refresh come back to.
            c.page.path = c.url(&format!("tasks/{id}"));
            let error = FormError::new(lang, &e);
            let failed = Failed { form, input: &f, error: &error };
            Ok(form_again(task_view(&state, &c, id, Some(&failed), None)?))
        }
    }
}

// ---------- edit ----------

fn edit_view(c: &Ctx, id: u64, f: &TaskForm, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let names = Names::load(c)?;
    let title = t(lang, "tasks.edit.title");
    let back = c.url(&format!("tasks/{id}"));
    let body = html! {
        p.back { a href=(back) { "← " (t(lang, "tasks.edit.back")) } }
        section.card.form-card {
            h1 { (title) }
            (form_alert(err))
            form method="post" action=(c.url(&format!("tasks/{id}/edit"))) {
                (csrf_field(c.csrf()))
                (task_fields(c, &names, f, err, false))
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.common.save")) }
                    a.button href=(back) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::Tasks, None, body))
}

async fn edit_page(user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let who = Caller::from(&c.user);
    let task = service::get(c.tenant().db()?, &who, id)?;
    if !Moves::of(service::allowed_moves(&who, &task)).edit {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_not_allowed"));
    }
    edit_view(&c, id, &TaskForm::of(&task, &c.tenant().timezone()), None)
}

async fn edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(f): Form<TaskForm>,
) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let who = Caller::from(&c.user);
    let task = service::get(c.tenant().db()?, &who, id)?;
    let was = TaskForm::of(&task, &tz);
    let description = lines(&f.description);
    let saved = match parse_points(&f.points) {
        Ok(points) => {
            // Only what was changed: an untouched deadline that has passed
            // must not be sent back as a new one.
            let category = opt_id(&f.category_id);
            let patch = TaskPatch {
                title: (f.title != was.title).then(|| f.title.clone()),
                description: (description != was.description).then(|| description.clone()),
                deadline: (f.deadline.trim() != was.deadline).then(|| from_input(&f.deadline, &tz)),
                points: (points != task.points).then_some(points),
                assignee_id: opt_id(&f.assignee_id).filter(|a| *a != task.assignee_id),
                category_id: (category != task.category_id).then_some(category),
            };
            service::update(&state, c.tenant(), &who, id, patch).await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(t) => {
            let done =
                if t.deadline_request.is_some() && t.deadline_request != task.deadline_request { "deadline_requested" } else { "saved" };
            Ok(Redirect::to(&c.url(&format!("tasks/{id}?done={done}"))).into_response())
        }
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let err = FormError::new(lang, &e);
            Ok(form_again(edit_view(&c, id, &f, Some(&err))?))
        }
    }
}

// ---------- calendar ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct CalendarQuery {
    month: String,
    week: String,
}

fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.trim().split_once('-')?;
    let (y, m): (i16, i8) = (y.parse().ok()?, m.parse().ok()?);
    if !(1970..=2200).contains(&y) {
        return None;
    }
    Date::new(y, m, 1).ok()
}

fn month_param(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn monday_of(d: Date) -> Date {
    d.checked_sub(i64::from(d.weekday().to_monday_zero_offset()).days()).unwrap_or(d)
}

/// Tasks the reader may see with a deadline on the days `[first, last]`, by day.
fn tasks_by_day(c: &Ctx, first: Date, last: Date) -> Result<HashMap<Date, Vec<(u64, TaskV1)>>, AppError> {
    let tz = c.tenant().timezone();
    let from = day_start(first, &tz);
    let to = day_start(last.tomorrow().unwrap_or(last), &tz) - 1;
    let mut by_day: HashMap<Date, Vec<(u64, TaskV1)>> = HashMap::new();
    for (id, task) in service::calendar(c.tenant().db()?, &Caller::from(&c.user), from, to, 2000)? {
        by_day.entry(zoned(task.deadline, &tz).date()).or_default().push((id, task));
    }
    Ok(by_day)
}

async fn calendar_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    headers: HeaderMap,
    Query(q): Query<CalendarQuery>,
) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let today = state.now().to_zoned(c.tenant().timezone()).date();
    let names = Names::load(&c)?;
    let week = parse_date(&q.week).map(monday_of);
    let view = match week {
        Some(monday) => week_view(&c, &names, monday, today)?,
        None => month_view(&c, parse_month(&q.month).unwrap_or_else(|| today.first_of_month()), today)?,
    };
    let title = t(lang, "tasks.calendar.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
            nav.subtabs.compact aria-label=(title) {
                a href=(c.url("calendar")) class=[week.is_none().then_some("active")] aria-current=[week.is_none().then_some("page")] {
                    (t(lang, "tasks.calendar.month_view"))
                }
                a href=(c.url(&format!("calendar?week={today}"))) class=[week.is_some().then_some("active")]
                    aria-current=[week.is_some().then_some("page")] { (t(lang, "tasks.calendar.week_view")) }
            }
        }
        (view)
        (ical_box(&state, &c, &headers))
    };
    Ok(c.render(title, Section::Calendar, None, body))
}

fn cal_task(c: &Ctx, id: u64, task: &TaskV1, tz: &TimeZone) -> Markup {
    let lang = c.lang();
    html! {
        a class=(format!("cal-task st-{}", status_code(task.status))) href=(c.url(&format!("tasks/{id}")))
            title=(format!("{} · {}", task.title, status_label(lang, status_code(task.status)))) {
            span.cal-time { (hhmm(task.deadline, tz)) }
            " "
            span.cal-title { (task.title) }
        }
    }
}

fn day_class(d: Date, first: Date, today: Date, busy: bool) -> String {
    let mut cls = vec!["cal-day"];
    if d.month() != first.month() {
        cls.push("out");
    }
    if d == today {
        cls.push("today");
    }
    if !busy {
        cls.push("free");
    }
    cls.join(" ")
}

fn month_view(c: &Ctx, first: Date, today: Date) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let last = first.last_of_month();
    let start = monday_of(first);
    let end = last.checked_add(i64::from(6 - last.weekday().to_monday_zero_offset()).days()).unwrap_or(last);
    let by_day = tasks_by_day(c, start, end)?;
    let prev = first.checked_sub(1.month()).unwrap_or(first);
    let next = first.checked_add(1.month()).unwrap_or(first);
    let mut days = Vec::new();
    let mut d = start;
    while d <= end {
        days.push(d);
        d = match d.tomorrow() {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    let busy = days.iter().any(|d| d.month() == first.month() && by_day.contains_key(d));
    Ok(html! {
        div.cal-nav {
            a.button.small href=(c.url(&format!("calendar?month={}", month_param(prev)))) rel="prev" {
                "‹ " (month_name(lang, prev.month()))
            }
            h2 { (month_name(lang, first.month())) " " (first.year()) }
            a.button.small href=(c.url(&format!("calendar?month={}", month_param(next)))) rel="next" {
                (month_name(lang, next.month())) " ›"
            }
        }
        div.cal-month {
            @for i in 0..7usize {
                div.cal-dow aria-hidden="true" { (crate::i18n::weekday_short(lang, i)) }
            }
            @for d in &days {
                @let items = by_day.get(d);
                div class=(day_class(*d, first, today, items.is_some())) {
                    div.cal-date {
                        span.cal-wd { (crate::i18n::weekday_name(lang, d.weekday().to_monday_zero_offset() as usize)) ", " }
                        span.cal-num { (d.day()) }
                        span.cal-mon { " " (month_of(lang, d.month())) }
                        @if *d == today {
                            span.visually-hidden { " (" (t(lang, "tasks.calendar.today")) ")" }
                        }
                    }
                    @if let Some(items) = items {
                        ul.cal-items {
                            @for (id, task) in items {
                                li { (cal_task(c, *id, task, &tz)) }
                            }
                        }
                    }
                }
            }
        }
        @if !busy {
            p.empty.cal-none { (t(lang, "tasks.calendar.empty_month")) }
        }
        p.cal-foot {
            a href=(c.url("calendar")) { (t(lang, "tasks.calendar.this_month")) }
            " · "
            a href=(c.url(&format!("calendar?week={}", if first.month() == today.month() && first.year() == today.year() { today } else { first }))) {
                (t(lang, "tasks.calendar.week_view"))
            }
        }
    })
}

fn week_view(c: &Ctx, names: &Names, monday: Date, today: Date) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let sunday = monday.checked_add(6.days()).unwrap_or(monday);
    let by_day = tasks_by_day(c, monday, sunday)?;
    let prev = monday.checked_sub(7.days()).unwrap_or(monday);
    let next = monday.checked_add(7.days()).unwrap_or(monday);
    let days: Vec<Date> = (0..7).filter_map(|i| monday.checked_add(i.days()).ok()).collect();
    Ok(html! {
        div.cal-nav {
            a.button.small href=(c.url(&format!("calendar?week={prev}"))) rel="prev" { "‹ " (t(lang, "tasks.calendar.prev_week")) }
            h2 { (day_month(lang, monday)) " – " (day_month(lang, sunday)) " " (sunday.year()) }
            a.button.small href=(c.url(&format!("calendar?week={next}"))) rel="next" { (t(lang, "tasks.calendar.next_week")) " ›" }
        }
        div.week {
            @for d in &days {
                section.week-day.today[*d == today] {
                    h3 {
                        (crate::i18n::weekday_name(lang, d.weekday().to_monday_zero_offset() as usize)) ", " (day_month(lang, *d))
                        @if *d == today { " " span.badge.brand { (t(lang, "tasks.calendar.today")) } }
                    }
                    @if let Some(items) = by_day.get(d) {
                        ul.week-items {
                            @for (id, task) in items {
                                li class=(format!("week-item st-{}", status_code(task.status))) {
                                    span.cal-time { (hhmm(task.deadline, &tz)) }
                                    a.task-link href=(c.url(&format!("tasks/{id}"))) { (task.title) }
                                    (badge(lang, task.status))
                                    span.muted.small { (names.user(task.assignee_id)) }
                                }
                            }
                        }
                    } @else {
                        p.muted.small { (t(lang, "tasks.calendar.no_deadlines")) }
                    }
                }
            }
        }
        p.cal-foot {
            a href=(c.url(&format!("calendar?week={today}"))) { (t(lang, "tasks.calendar.this_week")) }
            " · "
            a href=(c.url(&format!("calendar?month={}", month_param(monday)))) { (t(lang, "tasks.calendar.month_view")) }
        }
    })
}

/// The host the browser used, when it looks like a host name.
fn request_host(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !host.is_empty() && host.len() < 256 && host.chars().all(|ch| ch.is_ascii_alphanumeric() || ".-:[]".contains(ch)) {
        host.to_string()
    } else {
        "localhost".to_string()
    }
}

fn ical_box(state: &AppState, c: &Ctx, headers: &HeaderMap) -> Markup {
    let lang = c.lang();
    let path = crate::tasks::ical::feed_path(state, c.tenant(), c.user.id);
    let host = request_host(headers);
    let https = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let url = format!("{}://{host}{path}", if https { "https" } else { "http" });
    let webcal = format!("webcal://{host}{path}");
    html! {
        section.card.ical-box {
            h2 { (t(lang, "tasks.ical.title")) }
            p { (t(lang, "tasks.ical.how")) }
            (Input::new(t(lang, "tasks.ical.address"), "ical_url").value(&url).readonly().hint(t(lang, "tasks.ical.secret")))
            div.button-row {
                a.button.primary href=(webcal) { (t(lang, "tasks.ical.subscribe")) }
                a.button href=(url) download="idora.ics" { (t(lang, "tasks.ical.download")) }
            }
        }
    }
}

// ---------- notifications ----------

/// Where a notification takes its reader: the task (at its discussion for
/// a chat notice), else the chat.
fn note_href(c: &Ctx, n: &crate::store::schema::NotificationV1) -> Option<String> {
    if let Some(r) = crate::notify::request_of(n) {
        return Some(c.url(&format!("requests/{r}")));
    }
    if let Some(p) = crate::notify::report_path_of(n) {
        return Some(c.url(p));
    }
    let thread = crate::notify::thread_of(n);
    match (n.task_id, thread) {
        (Some(task), Some(_)) => Some(c.url(&format!("tasks/{task}#chat"))),
        (Some(task), None) => Some(c.url(&format!("tasks/{task}"))),
        (None, Some(th)) => Some(c.url(&format!("chats/{th}"))),
        (None, None) => None,
    }
}

async fn notifications_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let tz = c.tenant().timezone();
    let notes = crate::notify::list(db, c.user.id, false, 100)?;
    let unread = crate::notify::unread_count(db, c.user.id)?;
    let title = t(lang, "tasks.notifications.title");
    let body = html! {
        div.page-head {
            h1 { (title) }
            @if unread > 0 {
                (post_button(&c.url("notifications/read"), c.csrf(), t(lang, "tasks.notifications.mark_all"), "", None))
            }
        }
        div #live-region data-live-url=(c.url("notifications")) data-unread=(unread) {
            @if notes.is_empty() {
                p.empty { (t(lang, "tasks.notifications.empty")) }
            } @else {
                ul.notes {
                    @for (_, n) in &notes {
                        li.note.unread[!n.read] {
                            div.note-text {
                                @if !n.read {
                                    span.badge.brand { (t(lang, "tasks.notifications.new")) }
                                    " "
                                }
                                @if let Some(href) = note_href(&c, n) {
                                    a href=(href) { (crate::notify::text(lang, n)) }
                                } @else {
                                    (crate::notify::text(lang, n))
                                }
                            }
                            time.muted.small datetime=(rfc3339(n.at)) { (local_time(n.at, &tz)) }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Notifications, done_notice(lang, &q.done), body))
}

async fn notifications_read(user: CurrentUser) -> Result<Redirect, AppError> {
    crate::notify::mark_read(user.tenant.db()?, user.id, Vec::new()).await?;
    Ok(Redirect::to(&format!("/c/{}/notifications?done=read", user.tenant.slug)))
}
