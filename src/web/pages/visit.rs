//! The customer's pages of a company, no login: `/c/{slug}/visit` lists the
//! active branches with their hours, services and how many wait now, and
//! takes an online ticket; `/c/{slug}/visit/book` books a visit step by step
//! (branch and service, day, time, name and phone) and ends on a
//! confirmation with the check-in code. Plain forms; htmx only saves a click.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::org::service::{format_hhmm, list_branches};
use crate::queue::booking::{self, EARLY_MS, GRACE_MS, NewBooking, Slot};
use crate::queue::service::{list_services, service_name};
use crate::queue::tickets::{self, NewTicket, is_open, local_day, public_token};
use crate::store::schema::{BranchV2, DayHours, ServiceV2, TicketStatus, TicketV1};
use crate::tenancy::Tenant;
use crate::web::errors::form_again;
use crate::web::extract::Page;
use crate::web::layout::{self, FormError, Input, Shell, csrf_field, form_alert};
use crate::web::limits::ClientIp;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use serde::Deserialize;

/// How many days the booking page offers, today first.
pub const DAYS_SHOWN: i64 = 14;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/visit", get(visit_page))
        .route("/visit/ticket", post(take_ticket))
        .route("/visit/book", get(book_page).post(book_submit))
        .route("/visit/booked/{token}", get(booked_page))
}

// ---------- what the pages show ----------

/// A service as a branch offers it, with how many wait for it now.
struct Offer {
    id: u64,
    service: ServiceV2,
    waiting: usize,
}

/// An active branch with its services.
struct BranchView {
    id: u64,
    branch: BranchV2,
    offers: Vec<Offer>,
    open_now: bool,
}

/// The company's active branches, each with the active services it offers
/// and today's waiting count per service.
fn branches(state: &AppState, tenant: &Tenant) -> Result<Vec<BranchView>, AppError> {
    let db = tenant.db()?;
    let (day, weekday, minute) = local_day(state.now_ms(), &tenant.timezone());
    let services: Vec<(u64, ServiceV2)> = list_services(db)?.into_iter().filter(|(_, s)| s.active).collect();
    let mut out = Vec::new();
    for (id, branch) in list_branches(db)?.into_iter().filter(|(_, b)| b.active) {
        let waiting = tickets::waiting_counts(db, &Caller::Public, id, day)?;
        let offers = services
            .iter()
            .filter(|(_, s)| s.branch_ids.contains(&id))
            .map(|(sid, s)| Offer { id: *sid, service: s.clone(), waiting: waiting.get(sid).copied().unwrap_or(0) })
            .collect();
        let open_now = is_open(&branch.hours, weekday, minute);
        out.push(BranchView { id, branch, offers, open_now });
    }
    Ok(out)
}

fn month_name(lang: Lang, m: i8) -> &'static str {
    match m {
        1 => t(lang, "visit.month.m01"),
        2 => t(lang, "visit.month.m02"),
        3 => t(lang, "visit.month.m03"),
        4 => t(lang, "visit.month.m04"),
        5 => t(lang, "visit.month.m05"),
        6 => t(lang, "visit.month.m06"),
        7 => t(lang, "visit.month.m07"),
        8 => t(lang, "visit.month.m08"),
        9 => t(lang, "visit.month.m09"),
        10 => t(lang, "visit.month.m10"),
        11 => t(lang, "visit.month.m11"),
        _ => t(lang, "visit.month.m12"),
    }
}

fn month_short(lang: Lang, m: i8) -> &'static str {
    match m {
        1 => t(lang, "visit.month_short.m01"),
        2 => t(lang, "visit.month_short.m02"),
        3 => t(lang, "visit.month_short.m03"),
        4 => t(lang, "visit.month_short.m04"),
        5 => t(lang, "visit.month_short.m05"),
        6 => t(lang, "visit.month_short.m06"),
        7 => t(lang, "visit.month_short.m07"),
        8 => t(lang, "visit.month_short.m08"),
        9 => t(lang, "visit.month_short.m09"),
        10 => t(lang, "visit.month_short.m10"),
        11 => t(lang, "visit.month_short.m11"),
        _ => t(lang, "visit.month_short.m12"),
    }
}

fn weekday_of(date: Date) -> usize {
    date.weekday().to_monday_zero_offset() as usize
}

/// "26-noyabr, payshanba" / "Четверг, 26 ноября" / "Thursday, 26 November".
fn date_long(lang: Lang, date: Date) -> String {
    let weekday = crate::i18n::weekday_name(lang, weekday_of(date));
    let weekday = if lang == Lang::Uz { weekday.to_lowercase() } else { weekday.to_string() };
    tf(lang, "visit.date", &[("day", &date.day().to_string()), ("month", month_name(lang, date.month())), ("weekday", &weekday)])
}

/// A stored time as `HH:MM` in the company's time zone.
fn hhmm(ms: i64, tz: &TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

fn today(state: &AppState, tz: &TimeZone) -> Date {
    state.now().to_zoned(tz.clone()).date()
}

/// The hours of one weekday: `Some((open, close))`, or `None` when closed.
fn day_hours(hours: &Option<[DayHours; 7]>, weekday: usize) -> Option<(u16, u16)> {
    crate::org::hours::WeekHours::of(hours).day(weekday)
}

fn not_open(tenant: &Tenant, page: &Page) -> Markup {
    let lang = page.lang;
    let info = tenant.info();
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
    layout::render(
        shell,
        html! {
            section.hero.center {
                (logo(tenant, &info.name))
                h1 { (info.name) }
                p.closed role="status" {
                    strong { (t(lang, "visit.not_open_title")) }
                    br;
                    (t(lang, "visit.not_open_text"))
                }
            }
        },
    )
}

fn logo(tenant: &Tenant, name: &str) -> Markup {
    html! {
        @if crate::org::branding::has_logo(tenant) {
            img.hero-logo src=(format!("/c/{}/logo?v={}", tenant.slug, crate::org::branding::version(tenant))) alt=(name);
        }
    }
}

/// The public shell of these pages; `path` keeps the query so that the
/// language switch comes back to the same step.
fn shell<'a>(tenant: &'a Tenant, page: &'a Page, title: &'a str, path: &'a str) -> Shell<'a> {
    Shell { lang: page.lang, title, tenant: Some(tenant), csrf: &page.csrf, signed_in: None, nav: vec![], path, notice: None }
}

fn path_with_query(page: &Page, query: Option<&str>) -> String {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{}?{q}", page.path),
        None => page.path.clone(),
    }
}

fn parse_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

// ---------- the company's visit page ----------

/// What was typed into a branch's "take a ticket now" form, and why it failed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct TicketForm {
    branch: String,
    service: String,
    name: String,
    phone: String,
}

/// `GET /c/{slug}/visit`: the branches, their hours and services, and the two ways in.
async fn visit_page(State(state): State<AppState>, tenant: Tenant, page: Page) -> Result<Markup, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page));
    }
    visit_view(&state, &tenant, &page, None)
}

fn visit_view(state: &AppState, tenant: &Tenant, page: &Page, failed: Option<(&TicketForm, &FormError)>) -> Result<Markup, AppError> {
    let lang = page.lang;
    let info = tenant.info();
    let list = branches(state, tenant)?;
    let (_, weekday, _) = local_day(state.now_ms(), &tenant.timezone());
    let title = t(lang, "visit.title");
    // An error for a branch that shows no form (closed meanwhile, unknown) is said at the top.
    let orphan = failed
        .filter(|(f, _)| !list.iter().any(|b| b.open_now && !b.offers.is_empty() && parse_id(&f.branch) == Some(b.id)))
        .map(|(_, e)| e);
    let body = html! {
        section.hero.center.visit-hero {
            (logo(tenant, &info.name))
            h1 { (info.name) }
            p.lead { (t(lang, "visit.lead")) }
        }
        (form_alert(orphan))
        @if list.is_empty() {
            p.empty { (t(lang, "visit.no_branches")) }
        }
        div.visit-branches {
            @for b in &list {
                @let failed_here = failed.filter(|(f, _)| parse_id(&f.branch) == Some(b.id));
                (branch_card(tenant, page, b, weekday, failed_here))
            }
        }
    };
    Ok(layout::render(shell(tenant, page, title, &page.path), body))
}

fn branch_card(tenant: &Tenant, page: &Page, b: &BranchView, weekday: usize, failed: Option<(&TicketForm, &FormError)>) -> Markup {
    let lang = page.lang;
    let today_hours = day_hours(&b.branch.hours, weekday);
    let open_label = match (b.open_now, &b.branch.hours, today_hours) {
        (true, None, _) => t(lang, "visit.open_always").to_string(),
        (true, Some(_), Some((_, close))) => tf(lang, "visit.open_now", &[("time", &format_hhmm(close))]),
        _ => t(lang, "visit.closed_now").to_string(),
    };
    let book_href = format!("/c/{}/visit/book?branch={}", tenant.slug, b.id);
    html! {
        article.card.visit-branch id=(format!("branch-{}", b.id)) {
            div.visit-branch-head {
                h2 { (crate::org::service::branch_name(&b.branch, lang)) }
                span.badge.ok[b.open_now].off[!b.open_now] { (open_label) }
            }
            @if !b.branch.address.is_empty() {
                p.muted.visit-address { (b.branch.address) }
            }
            div.visit-branch-body {
                div.visit-main {
                    h3 { (t(lang, "visit.services")) }
                    @if b.offers.is_empty() {
                        p.muted { (t(lang, "visit.no_services")) }
                    } @else {
                        ul.visit-services {
                            @for o in &b.offers {
                                li {
                                    span.visit-service { (service_name(&o.service, lang)) }
                                    span.visit-meta {
                                        span.minutes { (tf(lang, "visit.about_minutes", &[("minutes", &o.service.minutes.to_string())])) }
                                        @if b.open_now {
                                            " · "
                                            @if o.waiting == 0 {
                                                span.waiting.none { (t(lang, "visit.no_queue")) }
                                            } @else {
                                                span.waiting { (tf(lang, "visit.waiting", &[("count", &o.waiting.to_string())])) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        div.visit-actions {
                            @if b.open_now {
                                (take_form(tenant, page, b, failed))
                                a.button.visit-book-link href=(book_href) { (t(lang, "visit.book")) }
                            } @else {
                                p.hint.small { (t(lang, "visit.take_closed")) }
                                a.button.primary.visit-book-link href=(book_href) { (t(lang, "visit.book")) }
                            }
                        }
                    }
                }
                div.visit-hours {
                    h3 { (t(lang, "visit.hours")) }
                    (hours_table(lang, &b.branch.hours, weekday))
                }
            }
        }
    }
}

/// The week's hours, one row a day, today marked.
fn hours_table(lang: Lang, hours: &Option<[DayHours; 7]>, today: usize) -> Markup {
    html! {
        @if hours.is_none() {
            p.hours { (t(lang, "visit.always")) }
        } @else {
            table.visit-hours {
                tbody {
                    @for d in 0..7 {
                        tr.today[d == today] aria-current=[(d == today).then_some("date")] {
                            th scope="row" { (crate::i18n::weekday_name(lang, d)) }
                            @match day_hours(hours, d) {
                                Some((o, c)) => {
                                    td { (format_hhmm(o)) "–" (format_hhmm(c)) }
                                }
                                None => {
                                    td.off { (t(lang, "visit.day_off")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// "Take a ticket now": a small form that opens under its button.
fn take_form(tenant: &Tenant, page: &Page, b: &BranchView, failed: Option<(&TicketForm, &FormError)>) -> Markup {
    let lang = page.lang;
    let (f, err) = match failed {
        Some((f, e)) => (Some(f), Some(e)),
        None => (None, None),
    };
    let chosen = f.and_then(|f| parse_id(&f.service));
    let id = |name: &str| format!("t{}-{name}", b.id);
    let field_error = |name: &str| err.and_then(|e| e.on(name));
    // An error not about one of the fields is said above the form.
    let general = err.filter(|e| !matches!(e.field, Some("name" | "phone" | "service_id")));
    html! {
        details.visit-take open[failed.is_some()] {
            summary.button.primary { (t(lang, "visit.take_now")) }
            form.visit-take-form method="post" action=(format!("/c/{}/visit/ticket", tenant.slug)) {
                (csrf_field(&page.csrf))
                input type="hidden" name="branch" value=(b.id);
                p.muted.small { (t(lang, "visit.take_lead")) }
                (form_alert(general))
                div.field.invalid[field_error("service_id").is_some()] {
                    label for=(id("service")) { (t(lang, "visit.field.service")) }
                    select id=(id("service")) name="service" {
                        @for o in &b.offers {
                            option value=(o.id) selected[chosen == Some(o.id)] { (service_name(&o.service, lang)) }
                        }
                    }
                    @if let Some(m) = field_error("service_id") { small.field-error { (m) } }
                }
                div.field.invalid[field_error("name").is_some()] {
                    label for=(id("name")) { (t(lang, "visit.field.name_optional")) }
                    input id=(id("name")) type="text" name="name" value=[f.map(|f| f.name.as_str())] maxlength="80" autocomplete="name"
                        aria-invalid=[field_error("name").map(|_| "true")];
                    @if let Some(m) = field_error("name") { small.field-error { (m) } }
                }
                div.field.invalid[field_error("phone").is_some()] {
                    label for=(id("phone")) { (t(lang, "visit.field.phone_optional")) }
                    input id=(id("phone")) type="tel" name="phone" value=[f.map(|f| f.phone.as_str())] inputmode="tel" autocomplete="tel"
                        aria-invalid=[field_error("phone").map(|_| "true")] aria-describedby=(id("phone-hint"));
                    small.hint id=(id("phone-hint")) { (t(lang, "visit.field.phone_hint")) }
                    @if let Some(m) = field_error("phone") { small.field-error { (m) } }
                }
                button.primary.wide type="submit" { (t(lang, "visit.take_submit")) }
            }
        }
    }
}

/// `POST /c/{slug}/visit/ticket`: an online ticket now, then its tracking page.
async fn take_ticket(
    State(state): State<AppState>,
    tenant: Tenant,
    page: Page,
    ClientIp(ip, limits): ClientIp,
    Form(f): Form<TicketForm>,
) -> Result<Response, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page).into_response());
    }
    let lang = page.lang;
    let result = async {
        limits.check_ticket(ip)?;
        let branch_id = parse_id(&f.branch).ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
        let service_id = parse_id(&f.service).ok_or_else(|| AppError::invalid("service_id", "validation.service_at_branch"))?;
        let input =
            NewTicket { service_id, source: "online".into(), priority: None, name: Some(f.name.clone()), phone: Some(f.phone.clone()) };
        tickets::issue(&state, &tenant, &crate::auth::Caller::Public, branch_id, input).await
    }
    .await;
    match result {
        Ok(issued) => Ok(Redirect::to(&format!("/t/{}", public_token(&tenant.slug, &issued.ticket.token))).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let err = FormError::new(lang, &e);
            Ok(form_again(visit_view(&state, &tenant, &page, Some((&f, &err)))?))
        }
    }
}

// ---------- booking ----------

/// The booking page's state, all as typed: a bad value falls back to a
/// sensible choice instead of failing the page.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct BookQuery {
    branch: String,
    service: String,
    date: String,
    start: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct BookForm {
    /// "1" when only a day or time is chosen again, keeping name and phone.
    choose: String,
    branch: String,
    service: String,
    date: String,
    start: String,
    name: String,
    phone: String,
}

/// One of the days the page offers.
struct DayChoice {
    date: Date,
    closed: bool,
    free: usize,
}

/// `GET /c/{slug}/visit/book`: branch and service, the day, the time, then name and phone.
async fn book_page(
    State(state): State<AppState>,
    tenant: Tenant,
    page: Page,
    RawQuery(raw): RawQuery,
    Query(q): Query<BookQuery>,
) -> Result<Markup, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page));
    }
    book_view(&state, &tenant, &page, raw.as_deref(), &q, None, None)
}

/// A day's slots; a day that cannot be booked (out of range) has none.
fn open_slots(state: &AppState, tenant: &Tenant, branch: u64, service: u64, date: Date) -> Result<Vec<Slot>, AppError> {
    match booking::slots(state, tenant, branch, service, date) {
        Ok(list) => Ok(list),
        Err(e) if e.kind == ErrorKind::Internal => Err(e),
        Err(_) => Ok(Vec::new()),
    }
}

fn book_href(slug: &str, branch: u64, service: u64, date: Option<Date>, start: Option<i64>) -> String {
    let mut href = format!("/c/{slug}/visit/book?branch={branch}&service={service}");
    if let Some(d) = date {
        href.push_str(&format!("&date={d}"));
    }
    if let Some(s) = start {
        href.push_str(&format!("&start={s}#details"));
    }
    href
}

fn book_view(
    state: &AppState,
    tenant: &Tenant,
    page: &Page,
    raw_query: Option<&str>,
    q: &BookQuery,
    typed: Option<&BookForm>,
    err: Option<&FormError>,
) -> Result<Markup, AppError> {
    let lang = page.lang;
    let tz = tenant.timezone();
    let slug = &tenant.slug;
    let title = t(lang, "visit.booking.title");
    let path = path_with_query(page, raw_query);
    let list: Vec<BranchView> = branches(state, tenant)?.into_iter().filter(|b| !b.offers.is_empty()).collect();
    let back = html! { p.back { a href=(format!("/c/{slug}/visit")) { "← " (t(lang, "visit.back")) } } };
    let Some(branch) = parse_id(&q.branch).and_then(|id| list.iter().find(|b| b.id == id)).or_else(|| list.first()) else {
        let body = html! { div.visit-book { (back) h1 { (title) } p.empty { (t(lang, "visit.booking.nothing")) } } };
        return Ok(layout::render(shell(tenant, page, title, &path), body));
    };
    let offer = parse_id(&q.service).and_then(|id| branch.offers.iter().find(|o| o.id == id)).or_else(|| branch.offers.first());
    let Some(offer) = offer else {
        return Err(AppError::new(ErrorKind::NotFound));
    };

    // The days: today and the next ones; closed days cannot be chosen.
    let first = today(state, &tz);
    let mut days = Vec::new();
    for i in 0..DAYS_SHOWN {
        let Ok(date) = first.checked_add(jiff::Span::new().days(i)) else { continue };
        let closed = day_hours(&branch.branch.hours, weekday_of(date)).is_none();
        let free = if closed { 0 } else { open_slots(state, tenant, branch.id, offer.id, date)?.iter().filter(|s| s.free > 0).count() };
        days.push(DayChoice { date, closed, free });
    }
    let asked = q.date.trim().parse::<Date>().ok().filter(|d| days.iter().any(|c| c.date == *d));
    let date = asked.or_else(|| days.iter().find(|d| d.free > 0).map(|d| d.date)).unwrap_or(first);
    let day = days.iter().find(|d| d.date == date);
    let slots: Vec<Slot> = if day.is_some_and(|d| d.closed) { Vec::new() } else { open_slots(state, tenant, branch.id, offer.id, date)? };
    let asked_start = q.start.trim().parse::<i64>().ok();
    let chosen = asked_start.and_then(|s| slots.iter().find(|x| x.start == s && x.free > 0));
    // A time that was asked for but is gone (taken meanwhile, or past).
    let gone = asked_start.is_some() && chosen.is_none();
    let keep = typed.is_some();

    let body = html! {
        div.visit-book {
            (back)
            h1 { (title) }
            p.lead { (t(lang, "visit.booking.lead")) }
            @if gone && err.is_none() {
                p.alert role="alert" { (t(lang, "visit.booking.slot_gone")) }
            }
            @if chosen.is_none() {
                (form_alert(err))
            }
            section.card.visit-step {
                h2 { span.step-no { "1" } (t(lang, "visit.booking.step_where")) }
                form.visit-where method="get" action=(format!("/c/{slug}/visit/book"))
                    hx-get=(format!("/c/{slug}/visit/book")) hx-trigger="change" hx-target="main" hx-select="main" hx-swap="outerHTML" hx-push-url="true" {
                    div.grid-2 {
                        div.field {
                            label for="f-branch" { (t(lang, "visit.field.branch")) }
                            select id="f-branch" name="branch" {
                                @for b in &list {
                                    option value=(b.id) selected[b.id == branch.id] { (crate::org::service::branch_name(&b.branch, lang)) }
                                }
                            }
                        }
                        div.field {
                            label for="f-service" { (t(lang, "visit.field.service")) }
                            select id="f-service" name="service" {
                                @for o in &branch.offers {
                                    option value=(o.id) selected[o.id == offer.id] {
                                        (service_name(&o.service, lang)) " · " (tf(lang, "visit.about_minutes", &[("minutes", &o.service.minutes.to_string())]))
                                    }
                                }
                            }
                        }
                    }
                    button.visit-show type="submit" { (t(lang, "visit.booking.show_times")) }
                }
                @if !branch.branch.address.is_empty() {
                    p.muted.small.visit-address { (branch.branch.address) }
                }
            }
            section.card.visit-step {
                h2 { span.step-no { "2" } (t(lang, "visit.booking.step_day")) }
                // On a phone the strip scrolls sideways: app.js marks the side
                // with more days (a fade and an arrow) and shows the chosen day.
                div.scroll-cue data-scroll-cue {
                ul.visit-days {
                    @for (i, d) in days.iter().enumerate() {
                        @let label = match i { 0 => t(lang, "visit.today").to_string(), 1 => t(lang, "visit.tomorrow").to_string(), _ => crate::i18n::weekday_short(lang, weekday_of(d.date)).to_string() };
                        @let when = format!("{} {}", d.date.day(), month_short(lang, d.date.month()));
                        li {
                            @if d.closed || d.free == 0 {
                                span.visit-day.off aria-disabled="true" aria-current=[(d.date == date).then_some("date")] {
                                    span.wd { (label) }
                                    span.dm { (when) }
                                    span.note { (if d.closed { t(lang, "visit.booking.day_closed") } else { t(lang, "visit.booking.day_full") }) }
                                }
                            } @else if keep {
                                button.visit-day.selected[d.date == date] type="submit" form="keep" name="date" value=(d.date.to_string())
                                    aria-current=[(d.date == date).then_some("date")] title=(date_long(lang, d.date)) {
                                    span.wd { (label) }
                                    span.dm { (when) }
                                }
                            } @else {
                                a.visit-day.selected[d.date == date] href=(book_href(slug, branch.id, offer.id, Some(d.date), None))
                                    aria-current=[(d.date == date).then_some("date")] title=(date_long(lang, d.date)) {
                                    span.wd { (label) }
                                    span.dm { (when) }
                                }
                            }
                        }
                    }
                }
                }
            }
            section.card.visit-step #times {
                h2 { span.step-no { "3" } (t(lang, "visit.booking.step_time")) " · " span.muted { (date_long(lang, date)) } }
                @if day.is_some_and(|d| d.closed) {
                    p.empty { (t(lang, "visit.booking.closed_day")) }
                } @else if !slots.iter().any(|s| s.free > 0) {
                    p.empty { (t(lang, "visit.booking.no_slots")) }
                } @else {
                    ul.visit-slots {
                        @for s in &slots {
                            li {
                                @if s.free == 0 {
                                    span.visit-slot.full aria-disabled="true" title=(t(lang, "visit.booking.slot_full")) {
                                        (hhmm(s.start, &tz))
                                        span.visually-hidden { " " (t(lang, "visit.booking.slot_full")) }
                                    }
                                } @else if keep {
                                    button.visit-slot.selected[chosen.is_some_and(|c| c.start == s.start)] type="submit" form="keep"
                                        name="start" value=(s.start) aria-current=[chosen.is_some_and(|c| c.start == s.start).then_some("true")] {
                                        (hhmm(s.start, &tz))
                                    }
                                } @else {
                                    a.visit-slot.selected[chosen.is_some_and(|c| c.start == s.start)]
                                        href=(book_href(slug, branch.id, offer.id, Some(date), Some(s.start)))
                                        aria-current=[chosen.is_some_and(|c| c.start == s.start).then_some("true")] {
                                        (hhmm(s.start, &tz))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(slot) = chosen {
                (details_form(tenant, page, branch, offer, date, slot, typed, err))
            }
            @if let Some(f) = typed {
                // After a failed attempt, choosing another day or time keeps what was typed.
                form #keep method="post" action=(format!("/c/{slug}/visit/book")) hidden {
                    (csrf_field(&page.csrf))
                    input type="hidden" name="choose" value="1";
                    input type="hidden" name="branch" value=(branch.id);
                    input type="hidden" name="service" value=(offer.id);
                    input type="hidden" name="name" value=(f.name);
                    input type="hidden" name="phone" value=(f.phone);
                }
            }
        }
    };
    Ok(layout::render(shell(tenant, page, title, &path), body))
}

/// Step 4: who is coming. Both fields are required; the backend checks the phone.
#[allow(clippy::too_many_arguments)]
fn details_form(
    tenant: &Tenant,
    page: &Page,
    branch: &BranchView,
    offer: &Offer,
    date: Date,
    slot: &Slot,
    typed: Option<&BookForm>,
    err: Option<&FormError>,
) -> Markup {
    let lang = page.lang;
    let tz = tenant.timezone();
    let when = tf(lang, "visit.booking.chosen", &[("date", &date_long(lang, date)), ("time", &hhmm(slot.start, &tz))]);
    let general = err.filter(|e| !matches!(e.field, Some("name" | "phone")));
    html! {
        section.card.visit-step.visit-details #details {
            h2 { span.step-no { "4" } (t(lang, "visit.booking.step_details")) }
            div.visit-chosen {
                p {
                    strong { (when) }
                    br;
                    (service_name(&offer.service, lang)) " · " (crate::org::service::branch_name(&branch.branch, lang))
                }
                @if typed.is_some() {
                    a href="#times" { (t(lang, "visit.booking.change_time")) }
                } @else {
                    a href=(format!("{}#times", book_href(&tenant.slug, branch.id, offer.id, Some(date), None))) { (t(lang, "visit.booking.change_time")) }
                }
            }
            (form_alert(general))
            form method="post" action=(format!("/c/{}/visit/book", tenant.slug)) {
                (csrf_field(&page.csrf))
                input type="hidden" name="branch" value=(branch.id);
                input type="hidden" name="service" value=(offer.id);
                input type="hidden" name="date" value=(date.to_string());
                input type="hidden" name="start" value=(slot.start);
                (Input::new(t(lang, "visit.field.name"), "name").value(typed.map(|f| f.name.as_str()).unwrap_or("")).required()
                    .maxlength(80).autocomplete("name").error(err))
                (Input::new(t(lang, "visit.field.phone"), "phone").kind("tel").value(typed.map(|f| f.phone.as_str()).unwrap_or(""))
                    .required().inputmode("tel").autocomplete("tel").hint(t(lang, "visit.field.phone_hint")).error(err))
                p.muted.small { (t(lang, "visit.booking.privacy")) }
                button.primary.wide type="submit" { (t(lang, "visit.booking.submit")) }
            }
        }
    }
}

/// `POST /c/{slug}/visit/book`: books the slot and shows the confirmation;
/// on a failure the page again, with what was typed and why.
async fn book_submit(
    State(state): State<AppState>,
    tenant: Tenant,
    page: Page,
    ClientIp(ip, limits): ClientIp,
    Form(f): Form<BookForm>,
) -> Result<Response, AppError> {
    if !tenant.is_active() {
        return Ok(not_open(&tenant, &page).into_response());
    }
    let lang = page.lang;
    if f.choose == "1" {
        let tz = tenant.timezone();
        let start = f.start.trim().parse::<i64>().ok();
        let date = match start {
            Some(ms) => crate::clock::from_ms(ms).to_zoned(tz).date().to_string(),
            None => f.date.clone(),
        };
        let q = BookQuery { branch: f.branch.clone(), service: f.service.clone(), date, start: f.start.clone() };
        let raw = format!("branch={}&service={}&date={}", enc(&q.branch), enc(&q.service), enc(&q.date));
        return Ok(book_view(&state, &tenant, &page, Some(&raw), &q, Some(&f), None)?.into_response());
    }
    let result = async {
        limits.check_ticket(ip)?;
        let not_offered = || AppError::invalid("start", "validation.slot_unknown");
        let branch_id = parse_id(&f.branch).ok_or_else(not_offered)?;
        let service_id = parse_id(&f.service).ok_or_else(not_offered)?;
        let start = f.start.trim().parse::<i64>().map_err(|_| not_offered())?;
        let input = NewBooking { branch_id, service_id, start, name: f.name.clone(), phone: f.phone.clone() };
        booking::book(&state, &tenant, input).await
    }
    .await;
    match result {
        Ok(issued) => Ok(Redirect::to(&format!("/c/{}/visit/booked/{}", tenant.slug, issued.ticket.token)).into_response()),
        Err(e) if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
        Err(e) => {
            let mut err = FormError::new(lang, &e);
            if e.kind == ErrorKind::Conflict {
                // Someone else took the time a moment ago.
                err.message = t(lang, "visit.booking.slot_gone").to_string();
            }
            // Without a valid time, the times are shown again to choose from.
            let keep_start = matches!(e.field, Some("name" | "phone")) || e.kind == ErrorKind::RateLimited;
            let q = BookQuery {
                branch: f.branch.clone(),
                service: f.service.clone(),
                date: f.date.clone(),
                start: if keep_start { f.start.clone() } else { String::new() },
            };
            let raw = format!("branch={}&service={}&date={}", enc(&q.branch), enc(&q.service), enc(&q.date));
            Ok(form_again(book_view(&state, &tenant, &page, Some(&raw), &q, Some(&f), Some(&err))?))
        }
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /c/{slug}/visit/booked/{token}`: the booking's confirmation, with
/// the check-in code, the tracking link and its QR code.
async fn booked_page(tenant: Tenant, page: Page, Path((_, token)): Path<(String, String)>) -> Result<Markup, AppError> {
    let not_found = || AppError::new(ErrorKind::NotFound).with_message("error.booking_not_found");
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let db = tenant.db()?;
    let (_, ticket) = tickets::by_token(db, &token)?.ok_or_else(not_found)?;
    if ticket.booking.is_none() {
        return Err(not_found());
    }
    let branch = crate::org::service::get_branch(db, ticket.branch_id).ok();
    let service = tickets::service_of(db, ticket.service_id).ok();
    Ok(booked_view(&tenant, &page, &ticket, branch.as_ref(), service.as_ref()))
}

fn booked_view(tenant: &Tenant, page: &Page, ticket: &TicketV1, branch: Option<&BranchV2>, service: Option<&ServiceV2>) -> Markup {
    let lang = page.lang;
    let tz = tenant.timezone();
    let title = t(lang, "visit.done.title");
    let public = public_token(&tenant.slug, &ticket.token);
    let (start, end, code) = ticket.booking.as_ref().map(|b| (b.start, b.end, b.code)).unwrap_or((0, 0, 0));
    let date = crate::clock::from_ms(start).to_zoned(tz.clone()).date();
    let status_note = match ticket.status {
        TicketStatus::Booked => None,
        TicketStatus::Cancelled => Some(t(lang, "visit.done.cancelled")),
        TicketStatus::Expired => Some(t(lang, "visit.done.expired")),
        _ => Some(t(lang, "visit.done.checked_in")),
    };
    let minutes = |ms: i64| (ms / 60_000).to_string();
    let body = html! {
        section.card.visit-done {
            @if let Some(note) = status_note {
                p.hint role="status" { (note) }
            } @else {
                p.visit-done-mark aria-hidden="true" { "✓" }
            }
            h1 { (title) }
            div.visit-code {
                span.visit-code-label { (t(lang, "visit.done.code")) }
                strong.visit-code-value #code { (format!("{code:06}")) }
                p { (t(lang, "visit.done.show_code")) }
            }
            dl.facts.visit-facts {
                dt { (t(lang, "visit.done.ticket")) }
                dd { strong.visit-number { (ticket.number) } }
                dt { (t(lang, "visit.done.when")) }
                dd { strong { (date_long(lang, date)) } br; (hhmm(start, &tz)) "–" (hhmm(end, &tz)) }
                dt { (t(lang, "visit.done.branch")) }
                dd {
                    @if let Some(b) = branch {
                        (crate::org::service::branch_name(b, lang))
                        @if !b.address.is_empty() { br; span.muted { (b.address) } }
                    }
                }
                dt { (t(lang, "visit.done.service")) }
                dd { @if let Some(s) = service { (service_name(s, lang)) } }
            }
            @if status_note.is_none() {
                p.hint.small { (tf(lang, "visit.done.come", &[("early", &minutes(EARLY_MS)), ("grace", &minutes(GRACE_MS))])) }
            }
            div.visit-qr {
                img src=(format!("/t/{public}/qr.svg")) alt=(t(lang, "visit.done.qr_alt")) width="180" height="180";
                p.muted.small { (t(lang, "visit.done.qr_hint")) }
            }
            div.form-actions {
                a.button.primary href=(format!("/t/{public}")) { (t(lang, "visit.done.track")) }
                a.button href=(format!("/c/{}/visit", tenant.slug)) { (t(lang, "visit.back")) }
            }
        }
    };
    layout::render(shell(tenant, page, title, &page.path), body)
}
