//! The store refuses to lie: a missing company file, an overloaded write
//! queue, a failed commit and a damaged index are each told as what they
//! are (503 `unavailable`, `/readyz`, `idora check --deep`), never hidden.

use crate::support::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Holds the company's writer thread in a long write until released, as a
/// slow disk would.
fn stall_writer(db: &idora::store::Db) -> (Arc<AtomicBool>, tokio::task::JoinHandle<()>) {
    let (started, release) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (s, r) = (started.clone(), release.clone());
    let db = db.clone();
    let held = tokio::spawn(async move {
        db.write(move |_tx| {
            s.store(true, Ordering::SeqCst);
            let until = std::time::Instant::now() + Duration::from_secs(20);
            while !r.load(Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(())
        })
        .await
        .unwrap();
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(2));
    }
    (release, held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_write_queue_answers_503_with_retry_after_and_recovers() {
    let s = start_with(|c| c.write_queue = 1).await;
    let co = s.company("acme", true).await;
    let tenant = s.running.state.tenants.get("acme").unwrap();
    let db = tenant.db().unwrap().clone();
    let (release, held) = stall_writer(&db);
    // One write waits in the queue (its size is 1) ...
    let queued = {
        let db = db.clone();
        tokio::spawn(async move { db.write(|tx| idora::store::next_id(tx, "queued")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ... so the next one is refused at once, not queued without bound.
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.refused(503, "unavailable");
    assert_eq!(r.header("retry-after"), Some("1"), "{:?}", r.headers);

    release.store(true, Ordering::SeqCst);
    held.await.unwrap();
    assert_eq!(queued.await.unwrap().unwrap(), 1, "the queued write went through");
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
    s.get("/readyz", "").await.check(200);
}

/// Polls `/readyz` until it answers 200 or `within` passes.
async fn ready_within(s: &Server, within: Duration) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        if s.get("/readyz", "").await.status == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn after_a_failed_commit_the_company_refuses_writes_says_why_and_recovers() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let other = s.company("beta", true).await;
    let before = s.post(&co.path("/departments"), &co.admin, json!({"name": "Before"})).await.check(201).id();
    s.get("/readyz", "").await.check(200);
    // The disk under acme's file fails: its next sync is an I/O error.
    let db = s.running.state.tenants.get("acme").unwrap().db().unwrap().clone();
    db.inject_io_failure();
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.refused(503, "unavailable");
    assert!(r.message().contains("a disk operation failed"), "the answer says why: {}", r.text);
    // Later writes are refused without trying the file again ...
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa 2"})).await.refused(503, "unavailable");
    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    // ... and so are reads (redb's state after a failed fsync is unknown),
    // as 503, not 500; the other company is untouched.
    s.get(&co.path("/me"), &co.admin).await.refused(503, "unavailable");
    s.post(&other.path("/departments"), &other.admin, json!({"name": "Kassa"})).await.check(201);

    let r = s.get("/readyz", "").await.refused(503, "unavailable");
    let detail = r.body["error"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("company acme") && detail.contains("failed commit") && detail.contains("injected I/O failure"), "{}", r.text);
    assert!(!detail.contains("beta"), "only the failing company is named: {}", r.text);
    assert!(!detail.contains(&s.running.state.config.data_dir.display().to_string()), "no full paths: {}", r.text);

    // The disk is fixed: without a restart the store reopens itself and
    // the company writes again, with what was acknowledged before.
    db.clear_io_failure();
    assert!(ready_within(&s, Duration::from_secs(10)).await, "the store reopened itself");
    s.post(&co.path("/departments"), &co.admin, json!({"name": "After"})).await.check(201);
    let list = s.get(&co.path("/departments"), &co.admin).await.check(200);
    let names: Vec<&str> = list.body.as_array().unwrap().iter().filter_map(|d| d["name"].as_str()).collect();
    assert!(names.contains(&"Before") && names.contains(&"After"), "{names:?}");
    assert!(list.body.as_array().unwrap().iter().any(|d| d["id"].as_u64() == Some(before)));
}

#[tokio::test]
async fn a_full_disk_answers_507_and_recovers_when_space_is_back() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let db = s.running.state.tenants.get("acme").unwrap().db().unwrap().clone();
    db.inject_disk_full();
    let r = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.refused(507, "storage_full");
    assert!(r.message().contains("the disk is full"), "{}", r.text);
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.refused(507, "storage_full");
    let r = s.get("/readyz", "").await.refused(503, "unavailable");
    assert!(
        r.body["error"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("company acme: tenants/acme/data.redb: writes stopped after a failed commit (the disk is full"),
        "{}",
        r.text
    );
    db.clear_io_failure();
    assert!(ready_within(&s, Duration::from_secs(10)).await, "the store reopened itself");
    // (Whether the first refused write reached the disk is not known: its
    // pages were written, only the fsync failed. The file reopens at its
    // last complete commit, which may be that one; a new name is certain.)
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa 2"})).await.check(201);
}

#[tokio::test]
async fn a_company_whose_file_is_missing_is_unavailable_and_never_recreated() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let s = s.restart().await; // nothing open yet
    let file = s.running.state.config.data_dir.join("tenants/acme/data.redb");
    std::fs::remove_file(&file).unwrap();

    let r = s.get(&co.path("/me"), &co.admin).await.refused(503, "unavailable");
    assert!(!r.text.contains("data.redb"), "the answer names no file: {}", r.text);
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.refused(503, "unavailable");
    assert!(!file.exists(), "no silent new empty file");

    let r = s.get("/readyz", "").await.refused(503, "unavailable");
    let detail = r.body["error"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("company acme") && detail.contains("tenants/acme/data.redb is missing"), "{}", r.text);
}

fn idora_check(data: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idora"))
        .args(["check", "--deep", "--data"])
        .arg(data)
        .env("IDORA_LOG", "error")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn check_deep_finds_the_one_index_row_that_is_gone() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let ali = s.add_user(&co, "ali", "employee").await;
    s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
    let data = s.running.state.config.data_dir.clone();
    let running = s.running;
    running.shutdown().await.unwrap();

    let (ok, out) = idora_check(&data);
    assert!(ok, "a healthy data folder passes: {out}");
    assert!(out.contains("ok  platform.redb") && out.contains("ok  tenants/acme/data.redb"), "{out}");

    {
        let db = redb::Database::open(data.join("tenants/acme/data.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(idora::store::schema::USERS_BY_NAME).unwrap().remove("ali").unwrap();
        tx.commit().unwrap();
    }
    let (ok, out) = idora_check(&data);
    assert!(!ok, "a damaged index fails the check: {out}");
    assert!(out.contains("BAD tenants/acme/data.redb: 1 index mismatch(es)"), "{out}");
    assert!(out.contains(&format!("users_by_name: missing \"ali\" → {ali}")), "{out}");
}

/// The deep check's rules agree with the code that writes the indexes: a
/// company that went through the task workflow (assigned, moved, finished,
/// marked overdue, a department's) has no mismatch.
#[tokio::test]
async fn check_deep_agrees_with_the_task_workflow() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let dept = s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201).id();
    let (_, director) = s.user(&co, "dina", "director").await;
    let ali = s.add_user(&co, "ali", "employee").await;
    s.patch(&co.path(&format!("/users/{ali}")), &co.admin, json!({"department_id": dept})).await.check(200);
    let ali_token = s.login("acme", "ali", USER_PASSWORD).await.check(200).str("access_token");
    let soon = (s.now() + jiff::SignedDuration::from_hours(1)).to_string();
    let mut ids = Vec::new();
    for title in ["a", "b", "c"] {
        let body = json!({"title": title, "assignee_id": ali, "deadline": soon, "points": 5});
        ids.push(s.post(&co.path("/tasks"), &director, body).await.check(201).id());
    }
    s.post(&co.path(&format!("/tasks/{}/status", ids[0])), &ali_token, json!({"status": "in_progress"})).await.check(200);
    s.post(&co.path(&format!("/tasks/{}/status", ids[1])), &ali_token, json!({"status": "in_progress"})).await.check(200);
    s.post(&co.path(&format!("/tasks/{}/status", ids[1])), &ali_token, json!({"status": "pending_review"})).await.check(200);
    s.post(&co.path(&format!("/tasks/{}/status", ids[1])), &director, json!({"status": "completed"})).await.check(200);
    s.advance(jiff::SignedDuration::from_hours(2));
    let state = &s.running.state;
    let tenant = state.tenants.get("acme").unwrap();
    assert_eq!(idora::tasks::service::mark_overdue(state, &tenant).await.unwrap(), 2);

    let found = idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap();
    assert_eq!(found, vec![], "no mismatch after the real workflow");
    assert_eq!(idora::store::check::verify_platform(&state.platform).unwrap(), vec![]);
    // And it is not blind: a task's due entry put back after the job took it out is stray.
    let db = tenant.db().unwrap().clone();
    db.write(|tx| {
        let t = idora::store::schema::TASKS.open(tx)?.get(1)?.unwrap();
        tx.open_table(idora::store::schema::TASKS_DUE).unwrap().insert((t.deadline, 1), ()).map_err(idora::store::store_err)?;
        Ok(())
    })
    .await
    .unwrap();
    let found = idora::store::check::verify_tenant(&db).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].index, "tasks_due");
    assert_eq!(found[0].problem, idora::store::check::Problem::Stray);
}

/// The same for the queue: tickets taken, called, served, transferred and
/// cancelled through the API leave every ticket index as the check computes it.
#[tokio::test]
async fn check_deep_agrees_with_the_queue() {
    let s = start().await;
    let co = s.company("acme", true).await;
    let branch = s.post(&co.path("/branches"), &co.admin, json!({"name": "Bosh ofis"})).await.check(201).id();
    let kassa =
        s.post(&co.path("/services"), &co.admin, json!({"name": "Kassa", "minutes": 5, "branch_ids": [branch]})).await.check(201).id();
    let kredit =
        s.post(&co.path("/services"), &co.admin, json!({"name": "Kredit", "minutes": 5, "branch_ids": [branch]})).await.check(201).id();
    let (op_id, op) = s.user(&co, "opa", "operator").await;
    s.put(&co.path(&format!("/operators/{op_id}")), &co.admin, json!({"branch_id": branch, "window": 1, "service_ids": [kassa, kredit]}))
        .await
        .check(200);
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            s.post(&co.path(&format!("/branches/{branch}/tickets")), &co.admin, json!({"service_id": kassa, "source": "walk_in"}))
                .await
                .check(201)
                .id(),
        );
    }
    let called = s.post(&co.path("/operator/call-next"), &op, json!({})).await.check(200).body["ticket"]["id"].as_u64().unwrap();
    s.post(&co.path(&format!("/tickets/{called}/start")), &op, json!({})).await.check(200);
    s.post(&co.path(&format!("/tickets/{called}/finish")), &op, json!({})).await.check(200);
    let next = s.post(&co.path("/operator/call-next"), &op, json!({})).await.check(200).body["ticket"]["id"].as_u64().unwrap();
    s.post(&co.path(&format!("/tickets/{next}/start")), &op, json!({})).await.check(200);
    s.post(&co.path(&format!("/tickets/{next}/transfer")), &op, json!({"service_id": kredit})).await.check(200);
    s.post(&co.path(&format!("/tickets/{}/cancel", ids[3])), &co.admin, json!({})).await.check(200);

    let tenant = s.running.state.tenants.get("acme").unwrap();
    let found = idora::store::check::verify_tenant(tenant.db().unwrap()).unwrap();
    assert_eq!(found, vec![], "no mismatch after the real queue");
}

/// The ways a company file is found damaged on disk.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Every page after the first (the header) overwritten with junk.
    OverwrittenPages,
    /// The second half cut off.
    Truncated,
    /// The first bytes are not redb's.
    WrongMagic,
    /// Nothing left.
    ZeroBytes,
}

const DAMAGES: [Damage; 4] = [Damage::OverwrittenPages, Damage::Truncated, Damage::WrongMagic, Damage::ZeroBytes];

fn damage(file: &std::path::Path, how: Damage) {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(file).unwrap().len();
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    match how {
        Damage::OverwrittenPages => {
            f.seek(SeekFrom::Start(4096)).unwrap();
            let junk: Vec<u8> = (0..len.saturating_sub(4096)).map(|i| (i * 7919 % 251) as u8).collect();
            f.write_all(&junk).unwrap();
        }
        Damage::Truncated => f.set_len(len / 2).unwrap(),
        Damage::WrongMagic => f.write_all(b"NOT A REDB FILE").unwrap(),
        Damage::ZeroBytes => f.set_len(0).unwrap(),
    }
    f.sync_all().unwrap();
}

/// A damaged company file is that company's problem only: its requests
/// get 503 with the reason, `/readyz` names it, another company works,
/// and nothing panics.
#[tokio::test]
async fn a_damaged_company_file_is_that_companys_problem_only() {
    for how in DAMAGES {
        let s = start().await;
        let co = s.company("acme", true).await;
        let other = s.company("beta", true).await;
        s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
        let s = s.restart_after(|data| damage(&data.join("tenants/acme/data.redb"), how)).await;

        let r = s.get(&co.path("/departments"), &co.admin).await.refused(503, "unavailable");
        let reason = r.body["error"]["detail"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains("damaged") || reason.contains("empty"), "{how:?}: the answer says why: {}", r.text);
        assert!(r.message().contains(&reason), "{how:?}: the message carries the reason: {}", r.text);
        assert!(!r.text.contains("data.redb"), "{how:?}: the answer names no file: {}", r.text);
        s.post(&co.path("/departments"), &co.admin, json!({"name": "Kredit"})).await.refused(503, "unavailable");
        // Its pages say so too.
        let page = s.web.get(format!("{}/c/acme/login", s.base)).send().await.unwrap();
        assert_eq!(page.status(), 503, "{how:?}");
        assert!(page.text().await.unwrap().contains(&reason), "{how:?}: the page shows the reason");

        s.post(&other.path("/departments"), &other.admin, json!({"name": "Kassa"})).await.check(201);
        s.get(&other.path("/departments"), &other.admin).await.check(200);

        let r = s.get("/readyz", "").await.refused(503, "unavailable");
        let detail = r.body["error"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("company acme: tenants/acme/data.redb") && detail.contains(&reason), "{how:?}: {}", r.text);
        assert!(!detail.contains("beta"), "{how:?}: {}", r.text);
    }
}

/// Every file under `dir` with its bytes.
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A copy of `data` with every file and folder made read-only.
fn read_only_copy(data: &std::path::Path, into: &std::path::Path) -> std::path::PathBuf {
    let copy = into.join("copy");
    assert!(std::process::Command::new("cp").arg("-a").arg(data).arg(&copy).status().unwrap().success());
    assert!(std::process::Command::new("chmod").args(["-R", "a-w"]).arg(&copy).status().unwrap().success());
    copy
}

/// `idora check` on a damaged company file (and on a read-only copy of the
/// folder) says `BAD <file>: <reason>`, exits non-zero, does not panic, and
/// leaves every byte as it was; the healthy files are `ok`.
#[tokio::test]
async fn check_reports_a_damaged_file_and_changes_nothing() {
    for how in DAMAGES {
        let s = start().await;
        let co = s.company("acme", true).await;
        let other = s.company("beta", true).await;
        s.post(&co.path("/departments"), &co.admin, json!({"name": "Kassa"})).await.check(201);
        s.post(&other.path("/departments"), &other.admin, json!({"name": "Kassa"})).await.check(201);
        let data = s.running.state.config.data_dir.clone();
        let running = s.running;
        running.shutdown().await.unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let (ok, out) = idora_check(&read_only_copy(&data, scratch.path()));
        assert!(ok, "{how:?}: a healthy read-only copy passes: {out}");
        damage(&data.join("tenants/acme/data.redb"), how);
        let scratch = tempfile::tempdir().unwrap();
        for dir in [data.clone(), read_only_copy(&data, scratch.path())] {
            let before = files(&dir);
            let (ok, out) = idora_check(&dir);
            assert!(!ok, "{how:?}: {out}");
            let bad = out.lines().find(|l| l.starts_with("BAD tenants/acme/data.redb: ")).unwrap_or_else(|| panic!("{how:?}: {out}"));
            assert!(bad.contains("damaged") || bad.contains("empty"), "{how:?}: the reason: {out}");
            assert!(out.contains("ok  platform.redb") && out.contains("ok  tenants/beta/data.redb"), "{how:?}: {out}");
            assert!(!out.contains("panicked") && !out.contains("backtrace"), "{how:?}: {out}");
            assert_eq!(files(&dir), before, "{how:?}: check changed or created a file in {}", dir.display());
        }
    }
}
