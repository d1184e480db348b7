//! Every table and every record version, in one place.
//!
//! Values are postcard-encoded versioned enums. Postcard is not
//! self-describing, so a field is never added to an existing version: a new
//! field means a new `Vn` variant and a conversion in `into_latest`. The
//! golden bytes of every version live in `schema/records/` and a test
//! decodes them, so an old data file always opens.

use redb::{TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

// Tables present in every database file.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const SEQ: TableDefinition<&str, u64> = TableDefinition::new("seq");
/// sha256(refresh token) → [`RefreshRecord`].
pub const REFRESH: TableDefinition<&[u8], &[u8]> = TableDefinition::new("refresh_tokens");
/// session family id → [`FamilyRecord`].
pub const FAMILIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("token_families");
/// audit id → [`AuditRecord`]; ids grow with time.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

// Platform tables (platform.redb).
/// slug → [`CompanyRecord`].
pub const COMPANIES: TableDefinition<&str, &[u8]> = TableDefinition::new("companies");
/// platform admin id → [`AccountRecord`].
pub const ADMINS: TableDefinition<u64, &[u8]> = TableDefinition::new("admins");
/// lower-case username → platform admin id.
pub const ADMINS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("admins_by_name");
/// (normalised phone, taken at ms, entry id) → [`CustomerTicketRecord`]: every
/// queue ticket and booking of a customer in any company ("my queues").
pub const CUSTOMER_TICKETS: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("customer_tickets");

// Company tables (tenants/<slug>/data.redb).
/// user id → [`AccountRecord`].
pub const USERS: TableDefinition<u64, &[u8]> = TableDefinition::new("users");
/// lower-case username → user id.
pub const USERS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("users_by_name");
/// department id → [`DepartmentRecord`].
pub const DEPARTMENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("departments");
/// branch id → [`BranchRecord`].
pub const BRANCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("branches");
/// role name → [`RoleRecord`]; a role with no row has the default permissions.
pub const ROLES: TableDefinition<&str, &[u8]> = TableDefinition::new("roles");
/// setting name → record (`branding` → [`BrandingRecord`], `queue` → [`QueueSettingsRecord`]).
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
/// blob name → raw bytes (the logo).
pub const BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("blobs");
/// task id → [`TaskRecord`].
pub const TASKS: TableDefinition<u64, &[u8]> = TableDefinition::new("tasks");
/// (task id, event id) → [`TaskEventRecord`]: the task's history.
pub const TASK_EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("task_events");
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
/// (task id, file id): files attached to a task. The chat issue fills it;
/// tasks and their API already read it.
pub const TASK_ATTACHMENTS: TableDefinition<(u64, u64), ()> = TableDefinition::new("task_attachments");
/// queue service id → [`ServiceRecord`].
pub const SERVICES: TableDefinition<u64, &[u8]> = TableDefinition::new("queue_services");
/// operator's user id → [`OperatorRecord`]: where and what they serve.
pub const OPERATORS: TableDefinition<u64, &[u8]> = TableDefinition::new("queue_operators");
/// ticket id → [`TicketRecord`].
pub const TICKETS: TableDefinition<u64, &[u8]> = TableDefinition::new("queue_tickets");
/// (branch id, local day as yyyymmdd, ticket id): a branch's tickets of a day.
pub const TICKETS_BY_BRANCH_DAY: TableDefinition<(u64, u32, u64), ()> = TableDefinition::new("queue_tickets_by_branch_day");
/// tracking token → ticket id.
pub const TICKETS_BY_TOKEN: TableDefinition<&str, u64> = TableDefinition::new("queue_tickets_by_token");
/// (ticket id, event id) → [`TicketEventRecord`]: what happened to a ticket.
pub const TICKET_EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("queue_ticket_events");
/// operator's user id → [`OperatorStateRecord`]: at work, on a break.
pub const OPERATOR_STATE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue_operator_state");
/// (operator's user id, event id) → [`OperatorEventRecord`]: breaks taken, for the stats.
pub const OPERATOR_EVENTS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("queue_operator_events");
/// (branch id, day, ticket id) of tickets not yet final (booked, waiting,
/// called, serving): what the end-of-day expiry looks at.
pub const TICKETS_OPEN: TableDefinition<(u64, u32, u64), ()> = TableDefinition::new("queue_tickets_open");
/// (branch id, day, service id, ticket id) of waiting tickets: places in
/// line and the candidates of a call, without reading the day's other tickets.
pub const TICKETS_WAITING: TableDefinition<(u64, u32, u64, u64), ()> = TableDefinition::new("queue_tickets_waiting");
/// (branch id, day, booking code) → ticket id: check-in at the kiosk.
pub const BOOKINGS_BY_CODE: TableDefinition<(u64, u32, u32), u64> = TableDefinition::new("queue_bookings_by_code");
/// (branch id, service id, slot start ms) → tickets booked in that slot.
pub const BOOKED_SLOTS: TableDefinition<(u64, u64, i64), u32> = TableDefinition::new("queue_booked_slots");
/// service id → [`ServiceTimesRecord`]: recent service durations, for the estimate.
pub const SERVICE_TIMES: TableDefinition<u64, &[u8]> = TableDefinition::new("queue_service_times");
/// category id → [`CategoryRecord`].
pub const CATEGORIES: TableDefinition<u64, &[u8]> = TableDefinition::new("task_categories");
/// (user id, notification id) → [`NotificationRecord`].
pub const NOTIFICATIONS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("notifications");
/// (user id, notification id) of every unread notification, written with
/// [`NOTIFICATIONS`]: the unread list and "mark all read" without the read history.
pub const NOTIFICATIONS_UNREAD: TableDefinition<(u64, u64), ()> = TableDefinition::new("notifications_unread");
/// user id → how many of their notifications are unread, kept in the same
/// transaction as [`NOTIFICATIONS`]. A file from before this table is
/// backfilled once (`notify::backfill_unread`, recorded in [`META`]).
pub const UNREAD_COUNTS: TableDefinition<u64, u64> = TableDefinition::new("notification_unread_counts");
/// Deliveries waiting for their channel: (due at, outbox id) →
/// [`OutboxRecord`]. Written with the notification, in its change's
/// transaction; removed when delivered (see `notify::outbox`).
pub const OUTBOX: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("notify_outbox");
/// Deliveries handed to their channel and not yet confirmed: outbox id →
/// [`OutboxRecord`]. Empty between passes; rows found here at the start of
/// a pass were cut off by a crash and are never sent again.
pub const OUTBOX_SENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("notify_outbox_sending");

/// The layout of the tables this build writes, kept in every file's `meta`
/// table under [`VERSION_KEY`] (one byte). A file of an older version is
/// brought up to date on open by the steps in `store::migrate`; a newer file
/// is refused. Raise it with every step added there.
///
/// 1: the layout up to 2026-11. 2: `queue_tickets_waiting` is complete (it
/// was added on 2026-11-29 without filling it for tickets already waiting).
pub const SCHEMA_VERSION: u8 = 2;

/// The `meta` key of the schema version.
pub const VERSION_KEY: &str = "schema_version";

fn init_common(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(META)?;
    tx.open_table(SEQ)?;
    tx.open_table(REFRESH)?;
    tx.open_table(FAMILIES)?;
    tx.open_table(AUDIT)?;
    Ok(())
}

/// Creates the tables of `platform.redb`.
pub fn init_platform(tx: &WriteTransaction) -> Result<(), redb::Error> {
    init_common(tx)?;
    tx.open_table(COMPANIES)?;
    tx.open_table(ADMINS)?;
    tx.open_table(ADMINS_BY_NAME)?;
    tx.open_table(CUSTOMER_TICKETS)?;
    Ok(())
}

/// Creates the tables of a company's `data.redb`.
pub fn init_tenant(tx: &WriteTransaction) -> Result<(), redb::Error> {
    init_common(tx)?;
    tx.open_table(USERS)?;
    tx.open_table(USERS_BY_NAME)?;
    tx.open_table(DEPARTMENTS)?;
    tx.open_table(BRANCHES)?;
    tx.open_table(ROLES)?;
    tx.open_table(SETTINGS)?;
    tx.open_table(BLOBS)?;
    tx.open_table(TASKS)?;
    tx.open_table(TASK_EVENTS)?;
    tx.open_table(TASKS_BY_ASSIGNEE)?;
    tx.open_table(TASKS_BY_CREATOR)?;
    tx.open_table(TASKS_BY_DEPARTMENT)?;
    tx.open_table(TASKS_BY_DEADLINE)?;
    tx.open_table(TASKS_DUE)?;
    tx.open_table(TASK_ATTACHMENTS)?;
    tx.open_table(SERVICES)?;
    tx.open_table(OPERATORS)?;
    tx.open_table(TICKETS)?;
    tx.open_table(TICKETS_BY_BRANCH_DAY)?;
    tx.open_table(TICKETS_BY_TOKEN)?;
    tx.open_table(TICKET_EVENTS)?;
    tx.open_table(OPERATOR_STATE)?;
    tx.open_table(OPERATOR_EVENTS)?;
    tx.open_table(TICKETS_OPEN)?;
    tx.open_table(TICKETS_WAITING)?;
    tx.open_table(BOOKINGS_BY_CODE)?;
    tx.open_table(BOOKED_SLOTS)?;
    tx.open_table(SERVICE_TIMES)?;
    tx.open_table(CATEGORIES)?;
    tx.open_table(NOTIFICATIONS)?;
    tx.open_table(NOTIFICATIONS_UNREAD)?;
    tx.open_table(UNREAD_COUNTS)?;
    tx.open_table(OUTBOX)?;
    tx.open_table(OUTBOX_SENDING)?;
    Ok(())
}

/// A record type with versions; `Latest` is what the code works with.
pub trait Versioned: Serialize + for<'de> Deserialize<'de> {
    type Latest;
    fn into_latest(self) -> Self::Latest;
    fn from_latest(latest: Self::Latest) -> Self;
}

macro_rules! versioned {
    ($record:ident, $latest:ident, $last:ident) => {
        impl Versioned for $record {
            type Latest = $latest;
            fn into_latest(self) -> $latest {
                match self {
                    $record::$last(v) => v,
                }
            }
            fn from_latest(latest: $latest) -> Self {
                $record::$last(latest)
            }
        }
    };
}

// ---------- records ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompanyStatus {
    Inactive,
    Active,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyV1 {
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub status: CompanyStatus,
    pub created_at: i64,
}
/// V2 adds the company's contact details, which its own admin edits (empty
/// when not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyV2 {
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub status: CompanyStatus,
    pub created_at: i64,
    pub phone: String,
    pub address: String,
    pub email: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CompanyRecord {
    V1(CompanyV1),
    V2(CompanyV2),
}
impl Versioned for CompanyRecord {
    type Latest = CompanyV2;
    fn into_latest(self) -> CompanyV2 {
        match self {
            CompanyRecord::V1(v) => CompanyV2 {
                name: v.name,
                timezone: v.timezone,
                language: v.language,
                status: v.status,
                created_at: v.created_at,
                phone: String::new(),
                address: String::new(),
                email: String::new(),
            },
            CompanyRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: CompanyV2) -> Self {
        CompanyRecord::V2(latest)
    }
}

/// A person who logs in: a platform admin or a company user. Platform admins
/// leave the company fields at their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountV1 {
    pub username: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub active: bool,
    pub password_hash: String,
    pub language: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Failed logins in a row; reset by a successful one.
    pub failed_logins: u32,
    /// No login is tried before this time (ms), after repeated failures.
    pub locked_until: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccountRecord {
    V1(AccountV1),
}
versioned!(AccountRecord, AccountV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentV1 {
    pub name: String,
    pub active: bool,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DepartmentRecord {
    V1(DepartmentV1),
}
versioned!(DepartmentRecord, DepartmentV1, V1);

/// Opening hours of one weekday in minutes after midnight, `[open, close)`.
pub type DayHours = Option<(u16, u16)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchV1 {
    pub name: String,
    pub address: String,
    /// Monday first; `None` for the whole week means open around the clock.
    pub hours: Option<[DayHours; 7]>,
    pub active: bool,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BranchRecord {
    V1(BranchV1),
}
versioned!(BranchRecord, BranchV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleV1 {
    pub permissions: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RoleRecord {
    V1(RoleV1),
}
versioned!(RoleRecord, RoleV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandingV1 {
    /// `#rrggbb`
    pub primary_color: Option<String>,
    pub logo_content_type: Option<String>,
    /// Changes with every upload, so that the logo URL can be cached forever.
    pub logo_version: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BrandingRecord {
    V1(BrandingV1),
}
versioned!(BrandingRecord, BrandingV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshV1 {
    pub family: Vec<u8>,
    pub account_id: u64,
    pub expires_at: i64,
    /// Set when the token was exchanged; a second exchange revokes the family.
    pub used_at: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RefreshRecord {
    V1(RefreshV1),
}
versioned!(RefreshRecord, RefreshV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyV1 {
    pub account_id: u64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FamilyRecord {
    V1(FamilyV1),
}
versioned!(FamilyRecord, FamilyV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditV1 {
    pub at: i64,
    pub actor_id: u64,
    pub actor_name: String,
    /// Stable action name such as `user.create`.
    pub action: String,
    /// What was acted on, such as `user:7`.
    pub target: String,
    pub changes: Vec<FieldChange>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuditRecord {
    V1(AuditV1),
}
versioned!(AuditRecord, AuditV1, V1);

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CategoryRecord {
    V1(CategoryV1),
}
versioned!(CategoryRecord, CategoryV1, V1);

/// An in-app notification. The text is rendered when shown, in the reader's
/// language, from `kind` and `args`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationV1 {
    pub at: i64,
    pub kind: String,
    pub task_id: Option<u64>,
    pub args: Vec<(String, String)>,
    pub read: bool,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NotificationRecord {
    V1(NotificationV1),
}
versioned!(NotificationRecord, NotificationV1, V1);

/// How a notification reaches its reader. In-app is the live push to open
/// pages (the notification itself is always in the reader's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    InApp,
}

/// One delivery of one notification over one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxV1 {
    pub user_id: u64,
    pub notification_id: u64,
    pub channel: Channel,
    /// Failed tries so far.
    pub attempts: u32,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxRecord {
    V1(OutboxV1),
}
versioned!(OutboxRecord, OutboxV1, V1);

/// A queue service (a kind of visit: cash desk, loans, cards…), offered at
/// chosen branches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceV1 {
    pub name_uz: String,
    pub name_ru: String,
    pub name_en: String,
    /// Expected minutes per visit, until real service times are learned.
    pub minutes: u16,
    /// The service level: a customer should be called within this many minutes.
    pub target_wait_minutes: u16,
    pub branch_ids: Vec<u64>,
    pub active: bool,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServiceRecord {
    V1(ServiceV1),
}
versioned!(ServiceRecord, ServiceV1, V1);

/// Where an operator works: one branch, one window, some services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorV1 {
    pub branch_id: u64,
    pub window: u16,
    pub service_ids: Vec<u64>,
    pub updated_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperatorRecord {
    V1(OperatorV1),
}
versioned!(OperatorRecord, OperatorV1, V1);

/// Where a ticket came from; its letter starts the ticket number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketSource {
    Kiosk,
    Online,
    Bot,
    WalkIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketPriority {
    Normal,
    Vip,
    Disabled,
    Elderly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Cancelled,
    Transferred,
    Expired,
    /// Booked online for a slot, not yet checked in at the branch.
    Booked,
}

/// A booked slot and the code to check in with at the kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    pub start: i64,
    pub end: i64,
    /// Six digits, unique at the branch that day.
    pub code: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketV1 {
    pub branch_id: u64,
    pub service_id: u64,
    pub source: TicketSource,
    /// `K-001`: source letter and the day's counter at the branch.
    pub number: String,
    /// The company's local day, `yyyymmdd`.
    pub day: u32,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub name: Option<String>,
    /// Normalised `+<digits>`.
    pub phone: Option<String>,
    /// The unguessable token of the tracking page.
    pub token: String,
    pub created_at: i64,
    /// Arrival that counts for the queue order (kept across transfers).
    pub arrived_at: i64,
    pub called_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub operator_id: Option<u64>,
    pub window: Option<u16>,
    pub recalls: u8,
    /// The wait quoted when the ticket was taken, in minutes (low, high).
    pub quoted_wait: (u32, u32),
    pub booking: Option<Booking>,
    /// The ticket this one continues after a transfer to another service.
    pub transferred_from: Option<u64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TicketRecord {
    V1(TicketV1),
}
versioned!(TicketRecord, TicketV1, V1);

/// One step in a ticket's life: called (and why), started, finished, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEventV1 {
    pub at: i64,
    /// `called`, `recalled`, `started`, `finished`, `no_show`, `cancelled`, `transferred`.
    pub kind: String,
    pub operator_id: Option<u64>,
    pub window: Option<u16>,
    /// Why this ticket was called: `booked`, `priority:vip`, `waited:23`, `chosen`.
    pub reason: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TicketEventRecord {
    V1(TicketEventV1),
}
versioned!(TicketEventRecord, TicketEventV1, V1);

/// An operator's state at the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorStateV1 {
    pub on_break: bool,
    pub break_reason: Option<String>,
    pub since: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperatorStateRecord {
    V1(OperatorStateV1),
}
versioned!(OperatorStateRecord, OperatorStateV1, V1);

/// The company's queue rules (`SETTINGS["queue"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSettingsV1 {
    /// Times a called ticket may be recalled before it counts as a no-show.
    pub max_recalls: u8,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueueSettingsRecord {
    V1(QueueSettingsV1),
}
versioned!(QueueSettingsRecord, QueueSettingsV1, V1);

/// An operator went on a break or came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorEventV1 {
    pub at: i64,
    pub on_break: bool,
    pub reason: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OperatorEventRecord {
    V1(OperatorEventV1),
}
versioned!(OperatorEventRecord, OperatorEventV1, V1);

/// The latest service durations of a service, newest last (at most 20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceTimesV1 {
    pub recent_secs: Vec<u32>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServiceTimesRecord {
    V1(ServiceTimesV1),
}
versioned!(ServiceTimesRecord, ServiceTimesV1, V1);

/// One ticket or booking of a customer, in the platform's phone index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerTicketV1 {
    pub slug: String,
    pub ticket_id: u64,
    pub token: String,
    pub number: String,
    pub booked_for: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerTicketRecord {
    V1(CustomerTicketV1),
}
versioned!(CustomerTicketRecord, CustomerTicketV1, V1);

/// Golden bytes: every record version, encoded from a fixed sample, is kept
/// in `schema/records/<name>.hex`. The test decodes each file and compares
/// it with the sample, so a change that would make old data unreadable fails
/// here. `IDORA_BLESS=1` writes the files for a NEW version; never re-bless
/// an existing one.
#[cfg(test)]
mod golden {
    use super::*;
    use std::path::PathBuf;

    fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema").join("records")
    }

    fn check<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(name: &str, sample: T) {
        let path = dir().join(format!("{name}.hex"));
        let bytes = postcard::to_allocvec(&sample).unwrap();
        if std::env::var("IDORA_BLESS").is_ok() && !path.exists() {
            std::fs::create_dir_all(dir()).unwrap();
            std::fs::write(&path, hex::encode(&bytes) + "\n").unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: bless the new version", path.display()));
        let golden = hex::decode(text.trim()).unwrap();
        let decoded: T = postcard::from_bytes(&golden).unwrap_or_else(|e| panic!("{name}: golden bytes no longer decode: {e}"));
        assert_eq!(decoded, sample, "{name}: golden bytes decode to something else");
        assert_eq!(bytes, golden, "{name}: the encoding of this version changed");
    }

    #[test]
    fn every_record_version_decodes_from_its_golden_bytes() {
        check(
            "company.v1",
            CompanyRecord::V1(CompanyV1 {
                name: "Demo Bank".into(),
                timezone: "Asia/Tashkent".into(),
                language: "uz".into(),
                status: CompanyStatus::Active,
                created_at: 1_764_000_000_000,
            }),
        );
        check(
            "company.v2",
            CompanyRecord::V2(CompanyV2 {
                name: "Demo Bank".into(),
                timezone: "Asia/Samarkand".into(),
                language: "ru".into(),
                status: CompanyStatus::Inactive,
                created_at: 1_764_000_000_000,
                phone: "+998712000000".into(),
                address: "Toshkent, Amir Temur 1".into(),
                email: "info@demo.uz".into(),
            }),
        );
        check(
            "account.v1",
            AccountRecord::V1(AccountV1 {
                username: "aziz".into(),
                full_name: "Aziz Karimov".into(),
                phone: Some("+998901234567".into()),
                role: "manager".into(),
                department_id: Some(2),
                branch_id: None,
                active: true,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                language: Some("ru".into()),
                created_at: 1_764_000_000_000,
                updated_at: 1_764_000_100_000,
                failed_logins: 3,
                locked_until: Some(1_764_000_200_000),
            }),
        );
        check("department.v1", DepartmentRecord::V1(DepartmentV1 { name: "Kassa".into(), active: false, created_at: 1 }));
        check(
            "branch.v1",
            BranchRecord::V1(BranchV1 {
                name: "Bosh ofis".into(),
                address: "Toshkent".into(),
                hours: Some([Some((540, 1080)), None, None, None, None, Some((540, 840)), None]),
                active: true,
                created_at: 2,
            }),
        );
        check("role.v1", RoleRecord::V1(RoleV1 { permissions: vec!["users.view".into(), "audit.view".into()] }));
        check(
            "branding.v1",
            BrandingRecord::V1(BrandingV1 {
                primary_color: Some("#0a7d5a".into()),
                logo_content_type: Some("image/png".into()),
                logo_version: 4,
            }),
        );
        check("refresh.v1", RefreshRecord::V1(RefreshV1 { family: vec![1, 2, 3, 4], account_id: 9, expires_at: 5, used_at: Some(6) }));
        check("family.v1", FamilyRecord::V1(FamilyV1 { account_id: 9, created_at: 7, revoked_at: None }));
        check(
            "audit.v1",
            AuditRecord::V1(AuditV1 {
                at: 8,
                actor_id: 1,
                actor_name: "Sardor".into(),
                action: "user.update".into(),
                target: "user:5".into(),
                changes: vec![FieldChange { field: "role".into(), from: Some("employee".into()), to: Some("manager".into()) }],
            }),
        );
        check(
            "task.v1",
            TaskRecord::V1(TaskV1 {
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
            }),
        );
        check(
            "task_event.v1",
            TaskEventRecord::V1(TaskEventV1 {
                at: 9,
                actor_id: 5,
                actor_name: "Dilnoza".into(),
                kind: "status".into(),
                field: None,
                from: Some("in_progress".into()),
                to: Some("pending_review".into()),
                comment: Some("Tayyor".into()),
            }),
        );
        check(
            "service.v1",
            ServiceRecord::V1(ServiceV1 {
                name_uz: "Kassa".into(),
                name_ru: "Касса".into(),
                name_en: "Cash desk".into(),
                minutes: 7,
                target_wait_minutes: 15,
                branch_ids: vec![1, 2],
                active: true,
                created_at: 11,
            }),
        );
        check("operator.v1", OperatorRecord::V1(OperatorV1 { branch_id: 1, window: 3, service_ids: vec![1, 4], updated_at: 12 }));
        check(
            "ticket.v1",
            TicketRecord::V1(TicketV1 {
                branch_id: 1,
                service_id: 2,
                source: TicketSource::Kiosk,
                number: "K-007".into(),
                day: 20261125,
                priority: TicketPriority::Elderly,
                status: TicketStatus::Called,
                name: Some("Aziz".into()),
                phone: Some("+998901234567".into()),
                token: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
                created_at: 13,
                arrived_at: 13,
                called_at: Some(14),
                started_at: None,
                finished_at: None,
                operator_id: Some(6),
                window: Some(3),
                recalls: 1,
                quoted_wait: (5, 12),
                booking: Some(Booking { start: 1_764_064_800_000, end: 1_764_065_400_000, code: 482_913 }),
                transferred_from: Some(4),
            }),
        );
        check(
            "ticket_event.v1",
            TicketEventRecord::V1(TicketEventV1 {
                at: 15,
                kind: "called".into(),
                operator_id: Some(6),
                window: Some(3),
                reason: Some("waited:23".into()),
            }),
        );
        check(
            "operator_state.v1",
            OperatorStateRecord::V1(OperatorStateV1 { on_break: true, break_reason: Some("Tushlik".into()), since: 16 }),
        );
        check("operator_event.v1", OperatorEventRecord::V1(OperatorEventV1 { at: 17, on_break: true, reason: Some("Tushlik".into()) }));
        check("queue_settings.v1", QueueSettingsRecord::V1(QueueSettingsV1 { max_recalls: 3 }));
        check("service_times.v1", ServiceTimesRecord::V1(ServiceTimesV1 { recent_secs: vec![300, 420, 95] }));
        check(
            "customer_ticket.v1",
            CustomerTicketRecord::V1(CustomerTicketV1 {
                slug: "demo".into(),
                ticket_id: 7,
                token: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
                number: "O-004".into(),
                booked_for: Some(1_764_064_800_000),
            }),
        );
        check("category.v1", CategoryRecord::V1(CategoryV1 { name: "Hisobot".into(), color: "#1f6feb".into(), active: true }));
        check(
            "notification.v1",
            NotificationRecord::V1(NotificationV1 {
                at: 10,
                kind: "task_assigned".into(),
                task_id: Some(4),
                args: vec![("title".into(), "Hisobot".into())],
                read: false,
            }),
        );
        check(
            "outbox.v1",
            OutboxRecord::V1(OutboxV1 {
                user_id: 3,
                notification_id: 41,
                channel: Channel::InApp,
                attempts: 2,
                created_at: 1_764_000_000_000,
            }),
        );
    }
}
