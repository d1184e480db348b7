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
use crate::store::schema::{self, SCHEMA_VERSION, TaskStatus, TicketStatus, VERSION_KEY};
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
        Step { to: 3, what: "put back tasks the overdue job took from review or approval", run: undo_wrong_overdue },
        Step {
            to: 3,
            what: "fill tasks_by_status, task_points and their totals, rebuild tasks_due, from the tasks",
            run: backfill_task_status,
        },
        Step { to: 4, what: "fill tasks_late and tasks_done from the tasks", run: backfill_late_and_done },
        Step { to: 6, what: "drop tasks_late and tasks_done (tasks_by_status and task_points serve them)", run: drop_late_and_done },
    ],
};

/// The `meta` key of the release (`CARGO_PKG_VERSION`) of the Idora that
/// last brought the file up to date, so that a file too new for this build
/// is refused naming the release to run.
pub const RELEASE_KEY: &str = "idora_version";

/// This build's release.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// The version a file records; `None` for a new, empty file.
pub fn version_of(tx: &WriteTransaction) -> Result<Option<u8>, redb::Error> {
    let meta = tx.open_table(schema::META)?;
    let v = meta.get(VERSION_KEY)?.and_then(|v| v.value().first().copied());
    Ok(v)
}

/// The release a file records as its writer; `None` before releases were recorded.
pub fn release_of(tx: &WriteTransaction) -> Result<Option<String>, redb::Error> {
    let meta = tx.open_table(schema::META)?;
    let v = meta.get(RELEASE_KEY)?.map(|v| String::from_utf8_lossy(v.value()).into_owned());
    Ok(v)
}

/// Opens `db` for this build: records the version of a new file, upgrades an
/// older one (after a copy of it is kept, see [`backup_before_upgrade`]),
/// refuses a newer one naming the release that wrote it. `keep_copy`: false
/// for a file opened read-only (`idora check`), whose upgrade is never written.
pub fn bring_up_to_date(db: &Database, path: &Path, layout: &Layout, keep_copy: bool) -> Result<(), AppError> {
    let tx = db.begin_write().map_err(|e| at(path, e))?;
    let found = version_of(&tx).map_err(|e| at(path, e))?;
    let release = release_of(&tx).map_err(|e| at(path, e))?;
    if let Some(v) = found
        && v > SCHEMA_VERSION
    {
        let _ = tx.abort();
        let writer = match &release {
            Some(r) => format!("Idora {r}, schema {v}"),
            None => format!("a newer Idora, schema {v}"),
        };
        let why = format!("written by {writer}; this is Idora {RELEASE}, schema {SCHEMA_VERSION}: run the newer Idora or restore a backup");
        return Err(AppError::new(ErrorKind::Unavailable)
            .with_message(super::STORE_MESSAGE)
            .with_arg("detail", format!("the file was {why}"))
            .with_detail(format!("{} was {why} (refusing to open it)", path.display())));
    }
    if let Some(from) = found.filter(|v| *v < SCHEMA_VERSION)
        && keep_copy
    {
        // The copy is taken before anything is written: the transaction
        // has only read, and is begun again after it.
        let _ = tx.abort();
        let kept = backup_before_upgrade(path, layout, from, release.as_deref())?;
        tracing::warn!(file = %path.display(), from, to = SCHEMA_VERSION, backup = %kept.display(), "upgrading the database; a copy of it as it was is kept");
        let tx = db.begin_write().map_err(|e| at(path, e))?;
        return finish_up_to_date(tx, path, layout, found, release);
    }
    finish_up_to_date(tx, path, layout, found, release)
}

fn finish_up_to_date(
    tx: WriteTransaction,
    path: &Path,
    layout: &Layout,
    found: Option<u8>,
    release: Option<String>,
) -> Result<(), AppError> {
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
    if found != Some(SCHEMA_VERSION) || release.as_deref() != Some(RELEASE) {
        let mut meta = tx.open_table(schema::META).map_err(|e| at(path, e))?;
        meta.insert(VERSION_KEY, [SCHEMA_VERSION].as_slice()).map_err(|e| at(path, e))?;
        meta.insert(RELEASE_KEY, RELEASE.as_bytes()).map_err(|e| at(path, e))?;
    }
    tx.commit().map_err(|e| at(path, e))?;
    Ok(())
}

/// The data folder of a database file: `<data>/platform.redb`, or
/// `<data>/tenants/<slug>/data.redb` (any other file: its own folder).
fn data_dir_of(path: &Path) -> &Path {
    let parent = path.parent().unwrap_or(Path::new("."));
    match parent.parent() {
        Some(tenants) if tenants.file_name().is_some_and(|n| n == "tenants") => tenants.parent().unwrap_or(parent),
        _ => parent,
    }
}

/// Keeps a copy of a file about to be upgraded from schema `from`, in
/// `<data>/backups/before-upgrade/<name>-v<from>-<time>.redb` (`<name>`:
/// `platform`, or `company-<slug>`), and returns where. Nobody else has the
/// file open (redb locks it) and this process has only read it, so a plain
/// copy is the file at its last commit. Without the copy there is no
/// upgrade: the file stays as it was and the open fails.
pub fn backup_before_upgrade(path: &Path, layout: &Layout, from: u8, release: Option<&str>) -> Result<std::path::PathBuf, AppError> {
    let dir = data_dir_of(path).join("backups").join("before-upgrade");
    let name = match path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()) {
        Some(slug) if layout.name == "company" => format!("company-{slug}"),
        _ => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| layout.name.to_string()),
    };
    let time = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let release = release.map(|r| format!("-{r}")).unwrap_or_default();
    let dest = dir.join(format!("{name}-v{from}{release}-{time}.redb"));
    let fail = |what: &str, e: std::io::Error| {
        AppError::new(ErrorKind::Unavailable)
            .with_message(super::STORE_MESSAGE)
            .with_arg("detail", format!("the copy kept before upgrading it could not be made ({e})"))
            .with_detail(format!("{}: not upgraded: {what} {}: {e}", path.display(), dest.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("create", e))?;
    let mut part = dest.clone().into_os_string();
    part.push(".part");
    let part = std::path::PathBuf::from(part);
    std::fs::copy(path, &part).map_err(|e| fail("copy to", e))?;
    std::fs::File::open(&part).and_then(|f| f.sync_all()).map_err(|e| fail("sync", e))?;
    std::fs::rename(&part, &dest).map_err(|e| fail("rename to", e))?;
    let _ = std::fs::File::open(&dir).and_then(|d| d.sync_all());
    Ok(dest)
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

/// 2 → 3, first: before version 3 the overdue job also marked tasks handed
/// in for review, or awaiting approval, as overdue; they fell out of the
/// reviewer's (the director's) inbox and had to be handed in again. A task
/// still overdue whose last history line is that very mark goes back to
/// where it was, with a history line saying so (at the mark's time: the
/// migration has no clock), and its `overdue_at` kept as the record of it.
fn undo_wrong_overdue(tx: &WriteTransaction) -> Result<(), AppError> {
    use crate::tasks::{parse_status, status_code};
    let waits = [TaskStatus::PendingReview, TaskStatus::AwaitingApproval];
    let mut back = Vec::new();
    {
        let tasks = schema::TASKS.open(tx)?;
        let events = schema::TASK_EVENTS.open(tx)?;
        for row in tasks.iter()? {
            let (k, t) = row?;
            let id = k.value();
            if t.status != TaskStatus::Overdue {
                continue;
            }
            let last = events.range((id, 0)..=(id, u64::MAX))?.next_back().transpose()?.map(|(_, e)| e);
            if let Some(e) = last
                && e.kind == "status"
                && e.actor_id == 0
                && e.to.as_deref() == Some(status_code(TaskStatus::Overdue))
                && let Some(from) = e.from.as_deref().and_then(parse_status).filter(|s| waits.contains(s))
            {
                back.push((id, t, from, e));
            }
        }
    }
    for (id, mut t, from, mark) in back {
        t.status = from;
        schema::TASKS.open(tx)?.insert(id, &t)?;
        let line = schema::TaskEventV1 { from: Some(status_code(TaskStatus::Overdue).into()), to: Some(status_code(from).into()), ..mark };
        let ev = super::next_id(tx, "task_event")?;
        schema::TASK_EVENTS.open(tx)?.insert((id, ev), &line)?;
        super::next_id(tx, crate::search::TASK_REV)?;
    }
    Ok(())
}

/// 2 → 3, then: the inboxes read tasks by status and the users list reads
/// points from a ledger; a file from before them has tasks neither lists.
/// And `tasks_due` now holds only tasks on the assignee's clock
/// ([`crate::tasks::on_the_clock`]). All three are rebuilt from the rows
/// (cleared first, so running it twice is the same as once).
fn backfill_task_status(tx: &WriteTransaction) -> Result<(), AppError> {
    let mut due = tx.open_table(schema::TASKS_DUE).map_err(super::store_err)?;
    due.retain(|_, _| false).map_err(super::store_err)?;
    let mut by_status = tx.open_table(schema::TASKS_BY_STATUS).map_err(super::store_err)?;
    by_status.retain(|_, _| false).map_err(super::store_err)?;
    let mut ledger = tx.open_table(schema::POINTS_LEDGER).map_err(super::store_err)?;
    ledger.retain(|_, _| false).map_err(super::store_err)?;
    let mut totals = tx.open_table(schema::POINTS_TOTAL).map_err(super::store_err)?;
    totals.retain(|_, _| false).map_err(super::store_err)?;
    let mut sums = std::collections::BTreeMap::<u64, u64>::new();
    for row in schema::TASKS.open(tx)?.iter()? {
        let (k, t) = row?;
        let id = k.value();
        by_status.insert((schema::status_byte(t.status), id), ()).map_err(super::store_err)?;
        if crate::tasks::on_the_clock(t.status) {
            due.insert((t.deadline, id), ()).map_err(super::store_err)?;
        }
        if let Some((key, n)) = schema::ledger_entry(id, &t) {
            ledger.insert(key, n).map_err(super::store_err)?;
            *sums.entry(key.0).or_default() += u64::from(n);
        }
    }
    for (user, sum) in sums {
        totals.insert(user, sum).map_err(super::store_err)?;
    }
    Ok(())
}

/// 3 → 4: the indexes of late and of completed tasks arrived after tasks
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

/// 5 → 6: the late tasks are the `Overdue` keys of `tasks_by_status`, and
/// a month's points per person a range of the `task_points` ledger; the two
/// copies the dashboards had are dropped, and no write keeps them now.
fn drop_late_and_done(tx: &WriteTransaction) -> Result<(), AppError> {
    tx.delete_table(schema::TASKS_LATE).map_err(super::store_err)?;
    tx.delete_table(schema::TASKS_DONE).map_err(super::store_err)?;
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

    fn task(status: schema::TaskStatus, points: u32, completed_at: Option<i64>) -> schema::TaskV1 {
        schema::TaskV1 {
            title: "T".into(),
            description: String::new(),
            creator_id: 2,
            assignee_id: 5,
            department_id: Some(1),
            category_id: None,
            points,
            start_at: None,
            deadline: 1_000,
            status,
            created_at: 1,
            updated_at: 2,
            spent_ms: 0,
            working_since: None,
            redo_count: 0,
            overdue_at: None,
            completed_at,
            points_awarded: if completed_at.is_some() { points } else { 0 },
            deadline_request: None,
        }
    }

    /// A company file from before the status index and the points ledger
    /// (version 2: tasks and their older indexes, the new tables empty) is
    /// upgraded on open: every task is under its status, every completed
    /// task's points are in the ledger, and the deep check is clean.
    #[tokio::test]
    async fn a_version_2_file_gets_the_status_index_and_the_points_ledger() {
        use schema::TaskStatus::*;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.redb");
        let db = Db::create(&path, &TENANT, DbOptions::default()).unwrap();
        db.write(|tx| {
            let rows = [
                (1, task(PendingReview, 3, None)),
                (2, task(Completed, 7, Some(500))),
                (3, task(AwaitingApproval, 1, None)),
                (4, task(Completed, 0, Some(600))),
                (5, task(Overdue, 2, None)),
            ];
            for (id, t) in rows {
                schema::TASKS.open(tx)?.insert(id, &t)?;
                tx.open_table(schema::TASKS_BY_ASSIGNEE)
                    .map_err(crate::store::store_err)?
                    .insert((t.assignee_id, id), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_CREATOR)
                    .map_err(crate::store::store_err)?
                    .insert((t.creator_id, id), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_DEPARTMENT)
                    .map_err(crate::store::store_err)?
                    .insert((1, id), ())
                    .map_err(crate::store::store_err)?;
                tx.open_table(schema::TASKS_BY_DEADLINE)
                    .map_err(crate::store::store_err)?
                    .insert((t.deadline, id), ())
                    .map_err(crate::store::store_err)?;
                // Version 2's due index: every open task not yet late.
                if !crate::tasks::is_final(t.status) && t.status != Overdue {
                    tx.open_table(schema::TASKS_DUE)
                        .map_err(crate::store::store_err)?
                        .insert((t.deadline, id), ())
                        .map_err(crate::store::store_err)?;
                }
            }
            // Task 5 was handed in, then marked late by the overdue job.
            let line = |at, from: &str, to: &str, actor_id| schema::TaskEventV1 {
                at,
                actor_id,
                actor_name: if actor_id == 0 { "system".into() } else { "Dilnoza".into() },
                kind: "status".into(),
                field: None,
                from: Some(from.into()),
                to: Some(to.into()),
                comment: None,
            };
            let mut ev = schema::TASK_EVENTS.open(tx)?;
            ev.insert((5, 1), &line(900, "in_progress", "pending_review", 5))?;
            ev.insert((5, 2), &line(1_060, "pending_review", "overdue", 0))?;
            tx.open_table(schema::SEQ).map_err(crate::store::store_err)?.insert("task_event", 2).map_err(crate::store::store_err)?;
            Ok(())
        })
        .await
        .unwrap();
        let found = crate::store::check::verify_tenant(&db).unwrap();
        // (The dashboards' late and done indexes, version 4, lack three more.)
        let found: Vec<_> = found.into_iter().filter(|m| !matches!(m.index.as_str(), "tasks_late" | "tasks_done")).collect();
        assert_eq!(found.len(), 9, "five tasks lack their status, one its points and its total, two waits are due: {found:?}");
        drop(db);
        set_version(&path, 2);

        let db = Db::open(&path, &TENANT, DbOptions::default()).unwrap();
        let tx = db.read().unwrap();
        let by_status: Vec<_> = tx.open_table(schema::TASKS_BY_STATUS).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect();
        assert_eq!(by_status, vec![(0, 3), (3, 1), (3, 5), (5, 2), (5, 4)], "task 5 is back in review");
        let due: Vec<_> = tx.open_table(schema::TASKS_DUE).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect();
        assert_eq!(due, vec![], "nothing waiting for review or approval is on the clock");
        let history: Vec<_> = schema::TASK_EVENTS.open(&tx).unwrap().all().unwrap().into_iter().map(|(_, e)| (e.from, e.to)).collect();
        assert_eq!(history.len(), 3, "{history:?}");
        assert_eq!(history.last().unwrap(), &(Some("overdue".into()), Some("pending_review".into())), "{history:?}");
        let ledger: Vec<_> = tx
            .open_table(schema::POINTS_LEDGER)
            .unwrap()
            .iter()
            .unwrap()
            .map(|r| r.map(|(k, v)| (k.value(), v.value())).unwrap())
            .collect();
        assert_eq!(ledger, vec![((5, 500, 2), 7)]);
        let totals: Vec<_> =
            tx.open_table(schema::POINTS_TOTAL).unwrap().iter().unwrap().map(|r| r.map(|(k, v)| (k.value(), v.value())).unwrap()).collect();
        assert_eq!(totals, vec![(5, 7)]);
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
        assert!(said.contains(&format!("written by Idora {RELEASE}, schema {}", SCHEMA_VERSION + 1)), "{said}");
        assert!(said.contains(&format!("this is Idora {RELEASE}, schema {SCHEMA_VERSION}")), "{said}");
        // Refused means untouched: still the newer version.
        let db = Database::open(&path).unwrap();
        assert_eq!(version_of(&db.begin_write().unwrap()).unwrap(), Some(SCHEMA_VERSION + 1));
    }

    /// Before an older file is upgraded, a copy of it as it was is kept
    /// under `backups/before-upgrade/`; the copy still has the old version
    /// (it opens, and this build would upgrade it again).
    #[test]
    fn an_older_file_is_copied_before_it_is_upgraded() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("tenants").join("acme");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.redb");
        drop(Db::create(&path, &TENANT, DbOptions::default()).unwrap());
        set_version(&path, 4);
        drop(Db::open(&path, &TENANT, DbOptions::default()).unwrap());
        let kept: Vec<_> = std::fs::read_dir(data.path().join("backups/before-upgrade")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        let name = kept[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with(&format!("company-acme-v4-{RELEASE}-")) && name.ends_with(".redb"), "{name}");
        let copy = Database::open(&kept[0]).unwrap();
        assert_eq!(version_of(&copy.begin_write().unwrap()).unwrap(), Some(4), "the copy is the file as it was");
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        assert_eq!(version_of(&tx).unwrap(), Some(SCHEMA_VERSION));
        assert_eq!(release_of(&tx).unwrap().as_deref(), Some(RELEASE));
        drop(tx);
        drop(db);
        // Up to date: opened again, no second copy.
        drop(Db::open(&path, &TENANT, DbOptions::default()).unwrap());
        assert_eq!(std::fs::read_dir(data.path().join("backups/before-upgrade")).unwrap().count(), 1);
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

    /// A company file from before the late and completed task indexes
    /// (version 3) is upgraded on open: they list exactly the late and the
    /// completed tasks, and the deep check finds nothing wrong.
    #[tokio::test]
    async fn an_older_file_gets_its_late_and_completed_task_indexes() {
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
        assert!(found.len() >= 2, "the new indexes lack their tasks: {found:?}");
        drop(db);
        set_version(&path, 2);

        let db = Db::open(&path, &TENANT, DbOptions::default()).unwrap();
        let tx = db.read().unwrap();
        // Version 4 filled them, version 6 dropped them again: their sets
        // are the status index's and the ledger's.
        for def in [schema::TASKS_LATE, schema::TASKS_DONE] {
            assert!(matches!(tx.open_table(def), Err(redb::TableError::TableDoesNotExist(_))), "{def} is gone");
        }
        let keys = |def| -> Vec<(u8, u64)> { tx.open_table(def).unwrap().iter().unwrap().map(|r| r.unwrap().0.value()).collect() };
        assert!(keys(schema::TASKS_BY_STATUS).contains(&(schema::status_byte(TaskStatus::Overdue), 1)));
        assert_eq!(crate::store::check::verify_tenant(&db).unwrap(), vec![]);
    }
}
