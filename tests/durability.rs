//! An HTTP 2xx means the write is on disk: run the real binary, write from
//! many clients at once, SIGKILL the process while writes are still in
//! flight, start it again and find every acknowledged write.

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
        .envs(env.iter().copied())
        .env("IDORA_LOG", "warn")
        .env("IDORA_LOGIN_PER_MINUTE", "1000")
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
