//! The request rules: filing (by a client on the web or in Telegram, or by
//! staff on a client's behalf), who sees and works a request, the workflow
//! (one table of moves on the shared engine), assignment (by hand or
//! round-robin), the conversation (public replies, internal notes, the
//! client's messages), the client's status page and rating, and the notices
//! a client is sent. Pages, the API and the bot all call these.

use super::templates::{self, Event, Vars};
use super::{is_final, number, sla_key, status_code};
use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::service::{self as chat, Author, MessageOut, NewMessage, Pushes};
use crate::error::{AppError, ErrorKind};
use crate::hub::Topic;
use crate::i18n::Lang;
use crate::notify::Sent;
use crate::store::schema::{
    self, CLIENT_NOTICES, CLIENTS, CLIENTS_BY_EMAIL, CLIENTS_BY_PHONE, CLIENTS_BY_TELEGRAM, ClientNoticeV1, ClientV1, FieldValue, MESSAGES,
    Priority, REQUEST_CATEGORIES, REQUEST_EVENTS, REQUESTS, REQUESTS_BY_ASSIGNEE, REQUESTS_BY_CATEGORY, REQUESTS_BY_CLIENT,
    REQUESTS_BY_STATUS, REQUESTS_BY_TOKEN, REQUESTS_SLA_DUE, RequestCategoryV1, RequestChannel, RequestStatus, RequestV1, THREAD_MESSAGES,
    TaskEventV1, USERS, request_status_byte,
};
use crate::store::{Db, Txn, next_id, store_err};
use crate::tenancy::Tenant;
use crate::workflow::{self, Actor, Line};
use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;
use std::collections::BTreeMap;

pub const SUBJECT_MAX: usize = 200;
pub const TEXT_MAX: usize = 5000;
pub const NAME_MAX: usize = 100;
pub const COMMENT_MAX: usize = 2000;
pub const EMAIL_MAX: usize = 254;
/// The fields of the client's contact details, as errors name them.
const CLIENT_PHONE: &str = "client.phone";
const CLIENT_EMAIL: &str = "client.email";
/// Most requests one page of the list returns.
pub const PAGE_MAX: usize = 200;

// ---------- errors ----------

pub fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.request_not_found")
}

fn forbidden_move() -> AppError {
    AppError::new(ErrorKind::Forbidden).with_message("error.request_not_allowed")
}

fn closed() -> AppError {
    AppError::new(ErrorKind::Conflict).with_message("error.request_closed")
}

fn text(field: &'static str, s: &str, max: usize, required: bool, multiline: bool) -> Result<String, AppError> {
    let v = s.trim();
    if required && v.is_empty() {
        return Err(AppError::invalid(field, "validation.required"));
    }
    AppError::check_text(field, v, max, multiline)?;
    Ok(v.to_string())
}

pub(super) fn comment(c: Option<&str>, required: bool) -> Result<Option<String>, AppError> {
    let v = text("comment", c.unwrap_or(""), COMMENT_MAX, required, true)?;
    Ok((!v.is_empty()).then_some(v))
}

// ---------- clients ----------

/// Who a client says they are, as a channel knows them.
#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub name: String,
    pub phone: Option<String>,
    /// The phone came from Telegram's contact button: it is theirs.
    pub phone_verified: bool,
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    pub lang: Option<Lang>,
}

/// A client's contact details, checked: the name (required), the phone
/// (normalised) and e-mail (lower-case). At least one way to reach them.
fn check_client(c: &ClientInput) -> Result<(String, Option<String>, Option<String>), AppError> {
    let name = text("client.name", &c.name, NAME_MAX, true, false)?;
    let phone = match c.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(crate::phone::Phone::parse(p).map_err(|_| AppError::invalid(CLIENT_PHONE, "validation.phone"))?.into_string()),
        None => None,
    };
    let email = match c.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => {
            let e = e.to_lowercase();
            let ok = e.len() <= EMAIL_MAX
                && !e.chars().any(|ch| ch.is_whitespace() || ch.is_control())
                && e.split_once('@')
                    .is_some_and(|(a, d)| !a.is_empty() && !d.contains('@') && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
            if !ok {
                return Err(AppError::invalid(CLIENT_EMAIL, "validation.email"));
            }
            Some(e)
        }
        None => None,
    };
    if phone.is_none() && email.is_none() && c.telegram_id.is_none() {
        return Err(AppError::invalid(CLIENT_PHONE, "validation.client_contact"));
    }
    Ok((name, phone, email))
}

/// The client record `id` stands for now (following merges).
pub(super) fn live_client(tx: &impl Txn, mut id: u64) -> Result<(u64, ClientV1), AppError> {
    let t = CLIENTS.open(tx)?;
    for _ in 0..16 {
        let c = t.get(id)?.ok_or_else(not_found)?;
        match c.merged_into {
            Some(next) if next != id => id = next,
            _ => return Ok((id, c)),
        }
    }
    Err(not_found())
}

/// Moves everything of client `gone` onto `keep` (the same person reached
/// through two channels): their requests and ways to reach them.
pub(super) fn merge_clients(tx: &WriteTransaction, keep: u64, gone: u64) -> Result<(), AppError> {
    if keep == gone {
        return Ok(());
    }
    let mut moved = Vec::new();
    {
        let by_client = tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?;
        for row in by_client.range((gone, 0)..=(gone, u64::MAX)).map_err(store_err)? {
            moved.push(row.map_err(store_err)?.0.value().1);
        }
    }
    for rid in moved {
        let mut r = REQUESTS.open(tx)?.get(rid)?.ok_or_else(not_found)?;
        r.client_id = keep;
        REQUESTS.open(tx)?.insert(rid, &r)?;
        let mut by_client = tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?;
        by_client.remove((gone, rid)).map_err(store_err)?;
        by_client.insert((keep, rid), ()).map_err(store_err)?;
    }
    let mut old = CLIENTS.open(tx)?.get(gone)?.ok_or_else(not_found)?;
    let mut new = CLIENTS.open(tx)?.get(keep)?.ok_or_else(not_found)?;
    if new.phone.is_none() {
        new.phone = old.phone.clone();
    }
    new.phone_verified |= old.phone_verified;
    if new.email.is_none() {
        new.email = old.email.clone();
    }
    if new.telegram_id.is_none() {
        new.telegram_id = old.telegram_id;
    }
    index_client(tx, keep, &new)?;
    CLIENTS.open(tx)?.insert(keep, &new)?;
    old.merged_into = Some(keep);
    CLIENTS.open(tx)?.insert(gone, &old)?;
    Ok(())
}

pub(super) fn index_client(tx: &WriteTransaction, id: u64, c: &ClientV1) -> Result<(), AppError> {
    if let Some(p) = &c.phone {
        tx.open_table(CLIENTS_BY_PHONE).map_err(store_err)?.insert(p.as_str(), id).map_err(store_err)?;
    }
    if let Some(e) = &c.email {
        tx.open_table(CLIENTS_BY_EMAIL).map_err(store_err)?.insert(e.as_str(), id).map_err(store_err)?;
    }
    if let Some(t) = c.telegram_id {
        tx.open_table(CLIENTS_BY_TELEGRAM).map_err(store_err)?.insert(t, id).map_err(store_err)?;
    }
    Ok(())
}

/// The one client record of a person: found by their Telegram account,
/// phone or e-mail (in that order), else made. When two records turn out
/// to be one person (the phone of one came through the other's channel),
/// they are merged into the older.
pub fn find_or_create_client(tx: &WriteTransaction, input: &ClientInput, now: i64) -> Result<u64, AppError> {
    let (name, phone, email) = check_client(input)?;
    let mut found: Vec<u64> = Vec::new();
    if let Some(t) = input.telegram_id
        && let Some(id) = tx.open_table(CLIENTS_BY_TELEGRAM).map_err(store_err)?.get(t).map_err(store_err)?.map(|v| v.value())
    {
        found.push(live_client(tx, id)?.0);
    }
    if let Some(p) = &phone
        && let Some(id) = tx.open_table(CLIENTS_BY_PHONE).map_err(store_err)?.get(p.as_str()).map_err(store_err)?.map(|v| v.value())
    {
        found.push(live_client(tx, id)?.0);
    }
    if let Some(e) = &email
        && let Some(id) = tx.open_table(CLIENTS_BY_EMAIL).map_err(store_err)?.get(e.as_str()).map_err(store_err)?.map(|v| v.value())
    {
        found.push(live_client(tx, id)?.0);
    }
    found.sort_unstable();
    found.dedup();
    let id = match found.first() {
        Some(&keep) => {
            for &other in found.iter().skip(1) {
                merge_clients(tx, keep, other)?;
            }
            let mut c = CLIENTS.open(tx)?.get(keep)?.ok_or_else(not_found)?;
            // What this channel adds: a phone, an e-mail, the Telegram account.
            if c.phone.is_none() {
                c.phone = phone;
            }
            c.phone_verified |= input.phone_verified && c.phone.is_some();
            if c.email.is_none() {
                c.email = email;
            }
            if c.telegram_id.is_none() {
                c.telegram_id = input.telegram_id;
            }
            if let Some(l) = input.lang {
                c.lang = l.code().to_string();
            }
            index_client(tx, keep, &c)?;
            CLIENTS.open(tx)?.insert(keep, &c)?;
            keep
        }
        None => {
            let c = ClientV1 {
                name,
                phone_verified: input.phone_verified && phone.is_some(),
                phone,
                email,
                telegram_id: input.telegram_id,
                lang: input.lang.unwrap_or(Lang::Uz).code().to_string(),
                created_at: now,
                merged_into: None,
            };
            let id = next_id(tx, "client")?;
            CLIENTS.open(tx)?.insert(id, &c)?;
            index_client(tx, id, &c)?;
            id
        }
    };
    Ok(id)
}

/// A client as staff see them on a request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RequestClient)]
pub struct ClientOut {
    pub id: u64,
    pub name: String,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub email: Option<String>,
    pub telegram: bool,
    pub lang: String,
}

fn client_out(id: u64, c: &ClientV1) -> ClientOut {
    ClientOut {
        id,
        name: c.name.clone(),
        phone: c.phone.clone(),
        phone_verified: c.phone_verified,
        email: c.email.clone(),
        telegram: c.telegram_id.is_some(),
        lang: c.lang.clone(),
    }
}

// ---------- who sees ----------

pub(super) fn category_in(tx: &impl Txn, id: u64) -> Result<Option<RequestCategoryV1>, AppError> {
    REQUEST_CATEGORIES.open(tx)?.get(id)
}

/// Whether `who` may see request `id` (false for one that does not exist):
/// the rule of [`Caller::can_see_request`], read in `tx`. The chat asks it
/// for the request's thread.
pub fn may_see_in(tx: &impl Txn, who: &Caller, id: u64) -> Result<bool, AppError> {
    let Some(r) = REQUESTS.open(tx)?.get(id)? else { return Ok(false) };
    let cat = category_in(tx, r.category_id)?;
    Ok(who.can_see_request(&r, cat.as_ref()))
}

fn load_visible(tx: &impl Txn, who: &Caller, id: u64) -> Result<(RequestV1, Option<RequestCategoryV1>), AppError> {
    let r = REQUESTS.open(tx)?.get(id)?.ok_or_else(not_found)?;
    let cat = category_in(tx, r.category_id)?;
    if !who.can_see_request(&r, cat.as_ref()) {
        return Err(not_found());
    }
    Ok((r, cat))
}

// ---------- the workflow ----------

/// A move a caller can make on a request. [`allowed_moves`] is the one table
/// of who may make which move when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// A dispatcher assigns or reassigns it; a team member takes an
    /// unassigned one.
    Assign,
    /// The assignee starts (or resumes) work: `in_progress`.
    Start,
    /// The assignee asks the client something: `waiting_client` (the SLA clock pauses).
    WaitClient,
    /// The assignee hands it in: `pending_review`.
    Submit,
    /// A reviewer (a dispatcher or the category's lead) closes it: `done`.
    Complete,
    /// A reviewer sends it back to work: `in_progress`.
    Redo,
    /// Rejected with a reason the client reads.
    Reject,
    /// Opened again by staff (a client's reply within 7 days does it itself).
    Reopen,
    /// Public reply and internal note.
    Reply,
    /// Priority and category.
    Edit,
}

impl Move {
    pub const ALL: [Move; 10] = [
        Move::Assign,
        Move::Start,
        Move::WaitClient,
        Move::Submit,
        Move::Complete,
        Move::Redo,
        Move::Reject,
        Move::Reopen,
        Move::Reply,
        Move::Edit,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Move::Assign => "assign",
            Move::Start => "start",
            Move::WaitClient => "wait_client",
            Move::Submit => "submit",
            Move::Complete => "complete",
            Move::Redo => "redo",
            Move::Reject => "reject",
            Move::Reopen => "reopen",
            Move::Reply => "reply",
            Move::Edit => "edit",
        }
    }

    /// Where a status-changing move takes a request.
    pub fn target(self) -> Option<RequestStatus> {
        match self {
            Move::Start | Move::Redo => Some(RequestStatus::InProgress),
            Move::WaitClient => Some(RequestStatus::WaitingClient),
            Move::Submit => Some(RequestStatus::PendingReview),
            Move::Complete => Some(RequestStatus::Done),
            Move::Reject => Some(RequestStatus::Rejected),
            Move::Reopen => Some(RequestStatus::Reopened),
            Move::Assign | Move::Reply | Move::Edit => None,
        }
    }
}

/// Whether `who` reviews the request's work: a dispatcher or the category's lead.
fn reviews(who: &Caller, cat: Option<&RequestCategoryV1>) -> bool {
    who.dispatches_requests() || cat.is_some_and(|c| c.lead_id.is_some_and(|l| l == who.id() && l != 0))
}

/// The moves `who` may make on `r` now; nothing for a request they cannot see.
///
/// * a dispatcher assigns any open request; a team member takes one nobody has;
/// * the assignee starts an assigned, reopened or waiting one, asks the
///   client, and hands in work in progress;
/// * a reviewer (dispatcher, category lead) completes or sends back handed-in
///   work, rejects or reopens;
/// * the assignee may also reject (with the reason the client reads);
/// * everyone who sees it replies while it is open (an internal note also after).
pub fn allowed_moves(who: &Caller, r: &RequestV1, cat: Option<&RequestCategoryV1>) -> Vec<Move> {
    use RequestStatus::*;
    if !who.can_see_request(r, cat) || who.user().is_none() {
        return Vec::new();
    }
    let s = r.status;
    let me = who.id();
    let mine = r.assignee_id == Some(me);
    let review = reviews(who, cat);
    let open = !is_final(s);
    let team = cat.is_some_and(|c| c.team.contains(&me));
    workflow::allowed([
        (Move::Assign, open && (who.dispatches_requests() || (team && r.assignee_id.is_none()))),
        (Move::Start, mine && matches!(s, Assigned | Reopened | WaitingClient)),
        (Move::WaitClient, mine && matches!(s, Assigned | InProgress | Reopened)),
        (Move::Submit, mine && s == InProgress),
        (Move::Complete, review && s == PendingReview),
        (Move::Redo, review && s == PendingReview),
        (Move::Reject, (review || mine) && open),
        (Move::Reopen, review && is_final(s)),
        (Move::Reply, true),
        (Move::Edit, review && open),
    ])
}

/// The move that takes a request to `to` for [`change_status`]: in
/// progress is Start (or Redo from review), the others their own move.
fn move_to(r: &RequestV1, to: RequestStatus) -> Option<Move> {
    match to {
        RequestStatus::InProgress if r.status == RequestStatus::PendingReview => Some(Move::Redo),
        RequestStatus::InProgress => Some(Move::Start),
        RequestStatus::WaitingClient => Some(Move::WaitClient),
        RequestStatus::PendingReview => Some(Move::Submit),
        RequestStatus::Done => Some(Move::Complete),
        RequestStatus::Rejected => Some(Move::Reject),
        RequestStatus::Reopened => Some(Move::Reopen),
        RequestStatus::New | RequestStatus::Assigned => None,
    }
}

fn history(tx: &WriteTransaction, now: i64, actor: &Actor, id: u64, line: Line) -> Result<(), AppError> {
    workflow::record(tx, REQUEST_EVENTS, "request_event", now, actor, id, line)
}

/// Moves a request to `to`: the SLA clock pauses while it waits for the
/// client and its targets move on by the wait when it resumes; done or
/// rejected stops it.
fn set_status(r: &mut RequestV1, to: RequestStatus, now: i64) {
    if let Some(since) = r.paused_at.take() {
        let waited = (now - since).max(0);
        r.first_response_due = r.first_response_due.map(|d| d + waited);
        r.resolution_due = r.resolution_due.map(|d| d + waited);
    }
    if to == RequestStatus::WaitingClient {
        r.paused_at = Some(now);
    }
    if is_final(to) {
        r.resolved_at = Some(now);
    }
    // Opened again: not resolved, and the last rating was of the old outcome.
    if to == RequestStatus::Reopened {
        r.resolved_at = None;
        r.rating = None;
        r.rating_comment = None;
    }
    r.status = to;
    r.updated_at = now;
}

/// Writes a request and keeps every index in step with it.
pub(super) fn save(tx: &WriteTransaction, id: u64, old: Option<&RequestV1>, new: &RequestV1) -> Result<(), AppError> {
    crate::search::names_changed(tx)?;
    REQUESTS.open(tx)?.insert(id, new)?;
    if let Some(o) = old {
        if o.status != new.status {
            tx.open_table(REQUESTS_BY_STATUS).map_err(store_err)?.remove((request_status_byte(o.status), id)).map_err(store_err)?;
        }
        if o.assignee_id != new.assignee_id
            && let Some(a) = o.assignee_id
        {
            tx.open_table(REQUESTS_BY_ASSIGNEE).map_err(store_err)?.remove((a, id)).map_err(store_err)?;
        }
        if o.category_id != new.category_id {
            tx.open_table(REQUESTS_BY_CATEGORY).map_err(store_err)?.remove((o.category_id, id)).map_err(store_err)?;
        }
        if let Some(k) = sla_key(o) {
            tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?.remove((k, id)).map_err(store_err)?;
        }
    } else {
        tx.open_table(REQUESTS_BY_TOKEN).map_err(store_err)?.insert(new.token.as_str(), id).map_err(store_err)?;
        tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?.insert((new.client_id, id), ()).map_err(store_err)?;
    }
    tx.open_table(REQUESTS_BY_STATUS).map_err(store_err)?.insert((request_status_byte(new.status), id), ()).map_err(store_err)?;
    if let Some(a) = new.assignee_id {
        tx.open_table(REQUESTS_BY_ASSIGNEE).map_err(store_err)?.insert((a, id), ()).map_err(store_err)?;
    }
    tx.open_table(REQUESTS_BY_CATEGORY).map_err(store_err)?.insert((new.category_id, id), ()).map_err(store_err)?;
    if let Some(k) = sla_key(new) {
        tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?.insert((k, id), ()).map_err(store_err)?;
    }
    let breached = |r: &RequestV1| r.first_response_breached || r.resolution_breached;
    if breached(new) && !old.is_some_and(breached) {
        tx.open_table(schema::REQUESTS_BREACHED).map_err(store_err)?.insert(id, ()).map_err(store_err)?;
    }
    Ok(())
}

/// Saves a changed request (the SLA job's breach marks).
pub fn save_changed(tx: &WriteTransaction, id: u64, old: &RequestV1, new: &RequestV1) -> Result<(), AppError> {
    save(tx, id, Some(old), new)
}

// ---------- what a change tells ----------

/// What a committed change sends after the commit: live events, staff
/// notifications, the chat's pushes.
#[derive(Default)]
pub(super) struct After {
    pub(super) sent: Vec<Sent>,
    pub(super) chat: Option<Pushes>,
    /// (token, kind, data) for the client's status page.
    pub(super) public: Vec<(String, &'static str, serde_json::Value)>,
    pub(super) changed: Vec<u64>,
}

impl After {
    pub(super) fn send(self, state: &AppState, tenant: &Tenant) {
        let now = state.now();
        state.bots.wake(&tenant.slug);
        if let Some(p) = self.chat {
            p.send(state, tenant);
        }
        for (token, kind, data) in self.public {
            state.hub.publish(&tenant.slug, &Topic::Request(token), kind, data, now);
        }
        for id in self.changed {
            state.hub.publish(&tenant.slug, &Topic::Requests, "request.changed", serde_json::json!({"id": id}), now);
            state.search.touch_request(tenant, id);
            crate::tenancy::due::request_changed(tenant, id);
        }
        crate::notify::deliver(state, tenant, self.sent);
    }
}

pub(super) fn lang_of(code: &str) -> Lang {
    Lang::parse(code).unwrap_or(Lang::Uz)
}

fn user_name(tx: &impl Txn, id: Option<u64>) -> Result<String, AppError> {
    let Some(id) = id else { return Ok(String::new()) };
    Ok(USERS.open(tx)?.get(id)?.map(|a| if a.full_name.is_empty() { a.username } else { a.full_name }).unwrap_or_default())
}

/// The path of a request's status page (`/r/{slug}-{token}`); the pages
/// make it absolute with the company's address.
pub fn tracking_path(slug: &str, token: &str) -> String {
    format!("/r/{slug}-{token}")
}

/// Splits a status page's token into the company slug and the request's token.
pub fn split_public_token(public: &str) -> Option<(&str, &str)> {
    crate::queue::tickets::split_public_token(public)
}

/// Tells the client about their request: a notice worded from the
/// company's template in their language, kept for the status page and for
/// the bot to deliver, and pushed live to the page.
#[allow(clippy::too_many_arguments)]
fn tell_client(
    tx: &WriteTransaction,
    slug: &str,
    base_url: &str,
    id: u64,
    r: &RequestV1,
    event: Event,
    now: i64,
    after: &mut After,
) -> Result<(), AppError> {
    let (cid, client) = live_client(tx, r.client_id)?;
    let lang = lang_of(&client.lang);
    let cat = category_in(tx, r.category_id)?;
    let vars = Vars {
        number: number(id),
        status: super::status_label(lang, r.status).to_string(),
        client_name: client.name.clone(),
        category: cat.as_ref().map(|c| c.names.get(lang).to_string()).unwrap_or_default(),
        assignee: user_name(tx, r.assignee_id)?,
        link: format!("{base_url}{}", tracking_path(slug, &r.token)),
    };
    let text = templates::render(tx, event, lang, &vars)?;
    let nid = next_id(tx, "client_notice")?;
    let notice = ClientNoticeV1 { request_id: id, event: event.code().to_string(), text: text.clone(), at: now, delivered: false };
    CLIENT_NOTICES.open(tx)?.insert((cid, nid), &notice)?;
    // A client who came through the bot hears it there (the private chat's id is theirs).
    if let Some(chat) = client.telegram_id
        && crate::telegram::outbox::bot_running(tx)?
    {
        crate::telegram::outbox::enqueue(tx, now, chat, crate::telegram::outbox::BotBody::ClientNotice { client_id: cid, notice_id: nid })?;
    }
    after.public.push((r.token.clone(), "request.notice", serde_json::json!({"id": nid, "event": event.code(), "text": text})));
    Ok(())
}

/// The event a client hears of when their request reaches `to`.
fn status_event(to: RequestStatus) -> Event {
    match to {
        RequestStatus::WaitingClient => Event::WaitingClient,
        RequestStatus::Done => Event::Done,
        RequestStatus::Rejected => Event::Rejected,
        _ => Event::StatusChanged,
    }
}

/// A staff notification about request `id` for `users` (never the actor).
fn notify_staff(
    tx: &WriteTransaction,
    now: i64,
    actor: u64,
    users: &[u64],
    kind: &str,
    id: u64,
    r: &RequestV1,
) -> Result<Vec<Sent>, AppError> {
    let by = user_name(tx, Some(actor).filter(|a| *a != 0))?;
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for &u in users {
        if u == actor || u == 0 || !seen.insert(u) {
            continue;
        }
        if USERS.open(tx)?.get(u)?.is_some_and(|a| a.active) {
            out.push(crate::notify::request_notice(tx, now, u, kind, id, &number(id), &r.subject, &by)?);
        }
    }
    Ok(out)
}

/// The team member the round-robin gives the next request of `cat` to:
/// the one after the last given, among those active now.
fn round_robin(tx: &impl Txn, cat: &RequestCategoryV1) -> Result<Option<u64>, AppError> {
    let users = USERS.open(tx)?;
    let mut present = Vec::new();
    for &u in &cat.team {
        if users.get(u)?.is_some_and(|a| a.active) {
            present.push(u);
        }
    }
    if present.is_empty() {
        return Ok(None);
    }
    let start = cat.last_assigned.and_then(|l| cat.team.iter().position(|u| *u == l)).map(|i| i + 1).unwrap_or(0);
    for k in 0..cat.team.len() {
        if let Some(&u) = cat.team.get((start + k) % cat.team.len())
            && present.contains(&u)
        {
            return Ok(Some(u));
        }
    }
    Ok(present.first().copied())
}

// ---------- filing ----------

/// A request as filed.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub category_id: u64,
    pub subject: String,
    pub text: String,
    /// Form answers by field key (numbers and the like as text).
    pub fields: BTreeMap<String, String>,
    /// Files (already uploaded): a staff member's own, or a client's
    /// verified by their signed references ([`check_file_ref`]).
    pub file_ids: Vec<u64>,
    pub client: ClientInput,
    pub channel: Option<RequestChannel>,
    pub priority: Option<Priority>,
}

/// The checks of a filing that read no data: its texts and the client's
/// contact details (a front-end may ask before it answers a bot).
pub fn check_filing(input: &NewRequest) -> Result<(), AppError> {
    text("subject", &input.subject, SUBJECT_MAX, false, false)?;
    text("text", &input.text, TEXT_MAX, false, true)?;
    check_client(&input.client)?;
    Ok(())
}

/// What filing returns.
#[derive(Debug, Clone)]
pub struct Filed {
    pub id: u64,
    pub request: RequestV1,
    /// `/r/{slug}-{token}`.
    pub tracking_path: String,
}

/// Files a request. A client files for themselves (`Caller::Public`, web or
/// Telegram); staff (`Caller::User`) file on a client's behalf. The text and
/// files are the thread's first message, from the client. A category that
/// assigns itself gives it round-robin to its team's next member present.
pub async fn create(state: &AppState, tenant: &Tenant, who: &Caller, input: NewRequest) -> Result<Filed, AppError> {
    let staff = who.user().map(|p| p.id);
    let channel = match (staff, input.channel) {
        (Some(_), _) => RequestChannel::Staff,
        (None, Some(RequestChannel::Staff)) | (None, None) => RequestChannel::Web,
        (None, Some(c)) => c,
    };
    if matches!(who, Caller::Platform { .. } | Caller::Customer(_)) {
        return Err(ErrorKind::Forbidden.into());
    }
    // A company not open for business takes no requests from the public.
    if matches!(who, Caller::Public) && !tenant.is_active() {
        return Err(ErrorKind::CompanyInactive.into());
    }
    let subject_in = text("subject", &input.subject, SUBJECT_MAX, false, false)?;
    let body = text("text", &input.text, TEXT_MAX, false, true)?;
    check_client(&input.client)?;
    let now = state.now_ms();
    let slug = tenant.slug.clone();
    let base = state.config.public_url.clone().unwrap_or_default();
    let actor_staff = staff.map(|s| Actor { id: s, name: who.name() });
    let tenant2 = tenant.clone();
    let tz = tenant.timezone();
    let (id, r, after) = tenant
        .db()?
        .write(move |tx| {
            let cat = category_in(tx, input.category_id)?
                .filter(|c| c.active)
                .ok_or_else(|| AppError::invalid("category_id", "validation.request_category"))?;
            let (fields, field_files) = super::categories::check_fields(&cat, &input.fields)?;
            let client_id = find_or_create_client(tx, &input.client, now)?;
            let (_, client) = live_client(tx, client_id)?;
            let lang = lang_of(&client.lang);
            let subject = if subject_in.is_empty() { cat.names.get(lang).to_string() } else { subject_in.clone() };
            if body.is_empty() && fields.is_empty() && input.file_ids.is_empty() {
                return Err(AppError::invalid("text", "validation.required"));
            }
            let id = next_id(tx, "request")?;
            let (thread, th) = chat::new_request_thread(tx, id, staff.unwrap_or(0), now)?;
            let mut files = input.file_ids.clone();
            for f in field_files {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
            let assignee = if cat.auto_assign { round_robin(tx, &cat)? } else { None };
            let mut r = RequestV1 {
                client_id,
                channel,
                category_id: input.category_id,
                fields,
                subject,
                text: body.clone(),
                status: if assignee.is_some() { RequestStatus::Assigned } else { RequestStatus::New },
                priority: input.priority.unwrap_or(cat.default_priority),
                assignee_id: assignee,
                created_by: staff,
                created_at: now,
                updated_at: now,
                token: hex::encode(crate::store::random_bytes::<16>()),
                first_response_due: None,
                resolution_due: None,
                first_response_at: None,
                resolved_at: None,
                paused_at: None,
                first_response_breached: false,
                resolution_breached: false,
                reject_reason: None,
                rating: None,
                rating_comment: None,
                thread_id: thread,
            };
            if let Some(m) = cat.first_response_minutes {
                r.first_response_due = Some(super::sla::due(tx, &tz, &cat, now, m)?);
            }
            if let Some(m) = cat.resolution_minutes {
                r.resolution_due = Some(super::sla::due(tx, &tz, &cat, now, m)?);
            }
            save(tx, id, None, &r)?;
            let client_actor = Actor { id: 0, name: client.name.clone() };
            let actor = actor_staff.clone().unwrap_or(client_actor.clone());
            history(tx, now, &actor, id, Line { to: Some(status_code(RequestStatus::New).into()), ..Line::new("created") })?;
            let mut after = After { changed: vec![id], ..After::default() };
            // The client's words open the conversation, with their files.
            let first = NewMessage { text: body.clone(), file_ids: files, ..NewMessage::default() };
            let uploads_ok = !first.text.is_empty() || !first.file_ids.is_empty();
            if uploads_ok {
                let author = match staff {
                    // Staff filing for a client attach their own uploads, as themselves.
                    Some(s) => Author::Staff(s),
                    None => Author::Client { id: client_id, name: client.name.clone() },
                };
                let (_, pushes) = chat::write_message(tx, &tenant2, &author, thread, th, NewMessage { internal: false, ..first }, now)?;
                after.chat = Some(pushes);
            }
            tell_client(tx, &slug, &base, id, &r, Event::Received, now, &mut after)?;
            if let Some(a) = assignee {
                let mut c = cat.clone();
                c.last_assigned = Some(a);
                REQUEST_CATEGORIES.open(tx)?.insert(r.category_id, &c)?;
                history(
                    tx,
                    now,
                    &Actor { id: 0, name: "system".into() },
                    id,
                    Line::field("assignee", None, Some(user_name(tx, Some(a))?)),
                )?;
                chat::follow(tx, a, thread)?;
                after.sent.extend(notify_staff(tx, now, staff.unwrap_or(0), &[a], "request_assigned", id, &r)?);
                tell_client(tx, &slug, &base, id, &r, Event::Assigned, now, &mut after)?;
            } else {
                // Nobody has it yet: the team hears of it.
                after.sent.extend(notify_staff(tx, now, staff.unwrap_or(0), &cat.team, "request_new", id, &r)?);
            }
            r.updated_at = now;
            Ok((id, r, after))
        })
        .await?;
    after.send(state, tenant);
    let tracking_path = tracking_path(&tenant.slug, &r.token);
    Ok(Filed { id, request: r, tracking_path })
}

// ---------- reading ----------

/// A request as staff see it.
#[derive(Debug, Clone)]
pub struct Detail {
    pub id: u64,
    pub request: RequestV1,
    pub category: Option<RequestCategoryV1>,
    pub client: ClientOut,
    pub history: Vec<TaskEventV1>,
    pub moves: Vec<Move>,
    pub assignee_name: String,
    /// The client's other requests, newest first (id, number, subject, status, created).
    pub earlier: Vec<(u64, RequestV1)>,
}

/// A client's queue visit, as the request page lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RequestClientVisit)]
pub struct Visit {
    pub number: String,
    pub service: String,
    pub created_at_ms: i64,
    /// The ticket's status code (`done`, `no_show`, …).
    pub status: String,
}

/// The queue visits of request `id`'s client (by their phone), newest
/// first: the tickets they took in this company.
pub fn visits(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, lang: Lang) -> Result<Vec<Visit>, AppError> {
    let db = tenant.db()?;
    let tx = db.read()?;
    let (r, _) = load_visible(&tx, who, id)?;
    let (_, client) = live_client(&tx, r.client_id)?;
    let Some(phone) = client.phone else { return Ok(Vec::new()) };
    let tickets = schema::TICKETS.open(&tx)?;
    let services = schema::SERVICES.open(&tx)?;
    let mut out = Vec::new();
    for c in crate::queue::tickets::customer_history(&state.platform, &phone, 50)? {
        if c.slug != tenant.slug {
            continue;
        }
        let Some(t) = tickets.get(c.ticket_id)? else { continue };
        let service = services.get(t.service_id)?.map(|s| crate::queue::service::service_name(&s, lang).to_string()).unwrap_or_default();
        out.push(Visit {
            number: t.number,
            service,
            created_at_ms: t.created_at,
            status: crate::queue::tickets::status_code(t.status).to_string(),
        });
        if out.len() >= 10 {
            break;
        }
    }
    Ok(out)
}

/// One request with its history, client and what `who` may do with it.
pub fn get(db: &Db, who: &Caller, id: u64) -> Result<Detail, AppError> {
    let tx = db.read()?;
    let (r, cat) = load_visible(&tx, who, id)?;
    let (cid, client) = live_client(&tx, r.client_id)?;
    let history = workflow::history(&tx, REQUEST_EVENTS, id)?;
    let moves = allowed_moves(who, &r, cat.as_ref());
    let mut earlier = Vec::new();
    {
        let by_client = tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?;
        let table = REQUESTS.open(&tx)?;
        for row in by_client.range((cid, 0)..=(cid, u64::MAX)).map_err(store_err)?.rev().take(21) {
            let rid = row.map_err(store_err)?.0.value().1;
            if rid == id {
                continue;
            }
            if let Some(o) = table.get(rid)? {
                earlier.push((rid, o));
            }
        }
        earlier.truncate(20);
    }
    Ok(Detail {
        id,
        assignee_name: user_name(&tx, r.assignee_id)?,
        client: client_out(cid, &client),
        request: r,
        category: cat,
        history,
        moves,
        earlier,
    })
}

/// The list's filters; empty means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<RequestStatus>,
    pub category_id: Option<u64>,
    /// `Some(0)`: nobody's yet.
    pub assignee_id: Option<u64>,
    /// Requests of the categories whose team holds this user.
    pub team_of: Option<u64>,
    pub priority: Option<Priority>,
    pub channel: Option<RequestChannel>,
    pub breached: Option<bool>,
    /// Filed at or after (ms).
    pub from: Option<i64>,
    /// Filed before (ms).
    pub to: Option<i64>,
    /// Words (subject, text, field values, client's name and phone).
    pub q: String,
}

impl Filter {
    fn admits(&self, r: &RequestV1, cat: Option<&RequestCategoryV1>) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self.category_id.is_none_or(|c| c == r.category_id)
            && self.assignee_id.is_none_or(|a| if a == 0 { r.assignee_id.is_none() } else { r.assignee_id == Some(a) })
            && self.team_of.is_none_or(|u| cat.is_some_and(|c| c.team.contains(&u)))
            && self.priority.is_none_or(|p| p == r.priority)
            && self.channel.is_none_or(|c| c == r.channel)
            && self.breached.is_none_or(|b| b == (r.first_response_breached || r.resolution_breached))
            && self.from.is_none_or(|f| r.created_at >= f)
            && self.to.is_none_or(|t| r.created_at < t)
    }
}

pub type Page = (Vec<(u64, RequestV1)>, Option<u64>);

/// The requests `who` may see that pass `filter`, newest first, after
/// `cursor` (an id), at most `limit`. Read through the narrowest index the
/// filter names (an assignee, a category, statuses), else newest first over
/// all; with words, the search index's matches.
pub fn list(
    db: &Db,
    search: Option<&crate::search::TaskIndex>,
    who: &Caller,
    filter: &Filter,
    cursor: Option<u64>,
    limit: usize,
) -> Result<Page, AppError> {
    if who.user().is_none() {
        return Err(ErrorKind::Forbidden.into());
    }
    let limit = limit.clamp(1, PAGE_MAX);
    let before = cursor.unwrap_or(u64::MAX);
    let tx = db.read()?;
    let table = REQUESTS.open(&tx)?;
    let mut cats: BTreeMap<u64, Option<RequestCategoryV1>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut next = None;
    let mut consider = |id: u64, out: &mut Vec<(u64, RequestV1)>| -> Result<bool, AppError> {
        if out.len() == limit {
            next = out.last().map(|(id, _)| *id);
            return Ok(false);
        }
        let Some(r) = table.get(id)? else { return Ok(true) };
        if let std::collections::btree_map::Entry::Vacant(e) = cats.entry(r.category_id) {
            e.insert(category_in(&tx, r.category_id)?);
        }
        let cat = cats.get(&r.category_id).and_then(|c| c.as_ref());
        if filter.admits(&r, cat) && who.can_see_request(&r, cat) {
            out.push((id, r));
        }
        Ok(true)
    };
    let words = filter.q.trim();
    if !words.is_empty() {
        let index = search.ok_or_else(|| AppError::new(ErrorKind::Unavailable))?;
        let mut ids = index.search_requests(words, 10_000)?;
        ids.retain(|i| *i < before);
        ids.sort_unstable_by(|a, b| b.cmp(a));
        for id in ids {
            if !consider(id, &mut out)? {
                break;
            }
        }
    } else if filter.breached == Some(true) {
        // The few that missed a target, from their own index.
        let idx = tx.open_table(schema::REQUESTS_BREACHED).map_err(store_err)?;
        for row in idx.range(0..before).map_err(store_err)?.rev() {
            if !consider(row.map_err(store_err)?.0.value(), &mut out)? {
                break;
            }
        }
    } else if let Some(a) = filter.assignee_id.filter(|a| *a != 0) {
        let idx = tx.open_table(REQUESTS_BY_ASSIGNEE).map_err(store_err)?;
        for row in idx.range((a, 0)..(a, before)).map_err(store_err)?.rev() {
            if !consider(row.map_err(store_err)?.0.value().1, &mut out)? {
                break;
            }
        }
    } else if let Some(c) = filter.category_id {
        let idx = tx.open_table(REQUESTS_BY_CATEGORY).map_err(store_err)?;
        for row in idx.range((c, 0)..(c, before)).map_err(store_err)?.rev() {
            if !consider(row.map_err(store_err)?.0.value().1, &mut out)? {
                break;
            }
        }
    } else if !filter.statuses.is_empty() {
        // Newest first over each status's keys, merged.
        let idx = tx.open_table(REQUESTS_BY_STATUS).map_err(store_err)?;
        let mut iters = Vec::new();
        for s in &filter.statuses {
            let b = request_status_byte(*s);
            iters.push(idx.range((b, 0)..(b, before)).map_err(store_err)?.rev().peekable());
        }
        loop {
            let mut best: Option<(usize, u64)> = None;
            for (i, it) in iters.iter_mut().enumerate() {
                if let Some(Ok((k, _))) = it.peek() {
                    let id = k.value().1;
                    if best.is_none_or(|(_, b)| id > b) {
                        best = Some((i, id));
                    }
                }
            }
            let Some((i, id)) = best else { break };
            if let Some(it) = iters.get_mut(i) {
                it.next();
            }
            if !consider(id, &mut out)? {
                break;
            }
        }
    } else {
        for row in table.raw().range(0..before).map_err(store_err)?.rev() {
            if !consider(row.map_err(store_err)?.0.value(), &mut out)? {
                break;
            }
        }
    }
    Ok((out, next))
}

/// Counts for a list's tabs: open requests by status (what `who` may see).
pub fn open_counts(db: &Db, who: &Caller) -> Result<BTreeMap<&'static str, u64>, AppError> {
    let tx = db.read()?;
    let table = REQUESTS.open(&tx)?;
    let idx = tx.open_table(REQUESTS_BY_STATUS).map_err(store_err)?;
    let mut cats: BTreeMap<u64, Option<RequestCategoryV1>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for s in super::STATUSES.into_iter().filter(|s| !is_final(*s)) {
        let b = request_status_byte(s);
        let mut n = 0;
        for row in idx.range((b, 0)..=(b, u64::MAX)).map_err(store_err)? {
            let id = row.map_err(store_err)?.0.value().1;
            if who.dispatches_requests() {
                n += 1;
                continue;
            }
            let Some(r) = table.get(id)? else { continue };
            if let std::collections::btree_map::Entry::Vacant(e) = cats.entry(r.category_id) {
                e.insert(category_in(&tx, r.category_id)?);
            }
            if who.can_see_request(&r, cats.get(&r.category_id).and_then(|c| c.as_ref())) {
                n += 1;
            }
        }
        out.insert(status_code(s), n);
    }
    Ok(out)
}

/// The open requests assigned to `who` (the cabinet lists them with their tasks).
pub fn mine(db: &Db, who: &Caller, limit: usize) -> Result<Vec<(u64, RequestV1)>, AppError> {
    let me = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    let tx = db.read()?;
    let table = REQUESTS.open(&tx)?;
    let idx = tx.open_table(REQUESTS_BY_ASSIGNEE).map_err(store_err)?;
    let mut out = Vec::new();
    for row in idx.range((me, 0)..=(me, u64::MAX)).map_err(store_err)?.rev() {
        let id = row.map_err(store_err)?.0.value().1;
        if let Some(r) = table.get(id)?
            && !is_final(r.status)
        {
            out.push((id, r));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

// ---------- changes ----------

pub(super) fn load(tx: &WriteTransaction, id: u64) -> Result<RequestV1, AppError> {
    REQUESTS.open(tx)?.get(id)?.ok_or_else(not_found)
}

/// Assigns (or reassigns) a request to a member of the staff, with a note.
/// A team member may take an unassigned one for themselves.
pub async fn assign(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    id: u64,
    assignee_id: u64,
    note: Option<&str>,
) -> Result<RequestV1, AppError> {
    let note = comment(note, false)?;
    let now = state.now_ms();
    let (who2, slug, base) = (who.clone(), tenant.slug.clone(), state.config.public_url.clone().unwrap_or_default());
    let (r, after) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            let cat = category_in(tx, old.category_id)?;
            if !who2.can_see_request(&old, cat.as_ref()) {
                return Err(not_found());
            }
            workflow::refuse(&allowed_moves(&who2, &old, cat.as_ref()), Move::Assign, forbidden_move)?;
            if !who2.dispatches_requests() && assignee_id != who2.id() {
                return Err(forbidden_move());
            }
            match USERS.open(tx)?.get(assignee_id)? {
                Some(a) if a.active => {}
                _ => return Err(AppError::invalid("assignee_id", "validation.assignee")),
            }
            if old.assignee_id == Some(assignee_id) {
                return Ok((old, After::default()));
            }
            let mut r = old.clone();
            r.assignee_id = Some(assignee_id);
            r.updated_at = now;
            if matches!(r.status, RequestStatus::New) {
                r.status = RequestStatus::Assigned;
            }
            let actor = Actor::of(&who2);
            history(
                tx,
                now,
                &actor,
                id,
                Line::field("assignee", Some(user_name(tx, old.assignee_id)?), Some(user_name(tx, Some(assignee_id))?))
                    .comment(note.clone()),
            )?;
            if r.status != old.status {
                history(tx, now, &actor, id, Line::status(status_code(old.status), status_code(r.status), None))?;
            }
            save(tx, id, Some(&old), &r)?;
            chat::follow(tx, assignee_id, r.thread_id)?;
            let mut after = After { changed: vec![id], ..After::default() };
            after.sent.extend(notify_staff(tx, now, who2.id(), &[assignee_id], "request_assigned", id, &r)?);
            tell_client(tx, &slug, &base, id, &r, Event::Assigned, now, &mut after)?;
            after.public.push((r.token.clone(), "request.status", serde_json::json!({"status": status_code(r.status)})));
            Ok((r, after))
        })
        .await?;
    after.send(state, tenant);
    Ok(r)
}

/// Moves a request to `to` (see [`Move`]); rejecting needs a reason, which
/// the client reads.
pub async fn change_status(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    id: u64,
    to: RequestStatus,
    note: Option<&str>,
) -> Result<RequestV1, AppError> {
    let note = comment(note, to == RequestStatus::Rejected)?;
    let now = state.now_ms();
    let (who2, slug, base) = (who.clone(), tenant.slug.clone(), state.config.public_url.clone().unwrap_or_default());
    let (r, after) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            let cat = category_in(tx, old.category_id)?;
            if !who2.can_see_request(&old, cat.as_ref()) {
                return Err(not_found());
            }
            let Some(m) = move_to(&old, to) else {
                return Err(workflow::transition("error.request_transition", status_code(old.status), status_code(to)));
            };
            let moves = allowed_moves(&who2, &old, cat.as_ref());
            if !moves.contains(&m) {
                // A move that exists but not from here is a conflict; one not theirs, forbidden.
                let theirs = Move::ALL.iter().any(|x| moves.contains(x) && x.target().is_some());
                return Err(if theirs || is_final(old.status) {
                    workflow::transition("error.request_transition", status_code(old.status), status_code(to))
                } else {
                    forbidden_move()
                });
            }
            let mut r = old.clone();
            set_status(&mut r, to, now);
            if to == RequestStatus::Rejected {
                r.reject_reason = note.clone();
            }
            history(tx, now, &Actor::of(&who2), id, Line::status(status_code(old.status), status_code(to), note.clone()))?;
            save(tx, id, Some(&old), &r)?;
            let mut after = After { changed: vec![id], ..After::default() };
            tell_client(tx, &slug, &base, id, &r, status_event(to), now, &mut after)?;
            if to == RequestStatus::Done {
                tell_client(tx, &slug, &base, id, &r, Event::RateUs, now, &mut after)?;
            }
            // Whoever reviews hears of handed-in work; the assignee of the rest.
            let mut hear: Vec<u64> = r.assignee_id.into_iter().collect();
            if to == RequestStatus::PendingReview
                && let Some(l) = cat.as_ref().and_then(|c| c.lead_id)
            {
                hear.push(l);
            }
            after.sent.extend(notify_staff(tx, now, who2.id(), &hear, "request_status", id, &r)?);
            after.public.push((r.token.clone(), "request.status", serde_json::json!({"status": status_code(r.status)})));
            Ok((r, after))
        })
        .await?;
    after.send(state, tenant);
    Ok(r)
}

/// Changes a request's priority (a reviewer, while it is open).
pub async fn set_priority(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, p: Priority) -> Result<RequestV1, AppError> {
    let now = state.now_ms();
    let who2 = who.clone();
    let r = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            let cat = category_in(tx, old.category_id)?;
            if !who2.can_see_request(&old, cat.as_ref()) {
                return Err(not_found());
            }
            workflow::refuse(&allowed_moves(&who2, &old, cat.as_ref()), Move::Edit, forbidden_move)?;
            if old.priority == p {
                return Ok(old);
            }
            let mut r = old.clone();
            r.priority = p;
            r.updated_at = now;
            history(
                tx,
                now,
                &Actor::of(&who2),
                id,
                Line::field("priority", Some(super::priority_code(old.priority).into()), Some(super::priority_code(p).into())),
            )?;
            save(tx, id, Some(&old), &r)?;
            Ok(r)
        })
        .await?;
    After { changed: vec![id], ..After::default() }.send(state, tenant);
    Ok(r)
}

/// Staff write in a request's conversation: a public reply (the client
/// reads it; the first one stops the first-response clock) or an internal
/// note (staff only, never on the client's page or stream).
pub async fn reply(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, input: NewMessage) -> Result<MessageOut, AppError> {
    let me = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    chat::check_message(&input)?;
    let now = state.now_ms();
    let (who2, tenant2, slug, base) =
        (who.clone(), tenant.clone(), tenant.slug.clone(), state.config.public_url.clone().unwrap_or_default());
    let (out, after) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            let cat = category_in(tx, old.category_id)?;
            if !who2.can_see_request(&old, cat.as_ref()) {
                return Err(not_found());
            }
            workflow::refuse(&allowed_moves(&who2, &old, cat.as_ref()), Move::Reply, forbidden_move)?;
            if !input.internal && is_final(old.status) {
                return Err(closed());
            }
            let th = chat::thread_record(tx, old.thread_id)?;
            let (out, pushes) = chat::write_message(tx, &tenant2, &Author::Staff(me), old.thread_id, th, input.clone(), now)?;
            let mut after = After { chat: Some(pushes), ..After::default() };
            if !input.internal {
                let mut r = old.clone();
                if r.first_response_at.is_none() {
                    r.first_response_at = Some(now);
                    history(tx, now, &Actor::of(&who2), id, Line::new("first_response"))?;
                }
                r.updated_at = now;
                save(tx, id, Some(&old), &r)?;
                after.changed.push(id);
                after.public.push((r.token.clone(), "request.message", serde_json::to_value(&out).unwrap_or_default()));
                tell_client(tx, &slug, &base, id, &r, Event::StaffReplied, now, &mut after)?;
            }
            Ok((out, after))
        })
        .await?;
    after.send(state, tenant);
    state.search.touch_message(tenant, out.id);
    Ok(out)
}

/// The request's conversation as staff read it (public and internal).
pub fn messages(db: &Db, who: &Caller, id: u64, w: chat::Window) -> Result<Vec<MessageOut>, AppError> {
    let thread = {
        let tx = db.read()?;
        load_visible(&tx, who, id)?.0.thread_id
    };
    Ok(chat::messages(db, who, chat::Target::Thread(thread), w)?.1)
}

// ---------- bulk ----------

/// What a bulk change did to each request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RequestBulkResult)]
pub struct BulkResult {
    pub id: u64,
    pub ok: bool,
    /// Why not, in the caller's language.
    pub error: Option<String>,
}

/// Does `one` to each of `ids` (a dispatcher's bulk change), each on its
/// own, so one refused does not stop the rest; says how each went.
async fn each<F, Fut>(who: &Caller, ids: &[u64], mut one: F) -> Result<Vec<BulkResult>, AppError>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<RequestV1, AppError>>,
{
    if !who.dispatches_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let lang = who.user().map(|p| p.lang).unwrap_or(Lang::Uz);
    let mut out = Vec::new();
    for &id in ids.iter().take(PAGE_MAX) {
        let r = one(id).await;
        out.push(BulkResult { id, ok: r.is_ok(), error: r.err().map(|e| e.info().message(lang)) });
    }
    Ok(out)
}

/// Assigns many requests (a dispatcher).
pub async fn bulk_assign(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    ids: &[u64],
    assignee_id: u64,
    note: Option<&str>,
) -> Result<Vec<BulkResult>, AppError> {
    each(who, ids, |id| assign(state, tenant, who, id, assignee_id, note)).await
}

/// Moves many requests to one status.
pub async fn bulk_status(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    ids: &[u64],
    to: RequestStatus,
    note: Option<&str>,
) -> Result<Vec<BulkResult>, AppError> {
    each(who, ids, |id| change_status(state, tenant, who, id, to, note)).await
}

// ---------- the client's side ----------

/// The request behind a status page's token (`{slug}-{token}` split by the caller).
pub fn by_token(db: &Db, token: &str) -> Result<(u64, RequestV1), AppError> {
    let tx = db.read()?;
    let id =
        tx.open_table(REQUESTS_BY_TOKEN).map_err(store_err)?.get(token).map_err(store_err)?.map(|v| v.value()).ok_or_else(not_found)?;
    let r = REQUESTS.open(&tx)?.get(id)?.ok_or_else(not_found)?;
    Ok((id, r))
}

/// A message as the client reads it (public only).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = RequestPublicMessage)]
pub struct PublicMessage {
    pub id: u64,
    /// Written by the client themselves.
    pub mine: bool,
    /// The staff member's name, or the client's.
    pub author_name: String,
    pub text: String,
    pub files: Vec<crate::files::FileMeta>,
    pub created_at_ms: i64,
}

impl PublicMessage {
    pub fn of(m: &MessageOut) -> PublicMessage {
        PublicMessage {
            id: m.id,
            mine: m.from_client,
            author_name: m.author_name.clone(),
            text: m.text.clone(),
            files: m.files.clone(),
            created_at_ms: m.created_at_ms,
        }
    }
}

/// What the client's status page shows.
#[derive(Debug, Clone)]
pub struct PublicView {
    pub id: u64,
    pub request: RequestV1,
    pub category: Option<RequestCategoryV1>,
    pub client_name: String,
    pub lang: Lang,
    pub messages: Vec<PublicMessage>,
    /// What the client was told, newest last.
    pub notices: Vec<ClientNoticeV1>,
    /// The client may still write (open, or done within 7 days).
    pub may_write: bool,
    /// Done and not rated yet.
    pub may_rate: bool,
}

pub(super) fn may_write(r: &RequestV1, now: i64) -> bool {
    match r.status {
        RequestStatus::Rejected => false,
        RequestStatus::Done => r.resolved_at.is_some_and(|d| now - d <= super::REOPEN_DAYS * 86_400_000),
        _ => true,
    }
}

/// The client's view of their request: its public messages only (internal
/// notes are never read here), the notices they were sent, what they may do.
pub fn public_view(db: &Db, token: &str, now: i64) -> Result<PublicView, AppError> {
    let (id, r) = by_token(db, token)?;
    let tx = db.read()?;
    let (cid, client) = live_client(&tx, r.client_id)?;
    let index = tx.open_table(THREAD_MESSAGES).map_err(store_err)?;
    let table = MESSAGES.open(&tx)?;
    let mut ids = Vec::new();
    for row in index.range((r.thread_id, 0)..=(r.thread_id, u64::MAX)).map_err(store_err)?.rev() {
        let mid = row.map_err(store_err)?.0.value().1;
        if let Some(m) = table.get(mid)?
            && !m.internal
            && m.deleted.is_none()
        {
            ids.push(mid);
            if ids.len() >= 200 {
                break;
            }
        }
    }
    ids.reverse();
    drop((index, table));
    let mut messages = Vec::with_capacity(ids.len());
    for mid in ids {
        messages.push(PublicMessage::of(&chat::message(db, &Caller::System, mid)?));
    }
    let mut notices = Vec::new();
    for row in CLIENT_NOTICES.open(&tx)?.range((cid, 0)..=(cid, u64::MAX))? {
        let (_, n) = row?;
        if n.request_id == id {
            notices.push(n);
        }
    }
    let lang = lang_of(&client.lang);
    Ok(PublicView {
        id,
        may_write: may_write(&r, now),
        may_rate: r.status == RequestStatus::Done && r.rating.is_none(),
        category: category_in(&tx, r.category_id)?,
        client_name: client.name,
        lang,
        request: r,
        messages,
        notices,
    })
}

/// The client writes on their status page (or in the bot): the message
/// lands in the thread for the staff; a reply to a request waiting for them
/// resumes the clock; to a done one within 7 days, reopens it.
pub async fn client_reply(
    state: &AppState,
    tenant: &Tenant,
    token: &str,
    text_in: &str,
    file_ids: Vec<u64>,
) -> Result<PublicMessage, AppError> {
    let input = NewMessage { text: text_in.to_string(), file_ids, ..NewMessage::default() };
    chat::check_message(&input)?;
    let (id, _) = by_token(tenant.db()?, token)?;
    let now = state.now_ms();
    let (tenant2, slug, base) = (tenant.clone(), tenant.slug.clone(), state.config.public_url.clone().unwrap_or_default());
    let (out, after) = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if !may_write(&old, now) {
                return Err(closed());
            }
            let (cid, client) = live_client(tx, old.client_id)?;
            let th = chat::thread_record(tx, old.thread_id)?;
            let author = Author::Client { id: cid, name: client.name.clone() };
            let (out, pushes) = chat::write_message(tx, &tenant2, &author, old.thread_id, th, input.clone(), now)?;
            let mut after = After { chat: Some(pushes), changed: vec![id], ..After::default() };
            let actor = Actor { id: 0, name: client.name.clone() };
            let mut r = old.clone();
            r.updated_at = now;
            let to = match old.status {
                RequestStatus::WaitingClient => Some(RequestStatus::InProgress),
                RequestStatus::Done => Some(RequestStatus::Reopened),
                _ => None,
            };
            if let Some(to) = to {
                set_status(&mut r, to, now);
                history(tx, now, &actor, id, Line::status(status_code(old.status), status_code(to), None))?;
                after.public.push((r.token.clone(), "request.status", serde_json::json!({"status": status_code(to)})));
                tell_client(tx, &slug, &base, id, &r, Event::StatusChanged, now, &mut after)?;
            }
            save(tx, id, Some(&old), &r)?;
            let mut hear: Vec<u64> = r.assignee_id.into_iter().collect();
            if r.assignee_id.is_none()
                && let Some(c) = category_in(tx, r.category_id)?
            {
                hear.extend(c.team);
            }
            after.sent.extend(notify_staff(tx, now, 0, &hear, "request_client_reply", id, &r)?);
            after.public.push((r.token.clone(), "request.message", serde_json::to_value(&out).unwrap_or_default()));
            Ok((out, after))
        })
        .await?;
    after.send(state, tenant);
    state.search.touch_message(tenant, out.id);
    Ok(PublicMessage::of(&out))
}

/// The client rates a done request 1–5, once, with an optional comment.
pub async fn rate(state: &AppState, tenant: &Tenant, token: &str, rating: u8, comment_in: Option<&str>) -> Result<RequestV1, AppError> {
    if !(1..=5).contains(&rating) {
        return Err(AppError::invalid("rating", "validation.rating"));
    }
    let c = comment(comment_in, false)?;
    let (id, _) = by_token(tenant.db()?, token)?;
    let now = state.now_ms();
    let r = tenant
        .db()?
        .write(move |tx| {
            let old = load(tx, id)?;
            if old.status != RequestStatus::Done {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.request_not_done"));
            }
            if old.rating.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.request_rated"));
            }
            let (_, client) = live_client(tx, old.client_id)?;
            let mut r = old.clone();
            r.rating = Some(rating);
            r.rating_comment = c.clone();
            history(
                tx,
                now,
                &Actor { id: 0, name: client.name },
                id,
                Line { to: Some(rating.to_string()), comment: c.clone(), ..Line::new("rated") },
            )?;
            save(tx, id, Some(&old), &r)?;
            Ok(r)
        })
        .await?;
    After { changed: vec![id], ..After::default() }.send(state, tenant);
    Ok(r)
}

/// The categories a client may file in (the active ones), in their order.
pub fn public_categories(db: &Db) -> Result<Vec<(u64, RequestCategoryV1)>, AppError> {
    let tx = db.read()?;
    let mut out = Vec::new();
    for row in REQUEST_CATEGORIES.open(&tx)?.range(0..=u64::MAX)? {
        let (id, c) = row?;
        if c.active {
            out.push((id.value(), c));
        }
    }
    out.sort_by_key(|(id, c)| (c.sort, *id));
    Ok(out)
}

// ---------- files from clients ----------

/// The signed reference a client gets for a file they uploaded
/// (`{id}.{mac}`): only its holder can attach that file to a request.
pub fn file_ref(state: &AppState, slug: &str, id: u64) -> String {
    format!("{id}.{}", state.keys.url_token(&format!("client-file:{slug}:{id}")))
}

/// The file id of a signed reference, if it is one this company gave.
pub fn check_file_ref(state: &AppState, slug: &str, s: &str) -> Result<u64, AppError> {
    let bad = || AppError::invalid("file_ids", "files.unknown").with_arg("id", 0);
    let (id, mac) = s.split_once('.').ok_or_else(bad)?;
    let id: u64 = id.parse().map_err(|_| bad())?;
    if state.keys.url_token_ok(&format!("client-file:{slug}:{id}"), mac) { Ok(id) } else { Err(bad()) }
}

/// File `file_id` as the status page of request `token` may show it: only
/// a file attached to one of that request's public messages (never one of
/// an internal note, nor of a deleted message, nor any other file).
pub fn public_file(db: &Db, token: &str, file_id: u64) -> Result<schema::FileV1, AppError> {
    let gone = || AppError::new(ErrorKind::NotFound).with_message("files.not_found");
    let (_, r) = by_token(db, token)?;
    let tx = db.read()?;
    let refs = tx.open_table(schema::FILE_REFS).map_err(store_err)?;
    let messages = MESSAGES.open(&tx)?;
    for row in refs.range((file_id, 0)..=(file_id, u64::MAX)).map_err(store_err)? {
        let (key, thread) = row.map_err(store_err)?;
        if thread.value() != r.thread_id {
            continue;
        }
        if let Some(m) = messages.get(key.value().1)?
            && !m.internal
            && m.deleted.is_none()
        {
            return schema::FILES.open(&tx)?.get(file_id)?.ok_or_else(gone);
        }
    }
    Err(gone())
}

// ---------- field values for display ----------

/// A filed field's value as people read it: a choice's label in `lang`,
/// a date as dd.mm.yyyy, the rest as typed.
pub fn shown_value(f: &FieldValue, lang: Lang) -> String {
    if let Some(n) = &f.shown {
        return n.get(lang).to_string();
    }
    if f.kind == schema::FieldKind::Date
        && let Ok(d) = f.value.parse::<jiff::civil::Date>()
    {
        return d.strftime("%d.%m.%Y").to_string();
    }
    f.value.clone()
}

// ---------- the staff's lists ----------

/// A row of a staff list: a request with the names it shows.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: u64,
    pub request: RequestV1,
    pub category: Option<RequestCategoryV1>,
    pub client_name: String,
    pub assignee_name: String,
}

/// The names a list shows for `items` (category, client, assignee), read
/// in one snapshot.
pub fn rows(db: &Db, items: Vec<(u64, RequestV1)>) -> Result<Vec<Row>, AppError> {
    let tx = db.read()?;
    let mut cats: BTreeMap<u64, Option<RequestCategoryV1>> = BTreeMap::new();
    let mut out = Vec::with_capacity(items.len());
    for (id, r) in items {
        if let std::collections::btree_map::Entry::Vacant(e) = cats.entry(r.category_id) {
            e.insert(category_in(&tx, r.category_id)?);
        }
        let client_name = live_client(&tx, r.client_id).map(|(_, c)| c.name).unwrap_or_default();
        out.push(Row {
            id,
            category: cats.get(&r.category_id).cloned().flatten(),
            client_name,
            assignee_name: user_name(&tx, r.assignee_id)?,
            request: r,
        });
    }
    Ok(out)
}

/// The categories a staff list offers as filters (active or not), in
/// their order.
pub fn list_categories(db: &Db) -> Result<Vec<(u64, RequestCategoryV1)>, AppError> {
    let tx = db.read()?;
    let mut all = REQUEST_CATEGORIES.open(&tx)?.all()?;
    all.sort_by_key(|(id, c)| (c.sort, *id));
    Ok(all)
}
