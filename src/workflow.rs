//! The workflow engine that tasks and client requests share: a table of
//! moves, each with the condition under which a caller may make it now
//! ([`allowed`]); the refusal of a move the table leaves out ([`refuse`]);
//! and the history line each change writes ([`record`]) and its reading
//! ([`history`], [`last`]). Each domain keeps its own statuses, moves and
//! table of rows; the engine is the one way they are applied and recorded.

use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{TaskEventRecord, TaskEventV1};
use crate::store::table::Records;
use crate::store::{Txn, next_id};
use redb::WriteTransaction;

/// A domain's history table: (owner id, event id) → a history line.
pub type Events = Records<(u64, u64), TaskEventRecord>;

/// The moves of a table of rows whose condition holds, in the table's order.
pub fn allowed<M: Copy>(rows: impl IntoIterator<Item = (M, bool)>) -> Vec<M> {
    rows.into_iter().filter(|(_, ok)| *ok).map(|(m, _)| m).collect()
}

/// Refuses a move not in `allowed`: `Ok` when it is there, else the
/// domain's own refusal.
pub fn refuse<M: PartialEq>(allowed: &[M], m: M, refusal: impl FnOnce() -> AppError) -> Result<(), AppError> {
    if allowed.contains(&m) { Ok(()) } else { Err(refusal()) }
}

/// A move from one status to another that the table does not allow: 409
/// with both statuses' codes.
pub fn transition(message: &'static str, from: &str, to: &str) -> AppError {
    AppError::new(ErrorKind::Conflict).with_message(message).with_arg("from", from).with_arg("to", to)
}

/// Who made a change, as history keeps it: a staff member (their id and
/// name then), the system (0), or a client (0 and the client's name).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: u64,
    pub name: String,
}

impl Actor {
    pub fn of(who: &Caller) -> Actor {
        Actor { id: who.id(), name: who.name() }
    }
}

/// One line of history.
#[derive(Debug, Default)]
pub struct Line {
    pub kind: &'static str,
    pub field: Option<&'static str>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub comment: Option<String>,
}

impl Line {
    pub fn new(kind: &'static str) -> Line {
        Line { kind, ..Line::default() }
    }

    /// A status change, by the statuses' codes.
    pub fn status(from: &str, to: &str, comment: Option<String>) -> Line {
        Line { kind: "status", from: Some(from.into()), to: Some(to.into()), comment, ..Line::default() }
    }

    /// A field changed from one value to another.
    pub fn field(field: &'static str, from: Option<String>, to: Option<String>) -> Line {
        Line { kind: "field", field: Some(field), from, to, ..Line::default() }
    }

    pub fn comment(mut self, c: Option<String>) -> Line {
        self.comment = c;
        self
    }
}

/// Writes one line of `owner`'s history in `table`, its id from the `seq` sequence.
pub fn record(tx: &WriteTransaction, table: Events, seq: &str, now: i64, actor: &Actor, owner: u64, line: Line) -> Result<(), AppError> {
    let id = next_id(tx, seq)?;
    let ev = TaskEventV1 {
        at: now,
        actor_id: actor.id,
        actor_name: actor.name.clone(),
        kind: line.kind.to_string(),
        field: line.field.map(str::to_string),
        from: line.from,
        to: line.to,
        comment: line.comment,
    };
    table.open(tx)?.insert((owner, id), &ev)?;
    Ok(())
}

/// `owner`'s history, oldest first.
pub fn history<T: Txn>(tx: &T, table: Events, owner: u64) -> Result<Vec<TaskEventV1>, AppError> {
    let t = table.open(tx)?;
    let mut out = Vec::new();
    for row in t.range((owner, 0)..=(owner, u64::MAX))? {
        out.push(row?.1);
    }
    Ok(out)
}

/// `owner`'s newest history line.
pub fn last<T: Txn>(tx: &T, table: Events, owner: u64) -> Result<Option<TaskEventV1>, AppError> {
    let t = table.open(tx)?;
    Ok(t.range((owner, 0)..=(owner, u64::MAX))?.next_back().transpose()?.map(|(_, e)| e))
}
