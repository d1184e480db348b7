//! Reports as files (being written): CSV (UTF-8 with BOM, `;` or `,`) and
//! XLSX (typed cells, a frozen header, one sheet per table).

use super::Report;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use jiff::tz::TimeZone;

/// The report's main table (and its totals row) as CSV.
pub fn csv(_report: &Report, _lang: Lang, _tz: &TimeZone, _sep: char) -> String {
    String::new()
}

/// The report as an XLSX workbook: one sheet per table.
pub fn xlsx(_report: &Report, _lang: Lang, _tz: &TimeZone) -> Result<Vec<u8>, AppError> {
    Err(ErrorKind::NotFound.into())
}
