//! See `ops`.
