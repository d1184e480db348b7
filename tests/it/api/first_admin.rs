//! A new box's first platform admin, through the real binary: `idora serve`
//! on an empty data folder creates `admin` with a random password, logs it
//! once and keeps it in `initial-admin-password` (0600) until the first
//! sign-in; a second start creates nothing.

use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `idora serve`; its log (stdout) so far.
struct Serving {
    child: Child,
    out: BufReader<ChildStdout>,
    url: String,
    log: String,
}

/// `idora serve` on `data`, as a service starts it, once it listens.
fn serve(data: &Path) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idora"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("IDORA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("idora starts");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut s = Serving { child, out, url: String::new(), log: String::new() };
    while s.url.is_empty() {
        let mut line = String::new();
        assert!(s.out.read_line(&mut line).unwrap() > 0, "idora ended before it listened:\n{}", s.log);
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            s.url = url.to_string();
        }
        s.log.push_str(&line);
    }
    s
}

impl Serving {
    /// Stops the server; all it logged.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.out.read_to_string(&mut self.log).unwrap();
        self.log
    }
}

async fn login(http: &reqwest::Client, url: &str, password: &str) -> reqwest::StatusCode {
    http.post(format!("{url}/api/v1/auth/login")).json(&json!({"username": "admin", "password": password})).send().await.unwrap().status()
}

#[tokio::test]
async fn a_new_box_gets_an_admin_whose_password_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = data.join("initial-admin-password");
    let http = reqwest::Client::new();

    let server = serve(&data);
    let url = server.url.clone();
    let meta = std::fs::metadata(&file).expect("the first start writes the password's file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "only the service may read it");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(password.len() >= 16, "a strong password: {password:?}");
    assert_eq!(login(&http, &url, "wrong-password-1").await, 401);
    assert!(file.exists(), "a failed sign-in leaves the file");
    assert_eq!(login(&http, &url, &password).await, 200, "the password from the file signs in");
    assert!(!file.exists(), "the first sign-in deletes the file");
    let log = server.stop();
    assert_eq!(log.matches(&password).count(), 1, "the log shows the password once:\n{log}");

    // A second start: the admin exists, nothing is created or written.
    let server = serve(&data);
    let url = server.url.clone();
    assert!(!file.exists(), "no new password file");
    assert_eq!(login(&http, &url, &password).await, 200, "the same admin and password");
    let log = server.stop();
    assert!(!log.contains("created the platform admin"), "{log}");
}

/// The demo seeds its own platform admin: no random one, no file.
#[tokio::test]
async fn the_demo_makes_no_initial_password() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_idora"))
        .args(["serve", "--demo", "--demo-bare", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("IDORA_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    while !line.contains("http://") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the demo prints its URL");
    }
    assert!(!data.join("initial-admin-password").exists());
    child.kill().unwrap();
    child.wait().unwrap();
}
