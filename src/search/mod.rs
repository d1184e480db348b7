//! Task and message search: one tantivy index per company under
//! `tenants/<slug>/index/`, derived from the store and rebuildable from it.
//!
//! The task service tells the index which task changed ([`Indexes::touch`]);
//! a background worker per company reads the task's current state from the
//! store, replaces its document and commits in small batches. Each commit
//! carries the store's task revision as its payload, which task writes and
//! user renames ([`names_changed`]) move on; an index whose payload differs
//! from the store is rebuilt by its worker when the index is first opened
//! (in the background), and by `idora reindex`. Each company's index opens
//! under its own lock, so one company's rebuild never holds up another's.
//! The worker thread (and tantivy's writer with its threads) runs only while
//! there are changes: it stops after [`Indexes::new`]'s `idle` without one,
//! so a quiet company costs no thread.
//!
//! Uzbek is written in Latin and Cyrillic, and names in both, so every text
//! goes through [`fold`] (Cyrillic to Uzbek Latin, apostrophes dropped,
//! lower case) before it is indexed or searched: "Aziz" finds "Азиз".

use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, SEQ, TASKS, TASKS_BY_ASSIGNEE, TASKS_BY_CREATOR, TaskStatus, TaskV1};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::WriteTransaction;
use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};
use tokio::sync::oneshot;

/// The sequence bumped by every task write: how far the store has moved.
pub const TASK_REV: &str = "task_rev";
/// Most changes one commit takes.
const BATCH: usize = 2048;

/// Lower case, Cyrillic to Uzbek Latin, apostrophes and their look-alikes dropped.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let m: &str = match c {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'э' => "e",
            'ё' => "yo",
            'ж' => "j",
            'з' => "z",
            'и' | 'ы' => "i",
            'й' => "y",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "x",
            'ц' => "ts",
            'ч' => "ch",
            'ш' | 'щ' => "sh",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            'ў' => "o",
            'қ' => "q",
            'ғ' => "g",
            'ҳ' => "h",
            '\'' | '‘' | '’' | 'ʻ' | 'ʼ' | '`' | '´' => "",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(m);
    }
    // People write ҳ/х (and Latin h/x) interchangeably, above all in
    // Russian spelling ("Хисобот" for "Hisobot"); sh and ch stay as they are.
    let mut folded = String::with_capacity(out.len());
    let mut prev = ' ';
    for c in out.chars() {
        folded.push(if c == 'h' && prev != 's' && prev != 'c' { 'x' } else { c });
        prev = c;
    }
    folded
}

#[derive(Clone, Copy)]
struct Fields {
    /// [`KIND_TASK`] or [`KIND_MESSAGE`]: what a document is.
    kind: Field,
    id: Field,
    title: Field,
    description: Field,
    assignee: Field,
    creator: Field,
    status: Field,
    assignee_id: Field,
    creator_id: Field,
    department_id: Field,
    deadline: Field,
    /// A message's id, its thread and its text.
    message: Field,
    thread: Field,
    body: Field,
    /// A client request's id; its words are in `body`.
    request: Field,
}

const KIND_TASK: u64 = 0;
const KIND_MESSAGE: u64 = 1;
const KIND_REQUEST: u64 = 2;

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        kind: b.add_u64_field("kind", INDEXED),
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        title: b.add_text_field("title", TEXT),
        description: b.add_text_field("description", TEXT),
        assignee: b.add_text_field("assignee", TEXT),
        creator: b.add_text_field("creator", TEXT),
        status: b.add_text_field("status", STRING),
        assignee_id: b.add_u64_field("assignee_id", INDEXED),
        creator_id: b.add_u64_field("creator_id", INDEXED),
        department_id: b.add_u64_field("department_id", INDEXED),
        deadline: b.add_i64_field("deadline", INDEXED | FAST),
        message: b.add_u64_field("message", INDEXED | STORED),
        thread: b.add_u64_field("thread", STORED),
        body: b.add_text_field("body", TEXT),
        request: b.add_u64_field("request", INDEXED | STORED),
    };
    (b.build(), f)
}

fn search_err(e: tantivy::TantivyError) -> AppError {
    AppError::internal(anyhow::anyhow!("search: {e}"))
}

enum Msg {
    Touch(u64),
    /// A user's name changed: every task they are assignee or creator of.
    User(u64),
    /// A chat message was written, edited or deleted.
    Message(u64),
    /// A client request changed.
    Request(u64),
    /// The index lags the store: write it again from the store.
    Rebuild,
    Flush(oneshot::Sender<()>),
}

/// One company's index.
pub struct TaskIndex {
    /// When it was last asked for ([`Indexes::close_idle`]).
    last_used: Mutex<std::time::Instant>,
    reader: IndexReader,
    fields: Fields,
    /// `None` only while the index is dropped.
    tx: Option<mpsc::Sender<Msg>>,
    worker: Arc<Worker>,
}

/// What the worker thread needs, shared with the index so that the thread
/// can be started again after it stopped.
struct Worker {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    db: Db,
    slug: String,
    memory: usize,
    idle: Duration,
    /// A batch was dropped (the writer could not be made): the next start
    /// writes the index again from the store.
    lagging: AtomicBool,
    slot: Mutex<WorkerSlot>,
}

/// The queue's receiving end while no thread runs, the thread while one
/// does; senders queue under this lock (see `store::Db`'s writer).
#[derive(Default)]
struct WorkerSlot {
    rx: Option<mpsc::Receiver<Msg>>,
    running: bool,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TaskIndex {
    /// Lets the worker finish its queue and release the index and the
    /// database before the last handle is gone.
    fn drop(&mut self) {
        drop(self.tx.take());
        let thread = self.worker.slot.lock().unwrap_or_else(|e| e.into_inner()).thread.take();
        if let Some(w) = thread
            && w.thread().id() != std::thread::current().id()
        {
            let _ = w.join();
        }
    }
}

/// One company's place in [`Indexes`]: its own lock, held while that
/// company's index is opened, so no other company waits for it.
#[derive(Default)]
struct Slot(Mutex<Option<Arc<TaskIndex>>>);

/// Every company's index, opened on first use.
pub struct Indexes {
    open: Mutex<HashMap<String, Arc<Slot>>>,
    /// Memory of each company's index writer, in bytes.
    writer_memory: usize,
    /// How long a worker outlives its last change.
    idle: Duration,
}

impl Default for Indexes {
    fn default() -> Self {
        Indexes::new(WRITER_MEMORY_MIN, Duration::from_secs(30))
    }
}

/// The least memory tantivy lets an index writer with one thread have
/// (`MEMORY_BUDGET_NUM_BYTES_MIN`, not exported).
pub const WRITER_MEMORY_MIN: usize = 15_000_000;

impl Indexes {
    /// Each company's writer gets `writer_memory` bytes (at least the
    /// minimum tantivy allows); its worker stops after `idle` without a
    /// change.
    pub fn new(writer_memory: usize, idle: Duration) -> Indexes {
        Indexes { open: Mutex::new(HashMap::new()), writer_memory: writer_memory.max(WRITER_MEMORY_MIN), idle }
    }

    /// The index of `tenant`, opened on first use. An index that lags the
    /// store is rebuilt by its worker in the background: this returns at
    /// once, searches see the old contents until then, and
    /// [`TaskIndex::flush`] waits for the rebuild.
    pub fn get(&self, tenant: &Tenant) -> Result<Arc<TaskIndex>, AppError> {
        let slot = {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.entry(tenant.slug.clone()).or_default().clone()
        };
        let mut idx = slot.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = idx.as_ref() {
            *i.last_used.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
            return Ok(i.clone());
        }
        let i = Arc::new(TaskIndex::open(tenant, self.writer_memory, self.idle)?);
        *idx = Some(i.clone());
        Ok(i)
    }

    /// Closes the indexes nobody has asked for in `idle` whose worker has
    /// stopped; the next search or change opens them again. Returns how many.
    pub fn close_idle(&self, idle: Duration) -> usize {
        let slots: Vec<Arc<Slot>> = self.open.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let mut closed = 0;
        for slot in slots {
            let mut idx = slot.0.lock().unwrap_or_else(|e| e.into_inner());
            let quiet = idx.as_ref().is_some_and(|i| {
                Arc::strong_count(i) == 1 && !i.worker_running() && i.last_used.lock().unwrap_or_else(|e| e.into_inner()).elapsed() >= idle
            });
            if quiet {
                drop(idx.take());
                closed += 1;
            }
        }
        closed
    }

    /// The index of `tenant` if it is open.
    pub fn opened(&self, tenant: &Tenant) -> Option<Arc<TaskIndex>> {
        let slot = self.open.lock().unwrap_or_else(|e| e.into_inner()).get(&tenant.slug).cloned()?;
        slot.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Tells the index that a task changed. Never fails the caller: the
    /// store is the truth and a lagging index is repaired when next opened.
    pub fn touch(&self, tenant: &Tenant, task_id: u64) {
        self.send(tenant, Msg::Touch(task_id));
    }

    /// Tells the index that a chat message changed (after the commit that
    /// called [`names_changed`], which moves the revision on).
    pub fn touch_message(&self, tenant: &Tenant, message_id: u64) {
        self.send(tenant, Msg::Message(message_id));
    }

    /// Tells the index that a client request changed (after the commit,
    /// which moved the revision on).
    pub fn touch_request(&self, tenant: &Tenant, request_id: u64) {
        self.send(tenant, Msg::Request(request_id));
    }

    /// Tells the index that a user's name changed, after the commit that
    /// changed it (which called [`names_changed`]): their tasks are indexed
    /// again under the new name.
    pub fn user_renamed(&self, tenant: &Tenant, user_id: u64) {
        self.send(tenant, Msg::User(user_id));
    }

    fn send(&self, tenant: &Tenant, m: Msg) {
        match self.get(tenant).and_then(|i| i.send(m)) {
            Ok(()) => {}
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "search index unavailable"),
        }
    }
}

/// In the transaction of any change to what the index holds other than a
/// task itself (a user's name): moves the store's revision on, so an index
/// that missed the change (a crash before the worker applied it) is seen
/// to lag and is rebuilt. Task writes bump it in `tasks::service::save`.
pub fn names_changed(tx: &WriteTransaction) -> Result<(), AppError> {
    next_id(tx, TASK_REV)?;
    Ok(())
}

fn store_rev(db: &Db) -> Result<u64, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(SEQ).map_err(store_err)?;
    Ok(t.get(TASK_REV).map_err(store_err)?.map(|v| v.value()).unwrap_or(0))
}

fn names(db: &Db) -> Result<HashMap<u64, String>, AppError> {
    let tx = db.read()?;
    let t = schema::USERS.open(&tx)?;
    let mut out = HashMap::new();
    for row in t.iter()? {
        let (k, a) = row?;
        out.insert(k.value(), fold(&format!("{} {}", a.full_name, a.username)));
    }
    Ok(out)
}

fn document(f: &Fields, id: u64, t: &TaskV1, names: &HashMap<u64, String>) -> TantivyDocument {
    doc!(
        f.kind => KIND_TASK,
        f.id => id,
        f.title => fold(&t.title),
        f.description => fold(&t.description),
        f.assignee => names.get(&t.assignee_id).cloned().unwrap_or_default(),
        f.creator => names.get(&t.creator_id).cloned().unwrap_or_default(),
        f.status => crate::tasks::status_code(t.status),
        f.assignee_id => t.assignee_id,
        f.creator_id => t.creator_id,
        f.department_id => t.department_id.unwrap_or(0),
        f.deadline => t.deadline,
    )
}

/// A chat message's document; none for a deleted one.
fn message_document(f: &Fields, id: u64, m: &schema::MessageV2) -> Option<TantivyDocument> {
    m.deleted.is_none().then(|| doc!(f.kind => KIND_MESSAGE, f.message => id, f.thread => m.thread_id, f.body => fold(&m.text)))
}

/// A client request's document: its subject, text, answers, the client's
/// name and phone, all in `body`.
fn request_document(f: &Fields, tx: &redb::ReadTransaction, id: u64, r: &schema::RequestV1) -> Result<TantivyDocument, AppError> {
    let mut words = format!("{} {} {}", crate::requests::number(id), r.subject, r.text);
    for v in &r.fields {
        words.push(' ');
        match &v.shown {
            Some(n) => words.push_str(&format!("{} {} {}", n.uz, n.ru, n.en)),
            None => words.push_str(&v.value),
        }
    }
    if let Some(c) = schema::CLIENTS.open(tx)?.get(r.client_id)? {
        words.push(' ');
        words.push_str(&c.name);
        if let Some(p) = &c.phone {
            // The whole number and its local part, so "90 123" and "+99890…" both find it.
            words.push_str(&format!(" {} {}", p.trim_start_matches('+'), p.trim_start_matches("+998")));
        }
        if let Some(e) = &c.email {
            words.push(' ');
            words.push_str(e);
        }
    }
    Ok(doc!(f.kind => KIND_REQUEST, f.request => id, f.body => fold(&words)))
}

/// Writes every task and message of the store into an empty index; returns the count.
fn rebuild(writer: &mut IndexWriter, f: &Fields, db: &Db) -> Result<usize, AppError> {
    let rev = store_rev(db)?;
    let names = names(db)?;
    writer.delete_all_documents().map_err(search_err)?;
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    let mut n = 0;
    for row in tasks.iter()? {
        let (k, t) = row?;
        writer.add_document(document(f, k.value(), &t, &names)).map_err(search_err)?;
        n += 1;
    }
    for row in schema::MESSAGES.open(&tx)?.iter()? {
        let (k, m) = row?;
        if let Some(d) = message_document(f, k.value(), &m) {
            writer.add_document(d).map_err(search_err)?;
            n += 1;
        }
    }
    for row in schema::REQUESTS.open(&tx)?.iter()? {
        let (k, r) = row?;
        writer.add_document(request_document(f, &tx, k.value(), &r)?).map_err(search_err)?;
        n += 1;
    }
    commit(writer, rev)?;
    Ok(n)
}

fn commit(writer: &mut IndexWriter, rev: u64) -> Result<(), AppError> {
    let mut prepared = writer.prepare_commit().map_err(search_err)?;
    prepared.set_payload(&rev.to_string());
    prepared.commit().map_err(search_err)?;
    Ok(())
}

fn open_index(dir: &Path) -> Result<(Index, Fields), AppError> {
    std::fs::create_dir_all(dir).map_err(|e| AppError::internal(anyhow::anyhow!("create {}: {e}", dir.display())))?;
    let (schema, fields) = schema();
    let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| AppError::internal(anyhow::anyhow!("open index: {e}")))?;
    let index = match Index::open_or_create(mmap, schema.clone()) {
        Ok(i) => i,
        // A different (older) schema or a damaged index: it is derived
        // data, so start again from the store.
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "search index unreadable; rebuilding");
            std::fs::remove_dir_all(dir).map_err(|e| AppError::internal(anyhow::anyhow!("clear index: {e}")))?;
            std::fs::create_dir_all(dir).map_err(|e| AppError::internal(anyhow::anyhow!("create index: {e}")))?;
            Index::create_in_dir(dir, schema).map_err(search_err)?
        }
    };
    Ok((index, fields))
}

/// The store revision an index was last committed at.
fn indexed_rev(index: &Index) -> Result<u64, AppError> {
    Ok(index.load_metas().map_err(search_err)?.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
}

impl TaskIndex {
    fn open(tenant: &Tenant, writer_memory: usize, idle: Duration) -> Result<TaskIndex, AppError> {
        let db = tenant.db()?.clone();
        let dir = tenant.dir.join("index");
        let (index, fields) = open_index(&dir)?;
        let indexed = indexed_rev(&index)?;
        let rev = store_rev(&db)?;
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(search_err)?;
        let (tx, rx) = mpsc::channel();
        let worker = Arc::new(Worker {
            index,
            reader: Clone::clone(&reader),
            fields,
            db,
            slug: tenant.slug.clone(),
            memory: writer_memory,
            idle,
            lagging: AtomicBool::new(false),
            slot: Mutex::new(WorkerSlot { rx: Some(rx), ..WorkerSlot::default() }),
        });
        let i = TaskIndex { last_used: Mutex::new(std::time::Instant::now()), reader, fields, tx: Some(tx), worker };
        // Behind the store (a crash, a rename the worker never applied) or
        // ahead of it (a restored older database): the worker's first job.
        if indexed != rev {
            i.send(Msg::Rebuild)?;
        }
        Ok(i)
    }

    /// Queues a change, starting the worker when none runs.
    fn send(&self, m: Msg) -> Result<(), AppError> {
        let Some(tx) = self.tx.as_ref() else { return Ok(()) };
        let w = &self.worker;
        let mut slot = w.slot.lock().unwrap_or_else(|e| e.into_inner());
        if !slot.running {
            let shared = w.clone();
            let thread = std::thread::Builder::new()
                .name(format!("search-{}", w.slug))
                .spawn(move || worker_thread(shared))
                .map_err(|e| AppError::internal(anyhow::anyhow!("spawn indexer: {e}")))?;
            slot.running = true;
            slot.thread = Some(thread);
        }
        let _ = tx.send(m);
        Ok(())
    }

    /// Whether the worker thread runs now.
    pub fn worker_running(&self) -> bool {
        self.worker.slot.lock().unwrap_or_else(|e| e.into_inner()).running
    }

    /// Waits until every change sent so far (and a rebuild the index
    /// needed when it was opened) is searchable.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The worker thread: takes the queue and applies changes until it has had
/// none for `idle`, then lets the writer go and parks the queue again.
fn worker_thread(w: Arc<Worker>) {
    let rx = w.slot.lock().unwrap_or_else(|e| e.into_inner()).rx.take();
    if let Some(rx) = rx {
        worker(&w, rx);
    }
}

/// Applies changes in batches: whatever has queued up while the previous
/// batch was committing goes into the next commit.
fn worker(w: &Worker, rx: mpsc::Receiver<Msg>) {
    let mut writer: Option<IndexWriter> = None;
    loop {
        let first = match rx.recv_timeout(w.idle) {
            Ok(m) => m,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Quiet: the writer (and its threads) go first, so that a
                // worker started right after can take the index's lock.
                if let Some(wr) = writer.take()
                    && let Err(e) = wr.wait_merging_threads()
                {
                    tracing::warn!(company = %w.slug, error = %e, "search index merge failed");
                }
                let mut slot = w.slot.lock().unwrap_or_else(|e| e.into_inner());
                match rx.try_recv() {
                    Ok(m) => m,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                    Err(mpsc::TryRecvError::Empty) => {
                        slot.rx = Some(rx);
                        slot.running = false;
                        return;
                    }
                }
            }
        };
        let mut ids = Vec::new();
        let mut messages = Vec::new();
        let mut requests = Vec::new();
        let mut users = Vec::new();
        let mut waiting = Vec::new();
        let mut rebuild_now = w.lagging.swap(false, Ordering::SeqCst);
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Touch(id) => ids.push(id),
                Msg::Message(id) => messages.push(id),
                Msg::Request(id) => requests.push(id),
                Msg::User(id) => users.push(id),
                Msg::Rebuild => rebuild_now = true,
                Msg::Flush(done) => waiting.push(done),
            }
            if ids.len() + messages.len() + requests.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let work = rebuild_now || !ids.is_empty() || !users.is_empty() || !messages.is_empty() || !requests.is_empty();
        if work && writer.is_none() {
            match w.index.writer_with_num_threads(1, w.memory) {
                Ok(wr) => writer = Some(wr),
                Err(e) => {
                    tracing::warn!(company = %w.slug, error = %e, "search index writer not opened; the index is rebuilt on the next change");
                    w.lagging.store(true, Ordering::SeqCst);
                }
            }
        }
        if let Some(writer) = writer.as_mut().filter(|_| work) {
            if rebuild_now {
                // Everything is written again: the batch's changes are in it.
                match rebuild(writer, &w.fields, &w.db) {
                    Ok(n) => tracing::info!(company = %w.slug, tasks = n, "search index rebuilt"),
                    Err(e) => tracing::warn!(company = %w.slug, error = %e, "search index rebuild failed"),
                }
            } else {
                let result = tasks_of(&w.db, &users).and_then(|more| {
                    ids.extend(more);
                    apply(writer, &w.fields, &w.db, &mut ids, &messages, &requests)
                });
                if let Err(e) = result {
                    tracing::warn!(company = %w.slug, error = %e, "search index update failed");
                }
            }
        }
        let _ = w.reader.reload();
        for done in waiting {
            let _ = done.send(());
        }
    }
    if let Some(wr) = writer {
        let _ = wr.wait_merging_threads();
    }
}

/// The tasks `users` are assignee or creator of, from the store's indexes.
fn tasks_of(db: &Db, users: &[u64]) -> Result<Vec<u64>, AppError> {
    let mut out = Vec::new();
    if users.is_empty() {
        return Ok(out);
    }
    let tx = db.read()?;
    for table in [TASKS_BY_ASSIGNEE, TASKS_BY_CREATOR] {
        let t = tx.open_table(table).map_err(store_err)?;
        for &u in users {
            for row in t.range((u, 0)..=(u, u64::MAX)).map_err(store_err)? {
                out.push(row.map_err(store_err)?.0.value().1);
            }
        }
    }
    Ok(out)
}

fn apply(writer: &mut IndexWriter, f: &Fields, db: &Db, ids: &mut Vec<u64>, messages: &[u64], requests: &[u64]) -> Result<(), AppError> {
    // The revision first: anything written after it is queued again.
    let rev = store_rev(db)?;
    let names = names(db)?;
    ids.sort_unstable();
    ids.dedup();
    let tx = db.read()?;
    let tasks = TASKS.open(&tx)?;
    for &id in ids.iter() {
        writer.delete_term(Term::from_field_u64(f.id, id));
        if let Some(t) = tasks.get(id)? {
            writer.add_document(document(f, id, &t, &names)).map_err(search_err)?;
        }
    }
    let table = schema::MESSAGES.open(&tx)?;
    for &id in messages {
        writer.delete_term(Term::from_field_u64(f.message, id));
        if let Some(d) = table.get(id)?.and_then(|m| message_document(f, id, &m)) {
            writer.add_document(d).map_err(search_err)?;
        }
    }
    let table = schema::REQUESTS.open(&tx)?;
    for &id in requests {
        writer.delete_term(Term::from_field_u64(f.request, id));
        if let Some(r) = table.get(id)? {
            writer.add_document(request_document(f, &tx, id, &r)?).map_err(search_err)?;
        }
    }
    commit(writer, rev)
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    /// A name (or part of one) of the assignee.
    pub assignee: String,
    /// A name of the creator.
    pub creator: String,
    pub status: Option<TaskStatus>,
    pub department_id: Option<u64>,
    /// Only tasks assigned to this user.
    pub assignee_id: Option<u64>,
    /// Only tasks this user gave.
    pub creator_id: Option<u64>,
    pub due_from: Option<i64>,
    pub due_to: Option<i64>,
}

/// Who may see which tasks, as a filter on the index.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    All,
    /// A department's tasks and one's own.
    Department {
        user_id: u64,
        department_id: Option<u64>,
    },
    Own {
        user_id: u64,
    },
}

/// Every word of `text` must match one of `fields` (as a word prefix).
fn words(fields: &[Field], text: &str) -> Vec<(Occur, Box<dyn Query>)> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| {
            let any: Vec<(Occur, Box<dyn Query>)> = fields
                .iter()
                .map(|&field| {
                    let q: Box<dyn Query> = Box::new(FuzzyTermQuery::new_prefix(Term::from_field_text(field, w), 0, true));
                    (Occur::Should, q)
                })
                .collect();
            (Occur::Must, Box::new(BooleanQuery::new(any)) as Box<dyn Query>)
        })
        .collect()
}

fn term_u64(field: Field, v: u64) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_u64(field, v), IndexRecordOption::Basic))
}

impl TaskIndex {
    /// Ids of matching tasks, best first, and how many match in all.
    pub fn search(&self, q: &SearchQuery, scope: Scope, limit: usize) -> Result<(Vec<u64>, usize), AppError> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term_u64(f.kind, KIND_TASK))];
        must.extend(words(&[f.title, f.description], &q.text));
        must.extend(words(&[f.assignee], &q.assignee));
        must.extend(words(&[f.creator], &q.creator));
        if let Some(s) = q.status {
            let t = Term::from_field_text(f.status, crate::tasks::status_code(s));
            must.push((Occur::Must, Box::new(TermQuery::new(t, IndexRecordOption::Basic))));
        }
        if let Some(d) = q.department_id {
            must.push((Occur::Must, term_u64(f.department_id, d)));
        }
        if let Some(a) = q.assignee_id {
            must.push((Occur::Must, term_u64(f.assignee_id, a)));
        }
        if let Some(c) = q.creator_id {
            must.push((Occur::Must, term_u64(f.creator_id, c)));
        }
        if q.due_from.is_some() || q.due_to.is_some() {
            let lo = q.due_from.map(|v| Bound::Included(Term::from_field_i64(f.deadline, v))).unwrap_or(Bound::Unbounded);
            let hi = q.due_to.map(|v| Bound::Included(Term::from_field_i64(f.deadline, v))).unwrap_or(Bound::Unbounded);
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        match scope {
            Scope::All => {}
            Scope::Department { user_id, department_id } => {
                let mut any = vec![(Occur::Should, term_u64(f.assignee_id, user_id)), (Occur::Should, term_u64(f.creator_id, user_id))];
                if let Some(d) = department_id {
                    any.push((Occur::Should, term_u64(f.department_id, d)));
                }
                must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
            Scope::Own { user_id } => {
                let any = vec![(Occur::Should, term_u64(f.assignee_id, user_id)), (Occur::Should, term_u64(f.creator_id, user_id))];
                must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
        }
        let query: Box<dyn Query> = Box::new(BooleanQuery::new(must));
        let searcher = self.reader.searcher();
        let (top, total) = searcher.search(&query, &(TopDocs::with_limit(limit).order_by_score(), Count)).map_err(search_err)?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(search_err)?;
            if let Some(id) = d.get_first(f.id).and_then(|v| v.as_u64()) {
                ids.push(id);
            }
        }
        Ok((ids, total))
    }
}

impl TaskIndex {
    /// Messages whose text has every word of `text` (as word prefixes), best
    /// first: (message id, thread id). Who may read them is the caller's
    /// question (`chat::search` asks it).
    pub fn search_messages(&self, text: &str, limit: usize) -> Result<Vec<(u64, u64)>, AppError> {
        let f = &self.fields;
        let found = words(&[f.body], text);
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term_u64(f.kind, KIND_MESSAGE))];
        must.extend(found);
        let searcher = self.reader.searcher();
        let top = searcher.search(&BooleanQuery::new(must), &TopDocs::with_limit(limit).order_by_score()).map_err(search_err)?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(search_err)?;
            let id = d.get_first(f.message).and_then(|v| v.as_u64());
            let thread = d.get_first(f.thread).and_then(|v| v.as_u64());
            if let (Some(id), Some(thread)) = (id, thread) {
                out.push((id, thread));
            }
        }
        Ok(out)
    }
}

impl TaskIndex {
    /// Ids of client requests whose words (subject, text, answers, client's
    /// name, phone, e-mail) have every word of `text` as prefixes, best
    /// first. Who may see them is the caller's question.
    pub fn search_requests(&self, text: &str, limit: usize) -> Result<Vec<u64>, AppError> {
        let f = &self.fields;
        let found = words(&[f.body], text);
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term_u64(f.kind, KIND_REQUEST))];
        must.extend(found);
        let searcher = self.reader.searcher();
        let top = searcher.search(&BooleanQuery::new(must), &TopDocs::with_limit(limit).order_by_score()).map_err(search_err)?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(search_err)?;
            if let Some(id) = d.get_first(f.request).and_then(|v| v.as_u64()) {
                out.push(id);
            }
        }
        Ok(out)
    }
}

/// `idora reindex`: rebuilds one company's index from its store.
pub fn reindex(tenant: &Tenant, writer_memory: usize) -> Result<usize, AppError> {
    let db = tenant.db()?;
    let (index, fields) = open_index(&tenant.dir.join("index"))?;
    let mut writer: IndexWriter = index.writer_with_num_threads(1, writer_memory.max(WRITER_MEMORY_MIN)).map_err(|e| {
        if matches!(e, tantivy::TantivyError::LockFailure(..)) {
            AppError::new(ErrorKind::Unavailable).with_detail("the index is in use: stop the server first".into())
        } else {
            search_err(e)
        }
    })?;
    let n = rebuild(&mut writer, &fields, db)?;
    writer.wait_merging_threads().map_err(search_err)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn latin_and_cyrillic_fold_to_the_same_words() {
        assert_eq!(fold("Азиз"), fold("Aziz"));
        assert_eq!(fold("Шоҳруҳ Ўринбоев"), fold("Shohruh O‘rinboev"));
        assert_eq!(fold("Ғайрат"), fold("G'ayrat"));
        assert_eq!(fold("Хасанова"), "xasanova");
        assert_eq!(fold("ҲИСОБОТ"), fold("hisobot"));
        assert_eq!(fold("Хисобот"), fold("Hisobot"), "Russian х for Uzbek ҳ");
        assert_eq!(fold("Шоҳруҳ"), "shoxrux", "sh stays sh");
    }
}
