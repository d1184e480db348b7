//! The electronic queue: services and operators (setup), tickets and their
//! numbers, the operator's window (who is called next), bookings, the
//! public pages (kiosk, display board, tracking), the stats, and tickets
//! taken through the company's Telegram bot.

pub mod booking;
pub mod service;
pub mod stats;
pub mod telegram;
pub mod tickets;
pub mod window;
