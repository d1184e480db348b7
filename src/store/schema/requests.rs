//! Client requests: the clients who file them (never with a password), the
//! categories with their forms, the requests with their history and
//! indexes, the notification templates and the staff's saved filters.
//!
//! A request's number is its id (`R-000123`): ids come from one company-wide
//! sequence. Its history uses the task history's record ([`TaskEventRecord`]),
//! written by the same workflow engine (`crate::workflow`).

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// client id → [`ClientRecord`].
pub const CLIENTS: Records<u64, ClientRecord> = Records::new("clients");
/// normalised phone (`+998…`) → client id.
pub const CLIENTS_BY_PHONE: TableDefinition<&str, u64> = TableDefinition::new("clients_by_phone");
/// lower-case e-mail → client id.
pub const CLIENTS_BY_EMAIL: TableDefinition<&str, u64> = TableDefinition::new("clients_by_email");
/// Telegram user id → client id.
pub const CLIENTS_BY_TELEGRAM: TableDefinition<i64, u64> = TableDefinition::new("clients_by_telegram");
/// category id → [`RequestCategoryRecord`].
pub const REQUEST_CATEGORIES: Records<u64, RequestCategoryRecord> = Records::new("request_categories");
/// request id (its number) → [`RequestRecord`].
pub const REQUESTS: Records<u64, RequestRecord> = Records::new("requests");
/// (request id, event id) → the request's history, in the task history's record.
pub const REQUEST_EVENTS: Records<(u64, u64), TaskEventRecord> = Records::new("request_events");
/// tracking token (32 hex) → request id: the client's status page.
pub const REQUESTS_BY_TOKEN: TableDefinition<&str, u64> = TableDefinition::new("requests_by_token");
/// (status byte, request id) of every request ([`request_status_byte`]).
pub const REQUESTS_BY_STATUS: TableDefinition<(u8, u64), ()> = TableDefinition::new("requests_by_status");
/// (assignee id, request id) of every assigned request.
pub const REQUESTS_BY_ASSIGNEE: TableDefinition<(u64, u64), ()> = TableDefinition::new("requests_by_assignee");
/// (category id, request id).
pub const REQUESTS_BY_CATEGORY: TableDefinition<(u64, u64), ()> = TableDefinition::new("requests_by_category");
/// (client id, request id): a client's requests.
pub const REQUESTS_BY_CLIENT: TableDefinition<(u64, u64), ()> = TableDefinition::new("requests_by_client");
/// (due ms, request id): the nearest SLA target still to be met and not yet
/// marked breached, of requests whose clock runs. The SLA job reads the
/// range up to now.
pub const REQUESTS_SLA_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("requests_sla_due");
/// request id of every request with a missed SLA target (first response
/// or resolution): the list's "breached" filter, newest first, without
/// reading the rest.
pub const REQUESTS_BREACHED: TableDefinition<u64, ()> = TableDefinition::new("requests_breached");
/// (event code, language code) → [`TemplateRecord`]: a template the company
/// changed; without a row, the default of the catalogue.
pub const REQUEST_TEMPLATES: Records<(&str, &str), TemplateRecord> = Records::new("request_templates");
/// (client id, notice id) → [`ClientNoticeRecord`]: what a client was told
/// about their requests, worded from the templates when it happened. The
/// status page lists them; the Telegram bot delivers the undelivered.
pub const CLIENT_NOTICES: Records<(u64, u64), ClientNoticeRecord> = Records::new("client_notices");
/// (user id, filter id) → [`SavedFilterRecord`].
pub const SAVED_FILTERS: Records<(u64, u64), SavedFilterRecord> = Records::new("request_saved_filters");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(CLIENTS.def())?;
    t.table(CLIENTS_BY_PHONE)?;
    t.table(CLIENTS_BY_EMAIL)?;
    t.table(CLIENTS_BY_TELEGRAM)?;
    t.table(REQUEST_CATEGORIES.def())?;
    t.table(REQUESTS.def())?;
    t.table(REQUEST_EVENTS.def())?;
    t.table(REQUESTS_BY_TOKEN)?;
    t.table(REQUESTS_BY_STATUS)?;
    t.table(REQUESTS_BY_ASSIGNEE)?;
    t.table(REQUESTS_BY_CATEGORY)?;
    t.table(REQUESTS_BY_CLIENT)?;
    t.table(REQUESTS_SLA_DUE)?;
    t.table(REQUESTS_BREACHED)?;
    t.table(REQUEST_TEMPLATES.def())?;
    t.table(CLIENT_NOTICES.def())?;
    t.table(SAVED_FILTERS.def())?;
    Ok(())
}

/// A text in the three languages; an empty `ru`/`en` falls back to `uz`
/// (`Lang::pick`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

/// A person who files requests or takes tickets without a password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientV1 {
    pub name: String,
    /// Normalised (`+998…`).
    pub phone: Option<String>,
    /// Shared from Telegram's contact button (the phone is theirs).
    pub phone_verified: bool,
    /// Lower-case.
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    /// `uz`, `ru` or `en`: what they read and are written to in.
    pub lang: String,
    pub created_at: i64,
    /// Joined into another client record (the same phone came through two
    /// channels); readers follow it.
    pub merged_into: Option<u64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientRecord {
    V1(ClientV1),
}
versioned!(ClientRecord, ClientV1, V1);

/// The type of a form field. Appended only (postcard stores the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    LongText,
    Number,
    Date,
    Choice,
    Phone,
    File,
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub key: String,
    pub labels: Names,
}

/// One field of a category's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// Stable within the category (`passport`, `card_last4`).
    pub key: String,
    pub kind: FieldKind,
    pub labels: Names,
    pub required: bool,
    pub options: Vec<ChoiceOption>,
}

/// Whose hours an SLA clock counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlaClock {
    /// Every minute counts.
    AllDay,
    /// Only the branch's opening hours count (the category's branch, else
    /// the company's first branch).
    WorkingHours,
}

/// How urgent a request is. Appended only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestCategoryV1 {
    pub names: Names,
    /// A short icon name from the product's set (`card`, `loan`, `complaint`, …).
    pub icon: String,
    /// `#rrggbb`
    pub color: String,
    /// The employees who work its requests.
    pub team: Vec<u64>,
    /// Hears about breaches with the assignee; else the team.
    pub lead_id: Option<u64>,
    pub auto_assign: bool,
    pub default_priority: Priority,
    pub first_response_minutes: Option<u32>,
    pub resolution_minutes: Option<u32>,
    pub clock: SlaClock,
    pub branch_id: Option<u64>,
    pub fields: Vec<FormField>,
    pub active: bool,
    /// The team member the round-robin gave the last request to.
    pub last_assigned: Option<u64>,
    pub sort: u32,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestCategoryRecord {
    V1(RequestCategoryV1),
}
versioned!(RequestCategoryRecord, RequestCategoryV1, V1);

/// Where a request came from. Appended only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestChannel {
    Web,
    Telegram,
    /// A staff member filed it on the client's behalf.
    Staff,
}

/// Where a request is in its workflow. Appended only: the index byte is
/// the variant's ([`request_status_byte`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    New,
    Assigned,
    InProgress,
    PendingReview,
    Done,
    WaitingClient,
    Rejected,
    Reopened,
}

/// The key byte of a status in [`REQUESTS_BY_STATUS`]: the byte postcard stores.
pub fn request_status_byte(s: RequestStatus) -> u8 {
    match s {
        RequestStatus::New => 0,
        RequestStatus::Assigned => 1,
        RequestStatus::InProgress => 2,
        RequestStatus::PendingReview => 3,
        RequestStatus::Done => 4,
        RequestStatus::WaitingClient => 5,
        RequestStatus::Rejected => 6,
        RequestStatus::Reopened => 7,
    }
}

/// One answered field, with the label it was filed under (a later change
/// of the form does not change what the request says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub key: String,
    pub kind: FieldKind,
    pub labels: Names,
    /// As typed; a choice's key; a date `yyyy-mm-dd`; a phone normalised;
    /// a file field's file id.
    pub value: String,
    /// A choice's option labels as filed.
    pub shown: Option<Names>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestV1 {
    pub client_id: u64,
    pub channel: RequestChannel,
    pub category_id: u64,
    pub fields: Vec<FieldValue>,
    pub subject: String,
    pub text: String,
    pub status: RequestStatus,
    pub priority: Priority,
    pub assignee_id: Option<u64>,
    /// Staff who filed it on the client's behalf.
    pub created_by: Option<u64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The tracking token of `/r/{slug}-{token}` (32 hex).
    pub token: String,
    /// The SLA targets, moved later by the time spent waiting for the client.
    pub first_response_due: Option<i64>,
    pub resolution_due: Option<i64>,
    pub first_response_at: Option<i64>,
    /// When it was last done or rejected.
    pub resolved_at: Option<i64>,
    /// Since when it waits for the client (the clock is paused).
    pub paused_at: Option<i64>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub reject_reason: Option<String>,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    /// The request's thread (its conversation), made with it.
    pub thread_id: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestRecord {
    V1(RequestV1),
}
versioned!(RequestRecord, RequestV1, V1);

/// A company's own text of one notification in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateV1 {
    pub text: String,
    pub updated_by: u64,
    pub updated_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TemplateRecord {
    V1(TemplateV1),
}
versioned!(TemplateRecord, TemplateV1, V1);

/// One message to a client, worded from a template in their language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientNoticeV1 {
    pub request_id: u64,
    /// The template's event (`received`, `assigned`, …).
    pub event: String,
    pub text: String,
    pub at: i64,
    /// Sent over the client's channel (Telegram); the web page shows all.
    pub delivered: bool,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientNoticeRecord {
    V1(ClientNoticeV1),
}
versioned!(ClientNoticeRecord, ClientNoticeV1, V1);

/// A named filter of the requests list, one user's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedFilterV1 {
    pub name: String,
    /// The list's query string (`status=new&category_id=2`).
    pub query: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SavedFilterRecord {
    V1(SavedFilterV1),
}
versioned!(SavedFilterRecord, SavedFilterV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    fn names(uz: &str, ru: &str, en: &str) -> Names {
        Names { uz: uz.into(), ru: ru.into(), en: en.into() }
    }

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(ClientRecord::V1(ClientV1 {
                name: "Aziz Karimov".into(),
                phone: Some("+998901234567".into()),
                phone_verified: true,
                email: Some("aziz@example.uz".into()),
                telegram_id: Some(123_456_789),
                lang: "uz".into(),
                created_at: 1_764_000_000_000,
                merged_into: Some(4),
            })),
            record(RequestCategoryRecord::V1(RequestCategoryV1 {
                names: names("Karta bloklangan", "Карта заблокирована", "Card blocked"),
                icon: "card".into(),
                color: "#1f6feb".into(),
                team: vec![3, 5],
                lead_id: Some(2),
                auto_assign: true,
                default_priority: Priority::High,
                first_response_minutes: Some(30),
                resolution_minutes: Some(480),
                clock: SlaClock::WorkingHours,
                branch_id: Some(1),
                fields: vec![FormField {
                    key: "card_type".into(),
                    kind: FieldKind::Choice,
                    labels: names("Karta turi", "Тип карты", "Card type"),
                    required: true,
                    options: vec![ChoiceOption { key: "uzcard".into(), labels: names("Uzcard", "", "") }],
                }],
                active: true,
                last_assigned: Some(5),
                sort: 1,
            })),
            record(RequestRecord::V1(RequestV1 {
                client_id: 4,
                channel: RequestChannel::Telegram,
                category_id: 1,
                fields: vec![FieldValue {
                    key: "card_type".into(),
                    kind: FieldKind::Choice,
                    labels: names("Karta turi", "Тип карты", "Card type"),
                    value: "uzcard".into(),
                    shown: Some(names("Uzcard", "", "")),
                }],
                subject: "Karta bloklandi".into(),
                text: "Bankomat kartani qaytarmadi".into(),
                status: RequestStatus::WaitingClient,
                priority: Priority::Urgent,
                assignee_id: Some(5),
                created_by: Some(2),
                created_at: 1_764_000_000_000,
                updated_at: 1_764_000_600_000,
                token: "0123456789abcdef0123456789abcdef".into(),
                first_response_due: Some(1_764_001_800_000),
                resolution_due: Some(1_764_028_800_000),
                first_response_at: Some(1_764_000_300_000),
                resolved_at: None,
                paused_at: Some(1_764_000_600_000),
                first_response_breached: false,
                resolution_breached: true,
                reject_reason: Some("Takroriy".into()),
                rating: Some(5),
                rating_comment: Some("Rahmat".into()),
                thread_id: 9,
            })),
            record(TemplateRecord::V1(TemplateV1 { text: "{number}: {status}".into(), updated_by: 2, updated_at: 1_764_000_000_000 })),
            record(ClientNoticeRecord::V1(ClientNoticeV1 {
                request_id: 7,
                event: "status_changed".into(),
                text: "R-000007: Bajarilmoqda".into(),
                at: 1_764_000_000_000,
                delivered: false,
            })),
            record(SavedFilterRecord::V1(SavedFilterV1 { name: "Shoshilinch".into(), query: "priority=urgent".into() })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![
            pinned(|v: &FieldKind| -> &'static [u8] {
                match v {
                    FieldKind::Text => &[0],
                    FieldKind::LongText => &[1],
                    FieldKind::Number => &[2],
                    FieldKind::Date => &[3],
                    FieldKind::Choice => &[4],
                    FieldKind::Phone => &[5],
                    FieldKind::File => &[6],
                }
            }),
            pinned(|v: &SlaClock| -> &'static [u8] {
                match v {
                    SlaClock::AllDay => &[0],
                    SlaClock::WorkingHours => &[1],
                }
            }),
            pinned(|v: &Priority| -> &'static [u8] {
                match v {
                    Priority::Low => &[0],
                    Priority::Normal => &[1],
                    Priority::High => &[2],
                    Priority::Urgent => &[3],
                }
            }),
            pinned(|v: &RequestChannel| -> &'static [u8] {
                match v {
                    RequestChannel::Web => &[0],
                    RequestChannel::Telegram => &[1],
                    RequestChannel::Staff => &[2],
                }
            }),
            pinned(|v: &RequestStatus| -> &'static [u8] {
                match v {
                    RequestStatus::New => &[0],
                    RequestStatus::Assigned => &[1],
                    RequestStatus::InProgress => &[2],
                    RequestStatus::PendingReview => &[3],
                    RequestStatus::Done => &[4],
                    RequestStatus::WaitingClient => &[5],
                    RequestStatus::Rejected => &[6],
                    RequestStatus::Reopened => &[7],
                }
            }),
        ]
    }
}
