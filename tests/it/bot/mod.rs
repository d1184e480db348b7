//! The company bots (#13), against a fake Telegram Bot API on 127.0.0.1
//! (`support::telegram`) that speaks the real protocol: the production code
//! is the code that talks to Telegram.

mod admin;
mod client;
mod connect;
mod queue;
mod staff;

use crate::support::telegram::{FakeTelegram, TgUser};
use crate::support::{DEMO, Server, c, demo_with_telegram};
use serde_json::json;
use std::time::Duration;

/// A bot token of the shape @BotFather gives.
pub fn token(n: u32) -> String {
    format!("{n}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD{n:04}")
}

/// How long a test waits for the bot to do something.
pub const WAIT: Duration = Duration::from_secs(10);

/// The demo company with a fake Telegram and its bot connected by the admin.
pub struct Bot {
    pub s: Server,
    pub tg: FakeTelegram,
    pub token: String,
    pub admin: String,
}

impl Bot {
    pub async fn start() -> Bot {
        Bot::start_at("2026-03-02T09:00:00+05:00").await
    }

    pub async fn start_at(rfc3339: &str) -> Bot {
        let tg = FakeTelegram::start().await;
        let token = token(7001);
        tg.add_bot(&token, "idora_demo_bot");
        let s = demo_with_telegram(rfc3339, &tg.url()).await;
        let admin = s.demo_token("admin").await;
        let r = s.put(&c(DEMO, "/telegram"), &admin, json!({"token": token})).await.check(200);
        assert_eq!(r.str("bot_username"), "idora_demo_bot");
        tg.wait_polling(&token, true, WAIT).await;
        Bot { s, tg, token, admin }
    }

    /// Links demo user `username` to Telegram account `who` through a link
    /// code, as a person opening the link does; returns the user's id.
    pub async fn link(&self, username: &str, who: &TgUser) -> u64 {
        let id = self.s.demo_users().await[username];
        let r = self.s.post(&c(DEMO, &format!("/users/{id}/telegram-link")), &self.admin, json!({})).await.check(201);
        let code = r.str("code");
        self.tg.text(&self.token, who, &format!("/start {code}"));
        self.tg.wait_for(&self.token, who.id, |m| m.text.contains("Idora"), WAIT).await;
        id
    }
}
