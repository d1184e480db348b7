//! The electronic queue: services and operators (setup). Tickets, calling,
//! the kiosk, the display board and the stats come next (issue #4).

pub mod api;
pub mod service;
pub mod tickets;
pub mod window;
