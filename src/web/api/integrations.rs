//! JSON API of the company's integrations: Google Sheets (connect with a
//! service account's key, what is connected and the last sync, sync now,
//! disconnect). The rules and the sync are `reports::sheets`.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::reports::sheets;
use crate::store::schema::{SheetsConfigV1, SheetsSyncV1};
use crate::web::extract::{CurrentUser, Json};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Company routes (nested under `/c/{slug}/`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sheets, put_sheets, delete_sheets)).routes(routes!(sync_sheets))
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

/// Rows written to one table's sheet.
#[derive(Debug, Serialize, ToSchema)]
pub struct SheetsTableRows {
    pub table: String,
    pub rows: u64,
}

/// The last sync that ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct SheetsLastSync {
    pub started_at: String,
    pub finished_at: String,
    /// `ok` or `failed`.
    pub status: String,
    /// `schedule`, or `manual` (someone pressed "Sync now").
    pub trigger: String,
    /// Rows written, over every table (headers not counted).
    pub rows: u64,
    pub tables: Vec<SheetsTableRows>,
    /// Why it failed, in the reader's language.
    pub error: Option<String>,
}

/// The company's Google Sheets connection. The key itself is never shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct SheetsStatus {
    pub connected: bool,
    /// The service account the spreadsheet is shared with.
    pub client_email: Option<String>,
    /// The key's id, masked (`3f2a…91c0`).
    pub key_hint: Option<String>,
    pub spreadsheet_id: Option<String>,
    pub spreadsheet_url: Option<String>,
    /// The tables synced, each to the sheet of its name.
    pub tables: Vec<String>,
    /// `manual`, `hourly` or `daily HH:MM` (company time).
    pub schedule: Option<String>,
    /// When the schedule syncs next.
    pub next_sync_at: Option<String>,
    /// The language of the sheets' headers (`uz`, `ru`, `en`).
    pub language: Option<String>,
    /// A sync runs now.
    pub running: bool,
    pub connected_at: Option<String>,
    pub last_sync: Option<SheetsLastSync>,
}

fn status_of(cfg: Option<SheetsConfigV1>, last: Option<SheetsSyncV1>, running: bool, lang: crate::i18n::Lang) -> SheetsStatus {
    let last_sync = last.map(|l| SheetsLastSync {
        started_at: rfc3339(l.started_at),
        finished_at: rfc3339(l.finished_at),
        status: if l.error.is_none() { "ok" } else { "failed" }.into(),
        trigger: if l.by == 0 { "schedule" } else { "manual" }.into(),
        rows: l.rows,
        tables: l.tables.into_iter().map(|(table, rows)| SheetsTableRows { table, rows }).collect(),
        error: l.error.as_ref().map(|e| sheets::error_text(e, lang)),
    });
    match cfg {
        None => SheetsStatus {
            connected: false,
            client_email: None,
            key_hint: None,
            spreadsheet_id: None,
            spreadsheet_url: None,
            tables: Vec::new(),
            schedule: None,
            next_sync_at: None,
            language: None,
            running,
            connected_at: None,
            last_sync: None,
        },
        Some(c) => SheetsStatus {
            connected: true,
            spreadsheet_url: Some(sheets::spreadsheet_url(&c.spreadsheet_id)),
            client_email: Some(c.client_email),
            key_hint: Some(c.key_hint),
            spreadsheet_id: Some(c.spreadsheet_id),
            tables: c.tables,
            schedule: Some(sheets::schedule_text(c.every, c.at_minute)),
            next_sync_at: c.next_at.map(rfc3339),
            language: Some(c.lang),
            running,
            connected_at: Some(rfc3339(c.connected_at)),
            last_sync,
        },
    }
}

fn status(user: &CurrentUser) -> Result<SheetsStatus, AppError> {
    let db = user.tenant.db()?;
    Ok(status_of(sheets::config(db)?, sheets::last_sync(db)?, sheets::is_running(&user.tenant), user.lang))
}

/// The company's Google Sheets connection and its last sync (admins with
/// `company.setup`). The key is never returned: its account's e-mail and a
/// masked key id are.
#[utoipa::path(get, path = "/api/v1/integrations/google-sheets", tag = "integrations", params(("slug" = String, Path)),
    responses((status = 200, body = SheetsStatus), (status = 403)), security(("bearer" = [])))]
pub async fn get_sheets(user: CurrentUser) -> Result<axum::Json<SheetsStatus>, AppError> {
    Caller::from(&user).require(sheets::MANAGE)?;
    Ok(axum::Json(status(&user)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetsConnect {
    /// The service account's JSON key as Google gave it (an object, or the
    /// file's text as a string): `type` `service_account`, `client_email`,
    /// an RSA `private_key`, `token_uri`. Stored encrypted, never shown
    /// again. Leave it out to keep the stored key.
    #[schema(value_type = Object)]
    pub service_account_key: Option<Value>,
    /// The spreadsheet's id, or its address (`https://docs.google.com/spreadsheets/d/<id>/edit`).
    #[schema(example = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms", max_length = 300)]
    pub spreadsheet_id: String,
    /// The tables to sync, each to a sheet of its name: `tasks`, `points`,
    /// `requests`, `files`, `tickets`.
    #[schema(example = json!(["points", "tasks"]))]
    pub tables: Vec<String>,
    /// `manual` (only "Sync now"), `hourly` (at the start of every hour) or
    /// `daily HH:MM` (company time).
    #[schema(example = "daily 09:00", pattern = r"^(manual|hourly|daily ([01][0-9]|2[0-3]):[0-5][0-9])$")]
    pub schedule: String,
}

/// Connects a spreadsheet, or changes the connection (admins with
/// `company.setup`). The key is checked (a service account's, with an RSA
/// key that signs) but Google is not asked until the first sync; the
/// sheets' headers are in the caller's language.
#[utoipa::path(put, path = "/api/v1/integrations/google-sheets", tag = "integrations", params(("slug" = String, Path)),
    request_body = SheetsConnect,
    responses((status = 200, body = SheetsStatus), (status = 403),
        (status = 422, description = "Not a service account key, not a spreadsheet id, an unknown table or schedule")),
    security(("bearer" = [])))]
pub async fn put_sheets(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<SheetsConnect>,
) -> Result<axum::Json<SheetsStatus>, AppError> {
    let key = match body.service_account_key {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(v @ Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err(AppError::invalid("service_account_key", "sheets.error.key_json")),
    };
    let settings = sheets::Settings { key, spreadsheet: body.spreadsheet_id, tables: body.tables, schedule: body.schedule };
    sheets::save(&state, &user.tenant, &Caller::from(&user), user.lang, settings).await?;
    Ok(axum::Json(status(&user)?))
}

/// Disconnects the spreadsheet: the key and settings are forgotten (what
/// was written stays in the spreadsheet).
#[utoipa::path(delete, path = "/api/v1/integrations/google-sheets", tag = "integrations", params(("slug" = String, Path)),
    responses((status = 204), (status = 403), (status = 404, description = "Nothing is connected")), security(("bearer" = [])))]
pub async fn delete_sheets(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode, AppError> {
    sheets::disconnect(&state, &user.tenant, &Caller::from(&user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SheetsSyncStarted {
    /// Follow it at `GET /jobs/{job_id}`.
    pub job_id: String,
}

/// Syncs now, in the background: 202 with the job to follow
/// (`GET /jobs/{id}`: rows done of the total). The result is also kept for
/// `GET /integrations/google-sheets`.
#[utoipa::path(post, path = "/api/v1/integrations/google-sheets/sync", tag = "integrations", params(("slug" = String, Path)),
    responses((status = 202, body = SheetsSyncStarted), (status = 403), (status = 404, description = "Nothing is connected"),
        (status = 409, description = "A sync runs already")),
    security(("bearer" = [])))]
pub async fn sync_sheets(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<(StatusCode, axum::Json<SheetsSyncStarted>), AppError> {
    let job = sheets::start(&state, &user.tenant, &Caller::from(&user), user.lang).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(SheetsSyncStarted { job_id: job.id.clone() })))
}
