//! Upgrades: today's build opens a data folder the previous release wrote
//! (`tests/fixtures/upgrade/`, see its README), keeping a copy of each file
//! before migrating it; a file from a newer release is refused, naming it.

use crate::support::*;
use idora::store::migrate::{RELEASE, RELEASE_KEY};
use idora::store::schema::{META, SCHEMA_VERSION, VERSION_KEY};
use reqwest::Method;
use std::path::{Path, PathBuf};

/// The fixture's data folder, unpacked into a fresh temporary folder (as `data/`).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade/data.tar.zst");
    let file = std::fs::File::open(&archive).unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    tar::Archive::new(zstd::Decoder::new(file).unwrap()).unpack(dir.path()).unwrap();
    dir
}

/// When the fixture was made (its `MADE-BY`), plus a minute: its queue's day.
fn made_at() -> jiff::Timestamp {
    let note = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade/MADE-BY")).unwrap();
    let made = note.lines().find_map(|l| l.strip_prefix("made ")).unwrap().split(' ').next().unwrap();
    made.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_mins(1)
}

/// The schema version and release a file records.
fn recorded(path: &Path) -> (u8, Option<String>) {
    let db = redb::Database::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
    let meta = tx.open_table(META).unwrap();
    let v = meta.get(VERSION_KEY).unwrap().unwrap().value()[0];
    let r = meta.get(RELEASE_KEY).unwrap().map(|r| String::from_utf8_lossy(r.value()).into_owned());
    (v, r)
}

/// Sets what a file records, as a newer release would have.
fn stamp(path: &Path, version: u8, release: &str) {
    let db = redb::Database::open(path).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut meta = tx.open_table(META).unwrap();
        meta.insert(VERSION_KEY, [version].as_slice()).unwrap();
        meta.insert(RELEASE_KEY, release.as_bytes()).unwrap();
    }
    tx.commit().unwrap();
}

fn before_upgrade(data: &Path) -> Vec<PathBuf> {
    let mut kept: Vec<PathBuf> =
        std::fs::read_dir(data.join("backups/before-upgrade")).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    kept.sort();
    kept
}

#[tokio::test]
async fn the_previous_releases_data_opens_migrated_with_a_copy_kept_first() {
    let dir = fixture();
    let data = dir.path().join("data");
    let (old, _) = recorded(&data.join("tenants/demo/data.redb"));
    assert!(old < SCHEMA_VERSION, "the fixture is from an older schema ({old}); remake it for the next release (tests/fixtures/README.md)");
    assert!(!data.join("tenants/demo/index").exists(), "the fixture has no search index");
    let s = start_in(dir, made_at()).await;

    // The platform file was upgraded at start, after a copy of it was kept.
    let kept = before_upgrade(&data);
    let platform_copy = kept.iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("platform-v{old}"))).cloned();
    let platform_copy = platform_copy.unwrap_or_else(|| panic!("no copy of platform.redb in {kept:?}"));
    assert_eq!(recorded(&platform_copy).0, old, "the copy is the file as it was");

    // The people sign in with their passwords (this opens and upgrades the company's file).
    let employee = s.demo_token("employee").await;
    let kept = before_upgrade(&data);
    let company_copy = kept.iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("company-demo-v{old}"))).cloned();
    let company_copy = company_copy.unwrap_or_else(|| panic!("no copy of the company's file in {kept:?}"));
    assert_eq!(recorded(&company_copy).0, old);
    let _ = s.get(&c(DEMO, "/me"), &employee).await.check(200);

    // Their tasks are there, and the search finds them (the index is rebuilt).
    let tasks = s.get(&c(DEMO, "/tasks"), &employee).await.check(200).body;
    let titles: Vec<String> =
        tasks["items"].as_array().or(tasks.as_array()).unwrap().iter().map(|t| t["title"].as_str().unwrap().to_string()).collect();
    for want in ["Kassa hisobotini tekshirish", "Filial inventarizatsiyasi", "Mijozlar shikoyatlarini tahlil qilish"] {
        assert!(titles.iter().any(|t| t == want), "{want} in {titles:?}");
    }
    let mut found = 0;
    for _ in 0..200 {
        let v = s.get(&c(DEMO, "/search/tasks?q=inventarizatsiyasi&within=mine"), &employee).await.check(200).body;
        found = v["items"].as_array().map(|a| a.len()).unwrap_or(0);
        if found > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found, 1, "the rebuilt index finds the task");
    assert!(data.join("tenants/demo/index").exists(), "the index was rebuilt");

    // The queue and its tickets.
    let operator = s.demo_token("operator").await;
    let branch = s.demo_branches().await[0];
    let (st, queue) = s.call(Method::GET, &c(DEMO, &format!("/branches/{branch}/queue")), Some(&operator), None).await;
    assert_eq!(st, 200, "{queue}");
    let tickets: Vec<(String, String)> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["number"].as_str().unwrap().to_string(), t["status"].as_str().unwrap().to_string()))
        .collect();
    let want = [("K-001", "called"), ("K-002", "waiting"), ("K-003", "waiting")].map(|(n, st)| (n.to_string(), st.to_string()));
    assert_eq!(tickets, want);
    // The queue goes on from there: the next ticket is K-004.
    let service = s.demo_services().await["Kassa"];
    let (st, t) = s
        .call(
            Method::POST,
            &c(DEMO, &format!("/branches/{branch}/tickets")),
            None,
            Some(serde_json::json!({"service_id": service, "source": "kiosk"})),
        )
        .await;
    assert_eq!(st, 201, "{t}");
    assert_eq!(t["number"], "K-004");

    // Both files now record today's schema and release.
    s.running.shutdown().await.unwrap();
    for file in ["platform.redb", "tenants/demo/data.redb"] {
        assert_eq!(recorded(&data.join(file)), (SCHEMA_VERSION, Some(RELEASE.to_string())), "{file}");
    }
}

#[tokio::test]
async fn a_file_from_a_newer_release_is_refused_naming_that_release() {
    // The platform file: the binary does not start, and says why.
    let dir = fixture();
    let data = dir.path().join("data");
    stamp(&data.join("platform.redb"), SCHEMA_VERSION + 1, "9.9.9");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_idora"))
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("IDORA_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success(), "it does not start");
    let said = String::from_utf8_lossy(&out.stderr);
    let want = format!("written by Idora 9.9.9, schema {}; this is Idora {RELEASE}, schema {SCHEMA_VERSION}", SCHEMA_VERSION + 1);
    assert!(said.contains(&want) && said.contains("platform.redb"), "stderr names the file and the release: {said}");
    assert!(said.contains("run the newer Idora or restore a backup"), "{said}");
    assert_eq!(recorded(&data.join("platform.redb")), (SCHEMA_VERSION + 1, Some("9.9.9".into())), "left as it was");

    // A company's file: its requests are refused saying so, and /readyz names it.
    let dir = fixture();
    let data = dir.path().join("data");
    stamp(&data.join("tenants/demo/data.redb"), SCHEMA_VERSION + 1, "9.9.9");
    let s = start_in(dir, made_at()).await;
    let r = s.login(DEMO, "employee", idora::demo::PASSWORD).await.refused(503, "unavailable");
    assert!(r.message().contains(&want), "{}", r.message());
    let ready = s.get("/readyz", "").await;
    assert!(ready.body.to_string().contains(&want), "{}", ready.body);
    assert_eq!(recorded(&data.join("tenants/demo/data.redb")).0, SCHEMA_VERSION + 1);
}
