//! The audit log: who did what, when, and what changed. Written in the same
//! transaction as the change it describes, so that neither exists without
//! the other.

use crate::auth::Caller;
use crate::error::AppError;
use crate::store::next_id;
use crate::store::schema::{AUDIT, AuditV1, FieldChange};
use redb::WriteTransaction;

/// Appends one entry; returns its id.
pub fn record(
    tx: &WriteTransaction,
    now_ms: i64,
    actor: &Caller,
    action: &str,
    target: &str,
    changes: Vec<FieldChange>,
) -> Result<u64, AppError> {
    let id = next_id(tx, "audit")?;
    let rec = AuditV1 {
        at: now_ms,
        actor_id: actor.id(),
        actor_name: actor.name(),
        action: action.to_string(),
        target: target.to_string(),
        changes,
    };
    AUDIT.open(tx)?.insert(id, &rec)?;
    Ok(id)
}

/// Collects field changes between an old and a new value.
#[derive(Default)]
pub struct Changes(pub Vec<FieldChange>);

impl Changes {
    pub fn diff<T: PartialEq + std::fmt::Display>(&mut self, field: &str, from: &T, to: &T) {
        if from != to {
            self.0.push(FieldChange { field: field.into(), from: Some(from.to_string()), to: Some(to.to_string()) });
        }
    }

    pub fn diff_opt<T: PartialEq + std::fmt::Display>(&mut self, field: &str, from: &Option<T>, to: &Option<T>) {
        if from != to {
            self.0.push(FieldChange {
                field: field.into(),
                from: from.as_ref().map(|v| v.to_string()),
                to: to.as_ref().map(|v| v.to_string()),
            });
        }
    }

    /// A change whose values must not be stored (a password).
    pub fn secret(&mut self, field: &str) {
        self.0.push(FieldChange { field: field.into(), from: None, to: Some("•••".into()) });
    }

    pub fn set(&mut self, field: &str, to: impl std::fmt::Display) {
        self.0.push(FieldChange { field: field.into(), from: None, to: Some(to.to_string()) });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads the newest entries first, `limit` at most, older than `before`,
/// for a caller who may see the audit log.
pub fn list(db: &crate::store::Db, who: &crate::auth::Caller, before: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditV1)>, AppError> {
    who.require("audit.view")?;
    let tx = db.read()?;
    let t = AUDIT.open(&tx)?;
    let upper = before.unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for row in t.range(..upper)?.rev() {
        let (k, a) = row?;
        out.push((k.value(), a));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}
