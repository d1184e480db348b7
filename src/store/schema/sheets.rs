//! The company's Google Sheets export: the connection (a service account's
//! key, sealed with the box's key; the spreadsheet; the tables; when it
//! syncs) and the last sync's result.
//!
//! Platform side: [`SHEETS_DUE`] lists the companies with a scheduled sync
//! and when it is next due, so that the minute's look opens only the files
//! of companies whose sync has come.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Row 0 → [`SheetsConfigRecord`]: the company's Sheets connection, while one exists.
pub const SHEETS_CONFIG: Records<u64, SheetsConfigRecord> = Records::new("sheets_config");
/// Row 0 → [`SheetsSyncRecord`]: the last sync that ended (done or failed).
pub const SHEETS_SYNC: Records<u64, SheetsSyncRecord> = Records::new("sheets_sync");
/// In `platform.redb`: slug → when the company's scheduled sync is next due
/// (ms). Only companies with an hourly or daily schedule are listed.
pub const SHEETS_DUE: TableDefinition<&str, i64> = TableDefinition::new("sheets_due");

/// Creates the tables of this domain in a company's file.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(SHEETS_CONFIG.def())?;
    t.table(SHEETS_SYNC.def())?;
    Ok(())
}

/// Creates the tables of this domain in `platform.redb`.
pub(super) fn init_platform<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(SHEETS_DUE)?;
    Ok(())
}

/// How often the sync runs by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SheetsEvery {
    /// Only when someone presses "Sync now".
    Manual,
    /// At the start of every hour.
    Hourly,
    /// Once a day at `at_minute` (company time).
    Daily,
}

/// The company's Sheets connection. The key is a secret: stored only sealed
/// (`auth::tokens::Keys::seal`, context `sheets:<slug>`), never shown again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetsConfigV1 {
    /// The service account's JSON key, sealed.
    pub sealed_key: Vec<u8>,
    /// The service account (`…@….iam.gserviceaccount.com`): the spreadsheet
    /// is shared with it.
    pub client_email: String,
    /// Which key it is, masked (the start and end of its `private_key_id`).
    pub key_hint: String,
    pub spreadsheet_id: String,
    /// The history tables synced, each to its own sheet (`points`, `tasks`…).
    pub tables: Vec<String>,
    pub every: SheetsEvery,
    /// For [`SheetsEvery::Daily`]: minutes after midnight, company time.
    pub at_minute: u16,
    /// The language of the sheets' headers and texts (`uz`, `ru`, `en`):
    /// the one of whoever saved the connection last.
    pub lang: String,
    /// When the scheduled sync is next due (ms), if one is scheduled.
    pub next_at: Option<i64>,
    pub connected_at: i64,
    pub connected_by: u64,
    pub updated_at: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SheetsConfigRecord {
    V1(SheetsConfigV1),
}
versioned!(SheetsConfigRecord, SheetsConfigV1, V1);

/// Why a sync failed: a catalogue key (`sheets.error.*`) shown in the
/// reader's language, and what Google or the network said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetsErrorV1 {
    pub key: String,
    pub detail: String,
}

/// A sync that ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetsSyncV1 {
    pub started_at: i64,
    pub finished_at: i64,
    /// Who pressed "Sync now"; 0: the schedule.
    pub by: u64,
    /// Rows written (headers not counted), over every table.
    pub rows: u64,
    /// Rows written per table, in the order synced.
    pub tables: Vec<(String, u64)>,
    pub error: Option<SheetsErrorV1>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SheetsSyncRecord {
    V1(SheetsSyncV1),
}
versioned!(SheetsSyncRecord, SheetsSyncV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(SheetsConfigRecord::V1(SheetsConfigV1 {
                sealed_key: vec![1, 2, 3, 4, 5],
                client_email: "idora-sync@demo-bank.iam.gserviceaccount.com".into(),
                key_hint: "3f2a…91c0".into(),
                spreadsheet_id: "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms".into(),
                tables: vec!["points".into(), "tasks".into()],
                every: SheetsEvery::Daily,
                at_minute: 540,
                lang: "uz".into(),
                next_at: Some(1_764_046_800_000),
                connected_at: 1_764_000_000_000,
                connected_by: 3,
                updated_at: 1_764_000_600_000,
            })),
            record(SheetsSyncRecord::V1(SheetsSyncV1 {
                started_at: 1_764_046_800_000,
                finished_at: 1_764_046_812_000,
                by: 0,
                rows: 1250,
                tables: vec![("points".into(), 1250)],
                error: Some(SheetsErrorV1 { key: "sheets.error.not_shared".into(), detail: "403 PERMISSION_DENIED".into() }),
            })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &SheetsEvery| -> &'static [u8] {
            match v {
                SheetsEvery::Manual => &[0],
                SheetsEvery::Hourly => &[1],
                SheetsEvery::Daily => &[2],
            }
        })]
    }
}
