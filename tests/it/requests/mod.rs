//! Client requests over HTTP: categories and templates (admin), the client's
//! web form and status page, the staff's lists and request page, SLA and
//! statistics, and the whole flow.

mod admin;
mod flow;
mod public;
mod sla;
mod staff;
