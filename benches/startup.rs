//! Start-up and idle cost with many companies, measured on the real binary.
//!
//! `cargo bench --bench startup` (add `-- --quick` for one minute of ticks
//! instead of three, `-- --cold` for the start-up figures only, without the
//! minutes of idle ticks). For 100 and 1,000 companies it prints:
//! - the time from spawning `idora serve` to the first `200` of `/readyz`
//!   (the median of five starts), and how many company databases are open then;
//! - the CPU time the process uses over minutes of scheduled ticks with every
//!   company idle, next to the same figure for a server with no company.
//!
//! The companies are written as an older version left them (a registry row
//! and an empty database each, no saved due times); a first run lets the
//! server look at each once and save their due times, as it does after an
//! upgrade, and the measured runs start from there.

// A bench states what it measures by failing loudly: the crate's lints
// against unwrap, expect, panic and indexing are for the product's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use idora::store::Db;
use idora::store::schema::{self, CompanyRecord, CompanyStatus, CompanyV1, Versioned};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A data folder with `n` companies (and their empty databases).
async fn prepare(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let platform = Db::create(&dir.join("platform.redb"), &idora::store::migrate::PLATFORM, idora::store::DbOptions::default()).unwrap();
    let slugs: Vec<String> = (0..n).map(|i| format!("company-{i:04}")).collect();
    for slug in &slugs {
        let tdir = idora::tenancy::tenant_dir(dir, slug);
        std::fs::create_dir_all(&tdir).unwrap();
        drop(Db::create(&tdir.join("data.redb"), &idora::store::migrate::TENANT, idora::store::DbOptions::default()).unwrap());
    }
    platform
        .write(move |tx| {
            let mut t = schema::COMPANIES.open(tx)?;
            for slug in &slugs {
                let rec = CompanyV1 {
                    name: format!("{slug} Ltd"),
                    timezone: "Asia/Tashkent".into(),
                    language: "uz".into(),
                    status: CompanyStatus::Active,
                    created_at: 0,
                };
                t.insert(slug.as_str(), &CompanyRecord::V1(rec).into_latest())?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn spawn(data: &Path) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_idora"))
            // The prepared folders have companies but no key yet: the first start makes one.
            .args(["serve", "--new-secret", "--data", data.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .env("IDORA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Server { child, base: format!("http://127.0.0.1:{port}") }
    }

    /// Polls `/readyz` until it answers 200; returns its body.
    async fn ready(&self, http: &reqwest::Client) -> serde_json::Value {
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return r.json().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// User + system CPU time of the process so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
    }

    /// Resident memory (MB) and thread count, from `/proc/<pid>/status`.
    fn rss_and_threads(&self) -> (f64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| -> u64 {
            status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        (field("VmRSS:") as f64 / 1024.0, field("Threads:"))
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cold_only = std::env::args().any(|a| a == "--cold");
    let idle = Duration::from_secs(if quick { 65 } else { 185 });
    let http = reqwest::Client::new();
    let root = tempfile::tempdir().unwrap();
    let mut idle_runs = Vec::new();
    for n in [0usize, 100, 1000] {
        let data: PathBuf = root.path().join(format!("n{n}"));
        let t = Instant::now();
        prepare(&data, n).await;
        let prepared = t.elapsed();
        // The first run: the catch-up tick looks at every company once and
        // saves its due time (none is due), as after an upgrade.
        let s = Server::spawn(&data);
        let t = Instant::now();
        s.ready(&http).await;
        let first_ready = t.elapsed();
        let mut first_open = 0;
        for _ in 0..600 {
            first_open = s.ready(&http).await["databases_open"].as_u64().unwrap_or(0) - 1;
            if first_open as usize >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The tick saves the due times as it ends.
        tokio::time::sleep(Duration::from_secs(1)).await;
        s.stop();

        let mut starts = Vec::new();
        let mut open_at_ready = 0;
        for _ in 0..5 {
            let s = Server::spawn(&data);
            let t = Instant::now();
            let body = s.ready(&http).await;
            starts.push(t.elapsed());
            open_at_ready = body["databases_open"].as_u64().unwrap_or(0) - 1;
            s.stop();
        }
        starts.sort();
        println!(
            "{n:>5} companies: ready in {} (median of 5; min {}, max {}); company databases open at ready: {open_at_ready} \
             (first run after an upgrade: ready in {}, {first_open} opened once by the catch-up tick; data written in {})",
            ms(starts[2]),
            ms(starts[0]),
            ms(starts[4]),
            ms(first_ready),
            ms(prepared),
        );
        if n == 100 {
            let verdict = if starts[2] < Duration::from_millis(300) { "met" } else { "NOT met" };
            println!("  100 companies, start to /readyz 200 < 300 ms: {verdict} (median {})", ms(starts[2]));
        }
        if cold_only {
            continue;
        }
        // Idle: minutes of ticks with nothing due, every server at once.
        let s = Server::spawn(&data);
        s.ready(&http).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        idle_runs.push((n, s.cpu(), s, data));
    }
    tokio::time::sleep(idle).await;
    for (n, before, s, _) in idle_runs {
        let used = s.cpu().saturating_sub(before);
        let open = s.ready(&http).await["databases_open"].as_u64().unwrap_or(0) - 1;
        let (rss, threads) = s.rss_and_threads();
        println!(
            "{n:>5} companies idle for {} s of ticks: CPU {} ({} per minute); company databases open at the end: {open}; \
             RSS {rss:.1} MB, {threads} threads",
            idle.as_secs(),
            ms(used),
            ms(used.mul_f64(60.0 / idle.as_secs_f64())),
        );
        s.stop();
    }
}
