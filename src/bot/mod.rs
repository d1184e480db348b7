//! Front-end 2: each company's Telegram bot, in this process (teloxide's
//! Bot API client). Like `web/`, it only parses what people send, calls the
//! core and renders the answer: the rules are the ones the pages obey.
//!
//! - [`connect`] checks a pasted token with Telegram (`getMe`), stores it
//!   (`telegram::connect`), sets the commands and description in three
//!   languages and starts the bot at once; [`start_all`] starts the listed
//!   bots when the server starts.
//! - [`poll`]: one long-polling task per bot (or, when `public_url` is
//!   HTTPS, a webhook the web server feeds) hands each update to
//!   [`update::handle`], which routes it to [`staff`], [`client`] or
//!   [`queue`] by who is writing and what dialogue is under way.
//! - [`send`]: one sender task per bot delivers the company's outbox
//!   (`telegram::outbox`) at Telegram's pace.
//! - A token Telegram refuses (401) stops the bot and says so on the admin's
//!   page (`telegram::mark_revoked`).

pub mod client;
pub mod digest;
pub mod poll;
pub mod queue;
pub mod send;
pub mod staff;
pub mod ui;
pub mod update;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t};
use crate::store::schema::{BotConfigV1, BotState};
use crate::telegram::{self, Checked, Running};
use crate::tenancy::Tenant;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::BotCommand;

/// A Bot API client for `token`, talking to the configured API base.
pub fn api(state: &AppState, token: &str) -> Result<Bot, AppError> {
    let base = url::Url::parse(&state.config.telegram_api_url)
        .map_err(|e| AppError::internal(anyhow::anyhow!("telegram_api_url {:?}: {e}", state.config.telegram_api_url)))?;
    Ok(Bot::new(token).set_api_url(base))
}

/// Whether Telegram refused the token itself (revoked, or never valid).
pub fn is_unauthorized(e: &teloxide::RequestError) -> bool {
    matches!(e, teloxide::RequestError::Api(teloxide::ApiError::InvalidToken))
}

/// Checks a pasted token with Telegram, stores it and starts the bot.
pub async fn connect(state: &AppState, tenant: &Tenant, who: &Caller, token: &str) -> Result<BotConfigV1, AppError> {
    who.require(telegram::MANAGE)?;
    let (bot_id, token) = telegram::parse_token(token)?;
    let bot = api(state, &token)?;
    let me = match bot.get_me().await {
        Ok(me) => me,
        Err(e) if is_unauthorized(&e) => return Err(AppError::invalid("token", "telegram.token_refused")),
        Err(e) => {
            tracing::warn!(company = %tenant.slug, error = %scrub(&e.to_string(), &token), "telegram getMe failed");
            return Err(AppError::new(ErrorKind::Unavailable).with_message("telegram.unreachable"));
        }
    };
    let username = me.user.username.clone().unwrap_or_default();
    let cfg = telegram::connect(state, tenant, who, Checked { token, bot_id, username, name: me.user.first_name.clone() }).await?;
    describe(&bot).await;
    start(state, tenant, &cfg);
    Ok(cfg)
}

/// Sets the bot's commands and descriptions in each language (best effort:
/// a bot that runs without them still works).
async fn describe(bot: &Bot) {
    for lang in Lang::ALL {
        let commands: Vec<BotCommand> = ui::COMMANDS.iter().map(|(c, key)| BotCommand::new(*c, t(lang, key))).collect();
        if let Err(e) = bot.set_my_commands(commands).language_code(lang.code()).await {
            tracing::debug!(error = %e, "setMyCommands failed");
        }
        if let Err(e) = bot.set_my_description().description(t(lang, "bot.description")).language_code(lang.code()).await {
            tracing::debug!(error = %e, "setMyDescription failed");
        }
        if let Err(e) = bot.set_my_short_description().short_description(t(lang, "bot.short_description")).language_code(lang.code()).await
        {
            tracing::debug!(error = %e, "setMyShortDescription failed");
        }
    }
}

/// Starts a company's bot (replacing one that runs): its poller (or
/// webhook) and its sender.
pub fn start(state: &AppState, tenant: &Tenant, cfg: &BotConfigV1) {
    if cfg.state != BotState::Running {
        return;
    }
    let Ok(bot) = api(state, &cfg.token) else { return };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wake = Arc::new(tokio::sync::Notify::new());
    state
        .bots
        .insert(&tenant.slug, Running { stop, wake: wake.clone(), token: cfg.token.clone(), digest: (cfg.digest_minute, cfg.digest_day) });
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    rt.spawn(poll::run(state.downgrade(), tenant.slug.clone(), bot.clone(), cfg.clone(), stopped.clone()));
    rt.spawn(send::run(state.downgrade(), tenant.slug.clone(), bot, cfg.token.clone(), wake, stopped));
}

/// Starts the bot of every company listed with one (at server start).
pub async fn start_all(state: &AppState) {
    let slugs = match telegram::companies_with_bots(&state.platform) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "the list of company bots cannot be read");
            return;
        }
    };
    for slug in slugs {
        let Some(tenant) = state.tenants.get(&slug) else { continue };
        if tenant.is_archived() {
            continue;
        }
        match tenant.db().and_then(telegram::config) {
            Ok(Some(cfg)) => start(state, &tenant, &cfg),
            Ok(None) => {}
            Err(e) => tracing::warn!(company = %slug, error = %e, "bot not started"),
        }
    }
}

/// Telegram stopped accepting the token: the bot stops and the admin's
/// page says so.
pub async fn revoked(state: &AppState, tenant: &Tenant, token: &str) {
    let problem = "Telegram refused the token (401): it was revoked or changed in @BotFather.".to_string();
    tracing::warn!(company = %tenant.slug, "telegram refused the bot's token; the bot is stopped");
    if let Err(e) = telegram::mark_revoked(state, tenant, token, problem).await {
        tracing::warn!(company = %tenant.slug, error = %e, "the revoked bot could not be recorded");
    }
    state.bots.ended(&tenant.slug, token);
}

/// An error's text with the token taken out (reqwest errors name the URL,
/// which holds it): nothing logged ever shows a token.
pub fn scrub(text: &str, token: &str) -> String {
    if token.is_empty() { text.to_string() } else { text.replace(token, "<token>") }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_logged_error_never_shows_the_token() {
        let token = "123:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
        let text = format!("error sending request for url (https://api.telegram.org/bot{token}/getMe)");
        assert!(!scrub(&text, token).contains("AAHdq"));
    }
}
