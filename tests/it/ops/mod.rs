//! Operations: backup and restore, moving a company, upgrades, the platform
//! console, metrics.

mod backup;
mod company;
mod console;
mod metrics;
mod upgrade;
