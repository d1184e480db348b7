//! A company that grows: one company taken to 100,000 tasks through the real
//! HTTP server and a real database file, most of them given to one employee
//! (who never reads their notifications, so they pile up), measured at
//! 1,000, 10,000 and 100,000 tasks.
//!
//! `cargo bench --bench grow` (add `-- --quick` for 1,000 / 5,000 / 10,000).
//! At each size it prints:
//! - durable task creations per second with 16 concurrent clients (a burst
//!   of 2,000 creates started at that size);
//! - `GET /tasks` p50/p99 of the busy assignee's list (their own view, and
//!   the director's view filtered to them);
//! - `GET /notifications` p50/p99 of the busy assignee (unread count + page);
//! - `GET /search/tasks` p50/p99 on common words (each in ~1/8 of tasks);
//! - the process's resident memory (VmRSS, VmHWM): server and bench client
//!   share this process, so it is an upper bound of the server's.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::app::AppState;
use idora::config::Config;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WORDS: [&str; 16] = [
    "hisobot",
    "kassa",
    "kredit",
    "mijoz",
    "shartnoma",
    "tekshiruv",
    "to‘lov",
    "filial",
    "audit",
    "reja",
    "depozit",
    "karta",
    "ariza",
    "svod",
    "balans",
    "navbat",
];

/// Concurrent clients creating tasks.
const CLIENTS: usize = 16;
/// Creates timed at each size.
const BURST: usize = 2_000;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `VmRSS` and `VmHWM` of this process, in MB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

struct Bench {
    base: String,
    http: reqwest::Client,
    director: String,
    employee: String,
    /// The busy assignee (gets 9 tasks in 10).
    busy: u64,
    others: Vec<u64>,
    made: usize,
    /// Every task the bench created: (id, assignee).
    created: Arc<std::sync::Mutex<Vec<(u64, u64)>>>,
}

async fn login(http: &reqwest::Client, base: &str, username: &str) -> String {
    let login: Value = http
        .post(format!("{base}/c/demo/api/v1/auth/login"))
        .json(&json!({"username": username, "password": idora::demo::PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    login["access_token"].as_str().expect("token").to_string()
}

impl Bench {
    /// Creates `n` tasks with 16 clients; returns the time taken.
    async fn create(&mut self, n: usize) -> Duration {
        let first = self.made;
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..CLIENTS {
            let (next, http, base, token, busy, others, created) = (
                next.clone(),
                self.http.clone(),
                self.base.clone(),
                self.director.clone(),
                self.busy,
                self.others.clone(),
                self.created.clone(),
            );
            handles.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let i = first + k;
                    let assignee = if i.is_multiple_of(10) { others[(i / 10) % others.len()] } else { busy };
                    let body = json!({
                        "title": format!("{} {} {i}", WORDS[i % 16], WORDS[(i / 16) % 16]),
                        "description": format!("{} bo‘yicha ish {i}", WORDS[(i / 7) % 16]),
                        "assignee_id": assignee,
                        "deadline": "2030-06-01T18:00:00+05:00",
                        "points": (i % 10) as u32,
                    });
                    let r = http
                        .post(format!("{base}/c/demo/api/v1/tasks"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .expect("create answers");
                    assert_eq!(r.status(), 201, "task created");
                    let v: Value = r.json().await.expect("JSON");
                    created.lock().unwrap().push((v["id"].as_u64().expect("id"), assignee));
                }
            }));
        }
        for h in handles {
            h.await.expect("client finished");
        }
        self.made += n;
        started.elapsed()
    }

    async fn timed_gets(&self, paths: &[(String, &str)], rounds: usize) -> Vec<Duration> {
        let mut out = Vec::with_capacity(paths.len() * rounds);
        for _ in 0..rounds {
            for (p, token) in paths {
                let t = Instant::now();
                let r = self.http.get(format!("{}{p}", self.base)).bearer_auth(token).send().await.expect("answers");
                assert_eq!(r.status(), 200, "{p}");
                let _: Value = r.json().await.expect("JSON");
                out.push(t.elapsed());
            }
        }
        out.sort();
        out
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes: [usize; 3] = if quick { [1_000, 5_000, 10_000] } else { [1_000, 10_000, 100_000] };
    let (rss0, _) = memory();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        login_per_minute: 1000,
        ..Config::default()
    };
    // The company's history is written two years back and brought up to
    // now (phase two), so the clock is the bench's to move.
    let present = jiff::Timestamp::now();
    let start = present - jiff::SignedDuration::from_hours(24 * 730);
    let clock = Arc::new(idora::clock::ManualClock::new(start));
    let state = AppState::open(config, clock.clone()).expect("state");
    idora::demo::seed(&state).await.expect("demo");
    let server = idora::web::server::start(state).await.expect("server");
    let base = server.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let director = login(&http, &base, "director").await;
    let employee = login(&http, &base, "employee").await;
    let users: Value =
        http.get(format!("{base}/c/demo/api/v1/users")).bearer_auth(&director).send().await.expect("users").json().await.expect("JSON");
    let ids = |name: &str| users.as_array().expect("list").iter().find(|u| u["username"] == name).and_then(|u| u["id"].as_u64());
    let busy = ids("employee").expect("employee");
    let others: Vec<u64> = ["manager", "admin", "operator"].iter().filter_map(|n| ids(n)).collect();
    let mut b = Bench {
        base,
        http,
        director: director.clone(),
        employee: employee.clone(),
        busy,
        others,
        made: 0,
        created: Arc::new(std::sync::Mutex::new(Vec::new())),
    };
    let tenant = server.state.tenants.get("demo").expect("demo");

    println!(
        "machine: {} cores; {CLIENTS} clients; RSS before the server: {rss0:.1} MB",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let mut rows = Vec::new();
    for size in sizes {
        let grow = size - b.made;
        let took = b.create(grow).await;
        println!("grow to {size}: {grow} tasks in {:.2} s = {:.0}/s", took.as_secs_f64(), grow as f64 / took.as_secs_f64());

        // Reads at this size, after the index caught up.
        server.state.search.get(&tenant).expect("index").flush().await;
        let lists: Vec<(String, &str)> = vec![
            ("/c/demo/api/v1/tasks?limit=50".into(), b.employee.as_str()),
            (format!("/c/demo/api/v1/tasks?limit=50&assignee_id={busy}"), b.director.as_str()),
        ];
        let list = b.timed_gets(&lists, 100).await;
        let notes = b.timed_gets(&[("/c/demo/api/v1/notifications".into(), b.employee.as_str())], 100).await;
        let queries: Vec<(String, &str)> =
            WORDS.iter().map(|w| (format!("/c/demo/api/v1/search/tasks?q={}", urlencode(w)), b.director.as_str())).collect();
        let search = b.timed_gets(&queries, 10).await;
        let unread: Value = b
            .http
            .get(format!("{}/c/demo/api/v1/notifications", b.base))
            .bearer_auth(&b.employee)
            .send()
            .await
            .expect("notifications")
            .json()
            .await
            .expect("JSON");

        // Creates/s starting at this size.
        let took = b.create(BURST).await;
        let rate = BURST as f64 / took.as_secs_f64();
        server.state.search.get(&tenant).expect("index").flush().await;
        let (rss, hwm) = memory();
        println!(
            "at {size}: create {rate:.0}/s (durable, {BURST} by {CLIENTS} clients); list p50 {} p99 {} ({} requests); \
             notifications p50 {} p99 {} (unread {}); search p50 {} p99 {} ({} requests); RSS {rss:.1} MB (peak {hwm:.1} MB)",
            ms(pct(&list, 0.5)),
            ms(pct(&list, 0.99)),
            list.len(),
            ms(pct(&notes, 0.5)),
            ms(pct(&notes, 0.99)),
            unread["unread"],
            ms(pct(&search, 0.5)),
            ms(pct(&search, 0.99)),
            search.len(),
        );
        rows.push(format!(
            "| {size} | {rate:.0}/s | {} | {} | {} | {rss:.0} MB ({hwm:.0}) |",
            ms(pct(&list, 0.99)),
            ms(pct(&notes, 0.99)),
            ms(pct(&search, 0.99))
        ));
    }
    let db_size = std::fs::metadata(dir.path().join("tenants/demo/data.redb")).map(|m| m.len()).unwrap_or(0);
    println!("data.redb: {:.1} MB with {} tasks", db_size as f64 / 1e6, b.made);
    println!("| Tasks | Creates/s (16 clients) | List p99 | Notifications p99 | Search p99 | RSS (peak) |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    history(&b, &server.state, &clock, start, present, &users).await;
}

/// Signs every demo user in again (the clock moved: tokens are minted and
/// checked against it); username → bearer token.
async fn tokens(b: &Bench) -> std::collections::HashMap<&'static str, String> {
    let mut out = std::collections::HashMap::new();
    for name in ["owner", "director", "admin", "manager", "employee", "operator"] {
        out.insert(name, login(&b.http, &b.base, name).await);
    }
    out
}

/// Moves task `id` to `status` as the holder of `token`.
async fn step(http: &reqwest::Client, base: &str, token: &str, id: u64, status: &str) {
    let r = http
        .post(format!("{base}/c/demo/api/v1/tasks/{id}/status"))
        .bearer_auth(token)
        .json(&json!({"status": status}))
        .send()
        .await
        .expect("move answers");
    assert_eq!(r.status(), 200, "task {id} to {status}");
}

/// Phase two: the grown company's years. Nine tasks in ten are started,
/// handed in and completed by the director, spread over two years up to
/// now (so points fall in many weeks and months); of the open rest, some
/// wait for review, some for a director's approval, some are late. Then
/// each role's home dashboard (API and page), their badge and inbox
/// counts (`GET /me`) and their inbox lists are timed.
async fn history(
    b: &Bench,
    state: &AppState,
    clock: &idora::clock::ManualClock,
    start: jiff::Timestamp,
    present: jiff::Timestamp,
    users: &Value,
) {
    let created: Vec<(u64, u64)> = b.created.lock().unwrap().clone();
    let name_of = |id: u64| -> &'static str {
        let u = users.as_array().expect("list").iter().find(|u| u["id"].as_u64() == Some(id)).expect("user");
        match u["username"].as_str().expect("name") {
            "manager" => "manager",
            "admin" => "admin",
            "operator" => "operator",
            _ => "employee",
        }
    };
    let finish: Vec<(u64, &'static str)> =
        created.iter().enumerate().filter(|(i, _)| i % 10 != 9).map(|(_, (id, a))| (*id, name_of(*a))).collect();
    let open: Vec<(u64, &'static str)> =
        created.iter().enumerate().filter(|(i, _)| i % 10 == 9).map(|(_, (id, a))| (*id, name_of(*a))).collect();
    let chunks = 50;
    let span = present.duration_since(start).as_secs() / chunks as i64;
    let t0 = Instant::now();
    for (k, chunk) in finish.chunks(finish.len().div_ceil(chunks)).enumerate() {
        clock.set(start + jiff::SignedDuration::from_secs(span * (k as i64 + 1)) - jiff::SignedDuration::from_hours(24));
        let tok = Arc::new(tokens(b).await);
        let work = Arc::new(chunk.to_vec());
        let next = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..CLIENTS {
            let (tok, work, next, http, base) = (tok.clone(), work.clone(), next.clone(), b.http.clone(), b.base.clone());
            handles.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some((id, who)) = work.get(k).copied() else { break };
                    step(&http, &base, &tok[who], id, "in_progress").await;
                    step(&http, &base, &tok[who], id, "pending_review").await;
                    step(&http, &base, &tok["director"], id, "completed").await;
                }
            }));
        }
        for h in handles {
            h.await.expect("client finished");
        }
    }
    println!("history: {} tasks completed over two years in {:.1} s", finish.len(), t0.elapsed().as_secs_f64());

    // Today: some late, some handed in for review, some awaiting approval.
    clock.set(present - jiff::SignedDuration::from_hours(3));
    let tok = tokens(b).await;
    let deadline = (present - jiff::SignedDuration::from_hours(1)).to_string();
    for i in 0..100 {
        let assignee = if i % 2 == 0 { b.busy } else { b.others[0] };
        let r = b
            .http
            .post(format!("{}/c/demo/api/v1/tasks", b.base))
            .bearer_auth(&tok["director"])
            .json(&json!({"title": format!("kechikkan ish {i}"), "assignee_id": assignee, "deadline": deadline, "points": 3}))
            .send()
            .await
            .expect("create");
        assert_eq!(r.status(), 201);
    }
    clock.set(present);
    let tenant = state.tenants.get("demo").expect("demo");
    let late = idora::tasks::service::mark_overdue(state, &tenant).await.expect("overdue job");
    let tok = tokens(b).await;
    let review: Vec<(u64, &str)> = open.iter().copied().filter(|(_, w)| *w == "employee").take(300).collect();
    for (id, who) in &review {
        step(&b.http, &b.base, &tok[who], *id, "in_progress").await;
        step(&b.http, &b.base, &tok[who], *id, "pending_review").await;
    }
    let operator = users.as_array().expect("list").iter().find(|u| u["username"] == "operator").and_then(|u| u["id"].as_u64()).expect("op");
    for i in 0..40 {
        let r = b
            .http
            .post(format!("{}/c/demo/api/v1/tasks", b.base))
            .bearer_auth(&tok["manager"])
            .json(&json!({"title": format!("boshqa bo‘limga {i}"), "assignee_id": operator, "deadline": "2030-06-01T18:00:00+05:00"}))
            .send()
            .await
            .expect("create");
        assert_eq!(r.status(), 201);
    }
    let notes: Value = b
        .http
        .get(format!("{}/c/demo/api/v1/notifications", b.base))
        .bearer_auth(&tok["employee"])
        .send()
        .await
        .expect("notifications")
        .json()
        .await
        .expect("JSON");
    println!(
        "today: {late} late, {} handed in for review, 40 awaiting approval, {} open in all; the busy employee has {} unread",
        review.len(),
        open.len() + 140 - review.len(),
        notes["unread"]
    );

    // Each role's home, badge and inboxes.
    println!("| Role | Dashboard API p50 / p99 | Home page p50 / p99 | Badge (GET /me) p50 / p99 | Inbox list p50 / p99 |");
    println!("|---|---|---|---|---|");
    for role in ["owner", "director", "manager", "employee", "operator", "admin"] {
        let t = tok[role].as_str();
        let api = b.timed_gets(&[("/c/demo/api/v1/dashboard".into(), t)], 100).await;
        let page = timed_pages(b, "/c/demo/", t, 100).await;
        let me = b.timed_gets(&[("/c/demo/api/v1/me".into(), t)], 100).await;
        let inbox = match role {
            "owner" | "director" => Some("approval"),
            "manager" => Some("review"),
            _ => None,
        };
        let inbox = match inbox {
            Some(i) => {
                let d = b.timed_gets(&[(format!("/c/demo/api/v1/tasks?inbox={i}&limit=50"), t)], 100).await;
                format!("{} / {} ({i})", ms(pct(&d, 0.5)), ms(pct(&d, 0.99)))
            }
            None => "—".into(),
        };
        let counts: Value =
            b.http.get(format!("{}/c/demo/api/v1/me", b.base)).bearer_auth(t).send().await.expect("me").json().await.expect("JSON");
        println!(
            "| {role} (approval {}, review {}) | {} / {} | {} / {} | {} / {} | {inbox} |",
            counts["inbox"]["approval"],
            counts["inbox"]["review"],
            ms(pct(&api, 0.5)),
            ms(pct(&api, 0.99)),
            ms(pct(&page, 0.5)),
            ms(pct(&page, 0.99)),
            ms(pct(&me, 0.5)),
            ms(pct(&me, 0.99)),
        );
    }
}

/// `rounds` GETs of an HTML page, timed to the last byte.
async fn timed_pages(b: &Bench, path: &str, token: &str, rounds: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = b.http.get(format!("{}{path}", b.base)).bearer_auth(token).send().await.expect("answers");
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.expect("page");
        assert!(html.contains("</html>"), "a whole page");
        out.push(t.elapsed());
    }
    out.sort();
    out
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
