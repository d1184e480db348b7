//! A company's structure: users, departments, branches, roles, branding,
//! and the company admin console.

pub mod branding;
pub mod hours;
pub mod service;
