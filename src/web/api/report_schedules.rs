//! `GET/POST /report-schedules`, `PATCH/DELETE /report-schedules/{id}`:
//! which report goes to whom when (`reports::schedule`).

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::reports::schedule::{self, ScheduleIn, SchedulePatch};
use crate::store::schema::ReportScheduleV1;
use crate::web::extract::{CurrentUser, Json, PathId};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_schedules, create_schedule)).routes(routes!(patch_schedule, delete_schedule))
}

/// A recipient, or one left out at the last run and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleRecipient {
    pub id: u64,
    pub name: String,
    /// Why they were left out at the last run (in the reader's language); absent when they got it.
    pub skipped: Option<String>,
}

/// A scheduled report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportScheduleOut {
    pub id: u64,
    pub report: String,
    /// `previous` or `current`.
    pub period: String,
    /// `day`, `week` or `month`.
    pub every: String,
    pub weekday: u8,
    pub day: u8,
    /// `HH:MM`, company time.
    pub time: String,
    pub department_id: Option<u64>,
    pub branch_id: Option<u64>,
    pub recipients: Vec<ScheduleRecipient>,
    pub channels: Vec<String>,
    /// The next run (RFC 3339, UTC).
    pub next_run: Option<String>,
    /// The next run in company time, `YYYY-MM-DD HH:MM`.
    pub next_run_local: Option<String>,
    /// The scheduled moment last sent for (RFC 3339, UTC).
    pub last_run: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportScheduleList {
    pub items: Vec<ReportScheduleOut>,
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_string()
}

/// A schedule as the API shows it.
pub fn out(state: &AppState, user: &CurrentUser, names: &[(u64, String)], id: u64, s: &ReportScheduleV1) -> ReportScheduleOut {
    let tz = user.tenant.timezone();
    let next = schedule::next_run(s, state.now_ms(), &tz);
    let names = schedule::name_map(names);
    ReportScheduleOut {
        id,
        report: s.report.clone(),
        period: s.period.clone(),
        every: s.every.clone(),
        weekday: s.weekday,
        day: s.day,
        time: schedule::time_of(s),
        department_id: s.department_id,
        branch_id: s.branch_id,
        recipients: s
            .recipients
            .iter()
            .map(|r| ScheduleRecipient {
                id: *r,
                name: names.get(r).cloned().unwrap_or_else(|| format!("#{r}")),
                skipped: s.skipped.iter().find(|(u, _)| u == r).map(|(_, k)| crate::i18n::t(user.lang, k).to_string()),
            })
            .collect(),
        channels: schedule::channels_of(s),
        next_run: next.map(rfc3339),
        next_run_local: next.map(|ms| crate::clock::from_ms(ms).to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()),
        last_run: s.last_run.map(rfc3339),
    }
}

/// The company's scheduled reports (the admin, or whoever reads every report).
#[utoipa::path(get, path = "/api/v1/report-schedules", tag = "reports", params(("slug" = String, Path)),
    responses((status = 200, body = ReportScheduleList), (status = 403)), security(("bearer" = [])))]
pub async fn list_schedules(State(state): State<AppState>, user: CurrentUser) -> Result<axum::Json<ReportScheduleList>, AppError> {
    let who = Caller::from(&user);
    let db = user.tenant.db()?;
    let list = schedule::list(db, &who)?;
    let names = schedule::names(db, &who)?;
    Ok(axum::Json(ReportScheduleList { items: list.iter().map(|(id, s)| out(&state, &user, &names, *id, s)).collect() }))
}

/// Adds a scheduled report: which report, of which period, to whom, when
/// (company time) and how (in-app, Telegram).
#[utoipa::path(post, path = "/api/v1/report-schedules", tag = "reports", params(("slug" = String, Path)), request_body = ScheduleIn,
    responses((status = 201, body = ReportScheduleOut), (status = 403), (status = 422, description = "Not a report, time, weekday, recipient or channel")),
    security(("bearer" = [])))]
pub async fn create_schedule(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<ScheduleIn>,
) -> Result<(StatusCode, axum::Json<ReportScheduleOut>), AppError> {
    let who = Caller::from(&user);
    let id = schedule::create(&user.tenant, &who, state.now_ms(), body).await?;
    let db = user.tenant.db()?;
    let s = schedule::get(db, &who, id)?;
    let names = schedule::names(db, &who)?;
    Ok((StatusCode::CREATED, axum::Json(out(&state, &user, &names, id, &s))))
}

/// Changes a scheduled report: the fields given replace its own.
#[utoipa::path(patch, path = "/api/v1/report-schedules/{id}", tag = "reports", params(("slug" = String, Path), ("id" = u64, Path)),
    request_body = SchedulePatch,
    responses((status = 200, body = ReportScheduleOut), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn patch_schedule(
    State(state): State<AppState>,
    user: CurrentUser,
    PathId(id): PathId,
    Json(body): Json<SchedulePatch>,
) -> Result<axum::Json<ReportScheduleOut>, AppError> {
    let who = Caller::from(&user);
    let s = schedule::update(&user.tenant, &who, state.now_ms(), id, body).await?;
    let names = schedule::names(user.tenant.db()?, &who)?;
    Ok(axum::Json(out(&state, &user, &names, id, &s)))
}

/// Removes a scheduled report.
#[utoipa::path(delete, path = "/api/v1/report-schedules/{id}", tag = "reports", params(("slug" = String, Path), ("id" = u64, Path)),
    responses((status = 204), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn delete_schedule(State(state): State<AppState>, user: CurrentUser, PathId(id): PathId) -> Result<StatusCode, AppError> {
    schedule::delete(&user.tenant, &Caller::from(&user), state.now_ms(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
