//! Staff accounts linked to Telegram: one-time link codes (valid 24 hours,
//! `t.me/<bot>?start=<code>`), redeeming one from the bot, unlinking from
//! either side.

use crate::app::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{
    BOT_CONFIG, BOT_LINK_CODES, BOT_STAFF, BOT_STAFF_BY_TELEGRAM, BotState, FieldChange, LinkCodeV1, StaffLinkV1, USERS,
};
use crate::store::{Db, store_err};
use crate::tenancy::Tenant;
use redb::ReadableTable;

/// How long a link code is valid: 24 hours.
pub const CODE_TTL_MS: i64 = 24 * 3_600_000;

/// Whether `who` may link (or unlink) user `user_id`: themselves, or an
/// admin who manages users.
fn may_link(who: &Caller, user_id: u64) -> bool {
    who.user().is_some_and(|p| p.id == user_id) || who.can("users.manage")
}

/// A new link code for user `user_id`; `send_credentials` (an admin's
/// choice) sends the login and a fresh one-time password when it is opened.
/// Refused (409 `telegram.not_connected`) while no bot runs: nobody could
/// open the link.
pub async fn create_code(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    user_id: u64,
    send_credentials: bool,
) -> Result<(String, LinkCodeV1), AppError> {
    if !may_link(who, user_id) {
        return Err(ErrorKind::Forbidden.into());
    }
    if send_credentials && !who.can("users.manage") {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("telegram.credentials_admin_only"));
    }
    let now = state.now_ms();
    // 16 random bytes in hex: Telegram allows 64 characters of [A-Za-z0-9_-].
    let code = hex::encode(crate::store::random_bytes::<16>());
    let who2 = who.clone();
    let code2 = code.clone();
    let rec = tenant
        .db()?
        .write(move |tx| {
            // A link opens a chat with the company's bot: none runs, no link.
            if !BOT_CONFIG.open(tx)?.get(0)?.is_some_and(|c| c.state == BotState::Running) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("telegram.not_connected"));
            }
            let users = USERS.open(tx)?;
            let account = users.get(user_id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.user_not_found"))?;
            if !account.active {
                return Err(AppError::new(ErrorKind::Conflict).with_message("telegram.user_inactive"));
            }
            let mut codes = BOT_LINK_CODES.open(tx)?;
            // Old codes of this user, and any expired ones, go.
            let mut stale = Vec::new();
            for row in codes.iter()? {
                let (k, c) = row?;
                if c.user_id == user_id || c.expires_at <= now {
                    stale.push(k.value().to_string());
                }
            }
            for k in stale {
                codes.remove(k.as_str())?;
            }
            let rec = LinkCodeV1 { user_id, expires_at: now + CODE_TTL_MS, send_credentials, created_by: who2.id(), created_at: now };
            codes.insert(code2.as_str(), &rec)?;
            let change = FieldChange { field: "send_credentials".into(), from: None, to: Some(send_credentials.to_string()) };
            audit::record(tx, now, &who2, "telegram.link_code", &format!("user:{user_id}"), vec![change])?;
            Ok(rec)
        })
        .await?;
    Ok((code, rec))
}

/// What redeeming a code did.
pub struct Redeemed {
    pub user_id: u64,
    /// The login and one-time password to send, when the admin asked for them.
    pub credentials: Option<(String, String)>,
}

/// A Telegram account opened a link code: it is linked to the code's user
/// (replacing any account linked before, on either side) and the code is
/// used up. Refused when unknown or expired.
pub async fn redeem(
    state: &AppState,
    tenant: &Tenant,
    code: &str,
    telegram_id: i64,
    chat_id: i64,
    telegram_username: Option<String>,
) -> Result<Redeemed, AppError> {
    let now = state.now_ms();
    let code = code.to_string();
    let (user_id, send) = tenant
        .db()?
        .write(move |tx| {
            let mut codes = BOT_LINK_CODES.open(tx)?;
            let c = codes.get(code.as_str())?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("telegram.code_unknown"))?;
            codes.remove(code.as_str())?;
            if c.expires_at <= now {
                return Ok(Err(AppError::new(ErrorKind::Conflict).with_message("telegram.code_expired")));
            }
            let account = USERS.open(tx)?.get(c.user_id)?;
            if !account.is_some_and(|a| a.active) {
                return Ok(Err(AppError::new(ErrorKind::Conflict).with_message("telegram.user_inactive")));
            }
            link_in(tx, c.user_id, StaffLinkV1 { telegram_id, chat_id, telegram_username: telegram_username.clone(), linked_at: now })?;
            audit::record(tx, now, &Caller::System, "telegram.link", &format!("user:{}", c.user_id), vec![])?;
            Ok(Ok((c.user_id, c.send_credentials)))
        })
        .await??;
    let credentials = if send { Some(crate::org::service::issue_one_time_password(state, tenant, user_id).await?) } else { None };
    Ok(Redeemed { user_id, credentials })
}

fn link_in(tx: &redb::WriteTransaction, user_id: u64, link: StaffLinkV1) -> Result<(), AppError> {
    let mut staff = BOT_STAFF.open(tx)?;
    let mut by_tg = tx.open_table(BOT_STAFF_BY_TELEGRAM).map_err(store_err)?;
    if let Some(old) = staff.get(user_id)? {
        by_tg.remove(old.telegram_id).map_err(store_err)?;
    }
    if let Some(other) = by_tg.get(link.telegram_id).map_err(store_err)?.map(|v| v.value()) {
        staff.remove(other)?;
    }
    by_tg.insert(link.telegram_id, user_id).map_err(store_err)?;
    staff.insert(user_id, &link)?;
    Ok(())
}

/// Unlinks user `user_id` from Telegram (themselves or an admin; the bot's
/// /unlink acts as the user). Whether there was a link.
pub async fn unlink(state: &AppState, tenant: &Tenant, who: &Caller, user_id: u64) -> Result<bool, AppError> {
    if !may_link(who, user_id) {
        return Err(ErrorKind::Forbidden.into());
    }
    let now = state.now_ms();
    let who2 = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let Some(old) = BOT_STAFF.open(tx)?.get(user_id)? else { return Ok(false) };
            BOT_STAFF.open(tx)?.remove(user_id)?;
            tx.open_table(BOT_STAFF_BY_TELEGRAM).map_err(store_err)?.remove(old.telegram_id).map_err(store_err)?;
            audit::record(tx, now, &who2, "telegram.unlink", &format!("user:{user_id}"), vec![])?;
            Ok(true)
        })
        .await
}

/// The staff user a Telegram account is linked to.
pub fn user_of(db: &Db, telegram_id: i64) -> Result<Option<u64>, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(BOT_STAFF_BY_TELEGRAM).map_err(store_err)?;
    Ok(t.get(telegram_id).map_err(store_err)?.map(|v| v.value()))
}

/// A user's Telegram link, if any (their own, or an admin who views users).
pub fn link_of(db: &Db, who: &Caller, user_id: u64) -> Result<Option<StaffLinkV1>, AppError> {
    if !(may_link(who, user_id) || who.can("users.view")) {
        return Err(ErrorKind::Forbidden.into());
    }
    link_for(db, user_id)
}

/// A user's Telegram link as the system reads it: the bot words a
/// notification in the language of the chat it goes to.
pub fn link_for(db: &Db, user_id: u64) -> Result<Option<StaffLinkV1>, AppError> {
    let tx = db.read()?;
    BOT_STAFF.open(&tx)?.get(user_id)
}

/// Every linked account (the digest, the bench): user id → link.
pub fn all_links(db: &Db) -> Result<Vec<(u64, StaffLinkV1)>, AppError> {
    let tx = db.read()?;
    BOT_STAFF.open(&tx)?.all()
}

/// Links without a code: for the demo and the benches, as the system.
pub async fn link_directly(tenant: &Tenant, user_id: u64, telegram_id: i64, now: i64) -> Result<(), AppError> {
    tenant
        .db()?
        .write(move |tx| link_in(tx, user_id, StaffLinkV1 { telegram_id, chat_id: telegram_id, telegram_username: None, linked_at: now }))
        .await
}
