//! The HTTP contract of Idora, against the real server on a random port:
//! platform and company APIs, sessions (rotation, reuse, expiry, lockout,
//! rate limits, CSRF), tenant isolation, role changes, the live hub, the
//! service edges, the languages errors are told in, and refused forms.

mod access;
mod accounts;
mod audit;
mod auth;
mod company;
mod due;
mod edges;
mod first_admin;
mod forms;
mod frame;
mod lang;
mod live;
mod names;
mod notify;
mod org;
mod platform;
mod store;
