//! Who logs in and their sessions: accounts (platform admins and company
//! users alike), refresh tokens and their families. The token tables are in
//! every file.

use super::*;
use serde::{Deserialize, Serialize};

/// sha256(refresh token) → [`RefreshRecord`].
pub const REFRESH: Records<&[u8], RefreshRecord> = Records::new("refresh_tokens");
/// session family id → [`FamilyRecord`].
pub const FAMILIES: Records<&[u8], FamilyRecord> = Records::new("token_families");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(REFRESH.def())?;
    t.table(FAMILIES.def())?;
    Ok(())
}

/// A person who logs in: a platform admin or a company user. Platform admins
/// leave the company fields at their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountV1 {
    pub username: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub active: bool,
    pub password_hash: String,
    pub language: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Failed logins in a row; reset by a successful one.
    pub failed_logins: u32,
    /// No login is tried before this time (ms), after repeated failures.
    pub locked_until: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccountRecord {
    V1(AccountV1),
}
versioned!(AccountRecord, AccountV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshV1 {
    pub family: Vec<u8>,
    pub account_id: u64,
    pub expires_at: i64,
    /// Set when the token was exchanged; a second exchange revokes the family.
    pub used_at: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RefreshRecord {
    V1(RefreshV1),
}
versioned!(RefreshRecord, RefreshV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyV1 {
    pub account_id: u64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FamilyRecord {
    V1(FamilyV1),
}
versioned!(FamilyRecord, FamilyV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(AccountRecord::V1(AccountV1 {
                username: "aziz".into(),
                full_name: "Aziz Karimov".into(),
                phone: Some("+998901234567".into()),
                role: "manager".into(),
                department_id: Some(2),
                branch_id: None,
                active: true,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                language: Some("ru".into()),
                created_at: 1_764_000_000_000,
                updated_at: 1_764_000_100_000,
                failed_logins: 3,
                locked_until: Some(1_764_000_200_000),
            })),
            record(RefreshRecord::V1(RefreshV1 { family: vec![1, 2, 3, 4], account_id: 9, expires_at: 5, used_at: Some(6) })),
            record(FamilyRecord::V1(FamilyV1 { account_id: 9, created_at: 7, revoked_at: None })),
        ]
    }
}
