//! A company's next due time: when its overdue job, its ticket expiry or
//! its SLA job next has work. Writes that add such work lower it (`task_changed`,
//! `ticket_taken`); the minute's jobs visit only companies whose time has
//! come and then settle it from the store (`next_due`).

use crate::error::AppError;
use crate::org::hours::{DAY_MINUTES, WeekHours};
use crate::store::schema::{self, DayHours, TASKS, TASKS_DUE, TICKETS, TICKETS_OPEN, TicketStatus, TicketV1};
use crate::store::{Db, store_err};
use crate::tenancy::Tenant;
use redb::ReadableTable;
use std::collections::HashMap;

/// When a branch's tickets of local day `day` (`yyyymmdd`) expire: at the
/// branch's closing time that day, or at the next midnight for a branch
/// open round the clock (UTC ms).
pub fn ticket_expiry(tz: &jiff::tz::TimeZone, hours: &Option<[DayHours; 7]>, day: u32) -> i64 {
    let Ok(date) = jiff::civil::Date::new((day / 10_000) as i16, ((day / 100) % 100) as i8, (day % 100) as i8) else {
        return i64::MIN;
    };
    let at = |date: jiff::civil::Date, minute: u16| -> i64 {
        let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        tz.to_ambiguous_zoned(dt).compatible().map(|z| z.timestamp().as_millisecond()).unwrap_or(i64::MIN)
    };
    let midnight = || date.tomorrow().map(|d| at(d, 0)).unwrap_or(i64::MAX);
    let weekday = date.weekday().to_monday_zero_offset() as usize;
    match WeekHours::of(hours).day(weekday) {
        // A branch closing at 24:00 (or open round the clock): midnight.
        Some((_, close)) if close < DAY_MINUTES => at(date, close),
        Some(_) => midnight(),
        // Closed all day: the tickets are due at once.
        None => at(date, 0),
    }
}

/// After a task is written: its company is due by the task's deadline
/// (early for a task that is finished, which a visit then settles).
pub fn task_changed(tenant: &Tenant, task_id: u64) {
    let deadline = tenant.db().and_then(|db| {
        let tx = db.read()?;
        let task = TASKS.open(&tx)?.get(task_id)?;
        Ok(task.map(|t| t.deadline))
    });
    match deadline {
        Ok(Some(at)) => tenant.due_at(at),
        Ok(None) => {}
        Err(_) => tenant.due_at(i64::MIN),
    }
}

/// After a request is written: its company is due by the request's
/// nearest SLA target (`requests::sla_key`), if its clock runs.
pub fn request_changed(tenant: &Tenant, request_id: u64) {
    let key = tenant.db().and_then(|db| {
        let tx = db.read()?;
        Ok(schema::REQUESTS.open(&tx)?.get(request_id)?.and_then(|r| crate::requests::sla_key(&r)))
    });
    match key {
        Ok(Some(at)) => tenant.due_at(at),
        Ok(None) => {}
        Err(_) => tenant.due_at(i64::MIN),
    }
}

/// After a ticket is taken: its company is due when its branch closes.
pub fn ticket_taken(tenant: &Tenant, ticket: &TicketV1) {
    let due = tenant.db().and_then(|db| {
        let tx = db.read()?;
        let branch = schema::BRANCHES.open(&tx)?.get(ticket.branch_id)?;
        Ok(ticket_expiry(&tenant.timezone(), &branch.and_then(|b| b.hours), ticket.day))
    });
    match due {
        Ok(at) => tenant.due_at(at),
        // Unknown: look at the company on the next tick.
        Err(_) => tenant.due_at(i64::MIN),
    }
}

/// When each kind of scheduled work next falls due in a company (UTC ms,
/// `i64::MAX` for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextDue {
    /// The overdue job (`tasks::service::mark_overdue`).
    pub tasks: i64,
    /// The ticket expiry (`queue::tickets::expire_due`).
    pub tickets: i64,
    /// Notification deliveries (`notify::outbox`).
    pub outbox: i64,
    /// SLA breaches of requests (`requests::sla::mark_breaches`).
    pub requests: i64,
    /// Scheduled reports (`reports::schedule::run_due`).
    pub reports: i64,
}

impl NextDue {
    pub fn earliest(&self) -> i64 {
        self.tasks.min(self.tickets).min(self.outbox).min(self.requests).min(self.reports)
    }
}

/// The next time each job has work in this company, read from its store.
/// Mirrors the rules of `mark_overdue`, `expire_due` and the outbox, erring early.
pub fn next_due(tenant: &Tenant, now: i64) -> Result<NextDue, AppError> {
    let db: &Db = tenant.db()?;
    let tx = db.read()?;
    let outbox = crate::notify::outbox::next_due(&tx, now)?;
    let (tasks, tickets) = jobs_due(tenant, &tx, now)?;
    let requests = match tx.open_table(schema::REQUESTS_SLA_DUE) {
        Ok(t) => t.first().map_err(store_err)?.map(|(k, _)| k.value().0).unwrap_or(i64::MAX),
        Err(redb::TableError::TableDoesNotExist(_)) => i64::MAX,
        Err(e) => return Err(store_err(e)),
    };
    let reports = crate::reports::schedule::next_due(&tx, now, &tenant.timezone())?;
    Ok(NextDue { tasks, tickets, outbox, requests, reports })
}

/// `(tasks, tickets)` of [`next_due`].
fn jobs_due(tenant: &Tenant, tx: &redb::ReadTransaction, now: i64) -> Result<(i64, i64), AppError> {
    let tasks = match tx.open_table(TASKS_DUE) {
        Ok(t) => t.first().map_err(store_err)?.map(|(k, _)| k.value().0).unwrap_or(i64::MAX),
        Err(redb::TableError::TableDoesNotExist(_)) => i64::MAX,
        Err(e) => return Err(store_err(e)),
    };
    let open = match tx.open_table(TICKETS_OPEN) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((tasks, i64::MAX)),
        Err(e) => return Err(store_err(e)),
    };
    let mut first = open.iter().map_err(store_err)?.peekable();
    if first.peek().is_none() {
        return Ok((tasks, i64::MAX));
    }
    let tz = tenant.timezone();
    let branches: HashMap<u64, Option<[DayHours; 7]>> = {
        let t = schema::BRANCHES.open(&tx)?;
        t.all()?.into_iter().map(|(id, b)| (id, b.hours)).collect()
    };
    let (today, _, _) = crate::queue::tickets::local_day(now, &tz);
    let (yesterday, _, _) = crate::queue::tickets::local_day(now - 24 * 3_600_000, &tz);
    let next_midnight = ticket_expiry(&tz, &None, today);
    let records = TICKETS.open(&tx)?;
    let mut expiry: HashMap<(u64, u32), i64> = HashMap::new();
    let mut tickets = i64::MAX;
    for row in first {
        let (branch, day, id) = row.map_err(store_err)?.0.value();
        let hours = branches.get(&branch).cloned().flatten();
        let at = *expiry.entry((branch, day)).or_insert_with(|| ticket_expiry(&tz, &hours, day));
        let at = if at > now {
            at
        } else {
            // Past its time: expired now, unless it is at a window, which
            // keeps it for the day (a round-the-clock branch: one day more).
            let at_window = records.get(id)?.is_some_and(|t| matches!(t.status, TicketStatus::Called | TicketStatus::Serving));
            let kept = at_window && (day == today || (day == yesterday && hours.is_none()));
            if kept { next_midnight } else { at }
        };
        tickets = tickets.min(at);
    }
    Ok((tasks, tickets))
}
