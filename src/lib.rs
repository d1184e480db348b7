//! Idora: tasks, requests, an electronic queue, chat and reports for a
//! company, in one binary with embedded storage. See ARCHITECTURE.md.

// Cargo.toml denies unwrap, expect, panic and indexing; unit tests may use them.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod app;
pub mod audit;
pub mod auth;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod files;
pub mod home;
pub mod hub;
pub mod i18n;
pub mod jobs;
mod layers;
pub mod notify;
pub mod ops;
pub mod org;
pub mod phone;
pub mod queue;
pub mod reports;
pub mod requests;
pub mod search;
pub mod store;
pub mod tasks;
pub mod telegram;
pub mod tenancy;
pub mod web;
pub mod workflow;
