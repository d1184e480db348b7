//! One read snapshot per request.
//!
//! Inside [`scope`] (the web layer wraps each request in it; the bot will
//! wrap each update), every [`Db::read`](super::Db::read) of the same file
//! returns the same snapshot, so a page built from several queries shows
//! one consistent state of the company, and a request costs one read
//! transaction per file however many queries it makes. A write through
//! [`Db::write`](super::Db::write) in the same scope drops the file's
//! snapshot, so what the request wrote is what it reads next. Outside a
//! scope (jobs, the outbox, live streams) each read is fresh.

use redb::{Database, ReadTransaction};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

/// A consistent read view of one database file; cheap to clone.
#[derive(Clone)]
pub struct Snapshot(Arc<Held>);

/// The read transaction, and the open database it reads: a file is not
/// closed for idleness while a snapshot of it lives (`Db::close_if_idle`).
struct Held {
    tx: ReadTransaction,
    _db: Arc<Database>,
}

impl Snapshot {
    pub(super) fn new(tx: ReadTransaction, db: Arc<Database>) -> Snapshot {
        Snapshot(Arc::new(Held { tx, _db: db }))
    }

    /// Whether two snapshots are the same read transaction.
    pub fn same(&self, other: &Snapshot) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Deref for Snapshot {
    type Target = ReadTransaction;
    fn deref(&self) -> &ReadTransaction {
        &self.0.tx
    }
}

tokio::task_local! {
    /// The request's snapshots, by database file (its writer's address).
    static SNAPSHOTS: RefCell<HashMap<usize, Snapshot>>;
}

/// Runs `fut` (a request) with one read snapshot per database file.
pub async fn scope<F: Future>(fut: F) -> F::Output {
    SNAPSHOTS.scope(RefCell::new(HashMap::new()), fut).await
}

/// The scope's snapshot of file `key`, or a new one from `begin` (kept for
/// the rest of the scope). Outside a scope: always `begin`.
pub(super) fn get_or_begin<E>(key: usize, begin: impl FnOnce() -> Result<Snapshot, E>) -> Result<Snapshot, E> {
    let cached = SNAPSHOTS.try_with(|s| s.borrow().get(&key).cloned());
    match cached {
        Ok(Some(snap)) => Ok(snap),
        Ok(None) => {
            let snap = begin()?;
            let _ = SNAPSHOTS.try_with(|s| s.borrow_mut().insert(key, snap.clone()));
            Ok(snap)
        }
        // Not in a scope.
        Err(_) => begin(),
    }
}

/// After a write to file `key`: its next read in this scope is fresh.
pub(super) fn forget(key: usize) {
    let _ = SNAPSHOTS.try_with(|s| s.borrow_mut().remove(&key));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use crate::error::AppError;
    use crate::store::schema::META;
    use crate::store::{Db, store_err};

    async fn put(db: &Db, key: &'static str, value: u8) {
        db.write(move |tx| {
            tx.open_table(META).map_err(store_err)?.insert(key, [value].as_slice()).map_err(store_err)?;
            Ok::<_, AppError>(())
        })
        .await
        .unwrap();
    }

    fn get(db: &Db, key: &str) -> Option<u8> {
        let tx = db.read().unwrap();
        let t = tx.open_table(META).unwrap();
        t.get(key).unwrap().map(|v| v.value()[0])
    }

    #[tokio::test]
    async fn a_request_reads_one_snapshot_until_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("data.redb"), &crate::store::migrate::TENANT, Default::default()).unwrap();
        put(&db, "x", 1).await;

        let outside = (db.read().unwrap(), db.read().unwrap());
        assert!(!outside.0.same(&outside.1), "outside a request every read is fresh");
        drop(outside);

        let db2 = db.clone();
        super::scope(async move {
            let first = db2.read().unwrap();
            assert!(first.same(&db2.read().unwrap()), "one snapshot per request");
            // Someone else's write meanwhile is not seen by this request…
            let other = db2.clone();
            tokio::spawn(async move { put(&other, "x", 2).await }).await.unwrap();
            assert_eq!(get(&db2, "x"), Some(1), "the request keeps its view");
            // …until the request writes itself: then it reads its write and theirs.
            put(&db2, "y", 3).await;
            assert!(!first.same(&db2.read().unwrap()));
            assert_eq!((get(&db2, "x"), get(&db2, "y")), (Some(2), Some(3)));
        })
        .await;
        assert_eq!(get(&db, "x"), Some(2));
    }
}
