//! In-app notifications, with the unread index and each user's unread count.

use super::*;
use redb::{TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

/// (user id, notification id) → [`NotificationRecord`].
pub const NOTIFICATIONS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("notifications");
/// (user id, notification id) of every unread notification, written with
/// [`NOTIFICATIONS`]: the unread list and "mark all read" without the read history.
pub const NOTIFICATIONS_UNREAD: TableDefinition<(u64, u64), ()> = TableDefinition::new("notifications_unread");
/// user id → how many of their notifications are unread, kept in the same
/// transaction as [`NOTIFICATIONS`]. A file from before this table is
/// backfilled once (`notify::backfill_unread`, recorded in [`META`]).
pub const UNREAD_COUNTS: TableDefinition<u64, u64> = TableDefinition::new("notification_unread_counts");

/// Creates the tables of this domain.
pub(super) fn init(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tx.open_table(NOTIFICATIONS)?;
    tx.open_table(NOTIFICATIONS_UNREAD)?;
    tx.open_table(UNREAD_COUNTS)?;
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![record(NotificationRecord::V1(NotificationV1 {
            at: 10,
            kind: "task_assigned".into(),
            task_id: Some(4),
            args: vec![("title".into(), "Hisobot".into())],
            read: false,
        }))]
    }

    #[test]
    fn records_decode_from_their_golden_bytes() {
        for s in samples() {
            s.check();
        }
    }
}
