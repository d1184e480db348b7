//! Queue stats for a range of local days: how long people waited, how long
//! service took, how often the service level was met, who did not come,
//! when people arrive, how operators spent their day, and how good the
//! quoted wait was. The CSV export lives here too; the API and the page with its charts
//! are in `web::pages::stats`.
//!
//! # Which tickets count
//!
//! The tickets of the chosen local days (`TICKETS_BY_BRANCH_DAY`), at one
//! branch or at every branch. A booking counts from its check-in: a booking
//! never checked in (still booked, or cancelled or expired before check-in)
//! is in no figure. A transfer ends the old ticket (`transferred`) and
//! starts a continuation ticket at the new service; the continuation is not
//! a new ticket (not *issued*, not an *arrival*), but it is called, waits
//! and is served like any other.
//!
//! # Definitions
//!
//! * **issued**: tickets that joined a queue (kiosk, walk-in, checked-in
//!   bookings), continuations left out.
//! * **called**: tickets called to a window at least once.
//! * **wait**: from the start of waiting to the *first* call (a recall does
//!   not add to it). Waiting starts at `arrived_at` (a booking: its check-in)
//!   or, for a continuation ticket, at the transfer (`created_at`): the
//!   customer had already been called once for the first service.
//!   Average and 90th percentile over called tickets. The percentile is
//!   nearest-rank: the ⌈0.9·n⌉-th smallest wait.
//! * **service time**: `started_at → finished_at` of `done` tickets and of
//!   `transferred` tickets that had started; averaged.
//! * **service level**: the share of called tickets whose wait was at most
//!   the service's `target_wait_minutes`.
//! * **no-show rate**: `no_show` tickets / called tickets.
//! * **cancelled before call**: `cancelled` tickets never called.
//! * **expired**: tickets still open when their day ended.
//! * **arrivals**: issued tickets by the local weekday (Monday first) and
//!   hour of `arrived_at`.
//! * **estimate error**: over called tickets that were quoted a wait when
//!   taken (not bookings, not continuations), the actual wait in minutes is
//!   compared with the quote `(low, high)`: the mean absolute difference
//!   between the actual wait and the quote's midpoint `(low + high) / 2`,
//!   and the share of actual waits with `low ≤ wait ≤ high`.
//! * **operator time** over the range: *serving* is the sum of their service
//!   times (as above); *on break* comes from their break events (on → off;
//!   a break still open runs until now), clipped to the range and to now.
//!   Each day an operator works, their *working span* runs from their first
//!   call to their last finished ticket (done, no-show, transferred or
//!   cancelled at the window); *idle* is that span minus the serving and the
//!   break time inside it, never below zero. Breaks are not tied to a branch:
//!   with one branch chosen, an operator's breaks count in full.
//!
//! Durations are whole seconds (rounded), shares are percentages with one
//! decimal, the estimate error is minutes with two decimals. A figure with
//! nothing to average is `null`.

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t};
use crate::reports::export::csv_field;
use crate::reports::{Cell, Chart, ChartKind, Ctx, Kind, Report, Series, Table};
use crate::store::schema::{
    BRANCHES, OPERATOR_EVENTS, OPERATORS, OperatorEventRecord, SERVICES, TICKET_EVENTS, TICKETS, TICKETS_BY_BRANCH_DAY, TicketEventRecord,
    TicketStatus, TicketV1, USERS,
};
use crate::store::{Db, RecordTable, store_err};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use redb::ReadableTable;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;

/// The longest range of days the stats cover at once.
pub const MAX_DAYS: i32 = 366;

/// Who may see the stats: queue managers and those who see every report
/// (by default the owner, the director and the admin; not operators).
pub fn can_view(user: &Principal) -> bool {
    user.can("queue.manage") || user.can("reports.view_all")
}

// ---------- the figures ----------

/// How good the quoted wait was (see the module's definitions).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EstimateError {
    /// Called tickets that had a quote.
    pub samples: u32,
    /// Mean absolute difference between the actual wait and the quote's midpoint, in minutes.
    pub mae_minutes: Option<f64>,
    /// Share of actual waits inside the quoted range, in percent.
    pub within_range_pct: Option<f64>,
}

/// The figures of a set of tickets (all of them, or one service's).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Tickets that joined a queue (continuations after a transfer left out).
    pub issued: u32,
    /// Tickets called to a window.
    pub called: u32,
    /// Tickets served to the end (`done`).
    pub served: u32,
    /// Average wait to the first call, in seconds.
    pub avg_wait_secs: Option<u64>,
    /// 90th-percentile (nearest-rank) wait to the first call, in seconds.
    pub p90_wait_secs: Option<u64>,
    /// Average service time, in seconds.
    pub avg_service_secs: Option<u64>,
    /// Called tickets called within their service's target wait.
    pub within_target: u32,
    /// `within_target / called`, in percent.
    pub service_level_pct: Option<f64>,
    pub no_shows: u32,
    /// `no_shows / called`, in percent.
    pub no_show_pct: Option<f64>,
    /// Cancelled before they were ever called.
    pub cancelled_before_call: u32,
    /// Still open when their day ended.
    pub expired: u32,
    pub estimate: EstimateError,
}

/// A service's name in each language.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceNames {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

/// One service's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceStats {
    pub service_id: u64,
    /// In the reader's language.
    pub name: String,
    pub names: ServiceNames,
    /// The service level's target: called within this many minutes.
    pub target_wait_minutes: u16,
    pub figures: Figures,
}

/// One operator's work over the range.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OperatorStats {
    pub user_id: u64,
    pub name: String,
    /// Tickets this operator called.
    pub called: u32,
    /// Of those, served to the end (`done`).
    pub served: u32,
    pub no_shows: u32,
    /// Average service time, in seconds.
    pub avg_service_secs: Option<u64>,
    /// Time serving customers, in seconds.
    pub serving_secs: u64,
    /// Working span minus serving and breaks, in seconds.
    pub idle_secs: u64,
    /// Time on a break, in seconds.
    pub break_secs: u64,
}

/// Queue stats of a range of local days.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    /// The first local day, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-11-25")]
    pub from: Date,
    /// The last local day (included), `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-11-25")]
    pub to: Date,
    /// The branch; `null` for every branch.
    pub branch_id: Option<u64>,
    /// The branch's name; `null` for every branch.
    pub branch_name: Option<String>,
    pub overall: Figures,
    /// Every service offered at the branch(es) or with tickets in the range.
    pub services: Vec<ServiceStats>,
    /// Every operator placed at the branch(es) or with tickets in the range.
    pub operators: Vec<OperatorStats>,
    /// Arrivals by local weekday (7 rows, Monday first) and hour (24 counts each).
    pub arrivals: Vec<Vec<u32>>,
}

impl Stats {
    /// Service names in the reader's language.
    pub fn localize(&mut self, lang: Lang) {
        for s in &mut self.services {
            s.name = match lang {
                Lang::Uz => s.names.uz.clone(),
                Lang::Ru => s.names.ru.clone(),
                Lang::En => s.names.en.clone(),
            };
        }
    }
}

/// The nearest-rank percentile `p` (1–100) of sorted values: the ⌈p·n/100⌉-th smallest.
pub fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

fn round_secs(ms: f64) -> u64 {
    (ms / 1000.0).round().max(0.0) as u64
}

fn pct(n: u32, of: u32) -> Option<f64> {
    (of > 0).then(|| (f64::from(n) * 1000.0 / f64::from(of)).round() / 10.0)
}

fn mean(v: &[i64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64)
}

/// Counts and samples, turned into [`Figures`] at the end.
#[derive(Default)]
struct Acc {
    issued: u32,
    called: u32,
    served: u32,
    waits: Vec<i64>,
    within_target: u32,
    service: Vec<i64>,
    no_shows: u32,
    cancelled_before_call: u32,
    expired: u32,
    est_errors: Vec<f64>,
    est_within: u32,
}

impl Acc {
    fn figures(mut self) -> Figures {
        self.waits.sort_unstable();
        let est_n = self.est_errors.len() as u32;
        Figures {
            issued: self.issued,
            called: self.called,
            served: self.served,
            avg_wait_secs: mean(&self.waits).map(round_secs),
            p90_wait_secs: percentile(&self.waits, 90).map(|ms| round_secs(ms as f64)),
            avg_service_secs: mean(&self.service).map(round_secs),
            within_target: self.within_target,
            service_level_pct: pct(self.within_target, self.called),
            no_shows: self.no_shows,
            no_show_pct: pct(self.no_shows, self.called),
            cancelled_before_call: self.cancelled_before_call,
            expired: self.expired,
            estimate: EstimateError {
                samples: est_n,
                mae_minutes: (est_n > 0).then(|| (self.est_errors.iter().sum::<f64>() / f64::from(est_n) * 100.0).round() / 100.0),
                within_range_pct: pct(self.est_within, est_n),
            },
        }
    }
}

/// One operator's day: from the first call to the last finish.
struct DaySpan {
    first_call: i64,
    last_finish: Option<i64>,
    serving: i64,
}

#[derive(Default)]
struct OpAcc {
    called: u32,
    served: u32,
    no_shows: u32,
    service: Vec<i64>,
    days: BTreeMap<u32, DaySpan>,
}

/// `yyyymmdd`, as tickets store their day.
pub fn day_number(d: Date) -> u32 {
    (d.year() as u32) * 10_000 + (d.month() as u32) * 100 + d.day() as u32
}

/// The first millisecond of a local day.
fn day_start(d: Date, tz: &TimeZone) -> Result<i64, AppError> {
    d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).map_err(|_| AppError::invalid("from", "validation.date"))
}

fn overlap(a: (i64, i64), b: (i64, i64)) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0)
}

/// When a ticket was first called: `called_at`, unless it was recalled
/// (a recall moves `called_at`), then its first `called` event.
fn first_call(
    events: &RecordTable<impl ReadableTable<(u64, u64), &'static [u8]>, (u64, u64), TicketEventRecord>,
    id: u64,
    t: &TicketV1,
) -> Result<Option<i64>, AppError> {
    let Some(called) = t.called_at else { return Ok(None) };
    if t.recalls == 0 {
        return Ok(Some(called));
    }
    for row in events.range((id, 0)..=(id, u64::MAX))? {
        let (_, ev) = row?;
        if ev.kind == "called" {
            return Ok(Some(ev.at.min(called)));
        }
    }
    Ok(Some(called))
}

/// Whether a ticket joined a queue: a booking only once checked in.
fn joined(
    events: &RecordTable<impl ReadableTable<(u64, u64), &'static [u8]>, (u64, u64), TicketEventRecord>,
    id: u64,
    t: &TicketV1,
) -> Result<bool, AppError> {
    if t.booking.is_none() || t.called_at.is_some() {
        return Ok(true);
    }
    match t.status {
        TicketStatus::Booked => Ok(false),
        TicketStatus::Cancelled | TicketStatus::Expired => {
            for row in events.range((id, 0)..=(id, u64::MAX))? {
                if row?.1.kind == "checked_in" {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// An operator's breaks as `(start, end)`; one still open ends `now`.
fn breaks(
    table: &RecordTable<impl ReadableTable<(u64, u64), &'static [u8]>, (u64, u64), OperatorEventRecord>,
    user: u64,
    now: i64,
) -> Result<Vec<(i64, i64)>, AppError> {
    let mut out = Vec::new();
    let mut since: Option<i64> = None;
    for row in table.range((user, 0)..=(user, u64::MAX))? {
        let (_, ev) = row?;
        match (ev.on_break, since) {
            (true, None) => since = Some(ev.at),
            (false, Some(s)) => {
                out.push((s, ev.at.max(s)));
                since = None;
            }
            _ => {}
        }
    }
    if let Some(s) = since {
        out.push((s, now.max(s)));
    }
    Ok(out)
}

/// Checks a range of days: `from ≤ to`, at most [`MAX_DAYS`] days.
pub fn check_range(from: Date, to: Date) -> Result<(), AppError> {
    if from > to {
        return Err(AppError::invalid("to", "stats.error.order"));
    }
    if (to - from).get_days() + 1 > MAX_DAYS {
        return Err(AppError::invalid("to", "stats.error.range").with_arg("days", MAX_DAYS));
    }
    Ok(())
}

/// Computes the stats of the local days `from..=to` at one branch (or all).
pub fn compute(db: &Db, tz: &TimeZone, branch_id: Option<u64>, from: Date, to: Date, now_ms: i64) -> Result<Stats, AppError> {
    check_range(from, to)?;
    let range = (day_start(from, tz)?, day_start(to.tomorrow().map_err(|_| AppError::invalid("to", "validation.date"))?, tz)?);
    let tx = db.read()?;
    let all_branches = BRANCHES.open(&tx)?.all()?;
    let branch_ids: Vec<u64> = match branch_id {
        Some(b) if all_branches.iter().any(|(id, _)| *id == b) => vec![b],
        Some(_) => return Err(AppError::invalid("branch_id", "validation.branch")),
        None => all_branches.iter().map(|(id, _)| *id).collect(),
    };
    let services = SERVICES.open(&tx)?.all()?;
    let targets: HashMap<u64, i64> = services.iter().map(|(id, s)| (*id, i64::from(s.target_wait_minutes) * 60_000)).collect();
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = TICKETS.open(&tx)?;
    let events = TICKET_EVENTS.open(&tx)?;

    let mut overall = Acc::default();
    let mut per_service: BTreeMap<u64, Acc> = BTreeMap::new();
    let mut per_op: BTreeMap<u64, OpAcc> = BTreeMap::new();
    let mut arrivals = vec![vec![0u32; 24]; 7];
    let (d0, d1) = (day_number(from), day_number(to));
    for &b in &branch_ids {
        for row in idx.range((b, d0, 0)..=(b, d1, u64::MAX)).map_err(store_err)? {
            let id = row.map_err(store_err)?.0.value().2;
            let Some(t) = tickets.get(id)? else { continue };
            if !joined(&events, id, &t)? {
                continue;
            }
            let svc = per_service.entry(t.service_id).or_default();
            let is_new = t.transferred_from.is_none();
            if is_new {
                overall.issued += 1;
                svc.issued += 1;
                let z = crate::clock::from_ms(t.arrived_at).to_zoned(tz.clone());
                let wd = z.date().weekday().to_monday_zero_offset() as usize;
                if let Some(cell) = arrivals.get_mut(wd).and_then(|r| r.get_mut(z.hour() as usize)) {
                    *cell += 1;
                }
            }
            let call = first_call(&events, id, &t)?;
            if let Some(c) = call {
                let waited_from = if is_new { t.arrived_at } else { t.created_at };
                let wait = (c - waited_from).max(0);
                let within = wait <= targets.get(&t.service_id).copied().unwrap_or(i64::MAX);
                for acc in [&mut overall, &mut *svc] {
                    acc.called += 1;
                    acc.waits.push(wait);
                    acc.within_target += u32::from(within);
                }
                if is_new && t.booking.is_none() {
                    let (low, high) = (f64::from(t.quoted_wait.0), f64::from(t.quoted_wait.1));
                    let minutes = wait as f64 / 60_000.0;
                    let inside = low <= minutes && minutes <= high;
                    for acc in [&mut overall, &mut *svc] {
                        acc.est_errors.push((minutes - (low + high) / 2.0).abs());
                        acc.est_within += u32::from(inside);
                    }
                }
            }
            let service_ms = match (t.status, t.started_at, t.finished_at) {
                (TicketStatus::Done | TicketStatus::Transferred, Some(s), Some(f)) => Some((f - s).max(0)),
                _ => None,
            };
            for acc in [&mut overall, &mut *svc] {
                match t.status {
                    TicketStatus::Done => acc.served += 1,
                    TicketStatus::NoShow => acc.no_shows += 1,
                    TicketStatus::Cancelled if call.is_none() => acc.cancelled_before_call += 1,
                    TicketStatus::Expired => acc.expired += 1,
                    _ => {}
                }
                if let Some(ms) = service_ms {
                    acc.service.push(ms);
                }
            }
            if let (Some(op), Some(c)) = (t.operator_id, call) {
                let o = per_op.entry(op).or_default();
                o.called += 1;
                match t.status {
                    TicketStatus::Done => o.served += 1,
                    TicketStatus::NoShow => o.no_shows += 1,
                    _ => {}
                }
                let day = o.days.entry(t.day).or_insert(DaySpan { first_call: c, last_finish: None, serving: 0 });
                day.first_call = day.first_call.min(c);
                if matches!(t.status, TicketStatus::Done | TicketStatus::NoShow | TicketStatus::Transferred | TicketStatus::Cancelled)
                    && let Some(f) = t.finished_at
                {
                    day.last_finish = Some(day.last_finish.map_or(f, |l| l.max(f)));
                }
                if let Some(ms) = service_ms {
                    day.serving += ms;
                    o.service.push(ms);
                }
            }
        }
    }

    // Services offered at the branches, and any with tickets.
    let mut service_out = Vec::new();
    for (id, s) in &services {
        let offered = s.active && s.branch_ids.iter().any(|b| branch_ids.contains(b));
        let acc = per_service.remove(id);
        if !offered && acc.is_none() {
            continue;
        }
        service_out.push(ServiceStats {
            service_id: *id,
            name: s.name_uz.clone(),
            names: ServiceNames { uz: s.name_uz.clone(), ru: s.name_ru.clone(), en: s.name_en.clone() },
            target_wait_minutes: s.target_wait_minutes,
            figures: acc.unwrap_or_default().figures(),
        });
    }

    // Operators placed at the branches, and any who called tickets here.
    let placed = OPERATORS.open(&tx)?.all()?;
    let mut op_ids: BTreeSet<u64> = per_op.keys().copied().collect();
    op_ids.extend(placed.iter().filter(|(_, o)| branch_ids.contains(&o.branch_id)).map(|(id, _)| *id));
    let users = USERS.open(&tx)?;
    let op_events = OPERATOR_EVENTS.open(&tx)?;
    let window = (range.0, range.1.min(now_ms));
    let mut operator_out = Vec::new();
    for id in op_ids {
        let acc = per_op.remove(&id).unwrap_or_default();
        let name = match users.get(id)? {
            Some(a) if !a.full_name.is_empty() => a.full_name,
            Some(a) => a.username,
            None => format!("#{id}"),
        };
        let bs = breaks(&op_events, id, now_ms)?;
        let break_ms: i64 = bs.iter().map(|b| overlap(*b, window)).sum();
        let mut idle_ms = 0;
        for day in acc.days.values() {
            let Some(last) = day.last_finish else { continue };
            let span = (day.first_call, last.max(day.first_call));
            let on_break: i64 = bs.iter().map(|b| overlap(*b, span)).sum();
            idle_ms += (span.1 - span.0 - day.serving - on_break).max(0);
        }
        operator_out.push(OperatorStats {
            user_id: id,
            name,
            called: acc.called,
            served: acc.served,
            no_shows: acc.no_shows,
            avg_service_secs: mean(&acc.service).map(round_secs),
            serving_secs: round_secs(acc.service.iter().sum::<i64>() as f64),
            idle_secs: round_secs(idle_ms as f64),
            break_secs: round_secs(break_ms as f64),
        });
    }
    operator_out.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.user_id.cmp(&b.user_id)));

    let branch_name = branch_id.and_then(|b| all_branches.iter().find(|(id, _)| *id == b)).map(|(_, b)| b.name.clone());
    Ok(Stats { from, to, branch_id, branch_name, overall: overall.figures(), services: service_out, operators: operator_out, arrivals })
}

// ---------- input ----------

/// The days and the branch the stats cover.
pub struct Range {
    pub branch_id: Option<u64>,
    pub from: Date,
    pub to: Date,
}

fn parse_day(raw: Option<&str>, field: &'static str, today: Date) -> Result<Date, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today),
        Some(s) => {
            s.parse::<Date>().ok().filter(|d| (2000..=2200).contains(&d.year())).ok_or_else(|| AppError::invalid(field, "validation.date"))
        }
    }
}

/// Reads a filter as typed: a branch id (every branch when empty) and two
/// local days `YYYY-MM-DD` (today when empty), at most [`MAX_DAYS`] apart.
pub fn parse_range(branch_id: Option<&str>, from: Option<&str>, to: Option<&str>, today: Date) -> Result<Range, AppError> {
    let branch_id = match branch_id.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| AppError::invalid("branch_id", "validation.branch"))?),
    };
    let from = parse_day(from, "from", today)?;
    let to = parse_day(to, "to", today)?;
    check_range(from, to)?;
    Ok(Range { branch_id, from, to })
}

/// The company's local day now.
pub fn today(state: &AppState, tz: &TimeZone) -> Date {
    state.now().to_zoned(tz.clone()).date()
}

/// The stats the caller may see, in their language. Computed off the async
/// runtime: a year of tickets is a lot of reading.
pub async fn run(state: &AppState, user: &Principal, p: &Range) -> Result<Stats, AppError> {
    if !can_view(user) {
        return Err(ErrorKind::Forbidden.into());
    }
    let tenant = user.tenant.clone();
    let (branch_id, from, to, now) = (p.branch_id, p.from, p.to, state.now_ms());
    let mut stats = tokio::task::spawn_blocking(move || compute(tenant.db()?, &tenant.timezone(), branch_id, from, to, now))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("stats task: {e}")))??;
    stats.localize(user.lang);
    Ok(stats)
}

/// A number with one decimal at most, in the language's decimal mark.
pub fn num(lang: Lang, v: f64) -> String {
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").map(str::to_string).unwrap_or(s);
    if lang == Lang::En { s } else { s.replace('.', ",") }
}

pub fn num2(lang: Lang, v: f64) -> String {
    let s = format!("{v:.2}");
    if lang == Lang::En { s } else { s.replace('.', ",") }
}

/// The CSV file: BOM, header, total, services, operators.
pub fn csv(lang: Lang, s: &Stats) -> String {
    let sep = if lang == Lang::En { ',' } else { ';' };
    let mins = |secs: Option<u64>| secs.map(|v| num(lang, v as f64 / 60.0)).unwrap_or_default();
    let pct = |v: Option<f64>| v.map(|v| num(lang, v)).unwrap_or_default();
    let header = [
        t(lang, "stats.csv.kind"),
        t(lang, "stats.csv.name"),
        t(lang, "stats.csv.issued"),
        t(lang, "stats.csv.called"),
        t(lang, "stats.csv.served"),
        t(lang, "stats.csv.avg_wait"),
        t(lang, "stats.csv.p90_wait"),
        t(lang, "stats.csv.avg_service"),
        t(lang, "stats.csv.service_level"),
        t(lang, "stats.csv.no_shows"),
        t(lang, "stats.csv.no_show_pct"),
        t(lang, "stats.csv.cancelled"),
        t(lang, "stats.csv.expired"),
        t(lang, "stats.csv.estimate_mae"),
        t(lang, "stats.csv.estimate_within"),
        t(lang, "stats.csv.serving"),
        t(lang, "stats.csv.idle"),
        t(lang, "stats.csv.on_break"),
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    let figure_row = |kind: &str, name: &str, f: &Figures| -> Vec<String> {
        vec![
            kind.to_string(),
            name.to_string(),
            f.issued.to_string(),
            f.called.to_string(),
            f.served.to_string(),
            mins(f.avg_wait_secs),
            mins(f.p90_wait_secs),
            mins(f.avg_service_secs),
            pct(f.service_level_pct),
            f.no_shows.to_string(),
            pct(f.no_show_pct),
            f.cancelled_before_call.to_string(),
            f.expired.to_string(),
            f.estimate.mae_minutes.map(|v| num2(lang, v)).unwrap_or_default(),
            pct(f.estimate.within_range_pct),
            String::new(),
            String::new(),
            String::new(),
        ]
    };
    rows.push(figure_row(t(lang, "stats.csv.total"), s.branch_name.as_deref().unwrap_or(t(lang, "stats.all_branches")), &s.overall));
    for svc in &s.services {
        rows.push(figure_row(t(lang, "stats.csv.service"), &svc.name, &svc.figures));
    }
    for o in &s.operators {
        rows.push(vec![
            t(lang, "stats.csv.operator").to_string(),
            o.name.clone(),
            String::new(),
            o.called.to_string(),
            o.served.to_string(),
            String::new(),
            String::new(),
            mins(o.avg_service_secs),
            String::new(),
            o.no_shows.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            mins(Some(o.serving_secs)),
            mins(Some(o.idle_secs)),
            mins(Some(o.break_secs)),
        ]);
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

fn figure_cells(name: String, target: Cell, f: &Figures) -> Vec<Cell> {
    vec![
        Cell::Text(name),
        target,
        Cell::Int(f.issued.into()),
        Cell::Int(f.called.into()),
        Cell::Int(f.served.into()),
        Cell::secs(f.avg_wait_secs),
        Cell::secs(f.p90_wait_secs),
        Cell::secs(f.avg_service_secs),
        Cell::num(f.service_level_pct),
        Cell::Int(f.no_shows.into()),
        Cell::num(f.no_show_pct),
        Cell::Int(f.cancelled_before_call.into()),
        Cell::Int(f.expired.into()),
    ]
}

/// The queue's figures on the report engine: a row per service with the
/// total, the operators' table, and arrivals by weekday and hour (a heat
/// map). The same [`compute`] the stats page reads; `branch_id` narrows it.
pub fn report(ctx: &Ctx) -> Result<Report, AppError> {
    if !ctx.who.can("queue.manage") && !ctx.who.can("reports.view_all") {
        return Err(ErrorKind::Forbidden.into());
    }
    let (lang, p) = (ctx.lang, ctx.period);
    let mut s = compute(ctx.db, ctx.tz, ctx.filters.branch_id, p.from, p.to, ctx.now_ms)?;
    s.localize(lang);
    let mut table = Table::new("services", t(lang, "report_queue.services"))
        .col("service", lang, "report_queue.service", Kind::Text)
        .col("target_wait", lang, "report_queue.target_wait", Kind::Duration)
        .col("issued", lang, "report_queue.issued", Kind::Integer)
        .col("called", lang, "report_queue.called", Kind::Integer)
        .col("served", lang, "report_queue.served", Kind::Integer)
        .col("avg_wait", lang, "report_queue.avg_wait", Kind::Duration)
        .col("p90_wait", lang, "report_queue.p90_wait", Kind::Duration)
        .col("avg_service", lang, "report_queue.avg_service", Kind::Duration)
        .col("service_level", lang, "report_queue.service_level", Kind::Percent)
        .col("no_shows", lang, "report_queue.no_shows", Kind::Integer)
        .col("no_show_pct", lang, "report_queue.no_show_pct", Kind::Percent)
        .col("cancelled", lang, "report_queue.cancelled", Kind::Integer)
        .col("expired", lang, "report_queue.expired", Kind::Integer);
    for svc in &s.services {
        table.rows.push(figure_cells(svc.name.clone(), Cell::Secs(i64::from(svc.target_wait_minutes) * 60), &svc.figures));
    }
    table.totals = Some(figure_cells(t(lang, "report.total").to_string(), Cell::Empty, &s.overall));

    let mut operators = Table::new("operators", t(lang, "report_queue.operators"))
        .col("operator", lang, "report_queue.operator", Kind::Text)
        .col("called", lang, "report_queue.called", Kind::Integer)
        .col("served", lang, "report_queue.served", Kind::Integer)
        .col("no_shows", lang, "report_queue.no_shows", Kind::Integer)
        .col("avg_service", lang, "report_queue.avg_service", Kind::Duration)
        .col("serving", lang, "report_queue.serving", Kind::Duration)
        .col("idle", lang, "report_queue.idle", Kind::Duration)
        .col("on_break", lang, "report_queue.on_break", Kind::Duration);
    for o in &s.operators {
        operators.rows.push(vec![
            Cell::Text(o.name.clone()),
            Cell::Int(o.called.into()),
            Cell::Int(o.served.into()),
            Cell::Int(o.no_shows.into()),
            Cell::secs(o.avg_service_secs),
            Cell::secs(Some(o.serving_secs)),
            Cell::secs(Some(o.idle_secs)),
            Cell::secs(Some(o.break_secs)),
        ]);
    }

    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let arrivals = Chart {
        key: "arrivals",
        title: t(lang, "report_queue.arrivals").to_string(),
        kind: ChartKind::Heat,
        unit: Kind::Integer,
        labels: (0..24).map(|h| format!("{h:02}")).collect(),
        series: days
            .iter()
            .zip(&s.arrivals)
            .map(|(d, hours)| Series {
                name: t(lang, &format!("admin.weekday_short.{d}")).to_string(),
                values: hours.iter().map(|n| Some(f64::from(*n))).collect(),
            })
            .collect(),
    };
    let names: Vec<String> = s.services.iter().map(|x| x.name.clone()).collect();
    let level = Chart {
        key: "service_level",
        title: t(lang, "report_queue.service_level_chart").to_string(),
        kind: ChartKind::HBars,
        unit: Kind::Percent,
        labels: names.clone(),
        series: vec![Series {
            name: t(lang, "report_queue.service_level").to_string(),
            values: s.services.iter().map(|x| x.figures.service_level_pct).collect(),
        }],
    };
    let waits = Chart {
        key: "waits",
        title: t(lang, "report_queue.waits_chart").to_string(),
        kind: ChartKind::Bars,
        unit: Kind::Duration,
        labels: names,
        series: vec![
            Series {
                name: t(lang, "report_queue.avg_wait").to_string(),
                values: s.services.iter().map(|x| x.figures.avg_wait_secs.map(|v| v as f64)).collect(),
            },
            Series {
                name: t(lang, "report_queue.p90_wait").to_string(),
                values: s.services.iter().map(|x| x.figures.p90_wait_secs.map(|v| v as f64)).collect(),
            },
        ],
    };
    let title = match &s.branch_name {
        Some(b) => format!("{} — {b}", t(lang, "report_queue.title")),
        None => t(lang, "report_queue.title").to_string(),
    };
    let mut r = Report::new("queue", title, p, table);
    r.more.push(operators);
    r.charts = vec![level, waits, arrivals];
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        assert_eq!(percentile(&[], 90), None);
        assert_eq!(percentile(&[5], 90), Some(5));
        // n = 10: rank ⌈9⌉ = 9.
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
        // n = 6: rank ⌈5.4⌉ = 6.
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6], 90), Some(6));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6], 50), Some(3));
    }

    #[test]
    fn ranges_are_ordered_and_at_most_366_days() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert!(check_range(d("2026-01-01"), d("2026-12-31")).is_ok());
        assert!(check_range(d("2024-01-01"), d("2024-12-31")).is_ok(), "366 days of a leap year");
        assert!(check_range(d("2026-01-01"), d("2027-01-01")).is_ok(), "366 days counting both ends");
        assert!(check_range(d("2026-01-01"), d("2027-01-02")).is_err());
        assert!(check_range(d("2026-02-02"), d("2026-02-01")).is_err());
    }

    #[test]
    fn numbers_use_the_languages_decimal_mark() {
        assert_eq!(num(Lang::Ru, 7.26), "7,3");
        assert_eq!(num(Lang::En, 7.0), "7");
        assert_eq!(num(Lang::Uz, 66.666), "66,7");
    }
}
