//! Chat: threads (of a task, a request, two colleagues, a department or a
//! named group), their messages, and who follows each thread with what
//! they have read.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// thread id → [`ThreadRecord`].
pub const THREADS: Records<u64, ThreadRecord> = Records::new("chat_threads");
/// (owner kind, owner id) → thread id: the one thread of a task
/// ([`OWNER_TASK`]), a client request ([`OWNER_REQUEST`]) or a department
/// ([`OWNER_DEPARTMENT`]), made with its first message.
pub const THREADS_BY_OWNER: TableDefinition<(u8, u64), u64> = TableDefinition::new("chat_threads_by_owner");
/// (smaller user id, larger user id) → the thread id of their direct chat.
pub const DIRECT_THREADS: TableDefinition<(u64, u64), u64> = TableDefinition::new("chat_direct_threads");
/// message id → [`MessageRecord`].
pub const MESSAGES: Records<u64, MessageRecord> = Records::new("chat_messages");
/// (thread id, message id): a thread's messages in the order they came.
pub const THREAD_MESSAGES: TableDefinition<(u64, u64), ()> = TableDefinition::new("chat_thread_messages");
/// (user id, thread id) → [`FollowRecord`]: the threads a user follows
/// (a member of a group, one of two in a direct chat, someone who wrote in,
/// was named in or opened a task's thread), with what they have read.
pub const FOLLOWS: Records<(u64, u64), FollowRecord> = Records::new("chat_follows");
/// (thread id, user id): [`FOLLOWS`] the other way round, written with it.
pub const FOLLOWERS: TableDefinition<(u64, u64), ()> = TableDefinition::new("chat_followers");
/// user id → unread messages over every thread they follow, kept with
/// [`FOLLOWS`] (the navigation badge reads one row).
pub const CHAT_UNREAD: TableDefinition<u64, u64> = TableDefinition::new("chat_unread_counts");

pub const OWNER_TASK: u8 = 1;
pub const OWNER_REQUEST: u8 = 2;
pub const OWNER_DEPARTMENT: u8 = 3;

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(THREADS.def())?;
    t.table(THREADS_BY_OWNER)?;
    t.table(DIRECT_THREADS)?;
    t.table(MESSAGES.def())?;
    t.table(THREAD_MESSAGES)?;
    t.table(FOLLOWS.def())?;
    t.table(FOLLOWERS)?;
    t.table(CHAT_UNREAD)?;
    Ok(())
}

/// What a thread belongs to; who may read it follows from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThreadKind {
    /// A task's thread (`owner` is the task): whoever may see the task.
    Task,
    /// A client request's thread (`owner` is the request; the request
    /// domain plugs in here).
    Request,
    /// Two colleagues: `owner` and `other`, the smaller id first.
    Direct,
    /// A department's group (`owner` is the department): its people.
    Department,
    /// A named group: its members ([`FOLLOWERS`] rows are the membership).
    Group,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadV1 {
    pub kind: ThreadKind,
    /// The task, request or department it belongs to; in a direct chat the
    /// first of its two people; 0 for a named group.
    pub owner: u64,
    /// In a direct chat, the second of its two people; else 0.
    pub other: u64,
    /// A named group's name; empty for the others (their title comes from
    /// their owner).
    pub name: String,
    pub created_by: u64,
    pub created_at: i64,
    /// The newest message's id, 0 before the first.
    pub last_message: u64,
    /// When the newest message came (ms), else `created_at`.
    pub last_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ThreadRecord {
    V1(ThreadV1),
}
versioned!(ThreadRecord, ThreadV1, V1);

/// Who deleted a message and when; its text and files are gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub by: u64,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageV1 {
    pub thread_id: u64,
    pub author_id: u64,
    pub text: String,
    /// The earlier message of the same thread this one answers.
    pub reply_to: Option<u64>,
    /// Attached files (ids of the files domain), in the order given.
    pub files: Vec<u64>,
    /// Users named with `@username` who may read the thread.
    pub mentions: Vec<u64>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted: Option<Deleted>,
}
/// V2 adds who a message is for and who wrote it outside the staff: in a
/// request's thread, an internal note (staff only) and a client's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageV2 {
    pub thread_id: u64,
    /// The staff member who wrote it; 0 when a client did.
    pub author_id: u64,
    pub text: String,
    pub reply_to: Option<u64>,
    pub files: Vec<u64>,
    pub mentions: Vec<u64>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted: Option<Deleted>,
    /// Staff only: an internal note of a request's thread. False in every
    /// other thread (and in every V1 message).
    pub internal: bool,
    /// The client who wrote it (a request's thread), else `None`.
    pub client_id: Option<u64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MessageRecord {
    V1(MessageV1),
    V2(MessageV2),
}
impl Versioned for MessageRecord {
    type Latest = MessageV2;
    fn into_latest(self) -> MessageV2 {
        match self {
            MessageRecord::V1(v) => MessageV2 {
                thread_id: v.thread_id,
                author_id: v.author_id,
                text: v.text,
                reply_to: v.reply_to,
                files: v.files,
                mentions: v.mentions,
                created_at: v.created_at,
                edited_at: v.edited_at,
                deleted: v.deleted,
                internal: false,
                client_id: None,
            },
            MessageRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: MessageV2) -> Self {
        MessageRecord::V2(latest)
    }
}

/// One user following one thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowV1 {
    /// The last message id they have read (0: none).
    pub last_read: u64,
    /// Messages by others after `last_read`.
    pub unread: u64,
    /// Their unread "new messages" notification of this thread, which the
    /// next messages add to instead of making another.
    pub notification: Option<u64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FollowRecord {
    V1(FollowV1),
}
versioned!(FollowRecord, FollowV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(ThreadRecord::V1(ThreadV1 {
                kind: ThreadKind::Direct,
                owner: 3,
                other: 8,
                name: "Kassa jamoasi".into(),
                created_by: 3,
                created_at: 1_764_000_000_000,
                last_message: 12,
                last_at: 1_764_000_060_000,
            })),
            record(MessageRecord::V1(MessageV1 {
                thread_id: 4,
                author_id: 3,
                text: "Hisobot tayyor @dilnoza".into(),
                reply_to: Some(10),
                files: vec![7, 9],
                mentions: vec![8],
                created_at: 1_764_000_000_000,
                edited_at: Some(1_764_000_100_000),
                deleted: Some(Deleted { by: 3, at: 1_764_000_200_000 }),
            })),
            record(MessageRecord::V2(MessageV2 {
                thread_id: 5,
                author_id: 0,
                text: "Karta hali ham bloklangan".into(),
                reply_to: None,
                files: vec![11],
                mentions: vec![],
                created_at: 1_764_000_000_000,
                edited_at: None,
                deleted: None,
                internal: true,
                client_id: Some(4),
            })),
            record(FollowRecord::V1(FollowV1 { last_read: 11, unread: 2, notification: Some(40) })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &ThreadKind| -> &'static [u8] {
            match v {
                ThreadKind::Task => &[0],
                ThreadKind::Request => &[1],
                ThreadKind::Direct => &[2],
                ThreadKind::Department => &[3],
                ThreadKind::Group => &[4],
            }
        })]
    }
}
