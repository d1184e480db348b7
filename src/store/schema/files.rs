//! Uploaded files: their records, who references them, the content blobs
//! they share, the company's storage in use and its file settings.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// file id (the company's `file` sequence) → [`FileRecord`].
pub const FILES: Records<u64, FileRecord> = Records::new("files");
/// (file id, message id) → thread id: who references a file. A file with no
/// row here is garbage once it is older than the grace period (`files::gc`).
pub const FILE_REFS: TableDefinition<(u64, u64), u64> = TableDefinition::new("file_refs");
/// content sha256 (hex) → (how many records use it, as their content or as
/// their thumbnail; its size in bytes). Written with the records; its bytes
/// are deleted (after the commit) when the count falls to zero.
pub const FILE_BLOBS: TableDefinition<&str, (u64, u64)> = TableDefinition::new("file_blobs");
/// `bytes` → the sum of the sizes in [`FILE_BLOBS`]: what counts against
/// the company's storage quota, kept in the same transactions.
pub const FILE_USAGE: TableDefinition<&str, u64> = TableDefinition::new("file_usage");
/// `SETTINGS["files"]`: the company's file limits.
pub const FILE_SETTINGS: Setting<FileSettingsRecord> = Setting::new("files");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(FILES.def())?;
    t.table(FILE_REFS)?;
    t.table(FILE_BLOBS)?;
    t.table(FILE_USAGE)?;
    Ok(())
}

/// One uploaded file. The bytes live in the storage backend under their
/// sha256; several records may share them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileV1 {
    /// sha256 of the content, lower-case hex.
    pub sha256: String,
    /// The name as the uploader gave it (sanitized), for display and download only.
    pub name: String,
    pub size: u64,
    /// Sniffed from the content, never taken from the client.
    pub mime: String,
    /// The user who uploaded it.
    pub uploader: u64,
    /// ms since the epoch.
    pub created_at: i64,
    /// sha256 of its thumbnail (a JPEG), once made.
    pub thumb: Option<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FileRecord {
    V1(FileV1),
}
versioned!(FileRecord, FileV1, V1);

/// A company's file limits; without the setting, the defaults of `files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSettingsV1 {
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// All the company's files together, in bytes.
    pub quota_bytes: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FileSettingsRecord {
    V1(FileSettingsV1),
}
versioned!(FileSettingsRecord, FileSettingsV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(FileRecord::V1(FileV1 {
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                name: "hisobot.pdf".into(),
                size: 48_213,
                mime: "application/pdf".into(),
                uploader: 7,
                created_at: 1_764_000_000_000,
                thumb: Some("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae".into()),
            })),
            record(FileSettingsRecord::V1(FileSettingsV1 { max_file_bytes: 50 * 1024 * 1024, quota_bytes: 5 * 1024 * 1024 * 1024 })),
        ]
    }
}
