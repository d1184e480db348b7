//! Booking a visit online: free slots from the branch's hours, the service's
//! minutes and how many operators serve it; a booked ticket `O-…` with a
//! code to check in at the kiosk.

use super::tickets::{Issued, announce, insert_ticket, local_day, put_ticket, record_customer, ticket_event};
use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::org::hours::WeekHours;
use crate::store::schema::{
    self, BOOKED_SLOTS, BOOKINGS_BY_CODE, Booking, BranchRecord, BranchV2, OPERATORS, ServiceRecord, ServiceV2, TICKETS, TicketPriority,
    TicketSource, TicketStatus, TicketV1,
};
use crate::store::{RecordTable, next_id, store_err};
use crate::tenancy::Tenant;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use redb::ReadableTable;

/// How far ahead a visit can be booked.
pub const BOOK_DAYS_AHEAD: i64 = 30;
/// A booked customer may arrive this much early and be called first…
pub const EARLY_MS: i64 = 10 * 60_000;
/// …and up to this much late; after that they queue by arrival like anyone.
pub const GRACE_MS: i64 = 10 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
    pub free: u32,
}

/// The slot grid of a day: from opening to closing in steps of the
/// service's minutes (at least 10), none that would end after closing.
fn grid(branch: &BranchV2, service: &ServiceV2, date: Date, tz: &TimeZone) -> Vec<(i64, i64)> {
    let weekday = date.weekday().to_monday_zero_offset() as usize;
    // A branch open round the clock takes bookings in office hours.
    let hours = WeekHours::of(&branch.hours);
    let (open, close) = match hours.day(weekday) {
        _ if hours.round_the_clock() => (9 * 60, 18 * 60),
        Some(h) => h,
        None => return vec![],
    };
    let step = service.minutes.max(10);
    // Minutes from the day's midnight (1440 is the next midnight: a branch
    // may close at 24:00).
    let midnight = date.at(0, 0, 0, 0).to_zoned(tz.clone()).ok();
    let at = |m: u16| -> Option<i64> {
        let z = midnight.as_ref()?.checked_add(jiff::SignedDuration::from_mins(i64::from(m))).ok()?;
        Some(z.timestamp().as_millisecond())
    };
    let mut out = Vec::new();
    let mut m = open;
    while m + step <= close {
        if let (Some(s), Some(e)) = (at(m), at(m + step)) {
            out.push((s, e));
        }
        m += step;
    }
    out
}

fn capacity(ops: &[(u64, schema::OperatorV1)], branch_id: u64, service_id: u64) -> u32 {
    ops.iter().filter(|(_, o)| o.branch_id == branch_id && o.service_ids.contains(&service_id)).count().max(1) as u32
}

/// The services whose bookings take the time of the operators who serve
/// `service_id` at the branch (itself included), with their slot length in
/// ms: one operator serving four services is not booked four times at 09:00.
fn sharing(ops: &[(u64, schema::OperatorV1)], services: &[(u64, ServiceV2)], branch_id: u64, service_id: u64) -> Vec<(u64, i64)> {
    let mine: Vec<&schema::OperatorV1> =
        ops.iter().filter(|(_, o)| o.branch_id == branch_id && o.service_ids.contains(&service_id)).map(|(_, o)| o).collect();
    services
        .iter()
        .filter(|(id, _)| *id == service_id || mine.iter().any(|o| o.service_ids.contains(id)))
        .map(|(id, s)| (*id, i64::from(s.minutes.max(10)) * 60_000))
        .collect()
}

/// Bookings at the branch, of the sharing services, whose slots overlap `[start, end)`.
fn booked(
    table: &impl ReadableTable<(u64, u64, i64), u32>,
    branch_id: u64,
    sharing: &[(u64, i64)],
    start: i64,
    end: i64,
) -> Result<u32, AppError> {
    let mut n = 0;
    for (sid, step) in sharing {
        for row in table.range((branch_id, *sid, start - step + 1)..(branch_id, *sid, end)).map_err(store_err)? {
            n += row.map_err(store_err)?.1.value();
        }
    }
    Ok(n)
}

fn branch_and_service(
    branches: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, BranchRecord>,
    services: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, ServiceRecord>,
    branch_id: u64,
    service_id: u64,
) -> Result<(BranchV2, ServiceV2), AppError> {
    let branch = branches
        .get(branch_id)?
        .filter(|b| b.active)
        .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
    let service = services
        .get(service_id)?
        .filter(|s| s.active && s.branch_ids.contains(&branch_id))
        .ok_or_else(|| AppError::invalid("service_id", "validation.service_at_branch"))?;
    Ok((branch, service))
}

fn check_date(state: &AppState, tz: &TimeZone, date: Date) -> Result<(), AppError> {
    let today = state.now().to_zoned(tz.clone()).date();
    let days = (date - today).get_days() as i64;
    if date < today || days > BOOK_DAYS_AHEAD {
        return Err(AppError::invalid("date", "validation.booking_date").with_arg("days", BOOK_DAYS_AHEAD));
    }
    Ok(())
}

/// The free slots of a day for a service at a branch (past ones left out).
/// A company that is not open for business offers none.
pub fn slots(state: &AppState, tenant: &Tenant, branch_id: u64, service_id: u64, date: Date) -> Result<Vec<Slot>, AppError> {
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    let tz = tenant.timezone();
    check_date(state, &tz, date)?;
    let now = state.now_ms();
    let tx = tenant.db()?.read()?;
    let services = schema::SERVICES.open(&tx)?;
    let (branch, service) = branch_and_service(&schema::BRANCHES.open(&tx)?, &services, branch_id, service_id)?;
    let ops = OPERATORS.open(&tx)?.all()?;
    let cap = capacity(&ops, branch_id, service_id);
    let shared = sharing(&ops, &services.all()?, branch_id, service_id);
    let taken = tx.open_table(BOOKED_SLOTS).map_err(store_err)?;
    let mut out = Vec::new();
    for (start, end) in grid(&branch, &service, date, &tz) {
        if start <= now {
            continue;
        }
        let free = cap.saturating_sub(booked(&taken, branch_id, &shared, start, end)?);
        out.push(Slot { start, end, free });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct NewBooking {
    pub branch_id: u64,
    pub service_id: u64,
    pub start: i64,
    pub name: String,
    pub phone: String,
}

/// Books a free slot; the ticket waits as `booked` until checked in.
pub async fn book(state: &AppState, tenant: &Tenant, input: NewBooking) -> Result<Issued, AppError> {
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("name", "validation.required"));
    }
    AppError::check_text("name", &name, 80, false)?;
    if input.phone.trim().is_empty() {
        return Err(AppError::invalid("phone", "validation.required"));
    }
    let phone = crate::phone::Phone::parse(input.phone.trim())?.into_string();
    let tz = tenant.timezone();
    let date = crate::clock::from_ms(input.start).to_zoned(tz.clone()).date();
    // The request names the slot by its start: a day out of range is that field's fault.
    check_date(state, &tz, date).map_err(|e| if e.field == Some("date") { AppError { field: Some("start"), ..e } } else { e })?;
    let now = state.now_ms();
    if input.start <= now {
        return Err(AppError::invalid("start", "validation.slot_taken"));
    }
    let (day, _, _) = local_day(input.start, &tz);
    let token = hex::encode(crate::store::random_bytes::<16>());
    let NewBooking { branch_id, service_id, start, .. } = input;
    let issued = tenant
        .db()?
        .write(move |tx| {
            let services = schema::SERVICES.open(tx)?;
            let (branch, service) = branch_and_service(&schema::BRANCHES.open(tx)?, &services, branch_id, service_id)?;
            let Some(&(_, end)) = grid(&branch, &service, date, &tz).iter().find(|(s, _)| *s == start) else {
                return Err(AppError::invalid("start", "validation.slot_unknown"));
            };
            let ops = OPERATORS.open(tx)?.all()?;
            let cap = capacity(&ops, branch_id, service_id);
            let shared = sharing(&ops, &services.all()?, branch_id, service_id);
            drop(services);
            let mut taken = tx.open_table(BOOKED_SLOTS).map_err(store_err)?;
            if booked(&taken, branch_id, &shared, start, end)? >= cap {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.slot_taken"));
            }
            let here = taken.get((branch_id, service_id, start)).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
            taken.insert((branch_id, service_id, start), here + 1).map_err(store_err)?;
            drop(taken);
            let mut codes = tx.open_table(BOOKINGS_BY_CODE).map_err(store_err)?;
            let code = loop {
                let c = 100_000 + u32::from_le_bytes(crate::store::random_bytes::<4>()) % 900_000;
                if codes.get((branch_id, day, c)).map_err(store_err)?.is_none() {
                    break c;
                }
            };
            let number = super::tickets::next_number(tx, branch_id, day, TicketSource::Online, service_id, &service)?;
            let id = next_id(tx, "ticket")?;
            codes.insert((branch_id, day, code), id).map_err(store_err)?;
            drop(codes);
            let ticket = TicketV1 {
                branch_id,
                service_id,
                source: TicketSource::Online,
                number,
                day,
                priority: TicketPriority::Normal,
                status: TicketStatus::Booked,
                name: Some(name.clone()),
                phone: Some(phone.clone()),
                token: token.clone(),
                created_at: now,
                arrived_at: start,
                called_at: None,
                started_at: None,
                finished_at: None,
                operator_id: None,
                window: None,
                recalls: 0,
                quoted_wait: (0, 0),
                booking: Some(Booking { start, end, code }),
                transferred_from: None,
            };
            insert_ticket(tx, id, &ticket)?;
            ticket_event(tx, id, now, "booked", &ticket, None)?;
            Ok(Issued { id, ticket, people_ahead: 0 })
        })
        .await?;
    record_customer(state, &tenant.slug, issued.id, &issued.ticket).await;
    Ok(issued)
}

/// Checks a booked customer in at the branch with their code: the ticket
/// joins today's queue, first in line while its slot has come.
pub async fn check_in(state: &AppState, tenant: &Tenant, branch_id: u64, code: &str) -> Result<Issued, AppError> {
    let code: u32 = code
        .trim()
        .parse()
        .ok()
        .filter(|c| (100_000..1_000_000).contains(c))
        .ok_or_else(|| AppError::invalid("code", "validation.booking_code"))?;
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    crate::org::service::get_branch(tenant.db()?, branch_id)?;
    let now = state.now_ms();
    let (day, _, _) = local_day(now, &tenant.timezone());
    let issued = tenant
        .db()?
        .write(move |tx| {
            let not_found = || AppError::new(ErrorKind::NotFound).with_message("error.booking_not_found");
            let id = tx.open_table(BOOKINGS_BY_CODE).map_err(store_err)?.get((branch_id, day, code)).map_err(store_err)?.map(|v| v.value());
            let id = id.ok_or_else(not_found)?;
            let mut t = TICKETS.open(tx)?.get(id)?.ok_or_else(not_found)?;
            if t.status != TicketStatus::Booked {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.already_checked_in"));
            }
            t.status = TicketStatus::Waiting;
            t.arrived_at = now;
            put_ticket(tx, id, &t)?;
            ticket_event(tx, id, now, "checked_in", &t, None)?;
            Ok((id, t))
        })
        .await?;
    let (id, t) = issued;
    announce(state, tenant, id, &t, "ticket.issued");
    crate::tenancy::due::ticket_taken(tenant, &t);
    let (ahead, _) = super::tickets::position(tenant.db()?, id, &t, now)?;
    Ok(Issued { id, ticket: t, people_ahead: ahead })
}

/// Whether a booked ticket's time has come: checked in, and now within
/// the slot's window (a little early, or late by at most the grace).
pub fn booking_due(t: &TicketV1, now: i64) -> bool {
    t.status == TicketStatus::Waiting && t.booking.as_ref().is_some_and(|b| now >= b.start - EARLY_MS && now <= b.start + GRACE_MS)
}
