//! Chat under load: messages posted through the real HTTP server into a
//! real database file while 500 WebSocket clients listen, and the time from
//! a post to its arrival on the recipient's sockets.
//!
//! `cargo bench --bench chat` (add `-- --quick` for fewer messages).
//! Setup: the demo company, 100 more colleagues, each with 5 open sockets
//! (500 in all: phones, tabs), 50 direct chats between pairs of them.
//! Then 16 concurrent senders post `MESSAGES` messages across the chats.
//! It prints messages/s (durable posts: each one committed before its 201)
//! and the p50/p99/max from the start of a post to its `chat.message`
//! arriving on each of the recipient's 5 sockets.
//!
//! Then files: 20 uploads of 50 MB at once (1 GB), each streamed over a raw
//! connection by the bench (so the client holds only a 64 KB chunk), and
//! the process's RSS before, at most during, and after.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use futures_util::StreamExt;
use idora::app::AppState;
use idora::config::Config;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const USERS: usize = 100;
const SOCKETS_PER_USER: usize = 5;
const SENDERS: usize = 16;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn login(http: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let v: Value = http
        .post(format!("{base}/c/demo/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    v["access_token"].as_str().unwrap_or_else(|| panic!("token for {username}: {v}")).to_string()
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let messages: usize = if quick { 2_000 } else { 20_000 };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        login_per_minute: 100_000,
        // Every client of the bench comes from 127.0.0.1.
        max_connections_per_address: 2_000,
        ..Config::default()
    };
    let state = AppState::open_default(config).expect("state");
    idora::demo::seed(&state).await.expect("demo");
    let server = idora::web::server::start(state).await.expect("server");
    let base = server.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let admin = login(&http, &base, "admin", idora::demo::PASSWORD).await;

    // 100 colleagues, signed in.
    let password = "chat-bench-Passw0rd";
    let mut people: Vec<(u64, String)> = Vec::new();
    for i in 0..USERS {
        let body = json!({"username": format!("c{i:03}"), "full_name": format!("Xodim {i}"), "role": "employee", "password": password});
        let r: Value = http
            .post(format!("{base}/c/demo/api/v1/users"))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .expect("user")
            .json()
            .await
            .expect("JSON");
        let id = r["id"].as_u64().unwrap_or_else(|| panic!("user created: {r}"));
        // Their own password, so that nothing stands between them and the chat.
        people.push((id, String::new()));
    }
    for (i, p) in people.iter_mut().enumerate() {
        p.1 = login(&http, &base, &format!("c{i:03}"), password).await;
        // Generated or not, a password set by an admin must be changed first.
        let r = http
            .post(format!("{base}/c/demo/api/v1/me/password"))
            .bearer_auth(&p.1)
            .json(&json!({"current_password": password, "new_password": format!("{password}-own")}))
            .send()
            .await
            .expect("password");
        if r.status().is_success() {
            p.1 = login(&http, &base, &format!("c{i:03}"), &format!("{password}-own")).await;
        }
    }

    // 50 direct chats: 0–1, 2–3, …
    let mut threads: Vec<(u64, usize, usize)> = Vec::new();
    for pair in 0..USERS / 2 {
        let (a, b) = (pair * 2, pair * 2 + 1);
        let r: Value = http
            .post(format!("{base}/c/demo/api/v1/threads"))
            .bearer_auth(&people[a].1)
            .json(&json!({"kind": "direct", "user_id": people[b].0}))
            .send()
            .await
            .expect("thread")
            .json()
            .await
            .expect("JSON");
        threads.push((r["id"].as_u64().unwrap_or_else(|| panic!("thread: {r}")), a, b));
    }

    // 500 sockets; each records when which message reached it.
    let sent: Arc<Mutex<HashMap<u64, (Instant, u64)>>> = Arc::default();
    let arrivals: Arc<Mutex<Vec<(u64, u64, Instant)>>> = Arc::default();
    let ready = Arc::new(AtomicUsize::new(0));
    for (user, token) in &people {
        for _ in 0..SOCKETS_PER_USER {
            let url = format!("{}/c/demo/api/v1/live", base.replace("http://", "ws://"));
            let mut req = url.into_client_request().expect("request");
            req.headers_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("socket");
            let (arrivals, ready, me) = (arrivals.clone(), ready.clone(), *user);
            tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    let Message::Text(t) = m else { continue };
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                    if v["kind"] == "hello" {
                        ready.fetch_add(1, Ordering::Relaxed);
                    } else if v["kind"] == "chat.message" {
                        let id = v["data"]["id"].as_u64().unwrap_or(0);
                        arrivals.lock().unwrap().push((id, me, Instant::now()));
                    }
                }
            });
        }
    }
    while ready.load(Ordering::Relaxed) < USERS * SOCKETS_PER_USER {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (rss_before, _) = memory();

    // Post.
    let next = Arc::new(AtomicUsize::new(0));
    let people = Arc::new(people);
    let threads = Arc::new(threads);
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..SENDERS {
        let (next, http, base, people, threads, sent) =
            (next.clone(), http.clone(), base.clone(), people.clone(), threads.clone(), sent.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= messages {
                    break;
                }
                let (thread, a, b) = threads[k % threads.len()];
                let (from, to) = if (k / threads.len()).is_multiple_of(2) { (a, b) } else { (b, a) };
                let t0 = Instant::now();
                let r = http
                    .post(format!("{base}/c/demo/api/v1/threads/{thread}/messages"))
                    .bearer_auth(&people[from].1)
                    .json(&json!({"text": format!("Xabar {k}: hisobot tayyormi?")}))
                    .send()
                    .await
                    .expect("post answers");
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.expect("JSON");
                // The push may land before this line; arrivals are matched at the end.
                sent.lock().unwrap().insert(v["id"].as_u64().expect("id"), (t0, people[to].0));
            }
        }));
    }
    for h in handles {
        h.await.expect("sender");
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_after, hwm) = memory();
    let sent = sent.lock().unwrap().clone();
    let mut lat: Vec<Duration> = arrivals
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(id, user, at)| sent.get(id).filter(|(_, to)| to == user).map(|(t0, _)| *at - *t0))
        .collect();
    lat.sort();
    let expected = messages * SOCKETS_PER_USER;
    println!(
        "machine: {} cores; {} sockets; {SENDERS} senders",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        USERS * SOCKETS_PER_USER
    );
    println!("posted {messages} messages in {:.2} s = {:.0} messages/s", took.as_secs_f64(), messages as f64 / took.as_secs_f64());
    if lat.is_empty() {
        println!("no deliveries measured");
    } else {
        println!(
            "post → recipient's sockets: {} deliveries measured of {expected}; p50 {} p99 {} max {}",
            lat.len(),
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            ms(*lat.last().unwrap())
        );
    }
    println!("RSS with 500 sockets: {rss_before:.1} MB before posting, {rss_after:.1} MB after; peak {hwm:.1} MB");

    // Files: 1 GB in 20 parallel uploads.
    let (rss0, _) = memory();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let (rss, _) = memory();
                peak.fetch_max((rss * 1024.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().expect("address");
    let started = Instant::now();
    let mut uploads = Vec::new();
    for i in 0..UPLOADS {
        let token = people[i % people.len()].1.clone();
        uploads.push(tokio::spawn(async move { upload(addr, &token, i).await }));
    }
    for u in uploads {
        assert_eq!(u.await.expect("upload task"), 201, "upload stored");
    }
    let took = started.elapsed();
    sampler.abort();
    let (rss1, _) = memory();
    let max = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    println!(
        "{UPLOADS} uploads of {} MB at once: {:.1} s ({:.0} MB/s); RSS {rss0:.1} MB before, {max:.1} MB at most (+{:.1} MB), {rss1:.1} MB after",
        UPLOAD_BYTES / 1_000_000,
        took.as_secs_f64(),
        (UPLOADS * UPLOAD_BYTES) as f64 / 1e6 / took.as_secs_f64(),
        max - rss0
    );
}

const UPLOADS: usize = 20;
const UPLOAD_BYTES: usize = 50_000_000;

/// One multipart upload written by hand in 64 KB chunks; returns the status.
async fn upload(addr: std::net::SocketAddr, token: &str, i: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let boundary = "idora-bench-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hisobot-{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let len = head.len() + UPLOAD_BYTES + tail.len();
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST /c/demo/api/v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("headers");
    s.write_all(head.as_bytes()).await.expect("part head");
    // Each file its own bytes (content is stored once: the same bytes twice would be one file).
    let mut chunk = vec![0u8; 64 * 1024];
    let mut sent = 0;
    let mut n: u64 = i as u64 + 1;
    while sent < UPLOAD_BYTES {
        for b in chunk.iter_mut() {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            *b = (n >> 56) as u8;
        }
        let take = chunk.len().min(UPLOAD_BYTES - sent);
        s.write_all(&chunk[..take]).await.expect("body");
        sent += take;
    }
    s.write_all(tail.as_bytes()).await.expect("tail");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
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
