//! A personal calendar feed (iCalendar, RFC 5545) at a secret URL that
//! phone calendars subscribe to: the tasks a user was given or gave, by
//! deadline.

use super::service::{self, Filter};
use super::status_label;
use crate::app::AppState;
use crate::auth::{Caller, Principal};
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::schema::{TaskStatus, TaskV1};
use crate::tenancy::Tenant;

fn scope(tenant: &str, user_id: u64) -> String {
    format!("ical:{tenant}:{user_id}")
}

/// The feed's path for a user: `/c/<slug>/calendar/<id>-<token>.ics`.
pub fn feed_path(state: &AppState, tenant: &Tenant, user_id: u64) -> String {
    let token = state.keys.url_token(&scope(&tenant.slug, user_id));
    format!("/c/{}/calendar/{user_id}-{token}.ics", tenant.slug)
}

/// The feed behind `/c/<slug>/calendar/<file>`: `file` is `<id>-<token>.ics`;
/// a wrong token, an unknown or switched-off user is "not found".
pub fn feed(state: &AppState, tenant: &Tenant, file: &str) -> Result<String, AppError> {
    let not_found = || AppError::new(ErrorKind::NotFound);
    let stem = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let (id, token) = stem.split_once('-').ok_or_else(not_found)?;
    let user_id: u64 = id.parse().map_err(|_| not_found())?;
    if !state.keys.url_token_ok(&scope(&tenant.slug, user_id), token) {
        return Err(not_found());
    }
    let db = tenant.db()?;
    // The feed reads as its owner would, as they are now: a switched-off
    // account (or a closed company) has no feed.
    let user = Principal::load(tenant, user_id, String::new(), tenant.lang()).map_err(|_| not_found())?;
    let lang = user.lang;
    let who = Caller::from(&user);
    let mut tasks = Vec::new();
    for filter in [Filter { assignee_id: Some(user_id), ..Filter::default() }, Filter { creator_id: Some(user_id), ..Filter::default() }] {
        let (items, _) = service::list(db, &who, &filter, None, 500)?;
        tasks.extend(items);
    }
    tasks.sort_by_key(|(id, _)| *id);
    tasks.dedup_by_key(|(id, _)| *id);
    Ok(render(&tenant.slug, &tenant.info().name, lang, state.now_ms(), &tasks))
}

fn stamp(ms: i64) -> String {
    crate::clock::from_ms(ms).strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes one content line, folded at 75 octets without splitting a character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

pub fn render(slug: &str, company: &str, lang: Lang, now: i64, tasks: &[(u64, TaskV1)]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Idora//Tasks//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(&format!("Idora · {company}"))));
    line(&mut out, "REFRESH-INTERVAL;VALUE=DURATION:PT15M");
    for (id, t) in tasks {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:task-{id}@{slug}.idora"));
        line(&mut out, &format!("DTSTAMP:{}", stamp(now)));
        line(&mut out, &format!("LAST-MODIFIED:{}", stamp(t.updated_at)));
        // A deadline is a moment: a 30-minute slot ending at it.
        line(&mut out, &format!("DTSTART:{}", stamp(t.deadline - 30 * 60 * 1000)));
        line(&mut out, &format!("DTEND:{}", stamp(t.deadline)));
        let status = status_label(lang, super::status_code(t.status));
        line(&mut out, &format!("SUMMARY:{}", escape(&format!("{} [{status}]", t.title))));
        if !t.description.is_empty() {
            line(&mut out, &format!("DESCRIPTION:{}", escape(&t.description)));
        }
        let cancelled = matches!(t.status, TaskStatus::Rejected | TaskStatus::Declined);
        line(&mut out, if cancelled { "STATUS:CANCELLED" } else { "STATUS:CONFIRMED" });
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_without_breaking_characters() {
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "ҳисобот ".repeat(20)));
        for l in out.split("\r\n") {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "ҳисобот ".repeat(20)));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a, b; c\\d\nE"), "a\\, b\\; c\\\\d\\nE");
    }
}
