//! The staff's request pages: the list with its status tabs, filters,
//! search, saved filters and bulk changes; one request with its answers,
//! client, assignment, moves, conversation (public replies and internal
//! notes) and history; and filing on a client's behalf. Every change goes
//! through `requests::service`; these handlers read forms and draw pages,
//! in the company's time zone.

use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::{MessageOut, NewMessage, Window};
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::requests::service::{self, ClientInput, Move, NewRequest, Row};
use crate::requests::{self as rq, SlaLevel, filters};
use crate::store::schema::{FieldKind, Priority, RequestCategoryV1, RequestStatus, RequestV1};
use crate::web::api::requests::{ListParams, parse_list};
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{FormError, Input, csrf_field, form_alert, local_time, select};
use crate::web::pages::org::{Ctx, Section};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/requests", get(list_page))
        .route("/requests/new", get(new_page).post(new_submit))
        .route("/requests/bulk", post(bulk_submit))
        .route("/requests/saved-filters", post(save_filter))
        .route("/requests/saved-filters/{id}/delete", post(delete_filter))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/{action}", post(act))
}

/// Rows a list page shows at once.
const PAGE_SIZE: usize = 50;

/// The open statuses, the list's tabs.
const OPEN: [RequestStatus; 6] = [
    RequestStatus::New,
    RequestStatus::Assigned,
    RequestStatus::InProgress,
    RequestStatus::PendingReview,
    RequestStatus::WaitingClient,
    RequestStatus::Reopened,
];

/// The pairs of a form body or query string.
fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn one<'a>(p: &'a [(String, String)], key: &str) -> &'a str {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).unwrap_or("")
}

fn opt_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// Browsers send a textarea's line breaks as CRLF.
fn lines(s: &str) -> String {
    s.replace("\r\n", "\n")
}

pub(crate) fn status_badge(lang: Lang, s: RequestStatus) -> Markup {
    html! { span class=(format!("badge rq-st rq-st-{}", rq::status_code(s))) { (rq::status_label(lang, s)) } }
}

fn priority_badge(lang: Lang, p: Priority) -> Markup {
    html! { span class=(format!("rq-prio rq-prio-{}", rq::priority_code(p))) { (rq::priority_label(lang, p)) } }
}

fn category_chip(cat: Option<&RequestCategoryV1>, lang: Lang) -> Markup {
    match cat {
        Some(c) => html! {
            span.cat {
                svg.dot viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" focusable="false" {
                    circle cx="5" cy="5" r="5" fill=(c.color) {}
                }
                (c.names.get(lang))
            }
        },
        None => html! { span.muted { "—" } },
    }
}

/// "2 d 3 h", "45 min": a span of time, roughly.
fn span_text(lang: Lang, ms: i64) -> String {
    let m = ms.abs() / 60_000;
    let (d, h, min) = (m / 1440, m % 1440 / 60, m % 60);
    if d > 0 {
        tf(lang, "rs.span.dh", &[("d", &d.to_string()), ("h", &h.to_string())])
    } else if h > 0 {
        tf(lang, "rs.span.hm", &[("h", &h.to_string()), ("m", &min.to_string())])
    } else {
        tf(lang, "rs.span.m", &[("m", &min.to_string())])
    }
}

/// The SLA's time left, coloured: green, amber within the hour, red past,
/// grey while the client is awaited.
fn sla_cell(lang: Lang, r: &RequestV1, now: i64) -> Markup {
    match rq::sla_left(r, now) {
        None => html! { span.muted { "—" } },
        Some((left, level)) => {
            let (class, text) = match level {
                SlaLevel::Paused => ("rq-sla paused", tf(lang, "rs.sla.paused", &[("left", &span_text(lang, left))])),
                SlaLevel::Breached => ("rq-sla breached", tf(lang, "rs.sla.over", &[("over", &span_text(lang, left))])),
                SlaLevel::Soon => ("rq-sla soon", tf(lang, "rs.sla.left", &[("left", &span_text(lang, left))])),
                SlaLevel::Ok => ("rq-sla ok", tf(lang, "rs.sla.left", &[("left", &span_text(lang, left))])),
            };
            html! { span class=(class) { (text) } }
        }
    }
}

fn styles() -> Markup {
    html! {
        link rel="stylesheet" href=(crate::web::assets::url("requests.css"));
        script src=(crate::web::assets::url("requests.js")) defer {}
    }
}

/// Who works requests: dispatchers, the members of some category's team,
/// and whoever has an open request assigned.
pub(crate) fn works_requests(user: &CurrentUser) -> bool {
    let who = Caller::from(user);
    who.dispatches_requests()
        || user.tenant.db().ok().is_some_and(|db| {
            service::list_categories(db).is_ok_and(|cs| cs.iter().any(|(_, c)| c.team.contains(&user.id)))
                || service::mine(db, &who, 1).is_ok_and(|m| !m.is_empty())
        })
}

// ---------- the list ----------

/// The people a dispatcher hands requests to, by name.
fn people(c: &Ctx) -> Result<Vec<(u64, String)>, AppError> {
    let db = c.tenant().db()?;
    let mut v: Vec<(u64, String)> = crate::org::service::directory(db, &Caller::from(&c.user))?
        .into_iter()
        .filter(|(_, u)| u.active)
        .map(|(id, u)| (id, u.name))
        .collect();
    v.sort_by_key(|(_, n)| n.to_lowercase());
    Ok(v)
}

fn status_options(lang: Lang, first: &str) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), first.to_string())];
    v.extend(rq::STATUSES.iter().map(|s| (rq::status_code(*s).to_string(), rq::status_label(lang, *s).to_string())));
    v
}

/// The list's query string without `cursor` and the notices.
fn kept_query(raw: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in raw {
        if !v.trim().is_empty() && !matches!(k.as_str(), "cursor" | "done" | "ok" | "failed" | "_csrf") {
            s.append_pair(k, v.trim());
        }
    }
    s.finish()
}

async fn list_page(State(state): State<AppState>, user: CurrentUser, page: Page, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let raw = raw.unwrap_or_default();
    let q = pairs(raw.as_bytes());
    let tz = c.tenant().timezone();
    let (params, err) = match parse_list(Some(&raw), &tz) {
        Ok(p) => (p, None),
        Err(e) => (ListParams { limit: PAGE_SIZE, ..ListParams::default() }, Some(FormError::new(lang, &e))),
    };
    let mut filter = params.filter.clone();
    // No status named and no search: the open ones (the "Open" tab).
    let all_tab = one(&q, "tab") == "all";
    if filter.statuses.is_empty() && !all_tab {
        filter.statuses = OPEN.to_vec();
    }
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let index = if filter.q.trim().is_empty() { None } else { Some(state.search.get(c.tenant())?) };
    let (items, next) = service::list(db, index.as_deref(), &who, &filter, params.cursor, PAGE_SIZE)?;
    let rows = service::rows(db, items)?;
    let counts = service::open_counts(db, &who)?;
    let saved = filters::list(db, &who)?;
    let cats = service::list_categories(db)?;
    let dispatcher = who.dispatches_requests();
    let people = people(&c)?;
    let now = state.now_ms();
    let current = kept_query(&q);
    let status_now: Vec<&str> = params.filter.statuses.iter().map(|s| rq::status_code(*s)).collect();
    let title = t(lang, "rs.list.title");
    let notice = match one(&q, "done") {
        "bulk" => Some(tf(lang, "rs.notice.bulk", &[("ok", one(&q, "ok")), ("failed", one(&q, "failed"))])),
        "saved" => Some(t(lang, "rs.notice.saved").to_string()),
        _ => None,
    };

    let tab = |label: String, href: String, active: bool, n: Option<u64>| {
        html! {
            a href=(href) class=[active.then_some("active")] aria-current=[active.then_some("page")] {
                (label)
                @if let Some(n) = n {
                    " " span class=(if n > 0 { "count has" } else { "count" }) { (n) }
                }
            }
        }
    };
    let open_total: u64 = counts.values().sum();
    let assignee_opts = {
        let mut v = vec![
            (String::new(), t(lang, "rs.filter.anyone").to_string()),
            ("none".to_string(), t(lang, "rs.filter.unassigned").to_string()),
        ];
        v.extend(people.iter().map(|(id, n)| (id.to_string(), n.clone())));
        v
    };
    let team_opts = {
        let members: std::collections::BTreeSet<u64> = cats.iter().flat_map(|(_, c)| c.team.iter().copied()).collect();
        let mut v = vec![(String::new(), t(lang, "rs.filter.any_team").to_string())];
        v.extend(people.iter().filter(|(id, _)| members.contains(id)).map(|(id, n)| (id.to_string(), n.clone())));
        v
    };
    let cat_opts = {
        let mut v = vec![(String::new(), t(lang, "rs.filter.any_category").to_string())];
        v.extend(cats.iter().map(|(id, k)| (id.to_string(), k.names.get(lang).to_string())));
        v
    };
    let prio_opts = {
        let mut v = vec![(String::new(), t(lang, "rs.filter.any_priority").to_string())];
        v.extend(rq::PRIORITIES.iter().map(|p| (rq::priority_code(*p).to_string(), rq::priority_label(lang, *p).to_string())));
        v
    };
    let channel_opts = {
        let mut v = vec![(String::new(), t(lang, "rs.filter.any_channel").to_string())];
        v.extend(rq::CHANNELS.iter().map(|ch| (rq::channel_code(*ch).to_string(), rq::channel_label(lang, *ch).to_string())));
        v
    };
    let filters_open =
        ["category_id", "assignee_id", "team", "priority", "channel", "breached", "from", "to"].iter().any(|k| !one(&q, k).is_empty());
    let status_value = if status_now.len() == 1 { status_now.first().copied().unwrap_or("") } else { "" };

    let body = html! {
        (styles())
        div.page-head {
            h1 { (title) }
            div.rq-head-actions {
                @if crate::requests::stats::can_view(&Caller::from(&c.user)) {
                    a.button href=(c.url("requests/stats")) { (t(lang, "request_stats.title")) }
                }
                a.button.primary href=(c.url("requests/new")) { "+ " (t(lang, "rs.new.title")) }
            }
        }
        (form_alert(err.as_ref()))
        nav.subtabs.rq-tabs aria-label=(title) {
            (tab(t(lang, "rs.tab.open").to_string(), c.url("requests"), status_now.is_empty() && !all_tab, Some(open_total)))
            @for s in OPEN {
                (tab(rq::status_label(lang, s).to_string(), c.url(&format!("requests?status={}", rq::status_code(s))),
                    status_now == [rq::status_code(s)], counts.get(rq::status_code(s)).copied()))
            }
            (tab(t(lang, "rs.tab.all").to_string(), c.url("requests?tab=all"), all_tab && status_now.is_empty(), None))
        }
        form.filters.rq-filters method="get" action=(c.url("requests")) {
            @if all_tab { input type="hidden" name="tab" value="all"; }
            div.field.search-field {
                label for="f-q" { (t(lang, "rs.filter.search")) }
                input id="f-q" type="search" name="q" value=(one(&q, "q")) maxlength="200" placeholder=(t(lang, "rs.filter.search_hint"));
            }
            details.rq-more open[filters_open] {
                summary { (t(lang, "rs.filter.more")) }
                div.filter-grid {
                    (select(t(lang, "rs.field.status"), "status", &status_options(lang, t(lang, "rs.filter.any_status")), status_value, None))
                    (select(t(lang, "rs.field.category"), "category_id", &cat_opts, one(&q, "category_id"), None))
                    (select(t(lang, "rs.field.assignee"), "assignee_id", &assignee_opts, one(&q, "assignee_id"), None))
                    (select(t(lang, "rs.field.team"), "team", &team_opts, one(&q, "team"), None))
                    (select(t(lang, "rs.field.priority"), "priority", &prio_opts, one(&q, "priority"), None))
                    (select(t(lang, "rs.field.channel"), "channel", &channel_opts, one(&q, "channel"), None))
                    (Input::new(t(lang, "rs.filter.from"), "from").kind("date").value(one(&q, "from")))
                    (Input::new(t(lang, "rs.filter.to"), "to").kind("date").value(one(&q, "to")))
                    label.check {
                        input type="checkbox" name="breached" value="true" checked[one(&q, "breached") == "true"];
                        span { (t(lang, "rs.filter.breached")) }
                    }
                }
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "rs.filter.apply")) }
                a.button href=(c.url("requests")) { (t(lang, "rs.filter.reset")) }
            }
        }
        div.rq-saved {
            @if !saved.is_empty() {
                span.muted { (t(lang, "rs.saved.title")) ":" }
                @for s in &saved {
                    span.rq-saved-item {
                        a.rq-chip href=(c.url(&format!("requests?{}", s.query))) { (s.name) }
                        form.inline method="post" action=(c.url(&format!("requests/saved-filters/{}/delete", s.id))) {
                            (csrf_field(c.csrf()))
                            input type="hidden" name="back" value=(current);
                            button.link type="submit" aria-label=(tf(lang, "rs.saved.delete", &[("name", &s.name)])) title=(tf(lang, "rs.saved.delete", &[("name", &s.name)])) { "×" }
                        }
                    }
                }
            }
            @if !current.is_empty() {
                form.inline.rq-save method="post" action=(c.url("requests/saved-filters")) {
                    (csrf_field(c.csrf()))
                    input type="hidden" name="query" value=(current);
                    label.visually-hidden for="f-save-name" { (t(lang, "rs.saved.name")) }
                    input id="f-save-name" type="text" name="name" maxlength="60" required placeholder=(t(lang, "rs.saved.name"));
                    button type="submit" { (t(lang, "rs.saved.save")) }
                }
            }
        }
        @if let Some(n) = &notice { p.notice role="status" { (n) } }
        div #live-region data-live-requests="" {
            p.rq-changed hidden role="status" {
                (t(lang, "rs.live.changed")) " "
                a href=(format!("{}?{}", c.url("requests"), current)) { (t(lang, "rs.live.refresh")) }
            }
            @if rows.is_empty() {
                p.empty { (t(lang, if filter.q.trim().is_empty() { "rs.list.empty" } else { "rs.list.nothing_found" })) }
            } @else {
                @if dispatcher {
                    form #bulk.rq-bulk method="post" action=(c.url("requests/bulk")) {
                        (csrf_field(c.csrf()))
                        input type="hidden" name="back" value=(current);
                        strong.rq-bulk-n data-none=(t(lang, "rs.bulk.none")) { (t(lang, "rs.bulk.none")) }
                        div.rq-bulk-act {
                            label for="bulk-assignee" { (t(lang, "rs.bulk.assign_to")) }
                            select #bulk-assignee name="assignee_id" {
                                option value="" { (t(lang, "rs.bulk.choose")) }
                                @for (id, n) in &people { option value=(id) { (n) } }
                            }
                            button type="submit" name="do" value="assign" { (t(lang, "rs.bulk.assign")) }
                        }
                        div.rq-bulk-act {
                            label for="bulk-status" { (t(lang, "rs.bulk.status_to")) }
                            select #bulk-status name="status" {
                                option value="" { (t(lang, "rs.bulk.choose")) }
                                @for s in [RequestStatus::InProgress, RequestStatus::WaitingClient, RequestStatus::Done, RequestStatus::Rejected, RequestStatus::Reopened] {
                                    option value=(rq::status_code(s)) { (rq::status_label(lang, s)) }
                                }
                            }
                            input type="text" name="comment" maxlength="2000" placeholder=(t(lang, "rs.bulk.comment")) aria-label=(t(lang, "rs.bulk.comment"));
                            button type="submit" name="do" value="status" { (t(lang, "rs.bulk.change")) }
                        }
                    }
                }
                div.table-wrap {
                    table.data.stack.rq-list {
                        thead {
                            tr {
                                @if dispatcher {
                                    th.rq-pick { input type="checkbox" data-pick-all="" aria-label=(t(lang, "rs.bulk.all")); }
                                }
                                th { (t(lang, "rs.field.request")) }
                                th { (t(lang, "rs.field.client")) }
                                th { (t(lang, "rs.field.status")) }
                                th { (t(lang, "rs.field.assignee")) }
                                th { (t(lang, "rs.field.age")) }
                                th { (t(lang, "rs.field.sla")) }
                            }
                        }
                        tbody {
                            @for row in &rows {
                                (list_row(&c, row, dispatcher, now))
                            }
                        }
                    }
                }
            }
            @if params.cursor.is_some() || next.is_some() {
                nav.pager aria-label=(t(lang, "rs.list.pages")) {
                    @if params.cursor.is_some() {
                        a.button href=(format!("{}?{}", c.url("requests"), current)) { "« " (t(lang, "rs.list.first_page")) }
                    }
                    @if let Some(n) = next {
                        a.button href=(format!("{}?{}{}cursor={n}", c.url("requests"), current, if current.is_empty() { "" } else { "&" })) { (t(lang, "rs.list.next_page")) " →" }
                    }
                }
            }
        }
    };
    let page = c.render(title, Section::Requests, None, body);
    Ok(match err {
        Some(_) => form_again(page),
        None => page.into_response(),
    })
}

fn list_row(c: &Ctx, row: &Row, dispatcher: bool, now: i64) -> Markup {
    let lang = c.lang();
    let r = &row.request;
    let href = c.url(&format!("requests/{}", row.id));
    html! {
        tr data-id=(row.id) {
            @if dispatcher {
                td.rq-pick { input type="checkbox" name="ids" value=(row.id) form="bulk" aria-label=(rq::number(row.id)); }
            }
            td.rq-main data-label=(t(lang, "rs.field.request")) {
                div {
                    a.rq-link href=(href) {
                        span.rq-num { (rq::number(row.id)) } " " (r.subject)
                    }
                    br;
                    (category_chip(row.category.as_ref(), lang))
                    @if r.priority != Priority::Normal { " " (priority_badge(lang, r.priority)) }
                }
            }
            td data-label=(t(lang, "rs.field.client")) { (row.client_name) }
            td data-label=(t(lang, "rs.field.status")) { (status_badge(lang, r.status)) }
            td.rq-assignee data-label=(t(lang, "rs.field.assignee")) {
                @if r.assignee_id.is_some() { (row.assignee_name) } @else { span.rq-nobody { (t(lang, "rs.filter.unassigned")) } }
            }
            td.nowrap data-label=(t(lang, "rs.field.age")) { (span_text(lang, now - r.created_at)) }
            td.nowrap data-label=(t(lang, "rs.field.sla")) { (sla_cell(lang, r, now)) }
        }
    }
}

/// The list's address to go back to after a change (`back` is a query string).
fn back_to(c: &Ctx, back: &str, extra: &str) -> String {
    let back = back.trim().trim_start_matches('?');
    let join = if back.is_empty() || extra.is_empty() { "" } else { "&" };
    format!("{}?{}{}{}", c.url("requests"), back, join, extra)
}

async fn bulk_submit(State(state): State<AppState>, user: CurrentUser, page: Page, body: Bytes) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let f = pairs(&body);
    let ids: Vec<u64> = f.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| opt_id(v)).collect();
    let who = Caller::from(&c.user);
    let back = one(&f, "back").to_string();
    if ids.is_empty() {
        return Ok(Redirect::to(&back_to(&c, &back, "done=bulk&ok=0&failed=0")).into_response());
    }
    let results = match one(&f, "do") {
        "status" => {
            let to = rq::parse_status(one(&f, "status")).ok_or_else(|| AppError::invalid("status", "validation.request_status"))?;
            let comment = Some(one(&f, "comment")).filter(|s| !s.is_empty());
            service::bulk_status(&state, c.tenant(), &who, &ids, to, comment).await?
        }
        _ => {
            let to = opt_id(one(&f, "assignee_id")).ok_or_else(|| AppError::invalid("assignee_id", "validation.assignee"))?;
            service::bulk_assign(&state, c.tenant(), &who, &ids, to, None).await?
        }
    };
    let ok = results.iter().filter(|r| r.ok).count();
    let failed = results.len() - ok;
    Ok(Redirect::to(&back_to(&c, &back, &format!("done=bulk&ok={ok}&failed={failed}"))).into_response())
}

async fn save_filter(user: CurrentUser, page: Page, body: Bytes) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let f = pairs(&body);
    let query = one(&f, "query").to_string();
    filters::create(c.tenant(), &Caller::from(&c.user), one(&f, "name"), &query).await?;
    Ok(Redirect::to(&back_to(&c, &query, "done=saved")).into_response())
}

async fn delete_filter(user: CurrentUser, page: Page, PathId(id): PathId, body: Bytes) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let f = pairs(&body);
    filters::delete(c.tenant(), &Caller::from(&c.user), id).await?;
    Ok(Redirect::to(&back_to(&c, one(&f, "back"), "")).into_response())
}

// ---------- one request ----------

async fn request_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let notice = notice_of(c.lang(), &q.done);
    Ok(request_view(&state, &c, id, None, notice)?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    done: String,
}

fn notice_of(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "assigned" => t(lang, "rs.notice.assigned"),
        "status" => t(lang, "rs.notice.status"),
        "priority" => t(lang, "rs.notice.priority"),
        "reply" => t(lang, "rs.notice.reply"),
        "note" => t(lang, "rs.notice.note"),
        "filed" => t(lang, "rs.notice.filed"),
        _ => return None,
    })
}

fn history_line(lang: Lang, e: &crate::store::schema::TaskEventV1) -> String {
    let status =
        |s: &Option<String>| s.as_deref().and_then(rq::parse_status).map(|s| rq::status_label(lang, s).to_string()).unwrap_or_default();
    match (e.kind.as_str(), e.field.as_deref()) {
        ("created", _) => t(lang, "rs.history.created").to_string(),
        ("status", _) => tf(lang, "rs.history.status", &[("from", &status(&e.from)), ("to", &status(&e.to))]),
        ("field", Some("assignee")) => match e.from.as_deref().filter(|s| !s.is_empty()) {
            Some(from) => tf(lang, "rs.history.reassigned", &[("from", from), ("to", e.to.as_deref().unwrap_or(""))]),
            None => tf(lang, "rs.history.assigned", &[("to", e.to.as_deref().unwrap_or(""))]),
        },
        ("field", Some("priority")) => {
            let p = |s: &Option<String>| {
                s.as_deref().and_then(rq::parse_priority).map(|p| rq::priority_label(lang, p).to_string()).unwrap_or_default()
            };
            tf(lang, "rs.history.priority", &[("from", &p(&e.from)), ("to", &p(&e.to))])
        }
        ("first_response", _) => t(lang, "rs.history.first_response").to_string(),
        ("sla_breach", Some("first_response")) => t(lang, "rs.history.breach_first").to_string(),
        ("sla_breach", _) => t(lang, "rs.history.breach_resolution").to_string(),
        ("rated", _) => tf(lang, "rs.history.rated", &[("rating", e.to.as_deref().unwrap_or(""))]),
        (k, _) => k.replace('_', " "),
    }
}

/// Who made a change: a person's name, the client's, or Idora itself (the
/// round-robin, the SLA job).
fn history_actor(lang: Lang, e: &crate::store::schema::TaskEventV1) -> String {
    if e.actor_id == 0 && matches!(e.actor_name.as_str(), "" | "system") {
        t(lang, "rs.history.system").to_string()
    } else {
        e.actor_name.clone()
    }
}

fn request_view(state: &AppState, c: &Ctx, id: u64, err: Option<FormError>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let tz = c.tenant().timezone();
    let d = service::get(db, &who, id)?;
    let visits = service::visits(state, c.tenant(), &who, id, lang)?;
    let messages = service::messages(db, &who, id, Window { before: None, after: None, limit: 100 })?;
    let now = state.now_ms();
    let r = &d.request;
    let cat = d.category.as_ref();
    let moves = &d.moves;
    let dispatcher = who.dispatches_requests();
    let people = if moves.contains(&Move::Assign) && dispatcher { people(c)? } else { Vec::new() };
    let act = |a: &str| c.url(&format!("requests/{id}/{a}"));
    let number = rq::number(id);
    let title = format!("{number} · {}", r.subject);
    let clock = |label: &str, due: Option<i64>, done_at: Option<i64>, breached: bool| {
        html! {
            @if let Some(due) = due {
                div.rq-clock {
                    span.muted { (label) }
                    " "
                    @if let Some(at) = done_at {
                        span class=(if breached || at > due { "rq-sla breached" } else { "rq-sla ok" }) {
                            (if breached || at > due { t(lang, "rs.sla.late") } else { t(lang, "rs.sla.met") }) " · " (local_time(at, &tz))
                        }
                    } @else if rq::is_final(r.status) {
                        span.muted { "—" }
                    } @else {
                        @let left = due - now;
                        span class=(if breached || left < 0 { "rq-sla breached" } else if r.paused_at.is_some() { "rq-sla paused" } else if left <= 3_600_000 { "rq-sla soon" } else { "rq-sla ok" }) {
                            @if breached || left < 0 { (tf(lang, "rs.sla.over", &[("over", &span_text(lang, left))])) }
                            @else { (tf(lang, "rs.sla.left", &[("left", &span_text(lang, left))])) }
                        }
                        " " small.muted { (t(lang, "rs.sla.due")) " " (local_time(due, &tz)) }
                    }
                }
            }
        }
    };
    let status_moves: Vec<Move> = moves.iter().copied().filter(|m| m.target().is_some()).collect();
    let body = html! {
        (styles())
        p.back { a href=(c.url("requests")) { "← " (t(lang, "rs.list.title")) } }
        (form_alert(err.as_ref()))
        div #live-region data-live-request=(id) data-thread=(r.thread_id) {
        p.rq-changed hidden role="status" {
            (t(lang, "rs.live.changed")) " "
            a href=(c.url(&format!("requests/{id}"))) { (t(lang, "rs.live.refresh")) }
        }
        header.rq-head {
            div.rq-head-top {
                span.rq-num { (number) }
                (status_badge(lang, r.status))
                (priority_badge(lang, r.priority))
                (category_chip(cat, lang))
                span.muted { (rq::channel_label(lang, r.channel)) " · " (local_time(r.created_at, &tz)) }
            }
            h1 { (r.subject) }
            div.rq-clocks {
                (clock(t(lang, "rs.sla.first_response"), r.first_response_due, r.first_response_at, r.first_response_breached))
                (clock(t(lang, "rs.sla.resolution"), r.resolution_due, r.resolved_at, r.resolution_breached))
            }
            @if let Some(reason) = &r.reject_reason {
                p.rq-reject { strong { (t(lang, "rs.field.reject_reason")) ": " } (reason) }
            }
            @if let Some(rating) = r.rating {
                p.rq-rating { (t(lang, "rs.field.rating")) ": " strong { (rating) " / 5" } @if let Some(cm) = &r.rating_comment { " — " (cm) } }
            }
        }
        div.rq-layout {
            div.rq-main-col {
                @if !r.fields.is_empty() {
                    section.card.rq-answers {
                        h2 { (t(lang, "rs.page.answers")) }
                        dl {
                            @for f in &r.fields {
                                dt { (f.labels.get(lang)) }
                                dd {
                                    @if f.kind == FieldKind::File {
                                        a href=(c.url(&format!("api/v1/files/{}", f.value))) target="_blank" { (t(lang, "rs.page.file")) }
                                    } @else { (service::shown_value(f, lang)) }
                                }
                            }
                        }
                    }
                }
                section.card.rq-conversation {
                    h2 { (t(lang, "rs.page.conversation")) }
                    ol.rq-messages {
                        @for (i, m) in messages.iter().enumerate() {
                            // Staff filing for a client wrote the client's words: the first message.
                            (message(c, m, i == 0 && r.channel == crate::store::schema::RequestChannel::Staff && r.created_by == Some(m.author_id)))
                        }
                    }
                    @if moves.contains(&Move::Reply) {
                        (composer(c, id, r, err.as_ref()))
                    }
                }
            }
            aside.rq-side {
                section.card.rq-client {
                    h2 { (t(lang, "rs.page.client")) }
                    p.rq-client-name { strong { (d.client.name) } }
                    ul.rq-contacts {
                        @if let Some(p) = &d.client.phone { li { a href=(format!("tel:{p}")) { (p) } } }
                        @if let Some(e) = &d.client.email { li { a href=(format!("mailto:{e}")) { (e) } } }
                        @if d.client.telegram { li { (t(lang, "rs.page.telegram")) } }
                    }
                    @if !d.earlier.is_empty() {
                        h3 { (t(lang, "rs.page.earlier")) }
                        ul.rq-earlier {
                            @for (eid, e) in &d.earlier {
                                li {
                                    a href=(c.url(&format!("requests/{eid}"))) { (rq::number(*eid)) " " (e.subject) }
                                    " " (status_badge(lang, e.status))
                                }
                            }
                        }
                    }
                    @if !visits.is_empty() {
                        h3 { (t(lang, "rs.page.visits")) }
                        ul.rq-visits {
                            @for v in &visits {
                                li { (v.number) " · " (v.service) " · " span.muted { (local_time(v.created_at_ms, &tz)) } }
                            }
                        }
                    }
                }
                section.card.rq-assign {
                    h2 { (t(lang, "rs.field.assignee")) }
                    p {
                        @if r.assignee_id.is_some() { strong { (d.assignee_name) } } @else { span.rq-nobody { (t(lang, "rs.filter.unassigned")) } }
                    }
                    @if moves.contains(&Move::Assign) {
                        @if dispatcher {
                            form method="post" action=(act("assign")) {
                                (csrf_field(c.csrf()))
                                (select(t(lang, "rs.page.assign_to"), "assignee_id",
                                    &std::iter::once((String::new(), t(lang, "rs.bulk.choose").to_string())).chain(people.iter().map(|(i, n)| (i.to_string(), n.clone()))).collect::<Vec<_>>(),
                                    &r.assignee_id.map(|a| a.to_string()).unwrap_or_default(), err.as_ref()))
                                div.field {
                                    label for="f-note" { (t(lang, "rs.page.note")) }
                                    input #f-note type="text" name="note" maxlength="2000";
                                }
                                button.primary type="submit" { (t(lang, "rs.page.assign")) }
                            }
                        } @else if r.assignee_id.is_none() {
                            form method="post" action=(act("assign")) {
                                (csrf_field(c.csrf()))
                                input type="hidden" name="assignee_id" value=(c.user.id);
                                button.primary type="submit" { (t(lang, "rs.page.take")) }
                            }
                        }
                    }
                }
                @if !status_moves.is_empty() || moves.contains(&Move::Edit) {
                    section.card.rq-moves {
                        h2 { (t(lang, "rs.page.actions")) }
                        @for m in &status_moves {
                            @if let Some(to) = m.target() {
                                @if *m == Move::Reject {
                                    details.rq-reject-form {
                                        summary.button.danger { (t(lang, "rs.move.reject")) }
                                        form method="post" action=(act("status")) {
                                            (csrf_field(c.csrf()))
                                            input type="hidden" name="status" value="rejected";
                                            div.field {
                                                label for="f-reason" { (t(lang, "rs.page.reject_reason")) }
                                                textarea #f-reason name="comment" required maxlength="2000" rows="3" {}
                                                small.hint { (t(lang, "rs.page.reject_hint")) }
                                            }
                                            button.danger type="submit" { (t(lang, "rs.move.reject")) }
                                        }
                                    }
                                } @else {
                                    form.inline method="post" action=(act("status")) {
                                        (csrf_field(c.csrf()))
                                        input type="hidden" name="status" value=(rq::status_code(to));
                                        button type="submit" class=(if matches!(m, Move::Complete | Move::Start | Move::Submit) { "primary" } else { "" }) { (move_label(lang, *m)) }
                                    }
                                }
                            }
                        }
                        @if moves.contains(&Move::Edit) {
                            form.rq-priority method="post" action=(act("priority")) {
                                (csrf_field(c.csrf()))
                                (select(t(lang, "rs.field.priority"), "priority",
                                    &rq::PRIORITIES.iter().map(|p| (rq::priority_code(*p).to_string(), rq::priority_label(lang, *p).to_string())).collect::<Vec<_>>(),
                                    rq::priority_code(r.priority), None))
                                button type="submit" { (t(lang, "rs.page.save")) }
                            }
                        }
                    }
                }
                section.card.rq-history {
                    h2 { (t(lang, "rs.page.history")) }
                    ol.rq-events {
                        @for e in d.history.iter().rev() {
                            li {
                                time.muted { (local_time(e.at, &tz)) }
                                " " strong { (history_actor(lang, e)) } " — " (history_line(lang, e))
                                @if let Some(cm) = &e.comment { br; span.rq-comment { "«" (cm) "»" } }
                            }
                        }
                    }
                }
            }
        }
        }
    };
    Ok(c.render(&title, Section::Requests, notice, body))
}

fn move_label(lang: Lang, m: Move) -> &'static str {
    t(
        lang,
        match m {
            Move::Start => "rs.move.start",
            Move::WaitClient => "rs.move.wait_client",
            Move::Submit => "rs.move.submit",
            Move::Complete => "rs.move.complete",
            Move::Redo => "rs.move.redo",
            Move::Reject => "rs.move.reject",
            Move::Reopen => "rs.move.reopen",
            Move::Assign | Move::Reply | Move::Edit => "rs.page.save",
        },
    )
}

fn message(c: &Ctx, m: &MessageOut, as_filed: bool) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let class = if m.internal {
        "rq-msg internal"
    } else if m.from_client || as_filed {
        "rq-msg client"
    } else {
        "rq-msg staff"
    };
    html! {
        li class=(class) #(format!("m-{}", m.id)) data-id=(m.id) {
            div.msg-head {
                strong.msg-author { (m.author_name) }
                @if m.from_client { " " span.badge.brand { (t(lang, "rs.msg.client")) } }
                @if m.internal { " " span.badge.rq-internal { (t(lang, "rs.msg.internal")) } }
                @if as_filed { " " span.badge.brand { (t(lang, "rs.msg.as_filed")) } }
                @else if !m.internal && !m.from_client { " " span.badge.ok { (t(lang, "rs.msg.public")) } }
                " " time.muted { (local_time(m.created_at_ms, &tz)) }
            }
            @if m.deleted {
                p.msg-text.muted { em { (t(lang, "chat.deleted")) } }
            } @else {
                @if !m.text.is_empty() { p.msg-text { (crate::web::pages::chat::rich_text(&m.text)) } }
                (crate::web::pages::chat::attachments(c, &m.files))
            }
        }
    }
}

/// The composer: an internal note by default (a slip goes to colleagues,
/// not to the client); replying to the client is chosen on purpose, and the
/// box turns green and says the client will read it.
fn composer(c: &Ctx, id: u64, r: &RequestV1, err: Option<&FormError>) -> Markup {
    let lang = c.lang();
    let closed = rq::is_final(r.status);
    html! {
        form.rq-compose method="post" action=(c.url(&format!("requests/{id}/reply"))) data-files=(c.url("api/v1/files"))
            data-upload-failed=(t(lang, "rs.compose.upload_failed")) {
            (csrf_field(c.csrf()))
            fieldset.rq-kind {
                legend.visually-hidden { (t(lang, "rs.compose.kind")) }
                label.rq-kind-note {
                    input type="radio" name="kind" value="internal" checked;
                    span { (t(lang, "rs.compose.internal")) }
                }
                @if !closed {
                    label.rq-kind-public {
                        input type="radio" name="kind" value="public";
                        span { (t(lang, "rs.compose.public")) }
                    }
                }
            }
            p.rq-kind-hint.rq-hint-note { (t(lang, "rs.compose.internal_hint")) }
            p.rq-kind-hint.rq-hint-public { (t(lang, "rs.compose.public_hint")) }
            div.field.invalid[err.and_then(|e| e.on("text")).is_some()] {
                label.visually-hidden for="f-text" { (t(lang, "rs.compose.text")) }
                textarea #f-text name="text" rows="4" maxlength="4000" placeholder=(t(lang, "rs.compose.placeholder")) {}
                @if let Some(e) = err.and_then(|e| e.on("text")) { small.field-error { (e) } }
            }
            ul.rq-files {}
            input type="hidden" name="file_ids" value="";
            div.form-actions {
                label.button.rq-attach {
                    input type="file" multiple hidden data-attach="";
                    (t(lang, "rs.compose.attach"))
                }
                button.primary.rq-send type="submit" {
                    span.rq-send-note { (t(lang, "rs.compose.send_note")) }
                    span.rq-send-public { (t(lang, "rs.compose.send_public")) }
                }
            }
        }
    }
}

async fn act(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path((_, id, action)): Path<(String, u64, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let f = pairs(&body);
    let who = Caller::from(&c.user);
    let done = match action.as_str() {
        "assign" => {
            let to = opt_id(one(&f, "assignee_id")).ok_or_else(|| AppError::invalid("assignee_id", "validation.assignee"));
            let note = Some(one(&f, "note")).filter(|s| !s.is_empty()).map(str::to_string);
            match to {
                Ok(to) => service::assign(&state, c.tenant(), &who, id, to, note.as_deref()).await.map(|_| "assigned"),
                Err(e) => Err(e),
            }
        }
        "status" => match rq::parse_status(one(&f, "status")) {
            Some(to) => {
                let comment = lines(one(&f, "comment"));
                service::change_status(&state, c.tenant(), &who, id, to, Some(comment.as_str()).filter(|s| !s.is_empty()))
                    .await
                    .map(|_| "status")
            }
            None => Err(AppError::invalid("status", "validation.request_status")),
        },
        "priority" => match rq::parse_priority(one(&f, "priority")) {
            Some(p) => service::set_priority(&state, c.tenant(), &who, id, p).await.map(|_| "priority"),
            None => Err(AppError::invalid("priority", "validation.request_priority")),
        },
        "reply" => {
            let internal = one(&f, "kind") != "public";
            let file_ids: Vec<u64> = one(&f, "file_ids").split(',').filter_map(opt_id).collect();
            let m = NewMessage { text: lines(one(&f, "text")), reply_to: None, file_ids, internal };
            service::reply(&state, c.tenant(), &who, id, m).await.map(|_| if internal { "note" } else { "reply" })
        }
        _ => return Err(service::not_found()),
    };
    match done {
        Ok(done) => Ok(Redirect::to(&c.url(&format!("requests/{id}?done={done}"))).into_response()),
        Err(e) if e.kind == crate::error::ErrorKind::Validation || e.kind == crate::error::ErrorKind::Conflict => {
            let err = FormError::new(c.lang(), &e);
            Ok(form_again(request_view(&state, &c, id, Some(err), None)?))
        }
        Err(e) => Err(e),
    }
}

// ---------- filing on a client's behalf ----------

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewQuery {
    category_id: String,
}

async fn new_page(State(_state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<NewQuery>) -> Result<Markup, AppError> {
    let c = Ctx::new(user, page);
    let f: Vec<(String, String)> = vec![("category_id".into(), q.category_id)];
    new_view(&c, &f, None)
}

fn new_view(c: &Ctx, f: &[(String, String)], err: Option<FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let cats: Vec<(u64, RequestCategoryV1)> = service::list_categories(db)?.into_iter().filter(|(_, k)| k.active).collect();
    let chosen = opt_id(one(f, "category_id")).and_then(|id| cats.iter().find(|(i, _)| *i == id));
    let title = t(lang, "rs.new.title");
    let e = err.as_ref();
    let body = html! {
        (styles())
        p.back { a href=(c.url("requests")) { "← " (t(lang, "rs.list.title")) } }
        h1 { (title) }
        @if cats.is_empty() {
            p.empty { (t(lang, "rs.new.no_categories")) }
        } @else {
            form.rq-pick-cat method="get" action=(c.url("requests/new")) {
                (select(t(lang, "rs.field.category"), "category_id",
                    &std::iter::once((String::new(), t(lang, "rs.bulk.choose").to_string())).chain(cats.iter().map(|(i, k)| (i.to_string(), k.names.get(lang).to_string()))).collect::<Vec<_>>(),
                    one(f, "category_id"), None))
                button type="submit" { (t(lang, "rs.new.pick")) }
            }
            @if let Some((cid, cat)) = chosen {
                form.card.rq-new method="post" action=(c.url("requests/new")) {
                    (csrf_field(c.csrf()))
                    (form_alert(e))
                    input type="hidden" name="category_id" value=(cid);
                    h2 { (t(lang, "rs.page.client")) }
                    (Input::new(t(lang, "rs.new.client_name"), "client.name").value(one(f, "client.name")).required().maxlength(100).error(e))
                    (Input::new(t(lang, "rs.new.phone"), "client.phone").kind("tel").value(one(f, "client.phone")).autocomplete("off").error(e))
                    (Input::new(t(lang, "rs.new.email"), "client.email").kind("email").value(one(f, "client.email")).error(e))
                    h2 { (t(lang, "rs.new.request")) }
                    @let subject_hint = tf(lang, "rs.new.subject_hint", &[("name", cat.names.get(lang))]);
                    (Input::new(t(lang, "rs.new.subject"), "subject").value(one(f, "subject")).maxlength(200).hint(&subject_hint).error(e))
                    @for fld in &cat.fields {
                        @let name = format!("fields.{}", fld.key);
                        @let label = format!("{}{}", fld.labels.get(lang), if fld.required { " *" } else { "" });
                        @match fld.kind {
                            FieldKind::Choice => {
                                (select(&label, &name,
                                    &std::iter::once((String::new(), t(lang, "rs.bulk.choose").to_string())).chain(fld.options.iter().map(|o| (o.key.clone(), o.labels.get(lang).to_string()))).collect::<Vec<_>>(),
                                    one(f, &name), e))
                            }
                            FieldKind::LongText => {
                                div.field.invalid[e.and_then(|x| x.on(&name)).is_some()] {
                                    label for=(format!("f-{name}")) { (label) }
                                    textarea id=(format!("f-{name}")) name=(name) rows="3" { (one(f, &name)) }
                                    @if let Some(m) = e.and_then(|x| x.on(&name)) { small.field-error { (m) } }
                                }
                            }
                            FieldKind::File => {}
                            k => {
                                (Input::new(&label, &name).kind(match k { FieldKind::Number => "number", FieldKind::Date => "date", FieldKind::Phone => "tel", _ => "text" }).value(one(f, &name)).error(e))
                            }
                        }
                    }
                    div.field.invalid[e.and_then(|x| x.on("text")).is_some()] {
                        label for="f-text" { (t(lang, "rs.new.text")) }
                        textarea #f-text name="text" rows="5" maxlength="5000" { (one(f, "text")) }
                        @if let Some(m) = e.and_then(|x| x.on("text")) { small.field-error { (m) } }
                    }
                    (select(t(lang, "rs.field.priority"), "priority",
                        &rq::PRIORITIES.iter().map(|p| (rq::priority_code(*p).to_string(), rq::priority_label(lang, *p).to_string())).collect::<Vec<_>>(),
                        if one(f, "priority").is_empty() { rq::priority_code(cat.default_priority) } else { one(f, "priority") }, None))
                    div.form-actions { button.primary type="submit" { (t(lang, "rs.new.submit")) } }
                }
            }
        }
    };
    Ok(c.render(title, Section::Requests, None, body))
}

async fn new_submit(State(state): State<AppState>, user: CurrentUser, page: Page, body: Bytes) -> Result<Response, AppError> {
    let c = Ctx::new(user, page);
    let f = pairs(&body);
    let mut fields = BTreeMap::new();
    for (k, v) in &f {
        if let Some(key) = k.strip_prefix("fields.") {
            fields.insert(key.to_string(), lines(v));
        }
    }
    let opt = |k: &str| Some(one(&f, k).to_string()).filter(|s| !s.is_empty());
    let input = NewRequest {
        category_id: opt_id(one(&f, "category_id")).unwrap_or(0),
        subject: one(&f, "subject").to_string(),
        text: lines(one(&f, "text")),
        fields,
        file_ids: Vec::new(),
        client: ClientInput {
            name: one(&f, "client.name").to_string(),
            phone: opt("client.phone"),
            email: opt("client.email"),
            ..ClientInput::default()
        },
        channel: None,
        priority: rq::parse_priority(one(&f, "priority")),
    };
    match service::create(&state, c.tenant(), &Caller::from(&c.user), input).await {
        Ok(filed) => Ok(Redirect::to(&c.url(&format!("requests/{}?done=filed", filed.id))).into_response()),
        Err(e) if e.kind == crate::error::ErrorKind::Validation => {
            let err = FormError::new(c.lang(), &e);
            Ok(form_again(new_view(&c, &f, Some(err))?))
        }
        Err(e) => Err(e),
    }
}

/// New requests nobody has yet, for the badge on "Requests" (dispatchers):
/// read newest first through the status index, at most 100 rows.
pub(crate) fn nav_badge(user: &CurrentUser) -> Option<(usize, String, &'static str)> {
    let who = Caller::from(user);
    if !who.dispatches_requests() {
        return None;
    }
    let filter = service::Filter { statuses: vec![RequestStatus::New], assignee_id: Some(0), ..service::Filter::default() };
    let n = user.tenant.db().ok().and_then(|db| service::list(db, None, &who, &filter, None, 100).ok()).map_or(0, |(items, _)| items.len());
    Some((n, crate::i18n::tn(user.lang, "rs.nav_badge", n as u64, &[]), "requests"))
}

/// The cabinet's "My requests": the open requests assigned to the reader
/// (read from the assignee index), nothing when there are none.
pub(crate) fn my_requests(c: &Ctx, now: i64) -> Markup {
    let lang = c.lang();
    let who = Caller::from(&c.user);
    let Some(rows) = c.tenant().db().ok().and_then(|db| service::mine(db, &who, 10).and_then(|items| service::rows(db, items)).ok()) else {
        return html! {};
    };
    if rows.is_empty() {
        return html! {};
    }
    html! {
        (styles())
        section.card.desk-card #desk-requests {
            h2 { (t(lang, "rs.home.title")) }
            ul.desk-list {
                @for row in &rows {
                    li {
                        a.rq-link href=(c.url(&format!("requests/{}", row.id))) { span.rq-num { (rq::number(row.id)) } " " (row.request.subject) }
                        div.desk-meta {
                            (status_badge(lang, row.request.status)) " "
                            span.muted { (row.client_name) } " "
                            @if rq::sla_left(&row.request, now).is_some() { (sla_cell(lang, &row.request, now)) }
                        }
                    }
                }
            }
            p { a href=(c.url(&format!("requests?assignee_id={}", c.user.id))) { (t(lang, "rs.home.all")) } }
        }
    }
}
