//! Scheduled reports (being written).
