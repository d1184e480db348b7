//! The admin's side of the bot, and what keeps it standing: the Telegram
//! page (connect, the digest time, disconnect), links from the user pages
//! and the profile, and the robustness the issue asks for — disconnect stops
//! polling, a revoked token stops the bot and says so, a new token runs
//! again, 429 is waited out, a blocked user is not retried, two companies'
//! bots never meet, the token never shows, a restart resumes polling,
//! permissions, and link codes that expire and are used once.

use super::*;
use crate::support::{Browser, ROOT, ROOT_PASSWORD, msg, text_of_id};
use idora::i18n::Lang;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The secret part of a token: what must never show.
fn secret_of(token: &str) -> &str {
    token.split_once(':').map(|(_, s)| s).unwrap_or(token)
}

/// Asks `what` every 50 ms until it is true; panics after [`WAIT`].
async fn until<F: std::future::Future<Output = bool>>(label: &str, mut what: impl FnMut() -> F) {
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if what().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{label}: not within {WAIT:?}");
}

/// Until the company's bot outbox holds nothing (sent, dropped or given up).
/// The company's clock moves on meanwhile: a row put off by the pace of its
/// chat (one message a second) is due on that clock.
async fn outbox_empty(s: &Server, slug: &str) {
    let tenant = s.state().tenants.get(slug).unwrap();
    until("the bot outbox empties", || {
        s.advance(jiff::SignedDuration::from_millis(200));
        let db = tenant.db().unwrap();
        let (_, n) = idora::telegram::outbox::pending(db).unwrap();
        async move { n == 0 }
    })
    .await;
}

/// A task for user `assignee`, created by the demo manager.
async fn task_for(s: &Server, assignee: u64, title: &str) {
    let manager = s.demo_token("manager").await;
    let due = (s.now() + jiff::SignedDuration::from_hours(48)).to_string();
    s.post(&c(DEMO, "/tasks"), &manager, json!({"title": title, "assignee_id": assignee, "deadline": due})).await.check(201);
}

/// Until nothing more is sent to `chat` for 300 ms (the bot's answers to a
/// link, say, are all out).
async fn quiet(b: &Bot, chat: i64) {
    let mut n = b.tg.sent_to(&b.token, chat).len();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = b.tg.sent_to(&b.token, chat).len();
        if now == n {
            return;
        }
        n = now;
    }
}

/// How many times the bot tried to send `chat` a message with `words`
/// (refused tries included).
fn tries_of(b: &Bot, chat: i64, words: &str) -> usize {
    b.tg.calls(&b.token, "sendMessage")
        .iter()
        .filter(|c| c["chat_id"].to_string().trim_matches('"') == chat.to_string())
        .filter(|c| c["text"].as_str().is_some_and(|t| t.contains(words)))
        .count()
}

async fn admin_browser(s: &Server) -> Browser {
    s.browser(DEMO, "admin", idora::demo::PASSWORD).await
}

#[tokio::test]
async fn disconnecting_stops_polling_within_seconds_and_the_pages_say_no_bot_is_connected() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_101, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;

    b.s.req(reqwest::Method::DELETE, &c(DEMO, "/telegram"), &b.admin).send().await.unwrap();
    let t0 = Instant::now();
    b.tg.wait_polling(&b.token, false, Duration::from_secs(5)).await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    let st = b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200);
    assert_eq!(st.body["status"], "none");
    assert_eq!(st.body["connected"], false);

    // Nothing reaches the linked employee any more, and no link can be made.
    let before = b.tg.calls(&b.token, "sendMessage").len();
    task_for(&b.s, uid, "Hisobot").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.tg.calls(&b.token, "sendMessage").len(), before);
    let r = b.s.post(&c(DEMO, &format!("/users/{uid}/telegram-link")), &b.admin, json!({})).await.refused(409, "conflict");
    assert!(!r.message().is_empty());

    // The admin's page explains how to connect one; the user's page points there.
    let web = admin_browser(&b.s).await;
    let p = web.get("admin/telegram").await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains(r#"id="tg-none""#), "{}", p.html);
    assert!(p.html.contains("@BotFather") && p.html.contains("/newbot"));
    let p = web.get(&format!("admin/users/{uid}")).await;
    assert!(p.html.contains(r#"id="tg-user-nobot""#), "{}", p.html);
    assert!(p.html.contains(r#"href="/c/demo/admin/telegram""#), "the admin is sent to the Telegram page");
    // Still linked: a bot connected later reaches them.
    assert!(p.html.contains(r#"id="tg-user-linked""#), "the link stays");
}

#[tokio::test]
async fn a_revoked_token_stops_the_bot_the_page_says_why_and_a_new_token_runs_again() {
    let b = Bot::start().await;
    b.tg.revoke(&b.token);
    until("the status says revoked", || async { b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["status"] == "revoked" })
        .await;
    let st = b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200);
    assert!(st.body["problem"].as_str().is_some_and(|p| p.contains("401")), "{}", st.text);
    b.tg.wait_polling(&b.token, false, WAIT).await;

    // The page says so, and asks for a new token.
    let web = admin_browser(&b.s).await;
    let p = web.get("admin/telegram").await;
    assert!(p.html.contains(r#"id="tg-revoked""#), "{}", p.html);
    assert!(
        p.html.contains(&msg(Lang::Uz, "telegram.page.revoked_title")) || p.html.contains(&msg(Lang::En, "telegram.page.revoked_title"))
    );
    assert!(p.html.contains(r#"name="token""#));
    // Nobody can be sent a link to a stopped bot.
    let uid = b.s.demo_users().await["employee"];
    b.s.post(&c(DEMO, &format!("/users/{uid}/telegram-link")), &b.admin, json!({})).await.refused(409, "conflict");

    // A new token from @BotFather, pasted on the page: the bot runs again.
    let fresh = super::token(7002);
    b.tg.add_bot(&fresh, "idora_demo_bot");
    let p = web.post("admin/telegram", &[("token", &fresh)]).await;
    assert_eq!(p.status, 200);
    assert!(p.query.contains("done=connected"), "{}", p.query);
    assert!(!p.html.contains(r#"id="tg-revoked""#));
    b.tg.wait_polling(&fresh, true, WAIT).await;
    assert_eq!(b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["status"], "running");
    // And it answers.
    let aziza = TgUser::new(555_102, "Aziza", "en");
    b.tg.text(&fresh, &aziza, "/start");
    b.tg.wait_for(&fresh, aziza.id, |m| !m.text.is_empty(), WAIT).await;
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_message_arrives_after_the_pause() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_103, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    quiet(&b, bekzod.id).await;
    b.tg.throttle(&b.token, 1, 2);
    task_for(&b.s, uid, "Kassa hisoboti 429").await;
    until("the throttled send", || async { tries_of(&b, bekzod.id, "Kassa hisoboti 429") > 0 }).await;
    let throttled = Instant::now();
    // The row comes back after retry_after on the company's clock.
    b.s.advance(jiff::SignedDuration::from_secs(3));
    let m = b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("Kassa hisoboti 429"), WAIT).await;
    assert_eq!(m.method, "sendMessage");
    assert!(throttled.elapsed() >= Duration::from_millis(1500), "sent again before the pause: {:?}", throttled.elapsed());
    assert_eq!(tries_of(&b, bekzod.id, "Kassa hisoboti 429"), 2, "one refused, one sent");
}

#[tokio::test]
async fn a_user_who_blocked_the_bot_is_marked_unreachable_and_not_retried() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_104, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    quiet(&b, bekzod.id).await;
    b.tg.block(&b.token, bekzod.id);
    task_for(&b.s, uid, "Birinchi").await;
    outbox_empty(&b.s, DEMO).await;
    assert_eq!(tries_of(&b, bekzod.id, "Birinchi"), 1, "one try, refused with 403");
    task_for(&b.s, uid, "Ikkinchi").await;
    task_for(&b.s, uid, "Uchinchi").await;
    outbox_empty(&b.s, DEMO).await;
    b.s.advance(jiff::SignedDuration::from_mins(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tries_of(&b, bekzod.id, "Birinchi"), 1, "not retried");
    assert_eq!(tries_of(&b, bekzod.id, "Ikkinchi") + tries_of(&b, bekzod.id, "Uchinchi"), 0, "nothing more tried");
    assert!(b.tg.sent_to(&b.token, bekzod.id).iter().all(|m| !m.text.contains("Birinchi")));

    // The admin sees why messages do not arrive.
    let web = admin_browser(&b.s).await;
    let p = web.get(&format!("admin/users/{uid}")).await;
    assert!(p.html.contains(r#"id="tg-user-unreachable""#), "{}", p.html);
}

#[tokio::test]
async fn two_companies_with_two_bots_never_see_each_others_users() {
    let b = Bot::start().await;
    let state = b.s.state();
    idora::tenancy::service::upsert_platform_admin(&state.platform, state.now_ms(), ROOT, ROOT_PASSWORD.into()).await.unwrap();
    let other = b.s.company("other", true).await;
    let other_token = super::token(7003);
    b.tg.add_bot(&other_token, "other_company_bot");
    b.s.put(&other.path("/telegram"), &other.admin, json!({"token": other_token})).await.check(200);
    b.tg.wait_polling(&other_token, true, WAIT).await;
    // Each company sees its own bot.
    assert_eq!(b.s.get(&other.path("/telegram"), &other.admin).await.check(200).body["bot_username"], "other_company_bot");
    assert_eq!(b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["bot_username"], "idora_demo_bot");

    let bekzod = TgUser::new(555_105, "Bekzod", "en");
    let demo_uid = b.link("employee", &bekzod).await;
    let (aziz_id, aziz_token) = b.s.user(&other, "aziz", "employee").await;
    let aziz = TgUser::new(555_106, "Aziz", "en");

    // Demo's link code means nothing to the other company's bot.
    let code = b.s.post(&c(DEMO, &format!("/users/{demo_uid}/telegram-link")), &b.admin, json!({})).await.check(201).str("code");
    b.tg.text(&other_token, &aziz, &format!("/start {code}"));
    b.tg.wait_for(&other_token, aziz.id, |m| m.text == msg(Lang::En, "telegram.code_unknown"), WAIT).await;
    // Aziz links through his own company.
    let code = b.s.post(&other.path(&format!("/users/{aziz_id}/telegram-link")), &aziz_token, json!({})).await.check(201).str("code");
    b.tg.text(&other_token, &aziz, &format!("/start {code}"));
    b.tg.wait_for(&other_token, aziz.id, |m| m.text.contains("Idora"), WAIT).await;

    // A task in each company reaches its own person through its own bot only.
    task_for(&b.s, demo_uid, "Demo vazifa").await;
    let (_, director) = b.s.user(&other, "dilnoza", "director").await;
    let due = (b.s.now() + jiff::SignedDuration::from_hours(48)).to_string();
    b.s.post(&other.path("/tasks"), &director, json!({"title": "Other task", "assignee_id": aziz_id, "deadline": due})).await.check(201);
    b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("Demo vazifa"), WAIT).await;
    b.tg.wait_for(&other_token, aziz.id, |m| m.text.contains("Other task"), WAIT).await;
    outbox_empty(&b.s, DEMO).await;
    outbox_empty(&b.s, "other").await;
    assert!(b.tg.sent(&b.token).iter().all(|m| m.chat_id != aziz.id && !m.text.contains("Other task")));
    assert!(b.tg.sent(&other_token).iter().all(|m| !m.text.contains("Demo vazifa")));
    assert!(b.tg.sent_to(&other_token, bekzod.id).is_empty());
    // Bekzod writing to the other company's bot is a stranger there.
    b.tg.text(&other_token, &bekzod, "/tasks");
    let answer = b.tg.wait_for(&other_token, bekzod.id, |m| !m.text.is_empty(), WAIT).await;
    assert!(!answer.text.contains("Demo vazifa"), "{}", answer.text);
}

/// Every log line, at debug level, while the test runs (its runtime is one
/// thread, so the server's tasks log here).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_token_never_appears_in_logs_pages_or_answers() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let b = Bot::start().await;
    let secret = secret_of(&b.token).to_string();
    let bekzod = TgUser::new(555_107, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    task_for(&b.s, uid, "Maxfiy emas").await;
    b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("Maxfiy emas"), WAIT).await;

    // The API and the pages show it masked.
    let st = b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200);
    assert!(!st.text.contains(&secret));
    assert_eq!(st.body["token"], idora::telegram::mask(&b.token));
    let web = admin_browser(&b.s).await;
    let p = web.get("admin/telegram").await;
    assert!(!p.html.contains(&secret), "the page shows the token");
    assert_eq!(text_of_id(&p.html, "tg-token"), idora::telegram::mask(&b.token));
    for page in ["admin/audit", &format!("admin/users/{uid}")] {
        assert!(!web.get(page).await.html.contains(&secret), "{page} shows the token");
    }
    // A wrong token typed into the form comes back to its typist, but is not logged.
    let typo = format!("{}x", super::token(9999));
    let p = web.post("admin/telegram", &[("token", &typo)]).await;
    assert_eq!(p.status, 422);

    // Telegram refusing it later: logged, without it.
    b.tg.revoke(&b.token);
    until("revoked", || async { b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["status"] == "revoked" }).await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).to_string();
    assert!(text.contains("telegram refused the bot's token"), "the revocation is logged: {} bytes", text.len());
    assert!(!text.contains(&secret), "a log line shows the token");
    assert!(!text.contains(secret_of(&typo)), "a log line shows the typed token");
}

#[tokio::test]
async fn the_bot_survives_a_restart_and_polls_again() {
    let b = Bot::start().await;
    let bekzod = TgUser::new(555_108, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let Bot { s, tg, token, .. } = b;
    let s = s.restart().await;
    tg.wait_polling(&token, true, WAIT).await;
    let admin = s.demo_token("admin").await;
    assert_eq!(s.get(&c(DEMO, "/telegram"), &admin).await.check(200).body["status"], "running");
    // The link survived, and a new task reaches Telegram.
    task_for(&s, uid, "Qayta ishga tushgandan keyin").await;
    tg.wait_for(&token, bekzod.id, |m| m.text.contains("Qayta ishga tushgandan keyin"), WAIT).await;
    // And the bot answers what people write.
    let n = tg.sent_to(&token, bekzod.id).len();
    tg.text(&token, &bekzod, "/help");
    until("an answer to /help", || async { tg.sent_to(&token, bekzod.id).len() > n }).await;
}

#[tokio::test]
async fn only_who_sets_the_company_up_manages_the_bot_and_staff_link_only_themselves() {
    let b = Bot::start().await;
    let employee = b.s.demo_token("employee").await;
    let users = b.s.demo_users().await;
    b.s.put(&c(DEMO, "/telegram"), &employee, json!({"token": super::token(7004)})).await.refused(403, "forbidden");
    b.s.get(&c(DEMO, "/telegram"), &employee).await.refused(403, "forbidden");
    let (st, _) = b.s.call(reqwest::Method::DELETE, &c(DEMO, "/telegram"), Some(&employee), None).await;
    assert_eq!(st, 403);
    // Themselves: yes; with credentials, or someone else: no.
    let me = users["employee"];
    b.s.post(&c(DEMO, &format!("/users/{me}/telegram-link")), &employee, json!({})).await.check(201);
    b.s.post(&c(DEMO, &format!("/users/{me}/telegram-link")), &employee, json!({"send_credentials": true})).await.refused(403, "forbidden");
    b.s.post(&c(DEMO, &format!("/users/{}/telegram-link", users["manager"])), &employee, json!({})).await.refused(403, "forbidden");
    // The bot still runs.
    assert_eq!(b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["status"], "running");
    // The page: not for them, and not in their menu.
    let web = b.s.browser(DEMO, "employee", idora::demo::PASSWORD).await;
    assert_eq!(web.get("admin/telegram").await.status, 403);
    let posted = web.post("admin/telegram/disconnect", &[]).await;
    assert_eq!(posted.status, 403);
    assert!(!web.get("").await.html.contains("admin/telegram"));
    b.tg.wait_polling(&b.token, true, WAIT).await;
}

#[tokio::test]
async fn link_codes_expire_after_a_day_and_work_once() {
    let b = Bot::start().await;
    let uid = b.s.demo_users().await["employee"];
    let make = || async { b.s.post(&c(DEMO, &format!("/users/{uid}/telegram-link")), &b.admin, json!({})).await.check(201) };
    let r = make().await;
    let expires: jiff::Timestamp = r.str("expires_at").parse().unwrap();
    assert_eq!(expires.duration_since(b.s.now()), jiff::SignedDuration::from_hours(24));
    assert_eq!(r.str("url"), format!("https://t.me/idora_demo_bot?start={}", r.str("code")));

    // A day and a minute later: expired.
    b.s.advance(jiff::SignedDuration::from_mins(24 * 60 + 1));
    let late = TgUser::new(555_109, "Late", "en");
    b.tg.text(&b.token, &late, &format!("/start {}", r.str("code")));
    b.tg.wait_for(&b.token, late.id, |m| m.text == msg(Lang::En, "telegram.code_expired"), WAIT).await;

    // A fresh one works once: the second person is told it was used.
    let admin = b.s.demo_token("admin").await;
    let code = b.s.post(&c(DEMO, &format!("/users/{uid}/telegram-link")), &admin, json!({})).await.check(201).str("code");
    let first = TgUser::new(555_110, "First", "en");
    b.tg.text(&b.token, &first, &format!("/start {code}"));
    b.tg.wait_for(&b.token, first.id, |m| m.text.contains("Idora"), WAIT).await;
    let second = TgUser::new(555_111, "Second", "en");
    b.tg.text(&b.token, &second, &format!("/start {code}"));
    b.tg.wait_for(&b.token, second.id, |m| m.text == msg(Lang::En, "telegram.code_unknown"), WAIT).await;
    // The employee is linked to the first account.
    let web = admin_browser(&b.s).await;
    let p = web.get(&format!("admin/users/{uid}")).await;
    assert!(p.html.contains(r#"id="tg-user-linked""#), "{}", p.html);
}

#[tokio::test]
async fn the_admin_connects_sets_the_digest_and_disconnects_on_the_page() {
    let tg = FakeTelegram::start().await;
    let token = super::token(7005);
    tg.add_bot(&token, "demo_bank_bot");
    let s = demo_with_telegram("2026-03-02T09:00:00+05:00", &tg.url()).await;
    let web = admin_browser(&s).await;
    let p = web.get("admin/telegram").await;
    assert!(p.html.contains(r#"id="tg-none""#));
    assert!(p.html.contains(r#"href="/c/demo/admin/telegram""#), "in the admin menu");

    // A malformed token: the form again, the typing kept, the reason next to it.
    let p = web.post("admin/telegram", &[("token", "12345 abc")]).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains(r#"value="12345 abc""#), "the input is kept");
    assert!(p.html.contains(r#"id="f-token-error""#));
    // One Telegram refuses: said so.
    let p = web.post("admin/telegram", &[("token", &super::token(9998))]).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains("@BotFather"));

    let p = web.post("admin/telegram", &[("token", &format!(" {token}\n"))]).await;
    assert_eq!(p.status, 200);
    assert!(p.html.contains("https://t.me/demo_bank_bot"));
    assert!(p.html.contains("<svg"), "a QR of the bot's link");
    tg.wait_polling(&token, true, WAIT).await;

    // The digest: a wrong time is explained; a right one kept.
    let p = web.post("admin/telegram/digest", &[("digest_time", "25:00")]).await;
    assert_eq!(p.status, 422);
    assert!(p.html.contains(r#"value="25:00""#));
    let p = web.post("admin/telegram/digest", &[("digest_time", "08:30")]).await;
    assert!(p.query.contains("done=digest"));
    let admin = s.demo_token("admin").await;
    assert_eq!(s.get(&c(DEMO, "/telegram"), &admin).await.check(200).body["digest_time"], "08:30");

    let p = web.post("admin/telegram/disconnect", &[]).await;
    assert!(p.query.contains("done=disconnected"));
    assert!(p.html.contains(r#"id="tg-none""#));
    tg.wait_polling(&token, false, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_admin_sends_a_link_with_the_login_and_the_person_links_from_telegram() {
    let b = Bot::start().await;
    let uid = b.s.demo_users().await["employee"];
    let web = admin_browser(&b.s).await;
    let p = web.get(&format!("admin/users/{uid}")).await;
    assert!(p.html.contains(r#"id="tg-user-unlinked""#));
    assert!(p.html.contains(r#"name="send_credentials""#));

    let p = web.post(&format!("admin/users/{uid}/telegram"), &[("send_credentials", "1")]).await;
    assert_eq!(p.status, 200);
    let url = text_of_id(&p.html, "tg-link-url");
    assert!(url.starts_with("https://t.me/idora_demo_bot?start="), "{url}");
    assert!(p.html.contains("<svg"), "a QR of the link");
    assert!(text_of_id(&p.html, "tg-link-expiry").contains("03.03.2026 09:00"), "valid 24 h, company time");
    let code = url.rsplit('=').next().unwrap().to_string();

    let mut bekzod = TgUser::new(555_112, "Bekzod", "uz");
    bekzod.username = Some("bekzod_t".into());
    b.tg.text(&b.token, &bekzod, &format!("/start {code}"));
    let creds = b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("employee"), WAIT).await;
    assert!(creds.text.contains("employee"), "{}", creds.text);

    let p = web.get(&format!("admin/users/{uid}")).await;
    assert!(p.html.contains("@bekzod_t"));
    let p = web.post(&format!("admin/users/{uid}/telegram/unlink"), &[]).await;
    assert!(p.query.contains("done=telegram_unlinked"), "{}", p.query);
    assert!(p.html.contains(r#"id="tg-user-unlinked""#));
}

#[tokio::test]
async fn an_employee_links_and_unlinks_their_own_telegram_from_the_profile() {
    let b = Bot::start().await;
    let web = b.s.browser(DEMO, "employee", idora::demo::PASSWORD).await;
    let p = web.get("profile").await;
    assert!(p.html.contains(r#"id="tg-user-unlinked""#));
    assert!(!p.html.contains(r#"name="send_credentials""#), "no credentials for oneself");
    let p = web.post("profile/telegram", &[]).await;
    assert_eq!(p.status, 200);
    let url = text_of_id(&p.html, "tg-link-url");
    let code = url.rsplit('=').next().unwrap().to_string();
    let bekzod = TgUser::new(555_113, "Bekzod", "uz");
    b.tg.text(&b.token, &bekzod, &format!("/start {code}"));
    b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("Idora"), WAIT).await;
    let p = web.get("profile").await;
    assert!(p.html.contains(r#"id="tg-user-linked""#));
    let p = web.post("profile/telegram/unlink", &[]).await;
    assert!(p.html.contains(r#"id="tg-user-unlinked""#));

    // With the bot gone, the profile says to ask the admin.
    b.s.req(reqwest::Method::DELETE, &c(DEMO, "/telegram"), &b.admin).send().await.unwrap();
    let p = web.get("profile").await;
    assert!(p.html.contains(r#"id="tg-user-nobot""#));
    assert!(!p.html.contains("admin/telegram"), "an employee is not sent to the admin's page");
}

#[tokio::test]
async fn the_digest_time_is_set_over_the_api_by_the_admin_only() {
    let b = Bot::start().await;
    let url = c(DEMO, "/telegram");
    let r = b.s.patch(&url, &b.admin, json!({"digest_time": "7:5x"})).await.refused(422, "validation");
    assert_eq!(r.field(), "digest_time");
    assert_eq!(r.message(), msg(Lang::Uz, "telegram.page.digest_invalid"));
    b.s.patch(&url, &b.admin, json!({"digest_time": "24:00"})).await.refused(422, "validation");
    let r = b.s.patch(&url, &b.admin, json!({"digest_time": "08:15"})).await.check(200);
    assert_eq!(r.body["digest_time"], "08:15");
    assert_eq!(b.s.get(&url, &b.admin).await.check(200).body["digest_time"], "08:15");
    let employee = b.s.demo_token("employee").await;
    b.s.patch(&url, &employee, json!({"digest_time": "10:00"})).await.refused(403, "forbidden");
    assert_eq!(b.s.get(&url, &b.admin).await.check(200).body["digest_time"], "08:15");
    // No bot, nothing to set.
    b.s.req(reqwest::Method::DELETE, &url, &b.admin).send().await.unwrap();
    b.s.patch(&url, &b.admin, json!({"digest_time": "10:00"})).await.refused(404, "not_found");
}
