//! Scheduled jobs (tokio-cron-scheduler). Each job calls a domain service,
//! the same function the tests call directly with an injected clock.
//!
//! The minute's tick visits only companies whose due time has come
//! ([`crate::tenancy::TenantEntry::due`]): an idle company is not opened and
//! costs no fsync. A company's due time is the earliest of its open tasks'
//! deadlines, the closing times of branches with tickets still open and its
//! undelivered notifications (`notify::outbox`); it
//! is lowered by the writes that add such work (`due_at`), recomputed from
//! the store after every visit, and kept in `platform.redb` so a company
//! not opened since start is still visited when its work falls due.

use crate::app::AppState;
use crate::error::AppError;
use crate::tenancy::Tenant;
use crate::tenancy::due::next_due;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Runs the minute's jobs over every company whose work is due: overdue
/// tasks, queue tickets left unserved at the branch's end of day, and
/// requests past their SLA targets.
/// Returns how many companies it visited.
pub async fn overdue_tick(state: &AppState) -> usize {
    let now = state.now_ms();
    let mut visited = 0;
    for tenant in state.tenants.all() {
        // A company a request opened is looked at once, which also finds
        // work whose due time a crash kept from being saved.
        let opened_unchecked = tenant.open_db().is_some() && !tenant.due_checked();
        if tenant.is_archived() || (tenant.due() > now && !opened_unchecked) {
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

/// Runs the Google Sheets syncs whose time has come (hourly or daily, by
/// each company's schedule), each once; only companies listed as due in
/// `platform.redb` are opened. Returns how many syncs ran.
pub async fn sheets_tick(state: &AppState) -> usize {
    crate::reports::sheets::tick(state).await
}

/// Closes the company files and search indexes nobody has used for
/// `idle_secs`: a company used once a week does not keep its page cache
/// for the rest of it. The next request opens them again. Returns how many
/// files it closed.
pub fn close_idle(state: &AppState) -> usize {
    let idle = std::time::Duration::from_secs(state.config.idle_secs);
    let indexes = state.search.close_idle(idle);
    let files = state.tenants.all().iter().filter_map(|t| t.open_db()).filter(|db| db.close_if_idle(idle)).count();
    if files + indexes > 0 {
        tracing::debug!(files, indexes, "closed idle companies");
    }
    files
}

/// Looks at one company: reads what is due, runs only the jobs with work
/// (a job with nothing to do would still commit), and settles its next due time.
async fn visit(state: &AppState, tenant: &Tenant, now: i64) -> Result<(), AppError> {
    let generation = tenant.due_generation();
    let due = next_due(tenant, now)?;
    let mut worked = false;
    if due.outbox <= now {
        // The company's delivery task sends them (and settles its own due time).
        crate::notify::outbox::kick(state, tenant);
    }
    if due.tasks <= now {
        worked = true;
        match crate::tasks::service::mark_overdue(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tasks = n, "marked overdue"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "overdue check failed"),
        }
    }
    if due.tickets <= now {
        worked = true;
        match crate::queue::tickets::expire_due(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tickets = n, "expired unserved queue tickets"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "queue expiry failed"),
        }
    }
    if due.requests <= now {
        worked = true;
        match crate::requests::sla::mark_breaches(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, requests = n, "marked SLA breaches"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "SLA check failed"),
        }
    }
    if due.reports <= now {
        worked = true;
        match crate::reports::schedule::run_due(state, tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, schedules = n, "sent scheduled reports"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "scheduled reports failed"),
        }
    }
    let due = if worked { next_due(tenant, now)? } else { due };
    // Work the jobs could not finish now (a deadline this very millisecond,
    // deliveries the outbox is sending) is looked at again on the next tick.
    tenant.settle_due(generation, due.earliest());
    Ok(())
}

/// Closes idle company files and indexes every `idle_secs`. Holds only a
/// weak handle, so that a server shut down is not kept alive by it.
async fn close_idle_loop(state: AppState) {
    let every = std::time::Duration::from_secs(state.config.idle_secs.max(1));
    let weak = state.downgrade();
    drop(state);
    loop {
        tokio::time::sleep(every).await;
        let Some(state) = weak.upgrade() else { return };
        close_idle(&state);
    }
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

/// Read notifications are kept this long.
pub const KEEP_READ_NOTIFICATIONS_DAYS: u32 = 90;

/// The nightly clean-up: expired refresh tokens and long-revoked sessions
/// (the platform's and each company's), and read notifications older than
/// [`KEEP_READ_NOTIFICATIONS_DAYS`], and files nobody references ([`files_gc`]).
/// Sessions and notifications: only companies open in this process
/// are visited: one not used since start has nothing new to clean, and
/// opening it would cost what an idle company must not.
pub async fn nightly(state: &AppState) {
    let now = state.now_ms();
    match crate::auth::session::prune(&state.platform, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned platform sessions"),
        Err(e) => tracing::warn!(error = %e, "platform session pruning failed"),
    }
    for tenant in state.tenants.all() {
        let Some(db) = tenant.open_db() else { continue };
        let sessions = crate::auth::session::prune(db, now).await;
        let notes = crate::notify::prune(db, now, KEEP_READ_NOTIFICATIONS_DAYS).await;
        match (sessions, notes) {
            (Ok(s), Ok(n)) if s + n > 0 => tracing::info!(company = %tenant.slug, sessions = s, notifications = n, "pruned"),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => tracing::warn!(company = %tenant.slug, error = %e, "pruning failed"),
        }
    }
    files_gc(state).await;
}

/// Removes files nobody references (older than `files::GRACE_MS`) in every
/// company that has files, open or not: an upload made before a restart
/// still has to go.
pub async fn files_gc(state: &AppState) -> usize {
    let mut gone = 0;
    for tenant in state.tenants.all() {
        if tenant.is_archived() {
            continue;
        }
        if tenant.open_db().is_none() && !crate::files::backend::files_dir(&state.config.data_dir, &tenant.slug).exists() {
            continue;
        }
        match crate::files::gc(state, &tenant).await {
            Ok(n) => gone += n,
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "files: collection failed"),
        }
    }
    gone
}

/// Starts the scheduler with every job. Dropping the returned scheduler
/// does not stop it; call `shutdown` on the way out.
pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    // `[backup]`: the whole box at its time of day, never two at once.
    tokio::spawn(crate::ops::backup::schedule_loop(state.clone()));
    let sched = JobScheduler::new().await?;
    let s = state.clone();
    // At second 5 of every minute.
    sched
        .add(Job::new_async("5 * * * * *", move |_id, _lock| {
            let s = s.clone();
            Box::pin(async move {
                // A sync may take minutes: it must not hold up the minute's other work.
                let sheets = s.clone();
                tokio::spawn(async move { sheets_tick(&sheets).await });
                overdue_tick(&s).await;
                crate::bot::digest::tick(&s).await;
            })
        })?)
        .await?;
    let s = state.clone();
    // 22:15 UTC, a quiet hour from Tashkent (03:15) to Moscow (01:15).
    sched
        .add(Job::new_async("0 15 22 * * *", move |_id, _lock| {
            let s = s.clone();
            Box::pin(async move { nightly(&s).await })
        })?)
        .await?;
    sched.start().await?;
    tokio::spawn(save_due_loop(state.clone()));
    tokio::spawn(close_idle_loop(state.clone()));
    // Catch up at once after a restart instead of waiting for the minute.
    tokio::spawn(async move { overdue_tick(&state).await });
    Ok(sched)
}
