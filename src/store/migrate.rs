//! Schema versions and the migration runner.
//!
//! Every file records the [`SCHEMA_VERSION`] of its layout in its `meta`
//! table. On open: the same version opens as it is; an older file is brought
//! up to date by the registered steps, in order, inside ONE write transaction
//! that also records the new version (a crash half-way leaves the old file
//! untouched); a newer file (written by a later Idora) is refused with an
//! error that names the file and both versions, because this build would
//! not keep the indexes it does not know about.
//!
//! A step may backfill a new index from its rows. Steps are never edited
//! once released: a fix is a new step and a new version.

use super::at;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{self, SCHEMA_VERSION, TicketStatus, VERSION_KEY};
use redb::{Database, ReadableTable, WriteTransaction};
use std::path::Path;

/// One upgrade: run on a file whose version is `to - 1`.
pub struct Step {
    pub to: u8,
    /// What it does, for the log.
    pub what: &'static str,
    pub run: fn(&WriteTransaction) -> Result<(), AppError>,
}

/// The kind of a database file: its tables and its upgrade steps.
pub struct Layout {
    pub name: &'static str,
    /// Creates every table, so that a read transaction never meets a missing
    /// one. Runs on every open (creating only what is missing).
    pub init: fn(&WriteTransaction) -> Result<(), redb::Error>,
    pub steps: &'static [Step],
}

/// `platform.redb`.
pub static PLATFORM: Layout = Layout { name: "platform", init: schema::init_platform, steps: &[] };

/// A company's `data.redb`.
pub static TENANT: Layout = Layout {
    name: "company",
    init: schema::init_tenant,
    steps: &[
        Step { to: 2, what: "fill queue_tickets_waiting from the tickets", run: backfill_waiting },
        Step { to: 3, what: "fill tasks_late and tasks_done from the tasks", run: backfill_late_and_done },
    ],
};

/// The version a file records; `None` for a new, empty file.
pub fn version_of(tx: &WriteTransaction) -> Result<Option<u8>, redb::Error> {
    let meta = tx.open_table(schema::META)?;
    let v = meta.get(VERSION_KEY)?.and_then(|v| v.value().first().copied());
    Ok(v)
}

/// Opens `db` for this build: records the version of a new file, upgrades an
/// older one, refuses a newer one.
pub fn bring_up_to_date(db: &Database, path: &Path, layout: &Layout) -> Result<(), AppError> {
    let tx = db.begin_write().map_err(|e| at(path, e))?;
    let found = version_of(&tx).map_err(|e| at(path, e))?;
    if let Some(v) = found
        && v > SCHEMA_VERSION
    {
        let _ = tx.abort();
        return Err(AppError::new(ErrorKind::Unavailable)
            .with_message(super::STORE_MESSAGE)
            .with_arg("detail", format!("the file has schema version {v}, newer than this Idora's {SCHEMA_VERSION}"))
            .with_detail(format!(
            "{} has schema version {v}, newer than this Idora's {SCHEMA_VERSION}: refusing to open it (run the newer Idora, or restore a backup)",
            path.display()
        )));
    }
    (layout.init)(&tx).map_err(|e| at(path, e))?;
    if let Some(from) = found.filter(|v| *v < SCHEMA_VERSION) {
        run_steps(&tx, layout, from, SCHEMA_VERSION).map_err(|e| {
            AppError::new(ErrorKind::Unavailable).with_detail(format!(
                "{}: upgrading the {} database from version {from} failed: {e}",
                path.display(),
                layout.name
            ))
        })?;
        tracing::info!(file = %path.display(), from, to = SCHEMA_VERSION, "database upgraded");
    }
    if found != Some(SCHEMA_VERSION) {
        let mut meta = tx.open_table(schema::META).map_err(|e| at(path, e))?;
        meta.insert(VERSION_KEY, [SCHEMA_VERSION].as_slice()).map_err(|e| at(path, e))?;
    }
    tx.commit().map_err(|e| at(path, e))?;
    Ok(())
}

/// Runs the steps that take a file from `from` to `to`, in order.
pub fn run_steps(tx: &WriteTransaction, layout: &Layout, from: u8, to: u8) -> Result<(), AppError> {
    for v in from.saturating_add(1)..=to {
        for step in layout.steps.iter().filter(|s| s.to == v) {
            tracing::info!(layout = layout.name, to = v, step = step.what, "migration step");
            (step.run)(tx)?;
        }
    }
    Ok(())
}

/// 1 → 2: the index of waiting tickets arrived after tickets did; a file
/// from before it has waiting tickets the operators' "call next" cannot
/// see. Rebuilt from the rows (cleared first, so running it twice is the
/// same as once).
fn backfill_waiting(tx: &WriteTransaction) -> Result<(), AppError> {
    let mut waiting = tx.open_table(schema::TICKETS_WAITING).map_err(super::store_err)?;
    waiting.retain(|_, _| false).map_err(super::store_err)?;
    let tickets = schema::TICKETS.open(tx)?;
    for row in tickets.iter()? {
        let (k, t) = row?;
        if t.status == TicketStatus::Waiting {
            waiting.insert((t.branch_id, t.day, t.service_id, k.value()), ()).map_err(super::store_err)?;
        }
    }
    Ok(())
}

/// 2 → 3: the indexes of late and of completed tasks arrived after tasks
/// did. Rebuilt from the rows (cleared first: running it twice is once).
fn backfill_late_and_done(tx: &WriteTransaction) -> Result<(), AppError> {
    let mut late = tx.open_table(schema::TASKS_LATE).map_err(super::store_err)?;
    let mut done = tx.open_table(schema::TASKS_DONE).map_err(super::store_err)?;
    late.retain(|_, _| false).map_err(super::store_err)?;
    done.retain(|_, _| false).map_err(super::store_err)?;
    let tasks = schema::TASKS.open(tx)?;
    for row in tasks.iter()? {
        let (k, t) = row?;
        let id = k.value();
        if let Some(at) = crate::tasks::service::done_at(&t) {
            done.insert((at, id), ()).map_err(super::store_err)?;
        }
        if crate::tasks::service::is_late(&t) {
            late.insert((t.deadline, id), ()).map_err(super::store_err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{TicketPriority, TicketSource, TicketV1};
    use crate::store::{Db, DbOptions};

    fn ticket(id: u64, service_id: u64, status: TicketStatus) -> TicketV1 {
        TicketV1 {
            branch_id: 1,
            service_id,
            source: TicketSource::Kiosk,
            number: format!("K-{id:03}"),
            day: 20261201,
            priority: TicketPriority::Normal,
            status,
            name: None,
            phone: None,
            token: format!("token-{id}"),
            created_at: 1,
            arrived_at: 1,
            called_at: None,
            started_at: None,
            finished_at: None,
            operator_id: None,
            window: None,
            recalls: 0,
            quoted_wait: (0, 0),
            booking: None,
            transferred_from: None,
        }
    }

    fn set_version(path: &Path, v: u8) {
        let db = Database::open(path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(schema::META).unwrap().insert(VERSION_KEY, [v].as_slice()).unwrap();
        tx.commit().unwrap();
    }

    /// A company file from before the waiting index (version 1, tickets
    /// waiting, the index empty) is upgraded on open: the index lists exactly
    /// the waiting tickets, the file records the new version, and the deep
    /// check finds nothing wrong.
    #[tokio::test]
    async fn an_older_company_file_is_upgraded_and_its_index_backfilled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.redb");
        let db = Db::create(&path, &TENANT, DbOptions::default()).unwrap();
        db.write(|tx| {
            let mut t = schema::TICKETS.open(tx)?;
            for (id, service, status) in
                [(1, 7, TicketStatus::Waiting), (2, 7, TicketStatus::Done), (3, 8, TicketStatus::Waiting), (4, 7, TicketStatus::Called)]
            {
                let t1 = ticket(id, service, status);
                t.insert(id, &t1)?;
                let mut day = tx.open_table(schema::TICKETS_BY_BRANCH_DAY).map_err(crate::store::store_err)?;
                day.insert((1, t1.day, id), ()).map_err(crate::store::store_err)?;
                let mut tok = tx.open_table(schema::TICKETS_BY_TOKEN).map_err(crate::store::store_err)?;
                tok.insert(t1.token.as_str(), id).map_err(crate::store::store_err)?;
                if !crate::queue::tickets::is_final(status) {
                    let mut open = tx.open_table(schema::TICKETS_OPEN).map_err(crate::store::store_err)?;
                    open.insert((1, t1.day, id), ()).map_err(crate::store::store_err)?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
        let found = crate::store::check::verify_tenant(&db).unwrap();
        assert_eq!(found.len(), 2, "the waiting index lacks both waiting tickets: {found:?}");
        assert!(found.iter().all(|m| m.index == "queue_tickets_waiting" && m.problem == crate::store::check::Problem::Missing));
        drop(db);
        set_version(&path, 1);

        let db = Db::open(&path, &TENANT, DbOptions::default()).unwrap();
        let tx = db.read().unwrap();
        let waiting: Vec<_> = tx.open_table(schema::TICKETS_WAITING).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect();
        assert_eq!(waiting, vec![(1, 20261201, 7, 1), (1, 20261201, 8, 3)]);
        let meta = tx.open_table(schema::META).unwrap();
        assert_eq!(meta.get(VERSION_KEY).unwrap().unwrap().value(), [SCHEMA_VERSION].as_slice());
        assert_eq!(crate::store::check::verify_tenant(&db).unwrap(), vec![]);
    }

    /// A company file from before the late and completed task indexes
    /// (version 2) is upgraded on open: they list exactly the late and the
    /// completed tasks, and the deep check finds nothing wrong.
    #[tokio::test]
    async fn a_version_2_file_gets_its_late_and_completed_task_indexes() {
        use crate::store::schema::{TaskStatus, TaskV1};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.redb");
        let db = Db::create(&path, &TENANT, DbOptions::default()).unwrap();
        let sample = TaskV1 {
            title: "Hisobot".into(),
            description: String::new(),
            creator_id: 2,
            assignee_id: 5,
            department_id: Some(1),
            category_id: None,
            points: 10,
            start_at: None,
            deadline: 0,
            status: TaskStatus::New,
            created_at: 1,
            updated_at: 1,
            spent_ms: 0,
            working_since: None,
            redo_count: 0,
            overdue_at: None,
            completed_at: None,
            points_awarded: 0,
            deadline_request: None,
        };
        db.write(move |tx| {
            let mut tasks = schema::TASKS.open(tx)?;
            for (id, status, completed_at) in
                [(1, TaskStatus::Overdue, None), (2, TaskStatus::Completed, Some(50)), (3, TaskStatus::InProgress, None)]
            {
                let t = TaskV1 { status, completed_at, deadline: 100 + id as i64, ..sample.clone() };
                tasks.insert(id, &t)?;
                let key = |k: u64| (k, id);
                tx.open_table(schema::TASKS_BY_ASSIGNEE)
                    .map_err(crate::store::store_err)?
                    .insert(key(t.assignee_id), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_CREATOR)
                    .map_err(crate::store::store_err)?
                    .insert(key(t.creator_id), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_DEPARTMENT)
                    .map_err(crate::store::store_err)?
                    .insert(key(1), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_DEADLINE)
                    .map_err(crate::store::store_err)?
                    .insert((t.deadline, id), ())
                    .map_err(crate::store::store_err)?;
                if status == TaskStatus::InProgress {
                    tx.open_table(schema::TASKS_DUE)
                        .map_err(crate::store::store_err)?
                        .insert((t.deadline, id), ())
                        .map_err(crate::store::store_err)?;
                }
            }
            Ok(())
        })
        .await
        .unwrap();
        let found = crate::store::check::verify_tenant(&db).unwrap();
        assert_eq!(found.len(), 2, "both new indexes lack their task: {found:?}");
        drop(db);
        set_version(&path, 2);

        let db = Db::open(&path, &TENANT, DbOptions::default()).unwrap();
        let tx = db.read().unwrap();
        let keys = |def| -> Vec<(i64, u64)> { tx.open_table(def).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect() };
        assert_eq!(keys(schema::TASKS_LATE), vec![(101, 1)]);
        assert_eq!(keys(schema::TASKS_DONE), vec![(50, 2)]);
        assert_eq!(crate::store::check::verify_tenant(&db).unwrap(), vec![]);
    }

    #[test]
    fn a_newer_file_is_refused_naming_the_file_and_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.redb");
        drop(Db::create(&path, &TENANT, DbOptions::default()).unwrap());
        set_version(&path, SCHEMA_VERSION + 1);
        let e = Db::open(&path, &TENANT, DbOptions::default()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        let said = e.to_string();
        assert!(said.contains(&path.display().to_string()), "{said}");
        assert!(said.contains(&format!("version {}", SCHEMA_VERSION + 1)) && said.contains(&format!("Idora's {SCHEMA_VERSION}")), "{said}");
        // Refused means untouched: still the newer version.
        let db = Database::open(&path).unwrap();
        assert_eq!(version_of(&db.begin_write().unwrap()).unwrap(), Some(SCHEMA_VERSION + 1));
    }

    #[test]
    fn a_new_file_records_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.redb");
        drop(Db::create(&path, &PLATFORM, DbOptions::default()).unwrap());
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        assert_eq!(version_of(&tx).unwrap(), Some(SCHEMA_VERSION));
    }
}
