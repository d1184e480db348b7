//! The branch comparison: for each branch, its people's tasks, the
//! requests they handled and its queue, side by side, with the trend of
//! the queue's visitors against the previous period. Every figure comes
//! from its domain's report: tasks from `tasks::report` (the people whose
//! branch it is), requests from `requests::stats` (by the assignee's
//! branch), the queue from `queue::stats` (the branch's tickets).
//! For those who see every report.

use super::{Cell, Chart, ChartKind, Ctx, Kind, Report, Series, Table, arrow, change_pct};
use crate::error::{AppError, ErrorKind};
use crate::i18n::t;
use crate::store::schema::{BRANCHES, USERS};
use std::collections::HashMap;

pub fn report(ctx: &Ctx) -> Result<Report, AppError> {
    if !ctx.who.can("reports.view_all") {
        return Err(ErrorKind::Forbidden.into());
    }
    let (lang, p) = (ctx.lang, ctx.period);
    let previous = p.comparable_previous(super::today(ctx.now_ms, ctx.tz))?;
    let (branches, branch_of) = {
        let tx = ctx.db.read()?;
        let mut all = BRANCHES.open(&tx)?.all()?;
        all.retain(|(id, b)| b.active && ctx.filters.branch_id.is_none_or(|f| f == *id));
        let users = USERS.open(&tx)?.all()?;
        let branch_of: HashMap<u64, (Option<u64>, bool)> = users.iter().map(|(id, a)| (*id, (a.branch_id, a.active))).collect();
        (all, branch_of)
    };
    // Requests handled by the people of each branch.
    let req = crate::requests::stats::compute(ctx.db, ctx.tz, lang, None, p.from, p.to)?;
    let mut requests: HashMap<u64, (u32, u32)> = HashMap::new();
    for e in &req.employees {
        if let Some((Some(b), _)) = branch_of.get(&e.id) {
            let r = requests.entry(*b).or_default();
            r.0 += e.figures.received;
            r.1 += e.figures.done;
        }
    }
    let mut table = Table::new("branches", t(lang, "report_branches.branches"))
        .col("branch", lang, "report_branches.branch", Kind::Text)
        .col("people", lang, "report_branches.people", Kind::Integer)
        .col("requests_received", lang, "report_branches.requests_received", Kind::Integer)
        .col("requests_done", lang, "report_branches.requests_done", Kind::Integer)
        .col("visitors", lang, "report_branches.visitors", Kind::Integer)
        .col("visitors_before", lang, "report_branches.visitors_before", Kind::Integer)
        .col("visitors_change", lang, "report_branches.visitors_change", Kind::Percent)
        .col("trend", lang, "report_branches.trend", Kind::Text)
        .col("avg_wait", lang, "report_branches.avg_wait", Kind::Duration)
        .col("service_level", lang, "report_branches.service_level", Kind::Percent);
    let mut tot = (0i64, 0i64, 0i64, 0i64, 0i64);
    let mut names = Vec::new();
    let mut visitors = Vec::new();
    let mut levels = Vec::new();
    for (id, b) in &branches {
        let name = crate::org::service::branch_name(b, lang).to_string();
        let people = branch_of.values().filter(|(br, active)| *br == Some(*id) && *active).count() as i64;
        let q = crate::queue::stats::compute(ctx.db, ctx.tz, Some(*id), p.from, p.to, ctx.now_ms)?;
        let q0 = crate::queue::stats::compute(ctx.db, ctx.tz, Some(*id), previous.from, previous.to, ctx.now_ms)?;
        let (rr, rd) = requests.get(id).copied().unwrap_or_default();
        let change = change_pct(f64::from(q.overall.issued), f64::from(q0.overall.issued));
        tot = (
            tot.0 + people,
            tot.1 + i64::from(rr),
            tot.2 + i64::from(rd),
            tot.3 + i64::from(q.overall.issued),
            tot.4 + i64::from(q0.overall.issued),
        );
        names.push(name.clone());
        visitors.push(Some(f64::from(q.overall.issued)));
        levels.push(q.overall.service_level_pct);
        table.rows.push(vec![
            Cell::Text(name),
            Cell::Int(people),
            Cell::Int(rr.into()),
            Cell::Int(rd.into()),
            Cell::Int(q.overall.issued.into()),
            Cell::Int(q0.overall.issued.into()),
            Cell::num(change),
            Cell::Text(arrow(change, lang)),
            Cell::secs(q.overall.avg_wait_secs),
            Cell::num(q.overall.service_level_pct),
        ]);
    }
    // The company's queue as one (waits and service level are not sums).
    let all = crate::queue::stats::compute(ctx.db, ctx.tz, ctx.filters.branch_id, p.from, p.to, ctx.now_ms)?;
    let change = change_pct(tot.3 as f64, tot.4 as f64);
    table.totals = Some(vec![
        Cell::Text(t(lang, "report.total").to_string()),
        Cell::Int(tot.0),
        Cell::Int(tot.1),
        Cell::Int(tot.2),
        Cell::Int(tot.3),
        Cell::Int(tot.4),
        Cell::num(change),
        Cell::Text(arrow(change, lang)),
        Cell::secs(all.overall.avg_wait_secs),
        Cell::num(all.overall.service_level_pct),
    ]);
    let mut r = Report::new("branches", t(lang, "report_branches.title"), p, table);
    r.previous = Some(previous);
    r.charts = vec![
        Chart {
            key: "visitors",
            title: t(lang, "report_branches.visitors_chart").to_string(),
            kind: ChartKind::HBars,
            unit: Kind::Integer,
            labels: names.clone(),
            series: vec![Series { name: t(lang, "report_branches.visitors").to_string(), values: visitors }],
        },
        Chart {
            key: "service_level",
            title: t(lang, "report_branches.service_level_chart").to_string(),
            kind: ChartKind::HBars,
            unit: Kind::Percent,
            labels: names,
            series: vec![Series { name: t(lang, "report_branches.service_level").to_string(), values: levels }],
        },
    ];
    Ok(r)
}
