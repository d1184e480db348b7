//! The company's Telegram bot, as the core sees it: the connection (token,
//! name, whether it runs), staff accounts linked to Telegram, the chats it
//! talks in and their dialogues, the messages it sent, and its outbox.
//!
//! The core never talks to Telegram: the bot front-end (`src/bot/`) checks a
//! token with Telegram, polls for updates, renders and sends. It asks this
//! module for everything it keeps, with a [`Caller`] where a person acts.
//! [`Runners`] is the registry of running bots the front-end fills: the core
//! wakes a company's sender through it after a commit that queued messages.

pub mod chats;
pub mod links;
pub mod outbox;

use crate::app::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{BOT_CONFIG, BOTS, BotConfigV1, BotOutV1, BotState, FieldChange};
use crate::store::{Db, store_err};
use crate::tenancy::Tenant;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Who may connect, disconnect and configure the bot.
pub const MANAGE: &str = "company.setup";
/// The digest's default time: 09:00.
pub const DIGEST_MINUTE: u16 = 9 * 60;

/// A token as an admin may see it: the bot's id and the last four characters.
pub fn mask(token: &str) -> String {
    let id = token.split(':').next().unwrap_or("");
    let tail: String = token.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{id}:••••••{tail}")
}

/// Whether `token` looks like a bot token (`<digits>:<35 characters>`),
/// before asking Telegram.
pub fn parse_token(token: &str) -> Result<(i64, String), AppError> {
    let token = token.trim();
    let bad = || AppError::invalid("token", "telegram.token_invalid");
    let (id, secret) = token.split_once(':').ok_or_else(bad)?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    if id <= 0 || secret.len() < 20 || secret.len() > 100 || !secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(bad());
    }
    Ok((id, token.to_string()))
}

/// The company's bot, if one is connected.
pub fn config(db: &Db) -> Result<Option<BotConfigV1>, AppError> {
    let tx = db.read()?;
    BOT_CONFIG.open(&tx)?.get(0)
}

/// What staff pages may show of the company's bot (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The bot's username, without `@`.
    pub username: String,
    /// The bot's display name.
    pub name: String,
    /// Whether it runs (else Telegram refused its token).
    pub running: bool,
}

/// The company's bot as a staff page shows it (the user page's and the
/// profile's "Link Telegram"), if one is connected.
pub fn summary(db: &Db) -> Result<Option<Summary>, AppError> {
    Ok(config(db)?.map(|c| Summary { username: c.username, name: c.name, running: c.state == BotState::Running }))
}

/// The companies with a connected bot (from `platform.redb`).
pub fn companies_with_bots(platform: &Db) -> Result<Vec<String>, AppError> {
    let tx = platform.read()?;
    let t = tx.open_table(BOTS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in redb::ReadableTable::iter(&t).map_err(store_err)? {
        let (k, _) = row.map_err(store_err)?;
        out.push(k.value().to_string());
    }
    Ok(out)
}

async fn set_listed(state: &AppState, slug: &str, listed: bool) -> Result<(), AppError> {
    let slug = slug.to_string();
    state
        .platform
        .write(move |tx| {
            let mut t = tx.open_table(BOTS).map_err(store_err)?;
            if listed {
                t.insert(slug.as_str(), ()).map_err(store_err)?;
            } else {
                t.remove(slug.as_str()).map_err(store_err)?;
            }
            Ok(())
        })
        .await
}

/// What Telegram said about a token (`getMe`), checked by the front-end.
pub struct Checked {
    pub token: String,
    pub bot_id: i64,
    pub username: String,
    pub name: String,
}

/// Connects the bot Telegram vouched for (replacing any other): stored in
/// the company's file, listed in `platform.redb` so that a start runs it.
pub async fn connect(state: &AppState, tenant: &Tenant, who: &Caller, bot: Checked) -> Result<BotConfigV1, AppError> {
    who.require(MANAGE)?;
    let now = state.now_ms();
    let who2 = who.clone();
    let secret = hex::encode(crate::store::random_bytes::<16>());
    let cfg = tenant
        .db()?
        .write(move |tx| {
            let mut t = BOT_CONFIG.open(tx)?;
            let old = t.get(0)?;
            let cfg = BotConfigV1 {
                token: bot.token.clone(),
                bot_id: bot.bot_id,
                username: bot.username.clone(),
                name: bot.name.clone(),
                state: BotState::Running,
                problem: None,
                connected_at: now,
                connected_by: who2.id(),
                webhook_secret: secret.clone(),
                digest_minute: old.as_ref().map(|o| o.digest_minute).unwrap_or(DIGEST_MINUTE),
                digest_day: old.as_ref().and_then(|o| o.digest_day),
            };
            t.insert(0, &cfg)?;
            let change =
                FieldChange { field: "bot".into(), from: old.map(|o| format!("@{}", o.username)), to: Some(format!("@{}", cfg.username)) };
            audit::record(tx, now, &who2, "telegram.connect", "telegram", vec![change])?;
            Ok(cfg)
        })
        .await?;
    set_listed(state, &tenant.slug, true).await?;
    Ok(cfg)
}

/// Disconnects the bot: forgotten here and in `platform.redb`. Linked staff
/// stay linked (a new bot of the company reaches them once they write to it).
pub async fn disconnect(state: &AppState, tenant: &Tenant, who: &Caller) -> Result<(), AppError> {
    who.require(MANAGE)?;
    let now = state.now_ms();
    let who2 = who.clone();
    let had = tenant
        .db()?
        .write(move |tx| {
            let old = BOT_CONFIG.open(tx)?.get(0)?;
            let Some(old) = old else { return Ok(false) };
            BOT_CONFIG.open(tx)?.remove(0)?;
            let change = FieldChange { field: "bot".into(), from: Some(format!("@{}", old.username)), to: None };
            audit::record(tx, now, &who2, "telegram.disconnect", "telegram", vec![change])?;
            Ok(true)
        })
        .await?;
    set_listed(state, &tenant.slug, false).await?;
    state.bots.stop(&tenant.slug);
    if !had {
        return Err(AppError::new(ErrorKind::NotFound).with_message("telegram.not_connected"));
    }
    Ok(())
}

/// Telegram refused the token (401): the bot is stopped and the admin's
/// page says why. Only the bot front-end calls it, as the system.
pub async fn mark_revoked(state: &AppState, tenant: &Tenant, token: &str, problem: String) -> Result<(), AppError> {
    let token = token.to_string();
    let now = state.now_ms();
    let changed = tenant
        .db()?
        .write(move |tx| {
            let mut t = BOT_CONFIG.open(tx)?;
            let Some(mut cfg) = t.get(0)? else { return Ok(false) };
            // A new token pasted meanwhile is not the one refused.
            if cfg.token != token || cfg.state == BotState::Revoked {
                return Ok(false);
            }
            cfg.state = BotState::Revoked;
            cfg.problem = Some(problem.clone());
            t.insert(0, &cfg)?;
            audit::record(tx, now, &Caller::System, "telegram.revoked", "telegram", vec![])?;
            Ok(true)
        })
        .await?;
    if changed {
        set_listed(state, &tenant.slug, false).await?;
    }
    Ok(())
}

/// Sets when the daily digest goes out (minutes after midnight, company time).
pub async fn set_digest_minute(state: &AppState, tenant: &Tenant, who: &Caller, minute: u16) -> Result<BotConfigV1, AppError> {
    who.require(MANAGE)?;
    if minute >= 24 * 60 {
        return Err(AppError::invalid("digest_time", "validation.time"));
    }
    let now = state.now_ms();
    let who2 = who.clone();
    let cfg = tenant
        .db()?
        .write(move |tx| {
            let mut t = BOT_CONFIG.open(tx)?;
            let mut cfg = t.get(0)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("telegram.not_connected"))?;
            let mut ch = audit::Changes::default();
            ch.diff("digest_minute", &cfg.digest_minute, &minute);
            cfg.digest_minute = minute;
            t.insert(0, &cfg)?;
            audit::record(tx, now, &who2, "telegram.update", "telegram", ch.0)?;
            Ok(cfg)
        })
        .await?;
    state.bots.set_digest(&tenant.slug, (cfg.digest_minute, cfg.digest_day));
    Ok(cfg)
}

/// Queues the daily digest of company-local `day` (one message per chat,
/// several for one chat in order) and records the day, in one transaction:
/// a second call for the same day queues nothing. `false` when it was sent
/// already or the bot does not run. Wakes the sender after the commit.
pub async fn queue_digest(state: &AppState, tenant: &Tenant, day: i32, messages: Vec<(i64, BotOutV1)>) -> Result<bool, AppError> {
    let now = state.now_ms();
    let queued = tenant
        .db()?
        .write(move |tx| {
            let mut t = BOT_CONFIG.open(tx)?;
            let Some(mut cfg) = t.get(0)? else { return Ok(false) };
            if cfg.state != BotState::Running || cfg.digest_day == Some(day) {
                return Ok(false);
            }
            cfg.digest_day = Some(day);
            t.insert(0, &cfg)?;
            for (chat_id, out) in &messages {
                outbox::enqueue(tx, now, *chat_id, outbox::BotBody::Message(out.clone()))?;
            }
            Ok(true)
        })
        .await?;
    if let Some((minute, _)) = state.bots.digest(&tenant.slug) {
        state.bots.set_digest(&tenant.slug, (minute, Some(day)));
    }
    if queued {
        state.bots.wake(&tenant.slug);
    }
    Ok(queued)
}

/// A running bot, as the registry knows it.
pub struct Running {
    /// Set to `true` to stop its tasks (polling and sending).
    pub stop: tokio::sync::watch::Sender<bool>,
    /// Wakes its sender: something was queued.
    pub wake: Arc<tokio::sync::Notify>,
    /// The token it runs with (a new token restarts it).
    pub token: String,
    /// Its digest time (minutes after midnight, company time) and the
    /// company-local day of the last digest, as stored: the minute's look
    /// reads them here and opens the company's file only when one is due.
    pub digest: (u16, Option<i32>),
}

/// The bots running in this process, by company. The front-end starts and
/// registers them; the core wakes and stops them.
#[derive(Default)]
pub struct Runners {
    running: Mutex<HashMap<String, Running>>,
}

impl Runners {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a company's running bot, stopping the one it replaces.
    pub fn insert(&self, slug: &str, running: Running) {
        if let Some(old) = self.lock().insert(slug.to_string(), running) {
            let _ = old.stop.send(true);
        }
    }

    /// Stops a company's bot, if one runs.
    pub fn stop(&self, slug: &str) {
        if let Some(old) = self.lock().remove(slug) {
            let _ = old.stop.send(true);
        }
    }

    /// Forgets a bot that stopped by itself (revoked), unless another token
    /// replaced it meanwhile.
    pub fn ended(&self, slug: &str, token: &str) {
        let mut map = self.lock();
        if map.get(slug).is_some_and(|r| r.token == token) {
            map.remove(slug);
        }
    }

    /// Stops every bot (the server is stopping) and waits, at most
    /// `within`, until their tasks have ended (each holds the stop signal's
    /// receiver until it returns), so that nothing of this server still
    /// uses its files when it is started again in the same process.
    pub async fn stop_all(&self, within: std::time::Duration) {
        let stopping: Vec<Running> = self.lock().drain().map(|(_, r)| r).collect();
        for r in &stopping {
            let _ = r.stop.send(true);
        }
        let ended = futures_util::future::join_all(stopping.iter().map(|r| r.stop.closed()));
        let _ = tokio::time::timeout(within, ended).await;
    }

    /// Wakes a company's sender after a commit that queued messages.
    pub fn wake(&self, slug: &str) {
        if let Some(r) = self.lock().get(slug) {
            r.wake.notify_one();
        }
    }

    /// The digest time and last digest day of a company's running bot.
    pub fn digest(&self, slug: &str) -> Option<(u16, Option<i32>)> {
        self.lock().get(slug).map(|r| r.digest)
    }

    /// The slugs of the running bots.
    pub fn slugs(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Records a change of a running bot's digest time or day.
    pub fn set_digest(&self, slug: &str, digest: (u16, Option<i32>)) {
        if let Some(r) = self.lock().get_mut(slug) {
            r.digest = digest;
        }
    }

    /// Whether a company's bot runs in this process (with this token).
    pub fn is_running(&self, slug: &str, token: &str) -> bool {
        self.lock().get(slug).is_some_and(|r| r.token == token)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_token_is_masked_and_checked_before_telegram_is_asked() {
        assert_eq!(mask("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"), "123456789:••••••Dsaw");
        assert!(parse_token("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw").is_ok());
        assert_eq!(parse_token("  42:AAHdqTcvCH1vGWJxfSeofSAs0K5P \n").unwrap().1, "42:AAHdqTcvCH1vGWJxfSeofSAs0K5P");
        for bad in [
            "",
            "abc",
            "12:short",
            ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "x1:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "1:AAHdqTcvCH1vGWJx fSeofSAs0K5P",
        ] {
            assert_eq!(parse_token(bad).unwrap_err().field, Some("token"), "{bad}");
        }
    }
}
