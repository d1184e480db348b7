//! The daily digest: at the company's digest time (09:00 by default, company
//! time zone), each linked employee gets their open and overdue tasks; each
//! manager and director also their department's or company's figures with a
//! chart.
//!
//! The minute's job calls [`tick`]. It looks only at the running bots, and
//! opens a company's file only once its digest minute has come and today's
//! digest has not gone (the bots' registry knows both): the messages are queued in the
//! bot's outbox together with the day they are for, in one transaction
//! (`telegram::queue_digest`), so a day's digest goes once.

use super::{staff, ui};
use crate::app::AppState;
use crate::auth::{Caller, Principal};
use crate::error::AppError;
use crate::home::{self, Dashboard};
use crate::i18n::{Lang, t, tf};
use crate::reports::{self, Chart, ChartKind, Series, chart};
use crate::store::schema::{BotOutV1, BotState};
use crate::telegram::{self, chats, links};
use crate::tenancy::Tenant;

/// How long after its time a digest still goes (a server started at 10:30
/// sends the 09:00 digest; one started in the evening does not).
const LATE_MINUTES: i32 = 180;

/// The minute's look: sends the digest of every company whose time has come
/// today and has not had it. Returns how many companies it sent for.
pub async fn tick(state: &AppState) -> usize {
    let mut sent = 0;
    for slug in state.bots.slugs() {
        let Some(tenant) = state.tenants.get(&slug) else { continue };
        match company(state, &tenant).await {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(company = %slug, error = %e, "digest not sent"),
        }
    }
    sent
}

/// Whether a digest at `at` (minutes after midnight) last sent on `last`
/// is due at company-local `day` and `minute`.
fn due(at: u16, last: Option<i32>, day: i32, minute: i32) -> bool {
    let at = i32::from(at);
    last != Some(day) && minute >= at && minute < at + LATE_MINUTES
}

/// One company's digest, when its time has come; whether it was queued.
/// The bot's registry knows the time and the last day, so a company whose
/// digest is not due is not opened.
async fn company(state: &AppState, tenant: &Tenant) -> Result<bool, AppError> {
    let now = state.now_ms();
    let local = crate::clock::from_ms(now).to_zoned(tenant.timezone());
    let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
    let day = local.date().since((jiff::Unit::Day, jiff::civil::date(1970, 1, 1))).map(|s| s.get_days()).unwrap_or(0);
    let Some((at, last)) = state.bots.digest(&tenant.slug) else { return Ok(false) };
    if !due(at, last, day, minute) {
        return Ok(false);
    }
    let Some(cfg) = telegram::config(tenant.db()?)? else { return Ok(false) };
    if cfg.state != BotState::Running || !due(cfg.digest_minute, cfg.digest_day, day, minute) {
        state.bots.set_digest(&tenant.slug, (cfg.digest_minute, cfg.digest_day));
        return Ok(false);
    }
    let messages = messages(state, tenant).await?;
    telegram::queue_digest(state, tenant, day, messages).await
}

/// Every linked active person's digest: their day, and for a manager or a
/// director the figures with a chart. Nothing for someone with no open task
/// and no figures.
async fn messages(state: &AppState, tenant: &Tenant) -> Result<Vec<(i64, BotOutV1)>, AppError> {
    let db = tenant.db()?;
    let now = state.now_ms();
    let tz = tenant.timezone();
    let mut out = Vec::new();
    for (user_id, link) in links::all_links(db)? {
        let Ok(p) = Principal::load(tenant, user_id, String::new(), tenant.lang()) else { continue };
        if !p.account.active {
            continue;
        }
        let chat = chats::get(db, link.chat_id)?;
        if chat.unreachable {
            continue;
        }
        let lang = ui::lang_of(&chat, Some(p.lang), None, tenant.lang());
        let who = Caller::from(&p);
        let open = home::open_tasks(db, &who).unwrap_or_default();
        // What waits for them now (the dashboard), then the month's figures
        // and chart from their report; the dashboard's own chart without one.
        let today = home::dashboard(db, &who, now, &tz).ok().and_then(|d| figures(lang, &d));
        let figures = match (today, from_report(tenant, &who, lang, now).await) {
            (Some((now_text, _)), Some((month, png))) => Some((format!("{now_text}\n\n{month}"), png)),
            (None, Some(month)) => Some(month),
            (Some((text, chart)), None) => png_or_log(&chart, lang).map(|png| (text, png)),
            (None, None) => None,
        };
        if open.is_empty() && figures.is_none() {
            continue;
        }
        out.push((link.chat_id, BotOutV1 { text: staff::day_text(state, tenant, &p, lang, true), ..BotOutV1::default() }));
        if let Some((caption, png)) = figures {
            out.push((link.chat_id, BotOutV1 { text: caption, png: Some(png), ..BotOutV1::default() }));
        }
    }
    Ok(out)
}

/// The size of a digest's chart: sharp on a phone, text ≥ 12 px when shown 360 px wide.
const CHART: (u32, u32) = (640, 400);

/// A director's `company` or a manager's `department` report of this month,
/// computed as them: the caption (its title, period and totals) and its
/// first chart. None when they see neither or the report is not there
/// (then the digest reads the dashboard as before).
async fn from_report(tenant: &Tenant, who: &Caller, lang: Lang, now: i64) -> Option<(String, Vec<u8>)> {
    let Caller::User(p) = who else { return None };
    let name = if p.can("reports.view_all") {
        "company"
    } else if p.can("reports.view_department") {
        "department"
    } else {
        return None;
    };
    let today = reports::today(now, &tenant.timezone());
    let period = reports::Period::containing(reports::PeriodKind::Month, today).ok()?;
    let ask = reports::Ask { name: name.to_string(), period, filters: reports::Filters::default() };
    let report = reports::run(tenant, who, lang, now, ask).await.ok()?;
    let chart = report.charts.first()?;
    let mut text = format!("📊 {} — {}–{}", report.title, report.period.from.strftime("%d.%m.%Y"), report.period.to.strftime("%d.%m.%Y"));
    let tz = tenant.timezone();
    if let Some(totals) = &report.table.totals {
        for (col, cell) in report.table.columns.iter().zip(totals) {
            let v = cell.text(col.kind, lang, &tz);
            if !v.is_empty() && col.kind != reports::Kind::Text {
                text.push('\n');
                text.push_str(&format!("{}: {v}", col.label));
            }
        }
    }
    let png = chart::png(chart, lang, CHART.0, CHART.1).ok()?;
    Some((text, png))
}

/// A manager's department or a director's company: the caption (every
/// number) and the chart, from the dashboard. The chart is drawn only when
/// it is sent (a report's chart takes its place when there is one).
fn figures(lang: Lang, d: &Dashboard) -> Option<(String, Chart)> {
    if let Some(c) = &d.company {
        let mut text = tf(
            lang,
            "bot.staff.digest.company",
            &[("approval", &c.approval.to_string()), ("overdue", &c.overdue.to_string()), ("extensions", &c.extensions.len().to_string())],
        );
        for (i, x) in c.overdue_by_department.iter().enumerate() {
            text.push('\n');
            text.push_str(&tf(
                lang,
                "bot.staff.digest.department_line",
                &[("i", &(i + 1).to_string()), ("name", &x.name), ("overdue", &x.overdue.to_string())],
            ));
        }
        if !c.best.is_empty() {
            text.push('\n');
            let best: Vec<String> = c.best.iter().take(3).map(|b| format!("{} ({})", b.name, b.points)).collect();
            text.push_str(&tf(lang, "bot.staff.digest.best", &[("names", &best.join(", "))]));
        }
        let chart = Chart {
            key: "digest_company",
            title: t(lang, "chart.digest.company").to_string(),
            kind: ChartKind::HBars,
            unit: reports::Kind::Integer,
            labels: c.overdue_by_department.iter().map(|x| x.name.clone()).collect(),
            series: vec![Series {
                name: t(lang, "chart.digest.overdue").to_string(),
                values: c.overdue_by_department.iter().map(|x| Some(x.overdue as f64)).collect(),
            }],
        };
        return Some((text, chart));
    }
    let team = d.team.as_ref()?;
    let open: usize = team.load.iter().map(|l| l.open).sum();
    let mut text = tf(
        lang,
        "bot.staff.digest.team",
        &[
            ("department", &team.department),
            ("open", &open.to_string()),
            ("overdue", &team.overdue.to_string()),
            ("review", &team.review.to_string()),
            ("points", &team.points_month.to_string()),
        ],
    );
    for (i, l) in team.load.iter().enumerate() {
        text.push('\n');
        text.push_str(&tf(
            lang,
            "bot.staff.digest.person_line",
            &[("i", &(i + 1).to_string()), ("name", &l.name), ("open", &l.open.to_string()), ("overdue", &l.overdue.to_string())],
        ));
    }
    let chart = Chart {
        key: "digest_team",
        title: tf(lang, "chart.digest.team", &[("department", &team.department)]),
        kind: ChartKind::HBars,
        unit: reports::Kind::Integer,
        labels: team.load.iter().map(|l| l.name.clone()).collect(),
        series: vec![
            Series { name: t(lang, "chart.digest.open").to_string(), values: team.load.iter().map(|l| Some(l.open as f64)).collect() },
            Series {
                name: t(lang, "chart.digest.overdue").to_string(),
                values: team.load.iter().map(|l| Some(l.overdue as f64)).collect(),
            },
        ],
    };
    Some((text, chart))
}

/// The chart as a PNG; a chart that cannot be drawn is logged and left out.
fn png_or_log(chart: &Chart, lang: Lang) -> Option<Vec<u8>> {
    chart::png(chart, lang, CHART.0, CHART.1).map_err(|e| tracing::warn!(error = %e, "digest chart not drawn")).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_digest_is_due_from_its_minute_for_three_hours_once_a_day() {
        let nine: u16 = 9 * 60;
        assert!(!due(nine, None, 100, i32::from(nine) - 1));
        assert!(due(nine, None, 100, i32::from(nine)));
        assert!(due(nine, Some(99), 100, i32::from(nine) + 179));
        assert!(!due(nine, Some(99), 100, i32::from(nine) + 180), "too late: tomorrow's then");
        assert!(!due(nine, Some(100), 100, i32::from(nine) + 5), "sent today already");
    }
}
