//! The platform's file (`platform.redb`): companies, platform admins, and
//! every customer's queue tickets by phone number.

use super::*;
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// slug → [`CompanyRecord`].
pub const COMPANIES: Records<&str, CompanyRecord> = Records::new("companies");
/// platform admin id → [`AccountRecord`].
pub const ADMINS: Records<u64, AccountRecord> = Records::new("admins");
/// lower-case username → platform admin id.
pub const ADMINS_BY_NAME: TableDefinition<&str, u64> = TableDefinition::new("admins_by_name");
/// (normalised phone, taken at ms, entry id) → [`CustomerTicketRecord`]: every
/// queue ticket and booking of a customer in any company ("my queues").
pub const CUSTOMER_TICKETS: Records<(&str, i64, u64), CustomerTicketRecord> = Records::new("customer_tickets");
/// slug → (): the companies with a connected Telegram bot, which a start
/// runs without opening the other companies' files.
pub const BOTS: TableDefinition<&str, ()> = TableDefinition::new("bots");
/// Each company's next due time (UTC ms), so that the minute's jobs know
/// which companies to open without opening them (`tenancy::TenantEntry::due`).
pub const COMPANY_DUE: TableDefinition<&str, i64> = TableDefinition::new("company_due");

/// Creates the tables of this domain.
pub(super) fn init<T: Tables>(t: &mut T) -> Result<(), redb::Error> {
    t.table(COMPANIES.def())?;
    t.table(ADMINS.def())?;
    t.table(ADMINS_BY_NAME)?;
    t.table(CUSTOMER_TICKETS.def())?;
    t.table(BOTS)?;
    t.table(COMPANY_DUE)?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompanyStatus {
    Inactive,
    Active,
    /// Put away by the platform: serves nothing (its pages and API answer
    /// 410), runs no jobs, and may be restored.
    Archived,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyV1 {
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub status: CompanyStatus,
    pub created_at: i64,
}
/// V2 adds the company's contact details, which its own admin edits (empty
/// when not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyV2 {
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub status: CompanyStatus,
    pub created_at: i64,
    pub phone: String,
    pub address: String,
    pub email: String,
}
/// V3 adds the contact person the platform deals with (empty when not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyV3 {
    pub name: String,
    pub timezone: String,
    pub language: String,
    pub status: CompanyStatus,
    pub created_at: i64,
    pub phone: String,
    pub address: String,
    pub email: String,
    pub contact_person: String,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CompanyRecord {
    V1(CompanyV1),
    V2(CompanyV2),
    V3(CompanyV3),
}
impl Versioned for CompanyRecord {
    type Latest = CompanyV3;
    fn into_latest(self) -> CompanyV3 {
        let v2 = match self {
            CompanyRecord::V1(v) => CompanyV2 {
                name: v.name,
                timezone: v.timezone,
                language: v.language,
                status: v.status,
                created_at: v.created_at,
                phone: String::new(),
                address: String::new(),
                email: String::new(),
            },
            CompanyRecord::V2(v) => v,
            CompanyRecord::V3(v) => return v,
        };
        CompanyV3 {
            name: v2.name,
            timezone: v2.timezone,
            language: v2.language,
            status: v2.status,
            created_at: v2.created_at,
            phone: v2.phone,
            address: v2.address,
            email: v2.email,
            contact_person: String::new(),
        }
    }
    fn from_latest(latest: CompanyV3) -> Self {
        CompanyRecord::V3(latest)
    }
}

/// One ticket or booking of a customer, in the platform's phone index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerTicketV1 {
    pub slug: String,
    pub ticket_id: u64,
    pub token: String,
    pub number: String,
    pub booked_for: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CustomerTicketRecord {
    V1(CustomerTicketV1),
}
versioned!(CustomerTicketRecord, CustomerTicketV1, V1);

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::schema::golden::{Pinned, Sample, pinned, record};

    /// One sample of every version of every record stored here.
    pub fn samples() -> Vec<Sample> {
        vec![
            record(CompanyRecord::V1(CompanyV1 {
                name: "Demo Bank".into(),
                timezone: "Asia/Tashkent".into(),
                language: "uz".into(),
                status: CompanyStatus::Active,
                created_at: 1_764_000_000_000,
            })),
            record(CompanyRecord::V2(CompanyV2 {
                name: "Demo Bank".into(),
                timezone: "Asia/Samarkand".into(),
                language: "ru".into(),
                status: CompanyStatus::Inactive,
                created_at: 1_764_000_000_000,
                phone: "+998712000000".into(),
                address: "Toshkent, Amir Temur 1".into(),
                email: "info@demo.uz".into(),
            })),
            record(CompanyRecord::V3(CompanyV3 {
                name: "Orient Bank".into(),
                timezone: "Asia/Tashkent".into(),
                language: "uz".into(),
                status: CompanyStatus::Archived,
                created_at: 1_764_000_000_000,
                phone: "+998901234567".into(),
                address: "Samarqand, Registon 5".into(),
                email: "office@orient.uz".into(),
                contact_person: "Dilnoza Karimova".into(),
            })),
            record(CustomerTicketRecord::V1(CustomerTicketV1 {
                slug: "demo".into(),
                ticket_id: 7,
                token: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
                number: "O-004".into(),
                booked_for: Some(1_764_064_800_000),
            })),
        ]
    }

    /// Every stored enum of this domain, each variant with its bytes. No `_`
    /// arm: a variant added without its bytes does not compile.
    pub fn enums() -> Vec<Pinned> {
        vec![pinned(|v: &CompanyStatus| -> &'static [u8] {
            match v {
                CompanyStatus::Inactive => &[0],
                CompanyStatus::Active => &[1],
                CompanyStatus::Archived => &[2],
            }
        })]
    }
}
