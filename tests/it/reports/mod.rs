//! Reports: the figures of every report against hand-computed values on a
//! seeded company, who sees what, the files (CSV, XLSX), Google Sheets,
//! scheduled reports.

mod engine;
mod exports;
mod schedule;
mod sheets;
mod tasks;
