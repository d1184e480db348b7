//! The queue stats over HTTP: the JSON and CSV API and the stats page with
//! its charts (inline SVG, drawn here). The figures are `queue::stats`.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf, tn};
use crate::queue::stats::{Figures, OperatorStats, ServiceStats, Stats, can_view, csv, num, parse_range, run, today};
use crate::store::schema::BranchV2;
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::{FormError, Input, form_alert, select};
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

/// The stats page (nested under `/c/{slug}/`).
pub fn router() -> Router<AppState> {
    Router::new().route("/queue/stats", get(stats_page))
}

/// The stats' JSON and CSV (nested under `/c/{slug}/`).
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api_stats)).routes(routes!(api_csv))
}

/// The stats' filter.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// A branch id; every branch when left out or empty.
    pub branch_id: Option<String>,
    /// The first local day, `YYYY-MM-DD`; today when left out.
    pub from: Option<String>,
    /// The last local day, `YYYY-MM-DD`, included; today when left out. At most 366 days from `from`.
    pub to: Option<String>,
}

fn query(q: Result<Query<StatsQuery>, QueryRejection>) -> Result<StatsQuery, AppError> {
    q.map(|Query(q)| q)
        .map_err(|e| AppError::new(ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.body_text()))
}

fn range(state: &AppState, user: &CurrentUser, q: &StatsQuery) -> Result<crate::queue::stats::Range, AppError> {
    parse_range(q.branch_id.as_deref(), q.from.as_deref(), q.to.as_deref(), today(state, &user.tenant.timezone()))
}

// ---------- API ----------

/// Queue stats of a range of local days (default today), at one branch or
/// all: waits, service times, service level, no-shows, cancellations,
/// arrivals by weekday and hour, operator time and the estimate's error.
/// For queue managers and those who see every report.
#[utoipa::path(get, path = "/api/v1/queue-stats", tag = "queue", params(("slug" = String, Path), StatsQuery),
    responses((status = 200, body = Stats), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn api_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<axum::Json<Stats>, AppError> {
    let p = range(&state, &user, &query(q)?)?;
    Ok(axum::Json(run(&state, &user, &p).await?))
}

/// The same stats as CSV for a spreadsheet: a header row, the total, one
/// row per service and one per operator. UTF-8 with a BOM; in Uzbek and
/// Russian the separator is `;` and the decimal mark `,` (what Excel
/// expects there), in English `,` and `.`.
#[utoipa::path(get, path = "/api/v1/queue-stats.csv", tag = "queue", params(("slug" = String, Path), StatsQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn api_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let p = range(&state, &user, &query(q)?)?;
    let stats = run(&state, &user, &p).await?;
    let body = csv(user.lang, &stats);
    let name = format!("queue-stats-{}-{}.csv", stats.from, stats.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

// ---------- the page ----------

/// "7,5 daq".
fn minutes_text(lang: Lang, secs: u64) -> String {
    tf(lang, "stats.unit.min", &[("n", &num(lang, secs as f64 / 60.0))])
}

/// "3 soat 20 daq" / "3 soat" / "20 daq".
fn duration_text(lang: Lang, secs: u64) -> String {
    let m = (secs + 30) / 60;
    if m >= 60 && m.is_multiple_of(60) {
        tf(lang, "stats.unit.h", &[("h", &(m / 60).to_string())])
    } else if m >= 60 {
        tf(lang, "stats.unit.h_min", &[("h", &(m / 60).to_string()), ("m", &(m % 60).to_string())])
    } else {
        tf(lang, "stats.unit.min", &[("n", &m.to_string())])
    }
}

fn pct_text(lang: Lang, v: f64) -> String {
    format!("{}%", num(lang, v))
}

const DASH: &str = "—";

fn opt_min(lang: Lang, v: Option<u64>) -> String {
    v.map(|s| minutes_text(lang, s)).unwrap_or_else(|| DASH.to_string())
}

fn opt_pct(lang: Lang, v: Option<f64>) -> String {
    v.map(|p| pct_text(lang, p)).unwrap_or_else(|| DASH.to_string())
}

pub(super) fn figure_card(label: &str, value: String, sub: Option<String>, tone: Option<&'static str>) -> Markup {
    let class = match tone {
        Some(t) => format!("stat-card {t}"),
        None => "stat-card".to_string(),
    };
    html! {
        div class=(class) {
            span.stat-label { (label) }
            strong.stat-value { (value) }
            @if let Some(s) = sub {
                span.stat-sub { (s) }
            }
        }
    }
}

fn cards(lang: Lang, f: &Figures) -> Markup {
    let level_tone = f.service_level_pct.map(|p| {
        if p >= 80.0 {
            "good"
        } else if p >= 60.0 {
            "fair"
        } else {
            "poor"
        }
    });
    html! {
        div.stat-cards {
            (figure_card(t(lang, "stats.card.issued"), f.issued.to_string(),
                Some(tf(lang, "stats.card.issued_sub", &[("called", &f.called.to_string()), ("served", &f.served.to_string())])), None))
            (figure_card(t(lang, "stats.card.avg_wait"), opt_min(lang, f.avg_wait_secs), Some(t(lang, "stats.card.avg_wait_sub").to_string()), None))
            (figure_card(t(lang, "stats.card.p90_wait"), opt_min(lang, f.p90_wait_secs), Some(t(lang, "stats.card.p90_sub").to_string()), None))
            (figure_card(t(lang, "stats.card.avg_service"), opt_min(lang, f.avg_service_secs), None, None))
            (figure_card(t(lang, "stats.card.service_level"), opt_pct(lang, f.service_level_pct),
                (f.called > 0).then(|| tf(lang, "stats.card.service_level_sub",
                    &[("n", &f.within_target.to_string()), ("of", &f.called.to_string())])), level_tone))
            (figure_card(t(lang, "stats.card.no_show"), opt_pct(lang, f.no_show_pct),
                (f.called > 0).then(|| tf(lang, "stats.card.no_show_sub", &[("n", &f.no_shows.to_string()), ("of", &f.called.to_string())])), None))
            (figure_card(t(lang, "stats.card.cancelled"), f.cancelled_before_call.to_string(),
                Some(tf(lang, "stats.card.expired_sub", &[("n", &f.expired.to_string())])), None))
            (figure_card(t(lang, "stats.card.estimate"),
                f.estimate.mae_minutes.map(|m| format!("±{}", tf(lang, "stats.unit.min", &[("n", &num(lang, m))]))).unwrap_or_else(|| DASH.to_string()),
                f.estimate.within_range_pct.map(|p| tn(lang, "stats.card.estimate_sub", u64::from(f.estimate.samples),
                    &[("pct", &pct_text(lang, p))])), None))
        }
    }
}

/// Arrivals by weekday and hour: a grid of squares, darker for more.
fn heatmap(lang: Lang, arrivals: &[Vec<u32>]) -> Markup {
    const CW: usize = 30;
    const CH: usize = 24;
    const GAP: usize = 3;
    const LEFT: usize = 30;
    const TOP: usize = 18;
    let max = arrivals.iter().flatten().copied().max().unwrap_or(0);
    // Office hours at least, widened to every hour with an arrival.
    let (mut lo, mut hi) = (9usize, 18usize);
    for row in arrivals {
        for (h, n) in row.iter().enumerate() {
            if *n > 0 {
                lo = lo.min(h);
                hi = hi.max(h + 1);
            }
        }
    }
    let width = LEFT + (hi - lo) * (CW + GAP);
    let height = TOP + 7 * (CH + GAP);
    let busiest = arrivals
        .iter()
        .enumerate()
        .flat_map(|(d, row)| row.iter().enumerate().map(move |(h, n)| (*n, d, h)))
        .filter(|(n, _, _)| *n > 0)
        .max_by_key(|(n, d, h)| (*n, std::cmp::Reverse((*d, *h))));
    html! {
        div.chart-scroll {
            svg.heatmap viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) role="img" aria-labelledby="hm-title hm-desc" {
                title #hm-title { (t(lang, "stats.chart.arrivals")) }
                desc #hm-desc {
                    @if let Some((n, d, h)) = busiest {
                        (tn(lang, "stats.chart.busiest", u64::from(n), &[("day", crate::i18n::weekday_short(lang, d)), ("hour", &format!("{h:02}:00"))]))
                    }
                }
                @for h in lo..hi {
                    text.hm-hour x=(LEFT + (h - lo) * (CW + GAP) + CW / 2) y="12" text-anchor="middle" { (format!("{h:02}")) }
                }
                @for (d, row) in arrivals.iter().enumerate() {
                    @let y = TOP + d * (CH + GAP);
                    text.hm-day x="0" y=(y + CH / 2 + 4) { (crate::i18n::weekday_short(lang, d)) }
                    @for h in lo..hi {
                        @let n = row.get(h).copied().unwrap_or(0);
                        @let x = LEFT + (h - lo) * (CW + GAP);
                        @let level = if max == 0 { 0.0 } else { f64::from(n) / f64::from(max) };
                        @if n == 0 {
                            rect.hm-zero x=(x) y=(y) width=(CW) height=(CH) rx="3" {
                                title { (crate::i18n::weekday_short(lang, d)) " " (format!("{h:02}:00")) ": 0" }
                            }
                        } @else {
                            rect.hm-cell x=(x) y=(y) width=(CW) height=(CH) rx="3" fill-opacity=(format!("{:.2}", 0.15 + 0.85 * level)) {
                                title { (crate::i18n::weekday_short(lang, d)) " " (format!("{h:02}:00")) ": " (n) }
                            }
                            text.hm-num.on[level > 0.5] x=(x + CW / 2) y=(y + CH / 2 + 4) text-anchor="middle" { (n) }
                        }
                    }
                }
            }
        }
        p.chart-note.muted { (t(lang, "stats.chart.arrivals_note")) }
    }
}

/// Average wait of each service as a bar, its target as a line across it.
fn wait_bars(lang: Lang, services: &[ServiceStats]) -> Markup {
    let scale =
        services.iter().map(|s| s.figures.avg_wait_secs.unwrap_or(0).max(u64::from(s.target_wait_minutes) * 60)).max().unwrap_or(0).max(60)
            as f64
            * 1.15;
    let x = |secs: u64| (secs as f64 / scale * 1000.0).round();
    html! {
        ul.bars {
            @for s in services {
                @let target = u64::from(s.target_wait_minutes) * 60;
                @let over = s.figures.avg_wait_secs.is_some_and(|w| w > target);
                li {
                    div.bar-label {
                        span.bar-name { (s.name) }
                        span.bar-value {
                            (opt_min(lang, s.figures.avg_wait_secs))
                            span.muted { " · " (tf(lang, "stats.chart.target", &[("value", &minutes_text(lang, target))])) }
                        }
                    }
                    svg.bar viewBox="0 0 1000 20" preserveAspectRatio="none" aria-hidden="true" {
                        rect.bar-track x="0" y="4" width="1000" height="12" {}
                        @if let Some(w) = s.figures.avg_wait_secs {
                            rect class=(if over { "bar-fill over" } else { "bar-fill" }) x="0" y="4" width=(x(w)) height="12" {}
                        }
                        line.bar-target x1=(x(target)) x2=(x(target)) y1="0" y2="20" vector-effect="non-scaling-stroke" {}
                    }
                }
            }
        }
        p.legend {
            span.nowrap { span.swatch.sw-wait {} (t(lang, "stats.chart.legend_wait")) }
            span.nowrap { span.swatch.sw-over {} (t(lang, "stats.chart.legend_over")) }
            span.nowrap { span.swatch.sw-target {} (t(lang, "stats.chart.legend_target")) }
        }
    }
}

/// Each operator's serving, idle and break time as one stacked bar.
fn operator_bars(lang: Lang, ops: &[OperatorStats]) -> Markup {
    let scale = ops.iter().map(|o| o.serving_secs + o.idle_secs + o.break_secs).max().unwrap_or(0).max(60) as f64;
    let w = |secs: u64| (secs as f64 / scale * 1000.0).round();
    html! {
        ul.bars {
            @for o in ops {
                li {
                    div.bar-label {
                        span.bar-name { (o.name) }
                        span.bar-value.muted {
                            (t(lang, "stats.op.serving")) " " (duration_text(lang, o.serving_secs)) " · "
                            (t(lang, "stats.op.idle")) " " (duration_text(lang, o.idle_secs)) " · "
                            (t(lang, "stats.op.on_break")) " " (duration_text(lang, o.break_secs))
                        }
                    }
                    svg.bar viewBox="0 0 1000 20" preserveAspectRatio="none" aria-hidden="true" {
                        rect.bar-track x="0" y="4" width="1000" height="12" {}
                        rect.seg-serving x="0" y="4" width=(w(o.serving_secs)) height="12" {}
                        rect.seg-idle x=(w(o.serving_secs)) y="4" width=(w(o.idle_secs)) height="12" {}
                        rect.seg-break x=(w(o.serving_secs) + w(o.idle_secs)) y="4" width=(w(o.break_secs)) height="12" {}
                    }
                }
            }
        }
        p.legend {
            span.nowrap { span.swatch.sw-serving {} (t(lang, "stats.op.serving")) }
            span.nowrap { span.swatch.sw-idle {} (t(lang, "stats.op.idle")) }
            span.nowrap { span.swatch.sw-break {} (t(lang, "stats.op.on_break")) }
        }
    }
}

fn service_table(lang: Lang, services: &[ServiceStats]) -> Markup {
    let h = |k: &'static str| t(lang, k);
    html! {
        div.table-wrap {
            table.data.stack.stats-table {
                thead {
                    tr {
                        th { (h("stats.col.service")) }
                        th.num { (h("stats.col.issued")) }
                        th.num { (h("stats.col.called")) }
                        th.num { (h("stats.col.avg_wait")) }
                        th.num { (h("stats.col.p90_wait")) }
                        th.num { (h("stats.col.avg_service")) }
                        th.num { (h("stats.col.service_level")) }
                        th.num { (h("stats.col.no_shows")) }
                        th.num { (h("stats.col.cancelled")) }
                        th.num { (h("stats.col.expired")) }
                    }
                }
                tbody {
                    @for s in services {
                        @let f = &s.figures;
                        tr {
                            td { (s.name) br; small.muted { (tf(lang, "stats.chart.target", &[("value", &minutes_text(lang, u64::from(s.target_wait_minutes) * 60))])) } }
                            td.num data-label=(h("stats.col.issued")) { (f.issued) }
                            td.num data-label=(h("stats.col.called")) { (f.called) }
                            td.num data-label=(h("stats.col.avg_wait")) { (opt_min(lang, f.avg_wait_secs)) }
                            td.num data-label=(h("stats.col.p90_wait")) { (opt_min(lang, f.p90_wait_secs)) }
                            td.num data-label=(h("stats.col.avg_service")) { (opt_min(lang, f.avg_service_secs)) }
                            td.num data-label=(h("stats.col.service_level")) { (opt_pct(lang, f.service_level_pct)) }
                            td.num data-label=(h("stats.col.no_shows")) { (f.no_shows) }
                            td.num data-label=(h("stats.col.cancelled")) { (f.cancelled_before_call) }
                            td.num data-label=(h("stats.col.expired")) { (f.expired) }
                        }
                    }
                }
            }
        }
    }
}

fn operator_table(lang: Lang, ops: &[OperatorStats]) -> Markup {
    let h = |k: &'static str| t(lang, k);
    html! {
        div.table-wrap {
            table.data.stack.stats-table {
                thead {
                    tr {
                        th { (h("stats.col.operator")) }
                        th.num { (h("stats.col.called")) }
                        th.num { (h("stats.col.served")) }
                        th.num { (h("stats.col.no_shows")) }
                        th.num { (h("stats.col.avg_service")) }
                        th.num { (h("stats.op.serving")) }
                        th.num { (h("stats.op.idle")) }
                        th.num { (h("stats.op.on_break")) }
                    }
                }
                tbody {
                    @for o in ops {
                        tr {
                            td { (o.name) }
                            td.num data-label=(h("stats.col.called")) { (o.called) }
                            td.num data-label=(h("stats.col.served")) { (o.served) }
                            td.num data-label=(h("stats.col.no_shows")) { (o.no_shows) }
                            td.num data-label=(h("stats.col.avg_service")) { (opt_min(lang, o.avg_service_secs)) }
                            td.num data-label=(h("stats.op.serving")) { (duration_text(lang, o.serving_secs)) }
                            td.num data-label=(h("stats.op.idle")) { (duration_text(lang, o.idle_secs)) }
                            td.num data-label=(h("stats.op.on_break")) { (duration_text(lang, o.break_secs)) }
                        }
                    }
                }
            }
        }
    }
}

fn query_string(branch: &str, from: &str, to: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("branch_id", branch)
        .append_pair("from", from)
        .append_pair("to", to)
        .finish()
}

/// `GET /c/<slug>/queue/stats`: the filter, the figures, the charts and the tables.
async fn stats_page(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    q: Result<Query<StatsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    if !can_view(&user) {
        return Err(ErrorKind::Forbidden.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let today = today(&state, &tz);
    let branches: Vec<(u64, BranchV2)> = crate::org::service::list_branches(c.tenant().db()?)?;
    let result = match parse_range(q.branch_id.as_deref(), q.from.as_deref(), q.to.as_deref(), today) {
        Ok(p) => run(&state, &c.user, &p).await.map(|s| (p, s)),
        Err(e) => Err(e),
    };
    // A bad filter is shown next to the form, as every form here does
    // (an error status would be replaced by the error page).
    let (err, stats) = match result {
        Ok((_, s)) => (None, Some(s)),
        Err(e) if e.kind == ErrorKind::Validation => (Some(FormError::new(lang, &e)), None),
        Err(e) => return Err(e),
    };
    // What the form shows: the parsed values, else what was typed.
    let shown = |raw: &Option<String>, parsed: Option<Date>| match parsed {
        Some(d) => d.to_string(),
        None => raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).unwrap_or_else(|| today.to_string()),
    };
    let from_v = shown(&q.from, stats.as_ref().map(|s| s.from));
    let to_v = shown(&q.to, stats.as_ref().map(|s| s.to));
    let branch_v = q.branch_id.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut options = vec![(String::new(), t(lang, "stats.all_branches").to_string())];
    for (id, b) in &branches {
        if b.active || branch_v == id.to_string() {
            options.push((id.to_string(), crate::org::service::branch_name(b, lang).to_string()));
        }
    }
    let title = t(lang, "stats.title");
    let csv_href = c.url(&format!("api/v1/queue-stats.csv?{}", query_string(&branch_v, &from_v, &to_v)));
    let branch_name = stats.as_ref().and_then(|s| s.branch_name.clone()).unwrap_or_else(|| t(lang, "stats.all_branches").to_string());
    let body = html! {
        (crate::web::pages::queue_staff::queue_subnav(&c, Section::QueueStats))
        div.page-head {
            h1 { (title) }
            @if stats.is_some() {
                a.button href=(csv_href) download { (t(lang, "stats.download_csv")) }
            }
        }
        form.filters.stats-filter method="get" action=(c.url("queue/stats")) {
            (form_alert(err.as_ref()))
            div.filter-grid {
                (select(t(lang, "stats.filter.branch"), "branch_id", &options, &branch_v, err.as_ref()))
                (Input::new(t(lang, "stats.filter.from"), "from").kind("date").value(&from_v).error(err.as_ref()))
                (Input::new(t(lang, "stats.filter.to"), "to").kind("date").value(&to_v).error(err.as_ref()))
            }
            div.filter-actions {
                button.primary type="submit" { (t(lang, "stats.filter.show")) }
                a.button href=(c.url("queue/stats")) { (t(lang, "stats.filter.today")) }
            }
        }
        @if let Some(s) = &stats {
            p.muted.stats-period {
                (branch_name) " · "
                @if s.from == s.to { (crate::web::layout::local_date(s.from)) } @else { (crate::web::layout::local_date(s.from)) " — " (crate::web::layout::local_date(s.to)) }
            }
            @if s.overall.issued == 0 && s.overall.called == 0 {
                p.empty { (t(lang, "stats.empty")) }
            } @else {
                (cards(lang, &s.overall))
                div.stats-charts {
                    section.card.chart-card {
                        h2 { (t(lang, "stats.chart.arrivals")) }
                        (heatmap(lang, &s.arrivals))
                    }
                    section.card.chart-card {
                        h2 { (t(lang, "stats.chart.waits")) }
                        (wait_bars(lang, &s.services))
                    }
                }
            }
            h2 { (t(lang, "stats.by_service")) }
            (service_table(lang, &s.services))
            h2 { (t(lang, "stats.by_operator")) }
            @if s.operators.iter().all(|o| o.called == 0 && o.break_secs == 0) {
                p.empty { (t(lang, "stats.no_operators")) }
            } @else {
                section.card.chart-card {
                    h3 { (t(lang, "stats.chart.operators")) }
                    (operator_bars(lang, &s.operators))
                }
                (operator_table(lang, &s.operators))
            }
            details.stats-help {
                summary { (t(lang, "stats.help.title")) }
                ul {
                    li { (t(lang, "stats.help.wait")) }
                    li { (t(lang, "stats.help.service_level")) }
                    li { (t(lang, "stats.help.estimate")) }
                    li { (t(lang, "stats.help.operators")) }
                }
            }
        }
    };
    Ok(c.render(title, Section::QueueStats, None, body).into_response())
}
