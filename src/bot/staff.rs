//! The bot for staff: linking an account with a one-time code (and, when an
//! admin chose it, the login and a one-time password), notifications with
//! the buttons their reader may press, replies into a task's thread,
//! /tasks and /today.
//!
//! A button is `t:<task>:<move>` (a [`Move`] code): pressing it asks the
//! core as the person pressing, with the same `allowed_moves` the pages
//! show; the message is then edited to say what was done and by whom, and
//! loses its buttons. "Redo" first asks for the reason (a stored dialogue:
//! the next text is the reason).

use super::ui;
use super::update::Ctx;
use crate::app::AppState;
use crate::auth::{Caller, Principal};
use crate::chat::service::{self as chat, NewMessage, Target, Window};
use crate::error::AppError;
use crate::i18n::{Lang, t, tf, tn};
use crate::store::schema::{BotButtonV1, BotMessageV1, BotOutV1, NotificationV1, TaskStatus, TaskV1};
use crate::tasks::service::{self as tasks, Inbox, Move};
use crate::telegram::{chats, links};
use crate::tenancy::Tenant;
use std::collections::HashMap;
use teloxide::prelude::*;
use teloxide::types::{CallbackQuery, KeyboardButton, KeyboardRemove, Message, MessageId, ReplyMarkup};

/// The dialogues of this part (`Dialogue::area`).
pub const AREA: &str = "staff";

/// How many tasks /tasks shows as messages of their own.
const LIST_MAX: usize = 10;

/// The moves a button may carry, in the order they are shown.
const BUTTON_MOVES: [Move; 8] =
    [Move::Start, Move::Submit, Move::Complete, Move::Redo, Move::Approve, Move::Decline, Move::ApproveDeadline, Move::DeclineDeadline];

/// The staff menu.
pub async fn menu(ctx: &Ctx<'_>, text: &str) {
    let rows = vec![
        vec![KeyboardButton::new(ctx.t("bot.menu.tasks")), KeyboardButton::new(ctx.t("bot.menu.today"))],
        vec![KeyboardButton::new(ctx.t("bot.menu.language"))],
    ];
    ctx.send(text, Some(ui::menu(rows))).await;
}

/// `/start <code>`: links this Telegram account to the code's user.
pub async fn link(ctx: &mut Ctx<'_>, code: &str) {
    let tg = ctx.telegram_id();
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

// ---------- words ----------

/// A time in the company's time zone, as a clerk reads it.
fn when(tenant: &Tenant, ms: i64) -> String {
    crate::clock::from_ms(ms).to_zoned(tenant.timezone()).strftime("%d.%m.%Y %H:%M").to_string()
}

/// The first line of a notification: what happened, in a few words.
fn head(lang: Lang, note: &NotificationV1) -> String {
    let key = match note.kind.as_str() {
        "task_assigned" => "bot.staff.head.assigned",
        "task_approval" => "bot.staff.head.approval",
        "task_deadline" => "bot.staff.head.deadline",
        "task_overdue" => "bot.staff.head.overdue",
        "task_extension" => "bot.staff.head.extension",
        "tasks_all_done" => "bot.staff.head.all_done",
        "chat_message" => "bot.staff.head.chat",
        "chat_mention" => "bot.staff.head.mention",
        "task_file" => "bot.staff.head.file",
        "task_status" => match arg(note, "status") {
            "pending_review" => "bot.staff.head.review",
            "redo" => "bot.staff.head.redo",
            "completed" => "bot.staff.head.completed",
            "rejected" => "bot.staff.head.rejected",
            "declined" => "bot.staff.head.declined",
            "new" => "bot.staff.head.approved",
            _ => "bot.staff.head.status",
        },
        k if k.starts_with("request_") => "bot.staff.head.request",
        _ => "bot.staff.head.other",
    };
    tf(lang, key, &[("status", crate::tasks::status_label(lang, arg(note, "status")))])
}

fn arg<'a>(note: &'a NotificationV1, name: &str) -> &'a str {
    note.args.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn status_word(lang: Lang, s: TaskStatus) -> &'static str {
    crate::tasks::status_label(lang, crate::tasks::status_code(s))
}

/// A task as a few lines: its title, who gave it to whom, the deadline and
/// the status.
fn task_lines(lang: Lang, tenant: &Tenant, names: &HashMap<u64, String>, task: &TaskV1, now: i64) -> String {
    let name = |id: u64| names.get(&id).cloned().unwrap_or_default();
    let mut out = format!("«{}»", task.title);
    out.push('\n');
    out.push_str(&tf(lang, "bot.staff.card.people", &[("from", &name(task.creator_id)), ("to", &name(task.assignee_id))]));
    out.push('\n');
    let late = !crate::tasks::is_final(task.status) && (task.status == TaskStatus::Overdue || task.deadline < now);
    let key = if late { "bot.staff.card.deadline_late" } else { "bot.staff.card.deadline" };
    out.push_str(&tf(lang, key, &[("time", &when(tenant, task.deadline))]));
    out.push('\n');
    out.push_str(&tf(lang, "bot.staff.card.status", &[("status", status_word(lang, task.status))]));
    if task.points > 0 {
        out.push('\n');
        out.push_str(&tf(lang, "bot.staff.card.points", &[("n", &task.points.to_string())]));
    }
    out
}

/// Everyone's name by id, as colleagues see them.
fn names(db: &crate::store::Db, who: &Caller) -> HashMap<u64, String> {
    crate::org::service::directory(db, who).map(|d| d.into_iter().map(|(id, c)| (id, c.name)).collect()).unwrap_or_default()
}

/// A move's button label.
fn move_label(lang: Lang, m: Move) -> &'static str {
    match m {
        Move::Start => t(lang, "bot.staff.move.start"),
        Move::Submit => t(lang, "bot.staff.move.submit"),
        Move::Complete => t(lang, "bot.staff.move.complete"),
        Move::Redo => t(lang, "bot.staff.move.redo"),
        Move::Approve | Move::ApproveDeadline => t(lang, "bot.staff.move.approve"),
        Move::Decline | Move::DeclineDeadline => t(lang, "bot.staff.move.decline"),
        _ => "",
    }
}

fn parse_move(code: &str) -> Option<Move> {
    BUTTON_MOVES.into_iter().find(|m| m.code() == code)
}

/// The page of a task (or a request) when the server has a public address:
/// Telegram opens only absolute http(s) links.
fn page_url(state: &AppState, tenant: &Tenant, what: &str, id: u64) -> Option<String> {
    let base = state.config.public_url.as_deref()?.trim_end_matches('/');
    (base.starts_with("https://") || base.starts_with("http://")).then(|| format!("{base}/c/{}/{what}/{id}", tenant.slug))
}

fn open_button(lang: Lang, url: String) -> Vec<BotButtonV1> {
    vec![BotButtonV1 { text: t(lang, "bot.staff.open").to_string(), data: None, url: Some(url) }]
}

/// The buttons of a task for `who` now: the moves they may make (from
/// `allowed_moves`, the pages' table), two to a row, then "Open".
fn task_buttons(state: &AppState, tenant: &Tenant, lang: Lang, who: &Caller, id: u64, task: &TaskV1) -> Vec<Vec<BotButtonV1>> {
    let moves = tenant.db().and_then(|db| tasks::moves_of(db, who, id, task)).unwrap_or_default();
    let shown: Vec<BotButtonV1> = BUTTON_MOVES
        .into_iter()
        .filter(|m| moves.contains(m))
        .map(|m| ui::button(move_label(lang, m), format!("t:{id}:{}", m.code())))
        .collect();
    let mut rows: Vec<Vec<BotButtonV1>> = shown.chunks(2).map(<[BotButtonV1]>::to_vec).collect();
    if let Some(url) = page_url(state, tenant, "tasks", id) {
        rows.push(open_button(lang, url));
    }
    rows
}

/// The language a staff member's chat reads.
fn reader_lang(tenant: &Tenant, p: &Principal) -> Lang {
    let chat = tenant
        .db()
        .ok()
        .and_then(|db| links::link_for(db, p.id).ok().flatten())
        .and_then(|l| chats::get(tenant.db().ok()?, l.chat_id).ok());
    match chat {
        Some(c) => ui::lang_of(&c, Some(p.lang), None, tenant.lang()),
        None => p.lang,
    }
}

/// A staff notification worded for Telegram, in its reader's language.
pub async fn render_notification(
    state: &AppState,
    tenant: &Tenant,
    user_id: u64,
    notification_id: u64,
) -> Result<Option<BotOutV1>, AppError> {
    let db = tenant.db()?;
    let Some(note) = crate::notify::get(db, user_id, notification_id)? else { return Ok(None) };
    // A switched-off account hears nothing more.
    let Ok(reader) = Principal::load(tenant, user_id, String::new(), tenant.lang()) else { return Ok(None) };
    let lang = reader_lang(tenant, &reader);
    let who = Caller::from(&reader);
    let now = state.now_ms();
    let mut about = BotMessageV1 { task_id: note.task_id, notification_id: Some(notification_id), ..Default::default() };
    about.thread_id = crate::notify::thread_of(&note);
    let mut out = BotOutV1::default();
    let mut text = head(lang, &note);
    let by = arg(&note, "by");
    let chat_kind = matches!(note.kind.as_str(), "chat_message" | "chat_mention" | "task_file");
    let task = note.task_id.and_then(|id| tasks::get(db, &who, id).ok().map(|t| (id, t)));
    if chat_kind {
        text.push('\n');
        text.push_str(&crate::notify::text(lang, &note));
        if let Some(th) = about.thread_id
            && let Ok((_, msgs)) = chat::messages(db, &who, Target::Thread(th), Window { limit: 20, ..Window::default() })
        {
            // The message it is about: the file's, else the newest.
            let m = if note.kind == "task_file" {
                msgs.iter().rev().find(|m| !m.files.is_empty() && m.created_at_ms <= note.at)
            } else {
                msgs.iter().rev().find(|m| !m.deleted)
            };
            if let Some(m) = m {
                if !m.text.is_empty() {
                    let quote: String = m.text.chars().take(500).collect();
                    text.push_str(&format!("\n\n{}: {quote}", m.author_name));
                }
                if note.kind == "task_file"
                    && let Some(f) = m.files.first()
                {
                    out.file_id = Some(f.id);
                    text.push_str(&format!("\n📎 {}", f.name));
                }
            }
        }
        if about.thread_id.is_none()
            && let Some((id, _)) = &task
        {
            about.thread_id = chat::thread_of_task(db, &who, *id).ok().flatten();
        }
        if let Some(url) = note.task_id.and_then(|id| page_url(state, tenant, "tasks", id)) {
            out.buttons.push(open_button(lang, url));
        }
    } else if let Some((id, task)) = &task {
        text.push('\n');
        text.push_str(&task_lines(lang, tenant, &names(db, &who), task, now));
        // Who did it and when (a new task's giver is on the card already).
        if !by.is_empty() && note.kind != "task_assigned" {
            text.push('\n');
            text.push_str(&tf(lang, "bot.staff.by", &[("name", by), ("time", &when(tenant, note.at))]));
        }
        match note.kind.as_str() {
            "task_status" if task.status == TaskStatus::Redo => {
                if let Ok(history) = tasks::history_of(db, &who, *id)
                    && let Some(reason) = tasks::redo_reason(task, &history).and_then(|e| e.comment.clone())
                {
                    text.push('\n');
                    text.push_str(&tf(lang, "bot.staff.reason", &[("reason", &reason)]));
                }
            }
            "task_extension" => {
                if let Some(req) = &task.deadline_request {
                    text.push('\n');
                    text.push_str(&tf(lang, "bot.staff.asked_deadline", &[("time", &when(tenant, req.deadline))]));
                    if let Some(c) = &req.comment {
                        text.push('\n');
                        text.push_str(&tf(lang, "bot.staff.reason", &[("reason", c)]));
                    }
                }
            }
            _ => {}
        }
        about.thread_id = about.thread_id.or_else(|| chat::thread_of_task(db, &who, *id).ok().flatten());
        out.buttons = task_buttons(state, tenant, lang, &who, *id, task);
    } else {
        // Not about a task they see (any more), or about something else.
        text.push('\n');
        text.push_str(&crate::notify::text(lang, &note));
        if let Some(rid) = crate::notify::request_of(&note) {
            about.request_id = Some(rid);
            if let Some(url) = page_url(state, tenant, "requests", rid) {
                out.buttons.push(open_button(lang, url));
            }
        }
    }
    out.text = text;
    out.about = about;
    Ok(Some(out))
}

// ---------- buttons ----------

pub fn owns_callback(area: &str) -> bool {
    area == "t"
}

/// What the pressed message says now and whether it is a caption (a photo
/// or a document).
fn pressed(q: &CallbackQuery) -> Option<(i64, String, bool)> {
    let m = q.message.as_ref()?;
    let id = i64::from(m.id().0);
    match m.regular_message() {
        Some(msg) => match msg.text() {
            Some(text) => Some((id, text.to_string(), false)),
            None => Some((id, msg.caption().unwrap_or("").to_string(), true)),
        },
        None => Some((id, String::new(), false)),
    }
}

pub async fn on_callback(ctx: &mut Ctx<'_>, q: &CallbackQuery, _area: &str, rest: &str) -> Option<String> {
    if ctx.staff.is_none() {
        return Some(ctx.t("bot.staff.not_linked").to_string());
    }
    let (id, code) = rest.split_once(':')?;
    let (Ok(id), Some(mv)) = (id.parse::<u64>(), parse_move(code)) else {
        return Some(ctx.t("bot.unknown_button").to_string());
    };
    let who = ctx.caller();
    let Ok(db) = ctx.tenant.db() else { return Some(ctx.t("bot.staff.failed").to_string()) };
    let task = match tasks::get(db, &who, id) {
        Ok(t) => t,
        Err(e) => return Some(e.info().message(ctx.lang)),
    };
    let message = pressed(q);
    let allowed = tasks::moves_of(db, &who, id, &task).unwrap_or_default();
    if !allowed.contains(&mv) {
        // The task moved on (or this was never theirs): the message shows
        // what they may do now.
        if let Some((mid, _, _)) = &message {
            let rows = task_buttons(ctx.state, ctx.tenant, ctx.lang, &who, id, &task);
            let mut req = ctx.bot.edit_message_reply_markup(ChatId(ctx.chat_id), MessageId(i32::try_from(*mid).unwrap_or(0)));
            if !rows.is_empty() {
                req = req.reply_markup(ui::inline(&rows));
            }
            let _ = req.await;
        }
        return Some(tf(ctx.lang, "bot.staff.moved_on", &[("status", status_word(ctx.lang, task.status))]));
    }
    if mv == Move::Redo {
        let (mid, text, caption) = message.unwrap_or_default();
        let mid = (mid != 0).then_some(mid);
        ctx.set_dialogue(AREA, serde_json::json!({"redo": id, "message": mid, "text": text, "caption": caption})).await;
        ctx.say(&tf(ctx.lang, "bot.staff.redo_ask", &[("title", &task.title)])).await;
        return None;
    }
    match act(ctx, id, mv, None).await {
        Ok(done) => {
            if let Some((mid, text, caption)) = message {
                outcome(ctx, mid, &text, caption, id, &done, mv).await;
            }
            Some(ctx.t("bot.staff.done").to_string())
        }
        Err(e) => Some(e.info().message(ctx.lang)),
    }
}

/// Makes a move as the person in this chat.
async fn act(ctx: &Ctx<'_>, id: u64, mv: Move, reason: Option<String>) -> Result<TaskV1, AppError> {
    let (state, tenant, who) = (ctx.state, ctx.tenant, ctx.caller());
    let to = |s| tasks::change_status(state, tenant, &who, id, s, reason.clone());
    match mv {
        Move::Start => to(TaskStatus::InProgress).await,
        Move::Submit => to(TaskStatus::PendingReview).await,
        Move::Complete => to(TaskStatus::Completed).await,
        Move::Redo => to(TaskStatus::Redo).await,
        Move::Approve | Move::ApproveDeadline => tasks::approve(state, tenant, &who, id, None).await,
        Move::Decline | Move::DeclineDeadline => tasks::decline(state, tenant, &who, id, None).await,
        _ => Err(crate::error::ErrorKind::Forbidden.into()),
    }
}

/// Edits the pressed message: what was done, by whom and when; the buttons
/// go (only "Open" stays).
async fn outcome(ctx: &Ctx<'_>, mid: i64, text: &str, caption: bool, id: u64, task: &TaskV1, mv: Move) {
    let key = match mv {
        Move::Start => "bot.staff.outcome.start",
        Move::Submit => "bot.staff.outcome.submit",
        Move::Complete => "bot.staff.outcome.complete",
        Move::Redo => "bot.staff.outcome.redo",
        Move::Approve => "bot.staff.outcome.approve",
        Move::Decline => "bot.staff.outcome.decline",
        Move::ApproveDeadline => "bot.staff.outcome.approve_deadline",
        _ => "bot.staff.outcome.decline_deadline",
    };
    let name = ctx.staff.as_ref().map(|p| p.display_name().to_string()).unwrap_or_default();
    let line = tf(ctx.lang, key, &[("name", &name), ("time", &when(ctx.tenant, ctx.state.now_ms()))]);
    let status = tf(ctx.lang, "bot.staff.card.status", &[("status", status_word(ctx.lang, task.status))]);
    let base = if text.is_empty() { format!("«{}»", task.title) } else { text.to_string() };
    let new = format!("{base}\n\n{line}\n{status}");
    let markup = page_url(ctx.state, ctx.tenant, "tasks", id).map(|u| ui::inline(&[open_button(ctx.lang, u)]));
    let (chat, mid) = (ChatId(ctx.chat_id), MessageId(i32::try_from(mid).unwrap_or(0)));
    let result = if caption {
        let mut req = ctx.bot.edit_message_caption(chat, mid).caption(ui::cut(&new, 1024));
        if let Some(m) = markup {
            req = req.reply_markup(m);
        }
        req.await.map(|_| ())
    } else {
        let mut req = ctx.bot.edit_message_text(chat, mid, ui::cut(&new, 4096));
        if let Some(m) = markup {
            req = req.reply_markup(m);
        }
        req.await.map(|_| ())
    };
    if let Err(e) = result {
        tracing::debug!(company = %ctx.tenant.slug, error = %super::scrub(&e.to_string(), &ctx.cfg.token), "telegram edit failed");
    }
}

// ---------- dialogue: the reason of a redo ----------

pub async fn on_dialogue(ctx: &mut Ctx<'_>, state: serde_json::Value, msg: &Message) {
    let text = msg.text().map(str::trim).unwrap_or("");
    let task_id = state.get("redo").and_then(serde_json::Value::as_u64);
    let (Some(id), false) = (task_id, ctx.staff.is_none()) else {
        ctx.clear_dialogue().await;
        ctx.hint().await;
        return;
    };
    // A menu button pressed instead: the redo is dropped, the menu answers.
    if [ctx.t("bot.menu.tasks"), ctx.t("bot.menu.today"), ctx.t("bot.menu.language")].contains(&text) {
        ctx.clear_dialogue().await;
        if !on_menu_text(ctx, text).await {
            ctx.send(ctx.t("bot.lang.choose"), Some(ReplyMarkup::InlineKeyboard(ui::lang_buttons()))).await;
        }
        return;
    }
    if text.is_empty() {
        ctx.say(ctx.t("bot.staff.redo_text_only")).await;
        return;
    }
    match act(ctx, id, Move::Redo, Some(text.to_string())).await {
        Ok(task) => {
            ctx.clear_dialogue().await;
            if let Some(mid) = state.get("message").and_then(serde_json::Value::as_i64) {
                let was = state.get("text").and_then(serde_json::Value::as_str).unwrap_or("");
                let caption = state.get("caption").and_then(serde_json::Value::as_bool).unwrap_or(false);
                let with_reason = format!("{was}\n{}", tf(ctx.lang, "bot.staff.reason", &[("reason", text)]));
                outcome(ctx, mid, with_reason.trim_start(), caption, id, &task, Move::Redo).await;
            }
            ctx.menu(&tf(ctx.lang, "bot.staff.redo_done", &[("title", &task.title)])).await;
        }
        Err(e) => {
            // Too long, or the task moved on meanwhile: said, and the dialogue ends
            // unless the reason itself was wrong.
            if e.field.is_some() {
                ctx.say(&e.info().message(ctx.lang)).await;
            } else {
                ctx.clear_dialogue().await;
                ctx.menu(&e.info().message(ctx.lang)).await;
            }
        }
    }
}

// ---------- replies into a task's thread ----------

/// A reply to one of the bot's messages; `true` when it was about a task
/// and went into its thread.
pub async fn on_reply(ctx: &mut Ctx<'_>, msg: &Message, replied: &Message) -> bool {
    let Ok(db) = ctx.tenant.db() else { return false };
    let mid = i64::from(replied.id.0);
    let mut about = chats::message(db, ctx.chat_id, mid).ok().flatten();
    // The sender remembers a message right after Telegram took it: a reply
    // faster than that waits a moment for it.
    let from_bot = replied.from.as_ref().is_some_and(|u| u.is_bot);
    for _ in 0..10 {
        if about.is_some() || !from_bot {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        about = chats::message(db, ctx.chat_id, mid).ok().flatten();
    }
    let Some(about) = about else { return false };
    // Replying with the reason of a redo under way for this task.
    if let Some(d) = ctx.dialogue()
        && d.area == AREA
        && d.state.get("redo").and_then(serde_json::Value::as_u64).is_some_and(|id| Some(id) == about.task_id)
    {
        on_dialogue(ctx, d.state, msg).await;
        return true;
    }
    let target = match (about.task_id, about.thread_id, about.request_id) {
        (Some(task), _, _) => Target::Task(task),
        (None, Some(th), None) => Target::Thread(th),
        _ => return false,
    };
    let Some(me) = ctx.staff.as_ref().map(|p| p.id) else { return false };
    let mut file_ids = Vec::new();
    let mut files: Vec<(String, String, Option<u64>)> = Vec::new();
    if let Some(big) = msg.photo().and_then(<[_]>::last) {
        files.push((big.file.id.0.clone(), "photo.jpg".to_string(), Some(u64::from(big.file.size))));
    }
    if let Some(d) = msg.document() {
        files.push((d.file.id.0.clone(), d.file_name.clone().unwrap_or_else(|| "document".into()), Some(u64::from(d.file.size))));
    }
    if let Some(v) = msg.voice() {
        files.push((v.file.id.0.clone(), "voice.ogg".to_string(), Some(u64::from(v.file.size))));
    }
    for (fid, name, size) in files {
        match ui::fetch_file(ctx.state, ctx.tenant, ctx.bot, me, &fid, &name, size).await {
            Ok(f) => file_ids.push(f.id),
            Err(e) => {
                ctx.say(&e.info().message(ctx.lang)).await;
                return true;
            }
        }
    }
    let text = msg.text().or_else(|| msg.caption()).unwrap_or("").to_string();
    let input = NewMessage { text, file_ids, ..NewMessage::default() };
    match chat::post(ctx.state, ctx.tenant, &ctx.caller(), target, input).await {
        Ok(_) => {
            ctx.say(ctx.t("bot.staff.reply_sent")).await;
        }
        Err(e) => {
            ctx.say(&e.info().message(ctx.lang)).await;
        }
    }
    true
}

// ---------- commands and the menu ----------

pub async fn on_menu_text(ctx: &mut Ctx<'_>, text: &str) -> bool {
    if text == ctx.t("bot.menu.tasks") {
        my_tasks(ctx).await;
        true
    } else if text == ctx.t("bot.menu.today") {
        today(ctx).await;
        true
    } else {
        false
    }
}

pub async fn on_command(ctx: &mut Ctx<'_>, cmd: &str, _arg: &str, _msg: &Message) -> bool {
    if !matches!(cmd, "tasks" | "today" | "unlink") {
        return false;
    }
    if ctx.staff.is_none() {
        ctx.say(ctx.t("bot.staff.not_linked")).await;
        return true;
    }
    match cmd {
        "tasks" => my_tasks(ctx).await,
        "today" => today(ctx).await,
        _ => unlink(ctx).await,
    }
    true
}

/// `/unlink`: this Telegram account no longer gets the staff member's news.
async fn unlink(ctx: &mut Ctx<'_>) {
    let Some(me) = ctx.staff.as_ref().map(|p| p.id) else { return };
    ctx.clear_dialogue().await;
    match links::unlink(ctx.state, ctx.tenant, &ctx.caller(), me).await {
        Ok(_) => {
            ctx.staff = None;
            ctx.send(ctx.t("bot.staff.unlinked"), Some(ReplyMarkup::KeyboardRemove(KeyboardRemove::new()))).await;
        }
        Err(e) => {
            ctx.say(&e.info().message(ctx.lang)).await;
        }
    }
}

/// `/tasks`: my open tasks, one message each with its buttons, then what
/// waits for my decision (approvals, reviews).
async fn my_tasks(ctx: &mut Ctx<'_>) {
    let who = ctx.caller();
    let Ok(db) = ctx.tenant.db() else { return };
    let mine = crate::home::open_tasks(db, &who).unwrap_or_default();
    let mut waiting: Vec<(u64, TaskV1)> = Vec::new();
    for inbox in [Inbox::Approval, Inbox::Review] {
        for (id, t) in tasks::inbox(db, &who, inbox, LIST_MAX).unwrap_or_default() {
            if !waiting.iter().any(|(w, _)| *w == id) && !mine.iter().any(|(m, _)| *m == id) {
                waiting.push((id, t));
            }
        }
    }
    if mine.is_empty() && waiting.is_empty() {
        ctx.menu(ctx.t("bot.staff.tasks_none")).await;
        return;
    }
    let names = names(db, &who);
    let now = ctx.state.now_ms();
    let n = mine.len() as u64;
    if !mine.is_empty() {
        ctx.say(&tn(ctx.lang, "bot.staff.tasks_header", n, &[])).await;
    }
    for (id, task) in mine.iter().take(LIST_MAX) {
        card(ctx, &who, &names, *id, task, now).await;
    }
    if mine.len() > LIST_MAX {
        ctx.say(&tn(ctx.lang, "bot.staff.tasks_more", (mine.len() - LIST_MAX) as u64, &[])).await;
    }
    if !waiting.is_empty() {
        ctx.say(&tn(ctx.lang, "bot.staff.waiting_header", waiting.len() as u64, &[])).await;
        for (id, task) in waiting.iter().take(LIST_MAX) {
            card(ctx, &who, &names, *id, task, now).await;
        }
    }
}

/// One task as a message with its buttons, remembered so that a press or a
/// reply finds it.
async fn card(ctx: &Ctx<'_>, who: &Caller, names: &HashMap<u64, String>, id: u64, task: &TaskV1, now: i64) {
    let text = task_lines(ctx.lang, ctx.tenant, names, task, now);
    let rows = task_buttons(ctx.state, ctx.tenant, ctx.lang, who, id, task);
    let markup = (!rows.is_empty()).then(|| ReplyMarkup::InlineKeyboard(ui::inline(&rows)));
    if let Some(m) = ctx.send(&text, markup).await {
        let thread_id = ctx.tenant.db().ok().and_then(|db| chat::thread_of_task(db, who, id).ok().flatten());
        let about = BotMessageV1 { task_id: Some(id), thread_id, at: now, ..Default::default() };
        if let Err(e) = chats::remember(ctx.tenant, ctx.chat_id, i64::from(m.id.0), about).await {
            tracing::warn!(company = %ctx.tenant.slug, error = %e, "bot message not remembered");
        }
    }
}

/// `/today`: my day.
async fn today(ctx: &mut Ctx<'_>) {
    let Some(p) = ctx.staff.as_ref() else { return };
    let text = day_text(ctx.state, ctx.tenant, p, ctx.lang, false);
    ctx.menu(&text).await;
}

/// A person's day as text: late, due today, in progress, sent back, handed
/// in, and points. `greeting`: the digest's first line.
pub fn day_text(state: &AppState, tenant: &Tenant, p: &Principal, lang: Lang, greeting: bool) -> String {
    let who = Caller::from(p);
    let now = state.now_ms();
    let tz = tenant.timezone();
    let today = crate::clock::from_ms(now).to_zoned(tz.clone()).date();
    let end = today.tomorrow().ok().and_then(|d| d.to_zoned(tz.clone()).ok()).map(|z| z.timestamp().as_millisecond()).unwrap_or(now);
    let open = tenant.db().and_then(|db| crate::home::open_tasks(db, &who)).unwrap_or_default();
    let late = |t: &TaskV1| t.status == TaskStatus::Overdue || (t.deadline < now && t.status != TaskStatus::PendingReview);
    let mut out = if greeting {
        tf(lang, "bot.staff.digest.hello", &[("name", p.display_name()), ("date", &today.strftime("%d.%m.%Y").to_string())])
    } else {
        tf(lang, "bot.staff.today.title", &[("date", &today.strftime("%d.%m.%Y").to_string())])
    };
    let groups: [(&str, Vec<&(u64, TaskV1)>); 5] = [
        ("bot.staff.today.overdue", open.iter().filter(|(_, t)| late(t)).collect()),
        (
            "bot.staff.today.due",
            open.iter().filter(|(_, t)| !late(t) && t.deadline < end && t.status != TaskStatus::PendingReview).collect(),
        ),
        (
            "bot.staff.today.in_progress",
            open.iter().filter(|(_, t)| !late(t) && t.deadline >= end && t.status == TaskStatus::InProgress).collect(),
        ),
        ("bot.staff.today.redo", open.iter().filter(|(_, t)| !late(t) && t.deadline >= end && t.status == TaskStatus::Redo).collect()),
        ("bot.staff.today.review", open.iter().filter(|(_, t)| t.status == TaskStatus::PendingReview).collect()),
    ];
    out.push('\n');
    out.push_str(&tn(lang, "bot.staff.today.open", open.len() as u64, &[]));
    for (key, list) in groups {
        if list.is_empty() {
            continue;
        }
        out.push_str("\n\n");
        out.push_str(&tn(lang, key, list.len() as u64, &[]));
        for (_, t) in list.iter().take(8) {
            out.push_str(&format!("\n• {} — {}", t.title, when(tenant, t.deadline)));
            // Which of them are under way (or sent back).
            if key != "bot.staff.today.in_progress" && matches!(t.status, TaskStatus::InProgress | TaskStatus::Redo) {
                out.push_str(&format!(" · {}", status_word(lang, t.status)));
            }
        }
        if list.len() > 8 {
            out.push_str("\n• …");
        }
    }
    // What waits for my decision (a manager's reviews, a director's approvals).
    if let Ok(c) = tenant.db().and_then(|db| tasks::inbox_counts(db, &who))
        && c.total() > 0
    {
        out.push_str("\n\n");
        out.push_str(&tf(lang, "bot.staff.today.inbox", &[("approval", &c.approval.to_string()), ("review", &c.review.to_string())]));
    }
    if let Ok(points) = tenant.db().and_then(|db| tasks::points_of(db, &who, p.id, now, &tz)) {
        out.push_str("\n\n");
        out.push_str(&tf(
            lang,
            "bot.staff.today.points",
            &[("week", &points.week.to_string()), ("month", &points.month.to_string()), ("total", &points.total.to_string())],
        ));
    }
    out
}
