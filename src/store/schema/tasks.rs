//! Tasks: the records, their history, categories, and the indexes the
//! lists, the calendar and the overdue job read.

use super::*;
use redb::{TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

/// task id → [`TaskRecord`].
pub const TASKS: Records<u64, TaskRecord> = Records::new("tasks");
/// (task id, event id) → [`TaskEventRecord`]: the task's history.
pub const TASK_EVENTS: Records<(u64, u64), TaskEventRecord> = Records::new("task_events");
/// (assignee id, task id): tasks by assignee.
pub const TASKS_BY_ASSIGNEE: TableDefinition<(u64, u64), ()> = TableDefinition::new("tasks_by_assignee");
/// (creator id, task id): tasks by creator.
pub const TASKS_BY_CREATOR: TableDefinition<(u64, u64), ()> = TableDefinition::new("tasks_by_creator");
/// (department id, task id): tasks by the assignee's department.
pub const TASKS_BY_DEPARTMENT: TableDefinition<(u64, u64), ()> = TableDefinition::new("tasks_by_department");
/// (deadline ms, task id) of every task: the calendar.
pub const TASKS_BY_DEADLINE: TableDefinition<(i64, u64), ()> = TableDefinition::new("tasks_by_deadline");
/// (deadline ms, task id) of tasks still open and not yet marked overdue: the overdue job.
pub const TASKS_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("tasks_due");
/// (status byte, task id) of every task ([`status_byte`]): the inboxes
/// read the tasks waiting for approval or review without decoding the rest.
pub const TASKS_BY_STATUS: TableDefinition<(u8, u64), ()> = TableDefinition::new("tasks_by_status");
/// (assignee id, completed at ms, task id) → points awarded, of every
/// completed task that awarded points: the points of a user, this week and
/// this month, read as a range of small values.
pub const POINTS_LEDGER: TableDefinition<(u64, i64, u64), u32> = TableDefinition::new("task_points");
/// assignee id → the sum of their [`POINTS_LEDGER`] entries (absent when 0):
/// a user's all-time points without reading their history.
pub const POINTS_TOTAL: TableDefinition<u64, u64> = TableDefinition::new("task_points_total");
/// Retired (written by schema version 4 only, deleted by the version-6
/// step): (deadline ms, task id) of tasks marked late. The same set is the
/// [`TASKS_BY_STATUS`] keys of `Overdue`, which the dashboards read now.
pub const TASKS_LATE: TableDefinition<(i64, u64), ()> = TableDefinition::new("tasks_late");
/// Retired like [`TASKS_LATE`]: (completed ms, task id) of completed tasks.
/// A period's points per person are [`POINTS_LEDGER`] ranges now.
pub const TASKS_DONE: TableDefinition<(i64, u64), ()> = TableDefinition::new("tasks_done");
/// (task id, file id): files attached to a task. The chat issue fills it;
/// tasks and their API already read it.
pub const TASK_ATTACHMENTS: TableDefinition<(u64, u64), ()> = TableDefinition::new("task_attachments");
/// category id → [`CategoryRecord`].
pub const CATEGORIES: Records<u64, CategoryRecord> = Records::new("task_categories");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(TASKS.def())?;
    t.table(TASK_EVENTS.def())?;
    t.table(TASKS_BY_ASSIGNEE)?;
    t.table(TASKS_BY_CREATOR)?;
    t.table(TASKS_BY_DEPARTMENT)?;
    t.table(TASKS_BY_DEADLINE)?;
    t.table(TASKS_DUE)?;
    t.table(TASKS_BY_STATUS)?;
    t.table(POINTS_LEDGER)?;
    t.table(POINTS_TOTAL)?;
    t.table(TASK_ATTACHMENTS)?;
    t.table(CATEGORIES.def())?;
    Ok(())
}

/// Where a task is in its workflow. Postcard stores the variant index, so
/// new statuses are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskStatus {
    AwaitingApproval,
    New,
    InProgress,
    PendingReview,
    Redo,
    Completed,
    Rejected,
    Overdue,
    Declined,
}

/// The key byte of a status in [`TASKS_BY_STATUS`]: the variant's index,
/// the same byte postcard stores (pinned by the golden test below).
pub fn status_byte(s: TaskStatus) -> u8 {
    match s {
        TaskStatus::AwaitingApproval => 0,
        TaskStatus::New => 1,
        TaskStatus::InProgress => 2,
        TaskStatus::PendingReview => 3,
        TaskStatus::Redo => 4,
        TaskStatus::Completed => 5,
        TaskStatus::Rejected => 6,
        TaskStatus::Overdue => 7,
        TaskStatus::Declined => 8,
    }
}

/// The points ledger entry of a task, if it has one: the completed task's
/// assignee, completion time and points.
pub fn ledger_entry(id: u64, t: &TaskV1) -> Option<((u64, i64, u64), u32)> {
    (t.status == TaskStatus::Completed && t.points_awarded > 0)
        .then(|| ((t.assignee_id, t.completed_at.unwrap_or(t.updated_at), id), t.points_awarded))
}

/// Adds `delta` (which may be negative) to `user`'s [`POINTS_TOTAL`],
/// dropping the row at 0.
pub fn add_points(tx: &WriteTransaction, user: u64, delta: i64) -> Result<(), redb::Error> {
    use redb::ReadableTable;
    let mut t = tx.open_table(POINTS_TOTAL)?;
    let old = t.get(user)?.map(|v| v.value()).unwrap_or(0);
    let new = old.saturating_add_signed(delta);
    if new == 0 {
        t.remove(user)?;
    } else {
        t.insert(user, new)?;
    }
    Ok(())
}

/// A deadline change waiting for a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineRequest {
    pub deadline: i64,
    pub by: u64,
    pub at: i64,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskV1 {
    pub title: String,
    pub description: String,
    pub creator_id: u64,
    pub assignee_id: u64,
    pub department_id: Option<u64>,
    pub category_id: Option<u64>,
    pub points: u32,
    pub start_at: Option<i64>,
    pub deadline: i64,
    pub status: TaskStatus,
    pub created_at: i64,
    pub updated_at: i64,
    /// Time spent in progress before `working_since`, in ms.
    pub spent_ms: i64,
    /// Set while the assignee is working on it.
    pub working_since: Option<i64>,
    pub redo_count: u32,
    /// When the overdue job found it late; kept after it is finished.
    pub overdue_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub points_awarded: u32,
    pub deadline_request: Option<DeadlineRequest>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskRecord {
    V1(TaskV1),
}
versioned!(TaskRecord, TaskV1, V1);

/// One line of a task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEventV1 {
    pub at: i64,
    /// 0: the system (the overdue job).
    pub actor_id: u64,
    pub actor_name: String,
    /// `created`, `status`, `field`, `approved`, `declined`, `extension_requested`, …
    pub kind: String,
    pub field: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub comment: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskEventRecord {
    V1(TaskEventV1),
}
versioned!(TaskEventRecord, TaskEventV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryV1 {
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    pub active: bool,
}
/// V2 adds the category's name in Russian and English (empty: the one name
/// is used), like a branch's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryV2 {
    /// The name as given (Uzbek, and the fallback of every language).
    pub name: String,
    /// `#rrggbb`
    pub color: String,
    pub active: bool,
    pub name_ru: String,
    pub name_en: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CategoryRecord {
    V1(CategoryV1),
    V2(CategoryV2),
}
impl Versioned for CategoryRecord {
    type Latest = CategoryV2;
    fn into_latest(self) -> CategoryV2 {
        match self {
            CategoryRecord::V1(v) => {
                CategoryV2 { name: v.name, color: v.color, active: v.active, name_ru: String::new(), name_en: String::new() }
            }
            CategoryRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: CategoryV2) -> Self {
        CategoryRecord::V2(latest)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(TaskRecord::V1(TaskV1 {
                title: "Hisobot tayyorlash".into(),
                description: "Oylik hisobot".into(),
                creator_id: 2,
                assignee_id: 5,
                department_id: Some(1),
                category_id: Some(3),
                points: 10,
                start_at: Some(1_764_000_000_000),
                deadline: 1_764_086_400_000,
                status: TaskStatus::PendingReview,
                created_at: 1_764_000_000_000,
                updated_at: 1_764_050_000_000,
                spent_ms: 3_600_000,
                working_since: None,
                redo_count: 1,
                overdue_at: Some(1_764_086_460_000),
                completed_at: None,
                points_awarded: 0,
                deadline_request: Some(DeadlineRequest {
                    deadline: 1_764_172_800_000,
                    by: 5,
                    at: 1_764_050_000_000,
                    comment: Some("Ko‘proq vaqt".into()),
                }),
            })),
            record(TaskEventRecord::V1(TaskEventV1 {
                at: 9,
                actor_id: 5,
                actor_name: "Dilnoza".into(),
                kind: "status".into(),
                field: None,
                from: Some("in_progress".into()),
                to: Some("pending_review".into()),
                comment: Some("Tayyor".into()),
            })),
            record(CategoryRecord::V1(CategoryV1 { name: "Hisobot".into(), color: "#1f6feb".into(), active: true })),
            record(CategoryRecord::V2(CategoryV2 {
                name: "Hujjatlar".into(),
                color: "#0a7d5a".into(),
                active: false,
                name_ru: String::new(),
                name_en: "Documents".into(),
            })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &TaskStatus| -> &'static [u8] {
            match v {
                TaskStatus::AwaitingApproval => &[0],
                TaskStatus::New => &[1],
                TaskStatus::InProgress => &[2],
                TaskStatus::PendingReview => &[3],
                TaskStatus::Redo => &[4],
                TaskStatus::Completed => &[5],
                TaskStatus::Rejected => &[6],
                TaskStatus::Overdue => &[7],
                TaskStatus::Declined => &[8],
            }
        })]
    }

    /// The status index's key byte is the byte postcard stores.
    #[test]
    fn a_status_byte_is_its_stored_byte() {
        for s in crate::tasks::STATUSES {
            assert_eq!([status_byte(s)].as_slice(), postcard::to_allocvec(&s).unwrap().as_slice(), "{s:?}");
        }
    }
}
