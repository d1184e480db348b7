//! Task throughput and latency, measured through HTTP against a real server
//! with a real database file on this machine.
//!
//! `cargo bench --bench tasks` (add `-- --quick` for a smaller run).
//! Prints the figures that go into `benches/RESULTS.md`:
//! - durable task creations per second (64 concurrent clients);
//! - `GET /tasks` p50/p99 with 100,000 tasks in the company;
//! - `GET /search/tasks` p50/p99 with 200,000 tasks.

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

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Bench {
    base: String,
    http: reqwest::Client,
    token: String,
    assignees: Vec<u64>,
}

impl Bench {
    async fn create_many(&self, n: usize, clients: usize) -> Duration {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..clients {
            let (next, http, base, token, assignees) =
                (next.clone(), self.http.clone(), self.base.clone(), self.token.clone(), self.assignees.clone());
            handles.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let title = format!("{} {} {i}", WORDS[i % 16], WORDS[(i / 16) % 16]);
                    let body = json!({
                        "title": title,
                        "description": format!("{} bo‘yicha ish {i}", WORDS[(i / 7) % 16]),
                        "assignee_id": assignees[i % assignees.len()],
                        "deadline": "2027-06-01T18:00:00+05:00",
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
        started.elapsed()
    }

    async fn timed_gets(&self, paths: &[String], rounds: usize) -> Vec<Duration> {
        let mut out = Vec::with_capacity(paths.len() * rounds);
        for _ in 0..rounds {
            for p in paths {
                let t = Instant::now();
                let r = self.http.get(format!("{}{p}", self.base)).bearer_auth(&self.token).send().await.expect("answers");
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
    let (list_at, search_at) = if quick { (10_000, 20_000) } else { (100_000, 200_000) };
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
    let http = reqwest::Client::builder().pool_max_idle_per_host(128).build().expect("client");
    let login: Value = http
        .post(format!("{base}/c/demo/api/v1/auth/login"))
        .json(&json!({"username": "director", "password": "idora-demo"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    let token = login["access_token"].as_str().expect("token").to_string();
    let users: Value =
        http.get(format!("{base}/c/demo/api/v1/users")).bearer_auth(&token).send().await.expect("users").json().await.expect("JSON");
    let assignees: Vec<u64> = users.as_array().expect("list").iter().filter_map(|u| u["id"].as_u64()).collect();
    let b = Bench { base, http, token, assignees };

    println!("machine: {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));

    // 1. Creation throughput: every 201 is durable (group-committed).
    let n = if quick { 2_000 } else { 10_000 };
    let took = b.create_many(n, 64).await;
    println!("create: {n} tasks by 64 clients in {:.2} s = {:.0} tasks/s (durable)", took.as_secs_f64(), n as f64 / took.as_secs_f64());

    // 2. List latency with `list_at` tasks.
    let have = n;
    b.create_many(list_at - have, 64).await;
    let mut paths: Vec<String> = vec!["/c/demo/api/v1/tasks?limit=50".into()];
    for a in &b.assignees {
        paths.push(format!("/c/demo/api/v1/tasks?limit=50&assignee_id={a}"));
    }
    paths.push("/c/demo/api/v1/tasks?limit=50&status=new".into());
    let lat = b.timed_gets(&paths, 60).await;
    println!("list ({list_at} tasks, {} requests): p50 {} p99 {}", lat.len(), ms(pct(&lat, 0.5)), ms(pct(&lat, 0.99)));

    // 3. Search latency with `search_at` tasks.
    b.create_many(search_at - list_at, 64).await;
    // Let the index catch up before measuring.
    let state = server.state.clone();
    let tenant = state.tenants.get("demo").expect("demo");
    state.search.get(&tenant).expect("index").flush().await;
    let mut queries: Vec<String> = Vec::new();
    for w in WORDS {
        queries.push(format!("/c/demo/api/v1/search/tasks?q={}", urlencode(w)));
    }
    queries.push("/c/demo/api/v1/search/tasks?q=kassa%20kredit".into());
    queries.push("/c/demo/api/v1/search/tasks?assignee=Bekzod".into());
    queries.push(format!("/c/demo/api/v1/search/tasks?q={}&status=new", urlencode("ҳисобот")));
    let lat = b.timed_gets(&queries, 20).await;
    println!("search ({search_at} tasks, {} requests): p50 {} p99 {}", lat.len(), ms(pct(&lat, 0.5)), ms(pct(&lat, 0.99)));
    let db_size = std::fs::metadata(dir.path().join("tenants/demo/data.redb")).map(|m| m.len()).unwrap_or(0);
    println!("data.redb: {:.1} MB", db_size as f64 / 1e6);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
