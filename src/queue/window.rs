//! The operator's window: who is called next, and what happens to a called
//! ticket (start, finish, no-show, recall, break).

use super::tickets::{local_day, status_code};
use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{
    OPERATOR_STATE, OPERATORS, OperatorRecord, OperatorStateRecord, OperatorStateV1, OperatorV1, TICKET_EVENTS, TICKETS,
    TICKETS_BY_BRANCH_DAY, TicketEventRecord, TicketEventV1, TicketPriority, TicketRecord, TicketStatus, TicketV1,
};
use crate::store::{enc, get_record, next_id, store_err};
use crate::tenancy::Tenant;
use crate::web::i18n::{Lang, tf};
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

/// Times a called ticket may be recalled before it counts as a no-show.
pub const MAX_RECALLS: u8 = 2;

/// Why a ticket was chosen, as stored: `priority:vip`, `waited:23`, `chosen`.
pub fn reason_text(lang: Lang, reason: &str) -> String {
    if let Some(p) = reason.strip_prefix("priority:") {
        let label = match p {
            "vip" => crate::web::i18n::t(lang, "queue.priority.vip"),
            "disabled" => crate::web::i18n::t(lang, "queue.priority.disabled"),
            _ => crate::web::i18n::t(lang, "queue.priority.elderly"),
        };
        return tf(lang, "queue.reason.priority", &[("priority", label)]);
    }
    if let Some(m) = reason.strip_prefix("waited:") {
        return tf(lang, "queue.reason.waited", &[("minutes", m)]);
    }
    crate::web::i18n::t(lang, "queue.reason.chosen").to_string()
}

fn operator(tx: &WriteTransaction, user_id: u64) -> Result<OperatorV1, AppError> {
    get_record::<OperatorRecord>(&tx.open_table(OPERATORS).map_err(store_err)?, user_id)?
        .ok_or_else(|| AppError::new(ErrorKind::Conflict).with_message("error.not_at_window"))
}

fn on_break(tx: &WriteTransaction, user_id: u64) -> Result<bool, AppError> {
    Ok(get_record::<OperatorStateRecord>(&tx.open_table(OPERATOR_STATE).map_err(store_err)?, user_id)?.is_some_and(|s| s.on_break))
}

fn event(tx: &WriteTransaction, ticket: u64, now: i64, kind: &str, t: &TicketV1, reason: Option<String>) -> Result<(), AppError> {
    let id = next_id(tx, "ticket_event")?;
    let ev = TicketEventV1 { at: now, kind: kind.into(), operator_id: t.operator_id, window: t.window, reason };
    tx.open_table(TICKET_EVENTS).map_err(store_err)?.insert((ticket, id), enc::<TicketEventRecord>(ev)?.as_slice()).map_err(store_err)?;
    Ok(())
}

fn save(tx: &WriteTransaction, id: u64, t: &TicketV1) -> Result<(), AppError> {
    tx.open_table(TICKETS).map_err(store_err)?.insert(id, enc::<TicketRecord>(t.clone())?.as_slice()).map_err(store_err)?;
    Ok(())
}

/// The ticket this operator has called or is serving, if any.
fn current(tx: &WriteTransaction, op: &OperatorV1, user_id: u64, day: u32) -> Result<Option<(u64, TicketV1)>, AppError> {
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = tx.open_table(TICKETS).map_err(store_err)?;
    for row in idx.range((op.branch_id, day, 0)..=(op.branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = get_record::<TicketRecord>(&tickets, id)?
            && t.operator_id == Some(user_id)
            && matches!(t.status, TicketStatus::Called | TicketStatus::Serving)
        {
            return Ok(Some((id, t)));
        }
    }
    Ok(None)
}

/// Picks the next ticket for an operator: only their services at their
/// branch; the highest priority bonus plus minutes waited; then arrival.
/// Returns the ticket and why it was chosen.
pub fn choose(candidates: &[(u64, TicketV1)], services: &[u64], now: i64) -> Option<(u64, String)> {
    let score = |t: &TicketV1| priority_bonus(t.priority) + (now - t.arrived_at).max(0) / 60_000;
    let best = candidates
        .iter()
        .filter(|(_, t)| t.status == TicketStatus::Waiting && services.contains(&t.service_id))
        .max_by(|(ia, a), (ib, b)| score(a).cmp(&score(b)).then_with(|| b.arrived_at.cmp(&a.arrived_at)).then_with(|| ib.cmp(ia)))?;
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

/// Calls the next customer to this operator's window; `None` when nobody waits.
pub async fn call_next(state: &AppState, tenant: &Tenant, user_id: u64) -> Result<Option<(u64, TicketV1, String)>, AppError> {
    let now = state.now_ms();
    let (day, _, _) = local_day(now, &tenant.timezone());
    let called = tenant
        .db()?
        .write(move |tx| {
            let op = operator(tx, user_id)?;
            if on_break(tx, user_id)? {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.on_break"));
            }
            if current(tx, &op, user_id, day)?.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.finish_current"));
            }
            let candidates: Vec<(u64, TicketV1)> = {
                let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
                let tickets = tx.open_table(TICKETS).map_err(store_err)?;
                let mut v = Vec::new();
                for row in idx.range((op.branch_id, day, 0)..=(op.branch_id, day, u64::MAX)).map_err(store_err)? {
                    let id = row.map_err(store_err)?.0.value().2;
                    if let Some(t) = get_record::<TicketRecord>(&tickets, id)?
                        && t.status == TicketStatus::Waiting
                    {
                        v.push((id, t));
                    }
                }
                v
            };
            let Some((id, reason)) = choose(&candidates, &op.service_ids, now) else { return Ok(None) };
            let mut t = candidates.into_iter().find(|(i, _)| *i == id).map(|(_, t)| t).ok_or_else(|| AppError::new(ErrorKind::NotFound))?;
            t.status = TicketStatus::Called;
            t.called_at = Some(now);
            t.operator_id = Some(user_id);
            t.window = Some(op.window);
            save(tx, id, &t)?;
            event(tx, id, now, "called", &t, Some(reason.clone()))?;
            Ok(Some((id, t, reason)))
        })
        .await?;
    if let Some((id, t, _)) = &called {
        announce(state, tenant, *id, t, "ticket.called");
    }
    Ok(called)
}

/// Tells the display board, the branch's operators and the ticket's tracking page.
fn announce(state: &AppState, tenant: &Tenant, id: u64, t: &TicketV1, kind: &str) {
    let data =
        serde_json::json!({"id": id, "number": t.number, "window": t.window, "status": status_code(t.status), "service_id": t.service_id});
    state.hub.publish(&tenant.slug, &format!("queue:branch:{}", t.branch_id), kind, data.clone(), state.now());
    state.hub.publish(&tenant.slug, &format!("ticket:{}", t.token), kind, data, state.now());
}

/// What an operator does with the ticket at their window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Recall,
    NoShow,
    Start,
    Finish,
}

pub async fn act(state: &AppState, tenant: &Tenant, user_id: u64, ticket_id: u64, what: Act) -> Result<TicketV1, AppError> {
    let now = state.now_ms();
    let t = tenant
        .db()?
        .write(move |tx| {
            let mut t = get_record::<TicketRecord>(&tx.open_table(TICKETS).map_err(store_err)?, ticket_id)?
                .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found"))?;
            if t.operator_id != Some(user_id) {
                return Err(AppError::new(ErrorKind::Forbidden).with_message("error.not_your_ticket"));
            }
            let wrong = || AppError::new(ErrorKind::Conflict).with_message("error.ticket_state").with_arg("status", status_code(t.status));
            let kind = match what {
                Act::Recall if t.status == TicketStatus::Called => {
                    if t.recalls >= MAX_RECALLS {
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
                    t.status = TicketStatus::Done;
                    t.finished_at = Some(now);
                    "finished"
                }
                _ => return Err(wrong()),
            };
            save(tx, ticket_id, &t)?;
            event(tx, ticket_id, now, kind, &t, None)?;
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
    user_id: u64,
    on: bool,
    reason: Option<String>,
) -> Result<OperatorStateV1, AppError> {
    let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 120) {
        return Err(AppError::invalid("reason", "validation.text_too_long").with_arg("max", 120));
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
            tx.open_table(OPERATOR_STATE)
                .map_err(store_err)?
                .insert(user_id, enc::<OperatorStateRecord>(st.clone())?.as_slice())
                .map_err(store_err)?;
            Ok(st)
        })
        .await
}
