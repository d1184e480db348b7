//! sheets: tables and records (being written).

#[allow(unused_imports)] // until the first table lands
use super::*;
use redb::WriteTransaction;

/// Creates the tables of this domain.
pub(super) fn init(_tx: &WriteTransaction) -> Result<(), redb::Error> {
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use crate::store::schema::golden::{Pinned, Sample};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![]
    }

    /// Every stored enum of this domain, each variant with its bytes.
    pub fn enums() -> Vec<Pinned> {
        vec![]
    }
}
