//! The bot's outbox: messages for Telegram are queued in the transaction of
//! the change that causes them ([`enqueue`]), so a message exists exactly
//! when its change does, and the company's sender (bot front-end) delivers
//! them after the commit, when woken ([`super::Runners::wake`]).
//!
//! A pass [`claim`]s due rows (moving them to `BOT_OUTBOX_SENDING`), sends
//! each, and [`settle`]s them: sent rows go, failures come back after a wait
//! (Telegram's `retry_after`, else a growing backoff), blocked chats are
//! dropped. Unlike the in-app outbox, rows a crash left claimed are sent
//! again at the next start ([`recover`]): on Telegram a message twice is
//! better than none.

use crate::error::AppError;
use crate::store::schema::{
    BOT_CONFIG, BOT_MESSAGES, BOT_OUTBOX, BOT_OUTBOX_SENDING, BOT_STAFF, BotMessageV1, BotOutV1, BotSendV1, BotState,
};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};

/// Most rows one pass claims (a second of sending at Telegram's 30/s, with room).
pub const BATCH: usize = 60;
/// Tries before a message is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// What a queued send carries.
#[derive(Debug, Clone, PartialEq)]
pub enum BotBody {
    /// A staff notification, worded with its buttons when sent, in the
    /// reader's language and from what they may do then.
    Notification { user_id: u64, notification_id: u64 },
    /// A client notice about their request (`CLIENT_NOTICES`), worded when it happened.
    ClientNotice { client_id: u64, notice_id: u64 },
    /// A message worded already.
    Message(BotOutV1),
}

impl BotBody {
    /// What a stored row carries (a row with none: an empty message).
    pub fn of(row: &BotSendV1) -> BotBody {
        if let Some((user_id, notification_id)) = row.notification {
            BotBody::Notification { user_id, notification_id }
        } else if let Some((client_id, notice_id)) = row.client_notice {
            BotBody::ClientNotice { client_id, notice_id }
        } else {
            BotBody::Message(row.message.clone().unwrap_or_default())
        }
    }

    fn row(self, chat_id: i64, now: i64) -> BotSendV1 {
        let mut row = BotSendV1 { chat_id, notification: None, client_notice: None, message: None, attempts: 0, created_at: now };
        match self {
            BotBody::Notification { user_id, notification_id } => row.notification = Some((user_id, notification_id)),
            BotBody::ClientNotice { client_id, notice_id } => row.client_notice = Some((client_id, notice_id)),
            BotBody::Message(m) => row.message = Some(m),
        }
        row
    }
}

/// Whether the company has a running bot (read in the writing transaction,
/// so nothing is queued for a company without one).
pub fn bot_running(tx: &WriteTransaction) -> Result<bool, AppError> {
    Ok(BOT_CONFIG.open(tx)?.get(0)?.is_some_and(|c| c.state == BotState::Running))
}

/// Queues `body` for `chat_id`, due at `now`. The caller wakes the sender
/// (`state.bots.wake(slug)`) after the commit.
pub fn enqueue(tx: &WriteTransaction, now: i64, chat_id: i64, body: BotBody) -> Result<u64, AppError> {
    let id = next_id(tx, "bot_outbox")?;
    BOT_OUTBOX.open(tx)?.insert((now, id), &body.row(chat_id, now))?;
    Ok(id)
}

/// Queues a staff notification for user `user_id` when they linked
/// Telegram and the company's bot runs; called by `notify` for every
/// notification it stores.
pub fn enqueue_notification(tx: &WriteTransaction, now: i64, user_id: u64, notification_id: u64) -> Result<bool, AppError> {
    let Some(link) = BOT_STAFF.open(tx)?.get(user_id)? else { return Ok(false) };
    if !bot_running(tx)? {
        return Ok(false);
    }
    enqueue(tx, now, link.chat_id, BotBody::Notification { user_id, notification_id })?;
    Ok(true)
}

/// Puts back what a crash left claimed, due now. Run once when a bot starts.
pub async fn recover(tenant: &Tenant, now: i64) -> Result<usize, AppError> {
    tenant
        .db()?
        .write(move |tx| {
            let mut sending = BOT_OUTBOX_SENDING.open(tx)?;
            let rows = sending.all()?;
            let mut outbox = BOT_OUTBOX.open(tx)?;
            for (id, row) in &rows {
                sending.remove(*id)?;
                outbox.insert((now, *id), row)?;
            }
            Ok(rows.len())
        })
        .await
}

/// Claims up to `limit` due rows: (send id, row).
pub async fn claim(tenant: &Tenant, now: i64, limit: usize) -> Result<Vec<(u64, BotSendV1)>, AppError> {
    tenant
        .db()?
        .write(move |tx| {
            let mut outbox = BOT_OUTBOX.open(tx)?;
            let mut due = Vec::new();
            for row in outbox.range(..=(now, u64::MAX))?.take(limit) {
                let (k, r) = row?;
                due.push((k.value(), r));
            }
            let mut sending = BOT_OUTBOX_SENDING.open(tx)?;
            let mut out = Vec::with_capacity(due.len());
            for (key, row) in due {
                outbox.remove(key)?;
                sending.insert(key.1, &row)?;
                out.push((key.1, row));
            }
            Ok(out)
        })
        .await
}

/// What became of one claimed row.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Sent: Telegram's message id, and what it is about (remembered when
    /// it names something).
    Sent { message_id: i64, about: BotMessageV1 },
    /// Nothing to send (its notification is gone, the chat is blocked).
    Dropped,
    /// Try again at `at` (ms); `counts` whether it was a failure (a pause
    /// asked by Telegram's rate limit, or a chat's own pace, is not).
    Later { at: i64, counts: bool },
}

/// Settles a pass: sent and dropped rows go, the others come back. Returns
/// (given up, when the earliest row left is due).
pub async fn settle(tenant: &Tenant, now: i64, outcomes: Vec<(u64, BotSendV1, Outcome)>) -> Result<(usize, Option<i64>), AppError> {
    tenant
        .db()?
        .write(move |tx| {
            let mut sending = BOT_OUTBOX_SENDING.open(tx)?;
            let mut outbox = BOT_OUTBOX.open(tx)?;
            let mut messages = BOT_MESSAGES.open(tx)?;
            let mut given_up = 0;
            for (id, row, outcome) in &outcomes {
                sending.remove(*id)?;
                match outcome {
                    Outcome::Sent { message_id, about } => {
                        let names_something =
                            about.task_id.is_some() || about.request_id.is_some() || about.ticket_id.is_some() || about.thread_id.is_some();
                        if names_something {
                            messages.insert((row.chat_id, *message_id), &BotMessageV1 { at: now, ..about.clone() })?;
                        }
                    }
                    Outcome::Dropped => {}
                    Outcome::Later { at, counts } => {
                        let mut row = row.clone();
                        if *counts {
                            row.attempts += 1;
                            if row.attempts >= MAX_ATTEMPTS {
                                given_up += 1;
                                continue;
                            }
                        }
                        outbox.insert((*at, *id), &row)?;
                    }
                }
            }
            let next = outbox.raw().first().map_err(store_err)?.map(|(k, _)| k.value().0);
            Ok((given_up, next))
        })
        .await
}

/// When the earliest queued row is due (`None`: none), and how many wait.
pub fn pending(db: &Db) -> Result<(Option<i64>, u64), AppError> {
    let tx = db.read()?;
    let outbox = BOT_OUTBOX.open(&tx)?;
    let next = outbox.raw().first().map_err(store_err)?.map(|(k, _)| k.value().0);
    Ok((next, outbox.count()? + BOT_OUTBOX_SENDING.open(&tx)?.count()?))
}
