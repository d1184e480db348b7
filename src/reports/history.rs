//! The company's histories as tables (being written): tasks with their full
//! history, the points ledger, requests, chat files, queue tickets — read
//! row by row so that a million rows stream in flat memory.

use super::{Cell, Column, Scope};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::Db;
use jiff::tz::TimeZone;

/// The histories one can export or sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryTable {
    Tasks,
    Points,
    Requests,
    Files,
    Tickets,
}

impl HistoryTable {
    pub const ALL: [HistoryTable; 5] =
        [HistoryTable::Tasks, HistoryTable::Points, HistoryTable::Requests, HistoryTable::Files, HistoryTable::Tickets];

    /// `tasks`, `points`, `requests`, `files`, `tickets`: the API's and the sheet's name.
    pub fn key(self) -> &'static str {
        match self {
            HistoryTable::Tasks => "tasks",
            HistoryTable::Points => "points",
            HistoryTable::Requests => "requests",
            HistoryTable::Files => "files",
            HistoryTable::Tickets => "tickets",
        }
    }

    pub fn parse(s: &str) -> Option<HistoryTable> {
        HistoryTable::ALL.into_iter().find(|t| t.key() == s)
    }
}

/// Whether `who` may export `table`, and over whose rows.
pub fn may_export(_who: &Caller, _table: HistoryTable) -> Result<Scope, AppError> {
    Err(ErrorKind::Forbidden.into())
}

/// The table's columns in `lang`.
pub fn columns(_table: HistoryTable, _lang: Lang) -> Vec<Column> {
    Vec::new()
}

/// About how many rows the table has (for a progress bar).
pub fn count(_db: &Db, _scope: &Scope, _table: HistoryTable) -> Result<u64, AppError> {
    Ok(0)
}

/// Calls `each` with every row of the table the scope sees, oldest first.
pub fn rows(
    _db: &Db,
    _tz: &TimeZone,
    _lang: Lang,
    _scope: &Scope,
    _table: HistoryTable,
    _each: &mut dyn FnMut(Vec<Cell>) -> Result<(), AppError>,
) -> Result<(), AppError> {
    Ok(())
}
