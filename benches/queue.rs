//! Queue throughput and live latency, measured through HTTP against a real
//! server with a real database file on this machine.
//!
//! `cargo bench --bench queue` (add `-- --quick` for a smaller run). Needs
//! about 2,200 open files (1,000 SSE connections, both ends in this process):
//! run `ulimit -n 4096` first if the limit is lower; the bench checks.
//!
//! Prints the figures that go into `benches/RESULTS.md`:
//! - durable tickets issued per second (64 concurrent clients), with p50/p99
//!   of the `POST …/tickets`; then the cost of `call-next` once the branch has
//!   had that many tickets in the day;
//! - call → display latency: 1,000 SSE clients on a branch's display stream;
//!   for each call, the time from just before `POST /operator/call-next` until
//!   each client has received that ticket's `ticket.called` event.
//!
//! Tickets are taken as staff (`walk_in`, the `operator` user's bearer
//! token): public kiosk tickets are rate-limited per client address
//! (120/min), and every bench client has the same address.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::app::AppState;
use idora::config::Config;
use idora::web::server::Running;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// Display clients in the call → display measurement.
const DISPLAYS: usize = 1_000;
/// Concurrent ticket-taking clients.
const CLIENTS: usize = 64;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The soft limit on open files, from `/proc/self/limits` (Linux).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A demo server on a random port with its own temporary data folder, the
/// operator's token, the operator's branch (window 1), both branches and the
/// four demo services.
struct Demo {
    server: Running,
    dir: tempfile::TempDir,
    base: String,
    http: reqwest::Client,
    operator: String,
    home: u64,
    branches: Vec<u64>,
    services: Vec<u64>,
}

async fn json_of(r: reqwest::Response, what: &str) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"))
}

async fn get_json(http: &reqwest::Client, url: String, token: &str) -> Value {
    let r = http.get(&url).bearer_auth(token).send().await.expect("GET answers");
    json_of(r, &url).await
}

async fn login(http: &reqwest::Client, base: &str, username: &str) -> String {
    let r = http
        .post(format!("{base}/c/demo/api/v1/auth/login"))
        .json(&json!({"username": username, "password": idora::demo::PASSWORD}))
        .send()
        .await
        .expect("login answers");
    json_of(r, "login").await["access_token"].as_str().expect("access token").to_string()
}

impl Demo {
    async fn start() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            login_per_minute: 1000,
            // Every client of the bench (1,000 display streams among them) comes from 127.0.0.1.
            max_connections_per_address: 4_000,
            ..Config::default()
        };
        let state = AppState::open_default(config).expect("state");
        idora::demo::seed(&state).await.expect("demo");
        let server = idora::web::server::start(state).await.expect("server");
        let base = server.url();
        let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");

        // The demo branches keep office hours (closed at night and at the
        // weekend); the bench makes them always open.
        let admin = login(&http, &base, "admin").await;
        let list = get_json(&http, format!("{base}/c/demo/api/v1/branches"), &admin).await;
        let branches: Vec<u64> = list.as_array().expect("list").iter().filter_map(|b| b["id"].as_u64()).collect();
        assert_eq!(branches.len(), 2, "the demo has two branches");
        for b in &branches {
            let r = http
                .patch(format!("{base}/c/demo/api/v1/branches/{b}"))
                .bearer_auth(&admin)
                .json(&json!({"hours": null}))
                .send()
                .await
                .expect("patch branch");
            json_of(r, "open the branch").await;
        }

        let operator = login(&http, &base, "operator").await;
        let list = get_json(&http, format!("{base}/c/demo/api/v1/services"), &operator).await;
        let services: Vec<u64> = list.as_array().expect("list").iter().filter_map(|s| s["id"].as_u64()).collect();
        assert_eq!(services.len(), idora::demo::QUEUE_SERVICES.len(), "the demo's queue services");
        let ops = get_json(&http, format!("{base}/c/demo/api/v1/operators"), &operator).await;
        let me = ops.as_array().expect("list").iter().find(|o| o["window"] == 1).expect("the operator at window 1");
        let home = me["branch_id"].as_u64().expect("branch id");
        Demo { server, dir, base, http, operator, home, branches, services }
    }

    /// Takes `n` walk-in tickets with `clients` concurrent clients, spread
    /// over `branches` and every service. Returns the elapsed time, each
    /// request's latency, and when each request finished (since the start).
    async fn issue_many(&self, n: usize, clients: usize, branches: &[u64]) -> (Duration, Vec<Duration>, Vec<Duration>) {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..clients {
            let (next, http, base, token, branches, services) =
                (next.clone(), self.http.clone(), self.base.clone(), self.operator.clone(), branches.to_vec(), self.services.clone());
            handles.push(tokio::spawn(async move {
                let (mut lat, mut done) = (Vec::new(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let branch = branches[i % branches.len()];
                    let service = services[(i / branches.len()) % services.len()];
                    let t = Instant::now();
                    let r = http
                        .post(format!("{base}/c/demo/api/v1/branches/{branch}/tickets"))
                        .bearer_auth(&token)
                        .json(&json!({"service_id": service, "source": "walk_in"}))
                        .send()
                        .await
                        .expect("ticket answers");
                    let status = r.status();
                    if status != 201 {
                        panic!("ticket: {status} {}", r.text().await.unwrap_or_default());
                    }
                    // The whole answer, as a kiosk would read it.
                    let _ = r.bytes().await.expect("body");
                    lat.push(t.elapsed());
                    done.push(started.elapsed());
                }
                (lat, done)
            }));
        }
        let (mut lat, mut done) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for h in handles {
            let (l, d) = h.await.expect("client finished");
            lat.extend(l);
            done.extend(d);
        }
        let took = started.elapsed();
        lat.sort();
        done.sort();
        (took, lat, done)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}/c/demo/api/v1{path}", self.base)).bearer_auth(&self.operator)
    }

    /// `call-next`: the called ticket's id and number, `None` when nobody waits.
    async fn call_next(&self) -> Option<(u64, String)> {
        let r = self.post("/operator/call-next").send().await.expect("call-next answers");
        if r.status() == 204 {
            return None;
        }
        let v = json_of(r, "call-next").await;
        Some((v["ticket"]["id"].as_u64().expect("id"), v["ticket"]["number"].as_str().expect("number").to_string()))
    }

    async fn no_show(&self, id: u64) {
        let r = self.post(&format!("/tickets/{id}/no-show")).send().await.expect("no-show answers");
        json_of(r, "no-show").await;
    }
}

/// What a display client saw: a `ticket.called` or `ticket.changed` event
/// for a number, and when its bytes arrived.
struct Seen {
    called: bool,
    number: String,
    at: Instant,
}

/// One display board: reads the SSE stream, reports `ready` once, then every
/// `ticket.called` / `ticket.changed` event with the time its chunk arrived.
async fn display(http: reqwest::Client, url: String, ready: mpsc::UnboundedSender<()>, seen: mpsc::UnboundedSender<Seen>) {
    let mut r = http.get(&url).send().await.expect("display connects");
    assert_eq!(r.status(), 200, "display stream");
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = r.chunk().await.expect("display stream reads") {
        let at = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block);
            let (mut event, mut data) = ("", String::new());
            for line in text.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            match event {
                "ready" => {
                    let _ = ready.send(());
                }
                "ticket.called" | "ticket.changed" => {
                    let v: Value = serde_json::from_str(&data).expect("event data is JSON");
                    let number = v["data"]["number"].as_str().expect("number").to_string();
                    if seen.send(Seen { called: event == "ticket.called", number, at }).is_err() {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Waits until every display has seen `number` (`called` or changed);
/// returns when each saw it.
async fn wait_all(rx: &mut mpsc::UnboundedReceiver<Seen>, number: &str, called: bool) -> Vec<Instant> {
    let mut out = Vec::with_capacity(DISPLAYS);
    while out.len() < DISPLAYS {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(s)) => {
                assert!(s.number == number, "an event for {} while waiting for {number}", s.number);
                if s.called == called {
                    out.push(s.at);
                }
            }
            Ok(None) => panic!("display clients are gone"),
            Err(_) => {
                panic!("only {} of {DISPLAYS} displays saw {number} ({}) within 10 s", out.len(), if called { "called" } else { "changed" })
            }
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let need = (2 * DISPLAYS + 200) as u64;
    match open_file_limit() {
        Some(n) if n < need => {
            eprintln!("The open-file limit is {n}; this bench needs about {need} (1,000 SSE connections, both ends in this process).");
            eprintln!("Raise it and run again:  ulimit -n 4096 && cargo bench --bench queue");
            std::process::exit(2);
        }
        Some(n) => println!("open-file limit: {n}"),
        None => println!("open-file limit: unknown (no /proc/self/limits); needs about {need}"),
    }
    println!("machine: {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));

    // 1. Tickets per second: every 201 is durable (group-committed).
    let n = if quick { 2_000 } else { 10_000 };
    let demo = Demo::start().await;
    let (took, lat, done) = demo.issue_many(n, CLIENTS, &demo.branches).await;
    println!(
        "issue: {n} tickets ({} per branch) by {CLIENTS} clients in {:.2} s = {:.0} tickets/s (durable); POST p50 {} p99 {}",
        n / demo.branches.len(),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99))
    );
    // Throughput as the day fills up: each thousand tickets, in completion order.
    let mut per = Vec::new();
    let mut prev = Duration::ZERO;
    for chunk in done.chunks(1_000) {
        let last = *chunk.last().expect("non-empty");
        per.push(format!("{:.0}", chunk.len() as f64 / (last - prev).as_secs_f64()));
        prev = last;
    }
    println!("issue: tickets/s per 1,000 in order: {}", per.join(" "));
    // What a call costs once the branch has had that many tickets today.
    let mut calls = Vec::new();
    for _ in 0..if quick { 20 } else { 50 } {
        let t = Instant::now();
        let (id, _) = demo.call_next().await.expect("someone waits");
        calls.push(t.elapsed());
        demo.no_show(id).await;
    }
    calls.sort();
    println!(
        "call-next with {} tickets at the branch today ({} calls, one at a time): p50 {} p99 {}",
        n / demo.branches.len(),
        calls.len(),
        ms(pct(&calls, 0.5)),
        ms(pct(&calls, 0.99))
    );
    let db_size = std::fs::metadata(demo.dir.path().join("tenants/demo/data.redb")).map(|m| m.len()).unwrap_or(0);
    println!("data.redb: {:.1} MB", db_size as f64 / 1e6);
    stop(demo).await;

    // 2. Call → display with 1,000 display clients, on a fresh company.
    let rounds = if quick { 30 } else { 200 };
    let warmup = 5;
    let demo = Demo::start().await;
    let home = demo.home;
    // The queue: enough waiting tickets at the operator's branch for every call.
    demo.issue_many(rounds + warmup, 8, &[home]).await;

    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let sse_http = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let url = format!("{}/c/demo/display/{home}/events", demo.base);
    let opening = Arc::new(Semaphore::new(64));
    let t = Instant::now();
    let mut displays = Vec::new();
    for _ in 0..DISPLAYS {
        let permit = opening.clone().acquire_owned().await.expect("semaphore");
        let (http, url, ready, seen) = (sse_http.clone(), url.clone(), ready_tx.clone(), seen_tx.clone());
        let (one_tx, mut one_rx) = mpsc::unbounded_channel();
        displays.push(tokio::spawn(display(http, url, one_tx, seen)));
        tokio::spawn(async move {
            if one_rx.recv().await.is_some() {
                let _ = ready.send(());
            }
            drop(permit);
        });
    }
    drop((ready_tx, seen_tx));
    for i in 0..DISPLAYS {
        match tokio::time::timeout(Duration::from_secs(30), ready_rx.recv()).await {
            Ok(Some(())) => {}
            _ => panic!("only {i} of {DISPLAYS} displays became ready"),
        }
    }
    println!("displays: {DISPLAYS} SSE clients ready in {}", ms(t.elapsed()));

    let mut all = Vec::with_capacity(rounds * DISPLAYS);
    let mut last = Vec::with_capacity(rounds);
    let mut rtt = Vec::with_capacity(rounds);
    for round in 0..rounds + warmup {
        let t0 = Instant::now();
        let Some((id, number)) = demo.call_next().await else {
            panic!("nobody waits at call {round} (did the company's day change during the run?)");
        };
        let answered = t0.elapsed();
        let got = wait_all(&mut seen_rx, &number, true).await;
        if round >= warmup {
            rtt.push(answered);
            let lats: Vec<Duration> = got.iter().map(|at| at.saturating_duration_since(t0)).collect();
            last.push(*lats.iter().max().expect("displays"));
            all.extend(lats);
        }
        // Done with this customer; wait until every board has heard it, so
        // that each call starts from a quiet stream.
        demo.no_show(id).await;
        wait_all(&mut seen_rx, &number, false).await;
    }
    all.sort();
    last.sort();
    rtt.sort();
    println!(
        "call → display ({rounds} calls × {DISPLAYS} clients = {} pairs): p50 {} p99 {} max {}",
        all.len(),
        ms(pct(&all, 0.5)),
        ms(pct(&all, 0.99)),
        ms(*all.last().expect("pairs"))
    );
    println!(
        "call → last display per call: p50 {} p99 {} max {}",
        ms(pct(&last, 0.5)),
        ms(pct(&last, 0.99)),
        ms(*last.last().expect("calls"))
    );
    println!(
        "call-next answer (round trip, {} waiting at the start): p50 {} p99 {}",
        rounds + warmup,
        ms(pct(&rtt, 0.5)),
        ms(pct(&rtt, 0.99))
    );
    for d in displays {
        d.abort();
    }
    stop(demo).await;
}

/// Stops a server (waiting at most a few seconds for open streams to close).
async fn stop(demo: Demo) {
    let Demo { server, dir, .. } = demo;
    let _ = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;
    drop(dir);
}
