//! Request statistics (filled by the statistics work).
