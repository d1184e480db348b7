//! Client requests: clients, categories with their forms, the request
//! workflow (on the shared engine, `crate::workflow`), the conversation
//! (public replies and internal notes in the request's chat thread), SLA
//! targets and breaches, notification templates and statistics.

pub mod categories;
pub mod clients;
pub mod filters;
pub mod service;
pub mod sla;
pub mod stats;
pub mod templates;

use crate::auth::Caller;
use crate::i18n::{Lang, t};
use crate::store::schema::{Priority, RequestCategoryV1, RequestChannel, RequestStatus, RequestV1};

pub const STATUSES: [RequestStatus; 8] = [
    RequestStatus::New,
    RequestStatus::Assigned,
    RequestStatus::InProgress,
    RequestStatus::PendingReview,
    RequestStatus::WaitingClient,
    RequestStatus::Reopened,
    RequestStatus::Done,
    RequestStatus::Rejected,
];

/// The stable API name of a status.
pub fn status_code(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::New => "new",
        RequestStatus::Assigned => "assigned",
        RequestStatus::InProgress => "in_progress",
        RequestStatus::PendingReview => "pending_review",
        RequestStatus::Done => "done",
        RequestStatus::WaitingClient => "waiting_client",
        RequestStatus::Rejected => "rejected",
        RequestStatus::Reopened => "reopened",
    }
}

pub fn parse_status(s: &str) -> Option<RequestStatus> {
    STATUSES.into_iter().find(|st| status_code(*st) == s)
}

/// A status as people (staff and clients) read it.
pub fn status_label(lang: Lang, s: RequestStatus) -> &'static str {
    t(
        lang,
        match s {
            RequestStatus::New => "request.status.new",
            RequestStatus::Assigned => "request.status.assigned",
            RequestStatus::InProgress => "request.status.in_progress",
            RequestStatus::PendingReview => "request.status.pending_review",
            RequestStatus::Done => "request.status.done",
            RequestStatus::WaitingClient => "request.status.waiting_client",
            RequestStatus::Rejected => "request.status.rejected",
            RequestStatus::Reopened => "request.status.reopened",
        },
    )
}

/// Finished: done or rejected (a done one may still be reopened by the
/// client's reply within [`REOPEN_DAYS`]).
pub fn is_final(s: RequestStatus) -> bool {
    matches!(s, RequestStatus::Done | RequestStatus::Rejected)
}

/// Days after being done within which a client's reply reopens a request.
pub const REOPEN_DAYS: i64 = 7;

pub const PRIORITIES: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

pub fn priority_code(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}

pub fn parse_priority(s: &str) -> Option<Priority> {
    PRIORITIES.into_iter().find(|p| priority_code(*p) == s)
}

pub fn priority_label(lang: Lang, p: Priority) -> &'static str {
    t(
        lang,
        match p {
            Priority::Low => "request.priority.low",
            Priority::Normal => "request.priority.normal",
            Priority::High => "request.priority.high",
            Priority::Urgent => "request.priority.urgent",
        },
    )
}

pub const CHANNELS: [RequestChannel; 3] = [RequestChannel::Web, RequestChannel::Telegram, RequestChannel::Staff];

pub fn channel_code(c: RequestChannel) -> &'static str {
    match c {
        RequestChannel::Web => "web",
        RequestChannel::Telegram => "telegram",
        RequestChannel::Staff => "staff",
    }
}

pub fn parse_channel(s: &str) -> Option<RequestChannel> {
    CHANNELS.into_iter().find(|c| channel_code(*c) == s)
}

pub fn channel_label(lang: Lang, c: RequestChannel) -> &'static str {
    t(
        lang,
        match c {
            RequestChannel::Web => "request.channel.web",
            RequestChannel::Telegram => "request.channel.telegram",
            RequestChannel::Staff => "request.channel.staff",
        },
    )
}

impl crate::store::schema::Names {
    /// The text in `lang` (its Uzbek when that version is empty).
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.uz, &self.ru, &self.en)
    }
}

/// `R-000123`.
pub fn number(id: u64) -> String {
    format!("R-{id:06}")
}

/// Reads `R-000123`, `r-123` or `123` into an id.
pub fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.strip_prefix("R-").or_else(|| s.strip_prefix("r-")).unwrap_or(s);
    digits.parse().ok().filter(|n| *n > 0)
}

/// The SLA job's key of a request: the nearest target still to meet and not
/// yet marked breached, while its clock runs (not paused waiting for the
/// client, not finished). `None`: nothing to watch.
pub fn sla_key(r: &RequestV1) -> Option<i64> {
    if is_final(r.status) || r.paused_at.is_some() {
        return None;
    }
    let first = r.first_response_due.filter(|_| r.first_response_at.is_none() && !r.first_response_breached);
    let resolution = r.resolution_due.filter(|_| !r.resolution_breached);
    match (first, resolution) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What a staff member may do with requests: the rules as questions about a
/// caller. Pages, the API and the bot ask them.
impl Caller {
    /// Triage: sees every request, assigns and reassigns, bulk changes.
    pub fn dispatches_requests(&self) -> bool {
        self.can("requests.handle")
    }

    /// Categories and notification templates.
    pub fn manages_requests(&self) -> bool {
        self.can("requests.manage")
    }

    /// May see (and so work) a request: a dispatcher, its assignee, or a
    /// member of its category's team.
    pub fn can_see_request(&self, r: &RequestV1, category: Option<&RequestCategoryV1>) -> bool {
        let Some(me) = self.user().map(|p| p.id) else { return matches!(self, Caller::System) };
        self.dispatches_requests() || r.assignee_id == Some(me) || category.is_some_and(|c| c.team.contains(&me))
    }
}

/// How an SLA target stands, for the colour of a list's "time left".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaLevel {
    /// More than an hour left.
    Ok,
    /// An hour or less.
    Soon,
    /// Past the target (or marked breached).
    Breached,
    /// Waiting for the client: the clock is paused.
    Paused,
}

/// Time left to the nearest SLA target still to meet (ms, negative when
/// past), and its level; `None` when nothing is watched (finished, or no
/// targets).
pub fn sla_left(r: &RequestV1, now: i64) -> Option<(i64, SlaLevel)> {
    if is_final(r.status) {
        return None;
    }
    let first = r.first_response_due.filter(|_| r.first_response_at.is_none());
    let due = match (first, r.resolution_due) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    if let Some(since) = r.paused_at {
        return Some((due - since, SlaLevel::Paused));
    }
    let left = due - now;
    let level = if left < 0 || r.first_response_breached && first.is_some() || r.resolution_breached {
        SlaLevel::Breached
    } else if left <= 3_600_000 {
        SlaLevel::Soon
    } else {
        SlaLevel::Ok
    };
    Some((left, level))
}
