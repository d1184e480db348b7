//! The store: redb files, versioned postcard records and the one write path.
//!
//! Every write goes through [`Db::write`]. Writes are queued to one writer
//! thread per database file, which runs every queued write in one transaction
//! and commits it durably (group commit). A caller's future resolves only
//! after that commit, so an acknowledged write survives `kill -9`.
//!
//! The store refuses to lie: a file of a newer schema is not opened, an older
//! one is migrated first ([`migrate`]); a company file that is missing, empty
//! or damaged is an error naming it, never a new empty file ([`Db::open`] vs
//! [`Db::create`]); a full write queue answers "busy, retry" at once instead
//! of growing; and after a failed commit (a full disk, an I/O error) the file
//! refuses writes and reads and says why ([`Db::problem`]) while its writer
//! reopens it with backoff (1 s, 2 s, … 30 s). redb recovers a reopened file
//! to its last durable commit, so no acknowledged write is lost, and a small
//! probe commit must succeed before writes are taken again. A panic inside
//! redb (a damaged file can cause one) is caught and becomes the caller's
//! `unavailable` error.
//!
//! A file costs no thread while nobody writes to it: its writer thread is
//! started by the first write and stops after [`DbOptions::writer_idle`]
//! without one (a thousand quiet companies hold a thousand files, not a
//! thousand threads). A file nobody has read or written for longer is closed
//! ([`Db::close_if_idle`], from the minute's jobs) and opened again by the
//! next read or write: its page cache and redb's state go with it.

pub mod check;
pub mod migrate;
pub mod schema;
pub mod snapshot;
pub mod table;

pub use snapshot::Snapshot;
pub use table::{RecordTable, Records, Setting, Txn};

use crate::error::{AppError, ErrorKind};
use migrate::Layout;
use redb::backends::FileBackend;
use redb::{BackendError, Database, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition, WriteTransaction};
use std::any::Any;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most writes one group commit takes from the queue.
const MAX_BATCH: usize = 512;

/// Writes one database file holds in its queue before [`Db::write`] answers
/// "busy" (503 with `Retry-After`) instead of letting memory grow.
pub const WRITE_QUEUE: usize = 4096;

/// Seconds a caller refused by a full write queue is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

/// The first wait before a failed file is reopened; it doubles up to
/// [`REOPEN_MAX`].
const REOPEN_FIRST: Duration = Duration::from_secs(1);
const REOPEN_MAX: Duration = Duration::from_secs(30);

/// The catalogue key of a store failure told with its reason (`{detail}`).
pub const STORE_MESSAGE: &str = "error.store_unavailable";

type Output = Box<dyn Any + Send>;
type Job = Box<dyn FnMut(&WriteTransaction) -> Result<Output, AppError> + Send>;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Result<Output, AppError>>,
}

/// How a database file is run.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// Writes queued before `write` refuses with 503 (at least 1).
    pub write_queue: usize,
    /// The file's page cache, in bytes ([`DEFAULT_CACHE_BYTES`] by default).
    pub cache_bytes: usize,
    /// How long the writer thread waits for the next write before it stops
    /// ([`WRITER_IDLE`] by default); the next write starts it again.
    pub writer_idle: Duration,
}

/// How long a file's writer thread outlives its last write.
pub const WRITER_IDLE: Duration = Duration::from_secs(30);

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { write_queue: WRITE_QUEUE, cache_bytes: DEFAULT_CACHE_BYTES, writer_idle: WRITER_IDLE }
    }
}

/// One open redb file with its writer thread (running while there are
/// writes). Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// `None` only while the last handle is dropped.
    tx: Option<mpsc::SyncSender<Pending>>,
}

/// The writer thread's place: the queue's receiving end while no thread
/// runs, and the thread while one does. Senders queue under this lock, and
/// a writer that found the queue empty parks the receiver under it, so no
/// write is queued to a writer that is just stopping.
#[derive(Default)]
struct WriterSlot {
    rx: Option<mpsc::Receiver<Pending>>,
    running: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the handles and the writer thread share.
struct Shared {
    /// The open database; `None` while the writer reopens it.
    db: RwLock<Option<Arc<Database>>>,
    path: PathBuf,
    layout: &'static Layout,
    opts: DbOptions,
    health: Health,
    /// Opened by [`Db::open_read_only`]: never reopened from the file.
    read_only: bool,
    writer: Mutex<WriterSlot>,
    /// Closed for idleness: the next read or write opens the file again.
    parked: AtomicBool,
    /// Held while a file is closed for idleness or opened again.
    unparking: Mutex<()>,
    /// When the file was last read or written ([`clock_ms`]).
    last_used: AtomicU64,
    /// Commits skip the disk flush (see [`Db::set_bulk`]).
    bulk: AtomicBool,
    /// Holders of a [`Frozen`] guard: while any lives, writes are refused
    /// (the company is being moved) and reads go on.
    frozen: AtomicU32,
}

/// Milliseconds on a monotonic clock that starts with the process.
fn clock_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Why a file takes no writes now.
#[derive(Debug, Clone)]
struct Failure {
    /// In words, without the file's path (for `/readyz` and answers).
    why: String,
    /// The disk is full (ENOSPC): 507 rather than 503.
    full: bool,
    /// When the writer next tries to reopen the file.
    retry_at: Instant,
}

/// What the writer learned about the file.
#[derive(Default)]
struct Health {
    /// Set when a commit fails, cleared when the file is reopened and a
    /// probe commit succeeds.
    failed: Mutex<Option<Failure>>,
    /// Set by [`Db::inject_io_failure`] / [`Db::inject_disk_full`]: every
    /// later sync of the file fails, until [`Db::clear_io_failure`].
    fault: Arc<AtomicU8>,
}

const FAULT_NONE: u8 = 0;
const FAULT_IO: u8 = 1;
const FAULT_FULL: u8 = 2;

impl Health {
    fn failure(&self) -> Option<Failure> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records the first cause of a failure (later ones while it lasts
    /// are its consequences).
    fn fail(&self, why: String, full: bool) {
        let mut f = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(Failure { why, full, retry_at: Instant::now() + REOPEN_FIRST });
        }
    }

    fn retry_at(&self, at: Instant) {
        if let Some(f) = self.failed.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            f.retry_at = at;
        }
    }

    fn heal(&self) {
        *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Shared {
    fn database(&self) -> Option<Arc<Database>> {
        self.db.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The open database for a read or a write, opening a file closed for
    /// idleness again. `None` while the writer reopens a failed file.
    /// `touch`: this is a use (a health check is not: it must not keep a
    /// quiet file open).
    fn live(&self, touch: bool) -> Result<Option<Arc<Database>>, AppError> {
        if touch {
            self.last_used.store(clock_ms(), Ordering::Relaxed);
        }
        if let Some(db) = self.database() {
            return Ok(Some(db));
        }
        if !self.parked.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let _unparking = self.unparking.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(db) = self.database() {
            return Ok(Some(db));
        }
        let db = Arc::new(open_database(&self.path, self.layout, self.opts, false, &self.health.fault)?);
        *self.db.write().unwrap_or_else(|e| e.into_inner()) = Some(db.clone());
        self.parked.store(false, Ordering::SeqCst);
        metrics::gauge!("idora_store_files_open").increment(1.0);
        Ok(Some(db))
    }

    /// The answer to a caller while the file is failed: 507 when the disk
    /// is full, else 503; with the reason and when to try again.
    fn refused(&self, f: &Failure) -> AppError {
        let kind = if f.full { ErrorKind::StorageFull } else { ErrorKind::Unavailable };
        let wait = f.retry_at.saturating_duration_since(Instant::now()).as_secs().clamp(1, REOPEN_MAX.as_secs());
        AppError::new(kind)
            .with_message(STORE_MESSAGE)
            .with_arg("detail", format!("writes stopped after a failed commit ({}); retrying", f.why))
            .with_retry_after(wait)
            .with_detail(format!("{}: stopped after a failed commit ({})", self.path.display(), f.why))
    }
}

impl Drop for Inner {
    /// Closes the queue and waits for the writer to finish what it holds, so
    /// that the file is released when the last handle goes (a restart in the
    /// same process can open it again at once).
    fn drop(&mut self) {
        drop(self.tx.take());
        let thread = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner()).thread.take();
        if let Some(w) = thread
            && w.thread().id() != std::thread::current().id()
        {
            let _ = w.join();
        }
    }
}

/// The page cache each database file gets unless told otherwise: 16 MiB
/// (`Config::cache_mb`). redb's own default, 1 GiB per file, would let a
/// box with many companies grow without bound as their data is read.
pub const DEFAULT_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// A store failure told as what it is: `unavailable` with `reason` for the
/// caller (no path) and the file named in the log.
pub(crate) fn unavailable(path: &Path, reason: String) -> AppError {
    AppError::new(ErrorKind::Unavailable)
        .with_message(STORE_MESSAGE)
        .with_detail(format!("{}: {reason}", path.display()))
        .with_arg("detail", reason)
}

/// The reason a caller is given for an I/O error, and whether it is a full disk.
fn io_reason(e: &std::io::Error) -> (String, bool) {
    if e.kind() == std::io::ErrorKind::StorageFull || e.kind() == std::io::ErrorKind::QuotaExceeded {
        (format!("the disk is full ({e})"), true)
    } else if e.kind() == std::io::ErrorKind::InvalidData || e.kind() == std::io::ErrorKind::UnexpectedEof {
        (format!("the file is damaged ({e})"), false)
    } else {
        (format!("a disk operation failed ({e})"), false)
    }
}

/// Why redb failed, for the caller, when the file itself is at fault
/// (I/O, damage); `None` for any other failure (a bug, a conflict).
fn storage_reason(e: &redb::Error) -> Option<(String, bool)> {
    match e {
        redb::Error::Io(io) => Some(io_reason(io)),
        redb::Error::PreviousIo => Some(("an earlier disk operation failed".into(), false)),
        redb::Error::Corrupted(m) => Some((format!("the file is damaged ({m})"), false)),
        redb::Error::UpgradeRequired(v) => Some((format!("the file is in an unsupported redb format ({v})"), false)),
        _ => None,
    }
}

/// Runs `f`, turning a panic inside it (redb on a damaged file) into the
/// caller's `unavailable` error.
pub(crate) fn guarded<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T, AppError>) -> Result<T, AppError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default();
        tracing::error!(file = %path.display(), panic = %msg, what, "the store panicked; the file is probably damaged");
        metrics::counter!("idora_store_panics_total").increment(1);
        Err(unavailable(path, format!("the file is damaged (the store failed while it {what})")))
    })
}

/// Opens the redb file at `path` (see [`Db::create`] / [`Db::open`]) and
/// brings it up to date; every failure is `unavailable` with its reason.
fn open_database(path: &Path, layout: &'static Layout, opts: DbOptions, create: bool, fault: &Arc<AtomicU8>) -> Result<Database, AppError> {
    refuse_empty(path)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
        .map_err(|e| open_file_error(path, e))?;
    let backend = Backend { file: FileBackend::new(file).map_err(|e| open_error(path, e))?, fault: fault.clone() };
    open_with(path, layout, opts, backend, true)
}

/// An empty file is not a database: redb would silently make a new, empty
/// one in it, and the company's data would look deleted.
fn refuse_empty(path: &Path) -> Result<(), AppError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => Err(unavailable(path, "the file is empty (0 bytes): restore it from a backup".into())),
        _ => Ok(()),
    }
}

fn open_file_error(path: &Path, e: std::io::Error) -> AppError {
    if e.kind() == std::io::ErrorKind::NotFound {
        unavailable(path, "the database file is missing".into())
    } else {
        unavailable(path, format!("it cannot be opened ({e})"))
    }
}

/// Opens a database over `backend` and brings it up to date, catching
/// redb's panics on a damaged file.
/// `keep_copy`: copy an older file to `backups/before-upgrade/` before
/// upgrading it (not for a read-only open, whose upgrade stays in memory).
fn open_with(
    path: &Path,
    layout: &'static Layout,
    opts: DbOptions,
    backend: impl StorageBackend,
    keep_copy: bool,
) -> Result<Database, AppError> {
    let db = guarded(path, "was opened", || {
        Database::builder().set_cache_size(opts.cache_bytes).create_with_backend(backend).map_err(|e| open_error(path, e))
    })?;
    guarded(path, "was read at open", || migrate::bring_up_to_date(&db, path, layout, keep_copy)).map_err(|e| {
        if e.kind == ErrorKind::Internal {
            let why =
                e.source.as_ref().and_then(|s| s.downcast_ref::<redb::Error>()).map(|r| r.to_string()).unwrap_or_else(|| e.to_string());
            tracing::error!(file = %path.display(), error = %e, "database does not open");
            unavailable(path, format!("the file cannot be read ({why})"))
        } else {
            e
        }
    })?;
    Ok(db)
}

fn open_error(path: &Path, e: redb::DatabaseError) -> AppError {
    let e: redb::Error = e.into();
    let reason = match &e {
        redb::Error::DatabaseAlreadyOpen => "it is already open by another process".to_string(),
        other => storage_reason(other).map(|(r, _)| r).unwrap_or_else(|| format!("it cannot be opened ({other})")),
    };
    unavailable(path, reason)
}

/// The catalogue key of the refusal of a write while the company is being
/// moved (exported).
pub const MOVING_MESSAGE: &str = "error.company_moving";

/// Seconds a write refused while the company is moved is told to wait.
pub const MOVING_RETRY_SECS: u64 = 60;

/// A write refused while the file is frozen (its company is being moved).
fn moving(path: &Path) -> AppError {
    AppError::new(ErrorKind::Unavailable)
        .with_message(MOVING_MESSAGE)
        .with_retry_after(MOVING_RETRY_SECS)
        .with_detail(format!("{}: read-only while the company is exported", path.display()))
}

/// Holds a file read-only ([`Db::freeze`]); dropping it lets writes in again.
pub struct Frozen {
    db: Db,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.db.inner.shared.frozen.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Db {
    /// Opens a database file, creating it when it does not exist yet: the
    /// platform file on first start, and a new company (only
    /// `tenancy::service::create_company` creates one).
    pub fn create(path: &Path, layout: &'static Layout, opts: DbOptions) -> Result<Db, AppError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| AppError::internal(anyhow::anyhow!("create {}: {e}", parent.display())))?;
        }
        Db::start(path, layout, opts, true)
    }

    /// Opens an existing database file. A missing, empty or damaged file is
    /// an error that names it (503 `unavailable` to a request, with the
    /// reason): an operator problem, never papered over with a new empty
    /// database.
    pub fn open(path: &Path, layout: &'static Layout, opts: DbOptions) -> Result<Db, AppError> {
        Db::start(path, layout, opts, false)
    }

    fn start(path: &Path, layout: &'static Layout, opts: DbOptions, create: bool) -> Result<Db, AppError> {
        let health = Health::default();
        let db = open_database(path, layout, opts, create, &health.fault)?;
        Db::run(path, layout, opts, health, db, false)
    }

    /// Opens an existing file for reading only (`idora check`): the file is
    /// opened read-only and never written, created or locked; what redb
    /// writes while opening it (recovery after a crash, an upgrade of an
    /// older schema) stays in memory. Run it with the server stopped.
    pub fn open_read_only(path: &Path, layout: &'static Layout) -> Result<Db, AppError> {
        refuse_empty(path)?;
        let file = std::fs::File::open(path).map_err(|e| open_file_error(path, e))?;
        let backend = check::Overlay::new(file).map_err(|e| open_file_error(path, e))?;
        let opts = DbOptions { write_queue: 1, ..DbOptions::default() };
        let db = open_with(path, layout, opts, backend, false)?;
        Db::run(path, layout, opts, Health::default(), db, true)
    }

    fn run(path: &Path, layout: &'static Layout, opts: DbOptions, health: Health, db: Database, read_only: bool) -> Result<Db, AppError> {
        let (tx, rx) = mpsc::sync_channel(opts.write_queue.max(1));
        let writer = Mutex::new(WriterSlot { rx: Some(rx), ..WriterSlot::default() });
        let shared = Arc::new(Shared {
            db: RwLock::new(Some(Arc::new(db))),
            path: path.to_path_buf(),
            layout,
            opts,
            health,
            read_only,
            writer,
            parked: AtomicBool::new(false),
            unparking: Mutex::new(()),
            last_used: AtomicU64::new(clock_ms()),
            bulk: AtomicBool::new(false),
            frozen: AtomicU32::new(0),
        });
        metrics::gauge!("idora_store_files_open").increment(1.0);
        Ok(Db { inner: Arc::new(Inner { shared, tx: Some(tx) }) })
    }

    /// Queues a write, starting the writer thread when none runs.
    fn enqueue(&self, p: Pending) -> Result<(), AppError> {
        let shared = &self.inner.shared;
        let tx = self.inner.tx.as_ref().ok_or_else(|| self.stopped())?;
        let mut slot = shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.running {
            let s = shared.clone();
            let name = format!("redb-writer-{}", self.path().file_name().and_then(|n| n.to_str()).unwrap_or("db"));
            let thread = std::thread::Builder::new().name(name).spawn(move || writer_thread(s)).map_err(|e| {
                // Out of threads: busy, not broken.
                AppError::new(ErrorKind::Unavailable)
                    .with_retry_after(BUSY_RETRY_SECS)
                    .with_detail(format!("{}: writer thread not started: {e}", self.path().display()))
            })?;
            slot.running = true;
            slot.thread = Some(thread);
            metrics::gauge!("idora_store_writers_running").increment(1.0);
        }
        tx.try_send(p).inspect(|_| metrics::gauge!("idora_store_write_queue_depth").increment(1.0)).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                metrics::counter!("idora_store_writes_refused_total").increment(1);
                AppError::new(ErrorKind::Unavailable).with_retry_after(BUSY_RETRY_SECS).with_detail(format!(
                    "{}: write queue full ({} waiting)",
                    self.path().display(),
                    shared.opts.write_queue.max(1)
                ))
            }
            mpsc::TrySendError::Disconnected(_) => self.stopped(),
        })
    }

    /// Closes the file when nobody has read or written it for `idle`, no
    /// snapshot of it lives and its writer has stopped; the next read or
    /// write opens it again. Returns whether it closed the file.
    pub fn close_if_idle(&self, idle: Duration) -> bool {
        let shared = &self.inner.shared;
        if shared.read_only || self.writer_running() {
            return false;
        }
        let quiet = clock_ms().saturating_sub(shared.last_used.load(Ordering::Relaxed));
        if u128::from(quiet) < idle.as_millis() {
            return false;
        }
        let _unparking = shared.unparking.lock().unwrap_or_else(|e| e.into_inner());
        let closed = {
            let mut slot = shared.db.write().unwrap_or_else(|e| e.into_inner());
            // A snapshot, or the writer mid-commit, holds the database too.
            match slot.as_ref() {
                Some(db) if Arc::strong_count(db) == 1 && shared.health.failure().is_none() => {
                    shared.parked.store(true, Ordering::SeqCst);
                    slot.take()
                }
                _ => None,
            }
        };
        // Closed here, before anyone may open it again.
        let was_open = closed.is_some();
        drop(closed);
        if was_open {
            metrics::gauge!("idora_store_files_open").decrement(1.0);
        }
        was_open
    }

    /// Whether the file is open now (not closed for idleness).
    pub fn is_open(&self) -> bool {
        self.inner.shared.database().is_some()
    }

    /// Bulk loading (the demo writing its months of history): commits
    /// skip the flush to disk until it is switched off again, when the
    /// next commit — written here at once — makes everything before it
    /// durable. Never for a company's real work: an acknowledged write
    /// could be lost to a power cut while it is on.
    pub async fn set_bulk(&self, on: bool) -> Result<(), AppError> {
        self.inner.shared.bulk.store(on, Ordering::SeqCst);
        if on { Ok(()) } else { self.write(|_| Ok(())).await }
    }

    /// Whether the writer thread runs now (it stops when the file has had
    /// no write for [`DbOptions::writer_idle`]).
    pub fn writer_running(&self) -> bool {
        self.inner.shared.writer.lock().unwrap_or_else(|e| e.into_inner()).running
    }

    pub fn path(&self) -> &Path {
        &self.inner.shared.path
    }

    /// Runs `f` inside a durable write transaction shared with other
    /// concurrent writers. `f` may run more than once when a neighbour in
    /// the batch fails, so it must not have side effects outside `tx`.
    /// When `f` returns an error nothing it wrote is kept.
    ///
    /// Refused at once with `unavailable` when the queue is full (with a
    /// `retry_after`), and while the file is failed (`storage_full` when
    /// the disk is full, else `unavailable`, until the writer reopens it).
    pub async fn write<T, F>(&self, mut f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        if self.is_frozen() {
            return Err(moving(self.path()));
        }
        // Checked again where the write runs: one that passed the check as
        // a freeze began is queued after the freeze's barrier, so it must
        // not commit after the export's snapshot was taken.
        let shared = self.inner.shared.clone();
        let path = self.path().to_path_buf();
        self.write_now(move |tx| match shared.frozen.load(Ordering::SeqCst) {
            0 => f(tx),
            _ => Err(moving(&path)),
        })
        .await
    }

    /// Makes the file read-only until the returned guard is dropped (also
    /// when the work it guards fails): every later write is refused with
    /// 503, Retry-After and [`MOVING_MESSAGE`], reads go on. Returns once
    /// every write queued before it has run (committed, or refused if it ran
    /// after the freeze began), so a read transaction begun after it sees
    /// every write that was or will be acknowledged.
    pub async fn freeze(&self) -> Result<Frozen, AppError> {
        self.inner.shared.frozen.fetch_add(1, Ordering::SeqCst);
        let guard = Frozen { db: self.clone() };
        // A barrier: the queue is first in, first out.
        self.write_now(|_| Ok(())).await?;
        Ok(guard)
    }

    /// Whether a [`Frozen`] guard holds the file read-only now.
    pub fn is_frozen(&self) -> bool {
        self.inner.shared.frozen.load(Ordering::SeqCst) > 0
    }

    /// [`Db::write`] without the read-only check.
    async fn write_now<T, F>(&self, mut f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        if let Some(failure) = self.inner.shared.health.failure() {
            return Err(self.inner.shared.refused(&failure));
        }
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |tx| f(tx).map(|v| Box::new(v) as Output));
        self.enqueue(Pending { job, reply })?;
        let out = rx.await.map_err(|_| self.stopped());
        // What this request wrote is what it reads next.
        snapshot::forget(self.key());
        let out = out?.map_err(|e| self.located(e))?;
        out.downcast::<T>().map(|b| *b).map_err(|_| AppError::internal(anyhow::anyhow!("write result of unexpected type")))
    }

    /// A consistent read snapshot: within a request ([`snapshot::scope`])
    /// the request's one snapshot of this file, else a fresh one. Reads
    /// never wait for writers. After a failed commit redb refuses reads too
    /// (its state on disk is unknown), so they are refused like writes
    /// until the file is reopened, not internal errors.
    pub fn read(&self) -> Result<Snapshot, AppError> {
        self.read_as(true)
    }

    /// [`Db::read`]; `use_`: whether it counts as a use of the file.
    fn read_as(&self, use_: bool) -> Result<Snapshot, AppError> {
        let shared = &self.inner.shared;
        if let Some(failure) = shared.health.failure() {
            return Err(shared.refused(&failure));
        }
        snapshot::get_or_begin(self.key(), || {
            let db = shared.live(use_)?.ok_or_else(|| self.stopped())?;
            let tx = guarded(self.path(), "began a read", || db.begin_read().map_err(|e| at(self.path(), e)))?;
            Ok(Snapshot::new(tx, db))
        })
    }

    /// This file's key among a request's snapshots.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Verifies the file can be read: every table opens and a snapshot begins.
    pub fn ping(&self) -> Result<(), AppError> {
        let tx = self.read_as(false)?;
        guarded(self.path(), "was read", || {
            let t = tx.open_table(schema::META).map_err(|e| at(self.path(), e))?;
            t.get(schema::VERSION_KEY).map_err(|e| at(self.path(), e))?;
            Ok(())
        })
    }

    /// Why this file cannot serve (a failed commit stopped its writes, or it
    /// no longer reads), in words for `/readyz` and the log. `None`: healthy.
    pub fn problem(&self) -> Option<String> {
        if let Some(f) = self.inner.shared.health.failure() {
            let secs = f.retry_at.saturating_duration_since(Instant::now()).as_secs();
            return Some(format!("writes stopped after a failed commit ({}); reopening in {secs} s", f.why));
        }
        // A file closed for idleness was healthy when closed; asking would
        // open it again.
        if self.inner.shared.parked.load(Ordering::SeqCst) {
            return None;
        }
        self.ping().err().map(|e| format!("does not read ({})", public_reason(&e)))
    }

    /// Makes every later sync of this file fail with an I/O error, as a disk
    /// that is gone does, until [`Db::clear_io_failure`]. For tests of the
    /// failure path: a read-only file would not do (redb keeps its handle
    /// open for writing).
    #[doc(hidden)]
    pub fn inject_io_failure(&self) {
        self.inner.shared.health.fault.store(FAULT_IO, Ordering::SeqCst);
    }

    /// Like [`Db::inject_io_failure`], as a full disk (ENOSPC) does.
    #[doc(hidden)]
    pub fn inject_disk_full(&self) {
        self.inner.shared.health.fault.store(FAULT_FULL, Ordering::SeqCst);
    }

    /// Ends an injected failure: the disk works again.
    #[doc(hidden)]
    pub fn clear_io_failure(&self) {
        self.inner.shared.health.fault.store(FAULT_NONE, Ordering::SeqCst);
    }

    fn stopped(&self) -> AppError {
        unavailable(self.path(), "the store's writer stopped".into())
    }

    /// Adds the file to an internal error's detail, so the log says where.
    pub(crate) fn located(&self, mut e: AppError) -> AppError {
        let here = self.path().display().to_string();
        if matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::StorageFull)
            && !e.detail.as_deref().is_some_and(|d| d.contains(&here))
        {
            e.detail = Some(match e.detail.take() {
                Some(d) => format!("{d}, in {here}"),
                None => format!("in {here}"),
            });
        }
        e
    }
}

/// What a store error tells the caller about why (no path): the reason
/// given with it, else its kind.
pub fn public_reason(e: &AppError) -> String {
    e.args.iter().find(|(k, _)| *k == "detail").map(|(_, v)| v.clone()).unwrap_or_else(|| e.kind.code().to_string())
}

/// redb's file backend, with a switch that makes syncs fail (see
/// [`Db::inject_io_failure`]). Everything else goes straight through.
#[derive(Debug)]
struct Backend {
    file: FileBackend,
    fault: Arc<AtomicU8>,
}

impl StorageBackend for Backend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.file.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.file.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        match self.fault.load(Ordering::SeqCst) {
            FAULT_IO => Err(std::io::Error::other("injected I/O failure")),
            FAULT_FULL => Err(std::io::Error::from(std::io::ErrorKind::StorageFull)),
            _ => self.file.sync_data(),
        }
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.file.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.file.close()
    }
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }
    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }
    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }
    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }
    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }
    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// The writer thread: takes the queue, writes until it has been idle for
/// `writer_idle`, then parks the queue again and ends.
fn writer_thread(shared: Arc<Shared>) {
    let rx = shared.writer.lock().unwrap_or_else(|e| e.into_inner()).rx.take();
    if let Some(rx) = rx {
        writer_loop(&shared, rx);
    }
    metrics::gauge!("idora_store_writers_running").decrement(1.0);
}

fn writer_loop(shared: &Shared, rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::new();
    loop {
        if shared.health.failure().is_some() {
            if !recover(shared, &rx) {
                return;
            }
            continue;
        }
        let first = match rx.recv_timeout(shared.opts.writer_idle) {
            Ok(p) => p,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Quiet: stop, unless a write came in just now (senders
                // queue under this lock, so none can slip past it).
                let mut slot = shared.writer.lock().unwrap_or_else(|e| e.into_inner());
                match rx.try_recv() {
                    Ok(p) => p,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => {
                        slot.rx = Some(rx);
                        slot.running = false;
                        return;
                    }
                }
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        metrics::histogram!("idora_store_batch_size").record(batch.len() as f64);
        metrics::gauge!("idora_store_write_queue_depth").decrement(batch.len() as f64);
        match shared.live(true) {
            Ok(Some(db)) => commit_batch(&db, shared, std::mem::take(&mut batch)),
            Ok(None) => fail_all(std::mem::take(&mut batch), shared),
            Err(e) => {
                for p in std::mem::take(&mut batch) {
                    let _ = p.reply.send(Err(e.clone_for_caller()));
                }
            }
        }
    }
}

/// While the file is failed: refuses what is queued, and reopens the file
/// with backoff until a probe commit succeeds. `false` when the queue was
/// closed meanwhile (the last handle is gone).
fn recover(shared: &Shared, rx: &mpsc::Receiver<Pending>) -> bool {
    let mut wait = REOPEN_FIRST;
    loop {
        let until = Instant::now() + wait;
        shared.health.retry_at(until);
        loop {
            loop {
                match rx.try_recv() {
                    Ok(p) => {
                        metrics::gauge!("idora_store_write_queue_depth").decrement(1.0);
                        fail_all(vec![p], shared)
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return false,
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        match reopen(shared) {
            Ok(()) => {
                shared.health.heal();
                tracing::warn!(file = %shared.path.display(), "store reopened after a failed commit; writes are taken again");
                metrics::counter!("idora_store_reopened_total").increment(1);
                return true;
            }
            Err(e) => {
                wait = (wait * 2).min(REOPEN_MAX);
                tracing::warn!(file = %shared.path.display(), error = %e, next_try_secs = wait.as_secs(), "store not reopened yet");
            }
        }
    }
}

/// A table that only the reopen probe writes, and deletes again.
const PROBE: TableDefinition<&str, &[u8]> = TableDefinition::new("store_probe");

/// Drops the failed database and opens the file again (redb recovers it to
/// its last durable commit), then proves that a commit of real data goes
/// through: a probe of 64 KiB written and deleted again, so a disk that is
/// still full keeps the file refused rather than failing the next caller.
fn reopen(shared: &Shared) -> Result<(), AppError> {
    if shared.read_only {
        return Err(unavailable(&shared.path, "a read-only copy is not reopened".into()));
    }
    drop(shared.db.write().unwrap_or_else(|e| e.into_inner()).take());
    let db = open_database(&shared.path, shared.layout, shared.opts, false, &shared.health.fault)?;
    let path = &shared.path;
    guarded(path, "was probed", || {
        let tx = db.begin_write().map_err(|e| at(path, e))?;
        {
            let mut t = tx.open_table(PROBE).map_err(|e| at(path, e))?;
            t.insert("probe", vec![0u8; 64 * 1024].as_slice()).map_err(|e| at(path, e))?;
        }
        tx.commit().map_err(|e| at(path, e))?;
        let tx = db.begin_write().map_err(|e| at(path, e))?;
        tx.delete_table(PROBE).map_err(|e| at(path, e))?;
        tx.commit().map_err(|e| at(path, e))
    })?;
    *shared.db.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(db));
    Ok(())
}

/// Runs a batch in one transaction. A job that fails is answered with its
/// error and the transaction is started again without it, so one bad write
/// never takes its neighbours down with it. A failed commit (or a failed
/// start of one) stops the file's writes until the writer has reopened it:
/// what is on disk is no longer known to be what the callers were told.
fn commit_batch(db: &Database, shared: &Shared, mut batch: Vec<Pending>) {
    loop {
        if batch.is_empty() {
            return;
        }
        if shared.health.failure().is_some() {
            return fail_all(batch, shared);
        }
        let mut tx = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.begin_write())) {
            Ok(Ok(tx)) => tx,
            Ok(Err(e)) => return stop(batch, shared, &e.into()),
            Err(_) => return stop(batch, shared, &redb::Error::Corrupted("redb panicked beginning a write".into())),
        };
        if shared.bulk.load(Ordering::SeqCst) {
            // Refused only with a persistent savepoint in the transaction; then it is durable anyway.
            let _ = tx.set_durability(redb::Durability::None);
        }
        let mut outputs = Vec::with_capacity(batch.len());
        let mut failed: Option<(usize, AppError)> = None;
        for (i, p) in batch.iter_mut().enumerate() {
            // A job that panics (a bug) fails alone, like a job that errs:
            // the writer thread must outlive it, or the company could not
            // write at all until a restart.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (p.job)(&tx)));
            match run {
                Ok(Ok(v)) => outputs.push(v),
                Ok(Err(e)) => {
                    failed = Some((i, e));
                    break;
                }
                Err(_) => {
                    failed = Some((i, AppError::internal(anyhow::anyhow!("a write job panicked"))));
                    break;
                }
            }
        }
        if let Some((i, err)) = failed {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.abort()));
            // The file itself failed under the job (an I/O error): not the
            // job's fault, and no later write can be trusted either.
            if let Some(io) = storage_failure(&err) {
                return stop(batch, shared, io);
            }
            let bad = batch.remove(i);
            let _ = bad.reply.send(Err(err));
            continue;
        }
        let started = Instant::now();
        let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.commit()));
        metrics::histogram!("idora_store_commit_seconds").record(started.elapsed().as_secs_f64());
        match committed {
            Ok(Ok(())) => {
                for (p, out) in batch.into_iter().zip(outputs) {
                    let _ = p.reply.send(Ok(out));
                }
                return;
            }
            Ok(Err(e)) => return stop(batch, shared, &e.into()),
            Err(_) => return stop(batch, shared, &redb::Error::Corrupted("redb panicked committing".into())),
        }
    }
}

/// Records why the file takes no writes and refuses the batch.
fn stop(batch: Vec<Pending>, shared: &Shared, e: &redb::Error) {
    let (why, full) = storage_reason(e).unwrap_or_else(|| (format!("the commit failed ({e})"), false));
    shared.health.fail(why, full);
    tracing::error!(file = %shared.path.display(), error = %e, "store commit failed; this database takes no writes until it is reopened");
    metrics::counter!("idora_store_commit_failures_total").increment(1);
    fail_all(batch, shared);
}

fn fail_all(batch: Vec<Pending>, shared: &Shared) {
    let err = |s: &Shared| match s.health.failure() {
        Some(f) => s.refused(&f),
        None => unavailable(&s.path, "the database is being reopened".into()),
    };
    for p in batch {
        let _ = p.reply.send(Err(err(shared)));
    }
}

/// A redb failure at `path`: the file failing underneath (I/O, damage) is
/// `unavailable` with the reason, anything else internal; both name the
/// file in the log and keep the cause.
#[track_caller]
pub fn at<E: Into<redb::Error>>(path: &Path, e: E) -> AppError {
    let e: redb::Error = e.into();
    storage_error(e, format!("store {}", path.display()))
}

/// See [`at`]: a redb failure with its context for the log.
#[track_caller]
pub(crate) fn storage_error(e: redb::Error, context: String) -> AppError {
    let reason = storage_reason(&e);
    let mut err = AppError::internal(anyhow::Error::new(e).context(context));
    if let Some((why, full)) = reason {
        err.kind = if full { ErrorKind::StorageFull } else { ErrorKind::Unavailable };
        err.message_key = Some(STORE_MESSAGE);
        err.args.push(("detail", why));
    }
    err
}

/// The failure of the file underneath (I/O, or redb refusing after one),
/// as opposed to a job's own error: then the database must stop.
fn storage_failure(e: &AppError) -> Option<&redb::Error> {
    let r = e.source.as_ref()?.downcast_ref::<redb::Error>()?;
    matches!(r, redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::Corrupted(_)).then_some(r)
}

/// Maps any redb failure to an error with its cause kept for the log.
#[track_caller]
pub fn store_err<E: Into<redb::Error>>(e: E) -> AppError {
    storage_error(e.into(), "store".into())
}

/// Takes the next value of a named sequence inside a write transaction.
pub fn next_id(tx: &WriteTransaction, name: &str) -> Result<u64, AppError> {
    let mut t = tx.open_table(schema::SEQ).map_err(store_err)?;
    let next = t.get(name).map_err(store_err)?.map(|v| v.value()).unwrap_or(0) + 1;
    t.insert(name, next).map_err(store_err)?;
    Ok(next)
}

/// Creates 32 random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom only fails when the OS has no entropy source at all;
    // there is no safe way to go on without one.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("operating system random source");
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::TableHandle;
    use std::sync::atomic::AtomicBool;

    #[tokio::test]
    async fn a_panicking_write_fails_alone_and_the_writer_lives_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        let r: Result<(), AppError> = db
            .write(|_tx| -> Result<(), AppError> {
                let v: Vec<u8> = Vec::new();
                let _ = v[usize::from(v.is_empty())]; // a bug: out of bounds
                Ok(())
            })
            .await;
        assert_eq!(r.unwrap_err().kind, ErrorKind::Internal);
        let id = db.write(|tx| next_id(tx, "after")).await.unwrap();
        assert_eq!(id, 1, "the next write goes through");
    }

    /// While a file is frozen (its company is being exported) a write is
    /// refused at once with 503's kind, a minute's Retry-After and the
    /// moving message; reads go on; writes queued before the freeze are
    /// committed when it returns; dropping the guard lets writes in again.
    #[tokio::test]
    async fn a_frozen_file_refuses_writes_and_serves_reads() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        let before = tokio::spawn({
            let db = db.clone();
            async move { db.write(|tx| next_id(tx, "n")).await }
        });
        tokio::task::yield_now().await;
        let frozen = db.freeze().await.unwrap();
        // A write racing the freeze either committed before it (and is in
        // what a snapshot now reads) or is refused: never acknowledged after.
        let committed = match before.await.unwrap() {
            Ok(n) => {
                assert_eq!(n, 1);
                1
            }
            Err(e) => {
                assert_eq!(e.message_key, Some(MOVING_MESSAGE), "refused as moving, not failed");
                0
            }
        };
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(e.retry_after, Some(MOVING_RETRY_SECS));
        assert_eq!(e.message_key, Some(MOVING_MESSAGE));
        let tx = db.read().unwrap();
        let n = tx.open_table(schema::SEQ).unwrap().get("n").unwrap().map(|v| v.value()).unwrap_or(0);
        assert_eq!(n, committed, "reads go on and see exactly the acknowledged write");
        drop(tx);
        drop(frozen);
        assert!(!db.is_frozen());
        assert_eq!(db.write(|tx| next_id(tx, "n")).await.unwrap(), committed + 1);
    }

    #[tokio::test]
    async fn the_writer_thread_runs_only_while_there_are_writes() {
        let dir = tempfile::tempdir().unwrap();
        let opts = DbOptions { writer_idle: Duration::from_millis(50), ..DbOptions::default() };
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, opts).unwrap();
        assert!(!db.writer_running(), "opening a file starts no thread");
        for round in 1..=3 {
            let ids = futures_util::future::join_all((0..20).map(|_| db.write(|tx| next_id(tx, "n")))).await;
            assert!(ids.iter().all(Result::is_ok));
            assert!(db.writer_running(), "round {round}: writing starts the writer");
            let mut waited = 0;
            while db.writer_running() && waited < 100 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                waited += 1;
            }
            assert!(!db.writer_running(), "round {round}: a quiet file's writer stops");
        }
        let last = db.write(|tx| next_id(tx, "n")).await.unwrap();
        assert_eq!(last, 61, "no write lost or doubled across the stops");
    }

    #[tokio::test]
    async fn a_quiet_file_is_closed_and_opened_again_by_the_next_read_or_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let opts = DbOptions { writer_idle: Duration::from_millis(20), ..DbOptions::default() };
        let db = Db::create(&path, &migrate::TENANT, opts).unwrap();
        db.write(|tx| next_id(tx, "n")).await.unwrap();
        let held = db.read().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!db.close_if_idle(Duration::from_millis(50)), "a live snapshot keeps the file open");
        drop(held);
        assert!(!db.close_if_idle(Duration::from_secs(60)), "used within the idle time: kept");
        assert!(db.close_if_idle(Duration::from_millis(50)));
        assert!(!db.is_open());
        assert_eq!(db.problem(), None, "closed is not a problem, and asking does not open it");
        assert!(!db.is_open());
        // Another handle could open the file now: it is really closed.
        drop(Db::open(&path, &migrate::TENANT, opts).unwrap());
        // A read opens it again, with everything in it.
        let t = db.read().unwrap();
        assert_eq!(t.open_table(schema::SEQ).unwrap().get("n").unwrap().unwrap().value(), 1);
        drop(t);
        assert!(db.is_open());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(db.close_if_idle(Duration::from_millis(50)));
        // So does a write.
        assert_eq!(db.write(|tx| next_id(tx, "n")).await.unwrap(), 2);
        assert!(db.is_open());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_with_retry_after() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions { write_queue: 2, ..DbOptions::default() }).unwrap();
        let (started, release) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (s, r) = (started.clone(), release.clone());
        let held = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(move |_tx| {
                    s.store(true, Ordering::SeqCst);
                    while !r.load(Ordering::SeqCst) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Ok(())
                })
                .await
            }
        });
        while !started.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.write(|tx| next_id(tx, "n")).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unavailable);
        assert_eq!(refused.retry_after, Some(BUSY_RETRY_SECS));
        assert!(refused.detail.unwrap_or_default().contains("t.redb: write queue full"));
        release.store(true, Ordering::SeqCst);
        held.await.unwrap().unwrap();
        let mut ids = Vec::new();
        for q in queued {
            ids.push(q.await.unwrap().unwrap());
        }
        ids.sort();
        assert_eq!(ids, vec![1, 2], "the queued writes went through, the refused one wrote nothing");
    }

    /// Waits until the writer has reopened `db` (or `within` has passed);
    /// how long it took.
    async fn reopened(db: &Db, within: Duration) -> Duration {
        let started = Instant::now();
        while db.problem().is_some() && started.elapsed() < within {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }

    #[tokio::test]
    async fn a_failed_commit_refuses_writes_until_the_file_reopens_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let db = Db::create(&path, &migrate::TENANT, DbOptions::default()).unwrap();
        let mut acked = Vec::new();
        for _ in 0..5 {
            acked.push(db.write(|tx| next_id(tx, "n")).await.unwrap());
        }
        assert_eq!(db.problem(), None);
        db.inject_io_failure();
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
        assert!(public_reason(&e).contains("a disk operation failed"), "the caller hears why: {e:?}");
        let why = db.problem().unwrap();
        assert!(why.contains("failed commit") && why.contains("injected I/O failure"), "{why}");
        // While it is failed, writes and reads are refused at once, with
        // the file named in the log and a time to come back.
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.retry_after.is_some_and(|s| (1..=30).contains(&s)), "{e:?}");
        assert!(e.detail.unwrap_or_default().contains(&path.display().to_string()), "the log names the file");
        assert_eq!(db.read().err().unwrap().kind, ErrorKind::Unavailable);
        // The disk stays broken past the first reopen (1 s): still refused.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(db.problem().is_some(), "a reopen whose probe fails keeps the file refused");
        db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        // The disk is fixed: within the next backoff step (2 s) the writer
        // has reopened the file, without a restart.
        db.clear_io_failure();
        let took = reopened(&db, Duration::from_secs(10)).await;
        assert_eq!(db.problem(), None, "reopened within {took:?}");
        assert!(took <= Duration::from_secs(3), "reopened after {took:?}");
        // Every acknowledged write is there (the sequence went on from them).
        let next = db.write(|tx| next_id(tx, "n")).await.unwrap();
        assert!(next > *acked.last().unwrap(), "{next} after {acked:?}");
        let tx = db.read().unwrap();
        let seq = tx.open_table(schema::SEQ).unwrap().get("n").unwrap().unwrap().value();
        assert_eq!(seq, next);
        assert!(tx.list_tables().unwrap().all(|t| t.name() != "store_probe"), "the probe leaves no table");
    }

    #[tokio::test]
    async fn a_full_disk_is_storage_full_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        db.write(|tx| next_id(tx, "n")).await.unwrap();
        db.inject_disk_full();
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageFull, "{e}");
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::StorageFull, "refused while full: {e}");
        assert!(public_reason(&e).contains("the disk is full"), "{e:?}");
        assert!(db.problem().unwrap().contains("the disk is full"));
        db.clear_io_failure();
        reopened(&db, Duration::from_secs(5)).await;
        assert_eq!(db.problem(), None);
        assert!(db.write(|tx| next_id(tx, "n")).await.unwrap() >= 2);
    }

    #[test]
    fn an_empty_file_is_refused_not_made_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.redb");
        std::fs::write(&path, b"").unwrap();
        for r in [Db::open(&path, &migrate::TENANT, DbOptions::default()), Db::create(&path, &migrate::TENANT, DbOptions::default())] {
            let e = r.err().unwrap();
            assert_eq!(e.kind, ErrorKind::Unavailable);
            assert!(public_reason(&e).contains("the file is empty"), "{e:?}");
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
    }

    #[test]
    fn a_missing_file_is_not_created_by_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.redb");
        let e = Db::open(&path, &migrate::TENANT, DbOptions::default()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.detail.unwrap_or_default().contains("gone.redb: the database file is missing"));
        assert!(!path.exists());
    }
}
