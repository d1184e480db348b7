//! Moving a company between boxes: [`export`] writes one company (its
//! database at one point in time, its files, its rows in `platform.redb`)
//! into an archive of kind Company while the company is read-only;
//! [`import`] puts such an archive in place on another box and serves the
//! company at once, with the same slug, users and passwords, and every
//! session ended (everyone signs in again).
//!
//! The archive holds, beside its manifest:
//! - `tenants/<slug>/data.redb`: a consistent copy of the company's file;
//! - `tenants/<slug>/files/<aa>/<rest>`: its uploaded files (disk backend;
//!   with an S3 bucket they stay in the bucket, which both boxes share);
//! - `company.json`: its rows in `platform.redb` as stored (the company
//!   record, its due time, its Sheets due time, its bot listing, its
//!   customers' entries in the phone index);
//! - `secrets.json`: what was sealed with this box's key (the Google
//!   Sheets key), in the clear, sealed again with the new box's key on
//!   import. The archive holds password hashes and this key: keep it as
//!   safe as a backup.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use crate::ops::archive::{self, Kind, ops_error};
use crate::store::schema::{self, COMPANIES, CUSTOMER_TICKETS, SHEETS_CONFIG, SHEETS_DUE};
use crate::store::{Db, migrate, store_err};
use crate::tenancy::{COMPANY_DUE, Slug, tenant_dir};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub slug: String,
    /// The archive's size.
    pub bytes: u64,
    /// Uploaded files in it.
    pub files: u64,
}

/// What [`import`] put in place.
#[derive(Debug, Clone)]
pub struct Imported {
    pub slug: String,
    /// The company's user accounts (they sign in again with their passwords).
    pub users: u64,
}

/// The archive's entry with the platform rows.
const COMPANY_JSON: &str = "company.json";
/// The archive's entry with the secrets sealed with the box key, unsealed.
const SECRETS_JSON: &str = "secrets.json";

/// A company's rows in `platform.redb`, as stored (record bytes are the
/// stored postcard bytes of their versioned enums).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PlatformRows {
    slug: String,
    /// `companies[slug]`: a `CompanyRecord`.
    company: Vec<u8>,
    /// `company_due[slug]`.
    due: Option<i64>,
    /// `sheets_due[slug]`.
    sheets_due: Option<i64>,
    /// `bots[slug]` is there.
    bot: bool,
    /// The phone index's entries of this company: (phone, at, id) → a
    /// `CustomerTicketRecord`.
    customer_tickets: Vec<((String, i64, u64), Vec<u8>)>,
}

/// What was sealed with the old box's key.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Secrets {
    /// The Google service account's JSON key of the Sheets connection.
    sheets_key: Option<String>,
}

fn io(what: impl std::fmt::Display, e: std::io::Error) -> AppError {
    let kind = if e.kind() == std::io::ErrorKind::StorageFull { ErrorKind::StorageFull } else { ErrorKind::Internal };
    ops_error(kind, format!("{what}: {e}"))
}

/// A scratch folder in the data folder (same file system: renames work),
/// removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(state: &AppState, what: &str) -> Result<Scratch, AppError> {
        let dir = state.tenants.data_dir().join(format!(".{what}-{}-{}", std::process::id(), state.now_ms()));
        std::fs::create_dir_all(&dir).map_err(|e| io(format_args!("create {}", dir.display()), e))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes company `slug` into the archive `out`. The company is read-only
/// while this runs (its writes answer 503 with a clear message, reads go
/// on), and writable again when it returns, whether it succeeded or not.
pub async fn export(state: &AppState, slug: &str, out: &Path) -> Result<Exported, AppError> {
    let tenant = state.tenants.resolve(slug)?;
    let db = tenant.db()?.clone();
    let frozen = db.freeze().await?;
    tracing::info!(company = %slug, out = %out.display(), "company export: read-only until it is written");
    let result = write_archive(state, &tenant.slug, &db, out).await;
    drop(frozen);
    match &result {
        Ok(e) => tracing::info!(company = %slug, bytes = e.bytes, files = e.files, "company exported; writable again"),
        Err(e) => tracing::error!(company = %slug, error = %e, "company export failed; writable again"),
    }
    result
}

async fn write_archive(state: &AppState, slug: &str, db: &Db, out: &Path) -> Result<Exported, AppError> {
    let rows = platform_rows(&state.platform, slug)?;
    let secrets = Secrets {
        sheets_key: {
            let tx = db.read()?;
            match SHEETS_CONFIG.open(&tx)?.get(0)? {
                Some(cfg) => {
                    state.keys.open(&format!("sheets:{slug}"), &cfg.sealed_key).and_then(|k| String::from_utf8(k).ok()).or_else(|| {
                        tracing::warn!(company = %slug, "the Sheets key does not unseal: exported without it");
                        None
                    })
                }
                None => None,
            }
        },
    };
    let disk_files = matches!(state.config.files, crate::config::FilesBackend::Disk);
    let files_dir = crate::files::backend::files_dir(state.tenants.data_dir(), slug);
    let scratch = Scratch::new(state, &format!("export-{slug}"))?;
    let (db, out, slug) = (db.clone(), out.to_path_buf(), slug.to_string());
    tokio::task::spawn_blocking(move || -> Result<Exported, AppError> {
        let copy = scratch.0.join("data.redb");
        crate::ops::snapshot::copy_db(&db, &migrate::TENANT, &copy)?;
        let mut w = archive::Writer::create(&out, Kind::Company)?;
        w.manifest_mut().company = Some(slug.clone());
        w.add_file(&format!("tenants/{slug}/data.redb"), &copy)?;
        let json = serde_json::to_vec_pretty(&rows).map_err(|e| ops_error(ErrorKind::Internal, format!("company.json: {e}")))?;
        w.add_bytes(COMPANY_JSON, &json)?;
        let json = serde_json::to_vec(&secrets).map_err(|e| ops_error(ErrorKind::Internal, format!("secrets.json: {e}")))?;
        w.add_bytes(SECRETS_JSON, &json)?;
        let mut files = 0u64;
        if disk_files {
            for (name, path) in stored_files(&files_dir)? {
                w.add_file(&format!("tenants/{slug}/files/{name}"), &path)?;
                files += 1;
            }
        } else {
            w.manifest_mut().files_included = false;
            w.manifest_mut().notes.push(format!("the files stay in the S3 bucket under {slug}/: the new box must use the same bucket"));
        }
        w.finish()?;
        drop(scratch);
        let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        Ok(Exported { slug, bytes, files })
    })
    .await
    .map_err(|e| ops_error(ErrorKind::Internal, format!("export: {e}")))?
}

/// The company's rows in `platform.redb`, as stored.
fn platform_rows(platform: &Db, slug: &str) -> Result<PlatformRows, AppError> {
    let tx = platform.read()?;
    let companies = COMPANIES.open(&tx)?;
    let company = companies.raw().get(slug).map_err(store_err)?.map(|v| v.value().to_vec()).ok_or_else(|| {
        AppError::new(ErrorKind::NotFound).with_message("error.company_not_found").with_detail(format!("no platform record of {slug}"))
    })?;
    let due = tx.open_table(COMPANY_DUE).ok().and_then(|t| t.get(slug).ok().flatten().map(|v| v.value()));
    let sheets_due = tx.open_table(SHEETS_DUE).map_err(store_err)?.get(slug).map_err(store_err)?.map(|v| v.value());
    let bot = tx.open_table(schema::BOTS).map_err(store_err)?.get(slug).map_err(store_err)?.is_some();
    let mut customer_tickets = Vec::new();
    let t = CUSTOMER_TICKETS.open(&tx)?;
    for row in t.raw().iter().map_err(store_err)? {
        let (k, v) = row.map_err(store_err)?;
        let bytes = v.value();
        // Decoded only to see whose entry it is.
        let entry: schema::CustomerTicketRecord =
            postcard::from_bytes(bytes).map_err(|e| ops_error(ErrorKind::Internal, format!("customer_tickets: {e}")))?;
        let schema::CustomerTicketRecord::V1(e) = &entry;
        if e.slug == slug {
            let (phone, at, id) = k.value();
            customer_tickets.push(((phone.to_string(), at, id), bytes.to_vec()));
        }
    }
    Ok(PlatformRows { slug: slug.to_string(), company, due, sheets_due, bot, customer_tickets })
}

/// The stored files of a company's disk folder: (`<aa>/<rest>`, path),
/// without `tmp/` (uploads under way).
fn stored_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, AppError> {
    let mut out = Vec::new();
    let top = match std::fs::read_dir(dir) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(format_args!("read {}", dir.display()), e)),
    };
    for aa in top {
        let aa = aa.map_err(|e| io(format_args!("read {}", dir.display()), e))?;
        let name = aa.file_name().to_string_lossy().to_string();
        if name.len() != 2 || !aa.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(aa.path()).map_err(|e| io(format_args!("read {}", aa.path().display()), e))? {
            let f = f.map_err(|e| io(format_args!("read {}", aa.path().display()), e))?;
            if f.path().is_file() {
                out.push((format!("{name}/{}", f.file_name().to_string_lossy()), f.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Puts the company in the archive `file` on this box and serves it at
/// once. Refused: an archive that is not whole or not a company's (400),
/// one from a newer schema, a slug this box already has (409). Every
/// session of the company ends: its people sign in again, with the same
/// usernames and passwords.
pub async fn import(state: &AppState, file: &Path) -> Result<Imported, AppError> {
    let scratch = Scratch::new(state, "import")?;
    let (f, dir) = (file.to_path_buf(), scratch.0.clone());
    let manifest = tokio::task::spawn_blocking(move || archive::extract(&f, &dir))
        .await
        .map_err(|e| ops_error(ErrorKind::Internal, format!("import: {e}")))??;
    if manifest.kind != Kind::Company {
        return Err(ops_error(
            ErrorKind::BadRequest,
            format!("{} is a {} archive, not a company's: restore it with idora restore", file.display(), manifest.kind.as_str()),
        ));
    }
    if manifest.schema_version > schema::SCHEMA_VERSION {
        return Err(ops_error(
            ErrorKind::BadRequest,
            format!(
                "{} was written by Idora {} (schema {}); this is Idora {} (schema {}): import it into a newer Idora",
                file.display(),
                manifest.idora_version,
                manifest.schema_version,
                env!("CARGO_PKG_VERSION"),
                schema::SCHEMA_VERSION
            ),
        ));
    }
    let rows: PlatformRows = read_json(&scratch.0.join(COMPANY_JSON), file)?;
    let secrets: Secrets = read_json(&scratch.0.join(SECRETS_JSON), file).unwrap_or_default();
    let slug = Slug::parse(&rows.slug).map_err(|_| ops_error(ErrorKind::BadRequest, format!("{}: not a company slug", rows.slug)))?;
    let slug = slug.as_str().to_string();
    if manifest.company.as_deref().is_some_and(|c| c != slug) {
        return Err(ops_error(
            ErrorKind::BadRequest,
            format!("{}: the manifest and company.json name different companies", file.display()),
        ));
    }
    let record: schema::CompanyRecord = postcard::from_bytes(&rows.company)
        .map_err(|e| ops_error(ErrorKind::BadRequest, format!("{}: the company record does not read: {e}", file.display())))?;
    let info = crate::store::schema::Versioned::into_latest(record);
    let staged = scratch.0.join("tenants").join(&slug);
    if !staged.join("data.redb").is_file() {
        return Err(ops_error(ErrorKind::BadRequest, format!("{}: no tenants/{slug}/data.redb inside", file.display())));
    }

    let _creating = state.tenants.creating.lock().await;
    let dir = tenant_dir(state.tenants.data_dir(), &slug);
    if state.tenants.get(&slug).is_some() || dir.exists() {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_message("error.company_exists")
            .with_arg("slug", &slug)
            .with_detail(format!("company {slug} is already on this box: not imported")));
    }
    std::fs::create_dir_all(dir.parent().unwrap_or(state.tenants.data_dir()))
        .map_err(|e| io(format_args!("create {}", dir.display()), e))?;
    std::fs::rename(&staged, &dir).map_err(|e| io(format_args!("move into {}", dir.display()), e))?;
    // From here a failure takes the folder away again: nothing refers to it yet.
    let placed = place(state, &slug, &dir, &rows, &secrets).await;
    let (db, users) = match placed {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
    };
    let tenant = state.tenants.insert(slug.clone(), info, db);
    // Unknown: the jobs look at it on their next minute.
    tenant.due_at(i64::MIN);
    drop(scratch);
    tracing::info!(company = %slug, users, "company imported; every session ended");
    Ok(Imported { slug, users })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, file: &Path) -> Result<T, AppError> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let bytes = std::fs::read(path).map_err(|_| ops_error(ErrorKind::BadRequest, format!("{}: no {name} inside", file.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| ops_error(ErrorKind::BadRequest, format!("{}: {name} does not read: {e}", file.display())))
}

/// Opens the placed company file (upgrading an older one), ends every
/// session, seals the secrets with this box's key, puts the files into the
/// backend, then writes the platform rows. Returns the open file and the
/// number of user accounts.
async fn place(state: &AppState, slug: &str, dir: &Path, rows: &PlatformRows, secrets: &Secrets) -> Result<(Db, u64), AppError> {
    let db = Db::open(&dir.join("data.redb"), &migrate::TENANT, state.tenants.db_options())?;
    let sealed = match &secrets.sheets_key {
        Some(k) => Some(state.keys.seal(&format!("sheets:{slug}"), k.as_bytes())?),
        None => None,
    };
    let users = db
        .write(move |tx| {
            tx.open_table(schema::REFRESH.def()).map_err(store_err)?.retain(|_, _| false).map_err(store_err)?;
            tx.open_table(schema::FAMILIES.def()).map_err(store_err)?.retain(|_, _| false).map_err(store_err)?;
            if let Some(sealed) = &sealed {
                let mut t = SHEETS_CONFIG.open(tx)?;
                if let Some(mut cfg) = t.get(0)? {
                    cfg.sealed_key = sealed.clone();
                    t.insert(0, &cfg)?;
                }
            }
            schema::USERS.open(tx)?.count()
        })
        .await?;
    // Files into this box's backend (the disk one has them in place already).
    if !matches!(state.config.files, crate::config::FilesBackend::Disk) {
        let files_dir = dir.join("files");
        for (name, path) in stored_files(&files_dir)? {
            let sha = name.replace('/', "");
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            state.files.put(slug, &sha, &path, size).await?;
        }
    }
    let rows = rows.clone();
    state
        .platform
        .write(move |tx| {
            let mut companies = COMPANIES.open(tx)?;
            if companies.contains(rows.slug.as_str())? {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.company_exists").with_arg("slug", &rows.slug));
            }
            companies.raw_mut().insert(rows.slug.as_str(), rows.company.as_slice()).map_err(store_err)?;
            if let Some(at) = rows.sheets_due {
                tx.open_table(SHEETS_DUE).map_err(store_err)?.insert(rows.slug.as_str(), at).map_err(store_err)?;
            }
            if rows.bot {
                tx.open_table(schema::BOTS).map_err(store_err)?.insert(rows.slug.as_str(), ()).map_err(store_err)?;
            }
            let mut phones = CUSTOMER_TICKETS.open(tx)?;
            for ((phone, at, id), bytes) in &rows.customer_tickets {
                phones.raw_mut().insert((phone.as_str(), *at, *id), bytes.as_slice()).map_err(store_err)?;
            }
            Ok(())
        })
        .await?;
    Ok((db, users))
}
