//! The staff side of the queue: the operator's page (my window, the
//! customer at it, the waiting list, walk-ins, breaks and today's figures)
//! and the queue setup pages of the company admin console (services, and
//! operators at windows). Every change goes through `queue::service`,
//! `queue::window` or `queue::tickets`; these handlers read forms, draw
//! pages and show the services' errors on the form that failed.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, role_label, t, tf};
use crate::queue::service::{self, Names, ServiceInput, service_name};
use crate::queue::tickets::{self, NewTicket, local_day};
use crate::queue::window::{self, Act};
use crate::queue::window::{Today, current_ticket, operator_state, today_of_operator};
use crate::store::Db;
use crate::store::schema::{AccountV1, BranchV2, OperatorStateV1, OperatorV1, ServiceV2, TicketPriority, TicketStatus, TicketV1};
use crate::web::assets;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page, PathId};
use crate::web::layout::{FormError, Input, csrf_field, form_alert, post_button, select};
use crate::web::pages::org::{Ctx, Section};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::tz::TimeZone;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator", get(operator_page))
        .route("/operator/queue", get(queue_fragment))
        .route("/operator/call-next", post(call_next))
        .route("/operator/break", post(break_submit))
        .route("/operator/walk-in", post(walk_in))
        .route("/operator/tickets/{id}/{action}", post(ticket_action))
        .route("/admin/queue/services", get(services_page))
        .route("/admin/queue/settings", post(settings_submit))
        .route("/admin/queue/services/new", get(service_new_page).post(service_new_submit))
        .route("/admin/queue/services/{id}", get(service_edit_page).post(service_edit_submit))
        .route("/admin/queue/operators", get(operators_page))
        .route("/admin/queue/operators/{id}", get(operator_edit_page).post(operator_edit_submit))
        .route("/admin/queue/operators/{id}/remove", post(operator_remove_submit))
}

// ---------- small helpers ----------

fn hhmm(ms: i64, tz: &TimeZone) -> String {
    crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%H:%M").to_string()
}

fn priority_label(lang: Lang, p: TicketPriority) -> &'static str {
    match p {
        TicketPriority::Normal => t(lang, "queue.priority.normal"),
        TicketPriority::Vip => t(lang, "queue.priority.vip"),
        TicketPriority::Disabled => t(lang, "queue.priority.disabled"),
        TicketPriority::Elderly => t(lang, "queue.priority.elderly"),
    }
}

fn priority_badge(lang: Lang, p: TicketPriority) -> Markup {
    html! {
        @if p == TicketPriority::Normal {
            span.muted { (priority_label(lang, p)) }
        } @else {
            span class=(format!("badge op-prio op-prio-{}", tickets::priority_code(p))) { (priority_label(lang, p)) }
        }
    }
}

fn minutes_text(lang: Lang, minutes: i64) -> String {
    tf(lang, "operator.minutes", &[("n", &minutes.max(0).to_string())])
}

fn duration_text(lang: Lang, secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        return tf(lang, "operator.seconds", &[("n", &secs.to_string())]);
    }
    tf(lang, "operator.duration", &[("m", &(secs / 60).to_string()), ("s", &format!("{:02}", secs % 60))])
}

fn name_of(services: &HashMap<u64, ServiceV2>, id: u64, lang: Lang) -> String {
    services.get(&id).map(|s| service_name(s, lang).to_string()).unwrap_or_else(|| format!("#{id}"))
}

/// Where a ticket came from (kiosk, online, bot, walk-in), as a small mark
/// next to its number when the number names the service instead.
fn source_mark(lang: Lang, desk: &Desk, tk: &TicketV1) -> Markup {
    html! {
        @if desk.by_service {
            " " span.source-mark title=(t(lang, "kiosk.source.label")) { (t(lang, tickets::source_key(tk.source))) }
        }
    }
}

fn user_name(a: &AccountV1) -> &str {
    if a.full_name.is_empty() { &a.username } else { &a.full_name }
}

/// A one-button form; unlike `layout::post_button`, it may be switched off.
fn act_button(action: &str, csrf: &str, label: &str, class: &str, disabled: bool, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(csrf))
            button type="submit" class=(class) disabled[disabled] data-confirm=[confirm] { (label) }
        }
    }
}

/// Keeps a ticket number fit for a notice: `K-001`, `W-012`.
fn clean_number(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(16).collect()
}

/// Errors a page shows on its form; the rest (the store failing) are raised.
fn is_form_error(e: &AppError) -> bool {
    !matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable)
}

// ---------- the operator's page ----------

/// Everything the operator's page shows, read at once.
struct Desk {
    op: Option<OperatorV1>,
    branch: Option<BranchV2>,
    state: Option<OperatorStateV1>,
    current: Option<(u64, TicketV1, Option<String>)>,
    /// My services' waiting tickets, in arrival order.
    waiting: Vec<(u64, TicketV1)>,
    /// The ticket "Call next" would call now.
    next: Option<u64>,
    services: HashMap<u64, ServiceV2>,
    today: Today,
    now: i64,
    tz: TimeZone,
    /// Recalls allowed before a no-show (the company's setting).
    max_recalls: u8,
    /// Tickets are numbered by service: each shows where it came from.
    by_service: bool,
}

impl Desk {
    fn load(state: &AppState, c: &Ctx) -> Result<Desk, AppError> {
        let db = c.tenant().db()?;
        let tz = c.tenant().timezone();
        let now = state.now_ms();
        let (day, _, _) = local_day(now, &tz);
        let services: HashMap<u64, ServiceV2> = service::list_services(db)?.into_iter().collect();
        let op = service::get_operator(db, c.user.id)?;
        let mut desk = Desk {
            op: None,
            branch: None,
            state: operator_state(db, c.user.id)?,
            current: None,
            waiting: Vec::new(),
            next: None,
            services,
            today: Today::default(),
            now,
            tz,
            max_recalls: service::settings(db)?.max_recalls,
            by_service: tickets::numbered_by_service(db)?,
        };
        let Some(op) = op else { return Ok(desk) };
        desk.branch = crate::org::service::get_branch(db, op.branch_id).ok();
        desk.current = current_ticket(db, op.branch_id, day, c.user.id)?;
        desk.waiting = tickets::waiting_at(db, &Caller::from(&c.user), op.branch_id, day)?;
        desk.waiting.retain(|(_, t)| op.service_ids.contains(&t.service_id));
        desk.next = window::choose(&desk.waiting, &op.service_ids, now, &desk.tz).map(|(id, _)| id);
        desk.today = today_of_operator(db, op.branch_id, day, c.user.id)?;
        desk.op = Some(op);
        Ok(desk)
    }

    fn on_break(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.on_break)
    }

    /// Whether the operator may call someone now.
    fn can_call(&self) -> bool {
        self.op.is_some() && !self.on_break() && self.current.is_none()
    }

    /// Active services of my branch other than `except`, for a transfer.
    fn transfer_options(&self, lang: Lang, except: u64) -> Vec<(String, String)> {
        let Some(op) = &self.op else { return vec![] };
        let mut v: Vec<(String, String)> = self
            .services
            .iter()
            .filter(|(id, s)| **id != except && s.active && s.branch_ids.contains(&op.branch_id))
            .map(|(id, s)| (id.to_string(), service_name(s, lang).to_string()))
            .collect();
        v.sort_by_key(|a| a.1.to_lowercase());
        v
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct DeskForm {
    service_id: String,
    to_service: String,
    priority: String,
    name: String,
    phone: String,
    reason: String,
    on: String,
}

/// A step that failed: which form, what was typed, and why.
struct Failed {
    form: &'static str,
    input: DeskForm,
    error: FormError,
}

impl Failed {
    fn on<'a>(failed: Option<&'a Failed>, form: &str) -> Option<&'a FormError> {
        failed.filter(|f| f.form == form).map(|f| &f.error)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DoneQuery {
    done: String,
    number: String,
    /// The ticket called next, after "Finish and call next".
    next: String,
}

fn desk_notice(lang: Lang, q: &DoneQuery) -> Option<String> {
    let n = clean_number(&q.number);
    let next = clean_number(&q.next);
    let key = match q.done.as_str() {
        "finished_called" => return Some(tf(lang, "operator.notice.finished_called", &[("number", &n), ("next", &next)])),
        "finished_empty" => "operator.notice.finished_empty",
        "called" => "operator.notice.called",
        "recalled" => "operator.notice.recalled",
        "started" => "operator.notice.started",
        "finished" => "operator.notice.finished",
        "no_show" => "operator.notice.no_show",
        "cancelled" => "operator.notice.cancelled",
        "transferred" => "operator.notice.transferred",
        "issued" => "operator.notice.issued",
        "break_on" => "operator.notice.break_on",
        "break_off" => "operator.notice.break_off",
        "empty" => "operator.notice.empty",
        _ => return None,
    };
    Some(tf(lang, key, &[("number", &n)]))
}

fn operate(user: &CurrentUser) -> Result<(), AppError> {
    user.require("queue.operate")
}

async fn operator_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, AppError> {
    operate(&user)?;
    let c = Ctx::new(user, page);
    let notice = desk_notice(c.lang(), &q);
    operator_view(&state, &c, None, notice.as_deref())
}

/// `GET /operator/queue`: the ticket at the window and the waiting list
/// alone, for the live refresh.
async fn queue_fragment(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    operate(&user)?;
    let c = Ctx::new(user, page);
    let desk = Desk::load(&state, &c)?;
    Ok(live_part(&c, &desk, None))
}

/// What changes as the branch's queue moves: `operator.js` re-reads it
/// when the branch's topic has news.
fn live_part(c: &Ctx, desk: &Desk, failed: Option<&Failed>) -> Markup {
    let topic = desk.op.as_ref().map(|o| crate::hub::Topic::QueueBranch(o.branch_id).to_string());
    html! {
        div.op-main #op-live data-op-topic=[topic] data-op-url=(c.url("operator/queue")) {
            (current_card(c, desk, failed))
            (queue_section(c, desk))
        }
    }
}

fn operator_view(state: &AppState, c: &Ctx, failed: Option<&Failed>, notice: Option<&str>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let desk = Desk::load(state, c)?;
    let title = t(lang, "operator.title");
    let Some(op) = &desk.op else {
        let body = html! {
            h1 { (title) }
            section.card.op-nowindow {
                h2 { (t(lang, "operator.no_window.title")) }
                p { (t(lang, "operator.no_window.text")) }
            }
        };
        return Ok(c.render(title, Section::Operator, notice, body));
    };
    let branch_name =
        desk.branch.as_ref().map(|b| crate::org::service::branch_name(b, lang).to_string()).unwrap_or_else(|| format!("#{}", op.branch_id));
    let mine: Vec<String> = op.service_ids.iter().map(|id| name_of(&desk.services, *id, lang)).collect();
    let body = html! {
        div.op-head {
            div {
                h1 { (tf(lang, "operator.window", &[("window", &op.window.to_string())])) }
                p.muted { (branch_name) " · " (mine.join(", ")) }
            }
            @if desk.on_break() {
                span.badge.op-state.op-state-break { (t(lang, "operator.state.break")) }
            } @else {
                span.badge.op-state.op-state-work { (t(lang, "operator.state.working")) }
            }
        }
        @if let Some(st) = desk.state.as_ref().filter(|s| s.on_break) {
            p.hint.op-break-banner role="status" {
                strong { (tf(lang, "operator.break.since", &[("time", &hhmm(st.since, &desk.tz))])) }
                @if let Some(r) = &st.break_reason { " — " (r) }
            }
        }
        div.op-layout {
            (live_part(c, &desk, failed))
            aside.op-side {
                (break_card(c, &desk, failed))
                (today_card(lang, &desk))
                (walk_in_card(c, &desk, failed))
            }
        }
        script src=(assets::url("operator.js")) defer {}
    };
    Ok(c.render(title, Section::Operator, notice, body))
}

fn current_card(c: &Ctx, desk: &Desk, failed: Option<&Failed>) -> Markup {
    let lang = c.lang();
    let err = Failed::on(failed, "desk");
    let Some((id, tk, reason)) = &desk.current else {
        return html! {
            section.card.op-current.op-idle {
                h2 { (t(lang, "operator.current.none")) }
                (form_alert(err))
                form method="post" action=(c.url("operator/call-next")) {
                    (csrf_field(c.csrf()))
                    button.primary.op-call type="submit" disabled[!desk.can_call()] { (t(lang, "operator.call_next")) }
                }
                @if desk.on_break() {
                    p.muted.op-why { (t(lang, "operator.break.no_calls")) }
                } @else if desk.waiting.is_empty() {
                    p.muted.op-why { (t(lang, "operator.current.nobody")) }
                } @else {
                    p.muted.op-why { (tf(lang, "operator.current.waiting", &[("n", &desk.waiting.len().to_string())])) }
                }
            }
        };
    };
    let act = |a: &str| c.url(&format!("operator/tickets/{id}/{a}"));
    let called = tk.status == TicketStatus::Called;
    let left = desk.max_recalls.saturating_sub(tk.recalls);
    let transfer_err = Failed::on(failed, "transfer");
    let options = desk.transfer_options(lang, tk.service_id);
    html! {
        section class=(if called { "card op-current is-called" } else { "card op-current is-serving" }) {
            (form_alert(err))
            div.op-ticket {
                span.op-status {
                    @if called { (t(lang, "operator.current.called")) } @else { (t(lang, "operator.current.serving")) }
                }
                strong.op-number { (tk.number) }
                (source_mark(lang, desk, tk))
                span.op-service { (name_of(&desk.services, tk.service_id, lang)) }
            }
            dl.facts.op-facts {
                @if let Some(r) = reason {
                    dt { (t(lang, "operator.field.reason")) }
                    dd.op-reason { (window::reason_text(lang, r)) }
                }
                dt { (t(lang, "operator.field.priority")) }
                dd { (priority_badge(lang, tk.priority)) }
                @if let Some(n) = &tk.name {
                    dt { (t(lang, "operator.field.name")) }
                    dd { (n) }
                }
                @if let Some(p) = &tk.phone {
                    dt { (t(lang, "operator.field.phone")) }
                    dd { a href=(format!("tel:{p}")) { (p) } }
                }
                @if let Some(b) = &tk.booking {
                    dt { (t(lang, "operator.field.booked")) }
                    dd { (hhmm(b.start, &desk.tz)) }
                }
                dt { (t(lang, "operator.field.waited")) }
                dd { (minutes_text(lang, (tk.called_at.unwrap_or(desk.now) - tk.arrived_at) / 60_000)) }
                @if called {
                    dt { (t(lang, "operator.field.called_at")) }
                    dd { (hhmm(tk.called_at.unwrap_or(desk.now), &desk.tz)) }
                } @else if let Some(s) = tk.started_at {
                    dt { (t(lang, "operator.field.started_at")) }
                    dd { (hhmm(s, &desk.tz)) " · " (minutes_text(lang, (desk.now - s) / 60_000)) }
                }
            }
            div.op-actions {
                @if called {
                    (act_button(&act("start"), c.csrf(), t(lang, "operator.act.start"), "primary op-big", false, None))
                    form.inline method="post" action=(act("recall")) {
                        (csrf_field(c.csrf()))
                        button.op-recall type="submit" disabled[left == 0] {
                            span { (t(lang, "operator.act.recall")) }
                            small {
                                @if left > 0 { (tf(lang, "operator.act.recalls_left", &[("n", &left.to_string())])) }
                                @else { (t(lang, "operator.act.recall_none")) }
                            }
                        }
                    }
                    (act_button(&act("no-show"), c.csrf(), t(lang, "operator.act.no_show"), "danger", false, None))
                } @else {
                    (act_button(&act("finish-next"), c.csrf(), t(lang, "operator.act.finish_next"), "primary op-big op-finish-next", false, None))
                    (act_button(&act("finish"), c.csrf(), t(lang, "operator.act.finish"), "op-finish", false, None))
                }
            }
            @if !options.is_empty() {
                form.op-transfer method="post" action=(act("transfer")) {
                    (csrf_field(c.csrf()))
                    (form_alert(transfer_err))
                    (select(t(lang, "operator.act.transfer_to"), "to_service", &options,
                        failed.filter(|f| f.form == "transfer").map(|f| f.input.to_service.as_str()).unwrap_or(""), transfer_err))
                    button type="submit" { (t(lang, "operator.act.transfer")) }
                }
            }
            @if called {
                div.op-secondary {
                    (act_button(&act("cancel"), c.csrf(), t(lang, "operator.act.cancel"), "small danger", false,
                        Some(&tf(lang, "operator.act.cancel_confirm", &[("number", &tk.number)]))))
                }
            }
        }
    }
}

/// The waiting list, re-read live by `operator.js` when the branch's queue changes.
fn queue_section(c: &Ctx, desk: &Desk) -> Markup {
    let lang = c.lang();
    let can_call = desk.can_call();
    html! {
        section.card.op-queue #op-queue {
            div.op-queue-head {
                h2 { (t(lang, "operator.queue.title")) }
                span.badge.brand { (tf(lang, "operator.queue.count", &[("n", &desk.waiting.len().to_string())])) }
            }
            @if desk.waiting.is_empty() {
                p.empty { (t(lang, "operator.queue.empty")) }
            } @else {
                div.table-wrap.op-table-wrap {
                    table.data.stack.op-table {
                        thead {
                            tr {
                                th { (t(lang, "operator.queue.number")) }
                                th { (t(lang, "operator.queue.service")) }
                                th { (t(lang, "operator.field.priority")) }
                                th { (t(lang, "operator.queue.waited")) }
                                th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                            }
                        }
                        tbody {
                            @for (id, tk) in &desk.waiting {
                                @let waited = (desk.now - tk.arrived_at) / 60_000;
                                @let target = desk.services.get(&tk.service_id).map(|s| i64::from(s.target_wait_minutes)).unwrap_or(i64::MAX);
                                tr.op-next[desk.next == Some(*id)] data-ticket=(id) {
                                    td data-label=(t(lang, "operator.queue.number")) {
                                        div {
                                            strong.op-num { (tk.number) }
                                            (source_mark(lang, desk, tk))
                                            @if desk.next == Some(*id) {
                                                " " span.badge.ok { (t(lang, "operator.queue.next")) }
                                            }
                                            @if let Some(b) = &tk.booking {
                                                br;
                                                small.op-booked { (tf(lang, "queue.reason.booked", &[("time", &hhmm(b.start, &desk.tz))])) }
                                            }
                                            @if let Some(n) = &tk.name { br; small.muted { (n) } }
                                        }
                                    }
                                    td data-label=(t(lang, "operator.queue.service")) { (name_of(&desk.services, tk.service_id, lang)) }
                                    td data-label=(t(lang, "operator.field.priority")) { (priority_badge(lang, tk.priority)) }
                                    td data-label=(t(lang, "operator.queue.waited")) {
                                        span.nowrap.late[waited > target] { (minutes_text(lang, waited)) }
                                    }
                                    td.actions {
                                        (act_button(&c.url(&format!("operator/tickets/{id}/call")), c.csrf(), t(lang, "operator.queue.call"),
                                            "small", !can_call, None))
                                    }
                                }
                            }
                        }
                    }
                }
                @if !can_call && desk.current.is_some() {
                    p.muted.small { (t(lang, "operator.queue.busy")) }
                }
            }
        }
    }
}

fn break_card(c: &Ctx, desk: &Desk, failed: Option<&Failed>) -> Markup {
    let lang = c.lang();
    let err = Failed::on(failed, "break");
    let typed = failed.filter(|f| f.form == "break").map(|f| f.input.reason.as_str()).unwrap_or("");
    html! {
        section.card.op-break {
            h2 { (t(lang, "operator.break.title")) }
            (form_alert(err))
            form method="post" action=(c.url("operator/break")) {
                (csrf_field(c.csrf()))
                @if desk.on_break() {
                    input type="hidden" name="on" value="0";
                    button.primary.wide type="submit" { (t(lang, "operator.break.end")) }
                } @else {
                    input type="hidden" name="on" value="1";
                    (Input::new(t(lang, "operator.break.reason"), "reason").value(typed).maxlength(120).list("op-break-reasons")
                        .hint(t(lang, "operator.break.reason_hint")).error(err))
                    datalist #op-break-reasons {
                        option value=(t(lang, "operator.break.lunch")) {}
                        option value=(t(lang, "operator.break.technical")) {}
                        option value=(t(lang, "operator.break.meeting")) {}
                    }
                    button.wide type="submit" disabled[desk.current.is_some()] { (t(lang, "operator.break.start")) }
                    @if desk.current.is_some() {
                        small.hint { (t(lang, "operator.break.finish_first")) }
                    }
                }
            }
        }
    }
}

fn today_card(lang: Lang, desk: &Desk) -> Markup {
    html! {
        section.card.op-today {
            h2 { (t(lang, "operator.today.title")) }
            div.op-figures {
                div.op-figure {
                    strong #op-served { (desk.today.served) }
                    span { (t(lang, "operator.today.served")) }
                }
                div.op-figure {
                    strong #op-mean {
                        @match desk.today.mean_secs {
                            Some(s) => { (duration_text(lang, s)) },
                            None => { "—" },
                        }
                    }
                    span { (t(lang, "operator.today.mean")) }
                }
            }
        }
    }
}

fn walk_in_card(c: &Ctx, desk: &Desk, failed: Option<&Failed>) -> Markup {
    let lang = c.lang();
    let err = Failed::on(failed, "walk_in");
    let typed = failed.filter(|f| f.form == "walk_in").map(|f| f.input.clone()).unwrap_or_default();
    let Some(op) = &desk.op else { return html! {} };
    // My services first, then the rest of the branch's.
    let mut options: Vec<(String, String)> = Vec::new();
    for id in &op.service_ids {
        if desk.services.get(id).is_some_and(|s| s.active) {
            options.push((id.to_string(), name_of(&desk.services, *id, lang)));
        }
    }
    let mut others: Vec<(String, String)> = desk
        .services
        .iter()
        .filter(|(id, s)| s.active && s.branch_ids.contains(&op.branch_id) && !op.service_ids.contains(id))
        .map(|(id, s)| (id.to_string(), service_name(s, lang).to_string()))
        .collect();
    others.sort_by_key(|a| a.1.to_lowercase());
    options.extend(others);
    let priorities: Vec<(String, String)> =
        [TicketPriority::Normal, TicketPriority::Elderly, TicketPriority::Disabled, TicketPriority::Vip]
            .iter()
            .map(|p| (tickets::priority_code(*p).to_string(), priority_label(lang, *p).to_string()))
            .collect();
    html! {
        section.card.op-walkin {
            h2 { (t(lang, "operator.walk_in.title")) }
            p.muted.small { (t(lang, "operator.walk_in.about")) }
            (form_alert(err))
            form method="post" action=(c.url("operator/walk-in")) {
                (csrf_field(c.csrf()))
                (select(t(lang, "operator.queue.service"), "service_id", &options, &typed.service_id, err))
                (select(t(lang, "operator.field.priority"), "priority", &priorities, &typed.priority, err))
                (Input::new(t(lang, "operator.field.name"), "name").value(&typed.name).maxlength(80).autocomplete("off").error(err))
                (Input::new(t(lang, "operator.field.phone"), "phone").kind("tel").inputmode("tel").value(&typed.phone)
                    .autocomplete("off").hint(t(lang, "operator.walk_in.phone_hint")).error(err))
                button.wide type="submit" { (t(lang, "operator.walk_in.submit")) }
            }
        }
    }
}

fn back_to_desk(c: &Ctx, done: &str, number: &str) -> Response {
    let (number, next) = number.split_once(' ').unwrap_or((number, ""));
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("done", done).append_pair("number", number);
    if !next.is_empty() {
        q.append_pair("next", next);
    }
    let q = q.finish();
    Redirect::to(&c.url(&format!("operator?{q}"))).into_response()
}

/// Shows a failed step on the operator's page, which the language switch
/// and the live refresh come back to.
fn desk_failed(state: &AppState, mut c: Ctx, form: &'static str, input: DeskForm, e: AppError) -> Result<Response, AppError> {
    if !is_form_error(&e) {
        return Err(e);
    }
    c.page.path = c.url("operator");
    let mut error = FormError::new(c.lang(), &e);
    if form == "transfer" {
        error = error.moved("service_id", "to_service");
    }
    let failed = Failed { form, input, error };
    Ok(form_again(operator_view(state, &c, Some(&failed), None)?))
}

async fn call_next(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    operate(&user)?;
    let c = Ctx::new(user, page);
    match window::call_next(&state, c.tenant(), &Caller::from(&c.user)).await {
        Ok(Some((_, tk, _))) => Ok(back_to_desk(&c, "called", &tk.number)),
        Ok(None) => Ok(back_to_desk(&c, "empty", "")),
        Err(e) => desk_failed(&state, c, "desk", DeskForm::default(), e),
    }
}

/// `POST /operator/tickets/{id}/{action}`: one step with a ticket.
async fn ticket_action(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Path(params): Path<HashMap<String, String>>,
    Form(f): Form<DeskForm>,
) -> Result<Response, AppError> {
    operate(&user)?;
    let id: u64 = params.get("id").and_then(|v| v.parse().ok()).ok_or(ErrorKind::NotFound)?;
    let action = params.get("action").map(String::as_str).unwrap_or("");
    let c = Ctx::new(user, page);
    let tenant = c.tenant().clone();
    let me = Caller::from(&c.user);
    let acted = |what: Act| window::act(&state, &tenant, &me, id, what);
    let (form, result): (&'static str, Result<(&'static str, String), AppError>) = match action {
        "call" => ("desk", window::call_ticket(&state, &tenant, &me, id).await.map(|t| ("called", t.number))),
        "recall" => {
            ("desk", acted(Act::Recall).await.map(|t| (if t.status == TicketStatus::NoShow { "no_show" } else { "recalled" }, t.number)))
        }
        "no-show" => ("desk", acted(Act::NoShow).await.map(|t| ("no_show", t.number))),
        "start" => ("desk", acted(Act::Start).await.map(|t| ("started", t.number))),
        "finish" => ("desk", acted(Act::Finish).await.map(|t| ("finished", t.number))),
        "finish-next" => (
            "desk",
            window::finish_and_call_next(&state, &tenant, &me, id).await.map(|(done, next)| match next {
                Some((_, t, _)) => ("finished_called", format!("{} {}", done.number, t.number)),
                None => ("finished_empty", done.number),
            }),
        ),
        "cancel" => {
            let actor = Caller::from(&c.user);
            ("desk", tickets::cancel(&state, &tenant, &actor, Some(id)).await.map(|(_, t)| ("cancelled", t.number)))
        }
        "transfer" => {
            let moved = match f.to_service.trim().parse::<u64>() {
                Ok(to) => window::transfer(&state, &tenant, &me, id, to).await.map(|(_, t)| ("transferred", t.number)),
                Err(_) => Err(AppError::invalid("service_id", "validation.required")),
            };
            ("transfer", moved)
        }
        _ => return Err(ErrorKind::NotFound.into()),
    };
    match result {
        Ok((done, number)) => Ok(back_to_desk(&c, done, &number)),
        Err(e) => desk_failed(&state, c, form, f, e),
    }
}

async fn break_submit(State(state): State<AppState>, user: CurrentUser, page: Page, Form(f): Form<DeskForm>) -> Result<Response, AppError> {
    operate(&user)?;
    let c = Ctx::new(user, page);
    let on = f.on.trim() == "1";
    match window::set_break(&state, c.tenant(), &Caller::from(&c.user), on, Some(f.reason.clone())).await {
        Ok(_) => Ok(back_to_desk(&c, if on { "break_on" } else { "break_off" }, "")),
        Err(e) => desk_failed(&state, c, "break", f, e),
    }
}

async fn walk_in(State(state): State<AppState>, user: CurrentUser, page: Page, Form(f): Form<DeskForm>) -> Result<Response, AppError> {
    operate(&user)?;
    let c = Ctx::new(user, page);
    let actor = Caller::from(&c.user);
    let issued = async {
        let op = service::get_operator(c.tenant().db()?, c.user.id)?
            .ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("error.not_at_window"))?;
        let service_id = f.service_id.trim().parse::<u64>().map_err(|_| AppError::invalid("service_id", "validation.required"))?;
        let input = NewTicket {
            service_id,
            source: "walk_in".into(),
            priority: Some(f.priority.clone()),
            name: Some(f.name.clone()),
            phone: Some(f.phone.clone()),
        };
        tickets::issue(&state, c.tenant(), &actor, op.branch_id, input).await
    }
    .await;
    match issued {
        Ok(i) => Ok(back_to_desk(&c, "issued", &i.ticket.number)),
        Err(e) => desk_failed(&state, c, "walk_in", f, e),
    }
}

// ---------- the company dashboard: where the queue's screens are ----------

/// Links for the company dashboard: each branch's kiosk and display board,
/// for those who set the queue up.
pub(crate) fn dashboard_links(c: &Ctx) -> Markup {
    let lang = c.lang();
    if !c.user.can("queue.manage") {
        return html! {};
    }
    let mut branches: Vec<(u64, BranchV2)> = c
        .tenant()
        .db()
        .ok()
        .and_then(|db| crate::org::service::list_branches(db).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, b)| b.active)
        .collect();
    branches.sort_by_key(|(_, b)| b.name.to_lowercase());
    html! {
        @if !branches.is_empty() {
            section.qscreens {
                h2 { (t(lang, "qadmin.screens.title")) }
                p.muted {
                    (t(lang, "qadmin.screens.about")) " "
                    a href=(c.url("visit")) target="_blank" rel="noopener" { (t(lang, "qadmin.screens.visit")) }
                }
                ul.qscreens-list {
                    @for (id, b) in &branches {
                        li {
                            strong { (crate::org::service::branch_name(b, lang)) }
                            span.qscreens-links {
                                a.button.small href=(c.url(&format!("kiosk/{id}"))) target="_blank" rel="noopener" { (t(lang, "qadmin.screens.kiosk")) }
                                a.button.small href=(c.url(&format!("display/{id}"))) target="_blank" rel="noopener" { (t(lang, "qadmin.screens.display")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------- admin: services ----------

fn manage(user: &CurrentUser) -> Result<(), AppError> {
    user.require("queue.manage")
}

fn admin_notice(lang: Lang, q: &DoneQuery) -> Option<&'static str> {
    Some(match q.done.as_str() {
        "saved" => t(lang, "admin.notice.saved"),
        "created" => t(lang, "admin.notice.created"),
        _ => return None,
    })
}

fn branch_names(db: &Db) -> Result<HashMap<u64, BranchV2>, AppError> {
    Ok(crate::org::service::list_branches(db)?.into_iter().collect())
}

async fn services_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    services_view(&c, admin_notice(c.lang(), &q), None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SettingsForm {
    max_recalls: String,
    numbering: String,
}

/// Saves the queue rules; a bad value shows the page again with what was typed.
async fn settings_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(f): Form<SettingsForm>,
) -> Result<Response, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let parsed = f
        .max_recalls
        .trim()
        .parse::<u8>()
        .map_err(|_| AppError::invalid("max_recalls", "validation.max_recalls").with_arg("max", service::RECALLS_LIMIT))
        .and_then(|n| {
            let numbering = Some(f.numbering.trim()).filter(|v| !v.is_empty()).map(service::parse_numbering).transpose()?;
            Ok(service::SettingsInput { max_recalls: Some(n), numbering })
        });
    let saved = match parsed {
        Ok(input) => service::set_settings(&state, c.tenant(), &Caller::from(&c.user), input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to(&c.url("admin/queue/services?done=saved")).into_response()),
        Err(e) if e.field.is_some() => {
            let err = FormError::new(c.lang(), &e);
            Ok(form_again(services_view(&c, None, Some((f.max_recalls.as_str(), &err)))?))
        }
        Err(e) => Err(e),
    }
}

/// The queue setup pages' own tabs: services, operators, stats.
pub(crate) fn queue_subnav(c: &Ctx, current: Section) -> Markup {
    let lang = c.lang();
    let mut links: Vec<(Section, &str, &str)> = Vec::new();
    if c.user.can("queue.manage") {
        links.push((Section::QueueServices, "admin/queue/services", t(lang, "qadmin.nav.services")));
        links.push((Section::QueueOperators, "admin/queue/operators", t(lang, "qadmin.nav.operators")));
    }
    if c.user.can("queue.manage") || c.user.can("reports.view_all") {
        links.push((Section::QueueStats, "queue/stats", t(lang, "qadmin.nav.stats")));
    }
    html! {
        @if links.len() > 1 {
            nav.subnav aria-label=(t(lang, "qadmin.nav.queue")) {
                @for (section, path, label) in &links {
                    a.active[*section == current] href=(c.url(path)) aria-current=[(*section == current).then_some("page")] { (label) }
                }
            }
        }
    }
}

fn services_view(c: &Ctx, notice: Option<&'static str>, settings_err: Option<(&str, &FormError)>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let branches = branch_names(db)?;
    let mut list = service::list_services(db)?;
    list.sort_by(|a, b| {
        b.1.active.cmp(&a.1.active).then_with(|| service_name(&a.1, lang).to_lowercase().cmp(&service_name(&b.1, lang).to_lowercase()))
    });
    let ops = service::list_operators(db, &Caller::from(&c.user))?;
    let rules = service::settings(db)?;
    let typed_recalls = match settings_err {
        Some((typed, _)) => typed.to_string(),
        None => rules.max_recalls.to_string(),
    };
    let by_service = rules.numbering == crate::store::schema::TicketNumbering::ByService;
    let title = t(lang, "qadmin.services.title");
    let body = html! {
        (queue_subnav(c, Section::QueueServices))
        div.page-head {
            h1 { (title) }
            a.button.primary href=(c.url("admin/queue/services/new")) { (t(lang, "qadmin.services.new")) }
        }
        p.muted { (t(lang, "qadmin.services.about")) }
        @if list.is_empty() {
            p.empty { (t(lang, "qadmin.services.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack.qadmin-table {
                    thead {
                        tr {
                            th { (t(lang, "qadmin.services.name")) }
                            th { (t(lang, "qadmin.services.prefix")) }
                            th { (t(lang, "qadmin.services.minutes")) }
                            th { (t(lang, "qadmin.services.target")) }
                            th { (t(lang, "qadmin.services.branches")) }
                            th { (t(lang, "admin.users.status")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for (id, s) in &list {
                            @let names: Vec<&str> = s.branch_ids.iter().filter_map(|b| branches.get(b).map(|b| crate::org::service::branch_name(b, lang))).collect();
                            tr.muted-row[!s.active] {
                                td data-label=(t(lang, "qadmin.services.name")) {
                                    div {
                                        a href=(c.url(&format!("admin/queue/services/{id}"))) { (service_name(s, lang)) }
                                        br;
                                        small.muted { (s.name_uz) " · " (s.name_ru) " · " (s.name_en) }
                                    }
                                }
                                td data-label=(t(lang, "qadmin.services.prefix")) {
                                    span.ticket-prefix.muted[!by_service] { (service::ticket_prefix(*id, s)) }
                                }
                                td data-label=(t(lang, "qadmin.services.minutes")) { (minutes_text(lang, i64::from(s.minutes))) }
                                td data-label=(t(lang, "qadmin.services.target")) { (minutes_text(lang, i64::from(s.target_wait_minutes))) }
                                td data-label=(t(lang, "qadmin.services.branches")) {
                                    @if names.is_empty() {
                                        span.late { (t(lang, "qadmin.services.no_branch")) }
                                    } @else {
                                        (names.join(", "))
                                    }
                                    @let unserved: Vec<&str> = s.branch_ids.iter()
                                        .filter(|b| !ops.iter().any(|(_, o)| o.branch_id == **b && o.service_ids.contains(id)))
                                        .filter_map(|b| branches.get(b).map(|b| crate::org::service::branch_name(b, lang)))
                                        .collect();
                                    @if s.active && !unserved.is_empty() {
                                        br;
                                        small.qadmin-unserved title=(t(lang, "qadmin.services.unserved_hint")) {
                                            (tf(lang, "qadmin.services.unserved", &[("branches", &unserved.join(", "))]))
                                        }
                                    }
                                }
                                td data-label=(t(lang, "admin.users.status")) {
                                    @if s.active {
                                        span.badge.ok { (t(lang, "admin.common.active")) }
                                    } @else {
                                        span.badge.off { (t(lang, "admin.common.inactive")) }
                                    }
                                }
                                td.actions {
                                    a.button.small href=(c.url(&format!("admin/queue/services/{id}"))) { (t(lang, "admin.common.edit")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card.qadmin-rules {
            h2 { (t(lang, "qadmin.rules.title")) }
            form method="post" action=(c.url("admin/queue/settings")) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "qadmin.rules.max_recalls"), "max_recalls")
                    .kind("number")
                    .value(&typed_recalls)
                    .hint(t(lang, "qadmin.rules.max_recalls_hint"))
                    .error(settings_err.map(|(_, e)| e)))
                (select(
                    t(lang, "qadmin.rules.numbering"),
                    "numbering",
                    &[
                        ("by_source".into(), t(lang, "qadmin.rules.numbering_source").into()),
                        ("by_service".into(), t(lang, "qadmin.rules.numbering_service").into()),
                    ],
                    service::numbering_code(rules.numbering),
                    settings_err.map(|(_, e)| e),
                ))
                small.hint { (t(lang, "qadmin.rules.numbering_hint")) }
                button.primary type="submit" { (t(lang, "admin.common.save")) }
            }
        }
    };
    Ok(c.render(title, Section::QueueServices, notice, body))
}

/// The service form as typed: repeated `branch_ids` fields need pairs.
#[derive(Default, Clone)]
struct ServiceForm {
    name_uz: String,
    name_ru: String,
    name_en: String,
    minutes: String,
    target: String,
    branch_ids: Vec<String>,
    active: bool,
    prefix: String,
}

impl ServiceForm {
    fn from_pairs(pairs: &[(String, String)]) -> ServiceForm {
        let mut f = ServiceForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name_uz" => f.name_uz = v.clone(),
                "name_ru" => f.name_ru = v.clone(),
                "name_en" => f.name_en = v.clone(),
                "minutes" => f.minutes = v.clone(),
                "target_wait_minutes" => f.target = v.clone(),
                "branch_ids" => f.branch_ids.push(v.clone()),
                "active" => f.active = !v.is_empty(),
                "prefix" => f.prefix = v.clone(),
                _ => {}
            }
        }
        f
    }

    fn of(s: &ServiceV2) -> ServiceForm {
        ServiceForm {
            name_uz: s.name_uz.clone(),
            name_ru: s.name_ru.clone(),
            name_en: s.name_en.clone(),
            minutes: s.minutes.to_string(),
            target: s.target_wait_minutes.to_string(),
            branch_ids: s.branch_ids.iter().map(u64::to_string).collect(),
            active: s.active,
            prefix: s.prefix.clone(),
        }
    }

    /// The service's input. A Russian or English name left empty is the
    /// Uzbek one.
    fn input(&self, with_active: bool) -> Result<ServiceInput, AppError> {
        let number = |field: &'static str, v: &str| -> Result<u16, AppError> {
            let v = v.trim();
            if v.is_empty() {
                return Err(AppError::invalid(field, "validation.required"));
            }
            v.parse::<u16>()
                .map_err(|_| AppError::invalid(field, "validation.minutes").with_arg("min", 1).with_arg("max", service::MINUTES_MAX))
        };
        let mut branch_ids = Vec::new();
        for b in &self.branch_ids {
            branch_ids.push(b.trim().parse::<u64>().map_err(|_| AppError::invalid("branch_ids", "validation.branch"))?);
        }
        Ok(ServiceInput {
            names: Some(Names { uz: self.name_uz.clone(), ru: self.name_ru.clone(), en: self.name_en.clone() }),
            minutes: Some(number("minutes", &self.minutes)?),
            target_wait_minutes: Some(number("target_wait_minutes", &self.target)?),
            branch_ids: Some(branch_ids),
            active: with_active.then_some(self.active),
            prefix: Some(self.prefix.trim().to_string()),
        })
    }
}

fn service_form_view(c: &Ctx, id: Option<u64>, f: &ServiceForm, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let mut branches: Vec<(u64, BranchV2)> = crate::org::service::list_branches(c.tenant().db()?)?;
    branches.sort_by_key(|(_, b)| b.name.to_lowercase());
    let title = if id.is_some() { t(lang, "qadmin.services.edit_title") } else { t(lang, "qadmin.services.new_title") };
    let action = match id {
        Some(id) => c.url(&format!("admin/queue/services/{id}")),
        None => c.url("admin/queue/services/new"),
    };
    let branch_err = err.and_then(|e| e.on("branch_ids"));
    let body = html! {
        p.back { a href=(c.url("admin/queue/services")) { "← " (t(lang, "qadmin.services.title")) } }
        section.card.form-card {
            h1 { (title) }
            (form_alert(err))
            form method="post" action=(action) {
                (csrf_field(c.csrf()))
                (Input::new(t(lang, "qadmin.services.name_uz"), "name_uz").value(&f.name_uz).required().maxlength(service::NAME_MAX).error(err))
                div.grid-2 {
                    (Input::new(t(lang, "qadmin.services.name_ru"), "name_ru").value(&f.name_ru).maxlength(service::NAME_MAX)
                        .hint(t(lang, "qadmin.services.name_hint")).error(err))
                    (Input::new(t(lang, "qadmin.services.name_en"), "name_en").value(&f.name_en).maxlength(service::NAME_MAX)
                        .hint(t(lang, "qadmin.services.name_hint")).error(err))
                }
                div.grid-2 {
                    (Input::new(t(lang, "qadmin.services.minutes"), "minutes").kind("number").inputmode("numeric").value(&f.minutes)
                        .required().hint(t(lang, "qadmin.services.minutes_hint")).error(err))
                    (Input::new(t(lang, "qadmin.services.target"), "target_wait_minutes").kind("number").inputmode("numeric")
                        .value(&f.target).required().hint(t(lang, "qadmin.services.target_hint")).error(err))
                }
                (Input::new(t(lang, "qadmin.services.prefix"), "prefix").value(&f.prefix).maxlength(3)
                    .hint(t(lang, "qadmin.services.prefix_hint")).error(err))
                fieldset.invalid[branch_err.is_some()] {
                    legend { (t(lang, "qadmin.services.branches")) }
                    @if branches.is_empty() {
                        p.muted { (t(lang, "qadmin.services.no_branches_yet")) }
                    }
                    @for (bid, b) in &branches {
                        @let on = f.branch_ids.iter().any(|v| v.trim() == bid.to_string());
                        @if b.active || on {
                            label.check {
                                input type="checkbox" name="branch_ids" value=(bid) checked[on];
                                span { (crate::org::service::branch_name(b, lang)) @if !b.active { " " small.muted { "(" (t(lang, "admin.common.inactive")) ")" } } }
                            }
                        }
                    }
                    @if let Some(e) = branch_err {
                        small.field-error { (e) }
                    }
                }
                @if id.is_some() {
                    label.check {
                        input type="checkbox" name="active" value="1" checked[f.active];
                        span { (t(lang, "qadmin.services.active")) }
                    }
                    small.hint { (t(lang, "qadmin.services.active_hint")) }
                }
                div.form-actions {
                    button.primary type="submit" {
                        @if id.is_some() { (t(lang, "admin.common.save")) } @else { (t(lang, "qadmin.services.create")) }
                    }
                    a.button href=(c.url("admin/queue/services")) { (t(lang, "admin.common.cancel")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::QueueServices, None, body))
}

fn service_form_error(lang: Lang, e: &AppError) -> FormError {
    FormError::new(lang, e).moved("name", "name_uz")
}

async fn service_new_page(user: CurrentUser, page: Page) -> Result<Markup, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let db = c.tenant().db()?;
    // A new service is offered at every active branch unless unticked.
    let branch_ids = crate::org::service::list_branches(db)?.into_iter().filter(|(_, b)| b.active).map(|(id, _)| id.to_string()).collect();
    let f = ServiceForm { minutes: "10".into(), target: "15".into(), branch_ids, active: true, ..Default::default() };
    service_form_view(&c, None, &f, None)
}

async fn service_new_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let f = ServiceForm::from_pairs(&pairs);
    let created = match f.input(false) {
        Ok(input) => service::create_service(&state, c.tenant(), &Caller::from(&c.user), input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match created {
        Ok(()) => Ok(Redirect::to(&c.url("admin/queue/services?done=created")).into_response()),
        Err(e) if is_form_error(&e) => Ok(form_again(service_form_view(&c, None, &f, Some(&service_form_error(c.lang(), &e)))?)),
        Err(e) => Err(e),
    }
}

async fn service_edit_page(user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Markup, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let s = service::get_service(c.tenant().db()?, id)?;
    service_form_view(&c, Some(id), &ServiceForm::of(&s), None)
}

async fn service_edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    service::get_service(c.tenant().db()?, id)?;
    let f = ServiceForm::from_pairs(&pairs);
    let saved = match f.input(true) {
        Ok(input) => service::update_service(&state, c.tenant(), &Caller::from(&c.user), id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to(&c.url("admin/queue/services?done=saved")).into_response()),
        Err(e) if is_form_error(&e) && e.kind != ErrorKind::NotFound => {
            Ok(form_again(service_form_view(&c, Some(id), &f, Some(&service_form_error(c.lang(), &e)))?))
        }
        Err(e) => Err(e),
    }
}

// ---------- admin: operators at windows ----------

async fn operators_page(user: CurrentUser, page: Page, Query(q): Query<DoneQuery>) -> Result<Markup, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let db = c.tenant().db()?;
    let me = Caller::from(&c.user);
    let placed: HashMap<u64, OperatorV1> = service::list_operators(db, &me)?.into_iter().collect();
    let users = service::operator_candidates(db, &me)?;
    let branches = branch_names(db)?;
    let services: HashMap<u64, ServiceV2> = service::list_services(db)?.into_iter().collect();
    let mut resting = std::collections::HashSet::new();
    for (id, _) in &users {
        if operator_state(db, *id)?.is_some_and(|s| s.on_break) {
            resting.insert(*id);
        }
    }
    let title = t(lang, "qadmin.operators.title");
    let body = html! {
        (queue_subnav(&c, Section::QueueOperators))
        h1 { (title) }
        p.muted { (t(lang, "qadmin.operators.about")) }
        @if users.is_empty() {
            p.empty { (t(lang, "qadmin.operators.empty")) }
        } @else {
            div.table-wrap {
                table.data.stack.qadmin-table {
                    thead {
                        tr {
                            th { (t(lang, "qadmin.operators.person")) }
                            th { (t(lang, "admin.users.branch")) }
                            th { (t(lang, "qadmin.operators.window")) }
                            th { (t(lang, "qadmin.operators.services")) }
                            th { (t(lang, "admin.users.status")) }
                            th { span.visually-hidden { (t(lang, "admin.common.actions")) } }
                        }
                    }
                    tbody {
                        @for (id, a) in &users {
                            @let op = placed.get(id);
                            tr {
                                td data-label=(t(lang, "qadmin.operators.person")) {
                                    div {
                                        a href=(c.url(&format!("admin/queue/operators/{id}"))) { (user_name(a)) }
                                        br;
                                        small.muted { span.mono { (a.username) } " · " (role_label(lang, &a.role)) }
                                    }
                                }
                                @if let Some(op) = op {
                                    td data-label=(t(lang, "admin.users.branch")) {
                                        (branches.get(&op.branch_id).map(|b| crate::org::service::branch_name(b, lang).to_string()).unwrap_or_else(|| format!("#{}", op.branch_id)))
                                    }
                                    td data-label=(t(lang, "qadmin.operators.window")) { strong { (op.window) } }
                                    td data-label=(t(lang, "qadmin.operators.services")) {
                                        @if op.service_ids.is_empty() {
                                            span.late { (t(lang, "qadmin.operators.no_services")) }
                                        } @else {
                                            (op.service_ids.iter().map(|s| name_of(&services, *s, lang)).collect::<Vec<_>>().join(", "))
                                        }
                                    }
                                    td data-label=(t(lang, "admin.users.status")) {
                                        @if resting.contains(id) {
                                            span.badge.op-state-break { (t(lang, "operator.state.break")) }
                                        } @else {
                                            span.badge.ok { (t(lang, "qadmin.operators.placed")) }
                                        }
                                    }
                                } @else {
                                    td data-label=(t(lang, "admin.users.branch")) { span.muted { "—" } }
                                    td data-label=(t(lang, "qadmin.operators.window")) { span.muted { "—" } }
                                    td data-label=(t(lang, "qadmin.operators.services")) { span.muted { "—" } }
                                    td data-label=(t(lang, "admin.users.status")) { span.badge.off { (t(lang, "qadmin.operators.not_placed")) } }
                                }
                                td.actions {
                                    a.button.small href=(c.url(&format!("admin/queue/operators/{id}"))) {
                                        @if op.is_some() { (t(lang, "admin.common.edit")) } @else { (t(lang, "qadmin.operators.place")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::QueueOperators, admin_notice(lang, &q), body))
}

#[derive(Default, Clone)]
struct PlaceForm {
    branch_id: String,
    window: String,
    service_ids: Vec<String>,
}

impl PlaceForm {
    fn from_pairs(pairs: &[(String, String)]) -> PlaceForm {
        let mut f = PlaceForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "branch_id" => f.branch_id = v.clone(),
                "window" => f.window = v.clone(),
                "service_ids" => f.service_ids.push(v.clone()),
                _ => {}
            }
        }
        f
    }
}

fn operator_form_view(c: &Ctx, user_id: u64, who: &AccountV1, f: &PlaceForm, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let branches = branch_names(db)?;
    let mut branch_opts: Vec<(String, String)> = branches
        .iter()
        .filter(|(id, b)| b.active || id.to_string() == f.branch_id)
        .map(|(id, b)| (id.to_string(), crate::org::service::branch_name(b, lang).to_string()))
        .collect();
    branch_opts.sort_by_key(|a| a.1.to_lowercase());
    let mut services: Vec<(u64, ServiceV2)> = service::list_services(db)?.into_iter().filter(|(_, s)| s.active).collect();
    services.sort_by_key(|(_, s)| service_name(s, lang).to_lowercase());
    let svc_err = err.and_then(|e| e.on("service_ids"));
    let placed = service::get_operator(db, user_id)?.is_some();
    let title = t(lang, "qadmin.operators.edit_title");
    let body = html! {
        p.back { a href=(c.url("admin/queue/operators")) { "← " (t(lang, "qadmin.operators.title")) } }
        section.card.form-card {
            h1 { (title) }
            p.lead { (user_name(who)) " " small.muted { "(" span.mono { (who.username) } ")" } }
            (form_alert(err))
            form method="post" action=(c.url(&format!("admin/queue/operators/{user_id}"))) {
                (csrf_field(c.csrf()))
                div.grid-2 {
                    (select(t(lang, "admin.users.branch"), "branch_id", &branch_opts, &f.branch_id, err))
                    (Input::new(t(lang, "qadmin.operators.window"), "window").kind("number").inputmode("numeric").value(&f.window)
                        .required().hint(t(lang, "qadmin.operators.window_hint")).error(err))
                }
                fieldset.invalid[svc_err.is_some()] {
                    legend { (t(lang, "qadmin.operators.services")) }
                    p.muted.small { (t(lang, "qadmin.operators.services_hint")) }
                    @for (sid, s) in &services {
                        @let on = f.service_ids.iter().any(|v| v.trim() == sid.to_string());
                        @let at: Vec<&str> = s.branch_ids.iter().filter_map(|b| branches.get(b).map(|b| crate::org::service::branch_name(b, lang))).collect();
                        label.check {
                            input type="checkbox" name="service_ids" value=(sid) checked[on];
                            span { (service_name(s, lang)) " " small.muted { "(" (if at.is_empty() { "—".to_string() } else { at.join(", ") }) ")" } }
                        }
                    }
                    @if let Some(e) = svc_err {
                        small.field-error { (e) }
                    }
                }
                div.form-actions {
                    button.primary type="submit" { (t(lang, "admin.common.save")) }
                    a.button href=(c.url("admin/queue/operators")) { (t(lang, "admin.common.cancel")) }
                }
            }
            @if placed {
                div.qadmin-remove {
                    p.muted.small { (t(lang, "qadmin.operators.remove_hint")) }
                    (post_button(&c.url(&format!("admin/queue/operators/{user_id}/remove")), c.csrf(), t(lang, "qadmin.operators.remove"),
                        "danger", Some(t(lang, "qadmin.operators.remove_confirm"))))
                }
            }
        }
    };
    Ok(c.render(title, Section::QueueOperators, None, body))
}

fn account(db: &Db, c: &Ctx, user_id: u64) -> Result<AccountV1, AppError> {
    crate::org::service::get_user(db, &Caller::from(&c.user), user_id)
}

async fn operator_edit_page(user: CurrentUser, page: Page, PathId(id): PathId) -> Result<Markup, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let db = c.tenant().db()?;
    let who = account(db, &c, id)?;
    let f = match service::get_operator(db, id)? {
        Some(op) => PlaceForm {
            branch_id: op.branch_id.to_string(),
            window: op.window.to_string(),
            service_ids: op.service_ids.iter().map(u64::to_string).collect(),
        },
        None => {
            // Their own branch (else the first), at its lowest free window.
            let mut branches = crate::org::service::list_branches(db)?;
            branches.retain(|(_, b)| b.active);
            branches.sort_by_key(|(_, b)| b.name.to_lowercase());
            let branch = who.branch_id.filter(|b| branches.iter().any(|(id, _)| id == b)).or(branches.first().map(|(id, _)| *id));
            let taken: Vec<u16> = service::list_operators(db, &Caller::from(&c.user))?
                .into_iter()
                .filter(|(_, o)| Some(o.branch_id) == branch)
                .map(|(_, o)| o.window)
                .collect();
            let free = (1..=service::WINDOW_MAX).find(|w| !taken.contains(w)).unwrap_or(1);
            PlaceForm {
                branch_id: branch.map(|b| b.to_string()).unwrap_or_default(),
                window: if branch.is_some() { free.to_string() } else { String::new() },
                service_ids: vec![],
            }
        }
    };
    operator_form_view(&c, id, &who, &f, None)
}

async fn operator_edit_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    let who = account(c.tenant().db()?, &c, id)?;
    let f = PlaceForm::from_pairs(&pairs);
    let placed = async {
        let branch_id = f.branch_id.trim().parse::<u64>().map_err(|_| AppError::invalid("branch_id", "validation.branch"))?;
        let window = f
            .window
            .trim()
            .parse::<u16>()
            .map_err(|_| AppError::invalid("window", "validation.window").with_arg("max", service::WINDOW_MAX))?;
        let mut ids = Vec::new();
        for s in &f.service_ids {
            ids.push(s.trim().parse::<u64>().map_err(|_| AppError::invalid("service_ids", "validation.service_at_branch"))?);
        }
        service::set_operator(&state, c.tenant(), &Caller::from(&c.user), id, branch_id, window, ids).await
    }
    .await;
    match placed {
        Ok(_) => Ok(Redirect::to(&c.url("admin/queue/operators?done=saved")).into_response()),
        Err(e) if is_form_error(&e) && e.kind != ErrorKind::Forbidden => {
            let mut err = FormError::new(c.lang(), &e);
            if e.message_key == Some("error.window_taken") {
                err.field = Some("window");
            }
            Ok(form_again(operator_form_view(&c, id, &who, &f, Some(&err))?))
        }
        Err(e) => Err(e),
    }
}

/// Takes the operator off their window; a refusal (a customer at the window)
/// shows the form again with the reason.
async fn operator_remove_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    PathId(id): PathId,
) -> Result<Response, AppError> {
    manage(&user)?;
    let c = Ctx::new(user, page);
    match service::remove_operator(&state, c.tenant(), &Caller::from(&c.user), id).await {
        Ok(()) => Ok(Redirect::to(&c.url("admin/queue/operators?done=saved")).into_response()),
        Err(e) if e.kind == ErrorKind::Conflict => {
            let db = c.tenant().db()?;
            let who = account(db, &c, id)?;
            let f = match service::get_operator(db, id)? {
                Some(op) => PlaceForm {
                    branch_id: op.branch_id.to_string(),
                    window: op.window.to_string(),
                    service_ids: op.service_ids.iter().map(u64::to_string).collect(),
                },
                None => PlaceForm::default(),
            };
            let err = FormError::new(c.lang(), &e);
            Ok(form_again(operator_form_view(&c, id, &who, &f, Some(&err))?))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_in_notices_are_kept_plain() {
        assert_eq!(clean_number("W-012"), "W-012");
        assert_eq!(clean_number("<b>K-1</b>"), "bK-1b");
    }

    #[test]
    fn a_service_form_reads_names_and_numbers() {
        let pairs: Vec<(String, String)> =
            [("name_uz", "Omonat"), ("minutes", "7"), ("target_wait_minutes", "20"), ("branch_ids", "1"), ("branch_ids", "2")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let input = ServiceForm::from_pairs(&pairs).input(false).unwrap();
        // Missing names stay empty here: the core fills them from Uzbek.
        assert_eq!(input.names, Some(Names { uz: "Omonat".into(), ru: String::new(), en: String::new() }));
        assert_eq!((input.minutes, input.target_wait_minutes, input.branch_ids), (Some(7), Some(20), Some(vec![1, 2])));
        let bad = ServiceForm { name_uz: "X".into(), minutes: "ten".into(), target: "5".into(), ..Default::default() };
        assert_eq!(bad.input(false).unwrap_err().field, Some("minutes"));
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(duration_text(Lang::En, 390), tf(Lang::En, "operator.duration", &[("m", "6"), ("s", "30")]));
        assert_eq!(duration_text(Lang::En, 42), tf(Lang::En, "operator.seconds", &[("n", "42")]));
    }
}
