//! Reports: one engine for every figure the company reads.
//!
//! A report is a typed table of rows with its totals (and, for some, more
//! tables and charts), computed in the domain that owns the figures — tasks
//! (`tasks::report`), requests (`requests::stats`), the queue
//! (`queue::stats`) — for a caller (what you may see is what you get), a
//! [`Period`] of local days in the company's time zone, and [`Filters`].
//! Pages, CSV, XLSX, Google Sheets, scheduled reports, the Telegram digest
//! and the API all read the same [`Report`]; none computes a figure of its
//! own.
//!
//! # Who sees what ([`Scope`])
//!
//! * `reports.view_all` (owner, director, admin by default): everything.
//! * `reports.view_department` (a manager): their own department — its
//!   people, its tasks. Asking for another department is refused.
//! * anyone else: their own figures only (the `employee` report about
//!   themselves); other reports are refused.

pub mod branches;
pub mod chart;
pub mod export;
pub mod history;
pub mod jobs;
pub mod schedule;
pub mod sheets;

use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::Db;
use crate::tenancy::Tenant;
use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The reports by name, in the order the API documents them.
pub const NAMES: [&str; 7] = ["employee", "department", "ranking", "company", "branches", "requests", "queue"];

/// The longest custom period, in days (both ends counted).
pub const MAX_DAYS: i32 = 366;

// ---------- the table ----------

/// What a column holds, which says how every front-end shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportColumnType)]
pub enum Kind {
    Text,
    /// A whole number (a count, points).
    Integer,
    /// A number with decimals (an average rating).
    Number,
    /// A share in percent, one decimal (`87.5` is 87.5 %).
    Percent,
    /// A length of time in whole seconds.
    Duration,
    /// A local day, `YYYY-MM-DD`.
    Date,
    /// A moment: RFC 3339 in UTC in JSON, the company's local time elsewhere.
    DateTime,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ReportColumn)]
pub struct Column {
    /// Stable across languages: the JSON row's key.
    pub key: &'static str,
    /// In the reader's language.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: Kind,
}

/// One value. Its column's [`Kind`] says how to show it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing to show (`null`): an average of nothing, a total that makes no sense.
    Empty,
    Text(String),
    Int(i64),
    /// A number or a percentage.
    Num(f64),
    /// Seconds.
    Secs(i64),
    Date(Date),
    /// Milliseconds since the epoch (UTC).
    Time(i64),
}

impl Cell {
    /// The JSON value: numbers as numbers, days as `YYYY-MM-DD`, moments as RFC 3339 UTC.
    pub fn json(&self) -> Value {
        match self {
            Cell::Empty => Value::Null,
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(n) | Cell::Secs(n) => Value::from(*n),
            Cell::Num(v) => serde_json::Number::from_f64(*v).map(Value::Number).unwrap_or(Value::Null),
            Cell::Date(d) => Value::String(d.to_string()),
            Cell::Time(ms) => Value::String(crate::clock::from_ms(*ms).to_string()),
        }
    }

    /// Seconds, or nothing.
    pub fn secs(v: Option<u64>) -> Cell {
        v.map(|s| Cell::Secs(i64::try_from(s).unwrap_or(i64::MAX))).unwrap_or(Cell::Empty)
    }

    /// A number or a share, or nothing.
    pub fn num(v: Option<f64>) -> Cell {
        v.map(Cell::Num).unwrap_or(Cell::Empty)
    }

    /// Text for a person in `lang` and `tz` (CSV, Sheets): numbers with the
    /// language's decimal mark, durations in minutes, moments in local time.
    pub fn text(&self, kind: Kind, lang: Lang, tz: &TimeZone) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(v) if kind == Kind::Number => crate::queue::stats::num2(lang, *v),
            Cell::Num(v) => crate::queue::stats::num(lang, *v),
            Cell::Secs(s) => crate::queue::stats::num(lang, *s as f64 / 60.0),
            Cell::Date(d) => d.to_string(),
            Cell::Time(ms) => crate::clock::from_ms(*ms).to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// A table: columns, rows (each as long as the columns) and, when the
/// figures add up, a totals row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Stable: the sheet's and the file's name.
    pub key: &'static str,
    /// In the reader's language.
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: Option<Vec<Cell>>,
}

impl Table {
    pub fn new(key: &'static str, title: impl Into<String>) -> Table {
        Table { key, title: title.into(), columns: Vec::new(), rows: Vec::new(), totals: None }
    }

    /// Adds a column whose label is the catalogue's `label_key` in `lang`.
    pub fn col(mut self, key: &'static str, lang: Lang, label_key: &str, kind: Kind) -> Table {
        self.columns.push(Column { key, label: crate::i18n::t(lang, label_key).to_string(), kind });
        self
    }

    /// The position of a column.
    pub fn index(&self, key: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.key == key)
    }

    /// A row's cell by column key.
    pub fn cell<'a>(&self, row: &'a [Cell], key: &str) -> Option<&'a Cell> {
        self.index(key).and_then(|i| row.get(i))
    }

    fn object(&self, row: &[Cell]) -> Map<String, Value> {
        self.columns.iter().zip(row).map(|(c, v)| (c.key.to_string(), v.json())).collect()
    }

    /// The JSON of the table.
    pub fn json(&self) -> TableJson {
        TableJson {
            key: self.key.to_string(),
            title: self.title.clone(),
            columns: self.columns.clone(),
            rows: self.rows.iter().map(|r| self.object(r)).collect(),
            totals: self.totals.as_ref().map(|t| self.object(t)),
        }
    }
}

/// A chart's shape; the figure picks it (a trend is a line, a comparison
/// bars, parts of a whole stacked bars, a week by hour a heat map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportChartKind)]
pub enum ChartKind {
    Line,
    /// Vertical bars, one group per label (a series each).
    Bars,
    /// Horizontal bars: names along the side (rankings, comparisons of people).
    HBars,
    StackedBars,
    /// Rows are the series, columns the labels, the value the colour.
    Heat,
}

/// One series of a chart: a value per label (`None`: no value there).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ReportSeries)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A chart's data; `reports::chart` draws it as SVG and PNG.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = ReportChart)]
pub struct Chart {
    pub key: &'static str,
    pub title: String,
    pub kind: ChartKind,
    /// What the values are (counts, points, percent, seconds).
    pub unit: Kind,
    /// Along the axis: days, names, hours.
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

/// A report: its main table, maybe more tables, charts and notes (a
/// ranking's rule, a figure read from fewer rows than asked).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: &'static str,
    pub title: String,
    pub period: Period,
    /// The period the trends compare with, when the report shows trends.
    pub previous: Option<Period>,
    pub table: Table,
    pub more: Vec<Table>,
    pub charts: Vec<Chart>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(name: &'static str, title: impl Into<String>, period: Period, table: Table) -> Report {
        Report { name, title: title.into(), period, previous: None, table, more: Vec::new(), charts: Vec::new(), notes: Vec::new() }
    }

    /// Every table, the main one first (one sheet each).
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        std::iter::once(&self.table).chain(self.more.iter())
    }

    /// The JSON the API returns.
    pub fn json(&self) -> ReportJson {
        let main = self.table.json();
        ReportJson {
            name: self.name.to_string(),
            title: self.title.clone(),
            period: self.period,
            previous: self.previous,
            columns: main.columns,
            rows: main.rows,
            totals: main.totals,
            tables: self.more.iter().map(Table::json).collect(),
            charts: self.charts.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// A table as JSON: rows are objects keyed by the columns' keys.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportTable)]
pub struct TableJson {
    pub key: String,
    pub title: String,
    pub columns: Vec<Column>,
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub totals: Option<Map<String, Value>>,
}

/// A report as JSON.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportBody)]
pub struct ReportJson {
    pub name: String,
    pub title: String,
    pub period: Period,
    pub previous: Option<Period>,
    pub columns: Vec<Column>,
    /// Objects keyed by the columns' keys; values by the column's type.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// The totals row, keyed like a row; `null` when the figures do not add up.
    #[schema(value_type = Option<Object>)]
    pub totals: Option<Map<String, Value>>,
    /// More tables of the report (a ranking's overdue list, a queue's operators).
    pub tables: Vec<TableJson>,
    pub charts: Vec<Chart>,
    pub notes: Vec<String>,
}

// ---------- the period ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportPeriodKind)]
pub enum PeriodKind {
    Day,
    /// Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    Custom,
}

/// Local days `from..=to` in the company's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ReportPeriod)]
pub struct Period {
    pub kind: PeriodKind,
    /// The first local day, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-11-30")]
    pub from: Date,
    /// The last local day (included), `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-12-06")]
    pub to: Date,
}

fn bad_date(field: &'static str) -> AppError {
    AppError::invalid(field, "validation.date")
}

impl Period {
    /// The day, week (Monday first) or month holding `d`.
    pub fn containing(kind: PeriodKind, d: Date) -> Result<Period, AppError> {
        let (from, to) = match kind {
            PeriodKind::Day | PeriodKind::Custom => (d, d),
            PeriodKind::Week => {
                let back = i64::from(d.weekday().to_monday_zero_offset());
                let from = d.checked_sub(back.days()).map_err(|_| bad_date("from"))?;
                (from, from.checked_add(6.days()).map_err(|_| bad_date("from"))?)
            }
            PeriodKind::Month => (d.first_of_month(), d.last_of_month()),
        };
        Ok(Period { kind, from, to })
    }

    /// Local days `from..=to`, at most [`MAX_DAYS`].
    pub fn custom(from: Date, to: Date) -> Result<Period, AppError> {
        crate::queue::stats::check_range(from, to)?;
        Ok(Period { kind: PeriodKind::Custom, from, to })
    }

    /// How many days it spans.
    pub fn days(&self) -> i32 {
        (self.to - self.from).get_days() + 1
    }

    /// The period just before, of the same kind (the month before, the
    /// week before; a custom period: as many days just before).
    pub fn previous(&self) -> Result<Period, AppError> {
        let before = self.from.yesterday().map_err(|_| bad_date("from"))?;
        match self.kind {
            PeriodKind::Custom => {
                let from = before.checked_sub((i64::from(self.days()) - 1).days()).map_err(|_| bad_date("from"))?;
                Ok(Period { kind: PeriodKind::Custom, from, to: before })
            }
            k => Period::containing(k, before),
        }
    }

    /// The period a trend compares with: the previous one, cut to as many
    /// days as have begun of this one while this one still runs (1–5
    /// December against 1–5 November, not the whole of November).
    pub fn comparable_previous(&self, today: Date) -> Result<Period, AppError> {
        let prev = self.previous()?;
        if today < self.from || today >= self.to {
            return Ok(prev);
        }
        let to = prev.from.checked_add((today - self.from).get_days().days()).map_err(|_| bad_date("from"))?;
        Ok(if to < prev.to { Period { kind: PeriodKind::Custom, from: prev.from, to } } else { prev })
    }

    /// `[start, end)` in ms: from the first day's local midnight to the
    /// midnight after the last day.
    pub fn bounds(&self, tz: &TimeZone) -> Result<(i64, i64), AppError> {
        let start = self.from.to_zoned(tz.clone()).map_err(|_| bad_date("from"))?.timestamp().as_millisecond();
        let after = self.to.tomorrow().map_err(|_| bad_date("to"))?;
        let end = after.to_zoned(tz.clone()).map_err(|_| bad_date("to"))?.timestamp().as_millisecond();
        Ok((start, end))
    }

    /// Every day of the period, oldest first.
    pub fn each_day(&self) -> impl Iterator<Item = Date> + '_ {
        self.from.series(1.day()).take_while(move |d| *d <= self.to)
    }

    /// The local day of a moment, and its index in the period if inside.
    pub fn day_index(&self, ms: i64, tz: &TimeZone) -> Option<usize> {
        let d = crate::clock::from_ms(ms).to_zoned(tz.clone()).date();
        usize::try_from((d - self.from).get_days()).ok().filter(|i| *i < self.days() as usize)
    }
}

fn parse_day(raw: Option<&str>, field: &'static str) -> Result<Option<Date>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<Date>().ok().filter(|d| (2000..=2200).contains(&d.year())).map(Some).ok_or_else(|| bad_date(field)),
    }
}

/// Reads a period as typed: `period` = `day`, `week`, `month` (the one
/// holding `from`, or today) or `custom` (`from` and `to`, both needed);
/// `month` when left out.
pub fn parse_period(kind: Option<&str>, from: Option<&str>, to: Option<&str>, today: Date) -> Result<Period, AppError> {
    let from = parse_day(from, "from")?;
    let to = parse_day(to, "to")?;
    let kind = match kind.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("month") => PeriodKind::Month,
        Some("day") => PeriodKind::Day,
        Some("week") => PeriodKind::Week,
        Some("custom") => PeriodKind::Custom,
        Some(_) => return Err(AppError::invalid("period", "validation.report_period")),
    };
    match kind {
        PeriodKind::Custom => {
            let from = from.ok_or_else(|| bad_date("from"))?;
            Period::custom(from, to.ok_or_else(|| bad_date("to"))?)
        }
        k => Period::containing(k, from.unwrap_or(today)),
    }
}

/// The company's local day now.
pub fn today(now_ms: i64, tz: &TimeZone) -> Date {
    crate::clock::from_ms(now_ms).to_zoned(tz.clone()).date()
}

/// Whether `d` is a Monday (weeks start on Monday).
pub fn is_monday(d: Date) -> bool {
    d.weekday() == Weekday::Monday
}

// ---------- filters and scope ----------

/// What a report is narrowed to; each report uses the filters that make
/// sense to it and ignores the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters {
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub user_id: Option<u64>,
    pub category_id: Option<u64>,
}

fn parse_id(raw: Option<&str>, field: &'static str, key: &'static str) -> Result<Option<u64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| AppError::invalid(field, key)),
    }
}

/// Reads the filters as typed (ids; empty means none).
pub fn parse_filters(
    department_id: Option<&str>,
    branch_id: Option<&str>,
    user_id: Option<&str>,
    category_id: Option<&str>,
) -> Result<Filters, AppError> {
    Ok(Filters {
        department_id: parse_id(department_id, "department_id", "validation.department")?,
        branch_id: parse_id(branch_id, "branch_id", "validation.branch")?,
        user_id: parse_id(user_id, "user_id", "validation.user")?,
        category_id: parse_id(category_id, "category_id", "validation.category")?,
    })
}

/// Whose figures a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everyone's.
    All,
    /// The people of this department (a manager's own).
    Department(u64),
    /// Only their own.
    Me(u64),
}

impl Scope {
    /// The scope of a caller; customers, the public and platform admins have none.
    pub fn of(who: &Caller) -> Result<Scope, AppError> {
        match who {
            Caller::System => Ok(Scope::All),
            Caller::User(p) if p.can("reports.view_all") => Ok(Scope::All),
            Caller::User(p) => match p.account.department_id {
                Some(d) if p.can("reports.view_department") => Ok(Scope::Department(d)),
                _ => Ok(Scope::Me(p.id)),
            },
            _ => Err(ErrorKind::Forbidden.into()),
        }
    }

    /// Whether the figures of a person (of department `dept`) are visible.
    pub fn sees(&self, user: u64, dept: Option<u64>) -> bool {
        match self {
            Scope::All => true,
            Scope::Department(d) => dept == Some(*d),
            Scope::Me(me) => *me == user,
        }
    }

    /// The department a department report covers: the asked one if the
    /// caller may read it (refused otherwise), else the caller's own.
    pub fn department(&self, asked: Option<u64>) -> Result<Option<u64>, AppError> {
        match (self, asked) {
            (Scope::All, a) => Ok(a),
            (Scope::Department(d), None) => Ok(Some(*d)),
            (Scope::Department(d), Some(a)) if a == *d => Ok(Some(a)),
            _ => Err(ErrorKind::Forbidden.into()),
        }
    }

    /// Refuses callers who see only themselves.
    pub fn require_team(&self) -> Result<(), AppError> {
        match self {
            Scope::Me(_) => Err(ErrorKind::Forbidden.into()),
            _ => Ok(()),
        }
    }
}

/// Everything a report is computed from.
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub tz: &'a TimeZone,
    pub who: &'a Caller,
    pub scope: Scope,
    pub lang: Lang,
    pub now_ms: i64,
    pub period: Period,
    pub filters: Filters,
}

/// The reports `who` may open, in [`NAMES`] order: everyone their own
/// figures; a department's or the company's for who sees them; requests
/// and the queue for who works or sees them.
pub fn available(who: &Caller) -> Vec<&'static str> {
    let Ok(scope) = Scope::of(who) else { return Vec::new() };
    let team = scope != Scope::Me(who.id()) || matches!(scope, Scope::All);
    NAMES
        .into_iter()
        .filter(|n| match *n {
            "employee" => true,
            "department" | "ranking" => team,
            "company" | "branches" => who.can("reports.view_all"),
            "requests" => crate::requests::stats::can_view(who),
            "queue" => who.can("queue.manage") || who.can("reports.view_all"),
            _ => false,
        })
        .collect()
}

/// The report a reader starts from: the company's for who sees everything,
/// the department's for its manager, one's own otherwise.
pub fn home_report(who: &Caller) -> &'static str {
    match Scope::of(who) {
        Ok(Scope::All) => "company",
        Ok(Scope::Department(_)) => "department",
        _ => "employee",
    }
}

/// The change from `before` to `now` in percent, one decimal; none when
/// there was nothing before.
pub fn change_pct(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| ((now - before) * 1000.0 / before).round() / 10.0)
}

/// `▲ +12,5 %`, `▼ −3 %`, `= 0 %`, `—`: the direction of a change, with it.
pub fn arrow(change: Option<f64>, lang: Lang) -> String {
    match change {
        None => "—".into(),
        Some(v) if v > 0.0 => format!("▲ +{} %", crate::queue::stats::num(lang, v)),
        Some(v) if v < 0.0 => format!("▼ −{} %", crate::queue::stats::num(lang, -v)),
        Some(_) => "= 0 %".into(),
    }
}

/// What a report is asked for.
#[derive(Debug, Clone)]
pub struct Ask {
    pub name: String,
    pub period: Period,
    pub filters: Filters,
}

/// Computes report `ask.name` for `who` in `lang`, off the async runtime
/// (a year of history is a lot of reading).
pub async fn run(tenant: &Tenant, who: &Caller, lang: Lang, now_ms: i64, ask: Ask) -> Result<Report, AppError> {
    let (tenant, who) = (tenant.clone(), who.clone());
    tokio::task::spawn_blocking(move || {
        let tz = tenant.timezone();
        let ctx =
            Ctx { db: tenant.db()?, tz: &tz, who: &who, scope: Scope::of(&who)?, lang, now_ms, period: ask.period, filters: ask.filters };
        build_named(&ctx, &ask.name)
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("report task: {e}")))?
}

/// Computes the report called `name` (404 for a name that is none).
pub fn build_named(ctx: &Ctx, name: &str) -> Result<Report, AppError> {
    match name {
        "employee" => crate::tasks::report::employee(ctx),
        "department" => crate::tasks::report::department(ctx),
        "ranking" => crate::tasks::report::ranking(ctx),
        "company" => crate::tasks::report::company(ctx),
        "branches" => branches::report(ctx),
        "requests" => crate::requests::stats::report(ctx),
        "queue" => crate::queue::stats::report(ctx),
        _ => Err(ErrorKind::NotFound.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn a_week_runs_monday_to_sunday() {
        // 2026-12-03 is a Thursday.
        let w = parse_period(Some("week"), Some("2026-12-03"), None, d("2026-01-01")).unwrap();
        assert_eq!((w.from, w.to), (d("2026-11-30"), d("2026-12-06")));
        let sunday = parse_period(Some("week"), Some("2026-12-06"), None, d("2026-01-01")).unwrap();
        assert_eq!(sunday, w);
        assert_eq!(w.previous().unwrap().from, d("2026-11-23"));
    }

    #[test]
    fn a_month_and_the_one_before() {
        let m = parse_period(None, None, None, d("2026-03-31")).unwrap();
        assert_eq!((m.kind, m.from, m.to), (PeriodKind::Month, d("2026-03-01"), d("2026-03-31")));
        let p = m.previous().unwrap();
        assert_eq!((p.from, p.to), (d("2026-02-01"), d("2026-02-28")));
    }

    #[test]
    fn a_custom_period_needs_both_ends_and_the_previous_is_as_long() {
        assert!(parse_period(Some("custom"), Some("2026-01-01"), None, d("2026-01-01")).is_err());
        assert!(parse_period(Some("yearly"), None, None, d("2026-01-01")).is_err());
        let c = parse_period(Some("custom"), Some("2026-01-10"), Some("2026-01-19"), d("2026-01-01")).unwrap();
        assert_eq!(c.days(), 10);
        let p = c.previous().unwrap();
        assert_eq!((p.from, p.to), (d("2025-12-31"), d("2026-01-09")));
    }

    #[test]
    fn a_running_period_is_compared_with_as_many_days_before() {
        let m = parse_period(Some("month"), Some("2026-12-05"), None, d("2026-12-05")).unwrap();
        let p = m.comparable_previous(d("2026-12-05")).unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-05")));
        // A period that has ended: the whole previous one.
        let p = m.comparable_previous(d("2027-01-02")).unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-30")));
        // Its last day: the whole previous one too (31 days against 30).
        let p = m.comparable_previous(d("2026-12-31")).unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-30")));
    }

    #[test]
    fn changes_and_arrows() {
        assert_eq!(change_pct(12.0, 8.0), Some(50.0));
        assert_eq!(change_pct(2.0, 3.0), Some(-33.3));
        assert_eq!(change_pct(5.0, 0.0), None);
        assert_eq!(arrow(Some(50.0), Lang::En), "▲ +50 %");
        assert_eq!(arrow(Some(-33.3), Lang::Ru), "▼ −33,3 %");
        assert_eq!(arrow(Some(0.0), Lang::En), "= 0 %");
        assert_eq!(arrow(None, Lang::Uz), "—");
    }

    #[test]
    fn bounds_are_local_midnights() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        let p = parse_period(Some("day"), Some("2026-12-03"), None, d("2026-01-01")).unwrap();
        let (a, b) = p.bounds(&tz).unwrap();
        // Tashkent is UTC+5: the day starts at 19:00 UTC the day before.
        assert_eq!(crate::clock::from_ms(a).to_string(), "2026-12-02T19:00:00Z");
        assert_eq!(b - a, 86_400_000);
        assert_eq!(p.day_index(a, &tz), Some(0));
        assert_eq!(p.day_index(b, &tz), None);
    }
}
