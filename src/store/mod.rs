//! The store: redb files, versioned postcard records and the one write path.
//!
//! Every write goes through [`Db::write`]. Writes are queued to one writer
//! thread per database file, which runs every queued write in one transaction
//! and commits it durably (group commit). A caller's future resolves only
//! after that commit, so an acknowledged write survives `kill -9`.
//!
//! The store refuses to lie: a file of a newer schema is not opened, an older
//! one is migrated first ([`migrate`]); a company file that is missing is an
//! error naming it, never a new empty file ([`Db::open`] vs [`Db::create`]);
//! a full write queue answers "busy, retry" at once instead of growing; and
//! after a failed commit the file takes no more writes until a restart, and
//! says why ([`Db::problem`]).

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
use redb::{BackendError, Database, ReadableDatabase, ReadableTable, StorageBackend, WriteTransaction};
use std::any::Any;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most writes one group commit takes from the queue.
const MAX_BATCH: usize = 512;

/// Writes one database file holds in its queue before [`Db::write`] answers
/// "busy" (503 with `Retry-After`) instead of letting memory grow.
pub const WRITE_QUEUE: usize = 4096;

/// Seconds a caller refused by a full write queue is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

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
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions { write_queue: WRITE_QUEUE, cache_bytes: DEFAULT_CACHE_BYTES }
    }
}

/// One open redb file with its writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    tx: mpsc::Sender<Pending>,
    health: Arc<Health>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// What the writer learned about the file: set once, when a commit fails.
#[derive(Default)]
struct Health {
    /// Why the file takes no more writes (a failed commit).
    failed: OnceLock<String>,
    /// Set by [`Db::inject_io_failure`]: every later sync of the file fails.
    fault: Arc<AtomicBool>,
}

impl Drop for Inner {
    /// Closes the queue and waits for the writer to finish what it holds, so
    /// that the file is released when the last handle goes (a restart in the
    /// same process can open it again at once).
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, closed));
        if let Some(w) = self.writer.take()
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

    /// Opens an existing database file. A missing file is an error that
    /// names it (503 `unavailable` to a request): an operator problem, never
    /// papered over with a new empty database.
    pub fn open(path: &Path, layout: &'static Layout, opts: DbOptions) -> Result<Db, AppError> {
        Db::start(path, layout, opts, false)
    }

    fn start(path: &Path, layout: &'static Layout, opts: DbOptions, create: bool) -> Result<Db, AppError> {
        let file = std::fs::OpenOptions::new().read(true).write(true).create(create).truncate(false).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AppError::new(ErrorKind::Unavailable).with_detail(format!("database file {} is missing", path.display()))
            } else {
                AppError::new(ErrorKind::Unavailable).with_detail(format!("open {}: {e}", path.display()))
            }
        })?;
        let health = Arc::new(Health::default());
        let backend = Backend { file: FileBackend::new(file).map_err(|e| at(path, e))?, fault: health.fault.clone() };
        let db = Database::builder().set_cache_size(opts.cache_bytes).create_with_backend(backend).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                AppError::new(ErrorKind::Unavailable).with_detail(format!("{} is already open by another process", path.display()))
            }
            other => AppError::new(ErrorKind::Unavailable).with_detail(format!("open {}: {other}", path.display())),
        })?;
        migrate::bring_up_to_date(&db, path, layout)?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel(opts.write_queue.max(1));
        let writer_db = db.clone();
        let writer_health = health.clone();
        let writer_path = path.to_path_buf();
        let name = format!("redb-writer-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("db"));
        let writer = std::thread::Builder::new()
            .name(name)
            .spawn(move || writer_loop(writer_db, writer_path, writer_health, rx))
            .map_err(|e| AppError::internal(anyhow::anyhow!("spawn writer: {e}")))?;
        Ok(Db { inner: Arc::new(Inner { db, path: path.to_path_buf(), tx, health, writer: Some(writer) }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside a durable write transaction shared with other
    /// concurrent writers. `f` may run more than once when a neighbour in
    /// the batch fails, so it must not have side effects outside `tx`.
    /// When `f` returns an error nothing it wrote is kept.
    ///
    /// Refused at once with `unavailable` when the queue is full (with a
    /// `retry_after`) or when an earlier commit of this file failed.
    pub async fn write<T, F>(&self, mut f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        if let Some(why) = self.inner.health.failed.get() {
            return Err(self.refused(why));
        }
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |tx| f(tx).map(|v| Box::new(v) as Output));
        self.inner.tx.try_send(Pending { job, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                metrics::counter!("idora_store_writes_refused_total").increment(1);
                AppError::new(ErrorKind::Unavailable).with_retry_after(BUSY_RETRY_SECS).with_detail(format!(
                    "{}: write queue full ({} waiting)",
                    self.path().display(),
                    self.inner.tx.max_capacity()
                ))
            }
            mpsc::error::TrySendError::Closed(_) => self.stopped(),
        })?;
        let out = rx.await.map_err(|_| self.stopped());
        // What this request wrote is what it reads next.
        snapshot::forget(self.key());
        let out = out?.map_err(|e| self.located(e))?;
        out.downcast::<T>().map(|b| *b).map_err(|_| AppError::internal(anyhow::anyhow!("write result of unexpected type")))
    }

    /// A consistent read snapshot: within a request ([`snapshot::scope`])
    /// the request's one snapshot of this file, else a fresh one. Reads
    /// never wait for writers. After a failed commit redb refuses reads too
    /// (its state on disk is unknown), so they are `unavailable` like
    /// writes, not internal errors.
    pub fn read(&self) -> Result<Snapshot, AppError> {
        if let Some(why) = self.inner.health.failed.get() {
            return Err(self.refused(why));
        }
        snapshot::get_or_begin(self.key(), || self.inner.db.begin_read().map_err(|e| at(self.path(), e)))
    }

    /// This file's key among a request's snapshots.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Verifies the file can be read: every table opens and a snapshot begins.
    pub fn ping(&self) -> Result<(), AppError> {
        let tx = self.read()?;
        let t = tx.open_table(schema::META).map_err(|e| at(self.path(), e))?;
        t.get(schema::VERSION_KEY).map_err(|e| at(self.path(), e))?;
        Ok(())
    }

    /// Why this file cannot serve (a failed commit stopped its writes, or it
    /// no longer reads), in words for `/readyz` and the log. `None`: healthy.
    pub fn problem(&self) -> Option<String> {
        if let Some(why) = self.inner.health.failed.get() {
            return Some(format!("stopped after a failed commit ({why})"));
        }
        self.ping().err().map(|e| format!("does not read ({e})"))
    }

    /// Makes every later sync of this file fail with an I/O error, as a disk
    /// that is full or gone does. For tests of the failure path: a read-only
    /// file would not do (redb keeps its handle open for writing), and a
    /// real full disk cannot be made on a test box without root.
    #[doc(hidden)]
    pub fn inject_io_failure(&self) {
        self.inner.health.fault.store(true, Ordering::SeqCst);
    }

    fn refused(&self, why: &str) -> AppError {
        AppError::new(ErrorKind::Unavailable).with_detail(format!("{}: stopped after a failed commit ({why})", self.path().display()))
    }

    fn stopped(&self) -> AppError {
        AppError::new(ErrorKind::Unavailable).with_detail(format!("{}: store writer stopped", self.path().display()))
    }

    /// Adds the file to an internal error's detail, so the log says where.
    pub(crate) fn located(&self, mut e: AppError) -> AppError {
        if e.kind == ErrorKind::Internal {
            let here = self.path().display();
            e.detail = Some(match e.detail.take() {
                Some(d) => format!("{d}, in {here}"),
                None => format!("in {here}"),
            });
        }
        e
    }
}

/// redb's file backend, with a switch that makes syncs fail (see
/// [`Db::inject_io_failure`]). Everything else goes straight through.
#[derive(Debug)]
struct Backend {
    file: FileBackend,
    fault: Arc<AtomicBool>,
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
        if self.fault.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected I/O failure"));
        }
        self.file.sync_data()
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

fn writer_loop(db: Arc<Database>, path: PathBuf, health: Arc<Health>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        metrics::histogram!("idora_store_batch_size").record(batch.len() as f64);
        commit_batch(&db, &path, &health, std::mem::take(&mut batch));
    }
}

/// Runs a batch in one transaction. A job that fails is answered with its
/// error and the transaction is started again without it, so one bad write
/// never takes its neighbours down with it. A failed commit (or a failed
/// start of one) stops every later write of the file: what is on disk is
/// no longer known to be what the callers were told.
fn commit_batch(db: &Database, path: &Path, health: &Health, mut batch: Vec<Pending>) {
    loop {
        if batch.is_empty() {
            return;
        }
        if let Some(why) = health.failed.get() {
            return fail_all(batch, path, why);
        }
        let tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(e) => return stop(batch, path, health, &format!("begin: {e}")),
        };
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
            let _ = tx.abort();
            // The file itself failed under the job (an I/O error): not the
            // job's fault, and no later write can be trusted either.
            if let Some(io) = storage_failure(&err) {
                return stop(batch, path, health, &io);
            }
            let bad = batch.remove(i);
            let _ = bad.reply.send(Err(err));
            continue;
        }
        match tx.commit() {
            Ok(()) => {
                for (p, out) in batch.into_iter().zip(outputs) {
                    let _ = p.reply.send(Ok(out));
                }
                return;
            }
            Err(e) => return stop(batch, path, health, &format!("commit: {e}")),
        }
    }
}

/// Records why the file takes no more writes and refuses the batch.
fn stop(batch: Vec<Pending>, path: &Path, health: &Health, why: &str) {
    let _ = health.failed.set(why.to_string());
    let why = health.failed.get().map(String::as_str).unwrap_or(why);
    tracing::error!(file = %path.display(), error = %why, "store commit failed; this database takes no more writes until a restart");
    metrics::counter!("idora_store_commit_failures_total").increment(1);
    fail_all(batch, path, why);
}

fn fail_all(batch: Vec<Pending>, path: &Path, why: &str) {
    for p in batch {
        let _ = p.reply.send(Err(
            AppError::new(ErrorKind::Unavailable).with_detail(format!("{}: stopped after a failed commit ({why})", path.display()))
        ));
    }
}

/// A redb failure at `path`, as an internal error that names the file.
pub fn at<E: Into<redb::Error>>(path: &Path, e: E) -> AppError {
    let e: redb::Error = e.into();
    AppError::internal(anyhow::Error::new(e).context(format!("store {}", path.display())))
}

/// The failure of the file underneath (I/O, or redb refusing after one),
/// as opposed to a job's own error: then the database must stop.
fn storage_failure(e: &AppError) -> Option<String> {
    let r = e.source.as_ref()?.downcast_ref::<redb::Error>()?;
    matches!(r, redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::Corrupted(_)).then(|| r.to_string())
}

/// Maps any redb failure to an internal error with its cause kept for the log.
pub fn store_err<E: Into<redb::Error>>(e: E) -> AppError {
    let e: redb::Error = e.into();
    AppError::internal(anyhow::Error::new(e).context("store"))
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

    #[tokio::test]
    async fn a_failed_commit_stops_writes_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let db = Db::create(&path, &migrate::TENANT, DbOptions::default()).unwrap();
        db.write(|tx| next_id(tx, "n")).await.unwrap();
        assert_eq!(db.problem(), None);
        db.inject_io_failure();
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
        let why = db.problem().unwrap();
        assert!(why.contains("failed commit"), "{why}");
        let e = db.write(|tx| next_id(tx, "n")).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.detail.unwrap_or_default().contains(&path.display().to_string()), "the log names the file");
        drop(db);
        // After a restart (the disk fixed) the file opens and takes writes;
        // the acknowledged write is there. (Whether the failed one landed is
        // unknown after a failed fsync, which is why writes stop.)
        let db = Db::open(&path, &migrate::TENANT, DbOptions::default()).unwrap();
        assert!(db.write(|tx| next_id(tx, "n")).await.unwrap() >= 2);
    }

    #[test]
    fn a_missing_file_is_not_created_by_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.redb");
        let e = Db::open(&path, &migrate::TENANT, DbOptions::default()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert!(e.detail.unwrap_or_default().contains("gone.redb is missing"));
        assert!(!path.exists());
    }
}
