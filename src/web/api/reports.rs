//! `GET /reports/{name}` (JSON; `.csv` and `.xlsx` are the same report as a
//! file, written by `web::api::exports`) and `GET /jobs/{id}` (the progress
//! of an export or a sync). The figures are `reports::*`.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::reports::jobs::JobView;
use crate::reports::{self, Ask, ReportJson};
use crate::web::extract::CurrentUser;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(report)).routes(routes!(job))
}

/// A report's period and filters.
#[derive(Debug, Deserialize, Default, IntoParams, Clone)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `day`, `week` (Monday to Sunday), `month` (the default) — the one
    /// holding `from`, or today — or `custom` (`from` to `to`, at most 366 days).
    #[param(pattern = r"^(day|week|month|custom)?$")]
    pub period: Option<String>,
    /// A local day, `YYYY-MM-DD`.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub from: Option<String>,
    /// The last local day of a custom period, `YYYY-MM-DD`, included.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub to: Option<String>,
    #[param(pattern = r"^\d*$")]
    pub department_id: Option<String>,
    #[param(pattern = r"^\d*$")]
    pub branch_id: Option<String>,
    #[param(pattern = r"^\d*$")]
    pub user_id: Option<String>,
    #[param(pattern = r"^\d*$")]
    pub category_id: Option<String>,
    /// CSV only: `;` between fields (what Excel in Russian or Uzbek expects);
    /// `,` otherwise. Defaults to the reader's language's.
    #[param(pattern = r"^(;|,)?$")]
    pub sep: Option<String>,
}

/// Reads a report query: the period in the company's days, the filters.
pub fn ask(state: &AppState, user: &CurrentUser, name: &str, q: Result<Query<ReportQuery>, QueryRejection>) -> Result<Ask, AppError> {
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| AppError::new(ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.body_text()))?;
    ask_of(state, user, name, &q)
}

/// [`ask`] of a parsed query.
pub fn ask_of(state: &AppState, user: &CurrentUser, name: &str, q: &ReportQuery) -> Result<Ask, AppError> {
    let today = reports::today(state.now_ms(), &user.tenant.timezone());
    Ok(Ask {
        name: name.to_string(),
        period: reports::parse_period(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), today)?,
        filters: reports::parse_filters(
            q.department_id.as_deref(),
            q.branch_id.as_deref(),
            q.user_id.as_deref(),
            q.category_id.as_deref(),
        )?,
    })
}

/// A report: `{"columns":[{"key","label","type"}],"rows":[{…}],"totals":{…}}`
/// and its other tables and charts, for the caller (an employee reads only
/// their own figures; a manager their department's). Names: `employee`,
/// `department`, `ranking`, `company`, `branches`, `requests`, `queue`;
/// with `.csv` (UTF-8 with BOM) or `.xlsx` the same report as a file.
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports",
    params(("slug" = String, Path),
        ("name" = String, Path, pattern = r"^(employee|department|ranking|company|branches|requests|queue)(\.(csv|xlsx))?$"),
        ReportQuery),
    responses((status = 200, body = ReportJson,
            content((ReportJson = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_slug, name)): Path<(String, String)>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let (base, ext) = match name.rsplit_once('.') {
        Some((b, e)) => (b.to_string(), Some(e.to_string())),
        None => (name.clone(), None),
    };
    if !reports::NAMES.contains(&base.as_str()) {
        return Err(ErrorKind::NotFound.into());
    }
    let raw = q
        .map(|Query(q)| q)
        .map_err(|e| AppError::new(ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.body_text()))?;
    if raw.sep.as_deref().is_some_and(|s| !matches!(s, "" | ";" | ",")) {
        return Err(AppError::invalid("sep", "exports.bad_sep"));
    }
    let ask = ask_of(&state, &user, &base, &raw)?;
    match ext.as_deref() {
        None => {
            let r = reports::run(&user.tenant, &Caller::from(&user), user.lang, state.now_ms(), ask).await?;
            Ok(axum::Json(r.json()).into_response())
        }
        Some(kind @ ("csv" | "xlsx")) => crate::web::api::exports::report_file(&state, &user, ask, kind, raw.sep.as_deref()).await,
        Some(_) => Err(ErrorKind::NotFound.into()),
    }
}

/// A background job's progress (an export, a Google Sheets sync): rows done
/// of the total, and when done, where to fetch an export's file. Only its
/// starter (or someone who sees every report) reads it.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "reports",
    params(("slug" = String, Path), ("id" = String, Path, pattern = r"^[0-9a-f]{24}$")),
    responses((status = 200, body = JobView), (status = 404)),
    security(("bearer" = [])))]
pub async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_slug, id)): Path<(String, String)>,
) -> Result<axum::Json<JobView>, AppError> {
    let slug = &user.tenant.slug;
    let job = state.jobs.get(slug, &Caller::from(&user), &id)?;
    Ok(axum::Json(job.view(&format!("/c/{slug}/api/v1"))))
}
