//! Task reports: the figures of people, departments and the company over a
//! [`Period`] of local days (the company's time zone, weeks Monday to
//! Sunday), for a caller. `employee`, `department`, `ranking` and
//! `company` of [`crate::reports`].
//!
//! # Whose tasks
//!
//! A task counts for the person it is assigned to *now* (a task handed to
//! someone else counts for the new assignee), and a person counts in the
//! department they are in now. The people of a report are the company's
//! active users in its scope, and anyone who has left but has a figure in
//! the period.
//!
//! # Definitions
//!
//! The period is `[start, end)`: from the first day's local midnight to the
//! midnight after the last day.
//!
//! * **received**: tasks created in the period, except those still waiting
//!   for a director's approval and those declined (never given).
//! * **done**: tasks completed (accepted by the reviewer) in the period.
//! * **done on time**: of those, handed in for review (the last time, if
//!   sent back) or completed no later than their deadline — the deadline
//!   as it stands: an extension that was granted is the deadline. The time
//!   a reviewer takes is not the assignee's lateness (the dashboards stop a
//!   task's clock at hand-in too).
//! * **on time %**: done on time / done, one decimal; `null` with nothing done.
//! * **overdue**: tasks whose deadline fell in the period (and has passed)
//!   that were not done on time: handed in and completed after it, or not
//!   completed yet (except one in review that was handed in by it). Rejected and declined tasks, and those waiting for approval, are
//!   not counted (nobody owed that work).
//! * **redo**: how many times the person's tasks were sent back for redo in
//!   the period (the history's moves to `redo` dated in it).
//! * **average time in progress**: the time spent working (the timer of
//!   *in progress*) on the tasks done in the period, averaged, in seconds.
//! * **points**: the points ledger's entries dated in the period (a task's
//!   points are earned when it is completed).
//! * **workload** (now, whatever the period): open tasks on the person's
//!   clock or late — not those handed in for review, nor those waiting for
//!   approval (what the manager's dashboard counts as open).
//! * **overdue list** (now): open tasks late now — marked by the overdue
//!   job, or past their deadline before it ran; *how late* is now minus the
//!   deadline.
//! * **ranking**: by points in the period, most first; people with equal
//!   points share a place and the next place is skipped (1, 1, 3); within a
//!   place, by name.
//! * **change %**: (this period − previous period) / previous period × 100,
//!   one decimal; `null` when the previous period is 0. The previous period
//!   is the one just before, of the same kind ([`Period::previous`]).
//!
//! # Reading
//!
//! Each person's tasks are read through `tasks_by_assignee`, and their whole
//! points ledger (small keys) first: a task the ledger shows completed
//! before the earliest period asked is in no figure and is not decoded. The
//! rest (tasks completed since, tasks without points, open ones) are
//! decoded; the history is read only for tasks sent back at least once. The
//! cost follows the people's recent work, not the company's history. Open
//! work and the late list come from `tasks_due` and the `Overdue` keys of
//! `tasks_by_status`, as on the dashboards. The category filter is not
//! used by these reports.

use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::reports::{Cell, Chart, ChartKind, Ctx, Kind, Period, Report, Scope, Series, Table, arrow, change_pct};
use crate::store::schema::{
    POINTS_LEDGER, TASK_EVENTS, TASKS, TASKS_BY_ASSIGNEE, TASKS_BY_DEPARTMENT, TASKS_BY_STATUS, TASKS_DUE, TaskStatus, TaskV1, USERS,
    status_byte,
};
use crate::store::{Db, store_err};
use crate::tasks::status_code;
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use redb::ReadableTable;
use std::collections::{HashMap, HashSet};

/// Days of the points history chart.
pub const HISTORY_DAYS: i64 = 90;
/// People in the company report's best list.
pub const BEST: usize = 5;

// ---------- people ----------

/// A person a report may show.
#[derive(Debug, Clone)]
struct Person {
    id: u64,
    name: String,
    dept: Option<u64>,
    active: bool,
}

fn everyone(db: &Db, branch: Option<u64>) -> Result<Vec<Person>, AppError> {
    let tx = db.read()?;
    let mut out = Vec::new();
    for (id, a) in USERS.open(&tx)?.all()? {
        if branch.is_some_and(|b| a.branch_id != Some(b)) {
            continue;
        }
        let name = if a.full_name.is_empty() { a.username } else { a.full_name };
        out.push(Person { id, name, dept: a.department_id, active: a.active });
    }
    Ok(out)
}

fn forbidden() -> AppError {
    ErrorKind::Forbidden.into()
}

/// The people a report covers for the caller: their scope narrowed by the
/// `user_id`, `department_id` and `branch_id` filters. Asking for someone
/// or a department outside the scope is refused.
fn people(ctx: &Ctx) -> Result<Vec<Person>, AppError> {
    let all = everyone(ctx.db, ctx.filters.branch_id)?;
    let f = ctx.filters;
    let mut out: Vec<Person> = match &ctx.scope {
        Scope::Me(me) => {
            if f.user_id.is_some_and(|u| u != *me) {
                return Err(forbidden());
            }
            let mine: Vec<Person> = all.into_iter().filter(|p| p.id == *me).collect();
            if f.department_id.is_some_and(|d| mine.iter().all(|p| p.dept != Some(d))) {
                return Err(forbidden());
            }
            mine
        }
        scope => {
            let dept = scope.department(f.department_id)?;
            let mut v: Vec<Person> = all.into_iter().filter(|p| dept.is_none_or(|d| p.dept == Some(d))).collect();
            if let Some(u) = f.user_id {
                v.retain(|p| p.id == u);
                if v.is_empty() {
                    return Err(match scope {
                        Scope::All => AppError::invalid("user_id", "validation.user"),
                        _ => forbidden(),
                    });
                }
            }
            v
        }
    };
    out.retain(|p| ctx.scope.sees(p.id, p.dept));
    Ok(out)
}

// ---------- figures ----------

/// One person's figures over one period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Fig {
    received: i64,
    done: i64,
    on_time: i64,
    overdue: i64,
    redo: i64,
    /// Time in progress of the tasks done, in ms.
    spent_ms: i64,
    points: i64,
}

impl Fig {
    fn add(&mut self, o: &Fig) {
        self.received += o.received;
        self.done += o.done;
        self.on_time += o.on_time;
        self.overdue += o.overdue;
        self.redo += o.redo;
        self.spent_ms += o.spent_ms;
        self.points += o.points;
    }

    fn is_empty(&self) -> bool {
        *self == Fig::default()
    }

    fn on_time_pct(&self) -> Option<f64> {
        (self.done > 0).then(|| round1(self.on_time as f64 * 100.0 / self.done as f64))
    }

    fn avg_secs(&self) -> Option<i64> {
        (self.done > 0).then(|| (self.spent_ms as f64 / self.done as f64 / 1000.0).round() as i64)
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `[start, end)` in ms and the moment up to which deadlines have passed.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
    /// `min(end, now)`: deadlines before it have passed.
    due_by: i64,
}

/// What one read of people's tasks gives.
#[derive(Debug, Default)]
struct Read {
    /// Per person, one [`Fig`] per window.
    figs: HashMap<u64, Vec<Fig>>,
    /// Open tasks now (workload), per person.
    open: HashMap<u64, i64>,
    /// Completions in any window: (person, completed at).
    done_at: Vec<(u64, i64)>,
    /// Ledger entries since `history_since`: (person, at, points).
    ledger: Vec<(u64, i64, i64)>,
}

/// Ids of open tasks now: on their assignee's clock, or late.
fn open_ids(db: &Db) -> Result<HashSet<u64>, AppError> {
    let tx = db.read()?;
    let mut ids = HashSet::new();
    for row in tx.open_table(TASKS_DUE).map_err(store_err)?.iter().map_err(store_err)? {
        ids.insert(row.map_err(store_err)?.0.value().1);
    }
    let b = status_byte(TaskStatus::Overdue);
    for row in tx.open_table(TASKS_BY_STATUS).map_err(store_err)?.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
        ids.insert(row.map_err(store_err)?.0.value().1);
    }
    Ok(ids)
}

/// Whether a task's history shows it sent back in `w`, how many times.
fn redos_in(tx: &crate::store::Snapshot, id: u64, windows: &[Window], out: &mut [Fig]) -> Result<(), AppError> {
    let redo = status_code(TaskStatus::Redo);
    for e in crate::workflow::history(tx, TASK_EVENTS, id)? {
        if e.kind == "status" && e.to.as_deref() == Some(redo) {
            for (w, f) in windows.iter().zip(out.iter_mut()) {
                if e.at >= w.start && e.at < w.end {
                    f.redo += 1;
                }
            }
        }
    }
    Ok(())
}

/// When a completed task was last handed in for review before it was
/// accepted (its history's last move to `pending_review`), if it was.
fn handed_in(tx: &crate::store::Snapshot, id: u64, completed: i64) -> Result<Option<i64>, AppError> {
    let review = status_code(TaskStatus::PendingReview);
    Ok(crate::workflow::history(tx, TASK_EVENTS, id)?
        .into_iter()
        .filter(|e| e.kind == "status" && e.to.as_deref() == Some(review) && e.at <= completed)
        .map(|e| e.at)
        .max())
}

/// Adds a task's figures to each window's; `handed_in`: when it was last
/// handed in for review, read only for a task accepted after its deadline
/// or in review now (one handed in by its deadline is not overdue).
fn count(t: &TaskV1, handed_in: Option<i64>, windows: &[Window], out: &mut [Fig]) {
    use TaskStatus as S;
    let completed = if t.status == S::Completed { t.completed_at } else { None };
    // On time: accepted by the deadline, or handed in by it (the reviewer's
    // time is not the assignee's lateness, as on the dashboards, where the
    // clock stops at hand-in).
    let handed_ok = handed_in.is_some_and(|h| h <= t.deadline);
    let in_time = completed.is_some_and(|c| c <= t.deadline || handed_ok);
    for (w, f) in windows.iter().zip(out.iter_mut()) {
        if t.created_at >= w.start && t.created_at < w.end && !matches!(t.status, S::AwaitingApproval | S::Declined) {
            f.received += 1;
        }
        if let Some(c) = completed
            && c >= w.start
            && c < w.end
        {
            f.done += 1;
            f.on_time += i64::from(in_time);
            f.spent_ms += t.spent_ms;
        }
        if t.deadline >= w.start
            && t.deadline < w.due_by
            && !in_time
            && !(t.status == S::PendingReview && handed_ok)
            && !matches!(t.status, S::Rejected | S::Declined | S::AwaitingApproval)
        {
            f.overdue += 1;
        }
    }
}

/// Reads the figures of `people` over each window, their open tasks now,
/// their completions, and their ledger since `history_since`.
fn read(db: &Db, people: &[u64], windows: &[Window], history_since: i64) -> Result<Read, AppError> {
    let earliest = windows.iter().map(|w| w.start).min().unwrap_or(i64::MAX);
    let open = open_ids(db)?;
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let by_assignee = tx.open_table(TASKS_BY_ASSIGNEE).map_err(store_err)?;
    let ledger = tx.open_table(POINTS_LEDGER).map_err(store_err)?;
    let mut r = Read::default();
    for &u in people {
        let mut figs = vec![Fig::default(); windows.len()];
        // The ledger: points, and when each task with points was completed.
        let mut completed: HashMap<u64, i64> = HashMap::new();
        for row in ledger.range((u, i64::MIN, 0)..=(u, i64::MAX, u64::MAX)).map_err(store_err)? {
            let (k, v) = row.map_err(store_err)?;
            let (_, at, task) = k.value();
            let n = i64::from(v.value());
            completed.insert(task, at);
            for (w, f) in windows.iter().zip(figs.iter_mut()) {
                if at >= w.start && at < w.end {
                    f.points += n;
                }
            }
            if at >= history_since {
                r.ledger.push((u, at, n));
            }
        }
        let mut open_now = 0;
        for row in by_assignee.range((u, 0)..=(u, u64::MAX)).map_err(store_err)? {
            let id = row.map_err(store_err)?.0.value().1;
            if open.contains(&id) {
                open_now += 1;
            }
            // Completed before every period asked: in no figure.
            if completed.get(&id).is_some_and(|c| *c < earliest) {
                continue;
            }
            let Some(t) = tasks.get(id)? else { continue };
            if t.assignee_id != u {
                continue;
            }
            // The hand-in time matters only for a task accepted after its
            // deadline, or in review now: their history is read, no other's.
            let handed = match t.status {
                TaskStatus::Completed => match t.completed_at.filter(|c| *c > t.deadline) {
                    Some(c) => handed_in(&tx, id, c)?,
                    None => None,
                },
                TaskStatus::PendingReview => handed_in(&tx, id, i64::MAX)?,
                _ => None,
            };
            count(&t, handed, windows, &mut figs);
            if let Some(c) = t.completed_at.filter(|_| t.status == TaskStatus::Completed)
                && windows.iter().any(|w| c >= w.start && c < w.end)
            {
                r.done_at.push((u, c));
            }
            // Sent back at least once, and not finished before the periods.
            if t.redo_count > 0 && t.completed_at.is_none_or(|c| c >= earliest) {
                redos_in(&tx, id, windows, &mut figs)?;
            }
        }
        r.open.insert(u, open_now);
        r.figs.insert(u, figs);
    }
    Ok(r)
}

/// The window of a period.
fn window(p: &Period, tz: &TimeZone, now: i64) -> Result<Window, AppError> {
    let (start, end) = p.bounds(tz)?;
    Ok(Window { start, end, due_by: end.min(now) })
}

// ---------- cells ----------

fn secs(v: Option<i64>) -> Cell {
    v.map(Cell::Secs).unwrap_or(Cell::Empty)
}

/// A line of the company report: a department's (or the totals') figures
/// now and the change of its done tasks against the previous period.
fn department_line(id: Cell, name: String, people: i64, f: &Fig, b: &Fig) -> Vec<Cell> {
    vec![
        id,
        Cell::Text(name),
        Cell::Int(people),
        Cell::Int(f.received),
        Cell::Int(f.done),
        Cell::num(f.on_time_pct()),
        Cell::Int(f.overdue),
        Cell::Int(f.points),
        Cell::Int(b.done),
        Cell::num(change_pct(f.done as f64, b.done as f64)),
    ]
}

fn dept_name(names: &HashMap<u64, String>, lang: Lang, d: Option<u64>) -> String {
    match d {
        Some(d) => names.get(&d).cloned().unwrap_or_default(),
        None => t(lang, "report_tasks.no_department").to_string(),
    }
}

fn by_name(a: &Person, b: &Person) -> std::cmp::Ordering {
    a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id))
}

/// The employee table's columns.
fn employee_table(key: &'static str, title: String, lang: Lang, workload: bool) -> Table {
    let mut t = Table::new(key, title)
        .col("user_id", lang, "report_tasks.col.user_id", Kind::Integer)
        .col("name", lang, "report_tasks.col.name", Kind::Text)
        .col("department", lang, "report_tasks.col.department", Kind::Text)
        .col("received", lang, "report_tasks.col.received", Kind::Integer)
        .col("done", lang, "report_tasks.col.done", Kind::Integer)
        .col("on_time", lang, "report_tasks.col.on_time", Kind::Integer)
        .col("on_time_pct", lang, "report_tasks.col.on_time_pct", Kind::Percent)
        .col("overdue", lang, "report_tasks.col.overdue", Kind::Integer)
        .col("redo", lang, "report_tasks.col.redo", Kind::Integer)
        .col("avg_work", lang, "report_tasks.col.avg_work", Kind::Duration)
        .col("points", lang, "report_tasks.col.points", Kind::Integer);
    if workload {
        t = t.col("workload", lang, "report_tasks.col.workload", Kind::Integer);
    }
    t
}

fn fig_cells(f: &Fig) -> Vec<Cell> {
    vec![
        Cell::Int(f.received),
        Cell::Int(f.done),
        Cell::Int(f.on_time),
        Cell::num(f.on_time_pct()),
        Cell::Int(f.overdue),
        Cell::Int(f.redo),
        secs(f.avg_secs()),
        Cell::Int(f.points),
    ]
}

/// The people with their figures over the period (the first window):
/// active ones, and those who left with a figure in it; by name.
struct Rows {
    people: Vec<Person>,
    read: Read,
}

impl Rows {
    fn fig(&self, id: u64, w: usize) -> Fig {
        self.read.figs.get(&id).and_then(|v| v.get(w)).copied().unwrap_or_default()
    }

    fn open(&self, id: u64) -> i64 {
        self.read.open.get(&id).copied().unwrap_or(0)
    }
}

fn rows(ctx: &Ctx, windows: &[Window], history_since: i64) -> Result<Rows, AppError> {
    let mut people = people(ctx)?;
    let ids: Vec<u64> = people.iter().map(|p| p.id).collect();
    let read = read(ctx.db, &ids, windows, history_since)?;
    people.retain(|p| p.active || read.figs.get(&p.id).is_some_and(|v| v.iter().any(|f| !f.is_empty())));
    people.sort_by(by_name);
    Ok(Rows { people, read })
}

/// The employee rows (and totals) into `table`.
fn fill(table: &mut Table, r: &Rows, names: &HashMap<u64, String>, lang: Lang, workload: bool) {
    let mut total = Fig::default();
    let mut open = 0;
    for p in &r.people {
        let f = r.fig(p.id, 0);
        total.add(&f);
        let mut row = vec![Cell::Int(p.id as i64), Cell::Text(p.name.clone()), Cell::Text(dept_name(names, lang, p.dept))];
        row.extend(fig_cells(&f));
        if workload {
            open += r.open(p.id);
            row.push(Cell::Int(r.open(p.id)));
        }
        table.rows.push(row);
    }
    let mut totals = vec![Cell::Empty, Cell::Text(t(lang, "report.total").to_string()), Cell::Empty];
    totals.extend(fig_cells(&total));
    if workload {
        totals.push(Cell::Int(open));
    }
    table.totals = Some(totals);
}

/// Local days `from..=to` and the index of a moment among them.
fn day_of(ms: i64, from: Date, days: i64, tz: &TimeZone) -> Option<usize> {
    let d = crate::clock::from_ms(ms).to_zoned(tz.clone()).date();
    let i = (d - from).get_days() as i64;
    (0..days).contains(&i).then_some(i as usize)
}

/// A day on a chart's axis: `03.12` (the period says the year).
fn label(d: Date) -> String {
    d.strftime("%d.%m").to_string()
}

// ---------- the reports ----------

/// Tasks received, done, on time, overdue, sent back, time in progress and
/// points per person in scope, with the points by day over the 90 days
/// ending with the period (or today, while it runs).
pub fn employee(ctx: &Ctx) -> Result<Report, AppError> {
    let lang = ctx.lang;
    let w = window(&ctx.period, ctx.tz, ctx.now_ms)?;
    // The 90 days up to the period's end, or up to today while it runs (no empty future on the chart).
    let last = ctx.period.to.min(crate::reports::today(ctx.now_ms, ctx.tz).max(ctx.period.from));
    let first = last.checked_sub((HISTORY_DAYS - 1).days()).map_err(|_| AppError::invalid("to", "validation.date"))?;
    let since = first.to_zoned(ctx.tz.clone()).map_err(|_| AppError::invalid("to", "validation.date"))?.timestamp().as_millisecond();
    let r = rows(ctx, &[w], since)?;
    let names = crate::org::service::department_names(ctx.db, lang)?;
    let mut table = employee_table("employee", t(lang, "report_tasks.employee.title").to_string(), lang, false);
    fill(&mut table, &r, &names, lang, false);
    let title = match r.people.as_slice() {
        [one] => format!("{} — {}", t(lang, "report_tasks.employee.title"), one.name),
        _ => t(lang, "report_tasks.employee.title").to_string(),
    };
    let mut report = Report::new("employee", title, ctx.period, table);
    // Points by day, of the people shown.
    let shown: HashSet<u64> = r.people.iter().map(|p| p.id).collect();
    let mut values = vec![0.0; HISTORY_DAYS as usize];
    for (u, at, n) in &r.read.ledger {
        if shown.contains(u)
            && let Some(v) = day_of(*at, first, HISTORY_DAYS, ctx.tz).and_then(|i| values.get_mut(i))
        {
            *v += *n as f64;
        }
    }
    let labels = first.series(1.day()).take(HISTORY_DAYS as usize).map(label).collect();
    let name = match r.people.as_slice() {
        [one] => one.name.clone(),
        _ => t(lang, "report_tasks.col.points").to_string(),
    };
    report.charts.push(Chart {
        key: "points",
        title: t(lang, "report_tasks.chart.points").to_string(),
        kind: ChartKind::Bars,
        unit: Kind::Integer,
        labels,
        series: vec![Series { name, values: values.into_iter().map(Some).collect() }],
    });
    Ok(report)
}

/// One department's people (a manager's own; with `reports.view_all` the
/// one asked, or every department's), with their open work now, the
/// department's late tasks now, and done on time against late per person.
pub fn department(ctx: &Ctx) -> Result<Report, AppError> {
    ctx.scope.require_team()?;
    let lang = ctx.lang;
    let dept = ctx.scope.department(ctx.filters.department_id)?;
    let names = crate::org::service::department_names(ctx.db, lang)?;
    if let Some(d) = dept
        && !names.contains_key(&d)
    {
        return Err(AppError::invalid("department_id", "validation.department"));
    }
    let w = window(&ctx.period, ctx.tz, ctx.now_ms)?;
    let r = rows(ctx, &[w], i64::MAX)?;
    let base = t(lang, "report_tasks.department.title");
    let title = match dept {
        Some(d) => format!("{base} — {}", dept_name(&names, lang, Some(d))),
        None => base.to_string(),
    };
    let mut table = employee_table("department", title.clone(), lang, true);
    fill(&mut table, &r, &names, lang, true);
    let mut report = Report::new("department", title, ctx.period, table);
    report.more.push(late_now(ctx, dept, &r.people)?);
    let mut on_time = Vec::new();
    let mut late = Vec::new();
    for p in &r.people {
        let f = r.fig(p.id, 0);
        on_time.push(Some(f.on_time as f64));
        late.push(Some((f.done - f.on_time) as f64));
    }
    report.charts.push(Chart {
        key: "on_time",
        title: t(lang, "report_tasks.chart.on_time").to_string(),
        kind: ChartKind::StackedBars,
        unit: Kind::Integer,
        labels: r.people.iter().map(|p| p.name.clone()).collect(),
        series: vec![
            Series { name: t(lang, "report_tasks.series.on_time").to_string(), values: on_time },
            Series { name: t(lang, "report_tasks.series.late").to_string(), values: late },
        ],
    });
    Ok(report)
}

/// The late tasks now of `people` (narrowed to the department first when
/// there is one), most late first.
fn late_now(ctx: &Ctx, dept: Option<u64>, people: &[Person]) -> Result<Table, AppError> {
    let lang = ctx.lang;
    let now = ctx.now_ms;
    let names: HashMap<u64, &str> = people.iter().map(|p| (p.id, p.name.as_str())).collect();
    let tx = ctx.db.read()?;
    let mut ids = Vec::new();
    for row in tx.open_table(TASKS_DUE).map_err(store_err)?.range(..(now, 0)).map_err(store_err)? {
        ids.push(row.map_err(store_err)?.0.value().1);
    }
    let b = status_byte(TaskStatus::Overdue);
    for row in tx.open_table(TASKS_BY_STATUS).map_err(store_err)?.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
        ids.push(row.map_err(store_err)?.0.value().1);
    }
    ids.sort_unstable();
    ids.dedup();
    let by_department = tx.open_table(TASKS_BY_DEPARTMENT).map_err(store_err)?;
    let tasks = TASKS.open(&tx)?;
    let mut late = Vec::new();
    for id in ids {
        if let Some(d) = dept
            && by_department.get((d, id)).map_err(store_err)?.is_none()
        {
            continue;
        }
        let Some(t) = tasks.get(id)? else { continue };
        let is_late = t.status == TaskStatus::Overdue || (crate::tasks::on_the_clock(t.status) && t.deadline < now);
        if let Some(name) = names.get(&t.assignee_id).filter(|_| is_late) {
            late.push((id, t.title, name.to_string(), t.deadline));
        }
    }
    late.sort_by_key(|(id, _, _, deadline)| (*deadline, *id));
    let mut table = Table::new("overdue", t(lang, "report_tasks.overdue.title"))
        .col("task_id", lang, "report_tasks.col.task_id", Kind::Integer)
        .col("task", lang, "report_tasks.col.task", Kind::Text)
        .col("assignee", lang, "report_tasks.col.name", Kind::Text)
        .col("deadline", lang, "report_tasks.col.deadline", Kind::DateTime)
        .col("late", lang, "report_tasks.col.late", Kind::Duration);
    for (id, title, name, deadline) in late {
        table.rows.push(vec![
            Cell::Int(id as i64),
            Cell::Text(title),
            Cell::Text(name),
            Cell::Time(deadline),
            Cell::Secs(((now - deadline) / 1000).max(0)),
        ]);
    }
    Ok(table)
}

/// Places by points, most first: equal points share a place, the next is
/// skipped (1, 1, 3).
fn places(points: &[i64]) -> Vec<i64> {
    points.iter().map(|p| 1 + points.iter().filter(|q| *q > p).count() as i64).collect()
}

/// The people of `r` by points in the first window, most first, then by name.
fn ranked(r: &Rows) -> Vec<(i64, &Person, Fig)> {
    let mut v: Vec<(&Person, Fig)> = r.people.iter().map(|p| (p, r.fig(p.id, 0))).collect();
    v.sort_by(|(a, fa), (b, fb)| fb.points.cmp(&fa.points).then_with(|| by_name(a, b)));
    let pts: Vec<i64> = v.iter().map(|(_, f)| f.points).collect();
    places(&pts).into_iter().zip(v).map(|(place, (p, f))| (place, p, f)).collect()
}

fn ranking_table(key: &'static str, title: String, lang: Lang) -> Table {
    Table::new(key, title)
        .col("place", lang, "report_tasks.col.place", Kind::Integer)
        .col("user_id", lang, "report_tasks.col.user_id", Kind::Integer)
        .col("name", lang, "report_tasks.col.name", Kind::Text)
        .col("department", lang, "report_tasks.col.department", Kind::Text)
        .col("points", lang, "report_tasks.col.points", Kind::Integer)
        .col("done", lang, "report_tasks.col.done", Kind::Integer)
}

fn ranking_row(place: i64, p: &Person, f: &Fig, names: &HashMap<u64, String>, lang: Lang) -> Vec<Cell> {
    vec![
        Cell::Int(place),
        Cell::Int(p.id as i64),
        Cell::Text(p.name.clone()),
        Cell::Text(dept_name(names, lang, p.dept)),
        Cell::Int(f.points),
        Cell::Int(f.done),
    ]
}

/// The people in scope by points in the period (a manager: their
/// department; with `reports.view_all`: the department asked, or all).
pub fn ranking(ctx: &Ctx) -> Result<Report, AppError> {
    ctx.scope.require_team()?;
    let lang = ctx.lang;
    let w = window(&ctx.period, ctx.tz, ctx.now_ms)?;
    let r = rows(ctx, &[w], i64::MAX)?;
    let names = crate::org::service::department_names(ctx.db, lang)?;
    let title = t(lang, "report_tasks.ranking.title").to_string();
    let mut table = ranking_table("ranking", title.clone(), lang);
    let list = ranked(&r);
    let mut total = Fig::default();
    for (place, p, f) in &list {
        total.add(f);
        table.rows.push(ranking_row(*place, p, f, &names, lang));
    }
    table.totals = Some(vec![
        Cell::Empty,
        Cell::Empty,
        Cell::Text(t(lang, "report.total").to_string()),
        Cell::Empty,
        Cell::Int(total.points),
        Cell::Int(total.done),
    ]);
    let mut report = Report::new("ranking", title, ctx.period, table);
    report.notes.push(t(lang, "report_tasks.ranking.rule").to_string());
    let top: Vec<_> = list.iter().take(20).collect();
    report.charts.push(Chart {
        key: "points",
        title: t(lang, "report_tasks.chart.ranking").to_string(),
        kind: ChartKind::HBars,
        unit: Kind::Integer,
        labels: top.iter().map(|(_, p, _)| p.name.clone()).collect(),
        series: vec![Series {
            name: t(lang, "report_tasks.col.points").to_string(),
            values: top.iter().map(|(_, _, f)| Some(f.points as f64)).collect(),
        }],
    });
    Ok(report)
}

/// The company by department against the previous period, its best people,
/// its trends, done by day and the departments compared.
pub fn company(ctx: &Ctx) -> Result<Report, AppError> {
    if ctx.scope != Scope::All {
        return Err(forbidden());
    }
    let lang = ctx.lang;
    let prev = ctx.period.comparable_previous(crate::reports::today(ctx.now_ms, ctx.tz))?;
    let windows = [window(&ctx.period, ctx.tz, ctx.now_ms)?, window(&prev, ctx.tz, ctx.now_ms)?];
    let r = rows(ctx, &windows, i64::MAX)?;
    let names = crate::org::service::department_names(ctx.db, lang)?;

    // Departments by name; people without one last.
    let mut depts: Vec<Option<u64>> = r.people.iter().map(|p| p.dept).collect();
    depts.sort_unstable();
    depts.dedup();
    depts.sort_by_key(|d| (d.is_none(), dept_name(&names, lang, *d).to_lowercase()));
    let title = t(lang, "report_tasks.company.title").to_string();
    let mut table = Table::new("company", title.clone())
        .col("department_id", lang, "report_tasks.col.department_id", Kind::Integer)
        .col("department", lang, "report_tasks.col.department", Kind::Text)
        .col("people", lang, "report_tasks.col.people", Kind::Integer)
        .col("received", lang, "report_tasks.col.received", Kind::Integer)
        .col("done", lang, "report_tasks.col.done", Kind::Integer)
        .col("on_time_pct", lang, "report_tasks.col.on_time_pct", Kind::Percent)
        .col("overdue", lang, "report_tasks.col.overdue", Kind::Integer)
        .col("points", lang, "report_tasks.col.points", Kind::Integer)
        .col("done_before", lang, "report_tasks.col.done_before", Kind::Integer)
        .col("change_pct", lang, "report_tasks.col.change_pct", Kind::Percent);
    let (mut now_total, mut before_total, mut people_total) = (Fig::default(), Fig::default(), 0i64);
    let mut compared = Vec::new();
    for d in &depts {
        let members: Vec<&Person> = r.people.iter().filter(|p| p.dept == *d).collect();
        let (mut f, mut b) = (Fig::default(), Fig::default());
        for p in &members {
            f.add(&r.fig(p.id, 0));
            b.add(&r.fig(p.id, 1));
        }
        // People without a department (the owner, a director) show only when they worked.
        if d.is_none() && f.is_empty() && b.is_empty() {
            continue;
        }
        now_total.add(&f);
        before_total.add(&b);
        people_total += members.len() as i64;
        table.rows.push(department_line(
            d.map(|d| Cell::Int(d as i64)).unwrap_or(Cell::Empty),
            dept_name(&names, lang, *d),
            members.len() as i64,
            &f,
            &b,
        ));
        compared.push((dept_name(&names, lang, *d), f));
    }
    table.totals = Some(department_line(Cell::Empty, t(lang, "report.total").to_string(), people_total, &now_total, &before_total));
    let mut report = Report::new("company", title, ctx.period, table);
    report.previous = Some(prev);

    // The best of the period, by the ranking's rule.
    let mut best = ranking_table("best", t(lang, "report_tasks.best.title").to_string(), lang);
    for (place, p, f) in ranked(&r).into_iter().filter(|(_, _, f)| f.points > 0).take(BEST) {
        best.rows.push(ranking_row(place, p, &f, &names, lang));
    }
    report.more.push(best);

    // Trends: the company's figures against the previous period.
    let mut trends = Table::new("trends", t(lang, "report_tasks.trends.title"))
        .col("figure", lang, "report_tasks.col.figure", Kind::Text)
        .col("this_period", lang, "report_tasks.col.this_period", Kind::Number)
        .col("previous_period", lang, "report_tasks.col.previous_period", Kind::Number)
        .col("change_pct", lang, "report_tasks.col.change_pct", Kind::Percent)
        .col("trend", lang, "report_tasks.col.trend", Kind::Text);
    let (n, b) = (&now_total, &before_total);
    // Each figure keeps its own type (a count, a share, a length of time), so
    // every front-end shows it as what it is.
    let count = |v: u64| (Some(v as f64), Cell::Int(i64::try_from(v).unwrap_or(i64::MAX)));
    let share = |v: Option<f64>| (v, v.map(Cell::Num).unwrap_or(Cell::Empty));
    let time = |v: Option<i64>| (v.map(|s| s as f64), v.map(Cell::Secs).unwrap_or(Cell::Empty));
    type Figure = (Option<f64>, Cell);
    let figures: [(&str, Figure, Figure); 7] = [
        ("report_tasks.col.received", count(n.received as u64), count(b.received as u64)),
        ("report_tasks.col.done", count(n.done as u64), count(b.done as u64)),
        ("report_tasks.col.on_time_pct", share(n.on_time_pct()), share(b.on_time_pct())),
        ("report_tasks.col.overdue", count(n.overdue as u64), count(b.overdue as u64)),
        ("report_tasks.col.redo", count(n.redo as u64), count(b.redo as u64)),
        ("report_tasks.col.avg_work", time(n.avg_secs()), time(b.avg_secs())),
        ("report_tasks.col.points", count(n.points as u64), count(b.points as u64)),
    ];
    for (key, (this, this_cell), (before, before_cell)) in figures {
        let c = match (this, before) {
            (Some(x), Some(y)) => change_pct(x, y),
            _ => None,
        };
        trends.rows.push(vec![Cell::Text(t(lang, key).to_string()), this_cell, before_cell, Cell::num(c), Cell::Text(arrow(c, lang))]);
    }
    report.more.push(trends);

    // Done by day, this period and the one before laid over it.
    let days = i64::from(ctx.period.days());
    let prev_days = i64::from(prev.days());
    let shown: HashSet<u64> = r.people.iter().map(|p| p.id).collect();
    let mut this_days = vec![Some(0.0); days as usize];
    let mut before_days: Vec<Option<f64>> = (0..days).map(|i| (i < prev_days).then_some(0.0)).collect();
    for (u, at) in &r.read.done_at {
        if !shown.contains(u) {
            continue;
        }
        if let Some(Some(v)) = day_of(*at, ctx.period.from, days, ctx.tz).and_then(|i| this_days.get_mut(i)) {
            *v += 1.0;
        } else if let Some(Some(v)) = day_of(*at, prev.from, prev_days, ctx.tz).and_then(|i| before_days.get_mut(i)) {
            *v += 1.0;
        }
    }
    report.charts.push(Chart {
        key: "done_by_day",
        title: t(lang, "report_tasks.chart.done_by_day").to_string(),
        kind: ChartKind::Line,
        unit: Kind::Integer,
        labels: ctx.period.each_day().map(label).collect(),
        series: vec![
            Series { name: t(lang, "report_tasks.series.this_period").to_string(), values: this_days },
            Series { name: t(lang, "report_tasks.series.previous_period").to_string(), values: before_days },
        ],
    });
    report.charts.push(Chart {
        key: "departments",
        title: t(lang, "report_tasks.chart.departments").to_string(),
        kind: ChartKind::HBars,
        unit: Kind::Integer,
        labels: compared.iter().map(|(n, _)| n.clone()).collect(),
        series: vec![
            Series {
                name: t(lang, "report_tasks.col.done").to_string(),
                values: compared.iter().map(|(_, f)| Some(f.done as f64)).collect(),
            },
            Series {
                name: t(lang, "report_tasks.col.overdue").to_string(),
                values: compared.iter().map(|(_, f)| Some(f.overdue as f64)).collect(),
            },
        ],
    });
    report.notes.push(tf(
        lang,
        "report_tasks.company.previous",
        &[("from", &prev.from.strftime("%d.%m.%Y").to_string()), ("to", &prev.to.strftime("%d.%m.%Y").to_string())],
    ));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_points_share_a_place_and_the_next_is_skipped() {
        assert_eq!(places(&[30, 30, 20, 10, 10, 0]), vec![1, 1, 3, 4, 4, 6]);
        assert_eq!(places(&[]), Vec::<i64>::new());
    }
}
