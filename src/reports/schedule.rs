//! Scheduled reports: a company chooses who gets which report when (the
//! weekly department report to its manager on Monday at 09:00). The
//! minute's job ([`tick`]) runs each due schedule once: every recipient
//! gets the report computed as them (what they may see is what they get;
//! one who may see none of it is skipped, and the schedule shows why), as
//! an in-app notification linking to the report page and, when they linked
//! Telegram and the bot runs, as a message with the chart and the XLSX.
//!
//! Each schedule remembers the scheduled moment it last ran for, written
//! in the transaction that stores what it sent: a restart does not send it
//! twice, and after downtime only the latest missed run goes (once).

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Ask, Filters, NAMES, Period, PeriodKind, Report};
use crate::app::AppState;
use crate::auth::{Caller, Principal};
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, tf};
use crate::store::Db;
use crate::store::schema::{BRANCHES, BotOutV1, DEPARTMENTS, REPORT_SCHEDULES, ReportScheduleV1, USERS};
use crate::telegram::outbox::BotBody;
use crate::tenancy::Tenant;

/// Who manages schedules: the company's admin, or whoever reads every report.
pub fn may_manage(who: &Caller) -> bool {
    who.can("company.setup") || who.can("reports.view_all")
}

fn require(who: &Caller) -> Result<(), AppError> {
    if may_manage(who) { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
}

/// A schedule as asked for (the API's body and the page's form).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReportScheduleIn)]
pub struct ScheduleIn {
    /// The report sent.
    #[schema(pattern = r"^(employee|department|ranking|company|branches|requests|queue)$")]
    pub report: String,
    /// `previous`: the day, week or month just ended (the default); `current`: the one under way.
    #[schema(pattern = r"^(previous|current)$")]
    pub period: Option<String>,
    /// `day`, `week` or `month`: how often, and the period's length.
    #[schema(pattern = r"^(day|week|month)$")]
    pub every: String,
    /// For `week`: 1 = Monday … 7 = Sunday.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: Option<u8>,
    /// For `month`: the day of the month (the last day in shorter months).
    #[schema(minimum = 1, maximum = 31)]
    pub day: Option<u8>,
    /// Company time, `HH:MM`.
    #[schema(example = "09:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    /// The users who get it.
    #[schema(min_items = 1, max_items = 50)]
    pub recipients: Vec<u64>,
    /// `in_app` and/or `telegram`.
    #[schema(min_items = 1, max_items = 2, value_type = Vec<Channel>)]
    pub channels: Vec<String>,
}

/// Where a scheduled report goes.
#[derive(Serialize, ToSchema)]
#[schema(as = ReportScheduleChannel)]
#[allow(dead_code)] // describes the API's strings
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InApp,
    Telegram,
}

/// Changes to a schedule: the fields given replace its own.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReportSchedulePatch)]
pub struct SchedulePatch {
    #[schema(pattern = r"^(employee|department|ranking|company|branches|requests|queue)$")]
    pub report: Option<String>,
    #[schema(pattern = r"^(previous|current)$")]
    pub period: Option<String>,
    #[schema(pattern = r"^(day|week|month)$")]
    pub every: Option<String>,
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: Option<u8>,
    #[schema(minimum = 1, maximum = 31)]
    pub day: Option<u8>,
    #[schema(example = "09:00", pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub time: Option<String>,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    #[schema(min_items = 1, max_items = 50)]
    pub recipients: Option<Vec<u64>>,
    #[schema(min_items = 1, max_items = 2, value_type = Option<Vec<Channel>>)]
    pub channels: Option<Vec<String>>,
}

/// `HH:MM` (two digits each) → minutes after midnight.
pub fn parse_time(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b.get(2) != Some(&b':') {
        return None;
    }
    let h: u16 = s.get(0..2)?.parse().ok()?;
    let m: u16 = s.get(3..5)?.parse().ok()?;
    (s.get(0..2)?.bytes().all(|c| c.is_ascii_digit()) && s.get(3..5)?.bytes().all(|c| c.is_ascii_digit()) && h < 24 && m < 60)
        .then_some(h * 60 + m)
}

/// The schedule's time as `HH:MM`.
pub fn time_of(s: &ReportScheduleV1) -> String {
    format!("{:02}:{:02}", s.minute / 60, s.minute % 60)
}

/// The channels of a schedule, as named in the API.
pub fn channels_of(s: &ReportScheduleV1) -> Vec<String> {
    let mut out = Vec::new();
    if s.in_app {
        out.push("in_app".to_string());
    }
    if s.telegram {
        out.push("telegram".to_string());
    }
    out
}

/// Checks `input` against the company; the record (without its run state).
fn validate(db: &Db, input: &ScheduleIn, who: u64, now: i64) -> Result<ReportScheduleV1, AppError> {
    if !NAMES.contains(&input.report.as_str()) {
        return Err(AppError::invalid("report", "report_schedules.invalid.report"));
    }
    let period = input.period.clone().unwrap_or_else(|| "previous".into());
    if !matches!(period.as_str(), "previous" | "current") {
        return Err(AppError::invalid("period", "report_schedules.invalid.period"));
    }
    if !matches!(input.every.as_str(), "day" | "week" | "month") {
        return Err(AppError::invalid("every", "report_schedules.invalid.every"));
    }
    let weekday = input.weekday.unwrap_or(1);
    if input.every == "week" && !(1..=7).contains(&weekday) {
        return Err(AppError::invalid("weekday", "report_schedules.invalid.weekday"));
    }
    let day = input.day.unwrap_or(1);
    if input.every == "month" && !(1..=31).contains(&day) {
        return Err(AppError::invalid("day", "report_schedules.invalid.day"));
    }
    let minute = parse_time(input.time.trim()).ok_or_else(|| AppError::invalid("time", "report_schedules.invalid.time"))?;
    let mut recipients = input.recipients.clone();
    recipients.sort_unstable();
    recipients.dedup();
    if recipients.is_empty() || recipients.len() > 50 {
        return Err(AppError::invalid("recipients", "report_schedules.invalid.recipients"));
    }
    let (mut in_app, mut telegram) = (false, false);
    for c in &input.channels {
        match c.as_str() {
            "in_app" => in_app = true,
            "telegram" => telegram = true,
            _ => return Err(AppError::invalid("channels", "report_schedules.invalid.channels")),
        }
    }
    if !(in_app || telegram) {
        return Err(AppError::invalid("channels", "report_schedules.invalid.channels"));
    }
    let tx = db.read()?;
    let users = USERS.open(&tx)?;
    for id in &recipients {
        if !users.get(*id)?.is_some_and(|a| a.active) {
            return Err(AppError::invalid("recipients", "report_schedules.invalid.recipients"));
        }
    }
    if let Some(d) = input.department_id
        && !DEPARTMENTS.open(&tx)?.contains(d)?
    {
        return Err(AppError::invalid("department_id", "validation.department"));
    }
    if let Some(b) = input.branch_id
        && !BRANCHES.open(&tx)?.contains(b)?
    {
        return Err(AppError::invalid("branch_id", "validation.branch"));
    }
    Ok(ReportScheduleV1 {
        report: input.report.clone(),
        period,
        department_id: input.department_id,
        branch_id: input.branch_id,
        recipients,
        every: input.every.clone(),
        weekday: if input.every == "week" { weekday } else { 1 },
        day: if input.every == "month" { day } else { 1 },
        minute,
        in_app,
        telegram,
        created_by: who,
        created_at: now,
        last_run: None,
        skipped: Vec::new(),
    })
}

fn user_id(who: &Caller) -> u64 {
    match who {
        Caller::User(p) => p.id,
        _ => 0,
    }
}

/// The company's schedules, by id.
pub fn list(db: &Db, who: &Caller) -> Result<Vec<(u64, ReportScheduleV1)>, AppError> {
    require(who)?;
    let tx = db.read()?;
    REPORT_SCHEDULES.open(&tx)?.all()
}

/// One schedule.
pub fn get(db: &Db, who: &Caller, id: u64) -> Result<ReportScheduleV1, AppError> {
    require(who)?;
    let tx = db.read()?;
    REPORT_SCHEDULES.open(&tx)?.get(id)?.ok_or_else(|| ErrorKind::NotFound.into())
}

/// Adds a schedule; its id. Its first run is the first scheduled moment after now.
pub async fn create(tenant: &Tenant, who: &Caller, now: i64, input: ScheduleIn) -> Result<u64, AppError> {
    require(who)?;
    let db = tenant.db()?;
    let rec = validate(db, &input, user_id(who), now)?;
    let who = who.clone();
    let next = next_run(&rec, now, &tenant.timezone());
    let id = db
        .write(move |tx| {
            let id = crate::store::next_id(tx, "report_schedule")?;
            REPORT_SCHEDULES.open(tx)?.insert(id, &rec)?;
            crate::audit::record(tx, now, &who, "report_schedule.create", &format!("report_schedule:{id}"), vec![])?;
            Ok(id)
        })
        .await?;
    // The minute's jobs visit the company when its first run comes.
    if let Some(at) = next {
        tenant.due_at(at);
    }
    Ok(id)
}

/// When the company's schedules next have work: now for one due, else the
/// earliest next run (`i64::MAX` for none). Part of the company's due time
/// (`tenancy::due::next_due`), so the minute's jobs open only companies
/// with a report to send.
pub fn next_due<T: crate::store::Txn>(tx: &T, now: i64, tz: &TimeZone) -> Result<i64, AppError> {
    let mut at = i64::MAX;
    for (_, s) in REPORT_SCHEDULES.open(tx)?.all()? {
        let next = if due(&s, now, tz).is_some() { Some(now) } else { next_run(&s, now, tz) };
        at = at.min(next.unwrap_or(i64::MAX));
    }
    Ok(at)
}

/// Changes a schedule (its run state stays).
pub async fn update(tenant: &Tenant, who: &Caller, now: i64, id: u64, patch: SchedulePatch) -> Result<ReportScheduleV1, AppError> {
    let db = tenant.db()?;
    let old = get(db, who, id)?;
    let channels = channels_of(&old);
    let input = ScheduleIn {
        report: patch.report.unwrap_or(old.report.clone()),
        period: Some(patch.period.unwrap_or(old.period.clone())),
        every: patch.every.unwrap_or(old.every.clone()),
        weekday: Some(patch.weekday.unwrap_or(old.weekday)),
        day: Some(patch.day.unwrap_or(old.day)),
        time: patch.time.unwrap_or_else(|| time_of(&old)),
        department_id: patch.department_id.or(old.department_id),
        branch_id: patch.branch_id.or(old.branch_id),
        recipients: patch.recipients.unwrap_or(old.recipients.clone()),
        channels: patch.channels.unwrap_or(channels),
    };
    let mut rec = validate(db, &input, old.created_by, old.created_at)?;
    rec.last_run = old.last_run.or(Some(now));
    rec.skipped = old.skipped;
    let (who, out) = (who.clone(), rec.clone());
    let next = next_run(&rec, now, &tenant.timezone());
    db.write(move |tx| {
        REPORT_SCHEDULES.open(tx)?.insert(id, &rec)?;
        crate::audit::record(tx, now, &who, "report_schedule.update", &format!("report_schedule:{id}"), vec![])?;
        Ok(())
    })
    .await?;
    if let Some(at) = next {
        tenant.due_at(at);
    }
    Ok(out)
}

/// Removes a schedule.
pub async fn delete(tenant: &Tenant, who: &Caller, now: i64, id: u64) -> Result<(), AppError> {
    require(who)?;
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            if !REPORT_SCHEDULES.open(tx)?.remove(id)? {
                return Err(ErrorKind::NotFound.into());
            }
            crate::audit::record(tx, now, &who, "report_schedule.delete", &format!("report_schedule:{id}"), vec![])?;
            Ok(())
        })
        .await
}

/// Active users' names, for showing recipients.
pub fn names(db: &Db, who: &Caller) -> Result<Vec<(u64, String)>, AppError> {
    require(who)?;
    let tx = db.read()?;
    Ok(USERS.open(&tx)?.all()?.into_iter().filter(|(_, a)| a.active).map(|(id, a)| (id, a.full_name)).collect())
}

/// Ids with names.
pub type Named = Vec<(u64, String)>;

/// What a schedule's form offers: active departments and the branches, by name.
pub fn places(db: &Db, who: &Caller) -> Result<(Named, Named), AppError> {
    require(who)?;
    let tx = db.read()?;
    let deps = DEPARTMENTS.open(&tx)?.all()?.into_iter().filter(|(_, d)| d.active).map(|(id, d)| (id, d.name)).collect();
    let branches = BRANCHES.open(&tx)?.all()?.into_iter().map(|(id, b)| (id, b.name)).collect();
    Ok((deps, branches))
}

// ---------- when ----------

/// The moment (ms) the schedule runs on local day `d`, if it runs then.
fn slot_on(s: &ReportScheduleV1, d: Date, tz: &TimeZone) -> Option<i64> {
    let runs = match s.every.as_str() {
        "day" => true,
        "week" => i16::from(d.weekday().to_monday_one_offset()) == i16::from(s.weekday),
        _ => i16::from(d.day()) == i16::from(s.day).min(i16::from(d.days_in_month())),
    };
    if !runs {
        return None;
    }
    let h = i8::try_from(s.minute / 60).ok()?;
    let m = i8::try_from(s.minute % 60).ok()?;
    d.at(h, m, 0, 0).to_zoned(tz.clone()).ok().map(|z| z.timestamp().as_millisecond())
}

/// The latest scheduled moment at or before `now`.
pub fn last_slot(s: &ReportScheduleV1, now: i64, tz: &TimeZone) -> Option<i64> {
    let today = super::today(now, tz);
    (0..=62).filter_map(|k| today.checked_sub(jiff::Span::new().days(k)).ok()).filter_map(|d| slot_on(s, d, tz)).find(|&t| t <= now)
}

/// The next scheduled moment after `now`.
pub fn next_run(s: &ReportScheduleV1, now: i64, tz: &TimeZone) -> Option<i64> {
    let today = super::today(now, tz);
    (0..=62).filter_map(|k| today.checked_add(jiff::Span::new().days(k)).ok()).filter_map(|d| slot_on(s, d, tz)).find(|&t| t > now)
}

/// The scheduled moment a run at `now` is for, when one is due: the latest
/// moment passed since the schedule was made and not yet run for.
pub fn due(s: &ReportScheduleV1, now: i64, tz: &TimeZone) -> Option<i64> {
    let slot = last_slot(s, now, tz)?;
    (slot >= s.created_at && s.last_run.is_none_or(|l| slot > l)).then_some(slot)
}

/// The period a run at moment `slot` reports on.
pub fn period_at(s: &ReportScheduleV1, slot: i64, tz: &TimeZone) -> Result<Period, AppError> {
    let d = super::today(slot, tz);
    let kind = match s.every.as_str() {
        "day" => PeriodKind::Day,
        "week" => PeriodKind::Week,
        _ => PeriodKind::Month,
    };
    let current = Period::containing(kind, d)?;
    if s.period == "current" { Ok(current) } else { current.previous() }
}

/// The report page's address (under the company) for a period and filters.
pub fn page_path(s: &ReportScheduleV1, p: &Period) -> String {
    let kind = match p.kind {
        PeriodKind::Day => "day",
        PeriodKind::Week => "week",
        PeriodKind::Month => "month",
        PeriodKind::Custom => "custom",
    };
    let mut q = format!("reports/{}?period={kind}&from={}", s.report, p.from);
    if p.kind == PeriodKind::Custom {
        q.push_str(&format!("&to={}", p.to));
    }
    if let Some(d) = s.department_id {
        q.push_str(&format!("&department_id={d}"));
    }
    if let Some(b) = s.branch_id {
        q.push_str(&format!("&branch_id={b}"));
    }
    q
}

// ---------- running ----------

/// Runs every company's due schedules (what the minute's visit of a due
/// company runs, `jobs::overdue_tick`, here for all at once). Returns how
/// many schedules ran.
pub async fn tick(state: &AppState) -> usize {
    let mut ran = 0;
    for tenant in state.tenants.all() {
        match run_due(state, &tenant).await {
            Ok(n) => ran += n,
            Err(e) => tracing::warn!(company = %tenant.slug, error = %e, "scheduled reports failed"),
        }
    }
    ran
}

/// What one recipient gets.
struct Delivery {
    user_id: u64,
    title: String,
    chat: Option<(i64, BotOutV1, Option<BotOutV1>)>,
}

/// Runs one company's due schedules; how many ran.
pub async fn run_due(state: &AppState, tenant: &Tenant) -> Result<usize, AppError> {
    let now = state.now_ms();
    let tz = tenant.timezone();
    let due_now: Vec<(u64, ReportScheduleV1, i64)> = {
        let db = tenant.db()?;
        let tx = db.read()?;
        REPORT_SCHEDULES.open(&tx)?.all()?.into_iter().filter_map(|(id, s)| due(&s, now, &tz).map(|slot| (id, s, slot))).collect()
    };
    let mut ran = 0;
    for (id, s, slot) in due_now {
        if let Err(e) = run_one(state, tenant, id, &s, slot, now, &tz).await {
            tracing::warn!(company = %tenant.slug, schedule = id, error = %e, "scheduled report not sent");
        }
        ran += 1;
    }
    Ok(ran)
}

async fn run_one(
    state: &AppState,
    tenant: &Tenant,
    id: u64,
    s: &ReportScheduleV1,
    slot: i64,
    now: i64,
    tz: &TimeZone,
) -> Result<(), AppError> {
    let period = period_at(s, slot, tz)?;
    let path = page_path(s, &period);
    let filters = Filters { department_id: s.department_id, branch_id: s.branch_id, ..Filters::default() };
    let bot_running =
        s.telegram && crate::telegram::config(tenant.db()?)?.is_some_and(|c| c.state == crate::store::schema::BotState::Running);
    let mut deliveries = Vec::new();
    let mut skipped = Vec::new();
    for &uid in &s.recipients {
        let Ok(p) = Principal::load(tenant, uid, String::new(), tenant.lang()) else {
            skipped.push((uid, "report_schedules.skip.inactive".to_string()));
            continue;
        };
        let lang = p.lang;
        let who = Caller::from(&p);
        let ask = Ask { name: s.report.clone(), period, filters };
        let report = match super::run(tenant, &who, lang, now, ask).await {
            Ok(r) => r,
            Err(e) => {
                let reason = match e.kind {
                    ErrorKind::Forbidden => "report_schedules.skip.forbidden",
                    ErrorKind::NotFound => "report_schedules.skip.unavailable",
                    _ => "report_schedules.skip.failed",
                };
                tracing::info!(company = %tenant.slug, schedule = id, user = uid, error = %e, "scheduled report skipped for a recipient");
                skipped.push((uid, reason.to_string()));
                continue;
            }
        };
        let text = summary(&report, lang, tz);
        let chat = if bot_running { telegram_of(state, tenant, &report, lang, tz, uid, &text, &path).await } else { None };
        deliveries.push(Delivery { user_id: uid, title: report.title.clone(), chat });
    }
    let in_app = s.in_app;
    let period_text = format!("{} – {}", period.from.strftime("%d.%m.%Y"), period.to.strftime("%d.%m.%Y"));
    let report_name = s.report.clone();
    let sent = tenant
        .db()?
        .write(move |tx| {
            let mut table = REPORT_SCHEDULES.open(tx)?;
            // Gone, or another pass got here first: nothing to send.
            let Some(mut rec) = table.get(id)? else { return Ok(Vec::new()) };
            if rec.last_run.is_some_and(|l| l >= slot) {
                return Ok(Vec::new());
            }
            rec.last_run = Some(slot);
            rec.skipped = skipped.clone();
            table.insert(id, &rec)?;
            drop(table);
            let mut sent = Vec::new();
            for d in &deliveries {
                if in_app {
                    sent.push(crate::notify::report_notice(tx, now, d.user_id, &report_name, &d.title, &period_text, &path)?);
                }
                if let Some((chat, photo, doc)) = &d.chat {
                    crate::telegram::outbox::enqueue(tx, now, *chat, BotBody::Message(photo.clone()))?;
                    if let Some(doc) = doc {
                        // Same moment, a later id: after the photo.
                        crate::telegram::outbox::enqueue(tx, now, *chat, BotBody::Message(doc.clone()))?;
                    }
                }
            }
            Ok(sent)
        })
        .await?;
    if !sent.is_empty() {
        crate::notify::deliver(state, tenant, sent);
    }
    state.bots.wake(&tenant.slug);
    Ok(())
}

/// The report's summary: its title, period and totals.
fn summary(report: &Report, lang: Lang, tz: &TimeZone) -> String {
    let mut text = format!("📊 {} — {} – {}", report.title, report.period.from.strftime("%d.%m.%Y"), report.period.to.strftime("%d.%m.%Y"));
    if let Some(totals) = &report.table.totals {
        for (col, cell) in report.table.columns.iter().zip(totals) {
            let v = cell.text(col.kind, lang, tz);
            if !v.is_empty() && col.kind != super::Kind::Text {
                text.push('\n');
                text.push_str(&format!("{}: {v}", col.label));
            }
        }
    } else {
        text.push('\n');
        text.push_str(&tf(lang, "report_schedules.rows", &[("n", &report.table.rows.len().to_string())]));
    }
    text
}

/// The Telegram messages for a linked recipient: the summary with the
/// chart (or alone), then the XLSX as a document when it could be made.
#[allow(clippy::too_many_arguments)]
async fn telegram_of(
    state: &AppState,
    tenant: &Tenant,
    report: &Report,
    lang: Lang,
    tz: &TimeZone,
    uid: u64,
    text: &str,
    path: &str,
) -> Option<(i64, BotOutV1, Option<BotOutV1>)> {
    let link = crate::telegram::links::link_for(tenant.db().ok()?, uid).ok()??;
    let png = report.charts.first().and_then(|c| {
        super::chart::png(c, lang, 640, 400)
            .map_err(|e| tracing::warn!(company = %tenant.slug, error = %e, "scheduled report chart not drawn"))
            .ok()
    });
    let mut caption = text.to_string();
    if let Some(base) = state.config.public_url.as_deref() {
        caption.push('\n');
        caption.push_str(&format!("{}/c/{}/{}", base.trim_end_matches('/'), tenant.slug, path));
    }
    let photo = BotOutV1 { text: caption, png, ..BotOutV1::default() };
    let doc = match super::export::xlsx(report, lang, tz) {
        Ok(bytes) => {
            let name = format!("{}-{}.xlsx", report.name, report.period.from);
            let stream = futures_util::stream::iter([Ok::<_, AppError>(bytes)]);
            match crate::files::upload_as(state, tenant, uid, &name, stream).await {
                Ok(meta) => Some(BotOutV1 { text: report.title.clone(), file_id: Some(meta.id), ..BotOutV1::default() }),
                Err(e) => {
                    tracing::warn!(company = %tenant.slug, error = %e, "scheduled report file not stored");
                    None
                }
            }
        }
        Err(e) => {
            tracing::warn!(company = %tenant.slug, error = %e, "scheduled report XLSX not made; sent without it");
            None
        }
    };
    Some((link.chat_id, photo, doc))
}

/// The recipients' names for ids (unknown ids as `#id`).
pub fn name_map(names: &[(u64, String)]) -> HashMap<u64, String> {
    names.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn sched(every: &str, weekday: u8, day: u8, minute: u16) -> ReportScheduleV1 {
        ReportScheduleV1 {
            report: "department".into(),
            period: "previous".into(),
            department_id: None,
            branch_id: None,
            recipients: vec![1],
            every: every.into(),
            weekday,
            day,
            minute,
            in_app: true,
            telegram: false,
            created_by: 1,
            created_at: 0,
            last_run: None,
            skipped: vec![],
        }
    }

    fn ms(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn a_weekly_schedule_runs_on_monday_at_nine_in_tashkent_for_last_week() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        let s = sched("week", 1, 1, 540);
        // Sunday 2026-12-06 12:00 local: next is Monday 09:00 local = 04:00 UTC.
        let sunday = ms("2026-12-06T07:00:00Z");
        assert_eq!(next_run(&s, sunday, &tz), Some(ms("2026-12-07T04:00:00Z")));
        assert_eq!(due(&s, sunday, &tz), Some(ms("2026-11-30T04:00:00Z")));
        let monday = ms("2026-12-07T04:00:00Z");
        assert_eq!(due(&s, monday, &tz), Some(monday));
        let p = period_at(&s, monday, &tz).unwrap();
        assert_eq!((p.from.to_string(), p.to.to_string()), ("2026-11-30".into(), "2026-12-06".into()));
        let ran = ReportScheduleV1 { last_run: Some(monday), ..s.clone() };
        assert_eq!(due(&ran, monday + 3_600_000, &tz), None, "once");
        // Made after this week's moment: not before next week's.
        let late = ReportScheduleV1 { created_at: monday + 60_000, ..s };
        assert_eq!(due(&late, monday + 120_000, &tz), None);
    }

    #[test]
    fn a_monthly_schedule_on_the_31st_runs_on_the_last_day_of_short_months() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        let s = sched("month", 1, 31, 1140);
        let next = next_run(&s, ms("2027-02-01T00:00:00Z"), &tz).unwrap();
        assert_eq!(next, ms("2027-02-28T14:00:00Z"));
        let cur = ReportScheduleV1 { period: "current".into(), ..sched("day", 1, 1, 1140) };
        let p = period_at(&cur, next, &tz).unwrap();
        assert_eq!(p.from.to_string(), "2027-02-28");
    }

    #[test]
    fn times_are_two_digits_each() {
        assert_eq!(parse_time("09:00"), Some(540));
        assert_eq!(parse_time("23:59"), Some(1439));
        for bad in ["9:00", "24:00", "12:60", "1a:00", "12-00", ""] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
