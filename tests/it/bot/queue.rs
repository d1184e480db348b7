//! The queue in the bot: a client takes a ticket (branch → service), its
//! message follows the queue as the operator calls the people ahead, "your
//! turn is near" and "called to window N" arrive as new messages, the
//! ticket is cancelled from the bot, tickets taken at the kiosk show up by a
//! verified phone, and a closed branch is explained.

use super::*;
use crate::support::telegram::Sent;
use idora::i18n::{Lang, t, tf, tn};
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::Value;

const UZ: Lang = Lang::Uz;

/// Waits for a send or edit to `who` that `what` accepts. The bot sends at
/// most one message a second to a chat, timed by the server's clock: the
/// test's clock is moved on while it waits.
async fn see(b: &Bot, who: &TgUser, what: impl Fn(&Sent) -> bool) -> Sent {
    see_after(b, who, 0, what).await
}

/// Like [`see`], among the sends and edits after the first `after`.
async fn see_after(b: &Bot, who: &TgUser, after: usize, what: impl Fn(&Sent) -> bool) -> Sent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(s) = b.tg.sent_to(&b.token, who.id).into_iter().skip(after).find(|s| what(s)) {
            return s;
        }
        if tokio::time::Instant::now() > deadline {
            let all: Vec<String> =
                b.tg.sent_to(&b.token, who.id).iter().map(|s| format!("  {} #{}: {:?}", s.method, s.message_id, s.text)).collect();
            panic!("nothing expected reached chat {}; it got:\n{}", who.id, all.join("\n"));
        }
        b.s.advance(SignedDuration::from_millis(1500));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The callback data of the message's button labelled `label`.
fn button(m: &Sent, label: &str) -> String {
    let rows = m.reply_markup.as_ref().and_then(|k| k["inline_keyboard"].as_array()).cloned().unwrap_or_default();
    rows.iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"] == label)
        .and_then(|b| b["callback_data"].as_str().map(String::from))
        .unwrap_or_else(|| panic!("no button {label:?} under {:?}: {:?}", m.text, m.reply_markup))
}

fn labels(m: &Sent) -> Vec<String> {
    let rows = m.reply_markup.as_ref().and_then(|k| k["inline_keyboard"].as_array()).cloned().unwrap_or_default();
    rows.iter().flat_map(|r| r.as_array().cloned().unwrap_or_default()).filter_map(|b| b["text"].as_str().map(String::from)).collect()
}

/// The head office's queue as the operator sees it over the API.
async fn queue_of(b: &Bot, op: &str, branch: u64) -> Vec<Value> {
    b.s.get(&c(DEMO, &format!("/branches/{branch}/queue")), op).await.check(200).body.as_array().cloned().unwrap_or_default()
}

/// The client opens the queue, chooses the head office and the cash desk:
/// the choice's message becomes the ticket.
async fn take_at_head_office(b: &Bot, who: &TgUser) -> Sent {
    b.tg.text(&b.token, who, t(UZ, "bot.menu.queue"));
    let choice = see(b, who, |m| m.text.contains(t(UZ, "bot.queue.choose_branch"))).await;
    assert!(labels(&choice).contains(&"Chilonzor filiali".to_string()), "both branches are open: {:?}", labels(&choice));
    b.tg.press(&b.token, who, choice.message_id, &button(&choice, "Bosh ofis"));
    let services = see(b, who, |m| m.text == tf(UZ, "bot.queue.choose_service", &[("branch", "Bosh ofis")])).await;
    assert_eq!(services.message_id, choice.message_id, "the same message, now with the services");
    b.tg.press(&b.token, who, services.message_id, &button(&services, "Kassa"));
    let ticket = see(b, who, |m| m.text.contains("B-001")).await;
    assert_eq!(ticket.message_id, choice.message_id, "the choice became the ticket");
    ticket
}

#[tokio::test]
async fn a_ticket_from_the_bot_follows_the_queue_and_its_call_arrives_as_a_new_message() {
    let b = Bot::start().await;
    let head = b.s.demo_branches().await[0];
    let kassa = b.s.demo_services().await["Kassa"];
    for _ in 0..5 {
        b.s.kiosk_ticket(head, kassa).await;
    }
    let aziza = TgUser::new(700_001, "Aziza", "uz");
    let ticket = take_at_head_office(&b, &aziza).await;
    assert!(ticket.text.contains("Bosh ofis") && ticket.text.contains("Kassa"), "{}", ticket.text);
    assert!(ticket.text.contains(&tf(UZ, "bot.queue.ahead", &[("n", "5")])), "five from the kiosk ahead: {}", ticket.text);
    // The tracking page's quote: five visits of 5 minutes at one window.
    assert!(ticket.text.contains(&tf(UZ, "bot.queue.wait", &[("low", "20"), ("high", "37")])), "{}", ticket.text);
    assert_eq!(labels(&ticket), [t(UZ, "bot.queue.btn.refresh"), t(UZ, "bot.queue.btn.cancel")]);

    // The operator sees it, taken through Telegram.
    let op = b.s.demo_token("operator").await;
    let q = queue_of(&b, &op, head).await;
    let mine = q.iter().find(|t| t["number"] == "B-001").unwrap_or_else(|| panic!("B-001 in the queue: {q:?}"));
    assert_eq!((mine["source"].as_str(), mine["status"].as_str()), (Some("bot"), Some("waiting")));

    // The operator calls the people ahead, one by one (each does not come).
    let mut near_at = None;
    for left in (0..5).rev() {
        let called = b.s.call_next(&op).await;
        let id = called["ticket"]["id"].as_u64().unwrap();
        assert_ne!(called["ticket"]["number"], "B-001");
        let ahead = tf(UZ, "bot.queue.ahead", &[("n", &left.to_string())]);
        let edited = see(&b, &aziza, |m| {
            m.method == "editMessageText"
                && m.message_id == ticket.message_id
                && (m.text.contains(&ahead) || (left == 0 && m.text.contains(t(UZ, "bot.queue.next"))))
        })
        .await;
        assert_eq!(labels(&edited).len(), 2, "still Refresh and Cancel");
        if left == 3 {
            let near = tn(UZ, "bot.queue.near", 3, &[("number", "B-001")]);
            let m = see(&b, &aziza, |m| m.method == "sendMessage" && m.text == near).await;
            near_at = Some(m.message_id);
        }
        b.s.post(&c(DEMO, &format!("/tickets/{id}/no-show")), &op, json!({})).await.check(200);
    }
    assert!(near_at.is_some_and(|n| n > ticket.message_id), "\"3 ahead\" came as a new message");
    let buzzes = b.tg.sent_to(&b.token, aziza.id).iter().filter(|m| m.method == "sendMessage" && m.text.contains("⏳")).count();
    assert_eq!(buzzes, 1, "\"your turn is near\" once, not at 2, 1 and 0");

    // Her turn: a new message calls her to window 1; the ticket says so, without buttons.
    let called = b.s.call_next(&op).await;
    assert_eq!(called["ticket"]["number"], "B-001");
    let call = tf(UZ, "bot.queue.called", &[("number", "B-001"), ("window", "1"), ("branch", "Bosh ofis")]);
    let m = see(&b, &aziza, |m| m.method == "sendMessage" && m.text == call).await;
    assert!(m.message_id > ticket.message_id);
    see(&b, &aziza, |m| m.message_id == ticket.message_id && m.text.contains(&tf(UZ, "bot.queue.status.called", &[("window", "1")]))).await;
    let now = b.tg.message(&b.token, aziza.id, ticket.message_id).unwrap();
    assert!(labels(&now).is_empty(), "nothing to press once called: {:?}", now.reply_markup);

    // Served: the ticket says so.
    let id = called["ticket"]["id"].as_u64().unwrap();
    b.s.post(&c(DEMO, &format!("/tickets/{id}/start")), &op, json!({})).await.check(200);
    b.s.post(&c(DEMO, &format!("/tickets/{id}/finish")), &op, json!({})).await.check(200);
    see(&b, &aziza, |m| m.message_id == ticket.message_id && m.text.contains(t(UZ, "bot.queue.status.done"))).await;
}

#[tokio::test]
async fn a_client_cancels_their_ticket_from_the_bot_after_saying_yes() {
    let b = Bot::start().await;
    let head = b.s.demo_branches().await[0];
    let kassa = b.s.demo_services().await["Kassa"];
    b.s.kiosk_ticket(head, kassa).await;
    let aziza = TgUser::new(700_002, "Aziza", "uz");
    let ticket = take_at_head_office(&b, &aziza).await;
    let op = b.s.demo_token("operator").await;
    assert!(queue_of(&b, &op, head).await.iter().any(|t| t["number"] == "B-001"));

    // Cancel asks first: the buttons become Yes / No.
    b.tg.press(&b.token, &aziza, ticket.message_id, &button(&ticket, t(UZ, "bot.queue.btn.cancel")));
    let asked = see(&b, &aziza, |m| m.method == "editMessageReplyMarkup").await;
    assert_eq!(labels(&asked), [t(UZ, "bot.queue.btn.cancel_yes"), t(UZ, "bot.queue.btn.cancel_no")]);
    assert!(queue_of(&b, &op, head).await.iter().any(|t| t["number"] == "B-001"), "not cancelled yet");
    // "No": the ticket as it was.
    let mark = b.tg.sent_to(&b.token, aziza.id).len();
    b.tg.press(&b.token, &aziza, ticket.message_id, &button(&asked, t(UZ, "bot.queue.btn.cancel_no")));
    let kept = see_after(&b, &aziza, mark, |m| m.method == "editMessageText").await;
    assert_eq!((kept.text.as_str(), labels(&kept)), (ticket.text.as_str(), labels(&ticket)));

    let mark = b.tg.sent_to(&b.token, aziza.id).len();
    b.tg.press(&b.token, &aziza, ticket.message_id, &button(&kept, t(UZ, "bot.queue.btn.cancel")));
    let asked = see_after(&b, &aziza, mark, |m| m.method == "editMessageReplyMarkup").await;
    let sent_before = b.tg.sent_to(&b.token, aziza.id).len();
    b.tg.press(&b.token, &aziza, ticket.message_id, &button(&asked, t(UZ, "bot.queue.btn.cancel_yes")));
    let cancelled = t(UZ, "bot.queue.status.cancelled");
    see(&b, &aziza, |m| m.message_id == ticket.message_id && m.text.contains(cancelled)).await;
    let now = b.tg.message(&b.token, aziza.id, ticket.message_id).unwrap();
    assert!(labels(&now).is_empty(), "a cancelled ticket has nothing to press");
    let toast = tf(UZ, "bot.queue.cancelled", &[("number", "B-001")]);
    assert!(b.tg.answers(&b.token).iter().any(|a| a["text"] == toast.as_str()), "{:?}", b.tg.answers(&b.token));
    assert!(b.tg.sent_to(&b.token, aziza.id)[sent_before..].iter().all(|m| m.method != "sendMessage"), "no new message for her own cancel");
    // Over the API: gone from the queue; the kiosk ticket stays.
    let q = queue_of(&b, &op, head).await;
    assert!(!q.iter().any(|t| t["number"] == "B-001"), "{q:?}");
    assert!(q.iter().any(|t| t["number"] == "K-001"));
}

#[tokio::test]
async fn with_a_verified_phone_the_queue_lists_a_ticket_taken_at_the_kiosk() {
    let b = Bot::start().await;
    let head = b.s.demo_branches().await[0];
    let kassa = b.s.demo_services().await["Kassa"];
    b.s.kiosk_ticket(head, kassa).await;
    let body = json!({"service_id": kassa, "source": "kiosk", "phone": "+998 90 123 45 67"});
    let (s, v) = b.s.call(Method::POST, &c(DEMO, &format!("/branches/{head}/tickets")), None, Some(body)).await;
    assert_eq!(s.as_u16(), 201, "{v}");
    assert_eq!(v["number"], "K-002");
    let aziza = TgUser::new(700_003, "Aziza", "uz");

    // Without a verified phone, nothing from elsewhere: the branches to choose from.
    b.tg.text(&b.token, &aziza, t(UZ, "bot.menu.queue"));
    see(&b, &aziza, |m| m.text.contains(t(UZ, "bot.queue.choose_branch"))).await;
    assert!(!b.tg.sent_to(&b.token, aziza.id).iter().any(|m| m.text.contains("K-002")));

    // She shared her contact (the client part of the bot does that): a verified phone.
    let state = b.s.state();
    let tenant = state.tenants.get(DEMO).unwrap();
    let now = state.now_ms();
    let input = idora::requests::service::ClientInput {
        name: "Aziza".into(),
        phone: Some("+998901234567".into()),
        phone_verified: true,
        telegram_id: Some(aziza.id),
        ..Default::default()
    };
    tenant.db().unwrap().write(move |tx| idora::requests::service::find_or_create_client(tx, &input, now)).await.unwrap();

    b.tg.text(&b.token, &aziza, t(UZ, "bot.menu.queue"));
    let waiting = tf(UZ, "bot.queue.state.waiting", &[("n", "1")]);
    let line = tf(UZ, "bot.queue.elsewhere_line", &[("company", "Demo Bank"), ("number", "K-002"), ("state", &waiting)]);
    let m = see(&b, &aziza, |m| m.text.contains(t(UZ, "bot.queue.elsewhere"))).await;
    assert!(m.text.contains(&line), "{}", m.text);
    assert!(!m.text.contains("K-001"), "someone else's ticket: {}", m.text);
}

#[tokio::test]
async fn a_closed_branch_is_explained_with_when_it_opens() {
    // Saturday 15:00: the head office closed at 14:00, Chilonzor works till 17:00.
    let b = Bot::start_at("2026-03-07T15:00:00+05:00").await;
    let head = b.s.demo_branches().await[0];
    let aziza = TgUser::new(700_004, "Aziza", "uz");
    b.tg.text(&b.token, &aziza, "/queue");
    let m = see(&b, &aziza, |m| m.text.contains(t(UZ, "bot.queue.choose_branch"))).await;
    assert_eq!(labels(&m), ["Chilonzor filiali"], "only the open branch to press");
    let opens = tf(UZ, "bot.queue.opens_on", &[("day", idora::i18n::weekday_name(UZ, 0)), ("time", "09:00")]);
    assert!(m.text.contains(t(UZ, "bot.queue.closed_list")) && m.text.contains(&format!("Bosh ofis: {opens}")), "{}", m.text);

    // The head office's own link (its QR in the hall): closed, and when it opens.
    b.tg.text(&b.token, &aziza, &format!("/start q{head}"));
    let closed = format!("{} {opens}", tf(UZ, "bot.queue.closed_now", &[("branch", "Bosh ofis")]));
    let m = see(&b, &aziza, |m| m.text == closed).await;
    assert_eq!(labels(&m), [t(UZ, "bot.queue.btn.back")]);
    let op = b.s.demo_token("operator").await;
    assert!(queue_of(&b, &op, head).await.is_empty(), "no ticket was taken");
}

#[tokio::test]
async fn a_ticket_sent_on_to_another_service_keeps_its_message() {
    let b = Bot::start().await;
    let head = b.s.demo_branches().await[0];
    let services = b.s.demo_services().await;
    b.s.kiosk_ticket(head, services["Kreditlar"]).await;
    let aziza = TgUser::new(700_005, "Aziza", "uz");
    let ticket = take_at_head_office(&b, &aziza).await;
    assert!(ticket.text.contains(t(UZ, "bot.queue.next")), "nobody waits for the cash desk: {}", ticket.text);

    // The operator calls her out of turn, then sends her on to loans.
    let op = b.s.demo_token("operator").await;
    let id = queue_of(&b, &op, head).await.iter().find(|t| t["number"] == "B-001").and_then(|t| t["id"].as_u64()).unwrap();
    b.s.post(&c(DEMO, &format!("/tickets/{id}/call")), &op, json!({})).await.check(200);
    let call = tf(UZ, "bot.queue.called", &[("number", "B-001"), ("window", "1"), ("branch", "Bosh ofis")]);
    see(&b, &aziza, |m| m.method == "sendMessage" && m.text == call).await;
    let mark = b.tg.sent_to(&b.token, aziza.id).len();
    let r = b.s.post(&c(DEMO, &format!("/tickets/{id}/transfer")), &op, json!({"service_id": services["Kreditlar"]})).await.check(200);
    assert_eq!((r.str("number"), r.str("status")), ("B-001".to_string(), "waiting".to_string()));

    // The same message now follows the loans queue: the kiosk's customer came first.
    let ahead = tf(UZ, "bot.queue.ahead", &[("n", "1")]);
    let m = see_after(&b, &aziza, mark, |m| m.message_id == ticket.message_id && m.text.contains("Bosh ofis · Kreditlar")).await;
    assert!(m.text.contains(&ahead), "{}", m.text);
    assert_eq!(labels(&m), [t(UZ, "bot.queue.btn.refresh"), t(UZ, "bot.queue.btn.cancel")]);
    // And it can be cancelled from there: the new ticket is.
    b.tg.press(&b.token, &aziza, m.message_id, &button(&m, t(UZ, "bot.queue.btn.cancel")));
    let asked = see_after(&b, &aziza, mark, |m| m.method == "editMessageReplyMarkup").await;
    b.tg.press(&b.token, &aziza, m.message_id, &button(&asked, t(UZ, "bot.queue.btn.cancel_yes")));
    see_after(&b, &aziza, mark, |m| m.message_id == ticket.message_id && m.text.contains(t(UZ, "bot.queue.status.cancelled"))).await;
    assert!(!queue_of(&b, &op, head).await.iter().any(|t| t["number"] == "B-001"));
}

#[tokio::test]
async fn only_the_bot_takes_bot_tickets_and_a_disconnected_bot_gets_no_backlog() {
    let b = Bot::start().await;
    let head = b.s.demo_branches().await[0];
    let kassa = b.s.demo_services().await["Kassa"];
    // An API client cannot pass a ticket off as taken in Telegram.
    let body = json!({"service_id": kassa, "source": "bot"});
    let (s, v) = b.s.call(Method::POST, &c(DEMO, &format!("/branches/{head}/tickets")), None, Some(body)).await;
    assert_eq!((s.as_u16(), v["error"]["field"].as_str()), (422, Some("source")), "{v}");

    b.s.kiosk_ticket(head, kassa).await;
    let aziza = TgUser::new(700_006, "Aziza", "uz");
    let ticket = take_at_head_office(&b, &aziza).await;
    assert!(ticket.text.contains(&tf(UZ, "bot.queue.ahead", &[("n", "1")])), "{}", ticket.text);

    // The admin disconnects the bot; the queue moves on without it.
    let (s, _) = b.s.call(Method::DELETE, &c(DEMO, "/telegram"), Some(&b.admin), None).await;
    assert!(s.is_success(), "{s}");
    b.tg.wait_polling(&b.token, false, WAIT).await;
    let op = b.s.demo_token("operator").await;
    assert_eq!(b.s.call_next(&op).await["ticket"]["number"], "K-001");
    let tenant = b.s.state().tenants.get(DEMO).unwrap();
    assert_eq!(idora::telegram::outbox::pending(tenant.db().unwrap()).unwrap(), (None, 0), "nothing waits for a bot that is gone");
}
