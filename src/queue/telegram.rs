//! Queue tickets taken through the company's Telegram bot: taking one (the
//! chat follows it from then on), its live message, cancelling it, the
//! chat's tickets, and what the queue's changes send to the chats that
//! follow — queued in the change's own write transaction through the bot's
//! outbox: the live message is edited when the number of people ahead
//! changes, and "your turn is near" and "called to window N" arrive as new
//! messages, so the phone buzzes.
//!
//! Cheap for a branch with hundreds waiting: only tickets taken through the
//! bot are followed (`BOT_TICKETS_WAITING`), only the service queue that
//! moved is looked at, and a message goes only when what it says changes.

use super::tickets::{self, Issued, NewTicket, is_final, local_day, operators_serving, quote, service_secs, waiting_of};
use super::window::call_order;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf, tn};
use crate::org::hours::WeekHours;
use crate::store::schema::{
    self, BOT_TICKETS, BOT_TICKETS_BY_CHAT, BOT_TICKETS_WAITING, BotButtonV1, BotMessageV1, BotOutV1, BotTicketV1, CLIENTS,
    CLIENTS_BY_TELEGRAM, OPERATOR_STATE, OPERATORS, SERVICE_TIMES, TICKETS, TICKETS_WAITING, TicketSource, TicketStatus, TicketV1,
};
use crate::store::{Db, Txn, store_err};
use crate::telegram::outbox::{BotBody, bot_running, enqueue};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};
use std::collections::HashMap;

/// "Your turn is near" goes out when this many (or fewer) are ahead.
pub const NEAR: u32 = 3;

/// How many of a chat's tickets "My tickets" looks at (newest first).
const MINE_MAX: usize = 20;

fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.ticket_not_found")
}

fn lang_of(rec: &BotTicketV1) -> Lang {
    Lang::parse(&rec.lang).unwrap_or(Lang::Uz)
}

// ---------- taking a ticket ----------

/// Takes a ticket at `branch_id` for `service_id` through the bot, in chat
/// `chat_id` (which reads `lang`): the ticket's source is `bot`, and the chat
/// follows it. `phone` is the client's verified phone (their other channels'
/// tickets join up by it), `name` what Telegram calls them.
#[allow(clippy::too_many_arguments)]
pub async fn take(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    chat_id: i64,
    lang: Lang,
    branch_id: u64,
    service_id: u64,
    name: Option<String>,
    phone: Option<String>,
) -> Result<Issued, AppError> {
    // What Telegram calls them, when it reads as a name (else none: a
    // ticket is never refused for it).
    let name = name.map(|n| n.trim().chars().take(80).collect::<String>()).filter(|n| AppError::check_text("name", n, 80, false).is_ok());
    let input = NewTicket { service_id, source: "bot".into(), priority: None, name, phone };
    tickets::issue_from(state, tenant, who, branch_id, TicketSource::Bot, input, Some((chat_id, lang))).await
}

/// Starts following ticket `id` (just taken, `ahead` people before it) in
/// `chat_id`; in the ticket's transaction.
pub(crate) fn track(tx: &WriteTransaction, now: i64, id: u64, t: &TicketV1, chat_id: i64, lang: Lang, ahead: u32) -> Result<(), AppError> {
    // Someone who is this close already knows: no "near" message.
    let rec = BotTicketV1 { chat_id, message_id: None, lang: lang.code().into(), ahead, near_sent: ahead <= NEAR, created_at: now };
    BOT_TICKETS.open(tx)?.insert(id, &rec)?;
    tx.open_table(BOT_TICKETS_BY_CHAT).map_err(store_err)?.insert((chat_id, id), ()).map_err(store_err)?;
    index_waiting(tx, id, t)
}

fn index_waiting(tx: &WriteTransaction, id: u64, t: &TicketV1) -> Result<(), AppError> {
    let mut w = tx.open_table(BOT_TICKETS_WAITING).map_err(store_err)?;
    let key = (t.branch_id, t.day, t.service_id, id);
    if t.status == TicketStatus::Waiting {
        w.insert(key, ()).map_err(store_err)?;
    } else {
        w.remove(key).map_err(store_err)?;
    }
    Ok(())
}

// ---------- the queue moves ----------

/// A step in ticket `id`'s history (`kind` as `ticket_event` writes it),
/// inside its transaction: tells the chat following it, and the chats
/// following tickets of the same service queue whose place it moved.
pub(crate) fn on_event(tx: &WriteTransaction, now: i64, id: u64, kind: &str, t: &TicketV1) -> Result<(), AppError> {
    // A transfer makes a new ticket: the chat follows it in the same message.
    // (Each table handle is let go before the next opens the same table.)
    let moved = match t.transferred_from {
        Some(from) if kind == "transferred_in" => BOT_TICKETS.open(tx)?.get(from)?.map(|old| (from, old)),
        _ => None,
    };
    if let Some((from, old)) = moved {
        let new = BotTicketV1 { ahead: u32::MAX, near_sent: false, created_at: now, ..old.clone() };
        BOT_TICKETS.open(tx)?.insert(id, &new)?;
        BOT_TICKETS.open(tx)?.insert(from, &BotTicketV1 { message_id: None, ..old })?;
        tx.open_table(BOT_TICKETS_BY_CHAT).map_err(store_err)?.insert((new.chat_id, id), ()).map_err(store_err)?;
    }
    let followed = BOT_TICKETS.open(tx)?.get(id)?;
    if let Some(rec) = followed {
        index_waiting(tx, id, t)?;
        let lang = lang_of(&rec);
        match (t.status, kind) {
            // Its place: below, with the others of its queue.
            (TicketStatus::Waiting, _) => {}
            // The new ticket takes the message over.
            (_, "transferred") => {}
            (TicketStatus::Called, "called" | "recalled") => {
                let branch = branch_name(tx, t.branch_id, lang)?;
                let window = t.window.unwrap_or_default().to_string();
                let text = tf(lang, "bot.queue.called", &[("number", &t.number), ("window", &window), ("branch", &branch)]);
                let out = BotOutV1 { text, about: about(id, now), ..BotOutV1::default() };
                send(tx, now, rec.chat_id, out)?;
                edit_live(tx, now, id, t, &rec, None)?;
            }
            _ => edit_live(tx, now, id, t, &rec, None)?,
        }
    }
    // Whose place can this change: a ticket leaving or joining the waiting
    // line (a normal ticket joins at the end, and is not an event). At the
    // end of the day everyone expires at once: nobody's place matters then.
    if matches!(kind, "called" | "cancelled" | "transferred_in" | "checked_in" | "issued") {
        follow(tx, now, t.branch_id, t.day, t.service_id)?;
    }
    Ok(())
}

/// Queues a message for the chat while the company's bot runs (a bot
/// disconnected or revoked meanwhile gets no backlog of stale places).
fn send(tx: &WriteTransaction, now: i64, chat_id: i64, out: BotOutV1) -> Result<(), AppError> {
    if bot_running(tx)? {
        enqueue(tx, now, chat_id, BotBody::Message(out))?;
    }
    Ok(())
}

/// Edits the live message of a followed ticket (when the bot has sent it),
/// with its place when it waits.
fn edit_live(tx: &WriteTransaction, now: i64, id: u64, t: &TicketV1, rec: &BotTicketV1, place: Option<Place>) -> Result<(), AppError> {
    let Some(mid) = rec.message_id else { return Ok(()) };
    let mut out = render(tx, id, t, lang_of(rec), place, now)?;
    out.edit_message_id = Some(mid);
    send(tx, now, rec.chat_id, out)?;
    Ok(())
}

/// Re-counts the people ahead of each followed ticket waiting in one
/// service queue; a changed count edits its live message, and the first
/// time it falls to [`NEAR`] a new message says the turn is near.
fn follow(tx: &WriteTransaction, now: i64, branch: u64, day: u32, service: u64) -> Result<(), AppError> {
    let followed: Vec<u64> = {
        let idx = tx.open_table(BOT_TICKETS_WAITING).map_err(store_err)?;
        let mut ids = Vec::new();
        for row in idx.range((branch, day, service, 0)..=(branch, day, service, u64::MAX)).map_err(store_err)? {
            ids.push(row.map_err(store_err)?.0.value().3);
        }
        ids
    };
    if followed.is_empty() {
        return Ok(());
    }
    let waiting = waiting_of(&tx.open_table(TICKETS_WAITING).map_err(store_err)?, &TICKETS.open(tx)?, branch, day, Some(service))?;
    let ranks = ranks(&waiting, now);
    let (secs, ops) = pace(tx, branch, service)?;
    for id in followed {
        let (Some(&ahead), Some((_, tk))) = (ranks.get(&id), waiting.iter().find(|(i, _)| *i == id)) else { continue };
        let Some(mut rec) = BOT_TICKETS.open(tx)?.get(id)? else { continue };
        if rec.ahead == ahead {
            continue;
        }
        let lang = lang_of(&rec);
        if ahead <= NEAR && ahead < rec.ahead && !rec.near_sent {
            let text = tn(lang, "bot.queue.near", u64::from(ahead), &[("number", &tk.number)]);
            send(tx, now, rec.chat_id, BotOutV1 { text, about: about(id, now), ..BotOutV1::default() })?;
            rec.near_sent = true;
        }
        rec.ahead = ahead;
        edit_live(tx, now, id, tk, &rec, Some(Place { ahead, wait: quote(ahead, secs, ops) }))?;
        BOT_TICKETS.open(tx)?.insert(id, &rec)?;
    }
    Ok(())
}

/// Each waiting ticket's place: how many the operators would call first
/// (the order of `tickets::position`, the tracking page's).
fn ranks(waiting: &[(u64, TicketV1)], now: i64) -> HashMap<u64, u32> {
    let mut order: Vec<_> = waiting.iter().map(|(id, t)| (call_order(*id, t, now), *id)).collect();
    order.sort_unstable();
    order.into_iter().enumerate().map(|(n, (_, id))| (id, u32::try_from(n).unwrap_or(u32::MAX))).collect()
}

/// A visit's seconds and the operators serving a service at a branch (the quote's inputs).
fn pace(tx: &impl Txn, branch: u64, service: u64) -> Result<(u32, u32), AppError> {
    let minutes = schema::SERVICES.open(tx)?.get(service)?.map(|s| s.minutes).unwrap_or(10);
    let secs = service_secs(&SERVICE_TIMES.open(tx)?, service, minutes)?;
    let ops = operators_serving(&OPERATORS.open(tx)?, &OPERATOR_STATE.open(tx)?, branch, service)?;
    Ok((secs, ops))
}

/// Wakes the company's bot sender after a ticket's change was committed,
/// when the change may have queued something: the ticket is followed, or
/// its service queue has followed tickets.
pub(crate) fn wake(state: &AppState, tenant: &Tenant, id: u64, t: &TicketV1) {
    let concerns = || -> Result<bool, AppError> {
        let tx = tenant.db()?.read()?;
        if BOT_TICKETS.open(&tx)?.get(id)?.is_some() {
            return Ok(true);
        }
        let idx = tx.open_def(BOT_TICKETS_WAITING).map_err(store_err)?;
        let (b, d, s) = (t.branch_id, t.day, t.service_id);
        Ok(idx.range((b, d, s, 0)..=(b, d, s, u64::MAX)).map_err(store_err)?.next().is_some())
    };
    if concerns().unwrap_or(false) {
        state.bots.wake(&tenant.slug);
    }
}

// ---------- what the chat sees ----------

/// Where a waiting ticket stands: people ahead and the wait (low, high minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub ahead: u32,
    pub wait: (u32, u32),
}

fn about(ticket: u64, now: i64) -> BotMessageV1 {
    BotMessageV1 { ticket_id: Some(ticket), at: now, ..BotMessageV1::default() }
}

fn branch_name(tx: &impl Txn, id: u64, lang: Lang) -> Result<String, AppError> {
    Ok(schema::BRANCHES.open(tx)?.get(id)?.map(|b| crate::org::service::branch_name(&b, lang).to_string()).unwrap_or_default())
}

/// The callback data of the ticket's buttons (`q:` is the queue's area of the bot).
pub fn refresh_data(id: u64) -> String {
    format!("q:r:{id}")
}
pub fn cancel_data(id: u64) -> String {
    format!("q:c:{id}")
}
pub fn cancel_sure_data(id: u64) -> String {
    format!("q:x:{id}")
}

/// The ticket's live message: its number, branch and service, and where it
/// stands (`place` when known; else counted now), with Refresh and Cancel
/// while it waits.
fn render(tx: &impl Txn, id: u64, tk: &TicketV1, lang: Lang, place: Option<Place>, now: i64) -> Result<BotOutV1, AppError> {
    let branch = branch_name(tx, tk.branch_id, lang)?;
    let service =
        schema::SERVICES.open(tx)?.get(tk.service_id)?.map(|s| super::service::service_name(&s, lang).to_string()).unwrap_or_default();
    let mut text = tf(lang, "bot.queue.ticket", &[("number", &tk.number), ("branch", &branch), ("service", &service)]);
    text.push_str("\n\n");
    let window = tk.window.unwrap_or_default().to_string();
    let mut buttons = Vec::new();
    match tk.status {
        TicketStatus::Waiting => {
            let place = match place {
                Some(p) => p,
                None => {
                    let waiting = waiting_of(
                        &tx.open_def(TICKETS_WAITING).map_err(store_err)?,
                        &TICKETS.open(tx)?,
                        tk.branch_id,
                        tk.day,
                        Some(tk.service_id),
                    )?;
                    let ahead = ranks(&waiting, now).get(&id).copied().unwrap_or(0);
                    let (secs, ops) = pace(tx, tk.branch_id, tk.service_id)?;
                    Place { ahead, wait: quote(ahead, secs, ops) }
                }
            };
            if place.ahead == 0 {
                text.push_str(t(lang, "bot.queue.next"));
            } else {
                text.push_str(&tf(lang, "bot.queue.ahead", &[("n", &place.ahead.to_string())]));
                text.push('\n');
                let (low, high) = place.wait;
                text.push_str(&tf(lang, "bot.queue.wait", &[("low", &low.to_string()), ("high", &high.to_string())]));
            }
            text.push_str("\n\n");
            text.push_str(t(lang, "bot.queue.live_note"));
            buttons.push(vec![
                BotButtonV1 { text: t(lang, "bot.queue.btn.refresh").into(), data: Some(refresh_data(id)), url: None },
                BotButtonV1 { text: t(lang, "bot.queue.btn.cancel").into(), data: Some(cancel_data(id)), url: None },
            ]);
        }
        TicketStatus::Called => text.push_str(&tf(lang, "bot.queue.status.called", &[("window", &window)])),
        TicketStatus::Serving => text.push_str(&tf(lang, "bot.queue.status.serving", &[("window", &window)])),
        TicketStatus::Done => text.push_str(t(lang, "bot.queue.status.done")),
        TicketStatus::NoShow => text.push_str(t(lang, "bot.queue.status.no_show")),
        TicketStatus::Cancelled => text.push_str(t(lang, "bot.queue.status.cancelled")),
        TicketStatus::Expired => text.push_str(t(lang, "bot.queue.status.expired")),
        TicketStatus::Transferred => text.push_str(t(lang, "bot.queue.status.transferred")),
        TicketStatus::Booked => text.push_str(t(lang, "bot.queue.status.booked")),
    }
    Ok(BotOutV1 { text, buttons, about: about(id, now), ..BotOutV1::default() })
}

/// A ticket of this chat, read.
fn of_chat(tx: &impl Txn, chat_id: i64, id: u64) -> Result<(BotTicketV1, TicketV1), AppError> {
    let rec = BOT_TICKETS.open(tx)?.get(id)?.filter(|r| r.chat_id == chat_id).ok_or_else(not_found)?;
    let tk = TICKETS.open(tx)?.get(id)?.ok_or_else(not_found)?;
    Ok((rec, tk))
}

/// Ticket `id` of chat `chat_id` as its live message shows it now, in `lang`.
/// Another chat's ticket is not found.
pub fn view(db: &Db, chat_id: i64, id: u64, lang: Lang, now: i64) -> Result<(TicketV1, BotOutV1), AppError> {
    let tx = db.read()?;
    let (_, tk) = of_chat(&tx, chat_id, id)?;
    let out = render(&tx, id, &tk, lang, None, now)?;
    Ok((tk, out))
}

/// Makes `message_id` the ticket's live message (the one the bot just sent
/// or the one whose button was pressed), read in `lang`, showing `ahead`.
pub async fn set_live_message(tenant: &Tenant, chat_id: i64, id: u64, message_id: i64, lang: Lang, now: i64) -> Result<(), AppError> {
    tenant
        .db()?
        .write(move |tx| {
            let (mut rec, tk) = of_chat(tx, chat_id, id)?;
            rec.message_id = Some(message_id);
            rec.lang = lang.code().into();
            if tk.status == TicketStatus::Waiting {
                let waiting = waiting_of(
                    &tx.open_table(TICKETS_WAITING).map_err(store_err)?,
                    &TICKETS.open(tx)?,
                    tk.branch_id,
                    tk.day,
                    Some(tk.service_id),
                )?;
                rec.ahead = ranks(&waiting, now).get(&id).copied().unwrap_or(rec.ahead);
            }
            BOT_TICKETS.open(tx)?.insert(id, &rec)
        })
        .await
}

/// Cancels ticket `id` of chat `chat_id` as the customer holding it (the
/// rule of `tickets::cancel`: only while it waits). Its live message is
/// edited through the outbox like any change.
pub async fn cancel(state: &AppState, tenant: &Tenant, chat_id: i64, id: u64) -> Result<TicketV1, AppError> {
    let token = {
        let tx = tenant.db()?.read()?;
        of_chat(&tx, chat_id, id)?.1.token
    };
    Ok(tickets::cancel(state, tenant, &Caller::Customer(token), None).await?.1)
}

/// The chat's tickets still open (waiting, called, at a window), newest first.
pub fn open_of_chat(db: &Db, chat_id: i64) -> Result<Vec<(u64, TicketV1)>, AppError> {
    let tx = db.read()?;
    let idx = tx.open_def(BOT_TICKETS_BY_CHAT).map_err(store_err)?;
    let tickets = TICKETS.open(&tx)?;
    let mut out = Vec::new();
    for row in idx.range((chat_id, 0)..=(chat_id, u64::MAX)).map_err(store_err)?.rev().take(MINE_MAX) {
        let id = row.map_err(store_err)?.0.value().1;
        if let Some(tk) = tickets.get(id)?
            && !is_final(tk.status)
        {
            out.push((id, tk));
        }
    }
    Ok(out)
}

// ---------- branches and services to choose from ----------

/// A branch as the bot offers it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub id: u64,
    pub name: String,
    pub open_now: bool,
    /// When a closed branch opens next: days ahead (0 today), weekday (Monday 0), minute.
    pub opens: Option<(usize, usize, u16)>,
    /// Its active services: id and name in the language asked.
    pub services: Vec<(u64, String)>,
}

/// The company's active branches with the services they offer, in `lang`,
/// and whether each takes tickets now (its hours, company time).
pub fn offers(tenant: &Tenant, now: i64, lang: Lang) -> Result<Vec<Offer>, AppError> {
    let db = tenant.db()?;
    let (_, weekday, minute) = local_day(now, &tenant.timezone());
    let services = super::service::list_services(db)?;
    let mut out = Vec::new();
    for (id, b) in crate::org::service::list_branches(db)?.into_iter().filter(|(_, b)| b.active) {
        let week = WeekHours::of(&b.hours);
        let offered = services
            .iter()
            .filter(|(_, s)| s.active && s.branch_ids.contains(&id))
            .map(|(sid, s)| (*sid, super::service::service_name(s, lang).to_string()))
            .collect();
        out.push(Offer {
            id,
            name: crate::org::service::branch_name(&b, lang).to_string(),
            open_now: week.is_open(weekday, minute),
            opens: week.next_opening(weekday, minute).map(|o| (o.days_ahead, o.weekday, o.minute)),
            services: offered,
        });
    }
    Ok(out)
}

/// When a closed branch opens, in words: "It opens tomorrow at 09:00."
pub fn opens_text(lang: Lang, opens: Option<(usize, usize, u16)>) -> String {
    match opens {
        None => t(lang, "bot.queue.opens_never").to_string(),
        Some((days, weekday, minute)) => {
            let time = crate::org::service::format_hhmm(minute);
            match days {
                0 => tf(lang, "bot.queue.opens_today", &[("time", &time)]),
                1 => tf(lang, "bot.queue.opens_tomorrow", &[("time", &time)]),
                _ => tf(lang, "bot.queue.opens_on", &[("day", crate::i18n::weekday_name(lang, weekday)), ("time", &time)]),
            }
        }
    }
}

// ---------- other channels, other companies ----------

/// A ticket of the same person taken elsewhere (a kiosk, the web, another
/// company on this box), found by their verified phone.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    pub company: String,
    pub number: String,
    pub status: TicketStatus,
    pub window: Option<u16>,
    pub ahead: u32,
    pub booked_for: Option<i64>,
}

/// The verified phone of the client writing from Telegram account `telegram_id`.
pub fn verified_phone(db: &Db, telegram_id: i64) -> Result<Option<String>, AppError> {
    let tx = db.read()?;
    let Some(mut id) = tx.open_def(CLIENTS_BY_TELEGRAM).map_err(store_err)?.get(telegram_id).map_err(store_err)?.map(|v| v.value()) else {
        return Ok(None);
    };
    let clients = CLIENTS.open(&tx)?;
    // A client merged into another: follow to the record that stands.
    for _ in 0..16 {
        let Some(c) = clients.get(id)? else { return Ok(None) };
        match c.merged_into {
            Some(next) if next != id => id = next,
            _ => return Ok(c.phone.filter(|_| c.phone_verified)),
        }
    }
    Ok(None)
}

/// The open tickets of the client writing from Telegram account
/// `telegram_id` taken elsewhere, by their verified phone (none without
/// one): the platform's phone index, every company on this box, leaving out
/// those this chat already follows.
pub fn elsewhere(state: &AppState, tenant: &Tenant, chat_id: i64, telegram_id: i64) -> Result<Vec<Elsewhere>, AppError> {
    let Some(phone) = verified_phone(tenant.db()?, telegram_id)? else { return Ok(Vec::new()) };
    let now = state.now_ms();
    let mut out = Vec::new();
    for entry in tickets::customer_history(&state.platform, &phone, MINE_MAX)? {
        let Some(other) = state.tenants.get(&entry.slug) else { continue };
        if !other.is_active() {
            continue;
        }
        let Ok(db) = other.db() else { continue };
        let Some(tk) = ({
            let tx = db.read()?;
            if entry.slug == tenant.slug && BOT_TICKETS.open(&tx)?.get(entry.ticket_id)?.is_some_and(|r| r.chat_id == chat_id) {
                continue;
            }
            TICKETS.open(&tx)?.get(entry.ticket_id)?
        }) else {
            continue;
        };
        let (today, _, _) = local_day(now, &other.timezone());
        let upcoming = tk.status == TicketStatus::Booked && tk.day >= today;
        if is_final(tk.status) || (tk.day != today && !upcoming) {
            continue;
        }
        let (ahead, _) = tickets::position(db, entry.ticket_id, &tk, now)?;
        out.push(Elsewhere {
            company: other.info().name,
            number: tk.number.clone(),
            status: tk.status,
            window: tk.window,
            ahead,
            booked_for: tk.booking.as_ref().map(|b| b.start),
        });
    }
    Ok(out)
}
