//! The outbox: notifications reach their channels after the change that
//! caused them is on disk, once, however the process stops.
//!
//! [`super::plan`] writes one [`OUTBOX`] row per recipient and channel in
//! the change's own transaction, so a delivery exists exactly when its
//! change does. After the commit the service calls [`kick`], which starts
//! (or re-arms) this company's delivery task. A pass:
//!
//! 1. **claims** up to [`BATCH`] due rows in one durable transaction, moving
//!    them to [`OUTBOX_SENDING`] and reading what each says (the text in
//!    the reader's language, their unread count);
//! 2. **sends** each over its channel;
//! 3. **settles** them in a second transaction: sent rows go, failed ones
//!    return to [`OUTBOX`] due after a growing wait ([`backoff_ms`]), and
//!    are given up after [`MAX_ATTEMPTS`].
//!
//! A crash between 1 and 3 leaves rows in [`OUTBOX_SENDING`]: they may have
//! been sent, so the next pass drops them (counted and logged) instead of
//! sending them twice. Rows still in [`OUTBOX`] after a crash are found by
//! the minute's jobs (a kick makes the company due now, and the due time is
//! kept in `platform.redb`) and sent once.
//!
//! Bursts are batched: a kick waits `notify_batch_ms` before its first
//! pass, a pass takes up to [`BATCH`] rows, and one company has at most one
//! pass running; kicks during a pass re-run it once afterwards.

use super::text;
use crate::app::{AppState, WeakState};
use crate::error::AppError;
use crate::hub::Topic;
use crate::i18n::Lang;
use crate::store::schema::{Channel, NOTIFICATIONS, OUTBOX, OUTBOX_SENDING, OutboxV1, UNREAD_COUNTS, USERS};
use crate::store::store_err;
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Most deliveries one pass claims.
pub const BATCH: usize = 500;
/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// Wait before the next try after `attempts` failed ones: 2 s, 4 s, 8 s …,
/// at most 15 minutes.
pub fn backoff_ms(attempts: u32) -> i64 {
    let exp = attempts.clamp(1, 20);
    (1_000i64 << exp).min(15 * 60_000)
}

/// The companies whose delivery task is running, each with whether it was
/// kicked again meanwhile (then it makes one more pass).
#[derive(Default)]
pub struct Outbox {
    running: Mutex<HashMap<String, bool>>,
    /// Set by [`stop`]: no new pass starts.
    stopping: AtomicBool,
    /// Told whenever a delivery task ends.
    ended: tokio::sync::Notify,
    /// Rows each company's outbox still held after its last pass: the
    /// `idora_outbox_backlog` gauge is their sum (no scan per scrape).
    backlog: Mutex<HashMap<String, u64>>,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what a pass left waiting in one company's outbox.
    fn set_backlog(&self, slug: &str, waiting: u64) {
        let mut b = self.backlog.lock().unwrap_or_else(|e| e.into_inner());
        if waiting == 0 {
            b.remove(slug);
        } else {
            b.insert(slug.to_string(), waiting);
        }
        metrics::gauge!("idora_outbox_backlog").set(b.values().sum::<u64>() as f64);
    }

    fn end(&self, slug: &str) {
        self.lock().remove(slug);
        self.ended.notify_waiters();
    }
}

/// On the way out: starts no new pass and waits (at most 5 s) for the
/// running ones, so a graceful stop leaves nothing claimed and unsettled.
pub async fn stop(state: &AppState) {
    state.outbox.stopping.store(true, Ordering::SeqCst);
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while !state.outbox.lock().is_empty() && tokio::time::Instant::now() < until {
        let _ = tokio::time::timeout(Duration::from_millis(50), state.outbox.ended.notified()).await;
    }
}

/// The channels every recipient is reached on here. Telegram has its own
/// outbox (`telegram::outbox`), written beside these rows for linked accounts.
const CHANNELS: &[Channel] = &[Channel::InApp];

/// Writes the outbox rows of one notification, in the transaction that
/// stores it: one per channel the recipient is reached on.
pub(super) fn enqueue(tx: &WriteTransaction, now: i64, user_id: u64, notification_id: u64) -> Result<(), AppError> {
    let mut outbox = OUTBOX.open(tx)?;
    for &channel in CHANNELS {
        let id = crate::store::next_id(tx, "outbox")?;
        let row = OutboxV1 { user_id, notification_id, channel, attempts: 0, created_at: now };
        outbox.insert((now, id), &row)?;
    }
    crate::telegram::outbox::enqueue_notification(tx, now, user_id, notification_id)?;
    Ok(())
}

/// After a commit that planned notifications: makes the company due now
/// (so that a crash before delivery is caught up after the restart) and
/// starts its delivery task, or asks the running one for another pass.
pub fn kick(state: &AppState, tenant: &Tenant) {
    state.bots.wake(&tenant.slug);
    tenant.due_at(state.now_ms());
    if state.outbox.stopping.load(Ordering::SeqCst) {
        return;
    }
    {
        let mut running = state.outbox.lock();
        if let Some(again) = running.get_mut(&tenant.slug) {
            *again = true;
            return;
        }
        running.insert(tenant.slug.clone(), false);
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        // No runtime (a CLI command): the jobs deliver after the next start.
        state.outbox.end(&tenant.slug);
        return;
    };
    rt.spawn(run(state.downgrade(), tenant.slug.clone()));
}

/// One company's delivery task: passes until nothing is ready, then leaves
/// a retry to a timer (soon) or to the minute's jobs (later). It holds the
/// application only during a pass, so a stopped server closes its files.
async fn run(app: WeakState, slug: String) {
    let window = Duration::from_millis(app.upgrade().map(|s| s.config.notify_batch_ms).unwrap_or(0));
    // Gather the burst that woke us (and, later, the one that arrived
    // during a pass) before sending.
    let mut gather = true;
    let retry_in = loop {
        if gather && !window.is_zero() {
            tokio::time::sleep(window).await;
        }
        let Some(state) = app.upgrade() else { return };
        let Some(tenant) = state.tenants.get(&slug) else {
            state.outbox.end(&slug);
            return;
        };
        if state.outbox.stopping.load(Ordering::SeqCst) {
            state.outbox.end(&slug);
            return;
        }
        let next = match deliver_due(&state, &tenant).await {
            Ok(pass) => pass.next,
            Err(e) => {
                tracing::warn!(company = %slug, error = %e, "notification delivery failed");
                Some(state.now_ms() + backoff_ms(1))
            }
        };
        let now = state.now_ms();
        let ready = next.is_some_and(|at| at <= now);
        let kicked = {
            // Checked and ended under one lock: a kick in between would be lost.
            let mut running = state.outbox.lock();
            let kicked = running.get_mut(&slug).map(|again| std::mem::replace(again, false)).unwrap_or(false);
            if !kicked && !ready {
                running.remove(&slug);
            }
            kicked
        };
        if kicked || ready {
            // More than a batch was due: at once; new work: after the window.
            gather = kicked && !ready;
            continue;
        }
        state.outbox.ended.notify_waiters();
        let Some(at) = next else { return };
        tenant.due_at(at);
        break at.saturating_sub(now);
    };
    if retry_in < 60_000 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(retry_in).unwrap_or(0))).await;
        let Some(state) = app.upgrade() else { return };
        if let Some(tenant) = state.tenants.get(&slug) {
            kick(&state, &tenant);
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Pass {
    pub sent: usize,
    /// Claimed by a pass that a crash cut off: dropped, not sent again.
    pub in_doubt: usize,
    /// Failed and waiting for another try.
    pub retried: usize,
    /// Failed [`MAX_ATTEMPTS`] times: given up.
    pub given_up: usize,
    /// When the earliest row left is due (`None`: the outbox is empty).
    pub next: Option<i64>,
}

/// A claimed delivery and what it carries.
pub(super) struct Claimed {
    pub(super) id: u64,
    pub(super) row: OutboxV1,
    /// `None` when the notification is gone (pruned): nothing to send.
    pub(super) message: Option<serde_json::Value>,
}

/// One pass over a company's due deliveries (see the module text). Only
/// the company's delivery task calls it, so passes never overlap.
pub async fn deliver_due(state: &AppState, tenant: &Tenant) -> Result<Pass, AppError> {
    let db = tenant.db()?;
    let now = state.now_ms();
    let lang = tenant.lang();
    let (in_doubt, claimed) = db.write(move |tx| claim(tx, now, lang)).await?;
    if in_doubt > 0 {
        tracing::warn!(company = %tenant.slug, deliveries = in_doubt, "notifications cut off by a crash are not sent again");
        metrics::counter!("idora_notifications_in_doubt_total").increment(in_doubt as u64);
    }
    let mut outcomes = Vec::with_capacity(claimed.len());
    for c in claimed {
        let ok = match c.message {
            Some(message) => send(state, tenant, &c.row, message),
            None => true,
        };
        outcomes.push((c.id, c.row, ok));
    }
    let sent = outcomes.iter().filter(|o| o.2).count();
    metrics::counter!("idora_notifications_sent_total").increment(sent as u64);
    let (retried, given_up, next, waiting) = db
        .write(move |tx| {
            let (retried, given_up, next) = settle(tx, now, &outcomes)?;
            Ok((retried, given_up, next, OUTBOX.open(tx)?.count()?))
        })
        .await?;
    state.outbox.set_backlog(&tenant.slug, waiting);
    if given_up > 0 {
        tracing::warn!(company = %tenant.slug, deliveries = given_up, "notifications given up after {MAX_ATTEMPTS} tries");
    }
    Ok(Pass { sent, in_doubt, retried, given_up, next })
}

/// Step 1: drops what a crash left claimed, claims the due rows and reads
/// what they say.
pub(super) fn claim(tx: &WriteTransaction, now: i64, default_lang: Lang) -> Result<(usize, Vec<Claimed>), AppError> {
    let mut sending = OUTBOX_SENDING.open(tx)?;
    let before = sending.count()?;
    // Dropped unread: a claimed row is never sent again.
    sending.raw_mut().retain(|_, _| false).map_err(store_err)?;
    let in_doubt = usize::try_from(before).unwrap_or(usize::MAX);

    let mut outbox = OUTBOX.open(tx)?;
    let mut due = Vec::new();
    for row in outbox.range(..=(now, u64::MAX))?.take(BATCH) {
        let (k, r) = row?;
        due.push((k.value(), r));
    }
    let notes = NOTIFICATIONS.open(tx)?;
    let users = USERS.open(tx)?;
    let counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
    let mut langs: HashMap<u64, Lang> = HashMap::new();
    let mut claimed = Vec::with_capacity(due.len());
    for (key, row) in due {
        outbox.remove(key)?;
        sending.insert(key.1, &row)?;
        let note = match notes.get((row.user_id, row.notification_id))? {
            Some(n) => n,
            None => {
                claimed.push(Claimed { id: key.1, row, message: None });
                continue;
            }
        };
        let lang = match langs.get(&row.user_id) {
            Some(l) => *l,
            None => {
                let account = users.get(row.user_id)?;
                let l = account.and_then(|a| a.language).as_deref().and_then(Lang::parse).unwrap_or(default_lang);
                langs.insert(row.user_id, l);
                l
            }
        };
        let unread = counts.get(row.user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        let message = serde_json::json!({
            "id": row.notification_id,
            "kind": note.kind,
            "task_id": note.task_id,
            "thread_id": super::thread_of(&note),
            "request_id": super::request_of(&note),
            "text": text(lang, &note),
            "unread": unread,
        });
        claimed.push(Claimed { id: key.1, row, message: Some(message) });
    }
    Ok((in_doubt, claimed))
}

/// Step 2: one delivery over its channel; `false` when it must be tried again.
fn send(state: &AppState, tenant: &Tenant, row: &OutboxV1, message: serde_json::Value) -> bool {
    match row.channel {
        Channel::InApp => {
            state.hub.publish(&tenant.slug, &Topic::User(row.user_id), "notification", message, state.now());
            true
        }
    }
}

/// Step 3: forgets what was sent, puts failures back with their wait, and
/// says how many were retried and given up and when the next row is due.
pub(super) fn settle(tx: &WriteTransaction, now: i64, outcomes: &[(u64, OutboxV1, bool)]) -> Result<(usize, usize, Option<i64>), AppError> {
    let mut sending = OUTBOX_SENDING.open(tx)?;
    let mut outbox = OUTBOX.open(tx)?;
    let (mut retried, mut given_up) = (0, 0);
    for (id, row, ok) in outcomes {
        sending.remove(*id)?;
        if *ok {
            continue;
        }
        let mut row = row.clone();
        row.attempts += 1;
        if row.attempts >= MAX_ATTEMPTS {
            given_up += 1;
            continue;
        }
        retried += 1;
        let at = now.saturating_add(backoff_ms(row.attempts));
        outbox.insert((at, *id), &row)?;
    }
    // The key alone: when the next row is due.
    let next = outbox.raw().first().map_err(store_err)?.map(|(k, _)| k.value().0);
    Ok((retried, given_up, next))
}

/// When this company's earliest delivery is due, read from its store
/// (`i64::MAX`: none). Rows a crash left claimed make it due now.
pub fn next_due(tx: &redb::ReadTransaction, now: i64) -> Result<i64, AppError> {
    if OUTBOX_SENDING.open(tx)?.count()? > 0 {
        return Ok(now);
    }
    // The key alone: when the first row is due.
    Ok(OUTBOX.open(tx)?.raw().first().map_err(store_err)?.map(|(k, _)| k.value().0).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn waits_grow_and_stop_growing() {
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(2), 4_000);
        assert_eq!(backoff_ms(3), 8_000);
        assert_eq!(backoff_ms(30), 15 * 60_000);
    }
}
