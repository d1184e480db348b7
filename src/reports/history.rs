//! The company's histories as tables (being written): tasks with their full
//! history, the points ledger, requests, chat files, queue tickets — read
//! row by row so that a million rows stream in flat memory.

use super::{Cell, Column, Kind, Scope};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::i18n::t;
use crate::store::Db;
use crate::store::schema::{DEPARTMENTS, POINTS_LEDGER, TASKS, USERS};
use crate::store::store_err;
use jiff::tz::TimeZone;
use redb::{ReadableTable, ReadableTableMetadata};

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
pub fn may_export(who: &Caller, table: HistoryTable) -> Result<Scope, AppError> {
    match table {
        HistoryTable::Points => Scope::of(who),
        _ => Err(ErrorKind::Forbidden.into()),
    }
}

/// The table's columns in `lang`.
pub fn columns(table: HistoryTable, lang: Lang) -> Vec<Column> {
    let col = |key: &'static str, label: &str, kind: Kind| Column { key, label: t(lang, label).to_string(), kind };
    match table {
        HistoryTable::Points => vec![
            col("completed_at", "history.points.completed_at", Kind::DateTime),
            col("employee", "history.points.employee", Kind::Text),
            col("department", "history.points.department", Kind::Text),
            col("task_id", "history.points.task_id", Kind::Integer),
            col("task", "history.points.task", Kind::Text),
            col("points", "history.points.points", Kind::Integer),
        ],
        _ => Vec::new(),
    }
}

/// About how many rows the table has (for a progress bar).
pub fn count(db: &Db, _scope: &Scope, table: HistoryTable) -> Result<u64, AppError> {
    let tx = db.read()?;
    match table {
        HistoryTable::Points => Ok(tx.open_table(POINTS_LEDGER).map_err(store_err)?.len().map_err(store_err)?),
        _ => Ok(0),
    }
}

/// Calls `each` with every row of the table the scope sees, oldest first
/// (the points: by person, then by time).
pub fn rows(
    db: &Db,
    _tz: &TimeZone,
    lang: Lang,
    scope: &Scope,
    table: HistoryTable,
    each: &mut dyn FnMut(Vec<Cell>) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let tx = db.read()?;
    let users = USERS.open(&tx)?;
    let depts = DEPARTMENTS.open(&tx)?.all()?;
    let dept_name = |id: Option<u64>| -> String {
        id.and_then(|d| depts.iter().find(|(i, _)| *i == d))
            .map(|(_, d)| crate::org::service::department_name(d, lang).to_string())
            .unwrap_or_default()
    };
    match table {
        HistoryTable::Points => {
            let ledger = tx.open_table(POINTS_LEDGER).map_err(store_err)?;
            let tasks = TASKS.open(&tx)?;
            let mut person: Option<(u64, String, Option<u64>)> = None;
            for row in ledger.iter().map_err(store_err)? {
                let (k, v) = row.map_err(store_err)?;
                let ((user, at, task), points) = (k.value(), v.value());
                if person.as_ref().is_none_or(|p| p.0 != user) {
                    let a = users.get(user)?;
                    let name = a.as_ref().map(|a| if a.full_name.is_empty() { a.username.clone() } else { a.full_name.clone() });
                    person = Some((user, name.unwrap_or_else(|| format!("#{user}")), a.and_then(|a| a.department_id)));
                }
                let Some((_, name, dept)) = person.as_ref() else { continue };
                if !scope.sees(user, *dept) {
                    continue;
                }
                let title = tasks.get(task)?.map(|t| t.title).unwrap_or_default();
                each(vec![
                    Cell::Time(at),
                    Cell::Text(name.clone()),
                    Cell::Text(dept_name(*dept)),
                    Cell::Int(i64::try_from(task).unwrap_or(i64::MAX)),
                    Cell::Text(title),
                    Cell::Int(i64::from(points)),
                ])?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
