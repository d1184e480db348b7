//! Companies (tenants): the registry of company records, lazily opened
//! company databases, slug rules, and the platform-admin services.
//!
//! Invariant: a request is resolved to one [`Tenant`] before any company data
//! is read, and a tenant's handlers only ever see that tenant's [`Db`].

pub mod api;
pub mod pages;
pub mod service;

use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, CompanyRecord, CompanyStatus, CompanyV1};
use crate::store::{Db, DbOptions, dec, migrate, store_err};
use redb::ReadableTable;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// One company as the running process knows it.
pub struct TenantEntry {
    pub slug: String,
    info: RwLock<CompanyV1>,
    db: OnceLock<Db>,
    /// Held while the database is being opened: two first users at once
    /// (a request and the start-up index check) must not both open the file.
    opening: Mutex<()>,
    /// `tenants/<slug>/`: the database file, the search index, files.
    pub dir: PathBuf,
    options: DbOptions,
    /// Why the database could not be opened the last time it was tried
    /// (missing file, newer schema): for `/readyz`.
    open_failure: Mutex<Option<String>>,
}

pub type Tenant = Arc<TenantEntry>;

impl TenantEntry {
    pub fn info(&self) -> CompanyV1 {
        self.info.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_active(&self) -> bool {
        self.info.read().unwrap_or_else(|e| e.into_inner()).status == CompanyStatus::Active
    }

    pub fn timezone(&self) -> jiff::tz::TimeZone {
        let name = self.info.read().unwrap_or_else(|e| e.into_inner()).timezone.clone();
        jiff::tz::TimeZone::get(&name).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub(crate) fn set_info(&self, info: CompanyV1) {
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
                *self.open_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.detail.clone().unwrap_or_else(|| e.to_string()));
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
        self.open_failure.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|_| format!("{file} could not be opened (see the log)"))
    }

    /// Whether the database is open (for readiness).
    pub fn open_db(&self) -> Option<&Db> {
        self.db.get()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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
}

impl Registry {
    pub fn load(platform: &Db, data_dir: &Path, options: DbOptions) -> Result<Registry, AppError> {
        let tx = platform.read()?;
        let t = tx.open_table(schema::COMPANIES).map_err(store_err)?;
        let mut entries = BTreeMap::new();
        for row in t.iter().map_err(store_err)? {
            let (k, v) = row.map_err(store_err)?;
            let slug = k.value().to_string();
            let info = dec::<CompanyRecord>(v.value())?;
            entries.insert(slug.clone(), Registry::entry(data_dir, slug, info, options));
        }
        Ok(Registry { data_dir: data_dir.to_path_buf(), options, entries: RwLock::new(entries), creating: tokio::sync::Mutex::new(()) })
    }

    fn entry(data_dir: &Path, slug: String, info: CompanyV1, options: DbOptions) -> Tenant {
        let dir = tenant_dir(data_dir, &slug);
        Arc::new(TenantEntry {
            slug,
            info: RwLock::new(info),
            db: OnceLock::new(),
            opening: Mutex::new(()),
            dir,
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
    pub(crate) fn insert(&self, slug: String, info: CompanyV1, db: Db) -> Tenant {
        let e = Registry::entry(&self.data_dir, slug.clone(), info, self.options);
        let _ = e.db.set(db);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).insert(slug, e.clone());
        e
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
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
