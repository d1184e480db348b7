//! Server-rendered pages (maud + htmx): each file parses a form or a query,
//! calls the core and renders HTML.

pub mod auth;
pub mod branding;
pub mod chat;
pub mod exports;
pub mod home;
pub mod integrations;
pub mod org;
pub mod platform;
pub mod queue;
pub mod queue_staff;
pub mod report_schedules;
pub mod reports;
pub mod request_admin;
pub mod request_public;
pub mod request_stats;
pub mod requests;
pub mod stats;
pub mod tasks;
pub mod telegram;
pub mod visit;
