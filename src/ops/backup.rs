//! The whole box into one archive, and back.
//!
//! [`backup_all`] writes `platform.redb` (a copy of one read transaction:
//! `ops::snapshot`), `secret.key`, and every company's `data.redb` (each its
//! own point in time; a company closed for idleness is opened by the read)
//! with its uploaded files (`tenants/<slug>/files/`, never `tmp/`), while the
//! server goes on taking writes. Files are stored under their sha256 and
//! written before the row that names them, so copying them after the
//! snapshot finds every file the snapshot names; the collector deletes
//! content only after committing the removal of its last record, so a file
//! that vanishes meanwhile belongs to no record the snapshot still counts on
//! (it is skipped and noted). The search index is not copied: it is rebuilt
//! when a company opens. With the S3 files backend the files stay in their
//! bucket (the manifest says so).
//!
//! [`restore`] verifies an archive and writes it into an empty data folder
//! (or, with `force`, over one no server uses). Scheduled backups
//! (`[backup]`) run from the server: [`run_scheduled`], kept `keep` deep.

use super::archive::{self, Kind, Manifest, ops_error};
use super::snapshot;
use crate::app::AppState;
use crate::config::{BackupConfig, BackupTarget};
use crate::error::{AppError, ErrorKind};
use crate::store::migrate;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The last backup's result, for `/readyz` and the console.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupStatus {
    /// When it finished (ms since the epoch, UTC).
    pub at_ms: i64,
    pub ok: bool,
    /// The archive's size.
    pub bytes: u64,
    /// How long it took.
    pub secs: f64,
    pub error: Option<String>,
    /// Where it went: the file, or `s3://bucket/key`.
    pub target: String,
}

/// Each data folder's last result and its lock (one backup at a time).
#[derive(Default)]
struct Slot {
    last: Option<BackupStatus>,
    running: Arc<tokio::sync::Mutex<()>>,
}

fn slots() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Slot>> {
    static SLOTS: std::sync::LazyLock<Mutex<HashMap<PathBuf, Slot>>> = std::sync::LazyLock::new(Default::default);
    SLOTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last backup this server made (scheduled or asked for), if any.
pub fn last_status(state: &AppState) -> Option<BackupStatus> {
    slots().get(&state.config.data_dir).and_then(|s| s.last.clone())
}

fn record(state: &AppState, status: BackupStatus) {
    if status.ok {
        metrics::gauge!("idora_backup_last_success_timestamp_seconds").set(status.at_ms as f64 / 1000.0);
        metrics::gauge!("idora_backup_last_duration_seconds").set(status.secs);
        metrics::gauge!("idora_backup_last_size_bytes").set(status.bytes as f64);
    } else {
        metrics::counter!("idora_backup_failures_total").increment(1);
    }
    slots().entry(state.config.data_dir.clone()).or_default().last = Some(status);
}

/// Registers the backup metrics at zero, so `/metrics` shows them before
/// the first backup.
pub fn register_metrics() {
    metrics::counter!("idora_backup_failures_total").increment(0);
}

/// Writes the whole box into the archive `out` (which must not exist) while
/// the server runs. One backup at a time per data folder: a second one
/// asked for meanwhile is refused (`conflict`).
pub async fn backup_all(state: &AppState, out: &Path) -> Result<Manifest, AppError> {
    let started = Instant::now();
    let result = backup_unrecorded(state, out).await;
    let status = BackupStatus {
        at_ms: state.now_ms(),
        ok: result.is_ok(),
        bytes: if result.is_ok() { std::fs::metadata(out).map(|m| m.len()).unwrap_or(0) } else { 0 },
        secs: started.elapsed().as_secs_f64(),
        error: result.as_ref().err().map(archive::describe),
        target: out.display().to_string(),
    };
    // A refusal because one is running is not a failed backup.
    if !matches!(&result, Err(e) if e.kind == ErrorKind::Conflict) {
        record(state, status);
    }
    result
}

/// [`backup_all`] without recording its result (the scheduled run records
/// its own, upload included).
async fn backup_unrecorded(state: &AppState, out: &Path) -> Result<Manifest, AppError> {
    let lock = slots().entry(state.config.data_dir.clone()).or_default().running.clone();
    let Ok(_running) = lock.try_lock() else {
        return Err(ops_error(ErrorKind::Conflict, "a backup of this data folder is running now: try again when it is done"));
    };
    let (st, out) = (state.clone(), out.to_path_buf());
    let (done, result) = tokio::sync::oneshot::channel();
    // Its own thread at a lower priority: the copy and the compression give
    // way to the requests and the writer on a busy box.
    std::thread::Builder::new()
        .name("idora-backup".into())
        .spawn(move || {
            // On Linux the nice value is per thread: this one only.
            let _ = rustix::process::setpriority_process(None, 10);
            let _ = done.send(write_box(&st, &out));
        })
        .map_err(|e| ops_error(ErrorKind::Unavailable, format!("the backup could not start: {e}")))?;
    result.await.map_err(|_| ops_error(ErrorKind::Internal, "the backup stopped"))?
}

/// A folder removed when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_box(state: &AppState, out: &Path) -> Result<Manifest, AppError> {
    let data = &state.config.data_dir;
    let mut w = archive::Writer::create(out, Kind::Box)?;
    // The copies of the databases are made beside the archive, one at a time.
    let mut staging = out.as_os_str().to_owned();
    staging.push(".staging");
    let staging = Staging(PathBuf::from(staging));
    let _ = std::fs::remove_dir_all(&staging.0);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&staging.0)
            .map_err(|e| ops_error(ErrorKind::Internal, format!("cannot create {}: {e}", staging.0.display())))?;
    }
    let copy = |db: &crate::store::Db, layout: &'static migrate::Layout, name: &str, w: &mut archive::Writer| {
        let tmp = staging.0.join("copy.redb");
        let _ = std::fs::remove_file(&tmp);
        let stats = snapshot::copy_db(db, layout, &tmp).map_err(|e| {
            tracing::error!(file = name, error = %e, "backup: copy failed");
            ops_error(ErrorKind::Unavailable, format!("{name} could not be copied ({})", crate::store::public_reason(&e)))
        })?;
        w.add_file(name, &tmp)?;
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!(file = name, rows = stats.rows, bytes = stats.bytes, "backup: copied");
        Ok::<_, AppError>(())
    };
    copy(&state.platform, &migrate::PLATFORM, "platform.redb", &mut w)?;
    let key = data.join(crate::auth::tokens::SECRET_FILE);
    if key.exists() {
        w.add_file(crate::auth::tokens::SECRET_FILE, &key)?;
    }
    let disk = matches!(state.config.files, crate::config::FilesBackend::Disk);
    let mut tenants = state.tenants.all();
    tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut vanished = 0usize;
    let mut left_out = Vec::new();
    for t in &tenants {
        // A company whose file does not open or read (`/readyz` names it) is
        // left out and said so: the others are still backed up.
        let name = format!("tenants/{}/data.redb", t.slug);
        let tmp = staging.0.join("copy.redb");
        let _ = std::fs::remove_file(&tmp);
        if let Err(e) = t.db().and_then(|db| snapshot::copy_db(db, &migrate::TENANT, &tmp)) {
            tracing::error!(company = %t.slug, error = %e, "backup: company left out");
            left_out.push(format!("company {} was left out: {}", t.slug, crate::store::public_reason(&e)));
            continue;
        }
        w.add_file(&name, &tmp)?;
        let _ = std::fs::remove_file(&tmp);
        if disk {
            vanished += add_files(&mut w, &crate::files::backend::files_dir(data, &t.slug), &format!("tenants/{}/files", t.slug))?;
        }
    }
    if let crate::config::FilesBackend::S3(s3) = &state.config.files {
        let m = w.manifest_mut();
        m.files_included = false;
        m.notes.push(format!("uploaded files are not in this archive: they live in the S3 bucket {:?}", s3.bucket));
    }
    w.manifest_mut().notes.extend(left_out);
    if vanished > 0 {
        w.manifest_mut().notes.push(format!("{vanished} file(s) deleted as unused while the backup ran were left out"));
    }
    w.finish()
}

/// Adds every file under `dir` (but `tmp/`) as `<prefix>/<relative path>`.
/// A file gone before it is opened (the collector deleted unused content)
/// is skipped; returns how many were.
fn add_files(w: &mut archive::Writer, dir: &Path, prefix: &str) -> Result<usize, AppError> {
    let mut vanished = 0;
    let mut stack = vec![(dir.to_path_buf(), prefix.to_string())];
    while let Some((d, p)) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ops_error(ErrorKind::Internal, format!("cannot read {}: {e}", d.display()))),
        };
        let mut names: Vec<_> = entries.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if d == dir && name == "tmp" {
                    continue;
                }
                stack.push((e.path(), format!("{p}/{name}")));
            } else if ft.is_file() {
                match std::fs::File::open(e.path()) {
                    Ok(f) => w.add_open_file(&format!("{p}/{name}"), f)?,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => vanished += 1,
                    Err(err) => return Err(ops_error(ErrorKind::Internal, format!("cannot read {}: {err}", e.path().display()))),
                }
            }
        }
    }
    Ok(vanished)
}

// ---------- restore ----------

/// What a data folder holds that a restore brings.
const RESTORED: [&str; 3] = ["platform.redb", "secret.key", "tenants"];

/// Whether a server runs on `data_dir`: its control socket answers, or its
/// platform file is locked by another process.
pub fn in_use(data_dir: &Path, check_lock: bool) -> Option<String> {
    let sock = data_dir.join(super::control::SOCKET);
    if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
        return Some(format!("a server is running on {} (its control socket answers)", data_dir.display()));
    }
    let platform = data_dir.join("platform.redb");
    if check_lock && platform.exists() {
        match redb::Database::builder().open(&platform) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Some(format!("{} is open in another process (a server is running)", platform.display()));
            }
            Ok(db) => drop(db),
            Err(_) => {}
        }
    }
    None
}

/// Restores the box archive `file` into `data_dir`: verified first, then
/// written beside it and moved in. Refuses a folder a server uses, and one
/// that is not empty unless `force` (which replaces what a restore brings:
/// `platform.redb`, `secret.key`, `tenants/`; other files stay). Folders are
/// 0700 and files 0600. The search indexes are rebuilt when the server opens
/// each company.
pub fn restore(file: &Path, data_dir: &Path, force: bool) -> Result<Manifest, AppError> {
    let m = archive::verify(file)?;
    if m.kind != Kind::Box {
        return Err(ops_error(
            ErrorKind::BadRequest,
            format!("{} is one company's archive, not a box backup: bring it in with `idora company import`", file.display()),
        ));
    }
    if m.schema_version > crate::store::schema::SCHEMA_VERSION {
        return Err(ops_error(
            ErrorKind::BadRequest,
            format!(
                "{} was written by Idora {} (schema {}), newer than this Idora {} (schema {}): restore it with that version or newer",
                file.display(),
                m.idora_version,
                m.schema_version,
                env!("CARGO_PKG_VERSION"),
                crate::store::schema::SCHEMA_VERSION
            ),
        ));
    }
    if let Some(why) = in_use(data_dir, false) {
        return Err(ops_error(ErrorKind::Conflict, format!("{why}: stop it before restoring")));
    }
    let present: Vec<String> = match std::fs::read_dir(data_dir) {
        Ok(entries) => entries.flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(ops_error(ErrorKind::Internal, format!("cannot read {}: {e}", data_dir.display()))),
    };
    if !present.is_empty() {
        if !force {
            return Err(ops_error(
                ErrorKind::Conflict,
                format!(
                    "{} is not empty ({}): restore into an empty folder, or add --force (with the server stopped) to replace its data",
                    data_dir.display(),
                    present.join(", ")
                ),
            ));
        }
        if let Some(why) = in_use(data_dir, true) {
            return Err(ops_error(ErrorKind::Conflict, format!("{why}: stop it before restoring")));
        }
    }
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|e| ops_error(ErrorKind::Internal, format!("cannot create {}: {e}", data_dir.display())))?;
    }
    let staging = Staging(data_dir.join(format!(".restore-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&staging.0);
    std::fs::create_dir(&staging.0).map_err(|e| ops_error(ErrorKind::Internal, format!("cannot create {}: {e}", staging.0.display())))?;
    archive::extract(file, &staging.0)?;
    for name in RESTORED {
        let old = data_dir.join(name);
        let gone = match std::fs::symlink_metadata(&old) {
            Ok(md) if md.is_dir() => std::fs::remove_dir_all(&old),
            Ok(_) => std::fs::remove_file(&old),
            Err(_) => Ok(()),
        };
        gone.map_err(|e| ops_error(ErrorKind::Internal, format!("cannot replace {}: {e}", old.display())))?;
        let new = staging.0.join(name);
        if new.exists() {
            std::fs::rename(&new, &old).map_err(|e| ops_error(ErrorKind::Internal, format!("cannot move {} in: {e}", old.display())))?;
        }
    }
    let _ = std::fs::File::open(data_dir).and_then(|d| d.sync_all());
    Ok(m)
}

// ---------- scheduled ----------

/// The archive name of a backup started at `at`: sorts by time.
pub fn archive_name(at: jiff::Timestamp) -> String {
    format!("idora-backup-{}.tar.zst", at.strftime("%Y%m%dT%H%M%SZ"))
}

fn is_archive_name(name: &str) -> bool {
    name.starts_with("idora-backup-") && name.ends_with(".tar.zst")
}

/// The next time of day `cfg.at` in its time zone after `now`.
pub fn next_run(cfg: &BackupConfig, now: jiff::Timestamp) -> jiff::Timestamp {
    let tz = jiff::tz::TimeZone::get(&cfg.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = now.to_zoned(tz.clone());
    let today = local.date().at(i8::try_from(cfg.at.0).unwrap_or(0), i8::try_from(cfg.at.1).unwrap_or(0), 0, 0);
    for days in 0..3 {
        let day = today.checked_add(jiff::Span::new().days(days)).unwrap_or(today);
        if let Ok(t) = day.to_zoned(tz.clone()).map(|z| z.timestamp())
            && t > now
        {
            return t;
        }
    }
    now.checked_add(jiff::SignedDuration::from_hours(24)).unwrap_or(now)
}

/// Runs the scheduled backup once: into `[backup] dir` or the bucket, then
/// keeps the newest `keep` archives there. Never fails the caller: the
/// result is recorded (`last_status`, metrics, the log) and returned.
pub async fn run_scheduled(state: &AppState, cfg: &BackupConfig) -> BackupStatus {
    let started = Instant::now();
    let name = archive_name(state.now());
    let result = match &cfg.target {
        BackupTarget::Dir(dir) => to_dir(state, dir, &name, cfg.keep).await,
        BackupTarget::S3 { s3, prefix } => to_s3(state, s3, prefix, &name, cfg.keep).await,
    };
    let status = match result {
        Ok((target, bytes)) => {
            tracing::info!(target, bytes, secs = started.elapsed().as_secs_f64(), "scheduled backup written");
            BackupStatus { at_ms: state.now_ms(), ok: true, bytes, secs: started.elapsed().as_secs_f64(), error: None, target }
        }
        Err((target, e)) => {
            tracing::error!(target, error = %e, "scheduled backup failed");
            BackupStatus {
                at_ms: state.now_ms(),
                ok: false,
                bytes: 0,
                secs: started.elapsed().as_secs_f64(),
                error: Some(archive::describe(&e)),
                target,
            }
        }
    };
    record(state, status.clone());
    status
}

type Outcome = Result<(String, u64), (String, AppError)>;

async fn to_dir(state: &AppState, dir: &Path, name: &str, keep: usize) -> Outcome {
    let out = dir.join(name);
    let target = out.display().to_string();
    let fail = |e: AppError| (target.clone(), e);
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(ops_error(ErrorKind::Internal, format!("cannot create {}: {e}", dir.display()))))?;
    }
    backup_unrecorded(state, &out).await.map_err(fail)?;
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let mut old: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| fail(ops_error(ErrorKind::Internal, format!("cannot read {}: {e}", dir.display()))))?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| is_archive_name(n))
        .collect();
    old.sort();
    let excess = old.len().saturating_sub(keep.max(1));
    for n in old.iter().take(excess) {
        if let Err(e) = std::fs::remove_file(dir.join(n)) {
            tracing::warn!(file = n, error = %e, "backup: an old archive was not deleted");
        }
    }
    Ok((target, bytes))
}

async fn to_s3(state: &AppState, s3: &crate::config::S3Config, prefix: &str, name: &str, keep: usize) -> Outcome {
    use object_store::ObjectStore;
    let key = format!("{prefix}{name}");
    let target = format!("s3://{}/{key}", s3.bucket);
    let fail = |e: AppError| (target.clone(), e);
    let s3_fail = |what: &str, e: object_store::Error| fail(ops_error(ErrorKind::Unavailable, format!("s3 {what}: {e}")));
    let store = crate::files::backend::s3_store(s3).map_err(|e| fail(ops_error(ErrorKind::Internal, format!("{e}"))))?;
    // Written locally first (the archive must be whole before it goes up).
    let local_dir = state.config.data_dir.join(".backup-upload");
    let _ = std::fs::create_dir_all(&local_dir);
    let local = local_dir.join(name);
    let _ = std::fs::remove_file(&local);
    let result = async {
        backup_unrecorded(state, &local).await.map_err(fail)?;
        let bytes = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
        upload(&store, &object_store::path::Path::from(key.as_str()), &local).await.map_err(|e| s3_fail("upload", e))?;
        Ok::<_, (String, AppError)>(bytes)
    }
    .await;
    let _ = std::fs::remove_file(&local);
    let bytes = result?;
    // Keep the newest `keep`.
    use futures_util::StreamExt;
    let list_prefix = object_store::path::Path::from(prefix.trim_end_matches('/'));
    let mut names = Vec::new();
    let mut objects = store.list(if prefix.is_empty() { None } else { Some(&list_prefix) });
    while let Some(o) = objects.next().await {
        let o = o.map_err(|e| s3_fail("list", e))?;
        if o.location.filename().is_some_and(is_archive_name) && o.location.as_ref().starts_with(prefix) {
            names.push(o.location);
        }
    }
    names.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
    let excess = names.len().saturating_sub(keep.max(1));
    for n in names.iter().take(excess) {
        if let Err(e) = store.delete(n).await {
            tracing::warn!(key = %n, error = %e, "backup: an old archive was not deleted");
        }
    }
    Ok((target, bytes))
}

/// Puts the file `path` as `key`, a part at a time.
async fn upload(store: &object_store::aws::AmazonS3, key: &object_store::path::Path, path: &Path) -> Result<(), object_store::Error> {
    let file = tokio::fs::File::open(path).await.map_err(|e| object_store::Error::Generic { store: "local", source: Box::new(e) })?;
    crate::files::backend::put_multipart(store, key, file).await
}

/// Runs the scheduled backups of `[backup]` for as long as the server runs
/// (a weak handle: it does not keep a stopped server alive). Checks the
/// clock every few seconds, so a test's clock moved past the time is seen.
pub async fn schedule_loop(state: AppState) {
    let Some(cfg) = state.config.backup.clone() else { return };
    register_metrics();
    let weak = state.downgrade();
    let mut next = next_run(&cfg, state.now());
    tracing::info!(next = %next, "scheduled backups on");
    drop(state);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let Some(state) = weak.upgrade() else { return };
        let now = state.now();
        if now < next {
            continue;
        }
        run_scheduled(&state, &cfg).await;
        next = next_run(&cfg, state.now());
    }
}
