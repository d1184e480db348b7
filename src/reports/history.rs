//! The company's histories as tables: tasks with their full history, the
//! points ledger, requests, chat files, queue tickets — read row by row in
//! key order (one read transaction, nothing collected) so that a million
//! rows stream in flat memory to a CSV, an XLSX or a Google sheet.
//!
//! Who may export what ([`may_export`]): tasks and files — who sees every
//! task or every report (all of them), a manager their department's;
//! requests — who manages requests or sees every report; tickets — who
//! manages the queue or sees every report; points — everyone, over what
//! their report scope shows (an employee: their own rows).

use super::{Cell, Column, Kind, Scope};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::i18n::{t, tf};
use crate::store::Db;
use crate::store::schema::{
    BRANCHES, CLIENTS, DEPARTMENTS, FILE_REFS, FILES, POINTS_LEDGER, REQUEST_CATEGORIES, REQUESTS, SERVICES, TASK_EVENTS, TASKS,
    THREAD_MESSAGES, THREADS, TICKETS, ThreadKind, USERS,
};
use crate::store::store_err;
use jiff::tz::TimeZone;
use redb::ReadableTableMetadata;
use std::collections::HashMap;

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

    /// The table's name in `lang` (a sheet's name, the export page's line).
    pub fn title(self, lang: Lang) -> String {
        t(lang, &format!("exports.table.{}", self.key())).to_string()
    }
}

/// Whether `who` may export `table`, and over whose rows.
pub fn may_export(who: &Caller, table: HistoryTable) -> Result<Scope, AppError> {
    let all = |perm: &str| who.can(perm) || who.can("reports.view_all");
    match table {
        HistoryTable::Points => Scope::of(who),
        HistoryTable::Tasks | HistoryTable::Files if all("tasks.view_all") => Ok(Scope::All),
        HistoryTable::Tasks | HistoryTable::Files => match who.user() {
            Some(p) if p.can("reports.view_department") => {
                p.account.department_id.map(Scope::Department).ok_or_else(|| ErrorKind::Forbidden.into())
            }
            _ => Err(ErrorKind::Forbidden.into()),
        },
        HistoryTable::Requests if all("requests.manage") => Ok(Scope::All),
        HistoryTable::Tickets if all("queue.manage") => Ok(Scope::All),
        HistoryTable::Requests | HistoryTable::Tickets => Err(ErrorKind::Forbidden.into()),
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
        HistoryTable::Tasks => vec![
            col("task_id", "history.tasks.task_id", Kind::Integer),
            col("title", "history.tasks.title", Kind::Text),
            col("department", "history.tasks.department", Kind::Text),
            col("assignee", "history.tasks.assignee", Kind::Text),
            col("creator", "history.tasks.creator", Kind::Text),
            col("deadline", "history.tasks.deadline", Kind::DateTime),
            col("status", "history.tasks.status", Kind::Text),
            col("at", "history.tasks.at", Kind::DateTime),
            col("who", "history.tasks.who", Kind::Text),
            col("what", "history.tasks.what", Kind::Text),
            col("from", "history.tasks.from", Kind::Text),
            col("to", "history.tasks.to", Kind::Text),
            col("comment", "history.tasks.comment", Kind::Text),
        ],
        HistoryTable::Requests => vec![
            col("number", "history.requests.number", Kind::Text),
            col("filed_at", "history.requests.filed_at", Kind::DateTime),
            col("channel", "history.requests.channel", Kind::Text),
            col("category", "history.requests.category", Kind::Text),
            col("client", "history.requests.client", Kind::Text),
            col("status", "history.requests.status", Kind::Text),
            col("priority", "history.requests.priority", Kind::Text),
            col("assignee", "history.requests.assignee", Kind::Text),
            col("first_response_at", "history.requests.first_response_at", Kind::DateTime),
            col("resolved_at", "history.requests.resolved_at", Kind::DateTime),
            col("sla_met", "history.requests.sla_met", Kind::Text),
            col("messages", "history.requests.messages", Kind::Integer),
            col("rating", "history.requests.rating", Kind::Integer),
        ],
        HistoryTable::Files => vec![
            col("name", "history.files.name", Kind::Text),
            col("size", "history.files.size", Kind::Integer),
            col("uploaded_by", "history.files.uploaded_by", Kind::Text),
            col("uploaded_at", "history.files.uploaded_at", Kind::DateTime),
            col("task_id", "history.files.task_id", Kind::Integer),
            col("task", "history.files.task", Kind::Text),
            col("chat", "history.files.chat", Kind::Text),
        ],
        HistoryTable::Tickets => vec![
            col("number", "history.tickets.number", Kind::Text),
            col("branch", "history.tickets.branch", Kind::Text),
            col("service", "history.tickets.service", Kind::Text),
            col("status", "history.tickets.status", Kind::Text),
            col("arrived_at", "history.tickets.arrived_at", Kind::DateTime),
            col("called_at", "history.tickets.called_at", Kind::DateTime),
            col("finished_at", "history.tickets.finished_at", Kind::DateTime),
            col("wait", "history.tickets.wait", Kind::Duration),
            col("service_time", "history.tickets.service_time", Kind::Duration),
            col("window", "history.tickets.window", Kind::Integer),
            col("operator", "history.tickets.operator", Kind::Text),
        ],
    }
}

/// About how many rows the table has (for a progress bar): every row of
/// the company, before the scope and the period narrow them.
pub fn count(db: &Db, _scope: &Scope, table: HistoryTable) -> Result<u64, AppError> {
    let tx = db.read()?;
    match table {
        HistoryTable::Points => Ok(tx.open_table(POINTS_LEDGER).map_err(store_err)?.len().map_err(store_err)?),
        HistoryTable::Tasks => TASK_EVENTS.open(&tx)?.count(),
        HistoryTable::Requests => REQUESTS.open(&tx)?.count(),
        HistoryTable::Files => FILES.open(&tx)?.count(),
        HistoryTable::Tickets => TICKETS.open(&tx)?.count(),
    }
}

/// Calls `each` with every row of the table the scope sees, in the table's
/// order (tasks by task then event; the points by person, then by time;
/// requests, files and tickets by number).
pub fn rows(
    db: &Db,
    tz: &TimeZone,
    lang: Lang,
    scope: &Scope,
    table: HistoryTable,
    each: &mut dyn FnMut(Vec<Cell>) -> Result<(), AppError>,
) -> Result<(), AppError> {
    rows_in(db, tz, lang, scope, table, None, each)
}

fn id_cell(id: u64) -> Cell {
    Cell::Int(i64::try_from(id).unwrap_or(i64::MAX))
}

fn opt_time(ms: Option<i64>) -> Cell {
    ms.map(Cell::Time).unwrap_or(Cell::Empty)
}

fn text(s: impl Into<String>) -> Cell {
    let s = s.into();
    if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
}

/// The people of the company by id: name (full, else the username) and department.
fn people(tx: &crate::store::Snapshot) -> Result<HashMap<u64, (String, Option<u64>)>, AppError> {
    let mut out = HashMap::new();
    for row in USERS.open(tx)?.iter()? {
        let (k, a) = row?;
        let name = if a.full_name.is_empty() { a.username.clone() } else { a.full_name.clone() };
        out.insert(k.value(), (name, a.department_id));
    }
    Ok(out)
}

/// [`rows`] of the moments in `range` (`[start, end)` ms) only, when given:
/// a task's events, the points' completion, a request's filing, a file's
/// upload, a ticket's arrival.
#[allow(clippy::too_many_arguments)]
pub fn rows_in(
    db: &Db,
    tz: &TimeZone,
    lang: Lang,
    scope: &Scope,
    table: HistoryTable,
    range: Option<(i64, i64)>,
    each: &mut dyn FnMut(Vec<Cell>) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let inside = |ms: i64| range.is_none_or(|(a, b)| ms >= a && ms < b);
    let tx = db.read()?;
    let users = people(&tx)?;
    let name = |id: u64| -> String {
        users.get(&id).map(|u| u.0.clone()).unwrap_or_else(|| if id == 0 { String::new() } else { format!("#{id}") })
    };
    let depts: HashMap<u64, String> =
        DEPARTMENTS.open(&tx)?.all()?.into_iter().map(|(i, d)| (i, crate::org::service::department_name(&d, lang).to_string())).collect();
    let dept_name = |id: Option<u64>| -> String { id.and_then(|d| depts.get(&d)).cloned().unwrap_or_default() };
    match table {
        HistoryTable::Points => {
            let ledger = tx.open_table(POINTS_LEDGER).map_err(store_err)?;
            let tasks = TASKS.open(&tx)?;
            // One person's rows are a range of the ledger's keys.
            let rows = match scope {
                Scope::Me(me) => ledger.range((*me, i64::MIN, 0)..=(*me, i64::MAX, u64::MAX)),
                _ => ledger.range::<(u64, i64, u64)>(..),
            };
            for row in rows.map_err(store_err)? {
                let (k, v) = row.map_err(store_err)?;
                let ((user, at, task), points) = (k.value(), v.value());
                let dept = users.get(&user).and_then(|u| u.1);
                if !scope.sees(user, dept) || !inside(at) {
                    continue;
                }
                let title = tasks.get(task)?.map(|t| t.title).unwrap_or_default();
                each(vec![
                    Cell::Time(at),
                    Cell::Text(name(user)),
                    text(dept_name(dept)),
                    id_cell(task),
                    Cell::Text(title),
                    Cell::Int(i64::from(points)),
                ])?;
            }
            Ok(())
        }
        HistoryTable::Tasks => {
            let tasks = TASKS.open(&tx)?;
            let cats: HashMap<u64, String> = crate::store::schema::CATEGORIES
                .open(&tx)?
                .all()?
                .into_iter()
                .map(|(i, c)| (i, lang.pick(&c.name, &c.name_ru, &c.name_en).to_string()))
                .collect();
            // The task of the events being read, decoded once for all its events.
            let mut current: Option<(u64, Option<[Cell; 7]>)> = None;
            for row in TASK_EVENTS.open(&tx)?.iter()? {
                let (k, e) = row?;
                let (task_id, _) = k.value();
                if current.as_ref().is_none_or(|c| c.0 != task_id) {
                    let head = tasks.get(task_id)?.filter(|t| match scope {
                        Scope::All => true,
                        Scope::Department(d) => t.department_id == Some(*d),
                        Scope::Me(me) => t.assignee_id == *me || t.creator_id == *me,
                    });
                    current = Some((
                        task_id,
                        head.map(|t| {
                            [
                                id_cell(task_id),
                                Cell::Text(t.title),
                                text(dept_name(t.department_id)),
                                text(name(t.assignee_id)),
                                text(name(t.creator_id)),
                                Cell::Time(t.deadline),
                                Cell::Text(crate::tasks::status_label(lang, crate::tasks::status_code(t.status)).to_string()),
                            ]
                        }),
                    ));
                }
                let Some((_, Some(head))) = current.as_ref() else { continue };
                if !inside(e.at) {
                    continue;
                }
                let field = e.field.as_deref().unwrap_or("");
                let value = |v: &Option<String>| -> Cell {
                    let Some(v) = v.as_deref() else { return Cell::Empty };
                    if matches!(e.kind.as_str(), "created" | "status" | "approved" | "declined") {
                        return text(crate::tasks::status_label(lang, v));
                    }
                    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
                        return Cell::Text(ts.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string());
                    }
                    match field {
                        "description" => Cell::Empty,
                        "assignee_id" => v.parse::<u64>().map(|id| text(name(id))).unwrap_or_else(|_| text(v)),
                        "category_id" => v.parse::<u64>().ok().and_then(|id| cats.get(&id)).map(|c| text(c.clone())).unwrap_or(Cell::Empty),
                        _ => text(v),
                    }
                };
                let mut cells: Vec<Cell> = Vec::with_capacity(13);
                cells.extend(head.iter().cloned());
                cells.push(Cell::Time(e.at));
                cells.push(Cell::Text(if e.actor_id == 0 { t(lang, "tasks.history.system").to_string() } else { e.actor_name.clone() }));
                cells.push(Cell::Text(event_what(lang, &e.kind, field, e.to.as_deref())));
                cells.push(value(&e.from));
                cells.push(value(&e.to));
                cells.push(e.comment.clone().map(text).unwrap_or(Cell::Empty));
                each(cells)?;
            }
            Ok(())
        }
        HistoryTable::Requests => {
            let cats: HashMap<u64, String> =
                REQUEST_CATEGORIES.open(&tx)?.all()?.into_iter().map(|(i, c)| (i, c.names.get(lang).to_string())).collect();
            let clients = CLIENTS.open(&tx)?;
            let thread_messages = tx.open_table(THREAD_MESSAGES).map_err(store_err)?;
            for row in REQUESTS.open(&tx)?.iter()? {
                let (k, r) = row?;
                let id = k.value();
                if !inside(r.created_at) {
                    continue;
                }
                let client = clients.get(r.client_id)?.map(|c| c.name).unwrap_or_default();
                let messages = thread_messages.range((r.thread_id, 0)..=(r.thread_id, u64::MAX)).map_err(store_err)?.count();
                let targets = r.first_response_due.is_some() || r.resolution_due.is_some();
                let sla = if !targets {
                    Cell::Empty
                } else if r.first_response_breached || r.resolution_breached {
                    Cell::Text(t(lang, "exports.no").to_string())
                } else if crate::requests::is_final(r.status) {
                    Cell::Text(t(lang, "exports.yes").to_string())
                } else {
                    Cell::Empty
                };
                each(vec![
                    Cell::Text(crate::requests::number(id)),
                    Cell::Time(r.created_at),
                    Cell::Text(crate::requests::channel_label(lang, r.channel).to_string()),
                    text(cats.get(&r.category_id).cloned().unwrap_or_default()),
                    text(client),
                    Cell::Text(crate::requests::status_label(lang, r.status).to_string()),
                    Cell::Text(crate::requests::priority_label(lang, r.priority).to_string()),
                    r.assignee_id.map(|a| text(name(a))).unwrap_or(Cell::Empty),
                    opt_time(r.first_response_at),
                    opt_time(r.resolved_at),
                    sla,
                    Cell::Int(i64::try_from(messages).unwrap_or(i64::MAX)),
                    r.rating.map(|v| Cell::Int(i64::from(v))).unwrap_or(Cell::Empty),
                ])?;
            }
            Ok(())
        }
        HistoryTable::Files => {
            let refs = tx.open_table(FILE_REFS).map_err(store_err)?;
            let threads = THREADS.open(&tx)?;
            let tasks = TASKS.open(&tx)?;
            for row in FILES.open(&tx)?.iter()? {
                let (k, f) = row?;
                let id = k.value();
                if !inside(f.created_at) {
                    continue;
                }
                // The first thread that references it: a task's, a request's or a chat.
                let thread = match refs.range((id, 0)..=(id, u64::MAX)).map_err(store_err)?.next() {
                    Some(r) => threads.get(r.map_err(store_err)?.1.value())?,
                    None => None,
                };
                let (mut task_id, mut task_title, mut task_dept, mut chat) = (Cell::Empty, Cell::Empty, None, Cell::Empty);
                match &thread {
                    Some(th) if th.kind == ThreadKind::Task => {
                        task_id = id_cell(th.owner);
                        if let Some(task) = tasks.get(th.owner)? {
                            task_title = Cell::Text(task.title);
                            task_dept = task.department_id;
                        }
                    }
                    Some(th) => {
                        chat = text(match th.kind {
                            ThreadKind::Request => crate::requests::number(th.owner),
                            ThreadKind::Direct => format!("{} — {}", name(th.owner), name(th.other)),
                            ThreadKind::Department => dept_name(Some(th.owner)),
                            _ => th.name.clone(),
                        });
                    }
                    None => {}
                }
                let visible = match scope {
                    Scope::All => true,
                    Scope::Department(d) => task_dept == Some(*d),
                    Scope::Me(me) => f.uploader == *me,
                };
                if !visible {
                    continue;
                }
                each(vec![
                    Cell::Text(f.name),
                    Cell::Int(i64::try_from(f.size).unwrap_or(i64::MAX)),
                    text(name(f.uploader)),
                    Cell::Time(f.created_at),
                    task_id,
                    task_title,
                    chat,
                ])?;
            }
            Ok(())
        }
        HistoryTable::Tickets => {
            let branches: HashMap<u64, String> =
                BRANCHES.open(&tx)?.all()?.into_iter().map(|(i, b)| (i, crate::org::service::branch_name(&b, lang).to_string())).collect();
            let services: HashMap<u64, String> = SERVICES
                .open(&tx)?
                .all()?
                .into_iter()
                .map(|(i, s)| (i, crate::queue::service::service_name(&s, lang).to_string()))
                .collect();
            for row in TICKETS.open(&tx)?.iter()? {
                let (_, tk) = row?;
                if !inside(tk.arrived_at) {
                    continue;
                }
                let secs = |a: Option<i64>, b: Option<i64>| match (a, b) {
                    (Some(a), Some(b)) if b >= a => Cell::Secs((b - a) / 1000),
                    _ => Cell::Empty,
                };
                each(vec![
                    Cell::Text(tk.number.clone()),
                    text(branches.get(&tk.branch_id).cloned().unwrap_or_default()),
                    text(services.get(&tk.service_id).cloned().unwrap_or_default()),
                    Cell::Text(t(lang, &format!("exports.ticket_status.{}", crate::queue::tickets::status_code(tk.status))).to_string()),
                    Cell::Time(tk.arrived_at),
                    opt_time(tk.called_at),
                    opt_time(tk.finished_at),
                    secs(Some(tk.arrived_at), tk.called_at),
                    secs(tk.started_at, tk.finished_at),
                    tk.window.map(|w| Cell::Int(i64::from(w))).unwrap_or(Cell::Empty),
                    tk.operator_id.map(|o| text(name(o))).unwrap_or(Cell::Empty),
                ])?;
            }
            Ok(())
        }
    }
}

/// What an event of a task's history did, in words.
fn event_what(lang: Lang, kind: &str, field: &str, to: Option<&str>) -> String {
    let field_label = |f: &str| -> String {
        match f {
            "title" => t(lang, "tasks.field.title").to_string(),
            "description" => t(lang, "tasks.field.description").to_string(),
            "points" => t(lang, "tasks.field.points").to_string(),
            "deadline" => t(lang, "tasks.field.deadline").to_string(),
            "assignee_id" => t(lang, "tasks.field.assignee").to_string(),
            "category_id" => t(lang, "tasks.field.category").to_string(),
            other => other.to_string(),
        }
    };
    let s = match kind {
        "created" if to == Some("awaiting_approval") => t(lang, "tasks.history.created_awaiting").to_string(),
        "created" => t(lang, "tasks.history.created").to_string(),
        "status" => t(lang, "tasks.history.status").to_string(),
        "approved" => t(lang, "tasks.history.approved").to_string(),
        "declined" => t(lang, "tasks.history.declined").to_string(),
        "field" if field == "description" => t(lang, "tasks.history.description").to_string(),
        "field" => tf(lang, "tasks.history.field", &[("field", &field_label(field))]),
        "extension_requested" => t(lang, "tasks.history.extension_requested").to_string(),
        "extension_approved" => t(lang, "tasks.history.extension_approved").to_string(),
        "extension_declined" => t(lang, "tasks.history.extension_declined").to_string(),
        other => other.to_string(),
    };
    s.trim_end_matches(':').trim().to_string()
}

/// `[start, end)` ms of the local days `from..=to` (either end open when
/// left out); `None` for the whole history.
pub fn range_of(from: Option<jiff::civil::Date>, to: Option<jiff::civil::Date>, tz: &TimeZone) -> Result<Option<(i64, i64)>, AppError> {
    let midnight = |d: jiff::civil::Date, field: &'static str| -> Result<i64, AppError> {
        d.to_zoned(tz.clone()).map(|z| z.timestamp().as_millisecond()).map_err(|_| AppError::invalid(field, "validation.date"))
    };
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        return Err(AppError::invalid("to", "validation.date"));
    }
    let start = match from {
        Some(d) => midnight(d, "from")?,
        None => i64::MIN,
    };
    let end = match to {
        Some(d) => midnight(d.tomorrow().map_err(|_| AppError::invalid("to", "validation.date"))?, "to")?,
        None => i64::MAX,
    };
    Ok((from.is_some() || to.is_some()).then_some((start, end)))
}

/// What a history export is asked for.
#[derive(Debug, Clone)]
pub struct Export {
    pub table: HistoryTable,
    pub scope: Scope,
    pub lang: Lang,
    /// `[start, end)` ms, or the whole history.
    pub range: Option<(i64, i64)>,
}

/// Writes the history as CSV into `out` a line at a time; `progress` hears
/// every 1,000 rows written (and the rest at the end). Returns the rows.
pub fn write_csv<W: std::io::Write>(
    db: &Db,
    tz: &TimeZone,
    ask: &Export,
    sep: char,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AppError> {
    let cols = columns(ask.table, ask.lang);
    let mut w = super::export::CsvStream::new(out, &cols, ask.lang, tz, sep)?;
    let mut n = 0u64;
    rows_in(db, tz, ask.lang, &ask.scope, ask.table, ask.range, &mut |cells| {
        w.row(&cells)?;
        n += 1;
        if n.is_multiple_of(1000) {
            progress(1000);
        }
        Ok(())
    })?;
    w.flush()?;
    progress(n % 1000);
    Ok(n)
}

/// Writes the history as an XLSX file at `path` (its rows through temp
/// files in `tempdir`, in constant memory); `progress` as [`write_csv`].
pub fn write_xlsx(
    db: &Db,
    tz: &TimeZone,
    ask: &Export,
    tempdir: &std::path::Path,
    path: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, AppError> {
    let cols = columns(ask.table, ask.lang);
    let mut w = super::export::XlsxStream::new(tempdir, &ask.table.title(ask.lang), cols, tz)?;
    let mut n = 0u64;
    rows_in(db, tz, ask.lang, &ask.scope, ask.table, ask.range, &mut |cells| {
        w.row(&cells)?;
        n += 1;
        if n.is_multiple_of(1000) {
            progress(1000);
        }
        Ok(())
    })?;
    w.finish(path)?;
    progress(n % 1000);
    Ok(n)
}
