//! Request statistics over HTTP: the page (a period picker, the totals, a
//! bar chart of received and done by day drawn here as SVG, tables per
//! category, employee and team), its CSV, and the JSON API. The figures are
//! `requests::stats`.

use super::stats::figure_card;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::queue::stats::num;
use crate::requests::stats::{Day, Figures, MAX_SCANNED, Range, Row, Stats, can_view, csv, parse_range, run};
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::{FormError, Input, form_alert, local_date, select};
use crate::web::pages::org::{Ctx, Section};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The page and its CSV (nested under `/c/{slug}/`).
pub fn router() -> Router<AppState> {
    Router::new().route("/requests/stats", get(stats_page)).route("/requests/stats.csv", get(stats_csv))
}

/// The JSON API (nested under `/c/{slug}/`).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_request_stats))
}

/// The statistics' filter.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestStatsQuery {
    /// The first local day, `YYYY-MM-DD`; today when left out.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub from: Option<String>,
    /// The last local day, `YYYY-MM-DD`, included; today when left out. At most 366 days from `from`.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub to: Option<String>,
    /// A category id; every category when left out or empty.
    #[param(pattern = r"^\d*$")]
    pub category_id: Option<String>,
}

fn query(q: Result<Query<RequestStatsQuery>, QueryRejection>) -> Result<RequestStatsQuery, AppError> {
    q.map(|Query(q)| q)
        .map_err(|e| AppError::new(ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.body_text()))
}

fn today(state: &AppState, user: &CurrentUser) -> Date {
    crate::queue::stats::today(state, &user.tenant.timezone())
}

fn range(state: &AppState, user: &CurrentUser, q: &RequestStatsQuery) -> Result<Range, AppError> {
    parse_range(q.category_id.as_deref(), q.from.as_deref(), q.to.as_deref(), today(state, user))
}

// ---------- API ----------

/// Request statistics of a range of local days (default today), for one
/// category or all: received, done, rejected, open, median first response
/// and resolution times, SLA met %, rating; per category, employee and team,
/// and by day. For dispatchers and those who see every report.
#[utoipa::path(get, path = "/api/v1/requests/stats", tag = "requests", params(("slug" = String, Path), RequestStatsQuery),
    responses((status = 200, body = Stats), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn api_request_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    q: Result<Query<RequestStatsQuery>, QueryRejection>,
) -> Result<axum::Json<Stats>, AppError> {
    let p = range(&state, &user, &query(q)?)?;
    Ok(axum::Json(run(&user.tenant, &Caller::from(&user), user.lang, p).await?))
}

/// `GET /c/<slug>/requests/stats.csv`: the same figures for a spreadsheet.
async fn stats_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    q: Result<Query<RequestStatsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let p = range(&state, &user, &query(q)?)?;
    let stats = run(&user.tenant, &Caller::from(&user), user.lang, p).await?;
    let name = format!("request-stats-{}-{}.csv", stats.from, stats.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv(user.lang, &stats),
    )
        .into_response())
}

// ---------- the page ----------

const DASH: &str = "—";

/// "3 soat 20 daq" / "20 daq".
fn duration(lang: Lang, secs: Option<u64>) -> String {
    let Some(secs) = secs else { return DASH.to_string() };
    let m = (secs + 30) / 60;
    if m >= 60 * 48 {
        format!("{} {}", num(lang, m as f64 / 1440.0), t(lang, "request_stats.unit.days"))
    } else if m >= 60 && m.is_multiple_of(60) {
        tf(lang, "stats.unit.h", &[("h", &(m / 60).to_string())])
    } else if m >= 60 {
        tf(lang, "stats.unit.h_min", &[("h", &(m / 60).to_string()), ("m", &(m % 60).to_string())])
    } else {
        tf(lang, "stats.unit.min", &[("n", &m.to_string())])
    }
}

fn pct(lang: Lang, v: Option<f64>) -> String {
    v.map(|p| format!("{}%", num(lang, p))).unwrap_or_else(|| DASH.to_string())
}

fn rating(lang: Lang, v: Option<f64>) -> String {
    v.map(|r| crate::queue::stats::num2(lang, r)).unwrap_or_else(|| DASH.to_string())
}

fn cards(lang: Lang, f: &Figures) -> Markup {
    let tone = f.sla_met_pct.map(|p| {
        if p >= 90.0 {
            "good"
        } else if p >= 75.0 {
            "fair"
        } else {
            "poor"
        }
    });
    html! {
        div.stat-cards {
            (figure_card(t(lang, "request_stats.card.received"), f.received.to_string(),
                Some(tf(lang, "request_stats.card.received_sub", &[("open", &f.open.to_string())])), None))
            (figure_card(t(lang, "request_stats.card.done"), f.done.to_string(),
                Some(tf(lang, "request_stats.card.done_sub", &[("rejected", &f.rejected.to_string())])), None))
            (figure_card(t(lang, "request_stats.card.first_response"), duration(lang, f.median_first_response_secs), None, None))
            (figure_card(t(lang, "request_stats.card.resolution"), duration(lang, f.median_resolution_secs), None, None))
            (figure_card(t(lang, "request_stats.card.sla_met"), pct(lang, f.sla_met_pct),
                (f.sla_counted > 0).then(|| tf(lang, "request_stats.card.sla_met_sub", &[("n", &f.sla_met.to_string()), ("of", &f.sla_counted.to_string())])), tone))
            (figure_card(t(lang, "request_stats.card.rating"), rating(lang, f.rating_avg),
                Some(tf(lang, "request_stats.card.rating_sub", &[("n", &f.rating_count.to_string())])), None))
        }
    }
}

/// Received and done of each day as two bars side by side, with a table of
/// the same numbers for screen readers and for reading exactly.
fn day_chart(lang: Lang, days: &[Day]) -> Markup {
    const LEFT: usize = 34;
    const TOP: usize = 10;
    const H: usize = 150;
    const BOTTOM: usize = 22;
    let n = days.len().max(1);
    let group = if n <= 14 {
        40
    } else if n <= 31 {
        22
    } else {
        8
    };
    let bar = (group - 2) / 2;
    let size = match n {
        0..=7 => "days-s",
        8..=14 => "days-m",
        15..=31 => "days-l",
        _ => "days-xl",
    };
    let width = LEFT + n * group + 4;
    let height = TOP + H + BOTTOM;
    let max = days.iter().map(|d| d.received.max(d.done)).max().unwrap_or(0).max(1);
    // A round top for the scale: 1, 2, 5 × 10^k.
    let top = (0..10).flat_map(|k| [1u32, 2, 5].map(|m| m.saturating_mul(10u32.saturating_pow(k)))).find(|v| *v >= max).unwrap_or(max);
    let y = |v: u32| TOP + H - (f64::from(v) / f64::from(top) * H as f64).round() as usize;
    let label_every = (48usize).div_ceil(group).max(1);
    let received: u32 = days.iter().map(|d| d.received).sum();
    let done: u32 = days.iter().map(|d| d.done).sum();
    html! {
        div.chart-scroll {
            // As wide as the card; on a phone no narrower than its labels
            // stay legible at (the box scrolls).
            svg class=(format!("day-chart {size}")) viewBox=(format!("0 0 {width} {height}")) role="img" aria-labelledby="dc-title dc-desc" {
                title #dc-title { (t(lang, "request_stats.chart.title")) }
                desc #dc-desc { (tf(lang, "request_stats.chart.desc", &[("days", &days.len().to_string()), ("received", &received.to_string()), ("done", &done.to_string())])) }
                @for v in if top.is_multiple_of(2) { vec![0, top / 2, top] } else { vec![0, top] } {
                    line.grid x1=(LEFT) x2=(width) y1=(y(v)) y2=(y(v)) {}
                    text.axis x=(LEFT - 6) y=(y(v) + 4) text-anchor="end" { (v) }
                }
                @for (i, d) in days.iter().enumerate() {
                    @let x = LEFT + i * group + 1;
                    @let label = format!("{}: {} {}, {} {}", local_date(d.date), t(lang, "request_stats.chart.received"), d.received, t(lang, "request_stats.chart.done"), d.done);
                    g {
                        title { (label) }
                        rect.d-received x=(x) y=(y(d.received)) width=(bar) height=(TOP + H - y(d.received)) {}
                        rect.d-done x=(x + bar) y=(y(d.done)) width=(bar) height=(TOP + H - y(d.done)) {}
                    }
                    @if i % label_every == 0 {
                        text.axis x=(x + bar) y=(TOP + H + 16) text-anchor="middle" { (d.date.strftime("%d.%m")) }
                    }
                }
            }
        }
        p.legend aria-hidden="true" {
            span.nowrap { span.swatch.sw-received {} (t(lang, "request_stats.chart.received")) }
            span.nowrap { span.swatch.sw-done {} (t(lang, "request_stats.chart.done")) }
        }
        details.stats-days {
            summary { (t(lang, "request_stats.chart.table")) }
            div.table-wrap {
                table.data.stats-table {
                    thead { tr { th { (t(lang, "request_stats.col.day")) } th.num { (t(lang, "request_stats.col.received")) } th.num { (t(lang, "request_stats.col.done")) } } }
                    tbody {
                        @for d in days {
                            tr { td { (local_date(d.date)) } td.num { (d.received) } td.num { (d.done) } }
                        }
                    }
                }
            }
        }
    }
}

fn table(lang: Lang, first: &'static str, rows: &[Row]) -> Markup {
    let h = |k: &'static str| t(lang, k);
    if rows.is_empty() {
        return html! { p.empty { (h("request_stats.no_rows")) } };
    }
    html! {
        div.table-wrap {
            table.data.stack.stats-table {
                thead {
                    tr {
                        th { (h(first)) }
                        th.num { (h("request_stats.col.received")) }
                        th.num { (h("request_stats.col.done")) }
                        th.num { (h("request_stats.col.rejected")) }
                        th.num { (h("request_stats.col.open")) }
                        th.num { (h("request_stats.col.first_response")) }
                        th.num { (h("request_stats.col.resolution")) }
                        th.num { (h("request_stats.col.sla_met")) }
                        th.num { (h("request_stats.col.rating")) }
                    }
                }
                tbody {
                    @for r in rows {
                        @let f = &r.figures;
                        tr {
                            td {
                                (r.name)
                                @if !r.categories.is_empty() { br; small.muted { (r.categories.join(", ")) } }
                            }
                            td.num data-label=(h("request_stats.col.received")) { (f.received) }
                            td.num data-label=(h("request_stats.col.done")) { (f.done) }
                            td.num data-label=(h("request_stats.col.rejected")) { (f.rejected) }
                            td.num data-label=(h("request_stats.col.open")) { (f.open) }
                            td.num data-label=(h("request_stats.col.first_response")) { (duration(lang, f.median_first_response_secs)) }
                            td.num data-label=(h("request_stats.col.resolution")) { (duration(lang, f.median_resolution_secs)) }
                            td.num data-label=(h("request_stats.col.sla_met")) { (pct(lang, f.sla_met_pct)) }
                            td.num data-label=(h("request_stats.col.rating")) {
                                span.nowrap {
                                    (rating(lang, f.rating_avg))
                                    @if f.rating_count > 0 { " " small.muted { "(" (f.rating_count) ")" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn query_string(category: &str, from: &str, to: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("from", from).append_pair("to", to);
    if !category.is_empty() {
        s.append_pair("category_id", category);
    }
    s.finish()
}

/// `GET /c/<slug>/requests/stats`.
async fn stats_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    q: Result<Query<RequestStatsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let who = Caller::from(&user);
    if !can_view(&who) {
        return Err(ErrorKind::Forbidden.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let today = today(&state, &user);
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let cats = crate::requests::stats::categories(c.tenant().db()?)?;
    let result = match parse_range(q.category_id.as_deref(), q.from.as_deref(), q.to.as_deref(), today) {
        Ok(p) => run(c.tenant(), &who, lang, p).await,
        Err(e) => Err(e),
    };
    let (err, stats) = match result {
        Ok(s) => (None, Some(s)),
        Err(e) if e.kind == ErrorKind::Validation => (Some(FormError::new(lang, &e)), None),
        Err(e) => return Err(e),
    };
    let shown = |raw: &Option<String>, parsed: Option<Date>| match parsed {
        Some(d) => d.to_string(),
        None => raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).unwrap_or_else(|| today.to_string()),
    };
    let from_v = shown(&q.from, stats.as_ref().map(|s| s.from));
    let to_v = shown(&q.to, stats.as_ref().map(|s| s.to));
    let cat_v = q.category_id.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut options = vec![(String::new(), t(lang, "request_stats.all_categories").to_string())];
    for (id, cat) in &cats {
        if cat.active || cat_v == id.to_string() {
            options.push((id.to_string(), cat.names.get(lang).to_string()));
        }
    }
    let back = |days: i64| today.checked_sub(jiff::Span::new().days(days)).unwrap_or(today).to_string();
    let today_s = today.to_string();
    let presets =
        [("request_stats.period.today", today_s.clone()), ("request_stats.period.week", back(6)), ("request_stats.period.month", back(29))];
    let preset_on = |from: &str| to_v == today_s && from_v == from;
    let custom = !presets.iter().any(|(_, f)| preset_on(f));
    let title = t(lang, "request_stats.title");
    let csv_href = c.url(&format!("requests/stats.csv?{}", query_string(&cat_v, &from_v, &to_v)));
    let body = html! {
        div.page-head {
            h1 { (title) }
            @if stats.is_some() {
                a.button href=(csv_href) download { (t(lang, "request_stats.download_csv")) }
            }
        }
        nav.period-picker aria-label=(t(lang, "request_stats.period.label")) {
            @for (label, from) in &presets {
                @let on = preset_on(from);
                a.chip.on[on] href=(c.url(&format!("requests/stats?{}", query_string(&cat_v, from, &today_s)))) aria-current=[on.then_some("true")] { (t(lang, label)) }
            }
            @if custom { span.chip.on aria-current="true" { (t(lang, "request_stats.period.custom")) } }
        }
        form.filters.stats-filter method="get" action=(c.url("requests/stats")) {
            (form_alert(err.as_ref()))
            div.filter-grid {
                (select(t(lang, "request_stats.filter.category"), "category_id", &options, &cat_v, err.as_ref()))
                (Input::new(t(lang, "request_stats.filter.from"), "from").kind("date").value(&from_v).error(err.as_ref()))
                (Input::new(t(lang, "request_stats.filter.to"), "to").kind("date").value(&to_v).error(err.as_ref()))
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "request_stats.filter.show")) }
            }
        }
        @if let Some(s) = &stats {
            p.muted.stats-period {
                @if s.from == s.to { (local_date(s.from)) } @else { (local_date(s.from)) " — " (local_date(s.to)) }
            }
            @if s.truncated {
                p.notice.warn { (tf(lang, "request_stats.truncated", &[("n", &MAX_SCANNED.to_string())])) }
            }
            @if s.total.received == 0 {
                p.empty { (t(lang, "request_stats.empty")) }
            } @else {
                (cards(lang, &s.total))
                section.card.chart-card {
                    h2 { (t(lang, "request_stats.chart.title")) }
                    (day_chart(lang, &s.days))
                }
            }
            h2 { (t(lang, "request_stats.by_category")) }
            (table(lang, "request_stats.col.category", &s.categories))
            h2 { (t(lang, "request_stats.by_employee")) }
            (table(lang, "request_stats.col.employee", &s.employees))
            h2 { (t(lang, "request_stats.by_team")) }
            (table(lang, "request_stats.col.team", &s.teams))
            details.stats-help {
                summary { (t(lang, "request_stats.help.title")) }
                ul {
                    li { (t(lang, "request_stats.help.scope")) }
                    li { (t(lang, "request_stats.help.times")) }
                    li { (t(lang, "request_stats.help.sla")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::Other, None, body).into_response())
}
