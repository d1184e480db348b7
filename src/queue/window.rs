//! The operator's window: who is called next, and what happens to a called
//! ticket (start, finish, no-show, recall, break).

use super::tickets::{announce, insert_ticket, learn_service_time, local_day, put_ticket, status_code, ticket_event};
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, tf};
use crate::store::schema::{
    OPERATOR_EVENTS, OPERATOR_STATE, OPERATORS, OperatorEventV1, OperatorStateV1, OperatorV1, TICKET_EVENTS, TICKETS,
    TICKETS_BY_BRANCH_DAY, TicketPriority, TicketStatus, TicketV1,
};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};

/// Minutes of waiting a priority is worth: a VIP jumps 20 minutes ahead,
/// but someone who has waited longer than that still goes first, so nobody
/// waits forever behind VIPs.
pub fn priority_bonus(p: TicketPriority) -> i64 {
    match p {
        TicketPriority::Normal => 0,
        TicketPriority::Elderly => 10,
        TicketPriority::Disabled => 15,
        TicketPriority::Vip => 20,
    }
}

/// Why a ticket was chosen, as stored: `booked:14:00`, `priority:vip`, `waited:23`, `chosen`.
pub fn reason_text(lang: Lang, reason: &str) -> String {
    if let Some(p) = reason.strip_prefix("priority:") {
        let label = match p {
            "vip" => crate::i18n::t(lang, "queue.priority.vip"),
            "disabled" => crate::i18n::t(lang, "queue.priority.disabled"),
            _ => crate::i18n::t(lang, "queue.priority.elderly"),
        };
        return tf(lang, "queue.reason.priority", &[("priority", label)]);
    }
    if let Some(at) = reason.strip_prefix("booked:") {
        return tf(lang, "queue.reason.booked", &[("time", at)]);
    }
    if let Some(m) = reason.strip_prefix("waited:") {
        return tf(lang, "queue.reason.waited", &[("minutes", m)]);
    }
    crate::i18n::t(lang, "queue.reason.chosen").to_string()
}

/// Everything at a window needs the operator's permission; the window is
/// the actor's own.
fn operating(actor: &Caller) -> Result<u64, AppError> {
    actor.require("queue.operate")?;
    Ok(actor.id())
}

fn operator(tx: &WriteTransaction, user_id: u64) -> Result<OperatorV1, AppError> {
    OPERATORS.open(tx)?.get(user_id)?.ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("error.not_at_window"))
}

fn on_break(tx: &WriteTransaction, user_id: u64) -> Result<bool, AppError> {
    Ok(OPERATOR_STATE.open(tx)?.get(user_id)?.is_some_and(|s| s.on_break))
}

/// The ticket this operator has called or is serving, if any.
fn current(tx: &WriteTransaction, op: &OperatorV1, user_id: u64, day: u32) -> Result<Option<(u64, TicketV1)>, AppError> {
    let idx = tx.open_table(crate::store::schema::TICKETS_OPEN).map_err(store_err)?;
    let tickets = TICKETS.open(tx)?;
    for row in idx.range((op.branch_id, day, 0)..=(op.branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = tickets.get(id)?
            && t.operator_id == Some(user_id)
            && matches!(t.status, TicketStatus::Called | TicketStatus::Serving)
        {
            return Ok(Some((id, t)));
        }
    }
    Ok(None)
}

/// The order in which waiting tickets are called, smallest first: a
/// checked-in booking whose time has come (earliest slot first), then the
/// highest priority bonus plus minutes waited, then arrival, then id.
pub fn call_order(id: u64, t: &TicketV1, now: i64) -> (u8, i64, i64, u64) {
    match &t.booking {
        Some(b) if super::booking::booking_due(t, now) => (0, b.start, 0, id),
        _ => (1, -(priority_bonus(t.priority) + (now - t.arrived_at).max(0) / 60_000), t.arrived_at, id),
    }
}

/// Picks the next ticket for an operator: only their services at their
/// branch, first in [`call_order`]. Returns the ticket and why it was chosen.
pub fn choose(candidates: &[(u64, TicketV1)], services: &[u64], now: i64, tz: &jiff::tz::TimeZone) -> Option<(u64, String)> {
    let best = candidates
        .iter()
        .filter(|(_, t)| t.status == TicketStatus::Waiting && services.contains(&t.service_id))
        .min_by_key(|(id, t)| call_order(*id, t, now))?;
    if let Some(b) = best.1.booking.as_ref().filter(|_| super::booking::booking_due(&best.1, now)) {
        let local = crate::clock::from_ms(b.start).to_zoned(tz.clone());
        return Some((best.0, format!("booked:{:02}:{:02}", local.hour(), local.minute())));
    }
    let (id, t) = best;
    let waited = (now - t.arrived_at).max(0) / 60_000;
    // Would arrival order alone have chosen it? Then waiting is the reason.
    let earliest = candidates
        .iter()
        .filter(|(_, c)| c.status == TicketStatus::Waiting && services.contains(&c.service_id))
        .min_by_key(|(i, c)| (c.arrived_at, *i))
        .map(|(i, _)| *i);
    let reason = if earliest != Some(*id) && t.priority != TicketPriority::Normal {
        format!("priority:{}", super::tickets::priority_code(t.priority))
    } else {
        format!("waited:{waited}")
    };
    Some((*id, reason))
}

/// Calls the next waiting customer to `user_id`'s window inside `tx`
/// (the caller checked the window is free): the one write that makes a
/// ticket called, so two operators never get the same ticket.
fn call_next_in(
    tx: &WriteTransaction,
    user_id: u64,
    op: &OperatorV1,
    day: u32,
    now: i64,
    tz: &jiff::tz::TimeZone,
) -> Result<Option<(u64, TicketV1, String)>, AppError> {
    if on_break(tx, user_id)? {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.on_break"));
    }
    let candidates = super::tickets::waiting_of(
        &tx.open_table(crate::store::schema::TICKETS_WAITING).map_err(store_err)?,
        &TICKETS.open(tx)?,
        op.branch_id,
        day,
        None,
    )?;
    let Some((id, reason)) = choose(&candidates, &op.service_ids, now, tz) else { return Ok(None) };
    let mut t = candidates.into_iter().find(|(i, _)| *i == id).map(|(_, t)| t).ok_or_else(|| AppError::new(ErrorKind::NotFound))?;
    t.status = TicketStatus::Called;
    t.called_at = Some(now);
    t.operator_id = Some(user_id);
    t.window = Some(op.window);
    put_ticket(tx, id, &t)?;
    ticket_event(tx, id, now, "called", &t, Some(reason.clone()))?;
    Ok(Some((id, t, reason)))
}

/// Calls the next customer to this operator's window; `None` when nobody waits.
pub async fn call_next(state: &AppState, tenant: &Tenant, actor: &Caller) -> Result<Option<(u64, TicketV1, String)>, AppError> {
    let user_id = operating(actor)?;
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (day, _, _) = local_day(now, &tz);
    let called = tenant
        .db()?
        .write(move |tx| {
            let op = operator(tx, user_id)?;
            if !on_break(tx, user_id)? && current(tx, &op, user_id, day)?.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.finish_current"));
            }
            call_next_in(tx, user_id, &op, day, now, &tz)
        })
        .await?;
    if let Some((id, t, _)) = &called {
        announce(state, tenant, *id, t, "ticket.called");
    }
    Ok(called)
}

/// Ends the service of the customer at the window (their visit's time is learned).
fn finish_in(tx: &WriteTransaction, id: u64, t: &mut TicketV1, now: i64) -> Result<(), AppError> {
    t.status = TicketStatus::Done;
    t.finished_at = Some(now);
    let secs = (now - t.started_at.unwrap_or(now)).max(0) / 1000;
    learn_service_time(tx, t.service_id, secs.min(i64::from(u32::MAX)) as u32)?;
    put_ticket(tx, id, t)?;
    ticket_event(tx, id, now, "finished", t, None)
}

/// The ticket `ticket_id`, when it is at operator `user_id`'s window.
fn at_my_window(tx: &redb::WriteTransaction, ticket_id: u64, user_id: u64) -> Result<TicketV1, AppError> {
    let t = TICKETS.open(tx)?.get(ticket_id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found"))?;
    if t.operator_id != Some(user_id) {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.not_your_ticket"));
    }
    Ok(t)
}

/// "Finish and call next" in one press: the operator's customer at the
/// window (`ticket_id`, being served) is done and the next waiting customer
/// is called, in one write, so the window is never left free between the
/// two for another press and no ticket is called twice. The second part is
/// `None` when nobody waits (the first is done all the same).
pub async fn finish_and_call_next(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    ticket_id: u64,
) -> Result<(TicketV1, Option<(u64, TicketV1, String)>), AppError> {
    let user_id = operating(actor)?;
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (day, _, _) = local_day(now, &tz);
    let (done, called) = tenant
        .db()?
        .write(move |tx| {
            let mut t = at_my_window(tx, ticket_id, user_id)?;
            if t.status != TicketStatus::Serving {
                return Err(AppError::new(ErrorKind::Conflict)
                    .with_message("error.ticket_state")
                    .with_arg("status", status_code(t.status)));
            }
            finish_in(tx, ticket_id, &mut t, now)?;
            // The next customer comes to the window the operator sits at now.
            let op = operator(tx, user_id)?;
            let called = call_next_in(tx, user_id, &op, day, now, &tz)?;
            Ok((t, called))
        })
        .await?;
    announce(state, tenant, ticket_id, &done, "ticket.changed");
    if let Some((id, t, _)) = &called {
        announce(state, tenant, *id, t, "ticket.called");
    }
    Ok((done, called))
}

/// What an operator does with the ticket at their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Recall,
    NoShow,
    Start,
    Finish,
}

pub async fn act(state: &AppState, tenant: &Tenant, actor: &Caller, ticket_id: u64, what: Act) -> Result<TicketV1, AppError> {
    let user_id = operating(actor)?;
    let now = state.now_ms();
    let t = tenant
        .db()?
        .write(move |tx| {
            let mut t = at_my_window(tx, ticket_id, user_id)?;
            let wrong = || AppError::new(ErrorKind::Conflict).with_message("error.ticket_state").with_arg("status", status_code(t.status));
            let kind = match what {
                Act::Recall if t.status == TicketStatus::Called => {
                    let max = super::service::settings_in(&tx.open_table(crate::store::schema::SETTINGS).map_err(store_err)?)?.max_recalls;
                    if t.recalls >= max {
                        t.status = TicketStatus::NoShow;
                        t.finished_at = Some(now);
                        "no_show"
                    } else {
                        t.recalls += 1;
                        t.called_at = Some(now);
                        "recalled"
                    }
                }
                Act::NoShow if t.status == TicketStatus::Called => {
                    t.status = TicketStatus::NoShow;
                    t.finished_at = Some(now);
                    "no_show"
                }
                Act::Start if t.status == TicketStatus::Called => {
                    t.status = TicketStatus::Serving;
                    t.started_at = Some(now);
                    "started"
                }
                Act::Finish if t.status == TicketStatus::Serving => {
                    finish_in(tx, ticket_id, &mut t, now)?;
                    return Ok(t);
                }
                _ => return Err(wrong()),
            };
            put_ticket(tx, ticket_id, &t)?;
            ticket_event(tx, ticket_id, now, kind, &t, None)?;
            Ok(t)
        })
        .await?;
    let kind = match (what, t.status) {
        (Act::Recall, TicketStatus::Called) => "ticket.called",
        _ => "ticket.changed",
    };
    announce(state, tenant, ticket_id, &t, kind);
    Ok(t)
}

/// Goes on a break (with a reason) or back to work.
pub async fn set_break(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    on: bool,
    reason: Option<String>,
) -> Result<OperatorStateV1, AppError> {
    let user_id = operating(actor)?;
    let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if let Some(r) = &reason {
        AppError::check_text("reason", r, 120, false)?;
    }
    let now = state.now_ms();
    let (day, _, _) = local_day(now, &tenant.timezone());
    tenant
        .db()?
        .write(move |tx| {
            let op = operator(tx, user_id)?;
            if on && current(tx, &op, user_id, day)?.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.finish_current"));
            }
            let st = OperatorStateV1 { on_break: on, break_reason: if on { reason.clone() } else { None }, since: now };
            let mut states = OPERATOR_STATE.open(tx)?;
            let was = states.get(user_id)?.is_some_and(|s| s.on_break);
            states.insert(user_id, &st)?;
            if was != on {
                let ev = OperatorEventV1 { at: now, on_break: on, reason: st.break_reason.clone() };
                let id = next_id(tx, "operator_event")?;
                OPERATOR_EVENTS.open(tx)?.insert((user_id, id), &ev)?;
            }
            Ok(st)
        })
        .await
}

/// Calls one chosen waiting ticket at the operator's branch (any service there).
pub async fn call_ticket(state: &AppState, tenant: &Tenant, actor: &Caller, ticket_id: u64) -> Result<TicketV1, AppError> {
    let user_id = operating(actor)?;
    let now = state.now_ms();
    let (day, _, _) = local_day(now, &tenant.timezone());
    let t = tenant
        .db()?
        .write(move |tx| {
            let op = operator(tx, user_id)?;
            if on_break(tx, user_id)? {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.on_break"));
            }
            if current(tx, &op, user_id, day)?.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.finish_current"));
            }
            let mut t = TICKETS
                .open(tx)?
                .get(ticket_id)?
                .filter(|t| t.branch_id == op.branch_id)
                .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found"))?;
            if t.status != TicketStatus::Waiting || t.day != day {
                return Err(AppError::new(ErrorKind::Conflict)
                    .with_message("error.ticket_state")
                    .with_arg("status", status_code(t.status)));
            }
            t.status = TicketStatus::Called;
            t.called_at = Some(now);
            t.operator_id = Some(user_id);
            t.window = Some(op.window);
            put_ticket(tx, ticket_id, &t)?;
            ticket_event(tx, ticket_id, now, "called", &t, Some("chosen".into()))?;
            Ok(t)
        })
        .await?;
    announce(state, tenant, ticket_id, &t, "ticket.called");
    Ok(t)
}

/// Sends the customer at the window on to another service at the same
/// branch. The old ticket ends as `transferred`; a new one with the same
/// number, tracking page and arrival time waits for the new service.
pub async fn transfer(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    ticket_id: u64,
    service_id: u64,
) -> Result<(u64, TicketV1), AppError> {
    let user_id = operating(actor)?;
    let now = state.now_ms();
    let (old, new_id, new) = tenant
        .db()?
        .write(move |tx| {
            let mut t = at_my_window(tx, ticket_id, user_id)?;
            if !matches!(t.status, TicketStatus::Called | TicketStatus::Serving) {
                return Err(AppError::new(ErrorKind::Conflict)
                    .with_message("error.ticket_state")
                    .with_arg("status", status_code(t.status)));
            }
            let target = crate::store::schema::SERVICES.open(tx)?.get(service_id)?;
            if service_id == t.service_id {
                return Err(AppError::invalid("service_id", "validation.transfer_same"));
            }
            if !target.is_some_and(|s| s.active && s.branch_ids.contains(&t.branch_id)) {
                return Err(AppError::invalid("service_id", "validation.service_at_branch"));
            }
            if let Some(started) = t.started_at {
                learn_service_time(tx, t.service_id, ((now - started).max(0) / 1000).min(i64::from(u32::MAX)) as u32)?;
            }
            t.status = TicketStatus::Transferred;
            t.finished_at = Some(now);
            put_ticket(tx, ticket_id, &t)?;
            let id = next_id(tx, "ticket")?;
            let new = TicketV1 {
                service_id,
                status: TicketStatus::Waiting,
                called_at: None,
                started_at: None,
                finished_at: None,
                operator_id: None,
                window: None,
                recalls: 0,
                booking: None,
                transferred_from: Some(ticket_id),
                created_at: now,
                ..t.clone()
            };
            ticket_event(tx, ticket_id, now, "transferred", &t, Some(format!("to:{id}")))?;
            insert_ticket(tx, id, &new)?;
            ticket_event(tx, id, now, "transferred_in", &new, Some(format!("from:{ticket_id}")))?;
            Ok((t, id, new))
        })
        .await?;
    announce(state, tenant, ticket_id, &old, "ticket.changed");
    announce(state, tenant, new_id, &new, "ticket.changed");
    crate::tenancy::due::ticket_taken(tenant, &new);
    Ok((new_id, new))
}

// ---------- what the operator's page shows ----------

/// An operator's break state, if they ever had one.
pub fn operator_state(db: &Db, user_id: u64) -> Result<Option<OperatorStateV1>, AppError> {
    let tx = db.read()?;
    OPERATOR_STATE.open(&tx)?.get(user_id)
}

/// The ticket an operator has called or is serving today at their branch,
/// with why it was called (the stored reason code of its last call).
pub fn current_ticket(db: &Db, branch_id: u64, day: u32, user_id: u64) -> Result<Option<(u64, TicketV1, Option<String>)>, AppError> {
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = TICKETS.open(&tx)?;
    let mut found = None;
    for row in idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = tickets.get(id)?
            && t.operator_id == Some(user_id)
            && matches!(t.status, TicketStatus::Called | TicketStatus::Serving)
        {
            found = Some((id, t));
            break;
        }
    }
    let Some((id, t)) = found else { return Ok(None) };
    let events = TICKET_EVENTS.open(&tx)?;
    let mut reason = None;
    for row in events.range((id, 0)..=(id, u64::MAX))? {
        let (_, ev) = row?;
        if ev.kind == "called" {
            reason = ev.reason;
        }
    }
    Ok(Some((id, t, reason)))
}

/// What an operator did today at a branch: customers served to the end,
/// and the mean time from start to finish in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Today {
    pub served: usize,
    pub mean_secs: Option<i64>,
}

pub fn today_of_operator(db: &Db, branch_id: u64, day: u32, user_id: u64) -> Result<Today, AppError> {
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = TICKETS.open(&tx)?;
    let (mut served, mut timed, mut total) = (0usize, 0i64, 0i64);
    for row in idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = tickets.get(id)?
            && t.operator_id == Some(user_id)
            && t.status == TicketStatus::Done
        {
            served += 1;
            if let (Some(s), Some(f)) = (t.started_at, t.finished_at) {
                timed += 1;
                total += (f - s).max(0);
            }
        }
    }
    Ok(Today { served, mean_secs: (timed > 0).then(|| total / timed / 1000) })
}
