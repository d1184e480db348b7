//! Backup and restore over the real server and the real binary: a backup
//! taken while tasks are written at full speed holds every write answered
//! before it began, restores into an empty folder that `idora check --deep`
//! passes and a server serves (rebuilding the search index); a damaged
//! archive is caught; restore refuses a folder in use or not empty; the
//! schedule writes, keeps N and shows the result on /readyz and /metrics;
//! the command line reaches a running server through its control socket.

use crate::files::{png, upload};
use crate::support::*;
use idora::config::{BackupConfig, BackupTarget};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn idora(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idora")).args(args).env_remove("IDORA_DATA").output().expect("the idora binary runs")
}

fn said(o: &Output) -> String {
    format!("exit {:?}\nstdout: {}\nstderr: {}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    let srv = start().await;
    let co = srv.company("acme", true).await;
    let (me, token) = srv.user(&co, "rahbar", "director").await;
    let picture = png(40, 30);
    let file_id = upload(&srv, &co, &co.admin, "plan.png", picture.clone()).await.check(201).id();

    // Writers creating tasks as fast as the server answers.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, token, stop, acked) = (srv.http.clone(), srv.url(&co.path("/tasks")), token.clone(), stop.clone(), acked.clone());
        let deadline = (srv.now() + jiff::SignedDuration::from_hours(48)).to_string();
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let body = json!({"title": format!("ombor hisobi {w}-{n}"), "assignee_id": me, "deadline": deadline, "points": 1});
                let r = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
                let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_u64().unwrap();
                acked.lock().unwrap().push((id, Instant::now()));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("box.tar.zst");
    let began = Instant::now();
    let manifest = idora::ops::backup::backup_all(srv.state(), &out).await.unwrap();
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<u64> = acked.iter().filter(|(_, at)| *at < began).map(|(id, _)| *id).collect();
    let during = acked.iter().filter(|(_, at)| *at >= began && *at <= ended).count();
    assert!(before.len() >= 10, "writes before the backup: {}", before.len());
    assert!(during > 0 || ended.duration_since(began) < Duration::from_millis(50), "writes went on while the backup ran");
    let paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"platform.redb") && paths.contains(&"secret.key") && paths.contains(&"tenants/acme/data.redb"), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("tenants/acme/files/")), "the uploaded file is in it: {paths:?}");
    assert!(!paths.iter().any(|p| p.contains("/index/") || p.contains("/tmp/")), "no search index, no temp files: {paths:?}");
    let v = idora(&["backup", "--verify", s(&out)]);
    assert!(v.status.success(), "{}", said(&v));
    assert!(String::from_utf8_lossy(&v.stdout).contains("companies:      1 (acme)"), "{}", said(&v));

    // Restored into an empty folder, checked, and served.
    let srv = srv
        .restart_after(|data| {
            std::fs::remove_dir_all(data).unwrap();
            let r = idora(&["restore", s(&out), "--data", s(data)]);
            assert!(r.status.success(), "{}", said(&r));
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&data.join("tenants/acme")), 0o700);
            assert_eq!(mode(&data.join("tenants/acme/data.redb")), 0o600);
            assert_eq!(mode(&data.join("secret.key")), 0o600);
            let c = idora(&["check", "--deep", "--data", s(data)]);
            assert!(c.status.success(), "{}", said(&c));
            assert!(String::from_utf8_lossy(&c.stdout).contains("ok  tenants/acme/data.redb"), "{}", said(&c));
        })
        .await;
    for id in &before {
        srv.get(&co.path(&format!("/tasks/{id}")), &token).await.check(200);
    }
    let restored = srv.http.get(srv.url(&co.path(&format!("/files/{file_id}")))).bearer_auth(&co.admin).send().await.unwrap();
    assert_eq!(restored.status(), 200);
    assert_eq!(restored.bytes().await.unwrap().as_ref(), picture.as_slice(), "the uploaded file is back");
    // The search index was not in the archive: it is rebuilt.
    let mut hits = 0;
    for _ in 0..200 {
        let r = srv.get(&co.path("/search/tasks?q=ombor"), &token).await;
        hits = r.body["items"].as_array().map(|a| a.len()).unwrap_or(0);
        if r.status == 200 && hits > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(hits > 0, "the restored company's tasks are found again");
}

/// A small backup of a company with one task, for the archive tests.
async fn small_backup(dir: &Path) -> (Server, PathBuf) {
    let srv = start().await;
    let co = srv.company("acme", true).await;
    let (me, token) = srv.user(&co, "rahbar", "director").await;
    let body = json!({"title": "bitta", "assignee_id": me, "deadline": (srv.now() + jiff::SignedDuration::from_hours(5)).to_string()});
    srv.post(&co.path("/tasks"), &token, body).await.check(201);
    let out = dir.join("small.tar.zst");
    idora::ops::backup::backup_all(srv.state(), &out).await.unwrap();
    (srv, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_catches_a_flipped_byte_and_a_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_srv, out) = small_backup(dir.path()).await;
    let bytes = std::fs::read(&out).unwrap();
    let ok = idora(&["backup", "--verify", s(&out)]);
    assert!(ok.status.success(), "{}", said(&ok));

    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let f = dir.path().join("flipped.tar.zst");
    std::fs::write(&f, &flipped).unwrap();
    let v = idora(&["backup", "--verify", s(&f)]);
    assert!(!v.status.success(), "a flipped byte is caught: {}", said(&v));
    assert!(String::from_utf8_lossy(&v.stderr).contains("is not a whole Idora backup archive"), "{}", said(&v));

    let t = dir.path().join("cut.tar.zst");
    std::fs::write(&t, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let v = idora(&["backup", "--verify", s(&t)]);
    assert!(!v.status.success(), "a truncated file is caught: {}", said(&v));
    assert!(String::from_utf8_lossy(&v.stderr).contains("is not a whole Idora backup archive"), "{}", said(&v));

    // A restore checks first, and leaves the folder as it was.
    let target = dir.path().join("restored");
    let r = idora(&["restore", s(&t), "--data", s(&target)]);
    assert!(!r.status.success(), "{}", said(&r));
    assert!(!target.join("platform.redb").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_folder_that_is_not_empty_or_that_a_server_uses() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, out) = small_backup(dir.path()).await;

    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), "mine").unwrap();
    let r = idora(&["restore", s(&out), "--data", s(&full)]);
    assert!(!r.status.success(), "{}", said(&r));
    assert!(String::from_utf8_lossy(&r.stderr).contains("is not empty"), "{}", said(&r));
    // --force replaces what a restore brings, and keeps the rest.
    let r = idora(&["restore", s(&out), "--data", s(&full), "--force"]);
    assert!(r.status.success(), "{}", said(&r));
    assert!(full.join("platform.redb").exists() && full.join("notes.txt").exists());

    // The running server's folder: refused, --force or not.
    let live = srv.state().config.data_dir.clone();
    for force in [false, true] {
        let mut args = vec!["restore", s(&out), "--data", s(&live)];
        if force {
            args.push("--force");
        }
        let r = idora(&args);
        assert!(!r.status.success(), "{}", said(&r));
        assert!(String::from_utf8_lossy(&r.stderr).contains("a server is running"), "{}", said(&r));
    }
    srv.get("/readyz", "").await.check(200);
}

fn archives(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.ends_with(".tar.zst")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Moves the clock past the next run and waits for its result.
async fn next_scheduled(srv: &Server, previous: Option<i64>) -> idora::ops::backup::BackupStatus {
    srv.advance(jiff::SignedDuration::from_hours(24));
    for _ in 0..300 {
        if let Some(st) = idora::ops::backup::last_status(srv.state())
            && Some(st.at_ms) != previous
        {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no scheduled backup ran within 30 s");
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(name) && !l.starts_with('#')).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest_and_show_on_readyz_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("backups");
    let t = target.clone();
    let srv = start_with(move |c| {
        c.backup = Some(BackupConfig { at: (3, 0), timezone: "Asia/Tashkent".into(), target: BackupTarget::Dir(t), keep: 2 })
    })
    .await;
    srv.company("acme", true).await;
    tokio::spawn(idora::ops::backup::schedule_loop(srv.state().clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(archives(&target).is_empty(), "nothing before its time");
    let mut last = None;
    for n in 1..=3 {
        let st = next_scheduled(&srv, last).await;
        assert!(st.ok, "{st:?}");
        last = Some(st.at_ms);
        assert_eq!(archives(&target).len(), n.min(2), "the newest two are kept");
    }
    let names = archives(&target);
    let v = idora(&["backup", "--verify", s(&target.join(&names[1]))]);
    assert!(v.status.success(), "{}", said(&v));

    let ready = srv.get("/readyz", "").await.check(200);
    assert_eq!(ready.body["backup"]["ok"], true, "{}", ready.text);
    assert_eq!(ready.body["backup"]["target"].as_str().unwrap(), s(&target.join(&names[1])));
    assert!(ready.body["backup"]["bytes"].as_u64().unwrap() > 0);
    let m = srv.get("/metrics", "").await.check(200).text;
    assert!(metric(&m, "idora_backup_last_success_timestamp_seconds").unwrap() > 1e9, "{m}");
    assert!(metric(&m, "idora_backup_last_size_bytes").unwrap() > 0.0);
    assert!(metric(&m, "idora_backup_last_duration_seconds").is_some());

    // A backup that fails is shown, counted, and the server serves on.
    let failures = metric(&m, "idora_backup_failures_total").unwrap_or(0.0);
    std::fs::remove_dir_all(&target).unwrap();
    std::fs::write(&target, "a file where the folder was").unwrap();
    let st = next_scheduled(&srv, last).await;
    assert!(!st.ok && st.error.is_some(), "{st:?}");
    let ready = srv.get("/readyz", "").await.check(200);
    assert_eq!(ready.body["backup"]["ok"], false, "{}", ready.text);
    assert!(ready.body["backup"]["error"].as_str().unwrap().contains("backups"), "{}", ready.text);
    let m = srv.get("/metrics", "").await.check(200).text;
    assert!(metric(&m, "idora_backup_failures_total").unwrap() > failures, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_go_to_an_s3_bucket() {
    let moto = Moto::start().await;
    let idora::config::FilesBackend::S3(s3) = moto.config() else { unreachable!() };
    let srv = start_with(move |c| {
        c.backup =
            Some(BackupConfig { at: (2, 30), timezone: "UTC".into(), target: BackupTarget::S3 { s3, prefix: "box1/".into() }, keep: 1 })
    })
    .await;
    srv.company("acme", true).await;
    tokio::spawn(idora::ops::backup::schedule_loop(srv.state().clone()));
    // (The loop reads the clock once it runs: not moved before that.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = next_scheduled(&srv, None).await;
    assert!(first.ok && first.target.starts_with("s3://idora-files/box1/idora-backup-"), "{first:?}");
    let second = next_scheduled(&srv, Some(first.at_ms)).await;
    assert!(second.ok, "{second:?}");
    let keys = moto.keys("box1").await;
    assert_eq!(keys.len(), 1, "only the newest is kept: {keys:?}");
    assert!(second.target.ends_with(&keys[0]), "{keys:?} {second:?}");
    // What went up is a whole archive.
    let bytes = reqwest::get(format!("{}/{}/{}", moto.endpoint, moto.bucket, keys[0])).await.unwrap().bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("from-s3.tar.zst");
    std::fs::write(&f, &bytes).unwrap();
    let m = idora::ops::archive::verify(&f).unwrap();
    assert!(m.entries.iter().any(|e| e.path == "tenants/acme/data.redb"));
    assert!(!srv.state().config.data_dir.join(".backup-upload").read_dir().unwrap().any(|_| true), "the local copy is gone");
}

/// `idora serve` (the binary) on a data folder, stopped (SIGTERM) when dropped.
struct Served {
    child: std::process::Child,
}

impl Served {
    fn start(data: &Path) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(env!("CARGO_BIN_EXE_idora"))
            .args(["serve", "--demo", "--demo-bare", "--data", s(data), "--listen", &format!("127.0.0.1:{port}")])
            .env_remove("IDORA_DATA")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let served = Served { child };
        let sock = data.join("control.sock");
        for _ in 0..600 {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                return served;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server's control socket did not answer within 30 s");
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_reaches_a_running_server_through_its_control_socket() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Served::start(&data);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(data.join("control.sock")).unwrap().permissions().mode() & 0o777, 0o600);

    // The server holds its files: the command goes through the socket.
    let out = dir.path().join("live.tar.zst");
    let b = idora(&["backup", "--out", s(&out), "--data", s(&data)]);
    assert!(b.status.success(), "{}", said(&b));
    let text = String::from_utf8_lossy(&b.stdout);
    assert!(text.contains("backup written") && text.contains("kind:           box") && text.contains("(demo)"), "{}", said(&b));
    let again = idora(&["backup", "--out", s(&out), "--data", s(&data)]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"), "{}", said(&again));
    let r = idora(&["routes", "--format", "nginx", "--upstream", "box_a", "--data", s(&data)]);
    assert!(r.status.success(), "{}", said(&r));
    let r = idora(&["restore", s(&out), "--data", s(&data), "--force"]);
    assert!(!r.status.success() && String::from_utf8_lossy(&r.stderr).contains("a server is running"), "{}", said(&r));

    // Stopped: the socket goes; the command opens the files itself.
    server.stop();
    assert!(!data.join("control.sock").exists(), "removed at shutdown");
    let offline = dir.path().join("offline.tar.zst");
    let b = idora(&["backup", "--out", s(&offline), "--data", s(&data)]);
    assert!(b.status.success(), "{}", said(&b));

    // A crash leaves a stale socket: the command works offline, the next
    // server replaces it.
    let server = Served::start(&data);
    let mut child = server;
    let _ = child.child.kill();
    let _ = child.child.wait();
    assert!(data.join("control.sock").exists());
    let stale = dir.path().join("stale.tar.zst");
    let b = idora(&["backup", "--out", s(&stale), "--data", s(&data)]);
    assert!(b.status.success(), "{}", said(&b));
    let server = Served::start(&data);
    let v = idora(&["backup", "--out", s(&dir.path().join("after.tar.zst")), "--data", s(&data)]);
    assert!(v.status.success(), "{}", said(&v));
    server.stop();
}

/// A company whose file is damaged does not stop the others' backup: it is
/// left out, and the archive says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_company_is_left_out_and_named() {
    let srv = start().await;
    srv.company("good", true).await;
    srv.company("bad", true).await;
    let srv = srv.restart_after(|data| std::fs::write(data.join("tenants/bad/data.redb"), vec![0x5a; 8192]).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar.zst");
    let m = idora::ops::backup::backup_all(srv.state(), &out).await.unwrap();
    let paths: Vec<&str> = m.entries.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"tenants/good/data.redb") && !paths.contains(&"tenants/bad/data.redb"), "{paths:?}");
    assert!(m.notes.iter().any(|n| n.starts_with("company bad was left out")), "{:?}", m.notes);
    let v = idora(&["backup", "--verify", s(&out)]);
    assert!(String::from_utf8_lossy(&v.stdout).contains("note:           company bad was left out"), "{}", said(&v));
}
