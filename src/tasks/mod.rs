//! Tasks: assignment, approval, review, points, history and the overdue job.

pub mod ical;
pub mod report;
pub mod service;

use crate::i18n::{Lang, t};
use crate::store::schema::TaskStatus;

pub const STATUSES: [TaskStatus; 9] = [
    TaskStatus::AwaitingApproval,
    TaskStatus::New,
    TaskStatus::InProgress,
    TaskStatus::PendingReview,
    TaskStatus::Redo,
    TaskStatus::Completed,
    TaskStatus::Rejected,
    TaskStatus::Overdue,
    TaskStatus::Declined,
];

/// The stable API name of a status.
pub fn status_code(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::AwaitingApproval => "awaiting_approval",
        TaskStatus::New => "new",
        TaskStatus::InProgress => "in_progress",
        TaskStatus::PendingReview => "pending_review",
        TaskStatus::Redo => "redo",
        TaskStatus::Completed => "completed",
        TaskStatus::Rejected => "rejected",
        TaskStatus::Overdue => "overdue",
        TaskStatus::Declined => "declined",
    }
}

pub fn parse_status(s: &str) -> Option<TaskStatus> {
    STATUSES.into_iter().find(|st| status_code(*st) == s)
}

/// A status as people read it.
pub fn status_label(lang: Lang, code: &str) -> &'static str {
    match parse_status(code) {
        Some(TaskStatus::AwaitingApproval) => t(lang, "task.status.awaiting_approval"),
        Some(TaskStatus::New) => t(lang, "task.status.new"),
        Some(TaskStatus::InProgress) => t(lang, "task.status.in_progress"),
        Some(TaskStatus::PendingReview) => t(lang, "task.status.pending_review"),
        Some(TaskStatus::Redo) => t(lang, "task.status.redo"),
        Some(TaskStatus::Completed) => t(lang, "task.status.completed"),
        Some(TaskStatus::Rejected) => t(lang, "task.status.rejected"),
        Some(TaskStatus::Overdue) => t(lang, "task.status.overdue"),
        Some(TaskStatus::Declined) => t(lang, "task.status.declined"),
        None => "",
    }
}

/// Finished tasks: nothing more happens to them.
pub fn is_final(s: TaskStatus) -> bool {
    matches!(s, TaskStatus::Completed | TaskStatus::Rejected | TaskStatus::Declined)
}

/// On the assignee's clock: an open task whose deadline the overdue job
/// watches (the `tasks_due` index holds exactly these). Not a task handed
/// in and waiting for review (the deadline was the assignee's, and they
/// met it; the reviewer being late does not make the work late), nor one
/// waiting for a director's approval before work may start: neither wait
/// is the assignee's to end. Sent back for redo, or approved, the task is
/// on the clock again with its deadline.
pub fn on_the_clock(s: TaskStatus) -> bool {
    !is_final(s) && !matches!(s, TaskStatus::Overdue | TaskStatus::PendingReview | TaskStatus::AwaitingApproval)
}
