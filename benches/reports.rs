//! Task reports on a grown company: 100,000 tasks over a year in eight
//! departments of ten people, measured through HTTP against a real server
//! with a real database file.
//!
//! `cargo bench --bench reports` (add `-- --quick` for 10,000 tasks).
//! The year is written through the core (`tasks::service`) on a manual
//! clock, week by week: each task is created, started and handed in by its
//! assignee and completed by the system (most in time, one in five after
//! its deadline, a few sent back once first, a few rejected); the last
//! week's tasks are left open and the overdue job marks the late ones.
//! Then it prints p50/p99 over 200 runs of:
//! - a manager's department report for this month and for last month;
//! - the director's company report for this month (with its previous month);
//! - the director's ranking of the whole company for this month.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::app::AppState;
use idora::auth::{Caller, Principal};
use idora::config::Config;
use idora::store::schema::TaskStatus;
use idora::tasks::service as tasks;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const DEPARTMENTS: usize = 8;
const PEOPLE: usize = 10;
const WEEKS: usize = 52;
const WORKERS: usize = 32;
const RUNS: usize = 200;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs `f` over `items` with [`WORKERS`] concurrent workers.
async fn each<T, F, Fut>(items: Vec<T>, f: F)
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let items = Arc::new(items);
    let next = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..WORKERS {
        let (items, next, f) = (items.clone(), next.clone(), f.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(k).cloned() else { break };
                f(item).await;
            }
        }));
    }
    for h in handles {
        h.await.expect("worker");
    }
}

async fn timed(http: &reqwest::Client, url: &str, token: &str, runs: usize) -> (Vec<Duration>, Value) {
    let mut out = Vec::with_capacity(runs);
    let mut last = Value::Null;
    for _ in 0..runs {
        let t = Instant::now();
        let r = http.get(url).bearer_auth(token).send().await.expect("answers");
        assert_eq!(r.status(), 200, "{url}");
        last = r.json().await.expect("JSON");
        out.push(t.elapsed());
    }
    out.sort();
    (out, last)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let total: usize = if quick { 10_000 } else { 100_000 };
    let per_week = total / WEEKS;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        login_per_minute: 1000,
        ..Config::default()
    };
    // The year is written on a clock the bench moves; reports are read at the present.
    let present = jiff::Timestamp::now();
    let start = present - jiff::SignedDuration::from_hours(24 * 7 * WEEKS as i64);
    let clock = Arc::new(idora::clock::ManualClock::new(start));
    let state = AppState::open(config, clock.clone()).expect("state");
    idora::demo::seed(&state).await.expect("demo");
    let tenant = state.tenants.get("demo").expect("demo");
    let db = tenant.db().expect("db");
    let system = Caller::System;

    // Eight departments of ten: a manager and nine employees each.
    let mut people: Vec<(u64, usize)> = Vec::new();
    let mut managers = Vec::new();
    for d in 0..DEPARTMENTS {
        let input = idora::org::service::DepartmentInput { name: Some(format!("Bo‘lim {d}")), ..Default::default() };
        let dept = idora::org::service::create_department(&state, &tenant, &system, input).await.expect("department");
        for p in 0..PEOPLE {
            let username = format!("u{d}x{p}");
            let user = idora::org::service::NewUser {
                username: username.clone(),
                full_name: format!("Xodim {d}-{p}"),
                role: if p == 0 { "manager".into() } else { "employee".into() },
                department_id: Some(dept),
                password: None,
                ..Default::default()
            };
            let id = idora::org::service::insert_user(db, state.now_ms(), &system, user, idora::demo::PASSWORD.into()).await.expect("user");
            if p == 0 {
                managers.push((username, dept));
            }
            people.push((id, d));
        }
    }
    let callers: Arc<std::collections::HashMap<u64, Caller>> = Arc::new(
        people
            .iter()
            .map(|(id, _)| {
                let p = Principal::load(&tenant, *id, "bench".into(), idora::i18n::Lang::Uz).expect("principal");
                (*id, Caller::User(Box::new(p)))
            })
            .collect(),
    );

    // The year, week by week.
    let t0 = Instant::now();
    let day = jiff::SignedDuration::from_hours(24);
    let mut made = 0usize;
    for week in 0..WEEKS {
        let monday = start + jiff::SignedDuration::from_hours(24 * 7 * week as i64);
        clock.set(monday);
        let deadline = (monday + day * 3).to_string();
        let batch: Vec<(usize, u64)> = (0..per_week).map(|k| (made + k, people[(made + k) % people.len()].0)).collect();
        made += per_week;
        let created = Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let (state, tenant, created, deadline) = (state.clone(), tenant.clone(), created.clone(), deadline.clone());
            each(batch, move |(i, assignee)| {
                let (state, tenant, created, deadline) = (state.clone(), tenant.clone(), created.clone(), deadline.clone());
                async move {
                    let input = tasks::NewTask {
                        title: format!("Vazifa {i}"),
                        description: format!("Hisobot bo‘yicha ish {i}"),
                        assignee_id: assignee,
                        deadline,
                        points: (i % 10) as u32,
                        ..Default::default()
                    };
                    let (id, _) = tasks::create(&state, &tenant, &Caller::System, input).await.expect("create");
                    created.lock().unwrap().push((i, id, assignee));
                }
            })
            .await;
        }
        // The last week stays open (late by now).
        if week + 1 >= WEEKS {
            continue;
        }
        let work: Vec<(usize, u64, u64)> = created.lock().unwrap().clone();
        clock.set(monday + day);
        let step = |to: TaskStatus, who: Option<u64>| {
            let (state, tenant, callers) = (state.clone(), tenant.clone(), callers.clone());
            move |(_, id, assignee): (usize, u64, u64)| {
                let (state, tenant, callers) = (state.clone(), tenant.clone(), callers.clone());
                async move {
                    let caller = match who {
                        Some(_) => callers[&assignee].clone(),
                        None => Caller::System,
                    };
                    let note = matches!(to, TaskStatus::Redo | TaskStatus::Rejected).then(|| "Qayta ko‘ring".to_string());
                    tasks::change_status(&state, &tenant, &caller, id, to, note).await.expect("move");
                }
            }
        };
        // One in twenty is rejected; the rest are worked on and handed in.
        let (rejected, worked): (Vec<_>, Vec<_>) = work.into_iter().partition(|(i, _, _)| i % 20 == 7);
        each(rejected, step(TaskStatus::Rejected, None)).await;
        each(worked.clone(), step(TaskStatus::InProgress, Some(0))).await;
        each(worked.clone(), step(TaskStatus::PendingReview, Some(0))).await;
        // One in twenty-five is sent back once, then handed in again.
        let redo: Vec<_> = worked.iter().copied().filter(|(i, _, _)| i % 25 == 3).collect();
        clock.set(monday + day + jiff::SignedDuration::from_hours(4));
        each(redo.clone(), step(TaskStatus::Redo, None)).await;
        each(redo.clone(), step(TaskStatus::InProgress, Some(0))).await;
        each(redo, step(TaskStatus::PendingReview, Some(0))).await;
        // Four in five completed in time, one in five after the deadline.
        let (late, in_time): (Vec<_>, Vec<_>) = worked.into_iter().partition(|(i, _, _)| i % 5 == 4);
        clock.set(monday + day * 2);
        each(in_time, step(TaskStatus::Completed, None)).await;
        clock.set(monday + day * 4);
        each(late, step(TaskStatus::Completed, None)).await;
        if week % 10 == 0 {
            println!("week {week}: {made} tasks, {:.0} s", t0.elapsed().as_secs_f64());
        }
    }
    clock.set(present);
    let late = tasks::mark_overdue(&state, &tenant).await.expect("overdue job");
    println!(
        "seeded {made} tasks ({} departments of {PEOPLE}) over {WEEKS} weeks in {:.0} s; {late} late now",
        DEPARTMENTS,
        t0.elapsed().as_secs_f64()
    );

    let server = idora::web::server::start(state).await.expect("server");
    let base = server.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(8).build().expect("client");
    let login = |username: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let v: Value = http
                .post(format!("{base}/c/demo/api/v1/auth/login"))
                .json(&json!({"username": username, "password": idora::demo::PASSWORD}))
                .send()
                .await
                .expect("login")
                .json()
                .await
                .expect("JSON");
            v["access_token"].as_str().expect("token").to_string()
        }
    };
    let manager = login(managers[3].0.clone()).await;
    let director = login("director".into()).await;
    let today = present.to_zoned(jiff::tz::TimeZone::get("Asia/Tashkent").expect("tz")).date();
    let last_month = today.first_of_month().yesterday().expect("day");
    let api = format!("{base}/c/demo/api/v1/reports");
    let cases = [
        ("department, this month (manager)", format!("{api}/department?period=month"), manager.clone()),
        ("department, last month (manager)", format!("{api}/department?period=month&from={last_month}"), manager.clone()),
        ("company, this month vs previous (director)", format!("{api}/company?period=month"), director.clone()),
        ("ranking, whole company, this month (director)", format!("{api}/ranking?period=month"), director.clone()),
    ];
    println!("| Report ({made} tasks) | Rows | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for (what, url, token) in cases {
        let (lat, body) = timed(&http, &url, &token, RUNS).await;
        let rows = body["rows"].as_array().map(Vec::len).unwrap_or(0);
        let done = &body["totals"]["done"];
        println!(
            "| {what} | {rows} (done {done}) | {} | {} | {} |",
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            ms(*lat.last().expect("runs"))
        );
    }
    let db_size = std::fs::metadata(dir.path().join("tenants/demo/data.redb")).map(|m| m.len()).unwrap_or(0);
    println!("data.redb: {:.1} MB; {RUNS} runs each, one client", db_size as f64 / 1e6);
}
