//! The electronic queue: services and operators (setup), tickets and their
//! numbers, the operator's window (who is called next), bookings, the
//! public pages (kiosk, display board, tracking) and the stats.

pub mod booking;
pub mod service;
pub mod stats;
pub mod tickets;
pub mod window;
