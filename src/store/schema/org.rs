//! A company's people and places: users, departments, branches, roles,
//! settings (branding, the queue's rules) and blobs (the logo).

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// user id → [`AccountRecord`].
pub const USERS: Records<u64, AccountRecord> = Records::new("users");
/// lower-case username → user id.
pub const USERS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("users_by_name");
/// user id → when (ms) someone else set their password (generated at
/// creation, or reset by an admin): they must choose their own before
/// anything else. The row goes when they do.
pub const MUST_CHANGE_PASSWORD: TableDefinition<u64, i64> = TableDefinition::new("password_change_required");
/// department id → [`DepartmentRecord`].
pub const DEPARTMENTS: Records<u64, DepartmentRecord> = Records::new("departments");
/// branch id → [`BranchRecord`].
pub const BRANCHES: Records<u64, BranchRecord> = Records::new("branches");
/// role name → [`RoleRecord`]; a role with no row has the default permissions.
pub const ROLES: Records<&str, RoleRecord> = Records::new("roles");
/// setting name → record (`branding` → [`BrandingRecord`], `queue` → [`QueueSettingsRecord`]).
pub const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");
/// `SETTINGS["branding"]`: the logo and colour.
pub const BRANDING: Setting<BrandingRecord> = Setting::new("branding");
/// blob name → raw bytes (the logo).
pub const BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("blobs");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(USERS.def())?;
    t.table(USERS_BY_NAME)?;
    t.table(MUST_CHANGE_PASSWORD)?;
    t.table(DEPARTMENTS.def())?;
    t.table(BRANCHES.def())?;
    t.table(ROLES.def())?;
    t.table(SETTINGS)?;
    t.table(BLOBS)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentV1 {
    pub name: String,
    pub active: bool,
    pub created_at: i64,
}
/// V2 adds the department's name in Russian and English (empty: the one
/// name is used), like [`BranchV2`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentV2 {
    /// The name as given (Uzbek, and the fallback of every language).
    pub name: String,
    pub active: bool,
    pub created_at: i64,
    pub name_ru: String,
    pub name_en: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DepartmentRecord {
    V1(DepartmentV1),
    V2(DepartmentV2),
}
impl Versioned for DepartmentRecord {
    type Latest = DepartmentV2;
    fn into_latest(self) -> DepartmentV2 {
        match self {
            DepartmentRecord::V1(v) => {
                DepartmentV2 { name: v.name, active: v.active, created_at: v.created_at, name_ru: String::new(), name_en: String::new() }
            }
            DepartmentRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: DepartmentV2) -> Self {
        DepartmentRecord::V2(latest)
    }
}

/// Opening hours of one weekday in minutes after midnight, `[open, close)`.
pub type DayHours = Option<(u16, u16)>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchV1 {
    pub name: String,
    pub address: String,
    /// Monday first; `None` for the whole week means open around the clock.
    pub hours: Option<[DayHours; 7]>,
    pub active: bool,
    pub created_at: i64,
}
/// V2 adds the branch's name in Russian and English (empty: the one name
/// is used) and the languages its display board shows at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchV2 {
    /// The name as given (Uzbek, and the fallback of every language).
    pub name: String,
    pub address: String,
    /// Monday first; `None` for the whole week means open around the clock.
    pub hours: Option<[DayHours; 7]>,
    pub active: bool,
    pub created_at: i64,
    pub name_ru: String,
    pub name_en: String,
    /// Language codes (`uz`, `ru`, `en`) of the display board, first the
    /// main one; empty: the company's language alone.
    pub board_langs: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BranchRecord {
    V1(BranchV1),
    V2(BranchV2),
}
impl Versioned for BranchRecord {
    type Latest = BranchV2;
    fn into_latest(self) -> BranchV2 {
        match self {
            BranchRecord::V1(v) => BranchV2 {
                name: v.name,
                address: v.address,
                hours: v.hours,
                active: v.active,
                created_at: v.created_at,
                name_ru: String::new(),
                name_en: String::new(),
                board_langs: Vec::new(),
            },
            BranchRecord::V2(v) => v,
        }
    }
    fn from_latest(latest: BranchV2) -> Self {
        BranchRecord::V2(latest)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleV1 {
    pub permissions: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RoleRecord {
    V1(RoleV1),
}
versioned!(RoleRecord, RoleV1, V1);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandingV1 {
    /// `#rrggbb`
    pub primary_color: Option<String>,
    pub logo_content_type: Option<String>,
    /// Changes with every upload, so that the logo URL can be cached forever.
    pub logo_version: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BrandingRecord {
    V1(BrandingV1),
}
versioned!(BrandingRecord, BrandingV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Sample, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(DepartmentRecord::V1(DepartmentV1 { name: "Kassa".into(), active: false, created_at: 1 })),
            record(DepartmentRecord::V2(DepartmentV2 {
                name: "Kredit bo‘limi".into(),
                active: true,
                created_at: 2,
                name_ru: "Кредитный отдел".into(),
                name_en: String::new(),
            })),
            record(BranchRecord::V1(BranchV1 {
                name: "Bosh ofis".into(),
                address: "Toshkent".into(),
                hours: Some([Some((540, 1080)), None, None, None, None, Some((540, 840)), None]),
                active: true,
                created_at: 2,
            })),
            record(BranchRecord::V2(BranchV2 {
                name: "Chilonzor filiali".into(),
                address: "Toshkent, Chilonzor".into(),
                hours: None,
                active: true,
                created_at: 3,
                name_ru: "Чиланзарский филиал".into(),
                name_en: "Chilanzar branch".into(),
                board_langs: vec!["uz".into(), "ru".into()],
            })),
            record(RoleRecord::V1(RoleV1 { permissions: vec!["users.view".into(), "audit.view".into()] })),
            record(BrandingRecord::V1(BrandingV1 {
                primary_color: Some("#0a7d5a".into()),
                logo_content_type: Some("image/png".into()),
                logo_version: 4,
            })),
        ]
    }
}
