//! The signed-in home page: the dashboard of the reader's role, drawn from
//! the core's `home::dashboard`. Every number links to the list it counts;
//! every empty block says what to do next.

use super::org::{Ctx, Section};
use super::tasks::{badge, countdown};
use crate::auth::Caller;
use crate::error::AppError;
use crate::home::{self, BranchToday, Company, Dashboard, Line, Mine, Setup, Step, Team, Window};
use crate::i18n::{Lang, role_label, t, tf, tn};
use crate::web::layout::local_time;
use maud::{Markup, html};

/// The home page of a signed-in user.
pub(crate) fn page(c: &Ctx, now: i64) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tenant = c.tenant();
    let tz = tenant.timezone();
    let d = home::dashboard(tenant.db()?, &Caller::from(&c.user), now, &tz)?;
    // The audit log's words, for the recent events of a finished setup.
    let narrator = match &d.setup {
        Some(s) if !s.recent.is_empty() => Some(crate::audit::Narrator::load(tenant.db()?, &Caller::from(&c.user), lang)?),
        _ => None,
    };
    let title = t(lang, "dash.title");
    let body = html! {
        section.welcome {
            h1 { (tf(lang, "dash.greeting", &[("name", c.user.display_name())])) }
            p.muted { (role_label(lang, &c.user.account.role)) " · " (tenant.info().name) " · " (today_text(lang, now, &tz)) }
        }
        @if !tenant.is_active() {
            p.hint { (t(lang, "dash.inactive")) }
        }
        div.desk data-dashboard=(kind_code(&d)) {
            (body(c, &d, now, narrator.as_ref()))
        }
        (super::queue_staff::dashboard_links(c))
    };
    Ok(c.render(title, Section::Home, None, body))
}

fn kind_code(d: &Dashboard) -> &'static str {
    match d.kind {
        home::Kind::Employee => "employee",
        home::Kind::Manager => "manager",
        home::Kind::Director => "director",
        home::Kind::Operator => "operator",
        home::Kind::Admin => "admin",
    }
}

fn today_text(lang: Lang, now: i64, tz: &jiff::tz::TimeZone) -> String {
    let d = crate::clock::from_ms(now).to_zoned(tz.clone()).date();
    let wd = crate::i18n::weekday_name(lang, usize::from(d.weekday().to_monday_zero_offset().unsigned_abs()));
    format!("{wd}, {:02}.{:02}.{}", d.day(), d.month(), d.year())
}

fn body(c: &Ctx, d: &Dashboard, now: i64, narrator: Option<&crate::audit::Narrator>) -> Markup {
    html! {
        @if let Some(w) = &d.window { (window(c, w)) }
        @if let Some(co) = &d.company { (company(c, co, now)) }
        @if let Some(tm) = &d.team { (team(c, tm)) }
        @if let Some(m) = d.mine.as_ref().filter(|m| d.kind != home::Kind::Manager || !quiet(m)) { (mine(c, m, now)) }
        (super::requests::my_requests(c, now))
        @if let Some(s) = &d.setup { (setup(c, s, narrator)) }
    }
}

/// Nothing of one's own to do and no points: a manager's own block is left out.
fn quiet(m: &Mine) -> bool {
    m.due_today.is_empty() && m.overdue.is_empty() && m.redo.is_empty() && m.points.total == 0
}

/// A figure that links to the list it counts.
fn figure(href: &str, n: impl std::fmt::Display, label: &str, id: &str, alert: bool) -> Markup {
    html! {
        a.figure.alert[alert] href=(href) id=(id) {
            strong.figure-n { (n) }
            span.figure-label { (label) }
        }
    }
}

fn task_lines(c: &Ctx, lines: &[Line], now: i64, with_reason: bool) -> Markup {
    let lang = c.lang();
    html! {
        ul.desk-list {
            @for l in lines.iter().take(home::LIST_MAX) {
                li {
                    a.task-link href=(c.url(&format!("tasks/{}", l.id))) { (l.title) }
                    div.desk-meta {
                        (badge(lang, l.status))
                        " " (countdown(lang, l.deadline, now))
                        @if l.working_since.is_some() {
                            " " span.working { (tf(lang, "desk.working", &[("time", &spent(lang, l.spent_secs))])) }
                        }
                    }
                    @if with_reason {
                        @if let Some(r) = &l.reason {
                            p.desk-reason { strong { (t(lang, "desk.mine.reason")) } " " (r) }
                        }
                    }
                }
            }
        }
    }
}

fn spent(lang: Lang, secs: i64) -> String {
    let units: Vec<&str> = t(lang, "tasks.units").split(',').collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or("");
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    if h > 0 { format!("{h}\u{a0}{} {m}\u{a0}{}", unit(1), unit(2)) } else { format!("{m}\u{a0}{}", unit(2)) }
}

fn mine(c: &Ctx, m: &Mine, now: i64) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let today = crate::clock::from_ms(now).to_zoned(tz).date();
    let day = format!("{:04}-{:02}-{:02}", today.year(), today.month(), today.day());
    let nothing = m.due_today.is_empty() && m.overdue.is_empty() && m.redo.is_empty();
    html! {
        section.card.desk-card #desk-mine {
            h2 { (t(lang, "desk.mine.title")) }
            div.figures {
                (figure(&c.url(&format!("tasks?tab=mine&due_from={day}&due_to={day}")), m.due_today.len(), t(lang, "desk.mine.due_today"), "n-due-today", false))
                (figure(&c.url("tasks?tab=mine&status=overdue"), m.overdue.len(), t(lang, "desk.mine.overdue"), "n-overdue", !m.overdue.is_empty()))
                (figure(&c.url("tasks?tab=mine&status=redo"), m.redo.len(), t(lang, "desk.mine.redo"), "n-redo", !m.redo.is_empty()))
            }
            @if nothing {
                p.empty { (t(lang, "desk.mine.empty")) " " a href=(c.url("tasks?tab=mine")) { (t(lang, "desk.mine.all")) } }
            }
            @if !m.redo.is_empty() {
                h3 { (t(lang, "desk.mine.redo")) }
                (task_lines(c, &m.redo, now, true))
            }
            @if !m.overdue.is_empty() {
                h3 { (t(lang, "desk.mine.overdue")) }
                (task_lines(c, &m.overdue, now, false))
            }
            @if !m.due_today.is_empty() {
                h3 { (t(lang, "desk.mine.due_today")) }
                (task_lines(c, &m.due_today, now, false))
            }
        }
        section.card.desk-card.points-card #desk-points aria-label=(t(lang, "tasks.points.title")) {
            h2 { (t(lang, "tasks.points.title")) }
            dl.points-figures {
                div { dt { (t(lang, "tasks.points.week")) } dd #points-week { (m.points.week) } }
                div { dt { (t(lang, "tasks.points.month")) } dd #points-month { (m.points.month) } }
                div { dt { (t(lang, "tasks.points.total")) } dd #points-total { (m.points.total) } }
                div {
                    dt { (t(lang, "desk.mine.place")) }
                    dd #points-place {
                        @if let Some((p, of)) = m.place { (tf(lang, "desk.mine.place_of", &[("place", &p.to_string()), ("of", &of.to_string())])) } @else { "—" }
                    }
                }
            }
            @if m.points.month == 0 {
                p.muted { (t(lang, "desk.mine.no_points")) }
            }
        }
    }
}

fn team(c: &Ctx, tm: &Team) -> Markup {
    let lang = c.lang();
    html! {
        section.card.desk-card #desk-team {
            h2 {
                (t(lang, "desk.team.title"))
                @if !tm.department.is_empty() { " · " (tm.department) }
            }
            div.figures {
                (figure(&c.url("tasks?tab=review"), tm.review, t(lang, "desk.team.review"), "n-review", tm.review > 0))
                (figure(&c.url("tasks?tab=department"), tm.overdue, t(lang, "desk.team.overdue"), "n-team-overdue", tm.overdue > 0))
                (figure(&c.url("tasks?tab=department"), tm.points_month, t(lang, "desk.team.points_month"), "n-team-points", false))
            }
            @if tm.department_id.is_none() {
                p.empty { (t(lang, "desk.team.no_department")) }
            } @else {
                h3 { (t(lang, "desk.team.load")) }
                @if tm.load.iter().all(|l| l.open == 0) {
                    p.empty { (t(lang, "desk.team.load_empty")) " " a href=(c.url("tasks/new")) { (t(lang, "tasks.new.title")) } }
                } @else {
                    ul.desk-list.load {
                        @for l in tm.load.iter().take(home::LIST_MAX) {
                            li.overloaded[l.open >= home::OVERLOAD] {
                                a href=(c.url(&format!("tasks?tab=department&assignee_id={}", l.user_id))) { (l.name) }
                                span.load-n data-user=(l.user_id) { (tn(lang, "desk.team.open", l.open as u64, &[])) }
                                @if l.overdue > 0 { " " span.late { (tn(lang, "desk.team.late", l.overdue as u64, &[])) } }
                                @if l.open >= home::OVERLOAD { " " span.badge.warn { (t(lang, "desk.team.overloaded")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn company(c: &Ctx, co: &Company, now: i64) -> Markup {
    let lang = c.lang();
    let waiting = co.approval + co.extensions.len();
    html! {
        section.card.desk-card #desk-approval {
            h2 { (t(lang, "desk.company.waiting")) }
            div.figures {
                (figure(&c.url("tasks?tab=approval"), co.approval, t(lang, "desk.company.approval"), "n-approval", co.approval > 0))
                (figure(&c.url("tasks?tab=all&status=overdue"), co.extensions.len(), t(lang, "desk.company.extensions"), "n-extensions", !co.extensions.is_empty()))
            }
            @if waiting == 0 {
                p.empty { (t(lang, "desk.company.waiting_empty")) }
            }
            @if !co.extensions.is_empty() {
                h3 { (t(lang, "desk.company.extensions")) }
                (task_lines(c, &co.extensions, now, false))
            }
        }
        section.card.desk-card #desk-overdue {
            h2 { (t(lang, "desk.company.overdue")) " " span.count #n-overdue { (co.overdue) } }
            @if co.overdue_by_department.is_empty() {
                p.empty { (t(lang, "desk.company.overdue_empty")) }
            } @else {
                ul.desk-list.rows {
                    @for d in &co.overdue_by_department {
                        li {
                            @let href = match d.department_id {
                                Some(id) => c.url(&format!("tasks?tab=all&status=overdue&department_id={id}")),
                                None => c.url("tasks?tab=all&status=overdue"),
                            };
                            a href=(href) {
                                span { @if d.name.is_empty() { (t(lang, "desk.company.no_department")) } @else { (d.name) } }
                                strong.late { (d.overdue) }
                            }
                        }
                    }
                }
            }
        }
        @if !co.queue.is_empty() {
            section.card.desk-card #desk-queue {
                h2 { (t(lang, "desk.company.queue")) }
                div.table-wrap {
                    table.data.stack.desk-queue {
                        thead { tr {
                            th { (t(lang, "desk.queue.branch")) }
                            th.num { (t(lang, "desk.queue.waiting")) }
                            th.num { (t(lang, "desk.queue.served")) }
                            th.num { (t(lang, "desk.queue.longest")) }
                        } }
                        tbody {
                            @for b in &co.queue { (branch_row(c, b)) }
                        }
                    }
                }
            }
        }
        section.card.desk-card #desk-best {
            h2 { (t(lang, "desk.company.best")) }
            @if co.best.is_empty() {
                p.empty { (t(lang, "desk.company.best_empty")) }
            } @else {
                ol.desk-list.rows {
                    @for b in &co.best {
                        li {
                            a href=(c.url(&format!("tasks?tab=all&status=completed&assignee_id={}", b.user_id))) {
                                span { (b.name) }
                                strong data-user=(b.user_id) { (tn(lang, "tasks.points_short", b.points, &[])) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn branch_row(c: &Ctx, b: &BranchToday) -> Markup {
    let lang = c.lang();
    let href = c.url(&format!("queue/stats?branch_id={}", b.branch_id));
    html! {
        tr data-branch=(b.branch_id) {
            td { a href=(href) { strong { (b.name) } } }
            td.num data-label=(t(lang, "desk.queue.waiting")) { a href=(href) { (b.waiting) } }
            td.num data-label=(t(lang, "desk.queue.served")) { a href=(href) { (b.served) } }
            td.num.late[b.longest_wait_secs.is_some_and(|s| s >= 15 * 60)] data-label=(t(lang, "desk.queue.longest")) {
                @match b.longest_wait_secs {
                    Some(s) => (tn(lang, "desk.queue.minutes", (s / 60) as u64, &[])),
                    None => "—",
                }
            }
        }
    }
}

fn window(c: &Ctx, w: &Window) -> Markup {
    let lang = c.lang();
    html! {
        section.card.desk-card #desk-window {
            @match &w.place {
                Some((_, branch, number)) => {
                    h2 { (tf(lang, "operator.window", &[("window", &number.to_string())])) " · " (branch) }
                    div.figures {
                        (figure(&c.url("operator"), w.waiting, t(lang, "desk.window.waiting"), "n-waiting", w.waiting > 0))
                        (figure(&c.url("operator"), w.served, t(lang, "desk.window.served"), "n-served", false))
                    }
                    a.button.primary href=(c.url("operator")) { (t(lang, "desk.window.open")) }
                }
                None => {
                    h2 { (t(lang, "operator.no_window.title")) }
                    p.empty { (t(lang, "operator.no_window.text")) }
                }
            }
        }
    }
}

fn step_text(lang: Lang, s: Step) -> (&'static str, &'static str) {
    match s {
        Step::BranchHours => (t(lang, "desk.setup.branches"), "admin/branches"),
        Step::Departments => (t(lang, "desk.setup.departments"), "admin/departments"),
        Step::Users => (t(lang, "desk.setup.users"), "admin/users/new"),
        Step::Services => (t(lang, "desk.setup.services"), "admin/queue/services"),
        Step::Operators => (t(lang, "desk.setup.operators"), "admin/queue/operators"),
        Step::Branding => (t(lang, "desk.setup.branding"), "admin/branding"),
    }
}

fn setup(c: &Ctx, s: &Setup, narrator: Option<&crate::audit::Narrator>) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let done = s.steps.iter().filter(|(_, d)| *d).count();
    html! {
        @if !s.complete() {
            section.card.desk-card #desk-setup {
                h2 { (t(lang, "desk.setup.title")) " " span.count { (done) "/" (s.steps.len()) } }
                p.muted { (t(lang, "desk.setup.about")) }
                ol.checklist {
                    @for (step, ok) in &s.steps {
                        @let (label, path) = step_text(lang, *step);
                        li.done[*ok] data-step=(step.code()) {
                            span.tick aria-hidden="true" { @if *ok { "✓" } @else { "○" } }
                            a href=(c.url(path)) { (label) }
                            @if *ok { span.visually-hidden { (t(lang, "desk.setup.done")) } }
                        }
                    }
                    // Not needed to finish the setup, but offered: the company's Telegram bot.
                    @let bot = c.tenant().db().ok().and_then(|db| crate::telegram::summary(db).ok().flatten()).is_some_and(|b| b.running);
                    li.done[bot] data-step="telegram" {
                        span.tick aria-hidden="true" { @if bot { "✓" } @else { "○" } }
                        a href=(c.url("admin/telegram")) { (t(lang, "desk.setup.telegram")) }
                        @if bot { span.visually-hidden { (t(lang, "desk.setup.done")) } }
                    }
                }
            }
        } @else {
            section.card.desk-card #desk-audit {
                h2 { (t(lang, "desk.setup.recent")) }
                @if s.recent.is_empty() {
                    p.empty { (t(lang, "desk.setup.recent_empty")) }
                } @else {
                    ul.desk-list.audit {
                        @for (_, a) in &s.recent {
                            li {
                                span.muted.nowrap { (local_time(a.at, &tz)) }
                                " " strong { (a.actor_name) } " · "
                                @if let Some(told) = narrator.map(|n| n.tell(a)) {
                                    (told.title) ": " (told.sentence)
                                }
                            }
                        }
                    }
                }
                a.button href=(c.url("admin/audit")) { (t(lang, "desk.setup.audit_all")) }
            }
        }
    }
}
