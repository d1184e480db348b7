//! Companies (tenants): the registry of company records, lazily opened
//! company databases, slug rules, and the platform-admin services.
//!
//! Invariant: a request is resolved to one [`Tenant`] before any company data
//! is read, and a tenant's handlers only ever see that tenant's [`Db`].

pub mod console;
pub mod due;
pub mod first_admin;
pub mod service;

use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, CompanyStatus, CompanyV3};
use crate::store::{Db, DbOptions, migrate, store_err};
use redb::ReadableTable;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Each company's next due time (UTC ms) in `platform.redb`, so that the
/// minute's jobs know which companies to open without opening them. It may
/// be early (a visit finds nothing and computes it again), never late.
pub use crate::store::schema::COMPANY_DUE;

/// When the jobs must next look at a company, as the running process knows it.
#[derive(Debug, Clone, Copy)]
struct Due {
    /// `i64::MIN`: unknown (look at once); `i64::MAX`: nothing due.
    at: i64,
    /// Bumped by every lowering, so a visit that computed a later time from
    /// an older snapshot does not raise it over work added meanwhile.
    generation: u64,
    /// Changed since it was last written to `platform.redb`.
    dirty: bool,
    /// Computed from the company's own store since this process opened it.
    checked: bool,
}

/// One company as the running process knows it.
pub struct TenantEntry {
    pub slug: String,
    info: RwLock<CompanyV3>,
    db: OnceLock<Db>,
    /// Held while the database is being opened: two first users at once
    /// (a request and the start-up index check) must not both open the file.
    opening: Mutex<()>,
    /// `tenants/<slug>/`: the database file, the search index, files.
    pub dir: PathBuf,
    due: Mutex<Due>,
    /// Wakes the saver of due times (shared by every company).
    due_changed: Arc<tokio::sync::Notify>,
    options: DbOptions,
    /// Why the database could not be opened the last time it was tried
    /// (missing, empty or damaged file, newer schema), in words without a
    /// path: for `/readyz`.
    open_failure: Mutex<Option<String>>,
}

pub type Tenant = Arc<TenantEntry>;

impl TenantEntry {
    pub fn info(&self) -> CompanyV3 {
        self.info.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_active(&self) -> bool {
        self.info.read().unwrap_or_else(|e| e.into_inner()).status == CompanyStatus::Active
    }

    /// Put away by the platform: it serves nothing and runs no jobs.
    pub fn is_archived(&self) -> bool {
        self.info.read().unwrap_or_else(|e| e.into_inner()).status == CompanyStatus::Archived
    }

    /// The company's language (Uzbek when its setting is unknown).
    pub fn lang(&self) -> crate::i18n::Lang {
        let code = self.info.read().unwrap_or_else(|e| e.into_inner()).language.clone();
        crate::i18n::Lang::parse(&code).unwrap_or(crate::i18n::Lang::Uz)
    }

    pub fn timezone(&self) -> jiff::tz::TimeZone {
        let name = self.info.read().unwrap_or_else(|e| e.into_inner()).timezone.clone();
        jiff::tz::TimeZone::get(&name).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub(crate) fn set_info(&self, info: CompanyV3) {
        *self.info.write().unwrap_or_else(|e| e.into_inner()) = info;
    }

    /// The company's database, opened on first use and kept open. The file
    /// must exist (only company creation makes one): a missing or unreadable
    /// file is `unavailable` (503) with the file named in the log.
    pub fn db(&self) -> Result<&Db, AppError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let _opening = self.opening.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = match Db::open(&self.db_path(), &migrate::TENANT, self.options) {
            Ok(db) => db,
            Err(e) => {
                tracing::error!(company = %self.slug, error = %e, "company database not opened");
                *self.open_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(crate::store::public_reason(&e));
                return Err(e);
            }
        };
        *self.open_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
        metrics::gauge!("idora_tenant_databases_open").increment(1.0);
        Ok(self.db.get_or_init(|| db))
    }

    /// `tenants/<slug>/data.redb`.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("data.redb")
    }

    /// Why this company cannot be served, in words for `/readyz` (no data
    /// folder path: the file is named relative to it). `None`: healthy, or
    /// not opened yet and its file is there.
    pub fn problem(&self) -> Option<String> {
        let file = format!("tenants/{}/data.redb", self.slug);
        if let Some(db) = self.db.get() {
            return db.problem().map(|p| format!("{file}: {p}"));
        }
        if !self.db_path().exists() {
            return Some(format!("{file} is missing"));
        }
        self.open_failure.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|why| format!("{file} could not be opened: {why}"))
    }

    /// Whether the database is open (for readiness).
    pub fn open_db(&self) -> Option<&Db> {
        self.db.get()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn due_lock(&self) -> std::sync::MutexGuard<'_, Due> {
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the scheduled jobs must next look at this company (UTC ms):
    /// `i64::MIN` when unknown, `i64::MAX` when nothing is due.
    pub fn due(&self) -> i64 {
        self.due_lock().at
    }

    /// Work falls due at `ms` (a task's deadline, a queue branch's closing
    /// time with tickets open): lowers the company's due time if that is
    /// earlier. Call it from every write that adds due work; it costs a
    /// lock and, when it lowers the time, one small platform write later.
    pub fn due_at(&self, ms: i64) {
        let mut d = self.due_lock();
        d.generation += 1;
        if ms < d.at {
            d.at = ms;
            d.dirty = true;
            self.due_changed.notify_one();
        }
    }

    /// The current generation, read before a visit computes the due time.
    pub fn due_generation(&self) -> u64 {
        self.due_lock().generation
    }

    /// Sets the due time a visit computed from the store; work added since
    /// `generation` keeps its (earlier) time.
    pub fn settle_due(&self, generation: u64, next: i64) {
        let mut d = self.due_lock();
        let next = if d.generation == generation { next } else { next.min(d.at) };
        if next != d.at {
            d.at = next;
            d.dirty = true;
        }
        d.checked = true;
    }

    /// Whether the due time was computed from this company's store since
    /// the process opened it (a company opened by a request is looked at
    /// once, which also repairs a due time lost in a crash).
    pub fn due_checked(&self) -> bool {
        self.due_lock().checked
    }
}

/// All companies, loaded from `platform.redb` at start (records only: no
/// company database is opened until it is used).
pub struct Registry {
    data_dir: PathBuf,
    options: DbOptions,
    entries: RwLock<BTreeMap<String, Tenant>>,
    /// Held while a company is created, so that two creations of one slug
    /// cannot both pass the "is it free" check and clear each other's folder.
    pub(crate) creating: tokio::sync::Mutex<()>,
    /// Told when a company's due time was lowered (see [`Registry::save_due`]).
    pub due_changed: Arc<tokio::sync::Notify>,
    /// The platform console's per-company figures, kept for a minute.
    pub figures: console::FiguresCache,
}

impl Registry {
    pub fn load(platform: &Db, data_dir: &Path, options: DbOptions) -> Result<Registry, AppError> {
        console::started();
        let tx = platform.read()?;
        let t = schema::COMPANIES.open(&tx)?;
        let mut entries = BTreeMap::new();
        let due_changed = Arc::new(tokio::sync::Notify::new());
        for row in t.iter()? {
            let (k, info) = row?;
            let slug = k.value().to_string();
            entries.insert(slug.clone(), Registry::entry(data_dir, slug, info, i64::MIN, &due_changed, options));
        }
        // The due times saved by the last run; a company without one
        // (created by an older version) is looked at on the first tick.
        match tx.open_table(COMPANY_DUE) {
            Ok(t) => {
                for row in t.iter().map_err(store_err)? {
                    let (k, v) = row.map_err(store_err)?;
                    if let Some(e) = entries.get(k.value()) {
                        e.due_lock().at = v.value();
                    }
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(store_err(e)),
        }
        Ok(Registry {
            data_dir: data_dir.to_path_buf(),
            options,
            entries: RwLock::new(entries),
            creating: tokio::sync::Mutex::new(()),
            due_changed,
            figures: Default::default(),
        })
    }

    fn entry(
        data_dir: &Path,
        slug: String,
        info: CompanyV3,
        due: i64,
        due_changed: &Arc<tokio::sync::Notify>,
        options: DbOptions,
    ) -> Tenant {
        let dir = tenant_dir(data_dir, &slug);
        let due = Mutex::new(Due { at: due, generation: 0, dirty: false, checked: false });
        let due_changed = due_changed.clone();
        Arc::new(TenantEntry {
            slug,
            info: RwLock::new(info),
            db: OnceLock::new(),
            opening: Mutex::new(()),
            dir,
            due,
            due_changed,
            options,
            open_failure: Mutex::new(None),
        })
    }

    /// How company databases are run (write queue size).
    pub fn db_options(&self) -> DbOptions {
        self.options
    }

    pub fn get(&self, slug: &str) -> Option<Tenant> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(slug).cloned()
    }

    /// The tenant for a request path's slug, or 404.
    pub fn resolve(&self, slug: &str) -> Result<Tenant, AppError> {
        self.get(slug).ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.company_not_found"))
    }

    pub fn all(&self) -> Vec<Tenant> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Adds a new company with its database already open: the file cannot
    /// be opened a second time while the first handle's writer winds down.
    pub(crate) fn insert(&self, slug: String, info: CompanyV3, db: Db) -> Tenant {
        // A new company has nothing due; saved with the next due times.
        let e = Registry::entry(&self.data_dir, slug.clone(), info, i64::MAX, &self.due_changed, self.options);
        e.due_lock().dirty = true;
        self.due_changed.notify_one();
        let _ = e.db.set(db);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).insert(slug, e.clone());
        e
    }

    /// Takes a deleted company out of the registry; requests that hold it
    /// finish, and its file closes with the last of them.
    pub(crate) fn remove(&self, slug: &str) -> Option<Tenant> {
        self.figures.forget(slug);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(slug)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Writes the due times that changed to `platform.redb`, in one
    /// transaction (none when nothing changed). Returns how many.
    pub async fn save_due(&self, platform: &Db) -> Result<usize, AppError> {
        let changed: Vec<Tenant> = self.all().into_iter().filter(|t| t.due_lock().dirty).collect();
        if changed.is_empty() {
            return Ok(0);
        }
        for t in &changed {
            t.due_lock().dirty = false;
        }
        let list = changed.clone();
        let saved = platform
            .write(move |tx| {
                let mut table = tx.open_table(COMPANY_DUE).map_err(store_err)?;
                for t in &list {
                    // The newest value when the job runs, not when it was queued.
                    table.insert(t.slug.as_str(), t.due()).map_err(store_err)?;
                }
                Ok(list.len())
            })
            .await;
        if saved.is_err() {
            for t in &changed {
                t.due_lock().dirty = true;
            }
        }
        saved
    }
}

pub fn tenant_dir(data_dir: &Path, slug: &str) -> PathBuf {
    data_dir.join("tenants").join(slug)
}

/// Words a company may not take as its slug: they name pages and APIs.
pub const RESERVED_SLUGS: [&str; 26] = [
    "admin", "api", "assets", "auth", "c", "t", "static", "login", "logout", "healthz", "readyz", "metrics", "platform", "www", "idora",
    "system", "root", "support", "help", "docs", "status", "public", "kiosk", "display", "new", "lang",
];

/// A company slug: `^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`, not reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Slug, AppError> {
        let b = s.as_bytes();
        let ok_inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
        let ok_edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let valid =
            (3..=32).contains(&b.len()) && b.first().is_some_and(ok_edge) && b.last().is_some_and(ok_edge) && b.iter().all(ok_inner);
        if !valid {
            return Err(AppError::invalid("slug", "validation.slug_format"));
        }
        if RESERVED_SLUGS.contains(&s) {
            return Err(AppError::invalid("slug", "validation.slug_reserved"));
        }
        Ok(Slug(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        for ok in ["demo", "abc", "bank-1", "a1b", "x".repeat(32).as_str()] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "Abc", "ab_c", "admin", "api", "x".repeat(33).as_str(), "юник"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
