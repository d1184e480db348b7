//! The JSON API under `/api/v1` and `/c/<slug>/api/v1`, and the live and
//! public edges: each file parses input, calls the core and renders JSON.

pub mod auth;
pub mod chat;
pub mod companies;
pub mod exports;
pub mod files;
pub mod home;
pub mod ical;
pub mod integrations;
pub mod live;
pub mod org;
pub mod public_requests;
pub mod queue;
pub mod report_schedules;
pub mod reports;
pub mod request_admin;
pub mod requests;
pub mod tasks;
pub mod telegram;
pub mod track;
