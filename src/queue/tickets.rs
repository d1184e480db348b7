//! Tickets: taking one (kiosk, online, walk-in), its number, its place in
//! the queue and the quoted wait.

use super::service::get_service;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::hub::Topic;
use crate::org::hours::WeekHours;
use crate::store::schema::{
    self, BOOKED_SLOTS, BOOKINGS_BY_CODE, CUSTOMER_TICKETS, CustomerTicketV1, OPERATOR_STATE, OPERATORS, OperatorRecord,
    OperatorStateRecord, SEQ, SERVICE_TIMES, ServiceTimesRecord, TICKET_EVENTS, TICKETS, TICKETS_BY_BRANCH_DAY, TICKETS_BY_TOKEN,
    TICKETS_OPEN, TICKETS_WAITING, TicketEventV1, TicketPriority, TicketRecord, TicketSource, TicketStatus, TicketV1,
};
use crate::store::{Db, RecordTable, next_id, store_err};
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

/// The catalogue key of a ticket's source in words ("Kiosk", "Online"): the
/// small mark a ticket carries when its number names the service instead.
pub fn source_key(s: TicketSource) -> &'static str {
    match s {
        TicketSource::Kiosk => "kiosk.source.kiosk",
        TicketSource::Online => "kiosk.source.online",
        TicketSource::Bot => "kiosk.source.bot",
        TicketSource::WalkIn => "kiosk.source.walk_in",
    }
}

/// Whether the company numbers tickets by service, so that a ticket's
/// number no longer tells where it was taken (and the ticket says it).
pub fn numbered_by_service(db: &Db) -> Result<bool, AppError> {
    Ok(crate::queue::service::settings(db)?.numbering == schema::TicketNumbering::ByService)
}

/// The next number of a ticket at a branch on a day. By source (the
/// default), `K-001`/`O-001`; by service, the service's prefix, `A-014`.
/// Each prefix counts on its own per branch and day; a prefix that equals
/// a source letter shares that counter, so a company switching mid-day
/// never hands out the same number twice.
pub(crate) fn next_number(
    tx: &WriteTransaction,
    branch_id: u64,
    day: u32,
    source: TicketSource,
    service_id: u64,
    service: &schema::ServiceV2,
) -> Result<String, AppError> {
    let numbering = super::service::settings_in(&tx.open_table(schema::SETTINGS).map_err(store_err)?)?.numbering;
    let prefix = match numbering {
        schema::TicketNumbering::BySource => source_letter(source).to_string(),
        schema::TicketNumbering::ByService => super::service::ticket_prefix(service_id, service),
    };
    let seq = next_id(tx, &format!("ticket:{branch_id}:{day}:{prefix}"))?;
    Ok(format!("{prefix}-{seq:03}"))
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
        TicketStatus::Booked => "booked",
    }
}

/// Whether nothing more can happen to a ticket.
pub fn is_final(s: TicketStatus) -> bool {
    matches!(s, TicketStatus::Done | TicketStatus::NoShow | TicketStatus::Cancelled | TicketStatus::Transferred | TicketStatus::Expired)
}

/// Writes a ticket and keeps the indexes of open and of waiting tickets in
/// step with its status. (A ticket never changes branch, day or service:
/// a transfer makes a new ticket.)
pub(crate) fn put_ticket(tx: &WriteTransaction, id: u64, t: &TicketV1) -> Result<(), AppError> {
    TICKETS.open(tx)?.insert(id, t)?;
    let mut open = tx.open_table(TICKETS_OPEN).map_err(store_err)?;
    if is_final(t.status) {
        open.remove((t.branch_id, t.day, id)).map_err(store_err)?;
    } else {
        open.insert((t.branch_id, t.day, id), ()).map_err(store_err)?;
    }
    let mut waiting = tx.open_table(TICKETS_WAITING).map_err(store_err)?;
    if t.status == TicketStatus::Waiting {
        waiting.insert((t.branch_id, t.day, t.service_id, id), ()).map_err(store_err)?;
    } else {
        waiting.remove((t.branch_id, t.day, t.service_id, id)).map_err(store_err)?;
    }
    Ok(())
}

/// Writes a new ticket with every index it belongs to: by branch and day,
/// by its tracking token, and (through [`put_ticket`]) open and waiting.
/// Taking, booking and transferring all insert through here.
pub(crate) fn insert_ticket(tx: &WriteTransaction, id: u64, t: &TicketV1) -> Result<(), AppError> {
    put_ticket(tx, id, t)?;
    tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?.insert((t.branch_id, t.day, id), ()).map_err(store_err)?;
    tx.open_table(TICKETS_BY_TOKEN).map_err(store_err)?.insert(t.token.as_str(), id).map_err(store_err)?;
    Ok(())
}

/// The waiting tickets of a branch's day (of one service, or all), in id order.
pub fn waiting_of(
    waiting: &impl ReadableTable<(u64, u32, u64, u64), ()>,
    tickets: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, TicketRecord>,
    branch: u64,
    day: u32,
    service: Option<u64>,
) -> Result<Vec<(u64, TicketV1)>, AppError> {
    let (lo, hi) = match service {
        Some(s) => ((branch, day, s, 0), (branch, day, s, u64::MAX)),
        None => ((branch, day, 0, 0), (branch, day, u64::MAX, u64::MAX)),
    };
    let mut out = Vec::new();
    for row in waiting.range(lo..=hi).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().3;
        if let Some(t) = tickets.get(id)? {
            out.push((id, t));
        }
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

/// Adds a step to a ticket's history.
pub(crate) fn ticket_event(
    tx: &WriteTransaction,
    ticket: u64,
    now: i64,
    kind: &str,
    t: &TicketV1,
    reason: Option<String>,
) -> Result<(), AppError> {
    let id = next_id(tx, "ticket_event")?;
    let ev = TicketEventV1 { at: now, kind: kind.into(), operator_id: t.operator_id, window: t.window, reason };
    TICKET_EVENTS.open(tx)?.insert((ticket, id), &ev)?;
    // Chats following this ticket, or tickets behind it, through the bot.
    super::telegram::on_event(tx, now, ticket, kind, t)
}

/// Seconds one visit of a service takes: the mean of the latest real
/// service times once there are at least three, the configured minutes before.
pub fn service_secs(
    times: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, ServiceTimesRecord>,
    service_id: u64,
    minutes: u16,
) -> Result<u32, AppError> {
    let learned = times.get(service_id)?.map(|t| t.recent_secs).unwrap_or_default();
    if learned.len() >= 3 {
        Ok((learned.iter().map(|s| u64::from(*s)).sum::<u64>() / learned.len() as u64).max(30) as u32)
    } else {
        Ok(u32::from(minutes.max(1)) * 60)
    }
}

/// Records how long a visit took, keeping the latest 20.
pub(crate) fn learn_service_time(tx: &WriteTransaction, service_id: u64, secs: u32) -> Result<(), AppError> {
    let mut table = SERVICE_TIMES.open(tx)?;
    let mut times = table.get(service_id)?.unwrap_or(schema::ServiceTimesV1 { recent_secs: vec![] });
    times.recent_secs.push(secs);
    if times.recent_secs.len() > 20 {
        let extra = times.recent_secs.len() - 20;
        times.recent_secs.drain(..extra);
    }
    table.insert(service_id, &times)?;
    Ok(())
}

/// The quoted wait in minutes (low, high) for `ahead` people, a visit of
/// `secs` seconds and `operators` serving.
pub fn quote(ahead: u32, secs: u32, operators: u32) -> (u32, u32) {
    let expected = u64::from(ahead) * u64::from(secs) / u64::from(operators.max(1));
    let minutes = |s: u64| s.div_ceil(60) as u32;
    let low = minutes(expected * 4 / 5);
    let high = minutes(expected * 5 / 4) + minutes(u64::from(secs)).min(5);
    (low.min(high), high)
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
    WeekHours::of(hours).is_open(weekday, minute)
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

/// Waiting tickets of the same service at the branch that day, ahead of
/// `before` (a new ticket's id: everyone waiting is ahead of it).
fn waiting_ahead(tx: &WriteTransaction, branch: u64, day: u32, service: u64, before: u64) -> Result<u32, AppError> {
    let idx = tx.open_table(TICKETS_WAITING).map_err(store_err)?;
    Ok(idx.range((branch, day, service, 0)..(branch, day, service, before)).map_err(store_err)?.count() as u32)
}

/// How many operators at the branch serve the service and are not on a
/// break (at least one, so that a wait can be quoted before anyone is placed).
pub fn operators_serving(
    ops: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, OperatorRecord>,
    states: &RecordTable<impl ReadableTable<u64, &'static [u8]>, u64, OperatorStateRecord>,
    branch: u64,
    service: u64,
) -> Result<u32, AppError> {
    let mut n = 0;
    for row in ops.iter()? {
        let (id, o) = row?;
        if o.branch_id == branch && o.service_ids.contains(&service) && !states.get(id.value())?.is_some_and(|s| s.on_break) {
            n += 1;
        }
    }
    Ok(n.max(1))
}

/// Takes a ticket. Kiosk and online tickets are public (the company must be
/// open for business); walk-in tickets are entered by staff, who alone may
/// give VIP priority.
/// A ticket with source `bot` is taken only through the company's Telegram
/// bot ([`super::telegram::take`]), never named by an API client.
pub async fn issue(state: &AppState, tenant: &Tenant, who: &Caller, branch_id: u64, input: NewTicket) -> Result<Issued, AppError> {
    let source = parse_source(&input.source).ok_or_else(|| AppError::invalid("source", "validation.ticket_source"))?;
    if source == TicketSource::Bot {
        return Err(AppError::invalid("source", "validation.ticket_source"));
    }
    issue_from(state, tenant, who, branch_id, source, input, None).await
}

/// Takes a ticket from `source`; `chat` is the Telegram chat (and its
/// language) of a ticket taken through the bot, followed from then on.
pub(crate) async fn issue_from(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    branch_id: u64,
    source: TicketSource,
    input: NewTicket,
    chat: Option<(i64, crate::i18n::Lang)>,
) -> Result<Issued, AppError> {
    let is_staff = who.can("queue.operate") || who.can("queue.manage");
    if source == TicketSource::WalkIn && !is_staff {
        return Err(AppError::new(ErrorKind::Forbidden));
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
    let name = input.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name {
        AppError::check_text("name", n, 80, false)?;
    }
    let name = name.map(str::to_string);
    let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(crate::phone::Phone::parse(p)?.into_string()),
        None => None,
    };
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (day, weekday, minute) = local_day(now, &tz);
    let service_id = input.service_id;
    let token = hex::encode(crate::store::random_bytes::<16>());
    let (issued, expires_at) = tenant
        .db()?
        .write(move |tx| {
            let branch = schema::BRANCHES
                .open(tx)?
                .get(branch_id)?
                .filter(|b| b.active)
                .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
            if !is_open(&branch.hours, weekday, minute) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.branch_closed"));
            }
            let service = schema::SERVICES.open(tx)?.get(service_id)?;
            let service = match service {
                Some(s) if s.active && s.branch_ids.contains(&branch_id) => s,
                _ => return Err(AppError::invalid("service_id", "validation.service_at_branch")),
            };
            let number = next_number(tx, branch_id, day, source, service_id, &service)?;
            let id = next_id(tx, "ticket")?;
            // A normal ticket taken now is called after everyone already
            // waiting (they have waited longer, or have priority): a count
            // of the index is enough. A priority ticket may go ahead of some.
            let ahead = if priority == TicketPriority::Normal {
                waiting_ahead(tx, branch_id, day, service_id, id)?
            } else {
                let waiting =
                    waiting_of(&tx.open_table(TICKETS_WAITING).map_err(store_err)?, &TICKETS.open(tx)?, branch_id, day, Some(service_id))?;
                // The new ticket's place in `window::call_order`: waited 0 minutes.
                let mine = (1, -super::window::priority_bonus(priority), now, id);
                waiting.iter().filter(|(other, o)| super::window::call_order(*other, o, now) < mine).count() as u32
            };
            let ops = operators_serving(&OPERATORS.open(tx)?, &OPERATOR_STATE.open(tx)?, branch_id, service_id)?;
            let secs = service_secs(&SERVICE_TIMES.open(tx)?, service_id, service.minutes)?;
            let quoted = quote(ahead, secs, ops);
            let ticket = TicketV1 {
                branch_id,
                service_id,
                source,
                number,
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
                booking: None,
                transferred_from: None,
            };
            insert_ticket(tx, id, &ticket)?;
            if let Some((chat_id, lang)) = chat {
                super::telegram::track(tx, now, id, &ticket, chat_id, lang, ahead)?;
            }
            if priority != TicketPriority::Normal {
                // It may go ahead of tickets the bot follows.
                super::telegram::on_event(tx, now, id, "issued", &ticket)?;
            }
            // When it expires unserved, from the branch already at hand.
            let expires_at = crate::tenancy::due::ticket_expiry(&tz, &branch.hours, day);
            Ok((Issued { id, ticket, people_ahead: ahead }, expires_at))
        })
        .await?;
    state.hub.publish(
        &tenant.slug,
        &Topic::QueueBranch(branch_id),
        "ticket.issued",
        serde_json::json!({"id": issued.id, "number": issued.ticket.number, "service_id": service_id}),
        state.now(),
    );
    super::telegram::wake(state, tenant, issued.id, &issued.ticket);
    // The company is due when the ticket's branch closes.
    tenant.due_at(expires_at);
    record_customer(state, &tenant.slug, issued.id, &issued.ticket).await;
    Ok(issued)
}

/// Whole tickets (names, phones, notes) are for the staff: those who operate
/// a window or set the queue up.
fn staff_only(who: &Caller) -> Result<(), AppError> {
    if who.can("queue.operate") || who.can("queue.manage") { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
}

/// What a branch's screens show (numbers, windows, counts) follows the
/// rule of its live topic (`hub::may_read`): the public and customers read
/// it, and staff who may read the queue.
/// Whether `who` may watch a branch's display board (its page and its live
/// calls): the public may, but only while the company is open for business
/// and the branch exists.
pub fn board_open(tenant: &Tenant, who: &Caller, branch_id: u64) -> Result<(), AppError> {
    if !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    public_board(who, branch_id)?;
    crate::org::service::get_branch(tenant.db()?, branch_id)?;
    Ok(())
}

fn public_board(who: &Caller, branch_id: u64) -> Result<(), AppError> {
    if crate::hub::may_read(who, &Topic::QueueBranch(branch_id)) { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
}

/// A branch's waiting and called tickets on a day, in arrival order: the
/// staff's board, for those who operate a window or set the queue up.
pub fn queue_of(db: &Db, who: &Caller, branch_id: u64, day: u32) -> Result<Vec<(u64, TicketV1)>, AppError> {
    staff_only(who)?;
    crate::org::service::get_branch(db, branch_id)?;
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let tickets = TICKETS.open(&tx)?;
    let mut out = Vec::new();
    for row in idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = tickets.get(id)?
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

/// The current value of a day's counter (a source letter or a service's
/// prefix), for tests and stats.
pub fn counter(db: &Db, branch_id: u64, day: u32, prefix: impl std::fmt::Display) -> Result<u64, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(SEQ).map_err(store_err)?;
    Ok(t.get(format!("ticket:{branch_id}:{day}:{prefix}").as_str()).map_err(store_err)?.map(|v| v.value()).unwrap_or(0))
}

/// A branch's waiting tickets of a day, in arrival order.
pub fn waiting_at(db: &Db, who: &Caller, branch_id: u64, day: u32) -> Result<Vec<(u64, TicketV1)>, AppError> {
    staff_only(who)?;
    let tx = db.read()?;
    let mut w = waiting_of(&tx.open_table(TICKETS_WAITING).map_err(store_err)?, &TICKETS.open(&tx)?, branch_id, day, None)?;
    w.sort_by_key(|(id, t)| (t.arrived_at, *id));
    Ok(w)
}

/// How many wait for each service at a branch on a day (from the
/// waiting index: no ticket is read). The hall's screens show it, so
/// whoever may read the branch's queue topic may read it, the public too.
pub fn waiting_counts(db: &Db, who: &Caller, branch_id: u64, day: u32) -> Result<std::collections::HashMap<u64, usize>, AppError> {
    public_board(who, branch_id)?;
    let tx = db.read()?;
    let idx = tx.open_table(TICKETS_WAITING).map_err(store_err)?;
    let mut out = std::collections::HashMap::new();
    for row in idx.range((branch_id, day, 0, 0)..=(branch_id, day, u64::MAX, u64::MAX)).map_err(store_err)? {
        *out.entry(row.map_err(store_err)?.0.value().2).or_insert(0) += 1;
    }
    Ok(out)
}

/// A ticket by its tracking token.
pub fn by_token(db: &Db, token: &str) -> Result<Option<(u64, TicketV1)>, AppError> {
    let tx = db.read()?;
    let Some(id) = tx.open_table(TICKETS_BY_TOKEN).map_err(store_err)?.get(token).map_err(store_err)?.map(|v| v.value()) else {
        return Ok(None);
    };
    Ok(TICKETS.open(&tx)?.get(id)?.map(|tk| (id, tk)))
}

/// The service's name for a ticket, in the company language.
pub fn service_of(db: &Db, id: u64) -> Result<schema::ServiceV2, AppError> {
    get_service(db, id)
}

/// Notes a ticket against the customer's phone in the platform's
/// cross-company index ("my queues"). The ticket itself is already stored;
/// a failure here is logged and does not undo it.
pub async fn record_customer(state: &AppState, slug: &str, ticket_id: u64, t: &TicketV1) {
    let Some(phone) = t.phone.clone() else { return };
    let entry = CustomerTicketV1 {
        slug: slug.to_string(),
        ticket_id,
        token: t.token.clone(),
        number: t.number.clone(),
        booked_for: t.booking.as_ref().map(|b| b.start),
    };
    let at = t.created_at;
    let r = state
        .platform
        .write(move |tx| {
            let id = next_id(tx, "customer_ticket")?;
            CUSTOMER_TICKETS.open(tx)?.insert((phone.as_str(), at, id), &entry)?;
            Ok(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(company = %slug, ticket = ticket_id, error = %e, "could not index the ticket by phone");
    }
}

/// A customer's tickets and bookings in every company, newest first.
pub fn customer_history(platform: &Db, phone: &str, limit: usize) -> Result<Vec<CustomerTicketV1>, AppError> {
    let phone = crate::phone::Phone::parse(phone)?.into_string();
    let tx = platform.read()?;
    let t = CUSTOMER_TICKETS.open(&tx)?;
    let mut out = Vec::new();
    for row in t.range((phone.as_str(), i64::MIN, 0)..=(phone.as_str(), i64::MAX, u64::MAX))?.rev() {
        out.push(row?.1);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Where a waiting ticket stands now: people ahead and the wait (low, high).
pub fn position(db: &Db, id: u64, t: &TicketV1, now: i64) -> Result<(u32, (u32, u32)), AppError> {
    if t.status != TicketStatus::Waiting {
        return Ok((0, (0, 0)));
    }
    let tx = db.read()?;
    let tickets = TICKETS.open(&tx)?;
    let waiting = waiting_of(&tx.open_table(TICKETS_WAITING).map_err(store_err)?, &tickets, t.branch_id, t.day, Some(t.service_id))?;
    // Ahead: whoever the operators would call before this ticket now.
    let mine = super::window::call_order(id, t, now);
    let ahead = waiting.iter().filter(|(other, o)| *other != id && super::window::call_order(*other, o, now) < mine).count() as u32;
    let minutes = schema::SERVICES.open(&tx)?.get(t.service_id)?.map(|s| s.minutes).unwrap_or(10);
    let secs = service_secs(&SERVICE_TIMES.open(&tx)?, t.service_id, minutes)?;
    let ops = operators_serving(&OPERATORS.open(&tx)?, &OPERATOR_STATE.open(&tx)?, t.branch_id, t.service_id)?;
    Ok((ahead, quote(ahead, secs, ops)))
}

/// Cancels a ticket before it is served: the customer holding its tracking
/// token (`Caller::Customer`, `ticket_id` unused) while it is booked or
/// waiting; staff (`queue.operate` or `queue.manage`) by id, also once called.
pub async fn cancel(state: &AppState, tenant: &Tenant, who: &Caller, ticket_id: Option<u64>) -> Result<(u64, TicketV1), AppError> {
    let now = state.now_ms();
    let (token, staff) = match who {
        Caller::Customer(t) => (Some(t.clone()), false),
        _ if who.can("queue.operate") || who.can("queue.manage") => (None, true),
        _ => return Err(ErrorKind::Forbidden.into()),
    };
    // An operator (without queue.manage) cancels only at their own branch,
    // and a called ticket only at their own window.
    let operator_only = (staff && !who.can("queue.manage")).then(|| who.id());
    let (id, t) = tenant
        .db()?
        .write(move |tx| {
            let id = match (&token, ticket_id) {
                (Some(tok), _) => {
                    tx.open_table(TICKETS_BY_TOKEN).map_err(store_err)?.get(tok.as_str()).map_err(store_err)?.map(|v| v.value())
                }
                (None, id) => id,
            };
            let not_found = || AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found");
            let id = id.ok_or_else(not_found)?;
            let mut t = TICKETS.open(tx)?.get(id)?.ok_or_else(not_found)?;
            if let Some(me) = operator_only {
                let at = OPERATORS.open(tx)?.get(me)?.map(|o| o.branch_id);
                if at != Some(t.branch_id) || (t.status == TicketStatus::Called && t.operator_id != Some(me)) {
                    return Err(AppError::new(ErrorKind::Forbidden).with_message("error.not_your_ticket"));
                }
            }
            let allowed = match t.status {
                TicketStatus::Waiting | TicketStatus::Booked => true,
                TicketStatus::Called => staff,
                _ => false,
            };
            if !allowed {
                return Err(AppError::new(ErrorKind::Conflict)
                    .with_message("error.ticket_state")
                    .with_arg("status", status_code(t.status)));
            }
            release_booking(tx, &t)?;
            t.status = TicketStatus::Cancelled;
            t.finished_at = Some(now);
            put_ticket(tx, id, &t)?;
            ticket_event(tx, id, now, "cancelled", &t, Some(if staff { "staff" } else { "customer" }.into()))?;
            Ok((id, t))
        })
        .await?;
    announce(state, tenant, id, &t, "ticket.changed");
    Ok((id, t))
}

/// Frees the slot of a booking that was never checked in.
pub(crate) fn release_booking(tx: &WriteTransaction, t: &TicketV1) -> Result<(), AppError> {
    if t.status != TicketStatus::Booked {
        return Ok(());
    }
    if let Some(b) = &t.booking {
        let mut slots = tx.open_table(BOOKED_SLOTS).map_err(store_err)?;
        let key = (t.branch_id, t.service_id, b.start);
        let n = slots.get(key).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        if n <= 1 {
            slots.remove(key).map_err(store_err)?;
        } else {
            slots.insert(key, n - 1).map_err(store_err)?;
        }
        tx.open_table(BOOKINGS_BY_CODE).map_err(store_err)?.remove((t.branch_id, t.day, b.code)).map_err(store_err)?;
    }
    Ok(())
}

/// Tells the display board, the branch's operators and the ticket's tracking page.
pub(crate) fn announce(state: &AppState, tenant: &Tenant, id: u64, t: &TicketV1, kind: &str) {
    let data = serde_json::json!({
        "id": id, "number": t.number, "window": t.window, "status": status_code(t.status), "service_id": t.service_id,
    });
    state.hub.publish(&tenant.slug, &Topic::QueueBranch(t.branch_id), kind, data.clone(), state.now());
    state.hub.publish(&tenant.slug, &Topic::Ticket(t.token.clone()), kind, data, state.now());
    super::telegram::wake(state, tenant, id, t);
}

/// Unserved tickets expire at the branch's end of day: once the branch has
/// closed, today's booked and waiting tickets; a customer already called or
/// at a window is left to the operator until the next day. Every open
/// ticket of an earlier day expires too, except, at a branch open around
/// the clock, one called or served since yesterday. Returns how many expired.
pub async fn expire_due(state: &AppState, tenant: &Tenant) -> Result<usize, AppError> {
    let now = state.now_ms();
    let tz = tenant.timezone();
    let (today, weekday, minute) = local_day(now, &tz);
    let (yesterday, _, _) = local_day(now - 24 * 3_600_000, &tz);
    let expired = tenant
        .db()?
        .write(move |tx| {
            let branches = schema::BRANCHES.open(tx)?.all()?;
            let closed_now: Vec<u64> =
                branches.iter().filter(|(_, b)| WeekHours::of(&b.hours).closed_for_the_day(weekday, minute)).map(|(id, _)| *id).collect();
            let round_clock: Vec<u64> = branches.iter().filter(|(_, b)| b.hours.is_none()).map(|(id, _)| *id).collect();
            let mut due = Vec::new();
            for row in tx.open_table(TICKETS_OPEN).map_err(store_err)?.iter().map_err(store_err)? {
                let (branch, day, id) = row.map_err(store_err)?.0.value();
                if day < today || (day == today && closed_now.contains(&branch)) {
                    due.push((id, branch, day));
                }
            }
            let mut out = Vec::new();
            for (id, branch, day) in due {
                let Some(mut t) = TICKETS.open(tx)?.get(id)? else { continue };
                let at_window = matches!(t.status, TicketStatus::Called | TicketStatus::Serving);
                if at_window && (day == today || (day == yesterday && round_clock.contains(&branch))) {
                    continue;
                }
                release_booking(tx, &t)?;
                t.status = TicketStatus::Expired;
                t.finished_at = Some(now);
                put_ticket(tx, id, &t)?;
                ticket_event(tx, id, now, "expired", &t, None)?;
                out.push((id, t));
            }
            Ok(out)
        })
        .await?;
    for (id, t) in &expired {
        announce(state, tenant, *id, t, "ticket.changed");
    }
    Ok(expired.len())
}

/// The public token of a tracking page, `/t/{slug}-{token}`: it names the
/// company, so the page needs no cross-company lookup, and the random part
/// keeps it unguessable.
pub fn public_token(slug: &str, token: &str) -> String {
    format!("{slug}-{token}")
}

/// Splits a public token into the company slug and the ticket's token.
pub fn split_public_token(public: &str) -> Option<(&str, &str)> {
    let (slug, token) = public.rsplit_once('-')?;
    (token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()) && !slug.is_empty()).then_some((slug, token))
}

/// The QR code of a tracking page, as SVG.
pub fn qr_svg(url: &str) -> Result<String, AppError> {
    let code =
        qrcode::QrCode::new(url.as_bytes()).map_err(|_| AppError::invalid("url", "validation.text_too_long").with_arg("max", 500))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(180, 180).quiet_zone(true).build())
}

/// The company and the ticket behind a public token.
pub fn resolve_public(state: &AppState, public: &str) -> Result<(Tenant, u64, TicketV1), AppError> {
    let not_found = || AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found");
    let (slug, token) = split_public_token(public).ok_or_else(not_found)?;
    let tenant = state.tenants.resolve(slug).map_err(|_| not_found())?;
    if tenant.is_archived() {
        return Err(ErrorKind::CompanyArchived.into());
    }
    let (id, t) = by_token(tenant.db()?, token)?.ok_or_else(not_found)?;
    Ok((tenant, id, t))
}

/// How many calls the display board shows.
pub const BOARD_ROWS: usize = 7;

/// The day's latest calls, newest first: tickets called to a window and
/// still called, being served or served. A no-show, a cancelled or a
/// transferred ticket leaves the board (a transfer is called again).
/// The display board is public by design (numbers and windows, what the
/// hall's screen shows anyway): the public reads it like the branch's topic.
/// An inactive company shows no board at all ([`board_open`]).
pub fn board_calls(tenant: &Tenant, who: &Caller, branch_id: u64, day: u32) -> Result<Vec<(u64, TicketV1)>, AppError> {
    board_open(tenant, who, branch_id)?;
    let tx = tenant.db()?.read()?;
    let idx = tx.open_table(TICKETS_BY_BRANCH_DAY).map_err(store_err)?;
    let all = TICKETS.open(&tx)?;
    let mut out = Vec::new();
    for row in idx.range((branch_id, day, 0)..=(branch_id, day, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = all.get(id)?
            && matches!(t.status, TicketStatus::Called | TicketStatus::Serving | TicketStatus::Done)
            && t.window.is_some()
        {
            out.push((id, t));
        }
    }
    out.sort_by_key(|(id, t)| std::cmp::Reverse((t.called_at.unwrap_or(0), *id)));
    out.truncate(BOARD_ROWS);
    Ok(out)
}
