//! Typed tables: a table knows its key and its record type.
//!
//! A [`Records`] is declared once in `store::schema` (`USERS: Records<u64,
//! AccountRecord>`), and every read and write through it encodes and decodes
//! that record: a call site can no longer decode a row of one table as the
//! record of another. Its failures say where they happened: the table, the
//! operation and the calling line (and [`super::Db::write`] adds the file).
//! Never a key or a value, which may be a token.
//!
//! `tx` is either transaction: `USERS.open(&tx)?` gives a handle that reads
//! in a read transaction and also writes in a write one.

use super::schema::Versioned;
use crate::error::{AppError, ErrorKind};
use redb::{AccessGuard, Key, ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, Value, WriteTransaction};
use std::borrow::Borrow;
use std::marker::PhantomData;
use std::ops::RangeBounds;
use std::panic::Location;

/// A read or a write transaction: what a table is opened in.
pub trait Txn {
    type Table<'t, K: Key + 'static, V: Value + 'static>: ReadableTable<K, V>
    where
        Self: 't;
    fn open_def<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Self::Table<'_, K, V>, redb::TableError>;
}

impl Txn for ReadTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;
    fn open_def<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<ReadOnlyTable<K, V>, redb::TableError> {
        self.open_table(def)
    }
}

impl Txn for WriteTransaction {
    type Table<'t, K: Key + 'static, V: Value + 'static> = Table<'t, K, V>;
    fn open_def<K: Key + 'static, V: Value + 'static>(&self, def: TableDefinition<'_, K, V>) -> Result<Table<'_, K, V>, redb::TableError> {
        self.open_table(def)
    }
}

impl Txn for super::Snapshot {
    type Table<'t, K: Key + 'static, V: Value + 'static> = ReadOnlyTable<K, V>;
    fn open_def<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<ReadOnlyTable<K, V>, redb::TableError> {
        self.open_table(def)
    }
}

/// `&tx` where `tx` is already a reference (a write job's `&WriteTransaction`).
impl<X: Txn> Txn for &X {
    type Table<'t, K: Key + 'static, V: Value + 'static>
        = X::Table<'t, K, V>
    where
        Self: 't;
    fn open_def<K: Key + 'static, V: Value + 'static>(
        &self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<Self::Table<'_, K, V>, redb::TableError> {
        (**self).open_def(def)
    }
}

/// Where a storage operation failed: the table, the operation, the caller.
#[derive(Clone, Copy)]
struct At {
    table: &'static str,
    op: &'static str,
    caller: &'static Location<'static>,
}

impl At {
    /// A redb failure, as an error that names the table and the operation
    /// (`unavailable` with the reason when the file itself failed); its
    /// cause is kept, so a failing file still stops writes.
    fn store(self, e: impl Into<redb::Error>) -> AppError {
        let mut err = super::storage_error(e.into(), format!("store: {} {}", self.op, self.table));
        err.detail = Some(format!("at {}:{}", self.caller.file(), self.caller.line()));
        err
    }

    fn internal(self, source: anyhow::Error) -> AppError {
        let mut err = AppError::internal(source);
        err.detail = Some(format!("at {}:{}", self.caller.file(), self.caller.line()));
        err
    }

    /// A row of the file that cannot be what it should: `unavailable` with
    /// the reason (the file is damaged), the cause kept for the log.
    fn damaged(self, source: anyhow::Error) -> AppError {
        let mut err = self.internal(source);
        err.kind = ErrorKind::Unavailable;
        err.message_key = Some(super::STORE_MESSAGE);
        err.args.push(("detail", format!("the file is damaged (a {} row does not read)", self.table)));
        err
    }

    /// Runs a table operation; a panic inside redb (a damaged page) becomes
    /// this operation's `unavailable` error instead of the request's crash.
    fn guard<T>(self, f: impl FnOnce() -> Result<T, AppError>) -> Result<T, AppError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            tracing::error!(table = self.table, op = self.op, "the store panicked; the file is probably damaged");
            Err(self.panicked())
        })
    }

    fn panicked(self) -> AppError {
        self.damaged(anyhow::anyhow!("store: {} {}: redb panicked", self.op, self.table))
    }

    fn decode<R: Versioned>(self, bytes: &[u8]) -> Result<R::Latest, AppError> {
        match postcard::from_bytes::<R>(bytes) {
            Ok(r) => Ok(r.into_latest()),
            Err(e) => Err(self.damaged(anyhow::anyhow!("store: {} {}: decode {}: {e}", self.op, self.table, std::any::type_name::<R>()))),
        }
    }

    fn encode<R: Versioned>(self, latest: R::Latest) -> Result<Vec<u8>, AppError> {
        postcard::to_allocvec(&R::from_latest(latest))
            .map_err(|e| self.internal(anyhow::anyhow!("store: {} {}: encode {}: {e}", self.op, self.table, std::any::type_name::<R>())))
    }
}

/// An open [`Records`] table in a transaction of type `T`.
pub type Open<'t, T, K, R> = RecordTable<<T as Txn>::Table<'t, K, &'static [u8]>, K, R>;

/// A table of versioned records, `K` → `R` (stored as postcard bytes).
pub struct Records<K: Key + 'static, R: Versioned> {
    name: &'static str,
    def: TableDefinition<'static, K, &'static [u8]>,
    record: PhantomData<fn() -> R>,
}

impl<K: Key + 'static, R: Versioned> Clone for Records<K, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Key + 'static, R: Versioned> Copy for Records<K, R> {}

impl<K: Key + 'static, R: Versioned> Records<K, R> {
    pub const fn new(name: &'static str) -> Self {
        Records { name, def: TableDefinition::new(name), record: PhantomData }
    }

    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The untyped definition: for creating the table (`schema::init_*`).
    /// Rows are read and written through [`Records::open`].
    pub const fn def(&self) -> TableDefinition<'static, K, &'static [u8]> {
        self.def
    }

    /// Opens the table in `tx` (read or write).
    #[track_caller]
    pub fn open<'t, T: Txn>(&self, tx: &'t T) -> Result<Open<'t, T, K, R>, AppError> {
        let at = At { table: self.name, op: "open", caller: Location::caller() };
        let table = at.guard(|| tx.open_def(self.def).map_err(|e| at.store(e)))?;
        Ok(RecordTable { table, name: self.name, types: PhantomData })
    }
}

/// An open [`Records`] table.
pub struct RecordTable<T, K, R> {
    table: T,
    name: &'static str,
    types: PhantomData<fn() -> (K, R)>,
}

impl<T, K, R> RecordTable<T, K, R> {
    #[track_caller]
    fn at(&self, op: &'static str) -> At {
        At { table: self.name, op, caller: Location::caller() }
    }

    /// The untyped table underneath, for what the typed one does not offer.
    pub fn raw(&self) -> &T {
        &self.table
    }

    pub fn raw_mut(&mut self) -> &mut T {
        &mut self.table
    }
}

impl<T: ReadableTable<K, &'static [u8]>, K: Key + 'static, R: Versioned> RecordTable<T, K, R> {
    /// The record at `key`, brought up to its latest version.
    #[track_caller]
    pub fn get<'k>(&self, key: impl Borrow<K::SelfType<'k>>) -> Result<Option<R::Latest>, AppError> {
        let at = self.at("get");
        at.guard(|| match self.table.get(key).map_err(|e| at.store(e))? {
            Some(v) => Ok(Some(at.decode::<R>(v.value())?)),
            None => Ok(None),
        })
    }

    /// Whether a row is at `key`, without decoding it.
    #[track_caller]
    pub fn contains<'k>(&self, key: impl Borrow<K::SelfType<'k>>) -> Result<bool, AppError> {
        let at = self.at("get");
        at.guard(|| Ok(self.table.get(key).map_err(|e| at.store(e))?.is_some()))
    }

    /// How many rows the table has.
    #[track_caller]
    pub fn count(&self) -> Result<u64, AppError> {
        let at = self.at("count");
        at.guard(|| self.table.len().map_err(|e| at.store(e)))
    }

    /// Every row in key order.
    #[track_caller]
    pub fn iter(&self) -> Result<Rows<'_, K, R>, AppError> {
        let at = self.at("iter");
        Ok(Rows { range: at.guard(|| self.table.iter().map_err(|e| at.store(e)))?, at, broken: false, record: PhantomData })
    }

    /// The rows whose keys fall in `range`, in key order (`.rev()` for the
    /// other way).
    #[track_caller]
    pub fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> Result<Rows<'_, K, R>, AppError>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        let at = self.at("range");
        Ok(Rows { range: at.guard(|| self.table.range(range).map_err(|e| at.store(e)))?, at, broken: false, record: PhantomData })
    }
}

impl<T: ReadableTable<K, &'static [u8]>, K: for<'x> Value<SelfType<'x> = K> + Key + 'static, R: Versioned> RecordTable<T, K, R> {
    /// Every row in key order, for tables whose keys are plain values (ids).
    #[track_caller]
    pub fn all(&self) -> Result<Vec<(K, R::Latest)>, AppError> {
        let at = self.at("iter");
        at.guard(|| {
            let mut out = Vec::new();
            for row in self.table.iter().map_err(|e| at.store(e))? {
                let (k, v) = row.map_err(|e| at.store(e))?;
                out.push((k.value(), at.decode::<R>(v.value())?));
            }
            Ok(out)
        })
    }
}

impl<K: Key + 'static, R: Versioned> RecordTable<Table<'_, K, &'static [u8]>, K, R> {
    /// Writes `value` (the latest version) at `key`, replacing what was there.
    #[track_caller]
    pub fn insert<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>, value: &R::Latest) -> Result<(), AppError>
    where
        R::Latest: Clone,
    {
        let at = self.at("insert");
        let bytes = at.encode::<R>(value.clone())?;
        at.guard(|| self.table.insert(key, bytes.as_slice()).map(|_| ()).map_err(|e| at.store(e)))
    }

    /// Removes the row at `key`; whether there was one.
    #[track_caller]
    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<bool, AppError> {
        let at = self.at("remove");
        at.guard(|| Ok(self.table.remove(key).map_err(|e| at.store(e))?.is_some()))
    }
}

/// Rows of a [`RecordTable`], decoded; the key stays a guard (`k.value()`).
pub struct Rows<'a, K: Key + 'static, R> {
    range: redb::Range<'a, K, &'static [u8]>,
    at: At,
    /// Set when redb panicked in the range: it ends after that error.
    broken: bool,
    record: PhantomData<fn() -> R>,
}

impl<'a, K: Key + 'static, R: Versioned> Rows<'a, K, R> {
    fn row(&self, row: Result<(AccessGuard<'a, K>, AccessGuard<'a, &'static [u8]>), redb::StorageError>) -> <Self as Iterator>::Item {
        let (k, v) = row.map_err(|e| self.at.store(e))?;
        let r = self.at.decode::<R>(v.value())?;
        Ok((k, r))
    }

    /// The next row from either end; a panic inside redb is this row's
    /// error and the last.
    fn step(&mut self, back: bool) -> Option<<Self as Iterator>::Item> {
        if self.broken {
            return None;
        }
        let range = &mut self.range;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| if back { range.next_back() } else { range.next() })) {
            Ok(row) => row.map(|r| self.row(r)),
            Err(_) => {
                self.broken = true;
                tracing::error!(table = self.at.table, "the store panicked reading a range; the file is probably damaged");
                Some(Err(self.at.panicked()))
            }
        }
    }
}

impl<'a, K: Key + 'static, R: Versioned> Iterator for Rows<'a, K, R> {
    type Item = Result<(AccessGuard<'a, K>, R::Latest), AppError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

impl<K: Key + 'static, R: Versioned> DoubleEndedIterator for Rows<'_, K, R> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

/// One entry of a table of named settings (`SETTINGS`), with its record
/// type: the table holds records of several types, each under its own key.
pub struct Setting<R: Versioned> {
    table: &'static str,
    key: &'static str,
    record: PhantomData<fn() -> R>,
}

impl<R: Versioned> Setting<R> {
    pub const fn new(key: &'static str) -> Self {
        Setting { table: "settings", key, record: PhantomData }
    }

    /// The setting, when it was ever saved.
    #[track_caller]
    pub fn get(&self, t: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<R::Latest>, AppError> {
        let at = At { table: self.table, op: self.key, caller: Location::caller() };
        at.guard(|| match t.get(self.key).map_err(|e| at.store(e))? {
            Some(v) => Ok(Some(at.decode::<R>(v.value())?)),
            None => Ok(None),
        })
    }

    /// Saves the setting.
    #[track_caller]
    pub fn put(&self, t: &mut Table<'_, &'static str, &'static [u8]>, value: &R::Latest) -> Result<(), AppError>
    where
        R::Latest: Clone,
    {
        let at = At { table: self.table, op: self.key, caller: Location::caller() };
        let bytes = at.encode::<R>(value.clone())?;
        at.guard(|| t.insert(self.key, bytes.as_slice()).map(|_| ()).map_err(|e| at.store(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::store::schema::{DepartmentRecord, DepartmentV1, DepartmentV2};
    use crate::store::{Db, DbOptions, migrate};

    const T: Records<u64, DepartmentRecord> = Records::new("departments");
    const RAW: TableDefinition<u64, &[u8]> = T.def();

    fn dept(name: &str) -> DepartmentV2 {
        DepartmentV2 { name: name.into(), active: true, created_at: 1, name_ru: String::new(), name_en: String::new() }
    }

    /// A row written as an older version reads as the latest: a department
    /// from before names per language has none (its one name is used).
    #[tokio::test]
    async fn an_old_version_reads_as_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        let old = postcard::to_allocvec(&DepartmentRecord::V1(DepartmentV1 { name: "Kassa".into(), active: true, created_at: 1 })).unwrap();
        db.write(move |tx| {
            tx.open_table(RAW).map_err(crate::store::store_err)?.insert(4, old.as_slice()).map_err(crate::store::store_err)?;
            Ok(())
        })
        .await
        .unwrap();
        let tx = db.read().unwrap();
        assert_eq!(T.open(&tx).unwrap().get(4u64).unwrap(), Some(dept("Kassa")));
    }

    #[tokio::test]
    async fn a_typed_table_writes_reads_and_ranges_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        db.write(|tx| {
            let mut t = T.open(tx)?;
            for (id, n) in [(1, "Kassa"), (2, "Kredit"), (3, "IT")] {
                t.insert(id, &dept(n))?;
            }
            assert!(t.remove(2u64)?);
            assert!(!t.remove(9u64)?);
            Ok(())
        })
        .await
        .unwrap();
        let tx = db.read().unwrap();
        let t = T.open(&tx).unwrap();
        assert_eq!(t.get(1u64).unwrap(), Some(dept("Kassa")));
        assert_eq!(t.get(2u64).unwrap(), None);
        assert_eq!(t.all().unwrap(), vec![(1, dept("Kassa")), (3, dept("IT"))]);
        let back: Vec<u64> = t.range(0u64..).unwrap().rev().map(|r| r.unwrap().0.value()).collect();
        assert_eq!(back, vec![3, 1]);
        assert_eq!(t.count().unwrap(), 2);
    }

    /// A row that does not decode names the table, the operation, the
    /// record type and the calling line, and never the bytes.
    #[tokio::test]
    async fn a_storage_error_says_where_it_happened() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &migrate::TENANT, DbOptions::default()).unwrap();
        db.write(|tx| {
            tx.open_table(RAW)
                .map_err(crate::store::store_err)?
                .insert(7, [0xff, 0xff, 0xff].as_slice())
                .map_err(crate::store::store_err)?;
            Ok(())
        })
        .await
        .unwrap();
        let tx = db.read().unwrap();
        let e = T.open(&tx).unwrap().get(7u64).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable, "a row that does not decode is damage, told as such");
        assert!(crate::store::public_reason(&e).contains("the file is damaged (a departments row does not read)"), "{e:?}");
        let said = e.to_string();
        assert!(said.contains("store: get departments: decode"), "{said}");
        assert!(said.contains("DepartmentRecord"), "{said}");
        assert!(said.contains(&format!("{}:", file!())), "the calling line: {said}");
        let e = db
            .write(|tx| {
                let t = T.open(tx)?;
                t.get(7u64).map(|_| ())
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("t.redb"), "a write also names the file: {e}");
    }
}
