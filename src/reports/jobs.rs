//! Long work a person waits for — a big export, a Google Sheets sync —
//! runs in the background as a job: it counts its progress, the page polls
//! `GET /jobs/{id}` and shows a bar, and an export's file is fetched when
//! it is ready. Jobs live in memory: a restart forgets them (the file of
//! an export is written again on demand; a sync records its last result in
//! the company's file). Finished jobs are forgotten after [`KEEP_MS`].

use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// How long a finished job (and its file) is kept: an hour.
pub const KEEP_MS: i64 = 3_600_000;

/// How a job ended, or that it has not.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Running,
    /// Finished; an export's file with the name the browser saves it under.
    Done {
        file: Option<(PathBuf, String, &'static str)>,
    },
    /// The reason, in the reader's language.
    Failed(String),
}

/// One job.
#[derive(Debug)]
pub struct Job {
    pub id: String,
    /// The company it runs for.
    pub slug: String,
    /// Who started it (0: the system): only they, and those who see every report, read it.
    pub owner: u64,
    /// What it does, in the starter's language ("Tasks — XLSX").
    pub what: String,
    pub started_at: i64,
    total: AtomicU64,
    done: AtomicU64,
    state: Mutex<(State, Option<i64>)>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub what: String,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    /// Rows (or steps) to do; 0 while not yet known.
    pub total: u64,
    pub done: u64,
    /// 0–100; `null` while the total is not known.
    pub percent: Option<u8>,
    pub error: Option<String>,
    /// Where to fetch the file of a finished export.
    pub download_url: Option<String>,
}

impl Job {
    pub fn set_total(&self, n: u64) {
        self.total.store(n, Ordering::Relaxed);
    }

    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    pub fn done_count(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn finish(&self, file: Option<(PathBuf, String, &'static str)>, now_ms: i64) {
        if let Ok(mut s) = self.state.lock() {
            *s = (State::Done { file }, Some(now_ms));
        }
    }

    pub fn fail(&self, reason: String, now_ms: i64) {
        if let Ok(mut s) = self.state.lock() {
            *s = (State::Failed(reason), Some(now_ms));
        }
    }

    pub fn state(&self) -> State {
        self.state.lock().map(|s| s.0.clone()).unwrap_or(State::Failed("lock".into()))
    }

    fn ended_at(&self) -> Option<i64> {
        self.state.lock().ok().and_then(|s| s.1)
    }

    /// The view of the API; `base` is the company's API root (`/c/acme/api/v1`).
    pub fn view(&self, base: &str) -> JobView {
        let (total, done) = (self.total.load(Ordering::Relaxed), self.done.load(Ordering::Relaxed));
        let state = self.state();
        let percent = match &state {
            State::Done { .. } => Some(100),
            _ if total > 0 => Some(u8::try_from((done.min(total) * 100) / total).unwrap_or(100)),
            _ => None,
        };
        JobView {
            id: self.id.clone(),
            what: self.what.clone(),
            state: match state {
                State::Running => "running",
                State::Done { .. } => "done",
                State::Failed(_) => "failed",
            },
            total,
            done,
            percent,
            error: match &state {
                State::Failed(r) => Some(r.clone()),
                _ => None,
            },
            download_url: match &state {
                State::Done { file: Some(_) } => Some(format!("{base}/jobs/{}/file", self.id)),
                _ => None,
            },
        }
    }
}

/// The jobs of this process.
#[derive(Default)]
pub struct Jobs {
    all: Mutex<HashMap<String, Arc<Job>>>,
}

impl Jobs {
    /// Starts keeping a new job (the caller runs it) and forgets old finished ones.
    pub fn start(&self, slug: &str, who: &Caller, what: String, now_ms: i64) -> Arc<Job> {
        let job = Arc::new(Job {
            id: hex::encode(crate::store::random_bytes::<12>()),
            slug: slug.to_string(),
            owner: who.id(),
            what,
            started_at: now_ms,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            state: Mutex::new((State::Running, None)),
        });
        if let Ok(mut all) = self.all.lock() {
            let old: Vec<String> =
                all.iter().filter(|(_, j)| j.ended_at().is_some_and(|t| now_ms - t > KEEP_MS)).map(|(k, _)| k.clone()).collect();
            for k in old {
                if let Some(j) = all.remove(&k)
                    && let State::Done { file: Some((path, _, _)) } = j.state()
                {
                    let _ = std::fs::remove_file(path);
                }
            }
            all.insert(job.id.clone(), job.clone());
        }
        job
    }

    /// A job of company `slug` that `who` may read: their own, or any with
    /// `reports.view_all`. Others' jobs and unknown ids are not found alike.
    pub fn get(&self, slug: &str, who: &Caller, id: &str) -> Result<Arc<Job>, AppError> {
        let job = self.all.lock().ok().and_then(|all| all.get(id).cloned()).ok_or(ErrorKind::NotFound)?;
        if job.slug != slug || !(job.owner == who.id() && who.user().is_some() || who.can("reports.view_all")) {
            return Err(ErrorKind::NotFound.into());
        }
        Ok(job)
    }
}
