//! Notifications: who hears about what, and the channels that tell them.
//!
//! A domain service describes what happened as a [`Notice`] inside its write
//! transaction; [`plan`] decides the recipients and stores one in-app
//! notification per recipient in that same transaction, so a notification
//! exists exactly when its change does, with one [`outbox`] row per
//! channel. After the commit, [`deliver`] wakes the outbox, which pushes
//! them to the live hub (and, in a later issue, to Telegram) once.

pub mod outbox;

use crate::app::AppState;
use crate::auth::rbac;
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::store::schema::{self, AccountV1, META, NOTIFICATIONS, NOTIFICATIONS_UNREAD, NotificationV1, TaskStatus, TaskV1, UNREAD_COUNTS};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use std::collections::HashMap;

/// Something that happened, told by a domain service.
pub enum Notice<'a> {
    /// A task was created for, or handed over to, its assignee. `from_id`
    /// is who the task comes from: whoever created or handed it over; after
    /// a director's approval, still its creator (not the approver).
    Assigned {
        task_id: u64,
        task: &'a TaskV1,
        from_id: u64,
    },
    StatusChanged {
        task_id: u64,
        task: &'a TaskV1,
    },
    DeadlineChanged {
        task_id: u64,
        task: &'a TaskV1,
    },
    Overdue {
        task_id: u64,
        task: &'a TaskV1,
    },
    /// A manager assigned outside their department; a director must approve.
    ApprovalNeeded {
        task_id: u64,
        task: &'a TaskV1,
    },
    /// Someone asks for a later deadline that needs a decision.
    ExtensionRequested {
        task_id: u64,
        task: &'a TaskV1,
    },
    /// A task was finished (completed or rejected), and with it every task
    /// its creator handed out. One event, one notification each: the others
    /// hear of the status as with [`Notice::StatusChanged`]; the creator
    /// (even when they closed it) gets one `tasks_all_done` naming the task.
    LastFinished {
        task_id: u64,
        task: &'a TaskV1,
    },
    RoleChanged {
        user_id: u64,
        role: &'a str,
    },
    /// Wrong passwords from many addresses locked this account everywhere
    /// until `until` (ms): told to its holder and to those who manage users.
    AccountLocked {
        user_id: u64,
        until: i64,
    },
}

/// A stored notification, waiting in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub user_id: u64,
    pub id: u64,
}

/// Accounts `plan` looks at: everyone when a notice goes to a role, else
/// only the actor and the named recipients (one lookup each), so telling an
/// assignee reads two rows whatever the company's size.
fn accounts(tx: &WriteTransaction, everyone: bool, ids: &[u64]) -> Result<HashMap<u64, AccountV1>, AppError> {
    let t = schema::USERS.open(tx)?;
    let mut out = HashMap::new();
    if everyone {
        for (id, a) in t.all()? {
            out.insert(id, a);
        }
    } else {
        for &id in ids {
            if let Some(a) = t.get(id)? {
                out.insert(id, a);
            }
        }
    }
    Ok(out)
}

/// A role meaning of `rbac`, asked of one person's permissions.
type Meaning = fn(&dyn Fn(&str) -> bool) -> bool;

/// Decides who hears about `notice` (never the person who caused it, never
/// a switched-off account) and stores their notifications in `tx`, with
/// each recipient's unread index row and unread count.
pub fn plan(tx: &WriteTransaction, now: i64, actor_id: u64, notice: Notice<'_>) -> Result<Vec<Sent>, AppError> {
    // Who the notice names directly, and whether it also goes to a role.
    let (named, by_role): (Vec<u64>, bool) = match &notice {
        Notice::Assigned { task, .. } | Notice::DeadlineChanged { task, .. } => (vec![task.assignee_id], false),
        Notice::Overdue { task, .. } => (vec![task.assignee_id, task.creator_id], false),
        Notice::StatusChanged { task, .. } | Notice::LastFinished { task, .. } => (vec![task.creator_id, task.assignee_id], true),
        Notice::ApprovalNeeded { .. } => (vec![], true),
        Notice::ExtensionRequested { task, .. } => (vec![task.creator_id], true),
        Notice::RoleChanged { user_id, .. } => (vec![*user_id], false),
        Notice::AccountLocked { user_id, .. } => (vec![*user_id], true),
    };
    let mut ids = named;
    ids.push(actor_id);
    // Who the notice says did it: the actor, unless the notice names someone else.
    let by_id = match &notice {
        Notice::Assigned { from_id, .. } => *from_id,
        _ => actor_id,
    };
    ids.push(by_id);
    let users = accounts(tx, by_role, &ids)?;
    let account = |id: u64| users.get(&id);
    // What each role may do, read once: recipients follow permissions (a
    // company that lets admins approve tasks tells its admins), not role names.
    let mut perms: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    if by_role {
        for a in users.values() {
            if !perms.contains_key(&a.role) {
                let p = crate::org::service::role_permissions_in(tx, &a.role)?;
                perms.insert(a.role.clone(), p.into_iter().collect());
            }
        }
    }
    let who = |meaning: Meaning, dept: Option<Option<u64>>| -> Vec<u64> {
        users
            .iter()
            .filter(|(_, a)| {
                let has = |p: &str| perms.get(&a.role).is_some_and(|set| set.contains(p));
                a.active && meaning(&has) && dept.is_none_or(|d| d.is_some() && a.department_id == d)
            })
            .map(|(id, _)| *id)
            .collect()
    };
    let directors = || who(|has| rbac::acts_as_director(has), None);
    let actor_name = account(by_id).map(|a| if a.full_name.is_empty() { a.username.clone() } else { a.full_name.clone() });

    type Args = Vec<(String, String)>;
    let (kind, task_id, mut args, mut to): (&str, Option<u64>, Args, Vec<u64>) = match &notice {
        Notice::Assigned { task_id, task, .. } => ("task_assigned", Some(*task_id), title(task), vec![task.assignee_id]),
        Notice::StatusChanged { task_id, task } | Notice::LastFinished { task_id, task } => {
            let mut to = vec![task.creator_id];
            to.extend(who(|has| rbac::manages_department(has), Some(task.department_id)));
            // A task approved back to New reaches its assignee as one
            // "new task for you" (Notice::Assigned), not twice.
            if matches!(task.status, TaskStatus::Redo | TaskStatus::Completed | TaskStatus::Rejected | TaskStatus::Declined) {
                to.push(task.assignee_id);
            }
            let mut args = title(task);
            args.push(("status".into(), crate::tasks::status_code(task.status).into()));
            if task.status == TaskStatus::Completed && task.points_awarded > 0 {
                args.push(("points".into(), task.points_awarded.to_string()));
            }
            ("task_status", Some(*task_id), args, to)
        }
        Notice::DeadlineChanged { task_id, task } => ("task_deadline", Some(*task_id), title(task), vec![task.assignee_id]),
        Notice::Overdue { task_id, task } => ("task_overdue", Some(*task_id), title(task), vec![task.assignee_id, task.creator_id]),
        Notice::ApprovalNeeded { task_id, task } => ("task_approval", Some(*task_id), title(task), directors()),
        Notice::ExtensionRequested { task_id, task } => {
            let mut to = vec![task.creator_id];
            to.extend(directors());
            ("task_extension", Some(*task_id), title(task), to)
        }
        Notice::RoleChanged { user_id, role } => ("role_changed", None, vec![("role".into(), role.to_string())], vec![*user_id]),
        Notice::AccountLocked { user_id, until } => {
            let mut to = vec![*user_id];
            to.extend(who(|has| rbac::manages_users(has), None));
            let name = account(*user_id).map(|a| a.username.clone()).unwrap_or_default();
            let minutes = ((until - now).max(0) + 59_999) / 60_000;
            ("account_locked", None, vec![("user".into(), name), ("minutes".into(), minutes.to_string())], to)
        }
    };
    if let Some(name) = actor_name {
        args.push(("by".into(), name));
    }
    to.sort_unstable();
    to.dedup();
    // "Everything you handed out is done" is news even to the one who closed
    // the last task; it replaces, for the creator, the status notification.
    let all_done_for = match &notice {
        Notice::LastFinished { task, .. } => Some(task.creator_id),
        _ => None,
    };
    to.retain(|u| (Some(*u) == all_done_for || *u != actor_id) && account(*u).is_some_and(|a| a.active));
    if to.is_empty() {
        return Ok(Vec::new());
    }

    backfill_unread(tx)?;
    let mut sent = Vec::new();
    let mut table = NOTIFICATIONS.open(tx)?;
    let mut unread = tx.open_table(NOTIFICATIONS_UNREAD).map_err(store_err)?;
    let mut counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
    for user_id in to {
        let kind = if Some(user_id) == all_done_for { "tasks_all_done" } else { kind };
        let note = NotificationV1 { at: now, kind: kind.to_string(), task_id, args: args.clone(), read: false };
        let id = next_id(tx, "notification")?;
        table.insert((user_id, id), &note)?;
        unread.insert((user_id, id), ()).map_err(store_err)?;
        let n = counts.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        counts.insert(user_id, n + 1).map_err(store_err)?;
        outbox::enqueue(tx, now, user_id, id)?;
        sent.push(Sent { user_id, id });
    }
    Ok(sent)
}

/// The [`META`] key that says the unread index and counts are complete.
const UNREAD_READY: &str = "notifications_unread_v1";

/// Builds the unread index and every user's unread count from the
/// notifications, once per database: a file written before they existed
/// gets them on its first notification write. Returns whether it ran.
/// Every write that touches notifications calls it first.
pub fn backfill_unread(tx: &WriteTransaction) -> Result<bool, AppError> {
    let mut meta = tx.open_table(META).map_err(store_err)?;
    if meta.get(UNREAD_READY).map_err(store_err)?.is_some() {
        return Ok(false);
    }
    let notes = NOTIFICATIONS.open(tx)?;
    let mut unread = tx.open_table(NOTIFICATIONS_UNREAD).map_err(store_err)?;
    let mut counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
    unread.retain(|_, _| false).map_err(store_err)?;
    counts.retain(|_, _| false).map_err(store_err)?;
    let mut per_user: HashMap<u64, u64> = HashMap::new();
    for row in notes.iter()? {
        let (k, n) = row?;
        if !n.read {
            let (user_id, id) = k.value();
            unread.insert((user_id, id), ()).map_err(store_err)?;
            *per_user.entry(user_id).or_default() += 1;
        }
    }
    for (user_id, n) in per_user {
        counts.insert(user_id, n).map_err(store_err)?;
    }
    meta.insert(UNREAD_READY, [1u8].as_slice()).map_err(store_err)?;
    Ok(true)
}

/// Whether `tx` sees a complete unread index (false only on a file from
/// before it that no notification write has touched yet).
fn unread_ready(tx: &ReadTransaction) -> Result<bool, AppError> {
    let meta = tx.open_table(META).map_err(store_err)?;
    Ok(meta.get(UNREAD_READY).map_err(store_err)?.is_some())
}

fn title(task: &TaskV1) -> Vec<(String, String)> {
    vec![("title".into(), task.title.clone())]
}

/// After the commit that stored `sent`: hands them to the outbox's
/// delivery task (the in-app push now; see [`outbox`]).
pub fn deliver(state: &AppState, tenant: &Tenant, sent: Vec<Sent>) {
    if !sent.is_empty() {
        outbox::kick(state, tenant);
    }
}

/// Tells an account's holder and the company's user managers that wrong
/// passwords from many addresses locked it, in the background: the answer
/// to the failed login must take as long as one for an unknown name.
pub fn account_locked(state: &AppState, tenant: &Tenant, user_id: u64, until: i64) {
    let (state, tenant) = (state.clone(), tenant.clone());
    tokio::spawn(async move {
        let now = state.now_ms();
        let written = match tenant.db() {
            Ok(db) => db.write(move |tx| plan(tx, now, 0, Notice::AccountLocked { user_id, until })).await,
            Err(e) => Err(e),
        };
        match written {
            Ok(sent) => deliver(&state, &tenant, sent),
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "could not store the account-lock notice"),
        }
    });
}

fn arg<'a>(note: &'a NotificationV1, name: &str) -> &'a str {
    note.args.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// The notification's sentence in `lang`.
pub fn text(lang: Lang, note: &NotificationV1) -> String {
    let title = arg(note, "title");
    let by = arg(note, "by");
    let a = [("title", title), ("by", by)];
    match note.kind.as_str() {
        "task_assigned" => tf(lang, "notify.task_assigned", &a),
        // The task that finished everything, then that news (older ones: the news alone).
        "tasks_all_done" if !title.is_empty() => {
            let status = NotificationV1 { kind: "task_status".into(), ..note.clone() };
            format!("{} {}", text(lang, &status), t(lang, "notify.tasks_all_done"))
        }
        "task_status" if arg(note, "status") == "completed" && !arg(note, "points").is_empty() => {
            let n: u64 = arg(note, "points").parse().unwrap_or(0);
            crate::i18n::tn(lang, "notify.task_completed_points", n, &a)
        }
        "task_status" => {
            let status = crate::tasks::status_label(lang, arg(note, "status"));
            tf(lang, "notify.task_status", &[("title", title), ("by", by), ("status", status)])
        }
        "task_deadline" => tf(lang, "notify.task_deadline", &a),
        "task_overdue" => tf(lang, "notify.task_overdue", &a),
        "task_approval" => tf(lang, "notify.task_approval", &a),
        "task_extension" => tf(lang, "notify.task_extension", &a),
        "tasks_all_done" => t(lang, "notify.tasks_all_done").to_string(),
        "chat_message" => {
            let n: u64 = arg(note, "count").parse().unwrap_or(1);
            if n <= 1 { tf(lang, "notify.chat_message", &a) } else { crate::i18n::tn(lang, "notify.chat_messages", n, &a) }
        }
        "chat_mention" => tf(lang, "notify.chat_mention", &a),
        "task_file" => tf(lang, "notify.task_file", &a),
        "request_new" | "request_assigned" | "request_status" | "request_client_reply" | "request_breach" => {
            let key = match note.kind.as_str() {
                "request_new" => "notify.request_new",
                "request_assigned" => "notify.request_assigned",
                "request_status" => "notify.request_status",
                "request_client_reply" => "notify.request_client_reply",
                _ => "notify.request_breach",
            };
            tf(lang, key, &[("number", arg(note, "number")), ("title", title), ("by", by)])
        }
        "report_scheduled" => tf(lang, "report_schedules.notice", &[("title", title), ("period", arg(note, "period"))]),
        "role_changed" => tf(lang, "notify.role_changed", &[("role", crate::i18n::role_label(lang, arg(note, "role")))]),
        "account_locked" => tf(lang, "notify.account_locked", &[("user", arg(note, "user")), ("minutes", arg(note, "minutes"))]),
        _ => note.kind.clone(),
    }
}

/// A user's notifications, newest first. The unread ones come from the
/// unread index, so a long read history is never walked.
pub fn list(db: &Db, user_id: u64, unread_only: bool, limit: usize) -> Result<Vec<(u64, NotificationV1)>, AppError> {
    let tx = db.read()?;
    let t = NOTIFICATIONS.open(&tx)?;
    let mut out = Vec::new();
    if unread_only && unread_ready(&tx)? {
        let idx = tx.open_table(NOTIFICATIONS_UNREAD).map_err(store_err)?;
        for row in idx.range((user_id, 0)..=(user_id, u64::MAX)).map_err(store_err)?.rev().take(limit) {
            let id = row.map_err(store_err)?.0.value().1;
            if let Some(n) = t.get((user_id, id))? {
                out.push((id, n));
            }
        }
        return Ok(out);
    }
    for row in t.range((user_id, 0)..=(user_id, u64::MAX))?.rev() {
        let (k, n) = row?;
        if unread_only && n.read {
            continue;
        }
        out.push((k.value().1, n));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// One of a user's notifications (the bot words it when it sends it).
pub fn get(db: &Db, user_id: u64, id: u64) -> Result<Option<NotificationV1>, AppError> {
    let tx = db.read()?;
    NOTIFICATIONS.open(&tx)?.get((user_id, id))
}

/// How many of a user's notifications are unread: one counter read.
pub fn unread_count(db: &Db, user_id: u64) -> Result<usize, AppError> {
    let tx = db.read()?;
    if unread_ready(&tx)? {
        let counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
        let n = counts.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
        return Ok(usize::try_from(n).unwrap_or(usize::MAX));
    }
    // A file from before the counts, not yet written to: count the old way.
    let t = NOTIFICATIONS.open(&tx)?;
    let mut n = 0;
    for row in t.range((user_id, 0)..=(user_id, u64::MAX))? {
        if !row?.1.read {
            n += 1;
        }
    }
    Ok(n)
}

/// Marks some of a user's notifications read (all of them when `ids` is
/// empty). Others' notifications are not touched. Returns how many changed.
pub async fn mark_read(db: &Db, user_id: u64, ids: Vec<u64>) -> Result<usize, AppError> {
    db.write(move |tx| mark_read_in(tx, user_id, &ids)).await
}

/// [`mark_read`] inside a change's own transaction: `ids` (all when empty).
pub fn mark_read_in(tx: &WriteTransaction, user_id: u64, ids: &[u64]) -> Result<usize, AppError> {
    backfill_unread(tx)?;
    let mut unread = tx.open_table(NOTIFICATIONS_UNREAD).map_err(store_err)?;
    let keys: Vec<u64> = if ids.is_empty() {
        let mut all = Vec::new();
        for row in unread.range((user_id, 0)..=(user_id, u64::MAX)).map_err(store_err)? {
            all.push(row.map_err(store_err)?.0.value().1);
        }
        all
    } else {
        ids.to_vec()
    };
    let mut t = NOTIFICATIONS.open(tx)?;
    let mut changed: u64 = 0;
    for id in keys {
        let Some(mut n) = t.get((user_id, id))? else { continue };
        if !n.read {
            n.read = true;
            t.insert((user_id, id), &n)?;
            unread.remove((user_id, id)).map_err(store_err)?;
            changed += 1;
        }
    }
    if changed > 0 {
        let mut counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
        let left = counts.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0).saturating_sub(changed);
        if left == 0 {
            counts.remove(user_id).map_err(store_err)?;
        } else {
            counts.insert(user_id, left).map_err(store_err)?;
        }
    }
    Ok(usize::try_from(changed).unwrap_or(usize::MAX))
}

/// Stores one notification for `user_id` with its unread row, count and outbox row.
fn store_one(tx: &WriteTransaction, now: i64, user_id: u64, note: &NotificationV1) -> Result<Sent, AppError> {
    backfill_unread(tx)?;
    let id = next_id(tx, "notification")?;
    NOTIFICATIONS.open(tx)?.insert((user_id, id), note)?;
    tx.open_table(NOTIFICATIONS_UNREAD).map_err(store_err)?.insert((user_id, id), ()).map_err(store_err)?;
    let mut counts = tx.open_table(UNREAD_COUNTS).map_err(store_err)?;
    let n = counts.get(user_id).map_err(store_err)?.map(|v| v.value()).unwrap_or(0);
    counts.insert(user_id, n + 1).map_err(store_err)?;
    outbox::enqueue(tx, now, user_id, id)?;
    Ok(Sent { user_id, id })
}

fn chat_args(thread_id: u64, title: &str, by: &str) -> Vec<(String, String)> {
    vec![("thread".into(), thread_id.to_string()), ("title".into(), title.into()), ("by".into(), by.into())]
}

/// "New messages in a thread" for `user_id`: while their notification of
/// this thread (`existing`) is unread, a new message adds to it (one
/// notification for a burst, not one per message, and no second push);
/// else a new one. Returns its id and what to deliver.
#[allow(clippy::too_many_arguments)]
pub fn chat_message(
    tx: &WriteTransaction,
    now: i64,
    user_id: u64,
    existing: Option<u64>,
    thread_id: u64,
    task_id: Option<u64>,
    title: &str,
    by: &str,
) -> Result<(u64, Option<Sent>), AppError> {
    if let Some(nid) = existing {
        let mut t = NOTIFICATIONS.open(tx)?;
        if let Some(mut n) = t.get((user_id, nid))?.filter(|n| !n.read && n.kind == "chat_message") {
            let count: u64 = arg(&n, "count").parse().unwrap_or(1);
            n.args.retain(|(k, _)| k != "count" && k != "by");
            n.args.push(("by".into(), by.into()));
            n.args.push(("count".into(), (count + 1).to_string()));
            n.at = now;
            t.insert((user_id, nid), &n)?;
            return Ok((nid, None));
        }
    }
    let mut args = chat_args(thread_id, title, by);
    args.push(("count".into(), "1".into()));
    let note = NotificationV1 { at: now, kind: "chat_message".into(), task_id, args, read: false };
    let sent = store_one(tx, now, user_id, &note)?;
    Ok((sent.id, Some(sent)))
}

/// A chat notice that is never added to: `chat_mention` (`by` named
/// `user_id` in a message) or `task_file` (`by` sent a file in the thread of
/// a task of `user_id`'s).
#[allow(clippy::too_many_arguments)]
pub fn chat_notice(
    tx: &WriteTransaction,
    now: i64,
    user_id: u64,
    kind: &str,
    thread_id: u64,
    task_id: Option<u64>,
    title: &str,
    by: &str,
) -> Result<Sent, AppError> {
    let note = NotificationV1 { at: now, kind: kind.into(), task_id, args: chat_args(thread_id, title, by), read: false };
    store_one(tx, now, user_id, &note)
}

/// A staff notice about client request `request_id` (`R-000123`, its
/// subject, who did it): `request_new` (the team: nobody has it yet),
/// `request_assigned`, `request_status`, `request_client_reply`,
/// `request_breach`.
#[allow(clippy::too_many_arguments)]
pub fn request_notice(
    tx: &WriteTransaction,
    now: i64,
    user_id: u64,
    kind: &str,
    request_id: u64,
    number: &str,
    subject: &str,
    by: &str,
) -> Result<Sent, AppError> {
    let args = vec![
        ("request".into(), request_id.to_string()),
        ("number".into(), number.into()),
        ("title".into(), subject.into()),
        ("by".into(), by.into()),
    ];
    let note = NotificationV1 { at: now, kind: kind.into(), task_id: None, args, read: false };
    store_one(tx, now, user_id, &note)
}

/// A scheduled report for `user_id`: its `title` over `period` (text), and
/// the report page under the company (`reports/{name}?period=…`).
#[allow(clippy::too_many_arguments)]
pub fn report_notice(
    tx: &WriteTransaction,
    now: i64,
    user_id: u64,
    report: &str,
    title: &str,
    period: &str,
    path: &str,
) -> Result<Sent, AppError> {
    let args = vec![
        ("report".into(), report.into()),
        ("title".into(), title.into()),
        ("period".into(), period.into()),
        ("path".into(), path.into()),
    ];
    let note = NotificationV1 { at: now, kind: "report_scheduled".into(), task_id: None, args, read: false };
    store_one(tx, now, user_id, &note)
}

/// The page (under the company) a scheduled report's notification opens.
pub fn report_path_of(note: &NotificationV1) -> Option<&str> {
    (note.kind == "report_scheduled").then(|| arg(note, "path")).filter(|p| p.starts_with("reports/"))
}

/// The client request a notification opens.
pub fn request_of(note: &NotificationV1) -> Option<u64> {
    arg(note, "request").parse().ok()
}

/// The thread a chat notification opens.
pub fn thread_of(note: &NotificationV1) -> Option<u64> {
    arg(note, "thread").parse().ok()
}

/// Most notifications one prune transaction removes, so the nightly job
/// never holds the company's writer for long.
const PRUNE_BATCH: usize = 5_000;

/// Removes read notifications older than `keep_days` days before `now_ms`
/// (unread ones stay, however old, so unread counts never change). Walks
/// each user's notifications from the oldest and stops at the first young
/// one (ids grow with time), in transactions of at most [`PRUNE_BATCH`]
/// removals. Returns how many were removed. Meant for a nightly job.
pub async fn prune(db: &Db, now_ms: i64, keep_days: u32) -> Result<usize, AppError> {
    let cutoff = now_ms.saturating_sub(i64::from(keep_days).saturating_mul(86_400_000));
    let mut removed = 0;
    // Where the next batch starts: (user id, notification id).
    let mut from: (u64, u64) = (0, 0);
    loop {
        let start = from;
        let (n, next) = db
            .write(move |tx| {
                backfill_unread(tx)?;
                let mut t = NOTIFICATIONS.open(tx)?;
                let mut old: Vec<(u64, u64)> = Vec::new();
                let mut at = start;
                let mut next = None;
                'users: loop {
                    let mut skip_user = None;
                    for row in t.range(at..)? {
                        let (k, note) = row?;
                        let key = k.value();
                        if old.len() >= PRUNE_BATCH {
                            next = Some(key);
                            break 'users;
                        }
                        if note.at >= cutoff {
                            skip_user = Some(key.0);
                            break;
                        }
                        if note.read {
                            old.push(key);
                        }
                    }
                    match skip_user.and_then(|u| u.checked_add(1)) {
                        Some(u) => at = (u, 0),
                        None => break,
                    }
                }
                for key in &old {
                    t.remove(*key)?;
                }
                Ok((old.len(), next))
            })
            .await?;
        removed += n;
        match next {
            Some(k) => from = k,
            None => return Ok(removed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{TaskStatus, USERS};

    const DAY: i64 = 86_400_000;

    fn account(name: &str, role: &str) -> AccountV1 {
        AccountV1 {
            username: name.into(),
            full_name: String::new(),
            phone: None,
            role: role.into(),
            department_id: Some(1),
            branch_id: None,
            active: true,
            password_hash: String::new(),
            language: None,
            created_at: 0,
            updated_at: 0,
            failed_logins: 0,
            locked_until: None,
        }
    }

    fn task(creator_id: u64, assignee_id: u64) -> TaskV1 {
        TaskV1 {
            title: "kassa".into(),
            description: String::new(),
            creator_id,
            assignee_id,
            department_id: Some(1),
            category_id: None,
            points: 0,
            start_at: None,
            deadline: 10 * DAY,
            status: TaskStatus::New,
            created_at: 0,
            updated_at: 0,
            spent_ms: 0,
            working_since: None,
            redo_count: 0,
            overdue_at: None,
            completed_at: None,
            points_awarded: 0,
            deadline_request: None,
        }
    }

    /// A company file with a director (1) and two employees (2, 3).
    async fn company() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("data.redb"), &crate::store::migrate::TENANT, Default::default()).unwrap();
        db.write(|tx| {
            let mut t = USERS.open(tx)?;
            for (id, name, role) in [(1, "boss", "director"), (2, "ali", "employee"), (3, "vali", "employee")] {
                t.insert(id, &account(name, role))?;
            }
            Ok(())
        })
        .await
        .unwrap();
        (dir, db)
    }

    /// The director gives `user` a task at `now`; returns the notification id.
    async fn assign(db: &Db, now: i64, user: u64) -> u64 {
        let sent = db
            .write(move |tx| {
                let t = task(1, user);
                plan(tx, now, 1, Notice::Assigned { task_id: 7, task: &t, from_id: 1 })
            })
            .await
            .unwrap();
        assert_eq!(sent.len(), 1);
        sent[0].id
    }

    #[test]
    fn a_completion_notice_counts_the_points_in_each_language() {
        let note = |status: &str, points: Option<&str>| {
            let mut args = vec![("title".to_string(), "Hisobot".to_string()), ("by".to_string(), "Malika".to_string())];
            args.push(("status".into(), status.into()));
            args.extend(points.map(|p| ("points".to_string(), p.to_string())));
            NotificationV1 { at: 0, kind: "task_status".into(), task_id: Some(7), args, read: false }
        };
        assert_eq!(text(Lang::En, &note("completed", Some("1"))), "«Hisobot» is completed (Malika): 1 point awarded.");
        assert_eq!(text(Lang::Ru, &note("completed", Some("3"))), "«Hisobot»: выполнено (Malika), начислено 3 балла.");
        assert_eq!(text(Lang::Ru, &note("completed", Some("5"))), "«Hisobot»: выполнено (Malika), начислено 5 баллов.");
        assert_eq!(text(Lang::Uz, &note("completed", Some("5"))), "«Hisobot» bajarildi (Malika): 5 ball berildi.");
        // No points, or not a completion: the plain status sentence.
        assert!(!text(Lang::En, &note("completed", None)).contains("awarded"));
        assert!(!text(Lang::En, &note("redo", Some("5"))).contains("awarded"));
    }

    fn outbox_due(db: &Db, now: i64) -> i64 {
        outbox::next_due(&db.read().unwrap(), now).unwrap()
    }

    #[tokio::test]
    async fn a_delivery_claimed_when_the_process_died_is_not_sent_again() {
        let (_dir, db) = company().await;
        let id = assign(&db, 10, 2).await;
        assert_eq!(outbox_due(&db, 11), 10, "the notice waits in the outbox");
        let (in_doubt, claimed) = db.write(|tx| outbox::claim(tx, 11, Lang::Ru)).await.unwrap();
        assert_eq!((in_doubt, claimed.len()), (0, 1));
        let c = &claimed[0];
        assert_eq!((c.row.user_id, c.row.notification_id, c.row.channel), (2, id, schema::Channel::InApp));
        let message = c.message.as_ref().unwrap();
        assert_eq!((message["id"].as_u64(), message["unread"].as_u64()), (Some(id), Some(1)));
        assert!(message["text"].as_str().unwrap().contains("kassa"), "{message}");
        // The process dies before settling: the next pass drops the claim.
        assert_eq!(outbox_due(&db, 12), 12, "a cut-off pass makes the company due at once");
        let (in_doubt, claimed) = db.write(|tx| outbox::claim(tx, 12, Lang::Ru)).await.unwrap();
        assert_eq!((in_doubt, claimed.len()), (1, 0), "dropped, not sent again");
        assert_eq!(outbox_due(&db, 13), i64::MAX, "nothing is left");
    }

    #[tokio::test]
    async fn a_failed_delivery_waits_longer_each_time_then_is_given_up() {
        let (_dir, db) = company().await;
        assign(&db, 0, 2).await;
        let mut now = 0;
        for attempt in 1..=outbox::MAX_ATTEMPTS {
            let (_, claimed) = db.write(move |tx| outbox::claim(tx, now, Lang::Uz)).await.unwrap();
            assert_eq!(claimed.len(), 1, "try {attempt} is due at {now}");
            let outcomes: Vec<_> = claimed.into_iter().map(|c| (c.id, c.row, false)).collect();
            let (retried, given_up, next) = db.write(move |tx| outbox::settle(tx, now, &outcomes)).await.unwrap();
            if attempt < outbox::MAX_ATTEMPTS {
                assert_eq!((retried, given_up), (1, 0));
                assert_eq!(next, Some(now + outbox::backoff_ms(attempt)), "try {attempt} failed");
                let early = now + outbox::backoff_ms(attempt) - 1;
                let (_, claimed) = db.write(move |tx| outbox::claim(tx, early, Lang::Uz)).await.unwrap();
                assert!(claimed.is_empty(), "not tried again before its wait is over");
                now += outbox::backoff_ms(attempt);
            } else {
                assert_eq!((retried, given_up, next), (0, 1, None), "given up after {attempt} tries");
            }
        }
    }

    /// The unread count the old code computed: every notification decoded.
    fn scanned(db: &Db, user: u64) -> usize {
        let tx = db.read().unwrap();
        let t = NOTIFICATIONS.open(&tx).unwrap();
        t.range((user, 0)..=(user, u64::MAX)).unwrap().filter(|r| !r.as_ref().unwrap().1.read).count()
    }

    fn rows(db: &Db, user: u64) -> usize {
        let tx = db.read().unwrap();
        NOTIFICATIONS.open(&tx).unwrap().range((user, 0)..=(user, u64::MAX)).unwrap().count()
    }

    #[tokio::test]
    async fn counts_stay_right_through_create_read_and_prune() {
        let (_dir, db) = company().await;
        let mut ali = Vec::new();
        for day in 0..10 {
            ali.push(assign(&db, day * DAY, 2).await);
        }
        assign(&db, 0, 3).await;
        assert_eq!((unread_count(&db, 2).unwrap(), unread_count(&db, 3).unwrap(), unread_count(&db, 1).unwrap()), (10, 1, 0));

        // Read three of Ali's (one twice, one of Vali's ids: not his, untouched).
        let vali_id = list(&db, 3, false, 10).unwrap()[0].0;
        assert_eq!(mark_read(&db, 2, vec![ali[0], ali[1], ali[1], ali[5], vali_id]).await.unwrap(), 3);
        assert_eq!(unread_count(&db, 2).unwrap(), 7);
        assert_eq!(unread_count(&db, 3).unwrap(), 1);
        let unread: Vec<u64> = list(&db, 2, true, 100).unwrap().into_iter().map(|(id, _)| id).collect();
        let mut want: Vec<u64> = ali.iter().copied().filter(|id| ![ali[0], ali[1], ali[5]].contains(id)).collect();
        want.reverse();
        assert_eq!(unread, want, "the unread list, newest first");
        assert_eq!(list(&db, 2, true, 2).unwrap().len(), 2, "the limit holds");
        assert_eq!(mark_read(&db, 2, vec![ali[0]]).await.unwrap(), 0, "already read");

        // On day 13, keeping 7 days removes read notifications from before
        // day 6: the read ones of days 0, 1 and 5; the unread stay.
        let gone = prune(&db, 13 * DAY, 7).await.unwrap();
        assert_eq!(gone, 3, "the three read ones of days 0, 1 and 5");
        assert_eq!(rows(&db, 2), 7);
        assert_eq!(rows(&db, 3), 1, "Vali's unread one of day 0 stays");
        assert_eq!(unread_count(&db, 2).unwrap(), 7);
        assert_eq!(unread_count(&db, 2).unwrap(), scanned(&db, 2));

        // Read everything, then prune far in the future: all of Ali's go, counts stay 0.
        assert_eq!(mark_read(&db, 2, Vec::new()).await.unwrap(), 7);
        assert_eq!((unread_count(&db, 2).unwrap(), list(&db, 2, true, 100).unwrap().len()), (0, 0));
        assert_eq!(prune(&db, 100 * DAY, 30).await.unwrap(), 7);
        assert_eq!(rows(&db, 2), 0);
        assert_eq!(unread_count(&db, 3).unwrap(), 1);
        // New notifications after a prune count from zero.
        assign(&db, 101 * DAY, 2).await;
        assert_eq!(unread_count(&db, 2).unwrap(), 1);
        assert_eq!(prune(&db, 101 * DAY, 0).await.unwrap(), 0, "unread ones are never pruned");
    }

    #[tokio::test]
    async fn prune_works_in_batches_across_users() {
        let (_dir, db) = company().await;
        let n = PRUNE_BATCH + 7;
        db.write(move |tx| {
            let mut t = NOTIFICATIONS.open(tx)?;
            for i in 0..n as u64 {
                let note = NotificationV1 { at: 0, kind: "task_assigned".into(), task_id: Some(i), args: vec![], read: true };
                t.insert((2 + i % 2, i + 1), &note)?;
            }
            let mut seq = tx.open_table(schema::SEQ).map_err(store_err)?;
            seq.insert("notification", n as u64).map_err(store_err)?;
            Ok(())
        })
        .await
        .unwrap();
        assign(&db, 5 * DAY, 2).await;
        assert_eq!(prune(&db, 5 * DAY, 1).await.unwrap(), n);
        assert_eq!((rows(&db, 2), rows(&db, 3)), (1, 0));
        assert_eq!(unread_count(&db, 2).unwrap(), 1);
    }

    /// A file written before the counts existed: notifications without
    /// their unread index, counts or the marker.
    #[tokio::test]
    async fn an_old_file_is_backfilled_once() {
        let (_dir, db) = company().await;
        db.write(|tx| {
            let mut t = NOTIFICATIONS.open(tx)?;
            for i in 1..=6u64 {
                let note = NotificationV1 { at: 0, kind: "task_assigned".into(), task_id: Some(i), args: vec![], read: i <= 2 };
                t.insert((2, i), &note)?;
            }
            let note = NotificationV1 { at: 0, kind: "role_changed".into(), task_id: None, args: vec![], read: false };
            t.insert((3, 7), &note)?;
            let mut seq = tx.open_table(schema::SEQ).map_err(store_err)?;
            seq.insert("notification", 7).map_err(store_err)?;
            Ok(())
        })
        .await
        .unwrap();
        // Before any write: counted from the rows, listed from the rows.
        assert_eq!((unread_count(&db, 2).unwrap(), unread_count(&db, 3).unwrap()), (4, 1));
        assert_eq!(list(&db, 2, true, 100).unwrap().iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![6, 5, 4, 3]);

        // The first notification written fills the index and counts.
        let id = assign(&db, DAY, 2).await;
        assert_eq!((unread_count(&db, 2).unwrap(), unread_count(&db, 3).unwrap()), (5, 1));
        assert_eq!(list(&db, 2, true, 100).unwrap().iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![id, 6, 5, 4, 3]);
        assert_eq!(mark_read(&db, 3, Vec::new()).await.unwrap(), 1);
        assert_eq!(unread_count(&db, 3).unwrap(), 0);

        // Recorded: it does not run again (it would undo nothing, but costs a scan).
        assert!(!db.write(backfill_unread).await.unwrap());
        assert_eq!(unread_count(&db, 2).unwrap(), 5);
        assert_eq!(unread_count(&db, 2).unwrap(), scanned(&db, 2));
    }

    /// `mark_read` on an old file backfills first, so its subtraction lands on a true count.
    #[tokio::test]
    async fn reading_first_on_an_old_file_keeps_counts_right() {
        let (_dir, db) = company().await;
        db.write(|tx| {
            let mut t = NOTIFICATIONS.open(tx)?;
            for i in 1..=3u64 {
                let note = NotificationV1 { at: 0, kind: "task_assigned".into(), task_id: Some(i), args: vec![], read: false };
                t.insert((2, i), &note)?;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(mark_read(&db, 2, vec![1]).await.unwrap(), 1);
        assert_eq!(unread_count(&db, 2).unwrap(), 2);
        assert_eq!(list(&db, 2, true, 10).unwrap().len(), 2);
    }

    /// Telling one assignee reads only the accounts it names, and a role
    /// notice still reaches the role.
    #[tokio::test]
    async fn role_notices_reach_the_role() {
        let (_dir, db) = company().await;
        let sent = db
            .write(|tx| {
                let t = task(2, 3);
                plan(tx, 0, 2, Notice::ApprovalNeeded { task_id: 9, task: &t })
            })
            .await
            .unwrap();
        assert_eq!(sent.iter().map(|s| s.user_id).collect::<Vec<_>>(), vec![1]);
        assert_eq!(unread_count(&db, 1).unwrap(), 1);
    }
}
