//! One update from Telegram, routed: who writes (a linked staff member or a
//! client), in which language, what dialogue is under way, and which part
//! of the bot answers. Unknown input gets a short hint and the menu, never
//! silence.

use super::{client, queue, staff, ui};
use crate::app::AppState;
use crate::auth::{Caller, Principal};
use crate::i18n::{Lang, t};
use crate::store::schema::{BotChatV1, BotConfigV1};
use crate::telegram::{chats, links};
use crate::tenancy::Tenant;
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, Message, ReplyMarkup, UpdateKind, User};

/// Everything an answer needs about the chat it is in.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub tenant: &'a Tenant,
    pub bot: &'a Bot,
    pub cfg: &'a BotConfigV1,
    pub chat_id: i64,
    pub from: User,
    pub chat: BotChatV1,
    pub lang: Lang,
    /// The linked staff member writing, when the account is active.
    pub staff: Option<Principal>,
}

/// The dialogue under way, as stored in the chat: which part of the bot it
/// belongs to and that part's own state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dialogue {
    pub area: String,
    pub state: serde_json::Value,
}

impl Ctx<'_> {
    pub fn t<'k>(&self, key: &'k str) -> &'k str {
        t(self.lang, key)
    }

    /// The caller the core sees: the staff member, or nobody in particular.
    pub fn caller(&self) -> Caller {
        match &self.staff {
            Some(p) => Caller::from(p),
            None => Caller::Public,
        }
    }

    /// Sends a text (plain, no markup parsing) to this chat, with a keyboard.
    /// One retry after Telegram's pause when it asks for one.
    pub async fn send(&self, text: &str, markup: Option<ReplyMarkup>) -> Option<Message> {
        for _ in 0..2 {
            let mut req = self.bot.send_message(ChatId(self.chat_id), text);
            if let Some(m) = markup.clone() {
                req = req.reply_markup(m);
            }
            match req.await {
                Ok(m) => return Some(m),
                Err(teloxide::RequestError::RetryAfter(s)) => tokio::time::sleep(s.duration()).await,
                Err(e) => {
                    tracing::warn!(company = %self.tenant.slug, error = %super::scrub(&e.to_string(), &self.cfg.token), "telegram send failed");
                    return None;
                }
            }
        }
        None
    }

    pub async fn say(&self, text: &str) -> Option<Message> {
        self.send(text, None).await
    }

    /// A refusal of the core, in the chat's language.
    pub async fn say_error(&self, e: &crate::error::AppError) {
        self.say(&e.info().message(self.lang)).await;
    }

    /// The Telegram account writing (in a private chat, also the chat's id).
    pub fn telegram_id(&self) -> i64 {
        i64::try_from(self.from.id.0).unwrap_or(self.chat_id)
    }

    /// The dialogue under way, if any.
    pub fn dialogue(&self) -> Option<Dialogue> {
        self.chat.dialogue.as_deref().and_then(|d| serde_json::from_str(d).ok())
    }

    /// Stores the dialogue under way (a restart continues it).
    pub async fn set_dialogue(&mut self, area: &str, state: serde_json::Value) {
        let d = serde_json::to_string(&Dialogue { area: area.to_string(), state }).ok();
        self.store_dialogue(d).await;
    }

    pub async fn clear_dialogue(&mut self) {
        if self.chat.dialogue.is_some() {
            self.store_dialogue(None).await;
        }
    }

    async fn store_dialogue(&mut self, d: Option<String>) {
        match chats::set_dialogue(self.tenant, self.state.now_ms(), self.chat_id, d).await {
            Ok(c) => self.chat = c,
            Err(e) => tracing::warn!(company = %self.tenant.slug, error = %e, "bot dialogue not saved"),
        }
    }

    /// The menu for whoever writes: staff or client.
    pub async fn menu(&self, text: &str) {
        if self.staff.is_some() {
            staff::menu(self, text).await;
        } else {
            client::menu(self, text).await;
        }
    }

    /// Unknown input: a short hint and the menu.
    pub async fn hint(&self) {
        self.menu(self.t("bot.hint")).await;
    }
}

/// Builds the context of an update from `from` in `chat_id`.
async fn context<'a>(
    state: &'a AppState,
    tenant: &'a Tenant,
    bot: &'a Bot,
    cfg: &'a BotConfigV1,
    chat_id: i64,
    from: User,
) -> Option<Ctx<'a>> {
    let db = tenant.db().ok()?;
    let mut chat = chats::get(db, chat_id).ok()?;
    if chat.unreachable {
        // They wrote again: they unblocked the bot.
        let _ = chats::set_unreachable(tenant, state.now_ms(), chat_id, false).await;
        chat.unreachable = false;
    }
    let user_id = i64::try_from(from.id.0).ok()?;
    let staff = match links::user_of(db, user_id).ok().flatten() {
        Some(uid) => Principal::load(tenant, uid, String::new(), tenant.lang()).ok(),
        None => None,
    };
    let lang = ui::lang_of(&chat, staff.as_ref().map(|p| p.lang), from.language_code.as_deref(), tenant.lang());
    Some(Ctx { state, tenant, bot, cfg, chat_id, from, chat, lang, staff })
}

/// Handles one update (never fails: a problem is logged and, where a
/// person waits, answered).
pub async fn handle(state: &AppState, tenant: &Tenant, bot: &Bot, cfg: &BotConfigV1, update: Update) {
    match update.kind {
        UpdateKind::Message(msg) => {
            // Private chats only: a bot added to a group stays quiet there.
            if !msg.chat.is_private() {
                return;
            }
            let Some(from) = msg.from.clone() else { return };
            let Some(mut ctx) = context(state, tenant, bot, cfg, msg.chat.id.0, from).await else { return };
            on_message(&mut ctx, &msg).await;
        }
        UpdateKind::CallbackQuery(q) => {
            let chat_id = q.message.as_ref().map(|m| m.chat().id.0).unwrap_or(i64::try_from(q.from.id.0).unwrap_or(0));
            let Some(mut ctx) = context(state, tenant, bot, cfg, chat_id, q.from.clone()).await else {
                let _ = bot.answer_callback_query(q.id.clone()).await;
                return;
            };
            on_callback(&mut ctx, &q).await;
        }
        _ => {}
    }
}

async fn on_message(ctx: &mut Ctx<'_>, msg: &Message) {
    if let Some(text) = msg.text() {
        let text = text.trim();
        if let Some(cmd) = text.strip_prefix('/') {
            let (cmd, arg) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
            // "/start@idora_bot" in a menu tap.
            let cmd = cmd.split('@').next().unwrap_or(cmd).to_ascii_lowercase();
            return on_command(ctx, &cmd, arg.trim(), msg).await;
        }
    }
    if msg.contact().is_some() {
        return client::on_contact(ctx, msg).await;
    }
    // A reply to one of the bot's messages: a staff member's about a task
    // goes into its thread, a client's about a request into the request.
    if let Some(replied) = msg.reply_to_message() {
        let done = if ctx.staff.is_some() { staff::on_reply(ctx, msg, replied).await } else { client::on_reply(ctx, msg, replied).await };
        if done {
            return;
        }
    }
    if let Some(d) = ctx.dialogue() {
        match d.area.as_str() {
            staff::AREA => return staff::on_dialogue(ctx, d.state, msg).await,
            client::AREA => return client::on_dialogue(ctx, d.state, msg).await,
            queue::AREA => return queue::on_dialogue(ctx, d.state, msg).await,
            _ => ctx.clear_dialogue().await,
        }
    }
    if let Some(text) = msg.text() {
        let text = text.trim();
        if ctx.staff.is_some() && staff::on_menu_text(ctx, text).await {
            return;
        }
        if queue::on_menu_text(ctx, text).await || client::on_menu_text(ctx, text).await {
            return;
        }
        if text == t(ctx.lang, "bot.menu.language") {
            ctx.send(ctx.t("bot.lang.choose"), Some(ReplyMarkup::InlineKeyboard(ui::lang_buttons()))).await;
            return;
        }
    }
    ctx.hint().await;
}

async fn on_command(ctx: &mut Ctx<'_>, cmd: &str, arg: &str, msg: &Message) {
    match cmd {
        "start" if !arg.is_empty() => start_with(ctx, arg).await,
        "start" => {
            ctx.clear_dialogue().await;
            ctx.menu(ctx.t("bot.welcome")).await;
        }
        "lang" | "language" => {
            ctx.send(ctx.t("bot.lang.choose"), Some(ReplyMarkup::InlineKeyboard(ui::lang_buttons()))).await;
        }
        "cancel" => {
            ctx.clear_dialogue().await;
            ctx.menu(ctx.t("bot.cancelled")).await;
        }
        "help" => {
            let text = ui::help(ctx.lang, ctx.staff.is_some());
            ctx.menu(&text).await;
        }
        _ => {
            if staff::on_command(ctx, cmd, arg, msg).await
                || client::on_command(ctx, cmd, arg, msg).await
                || queue::on_command(ctx, cmd, arg, msg).await
            {
                return;
            }
            ctx.hint().await;
        }
    }
}

/// `/start <code>`: a staff link code (32 hex), else a part's own start
/// parameter (a queue branch, a request).
async fn start_with(ctx: &mut Ctx<'_>, arg: &str) {
    if arg.len() == 32 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return staff::link(ctx, arg).await;
    }
    if queue::on_start(ctx, arg).await || client::on_start(ctx, arg).await {
        return;
    }
    ctx.menu(ctx.t("bot.welcome")).await;
}

async fn on_callback(ctx: &mut Ctx<'_>, q: &CallbackQuery) {
    let data = q.data.clone().unwrap_or_default();
    let (area, rest) = data.split_once(':').unwrap_or((data.as_str(), ""));
    let answer: Option<String> = match area {
        "l" => match Lang::parse(rest) {
            Some(lang) => {
                if let Ok(c) = chats::set_lang(ctx.tenant, ctx.state.now_ms(), ctx.chat_id, lang).await {
                    ctx.chat = c;
                }
                if ctx.staff.is_none()
                    && let Err(e) = crate::requests::clients::set_lang(ctx.tenant, ctx.telegram_id(), lang).await
                {
                    tracing::warn!(company = %ctx.tenant.slug, error = %e, "client language not saved");
                }
                ctx.lang = lang;
                ctx.menu(ctx.t("bot.lang.set")).await;
                None
            }
            None => Some(ctx.t("bot.unknown_button").to_string()),
        },
        a if staff::owns_callback(a) => staff::on_callback(ctx, q, a, rest).await,
        a if queue::owns_callback(a) => queue::on_callback(ctx, q, a, rest).await,
        a if client::owns_callback(a) => client::on_callback(ctx, q, a, rest).await,
        _ => Some(ctx.t("bot.unknown_button").to_string()),
    };
    let mut req = ctx.bot.answer_callback_query(q.id.clone());
    if let Some(text) = answer {
        req = req.text(text);
    }
    let _ = req.await;
}
