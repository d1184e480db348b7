//! The home dashboard: for each role, what needs the caller now. One read
//! per role, taking a [`Caller`]; the page and the API only render it.
//!
//! Every figure comes from an index bounded by current work, never by the
//! company's history: late tasks are the `Overdue` keys of `tasks_by_status`
//! with the `tasks_due` keys past their deadline (not marked yet); open work
//! is `tasks_due` with them; a task is narrowed to a person or a department
//! by a key lookup in `tasks_by_assignee` / `tasks_by_department` before it
//! is decoded; points (mine, my place, the department's, the best of the
//! month) are each person's `task_points` ledger since the first of the
//! month and their running total; today's queue is
//! `queue_tickets_by_branch_day` of today. Nothing walks a person's or the
//! company's finished tasks.

use crate::auth::Caller;
use crate::error::AppError;
use crate::store::schema::{
    AuditV1, POINTS_LEDGER, TASKS, TASKS_BY_ASSIGNEE, TASKS_BY_DEPARTMENT, TASKS_BY_STATUS, TASKS_DUE, TICKETS, TICKETS_BY_BRANCH_DAY,
    TaskStatus, TaskV1, TicketStatus, status_byte,
};
use crate::store::{Db, Txn, store_err};
use crate::tasks::service::{self as tasks, Points};
use redb::ReadableTable;
use std::collections::HashMap;

/// How many lines a list of the dashboard shows at most.
pub const LIST_MAX: usize = 8;
/// Open tasks at which a person counts as overloaded.
pub const OVERLOAD: usize = 5;

/// Which dashboard a role gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Employee,
    Manager,
    Director,
    Operator,
    Admin,
}

impl Kind {
    pub fn of(who: &Caller) -> Kind {
        match who.role() {
            Some("owner" | "director") => Kind::Director,
            Some("manager") => Kind::Manager,
            Some("operator") => Kind::Operator,
            Some("admin") => Kind::Admin,
            _ => Kind::Employee,
        }
    }
}

/// A task as a dashboard line.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: u64,
    pub title: String,
    pub status: TaskStatus,
    pub deadline: i64,
    pub assignee_id: u64,
    /// While the assignee works on it: since when (the timer runs).
    pub working_since: Option<i64>,
    /// Time spent so far, in seconds (with the running stretch).
    pub spent_secs: i64,
    /// Sent back for redo: the reviewer's reason.
    pub reason: Option<String>,
}

fn line(id: u64, t: &TaskV1, now: i64) -> Line {
    Line {
        id,
        title: t.title.clone(),
        status: t.status,
        deadline: t.deadline,
        assignee_id: t.assignee_id,
        working_since: t.working_since,
        spent_secs: tasks::time_spent_secs(t, now),
        reason: None,
    }
}

/// An employee's day.
#[derive(Debug, Clone, Default)]
pub struct Mine {
    pub due_today: Vec<Line>,
    pub overdue: Vec<Line>,
    pub redo: Vec<Line>,
    pub points: Points,
    /// My place among colleagues by this month's points (1 is first), and
    /// how many earned any; `None` before I earned any this month.
    pub place: Option<(usize, usize)>,
}

/// A person's open tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    pub user_id: u64,
    pub name: String,
    pub open: usize,
    pub overdue: usize,
}

/// A manager's department.
#[derive(Debug, Clone, Default)]
pub struct Team {
    pub review: usize,
    pub department_id: Option<u64>,
    pub department: String,
    pub overdue: usize,
    /// Open tasks per person, most first.
    pub load: Vec<Load>,
    pub points_month: u64,
}

/// Late tasks of one department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeptOverdue {
    pub department_id: Option<u64>,
    pub name: String,
    pub overdue: usize,
}

/// Today's queue at a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchToday {
    pub branch_id: u64,
    pub name: String,
    pub waiting: usize,
    pub served: usize,
    /// How long the one waiting longest has waited, in seconds.
    pub longest_wait_secs: Option<i64>,
}

/// A person and their points this month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Best {
    pub user_id: u64,
    pub name: String,
    pub points: u64,
}

/// A director's or owner's company.
#[derive(Debug, Clone, Default)]
pub struct Company {
    pub approval: usize,
    /// Late tasks whose assignee asked for a new deadline.
    pub extensions: Vec<Line>,
    pub overdue: usize,
    pub overdue_by_department: Vec<DeptOverdue>,
    pub queue: Vec<BranchToday>,
    pub best: Vec<Best>,
}

/// An operator's window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Branch id, branch name, window number; `None` when not placed at one.
    pub place: Option<(u64, String, u16)>,
    pub waiting: usize,
    pub served: usize,
}

/// One step of setting a company up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    BranchHours,
    Departments,
    Users,
    Services,
    Operators,
    Branding,
}

impl Step {
    pub const ALL: [Step; 6] = [Step::BranchHours, Step::Departments, Step::Users, Step::Services, Step::Operators, Step::Branding];

    pub fn code(self) -> &'static str {
        match self {
            Step::BranchHours => "branches",
            Step::Departments => "departments",
            Step::Users => "users",
            Step::Services => "services",
            Step::Operators => "operators",
            Step::Branding => "branding",
        }
    }
}

/// The admin's company setup.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub steps: Vec<(Step, bool)>,
    /// The newest audit entries, once the setup is complete.
    pub recent: Vec<(u64, AuditV1)>,
}

impl Setup {
    pub fn complete(&self) -> bool {
        self.steps.iter().all(|(_, done)| *done)
    }
}

/// What the caller's home shows. Only the parts of their role are filled.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub kind: Kind,
    pub mine: Option<Mine>,
    pub team: Option<Team>,
    pub company: Option<Company>,
    pub window: Option<Window>,
    pub setup: Option<Setup>,
}

/// The caller's dashboard at `now` (ms) in the company's time zone.
pub fn dashboard(db: &Db, who: &Caller, now: i64, tz: &jiff::tz::TimeZone) -> Result<Dashboard, AppError> {
    if who.user().is_none() {
        return Err(crate::error::ErrorKind::Forbidden.into());
    }
    let kind = Kind::of(who);
    let mut d = Dashboard { kind, mine: None, team: None, company: None, window: None, setup: None };
    // This month's points per person, read once for every figure that needs them.
    let month =
        if matches!(kind, Kind::Employee | Kind::Manager | Kind::Director) { month_points(db, who, now, tz)? } else { Month::default() };
    match kind {
        Kind::Employee => d.mine = Some(mine(db, who, now, tz, &month)?),
        Kind::Manager => {
            d.team = Some(team(db, who, now, &month)?);
            d.mine = Some(mine(db, who, now, tz, &month)?);
        }
        Kind::Director => {
            d.company = Some(company(db, who, now, tz, &month)?);
            // The founder of a new company sets it up; a director has staff for that.
            if who.role() == Some("owner") && who.can("company.setup") {
                let s = setup(db, who)?;
                if !s.complete() {
                    d.setup = Some(s);
                }
            }
        }
        Kind::Operator => d.window = Some(window(db, who, now, tz)?),
        Kind::Admin => d.setup = Some(setup(db, who)?),
    }
    Ok(d)
}

/// The caller's language: branch and department names are given in it.
fn lang_of(who: &Caller) -> crate::i18n::Lang {
    who.user().map(|u| u.lang).unwrap_or(crate::i18n::Lang::Uz)
}

/// Where today began and ends, in ms.
fn today_bounds(now: i64, tz: &jiff::tz::TimeZone) -> (i64, i64) {
    let today = crate::clock::from_ms(now).to_zoned(tz.clone()).date();
    let start = |d: jiff::civil::Date| d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(now);
    let tomorrow = today.tomorrow().unwrap_or(today);
    (start(today), start(tomorrow))
}

/// Open and late: marked by the overdue job, or past the deadline before it ran.
fn is_overdue(t: &TaskV1, now: i64) -> bool {
    t.status == TaskStatus::Overdue || (!crate::tasks::is_final(t.status) && t.deadline < now)
}

/// The caller's open work: what is due today, late or sent back, and their
/// points (the ledger's, as `tasks::points_of` counts them).
fn mine(db: &Db, who: &Caller, now: i64, tz: &jiff::tz::TimeZone, month: &Month) -> Result<Mine, AppError> {
    let me = who.id();
    let (day_start, day_end) = today_bounds(now, tz);
    let mut m = Mine { points: tasks::points_of(db, who, me, now, tz)?, ..Mine::default() };
    for (id, t) in open_of(db, Narrow::Assignee(me), Some(day_end), &[TaskStatus::Redo, TaskStatus::PendingReview])? {
        if t.status == TaskStatus::Redo {
            m.redo.push(line(id, &t, now));
        } else if is_overdue(&t, now) {
            m.overdue.push(line(id, &t, now));
        } else if t.deadline >= day_start && t.deadline < day_end {
            m.due_today.push(line(id, &t, now));
        }
    }
    for l in &mut m.redo {
        let history = tasks::history_of(db, who, l.id)?;
        let task = tasks::get(db, who, l.id)?;
        l.reason = tasks::redo_reason(&task, &history).and_then(|e| e.comment.clone());
    }
    m.redo.sort_by_key(|l| std::cmp::Reverse(l.id));
    m.overdue.sort_by_key(|l| l.deadline);
    m.due_today.sort_by_key(|l| l.deadline);
    let mine = month.points.get(&me).copied().unwrap_or(0);
    if mine > 0 {
        let place = 1 + month.points.values().filter(|p| **p > mine).count();
        m.place = Some((place, month.points.len()));
    }
    Ok(m)
}

/// The caller's own open tasks (assigned to them, not finished, handed in
/// included), by deadline: the bot's /tasks and the daily digest. Read from
/// the open-work indexes, never the caller's history.
pub fn open_tasks(db: &Db, who: &Caller) -> Result<Vec<(u64, TaskV1)>, AppError> {
    if who.user().is_none() {
        return Err(crate::error::ErrorKind::Forbidden.into());
    }
    let mut out = open_of(db, Narrow::Assignee(who.id()), None, &[TaskStatus::Redo, TaskStatus::PendingReview])?;
    out.retain(|(_, t)| !crate::tasks::is_final(t.status) && t.assignee_id == who.id());
    out.sort_by_key(|(id, t)| (t.deadline, *id));
    Ok(out)
}

/// This month's points: per person who earned any, from each person's
/// ledger range since the first of the month (no task decoded), and the
/// company's people, read once.
#[derive(Debug, Default)]
struct Month {
    points: HashMap<u64, u64>,
    people: HashMap<u64, crate::org::service::Colleague>,
}

fn month_points(db: &Db, who: &Caller, now: i64, tz: &jiff::tz::TimeZone) -> Result<Month, AppError> {
    let (_, start) = tasks::period_starts(now, tz);
    let people = names(db, who)?;
    let tx = db.read()?;
    let ledger = tx.open_table(POINTS_LEDGER).map_err(store_err)?;
    let mut points = HashMap::new();
    for id in people.keys() {
        let mut sum = 0u64;
        for row in ledger.range((*id, start, 0)..=(*id, i64::MAX, u64::MAX)).map_err(store_err)? {
            sum += u64::from(row.map_err(store_err)?.1.value());
        }
        if sum > 0 {
            points.insert(*id, sum);
        }
    }
    Ok(Month { points, people })
}

/// Whose open tasks to read.
#[derive(Debug, Clone, Copy)]
enum Narrow {
    /// Everyone's.
    All,
    Assignee(u64),
    Department(u64),
}

/// Open tasks on the assignee's clock (`tasks_due`, with a deadline before
/// `due_before` when given: the late ones not marked yet and today's), the
/// late ones (`Overdue` in `tasks_by_status`), and those of `more` statuses,
/// narrowed by a key lookup before any is decoded. The cost follows the
/// company's open work, never its history.
fn open_of(db: &Db, narrow: Narrow, due_before: Option<i64>, more: &[TaskStatus]) -> Result<Vec<(u64, TaskV1)>, AppError> {
    let tx = db.read()?;
    let all = TASKS.open(&tx)?;
    let by_assignee = tx.open_def(TASKS_BY_ASSIGNEE).map_err(store_err)?;
    let by_department = tx.open_def(TASKS_BY_DEPARTMENT).map_err(store_err)?;
    let keep = |id: u64| -> Result<bool, AppError> {
        Ok(match narrow {
            Narrow::All => true,
            Narrow::Assignee(u) => by_assignee.get((u, id)).map_err(store_err)?.is_some(),
            Narrow::Department(d) => by_department.get((d, id)).map_err(store_err)?.is_some(),
        })
    };
    let mut ids = Vec::new();
    let due = tx.open_def(TASKS_DUE).map_err(store_err)?;
    for row in due.range(..(due_before.unwrap_or(i64::MAX), 0)).map_err(store_err)? {
        ids.push(row.map_err(store_err)?.0.value().1);
    }
    let by_status = tx.open_def(TASKS_BY_STATUS).map_err(store_err)?;
    for s in std::iter::once(TaskStatus::Overdue).chain(more.iter().copied()) {
        let b = status_byte(s);
        for row in by_status.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
            ids.push(row.map_err(store_err)?.0.value().1);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if keep(id)?
            && let Some(t) = all.get(id)?
        {
            out.push((id, t));
        }
    }
    Ok(out)
}

/// The department's open tasks on the assignee's clock or late, as (late,
/// which of `members` holds it), from keys alone: `tasks_due` (late when its
/// deadline has passed) and the `Overdue` keys, kept when
/// `tasks_by_department` has them, the holder found by a
/// `tasks_by_assignee` lookup per member. No task is decoded.
fn department_open_keys(db: &Db, dept: u64, now: i64, members: &[u64]) -> Result<Vec<(bool, Option<u64>)>, AppError> {
    let tx = db.read()?;
    let by_department = tx.open_def(TASKS_BY_DEPARTMENT).map_err(store_err)?;
    let by_assignee = tx.open_def(TASKS_BY_ASSIGNEE).map_err(store_err)?;
    let mut keys: Vec<(u64, bool)> = Vec::new();
    for row in tx.open_def(TASKS_DUE).map_err(store_err)?.iter().map_err(store_err)? {
        let (deadline, id) = row.map_err(store_err)?.0.value();
        keys.push((id, deadline < now));
    }
    let b = status_byte(TaskStatus::Overdue);
    for row in tx.open_def(TASKS_BY_STATUS).map_err(store_err)?.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
        keys.push((row.map_err(store_err)?.0.value().1, true));
    }
    let mut out = Vec::new();
    for (id, late) in keys {
        if by_department.get((dept, id)).map_err(store_err)?.is_none() {
            continue;
        }
        let mut holder = None;
        for m in members {
            if by_assignee.get((*m, id)).map_err(store_err)?.is_some() {
                holder = Some(*m);
                break;
            }
        }
        out.push((late, holder));
    }
    Ok(out)
}

/// The late tasks of the company: marked by the overdue job, or past their
/// deadline before it ran.
fn late_tasks(db: &Db, now: i64) -> Result<Vec<(u64, TaskV1)>, AppError> {
    Ok(open_of(db, Narrow::All, Some(now), &[])?.into_iter().filter(|(_, t)| is_overdue(t, now)).collect())
}

fn names(db: &Db, who: &Caller) -> Result<HashMap<u64, crate::org::service::Colleague>, AppError> {
    Ok(crate::org::service::directory(db, who)?.into_iter().collect())
}

fn team(db: &Db, who: &Caller, now: i64, month: &Month) -> Result<Team, AppError> {
    let counts = tasks::inbox_counts(db, who)?;
    let mut t = Team { review: counts.review, department_id: who.department_id(), ..Team::default() };
    let Some(dept) = t.department_id else { return Ok(t) };
    t.department = crate::org::service::department_names(db, lang_of(who))?.remove(&dept).unwrap_or_default();
    let mut load: HashMap<u64, Load> = month
        .people
        .iter()
        .filter(|(_, c)| c.active && c.department_id == Some(dept))
        .map(|(id, c)| (*id, Load { user_id: *id, name: c.name.clone(), open: 0, overdue: 0 }))
        .collect();
    if who.can("tasks.view_all") || who.can("tasks.view_department") {
        // Sees every task of the department: counted from keys alone.
        let members: Vec<u64> = load.keys().copied().collect();
        for (late, holder) in department_open_keys(db, dept, now, &members)? {
            t.overdue += usize::from(late);
            if let Some(l) = holder.and_then(|h| load.get_mut(&h)) {
                l.open += 1;
                l.overdue += usize::from(late);
            }
        }
    } else {
        for (_, task) in open_of(db, Narrow::Department(dept), None, &[])? {
            if task.department_id != Some(dept) || !who.can_see_task(&task) || task.status == TaskStatus::AwaitingApproval {
                continue;
            }
            let late = is_overdue(&task, now);
            if late {
                t.overdue += 1;
            }
            if let Some(l) = load.get_mut(&task.assignee_id) {
                l.open += 1;
                l.overdue += usize::from(late);
            }
        }
    }
    t.load = load.into_values().filter(|l| l.user_id != who.id() || l.open > 0).collect();
    t.load.sort_by(|a, b| b.open.cmp(&a.open).then_with(|| a.name.cmp(&b.name)));
    // The department's people now (a month's move counts where they are).
    t.points_month =
        month.people.iter().filter(|(_, c)| c.department_id == Some(dept)).map(|(id, _)| month.points.get(id).copied().unwrap_or(0)).sum();
    Ok(t)
}

fn company(db: &Db, who: &Caller, now: i64, tz: &jiff::tz::TimeZone, month: &Month) -> Result<Company, AppError> {
    let mut c = Company { approval: tasks::inbox_counts(db, who)?.approval, ..Company::default() };
    let depts = crate::org::service::department_names(db, lang_of(who))?;
    let mut by_dept: HashMap<Option<u64>, usize> = HashMap::new();
    for (id, task) in late_tasks(db, now)? {
        if !who.can_see_task(&task) {
            continue;
        }
        if task.status == TaskStatus::Overdue && task.deadline_request.is_some() && who.can("tasks.approve") {
            c.extensions.push(line(id, &task, now));
        }
        if is_overdue(&task, now) {
            c.overdue += 1;
            *by_dept.entry(task.department_id).or_insert(0) += 1;
        }
    }
    c.extensions.sort_by_key(|l| l.deadline);
    c.overdue_by_department = by_dept
        .into_iter()
        .map(|(d, n)| DeptOverdue { department_id: d, name: d.and_then(|d| depts.get(&d).cloned()).unwrap_or_default(), overdue: n })
        .collect();
    c.overdue_by_department.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| a.name.cmp(&b.name)));
    // Today's queue, branch by branch.
    if who.user().is_some_and(crate::queue::stats::can_view) {
        let (day, _, _) = crate::queue::tickets::local_day(now, tz);
        let mut branches: Vec<_> = crate::org::service::list_branches(db)?.into_iter().filter(|(_, b)| b.active).collect();
        branches.sort_by_key(|(_, b)| b.name.to_lowercase());
        for (id, b) in branches {
            let (waiting, served, longest) = queue_today(db, id, day, now, None)?;
            let name = crate::org::service::branch_name(&b, lang_of(who)).to_string();
            c.queue.push(BranchToday { branch_id: id, name, waiting, served, longest_wait_secs: longest });
        }
    }
    let mut best: Vec<Best> = month
        .points
        .iter()
        .map(|(id, points)| Best { user_id: *id, name: month.people.get(id).map(|c| c.name.clone()).unwrap_or_default(), points: *points })
        .collect();
    best.sort_by(|a, b| b.points.cmp(&a.points).then_with(|| a.name.cmp(&b.name)));
    best.truncate(5);
    c.best = best;
    Ok(c)
}

/// A branch's day: waiting, served to the end, and the longest wait now
/// (seconds) — of the given services only when `services` is set.
fn queue_today(db: &Db, branch: u64, day: u32, now: i64, services: Option<&[u64]>) -> Result<(usize, usize, Option<i64>), AppError> {
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let all = TICKETS.open(&tx)?;
    let (mut waiting, mut served, mut first) = (0, 0, None::<i64>);
    for row in idx.range((branch, day, 0)..=(branch, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        let Some(t) = all.get(id)? else { continue };
        if services.is_some_and(|s| !s.contains(&t.service_id)) {
            continue;
        }
        match t.status {
            TicketStatus::Waiting => {
                waiting += 1;
                first = Some(first.map_or(t.arrived_at, |f| f.min(t.arrived_at)));
            }
            TicketStatus::Done => served += 1,
            _ => {}
        }
    }
    Ok((waiting, served, first.map(|f| ((now - f) / 1000).max(0))))
}

fn window(db: &Db, who: &Caller, now: i64, tz: &jiff::tz::TimeZone) -> Result<Window, AppError> {
    let mut w = Window::default();
    let Some(op) = crate::queue::service::get_operator(db, who.id())? else { return Ok(w) };
    let branch = crate::org::service::get_branch(db, op.branch_id)?;
    let (day, _, _) = crate::queue::tickets::local_day(now, tz);
    let (waiting, _, _) = queue_today(db, op.branch_id, day, now, Some(&op.service_ids))?;
    w.waiting = waiting;
    w.served = crate::queue::window::today_of_operator(db, op.branch_id, day, who.id())?.served;
    w.place = Some((op.branch_id, crate::org::service::branch_name(&branch, lang_of(who)).to_string(), op.window));
    Ok(w)
}

fn setup(db: &Db, who: &Caller) -> Result<Setup, AppError> {
    let branches = crate::org::service::list_branches(db)?;
    let users = names(db, who)?;
    let operators =
        if who.can("queue.manage") || who.can("queue.operate") { crate::queue::service::list_operators(db, who)?.len() } else { 0 };
    let branding = crate::org::branding::get(db)?;
    let steps = vec![
        (Step::BranchHours, branches.iter().any(|(_, b)| b.active && b.hours.is_some())),
        (Step::Departments, crate::org::service::list_departments(db)?.iter().any(|(_, d)| d.active)),
        (Step::Users, users.values().filter(|c| c.active).count() > 1),
        (Step::Services, crate::queue::service::list_services(db)?.iter().any(|(_, s)| s.active)),
        (Step::Operators, operators > 0),
        (Step::Branding, branding.logo_content_type.is_some() || branding.primary_color.is_some()),
    ];
    let mut s = Setup { steps, recent: Vec::new() };
    if s.complete() && who.can("audit.view") {
        s.recent = crate::audit::list(db, who, None, LIST_MAX)?;
    }
    Ok(s)
}
