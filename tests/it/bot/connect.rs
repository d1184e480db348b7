//! Connecting a bot, linking staff, and a notification reaching Telegram.

use super::*;

#[tokio::test]
async fn an_admin_connects_a_bot_links_an_employee_and_a_new_task_reaches_their_telegram() {
    let b = Bot::start().await;
    // The bot's commands are set in each language.
    let langs: Vec<String> =
        b.tg.calls(&b.token, "setMyCommands").iter().filter_map(|c| c["language_code"].as_str().map(String::from)).collect();
    assert!(["uz", "ru", "en"].iter().all(|l| langs.iter().any(|x| x == l)), "{langs:?}");
    let status = b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200);
    assert_eq!(status.body["status"], "running");
    assert_eq!(status.body["link"], "https://t.me/idora_demo_bot");
    assert!(!status.text.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALD7001"), "the token is masked: {}", status.text);

    let bekzod = TgUser::new(555_001, "Bekzod", "uz");
    let uid = b.link("employee", &bekzod).await;
    let manager = b.s.demo_token("manager").await;
    let due = (b.s.now() + jiff::SignedDuration::from_hours(48)).to_string();
    b.s.post(&c(DEMO, "/tasks"), &manager, json!({"title": "Kassa hisobotini tayyorlash", "assignee_id": uid, "deadline": due}))
        .await
        .check(201);
    let m = b.tg.wait_for(&b.token, bekzod.id, |m| m.text.contains("Kassa hisobotini tayyorlash"), WAIT).await;
    assert_eq!(m.method, "sendMessage");
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_a_clear_message_and_nothing_is_stored() {
    let b = Bot::start().await;
    let r = b.s.put(&c(DEMO, "/telegram"), &b.admin, json!({"token": "not a token"})).await.refused(422, "validation");
    assert!(!r.message().is_empty());
    let r = b.s.put(&c(DEMO, "/telegram"), &b.admin, json!({"token": super::token(9999)})).await.refused(422, "validation");
    assert!(r.message().contains("Telegram"), "{}", r.text);
    // The bot connected before still runs.
    assert_eq!(b.s.get(&c(DEMO, "/telegram"), &b.admin).await.check(200).body["status"], "running");
}

#[tokio::test]
async fn with_an_https_public_address_telegram_posts_to_a_webhook_that_checks_its_secret() {
    let tg = FakeTelegram::start().await;
    let token = super::token(7002);
    tg.add_bot(&token, "idora_hook_bot");
    let s = crate::support::demo_with_telegram_and("2026-03-02T09:00:00+05:00", &tg.url(), |c| {
        c.public_url = Some("https://idora.example.uz".into())
    })
    .await;
    let admin = s.demo_token("admin").await;
    s.put(&c(DEMO, "/telegram"), &admin, json!({"token": token})).await.check(200);
    assert_eq!(s.get(&c(DEMO, "/telegram"), &admin).await.check(200).body["mode"], "webhook");
    // The bot sets its webhook (with a secret) instead of polling.
    let mut hook = Vec::new();
    for _ in 0..100 {
        hook = tg.calls(&token, "setWebhook");
        if !hook.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = hook[0]["url"].as_str().unwrap().to_string();
    let secret = hook[0]["secret_token"].as_str().unwrap().to_string();
    assert!(url.starts_with("https://idora.example.uz/telegram/demo/"), "{url}");
    assert!(!tg.polling(&token), "no long poll beside a webhook");
    let path = url.trim_start_matches("https://idora.example.uz");

    let who = TgUser::new(555_077, "Dilnoza", "ru");
    tg.open_chat(&token, &who);
    let update = json!({"update_id": 10, "message": {"message_id": 1, "date": 1_772_420_000, "text": "/start",
        "chat": {"id": who.id, "type": "private", "first_name": "Dilnoza"},
        "from": {"id": who.id, "is_bot": false, "first_name": "Dilnoza", "language_code": "ru"}}});
    // A wrong secret (in the header) is not found, and nothing is answered.
    let r = s.http.post(format!("{}{path}", s.base)).header("x-telegram-bot-api-secret-token", "wrong").json(&update).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = s.http.post(format!("{}{path}", s.base)).header("x-telegram-bot-api-secret-token", &secret).json(&update).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = tg.wait_for(&token, who.id, |m| m.method == "sendMessage", WAIT).await;
    assert!(m.text.contains("Здравствуйте"), "answered in the person's language: {}", m.text);
    assert_eq!(tg.sent_to(&token, who.id).len(), 1, "the refused post was not handled");
}
