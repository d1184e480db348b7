//! Reports and histories as files.
//!
//! * `GET /reports/{name}.csv|.xlsx` ([`report_file`], routed by
//!   `api::reports`): the report as a file.
//! * `GET /exports/{table}.csv|.xlsx`: a history, streamed — CSV straight
//!   to the body as it is read (a blocking reader feeding a bounded
//!   channel), XLSX written to a temp file in the company's folder in
//!   constant memory, then streamed and removed.
//! * `POST /exports/{table}.csv|.xlsx`: the same as a background job with
//!   progress (`GET /jobs/{id}`); its file at `GET /jobs/{id}/file`.
//!
//! These routes have no request timeout: a million rows take a while.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{AppError, ErrorKind};
use crate::i18n::{t, tf};
use crate::reports::history::{self, Export, HistoryTable};
use crate::reports::jobs::State as JobState;
use crate::reports::{self, Ask, PeriodKind, export};
use crate::web::extract::CurrentUser;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Routes without the request timeout: big files stream for a while.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(history_file, start_export)).routes(routes!(job_file))
}

pub const CSV: &str = "text/csv; charset=utf-8";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Chunks of a streamed body, and how many may wait in the channel: the
/// reader stays at most 16 × 64 KiB ahead of the client.
const CHUNK: usize = 64 * 1024;
const QUEUE: usize = 16;

fn attachment(resp: &mut Response, content_type: &'static str, name: &str) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&crate::web::api::files::disposition("attachment", name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}

/// A report as a CSV or XLSX file: `department-2026-11.xlsx`.
pub async fn report_file(state: &AppState, user: &CurrentUser, ask: Ask, kind: &str, sep: Option<&str>) -> Result<Response, AppError> {
    let period = ask.period;
    let name = ask.name.clone();
    let report = reports::run(&user.tenant, &Caller::from(user), user.lang, state.now_ms(), ask).await?;
    let tz = user.tenant.timezone();
    let stamp = match period.kind {
        PeriodKind::Day => period.from.to_string(),
        PeriodKind::Month => period.from.strftime("%Y-%m").to_string(),
        _ => format!("{}_{}", period.from, period.to),
    };
    let (body, ctype) = match kind {
        "csv" => (export::csv(&report, user.lang, &tz, export::separator(user.lang, sep)).into_bytes(), CSV),
        "xlsx" => {
            let lang = user.lang;
            let bytes = tokio::task::spawn_blocking(move || export::xlsx(&report, lang, &tz))
                .await
                .map_err(|e| AppError::internal(anyhow::anyhow!("xlsx task: {e}")))??;
            (bytes, XLSX)
        }
        _ => return Err(ErrorKind::NotFound.into()),
    };
    let mut resp = Response::new(Body::from(body));
    attachment(&mut resp, ctype, &format!("{name}-{stamp}.{kind}"));
    Ok(resp)
}

/// A history's period and, for CSV, the separator.
#[derive(Debug, Deserialize, Default, IntoParams, Clone)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The first local day, `YYYY-MM-DD`; from the beginning when left out.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub from: Option<String>,
    /// The last local day, `YYYY-MM-DD`, included; up to now when left out.
    #[param(pattern = r"^(\d{4}-\d{2}-\d{2})?$")]
    pub to: Option<String>,
    /// CSV only: `;` between fields (what Excel in Russian or Uzbek
    /// expects; numbers then with the language's decimal comma) or `,`.
    /// Defaults to the reader's language's.
    #[param(pattern = r"^(;|,)?$")]
    pub sep: Option<String>,
}

/// A history and its format from the path's `tasks.xlsx`.
fn parse_file(file: &str) -> Result<(HistoryTable, &'static str), AppError> {
    let (table, ext) = file.rsplit_once('.').ok_or(ErrorKind::NotFound)?;
    let table = HistoryTable::parse(table).ok_or(ErrorKind::NotFound)?;
    match ext {
        "csv" => Ok((table, "csv")),
        "xlsx" => Ok((table, "xlsx")),
        _ => Err(ErrorKind::NotFound.into()),
    }
}

fn day(raw: Option<&str>, field: &'static str) -> Result<Option<jiff::civil::Date>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<jiff::civil::Date>()
            .ok()
            .filter(|d| (2000..=2200).contains(&d.year()))
            .map(Some)
            .ok_or_else(|| AppError::invalid(field, "validation.date")),
    }
}

/// Checks who asks and what: the scope of the rows, the period, the file's name.
fn prepare(
    user: &CurrentUser,
    file: &str,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<(Export, &'static str, char, String), AppError> {
    let (table, kind) = parse_file(file)?;
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| AppError::new(ErrorKind::BadRequest).with_message("error.invalid_body").with_arg("detail", e.body_text()))?;
    let scope = history::may_export(&Caller::from(user), table)?;
    let (from, to) = (day(q.from.as_deref(), "from")?, day(q.to.as_deref(), "to")?);
    let range = history::range_of(from, to, &user.tenant.timezone())?;
    let sep = match q.sep.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some(";") | Some(",") => export::separator(user.lang, q.sep.as_deref()),
        Some(_) => return Err(AppError::invalid("sep", "exports.bad_sep")),
    };
    let stamp = match (from, to) {
        (None, None) => String::new(),
        (Some(a), Some(b)) => format!("-{a}_{b}"),
        (Some(a), None) => format!("-from-{a}"),
        (None, Some(b)) => format!("-to-{b}"),
    };
    let name = format!("{}{stamp}.{kind}", table.key());
    Ok((Export { table, scope, lang: user.lang, range }, kind, sep, name))
}

/// Bytes written on a blocking thread, sent to the body in chunks through a
/// bounded channel: the writer waits while the client is slow, and stops
/// (a write error) when the client has gone.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// A body fed by `write` on a blocking thread; an error there ends the body
/// with an error (the client sees a cut-off download, never a wrong file).
fn streamed(write: impl FnOnce(&mut ChannelWriter) -> Result<(), AppError> + Send + 'static) -> Body {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
        let result = write(&mut w).and_then(|_| w.flush().map_err(|e| AppError::internal(anyhow::anyhow!("export: {e}"))));
        if let Err(e) = result {
            tracing::warn!(error = %e, "export stopped");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// A file streamed from disk; with `remove`, unlinked once open (it goes
/// when the body is done).
fn file_body(path: PathBuf, remove: bool) -> Result<(Body, u64), AppError> {
    let mut f = std::fs::File::open(&path).map_err(|e| AppError::internal(anyhow::anyhow!("export file: {e}")))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if remove {
        let _ = std::fs::remove_file(&path);
    }
    let body = streamed(move |w| {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = f.read(&mut buf).map_err(|e| AppError::internal(anyhow::anyhow!("export file: {e}")))?;
            let Some(part) = buf.get(..n).filter(|p| !p.is_empty()) else { return Ok(()) };
            w.write_all(part).map_err(|e| AppError::internal(anyhow::anyhow!("export: {e}")))?;
        }
    });
    Ok((body, len))
}

/// `tenants/<slug>/exports/`: where XLSX files are made; files older than
/// a finished job's life (left by a restart) are removed on the way.
fn exports_dir(user: &CurrentUser) -> Result<PathBuf, AppError> {
    let dir = user.tenant.dir().join("exports");
    std::fs::create_dir_all(&dir).map_err(|e| AppError::internal(anyhow::anyhow!("exports dir: {e}")))?;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let old = std::time::Duration::from_millis(u64::try_from(crate::reports::jobs::KEEP_MS * 2).unwrap_or(0));
        for e in entries.flatten() {
            let stale = e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok()).is_some_and(|age| age > old);
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(dir)
}

fn temp_name(dir: &std::path::Path, ext: &str) -> PathBuf {
    dir.join(format!("{}.{ext}", hex::encode(crate::store::random_bytes::<12>())))
}

/// A history as a file: `tasks` (one row per event of every task),
/// `points`, `requests`, `files` (chat files), `tickets` (queue tickets);
/// `.csv` (UTF-8 with BOM) or `.xlsx` (typed cells, frozen header). It
/// streams: a CSV as it is read, an XLSX once written. Who may export what:
/// tasks and files — who sees every task or report (a manager: their
/// department's); requests — who manages requests; tickets — who manages
/// the queue; points — everyone, over their report scope (an employee:
/// their own).
#[utoipa::path(get, path = "/api/v1/exports/{file}", tag = "reports",
    params(("slug" = String, Path),
        ("file" = String, Path, pattern = r"^(tasks|points|requests|files|tickets)\.(csv|xlsx)$"),
        ExportQuery),
    responses((status = 200, content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn history_file(
    State(_state): State<AppState>,
    user: CurrentUser,
    Path((_slug, file)): Path<(String, String)>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let (ask, kind, sep, name) = prepare(&user, &file, q)?;
    let tenant = user.tenant.clone();
    let tz = tenant.timezone();
    if kind == "csv" {
        // The company's file is opened here, so that a broken one is an error answer, not a cut-off body.
        tenant.db()?;
        let body = streamed(move |w| {
            history::write_csv(tenant.db()?, &tz, &ask, sep, w, &mut |_| {})?;
            Ok(())
        });
        let mut resp = Response::new(body);
        attachment(&mut resp, CSV, &name);
        return Ok(resp);
    }
    let dir = exports_dir(&user)?;
    let path = temp_name(&dir, "xlsx");
    let (p, d) = (path.clone(), dir.clone());
    let written = tokio::task::spawn_blocking(move || history::write_xlsx(tenant.db()?, &tz, &ask, &d, &p, &mut |_| {}))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("xlsx task: {e}")))?;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    let (body, len) = file_body(path, true)?;
    let mut resp = Response::new(body);
    attachment(&mut resp, XLSX, &name);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}

/// A started export.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportStarted {
    /// Poll `GET /jobs/{job_id}` for its progress and file.
    pub job_id: String,
}

/// Starts making a history's file in the background (same tables, rules
/// and query as `GET /exports/{file}`): 202 with the job's id; its
/// progress at `GET /jobs/{id}` and, when done, the file at
/// `GET /jobs/{id}/file`.
#[utoipa::path(post, path = "/api/v1/exports/{file}", tag = "reports",
    params(("slug" = String, Path),
        ("file" = String, Path, pattern = r"^(tasks|points|requests|files|tickets)\.(csv|xlsx)$"),
        ExportQuery),
    responses((status = 202, body = ExportStarted), (status = 400), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn start_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_slug, file)): Path<(String, String)>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let (ask, kind, sep, name) = prepare(&user, &file, q)?;
    let tenant = user.tenant.clone();
    let db = tenant.db()?.clone();
    let dir = exports_dir(&user)?;
    let what = tf(user.lang, "exports.job", &[("table", &ask.table.title(user.lang)), ("format", &kind.to_uppercase())]);
    let job = state.jobs.start(&tenant.slug, &Caller::from(&user), what, state.now_ms());
    job.set_total(history::count(&db, &ask.scope, ask.table)?);
    let path = dir.join(format!("{}.{kind}", job.id));
    let (running, clock_state) = (job.clone(), state.clone());
    let lang = user.lang;
    tokio::task::spawn_blocking(move || {
        let tz = tenant.timezone();
        let mut progress = |n: u64| running.advance(n);
        let result = match kind {
            "csv" => std::fs::File::create(&path)
                .map_err(|e| AppError::internal(anyhow::anyhow!("export file: {e}")))
                .and_then(|f| history::write_csv(&db, &tz, &ask, sep, std::io::BufWriter::new(f), &mut progress)),
            _ => history::write_xlsx(&db, &tz, &ask, &dir, &path, &mut progress),
        };
        let now = clock_state.now_ms();
        match result {
            Ok(_) => running.finish(Some((path, name, if kind == "csv" { CSV } else { XLSX })), now),
            Err(e) => {
                tracing::warn!(error = %e, "export job failed");
                let _ = std::fs::remove_file(&path);
                running.fail(t(lang, "error.internal").to_string(), now);
            }
        }
    });
    Ok((StatusCode::ACCEPTED, Json(ExportStarted { job_id: job.id.clone() })).into_response())
}

/// The file of a finished export job; only its starter (or someone who
/// sees every report) fetches it. 404 while it is not ready.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/file", tag = "reports",
    params(("slug" = String, Path), ("id" = String, Path, pattern = r"^[0-9a-f]{24}$")),
    responses((status = 200, content((String = "text/csv"), (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404)),
    security(("bearer" = [])))]
pub async fn job_file(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((_slug, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let job = state.jobs.get(&user.tenant.slug, &Caller::from(&user), &id)?;
    let JobState::Done { file: Some((path, name, ctype)) } = job.state() else {
        return Err(ErrorKind::NotFound.into());
    };
    let (body, len) = file_body(path, false)?;
    let mut resp = Response::new(body);
    attachment(&mut resp, ctype, &name);
    resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}
