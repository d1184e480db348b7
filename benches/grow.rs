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
            let (next, http, base, token, busy, others) =
                (next.clone(), self.http.clone(), self.base.clone(), self.director.clone(), self.busy, self.others.clone());
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
    let state = AppState::open_default(config).expect("state");
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
    let mut b = Bench { base, http, director: director.clone(), employee: employee.clone(), busy, others, made: 0 };
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
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
