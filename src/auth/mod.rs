//! Accounts and access: passwords, tokens, sessions, roles, and who is
//! calling ([`Principal`], [`Caller`]).

pub mod caller;
pub mod guard;
pub mod password;
pub mod rbac;
pub mod session;
pub mod tokens;
pub use caller::{Caller, Principal, account_lang};
