//! Google Sheets (being written).
