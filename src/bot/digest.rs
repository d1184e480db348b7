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
use crate::i18n::{Lang, tf};
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
    let messages = messages(state, tenant)?;
    telegram::queue_digest(state, tenant, day, messages).await
}

/// Every linked active person's digest: their day, and for a manager or a
/// director the figures with a chart. Nothing for someone with no open task
/// and no figures.
fn messages(state: &AppState, tenant: &Tenant) -> Result<Vec<(i64, BotOutV1)>, AppError> {
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
        let figures = home::dashboard(db, &who, now, &tz).ok().and_then(|d| figures(lang, &d));
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

/// A manager's department or a director's company: the caption (every
/// number, the bars' order) and the chart.
fn figures(lang: Lang, d: &Dashboard) -> Option<(String, Vec<u8>)> {
    if let Some(c) = &d.company {
        let mut text = tf(
            lang,
            "bot.staff.digest.company",
            &[("approval", &c.approval.to_string()), ("overdue", &c.overdue.to_string()), ("extensions", &c.extensions.len().to_string())],
        );
        let bars: Vec<(u64, u64)> = c.overdue_by_department.iter().map(|x| (x.overdue as u64, x.overdue as u64)).collect();
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
        return Some((text, bar_chart(&bars)));
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
    text.push('\n');
    text.push_str(crate::i18n::t(lang, "bot.staff.digest.legend"));
    let bars: Vec<(u64, u64)> = team.load.iter().map(|l| (l.open as u64, l.overdue as u64)).collect();
    Some((text, bar_chart(&bars)))
}

/// Digits 0–9 in a 3×5 pixel font, a row per byte (the low three bits).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// Fills a rectangle (clipped to the image).
fn rect(img: &mut image::RgbImage, x0: u32, y0: u32, x1: u32, y1: u32, c: image::Rgb<u8>) {
    for y in y0..y1 {
        for x in x0..x1 {
            if let Some(px) = img.get_pixel_mut_checked(x, y) {
                *px = c;
            }
        }
    }
}

/// Writes `n` centred on `cx` with its top at `y`, each font pixel `k` wide.
fn number(img: &mut image::RgbImage, n: u64, cx: u32, y: u32, k: u32, c: image::Rgb<u8>) {
    let text = n.to_string();
    let count = u32::try_from(text.len()).unwrap_or(1);
    let width = count * 4 * k - k;
    let mut x = cx.saturating_sub(width / 2);
    for d in text.bytes() {
        let rows = DIGITS.get(usize::from(d.saturating_sub(b'0'))).copied().unwrap_or_default();
        for (r, bits) in (0u32..).zip(rows) {
            for col in 0..3u32 {
                if bits & (4 >> col) != 0 {
                    rect(img, x + col * k, y + r * k, x + (col + 1) * k, y + (r + 1) * k, c);
                }
            }
        }
        x += 4 * k;
    }
}

/// A bar chart as a PNG: one bar per item, left to right, numbered under
/// it (the caption's lines), its height the first number (blue, written
/// above it) with the second's part (late) red at its foot.
pub fn bar_chart(bars: &[(u64, u64)]) -> Vec<u8> {
    let (w, h, m) = (640u32, 360u32, 24u32);
    let white = image::Rgb([255u8, 255, 255]);
    let grid = image::Rgb([226u8, 230, 236]);
    let axis = image::Rgb([90u8, 98, 110]);
    let blue = image::Rgb([31u8, 111, 235]);
    let red = image::Rgb([220u8, 53, 69]);
    let mut img = image::RgbImage::from_pixel(w, h, white);
    let base = h - m;
    let tall = h - 2 * m;
    for k in 1..=4u32 {
        let y = base - k * tall / 4;
        rect(&mut img, m, y, w - m, y + 1, grid);
    }
    let max = bars.iter().map(|b| b.0.max(b.1)).max().unwrap_or(0).max(1);
    let n = u32::try_from(bars.len()).unwrap_or(1).max(1);
    let slot = (w - 2 * m) / n;
    let width = (slot * 6 / 10).max(2);
    let scale = |v: u64| u32::try_from(v.saturating_mul(u64::from(tall)) / max).unwrap_or(tall).min(tall);
    for ((i, (total, late)), place) in bars.iter().enumerate().zip(1u64..) {
        let x0 = m + u32::try_from(i).unwrap_or(0) * slot + (slot - width) / 2;
        let top = base - scale(*total);
        let red_top = base - scale((*late).min(*total));
        rect(&mut img, x0, top, x0 + width, red_top, blue);
        rect(&mut img, x0, red_top, x0 + width, base, red);
        let cx = x0 + width / 2;
        number(&mut img, *total, cx, top.saturating_sub(19), 3, axis);
        number(&mut img, place, cx, base + 5, 3, axis);
    }
    rect(&mut img, m, base, w - m, base + 2, axis);
    let mut out = std::io::Cursor::new(Vec::new());
    // Encoding an in-memory image of known size does not fail.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_chart_is_a_png_with_a_bar_per_item() {
        let png = bar_chart(&[(4, 1), (2, 0), (0, 0)]);
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (640, 360));
        // The first bar is blue above red; the third has no height.
        let slot = (640 - 48) / 3;
        let x = 24 + slot / 2;
        assert_eq!(img.get_pixel(x, 360 - 24 - 5).0, [220, 53, 69]);
        assert_eq!(img.get_pixel(x, 40).0, [31, 111, 235]);
        assert_eq!(img.get_pixel(24 + 2 * slot + slot / 2, 200).0, [255, 255, 255]);
        // Each bar is numbered under it, in the axis' colour.
        let under = (360 - 24 + 5..360 - 24 + 20).any(|y| (x - 6..x + 6).any(|x| img.get_pixel(x, y).0 == [90, 98, 110]));
        assert!(under, "the first bar's number");
        // Nothing at all: a chart still.
        assert!(image::load_from_memory(&bar_chart(&[])).is_ok());
    }

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
