//! Operations of the box: backups and restores, moving a company between
//! boxes, the routes map for a reverse proxy, and the local control socket
//! through which the command line asks a running server to do them.
//!
//! - `snapshot`: a consistent copy of a database file at one point in time,
//!   taken from a read transaction while the server goes on writing.
//! - `archive`: the tar + zstd archive with its manifest of checksums.
//! - `backup`: the whole box (platform, every company, files) into an
//!   archive; restore into an empty data folder; scheduled backups.
//! - `company`: one company out of a box (read-only meanwhile) and into another.
//! - `routes`: the reverse proxy's map of which box serves which company.
//! - `control`: the Unix socket in the data folder (0600) a running server
//!   listens on, so `idora backup` and friends work while it runs.
//! - `cli`: the commands, online (through the socket) or offline.

pub mod archive;
pub mod backup;
pub mod cli;
pub mod company;
pub mod control;
pub mod routes;
pub mod snapshot;
