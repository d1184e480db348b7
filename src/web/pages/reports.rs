//! The reports' pages: `/reports` opens the reader's own starting report
//! (the company's for a director, the department's for its manager, one's
//! own figures for everyone else), `/reports/{name}` any report the reader
//! may see. Each shows a period picker (day, week, month, or from–to), the
//! filters that report takes, its charts, its tables with their totals and
//! the CSV and XLSX of the same report. Every figure is `reports::*`'s.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::queue::stats::{num, num2};
use crate::reports::{self, Cell, Kind, Period, PeriodKind, Report, Table};
use crate::web::api::reports::ReportQuery;
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::{FormError, Input, form_alert, local_date, select};
use crate::web::pages::org::{Ctx, Section};
use crate::web::pages::stats::figure_card;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::ToSpan;
use jiff::tz::TimeZone;
use maud::{Markup, PreEscaped, html};

pub fn router() -> Router<AppState> {
    Router::new().route("/reports", get(hub)).route("/reports/{name}", get(report_page))
}

const DASH: &str = "—";

/// A duration as people say it: "20 daq", "3 soat 20 daq", "2,5 kun".
pub(crate) fn duration(lang: Lang, secs: i64) -> String {
    let m = (secs.max(0) + 30) / 60;
    if m >= 60 * 48 {
        format!("{} {}", num(lang, m as f64 / 1440.0), t(lang, "request_stats.unit.days"))
    } else if m >= 60 && m % 60 == 0 {
        tf(lang, "stats.unit.h", &[("h", &(m / 60).to_string())])
    } else if m >= 60 {
        tf(lang, "stats.unit.h_min", &[("h", &(m / 60).to_string()), ("m", &(m % 60).to_string())])
    } else {
        tf(lang, "stats.unit.min", &[("n", &m.to_string())])
    }
}

/// A value as the page shows it.
pub(crate) fn show(cell: &Cell, kind: Kind, lang: Lang, tz: &TimeZone) -> String {
    match (cell, kind) {
        (Cell::Empty, _) => DASH.to_string(),
        (Cell::Num(v), Kind::Percent) => format!("{} %", num(lang, *v)),
        // Shares and averages: one decimal, two where the second one says something (a rating of 4,25).
        (Cell::Num(v), _) if (v * 10.0).fract().abs() < 1e-9 => num(lang, *v),
        (Cell::Num(v), _) => num2(lang, *v),
        (Cell::Secs(s), _) => duration(lang, *s),
        (Cell::Date(d), _) => local_date(*d),
        (Cell::Time(ms), _) => crate::clock::from_ms(*ms).to_zoned(tz.clone()).strftime("%d.%m.%Y %H:%M").to_string(),
        (Cell::Int(n), _) => n.to_string(),
        (Cell::Text(s), _) => s.clone(),
    }
}

fn numeric(kind: Kind) -> bool {
    matches!(kind, Kind::Integer | Kind::Number | Kind::Percent | Kind::Duration)
}

/// Ids are for the API and the files; a person reads names.
fn shown_column(key: &str) -> bool {
    key != "id" && !key.ends_with("_id")
}

/// A table: a header, its rows, the totals as a footer (not under a single
/// row, where they would say it twice). On a phone each row stacks into
/// label–value lines (`table.stack`), its first value the card's title.
pub(crate) fn table(lang: Lang, tz: &TimeZone, tbl: &Table) -> Markup {
    if tbl.rows.is_empty() {
        return html! { p.empty { (t(lang, "report_page.no_rows")) } };
    }
    let cols: Vec<usize> = (0..tbl.columns.len()).filter(|i| tbl.columns.get(*i).is_some_and(|c| shown_column(c.key))).collect();
    let line = |row: &[Cell]| -> Markup {
        html! {
            tr {
                @for (n, i) in cols.iter().enumerate() {
                    @if let (Some(c), Some(v)) = (tbl.columns.get(*i), row.get(*i)) {
                        @if n == 0 {
                            th scope="row" { (show(v, c.kind, lang, tz)) }
                        } @else {
                            td.num[numeric(c.kind)] data-label=(c.label) { (show(v, c.kind, lang, tz)) }
                        }
                    }
                }
            }
        }
    };
    html! {
        div.table-wrap {
            table.data.stack.report-table {
                thead { tr { @for i in &cols { @if let Some(c) = tbl.columns.get(*i) { th.num[numeric(c.kind)] scope="col" { (c.label) } } } } }
                tbody { @for row in &tbl.rows { (line(row)) } }
                @if let Some(tot) = tbl.totals.as_ref().filter(|_| tbl.rows.len() > 1) {
                    tfoot { (line(tot)) }
                }
            }
        }
    }
}

/// A chart drawn by `reports::chart`, in a card with its title.
pub(crate) fn chart_card(lang: Lang, chart: &reports::Chart) -> Markup {
    html! {
        // The chart draws its own title (and says it to screen readers).
        section.card.chart-card.report-chart {
            div.chart-box { (PreEscaped(reports::chart::svg(chart, lang, 720, 280))) }
        }
    }
}

fn period_label(lang: Lang, p: &Period) -> String {
    match p.kind {
        PeriodKind::Day => local_date(p.from),
        PeriodKind::Month => format!("{} {}", crate::web::pages::tasks::month_name(lang, p.from.month()), p.from.year()),
        _ => format!("{} — {}", local_date(p.from), local_date(p.to)),
    }
}

/// The query string of a report page with another period.
fn query(q: &ReportQuery, kind: &str, from: &str, to: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("period", kind).append_pair("from", from);
    if let Some(to) = to {
        s.append_pair("to", to);
    }
    for (k, v) in
        [("department_id", &q.department_id), ("branch_id", &q.branch_id), ("user_id", &q.user_id), ("category_id", &q.category_id)]
    {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

fn period_picker(c: &Ctx, name: &str, q: &ReportQuery, p: &Period) -> Markup {
    let lang = c.lang();
    let here = |kind: &str, from: String, to: Option<String>| c.url(&format!("reports/{name}?{}", query(q, kind, &from, to.as_deref())));
    let kinds = [
        (PeriodKind::Day, "day", "report.period_day"),
        (PeriodKind::Week, "week", "report.period_week"),
        (PeriodKind::Month, "month", "report.period_month"),
    ];
    let prev = p.previous().ok();
    let next = match p.kind {
        PeriodKind::Custom => p.to.tomorrow().ok().and_then(|d| d.checked_add((i64::from(p.days()) - 1).days()).ok().map(|to| (d, to))),
        k => p.to.tomorrow().ok().and_then(|d| Period::containing(k, d).ok()).map(|n| (n.from, n.to)),
    };
    let code = period_code;
    html! {
      div.period-bar {
        nav.period-picker aria-label=(t(lang, "report_page.period")) {
            @for (k, code, label) in kinds {
                @let on = p.kind == k;
                a.chip.on[on] href=(here(code, p.from.to_string(), None)) aria-current=[on.then_some("true")] { (t(lang, label)) }
            }
        }
        div.period-step {
            @if let Some(prev) = prev {
                a.button.ghost href=(here(code(p.kind), prev.from.to_string(), (p.kind == PeriodKind::Custom).then(|| prev.to.to_string())))
                    aria-label=(t(lang, "report_page.previous")) { "‹" }
            }
            strong.period-now { (period_label(lang, p)) }
            @if let Some((from, to)) = next {
                a.button.ghost href=(here(code(p.kind), from.to_string(), (p.kind == PeriodKind::Custom).then(|| to.to_string())))
                    aria-label=(t(lang, "report_page.next")) { "›" }
            }
        }
      }
    }
}

/// The filters a report takes, with the custom period.
fn filters(c: &Ctx, name: &str, q: &ReportQuery, p: Option<&Period>, err: Option<&FormError>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let who = Caller::from(&c.user);
    let v = |o: &Option<String>| o.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut selects = Vec::new();
    if matches!(name, "employee" | "department" | "ranking") && matches!(reports::Scope::of(&who), Ok(reports::Scope::All)) {
        let mut opts = vec![(String::new(), t(lang, "report_page.all_departments").to_string())];
        for (id, d) in crate::org::service::list_departments(db)? {
            if d.active {
                opts.push((id.to_string(), crate::org::service::department_name(&d, lang).to_string()));
            }
        }
        selects.push(select(t(lang, "report_page.department"), "department_id", &opts, &v(&q.department_id), err));
    }
    if matches!(name, "queue" | "branches") {
        let mut opts = vec![(String::new(), t(lang, "report_page.all_branches").to_string())];
        for (id, b) in crate::org::service::list_branches(db)? {
            if b.active {
                opts.push((id.to_string(), crate::org::service::branch_name(&b, lang).to_string()));
            }
        }
        selects.push(select(t(lang, "report_page.branch"), "branch_id", &opts, &v(&q.branch_id), err));
    }
    if name == "requests" {
        let mut opts = vec![(String::new(), t(lang, "report_page.all_categories").to_string())];
        for (id, cat) in crate::requests::stats::categories(db)? {
            if cat.active {
                opts.push((id.to_string(), cat.names.get(lang).to_string()));
            }
        }
        selects.push(select(t(lang, "report_page.category"), "category_id", &opts, &v(&q.category_id), err));
    }
    let from = p.map(|p| p.from.to_string()).unwrap_or_else(|| v(&q.from));
    let to = p.map(|p| p.to.to_string()).unwrap_or_else(|| v(&q.to));
    let open = err.is_some() || p.is_some_and(|p| p.kind == PeriodKind::Custom);
    Ok(html! {
        details.report-filters open[open] {
            summary { (t(lang, "report_page.filters")) }
            form.filters method="get" action=(c.url(&format!("reports/{name}"))) {
                (form_alert(err))
                input type="hidden" name="period" value="custom";
                @if let Some(u) = q.user_id.as_deref().filter(|u| !u.trim().is_empty()) { input type="hidden" name="user_id" value=(u); }
                div.filter-grid {
                    @for s in &selects { (s) }
                    (Input::new(t(lang, "report_page.from"), "from").kind("date").value(&from).error(err))
                    (Input::new(t(lang, "report_page.to"), "to").kind("date").value(&to).error(err))
                }
                div.filter-actions { button.primary type="submit" { (t(lang, "report_page.show")) } }
            }
        }
    })
}

/// One's own figures today, this week and this month, as cards.
async fn my_cards(state: &AppState, c: &Ctx, who: &Caller) -> Result<Markup, AppError> {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let today = reports::today(state.now_ms(), &tz);
    let mut out = Vec::new();
    for (kind, label) in
        [(PeriodKind::Day, "report_page.today"), (PeriodKind::Week, "report_page.this_week"), (PeriodKind::Month, "report_page.this_month")]
    {
        let ask = reports::Ask {
            name: "employee".into(),
            period: Period::containing(kind, today)?,
            filters: reports::Filters { user_id: Some(c.user.id), ..Default::default() },
        };
        let r = reports::run(c.tenant(), who, lang, state.now_ms(), ask).await?;
        out.push((label, r));
    }
    Ok(html! {
        div.my-periods {
            @for (label, r) in &out {
                section.card.my-period {
                    h2 { (t(lang, label)) }
                    @if let Some(row) = r.table.rows.first() {
                        div.stat-cards.compact {
                            @for key in ["done", "on_time_pct", "points", "overdue"] {
                                @if let (Some(i), Some(v)) = (r.table.index(key), r.table.cell(row, key)) {
                                    @if let Some(col) = r.table.columns.get(i) {
                                        (figure_card(&col.label, show(v, col.kind, lang, &tz), None, None))
                                    }
                                }
                            }
                        }
                    } @else {
                        p.empty { (t(lang, "report_page.no_rows")) }
                    }
                }
            }
        }
    })
}

/// `GET /c/<slug>/reports`: the reader's starting report.
async fn hub(
    state: State<AppState>,
    user: CurrentUser,
    page: Page,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let name = reports::home_report(&Caller::from(&user)).to_string();
    render(state, user, page, name, q.map(|q| q.0).unwrap_or_default(), true).await
}

/// `GET /c/<slug>/reports/{name}`.
async fn report_page(
    state: State<AppState>,
    user: CurrentUser,
    page: Page,
    Path((_slug, name)): Path<(String, String)>,
    q: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    if !reports::NAMES.contains(&name.as_str()) {
        return Err(ErrorKind::NotFound.into());
    }
    render(state, user, page, name, q.map(|q| q.0).unwrap_or_default(), false).await
}

async fn render(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    name: String,
    q: ReportQuery,
    hub: bool,
) -> Result<Response, AppError> {
    let who = Caller::from(&user);
    let available = reports::available(&who);
    if !available.contains(&name.as_str()) {
        return Err(ErrorKind::Forbidden.into());
    }
    let asked = crate::web::api::reports::ask_of(&state, &user, &name, &q);
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let result = match asked {
        Ok(ask) => reports::run(c.tenant(), &who, lang, state.now_ms(), ask).await,
        Err(e) => Err(e),
    };
    let (err, report): (Option<FormError>, Option<Report>) = match result {
        Ok(r) => (None, Some(r)),
        Err(e) if e.kind == ErrorKind::Validation => (Some(FormError::new(lang, &e)), None),
        Err(e) => return Err(e),
    };
    let mine = if hub && name == "employee" { Some(my_cards(&state, &c, &who).await?) } else { None };
    let title = report.as_ref().map(|r| r.title.clone()).unwrap_or_else(|| t(lang, "report_page.title").to_string());
    let files = |ext: &str| match &report {
        Some(r) => c.url(&format!(
            "api/v1/reports/{name}.{ext}?{}",
            query(&q, period_code(r.period.kind), &r.period.from.to_string(), Some(&r.period.to.to_string()))
        )),
        None => String::new(),
    };
    let body = html! {
        div.page-head {
            h1 { (title) }
            @if report.is_some() {
                div.head-actions {
                    a.button href=(files("xlsx")) download { (t(lang, "report_page.xlsx")) }
                    a.button.ghost href=(files("csv")) download { (t(lang, "report_page.csv")) }
                }
            }
        }
        @if available.len() > 1 {
            nav.report-tabs aria-label=(t(lang, "report_page.reports")) {
                @for n in &available {
                    @let on = *n == name;
                    a.chip.on[on] href=(c.url(&format!("reports/{n}"))) aria-current=[on.then_some("page")] { (t(lang, &format!("report_page.name.{n}"))) }
                }
                @if c.user.can("reports.view_all") || c.user.can("tasks.view_all") || c.user.can("requests.manage") || c.user.can("queue.manage") {
                    a.chip href=(c.url("reports/exports")) { (t(lang, "report_page.exports")) }
                }
            }
        }
        @if let Some(r) = &report { (period_picker(&c, &name, &q, &r.period)) }
        (filters(&c, &name, &q, report.as_ref().map(|r| &r.period), err.as_ref())?)
        @if let Some(m) = &mine { (m) }
        @if let Some(r) = &report {
            @for n in &r.notes { p.notice { (n) } }
            @if !r.charts.is_empty() {
                div.report-charts { @for ch in &r.charts { (chart_card(lang, ch)) } }
            }
            section.report-section {
                h2 { (r.table.title) }
                (table(lang, &tz, &r.table))
            }
            @for more in &r.more {
                section.report-section {
                    h2 { (more.title) }
                    (table(lang, &tz, more))
                }
            }
        }
    };
    Ok(c.render(&title, Section::Reports, None, body).into_response())
}

fn period_code(k: PeriodKind) -> &'static str {
    match k {
        PeriodKind::Day => "day",
        PeriodKind::Week => "week",
        PeriodKind::Month => "month",
        PeriodKind::Custom => "custom",
    }
}
