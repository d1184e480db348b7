//! Reports and histories as files.
//!
//! * **CSV**: UTF-8 with a BOM (so that Excel reads Cyrillic right), a
//!   header of the columns' labels, the rows, the totals row (labelled
//!   "Total"), CRLF line ends. `;` between fields is what Excel in Russian
//!   or Uzbek expects (and numbers then take the language's decimal
//!   comma); `,` is the English one (numbers with a point). A field that a
//!   spreadsheet would run as a formula (`= + - @` first) gets a `'` before
//!   it; fields with the separator, a quote or a line break are quoted.
//!   A length of time is `h:mm` (what Excel reads as a time).
//! * **XLSX** (`rust_xlsxwriter`): typed cells — numbers as numbers, a
//!   percentage as a fraction shown `0.0%`, durations as Excel times
//!   `[h]:mm`, days as dates, moments as local date-times in the company's
//!   zone — a bold, frozen header row, column widths from the content
//!   (capped), one sheet per table, the totals row bold.
//!
//! [`CsvStream`] and [`XlsxStream`] write a row at a time: a history of a
//! million rows goes to the HTTP body (CSV) or to a constant-memory
//! worksheet in a temp file (XLSX) without being held whole.

use super::{Cell, Column, Kind, Report, Table};
use crate::error::AppError;
use crate::i18n::{Lang, t};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// A field of a CSV line: never a formula, quoted when it must be.
pub fn csv_field(v: &str, sep: char) -> String {
    // A leading =, +, - or @ would be a formula to a spreadsheet.
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_string() };
    if v.contains([sep, '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

/// The separator asked for (`;` or `,`), else the reader's language's:
/// `,` in English, `;` in Uzbek and Russian (what Excel there expects).
pub fn separator(lang: Lang, asked: Option<&str>) -> char {
    match asked.map(str::trim) {
        Some(";") => ';',
        Some(",") => ',',
        _ if lang == Lang::En => ',',
        _ => ';',
    }
}

fn io_err(e: std::io::Error) -> AppError {
    AppError::internal(anyhow::anyhow!("export: {e}"))
}

fn xlsx_err(e: XlsxError) -> AppError {
    AppError::internal(anyhow::anyhow!("xlsx: {e}"))
}

/// A CSV file written a line at a time.
pub struct CsvStream<W: Write> {
    out: W,
    sep: char,
    lang: Lang,
    /// Numbers' language: the reader's with `;`, English (a point) with `,`.
    num_lang: Lang,
    tz: TimeZone,
    kinds: Vec<Kind>,
    line: String,
}

impl<W: Write> CsvStream<W> {
    /// Writes the BOM and the header.
    pub fn new(out: W, columns: &[Column], lang: Lang, tz: &TimeZone, sep: char) -> Result<CsvStream<W>, AppError> {
        let num_lang = if sep == ',' { Lang::En } else { lang };
        let mut s =
            CsvStream { out, sep, lang, num_lang, tz: tz.clone(), kinds: columns.iter().map(|c| c.kind).collect(), line: String::new() };
        s.out.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
        let labels: Vec<Cell> = columns.iter().map(|c| Cell::Text(c.label.clone())).collect();
        s.write_line(&labels, true)?;
        Ok(s)
    }

    fn write_line(&mut self, cells: &[Cell], all_text: bool) -> Result<(), AppError> {
        self.line.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(self.sep);
            }
            let kind = if all_text { Kind::Text } else { self.kinds.get(i).copied().unwrap_or(Kind::Text) };
            match cell {
                Cell::Text(s) => self.line.push_str(&csv_field(s, self.sep)),
                // A length of time as Excel reads one: hours and minutes.
                Cell::Secs(secs) => {
                    let m = ((*secs).max(0) + 30) / 60;
                    self.line.push_str(&format!("{}:{:02}", m / 60, m % 60));
                }
                other => {
                    // Numbers, days and moments: no formula to fear; quoted only if they hold the separator.
                    let v = other.text(kind, self.num_lang, &self.tz);
                    if v.contains(self.sep) {
                        self.line.push_str(&format!("\"{v}\""));
                    } else {
                        self.line.push_str(&v);
                    }
                }
            }
        }
        self.line.push_str("\r\n");
        self.out.write_all(self.line.as_bytes()).map_err(io_err)
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        self.write_line(cells, false)
    }

    /// The totals row, "Total" in its first cell when that is empty.
    pub fn totals(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        let mut cells = cells.to_vec();
        if let Some(first) = cells.first_mut()
            && matches!(first, Cell::Empty)
        {
            *first = Cell::Text(t(self.lang, "report.total").to_string());
        }
        self.write_line(&cells, false)
    }

    pub fn flush(&mut self) -> Result<(), AppError> {
        self.out.flush().map_err(io_err)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The report's main table (and its totals row) as CSV.
pub fn csv(report: &Report, lang: Lang, tz: &TimeZone, sep: char) -> String {
    let table = &report.table;
    let write = || -> Result<Vec<u8>, AppError> {
        let mut s = CsvStream::new(Vec::new(), &table.columns, lang, tz, sep)?;
        for r in &table.rows {
            s.row(r)?;
        }
        if let Some(totals) = &table.totals {
            s.totals(totals)?;
        }
        Ok(s.into_inner())
    };
    write().ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default()
}

// ---------- XLSX ----------

/// The widest a column gets, in characters.
const MAX_WIDTH: usize = 50;
/// The last row index a worksheet has (Excel's limit is 1,048,576 rows).
const LAST_ROW: u32 = 1_048_575;

/// Days since Excel's day 0 (1899-12-30) of `d`.
fn excel_day(d: Date) -> f64 {
    let zero = jiff::civil::date(1899, 12, 30);
    f64::from((d - zero).get_days())
}

/// The cell formats: one per kind, plain and bold (the totals).
struct Formats {
    header: Format,
    plain: [Format; 7],
    bold: [Format; 7],
}

fn kind_index(k: Kind) -> usize {
    match k {
        Kind::Text => 0,
        Kind::Integer => 1,
        Kind::Number => 2,
        Kind::Percent => 3,
        Kind::Duration => 4,
        Kind::Date => 5,
        Kind::DateTime => 6,
    }
}

impl Formats {
    fn new() -> Formats {
        let of = |bold: bool| {
            let base = || if bold { Format::new().set_bold() } else { Format::new() };
            [
                base(),
                base().set_num_format("0"),
                base().set_num_format("0.00"),
                base().set_num_format("0.0%"),
                base().set_num_format("[h]:mm"),
                base().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left),
                base().set_num_format("yyyy-mm-dd hh:mm").set_align(FormatAlign::Left),
            ]
        };
        Formats { header: Format::new().set_bold(), plain: of(false), bold: of(true) }
    }

    fn of(&self, kind: Kind, bold: bool) -> &Format {
        let set = if bold { &self.bold } else { &self.plain };
        // kind_index is below 7 always; the header's format is never wrong.
        set.get(kind_index(kind)).unwrap_or(&self.header)
    }
}

/// Writes one cell by its column's kind; returns how wide it shows.
#[allow(clippy::too_many_arguments)]
fn put(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    kind: Kind,
    fmt: &Formats,
    bold: bool,
    tz: &TimeZone,
) -> Result<usize, XlsxError> {
    let f = fmt.of(kind, bold);
    match cell {
        Cell::Empty => {
            if bold {
                ws.write_blank(row, col, f)?;
            }
            Ok(0)
        }
        Cell::Text(s) => {
            ws.write_string_with_format(row, col, s, f)?;
            Ok(s.chars().count())
        }
        Cell::Int(n) => {
            ws.write_number_with_format(row, col, *n as f64, f)?;
            Ok(n.to_string().len())
        }
        Cell::Num(v) if kind == Kind::Percent => {
            ws.write_number_with_format(row, col, v / 100.0, f)?;
            Ok(7)
        }
        Cell::Num(v) => {
            ws.write_number_with_format(row, col, *v, f)?;
            Ok(format!("{v:.2}").len())
        }
        Cell::Secs(s) => {
            ws.write_number_with_format(row, col, *s as f64 / 86_400.0, f)?;
            Ok(7)
        }
        Cell::Date(d) => {
            ws.write_number_with_format(row, col, excel_day(*d), f)?;
            Ok(10)
        }
        Cell::Time(ms) => {
            let dt = crate::clock::from_ms(*ms).to_zoned(tz.clone()).datetime();
            let secs = i32::from(dt.hour()) * 3600 + i32::from(dt.minute()) * 60 + i32::from(dt.second());
            ws.write_number_with_format(row, col, excel_day(dt.date()) + f64::from(secs) / 86_400.0, f)?;
            Ok(16)
        }
    }
}

/// A valid sheet name, unique in `taken`: at most 31 characters, none of
/// `[ ] : * ? / \`, not starting or ending with `'`.
fn sheet_name(wanted: &str, fallback: &str, taken: &mut HashSet<String>) -> String {
    let clean = |s: &str| -> String {
        let s: String = s.chars().map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c }).collect();
        s.trim().trim_matches('\'').trim().to_string()
    };
    let mut base = clean(wanted);
    if base.is_empty() {
        base = clean(fallback);
    }
    if base.is_empty() {
        base = "Sheet".into();
    }
    let cut = |s: &str, n: usize| -> String { s.chars().take(n).collect::<String>().trim_end().to_string() };
    let mut name = cut(&base, 31);
    let mut i = 2;
    while taken.contains(&name.to_lowercase()) {
        let tail = format!(" ({i})");
        name = format!("{}{tail}", cut(&base, 31 - tail.chars().count()));
        i += 1;
    }
    taken.insert(name.to_lowercase());
    name
}

fn width_of(chars: usize) -> f64 {
    (chars.clamp(6, MAX_WIDTH) + 2) as f64
}

/// Header, bold and frozen.
fn header(ws: &mut Worksheet, columns: &[Column], fmt: &Formats, widths: &mut [usize]) -> Result<(), XlsxError> {
    for ((i, c), w) in columns.iter().enumerate().zip(widths.iter_mut()) {
        let col = u16::try_from(i).unwrap_or(u16::MAX);
        ws.write_string_with_format(0, col, &c.label, &fmt.header)?;
        *w = (*w).max(c.label.chars().count());
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn set_widths(ws: &mut Worksheet, widths: &[usize]) -> Result<(), XlsxError> {
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(u16::try_from(i).unwrap_or(u16::MAX), width_of(*w))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_row(
    ws: &mut Worksheet,
    row: u32,
    columns: &[Column],
    cells: &[Cell],
    fmt: &Formats,
    bold: bool,
    tz: &TimeZone,
    widths: &mut [usize],
) -> Result<(), XlsxError> {
    for (((i, cell), c), w) in cells.iter().enumerate().zip(columns).zip(widths.iter_mut()) {
        let shown = put(ws, row, u16::try_from(i).unwrap_or(u16::MAX), cell, c.kind, fmt, bold, tz)?;
        *w = (*w).max(shown);
    }
    Ok(())
}

fn table_sheet(
    wb: &mut Workbook,
    table: &Table,
    lang: Lang,
    tz: &TimeZone,
    fmt: &Formats,
    taken: &mut HashSet<String>,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name(&table.title, table.key, taken))?;
    let mut widths = vec![0usize; table.columns.len()];
    header(ws, &table.columns, fmt, &mut widths)?;
    let mut row = 1u32;
    for r in &table.rows {
        write_row(ws, row, &table.columns, r, fmt, false, tz, &mut widths)?;
        row += 1;
    }
    if let Some(totals) = &table.totals {
        let mut cells = totals.clone();
        if let Some(first) = cells.first_mut()
            && matches!(first, Cell::Empty)
        {
            *first = Cell::Text(t(lang, "report.total").to_string());
        }
        write_row(ws, row, &table.columns, &cells, fmt, true, tz, &mut widths)?;
    }
    set_widths(ws, &widths)
}

/// The report as an XLSX workbook: one sheet per table.
pub fn xlsx(report: &Report, lang: Lang, tz: &TimeZone) -> Result<Vec<u8>, AppError> {
    let mut wb = Workbook::new();
    let fmt = Formats::new();
    let mut taken = HashSet::new();
    for table in report.tables() {
        table_sheet(&mut wb, table, lang, tz, &fmt, &mut taken).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

/// One big table written a row at a time into constant-memory worksheets
/// (their rows go to temp files in `tempdir`, never held): a new sheet
/// after Excel's 1,048,576 rows.
pub struct XlsxStream {
    wb: Workbook,
    fmt: Formats,
    columns: Vec<Column>,
    tz: TimeZone,
    title: String,
    taken: HashSet<String>,
    sheet: usize,
    row: u32,
    widths: Vec<usize>,
}

impl XlsxStream {
    pub fn new(tempdir: &Path, title: &str, columns: Vec<Column>, tz: &TimeZone) -> Result<XlsxStream, AppError> {
        let mut wb = Workbook::new();
        wb.set_tempdir(tempdir).map_err(xlsx_err)?;
        let widths = vec![0; columns.len()];
        let mut s = XlsxStream {
            wb,
            fmt: Formats::new(),
            columns,
            tz: tz.clone(),
            title: title.to_string(),
            taken: HashSet::new(),
            sheet: 0,
            row: 0,
            widths,
        };
        s.new_sheet().map_err(xlsx_err)?;
        Ok(s)
    }

    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        if self.row > 0 {
            let ws = self.wb.worksheet_from_index(self.sheet)?;
            set_widths(ws, &self.widths)?;
            self.sheet += 1;
        }
        let name = sheet_name(&self.title, "data", &mut self.taken);
        let ws = self.wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        header(ws, &self.columns, &self.fmt, &mut self.widths)?;
        self.row = 1;
        Ok(())
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), AppError> {
        if self.row > LAST_ROW {
            self.new_sheet().map_err(xlsx_err)?;
        }
        let ws = self.wb.worksheet_from_index(self.sheet).map_err(xlsx_err)?;
        write_row(ws, self.row, &self.columns, cells, &self.fmt, false, &self.tz, &mut self.widths).map_err(xlsx_err)?;
        self.row += 1;
        Ok(())
    }

    /// Sets the last sheet's widths and writes the workbook to `path`.
    pub fn finish(mut self, path: &Path) -> Result<(), AppError> {
        let ws = self.wb.worksheet_from_index(self.sheet).map_err(xlsx_err)?;
        set_widths(ws, &self.widths).map_err(xlsx_err)?;
        self.wb.save(path).map_err(xlsx_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Kassa", ';'), "Kassa");
        assert_eq!(csv_field("a;b", ';'), "\"a;b\"");
        assert_eq!(csv_field("a;b", ','), "a;b");
        assert_eq!(csv_field("say \"hi\"", ','), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1", ','), "'=1+1");
        assert_eq!(csv_field("@SUM(A1)", ','), "'@SUM(A1)");
        assert_eq!(csv_field("-5", ','), "'-5");
        assert_eq!(csv_field("+998", ';'), "'+998");
    }

    #[test]
    fn the_separator_follows_the_language_unless_asked() {
        assert_eq!(separator(Lang::Ru, None), ';');
        assert_eq!(separator(Lang::Uz, None), ';');
        assert_eq!(separator(Lang::En, None), ',');
        assert_eq!(separator(Lang::En, Some(";")), ';');
        assert_eq!(separator(Lang::Ru, Some(",")), ',');
    }

    #[test]
    fn numbers_take_the_decimal_comma_only_with_semicolons() {
        let tz = TimeZone::get("Asia/Tashkent").unwrap();
        let cols = vec![
            Column { key: "a", label: "A".into(), kind: Kind::Text },
            Column { key: "b", label: "B".into(), kind: Kind::Number },
            Column { key: "c", label: "C".into(), kind: Kind::Integer },
        ];
        let row = [Cell::Text("x".into()), Cell::Num(4.5), Cell::Int(-3)];
        let mut s = CsvStream::new(Vec::new(), &cols, Lang::Ru, &tz, ';').unwrap();
        s.row(&row).unwrap();
        let out = String::from_utf8(s.into_inner()).unwrap();
        assert_eq!(out, "\u{feff}A;B;C\r\nx;4,50;-3\r\n");
        let mut s = CsvStream::new(Vec::new(), &cols, Lang::Ru, &tz, ',').unwrap();
        s.row(&row).unwrap();
        s.totals(&[Cell::Empty, Cell::Num(1.0), Cell::Int(2)]).unwrap();
        let out = String::from_utf8(s.into_inner()).unwrap();
        assert_eq!(out, "\u{feff}A,B,C\r\nx,4.50,-3\r\nИтого,1.00,2\r\n".replace("Итого", t(Lang::Ru, "report.total")));
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(sheet_name("Vazifalar: tarix/2026", "x", &mut taken), "Vazifalar  tarix 2026");
        let long = "A very long title of a table that goes on";
        let a = sheet_name(long, "x", &mut taken);
        let b = sheet_name(long, "x", &mut taken);
        assert!(a.chars().count() <= 31 && b.chars().count() <= 31, "{a} {b}");
        assert_ne!(a.to_lowercase(), b.to_lowercase());
        assert!(b.ends_with(" (2)"));
        assert_eq!(sheet_name("'''", "tasks", &mut taken), "tasks");
    }

    #[test]
    fn excel_days_count_from_1899_12_30() {
        assert_eq!(excel_day(jiff::civil::date(1900, 1, 1)), 2.0);
        assert_eq!(excel_day(jiff::civil::date(2026, 12, 5)), 46361.0);
    }
}
