//! Getting a bot's updates: long polling by default (a box on a LAN has no
//! address Telegram can reach), a webhook when `public_url` is HTTPS.
//!
//! The poller confirms an update (the next offset) only after handling it,
//! so a restart mid-update sees it again rather than losing it. It stops
//! within moments of [`crate::telegram::Runners::stop`]: the long poll
//! itself is abandoned, not waited out.

use super::{is_unauthorized, revoked, scrub, update};
use crate::app::{AppState, WeakState};
use crate::store::schema::BotConfigV1;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use tokio::sync::watch;

/// The kinds of update the bots ask for.
pub fn allowed() -> Vec<AllowedUpdate> {
    vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]
}

/// The webhook address of a company's bot, when Idora is reachable over HTTPS.
pub fn webhook_url(state: &AppState, slug: &str, cfg: &BotConfigV1) -> Option<String> {
    let base = state.config.public_url.as_deref()?;
    base.starts_with("https://").then(|| format!("{base}/telegram/{slug}/{}", cfg.webhook_secret))
}

/// Waits `d`, or less when the bot is stopped meanwhile; `false` when stopped.
async fn pause(stopped: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = stopped.wait_for(|s| *s) => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// One bot's poller, until it is stopped or its token is refused.
pub async fn run(app: WeakState, slug: String, bot: Bot, cfg: BotConfigV1, mut stopped: watch::Receiver<bool>) {
    let webhook = app.upgrade().and_then(|s| webhook_url(&s, &slug, &cfg));
    if let Some(url) = webhook {
        return run_webhook(app, slug, bot, cfg, url, stopped).await;
    }
    // A webhook left from an earlier setting would make getUpdates fail.
    let _ = bot.delete_webhook().await;
    let mut offset: i32 = 0;
    let mut failures: u32 = 0;
    loop {
        if *stopped.borrow() {
            return;
        }
        let poll_secs = app.upgrade().map(|s| s.config.telegram_poll_secs).unwrap_or(25);
        let request = bot.get_updates().offset(offset).timeout(poll_secs).allowed_updates(allowed());
        let result = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            r = request.send() => r,
        };
        match result {
            Ok(updates) => {
                failures = 0;
                for u in updates {
                    let next = i32::try_from(u.id.0).unwrap_or(i32::MAX).saturating_add(1);
                    let Some(state) = app.upgrade() else { return };
                    let Some(tenant) = state.tenants.get(&slug) else { return };
                    if *stopped.borrow() {
                        return;
                    }
                    update::handle(&state, &tenant, &bot, &cfg, u).await;
                    offset = next;
                }
            }
            Err(e) if is_unauthorized(&e) => {
                if let Some(state) = app.upgrade()
                    && let Some(tenant) = state.tenants.get(&slug)
                {
                    revoked(&state, &tenant, &cfg.token).await;
                }
                return;
            }
            Err(teloxide::RequestError::RetryAfter(s)) => {
                if !pause(&mut stopped, s.duration()).await {
                    return;
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(company = %slug, error = %scrub(&e.to_string(), &cfg.token), "telegram getUpdates failed");
                let wait = Duration::from_secs(1u64 << failures.min(6));
                if !pause(&mut stopped, wait).await {
                    return;
                }
            }
        }
    }
}

/// Webhook mode: Telegram posts updates to `/telegram/{slug}/{secret}`
/// (see `web`); this task sets the hook and removes it when stopped.
async fn run_webhook(app: WeakState, slug: String, bot: Bot, cfg: BotConfigV1, url: String, mut stopped: watch::Receiver<bool>) {
    let Ok(parsed) = url::Url::parse(&url) else { return };
    let mut failures: u32 = 0;
    loop {
        match bot.set_webhook(parsed.clone()).secret_token(cfg.webhook_secret.clone()).allowed_updates(allowed()).await {
            Ok(_) => break,
            Err(e) if is_unauthorized(&e) => {
                if let Some(state) = app.upgrade()
                    && let Some(tenant) = state.tenants.get(&slug)
                {
                    revoked(&state, &tenant, &cfg.token).await;
                }
                return;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(company = %slug, error = %scrub(&e.to_string(), &cfg.token), "telegram setWebhook failed");
                if !pause(&mut stopped, Duration::from_secs(1u64 << failures.min(6))).await {
                    return;
                }
            }
        }
    }
    let _ = stopped.wait_for(|s| *s).await;
    let _ = bot.delete_webhook().await;
}

/// An update Telegram posted to the webhook of company `slug` with `secret`:
/// handled when the secret is that bot's (else refused: `false`).
pub async fn webhook_update(state: &AppState, slug: &str, secret: &str, header_secret: Option<&str>, body: &[u8]) -> bool {
    let Some(tenant) = state.tenants.get(slug) else { return false };
    let Ok(Some(cfg)) = tenant.db().and_then(crate::telegram::config) else { return false };
    let ok = |s: &str| -> bool { subtle::ConstantTimeEq::ct_eq(s.as_bytes(), cfg.webhook_secret.as_bytes()).into() };
    if !ok(secret) || !header_secret.is_some_and(ok) || !state.bots.is_running(slug, &cfg.token) {
        return false;
    }
    let Ok(u) = serde_json::from_slice::<teloxide::types::Update>(body) else { return true };
    let Ok(bot) = super::api(state, &cfg.token) else { return true };
    update::handle(state, &tenant, &bot, &cfg, u).await;
    true
}
