//! A fake Google token endpoint and Sheets API (being written).
