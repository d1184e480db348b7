//! Chat: a live thread on every task (and client request), direct chats
//! between two colleagues, a department's group and named groups.
//!
//! One rule decides who may read and write a thread ([`may_read`]): whoever
//! may see its task; the two people of a direct chat; a department's
//! people; a named group's members. Pages, the API, live pushes and file
//! downloads all ask it. A message reaches the live pages of the people
//! who follow its thread, each checked against that rule when it is sent,
//! so someone taken off a task or out of a group stops hearing at once.

pub mod service;

pub use service::*;
