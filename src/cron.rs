//! Scheduled jobs (tokio-cron-scheduler). Each job calls a domain service,
//! the same function the tests call directly with an injected clock.
//!
//! The minute's tick visits only companies whose due time has come
//! ([`crate::tenancy::TenantEntry::due`]): an idle company is not opened and
//! costs no fsync. A company's due time is the earliest of its open tasks'
//! deadlines and the closing times of branches with tickets still open; it
//! is lowered by the writes that add such work (`due_at`), recomputed from
//! the store after every visit, and kept in `platform.redb` so a company
//! not opened since start is still visited when its work falls due.

use crate::app::AppState;
use crate::error::AppError;
use crate::store::schema::{
    self, BranchRecord, DayHours, TASKS, TASKS_DUE, TICKETS, TICKETS_OPEN, TaskRecord, TicketRecord, TicketStatus, TicketV1,
};
use crate::store::{Db, get_record, store_err};
use crate::tenancy::Tenant;
use redb::ReadableTable;
use std::collections::HashMap;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Runs the minute's jobs over every company whose work is due: overdue
/// tasks, and queue tickets left unserved at the branch's end of day.
/// Returns how many companies it visited.
pub async fn overdue_tick(state: &AppState) -> usize {
    let now = state.now_ms();
    let mut visited = 0;
    for tenant in state.tenants.all() {
        // A company a request opened is looked at once, which also finds
        // work whose due time a crash kept from being saved.
        let opened_unchecked = tenant.open_db().is_some() && !tenant.due_checked();
        if tenant.due() > now && !opened_unchecked {
            continue;
        }
        visited += 1;
        if let Err(e) = visit(state, &tenant, now).await {
            tracing::warn!(company = %tenant.slug, error = %e, "scheduled jobs failed");
        }
        // First use since start: open its search index too, which its
        // worker rebuilds in the background if it lags the store (opening
        // itself is quick).
        if opened_unchecked && let Err(e) = state.search.get(&tenant) {
            tracing::warn!(company = %tenant.slug, error = %e, "search index not opened");
        }
    }
    if let Err(e) = state.tenants.save_due(&state.platform).await {
        tracing::warn!(error = %e, "due times not saved");
    }
    visited
}

/// Looks at one company: reads what is due, runs only the jobs with work
/// (a job with nothing to do would still commit), and settles its next due time.
async fn visit(state: &AppState, tenant: &Tenant, now: i64) -> Result<(), AppError> {
    let generation = tenant.due_generation();
    let (tasks, tickets) = next_due(tenant, now)?;
    let mut worked = false;
    if tasks <= now {
        worked = true;
        match crate::tasks::service::mark_overdue(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tasks = n, "marked overdue"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "overdue check failed"),
        }
    }
    if tickets <= now {
        worked = true;
        match crate::queue::tickets::expire_due(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tickets = n, "expired unserved queue tickets"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "queue expiry failed"),
        }
    }
    let (tasks, tickets) = if worked { next_due(tenant, now)? } else { (tasks, tickets) };
    // Work the jobs could not finish now (a deadline this very millisecond)
    // is looked at again on the next tick.
    tenant.settle_due(generation, tasks.min(tickets));
    Ok(())
}

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
    match hours {
        None => midnight(),
        Some(days) => {
            let weekday = date.weekday().to_monday_zero_offset() as usize;
            match days.get(weekday).copied().flatten() {
                // A closing time past midnight is not one a branch can set; midnight then.
                Some((_, close)) if close < 24 * 60 => at(date, close),
                Some(_) => midnight(),
                // Closed all day: the tickets are due at once.
                None => at(date, 0),
            }
        }
    }
}

/// After a task is written: its company is due by the task's deadline
/// (early for a task that is finished, which a visit then settles).
pub fn task_changed(tenant: &Tenant, task_id: u64) {
    let deadline = tenant.db().and_then(|db| {
        let tx = db.read()?;
        let task = get_record::<TaskRecord>(&tx.open_table(TASKS).map_err(store_err)?, task_id)?;
        Ok(task.map(|t| t.deadline))
    });
    match deadline {
        Ok(Some(at)) => tenant.due_at(at),
        Ok(None) => {}
        Err(_) => tenant.due_at(i64::MIN),
    }
}

/// After a ticket is taken: its company is due when its branch closes.
pub fn ticket_taken(tenant: &Tenant, ticket: &TicketV1) {
    let due = tenant.db().and_then(|db| {
        let tx = db.read()?;
        let branch = get_record::<BranchRecord>(&tx.open_table(schema::BRANCHES).map_err(store_err)?, ticket.branch_id)?;
        Ok(ticket_expiry(&tenant.timezone(), &branch.and_then(|b| b.hours), ticket.day))
    });
    match due {
        Ok(at) => tenant.due_at(at),
        // Unknown: look at the company on the next tick.
        Err(_) => tenant.due_at(i64::MIN),
    }
}

/// The next time the overdue job and the ticket expiry have work in this
/// company, read from its store: `(tasks, tickets)`, `i64::MAX` for none.
/// Mirrors the rules of `mark_overdue` and `expire_due`, erring early.
pub fn next_due(tenant: &Tenant, now: i64) -> Result<(i64, i64), AppError> {
    let db: &Db = tenant.db()?;
    let tx = db.read()?;
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
        let t = tx.open_table(schema::BRANCHES).map_err(store_err)?;
        crate::store::all_records::<BranchRecord>(&t)?.into_iter().map(|(id, b)| (id, b.hours)).collect()
    };
    let (today, _, _) = crate::queue::tickets::local_day(now, &tz);
    let (yesterday, _, _) = crate::queue::tickets::local_day(now - 24 * 3_600_000, &tz);
    let next_midnight = ticket_expiry(&tz, &None, today);
    let records = tx.open_table(TICKETS).map_err(store_err)?;
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
            let at_window =
                get_record::<TicketRecord>(&records, id)?.is_some_and(|t| matches!(t.status, TicketStatus::Called | TicketStatus::Serving));
            let kept = at_window && (day == today || (day == yesterday && hours.is_none()));
            if kept { next_midnight } else { at }
        };
        tickets = tickets.min(at);
    }
    Ok((tasks, tickets))
}

/// Saves lowered due times to `platform.redb` soon after they change, so
/// a restart still knows them (a crash in between loses at most the last
/// second's, which the first visit of that company recomputes).
async fn save_due_loop(state: AppState) {
    loop {
        state.tenants.due_changed.notified().await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if let Err(e) = state.tenants.save_due(&state.platform).await {
            tracing::warn!(error = %e, "due times not saved");
        }
    }
}

/// Starts the scheduler with every job. Dropping the returned scheduler
/// does not stop it; call `shutdown` on the way out.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let s = state.clone();
    // At second 5 of every minute.
    sched
        .add(Job::new_async("5 * * * * *", move |_id, _lock| {
            let s = s.clone();
            Box::pin(async move {
                overdue_tick(&s).await;
            })
        })?)
        .await?;
    sched.start().await?;
    tokio::spawn(save_due_loop(state.clone()));
    // Catch up at once after a restart instead of waiting for the minute.
    tokio::spawn(async move { overdue_tick(&state).await });
    Ok(sched)
}
