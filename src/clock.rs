//! Time source. Every domain rule asks the clock, never the system, so that
//! tests can move time (overdue tasks, ticket expiry) without sleeping.

use jiff::Timestamp;
use std::sync::Mutex;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to; used by tests through the library API.
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock { now: Mutex::new(start) }
    }

    pub fn set(&self, t: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The wall clock, which `idora serve --demo` may set back for a moment:
/// the demo's history (tasks done weeks ago, this morning's queue) is
/// written through the same core as everything else, at the times it
/// pretends to have happened, then time runs on from now again.
pub struct DemoClock {
    /// Where the clock stands while set; `None`: the wall clock.
    at: Mutex<Option<Timestamp>>,
}

impl DemoClock {
    pub fn new() -> Self {
        DemoClock { at: Mutex::new(None) }
    }

    /// Stands the clock at `t`; `None` lets it run with the wall clock again.
    pub fn set(&self, t: Option<Timestamp>) {
        *self.at.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

impl Default for DemoClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Timestamp {
        self.at.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_else(Timestamp::now)
    }
}

/// Milliseconds since the Unix epoch: the one way times are stored.
pub fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The start (ms) of the day `plus_days` after `date` (`YYYY-MM-DD`) in
/// time zone `tz`; `None` if it is not a date.
pub fn day_start_ms(date: &str, tz: &jiff::tz::TimeZone, plus_days: i32) -> Option<i64> {
    let d: jiff::civil::Date = date.trim().parse().ok()?;
    let d = d.checked_add(jiff::Span::new().days(plus_days)).ok()?;
    let z = d.to_zoned(tz.clone()).ok()?;
    Some(to_ms(z.timestamp()))
}
