//! Client requests under load: filed through the real HTTP server into a
//! real database file, and the staff's list and search on a company that
//! has 100,000 of them.
//!
//! `cargo bench --bench requests` (add `-- --quick` for 10,000).
//! Setup: the demo company and three categories (one with a form of three
//! fields, one assigning itself round-robin to a team of five).
//! It prints:
//! - durable requests filed per second with 32 concurrent clients (each
//!   committed with its client record, thread, first message, history and
//!   notices before its 201), over bursts at each size;
//! - `GET /requests` p50/p99 for the dispatcher: the newest page, a status
//!   tab, a category, an assignee, "breached", and words (search);
//! - how many requests the SLA job has marked breached by then (one category
//!   has a one-minute first response);
//! - the process's resident memory (VmRSS, VmHWM).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::app::AppState;
use idora::config::Config;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CLIENTS: usize = 32;
const BURST: usize = 5_000;

const WORDS: [&str; 12] =
    ["karta", "kredit", "bankomat", "to‘lov", "depozit", "filial", "ilova", "sms", "limit", "valyuta", "hisob", "shikoyat"];
const NAMES: [&str; 8] = [
    "Aziz Karimov",
    "Дилноза Юсупова",
    "Bobur Aliyev",
    "Шахноза Рахимова",
    "Jasur Tursunov",
    "Нилуфар Каримова",
    "Otabek Qodirov",
    "Madina Saidova",
];

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn memory() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

async fn login(http: &reqwest::Client, base: &str, username: &str) -> String {
    let v: Value = http
        .post(format!("{base}/c/demo/api/v1/auth/login"))
        .json(&json!({"username": username, "password": idora::demo::PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    v["access_token"].as_str().unwrap_or_else(|| panic!("token for {username}: {v}")).to_string()
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = http.post(&url).bearer_auth(token).json(&body).send().await.expect("answers");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

/// Files `n` requests with 32 clients, starting at number `first`.
async fn file(http: &reqwest::Client, base: &str, token: &str, cats: &[u64], first: usize, n: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..CLIENTS {
        let (next, http, base, token, cats) = (next.clone(), http.clone(), base.to_string(), token.to_string(), cats.to_vec());
        handles.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let i = first + k;
                let cat = cats[i % cats.len()];
                let mut fields = serde_json::Map::new();
                if i.is_multiple_of(cats.len()) {
                    fields.insert("card_type".into(), json!(if i.is_multiple_of(2) { "uzcard" } else { "humo" }));
                    fields.insert("last4".into(), json!(format!("{:04}", i % 10_000)));
                }
                let body = json!({
                    "category_id": cat,
                    "subject": format!("{} {} {i}", WORDS[i % 12], WORDS[(i / 12) % 12]),
                    "text": format!("{} bo‘yicha murojaat, {}", WORDS[(i / 7) % 12], WORDS[(i / 5) % 12]),
                    "fields": fields,
                    // About one in three clients comes back with another request.
                    "client": {"name": NAMES[i % 8], "phone": format!("+99890{:07}", (i * 7) % 3_000_000)},
                });
                post(&http, format!("{base}/c/demo/api/v1/requests"), &token, body).await;
            }
        }));
    }
    for h in handles {
        h.await.expect("client finished");
    }
    started.elapsed()
}

async fn timed(http: &reqwest::Client, base: &str, token: &str, path: &str, rounds: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = http.get(format!("{base}{path}")).bearer_auth(token).send().await.expect("answers");
        assert_eq!(r.status(), 200, "{path}");
        let _: Value = r.json().await.expect("JSON");
        out.push(t.elapsed());
    }
    out.sort();
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &[1_000, 10_000] } else { &[1_000, 10_000, 100_000] };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        login_per_minute: 100_000,
        max_connections_per_address: 2_000,
        ..Config::default()
    };
    let state = AppState::open_default(config).expect("state");
    idora::demo::seed(&state).await.expect("demo");
    let tenant = state.tenants.get("demo").expect("demo company");
    let server = idora::web::server::start(state.clone()).await.expect("server");
    let base = server.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let admin = login(&http, &base, "admin").await;

    // Three categories: a form of three fields; round-robin to a team; plain.
    let users: Value = http.get(format!("{base}/c/demo/api/v1/users")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let team: Vec<u64> = users.as_array().expect("users").iter().filter_map(|u| u["id"].as_u64()).take(5).collect();
    let names = |uz: &str, ru: &str| json!({"uz": uz, "ru": ru, "en": ""});
    let card = post(
        &http,
        format!("{base}/c/demo/api/v1/request-categories"),
        &admin,
        json!({
            "names": names("Karta bloklandi", "Карта заблокирована"),
            "color": "#1f6feb",
            "icon": "card",
            "fields": [
                {"key": "card_type", "type": "choice", "labels": names("Karta turi", "Тип карты"), "required": true,
                 "options": [{"key": "uzcard", "labels": names("Uzcard", "")}, {"key": "humo", "labels": names("Humo", "")}]},
                {"key": "last4", "type": "text", "labels": names("Oxirgi 4 raqam", "Последние 4 цифры"), "required": true},
                {"key": "when", "type": "date", "labels": names("Qachon", "Когда"), "required": false}
            ],
            "team_ids": team, "auto_assign": true, "default_priority": "high",
            "sla": {"first_response_minutes": 30, "resolution_minutes": 480, "clock": "all_day"}
        }),
    )
    .await["id"]
        .as_u64()
        .expect("category");
    let loan = post(
        &http,
        format!("{base}/c/demo/api/v1/request-categories"),
        &admin,
        json!({"names": names("Kredit savoli", "Вопрос по кредиту"), "color": "#0a7d5a", "icon": "loan", "fields": [],
               "team_ids": team, "auto_assign": false, "sla": {"resolution_minutes": 1440, "clock": "all_day"}}),
    )
    .await["id"]
        .as_u64()
        .expect("category");
    let complaint = post(
        &http,
        format!("{base}/c/demo/api/v1/request-categories"),
        &admin,
        // A one-minute first response: the minute's job marks breaches (500 a
        // run) while the bench runs, so "breached" has something to find.
        json!({"names": names("Shikoyat", "Жалоба"), "color": "#b42318", "icon": "complaint", "fields": [], "team_ids": team, "auto_assign": true,
               "sla": {"first_response_minutes": 1, "clock": "all_day"}}),
    )
    .await["id"]
        .as_u64()
        .expect("category");
    let cats = [card, loan, complaint];

    println!(
        "| requests | filed/s (32 clients, {BURST} each burst) | list newest p50/p99 | status tab | category | assignee | breached (how many marked) | search p50/p99 | RSS / peak MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut made = 0;
    let first_filed = Instant::now();
    for &size in sizes {
        // Grow to `size - BURST` untimed in bursts, then time the last burst.
        while made + BURST < size {
            let n = (size - BURST - made).min(20_000);
            file(&http, &base, &admin, &cats, made, n).await;
            made += n;
        }
        let n = size - made;
        let took = file(&http, &base, &admin, &cats, made, n).await;
        made += n;
        let rate = n as f64 / took.as_secs_f64();
        state.search.get(&tenant).expect("index").flush().await;
        let rounds = 200;
        let assignee = team[0];
        let runs = [
            timed(&http, &base, &admin, "/c/demo/api/v1/requests?limit=50", rounds).await,
            timed(&http, &base, &admin, "/c/demo/api/v1/requests?status=new&status=assigned&limit=50", rounds).await,
            timed(&http, &base, &admin, &format!("/c/demo/api/v1/requests?category_id={loan}&limit=50"), rounds).await,
            timed(&http, &base, &admin, &format!("/c/demo/api/v1/requests?assignee_id={assignee}&limit=50"), rounds).await,
            timed(&http, &base, &admin, "/c/demo/api/v1/requests?breached=true&limit=50", rounds).await,
        ];
        let mut search = Vec::new();
        for w in ["karta", "кредит", "Aziz", "bankomat sms", "Дилноза"] {
            search.extend(timed(&http, &base, &admin, &format!("/c/demo/api/v1/requests?q={}&limit=50", urlencode(w)), rounds / 5).await);
        }
        search.sort();
        let breached: Value = http
            .get(format!("{base}/c/demo/api/v1/requests?breached=true&limit=200"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let marked = breached["items"].as_array().map(|a| a.len()).unwrap_or(0);
        let (rss, peak) = memory();
        let cells: Vec<String> = runs.iter().map(|r| format!("{} / {}", ms(pct(r, 0.5)), ms(pct(r, 0.99)))).collect();
        println!(
            "| {size} | {rate:.0} | {} | {} | {} | {} | {} ({marked}) | {} / {} | {rss:.0} / {peak:.0} |",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            ms(pct(&search, 0.5)),
            ms(pct(&search, 0.99))
        );
    }
    // The SLA job (run here by hand, as the minute's job runs it: at most
    // 500 a run) marks the one-minute category's late first responses.
    // The first ones' one-minute target must have passed.
    let wait = Duration::from_secs(65).saturating_sub(first_filed.elapsed());
    tokio::time::sleep(wait).await;
    let started = Instant::now();
    let mut marked = 0;
    while marked < 10_000 {
        let n = idora::requests::sla::mark_breaches(&state, &tenant).await.expect("breaches marked");
        if n == 0 {
            break;
        }
        marked += n;
    }
    let breached = timed(&http, &base, &admin, "/c/demo/api/v1/requests?breached=true&limit=50", 200).await;
    let breached_cat =
        timed(&http, &base, &admin, &format!("/c/demo/api/v1/requests?breached=true&category_id={complaint}&limit=50"), 200).await;
    println!(
        "\nafter the SLA job marked {marked} breaches ({:.1} s): breached p50/p99 {} / {}; breached in one category {} / {}",
        started.elapsed().as_secs_f64(),
        ms(pct(&breached, 0.5)),
        ms(pct(&breached, 0.99)),
        ms(pct(&breached_cat, 0.5)),
        ms(pct(&breached_cat, 0.99))
    );
    drop(server);
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
