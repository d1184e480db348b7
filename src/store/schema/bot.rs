//! The company's Telegram bot: its connection, the staff accounts linked to
//! Telegram and the one-time codes that link them, the chats it talks in
//! (language, the dialogue under way, whether the person blocked it), the
//! messages it sent that a button or a reply may refer to, and its outbox.
//!
//! Platform side: [`crate::store::schema::BOTS`] lists the companies with a
//! connected bot, so a start runs them without opening every company file.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Row 0 → [`BotConfigRecord`]: the company's bot, while one is connected.
pub const BOT_CONFIG: Records<u64, BotConfigRecord> = Records::new("bot_config");
/// user id → [`StaffLinkRecord`]: a staff account linked to a Telegram account.
pub const BOT_STAFF: Records<u64, StaffLinkRecord> = Records::new("bot_staff");
/// Telegram user id → user id (the other way of [`BOT_STAFF`]).
pub const BOT_STAFF_BY_TELEGRAM: TableDefinition<i64, u64> = TableDefinition::new("bot_staff_by_telegram");
/// One-time code (the `start` parameter of the link) → [`LinkCodeRecord`].
pub const BOT_LINK_CODES: Records<&str, LinkCodeRecord> = Records::new("bot_link_codes");
/// chat id → [`BotChatRecord`]: a chat the bot talks in.
pub const BOT_CHATS: Records<i64, BotChatRecord> = Records::new("bot_chats");
/// (chat id, message id) → [`BotMessageRecord`]: what a message the bot
/// sent is about, for its buttons and for replies to it.
pub const BOT_MESSAGES: Records<(i64, i64), BotMessageRecord> = Records::new("bot_messages");
/// (due at ms, send id) → [`BotSendRecord`]: messages waiting for Telegram.
/// Written in the transaction of the change that causes them.
pub const BOT_OUTBOX: Records<(i64, u64), BotSendRecord> = Records::new("bot_outbox");
/// send id → [`BotSendRecord`]: handed to Telegram, not yet confirmed. A
/// crash leaves rows here; the next start sends them again (a message may
/// arrive twice, never not at all).
pub const BOT_OUTBOX_SENDING: Records<u64, BotSendRecord> = Records::new("bot_outbox_sending");
/// ticket id → [`BotTicketRecord`]: a queue ticket taken through the bot,
/// the chat it was taken in and its live message there.
pub const BOT_TICKETS: Records<u64, BotTicketRecord> = Records::new("bot_tickets");
/// (branch, day, service, ticket) of the tickets taken through the bot while
/// they wait: whose place to follow when that service's queue moves (kept
/// with `queue::telegram`, in the ticket's transaction).
pub const BOT_TICKETS_WAITING: TableDefinition<(u64, u32, u64, u64), ()> = TableDefinition::new("bot_tickets_waiting");
/// (chat id, ticket id): the tickets taken in a chat ("My tickets").
pub const BOT_TICKETS_BY_CHAT: TableDefinition<(i64, u64), ()> = TableDefinition::new("bot_tickets_by_chat");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(BOT_CONFIG.def())?;
    t.table(BOT_STAFF.def())?;
    t.table(BOT_STAFF_BY_TELEGRAM)?;
    t.table(BOT_LINK_CODES.def())?;
    t.table(BOT_CHATS.def())?;
    t.table(BOT_MESSAGES.def())?;
    t.table(BOT_OUTBOX.def())?;
    t.table(BOT_OUTBOX_SENDING.def())?;
    t.table(BOT_TICKETS.def())?;
    t.table(BOT_TICKETS_WAITING)?;
    t.table(BOT_TICKETS_BY_CHAT)?;
    Ok(())
}

/// Whether a connected bot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BotState {
    Running,
    /// Telegram refused the token (revoked in @BotFather): stopped until an
    /// admin pastes a new one.
    Revoked,
}

/// A connected bot. The token is a secret: it stays in this file, is never
/// logged and is shown masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotConfigV1 {
    pub token: String,
    /// Telegram's id of the bot (the token's first part).
    pub bot_id: i64,
    /// `@username` without the `@`: the link `t.me/<username>`.
    pub username: String,
    pub name: String,
    pub state: BotState,
    /// Why it stopped, for the admin's page.
    pub problem: Option<String>,
    pub connected_at: i64,
    pub connected_by: u64,
    /// The secret of the webhook address and header (webhook mode).
    pub webhook_secret: String,
    /// When the daily digest goes out: minutes after midnight, company time.
    pub digest_minute: u16,
    /// The company-local day (days since 1970-01-01) of the last digest.
    pub digest_day: Option<i32>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BotConfigRecord {
    V1(BotConfigV1),
}
versioned!(BotConfigRecord, BotConfigV1, V1);

/// A staff account's Telegram account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffLinkV1 {
    pub telegram_id: i64,
    /// The private chat (the same number as the user for private chats).
    pub chat_id: i64,
    pub telegram_username: Option<String>,
    pub linked_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StaffLinkRecord {
    V1(StaffLinkV1),
}
versioned!(StaffLinkRecord, StaffLinkV1, V1);

/// A one-time link code, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkCodeV1 {
    pub user_id: u64,
    pub expires_at: i64,
    /// Send the login and a fresh one-time password when it is opened.
    pub send_credentials: bool,
    pub created_by: u64,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LinkCodeRecord {
    V1(LinkCodeV1),
}
versioned!(LinkCodeRecord, LinkCodeV1, V1);

/// A chat the bot talks in: its language, the dialogue under way (the bot's
/// own state, stored as JSON so that a restart continues it), and whether
/// the person blocked the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotChatV1 {
    /// Chosen with /lang, else taken from Telegram's `language_code`.
    pub lang: Option<String>,
    pub dialogue: Option<String>,
    /// Telegram answered 403 (blocked): nothing more is sent until they write again.
    pub unreachable: bool,
    /// The client this chat's person is (requests, queue), once known.
    pub client_id: Option<u64>,
    pub updated_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BotChatRecord {
    V1(BotChatV1),
}
versioned!(BotChatRecord, BotChatV1, V1);

/// What a message the bot sent is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BotMessageV1 {
    pub task_id: Option<u64>,
    pub request_id: Option<u64>,
    pub ticket_id: Option<u64>,
    /// The chat thread a reply to it posts into.
    pub thread_id: Option<u64>,
    /// The notification it carried.
    pub notification_id: Option<u64>,
    pub at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BotMessageRecord {
    V1(BotMessageV1),
}
versioned!(BotMessageRecord, BotMessageV1, V1);

/// A button under a message: a callback (`data`) or a link (`url`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotButtonV1 {
    pub text: String,
    pub data: Option<String>,
    pub url: Option<String>,
}

/// A message worded when it was queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BotOutV1 {
    pub text: String,
    /// Inline buttons, by rows.
    pub buttons: Vec<Vec<BotButtonV1>>,
    /// A stored file sent with it (a photo when it is an image, else a document).
    pub file_id: Option<u64>,
    /// A PNG made for it (a chart), sent as a photo.
    pub png: Option<Vec<u8>>,
    /// What it is about, remembered with the message id Telegram gives it.
    pub about: BotMessageV1,
    /// When set, edits this message of the chat instead of sending a new one.
    pub edit_message_id: Option<i64>,
}

/// One message waiting for Telegram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotSendV1 {
    pub chat_id: i64,
    /// A staff notification (user id, notification id), worded with its
    /// buttons when sent, in the reader's language and from what they may
    /// do then.
    pub notification: Option<(u64, u64)>,
    /// A client notice about their request (client id, notice id in
    /// `CLIENT_NOTICES`), worded when it happened.
    pub client_notice: Option<(u64, u64)>,
    /// A message worded already.
    pub message: Option<BotOutV1>,
    /// Failed tries so far.
    pub attempts: u32,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BotSendRecord {
    V1(BotSendV1),
}
versioned!(BotSendRecord, BotSendV1, V1);

/// A queue ticket taken through the bot: where it was taken, the message
/// that follows it (edited as people ahead fall) and what that message last
/// said, so that only a change is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotTicketV1 {
    pub chat_id: i64,
    /// The live message (`None` until the bot has sent it).
    pub message_id: Option<i64>,
    /// The language the chat reads (`uz`, `ru`, `en`).
    pub lang: String,
    /// People ahead, as the live message says.
    pub ahead: u32,
    /// "Your turn is near" went out (once per ticket).
    pub near_sent: bool,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BotTicketRecord {
    V1(BotTicketV1),
}
versioned!(BotTicketRecord, BotTicketV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        let about = BotMessageV1 {
            task_id: Some(7),
            request_id: None,
            ticket_id: None,
            thread_id: Some(3),
            notification_id: Some(41),
            at: 1_764_000_000_000,
        };
        let out = BotOutV1 {
            text: "Yangi topshiriq".into(),
            buttons: vec![vec![BotButtonV1 { text: "Boshlash".into(), data: Some("t:7:start".into()), url: None }]],
            file_id: Some(5),
            png: Some(vec![137, 80, 78, 71]),
            about: about.clone(),
            edit_message_id: Some(12),
        };
        vec![
            record(BotConfigRecord::V1(BotConfigV1 {
                token: "123456:ABC-def".into(),
                bot_id: 123_456,
                username: "idora_demo_bot".into(),
                name: "Idora".into(),
                state: BotState::Running,
                problem: None,
                connected_at: 1_764_000_000_000,
                connected_by: 2,
                webhook_secret: "s3cr3t".into(),
                digest_minute: 540,
                digest_day: Some(20_400),
            })),
            record(StaffLinkRecord::V1(StaffLinkV1 {
                telegram_id: 555,
                chat_id: 555,
                telegram_username: Some("bekzod".into()),
                linked_at: 1_764_000_000_000,
            })),
            record(LinkCodeRecord::V1(LinkCodeV1 {
                user_id: 5,
                expires_at: 1_764_086_400_000,
                send_credentials: true,
                created_by: 2,
                created_at: 1_764_000_000_000,
            })),
            record(BotChatRecord::V1(BotChatV1 {
                lang: Some("ru".into()),
                dialogue: Some("{\"step\":1}".into()),
                unreachable: false,
                client_id: Some(9),
                updated_at: 1_764_000_000_000,
            })),
            record(BotMessageRecord::V1(BotMessageV1 { request_id: Some(2), ticket_id: Some(4), ..about })),
            record(BotSendRecord::V1(BotSendV1 {
                chat_id: 555,
                notification: Some((5, 41)),
                client_notice: Some((9, 3)),
                message: Some(out),
                attempts: 1,
                created_at: 1_764_000_000_000,
            })),
            record(BotTicketRecord::V1(BotTicketV1 {
                chat_id: 555,
                message_id: Some(14),
                lang: "uz".into(),
                ahead: 4,
                near_sent: false,
                created_at: 1_764_000_000_000,
            })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &BotState| -> &'static [u8] {
            match v {
                BotState::Running => &[0],
                BotState::Revoked => &[1],
            }
        })]
    }
}
