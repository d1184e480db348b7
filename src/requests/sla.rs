//! SLA: due times from a category's targets, counted round the clock or in
//! the branch's working hours; the job that marks breaches once.
//!
//! # The clock
//!
//! A category counts its targets either round the clock
//! ([`SlaClock::AllDay`]) or in the working hours ([`SlaClock::WorkingHours`])
//! of its branch (else the company's first branch), in the company's time
//! zone: 60 working minutes filed on Friday at 17:30 with a Monday–Friday
//! 09:00–18:00 branch fall due on Monday at 09:30. A branch without hours,
//! or with no open day at all, counts round the clock.
//!
//! While a request waits for the client its clock is paused; on resuming
//! its targets move on by the wall-clock time it waited
//! (`service::set_status`).
//!
//! # Breaches
//!
//! [`mark_breaches`] (the minute's job) reads `REQUESTS_SLA_DUE` up to now
//! and marks each target missed — the first response (no public reply by
//! then) and the resolution (not done by then) — once: the flag takes the
//! request out of the index for that target. Each mark writes a history line
//! (`sla_breach`, field `first_response` or `resolution`) and tells the
//! assignee and the category's lead (else its team).

use super::{is_final, number, sla_key};
use crate::app::AppState;
use crate::error::AppError;
use crate::hub::Topic;
use crate::org::hours::{DAY_MINUTES, WeekHours};
use crate::store::schema::{
    BRANCHES, DayHours, REQUEST_CATEGORIES, REQUEST_EVENTS, REQUESTS, REQUESTS_SLA_DUE, RequestCategoryV1, SlaClock, USERS,
};
use crate::store::{Txn, store_err};
use crate::tenancy::Tenant;
use crate::workflow::{self, Actor, Line};
use jiff::tz::TimeZone;
use redb::ReadableTable;

/// Most requests one run of the job marks: the rest on the next minute.
const BATCH: usize = 500;

/// When `minutes` of the category's clock have passed after `start` (ms),
/// in the company's time zone `tz`.
pub fn due(tx: &impl Txn, tz: &TimeZone, cat: &RequestCategoryV1, start: i64, minutes: u32) -> Result<i64, AppError> {
    let hours = match cat.clock {
        SlaClock::AllDay => None,
        SlaClock::WorkingHours => branch_hours(tx, cat.branch_id)?,
    };
    Ok(add_minutes(&WeekHours::of(&hours), tz, start, minutes))
}

/// The hours of the category's branch, else of the company's first branch;
/// `None` (round the clock) when there is no such branch.
fn branch_hours(tx: &impl Txn, branch_id: Option<u64>) -> Result<Option<[DayHours; 7]>, AppError> {
    let branches = BRANCHES.open(tx)?;
    let own = match branch_id {
        Some(id) => branches.get(id)?,
        None => None,
    };
    let branch = match own {
        Some(b) => Some(b),
        None => branches.iter()?.next().transpose()?.map(|(_, b)| b),
    };
    Ok(branch.and_then(|b| b.hours))
}

/// The UTC ms of a local date's minute (`DAY_MINUTES`: the next midnight).
fn local_ms(tz: &TimeZone, date: jiff::civil::Date, minute: u16) -> Option<i64> {
    let (date, minute) = if minute >= DAY_MINUTES { (date.tomorrow().ok()?, 0) } else { (date, minute) };
    let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
    tz.to_ambiguous_zoned(dt).compatible().ok().map(|z| z.timestamp().as_millisecond())
}

/// `start` plus `minutes` counted only while `week` is open (every minute
/// for a week open round the clock or never open).
pub fn add_minutes(week: &WeekHours, tz: &TimeZone, start: i64, minutes: u32) -> i64 {
    let all_day = start.saturating_add(i64::from(minutes) * 60_000);
    if week.round_the_clock() || (0..7).all(|d| week.day(d).is_none_or(|(o, c)| o >= c)) {
        return all_day;
    }
    let mut left = i64::from(minutes) * 60_000;
    let mut date = crate::clock::from_ms(start).to_zoned(tz.clone()).date();
    // At most one open day a week: a target of a year of working minutes
    // ends within a few hundred weeks; past that, count round the clock.
    for _ in 0..(366 * 8) {
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        if let Some((open, close)) = week.day(weekday)
            && let (Some(o), Some(c)) = (local_ms(tz, date, open), local_ms(tz, date, close))
        {
            let from = o.max(start);
            if from < c {
                if left <= c - from {
                    return from + left;
                }
                left -= c - from;
            }
        }
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => return all_day,
        }
    }
    all_day
}

/// Who hears of a breach: the assignee and the category's lead, else its team.
fn told(r_assignee: Option<u64>, cat: Option<&RequestCategoryV1>) -> Vec<u64> {
    let mut users: Vec<u64> = r_assignee.into_iter().collect();
    match cat {
        Some(c) if c.lead_id.is_some() => users.extend(c.lead_id),
        Some(c) => users.extend(c.team.iter().copied()),
        None => {}
    }
    let mut seen = std::collections::BTreeSet::new();
    users.retain(|u| *u != 0 && seen.insert(*u));
    users
}

/// The minute's job: marks each SLA target missed by now, once (see the
/// module's notes). Returns how many requests it marked.
pub async fn mark_breaches(state: &AppState, tenant: &Tenant) -> Result<usize, AppError> {
    let now = state.now_ms();
    let system = Actor { id: 0, name: "system".into() };
    let (marked, sent) = tenant
        .db()?
        .write(move |tx| {
            let due: Vec<(i64, u64)> = {
                let idx = tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?;
                let mut v = Vec::new();
                for row in idx.range(..=(now, u64::MAX)).map_err(store_err)?.take(BATCH) {
                    v.push(row.map_err(store_err)?.0.value());
                }
                v
            };
            let mut sent = Vec::new();
            let mut marked = Vec::new();
            for (key, id) in due {
                let Some(old) = REQUESTS.open(tx)?.get(id)? else {
                    tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?.remove((key, id)).map_err(store_err)?;
                    continue;
                };
                let mut r = old.clone();
                let running = !is_final(r.status) && r.paused_at.is_none();
                let mut lines = Vec::new();
                if running && r.first_response_at.is_none() && !r.first_response_breached && r.first_response_due.is_some_and(|d| d <= now)
                {
                    r.first_response_breached = true;
                    lines.push("first_response");
                }
                if running && !r.resolution_breached && r.resolution_due.is_some_and(|d| d <= now) {
                    r.resolution_breached = true;
                    lines.push("resolution");
                }
                if lines.is_empty() {
                    // An entry no longer the request's key (a save left it): out.
                    if sla_key(&r) != Some(key) {
                        tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?.remove((key, id)).map_err(store_err)?;
                    }
                    continue;
                }
                // The index keeps the old key only when a stale one led here.
                if sla_key(&old) != Some(key) {
                    tx.open_table(REQUESTS_SLA_DUE).map_err(store_err)?.remove((key, id)).map_err(store_err)?;
                }
                super::service::save_changed(tx, id, &old, &r)?;
                for field in &lines {
                    let line = Line { field: Some(field), ..Line::new("sla_breach") };
                    workflow::record(tx, REQUEST_EVENTS, "request_event", now, &system, id, line)?;
                }
                let cat = REQUEST_CATEGORIES.open(tx)?.get(r.category_id)?;
                for u in told(r.assignee_id, cat.as_ref()) {
                    if USERS.open(tx)?.get(u)?.is_some_and(|a| a.active) {
                        sent.push(crate::notify::request_notice(tx, now, u, "request_breach", id, &number(id), &r.subject, "")?);
                    }
                }
                marked.push(id);
            }
            Ok((marked, sent))
        })
        .await?;
    crate::notify::deliver(state, tenant, sent);
    for id in &marked {
        state.search.touch_request(tenant, *id);
        state.hub.publish(&tenant.slug, &Topic::Requests, "request.changed", serde_json::json!({"id": id}), state.now());
    }
    Ok(marked.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> TimeZone {
        TimeZone::get("Asia/Tashkent").unwrap()
    }

    fn at(s: &str) -> i64 {
        let dt: jiff::civil::DateTime = s.parse().unwrap();
        tz().to_ambiguous_zoned(dt).compatible().unwrap().timestamp().as_millisecond()
    }

    /// Monday–Friday 09:00–18:00.
    fn office() -> WeekHours {
        let wd = Some((9 * 60, 18 * 60));
        WeekHours(Some([wd, wd, wd, wd, wd, None, None]))
    }

    #[test]
    fn friday_evening_plus_an_hour_is_monday_morning() {
        // 2026-12-04 is a Friday.
        assert_eq!(add_minutes(&office(), &tz(), at("2026-12-04T17:30"), 60), at("2026-12-07T09:30"));
    }

    #[test]
    fn a_start_before_opening_counts_from_the_opening() {
        assert_eq!(add_minutes(&office(), &tz(), at("2026-12-01T07:15"), 30), at("2026-12-01T09:30"));
        assert_eq!(add_minutes(&office(), &tz(), at("2026-12-01T10:00"), 9 * 60), at("2026-12-02T10:00"), "a whole working day");
        assert_eq!(add_minutes(&office(), &tz(), at("2026-12-01T17:00"), 60), at("2026-12-01T18:00"), "ends at closing");
    }

    #[test]
    fn closed_days_are_skipped() {
        // Wednesday closed: Tuesday 17:00 + 2 h → Thursday 10:00.
        let wd = Some((9 * 60, 18 * 60));
        let week = WeekHours(Some([wd, wd, None, wd, wd, None, None]));
        assert_eq!(add_minutes(&week, &tz(), at("2026-12-01T17:00"), 120), at("2026-12-03T10:00"));
        // Filed on Sunday: Monday 09:00 + 45 min.
        assert_eq!(add_minutes(&office(), &tz(), at("2026-12-06T12:00"), 45), at("2026-12-07T09:45"));
    }

    #[test]
    fn round_the_clock_counts_every_minute() {
        let start = at("2026-12-04T17:30");
        assert_eq!(add_minutes(&WeekHours(None), &tz(), start, 60), start + 3_600_000);
        // A week with no open day counts round the clock too.
        assert_eq!(add_minutes(&WeekHours(Some([None; 7])), &tz(), start, 60), start + 3_600_000);
        // Open until 24:00 Friday, Saturday from 00:00.
        let week = WeekHours(Some([None, None, None, None, Some((20 * 60, DAY_MINUTES)), Some((0, 60)), None]));
        assert_eq!(add_minutes(&week, &tz(), at("2026-12-04T23:30"), 60), at("2026-12-05T00:30"));
    }

    #[test]
    fn the_lead_else_the_team_hears_with_the_assignee() {
        let cat = |lead: Option<u64>| RequestCategoryV1 {
            names: Default::default(),
            icon: String::new(),
            color: String::new(),
            team: vec![3, 5],
            lead_id: lead,
            auto_assign: false,
            default_priority: crate::store::schema::Priority::Normal,
            first_response_minutes: None,
            resolution_minutes: None,
            clock: SlaClock::AllDay,
            branch_id: None,
            fields: Vec::new(),
            active: true,
            last_assigned: None,
            sort: 0,
        };
        assert_eq!(told(Some(5), Some(&cat(Some(2)))), vec![5, 2]);
        assert_eq!(told(Some(5), Some(&cat(None))), vec![5, 3]);
        assert_eq!(told(None, Some(&cat(Some(5)))), vec![5]);
    }
}
