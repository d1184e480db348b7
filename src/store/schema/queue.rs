//! The electronic queue: services, operators and their windows, tickets and
//! bookings, their events, and the indexes the calls, the expiry and the
//! kiosk read.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// queue service id → [`ServiceRecord`].
pub const SERVICES: Records<u64, ServiceRecord> = Records::new("queue_services");
/// operator's user id → [`OperatorRecord`]: where and what they serve.
pub const OPERATORS: Records<u64, OperatorRecord> = Records::new("queue_operators");
/// ticket id → [`TicketRecord`].
pub const TICKETS: Records<u64, TicketRecord> = Records::new("queue_tickets");
/// (branch id, local day as yyyymmdd, ticket id): a branch's tickets of a day.
pub const TICKETS_BY_BRANCH_DAY: TableDefinition<(u64, u32, u64), ()> = TableDefinition::new("queue_tickets_by_branch_day");
/// tracking token → ticket id.
pub const TICKETS_BY_TOKEN: TableDefinition<&str, u64> = TableDefinition::new("queue_tickets_by_token");
/// (ticket id, event id) → [`TicketEventRecord`]: what happened to a ticket.
pub const TICKET_EVENTS: Records<(u64, u64), TicketEventRecord> = Records::new("queue_ticket_events");
/// operator's user id → [`OperatorStateRecord`]: at work, on a break.
pub const OPERATOR_STATE: Records<u64, OperatorStateRecord> = Records::new("queue_operator_state");
/// (operator's user id, event id) → [`OperatorEventRecord`]: breaks taken, for the stats.
pub const OPERATOR_EVENTS: Records<(u64, u64), OperatorEventRecord> = Records::new("queue_operator_events");
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
/// `SETTINGS["queue"]`: the company's queue rules.
pub const QUEUE_SETTINGS: Setting<QueueSettingsRecord> = Setting::new("queue");
/// service id → [`ServiceTimesRecord`]: recent service durations, for the estimate.
pub const SERVICE_TIMES: Records<u64, ServiceTimesRecord> = Records::new("queue_service_times");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(SERVICES.def())?;
    t.table(OPERATORS.def())?;
    t.table(TICKETS.def())?;
    t.table(TICKETS_BY_BRANCH_DAY)?;
    t.table(TICKETS_BY_TOKEN)?;
    t.table(TICKET_EVENTS.def())?;
    t.table(OPERATOR_STATE.def())?;
    t.table(OPERATOR_EVENTS.def())?;
    t.table(TICKETS_OPEN)?;
    t.table(TICKETS_WAITING)?;
    t.table(BOOKINGS_BY_CODE)?;
    t.table(BOOKED_SLOTS)?;
    t.table(SERVICE_TIMES.def())?;
    Ok(())
}

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
/// V2 adds the prefix of the service's ticket numbers (`A` in `A-014`),
/// used when the company numbers tickets by service; empty in records
/// written before it (a letter is then derived from the id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceV2 {
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
    /// One to three upper-case Latin letters or digits, a letter first; may be empty.
    pub prefix: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServiceRecord {
    V1(ServiceV1),
    V2(ServiceV2),
}
impl Versioned for ServiceRecord {
    type Latest = ServiceV2;
    fn into_latest(self) -> ServiceV2 {
        match self {
            ServiceRecord::V1(v) => ServiceV2 {
                name_uz: v.name_uz,
                name_ru: v.name_ru,
                name_en: v.name_en,
                minutes: v.minutes,
                target_wait_minutes: v.target_wait_minutes,
                branch_ids: v.branch_ids,
                active: v.active,
                created_at: v.created_at,
                prefix: String::new(),
            },
            ServiceRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: ServiceV2) -> Self {
        ServiceRecord::V2(latest)
    }
}

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
/// How ticket numbers are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketNumbering {
    /// By where the ticket came from: `K-001` kiosk, `O-001` online (the e-queue brief's way).
    BySource,
    /// By service: each service's prefix, `A-014`; the source is kept on the ticket.
    ByService,
}

/// V2 adds how tickets are numbered (V1 companies number by source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSettingsV2 {
    /// Times a called ticket may be recalled before it counts as a no-show.
    pub max_recalls: u8,
    pub numbering: TicketNumbering,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueueSettingsRecord {
    V1(QueueSettingsV1),
    V2(QueueSettingsV2),
}
impl Versioned for QueueSettingsRecord {
    type Latest = QueueSettingsV2;
    fn into_latest(self) -> QueueSettingsV2 {
        match self {
            QueueSettingsRecord::V1(v) => QueueSettingsV2 { max_recalls: v.max_recalls, numbering: TicketNumbering::BySource },
            QueueSettingsRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: QueueSettingsV2) -> Self {
        QueueSettingsRecord::V2(latest)
    }
}

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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(ServiceRecord::V1(ServiceV1 {
                name_uz: "Kassa".into(),
                name_ru: "Касса".into(),
                name_en: "Cash desk".into(),
                minutes: 7,
                target_wait_minutes: 15,
                branch_ids: vec![1, 2],
                active: true,
                created_at: 11,
            })),
            record(ServiceRecord::V2(ServiceV2 {
                name_uz: "Kreditlar".into(),
                name_ru: "Кредиты".into(),
                name_en: "Loans".into(),
                minutes: 20,
                target_wait_minutes: 30,
                branch_ids: vec![2],
                active: true,
                created_at: 18,
                prefix: "KR".into(),
            })),
            record(OperatorRecord::V1(OperatorV1 { branch_id: 1, window: 3, service_ids: vec![1, 4], updated_at: 12 })),
            record(TicketRecord::V1(TicketV1 {
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
            })),
            record(TicketEventRecord::V1(TicketEventV1 {
                at: 15,
                kind: "called".into(),
                operator_id: Some(6),
                window: Some(3),
                reason: Some("waited:23".into()),
            })),
            record(OperatorStateRecord::V1(OperatorStateV1 { on_break: true, break_reason: Some("Tushlik".into()), since: 16 })),
            record(OperatorEventRecord::V1(OperatorEventV1 { at: 17, on_break: true, reason: Some("Tushlik".into()) })),
            record(QueueSettingsRecord::V1(QueueSettingsV1 { max_recalls: 3 })),
            record(QueueSettingsRecord::V2(QueueSettingsV2 { max_recalls: 4, numbering: TicketNumbering::ByService })),
            record(ServiceTimesRecord::V1(ServiceTimesV1 { recent_secs: vec![300, 420, 95] })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![
            pinned(|v: &TicketSource| -> &'static [u8] {
                match v {
                    TicketSource::Kiosk => &[0],
                    TicketSource::Online => &[1],
                    TicketSource::Bot => &[2],
                    TicketSource::WalkIn => &[3],
                }
            }),
            pinned(|v: &TicketNumbering| -> &'static [u8] {
                match v {
                    TicketNumbering::BySource => &[0],
                    TicketNumbering::ByService => &[1],
                }
            }),
            pinned(|v: &TicketPriority| -> &'static [u8] {
                match v {
                    TicketPriority::Normal => &[0],
                    TicketPriority::Vip => &[1],
                    TicketPriority::Disabled => &[2],
                    TicketPriority::Elderly => &[3],
                }
            }),
            pinned(|v: &TicketStatus| -> &'static [u8] {
                match v {
                    TicketStatus::Waiting => &[0],
                    TicketStatus::Called => &[1],
                    TicketStatus::Serving => &[2],
                    TicketStatus::Done => &[3],
                    TicketStatus::NoShow => &[4],
                    TicketStatus::Cancelled => &[5],
                    TicketStatus::Transferred => &[6],
                    TicketStatus::Expired => &[7],
                    TicketStatus::Booked => &[8],
                }
            }),
        ]
    }
}
