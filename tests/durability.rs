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
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
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
    let resp = http.post(url).json(&json!({"username": "boss", "password": "boss-password-1"})).send().await.expect("login answers");
    assert_eq!(resp.status(), 200, "company admin logs in");
    let body: Value = resp.json().await.expect("login JSON");
    body["access_token"].as_str().expect("access token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    create_platform_admin(&data);
    let (mut child, base) = spawn_server(&data);
    let http = reqwest::Client::new();

    // A company and its admin, through the platform API.
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
    let token = login(&http, &format!("{base}/c/kill-test/api/v1/auth/login")).await;

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
