//! A company's structure: users, departments, branches, roles, branding,
//! and the company admin console.

pub mod api;
pub mod branding;
pub mod pages;
pub mod service;
