//! The bot for the queue: take a ticket (branch → service), my tickets
//! (the message follows the queue; "3 ahead" and "called to window 4"
//! arrive as new messages so the phone buzzes), cancel.
//!
//! What a person does here is answered directly; what the queue does later
//! (people ahead called, their own call) reaches the chat through the bot's
//! outbox, queued by the queue core (`queue::telegram`) in the change's
//! transaction.

use super::ui;
use super::update::Ctx;
use crate::i18n::tf;
use crate::queue::telegram::{self as qt, Offer};
use crate::store::schema::{BotButtonV1, BotOutV1, TicketStatus};
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, Message, MessageId, ReplyMarkup};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "queue";

pub async fn on_dialogue(ctx: &mut Ctx<'_>, _state: serde_json::Value, _msg: &Message) {
    ctx.clear_dialogue().await;
    ctx.hint().await;
}

/// The menu's Queue button: my tickets, or where to take one.
pub async fn on_menu_text(ctx: &mut Ctx<'_>, text: &str) -> bool {
    if text != ctx.t("bot.menu.queue") {
        return false;
    }
    home(ctx).await;
    true
}

/// `/queue`: the same as the menu's button.
pub async fn on_command(ctx: &mut Ctx<'_>, cmd: &str, _arg: &str, _msg: &Message) -> bool {
    if cmd != "queue" {
        return false;
    }
    home(ctx).await;
    true
}

/// `/start q<branch id>` (the branch's link or QR): that branch's services.
pub async fn on_start(ctx: &mut Ctx<'_>, arg: &str) -> bool {
    let Some(branch) = arg.strip_prefix('q').and_then(|s| s.parse::<u64>().ok()) else { return false };
    ctx.clear_dialogue().await;
    branch_choice(ctx, branch, None).await;
    true
}

pub fn owns_callback(area: &str) -> bool {
    area == "q"
}

/// `q:t` take a ticket, `q:b:<branch>` a branch's services, `q:s:<branch>:<service>`
/// take it, `q:r:<ticket>` refresh, `q:c:<ticket>` cancel (asks), `q:x:<ticket>` cancel (sure).
pub async fn on_callback(ctx: &mut Ctx<'_>, q: &CallbackQuery, _area: &str, rest: &str) -> Option<String> {
    let pressed = q.message.as_ref().map(|m| m.id());
    let mut parts = rest.split(':');
    let what = parts.next().unwrap_or("");
    let ids: Vec<u64> = parts.filter_map(|p| p.parse().ok()).collect();
    match (what, ids.as_slice()) {
        ("t", []) => {
            branches(ctx, pressed).await;
            None
        }
        ("b", [branch]) => {
            branch_choice(ctx, *branch, pressed).await;
            None
        }
        ("s", [branch, service]) => take(ctx, *branch, *service, pressed).await,
        ("r", [ticket]) => refresh(ctx, *ticket, pressed).await,
        ("c", [ticket]) => ask_cancel(ctx, *ticket, pressed).await,
        ("x", [ticket]) => cancel(ctx, *ticket, pressed).await,
        _ => Some(ctx.t("bot.unknown_button").to_string()),
    }
}

/// A message from stored buttons: sent, or put in place of `edit`.
/// Telegram's message id (`None`: it failed, and was logged).
async fn show(ctx: &Ctx<'_>, edit: Option<MessageId>, out: &BotOutV1) -> Option<MessageId> {
    let markup = (!out.buttons.is_empty()).then(|| ui::inline(&out.buttons));
    if let Some(mid) = edit {
        let mut req = ctx.bot.edit_message_text(ChatId(ctx.chat_id), mid, &out.text);
        if let Some(m) = markup.clone() {
            req = req.reply_markup(m);
        }
        match req.await {
            Ok(_) => return Some(mid),
            Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => return Some(mid),
            // Too old to edit, or gone: a new message instead.
            Err(e) => {
                tracing::debug!(company = %ctx.tenant.slug, error = %super::scrub(&e.to_string(), &ctx.cfg.token), "queue message not edited")
            }
        }
    }
    ctx.send(&out.text, markup.map(ReplyMarkup::InlineKeyboard)).await.map(|m| m.id)
}

fn text_out(text: String, buttons: Vec<Vec<BotButtonV1>>) -> BotOutV1 {
    BotOutV1 { text, buttons, ..BotOutV1::default() }
}

/// The Queue button: each open ticket of this chat as its live message,
/// tickets taken elsewhere (by a verified phone), and a way to take one.
async fn home(ctx: &mut Ctx<'_>) {
    ctx.clear_dialogue().await;
    let db = match ctx.tenant.db() {
        Ok(db) => db,
        Err(e) => return ctx.say_error(&e).await,
    };
    let mine = match qt::open_of_chat(db, ctx.chat_id) {
        Ok(m) => m,
        Err(e) => return ctx.say_error(&e).await,
    };
    // Oldest first, so the newest ends up nearest the input.
    for (id, _) in mine.iter().rev() {
        send_live(ctx, *id).await;
    }
    match qt::elsewhere(ctx.state, ctx.tenant, ctx.chat_id, ctx.telegram_id()) {
        Ok(others) if !others.is_empty() => {
            let mut text = ctx.t("bot.queue.elsewhere").to_string();
            for o in others {
                let state = match o.status {
                    TicketStatus::Called => {
                        tf(ctx.lang, "bot.queue.state.called", &[("window", &o.window.unwrap_or_default().to_string())])
                    }
                    TicketStatus::Serving => {
                        tf(ctx.lang, "bot.queue.state.serving", &[("window", &o.window.unwrap_or_default().to_string())])
                    }
                    TicketStatus::Booked => {
                        let at = o
                            .booked_for
                            .map(|ms| crate::clock::from_ms(ms).to_zoned(ctx.tenant.timezone()).strftime("%d.%m %H:%M").to_string());
                        tf(ctx.lang, "bot.queue.state.booked", &[("time", &at.unwrap_or_default())])
                    }
                    _ => tf(ctx.lang, "bot.queue.state.waiting", &[("n", &o.ahead.to_string())]),
                };
                text.push('\n');
                text.push_str(&tf(
                    ctx.lang,
                    "bot.queue.elsewhere_line",
                    &[("company", &o.company), ("number", &o.number), ("state", &state)],
                ));
            }
            ctx.say(&text).await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(company = %ctx.tenant.slug, error = %e, "tickets by phone not read"),
    }
    if mine.is_empty() {
        branches(ctx, None).await;
    } else {
        let take = vec![vec![ui::button(ctx.t("bot.queue.btn.take"), "q:t")]];
        show(ctx, None, &text_out(ctx.t("bot.queue.more").to_string(), take)).await;
    }
}

/// Sends ticket `id`'s live message anew; it becomes the one the queue edits.
async fn send_live(ctx: &Ctx<'_>, id: u64) {
    let now = ctx.state.now_ms();
    let Ok(db) = ctx.tenant.db() else { return };
    match qt::view(db, ctx.chat_id, id, ctx.lang, now) {
        Ok((_, out)) => {
            if let Some(mid) = show(ctx, None, &out).await {
                live(ctx, id, mid).await;
            }
        }
        Err(e) => ctx.say_error(&e).await,
    }
}

/// Remembers `mid` as ticket `id`'s live message.
async fn live(ctx: &Ctx<'_>, id: u64, mid: MessageId) {
    if let Err(e) = qt::set_live_message(ctx.tenant, ctx.chat_id, id, i64::from(mid.0), ctx.lang, ctx.state.now_ms()).await {
        tracing::warn!(company = %ctx.tenant.slug, error = %e, "live ticket message not recorded");
    }
}

/// The branches with services to take a ticket for (`all`: those without too).
fn offers(ctx: &Ctx<'_>, all: bool) -> Result<Vec<Offer>, crate::error::AppError> {
    Ok(qt::offers(ctx.tenant, ctx.state.now_ms(), ctx.lang)?.into_iter().filter(|o| all || !o.services.is_empty()).collect())
}

/// Where to take a ticket: the branches open now as buttons; the closed
/// ones said with when they open. One branch: straight to its services.
async fn branches(ctx: &Ctx<'_>, edit: Option<MessageId>) {
    let offers = match offers(ctx, false) {
        Ok(o) => o,
        Err(e) => return ctx.say_error(&e).await,
    };
    if let [only] = offers.as_slice() {
        return branch_choice(ctx, only.id, edit).await;
    }
    if offers.is_empty() {
        show(ctx, edit, &text_out(ctx.t("bot.queue.no_branches").to_string(), vec![])).await;
        return;
    }
    let open: Vec<&Offer> = offers.iter().filter(|o| o.open_now).collect();
    let closed: Vec<&Offer> = offers.iter().filter(|o| !o.open_now).collect();
    let mut text = String::new();
    if !open.is_empty() {
        text.push_str(ctx.t("bot.queue.choose_branch"));
    }
    if !closed.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(ctx.t("bot.queue.closed_list"));
        for o in &closed {
            text.push_str(&format!("\n• {}: {}", o.name, qt::opens_text(ctx.lang, o.opens)));
        }
    }
    let buttons = open.iter().map(|o| vec![ui::button(&o.name, format!("q:b:{}", o.id))]).collect();
    show(ctx, edit, &text_out(text, buttons)).await;
}

/// A branch's services as buttons; a closed branch is explained.
async fn branch_choice(ctx: &Ctx<'_>, branch: u64, edit: Option<MessageId>) {
    let offers = match offers(ctx, true) {
        Ok(o) => o,
        Err(e) => return ctx.say_error(&e).await,
    };
    let with_services = offers.iter().filter(|o| !o.services.is_empty()).count();
    let back = || (with_services > 1).then(|| vec![ui::button(ctx.t("bot.queue.btn.back"), "q:t")]);
    let Some(o) = offers.iter().find(|o| o.id == branch) else {
        let text = crate::i18n::t(ctx.lang, "error.branch_not_found").to_string();
        show(ctx, edit, &text_out(text, back().into_iter().collect())).await;
        return;
    };
    if !o.open_now {
        let text = format!("{} {}", tf(ctx.lang, "bot.queue.closed_now", &[("branch", &o.name)]), qt::opens_text(ctx.lang, o.opens));
        show(ctx, edit, &text_out(text, back().into_iter().collect())).await;
        return;
    }
    if o.services.is_empty() {
        show(ctx, edit, &text_out(tf(ctx.lang, "bot.queue.no_services", &[("branch", &o.name)]), back().into_iter().collect())).await;
        return;
    }
    let mut buttons: Vec<Vec<BotButtonV1>> =
        o.services.iter().map(|(sid, name)| vec![ui::button(name, format!("q:s:{branch}:{sid}"))]).collect();
    buttons.extend(back());
    show(ctx, edit, &text_out(tf(ctx.lang, "bot.queue.choose_service", &[("branch", &o.name)]), buttons)).await;
}

/// Takes the ticket; the choice's message becomes the ticket's live message.
async fn take(ctx: &Ctx<'_>, branch: u64, service: u64, edit: Option<MessageId>) -> Option<String> {
    let db = ctx.tenant.db().ok()?;
    // A second press of the same button: the ticket already taken.
    if let Ok(mine) = qt::open_of_chat(db, ctx.chat_id)
        && let Some((id, tk)) =
            mine.iter().find(|(_, t)| t.branch_id == branch && t.service_id == service && t.status == TicketStatus::Waiting)
    {
        send_live(ctx, *id).await;
        return Some(tf(ctx.lang, "bot.queue.already", &[("number", &tk.number)]));
    }
    let phone = qt::verified_phone(db, ctx.telegram_id()).ok().flatten();
    let name = match &ctx.from.last_name {
        Some(last) => format!("{} {last}", ctx.from.first_name),
        None => ctx.from.first_name.clone(),
    };
    let name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
    match qt::take(ctx.state, ctx.tenant, &ctx.caller(), ctx.chat_id, ctx.lang, branch, service, name, phone).await {
        Ok(issued) => {
            let out = match qt::view(db, ctx.chat_id, issued.id, ctx.lang, ctx.state.now_ms()) {
                Ok((_, out)) => out,
                Err(e) => {
                    ctx.say_error(&e).await;
                    return None;
                }
            };
            if let Some(mid) = show(ctx, edit, &out).await {
                live(ctx, issued.id, mid).await;
            }
            Some(tf(ctx.lang, "bot.queue.taken", &[("number", &issued.ticket.number)]))
        }
        Err(e) => {
            // Closed meanwhile, a service no longer offered…: said, with the choice again.
            ctx.say_error(&e).await;
            None
        }
    }
}

/// Shows the ticket as it stands now in the pressed message (which becomes its live one).
async fn refresh(ctx: &Ctx<'_>, id: u64, pressed: Option<MessageId>) -> Option<String> {
    let db = ctx.tenant.db().ok()?;
    let out = match qt::view(db, ctx.chat_id, id, ctx.lang, ctx.state.now_ms()) {
        Ok((_, out)) => out,
        Err(e) => return Some(e.info().message(ctx.lang)),
    };
    let Some(mid) = pressed else {
        send_live(ctx, id).await;
        return None;
    };
    let mut req = ctx.bot.edit_message_text(ChatId(ctx.chat_id), mid, &out.text);
    if !out.buttons.is_empty() {
        req = req.reply_markup(ui::inline(&out.buttons));
    }
    let answer = match req.await {
        Ok(_) => ctx.t("bot.queue.refreshed"),
        Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => ctx.t("bot.queue.unchanged"),
        Err(_) => {
            send_live(ctx, id).await;
            return None;
        }
    };
    live(ctx, id, mid).await;
    Some(answer.to_string())
}

/// Cancel pressed: the buttons become "Yes, cancel it" / "No, keep my place".
async fn ask_cancel(ctx: &Ctx<'_>, id: u64, pressed: Option<MessageId>) -> Option<String> {
    let db = ctx.tenant.db().ok()?;
    let (tk, _) = match qt::view(db, ctx.chat_id, id, ctx.lang, ctx.state.now_ms()) {
        Ok(v) => v,
        Err(e) => return Some(e.info().message(ctx.lang)),
    };
    if tk.status != TicketStatus::Waiting {
        return refresh(ctx, id, pressed).await;
    }
    let confirm = tf(ctx.lang, "bot.queue.confirm_cancel", &[("number", &tk.number)]);
    if let Some(mid) = pressed {
        let keyboard = ui::inline(&[vec![
            ui::button(ctx.t("bot.queue.btn.cancel_yes"), qt::cancel_sure_data(id)),
            ui::button(ctx.t("bot.queue.btn.cancel_no"), qt::refresh_data(id)),
        ]]);
        let _ = ctx.bot.edit_message_reply_markup(ChatId(ctx.chat_id), mid).reply_markup(keyboard).await;
    }
    Some(confirm)
}

/// Cancels the ticket as the customer holding it; the pressed message (now
/// its live one) is edited by the queue's change, like any other.
async fn cancel(ctx: &Ctx<'_>, id: u64, pressed: Option<MessageId>) -> Option<String> {
    if let Some(mid) = pressed {
        live(ctx, id, mid).await;
    }
    match qt::cancel(ctx.state, ctx.tenant, ctx.chat_id, id).await {
        Ok(tk) => Some(tf(ctx.lang, "bot.queue.cancelled", &[("number", &tk.number)])),
        Err(e) => {
            // Called meanwhile, or already over: the message shows how it stands.
            let _ = refresh(ctx, id, pressed).await;
            Some(e.info().message(ctx.lang))
        }
    }
}
