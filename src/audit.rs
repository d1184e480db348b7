//! The audit log: who did what, when, and what changed. Written in the same
//! transaction as the change it describes, so that neither exists without
//! the other.

use crate::auth::Caller;
use crate::error::AppError;
use crate::i18n::{Lang, t, tf};
use crate::store::next_id;
use crate::store::schema::{AUDIT, AuditV1, FieldChange};
use redb::WriteTransaction;
use std::collections::HashMap;

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

/// What an entry is about: the part of its action before the dot
/// (`user.update` → `user`). The audit page filters by these.
pub const KINDS: &[&str] = &[
    "company",
    "user",
    "department",
    "branch",
    "role",
    "branding",
    "category",
    "service",
    "operator",
    "queue",
    "request_category",
    "request_template",
];

pub fn kind_of(action: &str) -> &str {
    action.split_once('.').map(|(k, _)| k).unwrap_or(action)
}

/// Which entries to read. Times are ms, `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Who did it; `Some(0)`: the system.
    pub actor_id: Option<u64>,
    /// One of [`KINDS`].
    pub kind: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Filter {
    /// The filter a caller asked for: `kind` one of [`KINDS`], days as
    /// `YYYY-MM-DD` in the company's time zone (`to` included); a blank
    /// field means any. Anything else is refused, naming its field.
    pub fn parse(
        actor_id: Option<u64>,
        kind: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Filter, AppError> {
        Ok(Filter { actor_id, kind: kind_in(kind)?, from_ms: day_in("from", from, tz, 0)?, to_ms: day_in("to", to, tz, 1)? })
    }

    /// [`Filter::parse`], leaving out a field that does not read instead
    /// (a page's filter links keep working when they are edited by hand).
    pub fn lenient(actor_id: Option<u64>, kind: Option<&str>, from: Option<&str>, to: Option<&str>, tz: &jiff::tz::TimeZone) -> Filter {
        Filter {
            actor_id,
            kind: kind_in(kind).unwrap_or(None),
            from_ms: day_in("from", from, tz, 0).unwrap_or(None),
            to_ms: day_in("to", to, tz, 1).unwrap_or(None),
        }
    }

    fn admits(&self, a: &AuditV1) -> bool {
        self.actor_id.is_none_or(|id| a.actor_id == id)
            && self.kind.as_deref().is_none_or(|k| kind_of(&a.action) == k)
            && self.from_ms.is_none_or(|t| a.at >= t)
            && self.to_ms.is_none_or(|t| a.at < t)
    }
}

fn kind_in(kind: Option<&str>) -> Result<Option<String>, AppError> {
    match kind.filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) if KINDS.contains(&k) => Ok(Some(k.to_string())),
        Some(_) => Err(AppError::invalid("kind", "validation.audit_kind")),
    }
}

/// The start of day `d` plus `plus` days, in ms.
fn day_in(field: &'static str, d: Option<&str>, tz: &jiff::tz::TimeZone, plus: i32) -> Result<Option<i64>, AppError> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => crate::clock::day_start_ms(d, tz, plus).map(Some).ok_or_else(|| AppError::invalid(field, "validation.date")),
    }
}

/// Reads the newest entries first, `limit` at most, older than `before`,
/// for a caller who may see the audit log.
pub fn list(db: &crate::store::Db, who: &crate::auth::Caller, before: Option<u64>, limit: usize) -> Result<Vec<(u64, AuditV1)>, AppError> {
    list_filtered(db, who, &Filter::default(), before, limit)
}

/// [`list`], keeping only the entries `filter` admits.
pub fn list_filtered(
    db: &crate::store::Db,
    who: &crate::auth::Caller,
    filter: &Filter,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, AuditV1)>, AppError> {
    who.require("audit.view")?;
    let tx = db.read()?;
    let t = AUDIT.open(&tx)?;
    let upper = before.unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for row in t.range(..upper)?.rev() {
        let (k, a) = row?;
        // Ids grow with time: nothing older can be in the range.
        if filter.from_ms.is_some_and(|from| a.at < from) {
            break;
        }
        if filter.admits(&a) {
            out.push((k.value(), a));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// One change of an entry in words: the field's name, and its value before
/// and after with ids turned into names; for lists, what was added and removed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeText {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// A list (services, branches, permissions): shown as added/removed.
    pub list: bool,
    /// A secret (a password): only that it changed.
    pub secret: bool,
}

/// An entry as people read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Told {
    /// What happened ("Operator's window changed").
    pub title: String,
    /// What it happened to, by name ("Window 1 of Nilufar Xasanova").
    pub subject: String,
    pub changes: Vec<ChangeText>,
    /// Subject and changes in one line ("Window 1 of Nilufar Xasanova:
    /// services Kassa, Kreditlar").
    pub sentence: String,
}

/// Tells audit entries in words, in one language, with the names of the
/// users, departments, branches, services and categories they mention.
pub struct Narrator {
    lang: Lang,
    users: HashMap<u64, String>,
    departments: HashMap<u64, String>,
    branches: HashMap<u64, String>,
    services: HashMap<u64, String>,
    categories: HashMap<u64, String>,
    request_categories: HashMap<u64, String>,
    /// Operator → their window now, for entries that do not say it.
    windows: HashMap<u64, u16>,
}

fn lookup(map: &HashMap<u64, String>, id: &str) -> String {
    id.trim().parse().ok().and_then(|i: u64| map.get(&i).cloned()).unwrap_or_else(|| format!("#{}", id.trim()))
}

/// `[1, 2]` (how id lists are written) → `["1", "2"]`.
fn id_list(v: &str) -> Vec<String> {
    v.trim_matches(|c| c == '[' || c == ']').split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A label as it reads inside a sentence: "Role" → "role", but an
/// abbreviation stays as it is ("ФИО", "F.I.Sh.").
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), c.clone().next()) {
        (Some(f), Some(second)) if second.is_lowercase() => f.to_lowercase().chain(c).collect(),
        _ => s.to_string(),
    }
}

fn permission_label(lang: Lang, p: &str) -> String {
    let key = format!("admin.perm.{}", p.replace('.', "_"));
    let s = t(lang, &key);
    if s == key { p.to_string() } else { s.to_string() }
}

impl Narrator {
    /// For a caller who may see the audit log.
    pub fn load(db: &crate::store::Db, who: &Caller, lang: Lang) -> Result<Narrator, AppError> {
        who.require("audit.view")?;
        Ok(Narrator {
            lang,
            users: crate::org::service::directory(db, who)?.into_iter().map(|(id, u)| (id, u.name)).collect(),
            departments: crate::org::service::department_names(db, lang)?,
            branches: crate::org::service::list_branches(db)?
                .into_iter()
                .map(|(id, b)| (id, crate::org::service::branch_name(&b, lang).to_string()))
                .collect(),
            services: crate::queue::service::list_services(db)?
                .into_iter()
                .map(|(id, s)| (id, crate::queue::service::service_name(&s, lang).to_string()))
                .collect(),
            categories: crate::tasks::service::categories(db)?
                .into_iter()
                .map(|(id, c)| (id, crate::tasks::service::category_name(&c, lang).to_string()))
                .collect(),
            request_categories: {
                let tx = db.read()?;
                crate::store::schema::REQUEST_CATEGORIES
                    .open(&tx)?
                    .all()?
                    .into_iter()
                    .map(|(id, c)| (id, c.names.get(lang).to_string()))
                    .collect()
            },
            windows: {
                let tx = db.read()?;
                crate::store::schema::OPERATORS.open(&tx)?.all()?.into_iter().map(|(id, o)| (id, o.window)).collect()
            },
        })
    }

    /// The people who may appear as "who" in the log, by name, for a filter.
    pub fn people(&self) -> Vec<(u64, String)> {
        let mut v: Vec<(u64, String)> = self.users.iter().map(|(id, n)| (*id, n.clone())).collect();
        v.sort_by_key(|a| a.1.to_lowercase());
        v
    }

    /// The name of what an entry is about, in its kind's words.
    pub fn kind_label(&self, kind: &str) -> String {
        let key = format!("admin.audit.kind.{kind}");
        let s = t(self.lang, &key);
        if s == key { kind.to_string() } else { s.to_string() }
    }

    pub fn action_label(&self, action: &str) -> String {
        let key = format!("admin.audit.act.{}", action.replace('.', "_"));
        let s = t(self.lang, &key);
        if s == key { action.to_string() } else { s.to_string() }
    }

    fn field_label(&self, field: &str) -> String {
        let lang = self.lang;
        let key = match field {
            "username" => "admin.users.username",
            "full_name" => "admin.users.full_name",
            "phone" => "admin.users.phone",
            "role" => "admin.users.role",
            "department_id" => "admin.users.department",
            "branch_id" => "admin.users.branch",
            "active" => "admin.users.status",
            "language" => "profile.language",
            "password" => "admin.users.password",
            "address" => "admin.branches.address",
            "hours" => "admin.branches.hours",
            "primary_color" => "admin.branding.color",
            _ => "",
        };
        if !key.is_empty() {
            return t(lang, key).to_string();
        }
        let key = format!("admin.audit.field.{field}");
        let s = t(lang, &key);
        if s == key { field.to_string() } else { s.to_string() }
    }

    fn value(&self, field: &str, v: &str) -> String {
        let lang = self.lang;
        match field {
            "role" => Some(crate::i18n::role_label(lang, v)).filter(|s| !s.is_empty()).map(str::to_string).unwrap_or_else(|| v.to_string()),
            "department_id" => lookup(&self.departments, v),
            "branch_id" => lookup(&self.branches, v),
            "active" => match v {
                "true" => t(lang, "admin.common.active").to_string(),
                "false" => t(lang, "admin.common.inactive").to_string(),
                _ => v.to_string(),
            },
            "language" => Lang::parse(v).map(|l| l.native_name().to_string()).unwrap_or_else(|| v.to_string()),
            "hours" => hours_text(lang, v),
            "board_langs" => v
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|c| !c.is_empty())
                .map(|c| Lang::parse(c).map(|l| l.native_name().to_string()).unwrap_or_else(|| c.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            _ => v.to_string(),
        }
    }

    fn list_names(&self, field: &str, v: &str) -> Vec<String> {
        match field {
            "service_ids" => id_list(v).iter().map(|id| lookup(&self.services, id)).collect(),
            "branch_ids" => id_list(v).iter().map(|id| lookup(&self.branches, id)).collect(),
            _ => v.split(", ").filter(|p| !p.is_empty()).map(|p| permission_label(self.lang, p)).collect(),
        }
    }

    fn change(&self, ch: &FieldChange) -> ChangeText {
        let field = self.field_label(&ch.field);
        let list = matches!(ch.field.as_str(), "service_ids" | "branch_ids" | "permissions");
        let secret = ch.field == "password";
        let none = ChangeText { field, from: None, to: None, added: vec![], removed: vec![], list, secret };
        if secret {
            return none;
        }
        if list {
            let from = ch.from.as_deref().map(|v| self.list_names(&ch.field, v));
            let to = self.list_names(&ch.field, ch.to.as_deref().unwrap_or(""));
            return match from {
                None => ChangeText { to: Some(to.join(", ")), added: to, ..none },
                Some(from) => ChangeText {
                    added: to.iter().filter(|p| !from.contains(p)).cloned().collect(),
                    removed: from.iter().filter(|p| !to.contains(p)).cloned().collect(),
                    from: Some(from.join(", ")),
                    to: Some(to.join(", ")),
                    ..none
                },
            };
        }
        let show = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty() && *v != "-").map(|v| self.value(&ch.field, v));
        ChangeText { from: show(&ch.from), to: show(&ch.to), ..none }
    }

    fn subject(&self, a: &AuditV1) -> String {
        let lang = self.lang;
        let (kind, id) = a.target.split_once(':').unwrap_or((a.target.as_str(), ""));
        let named = |key: &str, name: String| tf(lang, key, &[("name", &name)]);
        match kind {
            "user" if a.action.starts_with("operator.") => {
                let name = lookup(&self.users, id);
                let window = a
                    .changes
                    .iter()
                    .find(|c| c.field == "window")
                    .and_then(|c| c.to.clone().or(c.from.clone()))
                    .or_else(|| id.parse().ok().and_then(|i: u64| self.windows.get(&i)).map(|w| w.to_string()));
                match window {
                    Some(w) => tf(lang, "admin.audit.subject.window", &[("window", &w), ("name", &name)]),
                    None => name,
                }
            }
            "user" => lookup(&self.users, id),
            "department" => named("admin.audit.subject.department", lookup(&self.departments, id)),
            "branch" => named("admin.audit.subject.branch", lookup(&self.branches, id)),
            "service" => named("admin.audit.subject.service", lookup(&self.services, id)),
            "category" => named("admin.audit.subject.category", lookup(&self.categories, id)),
            "request_category" => named("admin.audit.subject.request_category", lookup(&self.request_categories, id)),
            "request_template" => {
                let (event, l) = id.split_once('.').unwrap_or((id, ""));
                let event = t(lang, &format!("request_admin.event.{event}")).to_string();
                let l = Lang::parse(l).map(|l| l.native_name().to_string()).unwrap_or_default();
                tf(lang, "admin.audit.subject.request_template", &[("event", &event), ("lang", &l)])
            }
            "role" => named("admin.audit.subject.role", crate::i18n::role_label(lang, id).to_string()),
            "branding" => t(lang, "admin.audit.subject.branding").to_string(),
            "company" => t(lang, "admin.audit.subject.company").to_string(),
            "queue" => t(lang, "admin.audit.subject.queue").to_string(),
            _ => a.target.clone(),
        }
    }

    /// One change in a few words: "role Employee → Manager", "services
    /// Kassa, Kreditlar", "password changed".
    pub fn change_words(&self, c: &ChangeText) -> String {
        let lang = self.lang;
        let field = lower_first(&c.field);
        if c.secret {
            return tf(lang, "admin.audit.words.secret", &[("field", &field)]);
        }
        // Services and branches: the list as it is now; permissions (many):
        // what was added and taken away.
        if c.list && c.from.is_some() && c.field != self.field_label("permissions") {
            return format!("{field} {}", c.to.clone().unwrap_or_else(|| "—".into()));
        }
        if c.list && c.from.is_some() {
            let mut parts = Vec::new();
            if !c.added.is_empty() {
                parts.push(format!("+ {}", c.added.join(", ")));
            }
            if !c.removed.is_empty() {
                parts.push(format!("− {}", c.removed.join(", ")));
            }
            return format!("{field} {}", parts.join(", "));
        }
        match (&c.from, &c.to) {
            (Some(f), Some(to)) => format!("{field} {f} → {to}"),
            (None, Some(to)) => format!("{field} {to}"),
            (Some(f), None) => tf(lang, "admin.audit.words.cleared", &[("field", &field), ("was", f)]),
            (None, None) => field,
        }
    }

    /// The entry in words.
    pub fn tell(&self, a: &AuditV1) -> Told {
        let subject = self.subject(a);
        // A new thing's name is already the subject.
        let created = a.action.ends_with(".create");
        let mut changes: Vec<ChangeText> = a
            .changes
            .iter()
            .filter(|c| !(created && c.from.is_none() && matches!(c.field.as_str(), "name" | "full_name")))
            .map(|c| self.change(c))
            .collect();
        // The window is already in the subject of an operator's entry.
        if a.action.starts_with("operator.") && a.target.starts_with("user:") {
            changes.retain(|c| c.field != self.field_label("window") || c.from.is_some() && c.to.is_some());
        }
        let words: Vec<String> = changes.iter().map(|c| self.change_words(c)).collect();
        let sentence = if words.is_empty() { subject.clone() } else { format!("{subject}: {}", words.join("; ")) };
        Told { title: self.action_label(&a.action), subject, changes, sentence }
    }
}

/// Hours as the store writes them ("mon 09:00-18:00, tue -, …" or "24/7")
/// in the reader's words.
fn hours_text(lang: Lang, v: &str) -> String {
    use crate::org::service::{WEEKDAYS, parse_hhmm};
    if v == "24/7" {
        return crate::org::hours::summary(lang, &None);
    }
    let mut days: [crate::store::schema::DayHours; 7] = [None; 7];
    for part in v.split(", ") {
        let (code, rest) = part.split_once(' ').unwrap_or((part, ""));
        let Some(i) = WEEKDAYS.iter().position(|d| *d == code) else { return v.to_string() };
        if rest != "-" {
            let parsed = rest.split_once('-').and_then(|(o, c)| Some((parse_hhmm(o)?, parse_hhmm(c)?)));
            let (Some(h), Some(slot)) = (parsed, days.get_mut(i)) else { return v.to_string() };
            *slot = Some(h);
        }
    }
    crate::org::hours::summary(lang, &Some(days))
}
