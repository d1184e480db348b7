//! The branch comparison: for each branch, its people's tasks, the
//! requests they handled and its queue, side by side, with the trend of
//! the queue's visitors against the previous period. Every figure comes
//! from its domain's report: tasks from `tasks::report` (the people whose
//! branch it is), requests from `requests::stats` (by the assignee's
//! branch), the queue from `queue::stats` (the branch's tickets).
//! For those who see every report.

use super::{Cell, Chart, ChartKind, Ctx, Kind, Report, Series, Table};
use crate::error::{AppError, ErrorKind};
use crate::i18n::t;
use crate::store::schema::{BRANCHES, USERS};
use std::collections::HashMap;

/// A change in percent, one decimal; none when there was nothing before.
pub fn change_pct(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| ((now - before) * 1000.0 / before).round() / 10.0)
}

/// `▲ 12.5 %`, `▼ 3 %`, `—`.
pub fn arrow(change: Option<f64>, lang: crate::i18n::Lang) -> String {
    match change {
        Some(c) if c > 0.0 => format!("▲ {} %", crate::queue::stats::num(lang, c)),
        Some(c) if c < 0.0 => format!("▼ {} %", crate::queue::stats::num(lang, -c)),
        Some(_) => "= 0 %".to_string(),
        None => "—".to_string(),
    }
}

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
            change.map(Cell::Num).unwrap_or(Cell::Empty),
            Cell::Text(arrow(change, lang)),
            q.overall.avg_wait_secs.map(|s| Cell::Secs(i64::try_from(s).unwrap_or(i64::MAX))).unwrap_or(Cell::Empty),
            q.overall.service_level_pct.map(Cell::Num).unwrap_or(Cell::Empty),
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
        change.map(Cell::Num).unwrap_or(Cell::Empty),
        Cell::Text(arrow(change, lang)),
        all.overall.avg_wait_secs.map(|s| Cell::Secs(i64::try_from(s).unwrap_or(i64::MAX))).unwrap_or(Cell::Empty),
        all.overall.service_level_pct.map(Cell::Num).unwrap_or(Cell::Empty),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_and_arrows() {
        use crate::i18n::Lang;
        assert_eq!(change_pct(12.0, 8.0), Some(50.0));
        assert_eq!(change_pct(2.0, 3.0), Some(-33.3));
        assert_eq!(change_pct(5.0, 0.0), None);
        assert_eq!(arrow(Some(50.0), Lang::En), "▲ 50 %");
        assert_eq!(arrow(Some(-33.3), Lang::Ru), "▼ 33,3 %");
        assert_eq!(arrow(None, Lang::Uz), "—");
    }
}
