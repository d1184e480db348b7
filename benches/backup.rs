//! An online backup of a big company while it keeps working: the demo company
//! grown to 100,000 tasks and 10,000 queue tickets through the real HTTP
//! server and a real database file, then backed up (`ops::backup::backup_all`,
//! what `idora backup` and the schedule run) while a client makes 200 task
//! creations a second, each acknowledged only once durable.
//!
//! `cargo bench --bench backup` (add `-- --quick` for 10,000 tasks and 1,000
//! tickets). Prints:
//! - the backup's time and the archive's size (against the database files');
//! - the writes' latency (p50, p99, max, and how many took over 50 ms) in the
//!   10 s before the backup and while it ran: the backup reads one snapshot
//!   and never holds the writer, so the two should look alike;
//! - the verification and the restore (into an empty folder) times.
//!
//! The load is an open loop: a write starts every 5 ms whether or not the
//! previous one has answered, so a stall shows in the latencies instead of
//! hiding in a slower rate.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::app::AppState;
use idora::config::Config;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent clients while the company is grown.
const CLIENTS: usize = 16;
/// Writes a second during the measurement.
const RATE: u64 = 200;
/// A write this slow counts as held up.
const SLOW: Duration = Duration::from_millis(50);

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn size_of(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(md) = e.metadata() else { continue };
        total += if md.is_dir() { size_of(&e.path()) } else { md.len() };
    }
    total
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

/// `n` POSTs of `body(i)` to `path` by [`CLIENTS`] clients.
async fn fill(http: &reqwest::Client, url: String, token: &str, n: usize, body: Arc<dyn Fn(usize) -> Value + Send + Sync>) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..CLIENTS {
        let (next, http, url, token, body) = (next.clone(), http.clone(), url.clone(), token.to_string(), body.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = http.post(&url).bearer_auth(&token).json(&body(i)).send().await.expect("answers");
                let status = r.status();
                if status != 201 {
                    panic!("{url}: {status} {}", r.text().await.unwrap_or_default());
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("client finished");
    }
    started.elapsed()
}

/// One write of the load: when it started (since the load began) and how long it took.
type Sample = (Duration, Duration);

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (tasks, tickets) = if quick { (10_000, 1_000) } else { (100_000, 10_000) };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config =
        Config { data_dir: data.clone(), listen: "127.0.0.1:0".parse().expect("addr"), login_per_minute: 1000, ..Config::default() };
    let state = AppState::open_default(config).expect("state");
    idora::demo::seed(&state).await.expect("demo");
    let server = idora::web::server::start(state).await.expect("server");
    let state = server.state.clone();
    let base = server.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let director = login(&http, &base, "director").await;
    let admin = login(&http, &base, "admin").await;
    let operator = login(&http, &base, "operator").await;
    let users: Value =
        http.get(format!("{base}/c/demo/api/v1/users")).bearer_auth(&director).send().await.expect("users").json().await.expect("JSON");
    let assignees: Vec<u64> = users
        .as_array()
        .expect("list")
        .iter()
        .filter(|u| ["employee", "manager", "operator"].contains(&u["username"].as_str().unwrap_or("")))
        .filter_map(|u| u["id"].as_u64())
        .collect();

    // ---- the company grown (bulk: the flush deferred to the end) ----
    let tenant = state.tenants.get(idora::demo::SLUG).expect("demo company");
    tenant.db().expect("db").set_bulk(true).await.expect("bulk");
    let a = assignees.clone();
    let took = fill(
        &http,
        format!("{base}/c/demo/api/v1/tasks"),
        &director,
        tasks,
        Arc::new(move |i| {
            json!({"title": format!("hisobot kassa {i}"), "description": format!("filial bo‘yicha ish {i}"),
                   "assignee_id": a[i % a.len()], "deadline": "2030-06-01T18:00:00+05:00", "points": (i % 10) as u32})
        }),
    )
    .await;
    println!("grown: {tasks} tasks in {:.1} s", took.as_secs_f64());
    let branches: Value =
        http.get(format!("{base}/c/demo/api/v1/branches")).bearer_auth(&admin).send().await.expect("branches").json().await.expect("JSON");
    let branches: Vec<u64> = branches.as_array().expect("list").iter().filter_map(|b| b["id"].as_u64()).collect();
    for b in &branches {
        let r = http
            .patch(format!("{base}/c/demo/api/v1/branches/{b}"))
            .bearer_auth(&admin)
            .json(&json!({"hours": null}))
            .send()
            .await
            .expect("patch");
        assert!(r.status().is_success(), "branch opened");
    }
    let services: Value = http
        .get(format!("{base}/c/demo/api/v1/services"))
        .bearer_auth(&operator)
        .send()
        .await
        .expect("services")
        .json()
        .await
        .expect("JSON");
    let services: Vec<u64> = services.as_array().expect("list").iter().filter_map(|s| s["id"].as_u64()).collect();
    let mut took = Duration::ZERO;
    for (k, b) in branches.iter().enumerate() {
        let s = services.clone();
        let n = tickets / branches.len() + usize::from(k < tickets % branches.len());
        took += fill(
            &http,
            format!("{base}/c/demo/api/v1/branches/{b}/tickets"),
            &operator,
            n,
            Arc::new(move |i| json!({"service_id": s[i % s.len()], "source": "walk_in"})),
        )
        .await;
    }
    println!("grown: {tickets} tickets in {:.1} s", took.as_secs_f64());
    tenant.db().expect("db").set_bulk(false).await.expect("bulk off");
    let db_bytes = std::fs::metadata(tenant.db_path()).expect("data.redb").len()
        + std::fs::metadata(data.join("platform.redb")).expect("platform").len();

    // ---- the load: 200 durable writes a second, open loop ----
    let stop = Arc::new(AtomicBool::new(false));
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let load_start = Instant::now();
    let load = {
        let (stop, samples, http, base, director, a) =
            (stop.clone(), samples.clone(), http.clone(), base.clone(), director.clone(), assignees.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut i = 0usize;
            let mut inflight = tokio::task::JoinSet::new();
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                i += 1;
                let (http, url, token, samples) = (http.clone(), format!("{base}/c/demo/api/v1/tasks"), director.clone(), samples.clone());
                let body = json!({"title": format!("yuk {i}"), "assignee_id": a[i % a.len()], "deadline": "2030-06-01T18:00:00+05:00", "points": 1});
                inflight.spawn(async move {
                    let at = load_start.elapsed();
                    let t = Instant::now();
                    let r = http.post(url).bearer_auth(token).json(&body).send().await.expect("answers");
                    assert_eq!(r.status(), 201, "load write");
                    let _ = r.bytes().await;
                    samples.lock().unwrap().push((at, t.elapsed()));
                });
                while inflight.try_join_next().is_some() {}
            }
            while inflight.join_next().await.is_some() {}
        })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    let out = dir.path().join("box.tar.zst");
    let b0 = load_start.elapsed();
    let t = Instant::now();
    let manifest = idora::ops::backup::backup_all(&state, &out).await.expect("backup");
    let backup_took = t.elapsed();
    let b1 = load_start.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.expect("load");
    let archive = std::fs::metadata(&out).expect("archive").len();

    let samples = samples.lock().unwrap().clone();
    let window = |from: Duration, to: Duration| {
        let mut v: Vec<Duration> = samples.iter().filter(|(at, _)| *at >= from && *at < to).map(|(_, l)| *l).collect();
        v.sort();
        v
    };
    let before = window(b0.saturating_sub(Duration::from_secs(10)), b0);
    let during = window(b0, b1);
    let say = |name: &str, v: &[Duration]| {
        println!(
            "writes {name}: {} at {:.0}/s; p50 {} p99 {} max {}; over 50 ms: {}",
            v.len(),
            v.len() as f64 / if name == "before" { 10.0 } else { (b1 - b0).as_secs_f64().max(0.001) },
            ms(pct(v, 0.5)),
            ms(pct(v, 0.99)),
            ms(v.last().copied().unwrap_or_default()),
            v.iter().filter(|l| **l > SLOW).count()
        )
    };
    println!(
        "backup: {} entries, databases {} → archive {} in {:.2} s",
        manifest.entries.len(),
        mb(db_bytes),
        mb(archive),
        backup_took.as_secs_f64()
    );
    say("before", &before);
    say("during", &during);

    let t = Instant::now();
    let o = out.clone();
    tokio::task::spawn_blocking(move || idora::ops::archive::verify(&o)).await.expect("verify").expect("whole");
    println!("verify: {:.2} s", t.elapsed().as_secs_f64());
    let target = dir.path().join("restored");
    let t = Instant::now();
    let (o, d) = (out.clone(), target.clone());
    tokio::task::spawn_blocking(move || idora::ops::backup::restore(&o, &d, false)).await.expect("restore").expect("restored");
    println!("restore: {:.2} s into an empty folder ({} written)", t.elapsed().as_secs_f64(), mb(size_of(&target)));
    server.shutdown().await.expect("shutdown");
}
