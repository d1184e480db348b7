//! The chat rules: who may read a thread, posting, editing and deleting a
//! message, read marks and unread counts, direct chats and groups, and the
//! live pushes after each change.

use crate::app::AppState;
use crate::auth::{Caller, Principal, rbac};
use crate::error::{AppError, ErrorKind};
use crate::hub::Topic;
use crate::i18n::Lang;
use crate::notify::{self, Sent};
use crate::store::schema::{
    self, CHAT_UNREAD, DEPARTMENTS, DIRECT_THREADS, Deleted, FOLLOWERS, FOLLOWS, FollowV1, MESSAGES, MessageV2, OWNER_DEPARTMENT,
    OWNER_REQUEST, OWNER_TASK, TASKS, THREAD_MESSAGES, THREADS, THREADS_BY_OWNER, ThreadKind, ThreadV1, USERS, USERS_BY_NAME,
};
use crate::store::{Db, Txn, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Longest message, in characters.
pub const TEXT_MAX: usize = 4000;
/// Longest group name.
pub const NAME_MAX: usize = 80;
/// Most members a named group has.
pub const GROUP_MAX: usize = 500;
/// Most messages one page of a thread returns.
pub const PAGE_MAX: usize = 100;
/// How long after sending its author may edit or delete a message.
pub const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;

/// Where a message goes or is read from: a task's thread (made with its
/// first message) or a thread by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Task(u64),
    Thread(u64),
}

#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub text: String,
    pub reply_to: Option<u64>,
    pub file_ids: Vec<u64>,
    /// In a request's thread: a note only staff read.
    pub internal: bool,
}

/// The message a reply quotes, shortened.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChatQuote)]
pub struct Quote {
    pub id: u64,
    pub author_name: String,
    /// The first 120 characters; empty when it was deleted.
    pub text: String,
    pub deleted: bool,
}

/// A message as its readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChatMessage)]
pub struct MessageOut {
    pub id: u64,
    pub thread_id: u64,
    pub author_id: u64,
    pub author_name: String,
    /// Empty when deleted.
    pub text: String,
    pub reply_to: Option<Quote>,
    /// The attached files (`GET /files/{id}`); none when deleted.
    pub files: Vec<crate::files::FileMeta>,
    /// Users named in it.
    pub mentions: Vec<u64>,
    /// Milliseconds since the epoch (UTC).
    pub created_at_ms: i64,
    /// A request's internal note: staff only.
    pub internal: bool,
    /// Written by the request's client (`author_id` is 0).
    pub from_client: bool,
    pub edited: bool,
    pub deleted: bool,
    /// Who deleted it (its author).
    pub deleted_by: Option<u64>,
}

/// A thread in someone's list of chats.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChatThread)]
pub struct ThreadOut {
    pub id: u64,
    /// `task`, `request`, `direct`, `department` or `group`.
    pub kind: &'static str,
    /// The task's title, the other person's name, the department's or the group's name.
    pub title: String,
    /// The task or request of the thread.
    pub task_id: Option<u64>,
    /// In a direct chat, the other person.
    pub user_id: Option<u64>,
    /// The newest message's id (0: none yet).
    pub last_message: u64,
    /// When it last moved (ms since the epoch).
    pub last_at_ms: i64,
    /// The newest message, shortened.
    pub preview: String,
    pub unread: u64,
}

fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.chat_not_found")
}

fn kind_code(k: ThreadKind) -> &'static str {
    match k {
        ThreadKind::Task => "task",
        ThreadKind::Request => "request",
        ThreadKind::Direct => "direct",
        ThreadKind::Department => "department",
        ThreadKind::Group => "group",
    }
}

// ---------- who may read ----------

/// Whether `who` may read (and so write in) thread `id`: the one rule for
/// pages, the API, live pushes and file downloads.
pub fn may_read_in(tx: &impl Txn, who: &Caller, id: u64, th: &ThreadV1) -> Result<bool, AppError> {
    let me = match who {
        Caller::User(p) => p.id,
        Caller::System => return Ok(true),
        _ => return Ok(false),
    };
    Ok(match th.kind {
        ThreadKind::Task => TASKS.open(tx)?.get(th.owner)?.is_some_and(|t| who.can_see_task(&t)),
        // The request domain decides: whoever may see the request.
        ThreadKind::Request => crate::requests::service::may_see_in(tx, who, th.owner)?,
        ThreadKind::Direct => me == th.owner || me == th.other,
        ThreadKind::Department => who.department_id() == Some(th.owner),
        ThreadKind::Group => {
            let t = tx.open_def(FOLLOWERS).map_err(store_err)?;
            t.get((id, me)).map_err(store_err)?.is_some()
        }
    })
}

/// Whether `who` may read thread `id` (false for one that does not exist).
pub fn may_read(db: &Db, who: &Caller, id: u64) -> Result<bool, AppError> {
    let tx = db.read()?;
    match THREADS.open(&tx)?.get(id)? {
        Some(th) => may_read_in(&tx, who, id, &th),
        None => Ok(false),
    }
}

/// The thread `who` may read, else not found (never "forbidden": whether a
/// thread exists is itself not for everyone).
fn readable(tx: &impl Txn, who: &Caller, id: u64) -> Result<ThreadV1, AppError> {
    let th = THREADS.open(tx)?.get(id)?.ok_or_else(not_found)?;
    if !may_read_in(tx, who, id, &th)? {
        return Err(not_found());
    }
    Ok(th)
}

/// The thread of a target, if it exists yet; a task `who` may not see is not found.
fn resolve(tx: &impl Txn, who: &Caller, target: Target) -> Result<Option<(u64, ThreadV1)>, AppError> {
    match target {
        Target::Thread(id) => Ok(Some((id, readable(tx, who, id)?))),
        Target::Task(task_id) => {
            let task = TASKS.open(tx)?.get(task_id)?.ok_or_else(crate::tasks::service::not_found)?;
            if !who.can_see_task(&task) {
                return Err(crate::tasks::service::not_found());
            }
            let t = tx.open_def(THREADS_BY_OWNER).map_err(store_err)?;
            let Some(id) = t.get((OWNER_TASK, task_id)).map_err(store_err)?.map(|v| v.value()) else { return Ok(None) };
            let th = THREADS.open(tx)?.get(id)?.ok_or_else(not_found)?;
            Ok(Some((id, th)))
        }
    }
}

/// Other people as callers, to ask [`may_read_in`] on their behalf; their
/// roles' permissions read once per role.
struct Readers<'a> {
    tenant: &'a Tenant,
    perms: HashMap<String, HashSet<String>>,
}

impl<'a> Readers<'a> {
    fn new(tenant: &'a Tenant) -> Self {
        Readers { tenant, perms: HashMap::new() }
    }

    /// User `id` as a caller; `None` when they are gone or switched off.
    fn caller(&mut self, tx: &impl Txn, id: u64) -> Result<Option<Caller>, AppError> {
        let Some(account) = USERS.open(tx)?.get(id)? else { return Ok(None) };
        if !account.active {
            return Ok(None);
        }
        if !self.perms.contains_key(&account.role) {
            let p = crate::org::service::role_permissions_in(tx, &account.role)?;
            self.perms.insert(account.role.clone(), p.into_iter().collect());
        }
        let permissions = self.perms.get(&account.role).cloned().unwrap_or_default();
        let lang = crate::auth::account_lang(&account, Lang::Uz);
        let p = Principal { id, account, permissions, tenant: self.tenant.clone(), sid: String::new(), lang, must_change_password: false };
        Ok(Some(Caller::User(Box::new(p))))
    }
}

// ---------- following and unread counts ----------

fn follow_of(tx: &WriteTransaction, user: u64, thread: u64) -> Result<Option<FollowV1>, AppError> {
    FOLLOWS.open(tx)?.get((user, thread))
}

fn put_follow(tx: &WriteTransaction, user: u64, thread: u64, f: &FollowV1) -> Result<(), AppError> {
    FOLLOWS.open(tx)?.insert((user, thread), f)?;
    tx.open_table(FOLLOWERS).map_err(store_err)?.insert((thread, user), ()).map_err(store_err)?;
    Ok(())
}

/// Adds `delta` to a user's unread total (never below zero); the new total.
fn add_unread(tx: &WriteTransaction, user: u64, delta: i64) -> Result<u64, AppError> {
    let mut t = tx.open_table(CHAT_UNREAD).map_err(store_err)?;
    let now = t.get(user).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
    let next = u64::try_from((i64::try_from(now).unwrap_or(i64::MAX)).saturating_add(delta).max(0)).unwrap_or(0);
    if next == 0 {
        t.remove(user).map_err(store_err)?;
    } else {
        t.insert(user, next).map_err(store_err)?;
    }
    Ok(next)
}

/// Stops `user` following `thread`: their unread there leave their total.
fn unfollow(tx: &WriteTransaction, user: u64, thread: u64) -> Result<(), AppError> {
    let follow = FOLLOWS.open(tx)?.get((user, thread))?;
    if let Some(f) = follow {
        add_unread(tx, user, -i64::try_from(f.unread).unwrap_or(i64::MAX))?;
        FOLLOWS.open(tx)?.remove((user, thread))?;
    }
    tx.open_table(FOLLOWERS).map_err(store_err)?.remove((thread, user)).map_err(store_err)?;
    Ok(())
}

/// Makes `user` follow `thread` (nothing when they already do).
fn ensure_follow(tx: &WriteTransaction, user: u64, thread: u64, last_read: u64) -> Result<(), AppError> {
    if follow_of(tx, user, thread)?.is_none() {
        put_follow(tx, user, thread, &FollowV1 { last_read, unread: 0, notification: None })?;
    }
    Ok(())
}

fn followers(tx: &impl Txn, thread: u64) -> Result<Vec<u64>, AppError> {
    let t = tx.open_def(FOLLOWERS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in t.range((thread, 0)..=(thread, u64::MAX)).map_err(store_err)? {
        out.push(row.map_err(store_err)?.0.value().1);
    }
    Ok(out)
}

/// Everyone who should hear about a thread's messages: its followers, and
/// those its owner names (a task's creator and assignee, a direct chat's
/// two, a department's people).
fn audience(tx: &WriteTransaction, thread: u64, th: &ThreadV1) -> Result<BTreeSet<u64>, AppError> {
    let mut out: BTreeSet<u64> = followers(tx, thread)?.into_iter().collect();
    match th.kind {
        ThreadKind::Task => {
            if let Some(t) = TASKS.open(tx)?.get(th.owner)? {
                out.insert(t.creator_id);
                out.insert(t.assignee_id);
            }
        }
        ThreadKind::Direct => {
            out.insert(th.owner);
            out.insert(th.other);
        }
        ThreadKind::Department => {
            for (id, a) in USERS.open(tx)?.all()? {
                if a.active && a.department_id == Some(th.owner) {
                    out.insert(id);
                }
            }
        }
        ThreadKind::Request | ThreadKind::Group => {}
    }
    Ok(out)
}

// ---------- titles ----------

fn display_name(a: &schema::AccountV1) -> String {
    if a.full_name.is_empty() { a.username.clone() } else { a.full_name.clone() }
}

fn user_name(tx: &impl Txn, id: u64) -> Result<String, AppError> {
    Ok(USERS.open(tx)?.get(id)?.map(|a| display_name(&a)).unwrap_or_default())
}

/// A thread's title as `viewer` reads it (a department's name in `lang`).
fn title_of(tx: &impl Txn, viewer: u64, lang: Lang, th: &ThreadV1) -> Result<String, AppError> {
    Ok(match th.kind {
        ThreadKind::Task => TASKS.open(tx)?.get(th.owner)?.map(|t| t.title).unwrap_or_default(),
        ThreadKind::Request => format!("R-{:06}", th.owner),
        ThreadKind::Direct => user_name(tx, if viewer == th.owner { th.other } else { th.owner })?,
        ThreadKind::Department => {
            DEPARTMENTS.open(tx)?.get(th.owner)?.map(|d| crate::org::service::department_name(&d, lang).to_string()).unwrap_or_default()
        }
        ThreadKind::Group => th.name.clone(),
    })
}

fn shorten(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

// ---------- reading ----------

fn cached_name(tx: &impl Txn, names: &mut HashMap<u64, String>, id: u64) -> Result<String, AppError> {
    if let Some(n) = names.get(&id) {
        return Ok(n.clone());
    }
    let n = user_name(tx, id)?;
    names.insert(id, n.clone());
    Ok(n)
}

fn message_out(tx: &impl Txn, id: u64, m: &MessageV2, names: &mut HashMap<u64, String>) -> Result<MessageOut, AppError> {
    let reply_to = match m.reply_to {
        Some(rid) => match MESSAGES.open(tx)?.get(rid)? {
            Some(r) => Some(Quote {
                id: rid,
                author_name: cached_name(tx, names, r.author_id)?,
                text: if r.deleted.is_some() { String::new() } else { shorten(&r.text, 120) },
                deleted: r.deleted.is_some(),
            }),
            None => None,
        },
        None => None,
    };
    let deleted = m.deleted.is_some();
    Ok(MessageOut {
        id,
        thread_id: m.thread_id,
        author_id: m.author_id,
        author_name: match m.client_id {
            Some(c) => schema::CLIENTS.open(tx)?.get(c)?.map(|c| c.name).unwrap_or_default(),
            None => cached_name(tx, names, m.author_id)?,
        },
        text: if deleted { String::new() } else { m.text.clone() },
        reply_to,
        files: if deleted { Vec::new() } else { crate::files::metas(tx, &m.files)? },
        mentions: m.mentions.clone(),
        created_at_ms: m.created_at,
        internal: m.internal,
        from_client: m.client_id.is_some(),
        edited: m.edited_at.is_some(),
        deleted,
        deleted_by: m.deleted.map(|d| d.by),
    })
}

/// Which messages of a thread a page wants: the newest, those before an id
/// (scrolling back), or those after one (catching up after a reconnect).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub before: Option<u64>,
    pub after: Option<u64>,
    pub limit: usize,
}

/// A thread's messages in the order they came, at most `limit` (1–100):
/// with `after`, the first ones after it; else the newest (before `before`).
pub fn messages(db: &Db, who: &Caller, target: Target, w: Window) -> Result<(Option<u64>, Vec<MessageOut>), AppError> {
    let tx = db.read()?;
    let Some((thread, _)) = resolve(&tx, who, target)? else { return Ok((None, Vec::new())) };
    let limit = w.limit.clamp(1, PAGE_MAX);
    let index = tx.open_table(THREAD_MESSAGES).map_err(store_err)?;
    let mut ids = Vec::new();
    if let Some(after) = w.after {
        for row in index.range((thread, after.saturating_add(1))..=(thread, u64::MAX)).map_err(store_err)?.take(limit) {
            ids.push(row.map_err(store_err)?.0.value().1);
        }
    } else {
        let end = w.before.map(|b| b.saturating_sub(1)).unwrap_or(u64::MAX);
        for row in index.range((thread, 0)..=(thread, end)).map_err(store_err)?.rev().take(limit) {
            ids.push(row.map_err(store_err)?.0.value().1);
        }
        ids.reverse();
    }
    let table = MESSAGES.open(&tx)?;
    let mut names = HashMap::new();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(m) = table.get(id)? {
            out.push(message_out(&tx, id, &m, &mut names)?);
        }
    }
    Ok((Some(thread), out))
}

/// One message, for a reader of its thread.
pub fn message(db: &Db, who: &Caller, id: u64) -> Result<MessageOut, AppError> {
    let tx = db.read()?;
    let m = MESSAGES.open(&tx)?.get(id)?.ok_or_else(not_found)?;
    readable(&tx, who, m.thread_id)?;
    message_out(&tx, id, &m, &mut HashMap::new())
}

/// The thread of a task, if it has one and `who` may see the task.
pub fn thread_of_task(db: &Db, who: &Caller, task_id: u64) -> Result<Option<u64>, AppError> {
    let tx = db.read()?;
    Ok(resolve(&tx, who, Target::Task(task_id))?.map(|(id, _)| id))
}

/// One thread as `who` sees it in their list.
pub fn thread(db: &Db, who: &Caller, id: u64) -> Result<ThreadOut, AppError> {
    let tx = db.read()?;
    let th = readable(&tx, who, id)?;
    thread_out(&tx, who, id, &th)
}

fn thread_out(tx: &impl Txn, viewer: &Caller, id: u64, th: &ThreadV1) -> Result<ThreadOut, AppError> {
    let lang = viewer.user().map(|p| p.lang).unwrap_or(Lang::Uz);
    let viewer = viewer.id();
    let unread = FOLLOWS.open(tx)?.get((viewer, id))?.map(|f| f.unread).unwrap_or(0);
    let preview = match MESSAGES.open(tx)?.get(th.last_message)? {
        Some(m) if m.deleted.is_none() => {
            let text = if m.text.is_empty() && !m.files.is_empty() { "…".to_string() } else { shorten(&m.text, 80) };
            format!("{}: {text}", user_name(tx, m.author_id)?)
        }
        _ => String::new(),
    };
    Ok(ThreadOut {
        id,
        kind: kind_code(th.kind),
        title: title_of(tx, viewer, lang, th)?,
        task_id: matches!(th.kind, ThreadKind::Task | ThreadKind::Request).then_some(th.owner),
        user_id: (th.kind == ThreadKind::Direct).then_some(if viewer == th.owner { th.other } else { th.owner }),
        last_message: th.last_message,
        last_at_ms: th.last_at,
        preview,
        unread,
    })
}

/// The threads `who` follows and may still read, the most recently active
/// first; with `q`, only those whose title has those words (Latin and
/// Cyrillic alike, as search folds them).
pub fn threads(db: &Db, who: &Caller, q: &str) -> Result<Vec<ThreadOut>, AppError> {
    let tx = db.read()?;
    let me = who.id();
    let follows = FOLLOWS.open(&tx)?;
    let table = THREADS.open(&tx)?;
    let words: Vec<String> = crate::search::fold(q).split_whitespace().map(str::to_string).collect();
    let mut out = Vec::new();
    for row in follows.range((me, 0)..=(me, u64::MAX))? {
        let (key, _) = row?;
        let id = key.value().1;
        let Some(th) = table.get(id)? else { continue };
        if !may_read_in(&tx, who, id, &th)? {
            continue;
        }
        let t = thread_out(&tx, who, id, &th)?;
        if !words.is_empty() {
            let title = crate::search::fold(&t.title);
            if !words.iter().all(|w| title.contains(w.as_str())) {
                continue;
            }
        }
        out.push(t);
    }
    out.sort_by(|a, b| b.last_at_ms.cmp(&a.last_at_ms).then(b.id.cmp(&a.id)));
    Ok(out)
}

/// A message found by words, in a thread the searcher may read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ChatHit)]
pub struct Hit {
    pub thread_id: u64,
    pub message_id: u64,
    /// The thread's title as the searcher reads it.
    pub title: String,
    /// The task of a task's thread.
    pub task_id: Option<u64>,
    pub author_name: String,
    /// The message, shortened.
    pub text: String,
    pub created_at_ms: i64,
}

/// Messages with the words of `q` (Latin and Cyrillic alike) in threads
/// `who` may read, best first, `limit` at most.
pub fn search(db: &Db, index: &crate::search::TaskIndex, who: &Caller, q: &str, limit: usize) -> Result<Vec<Hit>, AppError> {
    let limit = limit.clamp(1, PAGE_MAX);
    let found = index.search_messages(q, (limit * 5).min(500))?;
    let tx = db.read()?;
    let threads = THREADS.open(&tx)?;
    let msgs = MESSAGES.open(&tx)?;
    let mut readable: HashMap<u64, Option<ThreadV1>> = HashMap::new();
    let mut out = Vec::new();
    for (id, thread) in found {
        if let std::collections::hash_map::Entry::Vacant(slot) = readable.entry(thread) {
            let th = threads.get(thread)?;
            let ok = match &th {
                Some(t) => may_read_in(&tx, who, thread, t)?,
                None => false,
            };
            slot.insert(th.filter(|_| ok));
        }
        let Some(Some(th)) = readable.get(&thread) else { continue };
        let Some(m) = msgs.get(id)?.filter(|m| m.deleted.is_none()) else { continue };
        let t = thread_out(&tx, who, thread, th)?;
        out.push(Hit {
            thread_id: thread,
            message_id: id,
            title: t.title,
            task_id: t.task_id.filter(|_| th.kind == ThreadKind::Task),
            author_name: user_name(&tx, m.author_id)?,
            text: shorten(&m.text, 160),
            created_at_ms: m.created_at,
        });
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Unread messages over every thread `user_id` follows: the badge.
pub fn unread_total(db: &Db, user_id: u64) -> Result<u64, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(CHAT_UNREAD).map_err(store_err)?;
    Ok(t.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0))
}

// ---------- writing ----------

fn clean_text(s: &str) -> Result<String, AppError> {
    let v = s.trim();
    AppError::check_text("text", v, TEXT_MAX, true)?;
    Ok(v.to_string())
}

/// `@username` words of a text, lower-cased, each once.
pub fn mentioned_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in text.match_indices('@') {
        // An e-mail address is not a mention: the @ must start a word.
        let before = text.get(..i).and_then(|s| s.chars().next_back());
        if before.is_some_and(|c| c.is_alphanumeric()) {
            continue;
        }
        let rest = text.get(i + 1..).unwrap_or("");
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).collect();
        let name = name.trim_end_matches(['.', '-']).to_ascii_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// What a committed change pushes to live pages, after the commit.
#[derive(Default)]
pub struct Pushes {
    /// (user, kind, data)
    events: Vec<(u64, &'static str, serde_json::Value)>,
    sent: Vec<Sent>,
}

impl Pushes {
    pub fn send(self, state: &AppState, tenant: &Tenant) {
        let now = state.now();
        for (user, kind, data) in self.events {
            state.hub.publish(&tenant.slug, &Topic::User(user), kind, data, now);
        }
        notify::deliver(state, tenant, self.sent);
    }
}

/// Stores a new thread with no message yet; returns its id and record.
fn new_thread(
    tx: &WriteTransaction,
    kind: ThreadKind,
    owner: u64,
    other: u64,
    name: String,
    by: u64,
    now: i64,
) -> Result<(u64, ThreadV1), AppError> {
    let th = ThreadV1 { kind, owner, other, name, created_by: by, created_at: now, last_message: 0, last_at: now };
    let id = next_id(tx, "chat_thread")?;
    THREADS.open(tx)?.insert(id, &th)?;
    Ok((id, th))
}

/// The thread of `target`, made now if it is a task's first message.
fn thread_for_write(tx: &WriteTransaction, who: &Caller, target: Target, now: i64) -> Result<(u64, ThreadV1), AppError> {
    if let Some(found) = resolve(tx, who, target)? {
        return Ok(found);
    }
    let Target::Task(task_id) = target else { return Err(not_found()) };
    let (id, th) = new_thread(tx, ThreadKind::Task, task_id, 0, String::new(), who.id(), now)?;
    tx.open_table(THREADS_BY_OWNER).map_err(store_err)?.insert((OWNER_TASK, task_id), id).map_err(store_err)?;
    Ok((id, th))
}

/// Who writes a message: a staff member, or a client in their request's
/// thread (the request domain checks who they are).
#[derive(Debug, Clone)]
pub enum Author {
    Staff(u64),
    Client { id: u64, name: String },
}

impl Author {
    fn user(&self) -> u64 {
        match self {
            Author::Staff(id) => *id,
            Author::Client { .. } => 0,
        }
    }
}

/// Posts a message. Its author follows the thread from now on and has read
/// it; everyone else who follows it (and may still read it) gets it live,
/// one more unread, and a notification — one per thread until they read it.
/// In a request's thread this is an internal note: public replies go
/// through the request domain, which also keeps the request's clocks.
pub async fn post(state: &AppState, tenant: &Tenant, who: &Caller, target: Target, input: NewMessage) -> Result<MessageOut, AppError> {
    let author = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    check_message(&input)?;
    let now = state.now_ms();
    let (who2, tenant2) = (who.clone(), tenant.clone());
    let (out, pushes) = tenant
        .db()?
        .write(move |tx| {
            let (thread, th) = thread_for_write(tx, &who2, target, now)?;
            let internal = input.internal || th.kind == ThreadKind::Request;
            write_message(tx, &tenant2, &Author::Staff(author), thread, th, NewMessage { internal, ..input.clone() }, now)
        })
        .await?;
    pushes.send(state, tenant);
    state.search.touch_message(tenant, out.id);
    Ok(out)
}

/// Refuses an empty message or one too long, before any write.
pub fn check_message(input: &NewMessage) -> Result<(), AppError> {
    let text = clean_text(&input.text)?;
    if text.is_empty() && input.file_ids.is_empty() {
        return Err(AppError::invalid("text", "validation.chat_empty"));
    }
    Ok(())
}

/// Writes a message into thread `thread` inside the caller's transaction
/// (the request domain writes a reply and the request's change together);
/// what it pushes goes out after the commit ([`Pushes::send`]).
pub fn write_message(
    tx: &WriteTransaction,
    tenant: &Tenant,
    author: &Author,
    thread: u64,
    mut th: ThreadV1,
    input: NewMessage,
    now: i64,
) -> Result<(MessageOut, Pushes), AppError> {
    let text = clean_text(&input.text)?;
    if text.is_empty() && input.file_ids.is_empty() {
        return Err(AppError::invalid("text", "validation.chat_empty"));
    }
    let author_id = author.user();
    if let Some(r) = input.reply_to {
        let ok = MESSAGES.open(tx)?.get(r)?.is_some_and(|m| m.thread_id == thread);
        if !ok {
            return Err(AppError::invalid("reply_to", "validation.chat_reply_elsewhere"));
        }
    }
    let id = next_id(tx, "chat_message")?;
    // Each file must be one its author uploaded; the files domain records the reference.
    let uploader = match author {
        Author::Staff(u) => *u,
        Author::Client { .. } => crate::files::ANON_UPLOADER,
    };
    crate::files::attach(tx, uploader, &input.file_ids, thread, id)?;
    let mut readers = Readers::new(tenant);
    // Mentions: people of the company named by username who may read the thread.
    let mut mentions = Vec::new();
    if let Author::Staff(_) = author {
        let names = tx.open_table(USERS_BY_NAME).map_err(store_err)?;
        for name in mentioned_names(&text) {
            let Some(uid) = names.get(name.as_str()).map_err(store_err)?.map(|v| v.value()) else { continue };
            if uid == author_id || mentions.contains(&uid) {
                continue;
            }
            if let Some(c) = readers.caller(tx, uid)?
                && may_read_in(tx, &c, thread, &th)?
            {
                mentions.push(uid);
            }
        }
    }
    let m = MessageV2 {
        thread_id: thread,
        author_id,
        text: text.clone(),
        reply_to: input.reply_to,
        files: input.file_ids.clone(),
        mentions: mentions.clone(),
        created_at: now,
        edited_at: None,
        deleted: None,
        internal: input.internal,
        client_id: match author {
            Author::Client { id, .. } => Some(*id),
            Author::Staff(_) => None,
        },
    };
    MESSAGES.open(tx)?.insert(id, &m)?;
    tx.open_table(THREAD_MESSAGES).map_err(store_err)?.insert((thread, id), ()).map_err(store_err)?;
    crate::search::names_changed(tx)?;
    th.last_message = id;
    th.last_at = now;
    THREADS.open(tx)?.insert(thread, &th)?;

    // Notices are worded when read; the title is the company's first name of it.
    let title = title_of(tx, author_id, Lang::Uz, &th)?;
    let by = match author {
        Author::Staff(u) => user_name(tx, *u)?,
        Author::Client { name, .. } => name.clone(),
    };
    let task_id = (th.kind == ThreadKind::Task).then_some(th.owner);
    let mut pushes = Pushes::default();
    let mut audience = audience(tx, thread, &th)?;
    audience.extend(mentions.iter().copied());
    if author_id != 0 {
        audience.insert(author_id);
    }
    for user in audience {
        if user == author_id {
            let prev = follow_of(tx, user, thread)?;
            let was = prev.as_ref().map(|f| f.unread).unwrap_or(0);
            // Writing in a thread is reading it: its "new messages" notice is read too.
            if let Some(nid) = prev.and_then(|f| f.notification) {
                notify::mark_read_in(tx, user, &[nid])?;
            }
            put_follow(tx, user, thread, &FollowV1 { last_read: id, unread: 0, notification: None })?;
            let total = add_unread(tx, user, -i64::try_from(was).unwrap_or(0))?;
            pushes.events.push((user, "chat.message", serde_json::json!({"thread_id": thread, "id": id, "unread": 0, "total": total})));
            continue;
        }
        let Some(reader) = readers.caller(tx, user)? else {
            unfollow(tx, user, thread)?;
            continue;
        };
        if !may_read_in(tx, &reader, thread, &th)? {
            // Taken off the task or out of the department: no more pushes.
            unfollow(tx, user, thread)?;
            continue;
        }
        let mut f = follow_of(tx, user, thread)?.unwrap_or(FollowV1 { last_read: 0, unread: 0, notification: None });
        f.unread += 1;
        let total = add_unread(tx, user, 1)?;
        let title_for = if th.kind == ThreadKind::Direct { by.clone() } else { title.clone() };
        if mentions.contains(&user) {
            pushes.sent.push(notify::chat_notice(tx, now, user, "chat_mention", thread, task_id, &title_for, &by)?);
        } else if !m.files.is_empty() && task_id.is_some() {
            pushes.sent.push(notify::chat_notice(tx, now, user, "task_file", thread, task_id, &title_for, &by)?);
        } else {
            let (nid, sent) = notify::chat_message(tx, now, user, f.notification, thread, task_id, &title_for, &by)?;
            f.notification = Some(nid);
            pushes.sent.extend(sent);
        }
        put_follow(tx, user, thread, &f)?;
        pushes.events.push((user, "chat.message", serde_json::json!({"thread_id": thread, "id": id, "unread": f.unread, "total": total})));
    }
    let out = message_out(tx, id, &m, &mut HashMap::new())?;
    Ok((out, pushes))
}

/// A request's thread, made with the request: its follower is whoever is
/// given `follow` (the assignee), others follow when they write or open it.
pub fn new_request_thread(tx: &WriteTransaction, request_id: u64, by: u64, now: i64) -> Result<(u64, ThreadV1), AppError> {
    let (id, th) = new_thread(tx, ThreadKind::Request, request_id, 0, String::new(), by, now)?;
    tx.open_table(THREADS_BY_OWNER).map_err(store_err)?.insert((OWNER_REQUEST, request_id), id).map_err(store_err)?;
    Ok((id, th))
}

/// A thread's record, for the domain that owns it.
pub fn thread_record(tx: &impl Txn, id: u64) -> Result<ThreadV1, AppError> {
    THREADS.open(tx)?.get(id)?.ok_or_else(not_found)
}

/// Makes `user` follow thread `thread` (a request's new assignee).
pub fn follow(tx: &WriteTransaction, user: u64, thread: u64) -> Result<(), AppError> {
    let last = THREADS.open(tx)?.get(thread)?.map(|t| t.last_message).unwrap_or(0);
    ensure_follow(tx, user, thread, last)
}

/// Tells the thread's followers who may read it that message `id` changed.
fn changed(tx: &WriteTransaction, tenant: &Tenant, thread: u64, th: &ThreadV1, id: u64, kind: &'static str) -> Result<Pushes, AppError> {
    let mut readers = Readers::new(tenant);
    let mut pushes = Pushes::default();
    for user in followers(tx, thread)? {
        if let Some(c) = readers.caller(tx, user)?
            && may_read_in(tx, &c, thread, th)?
        {
            pushes.events.push((user, kind, serde_json::json!({"thread_id": thread, "id": id})));
        }
    }
    Ok(pushes)
}

/// The message `who` wrote, still within the edit window.
fn own_recent(tx: &WriteTransaction, who: &Caller, id: u64, now: i64) -> Result<(MessageV2, ThreadV1), AppError> {
    let m = MESSAGES.open(tx)?.get(id)?.ok_or_else(not_found)?;
    let th = readable(tx, who, m.thread_id)?;
    if m.author_id != who.id() {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.chat_not_yours"));
    }
    if m.deleted.is_some() {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.chat_deleted"));
    }
    if now - m.created_at > EDIT_WINDOW_MS {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.chat_too_late").with_arg("minutes", EDIT_WINDOW_MS / 60_000));
    }
    Ok((m, th))
}

/// Changes the text of one's own message within 15 minutes of sending it.
pub async fn edit(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, text: &str) -> Result<MessageOut, AppError> {
    let text = clean_text(text)?;
    change_own(state, tenant, who, id, move |_, m, now, _| {
        if text.is_empty() && m.files.is_empty() {
            return Err(AppError::invalid("text", "validation.chat_empty"));
        }
        m.text = text.clone();
        m.edited_at = Some(now);
        Ok(())
    })
    .await
}

/// Deletes one's own message within 15 minutes: "deleted" stays in its
/// place with who did it; its text and files go.
pub async fn delete(state: &AppState, tenant: &Tenant, who: &Caller, id: u64) -> Result<MessageOut, AppError> {
    change_own(state, tenant, who, id, move |tx, m, now, by| {
        crate::files::detach(tx, id, &m.files)?;
        m.deleted = Some(Deleted { by, at: now });
        m.text.clear();
        m.mentions.clear();
        m.files.clear();
        Ok(())
    })
    .await
}

/// Changes message `id` of `who` (theirs, within the edit window) with
/// `change`, stores it, and tells its thread's readers and the index.
async fn change_own<F>(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, mut change: F) -> Result<MessageOut, AppError>
where
    F: FnMut(&WriteTransaction, &mut MessageV2, i64, u64) -> Result<(), AppError> + Send + 'static,
{
    let now = state.now_ms();
    let (who2, tenant2) = (who.clone(), tenant.clone());
    let (out, pushes) = tenant
        .db()?
        .write(move |tx| {
            let (mut m, th) = own_recent(tx, &who2, id, now)?;
            change(tx, &mut m, now, who2.id())?;
            MESSAGES.open(tx)?.insert(id, &m)?;
            crate::search::names_changed(tx)?;
            let pushes = changed(tx, &tenant2, m.thread_id, &th, id, "chat.changed")?;
            Ok((message_out(tx, id, &m, &mut HashMap::new())?, pushes))
        })
        .await?;
    pushes.send(state, tenant);
    state.search.touch_message(tenant, out.id);
    Ok(out)
}

/// Marks thread `thread` read by `who` up to `message_id` (its newest when
/// `None`); `who` follows it from now on. Their "new messages" notification
/// of it is read too. The thread's other readers hear how far they read
/// (a direct chat's "seen"). Returns their unread total.
pub async fn mark_read(state: &AppState, tenant: &Tenant, who: &Caller, thread: u64, message_id: Option<u64>) -> Result<u64, AppError> {
    let me = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    let (who2, tenant2) = (who.clone(), tenant.clone());
    let (total, pushes) = tenant
        .db()?
        .write(move |tx| {
            let th = readable(tx, &who2, thread)?;
            let upto = message_id.unwrap_or(th.last_message).min(th.last_message);
            if let Some(mid) = message_id {
                let in_thread = mid == 0 || MESSAGES.open(tx)?.get(mid)?.is_some_and(|m| m.thread_id == thread);
                if !in_thread {
                    return Err(AppError::invalid("message_id", "validation.chat_message_elsewhere"));
                }
            }
            let mut f = follow_of(tx, me, thread)?.unwrap_or(FollowV1 { last_read: 0, unread: 0, notification: None });
            let mut pushes = Pushes::default();
            if upto <= f.last_read && follow_of(tx, me, thread)?.is_some() {
                let total = tx.open_table(CHAT_UNREAD).map_err(store_err)?.get(me).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
                return Ok((total, pushes));
            }
            // What is left unread: others' messages after `upto`.
            let mut left = 0u64;
            if upto < th.last_message {
                let index = tx.open_table(THREAD_MESSAGES).map_err(store_err)?;
                let msgs = MESSAGES.open(tx)?;
                for row in index.range((thread, upto + 1)..=(thread, u64::MAX)).map_err(store_err)? {
                    let mid = row.map_err(store_err)?.0.value().1;
                    if msgs.get(mid)?.is_some_and(|m| m.author_id != me) {
                        left += 1;
                    }
                }
            }
            let delta = i64::try_from(left).unwrap_or(0) - i64::try_from(f.unread).unwrap_or(0);
            f.last_read = upto.max(f.last_read);
            f.unread = left;
            if left == 0
                && let Some(nid) = f.notification.take()
            {
                notify::mark_read_in(tx, me, &[nid])?;
            }
            put_follow(tx, me, thread, &f)?;
            let total = add_unread(tx, me, delta)?;
            pushes.events.push((
                me,
                "chat.read",
                serde_json::json!({"thread_id": thread, "user_id": me, "message_id": upto, "unread": left, "total": total}),
            ));
            let mut readers = Readers::new(&tenant2);
            for other in followers(tx, thread)? {
                if other != me
                    && let Some(c) = readers.caller(tx, other)?
                    && may_read_in(tx, &c, thread, &th)?
                {
                    pushes.events.push((other, "chat.read", serde_json::json!({"thread_id": thread, "user_id": me, "message_id": upto})));
                }
            }
            Ok((total, pushes))
        })
        .await?;
    pushes.send(state, tenant);
    Ok(total)
}

/// Tells the others on a thread that `who` is typing (nothing is stored).
pub fn typing(state: &AppState, tenant: &Tenant, who: &Caller, thread: u64) -> Result<(), AppError> {
    let db = tenant.db()?;
    let tx = db.read()?;
    let th = readable(&tx, who, thread)?;
    let name = who.name();
    let now = state.now();
    let mut readers = Readers::new(tenant);
    for user in followers(&tx, thread)? {
        if user != who.id()
            && let Some(c) = readers.caller(&tx, user)?
            && may_read_in(&tx, &c, thread, &th)?
        {
            let data = serde_json::json!({"thread_id": thread, "user_id": who.id(), "name": name});
            state.hub.publish(&tenant.slug, &Topic::User(user), "chat.typing", data, now);
        }
    }
    Ok(())
}

// ---------- direct chats and groups ----------

fn active_colleague(tx: &impl Txn, id: u64) -> Result<schema::AccountV1, AppError> {
    match USERS.open(tx)?.get(id)? {
        Some(a) if a.active => Ok(a),
        _ => Err(AppError::invalid("user_id", "validation.chat_no_such_user").with_arg("id", id)),
    }
}

/// The direct chat of `who` and `user_id`, made the first time.
pub async fn open_direct(tenant: &Tenant, who: &Caller, user_id: u64, now: i64) -> Result<u64, AppError> {
    let me = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    if user_id == me {
        return Err(AppError::invalid("user_id", "validation.chat_self"));
    }
    tenant
        .db()?
        .write(move |tx| {
            active_colleague(tx, user_id)?;
            let key = (me.min(user_id), me.max(user_id));
            let existing = tx.open_table(DIRECT_THREADS).map_err(store_err)?.get(key).map_err(store_err)?.map(|v| v.value());
            if let Some(id) = existing {
                ensure_follow(tx, me, id, 0)?;
                return Ok(id);
            }
            let (id, _) = new_thread(tx, ThreadKind::Direct, key.0, key.1, String::new(), me, now)?;
            tx.open_table(DIRECT_THREADS).map_err(store_err)?.insert(key, id).map_err(store_err)?;
            ensure_follow(tx, key.0, id, 0)?;
            ensure_follow(tx, key.1, id, 0)?;
            Ok(id)
        })
        .await
}

/// The group of `who`'s department, made the first time.
pub async fn open_department(tenant: &Tenant, who: &Caller, now: i64) -> Result<u64, AppError> {
    let me = who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))?;
    let dept = who.department_id().ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.chat_no_department"))?;
    tenant
        .db()?
        .write(move |tx| {
            let existing =
                tx.open_table(THREADS_BY_OWNER).map_err(store_err)?.get((OWNER_DEPARTMENT, dept)).map_err(store_err)?.map(|v| v.value());
            let id = match existing {
                Some(id) => id,
                None => {
                    let (id, _) = new_thread(tx, ThreadKind::Department, dept, 0, String::new(), me, now)?;
                    tx.open_table(THREADS_BY_OWNER).map_err(store_err)?.insert((OWNER_DEPARTMENT, dept), id).map_err(store_err)?;
                    id
                }
            };
            ensure_follow(tx, me, id, 0)?;
            Ok(id)
        })
        .await
}

/// May make and run named groups: those who manage users, a department or
/// the company (a director).
pub fn may_manage_groups(who: &Caller) -> bool {
    let has = |p: &str| who.can(p);
    rbac::manages_users(has) || rbac::manages_department(has) || rbac::acts_as_director(has)
}

fn group_name(s: &str) -> Result<String, AppError> {
    let v = s.trim();
    if v.is_empty() {
        return Err(AppError::invalid("name", "validation.required"));
    }
    AppError::check_text("name", v, NAME_MAX, false)?;
    Ok(v.to_string())
}

/// Makes a named group of `who` and `member_ids`.
pub async fn create_group(state: &AppState, tenant: &Tenant, who: &Caller, name: &str, member_ids: Vec<u64>) -> Result<u64, AppError> {
    if !may_manage_groups(who) {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.chat_group_not_allowed"));
    }
    let name = group_name(name)?;
    let me = who.id();
    let mut members: BTreeSet<u64> = member_ids.into_iter().collect();
    members.insert(me);
    if members.len() > GROUP_MAX {
        return Err(AppError::invalid("member_ids", "validation.chat_group_too_big").with_arg("max", GROUP_MAX));
    }
    let now = state.now_ms();
    let (id, pushes) = tenant
        .db()?
        .write(move |tx| {
            for &m in &members {
                active_colleague(tx, m).map_err(|_| AppError::invalid("member_ids", "validation.chat_no_such_user").with_arg("id", m))?;
            }
            let (id, _) = new_thread(tx, ThreadKind::Group, 0, 0, name.clone(), me, now)?;
            let mut pushes = Pushes::default();
            for &m in &members {
                ensure_follow(tx, m, id, 0)?;
                pushes.events.push((m, "chat.thread", serde_json::json!({"thread_id": id})));
            }
            Ok((id, pushes))
        })
        .await?;
    pushes.send(state, tenant);
    Ok(id)
}

/// Renames a named group and sets its members (its creator, or whoever may
/// run groups). Someone taken out stops receiving at once.
pub async fn update_group(
    state: &AppState,
    tenant: &Tenant,
    who: &Caller,
    id: u64,
    name: Option<String>,
    member_ids: Option<Vec<u64>>,
) -> Result<(), AppError> {
    let name = name.as_deref().map(group_name).transpose()?;
    let (who2, me) = (who.clone(), who.id());
    let pushes = tenant
        .db()?
        .write(move |tx| {
            let mut th = readable(tx, &who2, id)?;
            if th.kind != ThreadKind::Group {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.chat_not_a_group"));
            }
            if th.created_by != me && !may_manage_groups(&who2) {
                return Err(AppError::new(ErrorKind::Forbidden).with_message("error.chat_group_not_allowed"));
            }
            if let Some(n) = &name {
                th.name = n.clone();
                THREADS.open(tx)?.insert(id, &th)?;
            }
            let mut pushes = Pushes::default();
            if let Some(ids) = &member_ids {
                let wanted: BTreeSet<u64> = ids.iter().copied().collect();
                if wanted.len() > GROUP_MAX {
                    return Err(AppError::invalid("member_ids", "validation.chat_group_too_big").with_arg("max", GROUP_MAX));
                }
                for &m in &wanted {
                    active_colleague(tx, m)
                        .map_err(|_| AppError::invalid("member_ids", "validation.chat_no_such_user").with_arg("id", m))?;
                }
                let now: BTreeSet<u64> = followers(tx, id)?.into_iter().collect();
                for &gone in now.difference(&wanted) {
                    unfollow(tx, gone, id)?;
                    pushes.events.push((gone, "chat.removed", serde_json::json!({"thread_id": id})));
                }
                for &new in wanted.difference(&now) {
                    ensure_follow(tx, new, id, 0)?;
                    pushes.events.push((new, "chat.thread", serde_json::json!({"thread_id": id})));
                }
            }
            Ok(pushes)
        })
        .await?;
    pushes.send(state, tenant);
    Ok(())
}

/// A named group's members (for a reader of the group).
pub fn members(db: &Db, who: &Caller, id: u64) -> Result<Vec<(u64, String)>, AppError> {
    let tx = db.read()?;
    let th = readable(&tx, who, id)?;
    let ids: Vec<u64> = match th.kind {
        ThreadKind::Group => followers(&tx, id)?,
        ThreadKind::Direct => vec![th.owner, th.other],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for u in ids {
        out.push((u, user_name(&tx, u)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_usernames_after_an_at_that_starts_a_word() {
        assert_eq!(mentioned_names("@dilnoza, ko‘ring @Jasur.E va @jasur.e."), vec!["dilnoza", "jasur.e"]);
        assert!(mentioned_names("a.b@bank.uz yozing").is_empty());
        assert!(mentioned_names("@ bo‘sh").is_empty());
        assert_eq!(mentioned_names("(@admin)"), vec!["admin"]);
    }

    #[test]
    fn a_preview_is_shortened_with_an_ellipsis() {
        assert_eq!(shorten("Salom", 10), "Salom");
        assert_eq!(shorten("Привет, мир", 6), "Привет…");
    }
}
