//! Queue setup: services offered at branches, and operators at windows.

use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Lang;
use crate::store::schema::{self, AccountV1, OPERATORS, OperatorV1, QueueSettingsV2, SERVICES, ServiceV2, TicketNumbering};
use crate::store::{Db, next_id, store_err};
use crate::tenancy::Tenant;
use redb::{ReadableTable, WriteTransaction};

pub const NAME_MAX: usize = 80;
pub const MINUTES_MAX: u16 = 480;
pub const WINDOW_MAX: u16 = 999;

/// A service's name in each language; one given for all is used for all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Names {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

impl Names {
    pub fn same(name: &str) -> Names {
        Names { uz: name.into(), ru: name.into(), en: name.into() }
    }

    pub fn of(s: &ServiceV2) -> Names {
        Names { uz: s.name_uz.clone(), ru: s.name_ru.clone(), en: s.name_en.clone() }
    }

    /// Checks the names; an empty Russian or English name takes the Uzbek
    /// one, for every channel alike (page, API, bot).
    fn validated(self) -> Result<Names, AppError> {
        let uz = self.uz.trim().to_string();
        let or_uz = |v: &str| if v.trim().is_empty() { uz.clone() } else { v.to_string() };
        let (ru, en) = (or_uz(&self.ru), or_uz(&self.en));
        let one = |v: &str| -> Result<String, AppError> {
            let v = v.trim();
            if v.is_empty() {
                return Err(AppError::invalid("name", "validation.required"));
            }
            AppError::check_text("name", v, NAME_MAX, false)?;
            Ok(v.to_string())
        };
        Ok(Names { uz: one(&uz)?, ru: one(&ru)?, en: one(&en)? })
    }
}

/// The name people read in `lang` (stored filled in for every language,
/// but read through the same rule as every other name).
pub fn service_name(s: &ServiceV2, lang: Lang) -> &str {
    lang.pick(&s.name_uz, &s.name_ru, &s.name_en)
}

fn minutes(field: &'static str, m: u16, min: u16) -> Result<u16, AppError> {
    if m < min || m > MINUTES_MAX {
        return Err(AppError::invalid(field, "validation.minutes").with_arg("min", min).with_arg("max", MINUTES_MAX));
    }
    Ok(m)
}

/// Every branch id must be an active branch; repeats are dropped.
fn check_branches(tx: &WriteTransaction, ids: &[u64]) -> Result<Vec<u64>, AppError> {
    let t = schema::BRANCHES.open(tx)?;
    let mut out: Vec<u64> = Vec::new();
    for &id in ids {
        match t.get(id)? {
            Some(b) if b.active => {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            _ => return Err(AppError::invalid("branch_ids", "validation.branch")),
        }
    }
    Ok(out)
}

/// A service's ticket prefix as given, upper-cased; one to three Latin
/// letters or digits, a letter first (the form trims what was typed; the
/// API takes it exactly, as its schema says). Empty means none chosen.
pub fn normalize_prefix(p: &str) -> Result<String, AppError> {
    let p = p.to_ascii_uppercase();
    let ok = p.is_empty()
        || (p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && p.bytes().next().is_some_and(|b| b.is_ascii_uppercase()));
    if !ok {
        return Err(AppError::invalid("prefix", "validation.ticket_prefix"));
    }
    Ok(p)
}

/// The prefix of a service's ticket numbers when the company numbers by
/// service: its own, or a letter from its id when none was chosen
/// (`A` for 1 … `Z` for 26, then `S27`).
pub fn ticket_prefix(id: u64, s: &ServiceV2) -> String {
    if !s.prefix.is_empty() {
        return s.prefix.clone();
    }
    match id {
        1..=26 => char::from(b'A' + (id - 1) as u8).to_string(),
        _ => format!("S{id}"),
    }
}

/// Two active services never share a chosen prefix: their queues would
/// read alike on the board.
fn check_prefix(all: &[(u64, ServiceV2)], id: Option<u64>, s: &ServiceV2) -> Result<(), AppError> {
    if !s.active || s.prefix.is_empty() {
        return Ok(());
    }
    if all.iter().any(|(o, x)| Some(*o) != id && x.active && x.prefix == s.prefix) {
        return Err(AppError::invalid("prefix", "validation.prefix_taken").with_arg("prefix", s.prefix.clone()));
    }
    Ok(())
}

pub fn list_services(db: &Db) -> Result<Vec<(u64, ServiceV2)>, AppError> {
    let tx = db.read()?;
    SERVICES.open(&tx)?.all()
}

pub fn get_service(db: &Db, id: u64) -> Result<ServiceV2, AppError> {
    let tx = db.read()?;
    SERVICES.open(&tx)?.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.service_not_found"))
}

#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    pub names: Option<Names>,
    pub minutes: Option<u16>,
    pub target_wait_minutes: Option<u16>,
    pub branch_ids: Option<Vec<u64>>,
    pub active: Option<bool>,
    /// The ticket prefix (numbering by service); `Some("")` clears it.
    pub prefix: Option<String>,
}

pub async fn create_service(state: &AppState, tenant: &Tenant, actor: &Caller, input: ServiceInput) -> Result<(u64, ServiceV2), AppError> {
    actor.require("queue.manage")?;
    let names = input.names.ok_or_else(|| AppError::invalid("name", "validation.required"))?.validated()?;
    let minutes_v = minutes("minutes", input.minutes.ok_or_else(|| AppError::invalid("minutes", "validation.required"))?, 1)?;
    let target = minutes("target_wait_minutes", input.target_wait_minutes.unwrap_or(15), 1)?;
    let branch_ids = input.branch_ids.unwrap_or_default();
    let prefix = normalize_prefix(input.prefix.as_deref().unwrap_or(""))?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let branches = check_branches(tx, &branch_ids)?;
            let existing = SERVICES.open(tx)?.all()?;
            if existing.iter().any(|(_, s)| s.active && (s.name_uz.to_lowercase() == names.uz.to_lowercase())) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
            }
            let s = ServiceV2 {
                name_uz: names.uz.clone(),
                name_ru: names.ru.clone(),
                name_en: names.en.clone(),
                minutes: minutes_v,
                target_wait_minutes: target,
                branch_ids: branches,
                active: true,
                created_at: now,
                prefix: prefix.clone(),
            };
            check_prefix(&existing, None, &s)?;
            let id = next_id(tx, "service")?;
            SERVICES.open(tx)?.insert(id, &s)?;
            let mut ch = Changes::default();
            ch.set("name", &s.name_uz);
            ch.set("minutes", s.minutes);
            if !s.prefix.is_empty() {
                ch.set("prefix", &s.prefix);
            }
            ch.set("branch_ids", format!("{:?}", s.branch_ids));
            audit::record(tx, now, &who, "service.create", &format!("service:{id}"), ch.0)?;
            Ok((id, s))
        })
        .await
}

pub async fn update_service(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    id: u64,
    input: ServiceInput,
) -> Result<ServiceV2, AppError> {
    actor.require("queue.manage")?;
    let names = input.names.map(Names::validated).transpose()?;
    let minutes_v = input.minutes.map(|m| minutes("minutes", m, 1)).transpose()?;
    let target = input.target_wait_minutes.map(|m| minutes("target_wait_minutes", m, 1)).transpose()?;
    let (branch_ids, active) = (input.branch_ids, input.active);
    let prefix = input.prefix.as_deref().map(normalize_prefix).transpose()?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let old =
                SERVICES.open(tx)?.get(id)?.ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.service_not_found"))?;
            let mut s = old.clone();
            if let Some(n) = &names {
                s.name_uz = n.uz.clone();
                s.name_ru = n.ru.clone();
                s.name_en = n.en.clone();
            }
            if let Some(m) = minutes_v {
                s.minutes = m;
            }
            if let Some(m) = target {
                s.target_wait_minutes = m;
            }
            if let Some(b) = &branch_ids {
                s.branch_ids = check_branches(tx, b)?;
            }
            if let Some(a) = active {
                s.active = a;
            }
            if let Some(p) = &prefix {
                s.prefix = p.clone();
            }
            // Two active services never share a name or a prefix (renaming or switching one back on).
            if s.active {
                let others = SERVICES.open(tx)?.all()?;
                if others.iter().any(|(o, x)| *o != id && x.active && x.name_uz.to_lowercase() == s.name_uz.to_lowercase()) {
                    return Err(AppError::new(ErrorKind::Conflict).with_message("error.name_taken"));
                }
                check_prefix(&others, Some(id), &s)?;
            }
            let mut ch = Changes::default();
            ch.diff("name", &old.name_uz, &s.name_uz);
            ch.diff("name_ru", &old.name_ru, &s.name_ru);
            ch.diff("name_en", &old.name_en, &s.name_en);
            ch.diff("minutes", &old.minutes, &s.minutes);
            ch.diff("target_wait_minutes", &old.target_wait_minutes, &s.target_wait_minutes);
            ch.diff("branch_ids", &format!("{:?}", old.branch_ids), &format!("{:?}", s.branch_ids));
            ch.diff("active", &old.active, &s.active);
            ch.diff("prefix", &old.prefix, &s.prefix);
            if ch.is_empty() {
                return Ok(s);
            }
            SERVICES.open(tx)?.insert(id, &s)?;
            audit::record(tx, now, &who, "service.update", &format!("service:{id}"), ch.0)?;
            Ok(s)
        })
        .await
}

pub fn get_operator(db: &Db, user_id: u64) -> Result<Option<OperatorV1>, AppError> {
    let tx = db.read()?;
    OPERATORS.open(&tx)?.get(user_id)
}

/// Where each operator works: for those who operate a window or set the
/// queue up.
pub fn list_operators(db: &Db, who: &Caller) -> Result<Vec<(u64, OperatorV1)>, AppError> {
    if !(who.can("queue.operate") || who.can("queue.manage")) {
        return Err(ErrorKind::Forbidden.into());
    }
    let tx = db.read()?;
    OPERATORS.open(&tx)?.all()
}

/// Active users who may be put at a window, by name: those whose role may
/// operate one (`queue.operate`), and anyone already placed. The owner holds
/// every permission by rule, not to sit at a window, so is listed once
/// placed. For those who set the queue up.
pub fn operator_candidates(db: &Db, who: &Caller) -> Result<Vec<(u64, AccountV1)>, AppError> {
    who.require("queue.manage")?;
    let placed: std::collections::HashSet<u64> = list_operators(db, who)?.into_iter().map(|(id, _)| id).collect();
    let users = {
        let tx = db.read()?;
        schema::USERS.open(&tx)?.all()?
    };
    let mut may_operate: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (id, a) in users {
        if !a.active {
            continue;
        }
        if placed.contains(&id) || a.role == "owner" {
            if placed.contains(&id) {
                out.push((id, a));
            }
            continue;
        }
        let may = match may_operate.get(&a.role) {
            Some(m) => *m,
            None => {
                let m = crate::org::service::role_permissions(db, &a.role)?.iter().any(|p| p == "queue.operate");
                may_operate.insert(a.role.clone(), m);
                m
            }
        };
        if may {
            out.push((id, a));
        }
    }
    let name = |a: &AccountV1| if a.full_name.is_empty() { a.username.to_lowercase() } else { a.full_name.to_lowercase() };
    out.sort_by_key(|(_, a)| name(a));
    Ok(out)
}

/// Puts an operator at a branch's window with the services they serve.
/// Each service must be offered at that branch, and one window has one
/// operator.
pub async fn set_operator(
    state: &AppState,
    tenant: &Tenant,
    actor: &Caller,
    user_id: u64,
    branch_id: u64,
    window: u16,
    service_ids: Vec<u64>,
) -> Result<OperatorV1, AppError> {
    actor.require("queue.manage")?;
    if window == 0 || window > WINDOW_MAX {
        return Err(AppError::invalid("window", "validation.window").with_arg("max", WINDOW_MAX));
    }
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let user = schema::USERS
                .open(tx)?
                .get(user_id)?
                .ok_or_else(|| AppError::new(ErrorKind::NotFound).with_message("error.user_not_found"))?;
            let perms = crate::org::service::role_permissions_in(tx, &user.role)?;
            if !user.active || !perms.iter().any(|p| p == "queue.operate") {
                return Err(AppError::invalid("user_id", "validation.not_operator"));
            }
            check_branches(tx, &[branch_id]).map_err(|_| AppError::invalid("branch_id", "validation.branch"))?;
            let services = SERVICES.open(tx)?;
            let mut ids: Vec<u64> = Vec::new();
            for &sid in &service_ids {
                match services.get(sid)? {
                    Some(s) if s.active && s.branch_ids.contains(&branch_id) => {
                        if !ids.contains(&sid) {
                            ids.push(sid);
                        }
                    }
                    _ => return Err(AppError::invalid("service_ids", "validation.service_at_branch")),
                }
            }
            drop(services);
            let mut ops = OPERATORS.open(tx)?;
            let all = ops.all()?;
            if all.iter().any(|(u, o)| *u != user_id && o.branch_id == branch_id && o.window == window) {
                return Err(AppError::new(ErrorKind::Conflict).with_message("error.window_taken").with_arg("window", window));
            }
            let old = all.iter().find(|(u, _)| *u == user_id).map(|(_, o)| o.clone());
            if let Some(o) = old.as_ref().filter(|o| o.branch_id != branch_id) {
                refuse_if_busy(tx, o.branch_id, user_id)?;
            }
            let op = OperatorV1 { branch_id, window, service_ids: ids, updated_at: now };
            ops.insert(user_id, &op)?;
            drop(ops);
            let mut ch = Changes::default();
            ch.diff_opt("branch_id", &old.as_ref().map(|o| o.branch_id), &Some(op.branch_id));
            ch.diff_opt("window", &old.as_ref().map(|o| o.window), &Some(op.window));
            ch.diff_opt("service_ids", &old.as_ref().map(|o| format!("{:?}", o.service_ids)), &Some(format!("{:?}", op.service_ids)));
            if !ch.is_empty() {
                audit::record(tx, now, &who, "operator.update", &format!("user:{user_id}"), ch.0)?;
            }
            Ok(op)
        })
        .await
}

/// Refuses to move an operator who has a customer called or at the window.
fn refuse_if_busy(tx: &WriteTransaction, branch_id: u64, user_id: u64) -> Result<(), AppError> {
    let open = tx.open_table(schema::TICKETS_OPEN).map_err(store_err)?;
    let tickets = schema::TICKETS.open(tx)?;
    for row in open.range((branch_id, 0, 0)..=(branch_id, u32::MAX, u64::MAX)).map_err(store_err)? {
        let id = row.map_err(store_err)?.0.value().2;
        if let Some(t) = tickets.get(id)?
            && t.operator_id == Some(user_id)
            && matches!(t.status, schema::TicketStatus::Called | schema::TicketStatus::Serving)
        {
            return Err(AppError::new(ErrorKind::Conflict).with_message("error.operator_busy").with_arg("number", t.number));
        }
    }
    Ok(())
}

/// Takes an operator off their window. Refused while they have a customer
/// called or at the window, so nobody is left without an operator.
pub async fn remove_operator(state: &AppState, tenant: &Tenant, actor: &Caller, user_id: u64) -> Result<(), AppError> {
    actor.require("queue.manage")?;
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut ops = OPERATORS.open(tx)?;
            let Some(old) = ops.get(user_id)? else {
                return Err(AppError::new(ErrorKind::NotFound).with_message("error.no_window"));
            };
            refuse_if_busy(tx, old.branch_id, user_id)?;
            ops.remove(user_id)?;
            let mut ch = Changes::default();
            ch.diff_opt("window", &Some(old.window), &None);
            audit::record(tx, now, &who, "operator.remove", &format!("user:{user_id}"), ch.0)?;
            Ok(())
        })
        .await
}

/// Recalls allowed before a no-show when the company has not chosen.
pub const DEFAULT_MAX_RECALLS: u8 = 2;
/// The most recalls a company may allow.
pub const RECALLS_LIMIT: u8 = 5;

/// The company's queue rules, read inside a transaction.
pub fn settings_in(table: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<QueueSettingsV2, AppError> {
    Ok(schema::QUEUE_SETTINGS
        .get(table)?
        .unwrap_or(QueueSettingsV2 { max_recalls: DEFAULT_MAX_RECALLS, numbering: TicketNumbering::BySource }))
}

/// The company's queue rules.
pub fn settings(db: &Db) -> Result<QueueSettingsV2, AppError> {
    let tx = db.read()?;
    settings_in(&tx.open_table(crate::store::schema::SETTINGS).map_err(store_err)?)
}

/// The code of a numbering, as the API and the forms carry it.
pub fn numbering_code(n: TicketNumbering) -> &'static str {
    match n {
        TicketNumbering::BySource => "by_source",
        TicketNumbering::ByService => "by_service",
    }
}

pub fn parse_numbering(s: &str) -> Result<TicketNumbering, AppError> {
    match s {
        "by_source" => Ok(TicketNumbering::BySource),
        "by_service" => Ok(TicketNumbering::ByService),
        _ => Err(AppError::invalid("numbering", "validation.numbering")),
    }
}

/// A change of the queue rules; `None` keeps a rule as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub max_recalls: Option<u8>,
    pub numbering: Option<TicketNumbering>,
}

/// Changes the queue rules (queue managers), with an audit entry.
pub async fn set_settings(state: &AppState, tenant: &Tenant, actor: &Caller, input: SettingsInput) -> Result<QueueSettingsV2, AppError> {
    actor.require("queue.manage")?;
    if let Some(max_recalls) = input.max_recalls
        && max_recalls > RECALLS_LIMIT
    {
        return Err(AppError::invalid("max_recalls", "validation.max_recalls").with_arg("max", RECALLS_LIMIT));
    }
    let now = state.now_ms();
    let who = actor.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut table = tx.open_table(crate::store::schema::SETTINGS).map_err(store_err)?;
            let old = settings_in(&table)?;
            let new = QueueSettingsV2 {
                max_recalls: input.max_recalls.unwrap_or(old.max_recalls),
                numbering: input.numbering.unwrap_or(old.numbering),
            };
            schema::QUEUE_SETTINGS.put(&mut table, &new)?;
            drop(table);
            let mut ch = Changes::default();
            ch.diff("max_recalls", &old.max_recalls, &new.max_recalls);
            ch.diff("numbering", &numbering_code(old.numbering), &numbering_code(new.numbering));
            audit::record(tx, now, &who, "queue.settings", "queue", ch.0)?;
            Ok(new)
        })
        .await
}
