//! A user's saved filters of the requests list: a name and the list's query
//! string, each person's own.

use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{SAVED_FILTERS, SavedFilterV1};
use crate::store::{Db, next_id};
use crate::tenancy::Tenant;

pub const NAME_MAX: usize = 60;
pub const QUERY_MAX: usize = 1000;
/// Saved filters one person may keep.
pub const PER_USER: usize = 30;

/// One saved filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub id: u64,
    pub name: String,
    pub query: String,
}

fn me(who: &Caller) -> Result<u64, AppError> {
    who.user().map(|p| p.id).ok_or_else(|| AppError::new(ErrorKind::Forbidden))
}

/// The caller's saved filters, oldest first.
pub fn list(db: &Db, who: &Caller) -> Result<Vec<Saved>, AppError> {
    let me = me(who)?;
    let tx = db.read()?;
    let table = SAVED_FILTERS.open(&tx)?;
    let mut out = Vec::new();
    for row in table.range((me, 0)..=(me, u64::MAX))? {
        let (k, f) = row?;
        let id = k.value().1;
        out.push(Saved { id, name: f.name, query: f.query });
    }
    Ok(out)
}

/// Saves the list's current query under a name (≤ 60 characters; the
/// query ≤ 1000; at most 30 per person).
pub async fn create(tenant: &Tenant, who: &Caller, name: &str, query: &str) -> Result<Saved, AppError> {
    let me = me(who)?;
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("name", "validation.required"));
    }
    AppError::check_text("name", &name, NAME_MAX, false)?;
    let query = query.trim().trim_start_matches('?').to_string();
    AppError::check_text("query", &query, QUERY_MAX, false)?;
    tenant
        .db()?
        .write(move |tx| {
            let mut table = SAVED_FILTERS.open(tx)?;
            let mut n = 0;
            for row in table.range((me, 0)..=(me, u64::MAX))? {
                row?;
                n += 1;
            }
            if n >= PER_USER {
                return Err(AppError::invalid("name", "validation.saved_filters_full").with_arg("max", PER_USER));
            }
            let id = next_id(tx, "saved_filter")?;
            table.insert((me, id), &SavedFilterV1 { name: name.clone(), query: query.clone() })?;
            Ok(Saved { id, name: name.clone(), query: query.clone() })
        })
        .await
}

/// Deletes one of the caller's saved filters (another's is not found).
pub async fn delete(tenant: &Tenant, who: &Caller, id: u64) -> Result<(), AppError> {
    let me = me(who)?;
    tenant
        .db()?
        .write(move |tx| {
            let mut table = SAVED_FILTERS.open(tx)?;
            if table.remove((me, id))? { Ok(()) } else { Err(AppError::new(ErrorKind::NotFound)) }
        })
        .await
}
