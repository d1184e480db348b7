//! Platform services: create, edit, activate and deactivate companies, and
//! create platform admins.

use super::{Slug, Tenant, tenant_dir};
use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::auth::password;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::org::service::{NewUser, insert_user, parse_username};
use crate::store::schema::{self, AccountV1, CompanyStatus, CompanyV3};
use crate::store::{Db, next_id, store_err};
use redb::ReadableTable;

pub const DEFAULT_TIMEZONE: &str = "Asia/Tashkent";

/// The time zones a company form offers, nearest first. Any other IANA name
/// is still accepted through the API.
pub const COMMON_TIMEZONES: &[&str] = &[
    "Asia/Tashkent",
    "Asia/Samarkand",
    "Asia/Almaty",
    "Asia/Bishkek",
    "Asia/Dushanbe",
    "Asia/Ashgabat",
    "Asia/Baku",
    "Asia/Tbilisi",
    "Asia/Yerevan",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Seoul",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
];

#[derive(Debug, Clone, Default)]
pub struct NewCompany {
    pub name: String,
    pub slug: String,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub admin_username: String,
    /// The first admin's full name. `None`: not asked (older API clients);
    /// `Some("")` is refused as missing.
    pub admin_full_name: Option<String>,
    /// None: generated and returned once.
    pub admin_password: Option<String>,
    /// The first account's role: `admin` (default) or `owner` (the founder,
    /// who alone can later make other owners).
    pub admin_role: Option<String>,
    /// Who the platform deals with at the company, and how to reach it
    /// (each optional; empty = not given).
    pub contacts: Contacts,
}

/// A company's contact details as the platform keeps them. `None` leaves a
/// field as it is; an empty string clears it.
#[derive(Debug, Clone, Default)]
pub struct Contacts {
    pub contact_person: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// The contact details checked: (person, phone, email, address).
type ParsedContacts = (Option<String>, Option<String>, Option<String>, Option<String>);

fn parse_contacts(c: &Contacts) -> Result<ParsedContacts, AppError> {
    let person = c
        .contact_person
        .as_deref()
        .map(|v| {
            let v = v.trim();
            AppError::check_text("contact_person", v, 120, false).map(|_| v.to_string())
        })
        .transpose()?;
    let phone = c.phone.as_deref().map(parse_contact_phone).transpose()?;
    let email = c.email.as_deref().map(parse_email).transpose()?;
    let address = c.address.as_deref().map(parse_address).transpose()?;
    Ok((person, phone, email, address))
}

pub struct CreatedCompany {
    pub tenant: Tenant,
    pub admin_username: String,
    pub generated_password: Option<String>,
}

fn parse_company_name(s: &str) -> Result<String, AppError> {
    let v = s.trim();
    if v.is_empty() {
        return Err(AppError::invalid("name", "validation.required"));
    }
    AppError::check_text("name", v, 120, false)?;
    Ok(v.to_string())
}

pub fn parse_timezone(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    match jiff::tz::TimeZone::get(s) {
        Ok(_) if !s.is_empty() => Ok(s.to_string()),
        _ => Err(AppError::invalid("timezone", "validation.timezone")),
    }
}

fn parse_lang(s: &str) -> Result<String, AppError> {
    Lang::parse(s)
        .filter(|l| l.code() == s.trim())
        .map(|l| l.code().to_string())
        .ok_or_else(|| AppError::invalid("language", "validation.language"))
}

/// Companies are made and changed from the platform console (or by Idora
/// itself: the demo); no company user may, whatever their role.
fn require_platform(actor: &Caller) -> Result<(), AppError> {
    match actor {
        Caller::Platform { .. } | Caller::System => Ok(()),
        _ => Err(ErrorKind::Forbidden.into()),
    }
}

/// Creates a company: its database file with the first admin, then the
/// platform record. A new company starts inactive.
pub async fn create_company(state: &AppState, actor: &Caller, input: NewCompany) -> Result<CreatedCompany, AppError> {
    require_platform(actor)?;
    let name = parse_company_name(&input.name)?;
    let slug = Slug::parse(input.slug.trim())?;
    let timezone = parse_timezone(input.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE))?;
    let language = parse_lang(input.language.as_deref().unwrap_or("uz"))?;
    let admin_username = parse_username(&input.admin_username)?;
    let admin_full_name = match input.admin_full_name.as_deref().map(str::trim) {
        None => String::new(),
        Some("") => return Err(AppError::invalid("admin_full_name", "validation.required")),
        Some(n) => {
            AppError::check_text("admin_full_name", n, 120, false)?;
            n.to_string()
        }
    };
    let first_role = match input.admin_role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None | Some("admin") => "admin",
        Some("owner") => "owner",
        Some(_) => return Err(AppError::invalid("admin_role", "validation.first_role")),
    };
    let (admin_password, generated) = match input.admin_password.filter(|p| !p.is_empty()) {
        Some(p) => (p, None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    password::validate(&admin_password)?;
    let (contact_person, phone, email, address) = parse_contacts(&input.contacts)?;
    let _creating = state.tenants.creating.lock().await;
    if state.tenants.get(slug.as_str()).is_some() {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.slug_taken"));
    }
    let dir = tenant_dir(state.tenants.data_dir(), slug.as_str());
    // A folder with no platform record is what a crash between the two
    // steps below leaves; nothing refers to it, so it is cleared.
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| AppError::internal(anyhow::anyhow!("clear {}: {e}", dir.display())))?;
    }
    let now = state.now_ms();
    // The one place a company file is made; everywhere else a missing file is an error.
    let db = Db::create(&dir.join("data.redb"), &crate::store::migrate::TENANT, state.tenants.db_options())?;
    let first = NewUser {
        username: admin_username.clone(),
        full_name: admin_full_name,
        role: first_role.into(),
        must_change_password: generated.is_some(),
        ..Default::default()
    };
    insert_user(&db, now, actor, first, admin_password).await?;
    let info = CompanyV3 {
        name: name.clone(),
        timezone,
        language,
        status: CompanyStatus::Inactive,
        created_at: now,
        phone: phone.unwrap_or_default(),
        address: address.unwrap_or_default(),
        email: email.unwrap_or_default(),
        contact_person: contact_person.unwrap_or_default(),
    };
    let rec = info.clone();
    let slug_s = slug.as_str().to_string();
    let who = actor.clone();
    let admin_for_audit = admin_username.clone();
    state
        .platform
        .write(move |tx| {
            let mut t = schema::COMPANIES.open(tx)?;
            if t.contains(slug_s.as_str())? {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.slug_taken"));
            }
            t.insert(slug_s.as_str(), &rec)?;
            drop(t);
            let mut ch = Changes::default();
            ch.set("name", &rec.name);
            ch.set("timezone", &rec.timezone);
            ch.set("language", &rec.language);
            for (field, v) in
                [("contact_person", &rec.contact_person), ("phone", &rec.phone), ("email", &rec.email), ("address", &rec.address)]
            {
                if !v.is_empty() {
                    ch.set(field, v);
                }
            }
            ch.set("admin_username", &admin_for_audit);
            audit::record(tx, now, &who, "company.create", &format!("company:{slug_s}"), ch.0)?;
            Ok(())
        })
        .await?;
    let tenant = state.tenants.insert(slug.as_str().to_string(), info, db);
    Ok(CreatedCompany { tenant, admin_username, generated_password: generated })
}

#[derive(Debug, Clone, Default)]
pub struct CompanyPatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub status: Option<CompanyStatus>,
    pub contacts: Contacts,
}

pub use super::console::status_str;

/// A status's place in (active, inactive, archived), for counting.
pub fn status_index(s: CompanyStatus) -> usize {
    match s {
        CompanyStatus::Active => 0,
        CompanyStatus::Inactive => 1,
        CompanyStatus::Archived => 2,
    }
}

pub async fn update_company(state: &AppState, actor: &Caller, slug: &str, patch: CompanyPatch) -> Result<Tenant, AppError> {
    require_platform(actor)?;
    let tenant = state.tenants.resolve(slug)?;
    let name = patch.name.as_deref().map(parse_company_name).transpose()?;
    let timezone = patch.timezone.as_deref().map(parse_timezone).transpose()?;
    let language = patch.language.as_deref().map(parse_lang).transpose()?;
    let (contact_person, phone, email, address) = parse_contacts(&patch.contacts)?;
    let status = patch.status;
    // An archived company is restored (to inactive) before anything else changes.
    if tenant.is_archived() && status.is_none() {
        return Err(AppError::new(ErrorKind::CompanyArchived));
    }
    let now = state.now_ms();
    let who = actor.clone();
    let slug_s = slug.to_string();
    let updated = state
        .platform
        .write(move |tx| {
            let mut t = schema::COMPANIES.open(tx)?;
            let old = t.get(slug_s.as_str())?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.company_not_found"))?;
            let mut c = old.clone();
            let mut ch = Changes::default();
            if let Some(v) = &name {
                ch.diff("name", &old.name, v);
                c.name = v.clone();
            }
            if let Some(v) = &timezone {
                ch.diff("timezone", &old.timezone, v);
                c.timezone = v.clone();
            }
            if let Some(v) = &language {
                ch.diff("language", &old.language, v);
                c.language = v.clone();
            }
            for (field, new, slot, was) in [
                ("contact_person", &contact_person, &mut c.contact_person, &old.contact_person),
                ("phone", &phone, &mut c.phone, &old.phone),
                ("email", &email, &mut c.email, &old.email),
                ("address", &address, &mut c.address, &old.address),
            ] {
                if let Some(v) = new {
                    ch.diff(field, was, v);
                    slot.clone_from(v);
                }
            }
            if let Some(v) = status {
                ch.diff("status", &status_str(old.status), &status_str(v));
                c.status = v;
            }
            if !ch.is_empty() {
                t.insert(slug_s.as_str(), &c)?;
                drop(t);
                let action = match status {
                    Some(CompanyStatus::Active) if old.status != CompanyStatus::Active => "company.activate",
                    Some(CompanyStatus::Inactive) if old.status == CompanyStatus::Archived => "company.restore",
                    Some(CompanyStatus::Inactive) if old.status != CompanyStatus::Inactive => "company.deactivate",
                    Some(CompanyStatus::Archived) if old.status != CompanyStatus::Archived => "company.archive",
                    _ => "company.update",
                };
                audit::record(tx, now, &who, action, &format!("company:{slug_s}"), ch.0)?;
            }
            Ok(c)
        })
        .await?;
    tenant.set_info(updated);
    state.tenants.figures.forget(slug);
    Ok(tenant)
}

/// Archives a company: it stops serving (its pages and API answer 410
/// `company_archived`), its live streams close at their next check, its bot
/// stops and the scheduled jobs pass it by. Nothing is deleted.
pub async fn archive_company(state: &AppState, actor: &Caller, slug: &str) -> Result<Tenant, AppError> {
    let patch = CompanyPatch { status: Some(CompanyStatus::Archived), ..Default::default() };
    let t = update_company(state, actor, slug, patch).await?;
    state.bots.stop(slug);
    Ok(t)
}

/// Brings an archived company back, inactive: its admins may sign in and
/// set it up, and the platform opens it again when it is ready.
pub async fn restore_company(state: &AppState, actor: &Caller, slug: &str) -> Result<Tenant, AppError> {
    require_platform(actor)?;
    let tenant = state.tenants.resolve(slug)?;
    if !tenant.is_archived() {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.company_not_archived"));
    }
    let patch = CompanyPatch { status: Some(CompanyStatus::Inactive), ..Default::default() };
    update_company(state, actor, slug, patch).await
}

/// Sets (or, with `None`, removes) a company's logo from the platform
/// console: the company's own branding setting, the one its admin edits.
pub async fn set_company_logo(state: &AppState, actor: &Caller, slug: &str, logo: Option<Vec<u8>>) -> Result<(), AppError> {
    require_platform(actor)?;
    let tenant = state.tenants.resolve(slug)?;
    let change = crate::org::branding::BrandingChange { primary_color: None, remove_logo: logo.is_none(), logo };
    crate::org::branding::update(state, &tenant, actor, change).await?;
    Ok(())
}

/// What deleting a company left behind.
pub struct Deleted {
    pub slug: String,
    /// The export kept before deleting (`DATA/backups/deleted/<slug>-<time>.tar.zst`).
    pub backup: std::path::PathBuf,
    pub backup_bytes: u64,
}

/// Deletes a company for good: `confirm` must be its slug typed again.
/// First its export is kept under `backups/deleted/` (nothing is deleted
/// when that fails), then it leaves the registry, its folder goes, and its
/// platform rows (record, due time, bot listing, customers' tickets by
/// phone) go in one transaction with the audit entry.
pub async fn delete_company(state: &AppState, actor: &Caller, slug: &str, confirm: &str) -> Result<Deleted, AppError> {
    require_platform(actor)?;
    let tenant = state.tenants.resolve(slug)?;
    if confirm.trim() != tenant.slug {
        return Err(AppError::invalid("confirm", "validation.delete_confirm"));
    }
    let dir = state.tenants.data_dir().join("backups").join("deleted");
    std::fs::create_dir_all(&dir).map_err(|e| AppError::internal(anyhow::anyhow!("create {}: {e}", dir.display())))?;
    let stamp = crate::clock::from_ms(state.now_ms()).strftime("%Y%m%dT%H%M%SZ").to_string();
    let backup = dir.join(format!("{slug}-{stamp}.tar.zst"));
    let exported = crate::ops::company::export(state, slug, &backup).await?;
    state.bots.stop(slug);
    let name = tenant.info().name;
    let now = state.now_ms();
    let who = actor.clone();
    let slug_s = slug.to_string();
    let kept = backup.display().to_string();
    state
        .platform
        .write(move |tx| {
            schema::COMPANIES.open(tx)?.remove(slug_s.as_str())?;
            tx.open_table(super::COMPANY_DUE).map_err(store_err)?.remove(slug_s.as_str()).map_err(store_err)?;
            tx.open_table(schema::BOTS).map_err(store_err)?.remove(slug_s.as_str()).map_err(store_err)?;
            let mut tickets = schema::CUSTOMER_TICKETS.open(tx)?;
            let mut gone = Vec::new();
            for row in tickets.iter()? {
                let (k, r) = row?;
                if r.slug == slug_s {
                    let (phone, at, id) = k.value();
                    gone.push((phone.to_string(), at, id));
                }
            }
            for (phone, at, id) in &gone {
                tickets.remove((phone.as_str(), *at, *id))?;
            }
            drop(tickets);
            let mut ch = Changes::default();
            ch.set("name", &name);
            ch.set("backup", &kept);
            audit::record(tx, now, &who, "company.delete", &format!("company:{slug_s}"), ch.0)?;
            Ok(())
        })
        .await?;
    state.tenants.remove(slug);
    drop(tenant);
    if let Err(e) = std::fs::remove_dir_all(super::tenant_dir(state.tenants.data_dir(), slug)) {
        // The company is gone from the platform; a folder left behind is
        // cleared when a company of that slug is created again.
        tracing::warn!(company = %slug, error = %e, "deleted company's folder not removed");
    }
    Ok(Deleted { slug: slug.to_string(), backup, backup_bytes: exported.bytes })
}

/// What a company's own admin may change about it: its name, contact
/// details and time zone. The address (slug), the default language and
/// whether the company is active stay with the platform.
#[derive(Debug, Clone, Default)]
pub struct CompanySettings {
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// An empty string clears the field.
    pub phone: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
}

fn parse_contact_phone(s: &str) -> Result<String, AppError> {
    if s.trim().is_empty() {
        return Ok(String::new());
    }
    crate::phone::Phone::parse(s).map(|p| p.into_string())
}

fn parse_address(s: &str) -> Result<String, AppError> {
    let v = s.trim();
    AppError::check_text("address", v, 200, false)?;
    Ok(v.to_string())
}

fn parse_email(s: &str) -> Result<String, AppError> {
    let v = s.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let ok = v.chars().count() <= 120
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && v.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.') && !host.contains('@')
        });
    if ok { Ok(v.to_string()) } else { Err(AppError::invalid("email", "validation.email")) }
}

/// A company admin (permission `company.setup`) edits their own company's
/// name, contact details and time zone. Audited in the company's own log.
pub async fn update_company_settings(
    state: &AppState,
    actor: &Caller,
    tenant: &Tenant,
    input: CompanySettings,
) -> Result<CompanyV3, AppError> {
    // A user of this very company, holding the permission: a platform admin
    // or a user of another company is not one.
    match actor.user() {
        Some(p) if p.tenant.slug == tenant.slug => actor.require("company.setup")?,
        _ => return Err(ErrorKind::Forbidden.into()),
    }
    let name = input.name.as_deref().map(parse_company_name).transpose()?;
    let timezone = input.timezone.as_deref().map(parse_timezone).transpose()?;
    let phone = input.phone.as_deref().map(parse_contact_phone).transpose()?;
    let address = input.address.as_deref().map(parse_address).transpose()?;
    let email = input.email.as_deref().map(parse_email).transpose()?;
    let slug_s = tenant.slug.clone();
    let changed = state
        .platform
        .write(move |tx| {
            let mut t = schema::COMPANIES.open(tx)?;
            let old = t.get(slug_s.as_str())?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.company_not_found"))?;
            let mut c = old.clone();
            let mut ch = Changes::default();
            for (field, new, slot, was) in [
                ("name", &name, &mut c.name, &old.name),
                ("timezone", &timezone, &mut c.timezone, &old.timezone),
                ("phone", &phone, &mut c.phone, &old.phone),
                ("address", &address, &mut c.address, &old.address),
                ("email", &email, &mut c.email, &old.email),
            ] {
                if let Some(v) = new {
                    ch.diff(field, was, v);
                    slot.clone_from(v);
                }
            }
            if !ch.is_empty() {
                t.insert(slug_s.as_str(), &c)?;
            }
            Ok((c, ch))
        })
        .await?;
    let (updated, ch) = changed;
    if !ch.is_empty() {
        tenant.set_info(updated.clone());
        let now = state.now_ms();
        let who = actor.clone();
        let target = format!("company:{}", tenant.slug);
        let changes = std::cell::RefCell::new(Some(ch.0));
        tenant
            .db()?
            .write(move |tx| audit::record(tx, now, &who, "company.update", &target, changes.borrow_mut().take().unwrap_or_default()))
            .await?;
    }
    Ok(updated)
}

/// Creates a platform admin, or sets a new password when the username exists.
/// Returns the id and whether the account was new.
pub async fn upsert_platform_admin(db: &Db, now_ms: i64, username: &str, password_plain: String) -> Result<(u64, bool), AppError> {
    let username = parse_username(username)?;
    password::validate(&password_plain)?;
    let hash = password::hash(password_plain).await?;
    db.write(move |tx| {
        let mut names = tx.open_table(schema::ADMINS_BY_NAME).map_err(store_err)?;
        let mut admins = schema::ADMINS.open(tx)?;
        let existing = names.get(username.as_str()).map_err(store_err)?.map(|v| v.value());
        let (id, acc, created) = match existing {
            Some(id) => {
                let mut a = admins.get(id)?.ok_or_else(|| AppError::internal(anyhow::anyhow!("admin index points at nothing")))?;
                a.password_hash = hash.clone();
                a.failed_logins = 0;
                a.locked_until = None;
                a.active = true;
                a.updated_at = now_ms;
                (id, a, false)
            }
            None => {
                let id = next_id(tx, "admin")?;
                names.insert(username.as_str(), id).map_err(store_err)?;
                let a = new_platform_admin(&username, hash.clone(), now_ms);
                (id, a, true)
            }
        };
        admins.insert(id, &acc)?;
        Ok((id, created))
    })
    .await
}

/// A new platform admin's account: active, no lock, no name or phone.
pub(super) fn new_platform_admin(username: &str, password_hash: String, now_ms: i64) -> AccountV1 {
    AccountV1 {
        username: username.to_string(),
        full_name: String::new(),
        phone: None,
        role: "platform_admin".into(),
        department_id: None,
        branch_id: None,
        active: true,
        password_hash,
        language: None,
        created_at: now_ms,
        updated_at: now_ms,
        failed_logins: 0,
        locked_until: None,
    }
}
