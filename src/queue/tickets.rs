//! Tickets: taking one (kiosk, online, walk-in), its number, its place in
//! the queue and the quoted wait.

use super::service::get_service;
use crate::app::AppState;
use crate::audit::Actor;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{
    self, BranchRecord, OPERATORS, OperatorRecord, SEQ, ServiceRecord, TICKETS, TICKETS_BY_BRANCH_DAY, TICKETS_BY_TOKEN, TicketPriority,
    TicketRecord, TicketSource, TicketStatus, TicketV1,
};
use crate::store::{Db, all_records, dec, enc, get_record, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};

pub fn source_letter(s: TicketSource) -> char {
    match s {
        TicketSource::Kiosk => 'K',
        TicketSource::Online => 'O',
        TicketSource::Bot => 'B',
        TicketSource::WalkIn => 'W',
    }
}

pub fn parse_source(s: &str) -> Option<TicketSource> {
    match s {
        "kiosk" => Some(TicketSource::Kiosk),
        "online" => Some(TicketSource::Online),
        "bot" => Some(TicketSource::Bot),
        "walk_in" => Some(TicketSource::WalkIn),
        _ => None,
    }
}

pub fn parse_priority(s: &str) -> Option<TicketPriority> {
    match s {
        "normal" => Some(TicketPriority::Normal),
        "vip" => Some(TicketPriority::Vip),
        "disabled" => Some(TicketPriority::Disabled),
        "elderly" => Some(TicketPriority::Elderly),
        _ => None,
    }
}

pub fn status_code(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Waiting => "waiting",
        TicketStatus::Called => "called",
        TicketStatus::Serving => "serving",
        TicketStatus::Done => "done",
        TicketStatus::NoShow => "no_show",
        TicketStatus::Cancelled => "cancelled",
        TicketStatus::Transferred => "transferred",
        TicketStatus::Expired => "expired",
    }
}

pub fn priority_code(p: TicketPriority) -> &'static str {
    match p {
        TicketPriority::Normal => "normal",
        TicketPriority::Vip => "vip",
        TicketPriority::Disabled => "disabled",
        TicketPriority::Elderly => "elderly",
    }
}

/// The company's local day (`yyyymmdd`), weekday (Monday = 0) and minute of the day.
pub fn local_day(now_ms: i64, tz: &jiff::tz::TimeZone) -> (u32, usize, u16) {
    let z = crate::clock::from_ms(now_ms).to_zoned(tz.clone());
    let d = z.date();
    let day = (d.year() as u32) * 10_000 + (d.month() as u32) * 100 + d.day() as u32;
    let wd = d.weekday().to_monday_zero_offset() as usize;
    (day, wd, (z.hour() as u16) * 60 + z.minute() as u16)
}

/// Whether a branch takes tickets at this local weekday and minute.
pub fn is_open(hours: &Option<[schema::DayHours; 7]>, weekday: usize, minute: u16) -> bool {
    match hours {
        None => true,
        Some(days) => days.get(weekday).copied().flatten().is_some_and(|(open, close)| open <= minute && minute < close),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub service_id: u64,
    pub source: String,
    pub priority: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// A ticket just taken, with its place and the quoted wait.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: u64,
    pub ticket: TicketV1,
    pub people_ahead: u32,
}

/// Waiting tickets of the same service at the branch that day, ahead of `before`.
fn waiting_ahead(tx: &WriteTransaction, branch: u64, day: u32, service: u64, before: u64) -> Result<u32, AppError> {
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = tx.open_table(TICKETS).map_err(store_err)?;
    let mut n = 0;
    for row in idx.range((branch, day, 0)..(branch, day, before)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = get_record::<TicketRecord>(&tickets, id)?
            && t.service_id == service
            && t.status == TicketStatus::Waiting
        {
            n += 1;
        }
    }
    Ok(n)
}

/// How many operators at the branch serve the service (at least one, so
/// that a wait can be quoted before anyone has been placed).
fn operators_serving(tx: &WriteTransaction, branch: u64, service: u64) -> Result<u32, AppError> {
    let ops = all_records::<OperatorRecord>(&tx.open_table(OPERATORS).map_err(store_err)?)?;
    Ok(ops.iter().filter(|(_, o)| o.branch_id == branch && o.service_ids.contains(&service)).count().max(1) as u32)
}

/// Takes a ticket. Kiosk and online tickets are public (the company must be
/// open for business); walk-in tickets are entered by staff, who alone may
/// give VIP priority.
pub async fn issue(state: &AppState, tenant: &Tenant, staff: Option<&Actor>, branch_id: u64, input: NewTicket) -> Result<Issued, AppError> {
    let source = parse_source(&input.source).ok_or_else(|| AppError::invalid("source", "validation.ticket_source"))?;
    let is_staff = staff.is_some_and(|a| a.can("queue.operate") || a.can("queue.manage"));
    match source {
        TicketSource::Bot => return Err(AppError::invalid("source", "validation.ticket_source")),
        TicketSource::WalkIn if !is_staff => return Err(AppError::new(ErrorKind::Forbidden)),
        _ => {}
    }
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    let priority = match input.priority.as_deref().filter(|p| !p.is_empty()) {
        None => TicketPriority::Normal,
        Some(p) => parse_priority(p).ok_or_else(|| AppError::invalid("priority", "validation.ticket_priority"))?,
    };
    if priority == TicketPriority::Vip && !is_staff {
        return Err(AppError::invalid("priority", "validation.ticket_priority"));
    }
    let name = match input.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 80 || n.chars().any(char::is_control) => {
            return Err(AppError::invalid("name", "validation.text_too_long").with_arg("max", 80));
        }
        other => other.map(str::to_string),
    };
    let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(crate::phone::Phone::parse(p)?.into_string()),
        None => None,
    };
    let now = state.now_ms();
    let (day, weekday, minute) = local_day(now, &tenant.timezone());
    let service_id = input.service_id;
    let token = hex::encode(crate::store::random_bytes::<16>());
    let issued = tenant
        .db()?
        .write(move |tx| {
            let branch = get_record::<BranchRecord>(&tx.open_table(schema::BRANCHES).map_err(store_err)?, branch_id)?
                .filter(|b| b.active)
                .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
            if !is_open(&branch.hours, weekday, minute) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.branch_closed"));
            }
            let service = get_record::<ServiceRecord>(&tx.open_table(schema::SERVICES).map_err(store_err)?, service_id)?;
            let service = match service {
                Some(s) if s.active && s.branch_ids.contains(&branch_id) => s,
                _ => return Err(AppError::invalid("service_id", "validation.service_at_branch")),
            };
            let letter = source_letter(source);
            let seq = next_id(tx, &format!("ticket:{branch_id}:{day}:{letter}"))?;
            let id = next_id(tx, "ticket")?;
            let ahead = waiting_ahead(tx, branch_id, day, service_id, id)?;
            let ops = operators_serving(tx, branch_id, service_id)?;
            let minutes = u32::from(service.minutes);
            let expected = ahead * minutes / ops;
            let quoted = (expected * 4 / 5, (expected * 5).div_ceil(4) + minutes.min(5));
            let ticket = TicketV1 {
                branch_id,
                service_id,
                source,
                number: format!("{letter}-{seq:03}"),
                day,
                priority,
                status: TicketStatus::Waiting,
                name: name.clone(),
                phone: phone.clone(),
                token: token.clone(),
                created_at: now,
                arrived_at: now,
                called_at: None,
                started_at: None,
                finished_at: None,
                operator_id: None,
                window: None,
                recalls: 0,
                quoted_wait: quoted,
            };
            tx.open_table(TICKETS).map_err(store_err)?.insert(id, enc::<TicketRecord>(ticket.clone())?.as_slice()).map_err(store_err)?;
            tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?.insert((branch_id, day, id), ()).map_err(store_err)?;
            tx.open_table(TICKETS_BY_TOKEN).map_err(store_err)?.insert(token.as_str(), id).map_err(store_err)?;
            Ok(Issued { id, ticket, people_ahead: ahead })
        })
        .await?;
    state.hub.publish(
        &tenant.slug,
        &format!("queue:branch:{branch_id}"),
        "ticket.issued",
        serde_json::json!({"id": issued.id, "number": issued.ticket.number, "service_id": service_id}),
        state.now(),
    );
    Ok(issued)
}

/// A branch's waiting and called tickets today, in arrival order.
pub fn queue_of(db: &Db, branch_id: u64, day: u32) -> Result<Vec<(u64, TicketV1)>, AppError> {
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = tx.open_table(TICKETS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = get_record::<TicketRecord>(&tickets, id)?
            && matches!(t.status, TicketStatus::Waiting | TicketStatus::Called)
        {
            out.push((id, t));
        }
    }
    out.sort_by_key(|(id, t)| (t.arrived_at, *id));
    Ok(out)
}

/// How many tickets a branch has issued in a day (every source, every state).
pub fn count_of_day(db: &Db, branch_id: u64, day: u32) -> Result<usize, AppError> {
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    Ok(idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)?.count())
}

/// The current value of a day's counter, for tests and stats.
pub fn counter(db: &Db, branch_id: u64, day: u32, letter: char) -> Result<u64, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(SEQ).map_err(store_err)?;
    Ok(t.get(format!("ticket:{branch_id}:{day}:{letter}").as_str()).map_err(store_err)?.map(|v| v.value()).unwrap_or(0))
}

/// A ticket by its tracking token.
pub fn by_token(db: &Db, token: &str) -> Result<Option<(u64, TicketV1)>, AppError> {
    let tx = db.read()?;
    let Some(id) = tx.open_table(TICKETS_BY_TOKEN).map_err(store_err)?.get(token).map_err(store_err)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let t = tx.open_table(TICKETS).map_err(store_err)?;
    Ok(t.get(id).map_err(store_err)?.map(|v| dec::<TicketRecord>(v.value())).transpose()?.map(|tk| (id, tk)))
}

/// The service's name for a ticket, in the company language.
pub fn service_of(db: &Db, id: u64) -> Result<schema::ServiceV1, AppError> {
    get_service(db, id)
}
