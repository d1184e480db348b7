//! The company's integrations in the admin console
//! (`/admin/integrations`): Google Sheets. Not connected: how to make a
//! service account and share a spreadsheet with it, step by step, and the
//! form (the JSON key as a file, the spreadsheet's address, the tables, the
//! schedule). Connected: the account's e-mail, the spreadsheet's link, the
//! tables and schedule, the last sync (time, rows, error), "Sync now" with
//! a progress bar (`integrations.js` polls `GET /jobs/{id}`), the settings
//! again and Disconnect.
//!
//! Every change goes through the core (`reports::sheets`); these handlers
//! read forms and draw pages.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Lang, t, tf};
use crate::reports::history::HistoryTable;
use crate::reports::jobs::JobView;
use crate::reports::sheets;
use crate::store::schema::{SheetsConfigV1, SheetsEvery, SheetsSyncV1};
use crate::web::assets;
use crate::web::errors::form_again;
use crate::web::extract::{CurrentUser, Page};
use crate::web::layout::{self, FormError, Input, csrf_field, post_button};
use crate::web::pages::org::{Ctx, Section};
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/integrations", get(page))
        .route("/admin/integrations/google-sheets", post(save_submit))
        .route("/admin/integrations/google-sheets/sync", post(sync_submit))
        .route("/admin/integrations/google-sheets/disconnect", post(disconnect_submit))
}

const GOOGLE_CLOUD: &str = "https://console.cloud.google.com/";
const SHEETS_API: &str = "https://console.cloud.google.com/apis/library/sheets.googleapis.com";
const SERVICE_ACCOUNTS: &str = "https://console.cloud.google.com/iam-admin/serviceaccounts";

fn assets() -> Markup {
    html! {
        link rel="stylesheet" href=(assets::url("integrations.css"));
        script src=(assets::url("integrations.js")) defer {}
    }
}

#[derive(Deserialize, Default)]
struct PageQuery {
    done: Option<String>,
    /// The sync just started, whose progress the page follows.
    job: Option<String>,
}

/// What the form shows again after a failure.
#[derive(Default)]
struct Shown {
    spreadsheet: Option<String>,
    tables: Option<Vec<String>>,
    every: Option<String>,
    at: Option<String>,
    err: Option<FormError>,
}

fn require(user: &CurrentUser) -> Result<(), AppError> {
    user.require(sheets::MANAGE)
}

async fn page(State(state): State<AppState>, user: CurrentUser, page: Page, Query(q): Query<PageQuery>) -> Result<Markup, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let lang = c.lang();
    let notice = match q.done.as_deref() {
        Some("connected") => Some(t(lang, "sheets.page.connected_notice")),
        Some("saved") => Some(t(lang, "sheets.page.saved_notice")),
        Some("disconnected") => Some(t(lang, "sheets.page.disconnected_notice")),
        _ => None,
    };
    let job = q.job.as_deref().and_then(|id| state.jobs.get(&c.tenant().slug, &Caller::from(&c.user), id).ok());
    let job = job.map(|j| j.view(&format!("/c/{}/api/v1", c.tenant().slug)));
    view(&c, &Shown::default(), notice, job)
}

fn view(c: &Ctx, shown: &Shown, notice: Option<&str>, job: Option<JobView>) -> Result<Markup, AppError> {
    let lang = c.lang();
    let db = c.tenant().db()?;
    let cfg = sheets::config(db)?;
    let last = sheets::last_sync(db)?;
    let title = t(lang, "sheets.page.title");
    let body = html! {
        (assets())
        h1 { (title) }
        @match &cfg {
            None => (not_connected(c, shown)),
            Some(cfg) => (connected(c, cfg, last.as_ref(), shown, job)),
        }
    };
    Ok(c.render(title, Section::Integrations, notice, body))
}

/// A table's name for people.
fn table_name(lang: Lang, key: &str) -> String {
    match key {
        "tasks" => t(lang, "sheets.table.tasks"),
        "points" => t(lang, "sheets.table.points"),
        "requests" => t(lang, "sheets.table.requests"),
        "files" => t(lang, "sheets.table.files"),
        "tickets" => t(lang, "sheets.table.tickets"),
        other => other,
    }
    .to_string()
}

fn schedule_words(lang: Lang, every: SheetsEvery, at_minute: u16) -> String {
    match every {
        SheetsEvery::Manual => t(lang, "sheets.page.every_manual").to_string(),
        SheetsEvery::Hourly => t(lang, "sheets.page.every_hour").to_string(),
        SheetsEvery::Daily => tf(lang, "sheets.page.every_day_at", &[("time", &crate::org::service::format_hhmm(at_minute))]),
    }
}

/// The settings form: `cfg` when a spreadsheet is connected already (the
/// key may then be left out).
fn settings_form(c: &Ctx, cfg: Option<&SheetsConfigV1>, shown: &Shown) -> Markup {
    let lang = c.lang();
    let err = shown.err.as_ref();
    let spreadsheet = shown.spreadsheet.clone().or_else(|| cfg.map(|c| sheets::spreadsheet_url(&c.spreadsheet_id))).unwrap_or_default();
    let tables: Vec<String> =
        shown.tables.clone().or_else(|| cfg.map(|c| c.tables.clone())).unwrap_or_else(|| vec![HistoryTable::Points.key().to_string()]);
    let every = shown
        .every
        .clone()
        .or_else(|| {
            cfg.map(|c| {
                match c.every {
                    SheetsEvery::Manual => "manual",
                    SheetsEvery::Hourly => "hourly",
                    SheetsEvery::Daily => "daily",
                }
                .to_string()
            })
        })
        .unwrap_or_else(|| "daily".into());
    let at = shown
        .at
        .clone()
        .or_else(|| cfg.filter(|c| c.every == SheetsEvery::Daily).map(|c| crate::org::service::format_hhmm(c.at_minute)))
        .unwrap_or_else(|| "09:00".into());
    let key_err = err.and_then(|e| e.on("service_account_key"));
    let tables_err = err.and_then(|e| e.on("tables"));
    let schedule_err = err.and_then(|e| e.on("schedule"));
    let action = format!("{}?_csrf={}", c.url("admin/integrations/google-sheets"), c.csrf());
    html! {
        (layout::form_alert_except(err, &["service_account_key", "spreadsheet_id", "tables", "schedule"]))
        form.sh-form method="post" action=(action) enctype="multipart/form-data" {
            (csrf_field(c.csrf()))
            div.field.invalid[key_err.is_some()] {
                label for="f-key" { (t(lang, if cfg.is_some() { "sheets.page.key_new" } else { "sheets.page.key" })) }
                input id="f-key" type="file" name="service_account_key" accept=".json,application/json" required[cfg.is_none()]
                    aria-describedby="f-key-hint" aria-invalid=[key_err.map(|_| "true")];
                small.hint id="f-key-hint" {
                    (t(lang, if cfg.is_some() { "sheets.page.key_keep_hint" } else { "sheets.page.key_hint" }))
                }
                @if let Some(e) = key_err {
                    small.field-error { (e) }
                }
            }
            (Input::new(t(lang, "sheets.page.spreadsheet"), "spreadsheet_id").value(&spreadsheet).required().maxlength(300)
                .autocomplete("off").hint(t(lang, "sheets.page.spreadsheet_hint")).error(err))
            fieldset.sh-tables.invalid[tables_err.is_some()] {
                legend { (t(lang, "sheets.page.tables")) }
                @for table in HistoryTable::ALL {
                    label.check {
                        input type="checkbox" name="tables" value=(table.key()) checked[tables.iter().any(|k| k == table.key())];
                        span { (table_name(lang, table.key())) " " code { (table.key()) } }
                    }
                }
                small.hint { (t(lang, "sheets.page.tables_hint")) }
                @if let Some(e) = tables_err {
                    small.field-error { (e) }
                }
            }
            fieldset.sh-schedule.invalid[schedule_err.is_some()] {
                legend { (t(lang, "sheets.page.schedule")) }
                @for (value, label) in [("manual", "sheets.page.every_manual"), ("hourly", "sheets.page.every_hour")] {
                    label.check {
                        input type="radio" name="every" value=(value) checked[every == value];
                        span { (t(lang, label)) }
                    }
                }
                div.sh-daily {
                    label.check {
                        input type="radio" name="every" value="daily" checked[every == "daily"];
                        span { (t(lang, "sheets.page.every_day")) }
                    }
                    input #f-at type="time" name="at" value=(at) aria-label=(t(lang, "sheets.page.at")) aria-describedby="f-at-hint";
                }
                small.hint #f-at-hint { (tf(lang, "sheets.page.at_hint", &[("zone", c.tenant().timezone().iana_name().unwrap_or("UTC"))])) }
                @if let Some(e) = schedule_err {
                    small.field-error { (e) }
                }
            }
            div.form-actions {
                button.primary type="submit" { (t(lang, if cfg.is_some() { "admin.common.save" } else { "sheets.page.connect" })) }
            }
        }
    }
}

fn not_connected(c: &Ctx, shown: &Shown) -> Markup {
    let lang = c.lang();
    let link = |href: &str, text: &str| html! { a href=(href) target="_blank" rel="noopener noreferrer" { (text) } };
    html! {
        section.card.form-card #sh-none {
            p.lead { strong { (t(lang, "sheets.page.none_title")) } }
            p { (t(lang, "sheets.page.none_lead")) }
            h2 { (t(lang, "sheets.page.steps_title")) }
            ol.sh-steps {
                li { (t(lang, "sheets.page.step_project")) " " (link(GOOGLE_CLOUD, "Google Cloud Console")) }
                li { (t(lang, "sheets.page.step_api")) " " (link(SHEETS_API, "Google Sheets API")) }
                li { (t(lang, "sheets.page.step_account")) " " (link(SERVICE_ACCOUNTS, t(lang, "sheets.page.service_accounts"))) }
                li { (t(lang, "sheets.page.step_key")) }
                li { (t(lang, "sheets.page.step_share")) }
                li { (t(lang, "sheets.page.step_upload")) }
            }
            (settings_form(c, None, shown))
        }
    }
}

fn connected(c: &Ctx, cfg: &SheetsConfigV1, last: Option<&SheetsSyncV1>, shown: &Shown, job: Option<JobView>) -> Markup {
    let lang = c.lang();
    let tz = c.tenant().timezone();
    let url = sheets::spreadsheet_url(&cfg.spreadsheet_id);
    let running = sheets::is_running(c.tenant());
    let job = job.filter(|j| j.state == "running" || running);
    let job_api = job.as_ref().map(|j| format!("/c/{}/api/v1/jobs/{}", c.tenant().slug, j.id));
    html! {
        div.two-col {
            div {
                section.card #sh-conn {
                    h2 { (t(lang, "sheets.page.connection")) }
                    dl.facts {
                        dt { (t(lang, "sheets.page.account")) }
                        dd #sh-email { (cfg.client_email) }
                        dt { (t(lang, "sheets.page.key_id")) }
                        dd { code #sh-key { (cfg.key_hint) } }
                        dt { (t(lang, "sheets.page.spreadsheet_short")) }
                        dd { a #sh-link href=(url) target="_blank" rel="noopener noreferrer" { (t(lang, "sheets.page.open_spreadsheet")) } }
                        dt { (t(lang, "sheets.page.tables")) }
                        dd #sh-tables {
                            @for (i, k) in cfg.tables.iter().enumerate() {
                                @if i > 0 { ", " }
                                (table_name(lang, k))
                            }
                        }
                        dt { (t(lang, "sheets.page.schedule")) }
                        dd #sh-schedule { (schedule_words(lang, cfg.every, cfg.at_minute)) }
                        @if let Some(next) = cfg.next_at {
                            dt { (t(lang, "sheets.page.next")) }
                            dd { (layout::local_time(next, &tz)) }
                        }
                        dt { (t(lang, "sheets.page.language")) }
                        dd { (Lang::parse(&cfg.lang).map(|l| l.native_name()).unwrap_or(cfg.lang.as_str())) }
                    }
                    p.muted { (t(lang, "sheets.page.share_reminder")) }
                }
                section.card #sh-last {
                    h2 { (t(lang, "sheets.page.last_title")) }
                    @match last {
                        None => @if job.is_none() { p.muted #sh-never { (t(lang, "sheets.page.never")) } },
                        Some(l) => {
                            dl.facts {
                                dt { (t(lang, "sheets.page.last_at")) }
                                dd #sh-last-at { (layout::local_time(l.finished_at, &tz)) }
                                dt { (t(lang, "sheets.page.last_status")) }
                                dd #sh-last-status {
                                    @if l.error.is_none() {
                                        span.badge.ok { (t(lang, "sheets.page.ok")) }
                                    } @else {
                                        span.badge.failed { (t(lang, "sheets.page.failed")) }
                                    }
                                    " "
                                    span.muted { (t(lang, if l.by == 0 { "sheets.page.by_schedule" } else { "sheets.page.by_hand" })) }
                                }
                                dt { (t(lang, "sheets.page.rows")) }
                                dd #sh-last-rows {
                                    (l.rows)
                                    @if l.tables.len() > 1 {
                                        " ("
                                        @for (i, (k, n)) in l.tables.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            (table_name(lang, k)) ": " (n)
                                        }
                                        ")"
                                    }
                                }
                            }
                            @if let Some(e) = &l.error {
                                p.alert #sh-error role="alert" { (sheets::error_text(e, lang)) }
                            }
                        }
                    }
                    div #sh-progress hidden[job.is_none()] data-job=[job_api.as_deref()]
                        data-failed=(t(lang, "sheets.page.failed")) data-done=(t(lang, "sheets.page.done"))
                        data-of=(t(lang, "sheets.page.rows_of")) {
                        p { strong { (t(lang, "sheets.page.syncing")) } }
                        progress max="100" value=(job.as_ref().and_then(|j| j.percent).unwrap_or(0)) aria-labelledby="sh-progress-text" {}
                        p.muted #sh-progress-text role="status" aria-live="polite" {
                            @if let Some(j) = &job {
                                (tf(lang, "sheets.page.rows_of", &[("done", &j.done.to_string()), ("total", &j.total.to_string())]))
                            }
                        }
                        noscript { p { a href=(c.url("admin/integrations")) { (t(lang, "sheets.page.refresh")) } } }
                    }
                    @if job.is_none() {
                        form #sh-sync method="post" action=(c.url("admin/integrations/google-sheets/sync")) {
                            (csrf_field(c.csrf()))
                            button.primary type="submit" disabled[running] { (t(lang, "sheets.page.sync_now")) }
                        }
                        @if running {
                            p.muted { (t(lang, "sheets.page.running_elsewhere")) }
                        }
                    }
                }
            }
            div {
                section.card #sh-settings {
                    h2 { (t(lang, "sheets.page.settings_title")) }
                    (settings_form(c, Some(cfg), shown))
                }
                section.card #sh-disconnect {
                    h2 { (t(lang, "sheets.page.disconnect_title")) }
                    p.muted { (t(lang, "sheets.page.disconnect_lead")) }
                    (post_button(&c.url("admin/integrations/google-sheets/disconnect"), c.csrf(), t(lang, "sheets.page.disconnect"), "danger",
                        Some(t(lang, "sheets.page.disconnect_confirm"))))
                }
            }
        }
    }
}

/// The settings form as sent (multipart: the key is a file).
#[derive(Default)]
struct SettingsForm {
    key: Option<String>,
    spreadsheet: String,
    tables: Vec<String>,
    every: String,
    at: String,
}

fn multipart_error(e: MultipartError) -> AppError {
    let kind = if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE { ErrorKind::PayloadTooLarge } else { ErrorKind::BadRequest };
    AppError::new(kind).with_arg("detail", e.body_text())
}

async fn read_form(mut form: Multipart) -> Result<SettingsForm, AppError> {
    let mut f = SettingsForm::default();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(multipart_error)?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "service_account_key" if !bytes.is_empty() => {
                // Not UTF-8: not a JSON key (the core says so).
                f.key = Some(String::from_utf8(bytes.to_vec()).unwrap_or_default());
            }
            "spreadsheet_id" => f.spreadsheet = text(),
            "tables" => f.tables.push(text()),
            "every" => f.every = text(),
            "at" => f.at = text(),
            _ => {}
        }
    }
    Ok(f)
}

async fn save_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    page: Page,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    let form = form.map_err(|e| AppError::new(ErrorKind::BadRequest).with_arg("detail", e.body_text()))?;
    let f = read_form(form).await?;
    let schedule = match f.every.as_str() {
        "daily" => format!("daily {}", f.at),
        other => other.to_string(),
    };
    let was_connected = sheets::config(c.tenant().db()?)?.is_some();
    let settings = sheets::Settings { key: f.key, spreadsheet: f.spreadsheet.clone(), tables: f.tables.clone(), schedule };
    match sheets::save(&state, c.tenant(), &Caller::from(&c.user), c.lang(), settings).await {
        Ok(_) => {
            let done = if was_connected { "saved" } else { "connected" };
            Ok(Redirect::to(&c.url(&format!("admin/integrations?done={done}"))).into_response())
        }
        Err(e) if e.field.is_some() => {
            let shown = Shown {
                spreadsheet: Some(f.spreadsheet),
                tables: Some(f.tables),
                every: Some(f.every),
                at: Some(f.at),
                err: Some(FormError::new(c.lang(), &e)),
            };
            Ok(form_again(view(&c, &shown, None, None)?))
        }
        Err(e) => Err(e),
    }
}

async fn sync_submit(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    match sheets::start(&state, c.tenant(), &Caller::from(&c.user), c.lang()).await {
        Ok(job) => Ok(Redirect::to(&c.url(&format!("admin/integrations?job={}", job.id))).into_response()),
        // Running already (another tab, the schedule): the page shows it.
        Err(AppError { kind: ErrorKind::Conflict, .. }) => Ok(Redirect::to(&c.url("admin/integrations")).into_response()),
        Err(e) => Err(e),
    }
}

async fn disconnect_submit(State(state): State<AppState>, user: CurrentUser, page: Page) -> Result<Response, AppError> {
    require(&user)?;
    let c = Ctx::new(user, page);
    match sheets::disconnect(&state, c.tenant(), &Caller::from(&c.user)).await {
        Ok(()) | Err(AppError { kind: ErrorKind::NotFound, .. }) => {
            Ok(Redirect::to(&c.url("admin/integrations?done=disconnected")).into_response())
        }
        Err(e) => Err(e),
    }
}
