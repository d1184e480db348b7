//! Charts of a report, drawn on the server (being written): SVG for pages,
//! the same SVG rasterised to PNG for Telegram and exports.

use super::Chart;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;

/// The chart as an SVG document `width`×`height` (CSS pixels), with a
/// title and a text description for screen readers.
pub fn svg(_chart: &Chart, _lang: Lang, _width: u32, _height: u32) -> String {
    String::new()
}

/// The same chart as a PNG image.
pub fn png(_chart: &Chart, _lang: Lang, _width: u32, _height: u32) -> Result<Vec<u8>, AppError> {
    Err(ErrorKind::NotFound.into())
}
