//! What every dialogue of the bot shares: the commands, the language
//! choice, keyboards from stored buttons, and a file from Telegram put into
//! the file store.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::files::FileMeta;
use crate::i18n::{Lang, t};
use crate::store::schema::{BotButtonV1, BotChatV1, BotConfigV1};
use crate::tenancy::Tenant;
use futures_util::StreamExt;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup, ReplyMarkup};

/// The commands the bot lists, with their description keys.
pub const COMMANDS: [(&str, &str); 7] = [
    ("start", "bot.cmd.start"),
    ("tasks", "bot.cmd.tasks"),
    ("today", "bot.cmd.today"),
    ("queue", "bot.cmd.queue"),
    ("lang", "bot.cmd.lang"),
    ("cancel", "bot.cmd.cancel"),
    ("help", "bot.cmd.help"),
];

/// The Bot API's limit on a file a bot may download (20 MB).
pub const DOWNLOAD_MAX: u64 = 20 * 1024 * 1024;

/// The language a chat reads: its choice (/lang), else the staff account's,
/// else what Telegram says of the person, else the company's.
pub fn lang_of(chat: &BotChatV1, account: Option<Lang>, telegram: Option<&str>, company: Lang) -> Lang {
    chat.lang
        .as_deref()
        .and_then(Lang::parse)
        .or(account)
        .or_else(|| telegram.and_then(|code| Lang::parse(code.split(['-', '_']).next().unwrap_or(code))))
        .unwrap_or(company)
}

/// Inline buttons from stored ones.
pub fn inline(rows: &[Vec<BotButtonV1>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().map(|row| {
        row.iter()
            .filter_map(|b| match (&b.data, &b.url) {
                (Some(d), _) => Some(InlineKeyboardButton::callback(b.text.clone(), d.clone())),
                (None, Some(u)) => url::Url::parse(u).ok().map(|u| InlineKeyboardButton::url(b.text.clone(), u)),
                (None, None) => None,
            })
            .collect::<Vec<_>>()
    }))
}

/// `text` shortened to `max` characters, with "…" when it was longer
/// (Telegram's limits on texts, captions and buttons).
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// A callback button.
pub fn button(text: impl Into<String>, data: impl Into<String>) -> BotButtonV1 {
    BotButtonV1 { text: text.into(), data: Some(data.into()), url: None }
}

/// A reply keyboard (the menu under the input), resized to fit.
pub fn menu(rows: Vec<Vec<KeyboardButton>>) -> ReplyMarkup {
    ReplyMarkup::Keyboard(KeyboardMarkup::new(rows).resize_keyboard())
}

/// The language choice: one button per language.
pub fn lang_buttons() -> InlineKeyboardMarkup {
    inline(&[Lang::ALL.iter().map(|l| button(l.native_name(), format!("l:{}", l.code()))).collect()])
}

/// The bot's link: `https://t.me/<username>`, with a start parameter.
pub fn link(cfg: &BotConfigV1, start: Option<&str>) -> String {
    match start {
        Some(s) => format!("https://t.me/{}?start={s}", cfg.username),
        None => format!("https://t.me/{}", cfg.username),
    }
}

/// Puts a file a person sent (Telegram's `file_id`) into the company's file
/// store with the same checks as a web upload, as `uploader` (a staff id, or
/// `files::ANON_UPLOADER` for a client). Over the Bot API's 20 MB: refused.
pub async fn fetch_file(
    state: &AppState,
    tenant: &Tenant,
    bot: &Bot,
    uploader: u64,
    file_id: &str,
    name: &str,
    size: Option<u64>,
) -> Result<FileMeta, AppError> {
    let too_big = || AppError::new(ErrorKind::PayloadTooLarge).with_message("bot.file_too_big");
    if size.is_some_and(|s| s > DOWNLOAD_MAX) {
        return Err(too_big());
    }
    let file = bot.get_file(teloxide::types::FileId(file_id.to_string())).await.map_err(|e| {
        tracing::warn!(company = %tenant.slug, error = %super::scrub(&e.to_string(), bot.token()), "telegram getFile failed");
        AppError::new(ErrorKind::Unavailable).with_message("telegram.unreachable")
    })?;
    if u64::from(file.size) > DOWNLOAD_MAX {
        return Err(too_big());
    }
    let token = bot.token().to_string();
    let slug = tenant.slug.clone();
    let mut stream = bot.download_file_stream(&file.path).map(move |c| {
        c.map_err(|e| {
            tracing::warn!(company = %slug, error = %super::scrub(&e.to_string(), &token), "telegram file download failed");
            AppError::new(ErrorKind::Unavailable).with_message("telegram.unreachable")
        })
    });
    crate::files::upload_as(state, tenant, uploader, name, &mut stream).await
}

/// A short title for a language-neutral hint: the command list in `lang`.
pub fn help(lang: Lang, staff: bool) -> String {
    let mut out = String::from(t(lang, if staff { "bot.help.staff" } else { "bot.help.client" }));
    out.push('\n');
    for (cmd, key) in COMMANDS {
        if !staff && (cmd == "tasks" || cmd == "today") {
            continue;
        }
        out.push_str(&format!("\n/{cmd} — {}", t(lang, key)));
    }
    out
}
