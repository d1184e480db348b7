//! Moving a company between boxes: [`export`] writes one company (its
//! database at one point in time, its files, its rows in `platform.redb`)
//! into an archive of kind Company while the company is read-only;
//! [`import`] puts such an archive in place on another box and serves the
//! company at once, with the same slug, users and passwords, and every
//! session ended.

use crate::app::AppState;
use crate::error::{AppError, ErrorKind};
use std::path::Path;

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub slug: String,
    /// The archive's size.
    pub bytes: u64,
    /// Uploaded files in it.
    pub files: u64,
}

/// What [`import`] put in place.
#[derive(Debug, Clone)]
pub struct Imported {
    pub slug: String,
    /// The company's user accounts (they sign in again with their passwords).
    pub users: u64,
}

/// Writes company `slug` into the archive `out`. The company is read-only
/// while this runs (its writes answer 503 with a clear message).
pub async fn export(_state: &AppState, slug: &str, _out: &Path) -> Result<Exported, AppError> {
    Err(AppError::new(ErrorKind::Unavailable).with_detail(format!("company export of {slug} is not built yet")))
}

/// Puts the company in the archive `file` on this box and serves it.
pub async fn import(_state: &AppState, file: &Path) -> Result<Imported, AppError> {
    Err(AppError::new(ErrorKind::Unavailable).with_detail(format!("company import of {} is not built yet", file.display())))
}
