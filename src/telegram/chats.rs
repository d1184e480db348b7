//! The chats the bot talks in: each one's language, the dialogue under way
//! (kept as the bot's own JSON, so a restart continues it), whether the
//! person blocked the bot, the client they are; and what the messages the
//! bot sent there are about.

use crate::error::AppError;
use crate::store::Db;
use crate::store::schema::{BOT_CHATS, BOT_MESSAGES, BotChatV1, BotMessageV1};
use crate::tenancy::Tenant;

/// A chat as stored (a new chat: nothing chosen yet).
pub fn get(db: &Db, chat_id: i64) -> Result<BotChatV1, AppError> {
    let tx = db.read()?;
    Ok(BOT_CHATS.open(&tx)?.get(chat_id)?.unwrap_or(BotChatV1 {
        lang: None,
        dialogue: None,
        unreachable: false,
        client_id: None,
        updated_at: 0,
    }))
}

/// Changes a chat with `f` and stores it; returns it as stored.
pub async fn update(
    tenant: &Tenant,
    now: i64,
    chat_id: i64,
    f: impl FnOnce(&mut BotChatV1) + Send + 'static,
) -> Result<BotChatV1, AppError> {
    let mut f = Some(f);
    tenant
        .db()?
        .write(move |tx| {
            let mut t = BOT_CHATS.open(tx)?;
            let mut chat =
                t.get(chat_id)?.unwrap_or(BotChatV1 { lang: None, dialogue: None, unreachable: false, client_id: None, updated_at: now });
            if let Some(f) = f.take() {
                f(&mut chat);
            }
            chat.updated_at = now;
            t.insert(chat_id, &chat)?;
            Ok(chat)
        })
        .await
}

/// Chooses the chat's language (/lang).
pub async fn set_lang(tenant: &Tenant, now: i64, chat_id: i64, lang: crate::i18n::Lang) -> Result<BotChatV1, AppError> {
    let code = lang.code().to_string();
    update(tenant, now, chat_id, move |c| c.lang = Some(code)).await
}

/// Stores the dialogue under way (`None`: none).
pub async fn set_dialogue(tenant: &Tenant, now: i64, chat_id: i64, dialogue: Option<String>) -> Result<BotChatV1, AppError> {
    update(tenant, now, chat_id, move |c| c.dialogue = dialogue).await
}

/// Telegram said the person blocked the bot (403): not sent to until they
/// write again; or they wrote again (`false`).
pub async fn set_unreachable(tenant: &Tenant, now: i64, chat_id: i64, unreachable: bool) -> Result<(), AppError> {
    update(tenant, now, chat_id, move |c| c.unreachable = unreachable).await.map(|_| ())
}

/// What a message the bot sent in `chat_id` is about.
pub fn message(db: &Db, chat_id: i64, message_id: i64) -> Result<Option<BotMessageV1>, AppError> {
    let tx = db.read()?;
    BOT_MESSAGES.open(&tx)?.get((chat_id, message_id))
}

/// Remembers what a message just sent is about (for its buttons and for
/// replies to it). The sender calls it for messages it sends itself.
pub async fn remember(tenant: &Tenant, chat_id: i64, message_id: i64, about: BotMessageV1) -> Result<(), AppError> {
    tenant.db()?.write(move |tx| BOT_MESSAGES.open(tx)?.insert((chat_id, message_id), &about)).await
}
