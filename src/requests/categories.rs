//! Request categories (admin): names in three languages, icon and colour,
//! team, default priority, SLA targets and the form; and the check of a
//! filed form against its category.
//!
//! A category that has requests is never removed: deleting it retires it
//! (new requests cannot take it). A request keeps the labels its fields
//! were filed under, so changing a form never changes an old request.

use super::{parse_priority, priority_code};
use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::store::schema::{
    BRANCHES, ChoiceOption, FieldKind, FieldValue, FormField, Names, REQUEST_CATEGORIES, REQUESTS_BY_CATEGORY, RequestCategoryV1, SlaClock,
    USERS,
};
use crate::store::{Db, Txn, next_id};
use crate::tenancy::Tenant;
use redb::ReadableTable;
use std::collections::{BTreeMap, HashSet};

/// Field names as errors name them.
const NAMES_UZ: &str = "names.uz";
const NAMES_RU: &str = "names.ru";
const NAMES_EN: &str = "names.en";
const SLA_FIRST: &str = "sla.first_response_minutes";
const SLA_RESOLUTION: &str = "sla.resolution_minutes";
const SLA_CLOCK: &str = "sla.clock";

/// The icons a category may show (inline SVGs on the pages).
pub const ICONS: [&str; 8] = ["card", "loan", "complaint", "account", "transfer", "document", "question", "other"];
pub const NAME_MAX: usize = 80;
pub const LABEL_MAX: usize = 80;
pub const FIELDS_MAX: usize = 30;
pub const OPTIONS_MAX: usize = 50;
pub const TEAM_MAX: usize = 200;
/// A year, in minutes: the longest SLA target.
pub const MINUTES_MAX: i64 = 525_600;
pub const TEXT_VALUE_MAX: usize = 500;
pub const LONG_TEXT_VALUE_MAX: usize = 5000;
pub const NUMBER_VALUE_MAX: usize = 40;
pub const KINDS: [FieldKind; 7] =
    [FieldKind::Text, FieldKind::LongText, FieldKind::Number, FieldKind::Date, FieldKind::Choice, FieldKind::Phone, FieldKind::File];

pub fn kind_code(k: FieldKind) -> &'static str {
    match k {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Number => "number",
        FieldKind::Date => "date",
        FieldKind::Choice => "choice",
        FieldKind::Phone => "phone",
        FieldKind::File => "file",
    }
}

pub fn parse_kind(s: &str) -> Option<FieldKind> {
    KINDS.into_iter().find(|k| kind_code(*k) == s)
}

pub fn clock_code(c: SlaClock) -> &'static str {
    match c {
        SlaClock::AllDay => "all_day",
        SlaClock::WorkingHours => "working_hours",
    }
}

pub fn parse_clock(s: &str) -> Option<SlaClock> {
    match s {
        "all_day" => Some(SlaClock::AllDay),
        "working_hours" => Some(SlaClock::WorkingHours),
        _ => None,
    }
}

fn not_found() -> AppError {
    AppError::new(ErrorKind::NotFound).with_message("error.request_category_not_found")
}

// ---------- input ----------

/// Names as given; `None` in a patch keeps them.
#[derive(Debug, Clone, Default)]
pub struct NamesInput {
    pub uz: String,
    pub ru: String,
    pub en: String,
}

#[derive(Debug, Clone, Default)]
pub struct OptionInput {
    pub key: String,
    pub labels: NamesInput,
}

#[derive(Debug, Clone, Default)]
pub struct FieldInput {
    pub key: String,
    /// `text`, `long_text`, `number`, `date`, `choice`, `phone`, `file`.
    pub kind: String,
    pub labels: NamesInput,
    pub required: bool,
    pub options: Vec<OptionInput>,
}

/// The SLA targets; given, it replaces all three (a missing target = none).
#[derive(Debug, Clone, Default)]
pub struct SlaInput {
    pub first_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    /// `all_day` or `working_hours`; missing keeps it (all day on create).
    pub clock: Option<String>,
}

/// A category from a form or the API. On update `None` keeps a value;
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct CategoryInput {
    pub names: Option<NamesInput>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub team_ids: Option<Vec<u64>>,
    pub lead_id: Option<Option<u64>>,
    pub auto_assign: Option<bool>,
    pub default_priority: Option<String>,
    pub sla: Option<SlaInput>,
    pub branch_id: Option<Option<u64>>,
    pub fields: Option<Vec<FieldInput>>,
    pub active: Option<bool>,
    pub sort: Option<u32>,
}

fn name_text(field: &'static str, s: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = s.trim();
    AppError::check_text(field, v, max, false)?;
    if required && v.is_empty() {
        return Err(AppError::invalid(field, "validation.required"));
    }
    Ok(v.to_string())
}

/// The same check for a field name made at run time (`fields.3.labels.uz`).
fn name_text_dyn(field: String, s: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = s.trim();
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid_field(field, "validation.control_char"));
    }
    if v.chars().count() > max {
        return Err(AppError::invalid_field(field, "validation.text_too_long").with_arg("max", max));
    }
    if required && v.is_empty() {
        return Err(AppError::invalid_field(field, "validation.required"));
    }
    Ok(v.to_string())
}

fn check_names(n: &NamesInput) -> Result<Names, AppError> {
    Ok(Names {
        uz: name_text(NAMES_UZ, &n.uz, NAME_MAX, true)?,
        ru: name_text(NAMES_RU, &n.ru, NAME_MAX, false)?,
        en: name_text(NAMES_EN, &n.en, NAME_MAX, false)?,
    })
}

fn check_labels(prefix: &str, n: &NamesInput) -> Result<Names, AppError> {
    Ok(Names {
        uz: name_text_dyn(format!("{prefix}.uz"), &n.uz, LABEL_MAX, true)?,
        ru: name_text_dyn(format!("{prefix}.ru"), &n.ru, LABEL_MAX, false)?,
        en: name_text_dyn(format!("{prefix}.en"), &n.en, LABEL_MAX, false)?,
    })
}

/// A field or option key: `[a-z][a-z0-9_]{0,39}`.
pub fn valid_key(k: &str) -> bool {
    let mut c = k.chars();
    k.len() <= 40
        && c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

fn check_icon(s: &str) -> Result<String, AppError> {
    ICONS.iter().find(|i| **i == s).map(|i| i.to_string()).ok_or_else(|| AppError::invalid("icon", "validation.request_icon"))
}

fn check_color(s: &str) -> Result<String, AppError> {
    let s = s.trim().to_ascii_lowercase();
    let ok = s.len() == 7 && s.starts_with('#') && s.chars().skip(1).all(|c| c.is_ascii_hexdigit());
    if ok { Ok(s) } else { Err(AppError::invalid("color", "validation.color")) }
}

fn check_minutes(field: &'static str, m: Option<i64>) -> Result<Option<u32>, AppError> {
    match m {
        None => Ok(None),
        Some(m) if (1..=MINUTES_MAX).contains(&m) => Ok(u32::try_from(m).ok()),
        Some(_) => Err(AppError::invalid(field, "validation.request_minutes").with_arg("max", MINUTES_MAX)),
    }
}

/// The form's fields, checked (without the database).
pub fn check_form(fields: &[FieldInput]) -> Result<Vec<FormField>, AppError> {
    if fields.len() > FIELDS_MAX {
        return Err(AppError::invalid("fields", "validation.request_fields_max").with_arg("max", FIELDS_MAX));
    }
    let mut keys = HashSet::new();
    let mut out = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let key = f.key.as_str();
        if !valid_key(key) {
            return Err(AppError::invalid_field(format!("fields.{i}.key"), "validation.request_field_key"));
        }
        if !keys.insert(key.to_string()) {
            return Err(AppError::invalid_field(format!("fields.{i}.key"), "validation.request_field_key_taken"));
        }
        let kind =
            parse_kind(&f.kind).ok_or_else(|| AppError::invalid_field(format!("fields.{i}.type"), "validation.request_field_type"))?;
        let labels = check_labels(&format!("fields.{i}.labels"), &f.labels)?;
        let mut options = Vec::new();
        if kind == FieldKind::Choice {
            if f.options.is_empty() || f.options.len() > OPTIONS_MAX {
                return Err(
                    AppError::invalid_field(format!("fields.{i}.options"), "validation.request_options").with_arg("max", OPTIONS_MAX)
                );
            }
            let mut okeys = HashSet::new();
            for (j, o) in f.options.iter().enumerate() {
                let ok = o.key.as_str();
                if !valid_key(ok) {
                    return Err(AppError::invalid_field(format!("fields.{i}.options.{j}.key"), "validation.request_field_key"));
                }
                if !okeys.insert(ok.to_string()) {
                    return Err(AppError::invalid_field(format!("fields.{i}.options.{j}.key"), "validation.request_field_key_taken"));
                }
                let labels = check_labels(&format!("fields.{i}.options.{j}.labels"), &o.labels)?;
                options.push(ChoiceOption { key: ok.to_string(), labels });
            }
        } else if !f.options.is_empty() {
            return Err(AppError::invalid_field(format!("fields.{i}.options"), "validation.request_options_choice_only"));
        }
        out.push(FormField { key: key.to_string(), kind, labels, required: f.required, options });
    }
    Ok(out)
}

fn active_user(tx: &impl Txn, id: u64) -> Result<bool, AppError> {
    Ok(USERS.open(tx)?.get(id)?.is_some_and(|u| u.active))
}

/// Applies `input` to `c` (a new category's defaults, or the stored one),
/// checking what the database knows (team, lead, branch); returns the
/// changes for the audit log.
fn apply(tx: &impl Txn, c: &mut RequestCategoryV1, input: &CategoryInput, creating: bool) -> Result<Changes, AppError> {
    let old = c.clone();
    let mut ch = Changes::default();
    if let Some(n) = &input.names {
        c.names = check_names(n)?;
    } else if creating {
        return Err(AppError::invalid(NAMES_UZ, "validation.required"));
    }
    if let Some(i) = &input.icon {
        c.icon = check_icon(i)?;
    }
    if let Some(col) = &input.color {
        c.color = check_color(col)?;
    }
    if let Some(team) = &input.team_ids {
        if team.len() > TEAM_MAX {
            return Err(AppError::invalid("team_ids", "validation.request_team_max").with_arg("max", TEAM_MAX));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in team {
            if !seen.insert(*id) {
                continue;
            }
            if !active_user(tx, *id)? {
                return Err(AppError::invalid("team_ids", "validation.request_user"));
            }
            out.push(*id);
        }
        c.team = out;
    }
    if let Some(lead) = input.lead_id {
        if let Some(id) = lead
            && !active_user(tx, id)?
        {
            return Err(AppError::invalid("lead_id", "validation.request_user"));
        }
        c.lead_id = lead;
    }
    if let Some(a) = input.auto_assign {
        c.auto_assign = a;
    }
    if let Some(p) = &input.default_priority {
        c.default_priority = parse_priority(p).ok_or_else(|| AppError::invalid("default_priority", "validation.request_priority"))?;
    }
    if let Some(s) = &input.sla {
        let first = check_minutes(SLA_FIRST, s.first_response_minutes)?;
        let resolution = check_minutes(SLA_RESOLUTION, s.resolution_minutes)?;
        if let (Some(f), Some(r)) = (first, resolution)
            && f > r
        {
            return Err(AppError::invalid(SLA_FIRST, "validation.request_sla_order"));
        }
        c.first_response_minutes = first;
        c.resolution_minutes = resolution;
        if let Some(clk) = &s.clock {
            c.clock = parse_clock(clk).ok_or_else(|| AppError::invalid(SLA_CLOCK, "validation.request_clock"))?;
        }
    }
    if let Some(b) = input.branch_id {
        if let Some(id) = b
            && BRANCHES.open(tx)?.get(id)?.is_none()
        {
            return Err(AppError::invalid("branch_id", "validation.branch"));
        }
        c.branch_id = b;
    }
    if let Some(f) = &input.fields {
        c.fields = check_form(f)?;
    }
    if let Some(a) = input.active {
        c.active = a;
    }
    if let Some(s) = input.sort {
        c.sort = s;
    }
    if creating {
        ch.set("name", &c.names.uz);
    } else {
        ch.diff("name", &old.names.uz, &c.names.uz);
        ch.diff("name_ru", &old.names.ru, &c.names.ru);
        ch.diff("name_en", &old.names.en, &c.names.en);
        ch.diff("icon", &old.icon, &c.icon);
        ch.diff("color", &old.color, &c.color);
        ch.diff("auto_assign", &old.auto_assign, &c.auto_assign);
        ch.diff("default_priority", &priority_code(old.default_priority), &priority_code(c.default_priority));
        ch.diff_opt("first_response_minutes", &old.first_response_minutes, &c.first_response_minutes);
        ch.diff_opt("resolution_minutes", &old.resolution_minutes, &c.resolution_minutes);
        ch.diff("clock", &clock_code(old.clock), &clock_code(c.clock));
        ch.diff_opt("branch_id", &old.branch_id, &c.branch_id);
        ch.diff_opt("lead_id", &old.lead_id, &c.lead_id);
        ch.diff("active", &old.active, &c.active);
        ch.diff("sort", &old.sort, &c.sort);
    }
    if creating || old.team != c.team {
        let ids = |t: &[u64]| t.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        if creating {
            ch.set("team_ids", ids(&c.team));
        } else {
            ch.diff("team_ids", &ids(&old.team), &ids(&c.team));
        }
    }
    if creating || old.fields != c.fields {
        let keys = |f: &[FormField]| f.iter().map(|f| f.key.as_str()).collect::<Vec<_>>().join(", ");
        if creating {
            ch.set("fields", keys(&c.fields));
        } else {
            ch.diff("fields", &keys(&old.fields), &keys(&c.fields));
            if keys(&old.fields) == keys(&c.fields) {
                // The same keys with other labels, types or options.
                ch.set("form", "changed");
            }
        }
    }
    Ok(ch)
}

// ---------- commands and queries ----------

/// Every category, active or not, by `sort` then name.
pub fn list(db: &Db, who: &Caller) -> Result<Vec<(u64, RequestCategoryV1)>, AppError> {
    if !who.manages_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let tx = db.read()?;
    let mut all = REQUEST_CATEGORIES.open(&tx)?.all()?;
    all.sort_by(|a, b| {
        a.1.sort.cmp(&b.1.sort).then_with(|| a.1.names.uz.to_lowercase().cmp(&b.1.names.uz.to_lowercase())).then(a.0.cmp(&b.0))
    });
    Ok(all)
}

pub fn get(db: &Db, who: &Caller, id: u64) -> Result<RequestCategoryV1, AppError> {
    if !who.manages_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let tx = db.read()?;
    REQUEST_CATEGORIES.open(&tx)?.get(id)?.ok_or_else(not_found)
}

/// How many requests a category has (the list shows it; a used category
/// is retired, not removed).
pub fn request_count(db: &Db, id: u64) -> Result<u64, AppError> {
    let tx = db.read()?;
    let t = tx.open_table(REQUESTS_BY_CATEGORY).map_err(crate::store::store_err)?;
    let mut n = 0;
    for row in t.range((id, 0)..=(id, u64::MAX)).map_err(crate::store::store_err)? {
        row.map_err(crate::store::store_err)?;
        n += 1;
    }
    Ok(n)
}

fn has_requests(tx: &redb::WriteTransaction, id: u64) -> Result<bool, AppError> {
    let t = tx.open_table(REQUESTS_BY_CATEGORY).map_err(crate::store::store_err)?;
    let mut r = t.range((id, 0)..=(id, u64::MAX)).map_err(crate::store::store_err)?;
    Ok(r.next().is_some())
}

pub async fn create(state: &AppState, tenant: &Tenant, who: &Caller, input: CategoryInput) -> Result<(u64, RequestCategoryV1), AppError> {
    if !who.manages_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let now = state.now_ms();
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut c = RequestCategoryV1 {
                names: Names::default(),
                icon: "other".into(),
                color: "#1f6feb".into(),
                team: vec![],
                lead_id: None,
                auto_assign: false,
                default_priority: crate::store::schema::Priority::Normal,
                first_response_minutes: None,
                resolution_minutes: None,
                clock: SlaClock::AllDay,
                branch_id: None,
                fields: vec![],
                active: true,
                last_assigned: None,
                sort: 0,
            };
            let ch = apply(tx, &mut c, &input, true)?;
            let id = next_id(tx, "request_category")?;
            REQUEST_CATEGORIES.open(tx)?.insert(id, &c)?;
            audit::record(tx, now, &who, "request_category.create", &format!("request_category:{id}"), ch.0)?;
            Ok((id, c))
        })
        .await
}

/// Changes what `input` names (PATCH).
pub async fn update(state: &AppState, tenant: &Tenant, who: &Caller, id: u64, input: CategoryInput) -> Result<RequestCategoryV1, AppError> {
    if !who.manages_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let now = state.now_ms();
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut c = REQUEST_CATEGORIES.open(tx)?.get(id)?.ok_or_else(not_found)?;
            let ch = apply(tx, &mut c, &input, false)?;
            if !ch.is_empty() {
                REQUEST_CATEGORIES.open(tx)?.insert(id, &c)?;
                audit::record(tx, now, &who, "request_category.update", &format!("request_category:{id}"), ch.0)?;
            }
            Ok(c)
        })
        .await
}

/// What deleting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// It had no requests and is gone.
    Removed,
    /// It has requests: retired, they keep it.
    Deactivated,
}

pub async fn delete(state: &AppState, tenant: &Tenant, who: &Caller, id: u64) -> Result<Deleted, AppError> {
    if !who.manages_requests() {
        return Err(ErrorKind::Forbidden.into());
    }
    let now = state.now_ms();
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let mut c = REQUEST_CATEGORIES.open(tx)?.get(id)?.ok_or_else(not_found)?;
            let target = format!("request_category:{id}");
            if has_requests(tx, id)? {
                if c.active {
                    c.active = false;
                    REQUEST_CATEGORIES.open(tx)?.insert(id, &c)?;
                    let mut ch = Changes::default();
                    ch.diff("active", &true, &false);
                    audit::record(tx, now, &who, "request_category.update", &target, ch.0)?;
                }
                Ok(Deleted::Deactivated)
            } else {
                REQUEST_CATEGORIES.open(tx)?.remove(id)?;
                let mut ch = Changes::default();
                ch.diff_opt("name", &Some(c.names.uz.clone()), &None);
                audit::record(tx, now, &who, "request_category.delete", &target, ch.0)?;
                Ok(Deleted::Removed)
            }
        })
        .await
}

// ---------- a filed form ----------

fn field_err(key: &str, msg: &'static str) -> AppError {
    AppError::invalid_field(format!("fields.{key}"), msg)
}

/// A number as typed: digits with one decimal point or comma, a sign.
fn valid_number(v: &str) -> bool {
    let s = v.strip_prefix(['-', '+']).unwrap_or(v);
    let mut parts = s.splitn(2, ['.', ',']);
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// `yyyy-mm-dd`, a day that exists.
fn valid_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && v.parse::<jiff::civil::Date>().is_ok()
}

/// Checks one answer to field `f` as filed (the form's rule for its type;
/// the bot asks field by field with it): `None` when left empty and the
/// field is optional; a required one left empty, or a value its type
/// refuses, is a 422 naming the field (`fields.<key>`).
pub fn check_answer(f: &FormField, raw: &str) -> Result<Option<FieldValue>, AppError> {
    let v = raw.trim();
    if v.is_empty() {
        if f.required {
            return Err(field_err(&f.key, "validation.required"));
        }
        return Ok(None);
    }
    let multiline = f.kind == FieldKind::LongText;
    if v.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        return Err(field_err(&f.key, "validation.control_char"));
    }
    let mut shown = None;
    let mut value = v.to_string();
    match f.kind {
        FieldKind::Text | FieldKind::LongText => {
            let max = if multiline { LONG_TEXT_VALUE_MAX } else { TEXT_VALUE_MAX };
            if v.chars().count() > max {
                return Err(field_err(&f.key, "validation.text_too_long").with_arg("max", max));
            }
        }
        FieldKind::Number => {
            if v.len() > NUMBER_VALUE_MAX || !valid_number(v) {
                return Err(field_err(&f.key, "validation.request_number"));
            }
        }
        FieldKind::Date => {
            if !valid_date(v) {
                return Err(field_err(&f.key, "validation.request_date"));
            }
        }
        FieldKind::Choice => {
            let Some(o) = f.options.iter().find(|o| o.key == v) else {
                return Err(field_err(&f.key, "validation.request_choice"));
            };
            shown = Some(o.labels.clone());
        }
        FieldKind::Phone => {
            value = crate::phone::Phone::parse(v).map_err(|_| field_err(&f.key, "validation.phone"))?.into_string();
        }
        FieldKind::File => {
            v.parse::<u64>().map_err(|_| field_err(&f.key, "files.unknown"))?;
        }
    }
    Ok(Some(FieldValue { key: f.key.clone(), kind: f.kind, labels: f.labels.clone(), value, shown }))
}

/// Checks the answers of a filed form against its category's fields, in the
/// form's order: a required field missing names the field
/// (`fields.<key>`), a choice outside its options is a 422, a key the form
/// does not have is a 422 naming it. Returns the values with the labels
/// they were filed under, and the file ids named by file fields (the
/// request attaches them).
pub fn check_fields(cat: &RequestCategoryV1, input: &BTreeMap<String, String>) -> Result<(Vec<FieldValue>, Vec<u64>), AppError> {
    for k in input.keys() {
        if !cat.fields.iter().any(|f| &f.key == k) {
            let e = if valid_key(k) {
                field_err(k, "validation.request_unknown_field")
            } else {
                AppError::invalid("fields", "validation.request_unknown_field")
            };
            return Err(e);
        }
    }
    let mut out = Vec::new();
    let mut files = Vec::new();
    for f in &cat.fields {
        let raw = input.get(&f.key).map(String::as_str).unwrap_or("");
        let Some(v) = check_answer(f, raw)? else { continue };
        if f.kind == FieldKind::File
            && let Ok(id) = v.value.parse::<u64>()
        {
            files.push(id);
        }
        out.push(v);
    }
    Ok((out, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(uz: &str) -> NamesInput {
        NamesInput { uz: uz.into(), ..Default::default() }
    }

    fn field(key: &str, kind: &str, required: bool) -> FieldInput {
        FieldInput { key: key.into(), kind: kind.into(), labels: names(key), required, options: vec![] }
    }

    fn cat(fields: Vec<FieldInput>) -> RequestCategoryV1 {
        RequestCategoryV1 {
            names: Names { uz: "K".into(), ..Default::default() },
            icon: "card".into(),
            color: "#000000".into(),
            team: vec![],
            lead_id: None,
            auto_assign: false,
            default_priority: crate::store::schema::Priority::Normal,
            first_response_minutes: None,
            resolution_minutes: None,
            clock: SlaClock::AllDay,
            branch_id: None,
            fields: check_form(&fields).unwrap(),
            active: true,
            last_assigned: None,
            sort: 0,
        }
    }

    fn input(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn form_errors_name_their_field() {
        let e = check_form(&[field("Bad", "text", false)]).unwrap_err();
        assert_eq!(e.field, Some("fields.0.key"));
        let e = check_form(&[field("a", "text", false), field("a", "text", false)]).unwrap_err();
        assert_eq!(e.field, Some("fields.1.key"));
        let e = check_form(&[field("a", "colour", false)]).unwrap_err();
        assert_eq!(e.field, Some("fields.0.type"));
        let e = check_form(&[field("a", "choice", false)]).unwrap_err();
        assert_eq!(e.field, Some("fields.0.options"));
        let mut f = field("a", "text", false);
        f.labels.uz = " ".into();
        assert_eq!(check_form(&[f]).unwrap_err().field, Some("fields.0.labels.uz"));
        let mut f = field("a", "choice", false);
        f.options = vec![OptionInput { key: "x".into(), labels: names("X") }, OptionInput { key: "x".into(), labels: names("Y") }];
        assert_eq!(check_form(&[f]).unwrap_err().field, Some("fields.0.options.1.key"));
        let many: Vec<_> = (0..31).map(|i| field(&format!("f{i}"), "text", false)).collect();
        assert_eq!(check_form(&many).unwrap_err().field, Some("fields"));
        assert!(valid_key("card_last4") && !valid_key("4card") && !valid_key(&"a".repeat(41)) && valid_key(&"a".repeat(40)));
    }

    #[test]
    fn filed_values_are_checked_by_type() {
        let mut choice = field("card", "choice", true);
        choice.options = vec![OptionInput { key: "uzcard".into(), labels: names("Uzcard") }];
        let c = cat(vec![
            choice,
            field("amount", "number", false),
            field("day", "date", false),
            field("tel", "phone", false),
            field("note", "text", false),
            field("doc", "file", false),
        ]);
        let e = check_fields(&c, &input(&[])).unwrap_err();
        assert_eq!(e.field, Some("fields.card"));
        let e = check_fields(&c, &input(&[("card", "visa")])).unwrap_err();
        assert_eq!((e.field, e.message_key), (Some("fields.card"), Some("validation.request_choice")));
        let e = check_fields(&c, &input(&[("card", "uzcard"), ("extra", "1")])).unwrap_err();
        assert_eq!(e.field, Some("fields.extra"));
        for (k, v) in [
            ("amount", "1e5"),
            ("amount", "NaN"),
            ("day", "2026-02-30"),
            ("day", "26-01-01"),
            ("tel", "abc"),
            ("note", "a\u{7}b"),
            ("doc", "x"),
        ] {
            let e = check_fields(&c, &input(&[("card", "uzcard"), (k, v)])).unwrap_err();
            assert_eq!(e.field.map(str::to_string), Some(format!("fields.{k}")), "{k}={v}");
        }
        let e = check_fields(&c, &input(&[("card", "uzcard"), ("note", &"x".repeat(501))])).unwrap_err();
        assert_eq!(e.message_key, Some("validation.text_too_long"));
        let (vals, files) = check_fields(
            &c,
            &input(&[("card", " uzcard "), ("amount", " 1500,50 "), ("day", "2026-02-28"), ("tel", "90 123 45 67"), ("doc", "42")]),
        )
        .unwrap();
        assert_eq!(files, vec![42]);
        let v: Vec<_> = vals.iter().map(|v| (v.key.as_str(), v.value.as_str())).collect();
        assert_eq!(v, vec![("card", "uzcard"), ("amount", "1500,50"), ("day", "2026-02-28"), ("tel", "+998901234567"), ("doc", "42")]);
        assert_eq!(vals[0].shown.as_ref().map(|n| n.uz.as_str()), Some("Uzcard"));
    }
}
