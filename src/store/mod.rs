//! The store: redb files, versioned postcard records and the one write path.
//!
//! Every write goes through [`Db::write`]. Writes are queued to one writer
//! thread per database file, which runs every queued write in one transaction
//! and commits it durably (group commit). A caller's future resolves only
//! after that commit, so an acknowledged write survives `kill -9`.

pub mod schema;

use crate::error::{AppError, ErrorKind};
use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};
use schema::Versioned;
use serde::{Serialize, de::DeserializeOwned};
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most writes one group commit takes from the queue.
const MAX_BATCH: usize = 512;

type Output = Box<dyn Any + Send>;
type Job = Box<dyn FnMut(&WriteTransaction) -> Result<Output, AppError> + Send>;

struct Pending {
    job: Job,
    reply: oneshot::Sender<Result<Output, AppError>>,
}

/// One open redb file with its writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    tx: mpsc::UnboundedSender<Pending>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Inner {
    /// Closes the queue and waits for the writer to finish what it holds, so
    /// that the file is released when the last handle goes (a restart in the
    /// same process can open it again at once).
    fn drop(&mut self) {
        let (closed, _) = mpsc::unbounded_channel();
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
    /// Opens (or creates) a database file with the default page cache
    /// ([`DEFAULT_CACHE_BYTES`]); see [`Db::open_with_cache`].
    pub fn open(path: &Path, init: fn(&WriteTransaction) -> Result<(), redb::Error>) -> Result<Db, AppError> {
        Db::open_with_cache(path, init, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) a database file whose page cache holds at most
    /// `cache_bytes`, and makes sure every table `init` names exists, so
    /// that read transactions never meet a missing table.
    pub fn open_with_cache(
        path: &Path,
        init: fn(&WriteTransaction) -> Result<(), redb::Error>,
        cache_bytes: usize,
    ) -> Result<Db, AppError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| AppError::internal(anyhow::anyhow!("create {}: {e}", parent.display())))?;
        }
        let db = Database::builder().set_cache_size(cache_bytes).create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                AppError::new(ErrorKind::Unavailable).with_detail(format!("{} is already open by another process", path.display()))
            }
            other => AppError::internal(anyhow::anyhow!("open {}: {other}", path.display())),
        })?;
        {
            let tx = db.begin_write().map_err(store_err)?;
            init(&tx).map_err(store_err)?;
            tx.commit().map_err(store_err)?;
        }
        let db = Arc::new(db);
        let (tx, rx) = mpsc::unbounded_channel();
        let writer_db = db.clone();
        let name = format!("redb-writer-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("db"));
        let writer = std::thread::Builder::new()
            .name(name)
            .spawn(move || writer_loop(writer_db, rx))
            .map_err(|e| AppError::internal(anyhow::anyhow!("spawn writer: {e}")))?;
        Ok(Db { inner: Arc::new(Inner { db, path: path.to_path_buf(), tx, writer: Some(writer) }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside a durable write transaction shared with other
    /// concurrent writers. `f` may run more than once when a neighbour in
    /// the batch fails, so it must not have side effects outside `tx`.
    /// When `f` returns an error nothing it wrote is kept.
    pub async fn write<T, F>(&self, mut f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> Result<T, AppError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |tx| f(tx).map(|v| Box::new(v) as Output));
        self.inner
            .tx
            .send(Pending { job, reply })
            .map_err(|_| AppError::new(ErrorKind::Unavailable).with_detail("store writer stopped".to_string()))?;
        let out = rx.await.map_err(|_| AppError::new(ErrorKind::Unavailable).with_detail("store writer stopped".to_string()))??;
        out.downcast::<T>().map(|b| *b).map_err(|_| AppError::internal(anyhow::anyhow!("write result of unexpected type")))
    }

    /// A consistent read snapshot. Reads never wait for writers.
    pub fn read(&self) -> Result<ReadTransaction, AppError> {
        self.inner.db.begin_read().map_err(store_err)
    }

    /// Verifies the file can be read: every table opens and a snapshot begins.
    pub fn ping(&self) -> Result<(), AppError> {
        let tx = self.read()?;
        let t = tx.open_table(schema::META).map_err(store_err)?;
        t.get("schema_version").map_err(store_err)?;
        Ok(())
    }
}

fn writer_loop(db: Arc<Database>, mut rx: mpsc::UnboundedReceiver<Pending>) {
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
        commit_batch(&db, std::mem::take(&mut batch));
    }
}

/// Runs a batch in one transaction. A job that fails is answered with its
/// error and the transaction is started again without it, so one bad write
/// never takes its neighbours down with it.
fn commit_batch(db: &Database, mut batch: Vec<Pending>) {
    loop {
        if batch.is_empty() {
            return;
        }
        let tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(e) => return fail_all(batch, store_err(e)),
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
            Err(e) => return fail_all(batch, store_err(e)),
        }
    }
}

fn fail_all(batch: Vec<Pending>, err: AppError) {
    tracing::error!(error = %err, "store commit failed");
    for p in batch {
        let _ = p.reply.send(Err(AppError::new(err.kind).with_detail("storage error".to_string())));
    }
}

/// Maps any redb failure to an internal error with its cause kept for the log.
pub fn store_err<E: Into<redb::Error>>(e: E) -> AppError {
    let e: redb::Error = e.into();
    AppError::internal(anyhow::anyhow!("store: {e}"))
}

/// Encodes a record with postcard.
pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AppError> {
    postcard::to_allocvec(v).map_err(|e| AppError::internal(anyhow::anyhow!("encode: {e}")))
}

/// Decodes a record with postcard.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    postcard::from_bytes(bytes).map_err(|e| AppError::internal(anyhow::anyhow!("decode: {e}")))
}

/// Takes the next value of a named sequence inside a write transaction.
pub fn next_id(tx: &WriteTransaction, name: &str) -> Result<u64, AppError> {
    let mut t = tx.open_table(schema::SEQ).map_err(store_err)?;
    let next = t.get(name).map_err(store_err)?.map(|v| v.value()).unwrap_or(0) + 1;
    t.insert(name, next).map_err(store_err)?;
    Ok(next)
}

/// Encodes the latest version of a record.
pub fn enc<R: Versioned>(latest: R::Latest) -> Result<Vec<u8>, AppError> {
    encode(&R::from_latest(latest))
}

/// Decodes any version of a record and brings it up to the latest.
pub fn dec<R: Versioned>(bytes: &[u8]) -> Result<R::Latest, AppError> {
    Ok(decode::<R>(bytes)?.into_latest())
}

/// Reads one record from a `u64 → bytes` table.
pub fn get_record<R: Versioned>(table: &impl ReadableTable<u64, &'static [u8]>, id: u64) -> Result<Option<R::Latest>, AppError> {
    match table.get(id).map_err(store_err)? {
        Some(v) => Ok(Some(dec::<R>(v.value())?)),
        None => Ok(None),
    }
}

/// Reads every record of a `u64 → bytes` table in id order.
pub fn all_records<R: Versioned>(table: &impl ReadableTable<u64, &'static [u8]>) -> Result<Vec<(u64, R::Latest)>, AppError> {
    let mut out = Vec::new();
    for row in table.iter().map_err(store_err)? {
        let (k, v) = row.map_err(store_err)?;
        out.push((k.value(), dec::<R>(v.value())?));
    }
    Ok(out)
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
        let db = Db::open(&dir.path().join("t.redb"), schema::init_tenant).unwrap();
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
}
