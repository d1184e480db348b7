//! The real binary under faults and abuse. An HTTP 2xx means the write is
//! on disk: write from many clients at once, SIGKILL the process while
//! writes are still in flight, start it again and find every acknowledged
//! write. A flood of logins from one address costs bounded memory and does
//! not keep a real user from another address out.

// A test states what it expects by failing loudly: the crate's lints against
// unwrap, expect, panic and indexing are for the server's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_idora");

#[allow(dead_code)]
#[path = "it/support/telegram.rs"]
mod telegram;

/// Starts `idora serve` on a free port and returns the process and its URL,
/// read from the line it prints once it listens.
fn spawn_server(data: &Path) -> (Child, String) {
    spawn_server_with(data, &[])
}

/// [`spawn_server`] with more environment.
fn spawn_server_with(data: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("IDORA_LOG", "warn")
        .env("IDORA_LOGIN_PER_MINUTE", "1000")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("idora starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("idora prints its address");
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}")).to_string();
    (child, url)
}

fn create_platform_admin(data: &Path) {
    let mut child = Command::new(BIN)
        .args(["admin", "create", "--username", "root", "--password-stdin", "--data"])
        .arg(data)
        .env("IDORA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("idora admin create runs");
    child.stdin.take().expect("stdin is piped").write_all(b"root-password-1\n").expect("password is written");
    assert!(child.wait().expect("admin create ends").success(), "idora admin create failed");
}

async fn login(http: &reqwest::Client, url: &str) -> String {
    login_as(http, url, "boss", "boss-password-1").await
}

async fn login_as(http: &reqwest::Client, url: &str, username: &str, password: &str) -> String {
    let resp = http.post(url).json(&json!({"username": username, "password": password})).send().await.expect("login answers");
    assert_eq!(resp.status(), 200, "{username} logs in");
    let body: Value = resp.json().await.expect("login JSON");
    body["access_token"].as_str().expect("access token").to_string()
}

/// Creates and activates the company `kill-test` (admin `boss`) through
/// the platform API and returns the admin's access token.
async fn kill_test_company(http: &reqwest::Client, base: &str) -> String {
    let resp = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "root", "password": "root-password-1"}))
        .send()
        .await
        .expect("platform login answers");
    assert_eq!(resp.status(), 200);
    let platform_token = resp.json::<Value>().await.expect("JSON")["access_token"].as_str().expect("token").to_string();
    let resp = http
        .post(format!("{base}/api/v1/companies"))
        .bearer_auth(&platform_token)
        .json(&json!({"name": "Kill Test", "slug": "kill-test", "admin_username": "boss", "admin_password": "boss-password-1"}))
        .send()
        .await
        .expect("company creation answers");
    assert_eq!(resp.status(), 201);
    let resp = http.post(format!("{base}/api/v1/companies/kill-test/activate")).bearer_auth(&platform_token).json(&json!({})).send().await;
    assert_eq!(resp.expect("activation answers").status(), 200);
    login(http, &format!("{base}/c/kill-test/api/v1/auth/login")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server(&data);
    let http = reqwest::Client::new();
    let token = kill_test_company(&http, &base).await;

    // Eight clients create departments as fast as they can; each name is
    // remembered only once the server has answered 201.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (http, acked, stop, token) = (http.clone(), acked.clone(), stop.clone(), token.clone());
        let url = format!("{base}/c/kill-test/api/v1/departments");
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("Dept {w}-{i}");
                i += 1;
                match http.post(&url).bearer_auth(&token).json(&json!({"name": name})).send().await {
                    Ok(r) if r.status() == 201 => acked.lock().expect("lock").push(name),
                    Ok(r) => panic!("unexpected status {} while writing", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    // Let writes pile up, then kill the server in the middle of them.
    let started = std::time::Instant::now();
    while acked.lock().expect("lock").len() < 300 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL is sent");
    let acked_at_kill = acked.lock().expect("lock").len();
    child.wait().expect("the killed server is reaped");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker ends");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked_at_kill >= 300, "only {acked_at_kill} writes were acknowledged before the kill");

    // `idora check` opens every database after the crash.
    let check = Command::new(BIN).args(["check", "--data"]).arg(&data).env("IDORA_LOG", "warn").output().expect("check runs");
    assert!(check.status.success(), "idora check after kill: {}", String::from_utf8_lossy(&check.stdout));
    assert!(String::from_utf8_lossy(&check.stdout).contains("ok  tenants/kill-test/data.redb"));

    // Restart and find every acknowledged department.
    let (mut child, base) = spawn_server(&data);
    let token = login(&http, &format!("{base}/c/kill-test/api/v1/auth/login")).await;
    let resp = http.get(format!("{base}/c/kill-test/api/v1/departments")).bearer_auth(&token).send().await.expect("list answers");
    assert_eq!(resp.status(), 200);
    let listed: Vec<Value> = resp.json().await.expect("departments JSON");
    let names: std::collections::HashSet<&str> = listed.iter().filter_map(|d| d["name"].as_str()).collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !names.contains(n.as_str())).collect();
    child.kill().expect("server stops");
    let _ = child.wait();
    assert!(lost.is_empty(), "{} of {} acknowledged writes were lost, e.g. {:?}", lost.len(), acked.len(), &lost[..lost.len().min(5)]);
}

/// Reads an SSE stream until it ends, recording the id of every
/// `notification` event.
async fn collect_notifications(mut resp: reqwest::Response, seen: Arc<std::sync::Mutex<Vec<u64>>>) {
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l.strip_prefix("event:").map(str::trim) == Some("notification")) {
                continue;
            }
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
            let v: Value = serde_json::from_str(&data).expect("event data is JSON");
            seen.lock().expect("lock").push(v["data"]["id"].as_u64().expect("a notification id"));
        }
    }
}

/// Opens `user`'s live stream (their own topic) and starts collecting.
async fn listen(http: &reqwest::Client, base: &str, user: u64, token: &str) -> Arc<std::sync::Mutex<Vec<u64>>> {
    let topics = json!({"topics": [format!("user:{user}")]});
    let resp = http.post(format!("{base}/c/kill-test/api/v1/live/token")).bearer_auth(token).json(&topics).send().await;
    let live: Value = resp.expect("live token answers").json().await.expect("live token JSON");
    let url = live["events_url"].as_str().unwrap_or_else(|| panic!("no events_url in {live}"));
    let resp = http.get(format!("{base}{url}")).send().await.expect("the stream opens");
    assert_eq!(resp.status(), 200);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    tokio::spawn(collect_notifications(resp, seen.clone()));
    seen
}

async fn create_tasks(http: &reqwest::Client, base: &str, token: &str, assignee: u64, n: usize) {
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string();
    for i in 0..n {
        let body = json!({"title": format!("Vazifa {i}"), "assignee_id": assignee, "deadline": deadline});
        let resp = http.post(format!("{base}/c/kill-test/api/v1/tasks")).bearer_auth(token).json(&body).send().await.expect("answers");
        assert_eq!(resp.status(), 201, "task {i}: {}", resp.text().await.unwrap_or_default());
    }
}

async fn wait_for(seen: &std::sync::Mutex<Vec<u64>>, n: usize, within: Duration) {
    let started = std::time::Instant::now();
    while seen.lock().expect("lock").len() < n && started.elapsed() < within {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The notification outbox across `kill -9`: what was pushed before the
/// kill is not pushed again, and what was waiting is pushed once after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_outbox_delivers_once_across_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    // The outbox gathers bursts for 8 s: long enough to kill the server
    // while deliveries wait (even on a busy CI box), and to listen again
    // before they go out.
    let env = [("IDORA_NOTIFY_BATCH_MS", "8000")];
    let (mut child, base) = spawn_server_with(&data, &env);
    let http = reqwest::Client::new();
    let boss = kill_test_company(&http, &base).await;
    let users = format!("{base}/c/kill-test/api/v1/users");
    let mut ids = Vec::new();
    for (username, role) in [("rahbar", "director"), ("ali", "employee")] {
        let body = json!({"username": username, "full_name": username, "role": role, "password": "user-password-1"});
        let resp = http.post(&users).bearer_auth(&boss).json(&body).send().await.expect("answers");
        assert_eq!(resp.status(), 201);
        ids.push(resp.json::<Value>().await.expect("JSON")["id"].as_u64().expect("id"));
    }
    let login_url = format!("{base}/c/kill-test/api/v1/auth/login");
    let director = login_as(&http, &login_url, "rahbar", "user-password-1").await;
    let ali_token = login_as(&http, &login_url, "ali", "user-password-1").await;
    let ali = ids[1];

    // Ten tasks, their notices pushed to Ali's open page.
    let before = listen(&http, &base, ali, &ali_token).await;
    create_tasks(&http, &base, &director, ali, 10).await;
    wait_for(&before, 10, Duration::from_secs(20)).await;
    assert_eq!(before.lock().expect("lock").len(), 10, "the first ten notices are pushed");

    // Fifteen more, killed while their notices wait in the outbox (after
    // the company's due time reached the disk, within half a second).
    create_tasks(&http, &base, &director, ali, 15).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    child.kill().expect("SIGKILL is sent");
    child.wait().expect("the killed server is reaped");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before: Vec<u64> = before.lock().expect("lock").clone();
    assert_eq!(before.len(), 10, "nothing more was pushed before the kill");

    // Back up: Ali's page listens again before the outbox's 8 s are up.
    let (mut child, base) = spawn_server_with(&data, &env);
    let after = listen(&http, &base, ali, &ali_token).await;
    wait_for(&after, 15, Duration::from_secs(30)).await;
    // Anything sent twice would arrive with or soon after the rest.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after: Vec<u64> = after.lock().expect("lock").clone();

    let resp = http.get(format!("{base}/c/kill-test/api/v1/notifications")).bearer_auth(&ali_token).send().await;
    let listed: Value = resp.expect("answers").json().await.expect("JSON");
    child.kill().expect("server stops");
    let _ = child.wait();

    let mut stored: Vec<u64> = listed["items"].as_array().expect("a list").iter().map(|n| n["id"].as_u64().expect("id")).collect();
    stored.sort_unstable();
    assert_eq!(stored.len(), 25, "Ali has a notification per task: {listed}");
    let mut all: Vec<u64> = before.iter().chain(after.iter()).copied().collect();
    all.sort_unstable();
    assert_eq!(all, stored, "each notification pushed exactly once (before the kill: {before:?}, after: {after:?})");
}

/// The bot outbox across `kill -9`: 100 employees linked to the company's
/// bot are given 5 tasks each; the server is killed while their Telegram
/// notifications go out at the bot's pace, and started again. Every
/// notification reaches its employee's chat; what a crash cut off between
/// sending and recording is sent again (at most one pass's worth), never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn telegram_notifications_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let tg = telegram::FakeTelegram::start().await;
    let token = "4242:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDkill";
    tg.add_bot(token, "kill_test_bot");
    let api = tg.url();
    let env = [("IDORA_TELEGRAM_API_URL", api.as_str()), ("IDORA_TELEGRAM_PER_SECOND", "30"), ("IDORA_TELEGRAM_POLL_SECS", "2")];
    let (mut child, base) = spawn_server_with(&data, &env);
    let http = reqwest::Client::new();
    let boss = kill_test_company(&http, &base).await;
    let api_of = |path: &str| format!("{base}/c/kill-test/api/v1{path}");
    let resp = http.put(api_of("/telegram")).bearer_auth(&boss).json(&json!({"token": token})).send().await.expect("answers");
    assert_eq!(resp.status(), 200, "the bot connects");

    // 100 employees, each linked through a one-time code.
    let mut people = Vec::new();
    for i in 0..100 {
        let body =
            json!({"username": format!("x{i:03}"), "full_name": format!("Xodim {i}"), "role": "employee", "password": "user-password-1"});
        let resp = http.post(api_of("/users")).bearer_auth(&boss).json(&body).send().await.expect("answers");
        assert_eq!(resp.status(), 201);
        let id = resp.json::<Value>().await.expect("JSON")["id"].as_u64().expect("id");
        let resp =
            http.post(api_of(&format!("/users/{id}/telegram-link"))).bearer_auth(&boss).json(&json!({})).send().await.expect("answers");
        assert_eq!(resp.status(), 201);
        let code = resp.json::<Value>().await.expect("JSON")["code"].as_str().expect("code").to_string();
        let who = telegram::TgUser::new(70_000 + i, &format!("Xodim {i}"), "uz");
        tg.text(token, &who, &format!("/start {code}"));
        tg.wait_for(token, who.id, |m| m.text.contains("Idora"), Duration::from_secs(20)).await;
        people.push((id, who.id));
    }

    // 500 tasks from the director; the kill comes while their
    // notifications are going out.
    let body = json!({"username": "rahbar", "full_name": "Rahbar", "role": "director", "password": "user-password-1"});
    assert_eq!(http.post(api_of("/users")).bearer_auth(&boss).json(&body).send().await.expect("answers").status(), 201);
    let director = login_as(&http, &api_of("/auth/login"), "rahbar", "user-password-1").await;
    let deadline = "2030-01-01T12:00:00+05:00";
    for n in 0..5 {
        for (id, _) in &people {
            let body = json!({"title": format!("Hisobot {n}-{id}"), "assignee_id": id, "deadline": deadline});
            let resp = http.post(api_of("/tasks")).bearer_auth(&director).json(&body).send().await.expect("answers");
            assert_eq!(resp.status(), 201);
        }
    }
    let seen = |tg: &telegram::FakeTelegram| tg.sent(token).iter().filter(|m| m.text.contains("Hisobot")).count();
    let before = seen(&tg);
    assert!(before < 500, "the kill comes before every notification went out ({before} sent)");
    child.kill().expect("SIGKILL is sent");
    child.wait().expect("the killed server is reaped");

    let (mut child, _base) = spawn_server_with(&data, &env);
    let started = std::time::Instant::now();
    let all_there = |tg: &telegram::FakeTelegram| {
        let sent = tg.sent(token);
        people
            .iter()
            .all(|(id, chat)| (0..5).all(|n| sent.iter().any(|m| m.chat_id == *chat && m.text.contains(&format!("Hisobot {n}-{id}")))))
    };
    while !all_there(&tg) && started.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything sent twice would arrive with the rest.
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.kill().expect("server stops");
    let _ = child.wait();
    assert!(all_there(&tg), "every notification reached its chat ({} of 500 after {:?})", seen(&tg), started.elapsed());
    let twice = seen(&tg) - 500;
    eprintln!("telegram across kill -9: {before} sent before the kill, 500 in all, {twice} sent again");
    assert!(twice <= 60, "at most one claimed pass is sent again: {twice}");
}

/// The resident memory of a process, in bytes (`VmRSS`).
fn rss_bytes(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:")
}

/// The server's own memory: resident pages that are not file pages (the
/// debug binary's code alone is ~37 MB of file pages, which the release
/// build does not have and the kernel may drop at will).
fn anon_bytes(pid: u32) -> Option<u64> {
    status_kb(pid, "RssAnon:")
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Issue #9 item 1: 1,000 concurrent wrong-password logins from 127.0.0.1
/// (each a different made-up name, so each costs a password check, and the
/// rate limiter set high so it does not hide the flood) while the company's
/// admin signs in from 127.0.0.2. The admin gets in within 2 s, the flood
/// sees no 5xx but 503, and the server's RSS stays under 200 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_from_one_address_keeps_memory_bounded_and_lets_a_real_user_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    // 1,000 client connections: more than a default soft limit of 1,024 allows.
    raise_fd_limit();
    // Neither the login rate limit nor the per-address connection cap (256)
    // may hide the flood from the password checks this test is about.
    let env = [("IDORA_LOGIN_PER_MINUTE", "10000000"), ("IDORA_MAX_CONNECTIONS_PER_ADDRESS", "4000")];
    let (mut child, base) = spawn_server_with(&data, &env);
    let pid = child.id();
    let setup = reqwest::Client::new();
    kill_test_company(&setup, &base).await;
    let login_url = format!("{base}/c/kill-test/api/v1/auth/login");
    let start_rss = rss_bytes(pid).expect("the server's RSS");

    // The RSS, sampled every 10 ms while the flood lasts.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut max = 0;
            while !stop.load(Ordering::Relaxed) {
                max = max.max(rss_bytes(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            max
        })
    };

    let flood_client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 1]))
        .pool_max_idle_per_host(1000)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let statuses = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let mut flood = Vec::new();
    for w in 0..1000 {
        let (http, url, stop, statuses) = (flood_client.clone(), login_url.clone(), stop.clone(), statuses.clone());
        flood.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let body = json!({"username": format!("guess-{w}-{i}"), "password": "wrong-password"});
                match http.post(&url).json(&body).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        *statuses.lock().expect("lock").entry(status).or_default() += 1;
                        if status != 401 {
                            // Refused at once: ask again soon. (Not in a hot
                            // loop: this client shares the server's two cores,
                            // which an attacker's machine would not.)
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    Err(e) => panic!("the server dropped a flood request: {e}"),
                }
            }
        }));
    }
    // Let the flood build up, then the real user signs in from elsewhere.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let real = reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).build().expect("a client");
    let mut waits = Vec::new();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let resp = real.post(&login_url).json(&json!({"username": "boss", "password": "boss-password-1"})).send().await;
        let status = resp.expect("the real user's login answers").status();
        waits.push(t.elapsed());
        assert_eq!(status, 200, "the real user signs in during the flood");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.expect("a flood task");
    }
    let max_rss = sampler.join().expect("the sampler");
    let statuses = statuses.lock().expect("lock").clone();
    eprintln!(
        "login flood: RSS {:.1} MB at start, {:.1} MB at most; real user waited {waits:?}; flood answers {statuses:?}",
        start_rss as f64 / 1e6,
        max_rss as f64 / 1e6
    );
    let _ = child.kill();
    let _ = child.wait();

    assert!(waits.iter().all(|w| *w < Duration::from_secs(2)), "the real user waited {waits:?}");
    for (status, n) in &statuses {
        assert!(*status < 500 || *status == 503, "{n} flood logins answered {status}");
    }
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "some guesses were checked: {statuses:?}");
    assert!(max_rss < 200 * 1024 * 1024, "RSS reached {:.1} MB", max_rss as f64 / 1e6);
}

/// Memory does not grow with traffic: many requests without a metrics
/// scrape keep RSS within 10 MB, and a login burst's memory is given back
/// within a minute. `IDORA_SOAK_REQUESTS` sets the count (CI: 300,000; the
/// issue's 2,000,000 is a local run, see benches/RESULTS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_stays_flat_under_traffic_and_returns_after_a_login_burst() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    // The allocator as the systemd unit sets it (systemd/idora.service): the
    // memory measured is the memory a box runs with.
    let env = [("IDORA_LOGIN_PER_MINUTE", "1000000"), ("MALLOC_ARENA_MAX", "2"), ("MALLOC_MMAP_THRESHOLD_", "131072")];
    let (mut child, base) = spawn_server_with(&data, &env);
    let pid = child.id();
    let http = reqwest::Client::new();
    let boss = kill_test_company(&http, &base).await;
    let requests: usize = std::env::var("IDORA_SOAK_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);

    // Requests that the metrics record (a count and a latency sample each):
    // health checks and an authenticated list, from 8 clients.
    let run = |n: usize| {
        let (http, base, boss) = (http.clone(), base.clone(), boss.clone());
        async move {
            let mut workers = Vec::new();
            for w in 0..8 {
                let (http, base, boss) = (http.clone(), base.clone(), boss.clone());
                workers.push(tokio::spawn(async move {
                    for i in 0..n / 8 {
                        let resp = if i % 4 == w % 4 {
                            http.get(format!("{base}/c/kill-test/api/v1/departments")).bearer_auth(&boss).send().await
                        } else {
                            http.get(format!("{base}/healthz")).send().await
                        };
                        assert!(resp.expect("answers").status().is_success());
                    }
                }));
            }
            for w in workers {
                w.await.expect("worker ends");
            }
        }
    };
    run(20_000).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let start = rss_bytes(pid).expect("RSS");
    run(requests).await;
    // The recorder's upkeep runs every 5 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = rss_bytes(pid).expect("RSS");
    let grown = after.saturating_sub(start) as f64 / 1e6;
    assert!(grown < 10.0, "RSS grew {grown:.1} MB over {requests} requests ({:.1} → {:.1} MB)", start as f64 / 1e6, after as f64 / 1e6);

    // A burst of 200 logins, then at most a minute to fall under 64 MB.
    let url = format!("{base}/c/kill-test/api/v1/auth/login");
    let logins: Vec<_> = (0..200)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let body = json!({"username": format!("nobody-{i}"), "password": "wrong-password-1"});
                http.post(&url).json(&body).send().await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    // The bound is on the server's own memory (anonymous pages): a debug
    // binary's code pages grow with every feature and are not memory the
    // burst took (the total is printed beside it).
    let mut peak = 0;
    for l in logins {
        let status = l.await.expect("login task").expect("login answers");
        assert!(matches!(status, 401 | 429 | 503), "a wrong login answers {status}");
        peak = peak.max(anon_bytes(pid).unwrap_or(0));
    }
    let started = std::time::Instant::now();
    let mut now = anon_bytes(pid).expect("RSS");
    while now > 64_000_000 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        now = anon_bytes(pid).expect("RSS");
    }
    let total = rss_bytes(pid).expect("RSS");
    child.kill().expect("server stops");
    let _ = child.wait();
    eprintln!(
        "soak: {requests} requests, RSS {:.1} → {:.1} MB; login burst: own memory peak {:.1} MB, {:.1} MB {:.0} s later (RSS with the binary's pages {:.1} MB)",
        start as f64 / 1e6,
        after as f64 / 1e6,
        peak as f64 / 1e6,
        now as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        total as f64 / 1e6
    );
    assert!(
        now <= 64_000_000,
        "own memory still {:.1} MB a minute after the login burst (peak {:.1} MB)",
        now as f64 / 1e6,
        peak as f64 / 1e6
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` at `dir`, or says why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount cannot run: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A server process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes `path` until the filesystem is full.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler file");
    let chunk = vec![0x5au8; 64 * 1024];
    let mut written = 0u64;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    let _ = f.sync_all();
    written
}

/// A full disk is an outage only while it is full: the data folder on a
/// small tmpfs, filled until writes fail (507), then space freed; within
/// 30 s writes succeed again without a restart, and every acknowledged
/// write is there. Needs root (mount); without it the test says why and
/// passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_writes_until_space_is_freed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let _mount = match Tmpfs::mount(&data, "24m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED a_full_disk_refuses_writes_until_space_is_freed: cannot mount a small tmpfs ({why})");
            return;
        }
    };
    create_platform_admin(&data);
    let (child, base) = spawn_server(&data);
    let _server = Killed(child);
    let http = reqwest::Client::new();
    let token = kill_test_company(&http, &base).await;
    let url = format!("{base}/c/kill-test/api/v1/departments");

    let pad = "x".repeat(60);
    let mut acked = Vec::new();
    for i in 0..200 {
        let name = format!("Early {i} {pad}");
        let resp = http.post(&url).bearer_auth(&token).json(&json!({"name": name})).send().await.expect("answers");
        assert_eq!(resp.status(), 201);
        acked.push(name);
    }
    let filler = data.join("filler");
    fill(&filler);
    let mut refused = None;
    for i in 0..100_000 {
        let name = format!("Dept {i} {pad}");
        let resp = http.post(&url).bearer_auth(&token).json(&json!({"name": name})).send().await.expect("answers");
        match resp.status().as_u16() {
            201 => acked.push(name),
            status => {
                refused = Some((status, resp.text().await.unwrap_or_default()));
                break;
            }
        }
    }
    let (status, body) = refused.expect("writes fail once the disk is full");
    assert_eq!(status, 507, "a full disk is 507 storage_full: {body}");
    assert!(body.contains("storage_full") && body.contains("the disk is full"), "{body}");
    // While full: refused at once, and /readyz names the company and why.
    let resp = http.post(&url).bearer_auth(&token).json(&json!({"name": "refused"})).send().await.expect("answers");
    assert_eq!(resp.status(), 507);
    let resp = http.get(format!("{base}/readyz")).send().await.expect("answers");
    assert_eq!(resp.status(), 503);
    let ready = resp.text().await.unwrap_or_default();
    assert!(ready.contains("company kill-test") && ready.contains("the disk is full"), "{ready}");

    // Space is freed: within 30 s writes succeed again, no restart.
    std::fs::remove_file(&filler).expect("filler removed");
    let freed = std::time::Instant::now();
    let mut back = false;
    while freed.elapsed() < Duration::from_secs(30) {
        let resp = http.post(&url).bearer_auth(&token).json(&json!({"name": "after"})).send().await.expect("answers");
        if resp.status() == 201 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(back, "writes did not come back within 30 s of freeing space");
    eprintln!("{} writes acknowledged before the disk was full; writes back {:?} after space was freed", acked.len(), freed.elapsed());
    let resp = http.get(format!("{base}/readyz")).send().await.expect("answers");
    assert_eq!(resp.status(), 200, "ready again");

    let resp = http.get(&url).bearer_auth(&token).send().await.expect("list answers");
    assert_eq!(resp.status(), 200);
    let listed: Vec<Value> = resp.json().await.expect("departments JSON");
    let names: std::collections::HashSet<&str> = listed.iter().filter_map(|d| d["name"].as_str()).collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !names.contains(n.as_str())).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes were lost", lost.len(), acked.len());
    assert!(names.contains("after"));
}

/// Runs `idora serve` that must refuse to start: its exit status and what
/// it printed (stdout and stderr). Fails if it is still running after 20 s.
fn serve_refused(data: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("IDORA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("idora starts");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("output");
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            return (status, text);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("idora serve did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A damaged platform.redb stops start-up with a clear message, no panic
/// and no backtrace, and is left as it was.
#[test]
fn a_damaged_platform_file_stops_start_up_with_a_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let file = data.join("platform.redb");
    let mut bytes = std::fs::read(&file).expect("platform.redb");
    bytes[..15].copy_from_slice(b"NOT A REDB FILE");
    std::fs::write(&file, &bytes).expect("damaged");
    let (status, out) = serve_refused(&data);
    assert!(!status.success(), "{out}");
    assert!(out.contains("platform.redb cannot be used: the file is damaged") && out.contains("restore it from a backup"), "{out}");
    assert!(!out.contains("panicked") && !out.contains("stack backtrace"), "{out}");
    assert_eq!(std::fs::read(&file).expect("platform.redb"), bytes, "left as it was");
    // Zero bytes is no better.
    std::fs::write(&file, b"").expect("emptied");
    let (status, out) = serve_refused(&data);
    assert!(!status.success() && out.contains("the file is empty"), "{out}");
    assert_eq!(std::fs::metadata(&file).expect("platform.redb").len(), 0, "not made a new database");
}

/// A missing secret.key in a data folder with companies stops start-up
/// and says what a new key would invalidate; `--new-secret` accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_key_stops_start_up_until_a_new_one_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (child, base) = spawn_server(&data);
    let server = Killed(child);
    kill_test_company(&reqwest::Client::new(), &base).await;
    drop(server);
    std::fs::remove_file(data.join("secret.key")).expect("secret.key removed");

    let (status, out) = serve_refused(&data);
    assert!(!status.success(), "{out}");
    assert!(out.contains("secret.key is missing") && out.contains("1 company"), "{out}");
    assert!(out.contains("access token") && out.contains("calendar") && out.contains("--new-secret"), "{out}");
    assert!(!data.join("secret.key").exists(), "no key was made");

    let mut child = Command::new(BIN)
        .args(["serve", "--new-secret", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("IDORA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("idora starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a line");
    let _server = Killed(child);
    assert!(line.contains("listening"), "{line}");
    assert!(data.join("secret.key").exists(), "a new key was made");
}

/// Raises this process's soft descriptor limit to its hard limit (safely,
/// through rustix) and returns the soft limit now in force.
fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if let Some(max) = lim.maximum {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(max), maximum: Some(max) });
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}

/// Slow and idle clients cannot take the server down: thousands of
/// connections from one address that send half a request line (or nothing)
/// and hold on do not stop `/healthz` and a login from another address from
/// answering within a second, and a connection that never finishes its
/// headers is closed after the header timeout (10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_from_one_address_do_not_starve_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fds = raise_fd_limit();
    // As many as this process may hold, with room for the rest; at most 20,000.
    let n = fds.saturating_sub(1000).min(20_000) as usize;
    println!("holding {n} slow connections (descriptor limit {fds})");
    assert!(n >= 1000, "the descriptor limit ({fds}) is too low for this test");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server(&data);
    let http = reqwest::Client::new();
    kill_test_company(&http, &base).await;
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();

    // The slow crowd from 127.0.0.1: half a request line, or nothing at all.
    let mut held = Vec::with_capacity(n);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..n {
        batch.spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
            if i % 2 == 0 {
                let _ = s.write_all(b"GET /healthz HT").await;
            }
            Some(s)
        });
        if batch.len() >= 500 {
            while let Some(r) = batch.join_next().await {
                held.extend(r.unwrap());
            }
        }
    }
    while let Some(r) = batch.join_next().await {
        held.extend(r.unwrap());
    }
    assert!(held.len() > n / 2, "connected {} of {n}", held.len());
    // A byte more now and then, as a slow client would.
    for s in held.iter_mut().step_by(7) {
        let _ = s.write_all(b"T").await;
    }

    // Another address is served at once.
    let other =
        reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).timeout(Duration::from_secs(5)).build().unwrap();
    let t = std::time::Instant::now();
    let r = other.get(format!("{base}/healthz")).send().await.expect("healthz answers");
    assert_eq!(r.status(), 200);
    let healthz = t.elapsed();
    let t = std::time::Instant::now();
    login(&other, &format!("{base}/c/kill-test/api/v1/auth/login")).await;
    let signin = t.elapsed();
    println!("healthz in {healthz:?}, login in {signin:?}");
    assert!(healthz < Duration::from_secs(1), "healthz took {healthz:?}");
    assert!(signin < Duration::from_secs(1), "login took {signin:?}");

    // A connection that never completes its headers is closed after ~10 s.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.3:0".parse().unwrap()).unwrap();
    let mut slow = sock.connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let t = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    let after = t.elapsed();
    assert!(closed.is_ok(), "still open after 20 s");
    assert!(after >= Duration::from_secs(9) && after < Duration::from_secs(13), "closed after {after:?}");

    drop(held);
    child.kill().unwrap();
    let _ = child.wait();
}

/// The thread count of a process (`Threads` in `/proc/<pid>/status`).
fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("Threads:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap()
}

/// A data folder with the demo company and `n` copies of it (`co-0000`, …),
/// every branch open round the clock so that kiosks take tickets at any
/// hour. Returns a branch and a service id (the same in every copy).
async fn thousand_companies(data: &Path, n: usize) -> (u64, u64) {
    use idora::store::schema;
    use idora::store::{Db, DbOptions, migrate};
    let mut demo = Command::new(BIN)
        .args(["serve", "--demo", "--demo-bare", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("IDORA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("the demo prints its address").unwrap();
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            // The first address printed is a page: keep its origin.
            break url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::new();
    let co = format!("{base}/c/demo/api/v1");
    let token = login_as(&http, &format!("{base}/c/demo/api/v1/auth/login"), "admin", "idora-demo").await;
    let branches: Value = http.get(format!("{co}/branches")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let branches = branches.as_array().or_else(|| branches["items"].as_array()).unwrap().clone();
    for b in &branches {
        let r = http.patch(format!("{co}/branches/{}", b["id"])).bearer_auth(&token).json(&json!({"hours": null})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let services: Value = http.get(format!("{co}/services")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let services = services.as_array().or_else(|| services["items"].as_array()).unwrap().clone();
    let branch = branches[0]["id"].as_u64().unwrap();
    let service = services.iter().find(|s| s["branch_id"].as_u64().is_none_or(|b| b == branch)).unwrap()["id"].as_u64().unwrap();
    let _ = Command::new("kill").args(["-TERM", &demo.id().to_string()]).status();
    demo.wait().unwrap();

    let platform = Db::open(&data.join("platform.redb"), &migrate::PLATFORM, DbOptions::default()).unwrap();
    let template = data.join("tenants/demo/data.redb");
    let slugs: Vec<String> = (0..n).map(|i| format!("co-{i:04}")).collect();
    for slug in &slugs {
        let dir = data.join("tenants").join(slug);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&template, dir.join("data.redb")).unwrap();
    }
    platform
        .write(move |tx| {
            let mut companies = schema::COMPANIES.open(tx)?;
            let info = companies.get("demo")?.expect("the demo company is registered");
            let mut due = tx.open_table(idora::tenancy::COMPANY_DUE).map_err(idora::store::store_err)?;
            use redb::ReadableTable;
            let demo_due = due.get("demo").map_err(idora::store::store_err)?.map(|v| v.value()).unwrap_or(i64::MAX);
            for slug in &slugs {
                let mut copy = info.clone();
                copy.name = format!("{slug} Bank");
                companies.insert(slug.as_str(), &copy)?;
                due.insert(slug.as_str(), demo_due).map_err(idora::store::store_err)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    (branch, service)
}

/// Issue #9 item 6: a thousand companies on one box. Started, it is ready
/// at once with no company open and few threads; two hundred companies'
/// kiosks taking tickets at the same moment all succeed (each company's
/// writer starts on its first write, its search worker on its first task
/// change), and once they are quiet again the threads are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_companies_cost_no_thread_while_idle_and_two_hundred_work_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (branch, service) = thousand_companies(data, 999).await;
    let started = std::time::Instant::now();
    // Two hundred kiosks are two hundred addresses: here they all connect
    // from 127.0.0.1, as through a trusted proxy that names each. The
    // allocator is tuned as for a glibc build run by hand (benches/RESULTS.md;
    // the packaged static build brings its own).
    let env = [
        ("IDORA_IDLE_SECS", "2"),
        ("IDORA_TRUSTED_PROXIES", "127.0.0.1"),
        ("IDORA_MAX_CONNECTIONS_PER_ADDRESS", "2000"),
        ("MALLOC_ARENA_MAX", "2"),
        ("MALLOC_MMAP_THRESHOLD_", "131072"),
    ];
    let (mut child, base) = spawn_server_with(data, &env);
    let http = reqwest::Client::new();
    loop {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready = started.elapsed();
    let pid = child.id();
    let body: Value = http.get(format!("{base}/readyz")).send().await.unwrap().json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle_threads, idle_rss) = (threads(pid), rss_bytes(pid).unwrap());
    println!(
        "1,000 companies: ready in {} ms, databases open {}, {idle_threads} threads, RSS {} MB",
        ready.as_millis(),
        body["databases_open"],
        idle_rss >> 20
    );
    assert!(idle_threads < 60, "idle with 1,000 companies: {idle_threads} threads");
    assert!(idle_rss < 150 << 20, "idle with 1,000 companies: RSS {} MB", idle_rss >> 20);

    // Two hundred kiosks, each in its own company, take a ticket at once;
    // ten directors add a task and find it.
    let mut kiosks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let base = base.clone();
        kiosks.spawn(async move {
            let from = reqwest::header::HeaderMap::from_iter([(
                reqwest::header::HeaderName::from_static("x-forwarded-for"),
                format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().unwrap(),
            )]);
            let kiosk = reqwest::Client::builder().cookie_store(true).default_headers(from).build().unwrap();
            let c = format!("{base}/c/co-{i:04}");
            let html = kiosk.get(format!("{c}/kiosk/{branch}")).send().await.unwrap().text().await.unwrap();
            let at = html.find("data-csrf=\"").expect("the kiosk page carries a CSRF token") + "data-csrf=\"".len();
            let csrf = html[at..].split('"').next().unwrap().to_string();
            let body = json!({"service_id": service, "source": "kiosk"});
            let r =
                kiosk.post(format!("{c}/api/v1/branches/{branch}/tickets")).header("x-csrf-token", csrf).json(&body).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        });
    }
    let mut directors = tokio::task::JoinSet::new();
    for i in 0..10 {
        let base = base.clone();
        directors.spawn(async move {
            let from = reqwest::header::HeaderMap::from_iter([(
                reqwest::header::HeaderName::from_static("x-forwarded-for"),
                format!("10.1.0.{}", i + 1).parse().unwrap(),
            )]);
            let http = reqwest::Client::builder().default_headers(from).build().unwrap();
            let c = format!("{base}/c/co-{i:04}");
            let token = login_as(&http, &format!("{c}/api/v1/auth/login"), "director", "idora-demo").await;
            let me: Value = http.get(format!("{c}/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
            let title = format!("Kassa hisoboti {i}");
            let task = json!({"title": title, "assignee_id": me["id"], "deadline": "2030-01-01T12:00:00Z"});
            let r = http.post(format!("{c}/api/v1/tasks")).bearer_auth(&token).json(&task).send().await.unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            // The index catches up in the background.
            for _ in 0..100 {
                let found: Value = http
                    .get(format!("{c}/api/v1/search/tasks"))
                    .query(&[("q", title.as_str())])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if found.to_string().contains(&title) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("co-{i:04}: the new task is never found");
        });
    }
    let mut busiest = 0;
    while let Some(done) = kiosks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 201, "a kiosk ticket: {body}");
        busiest = busiest.max(threads(pid));
    }
    while let Some(done) = directors.join_next().await {
        done.unwrap();
    }
    let body: Value = http.get(format!("{base}/readyz")).send().await.unwrap().json().await.unwrap();
    println!("200 companies at once: all served; {busiest} threads at most; databases open {}", body["databases_open"]);

    // Quiet again: every writer and index worker stops after its idle time.
    let mut left = threads(pid);
    for _ in 0..100 {
        left = threads(pid);
        if left < 60 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("after 2 s quiet: {left} threads, RSS {} MB", rss_bytes(pid).unwrap() >> 20);
    assert!(left < 60, "200 companies quiet again: {left} threads");
    // Quiet for longer: their files are closed too (the platform's stays).
    let mut open = 0;
    for _ in 0..100 {
        let body: Value = http.get(format!("{base}/readyz")).send().await.unwrap().json().await.unwrap();
        open = body["databases_open"].as_u64().unwrap();
        if open == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("files closed: {open} open, {} threads, RSS {} MB", threads(pid), rss_bytes(pid).unwrap() >> 20);
    assert_eq!(open, 1, "every quiet company's file is closed");
    let rss = rss_bytes(pid).unwrap();
    assert!(rss < 150 << 20, "200 companies used and quiet again: RSS {} MB", rss >> 20);

    // A company whose file was closed opens it again and writes (its second ticket).
    let kiosk = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let c = format!("{base}/c/co-0000");
    let html = kiosk.get(format!("{c}/kiosk/{branch}")).send().await.unwrap().text().await.unwrap();
    let at = html.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let r = kiosk
        .post(format!("{c}/api/v1/branches/{branch}/tickets"))
        .header("x-csrf-token", csrf)
        .json(&json!({"service_id": service, "source": "kiosk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    assert!(t["number"].as_str().unwrap().ends_with("002"), "the company's second ticket today: {t}");
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends `GET /healthz` on `s` and reads one response: its status line and
/// headers (lower-cased), or `None` if the connection closed or failed.
async fn healthz_on(s: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: idora\r\n\r\n").await.ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        let Some(end) = text.find("\r\n\r\n") else { continue };
        let head = text[..end].to_ascii_lowercase();
        let body = &got[end + 4..];
        let done = match head.lines().find_map(|l| l.strip_prefix("content-length:")) {
            Some(len) => body.len() >= len.trim().parse::<usize>().unwrap(),
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if done {
            return Some(head);
        }
    }
}

/// How long `s` stays open (reading and dropping whatever comes), if it
/// closes within `limit`.
async fn closes_after(s: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let t = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await
    .ok()?;
    Some(t.elapsed())
}

/// A kept-alive connection may idle for `keep_alive_secs` between requests
/// (3 s here) and is closed after it, while a request's headers must come
/// within `header_timeout_secs` (1 s here) of its first byte, on a new
/// connection of its accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_outlives_the_header_timeout_but_slow_headers_do_not() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server_with(&data, &[("IDORA_KEEP_ALIVE_SECS", "3"), ("IDORA_HEADER_TIMEOUT_SECS", "1")]);
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let second = Duration::from_secs(1);

    let idle = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(healthz_on(&mut s).await.expect("first request").starts_with("http/1.1 200"));
        // Idle for twice the header timeout, well within the keep-alive.
        tokio::time::sleep(2 * second).await;
        let again = healthz_on(&mut s).await.expect("the idle connection is still open after 2 s");
        assert!(again.starts_with("http/1.1 200"), "{again}");
        let after = closes_after(&mut s, 10 * second).await.expect("an idle connection is closed");
        assert!(after >= 2 * second && after < 5 * second, "idle connection closed after {after:?}, not ~3 s");
    };
    let half_header_new = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let after = closes_after(&mut s, 10 * second).await.expect("a half header is closed");
        assert!(after >= second / 2 && after < 5 * second / 2, "half a header closed after {after:?}, not ~1 s");
    };
    let half_header_after_idle = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(healthz_on(&mut s).await.expect("first request").starts_with("http/1.1 200"));
        tokio::time::sleep(second).await;
        // The next request's header timer starts at its first byte.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
        let after = closes_after(&mut s, 10 * second).await.expect("a half header is closed");
        assert!(after >= second / 2 && after < 2 * second, "half a header after idling closed after {after:?}, not ~1 s");
    };
    let silent = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let after = closes_after(&mut s, 10 * second).await.expect("a silent connection is closed");
        assert!(after >= second / 2 && after < 5 * second / 2, "a silent connection closed after {after:?}, not ~1 s");
    };
    tokio::join!(idle, half_header_new, half_header_after_idle, silent);

    child.kill().unwrap();
    let _ = child.wait();
}

/// A connection over the per-address cap is answered 503 with
/// `Retry-After` and closed without its request being read, while another
/// address is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_cap_is_answered_503_with_retry_after() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server_with(&data, &[("IDORA_MAX_CONNECTIONS_PER_ADDRESS", "2")]);
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();

    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(healthz_on(&mut s).await.expect("within the cap").starts_with("http/1.1 200"));
        held.push(s);
    }
    let mut over = TcpStream::connect(addr).await.unwrap();
    over.write_all(b"GET /healthz HTTP/1.1\r\nHost: idora\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), over.read_to_end(&mut answer)).await.expect("answered and closed").unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 503 "), "{answer}");
    assert!(head.contains("\r\nretry-after: 5\r\n"), "{answer}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{answer}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["kind"], "unavailable", "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty(), "{body}");

    // Another address has its own share.
    let other =
        reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, 2])).timeout(Duration::from_secs(5)).build().unwrap();
    assert_eq!(other.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);

    // A place given back is a place for the next connection.
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head = healthz_on(&mut s).await.unwrap_or_default();
        if head.starts_with("http/1.1 200") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the place is not given back: {head}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    child.kill().unwrap();
    let _ = child.wait();
}

/// Uploads `bytes` as `name` to company `kill-test`; the answer's status
/// and JSON (an error when the connection broke).
async fn upload_file(http: &reqwest::Client, base: &str, token: &str, name: &str, bytes: Vec<u8>) -> Result<(u16, Value), reqwest::Error> {
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    let r = http.post(format!("{base}/c/kill-test/api/v1/files")).bearer_auth(token).multipart(form).send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

async fn set_file_limit(http: &reqwest::Client, base: &str, token: &str, mb: u64) {
    let r = http.put(format!("{base}/c/kill-test/api/v1/company")).bearer_auth(token).json(&json!({"file_limit_mb": mb})).send().await;
    assert_eq!(r.expect("settings answer").status(), 200);
}

/// Issue #11: a 200 MB upload is streamed to disk, never held whole: the
/// server's RSS grows by less than 32 MB while it arrives, and the file
/// comes back byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_200_mb_upload_keeps_memory_flat() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (child, base) = spawn_server(&data);
    let child = Killed(child);
    let pid = child.0.id();
    let http = reqwest::Client::new();
    let token = kill_test_company(&http, &base).await;
    set_file_limit(&http, &base, &token, 300).await;
    // Warm up (the first upload allocates what every upload reuses).
    let (s, _) = upload_file(&http, &base, &token, "warm.bin", vec![1u8; 4 << 20]).await.expect("warm-up upload");
    assert_eq!(s, 201);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let size = 200usize << 20;
    let content: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    let start = rss_bytes(pid).expect("RSS");
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut max = 0;
            while !stop.load(Ordering::Relaxed) {
                max = max.max(rss_bytes(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(5));
            }
            max
        })
    };
    let (s, body) = upload_file(&http, &base, &token, "big.bin", content.clone()).await.expect("the upload answers");
    stop.store(true, Ordering::Relaxed);
    let max = sampler.join().expect("sampler");
    assert_eq!(s, 201, "{body}");
    let grown = max.saturating_sub(start) as f64 / 1e6;
    println!("200 MB upload: RSS {:.1} MB at start, {:.1} MB at most (+{grown:.1} MB)", start as f64 / 1e6, max as f64 / 1e6);
    assert!(max.saturating_sub(start) < 32 << 20, "RSS grew {grown:.1} MB during a 200 MB upload");
    let id = body["id"].as_u64().expect("id");
    let r = http.get(format!("{base}/c/kill-test/api/v1/files/{id}")).bearer_auth(&token).send().await.expect("download");
    assert_eq!(r.status(), 200);
    let back = r.bytes().await.expect("bytes");
    assert!(back.len() == size && back.as_ref() == content.as_slice(), "the file comes back as it was");
}

/// Issue #11: `kill -9` in the middle of an upload leaves no record of it,
/// no temp file after the restart, and every recorded file readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_an_upload_leaves_no_record_and_no_garbage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server(&data);
    let http = reqwest::Client::new();
    let token = kill_test_company(&http, &base).await;
    set_file_limit(&http, &base, &token, 1000).await;
    let (s, done) = upload_file(&http, &base, &token, "done.txt", b"acknowledged before the kill".to_vec()).await.expect("upload");
    assert_eq!(s, 201);
    let done_id = done["id"].as_u64().expect("id");

    let tmp = data.join("tenants/kill-test/files/tmp");
    let big = vec![9u8; 600 << 20];
    let upload = tokio::spawn({
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move { upload_file(&http, &base, &token, "cut.bin", big).await }
    });
    // Kill once the upload is well under way.
    let started = std::time::Instant::now();
    loop {
        let written: u64 =
            std::fs::read_dir(&tmp).map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0);
        if written > 20 << 20 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the upload never got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let cut = upload.await.expect("the upload task ends");
    assert!(cut.is_err() || cut.as_ref().is_ok_and(|(s, _)| *s != 201), "the cut upload was not acknowledged: {cut:?}");
    assert!(std::fs::read_dir(&tmp).expect("tmp").next().is_some(), "the kill left a temp file (the test's premise)");

    let check = Command::new(BIN).args(["check", "--deep", "--data"]).arg(&data).env("IDORA_LOG", "warn").output().expect("check runs");
    assert!(check.status.success(), "idora check --deep after kill: {}", String::from_utf8_lossy(&check.stdout));

    let (child, base) = spawn_server(&data);
    let _child = Killed(child);
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0, "temp files of the cut upload are removed on start");
    let token = login(&http, &format!("{base}/c/kill-test/api/v1/auth/login")).await;
    let r = http.get(format!("{base}/c/kill-test/api/v1/files/{done_id}")).bearer_auth(&token).send().await.expect("download");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), b"acknowledged before the kill");
    // The cut upload has no record: the next id was never given out.
    let r = http.get(format!("{base}/c/kill-test/api/v1/files/{}", done_id + 1)).bearer_auth(&token).send().await.expect("answer");
    assert_eq!(r.status(), 404);
    // And nothing but the one file's content is stored.
    let stored: Vec<_> = std::fs::read_dir(data.join("tenants/kill-test/files"))
        .expect("files")
        .flatten()
        .filter(|e| e.file_name() != "tmp")
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
}
