//! Telegram notifications through the bot outbox, to a fake Bot API on
//! 127.0.0.1 that speaks the real protocol (`tests/it/support/telegram.rs`).
//!
//! `cargo bench --bench telegram` (`-- --quick`: one notification each;
//! `-- --per-bot N`: the bots' pace, default Telegram's 30 a second).
//! Setup: 20 companies, each with its own bot and 50 employees linked to
//! Telegram (1,000 linked users); every employee is given `PER_USER` new
//! tasks while the bots are stopped, so each notification waits in its
//! company's outbox (written in the task's own transaction). Then the bots
//! start and the bench times until the fake Bot API has received every
//! notification, each exactly once: notifications delivered per second
//! across the box and per bot (which the pace bounds).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[allow(dead_code)]
#[path = "../tests/it/support/telegram.rs"]
mod telegram;

use idora::app::AppState;
use idora::auth::Caller;
use idora::config::Config;
use idora::org::service::NewUser;
use idora::tasks::service::NewTask;
use idora::telegram::Checked;
use idora::tenancy::service::NewCompany;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use telegram::{FakeTelegram, TgUser};

const COMPANIES: usize = 20;
const USERS_PER_COMPANY: usize = 50;

fn token(i: usize) -> String {
    format!("{}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALD{i:04}", 900_000 + i)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let per_bot: u32 = args.iter().position(|a| a == "--per-bot").and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(30);
    let per_user: usize = if quick { 1 } else { 5 };
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        telegram_api_url: tg.url(),
        telegram_per_second: per_bot,
        ..Config::default()
    };
    let state = AppState::open_default(config).expect("state");
    let now = state.now_ms();

    // Companies, bots, linked employees.
    let setup = Instant::now();
    let mut companies = Vec::new();
    for c in 0..COMPANIES {
        let input = NewCompany {
            name: format!("Filial {c}"),
            slug: format!("tg{c:02}"),
            timezone: None,
            language: Some("uz".into()),
            admin_username: "admin".into(),
            admin_full_name: Some("Admin".into()),
            admin_password: Some("bench-Passw0rd-admin".into()),
            admin_role: None,
            contacts: Default::default(),
        };
        let created = idora::tenancy::service::create_company(&state, &Caller::System, input).await.expect("company");
        let tenant = created.tenant;
        let tok = token(c);
        tg.add_bot(&tok, &format!("filial{c}_bot"));
        let mut users = Vec::new();
        for u in 0..USERS_PER_COMPANY {
            let db = tenant.db().expect("db");
            let new =
                NewUser { username: format!("x{u:03}"), full_name: format!("Xodim {u}"), role: "employee".into(), ..Default::default() };
            let id = idora::org::service::insert_user(db, now, &Caller::System, new, "bench-Passw0rd-user".into()).await.expect("user");
            let tg_id = 10_000_000 + (c * 1000 + u) as i64;
            idora::telegram::links::link_directly(&tenant, id, tg_id, now).await.expect("link");
            tg.open_chat(&tok, &TgUser::new(tg_id, &format!("Xodim {u}"), "uz"));
            users.push(id);
        }
        let bot_id: i64 = tok.split(':').next().unwrap().parse().unwrap();
        let checked = Checked { token: tok.clone(), bot_id, username: format!("filial{c}_bot"), name: format!("Filial {c}") };
        let cfg = idora::telegram::connect(&state, &tenant, &Caller::System, checked).await.expect("connect");
        companies.push((tenant, cfg, users));
    }

    // The notifications, queued with their tasks while no bot runs.
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72)).to_string();
    let mut jobs = Vec::new();
    for (tenant, _, users) in &companies {
        let (state, tenant, users, deadline) = (state.clone(), tenant.clone(), users.clone(), deadline.clone());
        jobs.push(tokio::spawn(async move {
            for n in 0..per_user {
                for &u in &users {
                    let input = NewTask {
                        title: format!("Hisobot {n} #{u}"),
                        description: String::new(),
                        assignee_id: u,
                        deadline: deadline.clone(),
                        start_at: None,
                        points: 1,
                        category_id: None,
                    };
                    idora::tasks::service::create(&state, &tenant, &Caller::System, input).await.expect("task");
                }
            }
        }));
    }
    for j in jobs {
        j.await.expect("tasks");
    }
    let expected = COMPANIES * USERS_PER_COMPANY * per_user;
    let queued: u64 = companies.iter().map(|(t, _, _)| idora::telegram::outbox::pending(t.db().unwrap()).unwrap().1).sum();
    println!(
        "setup: {COMPANIES} companies × {USERS_PER_COMPANY} linked users, {expected} notifications queued ({queued} in the outboxes) in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    assert_eq!(queued as usize, expected, "one Telegram delivery per notification");

    // Start the bots and time the drain.
    let start = Instant::now();
    for (tenant, cfg, _) in &companies {
        idora::bot::start(&state, tenant, cfg);
    }
    let tokens: Vec<String> = (0..COMPANIES).map(token).collect();
    let delivered =
        |tg: &FakeTelegram| -> usize { tokens.iter().map(|t| tg.sent(t).iter().filter(|m| m.text.contains("Hisobot")).count()).sum() };
    loop {
        let n = delivered(&tg);
        if n >= expected {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "only {n} of {expected} delivered in 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = start.elapsed();
    // Each user got each of theirs exactly once.
    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    for t in &tokens {
        for m in tg.sent(t).iter().filter(|m| m.text.contains("Hisobot")) {
            *per_chat.entry(m.chat_id).or_default() += 1;
        }
    }
    assert_eq!(per_chat.len(), COMPANIES * USERS_PER_COMPANY, "every linked user heard");
    assert!(per_chat.values().all(|&n| n == per_user), "each notification once");
    println!(
        "delivered {expected} notifications in {:.2} s: {:.0}/s across {COMPANIES} bots ({:.1}/s per bot, pace {per_bot}/s per bot, 1/s per chat)",
        took.as_secs_f64(),
        expected as f64 / took.as_secs_f64(),
        expected as f64 / took.as_secs_f64() / COMPANIES as f64
    );
    for (t, _, _) in &companies {
        state.bots.stop(&t.slug);
    }
}
