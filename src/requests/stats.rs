//! Request statistics over a range of local days (company time zone), for
//! every category or one: per category, per employee (the assignee), per
//! team (the categories worked by the same people), and by day. The CSV
//! export lives here too; the page with its chart and the API are in
//! `web::pages::request_stats`.
//!
//! # Which requests count
//!
//! The requests filed on the chosen local days. Ids grow with time, so they
//! are read newest first from the top of the table until one filed before
//! the range; at most [`MAX_SCANNED`] are read (`truncated` then says so).
//!
//! # Definitions
//!
//! * **received**: requests filed in the range.
//! * **done**, **rejected**: of those, done (rejected) now; **open**: the rest.
//! * **first response**: from filing to the first public reply, wall-clock;
//!   the median over requests that had one (the lower middle of an even count).
//! * **resolution**: from filing to done, wall-clock; the median over done requests.
//! * **SLA met**: over requests with a target that are finished or marked
//!   breached: those that met every target (no breach mark, the first
//!   public reply — or the end — by the first response's due time, done or
//!   rejected by the resolution's), in percent with one decimal.
//! * **rating**: the average of the clients' ratings (1–5) and how many rated.
//! * **by day**: received on each day, and done on each day (by the day it
//!   was done, of the requests counted above).
//!
//! Durations are whole seconds; a figure with nothing to count is `null`.

use super::is_final;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t};
use crate::reports::export::csv_field;
use crate::reports::{Cell, Chart, ChartKind, Ctx, Kind, Report, Series, Table};
use crate::store::Db;
use crate::store::schema::{REQUEST_CATEGORIES, REQUESTS, RequestStatus, RequestV1, USERS};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The longest range of days at once.
pub const MAX_DAYS: i32 = 366;
/// Most requests one computation reads.
pub const MAX_SCANNED: usize = 200_000;

/// Who may see request statistics: dispatchers and those who see every report.
pub fn can_view(who: &Caller) -> bool {
    who.dispatches_requests() || who.can("reports.view_all")
}

/// The figures of a set of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = RequestStatsFigures)]
pub struct Figures {
    pub received: u32,
    pub done: u32,
    pub rejected: u32,
    /// Neither done nor rejected.
    pub open: u32,
    /// Median time to the first public reply, in seconds.
    pub median_first_response_secs: Option<u64>,
    /// Median time from filing to done, in seconds.
    pub median_resolution_secs: Option<u64>,
    /// Requests with a target that are finished or marked breached.
    pub sla_counted: u32,
    /// Of those, the ones that met every target.
    pub sla_met: u32,
    /// `sla_met / sla_counted`, in percent.
    pub sla_met_pct: Option<f64>,
    /// Average rating (1–5), two decimals.
    pub rating_avg: Option<f64>,
    pub rating_count: u32,
}

/// One category's, employee's or team's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = RequestStatsRow)]
pub struct Row {
    /// The category's or the employee's id; a team's first category's.
    pub id: u64,
    /// In the reader's language; a team: its members' names.
    pub name: String,
    /// A team's categories, in the reader's language (empty otherwise).
    pub categories: Vec<String>,
    pub figures: Figures,
}

/// One local day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = RequestStatsDay)]
pub struct Day {
    #[schema(value_type = String, example = "2026-11-25")]
    pub date: Date,
    pub received: u32,
    pub done: u32,
}

/// Request statistics of a range of local days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = RequestStats)]
pub struct Stats {
    /// The first local day, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-11-25")]
    pub from: Date,
    /// The last local day (included), `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-11-25")]
    pub to: Date,
    pub category_id: Option<u64>,
    pub total: Figures,
    pub categories: Vec<Row>,
    /// By assignee; requests nobody has are in no row.
    pub employees: Vec<Row>,
    pub teams: Vec<Row>,
    /// Every day of the range, oldest first.
    pub days: Vec<Day>,
    /// More requests were filed than one computation reads ([`MAX_SCANNED`]):
    /// the figures cover the newest of them.
    pub truncated: bool,
}

fn pct(n: u32, of: u32) -> Option<f64> {
    (of > 0).then(|| (f64::from(n) * 1000.0 / f64::from(of)).round() / 10.0)
}

/// The median of values (the lower middle of an even count).
pub fn median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    v.get((v.len() - 1) / 2).copied()
}

#[derive(Default)]
struct Acc {
    f: Figures,
    first: Vec<i64>,
    resolution: Vec<i64>,
    ratings: Vec<u8>,
}

/// Whether a request met its targets; `None` when it does not count
/// (no target, or still open and not marked breached).
pub fn sla_met(r: &RequestV1) -> Option<bool> {
    let breached = r.first_response_breached || r.resolution_breached;
    if r.first_response_due.is_none() && r.resolution_due.is_none() || !(is_final(r.status) || breached) {
        return None;
    }
    if breached {
        return Some(false);
    }
    let first_ok = r.first_response_due.is_none_or(|d| r.first_response_at.or(r.resolved_at).is_some_and(|at| at <= d));
    let resolution_ok = r.resolution_due.is_none_or(|d| r.resolved_at.is_some_and(|at| at <= d));
    Some(first_ok && resolution_ok)
}

impl Acc {
    fn add(&mut self, r: &RequestV1) {
        self.f.received += 1;
        match r.status {
            RequestStatus::Done => self.f.done += 1,
            RequestStatus::Rejected => self.f.rejected += 1,
            _ => self.f.open += 1,
        }
        if let Some(at) = r.first_response_at {
            self.first.push((at - r.created_at).max(0));
        }
        if r.status == RequestStatus::Done
            && let Some(at) = r.resolved_at
        {
            self.resolution.push((at - r.created_at).max(0));
        }
        if let Some(met) = sla_met(r) {
            self.f.sla_counted += 1;
            self.f.sla_met += u32::from(met);
        }
        if let Some(v) = r.rating {
            self.ratings.push(v);
        }
    }

    fn figures(mut self) -> Figures {
        let secs = |ms: i64| ((ms as f64) / 1000.0).round().max(0.0) as u64;
        self.f.median_first_response_secs = median(&mut self.first).map(secs);
        self.f.median_resolution_secs = median(&mut self.resolution).map(secs);
        self.f.sla_met_pct = pct(self.f.sla_met, self.f.sla_counted);
        self.f.rating_count = self.ratings.len() as u32;
        self.f.rating_avg = (!self.ratings.is_empty())
            .then(|| (self.ratings.iter().map(|v| f64::from(*v)).sum::<f64>() / self.ratings.len() as f64 * 100.0).round() / 100.0);
        self.f
    }
}

fn day_start(d: Date, tz: &TimeZone, field: &'static str) -> Result<i64, AppError> {
    d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).map_err(|_| AppError::invalid(field, "validation.date"))
}

/// Checks a range of days: `from ≤ to`, at most [`MAX_DAYS`] days.
pub fn check_range(from: Date, to: Date) -> Result<(), AppError> {
    crate::queue::stats::check_range(from, to)
}

/// Computes the statistics of the local days `from..=to` (one category or all).
pub fn compute(db: &Db, tz: &TimeZone, lang: Lang, category_id: Option<u64>, from: Date, to: Date) -> Result<Stats, AppError> {
    check_range(from, to)?;
    let start = day_start(from, tz, "from")?;
    let end = day_start(to.tomorrow().map_err(|_| AppError::invalid("to", "validation.date"))?, tz, "to")?;
    let tx = db.read()?;
    let cats = REQUEST_CATEGORIES.open(&tx)?.all()?;
    if let Some(c) = category_id
        && !cats.iter().any(|(id, _)| *id == c)
    {
        return Err(AppError::invalid("category_id", "validation.request_category"));
    }
    let mut total = Acc::default();
    let mut per_cat: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut per_user: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut per_team: BTreeMap<Vec<u64>, Acc> = BTreeMap::new();
    let team_of: BTreeMap<u64, Vec<u64>> = cats
        .iter()
        .map(|(id, c)| {
            let mut team = c.team.clone();
            team.sort_unstable();
            team.dedup();
            (*id, team)
        })
        .collect();
    let n_days = usize::try_from((to - from).get_days() + 1).unwrap_or(0);
    let mut received = vec![0u32; n_days];
    let mut done = vec![0u32; n_days];
    let day_index = |ms: i64| -> Option<usize> {
        let d = crate::clock::from_ms(ms).to_zoned(tz.clone()).date();
        usize::try_from((d - from).get_days()).ok().filter(|i| *i < n_days)
    };
    let table = REQUESTS.open(&tx)?;
    let mut truncated = false;
    for (scanned, row) in table.iter()?.rev().enumerate() {
        if scanned >= MAX_SCANNED {
            truncated = true;
            break;
        }
        let (_, r) = row?;
        if r.created_at < start {
            break;
        }
        if r.created_at >= end || category_id.is_some_and(|c| c != r.category_id) {
            continue;
        }
        total.add(&r);
        per_cat.entry(r.category_id).or_default().add(&r);
        if let Some(a) = r.assignee_id {
            per_user.entry(a).or_default().add(&r);
        }
        if let Some(team) = team_of.get(&r.category_id).filter(|t| !t.is_empty()) {
            per_team.entry(team.clone()).or_default().add(&r);
        }
        if let Some(cell) = day_index(r.created_at).and_then(|i| received.get_mut(i)) {
            *cell += 1;
        }
        if r.status == RequestStatus::Done
            && let Some(cell) = r.resolved_at.and_then(day_index).and_then(|i| done.get_mut(i))
        {
            *cell += 1;
        }
    }

    let cat_name = |id: u64| -> String {
        cats.iter().find(|(c, _)| *c == id).map(|(_, c)| c.names.get(lang).to_string()).unwrap_or_else(|| format!("#{id}"))
    };
    // Every category with requests, and every active one (of the filter).
    let mut categories = Vec::new();
    for (id, c) in &cats {
        let acc = per_cat.remove(id);
        if acc.is_none() && (!c.active || category_id.is_some_and(|f| f != *id)) {
            continue;
        }
        categories.push((c.sort, Row { id: *id, name: cat_name(*id), categories: Vec::new(), figures: acc.unwrap_or_default().figures() }));
    }
    categories.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name.to_lowercase().cmp(&b.1.name.to_lowercase())));
    let categories: Vec<Row> = categories.into_iter().map(|(_, r)| r).collect();

    let users = USERS.open(&tx)?;
    let user_name = |id: u64| -> Result<String, AppError> {
        Ok(match users.get(id)? {
            Some(a) if !a.full_name.is_empty() => a.full_name,
            Some(a) => a.username,
            None => format!("#{id}"),
        })
    };
    let mut employees = Vec::new();
    for (id, acc) in per_user {
        employees.push(Row { id, name: user_name(id)?, categories: Vec::new(), figures: acc.figures() });
    }
    employees.sort_by(|a, b| b.figures.received.cmp(&a.figures.received).then(a.name.to_lowercase().cmp(&b.name.to_lowercase())));

    let mut teams = Vec::new();
    for (members, acc) in per_team {
        let of: Vec<u64> = team_of.iter().filter(|(_, t)| **t == members).map(|(c, _)| *c).collect();
        let names: Vec<String> = members.iter().map(|u| user_name(*u)).collect::<Result<_, _>>()?;
        teams.push(Row {
            id: of.first().copied().unwrap_or(0),
            name: names.join(", "),
            categories: of.iter().map(|c| cat_name(*c)).collect(),
            figures: acc.figures(),
        });
    }
    teams.sort_by(|a, b| b.figures.received.cmp(&a.figures.received).then(a.id.cmp(&b.id)));

    let mut days = Vec::with_capacity(n_days);
    let mut d = from;
    for i in 0..n_days {
        days.push(Day { date: d, received: received.get(i).copied().unwrap_or(0), done: done.get(i).copied().unwrap_or(0) });
        d = d.tomorrow().unwrap_or(d);
    }
    Ok(Stats { from, to, category_id, total: total.figures(), categories, employees, teams, days, truncated })
}

/// The categories the filter offers, in their order.
pub fn categories(db: &Db) -> Result<Vec<(u64, crate::store::schema::RequestCategoryV1)>, AppError> {
    let tx = db.read()?;
    let mut all = REQUEST_CATEGORIES.open(&tx)?.all()?;
    all.sort_by_key(|(id, c)| (c.sort, *id));
    Ok(all)
}

/// The days and the category the statistics cover.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub category_id: Option<u64>,
    pub from: Date,
    pub to: Date,
}

/// Reads a filter as typed: two local days `YYYY-MM-DD` (today when empty)
/// and a category id (every category when empty).
pub fn parse_range(category_id: Option<&str>, from: Option<&str>, to: Option<&str>, today: Date) -> Result<Range, AppError> {
    let category_id = match category_id.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| AppError::invalid("category_id", "validation.request_category"))?),
    };
    let day = |raw: Option<&str>, field: &'static str| -> Result<Date, AppError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(today),
            Some(s) => s
                .parse::<Date>()
                .ok()
                .filter(|d| (2000..=2200).contains(&d.year()))
                .ok_or_else(|| AppError::invalid(field, "validation.date")),
        }
    };
    let from = day(from, "from")?;
    let to = day(to, "to")?;
    check_range(from, to)?;
    Ok(Range { category_id, from, to })
}

/// The statistics `who` may see, in `lang`; computed off the async runtime.
pub async fn run(tenant: &crate::tenancy::Tenant, who: &Caller, lang: Lang, p: Range) -> Result<Stats, AppError> {
    if !can_view(who) {
        return Err(ErrorKind::Forbidden.into());
    }
    let tenant = tenant.clone();
    tokio::task::spawn_blocking(move || compute(tenant.db()?, &tenant.timezone(), lang, p.category_id, p.from, p.to))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("request stats task: {e}")))?
}

/// The CSV file: BOM, header, the total, then the categories, employees,
/// teams and days. In Uzbek and Russian `;` and a decimal comma (what Excel
/// expects there), in English `,` and a point.
pub fn csv(lang: Lang, s: &Stats) -> String {
    use crate::queue::stats::num;
    let sep = if lang == Lang::En { ',' } else { ';' };
    let mins = |secs: Option<u64>| secs.map(|v| num(lang, v as f64 / 60.0)).unwrap_or_default();
    let dec = |v: Option<f64>| v.map(|v| crate::queue::stats::num2(lang, v)).unwrap_or_default();
    let header = [
        "request_stats.csv.kind",
        "request_stats.csv.name",
        "request_stats.csv.received",
        "request_stats.csv.done",
        "request_stats.csv.rejected",
        "request_stats.csv.open",
        "request_stats.csv.first_response",
        "request_stats.csv.resolution",
        "request_stats.csv.sla_met",
        "request_stats.csv.rating",
        "request_stats.csv.ratings",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| t(lang, h).to_string()).collect()];
    let row = |kind: &str, name: &str, f: &Figures| -> Vec<String> {
        vec![
            kind.to_string(),
            name.to_string(),
            f.received.to_string(),
            f.done.to_string(),
            f.rejected.to_string(),
            f.open.to_string(),
            mins(f.median_first_response_secs),
            mins(f.median_resolution_secs),
            f.sla_met_pct.map(|v| num(lang, v)).unwrap_or_default(),
            dec(f.rating_avg),
            f.rating_count.to_string(),
        ]
    };
    rows.push(row(t(lang, "request_stats.csv.total"), "", &s.total));
    for r in &s.categories {
        rows.push(row(t(lang, "request_stats.csv.category"), &r.name, &r.figures));
    }
    for r in &s.employees {
        rows.push(row(t(lang, "request_stats.csv.employee"), &r.name, &r.figures));
    }
    for r in &s.teams {
        rows.push(row(t(lang, "request_stats.csv.team"), &r.name, &r.figures));
    }
    for d in &s.days {
        let mut v = vec![t(lang, "request_stats.csv.day").to_string(), d.date.to_string(), d.received.to_string(), d.done.to_string()];
        v.resize(header.len(), String::new());
        rows.push(v);
    }
    let mut out = String::from('\u{feff}');
    for r in rows {
        let line: Vec<String> = r.iter().map(|v| csv_field(v, sep)).collect();
        out.push_str(&line.join(&sep.to_string()));
        out.push_str("\r\n");
    }
    out
}

// ---------- the report ----------

fn request_table(key: &'static str, title: &str, first: &str, lang: Lang) -> Table {
    Table::new(key, title)
        .col("name", lang, first, Kind::Text)
        .col("received", lang, "report_requests.received", Kind::Integer)
        .col("done", lang, "report_requests.done", Kind::Integer)
        .col("rejected", lang, "report_requests.rejected", Kind::Integer)
        .col("open", lang, "report_requests.open", Kind::Integer)
        .col("first_response", lang, "report_requests.first_response", Kind::Duration)
        .col("resolution", lang, "report_requests.resolution", Kind::Duration)
        .col("sla_met", lang, "report_requests.sla_met", Kind::Percent)
        .col("rating", lang, "report_requests.rating", Kind::Number)
        .col("ratings", lang, "report_requests.ratings", Kind::Integer)
}

fn request_cells(name: String, f: &Figures) -> Vec<Cell> {
    vec![
        Cell::Text(name),
        Cell::Int(f.received.into()),
        Cell::Int(f.done.into()),
        Cell::Int(f.rejected.into()),
        Cell::Int(f.open.into()),
        Cell::secs(f.median_first_response_secs),
        Cell::secs(f.median_resolution_secs),
        Cell::num(f.sla_met_pct),
        Cell::num(f.rating_avg),
        Cell::Int(f.rating_count.into()),
    ]
}

/// Requests on the report engine: a row per category with the total, then
/// the employees' and the teams' tables, and received and done by day.
/// The same [`compute`] the statistics page reads; `category_id` narrows it.
pub fn report(ctx: &Ctx) -> Result<Report, AppError> {
    if !can_view(ctx.who) {
        return Err(ErrorKind::Forbidden.into());
    }
    let (lang, p) = (ctx.lang, ctx.period);
    let s = compute(ctx.db, ctx.tz, lang, ctx.filters.category_id, p.from, p.to)?;
    let mut table = request_table("categories", t(lang, "report_requests.categories"), "report_requests.category", lang);
    table.rows = s.categories.iter().map(|r| request_cells(r.name.clone(), &r.figures)).collect();
    table.totals = Some(request_cells(t(lang, "report.total").to_string(), &s.total));
    let mut employees = request_table("employees", t(lang, "report_requests.employees"), "report_requests.employee", lang);
    employees.rows = s.employees.iter().map(|r| request_cells(r.name.clone(), &r.figures)).collect();
    let mut teams = request_table("teams", t(lang, "report_requests.teams"), "report_requests.team", lang);
    teams.rows = s
        .teams
        .iter()
        .map(|r| {
            let name = if r.categories.is_empty() { r.name.clone() } else { format!("{} ({})", r.name, r.categories.join(", ")) };
            request_cells(name, &r.figures)
        })
        .collect();
    let by_day = Chart {
        key: "by_day",
        title: t(lang, "report_requests.by_day").to_string(),
        kind: if s.days.len() > 31 { ChartKind::Line } else { ChartKind::Bars },
        unit: Kind::Integer,
        labels: s.days.iter().map(|d| d.date.strftime("%d.%m").to_string()).collect(),
        series: vec![
            Series {
                name: t(lang, "report_requests.received").to_string(),
                values: s.days.iter().map(|d| Some(f64::from(d.received))).collect(),
            },
            Series { name: t(lang, "report_requests.done").to_string(), values: s.days.iter().map(|d| Some(f64::from(d.done))).collect() },
        ],
    };
    let sla = Chart {
        key: "sla_met",
        title: t(lang, "report_requests.sla_chart").to_string(),
        kind: ChartKind::HBars,
        unit: Kind::Percent,
        labels: s.categories.iter().map(|r| r.name.clone()).collect(),
        series: vec![Series {
            name: t(lang, "report_requests.sla_met").to_string(),
            values: s.categories.iter().map(|r| r.figures.sla_met_pct).collect(),
        }],
    };
    let mut r = Report::new("requests", t(lang, "report_requests.title"), p, table);
    r.more = vec![employees, teams];
    r.charts = vec![by_day, sla];
    if s.truncated {
        r.notes.push(crate::i18n::tf(lang, "report_requests.truncated", &[("n", &MAX_SCANNED.to_string())]));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
    }
}
