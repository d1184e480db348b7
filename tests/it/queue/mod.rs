//! The electronic queue over HTTP against the real server, on the demo
//! company (Demo Bank).

mod pages;
mod setup;
mod signage;
mod staff;
mod stats;
mod visit;
