//! A client's own side of their requests when they come through Telegram:
//! who a Telegram account is, their requests (status, last public reply),
//! one request's story as the client may read it, their phone verified
//! from a shared contact (joining what they filed through other channels),
//! the notices the bot delivers, and a comment on their rating. The rules
//! are the status page's: public messages only, never internal notes.

use super::service::{self as svc, After, PublicMessage, PublicView, category_in, live_client};
use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::service as chat;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::schema::{
    CLIENT_NOTICES, CLIENTS, CLIENTS_BY_PHONE, CLIENTS_BY_TELEGRAM, ClientNoticeV1, ClientV1, MESSAGES, REQUEST_EVENTS, REQUESTS,
    REQUESTS_BY_CLIENT, RequestCategoryV1, RequestStatus, RequestV1, THREAD_MESSAGES,
};
use crate::store::{Db, Txn, next_id, store_err};
use crate::tenancy::Tenant;
use redb::ReadableTable;

/// The client a Telegram account is (following merges), if they filed or
/// shared their phone through the bot.
pub fn by_telegram(db: &Db, telegram_id: i64) -> Result<Option<(u64, ClientV1)>, AppError> {
    let tx = db.read()?;
    client_of(&tx, telegram_id)
}

fn client_of(tx: &impl Txn, telegram_id: i64) -> Result<Option<(u64, ClientV1)>, AppError> {
    let id = tx.open_def(CLIENTS_BY_TELEGRAM).map_err(store_err)?.get(telegram_id).map_err(store_err)?.map(|v| v.value());
    match id {
        Some(id) => Ok(Some(live_client(tx, id)?)),
        None => Ok(None),
    }
}

/// The client behind a Telegram account chose another language (/lang):
/// their notices are worded in it from now on. Nothing when they are no
/// client yet.
pub async fn set_lang(tenant: &Tenant, telegram_id: i64, lang: Lang) -> Result<(), AppError> {
    tenant
        .db()?
        .write(move |tx| {
            let Some((id, mut c)) = client_of(tx, telegram_id)? else { return Ok(()) };
            if c.lang != lang.code() {
                c.lang = lang.code().to_string();
                CLIENTS.open(tx)?.insert(id, &c)?;
            }
            Ok(())
        })
        .await
}

/// One of a client's requests, as their list shows it.
#[derive(Debug, Clone)]
pub struct Mine {
    pub id: u64,
    pub request: RequestV1,
    pub category: Option<RequestCategoryV1>,
    /// The staff's last public reply (never an internal note).
    pub last_reply: Option<PublicMessage>,
}

/// The requests of the client behind a Telegram account, newest first (at
/// most `limit`).
pub fn of_telegram(db: &Db, telegram_id: i64, limit: usize) -> Result<Vec<Mine>, AppError> {
    let tx = db.read()?;
    let Some((cid, _)) = client_of(&tx, telegram_id)? else { return Ok(Vec::new()) };
    let mut ids = Vec::new();
    {
        let by_client = tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?;
        for row in by_client.range((cid, 0)..=(cid, u64::MAX)).map_err(store_err)?.rev().take(limit) {
            ids.push(row.map_err(store_err)?.0.value().1);
        }
    }
    let requests = REQUESTS.open(&tx)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(r) = requests.get(id)? else { continue };
        let last = last_staff_reply(&tx, r.thread_id, i64::MAX)?;
        let last_reply = match last {
            Some(mid) => Some(PublicMessage::of(&chat::message(db, &Caller::System, mid)?)),
            None => None,
        };
        out.push(Mine { id, category: category_in(&tx, r.category_id)?, request: r, last_reply });
    }
    Ok(out)
}

/// Most requests one Telegram account files in an hour: a person writes a
/// few; more is a script or a stuck finger.
pub const FILINGS_PER_HOUR: usize = 5;

/// Refuses a new filing from a Telegram account that filed
/// [`FILINGS_PER_HOUR`] in the last hour (the web form's per-address limit,
/// for the bot).
pub fn check_filing_pace(db: &Db, telegram_id: i64, now: i64) -> Result<(), AppError> {
    let tx = db.read()?;
    let Some((cid, _)) = client_of(&tx, telegram_id)? else { return Ok(()) };
    let by_client = tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?;
    let requests = REQUESTS.open(&tx)?;
    let mut recent = 0;
    for row in by_client.range((cid, 0)..=(cid, u64::MAX)).map_err(store_err)?.rev().take(FILINGS_PER_HOUR) {
        let id = row.map_err(store_err)?.0.value().1;
        if requests.get(id)?.is_some_and(|r| r.created_at > now - 3_600_000) {
            recent += 1;
        }
    }
    if recent >= FILINGS_PER_HOUR {
        return Err(AppError::new(ErrorKind::RateLimited).with_message("bot.client.too_many").with_retry_after(3600));
    }
    Ok(())
}

/// The staff's last public message in a thread written at or before `at`.
fn last_staff_reply(tx: &impl Txn, thread: u64, at: i64) -> Result<Option<u64>, AppError> {
    let index = tx.open_def(THREAD_MESSAGES).map_err(store_err)?;
    let table = MESSAGES.open(tx)?;
    for row in index.range((thread, 0)..=(thread, u64::MAX)).map_err(store_err)?.rev().take(500) {
        let mid = row.map_err(store_err)?.0.value().1;
        if let Some(m) = table.get(mid)?
            && !m.internal
            && m.deleted.is_none()
            && m.client_id.is_none()
            && m.author_id != 0
            && m.created_at <= at
        {
            return Ok(Some(mid));
        }
    }
    Ok(None)
}

/// The status page's token of request `id` when it is the request of the
/// client behind this Telegram account; anyone else's is not found.
pub fn token_of(db: &Db, telegram_id: i64, id: u64) -> Result<String, AppError> {
    let tx = db.read()?;
    let Some((cid, _)) = client_of(&tx, telegram_id)? else { return Err(svc::not_found()) };
    let r = REQUESTS.open(&tx)?.get(id)?.ok_or_else(svc::not_found)?;
    if live_client(&tx, r.client_id)?.0 != cid {
        return Err(svc::not_found());
    }
    Ok(r.token)
}

/// One line of a request's story as its client reads it.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A public message (theirs or the staff's).
    Message(PublicMessage),
    /// The status moved (`from`, `to`); filing is `to` new.
    Status { at: i64, to: RequestStatus },
}

impl Entry {
    pub fn at(&self) -> i64 {
        match self {
            Entry::Message(m) => m.created_at_ms,
            Entry::Status { at, .. } => *at,
        }
    }
}

/// The status page's view of request `token` and its story in order: the
/// public messages and the changes of status (no internal notes, no
/// comments staff wrote on a move).
pub fn story(db: &Db, token: &str, now: i64) -> Result<(PublicView, Vec<Entry>), AppError> {
    let view = svc::public_view(db, token, now)?;
    let tx = db.read()?;
    let mut out: Vec<Entry> = Vec::new();
    for e in crate::workflow::history(&tx, REQUEST_EVENTS, view.id)? {
        let to = e.to.as_deref().and_then(super::parse_status);
        if let (Some(to), "status" | "created") = (to, e.kind.as_str()) {
            out.push(Entry::Status { at: e.at, to });
        }
    }
    out.extend(view.messages.iter().cloned().map(Entry::Message));
    // In time order; at the same moment a change of status comes first (a
    // request is filed, then its first message is read).
    out.sort_by_key(Entry::at);
    Ok((view, out))
}

/// What verifying a shared phone did.
#[derive(Debug, Clone)]
pub struct Verified {
    pub client_id: u64,
    /// `+998…`
    pub phone: String,
    /// The client's requests now, theirs from every channel.
    pub requests: u64,
}

/// The person behind a Telegram account shared their own phone through
/// Telegram's contact button: the phone is theirs. Their client record
/// (found by the account or the phone, made when neither is known) takes
/// it as verified, and a record the same phone had through another channel
/// (the web form, staff) is joined into the older one, with its requests.
/// Queue tickets of that phone join by the same phone (the queue's phone
/// index).
pub async fn verify_phone(
    state: &AppState,
    tenant: &Tenant,
    telegram_id: i64,
    name: &str,
    phone: &str,
    lang: Lang,
) -> Result<Verified, AppError> {
    let phone = crate::phone::Phone::parse(phone).map_err(|_| AppError::invalid("phone", "validation.phone"))?.into_string();
    let name = name.trim().chars().take(svc::NAME_MAX).collect::<String>();
    let name = if name.is_empty() { phone.clone() } else { name };
    let now = state.now_ms();
    let p = phone.clone();
    let (client_id, requests) = tenant
        .db()?
        .write(move |tx| {
            let by_tg = client_of(tx, telegram_id)?.map(|(id, _)| id);
            let by_phone = match tx.open_table(CLIENTS_BY_PHONE).map_err(store_err)?.get(p.as_str()).map_err(store_err)?.map(|v| v.value())
            {
                Some(id) => Some(live_client(tx, id)?.0),
                None => None,
            };
            let keep = match (by_tg, by_phone) {
                (Some(a), Some(b)) => {
                    let (keep, gone) = (a.min(b), a.max(b));
                    svc::merge_clients(tx, keep, gone)?;
                    keep
                }
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => {
                    let c = ClientV1 {
                        name: name.clone(),
                        phone: None,
                        phone_verified: false,
                        email: None,
                        telegram_id: None,
                        lang: lang.code().to_string(),
                        created_at: now,
                        merged_into: None,
                    };
                    let id = next_id(tx, "client")?;
                    CLIENTS.open(tx)?.insert(id, &c)?;
                    id
                }
            };
            let mut c = CLIENTS.open(tx)?.get(keep)?.ok_or_else(svc::not_found)?;
            // The shared phone is theirs: it replaces one typed before.
            if let Some(old) = c.phone.as_deref().filter(|o| *o != p)
                && tx.open_table(CLIENTS_BY_PHONE).map_err(store_err)?.get(old).map_err(store_err)?.map(|v| v.value()) == Some(keep)
            {
                tx.open_table(CLIENTS_BY_PHONE).map_err(store_err)?.remove(old).map_err(store_err)?;
            }
            c.phone = Some(p.clone());
            c.phone_verified = true;
            c.telegram_id = Some(telegram_id);
            svc::index_client(tx, keep, &c)?;
            CLIENTS.open(tx)?.insert(keep, &c)?;
            let requests =
                tx.open_table(REQUESTS_BY_CLIENT).map_err(store_err)?.range((keep, 0)..=(keep, u64::MAX)).map_err(store_err)?.count();
            Ok((keep, requests as u64))
        })
        .await?;
    Ok(Verified { client_id, phone, requests })
}

/// A notice as the bot delivers it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub notice: ClientNoticeV1,
    pub request: RequestV1,
    /// What the client reads in.
    pub lang: Lang,
    /// For a reply's notice: the staff's public reply it is about.
    pub reply: Option<PublicMessage>,
    /// The client may rate the request now (done, not rated).
    pub may_rate: bool,
}

/// Notice `notice_id` of client `client_id` for the bot to send, marked
/// delivered; `None` when it is gone.
pub async fn deliver_notice(tenant: &Tenant, client_id: u64, notice_id: u64) -> Result<Option<Notice>, AppError> {
    let found = tenant
        .db()?
        .write(move |tx| {
            let mut notices = CLIENT_NOTICES.open(tx)?;
            let Some(mut n) = notices.get((client_id, notice_id))? else { return Ok(None) };
            if !n.delivered {
                n.delivered = true;
                notices.insert((client_id, notice_id), &n)?;
            }
            let Some(r) = REQUESTS.open(tx)?.get(n.request_id)? else { return Ok(None) };
            let (_, client) = live_client(tx, r.client_id)?;
            let reply =
                if n.event == super::templates::Event::StaffReplied.code() { last_staff_reply(tx, r.thread_id, n.at)? } else { None };
            Ok(Some((n, r, client.lang, reply)))
        })
        .await?;
    let Some((notice, request, lang, reply)) = found else { return Ok(None) };
    let reply = match reply {
        Some(mid) => Some(PublicMessage::of(&chat::message(tenant.db()?, &Caller::System, mid)?)),
        None => None,
    };
    let may_rate = request.status == RequestStatus::Done && request.rating.is_none();
    Ok(Some(Notice { notice, request, lang: svc::lang_of(&lang), reply, may_rate }))
}

/// The client adds a comment to the rating they just gave (the status
/// page takes both at once; the bot asks for the comment after the stars).
/// Once: a rated request without a comment yet.
pub async fn comment_rating(state: &AppState, tenant: &Tenant, token: &str, text: &str) -> Result<RequestV1, AppError> {
    let c = svc::comment(Some(text), true)?;
    let (id, _) = svc::by_token(tenant.db()?, token)?;
    let r = tenant
        .db()?
        .write(move |tx| {
            let old = svc::load(tx, id)?;
            if old.status != RequestStatus::Done || old.rating.is_none() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.request_not_done"));
            }
            if old.rating_comment.is_some() {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.request_rated"));
            }
            let mut r = old.clone();
            r.rating_comment = c.clone();
            svc::save(tx, id, Some(&old), &r)?;
            Ok(r)
        })
        .await?;
    After { changed: vec![id], ..After::default() }.send(state, tenant);
    Ok(r)
}
