//! The bot for clients (the request-bot brief): the main menu, a new
//! request walked field by field through its category's form, "My
//! requests", writing to a request, notices about it, rating, and sharing a
//! phone contact.

use super::update::Ctx;
use crate::app::AppState;
use crate::error::AppError;
use crate::store::schema::BotOutV1;
use crate::tenancy::Tenant;
use teloxide::types::{CallbackQuery, Message};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "client";

/// The client's main menu.
pub async fn menu(ctx: &Ctx<'_>, text: &str) {
    ctx.say(text).await;
}

pub async fn on_contact(ctx: &mut Ctx<'_>, _msg: &Message) {
    ctx.hint().await;
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

pub async fn on_start(_ctx: &mut Ctx<'_>, _arg: &str) -> bool {
    false
}

pub fn owns_callback(area: &str) -> bool {
    area == "c"
}

pub async fn on_callback(ctx: &mut Ctx<'_>, _q: &CallbackQuery, _area: &str, _rest: &str) -> Option<String> {
    Some(ctx.t("bot.unknown_button").to_string())
}

/// A client notice about their request, as worded when it happened.
pub async fn render_notice(_state: &AppState, _tenant: &Tenant, _client_id: u64, _notice_id: u64) -> Result<Option<BotOutV1>, AppError> {
    Ok(None)
}
