//! Notifications: who hears about what, and the channels that tell them.
//!
//! A domain service describes what happened as a [`Notice`] inside its write
//! transaction; [`plan`] decides the recipients and stores one in-app
//! notification per recipient in that same transaction, so a notification
//! exists exactly when its change does. After the commit, [`deliver`] pushes
//! them to the live hub (and, in a later issue, to Telegram).

use crate::app::AppState;
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::store::schema::{self, AccountRecord, AccountV1, NOTIFICATIONS, NotificationRecord, NotificationV1, TaskStatus, TaskV1};
use crate::store::{Db, dec, enc, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};

/// Something that happened, told by a domain service.
pub enum Notice<'a> {
    /// A task was created for, or handed over to, its assignee.
    Assigned {
        task_id: u64,
        task: &'a TaskV1,
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
    /// Every task this creator handed out is finished.
    AllCompleted {
        creator_id: u64,
    },
    RoleChanged {
        user_id: u64,
        role: &'a str,
    },
}

/// A stored notification, ready to be pushed.
#[derive(Debug, Clone)]
pub struct Sent {
    pub user_id: u64,
    pub id: u64,
    pub note: NotificationV1,
    pub lang: Lang,
}

fn read_users(tx: &WriteTransaction) -> Result<Vec<(u64, AccountV1)>, AppError> {
    let t = tx.open_table(schema::USERS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in t.iter().map_err(store_err)? {
        let (k, v) = row.map_err(store_err)?;
        out.push((k.value(), dec::<AccountRecord>(v.value())?));
    }
    Ok(out)
}

/// Decides who hears about `notice` (never the person who caused it, never
/// a switched-off account) and stores their notifications in `tx`.
pub fn plan(tx: &WriteTransaction, now: i64, actor_id: u64, default_lang: Lang, notice: Notice<'_>) -> Result<Vec<Sent>, AppError> {
    let users = read_users(tx)?;
    let account = |id: u64| users.iter().find(|(u, _)| *u == id).map(|(_, a)| a);
    let with_role = |role: &str, dept: Option<Option<u64>>| -> Vec<u64> {
        users
            .iter()
            .filter(|(_, a)| a.active && a.role == role && dept.is_none_or(|d| d.is_some() && a.department_id == d))
            .map(|(id, _)| *id)
            .collect()
    };
    let actor_name = account(actor_id).map(|a| if a.full_name.is_empty() { a.username.clone() } else { a.full_name.clone() });

    type Args = Vec<(String, String)>;
    let (kind, task_id, mut args, mut to): (&str, Option<u64>, Args, Vec<u64>) = match &notice {
        Notice::Assigned { task_id, task } => ("task_assigned", Some(*task_id), title(task), vec![task.assignee_id]),
        Notice::StatusChanged { task_id, task } => {
            let mut to = vec![task.creator_id];
            to.extend(with_role("manager", Some(task.department_id)));
            if matches!(
                task.status,
                TaskStatus::Redo | TaskStatus::Completed | TaskStatus::Rejected | TaskStatus::New | TaskStatus::Declined
            ) {
                to.push(task.assignee_id);
            }
            let mut args = title(task);
            args.push(("status".into(), crate::tasks::status_code(task.status).into()));
            ("task_status", Some(*task_id), args, to)
        }
        Notice::DeadlineChanged { task_id, task } => ("task_deadline", Some(*task_id), title(task), vec![task.assignee_id]),
        Notice::Overdue { task_id, task } => ("task_overdue", Some(*task_id), title(task), vec![task.assignee_id, task.creator_id]),
        Notice::ApprovalNeeded { task_id, task } => ("task_approval", Some(*task_id), title(task), with_role("director", None)),
        Notice::ExtensionRequested { task_id, task } => {
            let mut to = vec![task.creator_id];
            to.extend(with_role("director", None));
            ("task_extension", Some(*task_id), title(task), to)
        }
        Notice::AllCompleted { creator_id } => ("tasks_all_done", None, vec![], vec![*creator_id]),
        Notice::RoleChanged { user_id, role } => ("role_changed", None, vec![("role".into(), role.to_string())], vec![*user_id]),
    };
    if let Some(name) = actor_name {
        args.push(("by".into(), name));
    }
    to.sort_unstable();
    to.dedup();
    // "Everything you handed out is done" is news even to the one who closed the last task.
    let tell_actor = matches!(notice, Notice::AllCompleted { .. });
    to.retain(|u| (tell_actor || *u != actor_id) && account(*u).is_some_and(|a| a.active));

    let mut sent = Vec::new();
    let mut table = tx.open_table(NOTIFICATIONS).map_err(store_err)?;
    for user_id in to {
        let note = NotificationV1 { at: now, kind: kind.to_string(), task_id, args: args.clone(), read: false };
        let id = next_id(tx, "notification")?;
        table.insert((user_id, id), enc::<NotificationRecord>(note.clone())?.as_slice()).map_err(store_err)?;
        let lang = account(user_id).and_then(|a| a.language.as_deref()).and_then(Lang::parse).unwrap_or(default_lang);
        sent.push(Sent { user_id, id, note, lang });
    }
    Ok(sent)
}

fn title(task: &TaskV1) -> Vec<(String, String)> {
    vec![("title".into(), task.title.clone())]
}

/// Pushes stored notifications to everyone listening: the in-app centre
/// over the live hub, as `notification` events on `user:{id}`.
pub fn deliver(state: &AppState, tenant: &Tenant, sent: Vec<Sent>) {
    for s in sent {
        let unread = tenant.db().ok().and_then(|db| unread_count(db, s.user_id).ok()).unwrap_or(0);
        let data = serde_json::json!({
            "id": s.id,
            "kind": s.note.kind,
            "task_id": s.note.task_id,
            "text": text(s.lang, &s.note),
            "unread": unread,
        });
        state.hub.publish(&tenant.slug, &format!("user:{}", s.user_id), "notification", data, state.now());
    }
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
        "task_status" => {
            let status = crate::tasks::status_label(lang, arg(note, "status"));
            tf(lang, "notify.task_status", &[("title", title), ("by", by), ("status", status)])
        }
        "task_deadline" => tf(lang, "notify.task_deadline", &a),
        "task_overdue" => tf(lang, "notify.task_overdue", &a),
        "task_approval" => tf(lang, "notify.task_approval", &a),
        "task_extension" => tf(lang, "notify.task_extension", &a),
        "tasks_all_done" => t(lang, "notify.tasks_all_done").to_string(),
        "role_changed" => tf(lang, "notify.role_changed", &[("role", crate::i18n::role_label(lang, arg(note, "role")))]),
        _ => note.kind.clone(),
    }
}

/// A user's notifications, newest first.
pub fn list(db: &Db, user_id: u64, unread_only: bool, limit: usize) -> Result<Vec<(u64, NotificationV1)>, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(NOTIFICATIONS).map_err(store_err)?;
    let mut out = Vec::new();
    for row in t.range((user_id, 0)..=(user_id, u64::MAX)).map_err(store_err)?.rev() {
        let (k, v) = row.map_err(store_err)?;
        let n = dec::<NotificationRecord>(v.value())?;
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

pub fn unread_count(db: &Db, user_id: u64) -> Result<usize, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(NOTIFICATIONS).map_err(store_err)?;
    let mut n = 0;
    for row in t.range((user_id, 0)..=(user_id, u64::MAX)).map_err(store_err)? {
        let (_, v) = row.map_err(store_err)?;
        if !dec::<NotificationRecord>(v.value())?.read {
            n += 1;
        }
    }
    Ok(n)
}

/// Marks some of a user's notifications read (all of them when `ids` is
/// empty). Others' notifications are not touched. Returns how many changed.
pub async fn mark_read(db: &Db, user_id: u64, ids: Vec<u64>) -> Result<usize, AppError> {
    db.write(move |tx| {
        let mut t = tx.open_table(NOTIFICATIONS).map_err(store_err)?;
        let keys: Vec<u64> = if ids.is_empty() {
            let mut all = Vec::new();
            for row in t.range((user_id, 0)..=(user_id, u64::MAX)).map_err(store_err)? {
                all.push(row.map_err(store_err)?.0.value().1);
            }
            all
        } else {
            ids.clone()
        };
        let mut changed = 0;
        for id in keys {
            let Some(bytes) = t.get((user_id, id)).map_err(store_err)?.map(|v| v.value().to_vec()) else { continue };
            let mut n = dec::<NotificationRecord>(&bytes)?;
            if !n.read {
                n.read = true;
                t.insert((user_id, id), enc::<NotificationRecord>(n)?.as_slice()).map_err(store_err)?;
                changed += 1;
            }
        }
        Ok(changed)
    })
    .await
}
