//! Notification templates: for each event one text per language with
//! placeholders, the company's own or the default of the catalogue.
//!
//! INTERIM: `render` uses the defaults only until the templates work lands.

use crate::error::AppError;
use crate::i18n::{Lang, t};
use crate::store::Txn;

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
}

/// The text of `event` for a client reading `lang`.
pub fn render(_tx: &impl Txn, event: Event, lang: Lang, vars: &Vars) -> Result<String, AppError> {
    let key = format!("request.template.{}", event.code());
    let mut text = t(lang, &key).to_string();
    for (k, v) in vars.pairs() {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    Ok(text)
}
