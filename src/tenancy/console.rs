//! What the platform console shows: figures over every company, each
//! company's storage, the platform admins, and the instance itself
//! (version, uptime, free space, health). Every read takes a platform
//! admin as its caller.
//!
//! The figures that need a company's own file (users, tickets and tasks
//! taken today, the bytes of its files) are kept per company for a minute,
//! so a console open on a screen does not keep every company's file open;
//! the list, statuses and database sizes are read fresh (the registry in
//! memory and the file system).

use super::Tenant;
use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::{Caller, password};
use crate::error::{AppError, ErrorKind};
use crate::org::service::parse_username;
use crate::store::schema::{self, CompanyStatus};
use crate::store::store_err;
use redb::ReadableTable;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a company's counted figures are reused.
pub const FIGURES_TTL: Duration = Duration::from_secs(60);

fn require_platform(actor: &Caller) -> Result<(), AppError> {
    match actor {
        Caller::Platform { .. } | Caller::System => Ok(()),
        _ => Err(ErrorKind::Forbidden.into()),
    }
}

/// When the process started (set when the registry is loaded).
pub(crate) fn started() -> Instant {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    *STARTED.get_or_init(Instant::now)
}

/// What counting a company's own file gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub users: u64,
    pub tickets_today: u64,
    pub tasks_today: u64,
    pub files_bytes: u64,
}

/// Each company's [`Counts`] with when they were taken.
#[derive(Default)]
pub struct FiguresCache(Mutex<HashMap<String, (Instant, Counts)>>);

impl FiguresCache {
    fn get(&self, slug: &str) -> Option<Counts> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(slug).filter(|(at, _)| at.elapsed() < FIGURES_TTL).map(|(_, c)| *c)
    }

    fn put(&self, slug: &str, c: Counts) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(slug.to_string(), (Instant::now(), c));
    }

    /// Forgets a company (deleted, or its figures changed by the console).
    pub fn forget(&self, slug: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(slug);
    }
}

/// One company's line in the console.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanyFigures {
    pub slug: String,
    pub name: String,
    /// `active`, `inactive` or `archived`.
    pub status: String,
    /// Absent for an archived company (its file is not opened) or one whose file cannot be read.
    pub users: Option<u64>,
    pub tickets_today: Option<u64>,
    pub tasks_today: Option<u64>,
    /// Size of `tenants/<slug>/data.redb`.
    pub database_bytes: u64,
    /// Bytes of its uploaded files (what counts against its quota).
    pub files_bytes: Option<u64>,
}

/// The platform at a glance.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub companies_active: u64,
    pub companies_inactive: u64,
    pub companies_archived: u64,
    /// Users of every company that is not archived.
    pub users: u64,
    /// Queue tickets taken today (each company's own day).
    pub tickets_today: u64,
    /// Tasks created today (each company's own day).
    pub tasks_today: u64,
    pub companies: Vec<CompanyFigures>,
}

/// Counts one company from its own file: users (one table length), and
/// tickets and tasks created since its local midnight, read backwards from
/// the newest (ids grow with time), so the cost is today's rows only.
fn count(state: &AppState, tenant: &Tenant) -> Result<Counts, AppError> {
    let tz = tenant.timezone();
    let now = crate::clock::from_ms(state.now_ms()).to_zoned(tz);
    let midnight = now.start_of_day().map(|z| z.timestamp().as_millisecond()).unwrap_or(i64::MIN);
    let db = tenant.db()?;
    let tx = db.read()?;
    let users = schema::USERS.open(&tx)?.count()?;
    // Ids grow with time: read back from the newest until one is older.
    let tickets_today = since(schema::TICKETS.open(&tx)?.iter()?.rev().map(|r| r.map(|(_, t)| t.created_at)), midnight)?;
    let tasks_today = since(schema::TASKS.open(&tx)?.iter()?.rev().map(|r| r.map(|(_, t)| t.created_at)), midnight)?;
    let usage = tx.open_table(schema::FILE_USAGE).map_err(store_err)?;
    let files_bytes = usage.get("bytes").map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
    Ok(Counts { users, tickets_today, tasks_today, files_bytes })
}

pub fn status_str(s: CompanyStatus) -> &'static str {
    match s {
        CompanyStatus::Active => "active",
        CompanyStatus::Inactive => "inactive",
        CompanyStatus::Archived => "archived",
    }
}

/// The figures of every company, by name.
pub async fn overview(state: &AppState, actor: &Caller) -> Result<Overview, AppError> {
    require_platform(actor)?;
    let mut tenants = state.tenants.all();
    tenants.sort_by_key(|t| t.info().name.to_lowercase());
    let cache = &state.tenants.figures;
    let mut out = Overview {
        companies_active: 0,
        companies_inactive: 0,
        companies_archived: 0,
        users: 0,
        tickets_today: 0,
        tasks_today: 0,
        companies: Vec::with_capacity(tenants.len()),
    };
    for t in tenants {
        let info = t.info();
        match info.status {
            CompanyStatus::Active => out.companies_active += 1,
            CompanyStatus::Inactive => out.companies_inactive += 1,
            CompanyStatus::Archived => out.companies_archived += 1,
        }
        let database_bytes = std::fs::metadata(t.db_path()).map(|m| m.len()).unwrap_or(0);
        let counts = if info.status == CompanyStatus::Archived {
            None
        } else if let Some(c) = cache.get(&t.slug) {
            Some(c)
        } else {
            // Reading a company's file may take a moment: off the async threads.
            let (s, tt) = (state.clone(), t.clone());
            match tokio::task::spawn_blocking(move || count(&s, &tt)).await {
                Ok(Ok(c)) => {
                    cache.put(&t.slug, c);
                    Some(c)
                }
                Ok(Err(e)) => {
                    tracing::warn!(company = %t.slug, error = %e, "console figures not counted");
                    None
                }
                Err(e) => {
                    tracing::warn!(company = %t.slug, error = %e, "console figures not counted");
                    None
                }
            }
        };
        if let Some(c) = counts {
            out.users += c.users;
            out.tickets_today += c.tickets_today;
            out.tasks_today += c.tasks_today;
        }
        out.companies.push(CompanyFigures {
            slug: t.slug.clone(),
            name: info.name,
            status: status_str(info.status).into(),
            users: counts.map(|c| c.users),
            tickets_today: counts.map(|c| c.tickets_today),
            tasks_today: counts.map(|c| c.tasks_today),
            database_bytes,
            files_bytes: counts.map(|c| c.files_bytes),
        });
    }
    Ok(out)
}

/// One company's problem, for the console's health list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `platform` or the company's slug.
    pub source: String,
    pub detail: String,
}

/// The instance itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Instance {
    pub version: String,
    pub uptime_secs: u64,
    /// Free bytes for Idora on the data folder's file system (`None`: unknown).
    pub free_bytes: Option<u64>,
    pub total_bytes: Option<u64>,
    /// What `/readyz` would say: empty when every file serves.
    pub problems: Vec<Problem>,
}

/// Bytes free for an unprivileged user and the size of the file system at `path`.
fn disk_space(path: &std::path::Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((s.f_bavail.saturating_mul(s.f_frsize), s.f_blocks.saturating_mul(s.f_frsize)))
}

/// Why each database cannot serve, if any (the platform file, then each
/// company that is not archived), without opening a closed file.
pub fn problems(state: &AppState) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(p) = state.platform.problem() {
        out.push(Problem { source: "platform".into(), detail: format!("platform.redb: {p}") });
    }
    for t in state.tenants.all() {
        if t.is_archived() {
            continue;
        }
        if let Some(p) = t.problem() {
            out.push(Problem { source: t.slug.clone(), detail: p });
        }
    }
    out
}

pub fn instance(state: &AppState, actor: &Caller) -> Result<Instance, AppError> {
    require_platform(actor)?;
    let space = disk_space(state.tenants.data_dir());
    Ok(Instance {
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_secs: started().elapsed().as_secs(),
        free_bytes: space.map(|s| s.0),
        total_bytes: space.map(|s| s.1),
        problems: problems(state),
    })
}

// ---------- platform admins ----------

/// One platform admin as the console lists them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlatformAdminRow {
    pub id: u64,
    pub username: String,
    pub created_at: i64,
    /// The caller themself.
    pub you: bool,
}

fn caller_id(actor: &Caller) -> u64 {
    match actor {
        Caller::Platform { id, .. } => *id,
        _ => 0,
    }
}

pub fn list_admins(state: &AppState, actor: &Caller) -> Result<Vec<PlatformAdminRow>, AppError> {
    require_platform(actor)?;
    let me = caller_id(actor);
    let tx = state.platform.read()?;
    let mut out = Vec::new();
    for row in schema::ADMINS.open(&tx)?.iter()? {
        let (k, a) = row?;
        let id = k.value();
        out.push(PlatformAdminRow { id, username: a.username, created_at: a.created_at, you: id == me });
    }
    out.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(out)
}

/// Adds a platform admin; a username already taken is refused.
pub async fn add_admin(state: &AppState, actor: &Caller, username: &str, password_plain: String) -> Result<PlatformAdminRow, AppError> {
    require_platform(actor)?;
    let username = parse_username(username)?;
    password::validate(&password_plain)?;
    let hash = password::hash(password_plain).await?;
    let now = state.now_ms();
    let who = actor.clone();
    state
        .platform
        .write(move |tx| {
            let mut names = tx.open_table(schema::ADMINS_BY_NAME).map_err(store_err)?;
            if names.get(username.as_str()).map_err(store_err)?.is_some() {
                return Err(AppError::invalid("username", "error.username_taken"));
            }
            let id = crate::store::next_id(tx, "admin")?;
            names.insert(username.as_str(), id).map_err(store_err)?;
            drop(names);
            let acc = super::service::new_platform_admin(&username, hash.clone(), now);
            schema::ADMINS.open(tx)?.insert(id, &acc)?;
            let mut ch = Changes::default();
            ch.set("username", &username);
            audit::record(tx, now, &who, "platform_admin.create", &format!("platform_admin:{id}"), ch.0)?;
            Ok(PlatformAdminRow { id, username: username.clone(), created_at: now, you: false })
        })
        .await
}

fn admin_not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.platform_admin_not_found")
}

/// Sets a new password for a platform admin (unlocks the account too).
pub async fn reset_admin_password(state: &AppState, actor: &Caller, id: u64, password_plain: String) -> Result<(), AppError> {
    require_platform(actor)?;
    password::validate(&password_plain)?;
    let hash = password::hash(password_plain).await?;
    let now = state.now_ms();
    let who = actor.clone();
    state
        .platform
        .write(move |tx| {
            let mut admins = schema::ADMINS.open(tx)?;
            let mut a = admins.get(id)?.ok_or_else(admin_not_found)?;
            a.password_hash = hash.clone();
            a.failed_logins = 0;
            a.locked_until = None;
            a.updated_at = now;
            admins.insert(id, &a)?;
            drop(admins);
            let mut ch = Changes::default();
            ch.set("username", &a.username);
            audit::record(tx, now, &who, "platform_admin.password_reset", &format!("platform_admin:{id}"), ch.0)?;
            Ok(())
        })
        .await
}

/// Removes a platform admin: never the caller, never the last one. Their
/// sessions end with the account (every request loads it).
pub async fn remove_admin(state: &AppState, actor: &Caller, id: u64) -> Result<(), AppError> {
    require_platform(actor)?;
    if caller_id(actor) == id {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.platform_admin_self"));
    }
    let now = state.now_ms();
    let who = actor.clone();
    state
        .platform
        .write(move |tx| {
            let mut admins = schema::ADMINS.open(tx)?;
            let a = admins.get(id)?.ok_or_else(admin_not_found)?;
            if admins.count()? <= 1 {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.platform_admin_last"));
            }
            admins.remove(id)?;
            drop(admins);
            let mut names = tx.open_table(schema::ADMINS_BY_NAME).map_err(store_err)?;
            names.remove(a.username.as_str()).map_err(store_err)?;
            drop(names);
            let mut ch = Changes::default();
            ch.set("username", &a.username);
            audit::record(tx, now, &who, "platform_admin.remove", &format!("platform_admin:{id}"), ch.0)?;
            Ok(())
        })
        .await
}

/// How many of `created` (newest first) are at or after `midnight`.
fn since(created: impl Iterator<Item = Result<i64, AppError>>, midnight: i64) -> Result<u64, AppError> {
    let mut n = 0;
    for at in created {
        if at? < midnight {
            break;
        }
        n += 1;
    }
    Ok(n)
}
