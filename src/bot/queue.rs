//! The bot for the queue: take a ticket (branch → service), my tickets
//! (the message follows the queue; "3 ahead" and "called to window 4"
//! arrive as new messages so the phone buzzes), cancel.

use super::update::Ctx;
use teloxide::types::{CallbackQuery, Message};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "queue";

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
    area == "q"
}

pub async fn on_callback(ctx: &mut Ctx<'_>, _q: &CallbackQuery, _area: &str, _rest: &str) -> Option<String> {
    Some(ctx.t("bot.unknown_button").to_string())
}
