//! The task rules: who may create, see, change and move a task, the one
//! workflow state machine, history, points and the overdue job. Pages, the
//! API, cron and (later) the bot all call these functions.

use super::{is_final, status_code};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::hub::Topic;
use crate::notify::{self, Notice, Sent};
use crate::store::schema::{
    self, CATEGORIES, CategoryV2, DeadlineRequest, POINTS_LEDGER, TASK_EVENTS, TASKS, TASKS_BY_ASSIGNEE, TASKS_BY_CREATOR,
    TASKS_BY_DEADLINE, TASKS_BY_DEPARTMENT, TASKS_BY_STATUS, TASKS_DUE, TaskEventV1, TaskStatus, TaskV1, ledger_entry, status_byte,
};
use crate::store::{Db, Txn, next_id, store_err};
use crate::tenancy::Tenant;
use crate::workflow::{self, Actor, Line};
use redb::{ReadableTable, WriteTransaction};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 5000;
pub const COMMENT_MAX: usize = 2000;
pub const POINTS_MAX: u32 = 1000;

/// What a caller may do with a task: the task rules as questions about a
/// caller. Pages and the bot ask them; they never re-derive them.
impl Caller {
    fn same_department(&self, dept: Option<u64>) -> bool {
        let mine = self.department_id();
        mine.is_some() && mine == dept
    }

    /// May see the task: everything with `tasks.view_all`, the department's
    /// tasks with `tasks.view_department`, and always one's own.
    pub fn can_see_task(&self, t: &TaskV1) -> bool {
        self.can("tasks.view_all")
            || t.creator_id == self.id()
            || t.assignee_id == self.id()
            || (self.can("tasks.view_department") && self.same_department(t.department_id))
    }

    /// May edit, reassign or delete it: its creator, a director, or a
    /// manager of its department.
    pub fn can_manage_task(&self, t: &TaskV1) -> bool {
        t.creator_id == self.id()
            || (self.can("tasks.view_all") && self.can("tasks.assign_any"))
            || (self.can("tasks.create") && self.can("tasks.view_department") && self.same_department(t.department_id))
    }

    /// May accept, send back or reject submitted work.
    pub fn can_review_task(&self, t: &TaskV1) -> bool {
        t.creator_id == self.id()
            || (self.can("tasks.review") && (self.can("tasks.view_all") || self.same_department(t.department_id)))
            || (self.can("tasks.approve") && self.can("tasks.view_all"))
    }
}

/// A move a caller can make on a task. [`allowed_moves`] is the one table of
/// who may make which move when; every command below refuses exactly what
/// it leaves out, and pages, the API and the bot show exactly what it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The assignee starts work (`in_progress`).
    Start,
    /// The assignee hands the work in (`pending_review`).
    Submit,
    /// A reviewer accepts the work (`completed`).
    Complete,
    /// A reviewer sends it back (`redo`).
    Redo,
    /// A reviewer rejects the task (`rejected`).
    Reject,
    /// A director approves a task assigned across departments.
    Approve,
    /// A director declines it.
    Decline,
    /// A requested deadline is accepted.
    ApproveDeadline,
    /// A requested deadline is refused.
    DeclineDeadline,
    /// A new deadline, set at once.
    SetDeadline,
    /// A new deadline, asked for (someone else decides).
    RequestDeadline,
    /// Title, description, points, assignee, category, deadline.
    Edit,
    Delete,
}

impl Move {
    pub const ALL: [Move; 13] = [
        Move::Start,
        Move::Submit,
        Move::Complete,
        Move::Redo,
        Move::Reject,
        Move::Approve,
        Move::Decline,
        Move::ApproveDeadline,
        Move::DeclineDeadline,
        Move::SetDeadline,
        Move::RequestDeadline,
        Move::Edit,
        Move::Delete,
    ];

    /// The stable name API clients and bot buttons use.
    pub fn code(self) -> &'static str {
        match self {
            Move::Start => "start",
            Move::Submit => "submit",
            Move::Complete => "complete",
            Move::Redo => "redo",
            Move::Reject => "reject",
            Move::Approve => "approve",
            Move::Decline => "decline",
            Move::ApproveDeadline => "approve_deadline",
            Move::DeclineDeadline => "decline_deadline",
            Move::SetDeadline => "set_deadline",
            Move::RequestDeadline => "request_deadline",
            Move::Edit => "edit",
            Move::Delete => "delete",
        }
    }

    /// The move that takes a task to `to` through [`change_status`].
    pub fn to_status(to: TaskStatus) -> Option<Move> {
        match to {
            TaskStatus::InProgress => Some(Move::Start),
            TaskStatus::PendingReview => Some(Move::Submit),
            TaskStatus::Completed => Some(Move::Complete),
            TaskStatus::Redo => Some(Move::Redo),
            TaskStatus::Rejected => Some(Move::Reject),
            _ => None,
        }
    }
}

/// The moves `who` may make on `task` now; nothing for a task they cannot see.
///
/// * the assignee starts a new, sent-back or late (not started) task, and
///   hands in one in progress (or late while in progress);
/// * a reviewer ([`Caller::can_review_task`]) completes or sends back
///   handed-in work, and rejects any open task;
/// * a director (`tasks.approve`) approves or declines a task assigned
///   across departments (never approves one they created: whoever asks for
///   an approval is not the one who gives it), and decides any deadline;
/// * whoever manages the task ([`Caller::can_manage_task`]) edits it while
///   it is open, sets its deadline unless it is late (then they ask a
///   director), decides a requested deadline unless the task is late, and
///   deletes it before work starts (those who see every task, at any time);
/// * the assignee asks for a later deadline on an open task.
pub fn allowed_moves(who: &Caller, task: &TaskV1) -> Vec<Move> {
    allowed_moves_with(who, task, Facts::default())
}

/// What the task record alone does not say but a move depends on; read
/// from the task's history by [`facts_of`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// Sent back for redo and nothing happened to it since (no edit, no
    /// deadline change or request): the assignee may hand it in again
    /// without starting it first.
    pub redo_untouched: bool,
}

/// The facts of a task from its history (oldest first).
pub fn facts_from(task: &TaskV1, history: &[TaskEventV1]) -> Facts {
    let last = history.last();
    Facts {
        redo_untouched: task.status == TaskStatus::Redo
            && last.is_some_and(|e| e.kind == "status" && e.to.as_deref() == Some(status_code(TaskStatus::Redo))),
    }
}

/// The event that sent a task back for redo, while it is in redo: the
/// reviewer's reason (the comment), who and when.
pub fn redo_reason<'a>(task: &TaskV1, history: &'a [TaskEventV1]) -> Option<&'a TaskEventV1> {
    if task.status != TaskStatus::Redo {
        return None;
    }
    history.iter().rev().find(|e| e.kind == "status" && e.to.as_deref() == Some(status_code(TaskStatus::Redo)))
}

/// The facts of task `id` as stored in `tx`: only its newest history line
/// is read.
fn facts_in<T: Txn>(tx: &T, id: u64, task: &TaskV1) -> Result<Facts, AppError> {
    if task.status != TaskStatus::Redo {
        return Ok(Facts::default());
    }
    let last = workflow::last(tx, TASK_EVENTS, id)?;
    Ok(facts_from(task, last.as_slice()))
}

/// The moves `who` may make on task `id` now, its facts read from `db`.
pub fn moves_of(db: &Db, who: &Caller, id: u64, task: &TaskV1) -> Result<Vec<Move>, AppError> {
    let tx = db.read()?;
    Ok(allowed_moves_with(who, task, facts_in(&tx, id, task)?))
}

/// [`allowed_moves`] knowing the task's [`Facts`]: the moves pages, the API
/// and the bot offer on one task.
pub fn allowed_moves_with(who: &Caller, task: &TaskV1, facts: Facts) -> Vec<Move> {
    use TaskStatus::*;
    if !who.can_see_task(task) {
        return Vec::new();
    }
    let s = task.status;
    let mine = task.assignee_id == who.id();
    let working = task.working_since.is_some();
    let review = who.can_review_task(task);
    let manage = who.can_manage_task(task);
    let director = crate::auth::rbac::acts_as_director(|p| who.can(p));
    let open = !is_final(s) && s != AwaitingApproval;
    let may_deadline = open && (mine || manage || director);
    let sets_deadline = director || (manage && s != Overdue);
    let rows = [
        (Move::Start, mine && (matches!(s, New | Redo) || (s == Overdue && !working))),
        (Move::Submit, mine && (s == InProgress || (s == Overdue && working) || (s == Redo && facts.redo_untouched))),
        (Move::Complete, review && s == PendingReview),
        (Move::Redo, review && s == PendingReview),
        (Move::Reject, review && matches!(s, New | InProgress | PendingReview | Redo | Overdue)),
        (Move::Approve, director && s == AwaitingApproval && task.creator_id != who.id()),
        (Move::Decline, director && s == AwaitingApproval),
        (Move::ApproveDeadline, open && task.deadline_request.is_some() && (director || (s != Overdue && manage))),
        (Move::DeclineDeadline, open && task.deadline_request.is_some() && (director || (s != Overdue && manage))),
        (Move::SetDeadline, may_deadline && sets_deadline),
        (Move::RequestDeadline, may_deadline && !sets_deadline),
        (Move::Edit, manage && !is_final(s)),
        (Move::Delete, manage && (matches!(s, New | AwaitingApproval | Declined) || who.can("tasks.view_all"))),
    ];
    workflow::allowed(rows)
}

fn may(who: &Caller, task: &TaskV1, m: Move) -> bool {
    allowed_moves(who, task).contains(&m)
}

pub fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.task_not_found")
}

fn closed() -> AppError {
    AppError::new(ErrorKind::Conflict).with_message("error.task_closed")
}

fn forbidden_move() -> AppError {
    AppError::new(ErrorKind::Forbidden).with_message("error.task_not_allowed")
}

fn transition(from: TaskStatus, to: TaskStatus) -> AppError {
    workflow::transition("error.task_transition", status_code(from), status_code(to))
}

fn text(field: &'static str, s: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = s.trim();
    if required && v.is_empty() {
        return Err(AppError::invalid(field, "validation.required"));
    }
    AppError::check_text(field, v, max, true)?;
    Ok(v.to_string())
}

fn comment(c: Option<&str>, required: bool) -> Result<Option<String>, AppError> {
    let v = text("comment", c.unwrap_or(""), COMMENT_MAX, required)?;
    Ok((!v.is_empty()).then_some(v))
}

fn points(p: u32) -> Result<u32, AppError> {
    if p > POINTS_MAX {
        return Err(AppError::invalid("points", "validation.points").with_arg("max", POINTS_MAX));
    }
    Ok(p)
}

/// Reads an RFC 3339 time (with an offset) into ms since the epoch.
pub fn parse_time(field: &'static str, s: &str) -> Result<i64, AppError> {
    s.trim().parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| AppError::invalid(field, "validation.time"))
}

fn load(tx: &WriteTransaction, id: u64) -> Result<TaskV1, AppError> {
    TASKS.open(tx)?.get(id)?.ok_or_else(not_found)
}

fn active_user(tx: &WriteTransaction, id: u64) -> Result<schema::AccountV1, AppError> {
    match schema::USERS.open(tx)?.get(id)? {
        Some(a) if a.active => Ok(a),
        _ => Err(AppError::invalid("assignee_id", "validation.assignee")),
    }
}

fn check_category(tx: &WriteTransaction, id: Option<u64>) -> Result<(), AppError> {
    if let Some(id) = id {
        match CATEGORIES.open(tx)?.get(id)? {
            Some(c) if c.active => {}
            _ => return Err(AppError::invalid("category_id", "validation.category")),
        }
    }
    Ok(())
}

/// Marked late by the overdue job and not finished (what the retired
/// `tasks_late` held; the version-4 migration step still fills it).
pub fn is_late(t: &TaskV1) -> bool {
    t.status == TaskStatus::Overdue
}

/// When a completed task was completed (the retired `tasks_done` key; the
/// version-4 migration step still fills it).
pub fn done_at(t: &TaskV1) -> Option<i64> {
    (t.status == TaskStatus::Completed).then(|| t.completed_at.unwrap_or(t.updated_at))
}

/// Writes a task and keeps every index in step with it.
fn save(tx: &WriteTransaction, id: u64, old: Option<&TaskV1>, new: &TaskV1) -> Result<(), AppError> {
    next_id(tx, crate::search::TASK_REV)?;
    TASKS.open(tx)?.insert(id, new)?;
    let due = |t: &TaskV1| super::on_the_clock(t.status);
    if let Some(o) = old {
        if o.assignee_id != new.assignee_id {
            tx.open_table(TASKS_BY_ASSIGNEE).map_err(store_err)?.remove((o.assignee_id, id)).map_err(store_err)?;
        }
        if o.department_id != new.department_id
            && let Some(d) = o.department_id
        {
            tx.open_table(TASKS_BY_DEPARTMENT).map_err(store_err)?.remove((d, id)).map_err(store_err)?;
        }
        if o.deadline != new.deadline {
            tx.open_table(TASKS_BY_DEADLINE).map_err(store_err)?.remove((o.deadline, id)).map_err(store_err)?;
        }
        if due(o) {
            tx.open_table(TASKS_DUE).map_err(store_err)?.remove((o.deadline, id)).map_err(store_err)?;
        }
        if o.status != new.status {
            tx.open_table(TASKS_BY_STATUS).map_err(store_err)?.remove((status_byte(o.status), id)).map_err(store_err)?;
        }
        if let Some((k, n)) = ledger_entry(id, o) {
            tx.open_table(POINTS_LEDGER).map_err(store_err)?.remove(k).map_err(store_err)?;
            schema::add_points(tx, k.0, -i64::from(n)).map_err(store_err)?;
        }
    }
    tx.open_table(TASKS_BY_ASSIGNEE).map_err(store_err)?.insert((new.assignee_id, id), ()).map_err(store_err)?;
    tx.open_table(TASKS_BY_CREATOR).map_err(store_err)?.insert((new.creator_id, id), ()).map_err(store_err)?;
    if let Some(d) = new.department_id {
        tx.open_table(TASKS_BY_DEPARTMENT).map_err(store_err)?.insert((d, id), ()).map_err(store_err)?;
    }
    tx.open_table(TASKS_BY_DEADLINE).map_err(store_err)?.insert((new.deadline, id), ()).map_err(store_err)?;
    if due(new) {
        tx.open_table(TASKS_DUE).map_err(store_err)?.insert((new.deadline, id), ()).map_err(store_err)?;
    }
    tx.open_table(TASKS_BY_STATUS).map_err(store_err)?.insert((status_byte(new.status), id), ()).map_err(store_err)?;
    if let Some((k, n)) = ledger_entry(id, new) {
        tx.open_table(POINTS_LEDGER).map_err(store_err)?.insert(k, n).map_err(store_err)?;
        schema::add_points(tx, k.0, i64::from(n)).map_err(store_err)?;
    }
    Ok(())
}

/// Writes one line of a task's history (the workflow engine's).
fn history(tx: &WriteTransaction, now: i64, who: &Caller, task_id: u64, line: Line) -> Result<(), AppError> {
    workflow::record(tx, TASK_EVENTS, "task_event", now, &Actor::of(who), task_id, line)
}

fn status_line(from: TaskStatus, to: TaskStatus, comment: Option<String>) -> Line {
    Line::status(status_code(from), status_code(to), comment)
}

/// Moves the clock of time spent working.
fn set_status(t: &mut TaskV1, to: TaskStatus, now: i64) {
    match to {
        TaskStatus::InProgress => {
            if t.working_since.is_none() {
                t.working_since = Some(now);
            }
        }
        TaskStatus::Overdue => {}
        _ => {
            if let Some(since) = t.working_since.take() {
                t.spent_ms += (now - since).max(0);
            }
        }
    }
    // A finished task has no deadline left to decide on.
    if is_final(to) {
        t.deadline_request = None;
    }
    t.status = to;
    t.updated_at = now;
}

/// Time spent in progress up to `now`, in seconds.
pub fn time_spent_secs(t: &TaskV1, now: i64) -> i64 {
    (t.spent_ms + t.working_since.map(|s| (now - s).max(0)).unwrap_or(0)) / 1000
}

// ---------- create ----------

#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub title: String,
    pub description: String,
    pub assignee_id: u64,
    pub deadline: String,
    pub start_at: Option<String>,
    pub points: u32,
    pub category_id: Option<u64>,
}

pub async fn create(state: &AppState, tenant: &Tenant, who: &Caller, input: NewTask) -> Result<(u64, TaskV1), AppError> {
    if !who.can("tasks.create") {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_cannot_create"));
    }
    let title = text("title", &input.title, TITLE_MAX, true)?;
    let description = text("description", &input.description, DESCRIPTION_MAX, false)?;
    let deadline = parse_time("deadline", &input.deadline)?;
    let start_at = input.start_at.as_deref().filter(|s| !s.trim().is_empty()).map(|s| parse_time("start_at", s)).transpose()?;
    let now = state.now_ms();
    if deadline <= now {
        return Err(AppError::invalid("deadline", "validation.deadline_past"));
    }
    if start_at.is_some_and(|s| s > deadline) {
        return Err(AppError::invalid("start_at", "validation.start_after_deadline"));
    }
    let points = points(input.points)?;
    let (who2, assignee_id, category_id) = (who.clone(), input.assignee_id, input.category_id);
    let (id, task, sent, inboxes) = tenant
        .db()?
        .write(move |tx| {
            let assignee = active_user(tx, assignee_id)?;
            check_category(tx, category_id)?;
            let inside = who2.can("tasks.assign_any") || assignee_id == who2.id() || who2.same_department(assignee.department_id);
            let status = if inside { TaskStatus::New } else { TaskStatus::AwaitingApproval };
            let task = TaskV1 {
                title: title.clone(),
                description: description.clone(),
                creator_id: who2.id(),
                assignee_id,
                department_id: assignee.department_id,
                category_id,
                points,
                start_at,
                deadline,
                status,
                created_at: now,
                updated_at: now,
                spent_ms: 0,
                working_since: None,
                redo_count: 0,
                overdue_at: None,
                completed_at: None,
                points_awarded: 0,
                deadline_request: None,
            };
            let id = next_id(tx, "task")?;
            save(tx, id, None, &task)?;
            history(tx, now, &who2, id, Line { kind: "created", to: Some(status_code(status).into()), ..Line::default() })?;
            let notice = if inside {
                Notice::Assigned { task_id: id, task: &task, from_id: who2.id() }
            } else {
                Notice::ApprovalNeeded { task_id: id, task: &task }
            };
            let sent = notify::plan(tx, now, who2.id(), notice)?;
            let inboxes = inbox_audience(tx, None, Some(&task))?;
            Ok((id, task, sent, inboxes))
        })
        .await?;
    after(state, tenant, id, sent, inboxes);
    Ok((id, task))
}

/// After a commit: push notifications, tell live pages the task changed,
/// and tell each of `inboxes` (users whose approval or review inbox the
/// change may have moved) their new counts.
fn after(state: &AppState, tenant: &Tenant, id: u64, sent: Vec<Sent>, inboxes: Vec<u64>) {
    crate::tenancy::due::task_changed(tenant, id);
    state.search.touch(tenant, id);
    notify::deliver(state, tenant, sent);
    state.hub.publish(&tenant.slug, &Topic::Tasks, "task.changed", serde_json::json!({"id": id}), state.now());
    publish_inboxes(state, tenant, &inboxes);
}

/// Publishes `inbox` with each user's counts on their own topic: what the
/// navigation badge and the inbox tabs show, so they move without a
/// reload. The label is the badge's words for screen readers, in the
/// user's language. A user who cannot be loaded (switched off) is skipped.
pub fn publish_inboxes(state: &AppState, tenant: &Tenant, users: &[u64]) {
    let Ok(db) = tenant.db() else { return };
    for &user_id in users {
        let Ok(p) = crate::auth::Principal::load(tenant, user_id, String::new(), tenant.lang()) else { continue };
        let lang = p.lang;
        let Ok(c) = inbox_counts(db, &Caller::from(&p)) else { continue };
        let data = serde_json::json!({
            "approval": c.approval,
            "review": c.review,
            "total": c.total(),
            "label": crate::i18n::tn(lang, "tasks.inbox.badge", c.total() as u64, &[]),
        });
        state.hub.publish(&tenant.slug, &Topic::User(user_id), "inbox", data, state.now());
    }
}

/// Whose inbox counts a change from `old` to `new` (`None`: the task did
/// not exist, or is deleted) may move: every director when a task enters or
/// leaves `awaiting_approval`; its creators and their departments'
/// reviewers (`tasks.review`) when it enters or leaves `pending_review`, or
/// changes hands or department while there. Read in the change's
/// transaction; the people are few, and no task is read.
fn inbox_audience(tx: &WriteTransaction, old: Option<&TaskV1>, new: Option<&TaskV1>) -> Result<Vec<u64>, AppError> {
    let is = |t: Option<&TaskV1>, s: TaskStatus| t.is_some_and(|t| t.status == s);
    let approval = is(old, TaskStatus::AwaitingApproval) != is(new, TaskStatus::AwaitingApproval);
    let review = is(old, TaskStatus::PendingReview) != is(new, TaskStatus::PendingReview)
        || (is(old, TaskStatus::PendingReview)
            && is(new, TaskStatus::PendingReview)
            && old.map(|t| (t.creator_id, t.department_id)) != new.map(|t| (t.creator_id, t.department_id)));
    if !approval && !review {
        return Ok(Vec::new());
    }
    let tasks: Vec<&TaskV1> = old.into_iter().chain(new).collect();
    let mut out: Vec<u64> = if review { tasks.iter().map(|t| t.creator_id).collect() } else { Vec::new() };
    let mut perms: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for (id, a) in schema::USERS.open(tx)?.all()? {
        if !a.active {
            continue;
        }
        if !perms.contains_key(&a.role) {
            perms.insert(a.role.clone(), crate::org::service::role_permissions_in(tx, &a.role)?);
        }
        let has = |p: &str| perms.get(&a.role).is_some_and(|v| v.iter().any(|x| x == p));
        let director = approval && crate::auth::rbac::acts_as_director(has);
        let reviewer =
            review && has("tasks.review") && tasks.iter().any(|t| t.department_id.is_some() && t.department_id == a.department_id);
        if director || reviewer {
            out.push(id);
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

// ---------- read ----------

pub fn get(db: &Db, who: &Caller, id: u64) -> Result<TaskV1, AppError> {
    let tx = db.read()?;
    let t = TASKS.open(&tx)?.get(id)?.ok_or_else(not_found)?;
    if !who.can_see_task(&t) {
        // Not a 403: whether a task exists is itself not for everyone.
        return Err(not_found());
    }
    Ok(t)
}

/// Ids of the files attached to a task, in the order they came.
pub fn attachments_of(db: &Db, who: &Caller, id: u64) -> Result<Vec<u64>, AppError> {
    get(db, who, id)?;
    let tx = db.read()?;
    let t = tx.open_table(schema::TASK_ATTACHMENTS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in t.range((id, 0)..=(id, u64::MAX)).map_err(store_err)? {
        out.push(row.map_err(store_err)?.0.value().1);
    }
    Ok(out)
}

/// A task's history, for a caller who may see the task.
pub fn history_of(db: &Db, who: &Caller, id: u64) -> Result<Vec<TaskEventV1>, AppError> {
    get(db, who, id)?;
    workflow::history(&db.read()?, TASK_EVENTS, id)
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<TaskStatus>,
    pub assignee_id: Option<u64>,
    pub creator_id: Option<u64>,
    pub department_id: Option<u64>,
    pub category_id: Option<u64>,
    pub due_from: Option<i64>,
    pub due_to: Option<i64>,
}

impl Filter {
    fn matches(&self, t: &TaskV1) -> bool {
        self.status.is_none_or(|s| s == t.status)
            && self.assignee_id.is_none_or(|a| a == t.assignee_id)
            && self.creator_id.is_none_or(|c| c == t.creator_id)
            && self.department_id.is_none_or(|d| Some(d) == t.department_id)
            && self.category_id.is_none_or(|c| Some(c) == t.category_id)
            && self.due_from.is_none_or(|f| t.deadline >= f)
            && self.due_to.is_none_or(|to| t.deadline <= to)
    }
}

/// One page of tasks and the cursor of the next.
pub type Page = (Vec<(u64, TaskV1)>, Option<u64>);

/// Tasks the caller may see that match `filter`, newest first, `limit` at
/// most, with ids below `cursor`. Returns the next cursor when there may be
/// more.
pub fn list(db: &Db, who: &Caller, filter: &Filter, cursor: Option<u64>, limit: usize) -> Result<Page, AppError> {
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let upper = cursor.unwrap_or(u64::MAX);
    // The narrowest index that holds every candidate, newest first.
    let ids: Ids = {
        let by = |def, key: u64| -> Result<Ids, AppError> {
            let t = tx.open_table::<(u64, u64), ()>(def).map_err(store_err)?;
            let it = t.range((key, 0)..(key, upper)).map_err(store_err)?.rev().map(|r| r.map(|(k, _)| k.value().1).map_err(store_err));
            Ok(Box::new(it))
        };
        if let Some(a) = filter.assignee_id {
            by(TASKS_BY_ASSIGNEE, a)?
        } else if let Some(c) = filter.creator_id {
            by(TASKS_BY_CREATOR, c)?
        } else if let Some(d) = filter.department_id {
            by(TASKS_BY_DEPARTMENT, d)?
        } else if who.can("tasks.view_all") {
            // Ids only: each task is decoded once, below.
            let it = tasks.raw().range(..upper).map_err(store_err)?.rev().map(|r| r.map(|(k, _)| k.value()).map_err(store_err));
            Box::new(it)
        } else {
            // Own tasks (given and received) and, for a manager, the
            // department's: newest first across the indexes, each once.
            let mut sources = vec![by(TASKS_BY_ASSIGNEE, who.id())?.peekable(), by(TASKS_BY_CREATOR, who.id())?.peekable()];
            if who.can("tasks.view_department")
                && let Some(d) = who.department_id()
            {
                sources.push(by(TASKS_BY_DEPARTMENT, d)?.peekable());
            }
            Box::new(MergeDesc { sources })
        }
    };
    let mut out = Vec::new();
    let mut next = None;
    for id in ids {
        let id = id?;
        let Some(t) = tasks.get(id)? else { continue };
        if !who.can_see_task(&t) || !filter.matches(&t) {
            continue;
        }
        if out.len() == limit {
            next = out.last().map(|(id, _): &(u64, TaskV1)| *id);
            break;
        }
        out.push((id, t));
    }
    Ok((out, next))
}

type Ids = Box<dyn Iterator<Item = Result<u64, AppError>>>;

/// Merges id streams that each run newest first into one, without repeats.
struct MergeDesc {
    sources: Vec<std::iter::Peekable<Ids>>,
}

impl Iterator for MergeDesc {
    type Item = Result<u64, AppError>;
    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<u64> = None;
        for s in &mut self.sources {
            match s.peek() {
                Some(Ok(v)) => best = best.max(Some(*v)),
                Some(Err(_)) => return s.next(),
                None => {}
            }
        }
        let best = best?;
        for s in &mut self.sources {
            if matches!(s.peek(), Some(Ok(v)) if *v == best) {
                s.next();
            }
        }
        Some(Ok(best))
    }
}

/// Tasks the caller may see with a deadline in `[from, to]`, by deadline.
pub fn calendar(db: &Db, who: &Caller, from: i64, to: i64, limit: usize) -> Result<Vec<(u64, TaskV1)>, AppError> {
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let idx = tx.open_table(TASKS_BY_DEADLINE).map_err(store_err)?;
    let mut out = Vec::new();
    for row in idx.range((from, 0)..=(to, u64::MAX)).map_err(store_err)? {
        let (k, _) = row.map_err(store_err)?;
        let id = k.value().1;
        if let Some(t) = tasks.get(id)?
            && who.can_see_task(&t)
        {
            out.push((id, t));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

// ---------- inboxes ----------

/// A list of tasks waiting for the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbox {
    /// Tasks assigned across departments that the caller, a director, may
    /// approve or decline.
    Approval,
    /// Work handed in that the caller accepts or sends back: tasks they
    /// gave, and for a manager (`tasks.review`) their department's.
    Review,
}

impl Inbox {
    pub const ALL: [Inbox; 2] = [Inbox::Approval, Inbox::Review];

    /// The stable name in URLs and the API.
    pub fn code(self) -> &'static str {
        match self {
            Inbox::Approval => "approval",
            Inbox::Review => "review",
        }
    }

    pub fn parse(s: &str) -> Option<Inbox> {
        Inbox::ALL.into_iter().find(|i| i.code() == s)
    }

    /// Whether `task` waits in this inbox of `who`.
    fn holds(self, who: &Caller, task: &TaskV1) -> bool {
        match self {
            Inbox::Approval => {
                task.status == TaskStatus::AwaitingApproval
                    && allowed_moves(who, task).iter().any(|m| matches!(m, Move::Approve | Move::Decline))
            }
            Inbox::Review => {
                task.status == TaskStatus::PendingReview
                    && (task.creator_id == who.id() || (who.can("tasks.review") && who.same_department(task.department_id)))
                    && allowed_moves(who, task).contains(&Move::Complete)
            }
        }
    }
}

/// How many tasks wait in each inbox of a caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxCounts {
    pub approval: usize,
    pub review: usize,
}

impl InboxCounts {
    /// Everything waiting for the caller: the navigation badge.
    pub fn total(&self) -> usize {
        self.approval + self.review
    }
}

/// Ids of the tasks an inbox may hold, newest first, each once, read as
/// keys (nothing decoded) from the status index: the tasks awaiting
/// approval, or those handed in for review, narrowed for a reviewer to the
/// tasks they gave and their department's by a key lookup in those
/// indexes. The cost follows the tasks in that one status, never the
/// company's history or its open work.
fn inbox_candidates<T: Txn>(tx: &T, who: &Caller, inbox: Inbox) -> Result<Vec<u64>, AppError> {
    let director = crate::auth::rbac::acts_as_director(|p| who.can(p));
    if inbox == Inbox::Approval && !director {
        return Ok(Vec::new());
    }
    let status = match inbox {
        Inbox::Approval => TaskStatus::AwaitingApproval,
        Inbox::Review => TaskStatus::PendingReview,
    };
    let b = status_byte(status);
    let by_status = tx.open_def(TASKS_BY_STATUS).map_err(store_err)?;
    let creator = tx.open_def(TASKS_BY_CREATOR).map_err(store_err)?;
    let department = tx.open_def(TASKS_BY_DEPARTMENT).map_err(store_err)?;
    let dept = who.department_id().filter(|_| who.can("tasks.review"));
    let mut ids = Vec::new();
    for row in by_status.range((b, 0)..=(b, u64::MAX)).map_err(store_err)?.rev() {
        let id = row.map_err(store_err)?.0.value().1;
        let keep = match inbox {
            Inbox::Approval => true,
            Inbox::Review => {
                creator.get((who.id(), id)).map_err(store_err)?.is_some()
                    || match dept {
                        Some(d) => department.get((d, id)).map_err(store_err)?.is_some(),
                        None => false,
                    }
            }
        };
        if keep {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The tasks waiting in `who`'s `inbox`, newest first, `limit` at most.
pub fn inbox(db: &Db, who: &Caller, inbox: Inbox, limit: usize) -> Result<Vec<(u64, TaskV1)>, AppError> {
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let mut out = Vec::new();
    for id in inbox_candidates(&tx, who, inbox)? {
        if let Some(t) = tasks.get(id)?
            && inbox.holds(who, &t)
        {
            out.push((id, t));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// How many tasks wait in each of `who`'s inboxes.
pub fn inbox_counts(db: &Db, who: &Caller) -> Result<InboxCounts, AppError> {
    if !who.can("tasks.review") && !who.can("tasks.create") && !crate::auth::rbac::acts_as_director(|p| who.can(p)) {
        // Gave no task and reviews none: nothing can wait for them.
        return Ok(InboxCounts::default());
    }
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let mut counts = InboxCounts::default();
    for inbox in Inbox::ALL {
        let candidates = inbox_candidates(&tx, who, inbox)?;
        // Whoever sees the tasks of their inbox's candidates (all of them, or
        // the department's) holds every candidate (`Inbox::holds` adds only
        // visibility to what the keys say): counted from keys alone.
        let sees = who.can("tasks.view_all") || (inbox == Inbox::Review && who.can("tasks.view_department"));
        let n = if sees {
            candidates.len()
        } else {
            let mut n = 0;
            for id in candidates {
                if let Some(t) = tasks.get(id)?
                    && inbox.holds(who, &t)
                {
                    n += 1;
                }
            }
            n
        };
        match inbox {
            Inbox::Approval => counts.approval = n,
            Inbox::Review => counts.review = n,
        }
    }
    Ok(counts)
}

// ---------- change ----------

#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub deadline: Option<String>,
    pub points: Option<u32>,
    pub assignee_id: Option<u64>,
    pub category_id: Option<Option<u64>>,
}

/// Whether a deadline change needs a director's decision: the task is late
/// and the one changing it is not a director.
fn needs_approval(who: &Caller, t: &TaskV1) -> bool {
    t.status == TaskStatus::Overdue && !who.can("tasks.approve")
}

/// Puts a new deadline in place; a late task whose new deadline is ahead
/// goes back to work.
fn apply_deadline(t: &mut TaskV1, deadline: i64, now: i64) {
    t.deadline = deadline;
    t.deadline_request = None;
    if t.status == TaskStatus::Overdue && deadline > now {
        let back = if t.working_since.is_some() { TaskStatus::InProgress } else { TaskStatus::New };
        t.status = back;
    }
    t.updated_at = now;
}

pub async fn update(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, patch: TaskPatch) -> Result<TaskV1, AppError> {
    let title = patch.title.as_deref().map(|s| text("title", s, TITLE_MAX, true)).transpose()?;
    let description = patch.description.as_deref().map(|s| text("description", s, DESCRIPTION_MAX, false)).transpose()?;
    let deadline = patch.deadline.as_deref().map(|s| parse_time("deadline", s)).transpose()?;
    let pts = patch.points.map(points).transpose()?;
    let now = state.now_ms();
    if deadline.is_some_and(|d| d <= now) {
        return Err(AppError::invalid("deadline", "validation.deadline_past"));
    }
    let who2 = who.clone();
    let (assignee_id, category_id) = (patch.assignee_id, patch.category_id);
    let (task, sent, inboxes) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !who2.can_see_task(&old) {
                return Err(not_found());
            }
            if !may(&who2, &old, Move::Edit) {
                return Err(if who2.can_manage_task(&old) { closed() } else { forbidden_move() });
            }
            let mut t = old.clone();
            let mut lines = Vec::new();
            let mut sent = Vec::new();
            let field = |name: &'static str, from: String, to: String| Line {
                kind: "field",
                field: Some(name),
                from: Some(from),
                to: Some(to),
                ..Line::default()
            };
            if let Some(v) = &title
                && *v != old.title
            {
                lines.push(field("title", old.title.clone(), v.clone()));
                t.title = v.clone();
            }
            if let Some(v) = &description
                && *v != old.description
            {
                lines.push(field("description", old.description.clone(), v.clone()));
                t.description = v.clone();
            }
            if let Some(v) = pts
                && v != old.points
            {
                lines.push(field("points", old.points.to_string(), v.to_string()));
                t.points = v;
            }
            if let Some(v) = category_id
                && v != old.category_id
            {
                check_category(tx, v)?;
                let show = |c: Option<u64>| c.map(|c| c.to_string()).unwrap_or_default();
                lines.push(field("category_id", show(old.category_id), show(v)));
                t.category_id = v;
            }
            let mut reassigned = false;
            if let Some(a) = assignee_id
                && a != old.assignee_id
            {
                let assignee = active_user(tx, a)?;
                if !(who2.can("tasks.assign_any") || a == who2.id() || who2.same_department(assignee.department_id)) {
                    return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_outside_department"));
                }
                lines.push(field("assignee_id", old.assignee_id.to_string(), a.to_string()));
                t.assignee_id = a;
                t.department_id = assignee.department_id;
                reassigned = true;
            }
            let mut deadline_moved = false;
            let mut requested = false;
            if let Some(d) = deadline
                && d != old.deadline
            {
                if needs_approval(&who2, &old) {
                    t.deadline_request = Some(DeadlineRequest { deadline: d, by: who2.id(), at: now, comment: None });
                    lines.push(Line {
                        kind: "extension_requested",
                        field: Some("deadline"),
                        from: Some(ms_str(old.deadline)),
                        to: Some(ms_str(d)),
                        ..Line::default()
                    });
                    requested = true;
                } else {
                    lines.push(field("deadline", ms_str(old.deadline), ms_str(d)));
                    apply_deadline(&mut t, d, now);
                    deadline_moved = true;
                }
            }
            if lines.is_empty() {
                return Ok((old, sent, Vec::new()));
            }
            t.updated_at = now;
            save(tx, id, Some(&old), &t)?;
            for l in lines {
                history(tx, now, &who2, id, l)?;
            }
            if reassigned {
                sent.extend(notify::plan(tx, now, who2.id(), Notice::Assigned { task_id: id, task: &t, from_id: who2.id() })?);
            } else if deadline_moved {
                sent.extend(notify::plan(tx, now, who2.id(), Notice::DeadlineChanged { task_id: id, task: &t })?);
            }
            if requested {
                sent.extend(notify::plan(tx, now, who2.id(), Notice::ExtensionRequested { task_id: id, task: &t })?);
            }
            let inboxes = inbox_audience(tx, Some(&old), Some(&t))?;
            Ok((t, sent, inboxes))
        })
        .await?;
    after(state, tenant, id, sent, inboxes);
    Ok(task)
}

fn ms_str(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

pub async fn delete(state: &AppState, tenant: &Tenant, who: &Caller, id: u64) -> Result<(), AppError> {
    let who2 = who.clone();
    let inboxes = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !who2.can_see_task(&old) {
                return Err(not_found());
            }
            if !may(&who2, &old, Move::Delete) {
                return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_cannot_delete"));
            }
            next_id(tx, crate::search::TASK_REV)?;
            TASKS.open(tx)?.remove(id)?;
            tx.open_table(TASKS_BY_ASSIGNEE).map_err(store_err)?.remove((old.assignee_id, id)).map_err(store_err)?;
            tx.open_table(TASKS_BY_CREATOR).map_err(store_err)?.remove((old.creator_id, id)).map_err(store_err)?;
            if let Some(d) = old.department_id {
                tx.open_table(TASKS_BY_DEPARTMENT).map_err(store_err)?.remove((d, id)).map_err(store_err)?;
            }
            tx.open_table(TASKS_BY_DEADLINE).map_err(store_err)?.remove((old.deadline, id)).map_err(store_err)?;
            tx.open_table(TASKS_DUE).map_err(store_err)?.remove((old.deadline, id)).map_err(store_err)?;
            tx.open_table(TASKS_BY_STATUS).map_err(store_err)?.remove((status_byte(old.status), id)).map_err(store_err)?;
            if let Some((k, n)) = ledger_entry(id, &old) {
                tx.open_table(POINTS_LEDGER).map_err(store_err)?.remove(k).map_err(store_err)?;
                schema::add_points(tx, k.0, -i64::from(n)).map_err(store_err)?;
            }
            {
                let mut files = tx.open_table(schema::TASK_ATTACHMENTS).map_err(store_err)?;
                let keys: Vec<(u64, u64)> = files
                    .range((id, 0)..=(id, u64::MAX))
                    .map_err(store_err)?
                    .map(|r| r.map(|(k, _)| k.value()).map_err(store_err))
                    .collect::<Result<_, _>>()?;
                for k in keys {
                    files.remove(k).map_err(store_err)?;
                }
            }
            let mut ev = TASK_EVENTS.open(tx)?;
            // Keys only: the events are removed, not read.
            let keys: Vec<(u64, u64)> = ev
                .raw()
                .range((id, 0)..=(id, u64::MAX))
                .map_err(store_err)?
                .map(|r| r.map(|(k, _)| k.value()).map_err(store_err))
                .collect::<Result<_, _>>()?;
            for k in keys {
                ev.remove(k)?;
            }
            inbox_audience(tx, Some(&old), None)
        })
        .await?;
    after(state, tenant, id, Vec::new(), inboxes);
    Ok(())
}

/// Moves a task along the workflow. Who may make which move:
/// the assignee starts and submits; a reviewer (the creator, a manager of
/// the department, a director) completes, sends back or rejects.
pub async fn change_status(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    id: u64,
    to: TaskStatus,
    note: Option<String>,
) -> Result<TaskV1, AppError> {
    if !matches!(to, TaskStatus::InProgress | TaskStatus::PendingReview | TaskStatus::Completed | TaskStatus::Redo | TaskStatus::Rejected) {
        return Err(AppError::invalid("status", "validation.task_status"));
    }
    let note = comment(note.as_deref(), matches!(to, TaskStatus::Redo | TaskStatus::Rejected))?;
    let now = state.now_ms();
    let who2 = who.clone();
    let (task, sent, inboxes) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !who2.can_see_task(&old) {
                return Err(not_found());
            }
            let from = old.status;
            let mv = Move::to_status(to).ok_or_else(|| AppError::invalid("status", "validation.task_status"))?;
            if !allowed_moves_with(&who2, &old, facts_in(tx, id, &old)?).contains(&mv) {
                // The caller's part in this move decides the refusal: theirs
                // to make but not now (409), or not theirs at all (403).
                let party = match mv {
                    Move::Start | Move::Submit => old.assignee_id == who2.id(),
                    _ => who2.can_review_task(&old),
                };
                return Err(if party { transition(from, to) } else { forbidden_move() });
            }
            let mut t = old.clone();
            set_status(&mut t, to, now);
            match to {
                TaskStatus::Redo => t.redo_count += 1,
                TaskStatus::Completed => {
                    t.completed_at = Some(now);
                    t.points_awarded = t.points;
                }
                TaskStatus::Rejected => t.completed_at = Some(now),
                _ => {}
            }
            save(tx, id, Some(&old), &t)?;
            history(tx, now, &who2, id, status_line(from, to, note.clone()))?;
            // One event, one notification: closing the creator's last open
            // task tells them that, with the task, instead of twice.
            let notice = if is_final(to) && all_done(tx, t.creator_id)? {
                Notice::LastFinished { task_id: id, task: &t }
            } else {
                Notice::StatusChanged { task_id: id, task: &t }
            };
            let sent = notify::plan(tx, now, who2.id(), notice)?;
            let inboxes = inbox_audience(tx, Some(&old), Some(&t))?;
            Ok((t, sent, inboxes))
        })
        .await?;
    after(state, tenant, id, sent, inboxes);
    Ok(task)
}

/// Where a search looks: one of the task lists, always within what the
/// caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// Every task the caller may see.
    Visible,
    /// Tasks assigned to the caller.
    Assigned,
    /// Tasks the caller gave.
    Given,
    /// One department's tasks (those of it the caller may see).
    Department(u64),
    /// What waits in one of the caller's inboxes.
    Inbox(Inbox),
}

impl Within {
    /// The list an API client names: `all` (or nothing), `mine`, `given`,
    /// `approval`, `review`; a department is searched with `all` and its id.
    pub fn parse(s: &str) -> Result<Within, AppError> {
        match s.trim() {
            "" | "all" => Ok(Within::Visible),
            "mine" => Ok(Within::Assigned),
            "given" => Ok(Within::Given),
            other => Inbox::parse(other).map(Within::Inbox).ok_or_else(|| AppError::invalid("within", "validation.within")),
        }
    }
}

/// Searches the tasks `who` may see: the index narrows by what they may
/// see (every task, their department's and their own, or their own), then
/// the store has the last word on what a task says and who may see it.
/// Returns the tasks in the index's order and the index's total.
pub fn search(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    query: &crate::search::SearchQuery,
    limit: usize,
) -> Result<(Vec<(u64, TaskV1)>, usize), AppError> {
    search_within(state, tenant, who, query, Within::Visible, limit)
}

/// [`search`] inside one list (a task tab): the list narrows the index's
/// query, the caller's visibility narrows it again, and the store decides
/// last (for an inbox: whether the task still waits there for `who`). An
/// inbox's total is what it found, the others' the index's.
pub fn search_within(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    query: &crate::search::SearchQuery,
    within: Within,
    limit: usize,
) -> Result<(Vec<(u64, TaskV1)>, usize), AppError> {
    use crate::search::Scope;
    let scope = if who.can("tasks.view_all") {
        Scope::All
    } else if who.can("tasks.view_department") {
        Scope::Department { user_id: who.id(), department_id: who.department_id() }
    } else {
        Scope::Own { user_id: who.id() }
    };
    let mut q = query.clone();
    match within {
        Within::Visible => {}
        Within::Assigned => q.assignee_id = Some(who.id()),
        Within::Given => q.creator_id = Some(who.id()),
        Within::Department(d) => q.department_id = Some(d),
        Within::Inbox(inbox) => {
            if inbox == Inbox::Approval && !crate::auth::rbac::acts_as_director(|p| who.can(p)) {
                return Ok((Vec::new(), 0));
            }
            q.status = Some(match inbox {
                Inbox::Approval => TaskStatus::AwaitingApproval,
                Inbox::Review => TaskStatus::PendingReview,
            });
        }
    }
    let (ids, total) = state.search.get(tenant)?.search(&q, scope, limit)?;
    let db = tenant.db()?;
    let items: Vec<(u64, TaskV1)> = ids
        .into_iter()
        .filter_map(|id| get(db, who, id).ok().map(|t| (id, t)))
        .filter(|(_, t)| match within {
            Within::Inbox(inbox) => inbox.holds(who, t),
            _ => true,
        })
        .collect();
    let total = if matches!(within, Within::Inbox(_)) { items.len() } else { total };
    Ok((items, total))
}

/// Whether every task `creator` handed out is finished: none of the open
/// tasks (read as keys of the status index, one status at a time) is
/// theirs, checked by a key lookup in the creator index. The cost follows
/// the company's open work, never the creator's history.
fn all_done(tx: &WriteTransaction, creator: u64) -> Result<bool, AppError> {
    let by_creator = tx.open_table(TASKS_BY_CREATOR).map_err(store_err)?;
    let by_status = tx.open_table(TASKS_BY_STATUS).map_err(store_err)?;
    for s in crate::tasks::STATUSES.into_iter().filter(|s| !is_final(*s)) {
        let b = status_byte(s);
        for row in by_status.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
            let id = row.map_err(store_err)?.0.value().1;
            if by_creator.get((creator, id)).map_err(store_err)?.is_some() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A director's yes: to a task assigned across departments (it becomes
/// `new`), or to a requested deadline change.
pub async fn approve(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, note: Option<String>) -> Result<TaskV1, AppError> {
    decide(state, tenant, who, id, true, note).await
}

pub async fn decline(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, note: Option<String>) -> Result<TaskV1, AppError> {
    decide(state, tenant, who, id, false, note).await
}

async fn decide(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, yes: bool, note: Option<String>) -> Result<TaskV1, AppError> {
    let note = comment(note.as_deref(), false)?;
    let now = state.now_ms();
    let who2 = who.clone();
    let (task, sent, inboxes) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !who2.can_see_task(&old) {
                return Err(not_found());
            }
            if is_final(old.status) {
                return Err(closed());
            }
            let mut t = old.clone();
            let mut sent = Vec::new();
            if old.status == TaskStatus::AwaitingApproval {
                if !may(&who2, &old, if yes { Move::Approve } else { Move::Decline }) {
                    return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_needs_director"));
                }
                let to = if yes { TaskStatus::New } else { TaskStatus::Declined };
                set_status(&mut t, to, now);
                save(tx, id, Some(&old), &t)?;
                history(
                    tx,
                    now,
                    &who2,
                    id,
                    Line { kind: if yes { "approved" } else { "declined" }, comment: note.clone(), ..status_line(old.status, to, None) },
                )?;
                sent.extend(notify::plan(tx, now, who2.id(), Notice::StatusChanged { task_id: id, task: &t })?);
                if yes {
                    // From its creator: the director only let it through.
                    let from_id = t.creator_id;
                    sent.extend(notify::plan(tx, now, who2.id(), Notice::Assigned { task_id: id, task: &t, from_id })?);
                }
            } else if let Some(req) = old.deadline_request.clone() {
                // A late task's deadline is a director's call; otherwise its creator's too.
                if !may(&who2, &old, if yes { Move::ApproveDeadline } else { Move::DeclineDeadline }) {
                    return Err(AppError::new(ErrorKind::Forbidden).with_message("error.task_needs_director"));
                }
                if yes {
                    apply_deadline(&mut t, req.deadline, now);
                } else {
                    t.deadline_request = None;
                    t.updated_at = now;
                }
                save(tx, id, Some(&old), &t)?;
                let kind = if yes { "extension_approved" } else { "extension_declined" };
                history(
                    tx,
                    now,
                    &who2,
                    id,
                    Line {
                        kind,
                        field: Some("deadline"),
                        from: Some(ms_str(old.deadline)),
                        to: Some(ms_str(req.deadline)),
                        comment: note.clone(),
                    },
                )?;
                if yes {
                    sent.extend(notify::plan(tx, now, who2.id(), Notice::DeadlineChanged { task_id: id, task: &t })?);
                } else {
                    sent.extend(notify::plan(tx, now, who2.id(), Notice::StatusChanged { task_id: id, task: &t })?);
                }
            } else {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.task_nothing_to_approve"));
            }
            let inboxes = inbox_audience(tx, Some(&old), Some(&t))?;
            Ok((t, sent, inboxes))
        })
        .await?;
    after(state, tenant, id, sent, inboxes);
    Ok(task)
}

/// Asks for (or, for a director, sets) a later deadline.
pub async fn extension(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    id: u64,
    deadline: &str,
    note: Option<String>,
) -> Result<TaskV1, AppError> {
    let deadline = parse_time("deadline", deadline)?;
    let note = comment(note.as_deref(), false)?;
    let now = state.now_ms();
    if deadline <= now {
        return Err(AppError::invalid("deadline", "validation.deadline_past"));
    }
    let who2 = who.clone();
    let (task, sent) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !who2.can_see_task(&old) {
                return Err(not_found());
            }
            if is_final(old.status) || old.status == TaskStatus::AwaitingApproval {
                return Err(closed());
            }
            let direct = may(&who2, &old, Move::SetDeadline);
            if !direct && !may(&who2, &old, Move::RequestDeadline) {
                return Err(forbidden_move());
            }
            let mut t = old.clone();
            let sent = if direct {
                apply_deadline(&mut t, deadline, now);
                save(tx, id, Some(&old), &t)?;
                history(
                    tx,
                    now,
                    &who2,
                    id,
                    Line {
                        kind: "field",
                        field: Some("deadline"),
                        from: Some(ms_str(old.deadline)),
                        to: Some(ms_str(deadline)),
                        comment: note.clone(),
                    },
                )?;
                notify::plan(tx, now, who2.id(), Notice::DeadlineChanged { task_id: id, task: &t })?
            } else {
                t.deadline_request = Some(DeadlineRequest { deadline, by: who2.id(), at: now, comment: note.clone() });
                t.updated_at = now;
                save(tx, id, Some(&old), &t)?;
                history(
                    tx,
                    now,
                    &who2,
                    id,
                    Line {
                        kind: "extension_requested",
                        field: Some("deadline"),
                        from: Some(ms_str(old.deadline)),
                        to: Some(ms_str(deadline)),
                        comment: note.clone(),
                    },
                )?;
                notify::plan(tx, now, who2.id(), Notice::ExtensionRequested { task_id: id, task: &t })?
            };
            Ok((t, sent))
        })
        .await?;
    after(state, tenant, id, sent, Vec::new());
    Ok(task)
}

// ---------- the overdue job ----------

/// Marks every task on the assignee's clock ([`super::on_the_clock`]: open,
/// not handed in, not awaiting approval) whose deadline has passed as
/// overdue and tells its assignee and creator, once: a task leaves the due index in the same
/// transaction, so a restart never finds it again. Returns how many.
pub async fn mark_overdue(state: &AppState, tenant: &Tenant) -> Result<usize, AppError> {
    let now = state.now_ms();
    let system = Caller::System;
    let (ids, sent) = tenant
        .db()?
        .write(move |tx| {
            let due: Vec<u64> = {
                let idx = tx.open_table(TASKS_DUE).map_err(store_err)?;
                let mut v = Vec::new();
                for row in idx.range(..(now, 0)).map_err(store_err)? {
                    v.push(row.map_err(store_err)?.0.value().1);
                }
                v
            };
            let mut sent = Vec::new();
            let mut marked = Vec::new();
            for id in due {
                let old = load(tx, id)?;
                if !super::on_the_clock(old.status) {
                    // Not the assignee's wait (handed in, awaiting approval):
                    // never late. An entry a save left is taken out.
                    tx.open_table(TASKS_DUE).map_err(store_err)?.remove((old.deadline, id)).map_err(store_err)?;
                    continue;
                }
                let mut t = old.clone();
                set_status(&mut t, TaskStatus::Overdue, now);
                t.overdue_at = Some(now);
                save(tx, id, Some(&old), &t)?;
                history(tx, now, &system, id, status_line(old.status, TaskStatus::Overdue, None))?;
                sent.extend(notify::plan(tx, now, 0, Notice::Overdue { task_id: id, task: &t })?);
                marked.push(id);
            }
            Ok((marked, sent))
        })
        .await?;
    notify::deliver(state, tenant, sent);
    for id in &ids {
        state.search.touch(tenant, *id);
        state.hub.publish(&tenant.slug, &Topic::Tasks, "task.changed", serde_json::json!({"id": id}), state.now());
    }
    Ok(ids.len())
}

// ---------- categories ----------

pub fn categories(db: &Db) -> Result<Vec<(u64, CategoryV2)>, AppError> {
    let tx = db.read()?;
    CATEGORIES.open(&tx)?.all()
}

/// A category's fields from a form or the API; on update `None` keeps a
/// field, and `Some("")` clears a translation (the one name is used).
#[derive(Debug, Clone, Default)]
pub struct CategoryInput {
    pub name: Option<String>,
    pub color: Option<String>,
    /// The name in Russian and in English.
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub active: Option<bool>,
}

/// The name people read in `lang`: its own version, or the one given.
pub fn category_name(c: &CategoryV2, lang: crate::i18n::Lang) -> &str {
    lang.pick(&c.name, &c.name_ru, &c.name_en)
}

fn may_manage_categories(actor: &Caller) -> Result<(), AppError> {
    if !(actor.can("tasks.assign_any") || actor.can("company.setup")) {
        return Err(ErrorKind::Forbidden.into());
    }
    Ok(())
}

fn category_color(c: &str) -> Result<String, AppError> {
    crate::org::branding::parse_color(c).map_err(|_| AppError::invalid("color", "validation.color"))
}

pub async fn create_category(state: &AppState, tenant: &Tenant, actor: &Caller, input: CategoryInput) -> Result<u64, AppError> {
    may_manage_categories(actor)?;
    let name = text("name", input.name.as_deref().unwrap_or(""), 60, true)?;
    let name_ru = text("name_ru", input.name_ru.as_deref().unwrap_or(""), 60, false)?;
    let name_en = text("name_en", input.name_en.as_deref().unwrap_or(""), 60, false)?;
    let color = category_color(input.color.as_deref().unwrap_or(""))?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut categories = CATEGORIES.open(tx)?;
            let existing = categories.all()?;
            if existing.iter().any(|(_, c)| c.active && c.name.to_lowercase() == name.to_lowercase()) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
            }
            let id = next_id(tx, "category")?;
            let c =
                CategoryV2 { name: name.clone(), color: color.clone(), active: true, name_ru: name_ru.clone(), name_en: name_en.clone() };
            categories.insert(id, &c)?;
            let mut ch = crate::audit::Changes::default();
            ch.set("name", &name);
            if !name_ru.is_empty() {
                ch.set("name_ru", &name_ru);
            }
            if !name_en.is_empty() {
                ch.set("name_en", &name_en);
            }
            ch.set("color", &color);
            crate::audit::record(tx, now, &who, "category.create", &format!("category:{id}"), ch.0)?;
            Ok(id)
        })
        .await
}

/// Renames, recolours, switches off (the way to delete: tasks keep their
/// category) or back on a category.
pub async fn update_category(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    id: u64,
    input: CategoryInput,
) -> Result<CategoryV2, AppError> {
    may_manage_categories(actor)?;
    let name = input.name.as_deref().map(|n| text("name", n, 60, true)).transpose()?;
    let name_ru = input.name_ru.as_deref().map(|n| text("name_ru", n, 60, false)).transpose()?;
    let name_en = input.name_en.as_deref().map(|n| text("name_en", n, 60, false)).transpose()?;
    let color = input.color.as_deref().map(category_color).transpose()?;
    let active = input.active;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let existing = CATEGORIES.open(tx)?.all()?;
            let old = existing.iter().find(|(i, _)| *i == id).map(|(_, c)| c.clone()).ok_or_else(|| AppError::new(ErrorKind::NotFound))?;
            let mut c = old.clone();
            if let Some(n) = &name {
                c.name = n.clone();
            }
            if let Some(n) = &name_ru {
                c.name_ru = n.clone();
            }
            if let Some(n) = &name_en {
                c.name_en = n.clone();
            }
            if let Some(col) = &color {
                c.color = col.clone();
            }
            if let Some(a) = active {
                c.active = a;
            }
            let clash = existing.iter().any(|(i, o)| *i != id && o.active && o.name.to_lowercase() == c.name.to_lowercase());
            if c.active && clash {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
            }
            let mut ch = crate::audit::Changes::default();
            ch.diff("name", &old.name, &c.name);
            ch.diff("name_ru", &old.name_ru, &c.name_ru);
            ch.diff("name_en", &old.name_en, &c.name_en);
            ch.diff("color", &old.color, &c.color);
            ch.diff("active", &old.active, &c.active);
            if ch.is_empty() {
                return Ok(c);
            }
            CATEGORIES.open(tx)?.insert(id, &c)?;
            crate::audit::record(tx, now, &who, "category.update", &format!("category:{id}"), ch.0)?;
            Ok(c)
        })
        .await
}

// ---------- points ----------

/// A user's points: all they were ever awarded, and this week's and this
/// month's (by the day a task was completed, in the company's time zone;
/// weeks start on Monday).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Points {
    pub total: u64,
    pub week: u64,
    pub month: u64,
}

/// Where this week and this month began, in ms, at `now` in `tz`.
pub fn period_starts(now: i64, tz: &jiff::tz::TimeZone) -> (i64, i64) {
    let today = crate::clock::from_ms(now).to_zoned(tz.clone()).date();
    let monday = today.checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset()))).unwrap_or(today);
    let first = today.first_of_month();
    let start = |d: jiff::civil::Date| d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).unwrap_or(i64::MIN);
    (start(monday), start(first))
}

/// Whose points `who` may read: their own; anyone's with `users.view` (the
/// users list) or `tasks.view_all`.
pub fn may_see_points(who: &Caller, user_id: u64) -> bool {
    who.id() == user_id || who.can("users.view") || who.can("tasks.view_all")
}

/// The points of each of `users` that `who` may see (others are left
/// out), at `now` in the company's time zone: the total from each user's
/// running sum, this week's and month's from their ledger entries since
/// the earlier of the two starts. No task is decoded, and no point older
/// than this month (or week) is read.
pub fn points_of_users(db: &Db, who: &Caller, users: &[u64], now: i64, tz: &jiff::tz::TimeZone) -> Result<Vec<(u64, Points)>, AppError> {
    let (week, month) = period_starts(now, tz);
    let since = week.min(month);
    let tx = db.read()?;
    let ledger = tx.open_table(POINTS_LEDGER).map_err(store_err)?;
    let totals = tx.open_table(schema::POINTS_TOTAL).map_err(store_err)?;
    let mut out = Vec::new();
    for &user_id in users.iter().filter(|u| may_see_points(who, **u)) {
        let total = totals.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        let mut p = Points { total, ..Points::default() };
        for row in ledger.range((user_id, since, 0)..=(user_id, i64::MAX, u64::MAX)).map_err(store_err)? {
            let (k, v) = row.map_err(store_err)?;
            let (at, n) = (k.value().1, u64::from(v.value()));
            if at >= month {
                p.month += n;
            }
            if at >= week {
                p.week += n;
            }
        }
        out.push((user_id, p));
    }
    Ok(out)
}

/// One user's points, when `who` may see them.
pub fn points_of(db: &Db, who: &Caller, user_id: u64, now: i64, tz: &jiff::tz::TimeZone) -> Result<Points, AppError> {
    if !may_see_points(who, user_id) {
        return Err(ErrorKind::Forbidden.into());
    }
    Ok(points_of_users(db, who, &[user_id], now, tz)?.first().map(|(_, p)| *p).unwrap_or_default())
}
