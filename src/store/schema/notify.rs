//! In-app notifications, with the unread index and each user's unread count.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// (user id, notification id) → [`NotificationRecord`].
pub const NOTIFICATIONS: Records<(u64, u64), NotificationRecord> = Records::new("notifications");
/// (user id, notification id) of every unread notification, written with
/// [`NOTIFICATIONS`]: the unread list and "mark all read" without the read history.
pub const NOTIFICATIONS_UNREAD: TableDefinition<(u64, u64), ()> = TableDefinition::new("notifications_unread");
/// user id → how many of their notifications are unread, kept in the same
/// transaction as [`NOTIFICATIONS`]. A file from before this table is
/// backfilled once (`notify::backfill_unread`, recorded in [`META`]).
pub const UNREAD_COUNTS: TableDefinition<u64, u64> = TableDefinition::new("notification_unread_counts");
/// Deliveries waiting for their channel: (due at, outbox id) →
/// [`OutboxRecord`]. Written with the notification, in its change's
/// transaction; removed when delivered (see `notify::outbox`).
pub const OUTBOX: Records<(i64, u64), OutboxRecord> = Records::new("notify_outbox");
/// Deliveries handed to their channel and not yet confirmed: outbox id →
/// [`OutboxRecord`]. Empty between passes; rows found here at the start of
/// a pass were cut off by a crash and are never sent again.
pub const OUTBOX_SENDING: Records<u64, OutboxRecord> = Records::new("notify_outbox_sending");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(NOTIFICATIONS.def())?;
    t.table(NOTIFICATIONS_UNREAD)?;
    t.table(UNREAD_COUNTS)?;
    t.table(OUTBOX.def())?;
    t.table(OUTBOX_SENDING.def())?;
    Ok(())
}

/// An in-app notification. The text is rendered when shown, in the reader's
/// language, from `kind` and `args`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationV1 {
    pub at: i64,
    pub kind: String,
    pub task_id: Option<u64>,
    pub args: Vec<(String, String)>,
    pub read: bool,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NotificationRecord {
    V1(NotificationV1),
}
versioned!(NotificationRecord, NotificationV1, V1);

/// How a notification reaches its reader. In-app is the live push to open
/// pages (the notification itself is always in the reader's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    InApp,
}

/// One delivery of one notification over one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxV1 {
    pub user_id: u64,
    pub notification_id: u64,
    pub channel: Channel,
    /// Failed tries so far.
    pub attempts: u32,
    pub created_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxRecord {
    V1(OutboxV1),
}
versioned!(OutboxRecord, OutboxV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(NotificationRecord::V1(NotificationV1 {
                at: 10,
                kind: "task_assigned".into(),
                task_id: Some(4),
                args: vec![("title".into(), "Hisobot".into())],
                read: false,
            })),
            record(OutboxRecord::V1(OutboxV1 {
                user_id: 3,
                notification_id: 41,
                channel: Channel::InApp,
                attempts: 2,
                created_at: 1_764_000_000_000,
            })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &Channel| -> &'static [u8] {
            match v {
                Channel::InApp => &[0],
            }
        })]
    }
}
