//! reports: the scheduled reports a company sends (who gets which report when).

use super::*;
use serde::{Deserialize, Serialize};

/// schedule id → [`ReportScheduleRecord`].
pub const REPORT_SCHEDULES: Records<u64, ReportScheduleRecord> = Records::new("report_schedules");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(REPORT_SCHEDULES.def())?;
    Ok(())
}

/// A report sent on a schedule: report `report` of the period just ended
/// (`previous`) or under way (`current`) — a day, week or month as `every`
/// says — to each recipient, computed as them, at `minute` (company time)
/// every day, every `weekday` (1 = Monday … 7 = Sunday) or every month on
/// `day` (the month's last day when it has fewer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportScheduleV1 {
    pub report: String,
    /// `previous` or `current`.
    pub period: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub recipients: Vec<u64>,
    /// `day`, `week` or `month`.
    pub every: String,
    pub weekday: u8,
    pub day: u8,
    /// Minutes after local midnight.
    pub minute: u16,
    pub in_app: bool,
    pub telegram: bool,
    pub created_by: u64,
    pub created_at: i64,
    /// The scheduled moment (ms) last sent for: a restart does not send it
    /// again, and after downtime only the latest missed one goes.
    pub last_run: Option<i64>,
    /// Recipients left out at the last run, with the reason's catalogue key.
    pub skipped: Vec<(u64, String)>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReportScheduleRecord {
    V1(ReportScheduleV1),
}
versioned!(ReportScheduleRecord, ReportScheduleV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![record(ReportScheduleRecord::V1(ReportScheduleV1 {
            report: "department".into(),
            period: "previous".into(),
            department_id: Some(2),
            branch_id: None,
            recipients: vec![3, 4],
            every: "week".into(),
            weekday: 1,
            day: 1,
            minute: 540,
            in_app: true,
            telegram: true,
            created_by: 2,
            created_at: 1_764_000_000_000,
            last_run: Some(1_764_561_600_000),
            skipped: vec![(4, "report_schedules.skip.forbidden".into())],
        }))]
    }

    /// Every stored enum of this domain, each variant with its bytes.
    pub fn enums() -> Vec<Pinned> {
        vec![]
    }
}
