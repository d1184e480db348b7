//! Every HTTP-level test of Idora in one binary: CI links the crate for this
//! and for the kill -9 test (`tests/durability.rs`), not once per feature.
//!
//! Each test starts its own real server (a fresh data folder, a free port on
//! loopback, a clock the test may move) through [`support`], so they run in
//! parallel. One module per area:
//!
//! - `api`: the platform and company HTTP contract, sessions, isolation,
//!   the live hub, the service edges and languages;
//! - `tasks`: the task workflow, deadlines, search, calendar, notifications;
//! - `fuzz`: the parsers of outside input and every JSON body, for a fixed time;
//! - `queue`: the electronic queue — setup, public pages, the staff side,
//!   statistics, booked visits.

// A test states what it expects by failing loudly: the crate's lints against
// unwrap, expect, panic and indexing are for the server's code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod support;

mod api;
mod bot;
mod files;
mod fuzz;
mod home;
mod ops;
mod queue;
mod reports;
mod requests;
mod tasks;
mod telegram_fake;
