//! `idora check`: every file opened read-only ([`Overlay`]); with `--deep`,
//! every secondary index against the rows it indexes.
//!
//! Each index is computed afresh from its rows, with the same rule the code
//! that writes it keeps (`tasks::service::save`, `queue::tickets::put_ticket`,
//! booking and release), and compared entry by entry with what is stored. A
//! missing entry hides a row from a list or a job; a stray one points at
//! nothing or at the wrong state. Read-only: it reports, never repairs.
//!
//! Not checked: the platform's phone index of customers' tickets (written
//! after the company's commit, in another file, and allowed to miss an entry
//! after a crash) and the token tables (their rows are the index).

use super::{Db, at};
use crate::error::AppError;
use crate::store::schema::{self, TicketStatus};
use redb::{ReadTransaction, ReadableTable, TableDefinition, TableHandle};
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug};
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

/// One difference between an index and its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The index table's name.
    pub index: String,
    /// The entry, as `key` or `key → value`.
    pub entry: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The rows call for it; the index lacks it.
    Missing,
    /// The index has it; no row calls for it.
    Stray,
    /// The key is there with another value (the expected one in `entry`).
    WrongValue,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.problem {
            Problem::Missing => "missing",
            Problem::Stray => "stray",
            Problem::WrongValue => "wrong value, expected",
        };
        write!(f, "{}: {what} {}", self.index, self.entry)
    }
}

/// Checks the indexes of a company's `data.redb`.
pub fn verify_tenant(db: &Db) -> Result<Vec<Mismatch>, AppError> {
    super::guarded(db.path(), "was checked", || verify_tenant_rows(db)).map_err(|e| db.located(e))
}

fn verify_tenant_rows(db: &Db) -> Result<Vec<Mismatch>, AppError> {
    let tx = db.read()?;
    let p = db.path();
    let mut out = Vec::new();

    // Users by name.
    let mut by_name = BTreeMap::new();
    for row in schema::USERS.open(&tx)?.iter()? {
        let (id, u) = row?;
        by_name.insert(u.username.to_lowercase(), id.value());
    }
    compare(&mut out, schema::USERS_BY_NAME, by_name, read_map(&tx, p, schema::USERS_BY_NAME, |k, v| (k.to_string(), v))?);

    // Tasks: by assignee, creator, department, deadline, status; the overdue job's work; points.
    let (mut assignee, mut creator, mut department, mut deadline, mut due) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut status, mut ledger, mut totals) = (BTreeSet::new(), BTreeMap::new(), BTreeMap::<u64, u64>::new());
    for row in schema::TASKS.open(&tx)?.iter()? {
        let (k, t) = row?;
        let id = k.value();
        assignee.insert((t.assignee_id, id));
        creator.insert((t.creator_id, id));
        if let Some(d) = t.department_id {
            department.insert((d, id));
        }
        deadline.insert((t.deadline, id));
        if crate::tasks::on_the_clock(t.status) {
            due.insert((t.deadline, id));
        }
        status.insert((schema::status_byte(t.status), id));
        if let Some((k, n)) = schema::ledger_entry(id, &t) {
            ledger.insert(k, n);
            *totals.entry(k.0).or_default() += u64::from(n);
        }
    }
    compare_set(&mut out, schema::TASKS_BY_ASSIGNEE, assignee, read_set(&tx, p, schema::TASKS_BY_ASSIGNEE, |k| k)?);
    compare_set(&mut out, schema::TASKS_BY_CREATOR, creator, read_set(&tx, p, schema::TASKS_BY_CREATOR, |k| k)?);
    compare_set(&mut out, schema::TASKS_BY_DEPARTMENT, department, read_set(&tx, p, schema::TASKS_BY_DEPARTMENT, |k| k)?);
    compare_set(&mut out, schema::TASKS_BY_DEADLINE, deadline, read_set(&tx, p, schema::TASKS_BY_DEADLINE, |k| k)?);
    compare_set(&mut out, schema::TASKS_DUE, due, read_set(&tx, p, schema::TASKS_DUE, |k| k)?);
    compare_set(&mut out, schema::TASKS_BY_STATUS, status, read_set(&tx, p, schema::TASKS_BY_STATUS, |k| k)?);
    compare(&mut out, schema::POINTS_LEDGER, ledger, read_map(&tx, p, schema::POINTS_LEDGER, |k, v| (k, v))?);
    compare(&mut out, schema::POINTS_TOTAL, totals, read_map(&tx, p, schema::POINTS_TOTAL, |k, v| (k, v))?);

    // Tickets: by branch and day, by token, open, waiting; bookings' codes and slots.
    let mut checked_in = BTreeSet::new();
    for row in schema::TICKET_EVENTS.open(&tx)?.iter()? {
        let (k, e) = row?;
        if e.kind == "checked_in" {
            checked_in.insert(k.value().0);
        }
    }
    let (mut day, mut open, mut waiting) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut token, mut codes, mut slots) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::<(u64, u64, i64), u32>::new());
    for row in schema::TICKETS.open(&tx)?.iter()? {
        let (k, t) = row?;
        let id = k.value();
        day.insert((t.branch_id, t.day, id));
        // A transfer's new ticket keeps the token, which then leads to it:
        // the latest (highest) id of a token wins.
        let e = token.entry(t.token.clone()).or_insert(id);
        *e = (*e).max(id);
        if !crate::queue::tickets::is_final(t.status) {
            open.insert((t.branch_id, t.day, id));
        }
        if t.status == TicketStatus::Waiting {
            waiting.insert((t.branch_id, t.day, t.service_id, id));
        }
        // A booking holds its code and its slot until it is cancelled or
        // expires before check-in (`release_booking`).
        if let Some(b) = &t.booking {
            let released = matches!(t.status, TicketStatus::Cancelled | TicketStatus::Expired) && !checked_in.contains(&id);
            if !released {
                codes.insert((t.branch_id, t.day, b.code), id);
                *slots.entry((t.branch_id, t.service_id, b.start)).or_default() += 1;
            }
        }
    }
    compare_set(&mut out, schema::TICKETS_BY_BRANCH_DAY, day, read_set(&tx, p, schema::TICKETS_BY_BRANCH_DAY, |k| k)?);
    compare(&mut out, schema::TICKETS_BY_TOKEN, token, read_map(&tx, p, schema::TICKETS_BY_TOKEN, |k, v| (k.to_string(), v))?);
    compare_set(&mut out, schema::TICKETS_OPEN, open, read_set(&tx, p, schema::TICKETS_OPEN, |k| k)?);
    compare_set(&mut out, schema::TICKETS_WAITING, waiting, read_set(&tx, p, schema::TICKETS_WAITING, |k| k)?);
    compare(&mut out, schema::BOOKINGS_BY_CODE, codes, read_map(&tx, p, schema::BOOKINGS_BY_CODE, |k, v| (k, v))?);
    compare(&mut out, schema::BOOKED_SLOTS, slots, read_map(&tx, p, schema::BOOKED_SLOTS, |k, v| (k, v))?);

    // Requests: by token, status, assignee, category, client; the SLA job's
    // work; clients by phone, e-mail and Telegram account (merged records
    // keep their rows, which lead on to the record they joined).
    let (mut r_token, mut r_status, mut r_assignee) = (BTreeMap::new(), BTreeSet::new(), BTreeSet::new());
    let (mut r_category, mut r_client, mut r_sla, mut r_breached) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for row in schema::REQUESTS.open(&tx)?.iter()? {
        let (k, r) = row?;
        let id = k.value();
        r_token.insert(r.token.clone(), id);
        r_status.insert((schema::request_status_byte(r.status), id));
        if let Some(a) = r.assignee_id {
            r_assignee.insert((a, id));
        }
        r_category.insert((r.category_id, id));
        r_client.insert((r.client_id, id));
        if let Some(due) = crate::requests::sla_key(&r) {
            r_sla.insert((due, id));
        }
        if r.first_response_breached || r.resolution_breached {
            r_breached.insert(id);
        }
    }
    compare(&mut out, schema::REQUESTS_BY_TOKEN, r_token, read_map(&tx, p, schema::REQUESTS_BY_TOKEN, |k, v| (k.to_string(), v))?);
    compare_set(&mut out, schema::REQUESTS_BY_STATUS, r_status, read_set(&tx, p, schema::REQUESTS_BY_STATUS, |k| k)?);
    compare_set(&mut out, schema::REQUESTS_BY_ASSIGNEE, r_assignee, read_set(&tx, p, schema::REQUESTS_BY_ASSIGNEE, |k| k)?);
    compare_set(&mut out, schema::REQUESTS_BY_CATEGORY, r_category, read_set(&tx, p, schema::REQUESTS_BY_CATEGORY, |k| k)?);
    compare_set(&mut out, schema::REQUESTS_BY_CLIENT, r_client, read_set(&tx, p, schema::REQUESTS_BY_CLIENT, |k| k)?);
    compare_set(&mut out, schema::REQUESTS_SLA_DUE, r_sla, read_set(&tx, p, schema::REQUESTS_SLA_DUE, |k| k)?);
    compare_set(&mut out, schema::REQUESTS_BREACHED, r_breached, read_set(&tx, p, schema::REQUESTS_BREACHED, |k| k)?);
    let (mut c_phone, mut c_email, mut c_tg) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for row in schema::CLIENTS.open(&tx)?.iter()? {
        let (_, c) = row?;
        if let Some(ph) = c.phone {
            c_phone.insert(ph);
        }
        if let Some(e) = c.email {
            c_email.insert(e);
        }
        if let Some(t) = c.telegram_id {
            c_tg.insert(t);
        }
    }
    // Every way to reach a client leads to a record (which one, after a
    // merge, is the merge's business): the keys must match.
    compare_set(&mut out, schema::CLIENTS_BY_PHONE, c_phone, read_set_keys(&tx, p, schema::CLIENTS_BY_PHONE, |k| k.to_string())?);
    compare_set(&mut out, schema::CLIENTS_BY_EMAIL, c_email, read_set_keys(&tx, p, schema::CLIENTS_BY_EMAIL, |k| k.to_string())?);
    compare_set(&mut out, schema::CLIENTS_BY_TELEGRAM, c_tg, read_set_keys(&tx, p, schema::CLIENTS_BY_TELEGRAM, |k| k)?);

    // The bot: each linked staff account's Telegram account leads back to it.
    let mut staff_tg = BTreeMap::new();
    for row in schema::BOT_STAFF.open(&tx)?.iter()? {
        let (k, link) = row?;
        staff_tg.insert(link.telegram_id, k.value());
    }
    compare(&mut out, schema::BOT_STAFF_BY_TELEGRAM, staff_tg, read_map(&tx, p, schema::BOT_STAFF_BY_TELEGRAM, |k, v| (k, v))?);

    // Files: the content each record uses (its own and its thumbnail's),
    // the quota's sum, and references to files that have no record.
    let (mut blobs, mut file_ids) = (BTreeMap::<String, (u64, u64)>::new(), BTreeSet::new());
    let sizes = read_map(&tx, p, schema::FILE_BLOBS, |k, v| (k.to_string(), v))?;
    for row in schema::FILES.open(&tx)?.iter()? {
        let (k, f) = row?;
        file_ids.insert(k.value());
        blobs.entry(f.sha256.clone()).or_insert((0, f.size)).0 += 1;
        if let Some(t) = f.thumb {
            // A thumbnail's size is only in file_blobs.
            let size = sizes.get(&t).map(|v| v.1).unwrap_or(0);
            blobs.entry(t).or_insert((0, size)).0 += 1;
        }
    }
    let used: u64 = blobs.values().map(|v| v.1).sum();
    compare(&mut out, schema::FILE_BLOBS, blobs, sizes);
    let usage = read_map(&tx, p, schema::FILE_USAGE, |k, v| (k.to_string(), v))?;
    let expected_usage: BTreeMap<String, u64> =
        if used > 0 || usage.contains_key("bytes") { [("bytes".to_string(), used)].into() } else { BTreeMap::new() };
    compare(&mut out, schema::FILE_USAGE, expected_usage, usage);
    let refs = read_map(&tx, p, schema::FILE_REFS, |k, v| (k, v))?;
    let expected_refs: BTreeMap<(u64, u64), u64> = refs.iter().filter(|((f, _), _)| file_ids.contains(f)).map(|(k, v)| (*k, *v)).collect();
    compare(&mut out, schema::FILE_REFS, expected_refs, refs);
    Ok(out)
}

/// Checks the indexes of `platform.redb`.
pub fn verify_platform(db: &Db) -> Result<Vec<Mismatch>, AppError> {
    super::guarded(db.path(), "was checked", || verify_platform_rows(db))
}

fn verify_platform_rows(db: &Db) -> Result<Vec<Mismatch>, AppError> {
    let tx = db.read()?;
    let p = db.path();
    let mut out = Vec::new();
    let mut by_name = BTreeMap::new();
    for (id, a) in schema::ADMINS.open(&tx).and_then(|t| t.all()).map_err(|e| db.located(e))? {
        by_name.insert(a.username.to_lowercase(), id);
    }
    compare(&mut out, schema::ADMINS_BY_NAME, by_name, read_map(&tx, p, schema::ADMINS_BY_NAME, |k, v| (k.to_string(), v))?);
    Ok(out)
}

/// The keys of an index whose values are `()`, made owned by `own`.
fn read_set<K, KO>(
    tx: &ReadTransaction,
    p: &Path,
    def: TableDefinition<K, ()>,
    own: impl Fn(K::SelfType<'_>) -> KO,
) -> Result<BTreeSet<KO>, AppError>
where
    K: redb::Key + 'static,
    KO: Ord,
{
    let t = tx.open_table(def).map_err(|e| at(p, e))?;
    let mut out = BTreeSet::new();
    for row in t.iter().map_err(|e| at(p, e))? {
        out.insert(own(row.map_err(|e| at(p, e))?.0.value()));
    }
    Ok(out)
}

/// The keys of an index with values, made owned by `own`.
fn read_set_keys<K, V, KO>(
    tx: &ReadTransaction,
    p: &Path,
    def: TableDefinition<K, V>,
    own: impl Fn(K::SelfType<'_>) -> KO,
) -> Result<BTreeSet<KO>, AppError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
    KO: Ord,
{
    let t = tx.open_table(def).map_err(|e| at(p, e))?;
    let mut out = BTreeSet::new();
    for row in t.iter().map_err(|e| at(p, e))? {
        out.insert(own(row.map_err(|e| at(p, e))?.0.value()));
    }
    Ok(out)
}

/// The entries of an index with values, made owned by `own`.
fn read_map<K, V, KO, VO>(
    tx: &ReadTransaction,
    p: &Path,
    def: TableDefinition<K, V>,
    own: impl Fn(K::SelfType<'_>, V::SelfType<'_>) -> (KO, VO),
) -> Result<BTreeMap<KO, VO>, AppError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
    KO: Ord,
{
    let t = tx.open_table(def).map_err(|e| at(p, e))?;
    let mut out = BTreeMap::new();
    for row in t.iter().map_err(|e| at(p, e))? {
        let (k, v) = row.map_err(|e| at(p, e))?;
        let (k, v) = own(k.value(), v.value());
        out.insert(k, v);
    }
    Ok(out)
}

fn compare_set<K: Ord + Debug>(out: &mut Vec<Mismatch>, def: impl TableHandle, expected: BTreeSet<K>, actual: BTreeSet<K>) {
    let index = def.name().to_string();
    for k in expected.difference(&actual) {
        out.push(Mismatch { index: index.clone(), entry: format!("{k:?}"), problem: Problem::Missing });
    }
    for k in actual.difference(&expected) {
        out.push(Mismatch { index: index.clone(), entry: format!("{k:?}"), problem: Problem::Stray });
    }
}

fn compare<K: Ord + Debug, V: PartialEq + Debug>(
    out: &mut Vec<Mismatch>,
    def: impl TableHandle,
    expected: BTreeMap<K, V>,
    actual: BTreeMap<K, V>,
) {
    let index = def.name().to_string();
    for (k, v) in &expected {
        match actual.get(k) {
            None => out.push(Mismatch { index: index.clone(), entry: format!("{k:?} → {v:?}"), problem: Problem::Missing }),
            Some(a) if a != v => {
                out.push(Mismatch { index: index.clone(), entry: format!("{k:?} → {v:?} (found {a:?})"), problem: Problem::WrongValue })
            }
            Some(_) => {}
        }
    }
    for (k, v) in &actual {
        if !expected.contains_key(k) {
            out.push(Mismatch { index: index.clone(), entry: format!("{k:?} → {v:?}"), problem: Problem::Stray });
        }
    }
}

/// Bytes of the overlay's blocks.
const BLOCK: u64 = 4096;

/// A redb backend over a file opened read-only: reads come from the file,
/// writes (redb's recovery after a crash, an upgrade on open) go to blocks
/// in memory that later reads see. The file is never written, so `check`
/// runs on a read-only copy and cannot change what it checks. No locks are
/// taken: run it with the server stopped.
#[derive(Debug)]
pub(super) struct Overlay {
    file: std::fs::File,
    state: Mutex<OverlayState>,
}

#[derive(Debug)]
struct OverlayState {
    /// The length redb sees.
    len: u64,
    /// The file's bytes below this are what they are on disk; above it
    /// (after redb shrank the file) they read as zeros.
    base: u64,
    /// Blocks written, by index.
    blocks: HashMap<u64, Vec<u8>>,
}

impl Overlay {
    pub(super) fn new(file: std::fs::File) -> std::io::Result<Overlay> {
        let len = file.metadata()?.len();
        Ok(Overlay { file, state: Mutex::new(OverlayState { len, base: len, blocks: HashMap::new() }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OverlayState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fills `out` from the file at `offset`, zeros past `base`.
    fn read_base(&self, base: u64, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        out.fill(0);
        let n = usize::try_from(base.saturating_sub(offset)).unwrap_or(usize::MAX).min(out.len());
        match out.get_mut(..n) {
            Some(head) if !head.is_empty() => self.file.read_exact_at(head, offset),
            _ => Ok(()),
        }
    }
}

fn short() -> std::io::Error {
    std::io::Error::other("overlay block out of range")
}

impl redb::StorageBackend for Overlay {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.lock().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let st = self.lock();
        let mut done = 0usize;
        while done < out.len() {
            let pos = offset + done as u64;
            let (idx, within) = (pos / BLOCK, (pos % BLOCK) as usize);
            let n = (BLOCK as usize - within).min(out.len() - done);
            let dst = out.get_mut(done..done + n).ok_or_else(short)?;
            match st.blocks.get(&idx) {
                Some(b) => dst.copy_from_slice(b.get(within..within + n).ok_or_else(short)?),
                None => self.read_base(st.base, pos, dst)?,
            }
            done += n;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut st = self.lock();
        if len < st.len {
            st.base = st.base.min(len);
            st.blocks.retain(|idx, _| idx * BLOCK < len);
            if let Some(b) = st.blocks.get_mut(&(len / BLOCK)) {
                b.iter_mut().skip((len % BLOCK) as usize).for_each(|x| *x = 0);
            }
        }
        st.len = len;
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let mut st = self.lock();
        let mut done = 0usize;
        while done < data.len() {
            let pos = offset + done as u64;
            let (idx, within) = (pos / BLOCK, (pos % BLOCK) as usize);
            let n = (BLOCK as usize - within).min(data.len() - done);
            if !st.blocks.contains_key(&idx) {
                let mut b = vec![0u8; BLOCK as usize];
                self.read_base(st.base, idx * BLOCK, &mut b)?;
                st.blocks.insert(idx, b);
            }
            let b = st.blocks.get_mut(&idx).ok_or_else(short)?;
            b.get_mut(within..within + n).ok_or_else(short)?.copy_from_slice(data.get(done..done + n).ok_or_else(short)?);
            done += n;
        }
        st.len = st.len.max(offset + data.len() as u64);
        Ok(())
    }

    fn try_lock_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<bool, redb::BackendError> {
        Ok(true)
    }
    fn try_lock_shared_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<bool, redb::BackendError> {
        Ok(true)
    }
    fn lock_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<(), redb::BackendError> {
        Ok(())
    }
    fn lock_shared_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<(), redb::BackendError> {
        Ok(())
    }
    fn unlock_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<(), redb::BackendError> {
        Ok(())
    }
    fn query_lock_range(&self, _: Bound<u64>, _: Bound<u64>) -> Result<bool, redb::BackendError> {
        Ok(false)
    }
}
