//! A bot's sender: delivers the company's bot outbox (`telegram::outbox`)
//! at Telegram's pace — at most `telegram_per_second` messages a second for
//! the bot (30 by default, Telegram's limit) and one a second per chat, in
//! the order they were queued —
//! honouring a 429's `retry_after` for the whole bot, retrying other
//! failures with a growing wait, and dropping what goes to a person who
//! blocked the bot (403: the chat is marked unreachable until they write).

use super::{client, is_unauthorized, revoked, scrub, staff, ui};
use crate::app::{AppState, WeakState};
use crate::error::AppError;
use crate::store::schema::{BotOutV1, BotSendV1};
use crate::telegram::outbox::{self, BotBody, Outcome};
use crate::tenancy::Tenant;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId, ReplyMarkup};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Telegram's limits on a message's text and a caption.
const TEXT_MAX: usize = 4096;
const CAPTION_MAX: usize = 1024;
/// The largest file a bot may upload (50 MB); a photo, 10 MB.
const UPLOAD_MAX: u64 = 50 * 1024 * 1024;
const PHOTO_MAX: u64 = 10 * 1024 * 1024;

/// The pace of one bot: when it may send next, and when each chat may.
struct Pace {
    gap: Duration,
    next: Instant,
    chats: HashMap<i64, Instant>,
}

impl Pace {
    fn new(per_second: u32) -> Pace {
        Pace { gap: Duration::from_secs(1) / per_second.max(1), next: Instant::now(), chats: HashMap::new() }
    }

    /// Waits for the bot's next slot and the chat's, and takes them.
    async fn take(&mut self, chat: i64) {
        let chat_at = self.chats.get(&chat).copied().unwrap_or(self.next);
        tokio::time::sleep_until(self.next.max(chat_at)).await;
        let now = Instant::now();
        self.next = now + self.gap;
        self.chats.insert(chat, now + Duration::from_secs(1));
        if self.chats.len() > 10_000 {
            self.chats.retain(|_, at| *at > now);
        }
    }

    /// Telegram asked the bot to pause.
    fn pause(&mut self, d: Duration) {
        self.next = self.next.max(Instant::now() + d);
    }
}

/// One bot's sender, until the bot stops.
pub async fn run(app: WeakState, slug: String, bot: Bot, token: String, wake: Arc<Notify>, mut stopped: watch::Receiver<bool>) {
    let per_second = app.upgrade().map(|s| s.config.telegram_per_second).unwrap_or(30);
    let mut pace = Pace::new(per_second);
    if let Some(state) = app.upgrade()
        && let Some(tenant) = state.tenants.get(&slug)
        && let Err(e) = outbox::recover(&tenant, state.now_ms()).await
    {
        tracing::warn!(company = %slug, error = %e, "bot outbox not recovered");
    }
    loop {
        if *stopped.borrow() {
            return;
        }
        let wait = {
            let Some(state) = app.upgrade() else { return };
            let Some(tenant) = state.tenants.get(&slug) else { return };
            match pass(&state, &tenant, &bot, &mut pace, &stopped).await {
                Ok(Step::Revoked) => {
                    revoked(&state, &tenant, &token).await;
                    return;
                }
                Ok(Step::Next(Some(at))) => Duration::from_millis(u64::try_from(at.saturating_sub(state.now_ms())).unwrap_or(0)),
                // Nothing queued: a wake brings the next; a minute's look catches anything missed.
                Ok(Step::Next(None)) => Duration::from_secs(60),
                Err(e) => {
                    tracing::warn!(company = %slug, error = %e, "bot outbox pass failed");
                    Duration::from_secs(2)
                }
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait.min(Duration::from_secs(60))) => {}
        }
    }
}

enum Step {
    /// When the earliest row left is due.
    Next(Option<i64>),
    /// Telegram refused the token.
    Revoked,
}

/// Claims what is due, sends it at the bot's pace, settles.
async fn pass(state: &AppState, tenant: &Tenant, bot: &Bot, pace: &mut Pace, stopped: &watch::Receiver<bool>) -> Result<Step, AppError> {
    let now = state.now_ms();
    let rows = outbox::claim(tenant, now, outbox::BATCH).await?;
    if rows.is_empty() {
        return Ok(Step::Next(outbox::pending(tenant.db()?)?.0));
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut revoked = false;
    for (id, row) in interleave(rows) {
        if revoked || *stopped.borrow() {
            outcomes.push((id, row, Outcome::Later { at: now, counts: false }));
            continue;
        }
        let outcome = match render(state, tenant, &row).await {
            Ok(Some(out)) => {
                pace.take(row.chat_id).await;
                match deliver(state, tenant, bot, row.chat_id, &out).await {
                    Ok(message_id) => Outcome::Sent { message_id, about: out.about.clone() },
                    Err(e) => failed(state, tenant, bot, pace, &row, e, &mut revoked).await,
                }
            }
            Ok(None) => Outcome::Dropped,
            Err(e) => {
                tracing::warn!(company = %tenant.slug, error = %e, "bot message not worded");
                Outcome::Later { at: state.now_ms() + crate::notify::outbox::backoff_ms(row.attempts + 1), counts: true }
            }
        };
        outcomes.push((id, row, outcome));
    }
    let sent = outcomes.iter().filter(|o| matches!(o.2, Outcome::Sent { .. })).count();
    metrics::counter!("idora_telegram_sent_total").increment(sent as u64);
    let (given_up, next) = outbox::settle(tenant, state.now_ms(), outcomes).await?;
    if given_up > 0 {
        tracing::warn!(company = %tenant.slug, messages = given_up, "telegram messages given up after {} tries", outbox::MAX_ATTEMPTS);
    }
    Ok(if revoked { Step::Revoked } else { Step::Next(next) })
}

/// A pass's rows in the order they go out: each chat's in the order they
/// were queued, the chats taking turns (every chat's first, then every
/// chat's second…), so that a chat's one-a-second pace holds up only its
/// own messages and never reorders them.
fn interleave(rows: Vec<(u64, BotSendV1)>) -> Vec<(u64, BotSendV1)> {
    let mut turn: HashMap<i64, usize> = HashMap::new();
    let mut keyed: Vec<(usize, usize, (u64, BotSendV1))> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let n = turn.entry(r.1.chat_id).or_default();
            *n += 1;
            (*n, i, r)
        })
        .collect();
    keyed.sort_by_key(|(n, i, _)| (*n, *i));
    keyed.into_iter().map(|(_, _, r)| r).collect()
}

/// What a failed send becomes.
async fn failed(
    state: &AppState,
    tenant: &Tenant,
    bot: &Bot,
    pace: &mut Pace,
    row: &BotSendV1,
    e: teloxide::RequestError,
    revoked: &mut bool,
) -> Outcome {
    use teloxide::{ApiError, RequestError};
    let now = state.now_ms();
    match e {
        RequestError::RetryAfter(s) => {
            pace.pause(s.duration());
            Outcome::Later { at: now + i64::from(s.seconds()) * 1000, counts: false }
        }
        RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound) => {
            if let Err(e) = crate::telegram::chats::set_unreachable(tenant, now, row.chat_id, true).await {
                tracing::warn!(company = %tenant.slug, error = %e, "unreachable chat not recorded");
            }
            Outcome::Dropped
        }
        // The edit changes nothing, or its message is gone: nothing to do.
        RequestError::Api(ApiError::MessageNotModified | ApiError::MessageToEditNotFound | ApiError::MessageCantBeEdited) => {
            Outcome::Dropped
        }
        e if is_unauthorized(&e) => {
            *revoked = true;
            Outcome::Later { at: now, counts: false }
        }
        e => {
            tracing::warn!(company = %tenant.slug, error = %scrub(&e.to_string(), bot.token()), "telegram send failed");
            Outcome::Later { at: now + crate::notify::outbox::backoff_ms(row.attempts + 1), counts: true }
        }
    }
}

/// Words a queued row (`None`: nothing to send any more).
async fn render(state: &AppState, tenant: &Tenant, row: &BotSendV1) -> Result<Option<BotOutV1>, AppError> {
    if crate::telegram::chats::get(tenant.db()?, row.chat_id)?.unreachable {
        return Ok(None);
    }
    match BotBody::of(row) {
        BotBody::Notification { user_id, notification_id } => staff::render_notification(state, tenant, user_id, notification_id).await,
        BotBody::ClientNotice { client_id, notice_id } => client::render_notice(state, tenant, client_id, notice_id).await,
        BotBody::Message(out) => Ok(Some(out)),
    }
}

/// Sends (or edits) one message; Telegram's message id.
async fn deliver(state: &AppState, tenant: &Tenant, bot: &Bot, chat: i64, out: &BotOutV1) -> Result<i64, teloxide::RequestError> {
    let chat_id = ChatId(chat);
    let markup = (!out.buttons.is_empty()).then(|| ui::inline(&out.buttons));
    if let Some(mid) = out.edit_message_id {
        let mid32 = MessageId(i32::try_from(mid).unwrap_or(0));
        if out.png.is_some() || out.file_id.is_some() {
            let mut req = bot.edit_message_caption(chat_id, mid32).caption(ui::cut(&out.text, CAPTION_MAX));
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            req.await?;
        } else {
            let mut req = bot.edit_message_text(chat_id, mid32, ui::cut(&out.text, TEXT_MAX));
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            req.await?;
        }
        return Ok(mid);
    }
    let reply = markup.map(ReplyMarkup::InlineKeyboard);
    if let Some(png) = &out.png {
        let mut req =
            bot.send_photo(chat_id, InputFile::memory(png.clone()).file_name("chart.png")).caption(ui::cut(&out.text, CAPTION_MAX));
        if let Some(m) = reply {
            req = req.reply_markup(m);
        }
        return Ok(i64::from(req.await?.id.0));
    }
    if let Some(fid) = out.file_id
        && let Some((name, mime, bytes)) = stored_file(state, tenant, fid).await
    {
        let input = InputFile::memory(bytes.clone()).file_name(name);
        let m = if mime.starts_with("image/") && mime != "image/svg+xml" && bytes.len() as u64 <= PHOTO_MAX {
            let mut req = bot.send_photo(chat_id, input).caption(ui::cut(&out.text, CAPTION_MAX));
            if let Some(m) = reply {
                req = req.reply_markup(m);
            }
            req.await?
        } else {
            let mut req = bot.send_document(chat_id, input).caption(ui::cut(&out.text, CAPTION_MAX));
            if let Some(m) = reply {
                req = req.reply_markup(m);
            }
            req.await?
        };
        return Ok(i64::from(m.id.0));
    }
    let mut req = bot.send_message(chat_id, ui::cut(&out.text, TEXT_MAX));
    if let Some(m) = reply {
        req = req.reply_markup(m);
    }
    Ok(i64::from(req.await?.id.0))
}

/// A stored file's name, type and bytes, when it is small enough for a bot
/// to upload (else the message goes without it).
async fn stored_file(state: &AppState, tenant: &Tenant, id: u64) -> Option<(String, String, Vec<u8>)> {
    let f = crate::files::record(tenant, id).ok().flatten()?;
    if f.size > UPLOAD_MAX {
        return None;
    }
    let mut stream = crate::files::read(state, tenant, &f.sha256, 0..f.size).await.ok()?;
    let mut bytes = Vec::with_capacity(usize::try_from(f.size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.ok()?);
    }
    Some((f.name, f.mime, bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn row(chat_id: i64) -> BotSendV1 {
        BotSendV1 { chat_id, notification: None, client_notice: None, message: None, attempts: 0, created_at: 0 }
    }

    #[test]
    fn each_chat_keeps_its_order_and_the_chats_take_turns() {
        let rows = vec![(1, row(7)), (2, row(7)), (3, row(8)), (4, row(7)), (5, row(9)), (6, row(8))];
        let order: Vec<u64> = interleave(rows).into_iter().map(|(id, _)| id).collect();
        assert_eq!(order, vec![1, 3, 5, 2, 6, 4]);
    }
}
