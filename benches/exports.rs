//! Exporting 1,000,000 rows of task history to XLSX (and CSV): time and
//! peak memory.
//!
//! `cargo bench --bench exports` (add `-- --quick` for 100,000 rows).
//!
//! A company's file is written straight through the store (no HTTP, no
//! rules: 100,000 tasks × 10 history events, 40 people in 4 departments)
//! by a first child process; a second child opens it as the server would
//! and runs the export the job of `POST /exports/tasks.xlsx` runs
//! (`reports::history::write_xlsx`: one read transaction, rows in key
//! order, a constant-memory worksheet in a temp file), then the CSV one
//! into a sink. The child prints its peak resident memory (VmHWM) before
//! and after each export: the growth is what the export costs.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::i18n::Lang;
use idora::reports::Scope;
use idora::reports::history::{self, Export, HistoryTable};
use idora::store::schema::{AccountV1, DEPARTMENTS, DepartmentV2, TASK_EVENTS, TASKS, TaskEventV1, TaskStatus, TaskV1, USERS};
use idora::store::{Db, DbOptions};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const EVENTS: u64 = 10;
const PEOPLE: u64 = 40;
const DEPTS: u64 = 4;
/// Tasks per write transaction while seeding.
const BATCH: u64 = 5_000;

/// `VmHWM` and `VmRSS` of this process, in MB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| -> f64 {
        status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

fn db_path(dir: &Path) -> std::path::PathBuf {
    dir.join("data.redb")
}

const STATUSES: [&str; 6] = ["new", "in_progress", "pending_review", "redo", "in_progress", "pending_review"];

async fn seed(dir: &Path, tasks: u64) {
    let opts = DbOptions { writer_idle: Duration::from_millis(200), ..DbOptions::default() };
    let db = Db::create(&db_path(dir), &idora::store::migrate::TENANT, opts).unwrap();
    let t0: i64 = 1_764_547_200_000; // 2025-12-01
    db.write(move |tx| {
        let mut d = DEPARTMENTS.open(tx)?;
        for i in 1..=DEPTS {
            let names = ["Kredit bo‘limi", "Kassa", "Buxgalteriya", "Mijozlar bilan ishlash"];
            let name = names[(i - 1) as usize].to_string();
            d.insert(i, &DepartmentV2 { name, active: true, created_at: t0, name_ru: String::new(), name_en: String::new() })?;
        }
        let mut u = USERS.open(tx)?;
        for i in 1..=PEOPLE {
            let a = AccountV1 {
                username: format!("user{i}"),
                full_name: format!("Xodim {i} Aliyev"),
                phone: None,
                role: "employee".into(),
                department_id: Some(1 + i % DEPTS),
                branch_id: None,
                active: true,
                password_hash: String::new(),
                language: None,
                created_at: t0,
                updated_at: t0,
                failed_logins: 0,
                locked_until: None,
            };
            u.insert(i, &a)?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let started = Instant::now();
    let mut first = 1;
    while first <= tasks {
        let last = (first + BATCH - 1).min(tasks);
        db.write(move |tx| {
            let mut t = TASKS.open(tx)?;
            let mut e = TASK_EVENTS.open(tx)?;
            for id in first..=last {
                let assignee = 1 + id % PEOPLE;
                let creator = 1 + (id * 7) % PEOPLE;
                let at = t0 + (id as i64) * 240_000;
                let task = TaskV1 {
                    title: format!("Oylik hisobot №{id}: filial bo‘yicha kredit portfeli"),
                    description: String::new(),
                    creator_id: creator,
                    assignee_id: assignee,
                    department_id: Some(1 + assignee % DEPTS),
                    category_id: None,
                    points: 10,
                    start_at: None,
                    deadline: at + 3 * 86_400_000,
                    status: TaskStatus::Completed,
                    created_at: at,
                    updated_at: at + 2 * 86_400_000,
                    spent_ms: 3_600_000,
                    working_since: None,
                    redo_count: 1,
                    overdue_at: None,
                    completed_at: Some(at + 2 * 86_400_000),
                    points_awarded: 10,
                    deadline_request: None,
                };
                t.insert(id, &task)?;
                for n in 0..EVENTS {
                    let (kind, from, to) = match n {
                        0 => ("created", None, Some("new".to_string())),
                        n if n == EVENTS - 1 => ("status", Some("pending_review".to_string()), Some("completed".to_string())),
                        n => {
                            let i = (n as usize) % STATUSES.len();
                            ("status", Some(STATUSES[i].to_string()), Some(STATUSES[(i + 1) % STATUSES.len()].to_string()))
                        }
                    };
                    let ev = TaskEventV1 {
                        at: at + (n as i64) * 3_600_000,
                        actor_id: if n % 2 == 0 { creator } else { assignee },
                        actor_name: format!("Xodim {} Aliyev", if n % 2 == 0 { creator } else { assignee }),
                        kind: kind.into(),
                        field: None,
                        from,
                        to,
                        comment: (n % 3 == 0).then(|| "Tekshirib chiqdim, hammasi joyida".to_string()),
                    };
                    e.insert((id, n + 1), &ev)?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
        first = last + 1;
    }
    println!(
        "seeded {tasks} tasks × {EVENTS} events in {:.1} s; file {:.0} MB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(db_path(dir)).unwrap().len() as f64 / 1e6
    );
}

fn export(dir: &Path) {
    let db = Db::open(&db_path(dir), &idora::store::migrate::TENANT, DbOptions::default()).unwrap();
    let tz = jiff::tz::TimeZone::get("Asia/Tashkent").unwrap();
    let ask = Export { table: HistoryTable::Tasks, scope: Scope::All, lang: Lang::Uz, range: None };
    let total = history::count(&db, &Scope::All, HistoryTable::Tasks).unwrap();
    let (base, rss) = memory();
    println!("child: opened the file, {total} history rows; VmHWM {base:.1} MB, VmRSS {rss:.1} MB");

    let out = dir.join("tasks.xlsx");
    let started = Instant::now();
    let mut done = 0u64;
    let rows = history::write_xlsx(&db, &tz, &ask, dir, &out, &mut |n| done += n).unwrap();
    let took = started.elapsed();
    let (peak, rss) = memory();
    assert_eq!(rows, total, "every row written");
    assert_eq!(done, total, "progress counted every row");
    println!(
        "XLSX: {rows} rows in {:.1} s ({:.0} rows/s), file {:.0} MB; VmHWM {peak:.1} MB (+{:.1} MB over the baseline), VmRSS after {rss:.1} MB",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        std::fs::metadata(&out).unwrap().len() as f64 / 1e6,
        peak - base
    );
    std::fs::remove_file(&out).unwrap();

    let started = Instant::now();
    let rows = history::write_csv(&db, &tz, &ask, ';', std::io::BufWriter::new(std::io::sink()), &mut |_| {}).unwrap();
    let took = started.elapsed();
    let (peak2, _) = memory();
    println!(
        "CSV:  {rows} rows in {:.1} s ({:.0} rows/s); VmHWM {peak2:.1} MB (+{:.1} MB over the baseline)",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64(),
        peak2 - base
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--seed-child") {
        let (dir, tasks) = (Path::new(&args[i + 1]), args[i + 2].parse().unwrap());
        tokio::runtime::Runtime::new().unwrap().block_on(seed(dir, tasks));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--export-child") {
        export(Path::new(&args[i + 1]));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let tasks: u64 = if quick { 10_000 } else { 100_000 };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap().to_string();
    let me = std::env::current_exe().unwrap();
    // Each step in its own process: the file is closed between them, and the
    // export's peak memory is its own, not the seeding's.
    let ok = Command::new(&me).args(["--seed-child", &dir, &tasks.to_string()]).status().unwrap();
    assert!(ok.success(), "seeding");
    let ok = Command::new(&me).args(["--export-child", &dir]).status().unwrap();
    assert!(ok.success(), "exporting");
}
