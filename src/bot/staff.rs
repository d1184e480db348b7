//! The bot for staff: linking an account with a one-time code (and, when an
//! admin chose it, the login and a one-time password), notifications with
//! the buttons their reader may press, replies into a task's thread,
//! /tasks and /today.

use super::update::Ctx;
use crate::app::AppState;
use crate::error::AppError;
use crate::i18n::tf;
use crate::store::schema::{BotMessageV1, BotOutV1};
use crate::telegram::links;
use crate::tenancy::Tenant;
use teloxide::types::{CallbackQuery, Message};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "staff";

/// The staff menu.
pub async fn menu(ctx: &Ctx<'_>, text: &str) {
    ctx.say(text).await;
}

/// `/start <code>`: links this Telegram account to the code's user.
pub async fn link(ctx: &mut Ctx<'_>, code: &str) {
    let tg = i64::try_from(ctx.from.id.0).unwrap_or(0);
    match links::redeem(ctx.state, ctx.tenant, code, tg, ctx.chat_id, ctx.from.username.clone()).await {
        Ok(done) => {
            if let Ok(p) = crate::auth::Principal::load(ctx.tenant, done.user_id, String::new(), ctx.tenant.lang()) {
                ctx.lang = super::ui::lang_of(&ctx.chat, Some(p.lang), None, ctx.tenant.lang());
                let name = p.display_name().to_string();
                ctx.staff = Some(p);
                ctx.say(&tf(ctx.lang, "bot.link.done", &[("name", &name)])).await;
            }
            if let Some((login, password)) = done.credentials {
                ctx.say(&tf(ctx.lang, "bot.link.credentials", &[("login", &login), ("password", &password)])).await;
            }
            menu(ctx, ctx.t("bot.welcome")).await;
        }
        Err(e) => {
            ctx.say(&e.info().message(ctx.lang)).await;
        }
    }
}

/// A reply to one of the bot's messages; `true` when it was about a task
/// and went into its thread.
pub async fn on_reply(_ctx: &mut Ctx<'_>, _msg: &Message, _replied: &Message) -> bool {
    false
}

pub async fn on_dialogue(ctx: &mut Ctx<'_>, _state: serde_json::Value, _msg: &Message) {
    ctx.clear_dialogue().await;
    ctx.hint().await;
}

pub async fn on_menu_text(_ctx: &mut Ctx<'_>, _text: &str) -> bool {
    false
}

pub async fn on_command(_ctx: &mut Ctx<'_>, _cmd: &str, _arg: &str, _msg: &Message) -> bool {
    false
}

pub fn owns_callback(area: &str) -> bool {
    area == "t"
}

pub async fn on_callback(ctx: &mut Ctx<'_>, _q: &CallbackQuery, _area: &str, _rest: &str) -> Option<String> {
    Some(ctx.t("bot.unknown_button").to_string())
}

/// A staff notification worded for Telegram, in its reader's language.
pub async fn render_notification(
    _state: &AppState,
    tenant: &Tenant,
    user_id: u64,
    notification_id: u64,
) -> Result<Option<BotOutV1>, AppError> {
    let db = tenant.db()?;
    let Some(note) = crate::notify::get(db, user_id, notification_id)? else { return Ok(None) };
    let lang = crate::auth::Principal::load(tenant, user_id, String::new(), tenant.lang()).map(|p| p.lang).unwrap_or(tenant.lang());
    let about = BotMessageV1 {
        task_id: note.task_id,
        thread_id: crate::notify::thread_of(&note),
        notification_id: Some(notification_id),
        ..Default::default()
    };
    Ok(Some(BotOutV1 { text: crate::notify::text(lang, &note), about, ..Default::default() }))
}
