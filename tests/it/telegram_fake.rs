//! The fake Telegram Bot API server (`support::telegram`) driven by a real
//! teloxide `Bot`: every method the bots use round-trips, the updates
//! deserialise into teloxide's types, and Telegram's errors come back as the
//! `RequestError`s the production code will match on.

use crate::support::telegram::{FakeTelegram, TgUser, WEBHOOK_CONFLICT};
use serde_json::json;
use std::time::{Duration, Instant};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup, MaybeInaccessibleMessage, MessageId,
    ParseMode, UpdateKind,
};
use teloxide::{ApiError, RequestError};

const TOKEN: &str = "123456:AAtest-token";
const OTHER: &str = "654321:BBother-token";
const SECS: Duration = Duration::from_secs(5);

async fn fake() -> (FakeTelegram, Bot) {
    let tg = FakeTelegram::start().await;
    tg.add_bot(TOKEN, "demo_bank_bot");
    let bot = Bot::new(TOKEN).set_api_url(tg.url().parse().unwrap());
    (tg, bot)
}

fn ali() -> TgUser {
    TgUser::new(5001, "Ali", "uz")
}

/// The updates waiting now (no long-poll), confirming none.
async fn updates(bot: &Bot) -> Vec<Update> {
    bot.get_updates().await.unwrap()
}

fn message(u: &Update) -> &Message {
    match &u.kind {
        UpdateKind::Message(m) => m,
        other => panic!("not a message update: {other:?}"),
    }
}

#[tokio::test]
async fn get_me_answers_for_the_token_and_401_once_revoked() {
    let (tg, bot) = fake().await;
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username(), "demo_bank_bot");
    assert_eq!(me.id, UserId(123456));
    assert!(me.is_bot);

    let stranger = Bot::new("999:unknown").set_api_url(tg.url().parse().unwrap());
    let err = stranger.get_me().await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");

    tg.revoke(TOKEN);
    let err = bot.get_me().await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");
}

#[tokio::test]
async fn a_long_poll_returns_a_text_at_once_and_an_offset_confirms_it() {
    let (tg, bot) = fake().await;
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    tg.wait_polling(TOKEN, true, SECS).await;
    let asked = Instant::now();
    let id = tg.text(TOKEN, &ali(), "salom");
    let got = poll.await.unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(2), "the long poll waited {:?}", asked.elapsed());
    assert!(!tg.polling(TOKEN));
    assert_eq!(got.len(), 1);
    let m = message(&got[0]);
    assert_eq!(m.id.0 as i64, id);
    assert_eq!(m.text(), Some("salom"));
    let from = m.from.as_ref().unwrap();
    assert_eq!((from.id, from.first_name.as_str(), from.language_code.as_deref(), from.is_bot), (UserId(5001), "Ali", Some("uz"), false));
    assert_eq!(m.chat.id, ChatId(5001));
    assert!(m.chat.is_private());

    // Not confirmed yet: the next call sees it again; an offset past it confirms it.
    let again = updates(&bot).await;
    assert_eq!(again.iter().map(|u| u.id).collect::<Vec<_>>(), vec![got[0].id]);
    assert_eq!(tg.pending_updates(TOKEN), 1);
    let after = bot.get_updates().offset(got[0].id.as_offset()).await.unwrap();
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(tg.pending_updates(TOKEN), 0);

    // A poll with nothing to say returns empty after its timeout.
    let asked = Instant::now();
    let empty = bot.get_updates().timeout(1).await.unwrap();
    assert!(empty.is_empty());
    assert!(asked.elapsed() >= Duration::from_millis(900), "{:?}", asked.elapsed());
    assert_eq!(tg.calls(TOKEN, "getUpdates").last().unwrap()["timeout"], json!(1));

    // limit, and update ids increase.
    tg.text(TOKEN, &ali(), "one");
    tg.text(TOKEN, &ali(), "two");
    let first = bot.get_updates().limit(1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(message(&first[0]).text(), Some("one"));
    let rest = bot.get_updates().offset(first[0].id.as_offset()).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(message(&rest[0]).text(), Some("two"));
    assert!(rest[0].id.0 > first[0].id.0);
}

#[tokio::test]
async fn a_dropped_long_poll_loses_no_update() {
    let (tg, bot) = fake().await;
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    tg.wait_polling(TOKEN, true, SECS).await;
    poll.abort();
    tg.wait_polling(TOKEN, false, SECS).await;
    tg.text(TOKEN, &ali(), "while nobody listened");
    let got = updates(&bot).await;
    assert_eq!(got.len(), 1);
    assert_eq!(message(&got[0]).text(), Some("while nobody listened"));
}

#[tokio::test]
async fn a_second_poller_terminates_the_first() {
    let (tg, bot) = fake().await;
    let first = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    tg.wait_polling(TOKEN, true, SECS).await;
    let second = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    let err = tokio::time::timeout(SECS, first).await.unwrap().unwrap().unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::TerminatedByOtherGetUpdates)), "{err:?}");
    tg.text(TOKEN, &ali(), "hi");
    let got = tokio::time::timeout(SECS, second).await.unwrap().unwrap().unwrap();
    assert_eq!(message(&got[0]).text(), Some("hi"));
}

#[tokio::test]
async fn send_message_records_the_inline_keyboard_and_ids_increase_per_chat() {
    let (tg, bot) = fake().await;
    let vali = TgUser::new(5002, "Vali", "ru");
    assert_eq!(tg.text(TOKEN, &ali(), "/start"), 1);
    assert_eq!(tg.text(TOKEN, &vali, "/start"), 1);

    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Start", "task:7:start")]]);
    let m = bot.send_message(ChatId(ali().id), "New task: count the cash").reply_markup(kb).await.unwrap();
    assert_eq!((m.id.0, m.chat.id), (2, ChatId(5001)));
    assert_eq!(m.text(), Some("New task: count the cash"));
    assert!(m.from.as_ref().unwrap().is_bot);
    let buttons = &m.reply_markup().unwrap().inline_keyboard;
    assert_eq!(buttons[0][0].text, "Start");

    let second = bot.send_message(ChatId(ali().id), "Second").await.unwrap();
    assert_eq!(second.id.0, 3);
    let to_vali = bot.send_message(ChatId(vali.id), "Salom").await.unwrap();
    assert_eq!(to_vali.id.0, 2);

    let sent = tg.sent_to(TOKEN, ali().id);
    assert_eq!(sent.len(), 2);
    let s = &sent[0];
    assert_eq!((s.method.as_str(), s.chat_id, s.message_id, s.text.as_str()), ("sendMessage", 5001, 2, "New task: count the cash"));
    assert_eq!(s.reply_markup.as_ref().unwrap()["inline_keyboard"][0][0], json!({"text": "Start", "callback_data": "task:7:start"}));
    assert_eq!(s.params["chat_id"], json!(5001));
    assert!(sent[1].reply_markup.is_none());
    assert_eq!(tg.sent(TOKEN).len(), 3);

    // A reply keyboard is recorded too (messages only keep inline ones).
    let menu = KeyboardMarkup::new([[KeyboardButton::new("New request"), KeyboardButton::new("My requests")]]).resize_keyboard();
    bot.send_message(ChatId(vali.id), "Menu").reply_markup(menu).await.unwrap();
    let s = tg.wait_for(TOKEN, vali.id, |s| s.text == "Menu", SECS).await;
    assert_eq!(s.reply_markup.unwrap()["keyboard"][0][1]["text"], json!("My requests"));

    // Telegram's refusals.
    let err = bot.send_message(ChatId(777), "who?").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::ChatNotFound)), "{err:?}");
    let long = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("x", "d".repeat(65))]]);
    let err = bot.send_message(ChatId(ali().id), "x").reply_markup(long).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::ButtonDataInvalid)), "{err:?}");
    let err = bot.send_message(ChatId(ali().id), "").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageTextIsEmpty)), "{err:?}");
    let err = bot.send_message(ChatId(ali().id), "x".repeat(4097)).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageIsTooLong)), "{err:?}");
    assert_eq!(tg.sent(TOKEN).len(), 4, "refused sends put nothing in a chat");
}

#[tokio::test]
async fn parse_modes_are_read_as_telegram_reads_them() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    let chat = ChatId(ali().id);
    let m = bot.send_message(chat, "<b>Task</b> &amp; <i>more</i> &lt;3").parse_mode(ParseMode::Html).await.unwrap();
    assert_eq!(m.text(), Some("Task & more <3"));
    assert_eq!(m.entities().unwrap().len(), 2);
    let err = bot.send_message(chat, "a <x> b").parse_mode(ParseMode::Html).await.unwrap_err();
    assert!(matches!(&err, RequestError::Api(ApiError::CantParseEntities(s)) if s.contains("Unsupported start tag")), "{err:?}");
    let err = bot.send_message(chat, "<b>open").parse_mode(ParseMode::Html).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::CantParseEntities(_))), "{err:?}");

    let err = bot.send_message(chat, "Price 5.0").parse_mode(ParseMode::MarkdownV2).await.unwrap_err();
    assert!(matches!(&err, RequestError::Api(ApiError::CantParseEntities(s)) if s.contains("Character '.' is reserved")), "{err:?}");
    let m = bot.send_message(chat, "*Price* 5\\.0 [site](https://x.uz)").parse_mode(ParseMode::MarkdownV2).await.unwrap();
    assert_eq!(m.text(), Some("Price 5.0 site"));
    assert_eq!(tg.sent_to(TOKEN, ali().id).last().unwrap().text, "Price 5.0 site");
    assert_eq!(tg.sent_to(TOKEN, ali().id).last().unwrap().params["text"], json!("*Price* 5\\.0 [site](https://x.uz)"));
}

#[tokio::test]
async fn edits_change_the_message_and_are_refused_as_telegram_does() {
    let (tg, bot) = fake().await;
    let user_msg = tg.text(TOKEN, &ali(), "/start");
    let chat = ChatId(ali().id);
    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Start", "t:1:start")]]);
    let m = bot.send_message(chat, "New task").reply_markup(kb.clone()).await.unwrap();
    let id = m.id.0 as i64;

    let edited = bot.edit_message_text(chat, m.id, "Started by Ali").await.unwrap();
    assert_eq!(edited.text(), Some("Started by Ali"));
    assert!(edited.edit_date().is_some());
    let now = tg.message(TOKEN, ali().id, id).unwrap();
    assert_eq!((now.method.as_str(), now.text.as_str()), ("editMessageText", "Started by Ali"));
    assert!(now.reply_markup.is_none(), "an edit without reply_markup removes the keyboard");
    let last = tg.sent(TOKEN).pop().unwrap();
    assert_eq!((last.method.as_str(), last.message_id), ("editMessageText", id));

    let err = bot.edit_message_text(chat, m.id, "Started by Ali").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageNotModified)), "{err:?}");
    let err = bot.edit_message_text(chat, MessageId(999), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageToEditNotFound)), "{err:?}");
    let err = bot.edit_message_text(chat, MessageId(user_msg as i32), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageCantBeEdited)), "{err:?}");

    bot.edit_message_reply_markup(chat, m.id).reply_markup(kb.clone()).await.unwrap();
    let now = tg.message(TOKEN, ali().id, id).unwrap();
    assert_eq!(now.text, "Started by Ali");
    assert_eq!(now.reply_markup.unwrap()["inline_keyboard"][0][0]["callback_data"], json!("t:1:start"));
    let err = bot.edit_message_reply_markup(chat, m.id).reply_markup(kb).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::MessageNotModified)), "{err:?}");

    // Captions of media messages.
    let photo = bot.send_photo(chat, InputFile::memory(vec![1u8; 10]).file_name("a.jpg")).caption("before").await.unwrap();
    let err = bot.edit_message_text(chat, photo.id, "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::Unknown(_))), "{err:?}");
    let after = bot.edit_message_caption(chat, photo.id).caption("after").await.unwrap();
    assert_eq!(after.caption(), Some("after"));
    let now = tg.message(TOKEN, ali().id, photo.id.0 as i64).unwrap();
    assert_eq!((now.method.as_str(), now.text.as_str()), ("editMessageCaption", "after"));
    assert_eq!(now.file.unwrap().1, vec![1u8; 10], "the message keeps its file");
}

#[tokio::test]
async fn uploads_are_recorded_with_their_bytes_and_resendable_by_file_id() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    let chat = ChatId(ali().id);
    let png: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let m = bot.send_photo(chat, InputFile::memory(png.clone()).file_name("chart.png")).caption("Today").await.unwrap();
    let s = tg.sent_to(TOKEN, ali().id).pop().unwrap();
    assert_eq!((s.method.as_str(), s.text.as_str()), ("sendPhoto", "Today"));
    assert_eq!(s.file, Some(("chart.png".to_string(), png.clone())));
    assert_eq!(s.params["photo"], json!({"name": "chart.png", "size": 3000}));
    assert_eq!(s.params["chat_id"], json!(5001), "multipart fields are parsed as JSON");
    assert_eq!(s.params["caption"], json!("Today"));
    let sizes = m.photo().unwrap();
    let file = bot.get_file(sizes.last().unwrap().file.id.clone()).await.unwrap();
    let mut got = Vec::new();
    bot.download_file(&file.path, &mut got).await.unwrap();
    assert_eq!(got, png);

    let pdf = b"%PDF-1.4 report".to_vec();
    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Open", "f:1")]]);
    let d = bot.send_document(chat, InputFile::memory(pdf.clone()).file_name("report.pdf")).reply_markup(kb).await.unwrap();
    let doc = d.document().unwrap();
    assert_eq!(doc.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(doc.mime_type.as_ref().map(|m| m.essence_str().to_string()).as_deref(), Some("application/pdf"));
    let s = tg.sent_to(TOKEN, ali().id).pop().unwrap();
    assert_eq!(s.method, "sendDocument");
    assert_eq!(s.file, Some(("report.pdf".to_string(), pdf.clone())));
    assert_eq!(s.reply_markup.unwrap()["inline_keyboard"][0][0]["text"], json!("Open"), "multipart reply_markup is parsed");

    bot.send_document(chat, InputFile::file_id(doc.file.id.clone())).await.unwrap();
    let s = tg.sent_to(TOKEN, ali().id).pop().unwrap();
    assert_eq!(s.params["document"], json!(doc.file.id.0));
    assert_eq!(s.file, Some(("report.pdf".to_string(), pdf)));
    let err = bot.send_document(chat, InputFile::file_id("nope".to_string().into())).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::WrongFileIdOrUrl)), "{err:?}");

    let v = bot.send_voice(chat, InputFile::memory(vec![3u8; 100]).file_name("answer.ogg")).await.unwrap();
    assert_eq!(v.voice().unwrap().file.size, 100);
    let s = tg.sent_to(TOKEN, ali().id).pop().unwrap();
    assert_eq!((s.method.as_str(), s.file), ("sendVoice", Some(("answer.ogg".to_string(), vec![3u8; 100]))));
}

#[tokio::test]
async fn a_photo_a_user_sent_downloads_with_the_same_bytes() {
    let (tg, bot) = fake().await;
    let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    tg.photo(TOKEN, &ali(), None, &bytes, "receipt");
    let got = updates(&bot).await;
    let m = message(&got[0]);
    assert_eq!(m.caption(), Some("receipt"));
    let sizes = m.photo().unwrap();
    assert_eq!(sizes.len(), 2, "a thumbnail and the photo");
    let full = sizes.last().unwrap();
    assert_eq!(full.file.size, 5000);
    let file = bot.get_file(full.file.id.clone()).await.unwrap();
    assert_eq!(file.size, 5000);
    let mut dst = Vec::new();
    bot.download_file(&file.path, &mut dst).await.unwrap();
    assert_eq!(dst, bytes);
    let thumb = bot.get_file(sizes[0].file.id.clone()).await.unwrap();
    let mut small = Vec::new();
    bot.download_file(&thumb.path, &mut small).await.unwrap();
    assert_ne!(small, bytes, "the thumbnail is not the photo");

    let err = bot.get_file("nope".to_string().into()).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::FileIdInvalid) | RequestError::Api(ApiError::Unknown(_))), "{err:?}");
    let mut none = Vec::new();
    assert!(bot.download_file("photos/none.jpg", &mut none).await.is_err());
}

#[tokio::test]
async fn documents_over_20_mb_cannot_be_fetched_by_a_bot() {
    let (tg, bot) = fake().await;
    tg.document(TOKEN, &ali(), None, "big.zip", "application/zip", &vec![0u8; (20 << 20) + 1]);
    let got = updates(&bot).await;
    let doc = message(&got[0]).document().unwrap();
    assert_eq!(doc.file_name.as_deref(), Some("big.zip"));
    let err = bot.get_file(doc.file.id.clone()).await.unwrap_err();
    assert!(matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s == "Bad Request: file is too big"), "{err:?}");
}

#[tokio::test]
async fn a_throttled_send_surfaces_as_retry_after() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    tg.throttle(TOKEN, 2, 7);
    bot.get_me().await.unwrap();
    for _ in 0..2 {
        let err = bot.send_message(ChatId(ali().id), "x").await.unwrap_err();
        assert!(matches!(err, RequestError::RetryAfter(s) if s.seconds() == 7), "{err:?}");
    }
    bot.send_message(ChatId(ali().id), "x").await.unwrap();
    assert_eq!(tg.sent(TOKEN).len(), 1);
}

#[tokio::test]
async fn a_user_who_blocked_the_bot_gets_nothing() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    tg.block(TOKEN, ali().id);
    let err = bot.send_message(ChatId(ali().id), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    let err = bot.send_document(ChatId(ali().id), InputFile::memory(b"x".to_vec()).file_name("a.txt")).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    assert!(tg.sent(TOKEN).is_empty());
    tg.unblock(TOKEN, ali().id);
    bot.send_message(ChatId(ali().id), "back").await.unwrap();
    assert_eq!(tg.sent(TOKEN).len(), 1);
}

#[tokio::test]
async fn a_pressed_button_arrives_as_a_callback_query_and_is_answered_once() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    let kb = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Approve", "t:9:approve")]]);
    let m = bot.send_message(ChatId(ali().id), "Approve?").reply_markup(kb).await.unwrap();
    let first = updates(&bot).await;
    bot.get_updates().offset(first.last().unwrap().id.as_offset()).await.unwrap();

    let qid = tg.press(TOKEN, &ali(), m.id.0 as i64, "t:9:approve");
    let got = updates(&bot).await;
    let UpdateKind::CallbackQuery(q) = &got[0].kind else { panic!("{:?}", got[0]) };
    assert_eq!(q.id.0, qid);
    assert_eq!(q.data.as_deref(), Some("t:9:approve"));
    assert_eq!(q.from.id, UserId(5001));
    let Some(MaybeInaccessibleMessage::Regular(on)) = &q.message else { panic!("{q:?}") };
    assert_eq!((on.id, on.text()), (m.id, Some("Approve?")));
    assert_eq!(on.reply_markup().unwrap().inline_keyboard[0][0].text, "Approve");

    bot.answer_callback_query(q.id.clone()).text("Approved").await.unwrap();
    assert_eq!(tg.answers(TOKEN), vec![json!({"callback_query_id": qid, "text": "Approved"})]);
    let err = bot.answer_callback_query(q.id.clone()).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::InvalidQueryId)), "{err:?}");
}

#[tokio::test]
async fn contact_reply_document_and_voice_updates_deserialise() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    let asked = bot.send_message(ChatId(ali().id), "Your reason?").await.unwrap();
    tg.contact(TOKEN, &ali(), "+998901234567");
    tg.reply(TOKEN, &ali(), asked.id.0 as i64, "Too late");
    tg.document(TOKEN, &ali(), Some(asked.id.0 as i64), "act.pdf", "application/pdf", b"%PDF");
    tg.voice(TOKEN, &ali(), None, &[9u8; 5000]);
    let got = updates(&bot).await;
    assert_eq!(got.len(), 5);

    let c = message(&got[1]).contact().unwrap();
    assert_eq!((c.phone_number.as_str(), c.user_id, c.first_name.as_str()), ("+998901234567", Some(UserId(5001)), "Ali"));

    let r = message(&got[2]);
    assert_eq!(r.text(), Some("Too late"));
    let to = r.reply_to_message().unwrap();
    assert_eq!((to.id, to.text()), (asked.id, Some("Your reason?")));
    assert!(to.from.as_ref().unwrap().is_bot);

    let d = message(&got[3]);
    assert_eq!(d.reply_to_message().unwrap().id, asked.id);
    let doc = d.document().unwrap();
    assert_eq!((doc.file_name.as_deref(), doc.file.size), (Some("act.pdf"), 4));
    let file = bot.get_file(doc.file.id.clone()).await.unwrap();
    let mut bytes = Vec::new();
    bot.download_file(&file.path, &mut bytes).await.unwrap();
    assert_eq!(bytes, b"%PDF");

    let v = message(&got[4]).voice().unwrap();
    assert_eq!(v.file.size, 5000);
    assert_eq!(v.mime_type.as_ref().map(|m| m.essence_str().to_string()).as_deref(), Some("audio/ogg"));
}

#[tokio::test]
async fn commands_descriptions_and_webhooks_are_recorded() {
    let (tg, bot) = fake().await;
    let commands = vec![BotCommand::new("tasks", "Mening vazifalarim"), BotCommand::new("lang", "Til")];
    bot.set_my_commands(commands.clone()).language_code("uz").await.unwrap();
    bot.set_my_commands(vec![BotCommand::new("tasks", "Мои задачи")]).language_code("ru").await.unwrap();
    let set = tg.calls(TOKEN, "setMyCommands");
    assert_eq!(set.len(), 2);
    assert_eq!(set[0]["language_code"], json!("uz"));
    assert_eq!(set[0]["commands"][1], json!({"command": "lang", "description": "Til"}));
    assert_eq!(bot.get_my_commands().language_code("uz").await.unwrap(), commands);
    let err = bot.set_my_commands(vec![BotCommand::new("Bad Name", "x")]).await.unwrap_err();
    assert!(matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s.contains("BOT_COMMAND_INVALID")), "{err:?}");
    bot.delete_my_commands().language_code("ru").await.unwrap();
    assert_eq!(tg.calls(TOKEN, "deleteMyCommands")[0]["language_code"], json!("ru"));

    bot.set_my_description().description("Demo Bank vazifalari").language_code("uz").await.unwrap();
    bot.set_my_short_description().short_description("Vazifalar").await.unwrap();
    assert_eq!(tg.calls(TOKEN, "setMyDescription")[0], json!({"description": "Demo Bank vazifalari", "language_code": "uz"}));
    assert_eq!(tg.calls(TOKEN, "setMyShortDescription")[0]["short_description"], json!("Vazifalar"));

    let err = bot.set_webhook("http://box.local/hook".parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::WebhookRequireHttps)), "{err:?}");
    bot.set_webhook("https://idora.example.uz/tg/hook".parse().unwrap()).secret_token("s3cret".to_string()).await.unwrap();
    let hook = &tg.calls(TOKEN, "setWebhook")[1];
    assert_eq!((hook["url"].as_str(), hook["secret_token"].as_str()), (Some("https://idora.example.uz/tg/hook"), Some("s3cret")));
    let info = bot.get_webhook_info().await.unwrap();
    assert_eq!(info.url.unwrap().as_str(), "https://idora.example.uz/tg/hook");
    let err = bot.get_updates().await.unwrap_err();
    assert!(matches!(&err, RequestError::Api(ApiError::Unknown(s)) if s == WEBHOOK_CONFLICT), "{err:?}");
    bot.delete_webhook().await.unwrap();
    assert!(bot.get_webhook_info().await.unwrap().url.is_none());
    assert!(bot.get_updates().await.unwrap().is_empty());

    bot.send_chat_action(ChatId(5001), teloxide::types::ChatAction::Typing).await.unwrap_err();
    tg.text(TOKEN, &ali(), "hi");
    bot.send_chat_action(ChatId(5001), teloxide::types::ChatAction::Typing).await.unwrap();
    assert_eq!(tg.calls(TOKEN, "sendChatAction")[1], json!({"chat_id": 5001, "action": "typing"}));
    assert!(tg.sent(TOKEN).is_empty(), "a chat action puts nothing in the chat");
}

#[tokio::test]
async fn two_tokens_are_two_bots() {
    let (tg, bot) = fake().await;
    tg.add_bot(OTHER, "other_bank_bot");
    let other = Bot::new(OTHER).set_api_url(tg.url().parse().unwrap());
    assert_eq!(other.get_me().await.unwrap().username(), "other_bank_bot");
    tg.text(TOKEN, &ali(), "to the first");
    assert!(updates(&other).await.is_empty());
    let err = other.send_message(ChatId(ali().id), "x").await.unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::ChatNotFound)), "the user never opened the second bot: {err:?}");
    tg.text(OTHER, &ali(), "to the second");
    let got = updates(&other).await;
    assert_eq!(got.len(), 1);
    assert_eq!(message(&got[0]).text(), Some("to the second"));
    assert_eq!(message(&got[0]).id.0, 1, "message ids are per bot's chat");
    other.send_message(ChatId(ali().id), "hello from two").await.unwrap();
    assert!(tg.sent(TOKEN).is_empty());
    assert_eq!(tg.sent_to(OTHER, ali().id).len(), 1);
    assert_eq!(updates(&bot).await.len(), 1);
}

/// teloxide's own dispatcher (what the production bots run) polls the fake,
/// answers, confirms what it handled when stopped, and stops polling.
#[tokio::test]
async fn teloxides_dispatcher_polls_and_answers() {
    let (tg, bot) = fake().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        bot.send_message(msg.chat.id, format!("echo: {}", msg.text().unwrap_or(""))).await?;
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).build();
    let stop = dispatcher.shutdown_token();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });
    tg.wait_polling(TOKEN, true, SECS).await;
    tg.text(TOKEN, &ali(), "salom");
    let s = tg.wait_for(TOKEN, ali().id, |s| s.text == "echo: salom", SECS).await;
    assert_eq!(s.method, "sendMessage");
    assert_eq!(tg.calls(TOKEN, "getUpdates")[0]["allowed_updates"], json!(["message"]));

    stop.shutdown().unwrap().await;
    running.await.unwrap();
    tg.wait_polling(TOKEN, false, SECS).await;
    assert_eq!(tg.pending_updates(TOKEN), 0, "the dispatcher confirmed what it handled");
}

/// The wire itself, as any client may speak it: GET with a query string,
/// urlencoded and multipart bodies (a file as the parameter's own part),
/// and Telegram's error shape.
#[tokio::test]
async fn every_body_encoding_is_read_and_errors_have_telegrams_shape() {
    let (tg, _bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    let http = reqwest::Client::new();
    let url = |m: &str| format!("{}/bot{TOKEN}/{m}", tg.url());

    let me: serde_json::Value = http.get(url("getMe")).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["ok"].clone(), me["result"]["username"].clone()), (json!(true), json!("demo_bank_bot")));

    let r = http.get(format!("{}?chat_id=5001&text=007", url("sendMessage"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let s = tg.sent(TOKEN).pop().unwrap();
    assert_eq!((s.text.as_str(), s.params["chat_id"].clone(), s.params["text"].clone()), ("007", json!(5001), json!("007")));

    let markup = r#"{"inline_keyboard":[[{"text":"Yes","callback_data":"y"}]]}"#;
    let r = http.post(url("sendMessage")).form(&[("chat_id", "5001"), ("text", "Form?"), ("reply_markup", markup)]).send().await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"], json!("y"));
    assert_eq!(tg.sent(TOKEN).pop().unwrap().reply_markup.unwrap()["inline_keyboard"][0][0]["text"], json!("Yes"));

    let form = reqwest::multipart::Form::new()
        .text("chat_id", "5001")
        .text("caption", "scan")
        .part("document", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("scan.txt"));
    let r = http.post(url("sendDocument")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let s = tg.sent(TOKEN).pop().unwrap();
    assert_eq!(s.file, Some(("scan.txt".to_string(), b"hello".to_vec())));
    assert_eq!(s.params["document"], json!({"name": "scan.txt", "size": 5}));

    let r = http.post(url("sendMessage")).json(&json!({"chat_id": 5001, "text": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    tg.block(TOKEN, 5001);
    let r = http.post(url("sendMessage")).json(&json!({"chat_id": 5001, "text": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}));
    tg.throttle(TOKEN, 1, 3);
    let r = http.post(url("sendMessage")).json(&json!({"chat_id": 5001, "text": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["parameters"], json!({"retry_after": 3}));
    let r = http.post(url("noSuchMethod")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http.post(format!("{}/bot999:x/getMe", tg.url())).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
}

#[tokio::test]
async fn a_revoked_token_ends_a_waiting_long_poll_with_401() {
    let (tg, bot) = fake().await;
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(10).await }
    });
    tg.wait_polling(TOKEN, true, SECS).await;
    tg.revoke(TOKEN);
    let err = tokio::time::timeout(SECS, poll).await.unwrap().unwrap().unwrap_err();
    assert!(matches!(err, RequestError::Api(ApiError::InvalidToken)), "{err:?}");
    assert!(!tg.polling(TOKEN));
}

#[tokio::test]
async fn wait_for_shows_what_was_sent_when_the_expected_message_does_not_come() {
    let (tg, bot) = fake().await;
    tg.text(TOKEN, &ali(), "/start");
    bot.send_message(ChatId(ali().id), "Main menu").await.unwrap();
    let sent = tg.wait_for(TOKEN, ali().id, |s| s.text.starts_with("Main"), SECS).await;
    assert_eq!(sent.message_id, 2);
    let waiting = tokio::spawn({
        let tg = tg.clone();
        async move { tg.wait_for(TOKEN, 5001, |s| s.text == "Ticket B-001", Duration::from_millis(200)).await }
    });
    let panic = waiting.await.unwrap_err().into_panic();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("Main menu") && text.contains("chat 5001"), "{text}");

    // It also waits for what comes later.
    let later = tokio::spawn({
        let tg = tg.clone();
        async move { tg.wait_for(TOKEN, 5001, |s| s.text == "Ticket B-001", SECS).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    bot.send_message(ChatId(ali().id), "Ticket B-001").await.unwrap();
    assert_eq!(later.await.unwrap().message_id, 3);
}
