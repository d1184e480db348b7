//! Files: upload (streamed to a temp file while hashed, fsynced, stored once
//! under its sha256, only then recorded), access (the uploader, or whoever
//! may read a thread that references the file), attachments to messages,
//! thumbnails made off the request path, the company's limits, and the
//! garbage collection of files nobody references.
//!
//! The bytes live behind [`backend::Backend`] (local disk by default); the
//! records in the company's file (`store::schema::FILES`, `FILE_REFS`,
//! `FILE_BLOBS`, `FILE_USAGE`).

pub mod backend;
pub mod thumb;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, FILE_BLOBS, FILE_REFS, FILE_SETTINGS, FILE_USAGE, FILES, FileSettingsV1, FileV1};
use crate::store::{next_id, store_err};
use crate::tenancy::Tenant;
use backend::{ByteStream, io_err};
use futures_util::{Stream, StreamExt};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The largest file, unless the company set its own: 50 MB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;
/// All of a company's files together, unless it set its own: 5 GB.
pub const DEFAULT_QUOTA_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Attachments of one message.
pub const MAX_PER_MESSAGE: usize = 10;
/// How long a file nobody references is kept (an upload not yet attached): 24 h.
pub const GRACE_MS: i64 = 24 * 60 * 60 * 1000;
/// An upload that sends nothing for this long is cut off.
pub const IDLE_SECS: u64 = 60;
/// Longest display name kept, in characters.
const MAX_NAME: usize = 200;
/// Bytes kept from the start of an upload to sniff its type.
const SNIFF_BYTES: usize = 8192;

/// What a client sees of a file: what `POST /files` returns and what a
/// message lists as its attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = File)]
pub struct FileMeta {
    pub id: u64,
    /// The name as uploaded, for display and download.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed from the content.
    pub mime: String,
    /// sha256 of the content, hex.
    pub sha256: String,
}

impl FileMeta {
    pub fn of(id: u64, f: &FileV1) -> FileMeta {
        FileMeta { id, name: f.name.clone(), size: f.size, mime: f.mime.clone(), sha256: f.sha256.clone() }
    }
}

/// Uploads and garbage collection share content: an upload holds this (to
/// read) from putting its content into the store until its record commits,
/// the collector (to write) from its transaction until the bytes are gone.
/// So content is never deleted between an upload finding it stored and
/// that upload's record counting it.
static BLOBS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

// ---------- settings ----------

/// A company's file limits (the defaults when it never set them).
pub fn settings(tenant: &Tenant) -> Result<FileSettingsV1, AppError> {
    let tx = tenant.db()?.read()?;
    let t = tx.open_table(schema::SETTINGS).map_err(store_err)?;
    Ok(FILE_SETTINGS.get(&t)?.unwrap_or(FileSettingsV1 { max_file_bytes: DEFAULT_MAX_FILE_BYTES, quota_bytes: DEFAULT_QUOTA_BYTES }))
}

/// The bytes of content the company stores now.
pub fn usage(tenant: &Tenant) -> Result<u64, AppError> {
    let tx = tenant.db()?.read()?;
    let t = tx.open_table(FILE_USAGE).map_err(store_err)?;
    Ok(t.get("bytes").map_err(store_err)?.map(|v| v.value()).unwrap_or(0))
}

/// Largest file limit one may set, in MB (10 GB).
pub const MAX_FILE_LIMIT_MB: u64 = 10_240;
/// Largest quota one may set, in MB (100 TB).
pub const MAX_QUOTA_MB: u64 = 100 * 1024 * 1024;

/// Checks file limits (in MB) before anything is saved.
pub fn check_limits(max_file_mb: Option<u64>, quota_mb: Option<u64>) -> Result<(), AppError> {
    if let Some(v) = max_file_mb
        && !(1..=MAX_FILE_LIMIT_MB).contains(&v)
    {
        return Err(AppError::invalid("file_limit_mb", "files.bad_limit").with_arg("min", 1).with_arg("max", MAX_FILE_LIMIT_MB));
    }
    if let Some(v) = quota_mb
        && !(1..=MAX_QUOTA_MB).contains(&v)
    {
        return Err(AppError::invalid("storage_quota_mb", "files.bad_limit").with_arg("min", 1).with_arg("max", MAX_QUOTA_MB));
    }
    Ok(())
}

/// Changes a company's file limits, in MB (permission `company.setup`); audited.
pub async fn update_settings(
    state: &AppState,
    user: &Principal,
    max_file_mb: Option<u64>,
    quota_mb: Option<u64>,
) -> Result<FileSettingsV1, AppError> {
    user.require("company.setup")?;
    const MB: u64 = 1024 * 1024;
    check_limits(max_file_mb, quota_mb)?;
    let mut s = settings(&user.tenant)?;
    let mut ch = crate::audit::Changes::default();
    if let Some(v) = max_file_mb {
        ch.diff("file_limit_mb", &(s.max_file_bytes / MB), &v);
        s.max_file_bytes = v * MB;
    }
    if let Some(v) = quota_mb {
        ch.diff("storage_quota_mb", &(s.quota_bytes / MB), &v);
        s.quota_bytes = v * MB;
    }
    let changes = ch.0;
    if changes.is_empty() {
        return Ok(s);
    }
    let now = state.now_ms();
    let who = crate::auth::Caller::from(user);
    let saved = s.clone();
    let target = format!("company:{}", user.tenant.slug);
    user.tenant
        .db()?
        .write(move |tx| {
            let mut t = tx.open_table(schema::SETTINGS).map_err(store_err)?;
            FILE_SETTINGS.put(&mut t, &saved)?;
            drop(t);
            crate::audit::record(tx, now, &who, "company.update", &target, changes.clone())
        })
        .await?;
    Ok(s)
}

// ---------- upload ----------

/// A file's name as kept: the last path segment, without control
/// characters, trimmed, at most 200 characters; `file` when nothing is left.
pub fn sanitize_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    let out: String = clean.chars().take(MAX_NAME).collect();
    if out.is_empty() { "file".to_string() } else { out }
}

/// The type of content from its first bytes; text that is UTF-8 is
/// `text/plain`, anything unknown `application/octet-stream`.
pub fn sniff(head: &[u8]) -> String {
    if let Some(t) = infer::get(head) {
        return t.mime_type().to_string();
    }
    if head.is_empty() {
        return "application/octet-stream".into();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // The head may end inside a character: only the end may be cut.
        Err(e) => e.error_len().is_none() && head.len() >= SNIFF_BYTES,
    };
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let active = ["<html", "<!doctype", "<svg", "<script", "<?xml", "<body", "<iframe"].iter().any(|m| lower.contains(m));
    match (text, active) {
        (true, true) => "text/html".into(),
        (true, false) => "text/plain".into(),
        _ => "application/octet-stream".into(),
    }
}

/// Whether a browser may show this type in place: images, audio, video and
/// PDF. Everything else, HTML, SVG, XML and scripts above all, downloads.
pub fn inline(mime: &str) -> bool {
    let image =
        matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif" | "image/bmp" | "image/heif" | "image/heic");
    image || mime.starts_with("audio/") || mime.starts_with("video/") || mime == "application/pdf"
}

/// A temp file that removes itself unless kept: an upload cut off (the
/// client went away, a limit, an error) leaves nothing behind.
struct Temp {
    path: PathBuf,
    keep: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn too_large(limit: u64) -> AppError {
    AppError::new(ErrorKind::PayloadTooLarge).with_message("files.too_large").with_arg("limit", human_size(limit))
}

fn over_quota(quota: u64) -> AppError {
    AppError::new(ErrorKind::PayloadTooLarge).with_message("files.quota").with_arg("quota", human_size(quota))
}

/// `50 MB`, `5 GB`, `512 KB`, `100 B` (binary units, as the limits are set).
pub fn human_size(bytes: u64) -> String {
    const K: u64 = 1024;
    match bytes {
        b if b >= K * K * K && b % (K * K * K) == 0 => format!("{} GB", b / (K * K * K)),
        b if b >= K * K => format!("{} MB", (b + K * K / 2) / (K * K)),
        b if b >= K => format!("{} KB", (b + K / 2) / K),
        b => format!("{b} B"),
    }
}

/// Stores an upload of `user` named `name`, its bytes arriving from `body`
/// (never held whole): written to a temp file while hashed, refused as soon
/// as it passes the company's file limit or quota (the temp file removed),
/// fsynced, taken into the store under its sha256 (stored once), and only
/// then recorded. Images get their thumbnail made in the background.
pub async fn upload<S, B>(state: &AppState, user: &Principal, name: &str, body: S) -> Result<FileMeta, AppError>
where
    S: Stream<Item = Result<B, AppError>> + Unpin,
    B: AsRef<[u8]>,
{
    upload_as(state, &user.tenant, user.id, name, body).await
}

/// The uploader of every file a client sends (the request form, the status
/// page, the bot): no staff member. A client names such a file by its
/// signed reference (`requests::service::file_ref`), which only the one
/// who uploaded it was given.
pub const ANON_UPLOADER: u64 = 1 << 62;

/// [`upload`] for `uploader` (a user's id, or [`ANON_UPLOADER`]).
pub async fn upload_as<S, B>(state: &AppState, tenant: &Tenant, uploader: u64, name: &str, body: S) -> Result<FileMeta, AppError>
where
    S: Stream<Item = Result<B, AppError>> + Unpin,
    B: AsRef<[u8]>,
{
    let limits = settings(tenant)?;
    let used = usage(tenant)?;
    let name = sanitize_name(name);
    let dir = backend::temp_dir(&state.config.data_dir, &tenant.slug);
    tokio::fs::create_dir_all(&dir).await.map_err(|e| io_err("create temp dir", e))?;
    let path = dir.join(hex::encode(crate::store::random_bytes::<16>()));
    let mut temp = Temp { path: path.clone(), keep: false };
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await.map_err(|e| io_err("create temp", e))?;
    // tokio copies each write into a buffer of up to 2 MB by default: with
    // twenty uploads at once that is 40 MB; 64 KB keeps them flat.
    file.set_max_buf_size(64 * 1024);
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    let mut body = body;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(IDLE_SECS), body.next())
            .await
            .map_err(|_| AppError::new(ErrorKind::Timeout))?;
        let Some(chunk) = next else { break };
        let chunk = chunk?;
        let bytes = chunk.as_ref();
        size = size.saturating_add(bytes.len() as u64);
        if size > limits.max_file_bytes {
            return Err(too_large(limits.max_file_bytes));
        }
        if used.saturating_add(size) > limits.quota_bytes {
            return Err(over_quota(limits.quota_bytes));
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(bytes.len());
            head.extend_from_slice(bytes.get(..take).unwrap_or_default());
        }
        hasher.update(bytes);
        file.write_all(bytes).await.map_err(|e| io_err("write temp", e))?;
    }
    file.sync_all().await.map_err(|e| io_err("fsync temp", e))?;
    drop(file);
    let sha = hex::encode(hasher.finalize());
    let mime = sniff(&head);
    let record = FileV1 { sha256: sha.clone(), name, size, mime, uploader, created_at: state.now_ms(), thumb: None };

    let shared = BLOBS.read().await;
    state.files.put(&tenant.slug, &sha, &path, size).await?;
    temp.keep = true; // taken in (or dropped as a duplicate) by the store
    let rec = record.clone();
    let id = tenant
        .db()?
        .write(move |tx| {
            let id = next_id(tx, "file")?;
            FILES.open(tx)?.insert(id, &rec)?;
            use_blob(tx, &rec.sha256, rec.size)?;
            Ok(id)
        })
        .await?;
    drop(shared);
    if thumb::wanted(&record.mime) {
        thumb::spawn(state.clone(), tenant.clone(), id);
    }
    Ok(FileMeta::of(id, &record))
}

/// One more record uses content `sha` (of `size` bytes).
fn use_blob(tx: &WriteTransaction, sha: &str, size: u64) -> Result<(), AppError> {
    let mut blobs = tx.open_table(FILE_BLOBS).map_err(store_err)?;
    let (count, _) = blobs.get(sha).map_err(store_err)?.map(|v| v.value()).unwrap_or((0, size));
    blobs.insert(sha, (count + 1, size)).map_err(store_err)?;
    if count == 0 {
        let mut usage = tx.open_table(FILE_USAGE).map_err(store_err)?;
        let was = usage.get("bytes").map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        usage.insert("bytes", was.saturating_add(size)).map_err(store_err)?;
    }
    Ok(())
}

/// One record fewer uses content `sha`; whether nothing uses it any more
/// (its bytes are then to be deleted, after the commit).
fn drop_blob(tx: &WriteTransaction, sha: &str) -> Result<bool, AppError> {
    let mut blobs = tx.open_table(FILE_BLOBS).map_err(store_err)?;
    let Some((count, size)) = blobs.get(sha).map_err(store_err)?.map(|v| v.value()) else { return Ok(false) };
    if count > 1 {
        blobs.insert(sha, (count - 1, size)).map_err(store_err)?;
        return Ok(false);
    }
    blobs.remove(sha).map_err(store_err)?;
    let mut usage = tx.open_table(FILE_USAGE).map_err(store_err)?;
    let was = usage.get("bytes").map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
    usage.insert("bytes", was.saturating_sub(size)).map_err(store_err)?;
    Ok(true)
}

// ---------- attachments ----------

fn unknown_file(id: u64) -> AppError {
    AppError::invalid("file_ids", "files.unknown").with_arg("id", id)
}

/// Attaches files `ids` to message `message_id` of thread `thread_id`,
/// inside the chat's write transaction: each must exist and have been
/// uploaded by `uploader` (else 422 naming the id), none twice, at most
/// [`MAX_PER_MESSAGE`]. Records the references; returns the files in order.
pub fn attach(tx: &WriteTransaction, uploader: u64, ids: &[u64], thread_id: u64, message_id: u64) -> Result<Vec<FileMeta>, AppError> {
    if ids.len() > MAX_PER_MESSAGE {
        return Err(AppError::invalid("file_ids", "files.too_many").with_arg("max", MAX_PER_MESSAGE));
    }
    let mut seen = std::collections::HashSet::new();
    let files = FILES.open(tx)?;
    let mut refs = tx.open_table(FILE_REFS).map_err(store_err)?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if !seen.insert(id) {
            return Err(AppError::invalid("file_ids", "files.duplicate").with_arg("id", id));
        }
        let f = files.get(id)?.filter(|f| f.uploader == uploader).ok_or_else(|| unknown_file(id))?;
        refs.insert((id, message_id), thread_id).map_err(store_err)?;
        out.push(FileMeta::of(id, &f));
    }
    Ok(out)
}

/// Drops the references of message `message_id` to files `ids` (when the
/// message is deleted). The files themselves go with the collector.
pub fn detach(tx: &WriteTransaction, message_id: u64, ids: &[u64]) -> Result<(), AppError> {
    let mut refs = tx.open_table(FILE_REFS).map_err(store_err)?;
    for &id in ids {
        refs.remove((id, message_id)).map_err(store_err)?;
    }
    Ok(())
}

/// The files `ids` as a message lists them (those still recorded).
pub fn metas(tx: &impl crate::store::table::Txn, ids: &[u64]) -> Result<Vec<FileMeta>, AppError> {
    let files = FILES.open(tx)?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(f) = files.get(id)? {
            out.push(FileMeta::of(id, &f));
        }
    }
    Ok(out)
}

// ---------- reading ----------

/// File `id` as user `user_id` may read it: its uploader may; anyone else
/// when `may_read_thread` admits a thread that references it. A file the
/// caller may not read is not found (404, never 403).
pub fn open(tenant: &Tenant, user_id: u64, id: u64, may_read_thread: &dyn Fn(u64) -> Result<bool, AppError>) -> Result<FileV1, AppError> {
    let not_found = || AppError::new(ErrorKind::NotFound).with_message("files.not_found");
    let tx = tenant.db()?.read()?;
    let f = FILES.open(&tx)?.get(id)?.ok_or_else(not_found)?;
    if f.uploader == user_id {
        return Ok(f);
    }
    let refs = tx.open_table(FILE_REFS).map_err(store_err)?;
    let mut threads = std::collections::BTreeSet::new();
    for row in refs.range((id, 0)..=(id, u64::MAX)).map_err(store_err)? {
        let (_, thread) = row.map_err(store_err)?;
        threads.insert(thread.value());
    }
    for thread in threads {
        if may_read_thread(thread)? {
            return Ok(f);
        }
    }
    Err(not_found())
}

/// File `id` as stored, without asking who may read it: for the system's
/// own deliveries (the bot's sender), of files the core chose for a reader
/// it had checked.
pub fn record(tenant: &Tenant, id: u64) -> Result<Option<FileV1>, AppError> {
    let tx = tenant.db()?.read()?;
    FILES.open(&tx)?.get(id)
}

/// Bytes `range` of content `sha` of the company.
pub async fn read(state: &AppState, tenant: &Tenant, sha: &str, range: std::ops::Range<u64>) -> Result<ByteStream, AppError> {
    state.files.get(&tenant.slug, sha, range).await
}

// ---------- garbage ----------

/// Removes files nobody references that are older than [`GRACE_MS`]: their
/// records, and the bytes of content no other record uses. Never a file
/// with a reference. Returns how many files went.
pub async fn gc(state: &AppState, tenant: &Tenant) -> Result<usize, AppError> {
    let before = state.now_ms().saturating_sub(GRACE_MS);
    let candidates: Vec<u64> = {
        let tx = tenant.db()?.read()?;
        let files = FILES.open(&tx)?;
        let refs = tx.open_table(FILE_REFS).map_err(store_err)?;
        let mut out = Vec::new();
        for (id, f) in files.all()? {
            if f.created_at <= before && refs.range((id, 0)..=(id, u64::MAX)).map_err(store_err)?.next().is_none() {
                out.push(id);
            }
        }
        out
    };
    let exclusive = BLOBS.write().await;
    let (gone, dead) = tenant
        .db()?
        .write(move |tx| {
            let mut gone = 0;
            let mut dead = Vec::new();
            for &id in &candidates {
                // Looked at again inside the write: a reference added since wins.
                let referenced =
                    tx.open_table(FILE_REFS).map_err(store_err)?.range((id, 0)..=(id, u64::MAX)).map_err(store_err)?.next().is_some();
                let Some(f) = (if referenced { None } else { FILES.open(tx)?.get(id)? }) else { continue };
                FILES.open(tx)?.remove(id)?;
                gone += 1;
                for sha in std::iter::once(&f.sha256).chain(f.thumb.as_ref()) {
                    if drop_blob(tx, sha)? {
                        dead.push(sha.clone());
                    }
                }
            }
            Ok((gone, dead))
        })
        .await?;
    for sha in dead {
        if let Err(e) = state.files.delete(&tenant.slug, &sha).await {
            tracing::warn!(error = %e, company = %tenant.slug, "files: could not delete unused content");
        }
    }
    // Content no record counts: a crash between storing an upload and
    // recording it. No upload is between the two now (we hold `BLOBS`).
    let counted: std::collections::HashSet<String> = {
        let tx = tenant.db()?.read()?;
        let blobs = tx.open_table(FILE_BLOBS).map_err(store_err)?;
        let mut out = std::collections::HashSet::new();
        for row in blobs.iter().map_err(store_err)? {
            out.insert(row.map_err(store_err)?.0.value().to_string());
        }
        out
    };
    for sha in state.files.list(&tenant.slug).await? {
        if !counted.contains(&sha) {
            tracing::info!(company = %tenant.slug, sha, "files: removing content no record uses");
            state.files.delete(&tenant.slug, &sha).await?;
        }
    }
    drop(exclusive);
    if gone > 0 {
        tracing::info!(company = %tenant.slug, files = gone, "files: removed files nobody references");
    }
    Ok(gone)
}

/// Removes what uploads cut off by a crash left in every company's temp
/// folder. Run on start, before the server takes requests.
pub fn clean_temp(data_dir: &Path) -> usize {
    let Ok(companies) = std::fs::read_dir(data_dir.join("tenants")) else { return 0 };
    let mut removed = 0;
    for company in companies.flatten() {
        let tmp = company.path().join("files").join("tmp");
        let Ok(entries) = std::fs::read_dir(&tmp) else { continue };
        for entry in entries.flatten() {
            if std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(files = removed, "files: removed temp files of interrupted uploads");
    }
    removed
}

/// The size of stored content `sha` (a thumbnail's), from `file_blobs`.
pub fn blob_size(tenant: &Tenant, sha: &str) -> Result<u64, AppError> {
    let tx = tenant.db()?.read()?;
    let blobs = tx.open_table(FILE_BLOBS).map_err(store_err)?;
    blobs.get(sha).map_err(store_err)?.map(|v| v.value().1).ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("files.no_thumb"))
}
