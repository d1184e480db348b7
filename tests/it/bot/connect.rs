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
