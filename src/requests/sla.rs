//! SLA: due times from a category's targets, counted round the clock or in
//! the branch's working hours; the job that marks breaches once.
//!
//! INTERIM: `due` counts every minute until the working-hours clock lands.

use crate::error::AppError;
use crate::store::Txn;
use crate::store::schema::RequestCategoryV1;

/// When `minutes` of the category's clock have passed after `start` (ms).
pub fn due(_tx: &impl Txn, _cat: &RequestCategoryV1, start: i64, minutes: u32) -> Result<i64, AppError> {
    Ok(start.saturating_add(i64::from(minutes) * 60_000))
}
