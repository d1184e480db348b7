//! The electronic queue: services and operators (setup), tickets and their
//! numbers, the operator's window (who is called next), bookings, the
//! public pages (kiosk, display board, tracking) and the stats.

pub mod api;
pub mod booking;
pub mod live;
pub mod pages;
pub mod service;
pub mod staff;
pub mod stats;
pub mod tickets;
pub mod visit;
pub mod window;
