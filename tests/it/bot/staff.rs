//! The bot for staff, walked as people use it: linking (with a one-time
//! password), notifications with buttons that move the task, the reason of
//! a redo, a deadline extension, replies into a task's chat, /tasks, /today,
//! /unlink, and the daily digest with its chart.

use super::*;
use crate::support::telegram::Sent;
use crate::support::{msg, msg_with, next_json, ws_request};
use futures_util::SinkExt;
use idora::i18n::{Lang, tn};
use serde_json::Value;

/// The demo company speaks Uzbek, and so do its people's chats.
const UZ: Lang = Lang::Uz;

/// The inline buttons of a message: (text, callback data or url).
fn buttons(m: &Sent) -> Vec<(String, String)> {
    let Some(rows) = m.reply_markup.as_ref().and_then(|k| k["inline_keyboard"].as_array()) else { return Vec::new() };
    rows.iter()
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|b| {
            let data = b["callback_data"].as_str().or(b["url"].as_str()).unwrap_or("").to_string();
            (b["text"].as_str().unwrap().to_string(), data)
        })
        .collect()
}

/// A task from `token`'s holder to `assignee`, due in `hours`; its id.
async fn new_task(b: &Bot, token: &str, title: &str, assignee: u64, hours: i64) -> u64 {
    let due = (b.s.now() + jiff::SignedDuration::from_hours(hours)).to_string();
    b.s.post(&c(DEMO, "/tasks"), token, json!({"title": title, "assignee_id": assignee, "deadline": due})).await.check(201).id()
}

async fn task(b: &Bot, token: &str, id: u64) -> Value {
    b.s.get(&c(DEMO, &format!("/tasks/{id}")), token).await.check(200).body
}

/// The `n`-th answer to a button press (1-based), waited for.
async fn answer(b: &Bot, n: usize) -> Value {
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let answers = b.tg.answers(&b.token);
        if answers.len() >= n {
            return answers[n - 1].clone();
        }
        assert!(tokio::time::Instant::now() < end, "no answer #{n} to a press: {answers:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first send or edit to `who` that `what` accepts, letting the test
/// clock run meanwhile: the bot sends a chat one message a second, and a
/// second message to the same chat waits for the (test) clock to move.
async fn seen(b: &Bot, who: &TgUser, what: impl Fn(&Sent) -> bool) -> Sent {
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = b.tg.sent_to(&b.token, who.id);
        if let Some(m) = sent.iter().find(|m| what(m)) {
            return m.clone();
        }
        assert!(tokio::time::Instant::now() < end, "not sent to {}; it got: {sent:#?}", who.id);
        tokio::time::sleep(Duration::from_millis(250)).await;
        b.s.advance(jiff::SignedDuration::from_secs(1));
    }
}

/// A notification of the kind whose first line starts as `head`'s, about `title`.
async fn notification(b: &Bot, who: &TgUser, head: &str, title: &str) -> Sent {
    let head = msg_with(UZ, head, &[("status", "\u{1}")]).split('\u{1}').next().unwrap().to_string();
    let title = format!("«{title}»");
    seen(b, who, |m| m.text.starts_with(&head) && m.text.contains(&title)).await
}

/// The message `mid` once edited with `line` in it.
async fn edited(b: &Bot, who: &TgUser, mid: i64, line: &str) -> Sent {
    b.tg.wait_for(&b.token, who.id, |m| m.method.starts_with("editMessage") && m.message_id == mid && m.text.contains(line), WAIT).await
}

/// The outcome line's words before the name and the time.
fn outcome(key: &str) -> String {
    msg_with(UZ, key, &[("name", "\u{1}"), ("time", "")]).split('\u{1}').next().unwrap().to_string()
}

#[tokio::test]
async fn a_link_with_credentials_sends_a_one_time_password_that_must_be_changed() {
    let b = Bot::start().await;
    let id = b.s.demo_users().await["employee"];
    let r = b.s.post(&c(DEMO, &format!("/users/{id}/telegram-link")), &b.admin, json!({"send_credentials": true})).await.check(201);
    let bekzod = TgUser::new(555_001, "Bekzod", "uz");
    b.tg.text(&b.token, &bekzod, &format!("/start {}", r.str("code")));
    let template = msg_with(UZ, "bot.link.credentials", &[("login", "employee"), ("password", "\u{1}")]);
    let (before, after) = template.split_once('\u{1}').unwrap();
    let m = b.tg.wait_for(&b.token, bekzod.id, |m| m.text.starts_with(before), WAIT).await;
    let password = m.text.strip_prefix(before).unwrap().strip_suffix(after).unwrap().to_string();
    assert!(password.len() >= 8, "{password}");
    // The staff menu comes with the welcome.
    let menu = b.tg.wait_for(&b.token, bekzod.id, |m| m.text == msg(UZ, "bot.welcome"), WAIT).await;
    let keys = menu.reply_markup.unwrap()["keyboard"].to_string();
    assert!(keys.contains(&msg(UZ, "bot.menu.tasks")) && keys.contains(&msg(UZ, "bot.menu.today")), "{keys}");

    // The password signs in once, and asks for a new one before anything else.
    let token = b.s.login(DEMO, "employee", &password).await.check(200).str("access_token");
    b.s.get(&c(DEMO, "/me"), &token).await.refused(403, "password_change_required");
    let change = json!({"current_password": password, "new_password": "bekzodning-paroli-1"});
    assert_eq!(b.s.post(&c(DEMO, "/me/password"), &token, change).await.status.as_u16(), 204);
    b.s.get(&c(DEMO, "/me"), &token).await.check(200);
    assert_eq!(b.s.login(DEMO, "employee", &password).await.status.as_u16(), 401);
    b.s.login(DEMO, "employee", "bekzodning-paroli-1").await.check(200);
}

#[tokio::test]
async fn a_new_task_is_started_from_its_button_and_the_message_says_who_started_it() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_002, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let id = new_task(&b, &manager, "Kassa hisobotini tayyorlash", uid, 48).await;

    let m = notification(&b, &bekzod, "bot.staff.head.assigned", "Kassa hisobotini tayyorlash").await;
    assert!(m.text.contains("Malika Yusupova"), "who gave it: {}", m.text);
    assert!(m.text.contains(&msg_with(UZ, "bot.staff.card.status", &[("status", &msg(UZ, "task.status.new"))])), "{}", m.text);
    assert_eq!(buttons(&m), vec![(msg(UZ, "bot.staff.move.start"), format!("t:{id}:start"))]);

    b.tg.press(&b.token, &bekzod, m.message_id, &format!("t:{id}:start"));
    let e = edited(&b, &bekzod, m.message_id, &outcome("bot.staff.outcome.start")).await;
    assert!(e.text.contains("Bekzod Aliyev"), "who did it: {}", e.text);
    assert!(e.text.contains("«Kassa hisobotini tayyorlash»"), "the task is still named: {}", e.text);
    assert!(buttons(&e).is_empty(), "the buttons go: {:?}", e.reply_markup);
    assert_eq!(answer(&b, 1).await["text"], msg(UZ, "bot.staff.done"));
    assert_eq!(task(&b, &manager, id).await["status"], "in_progress");

    // The same button again: refused politely, the task as it was.
    b.tg.press(&b.token, &bekzod, m.message_id, &format!("t:{id}:start"));
    let refusal = msg_with(UZ, "bot.staff.moved_on", &[("status", &msg(UZ, "task.status.in_progress"))]);
    assert_eq!(answer(&b, 2).await["text"], refusal);
    assert_eq!(task(&b, &manager, id).await["status"], "in_progress");
}

#[tokio::test]
async fn a_director_approves_a_cross_department_task_from_the_button_and_a_second_press_is_refused() {
    let b = Bot::start().await;
    let dilnoza = TgUser::new(555_003, "Dilnoza", "uz");
    b.link("director", &dilnoza).await;
    let users = b.s.demo_users().await;
    let manager = b.s.demo_token("manager").await;
    // Malika (the first department) gives Nilufar (the second) a task: it waits for a director.
    let id = new_task(&b, &manager, "Filiallararo kredit hisoboti", users["operator"], 72).await;
    assert_eq!(task(&b, &manager, id).await["status"], "awaiting_approval");

    let m = notification(&b, &dilnoza, "bot.staff.head.approval", "Filiallararo kredit hisoboti").await;
    assert_eq!(
        buttons(&m),
        vec![
            (msg(UZ, "bot.staff.move.approve"), format!("t:{id}:approve")),
            (msg(UZ, "bot.staff.move.decline"), format!("t:{id}:decline"))
        ]
    );

    // The director's pages listen to the live hub.
    let director = b.s.demo_token("director").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(&b.s, DEMO, &director)).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "hello");
    ws.send(tokio_tungstenite::tungstenite::Message::Text(r#"{"subscribe":["tasks"]}"#.into())).await.unwrap();
    assert_eq!(next_json(&mut ws).await["kind"], "subscribed");

    b.tg.press(&b.token, &dilnoza, m.message_id, &format!("t:{id}:approve"));
    let e = edited(&b, &dilnoza, m.message_id, &outcome("bot.staff.outcome.approve")).await;
    assert!(e.text.contains("Dilnoza Rahimova"), "{}", e.text);
    assert!(buttons(&e).is_empty());
    assert_eq!(task(&b, &manager, id).await["status"], "new");
    loop {
        let ev = next_json(&mut ws).await;
        if ev["kind"] == "task.changed" && ev["data"]["id"] == id {
            break;
        }
    }

    b.tg.press(&b.token, &dilnoza, m.message_id, &format!("t:{id}:approve"));
    assert_eq!(answer(&b, 1).await["text"], msg(UZ, "bot.staff.done"));
    let refusal = msg_with(UZ, "bot.staff.moved_on", &[("status", &msg(UZ, "task.status.new"))]);
    assert_eq!(answer(&b, 2).await["text"], refusal);
    assert_eq!(task(&b, &manager, id).await["status"], "new");
}

#[tokio::test]
async fn redo_asks_for_the_reason_and_the_task_goes_back_with_it() {
    let b = Bot::start().await;
    let malika = TgUser::new(555_004, "Malika", "uz");
    let bekzod = TgUser::new(555_005, "Bekzod", "uz");
    b.link("manager", &malika).await;
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let employee = b.s.demo_token("employee").await;
    let id = new_task(&b, &manager, "Mart oyi kassa jadvali", uid, 48).await;
    for status in ["in_progress", "pending_review"] {
        b.s.post(&c(DEMO, &format!("/tasks/{id}/status")), &employee, json!({"status": status})).await.check(200);
    }

    let m = notification(&b, &malika, "bot.staff.head.review", "Mart oyi kassa jadvali").await;
    let data: Vec<String> = buttons(&m).into_iter().map(|(_, d)| d).collect();
    assert_eq!(data, vec![format!("t:{id}:complete"), format!("t:{id}:redo")]);

    b.tg.press(&b.token, &malika, m.message_id, &format!("t:{id}:redo"));
    let ask = msg_with(UZ, "bot.staff.redo_ask", &[("title", "Mart oyi kassa jadvali")]);
    b.tg.wait_for(&b.token, malika.id, |s| s.text == ask, WAIT).await;
    assert_eq!(task(&b, &manager, id).await["status"], "pending_review", "nothing changes before the reason");

    let reason = "Jadvalda 15-martdan keyingi kunlar yo‘q";
    b.tg.text(&b.token, &malika, reason);
    let done = msg_with(UZ, "bot.staff.redo_done", &[("title", "Mart oyi kassa jadvali")]);
    b.tg.wait_for(&b.token, malika.id, |s| s.text == done, WAIT).await;
    let e = edited(&b, &malika, m.message_id, &outcome("bot.staff.outcome.redo")).await;
    assert!(e.text.contains(reason), "{}", e.text);
    let t = task(&b, &manager, id).await;
    assert_eq!(t["status"], "redo");
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["to"].as_str(), last["comment"].as_str()), (Some("redo"), Some(reason)));

    // Bekzod reads the reason, with a button to start again.
    let r = notification(&b, &bekzod, "bot.staff.head.redo", "Mart oyi kassa jadvali").await;
    assert!(r.text.contains(reason), "{}", r.text);
    assert!(buttons(&r).contains(&(msg(UZ, "bot.staff.move.start"), format!("t:{id}:start"))), "{:?}", buttons(&r));
}

#[tokio::test]
async fn a_later_deadline_asked_is_approved_from_the_button() {
    let b = Bot::start().await;
    let malika = TgUser::new(555_006, "Malika", "uz");
    b.link("manager", &malika).await;
    let uid = b.s.demo_users().await["employee"];
    let manager = b.s.demo_token("manager").await;
    let employee = b.s.demo_token("employee").await;
    let id = new_task(&b, &manager, "Omonatlar bo‘yicha hisobot", uid, 24).await;
    let later = b.s.now() + jiff::SignedDuration::from_hours(96);
    let body = json!({"deadline": later.to_string(), "comment": "Filialdan ma’lumot kechikmoqda"});
    b.s.post(&c(DEMO, &format!("/tasks/{id}/extension")), &employee, body).await.check(200);

    let m = notification(&b, &malika, "bot.staff.head.extension", "Omonatlar bo‘yicha hisobot").await;
    assert!(m.text.contains("Filialdan ma’lumot kechikmoqda"), "{}", m.text);
    assert!(m.text.contains("06.03.2026 09:00"), "the deadline asked, company time: {}", m.text);
    assert_eq!(
        buttons(&m),
        vec![
            (msg(UZ, "bot.staff.move.approve"), format!("t:{id}:approve_deadline")),
            (msg(UZ, "bot.staff.move.decline"), format!("t:{id}:decline_deadline"))
        ]
    );
    b.tg.press(&b.token, &malika, m.message_id, &format!("t:{id}:approve_deadline"));
    edited(&b, &malika, m.message_id, &outcome("bot.staff.outcome.approve_deadline")).await;
    let t = task(&b, &manager, id).await;
    assert_eq!(t["deadline"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(), later);
    assert!(t["deadline_request"].is_null(), "{t}");
}

#[tokio::test]
async fn a_reply_to_a_notification_goes_into_the_tasks_chat_and_the_answer_comes_back() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_007, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let id = new_task(&b, &manager, "Bankomatlar ro‘yxati", uid, 48).await;
    let m = notification(&b, &bekzod, "bot.staff.head.assigned", "Bankomatlar ro‘yxati").await;

    b.tg.reply(&b.token, &bekzod, m.message_id, "Bugun kechgacha tayyor bo‘ladi");
    let sent = msg(UZ, "bot.staff.reply_sent");
    b.tg.wait_for(&b.token, bekzod.id, |s| s.text == sent, WAIT).await;
    let png = chart_png(&[3.0, 1.0]);
    b.tg.photo(&b.token, &bekzod, Some(m.message_id), &png, "Ro‘yxatning rasmi");
    let end = tokio::time::Instant::now() + WAIT;
    while b.tg.sent_to(&b.token, bekzod.id).iter().filter(|s| s.text == sent).count() < 2 {
        assert!(tokio::time::Instant::now() < end, "the photo was not posted: {:?}", b.tg.sent_to(&b.token, bekzod.id));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    b.tg.voice(&b.token, &bekzod, Some(m.message_id), b"OggS\0\x02voice of a clerk");
    let end = tokio::time::Instant::now() + WAIT;
    while b.tg.sent_to(&b.token, bekzod.id).iter().filter(|s| s.text == sent).count() < 3 {
        assert!(tokio::time::Instant::now() < end, "the voice was not posted: {:?}", b.tg.sent_to(&b.token, bekzod.id));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let page = b.s.get(&c(DEMO, &format!("/tasks/{id}/messages")), &manager).await.check(200).body;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    assert_eq!(items[2]["files"][0]["name"], "voice.ogg");
    assert_eq!((items[0]["author_id"].as_u64(), items[0]["text"].as_str()), (Some(uid), Some("Bugun kechgacha tayyor bo‘ladi")));
    assert_eq!(items[1]["text"], "Ro‘yxatning rasmi");
    assert_eq!(items[1]["files"][0]["mime"], "image/png");
    assert_eq!(items[1]["files"][0]["size"].as_u64(), Some(png.len() as u64));

    // Malika answers on the site: it reaches Bekzod's Telegram.
    b.s.post(&c(DEMO, &format!("/tasks/{id}/messages")), &manager, json!({"text": "Rahmat, kutaman"})).await.check(201);
    let head = msg(UZ, "bot.staff.head.chat");
    let n = seen(&b, &bekzod, |s| s.text.starts_with(&head) && s.text.contains("Rahmat, kutaman")).await;
    assert!(n.text.contains("Malika Yusupova"), "{}", n.text);
    // And a reply to that one goes into the same chat.
    b.tg.reply(&b.token, &bekzod, n.message_id, "Mayli");
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let page = b.s.get(&c(DEMO, &format!("/tasks/{id}/messages")), &manager).await.check(200).body;
        if page["items"].as_array().unwrap().iter().any(|i| i["text"] == "Mayli") {
            break;
        }
        assert!(tokio::time::Instant::now() < end, "the reply did not reach the task's chat: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn tasks_and_today_show_my_work_with_buttons_and_unlink_ends_it() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_008, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let today = new_task(&b, &manager, "Bugungi kassa tekshiruvi", uid, 3).await;

    b.tg.text(&b.token, &bekzod, "/tasks");
    let header = tn(UZ, "bot.staff.tasks_header", 1, &[]);
    let header = header.split("1").last().unwrap().to_string();
    b.tg.wait_for(&b.token, bekzod.id, |s| s.method == "sendMessage" && s.text.ends_with(&header), WAIT).await;
    let card = b.tg.wait_for(&b.token, bekzod.id, |s| s.text.starts_with("«Bugungi kassa tekshiruvi»"), WAIT).await;
    assert_eq!(buttons(&card), vec![(msg(UZ, "bot.staff.move.start"), format!("t:{today}:start"))]);
    b.tg.press(&b.token, &bekzod, card.message_id, &format!("t:{today}:start"));
    edited(&b, &bekzod, card.message_id, &outcome("bot.staff.outcome.start")).await;
    assert_eq!(task(&b, &manager, today).await["status"], "in_progress");

    // The menu's button: the same list, now with "hand in".
    b.tg.text(&b.token, &bekzod, &msg(UZ, "bot.menu.tasks"));
    let submit = format!("t:{today}:submit");
    b.tg.wait_for(&b.token, bekzod.id, |s| buttons(s).iter().any(|(_, d)| *d == submit), WAIT).await;

    b.tg.text(&b.token, &bekzod, "/today");
    let title = msg_with(UZ, "bot.staff.today.title", &[("date", "02.03.2026")]);
    let day = b.tg.wait_for(&b.token, bekzod.id, |s| s.text.starts_with(&title), WAIT).await;
    let due = tn(UZ, "bot.staff.today.due", 1, &[]);
    let due_head = due.split('(').next().unwrap();
    let at = day.text.find(due_head).unwrap_or_else(|| panic!("no due-today list: {}", day.text));
    assert!(day.text[at..].contains("Bugungi kassa tekshiruvi — 02.03.2026 12:00"), "{}", day.text);
    assert!(day.text.contains(&msg_with(UZ, "bot.staff.today.points", &[("week", "\u{1}")]).split('\u{1}').next().unwrap().to_string()));

    // In Russian after /lang: the same day in his words.
    b.tg.text(&b.token, &bekzod, "/lang");
    let choose = b.tg.wait_for(&b.token, bekzod.id, |s| s.text == msg(UZ, "bot.lang.choose"), WAIT).await;
    b.tg.press(&b.token, &bekzod, choose.message_id, "l:ru");
    b.tg.wait_for(&b.token, bekzod.id, |s| s.text == msg(Lang::Ru, "bot.lang.set"), WAIT).await;
    b.tg.text(&b.token, &bekzod, "/today");
    let title = msg_with(Lang::Ru, "bot.staff.today.title", &[("date", "02.03.2026")]);
    let day = seen(&b, &bekzod, |s| s.text.starts_with(&title)).await;
    let line = format!("• Bugungi kassa tekshiruvi — 02.03.2026 12:00 · {}", msg(Lang::Ru, "task.status.in_progress"));
    assert!(day.text.contains(&tn(Lang::Ru, "bot.staff.today.due", 1, &[])) && day.text.contains(&line), "{}", day.text);

    b.tg.text(&b.token, &bekzod, "/unlink");
    b.tg.wait_for(&b.token, bekzod.id, |s| s.text == msg(Lang::Ru, "bot.staff.unlinked"), WAIT).await;
    let gone = b.s.send(b.s.req(reqwest::Method::DELETE, &c(DEMO, &format!("/users/{uid}/telegram")), &b.admin)).await;
    gone.refused(404, "not_found");
    b.tg.text(&b.token, &bekzod, "/tasks");
    b.tg.wait_for(&b.token, bekzod.id, |s| s.text == msg(Lang::Ru, "bot.staff.not_linked"), WAIT).await;
}

#[tokio::test]
async fn the_daily_digest_comes_at_nine_once_with_a_chart_for_the_director() {
    let b = Bot::start_at("2026-03-02T08:00:00+05:00").await;
    let bekzod = TgUser::new(555_009, "Bekzod", "uz");
    let malika = TgUser::new(555_010, "Malika", "uz");
    let dilnoza = TgUser::new(555_011, "Dilnoza", "uz");
    let uid = b.link("employee", &bekzod).await;
    b.link("manager", &malika).await;
    b.link("director", &dilnoza).await;
    let manager = b.s.demo_token("manager").await;
    new_task(&b, &manager, "Ertalabki hisobot", uid, 5).await;
    let state = &b.s.running.state;
    assert_eq!(idora::bot::digest::tick(state).await, 0, "not before nine");

    b.s.advance(jiff::SignedDuration::from_mins(61));
    let ticks = idora::bot::digest::tick(state).await + idora::bot::digest::tick(state).await;
    assert!(ticks <= 1, "one digest a day");
    let hello = msg_with(UZ, "bot.staff.digest.hello", &[("name", "Bekzod Aliyev"), ("date", "02.03.2026")]);
    let d = seen(&b, &bekzod, |s| s.text.starts_with(&hello)).await;
    assert!(d.text.contains("Ertalabki hisobot — 02.03.2026 13:00"), "{}", d.text);

    let company = msg_with(UZ, "bot.staff.digest.company", &[("approval", "\u{1}")]);
    let company = company.split('\u{1}').next().unwrap().to_string();
    let chart = seen(&b, &dilnoza, |s| s.method == "sendPhoto" && s.text.starts_with(&company)).await;
    let (_, png) = chart.file.clone().unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG chart");
    let team = msg_with(UZ, "bot.staff.digest.team", &[("department", "\u{1}")]);
    let team = team.split('\u{1}').next().unwrap().to_string();
    let t = seen(&b, &malika, |s| s.method == "sendPhoto" && s.text.starts_with(&team)).await;
    assert!(t.text.contains("Bekzod Aliyev"), "each person's figures: {}", t.text);

    // Later that day: nothing more.
    b.s.advance(jiff::SignedDuration::from_mins(30));
    assert_eq!(idora::bot::digest::tick(state).await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.tg.sent_to(&b.token, bekzod.id).iter().filter(|s| s.text.starts_with(&hello)).count(), 1);
}

/// A small PNG (a bar chart drawn the way reports draw them).
fn chart_png(values: &[f64]) -> Vec<u8> {
    let chart = idora::reports::Chart {
        key: "t",
        title: "Jadval".into(),
        kind: idora::reports::ChartKind::Bars,
        unit: idora::reports::Kind::Integer,
        labels: (1..=values.len()).map(|i| i.to_string()).collect(),
        series: vec![idora::reports::Series { name: "n".into(), values: values.iter().map(|v| Some(*v)).collect() }],
    };
    idora::reports::chart::png(&chart, Lang::Uz, 320, 200).unwrap()
}

/// Uploads `bytes` as `name` with `token`; the file's id.
async fn upload(b: &Bot, token: &str, name: &str, bytes: Vec<u8>) -> u64 {
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    b.s.send(b.s.req(reqwest::Method::POST, &c(DEMO, "/files"), token).multipart(form)).await.check(201).id()
}

#[tokio::test]
async fn a_file_added_to_my_task_arrives_as_itself_and_a_mention_names_me() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_012, "Bekzod", "uz");
    let dilnoza = TgUser::new(555_013, "Dilnoza", "uz");
    let uid = b.link("employee", &bekzod).await;
    b.link("director", &dilnoza).await;
    let manager = b.s.demo_token("manager").await;
    let id = new_task(&b, &manager, "Filial jadvalini to‘ldirish", uid, 48).await;
    notification(&b, &bekzod, "bot.staff.head.assigned", "Filial jadvalini to‘ldirish").await;

    // Malika puts a photo in the task's chat before Bekzod ever wrote there.
    let png = chart_png(&[2.0]);
    let photo = upload(&b, &manager, "jadval.png", png.clone()).await;
    let path = c(DEMO, &format!("/tasks/{id}/messages"));
    b.s.post(&path, &manager, json!({"text": "Mana namuna", "file_ids": [photo]})).await.check(201);
    let head = msg(UZ, "bot.staff.head.file");
    let m = seen(&b, &bekzod, |s| s.text.starts_with(&head) && s.method == "sendPhoto").await;
    assert_eq!(m.file.as_ref().unwrap().1, png, "the photo itself");
    assert!(m.text.contains("Mana namuna") && m.text.contains("jadval.png"), "{}", m.text);

    // A document comes as a document, with its name.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let doc = upload(&b, &manager, "Namuna shartnoma.pdf", pdf.clone()).await;
    b.s.post(&path, &manager, json!({"text": "", "file_ids": [doc]})).await.check(201);
    let d = seen(&b, &bekzod, |s| s.text.starts_with(&head) && s.method == "sendDocument").await;
    assert_eq!(d.file.as_ref().unwrap().0, "Namuna shartnoma.pdf");
    assert_eq!(d.file.as_ref().unwrap().1, pdf);

    // Malika names the director in the task's chat.
    b.s.post(&path, &manager, json!({"text": "@director ko‘rib chiqing, iltimos"})).await.check(201);
    let mention = msg(UZ, "bot.staff.head.mention");
    let n = seen(&b, &dilnoza, |s| s.text.starts_with(&mention)).await;
    assert!(n.text.contains("ko‘rib chiqing") && n.text.contains("Malika Yusupova"), "{}", n.text);
    // Her reply goes into that task's chat.
    b.tg.reply(&b.token, &dilnoza, n.message_id, "Ko‘rdim");
    let end = tokio::time::Instant::now() + WAIT;
    loop {
        let page = b.s.get(&path, &manager).await.check(200).body;
        if page["items"].as_array().unwrap().iter().any(|i| i["text"] == "Ko‘rdim" && i["author_name"] == "Dilnoza Rahimova") {
            break;
        }
        assert!(tokio::time::Instant::now() < end, "the director's reply is not in the task's chat: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_overdue_task_tells_its_assignee_with_the_buttons_of_a_late_task() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_014, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let id = new_task(&b, &manager, "Kechikkan hisobot", uid, 1).await;
    notification(&b, &bekzod, "bot.staff.head.assigned", "Kechikkan hisobot").await;
    b.s.advance(jiff::SignedDuration::from_hours(2));
    let state = b.s.state().clone();
    let tenant = state.tenants.get(DEMO).unwrap();
    assert_eq!(idora::tasks::service::mark_overdue(&state, &tenant).await.unwrap(), 1);
    let m = notification(&b, &bekzod, "bot.staff.head.overdue", "Kechikkan hisobot").await;
    assert!(m.text.contains(&msg_with(UZ, "bot.staff.card.deadline_late", &[("time", "02.03.2026 10:00")])), "{}", m.text);
    // Not started: a late task may still be started.
    assert_eq!(buttons(&m), vec![(msg(UZ, "bot.staff.move.start"), format!("t:{id}:start"))]);
}
