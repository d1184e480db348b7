//! Notification templates: for each event one text per language with
//! placeholders, the company's own (`REQUEST_TEMPLATES`) or the default of
//! the catalogue. A text is checked when it is saved: an unknown
//! placeholder or a stray brace is refused then, never found when sending.

use crate::app::AppState;
use crate::audit::{self, Changes};
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t};
use crate::store::schema::{REQUEST_TEMPLATES, TemplateV1};
use crate::store::{Db, Txn};
use crate::tenancy::Tenant;

/// The longest template, in characters.
pub const TEXT_MAX: usize = 1000;
/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 6] = ["number", "status", "client_name", "category", "assignee", "link"];

/// What a client is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Received,
    Assigned,
    StatusChanged,
    StaffReplied,
    WaitingClient,
    Done,
    Rejected,
    RateUs,
}

impl Event {
    pub const ALL: [Event; 8] = [
        Event::Received,
        Event::Assigned,
        Event::StatusChanged,
        Event::StaffReplied,
        Event::WaitingClient,
        Event::Done,
        Event::Rejected,
        Event::RateUs,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Event::Received => "received",
            Event::Assigned => "assigned",
            Event::StatusChanged => "status_changed",
            Event::StaffReplied => "staff_replied",
            Event::WaitingClient => "waiting_client",
            Event::Done => "done",
            Event::Rejected => "rejected",
            Event::RateUs => "rate_us",
        }
    }

    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.code() == s)
    }
}

/// The values of a template's placeholders.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub number: String,
    pub status: String,
    pub client_name: String,
    pub category: String,
    pub assignee: String,
    pub link: String,
}

impl Vars {
    pub fn pairs(&self) -> [(&'static str, &str); 6] {
        [
            ("number", &self.number),
            ("status", &self.status),
            ("client_name", &self.client_name),
            ("category", &self.category),
            ("assignee", &self.assignee),
            ("link", &self.link),
        ]
    }

    /// Made-up values for a preview, in `lang`.
    pub fn sample(lang: Lang) -> Vars {
        Vars {
            number: super::number(123),
            status: super::status_label(lang, crate::store::schema::RequestStatus::InProgress).to_string(),
            client_name: t(lang, "request_admin.sample.client_name").to_string(),
            category: t(lang, "request_admin.sample.category").to_string(),
            assignee: t(lang, "request_admin.sample.assignee").to_string(),
            link: "https://idora.uz/r/demo-0123456789abcdef".to_string(),
        }
    }
}

fn default_text(event: Event, lang: Lang) -> String {
    t(lang, &format!("request.template.{}", event.code())).to_string()
}

fn fill(text: &str, vars: &Vars) -> String {
    let mut out = text.to_string();
    for (k, v) in vars.pairs() {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Checks a template as it is saved: not empty, at most [`TEXT_MAX`]
/// characters, no control characters but line breaks, every `{…}` one of
/// [`PLACEHOLDERS`] (the error names the bad one), no stray brace.
pub fn check(text: &str) -> Result<String, AppError> {
    let v = text.trim();
    if v.is_empty() {
        return Err(AppError::invalid("text", "validation.required"));
    }
    AppError::check_text("text", v, TEXT_MAX, true)?;
    let mut rest = v;
    while let Some(i) = rest.find(['{', '}']) {
        let after = rest.get(i..).unwrap_or("");
        if after.starts_with('}') {
            return Err(AppError::invalid("text", "validation.template_braces"));
        }
        let inner = after.get(1..).unwrap_or("");
        let Some(end) = inner.find(['{', '}']) else {
            return Err(AppError::invalid("text", "validation.template_braces"));
        };
        if inner.get(end..).is_some_and(|s| s.starts_with('{')) {
            return Err(AppError::invalid("text", "validation.template_braces"));
        }
        let name = inner.get(..end).unwrap_or("");
        if !PLACEHOLDERS.contains(&name) {
            let shown: String = name.chars().take(40).collect();
            return Err(AppError::invalid("text", "validation.template_placeholder").with_arg("name", format!("{{{shown}}}")));
        }
        rest = inner.get(end + 1..).unwrap_or("");
    }
    Ok(v.to_string())
}

/// The text of `event` in `lang` and whether it is the catalogue's default.
pub fn get_in(tx: &impl Txn, event: Event, lang: Lang) -> Result<(String, bool), AppError> {
    match REQUEST_TEMPLATES.open(tx)?.get((event.code(), lang.code()))? {
        Some(r) => Ok((r.text, false)),
        None => Ok((default_text(event, lang), true)),
    }
}

pub fn get(db: &Db, event: Event, lang: Lang) -> Result<(String, bool), AppError> {
    let tx = db.read()?;
    get_in(&tx, event, lang)
}

fn require(who: &Caller) -> Result<(), AppError> {
    if who.manages_requests() { Ok(()) } else { Err(ErrorKind::Forbidden.into()) }
}

/// [`get`] for a caller who manages requests.
pub fn get_for(db: &Db, who: &Caller, event: Event, lang: Lang) -> Result<(String, bool), AppError> {
    require(who)?;
    get(db, event, lang)
}

/// One template as the admin page and the API show it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub event: Event,
    pub lang: Lang,
    pub text: String,
    pub is_default: bool,
}

/// Every event in every language.
pub fn list(db: &Db, who: &Caller) -> Result<Vec<Entry>, AppError> {
    require(who)?;
    let tx = db.read()?;
    let mut out = Vec::new();
    for event in Event::ALL {
        for lang in Lang::ALL {
            let (text, is_default) = get_in(&tx, event, lang)?;
            out.push(Entry { event, lang, text, is_default });
        }
    }
    Ok(out)
}

/// Saves the company's own text of `event` in `lang`.
pub async fn put(state: &AppState, tenant: &Tenant, who: &Caller, event: Event, lang: Lang, text: &str) -> Result<String, AppError> {
    require(who)?;
    let text = check(text)?;
    let now = state.now_ms();
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let (old, _) = get_in(tx, event, lang)?;
            if old != text {
                REQUEST_TEMPLATES
                    .open(tx)?
                    .insert((event.code(), lang.code()), &TemplateV1 { text: text.clone(), updated_by: who.id(), updated_at: now })?;
                let mut ch = Changes::default();
                ch.diff("text", &old, &text);
                audit::record(
                    tx,
                    now,
                    &who,
                    "request_template.update",
                    &format!("request_template:{}.{}", event.code(), lang.code()),
                    ch.0,
                )?;
            }
            Ok(text.clone())
        })
        .await
}

/// Back to the catalogue's default; returns it.
pub async fn reset(state: &AppState, tenant: &Tenant, who: &Caller, event: Event, lang: Lang) -> Result<String, AppError> {
    require(who)?;
    let now = state.now_ms();
    let who = who.clone();
    tenant
        .db()?
        .write(move |tx| {
            let old = REQUEST_TEMPLATES.open(tx)?.get((event.code(), lang.code()))?;
            if let Some(old) = old {
                REQUEST_TEMPLATES.open(tx)?.remove((event.code(), lang.code()))?;
                let mut ch = Changes::default();
                ch.diff("text", &old.text, &default_text(event, lang));
                audit::record(
                    tx,
                    now,
                    &who,
                    "request_template.reset",
                    &format!("request_template:{}.{}", event.code(), lang.code()),
                    ch.0,
                )?;
            }
            Ok(default_text(event, lang))
        })
        .await
}

/// `text` with sample values, checked as on save.
pub fn preview(who: &Caller, text: &str, lang: Lang) -> Result<String, AppError> {
    require(who)?;
    let text = check(text)?;
    Ok(fill(&text, &Vars::sample(lang)))
}

/// The text of `event` for a client reading `lang`: the company's own, else
/// the default.
pub fn render(tx: &impl Txn, event: Event, lang: Lang, vars: &Vars) -> Result<String, AppError> {
    let (text, _) = get_in(tx, event, lang)?;
    Ok(fill(&text, vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_at_save() {
        assert!(check("{number}: {status} {link}").is_ok());
        let e = check("Salom {name}").unwrap_err();
        assert_eq!(e.field, Some("text"));
        assert_eq!(e.message_key, Some("validation.template_placeholder"));
        assert_eq!(e.args, vec![("name", "{name}".to_string())]);
        for bad in ["{number", "number}", "{{number}}", "{num{ber}", "a } b"] {
            assert_eq!(check(bad).unwrap_err().message_key, Some("validation.template_braces"), "{bad}");
        }
        assert_eq!(check("  ").unwrap_err().message_key, Some("validation.required"));
        assert_eq!(check(&"a".repeat(1001)).unwrap_err().message_key, Some("validation.text_too_long"));
        assert_eq!(check("a\u{7}").unwrap_err().message_key, Some("validation.control_char"));
        assert!(check("line\nline {number}").is_ok());
    }

    #[test]
    fn every_default_passes_the_check() {
        for e in Event::ALL {
            for l in Lang::ALL {
                check(&default_text(e, l)).unwrap();
            }
        }
    }

    #[test]
    fn preview_fills_the_sample() {
        let p = preview(&Caller::System, "{number} — {client_name}", Lang::En).unwrap();
        assert!(p.starts_with("R-000123 — ") && !p.contains('{'), "{p}");
    }
}
