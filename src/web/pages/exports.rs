//! `/c/{slug}/reports/exports`: the histories the reader may export, a
//! period, and for each a CSV download and an XLSX made in the background
//! with a progress bar (`assets/exports.js` starts the job through the API
//! and polls it; without the script, the XLSX link downloads directly).

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::t;
use crate::reports::history::{self, HistoryTable};
use crate::web::assets;
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::Input;
use crate::web::pages::org::{Ctx, Section};
use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/reports/exports", get(page))
}

#[derive(Debug, Deserialize, Default)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

fn clean_day(raw: &Option<String>) -> String {
    raw.as_deref().map(str::trim).filter(|s| s.parse::<jiff::civil::Date>().is_ok()).unwrap_or("").to_string()
}

async fn page(
    user: CurrentUser,
    page: Page,
    q: Result<Query<PeriodQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let who = Caller::from(&user);
    let tables: Vec<HistoryTable> = HistoryTable::ALL.into_iter().filter(|t| history::may_export(&who, *t).is_ok()).collect();
    if tables.is_empty() {
        return Err(ErrorKind::Forbidden.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (from, to) = (clean_day(&q.from), clean_day(&q.to));
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let api = c.url("api/v1");
    let query = {
        let mut parts = Vec::new();
        if !from.is_empty() {
            parts.push(format!("from={from}"));
        }
        if !to.is_empty() {
            parts.push(format!("to={to}"));
        }
        if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
    };
    let title = t(lang, "exports.title");
    let body = html! {
        link rel="stylesheet" href=(assets::url("exports.css"));
        script src=(assets::url("exports.js")) defer {}
        div.page-head { h1 { (title) } }
        p.muted { (t(lang, "exports.intro")) }
        form.card.exports-period method="get" action=(c.url("reports/exports")) {
            fieldset {
                legend { (t(lang, "exports.period")) }
                div.exports-days {
                    (Input::new(t(lang, "exports.from"), "from").kind("date").value(&from))
                    (Input::new(t(lang, "exports.to"), "to").kind("date").value(&to))
                }
                p.muted { (t(lang, "exports.all_time")) }
            }
        }
        ul.exports-list data-api=(api) data-csrf=(c.csrf())
            data-preparing=(t(lang, "exports.preparing")) data-rows=(t(lang, "exports.rows"))
            data-ready=(t(lang, "exports.ready")) data-download=(t(lang, "exports.download"))
            data-failed=(t(lang, "exports.failed")) {
            @for table in &tables {
                li.card.export-item data-table=(table.key()) {
                    div.export-what {
                        h2 { (table.title(lang)) }
                        p.muted { (t(lang, &format!("exports.about.{}", table.key()))) }
                    }
                    div.button-row {
                        a.button.export-csv href=(format!("{api}/exports/{}.csv{query}", table.key())) download {
                            (t(lang, "exports.csv"))
                        }
                        a.button.primary.export-xlsx href=(format!("{api}/exports/{}.xlsx{query}", table.key())) download {
                            (t(lang, "exports.xlsx"))
                        }
                    }
                    div.export-progress hidden aria-live="polite" {
                        progress max="100" {}
                        span.export-status {}
                    }
                }
            }
        }
    };
    Ok(c.render(title, Section::Reports, None, body).into_response())
}
