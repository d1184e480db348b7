//! The audit log, in every file: who did what, and which fields changed.

use super::*;
use serde::{Deserialize, Serialize};

/// audit id → [`AuditRecord`]; ids grow with time.
pub const AUDIT: Records<u64, AuditRecord> = Records::new("audit");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(AUDIT.def())?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditV1 {
    pub at: i64,
    pub actor_id: u64,
    pub actor_name: String,
    /// Stable action name such as `user.create`.
    pub action: String,
    /// What was acted on, such as `user:7`.
    pub target: String,
    pub changes: Vec<FieldChange>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuditRecord {
    V1(AuditV1),
}
versioned!(AuditRecord, AuditV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![record(AuditRecord::V1(AuditV1 {
            at: 8,
            actor_id: 1,
            actor_name: "Sardor".into(),
            action: "user.update".into(),
            target: "user:5".into(),
            changes: vec![FieldChange { field: "role".into(), from: Some("employee".into()), to: Some("manager".into()) }],
        }))]
    }
}
