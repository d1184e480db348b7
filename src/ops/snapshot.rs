//! A consistent copy of a live database file at one point in time.
//!
//! redb has no backup call, and its tables are typed (a table opened with
//! other key or value types fails), so the copy walks the schema's own list
//! of tables ([`schema::platform_tables`], [`schema::tenant_tables`], the
//! same list that creates them): each table of ONE read transaction is
//! iterated and its rows inserted under the same definition into a new
//! file. A read transaction never blocks the writer (and the writer never
//! waits for it), so the server goes on committing while the copy runs;
//! what the copy holds is the file as that transaction saw it.
//!
//! The new file is written in chunks without flushing (`Durability::None`)
//! and made durable by one last commit; being written afresh, it is also
//! compacted. A table in the file that the list does not name fails the
//! copy: a backup never leaves a table out silently.

use crate::error::AppError;
use crate::store::migrate::{self, Layout};
use crate::store::{Db, schema};
use redb::{Database, Durability, MultimapTableHandle, ReadTransaction, ReadableTable, TableDefinition, TableError, TableHandle};
use std::collections::BTreeSet;
use std::path::Path;

/// What a copy wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    pub tables: usize,
    pub rows: u64,
    /// The size of the new file.
    pub bytes: u64,
}

/// Rows written between two commits of the new file.
const CHUNK_ROWS: u64 = 20_000;

/// Tables a file may hold for a moment that are no data: the store's reopen
/// probe (written and deleted again in one go; a crash may leave it).
const TRANSIENT: &[&str] = &["store_probe"];

/// A consistent copy of `src` (one read transaction: one point in time) into
/// a new file `dst`, while the server goes on writing `src`. A closed idle
/// file is opened by the read. `dst` must not exist.
pub fn copy_db(src: &Db, layout: &'static Layout, dst: &Path) -> Result<CopyStats, AppError> {
    let snap = src.read()?;
    crate::store::guarded(src.path(), "was copied", || copy_tx(&snap, layout, dst))
}

/// [`copy_db`] from a read transaction already begun.
pub fn copy_tx(src: &ReadTransaction, layout: &'static Layout, dst: &Path) -> Result<CopyStats, AppError> {
    if dst.exists() {
        return Err(AppError::internal(anyhow::anyhow!("copy: {} already exists", dst.display())));
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| AppError::internal(anyhow::anyhow!("copy into {}: {what}: {e}", dst.display()));
    let db = Database::builder().create(dst).map_err(|e| fail("create", &e))?;
    let mut copier = Copier { src, dst: &db, seen: BTreeSet::new(), rows: 0, current: String::new() };
    visit(layout, &mut copier).map_err(|e| fail(&format!("table {}", copier.current), &e))?;
    let (seen, rows) = (copier.seen, copier.rows);
    let unknown: Vec<String> = src
        .list_tables()
        .map_err(|e| fail("list tables", &e))?
        .map(|t| t.name().to_string())
        .filter(|n| !seen.contains(n) && !TRANSIENT.contains(&n.as_str()))
        .collect();
    let multimap: Vec<String> = src.list_multimap_tables().map_err(|e| fail("list tables", &e))?.map(|t| t.name().to_string()).collect();
    if !unknown.is_empty() || !multimap.is_empty() {
        drop(db);
        let _ = std::fs::remove_file(dst);
        return Err(AppError::internal(anyhow::anyhow!(
            "copy: the file has tables the schema's list does not name ({}): add them to store::schema's tables",
            unknown.into_iter().chain(multimap).collect::<Vec<_>>().join(", ")
        )));
    }
    // One durable commit makes every chunk before it durable.
    let tx = db.begin_write().map_err(|e| fail("begin", &e))?;
    tx.commit().map_err(|e| fail("commit", &e))?;
    drop(db);
    let bytes = std::fs::metadata(dst).map_err(|e| fail("size", &e))?.len();
    Ok(CopyStats { tables: seen.len(), rows, bytes })
}

/// Shows `t` every table of `layout`'s files.
pub fn visit<T: schema::Tables>(layout: &'static Layout, t: &mut T) -> Result<(), redb::Error> {
    if std::ptr::eq(layout, &migrate::PLATFORM) {
        schema::platform_tables(t)
    } else if std::ptr::eq(layout, &migrate::TENANT) {
        schema::tenant_tables(t)
    } else {
        Err(redb::Error::Io(std::io::Error::other(format!("no list of tables for the {} layout", layout.name))))
    }
}

/// Copies each table it is shown from `src` into `dst`.
struct Copier<'a> {
    src: &'a ReadTransaction,
    dst: &'a Database,
    seen: BTreeSet<String>,
    rows: u64,
    current: String,
}

impl schema::Tables for Copier<'_> {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), redb::Error> {
        let name = def.name().to_string();
        self.current.clone_from(&name);
        self.seen.insert(name);
        let table = match self.src.open_table(def) {
            Ok(t) => Some(t),
            // A file opened by this build has every table; an older one may not.
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let mut rows = match &table {
            Some(t) => Some(t.iter()?),
            None => None,
        };
        loop {
            let mut tx = self.dst.begin_write()?;
            tx.set_durability(Durability::None).map_err(|e| redb::Error::Io(std::io::Error::other(e.to_string())))?;
            let mut done = true;
            {
                let mut out = tx.open_table(def)?;
                if let Some(rows) = rows.as_mut() {
                    let mut n = 0;
                    for row in rows.by_ref() {
                        let (k, v) = row?;
                        out.insert(k.value(), v.value())?;
                        n += 1;
                        if n == CHUNK_ROWS {
                            done = false;
                            break;
                        }
                    }
                    self.rows += n;
                }
            }
            tx.commit()?;
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use crate::store::schema::{META, SEQ, Tables};
    use redb::{ReadableDatabase, ReadableTableMetadata};

    struct Names(Vec<String>);
    impl Tables for Names {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), redb::Error> {
            self.0.push(def.name().to_string());
            Ok(())
        }
    }

    fn listed(layout: &'static Layout) -> BTreeSet<String> {
        let mut n = Names(Vec::new());
        visit(layout, &mut n).unwrap();
        let set: BTreeSet<String> = n.0.iter().cloned().collect();
        assert_eq!(set.len(), n.0.len(), "a table is listed twice: {:?}", n.0);
        set
    }

    fn tables_of(db: &Db) -> BTreeSet<String> {
        let tx = db.read().unwrap();
        tx.list_tables().unwrap().map(|t| t.name().to_string()).collect()
    }

    /// The list the copy walks is every table a company's file and the
    /// platform's file hold once the demo has written everything it writes
    /// (tasks, queue, requests, chat, reports, …): a table created anywhere
    /// but in the schema's list fails here, before a backup could miss it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_list_names_every_table_the_demo_writes() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config { data_dir: dir.path().to_path_buf(), ..Default::default() };
        let clock = std::sync::Arc::new(crate::clock::DemoClock::new());
        let state = crate::app::AppState::open(config, clock.clone()).unwrap();
        assert!(crate::demo::seed(&state).await.unwrap());
        crate::demo::seed_history_days(&state, &|t| clock.set(t), 7).await.unwrap();
        state.tenants.save_due(&state.platform).await.unwrap();
        let tenant = state.tenants.all().into_iter().next().unwrap();
        let db = tenant.db().unwrap();
        let in_file = tables_of(db);
        for t in ["tasks", "queue_tickets", "requests", "chat_messages"] {
            assert!(in_file.iter().any(|n| n.starts_with(t)), "the demo wrote no {t}: {in_file:?}");
        }
        let tenant_list = listed(&migrate::TENANT);
        let missing: Vec<_> = in_file.difference(&tenant_list).collect();
        assert!(missing.is_empty(), "tables in a company file that store::schema's list does not name: {missing:?}");
        let missing: Vec<_> = tables_of(&state.platform).difference(&listed(&migrate::PLATFORM)).cloned().collect::<Vec<_>>();
        assert!(missing.is_empty(), "tables in platform.redb that store::schema's list does not name: {missing:?}");

        // And the copy holds every row of every table.
        let out = dir.path().join("copy.redb");
        // (The demo's outbox is being delivered meanwhile: compared with the
        // snapshot copied, not with the file as it is afterwards.)
        let a = db.read().unwrap();
        let stats = copy_tx(&a, &migrate::TENANT, &out).unwrap();
        assert_eq!(stats.tables, listed(&migrate::TENANT).len());
        let copy = Db::open(&out, &migrate::TENANT, Default::default()).unwrap();
        let b = copy.read().unwrap();
        let mut rows = 0;
        for name in listed(&migrate::TENANT) {
            let src = a.open_untyped_table_named(&name);
            let dst = b.open_untyped_table_named(&name);
            assert_eq!(src, dst, "table {name}");
            rows += src;
        }
        assert_eq!(stats.rows, rows);
        assert!(rows > 1000, "the demo wrote {rows} rows");
    }

    /// A table nobody listed is not left out silently: the copy fails.
    #[test]
    fn a_table_not_listed_fails_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.redb");
        let db = Database::builder().create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        crate::store::schema::init_tenant(&tx).unwrap();
        tx.open_table(SEQ).unwrap().insert("task", 7).unwrap();
        tx.open_table(META).unwrap().insert("schema_version", [6u8].as_slice()).unwrap();
        let stray: TableDefinition<u64, u64> = TableDefinition::new("made_on_the_side");
        tx.open_table(stray).unwrap().insert(1, 2).unwrap();
        tx.commit().unwrap();
        let rtx = db.begin_read().unwrap();
        let err = copy_tx(&rtx, &migrate::TENANT, &dir.path().join("copy.redb")).unwrap_err();
        assert!(format!("{err:?}").contains("made_on_the_side"), "{err:?}");
        assert!(!dir.path().join("copy.redb").exists(), "no partial copy is left");
    }

    /// The copy is one point in time: writes committed after it began are
    /// not in it, and they are not held up by it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_copy_is_one_point_in_time_while_writes_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("data.redb"), &migrate::TENANT, Default::default()).unwrap();
        let put = |db: &Db, from: u64, n: u64| {
            let db = db.clone();
            async move {
                db.write(move |tx| {
                    let mut t = tx.open_table(SEQ).map_err(crate::store::store_err)?;
                    for i in from..from + n {
                        t.insert(format!("k{i:08}").as_str(), i).map_err(crate::store::store_err)?;
                    }
                    Ok(())
                })
                .await
                .unwrap()
            }
        };
        put(&db, 0, 50_000).await;
        let snap = db.read().unwrap();
        // Written after the snapshot began, while it is being copied.
        let writer = tokio::spawn(put(&db, 50_000, 1_000));
        let out = dir.path().join("copy.redb");
        let o = out.clone();
        let stats = tokio::task::spawn_blocking(move || copy_tx(&snap, &migrate::TENANT, &o)).await.unwrap().unwrap();
        writer.await.unwrap();
        let copy = Database::builder().create(&out).unwrap();
        let n = copy.begin_read().unwrap().open_table(SEQ).unwrap().len().unwrap();
        assert_eq!(n, 50_000, "exactly what the snapshot saw");
        assert!(stats.rows >= 50_000 && stats.bytes > 0);
        assert_eq!(db.read().unwrap().open_table(SEQ).unwrap().len().unwrap(), 51_000);
    }

    trait CountRows {
        fn open_untyped_table_named(&self, name: &str) -> u64;
    }
    impl CountRows for ReadTransaction {
        fn open_untyped_table_named(&self, name: &str) -> u64 {
            let h = self.list_tables().unwrap().find(|t| t.name() == name);
            match h {
                Some(h) => self.open_untyped_table(h).unwrap().len().unwrap(),
                None => 0,
            }
        }
    }
}
