//! Every table and every record version, split by domain.
//!
//! Values are postcard-encoded versioned enums. Postcard is not
//! self-describing, so a field is never added to an existing version: a new
//! field means a new `Vn` variant and a conversion in `into_latest`. The
//! golden bytes of every version live in `schema/records/` and each domain's
//! test decodes them, so an old data file always opens; `golden`'s test
//! fails when a stored type has no sample.
//!
//! Each domain file holds its tables, its records and their samples; every
//! name is re-exported here, so `store::schema::X` is the one path callers use.

mod audit;
mod auth;
mod bot;
mod chat;
mod files;
#[cfg(test)]
mod golden;
mod notify;
mod org;
mod platform;
mod queue;
mod reports;
mod requests;
mod sheets;
mod tasks;

pub use audit::*;
pub use auth::*;
pub use bot::*;
pub use chat::*;
pub use files::*;
pub use notify::*;
pub use org::*;
pub use platform::*;
pub use queue::*;
#[allow(unused_imports)]
pub use reports::*;
pub use requests::*;
#[allow(unused_imports)]
pub use sheets::*;
pub use tasks::*;

use super::table::{Records, Setting};
use redb::{TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

// Tables present in every database file (with `auth`'s token tables and the audit log).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const SEQ: TableDefinition<&str, u64> = TableDefinition::new("seq");

/// The layout of the tables this build writes, kept in every file's `meta`
/// table under [`VERSION_KEY`] (one byte). A file of an older version is
/// brought up to date on open by the steps in `store::migrate`; a newer file
/// is refused. Raise it with every step added there.
///
/// 1: the layout up to 2026-11. 2: `queue_tickets_waiting` is complete (it
/// was added on 2026-11-29 without filling it for tickets already waiting).
/// 3: `tasks_by_status` and `task_points` (the inboxes and the points).
/// 4: `tasks_late` and `tasks_done` (the home dashboards) are filled.
/// 6: those two are gone again: `tasks_by_status` (Overdue) and the
/// `task_points` ledger serve the dashboards (5 is another change's).
pub const SCHEMA_VERSION: u8 = 6;

/// The `meta` key of the schema version.
pub const VERSION_KEY: &str = "schema_version";

/// Something done to every table of a file, in one list for both uses:
/// creating the tables ([`init_platform`], [`init_tenant`]) and copying
/// them (`ops::snapshot`). A table opened anywhere but in these lists would
/// be missed by a backup (`ops::snapshot`'s test compares a seeded file's
/// tables with the list).
pub trait Tables {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), redb::Error>;
}

/// Creates each table it is shown (when missing).
struct Create<'a>(&'a WriteTransaction);

impl Tables for Create<'_> {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(&mut self, def: TableDefinition<K, V>) -> Result<(), redb::Error> {
        self.0.open_table(def)?;
        Ok(())
    }
}

fn common_tables<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(META)?;
    t.table(SEQ)?;
    auth::init(t)?;
    audit::init(t)?;
    Ok(())
}

/// Every table of `platform.redb`.
pub fn platform_tables<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    common_tables(t)?;
    platform::init(t)?;
    sheets::init_platform(t)?;
    Ok(())
}

/// Every table of a company's `data.redb`.
pub fn tenant_tables<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    common_tables(t)?;
    org::init(t)?;
    tasks::init(t)?;
    queue::init(t)?;
    notify::init(t)?;
    chat::init(t)?;
    files::init(t)?;
    requests::init(t)?;
    bot::init(t)?;
    reports::init(t)?;
    sheets::init(t)?;
    Ok(())
}

/// Creates the tables of `platform.redb`.
pub fn init_platform(tx: &WriteTransaction) -> Result<(), redb::Error> {
    platform_tables(&mut Create(tx))
}

/// Creates the tables of a company's `data.redb`.
pub fn init_tenant(tx: &WriteTransaction) -> Result<(), redb::Error> {
    tenant_tables(&mut Create(tx))
}

/// A record type with versions; `Latest` is what the code works with.
pub trait Versioned: Serialize + for<'de> Deserialize<'de> {
    type Latest;
    fn into_latest(self) -> Self::Latest;
    fn from_latest(latest: Self::Latest) -> Self;
}

/// `Versioned` for a record with one version so far.
macro_rules! versioned {
    ($record:ident, $latest:ident, $last:ident) => {
        impl Versioned for $record {
            type Latest = $latest;
            fn into_latest(self) -> $latest {
                match self {
                    $record::$last(v) => v,
                }
            }
            fn from_latest(latest: $latest) -> Self {
                $record::$last(latest)
            }
        }
    };
}
use versioned;
