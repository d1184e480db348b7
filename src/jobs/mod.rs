//! Scheduled jobs (tokio-cron-scheduler). Each job calls a domain service,
//! the same function the tests call directly with an injected clock.

use crate::app::AppState;
use tokio_cron_scheduler::{Job, JobScheduler};

/// Runs the minute's jobs over every company once: overdue tasks, and
/// queue tickets left unserved at the branch's end of day.
pub async fn overdue_tick(state: &AppState) {
    for tenant in state.tenants.all() {
        match crate::tasks::service::mark_overdue(state, &tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tasks = n, "marked overdue"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "overdue check failed"),
        }
        match crate::queue::tickets::expire_due(state, &tenant).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(company = %tenant.slug, tickets = n, "expired unserved queue tickets"),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "queue expiry failed"),
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
            Box::pin(async move { overdue_tick(&s).await })
        })?)
        .await?;
    sched.start().await?;
    // Catch up at once after a restart instead of waiting for the minute.
    tokio::spawn(async move { overdue_tick(&state).await });
    Ok(sched)
}
