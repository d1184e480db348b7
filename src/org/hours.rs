//! A branch's week: when it opens and closes each day. One type answers
//! every question the product asks of hours — is it open now, when does it
//! close, when does it open next, which days share hours — for the kiosk,
//! the public page, taking and expiring tickets and the booking grid.

use crate::store::schema::DayHours;

/// Minutes in a day; a branch may close at 24:00.
pub const DAY_MINUTES: u16 = 24 * 60;

/// A branch's hours: `None` is open round the clock; otherwise each weekday
/// (Monday first) is `Some((opens, closes))` in minutes from midnight, or
/// `None` when closed that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekHours(pub Option<[DayHours; 7]>);

/// When a closed branch opens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// 0 today, 1 tomorrow, …
    pub days_ahead: usize,
    pub weekday: usize,
    pub minute: u16,
}

impl WeekHours {
    pub fn of(hours: &Option<[DayHours; 7]>) -> WeekHours {
        WeekHours(*hours)
    }

    pub fn round_the_clock(&self) -> bool {
        self.0.is_none()
    }

    /// A weekday's `(opens, closes)`; `None` when closed all day.
    pub fn day(&self, weekday: usize) -> Option<(u16, u16)> {
        match &self.0 {
            None => Some((0, DAY_MINUTES)),
            Some(days) => days.get(weekday).copied().flatten(),
        }
    }

    /// Whether the branch is open at this local weekday and minute.
    pub fn is_open(&self, weekday: usize, minute: u16) -> bool {
        self.day(weekday).is_some_and(|(open, close)| open <= minute && minute < close)
    }

    /// Whether the branch is shut for the rest of this day: closed all day,
    /// or past its closing time. Never for a branch open round the clock.
    pub fn closed_for_the_day(&self, weekday: usize, minute: u16) -> bool {
        !self.round_the_clock() && self.day(weekday).is_none_or(|(_, close)| minute >= close)
    }

    /// When a branch closed at `weekday`/`minute` opens next; `None` when
    /// it is open now, open round the clock, or never opens.
    pub fn next_opening(&self, weekday: usize, minute: u16) -> Option<Opening> {
        let days = self.0.as_ref()?;
        for days_ahead in 0..8 {
            let d = (weekday + days_ahead) % 7;
            let Some((open, close)) = days.get(d).copied().flatten() else { continue };
            if days_ahead == 0 && minute >= open {
                if minute < close {
                    return None;
                }
                continue;
            }
            return Some(Opening { days_ahead, weekday: d, minute: open });
        }
        None
    }

    /// Runs of days with the same hours, Monday first: `(first, last,
    /// hours)`. Empty for a branch open round the clock.
    pub fn runs(&self) -> Vec<(usize, usize, DayHours)> {
        let Some(days) = &self.0 else { return Vec::new() };
        let mut out: Vec<(usize, usize, DayHours)> = Vec::new();
        for (i, day) in days.iter().enumerate() {
            match out.last_mut() {
                Some((_, last, hours)) if hours == day => *last = i,
                _ => out.push((i, i, *day)),
            }
        }
        out
    }
}

/// The week in words, days with the same hours grouped ("Mon–Fri
/// 09:00–18:00, Sat 10:00–14:00"), as lists and the audit log show it.
pub fn summary(lang: crate::i18n::Lang, hours: &Option<[DayHours; 7]>) -> String {
    use crate::i18n::{t, weekday_short};
    let week = WeekHours::of(hours);
    if week.round_the_clock() {
        return t(lang, "admin.branches.always").to_string();
    }
    let hhmm = crate::org::service::format_hhmm;
    let mut parts = Vec::new();
    for (i, j, day) in week.runs() {
        if let Some((o, c)) = day {
            let span = if i == j {
                weekday_short(lang, i).to_string()
            } else {
                format!("{}–{}", weekday_short(lang, i), weekday_short(lang, j))
            };
            parts.push(format!("{span} {}–{}", hhmm(o), hhmm(c)));
        }
    }
    if parts.is_empty() { t(lang, "admin.branches.always_closed").to_string() } else { parts.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week() -> WeekHours {
        let wd = Some((9 * 60, 18 * 60));
        WeekHours(Some([wd, wd, wd, wd, wd, Some((9 * 60, 14 * 60)), None]))
    }

    #[test]
    fn open_closed_and_next_opening() {
        let w = week();
        assert!(w.is_open(0, 9 * 60) && !w.is_open(0, 18 * 60) && !w.is_open(6, 12 * 60));
        assert!(w.closed_for_the_day(0, 18 * 60) && !w.closed_for_the_day(0, 17 * 60) && w.closed_for_the_day(6, 0));
        assert_eq!(w.next_opening(0, 8 * 60), Some(Opening { days_ahead: 0, weekday: 0, minute: 540 }));
        assert_eq!(w.next_opening(0, 10 * 60), None, "open now");
        assert_eq!(w.next_opening(5, 15 * 60), Some(Opening { days_ahead: 2, weekday: 0, minute: 540 }), "Saturday after 14:00: Monday");
        let always = WeekHours(None);
        assert!(always.is_open(6, 23 * 60 + 59) && !always.closed_for_the_day(3, 0) && always.next_opening(0, 0).is_none());
        assert_eq!(always.day(2), Some((0, DAY_MINUTES)));
    }

    #[test]
    fn runs_group_days_with_the_same_hours() {
        assert_eq!(week().runs(), vec![(0, 4, Some((540, 1080))), (5, 5, Some((540, 840))), (6, 6, None)]);
        assert!(WeekHours(None).runs().is_empty());
        assert_eq!(crate::org::service::format_hhmm(1440), "24:00");
    }
}
