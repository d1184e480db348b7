//! The daily digest: at the company's digest time (09:00 by default, company
//! time zone), each linked employee gets their open and overdue tasks; each
//! manager and director also their department's or company's figures with a
//! chart.

use crate::app::AppState;

/// The minute's look: sends the digest of every company whose time has come
/// today and has not had it. Returns how many companies it sent for.
pub async fn tick(_state: &AppState) -> usize {
    0
}
