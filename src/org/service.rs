//! The company's structure: users, departments, branches and the role
//! matrix. Every rule lives here; the API and the pages only call in.

use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::auth::Principal;
use crate::auth::{password, rbac};
use crate::error::{AppError, ErrorKind};
use crate::hub::Topic;
use crate::i18n::Lang;
use crate::phone::Phone;
use crate::store::schema::{self, AccountV1, BranchV2, DayHours, DepartmentV2, RoleV1};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::ReadableTable;
use std::collections::HashMap;

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

// ---------- roles ----------

/// The permissions of `role` now: the company's own matrix, or the defaults.
pub fn role_permissions(db: &Db, role: &str) -> Result<Vec<String>, AppError> {
    if role == "owner" {
        return Ok(rbac::PERMISSIONS.iter().map(|p| p.to_string()).collect());
    }
    let tx = db.read()?;
    let t = schema::ROLES.open(&tx)?;
    offered(match t.get(role)? {
        Some(r) => r.permissions,
        None => rbac::default_permissions(role).into_iter().map(String::from).collect(),
    })
}

/// `role_permissions` inside a write transaction.
pub fn role_permissions_in(tx: &impl crate::store::Txn, role: &str) -> Result<Vec<String>, AppError> {
    if role == "owner" {
        return Ok(rbac::PERMISSIONS.iter().map(|p| p.to_string()).collect());
    }
    let t = schema::ROLES.open(tx)?;
    offered(match t.get(role)? {
        Some(r) => r.permissions,
        None => rbac::default_permissions(role).into_iter().map(String::from).collect(),
    })
}

/// A stored or default list without the reserved permissions (and anything
/// else the product no longer knows): what a role holds is what is checked.
fn offered(perms: Vec<String>) -> Result<Vec<String>, AppError> {
    Ok(perms.into_iter().filter(|p| rbac::is_permission(p)).collect())
}

/// Every role with its permissions, in the product's order.
pub fn roles_matrix(db: &Db) -> Result<Vec<(&'static str, Vec<String>)>, AppError> {
    rbac::ROLES.iter().map(|r| Ok((*r, role_permissions(db, r)?))).collect()
}

pub async fn set_role_permissions(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    role: &str,
    permissions: Vec<String>,
) -> Result<Vec<String>, AppError> {
    actor.require("roles.manage")?;
    if !rbac::is_role(role) {
        return Err(AppError::new(ErrorKind::NotFound).with_message("error.role_not_found"));
    }
    if role == "owner" {
        return Err(AppError::invalid("role", "validation.owner_fixed"));
    }
    // Nobody can take away the permission they would need to undo it.
    if actor.role() == Some(role) && !permissions.iter().any(|p| p.trim() == "roles.manage") {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.own_roles_manage"));
    }
    let mut perms: Vec<String> = Vec::new();
    for p in permissions {
        let p = p.trim().to_string();
        if !rbac::is_permission(&p) {
            return Err(AppError::invalid("permissions", "validation.unknown_permission").with_arg("name", p));
        }
        if !perms.contains(&p) {
            perms.push(p);
        }
    }
    perms.sort_by_key(|p| rbac::PERMISSIONS.iter().position(|x| x == p));
    let before = role_permissions(tenant.db()?, role)?;
    let now = state.now_ms();
    let who = actor.clone();
    let role_s = role.to_string();
    let stored = perms.clone();
    tenant
        .db()?
        .write(move |tx| {
            schema::ROLES.open(tx)?.insert(role_s.as_str(), &RoleV1 { permissions: stored.clone() })?;
            let mut ch = Changes::default();
            ch.diff("permissions", &before.join(", "), &stored.join(", "));
            audit::record(tx, now, &who, "role.update", &format!("role:{role_s}"), ch.0)?;
            Ok(())
        })
        .await?;
    state.hub.publish(&tenant.slug, &Topic::Roles, "role.updated", serde_json::json!({"role": role}), state.now());
    Ok(perms)
}

// ---------- users ----------

/// A username: 3–32 of `a-z 0-9 . _ -`, stored in lower case.
pub fn parse_username(s: &str) -> Result<String, AppError> {
    let u = s.trim().to_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok { Ok(u) } else { Err(AppError::invalid("username", "validation.username")) }
}

fn parse_name(field: &'static str, s: &str, max: usize) -> Result<String, AppError> {
    let v = s.trim();
    AppError::check_text(field, v, max, false)?;
    Ok(v.to_string())
}

fn parse_required_name(field: &'static str, s: &str, max: usize) -> Result<String, AppError> {
    let v = parse_name(field, s, max)?;
    if v.is_empty() {
        return Err(AppError::invalid(field, "validation.required"));
    }
    Ok(v)
}

fn parse_phone(p: Option<&str>) -> Result<Option<String>, AppError> {
    match p.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Ok(Some(Phone::parse(p)?.into_string())),
    }
}

fn parse_role(r: &str) -> Result<String, AppError> {
    if rbac::is_role(r) { Ok(r.to_string()) } else { Err(AppError::invalid("role", "validation.role")) }
}

fn parse_language(l: Option<&str>) -> Result<Option<String>, AppError> {
    match l.map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) => crate::i18n::Lang::parse(l)
            .filter(|x| x.code() == l)
            .map(|x| Some(x.code().to_string()))
            .ok_or_else(|| AppError::invalid("language", "validation.language")),
    }
}

fn check_department(tx: &redb::WriteTransaction, id: Option<u64>) -> Result<(), AppError> {
    if let Some(id) = id {
        let t = schema::DEPARTMENTS.open(tx)?;
        match t.get(id)? {
            Some(d) if d.active => {}
            _ => return Err(AppError::invalid("department_id", "validation.department")),
        }
    }
    Ok(())
}

fn check_branch(tx: &redb::WriteTransaction, id: Option<u64>) -> Result<(), AppError> {
    if let Some(id) = id {
        let t = schema::BRANCHES.open(tx)?;
        match t.get(id)? {
            Some(b) if b.active => {}
            _ => return Err(AppError::invalid("branch_id", "validation.branch")),
        }
    }
    Ok(())
}

/// The company's accounts, whole: for those who may see users (`users.view`).
pub fn list_users(db: &Db, who: &Caller) -> Result<Vec<(u64, AccountV1)>, AppError> {
    who.require("users.view")?;
    all_users(db)
}

/// What the users list asks for; every field given narrows it.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Words each found in the username, the full name or the phone
    /// (Latin and Cyrillic alike, any case); at most 200 characters.
    pub text: String,
    pub role: Option<String>,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub active: Option<bool>,
}

/// The users `who` may list (`users.view`) that match `q`: active ones
/// first, then by username. A company has hundreds of users, not the
/// tasks' hundreds of thousands: one pass over the users table.
pub fn find_users(db: &Db, who: &Caller, q: &UserQuery) -> Result<Vec<(u64, AccountV1)>, AppError> {
    who.require("users.view")?;
    AppError::check_text("q", q.text.trim(), 200, false)?;
    let role = q.role.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(parse_role).transpose()?;
    let words: Vec<String> = crate::search::fold(q.text.trim())
        .split(|c: char| !c.is_alphanumeric() && c != '+')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    let mut users: Vec<(u64, AccountV1)> = all_users(db)?
        .into_iter()
        .filter(|(_, u)| {
            role.as_ref().is_none_or(|r| *r == u.role)
                && q.department_id.is_none_or(|d| Some(d) == u.department_id)
                && q.branch_id.is_none_or(|b| Some(b) == u.branch_id)
                && q.active.is_none_or(|a| a == u.active)
                && (words.is_empty() || {
                    let hay = crate::search::fold(&format!("{} {} {}", u.username, u.full_name, u.phone.as_deref().unwrap_or("")));
                    words.iter().all(|w| hay.contains(w.as_str()))
                })
        })
        .collect();
    users.sort_by(|a, b| b.1.active.cmp(&a.1.active).then_with(|| a.1.username.cmp(&b.1.username)));
    Ok(users)
}

fn all_users(db: &Db) -> Result<Vec<(u64, AccountV1)>, AppError> {
    let tx = db.read()?;
    schema::USERS.open(&tx)?.all()
}

/// A user as colleagues see them: the name, the department, whether the
/// account is active. No contact details, no role, no password hash.
#[derive(Debug, Clone)]
pub struct Colleague {
    /// The full name, else the username.
    pub name: String,
    pub active: bool,
    pub department_id: Option<u64>,
}

/// Every user of the company as a colleague: who a task can go to, whose
/// name an entry of the task history or the audit log shows. Any company
/// user reads it (and the system); the public, customers and platform
/// admins do not.
pub fn directory(db: &Db, who: &Caller) -> Result<Vec<(u64, Colleague)>, AppError> {
    if !matches!(who, Caller::User(_) | Caller::System) {
        return Err(ErrorKind::Forbidden.into());
    }
    Ok(all_users(db)?
        .into_iter()
        .map(|(id, a)| {
            let name = if a.full_name.is_empty() { a.username } else { a.full_name };
            (id, Colleague { name, active: a.active, department_id: a.department_id })
        })
        .collect())
}

/// One account: one's own, or anyone's for those who see or manage users
/// (and queue managers, who place users at windows).
pub fn get_user(db: &Db, who: &Caller, id: u64) -> Result<AccountV1, AppError> {
    let own = who.user().is_some_and(|p| p.id == id);
    if !(own || who.can("users.view") || who.can("users.manage") || who.can("queue.manage")) {
        return Err(ErrorKind::Forbidden.into());
    }
    let tx = db.read()?;
    schema::USERS.open(&tx)?.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.user_not_found"))
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    /// None: a password is generated and returned once.
    pub password: Option<String>,
    pub language: Option<String>,
    /// The password was chosen by someone else (generated): the user must
    /// set their own at their first sign-in.
    pub must_change_password: bool,
}

/// Creates a user in a company database with no permission checks: for the
/// company's first admin and the demo (the caller is written to the audit log). Returns the new id.
pub async fn insert_user(db: &Db, now_ms: i64, actor: &Caller, input: NewUser, password_plain: String) -> Result<u64, AppError> {
    let username = parse_username(&input.username)?;
    let full_name = parse_name("full_name", &input.full_name, 120)?;
    let phone = parse_phone(input.phone.as_deref())?;
    let role = parse_role(&input.role)?;
    let language = parse_language(input.language.as_deref())?;
    password::validate(&password_plain)?;
    let hash = password::hash(password_plain).await?;
    let (dept, branch) = (input.department_id, input.branch_id);
    let must_change = input.must_change_password;
    let actor = actor.clone();
    db.write(move |tx| {
        let mut names = tx.open_table(schema::USERS_BY_NAME).map_err(store_err)?;
        if names.get(username.as_str()).map_err(store_err)?.is_some() {
            return Err(AppError::new(ErrorKind::Conflict).with_message("error.username_taken"));
        }
        check_department(tx, dept)?;
        check_branch(tx, branch)?;
        let id = next_id(tx, "user")?;
        names.insert(username.as_str(), id).map_err(store_err)?;
        drop(names);
        let acc = AccountV1 {
            username: username.clone(),
            full_name: full_name.clone(),
            phone: phone.clone(),
            role: role.clone(),
            department_id: dept,
            branch_id: branch,
            active: true,
            password_hash: hash.clone(),
            language: language.clone(),
            created_at: now_ms,
            updated_at: now_ms,
            failed_logins: 0,
            locked_until: None,
        };
        schema::USERS.open(tx)?.insert(id, &acc)?;
        if must_change {
            tx.open_table(schema::MUST_CHANGE_PASSWORD).map_err(store_err)?.insert(id, now_ms).map_err(store_err)?;
        }
        let mut ch = Changes::default();
        ch.set("username", &username);
        ch.set("role", &role);
        if !full_name.is_empty() {
            ch.set("full_name", &full_name);
        }
        audit::record(tx, now_ms, &actor, "user.create", &format!("user:{id}"), ch.0)?;
        Ok(id)
    })
    .await
}

/// Creates a user. Returns the id and, when none was given, the generated
/// password to show once.
pub async fn create_user(state: &AppState, tenant: &Tenant, actor: &Caller, input: NewUser) -> Result<(u64, Option<String>), AppError> {
    actor.require("users.manage")?;
    if input.role.trim() == "owner" && !actor.acts_as_owner() {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.owner_only"));
    }
    let (plain, generated) = match input.password.clone().filter(|p| !p.is_empty()) {
        Some(p) => (p, None),
        None => {
            let p = password::generate();
            (p.clone(), Some(p))
        }
    };
    let input = NewUser { must_change_password: generated.is_some(), ..input };
    let id = insert_user(tenant.db()?, state.now_ms(), actor, input, plain).await?;
    state.hub.publish(&tenant.slug, &Topic::Users, "user.created", serde_json::json!({"id": id}), state.now());
    Ok((id, generated))
}

/// A change to a user; `None` leaves a field as it is. For the nullable
/// fields `Some(None)` clears them.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub role: Option<String>,
    pub department_id: Option<Option<u64>>,
    pub branch_id: Option<Option<u64>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub language: Option<Option<String>>,
}

pub async fn update_user(state: &AppState, tenant: &Tenant, actor: &Caller, id: u64, patch: UserPatch) -> Result<AccountV1, AppError> {
    actor.require("users.manage")?;
    if id == actor.id() && (patch.active == Some(false) || patch.role.as_deref().is_some_and(|r| Some(r) != actor.role())) {
        return Err(AppError::new(ErrorKind::Conflict).with_message("error.cannot_change_self"));
    }
    if patch.role.as_deref().is_some_and(|r| r.trim() == "owner") && !actor.acts_as_owner() {
        return Err(AppError::new(ErrorKind::Forbidden).with_message("error.owner_only"));
    }
    apply_user_patch(state, tenant, actor, id, patch, None).await
}

/// Gives user `id` a fresh one-time password they must change at their
/// first sign-in, as the system: the bot sends it (with the login) to the
/// Telegram account an admin's link code linked. Ends their sessions.
pub async fn issue_one_time_password(state: &AppState, tenant: &Tenant, id: u64) -> Result<(String, String), AppError> {
    let plain = password::generate();
    let patch = UserPatch { password: Some(plain.clone()), ..Default::default() };
    let account = apply_user_patch(state, tenant, &Caller::System, id, patch, None).await?;
    Ok((account.username, plain))
}

/// Whether user `id` must choose their own password before anything else
/// (theirs was generated or reset by an admin).
pub fn must_change_password(db: &Db, id: u64) -> Result<bool, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(schema::MUST_CHANGE_PASSWORD).map_err(store_err)?;
    Ok(t.get(id).map_err(store_err)?.is_some())
}

/// Changes the caller's own password: the current one must be given. Ends
/// a forced change and every other session of the user.
pub async fn change_own_password(
    state: &AppState,
    tenant: &Tenant,
    user: &Principal,
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    if !new_password.is_empty() && new_password == current_password {
        return Err(AppError::invalid("new_password", "validation.password_same"));
    }
    let patch = UserPatch { password: Some(new_password), ..Default::default() };
    match update_profile(state, tenant, user, patch, Some(current_password)).await {
        Ok(_) => Ok(()),
        Err(mut e) => {
            if e.field == Some("password") {
                e.field = Some("new_password");
            }
            Err(e)
        }
    }
}

/// Changes a user's own profile: name, phone, language, password.
pub async fn update_profile(
    state: &AppState,
    tenant: &Tenant,
    user: &Principal,
    patch: UserPatch,
    current_password: Option<String>,
) -> Result<AccountV1, AppError> {
    if patch.role.is_some() || patch.active.is_some() || patch.department_id.is_some() || patch.branch_id.is_some() {
        return Err(ErrorKind::Forbidden.into());
    }
    if patch.password.is_some() {
        let ok = password::verify(current_password.unwrap_or_default(), Some(user.account.password_hash.clone())).await?.ok();
        if !ok {
            return Err(AppError::invalid("current_password", "validation.current_password"));
        }
    }
    apply_user_patch(state, tenant, &Caller::from(user), user.id, patch, Some(user.sid.clone())).await
}

/// Applies a change to a user. A new password ends every other session of
/// that user (all but `keep_session`, the one making the change).
async fn apply_user_patch(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    id: u64,
    patch: UserPatch,
    keep_session: Option<String>,
) -> Result<AccountV1, AppError> {
    let full_name = patch.full_name.as_deref().map(|n| parse_name("full_name", n, 120)).transpose()?;
    let phone = match &patch.phone {
        Some(p) => Some(parse_phone(p.as_deref())?),
        None => None,
    };
    let role = patch.role.as_deref().map(parse_role).transpose()?;
    let language = match &patch.language {
        Some(l) => Some(parse_language(l.as_deref())?),
        None => None,
    };
    let hash = match patch.password.clone() {
        Some(p) => {
            password::validate(&p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let now = state.now_ms();
    let who = actor.clone();
    let (dept, branch, active) = (patch.department_id, patch.branch_id, patch.active);
    let renamed = full_name.is_some();
    let (updated, role_changed, sent) = tenant
        .db()?
        .write(move |tx| {
            let mut users = schema::USERS.open(tx)?;
            let old = users.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.user_not_found"))?;
            if old.role == "owner" && id != who.id() && !who.acts_as_owner() {
                return Err(AppError::new(ErrorKind::Forbidden).with_message("error.owner_only"));
            }
            let mut u = old.clone();
            let mut ch = Changes::default();
            if let Some(v) = &full_name {
                ch.diff("full_name", &old.full_name, v);
                u.full_name = v.clone();
            }
            if let Some(v) = &phone {
                ch.diff_opt("phone", &old.phone, v);
                u.phone = v.clone();
            }
            if let Some(v) = &role {
                ch.diff("role", &old.role, v);
                u.role = v.clone();
            }
            if let Some(v) = dept {
                if v != old.department_id {
                    check_department(tx, v)?;
                }
                ch.diff_opt("department_id", &old.department_id, &v);
                u.department_id = v;
            }
            if let Some(v) = branch {
                if v != old.branch_id {
                    check_branch(tx, v)?;
                }
                ch.diff_opt("branch_id", &old.branch_id, &v);
                u.branch_id = v;
            }
            if let Some(v) = active {
                ch.diff("active", &old.active, &v);
                u.active = v;
            }
            if let Some(v) = &language {
                ch.diff_opt("language", &old.language, v);
                u.language = v.clone();
            }
            if let Some(h) = &hash {
                crate::auth::session::revoke_account_in(tx, id, keep_session.as_deref(), now)?;
                // Their own choice ends a forced change; someone else's
                // (an admin's reset) starts one.
                let mut must = tx.open_table(schema::MUST_CHANGE_PASSWORD).map_err(store_err)?;
                if keep_session.is_none() && id != who.id() {
                    must.insert(id, now).map_err(store_err)?;
                } else {
                    must.remove(id).map_err(store_err)?;
                }
                drop(must);
                ch.secret("password");
                u.password_hash = h.clone();
                u.failed_logins = 0;
                u.locked_until = None;
            }
            if ch.is_empty() {
                return Ok((u, false, Vec::new()));
            }
            u.updated_at = now;
            users.insert(id, &u)?;
            drop(users);
            if u.full_name != old.full_name {
                crate::search::names_changed(tx)?;
            }
            let role_changed = u.role != old.role;
            audit::record(tx, now, &who, "user.update", &format!("user:{id}"), ch.0)?;
            let sent = if role_changed {
                crate::notify::plan(tx, now, who.id(), crate::notify::Notice::RoleChanged { user_id: id, role: &u.role })?
            } else {
                Vec::new()
            };
            Ok((u, role_changed, sent))
        })
        .await?;
    crate::notify::deliver(state, tenant, sent);
    if renamed {
        state.search.user_renamed(tenant, id);
    }
    if role_changed {
        state.hub.publish(&tenant.slug, &Topic::User(id), "role_changed", serde_json::json!({"id": id, "role": updated.role}), state.now());
    }
    state.hub.publish(&tenant.slug, &Topic::Users, "user.updated", serde_json::json!({"id": id}), state.now());
    Ok(updated)
}

// ---------- departments ----------

pub fn list_departments(db: &Db) -> Result<Vec<(u64, DepartmentV2)>, AppError> {
    let tx = db.read()?;
    schema::DEPARTMENTS.open(&tx)?.all()
}

fn name_taken<V>(rows: &[(u64, V)], name: &str, except: Option<u64>, name_of: impl Fn(&V) -> (&str, bool)) -> bool {
    rows.iter().any(|(id, v)| {
        let (n, active) = name_of(v);
        Some(*id) != except && active && n.to_lowercase() == name.to_lowercase()
    })
}

/// A department's fields from a form or the API; on update `None` keeps a
/// field, and `Some("")` clears a translation (the one name is used).
#[derive(Debug, Clone, Default)]
pub struct DepartmentInput {
    pub name: Option<String>,
    /// The name in Russian and in English.
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    pub active: Option<bool>,
}

/// The name people read in `lang`: its own version, or the one given.
pub fn department_name(d: &DepartmentV2, lang: Lang) -> &str {
    lang.pick(&d.name, &d.name_ru, &d.name_en)
}

/// Department id → its name in `lang`, for lists and filters.
pub fn department_names(db: &Db, lang: Lang) -> Result<HashMap<u64, String>, AppError> {
    Ok(list_departments(db)?.into_iter().map(|(id, d)| (id, department_name(&d, lang).to_string())).collect())
}

pub async fn create_department(state: &AppState, tenant: &Tenant, actor: &Caller, input: DepartmentInput) -> Result<u64, AppError> {
    actor.require("departments.manage")?;
    let name = parse_required_name("name", input.name.as_deref().unwrap_or(""), 80)?;
    let name_ru = parse_name("name_ru", input.name_ru.as_deref().unwrap_or(""), 80)?;
    let name_en = parse_name("name_en", input.name_en.as_deref().unwrap_or(""), 80)?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut t = schema::DEPARTMENTS.open(tx)?;
            if name_taken(&t.all()?, &name, None, |d| (&d.name, d.active)) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
            }
            let id = next_id(tx, "department")?;
            let d = DepartmentV2 { name: name.clone(), active: true, created_at: now, name_ru: name_ru.clone(), name_en: name_en.clone() };
            t.insert(id, &d)?;
            drop(t);
            let mut ch = Changes::default();
            ch.set("name", &name);
            if !name_ru.is_empty() {
                ch.set("name_ru", &name_ru);
            }
            if !name_en.is_empty() {
                ch.set("name_en", &name_en);
            }
            audit::record(tx, now, &who, "department.create", &format!("department:{id}"), ch.0)?;
            Ok(id)
        })
        .await
}

pub async fn update_department(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    id: u64,
    input: DepartmentInput,
) -> Result<DepartmentV2, AppError> {
    actor.require("departments.manage")?;
    let name = input.name.as_deref().map(|n| parse_required_name("name", n, 80)).transpose()?;
    let name_ru = input.name_ru.as_deref().map(|n| parse_name("name_ru", n, 80)).transpose()?;
    let name_en = input.name_en.as_deref().map(|n| parse_name("name_en", n, 80)).transpose()?;
    let active = input.active;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut t = schema::DEPARTMENTS.open(tx)?;
            let old = t.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.department_not_found"))?;
            let mut d = old.clone();
            let mut ch = Changes::default();
            if let Some(n) = &name {
                if name_taken(&t.all()?, n, Some(id), |d| (&d.name, d.active)) {
                    return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
                }
                ch.diff("name", &old.name, n);
                d.name = n.clone();
            }
            if let Some(n) = &name_ru {
                ch.diff("name_ru", &old.name_ru, n);
                d.name_ru = n.clone();
            }
            if let Some(n) = &name_en {
                ch.diff("name_en", &old.name_en, n);
                d.name_en = n.clone();
            }
            if let Some(a) = active {
                ch.diff("active", &old.active, &a);
                d.active = a;
            }
            if !ch.is_empty() {
                t.insert(id, &d)?;
                drop(t);
                audit::record(tx, now, &who, "department.update", &format!("department:{id}"), ch.0)?;
            }
            Ok(d)
        })
        .await
}

// ---------- branches ----------

pub fn list_branches(db: &Db) -> Result<Vec<(u64, BranchV2)>, AppError> {
    let tx = db.read()?;
    schema::BRANCHES.open(&tx)?.all()
}

pub fn get_branch(db: &Db, id: u64) -> Result<BranchV2, AppError> {
    let tx = db.read()?;
    schema::BRANCHES.open(&tx)?.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))
}

/// `HH:MM` → minutes after midnight; `24:00` closes at midnight.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

pub fn format_hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// Week hours from `[open, close]` pairs per weekday (Monday first).
pub fn parse_hours(days: [Option<(String, String)>; 7]) -> Result<[DayHours; 7], AppError> {
    let mut out: [DayHours; 7] = [None; 7];
    for ((d, slot), code) in days.into_iter().zip(out.iter_mut()).zip(WEEKDAYS) {
        if let Some((open, close)) = d {
            let (Some(o), Some(c)) = (parse_hhmm(&open), parse_hhmm(&close)) else {
                return Err(AppError::invalid("hours", "validation.hours_format").with_arg("day", code));
            };
            if o >= c {
                return Err(AppError::invalid("hours", "validation.hours_order").with_arg("day", code));
            }
            *slot = Some((o, c));
        }
    }
    Ok(out)
}

fn hours_text(h: &Option<[DayHours; 7]>) -> String {
    match h {
        None => "24/7".into(),
        Some(days) => days
            .iter()
            .zip(WEEKDAYS)
            .map(|(d, n)| match d {
                Some((o, c)) => format!("{n} {}-{}", format_hhmm(*o), format_hhmm(*c)),
                None => format!("{n} -"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[derive(Debug, Clone, Default)]
pub struct BranchInput {
    pub name: Option<String>,
    pub address: Option<String>,
    /// `Some(None)`: open around the clock.
    pub hours: Option<Option<[DayHours; 7]>>,
    pub active: Option<bool>,
    /// The name in Russian and in English; `Some("")`: the one name.
    pub name_ru: Option<String>,
    pub name_en: Option<String>,
    /// The display board's languages, main first (at most two).
    pub board_langs: Option<Vec<String>>,
}

/// The name people read in `lang`: its own version, or the one given.
pub fn branch_name(b: &BranchV2, lang: crate::i18n::Lang) -> &str {
    lang.pick(&b.name, &b.name_ru, &b.name_en)
}

/// The languages a branch's board speaks: its own choice, or the company's language.
pub fn board_langs(b: &BranchV2, company: crate::i18n::Lang) -> Vec<crate::i18n::Lang> {
    let mut out: Vec<crate::i18n::Lang> = b.board_langs.iter().filter_map(|c| crate::i18n::Lang::parse(c)).collect();
    if out.is_empty() {
        out.push(company);
    }
    out
}

/// One or two distinct language codes (`uz`, `ru`, `en`).
fn parse_board_langs(v: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for c in v {
        let lang = crate::i18n::Lang::parse(c.trim()).ok_or_else(|| AppError::invalid("board_langs", "validation.board_langs"))?;
        let code = lang.code().to_string();
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.len() > 2 {
        return Err(AppError::invalid("board_langs", "validation.board_langs"));
    }
    Ok(out)
}

pub async fn create_branch(state: &AppState, tenant: &Tenant, actor: &Caller, input: BranchInput) -> Result<u64, AppError> {
    actor.require("branches.manage")?;
    let name = parse_required_name("name", input.name.as_deref().unwrap_or(""), 120)?;
    let address = parse_name("address", input.address.as_deref().unwrap_or(""), 300)?;
    let hours = input.hours.unwrap_or(None);
    let name_ru = parse_name("name_ru", input.name_ru.as_deref().unwrap_or(""), 120)?;
    let name_en = parse_name("name_en", input.name_en.as_deref().unwrap_or(""), 120)?;
    let board = parse_board_langs(input.board_langs.as_deref().unwrap_or(&[]))?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut t = schema::BRANCHES.open(tx)?;
            if name_taken(&t.all()?, &name, None, |b| (&b.name, b.active)) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
            }
            let id = next_id(tx, "branch")?;
            let b = BranchV2 {
                name: name.clone(),
                address: address.clone(),
                hours,
                active: true,
                created_at: now,
                name_ru: name_ru.clone(),
                name_en: name_en.clone(),
                board_langs: board.clone(),
            };
            t.insert(id, &b)?;
            drop(t);
            let mut ch = Changes::default();
            ch.set("name", &name);
            ch.set("address", &address);
            ch.set("hours", hours_text(&hours));
            audit::record(tx, now, &who, "branch.create", &format!("branch:{id}"), ch.0)?;
            Ok(id)
        })
        .await
}

pub async fn update_branch(state: &AppState, tenant: &Tenant, actor: &Caller, id: u64, input: BranchInput) -> Result<BranchV2, AppError> {
    actor.require("branches.manage")?;
    let name = input.name.as_deref().map(|n| parse_required_name("name", n, 120)).transpose()?;
    let address = input.address.as_deref().map(|a| parse_name("address", a, 300)).transpose()?;
    let name_ru = input.name_ru.as_deref().map(|n| parse_name("name_ru", n, 120)).transpose()?;
    let name_en = input.name_en.as_deref().map(|n| parse_name("name_en", n, 120)).transpose()?;
    let board = input.board_langs.as_deref().map(parse_board_langs).transpose()?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut t = schema::BRANCHES.open(tx)?;
            let old = t.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.branch_not_found"))?;
            let mut b = old.clone();
            let mut ch = Changes::default();
            if let Some(n) = &name {
                if name_taken(&t.all()?, n, Some(id), |b| (&b.name, b.active)) {
                    return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
                }
                ch.diff("name", &old.name, n);
                b.name = n.clone();
            }
            if let Some(a) = &address {
                ch.diff("address", &old.address, a);
                b.address = a.clone();
            }
            if let Some(h) = input.hours {
                ch.diff("hours", &hours_text(&old.hours), &hours_text(&h));
                b.hours = h;
            }
            if let Some(a) = input.active {
                ch.diff("active", &old.active, &a);
                b.active = a;
            }
            if let Some(n) = &name_ru {
                ch.diff("name_ru", &old.name_ru, n);
                b.name_ru = n.clone();
            }
            if let Some(n) = &name_en {
                ch.diff("name_en", &old.name_en, n);
                b.name_en = n.clone();
            }
            if let Some(l) = &board {
                ch.diff("board_langs", &old.board_langs.join("+"), &l.join("+"));
                b.board_langs = l.clone();
            }
            if !ch.is_empty() {
                t.insert(id, &b)?;
                drop(t);
                audit::record(tx, now, &who, "branch.update", &format!("branch:{id}"), ch.0)?;
            }
            Ok(b)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_refuse() {
        assert_eq!(parse_hhmm("09:00"), Some(540));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:30"), None);
        assert_eq!(parse_hhmm("9:5"), None);
        let mut days: [Option<(String, String)>; 7] = Default::default();
        days[0] = Some(("09:00".into(), "18:00".into()));
        assert_eq!(parse_hours(days.clone()).unwrap()[0], Some((540, 1080)));
        days[1] = Some(("18:00".into(), "09:00".into()));
        assert!(parse_hours(days).is_err());
    }

    /// A matrix saved before chat, requests and department reports were
    /// reserved still loads; the reserved permissions are simply not held.
    #[tokio::test]
    async fn an_old_matrix_with_reserved_permissions_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::create(&dir.path().join("t.redb"), &crate::store::migrate::TENANT, crate::store::DbOptions::default()).unwrap();
        let old: Vec<String> = ["users.view", "chat.use", "requests.handle", "reports.view_department"].map(String::from).to_vec();
        db.write(move |tx| {
            schema::ROLES.open(tx)?.insert("manager", &RoleV1 { permissions: old.clone() })?;
            Ok(())
        })
        .await
        .unwrap();
        // Requests and department reports are real now: what was stored is held again.
        assert_eq!(role_permissions(&db, "manager").unwrap(), ["users.view", "requests.handle", "reports.view_department"]);
        // The defaults lose them too.
        assert!(role_permissions(&db, "employee").unwrap().is_empty());
        assert_eq!(role_permissions(&db, "operator").unwrap(), ["queue.operate"]);
    }

    #[test]
    fn usernames() {
        assert_eq!(parse_username(" Aziz.K ").unwrap(), "aziz.k");
        assert!(parse_username("ab").is_err());
        assert!(parse_username("азиз").is_err());
        assert!(parse_username("-abc").is_err());
    }
}
